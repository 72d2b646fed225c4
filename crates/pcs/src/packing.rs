//! Packing a batch of multilinear polynomials of different sizes into ONE polynomial.
//!
//! Polynomial `k` has `m_k` variables. Sort the batch by `m_k`, largest first (ties keep their
//! batch order), and lay the evaluation vectors back to back. Because sizes are non-increasing
//! powers of two, each offset `o_k` is a multiple of `2^{m_k}`: poly `k` fills the aligned slot
//! `[o_k, o_k + 2^{m_k})`. The concatenation is zero-padded to `2^n`, `n = max(⌈log2 Σ 2^{m_k}⌉,
//! MIN_NUM_VARS)`, and read as a multilinear polynomial `P` in `n` variables (x_0 = MSB).
//!
//! With `s_k = o_k / 2^{m_k}` written in `n − m_k` bits (MSB first), slot alignment gives
//!
//! ```text
//!   P(s_k, y) = P_k(y)          for y ∈ {0,1}^{m_k}
//! ```
//!
//! hence, by multilinearity, `P_k(z) = P(s_k, z)` for every `z ∈ EF^{m_k}`: a claim on poly `k`
//! is a claim on `P` at a point whose first `n − m_k` coordinates are the boolean selector bits.
//! Example, sizes (4, 3, 2) variables: `P_1(y) = P(0, y)`, `P_2(y) = P(1, 0, y)`,
//! `P_3(y) = P(1, 1, 0, y)`; the last quarter of the `2^5` entries is padding.

use serde::{Deserialize, Serialize};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};

use crate::PcsError;
use crate::whir::{MAX_NUM_VARS, MIN_NUM_VARS};

/// Where each polynomial of a committed batch lives inside the packed polynomial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedLayout {
    /// Number of variables of each polynomial, in batch order.
    poly_num_vars: Vec<usize>,
    /// Offset of each polynomial's slot, in batch order.
    offsets: Vec<usize>,
    /// Number of variables of the packed polynomial.
    num_vars: usize,
}

impl PackedLayout {
    /// Plans the layout of polynomials with the given numbers of variables.
    pub fn new(poly_num_vars: &[usize]) -> Result<Self, PcsError> {
        Self::with_min_vars(poly_num_vars, MIN_NUM_VARS)
    }

