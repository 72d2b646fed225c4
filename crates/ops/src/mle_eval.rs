//! MLE evaluations and row/column folds of borrowed tables (no copies of large columns).

use p3_maybe_rayon::prelude::*;
use zkinfer_poly::ParReduce;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::eq_evals;

/// Tables at least this long are processed in parallel.
pub const PARALLEL_MIN: usize = 1 << 13;

/// `Σ_x eq(point, x)·values[x]`: the MLE of a borrowed base-field table at `point`.
///
/// Uses `eq(point, (hi, lo)) = eq(point_hi, hi)·eq(point_lo, lo)`, so scratch is `O(√n)`.
///
/// # Panics
/// If `values.len() != 2^point.len()` (a programming error).
pub fn evaluate_slice(values: &[F], point: &[EF]) -> EF {
    assert_eq!(values.len(), 1usize << point.len(), "table/point size mismatch");
    let (hi, lo) = point.split_at(point.len() / 2);
    let eq_hi = eq_evals(hi);
    let eq_lo = eq_evals(lo);
    let block = eq_lo.len();
    let dot = |(chunk, &w): (&[F], &EF)| -> EF {
        let mut acc = EF::ZERO;
        for (&v, &e) in chunk.iter().zip(&eq_lo) {
            acc += e * v;
        }
        acc * w
    };
    if values.len() >= PARALLEL_MIN {
        values.par_chunks(block).zip(eq_hi.par_iter()).map(dot).sum()
    } else {
        values.chunks(block).zip(eq_hi.iter()).map(dot).sum()
    }
}

/// `Σ_{i < len} eq(point, i)`: the MLE of the indicator of the first `len` indices (MSB-first),
/// in `O(point.len())`.
pub fn prefix_indicator(point: &[EF], len: usize) -> EF {
    let n = point.len();
    if len >= (1usize << n) {
        return EF::ONE;
    }
    if len == 0 {
        return EF::ZERO;
    }
    let half = 1usize << (n - 1);
    let (p0, rest) = (point[0], &point[1..]);
    if len <= half {
        (EF::ONE - p0) * prefix_indicator(rest, len)
    } else {
        (EF::ONE - p0) + p0 * prefix_indicator(rest, len - half)
    }
}

/// `eq(point, bits(index))` for an index below `2^point.len()` (MSB-first), in `O(point.len())`.
pub fn eq_at_index(point: &[EF], index: usize) -> EF {
    let n = point.len();
    point
        .iter()
        .enumerate()
        .map(|(k, &p)| if (index >> (n - 1 - k)) & 1 == 1 { p } else { EF::ONE - p })
        .product()
}

/// Rows of a row-major integer matrix folded against weights: `out[c] = Σ_{r<rows} w[r]·M[r, c]`,
/// zero-padded to `2^out_vars`. `get(i)` reads element `i` of the matrix. Parallel over blocks of
/// rows, base-field × extension products only.
pub fn fold_rows(get: impl Fn(usize) -> F + Sync, rows: usize, cols: usize, w: &[EF], out_vars: usize) -> Vec<EF> {
    const ROWS_PER_TASK: usize = 32;
    let mut out = if rows * cols >= PARALLEL_MIN {
        (0..rows.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|task| {
                let mut acc = vec![EF::ZERO; cols];
                for r in task * ROWS_PER_TASK..((task + 1) * ROWS_PER_TASK).min(rows) {
                    let wr = w[r];
                    let base = r * cols;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += wr * get(base + c);
                    }
                }
                acc
            })
            .par_reduce(
                || vec![EF::ZERO; cols],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    a
                },
            )
    } else {
        let mut acc = vec![EF::ZERO; cols];
        for r in 0..rows {
            for (c, a) in acc.iter_mut().enumerate() {
                *a += w[r] * get(r * cols + c);
            }
        }
        acc
    };
    out.resize(1 << out_vars, EF::ZERO);
    out
}

