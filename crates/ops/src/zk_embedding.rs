//! Embedding in zero knowledge (issue 13, chokes 1–2; `docs/SECURITY.md`). **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): [`crate::ops::embedding`] is the public proof, unchanged.
//!
//! **Relation.** `y[t, c] = E[ids_t, c]` (`ids: [T]` public, `E: [R, D]` a weight, `y` virtual),
//! zero-padded; a claim `ŷ(r_t, r_c) = v` on the output's randomised extension
//! (`zkinfer_sumcheck::zk_virtual`).
//!
//! **Protocol.** One masked product sumcheck (`zkinfer_sumcheck::zk_product`) over the row
//! variables `j` (`r_vars`) of `S(j)·Ê(j, r_c) + c·R̂_y(r_0, x_0)`, `S(j) = Σ_{t<T} eq(r_t, t)·[ids_t = j]`
//! the public selector, `Ê(·, r_c)` the view of the weight's randomised extension (plain on the
//! boolean `j`), `c = 2^{−(r_vars−1)}·Z(r)`: the sum is `ŷ(r)`. The prover sends `S̃(ρ)` (the
//! verifier evaluates it itself, `O(T·log R)`, and compares), `Ê(ρ, r_c)` and `R̂_y(r_0, ρ_0)`.
//! Claims out: `Ê` at `(ρ, r_c)`, `R_y` at `(r_0, ρ_0)`, the mask's claims; none on the ids.
//!
//! **Every row, in order** (the public proof's pass-through when `ids = 0, 1, …, T−1` of an
//! activation, `GatherRows`): then `y = x` as tensors and, by the affine rule, `ŷ := x̂` (no mask
//! of its own): the claim passes to `x` unchanged, as in public mode. Not this module's case (a
//! weight table is never gathered whole).
//!
//! **Constraints.** `r_vars ≥ 5`: the last round binds `j`'s least significant bit, coordinate
//! `r_vars − 1` of `E`'s point (an inner coordinate: the caller's cofactor takes it), which must
//! not be a mask variable. **Soundness** `(1 + r_vars·7)/|EF|` (degree 4) plus the openings; the
//! ids are checked against `R` (a verifier refusing ids outside `[0, R)`). **Zero knowledge** as
//! for `zkinfer_ops::zk_matmul`; the simulator (tests) solves `Ê(ρ, r_c)`.

use zkinfer_field::{EF, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{MIN_ZK_PRODUCT_VARS, OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::mle_eval::eq_at_index;

const OP: &str = "Embedding (zk)";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public statement of a zk Embedding: the table's shape and the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkEmbeddingShape {
    /// Rows of `E`.
    pub rows: usize,
    /// Columns of `E` (and of `y`).
    pub dim: usize,
    /// The public ids (`T` of them).
    pub ids: Vec<usize>,
}

impl ZkEmbeddingShape {
    fn rv(&self) -> usize {
        vars(self.rows)
    }
    fn tv(&self) -> usize {
        vars(self.ids.len())
    }
    /// Variables of a claim on `y` (`[T, D]`).
    pub fn claim_vars(&self) -> usize {
        self.tv() + vars(self.dim)
    }
    fn terms() -> Vec<Term> {
        vec![(EF::ONE, vec![0, 1])]
    }
    fn check(&self, claim: &Claim) -> Result<(), ProofError> {
        if self.rows == 0 || self.dim == 0 || self.ids.is_empty() {
            return Err(ProofError::shape(OP, "empty dimension"));
        }
        if self.ids.iter().any(|&i| i >= self.rows) {
            return Err(ProofError::shape(OP, "an id outside the table"));
        }
        if self.rv() < MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, "a zk Embedding needs a table of ≥ 5 row variables"));
        }
        if claim.point.len() != self.claim_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        Ok(())
    }
    /// `S̃(ρ) = Σ_t eq(r_t, t)·eq(ρ, ids_t)`.
    fn selector_at(&self, r_t: &[EF], rho: &[EF]) -> EF {
        self.ids.iter().enumerate().map(|(t, &id)| eq_at_index(r_t, t) * eq_at_index(rho, id)).sum()
    }
}

/// The shape of the sumcheck mask the caller commits (round degree 4).
pub fn zk_embedding_mask_shape(shape: &ZkEmbeddingShape) -> MaskShape {
    product_mask_shape(shape.rv(), &ZkEmbeddingShape::terms(), false)
}

