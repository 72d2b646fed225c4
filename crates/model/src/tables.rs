//! The GELU and exp lookup tables, built with integer arithmetic only.
//!
//! Prover and verifier must build bit-identical tables (the verifier rebuilds them from the key's
//! fixed-point parameters and the transcript binds their digest), so nothing here may depend on
//! the platform's libm: every value is computed in 112-bit fixed point (`u128`, unit `2^-112`)
//! with integer multiplications, divisions and shifts, which every platform evaluates the same.
//!
//! **exp.** For `x ≥ 0`, `exp(−x) = (e^{−1})^⌊x⌋ · exp(−{x})`: the fractional part goes through the
//! Taylor series `Σ_k (−y)^k/k!` (`y ∈ [0, 1]`, terms `t_k = ⌊t_{k−1}·y⌋/k` until one is 0), and
//! `e^{−1}` is the same series at `y = 1`; for `⌊x⌋ ≥ 80` the result is 0 (`e^{−80} < 2^{−115}`).
//! Error (in units of `2^-112`): a computed term is off by at most `2k ≤ 72` from `y^k/k!`
//! (each step adds at most two truncations and does not grow the earlier error, `y/k ≤ 1`),
//! so the series is off by `< 36·72 + 150 < 2^12` (the last term plus the tail after the first
//! zero term is `< 150`); each multiplication by `e^{−1}` shrinks the accumulated error by `e^{−1}`
//! and adds `< 2^12 + 1`, so `|exp_neg(x) − 2^112·e^{−x}| < (2^12 + 1)/(1 − e^{−1}) < 2^13`.
//!
//! **GELU.** `gelu(v) = v/2·(1 + tanh(u))`, `u = √(2/π)·(v + 0.044715·v³)`. With
//! `e = exp(−2|u|) ∈ (0, 1]`: `gelu(v) = v/(1 + e)` for `v ≥ 0` and `v·e/(1 + e)` for `v < 0`
//! (no cancellation, no overflow). `√(2/π)` is the constant [`SQRT_2_OVER_PI`] (checked against
//! `π` from Machin's formula in the tests), `0.044715 = 44715/10^6` is divided exactly. For
//! `|v| ≥ 16`, `2|u| > 300` and `e` is taken as 0. Error: `w = 2|u| < 320` is off by
//! `< 2^14` units (products of operands `< 2^8` with one-unit errors), so `e` by `< 2^15`
//! (`|d e/d w| = e ≤ 1`) and `g = 1/(1+e)` or `e/(1+e)` by `< 2^15 + 2` (derivatives `≤ 1`, one
//! truncated division).
//!
//! **Rounding.** A table entry is `round(f · 2^out)` half away from zero (as `f64::round` did):
//! the magnitude `|n|·g` (or `2^E·e`) is shifted right with round-half-up and the sign restored.
//! The error above is at most `2^-96` of the entry's scale, far below the rounding step, so an
//! entry differs from the correctly rounded value only when the exact value is within that of a
//! half-integer; the tests check that no entry of the default tables is (margin test), i.e. the
//! default tables ARE the correctly rounded ones.

use std::sync::Arc;

use rayon::prelude::*;

/// Fractional bits of the fixed-point arithmetic.
const FRAC: u32 = 112;
/// `1.0`.
const ONE: u128 = 1 << FRAC;
const LOW64: u128 = (1 << 64) - 1;

/// `⌊√(2/π) · 2^112⌋` (computed from Machin's formula for `π` with 400-bit integers).
pub const SQRT_2_OVER_PI: u128 = 0xcc42299ea1b284687e59e2805d5c;

/// `⌊a·b / 2^112⌋` for `a, b < 2^127` whose product is below `2^240` (every call site multiplies
/// numbers below `2^9` in real value, so below `2^121` as integers).
const fn mul(a: u128, b: u128) -> u128 {
    let (a1, a0) = (a >> 64, a & LOW64);
    let (b1, b0) = (b >> 64, b & LOW64);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & LOW64) + (p10 & LOW64);
    let lo = (p00 & LOW64) | ((mid & LOW64) << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi << (128 - FRAC)) | (lo >> FRAC)
}

/// `⌊a · 2^112 / d⌋` for `0 < d < 2^127` and `a / d < 2^16` (long division, one bit per step).
const fn div(a: u128, d: u128) -> u128 {
    let (mut q, mut r) = (a / d, a % d);
    let mut i = 0;
    while i < FRAC {
        i += 1;
        r <<= 1;
        q <<= 1;
        if r >= d {
            r -= d;
            q |= 1;
        }
    }
    q
}

/// `Σ_k (−y)^k / k!` for `y ∈ [0, 1]` (fixed point).
const fn exp_neg_unit(y: u128) -> u128 {
    let (mut sum, mut term, mut k) = (ONE as i128, ONE, 1u128);
    while k < 64 {
        term = mul(term, y) / k;
        if term == 0 {
            break;
        }
        if k & 1 == 1 { sum -= term as i128 } else { sum += term as i128 }
        k += 1;
    }
    if sum < 0 { 0 } else { sum as u128 }
}

