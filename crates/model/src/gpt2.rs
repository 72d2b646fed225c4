//! GPT-2: hyperparameters, weight loading/quantization, and the integer graph.
//!
//! Tensor names follow llama.cpp's GGUF convention (`token_embd`, `position_embd`,
//! `blk.N.attn_norm`, the fused `blk.N.attn_qkv`, `attn_output`, `ffn_norm`, `ffn_up`,
//! `ffn_down`, `output_norm`, and `output.weight` when the head is not tied to `token_embd`).

use crate::graph::{Graph, GraphBuilder, TensorId, Weights};
use crate::ops::add::Add;
use crate::ops::argmax::Argmax;
use crate::ops::batched_matmul::BatchedMatMul;
use crate::ops::clamp::Clamp;
use crate::ops::concat::ConcatSeq;
use crate::ops::embedding::Embedding;
use crate::ops::gather::GatherRows;
use crate::ops::gelu::Gelu;
use crate::ops::heads::{MergeHeads, SplitHeads};
use crate::ops::layernorm::{LayerNorm, max_input_bits};
use crate::ops::matmul::MatMul;
use crate::ops::rescale::Rescale;
use crate::ops::slice::SliceCols;
use crate::ops::softmax::CausalSoftmax;
use crate::ops::{IntOp, Op};
use crate::quant::{QuantConfig, choose_frac, quantize_matrix, quantize_vector_at};
use crate::source::ModelSource;
use crate::tensor::bits_of;
use crate::ModelError;
use std::sync::Arc;

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
        let arch = src.architecture()?;
        if arch != "gpt2" {
            return Err(ModelError::UnsupportedArchitecture(arch));
        }
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
        if cfg.n_layer == 0 || cfg.n_layer > 1024 {
            return bad(format!("block_count {} not in [1, 1024]", cfg.n_layer));
        }
        if cfg.n_embd == 0 || cfg.n_embd > 1 << 15 || cfg.n_ff == 0 || cfg.n_ff > 1 << 16 {
            return bad(format!("embedding_length {} / feed_forward_length {} out of range", cfg.n_embd, cfg.n_ff));
        }
        if cfg.n_head == 0 || !cfg.n_embd.is_multiple_of(cfg.n_head) {
            return bad(format!("embedding_length {} not divisible by head_count {}", cfg.n_embd, cfg.n_head));
        }
        let hd = cfg.head_dim();
        if !hd.is_power_of_two() || !hd.trailing_zeros().is_multiple_of(2) {
            return bad(format!("head dimension {hd} is not a power of 4 (1/sqrt(d) must be an exact shift)"));
        }
        if cfg.n_ctx == 0 || cfg.n_ctx > 1 << 16 {
            return bad(format!("context_length {} not in [1, 65536]", cfg.n_ctx));
        }
        if cfg.n_vocab == 0 || cfg.n_vocab > 1 << 24 {
            return bad(format!("vocabulary size {} not in [1, 2^24]", cfg.n_vocab));
        }
        if !(cfg.eps.is_finite() && cfg.eps > 0.0) {
            return bad(format!("layer_norm_epsilon {} is not positive", cfg.eps));
        }
        Ok(cfg)
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

/// Reads every tensor as floats, checking its shape.
pub fn load_float_tensors(cfg: &Gpt2Config, src: &dyn ModelSource) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>, ModelError> {
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
            w.insert(name.clone(), quantize_norm_gain(q, shape, values, beta_bits));
        }
    }
    w
}

