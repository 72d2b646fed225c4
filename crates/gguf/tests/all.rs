//! The integration tests of `zkinfer-gguf`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` fails for a file that would not run.
//! Run one former file with `cargo test --release -p zkinfer-gguf --test all -- FILE::`.
//! `mutation_fuzz.rs`'s `#[global_allocator]` (it forwards to the system allocator and notes each thread's
//! largest allocation) serves the whole binary: a crate has one global allocator.

mod common;

mod fixtures;
mod hostile;
mod layout;
mod mutation_fuzz;

/// Every `tests/*.rs` file and every directory of `tests/` is a module declared in this file.
#[test]
fn every_test_file_is_declared() {
    let declared: Vec<&str> = include_str!("all.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")).expect("read tests/") {
        let path = entry.expect("read tests/").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 name").to_string();
        let module = match name.strip_suffix(".rs") {
            Some(stem) => stem,
            None if path.is_dir() => name.as_str(),
            None => continue,
        };
        if module != "all" && !declared.contains(&module) {
            missing.push(name.clone());
        }
    }
    assert!(missing.is_empty(), "tests/ entries not declared in tests/all.rs, so never compiled or run: {missing:?}");
}
