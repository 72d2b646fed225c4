use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{BasedVectorSpace, EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use super::*;
use crate::{ProductSumcheck, SumcheckClaim, product_value};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-sumcheck-test", 1)
}

fn table(n: usize, seed: u64) -> Mle<F> {
    Mle::new((0..1u64 << n).map(|i| F::from_u64((i * 7919 + seed * 104_729) % 65_521)).collect())
}

/// Two instances: `eq(w,x)·P·Q` over 4 variables (degree 3) and `A·B` over 3 (degree 2).
struct Fixture {
    p: Mle<F>,
    q: Mle<F>,
    a: Mle<F>,
    b: Mle<F>,
    w: Vec<EF>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            p: table(4, 1),
            q: table(4, 2),
            a: table(3, 3),
            b: table(3, 4),
            w: [3, 5, 7, 11].map(EF::from_u64).to_vec(),
        }
    }

    fn instances(&self) -> (ProductSumcheck, ProductSumcheck) {
        let one = vec![(EF::ONE, vec![0, 1])];
        (
            ProductSumcheck::new_base(vec![self.p.clone(), self.q.clone()], one.clone(), Some(self.w.clone())),
            ProductSumcheck::new_base(vec![self.a.clone(), self.b.clone()], one, None),
        )
    }

    fn claims(&self) -> Vec<SumcheckClaim> {
        let (i1, i2) = self.instances();
        vec![
            SumcheckClaim { num_vars: 4, degree: 3, claimed_sum: i1.claimed_sum() },
            SumcheckClaim { num_vars: 3, degree: 2, claimed_sum: i2.claimed_sum() },
        ]
    }
}

const SHAPE: MaskShape = MaskShape { num_rounds: 4, degree: 3 };

/// Proves the fixture with a masked sumcheck; the mask table is "committed" by absorbing it in
/// full (the tests check the mask claims against the table directly, as an opening would).
fn prove(fx: &Fixture, seed: u64) -> (Vec<u8>, SumcheckMask) {
    let mask = SumcheckMask::sample(SHAPE, &mut StdRng::seed_from_u64(seed)).expect("mask");
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/mask-commitment", mask.table());
    let (mut i1, mut i2) = fx.instances();
    let out = prove_batched_zk(&mut [&mut i1, &mut i2], &mask, &mut t);
    for evals in &out.inner.final_evals {
        t.send_exts(evals);
    }
    (t.into_proof(), mask)
}

/// Full verification: rounds, final claim from the sent evaluations, mask claims against the
/// (test-committed) table.
fn verify(fx: &Fixture, proof: &[u8], mask_table: &[F]) -> Result<(), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/mask-commitment", mask_table);
    let v = verify_batched_zk(&fx.claims(), SHAPE, &mut t).map_err(|e| e.to_string())?;
    let one = vec![(EF::ONE, vec![0, 1])];
    let e1 = t.receive_exts(2).map_err(|e| e.to_string())?;
    let e2 = t.receive_exts(2).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    let g1 = product_value(&one, Some(&fx.w), v.inner.instance_point(0), &e1).map_err(|e| e.to_string())?;
    let g2 = product_value(&one, None, v.inner.instance_point(1), &e2).map_err(|e| e.to_string())?;
    v.inner.check_final(&[g1, g2]).map_err(|e| e.to_string())?;
    // The sent evaluations must be the committed tables' (the caller's openings).
    let pt0 = v.inner.instance_point(0);
    let pt1 = v.inner.instance_point(1);
    if e1 != [fx.p.evaluate(pt0), fx.q.evaluate(pt0)] || e2 != [fx.a.evaluate(pt1), fx.b.evaluate(pt1)] {
        return Err("final evaluations are not the committed tables'".into());
    }
    let g = Mle::new(mask_table.to_vec());
    for (point, value) in &v.mask_claims {
        if g.evaluate(point) != *value {
            return Err("mask claim does not open".into());
        }
    }
    Ok(())
}

#[test]
fn gamma_combines_four_components_onto_all_of_ef() {
    // The 4×3 matrix of eq(γ, c)'s base-field coordinates has rank 3.
    let eqs = zkinfer_poly::eq_evals(&gamma());
    let mut rows: Vec<Vec<F>> = eqs.iter().map(|e| e.as_basis_coefficients_slice().to_vec()).collect();
    let mut rank = 0;
    for col in 0..3 {
        if let Some(pivot) = (rank..rows.len()).find(|&r| rows[r][col] != F::ZERO) {
            rows.swap(rank, pivot);
            let inv = rows[rank][col].inverse();
            let pr = rows[rank].clone();
            for (r, row) in rows.iter_mut().enumerate() {
                if r != rank {
                    let f = row[col] * inv;
                    for k in 0..3 {
                        row[k] -= f * pr[k];
                    }
                }
            }
            rank += 1;
        }
    }
    assert_eq!(rank, 3);
}

