//! `Mul`: the element-wise product of two activations of the same shape (SwiGLU's
//! `silu(gate) ⊙ up`).
//!
//! `y = a·b` exactly, at the sum of the operands' fractional bits (a [`Rescale`](super::rescale)
//! follows in the graph). Bound: `bits(y) = bits(a) + bits(b)`, refused above 62, so the
//! product checked in the field is the integer product.

use super::*;

/// Element-wise product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mul;

impl IntOp for Mul {
    fn name(&self) -> &'static str {
        "Mul"
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
        check_bits(self.name(), b[0] + b[1])
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        let shape = self.output_shape(&shapes_of(inputs))?;
        let (a, b) = (act(self.name(), inputs, 0)?, act(self.name(), inputs, 1)?);
        Ok(IntTensor { shape, data: a.data.iter().zip(&b.data).map(|(x, y)| x * y).collect() })
    }
}
