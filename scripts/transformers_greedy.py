#!/usr/bin/env python3
"""Greedy chat continuation by Hugging Face transformers float32, compared with `zkinfer generate`.

    transformers_greedy.py ZKINFER MODEL.gguf N PROMPT [PROMPT ...]

Run it with an interpreter that has torch, transformers, accelerate and gguf (see
`transformers_reference.py`). For each prompt: transformers renders it as one user message with
the GGUF's own chat template (`apply_chat_template`, generation prompt added) and tokenizes it with
the GGUF's tokenizer, then decodes greedily in float32 for N tokens (stopping at EOS);
`zkinfer generate --chat -n N --json` runs with `--float` and without. Prints one JSON line per
prompt: whether the prompt ids and the completion ids agree, and both texts.
"""
import json
import os
import subprocess
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    zk, path, n, prompts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    d, f = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    torch.set_grad_enabled(False)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    for prompt in prompts:
        ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        out = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
        hf = out[0, len(ids):].tolist()
        row = {"prompt": prompt, "transformers_completion": tok.decode(hf)}
        for kind in ["float", "int"]:
            cmd = [zk, "generate", "-m", path, "--chat", "-p", prompt, "-n", str(n), "--json"] + (["--float"] if kind == "float" else [])
            g = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
            row[f"prompt_ids_equal_{kind}"] = g["prompt_ids"] == list(ids)
            row[f"completion_equal_{kind}"] = g["completion_ids"] == hf
            row[f"first_difference_{kind}"] = next((i for i, (a, b) in enumerate(zip(g["completion_ids"], hf)) if a != b), None)
            row[f"zkinfer_{kind}_completion"] = g["text"]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
