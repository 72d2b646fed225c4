//! One module per op kind, each implementing [`crate::OpProtocol`].
//!
//! Non-linear ops (owner: `nonlinear`): [`rescale`], [`clamp`], [`gelu`], [`softmax`],
//! [`layernorm`], [`argmax`], with shared helpers [`public_mle`] (MLEs of public masks) and
//! `nl_sumcheck`.

pub mod argmax;
pub mod clamp;
pub mod gelu;
pub mod layernorm;
pub(crate) mod nl_sumcheck;
#[cfg(test)]
pub(crate) mod nl_testkit;
pub mod public_mle;
pub mod rescale;
pub mod single_node;
pub mod softmax;
