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
import os, sys
import numpy as np, torch, gguf
from transformers import Qwen2Config, Qwen2ForCausalLM
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_gguf as hg

outdir = sys.argv[1]
os.makedirs(outdir, exist_ok=True)
NAME = "qwen2-tiny"
PROMPT = ("The llama (Lama glama) is a domesticated South American camelid, widely used as a meat and pack "
          "animal by Andean cultures since the pre-Columbian era. Llamas are social animals and live with others.")

tokens, types, merges = hg.bpe_vocab(PROMPT)
specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EOT, IM_END = len(tokens), len(tokens) + 2
tokens += specials; types += [3, 3, 3]
NV = len(tokens)

torch.manual_seed(51)
cfg = Qwen2Config(vocab_size=NV, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1e6,
                  tie_word_embeddings=True, bos_token_id=EOT, eos_token_id=IM_END, use_sliding_window=False)
m = Qwen2ForCausalLM(cfg).eval()
hg.init_params(m, 52, bias_std=0.5)

path = os.path.join(outdir, NAME + ".gguf")
sd = hg.state_dict_f32(m)
tensors = [("token_embd.weight", sd["model.embed_tokens.weight"])]
for i in range(2):
    p = f"model.layers.{i}."
    tensors.append((f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"]))
    for gg, hf in [("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj")]:
        tensors.append((f"blk.{i}.attn_{gg}.weight", sd[p + f"self_attn.{hf}.weight"]))
        tensors.append((f"blk.{i}.attn_{gg}.bias", sd[p + f"self_attn.{hf}.bias"]))
    tensors += [(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"]),
                (f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]),
                (f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]),
                (f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"]),
                (f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])]
tensors.append(("output_norm.weight", sd["model.norm.weight"]))
hparams = [("context_length", 256), ("embedding_length", 64), ("block_count", 2), ("feed_forward_length", 128),
           ("head_count", 4), ("head_count_kv", 2), ("layer_norm_rms_eps", 1e-6), ("rope_freq_base", 1e6),
           ("file_type", gguf.LlamaFileType.ALL_F32)]
tok = {"model": "gpt2", "pre": "qwen2", "tokens": tokens, "types": types, "merges": merges, "bos": EOT, "eos": IM_END,
       "add_bos": False}
hg.write_gguf(path, "qwen2", NAME, hparams, tok, tensors)

rng = np.random.default_rng(53)
ids = [int(x) for x in rng.integers(0, NV - 3, 96)]
logits = hg.logits_of(m, ids)
# The same model without the Q/K/V biases: how far a dropped bias lands.
nob = Qwen2ForCausalLM(cfg).eval(); nob.load_state_dict(m.state_dict())
with torch.no_grad():
    for layer in nob.model.layers:
        for lin in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj): lin.bias.zero_()
nob_logits = hg.logits_of(nob, ids)
ref = hg.save_reference(outdir, NAME, "qwen2-ref/1", ids, logits, model=m, ref_extra={
    "no_bias_max_abs_diff": float(np.abs(nob_logits - logits).max()),
    "notes": "logits.npy: transformers f32 logits [len(eval_ids) x n_vocab]; greedy: 16 tokens after greedy_prompt_ids"})
print(path, os.path.getsize(path), "bytes; vocab", NV, "no-bias max |dlogit|", ref["no_bias_max_abs_diff"])
