//! Review 17: an adversarial pass over the ZERO-KNOWLEDGE verifier (`verify_zk_graph_on_ticket`,
//! the verifier `verify_zk` runs), at the proof level, with the range phase on a ticket.
//!
//! The fixture is a graph with every committed-column kind the zk driver wires today — rounded
//! Rescales (`r` looked up itself, `y` and `r` through limbs), an exact Rescale, Clamps in both forms
//! (gaps tied to `y` by affine relations; the magnitude with `s` through limbs) — between
//! Embedding and MatMuls, its weights on ticket 1 of a hiding weight key of three tickets. One
//! honest proof is shared by every test.
//!
//! Checked (each refusal beside an honest control that verifies):
//! * **the statement is bound**: the same proof under a graph whose Clamp bound is moved where the
//!   trace saturates (refused by the zk Clamp's sumcheck, then by the gaps' affine relations: with
//!   both checks removed it verifies — the control, run once), an exact shift changed, another
//!   prompt token, another ticket, another domain: all refused;
//! * **hostile transcripts**: a flipped bit at a stride through the whole transcript, every byte
//!   message's length prefix blown up to `2^31`, `u32::MAX` and `0`, truncations: errors, never a
//!   panic (`catch_unwind`), each in well under a second.
//! * **(ignored: FINDING, see the report)** the key's weight polynomials are never shown to be
//!   zero on their padding: a proof of a wider model (a `[32, 32]` embedding and weight whose
//!   extra columns are non-zero) verifies as a proof of the key's `[32, 24]` graph.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_model::graph::{Graph, GraphBuilder, IntTrace, TensorId, Weights, execute};
use zkinfer_model::ops::Op;
use zkinfer_model::ops::clamp::Clamp;
use zkinfer_model::ops::embedding::Embedding;
use zkinfer_model::ops::matmul::MatMul;
use zkinfer_model::ops::rescale::Rescale;
use zkinfer_model::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::{HidingKey, KeyBudget, KeySecret};
use zkinfer_proof::zk::{prove_zk_graph_on_ticket, zk_weight_tables};
use zkinfer_transcript::DomainSeparator;
use zkinfer_verifier::key::WeightMeta;
use zkinfer_verifier::zk_proof::verify_zk_graph_on_ticket;

use crate::common;

const T: usize = 8;
const D: usize = 32;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-test/review17", 1)
}

fn weight(shape: Vec<usize>, seed: i64, scale: i64) -> WeightTensor {
    let n: usize = shape.iter().product();
    let values = (0..n as i64).map(|i| ((((i * 7919 + seed * 104_729) % 61) - 30) * scale) as i16).collect();
    WeightTensor { shape, frac_bits: 0, values: WeightValues::I16(values) }
}

fn weights() -> Weights {
    let mut w = Weights::default();
    w.insert("tok", weight(vec![32, D], 1, 1));
    w.insert("w1", weight(vec![D, D], 3, 600));
    w.insert("w2", weight(vec![D, D], 5, 1));
    w
}

/// Embedding → Rescale(3) → MatMul → Rescale(17) → Clamp[lo, hi] → Rescale(shift) → MatMul, and
/// Clamp(|y| < 2^16) of the first MatMul → MatMul (two outputs).
fn graph(w: &Weights, lo: i64, hi: i64, exact_shift: i32) -> Graph {
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ["tok", "w1", "w2"].iter().map(|n| b.weight(*n, w.get(n).unwrap())).collect();
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let er = b.node(Op::Rescale(Rescale { shift: 3 }), &[e], "tok.r", 0).unwrap();
    let m = b.node(Op::MatMul(MatMul { has_bias: false }), &[er, ids[1]], "m", 0).unwrap();
    let mr = b.node(Op::Rescale(Rescale { shift: 17 }), &[m], "m.r", 0).unwrap();
    let mc = b.node(Op::Clamp(Clamp { lo, hi }), &[mr], "m.c", 0).unwrap();
    let up = b.node(Op::Rescale(Rescale { shift: exact_shift }), &[mc], "m.up", 0).unwrap();
    let out = b.node(Op::MatMul(MatMul { has_bias: false }), &[up, ids[2]], "out", 0).unwrap();
    let big = b.node(Op::Clamp(Clamp::symmetric(16)), &[m], "m.big", 0).unwrap();
    let out2 = b.node(Op::MatMul(MatMul { has_bias: false }), &[big, ids[2]], "out2", 0).unwrap();
    b.finish(vec![out, out2]).unwrap()
}

