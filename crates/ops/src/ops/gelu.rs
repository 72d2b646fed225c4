//! GELU by a function table (semantics: `zkinfer_model::ops::gelu`): `y = TABLE[x + 2^15]` for
//! `x ∈ [−2^15, 2^15)` (a clamp precedes the op in the graph).
//!
//! **Committed**: the output `y` (column `out`) and a copy `x'` of the input (column `in`).
//! **Lookup**: every row `(x', y)` of the padded columns is a row of the public table
//! `{(v, TABLE[v + 2^15]) : v ∈ [−2^15, 2^15)}` (logUp-GKR, shared multiplicities; the padding
//! rows `(0, 0)` are table rows because `gelu(0) = 0`). This also range-checks `x'`.
//! **Link to the input**: at a random point `z` the prover sends `x̃'(z)` (a claim on the
//! committed copy) and the same value is the claim on the input `x`, so `x' = x` except with
//! probability `n/|EF|`. The verifier's work is the table's MLE (`O(2^16)`, fixed) plus `O(n)`
//! field operations for `z`.

use std::sync::Arc;

use zkinfer_lookup::Table;

use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProtocol, TensorRole};
use crate::witness::{Owner, WitnessBuilder, WitnessLayout};

const OP: &str = "Gelu";
/// Column of the copy of the input.
pub const INPUT_COPY_COLUMN: &str = "in";
/// Smallest table input.
pub const GELU_TABLE_MIN: i64 = -(1 << 15);
/// Rows of the table.
pub const GELU_TABLE_ROWS: usize = 1 << 16;

/// The proof of a table GELU.
#[derive(Debug, Clone)]
pub struct GeluProof {
    table: Table,
}

impl GeluProof {
    /// The proof for the table `outputs[i] = gelu(i + GELU_TABLE_MIN)` (2^16 rows); `name` must
    /// identify the table's content (e.g. include the fixed-point positions), since tables are
    /// shared by name.
    pub fn new(name: &str, outputs: &Arc<[i64]>) -> Result<Self, ProofError> {
        if outputs.len() != GELU_TABLE_ROWS || outputs[(-GELU_TABLE_MIN) as usize] != 0 {
            return Err(ProofError::shape(OP, "the table needs 2^16 rows and gelu(0) = 0"));
        }
        let inputs: Vec<i64> = (0..GELU_TABLE_ROWS as i64).map(|i| i + GELU_TABLE_MIN).collect();
        let table = Table::function(format!("gelu:{name}"), &inputs, outputs)
            .map_err(|e| ProofError::shape(OP, e.to_string()))?;
        Ok(Self { table })
    }

    /// The lookup table.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

impl OpProtocol for GeluProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        node.shape.expect_inputs(OP, 1)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.shape.output.layout(), node.inputs[0])?;
        w.lookup(&self.table, &[copy, out])
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        node.expect_inputs(OP, 1)?;
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.output.layout())?;
        w.lookup(&self.table, &[copy, out])
    }

    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.shape.output.num_vars());
        let v = ctx.claim_column(copy, &z);
        Ok(vec![vec![Claim::new(z, v)]])
    }

    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.output.num_vars());
        let v = ctx.claim_column(copy, &z)?;
        Ok(vec![vec![Claim::new(z, v)]])
    }
}
