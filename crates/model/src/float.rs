//! The float reference: GPT-2 in `f32` on the dequantized GGUF weights, with a KV cache.
//!
//! This is the yardstick for the integer model (and is checked against Hugging Face
//! transformers and llama.cpp logits); nothing here is proven. Every position's arithmetic is
//! independent of how the sequence is batched, so cached and uncached runs agree bit for bit.

use crate::gpt2::Gpt2Config;
use crate::ModelError;
use rayon::prelude::*;
use std::collections::HashMap;

/// One transformer block's float weights.
#[derive(Debug, Clone)]
struct Block {
    ln1: (Vec<f32>, Vec<f32>),
    qkv: (Vec<f32>, Vec<f32>),
    proj: (Vec<f32>, Vec<f32>),
    ln2: (Vec<f32>, Vec<f32>),
    up: (Vec<f32>, Vec<f32>),
    down: (Vec<f32>, Vec<f32>),
}

/// GPT-2's float weights.
#[derive(Debug, Clone)]
pub struct FloatModel {
    cfg: Gpt2Config,
    tok: Vec<f32>,
    pos: Vec<f32>,
    blocks: Vec<Block>,
    lnf: (Vec<f32>, Vec<f32>),
    head: Option<Vec<f32>>,
}

/// Cached keys and values: per layer, `[position][D]` rows.
#[derive(Debug, Clone, Default)]
pub struct FloatCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    len: usize,
}

impl FloatCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `y[t, n] = Σ_k x[t, k]·w[n, k] + b[n]`.
pub(crate) fn linear(x: &[f32], k: usize, w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let t = x.len() / k;
    let n = w.len() / k;
    let mut out_t = vec![0f32; n * t];
    out_t.par_chunks_mut(16 * t).enumerate().for_each(|(task, chunk)| {
        for (jj, row) in chunk.chunks_mut(t).enumerate() {
            let j = task * 16 + jj;
            let wr = &w[j * k..(j + 1) * k];
            for (ti, o) in row.iter_mut().enumerate() {
                let xr = &x[ti * k..(ti + 1) * k];
                let mut acc = [0f32; 8];
                for (xs, ws) in xr.chunks(8).zip(wr.chunks(8)) {
                    for i in 0..xs.len() {
                        acc[i] += xs[i] * ws[i];
                    }
                }
                *o = acc.iter().sum::<f32>() + b.map_or(0.0, |b| b[j]);
            }
        }
    });
    let mut out = vec![0f32; n * t];
    for j in 0..n {
        for ti in 0..t {
            out[ti * n + j] = out_t[j * t + ti];
        }
    }
    out
}

fn layernorm(x: &[f32], d: usize, g: &[f32], b: &[f32], eps: f32) -> Vec<f32> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(d) {
        let mean = row.iter().sum::<f32>() / d as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + eps).sqrt();
        y.extend(row.iter().enumerate().map(|(c, v)| (v - mean) * inv * g[c] + b[c]));
    }
    y
}

fn gelu(v: f32) -> f32 {
    let c = (2.0f32 / std::f32::consts::PI).sqrt();
    0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
}

