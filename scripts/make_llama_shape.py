#!/usr/bin/env python3
"""Random `llama` GGUFs of other shapes than the shipped fixtures, laid out as llama.cpp's
convert_hf_to_gguf.py writes them (Q/K rows permuted for the adjacent-pair RoPE), with SmolLM2's
tokenizer copied from a GGUF (plus extra user-defined / control tokens for an odd vocabulary).

    make_llama_shape.py SMOLLM2.gguf OUT.gguf VARIANT

VARIANT  shape
mqa      3 blocks, width 96, 6 query heads / 1 KV head (MQA), head dim 16, FFN 200, RoPE base 5e5,
         eps 1e-6, untied, F32, vocab 49155 (tokens `<extra_user>` user-defined, `<|custom_ctl|>`
         control, `<extra_2>` user-defined)
wide     2 blocks, width 64, 2 heads / 2 KV heads, head dim 32, FFN 128, RoPE base 1e6, tied, Q8_0
hd       2 blocks, width 64, 4 heads / 2 KV heads, head dim 32 != 64/4 (llama.attention.key_length),
         FFN 160, untied, F16, vocab 49153

Needs torch, transformers and gguf. Then `scripts/llama_accuracy.py ZKINFER OUT.gguf TEXT 100
--transformers python3` compares with transformers float32 loading OUT.gguf. Measured 2026-12-07
(load 12-16, 2 cores), 100 positions of testdata/text/prose_and_code.txt: float path max |dlogit|
2.0e-5 / 1.0e-5 / 1.0e-5, integer top-1 100 / 100 / 98 %, mean KL 4.9e-5 / 9.0e-7 / 1.9e-5.
`zkinfer tokenize` with and without --special equals transformers' tokenizer of the same GGUF on
text holding the extra tokens.
"""
import sys, numpy as np, torch, gguf
from transformers import LlamaConfig, LlamaForCausalLM
src, out, variant = sys.argv[1:4]
r = gguf.GGUFReader(src); fld = lambda k: r.fields[k].contents()
tokens = list(fld("tokenizer.ggml.tokens")); types = list(fld("tokenizer.ggml.token_type"))
V = dict(
  mqa=dict(hidden=96, heads=6, kv=1, head_dim=16, ff=200, layers=3, base=500000.0, eps=1e-6, tied=False, extra=3, q="f32"),
  wide=dict(hidden=64, heads=2, kv=2, head_dim=32, ff=128, layers=2, base=1e6, eps=1e-5, tied=True, extra=0, q="q8_0"),
  hd=dict(hidden=64, heads=4, kv=2, head_dim=32, ff=160, layers=2, base=10000.0, eps=1e-5, tied=False, extra=1, q="f16"),
)[variant]
extra = [("<extra_user>", 4), ("<|custom_ctl|>", 3), ("<extra_2>", 4)][:V["extra"]]
for t, ty in extra: tokens.append(t); types.append(ty)
nv = len(tokens)
torch.manual_seed(7)
cfg = LlamaConfig(vocab_size=nv, hidden_size=V["hidden"], intermediate_size=V["ff"], num_hidden_layers=V["layers"],
    num_attention_heads=V["heads"], num_key_value_heads=V["kv"], head_dim=V["head_dim"], max_position_embeddings=512,
    rms_norm_eps=V["eps"], rope_theta=V["base"], tie_word_embeddings=V["tied"], bos_token_id=1, eos_token_id=2)
m = LlamaForCausalLM(cfg).eval()
g = torch.Generator().manual_seed(8)
with torch.no_grad():
    for name, p in m.named_parameters():
        if "norm" in name: p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
        elif "embed_tokens" in name or "lm_head" in name: p.copy_(0.5 * torch.randn(p.shape, generator=g))
        else: p.copy_(0.08 * torch.randn(p.shape, generator=g))
def permute(w, n_head, n_head_kv):
    if n_head_kv is not None and n_head != n_head_kv: n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
w = gguf.GGUFWriter(out, arch="llama", use_temp_file=False)
w.add_name("shape-" + variant); w.add_context_length(512); w.add_embedding_length(V["hidden"]); w.add_block_count(V["layers"])
w.add_feed_forward_length(V["ff"]); w.add_rope_dimension_count(V["head_dim"]); w.add_head_count(V["heads"]); w.add_head_count_kv(V["kv"])
if V["head_dim"] * V["heads"] != V["hidden"]:
    w.add_key_length(V["head_dim"]); w.add_value_length(V["head_dim"])
w.add_layer_norm_rms_eps(V["eps"]); w.add_rope_freq_base(V["base"]); w.add_vocab_size(nv)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("smollm")
w.add_token_list(tokens); w.add_token_types(types); w.add_token_merges(fld("tokenizer.ggml.merges"))
w.add_bos_token_id(1); w.add_eos_token_id(2); w.add_add_bos_token(False); w.add_chat_template(fld("tokenizer.chat_template"))
sd = {k: v.detach().float().numpy() for k, v in m.state_dict().items()}
def mat(name, a):
    if V["q"] == "q8_0" and a.shape[-1] % 32 == 0:
        w.add_tensor(name, gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    elif V["q"] == "f16": w.add_tensor(name, a.astype(np.float16))
    else: w.add_tensor(name, a.astype(np.float32))
mat("token_embd.weight", sd["model.embed_tokens.weight"])
H, K = V["heads"], V["kv"]
for i in range(V["layers"]):
    p = f"model.layers.{i}."
    w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"].astype(np.float32))
    mat(f"blk.{i}.attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], H, H))
    mat(f"blk.{i}.attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], H, K))
    mat(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
    mat(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"].astype(np.float32))
    mat(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
    mat(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
    mat(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
w.add_tensor("output_norm.weight", sd["model.norm.weight"].astype(np.float32))
if not V["tied"]: mat("output.weight", sd["lm_head.weight"])
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
# source-model logits for a check of the GGUF layout through transformers' own loader
ids = list(range(300, 340))
with torch.no_grad(): np.save(out + ".src.npy", m(torch.tensor([ids])).logits[0].numpy())
print("wrote", out, nv)
