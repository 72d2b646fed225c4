#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use super::*;
use proptest::prelude::*;
use zkinfer_transcript::DomainSeparator;

use zkinfer_field::SplitMix64 as Rng;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-sumcheck-test", 1)
}

/// A random problem: tables, terms, optional eq point, in base or extension field.
#[derive(Clone, Debug)]
struct Problem {
    tables: Vec<Vec<F>>,
    ext_tables: Option<Vec<Vec<EF>>>,
    terms: Vec<Term>,
    eq_point: Option<Vec<EF>>,
    num_vars: usize,
}

impl Problem {
    fn random(
        rng: &mut Rng,
        num_vars: usize,
        num_tables: usize,
        term_lens: &[usize],
        eq: bool,
        ext: bool,
    ) -> Self {
        let n = 1 << num_vars;
        let tables: Vec<Vec<F>> = (0..num_tables)
            .map(|_| (0..n).map(|_| rng.f()).collect())
            .collect();
        let ext_tables = ext.then(|| {
            (0..num_tables)
                .map(|_| (0..n).map(|_| rng.ef()).collect())
                .collect()
        });
        let terms = term_lens
            .iter()
            .map(|&len| (rng.ef(), (0..len).map(|_| rng.below(num_tables)).collect()))
            .collect();
        let eq_point = eq.then(|| (0..num_vars).map(|_| rng.ef()).collect());
        Self {
            tables,
            ext_tables,
            terms,
            eq_point,
            num_vars,
        }
    }

    fn instance(&self) -> ProductSumcheck {
        match &self.ext_tables {
            Some(t) => ProductSumcheck::new(
                t.iter().map(|v| Mle::new(v.clone())).collect(),
                self.terms.clone(),
                self.eq_point.clone(),
            ),
            None => ProductSumcheck::new_base(
                self.tables.iter().map(|v| Mle::new(v.clone())).collect(),
                self.terms.clone(),
                self.eq_point.clone(),
            ),
        }
    }

    fn table_value(&self, j: usize, x: usize) -> EF {
        match &self.ext_tables {
            Some(t) => t[j][x],
            None => EF::from(self.tables[j][x]),
        }
    }

    /// Σ_x g(x) by brute force.
    fn brute_force_sum(&self) -> EF {
        let n = self.num_vars;
        (0..1usize << n)
            .map(|x| {
                let bits: Vec<EF> = (0..n)
                    .map(|k| EF::from_usize((x >> (n - 1 - k)) & 1))
                    .collect();
                let eq = self
                    .eq_point
                    .as_ref()
                    .map_or(EF::ONE, |w| eq_eval(w, &bits));
                let prod: EF = self
                    .terms
                    .iter()
                    .map(|(c, idx)| idx.iter().fold(*c, |p, &j| p * self.table_value(j, x)))
                    .sum();
                eq * prod
            })
            .sum()
    }

    /// Each table's MLE at `point`, evaluated directly.
    fn mle_evals(&self, point: &[EF]) -> Vec<EF> {
        match &self.ext_tables {
            Some(t) => t
                .iter()
                .map(|v| Mle::new(v.clone()).evaluate(point))
                .collect(),
            None => self
                .tables
                .iter()
                .map(|v| Mle::new(v.clone()).evaluate(point))
                .collect(),
        }
    }

    fn claim(&self) -> SumcheckClaim {
        SumcheckClaim {
            num_vars: self.num_vars,
            degree: self.terms.iter().map(|(_, i)| i.len()).max().unwrap_or(0)
                + usize::from(self.eq_point.is_some()),
            claimed_sum: self.brute_force_sum(),
        }
    }

    fn g_at(&self, point: &[EF], evals: &[EF]) -> Result<EF, SumcheckError> {
        product_value(&self.terms, self.eq_point.as_deref(), point, evals)
    }
}

