//! The graph IR: a DAG of typed ops over named tensors.
//!
//! Tensors are graph inputs (public: token ids, positions, and — in KV-cache step graphs — the
//! cached keys/values), committed weights (values in [`Weights`]), or activations (the output of
//! exactly one node). Nodes are stored in topological order; a tensor read by several nodes
//! (residuals, the fused QKV output) is simply an input of each. Every tensor carries its shape,
//! its fixed-point position (`frac_bits`) and a static bound `bits` with `|v| < 2^bits` for every
//! element, derived from the ops' rules ([`IntOp::out_bits`]); [`Graph::validate`] recomputes
//! shapes and bounds, so a validated graph cannot overflow `2^62` anywhere.

use crate::ops::{Op, OpError, Operand, SlotKind};
#[allow(unused_imports)]
use crate::ops::IntOp;
use crate::tensor::{IntTensor, WeightTensor};
use std::collections::HashMap;

/// Index of a tensor in [`Graph::tensors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

/// Where the graph takes a tensor's values from. How a proof treats the tensor (public, weight,
/// committed, virtual, deferred) is a separate notion, `zkinfer_ops::TensorRole`, derived from
/// this and the producing op's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorSource {
    /// A public input of the graph.
    Input,
    /// A committed weight (values in [`Weights`] under the same name).
    Weight,
    /// The output of a node.
    Activation,
}

/// Static description of one tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorMeta {
    /// Unique name (weights use their GGUF name).
    pub name: String,
    /// Extent of every axis, outermost first.
    pub shape: Vec<usize>,
    /// Input, weight or activation.
    pub source: TensorSource,
    /// Fixed-point position: the integer `v` stands for `v · 2^-frac_bits`.
    pub frac_bits: i32,
    /// Static bound: `|v| < 2^bits` for every element.
    pub bits: u32,
}

/// One op application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The op.
    pub op: Op,
    /// Operands, in the op's slot order.
    pub inputs: Vec<TensorId>,
    /// The tensor this node produces.
    pub output: TensorId,
}

/// A validated DAG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Every tensor.
    pub tensors: Vec<TensorMeta>,
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// Public inputs, in the order values are supplied.
    pub inputs: Vec<TensorId>,
    /// Outputs.
    pub outputs: Vec<TensorId>,
}

/// Errors building, validating or executing a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// An op rejected its operands.
    #[error("node {node} ({name}): {source}")]
    Op {
        /// Index of the node.
        node: usize,
        /// Name of the node's output.
        name: String,
        /// The op's complaint.
        source: OpError,
    },
    /// A structural defect.
    #[error("invalid graph: {0}")]
    Invalid(String),
    /// A supplied input does not match the graph.
    #[error("input {name}: {msg}")]
    BadInput {
        /// The input's name.
        name: String,
        /// What is wrong.
        msg: String,
    },
}

impl Graph {
    /// The metadata of `id`.
    pub fn meta(&self, id: TensorId) -> &TensorMeta {
        &self.tensors[id.0]
    }

    /// The tensor called `name`.
    pub fn find(&self, name: &str) -> Option<TensorId> {
        self.tensors.iter().position(|t| t.name == name).map(TensorId)
    }

