//! Choke point 8 of the zero-knowledge graph proof (issue 13, `docs/SECURITY.md`): the proof's
//! claims on weights, reduced to the key's weight blocks and opened on the proof's ticket.
//!
//! **Statement.** Claims `Ŵ_w(z) = v` on padded weight tensors, where the randomised extension of
//! a padded tensor is *defined* through its blocks (`crate::weight_blocks`): with `z` split per
//! block into a selector `sel_k(z)` (the high bits of each dimension) and a sub-point `s_k(z)`
//! (the low bits), `Ŵ_w(z) = Σ_k sel_k(z)·B̂_k(s_k(z))`, `B̂_k` the ticket's randomised extension
//! of block `k` (`Vanishing::All`, the key's masks). On the cube `Ŵ_w = W_w` (every `B̂_k = B_k`
//! there, and the selectors are the public padding rule), so an op's relation is unchanged.
//! A view that leaves a low bit of some dimension summed over `{0, 1}` sees `Ŵ_w = W_w` (the
//! `Z` factor of every block vanishes); the variable an op's last sumcheck round binds must be a
//! low bit of every block (e.g. the last dimension's least significant bit: every part has at
//! least `MIN_PART_VARS ≥ 1` variables), since a selector bit enters `Ŵ` linearly and would not
//! vanish — a constraint on the wiring of choke points 1–2, stated here because this module
//! fixes the definition.
//!
//! **Protocol.** Per claim, in order: the prover sends `ê_k = B̂_k(s_k(z))` for every block of the
//! tensor; the verifier checks `Σ_k sel_k(z)·ê_k = v` and records the block claims. Then one
//! hiding opening of the ticket ([`zkinfer_pcs::hiding_key::HidingKey::open_ticket`]) proves every block claim and the
//! key's link claims (which tie the ticket to every other ticket: `docs/SECURITY.md`, "Hiding
//! weight key").
//!
//! **Soundness.** The recombination is an exact identity in the sent values; the block claims
//! are bound by the ticket's opening (the hiding PCS's error) and by the link to the key's other
//! tickets. A claim `v` other than `Ŵ_w(z)` forces some sent `ê_k ≠ B̂_k(s_k)`, caught by the
//! opening (tests: a perturbed block value alone fails the recombination; with the claim
//! recomputed from it, the opening).
//!
//! **Zero knowledge.** The sent values are values of the key's randomised extensions at the
//! block sub-points, hidden by the shared masks up to the budget's `c` points per block per
//! ticket (checked by the opening); the opening is the hiding PCS's, simulatable from them. The
//! sub-points must have no boolean coordinate (refused by the opening) and distinct
//! `μ`-prefixes per block (refused too). Leaks: the number of claims per weight, shapes.

use zkinfer_field::EF;
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_transcript::VerifierTranscript;

use crate::ProofSystemError;
use crate::key::WeightMeta;
use crate::weight_blocks::{WeightBlockPlan, WeightClaims};
use crate::zk_key::ZkVerifyingKey;

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

/// The claims of a graph proof's weight accumulator(s), with their key weights.
pub fn weight_claims(claims: &WeightClaims) -> Result<Vec<WeightClaim>, ProofSystemError> {
    claims.claims().map(|c| c.map(|(weight, o)| WeightClaim { weight, point: o.point.clone(), value: o.value })).collect()
}

/// Index of weight `w`'s first block among the key's block polynomials.
fn block_offsets(plan: &WeightBlockPlan, n: usize) -> Result<Vec<usize>, ProofSystemError> {
    let mut out = Vec::with_capacity(n);
    let mut next = 0usize;
    for w in 0..n {
        out.push(next);
        next += plan.tensor(w).ok_or_else(|| ProofSystemError::Rejected(format!("weight {w} has no blocks")))?.blocks().len();
    }
    Ok(out)
}

/// The key's block plan and, per weight, the index of its first block among the key's block
/// polynomials (the order of [`WeightBlockPlan::poly_ids`]).
pub fn plan_of(weights: &[WeightMeta]) -> Result<(WeightBlockPlan, Vec<usize>), ProofSystemError> {
    let plan = WeightBlockPlan::for_weights(weights);
    let offsets = block_offsets(&plan, weights.len())?;
    Ok((plan, offsets))
}

/// Verifier: the counterpart of `zkinfer_proof::zk::prove_weight_claims_zk` against ticket `ticket` of `vk`.
pub fn verify_weight_claims_zk(vk: &ZkVerifyingKey, ticket: usize, claims: &[WeightClaim], t: &mut VerifierTranscript<'_>) -> Result<(), ProofSystemError> {
    // Ticket 0 belongs to the setup proof (`crate::zk_proof::FIRST_PROOF_TICKET`): refused here
    // too, not only by the proof header, so a caller that skips the header cannot open it.
    if ticket < crate::zk_proof::FIRST_PROOF_TICKET as usize {
        return Err(ProofSystemError::Rejected(format!("ticket {ticket} is reserved for the setup proof")));
    }
    let (plan, offsets) = plan_of(&vk.public.weights)?;
    let mut opening = Vec::new();
    for c in claims {
        let tensor = plan.tensor(c.weight).ok_or_else(|| ProofSystemError::Rejected(format!("claim on weight {}, which is not committed", c.weight)))?;
        let split = tensor.selectors_and_sub_points(&c.point)?;
        let evals = t.receive_exts(split.len())?;
        let sum: EF = split.iter().zip(&evals).map(|((sel, _), &e)| *sel * e).sum();
        if sum != c.value {
            return Err(ProofSystemError::Rejected(format!("the block values of weight {} do not add up to its claim", c.weight)));
        }
        for (k, ((_, sub), value)) in split.into_iter().zip(evals).enumerate() {
            opening.push(OpeningClaim { poly: offsets[c.weight] + k, point: sub, value });
        }
    }
    vk.weights.verify_ticket(&HidingPcs::default(), ticket, &opening, t)?;
    Ok(())
}
