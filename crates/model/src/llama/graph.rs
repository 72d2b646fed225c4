//! The integer graph of one Llama step (see the module docs of [`super`]).

use super::LlamaConfig;
use super::LlamaQuant;
use crate::graph::{Graph, GraphBuilder, TensorId, Weights};
use crate::ops::add::Add;
use crate::ops::argmax::Argmax;
use crate::ops::batched_matmul::BatchedMatMul;
use crate::ops::clamp::Clamp;
use crate::ops::concat::ConcatSeq;
use crate::ops::embedding::Embedding;
use crate::ops::heads::{MergeHeads, SplitHeads};
use crate::ops::layernorm::max_input_bits;
use crate::ops::matmul::MatMul;
use crate::ops::mul::Mul;
use crate::ops::repeat_kv::RepeatKv;
use crate::ops::rescale::Rescale;
use crate::ops::rmsnorm::RmsNorm;
use crate::ops::rope::Rope;
use crate::ops::silu::Silu;
use crate::ops::softmax::CausalSoftmax;
use crate::ops::Op;
use crate::tensor::bits_of;
use crate::ModelError;
use std::sync::Arc;

/// Everything the graph builder reads. With `n_past > 0` the graph takes the cached (post-RoPE)
/// keys/values as inputs `blk.N.attn_k_past` / `blk.N.attn_v_past` (`[H_kv, n_past, d]`) and
/// appends the new ones; every other op acts row by row (RoPE reads each row's public position),
/// so the new rows equal those of the full pass exactly.
pub struct LlamaParts<'a> {
    /// Hyperparameters.
    pub cfg: &'a LlamaConfig,
    /// Fixed-point choices.
    pub quant: &'a LlamaQuant,
    /// Quantized weights.
    pub weights: &'a Weights,
    /// The SiLU op (with its table).
    pub silu: &'a Silu,
    /// The RoPE op (with its table).
    pub rope: &'a Rope,
    /// The softmax exp table.
    pub exp_table: &'a Arc<[i64]>,
}

impl std::fmt::Debug for LlamaParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaParts").field("cfg", self.cfg).field("quant", self.quant).finish_non_exhaustive()
    }
}

