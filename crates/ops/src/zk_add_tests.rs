//! Tests of the zk Add with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): `a`, `b` committed (`Vanishing::All`, independent masks), the
//! claim on `ŷ = â + b̂` drawn from the transcript and sent by the consumer (the test's prologue).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, needle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-add-test", 1)
}

const DIMS: [usize; 2] = [3, 40];
const VARS: usize = 8;

struct Commit {
    a: Ideal,
    b: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// Sends the plain `a(r)`.
    Plain,
}

struct AddCase(Prover);

impl AddCase {
    fn run(&self, seed: u64) -> Run<Commit, [Claim; 2]> {
        let mut rng = StdRng::seed_from_u64(seed);
        let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 2001) - 1000;
        let a: Vec<i64> = (0..DIMS[0] * DIMS[1]).map(|i| v(i, 1)).collect();
        let b: Vec<i64> = (0..DIMS[0] * DIMS[1]).map(|i| v(i, 2)).collect();
        let com = Commit {
            a: Ideal::new(padded(&a, &DIMS), true, &mut rng),
            b: Ideal::new(padded(&b, &DIMS), true, &mut rng),
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let r = t.challenge_exts(VARS);
        let value = com.a.hat(&r) + com.b.hat(&r);
        t.send_ext(value);
        let plain_a = |z: &[EF]| mle(&com.a.table, z);
        let hat_a = |z: &[EF]| com.a.hat(z);
        let claims = prove_add_zk(VARS, &Claim::new(r.clone(), value), if self.0 == Prover::Plain { &plain_a } else { &hat_a }, &mut t).expect("prove");
        let plain = vec![mle(&com.a.table, &r), mle(&com.b.table, &r), mle(&com.a.table, &r) + mle(&com.b.table, &r)];
        Run { proof: t.into_proof(), com, claims, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<([Claim; 2], VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let r = t.challenge_exts(VARS);
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_add_zk(VARS, &Claim::new(r, value), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for AddCase {
    type Com = Commit;
    type Claims = [Claim; 2];

    fn honest(&self, seed: u64) -> Run<Commit, [Claim; 2]> {
        AddCase(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<[Claim; 2], String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        if com.a.hat(&c[0].point) != c[0].value {
            return Err("a does not open".into());
        }
        if com.b.hat(&c[1].point) != c[1].value {
            return Err("b does not open".into());
        }
        Ok(c)
    }

    fn sent(&self, c: &[Claim; 2]) -> Vec<EF> {
        vec![c[0].value, c[0].value + c[1].value]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let r = t.challenge_exts(VARS);
        let (value, a): (EF, EF) = (rng.random(), rng.random());
        t.send_ext(value);
        prove_add_zk(VARS, &Claim::new(r, value), &|_| a, &mut t).expect("simulated");
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_adds_verify_open_and_hide() {
    honest_runs_verify_and_hide(&AddCase(Prover::Honest), [10, 11]);
}

/// The claim off by one (caught at `b`'s opening), the plain `a(r)` (caught at `a`'s opening),
/// every flipped limb, a truncation, a claim with a boolean coordinate or of the wrong dimension.
#[test]
fn tampered_zk_adds_are_rejected() {
    let case = AddCase(Prover::Honest);
    let r = case.run(20);
    flipped_limbs_are_rejected(&case, &r);
    let mut bad = r.proof.clone();
    let mut vt = VerifierTranscript::new(&ds(), &r.proof);
    vt.absorb_public_fields("test/commitment", &r.com.binding);
    let _ = vt.challenge_exts(VARS);
    let v = vt.receive_ext().expect("claim");
    bad[..24].copy_from_slice(&needle(v + EF::ONE));
    assert_eq!(case.check(&bad, &r.com).expect_err("claim off by one"), "b does not open");
    let p = AddCase(Prover::Plain).run(21);
    assert_eq!(case.check(&p.proof, &p.com).expect_err("plain a"), "a does not open");
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let mut point = vec![EF::TWO; VARS];
    assert_refused(verify_add_zk(VARS - 1, &Claim::new(point.clone(), EF::ONE), &mut t), "shape: claim point dimension");
    point[3] = EF::ONE;
    assert_refused(verify_add_zk(VARS, &Claim::new(point, EF::ONE), &mut t), "check failed: a claim at a point with a boolean coordinate");
}

#[test]
fn simulated_zk_adds_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(23);
    simulated_proofs_match(&AddCase(Prover::Honest), 300, &mut rng, 9000, 16);
}
