//! Llama-family models (GGUF architecture `llama`: Llama, SmolLM, Mistral-style dense models):
//! hyperparameters, weight loading and quantization, the integer graph, the float reference and
//! the inference API ([`LlamaModel`]).
//!
//! The block is `x += Wo·attn(rope(Wq·n₁), rope(Wk·n₁), Wv·n₁)`,
//! `x += Wdown·(silu(Wgate·n₂) ⊙ Wup·n₂)` with `nᵢ = rmsnorm(x)·gᵢ`, no biases; grouped-query
//! attention (each KV head serves `n_head / n_head_kv` query heads); RoPE in llama.cpp's mode 0
//! (adjacent pairs: the converter permuted the Q/K rows, so this is what llama.cpp computes on
//! the file); the output head is `output.weight` or, when absent, `token_embd.weight` (tied).
//!
//! Integer graph (one step; `n_past > 0` reads cached keys/values like GPT-2's):
//! `Embedding → Rescale → [RmsNorm → MatMul q/k/v → Rescale → Clamp → SplitHeads → Rope (q, k)
//! → RepeatKv → QKᵀ → Rescale → CausalSoftmax → P·V → Rescale → MergeHeads → MatMul o → Add;
//! RmsNorm → MatMul gate → Rescale → Clamp → Silu, MatMul up → Rescale, Mul → Rescale → MatMul
//! down → Add] → RmsNorm → MatMul head → Argmax`. The attention scale `1/sqrt(head_dim)` is
//! folded into the quantized `attn_q` (exact in the integer graph for any head size).

pub mod float;
mod graph;

pub use float::{LlamaFloat, LlamaFloatCache};
pub use graph::LlamaParts;

use crate::graph::{Graph, GraphError, IntTrace, Weights, execute};
use crate::ops;
use crate::ops::IntOp;
use crate::ops::rope::Rope;
use crate::ops::silu::Silu;
use crate::quant::{QuantConfig, choose_frac, quantize_matrix, quantize_vector_at};
use crate::source::ModelSource;
use crate::tensor::{IntTensor, WeightTensor};
use crate::{IntForward, ModelError};
use std::sync::Arc;

/// Llama hyperparameters (from the `llama.*` metadata).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlamaConfig {
    /// Transformer blocks.
    pub n_layer: usize,
    /// Model width `D`.
    pub n_embd: usize,
    /// Query heads `H`.
    pub n_head: usize,
    /// Key/value heads `H_kv` (divides `H`).
    pub n_head_kv: usize,
    /// Per-head width.
    pub head_dim: usize,
    /// Context length.
    pub n_ctx: usize,
    /// Hidden width of the SwiGLU FFN.
    pub n_ff: usize,
    /// Vocabulary size.
    pub n_vocab: usize,
    /// RMSNorm epsilon.
    pub eps: f32,
    /// RoPE frequency base.
    pub rope_base: f32,
    /// Rotated dimensions per head.
    pub n_rot: usize,
    /// Whether the LM head is `token_embd.weight`.
    pub tied_output: bool,
}

impl LlamaConfig {
    /// Query heads per KV head.
    pub fn group(&self) -> usize {
        self.n_head / self.n_head_kv
    }

