//! The integer graph IR, shared by the prover and the verifier.
//!
//! * [`graph`]: a validated DAG of [`ops::Op`]s over named tensors with static bounds, the
//!   [`GraphBuilder`], and [`execute`] (the integer semantics, node by node).
//! * [`ops`]: one module per op — its parameters, shape rule, bound rule, integer semantics and
//!   key encoding; the registry line in `ops/mod.rs` ties it in.
//! * [`template`]: the graph as data in the verifying key, sizes left symbolic.
//! * [`tables`]: the GELU and exp lookup tables, built with integer arithmetic only (prover
//!   and verifier build bit-identical tables).
//! * [`tensor`]: integer activations and weights.
//! * [`codec`]: the strict binary codec of key and proof files.
//!
//! No file formats, no models, no threads: the `parallel` feature turns on multi-threaded
//! kernels for provers (`p3-maybe-rayon`); the verifier builds without it.

pub mod codec;
pub mod graph;
pub mod ops;
pub mod tables;
pub mod template;
pub mod tensor;

pub use graph::{Graph, GraphBuilder, GraphError, IntTrace, Node, TensorId, TensorSource, TensorMeta, Weights, execute};
pub use ops::{IntOp, Op, OpError, Operand};
pub use template::{Dim, GraphTemplate, Symbol, WeightMeta};
pub use tensor::{IntTensor, WeightTensor, WeightValues};
