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
//! **Llama 3.1/3.2** GGUFs carry `rope_freqs.weight` (`n_rot/2` `f32` frequency factors that
//! llama.cpp's converter computes from the `llama3` rope scaling): pair `i` turns by
//! `base^(−2i/n_rot) / f_i`, as llama.cpp's `ggml_rope_ext` does with `freq_factors`; the factors
//! go into the RoPE op (and so into the verifying key, which rebuilds the table from them).
//! **Qwen2** (GGUF architecture `qwen2`, `qwen2.*` metadata) is this block with biases on the Q,
//! K and V projections (`attn_{q,k,v}.bias`, added in the matmul's accumulator scale as GPT-2's
//! biases) and llama.cpp's NEOX RoPE (pairs `(i, i + n_rot/2)`; its converter does not permute
//! Q/K for Qwen2). The loader permutes the rows of `attn_q`/`attn_k` and their biases within each
//! head exactly as llama.cpp's converter does for `llama` (row `2i` ← `i`, `2i+1` ← `i + n_rot/2`),
//! so the adjacent-pair RoPE op computes NEOX's rotation: q·k is unchanged because Q and K are
//! permuted alike, and V is not permuted. The proven graph is the Llama graph with biased Q/K/V.
//!
//! **Context:** the proven context is `context_length` capped at [`MAX_PROVEN_CONTEXT`] (8192)
//! and at `2^22 / n_rot` positions (the RoPE table's size limit); Llama 3.1/3.2 declare 131072.
//! Longer prompts are refused as too long (`ModelError::TooLong`).
//!
//! Integer graph (one step; `n_past > 0` reads cached keys/values like GPT-2's):
//! `Embedding → Rescale → [RmsNorm → MatMul q/k/v → Rescale → Clamp → SplitHeads → Rope (q, k)
//! → RepeatKv → QKᵀ → Rescale → CausalSoftmax → P·V → Rescale → MergeHeads → MatMul o → Add;
//! RmsNorm → MatMul gate → Rescale → Clamp → Silu, MatMul up → Rescale, Mul → Rescale → MatMul
//! down → Add] → RmsNorm → MatMul head → Argmax`. The attention scale `1/sqrt(head_dim)` is
//! folded into the quantized `attn_q` (exact in the integer graph for any head size).

use crate::arch::{Architecture, ModelConfig, NamedTensor, StepShape, check_common, expect_architecture};
use crate::build::{CtxClamp, Norm, StepBuilder};
use crate::float::FloatSemantics;
use crate::graph::{Graph, TensorId, Weights};
use crate::ops;
use crate::ops::IntOp;
use crate::ops::add::Add;
use crate::ops::clamp::Clamp;
use crate::ops::heads::SplitHeads;
use crate::ops::layernorm::max_input_bits;
use crate::ops::mul::Mul;
use crate::ops::repeat_kv::RepeatKv;
use crate::ops::rmsnorm::RmsNorm;
use crate::ops::rope::Rope;
use crate::ops::silu::Silu;
use crate::ops::Op;
use crate::quant::{QuantConfig, quantize_matrix, quantize_norm_gain, quantize_vector_at};
use crate::source::ModelSource;
use crate::tensor::WeightTensor;
use crate::ModelError;
use std::sync::Arc;
use zkinfer_tokenizer::Tokenizer;

/// A loaded Llama is a [`crate::Model`] (the architecture is a value inside it).
pub type LlamaModel = crate::Model;
/// The integer KV cache of any architecture.
pub type LlamaIntCache = crate::IntCache;

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
    /// `llama.context_length` as the file declares it (`n_ctx` is this, capped).
    pub n_ctx_train: usize,
    /// Whether the file has `rope_freqs.weight` (the factors themselves are in [`Llama`]).
    pub rope_freq_factors: bool,
    /// `general.architecture`: `llama`, `qwen2`, `gemma` or `gemma2` (the metadata prefix).
    pub arch: &'static str,
    /// Biases on the Q, K, V projections (Qwen2).
    pub qkv_bias: bool,
    /// The file's Q/K rows are in NEOX order (pairs `(i, i + n_rot/2)`, Qwen2): permuted at load.
    pub neox: bool,
}

