//! Shared plumbing of the proof commands: loading a model with its tokenizer, key files,
//! request checks, progress messages.

use crate::ui::{self, Kind, Tag as _};
use std::path::{Path, PathBuf};
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProvingKey, Stage, VerifyingKey, setup, vocabulary};
use zkinfer_tokenizer::Tokenizer;

/// File name of the verifying key inside a keys directory.
pub const VK_FILE: &str = "vk.bin";
/// File name of the manifest `setup` writes beside the key (model commitment, sizes, source).
pub const MANIFEST_FILE: &str = "keys.json";

/// File name of the setup proof inside a keys directory (next to the verifying key).
pub const SETUP_PROOF_FILE: &str = "setup-proof.bin";

/// The setup-proof path of a key given as a file or a keys directory: the key's directory.
pub fn setup_proof_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join(SETUP_PROOF_FILE)
    } else {
        p.parent().map_or_else(|| PathBuf::from(SETUP_PROOF_FILE), |d| d.join(SETUP_PROOF_FILE))
    }
}

/// Reads the setup proof beside a key and checks it against `vk` (the key alone, no model): a
/// missing or malformed setup proof is an input error (exit 3), an invalid one a rejection (1).
pub fn check_setup_proof(p: &Path, vk: &VerifyingKey) -> anyhow::Result<()> {
    let path = setup_proof_path(p);
    ui::input_file(&path, "setup proof").map_err(|e| {
        ui::fail(Kind::Io, format!("{} (it proves the key's weight bounds; rerun `zkinfer setup`)", ui::describe(&e)))
    })?;
    let bytes = std::fs::read(&path).tag(Kind::Io, || format!("cannot read the setup proof {}", path.display()))?;
    let proof = zkinfer_proof::SetupProof::from_bytes(&bytes)
        .tag(Kind::Format, || format!("{} is not a valid setup proof", path.display()))?;
    zkinfer_proof::verify_setup(vk, &proof).tag(Kind::Rejected, || format!("the setup proof {} is invalid", path.display()))
}

/// A loaded model with everything proving needs.
#[derive(Debug)]
pub struct Loaded {
    /// The integer model of the file's architecture (its float reference is dropped: proving
    /// never uses it).
    pub model: Model,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// SHA-256 of the GGUF file.
    pub sha256: [u8; 32],
}

impl Loaded {
    /// The key's vocabulary: token bytes and the architecture's stop set.
    pub fn vocabulary(&self) -> zkinfer_proof::Vocabulary {
        vocabulary(&self.tokenizer, &self.model)
    }
}

/// Loads a model, its tokenizer and its file hash from a parsed GGUF.
pub fn load(gguf: &GgufFile, what: &str) -> anyhow::Result<Loaded> {
    let mut model = Model::load(gguf).tag(Kind::Format, || format!("cannot load model {what}"))?;
    model.drop_float_reference();
    let tokenizer = model.architecture().tokenizer(gguf).tag(Kind::Format, || format!("cannot build the tokenizer of {what}"))?;
    let sha256: [u8; 32] = hex::decode(gguf.sha256_hex())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ui::fail(Kind::Internal, "file hash"))?;
    Ok(Loaded { model, tokenizer, sha256 })
}

/// Opens a GGUF file (a missing file, a directory or a malformed file is reported as such).
pub fn open_gguf(path: &Path) -> anyhow::Result<GgufFile> {
    ui::input_file(path, "model")?;
    GgufFile::open(path).map_err(|e| {
        let kind = if matches!(e, zkinfer_gguf::GgufError::Io { .. }) { Kind::Io } else { Kind::Format };
        // The GGUF error's message names the file already when it is an I/O error.
        match kind {
            Kind::Io => ui::fail(kind, e.to_string()),
            _ => ui::fail(kind, format!("cannot load model {}: {e}", path.display())),
        }
    })
}

/// The prompt's token ids: with `chat`, the text as one user message rendered with the GGUF's
/// chat template (special tokens parsed, as llama.cpp's chat mode); otherwise the text encoded
/// as `--special` says.
pub fn prompt_ids(gguf: &GgufFile, tok: &Tokenizer, text: &str, chat: bool, special: bool) -> anyhow::Result<Vec<u32>> {
    if chat {
        Ok(zkinfer_tokenizer::chat::user_prompt(gguf, tok, text).tag(Kind::Format, || "cannot apply the chat template".into())?.1)
    } else {
        Ok(super::prompt::encode(tok, text, special))
    }
}

