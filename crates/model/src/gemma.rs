//! Gemma (GGUF architecture `gemma`): Google's Llama-like family, as llama.cpp runs it
//! (`src/models/gemma.cpp` and what `convert_hf_to_gguf.py` folds into the file).
//!
//! Against [`crate::llama`] (whose config reader, tensor names, quantization helpers and dense
//! steps this reuses), Gemma differs in:
//!
//! * **Embedding scale.** The rows of `token_embd` are multiplied by `sqrt(D)` before the first
//!   block (the same matrix, unscaled, is the tied LM head).
//! * **RMSNorm gains** are `1 + w` in transformers; llama.cpp's converter already stored `w + 1`
//!   in every `*norm.weight`, so the file's gain is used as is. Epsilon from
//!   `gemma.attention.layer_norm_rms_epsilon` (1e-6).
//! * **GeGLU FFN:** `down(gelu(gate(x)) ⊙ up(x))` with GELU's tanh approximation (GPT-2's `Gelu`
//!   table op), not SiLU.
//! * **Head size** from `gemma.attention.key_length` (256 for Gemma 2B/7B, not `D / H`); Q is
//!   scaled by `1/sqrt(head size)` (folded into `attn_q`, as for Llama); Gemma 2B has one KV head
//!   (MQA, [`crate::ops::repeat_kv::RepeatKv`] with group `H`).
//! * **RoPE** in llama.cpp's NEOX mode (`llama_model_rope_type` lists Gemma with the NEOX
//!   architectures and the converter does not permute Q/K): the loader permutes Q/K rows to the
//!   adjacent-pair layout as for Qwen2 ([`crate::llama::neox_rows_to_adjacent`]).
//! * **Tied output** (`token_embd.weight` is the LM head), SentencePiece vocabulary
//!   (`tokenizer.ggml.model = llama`, BOS added), `<end_of_turn>` ends a chat turn.
//!
//! **The `sqrt(D)` scale without a new op.** `sqrt(D)` is not a power of two, and the embedding
//! matrix cannot absorb it (it is also the LM head). Instead the graph carries the residual
//! stream divided by `sqrt(D)`: `x̃ = x / sqrt(D)` starts as the plain embedding row. Every
//! consumer of the stream is a pre-norm, and RMSNorm is scale-invariant once its epsilon is
//! scaled alike: `rmsnorm(x̃; eps/D) = x̃ / sqrt(mean(x̃²) + eps/D) = x / sqrt(mean(x²) + eps) =
//! rmsnorm(x; eps)` exactly over the reals. Every addition to the stream is scaled by `1/sqrt(D)`
//! at load (`attn_output` and `ffn_down` here: quantized per tensor with its own shift, so no
//! precision is lost). The final norm is a pre-norm as well, so the logits are the model's own.
//! The float reference runs the same reparametrised graph (stream norms at `eps/D`), which is
//! why it matches transformers to float rounding. The residual stream's fixed-point position
//! `R` ([`GemmaQuant::resid_frac`]) is higher than Llama's to keep the same absolute resolution
//! (`2^-R·sqrt(D)` in the model's units).
//!
//! **Gemma 2** (GGUF architecture `gemma2`, llama.cpp's `src/models/gemma2-iswa.cpp`) adds:
//!
//! * **Post-norms:** the attention output and the FFN output each go through an RMSNorm
//!   (`post_attention_norm`, `post_ffw_norm`) before they are added to the stream, and the FFN's
//!   pre-norm is `ffn_norm`. A post-norm is the stream's writer here, so its gain (not
//!   `attn_output`/`ffn_down`) carries the `1/sqrt(D)`; its input is a branch output at its real
//!   scale, so its epsilon is the file's (the float reference tells them apart by the gain's
//!   name, [`FloatSemantics::post_norm_eps`]); its output goes straight to the stream's `2^-R`.
//! * **Attention-logit soft-capping** `c·tanh(s/c)` on the scaled scores before the softmax
//!   (`gemma2.attn_logit_softcapping`, llama.cpp's default 50 when absent): the scores are
//!   rescaled to the cap's input scale, clamped to its table and mapped by the
//!   [`SoftCap`](crate::ops::softcap::SoftCap) table op (a logUp lookup, proven like GELU). The cap
//!   must be an integer (Gemma 2's is 50).
//! * **Final-logit soft-capping** `c·tanh(logit/c)` (`gemma2.final_logit_softcapping`, default 30):
//!   strictly increasing, so the greedy token — what is proven — is the argmax of the uncapped
//!   logits, and the graph ends at the LM head as every architecture's does; the reported logits
//!   (`logits`, `--float`) are capped by [`Architecture::final_logit_softcap`].
//! * **Query scale** `1/sqrt(head size)`, or `1/sqrt(D/H)` for the 46-block 27B model, as
//!   llama.cpp decides (`hparams.f_attention_scale`; transformers reads `query_pre_attn_scalar`,
//!   which is these values for the released models).
//! * **Sliding-window attention** (window `gemma2.attention.sliding_window`, default 4096) on
//!   every other block: the proven context is capped at the window, where no query is farther
//!   than `window − 1` from any key it sees, so the window masks nothing the causal mask does not
//!   and every block is plain causal attention. Longer prompts are refused as too long.
//!
//! **Gemma 3** (GGUF architecture `gemma3`, text models: llama.cpp's `src/models/gemma3.cpp` with
//! `llama_load_hparams_gemma3`) is Gemma 2 without soft-capping plus:
//!
//! * **QK-norm:** after the Q and K projections, each head's vector goes through an RMSNorm of
//!   its own gain (`attn_q_norm`, `attn_k_norm`: `[head size]`, stored as `w + 1` by the
//!   converter), before RoPE. In the graph it is one grouped [`RmsNorm`](crate::ops::rmsnorm) on
//!   `[T, H·d]` with the `[d]` gain (groups of `d`; `H` and `d` must be powers of two, as they are
//!   for every released Gemma 3), so Q/K stay in the matmul layout. The norm's input is a branch
//!   value at its real scale, so its epsilon is the file's (not the stream's `eps/D`). NEOX: the
//!   gains are permuted like the rows of one head of `attn_q`/`attn_k`.
//! * **Query scale** after the norm (`1/sqrt(head size)`, `1/sqrt(D/H)` for the 62-block 27B,
//!   llama.cpp's rule): RMSNorm undoes any scale folded into `attn_q`, so it is folded into the
//!   `attn_q_norm` gain instead (RoPE is linear, so scaling before it is the same).
//! * **Per-block RoPE:** with a sliding window, block `l` is local when `l mod 6 < 5` (llama.cpp's
//!   fixed pattern; transformers' `layer_types`), global otherwise. Local blocks rotate with base
//!   `rope.freq_base_swa` (llama.cpp's fixed 10000 when absent) and no scaling; global blocks
//!   with `rope.freq_base` and the linear `rope.scaling.factor` (Gemma 3 4B and larger: 8),
//!   carried as equal frequency factors of their [`Rope`] op. Each block's `Rope` is its own op
//!   in the key.
//! * **Sliding window** (`gemma3.attention.sliding_window`: 512 for 270M/1B, 1024 for 4B+): the
//!   proven context is capped at the window, as for Gemma 2. Within it the local blocks' mask is
//!   exactly the causal mask (a query at position `p < W` sees keys `p − W + 1 .. p`, which
//!   include 0). Why a cap and not a proven band mask: what a user expects is that what is proven
//!   is the model's own computation or a clear refusal; the cap gives that today (prompt plus
//!   completion up to 512 tokens for the small models, `TooLong`, exit 4, beyond), while a masked
//!   `CausalSoftmax` variant (a public band mask, its MLE by digit comparison) is a protocol
//!   change for a later session. Without the window key (some later `gemma3` files) every block
//!   is global and the context is not capped by it.
//! * No attention soft-cap; the final soft-cap only for a file without a window that declares
//!   `final_logit_softcapping` (llama.cpp's non-SWA build), applied to the reported logits.
//!
//! **Context:** `context_length` capped as for Llama ([`crate::llama::MAX_PROVEN_CONTEXT`]), and
//! for Gemma 2 and Gemma 3 at the sliding window.
//!
//! Integer graph (one step): `Embedding → Rescale → [RmsNorm → MatMul q/k/v → Rescale → Clamp →
//! SplitHeads → Rope (q, k) → RepeatKv → QKᵀ → Rescale → CausalSoftmax → P·V → Rescale →
//! MergeHeads → Clamp → MatMul o → Rescale → Add → Clamp; RmsNorm → MatMul gate → Rescale → Clamp
//! → Gelu, MatMul up → Rescale → Clamp, Mul → Rescale → Clamp → MatMul down → Rescale → Add →
//! Clamp] → GatherRows → RmsNorm → MatMul head → Argmax`: only ops Llama and GPT-2 already prove
//! (Gemma 3: `RmsNorm` (grouped) after the q/k projections, before `SplitHeads`).

