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
//!
//! **Symmetric form.** A clamp into `[−m, m]` with `m = 2^k − 1` whose gaps would need limbs
//! (`k ≥ 16`: the gaps are `k + 1` bits wide, two limb columns each, four in all) is proven
//! through the magnitude instead, since `|y| ∈ [0, 2^k)` is exactly a `k`-bit range:
//! **committed** `y` (`out`), `t = |y|` (column `abs`) and `s = |x − y|` (`dist`); **range
//! checks** `t ∈ [0, 2^k)` and `s ∈ [0, 2^e)` (no gap columns: for `k = 24`, two limb columns of
//! `t` instead of four of the gaps). **Relation** (`χ` the extent indicator as a public table,
//! `d = x − y`):
//!
//! ```text
//! Σ_x eq(z, x)·[(s² − d²) + λ·(t² − y²) + λ²·(m·χ − t)·s + λ³·(y·d − t·s) + λ⁴·(1 − χ)·y] = 0
//! ```
//!
//! (degree 3 with `eq`); at `ρ` the prover sends `y(ρ)`, `t(ρ)`, `s(ρ)` and the input claim
//! `x(ρ)`; the verifier computes `χ(ρ)`. Entry-wise, all in the field `F_p` (no zero divisors,
//! `p` odd): `t² = y²` gives `y = ±t`, so `y` is the image of an integer with `|y| = t ≤ m` —
//! no interval argument needed for this step, whatever the prover committed as `y`. Then `d` is
//! the image of an integer with `|d| ≤ 2^in_bits + m`, and `s² = d²` with `s ∈ [0, 2^e)` is the
//! integer identity `s = |d|` by the same no-wrap check as the gap form
//! ([`crate::bounds::check_relation`] on `s = ±(x − y)` with `y ∈ [−m, m]`, both sides, run by
//! prover and verifier). On the extent (`χ = 1`): `(m − t)·s = 0` says `d ≠ 0 ⇒ |y| = m`;
//! with `d ≠ 0` then `t·s = m·|d| ≠ 0` in `F_p` (both factors are nonzero integers below `p`), and
//! `y·d = t·s` with `y = ε·t`, `d = δ·s` (`ε, δ = ±1`) gives `ε·δ = 1`: `y` has the sign of
//! `d`. So either `d = 0` and `y = x` with `|x| ≤ m`, or `d > 0`, `y = m < x`, or `d < 0`,
//! `y = −m > x`: exactly the clamp. Off the extent (`χ = 0`): `(1 − χ)·y = 0` forces `y = 0`
//! (then `t = 0`, and `t·s = y·d = 0` holds for any `x`, as in the gap form). The form is a
//! function of `(lo, hi)` alone, so prover and verifier pick the same one. Soundness error:
//! `(3·n + 5)/|EF|` plus the range checks'.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::Term;

use super::product_sumcheck::{check_bound, ef_i64, send_column_value};
use crate::bounds::{Interval, check_relation};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, ProtocolRef, TensorRole, ZeroCheckProver, ZeroCheckVerifier};
use crate::witness::{LIMB_BITS, Owner, WitnessBuilder, WitnessLayout, extent_indicator};
use crate::zerocheck::{ZeroCheck, ZeroCheckStatement};

const OP: &str = "Clamp";
const COL_LO_GAP: &str = "lo_gap";
const COL_HI_GAP: &str = "hi_gap";
const COL_DIST: &str = "dist";
/// The magnitude `t = |y|` of the symmetric form.
const COL_ABS: &str = "abs";

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

/// Which relation proves the clamp (a function of `lo`, `hi` alone, so both sides agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The gaps `a = y − lo·χ`, `b = hi·χ − y`, each range-checked to `bits` bits (module docs).
    Gaps { bits: u32 },
    /// A symmetric clamp `[−(2^k − 1), 2^k − 1]` whose gaps would need limbs (`k ≥ 16`): the
    /// magnitude `t = |y|` range-checked to `k` bits instead (module docs, "Symmetric form").
    Symmetric { k: u32 },
}

/// Tables of the gap form's zero-check, in this order: the gaps, then `u = s − d` and `v = s + d`.
const A: usize = 0;
const B: usize = 1;
const U: usize = 2;
const V: usize = 3;