/// Columns of a row-major integer matrix folded against weights: `out[r] = Σ_{c<cols} M[r, c]·w[c]`,
/// zero-padded to `2^out_vars`. Parallel over rows.
pub fn fold_cols(get: impl Fn(usize) -> F + Sync, rows: usize, cols: usize, w: &[EF], out_vars: usize) -> Vec<EF> {
    let row = |r: usize| -> EF {
        let base = r * cols;
        let mut acc = EF::ZERO;
        for (c, &wc) in w[..cols].iter().enumerate() {
            acc += wc * get(base + c);
        }
        acc
    };
    let mut out: Vec<EF> =
        if rows * cols >= PARALLEL_MIN { (0..rows).into_par_iter().with_min_len(8).map(row).collect() } else { (0..rows).map(row).collect() };
    out.resize(1 << out_vars, EF::ZERO);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_poly::eq_eval;

    fn pt(n: usize, seed: u64) -> Vec<EF> {
        (0..n).map(|i| EF::from(F::from_u64(seed * 1000 + i as u64 * 7 + 3))).collect()
    }

    #[test]
    fn prefix_indicator_matches_sum_of_eqs() {
        let p = pt(5, 1);
        let eq = eq_evals(&p);
        for len in 0..=32 {
            let direct: EF = eq[..len].iter().copied().sum();
            assert_eq!(prefix_indicator(&p, len), direct, "len {len}");
        }
    }

    #[test]
    fn eq_at_index_matches_table() {
        let p = pt(4, 2);
        let eq = eq_evals(&p);
        for i in 0..16 {
            assert_eq!(eq_at_index(&p, i), eq[i]);
            let bits: Vec<EF> = (0..4).map(|k| EF::from(F::from_u64(((i >> (3 - k)) & 1) as u64))).collect();
            assert_eq!(eq_eval(&p, &bits), eq[i]);
        }
    }

    #[test]
    fn folds_match_naive_products() {
        let (rows, cols) = (150, 70);
        let m: Vec<i64> = (0..rows * cols).map(|i| (i as i64 * 37) % 101 - 50).collect();
        let get = |i: usize| zkinfer_field::from_i64_unchecked(m[i]);
        let wr: Vec<EF> = (0..rows).map(|i| EF::from(F::from_u64(i as u64 + 5))).collect();
        let wc: Vec<EF> = (0..cols).map(|i| EF::from(F::from_u64(3 * i as u64 + 1))).collect();
        let fr = fold_rows(get, rows, cols, &wr, 7);
        let fc = fold_cols(get, rows, cols, &wc, 8);
        for c in 0..cols {
            let naive: EF = (0..rows).map(|r| wr[r] * get(r * cols + c)).sum();
            assert_eq!(fr[c], naive);
        }
        assert!(fr[cols..].iter().all(|x| *x == EF::ZERO));
        for r in 0..rows {
            let naive: EF = (0..cols).map(|c| wc[c] * get(r * cols + c)).sum();
            assert_eq!(fc[r], naive);
        }
    }
}

/// Integer fast path of the folds: an extension element is `Σ_j c_j·e_j` over the basis of `EF/F`,
/// so `Σ_r w_r·M[r, c] = Σ_j e_j·(Σ_r c_j(w_r)·M[r, c])`, where the inner sums are computed exactly
/// in `i128` (canonical `c_j < 2^64`, `|M| < 2^40`, at most `2^20` terms: `< 2^124`) and reduced
/// once. No field multiplication in the inner loop.
mod int_fold {
    use super::*;
    use p3_field::{BasedVectorSpace, PrimeField64};
    use zkinfer_field::P;

    /// Largest magnitude of a matrix entry for the integer path.
    pub const MAX_ENTRY_BITS: u32 = 40;
    /// Most terms in one integer sum.
    pub const MAX_TERMS: usize = 1 << 20;

    pub fn coeffs(w: EF) -> [i128; 3] {
        let c: &[F] = <EF as BasedVectorSpace<F>>::as_basis_coefficients_slice(&w);
        [c[0].as_canonical_u64() as i128, c[1].as_canonical_u64() as i128, c[2].as_canonical_u64() as i128]
    }

    fn reduce(x: i128) -> F {
        let m = (x.unsigned_abs() % P as u128) as u64;
        let f = F::from_u64(m);
        if x < 0 { -f } else { f }
    }

    pub fn to_ef(acc: [i128; 3]) -> EF {
        <EF as BasedVectorSpace<F>>::from_basis_coefficients_fn(|j| reduce(acc[j]))
    }
}

/// A row-major integer matrix for the folds.
#[derive(Debug, Clone, Copy)]
pub enum IntMatrix<'a> {
    /// `i16` entries.
    I16(&'a [i16]),
    /// `i64` entries.
    I64(&'a [i64]),
}

impl IntMatrix<'_> {
    #[inline]
    fn get(&self, i: usize) -> i64 {
        match self {
            IntMatrix::I16(v) => v[i] as i64,
            IntMatrix::I64(v) => v[i],
        }
    }
    /// Whether every entry has magnitude below `2^MAX_ENTRY_BITS`.
    fn small(&self) -> bool {
        match self {
            IntMatrix::I16(_) => true,
            IntMatrix::I64(v) => v.iter().all(|x| x.unsigned_abs() < 1u64 << int_fold::MAX_ENTRY_BITS),
        }
    }
}

