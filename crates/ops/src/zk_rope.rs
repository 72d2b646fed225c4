//! RoPE in zero knowledge (issue 13, chokes 1–2 for one op; `docs/SECURITY.md`). Wired into the
//! graph prover by `crate::zk_graph`'s module `rope` (`zk_graph_rope.rs`); [`crate::ops::rope`]
//! is the public proof, unchanged.
//!
//! **Relation.** The public op's: `x: [H, T, d]` (virtual or committed, `|x| < 2^b`), public
//! positions and the public `(C, S)` table give the public coefficient tables `A`, `B` (broadcast
//! over the heads), and `u = x·A + x_sw·B` (`x_sw` the pair partner, column `c XOR 1`) is rounded:
//! `u + 2^(F−1)·V = 2^F·y + r`, `0 ≤ r < 2^F`, `y` (output) and `r` committed.
//!
//! **Protocol.** It is a Rescale of the virtual `u` by `F` bits, composed with `u`'s own producer:
//! 1. [`crate::zk_rescale`] with `s = F`: draw `z` (no boolean coordinate), send `ŷ(z)`, `r̂(z)`,
//!    derive `û(z) = 2^F·ŷ(z) + r̂(z) − 2^(F−1)·V(z)` — under the **tie**
//!    `M_r = Σ_w R_u(z_0, w) − 2^F·M_y` ([`crate::zk_rescale::tied_remainder_mask`]), with `R_u` the
//!    `R` mask of the virtual `u`.
//! 2. `u`'s discharge: one masked product sumcheck (`zkinfer_sumcheck::zk_product`, no eq factor,
//!    `R_u` as its output mask) of `x̂·P + c·R̂_u(z_0, x_0)`, claimed sum `û(z)`, where the pair
//!    swap is moved onto the PUBLIC side:
//!    `P(j) = eq(z, j)·A(j) + eq(z, j⊕1)·B(j⊕1)` (`j⊕1` flips the last coordinate, the lowest bit
//!    of the column). Reindexing the cube by `j ↦ j⊕1` (a bijection) in the second half gives
//!    `Σ_j x(j)·P(j) = Σ_j eq(z, j)·(x(j)·A(j) + x(j⊕1)·B(j)) = ũ(z)` exactly. `P` factors as
//!    `eq(z_h, j_h)·Q(j_tc)` over the head coordinates and the `[T̂, d̂]` ones, so the verifier
//!    computes `P̃(ρ) = eq(z_h, ρ_h)·Σ_k eq(ρ_tc, k)·Q(k)` in `O(T·d)` from the positions and the
//!    table. Round degree `2·2 = 4`.
//!
//! **Why not `x̂(ρ)` and `x̂(flip ρ)`** (the public op's two claims, and this module's first
//! version): both randomised extensions carry the SAME mask value — the last coordinate is never a
//! mask variable (`n ≥ 5`), `v(1 − t) = v(t)`, and a virtual tensor's `R` mask reads only the first
//! coordinate — so `x̂(ρ) − x̂(flip ρ) = x(ρ) − x(flip ρ)`, a linear functional of the hidden `x`,
//! was revealed in the clear (the test `two_reads_differing_in_the_last_coordinate_leak` shows it
//! for both kinds of mask; the hiding PCS's own guard refuses such a pair of openings). One claim
//! on `x` closes it.
//!
//! Sent: `ŷ(z)`, `r̂(z)`, the rounds, `x̂(ρ)`, `P(ρ)` (recomputed by the verifier from `z`, the
//! positions and the table), `R̂_u(z_0, ρ_0)`. Claims out: `ŷ(z)`, `r̂(z)` (openings), ONE on `x`
//! (to its producer or its opening), `R_u`, the mask's.
//!
//! **Soundness; no wrap.** The cube sumcheck proves `Σ_j x(j)·P(j) + (mask terms) =
//! 2^F·ŷ(z) + r̂(z) − 2^(F−1)·V(z)`; the left side is `ũ(z)` by the reindexing above (an identity
//! of finite sums, no field assumption); with the masks' defect `D` (a multiple of `Z`, zero on the
//! cube), `L(z) + Z(z)·D(z) = 0` forces the public identity `L ≡ 0` except with probability
//! `≤ 257·n/|EF|` (Rescale's argument), plus the masked sumcheck's `(1 + 4n)/|EF|` and the
//! openings; the verifier's `P̃(ρ)` is exact. Its integer reading, the no-wrap check
//! (`check_rounding`: `|x·A|, |x_sw·B| ≤ 2^(b+F)`, the quotient in `out_bits + 1` signed bits,
//! all below `2^62 < p/2` for `b + F + 2 ≤ 62`; run by both sides) and the parameter checks are the
//! public op's.
//!
//! **Zero knowledge; simulator.** `ŷ(z)` is uniform by `M_y`, `r̂(z)` (equivalently `û(z)`) by
//! `R_u`, `R̂_u(z_0, ρ_0)` by `R_u`'s capacity (2 reads at one first coordinate), `x̂(ρ)` one fresh
//! value of `x`'s mask (a point with no boolean coordinate: one PCS-mask read for a committed `x`,
//! one first-coordinate read of `R_x` for a virtual one, counted as one claim on `x`), the rounds
//! uniform on the affine space fixed by `(û(z), f(ρ))`; the public `P(ρ)` is a function of the
//! challenges. The simulator (tests): `ŷ(z)`, `r̂(z)` uniform, a random instance's masked rounds
//! from `û(z)`, `R̂_u` uniform, `x̂(ρ)` solved from the final equation (slope `P(ρ)`, non-zero
//! except with probability `O(n/|EF|)`).

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::{Mle, eq_eval, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{MIN_ZK_PRODUCT_VARS, OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::ops::rope::{Dims, RopeProof};
use crate::zk_rescale::{ZkRescaleShape, prove_rescale_zk, verify_rescale_zk};

const OP: &str = "Rope (zk)";

/// The public statement: `x`'s shape, the public op (table, parameters) and the positions.
#[derive(Debug, Clone)]
pub struct ZkRopeShape {
    /// `[H, T, d]`.
    pub dims: [usize; 3],
    /// The public op.
    pub op: RopeProof,
    /// The public positions (`T` of them).
    pub positions: Vec<i64>,
}

impl ZkRopeShape {
    pub(crate) fn dims(&self) -> Result<Dims, ProofError> {
        self.op.check_params()?;
        let d = self.op.dims_of(&self.dims, &[self.positions.len()])?;
        if self.positions.iter().any(|&p| usize::try_from(p).map_or(true, |p| p >= self.op.n_ctx)) {
            return Err(ProofError::shape(OP, "a position outside the table"));
        }
        if d.cube.num_vars() < MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, format!("a zk RoPE needs ≥ {MIN_ZK_PRODUCT_VARS} variables, got {}", d.cube.num_vars())));
        }
        Ok(d)
    }

    fn rescale(&self) -> ZkRescaleShape {
        ZkRescaleShape { dims: self.dims.to_vec(), shift: self.op.frac as i32 }
    }

    /// Variables of `x` (and of `y`, `r`).
    pub fn num_vars(&self) -> Result<usize, ProofError> {
        Ok(self.dims()?.cube.num_vars())
    }

    /// `Q(k) = eq(z_tc, k)·A(k) + eq(z_tc, k⊕1)·B(k⊕1)` over the padded `[T̂, d̂]` (module docs).
    fn q_table(&self, d: &Dims, z_tc: &[EF]) -> Result<Vec<EF>, ProofError> {
        let (a, b) = self.op.coeff_tables(d, &self.positions)?;
        let e = eq_evals(z_tc);
        if e.len() != a.len() || a.len() != b.len() || a.len() < 2 {
            return Err(ProofError::shape(OP, "the coefficient tables' size"));
        }
        Ok((0..a.len()).map(|k| e[k] * EF::from(a[k]) + e[k ^ 1] * EF::from(b[k ^ 1])).collect())
    }

    /// The public table `P(j) = eq(z_h, j_h)·Q(j_tc)` over the whole cube (prover).
    fn weight_table(&self, d: &Dims, z: &[EF]) -> Result<Vec<EF>, ProofError> {
        let hv = d.cube.dim_vars()[0];
        let q = self.q_table(d, &z[hv..])?;
        let heads = eq_evals(&z[..hv]);
        let mut out = Vec::with_capacity(heads.len() * q.len());
        for &e in &heads {
            out.extend(q.iter().map(|&v| e * v));
        }
        Ok(out)
    }

    /// `P̃(ρ) = eq(z_h, ρ_h)·Σ_k eq(ρ_tc, k)·Q(k)` (verifier, `O(T·d)`).
    fn weight_at(&self, d: &Dims, z: &[EF], rho: &[EF]) -> Result<EF, ProofError> {
        let hv = d.cube.dim_vars()[0];
        if z.len() != rho.len() || z.len() < hv {
            return Err(ProofError::shape(OP, "a point of another size"));
        }
        let q = self.q_table(d, &z[hv..])?;
        let at: EF = eq_evals(&rho[hv..]).iter().zip(&q).map(|(&e, &v)| e * v).sum();
        Ok(eq_eval(&z[..hv], &rho[..hv]) * at)
    }
}