/// Honest prover: the batched sumcheck followed by every final evaluation.
fn prove_problems(problems: &[Problem]) -> (Vec<u8>, SumcheckOutput) {
    let mut instances: Vec<ProductSumcheck> = problems.iter().map(Problem::instance).collect();
    let mut t = ProverTranscript::new(&ds());
    let mut refs: Vec<&mut dyn SumcheckInstance> = instances
        .iter_mut()
        .map(|i| i as &mut dyn SumcheckInstance)
        .collect();
    let out = prove_batched(&mut refs, &mut t);
    for evals in &out.final_evals {
        t.send_exts(evals);
    }
    (t.into_proof(), out)
}

/// Verifier: rounds, then the final evaluations, then the final check and the end of the proof.
fn verify_problems(
    claims: &[SumcheckClaim],
    problems: &[Problem],
    proof: &[u8],
) -> Result<Vec<EF>, SumcheckError> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    let verified = verify_batched(claims, &mut t)?;
    let mut values = Vec::new();
    for (i, p) in problems.iter().enumerate() {
        let evals = t.receive_exts(p.tables.len())?;
        values.push(p.g_at(verified.instance_point(i), &evals)?);
    }
    verified.check_final(&values)?;
    t.finish()?;
    Ok(verified.point)
}

fn check_honest(problems: &[Problem]) {
    let claims: Vec<SumcheckClaim> = problems.iter().map(Problem::claim).collect();
    for (p, c) in problems.iter().zip(&claims) {
        let inst = p.instance();
        assert_eq!(
            inst.claimed_sum(),
            c.claimed_sum,
            "prover's claimed sum differs from brute force"
        );
        assert_eq!(inst.degree(), c.degree);
    }
    let (proof, out) = prove_problems(problems);
    let total = problems.iter().map(|p| p.num_vars).max().unwrap_or(0);
    assert_eq!(out.point.len(), total);
    for (p, evals) in problems.iter().zip(&out.final_evals) {
        let suffix = &out.point[total - p.num_vars..];
        assert_eq!(
            evals,
            &p.mle_evals(suffix),
            "final evaluations are not the MLEs at the point"
        );
    }
    let point = verify_problems(&claims, problems, &proof).expect("honest proof rejected");
    assert_eq!(point, out.point);
}

#[test]
fn single_instances_of_every_shape_verify() {
    let mut rng = Rng(11);
    let shapes: &[(usize, &[usize])] = &[
        (1, &[1]),
        (2, &[2]),
        (3, &[3]),
        (4, &[4]),
        (3, &[2, 1, 3]),
        (4, &[4, 2, 0]),
        (2, &[1, 1]),
    ];
    for &(tables, terms) in shapes {
        for num_vars in [0, 1, 2, 5] {
            for eq in [false, true] {
                for ext in [false, true] {
                    let p = Problem::random(&mut rng, num_vars, tables, terms, eq, ext);
                    check_honest(&[p]);
                }
            }
        }
    }
}

#[test]
fn large_instances_take_the_parallel_path() {
    let mut rng = Rng(12);
    for eq in [false, true] {
        check_honest(&[Problem::random(&mut rng, 15, 2, &[2], eq, false)]);
    }
    check_honest(&[Problem::random(&mut rng, 14, 3, &[3, 1], true, true)]);
    // Extension tables large enough to be repacked for SIMD, without eq, with four factors.
    check_honest(&[Problem::random(&mut rng, 13, 4, &[4, 2], false, true)]);
}

#[test]
fn batches_with_different_num_vars_and_degrees_verify() {
    let mut rng = Rng(13);
    let problems = vec![
        Problem::random(&mut rng, 6, 2, &[2], false, false),
        Problem::random(&mut rng, 3, 3, &[3], true, false),
        Problem::random(&mut rng, 0, 1, &[1], false, true),
        Problem::random(&mut rng, 4, 4, &[4, 1], true, true),
        Problem::random(&mut rng, 6, 1, &[1], true, false),
    ];
    check_honest(&problems);
}

