//! The zk graph driver's causal Softmax on a small attention graph: token embedding, one QKV
//! MatMul, three SliceCols, SplitHeads (4 heads of 8, 8 positions: the zk BatchedMatMul's
//! `≥ 5` head and inner variables), the scores `Q·Kᵀ` (BatchedMatMul), a rounded Rescale to the
//! softmax's input scale, the causal Softmax, `P·V` (BatchedMatMul), a Rescale, MergeHeads and an
//! output MatMul; and a smaller one with 2 heads whose probabilities go to MergeHeads (the
//! scores' rows `[2, 8]` have 4 variables: the zk softmax pads the heads to 4). Honest proofs
//! verify (ideal opening and the real hiding batch); two runs share no 16-byte window; a
//! malicious prover perturbing the output (downstream recomputed) or one of the committed columns
//! is refused — the range phase's control shown (skipped: the perturbed output verifies).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_graph::graph::{GraphBuilder, TensorId, Weights, execute};
use zkinfer_graph::ops::Op;
use zkinfer_graph::ops::Operand;
use zkinfer_graph::ops::batched_matmul::BatchedMatMul;
use zkinfer_graph::ops::embedding::Embedding;
use zkinfer_graph::ops::heads::{MergeHeads, SplitHeads};
use zkinfer_graph::ops::matmul::MatMul;
use zkinfer_graph::ops::rescale::Rescale;
use zkinfer_graph::ops::slice::SliceCols;
use zkinfer_graph::ops::softmax::{CausalSoftmax, exp_table};
use zkinfer_graph::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_transcript::DomainSeparator;

use super::super::*;
use super::{COLS, TAMPER};

const T: usize = 8;
const DM: usize = 32;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/zk-graph-softmax-test", 1)
}

fn weight(shape: Vec<usize>, seed: i64) -> WeightTensor {
    let n: usize = shape.iter().product();
    let values = (0..n as i64).map(|i| (((i * 7919 + seed * 104_729) % 61) - 30) as i16).collect();
    WeightTensor { shape, frac_bits: 0, values: WeightValues::I16(values) }
}

struct Case {
    graph: Graph,
    weights: Weights,
    inputs: Vec<Vec<i64>>,
    trace: IntTrace,
}

/// `heads` heads of `DM / heads`; `pv`: the attention (`P·V`, Rescale, MergeHeads, MatMul), else
/// the probabilities merged (MergeHeads) as the graph's output.
fn case(heads: usize, pv: bool) -> Case {
    let mut weights = Weights::default();
    let ws = [("tok", weight(vec![32, DM], 1)), ("qkv.w", weight(vec![3 * DM, DM], 3)), ("out.w", weight(vec![DM, DM], 5))];
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ws.iter().map(|(n, w)| b.weight(*n, w)).collect();
    for (n, w) in ws {
        weights.insert(n, w);
    }
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let qkv = b.node(Op::MatMul(MatMul { has_bias: false }), &[e, ids[1]], "qkv", 0).unwrap();
    let part = |b: &mut GraphBuilder, k: usize, name: &str| {
        let s = b.node(Op::SliceCols(SliceCols { start: k * DM, len: DM }), &[qkv], name, 0).unwrap();
        b.node(Op::SplitHeads(SplitHeads { heads }), &[s], format!("{name}.heads"), 0).unwrap()
    };
    let (qh, kh, vh) = (part(&mut b, 0, "q"), part(&mut b, 1, "k"), part(&mut b, 2, "v"));
    let scores = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: true }), &[qh, kh], "scores", 0).unwrap();
    // Scores up to ~2^27 here: shifted to ±2^13 at the softmax's input scale 2^-12 (differences
    // up to ~2^14, some past 16·2^12, so the exp table's far rows and zeros are used).
    let scaled = b.node(Op::Rescale(Rescale { shift: 14 }), &[scores], "scores.scaled", 12).unwrap();
    let sm = CausalSoftmax::new(0, 12, 20, 16, exp_table(12, 20));
    let probs = b.node(Op::Softmax(sm), &[scaled], "probs", 16).unwrap();
    let out = if pv {
        let ctx = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: false }), &[probs, vh], "ctx.acc", 16).unwrap();
        let ctx = b.node(Op::Rescale(Rescale { shift: 16 }), &[ctx], "ctx.heads", 0).unwrap();
        let ctx = b.node(Op::MergeHeads(MergeHeads), &[ctx], "ctx", 0).unwrap();
        b.node(Op::MatMul(MatMul { has_bias: false }), &[ctx, ids[2]], "out", 0).unwrap()
    } else {
        b.node(Op::MergeHeads(MergeHeads), &[probs], "probs.merged", 16).unwrap()
    };
    let graph = b.finish(vec![out]).unwrap();
    let inputs = vec![vec![3, 1, 4, 1, 5, 9, 2, 6]];
    let tensors = inputs.iter().zip(&graph.inputs).map(|(v, &id)| IntTensor::new(graph.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    let trace = execute(&graph, &weights, tensors).unwrap();
    Case { graph, weights, inputs, trace }
}

fn shared_case() -> &'static Case {
    static CASE: std::sync::OnceLock<Case> = std::sync::OnceLock::new();
    CASE.get_or_init(|| case(4, true))
}

