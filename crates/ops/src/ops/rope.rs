//! RoPE (semantics: `zkinfer_graph::ops::rope`): a linear map with public per-position
//! coefficients, then a rounding. For `x: [H, T, d]` (virtual operand, `|x| < 2^b`), public
//! `positions: [T]` and the public table `(C[p, i], S[p, i])` at `F` fractional bits, define per
//! row `t` and column `c` the public coefficients
//!
//! ```text
//! c = 2i < n_rot:      A = C[p_t, i],  B = −S[p_t, i]
//! c = 2i + 1 < n_rot:  A = C[p_t, i],  B =  S[p_t, i]
//! c ≥ n_rot:           A = 2^F,        B = 0            (pass-through: y = x)
//! ```
//!
//! and `x_sw[h, t, c] = x[h, t, c XOR 1]` (the pair partner; `d` is even). Then exactly
//! `x·A + x_sw·B + 2^(F−1) = 2^F·y + r` with `0 ≤ r < 2^F`.
//!
//! **Committed**: `y` (`out`, range-checked signed to `out_bits + 1`) and `r` (`rem`, `F` bits).
//! **Sumcheck** (degree 3, random `z`, with `V` the validity mask):
//!
//! ```text
//! Σ_{h,t,c} eq(z, ·)·(x·A + x_sw·B) = 2^F·ỹ(z) + r̃(z) − 2^(F−1)·Ṽ(z)
//! ```
//!
//! ends at `ρ = (ρ_h, ρ_t, ρ_c)`; the prover sends `x̃(ρ)` and `x̃_sw(ρ) = x̃(ρ_h, ρ_t, ρ_c', 1 − ρ_c0)`
//! (flipping the last variable, the lowest bit of `c`), two claims on `x`; the verifier computes
//! `Ã(ρ_t, ρ_c)` and `B̃(ρ_t, ρ_c)` from the positions and the table (`O(T·d)`). Since the
//! identity holds at a random point of the difference's MLE it holds everywhere, except with
//! probability `3·n_vars/|EF|`.
//!
//! **Padding** (heads `≥ H`, rows `≥ T`, columns `≥ d`): `x`, `A`, `B` and `V` vanish there, so
//! `2^F·y + r = 0` and, by the no-wrap check, `y = r = 0`.
//! **No wrap** ([`crate::bounds::check_rounding`]): `|x·A|, |x_sw·B| ≤ 2^(b+F)`, the quotient is in
//! the signed range of `out_bits + 1` bits, all far below `p/2` for `b + F + 2 ≤ 62` (the model
//! op's bound); the parameter check runs on both sides.

use std::sync::Arc;

use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::Term;

use super::product_sumcheck::{check_bound, check_final, pow2, prove_products_base, verify_products};
use super::public_mle::valid_mask_mle;
use crate::bounds::{Interval, check_rounding};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::mle_eval::evaluate_slice;
use crate::witness::{Owner, WitnessBuilder, WitnessLayout};

const OP: &str = "Rope";
const COL_REM: &str = "rem";

/// The proof of an integer RoPE.
#[derive(Debug, Clone)]
pub struct RopeProof {
    /// Rotated dimensions per head (even).
    pub n_rot: usize,
    /// Fractional bits `F` of the table.
    pub frac: u32,
    /// Positions covered by the table.
    pub n_ctx: usize,
    /// `(C[p, i], S[p, i])` at index `2·(p·n_rot/2 + i)`.
    pub table: Arc<[i64]>,
    /// Input bound `|x| < 2^in_bits`.
    pub in_bits: u32,
    /// Output bound `|y| < 2^out_bits`.
    pub out_bits: u32,
}

pub(crate) struct Dims {
    pub(crate) t: usize,
    pub(crate) d: usize,
    pub(crate) cube: TensorLayout,
}

impl RopeProof {
    fn dims(&self, node: &NodeShape<'_>) -> Result<Dims, ProofError> {
        node.expect_inputs(OP, 2)?;
        if node.output.dims != node.inputs[0].dims {
            return Err(ProofError::shape(OP, "need x: [H, T, d even ≥ n_rot], positions: [T]"));
        }
        self.dims_of(&node.inputs[0].dims, &node.inputs[1].dims)
    }

