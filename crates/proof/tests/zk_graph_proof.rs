//! The zk graph proof with its weights on a zk key's ticket (issue 13, `prove --zk`'s core:
//! `zkinfer_proof::zk::prove_zk_graph_on_ticket`, `zkinfer_verifier::zk_proof::verify_zk_graph_on_ticket`)
//! on a linear graph of every wired op kind (the zk graph driver's test graph: token and position
//! embeddings, their sum, a biased QKV MatMul claimed twice, SliceCols, SplitHeads, MergeHeads,
//! BatchedMatMul, RepeatKv, Mul, a residual Add, an output MatMul, GatherRows), its weights
//! committed by a hiding weight key of three tickets (setup ticket 0, proof tickets 1 and 2).
//!
//! Checked, each refusal beside an honest control that verifies: the honest proof verifies on its
//! ticket and not on another ticket, the setup ticket or another key's; a claim routed to another
//! weight of the same shape (the key's names of `tok` and `pos` exchanged) is refused; a proof of
//! other public inputs (another prompt token, another predicted row) is refused; a walk on other
//! weights than the key's is refused; a flipped byte at positions spread over the whole
//! transcript and a truncation are refused; two proofs of one statement share no 16-byte window
//! outside framing (the same randomness gives the same bytes: the control).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;
use std::sync::OnceLock;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_model::graph::{Graph, GraphBuilder, IntTrace, TensorId, Weights, execute};
use zkinfer_model::ops::Op;
use zkinfer_model::ops::add::Add;
use zkinfer_model::ops::batched_matmul::BatchedMatMul;
use zkinfer_model::ops::embedding::Embedding;
use zkinfer_model::ops::gather::GatherRows;
use zkinfer_model::ops::heads::{MergeHeads, SplitHeads};
use zkinfer_model::ops::matmul::MatMul;
use zkinfer_model::ops::mul::Mul;
use zkinfer_model::ops::repeat_kv::RepeatKv;
use zkinfer_model::ops::slice::SliceCols;
use zkinfer_model::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::{HidingKey, KeyBudget, KeySecret};
use zkinfer_proof::zk::{prove_zk_graph_on_ticket, zk_weight_tables};
use zkinfer_transcript::DomainSeparator;
use zkinfer_verifier::key::WeightMeta;
use zkinfer_verifier::zk_proof::verify_zk_graph_on_ticket;

const T: usize = 8;
const D: usize = 32;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-test/zk-graph-proof", 1)
}

fn weight(shape: Vec<usize>, seed: i64) -> WeightTensor {
    let n: usize = shape.iter().product();
    let values = (0..n as i64).map(|i| ((i * 7919 + seed * 104_729) % 61) - 30);
    let values = if shape.len() == 1 { WeightValues::I64(values.collect()) } else { WeightValues::I16(values.map(|v| v as i16).collect()) };
    WeightTensor { shape, frac_bits: 0, values }
}

fn weights(seed: i64) -> Weights {
    let mut w = Weights::default();
    for (k, (n, shape)) in [("tok", vec![32, D]), ("pos", vec![32, D]), ("qkv.w", vec![3 * D, D]), ("qkv.b", vec![3 * D]), ("out.w", vec![D, D]), ("out.b", vec![D])].into_iter().enumerate() {
        w.insert(n, weight(shape, seed + k as i64));
    }
    w
}

fn graph(w: &Weights) -> Graph {
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let positions = b.input("positions", vec![T], 0, 8);
    let rows = b.input("out_rows", vec![2], 0, 8);
    let ids: Vec<TensorId> = ["tok", "pos", "qkv.w", "qkv.b", "out.w", "out.b"].iter().map(|n| b.weight(*n, w.get(n).unwrap())).collect();
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
    b.finish(vec![last, scores, kr, prod]).unwrap()
}

fn inputs() -> Vec<Vec<i64>> {
    vec![vec![3, 1, 4, 1, 5, 9, 2, 6], (0..T as i64).collect(), vec![2, 7]]
}

