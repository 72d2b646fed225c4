//! Integer vs float agreement of a Llama GGUF, teacher-forced on English prose and Rust code:
//! top-1 agreement, mean KL(float‖int), max |Δlogit|, and how many clamps saturated.
//!
//! `cargo run --release -p zkinfer-model --example llama_accuracy -- MODEL.gguf`

use zkinfer_model::{Llama, Model, Op};

const TEXT: &str = "The history of the bicycle is a story of small improvements. Early machines had no pedals: riders pushed \
along the ground with their feet. Pedals on the front wheel came next, and the wheel grew larger to go faster, which made \
the high-wheeler dangerous to ride. The safety bicycle of the 1880s, with two wheels of equal size and a chain driving the \
rear wheel, solved the problem, and pneumatic tyres made it comfortable. Within a decade millions of people owned one.\n\n\
fn mean(values: &[f64]) -> Option<f64> {\n    if values.is_empty() {\n        return None;\n    }\n    \
let sum: f64 = values.iter().sum();\n    Some(sum / values.len() as f64)\n}\n\nfn main() {\n    let v = vec![1.0, 2.0, 4.5];\n    \
println!(\"{:?}\", mean(&v));\n}\n";

fn log_softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let z = row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln() + m;
    row.iter().map(|&v| v as f64 - z).collect()
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: llama_accuracy MODEL.gguf");
    let gguf = zkinfer_gguf::GgufFile::open(&path).expect("open");
    let tok = zkinfer_tokenizer::Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let m = Model::load(&gguf).expect("load");
    let mut ids = tok.encode(TEXT);
    ids.truncate(m.config().n_ctx);
    let fwd = m.forward_int(&ids).expect("int");
    let mut saturated = 0;
    for node in &fwd.graph.nodes {
        if let Op::Clamp(c) = &node.op {
            let x = fwd.trace.get(node.inputs[0]).expect("input");
            saturated += x.data.iter().filter(|&&v| v < c.lo || v > c.hi).count();
        }
    }
    // SiLU's table covers [−2^(in_bits−1), 2^(in_bits−1)) at 2^-in_frac: how close the gates come.
    let mut gate_max = 0f64;
    for (id, meta) in fwd.graph.tensors.iter().enumerate() {
        if meta.name.ends_with("ffn_gate.out")
            && let Some(t) = fwd.trace.get(zkinfer_model::TensorId(id))
        {
            let mx = t.data.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0) as f64;
            gate_max = gate_max.max(mx * (-f64::from(meta.frac_bits)).exp2());
        }
    }
    let q = m.architecture_as::<Llama>().expect("a llama").llama_quant();
    println!("max |SiLU input| {gate_max:.2} (table range ±{})", (1u64 << (q.silu_in_bits - 1)) as f64 / f64::from(q.silu_in_frac).exp2());
    let f = m.logits_f32(&ids).expect("float");
    let i = m.logits_int(&ids).expect("int");
    let (mut agree, mut kl, mut max_abs) = (0usize, 0f64, 0f32);
    for (a, b) in f.iter().zip(&i) {
        agree += usize::from(zkinfer_model::argmax_f32(a) == zkinfer_model::argmax_f32(b));
        let (la, lb) = (log_softmax(a), log_softmax(b));
        kl += la.iter().zip(&lb).map(|(x, y)| x.exp() * (x - y)).sum::<f64>();
        max_abs = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(max_abs, f32::max);
    }
    let n = ids.len();
    println!("{path}: {n} positions, top-1 {agree}/{n} ({:.2}%), mean KL(float||int) {:.3e}, max |dlogit| {max_abs:.4}, saturated clamp inputs {saturated}", 100.0 * agree as f64 / n as f64, kl / n as f64);
}