    /// As [`PackedLayout::new`], padding to at least `2^min_vars` entries (the hiding
    /// commitment needs room for its encoding randomness).
    pub fn with_min_vars(poly_num_vars: &[usize], min_vars: usize) -> Result<Self, PcsError> {
        if poly_num_vars.is_empty() {
            return Err(PcsError::Config("cannot commit to an empty batch".into()));
        }
        if let Some(&m) = poly_num_vars.iter().find(|&&m| m > MAX_NUM_VARS) {
            return Err(PcsError::Config(format!("polynomial with {m} variables is too large")));
        }
        let mut order: Vec<usize> = (0..poly_num_vars.len()).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(poly_num_vars[k]));
        let mut offsets = vec![0usize; poly_num_vars.len()];
        let mut next: u128 = 0;
        for &k in &order {
            offsets[k] = usize::try_from(next)
                .map_err(|_| PcsError::Config("packed polynomial too large".into()))?;
            next += 1u128 << poly_num_vars[k];
        }
        let total_vars = if next <= 1 { 0 } else { (128 - (next - 1).leading_zeros()) as usize };
        let num_vars = total_vars.max(min_vars).max(MIN_NUM_VARS);
        if num_vars > MAX_NUM_VARS {
            return Err(PcsError::Config(format!(
                "packed polynomial needs 2^{num_vars} entries, above the 2^{MAX_NUM_VARS} limit"
            )));
        }
        Ok(Self { poly_num_vars: poly_num_vars.to_vec(), offsets, num_vars })
    }

    /// Number of variables of the packed polynomial.
    pub fn num_vars(&self) -> usize {
        self.num_vars
    }

    /// Number of polynomials in the batch.
    pub fn num_polys(&self) -> usize {
        self.poly_num_vars.len()
    }

    /// Number of variables of polynomial `k`, if it exists.
    pub fn poly_num_vars(&self, k: usize) -> Option<usize> {
        self.poly_num_vars.get(k).copied()
    }

    /// All polynomials' numbers of variables, in batch order.
    pub fn all_poly_num_vars(&self) -> &[usize] {
        &self.poly_num_vars
    }

    /// Offset of polynomial `k`'s slot in the packed evaluation vector.
    pub fn offset(&self, k: usize) -> usize {
        self.offsets[k]
    }

    /// The selector bits `s_k` of polynomial `k` (MSB first, `n − m_k` of them).
    pub fn selector_bits(&self, k: usize) -> impl Iterator<Item = bool> + '_ {
        let m = self.poly_num_vars[k];
        let sel = self.offsets[k] >> m;
        let width = self.num_vars - m;
        (0..width).map(move |i| (sel >> (width - 1 - i)) & 1 == 1)
    }

    /// The point of the packed polynomial at which it equals `P_k(local)`.
    pub fn lift_point(&self, k: usize, local: &[EF]) -> Vec<EF> {
        let mut point: Vec<EF> =
            self.selector_bits(k).map(|b| if b { EF::ONE } else { EF::ZERO }).collect();
        point.extend_from_slice(local);
        point
    }

    /// `eq(s_k, r_{0..n−m_k})`: the selector part of the lifted eq weight at `r`.
    pub fn selector_eq(&self, k: usize, r: &[EF]) -> EF {
        self.selector_bits(k)
            .zip(r)
            .map(|(b, &ri)| if b { ri } else { EF::ONE - ri })
            .product()
    }

    /// Writes every polynomial into its slot of a fresh zero vector of length `2^n`.
    /// `polys[k]` must have `2^{m_k}` evaluations (checked).
    pub fn pack(&self, polys: &[&[F]]) -> Result<Vec<F>, PcsError> {
        if polys.len() != self.poly_num_vars.len() {
            return Err(PcsError::Config("batch size differs from the layout".into()));
        }
        for (k, p) in polys.iter().enumerate() {
            if p.len() != 1usize << self.poly_num_vars[k] {
                return Err(PcsError::Config(format!("polynomial {k} has the wrong length")));
            }
        }
        let mut packed = vec![F::ZERO; 1usize << self.num_vars];
        for (k, p) in polys.iter().enumerate() {
            packed[self.offsets[k]..self.offsets[k] + p.len()].copy_from_slice(p);
        }
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_disjoint_and_sorted_by_size() {
        let layout = PackedLayout::new(&[3, 10, 3, 9, 0]).expect("layout");
        assert_eq!(layout.num_vars(), 11);
        assert_eq!(layout.offset(1), 0);
        assert_eq!(layout.offset(3), 1024);
        assert_eq!(layout.offset(0), 1536);
        assert_eq!(layout.offset(2), 1544);
        assert_eq!(layout.offset(4), 1552);
        for k in 0..5 {
            let m = layout.poly_num_vars(k).expect("exists");
            assert_eq!(layout.offset(k) % (1 << m), 0);
        }
        // Selector of poly 3 (9 vars at 1024): 2 bits "10".
        assert_eq!(layout.selector_bits(3).collect::<Vec<_>>(), vec![true, false]);
    }

    #[test]
    fn lifted_point_reads_the_slot() {
        let layout = PackedLayout::new(&[1, 2]).expect("layout");
        let a: Vec<F> = [5u64, 7].map(F::from_u64).to_vec();
        let b: Vec<F> = [1u64, 2, 3, 4].map(F::from_u64).to_vec();
        let packed = layout.pack(&[&a, &b]).expect("pack");
        assert_eq!(packed.len(), 1 << MIN_NUM_VARS);
        // Boolean local point (1) on poly 0 → packed index offset + 1.
        let lifted = layout.lift_point(0, &[EF::ONE]);
        let idx = lifted.iter().fold(0usize, |acc, &c| 2 * acc + usize::from(c == EF::ONE));
        assert_eq!(packed[idx], F::from_u64(7));
    }

    #[test]
    fn rejects_bad_batches() {
        assert!(PackedLayout::new(&[]).is_err());
        assert!(PackedLayout::new(&[MAX_NUM_VARS + 1]).is_err());
        assert!(PackedLayout::new(&[MAX_NUM_VARS, MAX_NUM_VARS]).is_err());
        let layout = PackedLayout::new(&[2]).expect("layout");
        assert!(layout.pack(&[&[F::ZERO; 3]]).is_err());
    }
}
