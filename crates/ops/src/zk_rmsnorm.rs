//! RMSNorm in zero knowledge (issue 13, chokes 1–2; `docs/SECURITY.md`, "RmsNorm in zero
//! knowledge"). **Not wired into the graph prover**: [`crate::ops::rmsnorm`] is the public proof,
//! unchanged; this is its zk counterpart as tested library code.
//!
//! **Relation** (the public op's, module docs of [`crate::ops::rmsnorm`]): per row `t` of `n`
//! entries `Σ_c x² = n·ms + r₂`, the six row identities of `inv`, and
//! `x·inv·γ + 2^(s−1) = 2^s·y + r₃`; the same committed columns (`ms`, `r₂`, `r₂'`, `inv`, `s₁`,
//! `s₂`, `σ`, `t₁`, `t₂`, `g` per row; `y`, `r₃` per entry), the same range checks (choke 5 / the
//! lookups, unchanged), the same parameter and no-wrap checks ([`RmsNormProof`]'s, run by
//! [`ZkRmsNormShape::check`]).
//!
//! **Protocol.** (1) `z = (z_t, z_c)`, `λ`; the prover sends the randomised values `m̂s(z_t)`,
//! `r̂₂(z_t)`, `ŷ(z)`, `r̂₃(z)`, and both sides form
//! `H = n·m̂s(z_t) + r̂₂(z_t) + λ·(2^s·ŷ(z) + r̂₃(z) − 2^(s−1)·V(z))`.
//! (2) The cube sumcheck `Σ_{t,c} E_t·x² + λ·eq(z, ·)·x·inv·γ` as a masked *broadcast* sumcheck
//! ([`crate::zk_broadcast`]: `x` over `(t, c)`, `inv` over `t`, `γ` over `c`, the public `E_t`,
//! `eq(z, ·)`) with two output masks whose sums are the masks `H` carries:
//! `2^{−(N−1)}·Z(z_t)·R̂_rows(z_0, x_0)` and `λ·2^{−(N−1)}·Z(z)·R̂_cube(z_0, x_0)`; finals `x̂(ρ)`,
//! `în̂v(ρ_t)`, `γ̂(ρ_c)`, the public values (checked), `R̂_rows(z_0, ρ_0)`, `R̂_cube(z_0, ρ_0)`.
//! (3) The row zero-check `Σ_t eq(z₂, t)·Σ_i μ^i·id_i(t) = 0` as a masked product sumcheck
//! (`zkinfer_sumcheck::zk_product`) over the row columns and the public row mask, finals the row
//! columns' randomised values at `ρ₂` (the mask's value checked).
//!
//! **The ties (completeness).** `H`'s mask part is `Z(z_t)·(n·M_ms + M_{r₂})(z_t) +
//! λ·Z(z)·(2^s·M_y + M_{r₃})(z)`; the sumcheck's sum is the plain one plus its output masks, so
//! `M_{r₂} = Σ_w R_rows(z_0, w) − n·M_ms` and `M_{r₃} = Σ_w R_cube(z_0, w) − 2^s·M_y`
//! ([`crate::zk_rescale::tied_mask`], [`crate::zk_rescale::tied_remainder_mask`]; `z_0` is the
//! first row variable in both). As for Rescale, the tied columns (`ms`, `r₂`; `y`, `r₃`) are
//! committed as one block each. Without the output masks `n·m̂s + r̂₂` would have to carry no mask
//! and would reveal `Σ_c x²(z_t, c)`.
//!
//! **Soundness.** The cube check: with `D(z) = (n·M_ms + M_{r₂} − S_rows)(z_t)·Z(z_t) +
//! λ·Z(z)·(2^s·M_y + M_{r₃} − S_cube)(z)` (committed masks, tied or not) the verifier accepts only
//! if `L(z) + D(z) = 0` for the public protocol's multilinear identity `L` (its value at `z` is the
//! plain sum minus the plain right side); `D` vanishes on the cube (each part has a `Z` factor), so
//! a non-zero `L` gives a non-zero polynomial of degree `≤ 2 + 2^a − 1` per variable (`≤ 257·N/|EF|`
//! with `λ` as in the public proof); the masked sumchecks' `(1 + N·D')/|EF|` each; the row
//! zero-check is the public one run over `P̂ = P` on the cube. From the identities on the cube the
//! integer argument is the public op's (`crate::bounds`, parameters checked by
//! [`ZkRmsNormShape::check`]).
//!
//! **Zero knowledge.** Sent: four randomised values at `z` (uniform: `M_ms`, `M_y` fresh; the
//! `r₂`, `r₃` values carry `Σ_w R(z_0, w)`), the masked rounds (uniform given their finals), the
//! finals (masked tables' values at points with no boolean coordinate, public values, the `R`
//! discharges), the row finals. Simulator: the four values and every masked final but one uniform
//! (one solved from each final equation), the rounds by the masked sumcheck's simulator.
//! **Constraints:** `T ≥ 17` and `n ≥ 17` in zk mode (`inv`, `γ` and the row columns are masked
//! tables of ≥ 5 variables), or padded to 32.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{eq_eval, eq_evals};
use zkinfer_sumcheck::Term;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{ZkProductSumcheck, base_instance, product_mask_shape, prove_product_zk, verify_product_zk};
use zkinfer_sumcheck::zk_virtual::{output_coeff, vanish_all};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::ops::norm_rows::NormRows;
use crate::ops::public_mle::{less_than_mle, valid_mask_mle};
use crate::ops::rmsnorm::RmsNormProof;
use crate::zk_broadcast::{BroadcastTable, ZkBroadcastSumcheck, broadcast_mask_shape, prove_broadcast_zk, verify_broadcast_zk};

