//! Masked product sumchecks over *views* of committed tables — the generic choke point of the
//! ops' sumchecks (`docs/SECURITY.md`, "The graph proof in zero knowledge: design").
//!
//! An op's sumcheck reads its operands through views: some coordinates fixed at earlier random
//! points, the others summed. A matmul-style claim `y(r_t, r_n) = Σ_k A(r_t, k)·B(k, r_n)` reads
//! `A` with its *first* coordinates fixed and `B` with its *last* coordinates fixed. With the hiding
//! PCS's default randomised extension (`Vanishing::Last`, factor `z_{m−1}(1 − z_{m−1})`) the view
//! of `B` is not `B`'s partial evaluation on the summed cube — `B̂(k, r_n) = B(k, r_n) +
//! v(r_{n,last})·M_B(k_{<4})` — so the sum changes (`last_vanishing_breaks_a_view_that_fixes_the_last_variable`).
//! With `Vanishing::All` (Libra's `Z = Π_i v(z_i)`) every view equals the plain partial
//! evaluation on its cube, and the library's masked product sumcheck
//! (`zkinfer_sumcheck::zk_product`) runs over any view unchanged, given each table's cofactor
//! (`HidingProverData::mask_cofactor`): the caller says which coordinate of each table the
//! sumcheck's last round binds, nothing op-specific.

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, Vanishing};
use zkinfer_poly::{Mle, eq_evals};
use zkinfer_sumcheck::zk::SumcheckMask;
use zkinfer_sumcheck::zk_product::{ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk};
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

/// `A: [T, K]`, `B: [K, C]`, row-major; the sumcheck runs over `k` (`KV ≥ 5` variables, so `B`'s
/// last `k` variable is not one of its four mask variables).
const TV: usize = 4;
const KV: usize = 5;
const CV: usize = 3;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-views-test", 1)
}

fn a() -> Vec<F> {
    (0..1u64 << (TV + KV)).map(|i| F::from_u64((i * 37 + 11) % 251)).collect()
}

fn b() -> Vec<F> {
    (0..1u64 << (KV + CV)).map(|i| F::from_u64((i * i + 3) % 241)).collect()
}

fn r_t() -> Vec<EF> {
    (0..TV as u64).map(|i| EF::from_u64(5 * i + 7)).collect()
}

fn r_n() -> Vec<EF> {
    (0..CV as u64).map(|i| EF::from_u64(11 * i + 3)).collect()
}

fn cat(x: &[EF], y: &[EF]) -> Vec<EF> {
    [x, y].concat()
}

/// `y(r_t, r_n)`, the claimed sum.
fn claimed_sum() -> EF {
    let (a, b) = (a(), b());
    let (et, en) = (eq_evals(&r_t()), eq_evals(&r_n()));
    let mut sum = EF::ZERO;
    for t in 0..1 << TV {
        for k in 0..1 << KV {
            for n in 0..1 << CV {
                sum += et[t] * en[n] * EF::from(a[(t << KV) + k] * b[(k << CV) + n]);
            }
        }
    }
    sum
}

/// The views' tables over `k`: `A(r_t, ·)` and `B(·, r_n)`.
fn folded() -> (Vec<EF>, Vec<EF>) {
    let (a, b) = (a(), b());
    let (et, en) = (eq_evals(&r_t()), eq_evals(&r_n()));
    let fa = (0..1 << KV).map(|k| (0..1 << TV).map(|t| et[t] * EF::from(a[(t << KV) + k])).sum()).collect();
    let fb = (0..1 << KV).map(|k| (0..1 << CV).map(|n| en[n] * EF::from(b[(k << CV) + n])).sum()).collect();
    (fa, fb)
}

fn terms() -> Vec<Term> {
    vec![(EF::ONE, vec![0, 1])]
}

/// The coordinate of `k`'s last bit in each table's own point: `A`: `TV + KV − 1` (its last),
/// `B`: `KV − 1` (not its last: `B`'s last coordinates are fixed at `r_n`).
fn full_point(table: usize, z: &[EF]) -> (Vec<EF>, usize) {
    match table {
        0 => (cat(&r_t(), z), TV + KV - 1),
        _ => (cat(z, &r_n()), KV - 1),
    }
}

fn bit_point(bits: usize, k: usize) -> Vec<EF> {
    (0..bits).map(|i| if (k >> (bits - 1 - i)) & 1 == 1 { EF::ONE } else { EF::ZERO }).collect()
}

