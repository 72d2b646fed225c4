//! `zkinfer inspect` run as a binary on the tiny GPT-2 GGUFs and on broken files.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("zkinfer runs")
}

fn layout(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(testdata(name)).expect("layout"))
        .expect("layout json")
}

/// Tensor count, per-type counts and parameter count computed from the layout description.
fn expected_counts(layout: &Value) -> (usize, serde_json::Map<String, Value>, u64) {
    let tensors = layout["tensors"].as_array().expect("tensors");
    let mut per_type = serde_json::Map::new();
    let mut parameters = 0;
    for t in tensors {
        let ty = t["type"].as_str().expect("type").to_owned();
        let n = per_type.get(&ty).and_then(Value::as_u64).unwrap_or(0);
        per_type.insert(ty, Value::from(n + 1));
        parameters += t["ggml_ne"]
            .as_array()
            .expect("ne")
            .iter()
            .map(|d| d.as_u64().expect("dim"))
            .product::<u64>();
    }
    (tensors.len(), per_type, parameters)
}

#[test]
fn json_output_matches_the_layout() {
    for (model, layout_name) in [
        ("gpt2-tiny-random.gguf", "gpt2-tiny-random.layout.json"),
        (
            "gpt2-tiny-random-q8_0.gguf",
            "gpt2-tiny-random-q8_0.layout.json",
        ),
    ] {
        let path = testdata(model);
        let out = zkinfer(&["inspect", path.to_str().expect("utf-8 path"), "--json"]);
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
        let layout = layout(layout_name);
        let (n_tensors, per_type, parameters) = expected_counts(&layout);

        assert_eq!(report["sha256"], layout["sha256"]);
        assert_eq!(report["bytes"], layout["bytes"]);
        assert_eq!(report["architecture"], "gpt2");
        assert_eq!(report["tensor_count"].as_u64(), Some(n_tensors as u64));
        assert_eq!(report["tensor_types"], Value::Object(per_type));
        assert_eq!(report["parameter_count"].as_u64(), Some(parameters));
        let hp = &report["hyperparameters"];
        for key in [
            "gpt2.block_count",
            "gpt2.embedding_length",
            "gpt2.attention.head_count",
            "gpt2.context_length",
            "gpt2.feed_forward_length",
        ] {
            assert_eq!(hp[key], layout["kv"][key]["value"], "{key}");
        }
        assert_eq!(report["tokenizer"]["vocab_size"].as_u64(), Some(50257));
        assert_eq!(report["tokenizer"]["merges"].as_u64(), Some(50000));
    }
}

#[test]
fn text_output_names_the_essentials() {
    let path = testdata("gpt2-tiny-random-q8_0.gguf");
    let out = zkinfer(&["inspect", path.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let layout = layout("gpt2-tiny-random-q8_0.layout.json");
    assert!(
        text.contains(layout["sha256"].as_str().expect("sha")),
        "{text}"
    );
    assert!(text.contains("architecture:     gpt2"), "{text}");
    assert!(text.contains("gpt2.block_count"), "{text}");
    assert!(text.contains("Q8_0: 9"), "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "default output is not JSON"
    );
}

fn assert_fails_with(path: &std::path::Path, needle: &str) {
    let out = zkinfer(&["inspect", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "exit status for {}",
        path.display()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(needle),
        "stderr {stderr:?} should mention {needle:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing printed on stdout for a bad file"
    );
}

#[test]
fn bad_files_exit_3_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");

    let not_gguf = dir.path().join("not.gguf");
    std::fs::write(&not_gguf, b"PK\x03\x04 this is a zip file").expect("write");
    assert_fails_with(&not_gguf, "magic");

    let bytes = std::fs::read(testdata("gpt2-tiny-random-q8_0.gguf")).expect("read");
    let truncated = dir.path().join("truncated.gguf");
    std::fs::write(&truncated, &bytes[..100_000]).expect("write");
    assert_fails_with(&truncated, "truncated");

    let data_cut = dir.path().join("data_cut.gguf");
    std::fs::write(&data_cut, &bytes[..bytes.len() - 1000]).expect("write");
    assert_fails_with(&data_cut, "outside the data section");

    let mut wrong_version = bytes[..4096].to_vec();
    wrong_version[4..8].copy_from_slice(&7u32.to_le_bytes());
    let versioned = dir.path().join("v7.gguf");
    std::fs::write(&versioned, &wrong_version).expect("write");
    assert_fails_with(&versioned, "version 7");

    assert_fails_with(&dir.path().join("missing.gguf"), "missing.gguf");
}
