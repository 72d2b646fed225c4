//! The HTTP API: OpenAI-compatible completions and chat completions (greedy decoding only),
//! the model list, health, and the proof endpoints.
//!
//! | method | path | answer |
//! | --- | --- | --- |
//! | POST | `/v1/completions` | `text_completion` (or server-sent events with `stream: true`) |
//! | POST | `/v1/chat/completions` | `chat.completion` (or `chat.completion.chunk` events) |
//! | GET | `/v1/models` | the one model served |
//! | GET | `/health` | `{"status": "ok", …}` with queue counts (no API key needed) |
//! | GET | `/v1/proofs/{id}` | the job: `queued`, `proving` (with progress), `done`, `failed` (with the reason) |
//! | GET | `/v1/proofs/{id}/proof` | the proof file's bytes (`zkinfer verify` reads them) |
//! | GET | `/v1/vk` | the verifying key (`vk.bin`) |
//! | GET | `/v1/vk/setup-proof` | the setup proof (`setup-proof.bin`, which `verify` checks beside the key) |
//!
//! Every completion answers with `"zkinfer": {"proof_id", "model_commitment", …}`; its proof job
//! is in the queue before the answer is sent (streaming: before the chunk carrying
//! `finish_reason`). Errors are OpenAI-shaped JSON, `{"error": {"message", "type", "param",
//! "code"}}`, with 400 (malformed or unsupported request, too many tokens), 401 (API key),
//! 404 (unknown model, job or route), 405, 409 (proof not ready), 413 (body too large) or 503
//! (queue full or unreachable).

use crate::engine::Engine;
use crate::prover::Wake;
use crate::queue::{NewJob, Queue, State};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Request limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Default `max_tokens`.
    pub default_tokens: usize,
    /// Largest `max_tokens` (besides the context).
    pub max_tokens: usize,
    /// Jobs waiting in the queue beyond which completions are refused (503).
    pub max_queued: u64,
    /// Generations at once.
    pub parallel: usize,
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The model.
    pub engine: Arc<Engine>,
    /// The proof queue.
    pub queue: Arc<dyn Queue>,
    /// Wakes this process's provers.
    pub wake: Arc<Wake>,
    /// The bearer token, if required.
    pub api_key: Option<String>,
    /// Limits.
    pub limits: Limits,
    /// Generation slots.
    pub slots: Arc<Semaphore>,
    /// This process's provers (count) and how many are busy.
    pub provers: usize,
    /// Busy provers.
    pub busy: Arc<AtomicUsize>,
}

/// An API error: status and OpenAI-shaped body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    param: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), param: None }
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn param(mut self, p: &'static str) -> Self {
        self.param = Some(p);
        self
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    fn body(&self) -> Value {
        let kind = match self.status.as_u16() {
            401 => "authentication_error",
            404 => "not_found_error",
            413 => "invalid_request_error",
            409 => "conflict_error",
            500 => "server_error",
            503 => "service_unavailable",
            _ => "invalid_request_error",
        };
        json!({ "error": { "message": self.message, "type": kind, "param": self.param, "code": self.code } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The router with every endpoint, the API-key check and the body limit.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body_bytes;
    let v1 = Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/v1/proofs/{id}", get(proof_status))
        .route("/v1/proofs/{id}/proof", get(proof_bytes))
        .route("/v1/vk", get(vk))
        .route("/v1/vk/setup-proof", get(setup_proof))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), require_key));
    Router::new()
        .route("/health", get(health))
        .merge(v1)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this endpoint")
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(move |req: Request, next: Next| refuse_large(max_body, req, next)))
        .with_state(state)
}

/// A body announced (Content-Length) larger than the limit is refused before any of it is read;
/// one without a length is cut at the limit while it is read (`parse_body`).
async fn refuse_large(max_body: usize, req: Request, next: Next) -> Response {
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max_body as u64) {
        let mut r = too_large().into_response();
        r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    next.run(req).await
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request_too_large", "the request body is larger than the server accepts")
}

/// Constant-time comparison (the key is not leaked through timing).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_key(AxState(state): AxState<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(key) = &state.api_key {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.trim().as_bytes(), key.as_bytes())) {
            let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "missing or wrong API key (Authorization: Bearer KEY)")
                .into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

