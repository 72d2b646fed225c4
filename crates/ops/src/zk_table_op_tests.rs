//! Tests of the zk table op's link `x' = x` with an ideal hiding commitment in the real mask
//! layout (`crate::zk_testkit::Ideal`): the input `x` (a clamp's committed output) and the copy
//! `x'` (`Vanishing::All`), the copy committed with the input's mask (the tie).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F};
use zkinfer_sumcheck::zk_virtual::VirtualMask;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_rescale::{mask_table_len, tied_copy_mask};
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-table-op-test", 1)
}

const DIMS: [usize; 2] = [5, 40];
const VARS: usize = 9;

fn input() -> Vec<i64> {
    (0..DIMS[0] * DIMS[1]).map(|i| ((i as i64 * 7919) % 2001) - 1000).collect()
}

struct Commit {
    x: Ideal,
    copy: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// The copy one entry off the input (tied mask).
    OtherCopy,
    /// The copy equal to the input, committed with an independent mask (no tie).
    Untied,
    /// Sends the plain `x'(z)`.
    Plain,
}

struct Link(Prover);

impl Link {
    fn run(&self, seed: u64) -> Run<Commit, ZkTableOpClaims> {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = input();
        let mut copy = x.clone();
        if self.0 == Prover::OtherCopy {
            copy[77] += 1;
        }
        let xc = Ideal::new(padded(&x, &DIMS), true, &mut rng);
        let copy_com = if self.0 == Prover::Untied {
            Ideal::new(padded(&copy, &DIMS), true, &mut rng)
        } else {
            Ideal::with_mask(padded(&copy, &DIMS), true, xc.mask.clone(), xc.a)
        };
        let com = Commit { x: xc, copy: copy_com, binding: (0..4).map(|_| rng.random()).collect() };
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let plain_hat = |z: &[EF]| mle(&com.copy.table, z);
        let hat = |z: &[EF]| com.copy.hat(z);
        let claims = prove_table_op_zk(VARS, if self.0 == Prover::Plain { &plain_hat } else { &hat }, &mut t).expect("prove");
        let plain = vec![mle(&com.x.table, &claims.input.point)];
        Run { proof: t.into_proof(), com, claims, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkTableOpClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let c = verify_table_op_zk(VARS, &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Link {
    type Com = Commit;
    type Claims = ZkTableOpClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkTableOpClaims> {
        Link(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkTableOpClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        if com.copy.hat(&c.copy.point) != c.copy.value {
            return Err("copy does not open".into());
        }
        if com.x.hat(&c.input.point) != c.input.value {
            return Err("input does not open".into());
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkTableOpClaims) -> Vec<EF> {
        vec![c.copy.value]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let v: EF = rng.random();
        prove_table_op_zk(VARS, &|_| v, &mut t).expect("simulated");
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_table_op_links_verify_open_and_hide() {
    honest_runs_verify_and_hide(&Link(Prover::Honest), [10, 11]);
}

/// A copy one entry off (caught at the input's opening), an untied copy mask (the failing control
/// of the tie: the honest link is then rejected), the plain `x'(z)` (caught at the copy's
/// opening), every flipped limb, a truncation, a tensor of one entry.
#[test]
fn tampered_zk_table_op_links_are_rejected() {
    let case = Link(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    for (how, what) in [(Prover::OtherCopy, "input does not open"), (Prover::Untied, "input does not open"), (Prover::Plain, "copy does not open")] {
        let r = Link(how).run(21);
        assert_eq!(case.check(&r.proof, &r.com).expect_err("tampered"), what);
    }
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert_refused(verify_table_op_zk(0, &mut t), "shape: a zk table op of a single entry");
}

#[test]
fn simulated_zk_table_op_links_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(19);
    simulated_proofs_match(&Link(Prover::Honest), 300, &mut rng, 7000, 14);
}

/// A virtual input (a producer's output with an `R` mask): the copy's tied mask makes `x̂'` the
/// input's randomised extension `x + Z·Σ_w R_x(z_0, w)` at random points.
#[test]
fn the_copy_of_a_virtual_input_is_tied_to_its_r_mask() {
    let mut rng = StdRng::seed_from_u64(2);
    let vm = VirtualMask::for_claims(3, &mut rng).expect("R");
    let tied = tied_copy_mask(&vm, 4).expect("tie");
    assert_eq!(tied.table.len(), mask_table_len(4, vm.degree_bits()));
    let table = padded(&input(), &DIMS);
    let copy = Ideal::with_mask(table.clone(), true, tied.table, tied.degree_bits);
    for _ in 0..4 {
        let z: Vec<EF> = (0..VARS).map(|_| rng.random()).collect();
        assert_eq!(copy.hat(&z), vm.hat(mle(&table, &z), &z));
        assert_ne!(copy.hat(&z), mle(&table, &z));
    }
    assert!(tied_copy_mask(&vm, 0).is_err() && tied_copy_mask(&vm, 5).is_err(), "mask variables");
}
