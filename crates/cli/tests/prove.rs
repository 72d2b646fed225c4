//! `zkinfer setup` / `prove` / `verify` as a user runs them, on the tiny GPT-2 in testdata.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use common::{model, s, zkinfer};

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
    assert_eq!(v["ok"], true);
    assert!(v["verify_s"].as_f64().unwrap() > 0.0, "verify --json reports the verification time");
    assert_eq!(v["model_commitment"].as_str().unwrap(), commitment);
    assert_eq!(v["completion_ids"], proved["completion_ids"]);
    assert_eq!(v["prompt_ids"], proved["prompt_ids"]);
    assert_eq!(v["text"], proved["text"]);

    // A flipped byte in the proof file (64: the first completion id of this 2-token prompt): exit
    // 1 (rejected) if the file still decodes, 3 (format)
    // if it does not; a reason in words, never a panic nor Rust debug output.
    let bytes = std::fs::read(&proof).unwrap();
    for (i, code) in [(3, 3), (20, 1), (64, 1), (bytes.len() / 3, 1), (bytes.len() - 2, 1)] {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        let bad = dir.path().join("bad.zkproof");
        std::fs::write(&bad, &b).unwrap();
        let out = zkinfer(&["verify", "--vk", s(&keys), s(&bad), "--json"]);
        assert_eq!(out.status.code(), Some(code), "flipped byte {i}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["kind"], if code == 1 { "rejected" } else { "format" });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains(" { ") && !stderr.contains(": 0,"), "Rust debug output: {stderr}");
    }
    // Truncated: a format error.
    let cut = dir.path().join("cut.zkproof");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&keys), s(&cut)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));

    // Another model's key: rejected.
    let other = dir.path().join("other");
    assert!(zkinfer(&["setup", "--model", &model("gpt2-tiny-random-q8_0.gguf"), "--out", s(&other)]).status.success());
    let out = zkinfer(&["verify", "--vk", s(&other), s(&proof)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model"));
    // Keys that do not match the model given to prove: a usage error, found before proving.
    let out = zkinfer(&["prove", "--model", &tiny, "--keys", s(&other), "--prompt", "Hi", "-n", "1", "--out", s(&dir.path().join("x"))]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the keys are for model") && !err.contains("committing"), "{err}");
    assert!(!dir.path().join("x").exists(), "no proof may be written on failure");
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a key").unwrap();
    let out = zkinfer(&["verify", "--vk", s(&junk), s(&junk)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid verifying key"));
    let out = zkinfer(&["setup", "--model", s(&junk), "--out", s(&dir.path().join("k"))]);
    assert_eq!(out.status.code(), Some(3));
    let out = zkinfer(&["prove", "--model", &model("gpt2-tiny-random.gguf"), "--prompt", "Hi", "-n", "0", "--out", s(&dir.path().join("p"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// A Llama-architecture model end to end through the CLI (the tiny F16 fixture; its tokenizer
/// has a chat template): `setup`, `prove --chat`, `verify --json` returns the architecture and
/// exactly the text `generate --chat --json` printed.
#[test]
fn llama_setup_prove_chat_verify_matches_generate() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let proof = dir.path().join("out.zkproof");
    let tiny = model("llama/llama-tiny-random.gguf");
    let out = zkinfer(&["setup", "-m", &tiny, "-o", s(&keys), "--json"]);
    assert!(out.status.success(), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let setup: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(setup["architecture"], "llama");
    let prompt = "What is the capital of France?";
    let out = zkinfer(&["prove", "-m", &tiny, "--keys", s(&keys), "--chat", "-p", prompt, "-n", "3", "-o", s(&proof), "--json"]);
    assert!(out.status.success(), "prove failed: {}", String::from_utf8_lossy(&out.stderr));
    let proved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&keys), s(&proof), "--json"]);
    assert!(out.status.success(), "verify failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["architecture"], "llama");
    assert_eq!(v["max_new_tokens"], 3);
    let out = zkinfer(&["generate", "-m", &tiny, "--chat", "-p", prompt, "-n", "3", "--json"]);
    assert!(out.status.success());
    let generated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["prompt_ids"], generated["prompt_ids"], "prove --chat renders the prompt as generate --chat");
    assert_eq!(v["completion_ids"], generated["completion_ids"]);
    assert_eq!(v["text"], generated["text"]);
    assert_eq!(v["text"], proved["text"]);
    // The chat prompt holds the template's special tokens (parsed, not spelled out).
    let ids: Vec<u64> = v["prompt_ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    assert!(ids.len() > 8);
}
