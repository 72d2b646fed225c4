//! Causal softmax (semantics: `zkinfer_graph::ops::softmax`): scores `[H, M, N]` with query offset
//! `s = N − M` (0 for one causal pass over all positions; a KV-cache chunk's queries sit after `s`
//! cached positions). Per head `h` and query row `i`, over the allowed keys `j ≤ s + i`,
//!
//! ```text
//! m = max_j x_j,  δ_j = min(m − x_j, 2^16 − 1),  e_j = EXP[δ_j],  Z = Σ_j e_j,
//! p_j = floor(e_j·2^P / Z)  (p_j = 0 for masked j > s + i)
//! ```
//!
//! **Committed** (all over the padded `[H, M, N]` cube, row quantities over `[H, M]`): `m` (`max`),
//! a one-hot selector `s` of one maximal key (`onehot`), `δ` (`delta`), the overflow
//! `o = (m − x) − δ ≥ 0` (`overflow`), `e = EXP[δ]` on the whole cube (`exp`), `Z` (`sum`), `p`
//! (`out`), the remainder `r` (`rem`) and `c = Z − 1 − r` on the extent (`slack`). `s`, `δ`, `o`,
//! `r`, `c` (and the range limbs of `o`, `r`, `c`) are zero on the cube's padding, which the
//! identities force anyway (below): they are committed as the blocks of the cube's extent
//! ([`crate::witness`], "committed as blocks"), the padding zero by definition; `e` (`EXP[0]`
//! there) is committed whole.
//! **Lookups / range checks**: `(δ, e) ∈ {(t, EXP[t]) : t < 2^16}` (also `0 ≤ δ < 2^16`);
//! `o < 2^(b+1)` (`o ≤ m − x ≤ 2^(b+1) − 2`), `p < 2^(P+1)`, `r, c < 2^(E + log T + 1)`.
//! **Public**: `M(h, i, j) = [h < H][i < M][j ≤ s + i]` (causal mask), `R(h, i) = [h < H][i < M]`
//! and the cube's extent `χ(h, i, j) = R(h, i)·[j < N]`.
//! The offset must be a multiple of `2^m`, `m` the row variables (`M` padded): then with `j` read
//! as `(j_hi, j_lo)`, `j_lo` its low `m` bits and `k = s / 2^m`,
//! `[j ≤ s + i] = [j_hi < k] + [j_hi = k]·[j_lo ≤ i]` (exact for `i < 2^m`), so `M̃` costs
//! `O(log N)` (`public_mle`); with `s = 0` it is the square causal mask.
//! **One sumcheck** (degree 3) over the cube proves, with powers of a random `λ` and a random `z`:
//!
//! ```text
//! Σ eq(z,·)·[ δ + o − M·m + M·x                 (δ + o = m − x on allowed keys, 0 elsewhere)
//!           + λ (s² − s) + λ² s·(δ + o) + λ³ (s − s·M)   (s one-hot on an allowed key with x = m)
//!           + λ⁴ (δ − cap)·o                           (o > 0 ⇒ δ = cap: δ = min(m − x, cap))
//!           + λ⁵ (2^P·M·e − p·Z − r) + λ⁶ (p − p·M)    (e·2^P = p·Z + r, p = 0 when masked)
//!           + λ⁷ (c + r − χ·Z + χ) ]                   (c = Z − 1 − r ≥ 0 ⇒ r < Z; c = −r off χ)
//! + λ⁸ Σ eq(z₁,(h,i))·M·e + λ⁹ Σ eq(z₁,(h,i))·s   =   λ⁸ Z̃(z₁) + λ⁹ R̃(z₁)
//! ```
//!
//! (`m`, `Z` broadcast along `j`). The last two sums give `Z = Σ_j M·e` and `Σ_j s = 1` on real
//! rows (0 on padding). At the final point `ρ` the prover sends the committed columns' values
//! (claims to the accumulator) and `x̃(ρ)` (the claim on the input); the verifier evaluates
//! `M`, `χ`, `R`, the eq factors itself. **No wrap**: all quantities stay below `2^62` (`E + P ≤ 40`,
//! `|x| ≤ 2^61`), and each relation's two sides are checked to differ by less than `p`
//! ([`crate::bounds`], in `witness` and `layout`), so each field identity is the integer one;
//! `s ∈ {0,1}` with `Σ_j s = 1 < p` picks exactly one key, and `e·2^P = p·Z + r` with `0 ≤ r < Z`
//! is Euclidean division (the unique `(p, r)`). Soundness error `(3·n + 10)/|EF|` plus the
//! lookup and range checks'.
//!
//! **Padding** (keys `j ≥ N`, rows `i ≥ M` or heads `h ≥ H`; also the masked keys `j > s + i`): the
//! identities force `δ = o = s = p = 0` and `r = 0` (`M = 0`), `c = 0` off the extent
//! (`c + r = 0` where `χ = 0`, both range checked; `c = Z − 1` on masked keys), `Z = 0` on padding
//! rows (`M = R = 0` there). `e` is only constrained by the lookup (`EXP[0]` honestly) and `m` on
//! padding rows not at all: both appear only multiplied by `M`, which is 0 there, so no value they take changes
//! any claim — the output `p` and every claim on `x` are those of the real entries. The test
//! `padding_rows_are_zero_or_harmless` plants values there.