impl FloatModel {
    /// Builds the float model from the named tensors (already shape-checked), taking ownership
    /// so that loading never holds two float copies of the weights.
    pub fn new(cfg: Gpt2Config, tensors: Vec<(String, Vec<usize>, Vec<f32>)>) -> Result<Self, ModelError> {
        let map: std::cell::RefCell<HashMap<String, Vec<f32>>> = std::cell::RefCell::new(tensors.into_iter().map(|(n, _, v)| (n, v)).collect());
        let get = |n: &str| map.borrow_mut().remove(n).ok_or_else(|| ModelError::MissingTensor(n.into()));
        let pair = |p: &str| -> Result<(Vec<f32>, Vec<f32>), ModelError> { Ok((get(&format!("{p}.weight"))?, get(&format!("{p}.bias"))?)) };
        let blocks = (0..cfg.n_layer)
            .map(|l| {
                Ok(Block {
                    ln1: pair(&format!("blk.{l}.attn_norm"))?,
                    qkv: pair(&format!("blk.{l}.attn_qkv"))?,
                    proj: pair(&format!("blk.{l}.attn_output"))?,
                    ln2: pair(&format!("blk.{l}.ffn_norm"))?,
                    up: pair(&format!("blk.{l}.ffn_up"))?,
                    down: pair(&format!("blk.{l}.ffn_down"))?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Self {
            cfg,
            tok: get("token_embd.weight")?,
            pos: get("position_embd.weight")?,
            blocks,
            lnf: pair("output_norm")?,
            head: if cfg.tied_output { None } else { Some(get("output.weight")?) },
        })
    }

    /// An empty cache for this model.
    pub fn new_cache(&self) -> FloatCache {
        FloatCache { k: vec![Vec::new(); self.cfg.n_layer], v: vec![Vec::new(); self.cfg.n_layer], len: 0 }
    }

    /// Runs `ids` after the cached positions and returns their logits (`[ids.len()][vocab]`).
    pub fn forward(&self, cache: &mut FloatCache, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        let cfg = &self.cfg;
        let (d, h, hd) = (cfg.n_embd, cfg.n_head, cfg.head_dim());
        let past = cache.len;
        let m = ids.len();
        if past + m > cfg.n_ctx {
            return Err(ModelError::TooLong { len: past + m, ctx: cfg.n_ctx });
        }
        let mut x = Vec::with_capacity(m * d);
        for (i, &id) in ids.iter().enumerate() {
            let id = id as usize;
            if id >= cfg.n_vocab {
                return Err(ModelError::TokenOutOfRange { id: id as u64, vocab: cfg.n_vocab });
            }
            let p = past + i;
            x.extend((0..d).map(|c| self.tok[id * d + c] + self.pos[p * d + c]));
        }
        let scale = 1.0 / (hd as f32).sqrt();
        for (l, blk) in self.blocks.iter().enumerate() {
            let hn = layernorm(&x, d, &blk.ln1.0, &blk.ln1.1, cfg.eps);
            let qkv = linear(&hn, d, &blk.qkv.0, Some(&blk.qkv.1));
            for row in qkv.chunks(3 * d) {
                cache.k[l].extend_from_slice(&row[d..2 * d]);
                cache.v[l].extend_from_slice(&row[2 * d..]);
            }
            let (kc, vc) = (&cache.k[l], &cache.v[l]);
            let mut ctx = vec![0f32; m * d];
            ctx.par_chunks_mut(d).enumerate().for_each(|(i, out)| {
                let q = &qkv[i * 3 * d..i * 3 * d + d];
                let n = past + i + 1;
                for head in 0..h {
                    let qh = &q[head * hd..(head + 1) * hd];
                    let scores: Vec<f32> = (0..n)
                        .map(|j| qh.iter().zip(&kc[j * d + head * hd..j * d + (head + 1) * hd]).map(|(a, b)| a * b).sum::<f32>() * scale)
                        .collect();
                    let mx = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let e: Vec<f32> = scores.iter().map(|s| (s - mx).exp()).collect();
                    let z: f32 = e.iter().sum();
                    let oh = &mut out[head * hd..(head + 1) * hd];
                    for (j, ej) in e.iter().enumerate() {
                        let p = ej / z;
                        for (o, v) in oh.iter_mut().zip(&vc[j * d + head * hd..j * d + (head + 1) * hd]) {
                            *o += p * v;
                        }
                    }
                }
            });
            let attn = linear(&ctx, d, &blk.proj.0, Some(&blk.proj.1));
            x.iter_mut().zip(&attn).for_each(|(a, b)| *a += b);
            let hn = layernorm(&x, d, &blk.ln2.0, &blk.ln2.1, cfg.eps);
            let mut up = linear(&hn, d, &blk.up.0, Some(&blk.up.1));
            up.iter_mut().for_each(|v| *v = gelu(*v));
            let down = linear(&up, cfg.n_ff, &blk.down.0, Some(&blk.down.1));
            x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        }
        cache.len += m;
        let hn = layernorm(&x, d, &self.lnf.0, &self.lnf.1, cfg.eps);
        let logits = linear(&hn, d, self.head.as_ref().unwrap_or(&self.tok), None);
        Ok(logits.chunks(cfg.n_vocab).map(<[f32]>::to_vec).collect())
    }
}
