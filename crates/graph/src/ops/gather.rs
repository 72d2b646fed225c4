//! `GatherRows`: rows of an activation selected by PUBLIC row indices.
//!
//! Operands: `rows: [N]` (public, each in `[0, T)`), `x: [T, D]` (activation). Output `y: [N, D]`,
//! `y[i, c] = x[rows[i], c]`. Bound: `bits(y) = bits(x)`.
//!
//! Used to keep "only what is needed" (issue 12): the proven pass computes the LM head and the
//! argmax only at the positions whose prediction is part of the statement (the last prompt
//! position and the completion), gathering those rows of the final residual stream. Proving is
//! the embedding's row selection with the activation as the table:
//! `ỹ(r_i, r_c) = Σ_j S(j)·x̃(j, r_c)`, `S(j) = Σ_i eq(r_i, i)·[rows_i = j]`.

use super::*;

/// Row gather of an activation by public indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherRows;

impl IntOp for GatherRows {
    fn name(&self) -> &'static str {
        "GatherRows"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        match (s[0], s[1]) {
            ([n], [_, d]) => Ok(vec![*n, *d]),
            _ => Err(shape_err(self.name(), format!("rows {:?}, x {:?}", s[0], s[1]))),
        }
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 2, b.len())?;
        Ok(b[1])
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 2, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let rows = act(self.name(), inputs, 0)?;
        let x = act(self.name(), inputs, 1)?;
        let (t, d) = (x.shape[0], x.shape[1]);
        let mut data = Vec::with_capacity(rows.len() * d);
        for &r in &rows.data {
            let r = usize::try_from(r)
                .ok()
                .filter(|&r| r < t)
                .ok_or_else(|| OpError::Range { op: self.name(), msg: format!("row {r} not in [0, {t})") })?;
            let row = x.data.get(r * d..(r + 1) * d).ok_or_else(|| shape_err(self.name(), "x holds fewer values than its shape"))?;
            data.extend_from_slice(row);
        }
        Ok(IntTensor { shape, data })
    }
}
