#!/usr/bin/env python3
"""Write a GPT-2-small-shaped GGUF (124M parameters) with seeded random weights.

Shape: 12 layers, width 768, 12 heads, context 1024, MLP 3072, the real GPT-2 vocabulary
(50257 tokens). The tokenizer metadata (tokens, token types, merges, special ids) is copied from
the tiny fixture, so `zkinfer generate` tokenizes exactly like GPT-2. Tensor layout follows
llama.cpp's current converter: F16 matrices, F32 norms/biases/position embedding, fused
`attn_qkv`, no `output.weight` (tied to `token_embd.weight`).

Weights follow GPT-2's initialisation (normal, std 0.02; residual projections scaled by
1/sqrt(2·n_layer)) with small random biases and LayerNorm gains around 1, so activations have
realistic magnitudes; the model is still random (its outputs mean nothing).

Usage: python3 scripts/make_gpt2_small.py OUT.gguf [--seed N] [--tokenizer-from FILE.gguf]
Requires the PyPI packages `gguf` and `numpy`. The output is ~250 MB: do not commit it.
"""

import argparse
import os
import sys

import numpy as np
import gguf

N_LAYER, N_EMBD, N_HEAD, N_CTX = 12, 768, 12, 1024
N_FF = 4 * N_EMBD


def field_value(reader, key):
    """The decoded value of a scalar or array metadata field of a GGUFReader."""
    f = reader.fields[key]
    t = f.types[0]
    if t == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [int(f.parts[i][0]) for i in f.data]
    if t == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]][0].item()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=124)
    ap.add_argument("--tokenizer-from", default=os.path.join(here, "..", "testdata", "gpt2-tiny-random.gguf"))
    args = ap.parse_args()

    src = gguf.GGUFReader(args.tokenizer_from)
    tokens = field_value(src, "tokenizer.ggml.tokens")
    n_vocab = len(tokens)
    rng = np.random.default_rng(args.seed)

    w = gguf.GGUFWriter(args.out, "gpt2")
    w.add_name("GPT-2 small shaped, random weights")
    w.add_block_count(N_LAYER)
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_layer_norm_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model(field_value(src, "tokenizer.ggml.model"))
    w.add_tokenizer_pre(field_value(src, "tokenizer.ggml.pre"))
    w.add_token_list(tokens)
    w.add_token_types(field_value(src, "tokenizer.ggml.token_type"))
    w.add_token_merges(field_value(src, "tokenizer.ggml.merges"))
    w.add_bos_token_id(field_value(src, "tokenizer.ggml.bos_token_id"))
    w.add_eos_token_id(field_value(src, "tokenizer.ggml.eos_token_id"))

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    def mat(name, rows, cols, std):
        # numpy shape [rows, cols] = ggml dims [cols, rows]: rows of `cols` contiguous values.
        w.add_tensor(name, normal((rows, cols), std).astype(np.float16))

    def vec(name, n, std, mean=0.0):
        w.add_tensor(name, (mean + normal((n,), std)).astype(np.float32))

    resid_std = 0.02 / np.sqrt(2 * N_LAYER)
    mat("token_embd.weight", n_vocab, N_EMBD, 0.02)
    w.add_tensor("position_embd.weight", normal((N_CTX, N_EMBD), 0.01))
    for l in range(N_LAYER):
        p = f"blk.{l}."
        vec(p + "attn_norm.weight", N_EMBD, 0.05, 1.0)
        vec(p + "attn_norm.bias", N_EMBD, 0.02)
        mat(p + "attn_qkv.weight", 3 * N_EMBD, N_EMBD, 0.02)
        vec(p + "attn_qkv.bias", 3 * N_EMBD, 0.02)
        mat(p + "attn_output.weight", N_EMBD, N_EMBD, resid_std)
        vec(p + "attn_output.bias", N_EMBD, 0.01)
        vec(p + "ffn_norm.weight", N_EMBD, 0.05, 1.0)
        vec(p + "ffn_norm.bias", N_EMBD, 0.02)
        mat(p + "ffn_up.weight", N_FF, N_EMBD, 0.02)
        vec(p + "ffn_up.bias", N_FF, 0.02)
        mat(p + "ffn_down.weight", N_EMBD, N_FF, resid_std)
        vec(p + "ffn_down.bias", N_EMBD, 0.01)
    vec("output_norm.weight", N_EMBD, 0.05, 1.0)
    vec("output_norm.bias", N_EMBD, 0.02)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB, vocab {n_vocab})", file=sys.stderr)


if __name__ == "__main__":
    main()