#[test]
fn vanishing_kinds_and_cofactors() {
    let p = [EF::from_u64(3), EF::ZERO, EF::from_u64(5)];
    assert_ne!(Vanishing::Last.at(&p), EF::ZERO, "Last looks at the last coordinate only");
    assert_eq!(Vanishing::All.at(&p), EF::ZERO, "All vanishes when any coordinate is boolean");
    let q = [EF::from_u64(3), EF::from_u64(4), EF::from_u64(5)];
    let v = |z: u64| EF::from_u64(z) * (EF::ONE - EF::from_u64(z));
    assert_eq!(Vanishing::All.at(&q), v(3) * v(4) * v(5));
    assert_eq!(Vanishing::Last.at(&q), v(5));
}

#[test]
fn last_vanishing_breaks_a_view_that_fixes_the_last_variable() {
    let pcs = HidingPcs::default();
    let (a, b) = (a(), b());
    let sum_over_views = |kind: Vanishing, seed: u64| -> EF {
        let mut rng = StdRng::seed_from_u64(seed);
        let (_, data) = pcs.commit_with(&[&a, &b], &[kind, kind], &mut rng).expect("commit");
        (0..1usize << KV)
            .map(|k| {
                let kb = bit_point(KV, k);
                data.evaluate(0, &cat(&r_t(), &kb)).expect("A") * data.evaluate(1, &cat(&kb, &r_n())).expect("B")
            })
            .sum()
    };
    let h = claimed_sum();
    assert_eq!(sum_over_views(Vanishing::All, 1), h, "Z = Π v(z_i): the views sum to y(r_t, r_n)");
    assert_ne!(sum_over_views(Vanishing::Last, 1), h, "Z = v(z_last): B's view adds v(r_n,last)·M_B to every entry");
    // Last has no factor at B's summed coordinate, so a masked sumcheck over its view is refused.
    let mut rng = StdRng::seed_from_u64(2);
    let (_, data) = pcs.commit(&[&a, &b], &mut rng).expect("commit");
    let z: Vec<EF> = (0..KV as u64).map(|i| EF::from_u64(i + 20)).collect();
    assert!(data.mask_cofactor(1, &cat(&z, &r_n()), KV - 1).is_err());
    assert!(data.mask_cofactor(0, &cat(&r_t(), &z), TV + KV - 1).is_ok());
}

struct Run {
    com: HidingCommitment,
    proof: Vec<u8>,
    /// `Â(r_t, ρ)`, `B̂(ρ, r_n)` as sent, and the unmasked `A(r_t, ρ)`, `B(ρ, r_n)`.
    sent: Vec<EF>,
    clear: Vec<EF>,
    /// Offset of the sent final values in the proof.
    finals_at: usize,
}

fn opening_claims(point: &[EF], values: &[EF], mask_claims: &[(Vec<EF>, EF)]) -> Vec<OpeningClaim> {
    let mut claims: Vec<OpeningClaim> =
        values.iter().enumerate().map(|(j, &v)| OpeningClaim { poly: j, point: full_point(j, point).0, value: v }).collect();
    claims.extend(mask_claims.iter().map(|(p, v)| OpeningClaim { poly: 2, point: p.clone(), value: *v }));
    claims
}

fn prove(seed: u64) -> Run {
    let pcs = HidingPcs::default();
    let shape = product_mask_shape(KV, &terms(), false);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mask = SumcheckMask::sample(shape, &mut rng).expect("mask");
    let (a, b) = (a(), b());
    // The operands are read through views: Z = Π v(z_i). The sumcheck's mask table is claimed at
    // points with boolean round bits: Z = v(z_last), as in `zk_product.rs`.
    let (com, data) = pcs.commit_with(&[&a, &b, mask.table()], &[Vanishing::All, Vanishing::All, Vanishing::Last], &mut rng).expect("commit");
    for j in 0..KV {
        mask.add_vanishing_term(j, data.mask_value(2, &shape.claim_point(j, EF::ZERO)).expect("mask value")).expect("fold");
    }
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    t.absorb_public_exts("test/r", &cat(&r_t(), &r_n()));
    let hidden = |j: usize, z: &[EF]| {
        let (p, var) = full_point(j, z);
        data.mask_cofactor(j, &p, var).expect("cofactor")
    };
    let (fa, fb) = folded();
    let inner = ProductSumcheck::new(vec![Mle::new(fa), Mle::new(fb)], terms(), None);
    let mut inst = ZkProductSumcheck::new(inner, terms(), None, 2, &hidden).expect("instance");
    let out = prove_product_zk(&mut inst, &mask, &mut t);
    drop(inst);
    let finals_at = t.proof_len() - 24 * out.values.len();
    let clear = (0..2).map(|j| Mle::new(if j == 0 { a.clone() } else { b.clone() }).evaluate(&full_point(j, &out.point).0)).collect();
    pcs.open(data, &opening_claims(&out.point, &out.values, &out.mask_claims), &mut t, &mut rng).expect("open");
    Run { com, proof: t.into_proof(), sent: out.values, clear, finals_at }
}

