//! Metadata values and ggml tensor types.

use std::fmt;

/// One metadata value. Arrays may nest (an array of arrays), up to [`crate::MAX_ARRAY_NESTING`].
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// GGUF type 0.
    U8(u8),
    /// GGUF type 1.
    I8(i8),
    /// GGUF type 2.
    U16(u16),
    /// GGUF type 3.
    I16(i16),
    /// GGUF type 4.
    U32(u32),
    /// GGUF type 5.
    I32(i32),
    /// GGUF type 10.
    U64(u64),
    /// GGUF type 11.
    I64(i64),
    /// GGUF type 6.
    F32(f32),
    /// GGUF type 12.
    F64(f64),
    /// GGUF type 7 (one byte, 0 or 1).
    Bool(bool),
    /// GGUF type 8 (u64 length + UTF-8 bytes).
    Str(String),
    /// GGUF type 9 (u32 element type + u64 count + elements, all of the same type).
    Array(Vec<MetaValue>),
}

impl MetaValue {
    /// A short name of the value's type, such as `u32`, `string` or `array`.
    pub fn type_name(&self) -> &'static str {
        match self {
            MetaValue::U8(_) => "u8",
            MetaValue::I8(_) => "i8",
            MetaValue::U16(_) => "u16",
            MetaValue::I16(_) => "i16",
            MetaValue::U32(_) => "u32",
            MetaValue::I32(_) => "i32",
            MetaValue::U64(_) => "u64",
            MetaValue::I64(_) => "i64",
            MetaValue::F32(_) => "f32",
            MetaValue::F64(_) => "f64",
            MetaValue::Bool(_) => "bool",
            MetaValue::Str(_) => "string",
            MetaValue::Array(_) => "array",
        }
    }

    /// The value as a signed 128-bit integer, if it is an integer type (bools are not integers).
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            MetaValue::U8(v) => v.into(),
            MetaValue::I8(v) => v.into(),
            MetaValue::U16(v) => v.into(),
            MetaValue::I16(v) => v.into(),
            MetaValue::U32(v) => v.into(),
            MetaValue::I32(v) => v.into(),
            MetaValue::U64(v) => v.into(),
            MetaValue::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if the value is an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A human description of the type, naming the element type of arrays (`array<string>`).
    pub fn describe_type(&self) -> String {
        match self {
            MetaValue::Array(a) => match a.first() {
                Some(first) => format!("array<{}>[{}]", first.describe_type(), a.len()),
                None => "array[0]".to_string(),
            },
            other => other.type_name().to_string(),
        }
    }
}

impl fmt::Display for MetaValue {
    /// Scalars print as themselves, strings quoted, and arrays as their type and length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaValue::U8(v) => write!(f, "{v}"),
            MetaValue::I8(v) => write!(f, "{v}"),
            MetaValue::U16(v) => write!(f, "{v}"),
            MetaValue::I16(v) => write!(f, "{v}"),
            MetaValue::U32(v) => write!(f, "{v}"),
            MetaValue::I32(v) => write!(f, "{v}"),
            MetaValue::U64(v) => write!(f, "{v}"),
            MetaValue::I64(v) => write!(f, "{v}"),
            MetaValue::F32(v) => write!(f, "{v}"),
            MetaValue::F64(v) => write!(f, "{v}"),
            MetaValue::Bool(v) => write!(f, "{v}"),
            MetaValue::Str(s) => write!(f, "{s:?}"),
            MetaValue::Array(_) => write!(f, "{}", self.describe_type()),
        }
    }
}

macro_rules! ggml_types {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $name:literal, $block:literal, $size:literal; )*) => {
        /// A ggml tensor element type. Every type that llama.cpp currently writes is known (so that
        /// sizes and bounds can be checked); [`GgmlType::is_dequantizable`] tells which ones this
        /// crate converts to `f32`.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum GgmlType {
            $( $(#[$doc])* $variant, )*
        }

        impl GgmlType {
            /// Every known type, in id order.
            pub const ALL: &'static [GgmlType] = &[$(GgmlType::$variant,)*];

            /// The type for a ggml type id, or `None` if the id is unknown (or retired).
            pub fn from_id(id: u32) -> Option<GgmlType> {
                match id {
                    $( $id => Some(GgmlType::$variant), )*
                    _ => None,
                }
            }

            /// The ggml type id, as stored in the file.
            pub fn id(self) -> u32 {
                match self { $( GgmlType::$variant => $id, )* }
            }

            /// The ggml name, such as `Q8_0`.
            pub fn name(self) -> &'static str {
                match self { $( GgmlType::$variant => $name, )* }
            }

            /// Elements per block (1 for plain types).
            pub fn block_size(self) -> usize {
                match self { $( GgmlType::$variant => $block, )* }
            }

            /// Bytes per block.
            pub fn type_size(self) -> usize {
                match self { $( GgmlType::$variant => $size, )* }
            }
        }
    };
}

