//! An element-wise op by a function table — the graph's `TableFn` op
//! (`zkinfer_graph::ops::table_fn`) and its instances GELU, SiLU and the soft-cap:
//! `y = TABLE[x − min]` for `x ∈ [min, min + rows)`, `min = −2^(in_bits−1)` (a clamp precedes the
//! op in the graph). One protocol, parameterised by the op's name and its table
//! ([`TableOpProof::for_table_fn`]; every instance's function maps 0 to 0, so the padding rows
//! `(0, 0)` are table rows).
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

use zkinfer_graph::ops::table_fn::{TABLE_FN_MAX_IN_BITS, TableFn, TableFunction};
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

impl TableOpProof {
    /// The proof of the function-table op `op`: its table (`2^in_bits` rows, `in_bits ≤ 16`),
    /// named by [`TableFn::table_name`] (tables are shared by name).
    pub fn for_table_fn<F: TableFunction>(op: &TableFn<F>) -> Result<Self, ProofError> {
        if !(1..=TABLE_FN_MAX_IN_BITS).contains(&op.in_bits) || op.table.len() != 1 << op.in_bits {
            return Err(ProofError::shape(F::NAME, "the table needs 2^in_bits rows (in_bits ≤ 16)"));
        }
        Self::new(F::NAME, op.table_name(), op.min_input(), &op.table)
    }
}

/// Every instance (GELU, SiLU, soft-cap) is proven by its table.
impl<F: TableFunction> crate::graph::Provable for TableFn<F> {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(TableOpProof::for_table_fn(self)?))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::gelu::Gelu;
    use zkinfer_graph::ops::silu::Silu;
    use zkinfer_graph::ops::softcap::SoftCap;

    use super::*;
    use crate::protocol::{OUTPUT_COLUMN, TensorRole};
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    /// A random case of `op` on `dims`: inputs across the table (shifted to reach small values).
    fn case<F: TableFunction>(op: &TableFn<F>, seed: u64, dims: &[usize]) -> Case {
        let mut r = rng(seed);
        let min = op.min_input();
        let n = dims.iter().product();
        let x: Vec<i64> = (0..n).map(|_| r.random_range(min..-min) >> r.random_range(0..6)).collect();
        let y = x.iter().map(|&v| op.table[(v - min) as usize]).collect();
        Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Committed, values: x }], output_dims: dims.to_vec(), output: y, public_output: None }
    }

    /// Honest cases verify and a lie at the output, at the input copy, or of both moved to another
    /// table row, or a consistent wrong input, or an input beyond the table, is refused; for one
    /// instance of each function.
    fn honest_and_lies<F: TableFunction>(op: &TableFn<F>, sizes: &[(u64, Vec<usize>)]) {
        let proof = TableOpProof::for_table_fn(op).expect("table");
        for (seed, dims) in sizes {
            assert_accepts(&proof, &case(op, *seed, dims));
        }
        let dims = [3usize, 13];
        let c = case(op, 4, &dims);
        let at = padded_index(&dims, &[2, 7]);
        for (col, delta) in [(OUTPUT_COLUMN, 1i64), (OUTPUT_COLUMN, -1), (INPUT_COPY_COLUMN, 1), (INPUT_COPY_COLUMN, -1)] {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            assert_rejects(&proof, &c, &Attack { tamper: Some(&t), ..Default::default() });
        }
        // Input copy and output moved to another table row together: the lookup holds, the link fails.
        let (table, min) = (op.table.clone(), op.min_input());
        let t = move |w: &mut WitnessBuilder| {
            let xc = w.plan().find(Owner::Node(0), INPUT_COPY_COLUMN).expect("in");
            let x = zkinfer_field::to_i64(w.values(xc)[at]);
            let out = w.plan().find(Owner::Node(0), OUTPUT_COLUMN).expect("out");
            let y = zkinfer_field::to_i64(w.values(out)[at]);
            let x1 = if x + 1 < -min { x + 1 } else { x - 1 };
            bump(w, INPUT_COPY_COLUMN, at, x1 - x);
            bump(w, OUTPUT_COLUMN, at, table[(x1 - min) as usize] - y);
        };
        let err = assert_rejects(&proof, &c, &Attack { tamper: Some(&t), ..Default::default() });
        assert!(err.starts_with("operand"), "{err}");
        // The prover uses a wrong input consistently.
        let mut x = c.inputs[0].values.clone();
        x[5] = if x[5] + 1 < -min { x[5] + 1 } else { x[5] - 1 };
        let y = x.iter().map(|&v| op.table[(v - min) as usize]).collect();
        assert_rejects(&proof, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
        // An input outside the table has no lookup witness.
        let mut x = c.inputs[0].values.clone();
        x[3] = -min;
        let mut y = c.output.clone();
        y[3] = *op.table.last().expect("row");
        let err = assert_rejects(&proof, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
        assert!(!err.is_empty());
        // A table of the wrong size is refused.
        let mut bad = op.clone();
        bad.in_bits += 1;
        assert!(TableOpProof::for_table_fn(&bad).is_err());
        bad.in_bits = 17;
        assert!(TableOpProof::for_table_fn(&bad).is_err());
    }

    #[test]
    fn gelu_honest_verifies_and_lies_are_rejected() {
        honest_and_lies(&Gelu::new(10, 12), &[(1, vec![5, 30]), (2, vec![3, 7, 5])]);
    }

    #[test]
    fn silu_honest_verifies_and_lies_are_rejected() {
        for bits in [16u32, 12, 4] {
            honest_and_lies(&Silu::new(10, 12, bits), &[(1, vec![5, 30]), (2, vec![3, 7, 5]), (3, vec![1, 1])]);
        }
    }

    #[test]
    fn softcap_honest_verifies_and_lies_are_rejected() {
        for (bits, cap) in [(16u32, 50u32), (12, 8), (4, 1)] {
            let op = SoftCap::new(SoftCap::input_frac_for(cap, bits), 12, bits, cap).expect("op");
            honest_and_lies(&op, &[(1, vec![5, 30]), (2, vec![3, 7, 5]), (3, vec![1, 1])]);
        }
        // The uncapped value (the identity) at one entry beyond the cap's knee: refused.
        let op = SoftCap::new(SoftCap::input_frac_for(8, 12), 12, 12, 8).expect("op");
        let proof = TableOpProof::for_table_fn(&op).expect("table");
        let c = case(&op, 4, &[3, 13]);
        let mut y = c.output.clone();
        let big = c.inputs[0].values.iter().position(|&v| v.abs() > 4 << op.in_frac).expect("an entry past the knee");
        y[big] = c.inputs[0].values[big] << (12 - op.in_frac);
        assert_ne!(y[big], c.output[big]);
        assert_rejects(&proof, &c, &Attack { output: Some(y), ..Default::default() });
    }

    /// The proof's table names are the ones the three per-function constructors gave before they
    /// were one (they name the lookup tables in the proof).
    #[test]
    fn table_names_are_unchanged() {
        assert_eq!(Gelu::new(10, 12).table_name(), "gelu:gelu10_12");
        assert_eq!(Silu::new(10, 12, 15).table_name(), "silu:silu10_12_15");
        assert_eq!(SoftCap::new(7, 12, 16, 50).expect("op").table_name(), "softcap:softcap7_12_16_50");
    }
}
