//! `Rope`: rotary position embedding with llama.cpp's "normal" pair layout, a linear map with
//! public per-position coefficients.
//!
//! Operands: `x: [H, T, d]` (activation heads), `positions: [T]` (the public position of each
//! row, `< n_ctx`). With `F = frac`, `m = n_rot / 2` pairs and the public table
//! `C[p, i] = round(cos(p·θ_i)·2^F)`, `S[p, i] = round(sin(p·θ_i)·2^F)`, `θ_i = base^(−2i/n_rot) / f_i`
//! (`f_i` the optional frequency factors, 1 without them), exactly, for every head and row `t` at
//! position `p = positions[t]` and `i < m`:
//!
//! ```text
//! y[2i]   = floor((x[2i]·C[p,i] − x[2i+1]·S[p,i] + 2^(F−1)) / 2^F)
//! y[2i+1] = floor((x[2i]·S[p,i] + x[2i+1]·C[p,i] + 2^(F−1)) / 2^F)
//! y[c]    = x[c]                      for c ≥ n_rot
//! ```
//!
//! This is llama.cpp's `ggml_rope` in mode 0 (adjacent pairs `(2i, 2i+1)`), which is what a
//! `llama` GGUF needs: llama.cpp's converter permuted the rows of `attn_q`/`attn_k` so that
//! adjacent pairs here are Hugging Face's `(i, i + d/2)` pairs. The output keeps the input's
//! fractional bits.
//!
//! **Frequency factors** (Llama 3.1/3.2 GGUFs: the tensor `rope_freqs.weight`, which llama.cpp's
//! converter computes from the `llama3` rope scaling and llama.cpp passes to `ggml_rope_ext` as
//! `freq_factors`): `m` finite `f32` values in `[1, ROPE_MAX_FACTOR]`, carried in the op (so in the
//! verifying key, which rebuilds the table from them) and applied only to the table.
//!
//! **The table** is built with integer arithmetic only ([`crate::tables::rope_table_with_factors`]:
//! `ln` (of the base and of each factor), `exp`, `cos`, `sin` in 112-bit fixed point, error
//! `< 2^-79`, then rounded half away from zero to `F` bits), so prover and verifier build the same
//! table on every platform; `|C|, |S| ≤ 2^F`.
//!
//! **No wrap.** `|x[2i]·C − x[2i+1]·S| ≤ 2·2^(b+F)`, so intermediates stay below
//! `2^(b+F+2) ≤ 2^62` ([`Rope::out_bits`] refuses more), and the output bound is
//! `|y| ≤ sqrt(2)·2^b·(1 + 2^(1−F)) + 1/2 < 2^(b+1)`.

use super::*;
use std::sync::Arc;

/// Largest accepted fractional bits of the table.
pub const ROPE_MAX_FRAC: u32 = 30;
/// Largest accepted frequency factor (Llama 3.1/3.2 use at most 32).
pub const ROPE_MAX_FACTOR: f32 = 65536.0;

/// Rotary embedding.
#[derive(Clone, PartialEq)]
pub struct Rope {
    /// Rotated dimensions per head (even; the rest pass through).
    pub n_rot: usize,
    /// Frequency base.
    pub base: f32,
    /// Fractional bits `F` of the table.
    pub frac: u32,
    /// Positions covered by the table.
    pub n_ctx: usize,
    /// Frequency factors `f_i` (`θ_i` is divided by `f_i`): empty, or one per pair.
    pub freq_factors: Arc<[f32]>,
    /// `(C[p, i], S[p, i])` at index `2·(p·m + i)`.
    pub table: Arc<[i64]>,
}

impl Eq for Rope {}

impl std::fmt::Debug for Rope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rope {{ n_rot: {}, base: {}, frac: {}, n_ctx: {}, freq_factors: {:?} }}", self.n_rot, self.base, self.frac, self.n_ctx, self.freq_factors)
    }
}

/// `θ_i = base^(−2i/n_rot)` in `f64` (the float reference's; the integer table does not use it).
pub fn rope_theta(base: f32, n_rot: usize, i: usize) -> f64 {
    (base as f64).powf(-2.0 * i as f64 / n_rot as f64)
}

