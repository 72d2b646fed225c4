//! `MatMul`: activation × committed weight matrix + committed bias.
//!
//! `y[t, n] = Σ_k x[t, k]·w[n, k] + b[n]` for `t < T` (`x: [T, K]` virtual or committed,
//! `w: [N, K]`, `b: [N]` weights; `y` virtual). With padded MLEs and a claim `ỹ(r_t, r_n) = v`:
//!
//! ```text
//! v = Σ_{k ∈ {0,1}^{log K̂}} x̃(r_t, k)·w̃(r_n, k) + b̃(r_n)·I_T(r_t),   I_T(r_t) = Σ_{t<T} eq(r_t, t)
//! ```
//!
//! (the bias is only added on real rows). The prover sends `b̃(r_n)`; a degree-2 sumcheck over `k`
//! on the folded tables `A[k] = Σ_t eq(r_t, t)·x[t, k]`, `B[k] = Σ_n eq(r_n, n)·w[n, k]` ends at
//! a random `ρ`, where the prover sends `x̃(r_t, ρ)` and `w̃(r_n, ρ)`; the verifier checks their
//! product against the reduced claim. Claims out: `x` at `(r_t, ρ)`, `w` at `(r_n, ρ)`, `b` at
//! `r_n`. Soundness error `2·log K̂ / |EF|`. Prover work `O(N·K + T·K)` field products (the
//! weight fold dominates), verifier `O(log K + log T)`.

use zkinfer_poly::eq_evals;

use super::linear::{concat, ensure, prove_product, verify_product};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::mle_eval::{evaluate_slice, fold_rows_int, prefix_indicator};

const OP: &str = "MatMul";

/// The proof of [`zkinfer_graph::ops::matmul::MatMul`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatMulProof {
    /// Whether operand 2 (the bias) is present.
    pub has_bias: bool,
}

/// `(T, K, N)` and the padded layouts of x and y.
struct Dims {
    t: usize,
    k: usize,
    n: usize,
    x: TensorLayout,
    y: TensorLayout,
}

impl MatMulProof {
    fn dims(&self, node: &NodeShape<'_>) -> Result<Dims, ProofError> {
        node.expect_inputs(OP, 2 + self.has_bias as usize)?;
        let (&[t, k], &[n, k2]) = (node.inputs[0].dims.as_slice(), node.inputs[1].dims.as_slice()) else {
            return Err(ProofError::shape(OP, "x must be [T, K] and w [N, K]"));
        };
        if k != k2 || node.output.dims != [t, n] || (self.has_bias && node.inputs[2].dims != [n]) {
            return Err(ProofError::shape(OP, "operand shapes do not fit"));
        }
        if node.inputs[1].role != TensorRole::Weight || (self.has_bias && node.inputs[2].role != TensorRole::Weight) {
            return Err(ProofError::shape(OP, "w and b must be weights"));
        }
        Ok(Dims { t, k, n, x: TensorLayout::new(&[t, k]), y: TensorLayout::new(&[t, n]) })
    }
}

impl OpVerifier for MatMulProof {
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

impl WalkVerifier for MatMulProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(node)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); node.inputs.len()]);
        };
        if claim.point.len() != d.y.num_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        let split = d.y.split_point(&claim.point);
        let (r_t, r_n) = (split[0], split[1]);
        let mut claims = vec![Vec::new(); node.inputs.len()];
        let mut sum = claim.value;
        if self.has_bias {
            let b_val = ctx.receive_eval()?;
            sum -= b_val * prefix_indicator(r_t, d.t);
            claims[2].push(Claim::new(r_n.to_vec(), b_val));
        }
        let kv = d.x.dim_vars()[1];
        let (rho, expected) = verify_product(OP, kv, 2, sum, ctx.transcript)?;
        let (x_eval, w_eval) = (ctx.receive_eval()?, ctx.receive_eval()?);
        ensure(OP, x_eval * w_eval == expected, "x(r_t, ρ)·w(r_n, ρ) differs from the reduced claim")?;
        claims[0].push(Claim::new(concat(&[r_t, &rho]), x_eval));
        claims[1].push(Claim::new(concat(&[r_n, &rho]), w_eval));
        Ok(claims)
    }
}

impl OpProver for MatMulProof {}

impl WalkProver for MatMulProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); node.inputs.len()]);
        };
        let (x_vals, w_vals) = (node.input_values(0), node.input_values(1));
        if x_vals.len() != d.t * d.k || w_vals.len() != d.n * d.k {
            return Err(ProofError::witness(OP, "operand lengths"));
        }
        let split = d.y.split_point(&claim.point);
        let (r_t, r_n) = (split[0], split[1]);
        let mut claims = vec![Vec::new(); node.inputs.len()];
        if self.has_bias {
            let bias = node.input_values(2);
            if bias.len() != d.n {
                return Err(ProofError::witness(OP, "bias length"));
            }
            let b_val = ctx.send_eval(evaluate_slice(&bias.pad(&TensorLayout::new(&[d.n])), r_n));
            claims[2].push(Claim::new(r_n.to_vec(), b_val));
        }
        let kv = d.x.dim_vars()[1];
        let a = fold_rows_int(x_vals.matrix(), d.t, d.k, &eq_evals(r_t), kv);
        let b = fold_rows_int(w_vals.matrix(), d.n, d.k, &eq_evals(r_n), kv);
        let (rho, finals) = prove_product(vec![a, b], ctx.transcript);
        let (x_eval, w_eval) = (ctx.send_eval(finals[0]), ctx.send_eval(finals[1]));
        claims[0].push(Claim::new(concat(&[r_t, &rho]), x_eval));
        claims[1].push(Claim::new(concat(&[r_n, &rho]), w_eval));
        Ok(claims)
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::matmul::MatMul {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(MatMulProof { has_bias: self.has_bias }))
    }
}