#[test]
fn round_polynomials_have_the_declared_degree() {
    let mut rng = Rng(14);
    let p = Problem::random(&mut rng, 4, 3, &[3], true, false);
    let mut inst = p.instance();
    for _ in 0..4 {
        let evals = inst.round_evals();
        assert_eq!(evals.len(), 5);
        // The evaluation at 5 points of a degree-4 polynomial: the 4th finite difference is not
        // identically zero for random data, and the 5th would be zero (checked via interpolation).
        let extrapolated = interpolate_uni(&evals[..4], EF::from_usize(4));
        assert_ne!(
            extrapolated, evals[4],
            "round polynomial has lower degree than declared"
        );
        inst.bind(rng.ef());
    }
}

/// Field-element offsets (bytes) of every round evaluation in a proof of `rounds` rounds with
/// `points` evaluations each.
fn round_eval_offsets(rounds: usize, points: usize) -> Vec<usize> {
    let per_round = points * 24;
    (0..rounds)
        .flat_map(|r| (0..points).map(move |k| r * per_round + k * 24))
        .collect()
}

/// Adds one to the base-field coefficient encoded at `offset` (staying canonical).
fn bump(proof: &mut [u8], offset: usize) {
    let mut word = [0u8; 8];
    word.copy_from_slice(&proof[offset..offset + 8]);
    let v = (u64::from_le_bytes(word) + 1) % zkinfer_field::P;
    proof[offset..offset + 8].copy_from_slice(&v.to_le_bytes());
}

/// Rounds and evaluations per round of the negative-test batch: 4 rounds of degree 3.
const NEG_ROUNDS: usize = 4;
const NEG_POINTS: usize = 3;
const NEG_ROUND_BYTES: usize = NEG_POINTS * 24;

fn batch_for_negative_tests() -> (Vec<Problem>, Vec<SumcheckClaim>, Vec<u8>) {
    let mut rng = Rng(15);
    let mut problems = vec![
        Problem::random(&mut rng, 4, 2, &[2], true, false),
        Problem::random(&mut rng, 2, 3, &[3, 1], false, true),
    ];
    // Every table appears in a term, so every final evaluation matters.
    problems[0].terms[0].1 = vec![0, 1];
    problems[1].terms[0].1 = vec![0, 1, 2];
    let claims: Vec<SumcheckClaim> = problems.iter().map(Problem::claim).collect();
    let (proof, _) = prove_problems(&problems);
    verify_problems(&claims, &problems, &proof).expect("honest proof rejected");
    assert_eq!(claims.iter().map(|c| c.degree).max(), Some(NEG_POINTS));
    (problems, claims, proof)
}

#[test]
fn changing_any_round_evaluation_is_rejected() {
    let (problems, claims, proof) = batch_for_negative_tests();
    for offset in round_eval_offsets(NEG_ROUNDS, NEG_POINTS) {
        for coeff in 0..3 {
            let mut bad = proof.clone();
            bump(&mut bad, offset + 8 * coeff);
            assert!(
                verify_problems(&claims, &problems, &bad).is_err(),
                "perturbed evaluation at byte {offset} accepted"
            );
        }
    }
}

#[test]
fn changing_a_claimed_sum_is_rejected() {
    let (problems, claims, proof) = batch_for_negative_tests();
    for i in 0..claims.len() {
        let mut bad = claims.clone();
        bad[i].claimed_sum += EF::ONE;
        assert!(
            verify_problems(&bad, &problems, &proof).is_err(),
            "wrong claim {i} accepted"
        );
    }
}

#[test]
fn changing_a_final_evaluation_is_rejected() {
    let (problems, claims, proof) = batch_for_negative_tests();
    let rounds_len = NEG_ROUNDS * NEG_ROUND_BYTES;
    let finals = (proof.len() - rounds_len) / 8;
    assert_eq!(finals, 3 * (2 + 3));
    for k in 0..finals {
        let mut bad = proof.clone();
        bump(&mut bad, rounds_len + 8 * k);
        assert_eq!(
            verify_problems(&claims, &problems, &bad),
            Err(SumcheckError::FinalMismatch),
            "perturbed final evaluation {k} accepted"
        );
    }
}

