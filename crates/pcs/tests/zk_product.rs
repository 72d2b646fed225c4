//! The zero-knowledge building blocks composed: a proof of `Σ_x eq(w, x)·A(x)·B(x) = H` (a
//! matmul-style claim) that reveals nothing about the committed `A`, `B` beyond `H`.
//!
//! * `A`, `B` and the sumcheck's mask table are committed in ONE hiding batch
//!   (`zkinfer_pcs::hiding`).
//! * The sumcheck runs over the randomised extensions `Â`, `B̂` (equal to `A`, `B` on the cube,
//!   so `H` is unchanged; the rounds before the last are the plain product's, because
//!   `x_{n−1}(1 − x_{n−1})` vanishes while `x_{n−1}` is summed over `{0, 1}`; the last round has
//!   degree 5) and is masked (`zkinfer_sumcheck::zk`, degree 5).
//! * Its final values `Â(r)`, `B̂(r)` (uniformly random) and the mask values are claims on the
//!   hiding batch, opened at once.
//!
//! Against it: a public run of the same statement (plain sumcheck, `WhirPcs`) is deterministic
//! and sends `A(r)`, `B(r)` in clear.

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, HidingProverData};
use zkinfer_pcs::{OpeningClaim, Pcs, WhirPcs};
use zkinfer_poly::{Mle, eq_eval, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask, prove_batched_zk, verify_batched_zk};
use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim, SumcheckInstance};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

const N: usize = 8;
const SHAPE: MaskShape = MaskShape { num_rounds: N, degree: 5 };

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-product-test", 1)
}

fn a() -> Vec<F> {
    (0..1u64 << N).map(|i| F::from_u64((i * 37 + 11) % 251)).collect()
}

fn b() -> Vec<F> {
    (0..1u64 << N).map(|i| F::from_u64((i * i + 3) % 241)).collect()
}

fn w() -> Vec<EF> {
    (0..N as u64).map(|i| EF::from_u64(3 * i + 2)).collect()
}

fn claimed_sum() -> EF {
    let eq = eq_evals(&w());
    a().iter().zip(b()).zip(&eq).map(|((&x, y), &e)| e * EF::from(x * y)).sum()
}

/// `eq(w, x)·Â(x)·B̂(x)` with `Â = A + x_{n−1}(1 − x_{n−1})·M_A(x_{<μ})`.
struct RandomisedProduct<'a> {
    data: &'a HidingProverData,
    tables: [Vec<EF>; 3], // eq, A, B
    challenges: Vec<EF>,
}

impl RandomisedProduct<'_> {
    /// `(M_A, M_B)` at the bound prefix (known once every variable but the last is bound).
    fn mask_values(&self) -> (EF, EF) {
        let mut point = self.challenges.clone();
        point.push(EF::ZERO);
        (self.data.mask_value(0, &point).expect("mask A"), self.data.mask_value(1, &point).expect("mask B"))
    }
}

impl SumcheckInstance for RandomisedProduct<'_> {
    fn num_vars(&self) -> usize {
        N
    }
    fn degree(&self) -> usize {
        5
    }
    fn claimed_sum(&self) -> EF {
        claimed_sum()
    }
    fn round_evals(&self) -> Vec<EF> {
        let half = self.tables[0].len() / 2;
        let last = half == 1;
        let (ma, mb) = if last { self.mask_values() } else { (EF::ZERO, EF::ZERO) };
        (0..=5u64)
            .map(|t| {
                let t = EF::from_u64(t);
                let vanish = t * (EF::ONE - t);
                (0..half)
                    .map(|i| {
                        let at = |tab: &Vec<EF>| tab[i] + t * (tab[i + half] - tab[i]);
                        let (e, x, y) = (at(&self.tables[0]), at(&self.tables[1]), at(&self.tables[2]));
                        if last { e * (x + vanish * ma) * (y + vanish * mb) } else { e * x * y }
                    })
                    .sum()
            })
            .collect()
    }
    fn bind(&mut self, r: EF) {
        for tab in &mut self.tables {
            let half = tab.len() / 2;
            *tab = (0..half).map(|i| tab[i] + r * (tab[i + half] - tab[i])).collect();
        }
        self.challenges.push(r);
    }
    fn final_evals(&self) -> Vec<EF> {
        let mut point = self.challenges.clone();
        let r = point.pop().expect("bound");
        let vanish = r * (EF::ONE - r);
        point.push(r);
        vec![
            self.tables[1][0] + vanish * self.data.mask_value(0, &point).expect("mask A"),
            self.tables[2][0] + vanish * self.data.mask_value(1, &point).expect("mask B"),
        ]
    }
}

