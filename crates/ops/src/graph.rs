//! Proving and verifying a whole graph: witness → lookups → range relations → reverse walk.
//!
//! The phases themselves are [`crate::pipeline`]'s; this module supplies the graph's hooks
//! (commitment callback, merging the claims on each output, routing the claims on operands).
//!
//! 1. **Witness.** Nodes in topological order: if a node's output is `Committed` the framework
//!    commits it (column `"out"` of the node), then the op registers its own columns, lookups
//!    and range checks. Multiplicity columns close the witness. The caller commits every
//!    non-virtual column ([`WitnessPlan::committed`], `commit` callback) and absorbs the
//!    commitment before any challenge is drawn.
//! 2. **Lookups**: one logUp-GKR per table ([`crate::lookups`]). **Range relations**
//!    ([`crate::claim_reduction::prove_range_relations`]). **Zero-checks**: the self-contained
//!    constraints of every op that has one, in one batched sumcheck ([`crate::zerocheck`]).
//! 3. **Walk**, nodes in reverse topological order. The claims gathered on a node's output (one
//!    random claim is added if the output is `Public`) are merged into one
//!    ([`crate::claim_reduction::prove_merge`]) if the output is `Virtual` or `Public`; a `Committed`
//!    output gets none (its claims went to the witness accumulator). The op turns them into
//!    claims on its operands, which are routed by role: `Committed` → witness accumulator (the
//!    producer's `"out"` column, [`PolyId::Column`]), `Weight` → weight accumulator
//!    ([`PolyId::Tensor`] of the weight's [`TensorId`]), `Public` → evaluated by the verifier at
//!    once, `Virtual` → kept for the producer. Every claim is keyed by `(polynomial, origin)`
//!    where it is made (the origin of a routed claim is [`Origin::Node`] of the op that made it).
//! 4. Claims on virtual columns are rewritten into claims on committed columns
//!    ([`crate::claim_reduction::prove_virtual_claims`]). The accumulators are returned; the
//!    caller opens the witness claims against the witness commitment, whose polynomials are
//!    [`WitnessPlan::commitment_ids`], and reduces the weight claims to the weight commitment's
//!    blocks.
//!
//! The verifier enforces the invariants the walk rests on instead of trusting the graph: the
//! graph must pass [`Graph::validate`] (every activation produced by exactly one node, before
//! its first use — so each virtual tensor's claims reach its producer), public values may be
//! given only for tensors the proof takes as public (others would be silently ignored), an op
//! proven by its zero-check may not be handed output claims, and at the end of the walk no claim
//! may be left pending and no zero-check claim unrouted.
//!
//! Nothing here depends on the model's architecture: [`protocol_for`] is the only place that
//! knows op kinds.

use std::collections::HashMap;

use zkinfer_field::{EF, F, from_i64_unchecked};
use zkinfer_graph::graph::{Graph, IntTrace, TensorId, TensorSource, Weights};
use zkinfer_graph::ops::Op;
use zkinfer_graph::tensor::WeightValues;
use zkinfer_pcs::{Origin, PolyId};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::{Accumulators, Claim};
use crate::error::ProofError;
use crate::claim_reduction::{prove_merge, verify_merge};
use crate::layout::TensorLayout;
use crate::pipeline::{ProverHooks, ProverNode, VerifierHooks, VerifierNode, layout_nodes, prove_nodes, verify_nodes};
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProtocol, TensorShape, TensorRole};
use crate::witness::{ColumnId, Owner, WitnessBuilder, WitnessPlan};

/// What building a node's protocol may read: the graph (consumers of a tensor), the node and
/// the static bounds the graph derived with each op's own rule (`IntOp::out_bits`, applied once
/// by the graph; a protocol never recomputes them).
#[derive(Debug, Clone, Copy)]
pub struct NodeContext<'g> {
    /// The graph.
    pub graph: &'g Graph,
    /// The node.
    pub node: &'g zkinfer_graph::graph::Node,
}

impl NodeContext<'_> {
    /// The bound `2^b` of operand `i` (0 if there is none).
    pub fn in_bits(&self, i: usize) -> u32 {
        self.node.inputs.get(i).map_or(0, |t| self.graph.meta(*t).bits)
    }
    /// The bound of the output.
    pub fn out_bits(&self) -> u32 {
        self.graph.meta(self.node.output).bits
    }
}

