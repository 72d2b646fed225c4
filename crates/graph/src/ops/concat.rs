//! `ConcatSeq`: append new keys/values to the cached ones along the sequence axis.
//!
//! `a: [H, P, d]`, `b: [H, M, d]` → `y: [H, P + M, d]`, `y[h, j] = a[h, j]` for `j < P`, else
//! `b[h, j − P]`. Only used by KV-cache generation graphs; the proven single forward pass over
//! prompt + completion has no cache and no `ConcatSeq`.

use super::*;

/// Sequence-axis concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcatSeq;

impl IntOp for ConcatSeq {
    fn name(&self) -> &'static str {
        "ConcatSeq"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        match (s[0], s[1]) {
            (&[h, p, d], &[h2, m, d2]) if h == h2 && d == d2 => Ok(vec![h, p + m, d]),
            _ => Err(shape_err(self.name(), format!("{:?} ++ {:?}", s[0], s[1]))),
        }
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 2, b.len())?;
        Ok(b[0].max(b[1]))
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 2, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let (a, b) = (act(self.name(), inputs, 0)?, act(self.name(), inputs, 1)?);
        let (h, p, m, d) = (a.shape[0], a.shape[1], b.shape[1], a.shape[2]);
        let mut data = Vec::with_capacity(a.len() + b.len());
        for hh in 0..h {
            data.extend_from_slice(&a.data[hh * p * d..(hh + 1) * p * d]);
            data.extend_from_slice(&b.data[hh * m * d..(hh + 1) * m * d]);
        }
        Ok(IntTensor { shape, data })
    }
}
