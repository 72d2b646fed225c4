//! Conversion of ggml tensor data to `f32`.
//!
//! Block formats (all little-endian, `d`/`m` are f16 unless noted; a block covers 32 elements for
//! the `_0`/`_1` types and 256 elements — a "super-block" — for the k-quants):
//!
//! | type | block layout | value |
//! |---|---|---|
//! | `Q8_0` | `d`, `q[32]: i8` | `d·q` |
//! | `Q4_0` | `d`, `q[16]` (low nibbles: elements 0..16, high nibbles: 16..32) | `d·(q − 8)` |
//! | `Q4_1` | `d`, `m`, `q[16]` as above | `d·q + m` |
//! | `Q5_0` | `d`, `qh: u32` (bit `j` = 5th bit of element `j`), `q[16]` | `d·(q − 16)` |
//! | `Q5_1` | `d`, `m`, `qh: u32`, `q[16]` | `d·q + m` |
//! | `Q2_K` | `sc[16]` (low nibble scale, high nibble min), `q[64]` 2-bit, `d`, `dmin` | `d·sc·q − dmin·min` |
//! | `Q3_K` | `hmask[32]` (3rd bit), `q[64]` 2-bit, `sc[12]` (16 × 6-bit), `d` | `d·(sc − 32)·(q − 4·!hbit)` |
//! | `Q4_K` | `d`, `dmin`, `sc[12]` (8 × 6-bit scale + 8 × 6-bit min), `q[128]` 4-bit | `d·sc·q − dmin·min` |
//! | `Q5_K` | `d`, `dmin`, `sc[12]`, `qh[32]` (5th bit), `q[128]` | `d·sc·q − dmin·min` |
//! | `Q6_K` | `ql[128]` (low 4 bits), `qh[64]` (high 2 bits), `sc[16]: i8`, `d` | `d·sc·(q − 32)` |
//!
//! In the k-quants the 256 elements are cut into 16 (or 8) sub-blocks of 16 (or 32) elements that
//! share a scale; the quants of consecutive sub-blocks are interleaved in the byte arrays as
//! described next to each decoder.

use half::slice::HalfFloatSliceExt as _;
use half::{bf16, f16};

use crate::error::GgufError;
use crate::types::GgmlType;

/// Elements in a k-quant super-block.
const QK_K: usize = 256;

/// Converts `n` elements of type `ty`, stored in `bytes`, to `f32`.
///
/// `n` must be a multiple of the type's block size and `bytes` must hold exactly the blocks for
/// `n` elements. Types for which [`GgmlType::is_dequantizable`] is false give
/// [`GgufError::UnsupportedType`].
pub fn dequantize(ty: GgmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>, GgufError> {
    let mut out = Vec::new();
    dequantize_into(ty, bytes, n, &mut out)?;
    Ok(out)
}

/// Like [`dequantize`], but appends to `out` (whose capacity can be reused).
pub fn dequantize_into(
    ty: GgmlType,
    bytes: &[u8],
    n: usize,
    out: &mut Vec<f32>,
) -> Result<(), GgufError> {
    if !ty.is_dequantizable() {
        return Err(GgufError::UnsupportedType(ty));
    }
    let block_size = ty.block_size();
    if !n.is_multiple_of(block_size) {
        return Err(GgufError::NotBlockMultiple {
            ggml_type: ty,
            n,
            block_size,
        });
    }
    let expected = (n / block_size).checked_mul(ty.type_size());
    if expected != Some(bytes.len()) {
        return Err(GgufError::ByteLengthMismatch {
            ggml_type: ty,
            n,
            expected: expected.unwrap_or(usize::MAX),
            actual: bytes.len(),
        });
    }
    // `n` is now bounded by the byte length times a small constant.
    out.reserve(n);
    let blocks = bytes.chunks_exact(ty.type_size());
    match ty {
        GgmlType::F32 => out.extend(blocks.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        GgmlType::F16 => f16_to_f32(bytes, out),
        GgmlType::BF16 => out.extend(blocks.map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())),
        GgmlType::F64 => {
            out.extend(blocks.map(|b| {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }))
        }
        GgmlType::I8 => out.extend(blocks.map(|b| f32::from(b[0] as i8))),
        GgmlType::I16 => out.extend(blocks.map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])))),
        GgmlType::I32 => {
            out.extend(blocks.map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32))
        }
        GgmlType::Q8_0 => blocks.for_each(|b| q8_0(b, out)),
        GgmlType::Q4_0 => blocks.for_each(|b| q4_0(b, out)),
        GgmlType::Q4_1 => blocks.for_each(|b| q4_1(b, out)),
        GgmlType::Q5_0 => blocks.for_each(|b| q5_0(b, out)),
        GgmlType::Q5_1 => blocks.for_each(|b| q5_1(b, out)),
        GgmlType::Q2_K => blocks.for_each(|b| q2_k(b, out)),
        GgmlType::Q3_K => blocks.for_each(|b| q3_k(b, out)),
        GgmlType::Q4_K => blocks.for_each(|b| q4_k(b, out)),
        GgmlType::Q5_K => blocks.for_each(|b| q5_k(b, out)),
        GgmlType::Q6_K => blocks.for_each(|b| q6_k(b, out)),
        GgmlType::IQ4_NL => blocks.for_each(|b| iq4_nl(b, out)),
        GgmlType::IQ4_XS => blocks.for_each(|b| iq4_xs(b, out)),
        other => return Err(GgufError::UnsupportedType(other)),
    }
    Ok(())
}