/// A graph op kind with its proof protocol: implemented for the op's parameter type (from
/// `zkinfer_graph::ops`) in the op's protocol module ([`crate::ops`]), reading the op's
/// parameters and the node's bounds.
pub trait Provable {
    /// The protocol of a node applying this op.
    fn protocol(&self, node: &NodeContext<'_>) -> Result<OpProtocol, ProofError>;
}

/// The protocol registry: one line per op kind (the [`Op`] variant, whose parameter type
/// implements [`Provable`]). Generates [`protocol_for`], the ONE place that maps graph ops to
/// protocols; a missing line is a compile error (the match is exhaustive).
macro_rules! protocol_registry {
    ($($variant:ident,)*) => {
        /// The proof protocol of a graph node (see [`protocol_registry!`]).
        pub fn protocol_for(graph: &Graph, node_index: usize) -> Result<OpProtocol, ProofError> {
            let node = graph.nodes.get(node_index).ok_or_else(|| ProofError::shape("graph", "node index"))?;
            let cx = NodeContext { graph, node };
            match &node.op {
                $( Op::$variant(op) => Provable::protocol(op, &cx), )*
            }
        }
    };
}

protocol_registry! {
    Embedding,
    GatherRows,
    MatMul,
    BatchedMatMul,
    Add,
    SliceCols,
    SplitHeads,
    MergeHeads,
    Rescale,
    Clamp,
    Gelu,
    LayerNorm,
    Softmax,
    Argmax,
    ConcatSeq,
    Mul,
    Silu,
    RepeatKv,
    Rope,
    RmsNorm,
    SoftCap,
}

/// The role of every tensor: inputs are public (or deferred if listed in `deferred`), weights are
/// weights, activations take their producer's [`OpProtocol::output_role`].
fn roles(graph: &Graph, protocols: &[OpProtocol], deferred: &[TensorId]) -> Result<Vec<TensorRole>, ProofError> {
    let mut roles: Vec<TensorRole> = graph
        .tensors
        .iter()
        .map(|t| match t.source {
            TensorSource::Input => TensorRole::Public,
            TensorSource::Weight => TensorRole::Weight,
            TensorSource::Activation => TensorRole::Virtual,
        })
        .collect();
    for (node, p) in graph.nodes.iter().zip(protocols) {
        roles[node.output.0] = p.op().output_role();
    }
    for &id in deferred {
        match roles.get_mut(id.0) {
            Some(r @ TensorRole::Public) if graph.inputs.contains(&id) => *r = TensorRole::Deferred,
            _ => return Err(ProofError::shape("graph", format!("deferred tensor {} is not a graph input", id.0))),
        }
    }
    Ok(roles)
}

/// What a chunk of a chunked proof adds to a graph proof (both sides pass the same): inputs whose
/// claims are deferred to the caller instead of evaluated on public values. A chunk's commit hook
/// may also return claims on virtual tensors to inject into the walk ([`Injected`]), drawn after
/// the witness commitment — e.g. the link of a chunk's new keys to their separate commitment.
#[derive(Debug, Clone, Default)]
pub struct ChunkIo {
    /// Graph inputs with role [`TensorRole::Deferred`].
    pub deferred: Vec<TensorId>,
    /// At most this many leaves per lookup GKR ([`WitnessPlan::set_gkr_cap`]; `None`: the plan's
    /// rule alone). Both sides must use the same value: it decides the multiplicity columns.
    pub gkr_leaves: Option<usize>,
}

/// Claims on virtual tensors a chunk's commit hook injects into the walk (settled by the tensors'
/// producers like any other; their values already bound into the transcript by the hook).
pub type Injected = Vec<(TensorId, Claim)>;

impl Walk<'_> {
    /// Adds injected claims of the tensor's dimension: on a virtual tensor to the walk (its
    /// producer settles it), on a committed one to the witness opening (its column); on any
    /// other tensor it is refused (nothing would check it).
    fn inject(&mut self, injected: Injected) -> Result<(), ProofError> {
        for (id, claim) in injected {
            let Some(meta) = self.graph.tensors.get(id.0) else {
                return Err(ProofError::shape("graph", format!("injected claim on unknown tensor {}", id.0)));
            };
            if claim.point.len() != TensorLayout::new(&meta.shape).num_vars() {
                return Err(ProofError::shape("graph", "injected claim of wrong dimension"));
            }
            match self.roles[id.0] {
                TensorRole::Virtual => self.pending.entry(id).or_default().push(claim),
                TensorRole::Committed => {
                    let col = self.columns.get(&id).ok_or_else(|| ProofError::shape("graph", "committed tensor without column"))?;
                    self.committed_injected.push((col.0, claim));
                }
                _ => return Err(ProofError::shape("graph", format!("injected claim on {}, which is neither virtual nor committed", meta.name))),
            }
        }
        Ok(())
    }

