#!/usr/bin/env python3
"""Tiny random Gemma GGUFs (architectures `gemma` and `gemma2`) laid out as llama.cpp's convert_hf_to_gguf.py writes
them, and their transformers float32 references.

    make_gemma_tiny.py gemma  OUTDIR     # OUTDIR/gemma-tiny.{gguf,ref.json,logits.npy}
    make_gemma_tiny.py gemma2 OUTDIR     # OUTDIR/gemma2-tiny.{gguf,ref.json,logits.npy}
    make_gemma_tiny.py gemma3 OUTDIR     # OUTDIR/gemma3-tiny.{gguf,ref.json,logits.npy,long.logits.npy}

What the converter does for Gemma (and so what the GGUF holds): every `*norm.weight` is written as `weight + 1`
(Gemma's RMSNorm multiplies by `1 + w`; llama.cpp's by the stored gain); Q/K rows are NOT permuted (llama.cpp
rotates Gemma in NEOX mode); there is no `output.weight` (the head is tied to `token_embd`); metadata `{arch}.*`:
context, width, blocks, FFN, heads, KV heads, `attention.key_length`/`value_length` (the head size, which for Gemma
is not width / heads), RMS epsilon; Gemma 2 adds `attn_logit_softcapping`, `final_logit_softcapping` and
`attention.sliding_window`, and the post-attention / pre-FFN / post-FFN norms (`post_attention_norm`, `ffn_norm`,
`post_ffw_norm`). Gemma 3 (`Gemma3ForCausalLM`, written as the converter writes `gemma3`) adds per-head QK-norm gains
`attn_q_norm`/`attn_k_norm` (`[head size]`, also stored as `w + 1`), `rope.freq_base` (the global blocks'; the local
blocks' 10000 is llama.cpp's fixed `rope_freq_base_train_swa`, written here as `rope.freq_base_swa` too),
`rope.scaling.type`/`factor` (linear, global blocks only) and `attention.sliding_window`; no soft-caps.

Model: seeded `GemmaForCausalLM` / `Gemma2ForCausalLM`, 2 blocks, width 64, 4 query heads / 1 KV head (MQA, as
Gemma 2B), head size 32 (so 4·32 ≠ 64), FFN 128, GELU (tanh) gate, RoPE base 10000, eps 1e-6, context 256, F32.
Gemma 2: query_pre_attn_scalar = head size (llama.cpp scales Q by 1/sqrt(head size) for every Gemma 2 but the 27B),
attention soft-cap 8 and final soft-cap 6 (small, so that the caps change this tiny model's logits: Gemma 2's own
are 50 and 30), sliding window 4096 (beyond the context: no layer masks anything more than causally).
Norm gains (transformers' `w`): N(0, 0.1) so the gain is 1 + N(0, 0.1); embeddings N(0, 0.5); matrices N(0, 0.1)
(Gemma 2: attention matrices N(0, 0.3) so that scores reach the soft-cap).

Gemma 3: 6 blocks (5 local, 1 global: llama.cpp's fixed pattern, transformers' `layer_types`), width 32, 4 query heads /
2 KV heads (GQA) of head size 32 (4·32 ≠ 32), FFN 64, query_pre_attn_scalar = 32, sliding window 32, context 128, local
RoPE base 10000, global 1e6 with linear scaling 8, F32; attention matrices N(0, 0.3). Reference: 32 ids (the window:
the proven context is capped there) and `long_ids`, 80 ids whose logits (`.long.logits.npy`) show the window at work
beyond position 32; controls measured here (no QK-norm, one RoPE base, no window) are printed and stored.

Tokenizer: a SentencePiece-style vocabulary (`tokenizer.ggml.model = llama`): `<pad>` 0, `<eos>` 1, `<bos>` 2,
`<unk>` 3 (Gemma's ids), `<start_of_turn>`, `<end_of_turn>`, the 256 byte tokens, and pieces learnt from PROMPT;
BOS added, no space prefix (Gemma's SentencePiece model has `add_dummy_prefix` false), a chat template in Gemma's
turn format (`<start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n`). Reference logits are over
token ids (`eval_ids`, BOS first). Needs torch, transformers (5.x) and gguf.
"""
import math, os, sys
import numpy as np, torch, gguf
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_gguf as hg

arch, outdir = sys.argv[1], sys.argv[2]
assert arch in ("gemma", "gemma2", "gemma3"), arch
# `--shape 2b`: one block of Gemma 2B's shape instead (width 2048, 8 heads of 256, 1 KV head, FFN 16384; Gemma 2:
# width 2304, 8 heads of 256, 4 KV heads, FFN 9216, caps 50/30) with the same vocabulary, transformers' own init
# scale (N(0, 0.02)), written as OUTDIR/ARCH-2b-shape.* — for an accuracy figure at the real widths (not committed:
# hundreds of MB).
SHAPE = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--shape" else None
os.makedirs(outdir, exist_ok=True)
NAME = arch + ("-2b-shape" if SHAPE else "-tiny")
PROMPT = ("The llama (Lama glama) is a domesticated South American camelid, widely used as a meat and pack "
          "animal by Andean cultures since the pre-Columbian era. Llamas are social animals and live with others.")