const OP: &str = "RmsNorm (zk)";
/// Row columns (in [`NormRows::columns`] order) read by the cube sumcheck's claim and tables.
const MS: usize = 0;
const RV: usize = 1;
const INV: usize = 3;
/// Row columns of RMSNorm.
pub const ROW_COLUMNS: usize = 10;
// Tables of the cube sumcheck.
const CX: usize = 0;
const CER: usize = 1;
const CEQ: usize = 2;
const CINV: usize = 3;
const CG: usize = 4;

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public shape and parameters of a zk RMSNorm.
#[derive(Debug, Clone)]
pub struct ZkRmsNormShape {
    /// Rows `T`.
    pub rows: usize,
    /// Row length `n`.
    pub n: usize,
    /// The public op's parameters (`eps`, `K`, shift, bounds).
    pub params: RmsNormProof,
}

impl ZkRmsNormShape {
    fn norm(&self) -> NormRows {
        NormRows { has_mean: false, eps: self.params.eps, k: self.params.k }
    }
    /// Row variables.
    pub fn tv(&self) -> usize {
        vars(self.rows)
    }
    /// Column variables.
    pub fn cv(&self) -> usize {
        vars(self.n)
    }
    /// The parameter and no-wrap checks of the public op, and the zk size constraints.
    pub fn check(&self) -> Result<(), ProofError> {
        if self.rows == 0 || self.n < 2 {
            return Err(ProofError::shape(OP, "need T ≥ 1 rows of n ≥ 2"));
        }
        self.params.widths(self.n)?;
        if self.tv() < 5 || self.cv() < 5 {
            return Err(ProofError::shape(OP, "a zk RMSNorm needs ≥ 5 row and ≥ 5 column variables (pad to 32)"));
        }
        Ok(())
    }
    /// Terms of the cube sumcheck over `[x, E_t, eq, inv, γ]`.
    pub fn cube_terms(lambda: EF) -> Vec<Term> {
        vec![(EF::ONE, vec![CER, CX, CX]), (lambda, vec![CEQ, CX, CINV, CG])]
    }
    /// The cube sumcheck's mask shape (round degree 8).
    pub fn cube_mask_shape(&self) -> MaskShape {
        broadcast_mask_shape(self.tv() + self.cv(), &Self::cube_terms(EF::ONE))
    }
    /// The row zero-check's mask shape.
    pub fn row_mask_shape(&self) -> MaskShape {
        product_mask_shape(self.tv(), &self.norm().row_terms(EF::ONE, self.n), true)
    }
}