    /// Moves the injected claims on committed tensors into the witness accumulator (before any
    /// other claim, the same order on both sides; claims on a column defined by others are
    /// rewritten with the rest at the end).
    fn flush_injected(&mut self, acc: &mut Accumulators) {
        for (col, c) in self.committed_injected.drain(..) {
            acc.witness.push(zkinfer_pcs::PolyId::Column(col), zkinfer_pcs::Origin::External, c.point, c.value);
        }
    }
}

/// The protocols of every node, after checking the graph's structure ([`Graph::validate`]: every
/// activation produced by exactly one node before its first use, operand kinds, shapes and
/// bounds). The walk relies on it: a claim on a virtual tensor is settled only by the tensor's
/// producer, met later in the reverse walk; a tensor without one (or produced after its use)
/// would leave its claims unchecked.
///
/// Only the verifier (and [`witness_plan`]) checks it: the prover proves the graph it is given,
/// and whatever it proves of a malformed graph is rejected here.
fn checked_protocols(graph: &Graph) -> Result<Vec<OpProtocol>, ProofError> {
    graph.validate().map_err(|e| ProofError::shape("graph", e.to_string()))?;
    protocols(graph)
}

/// The protocols of every node (no structural check: see [`checked_protocols`]).
fn protocols(graph: &Graph) -> Result<Vec<OpProtocol>, ProofError> {
    (0..graph.nodes.len()).map(|n| protocol_for(graph, n)).collect()
}

/// After the walk: every claim gathered on a virtual tensor went to its producer. Anything left
/// means a claim nobody checked, so the proof is rejected (unreachable for a validated graph;
/// kept as the walk's own guard; the pipeline checks that every zero-check's claims were routed).
fn check_walk_complete(graph: &Graph, pending: &HashMap<TensorId, Vec<Claim>>) -> Result<(), ProofError> {
    if let Some((tensor, claims)) = pending.iter().find(|(_, c)| !c.is_empty()) {
        let name = graph.tensors.get(tensor.0).map_or("?", |m| m.name.as_str());
        return Err(ProofError::check("graph", format!("{} claim(s) on {name} left pending: the tensor has no producer after its use", claims.len())));
    }
    Ok(())
}

/// Public values by tensor (graph inputs, and outputs of ops whose output is public).
pub type PublicValues<'a> = HashMap<TensorId, &'a [i64]>;

fn node_shape<'a>(graph: &Graph, roles: &[TensorRole], public: &PublicValues<'a>, n: usize) -> NodeShape<'a> {
    let node = &graph.nodes[n];
    let meta = |t: TensorId| TensorShape::new(&graph.meta(t).shape, roles[t.0]);
    NodeShape {
        node: n,
        inputs: node.inputs.iter().map(|&t| meta(t)).collect(),
        output: meta(node.output),
        public_inputs: node
            .inputs
            .iter()
            .map(|t| if roles[t.0] == TensorRole::Public { public.get(t).copied() } else { None })
            .collect(),
        public_output: if roles[node.output.0] == TensorRole::Public { public.get(&node.output).copied() } else { None },
    }
}

/// Absorbs the public values (both sides) in tensor order.
fn absorb_public<T: Transcript>(t: &mut T, roles: &[TensorRole], public: &PublicValues<'_>) {
    for (i, role) in roles.iter().enumerate() {
        if *role == TensorRole::Public
            && let Some(v) = public.get(&TensorId(i))
        {
            let xs: Vec<F> = v.iter().map(|&x| from_i64_unchecked(x)).collect();
            t.absorb_public_fields("public tensor", &xs);
        }
    }
}

