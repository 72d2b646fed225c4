//! The integration tests of `zkinfer-proof`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` in `crates/cli/tests/all.rs` fails for a
//! file of any crate that would not run.
//! Run one former file with `cargo test --release -p zkinfer-proof --test all -- FILE::`.
//! `review_decode.rs`'s `#[global_allocator]` (it forwards to the system allocator and notes each thread's
//! largest allocation) serves the whole binary: a crate has one global allocator.

mod common;

mod chunk_groups;
mod chunked;
mod e2e;
mod gemma_e2e;
mod llama3_rope_e2e;
mod llama_e2e;
mod qwen2_e2e;
mod release_codewords;
mod review11;
mod review12;
mod review13;
mod review14;
mod review15;
mod review16;
mod review17;
mod review18;
mod review7_zk_key_leaks;
mod review8;
mod review9_zk;
mod review_attacks;
mod review_chunked;
mod review_decode;
mod review_llama;
mod setup_proof;
mod spm_e2e;
mod weight_blocks;
mod zk_e2e;
mod zk_graph_proof;
mod zk_setup;
mod zk_setup_proof;
mod zk_weights;
