//! Tests of the zk BatchedMatMul with an ideal hiding commitment (`crate::zk_testkit::Ideal`, as
//! `zk_matmul_tests.rs`): `a`, `b` with `Vanishing::All` masks, the output's `R` table and the
//! sumcheck mask table with `Vanishing::Last` masks; every claim checked against them. The shared
//! checks are `crate::zk_testkit`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::eq_eval;
use zkinfer_sumcheck::SumcheckInstance;
use zkinfer_sumcheck::zk::{SumcheckMask, prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, output_coeff, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-batched-matmul-test", 1)
}

const SHAPES: [ZkBatchedShape; 2] =
    [ZkBatchedShape { h: 2, m: 3, k: 20, n: 6, transpose_b: true }, ZkBatchedShape { h: 2, m: 3, k: 20, n: 6, transpose_b: false }];

fn operands(s: &ZkBatchedShape, seed: i64) -> (Vec<i64>, Vec<i64>) {
    let v = |i: usize, t: i64| ((i as i64 * 7919 + t * 104_729) % 2001) - 1000;
    ((0..s.h * s.m * s.k).map(|i| v(i, seed)).collect(), (0..s.h * s.n * s.k).map(|i| v(i, seed + 1)).collect())
}

fn b_dims(s: &ZkBatchedShape) -> Vec<usize> {
    if s.transpose_b { vec![s.h, s.n, s.k] } else { vec![s.h, s.k, s.n] }
}

fn y_values(s: &ZkBatchedShape, a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut y = vec![0; s.h * s.m * s.n];
    for h in 0..s.h {
        for m in 0..s.m {
            for n in 0..s.n {
                y[(h * s.m + m) * s.n + n] = (0..s.k)
                    .map(|k| a[(h * s.m + m) * s.k + k] * if s.transpose_b { b[(h * s.n + n) * s.k + k] } else { b[(h * s.k + k) * s.n + n] })
                    .sum();
            }
        }
    }
    y
}

struct Commit {
    a: Ideal,
    b: Ideal,
    r: Ideal,
    vm: VirtualMask,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    OtherA,
    Plain,
    ForgedEq,
}

fn run(s: &ZkBatchedShape, seed: u64, how: Prover) -> Run<Commit, ZkBatchedClaims> {
    let (a0, b) = operands(s, 3);
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_batched_mask_shape(s);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let com = Commit {
        a: Ideal::new(padded(&a0, &[s.h, s.m, s.k]), true, &mut rng),
        b: Ideal::new(padded(&b, &b_dims(s)), true, &mut rng),
        r: Ideal::new(vm.table().to_vec(), false, &mut rng),
        mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
        vm,
        binding: (0..4).map(|_| rng.random()).collect(),
    };
    for j in 0..ms.num_rounds {
        mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
    }
    let mut a = a0.clone();
    if how == Prover::OtherA {
        a[11] += 1;
    }
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &com.binding);
    let point = t.challenge_exts(s.claim_vars());
    let y = padded(&y_values(s, &a, &b), &[s.h, s.m, s.n]);
    let mut plain = vec![mle(&y, &point)];
    let value = com.vm.hat(plain[0], &point);
    let zero_a = |_: &[EF]| EF::ZERO;
    let zero_b = |_: &[EF], _: usize| EF::ZERO;
    let ca = |z: &[EF]| com.a.cofactor(z, z.len() - 1);
    let cb = |z: &[EF], var: usize| com.b.cofactor(z, var);
    let r_hat = |w: EF| com.vm.value(point[0], w) + vanish(w) * com.r.m(&com.vm.point(point[0], w));
    let plain_mode = how == Prover::Plain;
    let masks = ZkBatchedMasks { a: if plain_mode { &zero_a } else { &ca }, b: if plain_mode { &zero_b } else { &cb }, r_hat: &r_hat };
    let mut tables = build_tables(s, &a, &b, &point);
    let claim_value = if how == Prover::ForgedEq {
        tables[2].evals[0] += EF::from_u64(17);
        let inner = ProductSumcheck::new(tables.clone(), ZkBatchedShape::terms(), None);
        inner.claimed_sum() + (value - plain[0])
    } else {
        value
    };
    t.send_ext(claim_value);
    let claims = prove_with_tables(s, tables, &Claim::new(point.clone(), claim_value), &masks, &mask, &mut t).expect("prove");
    plain.push(mle(&com.a.table, &claims.a.point));
    plain.push(mle(&com.b.table, &claims.b.point));
    Run { proof: t.into_proof(), com, claims, plain }
}

