//! Masked product sumcheck over randomised extensions (issue 13): the zero-knowledge version of
//! the sumcheck the ops run ([`ProductSumcheck`]: `g(x) = [eq(w, x)·] Σ_k c_k Π_{j∈S_k} P_j(x)`)
//! for tables `P_j` held in a hiding commitment.
//!
//! # Relation
//!
//! `Σ_{x∈{0,1}^n} g(x) = H` for committed tables `P_j` (`n ≥ 5` variables), public terms,
//! optional public `w`. The caller ends with claims `P̂_j(r) = v_j` on the commitment's
//! randomised extensions `P̂_j(z) = P_j(z) + z_{n−1}(1 − z_{n−1})·M_j(z_{<μ})`
//! (`zkinfer_pcs::hiding`, `μ = min(n, 4)`) and the mask table's claims.
//!
//! # Protocol
//!
//! The sumcheck runs on `ĝ`, which is `g` with every `P_j` replaced by `P̂_j`. On the cube
//! `P̂_j = P_j`, so `Σ ĝ = H`. Rounds `0..n−2` are exactly those of `g` (the variable carrying
//! `z_{n−1}(1 − z_{n−1})` is still summed over `{0, 1}`, where it vanishes), so the prover reuses
//! [`ProductSumcheck`]'s rounds, re-expressed at `D + 1` points. The last round has degree
//! `D = 2L + [eq]` (`L` the longest term: each factor `lin_j(t) + t(1 − t)·M_j(r_{<μ})` is
//! quadratic, `μ < n` so `M_j` does not involve `t`). The whole run is a masked sumcheck of
//! degree `D` ([`crate::zk`]: `Γ`, `ρ`, the rounds of `ĝ + ρm`, the mask values `e_j`); then the
//! prover sends `P̂_j(r)` for every table and the verifier checks the final value
//! `eq(w, r)·Σ_k c_k Π_{j∈S_k} P̂_j(r) = f(r)` ([`verify_product_zk`]).
//!
//! The caller commits the tables AND the mask's table ([`SumcheckMask::table`], shape
//! [`product_mask_shape`]) in one hiding batch, folds the batch's randomised extension of the
//! mask table into the mask ([`SumcheckMask::add_vanishing_term`] with the batch's
//! `mask_value` at `MaskShape::claim_point(j, 0)` — constant per round for `n ≥ 5`), absorbs the
//! commitment, and opens every returned claim.
//!
//! # Soundness
//!
//! That of the masked sumcheck: `(1 + n·D')/|EF|` (`D' = max(D, 2^{⌈log2(D+1)⌉} − 1) ≤ 15`;
//! `L ≤ 4`, `D ≤ 9`) plus the openings: `ĝ` is a polynomial of degree `≤ D` per variable and the
//! final check is exact on the sent `P̂_j(r)`, which the openings bind to the commitment.
//!
//! # Zero knowledge (honest verifier), simulator
//!
//! The view: the masked rounds, the mask values, the `P̂_j(r)`. Each `P̂_j(r)` carries its own
//! PCS mask `M_j(r_{<μ})` (uniform in `EF` when `r_{n−1} ∉ {0, 1}`), so the `P̂_j(r)` are uniform
//! and independent; `f(r) = eq(w, r)·Σ c_k Π P̂_j(r)` is a function of them; the masked rounds
//! are uniform on the affine space fixed by `(H, f(r))` ([`crate::zk`]). [`simulate_product_zk`]
//! runs a masked sumcheck of a random instance with claim `H` (its final value `f` is uniform),
//! samples every `P̂_j(r)` but one uniformly and solves the last from the final equation (affine
//! in a table that appears once in a term, with a non-zero slope except with probability
//! `O(1/|EF|)`): the same distribution. Leaks: `n`, the terms, `w`, `H`.

use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::{eq_eval, interpolate_uni};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::zk::{MaskShape, SumcheckMask, prove_batched_zk, verify_batched_zk};
use crate::{ProductSumcheck, SumcheckClaim, SumcheckError, SumcheckInstance, Term, evaluate_terms};

