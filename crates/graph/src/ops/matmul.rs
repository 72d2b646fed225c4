//! `MatMul`: activation × committed weight matrix, plus an optional committed bias.
//!
//! Operands: `x: [T, K]` (activation, `|x| < 2^31`), `w: [N, K]` (weight, the GGUF's `[out, in]`
//! layout), optional `b: [N]` (weight, already in the accumulator scale `2^-(f_x + f_w)`).
//! Output `y: [T, N]`, `y[t, n] = Σ_k x[t, k]·w[n, k] + b[n]`, exact (no rounding; a
//! [`Rescale`](super::rescale::Rescale) follows). Proven by a sumcheck over `k`.
//! Bound: `bits(y) = max(bits(x) + bits(w) + ceil(log2 K), bits(b)) + 1`, which must be ≤ 62.

use super::*;
use p3_maybe_rayon::prelude::*;

/// Dense layer `x · wᵀ + b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatMul {
    /// Whether a third operand (the bias) is present.
    pub has_bias: bool,
}

/// Weight rows per parallel task.
const ROWS_PER_TASK: usize = 16;

/// `Σ_k x[k]·w[k]`, exact in `i64` (`|x| < 2^31`, `|w| < 2^15`, `K < 2^16` keeps it below 2^62).
#[inline]
pub fn dot_i32_i16(x: &[i32], w: &[i16]) -> i64 {
    // The plain form vectorizes best (sign-extend, 64-bit multiply-add lanes); measured faster
    // than hand-split accumulators or 16-bit limb variants.
    x.iter().zip(w).map(|(a, b)| *a as i64 * *b as i64).sum()
}

/// `y[t, n] = Σ_k x[t, k]·w[n, k] + bias[n]` over `i64`, rows of `w` in parallel.
/// Requires `x.len() = t·k`, `w.len() = n·k`, `bias.len() = n` (checked by the caller).
pub fn matmul_kernel(x: &[i32], t: usize, k: usize, w: &[i16], n: usize, bias: Option<&[i64]>) -> Vec<i64> {
    // Compute the transpose [n, t] so each task streams its weight rows once for all positions.
    let mut out_t = vec![0i64; n * t];
    if t == 0 || n == 0 {
        return out_t;
    }
    // At least ROWS_PER_TASK rows per task, and no more than ~64 tasks for large matrices.
    let rows = ROWS_PER_TASK.max(n / 64);
    out_t.par_chunks_mut(rows * t).enumerate().for_each(|(task, chunk)| {
        for (jj, row_out) in chunk.chunks_mut(t).enumerate() {
            let j = task * rows + jj;
            let wrow = &w[j * k..(j + 1) * k];
            let b = bias.map_or(0, |b| b[j]);
            for (ti, o) in row_out.iter_mut().enumerate() {
                *o = dot_i32_i16(&x[ti * k..(ti + 1) * k], wrow) + b;
            }
        }
    });
    if t == 1 {
        return out_t;
    }
    let mut out = vec![0i64; n * t];
    for j in 0..n {
        for ti in 0..t {
            out[ti * n + j] = out_t[j * t + ti];
        }
    }
    out
}

impl IntOp for MatMul {
    fn name(&self) -> &'static str {
        "MatMul"
    }
    fn slots(&self) -> Vec<SlotKind> {
        let mut s = vec![SlotKind::Act, SlotKind::Weight];
        if self.has_bias {
            s.push(SlotKind::Weight);
        }
        s
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2 + self.has_bias as usize, s.len())?;
        let (&[t, k], &[n, k2]) = (s[0], s[1]) else {
            return Err(shape_err(self.name(), format!("x {:?}, w {:?}", s[0], s[1])));
        };
        if k != k2 {
            return Err(shape_err(self.name(), format!("inner dims {k} vs {k2}")));
        }
        if self.has_bias && s[2] != [n] {
            return Err(shape_err(self.name(), format!("bias {:?} for {n} outputs", s[2])));
        }
        Ok(vec![t, n])
    }
    fn out_bits(&self, s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        self.output_shape(s)?;
        let k = s[0][1];
        if k > 1 << 16 {
            return Err(shape_err(self.name(), format!("inner dimension {k} > 2^16")));
        }
        want_len(self.name(), 2 + self.has_bias as usize, b.len())?;
        if b[0] > 31 || b[1] > 15 {
            return Err(OpError::Range {
                op: self.name(),
                msg: format!("operands need |x| < 2^31 and |w| < 2^15, got 2^{} and 2^{}", b[0], b[1]),
            });
        }
        let products = b[0] + b[1] + ceil_log2(k);
        let with_bias = if self.has_bias { products.max(b[2]) + 1 } else { products };
        check_bits(self.name(), with_bias)
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        let shape = self.output_shape(&shapes_of(inputs))?;
        let x = act(self.name(), inputs, 0)?;
        let w = weight(self.name(), inputs, 1)?;
        let (t, k, n) = (x.shape[0], x.shape[1], w.shape[0]);
        if k > 1 << 16 {
            return Err(shape_err(self.name(), format!("inner dimension {k} > 2^16")));
        }
        let crate::tensor::WeightValues::I16(wv) = &w.values else {
            return Err(OpError::Operands { op: self.name(), msg: "weight matrix must be stored as i16".into() });
        };
        let bias = if self.has_bias {
            match &weight(self.name(), inputs, 2)?.values {
                crate::tensor::WeightValues::I64(b) => Some(b.as_slice()),
                crate::tensor::WeightValues::I16(_) => {
                    return Err(OpError::Operands { op: self.name(), msg: "bias must be stored as i64".into() });
                }
            }
        } else {
            None
        };
        if let Some(b) = bias
            && b.iter().any(|v| v.unsigned_abs() >= 1 << 61)
        {
            return Err(OpError::Range { op: self.name(), msg: "bias reaches 2^61".into() });
        }
        let xi: Vec<i32> = x
            .data
            .iter()
            .map(|&v| i32::try_from(v))
            .collect::<Result<_, _>>()
            .map_err(|_| OpError::Range { op: self.name(), msg: "activation does not fit in i32".into() })?;
        let data = matmul_kernel(&xi, t, k, wv, n, bias);
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `has_bias` (one byte, 0 or 1).
impl OpParams for MatMul {
    fn encode_params(&self, w: &mut Writer) {
        w.u8(self.has_bias as u8);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(MatMul { has_bias: read_bool(r, "MatMul bias flag")? })
    }
}
