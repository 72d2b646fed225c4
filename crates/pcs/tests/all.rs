//! The integration tests of `zkinfer-pcs`, built as ONE test binary: each file of `tests/` is a module
//! here (before, every file was its own binary, recompiling the generic code it instantiates and
//! linking a full executable). Add a new file's `mod` line below (`Cargo.toml` has
//! `autotests = false`): `every_test_file_is_declared` fails for a file that would not run.
//! Run one former file with `cargo test --release -p zkinfer-pcs --test all -- FILE::`.

mod groups;
mod ood;
mod pcs;
mod review7_mask_prefix;
mod review9_capped_groups;
mod sparse;
mod zk_product;
mod zk_views;

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
