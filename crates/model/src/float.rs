//! The float reference: the integer graph interpreted with float semantics per op, on the
//! unquantized weights.
//!
//! Every architecture's float reference is this one interpreter running the graph its builder
//! makes (there is no hand-written float forward pass to drift from the proven one). A tensor
//! holds the *real* values its integer counterpart approximates (`v · 2^-frac_bits`); each op
//! computes the real function its integer relation approximates:
//!
//! * `MatMul`, `BatchedMatMul`, `Add`, `Mul`, `Embedding`: the same arithmetic in `f32`;
//! * `Rescale { shift }`: multiplication by `2^(f_in − f_out − shift)` — exactly 1 for a pure
//!   change of fixed-point position, and the attention's `1/sqrt(d)` where the builder folds it
//!   into a shift (powers of two, so exact);
//! * `Clamp`: the identity (the clamps bound the integer model's ranges; the reference is the
//!   unclamped function);
//! * `LayerNorm`, `RmsNorm`: the textbook formulas with the architecture's real epsilon
//!   ([`FloatSemantics`], chosen by the gain's name; the integer op holds it rounded to its scale);
//! * `Gelu` (tanh form), `Silu`, `SoftCap` (`c·tanh(x/c)`), `CausalSoftmax` (rows attend to keys `≤ offset + row`), `Rope`
//!   (angles in `f64`, llama.cpp's adjacent pairs): the functions their tables tabulate;
//! * `GatherRows`: the selected rows (the row indices are a public input, exact small floats);
//! * `SliceCols`, `SplitHeads`, `MergeHeads`, `ConcatSeq`, `RepeatKv`: pure data movement — the
//!   integer op's own evaluation applied to the `f32` bit patterns, so there is one definition of
//!   each layout;
//! * `Argmax`: the smallest index of each row's maximum.
//!
//! This is the yardstick for the integer model (and is checked against Hugging Face transformers
//! and llama.cpp logits); nothing here is proven. Every position's arithmetic is independent of how
//! the sequence is batched, so cached and uncached runs agree bit for bit.

use crate::graph::{Graph, GraphError, TensorId, TensorSource};
use crate::ops::{IntOp, Op, OpError, Operand};
use crate::tensor::IntTensor;
use crate::ModelError;
use rayon::prelude::*;
use std::collections::HashMap;

/// What the float semantics need beyond the graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloatSemantics {
    /// The real epsilon of every norm (but see `post_norm_eps`).
    pub norm_eps: f32,
    /// The epsilon of the norms that do not read the residual stream when it differs from
    /// `norm_eps`: gains whose name contains `post_` (Gemma 2/3's post-norms) or ends in
    /// `attn_q_norm.weight`/`attn_k_norm.weight` (Gemma 3's QK-norms). Their inputs are branch
    /// values at their real scale, while the other norms read the residual stream that
    /// `crate::gemma` keeps at `1/sqrt(D)`.
    pub post_norm_eps: Option<f32>,
}

impl FloatSemantics {
    /// One epsilon for every norm.
    pub fn eps(norm_eps: f32) -> Self {
        Self { norm_eps, post_norm_eps: None }
    }

    /// The epsilon of the norm whose gain is `gain`.
    pub fn eps_for(&self, gain: &str) -> f32 {
        match self.post_norm_eps {
            Some(e) if gain.contains("post_") || gain.ends_with("attn_q_norm.weight") || gain.ends_with("attn_k_norm.weight") => e,
            _ => self.norm_eps,
        }
    }
}

/// A float tensor: shape (outermost first) and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    /// Extent of every axis.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

/// The real values of a model's weights, by name (see [`crate::Architecture::float_weights`]).
#[derive(Debug, Clone, Default)]
pub struct FloatWeights {
    tensors: HashMap<String, Vec<f32>>,
}

impl FloatWeights {
    /// Takes ownership of the named tensors (loading never holds two float copies).
    pub fn new(tensors: Vec<crate::arch::NamedTensor>) -> Self {
        Self { tensors: tensors.into_iter().map(|(n, _, v)| (n, v)).collect() }
    }
    /// The values of `name`.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.tensors.get(name).map(Vec::as_slice)
    }
}

/// Cached tensors of a float KV-cache step (see [`crate::Architecture::cached_tensors`]).
#[derive(Debug, Clone, Default)]
pub struct FloatCache {
    pub(crate) kv: Vec<FloatTensor>,
    pub(crate) len: usize,
}

