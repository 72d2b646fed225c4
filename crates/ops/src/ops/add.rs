//! `Add`: elementwise sum of two tensors of one shape (the residual stream).
//!
//! The MLE is linear: `ỹ(r) = ã(r) + b̃(r)` (padding is zero in all three). Given `ỹ(r) = v` the
//! prover sends `ã(r)`; the claim on `b` is `v − ã(r)`. No sumcheck, no soundness loss: a false
//! claim on `y` becomes a false claim on `a` or on `b`.

use super::linear::ensure;
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::mle_eval::evaluate_slice;

const OP: &str = "Add";

/// The proof of [`zkinfer_graph::ops::add::Add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddProof;

fn check(node: &NodeShape<'_>) -> Result<(), ProofError> {
    node.expect_inputs(OP, 2)?;
    ensure(OP, node.inputs[0].dims == node.output.dims && node.inputs[1].dims == node.output.dims, "operands and output must have one shape")
        .map_err(|_| ProofError::shape(OP, "operands and output must have one shape"))
}

impl OpVerifier for AddProof {
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

impl WalkVerifier for AddProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        check(node)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        if claim.point.len() != node.output.num_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        let a_eval = ctx.receive_eval()?;
        Ok(vec![vec![Claim::new(claim.point.clone(), a_eval)], vec![Claim::new(claim.point, claim.value - a_eval)]])
    }
}

impl OpProver for AddProof {}

impl WalkProver for AddProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        check(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        let layout = node.shape.output.layout();
        let a = node.input_values(0);
        if a.len() != layout.len() {
            return Err(ProofError::witness(OP, "operand length"));
        }
        let a_eval = ctx.send_eval(evaluate_slice(&a.pad(&layout), &claim.point));
        Ok(vec![vec![Claim::new(claim.point.clone(), a_eval)], vec![Claim::new(claim.point, claim.value - a_eval)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::add::Add {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(AddProof))
    }
}
