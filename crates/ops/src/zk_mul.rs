//! Mul (SwiGLU's `silu(gate) ⊙ up`, [`crate::ops::mul`]) in zero knowledge (issue 13, chokes 1–2).
//! **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): the public proof is unchanged; this is its zk counterpart
//! as tested library code.
//!
//! **Relation.** `y = a ⊙ b` (one shape, `y` virtual with an `R` mask, `zkinfer_sumcheck::zk_virtual`)
//! and a claim `ŷ(r) = v` on its randomised extension.
//!
//! **Protocol.** One masked product sumcheck (`zkinfer_sumcheck::zk_product`) over the tensor's `n`
//! variables of `eq(r, x)·â(x)·b̂(x) + c·R̂_y(r_0, x_0)` (`c = 2^{−(n−1)}·Z(r)`): its sum is
//! `y(r) + Z(r)·Σ_w R_y(r_0, w) = ŷ(r)`, the claim as received; round degree 5. Sent: the rounds,
//! `â(ρ)`, `b̂(ρ)`, `R̂_y(r_0, ρ_0)`. Claims out: `â(ρ)`, `b̂(ρ)` to the operands' origins, `R_y` and the
//! mask's claims to the opening. The operands are read whole (every variable theirs, `Vanishing::All`
//! or a virtual operand's cofactor), so the last round binds their last variable: no broadcast.
//!
//! **Soundness.** The masked sumcheck's `(1 + n·D')/|EF|` (`D = 5`, `D' = 7`) plus the openings; the
//! field identity is the public proof's (its no-wrap argument: [`crate::ops::mul`]).
//!
//! **Zero knowledge.** That of the masked product sumcheck with an output mask: `â(ρ)`, `b̂(ρ)`
//! fresh mask values, `R̂_y(r_0, ρ_0)` uniform by `R_y`'s capacity, the rounds uniform on the affine
//! space fixed by `(ŷ(r), f(ρ))`; simulator `zk_product::simulate_product_zk_with_output`.
//! **Constraint:** `n ≥ 5` (a tensor of fewer than 32 padded entries is committed padded in zk mode).

use zkinfer_field::{EF, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_sumcheck::Term;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{OutputMask, ZkProductSumcheck, base_instance, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;

const OP: &str = "Mul (zk)";

fn terms() -> Vec<Term> {
    vec![(EF::ONE, vec![0, 1])]
}

/// The sumcheck mask's shape (round degree 5) for a tensor of `num_vars` variables.
pub fn zk_mul_mask_shape(num_vars: usize) -> MaskShape {
    product_mask_shape(num_vars, &terms(), true)
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkMulClaims {
    /// `â(ρ)`.
    pub a: Claim,
    /// `b̂(ρ)`.
    pub b: Claim,
    /// `(a, w, value)`: `R̂_y(a, w) = value`.
    pub r: (EF, EF, EF),
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

fn check(num_vars: usize, claim: &Claim) -> Result<(), ProofError> {
    if num_vars < zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS {
        return Err(ProofError::shape(OP, format!("a zk Mul needs ≥ 5 variables, got {num_vars}")));
    }
    if claim.point.len() != num_vars {
        return Err(ProofError::shape(OP, "claim point dimension"));
    }
    Ok(())
}

/// Prover: `a`, `b` padded to `2^num_vars` (row-major, zero padding); `a_cof`, `b_cof` the factor
/// of `v(z_last)` in the operands' randomised extensions; `r_hat(t) = R̂_y(r_0, t)`; `mask` of shape
/// [`zk_mul_mask_shape`], committed with everything the masks refer to.
#[allow(clippy::too_many_arguments)] // the op's operands and the caller's commitment
pub fn prove_mul_zk(
    num_vars: usize,
    a: &[i64],
    b: &[i64],
    claim: &Claim,
    a_cof: &(dyn Fn(&[EF]) -> EF + Sync),
    b_cof: &(dyn Fn(&[EF]) -> EF + Sync),
    r_hat: &(dyn Fn(EF) -> EF + Sync),
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkMulClaims, ProofError> {
    check(num_vars, claim)?;
    if a.len() != 1usize << num_vars || b.len() != a.len() {
        return Err(ProofError::witness(OP, "operand lengths"));
    }
    let lift = |v: &[i64]| v.iter().map(|&x| from_i64_unchecked(x)).collect::<Vec<_>>();
    let inner = base_instance(vec![lift(a), lift(b)], terms(), Some(claim.point.clone()));
    let hidden = |j: usize, z: &[EF]| if j == 0 { a_cof(z) } else { b_cof(z) };
    let mut inst = ZkProductSumcheck::new(inner, terms(), Some(claim.point.clone()), 2, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&claim.point, num_vars), r_hat }))
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let out = prove_product_zk(&mut inst, mask, t);
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkMulClaims {
        a: Claim::new(out.point.clone(), out.values[0]),
        b: Claim::new(out.point.clone(), out.values[1]),
        r: (claim.point[0], out.point[0], e),
        mask_claims: out.mask_claims,
    })
}

/// Verifier side of [`prove_mul_zk`].
pub fn verify_mul_zk(num_vars: usize, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkMulClaims, ProofError> {
    check(num_vars, claim)?;
    let out = verify_product_zk_with_output(claim.value, num_vars, &terms(), Some(&claim.point), 2, Some(output_coeff(&claim.point, num_vars)), t)
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkMulClaims {
        a: Claim::new(out.point.clone(), out.values[0]),
        b: Claim::new(out.point.clone(), out.values[1]),
        r: (claim.point[0], out.point[0], e),
        mask_claims: out.mask_claims,
    })
}

#[cfg(test)]
#[path = "zk_mul_tests.rs"]
mod tests;
