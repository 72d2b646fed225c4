//! The integration tests of `zkinfer-verifier`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` in `crates/cli/tests/all.rs` fails for a
//! file of any crate that would not run.
//! Run one former file with `cargo test --release -p zkinfer-verifier --test all -- FILE::`.

mod dependencies;
mod verify_only;
