//! The shared harness of the zk op tests (`zk_*_tests.rs`): an ideal hiding commitment in the
//! real mask layout, and the three checks every zk op runs — honest proofs verify, open and hide;
//! every flipped limb and a truncation are rejected; simulated proofs pass and match the honest
//! distribution while a prover reusing its randomness is detected. An op supplies its runs through
//! [`ZkOpCase`]; its own tamper cases (another operand, plain values, forged public tables) stay
//! in its test file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::rngs::StdRng;
use rand10::RngExt;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_pcs::hiding::{MASK_VARS, mask_table_point};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::zk_testkit::same_distribution;
use zkinfer_sumcheck::zk_virtual::vanish;
use zkinfer_transcript::{DomainSeparator, ProverTranscript};

use crate::ProofError;
use crate::zk_rescale::mask_table_len;

/// A tensor of logical `dims`, row-major, zero-padded per dimension to powers of two.
pub(crate) fn padded(values: &[i64], dims: &[usize]) -> Vec<F> {
    let pd: Vec<usize> = dims.iter().map(|d| d.next_power_of_two()).collect();
    let mut out = vec![F::ZERO; pd.iter().product()];
    for (i, &v) in values.iter().enumerate() {
        let mut rem = i;
        let (mut idx, mut stride) = (0, 1);
        for d in (0..dims.len()).rev() {
            idx += (rem % dims[d]) * stride;
            rem /= dims[d];
            stride *= pd[d];
        }
        out[idx] = from_i64_unchecked(v);
    }
    out
}

/// The multilinear extension of `values` at `point`.
pub(crate) fn mle(values: &[F], point: &[EF]) -> EF {
    Mle::new(values.to_vec()).evaluate(point)
}

/// One table in an ideal hiding commitment, masked as `zkinfer_pcs::hiding` masks it:
/// `P̂(z) = P(z) + Z(z)·M(z_{<μ})`, `μ = min(m, 4)`, `M` read from a base-field mask table at
/// `mask_table_point(z_{<μ}, a)` (component and power variables), `Z = Π_i v(z_i)`
/// (`Vanishing::All`) or `v(z_{m−1})` (`Last`). Every claim is checked against it by evaluation.
pub(crate) struct Ideal {
    pub(crate) table: Vec<F>,
    pub(crate) mask: Vec<F>,
    pub(crate) a: usize,
    pub(crate) all: bool,
}

impl Ideal {
    /// A uniform multilinear (`a = 1`) mask.
    pub(crate) fn new(table: Vec<F>, all: bool, rng: &mut StdRng) -> Self {
        let mu = Self::mu_of(&table);
        let mask = (0..mask_table_len(mu, 1)).map(|_| rng.random()).collect();
        Self { table, mask, a: 1, all }
    }

    /// A given mask table of degree bits `a`.
    pub(crate) fn with_mask(table: Vec<F>, all: bool, mask: Vec<F>, a: usize) -> Self {
        assert_eq!(mask.len(), mask_table_len(Self::mu_of(&table), a), "mask layout");
        Self { table, mask, a, all }
    }

    fn mu_of(table: &[F]) -> usize {
        (table.len().trailing_zeros() as usize).min(MASK_VARS)
    }

    /// `μ`.
    pub(crate) fn mu(&self) -> usize {
        Self::mu_of(&self.table)
    }

    /// `M(z_{<μ})`.
    pub(crate) fn m(&self, z: &[EF]) -> EF {
        mle(&self.mask, &mask_table_point(&z[..self.mu()], self.a))
    }

    /// `P̂(z)`.
    pub(crate) fn hat(&self, z: &[EF]) -> EF {
        let van = if self.all { z.iter().map(|&x| vanish(x)).product() } else { vanish(z[z.len() - 1]) };
        mle(&self.table, z) + van * self.m(z)
    }

    /// The factor of `v(z_var)` in `P̂(z) − P(z)` (`var` not a mask variable).
    pub(crate) fn cofactor(&self, z: &[EF], var: usize) -> EF {
        assert!(var >= self.mu(), "the bound variable is a mask variable");
        if !self.all {
            assert_eq!(var, z.len() - 1, "Last vanishes on the last variable only");
            return self.m(z);
        }
        z.iter().enumerate().filter(|&(i, _)| i != var).map(|(_, &x)| vanish(x)).product::<EF>() * self.m(z)
    }
}

/// The bytes of one sent extension-field value.
pub(crate) fn needle(v: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&DomainSeparator::new("zk-testkit", 1));
    t.send_ext(v);
    t.into_proof()
}

