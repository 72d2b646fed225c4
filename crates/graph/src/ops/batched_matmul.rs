//! `BatchedMatMul`: activation × activation, one independent product per head.
//!
//! `transpose_b = true` (scores `Q·Kᵀ`): `a: [H, M, K]`, `b: [H, N, K]`,
//! `y[h, m, n] = Σ_k a[h, m, k]·b[h, n, k]`.
//! `transpose_b = false` (`P·V`): `a: [H, M, K]`, `b: [H, K, N]`,
//! `y[h, m, n] = Σ_k a[h, m, k]·b[h, k, n]`.
//! Exact over `i64`; proven by a sumcheck over `k` (both operands are committed activations).
//! Bound: `bits(y) = bits(a) + bits(b) + ceil(log2 K)`, which must be ≤ 62.

use super::*;
use p3_maybe_rayon::prelude::*;

/// Per-head product of two activations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchedMatMul {
    /// Contract over the last axis of both operands (`a·bᵀ`) instead of `a·b`.
    pub transpose_b: bool,
}

impl BatchedMatMul {
    /// `(H, M, K, N)` of a well-formed operand pair.
    fn dims(&self, a: &[usize], b: &[usize]) -> Result<(usize, usize, usize, usize), OpError> {
        let (&[h, m, k], &[h2, x, y]) = (a, b) else {
            return Err(shape_err(self.name(), format!("a {a:?}, b {b:?}")));
        };
        let (k2, n) = if self.transpose_b { (y, x) } else { (x, y) };
        if h != h2 || k != k2 {
            return Err(shape_err(self.name(), format!("a {a:?}, b {b:?} (transpose_b = {})", self.transpose_b)));
        }
        Ok((h, m, k, n))
    }
}

impl IntOp for BatchedMatMul {
    fn name(&self) -> &'static str {
        "BatchedMatMul"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        let (h, m, _, n) = self.dims(s[0], s[1])?;
        Ok(vec![h, m, n])
    }
    fn out_bits(&self, s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 2, s.len())?;
        let (_, _, k, _) = self.dims(s[0], s[1])?;
        check_bits(self.name(), b[0] + b[1] + ceil_log2(k))
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 2, inputs.len())?;
        let (a, b) = (act(self.name(), inputs, 0)?, act(self.name(), inputs, 1)?);
        let (h, m, k, n) = self.dims(&a.shape, &b.shape)?;
        let mut data = vec![0i64; h * m * n];
        if data.is_empty() {
            return Ok(IntTensor { shape: vec![h, m, n], data });
        }
        let transpose_b = self.transpose_b;
        data.par_chunks_mut(m * n).enumerate().for_each(|(head, out)| {
            let ah = &a.data[head * m * k..(head + 1) * m * k];
            let bh = &b.data[head * k * n..(head + 1) * k * n];
            for i in 0..m {
                let arow = &ah[i * k..(i + 1) * k];
                let orow = &mut out[i * n..(i + 1) * n];
                if transpose_b {
                    for (j, o) in orow.iter_mut().enumerate() {
                        let brow = &bh[j * k..(j + 1) * k];
                        *o = arow.iter().zip(brow).map(|(x, y)| x.wrapping_mul(*y)).fold(0i64, i64::wrapping_add);
                    }
                } else {
                    for (kk, &av) in arow.iter().enumerate() {
                        if av == 0 {
                            continue;
                        }
                        let brow = &bh[kk * n..(kk + 1) * n];
                        for (o, &bv) in orow.iter_mut().zip(brow) {
                            *o = o.wrapping_add(av.wrapping_mul(bv));
                        }
                    }
                }
            }
        });
        Ok(IntTensor { shape: vec![h, m, n], data })
    }
}

/// Key fields: `transpose_b` (one byte, 0 or 1).
impl OpParams for BatchedMatMul {
    fn encode_params(&self, w: &mut Writer) {
        w.u8(self.transpose_b as u8);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(BatchedMatMul { transpose_b: read_bool(r, "BatchedMatMul transpose flag")? })
    }
}
