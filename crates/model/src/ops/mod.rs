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
pub mod softmax;

use crate::tensor::{IntTensor, WeightTensor};

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

/// Every op kind of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Row gather by public ids.
    Embedding(embedding::Embedding),
    /// Activation × committed weight matrix (+ bias).
    MatMul(matmul::MatMul),
    /// Activation × activation, per head.
    BatchedMatMul(batched_matmul::BatchedMatMul),
    /// Elementwise sum.
    Add(add::Add),
    /// Rounded shift.
    Rescale(rescale::Rescale),
    /// Saturation into `[lo, hi]`.
    Clamp(clamp::Clamp),
    /// LayerNorm with integer statistics.
    LayerNorm(layernorm::LayerNorm),
    /// GELU by table.
    Gelu(gelu::Gelu),
    /// Causal softmax by exp table and exact division.
    Softmax(softmax::CausalSoftmax),
    /// Column slice of a matrix.
    SliceCols(slice::SliceCols),
    /// `[T, H·d] → [H, T, d]`.
    SplitHeads(heads::SplitHeads),
    /// `[H, T, d] → [T, H·d]`.
    MergeHeads(heads::MergeHeads),
    /// Concatenation along the sequence axis of `[H, T, d]` (KV cache only).
    ConcatSeq(concat::ConcatSeq),
    /// Index of each row's maximum.
    Argmax(argmax::Argmax),
    /// RMSNorm with integer statistics (Llama).
    RmsNorm(rmsnorm::RmsNorm),
    /// Rotary position embedding, llama.cpp's adjacent pairs.
    Rope(rope::Rope),
    /// Element-wise product of two activations.
    Mul(mul::Mul),
    /// SiLU by table.
    Silu(silu::Silu),
    /// GQA: each KV head serves `group` query heads.
    RepeatKv(repeat_kv::RepeatKv),
}

impl Op {
    /// The op as a trait object.
    pub fn as_int_op(&self) -> &dyn IntOp {
        match self {
            Op::Embedding(o) => o,
            Op::MatMul(o) => o,
            Op::BatchedMatMul(o) => o,
            Op::Add(o) => o,
            Op::Rescale(o) => o,
            Op::Clamp(o) => o,
            Op::LayerNorm(o) => o,
            Op::Gelu(o) => o,
            Op::Softmax(o) => o,
            Op::SliceCols(o) => o,
            Op::SplitHeads(o) => o,
            Op::MergeHeads(o) => o,
            Op::ConcatSeq(o) => o,
            Op::Argmax(o) => o,
            Op::RmsNorm(o) => o,
            Op::Rope(o) => o,
            Op::Mul(o) => o,
            Op::Silu(o) => o,
            Op::RepeatKv(o) => o,
        }
    }
}

/// Evaluates `op` on `inputs` (the integer semantics documented in the op's module).
pub fn eval_int(op: &Op, inputs: &[Operand<'_>]) -> Result<IntTensor, OpError> {
    op.as_int_op().eval_int(inputs)
}

// ---- helpers shared by the op modules ----

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
