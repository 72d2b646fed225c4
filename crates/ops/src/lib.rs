//! Proving the integer graph op by op.
//!
//! * [`protocol`]: the traits every op implements — the verifier half [`OpVerifier`] shared by
//!   both sides (shapes, statement) and the prover half [`OpProver`] (witness), plus either the
//!   walk pair [`WalkVerifier`]/[`WalkProver`] or the zero-check pair
//!   [`ZeroCheckVerifier`]/[`ZeroCheckProver`] — and the tensor roles.
//! * [`pipeline`]: the phase sequence of a proof, written once (graph, single node, tests).
//! * [`witness`]: committed columns, lookups, range checks; [`layout`]: the padded-MLE layout.
//! * [`context`]: what an op sees while proving/verifying, claims and accumulators.
//! * [`bounds`]: the no-wrap argument (when a field identity is an integer one), shared by
//!   every op relation.
//! * [`claim_reduction`], [`lookups`]: the range-check relation, claim merging, logUp-GKR hook-up.
//! * [`ops`]: one module per op; [`graph`]: the whole-graph prover/verifier walk.

pub mod bounds;
pub mod chunk;
pub mod claim_reduction;
pub mod context;
pub mod error;
pub mod graph;
pub mod layout;
pub mod lookups;
pub mod mle_eval;
pub mod ops;
pub mod pipeline;
pub mod protocol;
pub mod single_node;
pub mod testing;
pub mod witness;
pub mod zerocheck;
pub mod zk_add;
pub mod zk_argmax;
pub mod zk_batched_matmul;
pub mod zk_broadcast;
pub mod zk_clamp;
pub mod zk_embedding;
pub mod zk_graph;
pub mod zk_index_map;
pub mod zk_lookups;
pub mod zk_matmul;
pub mod zk_mul;
pub mod zk_rescale;
pub mod zk_rope;
pub mod zk_softmax;
pub mod zk_norm;
pub mod zk_plan;
pub mod zk_table_op;
#[cfg(test)]
mod zk_testkit;

pub use context::{Accumulators, Claim, ProverCtx, VerifierCtx};
pub use zkinfer_pcs::{Opening, OpeningAccumulator, OpeningClaim, Origin, PolyId};
pub use error::ProofError;
pub use graph::{
    ChunkIo, GraphProverOutput, Injected, GraphVerifierOutput, PublicValues, protocol_for, prove_graph, prove_graph_chunk, prove_graph_with, verify_graph,
    verify_graph_chunk, witness_plan,
};
#[cfg(feature = "test-hooks")]
pub use graph::prove_graph_forging;
pub use layout::TensorLayout;
pub use protocol::{
    NodeShape, NodeTrace, OpProtocol, OpProver, OpVerifier, ProtocolRef, TensorShape, TensorRole, Values, VerifierRef, WalkProver, WalkVerifier, ZeroCheckProver,
    ZeroCheckVerifier,
};
pub use witness::{ColumnId, WitnessBuilder, WitnessLayout, WitnessPlan};
