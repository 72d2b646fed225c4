#!/usr/bin/env python3
"""A tiny random Llama-3-style GGUF with RoPE frequency factors (`rope_freqs.weight`), laid out as
llama.cpp's convert_hf_to_gguf.py writes a Llama 3.1/3.2 model, and its transformers float32 reference.

    make_llama3_rope.py OUTDIR

Writes OUTDIR/llama3-rope-tiny.gguf, .ref.json and .logits.npy.

Model: `LlamaForCausalLM` with `rope_scaling = {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
"high_freq_factor": 4, "original_max_position_embeddings": 64}` (the original context is small so that the
factors of a 16-wide head are 1, smoothed and 8: every branch of the converter's formula), 2 blocks, width 64,
4 query heads / 2 KV heads, head dim 16, FFN 128, RoPE base 10000, RMSNorm eps 1e-5, context 256, tied output,
F32 tensors (so the GGUF holds exactly the model's weights and the reference needs no GGUF loader).

`rope_freqs.weight` is computed exactly as convert_hf_to_gguf.py's `LlamaModel.generate_extra_tensors` does
(float32 `1 / base^(2i/d)`, then per pair `1`, `factor` or `1 / ((1 - smooth)/factor + smooth)`); llama.cpp then
rotates pair i at position p by `p · base^(-2i/d) / rope_freqs[i]`, which equals transformers' llama3 `inv_freq`.

Tokenizer: a small byte-level BPE (`tokenizer.ggml.model = gpt2`, pre `llama-bpe`): the 256 GPT-2 byte
characters, 40 merges learnt from PROMPT, and Llama 3's `<|begin_of_text|>` (BOS, added), `<|end_of_text|>`,
`<|eot_id|>` (EOS) as control tokens. The reference logits are over token ids (`eval_ids`), so they do not
depend on the tokenizer.

Needs torch, transformers (5.x) and gguf.
"""
import json, math, os, sys
import numpy as np, torch, gguf
from transformers import LlamaConfig, LlamaForCausalLM

outdir = sys.argv[1]
os.makedirs(outdir, exist_ok=True)
NAME = "llama3-rope-tiny"
PROMPT = ("The llama (Lama glama) is a domesticated South American camelid, widely used as a meat and pack "
          "animal by Andean cultures since the pre-Columbian era. Llamas are social animals and live with others.")

def bytes_to_unicode():  # GPT-2's byte <-> printable character map
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}

b2u = bytes_to_unicode()
tokens = [b2u[b] for b in range(256)]
# 40 merges learnt greedily on the prompt's words (space attached to the following word, as GPT-2 does)
words = [[b2u[b] for b in (w if i == 0 else " " + w).encode()] for i, w in enumerate(PROMPT.split(" "))]
merges = []
for _ in range(40):
    counts = {}
    for w in words:
        for a, b in zip(w, w[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    if not counts: break
    (a, b), _ = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    merges.append(f"{a} {b}")
    if a + b not in tokens: tokens.append(a + b)
    for w in words:
        i = 0
        while i < len(w) - 1:
            if w[i] == a and w[i + 1] == b: w[i:i + 2] = [a + b]
            else: i += 1
types = [1] * len(tokens)
specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
BOS, EOT = len(tokens), len(tokens) + 2
tokens += specials; types += [3, 3, 3]
NV = len(tokens)

BASE, HD = 10000.0, 16
RS = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 64}
torch.manual_seed(31)
cfg = LlamaConfig(vocab_size=NV, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=BASE,
                  rope_scaling=RS, tie_word_embeddings=True, bos_token_id=BOS, eos_token_id=EOT)
m = LlamaForCausalLM(cfg).eval()
g = torch.Generator().manual_seed(32)
with torch.no_grad():
    for name, p in m.named_parameters():
        if "norm" in name: p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
        elif "embed_tokens" in name: p.copy_(0.5 * torch.randn(p.shape, generator=g))
        else: p.copy_(0.1 * torch.randn(p.shape, generator=g))

# rope_freqs as convert_hf_to_gguf.py computes them
freqs = 1.0 / (BASE ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))
factor, lo, hi, old = RS["factor"], RS["low_freq_factor"], RS["high_freq_factor"], RS["original_max_position_embeddings"]
lo_wl, hi_wl = old / lo, old / hi
rope_factors = []
for f in freqs:
    wl = 2 * math.pi / f
    if wl < hi_wl: rope_factors.append(1)
    elif wl > lo_wl: rope_factors.append(factor)
    else:
        smooth = (old / wl - lo) / (hi - lo)
        rope_factors.append(1 / ((1 - smooth) / factor + smooth))
