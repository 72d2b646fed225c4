//! Dense multilinear polynomials and equality tables.
//!
//! **Variable order (the one convention of zkinfer).** A multilinear polynomial `f` in `n`
//! variables `(x_0, …, x_{n−1})` is stored as its `2^n` evaluations on the Boolean hypercube, at
//! index `i = Σ_k x_k · 2^(n−1−k)`: **`x_0` is the most significant bit of the index.** The first
//! half of the table is `x_0 = 0`, the second half `x_0 = 1`. A row-major tensor of shape `[a, b]`
//! (both padded to powers of two) thus has its row variables first, then its column variables.
//! This is also p3-multilinear-util's convention: its `Poly::eval_base` and
//! `Point::equality_weights_msb` bind coordinate 0 to the most significant index bit (checked by
//! a cross-test against that crate).
//!
//! **Maths.** The multilinear extension of the table `f` is
//! `f(z) = Σ_{x∈{0,1}^n} eq(z, x) · f(x)` with `eq(z, x) = Π_k (z_k x_k + (1 − z_k)(1 − x_k))`.
//! Fixing the first variable to `r` gives the `(n−1)`-variable table
//! `f(r, x') = f(0, x') + r · (f(1, x') − f(0, x'))`, i.e. `new[i] = lo[i] + r·(hi[i] − lo[i])`
//! with `lo`/`hi` the two halves ([`Mle::fix_first`]). The eq table factors as a tensor product,
//! `eq(z, (x_hi, x_lo)) = eq(z_hi, x_hi) · eq(z_lo, x_lo)`, which [`eq_evals`] and
//! [`Mle::evaluate`] use to work in `O(2^n)` with only `O(2^{n/2})` scratch for evaluation.
//!
//! Large tables are processed in parallel with rayon, in chunks, when the `parallel` feature is on
//! (`p3-maybe-rayon`; the provers turn it on, the verifier builds without it).

use p3_maybe_rayon::prelude::*;
use std::ops::{Add, Mul, Sub};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};

/// Tables at least this long are processed in parallel.
const PARALLEL_THRESHOLD: usize = 1 << 13;
/// Elements per rayon task.
const CHUNK: usize = 1 << 12;

/// A multilinear polynomial given by its evaluations on `{0,1}^num_vars` (see the crate docs for
/// the index order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mle<T> {
    /// `evals[i] = f(x)` with `x_0` the most significant bit of `i`.
    pub evals: Vec<T>,
    /// Number of variables; `evals.len() == 1 << num_vars`.
    pub num_vars: usize,
}

impl<T> Mle<T> {
    /// Wraps an evaluation table.
    ///
    /// # Panics
    /// If the length is not a power of two (a programming error: pad first).
    pub fn new(evals: Vec<T>) -> Self {
        assert!(
            evals.len().is_power_of_two(),
            "MLE table length {} is not a power of two",
            evals.len()
        );
        let num_vars = evals.len().trailing_zeros() as usize;
        Self { evals, num_vars }
    }

    /// Number of variables.
    pub fn num_vars(&self) -> usize {
        self.num_vars
    }

    /// Number of evaluations, `2^num_vars`.
    pub fn len(&self) -> usize {
        self.evals.len()
    }

    /// Always false: a table has at least one entry.
    pub fn is_empty(&self) -> bool {
        self.evals.is_empty()
    }
}

impl<T: Copy + Send + Sync + PrimeCharacteristicRing> Mle<T> {
    /// The table `values` padded with zeros to `2^num_vars` entries.
    ///
    /// # Panics
    /// If `values` has more than `2^num_vars` entries.
    pub fn padded(mut values: Vec<T>, num_vars: usize) -> Self {
        let n = 1usize << num_vars;
        assert!(
            values.len() <= n,
            "{} values do not fit in {num_vars} variables",
            values.len()
        );
        values.resize(n, T::ZERO);
        Self {
            evals: values,
            num_vars,
        }
    }
}

impl Mle<F> {
    /// Evaluates the multilinear extension at `point` (length `num_vars`).
    ///
    /// # Panics
    /// If `point.len() != num_vars`.
    pub fn evaluate(&self, point: &[EF]) -> EF {
        evaluate_table(&self.evals, point)
    }

    /// Fixes `x_0 = r`, lifting into the extension field.
    ///
    /// # Panics
    /// If the polynomial has no variables.
    pub fn fix_first(&self, r: EF) -> Mle<EF> {
        assert!(self.num_vars > 0, "cannot fix a variable of a constant");
        let half = self.evals.len() / 2;
        let (lo, hi) = self.evals.split_at(half);
        let fold = |(&l, &h): (&F, &F)| r * (h - l) + l;
        let evals: Vec<EF> = if half >= PARALLEL_THRESHOLD {
            lo.par_iter()
                .zip(hi.par_iter())
                .with_min_len(CHUNK)
                .map(fold)
                .collect()
        } else {
            lo.iter().zip(hi).map(fold).collect()
        };
        Mle {
            evals,
            num_vars: self.num_vars - 1,
        }
    }