/// Tables of the symmetric form's zero-check: `y`, `t`, `s`, `d = x − y`, `χ`.
const SY: usize = 0;
const ST: usize = 1;
const SS: usize = 2;
const SD: usize = 3;
const SC: usize = 4;

impl ClampProof {
    /// A clamp into `[lo, hi]` of inputs with `|x| < 2^in_bits`.
    pub fn new(lo: i64, hi: i64, in_bits: u32) -> Self {
        Self { lo, hi, in_bits }
    }

    /// `(form, bits of the distance)`.
    pub(crate) fn widths(&self) -> Result<(Form, u32), ProofError> {
        if self.lo > 0 || self.hi < 0 || self.in_bits > 61 || self.lo < -(1 << 61) || self.hi >= 1 << 61 {
            return Err(ProofError::shape(OP, format!("unsupported clamp [{}, {}] of {}-bit inputs", self.lo, self.hi, self.in_bits)));
        }
        let gap = bits_of((self.hi - self.lo) as u64).max(1);
        let over = self.in_bits.max(bits_of(self.lo.unsigned_abs())).max(bits_of(self.hi.unsigned_abs())) + 1;
        // s = ±(x − y) in the field (from s² = d² and the form's relations) is the integer identity.
        let (s, x) = (Interval::unsigned_range(over), Interval::magnitude(self.in_bits));
        let y = Interval::between(i128::from(self.lo), i128::from(self.hi));
        check_relation(OP, "s = x − y", &[s], &[x, y.scale(-1)])?;
        check_relation(OP, "s = y − x", &[s], &[y, x.scale(-1)])?;
        let k = bits_of(self.hi as u64);
        let form = if self.lo == -self.hi && self.hi == (1i64 << k) - 1 && gap > LIMB_BITS { Form::Symmetric { k } } else { Form::Gaps { bits: gap } };
        Ok((form, over))
    }

    /// What the clamp proves about its input: `|x| < 2^bits` with `bits = e + 1` (`x = y ± s`,
    /// `|y| < 2^(e−1)`, `0 ≤ s < 2^e`), whether or not `x` is range-checked elsewhere.
    pub fn input_bound_bits(&self) -> Result<u32, ProofError> {
        Ok(self.widths()?.1 + 1)
    }

    /// Gap form: `(s² − d²) + λ·a·(s − d) + λ²·b·(s + d) = u·v + λ·a·u + λ²·b·v`.
    /// Symmetric form (`m = hi`): `(s² − d²) + λ·(t² − y²) + λ²·(m·χ·s − t·s) + λ³·(y·d − t·s)
    /// + λ⁴·(y − χ·y)`.
    fn terms(form: Form, m: i64, lambda: EF) -> Vec<Term> {
        match form {
            Form::Gaps { .. } => vec![(EF::ONE, vec![U, V]), (lambda, vec![A, U]), (lambda * lambda, vec![B, V])],
            Form::Symmetric { .. } => {
                let l2 = lambda * lambda;
                let l3 = l2 * lambda;
                let l4 = l3 * lambda;
                vec![
                    (EF::ONE, vec![SS, SS]),
                    (-EF::ONE, vec![SD, SD]),
                    (lambda, vec![ST, ST]),
                    (-lambda, vec![SY, SY]),
                    (l2 * ef_i64(m), vec![SC, SS]),
                    (-l2 - l3, vec![ST, SS]),
                    (l3, vec![SY, SD]),
                    (l4, vec![SY]),
                    (-l4, vec![SC, SY]),
                ]
            }
        }
    }

    /// The gap form's tables at `ρ` from `y(ρ)`, `s(ρ)`, `x(ρ)` and the extent indicator `χ(ρ)`.
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
        let (form, over) = self.widths()?;
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        match form {
            Form::Gaps { bits } => {
                let a = w.virtual_column_on_extent(COL_LO_GAP, &[(out, 1)], -self.lo)?;
                let b = w.virtual_column_on_extent(COL_HI_GAP, &[(out, -1)], self.hi)?;
                let s = w.commit_tensor(COL_DIST, &node.output.layout())?;
                w.range_check(a, bits, false)?;
                w.range_check(b, bits, false)?;
                w.range_check(s, over, false)
            }
            Form::Symmetric { k } => {
                let t = w.commit_tensor(COL_ABS, &node.output.layout())?;
                let s = w.commit_tensor(COL_DIST, &node.output.layout())?;
                w.range_check(t, k, false)?;
                w.range_check(s, over, false)
            }
        }
    }
}

