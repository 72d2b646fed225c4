//! Issue 14, item by item, with the input that showed each problem: progress, llama.cpp's flags,
//! JSON and exit codes in every outcome, no wasted work, counting positions once, messages, the
//! small things, and reproducible proofs. All on the tiny GPT-2 in testdata.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("run zkinfer")
}

fn testdata(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name).display().to_string()
}

fn tiny() -> String {
    testdata("gpt2-tiny-random.gguf")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {:?}", String::from_utf8_lossy(&o.stdout)))
}

/// The exit code each JSON `error.kind` must come with.
fn code_of(kind: &str) -> i32 {
    match kind {
        "rejected" => 1,
        "usage" => 2,
        "io" | "format" | "internal" => 3,
        "request" => 4,
        other => panic!("unknown kind {other}"),
    }
}

/// Runs a failing command with `--json`: exit `code`, one failure object whose kind matches the
/// code and whose message contains `needle`, the same message on stderr.
fn assert_json_failure(args: &[&str], code: i32, needle: &str) -> Value {
    let out = zkinfer(args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["ok"], false, "{args:?}");
    let kind = v["error"]["kind"].as_str().unwrap();
    assert_eq!(code_of(kind), code, "{args:?}: {v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains(needle), "{args:?}: {message:?} lacks {needle:?}");
    assert!(!stderr(&out).contains("panicked"), "{args:?}");
    v
}

// 1. Progress.

/// Runs `zkinfer args` with standard error (and output) on a pseudo-terminal, through util-linux
/// `script`; `None` (the caller skips, saying why) if `script` is not installed.
fn on_a_terminal(args: &[&str]) -> Option<(bool, String)> {
    let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
    let line = std::iter::once(env!("CARGO_BIN_EXE_zkinfer")).chain(args.iter().copied()).map(quote).collect::<Vec<_>>().join(" ");
    let out = Command::new("script").args(["-qec", &line, "/dev/null"]).stdin(Stdio::null()).output().ok()?;
    Some((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned()))
}

#[test]
fn prove_on_a_terminal_counts_tokens_with_an_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("p.bin");
    let Some((ok, screen)) = on_a_terminal(&["prove", "-m", &tiny(), "-p", "Hello", "-n", "6", "-o", s(&proof)]) else {
        eprintln!("skipped: util-linux `script` is not installed (needed for a pseudo-terminal)");
        return;
    };
    assert!(ok, "{screen}");
    // The spinner: stage k/N, the live token count with speed and estimate, elapsed time.
    for what in ["[2/5] generating 6 tokens", "1/6 tokens", "tokens/s, ETA", "[5/5] opening", "generated 6/6 tokens in"] {
        assert!(screen.contains(what), "the terminal lacks {what:?}: {screen}");
    }
    assert!(screen.contains("wrote proof:"));
    // --quiet: nothing but the summary, even on a terminal.
    let (ok, screen) = on_a_terminal(&["prove", "-m", &tiny(), "-p", "Hello", "-n", "2", "-o", s(&proof), "-q"]).unwrap();
    assert!(ok, "{screen}");
    assert!(!screen.contains("tokens,") && !screen.contains("[1/5]"), "{screen}");
}