impl LlamaParts<'_> {
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

    fn rmsnorm(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        let q = &self.quant.base;
        let a = q.act_frac as i32;
        let (g, gf) = self.w(b, &format!("{prefix}.weight"))?;
        let shift = q.ln_k as i32 + gf - a;
        if !(1..=62).contains(&shift) {
            return Err(ModelError::Hyperparameters(format!("{prefix}: RMSNorm shift {shift} out of range")));
        }
        // eps in units of the input's x² (the residual stream's scale 2^-R).
        let r = b.meta(x).frac_bits;
        let eps = ((self.cfg.eps as f64) * ((2 * r) as f64).exp2()).round().max(1.0) as i64;
        let op = RmsNorm { eps, k: q.ln_k, shift: shift as u32 };
        let y = b.node(Op::RmsNorm(op), &[x, g], format!("{prefix}.out"), a)?;
        Self::clamp_to(b, y, q.matmul_in_bits, format!("{prefix}.out.clamped"))
    }

    /// `x · Wᵀ` at `2^-(A + f_w)`; returns the accumulator and `f_w`.
    fn dense_acc(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str) -> Result<(TensorId, i32), ModelError> {
        let a = self.quant.base.act_frac as i32;
        let (w, wf) = self.w(b, &format!("{prefix}.weight"))?;
        let acc = b.node(Op::MatMul(MatMul { has_bias: false }), &[x, w], format!("{prefix}.acc"), a + wf)?;
        Ok((acc, wf))
    }

    /// `x · Wᵀ` rescaled to `2^-A` and clamped to the matmul input bound.
    fn dense(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        let a = self.quant.base.act_frac as i32;
        let (acc, wf) = self.dense_acc(b, x, prefix)?;
        let y = b.node(Op::Rescale(Rescale { shift: wf }), &[acc], format!("{prefix}.out"), a)?;
        Self::clamp_to(b, y, self.quant.base.matmul_in_bits, format!("{prefix}.clamped"))
    }

    /// `x · Wᵀ` rescaled to the residual stream's `2^-R` (not clamped: the residual add's clamp
    /// bounds the sum).
    fn dense_resid(&self, b: &mut GraphBuilder, x: TensorId, prefix: &str) -> Result<TensorId, ModelError> {
        let (a, r) = (self.quant.base.act_frac as i32, self.quant.resid_frac as i32);
        let (acc, wf) = self.dense_acc(b, x, prefix)?;
        Ok(b.node(Op::Rescale(Rescale { shift: wf + a - r }), &[acc], format!("{prefix}.out"), r)?)
    }

    /// The step graph, with the LM head and argmax at every new position.
    pub fn build(&self, n_new: usize, n_past: usize) -> Result<Graph, ModelError> {
        self.build_with_outputs(n_new, n_past, n_new)
    }

    /// The step graph with the LM head and argmax only at the rows of the public input
    /// `out_rows: [n_out]` (as GPT-2's, `crate::gpt2::output_rows`).
    pub fn build_with_outputs(&self, n_new: usize, n_past: usize, n_out: usize) -> Result<Graph, ModelError> {
        let (cfg, q) = (self.cfg, &self.quant.base);
        let a = q.act_frac as i32;
        let r = self.quant.resid_frac as i32;
        let (hd, hkv) = (cfg.head_dim, cfg.n_head_kv);
        let total = n_new.saturating_add(n_past);
        if n_new == 0 || total > cfg.n_ctx {
            return Err(ModelError::TooLong { len: total, ctx: cfg.n_ctx });
        }
        let resid_bits = max_input_bits(cfg.n_embd);
        let mut b = GraphBuilder::new();
        let tokens = b.input("tokens", vec![n_new], 0, bits_of(cfg.n_vocab as u64 - 1));
        let positions = b.input("positions", vec![n_new], 0, bits_of(cfg.n_ctx as u64 - 1));

        let (tok_w, tok_f) = self.w(&mut b, "token_embd.weight")?;
        let tok = b.node(Op::Embedding(Embedding), &[tokens, tok_w], "tok_embd", tok_f)?;
        let x = b.node(Op::Rescale(Rescale { shift: tok_f - r }), &[tok], "tok_embd.rescaled", r)?;
        let mut x = Self::clamp_to(&mut b, x, resid_bits, "embd.clamped".into())?;

        for l in 0..cfg.n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            // Attention.
            let hn = self.rmsnorm(&mut b, x, &p("attn_norm"))?;
            let qm = self.dense(&mut b, hn, &p("attn_q"))?;
            let km = self.dense(&mut b, hn, &p("attn_k"))?;
            let vm = self.dense(&mut b, hn, &p("attn_v"))?;
            let qh = b.node(Op::SplitHeads(SplitHeads { heads: cfg.n_head }), &[qm], p("attn_q.heads"), a)?;
            let qh = b.node(Op::Rope(self.rope.clone()), &[qh, positions], p("attn_q"), a)?;
            let kv_name = |part: &str| if n_past > 0 { p(&format!("attn_{part}_new")) } else { p(&format!("attn_{part}")) };
            let kh = b.node(Op::SplitHeads(SplitHeads { heads: hkv }), &[km], p("attn_k.heads"), a)?;
            let kh = b.node(Op::Rope(self.rope.clone()), &[kh, positions], kv_name("k"), a)?;
            let vh = b.node(Op::SplitHeads(SplitHeads { heads: hkv }), &[vm], kv_name("v"), a)?;
            let mut kvh = Vec::new();
            for (part, t) in [("k", kh), ("v", vh)] {
                let mut t = t;
                if n_past > 0 {
                    let bits = b.meta(t).bits;
                    let past = b.input(p(&format!("attn_{part}_past")), vec![hkv, n_past, hd], a, bits);
                    t = b.node(Op::ConcatSeq(ConcatSeq), &[past, t], p(&format!("attn_{part}")), a)?;
                }
                if cfg.group() > 1 {
                    t = b.node(Op::RepeatKv(RepeatKv { group: cfg.group() }), &[t], p(&format!("attn_{part}.rep")), a)?;
                }
                kvh.push(t);
            }
            let scores = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: true }), &[qh, kvh[0]], p("attn_scores"), 2 * a)?;
            // 1/sqrt(head_dim) is folded into attn_q: only the fixed-point shift remains.
            let scores = b.node(Op::Rescale(Rescale { shift: 2 * a - q.score_frac as i32 }), &[scores], p("attn_scores.scaled"), q.score_frac as i32)?;
            let softmax = CausalSoftmax::new(n_past, q.score_frac, q.exp_frac, q.prob_frac, self.exp_table.clone());
            let probs = b.node(Op::Softmax(softmax), &[scores], p("attn_probs"), q.prob_frac as i32)?;
            let ctx = b.node(Op::BatchedMatMul(BatchedMatMul { transpose_b: false }), &[probs, kvh[1]], p("attn_ctx.acc"), q.prob_frac as i32 + a)?;
            let ctx = b.node(Op::Rescale(Rescale { shift: q.prob_frac as i32 }), &[ctx], p("attn_ctx.heads"), a)?;
            let ctx = b.node(Op::MergeHeads(MergeHeads), &[ctx], p("attn_ctx"), a)?;
            // Always clamped: P·V's static bound grows with the number of keys, so whether the
            // clamp is needed depends on T, and the proven graph must have one structure for every
            // T (the key's template).
            let ctx = b.node(Op::Clamp(Clamp::symmetric(q.matmul_in_bits)), &[ctx], p("attn_ctx.clamped"), a)?;
            let attn = self.dense_resid(&mut b, ctx, &p("attn_output"))?;
            let x1 = b.node(Op::Add(Add), &[x, attn], p("attn_resid"), r)?;
            x = Self::clamp_to(&mut b, x1, resid_bits, p("attn_resid.clamped"))?;
            // SwiGLU FFN.
            let hn = self.rmsnorm(&mut b, x, &p("ffn_norm"))?;
            let (gate, gf) = self.dense_acc(&mut b, hn, &p("ffn_gate"))?;
            let si = self.quant.silu_in_frac as i32;
            let gate = b.node(Op::Rescale(Rescale { shift: gf + a - si }), &[gate], p("ffn_gate.out"), si)?;
            let gate = b.node(Op::Clamp(Clamp::symmetric(self.silu.in_bits - 1)), &[gate], p("ffn_gate.clamped"), si)?;
            let act = b.node(Op::Silu(self.silu.clone()), &[gate], p("ffn_silu"), a)?;
            let up = self.dense(&mut b, hn, &p("ffn_up"))?;
            let prod = b.node(Op::Mul(Mul), &[act, up], p("ffn_prod"), 2 * a)?;
            let prod = b.node(Op::Rescale(Rescale { shift: a }), &[prod], p("ffn_prod.out"), a)?;
            let prod = Self::clamp_to(&mut b, prod, q.matmul_in_bits, p("ffn_prod.clamped"))?;
            let down = self.dense_resid(&mut b, prod, &p("ffn_down"))?;
            let x2 = b.node(Op::Add(Add), &[x, down], p("ffn_resid"), r)?;
            x = Self::clamp_to(&mut b, x2, resid_bits, p("ffn_resid.clamped"))?;
        }
        let x = crate::gpt2::output_rows(&mut b, x, n_out, cfg.n_ctx, r)?;
        let hn = self.rmsnorm(&mut b, x, "output_norm")?;
        let (lm, lm_f) = self.w(&mut b, cfg.lm_head())?;
        let logits = b.node(Op::MatMul(MatMul { has_bias: false }), &[hn, lm], "logits", a + lm_f)?;
        let next = b.node(Op::Argmax(Argmax), &[logits], "next_token", 0)?;
        Ok(b.finish(vec![logits, next])?)
    }
}