impl FloatCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `y[t, n] = Σ_k x[t, k]·w[n, k] + b[n]`.
pub(crate) fn linear(x: &[f32], k: usize, w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let t = x.len() / k;
    let n = w.len() / k;
    let mut out_t = vec![0f32; n * t];
    out_t.par_chunks_mut(16 * t.max(1)).enumerate().for_each(|(task, chunk)| {
        for (jj, row) in chunk.chunks_mut(t).enumerate() {
            let j = task * 16 + jj;
            let wr = &w[j * k..(j + 1) * k];
            for (ti, o) in row.iter_mut().enumerate() {
                let xr = &x[ti * k..(ti + 1) * k];
                let mut acc = [0f32; 8];
                for (xs, ws) in xr.chunks(8).zip(wr.chunks(8)) {
                    for i in 0..xs.len() {
                        acc[i] += xs[i] * ws[i];
                    }
                }
                *o = acc.iter().sum::<f32>() + b.map_or(0.0, |b| b[j]);
            }
        }
    });
    let mut out = vec![0f32; n * t];
    for j in 0..n {
        for ti in 0..t {
            out[ti * n + j] = out_t[j * t + ti];
        }
    }
    out
}

fn gelu(v: f32) -> f32 {
    let c = (2.0f32 / std::f32::consts::PI).sqrt();
    0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
}

fn silu(v: f32) -> f32 {
    v / (1.0 + (-v).exp())
}

/// Smallest index of the maximum (NaN never wins).
pub fn argmax_f32(row: &[f32]) -> u32 {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best as u32
}

/// One operand: an activation or a weight's values (with the graph's shape).
#[derive(Clone, Copy)]
enum Arg<'a> {
    Act(&'a FloatTensor),
    Weight(&'a [f32], &'a [usize]),
}

impl<'a> Arg<'a> {
    fn shape(&self) -> &'a [usize] {
        match self {
            Arg::Act(t) => &t.shape,
            Arg::Weight(_, s) => s,
        }
    }
    fn data(&self) -> &'a [f32] {
        match self {
            Arg::Act(t) => &t.data,
            Arg::Weight(d, _) => d,
        }
    }
}

fn op_err(op: &dyn IntOp, msg: String) -> OpError {
    OpError::Range { op: op.name(), msg }
}

