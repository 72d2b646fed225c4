#!/usr/bin/env python3
"""Talks to a running `zkinfer serve` with the official `openai` Python client.

Usage: python3 scripts/openai_client.py BASE_URL PROMPT MAX_TOKENS [--chat] [--api-key KEY]

Sends the same request as a completion and a streamed completion, and with `--chat` also as a
one-user-message chat and a streamed chat (the model's own chat template), all greedy, and prints one JSON object with what the client returned: texts,
the `zkinfer` extension (proof ids, prompt and completion ids) and the streamed texts, so a test
can compare them with `zkinfer generate` and fetch the proofs. Exits 3 when `openai` is not
installed (`pip install openai`).
"""
import argparse
import json
import sys

try:
    from openai import OpenAI
except ImportError:
    print("the openai package is not installed (pip install openai)", file=sys.stderr)
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base_url")
    ap.add_argument("prompt")
    ap.add_argument("max_tokens", type=int)
    ap.add_argument("--chat", action="store_true")
    ap.add_argument("--api-key", default="unused")
    a = ap.parse_args()
    prompt, max_tokens = a.prompt, a.max_tokens
    client = OpenAI(base_url=a.base_url, api_key=a.api_key, max_retries=0, timeout=120)
    model = client.models.list().data[0].id

    c = client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, temperature=0)
    streamed = "".join(
        chunk.choices[0].text
        for chunk in client.completions.create(model=model, prompt=prompt, max_tokens=max_tokens, stream=True)
        if chunk.choices
    )
    out = {
        "model": model,
        "completion": {"text": c.choices[0].text, "finish_reason": c.choices[0].finish_reason, "zkinfer": c.model_extra["zkinfer"]},
        "completion_streamed": streamed,
    }
    if not a.chat:
        print(json.dumps(out))
        return
    messages = [{"role": "user", "content": prompt}]
    chat = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, temperature=0)
    chat_streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, stream=True)
        if chunk.choices
    )
    out["chat"] = {"content": chat.choices[0].message.content, "finish_reason": chat.choices[0].finish_reason, "zkinfer": chat.model_extra["zkinfer"]}
    out["chat_streamed"] = chat_streamed
    print(json.dumps(out))


if __name__ == "__main__":
    main()