#[test]
fn wrong_number_of_evaluations_is_rejected() {
    let (problems, claims, proof) = batch_for_negative_tests();
    for round in [0, 3] {
        let start = round * NEG_ROUND_BYTES;
        // One evaluation too many or too few in a round shifts everything after it.
        let mut more = proof.clone();
        more.splice(start..start, [0u8; 24]);
        assert!(verify_problems(&claims, &problems, &more).is_err());
        let mut fewer = proof.clone();
        fewer.drain(start..start + 24);
        assert!(verify_problems(&claims, &problems, &fewer).is_err());
    }
    // A verifier expecting a lower degree rejects the honest proof.
    let mut lower = claims.clone();
    lower[0].degree = 2;
    lower[1].degree = 2;
    assert!(verify_problems(&lower, &problems, &proof).is_err());
    // A degree above the verifier's limit is refused before reading anything.
    let mut huge = claims.clone();
    huge[0].degree = MAX_DEGREE + 1;
    assert!(matches!(
        verify_problems(&huge, &problems, &proof),
        Err(SumcheckError::DegreeTooLarge { .. })
    ));
}

#[test]
fn truncated_and_extended_proofs_are_rejected() {
    let (problems, claims, proof) = batch_for_negative_tests();
    for len in [0, 3, 4, 100, proof.len() - 1] {
        assert!(verify_problems(&claims, &problems, &proof[..len]).is_err());
    }
    let mut longer = proof.clone();
    longer.push(0);
    assert!(verify_problems(&claims, &problems, &longer).is_err());
}

#[test]
fn mismatched_num_vars_or_instance_count_is_rejected() {
    let (problems, claims, proof) = batch_for_negative_tests();
    let mut other = claims.clone();
    other[1].num_vars = 3;
    assert!(verify_problems(&other, &problems, &proof).is_err());
    let mut t = VerifierTranscript::new(&ds(), &proof);
    assert_eq!(verify_batched(&[], &mut t), Err(SumcheckError::NoInstances));
    assert!(verify_problems(&claims[..1], &problems[..1], &proof).is_err());
}

#[test]
fn check_final_needs_one_value_per_instance() {
    let (problems, claims, proof) = batch_for_negative_tests();
    let mut t = VerifierTranscript::new(&ds(), &proof);
    let v = verify_batched(&claims, &mut t).expect("rounds verify");
    assert_eq!(v.instance_point(1), &v.point[2..]);
    let e0 = t.receive_exts(2).expect("evals");
    let g0 = problems[0].g_at(v.instance_point(0), &e0).expect("g0");
    assert!(matches!(
        v.check_final(&[g0]),
        Err(SumcheckError::WrongEvaluationCount { .. })
    ));
    assert!(matches!(
        evaluate_terms(&problems[1].terms, &[]),
        Err(SumcheckError::WrongEvaluationCount { .. })
    ));
}

/// A hand-written instance (`Σ_x P(x)^2 · Q(x)` without table products in the kernel), to show
/// the trait supports custom instances batched with the standard one.
struct SquareTimes {
    p: Mle<EF>,
    q: Mle<EF>,
    claim: EF,
}

impl SumcheckInstance for SquareTimes {
    fn num_vars(&self) -> usize {
        self.p.num_vars
    }
    fn degree(&self) -> usize {
        3
    }
    fn claimed_sum(&self) -> EF {
        self.claim
    }
    fn round_evals(&self) -> Vec<EF> {
        let half = self.p.len() / 2;
        let mut out = vec![EF::ZERO; 4];
        for i in 0..half {
            for (t, o) in out.iter_mut().enumerate() {
                let t = EF::from_usize(t);
                let p = self.p.evals[i] + t * (self.p.evals[i + half] - self.p.evals[i]);
                let q = self.q.evals[i] + t * (self.q.evals[i + half] - self.q.evals[i]);
                *o += p * p * q;
            }
        }
        out
    }
    fn bind(&mut self, r: EF) {
        self.p.fix_first_in_place(r);
        self.q.fix_first_in_place(r);
    }
    fn final_evals(&self) -> Vec<EF> {
        vec![self.p.evals[0], self.q.evals[0]]
    }
}

