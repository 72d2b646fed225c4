//! `RepeatKv { group }`: grouped-query attention's head sharing (semantics:
//! `zkinfer_graph::ops::repeat_kv`), `y[h, t, c] = x[⌊h/g⌋, t, c]` for `x: [H_kv, T, d]`,
//! `y: [H_kv·g, T, d]`.
//!
//! The output is virtual and never materialised in the witness. A claim `ỹ(r_h, r_t, r_c) = v`
//! is, with zero-padded MLEs,
//!
//! ```text
//! v = Σ_{h < H} eq(r_h, h)·x̃(⌊h/g⌋, r_t, r_c) = Σ_{κ ∈ {0,1}^a} W(κ)·X(κ),
//! W(k) = Σ_{j < g} eq(r_h, k·g + j)  (k < H_kv; 0 on padding),   X(κ) = x̃(κ, r_t, r_c)
//! ```
//!
//! a degree-2 sumcheck over the `a = log Ĥ_kv` head variables of `x` (any `g`, not only powers
//! of two). At the random `ρ` the prover sends `X(ρ) = x̃(ρ, r_t, r_c)` (the claim on `x`); the
//! verifier computes `W̃(ρ) = Σ_k eq(ρ, k)·W(k)` itself in `O(H)` and checks the product. With
//! one KV head (`a = 0`) the check is `v = W(0)·x̃(r_t, r_c)` directly. The relation is linear
//! with public coefficients: nothing can wrap. Soundness error `2a/|EF|`.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::eq_evals;

use super::linear::{concat, ensure, prove_product, verify_product};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};

const OP: &str = "RepeatKv";

/// The proof of [`zkinfer_graph::ops::repeat_kv::RepeatKv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatKvProof {
    /// Query heads per KV head.
    pub group: usize,
}

struct Dims {
    hkv: usize,
    t: usize,
    d: usize,
    x: TensorLayout,
    y: TensorLayout,
}

impl RepeatKvProof {
    fn dims(&self, node: &NodeShape<'_>) -> Result<Dims, ProofError> {
        node.expect_inputs(OP, 1)?;
        let &[hkv, t, d] = node.inputs[0].dims.as_slice() else {
            return Err(ProofError::shape(OP, "the operand must be [H_kv, T, d]"));
        };
        if self.group == 0 || self.group > 1 << 16 || hkv == 0 || node.output.dims != [hkv * self.group, t, d] {
            return Err(ProofError::shape(OP, "output must be [H_kv·group, T, d]"));
        }
        Ok(Dims { hkv, t, d, x: TensorLayout::new(&[hkv, t, d]), y: TensorLayout::new(&[hkv * self.group, t, d]) })
    }

    /// `W(k)` for `k < Ĥ_kv` (0 on padding).
    fn weights(&self, d: &Dims, r_h: &[EF]) -> Vec<EF> {
        let eq_h = eq_evals(r_h);
        let mut w = vec![EF::ZERO; 1 << d.x.dim_vars()[0]];
        for (k, wk) in w.iter_mut().enumerate().take(d.hkv) {
            *wk = eq_h[k * self.group..(k + 1) * self.group].iter().copied().sum();
        }
        w
    }
}

impl OpVerifier for RepeatKvProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Virtual
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        self.dims(node).map(|_| ())
    }
}

impl WalkVerifier for RepeatKvProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(node)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new()]);
        };
        if claim.point.len() != d.y.num_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        let split = d.y.split_point(&claim.point);
        let (r_h, r_tc) = (split[0], concat(&[split[1], split[2]]));
        let w = self.weights(&d, r_h);
        let a = d.x.dim_vars()[0];
        if a == 0 {
            let x_eval = ctx.receive_eval()?;
            ensure(OP, w[0] * x_eval == claim.value, "W·x differs from the claim")?;
            return Ok(vec![vec![Claim::new(r_tc, x_eval)]]);
        }
        let (rho, expected) = verify_product(OP, a, 2, claim.value, ctx.transcript)?;
        let x_eval = ctx.receive_eval()?;
        let w_rho: EF = eq_evals(&rho).iter().zip(&w).map(|(&e, &wk)| e * wk).sum();
        ensure(OP, w_rho * x_eval == expected, "W·x differs from the reduced claim")?;
        Ok(vec![vec![Claim::new(concat(&[&rho, &r_tc]), x_eval)]])
    }
}

