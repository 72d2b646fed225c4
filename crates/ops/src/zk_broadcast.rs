//! A masked product sumcheck over *broadcast* tables (issue 13): the instance the norm ops' cube
//! sumcheck needs (`docs/SECURITY.md`, "RmsNorm / LayerNorm in zero knowledge"), where a term
//! multiplies tables over different ranges of the sumcheck's variables — `x(t, c)`, `inv(t)`,
//! `γ(c)`. `zkinfer_sumcheck::zk_product::ZkProductSumcheck` adds a table's mask only in the last
//! round, which is right only for tables that depend on the last variable.
//!
//! **Relation.** `Σ_{x∈{0,1}^n} Σ_k c_k Π_{j∈S_k} P_j(x_{[lo_j, hi_j)}) = H`: table `j` depends on
//! the contiguous range `[lo_j, hi_j)` of the variables (`x_0` first, as the rounds bind them) and
//! is constant along the others. Masked tables (committed, `Vanishing::All`) are read through their
//! randomised extensions `P̂_j = P_j + Z_j·M_j` (`Z_j` over the table's own variables); public
//! tables (eq tables, selectors) have no mask and the verifier checks their final values.
//!
//! **Rounds.** Round `i` binds `x_i`. For a masked table: while one of its own variables is still
//! summed over `{0, 1}`, `Z_j = 0` there and `P̂_j = P_j` (plain lines); in the round that binds its
//! last own variable `h = hi_j − 1`, its line is `lo + t(hi − lo) + v(t)·H_j` with `H_j` the factor
//! of `v(z_h)` in `P̂_j − P_j` at the bound prefix (a constant: the mask lives in the table's first
//! four variables, all bound before `h` when the table has ≥ 5 variables — refused otherwise);
//! after binding `r_h`, every remaining entry of the (broadcast) table gets `v(r_h)·H_j` added, so
//! it holds `P̂_j(ρ_own)` from then on. The sum over the cube is unchanged (`P̂ = P` there), each
//! round polynomial has degree `≤ 2L` (`L` the longest term: every factor at most quadratic), so the
//! wire format and the verifier are `zk_product`'s: [`zkinfer_sumcheck::zk_product::verify_product_zk`]
//! with `eq_point = None` at degree `2L`, ending with every table's final value `P̂_j(ρ_[lo_j, hi_j))`.
//!
//! **Soundness.** The masked sumcheck's `(1 + n·D')/|EF|` (`D = 2L`) plus the openings of the masked
//! tables' claims and the verifier's own evaluation of the public ones.
//!
//! **Output masks.** A claimed sum that is a combination of committed columns' randomised values
//! carries their masks; with the columns' masks tied to `R` tables (`crate::zk_rescale`), that part
//! is `Σ_i C_i·Σ_w R_i(z_0, w)` and the instance sums it inside, as `zk_product`'s `OutputMask`
//! does for one: the term `c_i·R̂_i(z_0, x_0)` (`c_i = 2^{−(n−1)}·C_i`, `x_0` the first variable) per
//! mask; round 0 carries `c_i·2^{n−1}·R̂_i(z_0, t)`, round `j ≥ 1` the constant
//! `c_i·2^{n−1−j}·R̂_i(z_0, s_0)`; after the finals the prover sends `e_i = R̂_i(z_0, s_0)` and the
//! verifier's final check is `Σ_k c_k Π P̂_j(ρ) + Σ_i c_i·e_i = f(ρ)` ([`verify_broadcast_zk`]).
//!
//! **Zero knowledge.** The sent masked values are fresh values of their masks at points with no
//! boolean coordinate (uniform, independent), the `e_i` are uniform by the `R` tables' capacity,
//! the public values are functions of the challenges, the rounds are uniform on the affine space
//! fixed by `(H, f(ρ))` (the masked sumcheck); a simulator samples the masked values but one and
//! solves it from the final equation.
//!
//! **Cost.** The rounds are computed naively (`(D + 1)·Σ_k |S_k|·2^{n−i−1}` products in round `i`,
//! broadcast tables materialised at `2^n`): library code for the tested sizes, not the graph
//! prover's hot path.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask, prove_batched_zk, verify_batched_zk};
use zkinfer_sumcheck::zk_product::{product_degree, product_mask_shape};
use zkinfer_sumcheck::{SumcheckClaim, SumcheckError, SumcheckInstance, Term, evaluate_terms};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

/// One table of a broadcast product sumcheck.
#[derive(Debug, Clone)]
pub struct BroadcastTable {
    /// Its own values, `2^{hi − lo}` entries (`x_lo` most significant).
    pub values: Vec<EF>,
    /// Its variables: `[lo, hi)` of the sumcheck's.
    pub vars: std::ops::Range<usize>,
    /// Masked (a committed table read through its randomised extension) or public.
    pub masked: bool,
}

