//! The architectures `generate` and `logits` run, chosen by the GGUF's `general.architecture`.
//!
//! GPT-2 (`gpt2`) generates exactly `-n` tokens; Llama-family models (`llama`) stop after an
//! end-of-generation token (`-n` is then the maximum). `setup`, `prove` and `bench` use the same
//! dispatch ([`AnyModel`] is a [`ProvableModel`]); the key records the stop set.

use crate::ui::{Kind, Tag as _};
use zkinfer_gguf::GgufFile;
use zkinfer_model::{GraphTemplate, IntForward, LlamaModel, Model, ModelError, Weights};
use zkinfer_proof::ProvableModel;

/// A loaded model of any supported architecture.
#[derive(Debug)]
pub enum AnyModel {
    /// `gpt2`.
    Gpt2(Model),
    /// `llama`.
    Llama(LlamaModel),
}

impl AnyModel {
    /// Loads the architecture the file declares.
    pub fn load(gguf: &GgufFile) -> Result<Self, ModelError> {
        match gguf.architecture().unwrap_or_default() {
            "llama" => Ok(AnyModel::Llama(LlamaModel::load(gguf)?)),
            _ => Ok(AnyModel::Gpt2(Model::load(gguf)?)),
        }
    }

    /// The model as the proof system sees it.
    pub fn provable(&self) -> &dyn ProvableModel {
        match self {
            AnyModel::Gpt2(m) => m,
            AnyModel::Llama(m) => m,
        }
    }

    /// Frees the float reference (proving never uses it).
    pub fn drop_float_reference(&mut self) {
        match self {
            AnyModel::Gpt2(m) => m.drop_float_reference(),
            AnyModel::Llama(m) => m.drop_float_reference(),
        }
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        match self {
            AnyModel::Gpt2(m) => m.config().n_vocab,
            AnyModel::Llama(m) => m.config().n_vocab,
        }
    }

    /// Context length.
    pub fn n_ctx(&self) -> usize {
        match self {
            AnyModel::Gpt2(m) => m.config().n_ctx,
            AnyModel::Llama(m) => m.config().n_ctx,
        }
    }

    /// Logits of every position (float reference or dequantized integer model).
    pub fn logits(&self, ids: &[u32], float: bool) -> Result<Vec<Vec<f32>>, ModelError> {
        match (self, float) {
            (AnyModel::Gpt2(m), true) => m.logits_f32(ids),
            (AnyModel::Gpt2(m), false) => m.logits_int(ids),
            (AnyModel::Llama(m), true) => m.logits_f32(ids),
            (AnyModel::Llama(m), false) => m.logits_int(ids),
        }
    }

    /// Greedy generation of up to `n` tokens; Llama stops after a token in `stop`.
    pub fn generate(&self, prompt: &[u32], n: usize, float: bool, stop: &[u32], on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        match (self, float) {
            (AnyModel::Gpt2(m), true) => m.generate_f32(prompt, n, on_token),
            (AnyModel::Gpt2(m), false) => m.generate_int(prompt, n, on_token),
            (AnyModel::Llama(m), true) => m.generate_f32(prompt, n, stop, on_token),
            (AnyModel::Llama(m), false) => m.generate_int(prompt, n, stop, on_token),
        }
    }
}

/// Opens a model file of any supported architecture.
pub fn open_any(path: &std::path::Path) -> anyhow::Result<(GgufFile, AnyModel)> {
    let gguf = super::zk::open_gguf(path)?;
    let model = AnyModel::load(&gguf).tag(Kind::Format, || format!("cannot load model {}", path.display()))?;
    Ok((gguf, model))
}

impl ProvableModel for AnyModel {
    fn architecture(&self) -> &'static str {
        self.provable().architecture()
    }
    fn weights(&self) -> &Weights {
        self.provable().weights()
    }
    fn graph_template(&self) -> Result<GraphTemplate, ModelError> {
        self.provable().graph_template()
    }
    fn forward_int_outputs(&self, ids: &[u32], n_out: usize) -> Result<IntForward, ModelError> {
        self.provable().forward_int_outputs(ids, n_out)
    }
    fn generate_until(&self, prompt: &[u32], n: usize, stop: &[u32], on_token: &mut dyn FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.provable().generate_until(prompt, n, stop, on_token)
    }
}
