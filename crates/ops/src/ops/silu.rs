//! SiLU by a function table (semantics: `zkinfer_graph::ops::silu`): `y = TABLE[x + 2^(b−1)]` for
//! `x ∈ [−2^(b−1), 2^(b−1))`, `b = in_bits` (a clamp precedes the op in the graph).
//!
//! The same protocol as GELU's ([`super::gelu`]): **committed** the output `y` (column `out`)
//! and a copy `x'` of the input (column `in`); **lookup** of every row `(x', y)` of the padded
//! columns into the public table `{(v, TABLE[v + 2^(b−1)])}` (logUp-GKR; padding rows `(0, 0)`
//! are table rows because `silu(0) = 0`), which also range-checks `x'`; **link** at a random
//! point `z`: the prover sends `x̃'(z)`, which becomes the claim on the input `x`, so `x' = x`
//! except with probability `n/|EF|`. Nothing is an arithmetic relation, so nothing can wrap.
//! The verifier's work is the table's MLE (`O(2^b)`, fixed by the key) plus `O(n)`.

use std::sync::Arc;

use zkinfer_lookup::Table;

use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::witness::{Owner, WitnessBuilder, WitnessLayout};

const OP: &str = "Silu";
/// Column of the copy of the input.
pub const INPUT_COPY_COLUMN: &str = "in";
/// Largest table: `2^16` rows (the lookup argument's table limit).
pub const SILU_MAX_IN_BITS: u32 = 16;

/// The proof of a table SiLU.
#[derive(Debug, Clone)]
pub struct SiluProof {
    table: Table,
}

impl SiluProof {
    /// The proof for the table `outputs[i] = silu(i − 2^(in_bits−1))` (`2^in_bits` rows); `name`
    /// must identify the table's content (tables are shared by name).
    pub fn new(name: &str, in_bits: u32, outputs: &Arc<[i64]>) -> Result<Self, ProofError> {
        if !(1..=SILU_MAX_IN_BITS).contains(&in_bits) || outputs.len() != 1 << in_bits || outputs[1 << (in_bits - 1)] != 0 {
            return Err(ProofError::shape(OP, "the table needs 2^in_bits rows (in_bits ≤ 16) and silu(0) = 0"));
        }
        let min = -(1i64 << (in_bits - 1));
        let inputs: Vec<i64> = (0..1i64 << in_bits).map(|i| i + min).collect();
        let table = Table::function(format!("silu:{name}"), &inputs, outputs).map_err(|e| ProofError::shape(OP, e.to_string()))?;
        Ok(Self { table })
    }

    /// The lookup table.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

impl OpVerifier for SiluProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Committed
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        node.expect_inputs(OP, 1)?;
        if node.inputs[0].dims != node.output.dims {
            return Err(ProofError::shape(OP, "input and output must have one shape"));
        }
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.output.layout())?;
        w.lookup(&self.table, &[copy, out])
    }
}

impl WalkVerifier for SiluProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let copy = ctx.column(INPUT_COPY_COLUMN)?;
        let z = ctx.challenges(node.output.num_vars());
        let v = ctx.claim_column(copy, &z)?;
        Ok(vec![vec![Claim::new(z, v)]])
    }
}

impl OpProver for SiluProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        node.shape.expect_inputs(OP, 1)?;
        let out = w.plan().find(Owner::Node(node.shape.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let copy = w.commit_tensor(INPUT_COPY_COLUMN, &node.shape.output.layout(), node.inputs[0])?;
        w.lookup(&self.table, &[copy, out])
    }
}

impl WalkProver for SiluProof {
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
    use zkinfer_graph::ops::silu::Silu;

    use super::*;
    use crate::ops::nl_testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    fn setup(seed: u64, dims: &[usize], in_bits: u32) -> (SiluProof, Case, Silu) {
        let model = Silu::new(10, 12, in_bits);
        let op = SiluProof::new(&format!("10_12_{in_bits}"), in_bits, &model.table).expect("table");
        let mut r = rng(seed);
        let n = dims.iter().product();
        let min = model.min_input();
        let x: Vec<i64> = (0..n).map(|_| r.random_range(min..-min) >> r.random_range(0..6)).collect();
        let y = x.iter().map(|&v| model.table[(v - min) as usize]).collect();
        let case = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Committed, values: x }], output_dims: dims.to_vec(), output: y, public_output: None };
        (op, case, model)
    }

    #[test]
    fn honest_silu_verifies() {
        for (seed, dims, bits) in [(1u64, vec![5usize, 30], 16u32), (2, vec![3, 7, 5], 12), (3, vec![1, 1], 4)] {
            let (op, case, _) = setup(seed, &dims, bits);
            assert_accepts(&op, &case);
        }
    }

    #[test]
    fn perturbed_output_or_input_is_rejected() {
        let dims = [3usize, 13];
        let (op, c, model) = setup(4, &dims, 12);
        let at = padded_index(&dims, &[2, 7]);
        for (col, delta) in [(OUTPUT_COLUMN, 1i64), (INPUT_COPY_COLUMN, 1), (INPUT_COPY_COLUMN, -1)] {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        }
        // Input copy and output moved to another table row together: the lookup holds, the link fails.
        let (table, min) = (model.table.clone(), model.min_input());
        let t = move |w: &mut WitnessBuilder| {
            let xc = w.plan().find(Owner::Node(0), INPUT_COPY_COLUMN).expect("in");
            let x = zkinfer_field::to_i64(w.values(xc)[at]);
            let out = w.plan().find(Owner::Node(0), OUTPUT_COLUMN).expect("out");
            let y = zkinfer_field::to_i64(w.values(out)[at]);
            bump(w, INPUT_COPY_COLUMN, at, 1);
            bump(w, OUTPUT_COLUMN, at, table[(x + 1 - min) as usize] - y);
        };
        let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        assert!(err.starts_with("operand"), "{err}");
        // An input outside the table has no lookup witness.
        let mut x = c.inputs[0].values.clone();
        x[3] = -min;
        let mut y = c.output.clone();
        y[3] = 0;
        let err = assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
        assert!(!err.is_empty());
        // A bad table is refused.
        assert!(SiluProof::new("bad", 17, &model.table).is_err());
    }
}