D, H, HKV, HD, FF, L, CTX, EPS = 64, 4, 1, 32, 128, 2, 256, 1e-6
ATTN_CAP, FINAL_CAP, SWA = 8.0, 6.0, 4096
if SHAPE == "2b":
    D, H, HKV, HD, FF, L, CTX = (2048, 8, 1, 256, 16384, 1, 8192) if arch == "gemma" else (2304, 8, 4, 256, 9216, 1, 8192)
    ATTN_CAP, FINAL_CAP = 50.0, 30.0

if arch == "gemma3":
    D, H, HKV, HD, FF, L, CTX, SWA, N_EVAL = 32, 4, 2, 32, 64, 6, 128, 32, 32
    GLOBAL_BASE, LOCAL_BASE, ROPE_LINEAR = 1e6, 10000.0, 8.0

specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
tokens, scores, types = hg.spm_vocab(PROMPT, specials)
NV = len(tokens)
PAD, EOS, BOS, UNK = 0, 1, 2, 3

common = dict(vocab_size=NV, hidden_size=D, intermediate_size=FF, num_hidden_layers=L, num_attention_heads=H,
              num_key_value_heads=HKV, head_dim=HD, max_position_embeddings=CTX, rms_norm_eps=EPS,
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=True,
              pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS)
torch.manual_seed(61)
if arch == "gemma":
    from transformers import GemmaConfig as Cfg, GemmaForCausalLM as Lm
    cfg = Cfg(hidden_act="gelu_pytorch_tanh", **common)
    attn_std = 0.1
elif arch == "gemma3":
    from transformers import Gemma3TextConfig as Cfg, Gemma3ForCausalLM as Lm
    rope = {"sliding_attention": {"rope_type": "default", "rope_theta": LOCAL_BASE},
            "full_attention": {"rope_type": "linear", "factor": ROPE_LINEAR, "rope_theta": GLOBAL_BASE}}
    cfg = Cfg(hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=HD, sliding_window=SWA,
              **{**common, "rope_parameters": rope})
    assert cfg.layer_types == ["sliding_attention"] * 5 + ["full_attention"], cfg.layer_types
    assert cfg.attn_logit_softcapping is None and cfg.final_logit_softcapping is None
    attn_std = 0.3
else:
    from transformers import Gemma2Config as Cfg, Gemma2ForCausalLM as Lm
    cfg = Cfg(hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=HD, attn_logit_softcapping=ATTN_CAP,
              final_logit_softcapping=FINAL_CAP, sliding_window=SWA, **common)
    attn_std = 0.3
m = Lm(cfg).eval()
if SHAPE:
    hg.init_params(m, 62, extra=lambda n: (0.0, 0.1) if "norm" in n else (0.0, 0.02))
else:
    hg.init_params(m, 62, extra=lambda n: (0.0, 0.1) if "norm" in n else ((0.0, attn_std) if "self_attn" in n else None))

sd = hg.state_dict_f32(m)
plus1 = lambda a: a + np.float32(1)  # convert_hf_to_gguf.py: Gemma's norm weights are stored as w + 1
tensors = [("token_embd.weight", sd["model.embed_tokens.weight"])]
for i in range(L):
    p = f"model.layers.{i}."
    tensors += [(f"blk.{i}.attn_norm.weight", plus1(sd[p + "input_layernorm.weight"])),
                (f"blk.{i}.attn_q.weight", sd[p + "self_attn.q_proj.weight"]),
                (f"blk.{i}.attn_k.weight", sd[p + "self_attn.k_proj.weight"]),
                (f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"]),
                (f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])]
    if arch == "gemma3":
        tensors += [(f"blk.{i}.attn_q_norm.weight", plus1(sd[p + "self_attn.q_norm.weight"])),
                    (f"blk.{i}.attn_k_norm.weight", plus1(sd[p + "self_attn.k_norm.weight"]))]
    if arch == "gemma":
        tensors.append((f"blk.{i}.ffn_norm.weight", plus1(sd[p + "post_attention_layernorm.weight"])))
    else:
        tensors += [(f"blk.{i}.post_attention_norm.weight", plus1(sd[p + "post_attention_layernorm.weight"])),
                    (f"blk.{i}.ffn_norm.weight", plus1(sd[p + "pre_feedforward_layernorm.weight"]))]
    tensors += [(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]),
                (f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"]),
                (f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])]
    if arch in ("gemma2", "gemma3"):
        tensors.append((f"blk.{i}.post_ffw_norm.weight", plus1(sd[p + "post_feedforward_layernorm.weight"])))
tensors.append(("output_norm.weight", plus1(sd["model.norm.weight"])))
hparams = [("context_length", CTX), ("embedding_length", D), ("block_count", L), ("feed_forward_length", FF),
           ("head_count", H), ("head_count_kv", HKV), ("layer_norm_rms_eps", EPS), ("key_length", HD),
           ("value_length", HD)]
