//! The op-proof interface: every op kind implements the shared verifier half [`OpVerifier`], the
//! prover half [`OpProver`], and either the walk pair ([`WalkVerifier`], [`WalkProver`]) or the
//! zero-check pair ([`ZeroCheckVerifier`], [`ZeroCheckProver`]).

use zkinfer_field::EF;
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::witness::{WitnessBuilder, WitnessLayout};
use crate::zerocheck::{ZeroCheck, ZeroCheckStatement};

/// How the proof treats a tensor (see `docs/PROTOCOLS.md`): who evaluates its MLE or which
/// commitment opens it. Not to be confused with [`zkinfer_graph::graph::TensorSource`], where
/// the graph takes a tensor's values from (input, weight, activation); `graph::roles`
/// maps one to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorRole {
    /// Known to the verifier (token ids, positions, completion ids): it evaluates the MLE itself.
    Public,
    /// A model parameter, committed once at setup in the weight commitment.
    Weight,
    /// Committed in the per-request witness commitment (outputs of non-linear ops).
    Committed,
    /// Never committed: claims on it are passed to the op that produced it.
    Virtual,
    /// A graph input committed elsewhere (a KV-cache chunk's cached keys/values, committed by the
    /// earlier chunks): claims on it are handed to the caller ([`crate::context::Accumulators`]'s
    /// `deferred`, poly = the tensor's index), who discharges them against that commitment.
    Deferred,
}

/// What a node's proof knows about one operand or output: its shape and its [`TensorRole`]
/// (the graph's full description of a tensor is [`zkinfer_graph::graph::TensorMeta`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorShape {
    /// Logical shape.
    pub dims: Vec<usize>,
    /// Role in the proof.
    pub role: TensorRole,
}

impl TensorShape {
    /// A tensor of shape `dims` and role `role`.
    pub fn new(dims: &[usize], role: TensorRole) -> Self {
        Self { dims: dims.to_vec(), role }
    }
    /// Its padded MLE layout.
    pub fn layout(&self) -> TensorLayout {
        TensorLayout::new(&self.dims)
    }
    /// Number of MLE variables.
    pub fn num_vars(&self) -> usize {
        self.layout().num_vars()
    }
}

/// What both sides know about a node: its operands' and output's shapes and roles, and the values
/// of its public operands.
#[derive(Debug, Clone)]
pub struct NodeShape<'a> {
    /// Index of the node in the graph (scopes its witness columns).
    pub node: usize,
    /// Operands, in the op's slot order.
    pub inputs: Vec<TensorShape>,
    /// The output.
    pub output: TensorShape,
    /// Values of [`TensorRole::Public`] operands (`None` for the others).
    pub public_inputs: Vec<Option<&'a [i64]>>,
    /// Values of the output if it is [`TensorRole::Public`] (e.g. argmax ids), else `None`.
    pub public_output: Option<&'a [i64]>,
}

impl<'a> NodeShape<'a> {
    /// The values of public operand `i`, or a shape error.
    pub fn public_input(&self, op: &'static str, i: usize) -> Result<&'a [i64], ProofError> {
        self.public_inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| ProofError::shape(op, format!("operand {i} must be public")))
    }
    /// Checks the operand count.
    pub fn expect_inputs(&self, op: &'static str, n: usize) -> Result<(), ProofError> {
        if self.inputs.len() == n {
            Ok(())
        } else {
            Err(ProofError::shape(op, format!("expected {n} operands, got {}", self.inputs.len())))
        }
    }
}

/// What the prover knows about a node: its shape and the (row-major, unpadded) values of its
/// operands and output from the forward trace.
#[derive(Debug, Clone)]
pub struct NodeTrace<'a> {
    /// Shapes and roles.
    pub shape: NodeShape<'a>,
    /// Operand values, in slot order. An operand stored as `i16` (weight matrices) has an empty
    /// slice here and its values in [`NodeTrace::i16_inputs`]; use [`NodeTrace::input_values`]
    /// to read either.
    pub inputs: Vec<&'a [i64]>,
    /// Per operand, its values if it is stored as `i16` (weight matrices), else `None`.
    pub i16_inputs: Vec<Option<&'a [i16]>>,
    /// Output values.
    pub output: &'a [i64],
}

