//! Test harness for single-node op proofs (tests only).
//!
//! Runs one node through every phase the graph prover runs ([`crate::pipeline`], through
//! [`super`]) and mirrors it on the verifier side. The
//! polynomial commitment is simulated: every claim the verifier accumulates on a committed column
//! is checked against the column the prover committed, and every claim returned on an operand is
//! checked against the operand's TRUE values (what its producer, the weight opening or the public
//! evaluation would check). A malicious prover may run on perturbed operands/outputs and may edit
//! its committed columns after the honest witness generation (`tamper`).

use zkinfer_field::{F, PrimeCharacteristicRing, to_i64};
use super::{prove_node, verify_node};
use crate::context::evaluate_column;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, ProtocolRef, TensorShape, TensorRole};
use crate::witness::{LIMB_BITS, Owner, WitnessBuilder};

/// One operand: shape, role and true values.
pub(crate) struct Operand {
    pub dims: Vec<usize>,
    pub role: TensorRole,
    pub values: Vec<i64>,
}

/// A node with honest values.
pub(crate) struct Case {
    pub inputs: Vec<Operand>,
    pub output_dims: Vec<usize>,
    pub output: Vec<i64>,
    /// The output's values if it is public (argmax ids).
    pub public_output: Option<Vec<i64>>,
}

impl Case {
    fn shape<'a>(&'a self, op: ProtocolRef<'_>) -> NodeShape<'a> {
        NodeShape {
            node: 0,
            inputs: self.inputs.iter().map(|o| TensorShape::new(&o.dims, o.role)).collect(),
            output: TensorShape::new(&self.output_dims, op.op().output_role()),
            public_inputs: self
                .inputs
                .iter()
                .map(|o| (o.role == TensorRole::Public).then_some(o.values.as_slice()))
                .collect(),
            public_output: self.public_output.as_deref(),
        }
    }
}

/// What the malicious prover changes.
#[derive(Default)]
pub(crate) struct Attack<'a> {
    /// Operand values the prover uses instead of the true ones.
    pub inputs: Option<Vec<Vec<i64>>>,
    /// Output values the prover uses instead of the true ones.
    pub output: Option<Vec<i64>>,
    /// Edits of the committed columns after witness generation.
    pub tamper: Option<&'a dyn Fn(&mut WitnessBuilder)>,
}

/// Sets entry `index` of the node's column `name` to `value`, and re-derives the limbs of every
/// range check on that column when `value` is in its range (a consistent malicious prover).
pub(crate) fn set_entry(w: &mut WitnessBuilder, name: &str, index: usize, value: F) {
    let col = w.plan().find(Owner::Node(0), name).unwrap_or_else(|| panic!("no column {name}"));
    w.values[col.0][index] = value;
    let decls: Vec<_> = w.plan().range_checks().iter().filter(|d| d.column == col && !d.limbs.is_empty()).cloned().collect();
    for d in decls {
        let shifted = to_i64(value) as i128 + i128::from(d.offset_at(index));
        if !(0..1i128 << d.bits).contains(&shifted) {
            continue;
        }
        let shifted = shifted as u64;
        for (j, limb) in d.limbs.iter().enumerate() {
            let part = (shifted >> (LIMB_BITS as usize * j)) & ((1u64 << LIMB_BITS) - 1);
            w.values[limb.0][index] = F::from_u64(part);
        }
    }
}

/// Adds `delta` to entry `index` of column `name` (see [`set_entry`]).
pub(crate) fn bump(w: &mut WitnessBuilder, name: &str, index: usize, delta: i64) {
    let col = w.plan().find(Owner::Node(0), name).unwrap_or_else(|| panic!("no column {name}"));
    let v = w.values[col.0][index] + zkinfer_field::from_i64_unchecked(delta);
    set_entry(w, name, index, v);
}

/// Padded index of a logical element.
pub(crate) fn padded_index(dims: &[usize], idx: &[usize]) -> usize {
    TensorLayout::new(dims).padded_index(idx)
}

/// Runs prover and verifier; `Ok` iff the verifier accepts (and the simulated openings and
/// operand checks pass). Prover-side failures (e.g. a row outside its table, so that no
/// multiplicity column exists) are reported as `Err` too, prefixed `prover:`.
pub(crate) fn run<'o>(op: impl Into<ProtocolRef<'o>>, case: &Case, attack: &Attack<'_>) -> Result<(), String> {
    let op = op.into();
    let shape = case.shape(op);
    let true_inputs: Vec<&[i64]> = case.inputs.iter().map(|o| o.values.as_slice()).collect();
    let prover_inputs: Vec<&[i64]> = match &attack.inputs {
        Some(v) => v.iter().map(|x| x.as_slice()).collect(),
        None => true_inputs.clone(),
    };
    let prover_output: &[i64] = attack.output.as_deref().unwrap_or(&case.output);
    let i16_inputs = vec![None; prover_inputs.len()];
    let trace = NodeTrace { shape: shape.clone(), inputs: prover_inputs, i16_inputs, output: prover_output };
    let proven = prove_node(op, &trace, attack.tamper).map_err(|e| format!("prover: {e}"))?;
    let checked = verify_node(op, &shape, &proven.proof).map_err(|e| format!("verify: {e}"))?;
    if let Some(c) = &checked.output_claim
        && c.value != TensorLayout::new(&case.output_dims).evaluate_i64(&case.output, &c.point)
    {
        return Err("consumer: output claim does not match the true output".into());
    }
    // Simulated openings: the committed columns are the prover's.
    for c in checked.accumulators.witness.claims() {
        if evaluate_column(&proven.witness.values(crate::witness::ColumnId(c.poly.index())), &c.point) != c.value {
            return Err(format!("opening: claim on column {} is false", checked.plan.columns()[c.poly.index()].name));
        }
    }
    // Operand claims are checked against the true operands.
    if checked.input_claims.len() != case.inputs.len() {
        return Err("verify: wrong number of operand claim lists".into());
    }
    for (i, (claims, operand)) in checked.input_claims.iter().zip(&case.inputs).enumerate() {
        let layout = TensorLayout::new(&operand.dims);
        for c in claims {
            if c.point.len() != layout.num_vars() || layout.evaluate_i64(&operand.values, &c.point) != c.value {
                return Err(format!("operand {i}: claim does not match the true operand"));
            }
        }
    }
    Ok(())
}

/// Asserts that the honest run verifies.
pub(crate) fn assert_accepts<'o>(op: impl Into<ProtocolRef<'o>>, case: &Case) {
    if let Err(e) = run(op, case, &Attack::default()) {
        panic!("honest proof rejected: {e}");
    }
}

/// Asserts that the attacked run is rejected (by the verifier, an opening, or because the
/// malicious prover could not even build a lookup multiplicity).
pub(crate) fn assert_rejects<'o>(op: impl Into<ProtocolRef<'o>>, case: &Case, attack: &Attack<'_>) -> String {
    match run(op, case, attack) {
        Ok(()) => panic!("attacked proof accepted"),
        Err(e) => e,
    }
}

/// A deterministic RNG for tests.
pub(crate) fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}
