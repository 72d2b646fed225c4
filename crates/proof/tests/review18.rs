//! Review 18: an adversarial pass over what session 14 added to the ZERO-KNOWLEDGE verifier — the
//! zk key's hiding setup proof on ticket 0 (`zkinfer_verifier::zk_setup_proof`) and `HidingPcs`'s
//! *public zero claims* (a claim whose mask vanishing factor is 0 is accepted only with the value
//! 0, charged to no mask budget).
//!
//! Attacks (each refusal beside an honest control that verifies):
//! * **one non-zero padding entry, anywhere** (`setup_proof_refuses_one_non_zero_padding_entry`):
//!   a key author sets ONE padding entry of one weight to 1 — in the first dimension's padding, the
//!   last's, a corner of both, a single padded index (`d = 2^n − 1`: the claim's point is all
//!   boolean), a 1-D weight, the middle dimension of a 3-D weight — and opens the zero claims
//!   anyway (`PaddingCheck::Skip`). Review 17 / session 14 tested only the last dimension of 2-D
//!   tables; a template with the wrong bit order would pass that and miss these.
//! * **a proof ticket that is not ticket 0** (`a_proof_ticket_unlike_ticket_0_is_refused_by_the_link`):
//!   the setup proof shows ticket 0's padding is zero, but graph proofs open tickets `≥ 1`. The
//!   author commits the narrow model in ticket 0 (an honest setup proof) and review 17's wider
//!   model in ticket 1, and proves the wide model on ticket 1. The key's link values can agree with
//!   only one of the two tickets: from ticket 0 the setup proof verifies and the graph proof is
//!   refused; from ticket 1 the graph proof verifies (review 17's forgery) and the setup proof is
//!   refused. So the link claims are what carries the setup statement to the proof tickets.
//! * **public zero claims in an ordinary opening** (`public_zero_claims_are_opened_soundly`): a
//!   claim `P̂(z) = 0` at a point where the vanishing factor is 0 but the polynomial is not zero
//!   (a `Last` polynomial with a boolean last coordinate, an `All` polynomial with one boolean
//!   interior coordinate, an all-boolean point) is refused by the opening; the same claims on
//!   polynomials that do vanish there verify; a non-zero value at such a point is refused before
//!   any work (no mask hides it).
//! * **the zk Argmax's public ids on a ticket** (`zk_argmax_public_ids_are_bound_on_a_ticket`): a
//!   GPT-2 head (GELU looked up from the Clamp's own column, LM head, Argmax) proven on ticket 1;
//!   the proof checked against another id in one row, the ids rotated, one id fewer, or no ids is
//!   refused. No single-check control here: the ids enter the graph domain, `P(z)` and the
//!   selector; the forger with in-range gaps and its range-phase control are zkarg14's ops test.
//!
//! Controls with a check removed (run 03:16 UTC on d83ac5a with a local, env-gated patch in a
//! separate target, not committed): with `padding_claims` drawing no claim on both sides
//! (`zkinfer_verifier::zk_setup_proof`) the first perturbed key (`rows` at `[24, 0]`) proves and
//! verifies — the padding claims are load-bearing (the control `zk_setup_proof.rs` had not run);
//! with `HidingKey::with_link` adding no link claim on both sides the split key's setup proof AND
//! its wide graph proof on ticket 1 both verify — the link claims alone carry the setup statement
//! to the proof tickets; with `HidingPcs::verify`'s final check (`W(r)·P(r) + ρ'·Σ m_j = reduced`)
//! skipped, the false public zero claims (and both attacks above) are accepted — that check is
//! what refuses them. The first three pass unpatched in 7.8 CPU-s; all four in 9.4 CPU-s (27 s wall at load 15).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_model::graph::{Graph, GraphBuilder, IntTrace, TensorId, Weights, execute};
use zkinfer_model::ops::Op;
use zkinfer_model::ops::embedding::Embedding;
use zkinfer_model::ops::matmul::MatMul;
use zkinfer_model::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_ops::zk_graph::padded_table;
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::{HidingPcs, Vanishing};
use zkinfer_pcs::hiding_key::{HidingKey, KeyBudget, KeySecret};
use zkinfer_proof::zk::{prove_zk_graph_on_ticket, zk_weight_tables};
use zkinfer_proof::zk_setup_proof::{PaddingCheck, RangeCheck, prove_zk_setup_on, verify_zk_setup_on};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};
use zkinfer_verifier::key::WeightMeta;
use zkinfer_verifier::zk_proof::verify_zk_graph_on_ticket;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-test/review18", 1)
}