#[test]
fn mask_table_evaluates_to_the_round_masks() {
    for shape in [MaskShape { num_rounds: 1, degree: 1 }, MaskShape { num_rounds: 5, degree: 2 }, MaskShape { num_rounds: 3, degree: 4 }] {
        let mask = SumcheckMask::sample(shape, &mut StdRng::seed_from_u64(9)).expect("mask");
        assert_eq!(mask.table().len(), 1 << shape.num_vars());
        let g = Mle::new(mask.table().to_vec());
        for j in 0..shape.num_rounds {
            for r in [EF::ZERO, EF::ONE, EF::from_u64(12_345), gamma()[1] + EF::from_u64(3)] {
                assert_eq!(g.evaluate(&shape.claim_point(j, r)), mask.eval_round(j, r), "{shape:?} round {j}");
            }
        }
        // Γ is the mask's sum over the cube.
        let n = shape.num_rounds;
        let brute: EF = (0..1usize << n)
            .map(|x| (0..n).map(|j| mask.eval_round(j, if (x >> (n - 1 - j)) & 1 == 1 { EF::ONE } else { EF::ZERO })).sum::<EF>())
            .sum();
        assert_eq!(brute, mask.total_sum());
    }
    assert!(SumcheckMask::sample(MaskShape { num_rounds: 2, degree: 0 }, &mut StdRng::seed_from_u64(1)).is_err());
}

#[test]
fn honest_masked_batch_verifies() {
    let fx = Fixture::new();
    let (proof, mask) = prove(&fx, 1);
    verify(&fx, &proof, mask.table()).expect("honest proof verifies");
}

/// Every sent value (Γ, each round value, each mask evaluation, each final evaluation) altered
/// in turn: verification fails.
#[test]
fn every_tampered_sent_value_is_rejected() {
    let fx = Fixture::new();
    let (proof, mask) = prove(&fx, 2);
    assert_eq!(proof.len() % 24, 0, "the proof is a list of EF values");
    for pos in (0..proof.len()).step_by(8) {
        let mut bad = proof.clone();
        bad[pos] ^= 1;
        assert!(verify(&fx, &bad, mask.table()).is_err(), "tampered limb at byte {pos} accepted");
    }
    // A mask table other than the committed one (same claims) does not open.
    let other = SumcheckMask::sample(SHAPE, &mut StdRng::seed_from_u64(3)).expect("mask");
    assert!(verify(&fx, &proof, other.table()).is_err());
}

/// A prover claiming a wrong sum cannot use the mask to absorb the difference: `Γ` is sent before
/// `ρ`, and the mask is committed.
#[test]
fn wrong_claimed_sum_is_rejected_for_every_choice_of_gamma_shift() {
    struct Lying<'a>(&'a mut ProductSumcheck, EF);
    impl SumcheckInstance for Lying<'_> {
        fn num_vars(&self) -> usize {
            self.0.num_vars()
        }
        fn degree(&self) -> usize {
            self.0.degree()
        }
        fn claimed_sum(&self) -> EF {
            self.0.claimed_sum() + self.1
        }
        fn round_evals(&self) -> Vec<EF> {
            self.0.round_evals()
        }
        fn bind(&mut self, r: EF) {
            self.0.bind(r)
        }
        fn final_evals(&self) -> Vec<EF> {
            self.0.final_evals()
        }
    }
    let fx = Fixture::new();
    let mask = SumcheckMask::sample(SHAPE, &mut StdRng::seed_from_u64(4)).expect("mask");
    let (mut i1, mut i2) = fx.instances();
    let lie = EF::from_u64(1);
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/mask-commitment", mask.table());
    let mut l1 = Lying(&mut i1, lie);
    let out = prove_batched_zk(&mut [&mut l1, &mut i2], &mask, &mut t);
    for evals in &out.inner.final_evals {
        t.send_exts(evals);
    }
    let proof = t.into_proof();
    // The verifier is given the lying claim; the prover's round polynomials are the honest
    // ones, so the derived s(1) is off and the final check fails.
    let mut claims = fx.claims();
    claims[0].claimed_sum += lie;
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    vt.absorb_public_fields("test/mask-commitment", mask.table());
    let v = verify_batched_zk(&claims, SHAPE, &mut vt).expect("rounds parse");
    let one = vec![(EF::ONE, vec![0, 1])];
    let e1 = vt.receive_exts(2).expect("evals");
    let e2 = vt.receive_exts(2).expect("evals");
    let g1 = product_value(&one, Some(&fx.w), v.inner.instance_point(0), &e1).expect("value");
    let g2 = product_value(&one, None, v.inner.instance_point(1), &e2).expect("value");
    assert_eq!(v.inner.check_final(&[g1, g2]), Err(SumcheckError::FinalMismatch));
    // Shifting Γ to absorb the lie needs ρ, which is drawn after Γ: with Γ' = Γ − lie/ρ_guess
    // for a guessed ρ the transcript (hence ρ) changes and the check still fails.
    let guess = EF::from_u64(5);
    let mut shifted = proof.clone();
    let adjusted = mask.total_sum() - lie * guess.inverse();
    let mut pt = ProverTranscript::new(&ds());
    pt.send_ext(adjusted);
    shifted[..24].copy_from_slice(&pt.into_proof());
    let mut vt = VerifierTranscript::new(&ds(), &shifted);
    vt.absorb_public_fields("test/mask-commitment", mask.table());
    let v = verify_batched_zk(&claims, SHAPE, &mut vt);
    if let Ok(v) = v {
        let e1 = vt.receive_exts(2).expect("evals");
        let e2 = vt.receive_exts(2).expect("evals");
        let g1 = product_value(&one, Some(&fx.w), v.inner.instance_point(0), &e1).expect("value");
        let g2 = product_value(&one, None, v.inner.instance_point(1), &e2).expect("value");
        assert!(v.inner.check_final(&[g1, g2]).is_err());
    }
}