    /// Reads and checks the hyperparameters of a `llama` source.
    pub fn from_source(src: &dyn ModelSource) -> Result<Self, ModelError> {
        let arch = src.architecture()?;
        if arch != "llama" {
            return Err(ModelError::UnsupportedArchitecture(arch));
        }
        let u = |k: &str| src.meta_u32(&format!("llama.{k}")).map(|v| v as usize);
        let opt_u = |k: &str| -> Result<Option<usize>, ModelError> {
            let key = format!("llama.{k}");
            if src.has_meta(&key) { Ok(Some(src.meta_u32(&key)? as usize)) } else { Ok(None) }
        };
        let tok = src.tensor_shape("token_embd.weight").ok_or_else(|| ModelError::MissingTensor("token_embd.weight".into()))?;
        let bad = |m: String| Err(ModelError::Hyperparameters(m));
        let (n_embd, n_head) = (u("embedding_length")?, u("attention.head_count")?);
        if n_head == 0 || n_head > 1 << 12 {
            return bad(format!("head_count {n_head} not in [1, 4096]"));
        }
        let head_dim = match opt_u("attention.key_length")? {
            Some(k) => k,
            None if n_embd.is_multiple_of(n_head) => n_embd / n_head,
            None => return bad(format!("embedding_length {n_embd} not divisible by head_count {n_head}")),
        };
        if opt_u("attention.value_length")?.is_some_and(|v| v != head_dim) {
            return bad("attention.value_length differs from key_length".into());
        }
        let rope_base = if src.has_meta("llama.rope.freq_base") { src.meta_f32("llama.rope.freq_base")? } else { 10000.0 };
        if src.has_meta("llama.rope.scaling.factor") && src.meta_f32("llama.rope.scaling.factor")? != 1.0 {
            return bad("RoPE scaling is not supported".into());
        }
        if src.tensor_shape("rope_freqs.weight").is_some() {
            return bad("RoPE frequency factors (rope_freqs.weight) are not supported".into());
        }
        if opt_u("expert_count")?.is_some_and(|e| e > 0) {
            return bad("mixture-of-experts models are not supported".into());
        }
        let cfg = LlamaConfig {
            n_layer: u("block_count")?,
            n_embd,
            n_head,
            n_head_kv: opt_u("attention.head_count_kv")?.unwrap_or(n_head),
            head_dim,
            n_ctx: u("context_length")?,
            n_ff: u("feed_forward_length")?,
            n_vocab: tok.first().copied().unwrap_or(0),
            eps: src.meta_f32("llama.attention.layer_norm_rms_epsilon")?,
            rope_base,
            n_rot: opt_u("rope.dimension_count")?.unwrap_or(head_dim),
            tied_output: src.tensor_shape("output.weight").is_none(),
        };
        if cfg.n_layer == 0 || cfg.n_layer > 1024 {
            return bad(format!("block_count {} not in [1, 1024]", cfg.n_layer));
        }
        if cfg.n_embd == 0 || cfg.n_embd > 1 << 15 || cfg.n_ff == 0 || cfg.n_ff > 1 << 16 {
            return bad(format!("embedding_length {} / feed_forward_length {} out of range", cfg.n_embd, cfg.n_ff));
        }
        if cfg.n_head_kv == 0 || !cfg.n_head.is_multiple_of(cfg.n_head_kv) {
            return bad(format!("head_count {} not a multiple of head_count_kv {}", cfg.n_head, cfg.n_head_kv));
        }
        if cfg.head_dim == 0 || cfg.head_dim > 1024 || cfg.n_rot == 0 || cfg.n_rot > cfg.head_dim || !cfg.n_rot.is_multiple_of(2) {
            return bad(format!("head dimension {} / rope dimension_count {} invalid", cfg.head_dim, cfg.n_rot));
        }
        if cfg.n_ctx == 0 || cfg.n_ctx > 1 << 16 {
            return bad(format!("context_length {} not in [1, 65536]", cfg.n_ctx));
        }
        if cfg.n_vocab == 0 || cfg.n_vocab > 1 << 24 {
            return bad(format!("vocabulary size {} not in [1, 2^24]", cfg.n_vocab));
        }
        if opt_u("vocab_size")?.is_some_and(|v| v != cfg.n_vocab) {
            return bad(format!("llama.vocab_size differs from token_embd's {} rows", cfg.n_vocab));
        }
        if !(cfg.eps.is_finite() && cfg.eps > 0.0) {
            return bad(format!("layer_norm_rms_epsilon {} is not positive", cfg.eps));
        }
        if !(cfg.rope_base.is_finite() && cfg.rope_base > 1.0) {
            return bad(format!("rope.freq_base {} is not > 1", cfg.rope_base));
        }
        Ok(cfg)
    }

    /// Every tensor the model needs, with its expected shape (outermost first).
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, f, qd, kd) = (self.n_embd, self.n_ff, self.n_head * self.head_dim, self.n_head_kv * self.head_dim);
        let mut v = vec![("token_embd.weight".to_owned(), vec![self.n_vocab, d])];
        for l in 0..self.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            v.extend([
                (p("attn_norm.weight"), vec![d]),
                (p("attn_q.weight"), vec![qd, d]),
                (p("attn_k.weight"), vec![kd, d]),
                (p("attn_v.weight"), vec![kd, d]),
                (p("attn_output.weight"), vec![d, qd]),
                (p("ffn_norm.weight"), vec![d]),
                (p("ffn_gate.weight"), vec![f, d]),
                (p("ffn_up.weight"), vec![f, d]),
                (p("ffn_down.weight"), vec![d, f]),
            ]);
        }
        v.push(("output_norm.weight".to_owned(), vec![d]));
        if !self.tied_output {
            v.push(("output.weight".to_owned(), vec![self.n_vocab, d]));
        }
        v
    }

    /// Name of the LM-head matrix.
    pub fn lm_head(&self) -> &'static str {
        if self.tied_output { "token_embd.weight" } else { "output.weight" }
    }
}

