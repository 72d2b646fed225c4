//! The whole-graph walk on a small hand-made graph with fan-out and a residual:
//!
//! ```text
//! ids ─Embedding(wte)─▶ h0 ─┬─MatMul(w1, b1)─▶ h1 ─┐
//!                           ├─MatMul(w2)─────▶ h2 ─┴─Add─▶ h3 ─Rescale─▶ y ─┐
//!                           └───────────────────────────────────────────────┴─Add─▶ r ─Argmax─▶ next (public)
//! ```
//!
//! `h0` is read three times (two matmuls and the residual add), so its claims are merged. The
//! polynomial commitments are ideal here: the verifier's final claims are checked by evaluating
//! the committed columns and the honest weights directly.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_field::F;
use zkinfer_model::graph::{Graph, GraphBuilder, IntTrace, TensorId, Weights, execute};
use zkinfer_model::ops::{Op, add::Add, argmax::Argmax, embedding::Embedding, matmul::MatMul, rescale::Rescale};
use zkinfer_model::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_ops::context::{Accumulators, evaluate_column};
use zkinfer_ops::{ProofError, TensorLayout, prove_graph, verify_graph};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

const T: usize = 5;
const VOCAB: usize = 37;
const D: usize = 12;

struct Fixture {
    graph: Graph,
    weights: Weights,
    ids: Vec<i64>,
}

fn w16(shape: &[usize], r: &mut ChaCha8Rng) -> WeightTensor {
    let n = shape.iter().product();
    WeightTensor { shape: shape.to_vec(), frac_bits: 0, values: WeightValues::I16((0..n).map(|_| r.random_range(-100i16..=100)).collect()) }
}

fn fixture() -> Fixture {
    let mut r = ChaCha8Rng::seed_from_u64(11);
    let mut weights = Weights::default();
    let (wte, w1, w2) = (w16(&[VOCAB, D], &mut r), w16(&[D, D], &mut r), w16(&[D, D], &mut r));
    let b1 = WeightTensor { shape: vec![D], frac_bits: 0, values: WeightValues::I64((0..D).map(|_| r.random_range(-5000..=5000)).collect()) };
    let mut b = GraphBuilder::new();
    let ids = b.input("ids", vec![T], 0, 6);
    let wte_id = b.weight("wte", &wte);
    let w1_id = b.weight("w1", &w1);
    let b1_id = b.weight("b1", &b1);
    let w2_id = b.weight("w2", &w2);
    let h0 = b.node(Op::Embedding(Embedding), &[ids, wte_id], "h0", 0).expect("h0");
    let h1 = b.node(Op::MatMul(MatMul { has_bias: true }), &[h0, w1_id, b1_id], "h1", 0).expect("h1");
    let h2 = b.node(Op::MatMul(MatMul { has_bias: false }), &[h0, w2_id], "h2", 0).expect("h2");
    let h3 = b.node(Op::Add(Add), &[h1, h2], "h3", 0).expect("h3");
    let y = b.node(Op::Rescale(Rescale { shift: 6 }), &[h3], "y", 0).expect("y");
    let res = b.node(Op::Add(Add), &[y, h0], "r", 0).expect("r");
    let next = b.node(Op::Argmax(Argmax), &[res], "next", 0).expect("next");
    let graph = b.finish(vec![next]).expect("graph");
    for (name, w) in [("wte", wte), ("w1", w1), ("b1", b1), ("w2", w2)] {
        weights.insert(name, w);
    }
    let ids = (0..T).map(|_| r.random_range(0..VOCAB as i64)).collect();
    Fixture { graph, weights, ids }
}

fn run(fx: &Fixture) -> IntTrace {
    execute(&fx.graph, &fx.weights, vec![IntTensor::new(vec![T], fx.ids.clone()).expect("ids")]).expect("execute")
}

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/graph-test", 1)
}