/// Runs a blocking queue call off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("worker thread: {e}")))
}

async fn health(AxState(state): AxState<Arc<AppState>>) -> Response {
    let q = state.queue.clone();
    match blocking(move || q.counts()).await {
        Ok(Ok(c)) => axum::Json(json!({
            "status": "ok",
            "model": state.engine.model_id,
            "model_commitment": state.engine.commitment,
            "queue": { "queued": c.queued, "proving": c.proving, "done": c.done, "failed": c.failed },
            "provers": state.provers,
            "proving_here": state.busy.load(Ordering::Relaxed),
            "generation_slots_free": state.slots.available_permits(),
        }))
        .into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "error", "error": e.to_string() }))).into_response(),
        Err(e) => e.into_response(),
    }
}

fn model_object(e: &Engine) -> Value {
    json!({
        "id": e.model_id,
        "object": "model",
        "created": 0,
        "owned_by": "zkinfer",
        "zkinfer": { "model_commitment": e.commitment, "n_ctx": e.n_ctx(), "n_vocab": e.n_vocab() },
    })
}

async fn models(AxState(state): AxState<Arc<AppState>>) -> Response {
    axum::Json(json!({ "object": "list", "data": [model_object(&state.engine)] })).into_response()
}

fn bytes_response(bytes: Vec<u8>, name: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

async fn vk(AxState(state): AxState<Arc<AppState>>) -> Response {
    bytes_response(state.engine.vk_bytes.clone(), "vk.bin")
}

async fn setup_proof(AxState(state): AxState<Arc<AppState>>) -> Response {
    bytes_response(state.engine.setup_proof_bytes.clone(), "setup-proof.bin")
}

/// Proof ids are `pf_` and 32 hex digits; anything else is not looked up.
fn valid_id(id: &str) -> bool {
    id.len() == 35 && id.starts_with("pf_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_id() -> String {
    format!("pf_{:032x}", rand::random::<u128>())
}

async fn proof_status(AxState(state): AxState<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Response> {
    if !valid_id(&id) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "proof_not_found", format!("no proof job {id:?}")));
    }
    let q = state.queue.clone();
    let lookup = id.clone();
    let s = blocking(move || q.status(&lookup))
        .await?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable", e.to_string()))?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "proof_not_found", format!("no proof job {id}")))?;
    let progress: Option<Value> = s.progress.as_deref().and_then(|p| serde_json::from_str(p).ok());
    Ok(axum::Json(json!({
        "id": s.id,
        "object": "zkinfer.proof",
        "state": s.state.name(),
        "model_commitment": s.model_commitment,
        "prompt_ids": s.prompt_ids,
        "completion_ids": s.completion_ids,
        "attempts": s.attempts,
        "progress": progress,
        "error": s.error,
        "proof_bytes": s.proof_bytes,
        "proof_url": (s.state == State::Done).then(|| format!("/v1/proofs/{}/proof", s.id)),
        "created_ms": s.created_ms,
        "started_ms": s.started_ms,
        "finished_ms": s.finished_ms,
    }))
    .into_response())
}

async fn proof_bytes(AxState(state): AxState<Arc<AppState>>, Path(id): Path<String>) -> ApiResult<Response> {
    if !valid_id(&id) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "proof_not_found", format!("no proof job {id:?}")));
    }
    let q = state.queue.clone();
    let lookup = id.clone();
    let (status, bytes) = blocking(move || q.status(&lookup).and_then(|s| Ok((s, q.proof(&lookup)?))))
        .await?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable", e.to_string()))?;
    let status = status.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "proof_not_found", format!("no proof job {id}")))?;
    match (status.state, bytes) {
        (State::Done, Some(bytes)) => Ok(bytes_response(bytes, &format!("{id}.proof"))),
        (State::Failed, _) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "proof_failed",
            format!("proof job {id} failed: {}", status.error.unwrap_or_default()),
        )),
        (state, _) => Err(ApiError::new(StatusCode::CONFLICT, "proof_not_ready", format!("proof job {id} is {}", state.name()))),
    }
}

