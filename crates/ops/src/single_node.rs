//! Proving and verifying ONE node in isolation (for tests and per-op benchmarks): the phases of
//! [`crate::pipeline`] — witness, multiplicities, logUp-GKR per table, range-limb relations,
//! zero-checks, the op's proof, virtual claims — over one node, minus the polynomial
//! commitment. The claim on the node's output is what a consumer would hand it: at a fresh
//! challenge point, its value sent by the prover (a virtual output) or evaluated by the verifier
//! (a public one). The caller checks what a commitment opening would: the verifier's accumulated
//! claims against the committed columns, and the claims on the operands against their producers.

use zkinfer_field::F;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use crate::context::{Accumulators, Claim};
use crate::error::ProofError;
use crate::pipeline::{ProverHooks, ProverNode, VerifierHooks, VerifierNode, prove_nodes, verify_nodes};
use crate::protocol::{NodeShape, NodeTrace, ProtocolRef, TensorRole, VerifierRef};
use crate::witness::{WitnessBuilder, WitnessPlan};

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod review11_tests;

/// Domain separator of single-node proofs.
fn domain() -> DomainSeparator {
    DomainSeparator::new("zkinfer/single-node", 1)
}

/// How the harness stands in for the witness commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commitment {
    /// Nothing is bound (per-op benchmarks: no commitment cost).
    None,
    /// Every committed column is absorbed into the transcript, as a commitment root would be.
    AbsorbColumns,
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

fn absorb_columns<T: Transcript>(t: &mut T, cols: &[Vec<F>]) {
    for c in cols {
        t.absorb_public_fields("column", c);
    }
}

/// The single-node hooks: the output claim of a stand-in consumer, the operand claims kept.
struct Harness<'a> {
    commitment: Commitment,
    tamper: Option<&'a dyn Fn(&mut WitnessBuilder)>,
    /// The columns a verifier is given in place of the commitment (with
    /// [`Commitment::AbsorbColumns`]).
    columns: &'a [Vec<F>],
    input_claims: Vec<Vec<Claim>>,
    output_claim: Option<Claim>,
}

impl<'a> Harness<'a> {
    fn new(commitment: Commitment) -> Self {
        Self { commitment, tamper: None, columns: &[], input_claims: Vec::new(), output_claim: None }
    }
}

impl ProverHooks for Harness<'_> {
    type Commitment = ();

    fn before_seal(&mut self, w: &mut WitnessBuilder) {
        if let Some(t) = self.tamper {
            t(w);
        }
    }

    fn commit(&mut self, w: &mut WitnessBuilder, t: &mut ProverTranscript) -> Result<(), ProofError> {
        if self.commitment == Commitment::AbsorbColumns {
            absorb_columns(t, &w.values);
        }
        Ok(())
    }

    fn output_claims(&mut self, _i: usize, node: &NodeTrace<'_>, t: &mut ProverTranscript) -> Result<Vec<Claim>, ProofError> {
        let out = &node.shape.output;
        if out.role == TensorRole::Committed {
            return Ok(Vec::new());
        }
        let layout = out.layout();
        let z = t.challenge_exts(layout.num_vars());
        let v = layout.evaluate_i64(node.output, &z);
        if out.role == TensorRole::Virtual {
            t.send_ext(v);
        }
        Ok(vec![Claim::new(z, v)])
    }

    fn operand_claims(&mut self, _i: usize, claims: Vec<Vec<Claim>>, _acc: &mut Accumulators) -> Result<(), ProofError> {
        self.input_claims = claims;
        Ok(())
    }
}