const BINDING: [u8; 32] = [18; 32];

fn refs(tables: &[Vec<F>]) -> Vec<&[F]> {
    tables.iter().map(Vec::as_slice).collect()
}

/// Proves (`check`) and verifies the setup statement of a fresh 2-ticket key over `tables`
/// described by `metas`.
fn setup_round_trip(metas: &[WeightMeta], tables: &[Vec<F>], check: PaddingCheck) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let s = KeySecret([5; 32]);
    let hk = HidingKey::setup(&pcs, &refs(tables), KeyBudget { tickets: 2, points_per_ticket: 4 }, &s).map_err(|e| e.to_string())?;
    let proof = prove_zk_setup_on(&hk, metas, &refs(tables), &s, &BINDING, check, RangeCheck::Refuse, &mut StdRng::seed_from_u64(3)).map_err(|e| e.to_string())?;
    verify_zk_setup_on(&hk, metas, &BINDING, &proof).map_err(|e| e.to_string())
}

/// The row-major index of `at` in the table of `shape` padded per dimension.
fn padded_index(shape: &[usize], at: &[usize]) -> usize {
    shape.iter().zip(at).fold(0, |acc, (&d, &i)| acc * d.next_power_of_two() + i)
}

#[test]
fn setup_proof_refuses_one_non_zero_padding_entry() {
    let meta = |name: &str, shape: &[usize]| WeightMeta { name: name.into(), shape: shape.to_vec(), frac_bits: 0, bits: 8 };
    // Non-power-of-two dimensions everywhere, so every weight pads (a `[24, 32]` pads its rows).
    let metas = vec![meta("rows", &[24, 32]), meta("both", &[5, 6]), meta("one", &[31]), meta("vec", &[20]), meta("cube", &[2, 3, 5])];
    let tables: Vec<Vec<F>> = metas
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let n: usize = m.shape.iter().product();
            // Real entries all non-zero: a template reading a real entry as padding fails honestly.
            let values: Vec<i64> = (0..n as i64).map(|i| 1 + (i * 37 + k as i64 * 11) % 50).collect();
            padded_table(&values, &m.shape)
        })
        .collect();
    // Control: the honest key (zero padding) proves and verifies.
    setup_round_trip(&metas, &tables, PaddingCheck::Refuse).expect("control: the honest key's setup proof verifies");
    // One padding entry set to 1 per case: (weight, index in its own dimensions).
    let cases: &[(usize, &[usize])] = &[
        (0, &[24, 0]),   // first dimension's padding, first padded row
        (0, &[31, 31]),  // last padded row, last column
        (1, &[5, 2]),    // dimension 0's single-row block [5, 6)
        (1, &[2, 6]),    // dimension 1's block [6, 8)
        (1, &[7, 7]),    // the corner in both paddings
        (2, &[31]),      // d = 31: the block is one index, its claim point all boolean
        (3, &[20]),      // a 1-D weight: the block [20, 24)
        (3, &[30]),      // … and [24, 32)
        (4, &[1, 3, 0]), // the middle dimension of a 3-D weight
        (4, &[0, 0, 7]), // the last dimension of a 3-D weight
    ];
    for &(w, at) in cases {
        let mut bad = tables.clone();
        let i = padded_index(&metas[w].shape, at);
        assert_eq!(bad[w][i], F::ZERO, "{at:?} of {} is padding", metas[w].name);
        bad[w][i] = F::ONE;
        let e = setup_round_trip(&metas, &bad, PaddingCheck::Refuse).expect_err("the honest prover refuses");
        assert!(e.contains(&metas[w].name) && e.contains("padding"), "{e}");
        let e = setup_round_trip(&metas, &bad, PaddingCheck::Skip).expect_err(&format!("{} at {at:?}: a non-zero padding entry is accepted", metas[w].name));
        assert!(e.contains("setup proof"), "{}: {e}", metas[w].name);
    }
}

const T: usize = 8;

