//! Shared plumbing of the proof commands: loading a model with its tokenizer, key files, progress.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProvingKey, Stage, VerifyingKey, fsio, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

/// File name of the verifying key inside a keys directory.
pub const VK_FILE: &str = "vk.bin";

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

/// Reads the setup proof beside a key and checks it against `vk` (the key alone, no model).
pub fn check_setup_proof(p: &Path, vk: &VerifyingKey) -> anyhow::Result<()> {
    let path = setup_proof_path(p);
    let bytes = std::fs::read(&path).with_context(|| {
        format!("cannot read the setup proof {} (it proves the key's weight bounds; rerun `zkinfer setup`)", path.display())
    })?;
    let proof = zkinfer_proof::SetupProof::from_bytes(&bytes).with_context(|| format!("{} is not a valid setup proof", path.display()))?;
    zkinfer_proof::verify_setup(vk, &proof).with_context(|| format!("the setup proof {} is invalid", path.display()))
}

/// A loaded model with everything proving needs.
#[derive(Debug)]
pub struct Loaded {
    /// The integer model (its float reference is dropped: proving never uses it).
    pub model: Model,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// SHA-256 of the GGUF file.
    pub sha256: [u8; 32],
}

/// Loads a model, its tokenizer and its file hash from a parsed GGUF.
pub fn load(gguf: &GgufFile, what: &str) -> anyhow::Result<Loaded> {
    let mut model = Model::load(gguf).with_context(|| format!("cannot load model {what}"))?;
    model.drop_float_reference();
    let tokenizer = Tokenizer::from_gguf(gguf).with_context(|| format!("cannot build the tokenizer of {what}"))?;
    let sha256: [u8; 32] = hex::decode(gguf.sha256_hex())
        .ok()
        .and_then(|v| v.try_into().ok())
        .context("file hash")?;
    Ok(Loaded { model, tokenizer, sha256 })
}

/// Loads a model file.
pub fn load_path(path: &Path) -> anyhow::Result<Loaded> {
    let gguf = GgufFile::open(path).with_context(|| format!("cannot load model {}", path.display()))?;
    load(&gguf, &path.display().to_string())
}

/// Packed weight polynomials from this many variables on are recommitted after the witness
/// opening instead of being held through the whole proof (GPT-2 small packs into 2^27).
pub const RECOMMIT_FROM_VARS: usize = 24;

/// True if the model behind `vk` is large enough for [`zkinfer_proof::WeightCommitment::Recommit`].
pub fn recommits_weights(vk: &VerifyingKey) -> bool {
    vk.weight_packed_num_vars().is_some_and(|n| n >= RECOMMIT_FROM_VARS)
}

/// How the prover gets the weight commitment: held from setup for small models; recomputed after
/// the witness opening for large ones, so that the two commitments' data are never resident
/// together (lower peak memory for one more weight commitment).
pub fn weight_commitment(pk: ProvingKey) -> (VerifyingKey, zkinfer_proof::WeightCommitment) {
    let ProvingKey { vk, weight_data } = pk;
    if recommits_weights(&vk) {
        drop(weight_data);
        (vk, zkinfer_proof::WeightCommitment::Recommit)
    } else {
        (vk, zkinfer_proof::WeightCommitment::Ready(Box::new(weight_data)))
    }
}

/// Runs setup with a spinner.
pub fn run_setup(l: &Loaded, quiet: bool) -> anyhow::Result<ProvingKey> {
    let bar = spinner(quiet, "setup: committing the weights");
    let pk = setup(&l.model, vocab_bytes(&l.tokenizer), l.sha256).context("setup failed")?;
    bar.finish_and_clear();
    Ok(pk)
}

/// The verifying-key path given a key file or a keys directory.
pub fn vk_path(p: &Path) -> PathBuf {
    if p.is_dir() { p.join(VK_FILE) } else { p.to_path_buf() }
}

/// Reads a verifying key.
pub fn read_vk(p: &Path) -> anyhow::Result<VerifyingKey> {
    let path = vk_path(p);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read verifying key {}", path.display()))?;
    VerifyingKey::from_bytes(&bytes).with_context(|| format!("{} is not a valid verifying key", path.display()))
}

/// Writes a file atomically, with a clear error.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fsio::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// A spinner on stderr (hidden when `quiet` or when stderr is not a terminal).
pub fn spinner(quiet: bool, msg: &str) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(msg.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Progress messages for the proving stages.
pub fn stage_message(stage: Stage) -> &'static str {
    match stage {
        Stage::Generate => "generating (integer model, KV cache)",
        Stage::Trace => "tracing the forward pass over prompt + completion",
        Stage::ProveGraph => "committing the witness and proving the graph",
        Stage::Open => "opening the witness and weight commitments",
    }
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), 0 if unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
