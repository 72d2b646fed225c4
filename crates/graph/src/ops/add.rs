//! `Add`: elementwise sum of two activations of equal shape (residual connections).
//!
//! `y = a + b`; `bits(y) = max(bits(a), bits(b)) + 1`.

use super::*;

/// Elementwise sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add;

impl IntOp for Add {
    fn name(&self) -> &'static str {
        "Add"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        if s[0] != s[1] {
            return Err(shape_err(self.name(), format!("{:?} vs {:?}", s[0], s[1])));
        }
        Ok(s[0].to_vec())
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 2, b.len())?;
        check_bits(self.name(), b[0].max(b[1]) + 1)
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 2, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        let (a, b) = (act(self.name(), inputs, 0)?, act(self.name(), inputs, 1)?);
        let data = a.data.iter().zip(&b.data).map(|(x, y)| x.wrapping_add(*y)).collect();
        Ok(IntTensor { shape, data })
    }
}
