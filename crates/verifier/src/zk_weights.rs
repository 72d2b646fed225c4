//! Choke point 8 of the zero-knowledge graph proof (issue 13, `docs/SECURITY.md`): the proof's
//! claims on weights, opened on the proof's ticket of the zk key.
//!
//! **Statement.** Claims `Ŵ_w(z) = v` on weight `w` of the key, where `Ŵ_w` is the ticket's
//! randomised extension of the weight's polynomial: its values zero-padded per dimension to powers
//! of two, row-major, MSB first ([`crate::zk_key::weight_num_vars`] variables) — exactly the zk
//! graph driver's weight polynomial (`zkinfer_ops::zk_graph::HiddenKind::Weight`) — plus
//! `Z(z)·M_w(z_{<μ})` with `Z = Π_i v(z_i)` (`Vanishing::All`) and `M_w` the key's shared mask,
//! `μ = min(m, 4)`. On the cube `Ŵ_w = W_w`, and on any view that leaves a coordinate summed over
//! `{0, 1}`, so an op's relation is unchanged; the variable an op's last sumcheck round binds must
//! not be a mask variable (`≥ μ`), as for a weight of the proof's own batch.
//!
//! **Protocol.** One hiding opening of the ticket
//! ([`zkinfer_pcs::hiding_key::HidingKey::open_ticket`]) proves every claim and the key's link
//! claims (which tie the ticket to every other ticket: `docs/SECURITY.md`, "Hiding weight key").
//! Nothing else is sent: the claims' values are the graph proof's own messages.
//!
//! **Soundness.** The ticket's root is in the key, fixed before the proof's transcript (whose
//! domain binds the key's digest and the ticket), so a false claim is caught by the opening (the
//! hiding PCS's error) — and, through the link, every ticket holds the same weights.
//!
//! **Zero knowledge.** The claimed values are values of the key's randomised extensions at points
//! with no boolean coordinate (refused by the opening), hidden by the shared masks up to the
//! budget's `c` distinct points per weight per ticket (refused past it by the opening); the opening
//! is the hiding PCS's, simulatable from them. Leaks: the number of claims per weight, shapes, the
//! ticket index.

use zkinfer_field::EF;
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::HidingKey;
use zkinfer_transcript::VerifierTranscript;

use crate::ProofSystemError;
use crate::key::WeightMeta;
use crate::zk_key::{ZkVerifyingKey, weight_num_vars};

/// A claim `Ŵ_w(point) = value` on key weight `w` (index in the key's weight list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightClaim {
    /// The key weight.
    pub weight: usize,
    /// The point on its padded tensor.
    pub point: Vec<EF>,
    /// The claimed value of its randomised extension.
    pub value: EF,
}

/// The opening claims of `claims` against the key's polynomials (one per weight), each point's
/// length checked against its weight's padded size.
pub fn opening_claims(weights: &[WeightMeta], claims: &[WeightClaim]) -> Result<Vec<OpeningClaim>, ProofSystemError> {
    let vars = weight_num_vars(weights);
    claims
        .iter()
        .map(|c| {
            let m = *vars.get(c.weight).ok_or_else(|| ProofSystemError::Rejected(format!("claim on weight {}, which is not committed", c.weight)))?;
            if c.point.len() != m {
                return Err(ProofSystemError::Rejected(format!("weight claim with {} coordinates on a tensor of {m} variables", c.point.len())));
            }
            Ok(OpeningClaim { poly: c.weight, point: c.point.clone(), value: c.value })
        })
        .collect()
}

/// Verifier of the weight claims on ticket `ticket` of hiding key `hk` over the weights `weights`
/// (the zk key's public list).
pub fn verify_weight_claims_on(hk: &HidingKey, weights: &[WeightMeta], ticket: usize, claims: &[WeightClaim], t: &mut VerifierTranscript<'_>) -> Result<(), ProofSystemError> {
    // Ticket 0 belongs to the setup proof (`crate::zk_proof::FIRST_PROOF_TICKET`): refused here
    // too, not only by the proof header, so a caller that skips the header cannot open it.
    if ticket < crate::zk_proof::FIRST_PROOF_TICKET as usize {
        return Err(ProofSystemError::Rejected(format!("ticket {ticket} is reserved for the setup proof")));
    }
    if weight_num_vars(weights) != hk.poly_num_vars {
        return Err(ProofSystemError::Rejected("the hiding weight key does not commit these weights".into()));
    }
    let opening = opening_claims(weights, claims)?;
    hk.verify_ticket(&HidingPcs::default(), ticket, &opening, t)?;
    Ok(())
}

/// Verifier: the counterpart of `zkinfer_proof::zk::prove_weight_claims_zk` against ticket `ticket` of `vk`.
pub fn verify_weight_claims_zk(vk: &ZkVerifyingKey, ticket: usize, claims: &[WeightClaim], t: &mut VerifierTranscript<'_>) -> Result<(), ProofSystemError> {
    verify_weight_claims_on(&vk.weights, &vk.public.weights, ticket, claims, t)
}
