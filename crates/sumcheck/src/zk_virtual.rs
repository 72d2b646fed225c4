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
//! (`R_y(a, w)` a random polynomial with uniform `EF` coefficients, below). `ŷ = y` on the cube,
//! and any view of `ŷ` that sums a boolean coordinate is the plain `y`'s (the factor `Z`
//! vanishes), so consumers read `ŷ` through the same views as committed columns with
//! `Vanishing::All` ([`VirtualMask::cofactor`]: the factor of `v(z_var)` their last round sees).
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
//! `R_y(a, w) = Σ_{e<2^d} a^e·(c_{e,0} + c_{e,1}·w)` has degree `< 2^d` in `a` (`d ≥ 2`), linear in
//! `w`, with `2·2^d` uniform `EF` coefficients. A claim `ŷ(r)` reveals `y(r) + Z(r)·Σ_w R_y(r_0, w)`,
//! the functional `pow(r_0) ⊗ (2, 1)` of the coefficients (`pow(a) = (1, a, …, a^{2^d−1})`); its
//! discharge reveals `R̂_y(r_0, s_0) = R_y(r_0, s_0) + v(s_0)·M_R(·)`, containing
//! `pow(r_0) ⊗ (1, s_0)` (the PCS mask `M_R` only adds randomness). For one `r_0` the two are
//! independent unless `s_0 = 1/2`; functionals at up to `2^d` distinct first coordinates are
//! independent (Vandermonde in `pow`). So the revealed values are uniform and independent of `y` —
//! given `Z(r) ≠ 0` (no coordinate of a claim point boolean), `s_0 ≠ 1/2` and distinct first
//! coordinates (each `O(1/|EF|)` over the challenges) — for claims and discharges at up to `2^d`
//! first coordinates, two values each. A tensor with one claim reads one pair; `k ≥ 2` claims
//! merged by [`prove_merge_zk`] read `k` pairs (each claim and its merge discharge, both at
//! `p_{i,0}`) plus the merged claim and its discharge by the producer (at `s_0`): `k + 1 ≤ 2^d`
//! ([`VirtualMask::bits_for`]). The test `claims_and_discharges_are_uniform_up_to_capacity` checks
//! these ranks on the real table layout (and that they drop at `s_0 = 1/2` and past the capacity).
//!
//! # Merging several claims on `ŷ` ([`prove_merge_zk`], the merge of choke 6)
//!
//! The public merge (`Σ_x eq(p_i, x)·V(x) = V(p_i)`) does not hold for `ŷ`, which is not
//! multilinear. The masked merge proves, batched over the claims `ŷ(p_i) = v_i` (`i < k`), the
//! instances `Σ_x eq(p_i, x)·ŷ(x) + c_i·R̂_y(p_{i,0}, x_0) = v_i` (`c_i = 2^{−(n−1)}·Z(p_i)`; the
//! first part sums to `y(p_i)` since `ŷ = y` on the cube): masked product sumchecks over the one
//! table `ŷ` (whose last round sees the cofactor of `v(x_{n−1})`) with output masks, batched by
//! [`crate::zk::prove_batched_zk`] (round degree 3, one mask of that shape). At the end the prover
//! sends `ŷ(s)` and the `e_i = R̂_y(p_{i,0}, s_0)`; the verifier checks
//! `Σ_i β_i·(eq(p_i, s)·ŷ(s) + c_i·e_i)` against the reduced claim. The result is ONE claim `ŷ(s)`
//! for the producer, `k` claims on the `R` table and the mask's claims, to open. **Soundness:** the
//! masked sumcheck's `(1 + n·D')/|EF|` (`D' = 3`) plus `k/|EF|` for the batching coefficients plus
//! the openings; the final check is exact given them. **Simulator** ([`simulate_merge_zk`]): the
//! `v_i` are earlier messages (uniform); a masked batch of random instances with those claims gives
//! uniform finals `f_i`; `ŷ(s)` is sampled uniformly and `e_i = (f_i − eq(p_i, s)·ŷ(s))/c_i` —
//! uniform, as the real ones are by the capacity argument. Claims all at one point need no merge
//! (their values must agree); one claim passes through.
//!
//! # Table (what is committed)
//!
//! `R_y` is committed as a base-field table of `3 + d` variables `(c_0, c_1, y_{d−1}, …, y_0, w)`,
//! evaluated at `(γ, a^{2^{d−1}}, …, a^2, a, w)` with `γ = (X, X²)` ([`crate::zk::gamma`]): the
//! four components combine into uniform `EF` coefficients (the `eq(γ, ·)` span `EF`), the power
//! variables make it a polynomial of degree `< 2^d` in `a`, and the hiding PCS's mask (first four
//! variables, `d ≥ 2`) never involves `w`, so `R̂_y(a, w) = R_y(a, w) + v(w)·M_R(γ, …)`: degree 2
//! in `w`. `d = 2` (32 entries) by default: one claim, or a merge of up to three.

