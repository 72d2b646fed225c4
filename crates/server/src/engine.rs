//! The model a server or worker holds: the integer model (any architecture of the model crate's
//! registry, loaded as `zkinfer setup` loads it), its tokenizer, its verifying key and setup proof
//! (served at `/v1/vk`), and the two things it does — greedy generation for a request (stopping
//! at the key's end-of-generation set) and the proof of a queued job. Both go through the proof
//! crate's own entry points (`zkinfer_proof::setup` / `prove_consuming`), the same the CLI's
//! `setup` and `prove` use, so the proofs are exactly what `zkinfer verify` checks.

use std::path::{Path, PathBuf};
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProofFile, Stage, VerifyingKey, WeightCommitment};
use zkinfer_tokenizer::Tokenizer;

/// Peak bytes one proof needs per weight parameter, plus a fixed part: measured on GPT-2 small
/// (124 M parameters, 32 tokens: peak 7.0–7.3 GB, `docs/BENCHMARKS.md`), about 57 B per
/// parameter; 64 B leaves a margin. The fixed part covers small models (the tiny GPT-2, 3.3 M
/// parameters: peak 0.4–1.0 GB at 8–32 positions). Override with `--proof-memory`.
pub const PROOF_BYTES_PER_PARAM: u64 = 64;
/// The fixed part of [`PROOF_BYTES_PER_PARAM`]'s estimate.
pub const PROOF_BYTES_FIXED: u64 = 512 << 20;

/// A model ready to serve and prove.
#[derive(Debug)]
pub struct Engine {
    /// The integer model.
    pub model: Model,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// The verifying key from the keys directory (checked against the model at load).
    pub vk: VerifyingKey,
    /// The key's bytes, as served.
    pub vk_bytes: Vec<u8>,
    /// The setup proof's bytes (`setup-proof.bin`), as served.
    pub setup_proof_bytes: Vec<u8>,
    /// Model commitment (hex).
    pub commitment: String,
    /// The id `/v1/models` lists (the GGUF's file stem unless aliased).
    pub model_id: String,
    /// The chat template (the GGUF's `tokenizer.chat_template`, or the override).
    pub chat_template: Option<String>,
    /// The proving key held between proofs (small models: its weight commitment data is cloned
    /// into each proof); `None`: the weights are recommitted per proof and checked against `vk`.
    pk: Option<zkinfer_proof::ProvingKey>,
    /// Weight parameters (for the memory estimate).
    pub params: u64,
}

/// A failure to load what `serve`/`worker` need (with the file that caused it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

fn load_err(msg: impl Into<String>) -> LoadError {
    LoadError(msg.into())
}

/// The verifying-key path of a keys directory (or the key file itself) and its setup proof.
fn key_paths(keys: &Path) -> (PathBuf, PathBuf) {
    if keys.is_dir() {
        (keys.join("vk.bin"), keys.join("setup-proof.bin"))
    } else {
        let dir = keys.parent().map(Path::to_path_buf).unwrap_or_default();
        (keys.to_path_buf(), dir.join("setup-proof.bin"))
    }
}

/// Progress of a proof, as the prover reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofProgress {
    /// A stage started (`index` of `of`, from 1).
    Stage {
        /// Its name.
        name: &'static str,
        /// 1-based.
        index: usize,
        /// Stages in all.
        of: usize,
    },
    /// Tokens re-generated so far.
    Tokens {
        /// Done.
        generated: usize,
        /// In all.
        total: usize,
    },
}

