//! [`GgufFile`]: a parsed header plus the file's bytes (memory-mapped or owned).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::dequant::dequantize;
use crate::error::GgufError;
use crate::parse::{Header, parse_header};
use crate::types::{MetaValue, TensorInfo};

/// The bytes of a GGUF file.
enum Storage {
    /// A read-only memory map of the file on disk.
    Mapped(memmap2::Mmap),
    /// Bytes held in memory.
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(map) => map,
            Storage::Owned(bytes) => bytes,
        }
    }
}

/// A validated GGUF file: version, ordered metadata, tensor infos, and access to tensor data.
///
/// Construction validates the whole header: every tensor's type is known, its shape does not
/// overflow, its data is aligned and lies inside the file. After that, data access cannot fail
/// except for unsupported dequantization.
pub struct GgufFile {
    version: u32,
    metadata: Vec<(String, MetaValue)>,
    metadata_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    data_offset: u64,
    storage: Storage,
}

impl fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GgufFile")
            .field("version", &self.version)
            .field("metadata_entries", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .field("alignment", &self.alignment)
            .field("data_offset", &self.data_offset)
            .field("file_bytes", &self.storage.bytes().len())
            .finish()
    }
}

impl GgufFile {
    /// Opens and memory-maps the GGUF file at `path`, then parses and validates its header.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile, GgufError> {
        let path = path.as_ref();
        let io_err = |source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len == 0 {
            // Mapping an empty file fails on some platforms; report it as what it is.
            return Self::from_storage(Storage::Owned(Vec::new()));
        }
        // SAFETY: the map is read-only and private to this value. Like every memory map, it is
        // only sound while no other process truncates or rewrites the file; GGUF model files are
        // not modified in place while being read, and the alternative (reading gigabytes into
        // memory) would defeat the purpose of the format.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
        Self::from_storage(Storage::Mapped(map))
    }

    /// Parses a GGUF file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile, GgufError> {
        Self::from_storage(Storage::Owned(bytes))
    }

    /// Parses a copy of `bytes` (convenient for tests and fuzzing).
    pub fn parse(bytes: &[u8]) -> Result<GgufFile, GgufError> {
        Self::from_bytes(bytes.to_vec())
    }

    fn from_storage(storage: Storage) -> Result<GgufFile, GgufError> {
        let Header {
            version,
            metadata,
            metadata_index,
            tensors,
            tensor_index,
            alignment,
            data_offset,
        } = parse_header(storage.bytes())?;
        Ok(GgufFile {
            version,
            metadata,
            metadata_index,
            tensors,
            tensor_index,
            alignment,
            data_offset,
            storage,
        })
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// All metadata entries, in file order.
    pub fn metadata(&self) -> &[(String, MetaValue)] {
        &self.metadata
    }

    /// The value of metadata key `key`, if present.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        let &i = self.metadata_index.get(key)?;
        self.metadata.get(i).map(|(_, v)| v)
    }

    fn require(&self, key: &str) -> Result<&MetaValue, GgufError> {
        self.get(key).ok_or_else(|| GgufError::MissingKey {
            key: key.to_owned(),
        })
    }

    fn wrong_type(key: &str, expected: &'static str, found: &MetaValue) -> GgufError {
        GgufError::WrongType {
            key: key.to_owned(),
            expected,
            found: found.describe_type(),
        }
    }

    fn get_integer<T: TryFrom<i128>>(
        &self,
        key: &str,
        target: &'static str,
    ) -> Result<T, GgufError> {
        let value = self.require(key)?;
        let wide = value
            .as_i128()
            .ok_or_else(|| Self::wrong_type(key, "an integer", value))?;
        T::try_from(wide).map_err(|_| GgufError::OutOfRange {
            key: key.to_owned(),
            value: wide.to_string(),
            target,
        })
    }

    /// An integer metadata value of any integer type that fits in `u32`.
    pub fn get_u32(&self, key: &str) -> Result<u32, GgufError> {
        self.get_integer(key, "u32")
    }

    /// An integer metadata value of any integer type that fits in `u64`.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.get_integer(key, "u64")
    }

    /// An integer metadata value of any integer type that fits in `i64`.
    pub fn get_i64(&self, key: &str) -> Result<i64, GgufError> {
        self.get_integer(key, "i64")
    }

    /// A floating-point metadata value (`f32`, or `f64` rounded to `f32`).
    pub fn get_f32(&self, key: &str) -> Result<f32, GgufError> {
        match self.require(key)? {
            MetaValue::F32(v) => Ok(*v),
            MetaValue::F64(v) => Ok(*v as f32),
            other => Err(Self::wrong_type(key, "a float", other)),
        }
    }

    /// A boolean metadata value.
    pub fn get_bool(&self, key: &str) -> Result<bool, GgufError> {
        match self.require(key)? {
            MetaValue::Bool(v) => Ok(*v),
            other => Err(Self::wrong_type(key, "a bool", other)),
        }
    }

    /// A string metadata value.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        let value = self.require(key)?;
        value
            .as_str()
            .ok_or_else(|| Self::wrong_type(key, "a string", value))
    }

    /// The elements of an array metadata value.
    pub fn get_array(&self, key: &str) -> Result<&[MetaValue], GgufError> {
        let value = self.require(key)?;
        value
            .as_array()
            .ok_or_else(|| Self::wrong_type(key, "an array", value))
    }

    /// An array of strings (such as `tokenizer.ggml.tokens`).
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>, GgufError> {
        self.get_array(key)?
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| Self::wrong_element(key, "an array of strings", v))
            })
            .collect()
    }

    /// An array of integers that all fit in `i64` (such as `tokenizer.ggml.token_type`).
    pub fn get_i64_array(&self, key: &str) -> Result<Vec<i64>, GgufError> {
        self.get_array(key)?
            .iter()
            .map(|v| {
                let wide = v
                    .as_i128()
                    .ok_or_else(|| Self::wrong_element(key, "an array of integers", v))?;
                i64::try_from(wide).map_err(|_| GgufError::OutOfRange {
                    key: key.to_owned(),
                    value: wide.to_string(),
                    target: "i64",
                })
            })
            .collect()
    }

    fn wrong_element(key: &str, expected: &'static str, element: &MetaValue) -> GgufError {
        GgufError::WrongType {
            key: key.to_owned(),
            expected,
            found: format!("an array with a {} element", element.type_name()),
        }
    }

    /// `general.architecture`, such as `gpt2`.
    pub fn architecture(&self) -> Result<&str, GgufError> {
        self.get_str("general.architecture")
    }

    /// The alignment of tensor data (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute offset of the tensor data section.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor named `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        let &i = self.tensor_index.get(name)?;
        self.tensors.get(i)
    }

    /// The raw bytes of tensor `t`. For a `TensorInfo` of this file the range was validated at
    /// parse time; for a foreign one whose range lies outside this file, the slice is empty.
    pub fn tensor_bytes(&self, t: &TensorInfo) -> &[u8] {
        let bytes = self.storage.bytes();
        let range = usize::try_from(t.offset)
            .ok()
            .zip(usize::try_from(t.n_bytes).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?));
        range.and_then(|r| bytes.get(r)).unwrap_or(&[])
    }

    /// The tensor named `name` converted to `f32`, in ggml order (`dims[0]` fastest).
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>, GgufError> {
        let t = self.tensor(name).ok_or_else(|| GgufError::TensorNotFound {
            name: name.to_owned(),
        })?;
        let n = usize::try_from(t.n_elements()).map_err(|_| GgufError::TooLargeForPlatform {
            what: "tensor element count",
            value: t.n_elements(),
        })?;
        dequantize(t.ggml_type, self.tensor_bytes(t), n)
    }

    /// The whole file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// SHA-256 of the whole file, as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        let digest = Sha256::digest(self.storage.bytes());
        digest
            .iter()
            .fold(String::with_capacity(64), |mut s, byte| {
                use std::fmt::Write as _;
                let _ = write!(s, "{byte:02x}");
                s
            })
    }
}