struct Proven {
    layout: ZkLayout,
    secrets: ZkSecrets,
    proof: Vec<u8>,
    claims: Vec<FinalClaim>,
}

/// Proves with the ideal opening's stand-in (nothing absorbed); `forging`: a malicious prover
/// that never refuses its own witness (out-of-range values decomposed modulo their ranges).
fn prove(c: &Case, trace: &IntTrace, seed: u64, forging: bool) -> Proven {
    let layout = ZkLayout::new(&c.graph, &c.inputs).expect("layout");
    let mut rng = StdRng::seed_from_u64(seed);
    let secrets = ZkSecrets::sample_inner(&layout, &c.graph, &c.weights, trace, false, forging, &mut rng).expect("secrets");
    let mut t = ProverTranscript::new(&ds());
    let claims = prove_zk_graph(&layout, &secrets, &c.graph, &c.weights, trace, &c.inputs, &mut t).expect("the prover runs");
    Proven { layout, secrets, proof: t.into_proof(), claims }
}

/// Verifies and opens every claim ideally; `ranges = false`: the control without the range phase.
fn verify(c: &Case, p: &Proven, ranges: bool) -> Result<Vec<FinalClaim>, ProofError> {
    let layout = ZkLayout::new(&c.graph, &c.inputs)?;
    let mut t = VerifierTranscript::new(&ds(), &p.proof);
    let claims = verify_zk_graph_with(&layout, &c.graph, &c.inputs, &mut t, ranges)?;
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
        trace.values[node.output.0] = Some(node.op.as_int_op().eval_int(&ops).unwrap());
    }
    trace
}

fn windows(p: &[u8]) -> HashSet<&[u8]> {
    p.windows(16).collect()
}

fn softmax_node(c: &Case) -> usize {
    c.graph.nodes.iter().position(|n| matches!(n.op, Op::Softmax(_))).unwrap()
}

#[test]
fn attention_walks_with_its_softmax_and_hides() {
    let c = shared_case();
    let p = prove(c, &c.trace, 1, false);
    let claims = verify(c, &p, true).expect("an honest attention proof verifies and opens");
    assert_eq!(claims, p.claims, "both sides end with the same claims");
    let claimed: HashSet<usize> = claims.iter().map(|f| f.poly).collect();
    assert_eq!(claimed.len(), p.layout.polys.len(), "every hidden polynomial is opened");
    let n = softmax_node(c);
    let Some(Wiring::Softmax(s)) = &p.layout.wiring[n] else { panic!("the softmax is wired") };
    assert_eq!((s.shape.head_vars, s.shape.pad_vars()), (2, 0), "4 heads × 8 rows: 5 row variables");
    let cols = p.layout.polys.iter().filter(|h| matches!(h.kind, HiddenKind::NodeColumn { node, .. } if node == n)).count();
    assert_eq!(cols, COLS.len());
    // The exp lookups form one function-table statement beside the range tables.
    assert_eq!(p.layout.statements.iter().filter(|st| matches!(st.table, zkinfer_lookup::Table::Function(_))).count(), 1);
    // The probabilities are committed (the consumer's claims and the softmax's are final).
    let probs = c.graph.find("probs").unwrap();
    assert!(matches!(p.layout.polys[p.layout.column_poly[probs.0].unwrap()].kind, HiddenKind::Column(t) if t == probs));
    // Two runs share no 16-byte window; the same randomness gives the same bytes (control).
    let q = prove(c, &c.trace, 2, false);
    assert_eq!(p.proof.len(), q.proof.len(), "the length is public");
    // The public values the zk softmax sends (the verifier recomputes them) include the extent
    // `χ(ρ)`, 1 for the unpadded `[4, 8, 8]` in every run: windows inside its encoding (≤ 1
    // non-zero byte) are shared; any other shared window fails.
    let shared: Vec<&[u8]> = windows(&p.proof).intersection(&windows(&q.proof)).copied().collect();
    assert!(shared.iter().all(|w| w.iter().filter(|&&b| b != 0).count() <= 1), "two zk runs share a 16-byte window: {shared:?}");
    assert!(shared.len() <= 18, "{} shared windows", shared.len());
    assert_eq!(p.proof, prove(c, &c.trace, 1, false).proof, "control: the same randomness");
    eprintln!("attention graph: {} hidden polynomials, walk + lookups {} B", p.layout.polys.len(), p.proof.len());
}

