//! The graph walk on the real graphs of the tiny random fixtures of every architecture — GPT-2
//! (`testdata/gpt2-tiny-random.gguf`) and Llama (`testdata/llama/llama-tiny-random-q8_0.gguf`:
//! GQA, RoPE, RMSNorm, SwiGLU, tied head) Gemma (`testdata/gemma/gemma-tiny.gguf`: MQA, GeGLU), Gemma 2 (soft-cap, post-norms)
//! and Gemma 3 (grouped RMSNorm for the QK-norm, local and global RoPE):
//! every op kind of the model, proven and verified
//! together with ideal polynomial commitments (final claims checked by direct evaluation). A
//! consistent lie anywhere in the trace (one value edited, everything downstream recomputed) is
//! rejected. One harness; each architecture is one fixture line.

use std::collections::HashMap;
use std::path::PathBuf;

use zkinfer_field::F;
use zkinfer_gguf::GgufFile;
use zkinfer_model::graph::{Graph, IntTrace, TensorId, TensorSource, Weights};
use zkinfer_model::ops::{Operand, eval_int};
use zkinfer_model::{IntForward, Model};

/// A fixture: its file under `testdata/`, the ids of the proven pass, a label.
struct Fixture {
    file: &'static str,
    ids: &'static [u32],
    label: &'static str,
}

const GPT2: Fixture = Fixture { file: "gpt2-tiny-random.gguf", ids: &[5, 17, 3, 99, 42, 7], label: "GPT-2" };
const LLAMA: Fixture = Fixture { file: "llama/llama-tiny-random-q8_0.gguf", ids: &[1, 504, 303, 4130, 81, 365, 60], label: "Llama" };
const GEMMA: Fixture = Fixture { file: "gemma/gemma-tiny.gguf", ids: &[2, 300, 41, 270, 81, 265, 60], label: "Gemma" };
const GEMMA2: Fixture = Fixture { file: "gemma2/gemma2-tiny.gguf", ids: &[2, 300, 41, 270, 81, 265, 60], label: "Gemma 2" };
const GEMMA3: Fixture = Fixture { file: "gemma3/gemma3-tiny.gguf", ids: &[2, 300, 41, 270, 81, 265, 60], label: "Gemma 3" };
use zkinfer_ops::context::evaluate_column;
use zkinfer_ops::{ColumnId, ProofError, TensorLayout, TensorRole, protocol_for, prove_graph, verify_graph};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn model(f: &Fixture) -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(f.file);
    let gguf = GgufFile::open(path).expect("fixture opens");
    Model::load(&gguf).expect("fixture loads")
}

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/tiny-models-test", 1)
}

/// Public tensors: graph inputs and outputs of ops with a public output (argmax).
fn public_values<'a>(graph: &Graph, trace: &'a IntTrace) -> HashMap<TensorId, &'a [i64]> {
    let mut public: HashMap<TensorId, &[i64]> = graph.inputs.iter().map(|&i| (i, trace.get(i).expect("input").data.as_slice())).collect();
    for (n, node) in graph.nodes.iter().enumerate() {
        if protocol_for(graph, n).expect("protocol").output_role() == TensorRole::Public {
            public.insert(node.output, trace.get(node.output).expect("output").data.as_slice());
        }
    }
    public
}

