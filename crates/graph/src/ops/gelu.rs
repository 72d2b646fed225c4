//! `Gelu`: GPT-2's tanh-GELU by a table of `2^16` rows.
//!
//! Input `x` with `f_in` fractional bits, already clamped into `[−2^15, 2^15)` (a
//! [`Clamp`](super::clamp::Clamp) precedes it in the graph); output
//! `y = TABLE[x + 2^15]` with `TABLE[i] = round(gelu((i − 2^15) / 2^f_in) · 2^f_out)`, where
//! `gelu(v) = v/2 · (1 + tanh(sqrt(2/π)·(v + 0.044715 v³)))`, rounded half away from zero and
//! computed with integer arithmetic only ([`crate::tables`]: identical on every platform,
//! correctly rounded for the default parameters). The table is built once at setup; evaluation
//! is a lookup. Proven by a logUp lookup of
//! `(x, y)` pairs into the table. Bound: `bits(y) = bits(max |TABLE|)`.

use super::*;
use crate::tensor::bits_of;
use std::sync::Arc;

/// Number of table rows.
pub const GELU_ROWS: usize = 1 << 16;
/// Smallest accepted input.
pub const GELU_MIN: i64 = -(1 << 15);

/// Table-driven GELU.
#[derive(Clone, PartialEq, Eq)]
pub struct Gelu {
    /// Fractional bits of the input.
    pub in_frac: u32,
    /// Fractional bits of the output.
    pub out_frac: u32,
    /// `TABLE[i]` for input `i + GELU_MIN`.
    pub table: Arc<[i64]>,
}

impl std::fmt::Debug for Gelu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gelu {{ in_frac: {}, out_frac: {}, table: {} rows }}", self.in_frac, self.out_frac, self.table.len())
    }
}

/// GPT-2's GELU (tanh approximation) in `f64` (the float reference; the table does not use it).
pub fn gelu_f64(v: f64) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
}

impl Gelu {
    /// Builds the op and its table.
    pub fn new(in_frac: u32, out_frac: u32) -> Self {
        Self { in_frac, out_frac, table: crate::tables::gelu_table(in_frac, out_frac) }
    }
}

impl IntOp for Gelu {
    fn name(&self) -> &'static str {
        "Gelu"
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
        if b[0] > 15 || self.table.len() != GELU_ROWS {
            return Err(OpError::Range { op: self.name(), msg: format!("input bound 2^{} > 2^15 (clamp first)", b[0]) });
        }
        check_bits(self.name(), bits_of(self.table.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0)))
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let x = act(self.name(), inputs, 0)?;
        lookup_table("Gelu", &self.table, GELU_MIN, "[-2^15, 2^15)", x)
    }
}

/// Key fields: the table's descriptor `in_frac`, `out_frac` (`u32`, ≤ 62); the table is rebuilt
/// by [`Gelu::new`].
impl OpParams for Gelu {
    fn encode_params(&self, w: &mut Writer) {
        w.u32(self.in_frac);
        w.u32(self.out_frac);
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let (in_frac, out_frac) = (read_frac(r, "Gelu input scale")?, read_frac(r, "Gelu output scale")?);
        let table = tables.get("gelu", [in_frac.into(), out_frac.into(), 0, 0], GELU_ROWS, || Gelu::new(in_frac, out_frac).table)?;
        Ok(Gelu { in_frac, out_frac, table })
    }
}
