//! Times the parts of one integer decode step (graph construction vs execution, per op kind).
//!
//! `cargo run --release -p zkinfer-model --example step_profile`

use std::collections::BTreeMap;
use std::time::Instant;
use zkinfer_model::{MemorySource, Model, Operand, QuantConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src = MemorySource::random_gpt2(12, 768, 12, 128, 1024, 1, true);
    let model = Model::from_source(&src, QuantConfig::default())?;
    let prompt: Vec<u32> = (0..16).collect();
    let t = Instant::now();
    let g = model.step_graph(1, 16)?;
    println!("step graph: {:?}", t.elapsed());
    let mut cache = model.new_int_cache();
    model.step_int(&mut cache, &prompt)?;
    let t = Instant::now();
    for _ in 0..5 {
        let mut c = cache.clone();
        model.step_int(&mut c, &[7])?;
    }
    println!("step_int: {:?} per step", t.elapsed() / 5);
    // Per op kind, on the full-pass trace of 17 positions.
    let fwd = model.forward_int(&(0..17).collect::<Vec<u32>>())?;
    let mut per_op: BTreeMap<&str, f64> = BTreeMap::new();
    println!("step graph: {} nodes", g.nodes.len());
    for n in &fwd.graph.nodes {
        let operands: Vec<Operand<'_>> = n
            .inputs
            .iter()
            .map(|i| match fwd.trace.get(*i) {
                Some(v) => Operand::Act(v),
                None => Operand::Weight(model.weights().get(&fwd.graph.meta(*i).name).expect("weight")),
            })
            .collect();
        let t = Instant::now();
        n.op.as_int_op().eval_int(&operands)?;
        *per_op.entry(n.op.as_int_op().name()).or_default() += t.elapsed().as_secs_f64();
    }
    for (k, v) in per_op {
        println!("{k:16} {:.2} ms (17 positions)", v * 1e3);
    }
    Ok(())
}
