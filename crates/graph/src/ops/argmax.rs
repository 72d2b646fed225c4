//! `Argmax`: index of each row's maximum, the smallest index among ties.
//!
//! `x: [T, V]` → `y: [T]`, `y[t] = min { j : x[t, j] = max_i x[t, i] }`. Proven by committing
//! the row maxima `m_t`: `m_t − x[t, j] ≥ 0` for all `j` (range checks), `x[t, y_t] = m_t`, and
//! `m_t − x[t, j] ≥ 1` for `j < y_t`. Bound: `bits(y) = ceil(log2 V)`.

use super::*;

/// Row argmax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argmax;

/// The smallest index of the maximum of `row` (0 for an empty row).
pub fn argmax_row(row: &[i64]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

impl IntOp for Argmax {
    fn name(&self) -> &'static str {
        "Argmax"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        match s[0] {
            &[t, v] if v > 0 => Ok(vec![t]),
            _ => Err(shape_err(self.name(), format!("{:?}", s[0]))),
        }
    }
    fn out_bits(&self, s: &[&[usize]], _b: &[u32]) -> Result<u32, OpError> {
        let shape = self.output_shape(s)?;
        let _ = shape;
        Ok(ceil_log2(s[0][1]))
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let x = act(self.name(), inputs, 0)?;
        let v = x.shape[1];
        let data = x.data.chunks(v).map(|row| argmax_row(row) as i64).collect();
        Ok(IntTensor { shape, data })
    }
}