use std::sync::Arc;

use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_lookup::Table;
use zkinfer_poly::{Mle, eq_eval, eq_evals};
use zkinfer_sumcheck::{MixedMle, Term};

use super::product_sumcheck::{broadcast_rows, check_bound, check_final, pow2, prove_products_mixed, send_column_value, verify_products};
use super::public_mle::{causal_mask_mle, less_than_mle, point_indicator_mle};
use crate::bounds::{Interval, check_relation};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::witness::{ColumnId, Owner, WitnessBuilder, WitnessLayout};

const OP: &str = "CausalSoftmax";
/// Rows of the exp table.
pub const EXP_TABLE_ROWS: usize = 1 << 16;
/// `min(m − x, CAP)` is the table index.
const CAP: i64 = EXP_TABLE_ROWS as i64 - 1;

const COL_MAX: &str = "max";
const COL_ONEHOT: &str = "onehot";
const COL_DELTA: &str = "delta";
const COL_OVERFLOW: &str = "overflow";
const COL_EXP: &str = "exp";
const COL_SUM: &str = "sum";
const COL_REM: &str = "rem";
const COL_SLACK: &str = "slack";

// Indices of the sumcheck tables.
pub(crate) const X: usize = 0;
pub(crate) const MB: usize = 1;
pub(crate) const S: usize = 2;
pub(crate) const D: usize = 3;
pub(crate) const O: usize = 4;
pub(crate) const E: usize = 5;
pub(crate) const P: usize = 6;
pub(crate) const ZB: usize = 7;
pub(crate) const R: usize = 8;
pub(crate) const C: usize = 9;
pub(crate) const MASK: usize = 10;
pub(crate) const ROWS: usize = 11;
pub(crate) const E1: usize = 12;
pub(crate) const EQ: usize = 13;
pub(crate) const NUM_TABLES: usize = 14;

/// The proof of a causal softmax over `[H, M, s + M]` scores (query offset `s`).
#[derive(Debug, Clone)]
pub struct SoftmaxProof {
    /// Input bound: `|x| < 2^in_bits` (`≤ 61`, the model's limit).
    pub in_bits: u32,
    /// `E`: `EXP[0] = 2^E`.
    pub exp_frac: u32,
    /// `P`: fractional bits of the probabilities.
    pub out_frac: u32,
    exp_values: Arc<[i64]>,
    table: Table,
    /// Query offset `s` (cached positions before the first query row).
    offset: usize,
}

/// Shapes of one node.
pub(crate) struct Dims {
    pub(crate) heads: usize,
    /// Query rows `M`.
    pub(crate) rows_n: usize,
    /// Keys `N = s + M`.
    pub(crate) len: usize,
    pub(crate) offset: usize,
    pub(crate) cube: TensorLayout,
    pub(crate) rows: TensorLayout,
}

impl Dims {
    pub(crate) fn head_vars(&self) -> usize {
        self.cube.dim_vars()[0]
    }
    pub(crate) fn row_vars(&self) -> usize {
        self.cube.dim_vars()[1]
    }
    /// Variables of the key axis.
    pub(crate) fn len_vars(&self) -> usize {
        self.cube.dim_vars()[2]
    }
}

/// Per-node witness columns (padded tables, in commitment order).
pub(crate) struct Columns {
    pub(crate) max: Vec<i64>,
    pub(crate) onehot: Vec<i64>,
    pub(crate) delta: Vec<i64>,
    pub(crate) overflow: Vec<i64>,
    pub(crate) exp: Vec<F>,
    pub(crate) sum: Vec<i64>,
    pub(crate) rem: Vec<i64>,
    pub(crate) slack: Vec<F>,
}

impl SoftmaxProof {
    /// The proof for scores with `|x| < 2^in_bits` and the exp table `EXP[t]`, `t < 2^16`
    /// (`EXP[0] = 2^exp_frac`). `name` must identify the table's content.
    pub fn new(name: &str, in_bits: u32, exp_frac: u32, out_frac: u32, exp_values: Arc<[i64]>) -> Result<Self, ProofError> {
        if exp_values.len() != EXP_TABLE_ROWS
            || exp_frac + out_frac > 40
            || in_bits > 61
            || exp_values.first() != Some(&(1i64 << exp_frac))
            || exp_values.iter().any(|&v| !(0..=1i64 << exp_frac).contains(&v))
        {
            return Err(ProofError::shape(OP, "unsupported parameters or exp table"));
        }
        let inputs: Vec<i64> = (0..EXP_TABLE_ROWS as i64).collect();
        let table = Table::function(format!("exp:{name}"), &inputs, &exp_values).map_err(|e| ProofError::shape(OP, e.to_string()))?;
        Ok(Self { in_bits, exp_frac, out_frac, exp_values, table, offset: 0 })
    }

