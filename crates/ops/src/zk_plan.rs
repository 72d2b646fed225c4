//! The zk graph driver's first step (issue 13): the **plan** of a zero-knowledge graph proof — for
//! every node the zk prover that proves it (or why none exists yet), every tensor's role, the
//! claims each virtual tensor receives (so its `R` mask can be sized for all of them before any
//! challenge: `VirtualMask::bits_for`), and the shape constraints the zk provers impose (masked
//! tables of `≥ 5` variables, each op's own check). **No proof is made here**; `prove --zk`
//! stays refused until every node of a model's graph has a zk prover *and* the driver that calls
//! them (wiring, one hiding batch, the zk lookups and range checks) exists. The plan is what the
//! driver will walk: it is computed from the graph alone (public), so prover and verifier derive
//! the same mask sizes.
//!
//! **Claims** ([`zk_claims_on_input`], the ONE rule the zk graph driver's `ZkLayout` counts with
//! too; the test `plan_and_layout_count_the_same_claims` compares them). Walking back from the
//! outputs (each graph output: one anchor claim), a node whose output has `k ≥ 1` claims makes,
//! per input: `k` on each operand of an Add (it passes every claim through: `ŷ := â + b̂`,
//! `crate::zk_add`) and on the input of an exact Rescale (`s ≤ 0`: `ŷ := 2^(−s)·x̂`); two on Argmax's logits (`L̂(z)` and `L̂(ρ)`);
//! none on public ids (Embedding's, GatherRows' rows: their values are the shape) nor on RoPE's
//! positions (public values the verifier reads); one on every other input (MatMul, BatchedMatMul,
//! Embedding's table, Rescale, the table-op link, Mul, the index maps, Clamp, Softmax, the norms'
//! and RoPE's `x` — `x̂(ρ)` only, `crate::zk_rope` — after the `k` claims on the
//! output are merged into one). A node whose output has no claim makes none. A virtual tensor
//! with `k` claims that carries an `R` mask ([`zk_has_r_mask`]: every virtual output but an
//! Add's or an exact Rescale's, whose randomised extensions are their operands') is merged (masked merge, `k ≥ 2`) and
//! needs an `R` mask of `d = bits_for(k)` bits (`k + 1 ≤ 2^d`).

use std::collections::BTreeSet;

use zkinfer_graph::graph::{Graph, TensorSource};
use zkinfer_graph::ops::Op;
use zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS;
use zkinfer_sumcheck::zk_virtual::VirtualMask;

use crate::error::ProofError;
use crate::graph::protocol_for;
use crate::protocol::TensorRole;
use crate::zk_clamp::ZkClampShape;
use crate::zk_index_map::ZkIndexMap;
use crate::zk_softmax::ZkSoftmaxShape;

/// The zk prover of a node (the library module that proves it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZkProver {
    /// `crate::zk_matmul`.
    MatMul,
    /// `crate::zk_batched_matmul`.
    BatchedMatMul,
    /// `crate::zk_embedding`.
    Embedding,
    /// `crate::zk_rescale` (tied mask).
    Rescale,
    /// `crate::zk_table_op` (the link; the lookup is `crate::zk_lookups`).
    TableOp,
    /// `crate::zk_add`.
    Add,
    /// `crate::zk_mul`.
    Mul,
    /// `crate::zk_norm` (RmsNorm, LayerNorm).
    Norm,
    /// `crate::zk_argmax`.
    Argmax,
    /// `crate::zk_index_map` (SliceCols, SplitHeads, MergeHeads, GatherRows, RepeatKv, ConcatSeq).
    IndexMap,
    /// `crate::zk_clamp`.
    Clamp,
    /// `crate::zk_softmax`.
    Softmax,
    /// `crate::zk_rope` (a Rescale of the rotation, tied).
    Rope,
}

/// One node's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkNodePlan {
    /// Node index.
    pub node: usize,
    /// The op's name (`IntOp::name`).
    pub op: &'static str,
    /// Its output tensor's name.
    pub output: String,
    /// The zk prover, or why there is none.
    pub prover: Result<ZkProver, &'static str>,
    /// What the shapes break of the zk prover's constraints (empty: none; otherwise the wiring
    /// must pad, e.g. rows to 32).
    pub constraints: Vec<String>,
}