/// The caller's hiding commitment, prover side.
pub struct ZkRmsNormMasks<'a> {
    /// `P̂(z)` of the committed `y`, `r₃` at a cube point.
    pub y_hat: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// As `y_hat`, for `r₃`.
    pub r3_hat: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `P̂_i(z_t)` of row column `i`.
    pub row_hat: &'a (dyn Fn(usize, &[EF]) -> EF + Sync),
    /// Factor of `v(z_last)` in `P̂ − P` at a full point: `x` (cube), `γ` (`n` variables), row
    /// column `i` (row point).
    pub x_cof: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// As `x_cof`, for `γ`.
    pub gamma_cof: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// As `x_cof`, for row column `i`.
    pub row_cof: &'a (dyn Fn(usize, &[EF]) -> EF + Sync),
    /// `(a, w) ↦ R̂_rows(a, w)`: the `R` table `r₂`'s mask is tied to.
    pub r_rows: &'a (dyn Fn(EF, EF) -> EF + Sync),
    /// `(a, w) ↦ R̂_cube(a, w)`: the `R` table `r₃`'s mask is tied to.
    pub r_cube: &'a (dyn Fn(EF, EF) -> EF + Sync),
}

impl std::fmt::Debug for ZkRmsNormMasks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkRmsNormMasks").finish_non_exhaustive()
    }
}

/// What both sides end with: claims to open (or route: `x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRmsNormClaims {
    /// `x̂(ρ)` (to the input's origin).
    pub x: Claim,
    /// `γ̂(ρ_c)` (the weight).
    pub gamma: Claim,
    /// `ŷ(z)`, `r̂₃(z)`.
    pub y: Claim,
    /// `r̂₃(z)`.
    pub r3: Claim,
    /// `(row column, claim)`: `ms`, `r₂` at `z_t`, `inv` at `ρ_t`, every row column at `ρ₂`.
    pub rows: Vec<(usize, Claim)>,
    /// `(a, w, value)` on `R_rows` and on `R_cube`.
    pub r_rows: (EF, EF, EF),
    /// As `r_rows`.
    pub r_cube: (EF, EF, EF),
    /// Claims on the cube sumcheck's and the row zero-check's mask tables.
    pub cube_mask_claims: Vec<(Vec<EF>, EF)>,
    /// As `cube_mask_claims`.
    pub row_mask_claims: Vec<(Vec<EF>, EF)>,
}

fn sc(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck(OP, e.to_string())
}

fn no_boolean(z: &[EF]) -> Result<(), ProofError> {
    if z.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(OP, "a boolean coordinate in a random point (probability 2N/|EF|)"));
    }
    Ok(())
}

/// `H` (module docs, step 1) from the four sent values.
fn claimed(shape: &ZkRmsNormShape, z: &[EF], lambda: EF, v: &[EF]) -> EF {
    let s = u64::from(shape.params.shift);
    let valid = valid_mask_mle(&[shape.rows, shape.n], &[shape.tv(), shape.cv()], z);
    EF::from_usize(shape.n) * v[0] + v[1] + lambda * (EF::TWO.exp_u64(s) * v[2] + v[3] - EF::TWO.exp_u64(s - 1) * valid)
}

/// The output masks' coefficients `[rows, cube]`.
fn output_coeffs(shape: &ZkRmsNormShape, z: &[EF], lambda: EF) -> [EF; 2] {
    let ns = shape.tv() + shape.cv();
    let base = EF::TWO.inverse().exp_u64((ns - 1) as u64);
    [base * vanish_all(&z[..shape.tv()]), lambda * output_coeff(z, ns)]
}

