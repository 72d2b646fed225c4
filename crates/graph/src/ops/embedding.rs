//! `Embedding`: gather rows of a committed table by public ids.
//!
//! Operands: `ids: [T]` (public, each in `[0, R)`), `table: [R, D]` (weight).
//! Output `y: [T, D]`, `y[t, c] = table[ids[t], c]`. Bound: `bits(y) = bits(table)`.
//! Proving: the output is a row selection of a committed matrix by public indices, i.e.
//! `ỹ(r_t, r_c) = Σ_t eq(r_t, t) · tablẽ(ids[t], r_c)`.

use super::*;

/// Row gather (token or position embedding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedding;

impl IntOp for Embedding {
    fn name(&self) -> &'static str {
        "Embedding"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Weight]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        match (s[0], s[1]) {
            ([t], [_, d]) => Ok(vec![*t, *d]),
            _ => Err(shape_err(self.name(), format!("ids {:?}, table {:?}", s[0], s[1]))),
        }
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 2, b.len())?;
        Ok(b[1])
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 2, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let ids = act(self.name(), inputs, 0)?;
        let table = weight(self.name(), inputs, 1)?;
        let (rows, d) = (table.shape[0], table.shape[1]);
        let mut data = Vec::with_capacity(ids.len() * d);
        for &id in &ids.data {
            let row = usize::try_from(id)
                .ok()
                .filter(|&r| r < rows)
                .ok_or_else(|| OpError::Range { op: self.name(), msg: format!("id {id} not in [0, {rows})") })?;
            for c in 0..d {
                // In range: row < rows, c < d.
                data.push(table.get(row * d + c).unwrap_or(0));
            }
        }
        Ok(IntTensor { shape, data })
    }
}
