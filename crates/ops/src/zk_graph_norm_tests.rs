//! The zk graph driver on norms: token + position embeddings → LayerNorm → MatMul → Rescale →
//! MatMul (GPT-2's pattern: the norm's `x` claim routed through the Add to both embeddings, `γ`
//! and `β` to their weights, `y` committed and read by a MatMul) and embedding → RMSNorm → MatMul
//! (Llama's), `T = 20` rows of `n = 32`. Honest proofs verify and open (ideal opening and the real
//! hiding batch); a malicious prover perturbing the output or one committed column (`mean`,
//! `var`/`ms`, `inv`, `r₁`/`r₂`), with everything downstream recomputed, is refused — the perturbed
//! output only by the range phase (the failing control: with it skipped, the same proof verifies
//! and opens); two runs share no 16-byte window; a norm of fewer than 17 rows is refused naming
//! the node.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_graph::graph::{GraphBuilder, execute};
use zkinfer_graph::ops::Operand;
use zkinfer_graph::ops::add::Add;
use zkinfer_graph::ops::embedding::Embedding;
use zkinfer_graph::ops::layernorm::LayerNorm;
use zkinfer_graph::ops::matmul::MatMul;
use zkinfer_graph::ops::rescale::{Rescale, rescale_value};
use zkinfer_graph::ops::rmsnorm::RmsNorm;
use zkinfer_graph::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_transcript::DomainSeparator;

use super::super::*;
use super::TAMPER;

const T: usize = 20;
const D: usize = 32;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/zk-graph-norm-test", 1)
}

fn weight(shape: Vec<usize>, seed: i64) -> WeightTensor {
    let n: usize = shape.iter().product();
    let values = (0..n as i64).map(|i| ((i * 7919 + seed * 104_729) % 61) - 30);
    let values = if shape.len() == 1 { WeightValues::I64(values.collect()) } else { WeightValues::I16(values.map(|v| v as i16).collect()) };
    WeightTensor { shape, frac_bits: 0, values }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Layer,
    Rms,
}

struct Case {
    graph: Graph,
    weights: Weights,
    inputs: Vec<Vec<i64>>,
    trace: IntTrace,
}

fn case_rows(kind: Kind, rows: usize) -> Case {
    let mut weights = Weights::default();
    let ws = [("tok", weight(vec![32, D], 1)), ("pos", weight(vec![32, D], 2)), ("ln.g", weight(vec![D], 3)), ("ln.b", weight(vec![D], 4)), ("w1", weight(vec![D, D], 5)), ("w2", weight(vec![D, D], 6))];
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![rows], 0, 8);
    let positions = (kind == Kind::Layer).then(|| b.input("positions", vec![rows], 0, 8));
    let ids: Vec<TensorId> = ws.iter().map(|(n, w)| b.weight(*n, w)).collect();
    for (n, w) in ws {
        weights.insert(n, w);
    }
    let tok = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let out = match kind {
        Kind::Layer => {
            let pos = b.node(Op::Embedding(Embedding), &[positions.unwrap(), ids[1]], "pos_embd", 0).unwrap();
            let x = b.node(Op::Add(Add), &[tok, pos], "embd", 0).unwrap();
            let y = b.node(Op::LayerNorm(LayerNorm { eps: 5, k: 20, shift: 18 }), &[x, ids[2], ids[3]], "ln", 0).unwrap();
            let m = b.node(Op::MatMul(MatMul { has_bias: false }), &[y, ids[4]], "m", 0).unwrap();
            let mr = b.node(Op::Rescale(Rescale { shift: 6 }), &[m], "m.r", 0).unwrap();
            b.node(Op::MatMul(MatMul { has_bias: false }), &[mr, ids[5]], "out", 0).unwrap()
        }
        Kind::Rms => {
            let y = b.node(Op::RmsNorm(RmsNorm { eps: 5, k: 20, shift: 18 }), &[tok, ids[2]], "ln", 0).unwrap();
            b.node(Op::MatMul(MatMul { has_bias: false }), &[y, ids[4]], "out", 0).unwrap()
        }
    };
    let graph = b.finish(vec![out]).unwrap();
    let mut inputs = vec![(0..rows as i64).map(|i| (i * 13 + 5) % 32).collect::<Vec<i64>>()];
    if kind == Kind::Layer {
        inputs.push((0..rows as i64).collect());
    }
    let tensors = inputs.iter().zip(&graph.inputs).map(|(v, &id)| IntTensor::new(graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&graph, &weights, tensors).unwrap();
    Case { graph, weights, inputs, trace }
}

