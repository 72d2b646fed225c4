//! `Silu`: `x·sigmoid(x)` by a table of `2^in_bits` rows, an instance of the function-table op
//! [`TableFn`](super::table_fn) (op tag 17).
//!
//! `TABLE[i] = round(silu((i − 2^(in_bits−1)) / 2^f_in) · 2^f_out)`, `silu(v) = v / (1 + e^(−v))`,
//! built with integer arithmetic only like GELU's ([`crate::tables::silu_table`]; the default
//! table is correctly rounded, checked by a test). Key fields `in_frac`, `out_frac`, `in_bits`
//! (`1 ≤ in_bits ≤ 16`, fractional bits ≤ 30, checked before anything is built).

use super::table_fn::{TableFn, TableFunction, check_descriptor};
use std::sync::Arc;

/// Largest accepted `in_bits` (a table of 2^16 rows, the lookup argument's limit).
pub const SILU_MAX_IN_BITS: u32 = super::table_fn::TABLE_FN_MAX_IN_BITS;

/// The SiLU function (no parameters of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiluFn;

/// Table-driven SiLU.
pub type Silu = TableFn<SiluFn>;

/// SiLU in `f64` (the float reference's; the integer table does not use it).
pub fn silu_f64(v: f64) -> f64 {
    v / (1.0 + (-v).exp())
}

impl TableFunction for SiluFn {
    const NAME: &'static str = "Silu";
    const KIND: &'static str = "silu";
    const FIELDS: &'static [&'static str] = &["SiLU input scale", "SiLU output scale", "SiLU input bound"];
    const FIXED_IN_BITS: Option<u32> = None;
    fn eval_f64(&self, v: f64) -> f64 {
        silu_f64(v)
    }
    fn own_fields(&self) -> Vec<u32> {
        Vec::new()
    }
    fn from_own_fields(_: &[u32]) -> Self {
        SiluFn
    }
    fn check(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Result<(), String> {
        check_descriptor(in_frac, out_frac, in_bits, 30)
    }
    fn build(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Arc<[i64]> {
        crate::tables::silu_table(in_frac, out_frac, in_bits)
    }
}

impl Silu {
    /// Builds the op and its table (`1 ≤ in_bits ≤ 16`, `in_frac, out_frac ≤ 30`; larger values
    /// are clamped so that building never allocates more than 2^16 rows).
    pub fn new(in_frac: u32, out_frac: u32, in_bits: u32) -> Self {
        let in_bits = in_bits.clamp(1, SILU_MAX_IN_BITS);
        let (in_frac, out_frac) = (in_frac.min(30), out_frac.min(30));
        Self { in_frac, out_frac, in_bits, f: SiluFn, table: crate::tables::silu_table(in_frac, out_frac, in_bits) }
    }
}
