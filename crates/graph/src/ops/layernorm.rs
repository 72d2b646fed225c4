//! `LayerNorm`: per-row normalisation with integer statistics, then the affine map.
//!
//! Operands: `x: [T, n]` (activation, `|x| < 2^b` with `2b + 2 + ceil(log2 n) ≤ 62`),
//! `gamma: [n]`, `beta: [n]` (weights; `beta` in the output scale). Per row, exactly:
//!
//! ```text
//! mean = floor(Σ_c x_c / n)                 (Σx = n·mean + r₁,  0 ≤ r₁ < n)
//! d_c  = x_c − mean
//! var  = floor(Σ_c d_c² / n)                (Σd² = n·var + r₂,  0 ≤ r₂ < n)
//! inv  = the unique integer ≥ 0 with  inv²·(var + eps) ≤ 2^(2K) < (inv + 1)²·(var + eps)
//! y_c  = floor((d_c·inv·gamma_c + 2^(s−1)) / 2^s) + beta_c
//! ```
//!
//! `inv ≈ 2^K / σ` (σ in units of x), so `d·inv` is the normalised value at scale `2^-K`; with
//! `gamma` at scale `2^-g` and `s = K + g − f_out` the output has `f_out` fractional bits.
//! `eps ≥ 1` (the float epsilon in units of `x²`, rounded, at least 1) guarantees
//! `|d·inv| < sqrt(n)·2^K`, hence `bits(d·inv·gamma) ≤ K + ceil(ceil(log2 n)/2) + bits(gamma)`.
//! The inverse square root is proven with two range checks (both differences are ≥ 0 and
//! < 2^62 because `2K ≤ 60`).
//!
//! **Rounding bound.** The output is proven as `d·inv·gamma + 2^(s−1) = 2^s·(y − beta) + r` with
//! `|y| < 2^out_bits` and `0 ≤ r < 2^s` range-checked; that identity, checked modulo `p`, has one
//! solution only if `2^s·2^out_bits` stays well below `p`, so [`LayerNorm::out_bits`] refuses
//! `s + out_bits > 62` (the proof's own check, `zkinfer_ops::bounds`, accepts every such graph).
//! Setup keeps `s` small enough by capping the gain's fractional bits
//! ([`crate::gpt2::quantize_weights`]): `s = K + g − f_out` grows with `g`, `out_bits` does not.

use super::*;

/// Integer LayerNorm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerNorm {
    /// Epsilon in units of `x²` (≥ 1).
    pub eps: i64,
    /// Fractional bits of the normalised value `d·inv` (≤ 30).
    pub k: u32,
    /// Final rounding shift `s ≥ 1`.
    pub shift: u32,
}

/// The per-row statistics of [`LayerNorm`] (the prover's witness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowStats {
    /// `floor(Σx / n)`.
    pub mean: i64,
    /// `floor(Σ(x − mean)² / n)`.
    pub var: i64,
    /// `floor(2^K / sqrt(var + eps))`.
    pub inv: i64,
}

/// The largest `inv ≥ 0` with `inv²·v ≤ 2^(2k)` (`v ≥ 1`, `k ≤ 31`).
pub fn inv_sqrt(v: u64, k: u32) -> u64 {
    // floor(sqrt(floor(N / v))) = floor(sqrt(N / v)) for integers N, v ≥ 1.
    let q = (1u128 << (2 * k)) / v.max(1) as u128;
    (q as u64).isqrt()
}

/// Largest input bound `b` (`|x| < 2^b`) a LayerNorm over rows of `n` accepts.
pub fn max_input_bits(n: usize) -> u32 {
    (MAX_BITS - 2 - ceil_log2(n)) / 2
}

impl LayerNorm {
    /// Mean, variance and inverse square root of one row.
    pub fn row_stats(&self, row: &[i64]) -> RowStats {
        let n = row.len().max(1) as i64;
        let sum: i64 = row.iter().sum();
        let mean = sum.div_euclid(n);
        let sq: i64 = row.iter().map(|&x| (x - mean) * (x - mean)).sum();
        let var = sq.div_euclid(n);
        let inv = inv_sqrt((var + self.eps) as u64, self.k) as i64;
        RowStats { mean, var, inv }
    }

    fn check_params(&self) -> Result<(), OpError> {
        if self.eps < 1 || self.eps >= 1 << 40 || self.k > 30 || self.shift == 0 || self.shift > 62 {
            return Err(OpError::Range {
                op: "LayerNorm",
                msg: format!("need 1 ≤ eps < 2^40, K ≤ 30, 1 ≤ shift ≤ 62; got {self:?}"),
            });
        }
        Ok(())
    }
}

impl IntOp for LayerNorm {
    fn name(&self) -> &'static str {
        "LayerNorm"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Weight, SlotKind::Weight]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 3, s.len())?;
        match (s[0], s[1], s[2]) {
            (&[t, n], &[g], &[b]) if g == n && b == n && n > 0 => Ok(vec![t, n]),
            _ => Err(shape_err(self.name(), format!("x {:?}, gamma {:?}, beta {:?}", s[0], s[1], s[2]))),
        }
    }
    fn out_bits(&self, s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        self.output_shape(s)?;
        self.check_params()?;
        let n = s[0][1];
        if b[0] > max_input_bits(n) {
            return Err(OpError::Range {
                op: self.name(),
                msg: format!("input bound 2^{} exceeds 2^{} for rows of {n}", b[0], max_input_bits(n)),
            });
        }
        let acc = check_bits(self.name(), self.k + ceil_log2(n).div_ceil(2) + b[1])?;
        let scaled = (acc as i64 - self.shift as i64 + 1).max(1) as u32;
        let out = check_bits(self.name(), scaled.max(b[2]) + 1)?;
        if self.shift + out > MAX_BITS {
            return Err(OpError::Range {
                op: self.name(),
                msg: format!("shift {} with outputs of {out} bits: the rounding needs shift + out_bits ≤ {MAX_BITS}", self.shift),
            });
        }
        Ok(out)
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        let shape = self.output_shape(&shapes_of(inputs))?;
        self.check_params()?;
        let x = act(self.name(), inputs, 0)?;
        let gamma = weight(self.name(), inputs, 1)?.to_i64_vec();
        let beta = weight(self.name(), inputs, 2)?.to_i64_vec();
        let n = shape[1];
        let limit = 1i64 << max_input_bits(n);
        if x.data.iter().any(|v| v.abs() >= limit) {
            return Err(OpError::Range { op: self.name(), msg: format!("input reaches 2^{}", max_input_bits(n)) });
        }
        let mut data = Vec::with_capacity(x.len());
        for row in x.data.chunks(n) {
            let st = self.row_stats(row);
            for c in 0..n {
                let acc = (row[c] - st.mean) * st.inv * gamma[c];
                data.push(super::rescale::rescale_value(acc, self.shift as i32) + beta[c]);
            }
        }
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `eps` (`i64`), `k`, `shift` (`u32`); their ranges are checked by
/// [`IntOp::out_bits`].
impl OpParams for LayerNorm {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.eps as u64);
        w.u32(self.k);
        w.u32(self.shift);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(LayerNorm { eps: r.u64("LayerNorm eps")? as i64, k: r.u32("LayerNorm K")?, shift: r.u32("LayerNorm shift")? })
    }
}
