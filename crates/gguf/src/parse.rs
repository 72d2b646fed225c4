//! The header parser: a bounds-checked little-endian cursor and the GGUF header grammar.
//!
//! Every length and count read from the file is compared with the bytes that remain *before*
//! anything is allocated for it, so the memory the parser uses is bounded by a small multiple of
//! the file size whatever the file claims.

use std::collections::HashMap;

use crate::error::GgufError;
use crate::types::{GgmlType, MetaValue, TensorInfo};

/// The magic bytes at the start of every GGUF file.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// The alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Deepest array-of-array nesting accepted (GGUF writers use at most 2).
pub const MAX_ARRAY_NESTING: usize = 16;

/// Most dimensions a tensor may have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;

/// Smallest encoding of one metadata entry: 8-byte key length, 4-byte type, 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;

/// Smallest encoding of one tensor info: 8-byte name length, 4-byte n_dims, 4-byte type,
/// 8-byte offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

/// A bounds-checked little-endian reader over a byte slice.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], GgufError> {
        let available = self.remaining();
        match usize::try_from(n) {
            Ok(len) if len <= available => {
                let start = self.pos;
                self.pos += len;
                Ok(&self.bytes[start..start + len])
            }
            _ => Err(GgufError::Truncated {
                what,
                offset: self.pos as u64,
                needed: n,
                available: available as u64,
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let slice = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, GgufError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: u64 byte length, then that many UTF-8 bytes.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        let offset = self.pos as u64;
        let bytes = self.take(len, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(GgufError::InvalidUtf8 { what, offset }),
        }
    }

    /// Reads a count and checks that `count` items of at least `min_item_bytes` each fit in the
    /// remaining bytes.
    fn count(&mut self, what: &'static str, min_item_bytes: u64) -> Result<u64, GgufError> {
        let offset = self.pos as u64;
        let count = self.u64(what)?;
        let available = self.remaining() as u64;
        let max = available / min_item_bytes.max(1);
        if count > max {
            return Err(GgufError::CountTooLarge {
                what,
                count,
                offset,
                available,
                max,
            });
        }
        Ok(count)
    }
}

/// Metadata value type tags.
mod tag {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// The fewest bytes a value of type `type_id` occupies, or `None` for an unknown tag.
fn min_value_bytes(type_id: u32) -> Option<u64> {
    Some(match type_id {
        tag::U8 | tag::I8 | tag::BOOL => 1,
        tag::U16 | tag::I16 => 2,
        tag::U32 | tag::I32 | tag::F32 => 4,
        tag::U64 | tag::I64 | tag::F64 => 8,
        tag::STRING => 8,
        tag::ARRAY => 4 + 8,
        _ => return None,
    })
}

fn read_value(c: &mut Cursor<'_>, type_id: u32, depth: usize) -> Result<MetaValue, GgufError> {
    Ok(match type_id {
        tag::U8 => MetaValue::U8(c.u8("u8 value")?),
        tag::I8 => MetaValue::I8(i8::from_le_bytes(c.array("i8 value")?)),
        tag::U16 => MetaValue::U16(u16::from_le_bytes(c.array("u16 value")?)),
        tag::I16 => MetaValue::I16(i16::from_le_bytes(c.array("i16 value")?)),
        tag::U32 => MetaValue::U32(c.u32("u32 value")?),
        tag::I32 => MetaValue::I32(i32::from_le_bytes(c.array("i32 value")?)),
        tag::F32 => MetaValue::F32(f32::from_le_bytes(c.array("f32 value")?)),
        tag::U64 => MetaValue::U64(c.u64("u64 value")?),
        tag::I64 => MetaValue::I64(i64::from_le_bytes(c.array("i64 value")?)),
        tag::F64 => MetaValue::F64(f64::from_le_bytes(c.array("f64 value")?)),
        tag::BOOL => {
            let offset = c.position() as u64;
            match c.u8("bool value")? {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                value => return Err(GgufError::InvalidBool { value, offset }),
            }
        }
        tag::STRING => MetaValue::Str(c.string("string value")?),
        tag::ARRAY => {
            let offset = c.position() as u64;
            if depth >= MAX_ARRAY_NESTING {
                return Err(GgufError::NestingTooDeep {
                    max: MAX_ARRAY_NESTING,
                    offset,
                });
            }
            let elem_type = c.u32("array element type")?;
            let min_bytes = min_value_bytes(elem_type).ok_or(GgufError::UnknownValueType {
                type_id: elem_type,
                offset,
            })?;
            let count = c.count("array element", min_bytes)?;
            // `count` ≤ remaining bytes, so this capacity is bounded by the file size.
            let mut items = Vec::with_capacity(count as usize);
            for _ in 0..count {
                items.push(read_value(c, elem_type, depth + 1)?);
            }
            MetaValue::Array(items)
        }
        _ => {
            return Err(GgufError::UnknownValueType {
                type_id,
                offset: c.position().saturating_sub(4) as u64,
            });
        }
    })
}

/// Everything in a GGUF file except the tensor data itself.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub version: u32,
    pub metadata: Vec<(String, MetaValue)>,
    pub metadata_index: HashMap<String, usize>,
    pub tensors: Vec<TensorInfo>,
    pub tensor_index: HashMap<String, usize>,
    pub alignment: u64,
    pub data_offset: u64,
}

/// A tensor info as read, before its type, shape and bounds are validated.
struct RawTensorInfo {
    name: String,
    dims: Vec<u64>,
    type_id: u32,
    relative_offset: u64,
}

fn read_tensor_info(c: &mut Cursor<'_>) -> Result<RawTensorInfo, (String, GgufError)> {
    let name = c.string("tensor name").map_err(|e| (String::new(), e))?;
    let wrap = |e| (name.clone(), e);
    let n_dims = c.u32("tensor n_dims").map_err(wrap)?;
    if n_dims > MAX_DIMS {
        return Err(wrap(GgufError::TooManyDims {
            tensor: name.clone(),
            n_dims,
            max: MAX_DIMS,
        }));
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(c.u64("tensor dimension").map_err(wrap)?);
    }
    let type_id = c.u32("tensor type").map_err(wrap)?;
    let relative_offset = c.u64("tensor offset").map_err(wrap)?;
    Ok(RawTensorInfo {
        name,
        dims,
        type_id,
        relative_offset,
    })
}

fn alignment_from(
    metadata: &[(String, MetaValue)],
    index: &HashMap<String, usize>,
) -> Result<u64, GgufError> {
    let Some(&i) = index.get("general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match metadata.get(i).map(|(_, v)| v) {
        Some(MetaValue::U32(a)) if a.is_power_of_two() => Ok(u64::from(*a)),
        Some(other) => Err(GgufError::InvalidAlignment {
            value: format!("{other} ({})", other.type_name()),
        }),
        None => Ok(DEFAULT_ALIGNMENT),
    }
}

/// Validates one tensor's type, shape and data range against the data section.
fn validate_tensor(
    raw: RawTensorInfo,
    alignment: u64,
    data_offset: u64,
    data_len: u64,
) -> Result<TensorInfo, GgufError> {
    let RawTensorInfo {
        name,
        dims,
        type_id,
        relative_offset,
    } = raw;
    let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| GgufError::UnknownTensorType {
        tensor: name.clone(),
        type_id,
    })?;

    let mut n_elements: u64 = 1;
    for &d in &dims {
        n_elements = match n_elements.checked_mul(d) {
            Some(n) if d <= i64::MAX as u64 && n <= i64::MAX as u64 => n,
            _ => return Err(GgufError::ShapeOverflow { tensor: name, dims }),
        };
    }
    let block_size = ggml_type.block_size() as u64;
    let ne0 = dims.first().copied().unwrap_or(1);
    if !ne0.is_multiple_of(block_size) {
        return Err(GgufError::RowNotBlockMultiple {
            tensor: name,
            ggml_type,
            ne0,
            block_size,
        });
    }
    let Some(n_bytes) = ggml_type.bytes_for(n_elements) else {
        return Err(GgufError::ShapeOverflow { tensor: name, dims });
    };
    if !relative_offset.is_multiple_of(alignment) {
        return Err(GgufError::MisalignedTensor {
            tensor: name,
            offset: relative_offset,
            alignment,
        });
    }
    match relative_offset.checked_add(n_bytes) {
        Some(end) if end <= data_len => {}
        _ => {
            return Err(GgufError::TensorOutOfBounds {
                tensor: name,
                offset: relative_offset,
                n_bytes,
                data_len,
            });
        }
    }
    Ok(TensorInfo {
        name,
        dims,
        ggml_type,
        offset: data_offset + relative_offset,
        n_bytes,
    })
}

