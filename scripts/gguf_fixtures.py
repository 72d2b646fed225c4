#!/usr/bin/env python3
"""Writes the GGUF test fixtures of the `zkinfer-gguf` crate into testdata/gguf/.

Requires the PyPI `gguf` package (llama.cpp's gguf-py) and numpy:

    pip install gguf numpy
    python3 scripts/gguf_fixtures.py            # writes testdata/gguf/

For every tensor type the crate dequantizes, one small GGUF file `<type>.gguf` holds:

* `quantized`: seeded random floats quantized by `gguf.quants.quantize` (for the types gguf-py
  can quantize: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0);
* `random_blocks`: random block bytes (every bit pattern of the quants and scales, with the f16
  scale fields set to finite values), for every type, including the k-quants and IQ4_NL/IQ4_XS that gguf-py can only
  dequantize.

Next to each tensor, `<type>.<tensor>.f32.bin` holds the values `gguf.quants.dequantize` gives for
the tensor's bytes, as little-endian f32. `manifest.json` lists files, tensors, their ggml shapes
and expected-value files, the expected metadata of `metadata.gguf` (every value type, nested
arrays, a custom alignment), and gguf-py's table of block sizes (`GGML_QUANT_SIZES`).

The output is deterministic (fixed seeds), so re-running the script reproduces the files.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V
from gguf.constants import GGML_QUANT_SIZES

OUT = Path(__file__).resolve().parent.parent / "testdata" / "gguf"

# Byte offsets of the f16 scale fields inside one block of each type.
F16_FIELDS = {
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q8_0: [0],
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
    T.IQ4_NL: [0],
    T.IQ4_XS: [0],
}
QUANTIZABLE = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]
ALL_TYPES = QUANTIZABLE + [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL, T.IQ4_XS]
ROWS = 3


def random_float_bits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Random f16/bf16/f32 bit patterns of every sign, exponent and mantissa except inf/NaN."""
    if width == 16:
        bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
        exp_mask = np.uint16(0x7C00)  # f16 exponent; the caller overrides for bf16
        return bits, exp_mask
    bits = rng.integers(0, 1 << 32, size=n, dtype=np.uint64).astype(np.uint32)
    return bits, np.uint32(0x7F800000)


def finite_bits(rng: np.random.Generator, n: int, ty: T) -> np.ndarray:
    if ty == T.F32:
        bits, mask = random_float_bits(rng, n, 32)
    else:
        bits, mask = random_float_bits(rng, n, 16)
        if ty == T.BF16:
            mask = np.uint16(0x7F80)
    # Where the exponent is all ones (inf/NaN), clear its top bit.
    all_ones = (bits & mask) == mask
    top = mask & ~(mask >> 1) if ty != T.F32 else np.uint32(0x40000000)
    bits = np.where(all_ones, bits & ~top, bits).astype(bits.dtype)
    return bits.view(np.uint8)


