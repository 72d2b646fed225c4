//! RoPE in zero knowledge (issue 13, chokes 1–2 for one op; `docs/SECURITY.md`). **Not wired
//! into the graph prover**: [`crate::ops::rope`] is the public proof, unchanged.
//!
//! **Relation.** The public op's: `x: [H, T, d]` (virtual, `|x| < 2^b`), public positions and the
//! public `(C, S)` table give the public coefficient tables `A`, `B` (broadcast over the heads), and
//! `u = x·A + x_sw·B` (`x_sw` the pair partner, column `c XOR 1`) is rounded:
//! `u + 2^(F−1)·V = 2^F·y + r`, `0 ≤ r < 2^F`, `y` (output) and `r` committed.
//!
//! **Protocol.** It is a Rescale of the virtual `u` by `F` bits, composed with `u`'s own producer:
//! 1. [`crate::zk_rescale`] with `s = F`: draw `z` (no boolean coordinate), send `ŷ(z)`, `r̂(z)`,
//!    derive `û(z) = 2^F·ŷ(z) + r̂(z) − 2^(F−1)·V(z)` — under the **tie**
//!    `M_r = Σ_w R_u(z_0, w) − 2^F·M_y` ([`crate::zk_rescale::tied_remainder_mask`]), with `R_u` the
//!    `R` mask of the virtual `u`.
//! 2. `u`'s discharge: one masked product sumcheck (`zkinfer_sumcheck::zk_product`, with
//!    `eq(z, ·)` and `R_u` as its output mask) of `eq(z, ·)·(x̂·A + x̂_sw·B) + c·R̂_u(z_0, x_0)`,
//!    claimed sum `û(z)`. `x̂_sw(j) := x̂(flip(j))` (`flip` the last coordinate): on the cube it is
//!    `x_sw`, and its randomised part is `x̂`'s own with the same cofactor (the last coordinate is
//!    never a mask variable for `n ≥ 5`, `v(1 − t) = v(t)`, and `R_x` reads only `z_0`), so its
//!    final value is the claim `x̂(flip(ρ))`. Round degree `2·2 + 1 = 5`.
//!
//! Sent: `ŷ(z)`, `r̂(z)`, the rounds, `x̂(ρ)`, `x̂(flip ρ)`, `A(ρ)`, `B(ρ)` (recomputed by the
//! verifier from the positions and the table), `R̂_u(z_0, ρ_0)`. Claims out: `ŷ(z)`, `r̂(z)` (openings),
//! two on `x` (to its producer: a masked merge), `R_u`, the mask's.
//!
//! **Soundness; no wrap.** The cube sumcheck proves `Σ eq(z, ·)(x·A + x_sw·B) + (mask terms) =
//! 2^F·ŷ(z) + r̂(z) − 2^(F−1)·V(z)`; with the masks' defect `D` (a multiple of `Z`, zero on the
//! cube), `L(z) + Z(z)·D(z) = 0` forces the public identity `L ≡ 0` except with probability
//! `≤ 257·n/|EF|` (Rescale's argument), plus the masked sumcheck's `(1 + 7n)/|EF|` and the
//! openings; its integer reading, the no-wrap check (`check_rounding`, run by both sides) and the
//! parameter checks are the public op's.
//!
//! **Zero knowledge; simulator.** `ŷ(z)` is uniform by `M_y`, `r̂(z)` (equivalently `û(z)`) by
//! `R_u`, `R̂_u(z_0, ρ_0)` by `R_u`'s capacity (2 reads: `d = 2`), `x̂(ρ)`, `x̂(flip ρ)` are two
//! fresh values of `x`'s mask (distinct points with no boolean coordinate; for a virtual `x` two
//! first-coordinate reads of `R_x`, `d ≥ 2`), the rounds uniform on the affine space fixed by
//! `(û(z), f(ρ))`; the public `A(ρ)`, `B(ρ)` are functions of the challenges. The simulator (tests):
//! `ŷ(z)`, `r̂(z)` uniform, a random instance's masked rounds from `û(z)`, `x̂(flip ρ)` and `R̂_u`
//! uniform, `x̂(ρ)` solved from the final equation (slope `eq(z, ρ)·A(ρ)`).

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{MIN_ZK_PRODUCT_VARS, OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::ProductSumcheck;
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::mle_eval::evaluate_slice;
use crate::ops::rope::{Dims, RopeProof, broadcast_heads};
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
    fn dims(&self) -> Result<Dims, ProofError> {
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

    /// `(A(ρ), B(ρ))` of the public coefficient tables.
    fn coeffs_at(&self, d: &Dims, rho: &[EF]) -> Result<(EF, EF), ProofError> {
        let (a, b) = self.op.coeff_tables(d, &self.positions)?;
        let hv = d.cube.dim_vars()[0];
        Ok((evaluate_slice(&a, &rho[hv..]), evaluate_slice(&b, &rho[hv..])))
    }
}

/// The sumcheck mask's shape (round degree 5).
pub fn zk_rope_mask_shape(shape: &ZkRopeShape) -> Result<MaskShape, ProofError> {
    Ok(product_mask_shape(shape.num_vars()?, &RopeProof::terms(), true))
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRopeClaims {
    /// `ŷ(z)` (the output column).
    pub y: Claim,
    /// `r̂(z)` (`rem`).
    pub r: Claim,
    /// `x̂(ρ)` and `x̂(flip ρ)`, to the input's producer.
    pub x: [Claim; 2],
    /// `(a, w, value)` on `R_u`.
    pub u_r: (EF, EF, EF),
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

fn flip(p: &[EF]) -> Vec<EF> {
    let mut f = p.to_vec();
    if let Some(last) = f.last_mut() {
        *last = EF::ONE - *last;
    }
    f
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
    let (a, b) = shape.op.coeff_tables(&d, &shape.positions)?;
    let heads = 1usize << d.cube.dim_vars()[0];
    let xp = d.cube.pad_i64(x);
    let xs: Vec<EF> = (0..xp.len()).map(|i| EF::from(xp[i ^ 1])).collect();
    let tables = [xp.iter().map(|&v| EF::from(v)).collect(), xs, broadcast_heads(&a, heads), broadcast_heads(&b, heads)];
    prove_with_tables(shape, &d, tables, masks, mask, t)
}

/// The two steps of [`prove_rope_zk`] over the given tables `[x, x_sw, A, B]` (a test hook: a
/// malicious prover substitutes a table).
pub(crate) fn prove_with_tables(shape: &ZkRopeShape, d: &Dims, tables: [Vec<EF>; 4], masks: &ZkRopeMasks<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkRopeClaims, ProofError> {
    let n = d.cube.num_vars();
    let rc = prove_rescale_zk(&shape.rescale(), masks.y_hat, masks.r_hat, t)?;
    let z = rc.x.point.clone();
    let terms = RopeProof::terms();
    let inner = ProductSumcheck::new(tables.into_iter().map(Mle::new).collect(), terms.clone(), Some(z.clone()));
    let hidden = |j: usize, p: &[EF]| if j < 2 { (masks.x_cof)(p) } else { EF::ZERO };
    let z0 = z[0];
    let u_hat = |w: EF| (masks.u_hat)(z0, w);
    let mut inst = ZkProductSumcheck::new(inner, terms, Some(z.clone()), 4, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&z, n), r_hat: &u_hat }))
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let out = prove_product_zk(&mut inst, mask, t);
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkRopeClaims {
        y: rc.y,
        r: rc.r,
        x: [Claim::new(out.point.clone(), out.values[0]), Claim::new(flip(&out.point), out.values[1])],
        u_r: (z0, out.point[0], e),
        mask_claims: out.mask_claims,
    })
}

/// Verifier side of [`prove_rope_zk`].
pub fn verify_rope_zk(shape: &ZkRopeShape, t: &mut VerifierTranscript<'_>) -> Result<ZkRopeClaims, ProofError> {
    let d = shape.dims()?;
    let n = d.cube.num_vars();
    let rc = verify_rescale_zk(&shape.rescale(), t)?;
    let z = rc.x.point.clone();
    let out = verify_product_zk_with_output(rc.x.value, n, &RopeProof::terms(), Some(&z), 4, Some(output_coeff(&z, n)), t)
        .map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let (a, b) = shape.coeffs_at(&d, &out.point)?;
    if out.values[2] != a || out.values[3] != b {
        return Err(ProofError::check(OP, "a public coefficient table's value is wrong"));
    }
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkRopeClaims {
        y: rc.y,
        r: rc.r,
        x: [Claim::new(out.point.clone(), out.values[0]), Claim::new(flip(&out.point), out.values[1])],
        u_r: (z[0], out.point[0], e),
        mask_claims: out.mask_claims,
    })
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
