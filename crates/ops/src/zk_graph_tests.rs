//! The zk graph driver on a graph of every wired op kind (the linear part of a GPT-2 block: token
//! and position embeddings, their sum, a biased QKV MatMul whose output is claimed twice (two
//! SliceCols: a masked merge), SplitHeads, MergeHeads, a residual Add, an output MatMul and a
//! GatherRows of the predicted rows; a second output: the attention scores `Q·Kᵀ` by
//! BatchedMatMul over the split heads — `q.heads` is claimed twice, another merge; a third, the
//! key heads repeated by RepeatKv; a fourth, the Mul of the merged heads and `k`, so both are
//! claimed twice), with the ideal opening ([`ZkSecrets::open`]). Honest proofs
//! verify and open; a malicious prover perturbing one node's output and recomputing everything
//! downstream is refused (eleven nodes, nine kinds); two zk runs share no 16-byte window while two runs
//! with the same randomness share all of them (the control); the tiny GPT-2 graph is refused
//! naming the first unwired node its walk meets (the Argmax); hostile proofs are errors, never panics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;
use std::path::PathBuf;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_graph::graph::{GraphBuilder, execute};
use zkinfer_graph::ops::Operand;
use zkinfer_graph::ops::add::Add;
use zkinfer_graph::ops::batched_matmul::BatchedMatMul;
use zkinfer_graph::ops::clamp::Clamp;
use zkinfer_graph::ops::mul::Mul;
use zkinfer_graph::ops::repeat_kv::RepeatKv;
use zkinfer_graph::ops::rescale::Rescale;
use zkinfer_graph::ops::embedding::Embedding;
use zkinfer_graph::ops::gather::GatherRows;
use zkinfer_graph::ops::heads::{MergeHeads, SplitHeads};
use zkinfer_graph::ops::matmul::MatMul;
use zkinfer_graph::ops::slice::SliceCols;
use zkinfer_graph::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_transcript::DomainSeparator;

use super::*;

const T: usize = 8;
const D: usize = 32;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/zk-graph-test", 1)
}

fn weight(shape: Vec<usize>, seed: i64) -> WeightTensor {
    let n: usize = shape.iter().product();
    let values = (0..n as i64).map(|i| ((i * 7919 + seed * 104_729) % 61) - 30);
    // A bias is stored as i64 (the graph's rule), a matrix as i16.
    let values = if shape.len() == 1 { WeightValues::I64(values.collect()) } else { WeightValues::I16(values.map(|v| v as i16).collect()) };
    WeightTensor { shape, frac_bits: 0, values }
}

struct Case {
    graph: Graph,
    weights: Weights,
    inputs: Vec<Vec<i64>>,
    trace: IntTrace,
}

fn case() -> Case {
    let mut weights = Weights::default();
    let ws = [
        ("tok", weight(vec![32, D], 1)),
        ("pos", weight(vec![32, D], 2)),
        ("qkv.w", weight(vec![3 * D, D], 3)),
        ("qkv.b", weight(vec![3 * D], 4)),
        ("out.w", weight(vec![D, D], 5)),
        ("out.b", weight(vec![D], 6)),
    ];
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let positions = b.input("positions", vec![T], 0, 8);
    let rows = b.input("out_rows", vec![2], 0, 8);
    let ids: Vec<TensorId> = ws.iter().map(|(n, w)| b.weight(*n, w)).collect();
    for (n, w) in ws {
        weights.insert(n, w);
    }
    let tok = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let pos = b.node(Op::Embedding(Embedding), &[positions, ids[1]], "pos_embd", 0).unwrap();
    let x = b.node(Op::Add(Add), &[tok, pos], "embd", 0).unwrap();
    let qkv = b.node(Op::MatMul(MatMul { has_bias: true }), &[x, ids[2], ids[3]], "qkv", 0).unwrap();
    let q = b.node(Op::SliceCols(SliceCols { start: 0, len: D }), &[qkv], "q", 0).unwrap();
    let k = b.node(Op::SliceCols(SliceCols { start: D, len: D }), &[qkv], "k", 0).unwrap();
    let qh = b.node(Op::SplitHeads(SplitHeads { heads: 2 }), &[q], "q.heads", 0).unwrap();
    let qm = b.node(Op::MergeHeads(MergeHeads), &[qh], "q.merged", 0).unwrap();
    let kh = b.node(Op::SplitHeads(SplitHeads { heads: 2 }), &[k], "k.heads", 0).unwrap();
    let scores = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: true }), &[qh, kh], "scores", 0).unwrap();
    let prod = b.node(Op::Mul(Mul), &[qm, k], "prod", 0).unwrap();
    let y = b.node(Op::Add(Add), &[qm, k], "resid", 0).unwrap();
    let kr = b.node(Op::RepeatKv(RepeatKv { group: 2 }), &[kh], "k.repeated", 0).unwrap();
    let out = b.node(Op::MatMul(MatMul { has_bias: true }), &[y, ids[4], ids[5]], "out", 0).unwrap();
    let last = b.node(Op::GatherRows(GatherRows), &[rows, out], "out.rows", 0).unwrap();
    let graph = b.finish(vec![last, scores, kr, prod]).unwrap();
    let inputs = vec![vec![3, 1, 4, 1, 5, 9, 2, 6], (0..T as i64).collect(), vec![2, 7]];
    let tensors = inputs.iter().zip(&graph.inputs).map(|(v, &id)| IntTensor::new(graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&graph, &weights, tensors).unwrap();
    Case { graph, weights, inputs, trace }
}

struct Proven {
    layout: ZkLayout,
    secrets: ZkSecrets,
    proof: Vec<u8>,
    claims: Vec<FinalClaim>,
}

/// The caller's commitment stand-in (step 2 commits `secrets.committed()` in one hiding batch):
/// nothing is absorbed here, the ideal opening checks the claims against the secrets directly.
fn prove(c: &Case, trace: &IntTrace, seed: u64) -> Proven {
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &public_of(c)).expect("layout");
    let mut rng = StdRng::seed_from_u64(seed);
    let secrets = ZkSecrets::sample(&layout, &c.graph, &c.weights, trace, &mut rng).expect("secrets");
    let mut t = ProverTranscript::new(&ds());
    let claims = prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, trace, &c.inputs, &mut t).expect("the prover runs");
    Proven { layout, secrets, proof: t.into_proof(), claims }
}