/// Prover (module docs). `x` is `T × n`, `gamma` has `n` entries, `rows[i]` is row column `i`
/// (`T` values); the committed `y`, `r₃` are read through `masks`. `cube_mask`, `row_mask` have the
/// shapes [`ZkRmsNormShape::cube_mask_shape`], [`ZkRmsNormShape::row_mask_shape`] and were
/// committed with everything the masks refer to.
#[allow(clippy::too_many_arguments)] // the op's operands and the caller's commitment
pub fn prove_rmsnorm_zk(
    shape: &ZkRmsNormShape,
    x: &[i64],
    gamma: &[i64],
    rows: &[Vec<i64>],
    masks: &ZkRmsNormMasks<'_>,
    cube_mask: &SumcheckMask,
    row_mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkRmsNormClaims, ProofError> {
    shape.check()?;
    let (tv, cv) = (shape.tv(), shape.cv());
    if x.len() != shape.rows * shape.n || gamma.len() != shape.n || rows.len() != ROW_COLUMNS || rows.iter().any(|r| r.len() != shape.rows) {
        return Err(ProofError::witness(OP, "operand lengths"));
    }
    let z = t.challenge_exts(tv + cv);
    let lambda = t.challenge_ext();
    no_boolean(&z)?;
    let z_t = &z[..tv];
    let sent = [(masks.row_hat)(MS, z_t), (masks.row_hat)(RV, z_t), (masks.y_hat)(&z), (masks.r3_hat)(&z)];
    t.send_exts(&sent);
    // The cube sumcheck over broadcast tables.
    let lift = |v: &[i64], len: usize| {
        let mut out = vec![EF::ZERO; len];
        for (o, &x) in out.iter_mut().zip(v) {
            *o = EF::from(from_i64_unchecked(x));
        }
        out
    };
    let mut xp = vec![EF::ZERO; 1usize << (tv + cv)];
    for (r, row) in x.chunks_exact(shape.n).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            xp[(r << cv) | c] = EF::from(from_i64_unchecked(v));
        }
    }
    let tables = vec![
        BroadcastTable { values: xp, vars: 0..tv + cv, masked: true },
        BroadcastTable { values: eq_evals(z_t), vars: 0..tv, masked: false },
        BroadcastTable { values: eq_evals(&z), vars: 0..tv + cv, masked: false },
        BroadcastTable { values: lift(&rows[INV], 1 << tv), vars: 0..tv, masked: true },
        BroadcastTable { values: lift(gamma, 1 << cv), vars: tv..tv + cv, masked: true },
    ];
    let cof = |j: usize, p: &[EF]| match j {
        CX => (masks.x_cof)(p),
        CINV => (masks.row_cof)(INV, p),
        CG => (masks.gamma_cof)(p),
        _ => EF::ZERO,
    };
    let z0 = z[0];
    let rr = |w: EF| (masks.r_rows)(z0, w);
    let rc = |w: EF| (masks.r_cube)(z0, w);
    let [c_rows, c_cube] = output_coeffs(shape, &z, lambda);
    let mut inst = ZkBroadcastSumcheck::new(tv + cv, tables, ZkRmsNormShape::cube_terms(lambda), &cof)
        .and_then(|i| i.with_output_mask(c_rows, &rr))
        .and_then(|i| i.with_output_mask(c_cube, &rc))
        .map_err(sc)?;
    let cube = prove_broadcast_zk(&mut inst, cube_mask, t);
    // The row zero-check.
    let z2 = t.challenge_exts(tv);
    let mu = t.challenge_ext();
    no_boolean(&z2)?;
    let norm = shape.norm();
    let row_terms = norm.row_terms(mu, shape.n);
    let mut row_tables: Vec<Vec<F>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![F::ZERO; 1 << tv];
            for (o, &x) in v.iter_mut().zip(r) {
                *o = from_i64_unchecked(x);
            }
            v
        })
        .collect();
    row_tables.push((0..1usize << tv).map(|i| if i < shape.rows { F::ONE } else { F::ZERO }).collect());
    let hidden = |j: usize, p: &[EF]| if j < ROW_COLUMNS { (masks.row_cof)(j, p) } else { EF::ZERO };
    let inner = base_instance(row_tables, row_terms.clone(), Some(z2.clone()));
    let mut rinst = ZkProductSumcheck::new(inner, row_terms, Some(z2), ROW_COLUMNS + 1, &hidden).map_err(sc)?;
    let row = prove_product_zk(&mut rinst, row_mask, t);
    Ok(claims(shape, &z, &sent, &cube.point, &cube.values, &cube.output_values, cube.mask_claims, &row.point, &row.values, row.mask_claims))
}

