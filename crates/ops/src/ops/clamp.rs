//! Clamp: `y = min(max(x, lo), hi)` with `lo ≤ 0 ≤ hi` (semantics: `zkinfer_graph::ops::clamp`).
//!
//! **Committed**: `y` (column `out`) and the distance `s = |x − y|` (column `dist`, zero on
//! padding). **Virtual** (not committed, see [`crate::witness`]): the gaps `a = y − lo·χ`,
//! `b = hi·χ − y` over the whole padded table, `χ` the indicator of the logical extent (its
//! multilinear extension is [`crate::witness::extent_indicator`]; so the gaps, like `y` and `s`,
//! are zero on the padding and their limbs are committed as blocks of the extent only).
//! **Range checks**: `a, b ∈ [0, 2^k)` with `k = bits(hi − lo)` — on the extent, with
//! `a + b = hi − lo`, this is `lo ≤ y ≤ hi`; on the padding `a = y` and `b = −y` both in
//! `[0, 2^k)`, `2^k < p/2`, force `y = 0`; `s ∈ [0, 2^e)` with `e` one more than the bits of
//! `max(|x|, |lo|, |hi|)`.
//! **Relation** (`z`, `λ` random, `d = x − y`, `ρ` the sumcheck point):
//!
//! ```text
//! Σ_x eq(z, x)·[(s² − d²) + λ·a·(s − d) + λ²·b·(s + d)] = 0
//! ```
//!
//! written as `u·v + λ·a·u + λ²·b·v` over the tables `[a, b, u, v]` with `u = s − d`,
//! `v = s + d` (the prover's own tables); at `ρ` the prover sends `y(ρ)`, `s(ρ)`, `x(ρ)` (the
//! last is the claim on the input), and `a, b, u, v` at `ρ` follow linearly (with `χ(ρ)`,
//! which the verifier computes). Every value is below `2^62` in magnitude, so field identities are
//! integer identities ([`crate::bounds::check_relation`] on `s = ±(x − y)`, both sides): `s² = d²`
//! gives `s = ±d` in the field, hence over the integers, and with `s ≥ 0`, `s = |d|`; then `a·(s − d) = 0` says
//! `d < 0 ⇒ y = lo` and `b·(s + d) = 0` says `d > 0 ⇒ y = hi`. So either `x = y ∈ [lo, hi]`, or
//! `y = lo > x`, or `y = hi < x`: exactly the clamp. (Products of two values `< p` vanish only if
//! a factor does.) The zero-check is proven in the graph's batched phase ([`crate::zerocheck`]).
//! Soundness error: `(3·n + 3)/|EF|` (zero-check, `λ`) plus the range checks'.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::Term;

use super::product_sumcheck::{check_bound, ef_i64, send_column_value};
use crate::bounds::{Interval, check_relation};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, ProtocolRef, TensorRole, ZeroCheckProver, ZeroCheckVerifier};
use crate::witness::{ColumnId, Owner, WitnessBuilder, WitnessLayout, extent_indicator};
use crate::zerocheck::{ZeroCheck, ZeroCheckStatement};

const OP: &str = "Clamp";
const COL_LO_GAP: &str = "lo_gap";
const COL_HI_GAP: &str = "hi_gap";
const COL_DIST: &str = "dist";

/// The proof of a clamp into `[lo, hi]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClampProof {
    /// Smallest output (`≤ 0`).
    pub lo: i64,
    /// Largest output (`≥ 0`).
    pub hi: i64,
    /// Input bound: `|x| < 2^in_bits`.
    pub in_bits: u32,
}

