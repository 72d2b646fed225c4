//! `R` masks of virtual tensors (issue 13, zero-knowledge graph proof): the randomised extension
//! of a tensor that is never committed (the output of a walk op whose claims pass to its
//! producer, e.g. a matmul's `y`).
//!
//! # Why
//!
//! A claim `ŷ(r) = v` on a virtual tensor is a linear functional of the witness however it is
//! reached; in a zk proof the value must be masked, but there is no commitment of `y` to carry a
//! PCS mask. So `y` gets a committed Libra mask `R_y` and the claims are on
//!
//! ```text
//! ŷ(z) = y(z) + Z(z)·Σ_{w∈{0,1}} R_y(z_0, w),     Z(z) = Π_i z_i(1 − z_i)
//! ```
//!
//! (`R_y(a, w)` multilinear with uniform `EF` coefficients). `ŷ = y` on the cube, and any view of
//! `ŷ` that sums a boolean coordinate is the plain `y`'s (the factor `Z` vanishes), so consumers
//! read `ŷ` through the same views as committed columns with `Vanishing::All`
//! ([`VirtualMask::cofactor`]: the factor of `v(z_var)` their last round sees).
//!
//! # Discharging a claim on `ŷ` (the producer)
//!
//! The producer proves its relation `Σ_x g(x) = y(r)` by a masked product sumcheck over its own
//! `n` variables ([`crate::zk_product`]). With the term
//!
//! ```text
//! c·R̂_y(r_0, x_0),      c = 2^{−(n−1)}·Z(r)      (x_0 the sumcheck's first variable)
//! ```
//!
//! added to the summand, the sum over the cube is `y(r) + Z(r)·Σ_w R_y(r_0, w) = ŷ(r)`: the
//! claim as received ([`crate::zk_product::OutputMask`]). `R̂_y` is the hiding commitment's
//! randomised extension of the `R` table (`Vanishing::Last` on `w`, equal to `R_y` for boolean
//! `w`), so the mask part is summed *inside* the producer's sumcheck and revealed only as one value
//! `R̂_y(r_0, s_0)` at the fresh challenge `s_0` — as the zero-knowledge fraction-sum GKR does with
//! its layer masks (`zkinfer_lookup::zk`, Libra, Xie et al. 2019).
//!
//! # What `R_y` hides, and its capacity
//!
//! Write `R_y(r_0, w) = A + B·w` (`A`, `B` uniform and independent in `EF` for every `r_0`: the
//! coefficients of `R_y` are). A claim `ŷ(r)` reveals `y(r) + Z(r)·(2A + B)`; its discharge reveals
//! `R̂_y(r_0, s_0) = A + s_0·B + v(s_0)·M_R(r_0)` (`M_R` the PCS mask of the `R` table). The two
//! functionals `(2, 1)` and `(1, s_0)` of `(A, B)` are independent unless `s_0 = 1/2`, so
//! `(ŷ(r), R̂_y(r_0, s_0))` is uniform in `EF^2` whatever `y` is, given `Z(r) ≠ 0` (no coordinate
//! of `r` boolean) and `s_0 ≠ 1/2` (probability `≤ (n_y + 1)/|EF|` over the challenges; the PCS
//! mask `M_R` only adds randomness). `R_y` has four `EF` coefficients `(c_00, c_01, c_10, c_11)`,
//! and a pair (claim, discharge) reads the functionals `(2, 1, 2r_0, r_0)` and
//! `(1, s_0, r_0, r_0 s_0)`: two pairs at distinct `r_0` are still jointly uniform (a 4×4 system,
//! non-singular except on a variety of probability `O(1/|EF|)`), a fifth value is not. So `R_y`
//! hides up to two claims on `ŷ` per proof, each discharged by its own sumcheck; the public mode
//! merges the claims of several consumers (`claim_reduction::prove_merge`), and its masked
//! counterpart (a merge on `ŷ`, whose randomised extension is not multilinear) is not built: a
//! virtual tensor with one consumer is covered today. The test
//! `one_claim_and_its_discharge_are_uniform` checks these ranks on the real table layout (and that
//! they drop at `s_0 = 1/2` and past two pairs).
//!
//! # Table (what is committed)
//!
//! `R_y` is committed as a base-field table of [`VIRTUAL_MASK_VARS`]` = 5` variables
//! `(0, c_0, c_1, a, w)`, evaluated at `(0, γ, a, w)` with `γ = (X, X²)` ([`crate::zk::gamma`]): the
//! four components `R[c]` combine into uniform `EF` coefficients (the `eq(γ, ·)` span `EF`), and
//! the hiding PCS's mask (first four variables) never involves `w`, so
//! `R̂_y(a, w) = R_y(a, w) + v(w)·M_R(0, γ, a)`: degree 2 in `w`. The leading variable is a
//! constant 0 (the table is 32 entries, of which 16 are used) so that the PCS mask sees `a` but not
//! `w`, as for the GKR's layer masks.

