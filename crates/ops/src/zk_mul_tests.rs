//! Tests of the zk Mul with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): `a`, `b` (`Vanishing::All`), the output's `R` table and the
//! sumcheck mask table (`Vanishing::Last`); the claim on `ŷ` drawn from the transcript.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_sumcheck::zk_product::simulate_product_zk_with_output;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-mul-test", 1)
}

const DIMS: [usize; 2] = [6, 20];
const VARS: usize = 8;

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
    /// Runs on an `a` one entry off the committed one (the claim computed from it).
    OtherA,
    /// Zero masks: the plain values.
    Plain,
}

struct MulCase(Prover);

fn operands() -> (Vec<i64>, Vec<i64>) {
    let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 2001) - 1000;
    ((0..DIMS[0] * DIMS[1]).map(|i| v(i, 1)).collect(), (0..DIMS[0] * DIMS[1]).map(|i| v(i, 2)).collect())
}

/// A padded `i64` table (the prover's operand).
fn padded_i64(v: &[i64]) -> Vec<i64> {
    let mut out = vec![0; 1 << VARS];
    for (i, &x) in v.iter().enumerate() {
        out[(i / DIMS[1]) * 32 + i % DIMS[1]] = x;
    }
    out
}

impl MulCase {
    fn run(&self, seed: u64) -> Run<Commit, ZkMulClaims> {
        let (a0, b) = operands();
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = zk_mul_mask_shape(VARS);
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let vm = VirtualMask::sample(&mut rng);
        let com = Commit {
            a: Ideal::new(padded(&a0, &DIMS), true, &mut rng),
            b: Ideal::new(padded(&b, &DIMS), true, &mut rng),
            r: Ideal::new(vm.table().to_vec(), false, &mut rng),
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            vm,
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut a = a0.clone();
        if self.0 == Prover::OtherA {
            a[17] += 1;
        }
        let (pa, pb) = (padded_i64(&a), padded_i64(&b));
        let y: Vec<i64> = pa.iter().zip(&pb).map(|(x, y)| x * y).collect();
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let point = t.challenge_exts(VARS);
        let y_table: Vec<F> = y.iter().map(|&v| zkinfer_field::from_i64_unchecked(v)).collect();
        let y_plain = mle(&y_table, &point);
        let value = com.vm.hat(y_plain, &point);
        t.send_ext(value);
        let zero = |_: &[EF]| EF::ZERO;
        let (ca, cb) = (|z: &[EF]| com.a.cofactor(z, z.len() - 1), |z: &[EF]| com.b.cofactor(z, z.len() - 1));
        let r_hat = |w: EF| com.vm.value(point[0], w) + vanish(w) * com.r.m(&com.vm.point(point[0], w));
        let plain_mode = self.0 == Prover::Plain;
        let (ma, mb): (&(dyn Fn(&[EF]) -> EF + Sync), &(dyn Fn(&[EF]) -> EF + Sync)) = if plain_mode { (&zero, &zero) } else { (&ca, &cb) };
        let claims = prove_mul_zk(VARS, &pa, &pb, &Claim::new(point.clone(), value), ma, mb, &r_hat, &mask, &mut t).expect("prove");
        let plain = vec![y_plain, mle(&com.a.table, &claims.a.point), mle(&com.b.table, &claims.b.point)];
        Run { proof: t.into_proof(), com, claims, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkMulClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let point = t.challenge_exts(VARS);
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_mul_zk(VARS, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for MulCase {
    type Com = Commit;
    type Claims = ZkMulClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkMulClaims> {
        MulCase(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkMulClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.a.hat(&c.a.point) == c.a.value, "a")?;
        open(com.b.hat(&c.b.point) == c.b.value, "b")?;
        let (a, w, v) = c.r;
        open(com.r.hat(&com.vm.point(a, w)) == v, "R")?;
        for (p, v) in &c.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkMulClaims) -> Vec<EF> {
        vec![c.a.value, c.b.value, c.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(VARS);
        let value: EF = rng.random();
        t.send_ext(value);
        let coeff = zkinfer_sumcheck::zk_virtual::output_coeff(&point, VARS);
        simulate_product_zk_with_output(value, VARS, &terms(), Some(&point), 2, Some(coeff), &mut t, rng).expect("simulate");
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_muls_verify_open_and_hide() {
    honest_runs_verify_and_hide(&MulCase(Prover::Honest), [10, 11]);
}

/// An `a` other than the committed one (caught at `a`'s opening), the plain values (caught at the
/// openings), every flipped limb, a truncation, too few variables, a claim of the wrong dimension.
#[test]
fn tampered_zk_muls_are_rejected() {
    let case = MulCase(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    let o = MulCase(Prover::OtherA).run(21);
    assert_eq!(case.check(&o.proof, &o.com).expect_err("other a"), "a does not open");
    let p = MulCase(Prover::Plain).run(22);
    assert!(case.check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert_refused(verify_mul_zk(4, &Claim::new(vec![EF::TWO; 4], EF::ONE), &mut t), "shape: a zk Mul needs ≥ 5 variables, got 4");
    assert_refused(verify_mul_zk(VARS, &Claim::new(vec![EF::TWO; 7], EF::ONE), &mut t), "shape: claim point dimension");
}

#[test]
fn simulated_zk_muls_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(31);
    simulated_proofs_match(&MulCase(Prover::Honest), 300, &mut rng, 13_000, 20);
}
