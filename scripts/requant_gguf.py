#!/usr/bin/env python3
"""Copy a `llama` GGUF with its matrices re-quantised, to test loading and accuracy on the
quantisation mixes people download (the float reference of the copy is what transformers
dequantises from the same file, so `scripts/llama_accuracy.py ZKINFER COPY TEXT 100 --transformers
python3` compares like with like).

    requant_gguf.py IN.gguf OUT.gguf SCHEME

SCHEME: f16 | bf16 | q8_0 | q5_0 | q4_0 | iq4_nl (matrices of that type, token_embd Q8_0 for the
4/5-bit ones) | mixed (each matrix in turn F16, Q8_0, Q5_0, Q5_1, Q4_0, Q4_1, BF16, IQ4_NL).
Norms stay F32; a matrix whose rows are not a multiple of 32 stays F16; metadata is copied
verbatim. gguf-py quantises every type but IQ4_NL, which is quantised here (scale = the block's
largest-magnitude value / -127, each value to its nearest level). Needs: pip install gguf numpy.

Measured 2026-12-07 (load 12-16, 2 cores): testdata/llama/llama-tiny-random.gguf as iq4_nl and
as mixed, 100 teacher-forced positions of testdata/text/prose_and_code.txt against transformers
float32: float path max |dlogit| 9.5e-6, integer path top-1 100/100, mean KL 1.3e-5 / 1.2e-5.
"""
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize
LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.float32)
def iq4_nl(x):
    b = x.reshape(-1, 32).astype(np.float32)
    if len(b) > 8192:
        return np.concatenate([iq4_nl(b[i:i + 8192]).reshape(-1) for i in range(0, len(b), 8192)]).reshape(x.shape[0], -1)
    idx = np.argmax(np.abs(b), axis=1)
    mx = b[np.arange(len(b)), idx]
    d = (mx / -127.0).astype(np.float16).astype(np.float32)
    inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0)
    q = np.argmin(np.abs(b[:, :, None] * inv[:, None, None] - LEVELS[None, None, :]), axis=2).astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    out = np.concatenate([d.astype(np.float16).view(np.uint8).reshape(-1, 2), packed], axis=1)
    return out.reshape(x.shape[0], -1)
src, dst, scheme = sys.argv[1:4]
r = gguf.GGUFReader(src)
arch = r.fields["general.architecture"].contents()
w = gguf.GGUFWriter(dst, arch)
for name, f in r.fields.items():
    if name.startswith("GGUF.") or name == "general.architecture": continue
    vt = f.types[0]
    if vt == gguf.GGUFValueType.ARRAY:
        w.add_array(name, f.contents())
    else:
        w.add_key_value(name, f.contents(), vt)
for i, t in enumerate(r.tensors):
    x = dequantize(t.data, t.tensor_type).astype(np.float32)
    shape = [int(s) for s in reversed(t.shape.tolist())]
    x = x.reshape(shape)
    if len(shape) == 1:
        w.add_tensor(t.name, x); continue
    s = scheme
    if scheme == "mixed":
        s = ["f16", "q8_0", "q5_0", "q5_1", "q4_0", "q4_1", "bf16", "iq4_nl"][i % 8]
    if scheme in ("q5_0", "q4_0", "iq4_nl") and t.name == "token_embd.weight":
        s = "q8_0"
    if s not in ("f16", "bf16") and shape[-1] % 32 != 0:
        s = "f16"
    if s == "f16":
        w.add_tensor(t.name, x.astype(np.float16))
    elif s == "iq4_nl":
        w.add_tensor(t.name, iq4_nl(x), raw_shape=iq4_nl(x).shape, raw_dtype=T.IQ4_NL)
    else:
        ty = {"q8_0": T.Q8_0, "q5_0": T.Q5_0, "q5_1": T.Q5_1, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "bf16": T.BF16}[s]
        q = quantize(x, ty)
        w.add_tensor(t.name, q, raw_shape=q.shape, raw_dtype=ty)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
print("wrote", dst)
