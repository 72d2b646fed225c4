"""Shared pieces of the tiny transformers → GGUF fixture scripts (make_qwen2_tiny.py, make_llama3_rope.py,
make_gemma_tiny.py): a small byte-level BPE vocabulary learnt from a prompt, a small SentencePiece-style vocabulary,
seeded parameter initialisation, the GGUF writer (metadata, tokenizer, tensors in the order given) and the
float32 reference (logits at every position, greedy tokens, the `.npy` and `.ref.json` files).

Not a script: imported by the make_*.py scripts next to it. Needs numpy, torch and gguf.
"""
import json, os
import numpy as np, torch, gguf


def bytes_to_unicode():
    """GPT-2's byte <-> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def bpe_vocab(prompt, n_merges=40):
    """The 256 GPT-2 byte characters and `n_merges` merges learnt greedily on the prompt's words (space attached
    to the following word, as GPT-2 does). Returns (tokens, types, merges); types are all normal (1)."""
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    words = [[b2u[b] for b in (w if i == 0 else " " + w).encode()] for i, w in enumerate(prompt.split(" "))]
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts: break
        (a, b), _ = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f"{a} {b}")
        if a + b not in tokens: tokens.append(a + b)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if w[i] == a and w[i + 1] == b: w[i:i + 2] = [a + b]
                else: i += 1
    return tokens, [1] * len(tokens), merges


def spm_vocab(prompt, specials, n_pieces=40):
    """A SentencePiece-style vocabulary (llama.cpp `tokenizer.ggml.model = "llama"`): `specials` first (control,
    type 3, except a `<unk>`: type 2), the 256 byte tokens `<0x00>`..`<0xFF>` (type 6), then `n_pieces` pieces
    learnt by greedy pair merging on the prompt (`▁` for a space, no space prefix), each scored by its rank so that
    earlier merges win (type 1). Returns (tokens, scores, types)."""
    tokens = list(specials)
    types = [2 if s == "<unk>" else 3 for s in specials]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256
    text = prompt.replace(" ", "\u2581")
    seq = list(text)
    pieces = []
    for _ in range(n_pieces):
        counts = {}
        for a, b in zip(seq, seq[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts: break
        (a, b), _ = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        pieces.append(a + b)
        i = 0
        while i < len(seq) - 1:
            if seq[i] == a and seq[i + 1] == b: seq[i:i + 2] = [a + b]
            else: i += 1
    # Single characters of the prompt are pieces too (so that merges can start from them).
    chars = sorted(set(text))
    for c in chars:
        if c not in pieces: pieces.append(c)
    scores = [0.0] * len(tokens)
    for rank, p in enumerate(pieces):
        tokens.append(p); types.append(1); scores.append(-float(rank))
    return tokens, scores, types


def init_params(model, seed, bias_std=None, extra=None):
    """Seeded values: norm gains 1 + N(0, 0.1), embeddings N(0, 0.5), biases N(0, bias_std) when given, other
    matrices N(0, 0.1). `extra(name)` may return (mean, std) for a parameter, overriding the rules."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            rule = extra(name) if extra else None
            if rule is not None: mean, std = rule
            elif "norm" in name: mean, std = 1.0, 0.1
            elif "embed_tokens" in name: mean, std = 0.0, 0.5
            elif bias_std is not None and name.endswith("bias"): mean, std = 0.0, bias_std
            else: mean, std = 0.0, 0.1
            p.copy_(mean + std * torch.randn(p.shape, generator=g))


def state_dict_f32(model):
    return {k: v.detach().float().numpy() for k, v in model.state_dict().items()}


def permute_qk(w, n_head, n_head_kv):
    """convert_hf_to_gguf.LlamaModel.permute: rows of each head reordered to llama.cpp's adjacent pairs."""
    if n_head_kv is not None and n_head != n_head_kv: n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(path, arch, name, hparams, tokenizer, tensors):
    """Writes a GGUF. `hparams`: the writer's `add_*` calls in order, as (method, value) pairs (e.g.
    ("context_length", 256)); `tokenizer`: dict with `model`, optional `pre`, `tokens`, `types`, optional `scores`,
    `merges`, `bos`, `eos`, optional `unk`, `pad`, `add_bos`, `add_space_prefix`, `chat_template`; `tensors`: (name, array) pairs in file order."""
    w = gguf.GGUFWriter(path, arch=arch, use_temp_file=False)
    w.add_name(name)
    for key, value in hparams:
        getattr(w, "add_" + key)(*value) if isinstance(value, tuple) else getattr(w, "add_" + key)(value)
    t = tokenizer
    w.add_tokenizer_model(t["model"])
    if "pre" in t: w.add_tokenizer_pre(t["pre"])
    w.add_token_list(t["tokens"])
    if "scores" in t: w.add_token_scores(t["scores"])
    w.add_token_types(t["types"])
    if "merges" in t: w.add_token_merges(t["merges"])
    w.add_bos_token_id(t["bos"]); w.add_eos_token_id(t["eos"])
    if "unk" in t: w.add_unk_token_id(t["unk"])
    if "pad" in t: w.add_pad_token_id(t["pad"])
    w.add_add_bos_token(t["add_bos"])
    if "add_space_prefix" in t: w.add_add_space_prefix(t["add_space_prefix"])
    if "chat_template" in t: w.add_chat_template(t["chat_template"])
    for tname, arr in tensors:
        w.add_tensor(tname, arr)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()


def greedy(model, prompt_ids, n):
    x, out = list(prompt_ids), []
    with torch.no_grad():
        for _ in range(n):
            t = int(model(torch.tensor([x])).logits[0, -1].argmax()); out.append(t); x.append(t)
    return out


def save_reference(outdir, name, fmt, ids, logits, ref_extra, prompt_len=40, n_greedy=16, model=None, greedy_ids=None):
    """Writes NAME.logits.npy (float32 logits at every position of `ids`) and NAME.ref.json (`format`, `model`,
    `eval_ids`, `greedy_prompt_ids` = the first `prompt_len` ids, `greedy_transformers_f32`, then `ref_extra`)."""
    np.save(os.path.join(outdir, name + ".logits.npy"), logits)
    if greedy_ids is None: greedy_ids = greedy(model, ids[:prompt_len], n_greedy)
    ref = {"format": fmt, "model": name + ".gguf", "eval_ids": ids, "greedy_prompt_ids": ids[:prompt_len],
           "greedy_transformers_f32": greedy_ids}
    ref.update(ref_extra)
    json.dump(ref, open(os.path.join(outdir, name + ".ref.json"), "w"), indent=1)
    return ref
