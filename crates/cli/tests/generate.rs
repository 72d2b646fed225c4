//! `zkinfer generate` and `zkinfer logits` on the tiny GPT-2 fixture.

use std::path::PathBuf;
use std::process::{Command, Output};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("binary runs")
}

fn model() -> String {
    testdata("gpt2-tiny-random.gguf").to_string_lossy().into_owned()
}

const PROMPT: &str = "The quick brown fox jumps over the lazy dog. Once upon a time,";

/// Prompt ids, greedy ids and per-position (input, argmax, top-5) of a reference file.
fn reference() -> (Vec<u64>, Vec<u64>, Vec<(u64, u64, Vec<(u64, f64)>)>) {
    let text = std::fs::read_to_string(testdata("gpt2-tiny-random.ref.transformers.json")).expect("reference");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let ids = |x: &serde_json::Value| x.as_array().expect("array").iter().map(|i| i.as_u64().expect("id")).collect();
    let pos = v["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .map(|p| {
            let top = p["top"].as_array().expect("top").iter().map(|e| (e[0].as_u64().expect("id"), e[1].as_f64().expect("v"))).collect();
            (p["input_id"].as_u64().expect("in"), p["argmax"].as_u64().expect("argmax"), top)
        })
        .collect();
    (ids(&v["prompt"]["ids"]), ids(&v["greedy"]["ids"]), pos)
}

fn json_ids(v: &serde_json::Value) -> Vec<u64> {
    v.as_array().expect("array").iter().map(|i| i.as_u64().expect("id")).collect()
}

#[test]
fn generate_json_matches_the_reference_greedy_continuation() {
    let (prompt_ids, greedy, _) = reference();
    for float in [true, false] {
        let m = model();
        let mut args = vec!["generate", "--model", &m, "--prompt", PROMPT, "-n", "16", "--json"];
        if float {
            args.push("--float");
        }
        let out = zkinfer(&args);
        assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(json_ids(&v["prompt_ids"]), prompt_ids);
        // The integer model agrees with the float reference on this continuation.
        assert_eq!(json_ids(&v["completion_ids"]), greedy, "float = {float}");
        assert_eq!(v["text"].as_str().expect("text"), " Harvest".repeat(16));
        assert!(String::from_utf8_lossy(&out.stderr).contains("tokens/s"));
    }
}

#[test]
fn generate_streams_text() {
    let m = model();
    let out = zkinfer(&["generate", "--model", &m, "--prompt", PROMPT, "-n", "3"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), " Harvest Harvest Harvest");
}

fn read_f32(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("output file");
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn logits_float_and_integer_match_the_reference() {
    let (_, _, positions) = reference();
    let ids: Vec<String> = positions.iter().map(|p| p.0.to_string()).collect();
    let ids = ids.join(",");
    let dir = tempfile::tempdir().expect("tempdir");
    let m = model();
    for (float, tol) in [(true, 1e-3), (false, 2e-2)] {
        let out_path = dir.path().join(if float { "f.bin" } else { "i.bin" });
        let out_s = out_path.to_string_lossy().into_owned();
        let mut args = vec!["logits", "--model", &m, "--ids", &ids, "--out", &out_s];
        if float {
            args.push("--float");
        }
        let out = zkinfer(&args);
        assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        let values = read_f32(&out_path);
        let vocab = 50257;
        assert_eq!(values.len(), positions.len() * vocab);
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (i, (_, argmax, top)) in positions.iter().enumerate() {
            for &(id, want) in top {
                let got = values[i * vocab + id as usize] as f64;
                assert!((got - want).abs() <= tol, "float={float} pos {i} id {id}: {got} vs {want}");
            }
            assert!(stdout.contains(&format!("position {i}: input {} -> argmax {argmax} ", positions[i].0)), "{stdout}");
        }
    }
}

#[test]
fn errors_exit_with_their_code_and_a_message_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("never.bin");
    let out_s = out_path.to_string_lossy().into_owned();
    let m = model();
    let too_many = vec!["1"; 129].join(",");
    // (arguments, exit code, message): 2 usage, 3 input/output or format, 4 request.
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["logits", "--model", &m, "--ids", "1,x,3", "--out", &out_s], 2, "invalid token id `x`"),
        (vec!["logits", "--model", &m, "--ids", "1,50257", "--out", &out_s], 4, "outside the vocabulary"),
        (vec!["logits", "--model", &m, "--ids", &too_many, "--out", &out_s], 4, "context length"),
        (vec!["logits", "--model", "/nonexistent/model.gguf", "--ids", "1", "--out", &out_s], 3, "cannot read model /nonexistent/model.gguf: no such file"),
        (vec!["generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi", "-n", "2"], 3, "no such file"),
        (vec!["generate", "--model", &m, "--prompt", "hi", "-n", "500"], 4, "context length"),
        (vec!["generate", "--model", &m, "--prompt", "hi", "-n", "18446744073709551615"], 4, "context length"),
        (vec!["generate", "--model", &m, "--prompt", "", "-n", "2"], 2, "no tokens"),
    ];
    for (args, code, msg) in cases {
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!out_path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "no temporary file left behind");
}