/// Proves `trace` (the prover's, maybe a lie) and verifies against `public` with ideal openings
/// of the committed columns and of the honest `weights`.
fn prove_and_verify(graph: &Graph, weights: &Weights, trace: &IntTrace, public: &HashMap<TensorId, &[i64]>) -> Result<usize, String> {
    let mut pt = ProverTranscript::new(&ds());
    let out = prove_graph(graph, weights, trace, &mut pt, |w, t| {
        let cols: Vec<Vec<F>> = (0..w.plan().columns().len()).map(|i| w.values(ColumnId(i)).to_vec()).collect();
        for c in &cols {
            t.absorb_public_fields("column", c);
        }
        Ok::<_, ProofError>(cols)
    })
    .map_err(|e| format!("prover: {e}"))?;
    let proof = pt.into_proof();
    let columns = out.commitment;
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    let v = verify_graph(graph, public, &mut vt, |plan, t| {
        if plan.columns().len() != columns.len() {
            return Err(ProofError::shape("test", "layout differs"));
        }
        for c in &columns {
            t.absorb_public_fields("column", c);
        }
        Ok(())
    })
    .map_err(|e| format!("verifier: {e}"))?;
    vt.finish().map_err(|e| format!("leftover bytes: {e}"))?;
    for c in v.accumulators.witness.claims() {
        if evaluate_column(&columns[c.poly.index()], &c.point) != c.value {
            return Err(format!("false claim on witness column {}", v.plan.columns()[c.poly.index()].name));
        }
    }
    for c in v.accumulators.weights.claims() {
        let meta = graph.meta(TensorId(c.poly.index()));
        let w = weights.get(&meta.name).ok_or("missing weight")?;
        let padded = TensorLayout::new(&w.shape).pad_i64(&w.to_i64_vec());
        if evaluate_column(&padded, &c.point) != c.value {
            return Err(format!("false claim on weight {}", meta.name));
        }
    }
    Ok(proof.len())
}

/// Re-executes every node after `from` on the edited trace.
fn propagate(graph: &Graph, weights: &Weights, trace: &mut IntTrace, from: usize) {
    for n in from + 1..graph.nodes.len() {
        let node = &graph.nodes[n];
        let out = {
            let operands: Vec<Operand<'_>> = node
                .inputs
                .iter()
                .map(|&t| {
                    let meta = graph.meta(t);
                    if meta.source == TensorSource::Weight {
                        Operand::Weight(weights.get(&meta.name).expect("weight"))
                    } else {
                        Operand::Act(trace.get(t).expect("value"))
                    }
                })
                .collect();
            eval_int(&node.op, &operands)
        };
        // An edit can push a later op outside its domain; the lie then stops there (the prover
        // has no consistent trace past it).
        match out {
            Ok(v) => trace.values[node.output.0] = Some(v),
            Err(_) => return,
        }
    }
}

fn forward(m: &Model, f: &Fixture) -> IntForward {
    m.forward_int(f.ids).expect("forward")
}

fn honest_proof_verifies(f: &Fixture) {
    let m = model(f);
    let fwd = forward(&m, f);
    let public = public_values(&fwd.graph, &fwd.trace);
    let bytes = prove_and_verify(&fwd.graph, m.weights(), &fwd.trace, &public).expect("honest proof verifies");
    eprintln!("tiny {}, {} tokens: {} nodes, graph proof {bytes} bytes (without openings)", f.label, f.ids.len(), fwd.graph.nodes.len());
}

/// One edit per op kind present in the graph (the first node of each kind); returns the kinds.
fn lies_are_rejected(f: &Fixture) -> std::collections::HashSet<&'static str> {
    let m = model(f);
    let fwd = forward(&m, f);
    let graph = &fwd.graph;
    let honest_public = public_values(graph, &fwd.trace);
    let mut seen = std::collections::HashSet::new();
    for (n, node) in graph.nodes.iter().enumerate() {
        let kind = node.op.as_int_op().name();
        if !seen.insert(kind) || kind == "Argmax" {
            continue;
        }
        let mut bad = fwd.trace.clone();
        let len = bad.get(node.output).expect("value").data.len();
        if let Some(Some(t)) = bad.values.get_mut(node.output.0) {
            t.data[len / 2] += 1;
        }
        propagate(graph, m.weights(), &mut bad, n);
        let label = f.label;
        assert!(prove_and_verify(graph, m.weights(), &bad, &honest_public).is_err(), "{label}: lie at node {n} ({kind}) accepted with honest tokens");
        let lie_public = public_values(graph, &bad);
        assert!(prove_and_verify(graph, m.weights(), &bad, &lie_public).is_err(), "{label}: lie at node {n} ({kind}) accepted with its own tokens");
    }
    seen
}

#[test]
fn tiny_gpt2_graph_proof_verifies() {
    honest_proof_verifies(&GPT2);
}