use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::{eq_eval, eq_evals};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::zk::{MaskShape, SumcheckMask, prove_batched_zk, random_instance, verify_batched_zk};
use crate::zk_product::{MIN_ZK_PRODUCT_VARS, OutputMask, ZkProductSumcheck, base_instance};
use crate::{SumcheckClaim, SumcheckError, SumcheckInstance, Term};

/// Fewest power variables of an `R` table (`d`): degree `< 4` in `a`, 32 entries.
pub const MIN_VIRTUAL_MASK_DEGREE_BITS: usize = 2;

/// Most power variables (`2^8 − 1` in `a`: 255 claims merged, 2 048 entries).
pub const MAX_VIRTUAL_MASK_DEGREE_BITS: usize = 8;

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

/// The point `(γ, a^{2^{d−1}}, …, a^2, a, w)` of an `R` table with `d = degree_bits` at which its
/// value is `R_y(a, w)` (public: the verifier's claims on the table are at these points).
pub fn r_point(degree_bits: usize, a: EF, w: EF) -> Vec<EF> {
    let g = crate::zk::gamma();
    let mut powers = Vec::with_capacity(degree_bits);
    let mut x = a;
    for _ in 0..degree_bits {
        powers.push(x);
        x = x.square();
    }
    let mut p = vec![g[0], g[1]];
    p.extend(powers.into_iter().rev());
    p.push(w);
    p
}

/// The `R` mask of one virtual tensor (prover secret). Commit [`VirtualMask::table`] in the
/// witness's hiding batch (`Vanishing::Last`), absorb the commitment before any claim.
#[derive(Clone)]
pub struct VirtualMask {
    table: Vec<F>,
    degree_bits: usize,
}

impl std::fmt::Debug for VirtualMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret mask.
        f.debug_struct("VirtualMask").field("degree_bits", &self.degree_bits).finish_non_exhaustive()
    }
}

impl VirtualMask {
    /// A uniform mask of the default size (`d = 2`: one claim, or a merge of up to three). `rng`
    /// must be a cryptographic generator seeded from unpredictable entropy for zero knowledge to
    /// hold.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::sample_bits(MIN_VIRTUAL_MASK_DEGREE_BITS, rng)
    }

    /// A uniform mask sized for `claims` claims on the tensor ([`VirtualMask::bits_for`]).
    pub fn for_claims<R: Rng + ?Sized>(claims: usize, rng: &mut R) -> Result<Self, SumcheckError> {
        Ok(Self::sample_bits(Self::bits_for(claims)?, rng))
    }

    /// The least `d ≥ 2` with `2^d ≥ claims + 1` (module docs; public: both sides derive the
    /// table's size from the number of claims).
    pub fn bits_for(claims: usize) -> Result<usize, SumcheckError> {
        let need = claims.saturating_add(1).next_power_of_two().trailing_zeros() as usize;
        let bits = need.max(MIN_VIRTUAL_MASK_DEGREE_BITS);
        if bits > MAX_VIRTUAL_MASK_DEGREE_BITS {
            return Err(SumcheckError::Config(format!("{claims} claims on one virtual tensor exceed an R mask's capacity")));
        }
        Ok(bits)
    }

    fn sample_bits<R: Rng + ?Sized>(degree_bits: usize, rng: &mut R) -> Self {
        Self { table: (0..1usize << (3 + degree_bits)).map(|_| rng.random::<F>()).collect(), degree_bits }
    }

    /// A mask from its committed table (`2^{3+d}` entries, `2 ≤ d ≤ 8`).
    pub fn from_table(table: Vec<F>) -> Result<Self, SumcheckError> {
        let len = table.len();
        let bits = (len.trailing_zeros() as usize).saturating_sub(3);
        if !len.is_power_of_two() || !(MIN_VIRTUAL_MASK_DEGREE_BITS..=MAX_VIRTUAL_MASK_DEGREE_BITS).contains(&bits) {
            return Err(SumcheckError::Config(format!("an R table of {len} entries")));
        }
        Ok(Self { table, degree_bits: bits })
    }

    /// The table to commit.
    pub fn table(&self) -> &[F] {
        &self.table
    }

    /// `d`: the table has `3 + d` variables, `R_y` has degree `< 2^d` in `a`.
    pub fn degree_bits(&self) -> usize {
        self.degree_bits
    }

    /// The point of the committed table at which its value is `R_y(a, w)` ([`r_point`]).
    pub fn point(&self, a: EF, w: EF) -> Vec<EF> {
        r_point(self.degree_bits, a, w)
    }

    /// `R_y(a, w)` (the committed table's multilinear extension, no PCS mask).
    pub fn value(&self, a: EF, w: EF) -> EF {
        eq_evals(&self.point(a, w)).iter().zip(&self.table).map(|(&e, &v)| e * v).sum()
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

/// The shape of the mask a masked merge over `num_vars` variables commits (round degree 3:
/// `eq·ŷ` with `ŷ` quadratic in the last round).
pub fn merge_mask_shape(num_vars: usize) -> MaskShape {
    crate::zk_product::product_mask_shape(num_vars, &merge_terms(), true)
}

fn merge_terms() -> Vec<Term> {
    vec![(EF::ONE, vec![0])]
}

/// A claim `ŷ(point) = value` on a virtual tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualClaim {
    /// The point (`n` coordinates, none boolean for the value to be hidden).
    pub point: Vec<EF>,
    /// The claimed value of `ŷ`.
    pub value: EF,
}