#[test]
fn custom_instances_batch_with_product_instances() {
    let mut rng = Rng(16);
    let p: Vec<EF> = (0..8).map(|_| rng.ef()).collect();
    let q: Vec<EF> = (0..8).map(|_| rng.ef()).collect();
    let claim = p.iter().zip(&q).map(|(&a, &b)| a * a * b).sum();
    let mut custom = SquareTimes {
        p: Mle::new(p.clone()),
        q: Mle::new(q.clone()),
        claim,
    };
    let other = Problem::random(&mut rng, 5, 2, &[2], true, false);
    let mut standard = other.instance();
    let mut t = ProverTranscript::new(&ds());
    let out = prove_batched(&mut [&mut custom, &mut standard], &mut t);
    let proof = t.into_proof();

    let claims = [
        SumcheckClaim {
            num_vars: 3,
            degree: 3,
            claimed_sum: claim,
        },
        other.claim(),
    ];
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    let v = verify_batched(&claims, &mut vt).expect("rounds verify");
    assert_eq!(v.point, out.point);
    let pt0 = v.instance_point(0);
    let (pe, qe) = (Mle::new(p).evaluate(pt0), Mle::new(q).evaluate(pt0));
    assert_eq!(out.final_evals[0], vec![pe, qe]);
    let g1 = other
        .g_at(v.instance_point(1), &other.mle_evals(v.instance_point(1)))
        .expect("g1");
    v.check_final(&[pe * pe * qe, g1]).expect("final check");
    assert_eq!(
        v.check_final(&[pe * qe, g1]),
        Err(SumcheckError::FinalMismatch)
    );
    vt.finish().expect("proof consumed");
}

#[test]
fn single_instance_api_returns_the_reduced_claim() {
    let mut rng = Rng(17);
    let p = Problem::random(&mut rng, 6, 2, &[2, 1], true, false);
    let mut inst = p.instance();
    let mut t = ProverTranscript::new(&ds());
    let out = prove(&mut inst, &mut t);
    let proof = t.into_proof();
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    let (point, expected) = verify(&p.claim(), &mut vt).expect("verifies");
    vt.finish().expect("consumed");
    assert_eq!(point, out.point);
    assert_eq!(p.g_at(&point, &p.mle_evals(&point)).expect("g"), expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_batches_verify(seed in any::<u64>(), count in 1usize..4) {
        let mut rng = Rng(seed);
        let problems: Vec<Problem> = (0..count)
            .map(|_| {
                let num_vars = rng.below(7);
                let tables = 1 + rng.below(4);
                let terms: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(5)).collect();
                let eq = rng.below(2) == 1;
                let ext = rng.below(2) == 1;
                Problem::random(&mut rng, num_vars, tables, &terms, eq, ext)
            })
            .collect();
        check_honest(&problems);
    }

    #[test]
    fn random_single_byte_changes_are_rejected(seed in any::<u64>()) {
        let (problems, claims, proof) = batch_for_negative_tests();
        let mut rng = Rng(seed);
        let mut bad = proof.clone();
        let at = rng.below(bad.len());
        bad[at] ^= 1 << rng.below(8);
        prop_assert!(verify_problems(&claims, &problems, &bad).is_err());
    }
}

#[test]
fn boolean_and_zero_eq_coordinates_fall_back_to_computing_s1() {
    let mut rng = Rng(18);
    for n in [3usize, 15] {
        for pattern in [0u64, 1, 2] {
            let mut p = Problem::random(&mut rng, n, 2, &[2, 1], true, false);
            // Coordinates 0, 1 or alternating: eq(w_j, 1) = 0 makes s(1) unrecoverable from the claim.
            p.eq_point = Some(
                (0..n)
                    .map(|k| match pattern {
                        0 => EF::ZERO,
                        1 => EF::ONE,
                        _ => EF::from_usize(k % 2),
                    })
                    .collect(),
            );
            check_honest(&[p]);
        }
    }
}