/// Checks every accumulated claim against the committed columns and the honest weights.
fn ideal_openings(graph: &Graph, honest: &Weights, columns: &[Vec<F>], acc: &Accumulators) -> Result<(), String> {
    for c in acc.witness.claims() {
        if evaluate_column(&columns[c.poly.index()], &c.point) != c.value {
            return Err(format!("witness column {:?} claim false", c.poly));
        }
    }
    for c in acc.weights.claims() {
        let meta = graph.meta(TensorId(c.poly.index()));
        let w = honest.get(&meta.name).ok_or("no weight")?;
        let padded = TensorLayout::new(&w.shape).pad_i64(&w.to_i64_vec());
        if evaluate_column(&padded, &c.point) != c.value {
            return Err(format!("weight {} claim false", meta.name));
        }
    }
    Ok(())
}

/// Proves with the prover's (possibly tampered) trace and weights, verifies against the honest
/// weights and the given public values.
fn prove_and_verify(fx: &Fixture, trace: &IntTrace, prover_weights: &Weights, public_next: &[i64]) -> Result<usize, String> {
    let mut pt = ProverTranscript::new(&ds());
    let out = prove_graph(&fx.graph, prover_weights, trace, &mut pt, |w, t| {
        // An ideal commitment: absorb the columns themselves.
        let cols: Vec<Vec<F>> = (0..w.plan().columns().len()).map(|i| w.values(zkinfer_ops::ColumnId(i)).to_vec()).collect();
        for c in &cols {
            t.absorb_public_fields("column", c);
        }
        Ok::<_, ProofError>(cols)
    })
    .map_err(|e| format!("prover: {e}"))?;
    let proof = pt.into_proof();
    let columns = out.commitment;

    let ids_id = fx.graph.find("ids").ok_or("ids")?;
    let next_id = fx.graph.find("next").ok_or("next")?;
    let public: HashMap<TensorId, &[i64]> = [(ids_id, fx.ids.as_slice()), (next_id, public_next)].into_iter().collect();
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    let v = verify_graph(&fx.graph, &public, &mut vt, |plan, t| {
        if plan.columns().len() != columns.len() {
            return Err(ProofError::shape("test", "layout differs"));
        }
        for c in &columns {
            t.absorb_public_fields("column", c);
        }
        Ok(())
    })
    .map_err(|e| format!("verifier: {e}"))?;
    vt.finish().map_err(|e| format!("leftover: {e}"))?;
    ideal_openings(&fx.graph, &fx.weights, &columns, &v.accumulators)?;
    if v.accumulators.witness.len() != out.accumulators.witness.len() || v.accumulators.weights.len() != out.accumulators.weights.len() {
        return Err("prover and verifier accumulated different claims".into());
    }
    Ok(proof.len())
}

fn next_tokens(fx: &Fixture, trace: &IntTrace) -> Vec<i64> {
    trace.get(fx.graph.find("next").expect("next")).expect("next").data.clone()
}

#[test]
fn honest_graph_proof_verifies() {
    let fx = fixture();
    let trace = run(&fx);
    let next = next_tokens(&fx, &trace);
    let bytes = prove_and_verify(&fx, &trace, &fx.weights, &next).expect("honest proof");
    assert!(bytes > 0);
}

/// Re-executes every node after `from` on the (tampered) trace: the prover's consistent lie.
fn propagate(fx: &Fixture, trace: &mut IntTrace, from: usize) {
    use zkinfer_model::graph::TensorSource;
    use zkinfer_model::ops::{Operand, eval_int};
    for n in from + 1..fx.graph.nodes.len() {
        let node = &fx.graph.nodes[n];
        let out = {
            let operands: Vec<Operand<'_>> = node
                .inputs
                .iter()
                .map(|&t| {
                    let meta = fx.graph.meta(t);
                    if meta.source == TensorSource::Weight {
                        Operand::Weight(fx.weights.get(&meta.name).expect("weight"))
                    } else {
                        Operand::Act(trace.get(t).expect("value"))
                    }
                })
                .collect();
            eval_int(&node.op, &operands).expect("eval")
        };
        trace.values[node.output.0] = Some(out);
    }
}