/// Widens little-endian f16 values in batches, so that `half` can use the CPU's conversion
/// instructions (F16C) where available.
fn f16_to_f32(bytes: &[u8], out: &mut Vec<f32>) {
    const BATCH: usize = 256;
    let mut halves = [f16::ZERO; BATCH];
    for chunk in bytes.chunks(2 * BATCH) {
        let k = chunk.len() / 2;
        for (h, b) in halves.iter_mut().zip(chunk.chunks_exact(2)) {
            *h = f16::from_le_bytes([b[0], b[1]]);
        }
        let start = out.len();
        out.resize(start + k, 0.0);
        halves[..k].convert_to_f32_slice(&mut out[start..]);
    }
}

/// The f16 at byte `i` of `b`, widened.
#[inline(always)]
fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// `Q8_0`: `d: f16`, then 32 signed bytes.
fn q8_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    out.extend(b[2..34].iter().map(|&q| d * f32::from(q as i8)));
}

/// `Q4_0`: `d: f16`, 16 bytes; element `j` is the low nibble of byte `j`, element `j + 16` the
/// high nibble.
fn q4_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    out.extend(qs.iter().map(|&q| d * (f32::from(q & 0x0F) - 8.0)));
    out.extend(qs.iter().map(|&q| d * (f32::from(q >> 4) - 8.0)));
}

/// `Q4_1`: `d: f16`, `m: f16`, 16 bytes of nibbles as in `Q4_0`.
fn q4_1(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qs = &b[4..20];
    out.extend(qs.iter().map(|&q| d * f32::from(q & 0x0F) + m));
    out.extend(qs.iter().map(|&q| d * f32::from(q >> 4) + m));
}

/// The 5-bit quants of a `Q5_0`/`Q5_1` block: low nibbles as in `Q4_0`, fifth bit of element
/// `j` in bit `j` of the little-endian u32 `qh`.
fn five_bit_quants(qh: [u8; 4], qs: &[u8]) -> [u8; 32] {
    let high = u32::from_le_bytes(qh);
    let mut q = [0u8; 32];
    for j in 0..16 {
        let low_hi_bit = ((high >> j) & 1) as u8;
        let high_hi_bit = ((high >> (j + 16)) & 1) as u8;
        q[j] = (qs[j] & 0x0F) | (low_hi_bit << 4);
        q[j + 16] = (qs[j] >> 4) | (high_hi_bit << 4);
    }
    q
}

/// `Q5_0`: `d: f16`, `qh: [u8; 4]`, 16 bytes of low nibbles; value `d·(q − 16)`.
fn q5_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let q = five_bit_quants([b[2], b[3], b[4], b[5]], &b[6..22]);
    out.extend(q.iter().map(|&q| d * (f32::from(q) - 16.0)));
}

/// `Q5_1`: `d: f16`, `m: f16`, `qh: [u8; 4]`, 16 bytes of low nibbles; value `d·q + m`.
fn q5_1(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let q = five_bit_quants([b[4], b[5], b[6], b[7]], &b[8..24]);
    out.extend(q.iter().map(|&q| d * f32::from(q) + m));
}

