#!/usr/bin/env python3
"""A tiny random Llama GGUF with a real SentencePiece vocabulary (`tokenizer.ggml.model = "llama"`), and
SentencePiece's own tokenization of many texts as the reference.

    pip download mistral-common==1.13.1 --no-deps -d DIR && unzip DIR/mistral_common-*.whl \
        'mistral_common/data/tokenizer.model.v1' -d DIR
    make_spm_fixture.py DIR/mistral_common/data/tokenizer.model.v1 OUTDIR

The vocabulary is Mistral 7B v0.1's `tokenizer.model` (32000 pieces: BPE with byte fallback, `<unk>` 0, `<s>` 1,
`</s>` 2, `<0x00>`..`<0xFF>` 3..258), shipped in the PyPI package mistral-common. It is written to the GGUF the way
llama.cpp's convert_hf_to_gguf.py `_set_vocab_sentencepiece` does: pieces, scores, token types (normal 1, unknown 2,
control 3, user-defined 4, unused 5, byte 6), BOS/EOS/UNK ids, `add_bos_token` true, `add_eos_token` false,
`add_space_prefix` = the model's `add_dummy_prefix`.

Model: 2 blocks, width 32, 2 query heads / 1 KV head, head dim 16, FFN 64, RoPE base 10000, eps 1e-5, context 128,
tied output in Q8_0 (the embedding is most of the file), norms F32.

References (`spm-tiny.vectors.json`): for each text, `sentencepiece.encode(text)` (no BOS; llama.cpp's
`llama_tokenize(add_special=false, parse_special=false)` computes the same pieces for text without special-token
text: both merge the adjacent pair with the highest score, leftmost first, and fall back to `<0xNN>` bytes), and
`decode` of those ids.

Needs sentencepiece, protobuf-free (reads the model through sentencepiece), torch, transformers, gguf.
"""
import json, os, sys
import numpy as np, torch, gguf, sentencepiece as spm
from transformers import LlamaConfig, LlamaForCausalLM

model_path, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)
sp = spm.SentencePieceProcessor(model_file=model_path)
n = sp.vocab_size()
tokens, scores, types = [], [], []
for i in range(n):
    tokens.append(sp.id_to_piece(i)); scores.append(sp.get_score(i))
    if sp.is_unknown(i): t = 2
    elif sp.is_control(i): t = 3
    elif sp.is_unused(i): t = 5
    elif sp.is_byte(i): t = 6
    else: t = 1
    types.append(t)
# add_dummy_prefix: sentencepiece encodes "a" as "▁a" exactly when it is on
add_prefix = sp.id_to_piece(sp.encode("a")[0]).startswith("\u2581")

