//! GPT-2, the first [`Architecture`]: hyperparameters, weight naming and quantization, and the
//! integer graph.
//!
//! Tensor names follow llama.cpp's GGUF convention (`token_embd`, `position_embd`,
//! `blk.N.attn_norm`, the fused `blk.N.attn_qkv`, `attn_output`, `ffn_norm`, `ffn_up`,
//! `ffn_down`, `output_norm`, and `output.weight` when the head is not tied to `token_embd`).

use crate::arch::{Architecture, ModelConfig, NamedTensor, StepShape, check_common, expect_architecture};
use crate::build::{CtxClamp, Norm, StepBuilder};
use crate::float::FloatSemantics;
use crate::graph::{Graph, TensorId, Weights};
use crate::ops::add::Add;
use crate::ops::clamp::Clamp;
use crate::ops::embedding::Embedding;
use crate::ops::gelu::Gelu;
use crate::ops::heads::SplitHeads;
use crate::ops::layernorm::{LayerNorm, max_input_bits};
use crate::ops::slice::SliceCols;
use crate::ops::{IntOp, Op};
use crate::quant::{QuantConfig, quantize_matrix, quantize_norm_gain, quantize_vector_at};
use crate::source::ModelSource;
use crate::ModelError;
use std::sync::Arc;
use zkinfer_tokenizer::Tokenizer;

/// GPT-2 hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gpt2Config {
    /// Transformer blocks.
    pub n_layer: usize,
    /// Model width `D`.
    pub n_embd: usize,
    /// Attention heads `H`.
    pub n_head: usize,
    /// Context length (rows of the position embedding).
    pub n_ctx: usize,
    /// Hidden width of the MLP.
    pub n_ff: usize,
    /// Vocabulary size.
    pub n_vocab: usize,
    /// LayerNorm epsilon.
    pub eps: f32,
    /// Whether the LM head is `token_embd.weight` (no `output.weight` in the file).
    pub tied_output: bool,
}