/// Parses a request body as a JSON object (a body over the limit is 413, anything but an
/// object 400).
fn parse_body(body: Result<Bytes, BytesRejection>) -> ApiResult<serde_json::Map<String, Value>> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad("invalid_body", format!("cannot read the request body: {e}"))
        }
    })?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad("invalid_json", "the request body must be a JSON object")),
        Err(e) => Err(ApiError::bad("invalid_json", format!("the request body is not valid JSON: {e}"))),
    }
}

/// A request field that is absent or null.
fn absent(m: &serde_json::Map<String, Value>, k: &str) -> bool {
    m.get(k).is_none_or(Value::is_null)
}

/// Refuses sampling and other options greedy decoding cannot honour.
fn check_greedy(m: &serde_json::Map<String, Value>) -> ApiResult<()> {
    let number_is = |k: &'static str, ok: f64| -> ApiResult<()> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(()),
            Some(v) if v.as_f64() == Some(ok) => Ok(()),
            Some(v) => Err(ApiError::bad(
                "unsupported_sampling",
                format!("{k} = {v} is not supported: zkinfer proves greedy decoding only ({k} must be {ok} or absent)"),
            )
            .param(k)),
        }
    };
    number_is("temperature", 0.0)?;
    number_is("top_p", 1.0)?;
    number_is("n", 1.0)?;
    number_is("best_of", 1.0)?;
    number_is("presence_penalty", 0.0)?;
    number_is("frequency_penalty", 0.0)?;
    number_is("repeat_penalty", 1.0)?;
    number_is("repetition_penalty", 1.0)?;
    number_is("min_p", 0.0)?;
    number_is("top_k", 1.0)?;
    for k in ["logprobs", "top_logprobs", "echo", "suffix", "tools", "functions", "tool_choice", "function_call"] {
        let v = m.get(k);
        let off = v.is_none_or(|v| v.is_null() || *v == Value::Bool(false) || v.as_array().is_some_and(Vec::is_empty));
        if !off {
            return Err(ApiError::bad("unsupported_parameter", format!("{k} is not supported")).param(static_name(k)));
        }
    }
    match m.get("stop") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err(ApiError::bad("unsupported_parameter", "stop sequences are not supported").param("stop")),
    }
    match m.get("logit_bias") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) if o.is_empty() => {}
        Some(_) => return Err(ApiError::bad("unsupported_parameter", "logit_bias is not supported").param("logit_bias")),
    }
    match m.get("response_format").and_then(|f| f.get("type")) {
        None => {}
        Some(Value::String(t)) if t == "text" => {}
        Some(_) => return Err(ApiError::bad("unsupported_parameter", "only response_format {\"type\": \"text\"} is supported").param("response_format")),
    }
    if !absent(m, "stream") && !m.get("stream").is_some_and(Value::is_boolean) {
        return Err(ApiError::bad("invalid_type", "stream must be a boolean").param("stream"));
    }
    Ok(())
}

fn static_name(k: &str) -> &'static str {
    match k {
        "logprobs" => "logprobs",
        "top_logprobs" => "top_logprobs",
        "echo" => "echo",
        "suffix" => "suffix",
        "tools" => "tools",
        "functions" => "functions",
        "tool_choice" => "tool_choice",
        _ => "function_call",
    }
}

/// The requested model, if named, must be the one served (its id or its commitment).
fn check_model(m: &serde_json::Map<String, Value>, e: &Engine) -> ApiResult<()> {
    match m.get("model") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if *s == e.model_id || *s == e.commitment => Ok(()),
        Some(Value::String(s)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("the model {s:?} is not served here (this server serves {:?})", e.model_id),
        )
        .param("model")),
        Some(_) => Err(ApiError::bad("invalid_type", "model must be a string").param("model")),
    }
}