/// The plan of a whole graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkPlan {
    /// Per node, in graph order.
    pub nodes: Vec<ZkNodePlan>,
    /// Every tensor's role (the public protocols' rule).
    pub roles: Vec<TensorRole>,
    /// Per tensor: the claims a zk proof makes on it (module docs: anchors included, none on a
    /// tensor only unused nodes read).
    pub claims: Vec<usize>,
    /// Per virtual tensor with claims and its own `R` mask ([`zk_has_r_mask`]): the mask's degree
    /// bits (`None` for other tensors).
    pub r_mask_bits: Vec<Option<usize>>,
}

impl ZkPlan {
    /// Op kinds without a zk prover.
    pub fn missing_ops(&self) -> BTreeSet<&'static str> {
        self.nodes.iter().filter(|n| n.prover.is_err()).map(|n| n.op).collect()
    }

    /// Nodes whose shapes break a zk prover's constraints.
    pub fn constrained(&self) -> impl Iterator<Item = &ZkNodePlan> {
        self.nodes.iter().filter(|n| !n.constraints.is_empty())
    }
}

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

fn tensor_vars(shape: &[usize]) -> usize {
    shape.iter().map(|&d| vars(d)).sum()
}

/// The zk prover of an op kind, or why there is none (an exhaustive match: a new op kind is a
/// compile error here until its zk status is decided; today every kind has one).
fn prover_of(op: &Op) -> Result<ZkProver, &'static str> {
    match op {
        Op::Embedding(_) => Ok(ZkProver::Embedding),
        Op::GatherRows(_) | Op::SliceCols(_) | Op::SplitHeads(_) | Op::MergeHeads(_) | Op::RepeatKv(_) => Ok(ZkProver::IndexMap),
        Op::MatMul(_) => Ok(ZkProver::MatMul),
        Op::BatchedMatMul(_) => Ok(ZkProver::BatchedMatMul),
        Op::Add(_) => Ok(ZkProver::Add),
        Op::Rescale(_) => Ok(ZkProver::Rescale),
        Op::Clamp(_) => Ok(ZkProver::Clamp),
        Op::Gelu(_) | Op::Silu(_) | Op::SoftCap(_) => Ok(ZkProver::TableOp),
        Op::LayerNorm(_) | Op::RmsNorm(_) => Ok(ZkProver::Norm),
        Op::Softmax(_) => Ok(ZkProver::Softmax),
        Op::Argmax(_) => Ok(ZkProver::Argmax),
        Op::Mul(_) => Ok(ZkProver::Mul),
        Op::ConcatSeq(_) => Ok(ZkProver::IndexMap),
        Op::Rope(_) => Ok(ZkProver::Rope),
    }
}

/// Claims a zk node whose output has `k` claims makes on its input `i` (module docs): the one
/// rule of the plan and of the zk graph driver's layout.
pub(crate) fn zk_claims_on_input(op: &Op, k: usize, i: usize) -> usize {
    if k == 0 {
        return 0;
    }
    match op {
        Op::Add(_) => k,
        Op::Rescale(r) if r.shift <= 0 => k,
        Op::Embedding(_) | Op::GatherRows(_) if i == 0 => 0,
        Op::Argmax(_) => 2,
        // RoPE: one claim on `x` (`crate::zk_rope`: the pair swap is on the public side); the
        // positions are public values the verifier reads itself.
        Op::Rope(_) if i == 1 => 0,
        _ => 1,
    }
}

/// Whether a zk node's (virtual) output carries its own `R` mask: every one but an Add's, whose
/// randomised extension is defined as its operands' (`crate::zk_add`).
pub(crate) fn zk_has_r_mask(op: &Op) -> bool {
    match op {
        Op::Add(_) => false,
        // An exact shift is affine: `ŷ := 2^(−s)·x̂` (`crate::zk_rescale`).
        Op::Rescale(r) => r.shift > 0,
        _ => true,
    }
}

