//! `Clamp { lo, hi }`: saturate into `[lo, hi]`.
//!
//! `y = min(max(x, lo), hi)`. Proven with range checks: either `y = x` and `lo ≤ x ≤ hi`, or
//! `y = lo` and `x < lo`, or `y = hi` and `x > hi` (the input's own bound keeps the differences
//! inside the field). Bound: `bits(y) = bits(max(|lo|, |hi|))` (`|y| < 2^bits`).

use super::*;
use crate::tensor::bits_of;

/// Saturation into `[lo, hi]` (`lo ≤ hi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clamp {
    /// Smallest output value.
    pub lo: i64,
    /// Largest output value.
    pub hi: i64,
}

impl Clamp {
    /// The symmetric clamp `[−(2^bits − 1), 2^bits − 1]`, i.e. `|y| < 2^bits`.
    pub fn symmetric(bits: u32) -> Self {
        let m = (1i64 << bits) - 1;
        Self { lo: -m, hi: m }
    }
}

impl IntOp for Clamp {
    fn name(&self) -> &'static str {
        "Clamp"
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
        if self.lo > self.hi {
            return Err(OpError::Range { op: self.name(), msg: format!("lo {} > hi {}", self.lo, self.hi) });
        }
        check_bits(self.name(), b[0])?;
        let range_bits = bits_of(self.lo.unsigned_abs().max(self.hi.unsigned_abs()));
        // Clamping never increases a magnitude when 0 ∈ [lo, hi].
        Ok(if self.lo <= 0 && self.hi >= 0 { range_bits.min(b[0]) } else { range_bits })
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let x = act(self.name(), inputs, 0)?;
        if self.lo > self.hi {
            return Err(OpError::Range { op: self.name(), msg: format!("lo {} > hi {}", self.lo, self.hi) });
        }
        let data = x.data.iter().map(|&v| v.clamp(self.lo, self.hi)).collect();
        Ok(IntTensor { shape: x.shape.clone(), data })
    }
}

/// Key fields: `lo`, `hi` (`i64`; `lo ≤ hi` is checked by [`IntOp::out_bits`]).
impl OpParams for Clamp {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.lo as u64);
        w.u64(self.hi as u64);
    }
    fn decode_params(r: &mut Reader<'_>, _: &mut TableCache) -> Result<Self, DecodeError> {
        Ok(Clamp { lo: r.u64("Clamp lo")? as i64, hi: r.u64("Clamp hi")? as i64 })
    }
}
