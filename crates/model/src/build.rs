//! The graph-building steps every architecture shares: the step's inputs, weights, rescales and
//! clamps, matmuls, norms, the attention core with its KV-cache inputs, and the LM head. An
//! architecture's builder ([`crate::Architecture::build`]) is its block structure written with
//! these; tensor names and node order are part of the proven statement (the graph is in the key).

use crate::arch::{ModelConfig, StepShape};
use crate::graph::{Graph, GraphBuilder, TensorId, Weights};
use crate::ops::argmax::Argmax;
use crate::ops::batched_matmul::BatchedMatMul;
use crate::ops::clamp::Clamp;
use crate::ops::concat::ConcatSeq;
use crate::ops::embedding::Embedding;
use crate::ops::gather::GatherRows;
use crate::ops::heads::MergeHeads;
use crate::ops::layernorm::LayerNorm;
use crate::ops::matmul::MatMul;
use crate::ops::rescale::Rescale;
use crate::ops::rmsnorm::RmsNorm;
use crate::ops::softcap::SoftCap;
use crate::ops::softmax::CausalSoftmax;
use crate::ops::Op;
use crate::quant::QuantConfig;
use crate::tensor::bits_of;
use crate::ModelError;
use std::sync::Arc;

/// Which normalisation a block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Norm {
    /// `(x − mean)·inv·γ + β` (weights `{prefix}.weight`, `{prefix}.bias`).
    Layer,
    /// `x·inv·γ` (weight `{prefix}.weight`).
    Rms,
}

/// Whether [`StepBuilder::attention`] clamps its merged context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CtxClamp {
    /// Only if the context's static bound exceeds the matmul input bound. `P·V`'s bound grows
    /// with the number of keys, so this suits only a model whose bound stays on one side for every
    /// `T` (GPT-2's does: setup checks the template at `T = 1` and `T = n_ctx`).
    IfBoundExceeds,
    /// Always (one graph structure for every `T` whatever the bound; Llama's choice, and the safe
    /// one for a new architecture).
    Always,
}

/// A step graph under construction: `n_new` positions after `n_past` cached ones.
pub(crate) struct StepBuilder<'a> {
    b: GraphBuilder,
    weights: &'a Weights,
    q: &'a QuantConfig,
    /// The largest position (`n_ctx − 1`) and the predicted positions.
    n_ctx: usize,
    n_out: usize,
    /// Cached positions.
    pub n_past: usize,
    /// Input `tokens: [n_new]`.
    pub tokens: TensorId,
    /// Input `positions: [n_new]`.
    pub positions: TensorId,
}

impl<'a> StepBuilder<'a> {
    /// Declares the inputs `tokens` and `positions`; refuses an empty step, one past the context,
    /// and a number of predicted positions outside `[1, n_ctx]`.
    pub fn new(cfg: &ModelConfig, q: &'a QuantConfig, weights: &'a Weights, step: StepShape) -> Result<Self, ModelError> {
        let StepShape { n_new, n_past, n_out } = step;
        let total = n_new.saturating_add(n_past);
        if n_new == 0 || total > cfg.n_ctx {
            return Err(ModelError::TooLong { len: total, ctx: cfg.n_ctx });
        }
        if n_out == 0 || n_out > cfg.n_ctx {
            return Err(ModelError::TooLong { len: n_out, ctx: cfg.n_ctx });
        }
        let mut b = GraphBuilder::new();
        let tokens = b.input("tokens", vec![n_new], 0, bits_of(cfg.n_vocab as u64 - 1));
        let positions = b.input("positions", vec![n_new], 0, bits_of(cfg.n_ctx as u64 - 1));
        Ok(Self { b, weights, q, n_ctx: cfg.n_ctx, n_out, n_past, tokens, positions })
    }

    /// `A`: the activations' fractional bits.
    pub fn a(&self) -> i32 {
        self.q.act_frac as i32
    }

    /// The metadata's fractional bits of `x`.
    pub fn frac(&self, x: TensorId) -> i32 {
        self.b.meta(x).frac_bits
    }

    /// Declares the committed weight `name`; returns it and its fractional bits.
    pub fn weight(&mut self, name: &str) -> Result<(TensorId, i32), ModelError> {
        let t = self.weights.get(name).ok_or_else(|| ModelError::MissingTensor(name.into()))?;
        let bits = self.weights.bits(name).unwrap_or_else(|| t.max_bits());
        Ok((self.b.weight_with_bits(name, t, bits), t.frac_bits))
    }

    /// Appends `op(inputs)` as activation `name` at `frac` fractional bits.
    pub fn node(&mut self, op: Op, inputs: &[TensorId], name: impl Into<String>, frac: i32) -> Result<TensorId, ModelError> {
        Ok(self.b.node(op, inputs, name, frac)?)
    }

    /// `x · 2^-shift` rounded, as `name` at `frac`.
    pub fn rescale(&mut self, x: TensorId, shift: i32, name: impl Into<String>, frac: i32) -> Result<TensorId, ModelError> {
        self.node(Op::Rescale(Rescale { shift }), &[x], name, frac)
    }