/// The statement's public outputs as an honest prover gives them: every Argmax graph output's
/// values from the case's trace (the completion; none for the linear fixtures).
fn public_of(c: &Case) -> Vec<(TensorId, Vec<i64>)> {
    let argmax = |o: TensorId| c.graph.nodes.iter().any(|n| n.output == o && matches!(n.op, Op::Argmax(_)));
    c.graph.outputs.iter().filter(|&&o| argmax(o)).map(|&o| (o, c.trace.get(o).unwrap().data.clone())).collect()
}

fn verify(c: &Case, p: &Proven, proof: &[u8]) -> Result<Vec<FinalClaim>, ProofError> {
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &public_of(c))?;
    let mut t = VerifierTranscript::new(&ds(), proof);
    let claims = verify_zk_graph(&layout, &c.graph, &c.inputs, &mut t)?;
    p.secrets.open(&p.layout, &claims)?;
    Ok(claims)
}

/// The trace with entry `i` of tensor `name` moved by `delta` and every later node recomputed.
fn perturbed(c: &Case, name: &str, i: usize, delta: i64) -> IntTrace {
    let mut trace = c.trace.clone();
    let id = c.graph.find(name).unwrap();
    trace.values[id.0].as_mut().unwrap().data[i] += delta;
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

#[test]
fn honest_proof_verifies_and_opens() {
    let c = case();
    let p = prove(&c, &c.trace, 1);
    let claims = verify(&c, &p, &p.proof).expect("an honest proof verifies and opens");
    assert_eq!(claims, p.claims, "both sides end with the same claims");
    // Every hidden polynomial is claimed at least once (nothing committed is left unused).
    let claimed: HashSet<usize> = claims.iter().map(|f| f.poly).collect();
    assert_eq!(claimed.len(), p.layout.polys.len());
    assert!(p.layout.polys.iter().any(|h| matches!(h.kind, HiddenKind::MergeMask(_))), "the QKV output is merged");
    // A false final claim is refused by the opening.
    let mut bad = claims.clone();
    bad[3].value += EF::ONE;
    assert!(p.secrets.open(&p.layout, &bad).is_err());
}

/// The driver's pre-opening check (`ZkLayout::check_final_claims`) passes an honest walk's
/// claims and, for a hidden polynomial claimed at two points on one 4-coordinate prefix, names
/// its owner (kind, tensor, node); sumcheck mask tables (public values) are exempt.
#[test]
fn claims_the_mask_would_not_hide_are_refused_naming_their_owner() {
    let c = case();
    let p = prove(&c, &c.trace, 1);
    p.layout.check_final_claims(&c.graph, &p.claims).expect("an honest walk's claims are hideable");
    // A second claim on a committed column (the output's) at a point sharing the prefix.
    let (i, first) = p.claims.iter().enumerate().find(|(_, f)| matches!(p.layout.polys[f.poly].kind, HiddenKind::Output(_)) && f.point.len() > 4).expect("an output claim");
    let mut moved = first.clone();
    *moved.point.last_mut().unwrap() += EF::ONE;
    let mut bad = p.claims.clone();
    bad.insert(i + 1, moved);
    let e = p.layout.check_final_claims(&c.graph, &bad).unwrap_err().to_string();
    assert!(e.contains("output column of tensor") && e.contains("node ") && e.contains("same first 4 coordinates"), "{e}");
    // The same on a sumcheck mask table is allowed (its values are the sumcheck's public e_j).
    let (i, first) = p.claims.iter().enumerate().find(|(_, f)| matches!(p.layout.polys[f.poly].kind, HiddenKind::NodeMask(_))).expect("a mask claim");
    assert!(p.layout.polys[first.poly].public_values() && p.layout.polys[first.poly].vanishing() == Vanishing::LastPublic);
    let mut moved = first.clone();
    *moved.point.last_mut().unwrap() += EF::ONE;
    let mut ok = p.claims.clone();
    ok.insert(i + 1, moved);
    p.layout.check_final_claims(&c.graph, &ok).expect("mask tables' claims are public");
}

#[test]
fn a_perturbed_node_output_is_refused() {
    let c = case();
    // One node of each kind: Embedding, Add, MatMul (the merged tensor), SliceCols, MergeHeads,
    // SplitHeads (claimed twice: by MergeHeads and the scores), the output MatMul and the scores'
    // BatchedMatMul (whose output columns commit the perturbed values).
    for (name, i) in [("tok_embd", 5), ("embd", 40), ("qkv", 70), ("k", 3), ("q.merged", 17), ("q.heads", 9), ("out", 33), ("k.heads", 11), ("scores", 20), ("prod", 13), ("k.repeated", 100)] {
        let trace = perturbed(&c, name, i, 1);
        let p = prove(&c, &trace, 2);
        let r = verify(&c, &p, &p.proof);
        let e = r.expect_err("a perturbed output must be refused").to_string();
        eprintln!("{name}: {e}");
    }
    // The control: the same route unperturbed verifies.
    let p = prove(&c, &perturbed(&c, "qkv", 70, 0), 2);
    verify(&c, &p, &p.proof).expect("control");
}

/// A prover whose own values differ from what the commitment holds: `weights` for the walk and
/// the output column from `trace`, while the committed weights are `c.weights`.
fn prove_with(c: &Case, weights: &Weights, trace: &IntTrace, seed: u64) -> Proven {
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &public_of(c)).expect("layout");
    let mut rng = StdRng::seed_from_u64(seed);
    let secrets = ZkSecrets::sample(&layout, &c.graph, &c.weights, trace, &mut rng).expect("secrets");
    let mut t = ProverTranscript::new(&ds());
    let claims = prove_zk_graph(&layout, &secrets, &c.graph, weights, trace, &c.inputs, &mut t).expect("the prover runs");
    Proven { layout, secrets, proof: t.into_proof(), claims }
}

