//! `Silu`: `x·sigmoid(x)` by a table of `2^in_bits` rows.
//!
//! Input `x` with `f_in` fractional bits, already clamped into `[−2^(in_bits−1), 2^(in_bits−1))`
//! (a [`Clamp`](super::clamp::Clamp) precedes it in the graph); output
//! `y = TABLE[x + 2^(in_bits−1)]` with `TABLE[i] = round(silu((i − 2^(in_bits−1)) / 2^f_in) · 2^f_out)`,
//! `silu(v) = v / (1 + e^(−v))`, rounded half away from zero, built with integer arithmetic only
//! like GELU's table ([`crate::tables::silu_table`]; the default table is correctly rounded,
//! checked by a test). Proven by a logUp lookup of `(x, y)` pairs. Bound: `bits(max |TABLE|)`.

use super::*;
use crate::tensor::bits_of;
use std::sync::Arc;

/// Largest accepted `in_bits` (a table of 2^16 rows, the lookup argument's limit).
pub const SILU_MAX_IN_BITS: u32 = 16;

/// Table-driven SiLU.
#[derive(Clone, PartialEq, Eq)]
pub struct Silu {
    /// Fractional bits of the input.
    pub in_frac: u32,
    /// Fractional bits of the output.
    pub out_frac: u32,
    /// The table covers inputs `[−2^(in_bits−1), 2^(in_bits−1))`.
    pub in_bits: u32,
    /// `TABLE[i]` for input `i − 2^(in_bits−1)`.
    pub table: Arc<[i64]>,
}

impl std::fmt::Debug for Silu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Silu {{ in_frac: {}, out_frac: {}, in_bits: {}, table: {} rows }}", self.in_frac, self.out_frac, self.in_bits, self.table.len())
    }
}

/// SiLU in `f64` (the float reference's; the integer table does not use it).
pub fn silu_f64(v: f64) -> f64 {
    v / (1.0 + (-v).exp())
}

impl Silu {
    /// Builds the op and its table (`1 ≤ in_bits ≤ 16`, `in_frac, out_frac ≤ 30`; larger values
    /// are clamped so that building never allocates more than 2^16 rows).
    pub fn new(in_frac: u32, out_frac: u32, in_bits: u32) -> Self {
        let in_bits = in_bits.clamp(1, SILU_MAX_IN_BITS);
        let (in_frac, out_frac) = (in_frac.min(30), out_frac.min(30));
        Self { in_frac, out_frac, in_bits, table: crate::tables::silu_table(in_frac, out_frac, in_bits) }
    }

    /// Smallest accepted input.
    pub fn min_input(&self) -> i64 {
        -(1i64 << (self.in_bits - 1))
    }
}

impl IntOp for Silu {
    fn name(&self) -> &'static str {
        "Silu"
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
        if !(1..=SILU_MAX_IN_BITS).contains(&self.in_bits) || self.table.len() != 1 << self.in_bits {
            return Err(OpError::Range { op: self.name(), msg: format!("table of {} rows for in_bits {}", self.table.len(), self.in_bits) });
        }
        if b[0] > self.in_bits - 1 {
            return Err(OpError::Range { op: self.name(), msg: format!("input bound 2^{} > 2^{} (clamp first)", b[0], self.in_bits - 1) });
        }
        check_bits(self.name(), bits_of(self.table.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0)))
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let x = act(self.name(), inputs, 0)?;
        lookup_table("Silu", &self.table, self.min_input(), "the table", x)
    }
}

/// Key fields: the table's descriptor `in_frac`, `out_frac`, `in_bits` (`u32`, ≤ 62); the table
/// is rebuilt by [`Silu::new`].
impl OpParams for Silu {
    fn encode_params(&self, w: &mut Writer) {
        w.u32(self.in_frac);
        w.u32(self.out_frac);
        w.u32(self.in_bits);
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let in_frac = read_frac(r, "SiLU input scale")?;
        let out_frac = read_frac(r, "SiLU output scale")?;
        let in_bits = read_frac(r, "SiLU input bound")?;
        // The builder's range, checked before anything is built (it would clamp, not refuse).
        if !(1..=SILU_MAX_IN_BITS).contains(&in_bits) || in_frac > 30 || out_frac > 30 {
            return Err(DecodeError::Invalid { what: "SiLU parameters", why: format!("({in_frac}, {out_frac}, {in_bits}) outside the table builder's range") });
        }
        let params = [in_frac.into(), out_frac.into(), in_bits.into(), 0];
        let table = tables.get("silu", params, 1 << in_bits, || Silu::new(in_frac, out_frac, in_bits).table)?;
        Ok(Silu { in_frac, out_frac, in_bits, table })
    }
}