    /// Saturates `x` to `|v| < 2^bits` as `name` if its static bound is larger (else `x`).
    pub fn clamp_to(&mut self, x: TensorId, bits: u32, name: impl Into<String>) -> Result<TensorId, ModelError> {
        if self.b.meta(x).bits <= bits {
            return Ok(x);
        }
        let frac = self.frac(x);
        self.node(Op::Clamp(Clamp::symmetric(bits)), &[x], name, frac)
    }

    /// [`StepBuilder::clamp_to`] the matmul input bound.
    pub fn clamp_matmul_in(&mut self, x: TensorId, name: impl Into<String>) -> Result<TensorId, ModelError> {
        self.clamp_to(x, self.q.matmul_in_bits, name)
    }

    /// `x · Wᵀ (+ b)` for the weights `{prefix}.weight` (and `{prefix}.bias`), as `{prefix}.acc`
    /// at `2^-(A + f_w)`; returns the accumulator and `f_w`.
    pub fn matmul_acc(&mut self, x: TensorId, prefix: &str, bias: bool) -> Result<(TensorId, i32), ModelError> {
        let a = self.a();
        let (w, wf) = self.weight(&format!("{prefix}.weight"))?;
        let mut inputs = vec![x, w];
        if bias {
            inputs.push(self.weight(&format!("{prefix}.bias"))?.0);
        }
        let acc = self.node(Op::MatMul(MatMul { has_bias: bias }), &inputs, format!("{prefix}.acc"), a + wf)?;
        Ok((acc, wf))
    }

    /// Gathers the rows of `token_embd.weight` (`tok_embd`) and rescales them to `frac`
    /// (`tok_embd.rescaled`).
    pub fn token_embedding(&mut self, frac: i32) -> Result<TensorId, ModelError> {
        let (w, wf) = self.weight("token_embd.weight")?;
        let tokens = self.tokens;
        let tok = self.node(Op::Embedding(Embedding), &[tokens, w], "tok_embd", wf)?;
        self.rescale(tok, wf - frac, "tok_embd.rescaled", frac)
    }

    /// The norm `{prefix}` of `x` at `2^-A` (`{prefix}.out`), clamped to the matmul input bound
    /// (`{prefix}.out.clamped`). The gain's position `g` fixes the rounding shift `K + g − A`;
    /// `eps` is taken in units of the input's `x²`.
    pub fn norm(&mut self, kind: Norm, x: TensorId, prefix: &str, eps: f32) -> Result<TensorId, ModelError> {
        let (a, k) = (self.a(), self.q.ln_k);
        let (g, gf) = self.weight(&format!("{prefix}.weight"))?;
        let beta = if kind == Norm::Layer { Some(self.weight(&format!("{prefix}.bias"))?.0) } else { None };
        let shift = k as i32 + gf - a;
        let what = if kind == Norm::Layer { "LayerNorm" } else { "RMSNorm" };
        if !(1..=62).contains(&shift) {
            return Err(ModelError::Hyperparameters(format!("{prefix}: {what} shift {shift} out of range")));
        }
        let x_frac = self.frac(x);
        let eps = ((eps as f64) * ((2 * x_frac) as f64).exp2()).round().max(1.0) as i64;
        let shift = shift as u32;
        let y = match beta {
            Some(beta) => self.node(Op::LayerNorm(LayerNorm { eps, k, shift }), &[x, g, beta], format!("{prefix}.out"), a)?,
            None => self.node(Op::RmsNorm(RmsNorm { eps, k, shift }), &[x, g], format!("{prefix}.out"), a)?,
        };
        self.clamp_matmul_in(y, format!("{prefix}.out.clamped"))
    }

    /// RMSNorm `{prefix}` of `x` with its output at `2^-out_frac` (`{prefix}.out`, not clamped: a
    /// post-norm writing the residual stream, Gemma 2); `eps` in units of the input's `x²`.
    pub fn rms_norm_to(&mut self, x: TensorId, prefix: &str, eps: f32, out_frac: i32) -> Result<TensorId, ModelError> {
        let k = self.q.ln_k;
        let (g, gf) = self.weight(&format!("{prefix}.weight"))?;
        let shift = k as i32 + gf - out_frac;
        if !(1..=62).contains(&shift) {
            return Err(ModelError::Hyperparameters(format!("{prefix}: RMSNorm shift {shift} out of range")));
        }
        let x_frac = self.frac(x);
        let eps = ((eps as f64) * ((2 * x_frac) as f64).exp2()).round().max(1.0) as i64;
        self.node(Op::RmsNorm(RmsNorm { eps, k, shift: shift as u32 }), &[x, g], format!("{prefix}.out"), out_frac)
    }

    /// The name of block `l`'s new key/value heads: `attn_{part}` in the full pass, and
    /// `attn_{part}_new` in a KV-cache step (where `attn_{part}` names the concatenation).
    pub fn kv_name(&self, l: usize, part: &str) -> String {
        if self.n_past > 0 { format!("blk.{l}.attn_{part}_new") } else { format!("blk.{l}.attn_{part}") }
    }