    /// The shapes of `x` and `positions` (checked).
    pub(crate) fn dims_of(&self, x: &[usize], positions: &[usize]) -> Result<Dims, ProofError> {
        match (x, positions) {
            (&[h, t, d], &[tp]) if tp == t && h > 0 && t > 0 && d >= 2 && d.is_multiple_of(2) && d >= self.n_rot => {
                Ok(Dims { t, d, cube: TensorLayout::new(&[h, t, d]) })
            }
            _ => Err(ProofError::shape(OP, "need x: [H, T, d even ≥ n_rot], positions: [T]")),
        }
    }

    pub(crate) fn check_params(&self) -> Result<(), ProofError> {
        let ok = self.n_rot >= 2
            && self.n_rot.is_multiple_of(2)
            && self.frac >= 1
            && self.frac <= 30
            && self.table.len() == self.n_ctx.saturating_mul(self.n_rot)
            && self.in_bits + self.frac + 2 <= 62
            && self.out_bits < 62
            && self.table.iter().all(|v| v.unsigned_abs() <= 1 << self.frac);
        if !ok {
            return Err(ProofError::shape(OP, format!("unsupported parameters (n_rot {}, F {}, in {}, out {})", self.n_rot, self.frac, self.in_bits, self.out_bits)));
        }
        let prod = Interval::magnitude(self.in_bits).times(Interval::magnitude(self.frac));
        check_rounding(OP, "x·A + x_sw·B + 2^(F−1) = 2^F·y + r", &[prod, prod], self.frac, Interval::signed_range(self.out_bits + 1))
    }

    /// The public coefficient tables `A`, `B` over the padded `[T̂, d̂]`.
    pub(crate) fn coeff_tables(&self, d: &Dims, positions: &[i64]) -> Result<(Vec<F>, Vec<F>), ProofError> {
        if positions.len() != d.t {
            return Err(ProofError::shape(OP, "positions length"));
        }
        let layout = TensorLayout::new(&[d.t, d.d]);
        let (mut a, mut b) = (Vec::with_capacity(d.t * d.d), Vec::with_capacity(d.t * d.d));
        let m = self.n_rot / 2;
        for &p in positions {
            let p = usize::try_from(p).ok().filter(|&p| p < self.n_ctx).ok_or_else(|| ProofError::shape(OP, "position outside the table"))?;
            for c in 0..d.d {
                let (ac, bc) = if c < self.n_rot {
                    let k = 2 * (p * m + c / 2);
                    let (cos, sin) = (self.table[k], self.table[k + 1]);
                    (cos, if c % 2 == 0 { -sin } else { sin })
                } else {
                    (1i64 << self.frac, 0)
                };
                a.push(ac);
                b.push(bc);
            }
        }
        Ok((layout.pad_i64(&a), layout.pad_i64(&b)))
    }

    pub(crate) fn terms() -> Vec<Term> {
        vec![(EF::ONE, vec![0, 2]), (EF::ONE, vec![1, 3])]
    }

    fn register(&self, d: &Dims, node: usize, w: &mut WitnessLayout) -> Result<(), ProofError> {
        self.check_params()?;
        let out = w.plan().find(Owner::Node(node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let rem = w.commit_tensor(COL_REM, &d.cube)?;
        w.range_check(rem, self.frac, false)?;
        w.range_check(out, self.out_bits + 1, true)
    }
}

impl OpVerifier for RopeProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        let d = self.dims(node)?;
        self.register(&d, node.node, w)
    }
}