#[allow(clippy::too_many_arguments)] // the two sumchecks' outputs
fn claims(
    shape: &ZkRmsNormShape,
    z: &[EF],
    sent: &[EF],
    rho: &[EF],
    values: &[EF],
    outputs: &[EF],
    cube_mask_claims: Vec<(Vec<EF>, EF)>,
    rho2: &[EF],
    row_values: &[EF],
    row_mask_claims: Vec<(Vec<EF>, EF)>,
) -> ZkRmsNormClaims {
    let tv = shape.tv();
    let (z_t, rho_t, rho_c) = (&z[..tv], &rho[..tv], &rho[tv..]);
    let mut rows = vec![(MS, Claim::new(z_t.to_vec(), sent[0])), (RV, Claim::new(z_t.to_vec(), sent[1])), (INV, Claim::new(rho_t.to_vec(), values[CINV]))];
    rows.extend((0..ROW_COLUMNS).map(|i| (i, Claim::new(rho2.to_vec(), row_values[i]))));
    ZkRmsNormClaims {
        x: Claim::new(rho.to_vec(), values[CX]),
        gamma: Claim::new(rho_c.to_vec(), values[CG]),
        y: Claim::new(z.to_vec(), sent[2]),
        r3: Claim::new(z.to_vec(), sent[3]),
        rows,
        r_rows: (z[0], rho[0], outputs[0]),
        r_cube: (z[0], rho[0], outputs[1]),
        cube_mask_claims,
        row_mask_claims,
    }
}

/// Verifier side of [`prove_rmsnorm_zk`]: checks both sumchecks and the public values; the caller
/// opens every claim (routes `x`).
pub fn verify_rmsnorm_zk(shape: &ZkRmsNormShape, t: &mut VerifierTranscript<'_>) -> Result<ZkRmsNormClaims, ProofError> {
    shape.check()?;
    let (tv, cv) = (shape.tv(), shape.cv());
    let z = t.challenge_exts(tv + cv);
    let lambda = t.challenge_ext();
    no_boolean(&z)?;
    let sent = t.receive_exts(4).map_err(sc)?;
    let h = claimed(shape, &z, lambda, &sent);
    let coeffs = output_coeffs(shape, &z, lambda);
    let cube = verify_broadcast_zk(h, tv + cv, &ZkRmsNormShape::cube_terms(lambda), 5, &coeffs, t).map_err(sc)?;
    let rho = &cube.point;
    if cube.values[CER] != eq_eval(&z[..tv], &rho[..tv]) || cube.values[CEQ] != eq_eval(&z, rho) {
        return Err(ProofError::check(OP, "a public eq table's value is wrong"));
    }
    let z2 = t.challenge_exts(tv);
    let mu = t.challenge_ext();
    no_boolean(&z2)?;
    let row_terms = shape.norm().row_terms(mu, shape.n);
    let row = verify_product_zk(EF::ZERO, tv, &row_terms, Some(&z2), ROW_COLUMNS + 1, t).map_err(sc)?;
    if row.values[ROW_COLUMNS] != less_than_mle(shape.rows, &row.point) {
        return Err(ProofError::check(OP, "the public row mask's value is wrong"));
    }
    Ok(claims(shape, &z, &sent, rho, &cube.values, &cube.output_values, cube.mask_claims, &row.point, &row.values, row.mask_claims))
}

#[cfg(test)]
#[path = "zk_rmsnorm_tests.rs"]
mod tests;