/// Which column holds each committed activation.
fn committed_columns(graph: &Graph, roles: &[TensorRole], plan: &WitnessPlan) -> Result<HashMap<TensorId, ColumnId>, ProofError> {
    let mut map = HashMap::new();
    for (n, node) in graph.nodes.iter().enumerate() {
        if roles[node.output.0] == TensorRole::Committed {
            let col = plan
                .find(Owner::Node(n), OUTPUT_COLUMN)
                .ok_or_else(|| ProofError::shape("graph", format!("node {n}: committed output not registered")))?;
            map.insert(node.output, col);
        }
    }
    Ok(map)
}

/// What proving a graph leaves to the caller: the commitment data its callback returned, the
/// accumulated claims to open, and the witness (to open against).
#[derive(Debug)]
pub struct GraphProverOutput<C> {
    /// Returned by the commit callback.
    pub commitment: C,
    /// Claims on witness columns and on weights.
    pub accumulators: Accumulators,
    /// The committed witness columns.
    pub witness: WitnessBuilder,
    /// Wall-clock seconds and proof bytes written per phase (`witness`, `commit`, `lookups`,
    /// `range relations`, `zero-checks`, `merge`, `virtual columns`) and per op kind
    /// (`prove <name>`), in first-seen order.
    pub timings: Vec<(String, f64, usize)>,
}

/// What verifying a graph leaves to the caller: claims to check by opening the commitments.
#[derive(Debug)]
pub struct GraphVerifierOutput<C> {
    /// Returned by the commitment callback.
    pub commitment: C,
    /// Claims on witness columns and on weights.
    pub accumulators: Accumulators,
    /// The witness layout (column sizes, in commitment order).
    pub plan: WitnessPlan,
}

/// The walk's bookkeeping, shared by the graph's two hooks: roles, committed columns, the
/// claims pending on virtual tensors.
struct Walk<'g> {
    graph: &'g Graph,
    roles: Vec<TensorRole>,
    columns: HashMap<TensorId, ColumnId>,
    pending: HashMap<TensorId, Vec<Claim>>,
    /// Injected claims on committed tensors (column, claim), for the witness opening.
    committed_injected: Vec<(usize, Claim)>,
}

impl<'g> Walk<'g> {
    fn new(graph: &'g Graph, roles: Vec<TensorRole>) -> Self {
        Self { graph, roles, columns: HashMap::new(), pending: HashMap::new(), committed_injected: Vec::new() }
    }

    /// The claims gathered on node `n`'s output and the role of the output.
    fn take_output_claims(&mut self, n: usize) -> (TensorRole, Vec<Claim>) {
        let out = self.graph.nodes[n].output;
        (self.roles[out.0], self.pending.remove(&out).unwrap_or_default())
    }

    /// Routes an op's claims on its operands by role; `check_public(tensor, point, value)`
    /// handles claims on public tensors (the verifier evaluates them).
    fn route(
        &mut self,
        n: usize,
        in_claims: Vec<Vec<Claim>>,
        acc: &mut Accumulators,
        mut check_public: impl FnMut(TensorId, &[EF], EF) -> Result<(), ProofError>,
    ) -> Result<(), ProofError> {
        let node = &self.graph.nodes[n];
        if in_claims.len() != node.inputs.len() {
            return Err(ProofError::shape("graph", format!("node {n} returned claims for {} of {} operands", in_claims.len(), node.inputs.len())));
        }
        for (&tensor, claims) in node.inputs.iter().zip(in_claims) {
            let nv = TensorLayout::new(&self.graph.meta(tensor).shape).num_vars();
            for c in claims {
                if c.point.len() != nv {
                    return Err(ProofError::shape("graph", format!("node {n}: claim of wrong dimension")));
                }
                match self.roles[tensor.0] {
                    TensorRole::Virtual => self.pending.entry(tensor).or_default().push(c),
                    TensorRole::Committed => {
                        let col = self.columns.get(&tensor).ok_or_else(|| ProofError::shape("graph", "committed tensor without column"))?;
                        acc.witness.push(PolyId::Column(col.0), Origin::Node(n), c.point, c.value);
                    }
                    TensorRole::Weight => acc.weights.push(PolyId::Tensor(tensor.0), Origin::Node(n), c.point, c.value),
                    TensorRole::Public => check_public(tensor, &c.point, c.value)?,
                    TensorRole::Deferred => acc.deferred.push(PolyId::Tensor(tensor.0), Origin::Node(n), c.point, c.value),
                }
            }
        }
        Ok(())
    }
}