/// Asserts that `r` is the verifier's refusal of a bad statement, given before it reads anything:
/// an error whose text contains `what` (e.g. `"shape: claim point dimension"`), and not a
/// transcript error. The bad-statement tests run on an empty transcript, so "any error" would
/// also pass with the statement check removed (the verifier then fails on reading, and most
/// verifiers wrap that failure as a check or sumcheck error); naming the refusal makes them fail.
#[track_caller]
pub(crate) fn assert_refused<T>(r: Result<T, ProofError>, what: &str) {
    match r {
        Err(ProofError::Transcript(e)) => panic!("expected a refusal naming {what:?} before reading, got a transcript error: {e}"),
        Err(e) => assert!(e.to_string().contains(what), "expected a refusal naming {what:?}, got: {e}"),
        Ok(_) => panic!("expected a refusal naming {what:?}, got Ok"),
    }
}

/// Whether `proof` sends `v` (24-byte aligned or not).
pub(crate) fn sends(proof: &[u8], v: EF) -> bool {
    let n = needle(v);
    proof.windows(n.len()).any(|w| w == n.as_slice())
}

fn windows(p: &[u8]) -> HashSet<&[u8]> {
    p.windows(16).collect()
}

/// An honest run of a zk op: its proof, the commitment it opens against, what the verifier ends
/// with, and the plain values the proof must not send.
pub(crate) struct Run<C, K> {
    pub(crate) proof: Vec<u8>,
    pub(crate) com: C,
    pub(crate) claims: K,
    pub(crate) plain: Vec<EF>,
}

/// A zk op under test (one statement, ideal commitment).
pub(crate) trait ZkOpCase {
    /// The commitment the claims open against.
    type Com;
    /// What the verifier ends with.
    type Claims: PartialEq + std::fmt::Debug;
    /// An honest run with randomness from `seed`.
    fn honest(&self, seed: u64) -> Run<Self::Com, Self::Claims>;
    /// The verifier, with every claim opened against `com`.
    fn check(&self, proof: &[u8], com: &Self::Com) -> Result<Self::Claims, String>;
    /// Values the verified proof sends (the search for plain values must find these).
    fn sent(&self, claims: &Self::Claims) -> Vec<EF>;
    /// A proof made without the witness or its masks (the HVZK simulator).
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8>;
    /// The verifier's checks of a simulated proof (no openings: the hiding PCS's simulator makes
    /// those).
    fn check_simulated(&self, proof: &[u8]) -> Result<(), String>;
}

/// Two honest runs verify to the claims the prover ended with, send none of their plain values
/// (while the same search finds the values they do send) and share no 16-byte window.
pub(crate) fn honest_runs_verify_and_hide<C: ZkOpCase>(case: &C, seeds: [u64; 2]) {
    let runs = seeds.map(|s| case.honest(s));
    for r in &runs {
        let c = case.check(&r.proof, &r.com).expect("an honest proof verifies and opens");
        assert_eq!(c, r.claims);
        assert!(!r.plain.is_empty());
        for &v in &r.plain {
            assert!(!sends(&r.proof, v), "a plain value is sent");
        }
        let sent = case.sent(&c);
        assert!(!sent.is_empty());
        for v in sent {
            assert!(sends(&r.proof, v), "the search finds a sent value");
        }
    }
    assert!(windows(&runs[0].proof).is_disjoint(&windows(&runs[1].proof)), "two runs share a 16-byte window");
}

/// Every limb of every sent value flipped, and the proof truncated by one value, are rejected.
pub(crate) fn flipped_limbs_are_rejected<C: ZkOpCase>(case: &C, run: &Run<C::Com, C::Claims>) {
    case.check(&run.proof, &run.com).expect("control");
    assert_eq!(run.proof.len() % 24, 0);
    for k in 0..run.proof.len() / 24 {
        for limb in 0..3 {
            let mut bad = run.proof.clone();
            bad[24 * k + 8 * limb] ^= 1;
            assert!(case.check(&bad, &run.com).is_err(), "value {k} limb {limb}");
        }
    }
    assert!(case.check(&run.proof[..run.proof.len() - 24], &run.com).is_err(), "truncated");
}

/// `runs` simulated proofs pass the verifier and match the low-bit distribution of `runs` honest
/// ones (seeds `real_seed..`); honest proofs all made with `reused_seed` are told apart (the
/// check can fail).
pub(crate) fn simulated_proofs_match<C: ZkOpCase>(case: &C, runs: u64, rng: &mut StdRng, real_seed: u64, reused_seed: u64) {
    let (mut real, mut sim, mut reused) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        real.push(case.honest(real_seed + i).proof);
        reused.push(case.honest(reused_seed).proof);
        let proof = case.simulate(rng);
        case.check_simulated(&proof).expect("a simulated proof verifies");
        sim.push(proof);
    }
    same_distribution(&real, &sim).expect("honest and simulated proofs look alike");
    assert!(same_distribution(&real, &reused).is_err(), "reused randomness must be detected");
}