/// `H_j(own point)`: the factor of `v(z_last)` in `P̂_j − P_j` at the table's own point (its last
/// coordinate arbitrary), from the caller's commitment.
pub type Cofactors<'a> = &'a (dyn Fn(usize, &[EF]) -> EF + Sync);

/// The instance (module docs).
pub struct ZkBroadcastSumcheck<'a> {
    /// Current broadcast tables (`2^{n − bound}` entries each).
    tables: Vec<Vec<EF>>,
    ranges: Vec<std::ops::Range<usize>>,
    masked: Vec<bool>,
    terms: Vec<Term>,
    cofactors: Cofactors<'a>,
    challenges: Vec<EF>,
    num_vars: usize,
    degree: usize,
    claim: EF,
    outputs: Vec<(EF, OutputHat<'a>)>,
}

/// `t ↦ R̂_i(z_0, t)` of an output mask (the commitment's randomised extension of the `R` table).
pub type OutputHat<'a> = &'a (dyn Fn(EF) -> EF + Sync);

impl std::fmt::Debug for ZkBroadcastSumcheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkBroadcastSumcheck").field("num_vars", &self.num_vars).field("degree", &self.degree).finish_non_exhaustive()
    }
}

fn vanish(t: EF) -> EF {
    t * (EF::ONE - t)
}

impl<'a> ZkBroadcastSumcheck<'a> {
    /// The instance over `num_vars` variables. Refused: a range outside the variables, a table of
    /// the wrong size, a masked table of fewer than 5 variables, a term naming no table.
    pub fn new(num_vars: usize, tables: Vec<BroadcastTable>, terms: Vec<Term>, cofactors: Cofactors<'a>) -> Result<Self, SumcheckError> {
        let bad = |msg: String| Err(SumcheckError::Config(msg));
        if num_vars == 0 || num_vars > 30 {
            return bad(format!("a broadcast sumcheck over {num_vars} variables"));
        }
        for (j, t) in tables.iter().enumerate() {
            if t.vars.start >= t.vars.end || t.vars.end > num_vars || t.values.len() != 1usize << t.vars.len() {
                return bad(format!("table {j}: range {:?} or size {}", t.vars, t.values.len()));
            }
            if t.masked && t.vars.len() < zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS {
                return bad(format!("masked table {j} has {} variables (its mask would involve its last one)", t.vars.len()));
            }
        }
        if terms.iter().any(|(_, s)| s.is_empty() || s.iter().any(|&j| j >= tables.len())) {
            return bad("a term names no table or a missing one".into());
        }
        let full: Vec<Vec<EF>> = tables
            .iter()
            .map(|t| {
                let (before, after) = (t.vars.start, num_vars - t.vars.end);
                let mut out = Vec::with_capacity(1usize << num_vars);
                for _ in 0..1usize << before {
                    for &v in &t.values {
                        out.extend(std::iter::repeat_n(v, 1usize << after));
                    }
                }
                out
            })
            .collect();
        let claim = (0..1usize << num_vars)
            .map(|x| terms.iter().map(|(c, s)| s.iter().fold(*c, |p, &j| p * full[j][x])).sum::<EF>())
            .sum();
        let degree = product_degree(&terms, false);
        Ok(Self {
            tables: full,
            ranges: tables.iter().map(|t| t.vars.clone()).collect(),
            masked: tables.iter().map(|t| t.masked).collect(),
            terms,
            cofactors,
            challenges: Vec::with_capacity(num_vars),
            num_vars,
            degree,
            claim,
            outputs: Vec::new(),
        })
    }

    /// Adds an output mask `c·R̂(z_0, x_0)` (module docs; `coeff = c = 2^{−(n−1)}·C`). Refused below
    /// round degree 2 or after a round was bound.
    pub fn with_output_mask(mut self, coeff: EF, r_hat: OutputHat<'a>) -> Result<Self, SumcheckError> {
        if self.degree < 2 || !self.challenges.is_empty() {
            return Err(SumcheckError::Config("an output mask needs a fresh instance of round degree ≥ 2".into()));
        }
        self.claim += coeff * EF::TWO.exp_u64((self.num_vars - 1) as u64) * (r_hat(EF::ZERO) + r_hat(EF::ONE));
        self.outputs.push((coeff, r_hat));
        Ok(self)
    }

    /// The output masks' part of the current round at `t`.
    fn output_term(&self, t: EF) -> EF {
        let round = self.challenges.len();
        let scale = EF::TWO.exp_u64((self.num_vars - 1 - round) as u64);
        self.outputs
            .iter()
            .map(|&(c, r_hat)| scale * c * match self.challenges.first() {
                None => r_hat(t),
                Some(&s0) => r_hat(s0),
            })
            .sum()
    }

    /// `H_j` at the bound prefix when the current round binds table `j`'s last variable.
    fn round_cofactor(&self, j: usize) -> Option<EF> {
        let round = self.challenges.len();
        let r = &self.ranges[j];
        if !self.masked[j] || round + 1 != r.end {
            return None;
        }
        let mut own = self.challenges[r.start..].to_vec();
        own.push(EF::ZERO);
        Some((self.cofactors)(j, &own))
    }
}