/// The text `generate` prints for `completion`: every token's bytes but a final
/// end-of-generation token of the key's set, lossy UTF-8 (what `verify` reports too).
pub fn completion_text(tok: &Tokenizer, vk: &VerifyingKey, completion: &[u32]) -> String {
    let shown = match completion.split_last() {
        Some((last, rest)) if vk.eog_ids.binary_search(last).is_ok() => rest,
        _ => completion,
    };
    String::from_utf8_lossy(&tok.decode_bytes(shown).unwrap_or_default()).into_owned()
}

/// Loads a model file.
pub fn load_path(path: &Path) -> anyhow::Result<Loaded> {
    let gguf = open_gguf(path)?;
    load(&gguf, &path.display().to_string())
}

/// Refuses `-n 0`. `generate` and `prove` call it before loading the model, so the mistake is
/// reported at once rather than after a model load of seconds (or minutes for a large model).
pub fn check_n(n: usize) -> anyhow::Result<()> {
    if n == 0 {
        return Err(ui::fail(Kind::Usage, "-n/--n-predict must be at least 1"));
    }
    Ok(())
}

/// Checks a generation request before any heavy work: a non-empty prompt inside the vocabulary,
/// at least one token, and a proven pass (prompt + n − 1 positions: the last generated token is
/// not an input) that fits the context.
pub fn check_request(prompt: &[u32], n: usize, n_ctx: usize, n_vocab: usize) -> anyhow::Result<()> {
    if prompt.is_empty() {
        return Err(ui::fail(Kind::Usage, "the prompt encodes to no tokens; give a non-empty prompt"));
    }
    check_n(n)?;
    if let Some(id) = prompt.iter().find(|&&id| id as usize >= n_vocab) {
        return Err(ui::fail(Kind::Request, format!("token id {id} is outside the vocabulary ({n_vocab} tokens)")));
    }
    let positions = prompt.len().saturating_add(n - 1);
    if positions > n_ctx {
        return Err(ui::fail(
            Kind::Request,
            format!(
                "prompt ({} tokens) + {n} new tokens need {positions} positions (the last new token is not fed back), \
                 more than the context length {n_ctx}; at most {} new tokens fit",
                prompt.len(),
                (n_ctx + 1).saturating_sub(prompt.len())
            ),
        ));
    }
    Ok(())
}

/// The memory policy (hold the weight commitment or recommit; default chunk size and its
/// estimate) is the proof crate's, shared with the server and the benches.
pub use zkinfer_proof::memory::{default_chunk, estimated_peak_bytes, recommits_weights, weight_commitment};

/// Commits the weights (setup).
pub fn run_setup(l: &Loaded) -> anyhow::Result<ProvingKey> {
    setup(&l.model, l.vocabulary(), l.sha256).tag(Kind::Internal, || "setup failed".into())
}

/// The verifying-key path given a key file or a keys directory.
pub fn vk_path(p: &Path) -> PathBuf {
    if p.is_dir() { p.join(VK_FILE) } else { p.to_path_buf() }
}

/// The model commitment `setup` recorded beside the key at `vk` (in `keys.json`), if any.
fn recorded_commitment(vk: &Path) -> Option<String> {
    let dir = vk.parent()?;
    let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    if v["vk"].as_str()? != vk.file_name()?.to_str()? {
        return None;
    }
    v["model_commitment"].as_str().map(str::to_owned)
}

/// A verifying key of either kind.
pub enum AnyKey {
    /// A public key (`setup`).
    Public(Box<VerifyingKey>),
    /// A zero-knowledge key (`setup --zk`).
    Zk(Box<zkinfer_proof::zk_key::ZkVerifyingKey>),
}