/// Fresh points at which a rounded Rescale's remainder range check (an Argmax's gap range check)
/// reads the input's `R` mask (`crate::zk_graph`'s range module; the remainder's and the gaps'
/// masks are tied to it): the lookup leaf of the column itself (`≤ 16` bits), or the limb
/// relation's point and limb 0's leaf; none for an exact shift. The input's `R` mask is sized for
/// its claims plus these (`VirtualMask::bits_for`), in the plan and in the driver. `in_bits`: the
/// input's bound (an Argmax's gaps have `in_bits + 1` bits).
pub(crate) fn zk_extra_r_load(op: &Op, in_bits: u32) -> usize {
    match op {
        Op::Rescale(r) if r.shift > 16 => 2,
        Op::Rescale(r) if r.shift > 0 => 1,
        Op::Argmax(_) if in_bits + 1 > 16 => 2,
        Op::Argmax(_) => 1,
        _ => 0,
    }
}

/// Whether node `n` computes a PUBLIC graph output: an Argmax whose ids are a graph output (the
/// completion, part of the statement). Such a node is proven although its output receives no
/// claim (no anchor: nothing is committed), as if it had one; its output's `R` table is the
/// gaps' output mask (`crate::zk_argmax`). The plan's and the driver's rule.
pub(crate) fn zk_public_output(graph: &Graph, n: usize) -> bool {
    let node = &graph.nodes[n];
    matches!(node.op, Op::Argmax(_)) && graph.outputs.contains(&node.output)
}

/// Whether node `n`'s output carries an `R` mask in zk mode: it is virtual (the public protocols'
/// role) and not an Add's ([`zk_has_r_mask`]). The plan's and the driver's rule.
pub(crate) fn zk_output_has_r(graph: &Graph, n: usize) -> Result<bool, ProofError> {
    Ok(protocol_for(graph, n)?.output_role() == TensorRole::Virtual && zk_has_r_mask(&graph.nodes[n].op))
}

/// The op-specific shape checks of the zk provers that have a constructor for them.
fn op_constraints(graph: &Graph, node: usize, op: &Op) -> Vec<String> {
    let n = &graph.nodes[node];
    let shape = |k: usize| graph.meta(n.inputs[k]).shape.clone();
    let out = &graph.meta(n.output).shape;
    let err = |r: Result<(), ProofError>| r.err().map(|e| e.to_string());
    let found = match op {
        Op::SplitHeads(o) => match shape(0).as_slice() {
            &[t, c] if o.heads > 0 => err(ZkIndexMap::split_heads(t, o.heads, c / o.heads).map(|_| ())),
            _ => Some("SplitHeads: unexpected input shape".into()),
        },
        Op::MergeHeads(_) => match shape(0).as_slice() {
            &[h, t, d] => err(ZkIndexMap::merge_heads(h, t, d).map(|_| ())),
            _ => Some("MergeHeads: unexpected input shape".into()),
        },
        Op::SliceCols(o) => match shape(0).as_slice() {
            &[t, c] => err(ZkIndexMap::slice_cols(t, c, o.start, o.len).map(|_| ())),
            _ => Some("SliceCols: unexpected input shape".into()),
        },
        Op::GatherRows(_) => match (shape(0).as_slice(), shape(1).as_slice()) {
            // The rows are public values; their count and the input's shape decide the check.
            (&[k], &[t, d]) => err(ZkIndexMap::gather_rows(&vec![0; k], t, d).map(|_| ())),
            _ => Some("GatherRows: unexpected shapes".into()),
        },
        Op::ConcatSeq(_) => match (shape(0).as_slice(), shape(1).as_slice()) {
            (&[h, p, d], &[_, n, _]) => err(ZkIndexMap::concat_seq(h, p, n, d).map(|_| ())),
            _ => Some("ConcatSeq: unexpected shapes".into()),
        },
        Op::RepeatKv(o) => match shape(0).as_slice() {
            &[h, t, d] => err(ZkIndexMap::repeat_kv(h, o.group, t, d).map(|_| ())),
            _ => Some("RepeatKv: unexpected input shape".into()),
        },
        Op::Clamp(c) => {
            let clamp = crate::ops::clamp::ClampProof::new(c.lo, c.hi, graph.meta(n.inputs[0]).bits);
            err(ZkClampShape { dims: out.clone(), clamp }.symmetric().map(|_| ()))
        }
        Op::Softmax(s) => match (crate::ops::softmax::SoftmaxProof::from_model(s, graph.meta(n.inputs[0]).bits), <[usize; 3]>::try_from(shape(0))) {
            (Ok(op), Ok(dims)) => err(ZkSoftmaxShape::padded(dims, op).num_vars().map(|_| ())),
            (Err(e), _) => Some(e.to_string()),
            (_, Err(_)) => Some("Softmax: unexpected input shape".into()),
        },
        Op::LayerNorm(_) | Op::RmsNorm(_) => match shape(0).as_slice() {
            &[t, c] if vars(t) < 5 || vars(c) < 5 => Some(format!("a zk norm needs ≥ 5 row and ≥ 5 column variables: [{t}, {c}] (pad to 32)")),
            _ => None,
        },
        _ => None,
    };
    found.into_iter().collect()
}

