//! `TableFn<F>`: an element-wise function `f` evaluated by a table of `2^in_bits` rows — the one
//! implementation behind GELU ([`super::gelu`]), SiLU ([`super::silu`]) and the soft-cap
//! ([`super::softcap`]), which are its instances (each keeps its op tag and key fields).
//!
//! Input `x` with `f_in` fractional bits, already clamped into `[−2^(in_bits−1), 2^(in_bits−1))`
//! (a [`Clamp`](super::clamp::Clamp) precedes it in the graph); output
//! `y = TABLE[x + 2^(in_bits−1)]` with `TABLE[i] = round(f((i − 2^(in_bits−1)) / 2^f_in) · 2^f_out)`,
//! rounded half away from zero and built by the instance with integer arithmetic only
//! ([`crate::tables`]: identical on every platform). The table is built once (at load, or by the
//! key decoder through [`TableCache`]); evaluation is a lookup. Proven by a logUp lookup of
//! `(x, y)` pairs into the table (`zkinfer_ops::ops::table_op`): nothing is an arithmetic
//! relation, so nothing can wrap. Bound: `bits(y) = bits(max |TABLE|)`.
//!
//! **Key fields** ([`TableFunction::key_fields`]): `in_frac`, `out_frac`, then `in_bits` unless the
//! instance fixes it (GELU: 16), then the instance's own parameters (the soft-cap's `c`), each a
//! `u32`. They are checked against the instance's builder range before any table is built, and
//! they name the table (the decoder's cache, the proof's lookup table). The table itself is
//! never in the key.

use super::*;
use crate::tensor::bits_of;
use std::sync::Arc;

/// Largest accepted `in_bits` (a table of 2^16 rows, the lookup argument's limit).
pub const TABLE_FN_MAX_IN_BITS: u32 = 16;

/// One function a [`TableFn`] op tabulates: its name, its parameters beyond the fixed-point
/// descriptor, its table builder and its key fields.
pub trait TableFunction: Clone + PartialEq + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// The op's name (`Gelu`, `Silu`, `SoftCap`).
    const NAME: &'static str;
    /// The table's kind: the decoder cache's key and the proof table's name prefix.
    const KIND: &'static str;
    /// Labels of the key fields, in order (for decoding errors).
    const FIELDS: &'static [&'static str];
    /// `in_bits` when the key does not carry it (GELU's 16), else `None`.
    const FIXED_IN_BITS: Option<u32>;

    /// The function in `f64` (the float reference's; the table does not use it).
    fn eval_f64(&self, v: f64) -> f64;
    /// The instance's own key fields after the descriptor (empty for GELU and SiLU).
    fn own_fields(&self) -> Vec<u32>;
    /// The instance's parameters from its own key fields (in [`Self::FIELDS`] order after the
    /// descriptor's).
    fn from_own_fields(fields: &[u32]) -> Self;
    /// Whether the descriptor and the parameters lie in the builder's range (checked on decoding
    /// and by [`IntOp::out_bits`]); the error says why not.
    fn check(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Result<(), String>;
    /// The table of `2^in_bits` rows for parameters that passed [`Self::check`].
    fn build(&self, in_frac: u32, out_frac: u32, in_bits: u32) -> Arc<[i64]>;
}

/// A function table op (see the module doc).
#[derive(Clone, PartialEq, Eq)]
pub struct TableFn<F: TableFunction> {
    /// Fractional bits of the input.
    pub in_frac: u32,
    /// Fractional bits of the output.
    pub out_frac: u32,
    /// The table covers inputs `[−2^(in_bits−1), 2^(in_bits−1))`.
    pub in_bits: u32,
    /// The function's own parameters.
    pub f: F,
    /// `TABLE[i]` for input `i − 2^(in_bits−1)`.
    pub table: Arc<[i64]>,
}

impl<F: TableFunction> std::fmt::Debug for TableFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {{ in_frac: {}, out_frac: {}, in_bits: {}, {:?}, table: {} rows }}", F::NAME, self.in_frac, self.out_frac, self.in_bits, self.f, self.table.len())
    }
}

impl<F: TableFunction> TableFn<F> {
    /// The op with its table built by the instance (parameters must pass [`TableFunction::check`]).
    pub fn build(f: F, in_frac: u32, out_frac: u32, in_bits: u32) -> Result<Self, OpError> {
        f.check(in_frac, out_frac, in_bits).map_err(|msg| OpError::Range { op: F::NAME, msg })?;
        let table = f.build(in_frac, out_frac, in_bits);
        Ok(Self { in_frac, out_frac, in_bits, f, table })
    }

    /// Smallest accepted input.
    pub fn min_input(&self) -> i64 {
        -(1i64 << (self.in_bits.clamp(1, 63) - 1))
    }

    /// The key fields: `in_frac`, `out_frac`, `in_bits` unless fixed, the instance's own.
    pub fn key_fields(&self) -> Vec<u32> {
        let mut v = vec![self.in_frac, self.out_frac];
        if F::FIXED_IN_BITS.is_none() {
            v.push(self.in_bits);
        }
        v.extend(self.f.own_fields());
        v
    }

