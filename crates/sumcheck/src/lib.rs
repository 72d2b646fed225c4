//! Generic sumcheck: prover and verifier for sums of products of multilinear polynomials, with an
//! optional eq factor, and batching of several instances.
//!
//! **Protocol.** To prove `Σ_{x∈{0,1}^n} g(x) = C` for a polynomial `g` of degree ≤ `d` in each
//! variable, in round `j = 0, …, n−1` the prover sends the univariate
//! `s_j(t) = Σ_{x' ∈ {0,1}^{n−j−1}} g(r_0, …, r_{j−1}, t, x')` as its `d+1` evaluations at
//! `t = 0, 1, …, d` (preceded by that count, which the verifier checks equals `d+1`). The verifier
//! checks `s_j(0) + s_j(1) = C_j` (with `C_0 = C`), draws `r_j`, and sets `C_{j+1} = s_j(r_j)`
//! (Lagrange interpolation). At the end it holds the claim `g(r) = C_n`, which the *caller*
//! checks against evaluations of the polynomials `g` is made of (committed, or computable).
//! A cheating prover survives with probability ≤ `n·d/|EF|` (Schwartz–Zippel per round).
//! Variables are bound in the order `x_0, x_1, …` (`x_0` = most significant index bit, the
//! convention of `zkinfer-poly`), so `r_0` is the first challenge and `point = (r_0, …, r_{n−1})`.
//!
//! **Products.** [`ProductSumcheck`] proves `g(x) = [eq(w, x)·] Σ_k c_k · Π_{j∈S_k} P_j(x)` with
//! `|S_k| ≤ 4`. Each `P_j` is linear in the current variable, so on each pair of table halves
//! `P_j(t, x') = lo + t·(hi − lo)`, evaluated at `t = 0..=d` by repeated addition of `hi − lo`.
//! The first round runs over the base field when the inputs are base-field tables; binding lifts
//! them to `EF`. The eq factor uses Gruen's trick: `eq(w, x) = eq(w_0, x_0)·eq(w_{>0}, x_{>0})`,
//! so `s_j(t) = α_j · eq(w_j, t) · q_j(t)` with `α_j = Π_{k<j} eq(w_k, r_k)` and
//! `q_j(t) = Σ_{x'} eq(w_{>j}, x')·Π P(…, t, x')`. The prover computes `q_j` (degree one less)
//! from the table `eq(w_{>j}, ·)`, which it keeps by summing out one variable per round
//! (`E'[i] = E[i] + E[i + half]`): no eq multiplications while folding.
//!
//! **Batching.** Instances `i` with `n_i` variables, claims `C_i` and degrees `d_i` are combined with
//! random coefficients `β_i` drawn after absorbing every `(n_i, d_i, C_i)`. With `N = max n_i`,
//! instance `i` is viewed as a polynomial in `N` variables that does not depend on the first
//! `N − n_i`, so its sum over `{0,1}^N` is `2^{N−n_i}·C_i`, and its round polynomials in those
//! leading rounds are the constant `C_i^{(j)}/2`. The batched claim is `Σ_i β_i 2^{N−n_i} C_i`
//! and the batched degree `D = max d_i`. At the end, instance `i` is bound at the **suffix**
//! `point[N−n_i..]` of the batch point, and the final claim must equal
//! `Σ_i β_i · g_i(point[N−n_i..])` ([`VerifiedSumcheck::check_final`]).

use rayon::prelude::*;
use zkinfer_field::{EF, ExtensionField, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::{Mle, eq_eval, eq_evals, interpolate_uni};
use zkinfer_transcript::{ProverTranscript, Transcript, TranscriptError, VerifierTranscript};

/// Most multilinear factors in one product term.
pub const MAX_TERM_LEN: usize = 4;
/// Evaluation points needed for the product part (`MAX_TERM_LEN + 1`); with the eq factor the
/// round polynomial has one more.
const MAX_POINTS: usize = MAX_TERM_LEN + 1;
/// Pairs per rayon task in a round.
const PAIRS_PER_TASK: usize = 1 << 12;
/// Rounds over fewer pairs than this run on one thread.
const PARALLEL_PAIRS: usize = 1 << 13;

/// Why a sumcheck proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumcheckError {
    /// Reading the proof failed (truncated, non-canonical, …).
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// A round polynomial came with the wrong number of evaluations.
    #[error("round {round}: expected {expected} evaluations, proof announces {got}")]
    WrongDegree {
        /// Round index.
        round: usize,
        /// `degree + 1`.
        expected: usize,
        /// Count in the proof.
        got: u64,
    },
    /// `s(0) + s(1)` differs from the running claim.
    #[error("round {round}: s(0) + s(1) does not match the claim")]
    RoundSumMismatch {
        /// Round index.
        round: usize,
    },
    /// The final evaluations do not reproduce the reduced claim.
    #[error("final evaluations do not match the reduced sumcheck claim")]
    FinalMismatch,
    /// A batch with no instances.
    #[error("no sumcheck instances")]
    NoInstances,
    /// Fewer values than instances, or an MLE index outside the evaluations given.
    #[error("expected {expected} values, got {got}")]
    WrongEvaluationCount {
        /// Values needed.
        expected: usize,
        /// Values given.
        got: usize,
    },
}