#[test]
fn tiny_gpt2_lies_are_rejected() {
    let seen = lies_are_rejected(&GPT2);
    for kind in ["LayerNorm", "Gelu", "SliceCols", "CausalSoftmax", "BatchedMatMul", "MatMul", "Embedding", "Add"] {
        assert!(seen.contains(kind), "expected {kind} among {seen:?}");
    }
}

#[test]
fn tiny_llama_graph_proof_verifies() {
    honest_proof_verifies(&LLAMA);
}

#[test]
fn tiny_llama_lies_are_rejected() {
    let seen = lies_are_rejected(&LLAMA);
    for kind in ["RmsNorm", "Rope", "RepeatKv", "Silu", "Mul", "CausalSoftmax", "BatchedMatMul", "MatMul"] {
        assert!(seen.contains(kind), "expected {kind} among {seen:?}");
    }
}

#[test]
fn tiny_gemma_graph_proof_verifies() {
    honest_proof_verifies(&GEMMA);
}

#[test]
fn tiny_gemma_lies_are_rejected() {
    let seen = lies_are_rejected(&GEMMA);
    for kind in ["RmsNorm", "Rope", "RepeatKv", "Gelu", "Mul", "CausalSoftmax", "BatchedMatMul", "MatMul", "Embedding"] {
        assert!(seen.contains(kind), "expected {kind} among {seen:?}");
    }
}

#[test]
fn tiny_gemma2_lies_are_rejected() {
    let seen = lies_are_rejected(&GEMMA2);
    for kind in ["SoftCap", "RmsNorm", "Gelu", "Clamp"] {
        assert!(seen.contains(kind), "expected {kind} among {seen:?}");
    }
    honest_proof_verifies(&GEMMA2);
}

#[test]
fn tiny_gemma3_lies_are_rejected() {
    let seen = lies_are_rejected(&GEMMA3);
    for kind in ["RmsNorm", "Rope", "RepeatKv", "Gelu", "Mul", "CausalSoftmax"] {
        assert!(seen.contains(kind), "expected {kind} among {seen:?}");
    }
    honest_proof_verifies(&GEMMA3);
}

/// Proof bytes the graph prover wrote for op kind `name` (its `prove <name>` phase).
fn op_bytes(graph: &Graph, weights: &Weights, trace: &IntTrace, name: &str) -> usize {
    let mut pt = ProverTranscript::new(&ds());
    let out = prove_graph(graph, weights, trace, &mut pt, |_, _| Ok::<_, ProofError>(())).expect("honest proof");
    out.timings.iter().find(|(phase, _, _)| phase == &format!("prove {name}")).map(|(_, _, bytes)| *bytes).expect("phase timed")
}

/// A one-token prompt predicts at every position (`out_rows = [0, T)`): the GatherRows node then
/// selects every row in order and writes nothing to the proof (its claim passes to the residual
/// stream unchanged); a longer prompt's strict selection runs its sumcheck. In both cases a
/// consistent lie at the gathered rows (LM head and argmax recomputed) is rejected.
#[test]
fn gather_rows_is_free_when_it_selects_every_row() {
    let f = &GPT2;
    let m = model(f);
    let t = f.ids.len();
    for (n_out, free) in [(t, true), (t - 2, false), (1, false)] {
        let fwd = m.forward_int_outputs(f.ids, n_out).expect("forward");
        let graph = &fwd.graph;
        let public = public_values(graph, &fwd.trace);
        prove_and_verify(graph, m.weights(), &fwd.trace, &public).expect("honest proof verifies");
        let bytes = op_bytes(graph, m.weights(), &fwd.trace, "GatherRows");
        assert_eq!(bytes == 0, free, "{n_out} of {t} rows: GatherRows wrote {bytes} bytes");
        let gathered = graph.find("out_rows.hidden").expect("gather output");
        let node = graph.nodes.iter().position(|nd| nd.output == gathered).expect("gather node");
        let mut bad = fwd.trace.clone();
        if let Some(Some(v)) = bad.values.get_mut(gathered.0) {
            let last = v.data.len() - 1;
            v.data[last] += 1;
        }
        propagate(graph, m.weights(), &mut bad, node);
        assert!(prove_and_verify(graph, m.weights(), &bad, &public).is_err(), "{n_out} of {t} rows: lie at the gathered rows accepted");
        let lie_public = public_values(graph, &bad);
        assert!(prove_and_verify(graph, m.weights(), &bad, &lie_public).is_err(), "{n_out} of {t} rows: lie accepted with its own tokens");
    }
}