    /// The table's name: its kind and key fields (`gelu:gelu10_12`, `silu:silu10_12_15`,
    /// `softcap:softcap7_12_16_50`). Equal names mean equal tables.
    pub fn table_name(&self) -> String {
        let fields: Vec<String> = self.key_fields().iter().map(u32::to_string).collect();
        format!("{}:{}{}", F::KIND, F::KIND, fields.join("_"))
    }

    /// The function in `f64` at `v`.
    pub fn eval_f64(&self, v: f64) -> f64 {
        self.f.eval_f64(v)
    }
}

impl<F: TableFunction> IntOp for TableFn<F> {
    fn name(&self) -> &'static str {
        F::NAME
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
        self.f.check(self.in_frac, self.out_frac, self.in_bits).map_err(|msg| OpError::Range { op: self.name(), msg })?;
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
        lookup_table(F::NAME, &self.table, self.min_input(), "the table", x)
    }
}

/// Key fields: [`TableFn::key_fields`] (`u32` each; the descriptor's at most [`MAX_BITS`]),
/// checked by the instance before anything is built; the table is rebuilt by the instance
/// (shared through [`TableCache`] by kind and fields).
impl<F: TableFunction> OpParams for TableFn<F> {
    fn encode_params(&self, w: &mut Writer) {
        for v in self.key_fields() {
            w.u32(v);
        }
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let mut fields = Vec::with_capacity(F::FIELDS.len());
        let descriptor = if F::FIXED_IN_BITS.is_some() { 2 } else { 3 };
        for (i, &what) in F::FIELDS.iter().enumerate() {
            fields.push(if i < descriptor { read_frac(r, what)? } else { r.u32(what)? });
        }
        let (in_frac, out_frac) = (fields[0], fields[1]);
        let in_bits = match F::FIXED_IN_BITS {
            Some(b) => b,
            None => fields[2],
        };
        let f = F::from_own_fields(&fields[descriptor..]);
        f.check(in_frac, out_frac, in_bits).map_err(|why| DecodeError::Invalid { what: F::NAME, why })?;
        let mut params = [0u64; 4];
        for (p, &v) in params.iter_mut().zip(&fields) {
            *p = v.into();
        }
        let table = tables.get(F::KIND, params, 1 << in_bits, || f.build(in_frac, out_frac, in_bits))?;
        Ok(Self { in_frac, out_frac, in_bits, f, table })
    }
}

/// Checks the descriptor every instance shares: `1 ≤ in_bits ≤ 16`, fractional bits `≤ max_frac`.
pub(crate) fn check_descriptor(in_frac: u32, out_frac: u32, in_bits: u32, max_frac: u32) -> Result<(), String> {
    if !(1..=TABLE_FN_MAX_IN_BITS).contains(&in_bits) || in_frac > max_frac || out_frac > max_frac {
        return Err(format!("(in_frac {in_frac}, out_frac {out_frac}, in_bits {in_bits}) outside the table builder's range"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gelu::Gelu;
    use crate::ops::silu::Silu;
    use crate::ops::softcap::SoftCap;

    fn round_trip<F: TableFunction>(op: &TableFn<F>, fields: &[u32]) {
        let mut w = Writer::default();
        op.encode_params(&mut w);
        let bytes = w.into_bytes();
        let want: Vec<u8> = fields.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(bytes, want, "{op:?}: the key fields, in order, little-endian");
        let back = TableFn::<F>::decode_params(&mut Reader::new(&bytes), &mut TableCache::default()).expect("decode");
        assert_eq!(&back, op);
        // Every truncation is an error, never a panic.
        for cut in 0..bytes.len() {
            assert!(TableFn::<F>::decode_params(&mut Reader::new(&bytes[..cut]), &mut TableCache::default()).is_err(), "{cut}");
        }
    }

    /// Each instance's key encoding is the one its own op had before the three were one
    /// (`Gelu`: `in_frac, out_frac`; `Silu`: `in_frac, out_frac, in_bits`; `SoftCap`: and `cap`),
    /// decodes to the same op, and refuses what the instance's builder does not take.
    #[test]
    fn instances_keep_their_key_fields() {
        round_trip(&Gelu::new(10, 12), &[10, 12]);
        round_trip(&Silu::new(10, 12, 15), &[10, 12, 15]);
        round_trip(&SoftCap::new(7, 12, 16, 50).expect("op"), &[7, 12, 16, 50]);
        let bad = |fields: &[u32]| -> Vec<u8> { fields.iter().flat_map(|v| v.to_le_bytes()).collect() };
        let mut c = TableCache::default();
        assert!(Gelu::decode_params(&mut Reader::new(&bad(&[63, 12])), &mut c).is_err());
        for f in [[31u32, 12, 15], [10, 31, 15], [10, 12, 0], [10, 12, 17]] {
            assert!(Silu::decode_params(&mut Reader::new(&bad(&f)), &mut c).is_err(), "{f:?}");
        }
        for f in [[7u32, 12, 16, 0], [7, 12, 16, (1 << 14) + 1], [7, 12, 17, 50], [31, 12, 16, 50]] {
            assert!(SoftCap::decode_params(&mut Reader::new(&bad(&f)), &mut c).is_err(), "{f:?}");
        }
    }
}