impl WalkVerifier for RopeProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(node)?;
        self.check_params()?;
        let (out, rem) = (ctx.column(OUTPUT_COLUMN)?, ctx.column(COL_REM)?);
        let nv = d.cube.num_vars();
        let z = ctx.challenges(nv);
        let y_z = ctx.claim_column(out, &z)?;
        let rem_z = ctx.claim_column(rem, &z)?;
        let valid_z = valid_mask_mle(d.cube.dims(), d.cube.dim_vars(), &z);
        let claimed = pow2(self.frac) * y_z + rem_z - pow2(self.frac - 1) * valid_z;
        let terms = Self::terms();
        let (rho, expected) = verify_products(OP, ctx, nv, &terms, true, claimed)?;
        let x_rho = ctx.receive_eval()?;
        let xs_rho = ctx.receive_eval()?;
        let (a, b) = self.coeff_tables(&d, node.public_input(OP, 1)?)?;
        let hv = d.cube.dim_vars()[0];
        let (a_rho, b_rho) = (evaluate_slice(&a, &rho[hv..]), evaluate_slice(&b, &rho[hv..]));
        check_final(OP, &terms, Some(&z), &rho, &[x_rho, xs_rho, a_rho, b_rho], expected)?;
        let mut flipped = rho.clone();
        if let Some(last) = flipped.last_mut() {
            *last = EF::ONE - *last;
        }
        Ok(vec![vec![Claim::new(rho, x_rho), Claim::new(flipped, xs_rho)], Vec::new()])
    }
}

impl OpProver for RopeProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        let d = self.dims(&node.shape)?;
        self.check_params()?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let (x, pos, y) = (node.inputs[0], node.shape.public_input(OP, 1)?, node.output);
        if x.len() != d.cube.len() || y.len() != x.len() {
            return Err(ProofError::shape(OP, "trace lengths"));
        }
        check_bound(OP, x, self.in_bits)?;
        let (a, b) = self.coeff_tables(&d, pos)?;
        let inner = TensorLayout::new(&[d.t, d.d]);
        let half = 1i128 << (self.frac - 1);
        let mut rem = Vec::with_capacity(x.len());
        for (i, (&xv, &yv)) in x.iter().zip(y).enumerate() {
            let (row, c) = ((i / d.d) % d.t, i % d.d);
            let k = inner.padded_index(&[row, c]);
            let (ac, bc) = (zkinfer_field::to_i64(a[k]) as i128, zkinfer_field::to_i64(b[k]) as i128);
            let acc = xv as i128 * ac + x[i ^ 1] as i128 * bc + half;
            let r = acc - ((yv as i128) << self.frac);
            rem.push(i64::try_from(r).map_err(|_| ProofError::witness(OP, "rounding remainder out of range"))?);
        }
        let rem_col = w.commit_tensor(COL_REM, &d.cube, &rem)?;
        w.range_check(rem_col, self.frac, false)?;
        w.range_check(out, self.out_bits + 1, true)
    }
}