fn bits_of(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Tables of the zero-check, in this order: the gaps, then `u = s − d` and `v = s + d`.
const A: usize = 0;
const B: usize = 1;
const U: usize = 2;
const V: usize = 3;

impl ClampProof {
    /// A clamp into `[lo, hi]` of inputs with `|x| < 2^in_bits`.
    pub fn new(lo: i64, hi: i64, in_bits: u32) -> Self {
        Self { lo, hi, in_bits }
    }

    /// `(bits of the gaps, bits of the distance)`.
    fn widths(&self) -> Result<(u32, u32), ProofError> {
        if self.lo > 0 || self.hi < 0 || self.in_bits > 61 || self.lo < -(1 << 61) || self.hi >= 1 << 61 {
            return Err(ProofError::shape(OP, format!("unsupported clamp [{}, {}] of {}-bit inputs", self.lo, self.hi, self.in_bits)));
        }
        let gap = bits_of((self.hi - self.lo) as u64).max(1);
        let over = self.in_bits.max(bits_of(self.lo.unsigned_abs())).max(bits_of(self.hi.unsigned_abs())) + 1;
        // s = ±(x − y) in the field (from s² = d², a·u = 0, b·v = 0) is the integer identity.
        let (s, x) = (Interval::unsigned_range(over), Interval::magnitude(self.in_bits));
        let y = Interval::between(i128::from(self.lo), i128::from(self.hi));
        check_relation(OP, "s = x − y", &[s], &[x, y.scale(-1)])?;
        check_relation(OP, "s = y − x", &[s], &[y, x.scale(-1)])?;
        Ok((gap, over))
    }

    /// What the clamp proves about its input: `|x| < 2^bits` with `bits = e + 1` (`x = y ± s`,
    /// `|y| < 2^(e−1)`, `0 ≤ s < 2^e`), whether or not `x` is range-checked elsewhere.
    pub fn input_bound_bits(&self) -> Result<u32, ProofError> {
        Ok(self.widths()?.1 + 1)
    }

    /// `(s² − d²) + λ·a·(s − d) + λ²·b·(s + d) = u·v + λ·a·u + λ²·b·v`.
    fn terms(lambda: EF) -> Vec<Term> {
        vec![(EF::ONE, vec![U, V]), (lambda, vec![A, U]), (lambda * lambda, vec![B, V])]
    }

    /// The tables' values at `ρ` from `y(ρ)`, `s(ρ)`, `x(ρ)` and the extent indicator `χ(ρ)`.
    fn finals(&self, y: EF, s: EF, x: EF, chi: EF) -> Vec<EF> {
        let d = x - y;
        vec![y - ef_i64(self.lo) * chi, ef_i64(self.hi) * chi - y, s - d, s + d]
    }
}

impl OpVerifier for ClampProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        node.expect_inputs(OP, 1)?;
        let (gap, over) = self.widths()?;
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let a = w.virtual_column_on_extent(COL_LO_GAP, &[(out, 1)], -self.lo)?;
        let b = w.virtual_column_on_extent(COL_HI_GAP, &[(out, -1)], self.hi)?;
        let s = w.commit_tensor(COL_DIST, &node.output.layout())?;
        w.range_check(a, gap, false)?;
        w.range_check(b, gap, false)?;
        w.range_check(s, over, false)
    }
}

impl ZeroCheckVerifier for ClampProof {
    fn statement(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>) -> Result<ZeroCheckStatement, ProofError> {
        let z = ctx.challenges(node.output.num_vars());
        let lambda = ctx.challenge();
        Ok(ZeroCheckStatement { terms: Self::terms(lambda), z })
    }

    fn read_finals(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, rho: &[EF]) -> Result<(Vec<EF>, Vec<Vec<Claim>>), ProofError> {
        let out = ctx.column(OUTPUT_COLUMN)?;
        let dist = ctx.column(COL_DIST)?;
        let y = ctx.claim_column(out, rho)?;
        let s = ctx.claim_column(dist, rho)?;
        let x = ctx.receive_eval()?;
        let chi = extent_indicator(node.output.layout().dims(), rho);
        Ok((self.finals(y, s, x, chi), vec![vec![Claim::new(rho.to_vec(), x)]]))
    }
}

