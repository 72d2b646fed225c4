//! Prints a model's integer graph: every node with its op, output shape, fixed-point position
//! and static bound.
//!
//! `cargo run --release -p zkinfer-model --example graph -- MODEL.gguf [SEQ_LEN]`

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: graph MODEL.gguf [SEQ_LEN]")?;
    let t: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(8);
    let model = Model::load(&GgufFile::open(path)?)?;
    let g = model.graph(t)?;
    println!("{} tensors, {} nodes, {} weights ({} values)", g.tensors.len(), g.nodes.len(), g.tensors.iter().filter(|x| x.source == zkinfer_model::TensorSource::Weight).count(), model.weights().total_len());
    for (name, w) in model.weights().iter() {
        println!("weight {name:32} {:?} frac {} bits {}", w.shape, w.frac_bits, model.weights().bits(name).unwrap_or(0));
    }
    for n in &g.nodes {
        let o = g.meta(n.output);
        let ins: Vec<&str> = n.inputs.iter().map(|i| g.meta(*i).name.as_str()).collect();
        println!("{:28} = {:?}({}) shape {:?} frac {} bits {}", o.name, n.op, ins.join(", "), o.shape, o.frac_bits, o.bits);
    }
    Ok(())
}