#[test]
fn progress_is_a_line_per_stage_off_a_terminal_and_nothing_with_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = zkinfer(&["setup", "-m", &tiny(), "-o", s(&dir.path().join("k"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("1/1 committing the weights"), "{err}");
    let summary = String::from_utf8_lossy(&out.stdout);
    for what in ["model commitment:", "vk.bin", "bytes", "keys.json", "setup time:"] {
        assert!(summary.contains(what), "summary lacks {what}: {summary}");
    }
    let out = zkinfer(&["setup", "-m", &tiny(), "-o", s(&dir.path().join("k")), "--quiet"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "--quiet prints nothing on stderr");
}

// 2. Conventions.

#[test]
fn llama_cpp_flags_and_hyphen_leading_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny();
    // "-5 degrees" is three tokens: "-", "5", " degrees".
    let want = serde_json::json!([12, 20, 7370]);
    let out = zkinfer(&["generate", "-m", &m, "-p", "-5 degrees", "-n", "2", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["prompt_ids"], want);
    // -f reads the prompt from a file; one trailing newline is dropped, as in llama.cpp.
    let file = dir.path().join("prompt.txt");
    std::fs::write(&file, "-5 degrees\n").unwrap();
    let out = zkinfer(&["generate", "--model", &m, "-f", s(&file), "--n-predict", "2", "--json", "-t", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["prompt_ids"], want);
    assert_eq!(v["completion_ids"].as_array().unwrap().len(), 2);
    // The old spelling still works; -p and -f together are a usage error.
    let out = zkinfer(&["generate", "--model", &m, "--prompt", "Hi", "--n-tokens", "1", "--json"]);
    assert!(out.status.success());
    assert_json_failure(&["generate", "-m", &m, "-p", "Hi", "-f", s(&file), "--json"], 2, "cannot be used with");
    // One default for -n, shown in --help.
    let out = zkinfer(&["generate", "-m", &m, "-p", "Hi", "--json"]);
    assert_eq!(json(&out)["completion_ids"].as_array().unwrap().len(), 16);
    for cmd in ["generate", "prove", "demo", "bench"] {
        let help = String::from_utf8_lossy(&zkinfer(&[cmd, "--help"]).stdout).into_owned();
        assert!(help.contains("-n, --n-predict") && help.contains("[default: 16]"), "{cmd} --help: {help}");
        assert!(help.contains("-t, --threads"), "{cmd} --help: {help}");
    }
    // inspect takes --model/-m as well as the positional path.
    let positional = zkinfer(&["inspect", &m, "--json"]);
    for flag in ["--model", "-m"] {
        let out = zkinfer(&["inspect", flag, &m, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(json(&out), json(&positional));
    }
    // tokenize's text may start with a hyphen too.
    let out = zkinfer(&["tokenize", "-m", &m, "-p", "-5 degrees"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "12 20 7370\n");
}

#[test]
fn bench_takes_n() {
    let out = zkinfer(&["bench", "-m", &tiny(), "-n", "1", "--json", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["tokens"], 1);
}

// 3. JSON and exit codes.

#[test]
fn every_json_command_prints_one_object_on_failure_with_a_distinct_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny();
    let missing = s(&dir.path().join("missing.gguf")).to_owned();
    let out = s(&dir.path().join("out.bin")).to_owned();
    assert_json_failure(&["inspect", &missing, "--json"], 3, "no such file");
    assert_json_failure(&["tokenize", "-m", &missing, "-p", "x", "--json"], 3, "no such file");
    assert_json_failure(&["detokenize", "-m", &m, "12", "x1", "--json"], 2, "invalid token id");
    assert_json_failure(&["detokenize", "-m", &m, "99999", "--json"], 4, "out of range");
    assert_json_failure(&["generate", "-m", &m, "-p", "Hi", "-n", "500", "--json"], 4, "context length");
    assert_json_failure(&["logits", "-m", &m, "--ids", "1,50257", "-o", &out, "--json"], 4, "outside the vocabulary");
    assert_json_failure(&["setup", "-m", &missing, "-o", s(dir.path()), "--json"], 3, "no such file");
    assert_json_failure(&["prove", "-m", &m, "-p", "Hi", "-n", "0", "-o", &out, "--json"], 2, "at least 1");
    let v = assert_json_failure(&["verify", "--vk", s(dir.path()), &out, "--json"], 3, "no such file");
    assert_eq!(v["valid"], false);
    assert_json_failure(&["bench", "-m", &missing, "--json"], 3, "no such file");
    assert_json_failure(&["demo", "-n", "500", "--json"], 4, "context length");
    // A usage error clap reports is JSON too.
    assert_json_failure(&["prove", "-m", &m, "--bogus", "--json"], 2, "--bogus");
    assert!(!Path::new(&out).exists());
}

#[test]
fn logits_and_detokenize_have_json() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny();
    let out_path = dir.path().join("l.bin");
    let out = zkinfer(&["logits", "-m", &m, "--ids", "[464, 2068 7586]", "-o", s(&out_path), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["positions"], 3);
    assert_eq!(v["input_ids"], serde_json::json!([464, 2068, 7586]));
    let vocab = v["vocab"].as_u64().unwrap();
    assert_eq!(std::fs::metadata(&out_path).unwrap().len(), 4 * 3 * vocab, "raw f32, positions × vocab");
    let out = zkinfer(&["detokenize", "-m", &m, "15496,995", "--json"]);
    let v = json(&out);
    assert_eq!((v["ok"].clone(), v["text"].clone()), (Value::Bool(true), Value::from("Hello world")));
}

// 4. No wasted work.

#[test]
fn outputs_and_requests_are_checked_before_any_heavy_work() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny();
    let cases: [(Vec<String>, i32, &str); 4] = [
        (vec!["-p".into(), "Hi".into(), "-o".into(), "/nonexistent-dir/p.bin".into()], 3, "does not exist"),
        (vec!["-p".into(), "Hi".into(), "-o".into(), s(dir.path()).into()], 3, "is a directory"),
        (vec!["-p".into(), "Hi".into(), "-n".into(), "129".into(), "-o".into(), s(&dir.path().join("p")).into()], 4, "context length 128"),
        (vec!["-p".into(), "".into(), "-o".into(), s(&dir.path().join("p")).into()], 2, "no tokens"),
    ];
    for (rest, code, needle) in cases {
        let mut args = vec!["prove", "-m", &m];
        args.extend(rest.iter().map(String::as_str));
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("committing"), "no work may start: {err}");
    }
    // setup refuses to replace another model's key without --force, before committing anything.
    let keys = dir.path().join("keys");
    assert!(zkinfer(&["setup", "-m", &testdata("gpt2-tiny-random-q8_0.gguf"), "-o", s(&keys), "-q"]).status.success());
    let before = std::fs::read(keys.join("vk.bin")).unwrap();
    let out = zkinfer(&["setup", "-m", &m, "-o", s(&keys)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force") && !stderr(&out).contains("committing"), "{}", stderr(&out));
    assert_eq!(std::fs::read(keys.join("vk.bin")).unwrap(), before);
    let out = zkinfer(&["setup", "-m", &m, "-o", s(&keys), "--force", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read(keys.join("vk.bin")).unwrap(), before);
    // Setting up the same model again needs no --force.
    assert!(zkinfer(&["setup", "-m", &m, "-o", s(&keys), "-q"]).status.success());
    // A regular file is not a keys directory.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(zkinfer(&["setup", "-m", &m, "-o", s(&file)]).status.code(), Some(3));
}

#[test]
fn ctrl_c_prints_interrupted_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("p.bin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["prove", "-m", &tiny(), "-p", "Hello", "-n", "8", "-o", s(&proof), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until proving has started (the plain progress line), then send SIGINT.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("proving the graph") {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("proving the graph"), "{seen}");
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "interrupted");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no proof and no temporary file left");
}

// 5. Counting positions once.

#[test]
fn the_full_context_is_usable_everywhere_and_one_more_position_is_not() {
    let m = tiny();
    // "Hi" is one token: 1 + 128 − 1 = 128 = n_ctx positions.
    let out = zkinfer(&["generate", "-m", &m, "-p", "Hi", "-n", "128", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["completion_ids"].as_array().unwrap().len(), 128);
    for cmd in [&["generate", "-m", &m][..], &["demo"][..]] {
        let mut args = cmd.to_vec();
        args.extend(["-p", "Hi", "-n", "129", "--json"]);
        assert_json_failure(&args, 4, "at most 128 new tokens fit");
    }
    let out = zkinfer(&["bench", "-m", &m, "-n", "129", "--json"]);
    assert_eq!(out.status.code(), Some(4));
    // prove at the full context: 128 positions, verified.
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("full.bin");
    let long_prompt = "one two three four five six seven eight nine ten ".repeat(12);
    let out = zkinfer(&["tokenize", "-m", &m, "-p", &long_prompt, "--json"]);
    let p = json(&out)["count"].as_u64().unwrap() as usize;
    assert!(p < 128, "{p}");
    let n = (128 + 1 - p).to_string();
    let out = zkinfer(&["prove", "-m", &m, "-p", &long_prompt, "-n", &n, "-o", s(&proof), "--json", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "prove --quiet prints no progress");
    let keys = dir.path().join("k");
    assert!(zkinfer(&["setup", "-m", &m, "-o", s(&keys), "-q"]).status.success());
    let out = zkinfer(&["verify", "--vk", s(&keys), s(&proof), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["prompt_ids"].as_array().unwrap().len() + v["completion_ids"].as_array().unwrap().len() - 1, 128);
}

// 6. Messages.

#[test]
fn each_cause_once_directories_and_damaged_keys() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gguf");
    let out = zkinfer(&["generate", "-m", s(&missing), "-p", "x"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(err.matches("no such file").count() + err.matches("No such file").count(), 1, "{err}");
    for args in [vec!["inspect", s(dir.path())], vec!["verify", "--vk", s(dir.path()), s(dir.path())]] {
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("is a directory") || err.contains("no such file"), "{args:?}: {err}");
        assert!(!err.contains("No such device"), "{err}");
    }
    let out = zkinfer(&["inspect", s(dir.path())]);
    assert!(stderr(&out).contains("is a directory"));
    // A damaged byte in a key setup wrote: reported as damaged, not as another model's key.
    let keys = dir.path().join("keys");
    assert!(zkinfer(&["setup", "-m", &tiny(), "-o", s(&keys), "-q"]).status.success());
    let mut vk = std::fs::read(keys.join("vk.bin")).unwrap();
    let i = vk.len() - 100; // inside the vocabulary: the key still decodes
    vk[i] ^= 1;
    std::fs::write(keys.join("vk.bin"), &vk).unwrap();
    let proof = dir.path().join("none.bin");
    std::fs::write(&proof, b"unused").unwrap();
    let out = zkinfer(&["verify", "--vk", s(&keys), s(&proof)]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("damaged") && !err.contains("another model"), "{err}");
}

// 7. Small things.

#[test]
fn inspect_lists_every_tensor_in_text_and_json() {
    let m = tiny();
    let layout: Value = serde_json::from_str(&std::fs::read_to_string(testdata("gpt2-tiny-random.layout.json")).unwrap()).unwrap();
    let tensors = layout["tensors"].as_array().unwrap();
    let text = String::from_utf8(zkinfer(&["inspect", &m]).stdout).unwrap();
    let v = json(&zkinfer(&["inspect", &m, "--json"]));
    let listed = v["tensors"].as_array().unwrap();
    assert_eq!(listed.len(), tensors.len());
    for t in tensors {
        let name = t["name"].as_str().unwrap();
        assert!(text.contains(name), "text lacks {name}");
        let entry = listed.iter().find(|e| e["name"] == name).unwrap();
        assert_eq!(entry["type"], t["type"]);
        assert_eq!(entry["shape"], t["ggml_ne"]);
        assert!(entry["bytes"].as_u64().unwrap() > 0);
    }
}

#[test]
fn help_documents_outputs_and_special_tokens_parse_on_request() {
    let help = String::from_utf8(zkinfer(&["setup", "--help"]).stdout).unwrap();
    assert!(help.contains("vk.bin") && help.contains("keys.json") && help.contains("--force"), "{help}");
    let help = String::from_utf8(zkinfer(&["logits", "--help"]).stdout).unwrap();
    assert!(help.contains("little-endian f32") && help.contains("positions x vocab"), "{help}");
    let help = String::from_utf8(zkinfer(&["prove", "--help"]).stdout).unwrap();
    assert!(help.contains("--special") && help.contains("<|endoftext|>"), "{help}");
    let help = String::from_utf8(zkinfer(&["--help"]).stdout).unwrap();
    assert!(help.contains("Exit codes") && help.contains("4 request"), "{help}");

    let m = tiny();
    let plain = zkinfer(&["tokenize", "-m", &m, "-p", "a<|endoftext|>b"]);
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "64 27 91 437 1659 5239 91 29 65\n");
    let special = zkinfer(&["tokenize", "-m", &m, "-p", "a<|endoftext|>b", "--special"]);
    assert_eq!(String::from_utf8_lossy(&special.stdout), "64 50256 65\n");
    let out = zkinfer(&["generate", "-m", &m, "-p", "<|endoftext|>Hi", "--special", "-n", "1", "--json"]);
    assert_eq!(json(&out)["prompt_ids"], serde_json::json!([50256, 17250]));
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_zero() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["generate", "-m", &tiny(), "-p", "Hi", "-n", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take()); // what `| head -c 1` does
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("error") && !err.contains("panicked"), "{err}");
}

#[test]
fn vk_check_success_output_survives_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("k");
    assert!(zkinfer(&["setup", "-m", &tiny(), "-o", s(&keys), "-q"]).status.success());
    let m = tiny();
    for extra in [None, Some("--json")] {
        let mut args = vec!["vk-check", "--model", &m, "--vk", s(&keys)];
        args.extend(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // closed before vk-check writes its verdict (`| head -c 0`)
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("error") && !err.contains("panicked"), "{args:?}: {err}");
    }
}

// 8. Reproducible proofs.

#[test]
fn the_same_prove_twice_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut proofs = Vec::new();
    for i in 0..2 {
        let path = dir.path().join(format!("p{i}.bin"));
        let out = zkinfer(&["prove", "-m", &tiny(), "-p", "Hello world", "-n", "3", "-o", s(&path)]);
        assert!(out.status.success(), "{}", stderr(&out));
        // Not quiet, not a terminal: one plain line per stage; the summary names the file.
        assert!(stderr(&out).contains("5/5 opening"), "{}", stderr(&out));
        // The generation stage ends with its token count and speed.
        assert!(stderr(&out).contains("generated 3/3 tokens in"), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("wrote proof:"));
        proofs.push(std::fs::read(&path).unwrap());
    }
    assert!(proofs[0] == proofs[1], "two runs of the same prove differ");
}