    /// Embeds signed integers (each must satisfy `|v| ≤ (p−1)/2`, e.g. any `i32`; larger values
    /// are reduced mod p) and pads with zeros to `2^num_vars` entries.
    ///
    /// # Panics
    /// If `values` has more than `2^num_vars` entries.
    pub fn from_i64_padded(values: &[i64], num_vars: usize) -> Mle<F> {
        Self::padded(
            values.iter().map(|&v| from_i64_unchecked(v)).collect(),
            num_vars,
        )
    }

    /// The same polynomial over the extension field.
    pub fn lift(&self) -> Mle<EF> {
        let evals = if self.evals.len() >= PARALLEL_THRESHOLD {
            self.evals
                .par_iter()
                .with_min_len(CHUNK)
                .map(|&x| EF::from(x))
                .collect()
        } else {
            self.evals.iter().map(|&x| EF::from(x)).collect()
        };
        Mle {
            evals,
            num_vars: self.num_vars,
        }
    }
}

impl Mle<EF> {
    /// Evaluates the multilinear extension at `point` (length `num_vars`).
    ///
    /// # Panics
    /// If `point.len() != num_vars`.
    pub fn evaluate(&self, point: &[EF]) -> EF {
        evaluate_table(&self.evals, point)
    }

    /// Fixes `x_0 = r` in place (the table halves; no allocation).
    ///
    /// # Panics
    /// If the polynomial has no variables.
    pub fn fix_first_in_place(&mut self, r: EF) {
        assert!(self.num_vars > 0, "cannot fix a variable of a constant");
        let half = self.evals.len() / 2;
        let (lo, hi) = self.evals.split_at_mut(half);
        let fold = |(l, &h): (&mut EF, &EF)| *l += r * (h - *l);
        if half >= PARALLEL_THRESHOLD {
            lo.par_iter_mut()
                .zip(hi.par_iter())
                .with_min_len(CHUNK)
                .for_each(fold);
        } else {
            lo.iter_mut().zip(hi.iter()).for_each(fold);
        }
        self.evals.truncate(half);
        self.num_vars -= 1;
    }

    /// Fixes `x_0 = r`, returning a new table.
    pub fn fix_first(&self, r: EF) -> Mle<EF> {
        let mut out = Mle {
            evals: self.evals[..].to_vec(),
            num_vars: self.num_vars,
        };
        out.fix_first_in_place(r);
        out
    }
}

/// `Σ_x eq(point, x) · table[x]`, using `eq(point, x) = eq(point_hi, x_hi) · eq(point_lo, x_lo)`
/// so that only two tables of `~2^{n/2}` entries are built.
fn evaluate_table<T>(table: &[T], point: &[EF]) -> EF
where
    T: Copy + Send + Sync,
    EF: Mul<T, Output = EF>,
{
    let n = point.len();
    assert_eq!(
        table.len(),
        1usize << n,
        "point has {n} coordinates, table has {} entries",
        table.len()
    );
    let (hi_point, lo_point) = point.split_at(n / 2);
    let eq_hi = eq_evals(hi_point);
    let eq_lo = eq_evals(lo_point);
    let block = eq_lo.len();
    let dot = |(row, &w): (&[T], &EF)| -> EF {
        let mut acc = EF::ZERO;
        for (&x, &e) in row.iter().zip(&eq_lo) {
            acc += e * x;
        }
        <EF as Mul<EF>>::mul(w, acc)
    };
    if table.len() >= PARALLEL_THRESHOLD {
        table.par_chunks(block).zip(eq_hi.par_iter()).map(dot).sum()
    } else {
        table.chunks(block).zip(eq_hi.iter()).map(dot).sum()
    }
}

/// The table `eq(point, x)` for all `x ∈ {0,1}^n`, in the crate's index order.
pub fn eq_evals(point: &[EF]) -> Vec<EF> {
    eq_evals_scaled(point, EF::ONE)
}

/// The table `scale · eq(point, x)` for all `x ∈ {0,1}^n`, in the crate's index order.
pub fn eq_evals_scaled(point: &[EF], scale: EF) -> Vec<EF> {
    let n = point.len();
    if n < 14 {
        return eq_evals_sequential(point, scale);
    }
    // eq(point, (x_hi, x_lo)) = eq(point_hi, x_hi) · eq(point_lo, x_lo): an outer product.
    let (hi_point, lo_point) = point.split_at(n / 2);
    let eq_hi = eq_evals_sequential(hi_point, scale);
    let eq_lo = eq_evals_sequential(lo_point, EF::ONE);
    let mut out = EF::zero_vec(1 << n);
    out.par_chunks_mut(eq_lo.len())
        .zip(eq_hi.par_iter())
        .for_each(|(row, &w)| {
            for (o, &e) in row.iter_mut().zip(&eq_lo) {
                *o = w * e;
            }
        });
    out
}