fn trace(g: &Graph, w: &Weights, inputs: &[Vec<i64>]) -> IntTrace {
    let tensors = inputs.iter().zip(&g.inputs).map(|(v, &id)| IntTensor::new(g.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    execute(g, w, tensors).unwrap()
}

/// A hiding weight key over `w` (setup ticket 0, proof tickets 1 and 2) and its secret.
fn key(w: &Weights, secret: u8) -> (HidingKey, KeySecret, Vec<WeightMeta>) {
    let (metas, tables) = zk_weight_tables(w).unwrap();
    let refs: Vec<&[zkinfer_field::F]> = tables.iter().map(Vec::as_slice).collect();
    let s = KeySecret([secret; 32]);
    let hk = HidingKey::setup(&HidingPcs::default(), &refs, KeyBudget { tickets: 3, points_per_ticket: 16 }, &s).unwrap();
    (hk, s, metas)
}

struct Fixture {
    w: Weights,
    g: Graph,
    hk: HidingKey,
    secret: KeySecret,
    metas: Vec<WeightMeta>,
    /// Another key's weight key over the same weights.
    hk2: HidingKey,
    /// Honest proofs on ticket 1 (seeds 1 and 2) and ticket 2.
    p1: Vec<u8>,
    p1b: Vec<u8>,
    p2: Vec<u8>,
}

fn prove_on(f_w: &Weights, g: &Graph, hk: &HidingKey, secret: &KeySecret, key_w: &Weights, ticket: usize, trace: &IntTrace, inputs: &[Vec<i64>], seed: u64) -> Result<Vec<u8>, String> {
    let (metas, tables) = zk_weight_tables(key_w).unwrap();
    let refs: Vec<&[zkinfer_field::F]> = tables.iter().map(Vec::as_slice).collect();
    let data = hk.ticket(&HidingPcs::default(), &refs, secret, ticket).unwrap();
    prove_zk_graph_on_ticket(hk, &metas, data, g, f_w, trace, inputs, &[], &ds(), &mut StdRng::seed_from_u64(seed)).map_err(|e| e.to_string())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let w = weights(1);
        let g = graph(&w);
        let (hk, secret, metas) = key(&w, 7);
        let (hk2, _, _) = key(&w, 8);
        let tr = trace(&g, &w, &inputs());
        let p1 = prove_on(&w, &g, &hk, &secret, &w, 1, &tr, &inputs(), 1).expect("honest prover");
        let p1b = prove_on(&w, &g, &hk, &secret, &w, 1, &tr, &inputs(), 2).expect("honest prover");
        let p2 = prove_on(&w, &g, &hk, &secret, &w, 2, &tr, &inputs(), 3).expect("honest prover");
        Fixture { w, g, hk, secret, metas, hk2, p1, p1b, p2 }
    })
}

fn verify(f: &Fixture, hk: &HidingKey, metas: &[WeightMeta], ticket: usize, inputs: &[Vec<i64>], proof: &[u8]) -> Result<(), String> {
    verify_zk_graph_on_ticket(hk, metas, ticket, &f.g, inputs, &[], &ds(), proof).map_err(|e| e.to_string())
}

