//! The GELU, exp and SiLU lookup tables and the RoPE coefficient table, built with integer
//! arithmetic only.
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
//! **SiLU.** `silu(v) = v/(1 + e)` for `v ≥ 0` and `v·e/(1 + e)` for `v < 0`, `e = exp(−|v|)`
//! (`e = 0` for `|v| ≥ 80`): GELU's split with `w = |v|` exact, so `g` is off by `< 2^13 + 2`.
//!
//! **Soft-cap** (Gemma 2's attention logits): `c·tanh(v/c)` for an integer cap `c ≤ 2^14` is
//! `c·(1 − e)/(1 + e)` for `v ≥ 0` and its negative for `v < 0`, `e = exp(−2|v|/c)` (`e = 0` once
//! `2|v|/c ≥ 80`). `2|v|/c` is truncated twice (`< 4` units off), so `e` is off by `< 2^13 + 4`,
//! `(1 − e)/(1 + e)` (derivative `≥ −2`) by `< 2^14 + 9` and `c·(…)` by `< 2^28 + 2^18` units:
//! `< 2^-83` in real value, `2^-53` of an output unit at `out_frac ≤ 30`.
//!
//! **RoPE.** See [`rope_table`] (and [`rope_table_with_factors`]: Llama 3.1/3.2's frequency
//! factors enter as `ln f_i` the same way): `ln` of the `f32` base from its exact mantissa and exponent,
//! `θ_i` through `exp_neg`, `cos`/`sin` by reduction modulo `2π` (Machin's `π`), quadrant and
//! Taylor series; each coefficient is off by `< 2^-79` before rounding to `F ≤ 30` bits.
//!
//! **Rounding.** A table entry is `round(f · 2^out)` half away from zero (as `f64::round` did):
//! the magnitude `|n|·g` (or `2^E·e`) is shifted right with round-half-up and the sign restored.
//! The error above is at most `2^-96` of the entry's scale, far below the rounding step, so an
//! entry differs from the correctly rounded value only when the exact value is within that of a
//! half-integer; the tests check that no entry of the default tables is (margin test), i.e. the
//! default tables ARE the correctly rounded ones.

use std::sync::Arc;

use p3_maybe_rayon::prelude::*;

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

/// `|n|·g` with `g = 1/(1+e)` (`n > 0`) or `e/(1+e)` (`n < 0`) for `e ≤ 1`: the magnitude of
/// `n·sigmoid(±w)` in fixed point (`e = exp(−w)`), shared by GELU and SiLU.
fn logistic_weighted(n: i64, e: u128) -> u128 {
    let a = n.unsigned_abs() as u128;
    let g = if n > 0 { div(ONE, ONE + e) } else { div(e, ONE + e) };
    a * g
}

/// `|n|·g` with `g = 1/(1+e)` (`n > 0`) or `e/(1+e)` (`n < 0`): `2^112·|gelu(n/2^in)|·2^in` —
/// the entry's magnitude before the final shift by `112 + in − out`.
fn gelu_scaled(n: i64, in_frac: u32) -> u128 {
    let a = n.unsigned_abs() as u128;
    if a == 0 {
        return 0;
    }
    let e = if in_frac < 64 && (a >> in_frac) >= 16 { 0 } else { exp_neg(gelu_w(a, in_frac)) };
    logistic_weighted(n, e)
}

/// `2^112·|silu(n/2^in)|·2^in` with `silu(v) = v/(1 + e^{−v})`: `e = exp(−|v|)` and the same
/// split as GELU's (`|v| ≥ 80` takes `e = 0`, below `2^-115`).
fn silu_scaled(n: i64, in_frac: u32) -> u128 {
    let a = n.unsigned_abs() as u128;
    if a == 0 {
        return 0;
    }
    let e = if in_frac < 64 && (a >> in_frac) >= 80 { 0 } else { exp_neg(ratio(a, in_frac)) };
    logistic_weighted(n, e)
}