use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::eq_evals;

use crate::SumcheckError;

/// Variables of the committed `R` table: `(0, c_0, c_1, a, w)`.
pub const VIRTUAL_MASK_VARS: usize = 5;

/// `v(t) = t(1 − t)`.
pub fn vanish(t: EF) -> EF {
    t * (EF::ONE - t)
}

/// `Z(z) = Π_i z_i(1 − z_i)`: zero on the cube, and wherever a coordinate is boolean.
pub fn vanish_all(z: &[EF]) -> EF {
    z.iter().map(|&x| vanish(x)).product()
}

/// The coefficient of the producer's mask term, `c = 2^{−(n−1)}·Z(r)` for a claim at `r` on the
/// output of a producer whose sumcheck has `num_vars = n ≥ 1` variables.
pub fn output_coeff(claim_point: &[EF], num_vars: usize) -> EF {
    let inv2 = EF::TWO.inverse();
    inv2.exp_u64(num_vars.saturating_sub(1) as u64) * vanish_all(claim_point)
}

/// The `R` mask of one virtual tensor (prover secret). Commit [`VirtualMask::table`] in the
/// witness's hiding batch (`Vanishing::Last`), absorb the commitment before any claim.
#[derive(Clone)]
pub struct VirtualMask {
    table: Vec<F>,
}

impl std::fmt::Debug for VirtualMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret mask.
        f.debug_struct("VirtualMask").finish_non_exhaustive()
    }
}

impl VirtualMask {
    /// A uniform mask. `rng` must be a cryptographic generator seeded from unpredictable entropy
    /// for zero knowledge to hold.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self { table: (0..1usize << VIRTUAL_MASK_VARS).map(|_| rng.random::<F>()).collect() }
    }

    /// A mask from its committed table (`2^5` entries).
    pub fn from_table(table: Vec<F>) -> Result<Self, SumcheckError> {
        if table.len() != 1 << VIRTUAL_MASK_VARS {
            return Err(SumcheckError::Config(format!("an R table has {} entries, not {}", table.len(), 1 << VIRTUAL_MASK_VARS)));
        }
        Ok(Self { table })
    }

    /// The table to commit.
    pub fn table(&self) -> &[F] {
        &self.table
    }

    /// The point of the committed table at which its value is `R_y(a, w)`.
    pub fn point(a: EF, w: EF) -> Vec<EF> {
        let g = crate::zk::gamma();
        vec![EF::ZERO, g[0], g[1], a, w]
    }

    /// `R_y(a, w)` (the committed table's multilinear extension, no PCS mask).
    pub fn value(&self, a: EF, w: EF) -> EF {
        eq_evals(&Self::point(a, w)).iter().zip(&self.table).map(|(&e, &v)| e * v).sum()
    }

    /// `Σ_{w∈{0,1}} R_y(a, w)`.
    pub fn sum_at(&self, a: EF) -> EF {
        self.value(a, EF::ZERO) + self.value(a, EF::ONE)
    }

    /// `ŷ(z)` from the plain `y(z)`: `y(z) + Z(z)·Σ_w R_y(z_0, w)`.
    pub fn hat(&self, plain: EF, z: &[EF]) -> EF {
        match z.first() {
            Some(&z0) => plain + vanish_all(z) * self.sum_at(z0),
            None => plain,
        }
    }

    /// The factor `H` of `v(z_var)` in `ŷ(z) − y(z)` (`ŷ = y + v(z_var)·H`, `H` free of `z_var`):
    /// what a consumer's masked product sumcheck needs when its last round binds coordinate `var`
    /// of `y` ([`crate::zk_product::TableMasks`]). Refused for `var = 0` (the mask's own variable:
    /// the cofactor would depend on it) and out-of-range `var`.
    pub fn cofactor(&self, z: &[EF], var: usize) -> Result<EF, SumcheckError> {
        if var == 0 || var >= z.len() {
            return Err(SumcheckError::Config(format!("a virtual tensor's cofactor at coordinate {var} of {}", z.len())));
        }
        let others: EF = z.iter().enumerate().filter(|&(i, _)| i != var).map(|(_, &x)| vanish(x)).product();
        Ok(others * self.sum_at(z[0]))
    }
}

#[cfg(test)]
#[path = "zk_virtual_tests.rs"]
mod tests;