impl VerifierHooks for Harness<'_> {
    type Commitment = ();

    fn receive_commitment(&mut self, plan: &WitnessPlan, t: &mut VerifierTranscript<'_>) -> Result<(), ProofError> {
        if self.commitment == Commitment::AbsorbColumns {
            if plan.columns().len() != self.columns.len() || plan.columns().iter().zip(self.columns).any(|(c, v)| 1usize << c.num_vars != v.len()) {
                return Err(ProofError::shape("harness", "prover and verifier witness layouts differ"));
            }
            absorb_columns(t, self.columns);
        }
        Ok(())
    }

    fn output_claims(&mut self, _i: usize, node: &NodeShape<'_>, t: &mut VerifierTranscript<'_>) -> Result<Vec<Claim>, ProofError> {
        let out = &node.output;
        if out.role == TensorRole::Committed {
            return Ok(Vec::new());
        }
        let layout = out.layout();
        let z = t.challenge_exts(layout.num_vars());
        let v = match out.role {
            TensorRole::Public => layout.evaluate_i64(node.public_output.ok_or_else(|| ProofError::shape("harness", "public output without values"))?, &z),
            _ => t.receive_ext()?,
        };
        let claim = Claim::new(z, v);
        if out.role == TensorRole::Virtual {
            self.output_claim = Some(claim.clone());
        }
        Ok(vec![claim])
    }

    fn operand_claims(&mut self, _i: usize, claims: Vec<Vec<Claim>>, _acc: &mut Accumulators) -> Result<(), ProofError> {
        self.input_claims = claims;
        Ok(())
    }

    fn finish_walk(&mut self) -> Result<(), ProofError> {
        Ok(())
    }
}

/// Proves one node under `domain`, standing in for the commitment as `commitment` says; `tamper`
/// lets a test play a malicious prover that edits its committed columns after the honest witness
/// generation.
pub fn prove_node_with(
    op: ProtocolRef<'_>,
    trace: &NodeTrace<'_>,
    domain: &DomainSeparator,
    commitment: Commitment,
    tamper: Option<&dyn Fn(&mut WitnessBuilder)>,
) -> Result<NodeProof, ProofError> {
    let mut t = ProverTranscript::new(domain);
    let mut hooks = Harness { tamper, ..Harness::new(commitment) };
    let run = prove_nodes(&[ProverNode { op, trace: trace.clone() }], &mut t, &mut hooks)?;
    Ok(NodeProof { proof: t.into_proof(), witness: run.witness, accumulators: run.accumulators, input_claims: hooks.input_claims })
}

/// Verifies a proof made by [`prove_node_with`] from the node's shape; `columns` are the
/// committed columns when the proof absorbed them ([`Commitment::AbsorbColumns`]).
pub fn verify_node_with(
    op: VerifierRef<'_>,
    shape: &NodeShape<'_>,
    proof: &[u8],
    domain: &DomainSeparator,
    commitment: Commitment,
    columns: &[Vec<F>],
) -> Result<NodeVerification, ProofError> {
    let mut t = VerifierTranscript::new(domain, proof);
    let mut hooks = Harness { columns, ..Harness::new(commitment) };
    let run = verify_nodes(&[VerifierNode { op, shape: shape.clone() }], &mut t, &mut hooks)?;
    t.finish()?;
    Ok(NodeVerification { accumulators: run.accumulators, plan: run.plan, input_claims: hooks.input_claims, output_claim: hooks.output_claim })
}

/// Proves one node without a commitment (see [`prove_node_with`]).
pub fn prove_node<'a>(op: impl Into<ProtocolRef<'a>>, trace: &NodeTrace<'_>, tamper: Option<&dyn Fn(&mut WitnessBuilder)>) -> Result<NodeProof, ProofError> {
    prove_node_with(op.into(), trace, &domain(), Commitment::None, tamper)
}

/// Verifies a proof made by [`prove_node`].
pub fn verify_node<'a>(op: impl Into<ProtocolRef<'a>>, shape: &NodeShape<'_>, proof: &[u8]) -> Result<NodeVerification, ProofError> {
    verify_node_with(op.into().verifier(), shape, proof, &domain(), Commitment::None, &[])
}