/// The graph prover's hooks: commit through the caller's callback, merge the claims on each
/// output, route the claims on operands.
struct GraphProver<'g, F> {
    walk: Walk<'g>,
    commit: Option<F>,
    /// A malicious prover's witness ([`prove_graph_forging`]).
    forging: bool,
    /// [`ChunkIo::gkr_leaves`].
    gkr_cap: Option<usize>,
}

impl<C, F: FnOnce(&mut WitnessBuilder, &mut ProverTranscript) -> Result<(C, Injected), ProofError>> ProverHooks for GraphProver<'_, F> {
    type Commitment = C;

    fn compact_witness(&self) -> bool {
        true
    }

    fn new_witness(&self) -> WitnessBuilder {
        let mut w = WitnessBuilder::with_forging(self.forging);
        // A fresh plan is not sealed: the cap cannot be refused.
        let _ = w.plan.set_gkr_cap(self.gkr_cap);
        w
    }

    fn commit(&mut self, w: &mut WitnessBuilder, t: &mut ProverTranscript) -> Result<C, ProofError> {
        let commit = self.commit.take().ok_or_else(|| ProofError::shape("graph", "committed twice"))?;
        let (c, injected) = commit(w, t)?;
        self.walk.columns = committed_columns(self.walk.graph, &self.walk.roles, w.plan())?;
        self.walk.inject(injected)?;
        Ok(c)
    }

    fn start_claims(&mut self, acc: &mut Accumulators) {
        self.walk.flush_injected(acc);
    }

    fn output_claims(&mut self, n: usize, node: &NodeTrace<'_>, t: &mut ProverTranscript) -> Result<Vec<Claim>, ProofError> {
        let (role, mut claims) = self.walk.take_output_claims(n);
        if role == TensorRole::Committed {
            return Ok(Vec::new());
        }
        let out_layout = node.shape.output.layout();
        if role == TensorRole::Public {
            let r = t.challenge_exts(out_layout.num_vars());
            let v = out_layout.evaluate_i64(node.output, &r);
            claims.push(Claim::new(r, v));
        }
        let table = if claims.len() > 1 { out_layout.pad_i64(node.output) } else { Vec::new() };
        Ok(prove_merge(&table, claims, t).into_iter().collect())
    }

    fn operand_claims(&mut self, n: usize, claims: Vec<Vec<Claim>>, acc: &mut Accumulators) -> Result<(), ProofError> {
        self.walk.route(n, claims, acc, |_, _, _| Ok(()))
    }
}

/// The graph verifier's hooks (mirror [`GraphProver`]; claims on public tensors are evaluated).
struct GraphVerifier<'g, 'p, F> {
    walk: Walk<'g>,
    public: &'g PublicValues<'p>,
    receive: Option<F>,
    /// [`ChunkIo::gkr_leaves`].
    gkr_cap: Option<usize>,
}

impl<C, F: FnOnce(&WitnessPlan, &mut VerifierTranscript<'_>) -> Result<(C, Injected), ProofError>> VerifierHooks for GraphVerifier<'_, '_, F> {
    type Commitment = C;

    fn gkr_cap(&self) -> Option<usize> {
        self.gkr_cap
    }

    fn receive_commitment(&mut self, plan: &WitnessPlan, t: &mut VerifierTranscript<'_>) -> Result<C, ProofError> {
        let receive = self.receive.take().ok_or_else(|| ProofError::shape("graph", "commitment received twice"))?;
        let (c, injected) = receive(plan, t)?;
        self.walk.columns = committed_columns(self.walk.graph, &self.walk.roles, plan)?;
        self.walk.inject(injected)?;
        Ok(c)
    }

    fn start_claims(&mut self, acc: &mut Accumulators) {
        self.walk.flush_injected(acc);
    }

    fn output_claims(&mut self, n: usize, node: &NodeShape<'_>, t: &mut VerifierTranscript<'_>) -> Result<Vec<Claim>, ProofError> {
        let (role, mut claims) = self.walk.take_output_claims(n);
        if role == TensorRole::Committed {
            return Ok(Vec::new());
        }
        let out_layout = node.output.layout();
        if role == TensorRole::Public {
            let r = t.challenge_exts(out_layout.num_vars());
            let values = node.public_output.unwrap_or(&[]);
            claims.push(Claim::new(r.clone(), out_layout.evaluate_i64(values, &r)));
        }
        Ok(verify_merge(out_layout.num_vars(), claims, t)?.into_iter().collect())
    }

    fn operand_claims(&mut self, n: usize, claims: Vec<Vec<Claim>>, acc: &mut Accumulators) -> Result<(), ProofError> {
        let (graph, public) = (self.walk.graph, self.public);
        self.walk.route(n, claims, acc, |tensor, point, value| {
            let meta = graph.meta(tensor);
            let values = public.get(&tensor).copied().unwrap_or(&[]);
            if TensorLayout::new(&meta.shape).evaluate_i64(values, point) == value {
                Ok(())
            } else {
                Err(ProofError::check("graph", format!("claim on public tensor {} is false", meta.name)))
            }
        })
    }

    fn finish_walk(&mut self) -> Result<(), ProofError> {
        check_walk_complete(self.walk.graph, &self.walk.pending)
    }
}