/// `Q2_K`: `scales[16]`, `qs[64]`, `d: f16`, `dmin: f16`.
///
/// Each half of the super-block (128 elements) uses 32 bytes of `qs`; within a half, the bit pair
/// at shift `2s` of byte `l` belongs to element `32s + l`. Sub-block `i` (16 elements) has scale
/// `scales[i] & 15` and min `scales[i] >> 4`.
fn q2_k(b: &[u8], out: &mut Vec<f32>) {
    let scales = &b[0..16];
    let qs = &b[16..80];
    let d = f16_at(b, 80);
    let dmin = f16_at(b, 82);
    let mut sub = 0;
    for half in qs.chunks_exact(32) {
        for shift in [0u32, 2, 4, 6] {
            for part in half.chunks_exact(16) {
                let sc = scales[sub];
                sub += 1;
                let dl = d * f32::from(sc & 0x0F);
                let ml = dmin * f32::from(sc >> 4);
                out.extend(part.iter().map(|&q| dl * f32::from((q >> shift) & 3) - ml));
            }
        }
    }
}

/// Unpacks the 16 six-bit scales of a `Q3_K` block from 12 bytes: the low nibbles of scales
/// 0..8 are the low nibbles of bytes 0..8, those of scales 8..16 their high nibbles; the top two
/// bits of scale `i` are bits `2·(i / 4)` of byte `8 + i % 4`.
fn q3_k_scales(packed: &[u8]) -> [i8; 16] {
    let mut scales = [0i8; 16];
    for i in 0..16 {
        let low = if i < 8 {
            packed[i] & 0x0F
        } else {
            packed[i - 8] >> 4
        };
        let high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
        scales[i] = ((low | (high << 4)) as i8) - 32;
    }
    scales
}

/// `Q3_K`: `hmask[32]`, `qs[64]`, `scales[12]`, `d: f16`.
///
/// The low two bits are laid out as in `Q2_K`. The third bit of element `32s + l` of half `h` is
/// bit `4h + s` of `hmask[l]`; when it is clear the quant is lowered by 4.
fn q3_k(b: &[u8], out: &mut Vec<f32>) {
    let hmask = &b[0..32];
    let qs = &b[32..96];
    let scales = q3_k_scales(&b[96..108]);
    let d = f16_at(b, 108);
    let mut sub = 0;
    let mut bit = 0u32;
    for half in qs.chunks_exact(32) {
        for shift in [0u32, 2, 4, 6] {
            for (part_index, part) in half.chunks_exact(16).enumerate() {
                let dl = d * f32::from(scales[sub]);
                sub += 1;
                let masks = &hmask[16 * part_index..16 * part_index + 16];
                out.extend(part.iter().zip(masks).map(|(&q, &m)| {
                    let low = ((q >> shift) & 3) as i8;
                    let minus = if (m >> bit) & 1 == 1 { 0 } else { 4 };
                    dl * f32::from(low - minus)
                }));
            }
            bit += 1;
        }
    }
}

/// The `j`-th (scale, min) pair of a `Q4_K`/`Q5_K` block from its 12 packed bytes: pairs 0..4
/// are the low six bits of bytes `j` and `j + 4`; pairs 4..8 take their low nibbles from byte
/// `j + 4` and their top two bits from the top bits of bytes `j − 4` (scale) and `j` (min).
fn k4_scale_min(packed: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        let scale = (packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4);
        let min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        (scale, min)
    }
}

/// `Q4_K`: `d: f16`, `dmin: f16`, `scales[12]`, `qs[128]`.
///
/// Each 32-byte chunk of `qs` holds 64 elements: low nibbles first (sub-block `2c`), then high
/// nibbles (sub-block `2c + 1`).
fn q4_k(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let packed = &b[4..16];
    let qs = &b[16..144];
    for (chunk_index, chunk) in qs.chunks_exact(32).enumerate() {
        let (sc1, m1) = k4_scale_min(packed, 2 * chunk_index);
        let (sc2, m2) = k4_scale_min(packed, 2 * chunk_index + 1);
        let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
        out.extend(chunk.iter().map(|&q| d1 * f32::from(q & 0x0F) - min1));
        out.extend(chunk.iter().map(|&q| d2 * f32::from(q >> 4) - min2));
    }
}

/// `Q5_K`: `d: f16`, `dmin: f16`, `scales[12]`, `qh[32]`, `qs[128]`.
///
/// Low nibbles as in `Q4_K`; the fifth bit of element `l` of sub-block `s` is bit `s` of `qh[l]`.
fn q5_k(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let packed = &b[4..16];
    let qh = &b[16..48];
    let qs = &b[48..176];
    for (chunk_index, chunk) in qs.chunks_exact(32).enumerate() {
        let low_sub = 2 * chunk_index;
        let high_sub = low_sub + 1;
        let (sc1, m1) = k4_scale_min(packed, low_sub);
        let (sc2, m2) = k4_scale_min(packed, high_sub);
        let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
        out.extend(chunk.iter().zip(qh).map(|(&q, &h)| {
            let fifth = ((h >> low_sub) & 1) << 4;
            d1 * f32::from((q & 0x0F) | fifth) - min1
        }));
        out.extend(chunk.iter().zip(qh).map(|(&q, &h)| {
            let fifth = ((h >> high_sub) & 1) << 4;
            d2 * f32::from((q >> 4) | fifth) - min2
        }));
    }
}

