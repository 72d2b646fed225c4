//! Clamp: `y = min(max(x, lo), hi)` with `lo ≤ 0 ≤ hi` (semantics: `zkinfer_model::ops::clamp`).
//!
//! **Committed**: `y` (column `out`), the gaps `a = y − lo`, `b = hi − y` (over the whole padded
//! table, so `a = −lo`, `b = hi` on padding) and the overshoots `u = max(x − hi, 0)`,
//! `l = max(lo − x, 0)` (zero on padding).
//! **Range checks**: `a, b ∈ [0, 2^k)` with `k = bits(hi − lo)` — with `a + b = hi − lo` this is
//! `lo ≤ y ≤ hi`; `u, l ∈ [0, 2^e)` with `e` one more than the bits of `max(|x|, |lo|, |hi|)`.
//! **Relations** (`z` random, `ρ` the sumcheck point):
//!
//! ```text
//! Σ_x eq(z, x)·(a·l + λ·b·u) = 0        (a zero-check: y ≠ lo ⇒ l = 0, y ≠ hi ⇒ u = 0)
//! a(ρ) = y(ρ) − lo,  b(ρ) = hi − y(ρ),  x(ρ) = y(ρ) + u(ρ) − l(ρ)   (linear, at ρ)
//! ```
//!
//! Then either `lo < y < hi` and `x = y`, or `y = lo` and `x = lo − l ≤ lo`, or `y = hi` and
//! `x = hi + u ≥ hi`: exactly the clamp. All values are below `2^63` in magnitude, so the field
//! identities are integer identities (products of two values `< p` vanish only if one factor is
//! zero). Soundness error: `(3·n + 2)/|EF|` (zero-check, λ) plus the range checks'.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_sumcheck::Term;

use super::nl_sumcheck::{check_bound, check_final, ef_i64, lift, prove_products, send_column_value, verify_products};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProtocol, TensorRole};
use crate::witness::{ColumnId, Owner, WitnessBuilder, WitnessLayout};

const OP: &str = "Clamp";
const COL_LO_GAP: &str = "lo_gap";
const COL_HI_GAP: &str = "hi_gap";
const COL_BELOW: &str = "below";
const COL_ABOVE: &str = "above";

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

impl ClampProof {
    /// A clamp into `[lo, hi]` of inputs with `|x| < 2^in_bits`.
    pub fn new(lo: i64, hi: i64, in_bits: u32) -> Self {
        Self { lo, hi, in_bits }
    }

    /// `(bits of the gaps, bits of the overshoots)`.
    fn widths(&self) -> Result<(u32, u32), ProofError> {
        if self.lo > 0 || self.hi < 0 || self.in_bits > 61 || self.lo < -(1 << 61) || self.hi >= 1 << 61 {
            return Err(ProofError::shape(OP, format!("unsupported clamp [{}, {}] of {}-bit inputs", self.lo, self.hi, self.in_bits)));
        }
        let gap = bits_of((self.hi - self.lo) as u64).max(1);
        let over = self.in_bits.max(bits_of(self.lo.unsigned_abs())).max(bits_of(self.hi.unsigned_abs())) + 1;
        Ok((gap, over))
    }