/// Rejects tensors whose data ranges overlap: every tensor owns its bytes (writers lay them out
/// one after another), so aliasing can only come from a crafted file.
fn check_no_overlap(tensors: &[TensorInfo]) -> Result<(), GgufError> {
    let mut ranges: Vec<(u64, u64, &str)> = tensors
        .iter()
        .filter(|t| t.n_bytes > 0)
        .map(|t| (t.offset, t.offset + t.n_bytes, t.name.as_str()))
        .collect();
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        let ((_, end, first), (start, _, second)) = (pair[0], pair[1]);
        if start < end {
            return Err(GgufError::OverlappingTensors {
                first: first.to_owned(),
                second: second.to_owned(),
            });
        }
    }
    Ok(())
}

/// Parses and validates the header of a GGUF file held in `bytes`.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, GgufError> {
    let mut c = Cursor::new(bytes);
    if bytes.len() < 4 && GGUF_MAGIC.starts_with(bytes) {
        return Err(GgufError::Truncated {
            what: "magic",
            offset: 0,
            needed: 4,
            available: bytes.len() as u64,
        });
    }
    if bytes.len() < 4 || bytes[..4] != GGUF_MAGIC {
        return Err(GgufError::BadMagic {
            found: bytes.iter().take(4).copied().collect(),
        });
    }
    c.take(4, "magic")?;
    let version = c.u32("version")?;
    if version != 2 && version != 3 {
        let swapped = version.swap_bytes();
        if swapped == 2 || swapped == 3 {
            return Err(GgufError::BigEndian { version: swapped });
        }
        return Err(GgufError::UnsupportedVersion { version });
    }
    let tensor_count = c.count("tensor", MIN_TENSOR_INFO_BYTES)?;
    let kv_count = c.count("metadata entry", MIN_KV_BYTES)?;

    let mut metadata = Vec::with_capacity(kv_count as usize);
    let mut metadata_index = HashMap::with_capacity(kv_count as usize);
    for index in 0..kv_count {
        let key = c
            .string("metadata key")
            .map_err(|e| GgufError::InMetadata {
                index,
                key: String::new(),
                source: Box::new(e),
            })?;
        let in_key = |e, key: &str| GgufError::InMetadata {
            index,
            key: key.to_owned(),
            source: Box::new(e),
        };
        let type_id = c.u32("metadata value type").map_err(|e| in_key(e, &key))?;
        let value = read_value(&mut c, type_id, 0).map_err(|e| in_key(e, &key))?;
        if metadata_index.insert(key.clone(), metadata.len()).is_some() {
            return Err(GgufError::DuplicateKey { key });
        }
        metadata.push((key, value));
    }
    let alignment = alignment_from(&metadata, &metadata_index)?;

    let mut raw_tensors = Vec::with_capacity(tensor_count as usize);
    for index in 0..tensor_count {
        let raw = read_tensor_info(&mut c).map_err(|(name, e)| GgufError::InTensorInfo {
            index,
            name,
            source: Box::new(e),
        })?;
        raw_tensors.push(raw);
    }

    // The data section starts at the next multiple of the alignment after the header. A file
    // without tensor data may end before that padding.
    let header_end = c.position() as u64;
    let data_offset = header_end
        .div_ceil(alignment)
        .saturating_mul(alignment)
        .min(bytes.len() as u64);
    let data_len = bytes.len() as u64 - data_offset;

    let mut tensors = Vec::with_capacity(raw_tensors.len());
    let mut tensor_index = HashMap::with_capacity(raw_tensors.len());
    for (index, raw) in raw_tensors.into_iter().enumerate() {
        let name = raw.name.clone();
        let info = validate_tensor(raw, alignment, data_offset, data_len).map_err(|e| {
            GgufError::InTensorInfo {
                index: index as u64,
                name: name.clone(),
                source: Box::new(e),
            }
        })?;
        if tensor_index.insert(name.clone(), tensors.len()).is_some() {
            return Err(GgufError::DuplicateTensor { name });
        }
        tensors.push(info);
    }
    check_no_overlap(&tensors)?;

    Ok(Header {
        version,
        metadata,
        metadata_index,
        tensors,
        tensor_index,
        alignment,
        data_offset,
    })
}