impl ZeroCheckVerifier for ClampProof {
    fn statement(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>) -> Result<ZeroCheckStatement, ProofError> {
        let (form, _) = self.widths()?;
        let z = ctx.challenges(node.output.num_vars());
        let lambda = ctx.challenge();
        Ok(ZeroCheckStatement { terms: Self::terms(form, self.hi, lambda), z })
    }

    fn read_finals(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, rho: &[EF]) -> Result<(Vec<EF>, Vec<Vec<Claim>>), ProofError> {
        let (form, _) = self.widths()?;
        let out = ctx.column(OUTPUT_COLUMN)?;
        let chi = extent_indicator(node.output.layout().dims(), rho);
        match form {
            Form::Gaps { .. } => {
                let dist = ctx.column(COL_DIST)?;
                let y = ctx.claim_column(out, rho)?;
                let s = ctx.claim_column(dist, rho)?;
                let x = ctx.receive_eval()?;
                Ok((self.finals(y, s, x, chi), vec![vec![Claim::new(rho.to_vec(), x)]]))
            }
            Form::Symmetric { .. } => {
                let (abs, dist) = (ctx.column(COL_ABS)?, ctx.column(COL_DIST)?);
                let y = ctx.claim_column(out, rho)?;
                let t = ctx.claim_column(abs, rho)?;
                let s = ctx.claim_column(dist, rho)?;
                let x = ctx.receive_eval()?;
                Ok((vec![y, t, s, x - y, chi], vec![vec![Claim::new(rho.to_vec(), x)]]))
            }
        }
    }
}

impl OpProver for ClampProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        node.shape.expect_inputs(OP, 1)?;
        let (form, over) = self.widths()?;
        let layout = node.shape.output.layout();
        let (x, y) = (node.inputs[0], node.output);
        if x.len() != y.len() || x.len() != layout.len() {
            return Err(ProofError::shape(OP, "input and output lengths differ"));
        }
        check_bound(OP, x, self.in_bits)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let dist: Vec<i64> = x.iter().zip(y).map(|(&x, &y)| (x - y).abs()).collect();
        match form {
            Form::Gaps { bits } => {
                let a = w.virtual_column_on_extent(COL_LO_GAP, &[(out, 1)], -self.lo)?;
                let b = w.virtual_column_on_extent(COL_HI_GAP, &[(out, -1)], self.hi)?;
                let s = w.commit_tensor(COL_DIST, &layout, &dist)?;
                w.range_check(a, bits, false)?;
                w.range_check(b, bits, false)?;
                w.range_check(s, over, false)
            }
            Form::Symmetric { k } => {
                let abs: Vec<i64> = y.iter().map(|&y| y.abs()).collect();
                let t = w.commit_tensor(COL_ABS, &layout, &abs)?;
                let s = w.commit_tensor(COL_DIST, &layout, &dist)?;
                w.range_check(t, k, false)?;
                w.range_check(s, over, false)
            }
        }
    }
}

