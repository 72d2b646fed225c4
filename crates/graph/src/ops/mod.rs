//! The primitive integer ops of the graph, one module each.
//!
//! Every op is a small pure function `eval_int(op, inputs) -> IntTensor` on integers only (tables
//! are built once, deterministically, at setup). Each module documents the exact relation a prover
//! must establish between inputs and output, and the bit bound `|v| < 2^bits` of its output as a
//! function of its inputs' bounds ([`IntOp::out_bits`]); the graph checks those bounds statically
//! so that no intermediate can exceed `2^62` (Goldilocks holds signed values below `2^63`).

pub mod add;
pub mod argmax;
pub mod batched_matmul;
pub mod clamp;
pub mod concat;
pub mod embedding;
pub mod gather;
pub mod gelu;
pub mod heads;
pub mod layernorm;
pub mod matmul;
pub mod mul;
pub mod repeat_kv;
pub mod rescale;
pub mod rmsnorm;
pub mod rope;
pub mod silu;
pub mod slice;
pub mod softcap;
pub mod softmax;
pub mod table_fn;

use crate::codec::{DecodeError, Reader, Writer};
use crate::tensor::{IntTensor, WeightTensor};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest bit bound any tensor or intermediate product may have (`|v| < 2^62`).
pub const MAX_BITS: u32 = 62;