/// Borrowed integer values of a tensor, in either storage width.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// 64-bit values (activations, vectors).
    I64(&'a [i64]),
    /// 16-bit values (weight matrices).
    I16(&'a [i16]),
}

impl Values<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Values::I64(v) => v.len(),
            Values::I16(v) => v.len(),
        }
    }
    /// True if there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i` widened to `i64`.
    ///
    /// # Panics
    /// If `i` is out of range (a programming error).
    pub fn get(&self, i: usize) -> i64 {
        match self {
            Values::I64(v) => v[i],
            Values::I16(v) => v[i] as i64,
        }
    }
    /// The values as an integer matrix view (for the folds).
    pub fn matrix(&self) -> crate::mle_eval::IntMatrix<'_> {
        match self {
            Values::I64(v) => crate::mle_eval::IntMatrix::I64(v),
            Values::I16(v) => crate::mle_eval::IntMatrix::I16(v),
        }
    }
    /// The zero-padded MLE table in `layout`.
    pub fn pad(&self, layout: &TensorLayout) -> Vec<zkinfer_field::F> {
        match self {
            Values::I64(v) => layout.pad_i64(v),
            Values::I16(v) => layout.pad_with(v, |x| zkinfer_field::from_i64_unchecked(x as i64)),
        }
    }
}

impl<'a> NodeTrace<'a> {
    /// The values of operand `i` in whichever width they are stored.
    pub fn input_values(&self, i: usize) -> Values<'a> {
        match self.i16_inputs.get(i).copied().flatten() {
            Some(v) => Values::I16(v),
            None => Values::I64(self.inputs[i]),
        }
    }
}

/// The verifier half of an op's protocol, shared by prover and verifier: the op's name, its
/// output's role, and its statement — the shape checks and the columns, lookups and range
/// checks it registers ([`OpVerifier::layout`]; the prover's [`OpProver::witness`] registers the
/// same ones, in the same order, with values). How the op's relation is then checked is the
/// job of exactly one of [`WalkVerifier`] (from the claims on its output, in the reverse walk)
/// and [`ZeroCheckVerifier`] (in the batched zero-check phase, from nothing but its own columns);
/// [`VerifierRef`] / [`ProtocolRef`] say which.
///
/// Phases (see `docs/PROTOCOLS.md` and [`crate::pipeline`]): `witness`/`layout` register committed
/// columns, lookups and range checks in the same order on both sides; after the witness
/// commitment, the lookup arguments and the range relations, the zero-check ops are proven in one
/// batch, then the walk ops in reverse topological order with the claims on the op's output
/// (exactly one claim if the output is [`TensorRole::Virtual`] or [`TensorRole::Public`] and
/// used, none if it is unused or [`TensorRole::Committed`]). Both return, per operand, the claims
/// on that operand, whose values are already bound into the transcript (see [`crate::context`]).
///
/// The Jolt analogue: `SumcheckInstanceParams` (this trait) / the prover / the verifier.
pub trait OpVerifier: std::fmt::Debug + Send + Sync {
    /// The op's name (errors, domain separation of its messages).
    fn name(&self) -> &'static str;
    /// Role of the op's output: `Virtual` for linear ops, `Committed` for ops whose output the
    /// prover commits (the framework then commits the output tensor itself, as column `"out"`),
    /// `Public` for an output the verifier knows (argmax ids).
    fn output_role(&self) -> TensorRole;
    /// Checks the node's operand and output shapes. Ops that commit nothing (the linear and
    /// relabelling ops) implement only this: the default [`OpVerifier::layout`] and
    /// [`OpProver::witness`] call it and register nothing.
    fn check_shape(&self, _node: &NodeShape<'_>) -> Result<(), ProofError> {
        Ok(())
    }
    /// Registers the op's columns, lookups and range checks (same order and sizes as
    /// [`OpProver::witness`]) from shapes and public values only.
    fn layout(&self, node: &NodeShape<'_>, _w: &mut WitnessLayout) -> Result<(), ProofError> {
        self.check_shape(node)
    }
}

/// The prover half shared by every op: the witness.
pub trait OpProver: OpVerifier {
    /// Registers committed columns, lookups and range checks from the trace (the same as
    /// [`OpVerifier::layout`], with values).
    fn witness(&self, node: &NodeTrace<'_>, _w: &mut WitnessBuilder) -> Result<(), ProofError> {
        self.check_shape(&node.shape)
    }
}

/// Verifier of an op proven in the reverse walk.
pub trait WalkVerifier: OpVerifier {
    /// Turns the claims on the output into claims on each operand, rejecting with an error.
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError>;
}

/// Prover of an op proven in the reverse walk (mirrored by [`WalkVerifier::verify`]).
pub trait WalkProver: OpProver + WalkVerifier {
    /// Turns the claims on the output into claims on each operand.
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError>;
}