fn verify(com: &HidingCommitment, h: EF, proof: &[u8]) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    t.absorb_public_exts("test/r", &cat(&r_t(), &r_n()));
    let out = verify_product_zk(h, KV, &terms(), None, 2, &mut t).map_err(|e| e.to_string())?;
    pcs.verify(com, &opening_claims(&out.point, &out.values, &out.mask_claims), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

fn windows(p: &[u8]) -> HashSet<u128> {
    p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16 bytes"))).collect()
}

/// bincode's length prefixes and counts: small little-endian integers (≥ 10 zero bytes in 16).
fn framing(w: &u128) -> bool {
    w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10
}

fn ext_bytes(x: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(x);
    t.into_proof()
}

#[test]
fn masked_sumcheck_over_views_verifies_and_hides() {
    let h = claimed_sum();
    let (x, y) = (prove(11), prove(12));
    verify(&x.com, h, &x.proof).expect("x verifies");
    verify(&y.com, h, &y.proof).expect("y verifies");
    // The sent values are the randomised extensions', never A(r_t, ρ), B(ρ, r_n).
    assert_ne!(x.sent, x.clear);
    for v in &x.clear {
        assert!(!x.proof.windows(24).any(|w| w == ext_bytes(*v).as_slice()), "an unmasked evaluation is in the proof");
    }
    assert_ne!(x.sent[0], y.sent[0]);
    assert_ne!(x.sent[1], y.sent[1]);
    let shared: Vec<_> = windows(&x.proof).intersection(&windows(&y.proof)).filter(|w| !framing(w)).copied().collect();
    assert!(shared.is_empty(), "zk runs share {} windows", shared.len());
}

#[test]
fn masked_sumcheck_over_views_rejects_lies() {
    let h = claimed_sum();
    let run = prove(13);
    assert!(verify(&run.com, h + EF::ONE, &run.proof).is_err(), "wrong sum");
    let other = prove(14);
    assert!(verify(&other.com, h, &run.proof).is_err(), "another commitment");
    // Every sumcheck value (Γ, the rounds, the mask values, the two finals) flipped in turn.
    let degree = product_mask_shape(KV, &terms(), false).degree;
    let values = 1 + KV * degree + KV + 2;
    assert_eq!(24 * (values - 2), run.finals_at, "layout of the sumcheck values");
    for k in 0..values {
        let mut bad = run.proof.clone();
        bad[24 * k] ^= 1;
        assert!(verify(&run.com, h, &bad).is_err(), "value {k} flipped and accepted");
    }
    // A prover that sends the plain partial evaluations (what the public mode sends).
    let mut bad = run.proof.clone();
    let clear: Vec<u8> = run.clear.iter().flat_map(|&v| ext_bytes(v)).collect();
    bad[run.finals_at..run.finals_at + 48].copy_from_slice(&clear);
    assert!(verify(&run.com, h, &bad).is_err(), "unmasked finals accepted");
    // A claim on an `All` polynomial at a point with a boolean coordinate is refused (it would
    // not be hidden), before anything is proven.
    let pcs = HidingPcs::default();
    let mut rng = StdRng::seed_from_u64(15);
    let (a, b) = (a(), b());
    let (_, data) = pcs.commit_with(&[&a, &b], &[Vanishing::All, Vanishing::All], &mut rng).expect("commit");
    let mut point = cat(&bit_point(KV, 3), &r_n());
    point[KV] = EF::from_u64(9);
    let value = data.evaluate(1, &point).expect("value");
    let mut t = ProverTranscript::new(&ds());
    assert!(pcs.open(data, &[OpeningClaim { poly: 1, point, value }], &mut t, &mut rng).is_err());
}

#[test]
fn a_commitment_without_vanishing_kinds_is_refused_by_the_verifier() {
    let run = prove(16);
    let mut com = run.com.clone();
    com.vanishing.pop();
    assert!(verify(&com, claimed_sum(), &run.proof).is_err());
    // Flipping a kind changes the commitment's bytes (absorbed), so the transcript diverges.
    let mut com = run.com.clone();
    com.vanishing[1] = Vanishing::Last;
    assert!(verify(&com, claimed_sum(), &run.proof).is_err());
}

/// The views' folded tables are the partial evaluations the openings are checked against (guards
/// the test's own indexing: MSB-first coordinates).
#[test]
fn the_folded_views_are_partial_evaluations() {
    let (fa, fb) = folded();
    let z: Vec<EF> = (0..KV as u64).map(|i| EF::from_u64(i + 40)).collect();
    assert_eq!(Mle::new(fa).evaluate(&z), Mle::new(a()).evaluate(&cat(&r_t(), &z)));
    assert_eq!(Mle::new(fb).evaluate(&z), Mle::new(b()).evaluate(&cat(&z, &r_n())));
}