/// Issue 13's bar at the protocol level: two masked runs on the same witness share no sent
/// value, two public runs share all of them.
#[test]
fn two_masked_runs_share_no_sent_value_two_public_runs_share_all() {
    let fx = Fixture::new();
    let values = |proof: &[u8]| -> Vec<[u8; 24]> {
        proof.chunks_exact(24).map(|c| c.try_into().expect("24 bytes")).collect()
    };
    let (a, _) = prove(&fx, 10);
    let (b, _) = prove(&fx, 11);
    let (va, vb) = (values(&a), values(&b));
    // The final evaluations P(r), Q(r), … are sent in clear by this test's caller and the
    // points differ, so every value differs; count the shared ones over the whole proof.
    let shared = va.iter().filter(|x| vb.contains(x)).count();
    assert_eq!(shared, 0, "masked runs share {shared} of {} sent values", va.len());
    // No 16-byte window in common either.
    let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<std::collections::HashSet<_>>();
    assert!(windows(&a).is_disjoint(&windows(&b)));

    // Public mode: the same statement gives the same bytes.
    let public = || {
        let mut t = ProverTranscript::new(&ds());
        let (mut i1, mut i2) = fx.instances();
        let out = crate::prove_batched(&mut [&mut i1, &mut i2], &mut t);
        for evals in &out.final_evals {
            t.send_exts(evals);
        }
        t.into_proof()
    };
    let (p1, p2) = (public(), public());
    assert_eq!(p1, p2);
    assert!(!values(&p1).is_empty());
}

fn interactive_fixture() -> (ProductSumcheck, Vec<EF>, EF) {
    let p = table(3, 5);
    let q = table(3, 6);
    let w: Vec<EF> = [2, 9, 4].map(EF::from_u64).to_vec();
    let inst = ProductSumcheck::new_base(vec![p, q], vec![(EF::ONE, vec![0, 1])], Some(w));
    let r: Vec<EF> = [17, 23, 29].map(EF::from_u64).to_vec();
    (inst, r, EF::from_u64(31))
}

/// The ZK argument of the module docs, checked numerically: with fixed challenges and witness,
/// the map from the mask's EF coefficients to the transcript is affine and injective (rank
/// N·(D+1)), so the transcript is uniform on an affine space of that dimension.
#[test]
fn mask_to_transcript_map_is_injective() {
    let (inst, r, rho) = interactive_fixture();
    let shape = MaskShape { num_rounds: 3, degree: 3 };
    let base = SumcheckMask::sample(shape, &mut StdRng::seed_from_u64(1)).expect("mask");
    let flatten = |z: &ZkRounds| -> Vec<EF> {
        let mut v = vec![z.mask_sum];
        for s in &z.rounds {
            v.extend(s);
        }
        v.extend(&z.mask_values);
        v
    };
    let run = |m: &SumcheckMask| flatten(&prove_interactive(&mut inst.clone(), m, rho, &r));
    let t0 = run(&base);
    let mut rows: Vec<Vec<EF>> = Vec::new();
    for j in 0..shape.num_rounds {
        for d in 0..=shape.degree {
            let mut m = base.clone();
            m.coeffs[j][d] += EF::ONE;
            rows.push(run(&m).iter().zip(&t0).map(|(a, b)| *a - *b).collect());
        }
    }
    // Rank over EF by elimination.
    let cols = rows[0].len();
    let mut rank = 0;
    for col in 0..cols {
        if let Some(p) = (rank..rows.len()).find(|&i| rows[i][col] != EF::ZERO) {
            rows.swap(rank, p);
            let inv = rows[rank][col].inverse();
            let pr = rows[rank].clone();
            for (i, row) in rows.iter_mut().enumerate() {
                if i != rank && row[col] != EF::ZERO {
                    let f = row[col] * inv;
                    for k in 0..cols {
                        row[k] -= f * pr[k];
                    }
                }
            }
            rank += 1;
        }
    }
    assert_eq!(rank, shape.num_rounds * (shape.degree + 1));
    // The space the transcript lives in: 1 + N(D+1) + N coordinates, N + 1 constraints.
    assert_eq!(cols - (shape.num_rounds + 1), rank);
}