/// Review 17's pair: the narrow model (`tok`, `w`: `[32, 24]`) and the wide one (`[32, 32]`, the
/// narrow values in the first 24 columns, non-zero beyond), Embedding → MatMul.
fn model(cols: usize) -> (Graph, Weights) {
    let table = |seed: i64| {
        let values = (0..32 * cols)
            .map(|i| {
                let (r, c) = ((i / cols) as i64, (i % cols) as i64);
                if c < 24 { (((r * 29 + c) * 7907 + seed * 104_723) % 59) - 29 } else { 3 + ((r * c) % 5) }
            })
            .map(|v| v as i16)
            .collect();
        WeightTensor { shape: vec![32, cols], frac_bits: 0, values: WeightValues::I16(values) }
    };
    let mut w = Weights::default();
    w.insert("tok", table(1));
    w.insert("w", table(2));
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ["tok", "w"].iter().map(|n| b.weight(*n, w.get(n).unwrap())).collect();
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let out = b.node(Op::MatMul(MatMul { has_bias: false }), &[e, ids[1]], "out", 0).unwrap();
    (b.finish(vec![out]).unwrap(), w)
}

fn inputs() -> Vec<Vec<i64>> {
    vec![vec![2, 7, 1, 8, 2, 8, 1, 8]]
}

fn trace(g: &Graph, w: &Weights) -> IntTrace {
    let tensors = inputs().iter().zip(&g.inputs).map(|(v, &id)| IntTensor::new(g.meta(id).shape.clone(), v.clone()).unwrap()).collect();
    execute(g, w, tensors).unwrap()
}

/// A key whose ticket 0 commits `narrow`'s tables and ticket 1 `wide`'s (same secret: same masks),
/// its link values taken from ticket `link_from`.
fn split_key(narrow: &[Vec<F>], wide: &[Vec<F>], s: &KeySecret, link_from: usize) -> HidingKey {
    let pcs = HidingPcs::default();
    let budget = KeyBudget { tickets: 2, points_per_ticket: 16 };
    let mut hk = HidingKey::setup(&pcs, &refs(narrow), budget, s).unwrap();
    hk.tickets[1] = HidingKey::setup(&pcs, &refs(wide), budget, s).unwrap().tickets[1].clone();
    let data = hk.ticket(&pcs, &refs(if link_from == 0 { narrow } else { wide }), s, link_from).unwrap();
    hk.link_values = hk.link_points().unwrap().iter().enumerate().map(|(k, z)| data.evaluate(k, z).unwrap()).collect();
    hk
}

#[test]
fn a_proof_ticket_unlike_ticket_0_is_refused_by_the_link() {
    let ((n_graph, n_w), (w_graph, w_w)) = (model(24), model(32));
    let (n_metas, n_tables) = zk_weight_tables(&n_w).unwrap();
    let (w_metas, w_tables) = zk_weight_tables(&w_w).unwrap();
    // The statement is false: the wide model's output is not the narrow model's.
    let out = |g: &Graph, w: &Weights| trace(g, w).get(g.find("out").unwrap()).unwrap().data.clone();
    assert_ne!(out(&n_graph, &n_w), out(&w_graph, &w_w), "the padding changes the output");
    let s = KeySecret([41; 32]);
    let pcs = HidingPcs::default();
    let w_tr = trace(&w_graph, &w_w);
    let attempt = |hk: &HidingKey| {
        // The setup proof on ticket 0 (the narrow tables: the honest prover's check passes).
        let setup = prove_zk_setup_on(hk, &n_metas, &refs(&n_tables), &s, &BINDING, PaddingCheck::Refuse, RangeCheck::Refuse, &mut StdRng::seed_from_u64(1)).expect("ticket 0 is honest");
        let setup = verify_zk_setup_on(hk, &n_metas, &BINDING, &setup).map_err(|e| e.to_string());
        // The wide model proven on ticket 1, checked as the narrow graph.
        let data = hk.ticket(&pcs, &refs(&w_tables), &s, 1).unwrap();
        let proof = prove_zk_graph_on_ticket(hk, &w_metas, data, &w_graph, &w_w, &w_tr, &inputs(), &[], &ds(), &mut StdRng::seed_from_u64(2)).expect("the prover runs");
        let graph = verify_zk_graph_on_ticket(hk, &n_metas, 1, &n_graph, &inputs(), &[], &ds(), &proof).map_err(|e| e.to_string());
        (setup, graph)
    };
    // Link values from ticket 0: the setup proof verifies, the wide proof on ticket 1 is refused.
    let (setup, graph) = attempt(&split_key(&n_tables, &w_tables, &s, 0));
    setup.expect("control: ticket 0's setup proof verifies");
    let e = graph.expect_err("a proof ticket holding other weights than ticket 0 is accepted");
    assert!(!e.is_empty());
    // Link values from ticket 1: the wide proof verifies (review 17's forgery), the setup proof is
    // refused — the link values are what refuses, and a key cannot satisfy both.
    let (setup, graph) = attempt(&split_key(&n_tables, &w_tables, &s, 1));
    graph.expect("control: with ticket 1's link values the wide proof verifies");
    let e = setup.expect_err("the setup proof's link claims on ticket 0");
    assert!(e.contains("setup proof"), "{e}");
}