/// The verifier's claims with those on polynomials of `kind` left unopened (a control).
fn verify_without(c: &Case, p: &Proven, keep: impl Fn(&HiddenKind) -> bool) -> Result<(), ProofError> {
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &public_of(c))?;
    let mut t = VerifierTranscript::new(&ds(), &p.proof);
    let claims = verify_zk_graph(&layout, &c.graph, &c.inputs, &mut t)?;
    let kept: Vec<FinalClaim> = claims.into_iter().filter(|f| keep(&layout.polys[f.poly].kind)).collect();
    p.secrets.open(&p.layout, &kept)
}

#[test]
fn other_weights_or_another_output_are_refused_at_the_opening() {
    let c = case();
    // The walk on weights that differ from the committed ones in one entry (everything downstream
    // recomputed, every sumcheck honest on the prover's own values).
    let mut other = Weights::default();
    for (name, w) in c.weights.iter() {
        let mut w = w.clone();
        if name == "qkv.w" {
            let mut v = w.to_i64_vec();
            v[100] += 1;
            w.values = WeightValues::I16(v.into_iter().map(|x| x as i16).collect());
        }
        other.insert(name, w);
    }
    let tensors = c.inputs.iter().zip(&c.graph.inputs).map(|(v, &id)| IntTensor::new(c.graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&c.graph, &other, tensors).unwrap();
    let p = prove_with(&c, &other, &trace, 4);
    let e = verify(&c, &p, &p.proof).expect_err("other weights must be refused").to_string();
    assert!(e.contains("a false claim on Weight"), "{e}");
    // Control: with the weight claims not opened, the same proof verifies.
    verify_without(&c, &p, |k| !matches!(k, HiddenKind::Weight(_))).expect("control: the walk alone accepts it");

    // A commitment to another output than the one the walk proves: an honest walk on the true
    // trace, opened against a commitment whose output column differs in one entry.
    let mut p = prove(&c, &c.trace, 5);
    let col = p.layout.polys.iter().position(|h| matches!(h.kind, HiddenKind::Output(_))).unwrap();
    p.secrets.tables[col].0[7] += F::ONE;
    let e = verify(&c, &p, &p.proof).expect_err("another output must be refused").to_string();
    assert!(e.contains("Output"), "{e}");
    // Control: with the anchor's opening dropped, it verifies.
    verify_without(&c, &p, |k| !matches!(k, HiddenKind::Output(_))).expect("control: the walk alone accepts it");
}

fn windows(p: &[u8]) -> HashSet<&[u8]> {
    p.windows(16).collect()
}

#[test]
fn two_zk_runs_share_no_window() {
    let c = case();
    let (a, b) = (prove(&c, &c.trace, 10), prove(&c, &c.trace, 11));
    assert_eq!(a.proof.len(), b.proof.len(), "the length is public");
    assert!(windows(&a.proof).is_disjoint(&windows(&b.proof)), "two zk runs share a 16-byte window");
    // Control: two runs with the same randomness share every window (so the check can fail).
    let same = prove(&c, &c.trace, 10);
    assert_eq!(windows(&a.proof), windows(&same.proof));
    // No plain value of a hidden tensor is sent: the anchor's plain output value is not in the
    // proof, its randomised value is.
    let out = c.graph.outputs[0];
    let plain = mle_at(&padded_table(&c.trace.get(out).unwrap().data, &c.graph.meta(out).shape), &a.claims[0].point).unwrap();
    let needle = |v: EF| {
        let mut t = ProverTranscript::new(&ds());
        t.send_ext(v);
        t.into_proof()
    };
    assert!(!a.proof.windows(24).any(|w| w == needle(plain).as_slice()), "the plain output value is sent");
    assert!(a.proof.windows(24).any(|w| w == needle(a.claims[0].value).as_slice()), "the search finds the sent value");
}

#[test]
fn hostile_proofs_are_errors() {
    let c = case();
    let p = prove(&c, &c.trace, 3);
    for cut in [0, 24, p.proof.len() / 2, p.proof.len() - 24] {
        assert!(verify(&c, &p, &p.proof[..cut]).is_err(), "truncated at {cut}");
    }
    let mut flipped = p.proof.clone();
    let k = flipped.len() / 3 / 24 * 24;
    flipped[k] ^= 1;
    assert!(verify(&c, &p, &flipped).is_err(), "a flipped value");
    // Wrong public inputs: another row gathered.
    let mut other = case();
    other.inputs[2] = vec![2, 6];
    let layout = ZkLayout::new(&other.graph, &other.inputs).unwrap();
    let mut t = VerifierTranscript::new(&ds(), &p.proof);
    let r = verify_zk_graph(&layout, &other.graph, &other.inputs, &mut t).and_then(|cl| p.secrets.open(&p.layout, &cl));
    assert!(r.is_err(), "a proof for other public rows");
    // Bad public inputs are refused by the layout.
    let mut bad = case();
    bad.inputs[2] = vec![2, 99];
    assert!(ZkLayout::new(&bad.graph, &bad.inputs).unwrap_err().to_string().contains("a row outside the input"));
    bad.inputs.pop();
    assert!(ZkLayout::new(&bad.graph, &bad.inputs).is_err());
}

#[test]
fn the_tiny_gpt2_graph_walks_past_its_argmax_to_its_first_unwired_node() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
    let gguf = zkinfer_gguf::GgufFile::open(path).expect("fixture opens");
    let m = zkinfer_model::Model::load(&gguf).expect("fixture loads");
    let graph = m.graph(8).expect("graph");
    let inputs: Vec<Vec<i64>> = graph.inputs.iter().map(|&t| vec![0; graph.meta(t).shape.iter().product()]).collect();
    // Without the completion the Argmax is refused; with it the walk passes the Argmax and the
    // LM head and stops at the output LayerNorm.
    let e = ZkLayout::new(&graph, &inputs).unwrap_err().to_string();
    assert!(e.contains("Argmax") && e.contains("public output"), "{e}");
    let next = graph.find("next_token").unwrap();
    let public = vec![(next, vec![0; graph.meta(next).shape.iter().product()])];
    // At T = 8 the output LayerNorm is refused for its rows (the zk norm needs T ≥ 17, module
    // `norm`); at T = 20 the walk passes every LayerNorm (n = 64) to the next unwired node.
    let e = ZkLayout::with_public_outputs(&graph, &inputs, &public).unwrap_err().to_string();
    assert!(e.contains("LayerNorm") && e.contains("T = 8"), "{e}");
    eprintln!("tiny GPT-2, T = 8: {e}");
    let graph = m.graph(20).expect("graph");
    let inputs: Vec<Vec<i64>> = graph.inputs.iter().map(|&t| vec![0; graph.meta(t).shape.iter().product()]).collect();
    let next = graph.find("next_token").unwrap();
    let public = vec![(next, vec![0; graph.meta(next).shape.iter().product()])];
    match ZkLayout::with_public_outputs(&graph, &inputs, &public) {
        Ok(_) => eprintln!("tiny GPT-2, T = 20: the whole graph is wired"),
        Err(e) => {
            let e = e.to_string();
            assert!(!e.contains("LayerNorm"), "{e}");
            eprintln!("tiny GPT-2, T = 20: {e}");
        }
    }
}

