//! The op-proof interface: one [`OpProtocol`] implementation per op kind.

use zkinfer_field::EF;
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::witness::{WitnessBuilder, WitnessLayout};

/// The role of a tensor in the proof (see `docs/PROTOCOLS.md`).
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
}

/// Shape and role of one tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorMeta {
    /// Logical shape.
    pub dims: Vec<usize>,
    /// Role in the proof.
    pub role: TensorRole,
}

impl TensorMeta {
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
    pub inputs: Vec<TensorMeta>,
    /// The output.
    pub output: TensorMeta,
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
    pub fn matrix(&self) -> crate::util::IntMatrix<'_> {
        match self {
            Values::I64(v) => crate::util::IntMatrix::I64(v),
            Values::I16(v) => crate::util::IntMatrix::I16(v),
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

/// The proof protocol of one op kind.
///
/// Phases (see `docs/PROTOCOLS.md`): `witness`/`layout` register committed columns, lookups and
/// range checks in the same order on both sides; after the witness commitment and the lookup
/// arguments, `prove`/`verify` are called in reverse topological order with the claims on the
/// op's output (exactly one claim if the output is [`TensorRole::Virtual`] and used, none if it is
/// unused or [`TensorRole::Committed`]) and return, per operand, the claims on that operand, whose
/// values are already bound into the transcript (see [`crate::context`]).
pub trait OpProtocol: std::fmt::Debug + Send + Sync {
    /// The op's name (errors, domain separation of its messages).
    fn name(&self) -> &'static str;
    /// Role of the op's output: `Virtual` for linear ops, `Committed` for ops whose output the
    /// prover commits (the framework then commits the output tensor itself, as column `"out"`).
    fn output_role(&self) -> TensorRole;
    /// Checks the node's operand and output shapes. Ops that commit nothing (the linear and
    /// relabelling ops) implement only this: the default [`OpProtocol::witness`] and
    /// [`OpProtocol::layout`] call it and register nothing.
    fn check_shape(&self, _node: &NodeShape<'_>) -> Result<(), ProofError> {
        Ok(())
    }
    /// Prover: registers committed columns, lookups and range checks from the trace.
    fn witness(&self, node: &NodeTrace<'_>, _w: &mut WitnessBuilder) -> Result<(), ProofError> {
        self.check_shape(&node.shape)
    }
    /// Verifier: registers the same columns (same order and sizes) from shapes only.
    fn layout(&self, node: &NodeShape<'_>, _w: &mut WitnessLayout) -> Result<(), ProofError> {
        self.check_shape(node)
    }
    /// Prover: turns the claims on the output into claims on each operand.
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError>;
    /// Verifier: mirrors [`OpProtocol::prove`], rejecting with an error.
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError>;

    /// Prover: the op's constraints as a zero-check batched with every other op's
    /// ([`crate::zerocheck`]), drawing its challenges from `ctx`; `None` (the default) if the op
    /// proves everything in [`OpProtocol::prove`]. An op returning one must commit its output;
    /// it is then not called in the walk.
    fn zero_check(&self, _node: &NodeTrace<'_>, _ctx: &mut ProverCtx<'_>) -> Result<Option<crate::zerocheck::ZeroCheck>, ProofError> {
        Ok(None)
    }
    /// Verifier: mirrors [`OpProtocol::zero_check`] (same challenges, same terms).
    fn zero_check_statement(
        &self,
        _node: &NodeShape<'_>,
        _ctx: &mut VerifierCtx<'_, '_>,
    ) -> Result<Option<crate::zerocheck::ZeroCheckStatement>, ProofError> {
        Ok(None)
    }
    /// Prover, after the batched sumcheck: at the instance's point `rho` (the tables' values are
    /// `finals`) sends what the verifier needs and returns the claims on each operand.
    fn finish_zero_check(&self, _node: &NodeTrace<'_>, _ctx: &mut ProverCtx<'_>, _rho: &[EF], _finals: &[EF]) -> Result<Vec<Vec<Claim>>, ProofError> {
        Err(ProofError::shape(self.name(), "no zero-check"))
    }
    /// Verifier, after the batched sumcheck: reads what [`OpProtocol::finish_zero_check`] sent and
    /// returns the tables' values at `rho` and the claims on each operand.
    fn finish_zero_check_verify(
        &self,
        _node: &NodeShape<'_>,
        _ctx: &mut VerifierCtx<'_, '_>,
        _rho: &[EF],
    ) -> Result<(Vec<EF>, Vec<Vec<Claim>>), ProofError> {
        Err(ProofError::shape(self.name(), "no zero-check"))
    }
}

/// Name of the column holding a committed output tensor.
pub const OUTPUT_COLUMN: &str = "out";