    /// The same proof for queries after `offset` cached positions (scores `[H, M, offset + M]`;
    /// `offset` must be a multiple of `M` padded to a power of two, checked with the shape).
    pub fn with_offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// The exp lookup table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The proof of the model's op for scores with `|x| < 2^in_bits`.
    pub fn from_model(op: &zkinfer_graph::ops::softmax::CausalSoftmax, in_bits: u32) -> Result<Self, ProofError> {
        let name = format!("{}_{}", op.in_frac, op.exp_frac);
        Ok(Self::new(&name, in_bits, op.exp_frac, op.out_frac, op.table.clone())?.with_offset(op.offset))
    }

    fn dims(&self, node: &NodeShape<'_>) -> Result<Dims, ProofError> {
        node.expect_inputs(OP, 1)?;
        if node.output.dims != node.inputs[0].dims {
            return Err(ProofError::shape(OP, "the output's shape differs from the scores'"));
        }
        self.dims_of(&node.inputs[0].dims)
    }

    /// The shapes of scores `in_dims` (checked).
    pub(crate) fn dims_of(&self, in_dims: &[usize]) -> Result<Dims, ProofError> {
        let s = self.offset;
        match in_dims {
            &[h, m, n]
                if h > 0 && m > 0 && m.checked_add(s) == Some(n) && s.is_multiple_of(m.next_power_of_two()) =>
            {
                Ok(Dims { heads: h, rows_n: m, len: n, offset: s, cube: TensorLayout::new(&[h, m, n]), rows: TensorLayout::new(&[h, m]) })
            }
            d => Err(ProofError::shape(
                OP,
                format!("scores of shape {d:?} (need [H, M, {s} + M], the query offset {s} a multiple of M padded to a power of two)"),
            )),
        }
    }

    /// Bits of `Z`, `r`, `c`.
    pub(crate) fn sum_bits(&self, len: usize) -> u32 {
        self.exp_frac + zkinfer_poly::next_pow2_vars(len) as u32 + 1
    }

    /// The no-wrap argument ([`crate::bounds`]) for each relation of the module docs: `m` is
    /// some allowed key's `x` (the one-hot key's `δ + o = 0`), `e ∈ [0, 2^E]` (the table),
    /// `Z = Σ_j M·e ∈ [0, 2^(E + log T)]`, `s ∈ {0, 1}` (`s² = s`).
    pub(crate) fn check_relations(&self, d: &Dims) -> Result<(), ProofError> {
        let keys = 1usize << d.len_vars();
        let u = Interval::unsigned_range;
        let x = Interval::magnitude(self.in_bits);
        let (delta, overflow) = (u(16), u(self.in_bits + 1));
        check_relation(OP, "δ + o = m − x", &[delta, overflow], &[x, x.scale(-1)])?;
        let e = Interval::between(0, 1i128 << self.exp_frac);
        let z = e.sum_of(keys);
        check_relation(OP, "Z = Σ_j M·e", &[z], &[e.sum_of(keys)])?;
        let rem = u(self.sum_bits(d.len));
        check_relation(OP, "e·2^P = p·Z + r", &[e.times_pow2(self.out_frac)], &[u(self.out_frac + 1).times(z), rem])?;
        check_relation(OP, "c + r = Z − 1", &[rem, rem], &[z, Interval::constant(-1)])?;
        check_relation(OP, "Σ_j s = 1", &[Interval::between(0, 1).sum_of(keys)], &[Interval::constant(1)])
    }

    pub(crate) fn columns(&self, d: &Dims, x: &[i64], p: &[i64]) -> Result<Columns, ProofError> {
        let (h_n, m_n, t_n, s) = (d.heads, d.rows_n, d.len, d.offset);
        let (rv, tv) = (d.row_vars(), d.len_vars());
        let tp = 1usize << tv;
        let cube_len = d.cube.padded_len();
        let rows_len = d.rows.padded_len();
        let mut c = Columns {
            max: vec![0; rows_len],
            onehot: vec![0; cube_len],
            delta: vec![0; cube_len],
            overflow: vec![0; cube_len],
            exp: vec![F::from_u64(self.exp_values[0] as u64); cube_len],
            sum: vec![0; rows_len],
            rem: vec![0; cube_len],
            slack: vec![F::ZERO; cube_len],
        };
        if x.len() != h_n * m_n * t_n || p.len() != x.len() {
            return Err(ProofError::shape(OP, "trace length"));
        }
        for h in 0..h_n {
            for i in 0..m_n {
                let row = &x[(h * m_n + i) * t_n..][..t_n];
                let prow = &p[(h * m_n + i) * t_n..][..t_n];
                let keys = &row[..=s + i];
                let m = keys.iter().copied().max().unwrap_or(0);
                let star = keys.iter().position(|&v| v == m).unwrap_or(0);
                let ri = (h << rv) | i;
                c.max[ri] = m;
                let base = ri * tp;
                let mut z = 0i64;
                for (j, &v) in keys.iter().enumerate() {
                    let diff = m.checked_sub(v).ok_or_else(|| ProofError::witness(OP, "score difference overflows"))?;
                    let delta = diff.min(CAP);
                    c.delta[base + j] = delta;
                    c.overflow[base + j] = diff - delta;
                    let e = self.exp_values[delta as usize];
                    c.exp[base + j] = F::from_u64(e as u64);
                    z += e;
                }
                c.onehot[base + star] = 1;
                c.sum[ri] = z;
                for j in 0..tp {
                    let e = if j <= s + i { self.exp_values[c.delta[base + j] as usize] } else { 0 };
                    let pj = if j < t_n { prow[j] } else { 0 };
                    let r = (i128::from(e) << self.out_frac) - i128::from(pj) * i128::from(z);
                    let r = i64::try_from(r).map_err(|_| ProofError::witness(OP, "division remainder out of range"))?;
                    c.rem[base + j] = r;
                    if j < t_n {
                        c.slack[base + j] = from_i64_unchecked(z - 1 - r);
                    }
                }
            }
        }
        Ok(c)
    }

