//! Integer tensors: activations ([`IntTensor`], `i64`) and committed weights ([`WeightTensor`],
//! `i16` matrices or `i64` vectors, so GPT-2 small's 124M weights take 250 MB, not 1 GB).
//!
//! Every tensor is row-major: the last axis is contiguous. A fixed-point value `v` with `f`
//! fractional bits stands for the real number `v · 2^-f`.

/// A dense row-major tensor of signed integers (activations and public inputs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntTensor {
    /// Extent of every axis, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major.
    pub data: Vec<i64>,
}

impl IntTensor {
    /// Wraps `data`; `None` if its length is not the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<i64>) -> Option<Self> {
        (shape.iter().product::<usize>() == data.len()).then_some(Self { shape, data })
    }

    /// An all-zero tensor.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Self { shape, data: vec![0; n] }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True if the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Smallest `b` with `|v| < 2^b` for every element (0 for an all-zero tensor).
    pub fn max_bits(&self) -> u32 {
        bits_of(self.data.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0))
    }

    /// The real values `v · 2^-frac_bits`.
    pub fn dequantize(&self, frac_bits: i32) -> Vec<f32> {
        let scale = (-(frac_bits as f64)).exp2();
        self.data.iter().map(|&v| (v as f64 * scale) as f32).collect()
    }
}

/// Smallest `b` with `m < 2^b`.
pub fn bits_of(m: u64) -> u32 {
    64 - m.leading_zeros()
}

/// Storage of a weight tensor's integers.
#[derive(Clone, PartialEq, Eq)]
pub enum WeightValues {
    /// Matrices: `|w| ≤ 2^15 − 1`.
    I16(Vec<i16>),
    /// Vectors and tables (biases, LayerNorm parameters, position embeddings).
    I64(Vec<i64>),
}

impl std::fmt::Debug for WeightValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::I16(v) => write!(f, "I16[{} values]", v.len()),
            Self::I64(v) => write!(f, "I64[{} values]", v.len()),
        }
    }
}

/// A committed weight tensor: integers and the fixed-point position chosen at setup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightTensor {
    /// Extent of every axis, outermost first (a matrix is `[out, in]`).
    pub shape: Vec<usize>,
    /// Fractional bits: the integer `w` stands for `w · 2^-frac_bits`.
    pub frac_bits: i32,
    /// The integers, row-major.
    pub values: WeightValues,
}

impl WeightTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.values {
            WeightValues::I16(v) => v.len(),
            WeightValues::I64(v) => v.len(),
        }
    }

    /// True if the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` (row-major), `None` out of range.
    pub fn get(&self, i: usize) -> Option<i64> {
        match &self.values {
            WeightValues::I16(v) => v.get(i).map(|&x| x as i64),
            WeightValues::I64(v) => v.get(i).copied(),
        }
    }

    /// All elements widened to `i64`.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &self.values {
            WeightValues::I16(v) => v.iter().map(|&x| x as i64).collect(),
            WeightValues::I64(v) => v.clone(),
        }
    }

    /// Smallest `b` with `|w| < 2^b` for every element.
    pub fn max_bits(&self) -> u32 {
        let m = match &self.values {
            WeightValues::I16(v) => v.iter().map(|x| x.unsigned_abs() as u64).max(),
            WeightValues::I64(v) => v.iter().map(|x| x.unsigned_abs()).max(),
        };
        bits_of(m.unwrap_or(0))
    }
}