fn case(kind: Kind) -> Case {
    case_rows(kind, T)
}

struct Proven {
    layout: ZkLayout,
    secrets: ZkSecrets,
    proof: Vec<u8>,
    claims: Vec<FinalClaim>,
}

/// `forging`: the malicious prover of the range module (out-of-range values decomposed modulo
/// their ranges, left out of the multiplicities) — it never refuses its own trace.
fn prove(c: &Case, trace: &IntTrace, seed: u64, forging: bool) -> Proven {
    let layout = ZkLayout::new(&c.graph, &c.inputs).expect("layout");
    let mut rng = StdRng::seed_from_u64(seed);
    let secrets = ZkSecrets::sample_inner(&layout, &c.graph, &c.weights, trace, false, forging, &mut rng).expect("secrets");
    let mut t = ProverTranscript::new(&ds());
    let claims = prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, trace, &c.inputs, &mut t).expect("the prover runs");
    Proven { layout, secrets, proof: t.into_proof(), claims }
}

fn verify_with(c: &Case, p: &Proven, ranges: bool) -> Result<Vec<FinalClaim>, ProofError> {
    let layout = ZkLayout::new(&c.graph, &c.inputs)?;
    let mut t = VerifierTranscript::new(&ds(), &p.proof);
    let claims = verify_zk_graph_with(&layout, &c.graph, &c.inputs, &mut t, ranges)?;
    if ranges {
        // (Without the range phase its bytes are left over: the control reads the walk only.)
        t.finish().map_err(|e| ProofError::check(WHO, e.to_string()))?;
    }
    p.secrets.open(&p.layout, &claims)?;
    Ok(claims)
}

fn verify(c: &Case, p: &Proven) -> Result<Vec<FinalClaim>, ProofError> {
    verify_with(c, p, true)
}

/// The trace with tensor `name` replaced by `values` and every later node recomputed.
fn replaced(c: &Case, name: &str, values: Vec<i64>) -> IntTrace {
    let mut trace = c.trace.clone();
    let id = c.graph.find(name).unwrap();
    trace.values[id.0].as_mut().unwrap().data = values;
    let start = c.graph.nodes.iter().position(|n| n.output == id).unwrap() + 1;
    for node in &c.graph.nodes[start..] {
        let ops: Vec<Operand<'_>> = node
            .inputs
            .iter()
            .map(|&t| match trace.get(t) {
                Some(v) => Operand::Act(v),
                None => Operand::Weight(c.weights.get(&c.graph.meta(t).name).unwrap()),
            })
            .collect();
        let out = node.op.as_int_op().eval_int(&ops).unwrap();
        trace.values[node.output.0] = Some(out);
    }
    trace
}

fn values(c: &Case, name: &str) -> Vec<i64> {
    let t = c.graph.find(name).unwrap();
    match c.trace.get(t) {
        Some(v) => v.data.clone(),
        None => c.weights.get(name).unwrap().to_i64_vec(),
    }
}

fn windows(p: &[u8]) -> HashSet<&[u8]> {
    p.windows(16).collect()
}