    fn register(&self, w: &mut WitnessLayout, d: &Dims, node: usize) -> Result<(), ProofError> {
        self.check_relations(d)?;
        let out = w.plan().find(Owner::Node(node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let (nc, nr) = (d.cube.num_vars(), d.rows.num_vars());
        w.commit(COL_MAX, nr)?;
        w.commit_tensor(COL_ONEHOT, &d.cube)?;
        let delta = w.commit_tensor(COL_DELTA, &d.cube)?;
        let overflow = w.commit_tensor(COL_OVERFLOW, &d.cube)?;
        let exp = w.commit(COL_EXP, nc)?;
        w.commit(COL_SUM, nr)?;
        let rem = w.commit_tensor(COL_REM, &d.cube)?;
        let slack = w.commit_tensor(COL_SLACK, &d.cube)?;
        w.lookup(&self.table, &[delta, exp])?;
        w.range_check(overflow, self.in_bits + 1, false)?;
        w.range_check(out, self.out_frac + 1, false)?;
        w.range_check(rem, self.sum_bits(d.len), false)?;
        w.range_check(slack, self.sum_bits(d.len), false)
    }

    /// The constraint terms over the 14 tables (see the module docs).
    fn terms(lambda: EF) -> Vec<Term> {
        let one = EF::ONE;
        let cap = EF::from(F::from_u64(CAP as u64));
        let l: Vec<EF> = lambda.powers().take(10).collect();
        let mut t: Vec<Term> = vec![
            (one, vec![EQ, D]),
            (one, vec![EQ, O]),
            (-one, vec![EQ, MASK, MB]),
            (one, vec![EQ, MASK, X]),
        ];
        t.extend([(l[1], vec![EQ, S, S]), (-l[1], vec![EQ, S])]);
        t.extend([(l[2], vec![EQ, S, D]), (l[2], vec![EQ, S, O])]);
        t.extend([(l[3], vec![EQ, S]), (-l[3], vec![EQ, S, MASK])]);
        t.extend([(l[4], vec![EQ, D, O]), (-l[4] * cap, vec![EQ, O])]);
        // 2^P is folded into the coefficient by the caller through `scale_p`.
        t.extend([(l[5], vec![EQ, MASK, E]), (-l[5], vec![EQ, P, ZB]), (-l[5], vec![EQ, R])]);
        t.extend([(l[6], vec![EQ, P]), (-l[6], vec![EQ, P, MASK])]);
        t.extend([(l[7], vec![EQ, C]), (l[7], vec![EQ, R]), (-l[7], vec![EQ, ZB, ROWS]), (l[7], vec![EQ, ROWS])]);
        t.extend([(l[8], vec![E1, MASK, E]), (l[9], vec![E1, S])]);
        t
    }

    pub(crate) fn terms_scaled(&self, lambda: EF) -> Vec<Term> {
        let mut t = Self::terms(lambda);
        // The term λ⁵·EQ·MASK·E carries the factor 2^P.
        if let Some(term) = t.iter_mut().find(|(_, idx)| idx == &vec![EQ, MASK, E]) {
            term.0 *= pow2(self.out_frac);
        }
        t
    }
}

/// The public tables at the final point: `(M(ρ), R(ρ), E1(ρ), EQ(ρ))`.
pub(crate) fn public_at(d: &Dims, rho: &[EF], z: &[EF], z1: &[EF]) -> (EF, EF, EF, EF) {
    let (hv, rv) = (d.head_vars(), d.row_vars());
    let (rh, rest) = rho.split_at(hv);
    let (ri, rj) = rest.split_at(rv);
    let heads = less_than_mle(d.heads, rh);
    let rows = heads * less_than_mle(d.rows_n, ri);
    // The cube's extent: real rows, keys below N.
    let extent = rows * less_than_mle(d.len, rj);
    // [j ≤ s + i] = [j_hi < k] + [j_hi = k]·[j_lo ≤ i], s = k·2^rv (module docs).
    let (j_hi, j_lo) = rj.split_at(rj.len() - rv);
    let k = d.offset >> rv;
    let mask = rows * less_than_mle(k, j_hi) + heads * point_indicator_mle(k, j_hi) * causal_mask_mle(d.rows_n, ri, j_lo);
    (mask, extent, eq_eval(z1, &rho[..hv + rv]), eq_eval(z, rho))
}

/// The public tables on the cube, for the prover: the causal mask `M`, the extent `χ`, `eq(z₁, ·)`
/// broadcast along the keys, `eq(z, ·)`.
pub(crate) fn public_tables(d: &Dims, z: &[EF], z1: &[EF]) -> (Vec<EF>, Vec<EF>, Vec<EF>, Vec<EF>) {
    let (mask, rows) = mask_and_rows::<EF>(d);
    let e1 = broadcast_rows(&eq_evals(z1), d.len_vars());
    (mask, rows, e1, eq_evals(z))
}

/// The 0/1 public tables on the cube, in any field: the causal mask `M` and the extent `χ`.
fn mask_and_rows<T: PrimeCharacteristicRing + Copy>(d: &Dims) -> (Vec<T>, Vec<T>) {
    let (rv, tv) = (d.row_vars(), d.len_vars());
    let tp = 1usize << tv;
    let n = d.cube.padded_len();
    let mut mask = vec![T::ZERO; n];
    let mut rows = vec![T::ZERO; n];
    for h in 0..d.heads {
        for i in 0..d.rows_n {
            let base = ((h << rv) | i) * tp;
            for j in 0..tp {
                if j < d.len {
                    rows[base + j] = T::ONE;
                }
                if j <= d.offset + i {
                    mask[base + j] = T::ONE;
                }
            }
        }
    }
    (mask, rows)
}

impl OpVerifier for SoftmaxProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        let d = self.dims(node)?;
        self.register(w, &d, node.node)
    }
}

