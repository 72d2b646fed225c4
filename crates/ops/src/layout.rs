//! The padded multilinear layout of a tensor.
//!
//! A tensor of shape `[d_0, …, d_{k−1}]` (row-major) is the multilinear polynomial whose table has
//! every dimension padded with zeros to a power of two: element `(i_0, …, i_{k−1})` sits at index
//! `i_0 ‖ i_1 ‖ … ‖ i_{k−1}` (each `i_j` written with `v_j = ceil(log2 d_j)` bits, MSB first), so
//! the point of a tensor MLE is the concatenation of one block of `v_j` coordinates per dimension,
//! outermost first. Splitting or merging power-of-two dimensions is therefore a relabelling of
//! variables.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::{EF, F, from_i64_unchecked};
use zkinfer_poly::next_pow2_vars;

/// Below this many elements padding runs sequentially.
const PARALLEL_PAD: usize = 1 << 14;

/// The padded layout of one tensor shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorLayout {
    dims: Vec<usize>,
    vars: Vec<usize>,
}

impl TensorLayout {
    /// The layout of a tensor of shape `dims`.
    pub fn new(dims: &[usize]) -> Self {
        Self { dims: dims.to_vec(), vars: dims.iter().map(|&d| next_pow2_vars(d)).collect() }
    }

    /// The logical shape.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Number of variables of each dimension.
    pub fn dim_vars(&self) -> &[usize] {
        &self.vars
    }

    /// Total number of variables.
    pub fn num_vars(&self) -> usize {
        self.vars.iter().sum()
    }

    /// Number of logical elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// True if some dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the padded table, `2^num_vars`.
    pub fn padded_len(&self) -> usize {
        1 << self.num_vars()
    }

    /// Offset of dimension `dim`'s first coordinate within a point.
    pub fn var_offset(&self, dim: usize) -> usize {
        self.vars[..dim].iter().sum()
    }

    /// Splits a point of this tensor into one block of coordinates per dimension.
    ///
    /// # Panics
    /// If `point.len() != num_vars()` (a programming error).
    pub fn split_point<'p>(&self, point: &'p [EF]) -> Vec<&'p [EF]> {
        assert_eq!(point.len(), self.num_vars(), "point of wrong dimension for tensor {:?}", self.dims);
        let mut out = Vec::with_capacity(self.vars.len());
        let mut rest = point;
        for &v in &self.vars {
            let (head, tail) = rest.split_at(v);
            out.push(head);
            rest = tail;
        }
        out
    }

    /// Index in the padded table of the element with logical index `idx`.
    pub fn padded_index(&self, idx: &[usize]) -> usize {
        idx.iter().zip(&self.vars).fold(0usize, |acc, (&i, &v)| (acc << v) | i)
    }

    /// True if entry `padded` of the padded table lies in the logical extent (every coordinate
    /// below its dimension), false on the padding.
    pub fn in_extent(&self, mut padded: usize) -> bool {
        for (&d, &v) in self.dims.iter().zip(&self.vars).rev() {
            if padded & ((1usize << v) - 1) >= d {
                return false;
            }
            padded >>= v;
        }
        true
    }

    /// The logical row (row-major over all but the last dimension) stored in padded block `block`
    /// (blocks of `2^v_last` entries), or `None` if the block is padding.
    fn logical_row_of_block(&self, mut block: usize) -> Option<usize> {
        let k = self.dims.len();
        let mut row = 0usize;
        let mut radix = 1usize;
        for j in (0..k.saturating_sub(1)).rev() {
            let i = block & ((1usize << self.vars[j]) - 1);
            block >>= self.vars[j];
            if i >= self.dims[j] {
                return None;
            }
            row += i * radix;
            radix *= self.dims[j];
        }
        Some(row)
    }

    /// Embeds row-major logical values into the zero-padded table, converting each with `conv`.
    ///
    /// # Panics
    /// If `values.len() != len()` (a programming error: the caller checks shapes).
    pub fn pad_with<T: Copy + Sync>(&self, values: &[T], conv: impl Fn(T) -> F + Sync) -> Vec<F> {
        assert_eq!(values.len(), self.len(), "tensor of shape {:?} given {} values", self.dims, values.len());
        let row_len = self.dims.last().copied().unwrap_or(1);
        let padded_row = 1usize << self.vars.last().copied().unwrap_or(0);
        let mut out = vec![F::default(); self.padded_len()];
        if self.is_empty() {
            return out;
        }
        let fill = |(block, dst): (usize, &mut [F])| {
            if let Some(r) = self.logical_row_of_block(block) {
                for (o, &v) in dst.iter_mut().zip(&values[r * row_len..(r + 1) * row_len]) {
                    *o = conv(v);
                }
            }
        };
        if self.len() >= PARALLEL_PAD {
            out.par_chunks_mut(padded_row).enumerate().for_each(fill);
        } else {
            out.chunks_mut(padded_row).enumerate().for_each(fill);
        }
        out
    }

    /// Embeds row-major signed integers into the zero-padded table.
    pub fn pad_i64(&self, values: &[i64]) -> Vec<F> {
        self.pad_with(values, from_i64_unchecked)
    }

    /// Evaluates the tensor's MLE at `point` from its logical values.
    pub fn evaluate_i64(&self, values: &[i64], point: &[EF]) -> EF {
        zkinfer_poly::Mle::new(self.pad_i64(values)).evaluate(point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::PrimeCharacteristicRing;

    #[test]
    fn padding_places_elements_at_concatenated_indices() {
        let l = TensorLayout::new(&[3, 5, 3]);
        assert_eq!(l.dim_vars(), &[2, 3, 2]);
        let values: Vec<i64> = (1..=45).collect();
        let padded = l.pad_i64(&values);
        assert_eq!(padded.len(), 128);
        let mut nonzero = 0;
        for a in 0..3 {
            for b in 0..5 {
                for c in 0..3 {
                    let v = values[(a * 5 + b) * 3 + c];
                    assert_eq!(padded[l.padded_index(&[a, b, c])], F::from_u64(v as u64));
                    nonzero += 1;
                }
            }
        }
        assert_eq!(padded.iter().filter(|x| **x != F::ZERO).count(), nonzero);
    }

    #[test]
    fn parallel_and_sequential_padding_agree() {
        let l = TensorLayout::new(&[7, 3000]);
        let values: Vec<i64> = (0..21000).map(|i| i * 7 - 5).collect();
        let padded = l.pad_i64(&values);
        for r in 0..7 {
            for c in [0usize, 1, 2999] {
                assert_eq!(padded[l.padded_index(&[r, c])], from_i64_unchecked(values[r * 3000 + c]));
            }
        }
        assert_eq!(padded[l.padded_index(&[6, 3000])], F::ZERO);
    }
}