#[test]
fn tampered_activations_are_rejected() {
    let fx = fixture();
    let honest = run(&fx);
    let next = next_tokens(&fx, &honest);
    for (n, name) in ["h0", "h1", "h2", "h3", "y", "r"].iter().enumerate() {
        let id = fx.graph.find(name).expect("tensor");
        let len = honest.get(id).expect("values").data.len();
        for pos in [0, len / 2, len - 1] {
            let mut bad = honest.clone();
            if let Some(Some(t)) = bad.values.get_mut(id.0) {
                t.data[pos] += 1;
            }
            // Trace-only edits of values the prover reads (every tensor but h2, which only the
            // add's claim split touches, through h3) are caught.
            if *name != "h2" {
                assert!(prove_and_verify(&fx, &bad, &fx.weights, &next).is_err(), "tampered {name}[{pos}] accepted");
            }
            // A consistent lie: downstream recomputed from the edited value, public tokens those
            // of the lie (or the honest ones).
            propagate(&fx, &mut bad, n);
            let lie_next = next_tokens(&fx, &bad);
            assert!(prove_and_verify(&fx, &bad, &fx.weights, &lie_next).is_err(), "consistent lie on {name}[{pos}] accepted");
            assert!(prove_and_verify(&fx, &bad, &fx.weights, &next).is_err(), "consistent lie on {name}[{pos}] accepted");
        }
    }
}

#[test]
fn tampered_weights_are_rejected() {
    let fx = fixture();
    for name in ["w1", "w2", "b1"] {
        let mut ws = fx.weights.clone();
        let mut w = ws.get(name).expect("weight").clone();
        match &mut w.values {
            WeightValues::I16(v) => v[3] += 1,
            WeightValues::I64(v) => v[3] += 1,
        }
        ws.insert(name, w);
        // The prover runs the honest forward pass on its tampered weights (a consistent trace).
        let bad_trace = execute(&fx.graph, &ws, vec![IntTensor::new(vec![T], fx.ids.clone()).expect("ids")]).expect("execute");
        let bad_next = next_tokens(&fx, &bad_trace);
        assert!(prove_and_verify(&fx, &bad_trace, &ws, &bad_next).is_err(), "tampered weight {name} accepted");
    }
    // A used embedding row.
    let mut ws = fx.weights.clone();
    let mut w = ws.get("wte").expect("wte").clone();
    if let WeightValues::I16(v) = &mut w.values {
        v[fx.ids[0] as usize * D] += 1;
    }
    ws.insert("wte", w);
    let bad_trace = execute(&fx.graph, &ws, vec![IntTensor::new(vec![T], fx.ids.clone()).expect("ids")]).expect("execute");
    assert!(prove_and_verify(&fx, &bad_trace, &ws, &next_tokens(&fx, &bad_trace)).is_err());
}

#[test]
fn wrong_public_tokens_are_rejected() {
    let fx = fixture();
    let trace = run(&fx);
    let mut next = next_tokens(&fx, &trace);
    next[T - 1] = (next[T - 1] + 1) % D as i64;
    assert!(prove_and_verify(&fx, &trace, &fx.weights, &next).is_err());
}