    /// In a KV-cache step, prepends the cached heads (input `blk.{l}.attn_{part}_past`,
    /// `[H_kv, n_past, d]`) to the new ones `t` as `blk.{l}.attn_{part}`; otherwise `t`.
    pub fn with_past(&mut self, t: TensorId, l: usize, part: &str) -> Result<TensorId, ModelError> {
        if self.n_past == 0 {
            return Ok(t);
        }
        let meta = self.b.meta(t);
        let (shape, frac, bits) = (vec![meta.shape[0], self.n_past, meta.shape[2]], meta.frac_bits, meta.bits);
        let past = self.b.input(format!("blk.{l}.attn_{part}_past"), shape, frac, bits);
        self.node(Op::ConcatSeq(ConcatSeq), &[past, t], format!("blk.{l}.attn_{part}"), frac)
    }

    /// Causal attention of block `l` over heads `q`, `k`, `v` (at `2^-A`): `QKᵀ` (`attn_scores`),
    /// rescaled by `score_shift` to the softmax input (`attn_scores.scaled`), softmax
    /// (`attn_probs`), `P·V` (`attn_ctx.acc`, `attn_ctx.heads`), heads merged (`attn_ctx`) and
    /// clamped to the matmul input bound (`attn_ctx.clamped`) as `clamp` says. With `softcap`
    /// (Gemma 2), the scores are rescaled to the cap's input scale instead (`score_shift` is the
    /// shift to the softmax input's `2^-S`, adjusted here), clamped to its table
    /// (`attn_scores.clamped`) and capped to `2^-S` (`attn_scores.capped`) before the softmax.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &mut self,
        l: usize,
        q: TensorId,
        k: TensorId,
        v: TensorId,
        score_shift: i32,
        exp_table: &Arc<[i64]>,
        clamp: CtxClamp,
        softcap: Option<&SoftCap>,
    ) -> Result<TensorId, ModelError> {
        let p = |n: &str| format!("blk.{l}.{n}");
        let (a, qc) = (self.a(), *self.q);
        let (s, e, pf) = (qc.score_frac, qc.exp_frac, qc.prob_frac);
        let scores = self.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: true }), &[q, k], p("attn_scores"), 2 * a)?;
        let scores = match softcap {
            None => self.rescale(scores, score_shift, p("attn_scores.scaled"), s as i32)?,
            Some(cap) => {
                if cap.out_frac != s {
                    return Err(ModelError::Hyperparameters(format!("soft-cap output scale {} differs from the softmax input's {s}", cap.out_frac)));
                }
                let f = cap.in_frac as i32;
                let scaled = self.rescale(scores, score_shift + s as i32 - f, p("attn_scores.scaled"), f)?;
                let scaled = self.node(Op::Clamp(Clamp::symmetric(cap.in_bits - 1)), &[scaled], p("attn_scores.clamped"), f)?;
                self.node(Op::SoftCap(cap.clone()), &[scaled], p("attn_scores.capped"), s as i32)?
            }
        };
        let softmax = CausalSoftmax::new(self.n_past, s, e, pf, exp_table.clone());
        let probs = self.node(Op::Softmax(softmax), &[scores], p("attn_probs"), pf as i32)?;
        let ctx = self.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: false }), &[probs, v], p("attn_ctx.acc"), pf as i32 + a)?;
        let ctx = self.rescale(ctx, pf as i32, p("attn_ctx.heads"), a)?;
        let ctx = self.node(Op::MergeHeads(MergeHeads), &[ctx], p("attn_ctx"), a)?;
        match clamp {
            CtxClamp::IfBoundExceeds => self.clamp_matmul_in(ctx, p("attn_ctx.clamped")),
            CtxClamp::Always => self.node(Op::Clamp(Clamp::symmetric(qc.matmul_in_bits)), &[ctx], p("attn_ctx.clamped"), a),
        }
    }

    /// The rows of the final residual stream `x: [n_new, D]` whose next token is predicted: the
    /// public input `out_rows: [n_out]` (indices in `[0, n_new)`) gathers them
    /// ([`GatherRows`], as `out_rows.hidden`), so the output norm, the LM head and the argmax run
    /// on those rows only.
    pub fn output_rows(&mut self, x: TensorId) -> Result<TensorId, ModelError> {
        let rows = self.b.input("out_rows", vec![self.n_out], 0, bits_of(self.n_ctx as u64 - 1));
        let frac = self.frac(x);
        self.node(Op::GatherRows(GatherRows), &[rows, x], "out_rows.hidden", frac)
    }

    /// The LM head on the final normalised `hn` (`logits` at `2^-(A + f_lm)`), the greedy
    /// `next_token`, and the finished graph.
    pub fn finish_with_head(mut self, hn: TensorId, lm_head: &str) -> Result<Graph, ModelError> {
        let a = self.a();
        let (lm, lm_f) = self.weight(lm_head)?;
        let logits = self.node(Op::MatMul(MatMul { has_bias: false }), &[hn, lm], "logits", a + lm_f)?;
        let next = self.node(Op::Argmax(Argmax), &[logits], "next_token", 0)?;
        Ok(self.b.finish(vec![logits, next])?)
    }
}
