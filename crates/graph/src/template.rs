//! Graph templates: the integer graph as data, with its sizes left symbolic.
//!
//! A model's graph depends on the request only through a few sizes — for the proven forward pass,
//! the sequence length `T`. A [`GraphTemplate`] is the graph with those sizes named by *symbols*:
//! it lists every tensor and every node exactly as [`Graph`] does, but
//!
//! * a graph input's shape is a list of [`Dim`]s, each a constant or a symbol;
//! * a weight is a reference to the weight list it is instantiated with ([`WeightMeta`]: name,
//!   shape, fixed-point position, bound — the verifying key's list);
//! * an activation declares only its name and fixed-point position: its shape and bound are
//!   *not stored*, they are recomputed by the producing op's own rules ([`IntOp::output_shape`],
//!   [`IntOp::out_bits`]) when the template is instantiated;
//! * sizes inside op parameters are fixed by the operands' shapes at instantiation: the only one
//!   today is the causal softmax's query offset, `N − M` for scores `[H, M, N]` (the queries are
//!   the last `M` of `N` positions; `0` for the full forward pass, the number of cached positions
//!   in a KV-cache step graph).
//!
//! **Instantiation** ([`GraphTemplate::instantiate`]) binds every symbol to a value inside its
//! declared range, walks the nodes in their stored order computing each output's shape and bound,
//! and validates the result ([`Graph::validate`]): nodes topologically ordered (an operand must
//! be produced before it is read, so a cycle cannot be expressed), operand kinds, shapes by the
//! ops' shape rules, every bound below `2^62` (the field's headroom: Goldilocks holds signed
//! values below `2^63`), every extent at most [`MAX_DIM`] and every tensor at most
//! [`MAX_TENSOR_ELEMS`] elements. A template is therefore never trusted for anything it derives;
//! what it fixes is the *choice* of computation (ops, parameters, wiring, scales).
//!
//! **Structure does not depend on the symbols**: one template stands for every binding. Builders
//! that insert nodes depending on static bounds (a clamp only when a bound is exceeded) must
//! produce the same structure at the smallest and the largest binding; bounds are monotone in the
//! sizes, so equal structure at both ends means equal structure everywhere
//! (`Model::graph_template` checks both ends).
//!
//! A KV-cache step graph (issue 12) is another template over symbols `T` (new positions) and `P`
//! (cached positions) with inputs `blk.N.attn_k_past: [H, P, d]`: nothing here is specific to
//! one symbol.
//!
//! # Encoding (inside the verifying key, see `docs/PROOF_FORMAT.md`)
//!
//! ```text
//! u32 symbols      ≤ 4;  each: str name, u64 min, u64 max   (1 ≤ min ≤ max ≤ 2^30)
//! u32 tensors;           each: u8 kind
//!     0 input:       str name, u32 rank ≤ 4, rank × dim, u32 frac_bits (i32), u32 bits ≤ 62
//!                    dim: u8 0 + u64 constant ≤ 2^30 | u8 1 + u32 symbol index
//!     1 weight:      u32 index into the key's weight list
//!     2 activation:  str name, u32 frac_bits (i32)
//! u32 nodes;             each: op (u8 tag + parameters, see `ops::OpParams`),
//!                        u32 operands ≤ 8, operands × u32 tensor id, u32 output tensor id
//! u32 inputs  + ids      (public inputs, in the order values are supplied)
//! u32 outputs + ids
//! ```

use crate::codec::{DecodeError, Reader, Writer};
use crate::graph::{Graph, GraphError, Node, TensorId, TensorSource, TensorMeta};
use crate::ops::{MAX_BITS, MAX_DIM, Op, SlotKind, TableCache};

/// Most symbols a template may declare.
pub const MAX_SYMBOLS: usize = 4;
/// Most axes of a tensor.
pub const MAX_RANK: usize = 4;
/// Most operands of a node.
pub const MAX_OPERANDS: usize = 8;
/// Most elements of one tensor of an instantiated graph.
pub const MAX_TENSOR_ELEMS: u64 = 1 << 40;
/// Largest `|frac_bits|` a tensor may declare.
pub const MAX_FRAC_BITS: i32 = 128;

/// One extent of a graph input's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// A fixed extent.
    Const(usize),
    /// The value bound to the template's symbol of this index.
    Sym(usize),
}