/// Prover side of one sumcheck instance (Jolt-style); several can be batched by
/// [`prove_batched`]. Implement it for special-purpose instances (GKR layers, op provers).
pub trait SumcheckInstance: Send + Sync {
    /// Number of variables (rounds).
    fn num_vars(&self) -> usize;
    /// Maximum degree of the summand in one variable; round polynomials have `degree + 1`
    /// evaluations.
    fn degree(&self) -> usize;
    /// `Σ_x g(x)` over the (original) hypercube.
    fn claimed_sum(&self) -> EF;
    /// The current round polynomial at `t = 0..=degree`.
    fn round_evals(&self) -> Vec<EF>;
    /// Fixes the current (first unbound) variable to `r`.
    fn bind(&mut self, r: EF);
    /// After all rounds: the bound values of the instance's polynomials, in its own order.
    fn final_evals(&self) -> Vec<EF>;
}

/// A product term: coefficient and indices of the multilinear factors (at most [`MAX_TERM_LEN`]).
pub type Term = (EF, Vec<usize>);

#[derive(Debug, Clone)]
enum Tables {
    Base(Vec<Mle<F>>),
    Ext(Vec<Mle<EF>>),
}

/// The standard instance: `g(x) = [eq(w, x)·] Σ_k c_k · Π_{j∈S_k} P_j(x)`.
#[derive(Debug, Clone)]
pub struct ProductSumcheck {
    tables: Tables,
    terms: Vec<Term>,
    /// `w`, when there is an eq factor.
    eq_point: Option<Vec<EF>>,
    /// `eq(w_{>j}, ·)` over the variables after the current one.
    eq_rest: Vec<EF>,
    /// `Π_{k<j} eq(w_k, r_k)`.
    eq_scale: EF,
    num_vars: usize,
    round: usize,
    degree: usize,
    claimed_sum: EF,
    /// The current round polynomial (empty once every variable is bound).
    current: Vec<EF>,
}