/// Verifier of an op whose constraints are a zero-check batched with every other op's
/// ([`crate::zerocheck`]). Such an op commits its output (checked by the framework) and is not
/// called in the walk: the claims returned by [`ZeroCheckVerifier::read_finals`] are the claims on
/// its operands.
pub trait ZeroCheckVerifier: OpVerifier {
    /// Draws the op's challenges (as [`ZeroCheckProver::zero_check`] does) and states its terms.
    fn statement(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>) -> Result<ZeroCheckStatement, ProofError>;
    /// After the batched sumcheck: reads what [`ZeroCheckProver::send_finals`] sent and returns the
    /// tables' values at `rho` and the claims on each operand.
    fn read_finals(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, rho: &[EF]) -> Result<(Vec<EF>, Vec<Vec<Claim>>), ProofError>;
}

/// Prover of a zero-check op (mirrored by [`ZeroCheckVerifier`]).
pub trait ZeroCheckProver: OpProver + ZeroCheckVerifier {
    /// The op's constraints as a zero-check, drawing its challenges from `ctx`.
    fn zero_check(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>) -> Result<ZeroCheck, ProofError>;
    /// After the batched sumcheck: at the instance's point `rho` (the tables' values are
    /// `finals`) sends what the verifier needs and returns the claims on each operand.
    fn send_finals(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, rho: &[EF], finals: &[EF]) -> Result<Vec<Vec<Claim>>, ProofError>;
}

/// An op's verifier: which of the two ways its relation is checked.
#[derive(Debug, Clone, Copy)]
pub enum VerifierRef<'a> {
    /// In the reverse walk.
    Walk(&'a dyn WalkVerifier),
    /// In the batched zero-check phase.
    ZeroCheck(&'a dyn ZeroCheckVerifier),
}

impl<'a> VerifierRef<'a> {
    /// The shared half.
    pub fn op(self) -> &'a dyn OpVerifier {
        match self {
            VerifierRef::Walk(p) => p,
            VerifierRef::ZeroCheck(p) => p,
        }
    }
}

/// An op's prover (and, through [`ProtocolRef::verifier`], its verifier).
#[derive(Debug, Clone, Copy)]
pub enum ProtocolRef<'a> {
    /// Proven in the reverse walk.
    Walk(&'a dyn WalkProver),
    /// Proven in the batched zero-check phase.
    ZeroCheck(&'a dyn ZeroCheckProver),
}

impl<'a> ProtocolRef<'a> {
    /// The shared prover half.
    pub fn op(self) -> &'a dyn OpProver {
        match self {
            ProtocolRef::Walk(p) => p,
            ProtocolRef::ZeroCheck(p) => p,
        }
    }
    /// The op's name.
    pub fn name(self) -> &'static str {
        self.op().name()
    }
    /// The verifier half.
    pub fn verifier(self) -> VerifierRef<'a> {
        match self {
            ProtocolRef::Walk(p) => VerifierRef::Walk(p),
            ProtocolRef::ZeroCheck(p) => VerifierRef::ZeroCheck(p),
        }
    }
}

impl<'a, T: WalkProver> From<&'a T> for ProtocolRef<'a> {
    fn from(p: &'a T) -> Self {
        ProtocolRef::Walk(p)
    }
}

impl<'a> From<&'a OpProtocol> for ProtocolRef<'a> {
    fn from(p: &'a OpProtocol) -> Self {
        p.as_ref()
    }
}

/// The protocol of a graph node, as the registry ([`crate::graph::protocol_for`]) builds it.
#[derive(Debug)]
pub enum OpProtocol {
    /// Proven in the reverse walk.
    Walk(Box<dyn WalkProver>),
    /// Proven in the batched zero-check phase.
    ZeroCheck(Box<dyn ZeroCheckProver>),
}

impl OpProtocol {
    /// A walk op.
    pub fn walk(p: impl WalkProver + 'static) -> Self {
        OpProtocol::Walk(Box::new(p))
    }
    /// A zero-check op.
    pub fn zero_check(p: impl ZeroCheckProver + 'static) -> Self {
        OpProtocol::ZeroCheck(Box::new(p))
    }
    /// Borrowed.
    pub fn as_ref(&self) -> ProtocolRef<'_> {
        match self {
            OpProtocol::Walk(p) => ProtocolRef::Walk(p.as_ref()),
            OpProtocol::ZeroCheck(p) => ProtocolRef::ZeroCheck(p.as_ref()),
        }
    }
    /// The shared half.
    pub fn op(&self) -> &dyn OpProver {
        self.as_ref().op()
    }
    /// The op's name.
    pub fn name(&self) -> &'static str {
        self.op().name()
    }
    /// The role of the op's output.
    pub fn output_role(&self) -> TensorRole {
        self.op().output_role()
    }
}

/// Name of the column holding a committed output tensor.
pub const OUTPUT_COLUMN: &str = "out";
