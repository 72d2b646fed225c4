#!/usr/bin/env python3
"""Reference tokenizations for crates/tokenizer's tests, made with Hugging Face `tokenizers`.

Usage: python3 scripts/make_tokenizer_vectors.py testdata/llama/llama-tiny-random-q8_0.gguf \
           > testdata/tokenizer/hf-vectors.json
Needs: pip install tokenizers gguf   (tested with tokenizers 0.23.3, gguf 0.19+)

The GGUF holds SmolLM2's vocabulary and merges (pre-tokenizer `smollm`). For each text below the
script records:
- `words[pre]`: the pre-tokenizer's split of the text, for pre in gpt-2, smollm, llama3, qwen2
  (the regexes llama.cpp uses, applied by `tokenizers`' own pre-tokenizers);
- `ids[pre]`: the ids of a `tokenizers` BPE tokenizer built from the GGUF's vocabulary and merges
  with that pre-tokenizer (and `ignore_merges` for llama3, as llama.cpp sets it);
- `ids_special`: the smollm ids when the control tokens (`<|im_start|>`, ...) are parsed.
"""
import json
import sys

import gguf
from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")

TEXTS = [
    "Hello world! 123",
    "The llama (Lama glama) is a domesticated South American camelid.",
    "  multiple   spaces",
    "trailing spaces   ",
    "\n\n\nnewlines\n\n",
    "tabs\tand\t\ttabs",
    "line one\r\nline two\r\n\r\n",
    " \n \n  x",
    "I've they're we'll it's I'M YOU'RE She'S don't 'x ''s",
    "1234567890 12 1,000,000.50 3.14159 -42 +7e10",
    "٣٤٥ ½ Ⅻ ²",
    "Café déjà vu — naïve façade",
    "中文测试：你好，世界！",
    "日本語のテキスト、カタカナ",
    "Здравствуй, мир! Ελληνικά",
    "emoji 😀😀 👍🏽 🇫🇷!",
    "e\u0301 combining a\u0308",
    "zero\u200bwidth\u00a0nbsp\u3000ideographic",
    "def f(x):\n    return x ** 2  # square\n",
    "if (a != b && c <= d) { x += 1; }",
    "    indented\n        more\n",
    "<html><body class=\"x\">text</body></html>",
    "https://example.com/path?q=1&r=2#frag",
    "snake_case camelCase PascalCase SCREAMING_CASE",
    "!!! ??? ... ---",
    "a\u0085b\u2028c",
    "x\x00y\x1fz",
    "ÀÉÎÕÜ àéîõü ß ẞ",
    "<|im_start|>user\nHi<|im_end|>",
    "<|endoftext|> is text here",
    "",
    " ",
    "'",
    "0",
]

SPECIAL_TEXTS = [
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "a<|endoftext|>b<|im_end|><|im_end|>",
    "<|im_start|>", "<|im_start", " <|im_end|> ",
]


def pre_tokenizer(name):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    if name == "gpt-2":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if name == "smollm":
        return pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    pattern = {"llama3": LLAMA3, "qwen2": QWEN2}[name]
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False), byte_level])


def words(name, text):
    if name == "gpt-2":
        split = pre_tokenizers.Split(Regex(GPT2), behavior="isolated")
        return [w for w, _ in split.pre_tokenize_str(text)]
    if name == "smollm":
        seq = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Split(Regex(GPT2), behavior="isolated")])
        return [w for w, _ in seq.pre_tokenize_str(text)]
    pattern = {"llama3": LLAMA3, "qwen2": QWEN2}[name]
    split = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    return [w for w, _ in split.pre_tokenize_str(text)]


def main():
    reader = gguf.GGUFReader(sys.argv[1])
    field = lambda k: reader.fields[k].contents()
    tokens = field("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges")]
    types = field("tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens)}

    def build(name, special):
        model = models.BPE(vocab=vocab, merges=merges, ignore_merges=(name == "llama3"))
        tk = Tokenizer(model)
        tk.pre_tokenizer = pre_tokenizer(name)
        if special:
            tk.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                   for t, ty in zip(tokens, types) if ty == 3])
        return tk

    names = ["gpt-2", "smollm", "llama3", "qwen2"]
    plain = {n: build(n, False) for n in names}
    special = build("smollm", True)
    cases = []
    for text in TEXTS:
        cases.append({
            "text": text,
            "words": {n: words(n, text) for n in names},
            "ids": {n: plain[n].encode(text, add_special_tokens=False).ids for n in names},
        })
    special_cases = [{"text": t, "ids": special.encode(t, add_special_tokens=False).ids}
                     for t in SPECIAL_TEXTS]
    import tokenizers
    json.dump({
        "format": "zkinfer-tokenizer-vectors/1",
        "made_with": f"tokenizers {tokenizers.__version__}",
        "vocabulary": "SmolLM2 (from " + sys.argv[1].split("/")[-1] + ")",
        "cases": cases,
        "special_cases": special_cases,
    }, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