/// `x + x` and `x·x` (both operands one tensor): honest, the walk makes two claims on `x` at one
/// point; both sides keep one (the masked merge needs distinct points). A perturbed `x` is still
/// refused.
fn doubled_case() -> Case {
    let mut weights = Weights::default();
    let ws = [("tok", weight(vec![32, D], 1)), ("w1", weight(vec![D, D], 3)), ("w2", weight(vec![D, D], 5))];
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ws.iter().map(|(n, w)| b.weight(*n, w)).collect();
    for (n, w) in ws {
        weights.insert(n, w);
    }
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let m = b.node(Op::MatMul(MatMul { has_bias: false }), &[e, ids[1]], "m", 0).unwrap();
    let twice = b.node(Op::Add(Add), &[m, m], "twice", 0).unwrap();
    let sq = b.node(Op::Mul(Mul), &[m, m], "square", 0).unwrap();
    let out = b.node(Op::MatMul(MatMul { has_bias: false }), &[twice, ids[2]], "out", 0).unwrap();
    let graph = b.finish(vec![out, sq]).unwrap();
    let inputs = vec![vec![3, 1, 4, 1, 5, 9, 2, 6]];
    let tensors = inputs.iter().zip(&graph.inputs).map(|(v, &id)| IntTensor::new(graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&graph, &weights, tensors).unwrap();
    Case { graph, weights, inputs, trace }
}

#[test]
fn a_tensor_added_to_or_multiplied_by_itself_is_complete() {
    let c = doubled_case();
    let p = prove(&c, &c.trace, 30);
    verify(&c, &p, &p.proof).expect("an honest x + x and x·x verify");
    // `m` receives four claims at two points (x + x: two at the Add's point; x·x: two at the Mul's).
    assert_eq!(p.layout.claims[c.graph.find("m").unwrap().0], 4);
    let z = vec![EF::TWO; 3];
    let twice = vec![Claim::new(z.clone(), EF::ONE), Claim::new(z.clone(), EF::ONE)];
    assert_eq!(distinct_points(twice).unwrap().len(), 1);
    let differ = vec![Claim::new(z.clone(), EF::ONE), Claim::new(z, EF::TWO)];
    assert!(distinct_points(differ).unwrap_err().to_string().contains("two claims at one point"));
    for name in ["m", "tok_embd"] {
        let trace = perturbed(&c, name, 11, 1);
        let p = prove(&c, &trace, 31);
        let e = verify(&c, &p, &p.proof).expect_err("a perturbed x is refused").to_string();
        eprintln!("{name}: {e}");
    }
}

/// The plan (`crate::zk_plan`) and the driver's layout count the same claims and give the same
/// virtual tensors an `R` mask (one rule, `zk_claims_on_input`): on both test graphs.
#[test]
fn plan_and_layout_count_the_same_claims() {
    for c in [case(), doubled_case(), rescale_case()] {
        let layout = ZkLayout::new(&c.graph, &c.inputs).unwrap();
        let plan = crate::zk_plan::plan_zk(&c.graph).unwrap();
        assert_eq!(plan.claims, layout.claims);
        let r_bits: Vec<Option<usize>> = (0..c.graph.tensors.len()).map(|t| layout.r_bits(TensorId(t))).collect();
        assert_eq!(plan.r_mask_bits, r_bits);
    }
}

/// Rounded and exact Rescales: `tok.r` (s = 3: `r` looked up itself, `y` through one signed limb),
/// `m.r` (s = 18: `r` through two limbs), `m.up` (s = −2: affine, no mask of its own), between
/// Embedding and MatMuls; Clamps in both forms: `m.c` (`[−3, 3]`: the gaps, tied to `y` by affine
/// relations) and `m.big` (`|y| < 2^16` of `m`: the magnitude `t`, `s` through limbs), the latter
/// feeding a second output.
fn rescale_case() -> Case {
    let mut weights = Weights::default();
    let big = |shape: Vec<usize>, seed: i64| {
        let n: usize = shape.iter().product();
        let values = (0..n as i64).map(|i| ((((i * 7919 + seed * 104_729) % 61) - 30) * 600) as i16).collect();
        WeightTensor { shape, frac_bits: 0, values: WeightValues::I16(values) }
    };
    let ws = [("tok", weight(vec![32, D], 1)), ("w1", big(vec![D, D], 3)), ("w2", weight(vec![D, D], 5))];
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ws.iter().map(|(n, w)| b.weight(*n, w)).collect();
    for (n, w) in ws {
        weights.insert(n, w);
    }
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let er = b.node(Op::Rescale(Rescale { shift: 3 }), &[e], "tok.r", 0).unwrap();
    let m = b.node(Op::MatMul(MatMul { has_bias: false }), &[er, ids[1]], "m", 0).unwrap();
    let mr = b.node(Op::Rescale(Rescale { shift: 18 }), &[m], "m.r", 0).unwrap();
    let mc = b.node(Op::Clamp(Clamp::symmetric(2)), &[mr], "m.c", 0).unwrap();
    let up = b.node(Op::Rescale(Rescale { shift: -2 }), &[mc], "m.up", 0).unwrap();
    let out = b.node(Op::MatMul(MatMul { has_bias: false }), &[up, ids[2]], "out", 0).unwrap();
    let big = b.node(Op::Clamp(Clamp::symmetric(16)), &[m], "m.big", 0).unwrap();
    let out2 = b.node(Op::MatMul(MatMul { has_bias: false }), &[big, ids[2]], "out2", 0).unwrap();
    let graph = b.finish(vec![out, out2]).unwrap();
    let inputs = vec![vec![3, 1, 4, 1, 5, 9, 2, 6]];
    let tensors = inputs.iter().zip(&graph.inputs).map(|(v, &id)| IntTensor::new(graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&graph, &weights, tensors).unwrap();
    Case { graph, weights, inputs, trace }
}

/// A malicious prover: its witness columns are decomposed modulo their ranges and out-of-range
/// values left out of the multiplicities (it never refuses its own trace).
fn prove_forging(c: &Case, trace: &IntTrace, seed: u64) -> Proven {
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &public_of(c)).expect("layout");
    let mut rng = StdRng::seed_from_u64(seed);
    let secrets = ZkSecrets::sample_inner(&layout, &c.graph, &c.weights, trace, false, true, &mut rng).expect("secrets");
    let mut t = ProverTranscript::new(&ds());
    let claims = prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, trace, &c.inputs, &mut t).expect("the prover runs");
    Proven { layout, secrets, proof: t.into_proof(), claims }
}

