//! The fields zkinfer computes in.
//!
//! * [`F`] — Goldilocks, `p = 2^64 − 2^32 + 1`. Every witness value (weights, activations, lookup
//!   columns) lives here. A signed integer `v` with `|v| < p/2` is embedded as `v mod p`; the
//!   conversion back ([`to_i64`]) takes the centred representative in `(−p/2, p/2)`.
//! * [`EF`] — the challenge field, `F[X]/(X^3 − X − 1)` (p3's cubic trinomial extension), about
//!   192 bits. Every Fiat–Shamir challenge, and every value derived from one, lives here. This
//!   alias is the only place the choice is made.
//!
//! 64 bits hold an int8 × int16 product (24 bits) summed over 2^30 terms without wrapping, which
//! is what lets matrix products be proven over `F` directly.

use p3_field::PrimeField64;
pub use p3_field::{
    BasedVectorSpace, ExtensionField, Field, PrimeCharacteristicRing, PrimeField64 as _,
    TwoAdicField,
};
pub use p3_goldilocks::Goldilocks;

mod test_rng;
pub use test_rng::SplitMix64;

/// The witness field.
pub type F = Goldilocks;
/// The challenge field: the cubic extension of [`F`].
pub type EF = p3_field::extension::CubicTrinomialExtensionField<Goldilocks>;

/// The field modulus.
pub const P: u64 = 0xFFFF_FFFF_0000_0001;
/// Largest magnitude a signed value may have to round-trip through [`F`] unambiguously.
pub const MAX_SIGNED: u64 = (P - 1) / 2;

/// Errors converting between integers and field elements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The integer does not fit in the centred range `[-(p-1)/2, (p-1)/2]`.
    #[error("integer {0} is outside the signed range of the Goldilocks field")]
    OutOfRange(i128),
}

/// Embeds a signed integer. Every `i32` fits; an `i64` fits unless `|v| > (p-1)/2`.
pub fn from_i64(v: i64) -> Result<F, FieldError> {
    if v.unsigned_abs() > MAX_SIGNED {
        return Err(FieldError::OutOfRange(v as i128));
    }
    Ok(from_i64_unchecked(v))
}

/// Embeds a signed integer known to satisfy `|v| <= (p-1)/2` (e.g. any `i32`).
#[inline]
pub fn from_i64_unchecked(v: i64) -> F {
    if v >= 0 {
        F::from_u64(v as u64)
    } else {
        -F::from_u64(v.unsigned_abs())
    }
}

/// Embeds a signed 128-bit integer, failing if it is outside the centred range.
pub fn from_i128(v: i128) -> Result<F, FieldError> {
    if v.unsigned_abs() > MAX_SIGNED as u128 {
        return Err(FieldError::OutOfRange(v));
    }
    Ok(from_i64_unchecked(v as i64))
}

/// The centred representative of `x` in `[-(p-1)/2, (p-1)/2]`. Total: every field element has one.
#[inline]
pub fn to_i64(x: F) -> i64 {
    let u = x.as_canonical_u64();
    if u > MAX_SIGNED { -((P - u) as i64) } else { u as i64 }
}

/// The centred representative of `x`, failing unless it lies in `[-bound, bound]`.
pub fn to_i64_bounded(x: F, bound: u64) -> Result<i64, FieldError> {
    let v = to_i64(x);
    if v.unsigned_abs() > bound {
        return Err(FieldError::OutOfRange(v as i128));
    }
    Ok(v)
}

/// Embeds a slice of signed integers (each must fit; `i32` always does).
pub fn vec_from_i64(v: &[i64]) -> Result<Vec<F>, FieldError> {
    v.iter().map(|&x| from_i64(x)).collect()
}

/// Lifts a base-field element into the challenge field.
#[inline]
pub fn lift(x: F) -> EF {
    EF::from(x)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extremes_round_trip_and_overflow_is_rejected() {
        let m = MAX_SIGNED as i64;
        assert_eq!(to_i64(from_i64(m).unwrap()), m);
        assert_eq!(to_i64(from_i64(-m).unwrap()), -m);
        assert!(from_i64(i64::MAX).is_err());
        assert!(from_i64(i64::MIN).is_err());
        assert!(from_i128(1i128 << 70).is_err());
        assert!(to_i64_bounded(from_i64(300).unwrap(), 255).is_err());
        assert_eq!(to_i64_bounded(from_i64(-255).unwrap(), 255).unwrap(), -255);
    }

    proptest! {
        #[test]
        fn signed_round_trip(v in -(MAX_SIGNED as i64)..=(MAX_SIGNED as i64)) {
            prop_assert_eq!(to_i64(from_i64(v).unwrap()), v);
        }

        #[test]
        fn embedding_is_a_ring_homomorphism(a in any::<i32>(), b in any::<i32>()) {
            let (fa, fb) = (from_i64_unchecked(a as i64), from_i64_unchecked(b as i64));
            prop_assert_eq!(to_i64(fa * fb), a as i64 * b as i64);
            prop_assert_eq!(to_i64(fa + fb), a as i64 + b as i64);
        }
    }
}
