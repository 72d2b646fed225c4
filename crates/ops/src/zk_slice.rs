//! Column slices (`SliceCols`, [`crate::ops::reshape`]) in zero knowledge (issue 13, chokes 1–2).
//! **Not wired into the graph prover**: the public proof is unchanged; this is its zk counterpart
//! as tested library code.
//!
//! **Relation.** `y[t, c] = x[t, start + c]` (`x: [T, C]`, `y: [T, L]`, `y` virtual with an `R`
//! mask) and a claim `ŷ(r_t, r_c) = v`. The public proof relabels the claim when `L` is a power of
//! two dividing `start` (`x̃(r_t, bits(start/L), r_c)`): in zk mode that point has boolean
//! coordinates, where no vanishing factor hides anything, so the zk proof always takes the
//! public proof's other path, the moved-claim sumcheck.
//!
//! **Protocol.** One masked product sumcheck over `x`'s column variables `j` (`n_c ≥ 5`) of
//! `Â(j)·Sel(j) + c·R̂_y(r_0, x_0)` with `Â(j) = x̂(r_t, j)` (the view of `x`'s randomised
//! extension: equal to the plain fold on the boolean `j`), the public selector
//! `Sel(j) = Σ_{c<L} eq(r_c, c)·[j = start + c]` and the output mask (`c = 2^{−(n_c−1)}·Z(r)`,
//! `z_0 = r_t`'s first coordinate): its sum is `y(r) + Z(r)·Σ_w R_y(r_0, w) = ŷ(r)`. Round degree 4.
//! Sent: the rounds, `Â(ρ)`, `Sel(ρ)` (recomputed by the verifier in `O(L)`), `R̂_y(r_0, ρ_0)`.
//! Claims out: `x̂(r_t, ρ)` to `x`'s origin, `R_y` and the mask's to the opening.
//!
//! **Soundness.** The masked sumcheck's `(1 + n_c·D')/|EF|` (`D = 4`, `D' = 7`) plus the openings
//! and the selector check; no arithmetic relation (moves only).
//!
//! **Zero knowledge.** As the zk Embedding's (a public selector): `Â(ρ)` a fresh mask value at a
//! point with no boolean coordinate, `R̂_y` uniform by capacity, the rounds uniform given
//! `(ŷ(r), f(ρ))`. Simulator: `R̂_y` uniform, `Sel(ρ)` computed, `Â(ρ)` solved.

