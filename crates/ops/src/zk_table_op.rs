//! Table ops (GELU, SiLU: [`crate::ops::table_op`]) in zero knowledge (issue 13, chokes 1–2; the
//! lookup itself is choke 4, [`crate::zk_lookups`]). **Not called by the graph prover**, which uses this relation without the copy (`x` is itself a committed column; `crate::zk_graph`): the
//! public proof is unchanged; this is its zk counterpart as tested library code.
//!
//! **Relation** (that of the public op). The output `y` and a copy `x'` of the input are committed;
//! the lookup proves every row `(x', y)` is a row of the public function table; the walk proves
//! `x' = x` by one random evaluation. No sumcheck, no arithmetic relation (nothing can wrap).
//!
//! **Protocol.** The verifier draws `z` (a boolean coordinate is refused: probability `2n/|EF|`);
//! the prover sends `x̂'(z)`, the value of the copy's randomised extension (`Vanishing::All`); the
//! same value is the claim on the input's randomised extension `x̂(z)`. Claims out: `x̂'(z)` on the
//! commitment, `x̂(z)` to the input's origin.
//!
//! **The tie (completeness).** `x̂'(z) = x̂(z)` as polynomials needs the copy's mask to be the
//! input's: committed input (a clamp's output, the graph's case): `x'` is committed with `x`'s
//! mask table (the same layout: one tensor shape, the same blocks, so `P̂_{x'} − P_{x'}` and
//! `P̂_x − P_x` are the same function); virtual input with an `R` mask: `M_{x'}(z_{<μ}) =
//! Σ_w R_x(z_0, w)` ([`crate::zk_rescale::tied_copy_mask`], `x'` committed as one block, the
//! Rescale's wiring constraint).
//!
//! **Soundness.** `x̂'(z) − x̂(z) = (x' − x)(z) + Z(z)·(M_{x'} − M_x)(z)`: zero at the random `z`
//! with `x' ≠ x` on the cube only with probability `≤ (2 + 2^a − 1)·n/|EF|` (the argument of
//! [`crate::zk_rescale`]: `Z·D` vanishes on the cube, a multilinear `x' − x` vanishing there is
//! zero), whatever masks a malicious prover committed.
//!
//! **Zero knowledge.** `x̂'(z)` is one fresh value of the shared mask at a point with no boolean
//! coordinate: uniform. Shared mask, shared capacity: the input's claims and the copy's (its
//! lookup leaves) together count against `2^{a·μ}` points (`z` once: both claims are one value).
//! Simulator: `x̂'(z)` uniform.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;

const OP: &str = "TableOp (zk)";

/// What both sides end with: the claim on the committed copy (to open) and on the input (to its
/// origin), one point, one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkTableOpClaims {
    /// `x̂'(z)`.
    pub copy: Claim,
    /// `x̂(z)` (the same value).
    pub input: Claim,
}

fn point(num_vars: usize, z: Vec<EF>) -> Result<Vec<EF>, ProofError> {
    if num_vars == 0 {
        return Err(ProofError::shape(OP, "a zk table op of a single entry (nothing to mask)"));
    }
    if z.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(OP, "a boolean coordinate in the random point (probability 2n/|EF|)"));
    }
    Ok(z)
}

/// Prover (module docs): `num_vars` of the padded tensor; `copy_hat` the copy's randomised
/// extension (the commitment's).
pub fn prove_table_op_zk(num_vars: usize, copy_hat: &dyn Fn(&[EF]) -> EF, t: &mut ProverTranscript) -> Result<ZkTableOpClaims, ProofError> {
    let z = point(num_vars, if num_vars == 0 { Vec::new() } else { t.challenge_exts(num_vars) })?;
    let v = copy_hat(&z);
    t.send_ext(v);
    Ok(ZkTableOpClaims { copy: Claim::new(z.clone(), v), input: Claim::new(z, v) })
}

/// Verifier side of [`prove_table_op_zk`].
pub fn verify_table_op_zk(num_vars: usize, t: &mut VerifierTranscript<'_>) -> Result<ZkTableOpClaims, ProofError> {
    let z = point(num_vars, if num_vars == 0 { Vec::new() } else { t.challenge_exts(num_vars) })?;
    let v = t.receive_ext().map_err(|e| ProofError::check(OP, e.to_string()))?;
    Ok(ZkTableOpClaims { copy: Claim::new(z.clone(), v), input: Claim::new(z, v) })
}

#[cfg(test)]
#[path = "zk_table_op_tests.rs"]
mod tests;