/// The Llama-specific fixed-point choices (on top of the shared [`QuantConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlamaQuant {
    /// Shared choices (activations, softmax, norms, weights).
    pub base: QuantConfig,
    /// Fractional bits of SiLU inputs.
    pub silu_in_frac: u32,
    /// The SiLU table covers `[−2^(silu_in_bits−1), 2^(silu_in_bits−1))` (inputs are clamped).
    pub silu_in_bits: u32,
    /// Fractional bits of the RoPE cos/sin table.
    pub rope_frac: u32,
    /// `R`: fractional bits of the residual stream (below `A` so that Llama's massive
    /// activations, e.g. ≈ 18 500 in one SmolLM2 channel, fit RMSNorm's input bound).
    pub resid_frac: u32,
}

impl Default for LlamaQuant {
    fn default() -> Self {
        // SiLU over [−128, 128) at 2^-8 (2^16 rows, the lookup limit). SmolLM2's gate inputs
        // reach ≈ 61 in chat use, too close to the ±64 a 2^-9 table covers; below −128 silu is 0
        // to within 2^-170, above 128 the (proven) clamp saturates it at 128 — far beyond any
        // gate observed (`examples/llama_accuracy` prints the maximum).
        Self { base: QuantConfig::default(), silu_in_frac: 8, silu_in_bits: 16, rope_frac: 16, resid_frac: 10 }
    }
}