/// `x · P`: one term, no eq factor (the eq factors are inside the public `P`).
fn terms() -> Vec<Term> {
    vec![(EF::ONE, vec![0, 1])]
}

/// The sumcheck mask's shape (round degree 4).
pub fn zk_rope_mask_shape(shape: &ZkRopeShape) -> Result<MaskShape, ProofError> {
    Ok(product_mask_shape(shape.num_vars()?, &terms(), false))
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRopeClaims {
    /// `ŷ(z)` (the output column).
    pub y: Claim,
    /// `r̂(z)` (`rem`).
    pub r: Claim,
    /// `x̂(ρ)`, to the input's producer (ONE claim: module docs).
    pub x: Claim,
    /// `(a, w, value)` on `R_u`.
    pub u_r: (EF, EF, EF),
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// The commitment's side of the prover: randomised extensions and cofactors.
#[allow(missing_debug_implementations)] // prover secrets behind closures
pub struct ZkRopeMasks<'a> {
    /// `z ↦ ŷ(z)`.
    pub y_hat: &'a dyn Fn(&[EF]) -> EF,
    /// `z ↦ r̂(z)` (`r`'s mask tied to `R_u`).
    pub r_hat: &'a dyn Fn(&[EF]) -> EF,
    /// The factor of `v(z_last)` in `x̂ − x` at a full point.
    pub x_cof: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `(a, t) ↦ R̂_u(a, t)`.
    pub u_hat: &'a (dyn Fn(EF, EF) -> EF + Sync),
}

/// Prover: `x` logical `[H, T, d]` row-major.
pub fn prove_rope_zk(shape: &ZkRopeShape, x: &[i64], masks: &ZkRopeMasks<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkRopeClaims, ProofError> {
    let d = shape.dims()?;
    if x.len() != d.cube.len() {
        return Err(ProofError::witness(OP, "input length"));
    }
    crate::ops::product_sumcheck::check_bound(OP, x, shape.op.in_bits)?;
    let xt: Vec<EF> = d.cube.pad_i64(x).into_iter().map(EF::from).collect();
    prove_with(shape, &d, xt, masks, mask, t, &|_| {})
}

/// The two steps of [`prove_rope_zk`] over the padded `x` table; `forge` edits the public table
/// `P` before the sumcheck (a test hook: a malicious prover's table; honest: no edit).
pub(crate) fn prove_with(
    shape: &ZkRopeShape,
    d: &Dims,
    x: Vec<EF>,
    masks: &ZkRopeMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
    forge: &dyn Fn(&mut [EF]),
) -> Result<ZkRopeClaims, ProofError> {
    let n = d.cube.num_vars();
    let rc = prove_rescale_zk(&shape.rescale(), masks.y_hat, masks.r_hat, t)?;
    let z = rc.x.point.clone();
    let mut p = shape.weight_table(d, &z)?;
    forge(&mut p);
    if x.len() != p.len() {
        return Err(ProofError::witness(OP, "input table length"));
    }
    let terms = terms();
    let inner = ProductSumcheck::new(vec![Mle::new(x), Mle::new(p)], terms.clone(), None);
    let hidden = |j: usize, q: &[EF]| if j == 0 { (masks.x_cof)(q) } else { EF::ZERO };
    let z0 = z[0];
    let u_hat = |w: EF| (masks.u_hat)(z0, w);
    let mut inst = ZkProductSumcheck::new(inner, terms, None, 2, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&z, n), r_hat: &u_hat }))
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let out = prove_product_zk(&mut inst, mask, t);
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkRopeClaims { y: rc.y, r: rc.r, x: Claim::new(out.point.clone(), out.values[0]), u_r: (z0, out.point[0], e), mask_claims: out.mask_claims })
}