use crate::arch::{Architecture, ModelConfig, NamedTensor, StepShape};
use crate::build::{CtxClamp, Norm, StepBuilder};
use crate::float::FloatSemantics;
use crate::graph::{Graph, Weights};
use crate::llama::{Llama, LlamaConfig, neox_rows_to_adjacent, quantize_rms_gain};
use crate::ops;
use crate::ops::add::Add;
use crate::ops::clamp::Clamp;
use crate::ops::gelu::{GELU_MIN, Gelu};
use crate::ops::heads::SplitHeads;
use crate::ops::layernorm::max_input_bits;
use crate::ops::mul::Mul;
use crate::ops::repeat_kv::RepeatKv;
use crate::ops::rope::Rope;
use crate::ops::softcap::SoftCap;
use crate::ops::Op;
use crate::quant::{QuantConfig, quantize_matrix};
use crate::source::ModelSource;
use crate::ModelError;
use std::sync::Arc;
use zkinfer_tokenizer::Tokenizer;

/// Gemma hyperparameters: the Llama-family ones (from `gemma.*` / `gemma2.*` / `gemma3.*`) and Gemma's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmaConfig {
    /// Layers, widths, heads, head size (`attention.key_length`), RoPE, epsilon, context (for
    /// Gemma 2 capped at the sliding window).
    pub base: LlamaConfig,
    /// Multiply the embedding rows by `sqrt(D)` (always true for a file; a test turns it off to
    /// show it matters).
    pub embd_scale: bool,
    /// Gemma 2's additions (`None`: Gemma 1; for Gemma 3 the post-norms, query scale and window,
    /// with no soft-caps).
    pub gemma2: Option<Gemma2Params>,
    /// Gemma 3's additions (`None`: Gemma 1 or 2).
    pub gemma3: Option<Gemma3Params>,
}