    /// Checks the graph: unique names, every activation produced by exactly one node before its
    /// use, operand kinds, shapes and bit bounds exactly as the ops compute them.
    pub fn validate(&self) -> Result<(), GraphError> {
        let invalid = |m: String| Err(GraphError::Invalid(m));
        let mut names = HashMap::new();
        for (i, t) in self.tensors.iter().enumerate() {
            if names.insert(t.name.as_str(), i).is_some() {
                return invalid(format!("duplicate tensor name {}", t.name));
            }
        }
        let mut available: Vec<bool> = self.tensors.iter().map(|t| t.source != TensorSource::Activation).collect();
        for &i in &self.inputs {
            match self.tensors.get(i.0) {
                Some(t) if t.source == TensorSource::Input => {}
                _ => return invalid(format!("graph input {i:?} is not an Input tensor")),
            }
        }
        for (i, t) in self.tensors.iter().enumerate() {
            if t.source == TensorSource::Input && !self.inputs.contains(&TensorId(i)) {
                return invalid(format!("input tensor {} is not listed as a graph input", t.name));
            }
        }
        for (n, node) in self.nodes.iter().enumerate() {
            let op = node.op.as_int_op();
            let out = self.tensors.get(node.output.0).ok_or_else(|| GraphError::Invalid(format!("node {n}: bad output id")))?;
            if out.source != TensorSource::Activation || available[node.output.0] {
                return invalid(format!("node {n}: output {} is not a fresh activation", out.name));
            }
            let slots = op.slots();
            if slots.len() != node.inputs.len() {
                return invalid(format!("node {n} ({}): {} operands for {} slots", op.name(), node.inputs.len(), slots.len()));
            }
            for (slot, id) in slots.iter().zip(&node.inputs) {
                let t = self.tensors.get(id.0).ok_or_else(|| GraphError::Invalid(format!("node {n}: bad input id")))?;
                if !available[id.0] {
                    return invalid(format!("node {n}: input {} used before it is produced", t.name));
                }
                let ok = match slot {
                    SlotKind::Weight => t.source == TensorSource::Weight,
                    SlotKind::Act => t.source != TensorSource::Weight,
                };
                if !ok {
                    return invalid(format!("node {n} ({}): operand {} has the wrong kind", op.name(), t.name));
                }
            }
            let shapes: Vec<&[usize]> = node.inputs.iter().map(|i| self.tensors[i.0].shape.as_slice()).collect();
            let bits: Vec<u32> = node.inputs.iter().map(|i| self.tensors[i.0].bits).collect();
            let op_err = |source| GraphError::Op { node: n, name: out.name.clone(), source };
            let shape = op.output_shape(&shapes).map_err(op_err)?;
            let out_bits = op.out_bits(&shapes, &bits).map_err(op_err)?;
            if out_bits > crate::ops::MAX_BITS {
                return invalid(format!("node {n} ({}): output bound 2^{out_bits} exceeds 2^{}", op.name(), crate::ops::MAX_BITS));
            }
            if shape != out.shape || out_bits != out.bits {
                return invalid(format!(
                    "node {n} ({}): output {} declared {:?}/2^{}, op gives {:?}/2^{}",
                    op.name(),
                    out.name,
                    out.shape,
                    out.bits,
                    shape,
                    out_bits
                ));
            }
            available[node.output.0] = true;
        }
        if let Some((i, _)) = available.iter().enumerate().find(|(_, a)| !**a) {
            return invalid(format!("activation {} is never produced", self.tensors[i].name));
        }
        for o in &self.outputs {
            if o.0 >= self.tensors.len() {
                return invalid(format!("bad output id {o:?}"));
            }
        }
        Ok(())
    }
}

/// The committed integer weights, by name.
#[derive(Debug, Clone, Default)]
pub struct Weights {
    tensors: HashMap<String, (WeightTensor, u32)>,
}

impl Weights {
    /// Adds (or replaces) a tensor; its bound is computed once, here.
    pub fn insert(&mut self, name: impl Into<String>, t: WeightTensor) {
        let bits = t.max_bits();
        self.tensors.insert(name.into(), (t, bits));
    }
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&WeightTensor> {
        self.tensors.get(name).map(|e| &e.0)
    }
    /// The bound `b` with `|w| < 2^b` of the tensor called `name`.
    pub fn bits(&self, name: &str) -> Option<u32> {
        self.tensors.get(name).map(|e| e.1)
    }
    /// Every tensor, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &WeightTensor)> {
        let mut v: Vec<_> = self.tensors.iter().map(|(k, t)| (k.as_str(), &t.0)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v.into_iter()
    }
    /// Every tensor's description (name, shape, scale, bound), sorted by name: the order weights
    /// are committed in and graph templates reference them by.
    pub fn metas(&self) -> Vec<crate::template::WeightMeta> {
        self.iter()
            .map(|(name, t)| crate::template::WeightMeta {
                name: name.to_owned(),
                shape: t.shape.clone(),
                frac_bits: t.frac_bits,
                bits: self.bits(name).unwrap_or_else(|| t.max_bits()),
            })
            .collect()
    }
    /// Total number of weight elements.
    pub fn total_len(&self) -> usize {
        self.tensors.values().map(|t| t.0.len()).sum()
    }
}