/// The caller's hiding commitment, prover side.
pub struct ZkEmbeddingMasks<'a> {
    /// The factor of `v(z_var)` in `Ê(z) − E(z)` at `E`'s full point, `var = r_vars − 1`.
    pub table: &'a (dyn Fn(&[EF], usize) -> EF + Sync),
    /// `t ↦ R̂_y(r_0, t)`.
    pub r_hat: &'a (dyn Fn(EF) -> EF + Sync),
}

impl std::fmt::Debug for ZkEmbeddingMasks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkEmbeddingMasks").finish_non_exhaustive()
    }
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkEmbeddingClaims {
    /// On `Ê` at `(ρ, r_c)`.
    pub table: Claim,
    /// `(a, w, value)`: `R̂_y(a, w) = value`.
    pub r: (EF, EF, EF),
    /// `(point, value)` claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// Tables `[S, B]` over the rows: `B[j] = Σ_c eq(r_c, c)·E[j, c]`. `table` is `R × D` row-major.
fn build_tables(s: &ZkEmbeddingShape, table: &[i64], point: &[EF]) -> Vec<Mle<EF>> {
    let (r_t, r_c) = point.split_at(s.tv());
    let (et, ec) = (eq_evals(r_t), eq_evals(r_c));
    let size = 1usize << s.rv();
    let mut sel = vec![EF::ZERO; size];
    for (t, &id) in s.ids.iter().enumerate() {
        sel[id] += et[t];
    }
    let mut b = vec![EF::ZERO; size];
    for (j, row) in table.chunks_exact(s.dim).take(s.rows).enumerate() {
        b[j] = row.iter().zip(&ec).map(|(&v, &e)| e * EF::from(from_i64_unchecked(v))).sum();
    }
    vec![Mle::new(sel), Mle::new(b)]
}

fn sumcheck_err(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck(OP, e.to_string())
}

/// Prover (module docs); `mask` has shape [`zk_embedding_mask_shape`].
pub fn prove_embedding_zk(
    shape: &ZkEmbeddingShape,
    table: &[i64],
    claim: &Claim,
    masks: &ZkEmbeddingMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkEmbeddingClaims, ProofError> {
    shape.check(claim)?;
    if table.len() != shape.rows * shape.dim {
        return Err(ProofError::witness(OP, "table length"));
    }
    let tables = build_tables(shape, table, &claim.point);
    prove_with_tables(shape, tables, claim, masks, mask, t)
}

/// The sumcheck over the given tables (a test hook).
fn prove_with_tables(
    shape: &ZkEmbeddingShape,
    tables: Vec<Mle<EF>>,
    claim: &Claim,
    masks: &ZkEmbeddingMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkEmbeddingClaims, ProofError> {
    let rv = shape.rv();
    let r_c = &claim.point[shape.tv()..];
    let hidden = |j: usize, z: &[EF]| if j == 1 { (masks.table)(&[z, r_c].concat(), rv - 1) } else { EF::ZERO };
    let inner = ProductSumcheck::new(tables, ZkEmbeddingShape::terms(), None);
    let mut inst = ZkProductSumcheck::new(inner, ZkEmbeddingShape::terms(), None, 2, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&claim.point, rv), r_hat: masks.r_hat }))
        .map_err(sumcheck_err)?;
    let out = prove_product_zk(&mut inst, mask, t);
    let r_value = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkEmbeddingClaims { table: Claim::new([&out.point[..], r_c].concat(), out.values[1]), r: (claim.point[0], out.point[0], r_value), mask_claims: out.mask_claims })
}

/// Verifier side of [`prove_embedding_zk`].
pub fn verify_embedding_zk(shape: &ZkEmbeddingShape, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkEmbeddingClaims, ProofError> {
    shape.check(claim)?;
    let rv = shape.rv();
    let (r_t, r_c) = claim.point.split_at(shape.tv());
    let out = verify_product_zk_with_output(claim.value, rv, &ZkEmbeddingShape::terms(), None, 2, Some(output_coeff(&claim.point, rv)), t)
        .map_err(sumcheck_err)?;
    if out.values[0] != shape.selector_at(r_t, &out.point) {
        return Err(ProofError::check(OP, "the public selector's value is wrong"));
    }
    let r_value = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkEmbeddingClaims { table: Claim::new([&out.point[..], r_c].concat(), out.values[1]), r: (claim.point[0], out.point[0], r_value), mask_claims: out.mask_claims })
}

#[cfg(test)]
#[path = "zk_embedding_tests.rs"]
mod tests;