/// A layout op on floats: the integer op's evaluation on the bit patterns.
fn move_bits(op: &dyn IntOp, args: &[Arg<'_>], shape: Vec<usize>) -> Result<FloatTensor, OpError> {
    let ints: Vec<IntTensor> =
        args.iter().map(|a| IntTensor { shape: a.shape().to_vec(), data: a.data().iter().map(|v| v.to_bits() as i64).collect() }).collect();
    let operands: Vec<Operand<'_>> = ints.iter().map(Operand::Act).collect();
    let out = op.eval_int(&operands)?;
    debug_assert_eq!(out.shape, shape);
    Ok(FloatTensor { shape: out.shape, data: out.data.into_iter().map(|v| f32::from_bits(v as u32)).collect() })
}

/// Evaluates one node with float semantics (`fracs`: the operands' and the output's fractional
/// bits, for `Rescale`).
fn eval_node(op: &Op, args: &[Arg<'_>], in_frac: i32, out_frac: i32, norm_eps: f32) -> Result<FloatTensor, OpError> {
    let int_op = op.as_int_op();
    let shapes: Vec<&[usize]> = args.iter().map(|a| a.shape()).collect();
    let shape = int_op.output_shape(&shapes)?;
    let x = args.first().map(|a| a.data()).unwrap_or(&[]);
    let out = |data: Vec<f32>| Ok(FloatTensor { shape: shape.clone(), data });
    match op {
        Op::Embedding(_) => {
            let (w, ws) = (args[1].data(), args[1].shape());
            let (v, d) = (ws[0], ws[1]);
            let mut data = Vec::with_capacity(x.len() * d);
            for &id in x {
                let i = id as usize;
                if !(id >= 0.0 && i < v) {
                    return Err(op_err(int_op, format!("index {id} outside [0, {v})")));
                }
                data.extend_from_slice(&w[i * d..(i + 1) * d]);
            }
            out(data)
        }
        Op::MatMul(m) => {
            let k = shapes[0][1];
            out(linear(x, k, args[1].data(), m.has_bias.then(|| args[2].data())))
        }
        Op::BatchedMatMul(bm) => {
            let (a, b) = (x, args[1].data());
            let (h, m, k) = (shapes[0][0], shapes[0][1], shapes[0][2]);
            let n = shape[2];
            let mut data = vec![0f32; h * m * n];
            data.par_chunks_mut((m * n).max(1)).enumerate().for_each(|(head, o)| {
                let ah = &a[head * m * k..(head + 1) * m * k];
                let bh = &b[head * k * n..(head + 1) * k * n];
                for i in 0..m {
                    let arow = &ah[i * k..(i + 1) * k];
                    let orow = &mut o[i * n..(i + 1) * n];
                    if bm.transpose_b {
                        for (j, o) in orow.iter_mut().enumerate() {
                            *o = arow.iter().zip(&bh[j * k..(j + 1) * k]).map(|(x, y)| x * y).sum::<f32>();
                        }
                    } else {
                        for (kk, &av) in arow.iter().enumerate() {
                            for (o, &bv) in orow.iter_mut().zip(&bh[kk * n..(kk + 1) * n]) {
                                *o += av * bv;
                            }
                        }
                    }
                }
            });
            out(data)
        }
        Op::Add(_) => out(x.iter().zip(args[1].data()).map(|(a, b)| a + b).collect()),
        Op::Mul(_) => out(x.iter().zip(args[1].data()).map(|(a, b)| a * b).collect()),
        Op::Rescale(r) => {
            let e = in_frac - out_frac - r.shift;
            if e == 0 {
                out(x.to_vec())
            } else {
                let f = (e as f64).exp2() as f32;
                out(x.iter().map(|v| v * f).collect())
            }
        }
        Op::Clamp(_) => out(x.to_vec()),
        Op::LayerNorm(_) => {
            let (g, b) = (args[1].data(), args[2].data());
            let d = g.len();
            let mut y = Vec::with_capacity(x.len());
            for row in x.chunks(d) {
                let mean = row.iter().sum::<f32>() / d as f32;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
                let inv = 1.0 / (var + norm_eps).sqrt();
                y.extend(row.iter().enumerate().map(|(c, v)| (v - mean) * inv * g[c] + b[c]));
            }
            out(y)
        }
        Op::RmsNorm(_) => {
            let g = args[1].data();
            let d = g.len();
            let mut y = Vec::with_capacity(x.len());
            for row in x.chunks(d) {
                let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
                let inv = 1.0 / (ms + norm_eps).sqrt();
                y.extend(row.iter().zip(g).map(|(v, g)| v * inv * g));
            }
            out(y)
        }
        Op::Gelu(_) => out(x.iter().map(|&v| gelu(v)).collect()),
        Op::Silu(_) => out(x.iter().map(|&v| silu(v)).collect()),
        Op::SoftCap(c) => {
            let cap = f64::from(c.cap());
            out(x.iter().map(|&v| crate::ops::softcap::softcap_f64(f64::from(v), cap) as f32).collect())
        }
        Op::Softmax(s) => {
            let (m, n) = (shape[1], shape[2]);
            let mut data = vec![0f32; x.len()];
            for (r, (row, o)) in x.chunks(n.max(1)).zip(data.chunks_mut(n.max(1))).enumerate() {
                let len = (s.offset + r % m.max(1) + 1).min(n);
                let mx = row[..len].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = row[..len].iter().map(|v| (v - mx).exp()).collect();
                let z: f32 = e.iter().sum();
                for (o, ej) in o.iter_mut().zip(&e) {
                    *o = ej / z;
                }
            }
            out(data)
        }
        Op::Rope(rope) => {
            let pos = args[1].data();
            let (t, d) = (shape[1], shape[2]);
            if let Some(p) = pos.iter().find(|&&p| !(p >= 0.0 && (p as usize) < rope.n_ctx)) {
                return Err(op_err(int_op, format!("position {p} outside [0, {})", rope.n_ctx)));
            }
            let mut data = x.to_vec();
            for (r, row) in data.chunks_mut(d).enumerate() {
                let p = pos[r % t] as f64;
                for i in 0..rope.n_rot / 2 {
                    let a = p * rope.theta(i);
                    let (c, s) = (a.cos() as f32, a.sin() as f32);
                    let (x0, x1) = (row[2 * i], row[2 * i + 1]);
                    row[2 * i] = x0 * c - x1 * s;
                    row[2 * i + 1] = x0 * s + x1 * c;
                }
            }
            out(data)
        }
        Op::GatherRows(_) => {
            let (src, t, d) = (args[1].data(), shapes[1][0], shapes[1][1]);
            let mut data = Vec::with_capacity(x.len() * d);
            for &r in x {
                let i = r as usize;
                if !(r >= 0.0 && i < t) {
                    return Err(op_err(int_op, format!("row {r} not in [0, {t})")));
                }
                data.extend_from_slice(&src[i * d..(i + 1) * d]);
            }
            out(data)
        }
        Op::Argmax(_) => {
            let n = shapes[0][1];
            out(x.chunks(n.max(1)).map(|r| argmax_f32(r) as f32).collect())
        }
        Op::SliceCols(_) | Op::SplitHeads(_) | Op::MergeHeads(_) | Op::ConcatSeq(_) | Op::RepeatKv(_) => move_bits(int_op, args, shape),
    }
}

/// Every tensor's values from one float execution (`None`: weights, and activations freed after
/// their last use unless kept).
#[derive(Debug, Clone)]
pub struct FloatTrace {
    /// Indexed by [`TensorId`].
    pub values: Vec<Option<FloatTensor>>,
}

/// Executes `graph` with float semantics on the given public inputs (in `graph.inputs` order;
/// token ids and positions as exact small floats). Activations are freed after their last use
/// except the graph's outputs and `keep`.
pub fn execute_f32(graph: &Graph, weights: &FloatWeights, sem: &FloatSemantics, inputs: Vec<FloatTensor>, keep: &[TensorId]) -> Result<FloatTrace, ModelError> {
    if inputs.len() != graph.inputs.len() {
        return Err(GraphError::Invalid(format!("{} inputs for {} graph inputs", inputs.len(), graph.inputs.len())).into());
    }
    let mut values: Vec<Option<FloatTensor>> = vec![None; graph.tensors.len()];
    for (&id, value) in graph.inputs.iter().zip(inputs) {
        let meta = graph.meta(id);
        if value.shape != meta.shape || value.data.len() != value.shape.iter().product::<usize>() {
            return Err(GraphError::BadInput { name: meta.name.clone(), msg: format!("shape {:?}, expected {:?}", value.shape, meta.shape) }.into());
        }
        values[id.0] = Some(value);
    }
    let mut weight_refs: HashMap<usize, &[f32]> = HashMap::new();
    for (i, t) in graph.tensors.iter().enumerate() {
        if t.source == TensorSource::Weight {
            let w = weights.get(&t.name).ok_or_else(|| GraphError::Invalid(format!("missing float weight {}", t.name)))?;
            if w.len() != t.shape.iter().product::<usize>() {
                return Err(GraphError::Invalid(format!("float weight {} does not match the graph", t.name)).into());
            }
            weight_refs.insert(i, w);
        }
    }
    let mut last_use = vec![usize::MAX; graph.tensors.len()];
    for (n, node) in graph.nodes.iter().enumerate() {
        for i in &node.inputs {
            last_use[i.0] = n;
        }
    }
    for id in graph.outputs.iter().chain(keep) {
        last_use[id.0] = usize::MAX;
    }
    for (n, node) in graph.nodes.iter().enumerate() {
        let out = {
            let args: Vec<Arg<'_>> = node
                .inputs
                .iter()
                .map(|id| match weight_refs.get(&id.0) {
                    Some(w) => Ok(Arg::Weight(w, &graph.meta(*id).shape)),
                    None => values[id.0].as_ref().map(Arg::Act).ok_or_else(|| GraphError::Invalid(format!("node {n}: operand not computed"))),
                })
                .collect::<Result<_, _>>()?;
            let in_frac = node.inputs.first().map_or(0, |i| graph.meta(*i).frac_bits);
            let norm_eps = node.inputs.get(1).map_or(sem.norm_eps, |g| sem.eps_for(&graph.meta(*g).name));
            eval_node(&node.op, &args, in_frac, graph.meta(node.output).frac_bits, norm_eps)
                .map_err(|source| GraphError::Op { node: n, name: graph.meta(node.output).name.clone(), source })?
        };
        values[node.output.0] = Some(out);
        for i in &node.inputs {
            if last_use[i.0] == n && graph.meta(*i).source == TensorSource::Activation {
                values[i.0] = None;
            }
        }
    }
    Ok(FloatTrace { values })
}