/// Builds a graph node by node, computing each output's shape and bound from its op.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: Graph,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, meta: TensorMeta) -> TensorId {
        self.graph.tensors.push(meta);
        TensorId(self.graph.tensors.len() - 1)
    }

    /// Declares a public input.
    pub fn input(&mut self, name: impl Into<String>, shape: Vec<usize>, frac_bits: i32, bits: u32) -> TensorId {
        let id = self.push(TensorMeta { name: name.into(), shape, source: TensorSource::Input, frac_bits, bits });
        self.graph.inputs.push(id);
        id
    }

    /// Declares a committed weight (its bound is taken from its values).
    pub fn weight(&mut self, name: impl Into<String>, w: &WeightTensor) -> TensorId {
        self.weight_with_bits(name, w, w.max_bits())
    }

    /// Declares a committed weight whose bound `bits` (`|w| < 2^bits`) is already known.
    pub fn weight_with_bits(&mut self, name: impl Into<String>, w: &WeightTensor, bits: u32) -> TensorId {
        let name = name.into();
        if let Some(id) = self.graph.find(&name) {
            return id;
        }
        self.push(TensorMeta { name, shape: w.shape.clone(), source: TensorSource::Weight, frac_bits: w.frac_bits, bits })
    }

    /// The metadata of `id`.
    pub fn meta(&self, id: TensorId) -> &TensorMeta {
        &self.graph.tensors[id.0]
    }

    /// Appends a node computing `op(inputs)` into a new activation `name` with `frac_bits`.
    pub fn node(&mut self, op: Op, inputs: &[TensorId], name: impl Into<String>, frac_bits: i32) -> Result<TensorId, GraphError> {
        let name = name.into();
        let shapes: Vec<&[usize]> = inputs.iter().map(|i| self.graph.tensors[i.0].shape.as_slice()).collect();
        let bits: Vec<u32> = inputs.iter().map(|i| self.graph.tensors[i.0].bits).collect();
        let node_index = self.graph.nodes.len();
        let err = |source| GraphError::Op { node: node_index, name: name.clone(), source };
        let shape = op.as_int_op().output_shape(&shapes).map_err(err)?;
        let out_bits = op.as_int_op().out_bits(&shapes, &bits).map_err(err)?;
        let output = self.push(TensorMeta { name, shape, source: TensorSource::Activation, frac_bits, bits: out_bits });
        self.graph.nodes.push(Node { op, inputs: inputs.to_vec(), output });
        Ok(output)
    }

    /// Finishes with the given outputs and validates.
    pub fn finish(mut self, outputs: Vec<TensorId>) -> Result<Graph, GraphError> {
        self.graph.outputs = outputs;
        self.graph.validate()?;
        Ok(self.graph)
    }
}

/// Every tensor's values from one execution (weights are not copied: see [`Weights`]).
#[derive(Debug, Clone)]
pub struct IntTrace {
    /// Indexed by [`TensorId`]; `None` for weights.
    pub values: Vec<Option<IntTensor>>,
}

impl IntTrace {
    /// The values of `id` (`None` for weights).
    pub fn get(&self, id: TensorId) -> Option<&IntTensor> {
        self.values.get(id.0).and_then(|v| v.as_ref())
    }
}

/// Executes `graph` on the given public inputs (in `graph.inputs` order).
pub fn execute(graph: &Graph, weights: &Weights, inputs: Vec<IntTensor>) -> Result<IntTrace, GraphError> {
    if inputs.len() != graph.inputs.len() {
        return Err(GraphError::Invalid(format!("{} inputs for {} graph inputs", inputs.len(), graph.inputs.len())));
    }
    let mut values: Vec<Option<IntTensor>> = vec![None; graph.tensors.len()];
    for (&id, value) in graph.inputs.iter().zip(inputs) {
        let meta = graph.meta(id);
        let bad = |msg: String| GraphError::BadInput { name: meta.name.clone(), msg };
        if value.shape != meta.shape {
            return Err(bad(format!("shape {:?}, expected {:?}", value.shape, meta.shape)));
        }
        if value.max_bits() > meta.bits {
            return Err(bad(format!("values exceed the declared bound 2^{}", meta.bits)));
        }
        values[id.0] = Some(value);
    }
    let mut weight_refs: HashMap<usize, &WeightTensor> = HashMap::new();
    for (i, t) in graph.tensors.iter().enumerate() {
        if t.source == TensorSource::Weight {
            let (w, bits) = weights.tensors.get(&t.name).ok_or_else(|| GraphError::Invalid(format!("missing weight {}", t.name)))?;
            if w.shape != t.shape || *bits > t.bits {
                return Err(GraphError::Invalid(format!("weight {} does not match the graph", t.name)));
            }
            weight_refs.insert(i, w);
        }
    }
    for (n, node) in graph.nodes.iter().enumerate() {
        let out = {
            let operands: Vec<Operand<'_>> = node
                .inputs
                .iter()
                .map(|id| match weight_refs.get(&id.0) {
                    Some(w) => Ok(Operand::Weight(w)),
                    None => values[id.0]
                        .as_ref()
                        .map(Operand::Act)
                        .ok_or_else(|| GraphError::Invalid(format!("node {n}: operand not computed"))),
                })
                .collect::<Result<_, _>>()?;
            node.op
                .as_int_op()
                .eval_int(&operands)
                .map_err(|source| GraphError::Op { node: n, name: graph.meta(node.output).name.clone(), source })?
        };
        values[node.output.0] = Some(out);
    }
    Ok(IntTrace { values })
}
