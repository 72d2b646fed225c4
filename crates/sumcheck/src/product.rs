//! The standard instance `g(x) = [eq(w, x)·] Σ_k c_k Π_{j∈S_k} P_j(x)` and its round kernels.
//!
//! Round `j` needs, for every pair `(lo, hi)` of table halves, the lines `P(t) = lo + t·(hi − lo)`
//! at the points `t = 0..=d_P` (`d_P` = longest term). Two savings over the textbook loop:
//!
//! * **Fused binding.** Binding `x_j = r` and computing round `j+1` happen in one pass: for a
//!   next-round pair index `i` the pass folds the four quarters of the table
//!   (`new[i] = T[i] + r·(T[i+h] − T[i])`, `new[i+q] = T[i+q] + r·(T[i+q+h] − T[i+q])`), writes
//!   them, and immediately uses them as that pair's `(lo, hi)`. Each table is read once per round.
//! * **Skipping `t = 1`.** The prover knows the running claim `C_j = s_{j−1}(r_{j−1})`, so
//!   `s_j(1) = C_j − s_j(0)` needs no products (with the eq factor,
//!   `q_j(1) = s_j(1) / (α_j·w_j)` when that is non-zero; otherwise it is computed).
//!
//! * **Base field first.** Round 0 reads base-field tables and accumulates in `F` when there is
//!   no eq factor. Round 1 folds `x_0 = r_0` on the fly (`EF × F` products) without storing the
//!   folded tables; binding `r_1` then writes quarter-size `EF` tables directly,
//!   `new[k] = Σ_{a,b∈{0,1}} eq(r_0, a)·eq(r_1, b)·T[a·2^{n−1} + b·2^{n−2} + k]`, so no half-size
//!   extension-field table is ever allocated.
//! * **SIMD.** Tables large enough are processed `LANES` entries at a time with p3's packed
//!   fields (`F::Packing`, `EF::ExtensionPacking`: 8 lanes with AVX-512, 4 with AVX2): round 0
//!   and the lazy round 1 read the base tables as packed `F`, the two-variable fold writes packed
//!   `EF` tables, and later rounds fold those in place until fewer than `LANES` pairs remain,
//!   when they are unpacked. Large plain `EF` tables (from [`ProductSumcheck::new`]) are repacked
//!   once. Lanes are summed only at the end of each rayon task.

use super::*;
use p3_field::{PackedFieldExtension, PackedValue};
use zkinfer_poly::ParReduce;

/// SIMD packing of the base field (8 lanes with AVX-512, 4 with AVX2, 1 without SIMD).
type PackedF = <F as Field>::Packing;
/// The matching packing of the extension field: `LANES` extension elements, coefficient-major.
type PackedEF = <EF as ExtensionField<F>>::ExtensionPacking;
/// Lanes per packed element.
const LANES: usize = <PackedF as PackedValue>::WIDTH;

/// Most multilinear factors in one product term.
pub const MAX_TERM_LEN: usize = 4;
/// Evaluation points of the product part (`MAX_TERM_LEN + 1`); with the eq factor the round
/// polynomial has one more, obtained by interpolation.
const MAX_POINTS: usize = MAX_TERM_LEN + 1;
/// Pairs per rayon task in a round.
const PAIRS_PER_TASK: usize = 1 << 12;
/// Plain extension-field tables are repacked for SIMD when a round has at least this many pairs.
const PACK_EXT_MIN_PAIRS: usize = 1 << 10;
/// Rounds over fewer pairs than this run on one thread.
const PARALLEL_PAIRS: usize = 1 << 13;

/// A product term: coefficient and indices of the multilinear factors (at most [`MAX_TERM_LEN`]).
pub type Term = (EF, Vec<usize>);

#[derive(Debug, Clone)]
enum Tables {
    /// Base-field tables, nothing bound.
    Base(Vec<Mle<F>>),
    /// Base-field tables with `x_0 = r_0` bound lazily: the folded tables are never written;
    /// the next binding folds two variables at once straight from the base field.
    BaseBound(Vec<Mle<F>>, EF),
    /// Extension-field tables, bound variables folded in.
    Ext(Vec<Mle<EF>>),
    /// Extension-field tables packed `LANES` consecutive entries per element, and the number of
    /// variables (used while tables are large enough for SIMD).
    Packed(Vec<Vec<PackedEF>>, usize),
    /// Tables of either field ([`ProductSumcheck::new_mixed`]), for the first two rounds only:
    /// base tables are read and bound as in [`Tables::Base`] / [`Tables::BaseBound`] (`r0`: the
    /// pending first binding), extension tables are packed and folded in place; `num_vars`
    /// counts the variables not bound yet. After the second binding every table is packed `EF`.
    Mixed {
        tables: Vec<MixedTable>,
        num_vars: usize,
        r0: Option<EF>,
    },
}

/// One table of [`Tables::Mixed`].
#[derive(Debug, Clone)]
enum MixedTable {
    /// Base-field evaluations, never bound in place.
    Base(Mle<F>),
    /// Extension-field evaluations, `LANES` per packed element, bound in place.
    Packed(Vec<PackedEF>),
}

/// A table given to [`ProductSumcheck::new_mixed`].
#[derive(Debug, Clone)]
pub enum MixedMle {
    /// Base-field evaluations (a committed column, a public 0/1 table).
    Base(Mle<F>),
    /// Extension-field evaluations (an eq table).
    Ext(Mle<EF>),
}

impl MixedMle {
    fn num_vars(&self) -> usize {
        match self {
            MixedMle::Base(m) => m.num_vars,
            MixedMle::Ext(m) => m.num_vars,
        }
    }

    fn lift(self) -> Mle<EF> {
        match self {
            MixedMle::Base(m) => m.lift(),
            MixedMle::Ext(m) => m,
        }
    }
}

fn unpack(t: &[PackedEF]) -> Mle<EF> {
    Mle::new(<PackedEF as PackedFieldExtension<F, EF>>::to_ext_iter(t.iter().copied()).collect::<Vec<EF>>())
}

impl Tables {
    /// Number of tables and the length of each *stored* table.
    fn shape(&self) -> (usize, usize) {
        match self {
            Tables::Base(m) | Tables::BaseBound(m, _) => (m.len(), m[0].len()),
            Tables::Ext(m) => (m.len(), m[0].len()),
            Tables::Packed(m, _) => (m.len(), m[0].len() * LANES),
            Tables::Mixed { tables, num_vars, .. } => (tables.len(), 1 << num_vars),
        }
    }

    /// The extension-field tables with every pending binding applied.
    fn into_ext(self) -> Vec<Mle<EF>> {
        match self {
            Tables::Base(m) => m.iter().map(Mle::lift).collect(),
            Tables::BaseBound(m, r0) => m.iter().map(|t| t.fix_first(r0)).collect(),
            Tables::Ext(m) => m,
            Tables::Packed(m, _) => m.iter().map(|t| unpack(t)).collect(),
            Tables::Mixed { tables, r0, .. } => tables
                .iter()
                .map(|t| match (t, r0) {
                    (MixedTable::Base(m), None) => m.lift(),
                    (MixedTable::Base(m), Some(r0)) => m.fix_first(r0),
                    (MixedTable::Packed(p), _) => unpack(p),
                })
                .collect(),
        }
    }
}

