//! Errors of op proving and verification.

use zkinfer_transcript::TranscriptError;

/// Why proving or verifying an op (or the whole graph) failed.
///
/// On the verifier side every variant means "reject". On the prover side `Witness`/`Shape` mean
/// the trace does not satisfy the op's relation (e.g. a value outside its declared range), which an
/// honest trace never triggers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof bytes could not be read (truncated, non-canonical, left over).
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// A sumcheck round or final check failed.
    #[error("{op}: sumcheck rejected: {msg}")]
    Sumcheck {
        /// The op (or gadget) whose sumcheck failed.
        op: &'static str,
        /// What failed.
        msg: String,
    },
    /// A final consistency check of an op failed (claimed evaluations do not fit the relation).
    #[error("{op}: check failed: {msg}")]
    Check {
        /// The op (or gadget) whose check failed.
        op: &'static str,
        /// What failed.
        msg: String,
    },
    /// Shapes, operand counts or graph structure do not fit the op.
    #[error("{op}: shape: {msg}")]
    Shape {
        /// The op.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// The prover's trace does not satisfy the op's relation (prover side only).
    #[error("{op}: witness: {msg}")]
    Witness {
        /// The op.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A lookup argument failed.
    #[error("lookup into {table}: {msg}")]
    Lookup {
        /// The table's name.
        table: String,
        /// What failed.
        msg: String,
    },
    /// A polynomial-commitment opening failed.
    #[error("opening: {0}")]
    Opening(String),
}

impl ProofError {
    /// A failed check of `op`.
    pub fn check(op: &'static str, msg: impl Into<String>) -> Self {
        Self::Check { op, msg: msg.into() }
    }
    /// A shape error of `op`.
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Self::Shape { op, msg: msg.into() }
    }
    /// A witness error of `op`.
    pub fn witness(op: &'static str, msg: impl Into<String>) -> Self {
        Self::Witness { op, msg: msg.into() }
    }
    /// A sumcheck error of `op`.
    pub fn sumcheck(op: &'static str, msg: impl Into<String>) -> Self {
        Self::Sumcheck { op, msg: msg.into() }
    }
}