/// Longest context a Llama-family key proves (`n_ctx` is `context_length` capped at this and at
/// `2^22 / n_rot`): Llama 3.1/3.2 declare 131072 positions, Mistral and Qwen2.5 32768, far beyond
/// anything provable here (T = 1024 takes ~40 min on 2 cores). At 8192 (SmolLM2's own context)
/// the verifier's RoPE table has at most `8192·n_rot ≤ 2^20` entries for head size 128 (0.04 s to
/// build for 64 under load 14; the uncapped 2^22 took 0.32 s).
pub const MAX_PROVEN_CONTEXT: usize = 1 << 13;

/// Name of the RoPE frequency-factor tensor.
pub const ROPE_FREQS: &str = "rope_freqs.weight";

impl LlamaConfig {
    /// Query heads per KV head.
    pub fn group(&self) -> usize {
        self.n_head / self.n_head_kv
    }

    /// Reads and checks the hyperparameters of a `llama` source.
    pub fn from_source(src: &dyn ModelSource) -> Result<Self, ModelError> {
        Self::from_source_as(src, "llama")
    }

    /// Reads and checks the hyperparameters of a `llama`, `qwen2`, `gemma`, `gemma2` or `gemma3` source (`arch.*` keys;
    /// the Gemma-specific ones are read by [`crate::gemma::GemmaConfig`]).
    pub fn from_source_as(src: &dyn ModelSource, arch: &'static str) -> Result<Self, ModelError> {
        expect_architecture(src, arch)?;
        let u = |k: &str| src.meta_u32(&format!("{arch}.{k}")).map(|v| v as usize);
        let opt_u = |k: &str| -> Result<Option<usize>, ModelError> {
            let key = format!("{arch}.{k}");
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
        let key = |k: &str| format!("{arch}.{k}");
        let rope_base = if src.has_meta(&key("rope.freq_base")) { src.meta_f32(&key("rope.freq_base"))? } else { 10000.0 };
        // Gemma 3's linear scaling of its global blocks is read by `crate::gemma`.
        if arch != "gemma3" && src.has_meta(&key("rope.scaling.factor")) && src.meta_f32(&key("rope.scaling.factor"))? != 1.0 {
            return bad("RoPE scaling is not supported".into());
        }
        if opt_u("expert_count")?.is_some_and(|e| e > 0) {
            return bad("mixture-of-experts models are not supported".into());
        }
        let n_ctx_train = u("context_length")?;
        let n_rot = opt_u("rope.dimension_count")?.unwrap_or(head_dim);
        let n_ctx = n_ctx_train.min(MAX_PROVEN_CONTEXT).min((1 << 22) / n_rot.max(1));
        let cfg = LlamaConfig {
            n_layer: u("block_count")?,
            n_embd,
            n_head,
            n_head_kv: opt_u("attention.head_count_kv")?.unwrap_or(n_head),
            head_dim,
            n_ctx,
            n_ff: u("feed_forward_length")?,
            n_vocab: tok.first().copied().unwrap_or(0),
            eps: src.meta_f32(&key("attention.layer_norm_rms_epsilon"))?,
            rope_base,
            n_rot,
            tied_output: src.tensor_shape("output.weight").is_none(),
            n_ctx_train,
            rope_freq_factors: src.tensor_shape(ROPE_FREQS).is_some(),
            arch,
            qkv_bias: arch == "qwen2",
            // llama.cpp rotates Qwen2 and Gemma in NEOX mode and its converter leaves their Q/K rows as they are.
            neox: matches!(arch, "qwen2" | "gemma" | "gemma2" | "gemma3"),
        };
        check_common(&cfg.common(), cfg.n_ff, cfg.eps, "layer_norm_rms_epsilon")?;
        if cfg.n_head_kv == 0 || !cfg.n_head.is_multiple_of(cfg.n_head_kv) {
            return bad(format!("head_count {} not a multiple of head_count_kv {}", cfg.n_head, cfg.n_head_kv));
        }
        if cfg.head_dim == 0 || cfg.head_dim > 1024 || cfg.n_rot == 0 || cfg.n_rot > cfg.head_dim || !cfg.n_rot.is_multiple_of(2) {
            return bad(format!("head dimension {} / rope dimension_count {} invalid", cfg.head_dim, cfg.n_rot));
        }
        if opt_u("vocab_size")?.is_some_and(|v| v != cfg.n_vocab) {
            return bad(format!("{arch}.vocab_size differs from token_embd's {} rows", cfg.n_vocab));
        }
        if !(cfg.rope_base.is_finite() && cfg.rope_base > 1.0) {
            return bad(format!("rope.freq_base {} is not > 1", cfg.rope_base));
        }
        Ok(cfg)
    }

    /// The hyperparameters every architecture has.
    pub fn common(&self) -> ModelConfig {
        ModelConfig {
            n_layer: self.n_layer,
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_ctx: self.n_ctx,
            n_vocab: self.n_vocab,
            tied_output: self.tied_output,
        }
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
        if self.qkv_bias {
            for l in 0..self.n_layer {
                v.extend([(format!("blk.{l}.attn_q.bias"), vec![qd]), (format!("blk.{l}.attn_k.bias"), vec![kd]), (format!("blk.{l}.attn_v.bias"), vec![kd])]);
            }
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

/// `attn_q` (and its bias) scaled by `1/sqrt(head_dim)` (in `f64`): the attention scale folded
/// into the weight, exact in the integer graph for any head size. For a NEOX file (Qwen2) the rows
/// of `attn_q`/`attn_k` and their biases are first permuted to the adjacent-pair layout
/// ([`neox_rows_to_adjacent`]). The float reference runs on these too.
fn scale_q(cfg: &LlamaConfig, name: &str, shape: &[usize], values: Vec<f32>) -> Vec<f32> {
    let is_qk = ["attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias"].iter().any(|s| name.ends_with(s));
    let values = if cfg.neox && is_qk {
        let cols = if shape.len() == 2 { shape[1] } else { 1 };
        neox_rows_to_adjacent(&values, cols, cfg.head_dim, cfg.n_rot)
    } else {
        values
    };
    if !(name.ends_with("attn_q.weight") || name.ends_with("attn_q.bias")) {
        return values;
    }
    let qscale = 1.0 / (cfg.head_dim as f64).sqrt();
    values.into_iter().map(|v| (v as f64 * qscale) as f32).collect()
}

/// The rows (of `cols` values each) of a Q or K projection or bias in NEOX order, per head of
/// `head_dim` rows, put in llama.cpp's adjacent-pair order: within each head, row `2i` ← row `i`
/// and row `2i + 1` ← row `i + n_rot/2` for `i < n_rot/2`; rows from `n_rot` on stay (llama.cpp's
/// converter applies this permutation to `llama` models; values are only moved). Shapes the
/// config reader accepted always divide; anything else is returned unchanged.
pub fn neox_rows_to_adjacent(values: &[f32], cols: usize, head_dim: usize, n_rot: usize) -> Vec<f32> {
    let mut out = values.to_vec();
    let head = head_dim * cols;
    if cols == 0 || head == 0 || n_rot == 0 || n_rot > head_dim || !values.len().is_multiple_of(head) {
        return out;
    }
    let half = n_rot / 2;
    for (dst, src) in out.chunks_mut(head).zip(values.chunks(head)) {
        for i in 0..half {
            dst[2 * i * cols..(2 * i + 1) * cols].copy_from_slice(&src[i * cols..(i + 1) * cols]);
            dst[(2 * i + 1) * cols..(2 * i + 2) * cols].copy_from_slice(&src[(i + half) * cols..(i + half + 1) * cols]);
        }
    }
    out
}

/// Quantizes the float tensors: matrices to `i16` with a per-tensor shift (`attn_q` scaled by
/// `1/sqrt(head_dim)` first, Q/K rows of a NEOX file permuted), Q/K/V biases (Qwen2) in their
/// matmul's accumulator scale `2^-(A + f_w)` (as GPT-2's), RMSNorm gains at the most precise
/// position whose rounding shift fits [`crate::ops::rmsnorm::RmsNorm::out_bits`].
pub fn quantize_weights(cfg: &LlamaConfig, q: &QuantConfig, tensors: &[NamedTensor]) -> Weights {
    let mut w = Weights::default();
    for (name, shape, values) in tensors.iter().filter(|t| t.1.len() == 2) {
        w.insert(name.clone(), quantize_matrix(shape.clone(), &scale_q(cfg, name, shape, values.clone()), q.weight_bits));
    }
    for (name, shape, values) in tensors.iter().filter(|t| t.1.len() != 2) {
        let t = match name.strip_suffix(".bias").and_then(|base| w.get(&format!("{base}.weight"))) {
            Some(m) => quantize_vector_at(shape.clone(), &scale_q(cfg, name, shape, values.clone()), q.act_frac as i32 + m.frac_bits, 50),
            None => quantize_rms_gain(q, shape, values),
        };
        w.insert(name.clone(), t);
    }
    w
}

/// An RMSNorm gain at the most precise position whose rounding shift fits
/// [`RmsNorm::out_bits`] (see [`quantize_norm_gain`]).
pub(crate) fn quantize_rms_gain(q: &QuantConfig, shape: &[usize], values: &[f32]) -> WeightTensor {
    let n = values.len();
    quantize_norm_gain(q, shape, values, |shift, gain| {
        (RmsNorm { eps: 1, k: q.ln_k, shift }).out_bits(&[&[1, n][..], &[n][..]], &[max_input_bits(n), gain.max_bits()]).is_ok()
    })
}

/// Llama as an [`Architecture`]: hyperparameters, fixed-point choices and tables.
#[derive(Debug)]
pub struct Llama {
    cfg: LlamaConfig,
    quant: LlamaQuant,
    silu: Silu,
    rope: Rope,
    exp_table: Arc<[i64]>,
}

/// Reads `rope_freqs.weight` when the file has it: shape `[n_rot/2]`, every factor finite and in
/// `[1, ROPE_MAX_FACTOR]` (what llama.cpp's converter writes for the `llama3` rope scaling);
/// empty when absent.
pub fn read_freq_factors(src: &dyn ModelSource, cfg: &LlamaConfig) -> Result<Arc<[f32]>, ModelError> {
    let Some(shape) = src.tensor_shape(ROPE_FREQS) else { return Ok(Arc::from(Vec::new())) };
    if shape != [cfg.n_rot / 2] {
        return Err(ModelError::TensorShape { name: ROPE_FREQS.into(), expected: vec![cfg.n_rot / 2], got: shape });
    }
    let values = src.tensor_f32(ROPE_FREQS)?;
    crate::ops::rope::check_freq_factors(cfg.n_rot, &values).map_err(|e| ModelError::Hyperparameters(format!("{ROPE_FREQS}: {e}")))?;
    Ok(values.into())
}

impl Llama {
    /// Reads the hyperparameters of `src` with the default Llama choices on top of `base` (the
    /// registry's entry).
    pub fn read(src: &dyn ModelSource, base: QuantConfig) -> Result<Box<dyn Architecture>, ModelError> {
        let cfg = LlamaConfig::from_source(src)?;
        let factors = read_freq_factors(src, &cfg)?;
        Ok(Box::new(Self::with_freq_factors(cfg, LlamaQuant { base, ..LlamaQuant::default() }, factors)?))
    }

    /// The registry's entry for `qwen2` (Llama's block with Q/K/V biases and NEOX RoPE).
    pub fn read_qwen2(src: &dyn ModelSource, base: QuantConfig) -> Result<Box<dyn Architecture>, ModelError> {
        let cfg = LlamaConfig::from_source_as(src, "qwen2")?;
        let factors = read_freq_factors(src, &cfg)?;
        Ok(Box::new(Self::with_freq_factors(cfg, LlamaQuant { base, ..LlamaQuant::default() }, factors)?))
    }

    /// The architecture with explicit fixed-point choices (builds the SiLU, RoPE, exp tables).
    pub fn new(cfg: LlamaConfig, quant: LlamaQuant) -> Result<Self, ModelError> {
        Self::with_freq_factors(cfg, quant, Arc::from(Vec::new()))
    }

    /// [`Self::new`] with RoPE frequency factors (empty: none; see [`read_freq_factors`]).
    pub fn with_freq_factors(cfg: LlamaConfig, quant: LlamaQuant, freq_factors: Arc<[f32]>) -> Result<Self, ModelError> {
        let b = &quant.base;
        let rope = Rope::with_freq_factors(cfg.n_rot, cfg.rope_base, quant.rope_frac, cfg.n_ctx, freq_factors)
            .map_err(|e| ModelError::Hyperparameters(e.to_string()))?;
        Ok(Self {
            cfg,
            quant,
            silu: Silu::new(quant.silu_in_frac, b.act_frac, quant.silu_in_bits),
            rope,
            exp_table: ops::softmax::exp_table(b.score_frac, b.exp_frac),
        })
    }

    /// The Llama-specific fixed-point choices.
    pub fn llama_quant(&self) -> &LlamaQuant {
        &self.quant
    }

    /// The RoPE frequency factors (empty when the file has none).
    pub fn freq_factors(&self) -> &[f32] {
        &self.rope.freq_factors
    }

    /// `x · Wᵀ` rescaled to `2^-A` (`{prefix}.out`) and clamped to the matmul input bound
    /// (`{prefix}.clamped`).
    pub(crate) fn dense(s: &mut StepBuilder<'_>, x: TensorId, prefix: &str, bias: bool) -> Result<TensorId, ModelError> {
        let a = s.a();
        let (acc, wf) = s.matmul_acc(x, prefix, bias)?;
        let y = s.rescale(acc, wf, format!("{prefix}.out"), a)?;
        s.clamp_matmul_in(y, format!("{prefix}.clamped"))
    }

    /// `x · Wᵀ` rescaled to the residual stream's `2^-R` (not clamped: the residual add's clamp
    /// bounds the sum).
    fn dense_resid(&self, s: &mut StepBuilder<'_>, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        Self::dense_to(s, x, prefix, self.quant.resid_frac as i32)
    }

    /// `x · Wᵀ` rescaled to `2^-r` (`{prefix}.out`), not clamped.
    pub(crate) fn dense_to(s: &mut StepBuilder<'_>, x: TensorId, prefix: &str, r: i32) -> Result<TensorId, ModelError> {
        let a = s.a();
        let (acc, wf) = s.matmul_acc(x, prefix, false)?;
        s.rescale(acc, wf + a - r, format!("{prefix}.out"), r)
    }
}

impl Architecture for Llama {
    fn name(&self) -> &'static str {
        self.cfg.arch
    }
    fn config(&self) -> ModelConfig {
        self.cfg.common()
    }
    fn hyperparameters(&self) -> &dyn std::any::Any {
        &self.cfg
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn quant(&self) -> &QuantConfig {
        &self.quant.base
    }
    fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.cfg.tensor_shapes()
    }
    fn quantize(&self, tensors: &[NamedTensor]) -> Weights {
        quantize_weights(&self.cfg, &self.quant.base, tensors)
    }
    fn float_weights(&self, tensors: Vec<NamedTensor>) -> Vec<NamedTensor> {
        tensors
            .into_iter()
            .map(|(name, shape, values)| {
                let values = scale_q(&self.cfg, &name, &shape, values);
                (name, shape, values)
            })
            .collect()
    }
    fn float_semantics(&self) -> FloatSemantics {
        FloatSemantics::eps(self.cfg.eps)
    }
    /// Chat models end their turn with an end-of-generation token.
    fn stop_tokens(&self, tokenizer: &Tokenizer) -> Vec<u32> {
        tokenizer.eog_ids().to_vec()
    }

    /// With `n_past > 0` the graph takes the cached (post-RoPE) keys/values as inputs
    /// `blk.N.attn_k_past` / `blk.N.attn_v_past` (`[H_kv, n_past, d]`) and appends the new ones;
    /// every other op acts row by row (RoPE reads each row's public position), so the new rows
    /// equal those of the full pass exactly.
    fn build(&self, weights: &Weights, step: StepShape) -> Result<Graph, ModelError> {
        let (cfg, q) = (&self.cfg, &self.quant.base);
        let mut s = StepBuilder::new(&cfg.common(), q, weights, step)?;
        let a = s.a();
        let r = self.quant.resid_frac as i32;
        let resid_bits = max_input_bits(cfg.n_embd);
        let positions = s.positions;

        let x = s.token_embedding(r)?;
        let mut x = s.clamp_to(x, resid_bits, "embd.clamped")?;

        for l in 0..cfg.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            // Attention.
            let hn = s.norm(Norm::Rms, x, &p("attn_norm"), cfg.eps)?;
            let qm = Self::dense(&mut s, hn, &p("attn_q"), cfg.qkv_bias)?;
            let km = Self::dense(&mut s, hn, &p("attn_k"), cfg.qkv_bias)?;
            let vm = Self::dense(&mut s, hn, &p("attn_v"), cfg.qkv_bias)?;
            let qh = s.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head }), &[qm], p("attn_q.heads"), a)?;
            let qh = s.node(Op::Rope(self.rope.clone()), &[qh, positions], p("attn_q"), a)?;
            let kh = s.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head_kv }), &[km], p("attn_k.heads"), a)?;
            let kh = s.node(Op::Rope(self.rope.clone()), &[kh, positions], s.kv_name(l, "k"), a)?;
            let vh = s.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head_kv }), &[vm], s.kv_name(l, "v"), a)?;
            let mut kvh = Vec::new();
            for (part, t) in [("k", kh), ("v", vh)] {
                let mut t = s.with_past(t, l, part)?;
                if cfg.group() > 1 {
                    t = s.node(Op::RepeatKv(RepeatKv { group: cfg.group() }), &[t], p(&format!("attn_{part}.rep")), a)?;
                }
                kvh.push(t);
            }
            // 1/sqrt(head_dim) is folded into attn_q: only the fixed-point shift remains. The
            // context is always clamped: P·V's static bound grows with the number of keys, so
            // whether the clamp is needed depends on T, and the proven graph must have one
            // structure for every T (the key's template).
            let ctx = s.attention(l, qh, kvh[0], kvh[1], 2 * a - q.score_frac as i32, &self.exp_table, CtxClamp::Always, None)?;
            let attn = self.dense_resid(&mut s, ctx, &p("attn_output"))?;
            let x1 = s.node(Op::Add(Add), &[x, attn], p("attn_resid"), r)?;
            x = s.clamp_to(x1, resid_bits, p("attn_resid.clamped"))?;
            // SwiGLU FFN.
            let hn = s.norm(Norm::Rms, x, &p("ffn_norm"), cfg.eps)?;
            let (gate, gf) = s.matmul_acc(hn, &p("ffn_gate"), false)?;
            let si = self.quant.silu_in_frac as i32;
            let gate = s.rescale(gate, gf + a - si, p("ffn_gate.out"), si)?;
            let gate = s.node(Op::Clamp(Clamp::symmetric(self.silu.in_bits - 1)), &[gate], p("ffn_gate.clamped"), si)?;
            let act = s.node(Op::Silu(self.silu.clone()), &[gate], p("ffn_silu"), a)?;
            let up = Self::dense(&mut s, hn, &p("ffn_up"), false)?;
            let prod = s.node(Op::Mul(Mul), &[act, up], p("ffn_prod"), 2 * a)?;
            let prod = s.rescale(prod, a, p("ffn_prod.out"), a)?;
            let prod = s.clamp_matmul_in(prod, p("ffn_prod.clamped"))?;
            let down = self.dense_resid(&mut s, prod, &p("ffn_down"))?;
            let x2 = s.node(Op::Add(Add), &[x, down], p("ffn_resid"), r)?;
            x = s.clamp_to(x2, resid_bits, p("ffn_resid.clamped"))?;
        }
        let x = s.output_rows(x)?;
        let hn = s.norm(Norm::Rms, x, "output_norm", cfg.eps)?;
        s.finish_with_head(hn, cfg.lm_head())
    }
}
