//! A harness that proves and verifies ONE op end to end, with ideal openings.
//!
//! Everything runs for real, through the one phase sequence of [`crate::pipeline`] — witness,
//! commitment absorption, logUp-GKR lookups, range relations, zero-checks, the op's prover and
//! verifier over a Fiat–Shamir transcript — except the polynomial commitment:
//! the claims the verifier ends with are checked by evaluating the polynomials directly ("ideal
//! PCS"). Claims on the op's operands are checked against the *honest* operand values (what an
//! upstream producer or the weight commitment would pin down); claims on witness columns against
//! the columns the prover committed. The claim on a virtual output is taken from the prover's
//! trace output (what a downstream consumer would pin down). So a "malicious prover" that edits
//! any value of the trace (operand, output, auxiliary column) after the honest forward pass is
//! caught exactly when the op's protocol is sound.

use zkinfer_field::{F, from_i64_unchecked};
use zkinfer_transcript::DomainSeparator;

use crate::context::{Accumulators, Claim, evaluate_column};
use crate::error::ProofError;
use crate::single_node::{Commitment, prove_node_with, verify_node_with};
use crate::protocol::{NodeShape, NodeTrace, ProtocolRef, TensorShape, TensorRole};

/// Owned values of one operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedValues {
    /// 64-bit values.
    I64(Vec<i64>),
    /// 16-bit values (weight matrices).
    I16(Vec<i16>),
}

impl OwnedValues {
    fn as_i64_slice(&self) -> &[i64] {
        match self {
            OwnedValues::I64(v) => v,
            OwnedValues::I16(_) => &[],
        }
    }
    fn as_i16(&self) -> Option<&[i16]> {
        match self {
            OwnedValues::I16(v) => Some(v),
            OwnedValues::I64(_) => None,
        }
    }
    /// Element `i` widened.
    pub fn get(&self, i: usize) -> i64 {
        match self {
            OwnedValues::I64(v) => v[i],
            OwnedValues::I16(v) => v[i] as i64,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            OwnedValues::I64(v) => v.len(),
            OwnedValues::I16(v) => v.len(),
        }
    }
    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Adds `delta` to element `i` (for tampering tests).
    pub fn perturb(&mut self, i: usize, delta: i64) {
        match self {
            OwnedValues::I64(v) => v[i] += delta,
            OwnedValues::I16(v) => v[i] = v[i].wrapping_add(delta as i16),
        }
    }
}

/// One op application to run through [`run_op`].
#[derive(Debug, Clone)]
pub struct OpCase {
    /// Operand shapes and roles.
    pub inputs: Vec<TensorShape>,
    /// Honest operand values (what the verifier's openings pin down).
    pub honest_inputs: Vec<OwnedValues>,
    /// The prover's operand values (equal to the honest ones unless tampered).
    pub trace_inputs: Vec<OwnedValues>,
    /// Output shape.
    pub output_dims: Vec<usize>,
    /// The prover's output values (honest output unless tampered).
    pub trace_output: Vec<i64>,
}

impl OpCase {
    /// An honest case: trace = honest values.
    pub fn new(inputs: Vec<TensorShape>, values: Vec<OwnedValues>, output_dims: Vec<usize>, output: Vec<i64>) -> Self {
        Self { inputs, honest_inputs: values.clone(), trace_inputs: values, output_dims, trace_output: output }
    }
}

/// Where verification of a case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The prover refused (its trace violates the op's relation, e.g. a range).
    #[error("prover: {0}")]
    Prover(ProofError),
    /// The verifier rejected the proof.
    #[error("verifier: {0}")]
    Verifier(ProofError),
    /// A claim the verifier accepted is false (the ideal openings reject it).
    #[error("opening: {0}")]
    Opening(String),
}

/// The prover's side of a case: proof bytes and committed columns.
#[derive(Debug)]
pub struct CaseProof {
    /// The proof.
    pub proof: Vec<u8>,
    /// The committed columns (what the verifier's ideal openings evaluate).
    pub columns: Vec<Vec<F>>,
}

/// What the verifier of a case ends with (before the ideal openings).
#[derive(Debug)]
pub struct CaseVerification {
    /// Claims on committed columns.
    pub accumulators: Accumulators,
    /// Claims on each operand.
    pub input_claims: Vec<Vec<Claim>>,
    /// Names of the committed columns.
    pub column_names: Vec<String>,
}

