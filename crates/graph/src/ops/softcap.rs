//! `SoftCap`: `c·tanh(x/c)` by a table of `2^in_bits` rows (Gemma 2's attention-logit
//! soft-capping, llama.cpp's `scale(1/c) → tanh → scale(c)` on the scores), an instance of the
//! function-table op [`TableFn`](super::table_fn) (op tag 20).
//!
//! `TABLE[i] = round(c·tanh(v/c) · 2^f_out)`, `v = (i − 2^(in_bits−1)) / 2^f_in`, built with
//! integer arithmetic only ([`crate::tables::softcap_entry`]: identical on every platform; the
//! tables Gemma 2 uses are correctly rounded, checked by a test). The cap `c` is an integer in
//! `[1, 2^14]` (Gemma 2's are 50 and 30; a file with a fractional cap is refused where it is
//! read). Bound: `|y| ≤ c·2^f_out`. Key fields `in_frac`, `out_frac`, `in_bits`, `cap` (`u32`
//! each, checked against the builder's range before anything is built).

use super::table_fn::{TableFn, TableFunction, check_descriptor};
use super::OpError;
use crate::tables::SOFTCAP_MAX_CAP;
use std::sync::Arc;

/// Largest accepted `in_bits` (a table of 2^16 rows, the lookup argument's limit).
pub const SOFTCAP_MAX_IN_BITS: u32 = super::table_fn::TABLE_FN_MAX_IN_BITS;
/// Largest fractional bits of the input or output.
pub const SOFTCAP_MAX_FRAC: u32 = 30;

/// The soft-cap function `c·tanh(v/c)`: its cap `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftCapFn {
    /// The cap `c` (an integer).
    pub cap: u32,
}

/// Table-driven soft-capping `c·tanh(x/c)`.
pub type SoftCap = TableFn<SoftCapFn>;

/// `c·tanh(v/c)` in `f64` (the float reference's; the integer table does not use it).
pub fn softcap_f64(v: f64, cap: f64) -> f64 {
    cap * (v / cap).tanh()
}

impl TableFunction for SoftCapFn {
    const NAME: &'static str = "SoftCap";
    const KIND: &'static str = "softcap";
    const FIELDS: &'static [&'static str] = &["SoftCap input scale", "SoftCap output scale", "SoftCap input bound", "SoftCap cap"];
    const FIXED_IN_BITS: Option<u32> = None;
    fn eval_f64(&self, v: f64) -> f64 {
        softcap_f64(v, f64::from(self.cap))
    }
    fn own_fields(&self) -> Vec<u32> {
        vec![self.cap]
    }
    fn from_own_fields(fields: &[u32]) -> Self {
        SoftCapFn { cap: fields.first().copied().unwrap_or(0) }
    }
    fn check(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Result<(), String> {
        check_descriptor(in_frac, out_frac, in_bits, SOFTCAP_MAX_FRAC)?;
        if !(1..=SOFTCAP_MAX_CAP).contains(&self.cap) {
            return Err(format!("cap {} outside [1, {SOFTCAP_MAX_CAP}]", self.cap));
        }
        Ok(())
    }
    fn build(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Arc<[i64]> {
        crate::tables::softcap_table(in_frac, out_frac, in_bits, self.cap)
    }
}

impl SoftCap {
    /// Builds the op and its table; refuses parameters outside the builder's range
    /// (`1 ≤ in_bits ≤ 16`, `in_frac, out_frac ≤ 30`, `1 ≤ cap ≤ 2^14`).
    pub fn new(in_frac: u32, out_frac: u32, in_bits: u32, cap: u32) -> Result<Self, OpError> {
        Self::build(SoftCapFn { cap }, in_frac, out_frac, in_bits)
    }

    /// The cap `c`.
    pub fn cap(&self) -> u32 {
        self.f.cap
    }

    /// The input scale for cap `c` with a table of `2^in_bits` rows: the largest `f_in ≤ 30` whose
    /// range `2^(in_bits−1−f_in)` reaches `5c` (beyond it `c·tanh(v/c)` is within `c·2e^−10`,
    /// `9·10^−5·c`, of `c`, where the clamp saturates it).
    pub fn input_frac_for(cap: u32, in_bits: u32) -> u32 {
        let need = u64::from(cap).saturating_mul(5).max(1);
        let top = in_bits.saturating_sub(1);
        (0..=top.min(SOFTCAP_MAX_FRAC)).rev().find(|&f| (1u64 << (top - f)) >= need).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::*;
    use crate::tensor::bits_of;

    #[test]
    fn evaluates_by_table_and_refuses_bad_inputs_and_parameters() {
        let op = SoftCap::new(9, 12, 16, 8).expect("op");
        assert_eq!(SoftCap::input_frac_for(8, 16), 9);
        assert_eq!(SoftCap::input_frac_for(50, 16), 7);
        let x = IntTensor { shape: vec![1, 4], data: vec![0, 512, -512, 32767] };
        let y = op.eval_int(&[Operand::Act(&x)]).expect("eval");
        let want: Vec<i64> = [0.0, 1.0, -1.0, 32767.0 / 512.0].iter().map(|&v: &f64| (softcap_f64(v, 8.0) * 4096.0).round() as i64).collect();
        assert_eq!(y.data, want);
        let out = IntTensor { shape: vec![1, 1], data: vec![32768] };
        assert!(op.eval_int(&[Operand::Act(&out)]).is_err());
        assert!(op.out_bits(&[&[1, 4]], &[16]).is_err(), "an unclamped input is refused");
        assert_eq!(op.out_bits(&[&[1, 4]], &[15]).expect("bits"), bits_of(8 << 12));
        for (f, o, b, c) in [(31, 12, 16, 8), (9, 31, 16, 8), (9, 12, 17, 8), (9, 12, 0, 8), (9, 12, 16, 0), (9, 12, 16, (1 << 14) + 1)] {
            assert!(SoftCap::new(f, o, b, c).is_err(), "({f}, {o}, {b}, {c})");
        }
    }

    #[test]
    fn key_encoding_round_trips_and_refuses_out_of_range() {
        let op = SoftCap::new(7, 12, 16, 50).expect("op");
        let mut w = Writer::default();
        op.encode_params(&mut w);
        let bytes = w.into_bytes();
        let mut tables = TableCache::default();
        let back = SoftCap::decode_params(&mut Reader::new(&bytes), &mut tables).expect("decode");
        assert_eq!(back, op);
        assert_eq!(back.cap(), 50);
        for bad in [[7u32, 12, 16, 0], [7, 12, 16, 1 << 15], [7, 12, 17, 50], [31, 12, 16, 50]] {
            let mut w = Writer::default();
            for v in bad {
                w.u32(v);
            }
            let bytes = w.into_bytes();
            assert!(SoftCap::decode_params(&mut Reader::new(&bytes), &mut TableCache::default()).is_err(), "{bad:?}");
        }
    }
}