/// `≈ 2^112 · e^{−1}`.
const E_INV: u128 = exp_neg_unit(ONE);
/// `⌊0.044715 · 2^112⌋`.
const GELU_CUBIC: u128 = div(44_715, 1_000_000);

/// `≈ 2^112 · e^{−x}` for a fixed-point `x ≥ 0` (error `< 2^13` units, see the module docs).
fn exp_neg(x: u128) -> u128 {
    let whole = x >> FRAC;
    if whole >= 80 {
        return 0;
    }
    let mut v = exp_neg_unit(x & (ONE - 1));
    for _ in 0..whole {
        v = mul(v, E_INV);
    }
    v
}

/// `num / 2^shift` in fixed point, truncated (callers keep `num / 2^shift < 2^15`).
fn ratio(num: u128, shift: u32) -> u128 {
    if shift <= FRAC {
        num << (FRAC - shift)
    } else {
        num.checked_shr(shift - FRAC).unwrap_or(0)
    }
}

/// `round(m / 2^s)` (half up) for a magnitude `m < 2^127`, saturated to `i64`; `s < 0` scales up.
fn round_shift(m: u128, s: i64) -> i64 {
    let v = if s <= 0 {
        let up = s.unsigned_abs().min(127) as u32;
        if m > (i64::MAX as u128) >> up { u128::MAX } else { m << up }
    } else if s >= 128 {
        0
    } else {
        (m + (1u128 << (s - 1))) >> s
    };
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `w = 2·√(2/π)·|v|·(1 + 0.044715 v²)` for `|v| = a / 2^in_frac < 16` (fixed point).
fn gelu_w(a: u128, in_frac: u32) -> u128 {
    let v = ratio(a, in_frac);
    let inner = ONE + mul(GELU_CUBIC, mul(v, v));
    2 * mul(SQRT_2_OVER_PI, mul(v, inner))
}

/// `|n|·g` with `g = 1/(1+e)` (`n > 0`) or `e/(1+e)` (`n < 0`): `2^112·|gelu(n/2^in)|·2^in` —
/// the entry's magnitude before the final shift by `112 + in − out`.
fn gelu_scaled(n: i64, in_frac: u32) -> u128 {
    let a = n.unsigned_abs() as u128;
    if a == 0 {
        return 0;
    }
    let e = if in_frac < 64 && (a >> in_frac) >= 16 { 0 } else { exp_neg(gelu_w(a, in_frac)) };
    let g = if n > 0 { div(ONE, ONE + e) } else { div(e, ONE + e) };
    a * g
}

/// `round(gelu(n / 2^in_frac) · 2^out_frac)`, half away from zero, for `|n| ≤ 2^15`.
pub fn gelu_entry(n: i64, in_frac: u32, out_frac: u32) -> i64 {
    let m = round_shift(gelu_scaled(n, in_frac), i64::from(FRAC) + i64::from(in_frac) - i64::from(out_frac));
    if n < 0 { -m } else { m }
}

/// `round(2^exp_frac · exp(−t / 2^in_frac))` for `0 ≤ t < 2^16`.
pub fn exp_entry(t: u32, in_frac: u32, exp_frac: u32) -> i64 {
    let t = u128::from(t);
    if in_frac < 64 && (t >> in_frac) >= 80 {
        return 0;
    }
    round_shift(exp_neg(ratio(t, in_frac)), i64::from(FRAC) - i64::from(exp_frac))
}

/// The GELU table: entry `i` is [`gelu_entry`]`(i − 2^15)`, `i ∈ [0, 2^16)`.
pub fn gelu_table(in_frac: u32, out_frac: u32) -> Arc<[i64]> {
    let v: Vec<i64> = (0..1i64 << 16).into_par_iter().map(|i| gelu_entry(i - (1 << 15), in_frac, out_frac)).collect();
    v.into()
}

/// The exp table: entry `t` is [`exp_entry`]`(t)`, `t ∈ [0, 2^16)`.
pub fn exp_table(in_frac: u32, exp_frac: u32) -> Arc<[i64]> {
    let v: Vec<i64> = (0..1u32 << 16).into_par_iter().map(|t| exp_entry(t, in_frac, exp_frac)).collect();
    v.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `π·2^112` from Machin's formula `π = 16·atan(1/5) − 4·atan(1/239)` (error a few units).
    fn pi() -> u128 {
        let atan_inv = |k: u128| {
            let (mut sum, mut t, mut n) = (0i128, ONE / k, 0u128);
            while t > 0 {
                let term = (t / (2 * n + 1)) as i128;
                sum += if n & 1 == 0 { term } else { -term };
                t /= k * k;
                n += 1;
            }
            sum
        };
        (16 * atan_inv(5) - 4 * atan_inv(239)) as u128
    }

    #[test]
    fn fixed_point_primitives_are_exact_where_they_must_be() {
        assert_eq!(mul(ONE, ONE), ONE);
        assert_eq!(mul(3 * ONE, ONE / 4), 3 * ONE / 4);
        assert_eq!(mul(u128::MAX >> 7, ONE), u128::MAX >> 7);
        assert_eq!(div(1, 4), ONE / 4);
        assert_eq!(div(ONE, 2 * ONE), ONE / 2);
        assert_eq!(exp_neg(0), ONE);
        assert_eq!(ratio(5, 2), 5 * ONE / 4);
        assert_eq!(round_shift(5, 1), 3);
        assert_eq!(round_shift(3, 1), 2);
        assert_eq!(round_shift(1, 2), 0);
        assert_eq!(round_shift(u128::MAX >> 1, -3), i64::MAX);
    }

    #[test]
    fn constants_agree_with_independent_computations() {
        // c² · π = 2 within the constant's and π's few units of error.
        let two = mul(mul(SQRT_2_OVER_PI, SQRT_2_OVER_PI), pi());
        assert!((2 * ONE).abs_diff(two) < 1 << 6, "√(2/π)² · π = 2 + {}", two as i128 - (2 * ONE) as i128);
        // e^{-1}·e = 1, with e = Σ 1/k! computed separately.
        let (mut e, mut t) = (ONE, ONE);
        for k in 1..40u128 {
            t /= k;
            e += t;
        }
        assert!(ONE.abs_diff(mul(exp_neg(ONE), e)) < 1 << 13);
    }

    #[test]
    fn exp_is_accurate_to_the_stated_bound() {
        // exp(−a)·exp(−b) = exp(−(a+b)) and exp(−x/2)² = exp(−x): the identities the analysis
        // uses, checked across the range including the integer/fraction split.
        for i in 0..200u128 {
            let x = i * (ONE / 7) + i * 12_345;
            let half = exp_neg(x / 2);
            let full = exp_neg(x / 2 * 2);
            assert!(full.abs_diff(mul(half, half)) < 1 << 15, "x = {i}/7");
        }
        // Against f64 where f64 is comfortably accurate.
        for i in 0..100u32 {
            let x = f64::from(i * 379) / 1024.0;
            let got = exp_neg(u128::from(i * 379) * (ONE / 1024)) as f64 / ONE as f64;
            assert!((got - (-x).exp()).abs() < 1e-15, "exp(−{x})");
        }
    }

    #[test]
    fn entries_match_float_within_one_unit_and_the_obvious_values() {
        // The f64 formulas the tables replace: they may round differently only at near-ties.
        let gelu = |v: f64| 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh());
        for (inf, outf) in [(10u32, 12u32), (12, 12), (0, 4), (8, 20)] {
            for n in (-(1i64 << 15)..1 << 15).step_by(97) {
                let want = (gelu(n as f64 / f64::from(inf).exp2()) * f64::from(outf).exp2()).round() as i64;
                assert!((gelu_entry(n, inf, outf) - want).abs() <= 1, "gelu {n} at ({inf},{outf})");
            }
        }
        for (inf, ef) in [(12u32, 20u32), (10, 30), (0, 12), (16, 40)] {
            assert_eq!(exp_entry(0, inf, ef), 1 << ef);
            for t in (0..1u32 << 16).step_by(89) {
                let want = (f64::from(ef).exp2() * (-f64::from(t) / f64::from(inf).exp2()).exp()).round() as i64;
                assert!((exp_entry(t, inf, ef) - want).abs() <= 1, "exp {t} at ({inf},{ef})");
            }
        }
        assert_eq!(gelu_entry(0, 10, 12), 0);
        assert_eq!(gelu_entry(1 << 14, 10, 12), 16 << 12, "gelu(16) = 16 to far below 2^-12");
        assert_eq!(gelu_entry(-(1 << 14), 10, 12), 0);
    }

    /// The default tables are correctly rounded: every exact value is farther from a
    /// half-integer than the computation's error bound, so no entry depends on the arithmetic.
    #[test]
    fn default_tables_are_correctly_rounded() {
        let (g_in, g_out) = (10u32, 12u32);
        let s = FRAC + g_in - g_out;
        for n in -(1i64 << 15)..1 << 15 {
            let m = gelu_scaled(n, g_in);
            let bound = (n.unsigned_abs() as u128) << 16; // |n| · (2^15 + 2) rounded up
            let frac = m & ((1u128 << s) - 1);
            assert!(m == 0 || frac.abs_diff(1u128 << (s - 1)) > bound, "gelu entry {n} is within the error of a tie");
        }
        let (s_in, e) = (12u32, 20u32);
        let s = FRAC - e;
        for t in 0..1u32 << 16 {
            if (t >> s_in) >= 80 {
                continue;
            }
            let m = exp_neg(ratio(u128::from(t), s_in));
            let frac = m & ((1u128 << s) - 1);
            assert!(frac.abs_diff(1u128 << (s - 1)) > 1 << 14, "exp entry {t} is within the error of a tie");
        }
    }
}