/// The bytes of the key at `p`. A key whose bytes no longer match the commitment `setup`
/// recorded in `keys.json` is reported as damaged.
fn read_key_bytes(p: &Path) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let path = vk_path(p);
    ui::input_file(&path, "verifying key")?;
    let bytes = std::fs::read(&path).tag(Kind::Io, || format!("cannot read verifying key {}", path.display()))?;
    let recorded = recorded_commitment(&path);
    let digest = hex::encode(blake3::hash(&bytes).as_bytes());
    if let Some(r) = &recorded
        && *r != digest
    {
        return Err(ui::fail(
            Kind::Format,
            format!(
                "verifying key {} is damaged: its digest {digest} does not match the model commitment {r} \
                 that setup recorded in {MANIFEST_FILE} (run setup again)",
                path.display()
            ),
        ));
    }
    Ok((path, bytes))
}

/// Reads a verifying key of either kind ([`read_key_bytes`]'s damage check first).
pub fn read_any_vk(p: &Path) -> anyhow::Result<AnyKey> {
    let (path, bytes) = read_key_bytes(p)?;
    if zkinfer_proof::zk_key::is_zk_key(&bytes) {
        let vk = zkinfer_proof::zk_key::ZkVerifyingKey::from_bytes(&bytes)
            .tag(Kind::Format, || format!("{} is not a valid zero-knowledge verifying key", path.display()))?;
        return Ok(AnyKey::Zk(Box::new(vk)));
    }
    Ok(AnyKey::Public(Box::new(
        VerifyingKey::from_bytes(&bytes).tag(Kind::Format, || format!("{} is not a valid verifying key", path.display()))?,
    )))
}

/// Reads a public verifying key; a zero-knowledge key is refused with a clear message.
pub fn read_vk(p: &Path) -> anyhow::Result<VerifyingKey> {
    let (path, bytes) = read_key_bytes(p)?;
    if zkinfer_proof::zk_key::is_zk_key(&bytes) {
        return Err(ui::fail(Kind::Usage, zkinfer_proof::zk_key::refusal(&path)));
    }
    VerifyingKey::from_bytes(&bytes).tag(Kind::Format, || format!("{} is not a valid verifying key", path.display()))
}

/// The zk verifying key and the proving key's path (`pk.bin` beside `vk.bin`) for `prove --zk`:
/// refused with a clear message without keys, with a public key, or without `pk.bin`.
pub fn zk_keys(keys: Option<&Path>) -> anyhow::Result<(zkinfer_proof::zk_key::ZkVerifyingKey, PathBuf)> {
    let Some(keys) = keys else {
        return Err(ui::fail(Kind::Usage, "--zk needs the keys of `setup --zk` (--keys DIR: vk.bin and the secret pk.bin)"));
    };
    match read_any_vk(keys)? {
        AnyKey::Public(_) => Err(ui::fail(
            Kind::Usage,
            format!("--zk needs a zero-knowledge key, but {} is a public key (make one with `setup --zk`, or prove without --zk)", vk_path(keys).display()),
        )),
        AnyKey::Zk(vk) => {
            let vk_file = vk_path(keys);
            let pk = vk_file.parent().map_or_else(|| PathBuf::from(super::setup::ZK_PK_FILE), |d| d.join(super::setup::ZK_PK_FILE));
            ui::input_file(&pk, "zero-knowledge proving key (the secret pk.bin of `setup --zk`)")?;
            Ok((*vk, pk))
        }
    }
}

/// A proof-system error as a failure: a request the model cannot serve (exit 4), a malformed
/// key or proof (3), a rejection (1) or anything else.
pub fn proof_error(e: zkinfer_proof::ProofSystemError, context: &str) -> anyhow::Error {
    use zkinfer_proof::ProofSystemError as E;
    let kind = match &e {
        E::Request(_) => Kind::Request,
        E::Model(m) if matches!(m.downcast_ref(), Some(zkinfer_model::ModelError::TooLong { .. })) => Kind::Request,
        E::Decode(_) => Kind::Format,
        E::Model(_) => Kind::Internal,
        _ if context.starts_with("verif") => Kind::Rejected,
        _ => Kind::Internal,
    };
    let message = match &e {
        E::WrongModel { proof, key } => format!(
            "the proof was made for model {proof}, but the verifying key's model commitment is {key} \
             (another model's key, or a damaged one)"
        ),
        _ => ui::describe(&anyhow::Error::new(e)),
    };
    ui::fail(kind, format!("{context}: {message}"))
}

