//! The verifier's normal dependency tree holds no thread pool, memory mapping, GGUF reader,
//! tokenizer or model code (issue 10's bar), as `cargo tree` resolves it for this crate alone.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::process::Command;

#[test]
fn normal_tree_has_no_prover_or_model_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "zkinfer-verifier", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"zkinfer-ops") && names.contains(&"p3-whir"), "unexpected tree:\n{tree}");
    for banned in ["rayon", "rayon-core", "memmap2", "zkinfer-gguf", "zkinfer-tokenizer", "zkinfer-model", "zkinfer-proof"] {
        assert!(!names.contains(&banned), "{banned} is in the verifier's normal tree:\n{tree}");
    }
}