#[cfg(test)]
thread_local! {
    /// Tests: the control that skips the verifier's check of the public table's value `P(ρ)`
    /// (a proof rotated with other positions then verifies).
    pub(crate) static SKIP_TABLE_CHECK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Verifier side of [`prove_rope_zk`].
pub fn verify_rope_zk(shape: &ZkRopeShape, t: &mut VerifierTranscript<'_>) -> Result<ZkRopeClaims, ProofError> {
    let d = shape.dims()?;
    let n = d.cube.num_vars();
    let rc = verify_rescale_zk(&shape.rescale(), t)?;
    let z = rc.x.point.clone();
    let out = verify_product_zk_with_output(rc.x.value, n, &terms(), None, 2, Some(output_coeff(&z, n)), t).map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    #[cfg(test)]
    let skip = SKIP_TABLE_CHECK.with(std::cell::Cell::get);
    #[cfg(not(test))]
    let skip = false;
    if !skip && out.values[1] != shape.weight_at(&d, &z, &out.point)? {
        return Err(ProofError::check(OP, "the public rotation table's value is wrong"));
    }
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkRopeClaims { y: rc.y, r: rc.r, x: Claim::new(out.point.clone(), out.values[0]), u_r: (z[0], out.point[0], e), mask_claims: out.mask_claims })
}