/// Fewest variables: the hiding PCS masks a table in its first `min(n, 4)` variables; with `n ≥ 5`
/// the mask never involves the last variable, and the mask table's first four variables are
/// round bits and `γ` (never a power variable).
pub const MIN_ZK_PRODUCT_VARS: usize = 5;

/// `M_j(z_{<μ})` of the caller's hiding commitment for table `j` at `z` (`n` coordinates).
pub type TableMasks<'a> = &'a (dyn Fn(usize, &[EF]) -> EF + Sync);

/// The mask term of a claim on a *virtual* output (`crate::zk_virtual`): the instance proves
/// `Σ_x ĝ(x) + c·R̂_y(r_0, x_0) = ŷ(r)`, summing the output's `R` mask inside the sumcheck
/// (`x_0` its first variable). After the sumcheck the prover sends `R̂_y(r_0, s_0)` (after the
/// tables' values) and the caller opens it as a claim on the `R` table at
/// `VirtualMask::point(r_0, s_0)`.
#[derive(Clone, Copy)]
pub struct OutputMask<'a> {
    /// `c = 2^{−(n−1)}·Z(r)` ([`crate::zk_virtual::output_coeff`]); public.
    pub coeff: EF,
    /// `t ↦ R̂_y(r_0, t)`, the hiding commitment's randomised extension of the `R` table along
    /// `w` at `a = r_0` (degree ≤ 2 in `t`). Prover secret.
    pub r_hat: &'a (dyn Fn(EF) -> EF + Sync),
}

impl std::fmt::Debug for OutputMask<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputMask").field("coeff", &self.coeff).finish_non_exhaustive()
    }
}

/// The wire degree: `2·(longest term) + 1` with an eq factor, `2·(longest term)` without.
pub fn product_degree(terms: &[Term], has_eq: bool) -> usize {
    2 * terms.iter().map(|(_, s)| s.len()).max().unwrap_or(0) + usize::from(has_eq)
}

/// The shape of the mask the caller commits.
pub fn product_mask_shape(num_vars: usize, terms: &[Term], has_eq: bool) -> MaskShape {
    MaskShape { num_rounds: num_vars, degree: product_degree(terms, has_eq) }
}

/// `v(t) = t(1 − t)`.
fn vanish(t: EF) -> EF {
    t * (EF::ONE - t)
}

/// The instance `ĝ` (module docs), wrapping the public [`ProductSumcheck`].
pub struct ZkProductSumcheck<'a> {
    inner: ProductSumcheck,
    terms: Vec<Term>,
    eq_point: Option<Vec<EF>>,
    num_tables: usize,
    hidden: TableMasks<'a>,
    challenges: Vec<EF>,
    num_vars: usize,
    degree: usize,
    output: Option<OutputMask<'a>>,
}

impl std::fmt::Debug for ZkProductSumcheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkProductSumcheck").field("num_vars", &self.num_vars).field("degree", &self.degree).finish_non_exhaustive()
    }
}

impl<'a> ZkProductSumcheck<'a> {
    /// Wraps `inner` (built from the committed tables with `terms` and `eq_point`, nothing bound
    /// yet). `hidden` returns the commitment's masks; refused if it depends on the last variable
    /// or if `n < MIN_ZK_PRODUCT_VARS`.
    pub fn new(inner: ProductSumcheck, terms: Vec<Term>, eq_point: Option<Vec<EF>>, num_tables: usize, hidden: TableMasks<'a>) -> Result<Self, SumcheckError> {
        let num_vars = inner.num_vars();
        if num_vars < MIN_ZK_PRODUCT_VARS {
            return Err(SumcheckError::Config(format!("a masked product sumcheck needs ≥ {MIN_ZK_PRODUCT_VARS} variables, got {num_vars}")));
        }
        let probe: Vec<EF> = (0..num_vars).map(|i| EF::from_usize(i + 3)).collect();
        let mut probe2 = probe.clone();
        probe2[num_vars - 1] = EF::from_u64(1000);
        if (0..num_tables).any(|j| hidden(j, &probe) != hidden(j, &probe2)) {
            return Err(SumcheckError::Config("a table's mask depends on its last variable".into()));
        }
        let degree = product_degree(&terms, eq_point.is_some());
        Ok(Self { inner, terms, eq_point, num_tables, hidden, challenges: Vec::with_capacity(num_vars), num_vars, degree, output: None })
    }