/// Reads every tensor as floats, checking its shape and finiteness.
pub fn load_float_tensors(cfg: &LlamaConfig, src: &dyn ModelSource) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>, ModelError> {
    cfg.tensor_shapes()
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

/// Quantizes the float tensors: matrices to `i16` with a per-tensor shift (`attn_q` scaled by
/// `1/sqrt(head_dim)` first), RMSNorm gains at the most precise position whose rounding shift
/// fits [`crate::ops::rmsnorm::RmsNorm::out_bits`].
pub fn quantize_weights(cfg: &LlamaConfig, q: &QuantConfig, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Weights {
    let mut w = Weights::default();
    let qscale = 1.0 / (cfg.head_dim as f64).sqrt();
    for (name, shape, values) in tensors {
        let t = if shape.len() == 2 {
            if name.ends_with("attn_q.weight") {
                let scaled: Vec<f32> = values.iter().map(|&v| (v as f64 * qscale) as f32).collect();
                quantize_matrix(shape.clone(), &scaled, q.weight_bits)
            } else {
                quantize_matrix(shape.clone(), values, q.weight_bits)
            }
        } else {
            quantize_rms_gain(q, shape, values)
        };
        w.insert(name.clone(), t);
    }
    w
}

/// An RMSNorm gain at the most precise position `g ≤ choose_frac(γ, gamma_bits)` whose shift
/// `s = K + g − A` satisfies `1 ≤ s` and `s + out_bits ≤ 62` (only tiny gains are affected; see
/// GPT-2's LayerNorm gains for why precision is kept).
fn quantize_rms_gain(q: &QuantConfig, shape: &[usize], values: &[f32]) -> WeightTensor {
    let a = q.act_frac as i32;
    let n = values.len();
    let mut frac = choose_frac(values, q.gamma_bits);
    loop {
        let t = quantize_vector_at(shape.to_vec(), values, frac, q.gamma_bits);
        let shift = q.ln_k as i32 + frac - a;
        let fits = (1..=62).contains(&shift)
            && (ops::rmsnorm::RmsNorm { eps: 1, k: q.ln_k, shift: shift as u32 })
                .out_bits(&[&[1, n][..], &[n][..]], &[ops::layernorm::max_input_bits(n), t.max_bits()])
                .is_ok();
        if fits || shift <= 1 {
            return t;
        }
        frac -= 1;
    }
}

/// A loaded Llama: integer weights, float reference, tables.
#[derive(Debug)]
pub struct LlamaModel {
    config: LlamaConfig,
    quant: LlamaQuant,
    weights: Weights,
    float: Option<LlamaFloat>,
    silu: Silu,
    rope: Rope,
    exp_table: Arc<[i64]>,
}

/// Integer KV cache: per layer the cached (post-RoPE) key and value heads `[H_kv, n, d]`.
#[derive(Debug, Clone)]
pub struct LlamaIntCache {
    kv: Vec<(IntTensor, IntTensor)>,
    len: usize,
}

impl LlamaIntCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl LlamaModel {
    /// Loads from a GGUF file with the default [`LlamaQuant`].
    pub fn load(gguf: &zkinfer_gguf::GgufFile) -> Result<Self, ModelError> {
        Self::from_source(gguf, LlamaQuant::default())
    }

    /// Loads from any source.
    pub fn from_source(src: &dyn ModelSource, quant: LlamaQuant) -> Result<Self, ModelError> {
        let config = LlamaConfig::from_source(src)?;
        let tensors = load_float_tensors(&config, src)?;
        let weights = quantize_weights(&config, &quant.base, &tensors);
        let float = LlamaFloat::new(config, tensors)?;
        let rope = Rope::new(config.n_rot, config.rope_base, quant.rope_frac, config.n_ctx)
            .map_err(|e| ModelError::Hyperparameters(e.to_string()))?;
        let b = &quant.base;
        let model = Self {
            config,
            quant,
            weights,
            float: Some(float),
            silu: Silu::new(quant.silu_in_frac, b.act_frac, quant.silu_in_bits),
            rope,
            exp_table: ops::softmax::exp_table(b.score_frac, b.exp_frac),
        };
        model.graph(1)?;
        Ok(model)
    }

    /// Hyperparameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }
    /// Fixed-point choices.
    pub fn quant(&self) -> &LlamaQuant {
        &self.quant
    }
    /// The committed integer weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }
    /// The float reference.
    pub fn float_model(&self) -> Result<&LlamaFloat, ModelError> {
        self.float.as_ref().ok_or(ModelError::NoFloatReference)
    }
    /// Frees the float reference weights.
    pub fn drop_float_reference(&mut self) {
        self.float = None;
    }

    fn parts(&self) -> LlamaParts<'_> {
        LlamaParts { cfg: &self.config, quant: &self.quant, weights: &self.weights, silu: &self.silu, rope: &self.rope, exp_table: &self.exp_table }
    }

    /// The integer graph of the causal forward pass over `seq_len` positions.
    pub fn graph(&self, seq_len: usize) -> Result<Graph, ModelError> {
        self.parts().build(seq_len, 0)
    }

    /// The graph of the proven forward pass as data, the sequence length as the symbol
    /// `T ∈ [1, n_ctx]` (see [`crate::graph_template_of`]).
    pub fn graph_template(&self) -> Result<crate::GraphTemplate, ModelError> {
        crate::graph_template_of(&self.weights, self.config.n_ctx, |t| self.graph(t))
    }

    /// The graph of a KV-cache step.
    pub fn step_graph(&self, n_new: usize, n_past: usize) -> Result<Graph, ModelError> {
        self.parts().build(n_new, n_past)
    }

    fn check_ids(&self, ids: &[u32], past: usize) -> Result<(), ModelError> {
        if ids.is_empty() {
            return Err(ModelError::Empty);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.config.n_vocab) {
            return Err(ModelError::TokenOutOfRange { id: id as u64, vocab: self.config.n_vocab });
        }
        if past.saturating_add(ids.len()) > self.config.n_ctx {
            return Err(ModelError::TooLong { len: past.saturating_add(ids.len()), ctx: self.config.n_ctx });
        }
        Ok(())
    }

    fn step_inputs(ids: &[u32], past: usize, cache: Option<&LlamaIntCache>, n_out: usize) -> Vec<IntTensor> {
        let n = ids.len();
        let mut inputs = vec![
            IntTensor { shape: vec![n], data: ids.iter().map(|&i| i as i64).collect() },
            IntTensor { shape: vec![n], data: (past..past + n).map(|p| p as i64).collect() },
        ];
        if let Some(c) = cache {
            for (k, v) in &c.kv {
                inputs.push(k.clone());
                inputs.push(v.clone());
            }
        }
        inputs.push(crate::last_rows(n, n_out));
        inputs
    }

    /// The integer forward pass over `ids`, predictions at every position.
    pub fn forward_int(&self, ids: &[u32]) -> Result<IntForward, ModelError> {
        self.forward_int_outputs(ids, ids.len())
    }

    /// The graph that is proven: the causal pass over `seq_len` positions with the LM head and
    /// argmax at the `n_out` rows of the public input `out_rows`.
    pub fn graph_with_outputs(&self, seq_len: usize, n_out: usize) -> Result<Graph, ModelError> {
        self.parts().build_with_outputs(seq_len, 0, n_out)
    }

    /// The proven computation: the forward pass over `ids` with predictions at the last `n_out`
    /// positions only.
    pub fn forward_int_outputs(&self, ids: &[u32], n_out: usize) -> Result<IntForward, ModelError> {
        self.check_ids(ids, 0)?;
        if n_out == 0 || n_out > ids.len() {
            return Err(ModelError::Graph(GraphError::Invalid(format!("{n_out} predicted positions of {}", ids.len()))));
        }
        let graph = self.graph_with_outputs(ids.len(), n_out)?;
        let trace: IntTrace = execute(&graph, &self.weights, Self::step_inputs(ids, 0, None, n_out))?;
        Ok(IntForward { graph, trace })
    }

    /// An empty integer KV cache.
    pub fn new_int_cache(&self) -> LlamaIntCache {
        LlamaIntCache { kv: Vec::new(), len: 0 }
    }

    /// Runs `ids` after the cached positions; returns the logits accumulator rows.
    pub fn step_int(&self, cache: &mut LlamaIntCache, ids: &[u32]) -> Result<IntTensor, ModelError> {
        self.step_int_outputs(cache, ids, ids.len())
    }

    /// [`LlamaModel::step_int`] with the logits of the last `n_out` new positions only.
    fn step_int_outputs(&self, cache: &mut LlamaIntCache, ids: &[u32], n_out: usize) -> Result<IntTensor, ModelError> {
        self.check_ids(ids, cache.len)?;
        let past = cache.len;
        let graph = self.parts().build_with_outputs(ids.len(), past, n_out)?;
        let mut trace = execute(&graph, &self.weights, Self::step_inputs(ids, past, (past > 0).then_some(&*cache), n_out))?;
        let mut kv = Vec::with_capacity(self.config.n_layer);
        let mut take = |n: String| {
            graph
                .find(&n)
                .and_then(|id| trace.values.get_mut(id.0).and_then(Option::take))
                .ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {n}"))))
        };
        for l in 0..self.config.n_layer {
            kv.push((take(format!("blk.{l}.attn_k"))?, take(format!("blk.{l}.attn_v"))?));
        }
        let logits = take("logits".into())?;
        cache.kv = kv;
        cache.len += ids.len();
        Ok(logits)
    }

    /// Fractional bits of the integer logits.
    pub fn logits_frac_bits(&self) -> i32 {
        let lm = self.weights.get(self.config.lm_head()).map_or(0, |w| w.frac_bits);
        self.quant.base.act_frac as i32 + lm
    }

    /// Dequantized integer logits of every position.
    pub fn logits_int(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        let fwd = self.forward_int(ids)?;
        let f = fwd.logits_frac_bits();
        let logits = fwd.logits()?;
        Ok(logits.data.chunks(self.config.n_vocab).map(|r| r.iter().map(|&v| (v as f64 * (-f as f64).exp2()) as f32).collect()).collect())
    }

    /// Float logits of every position.
    pub fn logits_f32(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.check_ids(ids, 0)?;
        let float = self.float_model()?;
        float.forward(&mut float.new_cache(), ids)
    }

    fn check_generation(&self, prompt: &[u32], n: usize) -> Result<(), ModelError> {
        self.check_ids(prompt, 0)?;
        // As GPT-2's: the last generated token is never fed back, so `prompt + n − 1 ≤ n_ctx`
        // (the proven pass's length, the same count as the proof's and the CLI's checks).
        let positions = prompt.len().saturating_add(n.max(1) - 1);
        if positions > self.config.n_ctx {
            return Err(ModelError::TooLong { len: positions, ctx: self.config.n_ctx });
        }
        Ok(())
    }

    /// Greedy generation of up to `n` tokens with the integer model and a KV cache, stopping
    /// after a token in `stop` (which is included in the output).
    pub fn generate_int(&self, prompt: &[u32], n: usize, stop: &[u32], mut on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.check_generation(prompt, n)?;
        let mut cache = self.new_int_cache();
        let mut out = Vec::with_capacity(n);
        let mut input = prompt.to_vec();
        while out.len() < n {
            let logits = self.step_int_outputs(&mut cache, &input, 1)?;
            let v = self.config.n_vocab;
            let next = ops::argmax::argmax_row(&logits.data[logits.data.len() - v..]) as u32;
            on_token(next);
            out.push(next);
            if stop.contains(&next) {
                break;
            }
            input = vec![next];
        }
        Ok(out)
    }

    /// Greedy generation with the float reference (same stopping rule).
    pub fn generate_f32(&self, prompt: &[u32], n: usize, stop: &[u32], mut on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.check_generation(prompt, n)?;
        let float = self.float_model()?;
        let mut cache = float.new_cache();
        let mut out = Vec::with_capacity(n);
        let mut input = prompt.to_vec();
        while out.len() < n {
            let logits = float.forward(&mut cache, &input)?;
            let next = crate::argmax_f32(logits.last().ok_or(ModelError::Empty)?);
            on_token(next);
            out.push(next);
            if stop.contains(&next) {
                break;
            }
            input = vec![next];
        }
        Ok(out)
    }
}
