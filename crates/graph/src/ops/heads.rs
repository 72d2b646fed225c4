//! `SplitHeads` / `MergeHeads`: the reshapes between `[T, H·d]` and `[H, T, d]`.
//!
//! Split: `y[h, t, c] = x[t, h·d + c]`; Merge is its inverse. Bounds unchanged. Proven as a
//! relabelling of the multilinear variables (head bits move from the column index to the front).

use super::*;

/// `[T, H·d] → [H, T, d]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitHeads {
    /// Number of heads `H`.
    pub heads: usize,
}

/// `[H, T, d] → [T, H·d]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeHeads;

impl IntOp for SplitHeads {
    fn name(&self) -> &'static str {
        "SplitHeads"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        match s[0] {
            &[t, c] if self.heads > 0 && c % self.heads == 0 => Ok(vec![self.heads, t, c / self.heads]),
            _ => Err(shape_err(self.name(), format!("{:?} into {} heads", s[0], self.heads))),
        }
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 1, b.len())?;
        Ok(b[0])
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let x = act(self.name(), inputs, 0)?;
        let (h, t, d) = (shape[0], shape[1], shape[2]);
        let mut data = Vec::with_capacity(x.len());
        for hh in 0..h {
            for tt in 0..t {
                data.extend_from_slice(&x.data[tt * h * d + hh * d..tt * h * d + (hh + 1) * d]);
            }
        }
        Ok(IntTensor { shape, data })
    }
}

impl IntOp for MergeHeads {
    fn name(&self) -> &'static str {
        "MergeHeads"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        match s[0] {
            &[h, t, d] => Ok(vec![t, h * d]),
            _ => Err(shape_err(self.name(), format!("{:?}", s[0]))),
        }
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 1, b.len())?;
        Ok(b[0])
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let x = act(self.name(), inputs, 0)?;
        let (h, t, d) = (x.shape[0], x.shape[1], x.shape[2]);
        let mut data = Vec::with_capacity(x.len());
        for tt in 0..t {
            for hh in 0..h {
                data.extend_from_slice(&x.data[(hh * t + tt) * d..(hh * t + tt + 1) * d]);
            }
        }
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `heads` (`u64`, ≤ 2^30).
impl OpParams for SplitHeads {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.heads as u64);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(SplitHeads { heads: read_size(r, "head count")? })
    }
}
