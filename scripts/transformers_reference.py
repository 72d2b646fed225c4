#!/usr/bin/env python3
"""Hugging Face transformers float32 logits of a GGUF model, teacher-forced on token ids.

    transformers_reference.py MODEL.gguf IDS.json OUT.npy

Loads the GGUF with `AutoModelForCausalLM.from_pretrained(dir, gguf_file=name)` (transformers
dequantizes every tensor to float32 and undoes llama.cpp's Q/K row permutation), runs one causal
pass over the ids and saves the logits `[len(ids), vocab]` as float32. Needs `torch`,
`transformers`, `accelerate` and `gguf` from PyPI (about 6 GB with torch's CUDA wheels; a venv is
best: `python3 -m venv ENV && ENV/bin/pip install torch transformers accelerate gguf`). Used by
`llama_accuracy.py --transformers ENV/bin/python`.
"""
import json
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def main():
    path, ids_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
    ids = json.load(open(ids_file))
    torch.set_grad_enabled(False)
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(path)), gguf_file=os.path.basename(path), dtype=torch.float32
    )
    model.eval()
    logits = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
    np.save(out, logits.astype(np.float32))


if __name__ == "__main__":
    main()
