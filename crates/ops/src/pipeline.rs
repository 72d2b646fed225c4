//! The phase sequence of a proof, written once for the graph prover/verifier
//! ([`crate::graph`]), the single-node harness ([`crate::single_node`]) and the test
//! harness ([`crate::testing`]):
//!
//! 1. **Witness.** Nodes in order: if a node's output is `Committed` the framework commits it
//!    (column [`OUTPUT_COLUMN`] of the node), then the op registers its own columns, lookups and
//!    range checks ([`crate::OpProver::witness`] / [`crate::OpVerifier::layout`]); sealing adds the
//!    multiplicity and limb columns.
//! 2. **Commit** the witness (the caller's hook; the commitment is absorbed before any challenge).
//! 3. **Lookups** (one logUp-GKR per table), **range relations**, **zero-checks** (every
//!    [`crate::ZeroCheckProver`] op of the nodes, in one batched sumcheck).
//! 4. **Walk**, nodes in reverse order: the caller's hook states the claims on the node's output
//!    (the graph merges what the consumers left; a harness draws a consumer's claim), the op turns
//!    them into claims on its operands ([`crate::WalkProver::prove`]; a zero-check op's claims come from
//!    phase 3 and it may not be handed output claims), and the hook routes those.
//! 5. **Virtual claims**: claims on virtual columns become claims on committed columns.
//!
//! The hooks ([`ProverHooks`], [`VerifierHooks`]) are the only difference between the three
//! users; the phases, their order and the checks between them are here.

use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::{Accumulators, Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::claim_reduction::{prove_range_relations, prove_virtual_claims, verify_range_relations, verify_virtual_claims};
use crate::lookups::{prove_lookups, verify_lookups};
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, ProtocolRef, TensorRole, VerifierRef};
use crate::witness::{Owner, WitnessBuilder, WitnessLayout, WitnessPlan};
use crate::zerocheck::{ZeroCheckClaims, prove_zero_checks, verify_zero_checks};

/// One node as the prover sees it.
#[derive(Debug, Clone)]
pub struct ProverNode<'a> {
    /// The op's protocol.
    pub op: ProtocolRef<'a>,
    /// Its shapes and values (`trace.shape.node` scopes its columns).
    pub trace: NodeTrace<'a>,
}

/// One node as the verifier sees it.
#[derive(Debug, Clone)]
pub struct VerifierNode<'a> {
    /// The op's verifier.
    pub op: VerifierRef<'a>,
    /// Its shapes and public values (`shape.node` scopes its columns).
    pub shape: NodeShape<'a>,
}