/// `Q6_K`: `ql[128]`, `qh[64]`, `scales[16]: i8`, `d: f16`.
///
/// Each half (128 elements) uses 64 bytes of `ql` and 32 of `qh`. For `l` in 0..32, element
/// `l + 32k` (k = 0..4) takes its low nibble from `ql[l]` (k = 0, 2: low/high nibble) or
/// `ql[l + 32]` (k = 1, 3) and its top two bits from bits `2k` of `qh[l]`; its scale is
/// `scales[8·half + 2k + l / 16]`.
fn q6_k(b: &[u8], out: &mut Vec<f32>) {
    let ql_all = &b[0..128];
    let qh_all = &b[128..192];
    let scales = &b[192..208];
    let d = f16_at(b, 208);
    let mut values = [0f32; QK_K];
    for half in 0..2 {
        let ql = &ql_all[64 * half..64 * half + 64];
        let qh = &qh_all[32 * half..32 * half + 32];
        let sc = &scales[8 * half..8 * half + 8];
        let base = 128 * half;
        for l in 0..32 {
            let h = qh[l];
            let quants = [
                (ql[l] & 0x0F) | ((h & 3) << 4),
                (ql[l + 32] & 0x0F) | (((h >> 2) & 3) << 4),
                (ql[l] >> 4) | (((h >> 4) & 3) << 4),
                (ql[l + 32] >> 4) | (((h >> 6) & 3) << 4),
            ];
            for (k, q) in quants.into_iter().enumerate() {
                let scale = f32::from(sc[2 * k + l / 16] as i8);
                values[base + 32 * k + l] = d * scale * (f32::from(q) - 32.0);
            }
        }
    }
    out.extend_from_slice(&values);
}

/// The sixteen levels of the non-linear 4-bit types (`IQ4_NL`, `IQ4_XS`): a 4-bit quant `q`
/// stands for `IQ4_LEVELS[q]` times the block's scale.
const IQ4_LEVELS: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// Sixteen bytes of nibbles scaled by `d`: element `j` is the level of the low nibble of byte
/// `j`, element `j + 16` the level of its high nibble (the order of `Q4_0`).
fn iq4_nibbles(d: f32, qs: &[u8], out: &mut Vec<f32>) {
    let level = |q: u8| f32::from(IQ4_LEVELS[usize::from(q & 0x0F)]);
    out.extend(qs.iter().map(|&q| d * level(q)));
    out.extend(qs.iter().map(|&q| d * level(q >> 4)));
}

/// `IQ4_NL`: `d: f16`, 16 bytes of nibbles; value `d·IQ4_LEVELS[q]`. llama.cpp's quantizer uses
/// it where a K-quant does not fit a row (rows that are not a multiple of 256, such as
/// SmolLM2-135M's 576 in its Q2_K, Q3_K and IQ4_XS files).
fn iq4_nl(b: &[u8], out: &mut Vec<f32>) {
    iq4_nibbles(f16_at(b, 0), &b[2..18], out);
}

/// `IQ4_XS`: `d: f16`, `scales_h: u16`, `scales_l[4]`, `qs[128]`: eight sub-blocks of 32
/// elements. Sub-block `i` has the 6-bit scale `s` whose low four bits are nibble `i % 2` of
/// `scales_l[i / 2]` and whose top two are bits `2i, 2i + 1` of `scales_h`; its elements are
/// `d·(s − 32)·IQ4_LEVELS[q]` with the nibbles of `qs[16i..16i + 16]` as in `IQ4_NL`.
fn iq4_xs(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let scales_h = u16::from_le_bytes([b[2], b[3]]);
    let scales_l = &b[4..8];
    for (i, qs) in b[8..136].chunks_exact(16).enumerate() {
        let low = (scales_l[i / 2] >> (4 * (i % 2))) & 0x0F;
        let high = ((scales_h >> (2 * i)) & 3) as u8;
        let scale = i16::from(low | (high << 4)) - 32;
        iq4_nibbles(d * f32::from(scale), qs, out);
    }
}