#[test]
fn rescales_walk_with_their_range_checks() {
    let c = rescale_case();
    let p = prove(&c, &c.trace, 40);
    let claims = verify(&c, &p, &p.proof).expect("an honest proof with Rescales verifies and opens");
    assert_eq!(claims, p.claims);
    let claimed: HashSet<usize> = claims.iter().map(|f| f.poly).collect();
    assert_eq!(claimed.len(), p.layout.polys.len(), "every hidden polynomial is opened");
    let count = |f: &dyn Fn(&HiddenKind) -> bool| p.layout.polys.iter().filter(|h| f(&h.kind)).count();
    assert_eq!(count(&|k| matches!(k, HiddenKind::Column(_))), 4, "tok.r, m.r, m.c, m.big committed");
    assert_eq!(count(&|k| matches!(k, HiddenKind::Remainder(_))), 2);
    assert_eq!(count(&|k| matches!(k, HiddenKind::Aux { .. })), 5, "m.c: s, a, b; m.big: s, t");
    // y: one signed limb each (out_bits + 1 ≤ 16); m.r's r: two limbs (18 bits); m.big's s.
    assert!(count(&|k| matches!(k, HiddenKind::Limb { .. })) >= 6);
    assert_eq!(p.layout.affine.len(), 2, "m.c's gaps");
    assert!(c.trace.get(c.graph.find("m.big").unwrap()).unwrap().data.iter().any(|&v| v.abs() == 65_535), "m.big saturates");
    assert!(count(&|k| matches!(k, HiddenKind::Multiplicities(_))) >= 2);
    // The exact shift has no R mask: its claims pass to m.r's column.
    assert!(p.layout.r_bits(c.graph.find("m.up").unwrap()).is_none());
    // Two runs share no 16-byte window; the same randomness gives the same bytes (control).
    let q = prove(&c, &c.trace, 41);
    // The one public value sent: the zk Clamp's extent indicator `χ(ρ)` (the verifier recomputes
    // it), 1 for m.big's unpadded [8, 32]: windows inside its encoding (≤ 1 non-zero byte) are the
    // same in every run; any other shared window fails.
    let shared: Vec<&[u8]> = windows(&p.proof).intersection(&windows(&q.proof)).copied().collect();
    assert!(shared.iter().all(|w| w.iter().filter(|&&b| b != 0).count() <= 1), "two zk runs share a 16-byte window: {shared:?}");
    assert!(shared.len() <= 18, "{} shared windows", shared.len());
    assert_eq!(p.proof, prove(&c, &c.trace, 40).proof);
    eprintln!("rescale graph: {} hidden polynomials, walk + lookups {} B", p.layout.polys.len(), p.proof.len());
}

#[test]
fn an_out_of_range_rescale_is_refused() {
    let c = rescale_case();
    // y + 1 with r − 2^s (everything downstream recomputed): the Rescale's relation and every
    // sumcheck hold; only the range check sees it. m.r's r goes through limbs: the malicious
    // prover's limbs (r mod 2^18) do not sum to r, refused at the limb relation.
    let trace = perturbed(&c, "m.r", 13, 1);
    let p = prove_forging(&c, &trace, 42);
    let e = verify(&c, &p, &p.proof).expect_err("an out-of-range remainder is refused").to_string();
    assert!(e.contains("limbs do not sum"), "{e}");
    // The control: without the range phase the same proof verifies and opens.
    let layout = ZkLayout::new(&c.graph, &c.inputs).unwrap();
    let mut t = VerifierTranscript::new(&ds(), &p.proof);
    let walk = verify_zk_graph_with(&layout, &c.graph, &c.inputs, &mut t, false).expect("control: the walk alone accepts it");
    p.secrets.open(&p.layout, &walk).expect("control: its claims open");
    // tok.r's r is looked up itself: a malicious prover that commits it reduced into the range
    // breaks the Rescale's relation (refused by the producer's sumcheck); one that commits it as
    // it is cannot prove the lookup (the zk logUp's leaves do not sum to zero).
    let trace = perturbed(&c, "tok.r", 13, 1);
    let p = prove_forging(&c, &trace, 43);
    let e = verify(&c, &p, &p.proof).expect_err("a reduced remainder is refused").to_string();
    eprintln!("tok.r: {e}");
    // The honest prover refuses both traces itself.
    for name in ["tok.r", "m.r"] {
        let trace = perturbed(&c, name, 13, 1);
        let layout = ZkLayout::new(&c.graph, &c.inputs).unwrap();
        let r = ZkSecrets::sample(&layout, &c.graph, &c.weights, &trace, &mut StdRng::seed_from_u64(1));
        assert!(r.unwrap_err().to_string().contains("outside its"), "{name}");
    }
    // A perturbed MatMul feeding a Rescale: its sumcheck refuses.
    let p = prove_forging(&c, &perturbed(&c, "m", 5, 1), 43);
    assert!(verify(&c, &p, &p.proof).is_err());
    // A perturbed Clamp output (either form), downstream recomputed: refused.
    for (name, i) in [("m.c", 13), ("m.big", 40)] {
        let p = prove_forging(&c, &perturbed(&c, name, i, 1), 44);
        let e = verify(&c, &p, &p.proof).expect_err("a perturbed clamp is refused").to_string();
        eprintln!("{name}: {e}");
    }
    // A gap column that is not y − lo (committed off by one where it still is in range): refused
    // at its affine relation; without the range phase (the relations' home) it verifies.
    let layout = ZkLayout::new(&c.graph, &c.inputs).unwrap();
    let mut rng = StdRng::seed_from_u64(45);
    let mut secrets = ZkSecrets::sample(&layout, &c.graph, &c.weights, &c.trace, &mut rng).unwrap();
    let gap = layout.affine[0].col;
    let k = secrets.tables[gap].0.iter().position(|&v| v != F::ZERO && v != F::ONE).unwrap();
    // The multiplicities follow the edited value (the lookups stay honest).
    let v = secrets.tables[gap].0[k];
    let j = (0..1u64 << 16).find(|&j| F::from_u64(j) == v).unwrap() as usize;
    let mult = layout.statements.iter().find(|st| st.columns.contains(&vec![gap])).unwrap().mult;
    secrets.tables[mult].0[j] -= F::ONE;
    secrets.tables[mult].0[j - 1] += F::ONE;
    secrets.tables[gap].0[k] -= F::ONE;
    let mut t = ProverTranscript::new(&ds());
    prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, &c.trace, &c.inputs, &mut t).unwrap();
    let proof = t.into_proof();
    let mut t = VerifierTranscript::new(&ds(), &proof);
    let e = verify_zk_graph(&layout, &c.graph, &c.inputs, &mut t).unwrap_err().to_string();
    assert!(e.contains("affine relation"), "{e}");
    let mut t = VerifierTranscript::new(&ds(), &proof);
    verify_zk_graph_with(&layout, &c.graph, &c.inputs, &mut t, false).expect("control: the walk alone accepts it");
}

