//! `SliceCols { start, len }`: columns `[start, start + len)` of a matrix `[T, C]`.
//!
//! `y[t, c] = x[t, start + c]`; `bits(y) = bits(x)`. Proven as a claim on `x` at the point
//! whose column coordinates are shifted (a pure relabelling; used to split the fused QKV).

use super::*;

/// Column slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceCols {
    /// First column taken.
    pub start: usize,
    /// Number of columns taken.
    pub len: usize,
}

impl IntOp for SliceCols {
    fn name(&self) -> &'static str {
        "SliceCols"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        match s[0] {
            &[t, c] if self.start.checked_add(self.len).is_some_and(|e| e <= c) => Ok(vec![t, self.len]),
            _ => Err(shape_err(self.name(), format!("{:?} for columns {}+{}", s[0], self.start, self.len))),
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
        let c = x.shape[1];
        let data = x.data.chunks(c.max(1)).flat_map(|row| row[self.start..self.start + self.len].iter().copied()).collect();
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `start`, `len` (`u64`, ≤ 2^30).
impl OpParams for SliceCols {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.start as u64);
        w.u64(self.len as u64);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(SliceCols { start: read_size(r, "slice start")?, len: read_size(r, "slice length")? })
    }
}