if arch == "gemma2":
    hparams += [("attn_logit_softcapping", ATTN_CAP), ("final_logit_softcapping", FINAL_CAP), ("sliding_window", SWA)]
if arch == "gemma3":
    hparams += [("rope_freq_base", GLOBAL_BASE), ("rope_freq_base_swa", LOCAL_BASE), ("sliding_window", SWA),
                ("rope_scaling_type", gguf.RopeScalingType.LINEAR), ("rope_scaling_factor", ROPE_LINEAR)]
hparams.append(("file_type", gguf.LlamaFileType.ALL_F32))
# A chat template in Gemma's turn format (written here: BOS text first, which the tokenizer's own BOS replaces;
# `assistant` is the `model` turn; each turn `<start_of_turn>ROLE\nTEXT<end_of_turn>\n`).
CHAT = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}{% set role = 'model' %}"
        "{% else %}{% set role = m['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + m['content'] | trim"
        " + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}")
tok = {"model": "llama", "tokens": tokens, "scores": scores, "types": types, "bos": BOS, "eos": EOS, "unk": UNK,
       "pad": PAD, "add_bos": True, "add_space_prefix": False, "chat_template": CHAT}
path = os.path.join(outdir, NAME + ".gguf")
hg.write_gguf(path, arch, NAME, hparams, tok, tensors)

rng = np.random.default_rng(63)
ids = [BOS] + [int(x) for x in rng.integers(6, NV, (N_EVAL if arch == "gemma3" else 96) - 1)]
logits = hg.logits_of(m, ids)
# Controls: the same model without the sqrt(D) embedding scale (embeddings fed pre-divided), and (Gemma 2)
# without the soft-caps.
with torch.no_grad():
    emb = m.model.embed_tokens(torch.tensor([ids])) / math.sqrt(D)
    no_scale = m(inputs_embeds=emb).logits[0].float().numpy()
extra = {"no_embd_scale_max_abs_diff": float(np.abs(no_scale - logits).max())}
if arch == "gemma2":
    nocap = Lm(Cfg(**{**cfg.to_dict(), "attn_logit_softcapping": None, "final_logit_softcapping": None})).eval()
    nocap.load_state_dict(m.state_dict())
    nocap_logits = hg.logits_of(nocap, ids)
    extra["no_softcap_max_abs_diff"] = float(np.abs(nocap_logits - logits).max())
    # with the attention soft-cap only (the final cap is monotone: it leaves the greedy token alone)
    attn_only = Lm(Cfg(**{**cfg.to_dict(), "final_logit_softcapping": None})).eval()
    attn_only.load_state_dict(m.state_dict())
    extra["no_final_softcap_max_abs_diff"] = float(np.abs(hg.logits_of(attn_only, ids) - logits).max())
if arch == "gemma3":
    def variant(edit=None, **over):
        v = Lm(Cfg(**{**cfg.to_dict(), **over})).eval()
        v.load_state_dict(m.state_dict())
        if edit: edit(v)
        return v
    def no_qk_norm(v):
        for layer in v.model.layers:
            layer.self_attn.q_norm = torch.nn.Identity(); layer.self_attn.k_norm = torch.nn.Identity()
    one_base = {"sliding_attention": cfg.rope_parameters["sliding_attention"]} | {"full_attention": cfg.rope_parameters["sliding_attention"]}
    extra["no_qk_norm_max_abs_diff"] = float(np.abs(hg.logits_of(variant(no_qk_norm), ids) - logits).max())
    extra["one_rope_base_max_abs_diff"] = float(np.abs(hg.logits_of(variant(rope_parameters=one_base), ids) - logits).max())
    long_ids = [BOS] + [int(x) for x in rng.integers(6, NV, 79)]
    long_logits = hg.logits_of(m, long_ids)
    np.save(os.path.join(outdir, NAME + ".long.logits.npy"), long_logits)
    nowin = hg.logits_of(variant(sliding_window=4096), long_ids)
    extra["long_ids"] = long_ids
    extra["no_window_max_abs_diff_inside"] = float(np.abs(nowin[:SWA] - long_logits[:SWA]).max())
    extra["no_window_max_abs_diff_beyond"] = float(np.abs(nowin[SWA:] - long_logits[SWA:]).max())
extra["prompt"] = PROMPT
extra["notes"] = ("logits.npy: transformers f32 logits [len(eval_ids) x n_vocab]; greedy: 16 tokens after greedy_prompt_ids"
                  + ("; long.logits.npy: the same for long_ids" if arch == "gemma3" else ""))
ref = hg.save_reference(outdir, NAME, arch + "-ref/1", ids, logits, model=m, ref_extra=extra, prompt_len=16 if arch == "gemma3" else 40)
print(path, os.path.getsize(path), "bytes; vocab", NV, {k: v for k, v in extra.items() if "diff" in k})