/// A LayerNorm gain at the most precise position `g ≤ choose_frac(γ, gamma_bits)` whose rounding
/// shift `s = K + g − A` fits the op's bound `s + out_bits ≤ 62` ([`LayerNorm::out_bits`]; the
/// output's bound does not grow with `g`). Only tiny gains are affected (e.g. `|γ| ≈ 10^−9`, whose
/// `g` would be 40): lowering `g` to `62 − out_bits − K + A` still resolves the gain far below one
/// unit of the output (`|d·inv·γ·2^−s|`'s quantisation error is `≤ sqrt(n)·2^−(g+1)` in units of
/// `2^−A`'s real value, i.e. below half an output unit whenever `g ≥ A + log2(n)/2`).
fn quantize_norm_gain(q: &QuantConfig, shape: &[usize], values: &[f32], beta_bits: u32) -> crate::tensor::WeightTensor {
    let a = q.act_frac as i32;
    let n = values.len();
    let mut frac = choose_frac(values, q.gamma_bits);
    loop {
        let t = quantize_vector_at(shape.to_vec(), values, frac, q.gamma_bits);
        let shift = q.ln_k as i32 + frac - a;
        let fits = (1..=62).contains(&shift)
            && (LayerNorm { eps: 1, k: q.ln_k, shift: shift as u32 })
                .out_bits(&[&[1, n][..], &[n][..], &[n][..]], &[max_input_bits(n), t.max_bits(), beta_bits])
                .is_ok();
        // Below shift 1 nothing fits: the graph builder reports it.
        if fits || shift <= 1 {
            return t;
        }
        frac -= 1;
    }
}

/// Builds the integer graph of one forward step: `n_new` new positions after `n_past` cached ones.
///
/// With `n_past = 0` this is the causal forward pass over the whole sequence that gets proven.
/// With `n_past > 0` the graph takes the cached keys/values as inputs `blk.N.attn_k_past` /
/// `blk.N.attn_v_past` (`[H, n_past, d]`) and appends the new ones (`ConcatSeq`); every other
/// op acts row by row, so the new rows' values equal those of the full pass exactly.
pub struct GraphParts<'a> {
    /// Hyperparameters.
    pub cfg: &'a Gpt2Config,
    /// Fixed-point choices.
    pub quant: &'a QuantConfig,
    /// Quantized weights.
    pub weights: &'a Weights,
    /// The GELU op (with its table).
    pub gelu: &'a Gelu,
    /// The softmax exp table.
    pub exp_table: &'a Arc<[i64]>,
}

impl std::fmt::Debug for GraphParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphParts").field("cfg", self.cfg).field("quant", self.quant).finish_non_exhaustive()
    }
}