#[test]
fn corrupted_or_truncated_proofs_are_rejected_without_panics() {
    let fx = fixture();
    let trace = run(&fx);
    let next = next_tokens(&fx, &trace);
    let mut pt = ProverTranscript::new(&ds());
    let out = prove_graph(&fx.graph, &fx.weights, &trace, &mut pt, |w, t| {
        let cols: Vec<Vec<F>> = (0..w.plan().columns().len()).map(|i| w.values(zkinfer_ops::ColumnId(i)).to_vec()).collect();
        for c in &cols {
            t.absorb_public_fields("column", c);
        }
        Ok::<_, ProofError>(cols)
    })
    .expect("prove");
    let proof = pt.into_proof();
    let columns = out.commitment;
    let ids_id = fx.graph.find("ids").expect("ids");
    let next_id = fx.graph.find("next").expect("next");
    let public: HashMap<TensorId, &[i64]> = [(ids_id, fx.ids.as_slice()), (next_id, next.as_slice())].into_iter().collect();
    let verify = |bytes: &[u8]| -> Result<(), String> {
        let mut vt = VerifierTranscript::new(&ds(), bytes);
        let v = verify_graph(&fx.graph, &public, &mut vt, |_, t| {
            for c in &columns {
                t.absorb_public_fields("column", c);
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        vt.finish().map_err(|e| e.to_string())?;
        ideal_openings(&fx.graph, &fx.weights, &columns, &v.accumulators)
    };
    verify(&proof).expect("honest proof");
    let step = (proof.len() / 97).max(1);
    for i in (0..proof.len()).step_by(step) {
        let mut bad = proof.clone();
        bad[i] ^= 0x01;
        assert!(verify(&bad).is_err(), "flipped byte {i} accepted");
    }
    for len in [0, 1, proof.len() / 2, proof.len() - 1] {
        assert!(verify(&proof[..len]).is_err(), "truncation to {len} accepted");
    }
    let mut longer = proof.clone();
    longer.push(0);
    assert!(verify(&longer).is_err(), "trailing byte accepted");
}

/// The honest trace with `y[pos] += delta` and everything downstream recomputed: a consistent
/// lie that only the rescale producing `y` can catch.
fn lie_on_y(fx: &Fixture, pos: usize, delta: i64) -> IntTrace {
    let mut bad = run(fx);
    let id = fx.graph.find("y").expect("y");
    if let Some(Some(t)) = bad.values.get_mut(id.0) {
        t.data[pos] += delta;
    }
    propagate(fx, &mut bad, 4);
    bad
}

/// A lie that changes a public token (the verifier would certify a wrong completion).
fn token_changing_lie(fx: &Fixture) -> (IntTrace, Vec<i64>) {
    let honest = next_tokens(fx, &run(fx));
    for pos in 0..T * D {
        let bad = lie_on_y(fx, pos, 5000);
        let next = next_tokens(fx, &bad);
        if next != honest {
            return (bad, next);
        }
    }
    panic!("no lie on y changes the argmax");
}

#[test]
fn a_virtual_tensor_without_producer_is_rejected() {
    // The rescale producing `y` is dropped: `y` is a virtual tensor nobody produces, so the add's
    // claims on it would stay pending forever and `y` could be anything.
    let fx = fixture();
    let (lie, lie_next) = token_changing_lie(&fx);
    assert!(matches!(fx.graph.nodes[4].op, Op::Rescale(_)));
    let mut graph = fx.graph.clone();
    graph.nodes.remove(4);
    let malformed = Fixture { graph, weights: fx.weights.clone(), ids: fx.ids.clone() };
    let err = prove_and_verify(&malformed, &lie, &fx.weights, &lie_next).expect_err("forgery through an unproduced tensor accepted");
    assert!(err.starts_with("verifier:") && err.contains("y"), "{err}");
}

#[test]
fn a_claim_left_pending_by_misordered_nodes_is_rejected() {
    // The add producing `h3` is moved after its consumer (the rescale): in the reverse walk the
    // rescale's claims on `h3` arrive after the add was visited and would be left pending, so
    // the committed `y` would be constrained by nothing.
    let fx = fixture();
    let (mut lie, lie_next) = token_changing_lie(&fx);
    // The rescale's input moves with its output (so its remainder stays in range); the add that
    // should tie `h3` to `h1 + h2` never sees a claim.
    let (y, h3) = (fx.graph.find("y").expect("y"), fx.graph.find("h3").expect("h3"));
    let honest = run(&fx);
    let dy: Vec<i64> = lie.get(y).expect("y").data.iter().zip(&honest.get(y).expect("y").data).map(|(a, b)| a - b).collect();
    if let Some(Some(t)) = lie.values.get_mut(h3.0) {
        for (v, d) in t.data.iter_mut().zip(&dy) {
            *v += d << 6;
        }
    }
    assert!(matches!(fx.graph.nodes[3].op, Op::Add(_)) && matches!(fx.graph.nodes[4].op, Op::Rescale(Rescale { shift: 6 })));
    let mut graph = fx.graph.clone();
    graph.nodes.swap(3, 4);
    let malformed = Fixture { graph, weights: fx.weights.clone(), ids: fx.ids.clone() };
    let err = prove_and_verify(&malformed, &lie, &fx.weights, &lie_next).expect_err("forgery through a pending claim accepted");
    assert!(err.starts_with("verifier:"), "{err}");
}

#[test]
fn values_given_for_a_tensor_that_is_not_public_are_rejected() {
    // A caller that passes values for the committed `y` must not believe them checked.
    let fx = fixture();
    let trace = run(&fx);
    let next = next_tokens(&fx, &trace);
    let mut pt = ProverTranscript::new(&ds());
    prove_graph(&fx.graph, &fx.weights, &trace, &mut pt, |_, _| Ok::<_, ProofError>(())).expect("prove");
    let proof = pt.into_proof();
    let (ids_id, next_id, y_id) = (fx.graph.find("ids").expect("ids"), fx.graph.find("next").expect("next"), fx.graph.find("y").expect("y"));
    let wrong_y = vec![7i64; T * D];
    let public: HashMap<TensorId, &[i64]> = [(ids_id, fx.ids.as_slice()), (next_id, next.as_slice()), (y_id, wrong_y.as_slice())].into_iter().collect();
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    let Err(err) = verify_graph(&fx.graph, &public, &mut vt, |_, _| Ok(())) else { panic!("values for a committed tensor accepted") };
    assert!(err.to_string().contains("not take as public"), "{err}");
}

/// `ids → Embedding → h0 → {Gelu(a) → g1, Gelu(b) → g2} → Add → s → Argmax → next`, both GELUs
/// with the same fixed-point positions (so the same table name) but the given tables.
fn two_gelu_fixture(a: &zkinfer_model::ops::gelu::Gelu, b: &zkinfer_model::ops::gelu::Gelu) -> Fixture {
    let mut r = ChaCha8Rng::seed_from_u64(5);
    let wte = w16(&[VOCAB, D], &mut r);
    let mut gb = GraphBuilder::new();
    let ids = gb.input("ids", vec![T], 0, 6);
    let wte_id = gb.weight("wte", &wte);
    let h0 = gb.node(Op::Embedding(Embedding), &[ids, wte_id], "h0", 0).expect("h0");
    let g1 = gb.node(Op::Gelu(a.clone()), &[h0], "g1", 12).expect("g1");
    let g2 = gb.node(Op::Gelu(b.clone()), &[h0], "g2", 12).expect("g2");
    let s = gb.node(Op::Add(Add), &[g1, g2], "s", 12).expect("s");
    let next = gb.node(Op::Argmax(Argmax), &[s], "next", 0).expect("next");
    let graph = gb.finish(vec![next]).expect("graph");
    let mut weights = Weights::default();
    weights.insert("wte", wte);
    let ids = (0..T).map(|_| r.random_range(0..VOCAB as i64)).collect();
    Fixture { graph, weights, ids }
}

#[test]
fn two_different_tables_under_one_name_are_refused() {
    use zkinfer_model::ops::gelu::Gelu;
    // Table B differs from A on every odd input. Tables are registered by name, so without a
    // content check the lookups of the second GELU would be proven against A: a prover could
    // then evaluate the graph with A in both places and have the completion certified.
    let a = Gelu::new(10, 12);
    let mut b = a.clone();
    b.table = a.table.iter().enumerate().map(|(i, &v)| if i % 2 == 1 { v + 5000 } else { v }).collect();
    let fx = two_gelu_fixture(&a, &b);
    let honest_next = next_tokens(&fx, &run(&fx));
    let lie_fx = two_gelu_fixture(&a, &a);
    let lie = run(&lie_fx);
    let lie_next = next_tokens(&lie_fx, &lie);
    assert_ne!(honest_next, lie_next, "the lie must change the completion");
    let err = prove_and_verify(&fx, &lie, &fx.weights, &lie_next).expect_err("a lie through a shared table name accepted");
    assert!(err.contains("two different tables"), "{err}");
    // The verifier refuses the graph before reading any proof byte.
    let public: HashMap<TensorId, &[i64]> =
        [(fx.graph.find("ids").expect("ids"), fx.ids.as_slice()), (fx.graph.find("next").expect("next"), honest_next.as_slice())].into_iter().collect();
    let mut vt = VerifierTranscript::new(&ds(), &[]);
    let Err(err) = verify_graph(&fx.graph, &public, &mut vt, |_, _| Ok(())) else { panic!("graph with two tables under one name accepted") };
    assert!(err.to_string().contains("two different tables"), "{err}");
}
