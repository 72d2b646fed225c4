//! `zkinfer tokenize` / `zkinfer detokenize` run as a user would: the real binary on the real
//! GPT-2 vocabulary (`testdata/tokenizer/ggml-vocab-gpt-2.gguf`), with ids checked against
//! llama.cpp's expected output for the same text.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn vocab() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tokenizer/ggml-vocab-gpt-2.gguf")
}

fn zkinfer(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zkinfer");
    {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).expect("write stdin");
        }
    }
    child.wait_with_output().expect("run zkinfer")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "zkinfer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn model_arg() -> String {
    vocab().to_str().expect("UTF-8 path").to_owned()
}

#[test]
fn tokenize_text_prints_ids_on_one_line() {
    let model = model_arg();
    // llama.cpp's test vector for " Hello, world!".
    let out = zkinfer(
        &["tokenize", "--model", &model, "--text", " Hello, world!"],
        None,
    );
    assert_eq!(stdout(&out), "18435 11 995 0\n");
    // Text that starts with a hyphen is text, not an option.
    let out = zkinfer(&["tokenize", "--model", &model, "--text", "-1"], None);
    assert_eq!(stdout(&out), "12 16\n");
    let out = zkinfer(&["tokenize", "--model", &model, "--text", ""], None);
    assert_eq!(stdout(&out), "\n");
}

#[test]
fn tokenize_json_prints_one_object() {
    let model = model_arg();
    let out = zkinfer(
        &[
            "tokenize",
            "--model",
            &model,
            "--json",
            "--text",
            "Hello world",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("a JSON object");
    assert_eq!(v["ok"], true);
    assert_eq!(v["ids"], serde_json::json!([15496, 995]));
    assert_eq!(v["count"], 2);
    // The object reads back into detokenize.
    let back = zkinfer(&["detokenize", "--model", &model, stdout(&out).trim()], None);
    assert_eq!(stdout(&back), "Hello world");
}

#[test]
fn tokenize_reads_standard_input_exactly() {
    let model = model_arg();
    // The trailing newline is part of the input: "\n" is id 198; "\n\n" is 628.
    let out = zkinfer(&["tokenize", "--model", &model], Some(b"Hello world\n"));
    assert_eq!(stdout(&out), "15496 995 198\n");
    let out = zkinfer(&["tokenize", "--model", &model], Some(b"\n\n"));
    assert_eq!(stdout(&out), "628\n");
}

#[test]
fn detokenize_inverts_tokenize() {
    let model = model_arg();
    let text = "I've been 'told he's there 🦙\n\tok  ";
    let ids = stdout(&zkinfer(
        &["tokenize", "--model", &model, "--text", text],
        None,
    ));
    let mut args = vec!["detokenize", "--model", &model];
    args.extend(ids.split_whitespace());
    assert_eq!(stdout(&zkinfer(&args, None)), text);
    // The whole line (and the JSON form) also works as a single argument.
    let out = zkinfer(&["detokenize", "--model", &model, ids.trim()], None);
    assert_eq!(stdout(&out), text);
    let out = zkinfer(&["detokenize", "--model", &model, "[15496, 995]"], None);
    assert_eq!(stdout(&out), "Hello world");
}

#[test]
fn detokenize_of_half_a_character_is_lossy() {
    let model = model_arg();
    // "ü" is the bytes C3 BC, one GPT-2 token (9116, as in llama.cpp's vector for "Führer").
    let out = zkinfer(&["detokenize", "--model", &model, "37", "9116"], None);
    assert_eq!(stdout(&out), "Fü");
    // GPT-2's ids 0..=187 are the self-mapped bytes in order ('!'..='~', 0xA1..=0xAC,
    // 0xAE..=0xFF): id 120 is the lone byte 0xBC, a UTF-8 continuation byte.
    let out = zkinfer(&["detokenize", "--model", &model, "37", "120"], None);
    assert_eq!(stdout(&out), "F\u{FFFD}");
}

#[test]
fn errors_exit_with_their_code_and_a_message() {
    let model = model_arg();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["detokenize", "--model", &model, "50257"], 4, "out of range"),
        (&["detokenize", "--model", &model, "12", "abc"], 2, "invalid token id `abc`"),
        (&["detokenize", "--model", &model, "-1"], 2, "invalid token id `-1`"),
        (&["tokenize", "--model", "/nonexistent/model.gguf", "--text", "x"], 3, "/nonexistent/model.gguf: no such file"),
        (&["detokenize", "--model", "/nonexistent/model.gguf", "1"], 3, "/nonexistent/model.gguf"),
    ];
    for (args, code, message) in cases {
        let out = zkinfer(args, None);
        assert_eq!(out.status.code(), Some(*code), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: stderr {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: printed {:?}", out.stdout);
        // With --json: one object on stdout with the same kind of failure.
        let mut json_args = args.to_vec();
        json_args.push("--json");
        let out = zkinfer(&json_args, None);
        assert_eq!(out.status.code(), Some(*code), "{json_args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["ok"], false);
        assert!(v["error"]["message"].as_str().expect("message").contains(message), "{v}");
        let kind = v["error"]["kind"].as_str().expect("kind");
        assert_eq!(code, &match kind { "usage" => 2, "io" | "format" => 3, "request" => 4, _ => 0 }, "{v}");
    }
    // A valid GGUF without tokenizer metadata: the missing key is named, once.
    let no_tokenizer =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gguf/f32.gguf");
    let no_tokenizer = no_tokenizer.to_str().expect("UTF-8 path");
    let out = zkinfer(&["tokenize", "--model", no_tokenizer, "--text", "x"], None);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("tokenizer.ggml.model").count(),
        1,
        "{stderr}"
    );
    // Standard input that is not UTF-8.
    let out = zkinfer(&["tokenize", "--model", &model], Some(b"ok \xff\xfe"));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8"));
}

#[test]
fn a_file_that_is_not_gguf_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("not-a-model.gguf");
    std::fs::write(&path, b"this is not a GGUF file at all").expect("write");
    let path = path.to_str().expect("UTF-8 path");
    let out = zkinfer(&["tokenize", "--model", path, "--text", "x"], None);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not-a-model.gguf") && stderr.contains("GGUF"),
        "{stderr}"
    );
}

#[test]
fn tokenize_special_parses_control_tokens_of_the_llama_fixture() {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/llama/llama-tiny-random-q8_0.gguf");
    let model = model.to_str().expect("UTF-8 path");
    let text = "<|im_start|>user\nHello!<|im_end|>\n";
    // SmolLM2: <|im_start|> = 1, <|im_end|> = 2, no BOS added; ids as Hugging Face `tokenizers`.
    let out = zkinfer(
        &["tokenize", "--model", model, "--text", text, "--special"],
        None,
    );
    assert_eq!(stdout(&out), "1 4093 198 19556 17 2 198\n");
    // Without --special the control-token text is plain text.
    let out = zkinfer(&["tokenize", "--model", model, "--text", text], None);
    let plain = stdout(&out);
    assert!(
        plain.starts_with("44 108 306 79 3738 108 46 4093 198"),
        "{plain}"
    );
    assert!(
        !plain.split_whitespace().any(|id| id == "1" || id == "2"),
        "{plain}"
    );
}