impl Gpt2Config {
    /// Per-head width `D / H`.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Reads and checks the hyperparameters of a GPT-2 source.
    pub fn from_source(src: &dyn ModelSource) -> Result<Self, ModelError> {
        expect_architecture(src, "gpt2")?;
        let u = |k: &str| src.meta_u32(&format!("gpt2.{k}")).map(|v| v as usize);
        let tok = src.tensor_shape("token_embd.weight").ok_or_else(|| ModelError::MissingTensor("token_embd.weight".into()))?;
        let cfg = Gpt2Config {
            n_layer: u("block_count")?,
            n_embd: u("embedding_length")?,
            n_head: u("attention.head_count")?,
            n_ctx: u("context_length")?,
            n_ff: u("feed_forward_length")?,
            n_vocab: tok.first().copied().unwrap_or(0),
            eps: src.meta_f32("gpt2.attention.layer_norm_epsilon")?,
            tied_output: src.tensor_shape("output.weight").is_none(),
        };
        let bad = |m: String| Err(ModelError::Hyperparameters(m));
        check_common(&cfg.common(), cfg.n_ff, cfg.eps, "layer_norm_epsilon")?;
        if cfg.n_head == 0 || !cfg.n_embd.is_multiple_of(cfg.n_head) {
            return bad(format!("embedding_length {} not divisible by head_count {}", cfg.n_embd, cfg.n_head));
        }
        let hd = cfg.head_dim();
        if !hd.is_power_of_two() || !hd.trailing_zeros().is_multiple_of(2) {
            return bad(format!("head dimension {hd} is not a power of 4 (1/sqrt(d) must be an exact shift)"));
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

    /// Every tensor GPT-2 needs, with its expected shape (outermost first).
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, f) = (self.n_embd, self.n_ff);
        let mut v = vec![
            ("token_embd.weight".to_owned(), vec![self.n_vocab, d]),
            ("position_embd.weight".to_owned(), vec![self.n_ctx, d]),
        ];
        for l in 0..self.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            v.extend([
                (p("attn_norm.weight"), vec![d]),
                (p("attn_norm.bias"), vec![d]),
                (p("attn_qkv.weight"), vec![3 * d, d]),
                (p("attn_qkv.bias"), vec![3 * d]),
                (p("attn_output.weight"), vec![d, d]),
                (p("attn_output.bias"), vec![d]),
                (p("ffn_norm.weight"), vec![d]),
                (p("ffn_norm.bias"), vec![d]),
                (p("ffn_up.weight"), vec![f, d]),
                (p("ffn_up.bias"), vec![f]),
                (p("ffn_down.weight"), vec![d, f]),
                (p("ffn_down.bias"), vec![d]),
            ]);
        }
        v.push(("output_norm.weight".to_owned(), vec![d]));
        v.push(("output_norm.bias".to_owned(), vec![d]));
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

/// Quantizes GPT-2's float tensors (see `docs/QUANTIZATION.md`).
pub fn quantize_weights(q: &QuantConfig, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Weights {
    let a = q.act_frac as i32;
    let mut w = Weights::default();
    // Matrices first: their shifts fix the scale of their biases.
    for (name, shape, values) in tensors {
        if shape.len() == 2 && name != "position_embd.weight" {
            w.insert(name.clone(), quantize_matrix(shape.clone(), values, q.weight_bits));
        }
    }
    for (name, shape, values) in tensors {
        if shape.len() == 2 && name != "position_embd.weight" {
            continue;
        }
        let t = if name == "position_embd.weight" {
            quantize_vector_at(shape.clone(), values, a, 40)
        } else if let Some(base) = name.strip_suffix(".bias")
            && let Some(m) = w.get(&format!("{base}.weight")).filter(|m| m.shape.len() == 2)
        {
            // A matmul bias lives in the accumulator's scale 2^-(A + f_w).
            quantize_vector_at(shape.clone(), values, a + m.frac_bits, 50)
        } else if name.ends_with("norm.weight") {
            continue;
        } else {
            // LayerNorm beta: added in the output scale.
            quantize_vector_at(shape.clone(), values, a, 40)
        };
        w.insert(name.clone(), t);
    }
    // LayerNorm gains last: their position depends on the bias's bound.
    for (name, shape, values) in tensors {
        if let Some(base) = name.strip_suffix(".weight")
            && name.ends_with("norm.weight")
        {
            let beta_bits = w.get(&format!("{base}.bias")).map_or(0, |b| b.max_bits());
            w.insert(name.clone(), quantize_layernorm_gain(q, shape, values, beta_bits));
        }
    }
    w
}

/// A LayerNorm gain at the most precise position whose rounding shift fits the op's bound
/// ([`LayerNorm::out_bits`] with the bias's bound; see [`quantize_norm_gain`]).
fn quantize_layernorm_gain(q: &QuantConfig, shape: &[usize], values: &[f32], beta_bits: u32) -> crate::tensor::WeightTensor {
    let n = values.len();
    quantize_norm_gain(q, shape, values, |shift, gain| {
        (LayerNorm { eps: 1, k: q.ln_k, shift })
            .out_bits(&[&[1, n][..], &[n][..], &[n][..]], &[max_input_bits(n), gain.max_bits(), beta_bits])
            .is_ok()
    })
}

/// GPT-2 as an [`Architecture`]: hyperparameters, fixed-point choices and tables.
#[derive(Debug)]
pub struct Gpt2 {
    cfg: Gpt2Config,
    quant: QuantConfig,
    gelu: Gelu,
    exp_table: Arc<[i64]>,
}

impl Gpt2 {
    /// Reads the hyperparameters of `src` and builds the tables (the registry's entry).
    pub fn read(src: &dyn ModelSource, quant: QuantConfig) -> Result<Box<dyn Architecture>, ModelError> {
        let cfg = Gpt2Config::from_source(src)?;
        Ok(Box::new(Gpt2 {
            cfg,
            quant,
            gelu: Gelu::new(quant.gelu_in_frac, quant.act_frac),
            exp_table: crate::ops::softmax::exp_table(quant.score_frac, quant.exp_frac),
        }))
    }

    /// `x · Wᵀ + b` rescaled to `2^-A` (`{prefix}.out`).
    fn dense(s: &mut StepBuilder<'_>, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        let a = s.a();
        let (acc, wf) = s.matmul_acc(x, prefix, true)?;
        s.rescale(acc, wf, format!("{prefix}.out"), a)
    }
}

impl Architecture for Gpt2 {
    fn name(&self) -> &'static str {
        "gpt2"
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
        &self.quant
    }
    fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.cfg.tensor_shapes()
    }
    fn quantize(&self, tensors: &[NamedTensor]) -> Weights {
        quantize_weights(&self.quant, tensors)
    }
    fn float_semantics(&self) -> FloatSemantics {
        FloatSemantics::eps(self.cfg.eps)
    }
    /// GPT-2 generates exactly the tokens asked for (what a proof covers): no stop tokens.
    fn stop_tokens(&self, _tokenizer: &Tokenizer) -> Vec<u32> {
        Vec::new()
    }