impl ProductSumcheck {
    /// An instance over extension-field tables.
    ///
    /// # Panics
    /// On programming errors: no tables, tables of different sizes, a term with more than
    /// [`MAX_TERM_LEN`] factors or an index out of range, an eq point of the wrong length.
    pub fn new(mles: Vec<Mle<EF>>, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> Self {
        Self::build(Tables::Ext(mles), terms, eq_point)
    }

    /// An instance over base-field tables: the first round runs in `F`.
    ///
    /// # Panics
    /// As [`ProductSumcheck::new`].
    pub fn new_base(mles: Vec<Mle<F>>, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> Self {
        Self::build(Tables::Base(mles), terms, eq_point)
    }

    fn build(tables: Tables, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> Self {
        let sizes: Vec<usize> = match &tables {
            Tables::Base(m) => m.iter().map(|t| t.num_vars).collect(),
            Tables::Ext(m) => m.iter().map(|t| t.num_vars).collect(),
        };
        assert!(!sizes.is_empty(), "a product sumcheck needs at least one table");
        let num_vars = sizes[0];
        assert!(sizes.iter().all(|&s| s == num_vars), "tables have different numbers of variables: {sizes:?}");
        for (_, idx) in &terms {
            assert!(idx.len() <= MAX_TERM_LEN, "term with {} factors (max {MAX_TERM_LEN})", idx.len());
            assert!(idx.iter().all(|&j| j < sizes.len()), "term index out of range");
        }
        let product_degree = terms.iter().map(|(_, idx)| idx.len()).max().unwrap_or(0);
        let (degree, eq_rest) = match &eq_point {
            Some(w) => {
                assert_eq!(w.len(), num_vars, "eq point length differs from the number of variables");
                let rest = if num_vars == 0 { vec![EF::ONE] } else { eq_evals(&w[1..]) };
                (product_degree + 1, rest)
            }
            None => (product_degree, Vec::new()),
        };
        let mut instance = Self {
            tables,
            terms,
            eq_point,
            eq_rest,
            eq_scale: EF::ONE,
            num_vars,
            round: 0,
            degree,
            claimed_sum: EF::ZERO,
            current: Vec::new(),
        };
        if num_vars == 0 {
            let values = instance.final_evals();
            instance.claimed_sum = evaluate_terms(&instance.terms, &values).unwrap_or(EF::ZERO);
        } else {
            instance.current = instance.compute_round();
            // s(0) + s(1); a degree-0 round polynomial is the constant s(0).
            let at_one = instance.current.get(1).copied().unwrap_or(instance.current[0]);
            instance.claimed_sum = instance.current[0] + at_one;
        }
        instance
    }

    /// Variables not bound yet.
    fn remaining(&self) -> usize {
        self.num_vars - self.round
    }

    /// The round polynomial `s_j(0..=degree)` for the current variable.
    fn compute_round(&self) -> Vec<EF> {
        let product_points = self.terms.iter().map(|(_, idx)| idx.len()).max().unwrap_or(0) + 1;
        let weights = self.eq_point.as_ref().map(|_| self.eq_rest.as_slice());
        let q = match &self.tables {
            Tables::Base(m) => {
                let slices: Vec<&[F]> = m.iter().map(|t| t.evals.as_slice()).collect();
                round_sums(&slices, weights, &self.terms, product_points)
            }
            Tables::Ext(m) => {
                let slices: Vec<&[EF]> = m.iter().map(|t| t.evals.as_slice()).collect();
                round_sums(&slices, weights, &self.terms, product_points)
            }
        };
        match &self.eq_point {
            None => q,
            Some(w) => {
                // s(t) = α · eq(w_j, t) · q(t); q has degree product_points − 1, so its value at
                // the extra point t = degree comes from interpolation.
                let w_j = w[self.round];
                (0..=self.degree)
                    .map(|t| {
                        let t_ef = EF::from_usize(t);
                        let q_t = if t < q.len() { q[t] } else { interpolate_uni(&q, t_ef) };
                        self.eq_scale * eq_eval(&[w_j], &[t_ef]) * q_t
                    })
                    .collect()
            }
        }
    }
}

impl SumcheckInstance for ProductSumcheck {
    fn num_vars(&self) -> usize {
        self.num_vars
    }

    fn degree(&self) -> usize {
        self.degree
    }

    fn claimed_sum(&self) -> EF {
        self.claimed_sum
    }

    fn round_evals(&self) -> Vec<EF> {
        assert!(self.remaining() > 0, "round_evals called after the last round");
        self.current.clone()
    }

    fn bind(&mut self, r: EF) {
        assert!(self.remaining() > 0, "bind called after the last round");
        self.tables = match std::mem::replace(&mut self.tables, Tables::Ext(Vec::new())) {
            Tables::Base(m) => Tables::Ext(m.iter().map(|t| t.fix_first(r)).collect()),
            Tables::Ext(mut m) => {
                for t in &mut m {
                    t.fix_first_in_place(r);
                }
                Tables::Ext(m)
            }
        };
        if let Some(w) = &self.eq_point {
            self.eq_scale *= eq_eval(&[w[self.round]], &[r]);
            if self.eq_rest.len() > 1 {
                sum_out_first(&mut self.eq_rest);
            }
        }
        self.round += 1;
        self.current = if self.remaining() > 0 { self.compute_round() } else { Vec::new() };
    }

    fn final_evals(&self) -> Vec<EF> {
        match &self.tables {
            Tables::Base(m) => m.iter().map(|t| EF::from(t.evals[0])).collect(),
            Tables::Ext(m) => m.iter().map(|t| t.evals[0]).collect(),
        }
    }
}

/// `E'[i] = E[i] + E[i + half]`: sums the first variable out of an eq table.
fn sum_out_first(table: &mut Vec<EF>) {
    let half = table.len() / 2;
    let (lo, hi) = table.split_at_mut(half);
    if half >= PARALLEL_PAIRS {
        lo.par_iter_mut().zip(hi.par_iter()).with_min_len(PAIRS_PER_TASK).for_each(|(l, &h)| *l += h);
    } else {
        lo.iter_mut().zip(hi.iter()).for_each(|(l, &h)| *l += h);
    }
    table.truncate(half);
}

/// `q(t) = Σ_i w_i · Σ_k c_k · Π_{j∈S_k} P_j(t; i)` for `t = 0..num_points`, where
/// `P_j(t; i) = lo + t·(hi − lo)` on the pair `(tables[j][i], tables[j][i + half])` and `w_i = 1`
/// without weights.
fn round_sums<T>(tables: &[&[T]], weights: Option<&[EF]>, terms: &[Term], num_points: usize) -> Vec<EF>
where
    T: Field,
    EF: ExtensionField<T>,
{
    let half = tables[0].len() / 2;
    let num_tasks = half.div_ceil(PAIRS_PER_TASK);
    let run = |task: usize| -> Vec<[EF; MAX_POINTS]> {
        let range = task * PAIRS_PER_TASK..((task + 1) * PAIRS_PER_TASK).min(half);
        match weights {
            None => {
                let acc = accumulate_unweighted(tables, half, range, terms, num_points);
                acc.into_iter().map(|a| a.map(EF::from)).collect()
            }
            Some(w) => accumulate_weighted(tables, half, range, w, terms, num_points),
        }
    };
    let add = |mut a: Vec<[EF; MAX_POINTS]>, b: Vec<[EF; MAX_POINTS]>| {
        for (x, y) in a.iter_mut().zip(&b) {
            for t in 0..MAX_POINTS {
                x[t] += y[t];
            }
        }
        a
    };
    let per_term = if half >= PARALLEL_PAIRS {
        (0..num_tasks).into_par_iter().map(run).reduce(|| vec![[EF::ZERO; MAX_POINTS]; terms.len()], add)
    } else {
        (0..num_tasks).map(run).fold(vec![[EF::ZERO; MAX_POINTS]; terms.len()], add)
    };
    (0..num_points)
        .map(|t| terms.iter().zip(&per_term).map(|((c, _), acc)| *c * acc[t]).sum())
        .collect()
}

/// Fills `vals[j][0..num_points]` with `P_j(t)` on pair `i`.
#[inline(always)]
fn line_values<T: Field>(tables: &[&[T]], half: usize, i: usize, num_points: usize, vals: &mut [[T; MAX_POINTS]]) {
    for (v, tab) in vals.iter_mut().zip(tables) {
        let lo = tab[i];
        let diff = tab[i + half] - lo;
        let mut x = lo;
        v[0] = lo;
        for slot in v.iter_mut().take(num_points).skip(1) {
            x += diff;
            *slot = x;
        }
    }
}

#[inline(always)]
fn term_product<T: Field>(idx: &[usize], vals: &[[T; MAX_POINTS]], t: usize) -> T {
    match idx {
        [] => T::ONE,
        [a] => vals[*a][t],
        [a, b] => vals[*a][t] * vals[*b][t],
        [a, b, c] => vals[*a][t] * vals[*b][t] * vals[*c][t],
        [a, rest @ ..] => rest.iter().fold(vals[*a][t], |p, &j| p * vals[j][t]),
    }
}

fn accumulate_unweighted<T: Field>(
    tables: &[&[T]],
    half: usize,
    range: std::ops::Range<usize>,
    terms: &[Term],
    num_points: usize,
) -> Vec<[T; MAX_POINTS]> {
    let mut vals = vec![[T::ZERO; MAX_POINTS]; tables.len()];
    let mut acc = vec![[T::ZERO; MAX_POINTS]; terms.len()];
    for i in range {
        line_values(tables, half, i, num_points, &mut vals);
        for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
            for t in 0..num_points {
                a[t] += term_product(idx, &vals, t);
            }
        }
    }
    acc
}

fn accumulate_weighted<T>(
    tables: &[&[T]],
    half: usize,
    range: std::ops::Range<usize>,
    weights: &[EF],
    terms: &[Term],
    num_points: usize,
) -> Vec<[EF; MAX_POINTS]>
where
    T: Field,
    EF: ExtensionField<T>,
{
    let mut vals = vec![[T::ZERO; MAX_POINTS]; tables.len()];
    let mut acc = vec![[EF::ZERO; MAX_POINTS]; terms.len()];
    for i in range {
        line_values(tables, half, i, num_points, &mut vals);
        let w = weights[i];
        for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
            for t in 0..num_points {
                a[t] += w * term_product(idx, &vals, t);
            }
        }
    }
    acc
}

/// `Σ_k c_k Π_{j∈S_k} values[j]`: the product part of `g` from the final MLE evaluations.
pub fn evaluate_terms(terms: &[Term], values: &[EF]) -> Result<EF, SumcheckError> {
    let mut sum = EF::ZERO;
    for (c, idx) in terms {
        let mut p = *c;
        for &j in idx {
            let v = values
                .get(j)
                .ok_or(SumcheckError::WrongEvaluationCount { expected: j + 1, got: values.len() })?;
            p *= *v;
        }
        sum += p;
    }
    Ok(sum)
}

/// `g(point)` for a [`ProductSumcheck`] from the MLE evaluations at `point`:
/// `[eq(w, point)·] Σ_k c_k Π_{j∈S_k} values[j]`. The verifier compares it with the reduced claim.
///
/// # Panics
/// If `eq_point` and `point` differ in length (a programming error).
pub fn product_value(terms: &[Term], eq_point: Option<&[EF]>, point: &[EF], values: &[EF]) -> Result<EF, SumcheckError> {
    let products = evaluate_terms(terms, values)?;
    Ok(match eq_point {
        Some(w) => eq_eval(w, point) * products,
        None => products,
    })
}

/// What the prover ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumcheckOutput {
    /// `(r_0, …, r_{N−1})`, `r_0` bound first. Instance `i` is bound at `point[N − n_i..]`.
    pub point: Vec<EF>,
    /// Per instance, its [`SumcheckInstance::final_evals`]. The caller sends whichever the
    /// verifier cannot compute itself.
    pub final_evals: Vec<Vec<EF>>,
}