impl OpProver for RepeatKvProof {}

impl WalkProver for RepeatKvProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new()]);
        };
        let x = node.input_values(0);
        let block = d.t * d.d;
        if x.len() != d.hkv * block {
            return Err(ProofError::witness(OP, "operand length"));
        }
        let split = d.y.split_point(&claim.point);
        let (r_h, r_tc) = (split[0], concat(&[split[1], split[2]]));
        let w = self.weights(&d, r_h);
        let inner = TensorLayout::new(&[d.t, d.d]);
        let mut xs = vec![EF::ZERO; w.len()];
        for (k, xk) in xs.iter_mut().enumerate().take(d.hkv) {
            let vals: Vec<i64> = (0..block).map(|i| x.get(k * block + i)).collect();
            *xk = inner.evaluate_i64(&vals, &r_tc);
        }
        if d.x.dim_vars()[0] == 0 {
            let x_eval = ctx.send_eval(xs[0]);
            return Ok(vec![vec![Claim::new(r_tc, x_eval)]]);
        }
        let (rho, finals) = prove_product(vec![w, xs], ctx.transcript);
        let x_eval = ctx.send_eval(finals[1]);
        Ok(vec![vec![Claim::new(concat(&[&rho, &r_tc]), x_eval)]])
    }
}


impl crate::graph::Provable for zkinfer_graph::ops::repeat_kv::RepeatKv {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(RepeatKvProof { group: self.group }))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::IntOp;
    use zkinfer_graph::ops::repeat_kv::RepeatKv;
    use zkinfer_graph::{IntTensor, Operand as MOperand};

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, rng};

    fn case(seed: u64, hkv: usize, group: usize, t: usize, d: usize) -> Case {
        let mut r = rng(seed);
        let x: Vec<i64> = (0..hkv * t * d).map(|_| r.random_range(-(1i64 << 24)..1 << 24)).collect();
        let xt = IntTensor { shape: vec![hkv, t, d], data: x.clone() };
        let y = RepeatKv { group }.eval_int(&[MOperand::Act(&xt)]).expect("eval");
        Case {
            inputs: vec![Operand { dims: vec![hkv, t, d], role: TensorRole::Virtual, values: x }],
            output_dims: y.shape.clone(),
            output: y.data,
            public_output: None,
        }
    }

    #[test]
    fn honest_repeat_kv_verifies() {
        for (seed, hkv, group, t, d) in [(1u64, 3usize, 3usize, 5usize, 7usize), (2, 2, 2, 3, 16), (3, 1, 4, 2, 5), (4, 5, 1, 3, 3), (5, 3, 5, 1, 2)] {
            assert_accepts(&RepeatKvProof { group }, &case(seed, hkv, group, t, d));
        }
    }

    #[test]
    fn wrong_copies_are_rejected() {
        for (hkv, group) in [(3usize, 3usize), (1, 4)] {
            let c = case(9, hkv, group, 5, 7);
            let op = RepeatKvProof { group };
            // One copy of one KV head differs from its source.
            let mut y = c.output.clone();
            y[5 * 7 + 3] += 1;
            assert_rejects(&op, &c, &Attack { output: Some(y), ..Default::default() });
            // The prover repeats a perturbed KV head consistently: the claim on x fails.
            let mut x = c.inputs[0].values.clone();
            x[10] -= 2;
            let xt = IntTensor { shape: vec![hkv, 5, 7], data: x.clone() };
            let y = RepeatKv { group }.eval_int(&[MOperand::Act(&xt)]).expect("eval").data;
            assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
            // The wrong head mapping (h mod H_kv instead of h / g) is rejected.
            if hkv > 1 {
                let block = 5 * 7;
                let y: Vec<i64> = (0..hkv * group).flat_map(|h| c.inputs[0].values[(h % hkv) * block..(h % hkv + 1) * block].to_vec()).collect();
                assert_rejects(&op, &c, &Attack { output: Some(y), ..Default::default() });
            }
        }
    }
}
