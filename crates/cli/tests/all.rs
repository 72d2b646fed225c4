//! The integration tests of `zkinfer-cli`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` in `crates/cli/tests/all.rs` fails for a
//! file of any crate that would not run.
//! Run one former file with `cargo test --release -p zkinfer-cli --test all -- FILE::`.

mod common;

mod chunked;
mod conventions;
mod generate;
mod inspect;
mod prove;
mod serve;
mod tokenize;
mod vk_check;
mod zk_setup;

/// Every `tests/*.rs` file and every directory of `tests/`, in every crate of the workspace, is a
/// module declared in that crate's `tests/all.rs` (each crate has `autotests = false`, so an
/// undeclared file would never be compiled or run). One guard for the whole workspace.
#[test]
fn every_test_file_is_declared() {
    let crates = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut missing = Vec::new();
    let mut checked = 0;
    for krate in std::fs::read_dir(crates).expect("read crates/") {
        let tests = krate.expect("read crates/").path().join("tests");
        if !tests.is_dir() {
            continue;
        }
        let all = std::fs::read_to_string(tests.join("all.rs")).unwrap_or_default();
        let declared: Vec<&str> = all.lines().filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';')).collect();
        for entry in std::fs::read_dir(&tests).expect("read tests/") {
            let path = entry.expect("read tests/").path();
            let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 name").to_string();
            let module = match name.strip_suffix(".rs") {
                Some(stem) => stem,
                None if path.is_dir() => name.as_str(),
                None => continue,
            };
            checked += 1;
            if module != "all" && !declared.contains(&module) {
                missing.push(tests.join(&name).display().to_string());
            }
        }
    }
    assert!(checked > 60, "only {checked} test files found: is the workspace layout as expected?");
    assert!(missing.is_empty(), "tests/ entries not declared in their crate's tests/all.rs, so never compiled or run: {missing:?}");
}