def random_blocks(rng: np.random.Generator, ty: T, n_elements: int) -> np.ndarray:
    block_size, type_size = GGML_QUANT_SIZES[ty]
    if block_size == 1:
        return finite_bits(rng, n_elements, ty)
    n_blocks = n_elements // block_size
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint16).astype(np.uint8)
    for offset in F16_FIELDS[ty]:
        scales = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        blocks[:, offset:offset + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(-1)


def write_type_file(ty: T, manifest: list) -> None:
    rng = np.random.default_rng(1000 + int(ty))
    block_size, type_size = GGML_QUANT_SIZES[ty]
    cols = 2 * 256 if block_size == 256 else 64
    name = ty.name.lower()
    writer = gguf.GGUFWriter(OUT / f"{name}.gguf", arch="fixture")
    writer.add_string("fixture.tensor_type", ty.name)
    entries = []

    def add(tensor_name: str, raw: np.ndarray) -> None:
        raw = np.ascontiguousarray(raw.reshape(ROWS, -1))
        expected = gguf.quants.dequantize(raw, ty).astype(np.float32).reshape(-1)
        assert expected.size == ROWS * cols
        assert np.all(np.isfinite(expected)), f"{ty.name} {tensor_name} not finite"
        if ty in (T.F32, T.F16):
            # gguf-py treats these as typed numpy arrays, not raw bytes.
            dtype = np.float32 if ty == T.F32 else np.float16
            writer.add_tensor(tensor_name, raw.view(dtype).reshape(ROWS, cols))
        else:
            writer.add_tensor(tensor_name, raw, raw_dtype=ty)
        expected_file = f"{name}.{tensor_name}.f32.bin"
        expected.astype("<f4").tofile(OUT / expected_file)
        entries.append({
            "name": tensor_name,
            "type": ty.name,
            "dims": [cols, ROWS],
            "expected": expected_file,
        })

    if ty in QUANTIZABLE:
        data = rng.normal(0.0, 1.0, size=(ROWS, cols)).astype(np.float32)
        data[0, :8] = 0.0  # an all-zero stretch exercises the d = 0 path
        quantized = gguf.quants.quantize(data, ty)
        add("quantized", quantized.view(np.uint8))
    add("random_blocks", random_blocks(rng, ty, ROWS * cols))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    manifest.append({"file": f"{name}.gguf", "tensors": entries})


def write_metadata_file() -> dict:
    """Every metadata value type, arrays of them, nested arrays, and alignment 64."""
    writer = gguf.GGUFWriter(OUT / "metadata.gguf", arch="fixture")
    writer.add_custom_alignment(64)
    scalars = [
        ("t.u8", 200, V.UINT8),
        ("t.i8", -100, V.INT8),
        ("t.u16", 60000, V.UINT16),
        ("t.i16", -30000, V.INT16),
        ("t.u32", 4000000000, V.UINT32),
        ("t.i32", -2000000000, V.INT32),
        ("t.u64", 18000000000000000000, V.UINT64),
        ("t.i64", -9000000000000000000, V.INT64),
        ("t.f32", 0.1, V.FLOAT32),
        ("t.f64", 0.1, V.FLOAT64),
        ("t.bool_true", True, V.BOOL),
        ("t.bool_false", False, V.BOOL),
        ("t.string", "héllo, wörld ✓", V.STRING),
        ("t.empty_string", "", V.STRING),
    ]
    expected = {"general.architecture": {"type": "string", "value": "fixture"},
                "general.alignment": {"type": "u32", "value": 64}}
    type_names = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
                  V.INT32: "i32", V.UINT64: "u64", V.INT64: "i64", V.FLOAT32: "f32",
                  V.FLOAT64: "f64", V.BOOL: "bool", V.STRING: "string"}
    for key, value, vtype in scalars:
        writer.add_key_value(key, value, vtype)
        stored = float(np.float32(value)) if vtype == V.FLOAT32 else value
        expected[key] = {"type": type_names[vtype], "value": stored}
    arrays = [
        ("a.u8", [0, 1, 255], V.UINT8),
        ("a.i16", [-32768, 0, 32767], V.INT16),
        ("a.i32", [-1, 2, -3, 4], V.INT32),
        ("a.u64", [0, 1 << 40], V.UINT64),
        ("a.f32", [0.5, -1.25, 3.0], V.FLOAT32),
        ("a.f64", [1e-300, -2.5], V.FLOAT64),
        ("a.bool", [True, False, True], V.BOOL),
        ("a.string", ["a", "", "ĠHello", "<|endoftext|>"], V.STRING),
    ]
    for key, values, vtype in arrays:
        writer.add_key_value(key, values, V.ARRAY, sub_type=vtype)
        expected[key] = {"type": f"array<{type_names[vtype]}>", "value": values}
    nested = [[1, 2, 3], [4], [5, 6]]
    writer.add_key_value("a.nested_i32", nested, V.ARRAY)
    expected["a.nested_i32"] = {"type": "array<array<i32>>", "value": nested}
    nested_strings = [["x", "y"], ["z"]]
    writer.add_key_value("a.nested_string", nested_strings, V.ARRAY)
    expected["a.nested_string"] = {"type": "array<array<string>>", "value": nested_strings}

    rng = np.random.default_rng(7)
    first = rng.normal(size=(2, 5)).astype(np.float32)   # 40 bytes: the next tensor needs padding
    second = rng.normal(size=(3, 7)).astype(np.float16)
    writer.add_tensor("first", first)
    writer.add_tensor("second", second)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    first.astype("<f4").tofile(OUT / "metadata.first.f32.bin")
    second.astype(np.float32).astype("<f4").tofile(OUT / "metadata.second.f32.bin")
    return {
        "file": "metadata.gguf",
        "alignment": 64,
        "metadata": expected,
        "tensors": [
            {"name": "first", "type": "F32", "dims": [5, 2], "expected": "metadata.first.f32.bin"},
            {"name": "second", "type": "F16", "dims": [7, 3], "expected": "metadata.second.f32.bin"},
        ],
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    files: list = []
    for ty in ALL_TYPES:
        write_type_file(ty, files)
    manifest = {
        "generator": f"scripts/gguf_fixtures.py with gguf {importlib.metadata.version('gguf')}"
                     f" and numpy {np.__version__}",
        "dequantization": files,
        "metadata_file": write_metadata_file(),
        "type_sizes": {t.name: {"id": int(t), "block_size": b, "type_size": s}
                       for t, (b, s) in GGML_QUANT_SIZES.items()},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