/// What Gemma 3 adds to Gemma 2's structure (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gemma3Params {
    /// Per-head RMSNorm of Q and K (always true for a file; a test turns it off).
    pub qk_norm: bool,
    /// Whether blocks `l mod 6 < 5` are local (the file has a sliding window).
    pub local_blocks: bool,
    /// RoPE base of the local blocks.
    pub local_rope_base: f32,
    /// Linear RoPE scaling factor of the global blocks (1: none).
    pub rope_linear: f32,
}

/// llama.cpp's local-block RoPE base for Gemma 3 (`rope_freq_base_train_swa`).
const GEMMA3_LOCAL_ROPE_BASE: f32 = 10000.0;
/// Gemma 3's pattern: blocks `l` with `l mod 6 < 5` are local.
pub const GEMMA3_PATTERN: usize = 6;

/// What Gemma 2 adds to Gemma (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gemma2Params {
    /// The attention-logit soft-cap (an integer; `None` turns it off, for tests).
    pub attn_softcap: Option<u32>,
    /// The final-logit soft-cap applied to the reported logits.
    pub final_softcap: Option<f32>,
    /// The sliding window of the local blocks (the proven context is capped at it; 0: none, a
    /// Gemma 3 file without the key).
    pub sliding_window: usize,
    /// The query scale (`1/sqrt(head size)`, or `1/sqrt(D/H)` for the 46-block model).
    pub query_scale: f64,
}

/// llama.cpp's defaults when a Gemma 2 file omits them.
const GEMMA2_ATTN_SOFTCAP: f32 = 50.0;
const GEMMA2_FINAL_SOFTCAP: f32 = 30.0;
const GEMMA2_WINDOW: usize = 4096;