/// A minimal valid GGUF v3 file: no tensors, only `general.architecture = arch`.
fn gguf_with_arch(arch: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // tensors
    b.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    let key = b"general.architecture";
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&8u32.to_le_bytes()); // string
    b.extend_from_slice(&(arch.len() as u64).to_le_bytes());
    b.extend_from_slice(arch.as_bytes());
    while b.len() % 32 != 0 {
        b.push(0);
    }
    b
}

#[test]
fn other_architectures_are_rejected_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mamba.gguf");
    std::fs::write(&path, gguf_with_arch("mamba")).expect("write");
    let p = path.to_string_lossy().into_owned();
    let out_s = dir.path().join("o.bin").to_string_lossy().into_owned();
    for args in [vec!["logits", "--model", &p, "--ids", "1", "--out", &out_s], vec!["generate", "--model", &p, "--prompt", "hi", "-n", "1"]] {
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(3), "a model file this build cannot read is a format error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unsupported architecture \"mamba\" (supported: gpt2, llama, qwen2, gemma, gemma2, gemma3)"), "{err}");
    }
}

fn llama_fixture(name: &str) -> String {
    testdata(&format!("llama/{name}")).to_string_lossy().into_owned()
}

/// The tiny Llama: `generate --float` equals transformers' greedy tokens, the integer path
/// agrees, `--chat` renders the ChatML template (system message, `<|im_start|>` special ids),
/// and `logits` runs both paths.
#[test]
fn llama_generate_chat_and_logits() {
    let m = llama_fixture("llama-tiny-random.gguf");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(llama_fixture("llama-tiny-random.ref.json")).expect("ref")).expect("json");
    let prompt = r["prompt"].as_str().expect("prompt");
    let want = json_ids(&r["greedy_transformers_f32"]);
    for float in [true, false] {
        let mut args = vec!["generate", "--model", &m, "--prompt", prompt, "-n", "16", "--json"];
        if float {
            args.push("--float");
        }
        let out = zkinfer(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(json_ids(&v["prompt_ids"]), json_ids(&r["prompt_ids"]));
        assert_eq!(json_ids(&v["completion_ids"]), want, "float {float}");
    }
    let out = zkinfer(&["generate", "--model", &m, "--prompt", "Hi", "--chat", "-n", "4", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids = json_ids(&v["prompt_ids"]);
    // <|im_start|>system … <|im_end|> … <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n
    assert_eq!((ids[0], ids.iter().filter(|&&i| i == 1).count(), ids.iter().filter(|&&i| i == 2).count()), (1, 3, 2), "{ids:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let out_s = dir.path().join("l.bin").to_string_lossy().into_owned();
    for float in [true, false] {
        let mut args = vec!["logits", "--model", &m, "--ids", "1,504,303", "--out", &out_s];
        if float {
            args.push("--float");
        }
        let out = zkinfer(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(read_f32(std::path::Path::new(&out_s)).len(), 3 * 49152);
    }
}

/// `-n 0` is refused as a usage error before the model is opened (it was reported only after a
/// full model load, and a bad model file hid it behind a format error).
#[test]
fn zero_tokens_is_refused_before_the_model_loads() {
    let missing = testdata("no-such-model.gguf").to_string_lossy().into_owned();
    let out_path = std::env::temp_dir().join(format!("zkinfer-n0-{}.proof", std::process::id()));
    let out_path = out_path.to_string_lossy().into_owned();
    for args in [
        vec!["generate", "--model", &missing, "-p", "Hi", "-n", "0", "--json"],
        vec!["prove", "--model", &missing, "-p", "Hi", "-n", "0", "-o", &out_path, "--json"],
    ] {
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["error"]["kind"], "usage", "{v}");
        assert!(v["error"]["message"].as_str().expect("message").contains("-n/--n-predict"), "{v}");
    }
    assert!(!std::path::Path::new(&out_path).exists());
}

/// Prompts get BOS when the model asks for it, as llama.cpp's `llama-cli` tokenizes them: the
/// SentencePiece fixture (`add_bos_token` true) starts with `<s>` = 1 with or without `--special`;
/// the Qwen2 fixture (`add_bos_token` false) and GPT-2 add none; `tokenize` stays raw.
#[test]
fn prompts_get_bos_when_the_model_asks() {
    let run = |model: &str, extra: &[&str]| {
        let m = testdata(model).to_string_lossy().into_owned();
        let mut args = vec!["generate", "-m", &m, "-p", "Hello world", "-n", "1", "--json"];
        args.extend_from_slice(extra);
        let out = zkinfer(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        json_ids(&v["prompt_ids"])
    };
    assert_eq!(run("spm/spm-tiny.gguf", &[]), [1, 22557, 1526]);
    assert_eq!(run("spm/spm-tiny.gguf", &["--special"]), [1, 22557, 1526]);
    assert_ne!(run("qwen2/qwen2-tiny.gguf", &[])[0], 296);
    assert_eq!(run("gpt2-tiny-random.gguf", &[]), [15496, 995]);
    let m = testdata("spm/spm-tiny.gguf").to_string_lossy().into_owned();
    let out = zkinfer(&["tokenize", "-m", &m, "-p", "Hello world"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "22557 1526");
}