ggml_types! {
    /// IEEE binary32.
    F32 = 0, "F32", 1, 4;
    /// IEEE binary16.
    F16 = 1, "F16", 1, 2;
    /// 32 elements: f16 scale `d`, 16 bytes of 4-bit quants; `x = d·(q − 8)`.
    Q4_0 = 2, "Q4_0", 32, 18;
    /// 32 elements: f16 `d`, f16 `m`, 16 bytes of 4-bit quants; `x = d·q + m`.
    Q4_1 = 3, "Q4_1", 32, 20;
    /// 32 elements: f16 `d`, 32 high bits, 16 bytes of low nibbles; `x = d·(q − 16)`.
    Q5_0 = 6, "Q5_0", 32, 22;
    /// 32 elements: f16 `d`, f16 `m`, 32 high bits, 16 bytes of low nibbles; `x = d·q + m`.
    Q5_1 = 7, "Q5_1", 32, 24;
    /// 32 elements: f16 `d`, 32 signed bytes; `x = d·q`.
    Q8_0 = 8, "Q8_0", 32, 34;
    /// 32 elements: f16 `d`, f16 sum, 32 signed bytes (an intermediate format).
    Q8_1 = 9, "Q8_1", 32, 36;
    /// 256-element super-block of 16 sub-blocks of 2-bit quants with 4-bit scales and mins.
    Q2_K = 10, "Q2_K", 256, 84;
    /// 256-element super-block of 16 sub-blocks of 3-bit quants with 6-bit scales.
    Q3_K = 11, "Q3_K", 256, 110;
    /// 256-element super-block of 8 sub-blocks of 4-bit quants with 6-bit scales and mins.
    Q4_K = 12, "Q4_K", 256, 144;
    /// 256-element super-block of 8 sub-blocks of 5-bit quants with 6-bit scales and mins.
    Q5_K = 13, "Q5_K", 256, 176;
    /// 256-element super-block of 16 sub-blocks of 6-bit quants with 8-bit scales.
    Q6_K = 14, "Q6_K", 256, 210;
    /// 256-element super-block with an f32 scale (an intermediate format).
    Q8_K = 15, "Q8_K", 256, 292;
    /// Importance-matrix 2-bit type.
    IQ2_XXS = 16, "IQ2_XXS", 256, 66;
    /// Importance-matrix 2-bit type.
    IQ2_XS = 17, "IQ2_XS", 256, 74;
    /// Importance-matrix 3-bit type.
    IQ3_XXS = 18, "IQ3_XXS", 256, 98;
    /// Importance-matrix 1-bit type.
    IQ1_S = 19, "IQ1_S", 256, 50;
    /// Non-linear 4-bit type.
    IQ4_NL = 20, "IQ4_NL", 32, 18;
    /// Importance-matrix 3-bit type.
    IQ3_S = 21, "IQ3_S", 256, 110;
    /// Importance-matrix 2-bit type.
    IQ2_S = 22, "IQ2_S", 256, 82;
    /// Non-linear 4-bit type with super-blocks.
    IQ4_XS = 23, "IQ4_XS", 256, 136;
    /// Signed 8-bit integers.
    I8 = 24, "I8", 1, 1;
    /// Signed 16-bit integers.
    I16 = 25, "I16", 1, 2;
    /// Signed 32-bit integers.
    I32 = 26, "I32", 1, 4;
    /// Signed 64-bit integers.
    I64 = 27, "I64", 1, 8;
    /// IEEE binary64.
    F64 = 28, "F64", 1, 8;
    /// Importance-matrix 1-bit type.
    IQ1_M = 29, "IQ1_M", 256, 56;
    /// bfloat16: the top half of an f32.
    BF16 = 30, "BF16", 1, 2;
    /// Ternary type.
    TQ1_0 = 34, "TQ1_0", 256, 54;
    /// Ternary type.
    TQ2_0 = 35, "TQ2_0", 256, 66;
    /// Microscaling FP4 (e8m0 shared exponent).
    MXFP4 = 39, "MXFP4", 32, 17;
    /// NVIDIA FP4 with per-16 scales.
    NVFP4 = 40, "NVFP4", 64, 36;
    /// 1-bit type.
    Q1_0 = 41, "Q1_0", 128, 18;
}

impl GgmlType {
    /// Whether [`crate::dequantize`] converts this type to `f32`.
    pub fn is_dequantizable(self) -> bool {
        matches!(
            self,
            GgmlType::F32
                | GgmlType::F16
                | GgmlType::BF16
                | GgmlType::F64
                | GgmlType::I8
                | GgmlType::I16
                | GgmlType::I32
                | GgmlType::Q4_0
                | GgmlType::Q4_1
                | GgmlType::Q5_0
                | GgmlType::Q5_1
                | GgmlType::Q8_0
                | GgmlType::Q2_K
                | GgmlType::Q3_K
                | GgmlType::Q4_K
                | GgmlType::Q5_K
                | GgmlType::Q6_K
                | GgmlType::IQ4_NL
                | GgmlType::IQ4_XS
        )
    }

    /// Bytes occupied by `n` elements, or `None` if `n` is not a multiple of the block size or
    /// the size overflows.
    pub fn bytes_for(self, n: u64) -> Option<u64> {
        let block = self.block_size() as u64;
        if !n.is_multiple_of(block) {
            return None;
        }
        (n / block).checked_mul(self.type_size() as u64)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor's description from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor name, such as `blk.0.attn_qkv.weight`.
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the innermost (contiguous) one. A PyTorch
    /// `[rows, cols]` matrix is stored as `dims = [cols, rows]`.
    pub dims: Vec<u64>,
    /// The element type.
    pub ggml_type: GgmlType,
    /// Absolute offset of the tensor's first byte in the file.
    pub offset: u64,
    /// Size of the tensor's data in bytes.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The number of elements (the product of the dimensions; 1 for a scalar).
    ///
    /// The reader checked at parse time that this product does not overflow.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d))
    }
}
