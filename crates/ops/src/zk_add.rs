//! Add (the residual stream, [`crate::ops::add`]) in zero knowledge (issue 13, chokes 1–2; the
//! affine rule of `docs/SECURITY.md`). **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): the public proof is
//! unchanged; this is its zk counterpart as tested library code.
//!
//! **Relation.** `y = a + b` entrywise (`y` virtual). Its randomised extension is *defined* as the
//! operands': `ŷ := â + b̂` (no mask of its own: `â`, `b̂` are committed columns' randomised
//! extensions or virtual tensors' `x + Z·Σ_w R(z_0, w)`), so `ŷ = y` on the cube and a consumer's
//! view of `ŷ` has the cofactor of `â` plus that of `b̂` (each vanishes on any summed boolean
//! coordinate, so the sum does).
//!
//! **Protocol.** Given the claim `ŷ(r) = v` (no coordinate of `r` boolean: refused), the prover
//! sends `â(r)`; the claim on `b̂` is `v − â(r)`. No sumcheck.
//!
//! **Soundness.** Exact: the claims on `â` and `b̂` sum to the claim on `ŷ`, so a false claim on `ŷ`
//! is a false claim on `â` or on `b̂` (checked by their openings or producers). No integer
//! relation.
//!
//! **Zero knowledge.** `â(r)` is one fresh value of `a`'s mask (a committed column's PCS mask, or a
//! virtual operand's `R` mask through `Σ_w R_a(r_0, w)`) at a point with no boolean coordinate:
//! uniform and independent of the witness within the mask's capacity (the claim counts against
//! `a`'s capacity, and `v − â(r)` against `b`'s). Simulator: `â(r)` uniform.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;

const OP: &str = "Add (zk)";

fn check(num_vars: usize, claim: &Claim) -> Result<(), ProofError> {
    if claim.point.len() != num_vars || num_vars == 0 {
        return Err(ProofError::shape(OP, "claim point dimension"));
    }
    if claim.point.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(OP, "a claim at a point with a boolean coordinate is not hidden by any mask"));
    }
    Ok(())
}

/// Prover: the claims `[â(r), b̂(r)]` from the claim on `ŷ` (module docs); `a_hat` is `a`'s
/// randomised extension.
pub fn prove_add_zk(num_vars: usize, claim: &Claim, a_hat: &dyn Fn(&[EF]) -> EF, t: &mut ProverTranscript) -> Result<[Claim; 2], ProofError> {
    check(num_vars, claim)?;
    let a = a_hat(&claim.point);
    t.send_ext(a);
    Ok([Claim::new(claim.point.clone(), a), Claim::new(claim.point.clone(), claim.value - a)])
}

/// Verifier side of [`prove_add_zk`].
pub fn verify_add_zk(num_vars: usize, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<[Claim; 2], ProofError> {
    check(num_vars, claim)?;
    let a = t.receive_ext().map_err(|e| ProofError::check(OP, e.to_string()))?;
    Ok([Claim::new(claim.point.clone(), a), Claim::new(claim.point.clone(), claim.value - a)])
}

#[cfg(test)]
#[path = "zk_add_tests.rs"]
mod tests;