#[test]
fn constant_terms_and_degree_zero_instances_verify() {
    let mut rng = Rng(19);
    // g(x) = c (no factors): degree 0, sum 2^n·c.
    let mut p = Problem::random(&mut rng, 3, 1, &[0], false, false);
    check_honest(std::slice::from_ref(&p));
    assert_eq!(p.claim().degree, 0);
    assert_eq!(p.claim().claimed_sum, p.terms[0].0 * EF::from_usize(8));
    // With an eq factor the constant becomes eq(w, x)·c: degree 1, sum c.
    p.eq_point = Some((0..3).map(|_| rng.ef()).collect());
    check_honest(&[p]);
}

/// Reference round polynomial: fold the tables with `Mle::fix_first_in_place` (zkinfer-poly)
/// and sum `g(r_<j, t, x')` over `x'` directly, with the full eq table folded alongside.
fn reference_round(
    tables: &[Mle<EF>],
    eq: Option<&Mle<EF>>,
    terms: &[Term],
    degree: usize,
) -> Vec<EF> {
    let half = tables[0].len() / 2;
    (0..=degree)
        .map(|t| {
            let t = EF::from_usize(t);
            let at = |m: &Mle<EF>, i: usize| m.evals[i] + t * (m.evals[i + half] - m.evals[i]);
            (0..half)
                .map(|i| {
                    let e = eq.map_or(EF::ONE, |m| at(m, i));
                    let g: EF = terms
                        .iter()
                        .map(|(c, idx)| idx.iter().fold(*c, |p, &j| p * at(&tables[j], i)))
                        .sum();
                    e * g
                })
                .sum()
        })
        .collect()
}

#[test]
fn every_round_polynomial_matches_the_reference_on_simd_and_scalar_paths() {
    let mut rng = Rng(20);
    for (n, ext, eq) in [
        (12, false, false),
        (12, false, true),
        (12, true, false),
        (12, true, true),
        (5, false, true),
    ] {
        let p = Problem::random(&mut rng, n, 3, &[2, 3, 1], eq, ext);
        let mut inst = p.instance();
        let mut tables: Vec<Mle<EF>> = match &p.ext_tables {
            Some(t) => t.iter().map(|v| Mle::new(v.clone())).collect(),
            None => p
                .tables
                .iter()
                .map(|v| Mle::new(v.clone()).lift())
                .collect(),
        };
        let mut eq_table = p
            .eq_point
            .as_ref()
            .map(|w| Mle::new(zkinfer_poly::eq_evals(w)));
        for round in 0..n {
            let expected = reference_round(&tables, eq_table.as_ref(), &p.terms, inst.degree());
            assert_eq!(
                inst.round_evals(),
                expected,
                "n = {n}, ext = {ext}, eq = {eq}, round {round}"
            );
            let r = rng.ef();
            inst.bind(r);
            tables.iter_mut().for_each(|t| t.fix_first_in_place(r));
            if let Some(e) = eq_table.as_mut() {
                e.fix_first_in_place(r);
            }
        }
        let finals: Vec<EF> = tables.iter().map(|t| t.evals[0]).collect();
        assert_eq!(inst.final_evals(), finals);
    }
}