/// [`fold_rows`] of an integer matrix, exact-integer inner loop when the entries are small.
pub fn fold_rows_int(m: IntMatrix<'_>, rows: usize, cols: usize, w: &[EF], out_vars: usize) -> Vec<EF> {
    if rows > int_fold::MAX_TERMS || !m.small() {
        return fold_rows(|i| from_i64_unchecked(m.get(i)), rows, cols, w, out_vars);
    }
    const ROWS_PER_TASK: usize = 64;
    let task = |t: usize| -> Vec<[i128; 3]> {
        let mut acc = vec![[0i128; 3]; cols];
        for r in t * ROWS_PER_TASK..((t + 1) * ROWS_PER_TASK).min(rows) {
            let c = int_fold::coeffs(w[r]);
            let base = r * cols;
            match m {
                IntMatrix::I16(v) => {
                    for (a, &x) in acc.iter_mut().zip(&v[base..base + cols]) {
                        let x = x as i128;
                        a[0] += c[0] * x;
                        a[1] += c[1] * x;
                        a[2] += c[2] * x;
                    }
                }
                IntMatrix::I64(v) => {
                    for (a, &x) in acc.iter_mut().zip(&v[base..base + cols]) {
                        let x = x as i128;
                        a[0] += c[0] * x;
                        a[1] += c[1] * x;
                        a[2] += c[2] * x;
                    }
                }
            }
        }
        acc
    };
    let tasks = rows.div_ceil(ROWS_PER_TASK);
    let sum = |mut a: Vec<[i128; 3]>, b: Vec<[i128; 3]>| {
        for (x, y) in a.iter_mut().zip(b) {
            for j in 0..3 {
                x[j] += y[j];
            }
        }
        a
    };
    let acc = if rows * cols >= PARALLEL_MIN {
        (0..tasks).into_par_iter().map(task).par_reduce(|| vec![[0i128; 3]; cols], sum)
    } else {
        (0..tasks).map(task).fold(vec![[0i128; 3]; cols], sum)
    };
    let mut out: Vec<EF> = acc.into_iter().map(int_fold::to_ef).collect();
    out.resize(1 << out_vars, EF::ZERO);
    out
}

/// [`fold_cols`] of an integer matrix, exact-integer inner loop when the entries are small.
pub fn fold_cols_int(m: IntMatrix<'_>, rows: usize, cols: usize, w: &[EF], out_vars: usize) -> Vec<EF> {
    if cols > int_fold::MAX_TERMS || !m.small() {
        return fold_cols(|i| from_i64_unchecked(m.get(i)), rows, cols, w, out_vars);
    }
    let coeffs: Vec<[i128; 3]> = w[..cols].iter().map(|&x| int_fold::coeffs(x)).collect();
    let row = |r: usize| -> EF {
        let base = r * cols;
        let mut a = [0i128; 3];
        match m {
            IntMatrix::I16(v) => {
                for (c, &x) in coeffs.iter().zip(&v[base..base + cols]) {
                    let x = x as i128;
                    a[0] += c[0] * x;
                    a[1] += c[1] * x;
                    a[2] += c[2] * x;
                }
            }
            IntMatrix::I64(v) => {
                for (c, &x) in coeffs.iter().zip(&v[base..base + cols]) {
                    let x = x as i128;
                    a[0] += c[0] * x;
                    a[1] += c[1] * x;
                    a[2] += c[2] * x;
                }
            }
        }
        int_fold::to_ef(a)
    };
    let mut out: Vec<EF> =
        if rows * cols >= PARALLEL_MIN { (0..rows).into_par_iter().with_min_len(16).map(row).collect() } else { (0..rows).map(row).collect() };
    out.resize(1 << out_vars, EF::ZERO);
    out
}

#[cfg(test)]
mod int_fold_tests {
    use super::*;
    use p3_field::BasedVectorSpace;

    #[test]
    fn integer_folds_equal_field_folds() {
        let (rows, cols) = (300, 90);
        let m16: Vec<i16> = (0..rows * cols).map(|i| ((i as i64 * 7919) % 65535 - 32767) as i16).collect();
        let m64: Vec<i64> = (0..rows * cols).map(|i| (i as i64 * 1_000_003) % (1 << 39) - (1 << 38)).collect();
        let big: Vec<i64> = (0..rows * cols).map(|i| (i as i64) << 45).collect();
        let wr: Vec<EF> = (0..rows).map(|i| EF::from(F::from_u64(u64::MAX - i as u64 * 977)) * EF::from_basis_coefficients_fn(|j| F::from_u64(j as u64 + 1))).collect();
        let wc: Vec<EF> = (0..cols).map(|i| EF::from_basis_coefficients_fn(|j| F::from_u64((i * 31 + j) as u64 + u64::MAX / 3))).collect();
        for m in [IntMatrix::I16(&m16), IntMatrix::I64(&m64), IntMatrix::I64(&big)] {
            let get = |i: usize| from_i64_unchecked(m.get(i));
            assert_eq!(fold_rows_int(m, rows, cols, &wr, 7), fold_rows(get, rows, cols, &wr, 7));
            assert_eq!(fold_cols_int(m, rows, cols, &wc, 9), fold_cols(get, rows, cols, &wc, 9));
        }
    }
}