impl SumcheckInstance for ZkBroadcastSumcheck<'_> {
    fn num_vars(&self) -> usize {
        self.num_vars
    }
    fn degree(&self) -> usize {
        self.degree
    }
    fn claimed_sum(&self) -> EF {
        self.claim
    }
    fn round_evals(&self) -> Vec<EF> {
        let half = self.tables[0].len() / 2;
        let h: Vec<Option<EF>> = (0..self.tables.len()).map(|j| self.round_cofactor(j)).collect();
        (0..=self.degree)
            .map(|t| {
                let t = EF::from_usize(t);
                let vt = vanish(t);
                let mut sum = EF::ZERO;
                // Each table's line at `t`, once per `x` (terms share tables).
                let mut vals = vec![EF::ZERO; self.tables.len()];
                for x in 0..half {
                    for (j, v) in vals.iter_mut().enumerate() {
                        let (lo, hi) = (self.tables[j][x], self.tables[j][x + half]);
                        *v = lo + t * (hi - lo) + h[j].map_or(EF::ZERO, |c| vt * c);
                    }
                    sum += self.terms.iter().map(|(c, s)| s.iter().fold(*c, |p, &j| p * vals[j])).sum::<EF>();
                }
                sum + self.output_term(t)
            })
            .collect()
    }
    fn bind(&mut self, r: EF) {
        let h: Vec<Option<EF>> = (0..self.tables.len()).map(|j| self.round_cofactor(j)).collect();
        let half = self.tables[0].len() / 2;
        for (table, hj) in self.tables.iter_mut().zip(h) {
            let shift = hj.map_or(EF::ZERO, |c| vanish(r) * c);
            *table = (0..half).map(|x| table[x] + r * (table[x + half] - table[x]) + shift).collect();
        }
        self.challenges.push(r);
    }
    fn final_evals(&self) -> Vec<EF> {
        self.tables.iter().map(|t| t[0]).collect()
    }
}

/// The shape of the sumcheck mask the caller commits (round degree `2L`).
pub fn broadcast_mask_shape(num_vars: usize, terms: &[Term]) -> MaskShape {
    product_mask_shape(num_vars, terms, false)
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastClaims {
    /// The sumcheck point `ρ`.
    pub point: Vec<EF>,
    /// Every table's final value (`P̂_j` at its own sub-point of `ρ` for masked tables).
    pub values: Vec<EF>,
    /// `e_i = R̂_i(z_0, ρ_0)` per output mask.
    pub output_values: Vec<EF>,
    /// `(point, value)` claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// Prover: the masked sumcheck, then the tables' final values and the output masks' values.
/// `mask` has shape [`broadcast_mask_shape`], committed with its PCS mask folded in.
pub fn prove_broadcast_zk(inst: &mut ZkBroadcastSumcheck<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> BroadcastClaims {
    let out = prove_batched_zk(&mut [&mut *inst], mask, t);
    let values = out.inner.final_evals.into_iter().next().unwrap_or_default();
    t.send_exts(&values);
    let s0 = out.inner.point.first().copied().unwrap_or(EF::ZERO);
    let output_values: Vec<EF> = inst.outputs.iter().map(|&(_, r_hat)| r_hat(s0)).collect();
    t.send_exts(&output_values);
    BroadcastClaims { point: out.inner.point, values, output_values, mask_claims: out.mask_claims }
}

/// Verifier: `num_tables` tables, `output_coeffs` the output masks' `c_i`; checks the final
/// equation. The caller checks the public tables' values and opens every other claim.
pub fn verify_broadcast_zk(
    claimed_sum: EF,
    num_vars: usize,
    terms: &[Term],
    num_tables: usize,
    output_coeffs: &[EF],
    t: &mut VerifierTranscript<'_>,
) -> Result<BroadcastClaims, SumcheckError> {
    let shape = broadcast_mask_shape(num_vars, terms);
    if num_vars == 0 || (!output_coeffs.is_empty() && shape.degree < 2) {
        return Err(SumcheckError::Config("a broadcast sumcheck of no variable, or an output mask below degree 2".into()));
    }
    let v = verify_batched_zk(&[SumcheckClaim { num_vars, degree: shape.degree, claimed_sum }], shape, t)?;
    let values = t.receive_exts(num_tables)?;
    let output_values = t.receive_exts(output_coeffs.len())?;
    let expected = evaluate_terms(terms, &values)? + output_coeffs.iter().zip(&output_values).map(|(&c, &e)| c * e).sum::<EF>();
    v.inner.check_final(&[expected])?;
    Ok(BroadcastClaims { point: v.inner.point, values, output_values, mask_claims: v.mask_claims })
}

#[cfg(test)]
#[path = "zk_broadcast_tests.rs"]
mod tests;