fn verify_rounds<'a>(s: &ZkBatchedShape, proof: &'a [u8], binding: &[F]) -> Result<(ZkBatchedClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let point = t.challenge_exts(s.claim_vars());
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_batched_matmul_zk(s, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

fn check(s: &ZkBatchedShape, proof: &[u8], com: &Commit) -> Result<ZkBatchedClaims, String> {
    let (c, t) = verify_rounds(s, proof, &com.binding)?;
    t.finish().map_err(|e| e.to_string())?;
    let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
    open(com.a.hat(&c.a.point) == c.a.value, "a")?;
    open(com.b.hat(&c.b.point) == c.b.value, "b")?;
    open(com.r.hat(&com.vm.point(c.r.0, c.r.1)) == c.r.2, "R")?;
    for (p, v) in &c.mask_claims {
        open(com.mask_table.hat(p) == *v, "mask")?;
    }
    Ok(c)
}

/// The zk BatchedMatMul of one shape under the shared checks.
struct Case(ZkBatchedShape);

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkBatchedClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkBatchedClaims> {
        run(&self.0, seed, Prover::Honest)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkBatchedClaims, String> {
        check(&self.0, proof, com)
    }

    fn sent(&self, c: &ZkBatchedClaims) -> Vec<EF> {
        vec![c.a.value, c.b.value, c.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let s = &self.0;
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(s.claim_vars());
        let value: EF = rng.random();
        t.send_ext(value);
        let ns = s.num_vars();
        let ms = zk_batched_mask_shape(s);
        let mut inst = random_instance(ns, ms.degree, value, rng);
        let mask = SumcheckMask::sample(ms, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho = &out.inner.point;
        let e: EF = rng.random();
        let bw: EF = rng.random();
        let eqv = eq_eval(&point[..s.hv()], &rho[..s.hv()]);
        let a = (out.inner.final_evals[0][0] - output_coeff(&point, ns) * e) * (bw * eqv).inverse();
        t.send_exts(&[a, bw, eqv]);
        t.send_ext(e);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(&self.0, proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_batched_matmuls_verify_open_and_hide() {
    for s in SHAPES {
        honest_runs_verify_and_hide(&Case(s), [10, 11]);
    }
}

/// A claim off by one; an `a` other than the committed one (caught at the `a` opening); the plain
/// values (zero masks: caught at the openings); a forged public eq table with the claim recomputed
/// (caught by the eq check); every flipped limb; a truncation; bad shapes.
#[test]
fn tampered_zk_batched_matmuls_are_rejected() {
    for s in SHAPES {
        flipped_limbs_are_rejected(&Case(s), &run(&s, 20, Prover::Honest));
        let o = run(&s, 21, Prover::OtherA);
        assert!(check(&s, &o.proof, &o.com).expect_err("other a").contains("a does not open"));
        let p = run(&s, 22, Prover::Plain);
        assert!(check(&s, &p.proof, &p.com).expect_err("plain").contains("does not open"));
        let f = run(&s, 23, Prover::ForgedEq);
        assert!(check(&s, &f.proof, &f.com).expect_err("forged eq").contains("eq table"));
    }
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let small = ZkBatchedShape { h: 1, m: 3, k: 16, n: 6, transpose_b: true };
    assert_refused(verify_batched_matmul_zk(&small, &Claim::new(vec![EF::ONE; 5], EF::ONE), &mut t), "shape: a zk BatchedMatMul needs ≥ 5 head and inner variables");
    assert_refused(verify_batched_matmul_zk(&SHAPES[0], &Claim::new(vec![EF::ONE; 5], EF::ONE), &mut t), "shape: claim point dimension");
}

/// Simulated proofs pass the verifier and match the honest low-bit distribution (300 runs); a
/// prover reusing its randomness is detected.
#[test]
fn simulated_zk_batched_matmuls_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(9);
    simulated_proofs_match(&Case(SHAPES[1]), 300, &mut rng, 2000, 6);
}