/// The plan of `graph` (module docs).
pub fn plan_zk(graph: &Graph) -> Result<ZkPlan, ProofError> {
    let mut roles: Vec<TensorRole> = graph
        .tensors
        .iter()
        .map(|t| match t.source {
            TensorSource::Weight => TensorRole::Weight,
            _ => TensorRole::Public,
        })
        .collect();
    let mut nodes = Vec::with_capacity(graph.nodes.len());
    for (i, node) in graph.nodes.iter().enumerate() {
        roles[node.output.0] = protocol_for(graph, i)?.output_role();
        let mut constraints = op_constraints(graph, i, &node.op);
        // Masked tables need ≥ 5 variables (their PCS mask lives in the first four).
        for &t in node.inputs.iter().chain(std::iter::once(&node.output)) {
            let meta = graph.meta(t);
            if roles[t.0] != TensorRole::Public && tensor_vars(&meta.shape) < MIN_ZK_PRODUCT_VARS {
                constraints.push(format!("{} {:?} has {} variables (< {MIN_ZK_PRODUCT_VARS}: pad)", meta.name, meta.shape, tensor_vars(&meta.shape)));
            }
        }
        nodes.push(ZkNodePlan { node: i, op: node.op.as_int_op().name(), output: graph.meta(node.output).name.clone(), prover: prover_of(&node.op), constraints });
    }
    let mut claims = vec![0usize; graph.tensors.len()];
    let public: Vec<bool> = (0..graph.nodes.len()).map(|n| zk_public_output(graph, n)).collect();
    for &o in &graph.outputs {
        if !graph.nodes.iter().zip(&public).any(|(n, &p)| p && n.output == o) {
            claims[o.0] += 1;
        }
    }
    let mut extra = vec![0usize; graph.tensors.len()];
    for (n, node) in graph.nodes.iter().enumerate().rev() {
        let k = if public[n] { claims[node.output.0].max(1) } else { claims[node.output.0] };
        for (i, &t) in node.inputs.iter().enumerate() {
            claims[t.0] += zk_claims_on_input(&node.op, k, i);
        }
        if k > 0 {
            extra[node.inputs[0].0] += zk_extra_r_load(&node.op, graph.meta(node.inputs[0]).bits);
        }
    }
    let mut has_r = vec![false; graph.tensors.len()];
    for (n, node) in graph.nodes.iter().enumerate() {
        has_r[node.output.0] = zk_output_has_r(graph, n)?;
    }
    let mut r_mask_bits = has_r
        .iter()
        .zip(claims.iter().zip(&extra))
        .map(|(&r, (&k, &e))| if r && k > 0 { VirtualMask::bits_for(k + e).map(Some) } else { Ok(None) })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProofError::shape("zk plan", e.to_string()))?;
    // A public Argmax output's R table: the gaps' output mask, read at the sumcheck's first
    // coordinate and the gap check's points (the driver's rule).
    for (n, node) in graph.nodes.iter().enumerate() {
        if public[n] {
            let coords = 1 + if graph.meta(node.inputs[0]).bits + 1 > 16 { 2 } else { 1 };
            r_mask_bits[node.output.0] = Some(VirtualMask::bits_for(coords).map_err(|e| ProofError::shape("zk plan", e.to_string()))?);
        }
    }
    Ok(ZkPlan { nodes, roles, claims, r_mask_bits })
}

#[cfg(test)]
#[path = "zk_plan_tests.rs"]
mod tests;