/// Proves the trace of `graph`. `commit` must commit every witness column (in order) and absorb
/// the commitment into the transcript; its result is returned for the openings.
pub fn prove_graph<C>(
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    t: &mut ProverTranscript,
    commit: impl FnOnce(&WitnessBuilder, &mut ProverTranscript) -> Result<C, ProofError>,
) -> Result<GraphProverOutput<C>, ProofError> {
    prove_graph_with(graph, weights, trace, t, |w: &mut WitnessBuilder, t: &mut ProverTranscript| commit(w, t))
}

/// [`prove_graph`] with a commit hook that may move the committed columns into the commitment
/// and share them back ([`WitnessBuilder::take_committed`], [`WitnessBuilder::share_committed`]),
/// so that the witness is held once.
pub fn prove_graph_with<C>(
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    t: &mut ProverTranscript,
    commit: impl FnOnce(&mut WitnessBuilder, &mut ProverTranscript) -> Result<C, ProofError>,
) -> Result<GraphProverOutput<C>, ProofError> {
    prove_graph_chunk(graph, weights, trace, &ChunkIo::default(), t, |w: &mut WitnessBuilder, t: &mut ProverTranscript| Ok((commit(w, t)?, Vec::new())))
}

/// [`prove_graph_with`] with a chunk's deferred inputs and injected claims ([`ChunkIo`]).
pub fn prove_graph_chunk<C>(
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    io: &ChunkIo,
    t: &mut ProverTranscript,
    commit: impl FnOnce(&mut WitnessBuilder, &mut ProverTranscript) -> Result<(C, Injected), ProofError>,
) -> Result<GraphProverOutput<C>, ProofError> {
    prove_graph_impl(graph, weights, trace, io, t, commit, false)
}

/// [`prove_graph_with`] as a malicious prover (feature `test-hooks`): the witness never refuses
/// the trace ([`WitnessBuilder::forging`]), so a tampered trace is proven and it is the verifier
/// that must reject the proof.
#[cfg(feature = "test-hooks")]
pub fn prove_graph_forging<C>(
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    t: &mut ProverTranscript,
    commit: impl FnOnce(&mut WitnessBuilder, &mut ProverTranscript) -> Result<C, ProofError>,
) -> Result<GraphProverOutput<C>, ProofError> {
    prove_graph_impl(graph, weights, trace, &ChunkIo::default(), t, |w: &mut WitnessBuilder, t: &mut ProverTranscript| Ok((commit(w, t)?, Vec::new())), true)
}

