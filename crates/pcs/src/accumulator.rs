//! Jolt-style opening accumulator — the one claim type of the system, from the op proofs
//! (`zkinfer_ops::Accumulators`: one per commitment) to the openings. Every claim is keyed by
//! `(polynomial, origin)` from the moment a protocol step makes it ([`PolyId`], [`Origin`]) and
//! keeps that key to the end: nothing re-keys it. A commitment is described by the ids of its
//! polynomials in commitment order; opening it resolves each claim's id against that list
//! ([`OpeningAccumulator::opening_claims`]) and rejects a claim on a polynomial the commitment
//! does not hold. Collect every claim on the polynomials of ONE commitment while proving (or
//! verifying) the rest of the protocol, then discharge them all at the end with a single batched
//! opening ([`Pcs::open`] / [`Pcs::verify`]: one batching sumcheck, one WHIR opening). A system
//! with several commitments (weights from setup, per-request witness) keeps one accumulator per
//! commitment and discharges them in a fixed order.
//!
//! The key is not bound into the transcript: prover and verifier push the same claims in the same
//! order, and what the opening absorbs is each claim's position in the commitment, its point and
//! its value (as before the keys existed), so the key costs no proof bytes.

use std::collections::HashMap;

use zkinfer_field::EF;
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::{OpeningClaim, Pcs, PcsError};

/// The polynomial a claim is on, named the same way from the protocol step that makes the claim
/// to the opening that discharges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolyId {
    /// Column `c` of the witness plan (`zkinfer_ops::ColumnId(c)`): committed in the witness
    /// commitment, or virtual (rewritten into its committed terms before the opening).
    Column(usize),
    /// Graph tensor `t` (a weight or a deferred input) as the op proofs read it: its padded
    /// table. A weight claim becomes [`PolyId::WeightBlock`] claims through the weight-block
    /// reduction; a deferred one is discharged by the caller (a chunk's keys/values).
    Tensor(usize),
    /// Block `block` of the key's weight `weight` (index in the key's weight list): a polynomial
    /// of the weight commitment.
    WeightBlock {
        /// The weight's index in the key's weight list.
        weight: usize,
        /// The block's index among the weight's blocks.
        block: usize,
    },
    /// Polynomial `k` of a commitment whose polynomials have no other name (a chunk's
    /// keys/values, the setup proof's auxiliary polynomials, tests).
    Slot(usize),
}

impl PolyId {
    /// The index the id carries (column, tensor, slot; the block for a weight block).
    pub fn index(self) -> usize {
        match self {
            PolyId::Column(i) | PolyId::Tensor(i) | PolyId::Slot(i) => i,
            PolyId::WeightBlock { block, .. } => block,
        }
    }

    /// The ids of a commitment of `n` unnamed polynomials: `Slot(0), …, Slot(n − 1)`.
    pub fn slots(n: usize) -> Vec<PolyId> {
        (0..n).map(PolyId::Slot).collect()
    }
}

/// The protocol step that made a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// The proof of graph node `n` (its walk step or zero-check, or the routing of its claims
    /// on its operands).
    Node(usize),
    /// The logUp-GKR statement `i` (claims on looked-up columns and multiplicities).
    Lookup(usize),
    /// The limb relation of range check `i`.
    Range(usize),
    /// The rewriting of a claim on a virtual column into claims on its terms.
    Virtual,
    /// A claim handed to the graph from outside (a chunk's keys/values link), or made by the
    /// caller of a graph proof.
    External,
    /// The weight-block reduction (a claim on a padded weight into claims on its blocks).
    WeightBlocks,
    /// The setup proof.
    Setup,
}

/// One claim `P_poly(point) = value`, with the step that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// The polynomial.
    pub poly: PolyId,
    /// The step that made the claim.
    pub origin: Origin,
    /// The evaluation point (`x_0` first).
    pub point: Vec<EF>,
    /// The claimed value.
    pub value: EF,
}

/// Claims on the polynomials of one commitment, keyed by `(polynomial, origin)`, in push order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpeningAccumulator {
    claims: Vec<Opening>,
}

impl OpeningAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the claim `P_poly(point) = value` made by `origin`. Prover and verifier must push
    /// the same claims in the same order (the value is whatever the protocol step concluded).
    pub fn push(&mut self, poly: PolyId, origin: Origin, point: Vec<EF>, value: EF) {
        self.claims.push(Opening { poly, origin, point, value });
    }

    /// Records a claim.
    pub fn push_claim(&mut self, claim: Opening) {
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
    pub fn claims(&self) -> &[Opening] {
        &self.claims
    }

    /// Takes the recorded claims.
    pub fn into_claims(self) -> Vec<Opening> {
        self.claims
    }

    /// The claims as the PCS opens them, in push order: each claim's polynomial is found in
    /// `polys`, the ids of the commitment's polynomials in commitment order. A claim on a
    /// polynomial the commitment does not hold is an error (nothing would check it).
    pub fn opening_claims(&self, polys: &[PolyId]) -> Result<Vec<OpeningClaim>, PcsError> {
        let position: HashMap<PolyId, usize> = polys.iter().enumerate().map(|(k, &id)| (id, k)).collect();
        self.claims
            .iter()
            .map(|c| {
                let poly = *position
                    .get(&c.poly)
                    .ok_or_else(|| PcsError::BadClaim(format!("claim on {:?} (from {:?}), which the commitment does not hold", c.poly, c.origin)))?;
                Ok(OpeningClaim { poly, point: c.point.clone(), value: c.value })
            })
            .collect()
    }

    /// Prover: proves every recorded claim with one batched opening of the commitment whose
    /// polynomials are `polys`.
    pub fn prove<P: Pcs>(self, pcs: &P, data: &P::ProverData, polys: &[PolyId], t: &mut ProverTranscript) -> Result<(), PcsError> {
        pcs.open(data, &self.opening_claims(polys)?, t)
    }

    /// Prover: like [`Self::prove`], consuming the prover data (no copy of the codeword).
    pub fn prove_consuming<P: Pcs>(self, pcs: &P, data: P::ProverData, polys: &[PolyId], t: &mut ProverTranscript) -> Result<(), PcsError> {
        pcs.open_consuming(data, &self.opening_claims(polys)?, t)
    }

    /// Verifier: checks every recorded claim against the commitment whose polynomials are `polys`.
    pub fn verify<P: Pcs>(self, pcs: &P, com: &P::Commitment, polys: &[PolyId], t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        pcs.verify(com, &self.opening_claims(polys)?, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::PrimeCharacteristicRing;

    #[test]
    fn claims_resolve_by_id_in_push_order_and_unknown_ids_are_refused() {
        let mut acc = OpeningAccumulator::new();
        for (c, v) in [(4usize, 1u64), (2, 2), (4, 3)] {
            acc.push(PolyId::Column(c), Origin::Node(7), vec![EF::from_u64(v)], EF::from_u64(v));
        }
        // The commitment holds columns 2 and 4 (column 3 is virtual, say).
        let polys = [PolyId::Column(2), PolyId::Column(4)];
        let got: Vec<(usize, EF)> = acc.opening_claims(&polys).expect("resolve").iter().map(|c| (c.poly, c.value)).collect();
        assert_eq!(got, vec![(1, EF::from_u64(1)), (0, EF::from_u64(2)), (1, EF::from_u64(3))]);
        // A claim on a polynomial outside the commitment, or of another kind with the same index.
        assert!(acc.opening_claims(&[PolyId::Column(4)]).is_err());
        assert!(acc.opening_claims(&[PolyId::Slot(2), PolyId::Slot(4)]).is_err());
    }
}
