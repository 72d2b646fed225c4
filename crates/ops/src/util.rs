//! Small numeric helpers on borrowed tables (no copies of large columns).

use rayon::prelude::*;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
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

/// `Σ_x eq(point, x)·values[x]` for an extension-field table.
pub fn evaluate_slice_ext(values: &[EF], point: &[EF]) -> EF {
    assert_eq!(values.len(), 1usize << point.len(), "table/point size mismatch");
    let eq = eq_evals(point);
    if values.len() >= PARALLEL_MIN {
        values.par_iter().zip(eq.par_iter()).map(|(&v, &e)| v * e).sum()
    } else {
        values.iter().zip(&eq).map(|(&v, &e)| v * e).sum()
    }
}

/// The MLE of the constant-one table is 1 everywhere; the MLE of `[1, 0, 0, …]` (the indicator of
/// index 0) at `point` is `Π (1 − p_k)`.
pub fn eq_zero(point: &[EF]) -> EF {
    point.iter().map(|&p| EF::ONE - p).product()
}