impl OpProver for ClampProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        node.shape.expect_inputs(OP, 1)?;
        let (gap, over) = self.widths()?;
        let layout = node.shape.output.layout();
        let (x, y) = (node.inputs[0], node.output);
        if x.len() != y.len() || x.len() != layout.len() {
            return Err(ProofError::shape(OP, "input and output lengths differ"));
        }
        check_bound(OP, x, self.in_bits)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let dist: Vec<i64> = x.iter().zip(y).map(|(&x, &y)| (x - y).abs()).collect();
        let a = w.virtual_column_on_extent(COL_LO_GAP, &[(out, 1)], -self.lo)?;
        let b = w.virtual_column_on_extent(COL_HI_GAP, &[(out, -1)], self.hi)?;
        let s = w.commit_tensor(COL_DIST, &layout, &dist)?;
        w.range_check(a, gap, false)?;
        w.range_check(b, gap, false)?;
        w.range_check(s, over, false)
    }
}

impl ZeroCheckProver for ClampProof {
    fn zero_check(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>) -> Result<ZeroCheck, ProofError> {
        let layout = node.shape.output.layout();
        let cols: Vec<ColumnId> = [COL_LO_GAP, COL_HI_GAP, COL_DIST].iter().map(|n| ctx.column(n)).collect::<Result<_, _>>()?;
        let out = ctx.column(OUTPUT_COLUMN)?;
        let x_table = layout.pad_i64(node.inputs[0]);
        let (s_col, y_col) = (ctx.values(cols[2]), ctx.values(out));
        let d: Vec<F> = x_table.iter().zip(y_col.iter()).map(|(&x, &y)| x - y).collect();
        let u: Vec<F> = s_col.iter().zip(&d).map(|(&s, &d)| s - d).collect();
        let v: Vec<F> = s_col.iter().zip(&d).map(|(&s, &d)| s + d).collect();
        let z = ctx.challenges(layout.num_vars());
        let lambda = ctx.challenge();
        let mles = vec![Mle::new(ctx.values(cols[0]).into_owned()), Mle::new(ctx.values(cols[1]).into_owned()), Mle::new(u), Mle::new(v)];
        Ok(ZeroCheck { mles, terms: Self::terms(lambda), z })
    }

    fn send_finals(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, rho: &[EF], finals: &[EF]) -> Result<Vec<Vec<Claim>>, ProofError> {
        let out = ctx.column(OUTPUT_COLUMN)?;
        let dist = ctx.column(COL_DIST)?;
        // Everything follows from the tables' values: y = a + lo·χ, s = (u + v)/2, x = y + (v − u)/2.
        let [a, _, u, v] = finals else {
            return Err(ProofError::shape(OP, "zero-check tables"));
        };
        let half = EF::TWO.inverse();
        let y = *a + ef_i64(self.lo) * extent_indicator(node.shape.output.layout().dims(), rho);
        let s = (*u + *v) * half;
        let x = y + (*v - *u) * half;
        let _ = send_column_value(ctx, out, rho, y);
        let _ = send_column_value(ctx, dist, rho, s);
        let _ = ctx.send_eval(x);
        Ok(vec![vec![Claim::new(rho.to_vec(), x)]])
    }
}

