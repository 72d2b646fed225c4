//! Jolt-style opening accumulator: collect every claim on the polynomials of ONE commitment
//! while proving (or verifying) the rest of the protocol, then discharge them all at the end
//! with a single batched opening ([`Pcs::open`] / [`Pcs::verify`]: one batching sumcheck, one
//! WHIR opening). A system with several commitments (weights from setup, per-request witness)
//! keeps one accumulator per commitment and discharges them in a fixed order.

use zkinfer_field::EF;
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::{OpeningClaim, Pcs, PcsError};

/// Claims `P_poly(point) = value` on the polynomials of one commitment, in push order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpeningAccumulator {
    claims: Vec<OpeningClaim>,
}

impl OpeningAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the claim `P_poly(point) = value`. Prover and verifier must push the same
    /// claims in the same order (the value is whatever the protocol step concluded).
    pub fn push(&mut self, poly: usize, point: Vec<EF>, value: EF) {
        self.claims.push(OpeningClaim { poly, point, value });
    }

    /// Records a claim.
    pub fn push_claim(&mut self, claim: OpeningClaim) {
        self.claims.push(claim);
    }

    /// Number of claims recorded.
    pub fn len(&self) -> usize {
        self.claims.len()
    }

    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }

    /// The claims recorded so far.
    pub fn claims(&self) -> &[OpeningClaim] {
        &self.claims
    }

    /// Prover: proves every recorded claim with one batched opening.
    pub fn prove<P: Pcs>(self, pcs: &P, data: &P::ProverData, t: &mut ProverTranscript) -> Result<(), PcsError> {
        pcs.open(data, &self.claims, t)
    }

    /// Prover: like [`Self::prove`], consuming the prover data (no copy of the codeword).
    pub fn prove_consuming<P: Pcs>(
        self,
        pcs: &P,
        data: P::ProverData,
        t: &mut ProverTranscript,
    ) -> Result<(), PcsError> {
        pcs.open_consuming(data, &self.claims, t)
    }

    /// Verifier: checks every recorded claim against the commitment.
    pub fn verify<P: Pcs>(self, pcs: &P, com: &P::Commitment, t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        pcs.verify(com, &self.claims, t)
    }
}
