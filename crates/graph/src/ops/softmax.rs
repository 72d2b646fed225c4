//! `CausalSoftmax`: per head and query row, softmax over the allowed (causal) keys only.
//!
//! Input `x: [H, M, N]` (scores with `f_in` fractional bits, `N = offset + M`); query row `i`
//! sits at absolute position `offset + i` and may attend keys `j ≤ offset + i`. Per row:
//!
//! ```text
//! m   = max_{j allowed} x_j                       (m ≥ x_j for all allowed j; m = x_{j*})
//! e_j = EXP[min(m − x_j, 2^16 − 1)]               (lookup; EXP[t] = round(2^E · exp(−t / 2^f_in)))
//! Z   = Σ_{j allowed} e_j                         (Z ≥ EXP[0] = 2^E > 0)
//! p_j = floor(e_j · 2^P / Z)                      (e_j·2^P = p_j·Z + r_j,  0 ≤ r_j < Z)
//! p_j = 0 for masked j > offset + i
//! ```
//!
//! The output has `P` fractional bits and `0 ≤ p ≤ 2^P`, so `bits(p) = P + 1`. The input must
//! satisfy `|x| < 2^61` so that `m − x_j` cannot overflow. The proven forward pass has
//! `offset = 0`; KV-cache generation evaluates later rows with `offset > 0`, row by row the same.

use super::*;
use std::sync::Arc;

/// Rows of the exp table (and `cap + 1`).
pub const EXP_ROWS: usize = 1 << 16;

/// Causal softmax with an exp table and an exact division.
#[derive(Clone, PartialEq, Eq)]
pub struct CausalSoftmax {
    /// Absolute position of query row 0.
    pub offset: usize,
    /// Fractional bits of the scores.
    pub in_frac: u32,
    /// `E`: `EXP[0] = 2^E`.
    pub exp_frac: u32,
    /// `P`: fractional bits of the probabilities.
    pub out_frac: u32,
    /// `EXP[t] = round(2^E · exp(−t / 2^f_in))`, `t ∈ [0, 2^16)`.
    pub table: Arc<[i64]>,
}

impl std::fmt::Debug for CausalSoftmax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CausalSoftmax {{ offset: {}, in_frac: {}, exp_frac: {}, out_frac: {} }}",
            self.offset, self.in_frac, self.exp_frac, self.out_frac
        )
    }
}

/// The exp table `EXP[t] = round(2^E · exp(−t / 2^f_in))`, `t ∈ [0, EXP_ROWS)`, computed with
/// integer arithmetic only ([`crate::tables::exp_table`]: identical on every platform).
pub fn exp_table(in_frac: u32, exp_frac: u32) -> Arc<[i64]> {
    crate::tables::exp_table(in_frac, exp_frac)
}

/// The per-row witness of [`CausalSoftmax`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowParts {
    /// The maximum over allowed keys.
    pub max: i64,
    /// `e_j` for the allowed keys.
    pub exps: Vec<i64>,
    /// `Σ e_j`.
    pub sum: i64,
}

impl CausalSoftmax {
    /// Builds the op for queries starting at absolute position `offset`.
    pub fn new(offset: usize, in_frac: u32, exp_frac: u32, out_frac: u32, table: Arc<[i64]>) -> Self {
        Self { offset, in_frac, exp_frac, out_frac, table }
    }

    /// Max, exps and sum over the first `allowed` entries of `row` (`allowed ≥ 1`).
    pub fn row_parts(&self, row: &[i64], allowed: usize) -> RowParts {
        let keys = &row[..allowed.min(row.len())];
        let max = keys.iter().copied().max().unwrap_or(0);
        let cap = (self.table.len() - 1) as i64;
        let exps: Vec<i64> = keys.iter().map(|&x| self.table[(max - x).min(cap) as usize]).collect();
        let sum = exps.iter().sum();
        RowParts { max, exps, sum }
    }

    /// Writes the probabilities of one row (`out.len() = row.len()`; entries ≥ `allowed` are 0).
    pub fn eval_row(&self, row: &[i64], allowed: usize, out: &mut [i64]) {
        let parts = self.row_parts(row, allowed);
        out.fill(0);
        for (o, &e) in out.iter_mut().zip(&parts.exps) {
            *o = (e << self.out_frac) / parts.sum;
        }
    }

    fn check_params(&self) -> Result<(), OpError> {
        if self.table.len() != EXP_ROWS || self.exp_frac + self.out_frac > 40 || self.table.first() != Some(&(1i64 << self.exp_frac)) {
            return Err(OpError::Range { op: "CausalSoftmax", msg: format!("bad parameters {self:?}") });
        }
        Ok(())
    }
}

impl IntOp for CausalSoftmax {
    fn name(&self) -> &'static str {
        "CausalSoftmax"
    }
    fn slots(&self) -> Vec<SlotKind> {
        vec![SlotKind::Act]
    }
    fn output_shape(&self, s: &[&[usize]]) -> Result<Vec<usize>, OpError> {
        want_len(self.name(), 1, s.len())?;
        match s[0] {
            &[h, m, n] if n == self.offset + m => Ok(vec![h, m, n]),
            _ => Err(shape_err(self.name(), format!("{:?} with query offset {}", s[0], self.offset))),
        }
    }
    fn out_bits(&self, s: &[&[usize]], b: &[u32]) -> Result<u32, OpError> {
        self.output_shape(s)?;
        self.check_params()?;
        if b[0] > 61 {
            return Err(OpError::Range { op: self.name(), msg: format!("input bound 2^{} > 2^61", b[0]) });
        }
        // Z ≤ N·2^E must stay below 2^62 as well.
        check_bits(self.name(), self.exp_frac + ceil_log2(s[0][2]))?;
        Ok(self.out_frac + 1)
    }
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
        want_len(self.name(), 1, inputs.len())?;
        let shape = self.output_shape(&shapes_of(inputs))?;
        self.check_params()?;
        let x = act(self.name(), inputs, 0)?;
        if x.data.iter().any(|v| v.unsigned_abs() >= 1 << 61) {
            return Err(OpError::Range { op: self.name(), msg: "score reaches 2^61".into() });
        }
        let (m, n) = (shape[1], shape[2]);
        let mut data = vec![0i64; x.len()];
        for (r, (row, out)) in x.data.chunks(n.max(1)).zip(data.chunks_mut(n.max(1))).enumerate() {
            let i = r % m.max(1);
            self.eval_row(row, self.offset + i + 1, out);
        }
        Ok(IntTensor { shape, data })
    }
}

/// Key fields: `in_frac`, `exp_frac`, `out_frac` (`u32`, ≤ 62); the exp table is rebuilt by
/// [`exp_table`]. The query offset is not stored: it is a size, fixed when a graph template is
/// instantiated (`N − M` of the operand, see `template`).
impl OpParams for CausalSoftmax {
    fn encode_params(&self, w: &mut Writer) {
        w.u32(self.in_frac);
        w.u32(self.exp_frac);
        w.u32(self.out_frac);
    }
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError> {
        let in_frac = read_frac(r, "softmax input scale")?;
        let exp_frac = read_frac(r, "softmax exp scale")?;
        let out_frac = read_frac(r, "softmax output scale")?;
        let table = tables.get("exp", [in_frac.into(), exp_frac.into(), 0, 0], EXP_ROWS, || exp_table(in_frac, exp_frac))?;
        Ok(CausalSoftmax::new(0, in_frac, exp_frac, out_frac, table))
    }
}