impl<'a> From<&'a ClampProof> for ProtocolRef<'a> {
    fn from(p: &'a ClampProof) -> Self {
        ProtocolRef::ZeroCheck(p)
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::clamp::Clamp {
    fn protocol(&self, node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::zero_check(ClampProof::new(self.lo, self.hi, node.in_bits(0))))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    fn case(dims: &[usize], x: Vec<i64>, lo: i64, hi: i64) -> Case {
        let y = x.iter().map(|&v| v.clamp(lo, hi)).collect();
        Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x }], output_dims: dims.to_vec(), output: y, public_output: None }
    }

    fn random_case(seed: u64, dims: &[usize], lo: i64, hi: i64) -> Case {
        let mut r = rng(seed);
        let n = dims.iter().product();
        let x = (0..n).map(|_| r.random_range(-(1i64 << 20)..1i64 << 20) >> r.random_range(0..12)).collect();
        case(dims, x, lo, hi)
    }

    #[test]
    fn honest_clamps_verify() {
        for (seed, dims, lo, hi) in [(1u64, vec![5usize, 9], -(1i64 << 15), (1 << 15) - 1), (2, vec![3, 40], -100, 7), (3, vec![7, 3], 0, 0)] {
            assert_accepts(&ClampProof::new(lo, hi, 20), &random_case(seed, &dims, lo, hi));
        }
    }

    #[test]
    fn perturbations_are_rejected() {
        let dims = [5usize, 9];
        let (lo, hi) = (-300, 250);
        let c = random_case(4, &dims, lo, hi);
        let op = ClampProof::new(lo, hi, 20);
        // An entry inside the range, one below, one above.
        let inside = c.inputs[0].values.iter().position(|&v| v > lo && v < hi).expect("an inside entry");
        let below = c.inputs[0].values.iter().position(|&v| v < lo).expect("an entry below");
        let above = c.inputs[0].values.iter().position(|&v| v > hi).expect("an entry above");
        let idx = |i: usize| padded_index(&dims, &[i / 9, i % 9]);
        let cases: Vec<(&str, usize, i64)> = vec![
            (OUTPUT_COLUMN, idx(inside), 1),
            (OUTPUT_COLUMN, idx(below), 1),
            (OUTPUT_COLUMN, idx(above), -1),
            (COL_LO_GAP, idx(inside), 1),
            (COL_HI_GAP, idx(inside), -1),
            (COL_DIST, idx(below), 1),
            (COL_DIST, idx(above), -1),
            (COL_DIST, idx(inside), 1),
        ];
        for (col, at, delta) in cases {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            assert!(!err.starts_with("prover"), "{col}: {err}");
        }
        // Saturating at the bound while the input is inside: output lo with compensating overshoot.
        let t = move |w: &mut WitnessBuilder| {
            let at = idx(inside);
            let y = c_out(w, at);
            bump(w, OUTPUT_COLUMN, at, lo - y);
            bump(w, COL_LO_GAP, at, lo - y);
            bump(w, COL_HI_GAP, at, y - lo);
            bump(w, COL_DIST, at, y - lo);
        };
        assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        // A different input proven consistently.
        let mut x = c.inputs[0].values.clone();
        x[inside] += 1;
        let y = x.iter().map(|&v| v.clamp(lo, hi)).collect();
        assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
    }

    /// The gaps are `y − lo·χ`, `hi·χ − y`: on the padding they force `y = 0`. A padding output
    /// raised (with its gaps and distance following, every relation kept) is rejected, at a
    /// padding entry of a logical row (9 columns pad to 16) and of a padding row.
    #[test]
    fn a_non_zero_padding_output_is_rejected() {
        let dims = [5usize, 9];
        let (lo, hi) = (-300, 250);
        let c = random_case(5, &dims, lo, hi);
        let op = ClampProof::new(lo, hi, 20);
        for at in [padded_index(&[5, 16], &[2, 12]), padded_index(&[8, 16], &[6, 3])] {
            let t = move |w: &mut WitnessBuilder| {
                bump(w, OUTPUT_COLUMN, at, 3);
                bump(w, COL_LO_GAP, at, 3);
                bump(w, COL_HI_GAP, at, -3);
                bump(w, COL_DIST, at, 3);
            };
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            assert!(!err.is_empty());
        }
    }

    fn c_out(w: &WitnessBuilder, at: usize) -> i64 {
        let col = w.plan().find(Owner::Node(0), OUTPUT_COLUMN).expect("out");
        zkinfer_field::to_i64(w.values(col)[at])
    }
}