/// Progress message for a proving stage of a request of `n` new tokens after `prompt` tokens.
pub fn stage_message(stage: Stage, prompt: usize, n: usize) -> String {
    let positions = prompt + n.max(1) - 1;
    match stage {
        Stage::Generate => format!("generating {n} tokens (integer model, KV cache)"),
        Stage::Trace => format!("tracing the forward pass over {positions} positions"),
        Stage::ProveGraph => format!("committing the witness and proving the graph ({positions} positions)"),
        Stage::Open => "opening the witness and weight commitments".to_owned(),
        Stage::Token { generated, total } => ui::token_status(generated, total, 0.0),
    }
}

/// Shows a proving event: a new stage, or one more generated token (live count and estimate).
pub fn show_stage(progress: &mut ui::Progress, stage: Stage, prompt: usize, n: usize) {
    match stage {
        Stage::Token { generated, total } => progress.tokens(generated, total),
        stage => progress.stage(&stage_message(stage, prompt, n)),
    }
}

/// Writes the manifest of a keys directory.
pub fn write_manifest(dir: &Path, vk: &VerifyingKey, vk_bytes: usize, model: &Path) -> anyhow::Result<()> {
    let v = serde_json::json!({
        "model_commitment": vk.model_commitment_hex(),
        "vk": VK_FILE,
        "vk_bytes": vk_bytes,
        "model_sha256": hex::encode(vk.model_sha256),
        "model": model.display().to_string(),
    });
    let text = serde_json::to_string_pretty(&v).tag(Kind::Internal, || "manifest".into())?;
    ui::write_file(&dir.join(MANIFEST_FILE), format!("{text}\n").as_bytes(), "key manifest")
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), 0 if unknown.
pub fn peak_rss_bytes() -> u64 {
    zkinfer_procfs::peak_resident_bytes().unwrap_or(0)
}

/// Proves a generation chunk by chunk into the proof stream at `out` (atomically: a temporary file
/// renamed into place once complete), showing tokens generated and chunks proven on `progress`.
/// Returns the completion and the timings.
#[allow(clippy::too_many_arguments)]
pub fn prove_stream_file(
    loaded: &Loaded,
    vk: &VerifyingKey,
    weights: zkinfer_proof::WeightCommitment,
    prompt: &[u32],
    n: usize,
    chunk: usize,
    out: &Path,
    progress: ui::Progress,
) -> anyhow::Result<(Vec<u32>, zkinfer_proof::chunked::ChunkedTimings)> {
    let progress = std::sync::Mutex::new(progress);
    let generated = std::sync::atomic::AtomicUsize::new(0);
    let chunks = (prompt.len() + n - 1).div_ceil(chunk);
    let result = ui::write_streaming(out, "proof", |w| {
        let (_, completion, timings) =
            zkinfer_proof::chunked::prove_chunked(&loaded.model, vk, weights, prompt, n, chunk, w, |stage| {
                use zkinfer_proof::chunked::ChunkStage;
                if let ChunkStage::Token { generated: g, .. } = stage {
                    generated.store(g, std::sync::atomic::Ordering::Relaxed);
                }
                if let Ok(mut p) = progress.lock() {
                    show_chunk_stage(&mut p, stage, chunks, generated.load(std::sync::atomic::Ordering::Relaxed), n);
                }
            })
            .map_err(|e| proof_error(e, "proving failed"))?;
        Ok((completion, timings))
    });
    if let Ok(mut p) = progress.lock() {
        p.finish();
    }
    result
}

/// Shows a chunked proof's event: a token generated, a chunk started, the close (`generated` of
/// `n` tokens so far).
pub fn show_chunk_stage(progress: &mut ui::Progress, stage: zkinfer_proof::chunked::ChunkStage, chunks: usize, generated: usize, n: usize) {
    use zkinfer_proof::chunked::ChunkStage;
    match stage {
        ChunkStage::Token { generated, total } => progress.status(&format!("{generated}/{total} tokens generated")),
        ChunkStage::Chunk { index, start, len } => progress.stage(&format!(
            "proving chunk {}/{chunks} (positions {start}–{}); {generated}/{n} tokens generated",
            index + 1,
            start + len - 1
        )),
        ChunkStage::Proven { .. } => {}
        ChunkStage::Close => progress.stage(&format!("closing: opening the keys/values and the weights; {generated}/{n} tokens generated")),
    }
}