    fn layout_columns(&self, node: usize, w: &mut WitnessLayout, nv: usize) -> Result<(), ProofError> {
        let (gap, over) = self.widths()?;
        let _ = w.plan().find(Owner::Node(node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let a = w.commit(COL_LO_GAP, nv)?;
        let b = w.commit(COL_HI_GAP, nv)?;
        let l = w.commit(COL_BELOW, nv)?;
        let u = w.commit(COL_ABOVE, nv)?;
        w.range_check(a, gap, false)?;
        w.range_check(b, gap, false)?;
        w.range_check(l, over, false)?;
        w.range_check(u, over, false)
    }

    /// Terms of `a·l + λ·b·u` over the tables `[a, b, l, u]`.
    fn terms(lambda: EF) -> Vec<Term> {
        vec![(EF::ONE, vec![0, 2]), (lambda, vec![1, 3])]
    }
}

impl OpProtocol for ClampProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        node.shape.expect_inputs(OP, 1)?;
        let (gap, over) = self.widths()?;
        let layout = node.shape.output.layout();
        let (x, y) = (node.inputs[0], node.output);
        if x.len() != y.len() || x.len() != layout.len() {
            return Err(ProofError::shape(OP, "input and output lengths differ"));
        }
        check_bound(OP, x, self.in_bits)?;
        let n = layout.padded_len();
        // a = y − lo and b = hi − y over the whole padded table (y = 0 on padding).
        let padded_y = layout.pad_i64(y);
        let lo = zkinfer_field::from_i64_unchecked(self.lo);
        let hi = zkinfer_field::from_i64_unchecked(self.hi);
        let a: Vec<_> = padded_y.iter().map(|&v| v - lo).collect();
        let b: Vec<_> = padded_y.iter().map(|&v| hi - v).collect();
        let below: Vec<i64> = x.iter().map(|&v| (self.lo - v).max(0)).collect();
        let above: Vec<i64> = x.iter().map(|&v| (v - self.hi).max(0)).collect();
        debug_assert_eq!(a.len(), n);
        let a = w.commit(COL_LO_GAP, a)?;
        let b = w.commit(COL_HI_GAP, b)?;
        let l = w.commit_tensor(COL_BELOW, &layout, &below)?;
        let u = w.commit_tensor(COL_ABOVE, &layout, &above)?;
        w.range_check(a, gap, false)?;
        w.range_check(b, gap, false)?;
        w.range_check(l, over, false)?;
        w.range_check(u, over, false)
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        node.expect_inputs(OP, 1)?;
        self.layout_columns(node.node, w, node.output.num_vars())
    }

    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let nv = node.shape.output.num_vars();
        let cols: Vec<ColumnId> =
            [COL_LO_GAP, COL_HI_GAP, COL_BELOW, COL_ABOVE].iter().map(|n| ctx.column(n)).collect::<Result<_, _>>()?;
        let out = ctx.column(OUTPUT_COLUMN)?;
        let z = ctx.challenges(nv);
        let lambda = ctx.challenge();
        let mles = cols.iter().map(|&c| lift(ctx.values(c))).collect();
        let (rho, finals) = prove_products(ctx, mles, Self::terms(lambda), Some(z));
        for (&c, &v) in cols.iter().zip(&finals) {
            let _ = send_column_value(ctx, c, &rho, v);
        }
        let y = ctx.claim_column(out, &rho);
        let x = y + finals[3] - finals[2];
        Ok(vec![vec![Claim::new(rho, x)]])
    }

    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let nv = node.output.num_vars();
        let cols: Vec<ColumnId> =
            [COL_LO_GAP, COL_HI_GAP, COL_BELOW, COL_ABOVE].iter().map(|n| ctx.column(n)).collect::<Result<_, _>>()?;
        let out = ctx.column(OUTPUT_COLUMN)?;
        let z = ctx.challenges(nv);
        let lambda = ctx.challenge();
        let terms = Self::terms(lambda);
        let (rho, expected) = verify_products(OP, ctx, nv, &terms, true, EF::ZERO)?;
        let mut finals = Vec::with_capacity(4);
        for &c in &cols {
            finals.push(ctx.claim_column(c, &rho)?);
        }
        let y = ctx.claim_column(out, &rho)?;
        check_final(OP, &terms, Some(&z), &rho, &finals, expected)?;
        if finals[0] != y - ef_i64(self.lo) || finals[1] != ef_i64(self.hi) - y {
            return Err(ProofError::check(OP, "gap columns do not match the output"));
        }
        Ok(vec![vec![Claim::new(rho, y + finals[3] - finals[2])]])
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::ops::nl_testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

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
            (COL_BELOW, idx(below), 1),
            (COL_ABOVE, idx(above), -1),
            (COL_BELOW, idx(inside), 1),
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
            bump(w, COL_ABOVE, at, y - lo);
        };
        assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        // A different input proven consistently.
        let mut x = c.inputs[0].values.clone();
        x[inside] += 1;
        let y = x.iter().map(|&v| v.clamp(lo, hi)).collect();
        assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
    }

    fn c_out(w: &WitnessBuilder, at: usize) -> i64 {
        let col = w.plan().find(Owner::Node(0), OUTPUT_COLUMN).expect("out");
        zkinfer_field::to_i64(w.values(col)[at])
    }
}