/// Checks a frequency-factor list for `n_rot` rotated dimensions: empty, or `n_rot/2` finite
/// values in `[1, ROPE_MAX_FACTOR]`.
pub fn check_freq_factors(n_rot: usize, factors: &[f32]) -> Result<(), String> {
    if !factors.is_empty() && factors.len() != n_rot / 2 {
        return Err(format!("{} frequency factors for {} rotated dimensions (need {})", factors.len(), n_rot, n_rot / 2));
    }
    if let Some((i, f)) = factors.iter().enumerate().find(|(_, f)| !(f.is_finite() && **f >= 1.0 && **f <= ROPE_MAX_FACTOR)) {
        return Err(format!("frequency factor {i} is {f}, not in [1, {ROPE_MAX_FACTOR}]"));
    }
    Ok(())
}

/// The table of [`Rope`]: `2·n_ctx·(n_rot/2)` entries (the caller bounds the sizes); see
/// [`crate::tables::rope_table`].
pub fn rope_table(base: f32, n_rot: usize, frac: u32, n_ctx: usize) -> Arc<[i64]> {
    crate::tables::rope_table(base, n_rot, frac.min(ROPE_MAX_FRAC), n_ctx)
}

impl Rope {
    /// Builds the op and its table (`n_rot` even, `n_rot·n_ctx ≤ 2^22`, `frac ≤ 30`).
    pub fn new(n_rot: usize, base: f32, frac: u32, n_ctx: usize) -> Result<Self, OpError> {
        Self::with_freq_factors(n_rot, base, frac, n_ctx, Arc::from(Vec::new()))
    }

    /// [`Self::new`] with frequency factors (empty: none; else `n_rot/2` values in
    /// `[1, ROPE_MAX_FACTOR]`, see [`check_freq_factors`]).
    pub fn with_freq_factors(n_rot: usize, base: f32, frac: u32, n_ctx: usize, freq_factors: Arc<[f32]>) -> Result<Self, OpError> {
        let op = Self { n_rot, base, frac, n_ctx, freq_factors, table: Arc::from(Vec::new()) };
        op.check_params()?;
        let table = crate::tables::rope_table_with_factors(base, n_rot, frac.min(ROPE_MAX_FRAC), n_ctx, &op.freq_factors);
        Ok(Self { table, ..op })
    }

    /// `θ_i` in `f64` with the frequency factor (the float reference's).
    pub fn theta(&self, i: usize) -> f64 {
        rope_theta(self.base, self.n_rot, i) / self.freq_factors.get(i).map_or(1.0, |&f| f64::from(f))
    }

    pub(crate) fn check_params(&self) -> Result<(), OpError> {
        if self.n_rot == 0 || !self.n_rot.is_multiple_of(2) || self.n_ctx == 0 || self.n_rot.saturating_mul(self.n_ctx) > 1 << 22 {
            return Err(OpError::Range { op: "Rope", msg: format!("need even n_rot ≥ 2, n_ctx ≥ 1, n_rot·n_ctx ≤ 2^22; got {self:?}") });
        }
        if self.frac == 0 || self.frac > ROPE_MAX_FRAC || !(self.base.is_finite() && self.base > 1.0) {
            return Err(OpError::Range { op: "Rope", msg: format!("need 1 ≤ frac ≤ {ROPE_MAX_FRAC} and a finite base > 1; got {self:?}") });
        }
        check_freq_factors(self.n_rot, &self.freq_factors).map_err(|msg| OpError::Range { op: "Rope", msg })?;
        Ok(())
    }

    /// `(C[p, i], S[p, i])`.
    pub fn coeffs(&self, p: usize, i: usize) -> (i64, i64) {
        let k = 2 * (p * (self.n_rot / 2) + i);
        (self.table[k], self.table[k + 1])
    }
}

