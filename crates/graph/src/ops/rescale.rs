//! `Rescale { shift }`: drop `shift` fractional bits with round-half-up.
//!
//! For `s = shift > 0`: `y = floor((x + 2^(s−1)) / 2^s)` (arithmetic shift), proven as
//! `x + 2^(s−1) = y·2^s + r` with `0 ≤ r < 2^s` and `y` range-checked to `bits(y)`.
//! For `s = 0`: `y = x`. For `s < 0`: `y = x · 2^(−s)` (exact).
//! Bound: `bits(y) = bits(x) − s + 1` for `s > 0` (the `+1` covers the rounding carry),
//! `bits(x) − s` otherwise.

use super::*;

/// Rounded right shift (or exact left shift for negative `shift`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescale {
    /// Bits dropped (negative: bits added).
    pub shift: i32,
}

/// The scalar semantics of [`Rescale`].
#[inline]
pub fn rescale_value(x: i64, shift: i32) -> i64 {
    if shift > 0 {
        (x + (1i64 << (shift - 1))) >> shift
    } else {
        x << (-shift)
    }
}

impl IntOp for Rescale {
    fn name(&self) -> &'static str {
        "Rescale"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        Ok(s[0].to_vec())
    }
    fn out_bits(&self, _s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        want_len(self.name(), 1, b.len())?;
        if !(-40..=62).contains(&self.shift) {
            return Err(OpError::Range { op: self.name(), msg: format!("shift {} out of [-40, 62]", self.shift) });
        }
        check_bits(self.name(), b[0].max(1))?;
        let bits = if self.shift > 0 {
            (b[0] as i64 - self.shift as i64 + 1).max(1) as u32
        } else {
            b[0] + (-self.shift) as u32
        };
        check_bits(self.name(), bits)
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let x = act(self.name(), inputs, 0)?;
        if !(-40..=62).contains(&self.shift) {
            return Err(OpError::Range { op: self.name(), msg: format!("shift {} out of [-40, 62]", self.shift) });
        }
        let data = x.data.iter().map(|&v| rescale_value(v, self.shift)).collect();
        Ok(IntTensor { shape: x.shape.clone(), data })
    }
}

/// Key fields: `shift` (`i32`; its range is checked by [`IntOp::out_bits`]).
impl OpParams for Rescale {
    fn encode_params(&self, w: &mut Writer) {
        w.u32(self.shift as u32);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(Rescale { shift: r.u32("Rescale shift")? as i32 })
    }
}