/// `round(silu(n / 2^in_frac) · 2^out_frac)`, half away from zero, for `|n| ≤ 2^15`.
pub fn silu_entry(n: i64, in_frac: u32, out_frac: u32) -> i64 {
    let m = round_shift(silu_scaled(n, in_frac), i64::from(FRAC) + i64::from(in_frac) - i64::from(out_frac));
    if n < 0 { -m } else { m }
}

/// The SiLU table of `2^in_bits` rows (`1 ≤ in_bits ≤ 16`): entry `i` is
/// [`silu_entry`]`(i − 2^(in_bits−1))`.
pub fn silu_table(in_frac: u32, out_frac: u32, in_bits: u32) -> Arc<[i64]> {
    let in_bits = in_bits.clamp(1, 16);
    let min = -(1i64 << (in_bits - 1));
    let v: Vec<i64> = (0..1i64 << in_bits).into_par_iter().map(|i| silu_entry(i + min, in_frac, out_frac)).collect();
    v.into()
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

/// Largest soft-cap `c` a table accepts (`c·2^112 < 2^127`).
pub const SOFTCAP_MAX_CAP: u32 = 1 << 14;

/// `round(c·tanh(v/c) · 2^out_frac)` for `v = n / 2^in_frac`, half away from zero, for
/// `|n| ≤ 2^15`, `1 ≤ c ≤ SOFTCAP_MAX_CAP`, `in_frac, out_frac ≤ 30` (see the module docs).
pub fn softcap_entry(n: i64, in_frac: u32, out_frac: u32, cap: u32) -> i64 {
    let a = n.unsigned_abs() as u128;
    let c = u128::from(cap.clamp(1, SOFTCAP_MAX_CAP));
    if a == 0 {
        return 0;
    }
    // |v| = a/2^in in fixed point (< 2^16), then w = 2|v|/c (truncated twice: < 4 units off).
    // (|v|/c is below 2^15, so its fixed point is below 2^127; doubled only when below 40.)
    let e = softcap_e(ratio(a, in_frac) / c);
    let m = c * div(ONE - e.min(ONE), ONE + e);
    let m = round_shift(m, i64::from(FRAC) - i64::from(out_frac));
    if n < 0 { -m } else { m }
}

/// `e = exp(−2h)` for the fixed-point `h = |v|/c` (0 once `2h ≥ 80`).
fn softcap_e(h: u128) -> u128 {
    if (h >> FRAC) >= 40 { 0 } else { exp_neg(h << 1) }
}

/// The soft-cap table of `2^in_bits` rows (`1 ≤ in_bits ≤ 16`): entry `i` is
/// [`softcap_entry`]`(i − 2^(in_bits−1))`.
pub fn softcap_table(in_frac: u32, out_frac: u32, in_bits: u32, cap: u32) -> Arc<[i64]> {
    let in_bits = in_bits.clamp(1, 16);
    let min = -(1i64 << (in_bits - 1));
    let v: Vec<i64> = (0..1i64 << in_bits).into_par_iter().map(|i| softcap_entry(i + min, in_frac, out_frac, cap)).collect();
    v.into()
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


/// `⌊2^112·atanh(z)⌋`-ish: `Σ z^(2k+1)/(2k+1)` for a fixed-point `0 ≤ z ≤ 1/3` (error a few units:
/// each term is off by at most two truncations and the tail after the first zero term is `< 1`).
const fn atanh_small(z: u128) -> u128 {
    let z2 = mul(z, z);
    let (mut sum, mut p, mut k) = (0u128, z, 1u128);
    while p > 0 {
        sum += p / k;
        p = mul(p, z2);
        k += 2;
    }
    sum
}

/// `π·2^112` from Machin's formula `π = 16·atan(1/5) − 4·atan(1/239)` (error a few units).
const fn machin_pi() -> u128 {
    const fn atan_inv(k: u128) -> i128 {
        let (mut sum, mut t, mut n) = (0i128, ONE / k, 0u128);
        while t > 0 {
            let term = (t / (2 * n + 1)) as i128;
            sum += if n & 1 == 0 { term } else { -term };
            t /= k * k;
            n += 1;
        }
        sum
    }
    (16 * atan_inv(5) - 4 * atan_inv(239)) as u128
}

/// `≈ π·2^112`.
const PI: u128 = machin_pi();
/// `≈ ln(2)·2^112` (`2·atanh(1/3)`).
const LN2: u128 = 2 * atanh_small(div(1, 3));

/// `≈ 2^112·ln(base)` for a finite `f32` base `> 1`: `base = M·2^E` with `M ∈ [1, 2)` exact in
/// fixed point, `ln M = 2·atanh((M−1)/(M+1))` (`(M−1)/(M+1) < 1/3`) plus `E·ln 2`. Error below
/// `2^9` units (`E ≤ 127`). `None` for a base that is not a finite normal number above 1.
fn ln_f32(base: f32) -> Option<u128> {
    if !(base.is_finite() && base > 1.0) {
        return None;
    }
    let bits = base.to_bits();
    let e = ((bits >> 23) & 0xff) as i64 - 127;
    let m = u128::from((bits & 0x7f_ffff) | 0x80_0000) << (FRAC - 23);
    let e = u128::try_from(e).ok()?;
    Some(2 * atanh_small(div(m - ONE, m + ONE)) + e * LN2)
}

/// `(cos a, sin a)·2^112` (signed) for a fixed-point angle `0 ≤ a < 2^128`: `a mod 2π`, then the
/// quadrant, then the Taylor series on `y ∈ [0, π/2]` (terms `t_j = ⌊t_{j−1}·y⌋/j` until one is 0).
/// Error: the reduction is off by `≤ q·|2π − 2π̂| < 2^16` units (`q = ⌊a/2π⌋ < 2^14`, π̂ off by a
/// few units); each Taylor term by `< 8` (`y/j ≤ π/2` only at `j = 1`), `< 2^9` over the sum;
/// `|cos′|, |sin′| ≤ 1`: the result is off by `< 2^17` units.
fn cos_sin(a: u128) -> (i128, i128) {
    let two_pi = 2 * PI;
    let half_pi = PI / 2;
    let r = a % two_pi;
    let quad = (r / half_pi).min(3);
    let y = r - quad * half_pi;
    let (mut c, mut s, mut t) = (ONE as i128, 0i128, ONE);
    let mut j = 1u128;
    while j < 80 {
        t = mul(t, y) / j;
        if t == 0 {
            break;
        }
        let v = t as i128;
        match j % 4 {
            1 => s += v,
            2 => c -= v,
            3 => s -= v,
            _ => c += v,
        }
        j += 1;
    }
    match quad {
        0 => (c, s),
        1 => (-s, c),
        2 => (-c, -s),
        _ => (s, -c),
    }
}

/// `⌊a·b/2^112⌋` on signed values (magnitudes below `2^126`), rounded toward zero.
fn smul(a: i128, b: i128) -> i128 {
    let m = mul(a.unsigned_abs(), b.unsigned_abs()) as i128;
    if (a < 0) != (b < 0) { -m } else { m }
}

/// Positions per block of the two-level RoPE angle table (`p = hi·ROPE_BLOCK + lo`).
const ROPE_BLOCK: usize = 256;

/// The RoPE coefficient table `(C[p, i], S[p, i])` at index `2·(p·m + i)` (`m = n_rot/2`),
/// `C = round(cos(p·θ_i)·2^frac)`, `S = round(sin(p·θ_i)·2^frac)` half away from zero,
/// `θ_i = base^(−2i/n_rot)`, computed with integer arithmetic only:
/// `θ_i = exp(−(ln(base)/n_rot)·2i)` (zero when the exponent reaches 80: then `p·θ_i < 2^-99`);
/// `p = hi·256 + lo`, `cos/sin(p·θ) = cos/sin(hi·256·θ ⊕ lo·θ)` by the angle-addition formulas
/// from the two direct evaluations ([`cos_sin`], each off by `< 2^17` units; `θ` by `< 2^14`,
/// times `p < 2^16`: the angles by `< 2^31`), so each coefficient is off by `< 2^33` units of
/// `2^-112`, i.e. `< 2^-79`; magnitudes are capped at `2^frac` (`|cos|, |sin| ≤ 1`). Requires
/// `n_ctx ≤ 2^16`, `2 ≤ n_rot ≤ 2048` even, `frac ≤ 62` (the caller checks); a base that is not
/// finite and above 1 gives an empty table.
pub fn rope_table(base: f32, n_rot: usize, frac: u32, n_ctx: usize) -> Arc<[i64]> {
    rope_table_with_factors(base, n_rot, frac, n_ctx, &[])
}

/// `≈ 2^112·ln(f)` for a RoPE frequency factor: `0` for `f = 1` exactly, [`ln_f32`] above 1, `None`
/// for a factor below 1 or not finite (the model and key decoder refuse those first).
fn ln_factor(f: f32) -> Option<u128> {
    if f == 1.0 { Some(0) } else { ln_f32(f) }
}

/// [`rope_table`] with llama.cpp's frequency factors (`rope_freqs.weight` of Llama 3.1/3.2 GGUFs,
/// `ggml_rope_ext`'s `freq_factors`): pair `i` turns by `θ_i = base^(−2i/n_rot) / f_i`, computed as
/// `exp(−((ln(base)/n_rot)·2i + ln f_i))` with `ln f_i` from the factor's exact mantissa and exponent
/// ([`ln_f32`], error `< 2^9` units, so the exponent is off by `< 2^10` more than without factors,
/// `θ_i` by `< 2^15` units and each coefficient still by `< 2^33` units of `2^-112`). `factors` is
/// empty (no factors: every `f_i = 1`) or holds `n_rot/2` finite values `≥ 1`; anything else gives an
/// empty table (the callers check first). Integer arithmetic only: the table is the same on every
/// platform, and each entry is within `2^-79` of `cos/sin(p·θ_i)` before its rounding to `frac` bits.
pub fn rope_table_with_factors(base: f32, n_rot: usize, frac: u32, n_ctx: usize, factors: &[f32]) -> Arc<[i64]> {
    let Some(ln_base) = ln_f32(base) else { return Arc::from(Vec::new()) };
    let m = n_rot / 2;
    if !factors.is_empty() && factors.len() != m {
        return Arc::from(Vec::new());
    }
    let Some(ln_f) = factors.iter().map(|&f| ln_factor(f)).collect::<Option<Vec<u128>>>() else { return Arc::from(Vec::new()) };
    let n_hi = n_ctx.div_ceil(ROPE_BLOCK);
    let step = ln_base / n_rot as u128;
    // Per pair i: (cos, sin) of lo·θ_i for lo < 256 and of hi·256·θ_i for hi < n_hi.
    let per_pair: Vec<(Vec<(i128, i128)>, Vec<(i128, i128)>)> = (0..m)
        .into_par_iter()
        .map(|i| {
            let x = step * (2 * i as u128) + ln_f.get(i).copied().unwrap_or(0);
            let theta = if (x >> FRAC) >= 80 { 0 } else { exp_neg(x) };
            let lo = (0..ROPE_BLOCK.min(n_ctx) as u128).map(|k| cos_sin(k * theta)).collect();
            let hi = (0..n_hi as u128).map(|k| cos_sin(k * ROPE_BLOCK as u128 * theta)).collect();
            (lo, hi)
        })
        .collect();
    let shift = i64::from(FRAC) - i64::from(frac);
    let cap = 1i64 << frac.min(62);
    let round = |v: i128| {
        let r = round_shift(v.unsigned_abs(), shift).min(cap);
        if v < 0 { -r } else { r }
    };
    let v: Vec<i64> = (0..n_ctx)
        .into_par_iter()
        .flat_map_iter(|p| {
            let (hi, lo) = (p / ROPE_BLOCK, p % ROPE_BLOCK);
            per_pair.iter().flat_map(move |(l, h)| {
                let ((ca, sa), (cb, sb)) = (h[hi], l[lo]);
                let c = smul(ca, cb) - smul(sa, sb);
                let s = smul(sa, cb) + smul(ca, sb);
                [round(c), round(s)]
            })
        })
        .collect();
    v.into()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let two = mul(mul(SQRT_2_OVER_PI, SQRT_2_OVER_PI), PI);
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
    #[test]
    fn logarithm_and_trigonometry_agree_with_independent_computations() {
        // ln 2 against the series Σ 1/(k·2^k); ln(base)/ln 2 = log2 for powers of two.
        let (mut ln2, mut k) = (0u128, 1u128);
        while (ONE >> k) / k > 0 {
            ln2 += (ONE >> k) / k;
            k += 1;
        }
        assert!(LN2.abs_diff(ln2) < 1 << 8, "ln 2");
        assert!(ln_f32(1024.0).is_some_and(|l| l.abs_diff(10 * LN2) < 1 << 9));
        assert!(ln_f32(1.0).is_none() && ln_f32(f32::NAN).is_none() && ln_f32(f32::INFINITY).is_none());
        // cos² + sin² = 1, cos(0) = 1 exactly, and agreement with f64 across many turns.
        assert_eq!(cos_sin(0), (ONE as i128, 0));
        for i in 0..300u128 {
            let a = i * (ONE / 3) + i * 987_654_321;
            let (c, s) = cos_sin(a);
            let one = smul(c, c) + smul(s, s);
            assert!((one - ONE as i128).abs() < 1 << 20, "cos² + sin² at {i}");
            let x = a as f64 / ONE as f64;
            assert!((c as f64 / ONE as f64 - x.cos()).abs() < 1e-13 && (s as f64 / ONE as f64 - x.sin()).abs() < 1e-13, "angle {x}");
        }
    }

    #[test]
    fn silu_and_rope_entries_match_float_within_one_unit() {
        let silu = |v: f64| v / (1.0 + (-v).exp());
        for (inf, outf) in [(9u32, 12u32), (8, 12), (0, 4), (12, 20)] {
            for n in (-(1i64 << 15)..1 << 15).step_by(83) {
                let want = (silu(n as f64 / f64::from(inf).exp2()) * f64::from(outf).exp2()).round() as i64;
                assert!((silu_entry(n, inf, outf) - want).abs() <= 1, "silu {n} at ({inf},{outf})");
            }
        }
        assert_eq!(silu_entry(0, 9, 12), 0);
        assert_eq!(silu_entry(1 << 14, 8, 12), 64 << 12, "silu(64) = 64 to far below 2^-12");
        assert_eq!(silu_entry(-(1 << 14), 8, 12), 0);
        for (base, n_rot, frac, n_ctx) in [(10000.0f32, 16usize, 16u32, 256usize), (100000.0, 64, 16, 700), (500000.0, 8, 30, 300)] {
            let t = rope_table(base, n_rot, frac, n_ctx);
            assert_eq!(t.len(), n_rot * n_ctx);
            let m = n_rot / 2;
            for p in 0..n_ctx {
                for i in 0..m {
                    let a = p as f64 * f64::from(base).powf(-2.0 * i as f64 / n_rot as f64);
                    let scale = f64::from(frac).exp2();
                    let k = 2 * (p * m + i);
                    assert!((t[k] - (a.cos() * scale).round() as i64).abs() <= 1, "cos p={p} i={i}");
                    assert!((t[k + 1] - (a.sin() * scale).round() as i64).abs() <= 1, "sin p={p} i={i}");
                }
            }
            assert!(t.iter().all(|v| v.abs() <= 1 << frac));
        }
        assert!(rope_table(1.0, 4, 16, 8).is_empty());
    }

    /// Frequency factors (Llama 3.1/3.2's `rope_freqs.weight`): `θ_i = base^(−2i/n_rot) / f_i`
    /// within one unit of the `f64` formula (llama.cpp's `ggml_rope_ext`), factors of 1 give the
    /// plain table exactly, and bad factor lists give an empty table.
    #[test]
    fn rope_frequency_factors_divide_the_angles() {
        // The fixture's factors (1, smoothed, 8) and Llama 3.1's shape (128 dims, base 5e5).
        let llama31: Vec<f32> = (0..64).map(|i| if i < 20 { 1.0 } else if i < 40 { 1.0 + 0.35 * (i - 19) as f32 } else { 8.0 }).collect();
        let cases: [(f32, usize, u32, usize, Vec<f32>); 3] = [
            (10000.0, 16, 16, 256, vec![1.0, 1.293_975_8, 7.667_385, 8.0, 8.0, 8.0, 8.0, 8.0]),
            (500000.0, 128, 16, 600, llama31),
            (10000.0, 4, 30, 300, vec![3.0, 1e6]),
        ];
        for (base, n_rot, frac, n_ctx, f) in cases {
            let t = rope_table_with_factors(base, n_rot, frac, n_ctx, &f);
            assert_eq!(t.len(), n_rot * n_ctx);
            let m = n_rot / 2;
            let scale = f64::from(frac).exp2();
            for p in 0..n_ctx {
                for i in 0..m {
                    let a = p as f64 * f64::from(base).powf(-2.0 * i as f64 / n_rot as f64) / f64::from(f[i]);
                    let k = 2 * (p * m + i);
                    assert!((t[k] - (a.cos() * scale).round() as i64).abs() <= 1, "cos p={p} i={i}");
                    assert!((t[k + 1] - (a.sin() * scale).round() as i64).abs() <= 1, "sin p={p} i={i}");
                }
            }
            // Not the plain table where a factor is not 1.
            let plain = rope_table(base, n_rot, frac, n_ctx);
            assert_ne!(&t[..], &plain[..]);
        }
        assert_eq!(&rope_table_with_factors(10000.0, 8, 16, 64, &[1.0; 4])[..], &rope_table(10000.0, 8, 16, 64)[..]);
        for bad in [vec![1.0; 3], vec![1.0, 1.0, 0.5, 1.0], vec![1.0, f32::NAN, 1.0, 1.0], vec![1.0, f32::INFINITY, 1.0, 1.0], vec![0.0; 4], vec![-2.0; 4]] {
            assert!(rope_table_with_factors(10000.0, 8, 16, 64, &bad).is_empty(), "{bad:?}");
        }
    }

    /// The default SiLU table (inputs at 2^-8 over [−128, 128), outputs at 2^-12) and the RoPE
    /// tables of the tiny fixtures and SmolLM2 are correctly rounded: no exact value is within
    /// the computation's error bound of a rounding tie.
    #[test]
    fn default_silu_and_rope_tables_are_correctly_rounded() {
        for (s_in, s_out) in [(8u32, 12u32), (9, 12)] {
            let s = FRAC + s_in - s_out;
            for n in -(1i64 << 15)..1 << 15 {
                let m = silu_scaled(n, s_in);
                let bound = (n.unsigned_abs() as u128) << 14; // |n| · (2^13 + 2) rounded up
                let frac = m & ((1u128 << s) - 1);
                assert!(m == 0 || frac.abs_diff(1u128 << (s - 1)) > bound, "silu entry {n} is within the error of a tie");
            }
        }
        for (base, n_rot, frac, n_ctx) in [(10000.0f32, 16usize, 16u32, 256usize), (100000.0, 64, 16, 8192)] {
            // The exact coefficients, recomputed at full precision, and their distance to a tie.
            let ln_base = ln_f32(base).expect("base");
            let s = FRAC - frac;
            for i in 0..n_rot / 2 {
                let x = ln_base / n_rot as u128 * (2 * i as u128);
                let theta = exp_neg(x);
                for p in 0..n_ctx as u128 {
                    let (c, sn) = cos_sin(p * theta);
                    for v in [c, sn] {
                        let f = v.unsigned_abs() & ((1u128 << s) - 1);
                        assert!(f.abs_diff(1u128 << (s - 1)) > 1 << 34, "rope entry p={p} i={i} is within the error of a tie");
                    }
                }
            }
        }
    }

    /// The soft-cap tables (Gemma 2's cap 50 at its default input scale, the fixture's cap 8):
    /// every entry within one unit of the `f64` formula, odd, monotone, saturating at `c`, and
    /// no exact value within the error bound of a rounding tie (so the tables are the correctly
    /// rounded ones).
    #[test]
    fn softcap_tables_are_correctly_rounded() {
        for (in_frac, out_frac, cap) in [(7u32, 12u32, 50u32), (9, 12, 8), (0, 0, 1), (30, 30, 16384)] {
            let t = softcap_table(in_frac, out_frac, 16, cap);
            assert_eq!(t.len(), 1 << 16);
            assert_eq!(t[1 << 15], 0);
            for (i, w) in t.windows(2).enumerate() {
                assert!(w[0] <= w[1], "not monotone at {i}");
            }
            for n in -(1i64 << 15) + 1..(1 << 15) {
                let y = t[(n + (1 << 15)) as usize];
                assert_eq!(y, -t[(-n + (1 << 15)) as usize], "odd at {n}");
                let v = n as f64 / f64::from(in_frac).exp2();
                let f = f64::from(cap) * (v / f64::from(cap)).tanh() * f64::from(out_frac).exp2();
                assert!((y as f64 - f).abs() <= 1.0, "entry {n}: {y} vs {f}");
                assert!(y.abs() <= (i64::from(cap) << out_frac), "entry {n} beyond the cap");
                // The exact magnitude before rounding, in units of 2^-(112 - out + out) = its own scale.
                let a = n.unsigned_abs() as u128;
                let c = u128::from(cap);
                let e = softcap_e(ratio(a, in_frac) / c);
                let m = c * div(ONE - e.min(ONE), ONE + e);
                let s = FRAC - out_frac;
                let frac = m & ((1u128 << s) - 1);
                if (in_frac, cap) == (7, 50) || (in_frac, cap) == (9, 8) {
                    assert!(frac.abs_diff(1u128 << (s - 1)) > 1 << 30, "softcap entry {n} is within the error of a tie");
                }
            }
        }
    }

    /// Digests of the tables Llama proofs use (SiLU's default, the fixtures' and SmolLM2's RoPE):
    /// a change of one entry changes them.
    #[test]
    fn llama_table_digests_are_fixed() {
        let digest = |t: &[i64]| {
            let bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            blake3::hash(&bytes).to_hex().to_string()
        };
        let got = [
            digest(&silu_table(8, 12, 16)),
            digest(&rope_table(10000.0, 16, 16, 256)),
            digest(&rope_table(100000.0, 64, 16, 8192)),
        ];
        assert_eq!(
            got,
            [
                "5e6471500ceddbddf4f1ce5cb2ea7cd81a305de7f58693f47a960dcbfd6d70fd",
                "983f9792bad354377a89a2392caa6bac9c65bd83df430c9af9dd487f94a639cd",
                "2b2af21c0f87d8c0a6a81ca3a01775d43726f0a6499126762a2d7fbd665140a6",
            ]
        );
    }
}