fn inputs() -> Vec<Vec<i64>> {
    vec![vec![3, 1, 4, 1, 5, 9, 2, 6]]
}

fn trace(g: &Graph, w: &Weights, inputs: &[Vec<i64>]) -> IntTrace {
    let tensors = inputs.iter().zip(&g.inputs).map(|(v, &id)| IntTensor::new(g.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    execute(g, w, tensors).unwrap()
}

fn key(w: &Weights, secret: u8) -> (HidingKey, KeySecret, Vec<WeightMeta>) {
    let (metas, tables) = zk_weight_tables(w).unwrap();
    let refs: Vec<&[zkinfer_field::F]> = tables.iter().map(Vec::as_slice).collect();
    let s = KeySecret([secret; 32]);
    let hk = HidingKey::setup(&HidingPcs::default(), &refs, KeyBudget { tickets: 3, points_per_ticket: 16 }, &s).unwrap();
    (hk, s, metas)
}

#[allow(clippy::too_many_arguments)] // the key, the ticket, the statement, the witness
fn prove_on(g: &Graph, w: &Weights, hk: &HidingKey, secret: &KeySecret, ticket: usize, tr: &IntTrace, inputs: &[Vec<i64>], seed: u64) -> Vec<u8> {
    let (metas, tables) = zk_weight_tables(w).unwrap();
    let refs: Vec<&[zkinfer_field::F]> = tables.iter().map(Vec::as_slice).collect();
    let data = hk.ticket(&HidingPcs::default(), &refs, secret, ticket).unwrap();
    prove_zk_graph_on_ticket(hk, &metas, data, g, w, tr, inputs, &[], &ds(), &mut StdRng::seed_from_u64(seed)).expect("the honest prover runs")
}

/// The clamp's bounds in the honest graph.
/// (`hi − lo = 5`: the gaps are 3-bit, as for `lo − 1` and `hi + 1`, so the moved graphs below
/// have the same layout.)
const LO: i64 = -2;
const HI: i64 = 3;

struct Fixture {
    w: Weights,
    g: Graph,
    hk: HidingKey,
    metas: Vec<WeightMeta>,
    proof: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let w = weights();
        let g = graph(&w, LO, HI, -2);
        let (hk, secret, metas) = key(&w, 17);
        let tr = trace(&g, &w, &inputs());
        let proof = prove_on(&g, &w, &hk, &secret, 1, &tr, &inputs(), 17);
        Fixture { w, g, hk, metas, proof }
    })
}

fn verify_with(f: &Fixture, g: &Graph, ticket: usize, inputs: &[Vec<i64>], ds: &DomainSeparator, proof: &[u8]) -> Result<(), String> {
    verify_zk_graph_on_ticket(&f.hk, &f.metas, ticket, g, inputs, &[], ds, proof).map_err(|e| e.to_string())
}

fn verify(f: &Fixture, proof: &[u8]) -> Result<(), String> {
    verify_with(f, &f.g, 1, &inputs(), &ds(), proof)
}

#[test]
fn the_statement_is_bound_graph_inputs_ticket_and_domain() {
    let f = fixture();
    verify(f, &f.proof).expect("control: the honest proof verifies");
    // The clamp saturates below its lower bound in the trace, so a graph clamping at lo − 1
    // computes another output there: a false statement for this proof. The bounds enter the zk
    // Clamp's masked sumcheck (`a = y − lo·χ`, `b = hi·χ − y` as linear forms of `y` and `χ`) and
    // the gaps' affine relations; the sumcheck refuses first (both checks removed: it verifies).
    let tr = trace(&f.g, &f.w, &inputs());
    let mr = tr.get(f.g.find("m.r").unwrap()).unwrap();
    assert!(mr.data.iter().any(|&v| v < LO), "the clamp cuts below lo");
    let moved = graph(&f.w, LO - 1, HI, -2);
    let e = verify_with(f, &moved, 1, &inputs(), &ds(), &f.proof).expect_err("a moved clamp bound is refused");
    assert!(e.contains("Clamp") || e.contains("affine relation"), "{e}");
    assert!(mr.data.iter().any(|&v| v > HI), "the clamp cuts above hi");
    let e = verify_with(f, &graph(&f.w, LO, HI + 1, -2), 1, &inputs(), &ds(), &f.proof).expect_err("a moved upper bound is refused");
    assert!(e.contains("Clamp") || e.contains("affine relation"), "{e}");
    // An exact shift changed (−2 → −1): the claims scaled through it are others.
    assert!(verify_with(f, &graph(&f.w, LO, HI, -1), 1, &inputs(), &ds(), &f.proof).is_err(), "another exact shift");
    // Another prompt token, another ticket, another domain.
    let mut other = inputs();
    other[0][3] = 7;
    assert!(verify_with(f, &f.g, 1, &other, &ds(), &f.proof).is_err(), "another token");
    assert!(verify_with(f, &f.g, 2, &inputs(), &ds(), &f.proof).is_err(), "another ticket");
    let other_ds = DomainSeparator::new("zkinfer-test/review17", 2);
    assert!(verify_with(f, &f.g, 1, &inputs(), &other_ds, &f.proof).is_err(), "another domain");
}