/// What the prover's users of the pipeline supply.
pub trait ProverHooks {
    /// What [`ProverHooks::commit`] returns.
    type Commitment;
    /// The empty witness the nodes fill: [`WitnessBuilder::new`], which refuses a trace that
    /// violates a range or a table, unless a test's malicious prover supplies a forging one.
    fn new_witness(&self) -> WitnessBuilder {
        WitnessBuilder::new()
    }
    /// Called on the generated witness before it is sealed (a test's malicious prover edits it
    /// here); nothing by default.
    fn before_seal(&mut self, _w: &mut WitnessBuilder) {}
    /// Whether each node's padded tables are freed once its witness is built
    /// ([`WitnessBuilder::compact_since`]; the committing provers). A harness that edits the
    /// padded tables before sealing ([`ProverHooks::before_seal`]) keeps them (the default).
    fn compact_witness(&self) -> bool {
        false
    }
    /// Commits every committed column and binds the commitment into the transcript.
    /// May move the committed columns into the commitment and share them back
    /// ([`WitnessBuilder::take_committed`], [`WitnessBuilder::share_committed`]).
    fn commit(&mut self, w: &mut WitnessBuilder, t: &mut ProverTranscript) -> Result<Self::Commitment, ProofError>;
    /// Called once after the commitment, before any claim is made: may record claims of its own
    /// (e.g. claims a chunk's commit hook injected on committed columns); nothing by default.
    fn start_claims(&mut self, _acc: &mut Accumulators) {}
    /// The claims on the output of node `i` (index into the nodes), bound into the transcript.
    fn output_claims(&mut self, i: usize, node: &NodeTrace<'_>, t: &mut ProverTranscript) -> Result<Vec<Claim>, ProofError>;
    /// Takes node `i`'s claims on its operands.
    fn operand_claims(&mut self, i: usize, claims: Vec<Vec<Claim>>, acc: &mut Accumulators) -> Result<(), ProofError>;
}

/// What the verifier's users of the pipeline supply (mirrors [`ProverHooks`]).
pub trait VerifierHooks {
    /// What [`VerifierHooks::receive_commitment`] returns.
    type Commitment;
    /// Reads the witness commitment (absorbing it) given the witness layout.
    fn receive_commitment(&mut self, plan: &WitnessPlan, t: &mut VerifierTranscript<'_>) -> Result<Self::Commitment, ProofError>;
    /// The cap on the lookup GKRs' leaves the prover's witness was sealed with
    /// ([`WitnessPlan::set_gkr_cap`]); none by default.
    fn gkr_cap(&self) -> Option<usize> {
        None
    }
    /// Mirrors [`ProverHooks::start_claims`].
    fn start_claims(&mut self, _acc: &mut Accumulators) {}
    /// The claims on the output of node `i`, as the prover's hook bound them.
    fn output_claims(&mut self, i: usize, node: &NodeShape<'_>, t: &mut VerifierTranscript<'_>) -> Result<Vec<Claim>, ProofError>;
    /// Takes node `i`'s claims on its operands (rejecting false claims on public operands).
    fn operand_claims(&mut self, i: usize, claims: Vec<Vec<Claim>>, acc: &mut Accumulators) -> Result<(), ProofError>;
    /// After the walk: rejects if any claim was left unchecked.
    fn finish_walk(&mut self) -> Result<(), ProofError>;
}

/// Wall-clock seconds and proof bytes per phase, in first-seen order.
pub type Timings = Vec<(String, f64, usize)>;

/// What the prover's pipeline leaves to its caller.
#[derive(Debug)]
pub struct ProverRun<C> {
    /// Returned by the commit hook.
    pub commitment: C,
    /// The committed witness.
    pub witness: WitnessBuilder,
    /// Claims on witness columns and on weights, to open.
    pub accumulators: Accumulators,
    /// Seconds and proof bytes per phase (`witness`, `commit`, `lookups`, `range relations`,
    /// `zero-checks`, `merge`, `prove <op>`, `virtual columns`).
    pub timings: Timings,
}

/// What the verifier's pipeline leaves to its caller.
#[derive(Debug)]
pub struct VerifierRun<C> {
    /// Returned by the commitment hook.
    pub commitment: C,
    /// The witness layout.
    pub plan: WitnessPlan,
    /// Claims on witness columns and on weights, to check by opening the commitments.
    pub accumulators: Accumulators,
}

struct Clock {
    start: std::time::Instant,
    written: usize,
    timings: Timings,
}

impl Clock {
    fn new(t: &ProverTranscript) -> Self {
        Self { start: std::time::Instant::now(), written: t.proof_len(), timings: Vec::new() }
    }
    fn lap(&mut self, name: &str, t: &ProverTranscript) {
        if !name.starts_with("prove ") && name != "merge" {
            zkinfer_pcs::mem_trace(&format!("graph: {name} done"));
        }
        let (seconds, bytes) = (self.start.elapsed().as_secs_f64(), t.proof_len() - self.written);
        match self.timings.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, s, b)) => {
                *s += seconds;
                *b += bytes;
            }
            None => self.timings.push((name.to_string(), seconds, bytes)),
        }
        self.start = std::time::Instant::now();
        self.written = t.proof_len();
    }
}

/// A zero-check op was handed claims on its output: they would be dropped.
fn dropped_output_claims(node: usize, op: &'static str) -> ProofError {
    ProofError::check("graph", format!("node {node} ({op}): claims on the output of an op proven by its zero-check would be dropped"))
}

/// Every zero-check's operand claims were routed (a leftover means an op proven by its
/// zero-check that the walk never met).
pub fn check_zero_checks_routed(claims: &ZeroCheckClaims) -> Result<(), ProofError> {
    match claims.keys().next() {
        Some(n) => Err(ProofError::check("graph", format!("zero-check claims of node {n} were not routed"))),
        None => Ok(()),
    }
}