fn domain() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/test", 1)
}

fn shapes<'c>(op: ProtocolRef<'_>, case: &'c OpCase) -> (NodeShape<'c>, NodeTrace<'c>) {
    let role = op.op().output_role();
    let output_meta = TensorShape::new(&case.output_dims, role);
    let public_inputs: Vec<Option<&[i64]>> = case
        .inputs
        .iter()
        .zip(&case.honest_inputs)
        .map(|(m, v)| (m.role == TensorRole::Public).then(|| v.as_i64_slice()))
        .collect();
    let public_output = (role == TensorRole::Public).then_some(case.trace_output.as_slice());
    let shape = NodeShape { node: 0, inputs: case.inputs.clone(), output: output_meta, public_inputs, public_output };
    let trace = NodeTrace {
        shape: shape.clone(),
        inputs: case.trace_inputs.iter().map(|v| v.as_i64_slice()).collect(),
        i16_inputs: case.trace_inputs.iter().map(|v| v.as_i16()).collect(),
        output: &case.trace_output,
    };
    (shape, trace)
}

/// Runs the prover of `op` on the case's trace (the single-node pipeline, columns absorbed in
/// place of a commitment).
pub fn prove_case<'a>(op: impl Into<ProtocolRef<'a>>, case: &OpCase) -> Result<CaseProof, ProofError> {
    let op = op.into();
    let (_, trace) = shapes(op, case);
    let p = prove_node_with(op, &trace, &domain(), Commitment::AbsorbColumns, None)?;
    Ok(CaseProof { proof: p.proof, columns: p.witness.values })
}

/// Runs the verifier of `op` on a proof; `columns` stand for the witness commitment (absorbed
/// like a commitment root would be).
pub fn verify_case<'a>(op: impl Into<ProtocolRef<'a>>, case: &OpCase, proof: &[u8], columns: &[Vec<F>]) -> Result<CaseVerification, ProofError> {
    let op = op.into();
    let (shape, _) = shapes(op, case);
    let v = verify_node_with(op.verifier(), &shape, proof, &domain(), Commitment::AbsorbColumns, columns)?;
    let column_names = v.plan.columns().iter().map(|c| c.name.clone()).collect();
    Ok(CaseVerification { accumulators: v.accumulators, input_claims: v.input_claims, column_names })
}

/// Proves and verifies `op` on `case`, then checks every final claim with ideal openings; returns
/// the proof size in bytes on success.
pub fn run_op<'a>(op: impl Into<ProtocolRef<'a>>, case: &OpCase) -> Result<usize, CaseError> {
    let op = op.into();
    let p = prove_case(op, case).map_err(CaseError::Prover)?;
    let v = verify_case(op, case, &p.proof, &p.columns).map_err(CaseError::Verifier)?;
    let in_claims = v.input_claims;
    if in_claims.len() != case.inputs.len() {
        return Err(CaseError::Verifier(ProofError::shape("harness", "claims for a wrong number of operands")));
    }
    for (i, claims) in in_claims.iter().enumerate() {
        let layout = case.inputs[i].layout();
        let honest: Vec<F> = (0..case.honest_inputs[i].len()).map(|j| from_i64_unchecked(case.honest_inputs[i].get(j))).collect();
        let padded = layout.pad_with(&honest, |x| x);
        for c in claims {
            if c.point.len() != layout.num_vars() || evaluate_column(&padded, &c.point) != c.value {
                return Err(CaseError::Opening(format!("claim on operand {i} is false")));
            }
        }
    }
    for c in v.accumulators.witness.claims() {
        let zkinfer_pcs::PolyId::Column(k) = c.poly else {
            return Err(CaseError::Opening(format!("witness claim on {:?}, which is not a column", c.poly)));
        };
        let col = p.columns.get(k).ok_or_else(|| CaseError::Opening(format!("claim on unknown witness column {k}")))?;
        if c.point.len() != col.len().trailing_zeros() as usize || evaluate_column(col, &c.point) != c.value {
            return Err(CaseError::Opening(format!("claim on witness column {} is false", v.column_names[k])));
        }
    }
    if !v.accumulators.weights.is_empty() {
        return Err(CaseError::Opening("unexpected weight claims in a single-op run".into()));
    }
    Ok(p.proof.len())
}