impl WalkVerifier for SoftmaxProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(node)?;
        let names = [COL_MAX, COL_ONEHOT, COL_DELTA, COL_OVERFLOW, COL_EXP, COL_SUM, COL_REM, COL_SLACK, OUTPUT_COLUMN];
        let ids: Vec<ColumnId> = names.iter().map(|n| ctx.column(n)).collect::<Result<_, _>>()?;
        let [max, onehot, delta, overflow, exp, sum, rem, slack, out] = ids[..] else {
            return Err(ProofError::shape(OP, "columns"));
        };
        let (nc, nr) = (d.cube.num_vars(), d.rows.num_vars());
        let z = ctx.challenges(nc);
        let z1 = ctx.challenges(nr);
        let lambda = ctx.challenge();
        let sum_z1 = ctx.claim_column(sum, &z1)?;
        let (hv, rv) = (d.head_vars(), d.row_vars());
        let rows_z1 = less_than_mle(d.heads, &z1[..hv]) * less_than_mle(d.rows_n, &z1[hv..hv + rv]);
        let l: Vec<EF> = lambda.powers().take(10).collect();
        let terms = self.terms_scaled(lambda);
        let claimed = l[8] * sum_z1 + l[9] * rows_z1;
        let (rho, expected) = verify_products(OP, ctx, nc, &terms, false, claimed)?;
        let mut v = vec![EF::ZERO; NUM_TABLES];
        v[X] = ctx.receive_eval()?;
        let rho_rows = rho[..nr].to_vec();
        v[MB] = ctx.claim_column(max, &rho_rows)?;
        v[ZB] = ctx.claim_column(sum, &rho_rows)?;
        for (col, idx) in [(onehot, S), (delta, D), (overflow, O), (exp, E), (out, P), (rem, R), (slack, C)] {
            v[idx] = ctx.claim_column(col, &rho)?;
        }
        (v[MASK], v[ROWS], v[E1], v[EQ]) = public_at(&d, &rho, &z, &z1);
        check_final(OP, &terms, None, &rho, &v, expected)?;
        Ok(vec![vec![Claim::new(rho, v[X])]])
    }
}

impl OpProver for SoftmaxProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        let d = self.dims(&node.shape)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        self.check_relations(&d)?;
        check_bound(OP, node.inputs[0], self.in_bits)?;
        let c = self.columns(&d, node.inputs[0], node.output)?;
        let to_f = |v: &[i64]| v.iter().map(|&a| from_i64_unchecked(a)).collect::<Vec<F>>();
        w.commit(COL_MAX, to_f(&c.max))?;
        w.commit_padded_tensor(COL_ONEHOT, &d.cube, to_f(&c.onehot))?;
        let delta = w.commit_padded_tensor(COL_DELTA, &d.cube, to_f(&c.delta))?;
        let overflow = w.commit_padded_tensor(COL_OVERFLOW, &d.cube, to_f(&c.overflow))?;
        let exp = w.commit(COL_EXP, c.exp)?;
        w.commit(COL_SUM, to_f(&c.sum))?;
        let rem = w.commit_padded_tensor(COL_REM, &d.cube, to_f(&c.rem))?;
        let slack = w.commit_padded_tensor(COL_SLACK, &d.cube, c.slack)?;
        w.lookup(&self.table, &[delta, exp])?;
        w.range_check(overflow, self.in_bits + 1, false)?;
        w.range_check(out, self.out_frac + 1, false)?;
        w.range_check(rem, self.sum_bits(d.len), false)?;
        w.range_check(slack, self.sum_bits(d.len), false)
    }
}