/// The prover's phases over `nodes` (in topological order).
pub fn prove_nodes<H: ProverHooks>(nodes: &[ProverNode<'_>], t: &mut ProverTranscript, hooks: &mut H) -> Result<ProverRun<H::Commitment>, ProofError> {
    let mut clock = Clock::new(t);
    let mut w = hooks.new_witness();
    for node in nodes {
        let (op, shape) = (node.op.op(), &node.trace.shape);
        w.plan.set_owner(Owner::Node(shape.node));
        let first = w.plan.columns().len();
        if op.output_role() == TensorRole::Committed {
            w.commit_tensor(OUTPUT_COLUMN, &shape.output.layout(), node.trace.output)?;
        }
        op.witness(&node.trace, &mut w)?;
        if hooks.compact_witness() {
            w.compact_since(first)?;
        }
    }
    hooks.before_seal(&mut w);
    w.seal()?;
    clock.lap("witness", t);
    let commitment = hooks.commit(&mut w, t)?;
    clock.lap("commit", t);

    let mut acc = Accumulators::default();
    hooks.start_claims(&mut acc);
    prove_lookups(&w, t, &mut acc)?;
    clock.lap("lookups", t);
    prove_range_relations(&w, t, &mut acc);
    clock.lap("range relations", t);
    let mut zero_check_claims = prove_zero_checks(nodes, &w, t, &mut acc)?;
    clock.lap("zero-checks", t);

    for (i, node) in nodes.iter().enumerate().rev() {
        let n = node.trace.shape.node;
        let out_claims = hooks.output_claims(i, &node.trace, t)?;
        clock.lap("merge", t);
        let in_claims = match node.op {
            ProtocolRef::ZeroCheck(p) => {
                if !out_claims.is_empty() {
                    return Err(dropped_output_claims(n, p.name()));
                }
                zero_check_claims.remove(&n).ok_or_else(|| ProofError::check("graph", format!("node {n}: zero-check not proven")))?
            }
            ProtocolRef::Walk(p) => {
                let mut ctx = ProverCtx { transcript: t, witness: &w, acc: &mut acc, node: n };
                p.prove(&node.trace, &mut ctx, out_claims)?
            }
        };
        clock.lap(&format!("prove {}", node.op.op().name()), t);
        hooks.operand_claims(i, in_claims, &mut acc)?;
    }
    check_zero_checks_routed(&zero_check_claims)?;
    prove_virtual_claims(&w, t, &mut acc)?;
    clock.lap("virtual columns", t);
    Ok(ProverRun { commitment, witness: w, accumulators: acc, timings: clock.timings })
}

/// The witness layout of `nodes`: what [`prove_nodes`] commits, from shapes and public values.
pub fn layout_nodes(nodes: &[VerifierNode<'_>]) -> Result<WitnessPlan, ProofError> {
    layout_nodes_capped(nodes, None)
}

/// [`layout_nodes`] with the lookup GKRs capped at `gkr_cap` leaves ([`WitnessPlan::set_gkr_cap`]).
pub fn layout_nodes_capped(nodes: &[VerifierNode<'_>], gkr_cap: Option<usize>) -> Result<WitnessPlan, ProofError> {
    let mut wl = WitnessLayout::new();
    wl.plan.set_gkr_cap(gkr_cap)?;
    for node in nodes {
        let (op, shape) = (node.op.op(), &node.shape);
        wl.plan.set_owner(Owner::Node(shape.node));
        if op.output_role() == TensorRole::Committed {
            wl.commit_tensor(OUTPUT_COLUMN, &shape.output.layout())?;
        }
        op.layout(shape, &mut wl)?;
    }
    wl.plan.seal()?;
    Ok(wl.plan)
}

/// The verifier's phases over `nodes` (mirrors [`prove_nodes`]).
pub fn verify_nodes<H: VerifierHooks>(nodes: &[VerifierNode<'_>], t: &mut VerifierTranscript<'_>, hooks: &mut H) -> Result<VerifierRun<H::Commitment>, ProofError> {
    let plan = layout_nodes_capped(nodes, hooks.gkr_cap())?;
    let commitment = hooks.receive_commitment(&plan, t)?;

    let mut acc = Accumulators::default();
    hooks.start_claims(&mut acc);
    verify_lookups(&plan, t, &mut acc)?;
    verify_range_relations(&plan, t, &mut acc)?;
    let mut zero_check_claims = verify_zero_checks(nodes, &plan, t, &mut acc)?;

    for (i, node) in nodes.iter().enumerate().rev() {
        let n = node.shape.node;
        let out_claims = hooks.output_claims(i, &node.shape, t)?;
        let in_claims = match node.op {
            VerifierRef::ZeroCheck(p) => {
                if !out_claims.is_empty() {
                    return Err(dropped_output_claims(n, p.name()));
                }
                zero_check_claims.remove(&n).ok_or_else(|| ProofError::check("graph", format!("node {n}: zero-check not verified")))?
            }
            VerifierRef::Walk(p) => {
                let mut ctx = VerifierCtx { transcript: t, plan: &plan, acc: &mut acc, node: n };
                p.verify(&node.shape, &mut ctx, out_claims)?
            }
        };
        hooks.operand_claims(i, in_claims, &mut acc)?;
    }
    check_zero_checks_routed(&zero_check_claims)?;
    hooks.finish_walk()?;
    verify_virtual_claims(&plan, t, &mut acc)?;
    Ok(VerifierRun { commitment, plan, accumulators: acc })
}