/// `max_tokens` (or `max_completion_tokens`) checked against the limits and the context.
fn max_tokens(m: &serde_json::Map<String, Value>, state: &AppState, prompt_len: usize) -> ApiResult<usize> {
    let key = if absent(m, "max_completion_tokens") { "max_tokens" } else { "max_completion_tokens" };
    let n = match m.get(key) {
        None | Some(Value::Null) => state.limits.default_tokens,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => n.min(usize::MAX as u64) as usize,
            _ => return Err(ApiError::bad("invalid_value", format!("{key} must be a positive integer")).param("max_tokens")),
        },
    };
    if n > state.limits.max_tokens {
        return Err(ApiError::bad(
            "too_many_tokens",
            format!("{key} = {n} is more than this server generates per request ({})", state.limits.max_tokens),
        )
        .param("max_tokens"));
    }
    let room = state.engine.max_new_tokens(prompt_len);
    let n_ctx = state.engine.n_ctx();
    if n > room {
        return Err(ApiError::bad(
            "context_length_exceeded",
            format!(
                "the prompt ({prompt_len} tokens) + {key} ({n}) − 1 exceeds the context length {n_ctx}; at most {room} new tokens fit"
            ),
        )
        .param("max_tokens"));
    }
    Ok(n)
}

/// The prompt of a completion request: a string, one string in a list, token ids, or one list
/// of token ids.
fn completion_prompt(m: &serde_json::Map<String, Value>, e: &Engine) -> ApiResult<Vec<u32>> {
    let ids_of = |a: &[Value]| -> ApiResult<Vec<u32>> {
        a.iter()
            .map(|v| {
                v.as_u64()
                    .filter(|&id| (id as usize) < e.n_vocab())
                    .map(|id| id as u32)
                    .ok_or_else(|| ApiError::bad("invalid_prompt", format!("prompt token {v} is not an id of the vocabulary (0..{})", e.n_vocab())).param("prompt"))
            })
            .collect()
    };
    let ids = match m.get("prompt") {
        Some(Value::String(s)) => e.tokenizer.encode(s),
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => e.tokenizer.encode(a[0].as_str().unwrap_or_default()),
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_array() => ids_of(a[0].as_array().map_or(&[][..], Vec::as_slice))?,
        Some(Value::Array(a)) if a.iter().all(Value::is_number) => ids_of(a)?,
        None | Some(Value::Null) => return Err(ApiError::bad("missing_prompt", "prompt is required").param("prompt")),
        Some(_) => {
            return Err(ApiError::bad("invalid_prompt", "prompt must be a string, token ids, or a list of one of those (one prompt per request)")
                .param("prompt"));
        }
    };
    if ids.is_empty() {
        return Err(ApiError::bad("empty_prompt", "the prompt encodes to no tokens").param("prompt"));
    }
    Ok(ids)
}

/// The prompt of a chat request: the messages rendered with the model's chat template.
fn chat_prompt(m: &serde_json::Map<String, Value>, e: &Engine) -> ApiResult<Vec<u32>> {
    let Some(Value::Array(msgs)) = m.get("messages") else {
        return Err(ApiError::bad("invalid_messages", "messages must be a list of {role, content}").param("messages"));
    };
    if msgs.is_empty() {
        return Err(ApiError::bad("invalid_messages", "messages is empty").param("messages"));
    }
    let mut out = Vec::with_capacity(msgs.len());
    for msg in msgs {
        let role = msg.get("role").and_then(Value::as_str).ok_or_else(|| ApiError::bad("invalid_messages", "every message needs a string role").param("messages"))?;
        let content = match msg.get("content") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(Value::Array(parts)) => {
                let mut text = String::new();
                for p in parts {
                    match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
                        (Some("text"), Some(t)) => text.push_str(t),
                        _ => return Err(ApiError::bad("unsupported_content", "only text content parts are supported").param("messages")),
                    }
                }
                text
            }
            Some(_) => return Err(ApiError::bad("invalid_messages", "content must be a string or a list of text parts").param("messages")),
        };
        out.push(zkinfer_tokenizer::chat::ChatMessage::new(role, content));
    }
    let template = e.chat_template.as_deref().ok_or_else(|| {
        ApiError::bad("no_chat_template", "the model has no chat template (tokenizer.chat_template); use /v1/completions or start the server with --chat-template FILE")
    })?;
    let text = zkinfer_tokenizer::chat::render_for(&e.tokenizer, template, &out, true)
        .map_err(|err| ApiError::bad("chat_template_error", format!("cannot apply the chat template: {err}")).param("messages"))?;
    let ids = e.tokenizer.encode_with(&text, zkinfer_tokenizer::EncodeOptions { add_special: true, parse_special: true });
    if ids.is_empty() {
        return Err(ApiError::bad("empty_prompt", "the conversation encodes to no tokens").param("messages"));
    }
    Ok(ids)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Chat,
}

