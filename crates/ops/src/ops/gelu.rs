//! GELU by a function table (semantics: `zkinfer_graph::ops::gelu`): `y = TABLE[x + 2^15]` for
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
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
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

impl OpVerifier for GeluProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        node.expect_inputs(OP, 1)?;
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.output.layout())?;
        w.lookup(&self.table, &[copy, out])
    }
}

impl WalkVerifier for GeluProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.output.num_vars());
        let v = ctx.claim_column(copy, &z)?;
        Ok(vec![vec![Claim::new(z, v)]])
    }
}

impl OpProver for GeluProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        node.shape.expect_inputs(OP, 1)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.shape.output.layout(), node.inputs[0])?;
        w.lookup(&self.table, &[copy, out])
    }
}

impl WalkProver for GeluProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.shape.output.num_vars());
        let v = ctx.claim_column(copy, &z);
        Ok(vec![vec![Claim::new(z, v)]])
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::gelu::Gelu;

    use super::*;
    use crate::ops::nl_testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    fn setup(seed: u64, dims: &[usize]) -> (GeluProof, Case, Gelu) {
        let model = Gelu::new(10, 12);
        let op = GeluProof::new("10_12", &model.table).expect("table");
        let mut r = rng(seed);
        let n = dims.iter().product();
        let x: Vec<i64> = (0..n).map(|_| r.random_range(GELU_TABLE_MIN..-GELU_TABLE_MIN) >> r.random_range(0..6)).collect();
        let y = x.iter().map(|&v| model.table[(v - GELU_TABLE_MIN) as usize]).collect();
        let case = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Committed, values: x }], output_dims: dims.to_vec(), output: y, public_output: None };
        (op, case, model)
    }

    #[test]
    fn honest_gelu_verifies() {
        for (seed, dims) in [(1u64, vec![5usize, 30]), (2, vec![3, 7, 5])] {
            let (op, case, _) = setup(seed, &dims);
            assert_accepts(&op, &case);
        }
    }

    #[test]
    fn perturbed_output_or_input_is_rejected() {
        let dims = [4usize, 50];
        let (op, c, model) = setup(3, &dims);
        let at = padded_index(&dims, &[2, 17]);
        for (col, delta) in [(OUTPUT_COLUMN, 1i64), (INPUT_COPY_COLUMN, 1), (INPUT_COPY_COLUMN, -1)] {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        }
        // Both input copy and output moved to another table row: the lookup holds, the link fails.
        let table = model.table.clone();
        let t = move |w: &mut WitnessBuilder| {
            let xc = w.plan().find(Owner::Node(0), INPUT_COPY_COLUMN).expect("in");
            let x = zkinfer_field::to_i64(w.values(xc)[at]);
            let out = w.plan().find(Owner::Node(0), OUTPUT_COLUMN).expect("out");
            let y = zkinfer_field::to_i64(w.values(out)[at]);
            bump(w, INPUT_COPY_COLUMN, at, 1);
            bump(w, OUTPUT_COLUMN, at, table[(x + 1 - GELU_TABLE_MIN) as usize] - y);
        };
        let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        assert!(err.starts_with("operand"), "{err}");
        // The prover uses a wrong input consistently.
        let mut x = c.inputs[0].values.clone();
        x[5] += 1;
        let y = x.iter().map(|&v| model.table[(v - GELU_TABLE_MIN) as usize]).collect();
        assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
    }
}