/// Errors evaluating or type-checking an op.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// Wrong number or kind of operands.
    #[error("{op}: {msg}")]
    Operands {
        /// The op's name.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// Operand shapes do not fit the op.
    #[error("{op}: shape mismatch: {msg}")]
    Shape {
        /// The op's name.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// An input value lies outside the op's documented domain (e.g. a token id ≥ vocabulary).
    #[error("{op}: value out of range: {msg}")]
    Range {
        /// The op's name.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
}

/// One operand of an op: an activation (or public input) or a committed weight.
#[derive(Debug, Clone, Copy)]
pub enum Operand<'a> {
    /// An activation or public input.
    Act(&'a IntTensor),
    /// A committed weight tensor.
    Weight(&'a WeightTensor),
}

impl<'a> Operand<'a> {
    /// The shape of the operand.
    pub fn shape(&self) -> &'a [usize] {
        match self {
            Operand::Act(t) => &t.shape,
            Operand::Weight(w) => &w.shape,
        }
    }
}

/// What kind of tensor an operand slot accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// An activation or a public graph input.
    Act,
    /// A committed weight.
    Weight,
}

/// The interface every op implements.
pub trait IntOp {
    /// Short name, used in errors and by the prover's registry.
    fn name(&self) -> &'static str;
    /// The kind of each operand slot, in order.
    fn slots(&self) -> Vec<SlotKind>;
    /// The output shape for the given input shapes, or why they do not fit.
    fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>, OpError>;
    /// A bound `b` with `|y| < 2^b` for every output element, given bounds on the inputs; errors if
    /// the inputs' bounds are outside the op's domain or any intermediate could reach `2^62`.
    fn out_bits(&self, in_shapes: &[&[usize]], in_bits: &[u32]) -> Result<u32, OpError>;
    /// The exact integer semantics.
    fn eval_int(&self, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError>;
}

/// The op registry: one line per op kind — its stable tag in key files, its variant and its type.
/// Everything that dispatches on the kind (`as_int_op`, the key codec) is generated from it.
macro_rules! op_registry {
    ($( $(#[$doc:meta])* $tag:literal => $variant:ident($ty:ty), )*) => {
        /// Every op kind of the graph.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Op {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Op {
            /// The op as a trait object.
            pub fn as_int_op(&self) -> &dyn IntOp {
                match self {
                    $( Op::$variant(o) => o, )*
                }
            }

            /// The op kind's stable tag in key files.
            pub fn tag(&self) -> u8 {
                match self {
                    $( Op::$variant(_) => $tag, )*
                }
            }

            /// Writes the tag and the parameters (see [`OpParams`]).
            pub fn encode(&self, w: &mut Writer) {
                w.u8(self.tag());
                match self {
                    $( Op::$variant(o) => o.encode_params(w), )*
                }
            }

            /// Reads what [`Op::encode`] wrote, rejecting unknown tags and out-of-range
            /// parameters; tables are rebuilt from their descriptors (shared through `tables`).
            pub fn decode(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Op, DecodeError> {
                match r.u8("op tag")? {
                    $( $tag => Ok(Op::$variant(<$ty as OpParams>::decode_params(r, tables)?)), )*
                    t => Err(DecodeError::Invalid { what: "op tag", why: format!("unknown op kind {t}") }),
                }
            }
        }
    };
}

op_registry! {
    /// Row gather by public ids.
    0 => Embedding(embedding::Embedding),
    /// Activation × committed weight matrix (+ bias).
    1 => MatMul(matmul::MatMul),
    /// Activation × activation, per head.
    2 => BatchedMatMul(batched_matmul::BatchedMatMul),
    /// Elementwise sum.
    3 => Add(add::Add),
    /// Rounded shift.
    4 => Rescale(rescale::Rescale),
    /// Saturation into `[lo, hi]`.
    5 => Clamp(clamp::Clamp),
    /// LayerNorm with integer statistics.
    6 => LayerNorm(layernorm::LayerNorm),
    /// GELU by table.
    7 => Gelu(gelu::Gelu),
    /// Causal softmax by exp table and exact division.
    8 => Softmax(softmax::CausalSoftmax),
    /// Column slice of a matrix.
    9 => SliceCols(slice::SliceCols),
    /// `[T, H·d] → [H, T, d]`.
    10 => SplitHeads(heads::SplitHeads),
    /// `[H, T, d] → [T, H·d]`.
    11 => MergeHeads(heads::MergeHeads),
    /// Concatenation along the sequence axis of `[H, T, d]` (KV cache only).
    12 => ConcatSeq(concat::ConcatSeq),
    /// Index of each row's maximum.
    13 => Argmax(argmax::Argmax),
    /// RMSNorm with integer statistics (Llama).
    14 => RmsNorm(rmsnorm::RmsNorm),
    /// Rotary position embedding, llama.cpp's adjacent pairs.
    15 => Rope(rope::Rope),
    /// Element-wise product of two activations.
    16 => Mul(mul::Mul),
    /// SiLU by table.
    17 => Silu(silu::Silu),
    /// GQA: each KV head serves `group` query heads.
    18 => RepeatKv(repeat_kv::RepeatKv),
    /// Rows of an activation by public indices (the positions whose prediction is proven).
    19 => GatherRows(gather::GatherRows),
    /// `c·tanh(x/c)` by table (Gemma 2's attention-logit soft-capping).
    20 => SoftCap(softcap::SoftCap),
}

/// Largest size parameter (a column offset, a head count) and largest tensor extent a key may
/// declare; products of two such sizes stay far below `2^64`.
pub const MAX_DIM: usize = 1 << 30;

/// An op's parameters in key files: fixed-width little-endian fields, checked on decoding (each
/// op module documents its fields). Table-driven ops store the table's descriptor (its
/// fixed-point parameters), never the table: the decoder rebuilds it with the op's own builder.
pub trait OpParams: Sized {
    /// Writes the parameters.
    fn encode_params(&self, w: &mut Writer);
    /// Reads the parameters.
    fn decode_params(r: &mut Reader<'_>, tables: &mut TableCache) -> Result<Self, DecodeError>;
}

macro_rules! no_params {
    ($($ty:path),*) => {$(
        impl OpParams for $ty {
            fn encode_params(&self, _w: &mut Writer) {}
            fn decode_params(_r: &mut Reader<'_>, _tables: &mut TableCache) -> Result<Self, DecodeError> {
                Ok($ty)
            }
        }
    )*};
}
no_params!(embedding::Embedding, gather::GatherRows, add::Add, heads::MergeHeads, concat::ConcatSeq, argmax::Argmax, mul::Mul);

/// Most table entries (summed over the distinct tables) decoding one key may build: `2^23`
/// (64 MiB of `i64`). Honest graphs build at most one exp, one GELU or SiLU and one RoPE table
/// (`≤ 2^22 + 2^17` entries); without a cap, a hostile key of a few hundred kilobytes could list
/// thousands of nodes with distinct descriptors (a RoPE table alone may have `2^22` entries) and
/// make the verifier allocate tens of gigabytes before anything else is checked.
pub const MAX_TABLE_ENTRIES: usize = 1 << 23;

/// Tables rebuilt while decoding, shared by every op with the same descriptor, within a total
/// budget of [`MAX_TABLE_ENTRIES`] entries checked *before* a table is built.
#[derive(Debug, Default)]
pub struct TableCache {
    tables: HashMap<(&'static str, Vec<u64>), Arc<[i64]>>,
    entries: usize,
}

impl TableCache {
    /// The table `kind(params)` of `len` entries, built by `build` the first time it is asked for;
    /// refused, without building it, if the distinct tables would pass [`MAX_TABLE_ENTRIES`].
    pub fn get(&mut self, kind: &'static str, params: [u64; 4], len: usize, build: impl FnOnce() -> Arc<[i64]>) -> Result<Arc<[i64]>, DecodeError> {
        self.get_keyed(kind, params.to_vec(), len, build)
    }

    /// [`Self::get`] with a descriptor of any length (RoPE's carries its frequency factors: two
    /// tables are shared only when every parameter is equal).
    pub fn get_keyed(&mut self, kind: &'static str, params: Vec<u64>, len: usize, build: impl FnOnce() -> Arc<[i64]>) -> Result<Arc<[i64]>, DecodeError> {
        let key = (kind, params);
        if let Some(t) = self.tables.get(&key) {
            return Ok(t.clone());
        }
        let total = self.entries.saturating_add(len);
        if total > MAX_TABLE_ENTRIES {
            return Err(DecodeError::Invalid {
                what: "function tables",
                why: format!("{kind} table of {len} entries after {} entries of other tables exceeds the budget of {MAX_TABLE_ENTRIES}", self.entries),
            });
        }
        let table = build();
        self.entries = self.entries.saturating_add(table.len().max(len));
        self.tables.insert(key, table.clone());
        Ok(table)
    }

    /// Entries of every table built so far.
    pub fn entries(&self) -> usize {
        self.entries
    }
}

pub(crate) fn read_bool(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(DecodeError::Invalid { what, why: format!("{v} is not a flag") }),
    }
}

pub(crate) fn read_size(r: &mut Reader<'_>, what: &'static str) -> Result<usize, DecodeError> {
    let v = r.u64(what)?;
    if v > MAX_DIM as u64 {
        return Err(DecodeError::Invalid { what, why: format!("{v} > 2^30") });
    }
    Ok(v as usize)
}

/// A fixed-point parameter (a number of fractional bits), at most [`MAX_BITS`].
pub(crate) fn read_frac(r: &mut Reader<'_>, what: &'static str) -> Result<u32, DecodeError> {
    let v = r.u32(what)?;
    if v > MAX_BITS {
        return Err(DecodeError::Invalid { what, why: format!("{v} > {MAX_BITS}") });
    }
    Ok(v)
}

/// Evaluates `op` on `inputs` (the integer semantics documented in the op's module).
pub fn eval_int(op: &Op, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
    op.as_int_op().eval_int(inputs)
}

// ---- helpers shared by the op modules ----

/// Element-wise table lookup shared by the table ops (GELU, SiLU): entry `v` reads `table[v − min]`;
/// an input outside the table is an [`OpError::Range`] naming `range` (the table's input domain).
pub(crate) fn lookup_table(op: &'static str, table: &[i64], min: i64, range: &str, x: &IntTensor) -> Result<IntTensor, OpError> {
    let data = x
        .data
        .iter()
        .map(|&v| {
            usize::try_from(v - min)
                .ok()
                .and_then(|i| table.get(i).copied())
                .ok_or_else(|| OpError::Range { op, msg: format!("input {v} outside {range}") })
        })
        .collect::<Result<_, _>>()?;
    Ok(IntTensor { shape: x.shape.clone(), data })
}

pub(crate) fn want_len(op: &'static str, n: usize, got: usize) -> Result<(), OpError> {
    if n == got {
        Ok(())
    } else {
        Err(OpError::Operands { op, msg: format!("expected {n} operands, got {got}") })
    }
}

pub(crate) fn act<'a>(op: &'static str, inputs: &[Operand<'a>], i: usize) -> Result<&'a IntTensor, OpError> {
    match inputs.get(i) {
        Some(Operand::Act(t)) => Ok(t),
        Some(Operand::Weight(_)) => Err(OpError::Operands { op, msg: format!("operand {i} must be an activation") }),
        None => Err(OpError::Operands { op, msg: format!("missing operand {i}") }),
    }
}

pub(crate) fn weight<'a>(op: &'static str, inputs: &[Operand<'a>], i: usize) -> Result<&'a WeightTensor, OpError> {
    match inputs.get(i) {
        Some(Operand::Weight(w)) => Ok(w),
        Some(Operand::Act(_)) => Err(OpError::Operands { op, msg: format!("operand {i} must be a weight") }),
        None => Err(OpError::Operands { op, msg: format!("missing operand {i}") }),
    }
}

pub(crate) fn shape_err(op: &'static str, msg: impl Into<String>) -> OpError {
    OpError::Shape { op, msg: msg.into() }
}

pub(crate) fn check_bits(op: &'static str, bits: u32) -> Result<u32, OpError> {
    if bits <= MAX_BITS {
        Ok(bits)
    } else {
        Err(OpError::Range { op, msg: format!("values may reach 2^{bits} > 2^{MAX_BITS}") })
    }
}

/// `ceil(log2(n))` (0 for n ≤ 1).
pub(crate) fn ceil_log2(n: usize) -> u32 {
    if n <= 1 { 0 } else { usize::BITS - (n - 1).leading_zeros() }
}

pub(crate) fn shapes_of<'a>(inputs: &[Operand<'a>]) -> Vec<&'a [usize]> {
    inputs.iter().map(|o| o.shape()).collect()
}
