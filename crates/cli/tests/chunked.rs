//! `zkinfer prove --chunk C` / `verify` on proof streams (issue 12), on the tiny GPT-2 and the
//! tiny Llama: a multi-chunk stream verifies with the same statement as the one-pass proof, a
//! transcript that fits one chunk gets the ordinary one-pass format, and a flipped byte in a
//! record or a truncated stream is rejected with a non-zero exit and a message naming the record.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use common::{model, s, zkinfer};
use std::path::Path;
use std::process::Output;

fn json(out: &Output, what: &str) -> serde_json::Value {
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Byte ranges of a stream's records: (name, start, end), header first.
fn records(bytes: &[u8]) -> Vec<(String, usize, usize)> {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
    let header = 8 + 4 + 32 + 4 + 4 + 4 + 4 * u32_at(8 + 4 + 32 + 4 + 4);
    let mut out = vec![("header".to_owned(), 0, header)];
    let mut at = header;
    while at < bytes.len() {
        let (name, body) = match bytes[at] {
            1 => (format!("chunk {}", u32_at(at + 1)), at + 5),
            _ => ("close".to_owned(), at + 1),
        };
        let len = u64::from_le_bytes(bytes[body..body + 8].try_into().unwrap()) as usize;
        out.push((name, at, body + 8 + len));
        at = body + 8 + len;
    }
    out
}

/// Verifies a damaged stream: non-zero exit, a JSON failure, a message naming `record`, no panic.
fn rejected(keys: &Path, file: &Path, record: &str) {
    let out = zkinfer(&["verify", "--vk", s(keys), s(file), "--json"]);
    assert!(!out.status.success(), "a damaged stream verified ({record})");
    assert!(matches!(out.status.code(), Some(1 | 3)), "exit {:?}", out.status.code());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(record), "the message does not name {record}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The exit code of verifying `file`.
fn exit_code(keys: &Path, file: &Path) -> Option<i32> {
    zkinfer(&["verify", "--vk", s(keys), s(file), "--json"]).status.code()
}

#[test]
fn gpt2_chunked_prove_verify_and_damaged_streams() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let tiny = model("gpt2-tiny-random.gguf");
    json(&zkinfer(&["setup", "-m", &tiny, "-o", s(&keys), "--json"]), "setup");

    // 2 prompt tokens + 8 new = 9 positions in chunks of 4: 3 chunk records (the last one's
    // attention spans 9 positions, committed as blocks 8 + 1).
    let stream = dir.path().join("stream.zkproof");
    let proved = json(
        &zkinfer(&["prove", "-m", &tiny, "--keys", s(&keys), "-p", "Hello world", "-n", "8", "--chunk", "4", "-o", s(&stream), "--json"]),
        "prove --chunk 4",
    );
    assert_eq!(proved["chunks"], 3);
    let bytes = std::fs::read(&stream).unwrap();
    assert_eq!(&bytes[..8], b"ZKINFSTR");
    assert_eq!(proved["proof_bytes"], bytes.len());
    let names: Vec<String> = records(&bytes).into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["header", "chunk 0", "chunk 1", "chunk 2", "close"]);
    // No temporary file is left beside the proof.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "{left:?}");

    let v = json(&zkinfer(&["verify", "--vk", s(&keys), s(&stream), "--json"]), "verify the stream");
    assert_eq!(v["valid"], true);
    assert_eq!(v["chunks"], 3);
    assert_eq!(v["positions"], 9);
    assert_eq!(v["completion_ids"], proved["completion_ids"]);

    // The same request with a chunk that holds it: the ordinary one-pass proof, same statement,
    // and its verify --json has the same fields (the stream's has `chunks` and `positions` more).
    let single = dir.path().join("single.zkproof");
    let one = json(
        &zkinfer(&["prove", "-m", &tiny, "--keys", s(&keys), "-p", "Hello world", "-n", "8", "--chunk", "16", "-o", s(&single), "--json"]),
        "prove --chunk 16",
    );
    assert!(one.get("chunks").is_none());
    assert_eq!(&std::fs::read(&single).unwrap()[..8], b"ZKINFPRF");
    let w = json(&zkinfer(&["verify", "--vk", s(&keys), s(&single), "--json"]), "verify the one-pass proof");
    assert_eq!(w["completion_ids"], v["completion_ids"]);
    assert_eq!(w["text"], v["text"]);
    for key in w.as_object().unwrap().keys() {
        assert!(v.get(key).is_some(), "the stream's verify --json lacks {key}");
    }

    // A flipped byte in the middle of every record: rejected, naming the record.
    let bad = dir.path().join("bad.zkproof");
    for (name, start, end) in records(&bytes) {
        let mut b = bytes.clone();
        b[(start + end) / 2] ^= 0x04;
        std::fs::write(&bad, &b).unwrap();
        let expect = if name == "header" { "" } else { name.as_str() };
        rejected(&keys, &bad, expect);
    }
    // Truncated inside chunk 2, and with the closing record missing.
    let recs = records(&bytes);
    let (_, c2, c2_end) = recs[3].clone();
    std::fs::write(&bad, &bytes[..(c2 + c2_end) / 2]).unwrap();
    rejected(&keys, &bad, "truncated");
    assert_eq!(exit_code(&keys, &bad), Some(3), "a truncated chunk record is a malformed file");
    std::fs::write(&bad, &bytes[..c2_end]).unwrap();
    rejected(&keys, &bad, "closing record");
    assert_eq!(exit_code(&keys, &bad), Some(3), "a stream without its close is a malformed file");
    std::fs::write(&bad, &bytes[..20]).unwrap();
    assert_eq!(exit_code(&keys, &bad), Some(3), "a truncated header is a malformed file");
    std::fs::write(&bad, [&bytes[..], &[0u8]].concat()).unwrap();
    assert_eq!(exit_code(&keys, &bad), Some(3), "bytes after the close make a malformed file");
    // Chunks 1 and 2 swapped.
    let (_, c1, _) = recs[2].clone();
    let mut swapped = bytes[..c1].to_vec();
    swapped.extend_from_slice(&bytes[c2..c2_end]);
    swapped.extend_from_slice(&bytes[c1..c2]);
    swapped.extend_from_slice(&bytes[c2_end..]);
    std::fs::write(&bad, &swapped).unwrap();
    rejected(&keys, &bad, "chunk 1");

    // A bad chunk size is a usage error before any work.
    let out = zkinfer(&["prove", "-m", &tiny, "-p", "Hi", "-n", "2", "--chunk", "3", "-o", s(&dir.path().join("x"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("power of two"));
}

#[test]
fn llama_chunked_prove_verify_matches_generate() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let tiny = model("llama/llama-tiny-random.gguf");
    json(&zkinfer(&["setup", "-m", &tiny, "-o", s(&keys), "--json"]), "setup");
    let stream = dir.path().join("stream.zkproof");
    let prompt = "The capital of France is";
    let proved = json(
        &zkinfer(&["prove", "-m", &tiny, "--keys", s(&keys), "-p", prompt, "-n", "6", "--chunk", "4", "-o", s(&stream), "--json"]),
        "prove --chunk 4",
    );
    assert!(proved["chunks"].as_u64().unwrap() >= 2, "{proved}");
    assert_eq!(&std::fs::read(&stream).unwrap()[..8], b"ZKINFSTR");
    let v = json(&zkinfer(&["verify", "--vk", s(&keys), s(&stream), "--json"]), "verify");
    assert_eq!(v["valid"], true);
    assert_eq!(v["architecture"], "llama");
    let generated = json(&zkinfer(&["generate", "-m", &tiny, "-p", prompt, "-n", "6", "--json"]), "generate");
    assert_eq!(v["prompt_ids"], generated["prompt_ids"]);
    assert_eq!(v["completion_ids"], generated["completion_ids"]);
    assert_eq!(v["text"], proved["text"]);
}