fn c(k: u64) -> EF {
    EF::from(F::from_u64(k))
}

/// Opens `claims` — `(poly, point, value)`, the value `None` for the honest one, `P̂(point)` — on
/// a fresh hiding commitment of `polys` (the prover does not check the values) and verifies them.
fn open_and_verify(polys: &[Vec<F>], vanishing: &[Vanishing], claims: &[(usize, Vec<EF>, Option<EF>)]) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let mut rng = StdRng::seed_from_u64(9);
    let (com, data) = pcs.commit_with(&refs(polys), vanishing, &mut rng).map_err(|e| e.to_string())?;
    let claims = claims
        .iter()
        .map(|(poly, point, value)| Ok(OpeningClaim { poly: *poly, point: point.clone(), value: match value { Some(v) => *v, None => data.evaluate(*poly, point)? } }))
        .collect::<Result<Vec<_>, zkinfer_pcs::PcsError>>()
        .map_err(|e| e.to_string())?;
    let claims = &claims[..];
    let mut t = ProverTranscript::new(&ds());
    pcs.open(data, claims, &mut t, &mut rng).map_err(|e| e.to_string())?;
    let proof = t.into_proof();
    let mut t = VerifierTranscript::new(&ds(), &proof);
    pcs.verify(&com, claims, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

#[test]
fn public_zero_claims_are_opened_soundly() {
    // Six variables; coordinate 0 is the index's most significant bit, coordinate 5 its parity.
    let generic: Vec<F> = (0..64u64).map(|i| F::from_u64(1 + i * i % 61)).collect();
    // Zero wherever the parity is 0 (the face `z_5 = 0`), and wherever bit 2 is 1 (`z_3 = 1`).
    let face: Vec<F> = (0..64usize).map(|i| if i % 2 == 0 || (i >> 2) & 1 == 1 { F::ZERO } else { generic[i] }).collect();
    let free = |k: u64| (0..6).map(|j| c(7 + 13 * k + j)).collect::<Vec<EF>>();
    let with = |mut p: Vec<EF>, at: usize, b: EF| {
        p[at] = b;
        p
    };
    let all_boolean: Vec<EF> = [1u64, 0, 1, 1, 0, 0].iter().map(|&b| c(b)).collect(); // index 0b101100 = 44: even
    // (poly kind, zero claim's point)
    let cases: Vec<(Vanishing, Vec<EF>)> = vec![
        (Vanishing::Last, with(free(1), 5, EF::ZERO)),
        (Vanishing::All, with(free(2), 3, EF::ONE)),
        (Vanishing::All, with(free(3), 5, EF::ZERO)),
        (Vanishing::Last, all_boolean.clone()),
    ];
    for (kind, point) in cases {
        assert_eq!(zkinfer_poly::Mle::new(face.clone()).evaluate(&point), EF::ZERO, "the face polynomial vanishes at {point:?}");
        assert_ne!(zkinfer_poly::Mle::new(generic.clone()).evaluate(&point), EF::ZERO);
        for (name, p, accepted) in [("face", &face, true), ("generic", &generic, false)] {
            let polys = vec![p.clone(), generic.clone()];
            let claims = vec![(1, free(4), None), (0, point.clone(), Some(EF::ZERO)), (0, free(5), None)];
            let r = open_and_verify(&polys, &[kind, Vanishing::Last], &claims);
            if accepted {
                r.unwrap_or_else(|e| panic!("control: a true public zero claim ({kind:?}, {name}): {e}"));
            } else {
                assert!(r.is_err(), "a false public zero claim ({kind:?}) on a polynomial non-zero there is accepted");
            }
        }
        // The true value at that point, when it is not zero, is never opened (no mask hides it).
        let claims = vec![(0, point.clone(), None)];
        let e = open_and_verify(std::slice::from_ref(&generic), &[kind], &claims).expect_err("an unhidden non-zero value");
        assert!(e.contains("public zero claim"), "{e}");
    }
}

/// The head of a GPT-2 on a key ticket: Embedding → MatMul → Rescale → Clamp → GELU (looked up
/// from the Clamp's own column) → LM head → Argmax (`next_token`, PUBLIC: the completion).
fn head() -> (Graph, Weights, IntTrace) {
    let weight = |shape: Vec<usize>, seed: i64| {
        let n: usize = shape.iter().product();
        let values = (0..n as i64).map(|i| (((i * 7919 + seed * 104_729) % 61) - 30) as i16).collect();
        WeightTensor { shape, frac_bits: 0, values: WeightValues::I16(values) }
    };
    let ws = [("tok", weight(vec![32, 32], 1)), ("up.w", weight(vec![64, 32], 3)), ("head", weight(vec![40, 64], 7))];
    let mut w = Weights::default();
    let mut b = GraphBuilder::new();
    let tokens = b.input("tokens", vec![T], 0, 8);
    let ids: Vec<TensorId> = ws.iter().map(|(n, t)| b.weight(*n, t)).collect();
    for (n, t) in ws {
        w.insert(n, t);
    }
    let e = b.node(Op::Embedding(Embedding), &[tokens, ids[0]], "tok_embd", 0).unwrap();
    let m = b.node(Op::MatMul(MatMul { has_bias: false }), &[e, ids[1]], "up", 0).unwrap();
    let mr = b.node(Op::Rescale(zkinfer_model::ops::rescale::Rescale { shift: 2 }), &[m], "up.r", 0).unwrap();
    let mc = b.node(Op::Clamp(zkinfer_model::ops::clamp::Clamp::symmetric(15)), &[mr], "up.c", 0).unwrap();
    let g = b.node(Op::Gelu(zkinfer_model::ops::gelu::Gelu::new(10, 12)), &[mc], "gelu", 12).unwrap();
    let logits = b.node(Op::MatMul(MatMul { has_bias: false }), &[g, ids[2]], "logits", 0).unwrap();
    let next = b.node(Op::Argmax(zkinfer_model::ops::argmax::Argmax), &[logits], "next_token", 0).unwrap();
    let g = b.finish(vec![logits, next]).unwrap();
    let tr = trace(&g, &w);
    (g, w, tr)
}

/// The zk Argmax's public ids on a key ticket (`verify_zk_graph_on_ticket` with public outputs, as
/// `verify_zk` calls it): the honest proof verifies with its completion only — another id in one
/// row, the rows' ids rotated, one id fewer, and no public ids at all are refused (the ids are
/// absorbed by the graph domain before any message and enter the Argmax's sumcheck through
/// `P(z)` and the selector; a forger's false ids with in-range gaps are refused at the gaps' limbs,
/// `zkinfer_ops` `zk_graph::another_completion_is_refused`, whose control runs there).
#[test]
fn zk_argmax_public_ids_are_bound_on_a_ticket() {
    let (g, w, tr) = head();
    let (metas, tables) = zk_weight_tables(&w).unwrap();
    let s = KeySecret([43; 32]);
    let pcs = HidingPcs::default();
    let hk = HidingKey::setup(&pcs, &refs(&tables), KeyBudget { tickets: 2, points_per_ticket: 16 }, &s).unwrap();
    let next = g.find("next_token").unwrap();
    let ids = tr.get(next).unwrap().data.clone();
    assert!(ids.iter().any(|&a| a != ids[0]), "the fixture's completion is not constant: {ids:?}");
    let data = hk.ticket(&pcs, &refs(&tables), &s, 1).unwrap();
    let proof = prove_zk_graph_on_ticket(&hk, &metas, data, &g, &w, &tr, &inputs(), &[(next, ids.clone())], &ds(), &mut StdRng::seed_from_u64(4)).expect("the honest prover runs");
    let check = |outs: &[(TensorId, Vec<i64>)]| verify_zk_graph_on_ticket(&hk, &metas, 1, &g, &inputs(), outs, &ds(), &proof).map_err(|e| e.to_string());
    check(&[(next, ids.clone())]).expect("control: the honest proof verifies with its own completion");
    let mut other = ids.clone();
    other[3] = (other[3] + 1) % 40;
    let mut rotated = ids.clone();
    rotated.rotate_left(1);
    assert_ne!(rotated, ids);
    for (what, outs) in [
        ("another id in row 3", vec![(next, other)]),
        ("the rows' ids rotated", vec![(next, rotated)]),
        ("one id fewer", vec![(next, ids[..T - 1].to_vec())]),
        ("no public ids", vec![]),
    ] {
        assert!(check(&outs).is_err(), "{what}: accepted");
    }
}