torch.manual_seed(41)
cfg = LlamaConfig(vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                  tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
m = LlamaForCausalLM(cfg).eval()
g = torch.Generator().manual_seed(42)
with torch.no_grad():
    for name, p in m.named_parameters():
        if "norm" in name: p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
        elif "embed_tokens" in name: p.copy_(0.5 * torch.randn(p.shape, generator=g))
        else: p.copy_(0.15 * torch.randn(p.shape, generator=g))

def permute(w, n_head, n_head_kv):  # as convert_hf_to_gguf.LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv: n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

path = os.path.join(outdir, "spm-tiny.gguf")
w = gguf.GGUFWriter(path, arch="llama", use_temp_file=False)
w.add_name("spm-tiny"); w.add_context_length(128); w.add_embedding_length(32); w.add_block_count(2)
w.add_feed_forward_length(64); w.add_rope_dimension_count(16); w.add_head_count(2); w.add_head_count_kv(1)
w.add_layer_norm_rms_eps(1e-5); w.add_rope_freq_base(10000.0); w.add_vocab_size(n)
w.add_tokenizer_model("llama"); w.add_tokenizer_pre("default")
w.add_token_list(tokens); w.add_token_scores(scores); w.add_token_types(types)
w.add_bos_token_id(sp.bos_id()); w.add_eos_token_id(sp.eos_id()); w.add_unk_token_id(sp.unk_id())
w.add_add_bos_token(True); w.add_add_eos_token(False); w.add_add_space_prefix(add_prefix)
sd = {k: v.detach().float().numpy() for k, v in m.state_dict().items()}
def q8(name, a):
    w.add_tensor(name, gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
q8("token_embd.weight", sd["model.embed_tokens.weight"])
for i in range(2):
    p = f"model.layers.{i}."
    w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
    q8(f"blk.{i}.attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], 2, 2))
    q8(f"blk.{i}.attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], 2, 1))
    q8(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
    q8(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
    w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
    q8(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
    q8(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
    q8(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
w.add_tensor("output_norm.weight", sd["model.norm.weight"])
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

here = os.path.dirname(os.path.abspath(__file__))
prose = open(os.path.join(here, "..", "testdata", "text", "prose_and_code.txt"), encoding="utf-8").read()
texts = ["", " ", "  ", "a", " a", "Hello world", "Hello  world", " Hello world", "Hello world ", "\n", "\n\n", "\t",
         "Hello\nworld", "line one\n  indented\tline\r\nwindows", "über naïve café Ünïcödé", "日本語のテキスト",
         "中文 分词 测试", "Привет, мир!", "emoji 🦙🚀 and 👨‍👩‍👧", "ẞ ǅ ﬁ ㍿", "\u00a0non-breaking\u2009thin",
         "3.14159 + 2.71828 = 5.85987", "1234567890 12 123 1234", "don't you'll I'm we've they're",
         "def f(x):\n    return x ** 2  # square\n", "<html><body class=\"x\">Hi</body></html>",
         "a<s>b</s>c <unk> d", "<s>", "</s>", "<0x41>", "▁already▁escaped", "tokenization   with    many     spaces",
         "ALL CAPS AND lower", "Mixed-case_words and_snake_case and camelCaseWords", "a" * 200, "ab " * 50,
         "\u200b zero width \u200d joiner", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛", "ç̧ combining e\u0301", "\x01\x02 control \x7f chars"]
texts += [l for l in prose.split("\n") if l.strip()] + [prose]
# llama.cpp's tokenizer test texts (test-tokenizer-0: the same cases for every vocabulary), from the GPT-2 vocab's
# .inp file already in testdata/ (cases separated by "\n__ggml_vocab_test__\n")
inp = open(os.path.join(here, "..", "testdata", "tokenizer", "ggml-vocab-gpt-2.gguf.inp"), encoding="utf-8").read()
texts += [c for c in inp.split("\n__ggml_vocab_test__\n") if c not in texts]
vectors = [{"text": t, "ids": sp.encode(t), "decoded": sp.decode(sp.encode(t))} for t in texts]
# parse_special: llama.cpp cuts the control/unknown token texts out (longest first) and prefixes a space to the
# text after each (and to the first): per text fragment, sentencepiece's encode (its dummy prefix is that space).
specials = sorted([(tokens[i], i) for i in range(n) if types[i] in (2, 3)], key=lambda x: (-len(x[0]), x[1]))
def parse_special(text):
    frags = [text]
    for st, sid in specials:
        out = []
        for f in frags:
            if isinstance(f, int): out.append(f); continue
            parts = f.split(st)
            for k, part in enumerate(parts):
                if part: out.append(part)
                if k + 1 < len(parts): out.append(sid)
        frags = out
    ids = []
    for f in frags:
        ids += [f] if isinstance(f, int) else sp.encode(f)
    return ids
special_texts = ["a<s>b</s>c <unk> d", "<s>", "<s><s>x", "</s> tail", "head<unk>", "[INST] hi [/INST]</s>"]
special_vectors = [{"text": t, "ids": parse_special(t)} for t in special_texts]
json.dump({"format": "spm-vectors/1", "special_vectors": special_vectors, "model": "spm-tiny.gguf", "source": "mistral-common 1.13.1 tokenizer.model.v1",
           "add_space_prefix": add_prefix, "bos": sp.bos_id(), "eos": sp.eos_id(), "vectors": vectors},
          open(os.path.join(outdir, "spm-tiny.vectors.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=0)
print(path, os.path.getsize(path), "bytes;", n, "tokens; add_space_prefix", add_prefix, ";", len(vectors), "vectors")
