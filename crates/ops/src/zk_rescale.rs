//! Rescale in zero knowledge (issue 13, chokes 1–2 for one op; `docs/SECURITY.md`, "The graph
//! proof in zero knowledge: design", "Affine relations between a virtual tensor and committed
//! columns"). **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): [`crate::ops::rescale`] is the public proof,
//! unchanged; this is its zk counterpart as tested library code, with the *tied mask* that makes
//! it complete.
//!
//! **Relation** (that of [`crate::ops::rescale`]). For `s > 0`: `x + 2^(s−1)·V = 2^s·y + r` on
//! every entry of the padded tensor (`V` the public validity mask), `y` (output) and `r`
//! (remainder) committed, `x` virtual (a MatMul's output, with an `R` mask `R_x`,
//! `zkinfer_sumcheck::zk_virtual`). For `s ≤ 0`: `y = x·2^(−s)`, `y` virtual.
//!
//! **Protocol (`s > 0`).** The verifier draws `z` (no coordinate may be boolean: refused, with
//! probability `2n/|EF|`); the prover sends `ŷ(z)` and `r̂(z)`, the values of the columns'
//! randomised extensions (`Vanishing::All`, `P̂ = P + Z·M`, `Z(z) = Π_i z_i(1 − z_i)`); both sides
//! derive the claim on the producer's output
//!
//! ```text
//! x̂(z) = 2^s·ŷ(z) + r̂(z) − 2^(s−1)·V(z)
//! ```
//!
//! Claims out: `ŷ(z)`, `r̂(z)` on the commitment, `x̂(z)` to the producer (which discharges it with
//! its `R` mask: `x̂ = x + Z·Σ_w R_x(z_0, w)`). For `s ≤ 0` nothing is sent: a claim `ŷ(z) = v`
//! becomes `x̂(z) = v·2^s`, so `ŷ := 2^(−s)·x̂` (the affine rule: a virtual affine tensor's
//! randomised extension is that combination, its `R` mask the producer's scaled).
//!
//! **The tie (completeness).** With masks `M_y`, `M_r` (functions of `z_{<μ}`, `μ = min(n, 4)`),
//! `2^s·ŷ + r̂ − 2^(s−1)·V = x + Z·(2^s·M_y + M_r)`, which the producer's discharge equals only if
//!
//! ```text
//! M_r(z_{<μ}) = Σ_{w∈{0,1}} R_x(z_0, w) − 2^s·M_y(z_{<μ})
//! ```
//!
//! identically. [`tied_remainder_mask`] builds `M_r`'s table in the hiding PCS's mask layout
//! (`zkinfer_pcs::hiding::mask_table_point`: two component variables, then `a` power variables
//! per mask variable, `z_i, z_i^2, …, z_i^{2^{a−1}}`) from `R_x`'s table (whose power variables
//! list `z_0^{2^{d−1}}, …, z_0` highest first) and `M_y`'s table: entry by entry, the coefficient
//! table of `Σ_w R_x` in component `c` is `R[c, e, 0] + R[c, e, 1]` placed at `z_0`'s power bits,
//! `M_y`'s at the low power bits of every variable (a multilinear table that ignores some
//! variables is constant along them). `r` is committed with mask degree bits `a = max(d, a_y)`
//! (`HidingPcs::commit_with_masks`). If `r` is range-checked through limbs (`s > 16`: `r` is the
//! virtual column `Σ_j 2^{16j}·limb_j`), its limbs' masks must sum to `M_r` the same way:
//! [`tie_first_limb`] (limbs `j ≥ 1` uniform, limb 0 solved). No freedom is lost: the relation is
//! public, and `M_r` is a function of uniform `R_x` and `M_y`.
//!
//! **Wiring constraint (found here).** The tie is an identity between `Z(z)·Σ_w R_x(z_0, w)`
//! (global `Z`, the first coordinate `z_0`) and the columns' masks, so `y`, `r` (or their limbs)
//! must be committed as ONE block each (dense, `z_0` a mask variable and `Z` over all
//! coordinates): with the extent's blocks (`zkinfer_pcs::hiding::sparse`,
//! `P̂ = Σ_b sel_b·B̂_b`) a selector bit enters `P̂ − P` linearly while it enters `Z` quadratically,
//! and `z_0` is a selector bit whenever the first dimension is not a power of two. In zk mode the
//! rescale's columns are committed dense (at most 2× their extent).
//!
//! **Soundness.** Let `L = x − 2^s·y − r + 2^(s−1)·V` (multilinear) and
//! `D = Σ_w R_x(z_0, w) − 2^s·M_y − M_r` (committed masks, tied or not). The verifier accepts the
//! derived claim (discharged by the producer and opened for `y`, `r`) only if
//! `L(z) + Z(z)·D(z) = 0`. `Z·D` vanishes on the cube, so if `L + Z·D ≡ 0` then `L` vanishes on
//! the cube and, being multilinear, `L ≡ 0`: the public relation holds entrywise. Otherwise the
//! polynomial is non-zero of degree `≤ 2 + 2^a − 1 ≤ 257` per variable, zero at the random `z`
//! with probability `≤ 257·n/|EF|`. From `L ≡ 0` on the cube, the integer relation and the
//! Euclidean division follow exactly as in the public proof (its no-wrap argument:
//! [`crate::ops::rescale`], `crate::bounds::check_rounding`; the range checks on `y` and `r` are
//! the lookups', unchanged). No new integer relation.
//!
//! **Zero knowledge.** Sent: `ŷ(z)`, `r̂(z)`; equivalently `ŷ(z)` and the producer's claim
//! `x̂(z)`. `ŷ(z)` is uniform by `M_y` (a fresh point of a `Vanishing::All` mask), `x̂(z)` by
//! `R_x` (the functional `pow(z_0) ⊗ (2, 1)`, `zk_virtual`), the producer's discharge
//! `R̂_x(z_0, ρ_0)` by `R_x` and its PCS mask. Further claims on `r` (its range check's lookup
//! leaves, the limb relation) at points `q` reveal `r(q) + Z(q)·(Σ_w R_x(q_0, w) − 2^s·M_y(q))`:
//! fresh functionals of `R_x` at new first coordinates and of `M_y` at new points, so the capacity
//! is shared: `R_x` of degree `< 2^d` in `z_0` hides its claim, discharge and `k` claims on `r` at
//! distinct first coordinates when `k + 1 ≤ 2^d` (`VirtualMask::bits_for(k)`), and `M_y`'s
//! `2^{a_y·μ}` points cover `y`'s own claims plus `z`. The test
//! `tied_masks_hide_up_to_their_capacity` checks these ranks over `F` on the real table layouts.
//! Simulator: `ŷ(z)`, `r̂(z)` uniform (the producer's simulator then runs from the derived claim,
//! uniform too); tested composed with the zk MatMul.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_pcs::hiding::{MASK_COMPONENT_VARS, MASK_VARS, MAX_MASK_DEGREE_BITS};
use zkinfer_sumcheck::zk_virtual::VirtualMask;
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::ops::public_mle::valid_mask_mle;