/// A size left open by a template, with the range of values it may be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Name (documentation and errors: `T` is the sequence length).
    pub name: String,
    /// Smallest value.
    pub min: usize,
    /// Largest value.
    pub max: usize,
}

/// Static description of one committed weight tensor (what a template's weight references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightMeta {
    /// GGUF name.
    pub name: String,
    /// Extent of every axis, outermost first.
    pub shape: Vec<usize>,
    /// Fixed-point position of the integers.
    pub frac_bits: i32,
    /// Magnitude bound: `|w| < 2^bits`.
    pub bits: u32,
}

/// One tensor of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorDecl {
    /// A public input with a (possibly symbolic) shape and a declared bound.
    Input {
        /// Unique name.
        name: String,
        /// Extents, outermost first.
        shape: Vec<Dim>,
        /// Fixed-point position.
        frac_bits: i32,
        /// `|v| < 2^bits` for every element (the verifier checks the public values against it).
        bits: u32,
    },
    /// The weight of this index in the weight list the template is instantiated with.
    Weight(usize),
    /// The output of exactly one node; shape and bound are derived.
    Activation {
        /// Unique name.
        name: String,
        /// Fixed-point position.
        frac_bits: i32,
    },
}

/// A graph with symbolic sizes (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphTemplate {
    /// The open sizes.
    pub symbols: Vec<Symbol>,
    /// Every tensor, in [`Graph::tensors`] order.
    pub tensors: Vec<TensorDecl>,
    /// Nodes in topological order (shapes: empty, bounds: 0 until instantiated).
    pub nodes: Vec<Node>,
    /// Public inputs, in the order values are supplied.
    pub inputs: Vec<TensorId>,
    /// Outputs.
    pub outputs: Vec<TensorId>,
}

fn invalid(m: String) -> GraphError {
    GraphError::Invalid(m)
}

impl GraphTemplate {
    /// The template of `graph`: `input_shapes` gives the symbolic shape of each graph input (in
    /// `graph.inputs` order), `weights` the list its weights are referenced in (every weight of
    /// the graph must be there with the same shape, scale and bound).
    pub fn from_graph(graph: &Graph, symbols: Vec<Symbol>, input_shapes: &[Vec<Dim>], weights: &[WeightMeta]) -> Result<Self, GraphError> {
        if input_shapes.len() != graph.inputs.len() {
            return Err(invalid(format!("{} symbolic shapes for {} inputs", input_shapes.len(), graph.inputs.len())));
        }
        let mut tensors = Vec::with_capacity(graph.tensors.len());
        for (i, t) in graph.tensors.iter().enumerate() {
            tensors.push(match t.source {
                TensorSource::Input => {
                    let k = graph.inputs.iter().position(|&id| id.0 == i).ok_or_else(|| invalid(format!("input {} is not listed", t.name)))?;
                    TensorDecl::Input { name: t.name.clone(), shape: input_shapes[k].clone(), frac_bits: t.frac_bits, bits: t.bits }
                }
                TensorSource::Weight => {
                    let w = weights.iter().position(|w| w.name == t.name).ok_or_else(|| invalid(format!("weight {} is not in the weight list", t.name)))?;
                    let m = &weights[w];
                    if m.shape != t.shape || m.frac_bits != t.frac_bits || m.bits != t.bits {
                        return Err(invalid(format!("weight {} differs from its entry in the weight list", t.name)));
                    }
                    TensorDecl::Weight(w)
                }
                TensorSource::Activation => TensorDecl::Activation { name: t.name.clone(), frac_bits: t.frac_bits },
            });
        }
        // Sizes inside op parameters are derived at instantiation and not encoded: the template
        // holds them at their canonical 0 (as decoding does), so a template equals its decoding.
        let nodes = graph
            .nodes
            .iter()
            .map(|n| {
                let mut n = n.clone();
                if let Op::Softmax(s) = &mut n.op {
                    s.offset = 0;
                }
                n
            })
            .collect();
        Ok(GraphTemplate { symbols, tensors, nodes, inputs: graph.inputs.clone(), outputs: graph.outputs.clone() })
    }