#[test]
fn honest_proofs_verify_on_their_ticket_only() {
    let f = fixture();
    eprintln!("zk graph proof on a ticket: {} bytes", f.p1.len());
    verify(f, &f.hk, &f.metas, 1, &inputs(), &f.p1).expect("honest proof, ticket 1");
    verify(f, &f.hk, &f.metas, 1, &inputs(), &f.p1b).expect("honest proof, ticket 1, other randomness");
    verify(f, &f.hk, &f.metas, 2, &inputs(), &f.p2).expect("honest proof, ticket 2");
    // Another ticket of the same key, the setup ticket, a ticket past the key, another key.
    assert!(verify(f, &f.hk, &f.metas, 2, &inputs(), &f.p1).is_err(), "a ticket-1 proof on ticket 2");
    assert!(verify(f, &f.hk, &f.metas, 1, &inputs(), &f.p2).is_err(), "a ticket-2 proof on ticket 1");
    let e = verify(f, &f.hk, &f.metas, 0, &inputs(), &f.p1).unwrap_err();
    assert!(e.contains("reserved for the setup proof"), "{e}");
    assert!(verify(f, &f.hk, &f.metas, 3, &inputs(), &f.p1).is_err(), "a ticket past the key");
    assert!(verify(f, &f.hk2, &f.metas, 1, &inputs(), &f.p1).is_err(), "another key's commitment");
    // The prover refuses the setup ticket's data too? It opens what it is given: the verifier's
    // refusal above is the guard. A proof made on another key's ticket fails on this key.
    let w = &f.w;
    let (hk3, s3, _) = key(w, 9);
    let other = prove_on(w, &f.g, &hk3, &s3, w, 1, &trace(&f.g, w, &inputs()), &inputs(), 4).unwrap();
    verify(f, &hk3, &f.metas, 1, &inputs(), &other).expect("control: verifies on its own key");
    assert!(verify(f, &f.hk, &f.metas, 1, &inputs(), &other).is_err(), "a proof on another key's ticket");
}

#[test]
fn claims_on_another_weight_other_inputs_or_other_weights_are_refused() {
    let f = fixture();
    // The key's weight list with `tok` and `pos` (same shape) exchanged: every claim on one goes
    // to the other's polynomial. Control: the list as it is verifies.
    let mut swapped = f.metas.clone();
    let (a, b) = (swapped.iter().position(|m| m.name == "tok").unwrap(), swapped.iter().position(|m| m.name == "pos").unwrap());
    swapped[a].name = "pos".into();
    swapped[b].name = "tok".into();
    verify(f, &f.hk, &f.metas, 1, &inputs(), &f.p1).expect("control");
    assert!(verify(f, &f.hk, &swapped, 1, &inputs(), &f.p1).is_err(), "weight claims routed to another weight");
    // Other public inputs: another prompt token, another predicted row, a shorter list.
    for (i, j, v) in [(0usize, 0usize, 2i64), (2, 1, 6)] {
        let mut other = inputs();
        other[i][j] = v;
        assert!(verify(f, &f.hk, &f.metas, 1, &other, &f.p1).is_err(), "input {i}[{j}] changed");
    }
    let mut short = inputs();
    short[2].pop();
    assert!(verify(f, &f.hk, &f.metas, 1, &short, &f.p1).is_err(), "a shorter input");
    // A walk on other weights than the key's (the trace of weights(5), the key's ticket of weights(1)).
    let w5 = weights(5);
    let tr5 = trace(&f.g, &w5, &inputs());
    match prove_on(&w5, &f.g, &f.hk, &f.secret, &f.w, 1, &tr5, &inputs(), 5) {
        Ok(p) => assert!(verify(f, &f.hk, &f.metas, 1, &inputs(), &p).is_err(), "a walk on other weights"),
        Err(e) => eprintln!("the prover itself stops on other weights: {e}"),
    }
    // Control for the last: the key made for weights(5) accepts that walk.
    let (hk5, s5, m5) = key(&w5, 10);
    let p = prove_on(&w5, &f.g, &hk5, &s5, &w5, 1, &tr5, &inputs(), 6).unwrap();
    verify(f, &hk5, &m5, 1, &inputs(), &p).expect("control: other weights under their own key");
}

fn framing(w: &[u8]) -> bool {
    w.iter().filter(|&&b| b == 0).count() >= 10
}