    /// With `n_past > 0` the graph takes the cached keys/values as inputs `blk.N.attn_k_past` /
    /// `blk.N.attn_v_past` (`[H, n_past, d]`) and appends the new ones (`ConcatSeq`); every other
    /// op acts row by row, so the new rows' values equal those of the full pass exactly.
    fn build(&self, weights: &Weights, step: StepShape) -> Result<Graph, ModelError> {
        let (cfg, q) = (&self.cfg, &self.quant);
        let mut s = StepBuilder::new(&cfg.common(), q, weights, step)?;
        let a = s.a();
        let (d, h, hd) = (cfg.n_embd, cfg.n_head, cfg.head_dim());
        let resid_bits = max_input_bits(d);

        let tok = s.token_embedding(a)?;
        let (pos_w, _) = s.weight("position_embd.weight")?;
        let positions = s.positions;
        let pos = s.node(Op::Embedding(Embedding), &[positions, pos_w], "pos_embd", a)?;
        let x = s.node(Op::Add(Add), &[tok, pos], "embd", a)?;
        let mut x = s.clamp_to(x, resid_bits, "embd.clamped")?;

        for l in 0..cfg.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            // Attention.
            let hn = s.norm(Norm::Layer, x, &p("attn_norm"), cfg.eps)?;
            let qkv = Self::dense(&mut s, hn, &p("attn_qkv"))?;
            let qkv = s.clamp_matmul_in(qkv, p("attn_qkv.clamped"))?;
            let mut heads = Vec::new();
            for (i, part) in ["q", "k", "v"].iter().enumerate() {
                let cols = s.node(Op::SliceCols(SliceCols { start: i * d, len: d }), &[qkv], p(&format!("attn_{part}.cols")), a)?;
                let name = if i == 0 { p("attn_q") } else { s.kv_name(l, part) };
                let t = s.node(Op::SplitHeads(SplitHeads { heads: h }), &[cols], name, a)?;
                heads.push(if i == 0 { t } else { s.with_past(t, l, part)? });
            }
            // scores · 2^-2A / sqrt(hd) at 2^-S: shift by 2A − S + log2(sqrt(hd)) (hd is a power of 4).
            let shift = 2 * a - q.score_frac as i32 + (hd.trailing_zeros() / 2) as i32;
            let ctx = s.attention(l, heads[0], heads[1], heads[2], shift, &self.exp_table, CtxClamp::IfBoundExceeds, None)?;
            let attn = Self::dense(&mut s, ctx, &p("attn_output"))?;
            let x1 = s.node(Op::Add(Add), &[x, attn], p("attn_resid"), a)?;
            x = s.clamp_to(x1, resid_bits, p("attn_resid.clamped"))?;
            // MLP.
            let hn = s.norm(Norm::Layer, x, &p("ffn_norm"), cfg.eps)?;
            let (up, uf) = s.matmul_acc(hn, &p("ffn_up"), true)?;
            let g = q.gelu_in_frac as i32;
            let up = s.rescale(up, uf + a - g, p("ffn_up.out"), g)?;
            let up = s.node(Op::Clamp(Clamp::symmetric(15)), &[up], p("ffn_up.clamped"), g)?;
            let act = s.node(Op::Gelu(self.gelu.clone()), &[up], p("ffn_gelu"), a)?;
            let act = s.clamp_matmul_in(act, p("ffn_gelu.clamped"))?;
            let down = Self::dense(&mut s, act, &p("ffn_down"))?;
            let x2 = s.node(Op::Add(Add), &[x, down], p("ffn_resid"), a)?;
            x = s.clamp_to(x2, resid_bits, p("ffn_resid.clamped"))?;
        }
        let x = s.output_rows(x)?;
        let hn = s.norm(Norm::Layer, x, "output_norm", cfg.eps)?;
        s.finish_with_head(hn, cfg.lm_head())
    }
}