impl IntOp for Rope {
    fn name(&self) -> &'static str {
        "Rope"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act, SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 2, s.len())?;
        match (s[0], s[1]) {
            (&[h, t, d], &[tp]) if tp == t && d >= self.n_rot => Ok(vec![h, t, d]),
            _ => Err(shape_err(self.name(), format!("x {:?}, positions {:?}, n_rot {}", s[0], s[1], self.n_rot))),
        }
    }
    fn out_bits(&self, s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        self.output_shape(s)?;
        want_len(self.name(), 2, b.len())?;
        self.check_params()?;
        if self.table.len() != self.n_rot * self.n_ctx {
            return Err(OpError::Range { op: self.name(), msg: "table size does not match its parameters".into() });
        }
        check_bits(self.name(), b[0] + self.frac + 2)?;
        Ok(b[0] + 1)
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        let shape = self.output_shape(&shapes_of(inputs))?;
        self.check_params()?;
        let x = act(self.name(), inputs, 0)?;
        let pos = act(self.name(), inputs, 1)?;
        if let Some(p) = pos.data.iter().find(|&&p| p < 0 || p as usize >= self.n_ctx) {
            return Err(OpError::Range { op: self.name(), msg: format!("position {p} outside [0, {})", self.n_ctx) });
        }
        let limit = 1i64 << (MAX_BITS - self.frac - 2);
        if x.data.iter().any(|v| v.abs() >= limit) {
            return Err(OpError::Range { op: self.name(), msg: format!("input reaches 2^{}", MAX_BITS - self.frac - 2) });
        }
        let (t, d) = (shape[1], shape[2]);
        let f = self.frac as i32;
        let mut data = x.data.clone();
        for (r, row) in data.chunks_mut(d).enumerate() {
            let p = pos.data[r % t] as usize;
            for i in 0..self.n_rot / 2 {
                let (c, s) = self.coeffs(p, i);
                let (a, b) = (row[2 * i], row[2 * i + 1]);
                row[2 * i] = super::rescale::rescale_value(a * c - b * s, f);
                row[2 * i + 1] = super::rescale::rescale_value(a * s + b * c, f);
            }
        }
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: the table's descriptor `n_rot`, `n_ctx` (`u64`, ≤ 2^30), `base` (`f32` bits),
/// `frac` (`u32`, ≤ 62), then the frequency factors: a `u32` count (0 or `n_rot/2`, checked before
/// anything is read) and each factor's `f32` bits (key version 8); the parameters are checked as by
/// [`Rope::with_freq_factors`] (which caps the table's size) before the table is rebuilt through
/// the decoder's [`TableCache`], keyed by every parameter including each factor.
impl OpParams for Rope {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.n_rot as u64);
        w.u32(self.base.to_bits());
        w.u32(self.frac);
        w.u64(self.n_ctx as u64);
        w.u32(self.freq_factors.len() as u32);
        for f in self.freq_factors.iter() {
            w.u32(f.to_bits());
        }
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let n_rot = read_size(r, "RoPE rotated dimensions")?;
        let base = f32::from_bits(r.u32("RoPE base")?);
        let frac = read_frac(r, "RoPE scale")?;
        let n_ctx = read_size(r, "RoPE context")?;
        let count = r.u32("RoPE frequency factor count")? as usize;
        if count != 0 && count != n_rot / 2 {
            return Err(DecodeError::Invalid { what: "RoPE frequency factors", why: format!("{count} factors for {n_rot} rotated dimensions (need 0 or {})", n_rot / 2) });
        }
        let mut factors = Vec::with_capacity(count.min(1 << 12));
        for _ in 0..count {
            factors.push(f32::from_bits(r.u32("RoPE frequency factor")?));
        }
        let op = Rope { n_rot, base, frac, n_ctx, freq_factors: Arc::from(factors), table: Arc::from(Vec::new()) };
        op.check_params().map_err(|e| DecodeError::Invalid { what: "RoPE parameters", why: e.to_string() })?;
        // Shared by every RoPE node with this descriptor (a Llama key has two per layer), within
        // the key's table budget.
        let mut params = vec![n_rot as u64, base.to_bits().into(), frac.into(), n_ctx as u64];
        params.extend(op.freq_factors.iter().map(|f| u64::from(f.to_bits())));
        let build = || crate::tables::rope_table_with_factors(base, n_rot, frac.min(ROPE_MAX_FRAC), n_ctx, &op.freq_factors);
        let table = tables.get_keyed("rope", params, n_rot * n_ctx, build)?;
        Ok(Rope { table, ..op })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_adjacent_pairs_and_keeps_norms() {
        let op = Rope::new(4, 10000.0, 16, 9).expect("ok");
        let x = IntTensor { shape: vec![2, 3, 6], data: (0..36).map(|i| (i * 37 % 23 - 11) << 10).collect() };
        let pos = IntTensor { shape: vec![3], data: vec![0, 5, 8] };
        let y = op.eval_int(&[Operand::Act(&x), Operand::Act(&pos)]).expect("ok");
        for (r, (xr, yr)) in x.data.chunks(6).zip(y.data.chunks(6)).enumerate() {
            let p = pos.data[r % 3] as f64;
            for i in 0..2 {
                let a = p * rope_theta(10000.0, 4, i);
                let (x0, x1) = (xr[2 * i] as f64, xr[2 * i + 1] as f64);
                assert!((yr[2 * i] as f64 - (x0 * a.cos() - x1 * a.sin())).abs() < 1.0);
                assert!((yr[2 * i + 1] as f64 - (x0 * a.sin() + x1 * a.cos())).abs() < 1.0);
            }
            assert_eq!(&xr[4..], &yr[4..]);
        }
        let bad = IntTensor { shape: vec![3], data: vec![0, 5, 9] };
        assert!(op.eval_int(&[Operand::Act(&x), Operand::Act(&bad)]).is_err());
    }

    /// Frequency factors: the rotation uses `θ_i / f_i`, they round-trip through the key codec,
    /// and a hostile key (wrong count, a factor below 1, NaN, infinity, above the cap, a huge count
    /// on a short key) is refused without a panic.
    #[test]
    fn frequency_factors_rotate_round_trip_and_bad_ones_are_refused() {
        let f: Arc<[f32]> = vec![1.0, 1.25, 8.0].into();
        let op = Rope::with_freq_factors(6, 10000.0, 16, 50, f.clone()).expect("ok");
        let x = IntTensor { shape: vec![1, 2, 6], data: (0..12).map(|i| (i * 29 % 17 - 8) << 12).collect() };
        let pos = IntTensor { shape: vec![2], data: vec![7, 49] };
        let y = op.eval_int(&[Operand::Act(&x), Operand::Act(&pos)]).expect("ok");
        for (r, (xr, yr)) in x.data.chunks(6).zip(y.data.chunks(6)).enumerate() {
            for i in 0..3 {
                let a = pos.data[r] as f64 * rope_theta(10000.0, 6, i) / f64::from(f[i]);
                assert!((a - pos.data[r] as f64 * op.theta(i)).abs() < 1e-12);
                let (x0, x1) = (xr[2 * i] as f64, xr[2 * i + 1] as f64);
                assert!((yr[2 * i] as f64 - (x0 * a.cos() - x1 * a.sin())).abs() < 1.0);
                assert!((yr[2 * i + 1] as f64 - (x0 * a.sin() + x1 * a.cos())).abs() < 1.0);
            }
        }
        let plain = Rope::new(6, 10000.0, 16, 50).expect("ok");
        assert_ne!(op, plain);
        assert_ne!(op.table, plain.table);
        let enc = |op: &Rope| {
            let mut w = Writer::new();
            op.encode_params(&mut w);
            w.into_bytes()
        };
        let mut cache = TableCache::default();
        let b = enc(&op);
        let mut r = Reader::new(&b);
        let back = Rope::decode_params(&mut r, &mut cache).expect("decodes");
        r.finish().expect("all read");
        assert_eq!(back, op);
        assert_eq!(back.table, op.table);
        // The plain op shares no table with the factored one (the cache key holds every factor).
        let bp = enc(&plain);
        let back_plain = Rope::decode_params(&mut Reader::new(&bp), &mut cache).expect("decodes");
        assert_eq!(back_plain.table, plain.table);
        let bad_factor = |i: usize, v: f32| {
            let mut b = b.clone();
            let at = b.len() - 4 * (3 - i);
            b[at..at + 4].copy_from_slice(&v.to_bits().to_le_bytes());
            b
        };
        for (i, v) in [(0, 0.5f32), (1, f32::NAN), (2, f32::INFINITY), (0, -1.0), (1, 1e6), (2, 0.0)] {
            let e = Rope::decode_params(&mut Reader::new(&bad_factor(i, v)), &mut TableCache::default()).expect_err("bad factor");
            assert!(e.to_string().contains("frequency factor"), "{v}: {e}");
        }
        // A count that is neither 0 nor n_rot/2, or larger than the key: refused before reading.
        let count_at = b.len() - 4 * 4;
        for count in [1u32, 2, 4, u32::MAX] {
            let mut bc = b.clone();
            bc[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
            assert!(Rope::decode_params(&mut Reader::new(&bc), &mut TableCache::default()).is_err(), "count {count}");
        }
        let huge = Rope { n_rot: 1 << 20, n_ctx: 2, ..plain.clone() };
        let mut bh = enc(&huge);
        let c = bh.len() - 4;
        bh[c..].copy_from_slice(&(1u32 << 19).to_le_bytes());
        assert!(Rope::decode_params(&mut Reader::new(&bh), &mut TableCache::default()).is_err());
        // Truncated anywhere.
        for cut in 0..b.len() {
            assert!(Rope::decode_params(&mut Reader::new(&b[..cut]), &mut TableCache::default()).is_err(), "cut {cut}");
        }
        // The builder refuses bad lists too.
        assert!(Rope::with_freq_factors(6, 10000.0, 16, 50, vec![1.0, 2.0].into()).is_err());
        assert!(Rope::with_freq_factors(6, 10000.0, 16, 50, vec![1.0, 0.9, 2.0].into()).is_err());
    }
}