/// What the verifier knows about one instance before reading the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SumcheckClaim {
    /// Number of variables.
    pub num_vars: usize,
    /// Degree of the summand in each variable.
    pub degree: usize,
    /// The claimed sum.
    pub claimed_sum: EF,
}

/// A batch whose rounds verified. It is accepted only once the caller has checked the final
/// claim with [`VerifiedSumcheck::check_final`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the final claim still has to be checked"]
pub struct VerifiedSumcheck {
    /// `(r_0, …, r_{N−1})`.
    pub point: Vec<EF>,
    /// The batching coefficients `β_i` (`[1]` for a single instance).
    pub batching_coeffs: Vec<EF>,
    /// Per instance, its number of variables.
    pub num_vars: Vec<usize>,
    /// The reduced claim: must equal `Σ_i β_i · g_i(point[N − n_i..])`.
    pub final_claim: EF,
}

impl VerifiedSumcheck {
    /// The point at which instance `i` is bound: the last `n_i` coordinates of the batch point.
    ///
    /// # Panics
    /// If `i` is not an instance index.
    pub fn instance_point(&self, i: usize) -> &[EF] {
        &self.point[self.point.len() - self.num_vars[i]..]
    }

    /// Checks the final claim given `g_i(instance_point(i))` for every instance.
    pub fn check_final(&self, instance_values: &[EF]) -> Result<(), SumcheckError> {
        if instance_values.len() != self.batching_coeffs.len() {
            return Err(SumcheckError::WrongEvaluationCount {
                expected: self.batching_coeffs.len(),
                got: instance_values.len(),
            });
        }
        let combined: EF = self.batching_coeffs.iter().zip(instance_values).map(|(&b, &v)| b * v).sum();
        if combined == self.final_claim { Ok(()) } else { Err(SumcheckError::FinalMismatch) }
    }
}

