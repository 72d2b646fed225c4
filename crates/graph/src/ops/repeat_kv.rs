//! `RepeatKv { group }`: grouped-query attention's head sharing, `[H_kv, T, d] → [H_kv·group, T, d]`
//! with `y[h, t, c] = x[h / group, t, c]` (query head `h` reads KV head `⌊h / group⌋`, as in
//! llama.cpp's broadcast `mul_mat` and transformers' `repeat_kv`). Bounds unchanged. A copy:
//! proven as a relabelling of the multilinear variables (the low `log2 group` head bits are
//! dropped), like the head reshapes.

use super::*;

/// GQA head repetition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatKv {
    /// Query heads per KV head (`n_head / n_head_kv`, ≥ 1).
    pub group: usize,
}

impl IntOp for RepeatKv {
    fn name(&self) -> &'static str {
        "RepeatKv"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        match s[0] {
            &[h, t, d] if self.group >= 1 && self.group <= 1 << 16 => Ok(vec![h * self.group, t, d]),
            _ => Err(shape_err(self.name(), format!("{:?} repeated {} times", s[0], self.group))),
        }
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 1, b.len())?;
        Ok(b[0])
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        let shape = self.output_shape(&shapes_of(inputs))?;
        let x = act(self.name(), inputs, 0)?;
        let block = shape[1] * shape[2];
        let mut data = Vec::with_capacity(shape[0] * block);
        for h in 0..shape[0] {
            let src = h / self.group;
            data.extend_from_slice(&x.data[src * block..(src + 1) * block]);
        }
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `group` (`u64`, ≤ 2^30).
impl OpParams for RepeatKv {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.group as u64);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(RepeatKv { group: read_size(r, "RepeatKv group")? })
    }
}