/// The full proof: one hiding batch of every hidden polynomial, the walk, the hiding opening.
mod hiding {
    use super::*;
    use zkinfer_pcs::hiding::HidingPcs;

    fn prove_hiding(c: &Case, weights: &Weights, trace: &IntTrace, seed: u64) -> ZkGraphProof {
        prove_zk_graph_hiding(&HidingPcs::default(), &c.graph, weights, trace, &c.inputs, &ds(), &mut StdRng::seed_from_u64(seed)).expect("the prover runs")
    }

    fn verify_hiding(c: &Case, p: &ZkGraphProof) -> Result<(), ProofError> {
        verify_zk_graph_hiding(&HidingPcs::default(), &c.graph, &c.inputs, &ds(), p)
    }

    #[test]
    fn hiding_proofs_verify_share_no_window_and_refuse_tampering() {
        let c = case();
        let a = prove_hiding(&c, &c.weights, &c.trace, 20);
        verify_hiding(&c, &a).expect("an honest hiding proof verifies");
        eprintln!("hiding zk graph proof: {} transcript bytes, {} hidden polynomials", a.transcript.len(), a.commitment.poly_num_vars.len());
        // Two runs share no 16-byte window; the same randomness shares all (control).
        let b = prove_hiding(&c, &c.weights, &c.trace, 21);
        verify_hiding(&c, &b).expect("verifies");
        // The opening's serialisation has public framing (bincode's length prefixes and counts:
        // small little-endian integers, ≥ 10 zero bytes in 16), as in `zkinfer_pcs`'s hiding tests;
        // a window of sent values has that many zero bytes with negligible probability.
        let framing = |w: &&[u8]| w.iter().filter(|&&b| b == 0).count() >= 10;
        let shared: Vec<&[u8]> = windows(&a.transcript).intersection(&windows(&b.transcript)).copied().filter(|w| !framing(w)).collect();
        eprintln!("windows shared by two hiding runs outside the framing: {}", shared.len());
        assert!(shared.is_empty(), "two zk runs share {} 16-byte windows, e.g. {:?}", shared.len(), shared.first());
        assert!(windows(&a.transcript).iter().filter(|w| !framing(w)).count() > 10_000, "the filter keeps the sent values");
        let same = prove_hiding(&c, &c.weights, &c.trace, 20);
        assert_eq!(a.transcript, same.transcript, "control: the same randomness gives the same proof");

        // Tampering: a perturbed node output (downstream recomputed), a flipped byte, a truncation,
        // a commitment of another shape or another run's commitment.
        let p = prove_hiding(&c, &c.weights, &perturbed(&c, "qkv", 70, 1), 22);
        assert!(verify_hiding(&c, &p).is_err(), "a perturbed node output");
        let mut bad = a.clone();
        let len = bad.transcript.len();
        bad.transcript[len / 4] ^= 1;
        assert!(verify_hiding(&c, &bad).is_err(), "a flipped byte");
        assert!(verify_hiding(&c, &ZkGraphProof { commitment: a.commitment.clone(), transcript: a.transcript[..len - 1].to_vec() }).is_err(), "truncated");
        let mut other = a.clone();
        other.commitment.mask_degree_bits[0] += 1;
        assert!(verify_hiding(&c, &other).unwrap_err().to_string().contains("shape"), "another mask degree");
        let mut other = a.clone();
        other.commitment = b.commitment.clone();
        assert!(verify_hiding(&c, &other).is_err(), "another run's commitment");
    }

    /// The Rescales' committed columns with their tied masks (remainder: degree bits of the
    /// input's `R` mask; limb 0: the column's mask minus the others') in the REAL hiding batch.
    #[test]
    fn rescale_hiding_proofs_verify_and_share_no_window() {
        let c = rescale_case();
        let a = prove_hiding(&c, &c.weights, &c.trace, 50);
        verify_hiding(&c, &a).expect("an honest hiding proof with Rescales verifies");
        let b = prove_hiding(&c, &c.weights, &c.trace, 51);
        verify_hiding(&c, &b).expect("verifies");
        let framing = |w: &&[u8]| w.iter().filter(|&&b| b == 0).count() >= 10;
        let shared = windows(&a.transcript).intersection(&windows(&b.transcript)).copied().filter(|w| !framing(w)).count();
        assert_eq!(shared, 0, "two zk runs share 16-byte windows");
        let p = prove_hiding(&c, &c.weights, &perturbed(&c, "m", 9, 1), 52);
        assert!(verify_hiding(&c, &p).is_err(), "a perturbed MatMul under a Rescale");
        eprintln!("rescale graph hiding proof: {} transcript bytes, {} hidden polynomials", a.transcript.len(), a.commitment.poly_num_vars.len());
    }
}