struct ZkRun {
    com: HidingCommitment,
    proof: Vec<u8>,
    /// `Â(r)`, `B̂(r)` as sent, and the unmasked `A(r)`, `B(r)`.
    sent: [EF; 2],
    clear: [EF; 2],
}

fn prove_zk(seed: u64) -> ZkRun {
    let pcs = HidingPcs::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mask = SumcheckMask::sample(SHAPE, &mut rng).expect("mask");
    let (a, b) = (a(), b());
    let (com, data) = pcs.commit(&[&a, &b, mask.table()], &mut rng).expect("commit");
    // The mask is checked through claims on its randomised extension: fold that in.
    for j in 0..N {
        let c = data.mask_value(2, &SHAPE.claim_point(j, EF::ZERO)).expect("mask value");
        mask.add_vanishing_term(j, c).expect("degree ≥ 2");
    }
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    t.absorb_public_exts("test/w", &w());
    let lifted = |v: Vec<F>| v.into_iter().map(EF::from).collect::<Vec<EF>>();
    let mut inst = RandomisedProduct { data: &data, tables: [eq_evals(&w()), lifted(a.clone()), lifted(b.clone())], challenges: vec![] };
    let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
    let sent = [out.inner.final_evals[0][0], out.inner.final_evals[0][1]];
    t.send_exts(&sent);
    let point = out.inner.point.clone();
    let mut claims = vec![
        OpeningClaim { poly: 0, point: point.clone(), value: sent[0] },
        OpeningClaim { poly: 1, point: point.clone(), value: sent[1] },
    ];
    claims.extend(out.mask_claims.iter().map(|(p, v)| OpeningClaim { poly: 2, point: p.clone(), value: *v }));
    pcs.open(data, &claims, &mut t, &mut rng).expect("open");
    let clear = [Mle::new(a).evaluate(&point), Mle::new(b).evaluate(&point)];
    ZkRun { com, proof: t.into_proof(), sent, clear }
}

