#!/usr/bin/env python3
"""An independent float32 reference of a `llama` GGUF's forward pass, in numpy.

Written from the architecture's definition (not from zkinfer's code): weights dequantized by the
`gguf` package, RMSNorm, grouped-query attention, RoPE in llama.cpp's mode 0 (adjacent pairs: the
GGUF converter permuted the Q/K rows, so adjacent-pair rotation on the file equals Hugging Face's
half-split rotation on the original weights), SwiGLU, tied or untied head. Every operation runs
in float32 (angles in float64 then cast, as transformers computes them in float32 from an
float32 inv_freq; the difference is below float32 resolution at these positions).

    llama_reference.py MODEL.gguf IDS.json OUT.npy       logits [T, vocab] float32 for the ids
    llama_reference.py --check-fixture FIXTURE.gguf      compare with the shipped transformers logits

IDS.json holds a JSON list of token ids (teacher-forced: one causal pass over all of them).
"""
import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def field(r, key, default=None):
    f = r.fields.get(key)
    if f is None:
        return default
    v = f.parts[f.data[0]]
    return v.tolist()[0] if len(v) == 1 else v.tolist()


def load(path):
    r = GGUFReader(path)
    cfg = {
        "n_layer": field(r, "llama.block_count"),
        "n_embd": field(r, "llama.embedding_length"),
        "n_head": field(r, "llama.attention.head_count"),
        "n_head_kv": field(r, "llama.attention.head_count_kv"),
        "eps": field(r, "llama.attention.layer_norm_rms_epsilon"),
        "base": field(r, "llama.rope.freq_base", 10000.0),
    }
    cfg["n_head_kv"] = cfg["n_head_kv"] or cfg["n_head"]
    cfg["head_dim"] = field(r, "llama.attention.key_length", cfg["n_embd"] // cfg["n_head"])
    cfg["n_rot"] = field(r, "llama.rope.dimension_count", cfg["head_dim"])
    w = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape.tolist())]  # GGUF lists the innermost dim first
        w[t.name] = a.reshape(shape)
    return cfg, w


def rmsnorm(x, g, eps):
    ms = np.mean(x * x, axis=-1, keepdims=True, dtype=np.float32)
    return (x / np.sqrt(ms + np.float32(eps))).astype(np.float32) * g


def rope(x, pos, n_rot, base):
    # x: [T, H, d]; rotate pairs (2i, 2i+1) of the first n_rot dims by pos * base^(-2i/n_rot).
    i = np.arange(n_rot // 2, dtype=np.float64)
    ang = pos[:, None].astype(np.float64) * base ** (-2.0 * i / n_rot)
    c = np.cos(ang).astype(np.float32)[:, None, :]
    s = np.sin(ang).astype(np.float32)[:, None, :]
    y = x.copy()
    a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
    y[..., 0:n_rot:2] = a * c - b * s
    y[..., 1:n_rot:2] = a * s + b * c
    return y


def forward(cfg, w, ids):
    T = len(ids)
    H, Hkv, d = cfg["n_head"], cfg["n_head_kv"], cfg["head_dim"]
    x = w["token_embd.weight"][np.asarray(ids)].astype(np.float32)
    pos = np.arange(T)
    mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
    for l in range(cfg["n_layer"]):
        p = f"blk.{l}."
        h = rmsnorm(x, w[p + "attn_norm.weight"], cfg["eps"])
        q = (h @ w[p + "attn_q.weight"].T).reshape(T, H, d)
        k = (h @ w[p + "attn_k.weight"].T).reshape(T, Hkv, d)
        v = (h @ w[p + "attn_v.weight"].T).reshape(T, Hkv, d)
        q, k = rope(q, pos, cfg["n_rot"], cfg["base"]), rope(k, pos, cfg["n_rot"], cfg["base"])
        g = H // Hkv
        k, v = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.float32(np.sqrt(d)) + mask
        s = s - s.max(axis=-1, keepdims=True)
        e = np.exp(s)
        a = e / e.sum(axis=-1, keepdims=True)
        o = np.einsum("hts,shd->thd", a, v).reshape(T, H * d)
        x = x + o @ w[p + "attn_output.weight"].T
        h = rmsnorm(x, w[p + "ffn_norm.weight"], cfg["eps"])
        gate = h @ w[p + "ffn_gate.weight"].T
        up = h @ w[p + "ffn_up.weight"].T
        x = x + ((gate / (1 + np.exp(-gate))) * up) @ w[p + "ffn_down.weight"].T
    h = rmsnorm(x, w["output_norm.weight"], cfg["eps"])
    head = w.get("output.weight", w["token_embd.weight"])
    return (h @ head.T).astype(np.float32)


def main():
    if sys.argv[1] == "--check-fixture":
        path = sys.argv[2]
        cfg, w = load(path)
        ref = json.load(open(path.replace(".gguf", ".ref.json")))
        ids = ref["prompt_ids"] + ref["greedy_transformers_f32"][:-1]
        want = np.load(path.replace(".gguf", ".logits.npy"))
        got = forward(cfg, w, ids[: want.shape[0]])
        print(f"{path}: {want.shape[0]} positions, max |numpy − transformers| = {np.abs(got - want).max():.3e}, "
              f"argmax equal {int((got.argmax(-1) == want.argmax(-1)).sum())}/{want.shape[0]}")
        return
    cfg, w = load(sys.argv[1])
    ids = json.load(open(sys.argv[2]))
    np.save(sys.argv[3], forward(cfg, w, ids))


if __name__ == "__main__":
    main()