/// Simulator: transcripts made without the witness pass the verifier's checks with the honest
/// final value, and their round messages' coordinates have the same distribution as honest
/// ones (a statistical test of low bits over many runs).
#[test]
fn simulated_transcripts_pass_and_match_the_honest_distribution() {
    let (inst, r, rho) = interactive_fixture();
    let shape = MaskShape { num_rounds: 3, degree: 3 };
    let claimed = inst.claimed_sum();
    let mut honest = inst.clone();
    let honest_final = {
        let z = prove_interactive(&mut honest, &SumcheckMask::sample(shape, &mut StdRng::seed_from_u64(0)).expect("mask"), rho, &r);
        check_interactive(claimed, &z, rho, &r).expect("honest transcript passes")
    };
    let runs = 600;
    let mut rng = StdRng::seed_from_u64(77);
    let coords = 1 + 3 * 4 + 3;
    let mut real_ones = vec![0usize; coords * 3];
    let mut sim_ones = vec![0usize; coords * 3];
    let count = |z: &ZkRounds, ones: &mut [usize]| {
        let mut v = vec![z.mask_sum];
        for s in &z.rounds {
            v.extend(s);
        }
        v.extend(&z.mask_values);
        for (i, x) in v.iter().enumerate() {
            let limbs: &[F] = x.as_basis_coefficients_slice();
            for (k, c) in limbs.iter().enumerate() {
                ones[i * 3 + k] += (p3_field::PrimeField64::as_canonical_u64(c) & 1) as usize;
            }
        }
    };
    for _ in 0..runs {
        let mask = SumcheckMask::sample(shape, &mut rng).expect("mask");
        let z = prove_interactive(&mut inst.clone(), &mask, rho, &r);
        assert_eq!(check_interactive(claimed, &z, rho, &r), Ok(honest_final));
        count(&z, &mut real_ones);
        let s = simulate(claimed, honest_final, shape.degree, rho, &r, &mut rng);
        assert_eq!(check_interactive(claimed, &s, rho, &r), Ok(honest_final), "simulated transcript fails");
        count(&s, &mut sim_ones);
    }
    // Each low bit is Bernoulli(1/2) in both: |ones − n/2| < 5σ (σ = √n/2 ≈ 12.2), and the two
    // samples agree within 5·√2·σ.
    let sigma = (runs as f64).sqrt() / 2.0;
    for i in 0..coords * 3 {
        let (a, b) = (real_ones[i] as f64, sim_ones[i] as f64);
        assert!((a - runs as f64 / 2.0).abs() < 5.0 * sigma, "honest coordinate {i}: {a}/{runs}");
        assert!((b - runs as f64 / 2.0).abs() < 5.0 * sigma, "simulated coordinate {i}: {b}/{runs}");
        assert!((a - b).abs() < 5.0 * std::f64::consts::SQRT_2 * sigma, "coordinate {i}: {a} vs {b}");
    }
    // Without a mask (public mode) the first round value is a fixed function of the witness:
    // the test can fail — all runs would agree, not look like Bernoulli(1/2).
    let public_first: Vec<EF> = (0..3).map(|_| inst.round_evals()[0]).collect();
    assert!(public_first.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn verifier_rejects_mismatched_mask_shapes_and_truncation() {
    let fx = Fixture::new();
    let (proof, mask) = prove(&fx, 5);
    let run = |shape: MaskShape, proof: &[u8]| {
        let mut t = VerifierTranscript::new(&ds(), proof);
        t.absorb_public_fields("test/mask-commitment", mask.table());
        verify_batched_zk(&fx.claims(), shape, &mut t).map(|_| ())
    };
    assert_eq!(run(MaskShape { num_rounds: 3, degree: 3 }, &proof), Err(SumcheckError::MaskShapeMismatch));
    assert_eq!(run(MaskShape { num_rounds: 4, degree: 2 }, &proof), Err(SumcheckError::MaskShapeMismatch));
    assert!(run(MaskShape { num_rounds: 4, degree: 0 }, &proof).is_err());
    assert!(run(SHAPE, &proof[..proof.len() - 24 * 5]).is_err());
    assert!(run(SHAPE, &proof).is_ok());
}