impl GemmaConfig {
    /// Reads and checks the hyperparameters of a `gemma`, `gemma2` or `gemma3` source.
    pub fn from_source(src: &dyn ModelSource) -> Result<Self, ModelError> {
        let arch = match src.architecture()?.as_str() {
            "gemma" => "gemma",
            "gemma2" => "gemma2",
            "gemma3" => "gemma3",
            other => return Err(crate::arch::unsupported(other)),
        };
        if arch == "gemma3" {
            return Self::gemma3_from_source(src);
        }
        let mut base = Self::llama_base(src, arch)?;
        let bad = |m: String| Err(ModelError::Hyperparameters(format!("{arch}: {m}")));
        let gemma2 = if arch == "gemma2" {
            let f = |k: &str, default: f32| -> Result<f32, ModelError> {
                let key = format!("gemma2.{k}");
                if src.has_meta(&key) { src.meta_f32(&key) } else { Ok(default) }
            };
            let attn = f("attn_logit_softcapping", GEMMA2_ATTN_SOFTCAP)?;
            let fin = f("final_logit_softcapping", GEMMA2_FINAL_SOFTCAP)?;
            let max = crate::tables::SOFTCAP_MAX_CAP as f32;
            if !(attn >= 1.0 && attn <= max && attn.fract() == 0.0) {
                return bad(format!("attn_logit_softcapping {attn} is not an integer in [1, {max}]"));
            }
            if !(fin.is_finite() && fin > 0.0) {
                return bad(format!("final_logit_softcapping {fin} is not positive"));
            }
            let key = "gemma2.attention.sliding_window";
            let window = if src.has_meta(key) { src.meta_u32(key)? as usize } else { GEMMA2_WINDOW };
            if window == 0 {
                return bad("attention.sliding_window is 0".into());
            }
            base.n_ctx = base.n_ctx.min(window);
            let query_scale = if base.n_layer == 46 { 1.0 / ((base.n_embd / base.n_head) as f64).sqrt() } else { 1.0 / (base.head_dim as f64).sqrt() };
            Some(Gemma2Params { attn_softcap: Some(attn as u32), final_softcap: Some(fin), sliding_window: window, query_scale })
        } else {
            None
        };
        Ok(Self { base, embd_scale: true, gemma2, gemma3: None })
    }

    /// The Llama-family hyperparameters of a Gemma source: a tied head (llama.cpp's Gemma reads
    /// no `output.weight`) and no RoPE frequency factors.
    fn llama_base(src: &dyn ModelSource, arch: &'static str) -> Result<LlamaConfig, ModelError> {
        let base = LlamaConfig::from_source_as(src, arch)?;
        let bad = |m: &str| Err(ModelError::Hyperparameters(format!("{arch}: {m}")));
        if !base.tied_output {
            return bad("output.weight present (Gemma's head is tied to token_embd)");
        }
        if base.rope_freq_factors {
            return bad("rope_freqs.weight is not used by Gemma");
        }
        Ok(base)
    }

