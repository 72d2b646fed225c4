//! One module per op kind, each implementing the op traits of [`crate::protocol`].
//!
//! Linear ops (owner: `engine`): [`matmul`], [`batched_matmul`], [`add`], [`embedding`],
//! [`reshape`] (slice / split heads / merge heads), [`concat`] (cached ++ new keys/values), with
//! shared helpers in `linear`.
//!
//! Non-linear ops (owner: `nonlinear`): [`rescale`], [`clamp`], the function-table ops GELU, SiLU
//! and soft-cap (one protocol for the graph's generic `TableFn` op: [`table_op`]), [`softmax`],
//! [`layernorm`], [`rmsnorm`], [`argmax`], with
//! shared helpers [`public_mle`] (MLEs of public masks) and `product_sumcheck` (one product
//! sumcheck on either side).
//!
//! The harness that proves one node alone lives outside this directory: [`crate::single_node`].

pub mod add;
pub mod argmax;
pub mod batched_matmul;
pub mod concat;
pub mod embedding;
pub(crate) mod linear;
pub mod matmul;
pub mod mul;
pub mod reshape;
pub mod clamp;
pub mod layernorm;
pub(crate) mod norm_rows;
pub(crate) mod product_sumcheck;
pub mod public_mle;
pub mod repeat_kv;
pub mod rescale;
pub mod rmsnorm;
pub mod rope;
pub mod softmax;
pub mod table_op;
