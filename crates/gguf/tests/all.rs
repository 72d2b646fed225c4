//! The integration tests of `zkinfer-gguf`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` in `crates/cli/tests/all.rs` fails for a
//! file of any crate that would not run.
//! Run one former file with `cargo test --release -p zkinfer-gguf --test all -- FILE::`.
//! `mutation_fuzz.rs`'s `#[global_allocator]` (it forwards to the system allocator and notes each thread's
//! largest allocation) serves the whole binary: a crate has one global allocator.

mod common;

mod fixtures;
mod hostile;
mod layout;
mod mutation_fuzz;