/// `y`, `r` of the public op (for callers and tests): `u + 2^(F−1) = 2^F·y + r`.
pub fn rope_outputs(shape: &ZkRopeShape, x: &[i64]) -> Result<(Vec<i64>, Vec<i64>), ProofError> {
    let d = shape.dims()?;
    if x.len() != d.cube.len() {
        return Err(ProofError::witness(OP, "input length"));
    }
    let (a, b) = shape.op.coeff_tables(&d, &shape.positions)?;
    let inner = crate::layout::TensorLayout::new(&[d.t, d.d]);
    let f = shape.op.frac;
    let (mut y, mut r) = (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()));
    for (i, &xv) in x.iter().enumerate() {
        let (row, c) = ((i / d.d) % d.t, i % d.d);
        let k = inner.padded_index(&[row, c]);
        let (ac, bc) = (zkinfer_field::to_i64(a[k]) as i128, zkinfer_field::to_i64(b[k]) as i128);
        let acc = xv as i128 * ac + x[i ^ 1] as i128 * bc + (1i128 << (f - 1));
        let q = acc >> f;
        y.push(i64::try_from(q).map_err(|_| ProofError::witness(OP, "output out of range"))?);
        r.push(i64::try_from(acc - (q << f)).map_err(|_| ProofError::witness(OP, "remainder out of range"))?);
    }
    Ok((y, r))
}

#[cfg(test)]
#[path = "zk_rope_tests.rs"]
mod tests;
