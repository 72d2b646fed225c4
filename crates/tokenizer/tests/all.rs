//! The integration tests of `zkinfer-tokenizer`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` in `crates/cli/tests/all.rs` fails for a
//! file of any crate that would not run.
//! Run one former file with `cargo test --release -p zkinfer-tokenizer --test all -- FILE::`.

mod common;

mod chat_references;
mod gguf_loading;
mod llama_cpp_vectors;
mod llama_family;
mod long_inputs;
mod model_references;
mod spm;
mod streaming;
mod tiktoken_agreement;
