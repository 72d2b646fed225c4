//! The float reference of a Llama: `f32` on the dequantized GGUF weights, with a KV cache.
//!
//! Follows what llama.cpp computes on a `llama` GGUF (and what transformers computes on the
//! same file after undoing the converter's Q/K permutation): RMSNorm `x / sqrt(mean(x²) + eps)·g`,
//! RoPE on adjacent pairs with `θ_i = base^(−2i/n_rot)` (angles in `f64`), grouped-query
//! attention, SwiGLU. Nothing here is proven; it is the yardstick for the integer model.

use super::LlamaConfig;
use crate::float::linear;
use crate::ops::rope::rope_theta;
use crate::ModelError;
use rayon::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Block {
    attn_norm: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    o: Vec<f32>,
    ffn_norm: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    down: Vec<f32>,
}

/// A Llama's float weights.
#[derive(Debug, Clone)]
pub struct LlamaFloat {
    cfg: LlamaConfig,
    tok: Vec<f32>,
    blocks: Vec<Block>,
    norm: Vec<f32>,
    head: Option<Vec<f32>>,
}

/// Cached post-RoPE keys and values: per layer, `[position][H_kv·d]` rows.
#[derive(Debug, Clone, Default)]
pub struct LlamaFloatCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    len: usize,
}

impl LlamaFloatCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn rmsnorm(x: &[f32], d: usize, g: &[f32], eps: f32) -> Vec<f32> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(d) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        y.extend(row.iter().zip(g).map(|(v, g)| v * inv * g));
    }
    y
}

/// Rotates adjacent pairs of the first `n_rot` dims of every head of each row (`pos0` + row).
fn rope(x: &mut [f32], width: usize, hd: usize, n_rot: usize, base: f32, pos0: usize) {
    for (r, row) in x.chunks_mut(width).enumerate() {
        let p = (pos0 + r) as f64;
        for head in row.chunks_mut(hd) {
            for i in 0..n_rot / 2 {
                let a = p * rope_theta(base, n_rot, i);
                let (c, s) = (a.cos() as f32, a.sin() as f32);
                let (x0, x1) = (head[2 * i], head[2 * i + 1]);
                head[2 * i] = x0 * c - x1 * s;
                head[2 * i + 1] = x0 * s + x1 * c;
            }
        }
    }
}

impl LlamaFloat {
    /// Builds the float model from the named, shape-checked tensors (taking ownership).
    pub fn new(cfg: LlamaConfig, tensors: Vec<(String, Vec<usize>, Vec<f32>)>) -> Result<Self, ModelError> {
        let mut map: HashMap<String, Vec<f32>> = tensors.into_iter().map(|(n, _, v)| (n, v)).collect();
        let mut get = |n: &str| map.remove(n).ok_or_else(|| ModelError::MissingTensor(n.into()));
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for l in 0..cfg.n_layer {
            let mut g = |n: &str| get(&format!("blk.{l}.{n}.weight"));
            blocks.push(Block {
                attn_norm: g("attn_norm")?,
                q: g("attn_q")?,
                k: g("attn_k")?,
                v: g("attn_v")?,
                o: g("attn_output")?,
                ffn_norm: g("ffn_norm")?,
                gate: g("ffn_gate")?,
                up: g("ffn_up")?,
                down: g("ffn_down")?,
            });
        }
        Ok(Self {
            cfg,
            tok: get("token_embd.weight")?,
            blocks,
            norm: get("output_norm.weight")?,
            head: if cfg.tied_output { None } else { Some(get("output.weight")?) },
        })
    }

    /// An empty cache.
    pub fn new_cache(&self) -> LlamaFloatCache {
        LlamaFloatCache { k: vec![Vec::new(); self.cfg.n_layer], v: vec![Vec::new(); self.cfg.n_layer], len: 0 }
    }

    /// Runs `ids` after the cached positions and returns their logits (`[ids.len()][vocab]`).
    pub fn forward(&self, cache: &mut LlamaFloatCache, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        let cfg = &self.cfg;
        let (d, h, hd, group) = (cfg.n_embd, cfg.n_head, cfg.head_dim, cfg.group());
        let (qd, kd) = (h * hd, cfg.n_head_kv * hd);
        let past = cache.len;
        let m = ids.len();
        if past + m > cfg.n_ctx {
            return Err(ModelError::TooLong { len: past + m, ctx: cfg.n_ctx });
        }
        let mut x = Vec::with_capacity(m * d);
        for &id in ids {
            let id = id as usize;
            if id >= cfg.n_vocab {
                return Err(ModelError::TokenOutOfRange { id: id as u64, vocab: cfg.n_vocab });
            }
            x.extend_from_slice(&self.tok[id * d..(id + 1) * d]);
        }
        let scale = 1.0 / (hd as f32).sqrt();
        for (l, blk) in self.blocks.iter().enumerate() {
            let hn = rmsnorm(&x, d, &blk.attn_norm, cfg.eps);
            let mut q = linear(&hn, d, &blk.q, None);
            let mut k = linear(&hn, d, &blk.k, None);
            let v = linear(&hn, d, &blk.v, None);
            rope(&mut q, qd, hd, cfg.n_rot, cfg.rope_base, past);
            rope(&mut k, kd, hd, cfg.n_rot, cfg.rope_base, past);
            cache.k[l].extend_from_slice(&k);
            cache.v[l].extend_from_slice(&v);
            let (kc, vc) = (&cache.k[l], &cache.v[l]);
            let mut ctx = vec![0f32; m * qd];
            ctx.par_chunks_mut(qd).enumerate().for_each(|(i, out)| {
                let n = past + i + 1;
                for head in 0..h {
                    let qh = &q[i * qd + head * hd..i * qd + (head + 1) * hd];
                    let kvh = head / group;
                    let scores: Vec<f32> =
                        (0..n).map(|j| qh.iter().zip(&kc[j * kd + kvh * hd..j * kd + (kvh + 1) * hd]).map(|(a, b)| a * b).sum::<f32>() * scale).collect();
                    let mx = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let e: Vec<f32> = scores.iter().map(|s| (s - mx).exp()).collect();
                    let z: f32 = e.iter().sum();
                    let oh = &mut out[head * hd..(head + 1) * hd];
                    for (j, ej) in e.iter().enumerate() {
                        let p = ej / z;
                        for (o, v) in oh.iter_mut().zip(&vc[j * kd + kvh * hd..j * kd + (kvh + 1) * hd]) {
                            *o += p * v;
                        }
                    }
                }
            });
            let attn = linear(&ctx, qd, &blk.o, None);
            x.iter_mut().zip(&attn).for_each(|(a, b)| *a += b);
            let hn = rmsnorm(&x, d, &blk.ffn_norm, cfg.eps);
            let gate = linear(&hn, d, &blk.gate, None);
            let mut up = linear(&hn, d, &blk.up, None);
            up.iter_mut().zip(&gate).for_each(|(u, g)| *u *= g / (1.0 + (-g).exp()));
            let down = linear(&up, cfg.n_ff, &blk.down, None);
            x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        }
        cache.len += m;
        let hn = rmsnorm(&x, d, &self.norm, cfg.eps);
        let logits = linear(&hn, d, self.head.as_ref().unwrap_or(&self.tok), None);
        Ok(logits.chunks(cfg.n_vocab).map(<[f32]>::to_vec).collect())
    }
}
