//! `zkinfer serve` and `zkinfer worker` as real processes on loopback, on the tiny GPT-2 (and the
//! tiny Llama, loaded through the same architecture registry): answers
//! equal `zkinfer generate`'s, proofs fetched by id verify with `zkinfer verify` against
//! `/v1/vk`, bad requests get JSON 4xx while the server keeps serving, a server killed with
//! SIGKILL mid-proof finishes every accepted job exactly once after a restart, and two workers
//! drain a Postgres queue, one of them killed mid-job (skipped, saying why, when no Postgres
//! server can be started here), and the official `openai` Python client gets what `generate` prints.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("run zkinfer")
}

fn tiny() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf").display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn tiny_llama() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama/llama-tiny-random-q8_0.gguf").display().to_string()
}

/// Keys for the tiny model in `dir/keys`.
fn keys(dir: &Path) -> PathBuf {
    keys_of(dir, &tiny())
}

/// Keys for `model` in `dir/keys`.
fn keys_of(dir: &Path, model: &str) -> PathBuf {
    let k = dir.join("keys");
    let out = zkinfer(&["setup", "-m", model, "-o", s(&k), "-q"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    k
}

/// A `zkinfer serve` or `worker` process; its standard error is collected.
struct Proc {
    child: Child,
    log: Arc<Mutex<String>>,
    addr: Option<String>,
    /// The thread copying stderr into `log`; joined after a kill so the log holds every line the
    /// process wrote before it died.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proc {
    /// Starts `zkinfer args`; for `serve`, waits for its "listening on" line.
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
                if line.contains(" with ") && line.contains("prover(s) on") {
                    let _ = tx.send(String::new());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(60)).ok().filter(|a| !a.is_empty());
        let mut p = Proc { child, log, addr, reader: Some(reader) };
        if args[0] == "serve" {
            assert!(p.addr.is_some(), "serve did not start: {}", p.log());
        } else if p.child.try_wait().unwrap().is_some() {
            panic!("worker exited: {}", p.log());
        }
        p
    }

    fn addr(&self) -> &str {
        self.addr.as_deref().unwrap()
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Waits (up to `limit`) until the log contains `needle`: a job's state turns `done` in the
    /// queue a moment before the prover logs it.
    fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while !self.log().contains(needle) {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// SIGTERM, and the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no exit after SIGTERM: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A response: status, headers (lower-case names), body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The `data:` payloads of a server-sent-events body.
    fn events(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.body).lines().filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:"))).map(str::to_owned).collect()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`); chunked bodies decoded.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A large body is written from another thread while the answer is read (the server may
    // answer before reading it all).
    let mut writer = stream.try_clone().unwrap();
    let body = body.to_vec();
    let w = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
    });
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let _ = w.join();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Resp { status, headers, body }
}

fn post(addr: &str, path: &str, body: &Value) -> Resp {
    http(addr, "POST", path, &[("Content-Type", "application/json")], body.to_string().as_bytes())
}

fn get(addr: &str, path: &str) -> Resp {
    http(addr, "GET", path, &[], b"")
}

/// Polls `/v1/proofs/{id}` until `done` (or fails on `failed` or after `limit`).
fn wait_done(addr: &str, id: &str, limit: Duration, auth: &[(&str, &str)]) -> Value {
    let start = Instant::now();
    loop {
        let r = http(addr, "GET", &format!("/v1/proofs/{id}"), auth, b"");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        match v["state"].as_str().unwrap() {
            "done" => return v,
            "failed" => panic!("proof {id} failed: {v}"),
            _ => {}
        }
        assert!(start.elapsed() < limit, "proof {id} not done after {limit:?}: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Downloads a job's proof and the key (with its setup proof) and runs `zkinfer verify --json`.
fn verify_download(addr: &str, id: &str, dir: &Path, auth: &[(&str, &str)]) -> Value {
    let d = dir.join(format!("dl-{id}"));
    std::fs::create_dir_all(&d).unwrap();
    for (path, file) in [("/v1/vk", "vk.bin"), ("/v1/vk/setup-proof", "setup-proof.bin"), (&format!("/v1/proofs/{id}/proof")[..], "proof.bin")] {
        let r = http(addr, "GET", path, auth, b"");
        assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        std::fs::write(d.join(file), &r.body).unwrap();
    }
    let out = zkinfer(&["verify", "--vk", s(&d), s(&d.join("proof.bin")), "--json"]);
    assert!(out.status.success(), "verify: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn serve(dir: &Path, keys: &Path, extra: &[&str]) -> Proc {
    serve_model(dir, &tiny(), keys, extra)
}

fn serve_model(dir: &Path, model: &str, keys: &Path, extra: &[&str]) -> Proc {
    let queue = format!("sqlite:{}", dir.join("queue.db").display());
    let mut args = vec!["serve", "-m", model, "--keys", s(keys), "--port", "0", "--queue", &queue];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    Proc::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn completions_equal_generate_and_their_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(dir.path());
    let template = dir.path().join("chat.jinja");
    std::fs::write(&template, "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}").unwrap();
    let server = serve(dir.path(), &k, &["--chat-template", s(&template), "--alias", "tiny"]);
    let addr = server.addr();

    let health = get(addr, "/health").json();
    assert_eq!(health["status"], "ok");
    let models = get(addr, "/v1/models").json();
    assert_eq!(models["data"][0]["id"], "tiny");
    let commitment = models["data"][0]["zkinfer"]["model_commitment"].as_str().unwrap().to_owned();

    // The same request as `zkinfer generate`: same ids, same text.
    let generated = zkinfer(&["generate", "-m", &tiny(), "-p", "Hello world", "-n", "3", "--json"]);
    let generated: Value = serde_json::from_slice(&generated.stdout).unwrap();
    let r = post(addr, "/v1/completions", &json!({ "model": "tiny", "prompt": "Hello world", "max_tokens": 3, "temperature": 0 }));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], generated["text"]);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["zkinfer"]["completion_ids"], generated["completion_ids"]);
    assert_eq!(v["zkinfer"]["prompt_ids"], generated["prompt_ids"]);
    assert_eq!(v["zkinfer"]["model_commitment"], commitment.as_str());
    assert_eq!(v["usage"]["completion_tokens"], 3);
    let id = v["zkinfer"]["proof_id"].as_str().unwrap().to_owned();

    // Streaming: the same text, one chunk per piece, the job id in every chunk, then [DONE].
    let r = post(addr, "/v1/completions", &json!({ "prompt": "Hello world", "max_tokens": 3, "stream": true }));
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/event-stream"));
    let events = r.events();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{events:?}");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    let text: String = chunks.iter().map(|c| c["choices"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(text, generated["text"].as_str().unwrap());
    let stream_id = chunks[0]["zkinfer"]["proof_id"].as_str().unwrap().to_owned();
    assert!(chunks.iter().all(|c| c["zkinfer"]["proof_id"] == stream_id.as_str()));
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    assert_eq!(last["zkinfer"]["completion_ids"], generated["completion_ids"]);

    // Chat: the template applied, a non-streamed and a streamed answer agree.
    let messages = json!([{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Hi" }]);
    let r = post(addr, "/v1/chat/completions", &json!({ "messages": messages, "max_tokens": 2 }));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let chat = r.json();
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["choices"][0]["message"]["role"], "assistant");
    let rendered = "<system>Be brief.\n<user>Hi\n<assistant>";
    let expected = zkinfer(&["tokenize", "-m", &tiny(), "-p", rendered, "--special", "--json"]);
    let expected: Value = serde_json::from_slice(&expected.stdout).unwrap();
    assert_eq!(chat["zkinfer"]["prompt_ids"], expected["ids"], "the chat template renders as llama.cpp would");
    let r = post(addr, "/v1/chat/completions", &json!({ "messages": messages, "max_tokens": 2, "stream": true }));
    let events = r.events();
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, chat["choices"][0]["message"]["content"].as_str().unwrap());

    // The proofs: done, downloaded, verified by the CLI against the served key.
    wait_done(addr, &id, Duration::from_secs(180), &[]);
    let verified = verify_download(addr, &id, dir.path(), &[]);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["completion_ids"], generated["completion_ids"]);
    assert_eq!(verified["model_commitment"], commitment.as_str());
    let status = wait_done(addr, &stream_id, Duration::from_secs(180), &[]);
    assert_eq!(status["attempts"], 1);
    // Unknown proof ids.
    assert_eq!(get(addr, "/v1/proofs/pf_00000000000000000000000000000000").status, 404);
    assert_eq!(get(addr, "/v1/proofs/nope/proof").status, 404);
}

/// The server loads any registered architecture the way `setup` does: a Llama model's answer
/// equals `zkinfer generate`'s and its proof verifies as a Llama proof.
#[test]
fn a_llama_model_is_served_and_its_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_llama();
    let k = keys_of(dir.path(), &model);
    let server = serve_model(dir.path(), &model, &k, &[]);
    let addr = server.addr();
    let generated = zkinfer(&["generate", "-m", &model, "-p", "Hello world", "-n", "4", "--json"]);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let generated: Value = serde_json::from_slice(&generated.stdout).unwrap();
    let r = post(addr, "/v1/completions", &json!({ "prompt": "Hello world", "max_tokens": 4 }));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["choices"][0]["text"], generated["text"]);
    assert_eq!(v["zkinfer"]["completion_ids"], generated["completion_ids"]);
    let id = v["zkinfer"]["proof_id"].as_str().unwrap().to_owned();
    wait_done(addr, &id, Duration::from_secs(180), &[]);
    let verified = verify_download(addr, &id, dir.path(), &[]);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["architecture"], "llama");
    assert_eq!(verified["completion_ids"], generated["completion_ids"]);
}

