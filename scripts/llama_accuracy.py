#!/usr/bin/env python3
"""Accuracy of zkinfer's integer (proven) and float paths against the independent numpy float32
reference (`scripts/llama_reference.py`), teacher-forced on English prose and code.

    llama_accuracy.py ZKINFER MODEL.gguf TEXT_FILE [MAX_POSITIONS] [--transformers PYTHON]

Prints the positions, top-1 agreement and mean KL(ref‖int), and for the float path the max
|Δlogit| over the first 100 positions and over all. With `--transformers PYTHON` the reference is
Hugging Face transformers float32 loading the same GGUF (`transformers_reference.py`, run by that
interpreter, e.g. a venv's `bin/python` with torch, transformers, accelerate and gguf) instead of
the numpy reference.
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
    args = sys.argv[1:]
    tf_python = None
    if "--transformers" in args:
        i = args.index("--transformers")
        tf_python = args[i + 1]
        del args[i:i + 2]
    zk, model, text_file = args[0], args[1], args[2]
    max_pos = int(args[3]) if len(args) > 3 else 400
    out = subprocess.run([zk, "tokenize", "-m", model, "--json"], input=open(text_file, "rb").read(), capture_output=True, check=True)
    ids = json.loads(out.stdout)["ids"][:max_pos]
    if tf_python:
        with tempfile.TemporaryDirectory() as d:
            json.dump(ids, open(os.path.join(d, "ids.json"), "w"))
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "transformers_reference.py")
            subprocess.run([tf_python, script, model, os.path.join(d, "ids.json"), os.path.join(d, "ref.npy")], check=True, capture_output=True)
            ref = np.load(os.path.join(d, "ref.npy"))
    else:
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
            "path": kind, "reference": "transformers" if tf_python else "numpy", "positions": len(ids), "top1_agreement": float(top1), "mean_kl_ref_vs_path": float(kl.mean()),
            "max_abs_dlogit_first100": float(d[:100].max()), "max_abs_dlogit_all": float(d.max()),
        }))


if __name__ == "__main__":
    main()
