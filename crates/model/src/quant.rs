//! Fixed-point parameters and weight quantization (see `docs/QUANTIZATION.md`).
//!
//! All quantization happens once, at setup, from the dequantized GGUF floats; evaluation is
//! integer-only. Rounding is `f64::round` (half away from zero) on exact `f32 · 2^k` products.

use crate::tensor::{WeightTensor, WeightValues};

/// The global fixed-point choices of the integer model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantConfig {
    /// `A`: fractional bits of the residual stream and of every matmul input/output.
    pub act_frac: u32,
    /// Fractional bits of GELU inputs (the table covers `[−32, 32)` at 10 bits).
    pub gelu_in_frac: u32,
    /// Fractional bits of the attention scores entering softmax (after the `1/sqrt(d)` shift).
    pub score_frac: u32,
    /// `E`: `EXP[0] = 2^E`.
    pub exp_frac: u32,
    /// `P`: fractional bits of attention probabilities.
    pub prob_frac: u32,
    /// `K`: fractional bits of LayerNorm's normalised value `d·inv`.
    pub ln_k: u32,
    /// Magnitude bound (bits) of activations entering a matmul; larger static bounds get a Clamp.
    pub matmul_in_bits: u32,
    /// Bits of the quantized LayerNorm gains (`|gamma| < 2^gamma_bits`).
    pub gamma_bits: u32,
    /// Bits of the quantized weight matrices (`|w| < 2^weight_bits`, stored as `i16`).
    pub weight_bits: u32,
}

impl Default for QuantConfig {
    fn default() -> Self {
        Self {
            act_frac: 12,
            gelu_in_frac: 10,
            score_frac: 12,
            exp_frac: 20,
            prob_frac: 16,
            ln_k: 30,
            matmul_in_bits: 24,
            gamma_bits: 16,
            weight_bits: 15,
        }
    }
}

/// The largest `f` with `round(max|v| · 2^f) < 2^bits` (0 for an all-zero tensor), in `[-30, 40]`.
pub fn choose_frac(values: &[f32], bits: u32) -> i32 {
    let max = values.iter().fold(0f64, |m, v| m.max((*v as f64).abs()));
    if max == 0.0 || !max.is_finite() {
        return 0;
    }
    let limit = (1u64 << bits) as f64 - 1.0;
    let mut f = (limit / max).log2().floor() as i32;
    // Guard the floor against rounding in log2.
    while f > -30 && (max * (f as f64).exp2()).round() > limit {
        f -= 1;
    }
    f.clamp(-30, 40)
}

/// `round(v · 2^frac)` for every value, saturated to `±(2^bits − 1)`.
pub fn quantize_at(values: &[f32], frac: i32, bits: u32) -> Vec<i64> {
    let limit = (1i64 << bits) - 1;
    let scale = (frac as f64).exp2();
    values
        .iter()
        .map(|&v| {
            let x = (v as f64 * scale).round();
            if x.is_nan() { 0 } else { (x.clamp(-(limit as f64), limit as f64)) as i64 }
        })
        .collect()
}

/// A matrix quantized to `i16` with its own per-tensor shift.
pub fn quantize_matrix(shape: Vec<usize>, values: &[f32], bits: u32) -> WeightTensor {
    let bits = bits.min(15);
    let frac = choose_frac(values, bits);
    let q = quantize_at(values, frac, bits).into_iter().map(|v| v as i16).collect();
    WeightTensor { shape, frac_bits: frac, values: WeightValues::I16(q) }
}

/// A vector quantized to `i64` at a given position, saturated to `±(2^bits − 1)`.
pub fn quantize_vector_at(shape: Vec<usize>, values: &[f32], frac: i32, bits: u32) -> WeightTensor {
    WeightTensor { shape, frac_bits: frac, values: WeightValues::I64(quantize_at(values, frac, bits)) }
}

/// A norm gain (LayerNorm, RMSNorm) at the most precise position `g ≤ choose_frac(γ, gamma_bits)`
/// whose rounding shift `s = K + g − A` satisfies `1 ≤ s` and `fits(s, gain)` (the op's bound
/// `s + out_bits ≤ 62`; the output's bound does not grow with `g`). Only tiny gains are affected
/// (e.g. `|γ| ≈ 10^−9`, whose `g` would be 40): lowering `g` to `62 − out_bits − K + A` still
/// resolves the gain far below one unit of the output (`|d·inv·γ·2^−s|`'s quantisation error is
/// `≤ sqrt(n)·2^−(g+1)` in units of `2^−A`'s real value, i.e. below half an output unit whenever
/// `g ≥ A + log2(n)/2`). Below shift 1 nothing fits: the graph builder reports it.
pub fn quantize_norm_gain(q: &QuantConfig, shape: &[usize], values: &[f32], fits: impl Fn(u32, &WeightTensor) -> bool) -> WeightTensor {
    let a = q.act_frac as i32;
    let mut frac = choose_frac(values, q.gamma_bits);
    loop {
        let t = quantize_vector_at(shape.to_vec(), values, frac, q.gamma_bits);
        let shift = q.ln_k as i32 + frac - a;
        if ((1..=62).contains(&shift) && fits(shift as u32, &t)) || shift <= 1 {
            return t;
        }
        frac -= 1;
    }
}
