//! Adversarial review (review11), end to end: the symmetric clamps of the tiny GPT-2 and tiny
//! Llama graphs (`[−(2^k − 1), 2^k − 1]`, `k ≥ 16`: proven through `t = |y|`, protocol 8,
//! `zkinfer_ops::ops::clamp` "Symmetric form"). A malicious prover (`prove_tampered`: the witness
//! never refuses) replaces a symmetric clamp's output with a forgery that keeps every `|y| ≤ m`
//! (so every range check of the clamp holds), recomputes everything downstream with the
//! graph's own integer semantics, and proves the result; the verifier must refuse. Honest
//! controls: the same fixtures' honest proofs verify. Failing control (review11's report): with
//! the clamp's `λ²` term dropped on both sides (temporary build), the tiny GPT-2's "pulled
//! towards zero" forgery of its first symmetric clamp verifies (completion " composure
//! composure"), so this test fails.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Graph, Model, Op};
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{ProvingKey, prove, setup, verify, vocabulary};
use zkinfer_tokenizer::Tokenizer;

use crate::common;

fn load(rel: &str) -> (Model, ProvingKey, Vec<u32>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(rel);
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocabulary(&tok, &model), [11; 32]).unwrap();
    let prompt = tok.encode("The quick brown fox");
    (model, pk, prompt)
}

/// `(node index, m)` of every clamp of the graph that takes the symmetric form.
fn symmetric_clamps(graph: &Graph) -> Vec<(usize, i64)> {
    graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match &n.op {
            Op::Clamp(c) if c.lo == -c.hi && c.hi > 0 && ((c.hi + 1) as u64).is_power_of_two() && (c.hi + 1).trailing_zeros() >= 16 => Some((i, c.hi)),
            _ => None,
        })
        .collect()
}

/// The forgeries: `y = −clamp(x)` at every entry (on the tiny fixtures refused by a downstream
/// lookup, whose table the recomputed values leave: not attributable to the clamp alone), the
/// wrong sign at the saturated entries only (the tiny fixtures' symmetric clamps never saturate:
/// skipped, covered by the single-node tests), and every entry pulled one step towards zero
/// (refused by the batched zero-check: the clamp's `λ²·(m·χ − t)·s`, the only false relation).
#[derive(Clone, Copy, Debug)]
enum Forgery {
    Negated,
    WrongSignWhereSaturated,
    ShortOfTheBound,
}

fn attack(rel: &str) {
    let (model, pk, prompt) = load(rel);
    let n = 2;
    let (honest, _) = prove(&model, &pk, &prompt, n, |_| {}).unwrap();
    verify(&pk.vk, &honest).expect("honest control");
    let graph = model.graph(prompt.len() + n).unwrap();
    let count = symmetric_clamps(&graph).len();
    assert!(count > 0, "{rel}: no symmetric clamp in the graph");
    // the first and the last symmetric clamp of the graph (found again in the proven graph)
    let picks = if count > 1 { vec![0, count - 1] } else { vec![0] };
    for pick in picks {
        for forgery in [Forgery::Negated, Forgery::WrongSignWhereSaturated, Forgery::ShortOfTheBound] {
            let mut changed = 0usize;
            let (mut node, mut m) = (0usize, 0i64);
            let proof = prove_tampered(&model, &pk, &prompt, n, |graph, trace| {
                (node, m) = symmetric_clamps(graph)[pick];
                let nd = &graph.nodes[node];
                let x = trace.values[nd.inputs[0].0].as_ref().unwrap().data.clone();
                let y = trace.values[nd.output.0].as_mut().unwrap();
                for (v, &x) in y.data.iter_mut().zip(&x) {
                    let forged = match forgery {
                        Forgery::Negated => -*v,
                        Forgery::WrongSignWhereSaturated if x.abs() > m => -*v,
                        Forgery::ShortOfTheBound if x.abs() > m => *v - v.signum(),
                        // inside entries pulled one step towards zero: same sign, |y| < |x|
                        Forgery::ShortOfTheBound if x.abs() > 1 => *v - v.signum(),
                        _ => *v,
                    };
                    changed += usize::from(forged != *v);
                    *v = forged;
                }
                assert!(common::propagate_after(graph, trace, model.weights(), node), "the forged clamp output propagates");
            });
            if changed == 0 {
                eprintln!("{rel}: clamp node {node} (m = {m}): {forgery:?} changes nothing (no such entry), skipped");
                continue;
            }
            let proof = proof.expect("the malicious prover proves");
            let err = verify(&pk.vk, &proof).expect_err("forged symmetric clamp accepted");
            eprintln!("{rel}: clamp node {node} (m = {m}), {forgery:?} at {changed} entries: refused: {err}");
        }
    }
}

#[test]
fn tiny_gpt2_symmetric_clamp_forgeries_are_refused() {
    attack("gpt2-tiny-random.gguf");
}

#[test]
fn tiny_llama_symmetric_clamp_forgeries_are_refused() {
    attack("llama/llama-tiny-random.gguf");
}