impl Engine {
    /// Loads `model` and the keys `setup` wrote into `keys` (a directory or `vk.bin`), and
    /// checks that they belong together: the key records the GGUF's SHA-256, its setup proof
    /// verifies, and (small models) the weight commitment recomputed here equals the key's.
    pub fn load(model: &Path, keys: &Path, alias: Option<&str>, chat_template: Option<&Path>) -> Result<Engine, LoadError> {
        let gguf = GgufFile::open(model).map_err(|e| load_err(format!("cannot load model {}: {e}", model.display())))?;
        let mut m = Model::load(&gguf).map_err(|e| load_err(format!("cannot load model {}: {e}", model.display())))?;
        m.drop_float_reference();
        let tokenizer = m.architecture().tokenizer(&gguf).map_err(|e| load_err(format!("cannot build the tokenizer of {}: {e}", model.display())))?;
        let sha256 = gguf.sha256_hex();
        let (vk_path, proof_path) = key_paths(keys);
        let vk_bytes = std::fs::read(&vk_path).map_err(|e| load_err(format!("cannot read verifying key {}: {e}", vk_path.display())))?;
        if zkinfer_proof::zk_key::is_zk_key(&vk_bytes) {
            return Err(load_err(zkinfer_proof::zk_key::refusal(&vk_path)));
        }
        let vk = VerifyingKey::from_bytes(&vk_bytes).map_err(|e| load_err(format!("{} is not a valid verifying key: {e}", vk_path.display())))?;
        if hex::encode(vk.model_sha256) != sha256 {
            return Err(load_err(format!(
                "the keys {} were made from another file (SHA-256 {}), not {}: run `zkinfer setup -m {} -o DIR`",
                vk_path.display(),
                hex::encode(vk.model_sha256),
                model.display(),
                model.display()
            )));
        }
        let setup_proof_bytes = std::fs::read(&proof_path)
            .map_err(|e| load_err(format!("cannot read the setup proof {} (rerun `zkinfer setup`): {e}", proof_path.display())))?;
        let setup_proof = zkinfer_proof::SetupProof::from_bytes(&setup_proof_bytes)
            .map_err(|e| load_err(format!("{} is not a valid setup proof: {e}", proof_path.display())))?;
        zkinfer_proof::verify_setup(&vk, &setup_proof).map_err(|e| load_err(format!("the setup proof {} is invalid: {e}", proof_path.display())))?;
        // The proof crate's memory policy (the CLI's): large models recommit the weights per proof.
        let recommit = zkinfer_proof::memory::recommits_weights(&vk);
        let pk = if recommit {
            None
        } else {
            let pk = zkinfer_proof::setup(&m, zkinfer_proof::vocabulary(&tokenizer, &m), vk.model_sha256)
                .map_err(|e| load_err(format!("cannot commit the weights of {}: {e}", model.display())))?;
            if pk.vk.digest() != vk.digest() {
                return Err(load_err(format!(
                    "{} commits to {}, but the key {} is for {}",
                    model.display(),
                    pk.vk.model_commitment_hex(),
                    vk_path.display(),
                    vk.model_commitment_hex()
                )));
            }
            Some(pk)
        };
        let chat_template = match chat_template {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| load_err(format!("cannot read chat template {}: {e}", p.display())))?),
            None => zkinfer_tokenizer::chat::gguf_chat_template(&gguf).ok().map(str::to_owned),
        };
        let model_id = alias.map(str::to_owned).unwrap_or_else(|| {
            model.file_stem().map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned())
        });
        let params = vk.weights.iter().map(|w| w.shape.iter().product::<usize>() as u64).sum();
        Ok(Engine {
            commitment: vk.model_commitment_hex(),
            model: m,
            tokenizer,
            vk,
            vk_bytes,
            setup_proof_bytes,
            model_id,
            chat_template,
            pk,
            params,
        })
    }

    /// Context length (positions).
    pub fn n_ctx(&self) -> usize {
        self.model.config().n_ctx
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.model.config().n_vocab
    }

    /// The most new tokens a prompt of `prompt_len` tokens leaves room for: the proven pass
    /// covers prompt + n − 1 positions (the last new token is not fed back).
    pub fn max_new_tokens(&self, prompt_len: usize) -> usize {
        (self.n_ctx() + 1).saturating_sub(prompt_len)
    }

    /// Estimated peak memory of one proof (see [`PROOF_BYTES_PER_PARAM`]).
    pub fn proof_memory_estimate(&self) -> u64 {
        self.params.saturating_mul(PROOF_BYTES_PER_PARAM).saturating_add(PROOF_BYTES_FIXED)
    }

    /// Greedy generation of up to `n` tokens (integer model, KV cache: the computation that is
    /// proven), stopping after a token of the key's end-of-generation set (empty for GPT-2);
    /// `on_token` sees each id as it is generated.
    pub fn generate(&self, prompt: &[u32], n: usize, on_token: impl FnMut(u32)) -> Result<Vec<u32>, String> {
        self.model.generate_int_until(prompt, n, &self.vk.eog_ids, on_token).map_err(|e| e.to_string())
    }

    /// Proves that the committed model generates `completion` after `prompt`; returns the proof
    /// file's bytes (what `zkinfer verify` reads).
    pub fn prove(&self, prompt: &[u32], completion: &[u32], mut progress: impl FnMut(ProofProgress)) -> Result<Vec<u8>, String> {
        let weights = match &self.pk {
            Some(pk) => WeightCommitment::Ready(Box::new(pk.weight_data.clone())),
            None => WeightCommitment::Recommit,
        };
        let stages = 4;
        let (proof, _timings): (ProofFile, _) = zkinfer_proof::prove_consuming(
            &self.model,
            &self.vk,
            weights,
            prompt,
            completion.len(),
            |stage| {
                progress(match stage {
                    Stage::Generate => ProofProgress::Stage { name: "generate", index: 1, of: stages },
                    Stage::Token { generated, total } => ProofProgress::Tokens { generated, total },
                    Stage::Trace => ProofProgress::Stage { name: "trace", index: 2, of: stages },
                    Stage::ProveGraph => ProofProgress::Stage { name: "prove_graph", index: 3, of: stages },
                    Stage::Open => ProofProgress::Stage { name: "open", index: 4, of: stages },
                })
            },
        )
        .map_err(|e| format!("proving failed: {e}"))?;
        if proof.prompt_ids != prompt || proof.completion_ids != completion {
            return Err(format!(
                "the proven completion {:?} differs from the answered completion {:?}",
                proof.completion_ids, completion
            ));
        }
        Ok(proof.to_bytes())
    }

    /// Text of `ids` (a completion may end inside a multi-byte character: decoded lossily).
    pub fn text(&self, ids: &[u32]) -> String {
        self.tokenizer.decode_bytes(ids).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }
}