#[test]
fn bad_requests_get_json_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(dir.path());
    // No provers: this test is about the API.
    let server = serve(dir.path(), &k, &["--api-key", "sesame", "--max-proofs", "0"]);
    let addr = server.addr();
    let auth = [("Authorization", "Bearer sesame"), ("Content-Type", "application/json")];
    let call = |path: &str, body: &[u8]| http(addr, "POST", path, &auth, body);
    let expect = |r: Resp, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    expect(call("/v1/completions", b"{\"prompt\": \"Hi\", "), 400, "invalid_json");
    expect(call("/v1/completions", b"[1, 2]"), 400, "invalid_json");
    expect(call("/v1/completions", json!({ "prompt": "Hi", "model": "gpt-4" }).to_string().as_bytes()), 404, "model_not_found");
    expect(call("/v1/completions", json!({ "prompt": "Hi", "max_tokens": 500 }).to_string().as_bytes()), 400, "context_length_exceeded");
    expect(call("/v1/completions", json!({ "prompt": "Hi", "temperature": 0.7 }).to_string().as_bytes()), 400, "unsupported_sampling");
    expect(call("/v1/completions", json!({ "prompt": "Hi", "top_p": 0.9 }).to_string().as_bytes()), 400, "unsupported_sampling");
    expect(call("/v1/completions", json!({ "prompt": "Hi", "stop": ["\n"] }).to_string().as_bytes()), 400, "unsupported_parameter");
    expect(call("/v1/completions", json!({ "prompt": "Hi", "max_tokens": 0 }).to_string().as_bytes()), 400, "invalid_value");
    expect(call("/v1/completions", json!({ "prompt": [1, 99999] }).to_string().as_bytes()), 400, "invalid_prompt");
    expect(call("/v1/completions", json!({ "max_tokens": 1 }).to_string().as_bytes()), 400, "missing_prompt");
    expect(call("/v1/chat/completions", json!({ "messages": [{ "role": "user", "content": "Hi" }] }).to_string().as_bytes()), 400, "no_chat_template");
    // Bodies over the limit (1 MiB by default): 2 MiB announced with `Expect: 100-continue` (as
    // curl sends large bodies) and 100 MB announced; both refused before any byte is read.
    for (length, hundred_continue) in [(2usize << 20, true), (100_000_000, false)] {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let extra = if hundred_continue { "Expect: 100-continue\r\n" } else { "" };
        write!(stream, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sesame\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        expect(parse_response(&raw), 413, "request_too_large");
    }
    // The API key: missing, wrong; /health needs none.
    let body = json!({ "prompt": "Hi", "max_tokens": 1 }).to_string();
    expect(http(addr, "POST", "/v1/completions", &[], body.as_bytes()), 401, "invalid_api_key");
    expect(http(addr, "POST", "/v1/completions", &[("Authorization", "Bearer sesamf")], body.as_bytes()), 401, "invalid_api_key");
    expect(http(addr, "GET", "/v1/vk", &[("Authorization", "Bearer ")], b""), 401, "invalid_api_key");
    assert_eq!(get(addr, "/health").status, 200);
    // Routes and methods.
    expect(http(addr, "GET", "/v2/nothing", &auth, b""), 404, "not_found");
    expect(http(addr, "GET", "/v1/completions", &auth, b""), 405, "method_not_allowed");
    // Still serving; the job waits (no provers here) and says so.
    let r = call("/v1/completions", body.as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["zkinfer"]["proof_id"].as_str().unwrap().to_owned();
    let r = http(addr, "GET", &format!("/v1/proofs/{id}"), &auth, b"");
    assert_eq!(r.json()["state"], "queued");
    expect(http(addr, "GET", &format!("/v1/proofs/{id}/proof"), &auth, b""), 409, "proof_not_ready");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn a_server_killed_mid_proof_finishes_every_accepted_job_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(dir.path());
    let opts = ["--max-proofs", "1", "--lease", "1"];
    let mut first = serve(dir.path(), &k, &opts);
    let addr = first.addr().to_owned();
    let mut ids = Vec::new();
    for prompt in ["One", "Two", "Three"] {
        let r = post(&addr, "/v1/completions", &json!({ "prompt": prompt, "max_tokens": 2 }));
        assert_eq!(r.status, 200);
        ids.push(r.json()["zkinfer"]["proof_id"].as_str().unwrap().to_owned());
    }
    // Wait until a proof is under way, then SIGKILL the server.
    let start = Instant::now();
    let killed = loop {
        let proving = ids.iter().find(|id| get(&addr, &format!("/v1/proofs/{id}")).json()["state"] == "proving");
        if let Some(id) = proving {
            break id.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no proof started: {}", first.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    first.kill();
    let first_log = first.log();

    // Restart on the same queue: every job is proven, each exactly once.
    let second = serve(dir.path(), &k, &opts);
    let addr = second.addr().to_owned();
    for id in &ids {
        let v = wait_done(&addr, id, Duration::from_secs(180), &[]);
        let expected_attempts = if *id == killed { 2 } else { 1 };
        // A job finished by the first server before the kill was never claimed again.
        let done_before = first_log.contains(&format!("proved {id}"));
        assert_eq!(v["attempts"], if done_before { 1 } else { expected_attempts }, "{id}: {v}");
        if !done_before {
            assert!(second.wait_log(&format!("proved {id} in"), Duration::from_secs(10)), "{id} done but never logged: {}", second.log());
        }
        let both = format!("{first_log}{}", second.log());
        assert_eq!(both.matches(&format!("proved {id} in")).count(), 1, "{id} completed once: {both}");
    }
    verify_download(&addr, &killed, dir.path(), &[]);
    let health = get(&addr, "/health").json();
    assert_eq!(health["queue"]["done"], 3, "{health}");
}

#[test]
fn sigterm_keeps_queued_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(dir.path());
    let mut server = serve(dir.path(), &k, &["--max-proofs", "0"]);
    let addr = server.addr().to_owned();
    let r = post(&addr, "/v1/completions", &json!({ "prompt": "Hi", "max_tokens": 1 }));
    let id = r.json()["zkinfer"]["proof_id"].as_str().unwrap().to_owned();
    assert!(server.terminate().success(), "{}", server.log());
    assert!(server.log().contains("shut down"), "{}", server.log());
    // The next start (with a prover) proves it.
    let server = serve(dir.path(), &k, &["--max-proofs", "1"]);
    wait_done(server.addr(), &id, Duration::from_secs(120), &[]);
}

#[test]
fn two_workers_drain_a_postgres_queue_and_a_killed_workers_job_is_retaken() {
    let (url, _pg) = match std::env::var("ZKINFER_TEST_POSTGRES") {
        Ok(url) => (url, None),
        Err(_) => match zkinfer_server::queue::postgres::testing::TestPg::start() {
            Ok(pg) => (pg.url.clone(), Some(pg)),
            Err(why) => {
                eprintln!("skipped: cannot start a Postgres server: {why}");
                return;
            }
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let k = keys(dir.path());
    // The server only answers and enqueues; the workers prove.
    let server = Proc::start(&["serve", "-m", &tiny(), "--keys", s(&k), "--port", "0", "--queue", &url, "--max-proofs", "0"]);
    let addr = server.addr().to_owned();
    let mut ids = Vec::new();
    for i in 0..10 {
        let r = post(&addr, "/v1/completions", &json!({ "prompt": format!("Job {i}"), "max_tokens": 1 }));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        ids.push(r.json()["zkinfer"]["proof_id"].as_str().unwrap().to_owned());
    }
    let worker = |_: usize| Proc::start(&["worker", "--queue", &url, "-m", &tiny(), "--keys", s(&k), "--max-proofs", "1", "--lease", "2"]);
    let mut a = worker(0);
    let b = worker(1);
    // Kill worker A while it proves a job.
    let start = Instant::now();
    let taken = loop {
        if let Some(id) = ids.iter().find(|id| {
            let v = get(&addr, &format!("/v1/proofs/{id}")).json();
            v["state"] == "proving" && a.log().contains(&format!("proving {id}")) && !a.log().contains(&format!("proved {id}"))
        }) {
            break id.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(120), "worker A never proved: {}", a.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    a.kill();
    let a_log = a.log();
    for id in &ids {
        let v = wait_done(&addr, id, Duration::from_secs(300), &[]);
        let proved = format!("proved {id} in");
        let by_a = a_log.contains(&proved);
        if !by_a {
            b.wait_log(&proved, Duration::from_secs(10));
        }
        let by_b = b.log().contains(&proved);
        assert!(by_a ^ by_b, "{id} proven exactly once (A: {by_a}, B: {by_b})");
        if *id == taken {
            assert!(by_b && v["attempts"] == 2, "the killed worker's job is retaken after its lease: {v}");
        } else {
            assert_eq!(v["attempts"], 1, "{id}: {v}");
        }
    }
    verify_download(&addr, &taken, dir.path(), &[]);
}

/// Runs `scripts/openai_client.py` (the official `openai` Python client) against `addr`; `None`
/// (the test skips, saying why) when python3 or the `openai` package is missing here. `.ci/run`
/// installs the package, so CI runs this test.
fn openai_client(addr: &str, prompt: &str, max_tokens: u32, chat: bool) -> Option<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/openai_client.py");
    let base = format!("http://{addr}/v1");
    let n = max_tokens.to_string();
    let mut args = vec![s(&script), &base, prompt, &n];
    if chat {
        args.push("--chat");
    }
    let out = match Command::new("python3").args(&args).output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipping: python3 cannot be run here ({e})");
            return None;
        }
    };
    if out.status.code() == Some(3) {
        eprintln!("skipping: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    assert!(out.status.success(), "openai client: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// The official `openai` Python client, pointed at `serve`: on the tiny GPT-2 (`/v1/completions`)
/// and on the tiny Llama with its real SmolLM2 chat template (`/v1/chat/completions` too), the
/// client gets the token ids and text `zkinfer generate` (with `--chat` for chat) prints, the
/// streamed text is the same, and every proof fetched by id verifies against `/v1/vk`.
#[test]
fn the_official_openai_client_gets_what_generate_prints() {
    for (model, chat) in [(tiny(), false), (tiny_llama(), true)] {
        let dir = tempfile::tempdir().unwrap();
        let k = keys_of(dir.path(), &model);
        let server = serve_model(dir.path(), &model, &k, &[]);
        let addr = server.addr();
        let Some(got) = openai_client(addr, "Hello world", 5, chat) else { return };

        let generated = zkinfer(&["generate", "-m", &model, "-p", "Hello world", "-n", "5", "--json"]);
        assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
        let generated: Value = serde_json::from_slice(&generated.stdout).unwrap();
        assert_eq!(got["completion"]["text"], generated["text"], "{model}");
        assert_eq!(got["completion"]["zkinfer"]["prompt_ids"], generated["prompt_ids"]);
        assert_eq!(got["completion"]["zkinfer"]["completion_ids"], generated["completion_ids"]);
        assert_eq!(got["completion_streamed"], generated["text"]);
        let mut ids = vec![(got["completion"]["zkinfer"]["proof_id"].as_str().unwrap().to_owned(), generated["completion_ids"].clone())];

        if chat {
            let generated = zkinfer(&["generate", "-m", &model, "--chat", "-p", "Hello world", "-n", "5", "--json"]);
            assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
            let generated: Value = serde_json::from_slice(&generated.stdout).unwrap();
            assert_eq!(got["chat"]["content"], generated["text"]);
            assert_eq!(got["chat"]["zkinfer"]["prompt_ids"], generated["prompt_ids"], "the GGUF's chat template, rendered as `generate --chat` renders it");
            assert_eq!(got["chat"]["zkinfer"]["completion_ids"], generated["completion_ids"]);
            assert_eq!(got["chat_streamed"], generated["text"]);
            ids.push((got["chat"]["zkinfer"]["proof_id"].as_str().unwrap().to_owned(), generated["completion_ids"].clone()));
        }
        for (id, completion) in ids {
            wait_done(addr, &id, Duration::from_secs(180), &[]);
            let verified = verify_download(addr, &id, dir.path(), &[]);
            assert_eq!(verified["valid"], true);
            assert_eq!(verified["completion_ids"], completion);
        }
    }
}
