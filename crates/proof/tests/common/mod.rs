//! Helpers shared by the proof crate's stream tests.
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProvingKey, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

/// A fixture of `testdata/` (path relative to it) and its proving key (setup seed zero).
pub fn load(file: &str) -> (Model, ProvingKey) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(file);
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    (model, pk)
}

/// Recomputes every node after `start` from the (tampered) trace: a malicious prover re-deriving
/// everything downstream of its edit. False when an op refuses the edited values (no consistent
/// trace exists).
pub fn propagate_after(graph: &zkinfer_model::Graph, trace: &mut zkinfer_model::IntTrace, weights: &zkinfer_model::Weights, start: usize) -> bool {
    use zkinfer_model::{Operand, TensorSource};
    for node in &graph.nodes[start + 1..] {
        let operands: Option<Vec<Operand<'_>>> = node
            .inputs
            .iter()
            .map(|id| match graph.meta(*id).source {
                TensorSource::Weight => weights.get(&graph.meta(*id).name).map(Operand::Weight),
                _ => trace.values[id.0].as_ref().map(Operand::Act),
            })
            .collect();
        let Some(operands) = operands else { return false };
        match zkinfer_model::ops::eval_int(&node.op, &operands) {
            Ok(o) => trace.values[node.output.0] = Some(o),
            Err(_) => return false,
        }
    }
    true
}