    /// Adds the mask term of a claim on a virtual output ([`OutputMask`]): the claimed sum
    /// becomes `Σ ĝ + c·2^{n−1}·Σ_w R̂_y(r_0, w)`, i.e. `ŷ(r)` when `Σ ĝ = y(r)`. Refused on an
    /// instance of round degree below 2 (`R̂_y` is quadratic in `w`) or after a round was bound.
    pub fn with_output_mask(mut self, output: OutputMask<'a>) -> Result<Self, SumcheckError> {
        if self.degree < 2 || !self.challenges.is_empty() {
            return Err(SumcheckError::Config("an output mask needs a fresh instance of round degree ≥ 2".into()));
        }
        self.output = Some(output);
        Ok(self)
    }

    /// `R̂_y(r_0, s_0)`, once the first round is bound (the value the prover sends).
    pub fn output_mask_value(&self) -> Option<EF> {
        let o = self.output?;
        Some((o.r_hat)(*self.challenges.first()?))
    }

    /// The output mask's part of the current round at `t`: `c·2^{n−1}·R̂_y(r_0, t)` in round 0,
    /// `c·2^{n−1−j}·R̂_y(r_0, s_0)` in round `j ≥ 1`.
    fn output_term(&self, t: EF) -> EF {
        let Some(o) = self.output else { return EF::ZERO };
        let round = self.challenges.len();
        let scale = o.coeff * EF::from_u64(1u64 << (self.num_vars - 1 - round));
        match self.challenges.first() {
            None => scale * (o.r_hat)(t),
            Some(&s0) => scale * (o.r_hat)(s0),
        }
    }

    /// `M_j` at the bound prefix (any last coordinate).
    fn masks(&self) -> Vec<EF> {
        let mut z = self.challenges.clone();
        z.resize(self.num_vars, EF::ZERO);
        (0..self.num_tables).map(|j| (self.hidden)(j, &z)).collect()
    }
}

impl SumcheckInstance for ZkProductSumcheck<'_> {
    fn num_vars(&self) -> usize {
        self.num_vars
    }
    fn degree(&self) -> usize {
        self.degree
    }
    fn claimed_sum(&self) -> EF {
        let mask = self.output.map_or(EF::ZERO, |o| o.coeff * EF::from_u64(1u64 << (self.num_vars - 1)) * ((o.r_hat)(EF::ZERO) + (o.r_hat)(EF::ONE)));
        self.inner.claimed_sum() + mask
    }
    fn round_evals(&self) -> Vec<EF> {
        let Some(lines) = self.inner.last_round_lines() else {
            // Not the last round: the public rounds, at D + 1 points (plus the output mask's term).
            let evals = self.inner.round_evals();
            return (0..=self.degree)
                .map(|t| {
                    let plain = if t < evals.len() { evals[t] } else { interpolate_uni(&evals, EF::from_usize(t)) };
                    plain + self.output_term(EF::from_usize(t))
                })
                .collect();
        };
        let masks = self.masks();
        (0..=self.degree)
            .map(|t| {
                let t = EF::from_usize(t);
                let values: Vec<EF> = lines.iter().zip(&masks).map(|(&(lo, hi), &m)| lo + t * (hi - lo) + vanish(t) * m).collect();
                let products = evaluate_terms(&self.terms, &values).unwrap_or(EF::ZERO);
                let g = match &self.eq_point {
                    Some(w) => {
                        let mut point = self.challenges.clone();
                        point.push(t);
                        eq_eval(w, &point) * products
                    }
                    None => products,
                };
                g + self.output_term(t)
            })
            .collect()
    }
    fn bind(&mut self, r: EF) {
        self.inner.bind(r);
        self.challenges.push(r);
    }
    fn final_evals(&self) -> Vec<EF> {
        let mut prefix = self.challenges.clone();
        let last = prefix.pop().unwrap_or(EF::ZERO);
        let mut z = prefix;
        z.push(EF::ZERO);
        let plain = self.inner.final_evals();
        (0..self.num_tables).map(|j| plain[j] + vanish(last) * (self.hidden)(j, &z)).collect()
    }
}