fn verify_zk(com: &HidingCommitment, h: EF, proof: &[u8]) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    t.absorb_public_exts("test/w", &w());
    let claim = SumcheckClaim { num_vars: N, degree: 5, claimed_sum: h };
    let v = verify_batched_zk(&[claim], SHAPE, &mut t).map_err(|e| e.to_string())?;
    let sent = t.receive_exts(2).map_err(|e| e.to_string())?;
    let point = v.inner.point.clone();
    v.inner.check_final(&[eq_eval(&w(), &point) * sent[0] * sent[1]]).map_err(|e| e.to_string())?;
    let mut claims = vec![
        OpeningClaim { poly: 0, point: point.clone(), value: sent[0] },
        OpeningClaim { poly: 1, point, value: sent[1] },
    ];
    claims.extend(v.mask_claims.iter().map(|(p, v)| OpeningClaim { poly: 2, point: p.clone(), value: *v }));
    pcs.verify(com, &claims, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

/// The same statement in public mode: plain sumcheck, `A(r)`, `B(r)` in clear, `WhirPcs`.
fn prove_public() -> Vec<u8> {
    let pcs = WhirPcs::default();
    let (a, b) = (a(), b());
    let (com, data) = pcs.commit(&[Mle::new(a.clone()), Mle::new(b.clone())]).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    t.absorb_public_exts("test/w", &w());
    let mut inst = ProductSumcheck::new_base(vec![Mle::new(a), Mle::new(b)], vec![(EF::ONE, vec![0, 1])], Some(w()));
    let out = zkinfer_sumcheck::prove(&mut inst, &mut t);
    t.send_exts(&out.final_evals[0]);
    let claims: Vec<OpeningClaim> =
        (0..2).map(|k| OpeningClaim { poly: k, point: out.point.clone(), value: out.final_evals[0][k] }).collect();
    pcs.open(&data, &claims, &mut t).expect("open");
    t.into_proof()
}

fn windows(p: &[u8]) -> HashSet<u128> {
    p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16 bytes"))).collect()
}

/// bincode's length prefixes and counts: small little-endian integers (≥ 10 zero bytes in 16).
fn framing(w: &u128) -> bool {
    w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10
}

#[test]
fn zk_product_verifies_and_hides_the_committed_values() {
    let h = claimed_sum();
    let run = prove_zk(1);
    verify_zk(&run.com, h, &run.proof).expect("honest zk proof verifies");
    // The sent final values are the randomised extension's, not A(r), B(r).
    assert_ne!(run.sent, run.clear);
    for x in run.clear {
        let limbs: &[F] = zkinfer_field::BasedVectorSpace::as_basis_coefficients_slice(&x);
        let needle: Vec<u8> = limbs.iter().flat_map(|l| p3_field::PrimeField64::as_canonical_u64(l).to_le_bytes()).collect();
        assert!(!run.proof.windows(24).any(|w| w == needle.as_slice()), "an unmasked evaluation is in the proof");
    }
}

/// Issue 13's bar on this statement, showing both sides: two zk runs share no sent value and no
/// 16-byte window outside the framing; two public runs share every window.
#[test]
fn two_zk_runs_share_nothing_two_public_runs_share_everything() {
    let (x, y) = (prove_zk(2), prove_zk(3));
    assert_ne!(x.sent[0], y.sent[0]);
    assert_ne!(x.sent[1], y.sent[1]);
    let (wx, wy) = (windows(&x.proof), windows(&y.proof));
    let shared: Vec<_> = wx.intersection(&wy).filter(|w| !framing(w)).collect();
    assert!(shared.is_empty(), "zk runs share {} windows", shared.len());
    let (p, q) = (prove_public(), prove_public());
    assert_eq!(p, q, "public mode is deterministic");
    let wp = windows(&p);
    let real = wp.iter().filter(|w| !framing(w)).count();
    assert!(real > 1000 && wp.intersection(&windows(&q)).filter(|w| !framing(w)).count() == real);
}

#[test]
fn zk_product_rejects_lies() {
    let h = claimed_sum();
    let run = prove_zk(4);
    // A wrong statement.
    assert!(verify_zk(&run.com, h + EF::ONE, &run.proof).is_err());
    // Another commitment.
    let other = prove_zk(5);
    assert!(verify_zk(&other.com, h, &run.proof).is_err());
    // Every sumcheck value (Γ, rounds, mask values, Â(r), B̂(r): the first 24-byte values after
    // nothing else) flipped in turn.
    let sumcheck_values = 1 + N * 5 + N + 2;
    for k in 0..sumcheck_values {
        let mut bad = run.proof.clone();
        bad[24 * k] ^= 1;
        assert!(verify_zk(&run.com, h, &bad).is_err(), "value {k} flipped and accepted");
    }
    // A prover that sends the unmasked A(r), B(r) (what a public proof sends) is rejected: the
    // product check or the opening of the randomised extensions fails.
    let mut bad = run.proof.clone();
    let at = 24 * (1 + N * 5 + N);
    let mut pt = ProverTranscript::new(&ds());
    pt.send_exts(&run.clear);
    bad[at..at + 48].copy_from_slice(&pt.into_proof());
    assert!(verify_zk(&run.com, h, &bad).is_err());
}

/// The same statement through the library's masked product sumcheck
/// (`zkinfer_sumcheck::zk_product`, the building block for the ops' product sumchecks): `A`, `B`
/// and its mask table in one hiding batch, the mask's own randomised extension folded in, every
/// claim opened at once. Honest proofs verify; a wrong sum and another commitment are rejected;
/// two runs share no 16-byte window outside the framing.
#[test]
fn library_zk_product_sumcheck_composes_with_the_hiding_pcs() {
    use zkinfer_sumcheck::zk_product::{ZkProductSumcheck, base_instance, product_mask_shape, prove_product_zk, verify_product_zk};
    let terms = vec![(EF::ONE, vec![0, 1])];
    let shape = product_mask_shape(N, &terms, true);
    assert_eq!(shape, SHAPE, "degree 5 = 2·2 + eq");
    let prove = |seed: u64| {
        let pcs = HidingPcs::default();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut mask = SumcheckMask::sample(shape, &mut rng).expect("mask");
        let (com, data) = pcs.commit(&[&a(), &b(), mask.table()], &mut rng).expect("commit");
        for j in 0..N {
            mask.add_vanishing_term(j, data.mask_value(2, &shape.claim_point(j, EF::ZERO)).expect("mask value")).expect("fold");
        }
        let mut t = ProverTranscript::new(&ds());
        pcs.absorb_commitment(&com, &mut t);
        let hidden = |j: usize, z: &[EF]| data.mask_value(j, z).expect("mask value");
        let inner = base_instance(vec![a(), b()], terms.clone(), Some(w()));
        let mut inst = ZkProductSumcheck::new(inner, terms.clone(), Some(w()), 2, &hidden).expect("instance");
        let out = prove_product_zk(&mut inst, &mask, &mut t);
        let mut claims: Vec<OpeningClaim> = out.values.iter().enumerate().map(|(k, &v)| OpeningClaim { poly: k, point: out.point.clone(), value: v }).collect();
        claims.extend(out.mask_claims.iter().map(|(p, v)| OpeningClaim { poly: 2, point: p.clone(), value: *v }));
        drop(inst);
        pcs.open(data, &claims, &mut t, &mut rng).expect("open");
        (com, t.into_proof())
    };
    let verify = |com: &HidingCommitment, h: EF, proof: &[u8]| -> Result<(), String> {
        let pcs = HidingPcs::default();
        let mut t = VerifierTranscript::new(&ds(), proof);
        pcs.absorb_commitment(com, &mut t);
        let out = verify_product_zk(h, N, &terms, Some(&w()), 2, &mut t).map_err(|e| e.to_string())?;
        let mut claims: Vec<OpeningClaim> = out.values.iter().enumerate().map(|(k, &v)| OpeningClaim { poly: k, point: out.point.clone(), value: v }).collect();
        claims.extend(out.mask_claims.iter().map(|(p, v)| OpeningClaim { poly: 2, point: p.clone(), value: *v }));
        pcs.verify(com, &claims, &mut t).map_err(|e| e.to_string())?;
        t.finish().map_err(|e| e.to_string())
    };
    let h = claimed_sum();
    let (cx, x) = prove(11);
    let (cy, y) = prove(12);
    verify(&cx, h, &x).expect("x verifies");
    verify(&cy, h, &y).expect("y verifies");
    assert!(verify(&cx, h + EF::ONE, &x).is_err(), "wrong sum");
    assert!(verify(&cy, h, &x).is_err(), "another commitment");
    let shared: Vec<_> = windows(&x).intersection(&windows(&y)).filter(|w| !framing(w)).copied().collect();
    assert!(shared.is_empty(), "zk runs share {} windows", shared.len());
}