/// What both sides end a masked merge with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedClaims {
    /// The merged claim `ŷ(s) = v` (for the producer's discharge).
    pub merged: VirtualClaim,
    /// `(a, w, value)`: claims `R̂_y(a, w) = value` on the `R` table (at `VirtualMask::point(a, w)`).
    pub r_claims: Vec<(EF, EF, EF)>,
    /// `(point, value)` claims on the merge's sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

fn check_merge_claims(num_vars: usize, claims: &[VirtualClaim]) -> Result<(), SumcheckError> {
    if num_vars < MIN_ZK_PRODUCT_VARS || claims.iter().any(|c| c.point.len() != num_vars) {
        return Err(SumcheckError::Config(format!("a masked merge of claims over {num_vars} variables")));
    }
    if claims.len() < 2 || claims.iter().all(|c| c.point == claims[0].point) {
        return Err(SumcheckError::Config("a masked merge needs claims at two points or more".into()));
    }
    Ok(())
}

/// Prover: merges claims on `ŷ` (`y` the plain table, `2^n` entries; the claims' values are
/// `ŷ(p_i)`, already bound into the transcript) into one, module docs. `r_hat(a, w)` is the
/// hiding commitment's randomised extension of `vm`'s table; `table_hidden(z)` is `ŷ`'s cofactor
/// for the last variable (`vm.cofactor(z, n − 1)`), both supplied by the caller so that the PCS
/// masks are the commitment's. `mask` has shape [`merge_mask_shape`] (committed with its PCS
/// mask folded in, as for [`crate::zk_product`]). Refused unless the claims are at ≥ 2 points.
pub fn prove_merge_zk(
    y: &[F],
    claims: &[VirtualClaim],
    r_hat: &(dyn Fn(EF, EF) -> EF + Sync),
    table_hidden: &(dyn Fn(&[EF]) -> EF + Sync),
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<MergedClaims, SumcheckError> {
    let num_vars = y.len().trailing_zeros() as usize;
    if !y.len().is_power_of_two() {
        return Err(SumcheckError::Config("a table of other than 2^n entries".into()));
    }
    check_merge_claims(num_vars, claims)?;
    if mask.shape() != merge_mask_shape(num_vars) {
        return Err(SumcheckError::MaskShapeMismatch);
    }
    let hidden = |_: usize, z: &[EF]| table_hidden(z);
    let r_hats: Vec<Box<dyn Fn(EF) -> EF + Sync + '_>> = claims
        .iter()
        .map(|c| {
            let a = c.point[0];
            Box::new(move |w: EF| r_hat(a, w)) as Box<dyn Fn(EF) -> EF + Sync + '_>
        })
        .collect();
    let mut instances = Vec::with_capacity(claims.len());
    for (c, rh) in claims.iter().zip(&r_hats) {
        let inner = base_instance(vec![y.to_vec()], merge_terms(), Some(c.point.clone()));
        let inst = ZkProductSumcheck::new(inner, merge_terms(), Some(c.point.clone()), 1, &hidden)?
            .with_output_mask(OutputMask { coeff: output_coeff(&c.point, num_vars), r_hat: rh.as_ref() })?;
        if inst.claimed_sum() != c.value {
            return Err(SumcheckError::Config("a claim is not the value of ŷ at its point".into()));
        }
        instances.push(inst);
    }
    let mut refs: Vec<&mut dyn SumcheckInstance> = instances.iter_mut().map(|i| i as &mut dyn SumcheckInstance).collect();
    let out = prove_batched_zk(&mut refs, mask, t);
    let value = out.inner.final_evals.first().and_then(|f| f.first()).copied().unwrap_or(EF::ZERO);
    t.send_ext(value);
    let s0 = out.inner.point[0];
    let es: Vec<EF> = instances.iter().map(|i| i.output_mask_value().unwrap_or(EF::ZERO)).collect();
    t.send_exts(&es);
    let r_claims = claims.iter().zip(&es).map(|(c, &e)| (c.point[0], s0, e)).collect();
    Ok(MergedClaims { merged: VirtualClaim { point: out.inner.point, value }, r_claims, mask_claims: out.mask_claims })
}

/// Verifier side of [`prove_merge_zk`]: the caller opens every returned `R` and mask claim and
/// hands the merged claim to the producer.
pub fn verify_merge_zk(num_vars: usize, claims: &[VirtualClaim], t: &mut VerifierTranscript<'_>) -> Result<MergedClaims, SumcheckError> {
    check_merge_claims(num_vars, claims)?;
    let shape = merge_mask_shape(num_vars);
    let statements: Vec<SumcheckClaim> = claims.iter().map(|c| SumcheckClaim { num_vars, degree: shape.degree, claimed_sum: c.value }).collect();
    let v = verify_batched_zk(&statements, shape, t)?;
    let value = t.receive_ext()?;
    let es = t.receive_exts(claims.len())?;
    let s = v.inner.point.clone();
    let finals: Vec<EF> = claims.iter().zip(&es).map(|(c, &e)| eq_eval(&c.point, &s) * value + output_coeff(&c.point, num_vars) * e).collect();
    v.inner.check_final(&finals)?;
    let r_claims = claims.iter().zip(&es).map(|(c, &e)| (c.point[0], s[0], e)).collect();
    Ok(MergedClaims { merged: VirtualClaim { point: s, value }, r_claims, mask_claims: v.mask_claims })
}

/// The HVZK simulator of a masked merge (module docs), in Fiat–Shamir order, without `y` or `R`:
/// [`verify_merge_zk`] accepts its output.
pub fn simulate_merge_zk<R: Rng + ?Sized>(num_vars: usize, claims: &[VirtualClaim], t: &mut ProverTranscript, rng: &mut R) -> Result<(), SumcheckError> {
    check_merge_claims(num_vars, claims)?;
    let shape = merge_mask_shape(num_vars);
    let mut instances: Vec<_> = claims.iter().map(|c| random_instance(num_vars, shape.degree, c.value, rng)).collect();
    let mask = SumcheckMask::sample(shape, rng)?;
    let mut refs: Vec<&mut dyn SumcheckInstance> = instances.iter_mut().map(|i| i as &mut dyn SumcheckInstance).collect();
    let out = prove_batched_zk(&mut refs, &mask, t);
    let value: EF = rng.random();
    t.send_ext(value);
    let s = &out.inner.point;
    let mut es = Vec::with_capacity(claims.len());
    for (c, f) in claims.iter().zip(&out.inner.final_evals) {
        let inv = output_coeff(&c.point, num_vars).try_inverse().ok_or_else(|| SumcheckError::Config("a claim point with a boolean coordinate".into()))?;
        es.push((f[0] - eq_eval(&c.point, s) * value) * inv);
    }
    t.send_exts(&es);
    Ok(())
}

#[cfg(test)]
#[path = "zk_virtual_tests.rs"]
mod tests;
