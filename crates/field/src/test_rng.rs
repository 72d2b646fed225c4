//! SplitMix64: a tiny deterministic generator for test data and benchmarks (not for anything
//! that needs unpredictability — Fiat–Shamir challenges come from the transcript).

use crate::{BasedVectorSpace, EF, F, PrimeCharacteristicRing};

/// SplitMix64 (Steele, Lea, Flood 2014) seeded with `.0`.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A field element (reduced from 64 random bits).
    pub fn f(&mut self) -> F {
        F::from_u64(self.next_u64())
    }
    /// A challenge-field element.
    pub fn ef(&mut self) -> EF {
        EF::from_basis_coefficients_fn(|_| self.f())
    }
    /// `n` field elements.
    pub fn fs(&mut self, n: usize) -> Vec<F> {
        (0..n).map(|_| self.f()).collect()
    }
    /// `n` challenge-field elements.
    pub fn efs(&mut self, n: usize) -> Vec<EF> {
        (0..n).map(|_| self.ef()).collect()
    }
    /// A number in `[0, n)` (`n > 0`; slightly biased, fine for tests).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}