/// Two heads of 8 positions: the zk softmax pads the heads to 4 (module docs of
/// `crate::zk_softmax`); the scores' and the probabilities' claims are unpadded. Honest: verifies;
/// a perturbed probability (downstream recomputed) is refused; perturbed scores too.
#[test]
fn a_softmax_with_padded_heads_walks() {
    let c = case(2, false);
    let p = prove(&c, &c.trace, 40, false);
    let claims = verify(&c, &p, true).expect("an honest padded softmax verifies and opens");
    assert_eq!(claims, p.claims);
    let Some(Wiring::Softmax(s)) = &p.layout.wiring[softmax_node(&c)] else { panic!("the softmax is wired") };
    assert_eq!((s.shape.head_vars, s.shape.pad_vars()), (2, 1), "2 heads × 8 rows padded to 4 heads");
    let at = (T + 5) * T + 1;
    let p = prove(&c, &perturbed(&c, "probs", at, 1), 41, true);
    let e = verify(&c, &p, true).expect_err("a perturbed output is refused").to_string();
    assert!(e.contains("limbs do not sum"), "{e}");
    // Scores one off (the Rescale's output, everything after recomputed): the Rescale's range
    // checks or the softmax refuse.
    let p = prove(&c, &perturbed(&c, "scores.scaled", at, 1), 42, true);
    assert!(verify(&c, &p, true).is_err(), "perturbed scores");
}

/// A malicious prover that commits and proves with an edited witness column of the softmax
/// (`COLS` order; limbs and multiplicities follow the edit): refused.
fn tampered(c: &Case, seed: u64, edit: impl Fn(&mut [Vec<i64>]) + 'static) -> Result<Vec<FinalClaim>, ProofError> {
    let n = softmax_node(c);
    TAMPER.with(|t| *t.borrow_mut() = Some(Box::new(move |node, cols| if node == n { edit(cols) })));
    let p = prove(c, &c.trace, seed, true);
    TAMPER.with(|t| *t.borrow_mut() = None);
    verify(c, &p, true)
}