    /// Reads and checks a `gemma3` source (see the module doc).
    fn gemma3_from_source(src: &dyn ModelSource) -> Result<Self, ModelError> {
        let arch = "gemma3";
        let mut base = Self::llama_base(src, arch)?;
        let bad = |m: String| Err(ModelError::Hyperparameters(format!("{arch}: {m}")));
        let key = |k: &str| format!("{arch}.{k}");
        if src.has_meta(&key("attn_logit_softcapping")) && src.meta_f32(&key("attn_logit_softcapping"))? != 0.0 {
            return bad("attn_logit_softcapping is not part of Gemma 3".into());
        }
        if src.has_meta(&key("attention.sliding_window_pattern")) && src.meta_u32(&key("attention.sliding_window_pattern"))? as usize != GEMMA3_PATTERN {
            return bad(format!("attention.sliding_window_pattern other than {GEMMA3_PATTERN} is not supported"));
        }
        let window = if src.has_meta(&key("attention.sliding_window")) { Some(src.meta_u32(&key("attention.sliding_window"))? as usize) } else { None };
        let window = window.filter(|&w| w > 0);
        let local_rope_base = if src.has_meta(&key("rope.freq_base_swa")) { src.meta_f32(&key("rope.freq_base_swa"))? } else { GEMMA3_LOCAL_ROPE_BASE };
        if !(local_rope_base.is_finite() && local_rope_base > 1.0) {
            return bad(format!("rope.freq_base_swa {local_rope_base} is not > 1"));
        }
        let rope_linear = if src.has_meta(&key("rope.scaling.factor")) { src.meta_f32(&key("rope.scaling.factor"))? } else { 1.0 };
        if src.has_meta(&key("rope.scaling.type")) {
            let kind = src.meta_str(&key("rope.scaling.type"))?;
            if kind != "linear" && !(kind == "none" && rope_linear == 1.0) {
                return bad(format!("rope.scaling.type {kind:?} (only linear scaling is supported)"));
            }
        }
        if !(rope_linear.is_finite() && (1.0..=crate::ops::rope::ROPE_MAX_FACTOR).contains(&rope_linear)) {
            return bad(format!("rope.scaling.factor {rope_linear} is not in [1, {}]", crate::ops::rope::ROPE_MAX_FACTOR));
        }
        // Per-head QK-norm as one grouped RMSNorm: heads and head size powers of two.
        // Heads of at least 32 entries: the RMSNorm proof's row statistics need rows of more than
        // 16 at K = 30 (`zkinfer_ops` `NormRows::widths`); every released Gemma 3 has 256.
        for (what, v) in [("head_count", base.n_head), ("head_count_kv", base.n_head_kv), ("key_length", base.head_dim)] {
            if !v.is_power_of_two() || (what == "key_length" && v < 32) {
                return bad(format!("attention.{what} {v} is not a power of two{} (needed for the per-head QK-norm)", if what == "key_length" { " ≥ 32" } else { "" }));
            }
        }
        let final_softcap = match window {
            Some(_) => None,
            None if src.has_meta(&key("final_logit_softcapping")) => {
                let fin = src.meta_f32(&key("final_logit_softcapping"))?;
                if !(fin.is_finite() && fin > 0.0) {
                    return bad(format!("final_logit_softcapping {fin} is not positive"));
                }
                Some(fin)
            }
            None => None,
        };
        if let Some(w) = window {
            base.n_ctx = base.n_ctx.min(w);
        }
        let query_scale = if base.n_layer == 62 { 1.0 / ((base.n_embd / base.n_head) as f64).sqrt() } else { 1.0 / (base.head_dim as f64).sqrt() };
        let gemma2 = Gemma2Params { attn_softcap: None, final_softcap, sliding_window: window.unwrap_or(0), query_scale };
        let gemma3 = Gemma3Params { qk_norm: true, local_blocks: window.is_some(), local_rope_base, rope_linear };
        Ok(Self { base, embd_scale: true, gemma2: Some(gemma2), gemma3: Some(gemma3) })
    }

    /// Whether block `l` is a local (sliding-window) block of a Gemma 3 model.
    pub fn is_local(&self, l: usize) -> bool {
        self.gemma3.is_some_and(|g| g.local_blocks && l % GEMMA3_PATTERN < GEMMA3_PATTERN - 1)
    }

    /// The architecture name (`gemma`, `gemma2` or `gemma3`).
    pub fn arch(&self) -> &'static str {
        self.base.arch
    }

    /// Every tensor the model reads (Llama's, plus Gemma 2's post-norms and Gemma 3's QK-norms).
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut v = self.base.tensor_shapes();
        if self.gemma2.is_some() {
            for l in 0..self.base.n_layer {
                v.push((format!("blk.{l}.post_attention_norm.weight"), vec![self.base.n_embd]));
                v.push((format!("blk.{l}.post_ffw_norm.weight"), vec![self.base.n_embd]));
            }
        }
        if self.gemma3.is_some_and(|g| g.qk_norm) {
            for l in 0..self.base.n_layer {
                v.push((format!("blk.{l}.attn_q_norm.weight"), vec![self.base.head_dim]));
                v.push((format!("blk.{l}.attn_k_norm.weight"), vec![self.base.head_dim]));
            }
        }
        v
    }

    /// The tensor the query scale is folded into: `attn_q` (Gemma 1/2), or the QK-norm's gain
    /// `attn_q_norm` (Gemma 3: the norm would undo a scale on `attn_q`).
    fn query_scaled(&self) -> &'static str {
        if self.gemma3.is_some_and(|g| g.qk_norm) { "attn_q_norm.weight" } else { "attn_q.weight" }
    }

    /// The scale folded into `attn_q`.
    pub fn query_scale(&self) -> f64 {
        self.gemma2.map_or(1.0 / (self.base.head_dim as f64).sqrt(), |g| g.query_scale)
    }

    /// `1/sqrt(D)`: the residual stream's scale in the graph (1 without the embedding scale).
    pub fn stream_scale(&self) -> f64 {
        if self.embd_scale { 1.0 / (self.base.n_embd as f64).sqrt() } else { 1.0 }
    }

    /// The epsilon of the norms that read the (rescaled) residual stream: `eps/D`.
    pub fn stream_eps(&self) -> f32 {
        (self.base.eps as f64 * self.stream_scale() * self.stream_scale()) as f32
    }
}

