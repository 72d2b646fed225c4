//! Jolt-style opening accumulator — the one claim type of the system, from the op proofs
//! (`zkinfer_ops::Accumulators`: one per commitment, keyed by witness column or graph tensor) to
//! the openings ([`OpeningAccumulator::rekey`] maps those keys to commitment slots): collect every claim on the polynomials of ONE commitment
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

    /// Takes the recorded claims.
    pub fn into_claims(self) -> Vec<OpeningClaim> {
        self.claims
    }

    /// The same claims, in the same order, with each polynomial index mapped by `f` — from the
    /// index a protocol step used (a witness column, a graph tensor) to the polynomial's index in
    /// the commitment that opens it; the first error of `f` is returned.
    pub fn rekey<E>(self, mut f: impl FnMut(usize) -> Result<usize, E>) -> Result<Self, E> {
        let claims = self.claims.into_iter().map(|c| Ok(OpeningClaim { poly: f(c.poly)?, ..c })).collect::<Result<_, E>>()?;
        Ok(Self { claims })
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

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::PrimeCharacteristicRing;

    #[test]
    fn rekey_keeps_order_and_stops_at_the_first_error() {
        let mut acc = OpeningAccumulator::new();
        for (poly, v) in [(4usize, 1u64), (2, 2), (4, 3)] {
            acc.push(poly, vec![EF::from_u64(v)], EF::from_u64(v));
        }
        let mapped = acc.clone().rekey(|p| Ok::<_, ()>(10 * p)).expect("rekey");
        let got: Vec<(usize, EF)> = mapped.claims().iter().map(|c| (c.poly, c.value)).collect();
        assert_eq!(got, vec![(40, EF::from_u64(1)), (20, EF::from_u64(2)), (40, EF::from_u64(3))]);
        assert_eq!(acc.rekey(|p| if p == 2 { Err(p) } else { Ok(p) }), Err(2));
    }
}
