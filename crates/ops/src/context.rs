//! Proving and verifying contexts handed to each op, and the claim accumulators.
//!
//! **Convention.** Every [`Claim`] an op returns (on one of its inputs) has its value already bound
//! into the transcript: sent by the prover (and read by the verifier) or derived by both sides from
//! values that were. The framework then routes it by the input's role: to the witness accumulator
//! (Committed), to the weight accumulator (Weight), to a direct evaluation (Public), or to the
//! producer of the tensor (Virtual).

use zkinfer_field::{EF, F};
use zkinfer_pcs::{OpeningAccumulator, Origin, PolyId};
use zkinfer_poly::Mle;
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::error::ProofError;
use crate::witness::{ColumnId, Owner, WitnessBuilder, WitnessPlan};

/// A claim `P(point) = value` on some multilinear polynomial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The evaluation point (MSB-first coordinates).
    pub point: Vec<EF>,
    /// The claimed value.
    pub value: EF,
}

impl Claim {
    /// A claim.
    pub fn new(point: Vec<EF>, value: EF) -> Self {
        Self { point, value }
    }
}

/// The accumulators of a proof, one per commitment, of the PCS's own claim type
/// ([`OpeningAccumulator`]), every claim keyed by `(polynomial, origin)` where it is made
/// ([`PolyId`], [`Origin`]): the caller opens them against the commitments, which list the ids of
/// the polynomials they hold (nothing re-keys a claim).
#[derive(Debug, Clone, Default)]
pub struct Accumulators {
    /// Claims on witness columns ([`PolyId::Column`]).
    pub witness: OpeningAccumulator,
    /// Claims on weight tensors ([`PolyId::Tensor`]: the graph's tensor; the weight-block
    /// reduction finds the key's weight through the graph's template).
    pub weights: OpeningAccumulator,
    /// Claims on deferred inputs ([`PolyId::Tensor`]: the graph's tensor; see
    /// [`crate::TensorRole::Deferred`]): the caller discharges them against the commitment that
    /// holds those values.
    pub deferred: OpeningAccumulator,
}

/// What an op's prover sees.
#[derive(Debug)]
pub struct ProverCtx<'a> {
    /// The Fiat–Shamir transcript (the proof is what is sent on it).
    pub transcript: &'a mut ProverTranscript,
    /// The committed witness.
    pub witness: &'a WitnessBuilder,
    /// The accumulators.
    pub acc: &'a mut Accumulators,
    /// The node being proven.
    pub node: usize,
}

impl ProverCtx<'_> {
    /// The column this node registered under `name`.
    pub fn column(&self, name: &str) -> Result<ColumnId, ProofError> {
        find_column(self.witness.plan(), self.node, name)
    }
    /// The values of a column.
    pub fn values(&self, col: ColumnId) -> std::borrow::Cow<'_, [F]> {
        self.witness.values(col)
    }
    /// Evaluates column `col` at `point`, sends the value, records the claim in the witness
    /// accumulator and returns the value.
    pub fn claim_column(&mut self, col: ColumnId, point: &[EF]) -> EF {
        let value = evaluate_column(&self.witness.values(col), point);
        self.transcript.send_ext(value);
        self.acc.witness.push(PolyId::Column(col.0), Origin::Node(self.node), point.to_vec(), value);
        value
    }
    /// Sends an evaluation (e.g. of a virtual operand) and returns it.
    pub fn send_eval(&mut self, value: EF) -> EF {
        self.transcript.send_ext(value);
        value
    }
    /// A fresh challenge.
    pub fn challenge(&mut self) -> EF {
        self.transcript.challenge_ext()
    }
    /// `n` fresh challenges.
    pub fn challenges(&mut self, n: usize) -> Vec<EF> {
        self.transcript.challenge_exts(n)
    }
}

/// What an op's verifier sees.
#[derive(Debug)]
pub struct VerifierCtx<'a, 'p> {
    /// The Fiat–Shamir transcript (reads the proof).
    pub transcript: &'a mut VerifierTranscript<'p>,
    /// The witness layout (sizes of committed columns).
    pub plan: &'a WitnessPlan,
    /// The accumulators.
    pub acc: &'a mut Accumulators,
    /// The node being verified.
    pub node: usize,
}

impl VerifierCtx<'_, '_> {
    /// The column this node registered under `name`.
    pub fn column(&self, name: &str) -> Result<ColumnId, ProofError> {
        find_column(self.plan, self.node, name)
    }
    /// Receives the prover's evaluation of column `col` at `point`, records the claim in the
    /// witness accumulator and returns the value.
    pub fn claim_column(&mut self, col: ColumnId, point: &[EF]) -> Result<EF, ProofError> {
        if point.len() != self.plan.num_vars(col) {
            return Err(ProofError::shape("claim_column", "point of wrong dimension"));
        }
        let value = self.transcript.receive_ext()?;
        self.acc.witness.push(PolyId::Column(col.0), Origin::Node(self.node), point.to_vec(), value);
        Ok(value)
    }
    /// Receives an evaluation sent with [`ProverCtx::send_eval`].
    pub fn receive_eval(&mut self) -> Result<EF, ProofError> {
        Ok(self.transcript.receive_ext()?)
    }
    /// A fresh challenge.
    pub fn challenge(&mut self) -> EF {
        self.transcript.challenge_ext()
    }
    /// `n` fresh challenges.
    pub fn challenges(&mut self, n: usize) -> Vec<EF> {
        self.transcript.challenge_exts(n)
    }
}

fn find_column(plan: &WitnessPlan, node: usize, name: &str) -> Result<ColumnId, ProofError> {
    plan.find(Owner::Node(node), name)
        .ok_or_else(|| ProofError::shape("witness", format!("node {node} registered no column {name}")))
}

/// Evaluates a full column table at `point`.
pub fn evaluate_column(values: &[F], point: &[EF]) -> EF {
    crate::mle_eval::evaluate_slice(values, point)
}

/// Lifts a column to the extension field.
pub fn lift_column(values: &[F]) -> Mle<EF> {
    Mle::new(values.iter().map(|&x| EF::from(x)).collect())
}
