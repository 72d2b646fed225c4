//! GELU by a function table (semantics: `zkinfer_graph::ops::gelu`): `y = TABLE[x + 2^15]` for
//! `x ∈ [−2^15, 2^15)` (a clamp precedes the op in the graph), proven by the table-op protocol
//! ([`super::table_op`]: committed output and input copy, one lookup of `(x', y)` into the
//! public table, a random-point link `x' = x`; `gelu(0) = 0` makes the padding rows table rows).

use std::sync::Arc;

pub use super::table_op::{INPUT_COPY_COLUMN, TableOpProof};
use crate::error::ProofError;

const OP: &str = "Gelu";
/// Smallest table input.
pub const GELU_TABLE_MIN: i64 = -(1 << 15);
/// Rows of the table.
pub const GELU_TABLE_ROWS: usize = 1 << 16;

impl TableOpProof {
    /// GELU's proof for the table `outputs[i] = gelu(i + GELU_TABLE_MIN)` (2^16 rows); `name`
    /// must identify the table's content (e.g. include the fixed-point positions), since tables
    /// are shared by name.
    pub fn gelu(name: &str, outputs: &Arc<[i64]>) -> Result<Self, ProofError> {
        if outputs.len() != GELU_TABLE_ROWS {
            return Err(ProofError::shape(OP, "the table needs 2^16 rows and gelu(0) = 0"));
        }
        Self::new(OP, format!("gelu:{name}"), GELU_TABLE_MIN, outputs)
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::gelu::Gelu;

    use super::*;
    use crate::protocol::{OUTPUT_COLUMN, TensorRole};
    use crate::witness::{Owner, WitnessBuilder};
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    fn setup(seed: u64, dims: &[usize]) -> (TableOpProof, Case, Gelu) {
        let model = Gelu::new(10, 12);
        let op = TableOpProof::gelu("10_12", &model.table).expect("table");
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
