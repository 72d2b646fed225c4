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
import math, os, sys
import numpy as np, torch, gguf
from transformers import LlamaConfig, LlamaForCausalLM
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_gguf as hg

outdir = sys.argv[1]
os.makedirs(outdir, exist_ok=True)
NAME = "llama3-rope-tiny"
PROMPT = ("The llama (Lama glama) is a domesticated South American camelid, widely used as a meat and pack "
          "animal by Andean cultures since the pre-Columbian era. Llamas are social animals and live with others.")

tokens, types, merges = hg.bpe_vocab(PROMPT)
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
hg.init_params(m, 32)

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

path = os.path.join(outdir, NAME + ".gguf")
sd = hg.state_dict_f32(m)
tensors = [("token_embd.weight", sd["model.embed_tokens.weight"]), ("rope_freqs.weight", rope_factors)]
for i in range(2):
    p = f"model.layers.{i}."
    tensors += [(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"]),
                (f"blk.{i}.attn_q.weight", hg.permute_qk(sd[p + "self_attn.q_proj.weight"], 4, 4)),
                (f"blk.{i}.attn_k.weight", hg.permute_qk(sd[p + "self_attn.k_proj.weight"], 4, 2)),
                (f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"]),
                (f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"]),
                (f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]),
                (f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]),
                (f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"]),
                (f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])]
tensors.append(("output_norm.weight", sd["model.norm.weight"]))
hparams = [("context_length", 256), ("embedding_length", 64), ("block_count", 2), ("feed_forward_length", 128),
           ("rope_dimension_count", HD), ("head_count", 4), ("head_count_kv", 2), ("layer_norm_rms_eps", 1e-5),
           ("rope_freq_base", BASE), ("vocab_size", NV), ("file_type", gguf.LlamaFileType.ALL_F32)]
tok = {"model": "gpt2", "pre": "llama-bpe", "tokens": tokens, "types": types, "merges": merges, "bos": BOS, "eos": EOT,
       "add_bos": True}
hg.write_gguf(path, "llama", NAME, hparams, tok, tensors)

# Reference: 128 seeded ids (BOS first), transformers float32 logits at every position, and the
# same with the plain (unscaled) RoPE, to show the factors matter on this fixture.
rng = np.random.default_rng(33)
ids = [BOS] + [int(x) for x in rng.integers(0, NV - 3, 127)]
logits = hg.logits_of(m, ids)
plain_cfg = LlamaConfig(**{**cfg.to_dict(), "rope_scaling": None, "rope_parameters": {"rope_type": "default", "rope_theta": BASE}})
plain = LlamaForCausalLM(plain_cfg).eval(); plain.load_state_dict(m.state_dict())
plain_logits = hg.logits_of(plain, ids)
ref = hg.save_reference(outdir, NAME, "llama3-rope-ref/1", ids, logits, model=m, ref_extra={
    "rope_factors": rope_factors.tolist(), "inv_freq_transformers": m.model.rotary_emb.inv_freq.tolist(), "prompt": PROMPT,
    "plain_rope_max_abs_diff": float(np.abs(plain_logits - logits).max()),
    "notes": "logits.npy: transformers f32 logits [len(eval_ids) x n_vocab]; greedy: 16 tokens after greedy_prompt_ids"})
print(path, os.path.getsize(path), "bytes; vocab", NV, "factors", rope_factors.tolist(),
      "plain-RoPE max |dlogit|", ref["plain_rope_max_abs_diff"])