#[test]
fn norms_walk_verify_open_and_share_no_window() {
    for kind in [Kind::Layer, Kind::Rms] {
        let c = case(kind);
        let p = prove(&c, &c.trace, 1, false);
        let claims = verify(&c, &p).expect("an honest proof with a norm verifies and opens");
        assert_eq!(claims, p.claims, "both sides end with the same claims");
        let claimed: HashSet<usize> = claims.iter().map(|f| f.poly).collect();
        assert_eq!(claimed.len(), p.layout.polys.len(), "every hidden polynomial is opened");
        let count = |f: &dyn Fn(&HiddenKind) -> bool| p.layout.polys.iter().filter(|h| f(&h.kind)).count();
        let (cols, ties) = if kind == Kind::Layer { (13, 3) } else { (10, 2) };
        assert_eq!(count(&|k| matches!(k, HiddenKind::NormColumn { .. })), cols + 1, "{kind:?}: the row columns and r₃");
        assert_eq!(count(&|k| matches!(k, HiddenKind::NormR { .. })), ties);
        assert_eq!(count(&|k| matches!(k, HiddenKind::RowMask(_))), 1);
        let plan = crate::zk_plan::plan_zk(&c.graph).unwrap();
        assert_eq!(plan.claims, p.layout.claims, "the plan and the layout count the same claims");
        // Two runs: the only sent values two runs may share are public constants the verifier
        // recomputes (LayerNorm's column mask `[c < n]` at `ρ_c`: 1 for n = 32), whose encoding has
        // ≤ 1 non-zero byte; any other shared window fails. The same randomness gives the same
        // bytes (the control).
        let q = prove(&c, &c.trace, 2, false);
        let shared: Vec<&[u8]> = windows(&p.proof).intersection(&windows(&q.proof)).copied().collect();
        assert!(shared.iter().all(|w| w.iter().filter(|&&b| b != 0).count() <= 1), "{kind:?}: two zk runs share a 16-byte window: {shared:?}");
        assert_eq!(p.proof, prove(&c, &c.trace, 1, false).proof);
        eprintln!("{kind:?} graph: {} hidden polynomials, walk + lookups {} B, {} shared constant windows", p.layout.polys.len(), p.proof.len(), shared.len());
    }
}

/// `y` (the norm's output, from the trace) moved by one at one entry with everything downstream
/// recomputed: `r₃ = d·inv·γ + 2^(s−1) − 2^s·(y − β)` leaves its range (`s = 18`: two limbs), the
/// malicious prover decomposes it modulo `2^18` and only the limb relation refuses it. The
/// control: with the range phase skipped, the same proof verifies and opens.
#[test]
fn a_perturbed_norm_output_is_refused_by_its_range_check() {
    for kind in [Kind::Layer, Kind::Rms] {
        let c = case(kind);
        let mut y = values(&c, "ln");
        y[45] += 1;
        let p = prove(&c, &replaced(&c, "ln", y), 3, true);
        let e = verify(&c, &p).expect_err("a perturbed output is refused").to_string();
        assert!(e.contains("limbs do not sum") && e.contains("NormColumn"), "{kind:?}: {e}");
        verify_with(&c, &p, false).expect("control: without the range phase the same proof verifies and opens");
        // The honest prover refuses the trace itself.
        let layout = ZkLayout::new(&c.graph, &c.inputs).unwrap();
        let mut y = values(&c, "ln");
        y[45] += 1;
        let r = ZkSecrets::sample(&layout, &c.graph, &c.weights, &replaced(&c, "ln", y), &mut StdRng::seed_from_u64(1));
        assert!(r.unwrap_err().to_string().contains("outside its"), "{kind:?}");
    }
}

/// The norm's output from `x`, `γ`, `β` and the (edited) row columns `mean`, `inv`: what a
/// malicious prover claims after editing a row column (everything downstream recomputed).
fn output_from_rows(c: &Case, kind: Kind, rows: &[Vec<i64>]) -> Vec<i64> {
    let x = values(c, if kind == Kind::Layer { "embd" } else { "tok_embd" });
    let g = values(c, "ln.g");
    let b = values(c, "ln.b");
    let (inv, mean) = if kind == Kind::Layer { (&rows[6], Some(&rows[0])) } else { (&rows[3], None) };
    (0..T * D)
        .map(|i| {
            let (t, col) = (i / D, i % D);
            let acc = (x[i] - mean.map_or(0, |m| m[t])) * inv[t] * g[col];
            rescale_value(acc, 18) + if kind == Kind::Layer { b[col] } else { 0 }
        })
        .collect()
}

fn honest_rows(c: &Case, kind: Kind) -> Vec<Vec<i64>> {
    let gadget = crate::ops::norm_rows::NormRows { has_mean: kind == Kind::Layer, eps: 5, k: 20 };
    let x = values(c, if kind == Kind::Layer { "embd" } else { "tok_embd" });
    let nr = gadget.columns().len();
    let mut rows = vec![Vec::new(); nr];
    for row in x.chunks(D) {
        let v = gadget.row_values("test", row).unwrap();
        for (col, &val) in rows.iter_mut().zip(&v[..nr]) {
            col.push(val);
        }
    }
    rows
}

