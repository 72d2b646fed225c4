#!/usr/bin/env python3
"""A tiny random Qwen2 GGUF (architecture `qwen2`: Q/K/V biases, NEOX RoPE) laid out as llama.cpp's
convert_hf_to_gguf.py writes Qwen2 (no Q/K row permutation, `qwen2.*` metadata, `attn_{q,k,v}.bias`), and its
transformers float32 reference.

    make_qwen2_tiny.py OUTDIR

Writes OUTDIR/qwen2-tiny.gguf, .ref.json and .logits.npy. Model: seeded `Qwen2ForCausalLM`, 2 blocks, width 64,
4 query heads / 2 KV heads, head dim 16, FFN 128, RoPE base 1e6, RMSNorm eps 1e-6, context 256, tied output, F32
tensors, biases N(0, 0.5) so that a dropped bias is visible. Tokenizer: a 299-token byte-level BPE (`gpt2`, pre
`qwen2`, 40 merges, `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` control, EOS `<|im_end|>`, no BOS added). The
reference logits are over token ids (`eval_ids`). Needs torch, transformers (5.x) and gguf.
"""
import json, os, sys
import numpy as np, torch, gguf
from transformers import Qwen2Config, Qwen2ForCausalLM

outdir = sys.argv[1]
os.makedirs(outdir, exist_ok=True)
NAME = "qwen2-tiny"
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
specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EOT, IM_END = len(tokens), len(tokens) + 2
tokens += specials; types += [3, 3, 3]
NV = len(tokens)

torch.manual_seed(51)
cfg = Qwen2Config(vocab_size=NV, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1e6,
                  tie_word_embeddings=True, bos_token_id=EOT, eos_token_id=IM_END, use_sliding_window=False)
m = Qwen2ForCausalLM(cfg).eval()
g = torch.Generator().manual_seed(52)
with torch.no_grad():
    for name, p in m.named_parameters():
        if "norm" in name: p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
        elif "embed_tokens" in name: p.copy_(0.5 * torch.randn(p.shape, generator=g))
        elif name.endswith("bias"): p.copy_(0.5 * torch.randn(p.shape, generator=g))
        else: p.copy_(0.1 * torch.randn(p.shape, generator=g))

path = os.path.join(outdir, NAME + ".gguf")
w = gguf.GGUFWriter(path, arch="qwen2", use_temp_file=False)
w.add_name(NAME); w.add_context_length(256); w.add_embedding_length(64); w.add_block_count(2)
w.add_feed_forward_length(128); w.add_head_count(4); w.add_head_count_kv(2)
w.add_layer_norm_rms_eps(1e-6); w.add_rope_freq_base(1e6); w.add_file_type(gguf.LlamaFileType.ALL_F32)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("qwen2")
w.add_token_list(tokens); w.add_token_types(types); w.add_token_merges(merges)
w.add_bos_token_id(EOT); w.add_eos_token_id(IM_END); w.add_add_bos_token(False)
sd = {k: v.detach().float().numpy() for k, v in m.state_dict().items()}
w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
for i in range(2):
    p = f"model.layers.{i}."
    w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
    for gg, hf in [("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj")]:
        w.add_tensor(f"blk.{i}.attn_{gg}.weight", sd[p + f"self_attn.{hf}.weight"])
        w.add_tensor(f"blk.{i}.attn_{gg}.bias", sd[p + f"self_attn.{hf}.bias"])
    w.add_tensor(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
    w.add_tensor(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
w.add_tensor("output_norm.weight", sd["model.norm.weight"])
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

rng = np.random.default_rng(53)
ids = [int(x) for x in rng.integers(0, NV - 3, 96)]
with torch.no_grad():
    logits = m(torch.tensor([ids])).logits[0].float().numpy()
    greedy, x = [], list(ids[:40])
    for _ in range(16):
        t = int(m(torch.tensor([x])).logits[0, -1].argmax()); greedy.append(t); x.append(t)
    # The same model without the Q/K/V biases: how far a dropped bias lands.
    nob = Qwen2ForCausalLM(cfg).eval(); nob.load_state_dict(m.state_dict())
    for layer in nob.model.layers:
        for lin in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj): lin.bias.zero_()
    nob_logits = nob(torch.tensor([ids])).logits[0].float().numpy()
np.save(os.path.join(outdir, NAME + ".logits.npy"), logits)
ref = {"format": "qwen2-ref/1", "model": NAME + ".gguf", "eval_ids": ids, "greedy_prompt_ids": ids[:40],
       "greedy_transformers_f32": greedy, "no_bias_max_abs_diff": float(np.abs(nob_logits - logits).max()),
       "notes": "logits.npy: transformers f32 logits [len(eval_ids) x n_vocab]; greedy: 16 tokens after greedy_prompt_ids"}
json.dump(ref, open(os.path.join(outdir, NAME + ".ref.json"), "w"), indent=1)
print(path, os.path.getsize(path), "bytes; vocab", NV, "no-bias max |dlogit|", ref["no_bias_max_abs_diff"])
