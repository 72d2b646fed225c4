//! The error type of the crate: every way a GGUF file can be malformed, plus look-up failures.

use std::path::PathBuf;

use crate::types::GgmlType;

/// Everything that can go wrong while reading a GGUF file or decoding its tensors.
///
/// Messages name the offending key, tensor, offset or count so that a user can tell what is
/// wrong with a file without a hex editor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be opened, measured or mapped.
    #[error("cannot read GGUF file {path}: {source}")]
    Io {
        /// The path that was being read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The first four bytes are not `GGUF`.
    #[error("not a GGUF file: the magic bytes are {found:02x?}, expected \"GGUF\" (47 47 55 46)")]
    BadMagic {
        /// The first bytes of the file (fewer than four if the file is shorter).
        found: Vec<u8>,
    },

    /// The version field holds a version this reader does not understand.
    #[error("unsupported GGUF version {version} (this reader supports versions 2 and 3)")]
    UnsupportedVersion {
        /// The version read from the header.
        version: u32,
    },

    /// The version field reads as 2 or 3 only when byte-swapped: a big-endian file.
    #[error("big-endian GGUF files are not supported (version field reads {version} byte-swapped)")]
    BigEndian {
        /// The byte-swapped version.
        version: u32,
    },

    /// The file ends before a field that must be there.
    #[error(
        "truncated GGUF file: {what} at offset {offset} needs {needed} bytes, only {available} remain"
    )]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Absolute offset of the read.
        offset: u64,
        /// Bytes needed.
        needed: u64,
        /// Bytes left in the file from `offset`.
        available: u64,
    },

    /// A count (metadata entries, tensors, array elements) that cannot possibly fit in the file.
    #[error(
        "{what} count {count} at offset {offset} is impossible: the remaining {available} bytes hold at most {max}"
    )]
    CountTooLarge {
        /// What is being counted.
        what: &'static str,
        /// The count read from the file.
        count: u64,
        /// Absolute offset of the count field.
        offset: u64,
        /// Bytes left in the file after the count field.
        available: u64,
        /// The largest count those bytes could encode.
        max: u64,
    },

    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in {what} at offset {offset}")]
    InvalidUtf8 {
        /// What the string is.
        what: &'static str,
        /// Absolute offset of the string bytes.
        offset: u64,
    },

    /// A metadata value has a type tag this reader does not know.
    #[error("unknown metadata value type {type_id} at offset {offset}")]
    UnknownValueType {
        /// The type tag.
        type_id: u32,
        /// Absolute offset of the tag.
        offset: u64,
    },

    /// A boolean that is neither 0 nor 1.
    #[error("invalid boolean byte {value} at offset {offset} (must be 0 or 1)")]
    InvalidBool {
        /// The byte.
        value: u8,
        /// Absolute offset.
        offset: u64,
    },

    /// Arrays nested deeper than [`crate::MAX_ARRAY_NESTING`].
    #[error("metadata arrays nested more than {max} deep at offset {offset}")]
    NestingTooDeep {
        /// The limit.
        max: usize,
        /// Absolute offset of the array that went too deep.
        offset: u64,
    },

    /// An error inside one metadata entry, with the key for context.
    #[error("in metadata entry {index} (key {key:?}): {source}")]
    InMetadata {
        /// Position of the entry.
        index: u64,
        /// The key, if it could be read.
        key: String,
        /// What went wrong.
        source: Box<GgufError>,
    },

    /// An error inside one tensor-info record, with the tensor name for context.
    #[error("in tensor info {index} (name {name:?}): {source}")]
    InTensorInfo {
        /// Position of the record.
        index: u64,
        /// The tensor name, if it could be read.
        name: String,
        /// What went wrong.
        source: Box<GgufError>,
    },

    /// The same metadata key appears twice.
    #[error("duplicate metadata key {key:?}")]
    DuplicateKey {
        /// The key.
        key: String,
    },

    /// `general.alignment` is not a non-zero power of two stored as an unsigned 32-bit integer.
    #[error("invalid general.alignment {value}: must be a u32 that is a non-zero power of two")]
    InvalidAlignment {
        /// The value as found (printed).
        value: String,
    },

    /// A tensor declares more dimensions than ggml supports.
    #[error("tensor {tensor:?} has {n_dims} dimensions; at most {max} are allowed")]
    TooManyDims {
        /// The tensor.
        tensor: String,
        /// The declared number of dimensions.
        n_dims: u32,
        /// The limit.
        max: u32,
    },

    /// A tensor's shape has a product that does not fit in a signed 64-bit integer, or a
    /// dimension that is negative as a signed integer.
    #[error("tensor {tensor:?} has shape {dims:?} whose element count overflows")]
    ShapeOverflow {
        /// The tensor.
        tensor: String,
        /// Its dimensions.
        dims: Vec<u64>,
    },

    /// A tensor type tag this reader does not know.
    #[error("tensor {tensor:?} has unknown ggml type id {type_id}")]
    UnknownTensorType {
        /// The tensor.
        tensor: String,
        /// The type tag.
        type_id: u32,
    },

    /// The innermost dimension of a block-quantized tensor is not a multiple of the block size.
    #[error(
        "tensor {tensor:?} of type {ggml_type} has innermost dimension {ne0}, not a multiple of the block size {block_size}"
    )]
    RowNotBlockMultiple {
        /// The tensor.
        tensor: String,
        /// Its type.
        ggml_type: GgmlType,
        /// Its innermost dimension.
        ne0: u64,
        /// The block size of the type.
        block_size: u64,
    },

    /// A tensor's data offset is not a multiple of the file's alignment.
    #[error(
        "tensor {tensor:?} has data offset {offset} (relative), not a multiple of the alignment {alignment}"
    )]
    MisalignedTensor {
        /// The tensor.
        tensor: String,
        /// Its offset relative to the start of the data section.
        offset: u64,
        /// The file's alignment.
        alignment: u64,
    },

    /// A tensor's bytes do not lie inside the data section.
    #[error(
        "tensor {tensor:?} data [{offset}, {offset} + {n_bytes}) lies outside the data section of {data_len} bytes"
    )]
    TensorOutOfBounds {
        /// The tensor.
        tensor: String,
        /// Its offset relative to the start of the data section.
        offset: u64,
        /// Its size in bytes.
        n_bytes: u64,
        /// Size of the data section.
        data_len: u64,
    },

    /// The same tensor name appears twice.
    #[error("duplicate tensor name {name:?}")]
    DuplicateTensor {
        /// The name.
        name: String,
    },

    /// Two tensors share bytes of the data section.
    #[error("tensors {first:?} and {second:?} have overlapping data")]
    OverlappingTensors {
        /// The tensor that starts first.
        first: String,
        /// The tensor that starts inside it.
        second: String,
    },

    /// A metadata key that was asked for is absent.
    #[error("metadata key {key:?} is missing")]
    MissingKey {
        /// The key.
        key: String,
    },

    /// A metadata key holds a value of another type than asked for.
    #[error("metadata key {key:?} holds {found}, expected {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// The type that was asked for.
        expected: &'static str,
        /// The type that was found.
        found: String,
    },

    /// A metadata integer does not fit the type asked for.
    #[error("metadata key {key:?} holds {value}, which does not fit in {target}")]
    OutOfRange {
        /// The key.
        key: String,
        /// The value (printed).
        value: String,
        /// The type asked for.
        target: &'static str,
    },

    /// A tensor that was asked for is absent.
    #[error("tensor {name:?} not found")]
    TensorNotFound {
        /// The name.
        name: String,
    },

    /// The tensor type is known but this crate cannot convert it to f32.
    #[error("dequantization of ggml type {0} is not supported")]
    UnsupportedType(GgmlType),

    /// The element count is not a multiple of the type's block size.
    #[error(
        "cannot dequantize {n} elements of {ggml_type}: not a multiple of the block size {block_size}"
    )]
    NotBlockMultiple {
        /// The type.
        ggml_type: GgmlType,
        /// The element count.
        n: usize,
        /// The block size.
        block_size: usize,
    },

    /// The byte slice does not have the size that `n` elements of the type occupy.
    #[error("{n} elements of {ggml_type} occupy {expected} bytes, but {actual} bytes were given")]
    ByteLengthMismatch {
        /// The type.
        ggml_type: GgmlType,
        /// The element count.
        n: usize,
        /// The size `n` elements occupy.
        expected: usize,
        /// The size of the slice given.
        actual: usize,
    },

    /// A size does not fit in this platform's `usize`.
    #[error("{what} of {value} does not fit in memory on this platform")]
    TooLargeForPlatform {
        /// What the number is.
        what: &'static str,
        /// The number.
        value: u64,
    },
}

impl GgufError {
    /// The innermost error: the cause inside [`GgufError::InMetadata`] and
    /// [`GgufError::InTensorInfo`] context wrappers, or `self`.
    pub fn root_cause(&self) -> &GgufError {
        match self {
            GgufError::InMetadata { source, .. } | GgufError::InTensorInfo { source, .. } => {
                source.root_cause()
            }
            other => other,
        }
    }
}
