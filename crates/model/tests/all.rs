//! The integration tests of `zkinfer-model`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` in `crates/cli/tests/all.rs` fails for a
//! file of any crate that would not run.
//! Run one former file with `cargo test --release -p zkinfer-model --test all -- FILE::`.

mod common;

mod gemma;
mod graph;
mod llama;
mod llama3_rope;
mod pinned;
mod qwen2;
mod template;
mod tiny;
