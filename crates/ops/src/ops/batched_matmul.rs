//! `BatchedMatMul`: activation × activation per head (`Q·Kᵀ`, `P·V`).
//!
//! `a: [H, M, K]`, `b: [H, N, K]` (`transpose_b`) or `[H, K, N]`, `y: [H, M, N]`,
//! `y[h, m, n] = Σ_k a[h, m, k]·b[h, n, k]` (resp. `b[h, k, n]`). A claim `ỹ(r_h, r_m, r_n) = v`
//! is, with padded MLEs,
//!
//! ```text
//! v = Σ_{h, k} eq(r_h, h)·ã(h, r_m, k)·b̃(h, r_n, k)          (resp. b̃(h, k, r_n))
//! ```
//!
//! a degree-3 sumcheck over the head and inner variables on the folded tables
//! `A[h, k] = Σ_m eq(r_m, m)·a[h, m, k]`, `B[h, k] = Σ_n eq(r_n, n)·b[h, n, k]` and
//! `E[h, k] = eq(r_h, h)`. At the random `(ρ_h, ρ_k)` the prover sends `ã(ρ_h, r_m, ρ_k)` and
//! `b̃(ρ_h, r_n, ρ_k)` (resp. `b̃(ρ_h, ρ_k, r_n)`); the verifier computes `eq(r_h, ρ_h)` and checks
//! the product. Claims out: one on each operand. Soundness error `3·(log Ĥ + log K̂)/|EF|`;
//! prover `O(H·(M + N)·K)`, verifier `O(log)`.

use zkinfer_field::{EF, from_i64_unchecked};
use zkinfer_poly::{eq_eval, eq_evals};

use super::linear::{concat, ensure, prove_product, verify_product};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::mle_eval::{fold_cols, fold_rows};

const OP: &str = "BatchedMatMul";

/// The proof of [`zkinfer_graph::ops::batched_matmul::BatchedMatMul`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchedMatMulProof {
    /// `b` is `[H, N, K]` (contract over the last axis of both) instead of `[H, K, N]`.
    pub transpose_b: bool,
}

struct Dims {
    h: usize,
    m: usize,
    k: usize,
    n: usize,
    y: TensorLayout,
    hv: usize,
    kv: usize,
}

impl BatchedMatMulProof {
    fn dims(&self, node: &NodeShape<'_>) -> Result<Dims, ProofError> {
        node.expect_inputs(OP, 2)?;
        let (&[h, m, k], &[h2, p, q]) = (node.inputs[0].dims.as_slice(), node.inputs[1].dims.as_slice()) else {
            return Err(ProofError::shape(OP, "operands must be [H, M, K] and [H, ·, ·]"));
        };
        let (k2, n) = if self.transpose_b { (q, p) } else { (p, q) };
        if h != h2 || k != k2 || node.output.dims != [h, m, n] {
            return Err(ProofError::shape(OP, "operand shapes do not fit"));
        }
        let y = TensorLayout::new(&[h, m, n]);
        let a = TensorLayout::new(&[h, m, k]);
        Ok(Dims { h, m, k, n, hv: a.dim_vars()[0], kv: a.dim_vars()[2], y })
    }

    /// The point of `b` given its head, inner and `n` coordinates.
    fn b_point(&self, rho_h: &[EF], rho_k: &[EF], r_n: &[EF]) -> Vec<EF> {
        if self.transpose_b { concat(&[rho_h, r_n, rho_k]) } else { concat(&[rho_h, rho_k, r_n]) }
    }
}

impl OpVerifier for BatchedMatMulProof {
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

impl WalkVerifier for BatchedMatMulProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(node)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        if claim.point.len() != d.y.num_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        let split = d.y.split_point(&claim.point);
        let (r_h, r_m, r_n) = (split[0], split[1], split[2]);
        let (rho, expected) = verify_product(OP, d.hv + d.kv, 3, claim.value, ctx.transcript)?;
        let (rho_h, rho_k) = rho.split_at(d.hv);
        let (a_eval, b_eval) = (ctx.receive_eval()?, ctx.receive_eval()?);
        ensure(OP, a_eval * b_eval * eq_eval(r_h, rho_h) == expected, "a·b·eq differs from the reduced claim")?;
        Ok(vec![
            vec![Claim::new(concat(&[rho_h, r_m, rho_k]), a_eval)],
            vec![Claim::new(self.b_point(rho_h, rho_k, r_n), b_eval)],
        ])
    }
}

impl OpProver for BatchedMatMulProof {}

impl WalkProver for BatchedMatMulProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let d = self.dims(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        let (a, b) = (node.input_values(0), node.input_values(1));
        if a.len() != d.h * d.m * d.k || b.len() != d.h * d.n * d.k {
            return Err(ProofError::witness(OP, "operand lengths"));
        }
        let split = d.y.split_point(&claim.point);
        let (r_h, r_m, r_n) = (split[0], split[1], split[2]);
        let (eq_m, eq_n) = (eq_evals(r_m), eq_evals(r_n));
        let eq_h = eq_evals(r_h);
        let block = 1usize << d.kv;
        let (mut ta, mut tb, mut te) = (Vec::new(), Vec::new(), Vec::new());
        for hh in 0..(1usize << d.hv) {
            if hh < d.h {
                let a_off = hh * d.m * d.k;
                ta.extend(fold_rows(|i| from_i64_unchecked(a.get(a_off + i)), d.m, d.k, &eq_m, d.kv));
                let b_off = hh * d.n * d.k;
                let fb = if self.transpose_b {
                    fold_rows(|i| from_i64_unchecked(b.get(b_off + i)), d.n, d.k, &eq_n, d.kv)
                } else {
                    fold_cols(|i| from_i64_unchecked(b.get(b_off + i)), d.k, d.n, &eq_n, d.kv)
                };
                tb.extend(fb);
            } else {
                ta.extend(std::iter::repeat_n(EF::default(), block));
                tb.extend(std::iter::repeat_n(EF::default(), block));
            }
            te.extend(std::iter::repeat_n(eq_h[hh], block));
        }
        let (rho, finals) = prove_product(vec![ta, tb, te], ctx.transcript);
        let (rho_h, rho_k) = rho.split_at(d.hv);
        let (a_eval, b_eval) = (ctx.send_eval(finals[0]), ctx.send_eval(finals[1]));
        Ok(vec![
            vec![Claim::new(concat(&[rho_h, r_m, rho_k]), a_eval)],
            vec![Claim::new(self.b_point(rho_h, rho_k, r_n), b_eval)],
        ])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::batched_matmul::BatchedMatMul {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(BatchedMatMulProof { transpose_b: self.transpose_b }))
    }
}
