//! Reader for GGUF files, the model format of llama.cpp/ggml, and dequantization of ggml tensor
//! types to `f32`.
//!
//! # The format (versions 2 and 3, little-endian)
//!
//! ```text
//! magic "GGUF" | version: u32 | tensor_count: u64 | metadata_count: u64
//! metadata_count × ( key: string | value_type: u32 | value )
//! tensor_count   × ( name: string | n_dims: u32 | dims: u64 × n_dims | ggml_type: u32 | offset: u64 )
//! padding to a multiple of `general.alignment` (default 32)
//! tensor data: each tensor at `data_start + offset`, offsets multiples of the alignment
//! ```
//!
//! A `string` is a u64 byte length followed by UTF-8 bytes. A value is one of 13 types: integers
//! of 8 to 64 bits, f32, f64, bool (one byte), string, or an array (`elem_type: u32`,
//! `count: u64`, then `count` values of that type — arrays may nest). Dimensions are listed
//! innermost first (`dims[0]` is contiguous). A tensor of a block type (see [`GgmlType`]) with
//! `n` elements occupies `n / block_size × type_size` bytes; `dims[0]` must be a multiple of
//! the block size. Version 1 used 32-bit counts and is not supported.
//!
//! # Robustness
//!
//! The parser treats the file as hostile: every count and length is checked against the bytes
//! that remain before anything is allocated, shapes are checked for overflow, tensor ranges and
//! alignment are checked against the data section, and every failure is a [`GgufError`] naming
//! the problem — never a panic.
//!
//! ```no_run
//! # fn main() -> Result<(), zkinfer_gguf::GgufError> {
//! let file = zkinfer_gguf::GgufFile::open("model.gguf")?;
//! let n_layer = file.get_u32("gpt2.block_count")?;
//! let wte = file.dequantize("token_embd.weight")?;
//! # let _ = (n_layer, wte); Ok(()) }
//! ```

mod dequant;
mod error;
mod file;
mod parse;
mod types;

pub use dequant::{dequantize, dequantize_into};
pub use error::GgufError;
pub use file::GgufFile;
pub use parse::{DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_ARRAY_NESTING, MAX_DIMS};
pub use types::{GgmlType, MetaValue, TensorInfo};