fn unix_now() -> u64 {
    (crate::queue::now_ms() / 1000).max(0) as u64
}

async fn completions(AxState(state): AxState<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    complete(state, body, Kind::Text).await
}

async fn chat_completions(AxState(state): AxState<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    complete(state, body, Kind::Chat).await
}

/// The `zkinfer` object of a response.
fn zk_object(e: &Engine, id: &str, prompt: &[u32], completion: Option<&[u32]>) -> Value {
    let mut v = json!({ "proof_id": id, "model_commitment": e.commitment, "proof_url": format!("/v1/proofs/{id}") });
    if let Some(c) = completion {
        v["prompt_ids"] = json!(prompt);
        v["completion_ids"] = json!(c);
    }
    v
}

async fn complete(state: Arc<AppState>, body: Result<Bytes, BytesRejection>, kind: Kind) -> ApiResult<Response> {
    let m = parse_body(body)?;
    check_model(&m, &state.engine)?;
    check_greedy(&m)?;
    let prompt = match kind {
        Kind::Text => completion_prompt(&m, &state.engine)?,
        Kind::Chat => chat_prompt(&m, &state.engine)?,
    };
    let n = max_tokens(&m, &state, prompt.len())?;
    let stream = m.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = m.get("stream_options").and_then(|o| o.get("include_usage")).and_then(Value::as_bool).unwrap_or(false);

    // Refuse early when the queue is full (the job could not be accepted).
    let q = state.queue.clone();
    let counts = blocking(move || q.counts())
        .await?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable", e.to_string()))?;
    if counts.queued >= state.limits.max_queued {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            format!("{} proof jobs are waiting (limit {}); try again later", counts.queued, state.limits.max_queued),
        ));
    }
    let permit = state.slots.clone().acquire_owned().await.map_err(|_| ApiError::internal("the server is shutting down"))?;
    let id = new_id();
    let created = unix_now();
    if stream {
        let chunks = Chunks { id, created, kind };
        return Ok(stream_response(state.clone(), prompt, n, chunks, include_usage, permit));
    }
    let st = state.clone();
    let (prompt, completion, job) = blocking(move || {
        let completion = st.engine.generate(&prompt, n, |_| {})?;
        let job = NewJob { id: id.clone(), model_commitment: st.engine.commitment.clone(), prompt_ids: prompt.clone(), completion_ids: completion.clone() };
        st.queue.enqueue(&job).map_err(|e| e.to_string())?;
        st.wake.notify();
        Ok::<_, String>((prompt, completion, job))
    })
    .await?
    .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "generation_or_queue_failed", e))?;
    drop(permit);
    let e = &state.engine;
    let visible: Vec<u32> = completion.iter().copied().filter(|&t| !e.tokenizer.is_eog(t)).collect();
    let text = e.text(&visible);
    let finish = if completion.len() < n { "stop" } else { "length" };
    let usage = json!({ "prompt_tokens": prompt.len(), "completion_tokens": completion.len(), "total_tokens": prompt.len() + completion.len() });
    let zk = zk_object(e, &job.id, &prompt, Some(&completion));
    let body = match kind {
        Kind::Text => json!({
            "id": format!("cmpl-{}", job.id),
            "object": "text_completion",
            "created": created,
            "model": e.model_id,
            "choices": [{ "index": 0, "text": text, "logprobs": null, "finish_reason": finish }],
            "usage": usage,
            "zkinfer": zk,
        }),
        Kind::Chat => json!({
            "id": format!("chatcmpl-{}", job.id),
            "object": "chat.completion",
            "created": created,
            "model": e.model_id,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "logprobs": null, "finish_reason": finish }],
            "usage": usage,
            "zkinfer": zk,
        }),
    };
    Ok(axum::Json(body).into_response())
}

/// How stream chunks are shaped for one request.
#[derive(Debug, Clone)]
struct Chunks {
    id: String,
    created: u64,
    kind: Kind,
}