/// Gemma's fixed-point choices (on top of the shared [`QuantConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmaQuant {
    /// Shared choices (activations, softmax, norms, weights).
    pub base: QuantConfig,
    /// Fractional bits of the GELU gate's input: the table's `2^16` rows cover
    /// `[−2^(15−f), 2^(15−f))` (8: `[−128, 128)`, as Llama's SiLU; above, the proven clamp
    /// saturates the gate at 128).
    pub gelu_in_frac: u32,
    /// Fractional bits of the RoPE cos/sin table.
    pub rope_frac: u32,
    /// `R`: fractional bits of the residual stream, which the graph holds divided by `sqrt(D)`.
    pub resid_frac: u32,
}

impl Default for GemmaQuant {
    fn default() -> Self {
        // R = 14: the stream's true values are resolved to 2^-14·sqrt(D) (2^-8.5 for D = 2048,
        // about Llama's 2^-10 at R = 10 on a 4× smaller width); the bound 2^(24 − 14) = 1024 in
        // stream units is 46 000 in the model's for D = 2048 (RMSNorm's input bound is 2^24
        // there).
        Self { base: QuantConfig::default(), gelu_in_frac: 8, rope_frac: 16, resid_frac: 14 }
    }
}

/// Gemma as an [`Architecture`].
#[derive(Debug)]
pub struct Gemma {
    cfg: GemmaConfig,
    quant: GemmaQuant,
    gelu: Gelu,
    /// The (global) blocks' RoPE.
    rope: Rope,
    /// Gemma 3's local blocks' RoPE (`None`: every block uses `rope`).
    rope_local: Option<Rope>,
    exp_table: Arc<[i64]>,
    /// Gemma 2's attention soft-cap table op.
    softcap: Option<SoftCap>,
}

impl Gemma {
    /// The registry's entry for `gemma`, `gemma2` and `gemma3`.
    pub fn read(src: &dyn ModelSource, base: QuantConfig) -> Result<Box<dyn Architecture>, ModelError> {
        let cfg = GemmaConfig::from_source(src)?;
        Ok(Box::new(Self::new(cfg, GemmaQuant { base, ..GemmaQuant::default() })?))
    }

    /// The architecture with explicit choices (builds the GELU, RoPE and exp tables).
    pub fn new(cfg: GemmaConfig, quant: GemmaQuant) -> Result<Self, ModelError> {
        if quant.gelu_in_frac > 15 {
            return Err(ModelError::Hyperparameters(format!("gelu_in_frac {} > 15", quant.gelu_in_frac)));
        }
        let b = &cfg.base;
        let hp = |e: crate::ops::OpError| ModelError::Hyperparameters(e.to_string());
        let (rope, rope_local) = match cfg.gemma3 {
            Some(g) => {
                let factors: Arc<[f32]> = if g.rope_linear == 1.0 { Arc::from(Vec::new()) } else { Arc::from(vec![g.rope_linear; b.n_rot / 2]) };
                let global = Rope::with_freq_factors(b.n_rot, b.rope_base, quant.rope_frac, b.n_ctx, factors).map_err(hp)?;
                let local = if g.local_blocks { Some(Rope::new(b.n_rot, g.local_rope_base, quant.rope_frac, b.n_ctx).map_err(hp)?) } else { None };
                (global, local)
            }
            None => (Rope::new(b.n_rot, b.rope_base, quant.rope_frac, b.n_ctx).map_err(hp)?, None),
        };
        let softcap = match cfg.gemma2.and_then(|g| g.attn_softcap) {
            Some(cap) => {
                let in_bits = crate::ops::softcap::SOFTCAP_MAX_IN_BITS;
                let op = SoftCap::new(SoftCap::input_frac_for(cap, in_bits), quant.base.score_frac, in_bits, cap);
                Some(op.map_err(|e| ModelError::Hyperparameters(e.to_string()))?)
            }
            None => None,
        };
        Ok(Self {
            cfg,
            quant,
            gelu: Gelu::new(quant.gelu_in_frac, quant.base.act_frac),
            rope,
            rope_local,
            exp_table: ops::softmax::exp_table(quant.base.score_frac, quant.base.exp_frac),
            softcap,
        })
    }

    /// The Gemma-specific fixed-point choices.
    pub fn gemma_quant(&self) -> &GemmaQuant {
        &self.quant
    }

