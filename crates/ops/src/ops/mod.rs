//! One module per op kind, each implementing the op traits of [`crate::protocol`].
//!
//! Linear ops (owner: `engine`): [`matmul`], [`batched_matmul`], [`add`], [`embedding`],
//! [`reshape`] (slice / split heads / merge heads), [`concat`] (cached ++ new keys/values), with
//! shared helpers in `linear`.
//!
//! Non-linear ops (owner: `nonlinear`): [`rescale`], [`clamp`], [`gelu`] and [`silu`] (both the
//! table-op protocol [`table_op`]), [`softmax`], [`layernorm`], [`rmsnorm`], [`argmax`], with
//! shared helpers [`public_mle`] (MLEs of public masks) and `nl_sumcheck`.

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
pub mod gelu;
pub mod layernorm;
pub(crate) mod nl_sumcheck;
pub(crate) mod norm_rows;
#[cfg(test)]
pub(crate) mod nl_testkit;
pub mod public_mle;
pub mod repeat_kv;
pub mod rescale;
pub mod rmsnorm;
pub mod rope;
pub mod silu;
pub mod single_node;
pub mod softmax;
pub mod table_op;