/// `new_mixed` (base tables bound lazily, packed extension tables) gives the rounds, point and
/// final values of `new` on every table lifted, on the mixed SIMD path (n ≥ log2(LANES) + 3) and
/// the lifted fallback (small n): eq factor or not, terms of base factors only, extension factors
/// only, both, and the empty term; the transcript bytes agree too.
#[test]
fn mixed_tables_give_the_lifted_instance_round_for_round() {
    use crate::product::MixedMle;
    let mut rng = Rng(31);
    for (n, eq) in [(14, false), (14, true), (9, false), (6, true), (3, false), (1, true)] {
        let ext_of = [false, true, false, true, false];
        let base: Vec<Vec<F>> = (0..5).map(|_| (0..1usize << n).map(|_| rng.f()).collect()).collect();
        let ext: Vec<Vec<EF>> = (0..5).map(|_| (0..1usize << n).map(|_| rng.ef()).collect()).collect();
        let lifted: Vec<Mle<EF>> = (0..5)
            .map(|j| if ext_of[j] { Mle::new(ext[j].clone()) } else { Mle::new(base[j].clone()).lift() })
            .collect();
        let mixed: Vec<MixedMle> = (0..5)
            .map(|j| if ext_of[j] { MixedMle::Ext(Mle::new(ext[j].clone())) } else { MixedMle::Base(Mle::new(base[j].clone())) })
            .collect();
        let terms: Vec<Term> = vec![
            (rng.ef(), vec![0, 2]),
            (rng.ef(), vec![1, 3]),
            (rng.ef(), vec![3, 0, 4, 1]),
            (rng.ef(), vec![2, 2, 1]),
            (rng.ef(), vec![4]),
            (rng.ef(), vec![]),
        ];
        let eq_point: Option<Vec<EF>> = eq.then(|| (0..n).map(|_| rng.ef()).collect());
        let mut plain = ProductSumcheck::new(lifted, terms.clone(), eq_point.clone());
        let mut mixed = ProductSumcheck::new_mixed(mixed, terms.clone(), eq_point.clone());
        // The SIMD mixed path needs 2^(n−3) ≥ LANES pairs (8 lanes with AVX-512, 4 with AVX2).
        let min = ProductSumcheck::mixed_min_vars();
        assert_eq!(mixed.is_mixed(), min.is_some_and(|m| n >= m), "n = {n}: mixed path taken");
        assert_eq!(mixed.claimed_sum(), plain.claimed_sum(), "n = {n}, eq = {eq}");
        let (mut t1, mut t2) = (ProverTranscript::new(&ds()), ProverTranscript::new(&ds()));
        let out1 = prove(&mut plain, &mut t1);
        let out2 = prove(&mut mixed, &mut t2);
        assert_eq!(out2.point, out1.point, "n = {n}, eq = {eq}");
        assert_eq!(out2.final_evals, out1.final_evals, "n = {n}, eq = {eq}");
        assert_eq!(t2.into_proof(), t1.into_proof(), "n = {n}, eq = {eq}");
    }
    // Round by round against the reference, on the mixed path.
    let n = 12;
    let base: Vec<Vec<F>> = (0..3).map(|_| (0..1usize << n).map(|_| rng.f()).collect()).collect();
    let e: Vec<EF> = (0..1usize << n).map(|_| rng.ef()).collect();
    let terms: Vec<Term> = vec![(rng.ef(), vec![0, 3]), (rng.ef(), vec![1, 2, 3]), (rng.ef(), vec![2])];
    let mut tables: Vec<Mle<EF>> = base.iter().map(|v| Mle::new(v.clone()).lift()).chain([Mle::new(e.clone())]).collect();
    let mixed: Vec<MixedMle> = base.iter().map(|v| MixedMle::Base(Mle::new(v.clone()))).chain([MixedMle::Ext(Mle::new(e))]).collect();
    let mut inst = ProductSumcheck::new_mixed(mixed, terms.clone(), None);
    assert_eq!(inst.is_mixed(), ProductSumcheck::mixed_min_vars().is_some());
    for round in 0..n {
        assert_eq!(inst.round_evals(), reference_round(&tables, None, &terms, inst.degree()), "round {round}");
        let r = rng.ef();
        inst.bind(r);
        tables.iter_mut().for_each(|t| t.fix_first_in_place(r));
    }
    assert_eq!(inst.final_evals(), tables.iter().map(|t| t.evals[0]).collect::<Vec<_>>());
}

/// Terms shaped like CausalSoftmax's (`ops::softmax`): a factor most terms share (table 0, its
/// `EQ`), shared prefixes (`0·1·2`, `0·1·3`, `0·1`), the same monomial twice with different
/// coefficients (in another factor order too), a squared factor, single factors, the empty term.
fn shared_prefix_terms(rng: &mut Rng) -> Vec<Term> {
    vec![
        (rng.ef(), vec![0, 2]),
        (rng.ef(), vec![0, 3]),
        (rng.ef(), vec![0, 4, 5]),
        (rng.ef(), vec![0, 4, 6]),
        (rng.ef(), vec![0, 1, 1]),
        (rng.ef(), vec![0, 1]),
        (rng.ef(), vec![0, 1, 2]),
        (rng.ef(), vec![1, 0, 3]),
        (rng.ef(), vec![1, 0]),
        (rng.ef(), vec![0, 2, 3]),
        (rng.ef(), vec![0, 3]),
        (rng.ef(), vec![7, 4, 5]),
        (rng.ef(), vec![7, 1]),
        (rng.ef(), vec![6]),
        (rng.ef(), vec![]),
    ]
}