    /// The real values the graph's weights stand for: Q/K rows of each head put in adjacent-pair
    /// order (NEOX file; Gemma 3's QK-norm gains alike, as one head's rows), the query scale
    /// folded into `attn_q` (Gemma 3: into `attn_q_norm`), and the stream's writers scaled by
    /// `1/sqrt(D)` (Gemma: `attn_output`, `ffn_down`; Gemma 2/3: the post-norm gains) (see the
    /// module doc).
    fn transform(&self, name: &str, shape: &[usize], values: Vec<f32>) -> Vec<f32> {
        let b = &self.cfg.base;
        let is_qk = ["attn_q.weight", "attn_k.weight", "attn_q_norm.weight", "attn_k_norm.weight"].iter().any(|t| name.ends_with(t));
        let cols = if shape.len() == 2 { shape[1] } else { 1 };
        let values = if b.neox && is_qk { neox_rows_to_adjacent(&values, cols, b.head_dim, b.n_rot) } else { values };
        let writers: &[&str] = if self.cfg.gemma2.is_some() { &["post_attention_norm.weight", "post_ffw_norm.weight"] } else { &["attn_output.weight", "ffn_down.weight"] };
        let scale = if name.ends_with(self.cfg.query_scaled()) {
            self.cfg.query_scale()
        } else if writers.iter().any(|w| name.ends_with(w)) {
            self.cfg.stream_scale()
        } else {
            return values;
        };
        values.into_iter().map(|v| (v as f64 * scale) as f32).collect()
    }
}