const OP: &str = "Rescale (zk)";

/// `⌈log2 d⌉` (0 for `d ≤ 1`).
fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public shape of a zk Rescale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRescaleShape {
    /// The tensor's dimensions (input and output alike).
    pub dims: Vec<usize>,
    /// Bits dropped (`> 0`: rounded right shift; `≤ 0`: exact left shift by `−shift`).
    pub shift: i32,
}

impl ZkRescaleShape {
    fn dim_vars(&self) -> Vec<usize> {
        self.dims.iter().map(|&d| vars(d)).collect()
    }

    /// Variables of the padded tensor.
    pub fn num_vars(&self) -> usize {
        self.dim_vars().iter().sum()
    }

    fn check(&self) -> Result<(), ProofError> {
        if self.dims.is_empty() || self.dims.contains(&0) {
            return Err(ProofError::shape(OP, "empty dimension"));
        }
        if !(-40..=62).contains(&self.shift) {
            return Err(ProofError::shape(OP, format!("shift {} outside −40..=62", self.shift)));
        }
        if self.shift > 0 && self.num_vars() == 0 {
            return Err(ProofError::shape(OP, "a zk rescale of a single entry (nothing to mask)"));
        }
        Ok(())
    }
}

/// What both sides end with for `s > 0`: claims on the committed `ŷ`, `r̂` (to open) and on the
/// producer's `x̂` (to discharge), all at `z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRescaleClaims {
    /// `ŷ(z)`.
    pub y: Claim,
    /// `r̂(z)`.
    pub r: Claim,
    /// `x̂(z) = 2^s·ŷ(z) + r̂(z) − 2^(s−1)·V(z)`.
    pub x: Claim,
}

