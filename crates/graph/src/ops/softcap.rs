//! `SoftCap`: `c·tanh(x/c)` by a table of `2^in_bits` rows (Gemma 2's attention-logit
//! soft-capping, llama.cpp's `scale(1/c) → tanh → scale(c)` on the scores).
//!
//! Input `x` with `f_in` fractional bits, already clamped into `[−2^(in_bits−1), 2^(in_bits−1))`
//! (a [`Clamp`](super::clamp::Clamp) precedes it in the graph); output
//! `y = TABLE[x + 2^(in_bits−1)]` with `TABLE[i] = round(c·tanh(v/c) · 2^f_out)`,
//! `v = (i − 2^(in_bits−1)) / 2^f_in`, rounded half away from zero and built with integer
//! arithmetic only ([`crate::tables::softcap_entry`]: identical on every platform; the tables
//! Gemma 2 uses are correctly rounded, checked by a test). The cap `c` is an integer in
//! `[1, 2^14]` (Gemma 2's are 50 and 30; a file with a fractional cap is refused where it is
//! read). Proven by a logUp lookup of `(x, y)` pairs into the table, as GELU and SiLU: nothing is
//! an arithmetic relation, so nothing can wrap. Bound: `bits(y) = bits(max |TABLE|)`
//! (`|y| ≤ c·2^f_out`).

use super::*;
use crate::tables::SOFTCAP_MAX_CAP;
use crate::tensor::bits_of;
use std::sync::Arc;

/// Largest accepted `in_bits` (a table of 2^16 rows, the lookup argument's limit).
pub const SOFTCAP_MAX_IN_BITS: u32 = 16;
/// Largest fractional bits of the input or output.
pub const SOFTCAP_MAX_FRAC: u32 = 30;

/// Table-driven soft-capping `c·tanh(x/c)`.
#[derive(Clone, PartialEq, Eq)]
pub struct SoftCap {
    /// Fractional bits of the input.
    pub in_frac: u32,
    /// Fractional bits of the output.
    pub out_frac: u32,
    /// The table covers inputs `[−2^(in_bits−1), 2^(in_bits−1))`.
    pub in_bits: u32,
    /// The cap `c` (an integer).
    pub cap: u32,
    /// `TABLE[i]` for input `i − 2^(in_bits−1)`.
    pub table: Arc<[i64]>,
}

impl std::fmt::Debug for SoftCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftCap {{ in_frac: {}, out_frac: {}, in_bits: {}, cap: {}, table: {} rows }}", self.in_frac, self.out_frac, self.in_bits, self.cap, self.table.len())
    }
}

/// `c·tanh(v/c)` in `f64` (the float reference's; the integer table does not use it).
pub fn softcap_f64(v: f64, cap: f64) -> f64 {
    cap * (v / cap).tanh()
}

impl SoftCap {
    /// Builds the op and its table; refuses parameters outside the builder's range
    /// (`1 ≤ in_bits ≤ 16`, `in_frac, out_frac ≤ 30`, `1 ≤ cap ≤ 2^14`).
    pub fn new(in_frac: u32, out_frac: u32, in_bits: u32, cap: u32) -> Result<Self, OpError> {
        check_params(in_frac, out_frac, in_bits, cap).map_err(|msg| OpError::Range { op: "SoftCap", msg })?;
        Ok(Self { in_frac, out_frac, in_bits, cap, table: crate::tables::softcap_table(in_frac, out_frac, in_bits, cap) })
    }

    /// The input scale for cap `c` with a table of `2^in_bits` rows: the largest `f_in ≤ 30` whose
    /// range `2^(in_bits−1−f_in)` reaches `5c` (beyond it `c·tanh(v/c)` is within `c·2e^−10`,
    /// `9·10^−5·c`, of `c`, where the clamp saturates it).
    pub fn input_frac_for(cap: u32, in_bits: u32) -> u32 {
        let need = u64::from(cap).saturating_mul(5).max(1);
        let top = in_bits.saturating_sub(1);
        (0..=top.min(SOFTCAP_MAX_FRAC)).rev().find(|&f| (1u64 << (top - f)) >= need).unwrap_or(0)
    }

    /// Smallest accepted input.
    pub fn min_input(&self) -> i64 {
        -(1i64 << (self.in_bits - 1))
    }
}

fn check_params(in_frac: u32, out_frac: u32, in_bits: u32, cap: u32) -> Result<(), String> {
    if !(1..=SOFTCAP_MAX_IN_BITS).contains(&in_bits) || in_frac > SOFTCAP_MAX_FRAC || out_frac > SOFTCAP_MAX_FRAC || !(1..=SOFTCAP_MAX_CAP).contains(&cap) {
        return Err(format!("(in_frac {in_frac}, out_frac {out_frac}, in_bits {in_bits}, cap {cap}) outside the table builder's range"));
    }
    Ok(())
}

impl IntOp for SoftCap {
    fn name(&self) -> &'static str {
        "SoftCap"
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
        check_params(self.in_frac, self.out_frac, self.in_bits, self.cap).map_err(|msg| OpError::Range { op: self.name(), msg })?;
        if self.table.len() != 1 << self.in_bits {
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
        lookup_table("SoftCap", &self.table, self.min_input(), "the table", x)
    }
}

/// Key fields: the table's descriptor `in_frac`, `out_frac`, `in_bits`, `cap` (`u32` each,
/// checked against the builder's range before anything is built); the table is rebuilt by
/// [`SoftCap::new`].
impl OpParams for SoftCap {
    fn encode_params(&self, w: &mut Writer) {
        w.u32(self.in_frac);
        w.u32(self.out_frac);
        w.u32(self.in_bits);
        w.u32(self.cap);
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let in_frac = read_frac(r, "SoftCap input scale")?;
        let out_frac = read_frac(r, "SoftCap output scale")?;
        let in_bits = read_frac(r, "SoftCap input bound")?;
        let cap = r.u32("SoftCap cap")?;
        check_params(in_frac, out_frac, in_bits, cap).map_err(|why| DecodeError::Invalid { what: "SoftCap parameters", why })?;
        let params = [in_frac.into(), out_frac.into(), in_bits.into(), cap.into()];
        let table = tables.get("softcap", params, 1 << in_bits, || crate::tables::softcap_table(in_frac, out_frac, in_bits, cap))?;
        Ok(SoftCap { in_frac, out_frac, in_bits, cap, table })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
