#!/usr/bin/env python3
"""Accuracy of zkinfer's integer (proven) and float paths against the independent numpy float32
reference (`scripts/llama_reference.py`), teacher-forced on English prose and code.

    llama_accuracy.py ZKINFER MODEL.gguf TEXT_FILE [MAX_POSITIONS]

Prints the positions, top-1 agreement and mean KL(ref‖int), and for the float path the max
|Δlogit| over the first 100 positions and over all.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference  # noqa: E402


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def main():
    zk, model, text_file = sys.argv[1], sys.argv[2], sys.argv[3]
    max_pos = int(sys.argv[4]) if len(sys.argv) > 4 else 400
    out = subprocess.run([zk, "tokenize", "-m", model, "--json"], input=open(text_file, "rb").read(), capture_output=True, check=True)
    ids = json.loads(out.stdout)["ids"][:max_pos]
    cfg, w = llama_reference.load(model)
    ref = llama_reference.forward(cfg, w, ids)
    del w
    vocab = ref.shape[1]
    with tempfile.TemporaryDirectory() as d:
        got = {}
        for kind in ["int", "float"]:
            path = os.path.join(d, kind)
            cmd = [zk, "logits", "-m", model, "--ids", ",".join(map(str, ids)), "-o", path] + (["--float"] if kind == "float" else [])
            subprocess.run(cmd, check=True, capture_output=True)
            got[kind] = np.fromfile(path, "<f4").reshape(-1, vocab)
    lr = log_softmax(ref)
    for kind, g in got.items():
        lg = log_softmax(g)
        kl = (np.exp(lr) * (lr - lg)).sum(axis=-1)
        top1 = (g.argmax(-1) == ref.argmax(-1)).mean()
        d = np.abs(g - ref)
        print(json.dumps({
            "path": kind, "positions": len(ids), "top1_agreement": float(top1), "mean_kl_ref_vs_path": float(kl.mean()),
            "max_abs_dlogit_first100": float(d[:100].max()), "max_abs_dlogit_all": float(d.max()),
        }))


if __name__ == "__main__":
    main()