impl WalkProver for SoftmaxProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(&node.shape)?;
        let names = [COL_MAX, COL_ONEHOT, COL_DELTA, COL_OVERFLOW, COL_EXP, COL_SUM, COL_REM, COL_SLACK, OUTPUT_COLUMN];
        let ids: Vec<ColumnId> = names.iter().map(|n| ctx.column(n)).collect::<Result<_, _>>()?;
        let [max, onehot, delta, overflow, exp, sum, rem, slack, out] = ids[..] else {
            return Err(ProofError::shape(OP, "columns"));
        };
        let (nc, nr, tv) = (d.cube.num_vars(), d.rows.num_vars(), d.len_vars());
        let z = ctx.challenges(nc);
        let z1 = ctx.challenges(nr);
        let lambda = ctx.challenge();
        let _ = ctx.claim_column(sum, &z1);
        // Every table but the two eq tables is in the base field: the sumcheck runs its first
        // rounds there (same rounds as on the lifted tables, `ProductSumcheck::new_mixed`).
        let (mask, rows) = mask_and_rows::<F>(&d);
        let base = |v: Vec<F>| MixedMle::Base(Mle::new(v));
        let mut mles: Vec<MixedMle> = Vec::with_capacity(NUM_TABLES);
        mles.push(base(d.cube.pad_i64(node.inputs[0])));
        mles.push(base(broadcast_rows(&ctx.values(max), tv)));
        for col in [onehot, delta, overflow, exp, out] {
            mles.push(base(ctx.values(col).into_owned()));
        }
        mles.push(base(broadcast_rows(&ctx.values(sum), tv)));
        mles.push(base(ctx.values(rem).into_owned()));
        mles.push(base(ctx.values(slack).into_owned()));
        mles.push(base(mask));
        mles.push(base(rows));
        mles.push(MixedMle::Ext(Mle::new(broadcast_rows(&eq_evals(&z1), tv))));
        mles.push(MixedMle::Ext(Mle::new(eq_evals(&z))));
        let (rho, finals) = prove_products_mixed(ctx, mles, self.terms_scaled(lambda));
        let x_rho = ctx.send_eval(finals[X]);
        let rho_rows = rho[..nr].to_vec();
        let _ = send_column_value(ctx, max, &rho_rows, finals[MB]);
        let _ = send_column_value(ctx, sum, &rho_rows, finals[ZB]);
        for (col, idx) in [(onehot, S), (delta, D), (overflow, O), (exp, E), (out, P), (rem, R), (slack, C)] {
            let _ = send_column_value(ctx, col, &rho, finals[idx]);
        }
        Ok(vec![vec![Claim::new(rho, x_rho)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::softmax::CausalSoftmax {
    fn protocol(&self, node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(SoftmaxProof::new(&format!("exp{}_{}", self.in_frac, self.exp_frac), node.in_bits(0), self.exp_frac, self.out_frac, self.table.clone())?.with_offset(self.offset)))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::softmax::{CausalSoftmax, exp_table};

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng, run};

    fn model(in_frac: u32) -> CausalSoftmax {
        CausalSoftmax::new(0, in_frac, 20, 16, exp_table(in_frac, 20))
    }

    fn eval(m: &CausalSoftmax, dims: &[usize], x: &[i64]) -> Vec<i64> {
        let t = dims[2];
        let mut out = vec![0; x.len()];
        for (r, (row, o)) in x.chunks(t).zip(out.chunks_mut(t)).enumerate() {
            m.eval_row(row, r % t + 1, o);
        }
        out
    }

    fn case(seed: u64, dims: &[usize], in_frac: u32, spread: i64) -> (SoftmaxProof, Case, CausalSoftmax) {
        let m = model(in_frac);
        let mut r = rng(seed);
        let n = dims.iter().product();
        let x: Vec<i64> = (0..n).map(|_| r.random_range(-spread..spread)).collect();
        let p = eval(&m, dims, &x);
        let op = SoftmaxProof::from_model(&m, 64 - (spread as u64).leading_zeros()).expect("params");
        let c = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x }], output_dims: dims.to_vec(), output: p, public_output: None };
        (op, c, m)
    }

    #[test]
    fn honest_softmax_verifies() {
        // Ties, wide inputs whose differences exceed the table (overflow), odd sizes.
        for (seed, dims, in_frac, spread) in [(1u64, [3usize, 5, 5], 12u32, 3i64), (2, [2, 7, 7], 4, 1 << 22), (3, [1, 1, 1], 12, 100), (4, [5, 12, 12], 12, 1 << 14), (5, [3, 21, 21], 8, 1 << 12)] {
            let (op, c, _) = case(seed, &dims, in_frac, spread);
            assert_accepts(&op, &c);
        }
    }

    #[test]
    fn honest_softmax_verifies_on_random_shapes() {
        let mut r = rng(77);
        for seed in 0..6u64 {
            let dims = [r.random_range(1..4usize), 0, 0];
            let t = r.random_range(1..20usize);
            let dims = [dims[0], t, t];
            let spread = 1i64 << r.random_range(1..30u32);
            let (op, c, _) = case(100 + seed, &dims, r.random_range(0..16u32), spread);
            assert_accepts(&op, &c);
        }
    }

    #[test]
    fn perturbing_any_column_or_the_input_is_rejected() {
        // 6 keys: every column committed whole; 20 keys: `s, δ, o, r, c` as blocks of the extent.
        for dims in [[2usize, 6, 6], [2, 20, 20]] {
            perturbations_are_rejected(dims);
        }
    }

    fn perturbations_are_rejected(dims: [usize; 3]) {
        let (op, c, m) = case(5, &dims, 8, 1 << 12);
        let at = padded_index(&dims, &[1, 4, 2]);
        let masked = padded_index(&dims, &[1, 2, 4]);
        let row = padded_index(&[2, 6], &[1, 4]);
        let edits: Vec<(&str, usize, i64)> = vec![
            (OUTPUT_COLUMN, at, 1),
            (OUTPUT_COLUMN, at, -1),
            (OUTPUT_COLUMN, masked, 1),
            (COL_REM, at, 1),
            (COL_SLACK, at, -1),
            (COL_MAX, row, 1),
            (COL_MAX, row, -1),
            (COL_SUM, row, 1),
            (COL_OVERFLOW, at, 1),
            (COL_ONEHOT, at, 1),
        ];
        for (col, i, delta) in edits {
            let t = move |w: &mut WitnessBuilder| bump(w, col, i, delta);
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            assert!(!err.is_empty());
        }
        // (δ, e) moved together to the next table row: the lookup holds, the relations do not.
        let table = m.table.clone();
        let t = move |w: &mut WitnessBuilder| {
            let dc = w.plan().find(Owner::Node(0), COL_DELTA).expect("delta");
            let d = zkinfer_field::to_i64(w.values(dc)[at]);
            let ec = w.plan().find(Owner::Node(0), COL_EXP).expect("exp");
            let e = zkinfer_field::to_i64(w.values(ec)[at]);
            bump(w, COL_DELTA, at, 1);
            bump(w, COL_EXP, at, table[(d + 1) as usize] - e);
        };
        let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        assert!(err.starts_with("verify"), "{err}");
        // The one-hot moved to another allowed key that is not a maximum.
        let t = move |w: &mut WitnessBuilder| {
            let oc = w.plan().find(Owner::Node(0), COL_ONEHOT).expect("onehot");
            let base = padded_index(&dims, &[1, 4, 0]);
            let star = (0..5).find(|&j| w.values(oc)[base + j] == F::ONE).expect("a selected key");
            let other = (star + 1) % 5;
            bump(w, COL_ONEHOT, base + star, -1);
            bump(w, COL_ONEHOT, base + other, 1);
        };
        assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        // A different input proven consistently.
        let mut x = c.inputs[0].values.clone();
        x[7] += 5;
        let p = eval(&m, &dims, &x);
        let err = assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(p), tamper: None });
        assert!(err.starts_with("operand"), "{err}");
    }

    /// Padding rows (`i ≥ T`), padded keys and masked keys: a value planted in any constrained
    /// column there is rejected; the row maximum on a padding row is free but harmless (it only
    /// appears times the mask): the proof still verifies with every claim equal to the true
    /// values'. With 5 keys every column is committed whole (the verifier rejects); with 20 the
    /// zero-padded ones are blocks of the extent (the prover cannot commit a padding value).
    #[test]
    fn padding_rows_are_zero_or_harmless() {
        for (n, pad_row_i, pad_key) in [(5usize, 6usize, 6usize), (20, 21, 25)] {
            padding_is_zero_or_harmless(n, pad_row_i, pad_key);
        }
    }

    fn padding_is_zero_or_harmless(n: usize, pad_row_i: usize, pad_key: usize) {
        let dims = [2usize, n, n];
        let (op, c, _) = case(8, &dims, 8, 1 << 12);
        let pad = padded_index(&dims, &[1, pad_row_i, 2]);
        let pad_key = padded_index(&dims, &[0, 3, pad_key]);
        let masked = padded_index(&dims, &[0, 1, 3]);
        let pad_row = padded_index(&[2, n], &[1, pad_row_i]);
        let mut edits: Vec<(&str, usize, i64)> = vec![(COL_SUM, pad_row, 1)];
        for at in [pad, pad_key, masked] {
            for col in [OUTPUT_COLUMN, COL_REM, COL_SLACK, COL_DELTA, COL_OVERFLOW, COL_ONEHOT] {
                edits.push((col, at, 1));
            }
        }
        for (col, at, delta) in edits {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            assert!(!err.is_empty(), "{col}[{at}]");
        }
        let t = move |w: &mut WitnessBuilder| bump(w, COL_MAX, pad_row, 12345);
        run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() }).expect("a padding row's maximum is harmless");
    }

    #[test]
    fn out_of_range_division_remainder_is_rejected() {
        // Slack committed whole (4 keys) and as blocks of the extent (20 keys).
        for n in [4usize, 20] {
            division_remainder_out_of_range_is_rejected(n);
        }
    }

    fn division_remainder_out_of_range_is_rejected(n: usize) {
        // p − 1 with r + Z satisfies e·2^P = p·Z + r; only r < Z (the slack's range) stops it.
        let dims = [1usize, n, n];
        let (op, c, _) = case(6, &dims, 12, 1 << 10);
        let at = padded_index(&dims, &[0, 3, 1]);
        let row = padded_index(&[1, n], &[0, 3]);
        let t = move |w: &mut WitnessBuilder| {
            let zc = w.plan().find(Owner::Node(0), COL_SUM).expect("sum");
            let z = zkinfer_field::to_i64(w.values(zc)[row]);
            bump(w, OUTPUT_COLUMN, at, -1);
            bump(w, COL_REM, at, z);
            bump(w, COL_SLACK, at, -z);
        };
        let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        assert!(!err.starts_with("verify"), "expected the range argument to fail, got {err}");
    }

    /// Scores `[H, M, s + M]` of queries after `s` cached positions, with the true outputs.
    fn offset_case(seed: u64, h: usize, m_rows: usize, s: usize, spread: i64) -> (SoftmaxProof, Case, CausalSoftmax) {
        let m = CausalSoftmax::new(s, 12, 20, 16, exp_table(12, 20));
        let mut r = rng(seed);
        let n = s + m_rows;
        let dims = vec![h, m_rows, n];
        let x: Vec<i64> = (0..h * m_rows * n).map(|_| r.random_range(-spread..spread)).collect();
        let mut p = vec![0; x.len()];
        for (row, (xs, o)) in x.chunks(n).zip(p.chunks_mut(n)).enumerate() {
            m.eval_row(xs, s + row % m_rows + 1, o);
        }
        let op = SoftmaxProof::from_model(&m, 64 - (spread as u64).leading_zeros()).expect("params");
        let c = Case { inputs: vec![Operand { dims: dims.clone(), role: TensorRole::Virtual, values: x }], output_dims: dims, output: p, public_output: None };
        (op, c, m)
    }

    /// Queries after cached positions (a KV-cache chunk): aligned offsets verify, including a
    /// short last chunk (`M = 3` padded to 4 after 8 positions) and one key variable more than
    /// the rows have.
    #[test]
    fn honest_softmax_with_query_offset_verifies() {
        for (seed, h, m_rows, s) in [(11u64, 2usize, 4usize, 4usize), (12, 1, 3, 8), (13, 3, 2, 6), (14, 2, 1, 5), (15, 1, 8, 0)] {
            let (op, c, _) = offset_case(seed, h, m_rows, s, 1 << 12);
            assert_accepts(&op, &c);
        }
    }

    /// With an offset, a lie in the output, in a cached key's probability (allowed, `j < s`), in
    /// a masked key's, or a consistently recomputed input is rejected; a misaligned offset is
    /// refused as a shape.
    #[test]
    fn softmax_with_query_offset_rejects_lies() {
        let (h, m_rows, s) = (2usize, 4usize, 4usize);
        let (op, c, m) = offset_case(21, h, m_rows, s, 1 << 12);
        let dims = [h, m_rows, s + m_rows];
        let cached = padded_index(&dims, &[1, 2, 1]);
        let new_key = padded_index(&dims, &[1, 2, 6]);
        let masked = padded_index(&dims, &[1, 2, 7]);
        for (col, at, delta) in [(OUTPUT_COLUMN, cached, 1i64), (OUTPUT_COLUMN, new_key, -1), (OUTPUT_COLUMN, masked, 1), (COL_ONEHOT, masked, 1)] {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        }
        let mut x = c.inputs[0].values.clone();
        x[3] += 7;
        let n = s + m_rows;
        let mut p = vec![0; x.len()];
        for (row, (xs, o)) in x.chunks(n).zip(p.chunks_mut(n)).enumerate() {
            m.eval_row(xs, s + row % m_rows + 1, o);
        }
        let err = assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(p), tamper: None });
        assert!(err.starts_with("operand"), "{err}");
        // Offset 2 with 4 query rows: not aligned, refused before anything is proven.
        let (op, c, _) = offset_case(22, 1, 4, 2, 1 << 12);
        let err = assert_rejects(&op, &c, &Attack::default());
        assert!(err.contains("query offset"), "{err}");
    }
}
