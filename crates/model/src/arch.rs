//! Architectures: what differs between model families, behind one trait, and the registry that
//! picks one by the GGUF's `general.architecture`.
//!
//! An [`Architecture`] reads its hyperparameters from metadata (its registry entry's `read`),
//! names the tensors it needs ([`Architecture::tensor_shapes`]), quantizes them
//! ([`Architecture::quantize`]), builds the integer graph of a forward step
//! ([`Architecture::build`]) and chooses the tokenizer and the stop rule. Everything else is shared
//! and written once in [`crate::Model`]: loading and checking tensors, the integer forward pass
//! that gets proven, KV-cache generation, and the float reference — the interpreter of
//! [`crate::float`] running the *same* graph with float semantics per op on the unquantized
//! weights, so no architecture has a second, hand-written float forward pass.
//!
//! Adding an architecture: a module implementing [`Architecture`] (config from metadata, tensor
//! names, quantization, graph builder from the shared helpers of [`crate::build`]) and one line in
//! [`ARCHITECTURES`]; new ops also need their float semantics in [`crate::float`].

use crate::float::FloatSemantics;
use crate::graph::{Graph, Weights};
use crate::quant::QuantConfig;
use crate::source::ModelSource;
use crate::ModelError;
use zkinfer_tokenizer::{Tokenizer, TokenizerError};

/// A named float tensor: name, shape (outermost first), row-major values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// The hyperparameters every architecture has (what the shared inference code and the callers
/// need); the architecture's own are behind [`Architecture::hyperparameters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Transformer blocks.
    pub n_layer: usize,
    /// Model width.
    pub n_embd: usize,
    /// Query heads.
    pub n_head: usize,
    /// Context length.
    pub n_ctx: usize,
    /// Vocabulary size.
    pub n_vocab: usize,
    /// Whether the LM head is `token_embd.weight` (no `output.weight` in the file).
    pub tied_output: bool,
}

impl ModelConfig {
    /// Name of the LM-head matrix.
    pub fn lm_head(&self) -> &'static str {
        if self.tied_output { "token_embd.weight" } else { "output.weight" }
    }
}

/// The shape of one forward step: `n_new` positions after `n_past` cached ones, with the LM head
/// and argmax at `n_out` of the new positions (the rows the public input `out_rows: [n_out]`
/// selects, see [`crate::ops::gather`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepShape {
    /// New positions.
    pub n_new: usize,
    /// Cached positions before them.
    pub n_past: usize,
    /// Predicted positions (`[1, n_ctx]`).
    pub n_out: usize,
}

impl StepShape {
    /// The causal pass over `seq_len` positions with predictions at the `n_out` rows of
    /// `out_rows` (`n_past = 0`).
    pub fn pass(seq_len: usize, n_out: usize) -> Self {
        StepShape { n_new: seq_len, n_past: 0, n_out }
    }
}

/// One model family. Implementations hold their hyperparameters, fixed-point choices and tables;
/// they are built by their [`Registration::read`].
pub trait Architecture: std::fmt::Debug + Send + Sync {
    /// The GGUF `general.architecture` this implements.
    fn name(&self) -> &'static str;
    /// The shared hyperparameters.
    fn config(&self) -> ModelConfig;
    /// The architecture's own hyperparameters (e.g. [`crate::Gpt2Config`],
    /// [`crate::LlamaConfig`]), for [`crate::Model::hyperparameters`].
    fn hyperparameters(&self) -> &dyn std::any::Any;
    /// The implementation itself (e.g. [`crate::Llama`] for its own fixed-point choices), for
    /// [`crate::Model::architecture_as`].
    fn as_any(&self) -> &dyn std::any::Any;
    /// The shared fixed-point choices.
    fn quant(&self) -> &QuantConfig;
    /// Every tensor the model reads, with its expected shape (outermost first).
    fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)>;
    /// The committed integer weights, from the shape-checked float tensors.
    fn quantize(&self, tensors: &[NamedTensor]) -> Weights;
    /// The real values the graph's weights stand for (what [`Architecture::quantize`]
    /// quantized): the float reference runs the graph on these. Default: the file's tensors.
    fn float_weights(&self, tensors: Vec<NamedTensor>) -> Vec<NamedTensor> {
        tensors
    }
    /// The integer graph of one forward step (`n_past = 0`: the causal pass over the whole
    /// sequence, what is proven). Inputs `tokens: [n_new]`, `positions: [n_new]`, then (when
    /// `n_past > 0`) one input `X_past` per name `X` of [`Architecture::cached_tensors`], then
    /// `out_rows: [n_out]`, in that order; outputs `logits: [n_out, vocab]`,
    /// `next_token: [n_out]`. Written with [`crate::build::StepBuilder`], which declares the
    /// inputs and ends with the gather, the LM head and the argmax.
    fn build(&self, weights: &Weights, step: StepShape) -> Result<Graph, ModelError>;
    /// The tensors a KV-cache step carries to the next (default: every block's `attn_k`,
    /// `attn_v` heads).
    fn cached_tensors(&self) -> Vec<String> {
        (0..self.config().n_layer).flat_map(|l| [format!("blk.{l}.attn_k"), format!("blk.{l}.attn_v")]).collect()
    }
    /// What the float reference needs beyond the graph (the norms' real epsilon).
    fn float_semantics(&self) -> FloatSemantics;
    /// The final-logit soft-cap `c` (Gemma 2): the reported logits are `c·tanh(logit/c)`. The
    /// graph ends at the uncapped logits and the proven greedy token is their argmax, which the
    /// strictly increasing cap does not change. Default: none.
    fn final_logit_softcap(&self) -> Option<f32> {
        None
    }
    /// The tokenizer (default: the GGUF's own `tokenizer.ggml.*`).
    fn tokenizer(&self, gguf: &zkinfer_gguf::GgufFile) -> Result<Tokenizer, TokenizerError> {
        Tokenizer::from_gguf(gguf)
    }
    /// Tokens after which greedy generation stops (they are included in the output).
    fn stop_tokens(&self, tokenizer: &Tokenizer) -> Vec<u32>;
}