impl ZeroCheckProver for ClampProof {
    fn zero_check(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>) -> Result<ZeroCheck, ProofError> {
        let (form, _) = self.widths()?;
        let layout = node.shape.output.layout();
        let out = ctx.column(OUTPUT_COLUMN)?;
        let dist = ctx.column(COL_DIST)?;
        let x_table = layout.pad_i64(node.inputs[0]);
        let z = ctx.challenges(layout.num_vars());
        let lambda = ctx.challenge();
        let mles = {
            let (s_col, y_col) = (ctx.values(dist), ctx.values(out));
            let d: Vec<F> = x_table.iter().zip(y_col.iter()).map(|(&x, &y)| x - y).collect();
            match form {
                Form::Gaps { .. } => {
                    let (a, b) = (ctx.column(COL_LO_GAP)?, ctx.column(COL_HI_GAP)?);
                    let u: Vec<F> = s_col.iter().zip(&d).map(|(&s, &d)| s - d).collect();
                    let v: Vec<F> = s_col.iter().zip(&d).map(|(&s, &d)| s + d).collect();
                    vec![Mle::new(ctx.values(a).into_owned()), Mle::new(ctx.values(b).into_owned()), Mle::new(u), Mle::new(v)]
                }
                Form::Symmetric { .. } => {
                    let abs = ctx.column(COL_ABS)?;
                    let chi = layout.pad_i64(&vec![1; layout.len()]);
                    vec![Mle::new(y_col.into_owned()), Mle::new(ctx.values(abs).into_owned()), Mle::new(s_col.into_owned()), Mle::new(d), Mle::new(chi)]
                }
            }
        };
        Ok(ZeroCheck { mles, terms: Self::terms(form, self.hi, lambda), z })
    }

    fn send_finals(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, rho: &[EF], finals: &[EF]) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (form, _) = self.widths()?;
        let out = ctx.column(OUTPUT_COLUMN)?;
        let dist = ctx.column(COL_DIST)?;
        let x = match form {
            Form::Gaps { .. } => {
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
                x
            }
            Form::Symmetric { .. } => {
                let [y, t, s, d, _] = finals else {
                    return Err(ProofError::shape(OP, "zero-check tables"));
                };
                let abs = ctx.column(COL_ABS)?;
                let _ = send_column_value(ctx, out, rho, *y);
                let _ = send_column_value(ctx, abs, rho, *t);
                let _ = send_column_value(ctx, dist, rho, *s);
                *y + *d
            }
        };
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

    /// A symmetric clamp to `k` bits of inputs spread over `±2^30`, with the boundary values
    /// `±m`, `±(m + 1)`, `±2^k` and `0` present.
    fn symmetric_case(seed: u64, dims: &[usize], k: u32) -> Case {
        let m = (1i64 << k) - 1;
        let mut c = random_case(seed, dims, -m, m);
        let mut r = rng(seed ^ 0x5eed);
        let n = c.inputs[0].values.len();
        for (i, v) in c.inputs[0].values.iter_mut().enumerate() {
            *v = r.random_range(-(1i64 << 30) + 1..1i64 << 30) >> r.random_range(0..(31 - k as usize).min(14));
            if i < 7 {
                *v = [m, -m, m + 1, -m - 1, 1 << k, -(1 << k), 0][i];
            }
        }
        assert!(n > 7);
        c.output = c.inputs[0].values.iter().map(|&v| v.clamp(-m, m)).collect();
        c
    }

    #[test]
    fn symmetric_clamps_use_the_magnitude_form_and_verify() {
        assert_eq!(ClampProof::new(-((1 << 15) - 1), (1 << 15) - 1, 30).widths().expect("widths").0, Form::Gaps { bits: 16 });
        assert_eq!(ClampProof::new(-((1 << 24) - 1), (1 << 24) - 1, 30).widths().expect("widths").0, Form::Symmetric { k: 24 });
        assert_eq!(ClampProof::new(-(1 << 24), (1 << 24) - 1, 30).widths().expect("widths").0, Form::Gaps { bits: 25 });
        for (seed, dims, k) in [(11u64, vec![5usize, 9], 16u32), (12, vec![3, 41], 24), (13, vec![7, 3, 5], 20)] {
            let c = symmetric_case(seed, &dims, k);
            let m = (1i64 << k) - 1;
            assert!(c.inputs[0].values.iter().any(|&v| v > m) && c.inputs[0].values.iter().any(|&v| v < -m));
            assert!(c.inputs[0].values.iter().any(|&v| v.abs() < m && v != 0));
            assert_accepts(&ClampProof::new(-m, m, 31), &c);
        }
    }

