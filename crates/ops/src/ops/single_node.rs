//! Proving and verifying ONE node in isolation (for tests and per-op benchmarks): the same phases
//! as the graph prover — witness, multiplicities, logUp-GKR per table, range-limb relations, the
//! op's `prove` — minus the polynomial commitment. The caller checks what a commitment opening
//! would: the verifier's accumulated claims against the committed columns, and the claims on the
//! operands against their producers.

use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use crate::context::{Accumulators, Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::gadgets::{prove_range_relations, prove_virtual_claims, verify_range_relations, verify_virtual_claims};
use crate::zerocheck::{prove_zero_checks, verify_zero_checks};
use crate::layout::TensorLayout;
use crate::lookups::{prove_lookups, verify_lookups};
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProtocol, TensorRole};
use crate::witness::{Owner, WitnessBuilder, WitnessLayout, WitnessPlan};

/// Domain separator of single-node proofs.
fn domain() -> DomainSeparator {
    DomainSeparator::new("zkinfer/single-node", 1)
}

/// The prover's result.
#[derive(Debug)]
pub struct NodeProof {
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// The committed columns.
    pub witness: WitnessBuilder,
    /// Claims the prover recorded (equal to the verifier's on success).
    pub accumulators: Accumulators,
    /// Claims on the operands.
    pub input_claims: Vec<Vec<Claim>>,
}

/// The verifier's result: everything still to be checked against commitments and producers.
#[derive(Debug)]
pub struct NodeVerification {
    /// Claims on committed columns (to open) and on weights.
    pub accumulators: Accumulators,
    /// The witness layout.
    pub plan: WitnessPlan,
    /// Claims on each operand.
    pub input_claims: Vec<Vec<Claim>>,
    /// The claim on a virtual output (its consumer must check it), if any.
    pub output_claim: Option<Claim>,
}

/// Proves one node. `tamper` lets a test play a malicious prover that edits its committed columns
/// after the honest witness generation.
pub fn prove_node(
    op: &dyn OpProtocol,
    trace: &NodeTrace<'_>,
    tamper: Option<&dyn Fn(&mut WitnessBuilder)>,
) -> Result<NodeProof, ProofError> {
    let shape = &trace.shape;
    let out_layout = shape.output.layout();
    let mut w = WitnessBuilder::new();
    w.plan.set_owner(Owner::Node(shape.node));
    if op.output_role() == TensorRole::Committed {
        w.commit_tensor(OUTPUT_COLUMN, &out_layout, trace.output)?;
    }
    op.witness(trace, &mut w)?;
    if let Some(t) = tamper {
        t(&mut w);
    }
    w.seal()?;
    let mut t = ProverTranscript::new(&domain());
    let mut acc = Accumulators::default();
    prove_lookups(&w, &mut t, &mut acc)?;
    prove_range_relations(&w, &mut t, &mut acc);
    let mut zc = prove_zero_checks(&[(shape.node, op, trace.clone())], &w, &mut t, &mut acc)?;
    let mut out_claims = Vec::new();
    if op.output_role() == TensorRole::Virtual {
        let z = t.challenge_exts(out_layout.num_vars());
        let v = out_layout.evaluate_i64(trace.output, &z);
        t.send_ext(v);
        out_claims.push(Claim::new(z, v));
    }
    let input_claims = match zc.remove(&shape.node) {
        Some(claims) => claims,
        None => {
            let mut ctx = ProverCtx { transcript: &mut t, witness: &w, acc: &mut acc, node: shape.node };
            op.prove(trace, &mut ctx, out_claims)?
        }
    };
    prove_virtual_claims(&w, &mut t, &mut acc)?;
    Ok(NodeProof { proof: t.into_proof(), witness: w, accumulators: acc, input_claims })
}

/// Verifies a proof made by [`prove_node`] from the node's shape.
pub fn verify_node(op: &dyn OpProtocol, shape: &NodeShape<'_>, proof: &[u8]) -> Result<NodeVerification, ProofError> {
    let out_layout: TensorLayout = shape.output.layout();
    let mut wl = WitnessLayout::new();
    wl.plan.set_owner(Owner::Node(shape.node));
    if op.output_role() == TensorRole::Committed {
        wl.commit_tensor(OUTPUT_COLUMN, &out_layout)?;
    }
    op.layout(shape, &mut wl)?;
    wl.plan.seal()?;
    let plan = wl.plan().clone();
    let mut t = VerifierTranscript::new(&domain(), proof);
    let mut acc = Accumulators::default();
    verify_lookups(&plan, &mut t, &mut acc)?;
    verify_range_relations(&plan, &mut t, &mut acc)?;
    let mut zc = verify_zero_checks(&[(shape.node, op, shape.clone())], &plan, &mut t, &mut acc)?;
    let mut out_claims = Vec::new();
    if op.output_role() == TensorRole::Virtual {
        let z = t.challenge_exts(out_layout.num_vars());
        let v = t.receive_ext()?;
        out_claims.push(Claim::new(z, v));
    }
    let output_claim = out_claims.first().cloned();
    let input_claims = match zc.remove(&shape.node) {
        Some(_) if !out_claims.is_empty() => return Err(ProofError::check("single node", "output claim handed to an op proven by its zero-check")),
        Some(claims) => claims,
        None => {
            let mut ctx = VerifierCtx { transcript: &mut t, plan: &plan, acc: &mut acc, node: shape.node };
            op.verify(shape, &mut ctx, out_claims)?
        }
    };
    if !zc.is_empty() {
        return Err(ProofError::check("single node", "zero-check claims of another node were not routed"));
    }
    verify_virtual_claims(&plan, &mut t, &mut acc)?;
    t.finish()?;
    Ok(NodeVerification { accumulators: acc, plan, input_claims, output_claim })
}