/// A registry entry: the architecture name and how to read its hyperparameters.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    /// `general.architecture`.
    pub name: &'static str,
    /// Reads and checks the hyperparameters and builds the architecture's tables.
    pub read: fn(&dyn ModelSource, QuantConfig) -> Result<Box<dyn Architecture>, ModelError>,
}

/// Every supported architecture.
pub static ARCHITECTURES: &[Registration] = &[
    Registration { name: "gpt2", read: crate::gpt2::Gpt2::read },
    Registration { name: "llama", read: crate::llama::Llama::read },
    Registration { name: "qwen2", read: crate::llama::Llama::read_qwen2 },
    Registration { name: "gemma", read: crate::gemma::Gemma::read },
    Registration { name: "gemma2", read: crate::gemma::Gemma::read },
    Registration { name: "gemma3", read: crate::gemma::Gemma::read },
];

/// The supported architecture names, comma-separated (for messages).
pub fn supported() -> String {
    ARCHITECTURES.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
}

/// The error for an architecture outside the registry.
pub fn unsupported(name: impl Into<String>) -> ModelError {
    ModelError::UnsupportedArchitecture { name: name.into(), supported: supported() }
}

/// The registry entry of `src`'s `general.architecture`.
pub fn read(src: &dyn ModelSource, quant: QuantConfig) -> Result<Box<dyn Architecture>, ModelError> {
    let name = src.architecture()?;
    let entry = ARCHITECTURES.iter().find(|r| r.name == name).ok_or_else(|| unsupported(name))?;
    (entry.read)(src, quant)
}

/// Checks that `src` declares `name` (for the architectures' own config readers).
pub(crate) fn expect_architecture(src: &dyn ModelSource, name: &str) -> Result<(), ModelError> {
    let arch = src.architecture()?;
    if arch != name {
        return Err(unsupported(arch));
    }
    Ok(())
}

/// Reads every tensor the architecture names as floats, checking its shape and finiteness.
pub fn load_float_tensors(shapes: Vec<(String, Vec<usize>)>, src: &dyn ModelSource) -> Result<Vec<NamedTensor>, ModelError> {
    shapes
        .into_iter()
        .map(|(name, shape)| {
            let got = src.tensor_shape(&name).ok_or_else(|| ModelError::MissingTensor(name.clone()))?;
            if got != shape {
                return Err(ModelError::TensorShape { name, expected: shape, got });
            }
            let values = src.tensor_f32(&name)?;
            if values.len() != shape.iter().product::<usize>() {
                return Err(ModelError::Source(format!("tensor {name}: {} values for shape {shape:?}", values.len())));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::Source(format!("tensor {name} holds a non-finite value")));
            }
            Ok((name, shape, values))
        })
        .collect()
}

/// The range checks both families share (block count, widths, context, vocabulary, norm epsilon).
pub(crate) fn check_common(cfg: &ModelConfig, n_ff: usize, eps: f32, eps_key: &str) -> Result<(), ModelError> {
    let bad = |m: String| Err(ModelError::Hyperparameters(m));
    let ModelConfig { n_layer, n_embd, n_ctx, n_vocab, .. } = *cfg;
    if n_layer == 0 || n_layer > 1024 {
        return bad(format!("block_count {n_layer} not in [1, 1024]"));
    }
    if n_embd == 0 || n_embd > 1 << 15 || n_ff == 0 || n_ff > 1 << 16 {
        return bad(format!("embedding_length {n_embd} / feed_forward_length {n_ff} out of range"));
    }
    if n_ctx == 0 || n_ctx > 1 << 16 {
        return bad(format!("context_length {n_ctx} not in [1, 65536]"));
    }
    if n_vocab == 0 || n_vocab > 1 << 24 {
        return bad(format!("vocabulary size {n_vocab} not in [1, 2^24]"));
    }
    if !(eps.is_finite() && eps > 0.0) {
        return bad(format!("{eps_key} {eps} is not positive"));
    }
    Ok(())
}