fn draw_point(shape: &ZkRescaleShape, z: Vec<EF>) -> Result<Vec<EF>, ProofError> {
    if z.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(OP, "a boolean coordinate in the random point (probability 2n/|EF|)"));
    }
    debug_assert_eq!(z.len(), shape.num_vars());
    Ok(z)
}

fn input_claim(shape: &ZkRescaleShape, z: &[EF], y: EF, r: EF) -> Claim {
    let s = shape.shift as u64;
    let two = EF::TWO;
    let value = two.exp_u64(s) * y + r - two.exp_u64(s - 1) * valid_mask_mle(&shape.dims, &shape.dim_vars(), z);
    Claim::new(z.to_vec(), value)
}

/// Prover, `s > 0` (module docs). `y_hat`, `r_hat` return the committed columns' randomised
/// extensions at a point (`HidingProverData::evaluate` or the sparse equivalent), `r`'s mask tied
/// by [`tied_remainder_mask`].
pub fn prove_rescale_zk(
    shape: &ZkRescaleShape,
    y_hat: &dyn Fn(&[EF]) -> EF,
    r_hat: &dyn Fn(&[EF]) -> EF,
    t: &mut ProverTranscript,
) -> Result<ZkRescaleClaims, ProofError> {
    shape.check()?;
    if shape.shift <= 0 {
        return Err(ProofError::shape(OP, "an exact shift sends nothing: use scaled_input_claims_zk"));
    }
    let z = draw_point(shape, t.challenge_exts(shape.num_vars()))?;
    let (y, r) = (y_hat(&z), r_hat(&z));
    t.send_exts(&[y, r]);
    Ok(ZkRescaleClaims { x: input_claim(shape, &z, y, r), y: Claim::new(z.clone(), y), r: Claim::new(z, r) })
}

/// Verifier side of [`prove_rescale_zk`]: the caller opens the `y`, `r` claims and hands the `x`
/// claim to the producer.
pub fn verify_rescale_zk(shape: &ZkRescaleShape, t: &mut VerifierTranscript<'_>) -> Result<ZkRescaleClaims, ProofError> {
    shape.check()?;
    if shape.shift <= 0 {
        return Err(ProofError::shape(OP, "an exact shift sends nothing: use scaled_input_claims_zk"));
    }
    let z = draw_point(shape, t.challenge_exts(shape.num_vars()))?;
    let v = t.receive_exts(2).map_err(|e| ProofError::check(OP, e.to_string()))?;
    Ok(ZkRescaleClaims { x: input_claim(shape, &z, v[0], v[1]), y: Claim::new(z.clone(), v[0]), r: Claim::new(z, v[1]) })
}

/// `s ≤ 0` (both sides): claims on `ŷ` become claims on `x̂ = ŷ·2^s` at the same points.
pub fn scaled_input_claims_zk(shape: &ZkRescaleShape, out_claims: Vec<Claim>) -> Result<Vec<Claim>, ProofError> {
    shape.check()?;
    if shape.shift > 0 {
        return Err(ProofError::shape(OP, "a rounded shift has committed columns: use prove_rescale_zk"));
    }
    if out_claims.iter().any(|c| c.point.len() != shape.num_vars()) {
        return Err(ProofError::shape(OP, "claim point dimension"));
    }
    let scale = EF::TWO.exp_u64((-shape.shift) as u64).inverse();
    Ok(out_claims.into_iter().map(|c| Claim::new(c.point, c.value * scale)).collect())
}

/// Entries of a mask table of `μ` mask variables at degree bits `a` (the hiding PCS's layout).
pub fn mask_table_len(mu: usize, a: usize) -> usize {
    1usize << (MASK_COMPONENT_VARS + a * mu)
}

/// A tied mask table and its degree bits (commit the column with `mask_degree_bits = a`).
#[derive(Clone, PartialEq, Eq)]
pub struct TiedMask {
    /// The table, [`mask_table_len`]`(μ, a)` entries.
    pub table: Vec<F>,
    /// `a`.
    pub degree_bits: usize,
}

impl std::fmt::Debug for TiedMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret mask.
        f.debug_struct("TiedMask").field("degree_bits", &self.degree_bits).finish_non_exhaustive()
    }
}

