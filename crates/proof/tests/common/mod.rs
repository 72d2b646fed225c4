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

/// Re-evaluates the nodes `graph.nodes[from..]` in order from the (tampered) trace, a node's op
/// replaced by `subst(op)` where that gives one: a malicious prover re-deriving everything
/// downstream of its edit (with `subst`, one computing some ops its own way). False when an
/// operand is missing or an op refuses the edited values (no consistent trace exists).
pub fn recompute_from(
    graph: &zkinfer_model::Graph,
    trace: &mut zkinfer_model::IntTrace,
    weights: &zkinfer_model::Weights,
    from: usize,
    subst: impl Fn(&zkinfer_model::Op) -> Option<zkinfer_model::Op>,
) -> bool {
    use zkinfer_model::{Operand, TensorSource};
    for node in &graph.nodes[from..] {
        let operands: Option<Vec<Operand<'_>>> = node
            .inputs
            .iter()
            .map(|id| match graph.meta(*id).source {
                TensorSource::Weight => weights.get(&graph.meta(*id).name).map(Operand::Weight),
                _ => trace.values[id.0].as_ref().map(Operand::Act),
            })
            .collect();
        let Some(operands) = operands else { return false };
        let out = match subst(&node.op) {
            Some(op) => zkinfer_model::ops::eval_int(&op, &operands),
            None => zkinfer_model::ops::eval_int(&node.op, &operands),
        };
        match out {
            Ok(o) => trace.values[node.output.0] = Some(o),
            Err(_) => return false,
        }
    }
    true
}

/// Recomputes every node after `start` from the (tampered) trace ([`recompute_from`] with the
/// graph's own ops). False when an op refuses the edited values (no consistent trace exists).
pub fn propagate_after(graph: &zkinfer_model::Graph, trace: &mut zkinfer_model::IntTrace, weights: &zkinfer_model::Weights, start: usize) -> bool {
    recompute_from(graph, trace, weights, start + 1, |_| None)
}

/// The malicious prover of the end-to-end tests: +1 on the middle element of `tensor`, then every
/// later node recomputed, so that the trace is consistent everywhere except at the op that
/// produced `tensor`. False if `tensor` is not in the trace, has no producer, or the perturbation
/// cannot be propagated.
pub fn perturb_and_propagate(graph: &zkinfer_model::Graph, trace: &mut zkinfer_model::IntTrace, weights: &zkinfer_model::Weights, tensor: usize) -> bool {
    let Some(t) = trace.values[tensor].as_mut() else { return false };
    let i = t.data.len() / 2;
    t.data[i] += 1;
    let Some(start) = graph.nodes.iter().position(|n| n.output.0 == tensor) else { return false };
    propagate_after(graph, trace, weights, start)
}

/// While alive (on its thread), a chunked stream's commitments take the test-only small-codeword
/// target 0 (`zkinfer_verifier::chunked::set_test_small_codewords`: every group at rate 1/2, the
/// tiny fixtures' chunk witnesses of ≈ 2^20 entries in codewords of 2^21 instead of 2^24–2^26).
/// Prover and verifier read the hook on the thread that calls them, so both sides of a stream
/// proven and verified under it derive the same parameters; a verifier without it refuses such a
/// stream (`review_chunked::a_stream_at_another_target_or_rate_is_refused`). For tests whose
/// property is decided by the shapes, the epochs or the checks under attack, not by the rates.
#[derive(Debug)]
pub struct TestCodewords;

impl TestCodewords {
    /// Turns the hook on until the guard is dropped.
    pub fn on() -> Self {
        zkinfer_verifier::chunked::set_test_small_codewords(Some(0));
        TestCodewords
    }
}

impl Drop for TestCodewords {
    fn drop(&mut self) {
        zkinfer_verifier::chunked::set_test_small_codewords(None);
    }
}
