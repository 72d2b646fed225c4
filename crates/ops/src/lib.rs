//! Proving the integer graph op by op.
//!
//! * [`protocol`]: the [`OpProtocol`] trait every op implements (witness / layout / prove /
//!   verify) and the tensor roles.
//! * [`witness`]: committed columns, lookups, range checks; [`layout`]: the padded-MLE layout.
//! * [`context`]: what an op sees while proving/verifying, claims and accumulators.
//! * [`bounds`]: the no-wrap argument (when a field identity is an integer one), shared by
//!   every op relation.
//! * [`gadgets`], [`lookups`]: the range-check relation, claim merging, logUp-GKR hook-up.
//! * [`ops`]: one module per op; [`graph`]: the whole-graph prover/verifier walk.

pub mod bounds;
pub mod context;
pub mod error;
pub mod gadgets;
pub mod graph;
pub mod layout;
pub mod lookups;
pub mod ops;
pub mod protocol;
pub mod testing;
pub mod util;
pub mod witness;
pub mod zerocheck;

pub use context::{Accumulators, Claim, ClaimAccumulator, PolyClaim, ProverCtx, VerifierCtx};
pub use error::ProofError;
pub use graph::{GraphProverOutput, GraphVerifierOutput, PublicValues, protocol_for, prove_graph, verify_graph, witness_plan};
pub use layout::TensorLayout;
pub use protocol::{NodeShape, NodeTrace, OpProtocol, TensorMeta, TensorRole, Values};
pub use witness::{ColumnId, WitnessBuilder, WitnessLayout, WitnessPlan};