/// Absorbs the statement of every instance and draws the batching coefficients.
fn absorb_claims_and_draw_coeffs<T: Transcript>(t: &mut T, claims: &[SumcheckClaim]) -> Vec<EF> {
    let shape: Vec<F> = claims
        .iter()
        .flat_map(|c| [F::from_u64(c.num_vars as u64), F::from_u64(c.degree as u64)])
        .collect();
    t.absorb_public_fields("sumcheck/shape", &shape);
    let sums: Vec<EF> = claims.iter().map(|c| c.claimed_sum).collect();
    t.absorb_public_exts("sumcheck/claims", &sums);
    if claims.len() == 1 { vec![EF::ONE] } else { t.challenge_exts(claims.len()) }
}

/// `2^k` in the field.
fn pow2(k: usize) -> EF {
    EF::TWO.exp_u64(k as u64)
}

/// Proves a batch of instances (see the crate docs for how different `num_vars` combine).
/// Sends only the round polynomials; the caller sends the final evaluations it needs to.
///
/// # Panics
/// If `instances` is empty or an instance returns a round polynomial of the wrong length
/// (programming errors).
pub fn prove_batched(instances: &mut [&mut dyn SumcheckInstance], t: &mut ProverTranscript) -> SumcheckOutput {
    assert!(!instances.is_empty(), "no sumcheck instances");
    let claims: Vec<SumcheckClaim> = instances
        .iter()
        .map(|i| SumcheckClaim { num_vars: i.num_vars(), degree: i.degree(), claimed_sum: i.claimed_sum() })
        .collect();
    let coeffs = absorb_claims_and_draw_coeffs(t, &claims);
    let total_vars = claims.iter().map(|c| c.num_vars).max().unwrap_or(0);
    let degree = claims.iter().map(|c| c.degree).max().unwrap_or(0);
    let half = EF::TWO.inverse();
    // Running claims of instances still in their leading (dummy) rounds.
    let mut dummy_claims: Vec<EF> =
        claims.iter().map(|c| c.claimed_sum * pow2(total_vars - c.num_vars)).collect();
    let mut point = Vec::with_capacity(total_vars);
    for round in 0..total_vars {
        let mut combined = vec![EF::ZERO; degree + 1];
        for (i, inst) in instances.iter().enumerate() {
            let active = round >= total_vars - claims[i].num_vars;
            if active {
                let evals = inst.round_evals();
                assert_eq!(evals.len(), claims[i].degree + 1, "instance {i} returned a round polynomial of the wrong degree");
                for (t_idx, c) in combined.iter_mut().enumerate() {
                    let v = if t_idx < evals.len() { evals[t_idx] } else { interpolate_uni(&evals, EF::from_usize(t_idx)) };
                    *c += coeffs[i] * v;
                }
            } else {
                let v = coeffs[i] * dummy_claims[i] * half;
                for c in combined.iter_mut() {
                    *c += v;
                }
            }
        }
        t.send_u32(u32::try_from(degree + 1).expect("degree fits in u32"));
        t.send_exts(&combined);
        let r = t.challenge_ext();
        point.push(r);
        for (i, inst) in instances.iter_mut().enumerate() {
            if round >= total_vars - claims[i].num_vars {
                inst.bind(r);
            } else {
                dummy_claims[i] *= half;
            }
        }
    }
    let final_evals = instances.iter().map(|i| i.final_evals()).collect();
    SumcheckOutput { point, final_evals }
}