/// A malicious prover on the ticket: the gap-form Clamp's output moved by one where it saturates
/// (still in `[lo, hi]`, so every gap and `s` stays in range and the honest prover's range phase
/// runs), everything downstream recomputed (`common::propagate_after`). Refused by the Clamp's
/// masked sumcheck (`|x − y|·…` no longer vanishes). Control: the unperturbed trace verifies
/// (the fixture).
#[test]
fn a_clamp_output_moved_inside_its_range_is_refused() {
    let f = fixture();
    let g = &f.g;
    let mut tr = trace(g, &f.w, &inputs());
    let mc = g.find("m.c").unwrap();
    let i = tr.get(mc).unwrap().data.iter().position(|&v| v == LO).expect("the clamp saturates at lo");
    tr.values[mc.0].as_mut().unwrap().data[i] += 1;
    let start = g.nodes.iter().position(|n| n.output == mc).unwrap();
    assert!(common::propagate_after(g, &mut tr, &f.w, start));
    let (_, secret, _) = key(&f.w, 17);
    let proof = prove_on(g, &f.w, &f.hk, &secret, 2, &tr, &inputs(), 18);
    let e = verify_with(f, g, 2, &inputs(), &ds(), &proof).expect_err("a moved clamp output is refused");
    eprintln!("moved clamp output: {e}");
}

