//! `zkinfer vk-check` (key recomputed from the GGUF, or its setup proof alone) and the setup proof
//! that `setup` writes and `verify` checks, on the tiny GPT-2 in testdata; on a zero-knowledge key,
//! `--proof-only` checks the hiding setup proof inside its vk.bin and `--model` is refused.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use common::{model, s, zkinfer};
use std::process::Output;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn no_panic(out: &Output) {
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn vk_check_recomputes_the_key_and_rejects_others() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = model("gpt2-tiny-random.gguf");
    let keys = dir.path().join("keys");
    let out = zkinfer(&["setup", "--model", &tiny, "--out", s(&keys), "--json"]);
    assert!(out.status.success(), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let commitment = json(&out)["model_commitment"].as_str().unwrap().to_owned();
    assert!(keys.join("setup-proof.bin").exists());

    // The honest key, as a directory and as a file.
    for vk in [keys.clone(), keys.join("vk.bin")] {
        let out = zkinfer(&["vk-check", "--model", &tiny, "--vk", s(&vk), "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v = json(&out);
        assert_eq!(v["match"], true);
        assert_eq!(v["model_commitment"], commitment.as_str());
    }
    let out = zkinfer(&["vk-check", "--model", &tiny, "--vk", s(&keys)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("commits to"));

    // Another model's GGUF: a well-formed key that does not match (exit 1).
    let out = zkinfer(&["vk-check", "--model", &model("gpt2-tiny-random-q8_0.gguf"), "--vk", s(&keys), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["match"], false);
    assert_eq!(v["vk_model_commitment"], commitment.as_str());
    assert_ne!(v["model_commitment"], commitment.as_str());

    // A key changed in a field that still decodes (the recorded GGUF hash): mismatch, exit 1.
    let mut bytes = std::fs::read(keys.join("vk.bin")).unwrap();
    bytes[20] ^= 1;
    let edited = dir.path().join("edited.bin");
    std::fs::write(&edited, &bytes).unwrap();
    let out = zkinfer(&["vk-check", "--model", &tiny, "--vk", s(&edited)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT the key"));

    // Unreadable or malformed inputs: exit 3, never a panic.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a key").unwrap();
    for args in [
        vec!["vk-check", "--model", &tiny, "--vk", s(&junk), "--json"],
        vec!["vk-check", "--model", &tiny, "--vk", s(&dir.path().join("missing"))],
        vec!["vk-check", "--model", s(&junk), "--vk", s(&keys)],
    ] {
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        no_panic(&out);
    }
    // Usage error: no model and no --proof-only.
    let out = zkinfer(&["vk-check", "--vk", s(&keys)]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn setup_proof_is_checked_by_verify_and_vk_check() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = model("gpt2-tiny-random.gguf");
    let keys = dir.path().join("keys");
    assert!(zkinfer(&["setup", "--model", &tiny, "--out", s(&keys)]).status.success());
    let other = dir.path().join("other");
    assert!(zkinfer(&["setup", "--model", &model("gpt2-tiny-random-q8_0.gguf"), "--out", s(&other)]).status.success());
    let proof = dir.path().join("p.zkproof");
    let out = zkinfer(&["prove", "--model", &tiny, "--keys", s(&keys), "--prompt", "Hello", "-n", "1", "--out", s(&proof)]);
    assert!(out.status.success(), "prove failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(zkinfer(&["verify", "--vk", s(&keys), s(&proof)]).status.success());

    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&keys), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["setup_proof_valid"], true);

    let sp = keys.join("setup-proof.bin");
    let good = std::fs::read(&sp).unwrap();
    // A flipped byte in the transcript, then the other model's setup proof: verify and
    // vk-check --proof-only reject (exit 1).
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 100] ^= 0x40;
    for bad in [flipped, std::fs::read(other.join("setup-proof.bin")).unwrap()] {
        std::fs::write(&sp, &bad).unwrap();
        let out = zkinfer(&["verify", "--vk", s(&keys), s(&proof)]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("setup proof"), "{}", String::from_utf8_lossy(&out.stderr));
        let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&keys), "--json"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(json(&out)["setup_proof_valid"], false);
        no_panic(&out);
    }
    // Truncated (malformed: exit 3 for vk-check) and missing (verify refuses).
    std::fs::write(&sp, &good[..good.len() / 2]).unwrap();
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&keys)]);
    assert_eq!(out.status.code(), Some(3));
    std::fs::remove_file(&sp).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&keys), s(&proof)]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("setup proof"));
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&keys)]);
    assert_eq!(out.status.code(), Some(3));
    no_panic(&out);
}

#[test]
fn vk_check_proof_only_verifies_a_zk_keys_hiding_setup_proof() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = model("gpt2-tiny-random.gguf");
    let zk = dir.path().join("zk");
    let out = zkinfer(&["setup", "--zk", "--zk-budget", "1", "-m", &tiny, "-o", s(&zk), "-q"]);
    assert!(out.status.success(), "setup --zk failed: {}", String::from_utf8_lossy(&out.stderr));
    let vk_path = zk.join("vk.bin");
    let good = std::fs::read(&vk_path).unwrap();

    // Valid: exit 0, no model needed; human and JSON outputs.
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&zk)]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("padding") && text.contains("declared bounds"), "{text}");
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&vk_path), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["setup_proof_valid"], true);
    assert_eq!(v["zk"], true);
    assert_eq!(v["model_commitment"].as_str().unwrap(), hex::encode(blake3::hash(&good).as_bytes()));

    // With the GGUF: a hiding key cannot be recomputed — a clear refusal pointing to --proof-only.
    let out = zkinfer(&["vk-check", "--model", &tiny, "--vk", s(&zk)]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be recomputed") && err.contains("--proof-only"), "{err}");
    no_panic(&out);

    // A flipped byte of the setup proof (the key's last field): invalid, exit 1 (control above: the
    // untouched key is valid).
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 200] ^= 0x10;
    std::fs::write(&vk_path, &flipped).unwrap();
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&zk), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["setup_proof_valid"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("setup proof"));
    no_panic(&out);
    // Truncated, or a version-5 key: malformed, exit 3, the versions named.
    std::fs::write(&vk_path, &good[..good.len() - 7]).unwrap();
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&zk)]);
    assert_eq!(out.status.code(), Some(3));
    no_panic(&out);
    let mut v5 = good.clone();
    v5[8..12].copy_from_slice(&5u32.to_le_bytes());
    std::fs::write(&vk_path, &v5).unwrap();
    let out = zkinfer(&["vk-check", "--proof-only", "--vk", s(&zk)]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains('5') && err.contains('6'), "{err}");
    no_panic(&out);
}