#[test]
fn a_perturbed_softmax_is_refused() {
    let c = shared_case();
    let probs = c.graph.find("probs").unwrap();
    let pv = &c.trace.get(probs).unwrap().data;
    // An allowed entry with 0 < p: (head 1, row 5, key 2).
    let at = (T + 5) * T + 2;
    eprintln!("probabilities of head 1, row 5: {:?}", &pv[(T + 5) * T..(T + 6) * T]);
    assert!(pv[at] > 0);
    // p ± 1 with everything downstream recomputed: e·2^P = p·Z + r then needs r − Z < 0 or
    // c = Z − 1 − r < 0 (r + Z): only the range checks see it (the malicious prover decomposes
    // them modulo their range: its limbs do not sum to them).
    for delta in [1, -1] {
        let trace = perturbed(c, "probs", at, delta);
        let layout = ZkLayout::new(&c.graph, &c.inputs).unwrap();
        let honest = ZkSecrets::sample(&layout, &c.graph, &c.weights, &trace, &mut StdRng::seed_from_u64(3));
        assert!(honest.unwrap_err().to_string().contains("outside its"), "the honest prover refuses its own trace");
        let p = prove(c, &trace, 3, true);
        let e = verify(c, &p, true).expect_err("a perturbed output is refused").to_string();
        eprintln!("p {delta:+}: {e}");
        assert!(e.contains("limbs do not sum"), "{e}");
        // The control: without the range phase the same proof verifies and opens.
        verify(c, &p, false).expect("control: the walk alone accepts it");
    }
    // Edited witness columns (index in COLS: m 0, s 1, δ 2, o 3, e 4, Z 5, r 6, c 7), each
    // in its range: the zk softmax's sumcheck refuses.
    let n = softmax_node(c);
    let Some(Wiring::Softmax(s)) = &ZkLayout::new(&c.graph, &c.inputs).unwrap().wiring[n] else { panic!() };
    let d = s.shape.dims().unwrap();
    let (rv, kv) = (d.row_vars(), d.len_vars());
    let row = (1 << rv) | 5;
    let cube = move |j: usize| (row << kv) | j;
    let table = exp_table(12, 20);
    let cases: Vec<(&str, Box<dyn Fn(&mut [Vec<i64>])>)> = vec![
        ("max + 1", Box::new(move |cols: &mut [Vec<i64>]| cols[0][row] += 1)),
        ("max − 1", Box::new(move |cols: &mut [Vec<i64>]| cols[0][row] -= 1)),
        (
            "one-hot moved to another key",
            Box::new(move |cols: &mut [Vec<i64>]| {
                let star = (0..=5).find(|&j| cols[1][cube(j)] == 1).unwrap();
                cols[1][cube(star)] = 0;
                cols[1][cube((star + 1) % 6)] = 1;
            }),
        ),
        (
            "(δ, e) moved to the next table row",
            Box::new(move |cols: &mut [Vec<i64>]| {
                let dl = cols[2][cube(2)];
                cols[2][cube(2)] = dl + 1;
                cols[4][cube(2)] = table[(dl + 1) as usize];
            }),
        ),
        ("sum + 1", Box::new(move |cols: &mut [Vec<i64>]| cols[5][row] += 1)),
        ("remainder + 1", Box::new(move |cols: &mut [Vec<i64>]| cols[6][cube(2)] += 1)),
        ("slack + 1", Box::new(move |cols: &mut [Vec<i64>]| cols[7][cube(2)] += 1)),
    ];
    for (i, (what, edit)) in cases.into_iter().enumerate() {
        let e = tampered(c, 10 + i as u64, edit).expect_err(what).to_string();
        eprintln!("{what}: {e}");
        assert!(e.contains("CausalSoftmax (zk)"), "{what}: {e}");
    }
    // The control of the tamper hook: an edit that changes nothing verifies.
    tampered(c, 20, move |cols: &mut [Vec<i64>]| cols[0][row] += 0).expect("control: an unedited witness verifies");
}

/// The real hiding batch: commitment, walk, hiding opening; a flipped byte is refused.
#[test]
fn attention_hiding_proofs_verify_and_share_no_window() {
    use zkinfer_pcs::hiding::HidingPcs;
    let c = shared_case();
    let prove_hiding = |trace: &IntTrace, seed: u64| prove_zk_graph_hiding(&HidingPcs::default(), &c.graph, &c.weights, trace, &c.inputs, &ds(), &mut StdRng::seed_from_u64(seed)).expect("the prover runs");
    let verify_hiding = |p: &ZkGraphProof| verify_zk_graph_hiding(&HidingPcs::default(), &c.graph, &c.inputs, &ds(), p);
    let a = prove_hiding(&c.trace, 30);
    verify_hiding(&a).expect("an honest hiding proof verifies");
    let b = prove_hiding(&c.trace, 31);
    verify_hiding(&b).expect("verifies");
    // Bincode's public framing (≥ 10 zero bytes in 16) aside, no window is shared.
    let framing = |w: &&[u8]| w.iter().filter(|&&b| b == 0).count() >= 10;
    let shared = windows(&a.transcript).intersection(&windows(&b.transcript)).copied().filter(|w| !framing(w)).count();
    assert_eq!(shared, 0, "two zk runs share 16-byte windows");
    let mut bad = a.clone();
    let len = bad.transcript.len();
    bad.transcript[len / 3] ^= 1;
    assert!(verify_hiding(&bad).is_err(), "a flipped byte");
    eprintln!("attention graph hiding proof: {} transcript bytes, {} hidden polynomials", a.transcript.len(), a.commitment.poly_num_vars.len());
}