/// The byte messages of a transcript (their 4-byte length prefixes), found by scanning for a
/// little-endian length that lands inside the transcript and frames a message of ≥ 1 KiB (the
/// batch root is the first, at 0: 32 bytes).
fn byte_messages(p: &[u8]) -> Vec<usize> {
    let mut out = vec![0];
    let mut i = 36;
    while i + 4 <= p.len() {
        let len = u32::from_le_bytes(p[i..i + 4].try_into().unwrap()) as usize;
        if (1024..=p.len() - i - 4).contains(&len) && p[i + 4..i + 12] != [0; 8][..] || len == p.len() - i - 4 {
            out.push(i);
            i += 4 + len;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn hostile_transcripts_are_errors_never_panics() {
    let f = fixture();
    let p = &f.proof;
    let judge = |bytes: &[u8], what: &str| {
        let start = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| verify(f, bytes))) {
            Ok(Ok(())) => panic!("{what}: accepted"),
            Ok(Err(_)) => {}
            Err(_) => panic!("{what}: the verifier panicked"),
        }
        assert!(start.elapsed().as_secs_f64() < 5.0, "{what}: {:.1} s", start.elapsed().as_secs_f64());
    };
    // A flipped bit at 40 positions spread over the transcript.
    let step = (p.len() / 40).max(1);
    for i in (0..p.len()).step_by(step) {
        let mut bad = p.clone();
        bad[i] ^= 0x10;
        judge(&bad, &format!("bit 4 of byte {i} of {}", p.len()));
    }
    // Every byte message's length prefix blown up, zeroed or off by one.
    let msgs = byte_messages(p);
    assert!(msgs.len() >= 3, "the batch root and the two openings' byte messages: {msgs:?}");
    for &at in &msgs {
        let len = u32::from_le_bytes(p[at..at + 4].try_into().unwrap());
        for v in [1u32 << 31, u32::MAX, 0, len + 1, len - 1] {
            let mut bad = p.clone();
            bad[at..at + 4].copy_from_slice(&v.to_le_bytes());
            judge(&bad, &format!("length {v} at {at}"));
        }
    }
    // Truncations inside each message and at its start; a trailing byte.
    for &at in &msgs {
        judge(&p[..at], &format!("cut at {at}"));
        judge(&p[..at + 6], &format!("cut at {}", at + 6));
    }
    let mut long = p.clone();
    long.push(0);
    judge(&long, "a trailing byte");
    verify(f, p).expect("control: the untouched proof verifies");
}

/// FINDING (review 17): the zk key's weight polynomials are never shown to be zero on their
/// padding (nor in their declared ranges: the hiding setup range proof is not built), and the zk
/// ops' verifiers read only padded sizes. A key author who commits a `[32, 24]` embedding table
/// and a `[32, 24]` weight as `[32, 32]` tables with non-zero extra columns proves the WIDER
/// model's output (eight more inner products per entry), and the verifier accepts it as the
/// `[32, 24]` graph's. The public path refuses this through its setup proof (padding and bounds,
/// `docs/SECURITY.md` "Weight bounds and padding"). Session 14 closed it at the key level (zk key
/// v5 carries the hiding setup proof, which `verify_zk` checks first; tested in
/// `zk_setup_proof.rs`); this graph-level function never reads a key's setup proof, so the test
/// stays ignored as the record of the attack.
#[test]
#[ignore = "FINDING review17, closed at the key level: this graph-level verifier does not read the setup proof; verify_zk refuses such a key by its hiding setup proof (zk_setup_proof::a_key_with_non_zero_padding_is_refused_by_its_setup_proof)"]
fn a_key_with_non_zero_padding_proves_a_wider_model() {
    let (narrow, wide) = padded_pair();
    let (n_graph, n_w) = narrow;
    let (w_graph, w_w) = wide;
    // The wide model's key, described to the verifier with the narrow shapes (same padded sizes).
    let (hk, secret, _) = key(&w_w, 23);
    let (n_metas, _) = zk_weight_tables(&n_w).unwrap();
    let tr = trace(&w_graph, &w_w, &[vec![3, 1, 4, 1, 5, 9, 2, 6]]);
    let proof = prove_on(&w_graph, &w_w, &hk, &secret, 1, &tr, &[vec![3, 1, 4, 1, 5, 9, 2, 6]], 23);
    // The wide model's output is not the narrow model's on the key's logical weights.
    let n_tr = trace(&n_graph, &n_w, &[vec![3, 1, 4, 1, 5, 9, 2, 6]]);
    let out = |g: &Graph, t: &IntTrace| t.get(g.find("out").unwrap()).unwrap().data.clone();
    assert_ne!(out(&n_graph, &n_tr), out(&w_graph, &tr), "the padding changes the output");
    let r = verify_zk_graph_on_ticket(&hk, &n_metas, 1, &n_graph, &[vec![3, 1, 4, 1, 5, 9, 2, 6]], &[], &ds(), &proof);
    assert!(r.is_err(), "a key whose padding is not zero is accepted: the proven output is the [32, 32] model's");
}

/// `(graph, weights)` of the narrow model (`tok`, `w`: `[32, 24]`) and of the wide one
/// (`[32, 32]`, the narrow values in the first 24 columns, non-zero beyond).
type Model = (Graph, Weights);

fn padded_pair() -> (Model, Model) {
    let build = |cols: usize| {
        let mut w = Weights::default();
        let table = |seed: i64| {
            let values = (0..32 * cols)
                .map(|i| {
                    let (r, c) = ((i / cols) as i64, (i % cols) as i64);
                    if c < 24 { (((r * 32 + c) * 7919 + seed * 104_729) % 61) - 30 } else { 5 + ((r + c) % 3) }
                })
                .map(|v| v as i16)
                .collect();
            WeightTensor { shape: vec![32, cols], frac_bits: 0, values: WeightValues::I16(values) }
        };
        w.insert("tok", table(1));
        w.insert("w", table(2));
        let mut b = GraphBuilder::new();
        let tokens = b.input("tokens", vec![T], 0, 8);
        let ids: Vec<TensorId> = ["tok", "w"].iter().map(|n| b.weight(*n, w.get(n).unwrap())).collect();
        let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
        let out = b.node(Op::MatMul(MatMul { has_bias: false }), &[e, ids[1]], "out", 0).unwrap();
        (b.finish(vec![out]).unwrap(), w)
    };
    (build(24), build(32))
}
