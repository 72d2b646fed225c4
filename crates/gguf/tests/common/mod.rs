//! A tiny GGUF writer for hand-made (and deliberately broken) test files.
#![allow(dead_code)]

/// A GGUF string: u64 length, then the bytes.
pub fn string(s: &[u8]) -> Vec<u8> {
    let mut out = (s.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(s);
    out
}

/// One metadata entry with an already-encoded value.
pub fn kv(key: &str, type_id: u32, value: &[u8]) -> Vec<u8> {
    let mut out = string(key.as_bytes());
    out.extend_from_slice(&type_id.to_le_bytes());
    out.extend_from_slice(value);
    out
}

pub fn kv_u32(key: &str, value: u32) -> Vec<u8> {
    kv(key, 4, &value.to_le_bytes())
}

pub fn kv_str(key: &str, value: &str) -> Vec<u8> {
    kv(key, 8, &string(value.as_bytes()))
}

/// An array value: element type, count, encoded elements.
pub fn array(elem_type: u32, count: u64, elements: &[u8]) -> Vec<u8> {
    let mut out = elem_type.to_le_bytes().to_vec();
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(elements);
    out
}

/// One tensor-info record.
pub fn tensor_info(name: &str, dims: &[u64], type_id: u32, offset: u64) -> Vec<u8> {
    let mut out = string(name.as_bytes());
    out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for d in dims {
        out.extend_from_slice(&d.to_le_bytes());
    }
    out.extend_from_slice(&type_id.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out
}

/// A whole file: header with the given counts, entries, infos, padding to `alignment`, data.
pub fn assemble(
    version: u32,
    n_tensors: u64,
    n_kv: u64,
    kvs: &[Vec<u8>],
    infos: &[Vec<u8>],
    alignment: usize,
    data: &[u8],
) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&n_tensors.to_le_bytes());
    out.extend_from_slice(&n_kv.to_le_bytes());
    for k in kvs {
        out.extend_from_slice(k);
    }
    for t in infos {
        out.extend_from_slice(t);
    }
    while !out.len().is_multiple_of(alignment) {
        out.push(0);
    }
    out.extend_from_slice(data);
    out
}

/// A file with the given tensor infos and `data_len` bytes of data, plus one metadata entry.
pub fn with_tensors(infos: &[Vec<u8>], data_len: usize) -> Vec<u8> {
    let kvs = [kv_str("general.architecture", "test")];
    assemble(
        3,
        infos.len() as u64,
        1,
        &kvs,
        infos,
        32,
        &vec![0x3c; data_len],
    )
}

/// A small well-formed file: one F32 tensor `w` of shape [4, 2] and one Q8_0 tensor `q`.
pub fn valid_file() -> Vec<u8> {
    let kvs = [
        kv_str("general.architecture", "test"),
        kv_u32("test.block_count", 2),
    ];
    let infos = [
        tensor_info("w", &[4, 2], 0, 0),
        tensor_info("q", &[32], 8, 32),
    ];
    let mut data = Vec::new();
    for i in 0..8 {
        data.extend_from_slice(&(i as f32).to_le_bytes());
    }
    // Q8_0 block: d = 0.5 (f16 0x3800), quants 0..32.
    data.extend_from_slice(&[0x00, 0x38]);
    data.extend((0..32u8).map(|q| q.wrapping_sub(16)));
    assemble(3, 2, 2, &kvs, &infos, 32, &data)
}