fn prove_graph_impl<C>(
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    io: &ChunkIo,
    t: &mut ProverTranscript,
    commit: impl FnOnce(&mut WitnessBuilder, &mut ProverTranscript) -> Result<(C, Injected), ProofError>,
    forging: bool,
) -> Result<GraphProverOutput<C>, ProofError> {
    let protocols = protocols(graph)?;
    let roles = roles(graph, &protocols, &io.deferred)?;
    // Values of every tensor: activations from the trace, weights from `weights`.
    let mut i64_values: HashMap<TensorId, &[i64]> = HashMap::new();
    let mut i16_values: HashMap<TensorId, &[i16]> = HashMap::new();
    for (i, meta) in graph.tensors.iter().enumerate() {
        let id = TensorId(i);
        match meta.source {
            TensorSource::Weight => {
                let w = weights.get(&meta.name).ok_or_else(|| ProofError::witness("graph", format!("missing weight {}", meta.name)))?;
                match &w.values {
                    WeightValues::I16(v) => {
                        i16_values.insert(id, v.as_slice());
                    }
                    WeightValues::I64(v) => {
                        i64_values.insert(id, v.as_slice());
                    }
                }
            }
            _ => {
                let v = trace.get(id).ok_or_else(|| ProofError::witness("graph", format!("no trace for {}", meta.name)))?;
                i64_values.insert(id, v.data.as_slice());
            }
        }
    }
    let public: PublicValues<'_> = roles
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == TensorRole::Public)
        .filter_map(|(i, _)| i64_values.get(&TensorId(i)).map(|v| (TensorId(i), *v)))
        .collect();
    absorb_public(t, &roles, &public);
    let nodes: Vec<ProverNode<'_>> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(n, node)| ProverNode {
            op: protocols[n].as_ref(),
            trace: NodeTrace {
                shape: node_shape(graph, &roles, &public, n),
                inputs: node.inputs.iter().map(|t| i64_values.get(t).copied().unwrap_or(&[])).collect(),
                i16_inputs: node.inputs.iter().map(|t| i16_values.get(t).copied()).collect(),
                output: i64_values.get(&node.output).copied().unwrap_or(&[]),
            },
        })
        .collect();
    let walk = Walk::new(graph, roles);
    let mut hooks = GraphProver { walk, commit: Some(commit), forging, gkr_cap: io.gkr_leaves };
    let run = prove_nodes(&nodes, t, &mut hooks)?;
    Ok(GraphProverOutput { commitment: run.commitment, accumulators: run.accumulators, witness: run.witness, timings: run.timings })
}

fn verifier_nodes<'a>(graph: &Graph, protocols: &'a [OpProtocol], roles: &[TensorRole], public: &PublicValues<'a>) -> Vec<VerifierNode<'a>> {
    (0..graph.nodes.len()).map(|n| VerifierNode { op: protocols[n].as_ref().verifier(), shape: node_shape(graph, roles, public, n) }).collect()
}

/// The witness plan of `graph` (columns, lookups, range checks), from shapes and public values
/// alone: what the verifier derives, and what a proof of `graph` will commit.
pub fn witness_plan(graph: &Graph, public: &PublicValues<'_>) -> Result<WitnessPlan, ProofError> {
    let protocols = checked_protocols(graph)?;
    let roles = roles(graph, &protocols, &[])?;
    layout_nodes(&verifier_nodes(graph, &protocols, &roles, public))
}