#[test]
fn flipped_bytes_and_truncations_are_refused_and_two_runs_share_no_window() {
    let f = fixture();
    let p = &f.p1;
    // 48 positions spread over the transcript (the root, the walk, both openings).
    let step = p.len() / 48;
    for i in (0..p.len()).step_by(step.max(1)) {
        let mut bad = p.clone();
        bad[i] ^= 0x01;
        assert!(verify(f, &f.hk, &f.metas, 1, &inputs(), &bad).is_err(), "a flipped bit at byte {i} of {}", p.len());
    }
    assert!(verify(f, &f.hk, &f.metas, 1, &inputs(), &p[..p.len() - 1]).is_err(), "truncated");
    let mut long = p.clone();
    long.push(0);
    assert!(verify(f, &f.hk, &f.metas, 1, &inputs(), &long).is_err(), "a trailing byte");
    // Two proofs of one statement (tickets 1 and 2, as two `prove --zk` runs take them) share no
    // 16-byte window outside framing; the same seed gives the same bytes (the control: the check
    // sees equal bytes when there are). Two runs on ONE ticket do share windows (the ticket's
    // codeword opened twice: why a ticket is never reused) — shown too, so the count can fail.
    let wa: HashSet<&[u8]> = f.p1.windows(16).filter(|w| !framing(w)).collect();
    assert!(wa.len() > 10_000, "the filter keeps the sent values");
    let shared = f.p2.windows(16).filter(|w| !framing(w) && wa.contains(w)).count();
    assert_eq!(shared, 0, "two zk runs share {shared} 16-byte windows");
    let reused = f.p1b.windows(16).filter(|w| !framing(w) && wa.contains(w)).count();
    eprintln!("two runs on one ticket share {reused} windows");
    assert!(reused > 0, "a reused ticket's openings share codeword rows");
    let tr = trace(&f.g, &f.w, &inputs());
    let same = prove_on(&f.w, &f.g, &f.hk, &f.secret, &f.w, 1, &tr, &inputs(), 1).unwrap();
    assert_eq!(same, f.p1, "control: the same randomness gives the same proof");
}

/// The FILE level: two zk proofs of one statement (the proofs of tickets 1 and 2, each in a
/// `ZkProofFile` of one prompt and completion) share no 16-byte window outside the public header
/// (magic, version, key digest, ticket, request, ids, the transcript's length; the windows
/// straddling its end included), and their headers differ only in the ticket and that length. Control: one file against itself shares every
/// window (the public-mode counterpart, two identical public proof files, is
/// `zkinfer-cli`'s `zk_setup` test).
#[test]
fn two_zk_proof_files_share_no_window_outside_the_header() {
    use zkinfer_verifier::zk_proof::ZkProofFile;
    let f = fixture();
    let file = |ticket: u32, transcript: &[u8]| {
        ZkProofFile { model_commitment: [5; 32], ticket, max_new_tokens: 2, prompt_ids: vec![3, 1, 4, 1, 5, 9, 2], completion_ids: vec![6, 7], transcript: transcript.to_vec() }.to_bytes()
    };
    let (a, b) = (file(1, &f.p1), file(2, &f.p2));
    let header = a.len() - f.p1.len();
    assert_eq!(header, b.len() - f.p2.len());
    let differing: Vec<usize> = (0..header).filter(|&i| a[i] != b[i]).collect();
    // The ticket's low byte, and the transcript's length prefix (the last 8 header bytes) when
    // the two openings' sizes differ.
    assert!(differing.contains(&(8 + 4 + 32)) && differing.iter().all(|&i| i == 8 + 4 + 32 || i >= header - 8), "the headers differ at {differing:?}");
    // Every window that is not wholly inside the header.
    let body = |x: &[u8]| -> HashSet<Vec<u8>> { x.windows(16).enumerate().filter(|&(i, w)| i + 16 > header && !framing(w)).map(|(_, w)| w.to_vec()).collect() };
    let (wa, wb) = (body(&a), body(&b));
    assert!(wa.len() > 10_000);
    let shared = wa.intersection(&wb).count();
    assert_eq!(shared, 0, "two zk proof files share {shared} windows outside the header");
    assert_eq!(body(&a).intersection(&wa).count(), wa.len(), "control: a file shares all its windows with itself");
}
