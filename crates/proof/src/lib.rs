//! End-to-end proofs that a committed GPT-2 model produced a completion.
//!
//! * [`codec`] — the strict binary codec of key and proof files.
//! * [`fsio`] — atomic file output (no half-written files).

pub mod codec;
pub mod fsio;