/// The claims both sides end with: `P̂_j(point) = values[j]` and the mask table's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkProductClaims {
    /// The sumcheck point `r`.
    pub point: Vec<EF>,
    /// `P̂_j(r)` per table.
    pub values: Vec<EF>,
    /// `(point, value)` claims on the mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
    /// With an output mask: `R̂_y(r_0, s_0)` (`s_0 = point[0]`), to open on the `R` table at
    /// `VirtualMask::point(r_0, s_0)`.
    pub output_mask_value: Option<EF>,
}

/// Proves `Σ_x ĝ(x) = claimed sum` with the masked sumcheck and sends the `P̂_j(r)`. `mask` has
/// shape [`product_mask_shape`], is committed with the tables and has the commitment's own
/// randomised extension folded in (module docs).
pub fn prove_product_zk(instance: &mut ZkProductSumcheck<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> ZkProductClaims {
    let out = prove_batched_zk(&mut [&mut *instance], mask, t);
    let values = out.inner.final_evals.into_iter().next().unwrap_or_default();
    t.send_exts(&values);
    let output_mask_value = instance.output_mask_value();
    if let Some(e) = output_mask_value {
        t.send_ext(e);
    }
    ZkProductClaims { point: out.inner.point, values, mask_claims: out.mask_claims, output_mask_value }
}

/// Verifies a masked product sumcheck of `num_tables` tables in `num_vars` variables; the caller
/// must open every returned claim against the hiding commitment.
pub fn verify_product_zk(
    claimed_sum: EF,
    num_vars: usize,
    terms: &[Term],
    eq_point: Option<&[EF]>,
    num_tables: usize,
    t: &mut VerifierTranscript<'_>,
) -> Result<ZkProductClaims, SumcheckError> {
    verify_product_zk_with_output(claimed_sum, num_vars, terms, eq_point, num_tables, None, t)
}

/// [`verify_product_zk`] of an instance with an output mask of coefficient `output_coeff`
/// ([`ZkProductSumcheck::with_output_mask`]; `None`: without). The final check is
/// `eq(w, r)·Σ_k c_k Π P̂_j(r) + c·R̂_y(r_0, s_0) = f(r)` with the sent `R̂_y(r_0, s_0)`, which the
/// caller must open ([`ZkProductClaims::output_mask_value`]).
pub fn verify_product_zk_with_output(
    claimed_sum: EF,
    num_vars: usize,
    terms: &[Term],
    eq_point: Option<&[EF]>,
    num_tables: usize,
    output_coeff: Option<EF>,
    t: &mut VerifierTranscript<'_>,
) -> Result<ZkProductClaims, SumcheckError> {
    if output_coeff.is_some() && product_degree(terms, eq_point.is_some()) < 2 {
        return Err(SumcheckError::Config("an output mask needs round degree ≥ 2".into()));
    }
    if num_vars < MIN_ZK_PRODUCT_VARS || eq_point.is_some_and(|w| w.len() != num_vars) {
        return Err(SumcheckError::Config(format!("masked product sumcheck over {num_vars} variables")));
    }
    let shape = product_mask_shape(num_vars, terms, eq_point.is_some());
    let claim = SumcheckClaim { num_vars, degree: shape.degree, claimed_sum };
    let v = verify_batched_zk(&[claim], shape, t)?;
    let values = t.receive_exts(num_tables)?;
    let output_mask_value = match output_coeff {
        Some(_) => Some(t.receive_ext()?),
        None => None,
    };
    let point = v.inner.point.clone();
    let products = evaluate_terms(terms, &values)?;
    let g = match eq_point {
        Some(w) => eq_eval(w, &point) * products,
        None => products,
    };
    let expected = g + output_coeff.zip(output_mask_value).map_or(EF::ZERO, |(c, e)| c * e);
    v.inner.check_final(&[expected])?;
    Ok(ZkProductClaims { point, values, mask_claims: v.mask_claims, output_mask_value })
}

/// The HVZK simulator (module docs): a proof of `Σ ĝ = claimed_sum` made without the tables, in
/// Fiat–Shamir order. [`verify_product_zk`] accepts it; its claims open nothing (the hiding
/// PCS's simulator produces the openings). Needs a table that appears in exactly one factor of
/// some term and nowhere squared.
pub fn simulate_product_zk<R: Rng + ?Sized>(
    claimed_sum: EF,
    num_vars: usize,
    terms: &[Term],
    eq_point: Option<&[EF]>,
    num_tables: usize,
    t: &mut ProverTranscript,
    rng: &mut R,
) -> Result<(), SumcheckError> {
    simulate_product_zk_with_output(claimed_sum, num_vars, terms, eq_point, num_tables, None, t, rng)
}

/// [`simulate_product_zk`] for an instance with an output mask of coefficient `output_coeff`:
/// `R̂_y(r_0, s_0)` is sampled uniformly (it is: `crate::zk_virtual`, "What `R_y` hides") and a
/// table is solved from `f(r) − c·R̂_y(r_0, s_0)`. [`verify_product_zk_with_output`] accepts it.
#[allow(clippy::too_many_arguments)] // the statement's parts, as the verifier takes them
pub fn simulate_product_zk_with_output<R: Rng + ?Sized>(
    claimed_sum: EF,
    num_vars: usize,
    terms: &[Term],
    eq_point: Option<&[EF]>,
    num_tables: usize,
    output_coeff: Option<EF>,
    t: &mut ProverTranscript,
    rng: &mut R,
) -> Result<(), SumcheckError> {
    let shape = product_mask_shape(num_vars, terms, eq_point.is_some());
    let mut inst = crate::zk::random_instance(num_vars, shape.degree, claimed_sum, rng);
    let mask = SumcheckMask::sample(shape, rng)?;
    let out = prove_batched_zk(&mut [&mut inst], &mask, t);
    let output_mask_value: Option<EF> = output_coeff.map(|_| rng.random());
    let f = out.inner.final_evals[0][0] - output_coeff.zip(output_mask_value).map_or(EF::ZERO, |(c, e)| c * e);
    let point = out.inner.point;
    let scale = eq_point.map_or(EF::ONE, |w| eq_eval(w, &point));
    // Solve for the first table that appears in no term squared: the final value is affine in it.
    let solve = (0..num_tables)
        .find(|&j| terms.iter().all(|(_, s)| s.iter().filter(|&&k| k == j).count() <= 1) && terms.iter().any(|(_, s)| s.contains(&j)))
        .ok_or_else(|| SumcheckError::Config("no table to solve for".into()))?;
    let mut values: Vec<EF> = (0..num_tables).map(|_| rng.random()).collect();
    values[solve] = EF::ZERO;
    let at_zero = evaluate_terms(terms, &values)?;
    values[solve] = EF::ONE;
    let slope = evaluate_terms(terms, &values)? - at_zero;
    let inv = (scale * slope).try_inverse().ok_or_else(|| SumcheckError::Config("zero slope".into()))?;
    values[solve] = (f - scale * at_zero) * inv;
    t.send_exts(&values);
    if let Some(e) = output_mask_value {
        t.send_ext(e);
    }
    Ok(())
}

/// Base-field helper for callers and tests: the plain MLE tables as a [`ProductSumcheck`].
pub fn base_instance(tables: Vec<Vec<F>>, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> ProductSumcheck {
    ProductSumcheck::new_base(tables.into_iter().map(zkinfer_poly::Mle::new).collect(), terms, eq_point)
}

#[cfg(test)]
#[path = "zk_product_tests.rs"]
mod tests;