/// The head of a GPT-2 (`head_case`): Embedding, MatMul, rounded Rescale, Clamp (`|y| < 2^15`,
/// GPT-2's before its GELU), GELU (a function table of 2^16 rows), the LM head MatMul (`logits`,
/// a graph output: anchored and committed tied) and the Argmax (`next_token`, the other graph
/// output: PUBLIC, the statement's completion — never committed).
fn head_case() -> Case {
    let mut weights = Weights::default();
    let ws = [("tok", weight(vec![32, D], 1)), ("up.w", weight(vec![64, D], 3)), ("head", weight(vec![40, 64], 7))];
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ws.iter().map(|(n, w)| b.weight(*n, w)).collect();
    for (n, w) in ws {
        weights.insert(n, w);
    }
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let m = b.node(Op::MatMul(MatMul { has_bias: false }), &[e, ids[1]], "up", 0).unwrap();
    let mr = b.node(Op::Rescale(Rescale { shift: 2 }), &[m], "up.r", 0).unwrap();
    let mc = b.node(Op::Clamp(Clamp::symmetric(15)), &[mr], "up.c", 0).unwrap();
    let g = b.node(Op::Gelu(zkinfer_graph::ops::gelu::Gelu::new(10, 12)), &[mc], "gelu", 12).unwrap();
    let logits = b.node(Op::MatMul(MatMul { has_bias: false }), &[g, ids[2]], "logits", 0).unwrap();
    let next = b.node(Op::Argmax(zkinfer_graph::ops::argmax::Argmax), &[logits], "next_token", 0).unwrap();
    let graph = b.finish(vec![logits, next]).unwrap();
    let inputs = vec![vec![3, 1, 4, 1, 5, 9, 2, 6]];
    let tensors = inputs.iter().zip(&graph.inputs).map(|(v, &id)| IntTensor::new(graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&graph, &weights, tensors).unwrap();
    Case { graph, weights, inputs, trace }
}

/// Two runs' shared 16-byte windows outside public values (the zk Clamp's `χ(ρ)`: ≤ 1 non-zero
/// byte per window, as in `rescales_walk_with_their_range_checks`).
fn shared_secret_windows(a: &[u8], b: &[u8]) -> usize {
    windows(a).intersection(&windows(b)).filter(|w| w.iter().filter(|&&x| x != 0).count() > 1).count()
}

#[test]
fn argmax_and_gelu_walk_with_their_lookups() {
    let c = head_case();
    let p = prove(&c, &c.trace, 60);
    let claims = verify(&c, &p, &p.proof).expect("an honest proof with an Argmax and a GELU verifies and opens");
    assert_eq!(claims, p.claims);
    let claimed: HashSet<usize> = claims.iter().map(|f| f.poly).collect();
    assert_eq!(claimed.len(), p.layout.polys.len(), "every hidden polynomial is opened");
    let next = c.graph.find("next_token").unwrap();
    // The ids are public: no column, no anchor; their R table is the gaps' output mask.
    assert!(p.layout.column_poly[next.0].is_none() && p.layout.claims[next.0] == 0);
    assert!(p.layout.r_bits(next).is_some());
    // The logits: the anchor and the Argmax's two claims (merged).
    assert_eq!(p.layout.claims[c.graph.find("logits").unwrap().0], 3);
    let gaps = p.layout.polys.iter().filter(|h| matches!(h.kind, HiddenKind::Aux { node, .. } if matches!(c.graph.nodes[node].op, Op::Argmax(_)))).count();
    assert_eq!(gaps, 1);
    assert!(p.layout.statements.iter().any(|s| matches!(s.table, zkinfer_lookup::Table::Function(_)) && s.columns.len() == 1 && s.columns[0].len() == 2), "(x, y) looked up in the GELU table");
    let ids = &c.trace.get(next).unwrap().data;
    assert!(ids.iter().collect::<HashSet<_>>().len() > 1, "the fixture's completion is not constant: {ids:?}");
    // Two runs share no 16-byte window outside public values; the same randomness, all (control).
    let q = prove(&c, &c.trace, 61);
    assert_eq!(shared_secret_windows(&p.proof, &q.proof), 0, "two zk runs share a 16-byte window");
    assert_eq!(p.proof, prove(&c, &c.trace, 60).proof);
    eprintln!("head graph: {} hidden polynomials, walk + lookups {} B", p.layout.polys.len(), p.proof.len());
}

/// A proof for other next-token ids is refused: checked against another completion, and a
/// malicious prover that claims a non-maximal id (its negative gaps committed reduced modulo their
/// range) is refused at the gaps' limb relation. Control: with the range phase skipped its proof
/// verifies and opens — the range check is what binds the completion.
#[test]
fn another_completion_is_refused() {
    let c = head_case();
    let p = prove(&c, &c.trace, 62);
    let mut other = public_of(&c);
    let logits = c.trace.get(c.graph.find("logits").unwrap()).unwrap().data.clone();
    // Row 3's id moved to a smaller logit (a false argmax).
    let row = &logits[3 * 40..4 * 40];
    let a = other[0].1[3];
    let wrong = (0..40).find(|&j| row[j as usize] < row[a as usize]).unwrap();
    other[0].1[3] = wrong;
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &other).unwrap();
    let mut t = VerifierTranscript::new(&ds(), &p.proof);
    let r = verify_zk_graph(&layout, &c.graph, &c.inputs, &mut t).and_then(|cl| p.secrets.open(&p.layout, &cl));
    eprintln!("the honest proof checked against another completion: {}", r.as_ref().unwrap_err());
    assert!(r.is_err(), "an honest proof passes for another completion");
    // The honest prover refuses the false statement itself.
    let e = ZkSecrets::sample(&layout, &c.graph, &c.weights, &c.trace, &mut StdRng::seed_from_u64(1)).unwrap_err().to_string();
    assert!(e.contains("outside its"), "{e}");
    // A malicious prover for the false completion.
    let secrets = ZkSecrets::sample_inner(&layout, &c.graph, &c.weights, &c.trace, false, true, &mut StdRng::seed_from_u64(63)).unwrap();
    let mut t = ProverTranscript::new(&ds());
    prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, &c.trace, &c.inputs, &mut t).expect("the forger runs");
    let proof = t.into_proof();
    let mut t = VerifierTranscript::new(&ds(), &proof);
    let e = verify_zk_graph(&layout, &c.graph, &c.inputs, &mut t).and_then(|cl| secrets.open(&layout, &cl)).unwrap_err().to_string();
    assert!(e.contains("limbs do not sum"), "{e}");
    let mut t = VerifierTranscript::new(&ds(), &proof);
    let walk = verify_zk_graph_with(&layout, &c.graph, &c.inputs, &mut t, false).expect("control: the walk alone accepts the false completion");
    secrets.open(&layout, &walk).expect("control: its claims open");
    // Without the public ids the Argmax is refused, naming it; ids of the wrong count too.
    let e = ZkLayout::new(&c.graph, &c.inputs).unwrap_err().to_string();
    assert!(e.contains("Argmax") && e.contains("public output"), "{e}");
    let mut short = public_of(&c);
    short[0].1.pop();
    assert!(ZkLayout::with_public_outputs(&c.graph, &c.inputs, &short).is_err());
    let logits_id = c.graph.find("logits").unwrap();
    assert!(ZkLayout::with_public_outputs(&c.graph, &c.inputs, &[(logits_id, vec![0; T * 40])]).is_err(), "only an Argmax output is public");
}