use zkinfer_field::{EF, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;

const OP: &str = "SliceCols (zk)";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public shape: `x: [rows, cols]`, `y = x[:, start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkSliceShape {
    /// Rows `T`.
    pub rows: usize,
    /// Input columns `C`.
    pub cols: usize,
    /// First column.
    pub start: usize,
    /// Columns kept `L`.
    pub len: usize,
}

fn terms() -> Vec<Term> {
    vec![(EF::ONE, vec![0, 1])]
}

impl ZkSliceShape {
    fn tv(&self) -> usize {
        vars(self.rows)
    }
    fn cv(&self) -> usize {
        vars(self.cols)
    }
    /// Variables of a claim on `y`.
    pub fn claim_vars(&self) -> usize {
        self.tv() + vars(self.len)
    }
    fn check(&self, claim: &Claim) -> Result<(), ProofError> {
        if self.rows == 0 || self.len == 0 || self.start.checked_add(self.len).is_none_or(|e| e > self.cols) {
            return Err(ProofError::shape(OP, "a slice outside the input"));
        }
        if self.cv() < zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, "a zk slice needs ≥ 5 column variables in its input"));
        }
        if claim.point.len() != self.claim_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        Ok(())
    }
    /// `Sel` over the input's columns for the claim's column coordinates `r_c`.
    fn selector(&self, r_c: &[EF]) -> Vec<EF> {
        let e = eq_evals(r_c);
        let mut sel = vec![EF::ZERO; 1 << self.cv()];
        for (c, &w) in e.iter().enumerate().take(self.len) {
            sel[self.start + c] = w;
        }
        sel
    }
    /// `Sel̃(ρ)`, `O(L)`.
    pub fn selector_at(&self, r_c: &[EF], rho: &[EF]) -> EF {
        let (e, f) = (eq_evals(r_c), eq_evals(rho));
        (0..self.len).map(|c| e[c] * f[self.start + c]).sum()
    }
}

/// The sumcheck mask's shape (round degree 4).
pub fn zk_slice_mask_shape(shape: &ZkSliceShape) -> MaskShape {
    product_mask_shape(shape.cv(), &terms(), false)
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSliceClaims {
    /// `x̂(r_t, ρ)`.
    pub x: Claim,
    /// `(a, w, value)` on `R_y`.
    pub r: (EF, EF, EF),
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// Prover: `x` row-major `T × C`; `x_cof` the factor of `v(z_last)` in `x̂ − x` at a full point;
/// `r_hat(t) = R̂_y(r_0, t)`; `mask` of shape [`zk_slice_mask_shape`].
pub fn prove_slice_zk(
    shape: &ZkSliceShape,
    x: &[i64],
    claim: &Claim,
    x_cof: &(dyn Fn(&[EF]) -> EF + Sync),
    r_hat: &(dyn Fn(EF) -> EF + Sync),
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkSliceClaims, ProofError> {
    shape.check(claim)?;
    if x.len() != shape.rows * shape.cols {
        return Err(ProofError::witness(OP, "input length"));
    }
    let (tv, cv) = (shape.tv(), shape.cv());
    let (r_t, r_c) = claim.point.split_at(tv);
    let e = eq_evals(r_t);
    let mut a = vec![EF::ZERO; 1 << cv];
    for (row, w) in x.chunks_exact(shape.cols).zip(&e) {
        for (o, &v) in a.iter_mut().zip(row) {
            *o += *w * EF::from(from_i64_unchecked(v));
        }
    }
    prove_with_tables(shape, a, shape.selector(r_c), claim, x_cof, r_hat, mask, t)
}

/// The sumcheck of [`prove_slice_zk`] over the given tables `[A, Sel]` (a test hook: a malicious
/// prover substitutes the selector).
#[allow(clippy::too_many_arguments)] // the op's tables and the caller's commitment
fn prove_with_tables(
    shape: &ZkSliceShape,
    a: Vec<EF>,
    sel: Vec<EF>,
    claim: &Claim,
    x_cof: &(dyn Fn(&[EF]) -> EF + Sync),
    r_hat: &(dyn Fn(EF) -> EF + Sync),
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkSliceClaims, ProofError> {
    let cv = shape.cv();
    let r_t = &claim.point[..shape.tv()];
    let inner = ProductSumcheck::new(vec![Mle::new(a), Mle::new(sel)], terms(), None);
    let hidden = |j: usize, z: &[EF]| if j == 0 { x_cof(&[r_t, z].concat()) } else { EF::ZERO };
    let mut inst = ZkProductSumcheck::new(inner, terms(), None, 2, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&claim.point, cv), r_hat }))
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let out = prove_product_zk(&mut inst, mask, t);
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkSliceClaims { x: Claim::new([r_t, &out.point].concat(), out.values[0]), r: (claim.point[0], out.point[0], e), mask_claims: out.mask_claims })
}

/// Verifier side of [`prove_slice_zk`].
pub fn verify_slice_zk(shape: &ZkSliceShape, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkSliceClaims, ProofError> {
    shape.check(claim)?;
    let (tv, cv) = (shape.tv(), shape.cv());
    let (r_t, r_c) = claim.point.split_at(tv);
    let out = verify_product_zk_with_output(claim.value, cv, &terms(), None, 2, Some(output_coeff(&claim.point, cv)), t)
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    if out.values[1] != shape.selector_at(r_c, &out.point) {
        return Err(ProofError::check(OP, "the public selector's value is wrong"));
    }
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkSliceClaims { x: Claim::new([r_t, &out.point].concat(), out.values[0]), r: (claim.point[0], out.point[0], e), mask_claims: out.mask_claims })
}

#[cfg(test)]
#[path = "zk_slice_tests.rs"]
mod tests;