/// The packed rounds evaluate the terms through `ProductPlan` (shared prefix products, one
/// accumulator per distinct monomial): every round polynomial equals the reference's, on the
/// extension-field instance (scalar round 0, then packed), the mixed one and the base one, with
/// and without an eq factor; the plan shares work (fewer products than the terms' factors, the
/// duplicate monomials merged). Control: the reference with one of two equal monomials' coefficient
/// changed gives other round polynomials, so the comparison can fail.
#[test]
fn shared_prefix_products_give_the_reference_rounds() {
    use crate::product::{MixedMle, ProductPlan};
    let mut rng = Rng(47);
    let terms = shared_prefix_terms(&mut rng);
    let plan = ProductPlan::new(&terms, 8);
    let factors: usize = terms.iter().map(|(_, idx)| idx.len()).sum();
    let products = plan.nodes.iter().filter(|(parent, _)| parent.is_some()).count();
    assert!(products < factors - terms.len(), "{products} products for {factors} factors");
    assert_eq!(plan.monomials.len(), terms.len() - 2, "(0,3) twice, (0,1) and (1,0)");
    let n = 12;
    for (kind, eq) in [("ext", false), ("ext", true), ("mixed", false), ("mixed", true), ("base", true)] {
        let base: Vec<Vec<F>> = (0..8).map(|_| (0..1usize << n).map(|_| rng.f()).collect()).collect();
        let ext: Vec<Vec<EF>> = (0..8).map(|_| (0..1usize << n).map(|_| rng.ef()).collect()).collect();
        let ext_of = |j: usize| kind == "ext" || (kind == "mixed" && (j == 0 || j == 7));
        let mut tables: Vec<Mle<EF>> =
            (0..8).map(|j| if ext_of(j) { Mle::new(ext[j].clone()) } else { Mle::new(base[j].clone()).lift() }).collect();
        let eq_point: Option<Vec<EF>> = eq.then(|| (0..n).map(|_| rng.ef()).collect());
        let mut inst = match kind {
            "ext" => ProductSumcheck::new(tables.clone(), terms.clone(), eq_point.clone()),
            "mixed" => ProductSumcheck::new_mixed(
                (0..8).map(|j| if ext_of(j) { MixedMle::Ext(Mle::new(ext[j].clone())) } else { MixedMle::Base(Mle::new(base[j].clone())) }).collect(),
                terms.clone(),
                eq_point.clone(),
            ),
            _ => ProductSumcheck::new_base(base.iter().map(|v| Mle::new(v.clone())).collect(), terms.clone(), eq_point.clone()),
        };
        let mut eq_table = eq_point.as_ref().map(|w| Mle::new(zkinfer_poly::eq_evals(w)));
        let mut control = terms.clone();
        control[10].0 += EF::ONE;
        for round in 0..n {
            let expected = reference_round(&tables, eq_table.as_ref(), &terms, inst.degree());
            assert_eq!(inst.round_evals(), expected, "{kind}, eq = {eq}, round {round}");
            assert_ne!(inst.round_evals(), reference_round(&tables, eq_table.as_ref(), &control, inst.degree()), "control, round {round}");
            let r = rng.ef();
            inst.bind(r);
            tables.iter_mut().for_each(|t| t.fix_first_in_place(r));
            if let Some(e) = eq_table.as_mut() {
                e.fix_first_in_place(r);
            }
        }
        assert_eq!(inst.final_evals(), tables.iter().map(|t| t.evals[0]).collect::<Vec<_>>(), "{kind}, eq = {eq}");
    }
}
