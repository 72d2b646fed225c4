//! `Mul`: the element-wise product of two activations (semantics: `zkinfer_graph::ops::mul`),
//! SwiGLU's `silu(gate) ⊙ up`.
//!
//! The output is virtual. A claim `ỹ(r) = v` is, with zero-padded MLEs of one layout,
//!
//! ```text
//! v = Σ_x eq(r, x)·ã(x)·b̃(x)
//! ```
//!
//! a degree-3 sumcheck over the tensor's variables. At the random `ρ` the prover sends `ã(ρ)`
//! and `b̃(ρ)`; the verifier checks `eq(r, ρ)·ã(ρ)·b̃(ρ)` against the reduced claim. Claims out:
//! one on each operand. Soundness error `3·log n̂/|EF|`; prover `O(n)`, verifier `O(log n)`.
//!
//! **No wrap.** The relation defines `y` as the field product of the operands; it is their
//! integer product because the graph's static bounds give `|a·b| < 2^(bits(a) + bits(b)) ≤ 2^62`
//! (the model op refuses more), far inside `(−p/2, p/2)`, and the operands themselves are proven
//! integers by their producers (the induction of [`crate::bounds`]).

use zkinfer_field::EF;
use zkinfer_poly::{eq_eval, eq_evals};

use super::linear::{ensure, prove_product, verify_product};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};

const OP: &str = "Mul";

/// The proof of [`zkinfer_graph::ops::mul::Mul`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MulProof;

fn check(node: &NodeShape<'_>) -> Result<(), ProofError> {
    node.expect_inputs(OP, 2)?;
    if node.inputs[0].dims != node.output.dims || node.inputs[1].dims != node.output.dims || node.output.dims.is_empty() {
        return Err(ProofError::shape(OP, "operands and output must have one shape"));
    }
    Ok(())
}

impl OpVerifier for MulProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Virtual
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        check(node)
    }
}

impl WalkVerifier for MulProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        check(node)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        let n = node.output.num_vars();
        if claim.point.len() != n {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        let (rho, expected) = verify_product(OP, n, 3, claim.value, ctx.transcript)?;
        let (a_eval, b_eval) = (ctx.receive_eval()?, ctx.receive_eval()?);
        ensure(OP, a_eval * b_eval * eq_eval(&claim.point, &rho) == expected, "a·b·eq differs from the reduced claim")?;
        Ok(vec![vec![Claim::new(rho.clone(), a_eval)], vec![Claim::new(rho, b_eval)]])
    }
}

impl OpProver for MulProof {}

impl WalkProver for MulProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        check(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        let layout = node.shape.output.layout();
        let (a, b) = (node.input_values(0), node.input_values(1));
        if a.len() != layout.len() || b.len() != layout.len() {
            return Err(ProofError::witness(OP, "operand lengths"));
        }
        let ta: Vec<EF> = a.pad(&layout).into_iter().map(EF::from).collect();
        let tb: Vec<EF> = b.pad(&layout).into_iter().map(EF::from).collect();
        let (rho, finals) = prove_product(vec![ta, tb, eq_evals(&claim.point)], ctx.transcript);
        let (a_eval, b_eval) = (ctx.send_eval(finals[0]), ctx.send_eval(finals[1]));
        Ok(vec![vec![Claim::new(rho.clone(), a_eval)], vec![Claim::new(rho, b_eval)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::mul::Mul {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(MulProof))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, rng};

    fn case(seed: u64, dims: &[usize]) -> Case {
        let mut r = rng(seed);
        let n: usize = dims.iter().product();
        let a: Vec<i64> = (0..n).map(|_| r.random_range(-(1i64 << 19)..1 << 19)).collect();
        let b: Vec<i64> = (0..n).map(|_| r.random_range(-(1i64 << 24)..1 << 24)).collect();
        let y = a.iter().zip(&b).map(|(x, y)| x * y).collect();
        Case {
            inputs: vec![
                Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: a },
                Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: b },
            ],
            output_dims: dims.to_vec(),
            output: y,
            public_output: None,
        }
    }

    #[test]
    fn honest_mul_verifies() {
        for (seed, dims) in [(1u64, vec![5usize, 11]), (2, vec![3, 7, 5]), (3, vec![1, 1]), (4, vec![9, 176])] {
            assert_accepts(&MulProof, &case(seed, &dims));
        }
    }

    #[test]
    fn wrong_product_or_operands_are_rejected() {
        let c = case(7, &[5, 11]);
        // A wrong output entry (the consumer's claim on y is on the true product).
        let mut y = c.output.clone();
        y[23] += 1;
        assert_rejects(&MulProof, &c, &Attack { output: Some(y), ..Default::default() });
        // The prover multiplies perturbed operands consistently: the claims on a or b fail.
        for which in 0..2 {
            let mut ins: Vec<Vec<i64>> = c.inputs.iter().map(|o| o.values.clone()).collect();
            ins[which][40] += 1;
            let y = ins[0].iter().zip(&ins[1]).map(|(x, y)| x * y).collect();
            let err = assert_rejects(&MulProof, &c, &Attack { inputs: Some(ins), output: Some(y), tamper: None });
            assert!(err.starts_with("operand") || err.starts_with("consumer"), "{err}");
        }
    }
}