/// `M_r = Σ_w R_x(z_0, w) − 2^s·M_y` in the hiding PCS's mask layout (module docs, "The tie"):
/// `y_mask` is `y`'s committed mask table (degree bits `y_degree_bits`, `μ = mask_vars` mask
/// variables, `μ = min(n, MASK_VARS) ≥ 1`), `vm` the producer's `R` mask (`d` power variables).
/// The result has degree bits `a = max(d, y_degree_bits)`.
pub fn tied_remainder_mask(vm: &VirtualMask, y_mask: &[F], y_degree_bits: usize, mask_vars: usize, shift: u32) -> Result<TiedMask, ProofError> {
    if !(1..=62).contains(&shift) {
        return Err(ProofError::shape(OP, format!("shift {shift}")));
    }
    tied_mask(vm, y_mask, y_degree_bits, mask_vars, F::from_u64(1u64 << shift))
}

/// `M = Σ_w R_x(z_0, w)` in the hiding PCS's mask layout at degree bits `d` (`μ = mask_vars`): the
/// mask of a committed column that must equal a virtual tensor's randomised extension, e.g. the
/// copy of a virtual input a table op commits (`crate::zk_table_op`).
pub fn tied_copy_mask(vm: &VirtualMask, mask_vars: usize) -> Result<TiedMask, ProofError> {
    let zero = vec![F::ZERO; mask_table_len(mask_vars.min(MASK_VARS), 1)];
    tied_mask(vm, &zero, 1, mask_vars, F::ZERO)
}

/// `Σ_w R_x(z_0, w) − scale·M_y` (module docs, "The tie"), for any public `scale`: e.g. a norm's
/// `r₂` tied to `n·ms` (`crate::zk_norm`).
pub fn tied_mask(vm: &VirtualMask, y_mask: &[F], y_degree_bits: usize, mask_vars: usize, scale: F) -> Result<TiedMask, ProofError> {
    let d = vm.degree_bits();
    let a = d.max(y_degree_bits);
    if !(1..=MASK_VARS).contains(&mask_vars) || !(1..=MAX_MASK_DEGREE_BITS).contains(&y_degree_bits) || a > MAX_MASK_DEGREE_BITS {
        return Err(ProofError::shape(OP, format!("a tied mask of {mask_vars} variables at degree bits {a}")));
    }
    if y_mask.len() != mask_table_len(mask_vars, y_degree_bits) {
        return Err(ProofError::shape(OP, format!("y's mask table has {} entries, not {}", y_mask.len(), mask_table_len(mask_vars, y_degree_bits))));
    }
    let r = vm.table();
    let power_bits = a * mask_vars;
    let out_len = mask_table_len(mask_vars, a);
    // Bit of the output index holding power variable (i, b) (MSB first: components, then per
    // mask variable i its powers 2^0, 2^1, …).
    let out_bit = |i: usize, b: usize| power_bits - 1 - (i * a + b);
    let mut table = Vec::with_capacity(out_len);
    for idx in 0..out_len {
        let c = idx >> power_bits;
        // Σ_w R_x: R's index (c, y_{d−1}, …, y_0, w), y_e the power z_0^{2^e}.
        let mut r_idx = c;
        for e in (0..d).rev() {
            r_idx = (r_idx << 1) | ((idx >> out_bit(0, e)) & 1);
        }
        let s = r[r_idx << 1] + r[(r_idx << 1) | 1];
        // M_y: its index (c, then per variable its y_degree_bits low powers).
        let mut y_idx = c;
        for i in 0..mask_vars {
            for b in 0..y_degree_bits {
                y_idx = (y_idx << 1) | ((idx >> out_bit(i, b)) & 1);
            }
        }
        table.push(s - scale * y_mask[y_idx]);
    }
    Ok(TiedMask { table, degree_bits: a })
}

/// The mask of limb 0 of a column `Σ_j 2^{16j}·limb_j` whose mask must be `column_mask`, given the
/// other limbs' (uniform) masks `others[j − 1]` for `j ≥ 1`, all in one layout:
/// `M_0 = M_col − Σ_{j≥1} 2^{16j}·M_j`.
pub fn tie_first_limb(column_mask: &[F], others: &[&[F]]) -> Result<Vec<F>, ProofError> {
    if others.len() > 3 || others.iter().any(|m| m.len() != column_mask.len()) {
        return Err(ProofError::shape(OP, "limb masks of another layout, or more than four limbs"));
    }
    let mut out = column_mask.to_vec();
    for (j, m) in others.iter().enumerate() {
        let w = F::from_u64(1u64 << (16 * (j + 1)));
        for (o, &v) in out.iter_mut().zip(m.iter()) {
            *o -= w * v;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "zk_rescale_tests.rs"]
mod tests;