impl Chunks {
    fn event(&self, e: &Engine, piece: Option<&str>, role: bool, finish: Option<&str>, extra: Option<Value>) -> Event {
        let choice = match self.kind {
            Kind::Text => json!({ "index": 0, "text": piece.unwrap_or(""), "logprobs": null, "finish_reason": finish }),
            Kind::Chat => {
                let mut delta = json!({});
                if role {
                    delta["role"] = json!("assistant");
                }
                if let Some(p) = piece {
                    delta["content"] = json!(p);
                }
                json!({ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish })
            }
        };
        let (prefix, object) = match self.kind {
            Kind::Text => ("cmpl", "text_completion"),
            Kind::Chat => ("chatcmpl", "chat.completion.chunk"),
        };
        let mut v = json!({
            "id": format!("{prefix}-{}", self.id),
            "object": object,
            "created": self.created,
            "model": e.model_id,
            "choices": [choice],
            "zkinfer": zk_object(e, &self.id, &[], None),
        });
        if let Some(Value::Object(extra)) = extra {
            for (k, x) in extra {
                v[k] = x;
            }
        }
        Event::default().data(v.to_string())
    }
}

/// A server-sent-events answer: one chunk per piece of text as tokens are generated, then the
/// chunk with `finish_reason` (sent once the proof job is queued, with the prompt and completion
/// ids in its `zkinfer` object), then `[DONE]`. A failure after the stream started is an
/// `{"error": …}` event.
fn stream_response(state: Arc<AppState>, prompt: Vec<u32>, n: usize, chunks: Chunks, include_usage: bool, permit: OwnedSemaphorePermit) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
    tokio::task::spawn_blocking(move || {
        let _slot = permit;
        run_stream(&state, &prompt, n, &tx, &chunks, include_usage);
        let _ = tx.blocking_send(Event::default().data("[DONE]"));
    });
    let events = futures_util::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok::<Event, Infallible>);
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

fn run_stream(st: &AppState, prompt: &[u32], n: usize, tx: &tokio::sync::mpsc::Sender<Event>, chunks: &Chunks, include_usage: bool) {
    let e = &st.engine;
    let mut decoder = zkinfer_tokenizer::StreamDecoder::new(&e.tokenizer);
    // Chat streams open with the assistant role, as OpenAI's do.
    let mut role = chunks.kind == Kind::Chat;
    if role {
        let _ = tx.blocking_send(chunks.event(e, Some(""), true, None, None));
        role = false;
    }
    let generated = e.generate(prompt, n, |t| {
        if e.tokenizer.is_eog(t) {
            return;
        }
        let piece = decoder.push(t).unwrap_or_default();
        if !piece.is_empty() {
            // A client that went away does not stop the generation: its job is still queued.
            let _ = tx.blocking_send(chunks.event(e, Some(&piece), role, None, None));
        }
    });
    let fail = |msg: String| {
        let body = json!({ "error": { "message": msg, "type": "server_error", "param": null, "code": "generation_or_queue_failed" } });
        let _ = tx.blocking_send(Event::default().data(body.to_string()));
    };
    let completion = match generated {
        Ok(c) => c,
        Err(msg) => return fail(msg),
    };
    let tail = decoder.finish();
    if !tail.is_empty() {
        let _ = tx.blocking_send(chunks.event(e, Some(&tail), false, None, None));
    }
    let job = NewJob { id: chunks.id.clone(), model_commitment: e.commitment.clone(), prompt_ids: prompt.to_vec(), completion_ids: completion.clone() };
    if let Err(err) = st.queue.enqueue(&job) {
        return fail(err.to_string());
    }
    st.wake.notify();
    let finish = if completion.len() < n { "stop" } else { "length" };
    let mut extra = json!({ "zkinfer": zk_object(e, &chunks.id, prompt, Some(&completion)) });
    if include_usage {
        extra["usage"] = json!({ "prompt_tokens": prompt.len(), "completion_tokens": completion.len(), "total_tokens": prompt.len() + completion.len() });
    }
    let piece = (chunks.kind == Kind::Text).then_some("");
    let _ = tx.blocking_send(chunks.event(e, piece, false, Some(finish), Some(extra)));
}