/// A KV-cache chunk of every architecture: positions 4..8 after 4 cached ones, the cached
/// keys/values as public inputs (`ConcatSeq`, the softmax at query offset 4; for Llama GQA and RoPE
/// at the chunk's positions, the cache post-RoPE), the graph built by the shared builder at
/// `StepShape { n_new: 4, n_past: 4, n_out: 4 }`. Its predictions equal the full pass's; it proves
/// and verifies; a consistent lie at every op kind (ConcatSeq and the offset softmax included) is
/// rejected, and so is a proof made over a forged cache when the verifier holds the true one.
fn kv_chunk_proves_and_lies_are_rejected(f: &Fixture, ids: &[u32; 8]) -> std::collections::HashSet<&'static str> {
    let label = f.label;
    let m = model(f);
    let full = m.forward_int(ids).expect("forward").next_tokens().expect("argmax");
    let mut cache = m.new_int_cache();
    let first = m.step_forward_int(&mut cache, &ids[..4], 1).expect("chunk 0");
    assert_eq!(first.next_tokens().expect("argmax"), full[3..4]);
    let chunk = m.step_forward_int(&mut cache, &ids[4..], 4).expect("chunk 1");
    assert_eq!(chunk.next_tokens().expect("argmax"), full[4..], "{label}: the chunk predicts as the full pass");
    assert_eq!(cache.len(), 8);
    let graph = &chunk.graph;
    let honest_public = public_values(graph, &chunk.trace);
    prove_and_verify(graph, m.weights(), &chunk.trace, &honest_public).expect("honest chunk verifies");

    let mut seen = std::collections::HashSet::new();
    for (n, node) in graph.nodes.iter().enumerate() {
        let kind = node.op.as_int_op().name();
        if !seen.insert(kind) || kind == "Argmax" {
            continue;
        }
        let mut bad = chunk.trace.clone();
        let len = bad.get(node.output).expect("value").data.len();
        if let Some(Some(t)) = bad.values.get_mut(node.output.0) {
            t.data[len / 2] += 1;
        }
        propagate(graph, m.weights(), &mut bad, n);
        assert!(prove_and_verify(graph, m.weights(), &bad, &honest_public).is_err(), "{label}: lie at node {n} ({kind}) accepted");
    }
    assert!(seen.contains("ConcatSeq") && seen.contains("CausalSoftmax"), "{label}: saw {seen:?}");

    // A forged cached key, everything downstream recomputed: the verifier's cache differs.
    let past = graph.find("blk.0.attn_k_past").expect("cached keys");
    let mut bad = chunk.trace.clone();
    if let Some(Some(t)) = bad.values.get_mut(past.0) {
        t.data[3] += 1;
    }
    let first_user = graph.nodes.iter().position(|n| n.inputs.contains(&past)).expect("a reader");
    assert!(first_user > 0);
    propagate(graph, m.weights(), &mut bad, first_user - 1);
    assert!(prove_and_verify(graph, m.weights(), &bad, &honest_public).is_err(), "{label}: forged cache accepted");
    seen
}

#[test]
fn tiny_gpt2_kv_chunk_proves_and_lies_are_rejected() {
    kv_chunk_proves_and_lies_are_rejected(&GPT2, &[5, 17, 3, 99, 42, 7, 11, 64]);
}

#[test]
fn tiny_llama_kv_chunk_proves_and_lies_are_rejected() {
    let seen = kv_chunk_proves_and_lies_are_rejected(&LLAMA, &[1, 504, 303, 4130, 81, 365, 60, 77]);
    for kind in ["RepeatKv", "Rope"] {
        assert!(seen.contains(kind), "expected {kind} among {seen:?}");
    }
}