/// A perturbed GELU output (downstream recomputed: logits, ids): its row `(x, y)` is not in the
/// table, and a forger that leaves it out of the multiplicities cannot even run the zk logUp (its
/// leaves do not sum to zero: the lookup's own soundness, `zkinfer_lookup::zk_logup`'s tests); the
/// statement looks up exactly the input's committed column and the output's. The perturbed logits
/// and the Clamp under the GELU are refused by the walk. A gap column one entry off (in range, its
/// limb and multiplicities following) is refused by the Argmax's sumcheck. Control: the honest
/// gap column verifies (`argmax_and_gelu_walk_with_their_lookups`).
#[test]
fn a_perturbed_gelu_argmax_or_logits_is_refused() {
    let c = head_case();
    let trace = perturbed(&c, "gelu", 37, 1);
    let forged = Case { graph: c.graph.clone(), weights: c.weights.clone(), inputs: c.inputs.clone(), trace: trace.clone() };
    let layout = ZkLayout::with_public_outputs(&forged.graph, &forged.inputs, &public_of(&forged)).unwrap();
    let secrets = ZkSecrets::sample_inner(&layout, &forged.graph, &forged.weights, &trace, false, true, &mut StdRng::seed_from_u64(64)).unwrap();
    let mut t = ProverTranscript::new(&ds());
    let e = prove_zk_graph(&layout, &secrets, &forged.graph, &forged.weights, &trace, &forged.inputs, &mut t).unwrap_err().to_string();
    assert!(e.contains("leaves do not sum"), "{e}");
    let honest = ZkSecrets::sample(&layout, &forged.graph, &forged.weights, &trace, &mut StdRng::seed_from_u64(64)).unwrap_err().to_string();
    assert!(honest.contains("is not in its table"), "{honest}");
    let st = layout.statements.iter().find(|s| matches!(s.table, zkinfer_lookup::Table::Function(_))).unwrap();
    let col = |name: &str| layout.committed(c.graph.find(name).unwrap()).unwrap();
    assert_eq!(st.columns, vec![vec![col("up.c"), col("gelu")]]);
    for (name, i) in [("logits", 5), ("up.c", 11)] {
        let trace = perturbed(&c, name, i, 1);
        let forged = Case { graph: c.graph.clone(), weights: c.weights.clone(), inputs: c.inputs.clone(), trace: trace.clone() };
        let p = prove_forging(&forged, &trace, 65);
        let e = verify(&forged, &p, &p.proof).expect_err("refused").to_string();
        eprintln!("{name}: {e}");
    }
    // The gap column one entry off (in range), multiplicities following: the Argmax refuses.
    let layout = ZkLayout::with_public_outputs(&c.graph, &c.inputs, &public_of(&c)).unwrap();
    let mut secrets = ZkSecrets::sample(&layout, &c.graph, &c.weights, &c.trace, &mut StdRng::seed_from_u64(66)).unwrap();
    let n = c.graph.nodes.iter().position(|n| matches!(n.op, Op::Argmax(_))).unwrap();
    let gap = layout.aux[n][0];
    let k = secrets.tables[gap].0.iter().position(|&v| v != F::ZERO).unwrap();
    secrets.tables[gap].0[k] += F::ONE;
    // Limbs recomputed so the limb relation holds (limb 0 + 1, no carry at this entry).
    let rc = layout.ranges.iter().find(|rc| rc.col == gap).unwrap();
    let (l0, _) = rc.limbs[0];
    assert!(secrets.tables[l0].0[k] != F::from_u64(65_535));
    let v0 = secrets.tables[l0].0[k];
    let j = (0..1u64 << 16).find(|&j| F::from_u64(j) == v0).unwrap() as usize;
    secrets.tables[l0].0[k] += F::ONE;
    let mult = layout.statements.iter().find(|st| st.columns.contains(&vec![l0])).unwrap().mult;
    secrets.tables[mult].0[j] -= F::ONE;
    secrets.tables[mult].0[j + 1] += F::ONE;
    let mut t = ProverTranscript::new(&ds());
    prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, &c.trace, &c.inputs, &mut t).unwrap();
    let proof = t.into_proof();
    let mut t = VerifierTranscript::new(&ds(), &proof);
    let e = verify_zk_graph(&layout, &c.graph, &c.inputs, &mut t).and_then(|cl| secrets.open(&layout, &cl)).unwrap_err().to_string();
    eprintln!("gap: {e}");
}