/// A malicious prover edits one committed row column of row 2 (`mean`, `var`/`ms`, `inv`, or the
/// statistic's remainder), recomputes the output from it and everything downstream, and runs
/// every sub-proof on its values: refused (the cube sumcheck's statistics identities or the row
/// zero-check). The unedited route verifies (the control that the hook itself breaks nothing).
#[test]
fn a_perturbed_committed_row_column_is_refused() {
    for kind in [Kind::Layer, Kind::Rms] {
        let c = case(kind);
        let edits: &[(&str, usize, i64)] = match kind {
            Kind::Layer => &[("mean", 0, 1), ("mean_rem", 1, 1), ("var", 3, 1), ("var_rem", 4, -1), ("inv", 6, 1), ("none", 0, 0)],
            Kind::Rms => &[("ms", 0, 1), ("ms_rem", 1, -1), ("inv", 3, 1), ("none", 0, 0)],
        };
        for &(name, col, delta) in edits {
            let mut rows = honest_rows(&c, kind);
            rows[col][2] += delta;
            let y = output_from_rows(&c, kind, &rows);
            TAMPER.with(|t| *t.borrow_mut() = Some(Box::new(move |_, r: &mut [Vec<i64>]| r[col][2] += delta)));
            let p = prove(&c, &replaced(&c, "ln", y), 4, true);
            TAMPER.with(|t| *t.borrow_mut() = None);
            let r = verify(&c, &p);
            if delta == 0 {
                r.expect("control: the unedited route verifies");
            } else {
                let e = r.expect_err("an edited row column is refused").to_string();
                assert!(e.contains("Norm (zk)"), "{kind:?} {name}: refused elsewhere: {e}");
                eprintln!("{kind:?} {name}: {e}");
            }
        }
    }
}

#[test]
fn a_norm_of_few_rows_is_refused_naming_it() {
    for kind in [Kind::Layer, Kind::Rms] {
        let c = case_rows(kind, 8);
        let e = ZkLayout::new(&c.graph, &c.inputs).unwrap_err().to_string();
        let op = if kind == Kind::Layer { "LayerNorm" } else { "RmsNorm" };
        assert!(e.contains(op) && e.contains("output ln") && e.contains("T = 8"), "{e}");
    }
}

/// The full proof on both graphs: one hiding batch (the norms' tied columns at their degree bits),
/// the walk, the hiding opening; two runs share no window outside the opening's framing.
#[test]
fn norm_hiding_proofs_verify_and_share_no_window() {
    for kind in [Kind::Layer, Kind::Rms] {
        let c = case(kind);
        let run = |seed: u64| prove_zk_graph_hiding(&HidingPcs::default(), &c.graph, &c.weights, &c.trace, &c.inputs, &ds(), &mut StdRng::seed_from_u64(seed)).expect("the prover runs");
        let check = |p: &ZkGraphProof| verify_zk_graph_hiding(&HidingPcs::default(), &c.graph, &c.inputs, &ds(), p);
        let (a, b) = (run(60), run(61));
        check(&a).expect("an honest hiding proof with a norm verifies");
        check(&b).expect("verifies");
        let framing = |w: &&[u8]| w.iter().filter(|&&b| b == 0).count() >= 10;
        let shared: Vec<&[u8]> = windows(&a.transcript).intersection(&windows(&b.transcript)).copied().filter(|w| !framing(w)).collect();
        assert!(shared.iter().all(|w| w.iter().filter(|&&b| b != 0).count() <= 1), "{kind:?}: two zk runs share {} windows", shared.len());
        let mut bad = a.clone();
        let len = bad.transcript.len();
        bad.transcript[len / 3] ^= 1;
        assert!(check(&bad).is_err(), "a flipped byte");
        eprintln!("{kind:?} hiding proof: {} transcript bytes, {} hidden polynomials", a.transcript.len(), a.commitment.poly_num_vars.len());
    }
}
