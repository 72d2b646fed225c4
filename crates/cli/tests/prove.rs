//! `zkinfer setup` / `prove` / `verify` as a user runs them, on the tiny GPT-2 in testdata.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("run zkinfer")
}

fn model(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name).display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn setup_prove_verify_and_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let proof = dir.path().join("out.zkproof");
    let tiny = model("gpt2-tiny-random.gguf");

    let out = zkinfer(&["setup", "--model", &tiny, "--out", s(&keys), "--json"]);
    assert!(out.status.success(), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let setup: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let commitment = setup["model_commitment"].as_str().unwrap().to_owned();
    assert_eq!(commitment.len(), 64);
    // Deterministic: setting up again gives the same commitment.
    let again = zkinfer(&["setup", "--model", &tiny, "--out", s(&dir.path().join("k2")), "--json"]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["model_commitment"].as_str().unwrap(), commitment);
    assert!(std::fs::metadata(keys.join("vk.bin")).unwrap().len() < 1 << 20);

    let out = zkinfer(&["prove", "--model", &tiny, "--keys", s(&keys), "--prompt", "Hello world", "-n", "2", "--out", s(&proof), "--json"]);
    assert!(out.status.success(), "prove failed: {}", String::from_utf8_lossy(&out.stderr));
    let proved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let out = zkinfer(&["verify", "--vk", s(&keys), s(&proof), "--json"]);
    assert!(out.status.success(), "verify failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["model_commitment"].as_str().unwrap(), commitment);
    assert_eq!(v["completion_ids"], proved["completion_ids"]);
    assert_eq!(v["prompt_ids"], proved["prompt_ids"]);
    assert_eq!(v["text"], proved["text"]);

    // A flipped byte in the proof file: non-zero exit with a reason, never a panic.
    let bytes = std::fs::read(&proof).unwrap();
    for i in [3, 20, 60, bytes.len() / 3, bytes.len() - 2] {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        let bad = dir.path().join("bad.zkproof");
        std::fs::write(&bad, &b).unwrap();
        let out = zkinfer(&["verify", "--vk", s(&keys), s(&bad), "--json"]);
        assert_eq!(out.status.code(), Some(1), "flipped byte {i} accepted");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], false);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    // Truncated.
    let cut = dir.path().join("cut.zkproof");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&keys), s(&cut)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));

    // Another model's key.
    let other = dir.path().join("other");
    assert!(zkinfer(&["setup", "--model", &model("gpt2-tiny-random-q8_0.gguf"), "--out", s(&other)]).status.success());
    let out = zkinfer(&["verify", "--vk", s(&other), s(&proof)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model"));
    // Keys that do not match the model given to prove.
    let out = zkinfer(&["prove", "--model", &tiny, "--keys", s(&other), "--prompt", "Hi", "-n", "1", "--out", s(&dir.path().join("x"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("x").exists(), "no proof may be written on failure");
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a key").unwrap();
    let out = zkinfer(&["verify", "--vk", s(&junk), s(&junk)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid verifying key"));
    let out = zkinfer(&["setup", "--model", s(&junk), "--out", s(&dir.path().join("k"))]);
    assert_eq!(out.status.code(), Some(1));
    let out = zkinfer(&["prove", "--model", &model("gpt2-tiny-random.gguf"), "--prompt", "Hi", "-n", "0", "--out", s(&dir.path().join("p"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