    /// Every way of moving one output of the symmetric form, with its magnitude and distance
    /// recomputed so that the range checks and `s = |x − y|`, `t = |y|` still hold, is refused.
    #[test]
    fn symmetric_perturbations_are_rejected() {
        for (seed, dims, k) in [(21u64, [5usize, 9], 24u32), (22, [3, 7], 17)] {
            let m = (1i64 << k) - 1;
            let c = symmetric_case(seed, &dims, k);
            let op = ClampProof::new(-m, m, 31);
            let xs = c.inputs[0].values.clone();
            let inside = xs.iter().position(|&v| v.abs() < m - 2 && v != 0).expect("an inside entry");
            let above = xs.iter().position(|&v| v > m + 2).expect("an entry above");
            let below = xs.iter().position(|&v| v < -m - 2).expect("an entry below");
            let cols = dims[1];
            let idx = |i: usize| padded_index(&dims, &[i / cols, i % cols]);
            // (entry, forged output): each keeps |y| ≤ m, so every range check passes.
            let forged: Vec<(&str, usize, i64)> = vec![
                ("inside +1", inside, xs[inside] + 1),
                ("inside saturated up", inside, m),
                ("inside saturated down", inside, -m),
                ("inside zero", inside, 0),
                ("inside negated", inside, -xs[inside]),
                ("above short of m", above, m - 1),
                ("above wrong sign", above, -m),
                ("above zero", above, 0),
                ("below short of -m", below, -m + 1),
                ("below wrong sign", below, m),
                ("exactly m+1 to m-1", 2, m - 1),
                ("exactly -m to -m+1", 1, -m + 1),
            ];
            for (what, i, y) in forged {
                let at = idx(i);
                let (x, y0) = (xs[i], c.output[i]);
                let t = move |w: &mut WitnessBuilder| {
                    bump(w, OUTPUT_COLUMN, at, y - y0);
                    bump(w, COL_ABS, at, y.abs() - y0.abs());
                    bump(w, COL_DIST, at, (x - y).abs() - (x - y0).abs());
                };
                let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
                assert!(!err.starts_with("prover"), "k {k}, {what}: {err}");
            }
            // One column alone moved (in range): the magnitude, the distance, the output.
            for (col, i, delta) in [(COL_ABS, inside, 1), (COL_ABS, above, -1), (COL_DIST, inside, 1), (COL_DIST, above, 1), (OUTPUT_COLUMN, above, -1)] {
                let at = idx(i);
                let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
                let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
                assert!(!err.starts_with("prover"), "k {k}, {col} at {i}: {err}");
            }
            // The output unclamped at x = 2^k (|y| = m + 1 is outside the k-bit range of t).
            let t = move |w: &mut WitnessBuilder| {
                bump(w, OUTPUT_COLUMN, idx(4), 1);
                bump(w, COL_ABS, idx(4), 1);
                bump(w, COL_DIST, idx(4), -1);
            };
            assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            // A different input proven consistently.
            let mut x = xs.clone();
            x[above] -= 1;
            let y: Vec<i64> = x.iter().map(|&v| v.clamp(-m, m)).collect();
            assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
        }
    }

    /// The symmetric form's output is zero off the logical extent: a padding output raised, with
    /// its magnitude and distance following (`x` is zero there), is refused — inside a logical
    /// row (9 columns pad to 16) and in a padding row; so is a padding magnitude alone.
    #[test]
    fn symmetric_padding_is_zero() {
        let dims = [5usize, 9];
        let k = 24;
        let m = (1i64 << k) - 1;
        let c = symmetric_case(23, &dims, k);
        let op = ClampProof::new(-m, m, 31);
        for at in [padded_index(&[5, 16], &[2, 12]), padded_index(&[8, 16], &[6, 3])] {
            for y in [3i64, -3, m, -m] {
                let t = move |w: &mut WitnessBuilder| {
                    bump(w, OUTPUT_COLUMN, at, y);
                    bump(w, COL_ABS, at, y.abs());
                    bump(w, COL_DIST, at, y.abs());
                };
                let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
                assert!(!err.starts_with("prover"), "padding {at}, y {y}: {err}");
            }
            let t = move |w: &mut WitnessBuilder| bump(w, COL_ABS, at, 5);
            assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        }
    }

    fn c_out(w: &WitnessBuilder, at: usize) -> i64 {
        let col = w.plan().find(Owner::Node(0), OUTPUT_COLUMN).expect("out");
        zkinfer_field::to_i64(w.values(col)[at])
    }
}
