//! `Rope`: rotary position embedding with llama.cpp's "normal" pair layout, a linear map with
//! public per-position coefficients.
//!
//! Operands: `x: [H, T, d]` (activation heads), `positions: [T]` (the public position of each
//! row, `< n_ctx`). With `F = frac`, `m = n_rot / 2` pairs and the public table
//! `C[p, i] = round(cos(p·θ_i)·2^F)`, `S[p, i] = round(sin(p·θ_i)·2^F)`, `θ_i = base^(−2i/n_rot)`,
//! exactly, for every head and row `t` at position `p = positions[t]` and `i < m`:
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
//! **The table** is built with integer arithmetic only ([`crate::tables::rope_table`]: `ln`,
//! `exp`, `cos`, `sin` in 112-bit fixed point, error `< 2^-79`, then rounded half away from zero
//! to `F` bits), so prover and verifier build the same table on every platform; `|C|, |S| ≤ 2^F`.
//!
//! **No wrap.** `|x[2i]·C − x[2i+1]·S| ≤ 2·2^(b+F)`, so intermediates stay below
//! `2^(b+F+2) ≤ 2^62` ([`Rope::out_bits`] refuses more), and the output bound is
//! `|y| ≤ sqrt(2)·2^b·(1 + 2^(1−F)) + 1/2 < 2^(b+1)`.

use super::*;
use std::sync::Arc;

/// Largest accepted fractional bits of the table.
pub const ROPE_MAX_FRAC: u32 = 30;

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
    /// `(C[p, i], S[p, i])` at index `2·(p·m + i)`.
    pub table: Arc<[i64]>,
}

impl Eq for Rope {}

impl std::fmt::Debug for Rope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rope {{ n_rot: {}, base: {}, frac: {}, n_ctx: {} }}", self.n_rot, self.base, self.frac, self.n_ctx)
    }
}

/// `θ_i = base^(−2i/n_rot)` in `f64` (the float reference's; the integer table does not use it).
pub fn rope_theta(base: f32, n_rot: usize, i: usize) -> f64 {
    (base as f64).powf(-2.0 * i as f64 / n_rot as f64)
}

/// The table of [`Rope`]: `2·n_ctx·(n_rot/2)` entries (the caller bounds the sizes); see
/// [`crate::tables::rope_table`].
pub fn rope_table(base: f32, n_rot: usize, frac: u32, n_ctx: usize) -> Arc<[i64]> {
    crate::tables::rope_table(base, n_rot, frac.min(ROPE_MAX_FRAC), n_ctx)
}

impl Rope {
    /// Builds the op and its table (`n_rot` even, `n_rot·n_ctx ≤ 2^22`, `frac ≤ 30`).
    pub fn new(n_rot: usize, base: f32, frac: u32, n_ctx: usize) -> Result<Self, OpError> {
        let op = Self { n_rot, base, frac, n_ctx, table: Arc::from(Vec::new()) };
        op.check_params()?;
        Ok(Self { table: rope_table(base, n_rot, frac, n_ctx), ..op })
    }

    pub(crate) fn check_params(&self) -> Result<(), OpError> {
        if self.n_rot == 0 || !self.n_rot.is_multiple_of(2) || self.n_ctx == 0 || self.n_rot.saturating_mul(self.n_ctx) > 1 << 22 {
            return Err(OpError::Range { op: "Rope", msg: format!("need even n_rot ≥ 2, n_ctx ≥ 1, n_rot·n_ctx ≤ 2^22; got {self:?}") });
        }
        if self.frac == 0 || self.frac > ROPE_MAX_FRAC || !(self.base.is_finite() && self.base > 1.0) {
            return Err(OpError::Range { op: "Rope", msg: format!("need 1 ≤ frac ≤ {ROPE_MAX_FRAC} and a finite base > 1; got {self:?}") });
        }
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
/// `frac` (`u32`, ≤ 62); the parameters are checked as by [`Rope::new`] (which caps the table's
/// size) before the table is rebuilt through the decoder's [`TableCache`].
impl OpParams for Rope {
    fn encode_params(&self, w: &mut Writer) {
        w.u64(self.n_rot as u64);
        w.u32(self.base.to_bits());
        w.u32(self.frac);
        w.u64(self.n_ctx as u64);
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let n_rot = read_size(r, "RoPE rotated dimensions")?;
        let base = f32::from_bits(r.u32("RoPE base")?);
        let frac = read_frac(r, "RoPE scale")?;
        let n_ctx = read_size(r, "RoPE context")?;
        let op = Rope { n_rot, base, frac, n_ctx, table: Arc::from(Vec::new()) };
        op.check_params().map_err(|e| DecodeError::Invalid { what: "RoPE parameters", why: e.to_string() })?;
        // Shared by every RoPE node with this descriptor (a Llama key has two per layer), within
        // the key's table budget.
        let params = [n_rot as u64, base.to_bits().into(), frac.into(), n_ctx as u64];
        let table = tables.get("rope", params, n_rot * n_ctx, || rope_table(base, n_rot, frac, n_ctx))?;
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
}
