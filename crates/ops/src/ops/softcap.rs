//! Soft-capping by a function table (semantics: `zkinfer_graph::ops::softcap`):
//! `y = TABLE[x + 2^(b−1)]`, `TABLE = round(c·tanh(v/c)·2^f_out)`, for
//! `x ∈ [−2^(b−1), 2^(b−1))`, `b = in_bits` (a clamp precedes the op in the graph), proven by the
//! table-op protocol ([`super::table_op`], as GELU and SiLU; the function is odd, so the padding
//! rows `(0, 0)` are table rows). Nothing is an arithmetic relation, so nothing can wrap.

use std::sync::Arc;

pub use super::table_op::{INPUT_COPY_COLUMN, TableOpProof};
use crate::error::ProofError;
use zkinfer_graph::ops::softcap::SOFTCAP_MAX_IN_BITS;

const OP: &str = "SoftCap";

impl TableOpProof {
    /// The soft-cap proof for the table `outputs[i] = c·tanh((i − 2^(in_bits−1))/c)` (`2^in_bits`
    /// rows); `name` must identify the table's content (tables are shared by name).
    pub fn softcap(name: &str, in_bits: u32, outputs: &Arc<[i64]>) -> Result<Self, ProofError> {
        if !(1..=SOFTCAP_MAX_IN_BITS).contains(&in_bits) || outputs.len() != 1 << in_bits {
            return Err(ProofError::shape(OP, "the table needs 2^in_bits rows (in_bits ≤ 16)"));
        }
        Self::new(OP, format!("softcap:{name}"), -(1i64 << (in_bits - 1)), outputs)
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::softcap::SoftCap {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        let name = format!("softcap{}_{}_{}_{}", self.in_frac, self.out_frac, self.in_bits, self.cap);
        Ok(crate::protocol::OpProtocol::walk(TableOpProof::softcap(&name, self.in_bits, &self.table)?))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::softcap::SoftCap;

    use super::*;
    use crate::protocol::{OUTPUT_COLUMN, TensorRole};
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};
    use crate::witness::{Owner, WitnessBuilder};

    fn setup(seed: u64, dims: &[usize], in_bits: u32, cap: u32) -> (TableOpProof, Case, SoftCap) {
        let model = SoftCap::new(SoftCap::input_frac_for(cap, in_bits), 12, in_bits, cap).expect("op");
        let op = TableOpProof::softcap(&format!("{}_12_{in_bits}_{cap}", model.in_frac), in_bits, &model.table).expect("table");
        let mut r = rng(seed);
        let n = dims.iter().product();
        let min = model.min_input();
        let x: Vec<i64> = (0..n).map(|_| r.random_range(min..-min) >> r.random_range(0..6)).collect();
        let y = x.iter().map(|&v| model.table[(v - min) as usize]).collect();
        let case = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Committed, values: x }], output_dims: dims.to_vec(), output: y, public_output: None };
        (op, case, model)
    }

    #[test]
    fn honest_softcap_verifies() {
        for (seed, dims, bits, cap) in [(1u64, vec![5usize, 30], 16u32, 50u32), (2, vec![3, 7, 5], 12, 8), (3, vec![1, 1], 4, 1)] {
            let (op, case, _) = setup(seed, &dims, bits, cap);
            assert_accepts(&op, &case);
        }
    }

    #[test]
    fn perturbed_output_or_input_is_rejected() {
        let dims = [3usize, 13];
        let (op, c, model) = setup(4, &dims, 12, 8);
        let at = padded_index(&dims, &[2, 7]);
        for (col, delta) in [(OUTPUT_COLUMN, 1i64), (OUTPUT_COLUMN, -1), (INPUT_COPY_COLUMN, 1), (INPUT_COPY_COLUMN, -1)] {
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
        // The uncapped value (the identity) at one entry beyond the cap's knee: refused.
        let mut y = c.output.clone();
        let big = c.inputs[0].values.iter().position(|&v| v.abs() > 4 << model.in_frac).expect("an entry past the knee");
        y[big] = c.inputs[0].values[big] << (12 - model.in_frac);
        assert_ne!(y[big], c.output[big]);
        assert_rejects(&op, &c, &Attack { output: Some(y), ..Default::default() });
        // An input outside the table has no lookup witness.
        let mut x = c.inputs[0].values.clone();
        x[3] = -min;
        let mut y = c.output.clone();
        y[3] = *model.table.last().expect("row");
        let err = assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
        assert!(!err.is_empty());
        // A bad table is refused.
        assert!(TableOpProof::softcap("bad", 17, &model.table).is_err());
        assert!(TableOpProof::softcap("bad", 11, &model.table).is_err());
    }
}
