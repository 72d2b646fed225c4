//! Loading a model of any registered architecture (`zkinfer_model::ARCHITECTURES`, chosen by the
//! GGUF's `general.architecture`) for `generate` and `logits`; `setup`, `prove` and `bench` load
//! the same [`Model`] through `proving::load`. There is no per-architecture code here.
//!
//! The architecture decides the tokenizer and when greedy generation stops
//! (`Architecture::stop_tokens`): GPT-2 generates exactly `-n` tokens; Llama-family models stop
//! after an end-of-generation token (`-n` is then the maximum). `setup` puts the same stop set in
//! the key, and `verify` checks the stopping rule against it.

use crate::ui::{Kind, Tag as _};
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, ModelError};
use zkinfer_tokenizer::Tokenizer;

/// Logits of every position (float reference or dequantized integer model).
pub fn logits(model: &Model, ids: &[u32], float: bool) -> Result<Vec<Vec<f32>>, ModelError> {
    if float { model.logits_f32(ids) } else { model.logits_int(ids) }
}

/// Greedy generation of up to `n` tokens, stopping after a token in `stop`.
pub fn generate(model: &Model, prompt: &[u32], n: usize, float: bool, stop: &[u32], on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
    if float { model.generate_f32_until(prompt, n, stop, on_token) } else { model.generate_int_until(prompt, n, stop, on_token) }
}

/// Opens a model file of any supported architecture.
pub fn open_any(path: &std::path::Path) -> anyhow::Result<(GgufFile, Model)> {
    let gguf = super::proving::open_gguf(path)?;
    let model = Model::load(&gguf).tag(Kind::Format, || format!("cannot load model {}", path.display()))?;
    Ok((gguf, model))
}

/// The tokenizer the model's architecture chooses, and its stop tokens.
pub fn tokenizer(gguf: &GgufFile, model: &Model) -> anyhow::Result<(Tokenizer, Vec<u32>)> {
    let tokenizer = model.architecture().tokenizer(gguf).tag(Kind::Format, || "cannot build the tokenizer".into())?;
    let stop = model.architecture().stop_tokens(&tokenizer);
    Ok((tokenizer, stop))
}