impl WalkProver for RopeProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(&node.shape)?;
        let (out, rem) = (ctx.column(OUTPUT_COLUMN)?, ctx.column(COL_REM)?);
        let nv = d.cube.num_vars();
        let z = ctx.challenges(nv);
        let _ = ctx.claim_column(out, &z);
        let _ = ctx.claim_column(rem, &z);
        let (a, b) = self.coeff_tables(&d, node.shape.public_input(OP, 1)?)?;
        let heads = 1usize << d.cube.dim_vars()[0];
        let x = d.cube.pad_i64(node.inputs[0]);
        let xs: Vec<F> = (0..x.len()).map(|i| x[i ^ 1]).collect();
        // Every table is base-valued: the sumcheck's first rounds run in the base field (same
        // rounds as on the lifted tables, `ProductSumcheck::new_base`).
        let repeat = |t: &[F]| -> Vec<F> { (0..heads).flat_map(|_| t.iter().copied()).collect() };
        let mles = vec![Mle::new(x), Mle::new(xs), Mle::new(repeat(&a)), Mle::new(repeat(&b))];
        let (rho, finals) = prove_products_base(ctx, mles, Self::terms(), Some(z));
        let x_rho = ctx.send_eval(finals[0]);
        let xs_rho = ctx.send_eval(finals[1]);
        let mut flipped = rho.clone();
        if let Some(last) = flipped.last_mut() {
            *last = EF::ONE - *last;
        }
        Ok(vec![vec![Claim::new(rho, x_rho), Claim::new(flipped, xs_rho)], Vec::new()])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::rope::Rope {
    fn protocol(&self, node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(RopeProof { n_rot: self.n_rot, frac: self.frac, n_ctx: self.n_ctx, table: self.table.clone(), in_bits: node.in_bits(0), out_bits: node.out_bits() }))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::IntOp;
    use zkinfer_graph::ops::rope::Rope;
    use zkinfer_graph::{IntTensor, Operand as MOperand};

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    fn setup(seed: u64, h: usize, t: usize, d: usize, n_rot: usize) -> (RopeProof, Case, Rope, Vec<i64>) {
        let model = Rope::new(n_rot, 10000.0, 16, 40).expect("rope");
        let mut r = rng(seed);
        let x: Vec<i64> = (0..h * t * d).map(|_| r.random_range(-(1i64 << 20)..1 << 20) >> r.random_range(0..8)).collect();
        let pos: Vec<i64> = (0..t).map(|i| (3 + 5 * i as i64) % 40).collect();
        let xt = IntTensor { shape: vec![h, t, d], data: x.clone() };
        let pt = IntTensor { shape: vec![t], data: pos.clone() };
        let y = model.eval_int(&[MOperand::Act(&xt), MOperand::Act(&pt)]).expect("eval").data;
        let op = RopeProof { n_rot, frac: 16, n_ctx: 40, table: model.table.clone(), in_bits: 20, out_bits: 21 };
        let case = Case {
            inputs: vec![
                Operand { dims: vec![h, t, d], role: TensorRole::Virtual, values: x },
                Operand { dims: vec![t], role: TensorRole::Public, values: pos.clone() },
            ],
            output_dims: vec![h, t, d],
            output: y,
            public_output: None,
        };
        (op, case, model, pos)
    }

    #[test]
    fn honest_rope_verifies() {
        for (seed, h, t, d, n_rot) in [(1u64, 3usize, 5usize, 6usize, 6usize), (2, 2, 3, 16, 16), (3, 1, 1, 10, 4), (4, 5, 7, 8, 6)] {
            let (op, case, _, _) = setup(seed, h, t, d, n_rot);
            assert_accepts(&op, &case);
        }
    }

    #[test]
    fn tampering_is_rejected() {
        let (h, t, d) = (3usize, 5usize, 6usize);
        let (op, c, model, pos) = setup(5, h, t, d, 4);
        // Output or remainder entries moved (rotated and pass-through columns), and padding.
        let cells = [padded_index(&[h, t, d], &[1, 2, 0]), padded_index(&[h, t, d], &[2, 4, 3]), padded_index(&[h, t, d], &[0, 1, 5]), padded_index(&[h, t, d], &[0, 6, 1])];
        for at in cells {
            for (col, delta) in [(OUTPUT_COLUMN, 1i64), (OUTPUT_COLUMN, -1), (COL_REM, 1)] {
                let tamper = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
                assert_rejects(&op, &c, &Attack { tamper: Some(&tamper), ..Default::default() });
            }
        }
        // y + 1 with the remainder lowered by 2^F: the identity holds, the remainder's range fails.
        let at = cells[0];
        let tamper = move |w: &mut WitnessBuilder| {
            bump(w, OUTPUT_COLUMN, at, 1);
            bump(w, COL_REM, at, -(1 << 16));
        };
        let err = assert_rejects(&op, &c, &Attack { tamper: Some(&tamper), ..Default::default() });
        assert!(!err.starts_with("verify: Rope"), "{err}");
        // A consistently rotated wrong input (the claim on x fails), and rotation by the wrong positions.
        let mut x = c.inputs[0].values.clone();
        x[7] += 3;
        let eval = |x: &[i64], p: &[i64]| {
            let xt = IntTensor { shape: vec![h, t, d], data: x.to_vec() };
            let pt = IntTensor { shape: vec![t], data: p.to_vec() };
            model.eval_int(&[MOperand::Act(&xt), MOperand::Act(&pt)]).expect("eval").data
        };
        let y = eval(&x, &pos);
        let err = assert_rejects(&op, &c, &Attack { inputs: Some(vec![x, pos.clone()]), output: Some(y), tamper: None });
        assert!(err.starts_with("operand"), "{err}");
        let mut shifted = pos.clone();
        shifted[2] += 1;
        let y = eval(&c.inputs[0].values, &shifted);
        assert_rejects(&op, &c, &Attack { output: Some(y), ..Default::default() });
        // Parameters that could wrap are refused.
        let bad = RopeProof { in_bits: 45, ..op.clone() };
        assert!(bad.check_params().is_err());
    }
}
