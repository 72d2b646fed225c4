//! `RmsNorm`: per-row root-mean-square normalisation with integer statistics, then the gain.
//!
//! Operands: `x: [T, n]` (activation, `|x| < 2^b` with `2b + 2 + ceil(log2 n) ≤ 62`, the same
//! input bound as [`LayerNorm`](super::layernorm)), `gamma: [n]` (weight). Per row, exactly:
//!
//! ```text
//! ms  = floor(Σ_c x_c² / n)                 (Σx² = n·ms + r,  0 ≤ r < n)
//! inv = the unique integer ≥ 0 with  inv²·(ms + eps) ≤ 2^(2K) < (inv + 1)²·(ms + eps)
//! y_c = floor((x_c·inv·gamma_c + 2^(s−1)) / 2^s)
//! ```
//!
//! **Groups** (Gemma 3's per-head QK-norm): with `gamma: [g]`, `g < n`, each row of `n = G·g`
//! entries is `G` rows of `g` (`G` and `g` powers of two), normalised one by one with the same
//! gain; read the relation above with `x: [T·G, g]`. With both powers of two the padded tables of
//! `[T, G·g]` and `[T·G, g]` are one table (see `zkinfer_ops::layout`), so the proof is the same
//! relation on that view and the bounds below hold with `n` replaced by `g`.
//!
//! This is LayerNorm's relation without the mean (and without `beta`): `inv ≈ 2^K / rms(x)`, so
//! `x·inv` is the normalised value at scale `2^-K`; with `gamma` at `2^-g` and
//! `s = K + g − f_out` the output has `f_out` fractional bits. `eps ≥ 1` (the float epsilon in
//! units of `x²`, rounded, at least 1) gives `x_c² ≤ Σx² < n·(ms + 1) ≤ n·(ms + eps)`, hence
//! `|x·inv| < sqrt(n)·2^K` and `bits(x·inv·gamma) ≤ K + ceil(ceil(log2 n)/2) + bits(gamma)`.
//!
//! **No wrap.** `Σx² < n·2^(2b) ≤ 2^60`; `inv²·(ms + eps)` and `(inv+1)²·(ms + eps)` stay below
//! `2^62` because `2K ≤ 60` (the same two range checks as LayerNorm); the rounding identity
//! `x·inv·gamma + 2^(s−1) = 2^s·y + r` has one solution since [`RmsNorm::out_bits`] refuses
//! `s + out_bits > 62`.

use super::layernorm::{inv_sqrt, max_input_bits};
use super::*;

/// Integer RMSNorm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmsNorm {
    /// Epsilon in units of `x²` (≥ 1).
    pub eps: i64,
    /// Fractional bits of the normalised value `x·inv` (≤ 30).
    pub k: u32,
    /// Final rounding shift `s ≥ 1`.
    pub shift: u32,
}

/// The per-row statistics of [`RmsNorm`] (the prover's witness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmsStats {
    /// `floor(Σx² / n)`.
    pub ms: i64,
    /// `floor(2^K / sqrt(ms + eps))`.
    pub inv: i64,
}

impl RmsNorm {
    /// Mean square and inverse square root of one row.
    pub fn row_stats(&self, row: &[i64]) -> RmsStats {
        let n = row.len().max(1) as i64;
        let sq: i64 = row.iter().map(|&x| x * x).sum();
        let ms = sq.div_euclid(n);
        let inv = inv_sqrt((ms + self.eps) as u64, self.k) as i64;
        RmsStats { ms, inv }
    }

    fn check_params(&self) -> Result<(), OpError> {
        if self.eps < 1 || self.eps >= 1 << 40 || self.k > 30 || self.shift == 0 || self.shift > 62 {
            return Err(OpError::Range { op: "RmsNorm", msg: format!("need 1 ≤ eps < 2^40, K ≤ 30, 1 ≤ shift ≤ 62; got {self:?}") });
        }
        Ok(())
    }
}

/// The normalised row length of `x: [T, n]` with `gamma: [g]`: `n` when `g = n`, else `g` when
/// `g` and `n / g` are powers of two (groups; see the module doc).
pub fn group_len(n: usize, g: usize) -> Option<usize> {
    if g == n && n > 0 {
        return Some(n);
    }
    (g > 0 && g < n && n.is_multiple_of(g) && g.is_power_of_two() && (n / g).is_power_of_two()).then_some(g)
}

impl IntOp for RmsNorm {
    fn name(&self) -> &'static str {
        "RmsNorm"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Weight]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        match (s[0], s[1]) {
            (&[t, n], &[g]) if group_len(n, g).is_some() => Ok(vec![t, n]),
            _ => Err(shape_err(self.name(), format!("x {:?}, gamma {:?}", s[0], s[1]))),
        }
    }
    fn out_bits(&self, s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        self.output_shape(s)?;
        want_len(self.name(), 2, b.len())?;
        self.check_params()?;
        let n = s[1][0];
        if b[0] > max_input_bits(n) {
            return Err(OpError::Range { op: self.name(), msg: format!("input bound 2^{} exceeds 2^{} for rows of {n}", b[0], max_input_bits(n)) });
        }
        let acc = check_bits(self.name(), self.k + ceil_log2(n).div_ceil(2) + b[1])?;
        let out = check_bits(self.name(), (acc as i64 - self.shift as i64 + 1).max(1) as u32)?;
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
        let n = gamma.len();
        let limit = 1i64 << max_input_bits(n);
        if x.data.iter().any(|v| v.abs() >= limit) {
            return Err(OpError::Range { op: self.name(), msg: format!("input reaches 2^{}", max_input_bits(n)) });
        }
        let mut data = Vec::with_capacity(x.len());
        for row in x.data.chunks(n) {
            let st = self.row_stats(row);
            for c in 0..n {
                data.push(super::rescale::rescale_value(row[c] * st.inv * gamma[c], self.shift as i32));
            }
        }
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `eps` (`i64`), `k`, `shift` (`u32`); their ranges are checked by
/// [`IntOp::out_bits`].
impl OpParams for RmsNorm {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.eps as u64);
        w.u32(self.k);
        w.u32(self.shift);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(RmsNorm { eps: r.u64("RmsNorm eps")? as i64, k: r.u32("RmsNorm K")?, shift: r.u32("RmsNorm shift")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{WeightTensor, WeightValues};

    #[test]
    fn matches_float_rmsnorm_and_bounds() {
        let n = 7;
        let op = RmsNorm { eps: 1, k: 30, shift: 30 + 12 - 12 };
        let x = IntTensor { shape: vec![3, n], data: (0..3 * n as i64).map(|i| (i * 7919 % 1001) - 500).collect() };
        let g = WeightTensor { shape: vec![n], frac_bits: 12, values: WeightValues::I64(vec![4096; n]) };
        let y = op.eval_int(&[Operand::Act(&x), Operand::Weight(&g)]).expect("ok");
        let bits = op.out_bits(&[&[3, n], &[n]], &[10, 13]).expect("ok");
        for (row, yr) in x.data.chunks(n).zip(y.data.chunks(n)) {
            let rms = (row.iter().map(|&v| (v * v) as f64).sum::<f64>() / n as f64).sqrt();
            for (&a, &b) in row.iter().zip(yr) {
                assert!((a as f64 / rms * 4096.0 - b as f64).abs() <= 2.0, "{a} {b}");
                assert!(b.unsigned_abs() < 1 << bits);
            }
        }
        // An input beyond the bound is refused.
        let big = IntTensor { shape: vec![1, n], data: vec![1 << 40; n] };
        assert!(op.eval_int(&[Operand::Act(&big), Operand::Weight(&g)]).is_err());
    }
}