/// The standard instance: `g(x) = [eq(w, x)·] Σ_k c_k · Π_{j∈S_k} P_j(x)`.
///
/// Its [`SumcheckInstance::final_evals`] are `P_j(point)` for every table `j`, in the order the
/// tables were given; [`product_value`] turns them into `g(point)`.
#[derive(Debug, Clone)]
pub struct ProductSumcheck {
    tables: Tables,
    terms: Vec<Term>,
    /// `w`, when there is an eq factor.
    eq_point: Option<Vec<EF>>,
    /// `eq(w_{>j}, ·)` over the variables after the current one (one weight per pair).
    eq_rest: Vec<EF>,
    /// `α_j = Π_{k<j} eq(w_k, r_k)`.
    eq_scale: EF,
    num_vars: usize,
    round: usize,
    degree: usize,
    /// Points at which the product part is evaluated: longest term + 1.
    product_points: usize,
    claimed_sum: EF,
    /// The claim of the current round, `s_j(0) + s_j(1)`.
    claim: EF,
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

    /// When exactly one variable is left unbound: every table's two remaining values
    /// `(P_j(r, 0), P_j(r, 1))`, in table order (the masked product sumcheck,
    /// [`crate::zk_product`], builds its last round from them). `None` in any other round.
    pub fn last_round_lines(&self) -> Option<Vec<(EF, EF)>> {
        if self.remaining() != 1 {
            return None;
        }
        let tables = self.tables.clone().into_ext();
        tables.iter().map(|t| match t.evals[..] {
            [lo, hi] => Some((lo, hi)),
            _ => None,
        }).collect()
    }