impl GraphParts<'_> {
    fn w(&self, b: &mut GraphBuilder, name: &str) -> Result<(TensorId, i32), ModelError> {
        let t = self.weights.get(name).ok_or_else(|| ModelError::MissingTensor(name.into()))?;
        let bits = self.weights.bits(name).unwrap_or_else(|| t.max_bits());
        Ok((b.weight_with_bits(name, t, bits), t.frac_bits))
    }

    fn clamp_to(b: &mut GraphBuilder, x: TensorId, bits: u32, name: String) -> Result<TensorId, ModelError> {
        if b.meta(x).bits <= bits {
            return Ok(x);
        }
        let frac = b.meta(x).frac_bits;
        Ok(b.node(Op::Clamp(Clamp::symmetric(bits)), &[x], name, frac)?)
    }

    fn layernorm(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        let a = self.quant.act_frac as i32;
        let (g, gf) = self.w(b, &format!("{prefix}.weight"))?;
        let (beta, _) = self.w(b, &format!("{prefix}.bias"))?;
        let shift = self.quant.ln_k as i32 + gf - a;
        if !(1..=62).contains(&shift) {
            return Err(ModelError::Hyperparameters(format!("{prefix}: LayerNorm shift {shift} out of range")));
        }
        let eps = ((self.cfg.eps as f64) * ((2 * a) as f64).exp2()).round().max(1.0) as i64;
        let op = LayerNorm { eps, k: self.quant.ln_k, shift: shift as u32 };
        let y = b.node(Op::LayerNorm(op), &[x, g, beta], format!("{prefix}.out"), a)?;
        Self::clamp_to(b, y, self.quant.matmul_in_bits, format!("{prefix}.out.clamped"))
    }

    /// `x · Wᵀ + b` at scale `2^-(A + f_w)`; returns the accumulator and `f_w`.
    fn dense_acc(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str, bias: bool) -> Result<(TensorId, i32), ModelError> {
        let a = self.quant.act_frac as i32;
        let (w, wf) = self.w(b, &format!("{prefix}.weight"))?;
        let mut inputs = vec![x, w];
        if bias {
            inputs.push(self.w(b, &format!("{prefix}.bias"))?.0);
        }
        let acc = b.node(Op::MatMul(MatMul { has_bias: bias }), &inputs, format!("{prefix}.acc"), a + wf)?;
        Ok((acc, wf))
    }

    /// `x · Wᵀ + b` rescaled to `2^-A`.
    fn dense(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        let a = self.quant.act_frac as i32;
        let (acc, wf) = self.dense_acc(b, x, prefix, true)?;
        Ok(b.node(Op::Rescale(Rescale { shift: wf }), &[acc], format!("{prefix}.out"), a)?)
    }

    /// The step graph (see the type's docs) with the LM head and argmax at every new position.
    pub fn build(&self, n_new: usize, n_past: usize) -> Result<Graph, ModelError> {
        self.build_with_outputs(n_new, n_past, n_new)
    }

    /// The step graph with the LM head and argmax only at the rows given by the public input
    /// `out_rows: [n_out]` (row indices among the `n_new` new positions): see
    /// [`crate::ops::gather`].
    pub fn build_with_outputs(&self, n_new: usize, n_past: usize, n_out: usize) -> Result<Graph, ModelError> {
        let (cfg, q) = (self.cfg, self.quant);
        let a = q.act_frac as i32;
        let (d, h, hd) = (cfg.n_embd, cfg.n_head, cfg.head_dim());
        let total = n_new.saturating_add(n_past);
        if n_new == 0 || total > cfg.n_ctx {
            return Err(ModelError::TooLong { len: total, ctx: cfg.n_ctx });
        }
        let resid_bits = max_input_bits(d);
        let mut b = GraphBuilder::new();
        let tokens = b.input("tokens", vec![n_new], 0, bits_of(cfg.n_vocab as u64 - 1));
        let positions = b.input("positions", vec![n_new], 0, bits_of(cfg.n_ctx as u64 - 1));

        let (tok_w, tok_f) = self.w(&mut b, "token_embd.weight")?;
        let tok = b.node(Op::Embedding(Embedding), &[tokens, tok_w], "tok_embd", tok_f)?;
        let tok = b.node(Op::Rescale(Rescale { shift: tok_f - a }), &[tok], "tok_embd.rescaled", a)?;
        let (pos_w, _) = self.w(&mut b, "position_embd.weight")?;
        let pos = b.node(Op::Embedding(Embedding), &[positions, pos_w], "pos_embd", a)?;
        let x = b.node(Op::Add(Add), &[tok, pos], "embd", a)?;
        let mut x = Self::clamp_to(&mut b, x, resid_bits, "embd.clamped".into())?;

        for l in 0..cfg.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            // Attention.
            let hn = self.layernorm(&mut b, x, &p("attn_norm"))?;
            let qkv = self.dense(&mut b, hn, &p("attn_qkv"))?;
            let qkv = Self::clamp_to(&mut b, qkv, q.matmul_in_bits, p("attn_qkv.clamped"))?;
            let mut heads = Vec::new();
            for (i, part) in ["q", "k", "v"].iter().enumerate() {
                let s = b.node(Op::SliceCols(SliceCols { start: i * d, len: d }), &[qkv], p(&format!("attn_{part}.cols")), a)?;
                let name = if n_past > 0 && i > 0 { p(&format!("attn_{part}_new")) } else { p(&format!("attn_{part}")) };
                let mut t = b.node(Op::SplitHeads(SplitHeads { heads: h }), &[s], name, a)?;
                if n_past > 0 && i > 0 {
                    let bits = b.meta(t).bits;
                    let past = b.input(p(&format!("attn_{part}_past")), vec![h, n_past, hd], a, bits);
                    t = b.node(Op::ConcatSeq(ConcatSeq), &[past, t], p(&format!("attn_{part}")), a)?;
                }
                heads.push(t);
            }
            let scores = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: true }), &[heads[0], heads[1]], p("attn_scores"), 2 * a)?;
            // scores · 2^-2A / sqrt(hd) at 2^-S: shift by 2A − S + log2(sqrt(hd)) (hd is a power of 4).
            let shift = 2 * a - q.score_frac as i32 + (hd.trailing_zeros() / 2) as i32;
            let scores = b.node(Op::Rescale(Rescale { shift }), &[scores], p("attn_scores.scaled"), q.score_frac as i32)?;
            let softmax = CausalSoftmax::new(n_past, q.score_frac, q.exp_frac, q.prob_frac, self.exp_table.clone());
            let probs = b.node(Op::Softmax(softmax), &[scores], p("attn_probs"), q.prob_frac as i32)?;
            let ctx = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: false }), &[probs, heads[2]], p("attn_ctx.acc"), q.prob_frac as i32 + a)?;
            let ctx = b.node(Op::Rescale(Rescale { shift: q.prob_frac as i32 }), &[ctx], p("attn_ctx.heads"), a)?;
            let ctx = b.node(Op::MergeHeads(MergeHeads), &[ctx], p("attn_ctx"), a)?;
            let ctx = Self::clamp_to(&mut b, ctx, q.matmul_in_bits, p("attn_ctx.clamped"))?;
            let attn = self.dense(&mut b, ctx, &p("attn_output"))?;
            let x1 = b.node(Op::Add(Add), &[x, attn], p("attn_resid"), a)?;
            x = Self::clamp_to(&mut b, x1, resid_bits, p("attn_resid.clamped"))?;
            // MLP.
            let hn = self.layernorm(&mut b, x, &p("ffn_norm"))?;
            let (up, uf) = self.dense_acc(&mut b, hn, &p("ffn_up"), true)?;
            let g = q.gelu_in_frac as i32;
            let up = b.node(Op::Rescale(Rescale { shift: uf + a - g }), &[up], p("ffn_up.out"), g)?;
            let up = b.node(Op::Clamp(Clamp::symmetric(15)), &[up], p("ffn_up.clamped"), g)?;
            let act = b.node(Op::Gelu(self.gelu.clone()), &[up], p("ffn_gelu"), a)?;
            let act = Self::clamp_to(&mut b, act, q.matmul_in_bits, p("ffn_gelu.clamped"))?;
            let down = self.dense(&mut b, act, &p("ffn_down"))?;
            let x2 = b.node(Op::Add(Add), &[x, down], p("ffn_resid"), a)?;
            x = Self::clamp_to(&mut b, x2, resid_bits, p("ffn_resid.clamped"))?;
        }
        let x = output_rows(&mut b, x, n_out, cfg.n_ctx, a)?;
        let hn = self.layernorm(&mut b, x, "output_norm")?;
        let (lm, lm_f) = self.w(&mut b, cfg.lm_head())?;
        let logits = b.node(Op::MatMul(MatMul { has_bias: false }), &[hn, lm], "logits", a + lm_f)?;
        let next = b.node(Op::Argmax(Argmax), &[logits], "next_token", 0)?;
        Ok(b.finish(vec![logits, next])?)
    }
}

/// The rows of the final residual stream `x: [n_new, D]` whose next token is predicted: the public
/// input `out_rows: [n_out]` (indices in `[0, n_new)`, `n_out ∈ [1, n_ctx]`) gathers them
/// ([`GatherRows`]). Shared by every architecture's builder.
pub(crate) fn output_rows(b: &mut GraphBuilder, x: TensorId, n_out: usize, n_ctx: usize, frac: i32) -> Result<TensorId, ModelError> {
    if n_out == 0 || n_out > n_ctx {
        return Err(ModelError::TooLong { len: n_out, ctx: n_ctx });
    }
    let rows = b.input("out_rows", vec![n_out], 0, bits_of(n_ctx as u64 - 1));
    Ok(b.node(Op::GatherRows(GatherRows), &[rows, x], "out_rows.hidden", frac)?)
}
