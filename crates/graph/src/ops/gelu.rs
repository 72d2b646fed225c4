//! `Gelu`: GPT-2's tanh-GELU by a table of `2^16` rows, an instance of the function-table op
//! [`TableFn`](super::table_fn) (op tag 7).
//!
//! `gelu(v) = v/2 · (1 + tanh(sqrt(2/π)·(v + 0.044715 v³)))`; input clamped into `[−2^15, 2^15)`,
//! `TABLE[i] = round(gelu((i − 2^15) / 2^f_in) · 2^f_out)` ([`crate::tables::gelu_table`]: integer
//! arithmetic only, correctly rounded for the default parameters). Key fields `in_frac`,
//! `out_frac` (`u32`, ≤ 62); `in_bits` is always 16 and not in the key.

use super::table_fn::{TableFn, TableFunction};
use super::MAX_BITS;
use std::sync::Arc;

/// Number of table rows.
pub const GELU_ROWS: usize = 1 << 16;
/// Smallest accepted input.
pub const GELU_MIN: i64 = -(1 << 15);

/// The GELU function (no parameters of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeluFn;

/// Table-driven GELU.
pub type Gelu = TableFn<GeluFn>;

/// GPT-2's GELU (tanh approximation) in `f64` (the float reference; the table does not use it).
pub fn gelu_f64(v: f64) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
}

impl TableFunction for GeluFn {
    const NAME: &'static str = "Gelu";
    const KIND: &'static str = "gelu";
    const FIELDS: &'static [&'static str] = &["Gelu input scale", "Gelu output scale"];
    const FIXED_IN_BITS: Option<u32> = Some(16);
    fn eval_f64(&self, v: f64) -> f64 {
        gelu_f64(v)
    }
    fn own_fields(&self) -> Vec<u32> {
        Vec::new()
    }
    fn from_own_fields(_: &[u32]) -> Self {
        GeluFn
    }
    fn check(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Result<(), String> {
        if in_bits != 16 {
            return Err(format!("in_bits {in_bits}: the GELU table has 2^16 rows"));
        }
        super::table_fn::check_descriptor(in_frac, out_frac, in_bits, MAX_BITS)
    }
    fn build(&self, in_frac: u32, out_frac: u32, _in_bits: u32) -> Arc<[i64]> {
        crate::tables::gelu_table(in_frac, out_frac)
    }
}

impl Gelu {
    /// Builds the op and its table.
    pub fn new(in_frac: u32, out_frac: u32) -> Self {
        Self { in_frac, out_frac, in_bits: 16, f: GeluFn, table: crate::tables::gelu_table(in_frac, out_frac) }
    }
}