    /// The index of the symbol called `name`.
    pub fn symbol(&self, name: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s.name == name)
    }

    /// The graph for the given symbol values (in [`GraphTemplate::symbols`] order), derived and
    /// validated as described in the module docs. Never panics on a malformed template.
    pub fn instantiate(&self, values: &[usize], weights: &[WeightMeta]) -> Result<Graph, GraphError> {
        if values.len() != self.symbols.len() {
            return Err(invalid(format!("{} values for {} symbols", values.len(), self.symbols.len())));
        }
        for (s, &v) in self.symbols.iter().zip(values) {
            if v < s.min || v > s.max {
                return Err(invalid(format!("{} = {v} is outside [{}, {}]", s.name, s.min, s.max)));
            }
        }
        let mut tensors = Vec::with_capacity(self.tensors.len());
        for decl in &self.tensors {
            tensors.push(match decl {
                TensorDecl::Input { name, shape, frac_bits, bits } => {
                    let shape = shape
                        .iter()
                        .map(|d| match *d {
                            Dim::Const(c) => Ok(c),
                            Dim::Sym(s) => values.get(s).copied().ok_or_else(|| invalid(format!("input {name}: no symbol {s}"))),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if *bits > MAX_BITS {
                        return Err(invalid(format!("input {name}: bound 2^{bits} exceeds 2^{MAX_BITS}")));
                    }
                    TensorMeta { name: name.clone(), shape, source: TensorSource::Input, frac_bits: *frac_bits, bits: *bits }
                }
                TensorDecl::Weight(w) => {
                    let m = weights.get(*w).ok_or_else(|| invalid(format!("weight index {w} is outside the key's {} weights", weights.len())))?;
                    if m.bits > MAX_BITS {
                        return Err(invalid(format!("weight {}: bound 2^{} exceeds 2^{MAX_BITS}", m.name, m.bits)));
                    }
                    TensorMeta { name: m.name.clone(), shape: m.shape.clone(), source: TensorSource::Weight, frac_bits: m.frac_bits, bits: m.bits }
                }
                TensorDecl::Activation { name, frac_bits } => {
                    TensorMeta { name: name.clone(), shape: Vec::new(), source: TensorSource::Activation, frac_bits: *frac_bits, bits: 0 }
                }
            });
        }
        let mut produced: Vec<bool> = tensors.iter().map(|t| t.source != TensorSource::Activation).collect();
        for t in tensors.iter().filter(|t| t.source != TensorSource::Activation) {
            check_size(&t.name, &t.shape)?;
        }
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (n, node) in self.nodes.iter().enumerate() {
            let mut op = node.op.clone();
            let out = node.output.0;
            match tensors.get(out) {
                Some(t) if t.source == TensorSource::Activation && !produced[out] => {}
                _ => return Err(invalid(format!("node {n}: output {out} is not a fresh activation"))),
            }
            if node.inputs.len() > MAX_OPERANDS {
                return Err(invalid(format!("node {n}: {} operands", node.inputs.len())));
            }
            for id in &node.inputs {
                if !produced.get(id.0).copied().unwrap_or(false) {
                    return Err(invalid(format!("node {n}: operand {} is not produced before it is read", id.0)));
                }
            }
            let shapes: Vec<&[usize]> = node.inputs.iter().map(|i| tensors[i.0].shape.as_slice()).collect();
            let bits: Vec<u32> = node.inputs.iter().map(|i| tensors[i.0].bits).collect();
            if let Op::Softmax(s) = &mut op {
                // The query offset: scores [H, M, N] are the last M of N positions.
                s.offset = match shapes[..] {
                    [&[_, m, n]] if n >= m => n - m,
                    _ => return Err(invalid(format!("node {n}: softmax operand shapes {shapes:?}"))),
                };
            }
            let err = |source| GraphError::Op { node: n, name: tensors[out].name.clone(), source };
            let int_op = op.as_int_op();
            let slots = int_op.slots();
            if slots.len() != shapes.len() {
                return Err(invalid(format!("node {n} ({}): {} operands for {} slots", int_op.name(), shapes.len(), slots.len())));
            }
            for (slot, id) in slots.iter().zip(&node.inputs) {
                let is_weight = tensors[id.0].source == TensorSource::Weight;
                if is_weight != (*slot == SlotKind::Weight) {
                    return Err(invalid(format!("node {n} ({}): operand {} has the wrong kind", int_op.name(), tensors[id.0].name)));
                }
            }
            let shape = int_op.output_shape(&shapes).map_err(err)?;
            let out_bits = int_op.out_bits(&shapes, &bits).map_err(err)?;
            // Every op's rule caps its bound, but the headroom is the graph's invariant: checked here
            // once for all (a GELU table of 62 output bits saturates entries at 2^63 − 1).
            if out_bits > MAX_BITS {
                return Err(invalid(format!("node {n} ({}): output bound 2^{out_bits} exceeds 2^{MAX_BITS}", int_op.name())));
            }
            check_size(&tensors[out].name, &shape)?;
            tensors[out].shape = shape;
            tensors[out].bits = out_bits;
            produced[out] = true;
            nodes.push(Node { op, inputs: node.inputs.clone(), output: node.output });
        }
        for (k, i) in self.inputs.iter().enumerate() {
            if self.inputs[..k].contains(i) {
                return Err(invalid(format!("graph input {} is listed twice", i.0)));
            }
        }
        let graph = Graph { tensors, nodes, inputs: self.inputs.clone(), outputs: self.outputs.clone() };
        graph.validate()?;
        Ok(graph)
    }

    /// Checks the template against `weights` by instantiating it with every symbol at its
    /// smallest and at its largest value (a key is refused at decoding if either fails).
    pub fn check(&self, weights: &[WeightMeta]) -> Result<(), GraphError> {
        let lo: Vec<usize> = self.symbols.iter().map(|s| s.min).collect();
        let hi: Vec<usize> = self.symbols.iter().map(|s| s.max).collect();
        self.instantiate(&lo, weights)?;
        if hi != lo {
            self.instantiate(&hi, weights)?;
        }
        Ok(())
    }

    /// Appends the encoding (module docs).
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.symbols.len() as u32);
        for s in &self.symbols {
            w.str(&s.name);
            w.u64(s.min as u64);
            w.u64(s.max as u64);
        }
        w.u32(self.tensors.len() as u32);
        for t in &self.tensors {
            match t {
                TensorDecl::Input { name, shape, frac_bits, bits } => {
                    w.u8(0);
                    w.str(name);
                    w.u32(shape.len() as u32);
                    for d in shape {
                        match *d {
                            Dim::Const(c) => {
                                w.u8(0);
                                w.u64(c as u64);
                            }
                            Dim::Sym(s) => {
                                w.u8(1);
                                w.u32(s as u32);
                            }
                        }
                    }
                    w.u32(*frac_bits as u32);
                    w.u32(*bits);
                }
                TensorDecl::Weight(i) => {
                    w.u8(1);
                    w.u32(*i as u32);
                }
                TensorDecl::Activation { name, frac_bits } => {
                    w.u8(2);
                    w.str(name);
                    w.u32(*frac_bits as u32);
                }
            }
        }
        w.u32(self.nodes.len() as u32);
        for n in &self.nodes {
            n.op.encode(w);
            w.u32(n.inputs.len() as u32);
            for i in &n.inputs {
                w.u32(i.0 as u32);
            }
            w.u32(n.output.0 as u32);
        }
        for ids in [&self.inputs, &self.outputs] {
            w.u32(ids.len() as u32);
            for i in ids {
                w.u32(i.0 as u32);
            }
        }
    }

    /// Reads what [`GraphTemplate::encode`] wrote. Every count is checked against the bytes that
    /// remain before anything is allocated; every id against the tensor count; every scale, bound
    /// and size against its cap. (Derived properties are checked by [`GraphTemplate::check`].)
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bad = |what: &'static str, why: String| DecodeError::Invalid { what, why };
        let n_symbols = r.u32("symbol count")? as usize;
        if n_symbols > MAX_SYMBOLS {
            return Err(bad("symbol count", format!("{n_symbols} > {MAX_SYMBOLS}")));
        }
        let mut symbols = Vec::with_capacity(n_symbols);
        for _ in 0..n_symbols {
            let name = r.str("symbol name")?.to_owned();
            let (min, max) = (r.u64("symbol minimum")?, r.u64("symbol maximum")?);
            if min == 0 || min > max || max > MAX_DIM as u64 {
                return Err(bad("symbol range", format!("{name} in [{min}, {max}] (need 1 ≤ min ≤ max ≤ 2^30)")));
            }
            symbols.push(Symbol { name, min: min as usize, max: max as usize });
        }
        let frac = |r: &mut Reader<'_>, what: &'static str| -> Result<i32, DecodeError> {
            let f = r.u32(what)? as i32;
            if f.unsigned_abs() > MAX_FRAC_BITS as u32 {
                return Err(DecodeError::Invalid { what, why: format!("{f} fractional bits") });
            }
            Ok(f)
        };
        // Every tensor takes at least 5 bytes, every node at least 9.
        let n_tensors = count(r, "tensor count", 5)?;
        let mut tensors = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            tensors.push(match r.u8("tensor kind")? {
                0 => {
                    let name = r.str("input name")?.to_owned();
                    let rank = r.u32("input rank")? as usize;
                    if rank > MAX_RANK {
                        return Err(bad("input rank", format!("{rank} > {MAX_RANK}")));
                    }
                    let mut shape = Vec::with_capacity(rank);
                    for _ in 0..rank {
                        shape.push(match r.u8("dimension kind")? {
                            0 => {
                                let c = r.u64("input dimension")?;
                                if c > MAX_DIM as u64 {
                                    return Err(bad("input dimension", format!("{c} > 2^30")));
                                }
                                Dim::Const(c as usize)
                            }
                            1 => {
                                let s = r.u32("dimension symbol")? as usize;
                                if s >= n_symbols {
                                    return Err(bad("dimension symbol", format!("{s} of {n_symbols} symbols")));
                                }
                                Dim::Sym(s)
                            }
                            k => return Err(bad("dimension kind", format!("{k}"))),
                        });
                    }
                    let frac_bits = frac(r, "input fractional bits")?;
                    let bits = r.u32("input bound")?;
                    if bits > MAX_BITS {
                        return Err(bad("input bound", format!("2^{bits} exceeds the field's headroom 2^{MAX_BITS}")));
                    }
                    TensorDecl::Input { name, shape, frac_bits, bits }
                }
                1 => TensorDecl::Weight(r.u32("weight index")? as usize),
                2 => {
                    let name = r.str("activation name")?.to_owned();
                    TensorDecl::Activation { name, frac_bits: frac(r, "activation fractional bits")? }
                }
                k => return Err(bad("tensor kind", format!("{k}"))),
            });
        }
        let id = |r: &mut Reader<'_>, what: &'static str| -> Result<TensorId, DecodeError> {
            let i = r.u32(what)? as usize;
            if i >= n_tensors {
                return Err(DecodeError::Invalid { what, why: format!("tensor {i} of {n_tensors}") });
            }
            Ok(TensorId(i))
        };
        let n_nodes = count(r, "node count", 9)?;
        let mut tables = TableCache::default();
        let mut nodes = Vec::with_capacity(n_nodes);
        for _ in 0..n_nodes {
            let op = Op::decode(r, &mut tables)?;
            let n_in = r.u32("operand count")? as usize;
            if n_in > MAX_OPERANDS {
                return Err(bad("operand count", format!("{n_in} > {MAX_OPERANDS}")));
            }
            let inputs = (0..n_in).map(|_| id(r, "operand")).collect::<Result<Vec<_>, _>>()?;
            nodes.push(Node { op, inputs, output: id(r, "node output")? });
        }
        let mut lists = [Vec::new(), Vec::new()];
        for (list, what) in lists.iter_mut().zip(["graph input", "graph output"]) {
            let n = count(r, what, 4)?;
            *list = (0..n).map(|_| id(r, what)).collect::<Result<Vec<_>, _>>()?;
        }
        let [inputs, outputs] = lists;
        Ok(GraphTemplate { symbols, tensors, nodes, inputs, outputs })
    }
}

/// A `u32` count of items of at least `min_size` bytes, checked against the remaining bytes.
fn count(r: &mut Reader<'_>, what: &'static str, min_size: usize) -> Result<usize, DecodeError> {
    let n = r.u32(what)? as usize;
    if n > r.remaining() / min_size {
        return Err(DecodeError::LengthTooLarge { what, len: n as u64, remaining: r.remaining() });
    }
    Ok(n)
}

fn check_size(name: &str, shape: &[usize]) -> Result<(), GraphError> {
    if shape.len() > MAX_RANK || shape.iter().any(|&d| d > MAX_DIM) {
        return Err(invalid(format!("tensor {name}: shape {shape:?} exceeds rank {MAX_RANK} or extent 2^30")));
    }
    let elems = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).filter(|&e| e <= MAX_TENSOR_ELEMS);
    if elems.is_none() {
        return Err(invalid(format!("tensor {name}: shape {shape:?} exceeds 2^40 elements")));
    }
    Ok(())
}