impl Architecture for Gemma {
    fn name(&self) -> &'static str {
        self.cfg.arch()
    }
    fn config(&self) -> ModelConfig {
        self.cfg.base.common()
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
    /// Matrices to `i16` with a per-tensor shift after [`Gemma::transform`]; RMSNorm gains (the
    /// file's `w + 1`) as Llama's.
    fn quantize(&self, tensors: &[NamedTensor]) -> Weights {
        let q = &self.quant.base;
        let mut w = Weights::default();
        for (name, shape, values) in tensors {
            let t = if shape.len() == 2 {
                quantize_matrix(shape.clone(), &self.transform(name, shape, values.clone()), q.weight_bits)
            } else {
                quantize_rms_gain(q, shape, &self.transform(name, shape, values.clone()))
            };
            w.insert(name.clone(), t);
        }
        w
    }
    fn float_weights(&self, tensors: Vec<NamedTensor>) -> Vec<NamedTensor> {
        tensors
            .into_iter()
            .map(|(name, shape, values)| {
                let values = self.transform(&name, &shape, values);
                (name, shape, values)
            })
            .collect()
    }
    fn float_semantics(&self) -> FloatSemantics {
        FloatSemantics { norm_eps: self.cfg.stream_eps(), post_norm_eps: self.cfg.gemma2.map(|_| self.cfg.base.eps) }
    }
    fn final_logit_softcap(&self) -> Option<f32> {
        self.cfg.gemma2.and_then(|g| g.final_softcap)
    }
    /// `<end_of_turn>`, `<eos>` and the GGUF's other end-of-generation tokens.
    fn stop_tokens(&self, tokenizer: &Tokenizer) -> Vec<u32> {
        tokenizer.eog_ids().to_vec()
    }

    /// With `n_past > 0` the graph takes the cached (post-RoPE) keys/values as inputs, as Llama's.
    fn build(&self, weights: &Weights, step: StepShape) -> Result<Graph, ModelError> {
        let (cfg, q) = (&self.cfg.base, &self.quant.base);
        let mut s = StepBuilder::new(&cfg.common(), q, weights, step)?;
        let a = s.a();
        let r = self.quant.resid_frac as i32;
        let resid_bits = max_input_bits(cfg.n_embd);
        let eps = self.cfg.stream_eps();
        let gemma2 = self.cfg.gemma2.is_some();
        let positions = s.positions;

        // The stream divided by sqrt(D) starts as the plain embedding row.
        let x = s.token_embedding(r)?;
        let mut x = s.clamp_to(x, resid_bits, "embd.clamped")?;

        for l in 0..cfg.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            // Attention.
            let hn = s.norm(Norm::Rms, x, &p("attn_norm"), eps)?;
            let mut qm = Llama::dense(&mut s, hn, &p("attn_q"), false)?;
            let mut km = Llama::dense(&mut s, hn, &p("attn_k"), false)?;
            if self.cfg.gemma3.is_some_and(|g| g.qk_norm) {
                // Per-head RMSNorm: groups of head size over [T, heads·d], the file's epsilon.
                qm = s.norm(Norm::Rms, qm, &p("attn_q_norm"), self.cfg.base.eps)?;
                km = s.norm(Norm::Rms, km, &p("attn_k_norm"), self.cfg.base.eps)?;
            }
            let vm = Llama::dense(&mut s, hn, &p("attn_v"), false)?;
            let rope = match &self.rope_local {
                Some(local) if self.cfg.is_local(l) => local,
                _ => &self.rope,
            };
            let qh = s.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head }), &[qm], p("attn_q.heads"), a)?;
            let qh = s.node(Op::Rope(rope.clone()), &[qh, positions], p("attn_q"), a)?;
            let kh = s.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head_kv }), &[km], p("attn_k.heads"), a)?;
            let kh = s.node(Op::Rope(rope.clone()), &[kh, positions], s.kv_name(l, "k"), a)?;
            let vh = s.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head_kv }), &[vm], s.kv_name(l, "v"), a)?;
            let mut kvh = Vec::new();
            for (part, t) in [("k", kh), ("v", vh)] {
                let mut t = s.with_past(t, l, part)?;
                if cfg.group() > 1 {
                    t = s.node(Op::RepeatKv(RepeatKv { group: cfg.group() }), &[t], p(&format!("attn_{part}.rep")), a)?;
                }
                kvh.push(t);
            }
            // 1/sqrt(head size) is folded into attn_q; the context is always clamped (one
            // structure for every T, as Llama's).
            let ctx = s.attention(l, qh, kvh[0], kvh[1], 2 * a - q.score_frac as i32, &self.exp_table, CtxClamp::Always, self.softcap.as_ref())?;
            let attn = if gemma2 {
                let o = Llama::dense(&mut s, ctx, &p("attn_output"), false)?;
                let o = s.clamp_to(o, resid_bits, p("attn_output.clamped_norm"))?;
                s.rms_norm_to(o, &p("post_attention_norm"), self.cfg.base.eps, r)?
            } else {
                Llama::dense_to(&mut s, ctx, &p("attn_output"), r)?
            };
            let x1 = s.node(Op::Add(Add), &[x, attn], p("attn_resid"), r)?;
            x = s.clamp_to(x1, resid_bits, p("attn_resid.clamped"))?;
            // GeGLU FFN.
            let hn = s.norm(Norm::Rms, x, &p("ffn_norm"), eps)?;
            let (gate, gf) = s.matmul_acc(hn, &p("ffn_gate"), false)?;
            let gi = self.quant.gelu_in_frac as i32;
            let gate = s.rescale(gate, gf + a - gi, p("ffn_gate.out"), gi)?;
            let gate_bits = GELU_MIN.unsigned_abs().trailing_zeros();
            let gate = s.node(Op::Clamp(Clamp::symmetric(gate_bits)), &[gate], p("ffn_gate.clamped"), gi)?;
            let act = s.node(Op::Gelu(self.gelu.clone()), &[gate], p("ffn_gelu"), a)?;
            let up = Llama::dense(&mut s, hn, &p("ffn_up"), false)?;
            let prod = s.node(Op::Mul(Mul), &[act, up], p("ffn_prod"), 2 * a)?;
            let prod = s.rescale(prod, a, p("ffn_prod.out"), a)?;
            let prod = s.clamp_matmul_in(prod, p("ffn_prod.clamped"))?;
            let down = if gemma2 {
                let o = Llama::dense(&mut s, prod, &p("ffn_down"), false)?;
                let o = s.clamp_to(o, resid_bits, p("ffn_down.clamped_norm"))?;
                s.rms_norm_to(o, &p("post_ffw_norm"), self.cfg.base.eps, r)?
            } else {
                Llama::dense_to(&mut s, prod, &p("ffn_down"), r)?
            };
            let x2 = s.node(Op::Add(Add), &[x, down], p("ffn_resid"), r)?;
            x = s.clamp_to(x2, resid_bits, p("ffn_resid.clamped"))?;
        }
        let x = s.output_rows(x)?;
        let hn = s.norm(Norm::Rms, x, "output_norm", eps)?;
        s.finish_with_head(hn, cfg.lm_head())
    }
}
