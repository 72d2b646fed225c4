//! An element-wise op by a function table — GELU ([`super::gelu`]), SiLU ([`super::silu`]):
//! `y = TABLE[x − min]` for `x ∈ [min, min + rows)` (a clamp precedes the op in the graph). One
//! protocol, parameterised by the op's name and its table.
//!
//! **Committed**: the output `y` (column `out`) and a copy `x'` of the input (column `in`).
//! **Lookup**: every row `(x', y)` of the padded columns is a row of the public table
//! `{(v, TABLE[v − min])}` (logUp-GKR, shared multiplicities; the padding rows `(0, 0)` are table
//! rows because the constructors require `f(0) = 0`). This also range-checks `x'`.
//! **Link to the input**: at a random point `z` the prover sends `x̃'(z)` (a claim on the
//! committed copy) and the same value is the claim on the input `x`, so `x' = x` except with
//! probability `n/|EF|`. Nothing is an arithmetic relation, so nothing can wrap. The verifier's
//! work is the table's MLE (`O(rows)`, fixed by the key) plus `O(n)` field operations for `z`.

use std::sync::Arc;

use zkinfer_lookup::Table;

use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, TensorRole, WalkProver, WalkVerifier};
use crate::witness::{Owner, WitnessBuilder, WitnessLayout};

/// Column of the copy of the input.
pub const INPUT_COPY_COLUMN: &str = "in";

/// The proof of an element-wise op given by a function table.
#[derive(Debug, Clone)]
pub struct TableOpProof {
    op: &'static str,
    table: Table,
}

impl TableOpProof {
    /// The proof of op `op` for the table `outputs[i] = f(min + i)`; `f(0)` must be 0 (padding
    /// rows) and `min ≤ 0 < min + rows`. `name` is the table's name in the witness and must
    /// identify its content (tables are shared by name, e.g. `gelu:10_12`).
    pub fn new(op: &'static str, name: String, min: i64, outputs: &Arc<[i64]>) -> Result<Self, ProofError> {
        let zero = usize::try_from(-min).ok().filter(|&z| z < outputs.len());
        if zero.is_none_or(|z| outputs[z] != 0) {
            return Err(ProofError::shape(op, "the table must contain the input 0 and map it to 0"));
        }
        let inputs: Vec<i64> = (0..outputs.len() as i64).map(|i| i + min).collect();
        let table = Table::function(name, &inputs, outputs).map_err(|e| ProofError::shape(op, e.to_string()))?;
        Ok(Self { op, table })
    }

    /// The lookup table.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

impl OpVerifier for TableOpProof {
    fn name(&self) -> &'static str {
        self.op
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        node.expect_inputs(self.op, 1)?;
        if node.inputs[0].dims != node.output.dims {
            return Err(ProofError::shape(self.op, "input and output must have one shape"));
        }
        Ok(())
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        self.check_shape(node)?;
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(self.op, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.output.layout())?;
        w.lookup(&self.table, &[copy, out])
    }
}

impl WalkVerifier for TableOpProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.output.num_vars());
        let v = ctx.claim_column(copy, &z)?;
        Ok(vec![vec![Claim::new(z, v)]])
    }
}

impl OpProver for TableOpProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        self.check_shape(&node.shape)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(self.op, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.shape.output.layout(), node.inputs[0])?;
        w.lookup(&self.table, &[copy, out])
    }
}

impl WalkProver for TableOpProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.shape.output.num_vars());
        let v = ctx.claim_column(copy, &z);
        Ok(vec![vec![Claim::new(z, v)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::gelu::Gelu {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(TableOpProof::gelu(&format!("gelu{}_{}", self.in_frac, self.out_frac), &self.table)?))
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::silu::Silu {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(TableOpProof::silu(&format!("silu{}_{}_{}", self.in_frac, self.out_frac, self.in_bits), self.in_bits, &self.table)?))
    }
}