/// Verifies a graph proof up to the openings. `public` holds the values of every public graph
/// input and of every public op output (e.g. the argmax ids); `receive_commitment` reads the
/// witness commitment from the transcript (absorbing it) given the witness layout.
pub fn verify_graph<C>(
    graph: &Graph,
    public: &PublicValues<'_>,
    t: &mut VerifierTranscript<'_>,
    receive_commitment: impl FnOnce(&WitnessPlan, &mut VerifierTranscript<'_>) -> Result<C, ProofError>,
) -> Result<GraphVerifierOutput<C>, ProofError> {
    verify_graph_chunk(graph, public, &ChunkIo::default(), t, |plan: &WitnessPlan, t: &mut VerifierTranscript<'_>| Ok((receive_commitment(plan, t)?, Vec::new())))
}

/// [`verify_graph`] with a chunk's deferred inputs and injected claims ([`ChunkIo`]): claims on
/// the deferred inputs are returned in `accumulators.deferred` for the caller to discharge.
pub fn verify_graph_chunk<C>(
    graph: &Graph,
    public: &PublicValues<'_>,
    io: &ChunkIo,
    t: &mut VerifierTranscript<'_>,
    receive_commitment: impl FnOnce(&WitnessPlan, &mut VerifierTranscript<'_>) -> Result<(C, Injected), ProofError>,
) -> Result<GraphVerifierOutput<C>, ProofError> {
    let protocols = checked_protocols(graph)?;
    let roles = roles(graph, &protocols, &io.deferred)?;
    for (i, role) in roles.iter().enumerate() {
        if *role == TensorRole::Public {
            let meta = graph.meta(TensorId(i));
            let v = public.get(&TensorId(i)).ok_or_else(|| ProofError::shape("graph", format!("missing public values of {}", meta.name)))?;
            if v.len() != meta.shape.iter().product::<usize>() {
                return Err(ProofError::shape("graph", format!("public {}: {} values for {:?}", meta.name, v.len(), meta.shape)));
            }
        }
    }
    // Values given for a tensor the proof does not take as public would be ignored: the caller
    // would believe them verified.
    for id in public.keys() {
        match roles.get(id.0) {
            Some(TensorRole::Public) => {}
            Some(_) => {
                return Err(ProofError::shape("graph", format!("values given for {}, which the proof does not take as public", graph.meta(*id).name)));
            }
            None => return Err(ProofError::shape("graph", format!("values given for unknown tensor {}", id.0))),
        }
    }
    absorb_public(t, &roles, public);
    let nodes = verifier_nodes(graph, &protocols, &roles, public);
    let walk = Walk::new(graph, roles);
    let mut hooks = GraphVerifier { walk, public, receive: Some(receive_commitment), gkr_cap: io.gkr_leaves };
    let run = verify_nodes(&nodes, t, &mut hooks)?;
    Ok(GraphVerifierOutput { commitment: run.commitment, accumulators: run.accumulators, plan: run.plan })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::PrimeCharacteristicRing;

    /// The digests of the default GELU and exp tables, as bound into every proof's transcript.
    /// A change of one table entry (e.g. a platform-dependent `exp`) changes them.
    #[test]
    fn default_table_digests_are_fixed() {
        use zkinfer_graph::ops::{Op, gelu::Gelu, softmax::CausalSoftmax};
        let q = zkinfer_model::quant::QuantConfig::default();
        let mut b = zkinfer_graph::graph::GraphBuilder::new();
        let x = b.input("x", vec![2, 2], 10, 15);
        let s = b.input("s", vec![1, 2, 2], 12, 20);
        let gelu = Op::Gelu(Gelu::new(q.gelu_in_frac, q.act_frac));
        let softmax = Op::Softmax(CausalSoftmax::new(0, q.score_frac, q.exp_frac, q.prob_frac, zkinfer_graph::ops::softmax::exp_table(q.score_frac, q.exp_frac)));
        let g = b.node(gelu, &[x], "g", 12).expect("gelu");
        let p = b.node(softmax, &[s], "p", 16).expect("softmax");
        let graph = b.finish(vec![g, p]).expect("graph");
        let plan = witness_plan(&graph, &[(x, &[0i64; 4][..]), (s, &[0i64; 4][..])].into_iter().collect()).expect("plan");
        let digests: Vec<(String, String)> = plan
            .tables()
            .iter()
            .filter_map(|t| match t {
                zkinfer_lookup::Table::Function(f) => Some((f.name().to_string(), hex(&f.digest()))),
                zkinfer_lookup::Table::Range { .. } => None,
            })
            .collect();
        assert_eq!(
            digests,
            vec![
                ("gelu:gelu10_12".to_string(), "ed94c13692d7cb8c86d5b0f118eba58ddd15cae840cb59900c33562af51b3a69".to_string()),
                ("exp:exp12_20".to_string(), "78e707fdd9f8908ab28cf8324015ab3ff29087f197bf0b5b96692095d9fac5cf".to_string()),
            ]
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn claims_left_pending_or_unrouted_are_rejected() {
        let graph = Graph {
            tensors: vec![zkinfer_graph::graph::TensorMeta {
                name: "orphan".into(),
                shape: vec![4],
                source: TensorSource::Activation,
                frac_bits: 0,
                bits: 8,
            }],
            ..Graph::default()
        };
        let mut pending: HashMap<TensorId, Vec<Claim>> = HashMap::new();
        let mut zc = crate::zerocheck::ZeroCheckClaims::new();
        assert!(check_walk_complete(&graph, &pending).is_ok());
        assert!(crate::pipeline::check_zero_checks_routed(&zc).is_ok());
        pending.insert(TensorId(0), Vec::new());
        assert!(check_walk_complete(&graph, &pending).is_ok(), "an emptied entry is not a pending claim");
        pending.insert(TensorId(0), vec![Claim::new(vec![EF::from(F::ONE); 2], EF::from(F::TWO))]);
        let err = check_walk_complete(&graph, &pending).expect_err("pending claim accepted");
        assert!(err.to_string().contains("orphan"), "{err}");
        zc.insert(3, vec![Vec::new()]);
        assert!(crate::pipeline::check_zero_checks_routed(&zc).is_err(), "unrouted zero-check claims accepted");
    }
}