    /// An instance over base-field tables: the first round runs in `F`.
    ///
    /// # Panics
    /// As [`ProductSumcheck::new`].
    pub fn new_base(mles: Vec<Mle<F>>, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> Self {
        Self::build(Tables::Base(mles), terms, eq_point)
    }

    /// An instance over tables of either field: the same instance, the same rounds and final
    /// values as [`ProductSumcheck::new`] on every table lifted to `EF`, but round 0 multiplies
    /// the base tables' factors in `F` (packed) and only the extension tables' in `EF`, the base
    /// tables are bound as by [`ProductSumcheck::new_base`] and never lifted whole, and only the
    /// extension tables are packed. Tables too small for SIMD are lifted (the plain path).
    ///
    /// # Panics
    /// As [`ProductSumcheck::new`].
    pub fn new_mixed(mles: Vec<MixedMle>, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> Self {
        let num_vars = mles.first().map_or(0, MixedMle::num_vars);
        let uniform = mles.iter().all(|m| m.num_vars() == num_vars);
        // Both packed bindings need at least LANES next-round pairs: 2^(n−3) ≥ LANES.
        if LANES == 1 || !uniform || num_vars < LANES.trailing_zeros() as usize + 3 {
            return Self::new(mles.into_iter().map(MixedMle::lift).collect(), terms, eq_point);
        }
        let tables = mles
            .into_iter()
            .map(|m| match m {
                MixedMle::Base(m) => MixedTable::Base(m),
                MixedMle::Ext(m) => MixedTable::Packed(m.evals.par_chunks(LANES).map(PackedEF::from_ext_slice).collect()),
            })
            .collect();
        Self::build(Tables::Mixed { tables, num_vars, r0: None }, terms, eq_point)
    }

    /// Whether the tables are still mixed (tests: which path an instance took).
    #[cfg(test)]
    pub(crate) fn is_mixed(&self) -> bool {
        matches!(self.tables, Tables::Mixed { .. })
    }

    /// Fewest variables [`ProductSumcheck::new_mixed`] keeps mixed (`None` without SIMD).
    #[cfg(test)]
    pub(crate) fn mixed_min_vars() -> Option<usize> {
        (LANES > 1).then_some(LANES.trailing_zeros() as usize + 3)
    }

    fn build(tables: Tables, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> Self {
        let sizes: Vec<usize> = match &tables {
            Tables::Base(m) | Tables::BaseBound(m, _) => m.iter().map(|t| t.num_vars).collect(),
            Tables::Ext(m) => m.iter().map(|t| t.num_vars).collect(),
            Tables::Packed(m, n) => vec![*n; m.len()],
            Tables::Mixed { tables, num_vars, .. } => vec![*num_vars; tables.len()],
        };
        assert!(
            !sizes.is_empty(),
            "a product sumcheck needs at least one table"
        );
        let num_vars = sizes[0];
        assert!(
            sizes.iter().all(|&s| s == num_vars),
            "tables have different numbers of variables: {sizes:?}"
        );
        for (_, idx) in &terms {
            assert!(
                idx.len() <= MAX_TERM_LEN,
                "term with {} factors (max {MAX_TERM_LEN})",
                idx.len()
            );
            assert!(
                idx.iter().all(|&j| j < sizes.len()),
                "term index out of range"
            );
        }
        let product_points = terms.iter().map(|(_, idx)| idx.len()).max().unwrap_or(0) + 1;
        let (degree, eq_rest) = match &eq_point {
            Some(w) => {
                assert_eq!(
                    w.len(),
                    num_vars,
                    "eq point length differs from the number of variables"
                );
                let rest = if num_vars == 0 {
                    vec![EF::ONE]
                } else {
                    eq_evals(&w[1..])
                };
                (product_points, rest)
            }
            None => (product_points - 1, Vec::new()),
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
            product_points,
            claimed_sum: EF::ZERO,
            claim: EF::ZERO,
            current: Vec::new(),
        };
        if num_vars == 0 {
            let values = instance.final_evals();
            instance.claimed_sum = evaluate_terms(&instance.terms, &values).unwrap_or(EF::ZERO);
        } else {
            let q = instance.first_round_products();
            instance.current = instance.round_from_products(q, false);
            // s(0) + s(1); a degree-0 round polynomial is the constant s(0).
            let at_one = instance
                .current
                .get(1)
                .copied()
                .unwrap_or(instance.current[0]);
            instance.claimed_sum = instance.current[0] + at_one;
        }
        instance.claim = instance.claimed_sum;
        instance
    }

    /// Variables not bound yet.
    fn remaining(&self) -> usize {
        self.num_vars - self.round
    }

    /// The product part `q_0(0..product_points)` of round 0, from the unbound tables.
    fn first_round_products(&self) -> Vec<EF> {
        let weights = self.eq_point.as_ref().map(|_| self.eq_rest.as_slice());
        match &self.tables {
            Tables::Base(m) => {
                let slices: Vec<&[F]> = m.iter().map(|t| t.evals.as_slice()).collect();
                if LANES > 1 && m[0].len() / 2 >= LANES {
                    round_sums_packed_base(&slices, weights, &self.terms, self.product_points)
                } else {
                    round_sums(&slices, weights, &self.terms, self.product_points)
                }
            }
            Tables::Ext(m) => {
                let slices: Vec<&[EF]> = m.iter().map(|t| t.evals.as_slice()).collect();
                round_sums(&slices, weights, &self.terms, self.product_points)
            }
            Tables::Mixed { tables, .. } => round_sums_packed_mixed(tables, weights, &self.terms, self.product_points),
            Tables::BaseBound(..) | Tables::Packed(..) => {
                unreachable!("round 0 starts from unpacked, unbound tables")
            }
        }
    }

    /// Whether round `self.round` may take `s(1)` from the claim instead of computing it.
    fn can_skip_one(&self) -> bool {
        self.product_points >= 2
            && match &self.eq_point {
                None => true,
                Some(w) => !(self.eq_scale * w[self.round]).is_zero(),
            }
    }

    /// The round polynomial `s_j(0..=degree)` from its product part `q_j(0..product_points)`.
    /// When `skipped_one`, `q[1]` was not computed and is recovered from the claim.
    fn round_from_products(&self, mut q: Vec<EF>, skipped_one: bool) -> Vec<EF> {
        match &self.eq_point {
            None => {
                if skipped_one {
                    q[1] = self.claim - q[0];
                }
                q
            }
            Some(w) => {
                // s(t) = α · eq(w_j, t) · q(t).
                let w_j = w[self.round];
                let alpha = self.eq_scale;
                if skipped_one {
                    let s0 = alpha * (EF::ONE - w_j) * q[0];
                    q[1] = (self.claim - s0) * (alpha * w_j).inverse();
                }
                (0..=self.degree)
                    .map(|t| {
                        let t_ef = EF::from_usize(t);
                        let q_t = if t < q.len() {
                            q[t]
                        } else {
                            interpolate_uni(&q, t_ef)
                        };
                        alpha * eq_eval(&[w_j], &[t_ef]) * q_t
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
        assert!(
            self.remaining() > 0,
            "round_evals called after the last round"
        );
        self.current.clone()
    }

    fn bind(&mut self, r: EF) {
        assert!(self.remaining() > 0, "bind called after the last round");
        let next_claim = interpolate_uni(&self.current, r);
        if let Some(w) = &self.eq_point {
            self.eq_scale *= eq_eval(&[w[self.round]], &[r]);
        }
        self.round += 1;
        self.claim = next_claim;
        if self.remaining() == 0 {
            // Last binding: plain folds down to single values.
            let tables = std::mem::replace(&mut self.tables, Tables::Ext(Vec::new()));
            let mut m = match tables {
                Tables::Base(m) => m.iter().map(|t| t.fix_first(r)).collect(),
                other => {
                    let mut m = other.into_ext();
                    m.iter_mut().for_each(|t| t.fix_first_in_place(r));
                    m
                }
            };
            debug_assert!(m.iter().all(|t| t.num_vars == 0));
            m.shrink_to_fit();
            self.tables = Tables::Ext(m);
            self.current = Vec::new();
            return;
        }
        let skip_one = self.can_skip_one();
        let weights = if self.eq_point.is_some() {
            Some(&mut self.eq_rest)
        } else {
            None
        };
        let q = fold_and_round(
            &mut self.tables,
            r,
            weights,
            &self.terms,
            self.product_points,
            skip_one,
        );
        self.current = self.round_from_products(q, skip_one);
    }

    fn final_evals(&self) -> Vec<EF> {
        match &self.tables {
            Tables::Base(m) => m.iter().map(|t| EF::from(t.evals[0])).collect(),
            Tables::Ext(m) => m.iter().map(|t| t.evals[0]).collect(),
            Tables::BaseBound(m, r0) => m.iter().map(|t| t.fix_first(*r0).evals[0]).collect(),
            Tables::Packed(m, _) => m.iter().map(|t| t[0].extract(0)).collect(),
            Tables::Mixed { .. } => self.tables.clone().into_ext().iter().map(|t| t.evals[0]).collect(),
        }
    }
}

/// Round 0: `q(t) = Σ_i w_i · Σ_k c_k · Π_{j∈S_k} P_j(t; i)` for `t = 0..num_points`, where
/// `P_j(t; i) = lo + t·(hi − lo)` on the pair `(tables[j][i], tables[j][i + half])` and `w_i = 1`
/// without weights. Accumulates in `T` (the base field for base tables) when unweighted.
fn round_sums<T>(
    tables: &[&[T]],
    weights: Option<&[EF]>,
    terms: &[Term],
    num_points: usize,
) -> Vec<EF>
where
    T: Field,
    EF: ExtensionField<T>,
{
    let half = tables[0].len() / 2;
    let num_tasks = half.div_ceil(PAIRS_PER_TASK);
    let run = |task: usize| -> Vec<[EF; MAX_POINTS]> {
        let range = task * PAIRS_PER_TASK..((task + 1) * PAIRS_PER_TASK).min(half);
        let mut vals = vec![[T::ZERO; MAX_POINTS]; tables.len()];
        match weights {
            None => {
                let mut acc = vec![[T::ZERO; MAX_POINTS]; terms.len()];
                for i in range {
                    line_values(tables, half, i, num_points, &mut vals);
                    for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
                        for t in 0..num_points {
                            a[t] += term_product(idx, &vals, t);
                        }
                    }
                }
                acc.into_iter().map(|a| a.map(EF::from)).collect()
            }
            Some(w) => {
                let mut acc = vec![[EF::ZERO; MAX_POINTS]; terms.len()];
                for i in range {
                    line_values(tables, half, i, num_points, &mut vals);
                    for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
                        for t in 0..num_points {
                            a[t] += w[i] * term_product(idx, &vals, t);
                        }
                    }
                }
                acc
            }
        }
    };
    let per_term = sum_tasks(half >= PARALLEL_PAIRS, num_tasks, terms.len(), run);
    combine_terms(terms, &per_term, num_points)
}

/// [`round_sums`] on base tables, `LANES` pairs per operation (`LANES` must divide half the
/// table length). Unweighted sums accumulate in packed `F`; weighted ones in packed `EF`.
fn round_sums_packed_base(
    tables: &[&[F]],
    weights: Option<&[EF]>,
    terms: &[Term],
    num_points: usize,
) -> Vec<EF> {
    let packed: Vec<&[PackedF]> = tables.iter().map(|t| PackedF::pack_slice(t)).collect();
    let half = packed[0].len() / 2;
    let chunk = (PAIRS_PER_TASK / LANES).max(1);
    let num_tasks = half.div_ceil(chunk);
    let run = |task: usize| -> Vec<[EF; MAX_POINTS]> {
        let range = task * chunk..((task + 1) * chunk).min(half);
        let mut vals = vec![[PackedF::ZERO; MAX_POINTS]; packed.len()];
        match weights {
            None => {
                let mut acc = vec![[PackedF::ZERO; MAX_POINTS]; terms.len()];
                for k in range {
                    line_values(&packed, half, k, num_points, &mut vals);
                    for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
                        for t in 0..num_points {
                            a[t] += term_product(idx, &vals, t);
                        }
                    }
                }
                acc.iter()
                    .map(|a| a.map(|x| EF::from(x.as_slice().iter().copied().sum::<F>())))
                    .collect()
            }
            Some(w) => {
                let mut acc = vec![[PackedEF::ZERO; MAX_POINTS]; terms.len()];
                for k in range {
                    line_values(&packed, half, k, num_points, &mut vals);
                    let weight = PackedEF::from_ext_slice(&w[k * LANES..(k + 1) * LANES]);
                    for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
                        for t in 0..num_points {
                            a[t] += weight * term_product(idx, &vals, t);
                        }
                    }
                }
                acc.iter()
                    .map(|a| a.map(|x| (0..LANES).map(|lane| x.extract(lane)).sum()))
                    .collect()
            }
        }
    };
    let per_term = sum_tasks(half * LANES >= PARALLEL_PAIRS, num_tasks, terms.len(), run);
    combine_terms(terms, &per_term, num_points)
}

/// The per-term sums of `num_tasks` tasks (`run(task)` gives one task's), on both cores when
/// `parallel`.
fn sum_tasks<R>(parallel: bool, num_tasks: usize, num_terms: usize, run: R) -> Vec<[EF; MAX_POINTS]>
where
    R: Fn(usize) -> Vec<[EF; MAX_POINTS]> + Sync + Send,
{
    if parallel {
        (0..num_tasks).into_par_iter().map(run).par_reduce(|| zero_acc(num_terms), add_acc)
    } else {
        (0..num_tasks).map(run).fold(zero_acc(num_terms), add_acc)
    }
}

fn zero_acc(n: usize) -> Vec<[EF; MAX_POINTS]> {
    vec![[EF::ZERO; MAX_POINTS]; n]
}

fn add_acc(mut a: Vec<[EF; MAX_POINTS]>, b: Vec<[EF; MAX_POINTS]>) -> Vec<[EF; MAX_POINTS]> {
    for (x, y) in a.iter_mut().zip(&b) {
        for t in 0..MAX_POINTS {
            x[t] += y[t];
        }
    }
    a
}

/// `Σ_k c_k · acc_k[t]` for `t = 0..num_points`.
fn combine_terms(terms: &[Term], per_term: &[[EF; MAX_POINTS]], num_points: usize) -> Vec<EF> {
    (0..num_points)
        .map(|t| {
            terms
                .iter()
                .zip(per_term)
                .map(|((c, _), acc)| *c * acc[t])
                .sum()
        })
        .collect()
}

/// Fills `vals[j][0..num_points]` with `P_j(t)` on pair `i`.
#[inline(always)]
fn line_values<T: PrimeCharacteristicRing + Copy>(
    tables: &[&[T]],
    half: usize,
    i: usize,
    num_points: usize,
    vals: &mut [[T; MAX_POINTS]],
) {
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
fn term_product<T: PrimeCharacteristicRing + Copy>(
    idx: &[usize],
    vals: &[[T; MAX_POINTS]],
    t: usize,
) -> T {
    match idx {
        [] => T::ONE,
        [a] => vals[*a][t],
        [a, b] => vals[*a][t] * vals[*b][t],
        [a, b, c] => vals[*a][t] * vals[*b][t] * vals[*c][t],
        [a, rest @ ..] => rest.iter().fold(vals[*a][t], |p, &j| p * vals[j][t]),
    }
}

/// Where one table's next-round pair `(new[i], new[i+q])` comes from, for one chunk of pair
/// indices `i` (`q` = half the bound table).
enum Source<'a> {
    /// First binding, lazily: `new[i] = T[i] + r·(T[i+h] − T[i])` from the base table, not
    /// written anywhere. `lo`/`hi` are the `(i, i+q)` slices of the low and high halves.
    BaseLazy { lo: [&'a [F]; 2], hi: [&'a [F]; 2] },
    /// Second binding straight from the base table: `new[k] = Σ_{a,b} W_ab · T[a·h + b·h/2 + k]`
    /// with `W_ab = eq(r_0, a)·eq(r_1, b)`. `parts[s][2a + b]` is the slice for output `s`.
    BaseTwice {
        parts: [[&'a [F]; 4]; 2],
        weights: [EF; 4],
    },
    /// An extension-field table folded in place: `T[i]`, `T[i+q]` are read from the outputs,
    /// `hi` holds `T[i+h]`, `T[i+h+q]`.
    InPlace { hi: [&'a [EF]; 2] },
}

/// One table's share of one task: `new[i]` goes to `out[0]`, `new[i+q]` to `out[1]` (both empty
/// for [`Source::BaseLazy`]).
struct TableChunk<'a> {
    out: [&'a mut [EF]; 2],
    src: Source<'a>,
}

impl TableChunk<'_> {
    /// The pair `(new[i], new[i+q])`, written to the outputs when there are any.
    #[inline(always)]
    fn fold(&mut self, i: usize, r: EF) -> (EF, EF) {
        match &self.src {
            Source::BaseLazy { lo, hi } => (
                r * (hi[0][i] - lo[0][i]) + lo[0][i],
                r * (hi[1][i] - lo[1][i]) + lo[1][i],
            ),
            Source::BaseTwice { parts, weights } => {
                let [w00, w01, w10, w11] = *weights;
                let fold =
                    |p: &[&[F]; 4]| w00 * p[0][i] + w01 * p[1][i] + w10 * p[2][i] + w11 * p[3][i];
                let (a, b) = (fold(&parts[0]), fold(&parts[1]));
                self.out[0][i] = a;
                self.out[1][i] = b;
                (a, b)
            }
            Source::InPlace { hi } => {
                let (a0, b0) = (self.out[0][i], self.out[1][i]);
                let (a, b) = (a0 + r * (hi[0][i] - a0), b0 + r * (hi[1][i] - b0));
                self.out[0][i] = a;
                self.out[1][i] = b;
                (a, b)
            }
        }
    }
}

/// One task: a range of next-round pairs across every table, and the eq weights for it
/// (`E'[i] = E[i] + E[i+q]`, written in place into the first).
struct Task<'a> {
    len: usize,
    tables: Vec<TableChunk<'a>>,
    weights: Option<(&'a mut [EF], &'a [EF])>,
}

/// Splits `s` into `N` consecutive slices of length `len`.
fn split_n<T, const N: usize>(s: &[T], len: usize) -> [&[T]; N] {
    std::array::from_fn(|k| &s[k * len..(k + 1) * len])
}

/// Binds the current variable of every table to `r` and returns the product part of the next
/// round, `q(0..num_points)` (with `q[1]` left zero when `skip_one`). Also sums the first variable
/// out of `weights` (the eq table). Requires at least two unbound variables.
fn fold_and_round(
    tables: &mut Tables,
    r: EF,
    weights: Option<&mut Vec<EF>>,
    terms: &[Term],
    num_points: usize,
    skip_one: bool,
) -> Vec<EF> {
    if let Tables::Mixed { num_vars, .. } = tables {
        // Both packed bindings of a mixed instance need LANES next-round pairs.
        if *num_vars >= LANES.trailing_zeros() as usize + 2 {
            return fold_and_round_mixed(tables, r, weights, terms, num_points, skip_one);
        }
        *tables = Tables::Ext(std::mem::replace(tables, Tables::Ext(Vec::new())).into_ext());
    }
    let (_, stored) = tables.shape();
    let bound_len = if matches!(tables, Tables::BaseBound(..)) {
        stored / 4
    } else {
        stored / 2
    };
    if let Tables::Ext(m) = tables
        && LANES > 1
        && bound_len / 2 >= PACK_EXT_MIN_PAIRS
    {
        // Large plain extension tables: transpose into SIMD packing once.
        let packed = m
            .iter()
            .map(|t| {
                t.evals
                    .par_chunks(LANES)
                    .map(PackedEF::from_ext_slice)
                    .collect()
            })
            .collect();
        *tables = Tables::Packed(packed, m[0].num_vars);
    }
    let packable = !matches!(tables, Tables::Ext(..));
    if packable && LANES > 1 && bound_len / 2 >= LANES {
        return fold_and_round_packed(tables, r, weights, terms, num_points, skip_one);
    }
    if let Tables::Packed(..) = tables {
        // Too small for SIMD: continue on plain tables.
        *tables = Tables::Ext(std::mem::replace(tables, Tables::Ext(Vec::new())).into_ext());
    }
    let (num_tables, stored) = tables.shape();
    // Length of each table once `r` is bound.
    let bound_len = match tables {
        Tables::BaseBound(..) => stored / 4,
        _ => stored / 2,
    };
    let quarter = bound_len / 2;
    let chunk = if quarter >= PARALLEL_PAIRS {
        PAIRS_PER_TASK
    } else {
        quarter.max(1)
    };
    let num_tasks = quarter.div_ceil(chunk);
    let mut tasks: Vec<Task<'_>> = (0..num_tasks)
        .map(|k| Task {
            len: chunk.min(quarter - k * chunk),
            tables: Vec::with_capacity(num_tables),
            weights: None,
        })
        .collect();

    let mut fresh: Vec<Vec<EF>> = Vec::new();
    let mut next_state = None;
    match tables {
        Tables::Base(m) => {
            for src in m.iter() {
                let lo: [&[F]; 2] = split_n(&src.evals[..bound_len], quarter);
                let hi: [&[F]; 2] = split_n(&src.evals[bound_len..], quarter);
                for (k, task) in tasks.iter_mut().enumerate() {
                    let range = k * chunk..k * chunk + task.len;
                    task.tables.push(TableChunk {
                        out: [&mut [], &mut []],
                        src: Source::BaseLazy {
                            lo: lo.map(|s| &s[range.clone()]),
                            hi: hi.map(|s| &s[range.clone()]),
                        },
                    });
                }
            }
            next_state = Some(r);
        }
        Tables::BaseBound(m, r0) => {
            let (r0, r1) = (*r0, r);
            let weights = [
                (EF::ONE - r0) * (EF::ONE - r1),
                (EF::ONE - r0) * r1,
                r0 * (EF::ONE - r1),
                r0 * r1,
            ];
            fresh = (0..num_tables).map(|_| EF::zero_vec(bound_len)).collect();
            for (src, out) in m.iter().zip(fresh.iter_mut()) {
                // Eight segments of length q: segment 4a + 2b + s feeds output s with weight W_ab.
                let seg: [&[F]; 8] = split_n(&src.evals, quarter);
                let (out_a, out_b) = out.split_at_mut(quarter);
                let outs = out_a.chunks_mut(chunk).zip(out_b.chunks_mut(chunk));
                for (k, (task, (oa, ob))) in tasks.iter_mut().zip(outs).enumerate() {
                    let range = k * chunk..k * chunk + task.len;
                    let parts =
                        [0, 1].map(|s| [0, 2, 4, 6].map(|base| &seg[base + s][range.clone()]));
                    task.tables.push(TableChunk {
                        out: [oa, ob],
                        src: Source::BaseTwice { parts, weights },
                    });
                }
            }
        }
        Tables::Packed(..) | Tables::Mixed { .. } => unreachable!("packed and mixed tables were unpacked above"),
        Tables::Ext(m) => {
            for t in m.iter_mut() {
                let (lo, hi) = t.evals.split_at_mut(bound_len);
                let (out_a, out_b) = lo.split_at_mut(quarter);
                let hi: [&[EF]; 2] = split_n(hi, quarter);
                let outs = out_a.chunks_mut(chunk).zip(out_b.chunks_mut(chunk));
                for (k, (task, (oa, ob))) in tasks.iter_mut().zip(outs).enumerate() {
                    let range = k * chunk..k * chunk + task.len;
                    task.tables.push(TableChunk {
                        out: [oa, ob],
                        src: Source::InPlace {
                            hi: hi.map(|s| &s[range.clone()]),
                        },
                    });
                }
            }
        }
    }
    let mut weights = weights;
    if let Some(w) = weights.as_deref_mut() {
        debug_assert_eq!(w.len(), bound_len);
        let (e_a, e_b) = w.split_at_mut(quarter);
        for (task, (e_a, e_b)) in tasks
            .iter_mut()
            .zip(e_a.chunks_mut(chunk).zip(e_b.chunks(chunk)))
        {
            task.weights = Some((e_a, e_b));
        }
    }

    let run = |mut task: Task<'_>| process_task(&mut task, r, terms, num_points, skip_one);
    let per_term = if num_tasks > 1 {
        tasks
            .into_par_iter()
            .map(run)
            .par_reduce(|| zero_acc(terms.len()), add_acc)
    } else {
        tasks
            .into_iter()
            .map(run)
            .fold(zero_acc(terms.len()), add_acc)
    };

    // Move to the bound state.
    let state = std::mem::replace(tables, Tables::Ext(Vec::new()));
    *tables = match (state, next_state) {
        (Tables::Base(m), Some(r0)) => Tables::BaseBound(m, r0),
        (Tables::BaseBound(..), _) => Tables::Ext(fresh.into_iter().map(Mle::new).collect()),
        (Tables::Ext(mut m), _) => {
            for t in m.iter_mut() {
                t.evals.truncate(bound_len);
                t.num_vars -= 1;
            }
            Tables::Ext(m)
        }
        (other, _) => other,
    };
    if let Some(w) = weights {
        w.truncate(quarter);
    }
    combine_terms(terms, &per_term, num_points)
}

/// The fused kernel on one task: fold, then accumulate the next round's products.
fn process_task(
    task: &mut Task<'_>,
    r: EF,
    terms: &[Term],
    num_points: usize,
    skip_one: bool,
) -> Vec<[EF; MAX_POINTS]> {
    let mut vals = vec![[EF::ZERO; MAX_POINTS]; task.tables.len()];
    let mut acc = zero_acc(terms.len());
    for i in 0..task.len {
        for (v, tc) in vals.iter_mut().zip(task.tables.iter_mut()) {
            let (a, b) = tc.fold(i, r);
            v[0] = a;
            if num_points > 1 {
                v[1] = b;
                let diff = b - a;
                let mut x = b;
                for slot in v.iter_mut().take(num_points).skip(2) {
                    x += diff;
                    *slot = x;
                }
            }
        }
        let weight = match &mut task.weights {
            Some((e_a, e_b)) => {
                e_a[i] += e_b[i];
                Some(e_a[i])
            }
            None => None,
        };
        for ((_, idx), a) in terms.iter().zip(acc.iter_mut()) {
            for t in 0..num_points {
                if skip_one && t == 1 {
                    continue;
                }
                let p = term_product(idx, &vals, t);
                a[t] += match weight {
                    Some(w) => w * p,
                    None => p,
                };
            }
        }
    }
    acc
}

/// [`Source`] for packed tables: each element holds `LANES` consecutive entries.
enum PackedSource<'a> {
    /// First binding, lazily (see [`Source::BaseLazy`]); `r` is broadcast. Nothing is written.
    BaseLazy {
        lo: [&'a [F]; 2],
        hi: [&'a [F]; 2],
        r: &'a PackedEF,
    },
    /// Second binding straight from the base table (see [`Source::BaseTwice`]); the slices hold
    /// `LANES` base entries per output element.
    BaseTwice {
        parts: [[&'a [F]; 4]; 2],
        weights: &'a [PackedEF; 4],
    },
    /// Packed extension table folded in place.
    InPlace { hi: [&'a [PackedEF]; 2] },
}

struct PackedChunk<'a> {
    out: [&'a mut [PackedEF]; 2],
    src: PackedSource<'a>,
}

impl PackedChunk<'_> {
    #[inline(always)]
    fn fold(&mut self, k: usize, r: EF) -> (PackedEF, PackedEF) {
        let (a, b) = match &self.src {
            PackedSource::BaseLazy { lo, hi, r } => {
                let lanes = k * LANES..(k + 1) * LANES;
                let line = |s: usize| {
                    let l = *PackedF::from_slice(&lo[s][lanes.clone()]);
                    let h = *PackedF::from_slice(&hi[s][lanes.clone()]);
                    **r * (h - l) + l
                };
                return (line(0), line(1));
            }
            PackedSource::BaseTwice { parts, weights } => {
                let lanes = k * LANES..(k + 1) * LANES;
                let fold = |p: &[&[F]; 4]| {
                    let mut acc = PackedEF::ZERO;
                    for (w, part) in weights.iter().zip(p) {
                        acc += *w * *PackedF::from_slice(&part[lanes.clone()]);
                    }
                    acc
                };
                (fold(&parts[0]), fold(&parts[1]))
            }
            PackedSource::InPlace { hi } => {
                let (a0, b0) = (self.out[0][k], self.out[1][k]);
                (a0 + (hi[0][k] - a0) * r, b0 + (hi[1][k] - b0) * r)
            }
        };
        self.out[0][k] = a;
        self.out[1][k] = b;
        (a, b)
    }
}

struct PackedTask<'a> {
    /// Packed elements (`LANES` pairs each) in this task.
    len: usize,
    tables: Vec<PackedChunk<'a>>,
    /// Scalar eq weights for the task's `len · LANES` pairs, as in [`Task`].
    weights: Option<(&'a mut [EF], &'a [EF])>,
}

/// [`fold_and_round`] on SIMD-packed tables: the second binding of base tables writes packed
/// extension tables, and later bindings fold them in place, `LANES` entries per operation.
/// Requires `LANES` to divide the next round's number of pairs.
fn fold_and_round_packed(
    tables: &mut Tables,
    r: EF,
    weights: Option<&mut Vec<EF>>,
    terms: &[Term],
    num_points: usize,
    skip_one: bool,
) -> Vec<EF> {
    let (num_tables, stored) = tables.shape();
    let bound_len = if matches!(tables, Tables::BaseBound(..)) {
        stored / 4
    } else {
        stored / 2
    };
    let quarter = bound_len / 2;
    let packed_quarter = quarter / LANES;
    let r_packed = PackedEF::from(r);
    let chunk = if quarter >= PARALLEL_PAIRS {
        (PAIRS_PER_TASK / LANES).max(1)
    } else {
        packed_quarter
    };
    let num_tasks = packed_quarter.div_ceil(chunk);
    // W_ab = eq(r_0, a)·eq(r_1, b) for the second binding of base tables.
    let pair_weights: [PackedEF; 4] = match &*tables {
        Tables::BaseBound(_, r0) => {
            let (r0, r1) = (*r0, r);
            [
                (EF::ONE - r0) * (EF::ONE - r1),
                (EF::ONE - r0) * r1,
                r0 * (EF::ONE - r1),
                r0 * r1,
            ]
            .map(PackedEF::from)
        }
        _ => [PackedEF::ZERO; 4],
    };
    let mut tasks: Vec<PackedTask<'_>> = (0..num_tasks)
        .map(|k| PackedTask {
            len: chunk.min(packed_quarter - k * chunk),
            tables: Vec::with_capacity(num_tables),
            weights: None,
        })
        .collect();
    let mut fresh: Vec<Vec<PackedEF>> = Vec::new();
    match tables {
        Tables::Base(m) => {
            for src in m.iter() {
                let lo: [&[F]; 2] = split_n(&src.evals[..bound_len], quarter);
                let hi: [&[F]; 2] = split_n(&src.evals[bound_len..], quarter);
                for (k, task) in tasks.iter_mut().enumerate() {
                    let range = k * chunk * LANES..(k * chunk + task.len) * LANES;
                    task.tables.push(PackedChunk {
                        out: [&mut [], &mut []],
                        src: PackedSource::BaseLazy {
                            lo: lo.map(|s| &s[range.clone()]),
                            hi: hi.map(|s| &s[range.clone()]),
                            r: &r_packed,
                        },
                    });
                }
            }
        }
        Tables::BaseBound(m, _) => {
            fresh = (0..num_tables)
                .map(|_| PackedEF::zero_vec(bound_len / LANES))
                .collect();
            for (src, out) in m.iter().zip(fresh.iter_mut()) {
                let seg: [&[F]; 8] = split_n(&src.evals, quarter);
                let (out_a, out_b) = out.split_at_mut(packed_quarter);
                let outs = out_a.chunks_mut(chunk).zip(out_b.chunks_mut(chunk));
                for (k, (task, (oa, ob))) in tasks.iter_mut().zip(outs).enumerate() {
                    let range = k * chunk * LANES..(k * chunk + task.len) * LANES;
                    let parts =
                        [0, 1].map(|s| [0, 2, 4, 6].map(|base| &seg[base + s][range.clone()]));
                    task.tables.push(PackedChunk {
                        out: [oa, ob],
                        src: PackedSource::BaseTwice {
                            parts,
                            weights: &pair_weights,
                        },
                    });
                }
            }
        }
        Tables::Packed(m, _) => {
            for t in m.iter_mut() {
                let (lo, hi) = t.split_at_mut(bound_len / LANES);
                let (out_a, out_b) = lo.split_at_mut(packed_quarter);
                let hi: [&[PackedEF]; 2] = split_n(hi, packed_quarter);
                let outs = out_a.chunks_mut(chunk).zip(out_b.chunks_mut(chunk));
                for (k, (task, (oa, ob))) in tasks.iter_mut().zip(outs).enumerate() {
                    let range = k * chunk..k * chunk + task.len;
                    task.tables.push(PackedChunk {
                        out: [oa, ob],
                        src: PackedSource::InPlace {
                            hi: hi.map(|s| &s[range.clone()]),
                        },
                    });
                }
            }
        }
        Tables::Ext(_) | Tables::Mixed { .. } => unreachable!("plain extension and mixed tables take other paths"),
    }
    let mut weights = weights;
    if let Some(w) = weights.as_deref_mut() {
        debug_assert_eq!(w.len(), bound_len);
        let (e_a, e_b) = w.split_at_mut(quarter);
        let scalar_chunk = chunk * LANES;
        for (task, (e_a, e_b)) in tasks
            .iter_mut()
            .zip(e_a.chunks_mut(scalar_chunk).zip(e_b.chunks(scalar_chunk)))
        {
            task.weights = Some((e_a, e_b));
        }
    }

    let plan = ProductPlan::new(terms, num_tables);
    let run =
        |mut task: PackedTask<'_>| process_packed_task(&mut task, r, &plan, num_points, skip_one);
    let per_monomial = if num_tasks > 1 {
        tasks
            .into_par_iter()
            .map(run)
            .par_reduce(|| zero_acc(plan.monomials.len()), add_acc)
    } else {
        tasks
            .into_iter()
            .map(run)
            .fold(zero_acc(plan.monomials.len()), add_acc)
    };
    let per_term = plan.per_term(&per_monomial);

    let state = std::mem::replace(tables, Tables::Ext(Vec::new()));
    *tables = match state {
        Tables::Base(m) => Tables::BaseBound(m, r),
        Tables::BaseBound(..) => Tables::Packed(fresh, bound_len.trailing_zeros() as usize),
        Tables::Packed(mut m, num_vars) => {
            for t in m.iter_mut() {
                t.truncate(bound_len / LANES);
            }
            Tables::Packed(m, num_vars - 1)
        }
        other => other,
    };
    if let Some(w) = weights {
        w.truncate(quarter);
    }
    combine_terms(terms, &per_term, num_points)
}

/// [`round_sums_packed_base`] on mixed tables: each pair's lines are packed `F` for base tables
/// and packed `EF` for extension tables; a term multiplies its base factors in `F` and then its
/// extension factors (the same field values as every factor lifted: products are exact).
fn round_sums_packed_mixed(
    tables: &[MixedTable],
    weights: Option<&[EF]>,
    terms: &[Term],
    num_points: usize,
) -> Vec<EF> {
    let is_ext: Vec<bool> = tables.iter().map(|t| matches!(t, MixedTable::Packed(_))).collect();
    let split: Vec<(Vec<usize>, Vec<usize>)> = terms.iter().map(|(_, idx)| idx.iter().partition(|&&j| !is_ext[j])).collect();
    let half = match &tables[0] {
        MixedTable::Base(m) => m.evals.len() / 2 / LANES,
        MixedTable::Packed(p) => p.len() / 2,
    };
    let chunk = (PAIRS_PER_TASK / LANES).max(1);
    let num_tasks = half.div_ceil(chunk);
    let run = |task: usize| -> Vec<[EF; MAX_POINTS]> {
        let range = task * chunk..((task + 1) * chunk).min(half);
        let mut base = vec![[PackedF::ZERO; MAX_POINTS]; tables.len()];
        let mut ext = vec![[PackedEF::ZERO; MAX_POINTS]; tables.len()];
        let mut acc = vec![[PackedEF::ZERO; MAX_POINTS]; terms.len()];
        for k in range {
            for (j, t) in tables.iter().enumerate() {
                match t {
                    MixedTable::Base(m) => {
                        let lo = *PackedF::from_slice(&m.evals[k * LANES..(k + 1) * LANES]);
                        let hi = *PackedF::from_slice(&m.evals[(half + k) * LANES..(half + k + 1) * LANES]);
                        fill_line(&mut base[j], lo, hi - lo, num_points);
                    }
                    MixedTable::Packed(p) => fill_line(&mut ext[j], p[k], p[half + k] - p[k], num_points),
                }
            }
            let weight = weights.map(|w| PackedEF::from_ext_slice(&w[k * LANES..(k + 1) * LANES]));
            for ((base_idx, ext_idx), a) in split.iter().zip(acc.iter_mut()) {
                for t in 0..num_points {
                    let pb = base_idx.iter().fold(PackedF::ONE, |p, &j| p * base[j][t]);
                    // The base product enters as an extension-by-base product (the same field
                    // value as lifting it first: products are exact).
                    let p = match ext_idx.split_first() {
                        Some((&first, rest)) => rest.iter().fold(ext[first][t] * pb, |p, &j| p * ext[j][t]),
                        None => PackedEF::from(pb),
                    };
                    a[t] += match weight {
                        Some(w) => w * p,
                        None => p,
                    };
                }
            }
        }
        acc.iter()
            .map(|a| a.map(|x| (0..LANES).map(|lane| x.extract(lane)).sum()))
            .collect()
    };
    let per_term = sum_tasks(half * LANES >= PARALLEL_PAIRS, num_tasks, terms.len(), run);
    combine_terms(terms, &per_term, num_points)
}

/// `v[t] = lo + t·diff` for `t = 0..num_points`.
#[inline(always)]
fn fill_line<T: PrimeCharacteristicRing + Copy>(v: &mut [T; MAX_POINTS], lo: T, diff: T, num_points: usize) {
    let mut x = lo;
    v[0] = lo;
    for slot in v.iter_mut().take(num_points).skip(1) {
        x += diff;
        *slot = x;
    }
}

/// [`fold_and_round_packed`] on mixed tables: base tables as [`Tables::Base`] (first binding,
/// lazily) and [`Tables::BaseBound`] (second binding, writing packed `EF`), packed extension
/// tables folded in place; after the second binding every table is packed `EF`. Requires at
/// least `LANES` next-round pairs (checked by the caller).
fn fold_and_round_mixed(
    tables: &mut Tables,
    r: EF,
    weights: Option<&mut Vec<EF>>,
    terms: &[Term],
    num_points: usize,
    skip_one: bool,
) -> Vec<EF> {
    let Tables::Mixed { tables: m, num_vars, r0 } = tables else {
        unreachable!("fold_and_round_mixed on mixed tables only")
    };
    let (num_vars, r0) = (*num_vars, *r0);
    let plan = ProductPlan::new(terms, m.len());
    let bound_len = 1usize << (num_vars - 1);
    let quarter = bound_len / 2;
    let packed_quarter = quarter / LANES;
    let r_packed = PackedEF::from(r);
    let chunk = if quarter >= PARALLEL_PAIRS {
        (PAIRS_PER_TASK / LANES).max(1)
    } else {
        packed_quarter
    };
    let num_tasks = packed_quarter.div_ceil(chunk);
    let pair_weights: [PackedEF; 4] = match r0 {
        Some(r0) => [(EF::ONE - r0) * (EF::ONE - r), (EF::ONE - r0) * r, r0 * (EF::ONE - r), r0 * r].map(PackedEF::from),
        None => [PackedEF::ZERO; 4],
    };
    let mut tasks: Vec<PackedTask<'_>> = (0..num_tasks)
        .map(|k| PackedTask { len: chunk.min(packed_quarter - k * chunk), tables: Vec::with_capacity(m.len()), weights: None })
        .collect();
    // The second binding writes each base table's packed EF table here (table order).
    let mut fresh: Vec<Vec<PackedEF>> = match r0 {
        Some(_) => m.iter().filter(|t| matches!(t, MixedTable::Base(_))).map(|_| PackedEF::zero_vec(bound_len / LANES)).collect(),
        None => Vec::new(),
    };
    let mut fresh_iter = fresh.iter_mut();
    for t in m.iter_mut() {
        match t {
            MixedTable::Base(src) => {
                let src: &Mle<F> = src;
                if r0.is_none() {
                    let lo: [&[F]; 2] = split_n(&src.evals[..bound_len], quarter);
                    let hi: [&[F]; 2] = split_n(&src.evals[bound_len..], quarter);
                    for (k, task) in tasks.iter_mut().enumerate() {
                        let range = k * chunk * LANES..(k * chunk + task.len) * LANES;
                        task.tables.push(PackedChunk {
                            out: [&mut [], &mut []],
                            src: PackedSource::BaseLazy { lo: lo.map(|s| &s[range.clone()]), hi: hi.map(|s| &s[range.clone()]), r: &r_packed },
                        });
                    }
                } else {
                    let out = fresh_iter.next().expect("one fresh table per base table");
                    let seg: [&[F]; 8] = split_n(&src.evals, quarter);
                    let (out_a, out_b) = out.split_at_mut(packed_quarter);
                    let outs = out_a.chunks_mut(chunk).zip(out_b.chunks_mut(chunk));
                    for (k, (task, (oa, ob))) in tasks.iter_mut().zip(outs).enumerate() {
                        let range = k * chunk * LANES..(k * chunk + task.len) * LANES;
                        let parts = [0, 1].map(|s| [0, 2, 4, 6].map(|base| &seg[base + s][range.clone()]));
                        task.tables.push(PackedChunk { out: [oa, ob], src: PackedSource::BaseTwice { parts, weights: &pair_weights } });
                    }
                }
            }
            MixedTable::Packed(p) => {
                let (lo, hi) = p.split_at_mut(bound_len / LANES);
                let (out_a, out_b) = lo.split_at_mut(packed_quarter);
                let hi: [&[PackedEF]; 2] = split_n(hi, packed_quarter);
                let outs = out_a.chunks_mut(chunk).zip(out_b.chunks_mut(chunk));
                for (k, (task, (oa, ob))) in tasks.iter_mut().zip(outs).enumerate() {
                    let range = k * chunk..k * chunk + task.len;
                    task.tables.push(PackedChunk { out: [oa, ob], src: PackedSource::InPlace { hi: hi.map(|s| &s[range.clone()]) } });
                }
            }
        }
    }
    let mut weights = weights;
    if let Some(w) = weights.as_deref_mut() {
        debug_assert_eq!(w.len(), bound_len);
        let (e_a, e_b) = w.split_at_mut(quarter);
        let scalar_chunk = chunk * LANES;
        for (task, (e_a, e_b)) in tasks.iter_mut().zip(e_a.chunks_mut(scalar_chunk).zip(e_b.chunks(scalar_chunk))) {
            task.weights = Some((e_a, e_b));
        }
    }
    let run = |mut task: PackedTask<'_>| process_packed_task(&mut task, r, &plan, num_points, skip_one);
    let per_monomial = if num_tasks > 1 {
        tasks.into_par_iter().map(run).par_reduce(|| zero_acc(plan.monomials.len()), add_acc)
    } else {
        tasks.into_iter().map(run).fold(zero_acc(plan.monomials.len()), add_acc)
    };
    let per_term = plan.per_term(&per_monomial);
    let state = std::mem::replace(tables, Tables::Ext(Vec::new()));
    let Tables::Mixed { tables: mut m, .. } = state else {
        unreachable!("the state was mixed")
    };
    for t in m.iter_mut() {
        if let MixedTable::Packed(p) = t {
            p.truncate(bound_len / LANES);
        }
    }
    *tables = match r0 {
        None => Tables::Mixed { tables: m, num_vars: num_vars - 1, r0: Some(r) },
        Some(_) => {
            let mut fresh = fresh.into_iter();
            let packed = m
                .into_iter()
                .map(|t| match t {
                    MixedTable::Base(_) => fresh.next().unwrap_or_default(),
                    MixedTable::Packed(p) => p,
                })
                .collect();
            Tables::Packed(packed, num_vars - 1)
        }
    };
    if let Some(w) = weights {
        w.truncate(quarter);
    }
    combine_terms(terms, &per_term, num_points)
}

/// The terms' products with shared prefixes: each term's factors sorted by how many terms use
/// them (most first, then by index) and inserted into a trie, so a prefix product common to
/// several terms (`eq·s` of `eq·s·d`, `eq·s·o`, `eq·s`) is one multiplication per pair and point,
/// and terms with the same multiset of factors share one accumulator (their per-term sums are
/// equal). Field products are exact and commutative: the per-term sums are those of
/// [`term_product`] term by term.
pub(crate) struct ProductPlan {
    /// Node `i` is `value(parent)·table[factor]`, or `table[factor]` without a parent; a parent
    /// comes before its children.
    pub(crate) nodes: Vec<(Option<usize>, usize)>,
    /// The node of each distinct monomial (`None`: the empty product, 1).
    pub(crate) monomials: Vec<Option<usize>>,
    /// The monomial of each term.
    term_monomial: Vec<usize>,
}

impl ProductPlan {
    pub(crate) fn new(terms: &[Term], num_tables: usize) -> Self {
        let mut uses = vec![0usize; num_tables];
        for (_, idx) in terms {
            for &j in idx {
                uses[j] += 1;
            }
        }
        let mut nodes: Vec<(Option<usize>, usize)> = Vec::new();
        let mut children: std::collections::HashMap<(Option<usize>, usize), usize> = std::collections::HashMap::new();
        let mut monomials: Vec<Option<usize>> = Vec::new();
        let mut monomial_of: std::collections::HashMap<Option<usize>, usize> = std::collections::HashMap::new();
        let mut term_monomial = Vec::with_capacity(terms.len());
        for (_, idx) in terms {
            let mut factors = idx.clone();
            factors.sort_by_key(|&j| (std::cmp::Reverse(uses[j]), j));
            let mut at: Option<usize> = None;
            for j in factors {
                let next = *children.entry((at, j)).or_insert_with(|| {
                    nodes.push((at, j));
                    nodes.len() - 1
                });
                at = Some(next);
            }
            let m = *monomial_of.entry(at).or_insert_with(|| {
                monomials.push(at);
                monomials.len() - 1
            });
            term_monomial.push(m);
        }
        Self { nodes, monomials, term_monomial }
    }

    /// The per-term sums from the per-monomial ones.
    fn per_term(&self, per_monomial: &[[EF; MAX_POINTS]]) -> Vec<[EF; MAX_POINTS]> {
        self.term_monomial.iter().map(|&m| per_monomial[m]).collect()
    }
}

/// The fused kernel on packed tables; lanes are summed at the end of the task. Returns the sums
/// per monomial of `plan`.
fn process_packed_task(
    task: &mut PackedTask<'_>,
    r: EF,
    plan: &ProductPlan,
    num_points: usize,
    skip_one: bool,
) -> Vec<[EF; MAX_POINTS]> {
    let mut vals = vec![[PackedEF::ZERO; MAX_POINTS]; task.tables.len()];
    let mut node_vals = vec![PackedEF::ZERO; plan.nodes.len()];
    let mut acc = vec![[PackedEF::ZERO; MAX_POINTS]; plan.monomials.len()];
    for k in 0..task.len {
        for (v, tc) in vals.iter_mut().zip(task.tables.iter_mut()) {
            let (a, b) = tc.fold(k, r);
            v[0] = a;
            if num_points > 1 {
                v[1] = b;
                let diff = b - a;
                let mut x = b;
                for slot in v.iter_mut().take(num_points).skip(2) {
                    x += diff;
                    *slot = x;
                }
            }
        }
        let weight = match &mut task.weights {
            Some((e_a, e_b)) => {
                let lanes = k * LANES..(k + 1) * LANES;
                for (x, &y) in e_a[lanes.clone()].iter_mut().zip(&e_b[lanes.clone()]) {
                    *x += y;
                }
                Some(PackedEF::from_ext_slice(&e_a[lanes]))
            }
            None => None,
        };
        for t in 0..num_points {
            if skip_one && t == 1 {
                continue;
            }
            for i in 0..plan.nodes.len() {
                let (parent, j) = plan.nodes[i];
                node_vals[i] = match parent {
                    None => vals[j][t],
                    Some(p) => node_vals[p] * vals[j][t],
                };
            }
            for (m, a) in plan.monomials.iter().zip(acc.iter_mut()) {
                let p = match m {
                    Some(i) => node_vals[*i],
                    None => PackedEF::ONE,
                };
                a[t] += match weight {
                    Some(w) => w * p,
                    None => p,
                };
            }
        }
    }
    acc.iter()
        .map(|a| a.map(|x| (0..LANES).map(|lane| x.extract(lane)).sum()))
        .collect()
}

/// `Σ_k c_k Π_{j∈S_k} values[j]`: the product part of `g` from the final MLE evaluations.
pub fn evaluate_terms(terms: &[Term], values: &[EF]) -> Result<EF, SumcheckError> {
    let mut sum = EF::ZERO;
    for (c, idx) in terms {
        let mut p = *c;
        for &j in idx {
            let v = values.get(j).ok_or(SumcheckError::WrongEvaluationCount {
                expected: j + 1,
                got: values.len(),
            })?;
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
pub fn product_value(
    terms: &[Term],
    eq_point: Option<&[EF]>,
    point: &[EF],
    values: &[EF],
) -> Result<EF, SumcheckError> {
    let products = evaluate_terms(terms, values)?;
    Ok(match eq_point {
        Some(w) => eq_eval(w, point) * products,
        None => products,
    })
}