rope_factors = np.array(rope_factors, dtype=np.float32)

def permute(w, n_head, n_head_kv):  # as convert_hf_to_gguf.LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv: n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

path = os.path.join(outdir, NAME + ".gguf")
w = gguf.GGUFWriter(path, arch="llama", use_temp_file=False)
w.add_name(NAME); w.add_context_length(256); w.add_embedding_length(64); w.add_block_count(2)
w.add_feed_forward_length(128); w.add_rope_dimension_count(HD); w.add_head_count(4); w.add_head_count_kv(2)
w.add_layer_norm_rms_eps(1e-5); w.add_rope_freq_base(BASE); w.add_vocab_size(NV)
w.add_file_type(gguf.LlamaFileType.ALL_F32)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("llama-bpe")
w.add_token_list(tokens); w.add_token_types(types); w.add_token_merges(merges)
w.add_bos_token_id(BOS); w.add_eos_token_id(EOT); w.add_add_bos_token(True)
sd = {k: v.detach().float().numpy() for k, v in m.state_dict().items()}
w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
w.add_tensor("rope_freqs.weight", rope_factors)
for i in range(2):
    p = f"model.layers.{i}."
    w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
    w.add_tensor(f"blk.{i}.attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], 4, 4))
    w.add_tensor(f"blk.{i}.attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], 4, 2))
    w.add_tensor(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
    w.add_tensor(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
    w.add_tensor(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
w.add_tensor("output_norm.weight", sd["model.norm.weight"])
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

# Reference: 128 seeded ids (BOS first), transformers float32 logits at every position, and the
# same with the plain (unscaled) RoPE, to show the factors matter on this fixture.
rng = np.random.default_rng(33)
ids = [BOS] + [int(x) for x in rng.integers(0, NV - 3, 127)]
with torch.no_grad():
    logits = m(torch.tensor([ids])).logits[0].float().numpy()
    greedy, x = [], list(ids[:40])
    for _ in range(16):
        t = int(m(torch.tensor([x])).logits[0, -1].argmax()); greedy.append(t); x.append(t)
    plain_cfg = LlamaConfig(**{**cfg.to_dict(), "rope_scaling": None, "rope_parameters": {"rope_type": "default", "rope_theta": BASE}})
    plain = LlamaForCausalLM(plain_cfg).eval(); plain.load_state_dict(m.state_dict())
    plain_logits = plain(torch.tensor([ids])).logits[0].float().numpy()
np.save(os.path.join(outdir, NAME + ".logits.npy"), logits)
ref = {"format": "llama3-rope-ref/1", "model": NAME + ".gguf", "eval_ids": ids, "rope_factors": rope_factors.tolist(),
       "inv_freq_transformers": m.model.rotary_emb.inv_freq.tolist(), "greedy_prompt_ids": ids[:40],
       "greedy_transformers_f32": greedy, "prompt": PROMPT,
       "plain_rope_max_abs_diff": float(np.abs(plain_logits - logits).max()),
       "notes": "logits.npy: transformers f32 logits [len(eval_ids) x n_vocab]; greedy: 16 tokens after greedy_prompt_ids"}
json.dump(ref, open(os.path.join(outdir, NAME + ".ref.json"), "w"), indent=1)
print(path, os.path.getsize(path), "bytes; vocab", NV, "factors", rope_factors.tolist(),
      "plain-RoPE max |dlogit|", ref["plain_rope_max_abs_diff"])