/// Builds the eq table one variable at a time: after processing `x_0..x_k` the table holds the
/// eq table of that prefix; each step splits every entry `e` into `(e·(1−p), e·p)`, which makes
/// the variable processed first the most significant bit.
fn eq_evals_sequential(point: &[EF], scale: EF) -> Vec<EF> {
    let mut table = EF::zero_vec(1 << point.len());
    table[0] = scale;
    for (k, &p) in point.iter().enumerate() {
        let size = 1usize << k;
        for i in (0..size).rev() {
            let v = table[i];
            let upper = v * p;
            table[2 * i + 1] = upper;
            table[2 * i] = v - upper;
        }
    }
    table
}

/// `eq(a, b) = Π_k (a_k b_k + (1 − a_k)(1 − b_k))`.
///
/// # Panics
/// If the lengths differ.
pub fn eq_eval<T>(a: &[T], b: &[T]) -> T
where
    T: Field,
{
    assert_eq!(a.len(), b.len(), "eq of points of different dimension");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let xy = x * y;
            xy.double() - x - y + T::ONE
        })
        .product()
}

/// `ceil(log2(n))`, and `0` for `n ≤ 1`: the number of variables of a table padded from `n`
/// entries.
pub fn next_pow2_vars(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

/// Evaluates the univariate polynomial of degree `< values.len()` that takes `values[t]` at
/// `t = 0, 1, …` at the point `x` (Lagrange interpolation over consecutive integers).
///
/// Used for sumcheck round polynomials sent as evaluations at `0..=d`.
pub fn interpolate_uni<T>(values: &[T], x: T) -> T
where
    T: Field,
{
    let n = values.len();
    if n == 0 {
        return T::ZERO;
    }
    // If x is one of the nodes, return the value directly (avoids dividing by zero).
    for (i, &v) in values.iter().enumerate() {
        if x == T::from_usize(i) {
            return v;
        }
    }
    // L_i(x) = Π_{j≠i} (x − j)/(i − j). With prefix/suffix products of (x − j) and the
    // denominators i!·(n−1−i)!·(−1)^{n−1−i}.
    let diffs: Vec<T> = (0..n).map(|j| x - T::from_usize(j)).collect();
    let mut prefix = vec![T::ONE; n + 1];
    for j in 0..n {
        prefix[j + 1] = prefix[j] * diffs[j];
    }
    let mut suffix = vec![T::ONE; n + 1];
    for j in (0..n).rev() {
        suffix[j] = suffix[j + 1] * diffs[j];
    }
    let mut factorial = vec![T::ONE; n];
    for i in 1..n {
        factorial[i] = factorial[i - 1] * T::from_usize(i);
    }
    let mut acc = T::ZERO;
    for i in 0..n {
        let mut denom = factorial[i] * factorial[n - 1 - i];
        if (n - 1 - i) % 2 == 1 {
            denom = -denom;
        }
        // Denominators are products of integers < n < p, never zero.
        acc += values[i] * prefix[i] * suffix[i + 1] * denom.inverse();
    }
    acc
}

/// Generic helpers the sumcheck crates share: `lo + t·(hi − lo)` for `t = 0..len`.
pub fn extrapolate_line<T>(lo: T, hi: T, out: &mut [T])
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    let diff = hi - lo;
    let mut v = lo;
    for o in out.iter_mut() {
        *o = v;
        v = v + diff;
    }
}

#[cfg(test)]
mod tests;

/// `reduce(identity, op)` on a parallel iterator that builds with and without the `parallel`
/// feature (`p3-maybe-rayon`): rayon's reduction with it, a serial fold without. `op` must be
/// associative with `identity()` neutral (the number of partial results depends on the pool).
pub trait ParReduce: p3_maybe_rayon::prelude::ParallelIterator + Sized
where
    Self::Item: Send,
{
    /// The reduction of every item with `op`, starting from `identity()`.
    fn par_reduce<Id, Op>(self, identity: Id, op: Op) -> Self::Item
    where
        Id: Fn() -> Self::Item + Sync + Send,
        Op: Fn(Self::Item, Self::Item) -> Self::Item + Sync + Send + Copy,
    {
        use p3_maybe_rayon::prelude::SharedExt;
        self.par_fold_reduce(identity, op, op)
    }
}

impl<I: p3_maybe_rayon::prelude::ParallelIterator> ParReduce for I where I::Item: Send {}