/// Proves one instance.
pub fn prove(instance: &mut dyn SumcheckInstance, t: &mut ProverTranscript) -> SumcheckOutput {
    prove_batched(&mut [instance], t)
}

/// Verifies the rounds of a batch. The caller must then call [`VerifiedSumcheck::check_final`]
/// with the instances' values at their points.
pub fn verify_batched(claims: &[SumcheckClaim], t: &mut VerifierTranscript<'_>) -> Result<VerifiedSumcheck, SumcheckError> {
    if claims.is_empty() {
        return Err(SumcheckError::NoInstances);
    }
    let coeffs = absorb_claims_and_draw_coeffs(t, claims);
    let total_vars = claims.iter().map(|c| c.num_vars).max().unwrap_or(0);
    let degree = claims.iter().map(|c| c.degree).max().unwrap_or(0);
    let mut claim: EF = claims
        .iter()
        .zip(&coeffs)
        .map(|(c, &b)| b * c.claimed_sum * pow2(total_vars - c.num_vars))
        .sum();
    let mut point = Vec::new();
    for round in 0..total_vars {
        let count = t.receive_u32()?;
        if u64::from(count) != degree as u64 + 1 {
            return Err(SumcheckError::WrongDegree { round, expected: degree + 1, got: u64::from(count) });
        }
        let evals = t.receive_exts(degree + 1)?;
        let at_one = evals.get(1).copied().unwrap_or(evals[0]);
        if evals[0] + at_one != claim {
            return Err(SumcheckError::RoundSumMismatch { round });
        }
        let r = t.challenge_ext();
        claim = interpolate_uni(&evals, r);
        point.push(r);
    }
    Ok(VerifiedSumcheck {
        point,
        batching_coeffs: coeffs,
        num_vars: claims.iter().map(|c| c.num_vars).collect(),
        final_claim: claim,
    })
}

/// Verifies one instance; returns the point and the value `g(point)` must have (the caller
/// checks it).
pub fn verify(claim: &SumcheckClaim, t: &mut VerifierTranscript<'_>) -> Result<(Vec<EF>, EF), SumcheckError> {
    let v = verify_batched(std::slice::from_ref(claim), t)?;
    Ok((v.point, v.final_claim))
}

#[cfg(test)]
mod tests;
