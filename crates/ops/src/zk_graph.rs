//! The zk graph driver (issue 13, step 1 of `prove --zk`): walks a graph in the public driver's
//! order (nodes in reverse, [`crate::pipeline`]), calls each node's zk prover
//! (`crate::zk_*`), merges several claims on one virtual tensor with the masked merge
//! ([`zkinfer_sumcheck::zk_virtual::prove_merge_zk`]) and ends with claims on the **hidden
//! polynomials**: the weights, the committed output columns, the `R` masks of virtual tensors and
//! the sumchecks' mask tables. Prover and verifier halves; the verifier derives everything from
//! the graph and the public inputs (the [`ZkLayout`]) and the transcript.
//!
//! # What is wired (and what is refused)
//!
//! The **linear part** of the graph: MatMul (with or without bias), BatchedMatMul (both operands
//! activations, e.g. attention's `Q·Kᵀ`), Add, Mul, Embedding (public ids, weight table), and the
//! index maps SliceCols, SplitHeads, MergeHeads, RepeatKv, GatherRows (public rows); and
//! **Rescale** (session 13): exact shifts affine, rounded shifts with `y` and `r` committed, `r`'s
//! mask tied, both range-checked in the zk lookup phase at the end of the walk (module `range`,
//! `zk_graph_range.rs`: the committed witness columns, their limbs, one zk logUp); **Clamp**
//! (both forms: `y`, `s` and the gaps — tied to `y` by affine relations — or `t` committed and
//! range-checked; its masked product sumcheck, `crate::zk_clamp`). The **causal Softmax**
//! (session 14, module `softmax`, `zk_graph_softmax.rs`: `p` and the public op's eight witness
//! columns committed, the zk softmax's masked sumcheck, its `(δ, e)` rows looked up in the exp
//! table — a function-table statement of the same zk logUp — and its range checks).
//! **Argmax** (session 14): the ids are PUBLIC — the statement's completion, given to the layout
//! as a public output ([`ZkLayout::with_public_outputs`]; `zkinfer_verifier::zk_proof` passes the
//! proof's completion) — never committed nor anchored; the gaps `g` are committed (mask tied to
//! the public output's `R` table, the sumcheck's output mask, and to the logits' `R`) and
//! range-checked in the zk lookup phase; the masked product sumcheck (`crate::zk_argmax`) sends
//! two claims to the logits' producer (the LM head). The verifier evaluates the public selector
//! and `P(z)` from ITS ids, so a proof for other ids is refused. **Table ops** (GELU, SiLU,
//! soft-cap): `y` committed, the rows `(x, y)` of the input's own committed column (a Clamp's or a
//! rounded Rescale's output; any other input is refused) looked up in the public function table in
//! the same one zk logUp as every range check (`zk_graph_range.rs`, `TableLookup`).
//! **LayerNorm and RMSNorm** (session 14, module `norm`, `zk_graph_norm.rs`: `y`, the row
//! columns and `r₃` committed, the statistics' remainders and `r₃` tied through the norm's own `R`
//! tables, every column range-checked in the lookup phase; `T ≥ 17` rows of `n ≥ 17`, smaller
//! norms refused naming the node).
//! **RoPE** (session 15, module `rope`, `zk_graph_rope.rs`: public positions, `y` and `r`
//! committed, `r`'s mask tied to the node's own `R_u`, one claim on `x`, range-checked).
//! Any other op kind on the walk (none today; a new kind's zk prover would need its committed
//! columns and lookups wired here the way Rescale's are) is
//! **refused** by [`ZkLayout::new`] with the node and op named — never a proof that is not zero
//! knowledge or not sound. The one-pass GPT-2 graph is therefore refused at the first node the
//! walk meets that is not wired (or whose shape breaks a zk constraint), named in the error;
//! `prove --zk` stays refused for it.
//!
//! # The hidden polynomials ([`HiddenPoly`], in layout order)
//!
//! * every **weight** the walk reaches: its values zero-padded per dimension, row-major, with a
//!   PCS mask over its first `μ = min(m, 4)` variables and `Vanishing::All`
//!   (`P̂(z) = P(z) + Π_i v(z_i)·M(z_{<μ})`, `v(x) = x(1 − x)`);
//! * every **graph output** (a virtual tensor): committed as a column whose PCS mask is *tied* to
//!   its `R` mask ([`crate::zk_rescale::tied_copy_mask`]: `M(z_{<μ}) = Σ_w R_y(z_0, w)`), so the
//!   column's randomised extension is the output's `ŷ`. The driver opens it at a point drawn after
//!   the commitment (the *anchor*: the claim the walk starts from);
//! * per virtual tensor produced by MatMul, BatchedMatMul, Mul, Embedding or an index map and claimed `k ≥ 1` times:
//!   its `R` table ([`VirtualMask`], `d = bits_for(k)`: `k` claims merged plus the discharge fit);
//!   an Add output has none (`ŷ := â + b̂`, `crate::zk_add`) and passes every claim through;
//! * per sumcheck (each node's, each merge's): its mask table ([`SumcheckMask`], its shape from
//!   the node's shape), with a PCS mask (`Vanishing::Last`) folded into the round masks.
//!
//! Everything is sampled by [`ZkSecrets::sample`] **before** the commitment and before any
//! challenge (the masks' shapes and the claim counts are public: [`ZkLayout`]), in dependency
//! order: `R` masks, then the output columns' tied masks, then each sumcheck mask's PCS mask,
//! folded into its round masks. The caller commits every hidden polynomial (table and PCS mask)
//! and absorbs the commitment before [`prove_zk_graph`]; the claims the driver ends with
//! ([`FinalClaim`]) are opened against that commitment. Step 2 (the hiding batch and its
//! opening) is the caller's; the tests open with [`ZkSecrets::open`], the same check by direct
//! evaluation of the randomised extensions (an ideal hiding commitment, as the op tests do).
//!
//! # Claims and their counts (public)
//!
//! Walking back from the outputs: a graph output gets one anchor claim; a node whose output has
//! `k ≥ 1` claims is proven (an unused node is not); an Add passes each of its `k` claims to both
//! operands; every other wired op merges its `k` claims into one (`k ≥ 2`, masked merge) and makes
//! one claim per operand. A claim on a weight or an output column is a [`FinalClaim`]; a claim on
//! a public input is checked by the verifier itself (it evaluates the padded public values); a
//! claim on a virtual tensor waits for its producer. Both sides count the claims from the graph
//! alone ([`ZkLayout`], with the plan's rule `crate::zk_plan::zk_claims_on_input`: one source of
//! truth, compared by the test `plan_and_layout_count_the_same_claims`) and the verifier refuses
//! any other count at the walk (an `R` mask sized for fewer claims than it receives would not hide
//! them). Claims at one point are kept once before a merge (an honest `x + x` or `x·x` makes two:
//! both sides drop the copy and refuse two values at one point), so merged points are distinct.
//!
//! # Soundness
//!
//! Each op's and each merge's soundness is its module's (masked sumchecks: `(1 + n·D')/|EF|`
//! each, the final checks exact given the claims); the driver adds no field relation. It routes
//! *every* claim an op's verifier ends with to its origin: the producer (which must discharge it:
//! a virtual tensor's claims are all consumed when its producer is walked, and a claim left over is
//! refused), the opening (weights, output columns, `R` tables, mask tables) or the verifier's own
//! evaluation (public inputs). So a false claim on any tensor is either refused by its producer's
//! sumcheck or by an opening. No integer relation is introduced: each op's no-wrap argument is its
//! public counterpart's (the graph's bounds), and the index maps move elements only.
//!
//! # Zero knowledge
//!
//! Per component as in `docs/SECURITY.md` ("Zero knowledge"): every value the driver sends is a
//! round polynomial of a masked sumcheck, a randomised extension's value at a point with no boolean
//! coordinate, or an `R`/mask table value; the anchor's value is `ŷ(r)`, uniform by `R_y`. The
//! simulator composes the ops' simulators in transcript order (each op's claim on its output is an
//! earlier uniform message). Leaks by design: the graph, the shapes, the number of claims per
//! polynomial, the public inputs. The test `two_zk_runs_share_no_window` records every sent byte.
//!
//! # Sumcheck mask tables (public claimed values)
//!
//! A masked sumcheck's mask table `G` ([`HiddenKind::NodeMask`], [`HiddenKind::MergeMask`],
//! [`HiddenKind::RowMask`]) is read only at its rounds' points `(bits(j), γ, r_j^{2^{k−1}}, …,
//! r_j)`, and the values `e_j` there are SENT in clear by the sumcheck (`zkinfer_sumcheck::zk`,
//! step 4). Its PCS mask `M` (over the first `μ = 4` coordinates: round bits when the sumcheck has
//! more than 16 rounds) is folded into the round masks, `m̂_j(t) = m_j(t) + t(1 − t)·M(prefix_j)`
//! ([`ZkSecrets::sample`], step 3). Rounds `j` and `j ⊕ 1` of a sumcheck of more than 16 rounds
//! (an Argmax over a 50 257-entry vocabulary, a LayerNorm's cube) share their prefix, hence one
//! `M` value: the hiding PCS's distinct-prefix rule, which protects HIDDEN claim values, would
//! refuse the opening. It does not apply here: the `m_j` are uniform and independent of `M` and
//! of each other, so the `m̂_j` are too, which is all the masked sumcheck's zero-knowledge
//! argument (its simulator outputs the `e_j`) needs; whatever linear functional of `G` two
//! claims on one prefix determine is a function of the public `e_j`. These tables are therefore
//! committed as [`zkinfer_pcs::hiding::Vanishing::LastPublic`] (bound by the commitment's bytes;
//! the PCS exempts them from the prefix rule and the `2^μ` point budget, nothing else).
//! Soundness is unchanged: the opening proves every claim whatever the rule. Before the opening,
//! [`ZkLayout::check_final_claims`] applies the PCS's rules to every other claim and names the
//! refused polynomial's owner ([`ZkLayout::describe_poly`]).

use rand10::{CryptoRng, Rng, RngExt};
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_graph::graph::{Graph, IntTrace, TensorId, TensorSource, Weights};
use zkinfer_graph::ops::Op;
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::whir::MerkleRoot;
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, HidingProverData, MASK_VARS, Vanishing, mask_table_point};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_virtual::{MergedClaims, VirtualClaim, VirtualMask, merge_mask_shape, prove_merge_zk, r_point, vanish, vanish_all, verify_merge_zk};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::zk_add::{prove_add_zk, verify_add_zk};
use crate::zk_batched_matmul::{ZkBatchedMasks, ZkBatchedShape, prove_batched_matmul_zk, verify_batched_matmul_zk, zk_batched_mask_shape};
use crate::zk_embedding::{ZkEmbeddingMasks, ZkEmbeddingShape, prove_embedding_zk, verify_embedding_zk, zk_embedding_mask_shape};
use crate::zk_index_map::{ZkIndexMap, prove_index_map_zk, verify_index_map_zk, zk_index_map_mask_shape};
use crate::zk_matmul::{ZkMatMulMasks, ZkMatMulShape, prove_matmul_zk, verify_matmul_zk, zk_matmul_mask_shape};
use crate::zk_mul::{prove_mul_zk, verify_mul_zk, zk_mul_mask_shape};
use crate::zk_plan::{zk_claims_on_input, zk_extra_r_load, zk_output_has_r};
use crate::ops::clamp::ClampProof;
use crate::zk_clamp::{ZkClampMasks, ZkClampShape, prove_clamp_zk, verify_clamp_zk, zk_clamp_mask_shape};
use crate::zk_rescale::{ZkRescaleShape, mask_table_len, prove_rescale_zk, scaled_input_claims_zk, tied_copy_mask, verify_rescale_zk};
use crate::zk_argmax::{ZkArgmaxClaims, ZkArgmaxMasks, ZkArgmaxShape, prove_argmax_zk, verify_argmax_zk};
use crate::ops::table_op::TableOpProof;
use crate::zk_plan::zk_public_output;

#[path = "zk_graph_range.rs"]
mod range;
#[path = "zk_graph_softmax.rs"]
mod softmax;

#[path = "zk_graph_norm.rs"]
mod norm;
#[path = "zk_graph_rope.rs"]
mod rope;

const WHO: &str = "zk graph";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

fn tensor_vars(shape: &[usize]) -> usize {
    shape.iter().map(|&d| vars(d)).sum()
}

/// `values` (logical `dims`, row-major) zero-padded per dimension to powers of two.
pub fn padded_table(values: &[i64], dims: &[usize]) -> Vec<F> {
    padded_i64(values, dims).into_iter().map(from_i64_unchecked).collect()
}

/// [`padded_table`] as integers.
fn padded_i64(values: &[i64], dims: &[usize]) -> Vec<i64> {
    let pd: Vec<usize> = dims.iter().map(|d| d.next_power_of_two()).collect();
    let mut out = vec![0; pd.iter().product()];
    for (i, &v) in values.iter().enumerate() {
        let (mut rem, mut idx, mut stride) = (i, 0, 1);
        for d in (0..dims.len()).rev() {
            idx += (rem % dims[d]) * stride;
            rem /= dims[d];
            stride *= pd[d];
        }
        out[idx] = v;
    }
    out
}

/// `2^e` in `EF` (`0 ≤ e ≤ 62`).
fn pow2_ef(e: i32) -> EF {
    zkinfer_field::lift(F::from_u64(1u64 << e.clamp(0, 62)))
}

fn mle_at(table: &[F], point: &[EF]) -> Result<EF, ProofError> {
    if table.len() != 1usize << point.len() {
        return Err(ProofError::shape(WHO, format!("a point of {} coordinates for a table of {} entries", point.len(), table.len())));
    }
    Ok(Mle::new(table.to_vec()).evaluate(point))
}

/// The fewest rows (positions `T`) a zk LayerNorm or RMSNorm proves: its masked row tables need
/// `≥ 5` variables (`crate::zk_norm::ZkNormShape::check`), so `T` pads to `≥ 32`, i.e. `T ≥ 17`.
/// Smaller norms are refused naming the node (module `norm`); padding the rows of a statement
/// with public rows is not built.
pub const MIN_ZK_NORM_ROWS: usize = 17;

/// What a hidden polynomial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenKind {
    /// A weight tensor (`Vanishing::All`).
    Weight(TensorId),
    /// A graph output committed as a column with its mask tied to its `R` mask (`Vanishing::All`).
    Output(TensorId),
    /// The `R` table of a virtual tensor (`Vanishing::Last`).
    R(TensorId),
    /// The mask table of node `n`'s sumcheck (`Vanishing::Last`).
    NodeMask(usize),
    /// The mask table of the merge of a tensor's claims (`Vanishing::Last`).
    MergeMask(TensorId),
    /// An activation committed as a column with a uniform mask (a rounded Rescale's output `y`;
    /// `Vanishing::All`).
    Column(TensorId),
    /// Node `n`'s rounded Rescale remainder `r`, its mask tied to the input's `R` mask and `y`'s
    /// mask (`crate::zk_rescale::tied_remainder_mask`; `Vanishing::All`).
    Remainder(usize),
    /// Limb `j` of the range check of hidden polynomial `of` (`Vanishing::All`, `of`'s mask
    /// degree; limb 0's mask tied: `crate::zk_rescale::tie_first_limb`).
    Limb {
        /// The range-checked polynomial.
        of: usize,
        /// The limb's index (weight `2^{16j}`).
        j: usize,
    },
    /// A committed witness column of node `node` (`Vanishing::All`): a Clamp's `s = |x − y|`
    /// (`index` 0, uniform mask), then its gaps `a = y − lo·χ`, `b = hi·χ − y` (masks `±M_y`) or
    /// its magnitude `t = |y|` (uniform).
    Aux {
        /// The node.
        node: usize,
        /// The column's index in the node's list.
        index: usize,
    },
    /// A committed witness column of node `node` built by its op's wiring module
    /// (`Vanishing::All`, uniform mask): a Softmax's `m`, `s`, `δ`, `o`, `e`, `Z`, `r`, `c`
    /// (`zk_graph_softmax.rs`).
    NodeColumn {
        /// The node.
        node: usize,
        /// The column's index in the node's list.
        index: usize,
    },
    /// The multiplicities of lookup statement `i` (`Vanishing::Last`).
    Multiplicities(usize),
    /// The zk lookup's mask table `k` (`ZkLookupMasks::tables` order: the blinding table, then
    /// the GKR's masks; `Vanishing::Last`).
    LookupMask(usize),
    /// A norm's committed column (`Vanishing::All`; module `norm`): row column `index` (the
    /// public op's order) or, at `index` = the row column count, the rounding remainder `r₃`.
    NormColumn {
        /// The node.
        node: usize,
        /// The column's index.
        index: usize,
    },
    /// A norm's `R` table of tie `tie` (`Vanishing::Last`; `crate::zk_norm`'s ties).
    NormR {
        /// The node.
        node: usize,
        /// The tie's index.
        tie: usize,
    },
    /// The mask table of a norm's row zero-check (`Vanishing::Last`).
    RowMask(usize),
    /// RoPE node `n`'s rounding remainder `r` (`Vanishing::All`), its mask tied to `R_u` and the
    /// output's mask (module `rope`).
    RopeRemainder(usize),
    /// The `R` table of RoPE node `n`'s rotation `u`, a virtual tensor internal to the node
    /// (`Vanishing::Last`; module `rope`).
    RopeR(usize),
}

/// One hidden polynomial of the layout (public: kind and sizes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenPoly {
    /// What it is.
    pub kind: HiddenKind,
    /// Its variables.
    pub num_vars: usize,
    /// `Vanishing::All` (else `Last`).
    pub all: bool,
    /// The PCS mask's degree bits `a` (tied output columns: the `R` mask's `d`; else 1).
    pub mask_degree_bits: usize,
}

impl HiddenPoly {
    /// `μ = min(m, 4)`: the PCS mask's variables.
    pub fn mask_vars(&self) -> usize {
        self.num_vars.min(MASK_VARS)
    }

    /// Whether every claim on it has a PUBLIC value: a masked sumcheck's mask table (a node's,
    /// a merge's, a norm's row zero-check's), read only at its rounds' points, whose values
    /// `e_j` the masked sumcheck sends in clear (`zkinfer_sumcheck::zk`). Committed with
    /// [`Vanishing::LastPublic`]: the PCS's distinct-prefix rule and point budget, which protect
    /// HIDDEN claim values, do not apply (a sumcheck of more than 16 rounds reads rounds `j` and
    /// `j ⊕ 1` on one 4-coordinate prefix); module docs, "Sumcheck mask tables".
    pub fn public_values(&self) -> bool {
        matches!(self.kind, HiddenKind::NodeMask(_) | HiddenKind::MergeMask(_) | HiddenKind::RowMask(_))
    }

    /// The PCS vanishing kind it is committed with.
    pub fn vanishing(&self) -> Vanishing {
        match (self.all, self.public_values()) {
            (true, _) => Vanishing::All,
            (false, true) => Vanishing::LastPublic,
            (false, false) => Vanishing::Last,
        }
    }
}

/// A claim the driver ends with: `P̂_poly(point) = value`, to open against the commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalClaim {
    /// Index into [`ZkLayout::polys`].
    pub poly: usize,
    /// The point.
    pub point: Vec<EF>,
    /// The claimed value of the randomised extension.
    pub value: EF,
}

/// The weights' randomised extensions when the weights are committed OUTSIDE the proof's batch
/// (a zk key's ticket, `zkinfer_proof::zk`): the key commits each weight as the same polynomial
/// as [`HiddenKind::Weight`] (its values zero-padded per dimension, row-major, `Vanishing::All`,
/// a mask over its first `min(m, 4)` variables — the key's, of higher degree), so every zk op
/// reads it exactly as it reads a weight of the batch.
pub trait KeyedWeights: Sync {
    /// `Ŵ_t(z)` of weight tensor `t`.
    fn hat(&self, t: TensorId, z: &[EF]) -> Result<EF, ProofError>;
    /// The factor of `v(z_var)` in `Ŵ_t(z) − W_t(z)` (`var` not a mask variable).
    fn cofactor(&self, t: TensorId, z: &[EF], var: usize) -> Result<EF, ProofError>;
}

/// How a node is proven in zk mode (from the op and the shapes alone).
#[derive(Debug, Clone)]
enum Wiring {
    MatMul(ZkMatMulShape),
    BatchedMatMul(ZkBatchedShape),
    /// Elementwise product of two activations of one shape.
    Mul,
    Add,
    Embedding(ZkEmbeddingShape),
    /// The map and the index of the moved input.
    IndexMap(ZkIndexMap, usize),
    /// Rounded (`shift > 0`: `y`, `r` committed, range-checked) or exact (`shift ≤ 0`: affine).
    Rescale(ZkRescaleShape),
    /// `y`, `s` and the gaps or `t` committed and range-checked.
    Clamp(ZkClampShape),
    /// The public ids (the statement's completion), the gaps committed (their mask tied to the
    /// gap's `R` table and the logits' `R`) and range-checked (`crate::zk_argmax`).
    Argmax(ZkArgmaxShape),
    /// `y` committed; the rows `(x, y)` of the committed input `x` looked up in the public function
    /// table (`crate::zk_table_op`'s relation without the copy: `x` is itself a committed column).
    TableOp(zkinfer_lookup::Table),
    /// The causal softmax: `p` and the public op's witness columns committed (`zk_graph_softmax.rs`).
    Softmax(softmax::SoftmaxWiring),
    /// LayerNorm or RMSNorm: `y`, the row columns and `r₃` committed, tied, range-checked
    /// (module `norm`).
    Norm(crate::zk_norm::ZkNormShape),
    /// RoPE with public positions: `y` and `r` committed (`r`'s mask tied to the node's `R_u`),
    /// range-checked (module `rope`).
    Rope(crate::zk_rope::ZkRopeShape),
}

impl Wiring {
    fn mask_shape(&self) -> Option<MaskShape> {
        match self {
            Wiring::MatMul(s) => Some(zk_matmul_mask_shape(s)),
            Wiring::BatchedMatMul(s) => Some(zk_batched_mask_shape(s)),
            Wiring::Mul => None,
            Wiring::Add => None,
            Wiring::Embedding(s) => Some(zk_embedding_mask_shape(s)),
            Wiring::IndexMap(m, _) => Some(zk_index_map_mask_shape(m)),
            Wiring::Rescale(_) => None,
            Wiring::Clamp(s) => zk_clamp_mask_shape(s).ok(),
            Wiring::Argmax(s) => Some(s.mask_shape()),
            Wiring::TableOp(_) => None,
            Wiring::Softmax(s) => s.mask_shape(),
            Wiring::Norm(s) => Some(s.cube_mask_shape()),
            Wiring::Rope(s) => crate::zk_rope::zk_rope_mask_shape(s).ok(),
        }
    }
}

/// The public layout of a zk graph proof: per node its wiring, per tensor its claim count and
/// hidden polynomials, and the list of hidden polynomials (module docs).
#[derive(Debug, Clone)]
pub struct ZkLayout {
    /// The hidden polynomials, in commitment order.
    pub polys: Vec<HiddenPoly>,
    /// Per tensor: the claims a zk proof makes on it (anchors included).
    pub claims: Vec<usize>,
    /// Per tensor: the index of the public input it is (`graph.inputs` order).
    input_index: Vec<Option<usize>>,
    wiring: Vec<Option<Wiring>>,
    /// Per tensor: weight or output column poly.
    column_poly: Vec<Option<usize>>,
    /// Per tensor: `R` table poly.
    r_poly: Vec<Option<usize>>,
    /// Per tensor: merge mask poly and its shape.
    merge_mask: Vec<Option<(usize, MaskShape)>>,
    /// Per node: sumcheck mask poly and its shape.
    node_mask: Vec<Option<(usize, MaskShape)>>,
    /// Per tensor: producing node.
    producer: Vec<Option<usize>>,
    /// Per node: a rounded Rescale's remainder poly.
    remainder: Vec<Option<usize>>,
    /// Per node: its committed witness columns ([`HiddenKind::Aux`], in index order).
    aux: Vec<Vec<usize>>,
    /// Affine relations between committed columns (module `range`).
    affine: Vec<range::Affine>,
    /// The range checks of committed columns (module `range`).
    ranges: Vec<range::RangeCheck>,
    /// The lookup statements of the range checks (one per table width).
    statements: Vec<range::Statement>,
    /// The zk lookup's mask tables: their polys, in `ZkLookupMasks::tables` order.
    lookup_masks: Vec<usize>,
    shapes: Vec<Vec<usize>>,
    outputs: Vec<TensorId>,
    /// Per tensor: a public output of the statement (an Argmax's ids: no anchor, no column).
    public: Vec<bool>,
}

fn refused(graph: &Graph, n: usize, why: &str) -> ProofError {
    let node = &graph.nodes[n];
    ProofError::shape(WHO, format!("node {n} ({}, output {}): {why}", node.op.as_int_op().name(), graph.meta(node.output).name))
}

fn public_values<'a>(graph: &Graph, inputs: &'a [Vec<i64>], input_index: &[Option<usize>], t: TensorId) -> Option<&'a [i64]> {
    let _ = graph;
    input_index[t.0].and_then(|i| inputs.get(i)).map(Vec::as_slice)
}

fn as_indices(v: &[i64], bound: usize) -> Option<Vec<usize>> {
    v.iter().map(|&x| usize::try_from(x).ok().filter(|&u| u < bound)).collect()
}

fn wire(graph: &Graph, n: usize, inputs: &[Vec<i64>], input_index: &[Option<usize>], public: &[Option<Vec<i64>>]) -> Result<Wiring, ProofError> {
    let node = &graph.nodes[n];
    let shape = |k: usize| graph.meta(node.inputs[k]).shape.clone();
    let bad = |why: &str| refused(graph, n, why);
    let w = match &node.op {
        Op::MatMul(m) => match (shape(0).as_slice(), shape(1).as_slice()) {
            (&[t, k], &[nn, k2]) if k == k2 && graph.meta(node.inputs[1]).source == TensorSource::Weight => {
                Wiring::MatMul(ZkMatMulShape { t, k, n: nn, has_bias: m.has_bias })
            }
            _ => return Err(bad("a zk MatMul needs x: [T, K] and a weight [N, K]")),
        },
        Op::BatchedMatMul(o) => match (shape(0).as_slice(), shape(1).as_slice()) {
            (&[h, m, k], &[h2, x, y]) if h == h2 => {
                let (k2, nn) = if o.transpose_b { (y, x) } else { (x, y) };
                if k2 != k {
                    return Err(bad("inner dimensions differ"));
                }
                Wiring::BatchedMatMul(ZkBatchedShape { h, m, k, n: nn, transpose_b: o.transpose_b })
            }
            _ => return Err(bad("a zk BatchedMatMul needs a: [H, M, K] and b: [H, N, K] or [H, K, N]")),
        },
        Op::Add(_) => Wiring::Add,
        Op::Mul(_) if shape(0) == shape(1) => Wiring::Mul,
        Op::Mul(_) => return Err(bad("a zk Mul needs operands of one shape")),
        Op::RepeatKv(o) => match shape(0).as_slice() {
            &[h, t, d] => Wiring::IndexMap(ZkIndexMap::repeat_kv(h, o.group, t, d)?, 0),
            _ => return Err(bad("unexpected input shape")),
        },
        Op::Embedding(_) => {
            let ids = public_values(graph, inputs, input_index, node.inputs[0]).ok_or_else(|| bad("the ids must be a public input"))?;
            if graph.meta(node.inputs[1]).source != TensorSource::Weight {
                return Err(bad("the table must be a weight"));
            }
            match shape(1).as_slice() {
                &[rows, dim] => Wiring::Embedding(ZkEmbeddingShape { rows, dim, ids: as_indices(ids, rows).ok_or_else(|| bad("an id outside the table"))? }),
                _ => return Err(bad("unexpected table shape")),
            }
        }
        Op::SliceCols(o) => match shape(0).as_slice() {
            &[t, c] => Wiring::IndexMap(ZkIndexMap::slice_cols(t, c, o.start, o.len)?, 0),
            _ => return Err(bad("unexpected input shape")),
        },
        Op::SplitHeads(o) => match shape(0).as_slice() {
            &[t, c] if o.heads > 0 => Wiring::IndexMap(ZkIndexMap::split_heads(t, o.heads, c / o.heads)?, 0),
            _ => return Err(bad("unexpected input shape")),
        },
        Op::MergeHeads(_) => match shape(0).as_slice() {
            &[h, t, d] => Wiring::IndexMap(ZkIndexMap::merge_heads(h, t, d)?, 0),
            _ => return Err(bad("unexpected input shape")),
        },
        Op::Rescale(r) => Wiring::Rescale(ZkRescaleShape { dims: shape(0), shift: r.shift }),
        Op::Clamp(c) => {
            let s = ZkClampShape { dims: shape(0), clamp: ClampProof::new(c.lo, c.hi, graph.meta(node.inputs[0]).bits) };
            zk_clamp_mask_shape(&s).map_err(|e| bad(&e.to_string()))?;
            Wiring::Clamp(s)
        }
        Op::Softmax(o) => Wiring::Softmax(softmax::wire(graph, n, o)?),
        Op::GatherRows(_) => {
            let rows = public_values(graph, inputs, input_index, node.inputs[0]).ok_or_else(|| bad("the rows must be a public input"))?;
            match shape(1).as_slice() {
                &[t, d] => Wiring::IndexMap(ZkIndexMap::gather_rows(&as_indices(rows, t).ok_or_else(|| bad("a row outside the input"))?, t, d)?, 1),
                _ => return Err(bad("unexpected input shape")),
            }
        }
        Op::Argmax(_) => {
            let ids = public[node.output.0].clone().ok_or_else(|| bad("the ids must be a public output of the statement (the completion)"))?;
            match shape(0).as_slice() {
                &[rows, vocab] => {
                    let s = ZkArgmaxShape { rows, vocab, ids, in_bits: graph.meta(node.inputs[0]).bits };
                    s.check().map_err(|e| bad(&e.to_string()))?;
                    Wiring::Argmax(s)
                }
                _ => return Err(bad("unexpected logits shape")),
            }
        }
        Op::Gelu(f) => Wiring::TableOp(TableOpProof::for_table_fn(f).map_err(|e| bad(&e.to_string()))?.table().clone()),
        Op::Silu(f) => Wiring::TableOp(TableOpProof::for_table_fn(f).map_err(|e| bad(&e.to_string()))?.table().clone()),
        Op::SoftCap(f) => Wiring::TableOp(TableOpProof::for_table_fn(f).map_err(|e| bad(&e.to_string()))?.table().clone()),
        Op::LayerNorm(_) | Op::RmsNorm(_) => norm::wire(graph, n)?,
        Op::Rope(o) => Wiring::Rope(rope::wire(graph, n, o, node.inputs.get(1).and_then(|&p| public_values(graph, inputs, input_index, p)))?),
        _ => return Err(bad("the zk graph driver does not wire this op kind yet (its zk prover needs the zk lookups, range relations or tied columns)")),
    };
    Ok(w)
}

impl ZkLayout {
    /// The layout of `graph` with its public inputs (`inputs[i]` the values of `graph.inputs[i]`,
    /// row-major): refused, naming the node, if a node the walk reaches has no zk wiring, a shape
    /// breaks a zk prover's constraints, or a tensor receives more claims than a mask can hide.
    pub fn new(graph: &Graph, inputs: &[Vec<i64>]) -> Result<Self, ProofError> {
        Self::with_public_outputs(graph, inputs, &[])
    }

    /// [`Self::new`] with the statement's public outputs (`(tensor, values)`, row-major): the
    /// ids an Argmax output claims (the completion, `next_token`). A public output is never
    /// committed nor anchored: its Argmax is proven against these values (`crate::zk_argmax`), so
    /// the verifier's values are the ones the proof binds. Refused: a public output that is not a
    /// graph output computed by an Argmax, or of the wrong count.
    pub fn with_public_outputs(graph: &Graph, inputs: &[Vec<i64>], public_outputs: &[(TensorId, Vec<i64>)]) -> Result<Self, ProofError> {
        let nt = graph.tensors.len();
        let mut public: Vec<Option<Vec<i64>>> = vec![None; nt];
        for (t, values) in public_outputs {
            let ok = t.0 < nt
                && graph.outputs.contains(t)
                && graph.nodes.iter().position(|n| n.output == *t).is_some_and(|n| zk_public_output(graph, n))
                && values.len() == graph.meta(*t).shape.iter().product::<usize>()
                && public[t.0].is_none();
            if !ok {
                return Err(ProofError::shape(WHO, format!("public output {}: not an Argmax graph output of {} values", t.0, values.len())));
            }
            public[t.0] = Some(values.clone());
        }
        if inputs.len() != graph.inputs.len() {
            return Err(ProofError::shape(WHO, format!("{} public inputs for {} graph inputs", inputs.len(), graph.inputs.len())));
        }
        let mut input_index = vec![None; nt];
        for (i, &t) in graph.inputs.iter().enumerate() {
            if inputs[i].len() != graph.meta(t).shape.iter().product::<usize>() {
                return Err(ProofError::shape(WHO, format!("public input {} has {} values for shape {:?}", graph.meta(t).name, inputs[i].len(), graph.meta(t).shape)));
            }
            input_index[t.0] = Some(i);
        }
        let mut producer = vec![None; nt];
        for (n, node) in graph.nodes.iter().enumerate() {
            producer[node.output.0] = Some(n);
        }
        let mut claims = vec![0usize; nt];
        for &o in &graph.outputs {
            let Some(n) = producer[o.0] else {
                return Err(ProofError::shape(WHO, format!("graph output {} is not computed by a node", graph.meta(o).name)));
            };
            // A public output (the Argmax's ids) is the statement's: no anchor.
            if !zk_public_output(graph, n) {
                claims[o.0] += 1;
            }
        }
        let mut wiring: Vec<Option<Wiring>> = vec![None; graph.nodes.len()];
        let mut has_r = vec![false; graph.nodes.len()];
        let mut extra_load = vec![0usize; nt];
        for n in (0..graph.nodes.len()).rev() {
            let node = &graph.nodes[n];
            // A public output's node is proven without claims on its output (the plan's rule).
            let k = if zk_public_output(graph, n) { claims[node.output.0].max(1) } else { claims[node.output.0] };
            if k == 0 {
                continue;
            }
            wiring[n] = Some(wire(graph, n, inputs, &input_index, &public)?);
            // The plan's rule (one source of truth, `crate::zk_plan`).
            for (i, &t) in node.inputs.iter().enumerate() {
                claims[t.0] += zk_claims_on_input(&node.op, k, i);
            }
            has_r[n] = zk_output_has_r(graph, n)?;
            // A rounded Rescale's remainder check (an Argmax's gap check) reads `R_x` at fresh
            // first coordinates.
            extra_load[node.inputs[0].0] += zk_extra_r_load(&node.op, graph.meta(node.inputs[0]).bits);
        }
        // Hidden polynomials, in dependency order of their sampling.
        let mut polys = Vec::new();
        let (mut column_poly, mut r_poly, mut merge_mask, mut node_mask) = (vec![None; nt], vec![None; nt], vec![None; nt], vec![None; graph.nodes.len()]);
        let mut r_bits = vec![0usize; nt];
        for (t, meta) in graph.tensors.iter().enumerate() {
            // An Argmax's public output: its R table is the gap's output mask (`crate::zk_argmax`),
            // read at the sumcheck's first coordinate and the gap's range-check points.
            if let Some(Wiring::Argmax(s)) = producer[t].and_then(|n| wiring[n].as_ref()) {
                let coords = 1 + range::points_per_check(s.in_bits + 1, false);
                let d = VirtualMask::bits_for(coords).map_err(|e| ProofError::shape(WHO, format!("{}: {e}", meta.name)))?;
                r_bits[t] = d;
                r_poly[t] = Some(polys.len());
                polys.push(HiddenPoly { kind: HiddenKind::R(TensorId(t)), num_vars: 3 + d, all: false, mask_degree_bits: 1 });
                continue;
            }
            let k = claims[t];
            if k == 0 {
                continue;
            }
            let tv = tensor_vars(&meta.shape);
            if producer[t].is_some_and(|n| has_r[n]) {
                let d = VirtualMask::bits_for(k + extra_load[t]).map_err(|e| ProofError::shape(WHO, format!("{}: {e}", meta.name)))?;
                r_bits[t] = d;
                r_poly[t] = Some(polys.len());
                polys.push(HiddenPoly { kind: HiddenKind::R(TensorId(t)), num_vars: 3 + d, all: false, mask_degree_bits: 1 });
                if k >= 2 {
                    let shape = merge_mask_shape(tv);
                    merge_mask[t] = Some((polys.len(), shape));
                    polys.push(HiddenPoly { kind: HiddenKind::MergeMask(TensorId(t)), num_vars: shape.num_vars(), all: false, mask_degree_bits: 1 });
                }
            }
            if meta.source == TensorSource::Weight {
                column_poly[t] = Some(polys.len());
                polys.push(HiddenPoly { kind: HiddenKind::Weight(TensorId(t)), num_vars: tv, all: true, mask_degree_bits: 1 });
            }
        }
        for &o in &graph.outputs {
            if public[o.0].is_some() {
                continue;
            }
            if producer[o.0].is_some_and(|n| zk_public_output(graph, n)) {
                return Err(refused(graph, producer[o.0].unwrap_or(0), "the Argmax's ids must be given as a public output of the statement (the completion)"));
            }
            if r_poly[o.0].is_none() {
                let n = producer[o.0].unwrap_or(0);
                return Err(refused(graph, n, "a graph output must carry an R mask (MatMul, Embedding or an index map) to be committed with a tied mask"));
            }
            if column_poly[o.0].is_none() {
                column_poly[o.0] = Some(polys.len());
                polys.push(HiddenPoly { kind: HiddenKind::Output(o), num_vars: tensor_vars(&graph.meta(o).shape), all: true, mask_degree_bits: r_bits[o.0] });
            }
        }
        let mut cols = range::Committed {
            column_poly: &mut column_poly,
            remainder: vec![None; graph.nodes.len()],
            aux: vec![Vec::new(); graph.nodes.len()],
            ranges: Vec::new(),
            affine: Vec::new(),
            lookups: Vec::new(),
        };
        range::committed_columns(graph, &wiring, &claims, &r_bits, &r_poly, &mut cols, &mut polys)?;
        norm::committed_columns(graph, &wiring, &claims, &mut cols, &mut polys)?;
        softmax::committed_columns(graph, &wiring, &claims, &mut cols, &mut polys)?;
        rope::committed_columns(graph, &wiring, &claims, &mut cols, &mut polys)?;
        let range::Committed { remainder, aux, ranges, affine, lookups, .. } = cols;
        for (n, w) in wiring.iter().enumerate() {
            let mask = match w {
                Some(Wiring::Mul) => Some(zk_mul_mask_shape(tensor_vars(&graph.meta(graph.nodes[n].output).shape))),
                Some(w) => w.mask_shape(),
                None => None,
            };
            if let Some(shape) = mask {
                node_mask[n] = Some((polys.len(), shape));
                polys.push(HiddenPoly { kind: HiddenKind::NodeMask(n), num_vars: shape.num_vars(), all: false, mask_degree_bits: 1 });
            }
        }
        let (statements, lookup_masks) = range::lookup_polys(&ranges, &lookups, &mut polys)?;
        for (t, p) in column_poly.iter().enumerate() {
            if let Some(&p) = p.as_ref() {
                let hp: &HiddenPoly = &polys[p];
                if claims[t] > 1usize << hp.mask_vars() {
                    return Err(ProofError::shape(WHO, format!("{}: {} claims exceed its mask's capacity {}", graph.meta(TensorId(t)).name, claims[t], 1usize << hp.mask_vars())));
                }
            }
        }
        for p in &polys {
            if p.num_vars < 1 {
                return Err(ProofError::shape(WHO, format!("{:?}: a hidden polynomial of no variable", p.kind)));
            }
        }
        Ok(Self {
            polys,
            claims,
            input_index,
            wiring,
            column_poly,
            r_poly,
            merge_mask,
            node_mask,
            producer,
            remainder,
            aux,
            affine,
            ranges,
            statements,
            lookup_masks,
            shapes: graph.tensors.iter().map(|m| m.shape.clone()).collect(),
            outputs: graph.outputs.clone(),
            public: public.iter().map(Option::is_some).collect(),
        })
    }

    /// Who owns hidden polynomial `i` (its kind, and the node or tensor it belongs to), for
    /// error messages: `"R table of tensor blk.0.ln1 (node 3, LayerNorm)"`.
    pub fn describe_poly(&self, graph: &Graph, i: usize) -> String {
        let Some(p) = self.polys.get(i) else {
            return format!("hidden polynomial {i} (not in the layout)");
        };
        let node = |n: usize| match graph.nodes.get(n) {
            Some(node) => format!("node {n} ({}, output {})", node.op.as_int_op().name(), graph.meta(node.output).name),
            None => format!("node {n}"),
        };
        let tensor = |t: TensorId| {
            let name = graph.tensors.get(t.0).map_or("?", |m| m.name.as_str());
            match self.producer.get(t.0).copied().flatten() {
                Some(n) => format!("tensor {name} ({})", node(n)),
                None => format!("tensor {name}"),
            }
        };
        let what = match p.kind {
            HiddenKind::Weight(t) => format!("weight column of {}", tensor(t)),
            HiddenKind::Output(t) => format!("output column of {}", tensor(t)),
            HiddenKind::R(t) => format!("R table of {}", tensor(t)),
            HiddenKind::NodeMask(n) => format!("sumcheck mask of {}", node(n)),
            HiddenKind::MergeMask(t) => format!("merge mask of {}", tensor(t)),
            HiddenKind::Column(t) => format!("committed column of {}", tensor(t)),
            HiddenKind::Remainder(n) => format!("rounding remainder of {}", node(n)),
            HiddenKind::Limb { of, j } => format!("limb {j} of the range check of [{}]", self.describe_poly(graph, of)),
            HiddenKind::Aux { node: n, index } => format!("witness column {index} of {}", node(n)),
            HiddenKind::NodeColumn { node: n, index } => format!("witness column {index} of {}", node(n)),
            HiddenKind::Multiplicities(s) => format!("multiplicities of lookup statement {s}"),
            HiddenKind::LookupMask(k) => format!("zk lookup mask table {k}"),
            HiddenKind::NormColumn { node: n, index } => format!("norm column {index} of {}", node(n)),
            HiddenKind::NormR { node: n, tie } => format!("R table of tie {tie} of {}", node(n)),
            HiddenKind::RowMask(n) => format!("row zero-check mask of {}", node(n)),
            HiddenKind::RopeRemainder(n) => format!("rounding remainder of {}", node(n)),
            HiddenKind::RopeR(n) => format!("R table of the rotation of {}", node(n)),
        };
        format!("hidden polynomial {i}: {what} ({} variables)", p.num_vars)
    }

    /// The hiding PCS's claim rules checked on the driver's final claims, BEFORE the opening,
    /// naming each refused claim's owner ([`Self::describe_poly`]): two distinct claim points of
    /// one polynomial must differ in the first `μ = min(m, MASK_VARS)` coordinates (the mask's
    /// variables: two points on one prefix see one mask value and their difference would be a
    /// plain linear functional of the polynomial), and at most `2^μ` distinct points per
    /// polynomial (the weights' bound when a zk key commits them is the key's, checked there).
    /// The PCS refuses the same claims (`zkinfer_pcs::hiding`); this is the diagnosis.
    pub fn check_final_claims(&self, graph: &Graph, claims: &[FinalClaim]) -> Result<(), ProofError> {
        let mut seen: Vec<Vec<&[EF]>> = vec![Vec::new(); self.polys.len()];
        for c in claims {
            let Some(p) = self.polys.get(c.poly) else {
                return Err(ProofError::check(WHO, format!("a claim on hidden polynomial {}, which is not in the layout", c.poly)));
            };
            if c.point.len() != p.num_vars {
                return Err(ProofError::check(WHO, format!("{}: a claim point of {} coordinates", self.describe_poly(graph, c.poly), c.point.len())));
            }
            if p.public_values() {
                continue;
            }
            let mu = p.mask_vars();
            let pts = &mut seen[c.poly];
            if pts.contains(&c.point.as_slice()) {
                continue;
            }
            if let Some(j) = pts.iter().position(|q| q[..mu] == c.point[..mu]) {
                let differ: Vec<usize> = (mu..p.num_vars).filter(|&v| pts[j][v] != c.point[v]).collect();
                return Err(ProofError::check(
                    WHO,
                    format!(
                        "{} is claimed at two points with the same first {mu} coordinates (they differ only in coordinates {differ:?}), which its mask would not hide",
                        self.describe_poly(graph, c.poly)
                    ),
                ));
            }
            pts.push(&c.point);
            if !matches!(p.kind, HiddenKind::Weight(_)) && pts.len() > 1usize << mu {
                return Err(ProofError::check(WHO, format!("{} has more than {} distinct claim points", self.describe_poly(graph, c.poly), 1usize << mu)));
            }
        }
        Ok(())
    }

    fn r_bits(&self, t: TensorId) -> Option<usize> {
        self.r_poly[t.0].map(|p| self.polys[p].num_vars - 3)
    }

    /// The poly of a weight or of an activation committed as a column (not a graph output's
    /// tied column, whose randomised extension is its `R` mask's).
    fn committed(&self, t: TensorId) -> Option<usize> {
        self.column_poly[t.0].filter(|&p| matches!(self.polys[p].kind, HiddenKind::Weight(_) | HiddenKind::Column(_)))
    }
}

/// The prover's secrets: every hidden polynomial's table and PCS mask, the `R` masks and the
/// sumcheck masks (round masks with their table's PCS mask folded in).
pub struct ZkSecrets {
    /// Per hidden polynomial: `(table, PCS mask table)`.
    tables: Vec<(Vec<F>, Vec<F>)>,
    vms: Vec<Option<VirtualMask>>,
    sumcheck_masks: Vec<Option<SumcheckMask>>,
    /// The zk lookup's masks (`None`: no range check).
    lookup: Option<zkinfer_lookup::zk_logup::ZkLookupMasks>,
}

impl std::fmt::Debug for ZkSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkSecrets").field("polys", &self.tables.len()).finish_non_exhaustive()
    }
}

impl ZkSecrets {
    /// Samples every mask (module docs, dependency order) and builds every hidden table from the
    /// weights and the trace. `rng` must be cryptographic and unpredictably seeded for zero
    /// knowledge.
    pub fn sample<R: Rng + ?Sized>(layout: &ZkLayout, graph: &Graph, weights: &Weights, trace: &IntTrace, rng: &mut R) -> Result<Self, ProofError> {
        Self::sample_with(layout, graph, weights, trace, false, rng)
    }

    /// [`Self::sample`]; with `keyed` the weights are a key's ([`KeyedWeights`]): their tables
    /// and masks are not built here (they stay empty and out of the batch, [`batch_polys`]).
    pub fn sample_with<R: Rng + ?Sized>(layout: &ZkLayout, graph: &Graph, weights: &Weights, trace: &IntTrace, keyed: bool, rng: &mut R) -> Result<Self, ProofError> {
        Self::sample_inner(layout, graph, weights, trace, keyed, false, rng)
    }

    /// [`Self::sample_with`]; `forging` (tests: a malicious prover) decomposes an out-of-range
    /// value modulo its range and leaves it out of the multiplicities instead of refusing, so the
    /// VERIFIER must refuse the proof.
    pub(crate) fn sample_inner<R: Rng + ?Sized>(layout: &ZkLayout, graph: &Graph, weights: &Weights, trace: &IntTrace, keyed: bool, forging: bool, rng: &mut R) -> Result<Self, ProofError> {
        let mut vms: Vec<Option<VirtualMask>> = vec![None; layout.polys.len()];
        let mut sumcheck_masks: Vec<Option<SumcheckMask>> = (0..layout.polys.len()).map(|_| None).collect();
        let mut tables: Vec<(Vec<F>, Vec<F>)> = vec![(Vec::new(), Vec::new()); layout.polys.len()];
        let uniform = |len: usize, rng: &mut R| (0..len).map(|_| rng.random::<F>()).collect::<Vec<F>>();
        // 1. R masks.
        for (i, p) in layout.polys.iter().enumerate() {
            if let HiddenKind::R(_) = p.kind {
                let d = p.num_vars - 3;
                let vm = VirtualMask::from_table(uniform(1usize << p.num_vars, rng)).map_err(|e| ProofError::shape(WHO, e.to_string()))?;
                if vm.degree_bits() != d {
                    return Err(ProofError::witness(WHO, "an R table's size"));
                }
                tables[i] = (vm.table().to_vec(), uniform(mask_table_len(p.mask_vars(), 1), rng));
                vms[i] = Some(vm);
            }
        }
        // 2. Columns: weights with uniform masks, outputs with masks tied to their R.
        for (i, p) in layout.polys.iter().enumerate() {
            match p.kind {
                HiddenKind::Weight(_) if keyed => {}
                HiddenKind::Weight(t) => {
                    let meta = graph.meta(t);
                    let w = weights.get(&meta.name).ok_or_else(|| ProofError::witness(WHO, format!("weight {} missing", meta.name)))?;
                    tables[i] = (padded_table(&w.to_i64_vec(), &meta.shape), uniform(mask_table_len(p.mask_vars(), 1), rng));
                }
                HiddenKind::Output(t) => {
                    let r = layout.r_poly[t.0].and_then(|r| vms[r].as_ref()).ok_or_else(|| ProofError::witness(WHO, "an output without its R mask"))?;
                    let tied = tied_copy_mask(r, p.mask_vars())?;
                    if tied.degree_bits != p.mask_degree_bits {
                        return Err(ProofError::witness(WHO, "the tied mask's degree"));
                    }
                    let values = trace.get(t).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", graph.meta(t).name)))?;
                    tables[i] = (padded_table(&values.data, &graph.meta(t).shape), tied.table);
                }
                HiddenKind::Column(t) => {
                    let values = trace.get(t).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", graph.meta(t).name)))?;
                    tables[i] = (padded_table(&values.data, &graph.meta(t).shape), uniform(mask_table_len(p.mask_vars(), 1), rng));
                }
                _ => {}
            }
        }
        // 2b. Remainders (tied to R_x and M_y), then limbs (limb 0 tied to its column).
        let mut pre = norm::sample_columns(layout, graph, weights, trace, &mut tables, rng)?;
        softmax::sample_columns(layout, graph, trace, &mut tables, &mut pre, rng)?;
        rope::sample_columns(layout, graph, trace, &mut tables, &mut pre, rng)?;
        let ints = range::sample_columns(layout, graph, trace, &vms, &mut tables, pre, rng, forging)?;
        // 3. Sumcheck masks: the table's PCS mask first, folded into the round masks.
        for (i, p) in layout.polys.iter().enumerate() {
            let shape = match p.kind {
                HiddenKind::NodeMask(n) => layout.node_mask[n].map(|(_, s)| s),
                HiddenKind::MergeMask(t) => layout.merge_mask[t.0].map(|(_, s)| s),
                HiddenKind::RowMask(n) => norm::row_mask_shape(layout, n),
                _ => continue,
            }
            .ok_or_else(|| ProofError::witness(WHO, "a mask without its shape"))?;
            let mut mask = SumcheckMask::sample(shape, rng).map_err(|e| ProofError::sumcheck(WHO, e.to_string()))?;
            let pcs = uniform(mask_table_len(p.mask_vars(), 1), rng);
            for j in 0..shape.num_rounds {
                let z = shape.claim_point(j, EF::ZERO);
                let m = mle_at(&pcs, &mask_table_point(&z[..p.mask_vars()], 1))?;
                mask.add_vanishing_term(j, m).map_err(|e| ProofError::sumcheck(WHO, e.to_string()))?;
            }
            tables[i] = (mask.table().to_vec(), pcs);
            sumcheck_masks[i] = Some(mask);
        }
        // 4. The lookups: multiplicities and the zk logUp's masks.
        let lookup = range::sample_lookups(layout, &ints, &mut tables, rng, forging)?;
        Ok(Self { tables, vms, sumcheck_masks, lookup })
    }

    /// Every hidden polynomial's `(table, PCS mask table)`, in layout order: what the caller
    /// commits (the mask with degree bits [`HiddenPoly::mask_degree_bits`]).
    pub fn committed(&self) -> &[(Vec<F>, Vec<F>)] {
        &self.tables
    }

    /// `M(z_{<μ})` of poly `i`.
    fn m(&self, layout: &ZkLayout, i: usize, z: &[EF]) -> EF {
        let p = &layout.polys[i];
        let point = mask_table_point(&z[..p.mask_vars()], p.mask_degree_bits);
        mle_at(&self.tables[i].1, &point).unwrap_or(EF::ZERO)
    }

    /// The randomised extension `P̂_i(z)` of hidden polynomial `i`.
    pub fn hat(&self, layout: &ZkLayout, i: usize, z: &[EF]) -> Result<EF, ProofError> {
        let p = layout.polys.get(i).ok_or_else(|| ProofError::check(WHO, format!("no hidden polynomial {i}")))?;
        let plain = mle_at(&self.tables[i].0, z)?;
        let van = if p.all { vanish_all(z) } else { vanish(z[z.len() - 1]) };
        Ok(plain + van * self.m(layout, i, z))
    }

    /// The factor of `v(z_var)` in `P̂_i(z) − P_i(z)` (`Vanishing::All`, `var` not a mask variable).
    fn column_cofactor(&self, layout: &ZkLayout, i: usize, z: &[EF], var: usize) -> EF {
        let others: EF = z.iter().enumerate().filter(|&(j, _)| j != var).map(|(_, &x)| vanish(x)).product();
        others * self.m(layout, i, z)
    }

    /// An ideal opening: every claim checked by evaluating the randomised extension (the tests'
    /// stand-in for the hiding batch opening, which proves the same statements).
    pub fn open(&self, layout: &ZkLayout, claims: &[FinalClaim]) -> Result<(), ProofError> {
        for c in claims {
            if self.hat(layout, c.poly, &c.point)? != c.value {
                return Err(ProofError::check(WHO, format!("a false claim on {:?}", layout.polys[c.poly].kind)));
            }
        }
        Ok(())
    }
}

/// The prover's view of the tensors' values and randomised extensions.
struct Values<'a> {
    layout: &'a ZkLayout,
    secrets: &'a ZkSecrets,
    graph: &'a Graph,
    weights: &'a Weights,
    trace: &'a IntTrace,
    inputs: &'a [Vec<i64>],
    keyed: Option<&'a dyn KeyedWeights>,
}

impl Values<'_> {
    /// `Ŵ(z)` of the weight whose hidden polynomial is `p`: the key's, or the batch's.
    fn weight_hat(&self, t: TensorId, p: usize, z: &[EF]) -> Result<EF, ProofError> {
        match self.keyed {
            Some(k) => k.hat(t, z),
            None => self.secrets.hat(self.layout, p, z),
        }
    }

    /// The factor of `v(z_var)` in `Ŵ(z) − W(z)` of the weight whose hidden polynomial is `p`.
    fn weight_cofactor(&self, t: TensorId, p: usize, z: &[EF], var: usize) -> EF {
        match self.keyed {
            Some(k) => k.cofactor(t, z, var).unwrap_or(EF::ZERO),
            None => self.secrets.column_cofactor(self.layout, p, z, var),
        }
    }

    fn values(&self, t: TensorId) -> Result<Vec<i64>, ProofError> {
        if let Some(i) = self.layout.input_index[t.0] {
            return Ok(self.inputs[i].clone());
        }
        let meta = self.graph.meta(t);
        if meta.source == TensorSource::Weight {
            let w = self.weights.get(&meta.name).ok_or_else(|| ProofError::witness(WHO, format!("weight {} missing", meta.name)))?;
            return Ok(w.to_i64_vec());
        }
        self.trace.get(t).map(|v| v.data.clone()).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", meta.name)))
    }

    fn vm(&self, t: TensorId) -> Option<&VirtualMask> {
        self.layout.r_poly[t.0].and_then(|p| self.secrets.vms[p].as_ref())
    }

    /// `t̂(z)`.
    fn hat(&self, t: TensorId, z: &[EF]) -> Result<EF, ProofError> {
        if let Some(p) = self.layout.committed(t) {
            return match self.layout.polys[p].kind {
                HiddenKind::Weight(_) => self.weight_hat(t, p, z),
                _ => self.secrets.hat(self.layout, p, z),
            };
        }
        let plain = mle_at(&padded_table(&self.values(t)?, &self.layout.shapes[t.0]), z)?;
        if let Some(vm) = self.vm(t) {
            return Ok(vm.hat(plain, z));
        }
        match self.layout.producer[t.0].and_then(|n| self.layout.wiring[n].as_ref().map(|w| (n, w))) {
            Some((n, Wiring::Add)) => {
                let ins = &self.graph.nodes[n].inputs;
                Ok(self.hat(ins[0], z)? + self.hat(ins[1], z)?)
            }
            Some((n, Wiring::Rescale(s))) if s.shift <= 0 => Ok(pow2_ef(-s.shift) * self.hat(self.graph.nodes[n].inputs[0], z)?),
            _ => Ok(plain),
        }
    }

    /// The factor of `v(z_last)` in `t̂(z) − t(z)`.
    fn cofactor(&self, t: TensorId, z: &[EF]) -> EF {
        self.cofactor_at(t, z, z.len().saturating_sub(1))
    }

    /// The factor of `v(z_var)` in `t̂(z) − t(z)` (`var` not a mask variable: the zk provers
    /// check their bound coordinate).
    fn cofactor_at(&self, t: TensorId, z: &[EF], var: usize) -> EF {
        if let Some(p) = self.layout.committed(t) {
            return match self.layout.polys[p].kind {
                HiddenKind::Weight(_) => self.weight_cofactor(t, p, z, var),
                _ => self.secrets.column_cofactor(self.layout, p, z, var),
            };
        }
        if let Some(vm) = self.vm(t) {
            return vm.cofactor(z, var).unwrap_or(EF::ZERO);
        }
        match self.layout.producer[t.0].and_then(|n| self.layout.wiring[n].as_ref().map(|w| (n, w))) {
            Some((n, Wiring::Add)) => {
                let ins = &self.graph.nodes[n].inputs;
                self.cofactor_at(ins[0], z, var) + self.cofactor_at(ins[1], z, var)
            }
            Some((n, Wiring::Rescale(s))) if s.shift <= 0 => pow2_ef(-s.shift) * self.cofactor_at(self.graph.nodes[n].inputs[0], z, var),
            _ => EF::ZERO,
        }
    }

    /// `R̂_t(a, w)`.
    fn r_hat(&self, t: TensorId, a: EF, w: EF) -> EF {
        match (self.layout.r_poly[t.0], self.layout.r_bits(t)) {
            (Some(p), Some(d)) => self.secrets.hat(self.layout, p, &r_point(d, a, w)).unwrap_or(EF::ZERO),
            _ => EF::ZERO,
        }
    }
}

/// Claims in flight and claims to open (shared by both sides).
struct Router<'a> {
    layout: &'a ZkLayout,
    pending: Vec<Vec<Claim>>,
    finals: Vec<FinalClaim>,
    received: Vec<usize>,
}

impl<'a> Router<'a> {
    fn new(layout: &'a ZkLayout) -> Self {
        let nt = layout.shapes.len();
        Self { layout, pending: vec![Vec::new(); nt], finals: Vec::new(), received: vec![0; nt] }
    }

    /// Routes a claim on tensor `t` (module docs); `public` evaluates a public input (verifier:
    /// compare; prover: nothing).
    fn route(&mut self, t: TensorId, claim: Claim, public: &[Vec<i64>], check_public: bool) -> Result<(), ProofError> {
        self.received[t.0] += 1;
        if self.received[t.0] > self.layout.claims[t.0] {
            return Err(ProofError::check(WHO, format!("tensor {} receives more claims than the layout counts", t.0)));
        }
        if let Some(i) = self.layout.input_index[t.0] {
            if check_public {
                let v = mle_at(&padded_table(&public[i], &self.layout.shapes[t.0]), &claim.point)?;
                if v != claim.value {
                    return Err(ProofError::check(WHO, format!("a false claim on public input {i}")));
                }
            }
            return Ok(());
        }
        match self.layout.column_poly[t.0] {
            Some(p) if !self.layout.outputs.contains(&t) => {
                self.finals.push(FinalClaim { poly: p, point: claim.point, value: claim.value });
            }
            _ => self.pending[t.0].push(claim),
        }
        Ok(())
    }

    fn r_claim(&mut self, t: TensorId, (a, w, value): (EF, EF, EF)) -> Result<(), ProofError> {
        let (p, d) = self.layout.r_poly[t.0].zip(self.layout.r_bits(t)).ok_or_else(|| ProofError::check(WHO, "an R claim on a tensor without an R mask"))?;
        self.finals.push(FinalClaim { poly: p, point: r_point(d, a, w), value });
        Ok(())
    }

    fn mask_claims(&mut self, poly: usize, claims: Vec<(Vec<EF>, EF)>) {
        self.finals.extend(claims.into_iter().map(|(point, value)| FinalClaim { poly, point, value }));
    }

    /// The committed column of graph output `o` (where an anchor is opened).
    fn output_poly(&self, o: TensorId) -> Result<usize, ProofError> {
        self.layout.column_poly[o.0].ok_or_else(|| ProofError::check(WHO, "an output without its column"))
    }

    /// The masked merge's mask polynomial for tensor `out` (which received several claims).
    fn merge_mask(&self, out: TensorId) -> Result<usize, ProofError> {
        self.layout.merge_mask[out.0].map(|(p, _)| p).ok_or_else(|| ProofError::check(WHO, "a merge without its mask"))
    }

    /// Routes a masked merge's `R` and mask claims (mask polynomial `mp`) and returns its one
    /// merged claim on `out`: the same on both sides.
    fn merged(&mut self, out: TensorId, mp: usize, m: MergedClaims) -> Result<Claim, ProofError> {
        for rc in m.r_claims {
            self.r_claim(out, rc)?;
        }
        self.mask_claims(mp, m.mask_claims);
        Ok(Claim::new(m.merged.point, m.merged.value))
    }

    /// A committed output's poly: its claims (final when routed) must all have arrived.
    fn committed_output(&self, y: TensorId) -> Result<usize, ProofError> {
        if self.received[y.0] != self.layout.claims[y.0] {
            return Err(ProofError::check(WHO, format!("tensor {}: {} claims, the layout counts {}", y.0, self.received[y.0], self.layout.claims[y.0])));
        }
        self.layout.committed(y).ok_or_else(|| ProofError::check(WHO, "a committed output without its column"))
    }

    /// A Clamp's committed `y` and its witness columns (`s`, then `a`, `b` or `t`).
    fn clamp_polys(&self, n: usize, y: TensorId) -> Result<(usize, Vec<usize>), ProofError> {
        let py = self.committed_output(y)?;
        let aux = self.layout.aux[n].clone();
        if aux.is_empty() {
            return Err(ProofError::check(WHO, "a clamp without its witness columns"));
        }
        Ok((py, aux))
    }

    /// The Clamp's claims on its committed columns (`t` in the symmetric form: `aux[1]`).
    fn clamped(&mut self, py: usize, aux: &[usize], c: &crate::zk_clamp::ZkClampClaims) {
        let mut push = |poly: usize, cl: &Claim| self.finals.push(FinalClaim { poly, point: cl.point.clone(), value: cl.value });
        push(py, &c.y);
        push(aux[0], &c.s);
        if let (Some(tc), 2) = (&c.t, aux.len()) {
            push(aux[1], tc);
        }
    }

    /// A rounded Rescale's committed `y` and `r` polys; `y`'s claims (final when routed) must all
    /// have arrived.
    fn rescale_polys(&self, n: usize, y: TensorId) -> Result<(usize, usize), ProofError> {
        let py = self.committed_output(y)?;
        let pr = self.layout.remainder[n].ok_or_else(|| ProofError::check(WHO, "a rescale without its remainder"))?;
        Ok((py, pr))
    }

    /// The rounded Rescale's claims on its committed `y` and `r`.
    fn rescaled(&mut self, py: usize, pr: usize, y: Claim, r: Claim) {
        self.finals.push(FinalClaim { poly: py, point: y.point, value: y.value });
        self.finals.push(FinalClaim { poly: pr, point: r.point, value: r.value });
    }

    /// An Argmax's committed gap column.
    fn argmax_gap(&self, n: usize) -> Result<usize, ProofError> {
        self.layout.aux[n].first().copied().ok_or_else(|| ProofError::check(WHO, "an argmax without its gap column"))
    }

    /// An Argmax's claims (the same on both sides): `ĝ(z)` to open, `L̂(z)` and `L̂(ρ)` to the
    /// logits' producer, `R̂_g` on the public output's `R` table (the gap's output mask), the
    /// sumcheck mask's claims.
    #[allow(clippy::too_many_arguments)] // the node's polys and tensors, the claims, the routing's
    fn argmaxed(&mut self, pg: usize, out: TensorId, l: TensorId, mp: usize, c: ZkArgmaxClaims, inputs: &[Vec<i64>], check_public: bool) -> Result<(), ProofError> {
        self.finals.push(FinalClaim { poly: pg, point: c.gap.point, value: c.gap.value });
        let [lz, lr] = c.logits;
        self.route(l, lz, inputs, check_public)?;
        self.route(l, lr, inputs, check_public)?;
        self.r_claim(out, c.r)?;
        self.mask_claims(mp, c.mask_claims);
        Ok(())
    }

    /// A committed column read by the zk lookup phase (a table op's input, looked up with its
    /// output): counts as one of its claims (its leaf claim, made after the walk).
    fn lookup_read(&mut self, x: TensorId) -> Result<(), ProofError> {
        self.received[x.0] += 1;
        if self.received[x.0] > self.layout.claims[x.0] || self.layout.committed(x).is_none() {
            return Err(ProofError::check(WHO, format!("tensor {}: a lookup read beyond its claims, or of a tensor that is not committed", x.0)));
        }
        Ok(())
    }

    /// Takes the claims on node `n`'s output: all its claims must have arrived.
    fn take(&mut self, t: TensorId) -> Result<Vec<Claim>, ProofError> {
        let claims = std::mem::take(&mut self.pending[t.0]);
        if claims.len() != self.layout.claims[t.0] {
            return Err(ProofError::check(WHO, format!("tensor {}: {} claims, the layout counts {}", t.0, claims.len(), self.layout.claims[t.0])));
        }
        Ok(claims)
    }

    fn finish(self) -> Result<Vec<FinalClaim>, ProofError> {
        if let Some(t) = self.pending.iter().position(|p| !p.is_empty()) {
            return Err(ProofError::check(WHO, format!("claims on tensor {t} were never discharged")));
        }
        Ok(self.finals)
    }
}

/// Claims at one point are one claim: an honest `x + x` or `x·x` makes two claims on `x` at the
/// same point (both sides see the points: public). Both keep the first claim of each point and
/// refuse two values at one point (one of them is false). Merged claims then sit at distinct
/// points, as the `R` mask's capacity argument assumes (`zkinfer_sumcheck::zk_virtual`: distinct
/// first coordinates); a dropped duplicate reveals nothing the kept one does not.
fn distinct_points(claims: Vec<Claim>) -> Result<Vec<Claim>, ProofError> {
    let mut out: Vec<Claim> = Vec::with_capacity(claims.len());
    for c in claims {
        match out.iter().find(|o| o.point == c.point) {
            Some(o) if o.value == c.value => {}
            Some(_) => return Err(ProofError::check(WHO, "two claims at one point with different values")),
            None => out.push(c),
        }
    }
    Ok(out)
}

fn node_mask(layout: &ZkLayout, n: usize) -> Result<usize, ProofError> {
    layout.node_mask[n].map(|(p, _)| p).ok_or_else(|| ProofError::check(WHO, format!("node {n} has no sumcheck mask")))
}

fn merge_err(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck("zk merge", e.to_string())
}

/// Prover: the anchors, then the walk (module docs). Precondition: every hidden polynomial of
/// `secrets` is committed and the commitment absorbed into `t`. Returns the claims to open.
pub fn prove_zk_graph(
    layout: &ZkLayout,
    secrets: &ZkSecrets,
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    inputs: &[Vec<i64>],
    t: &mut ProverTranscript,
) -> Result<Vec<FinalClaim>, ProofError> {
    prove_zk_graph_keyed(layout, secrets, None, graph, weights, trace, inputs, t)
}

/// [`prove_zk_graph`] with the weights' randomised extensions from `keyed` (a zk key's ticket;
/// `secrets` sampled with `keyed = true`) when it is `Some`.
#[allow(clippy::too_many_arguments)] // the layout, the secrets, the statement and the witness
pub fn prove_zk_graph_keyed(
    layout: &ZkLayout,
    secrets: &ZkSecrets,
    keyed: Option<&dyn KeyedWeights>,
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    inputs: &[Vec<i64>],
    t: &mut ProverTranscript,
) -> Result<Vec<FinalClaim>, ProofError> {
    let vals = Values { layout, secrets, graph, weights, trace, inputs, keyed };
    let mut router = Router::new(layout);
    // Anchors: each output column opened at a fresh point.
    for &o in graph.outputs.iter().filter(|o| !layout.public[o.0]) {
        let p = router.output_poly(o)?;
        let point = t.challenge_exts(layout.polys[p].num_vars);
        let value = secrets.hat(layout, p, &point)?;
        t.send_ext(value);
        router.finals.push(FinalClaim { poly: p, point: point.clone(), value });
        router.route(o, Claim::new(point, value), inputs, false)?;
    }
    for n in (0..graph.nodes.len()).rev() {
        let Some(w) = &layout.wiring[n] else { continue };
        let node = &graph.nodes[n];
        let out = node.output;
        if let Wiring::Rescale(s) = w {
            let x = node.inputs[0];
            if s.shift > 0 {
                let (py, pr) = router.rescale_polys(n, out)?;
                let hat = |p: usize| move |z: &[EF]| secrets.hat(layout, p, z).unwrap_or(EF::ZERO);
                let c = prove_rescale_zk(s, &hat(py), &hat(pr), t)?;
                router.rescaled(py, pr, c.y, c.r);
                router.route(x, c.x, inputs, false)?;
            } else {
                for c in scaled_input_claims_zk(s, router.take(out)?)? {
                    router.route(x, c, inputs, false)?;
                }
            }
            continue;
        }
        if let Wiring::Clamp(s) = w {
            let x = node.inputs[0];
            let (py, aux) = router.clamp_polys(n, out)?;
            let mp = node_mask(layout, n)?;
            let mask = secrets.sumcheck_masks[mp].as_ref().ok_or_else(|| ProofError::check(WHO, "a node mask missing"))?;
            let cof = |p: usize| move |z: &[EF]| secrets.column_cofactor(layout, p, z, z.len() - 1);
            let (cy, cs) = (cof(py), cof(aux[0]));
            let ct = |z: &[EF]| aux.get(1).filter(|_| aux.len() == 2).map_or(EF::ZERO, |&p| secrets.column_cofactor(layout, p, z, z.len() - 1));
            let cx = |z: &[EF]| vals.cofactor(x, z);
            let masks = ZkClampMasks { y: &cy, s: &cs, t: &ct, x: &cx };
            let c = prove_clamp_zk(s, &vals.values(x)?, &vals.values(out)?, &masks, mask, t)?;
            router.clamped(py, &aux, &c);
            router.route(x, c.x, inputs, false)?;
            router.mask_claims(mp, c.mask_claims);
            continue;
        }
        if let Wiring::Softmax(s) = w {
            softmax::prove(layout, secrets, &vals, &mut router, graph, n, s, inputs, t)?;
            continue;
        }
        if let Wiring::Rope(s) = w {
            rope::prove(layout, secrets, &vals, &mut router, graph, n, s, inputs, t)?;
            continue;
        }
        if let Wiring::TableOp(_) = w {
            router.committed_output(out)?;
            router.lookup_read(node.inputs[0])?;
            continue;
        }
        if let Wiring::Argmax(s) = w {
            let l = node.inputs[0];
            let pg = router.argmax_gap(n)?;
            let mp = node_mask(layout, n)?;
            let mask = secrets.sumcheck_masks[mp].as_ref().ok_or_else(|| ProofError::check(WHO, "a node mask missing"))?;
            let gap_hat = |z: &[EF]| secrets.hat(layout, pg, z).unwrap_or(EF::ZERO);
            let logits_hat = |z: &[EF]| vals.hat(l, z).unwrap_or(EF::ZERO);
            let logits_cof = |z: &[EF]| vals.cofactor(l, z);
            let r_hat = |a: EF, w: EF| vals.r_hat(out, a, w);
            let masks = ZkArgmaxMasks { gap_hat: &gap_hat, logits_hat: &logits_hat, logits_cof: &logits_cof, r_hat: &r_hat };
            let c = prove_argmax_zk(s, &vals.values(l)?, &masks, mask, t)?;
            router.argmaxed(pg, out, l, mp, c, inputs, false)?;
            continue;
        }
        if let Wiring::Norm(s) = w {
            norm::prove_node(&vals, &mut router, n, s, t)?;
            continue;
        }
        let claims = router.take(out)?;
        if let Wiring::Add = w {
            for c in claims {
                let a_hat = |z: &[EF]| vals.hat(node.inputs[0], z).unwrap_or(EF::ZERO);
                let [ca, cb] = prove_add_zk(tensor_vars(&layout.shapes[out.0]), &c, &a_hat, t)?;
                router.route(node.inputs[0], ca, inputs, false)?;
                router.route(node.inputs[1], cb, inputs, false)?;
            }
            continue;
        }
        // One claim for the producer: merged when there are several (at distinct points).
        let claims = distinct_points(claims)?;
        let claim = if claims.len() >= 2 {
            let mp = router.merge_mask(out)?;
            let mask = secrets.sumcheck_masks[mp].as_ref().ok_or_else(|| ProofError::check(WHO, "a merge mask missing"))?;
            let y = padded_table(&vals.values(out)?, &layout.shapes[out.0]);
            let vcs: Vec<VirtualClaim> = claims.into_iter().map(|c| VirtualClaim { point: c.point, value: c.value }).collect();
            let r_hat = |a: EF, w: EF| vals.r_hat(out, a, w);
            let cof = |z: &[EF]| vals.cofactor(out, z);
            let m = prove_merge_zk(&y, &vcs, &r_hat, &cof, mask, t).map_err(merge_err)?;
            router.merged(out, mp, m)?
        } else {
            claims.into_iter().next().ok_or_else(|| ProofError::check(WHO, "no claim"))?
        };
        let mp = node_mask(layout, n)?;
        let mask = secrets.sumcheck_masks[mp].as_ref().ok_or_else(|| ProofError::check(WHO, "a node mask missing"))?;
        let r0 = claim.point[0];
        let r_hat = |w: EF| vals.r_hat(out, r0, w);
        match w {
            Wiring::MatMul(s) => {
                let (x, wt) = (node.inputs[0], node.inputs[1]);
                let b = node.inputs.get(2).copied();
                let cx = |z: &[EF]| vals.cofactor(x, z);
                let cw = |z: &[EF]| vals.cofactor(wt, z);
                let cb = |z: &[EF]| b.map_or(EF::ZERO, |b| vals.cofactor(b, z));
                let masks = ZkMatMulMasks { x: &cx, w: &cw, b: b.map(|_| &cb as &(dyn Fn(&[EF]) -> EF + Sync)), r_hat: &r_hat };
                let bv = b.map(|b| vals.values(b)).transpose()?;
                let c = prove_matmul_zk(s, &vals.values(x)?, &vals.values(wt)?, bv.as_deref(), &claim, &masks, mask, t)?;
                router.route(x, c.x, inputs, false)?;
                router.route(wt, c.w, inputs, false)?;
                if let (Some(b), Some(cb)) = (b, c.b) {
                    router.route(b, cb, inputs, false)?;
                }
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::BatchedMatMul(s) => {
                let (a, b) = (node.inputs[0], node.inputs[1]);
                let ca = |z: &[EF]| vals.cofactor(a, z);
                let cb = |z: &[EF], var: usize| vals.cofactor_at(b, z, var);
                let masks = ZkBatchedMasks { a: &ca, b: &cb, r_hat: &r_hat };
                let c = prove_batched_matmul_zk(s, &vals.values(a)?, &vals.values(b)?, &claim, &masks, mask, t)?;
                router.route(a, c.a, inputs, false)?;
                router.route(b, c.b, inputs, false)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::Mul => {
                let (a, b) = (node.inputs[0], node.inputs[1]);
                let nv = tensor_vars(&layout.shapes[out.0]);
                let (ca, cb) = (|z: &[EF]| vals.cofactor(a, z), |z: &[EF]| vals.cofactor(b, z));
                let pad = |t: TensorId| -> Result<Vec<i64>, ProofError> { Ok(padded_i64(&vals.values(t)?, &layout.shapes[t.0])) };
                let c = prove_mul_zk(nv, &pad(a)?, &pad(b)?, &claim, &ca, &cb, &r_hat, mask, t)?;
                router.route(a, c.a, inputs, false)?;
                router.route(b, c.b, inputs, false)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::Embedding(s) => {
                let table = node.inputs[1];
                let cof = |z: &[EF], var: usize| layout.column_poly[table.0].map_or(EF::ZERO, |p| vals.weight_cofactor(table, p, z, var));
                let masks = ZkEmbeddingMasks { table: &cof, r_hat: &r_hat };
                let c = prove_embedding_zk(s, &vals.values(table)?, &claim, &masks, mask, t)?;
                router.route(table, c.table, inputs, false)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::IndexMap(map, k) => {
                let x = node.inputs[*k];
                let cx = |z: &[EF]| vals.cofactor(x, z);
                let c = prove_index_map_zk(map, &vals.values(x)?, &claim, &cx, &r_hat, mask, t)?;
                router.route(x, c.x, inputs, false)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::Add | Wiring::Rescale(_) | Wiring::Clamp(_) | Wiring::Argmax(_) | Wiring::TableOp(_) | Wiring::Norm(_) | Wiring::Softmax(_) | Wiring::Rope(_) => {}
        }
    }
    range::prove_ranges(layout, secrets, &mut router, t)?;
    router.finish()
}

/// Verifier side of [`prove_zk_graph`]: the claims to open against the commitment (absorbed into
/// `t` by the caller), or the refusal.
pub fn verify_zk_graph(layout: &ZkLayout, graph: &Graph, inputs: &[Vec<i64>], t: &mut VerifierTranscript<'_>) -> Result<Vec<FinalClaim>, ProofError> {
    verify_zk_graph_with(layout, graph, inputs, t, true)
}

/// [`verify_zk_graph`]; `ranges = false` skips the range checks (tests: the control that shows
/// they are what refuses an out-of-range witness).
fn verify_zk_graph_with(layout: &ZkLayout, graph: &Graph, inputs: &[Vec<i64>], t: &mut VerifierTranscript<'_>, ranges: bool) -> Result<Vec<FinalClaim>, ProofError> {
    let recv = |t: &mut VerifierTranscript<'_>| t.receive_ext().map_err(|e| ProofError::check(WHO, e.to_string()));
    let mut router = Router::new(layout);
    for &o in graph.outputs.iter().filter(|o| !layout.public[o.0]) {
        let p = router.output_poly(o)?;
        let point = t.challenge_exts(layout.polys[p].num_vars);
        let value = recv(t)?;
        router.finals.push(FinalClaim { poly: p, point: point.clone(), value });
        router.route(o, Claim::new(point, value), inputs, true)?;
    }
    for n in (0..graph.nodes.len()).rev() {
        let Some(w) = &layout.wiring[n] else { continue };
        let node = &graph.nodes[n];
        let out = node.output;
        if let Wiring::Rescale(s) = w {
            let x = node.inputs[0];
            if s.shift > 0 {
                let (py, pr) = router.rescale_polys(n, out)?;
                let c = verify_rescale_zk(s, t)?;
                router.rescaled(py, pr, c.y, c.r);
                router.route(x, c.x, inputs, true)?;
            } else {
                for c in scaled_input_claims_zk(s, router.take(out)?)? {
                    router.route(x, c, inputs, true)?;
                }
            }
            continue;
        }
        if let Wiring::Clamp(s) = w {
            let (py, aux) = router.clamp_polys(n, out)?;
            let mp = node_mask(layout, n)?;
            let c = verify_clamp_zk(s, t)?;
            router.clamped(py, &aux, &c);
            router.route(node.inputs[0], c.x, inputs, true)?;
            router.mask_claims(mp, c.mask_claims);
            continue;
        }
        if let Wiring::Softmax(s) = w {
            softmax::verify(layout, &mut router, graph, n, s, inputs, t)?;
            continue;
        }
        if let Wiring::Rope(s) = w {
            rope::verify(layout, &mut router, graph, n, s, inputs, t)?;
            continue;
        }
        if let Wiring::TableOp(_) = w {
            router.committed_output(out)?;
            router.lookup_read(node.inputs[0])?;
            continue;
        }
        if let Wiring::Argmax(s) = w {
            let pg = router.argmax_gap(n)?;
            let mp = node_mask(layout, n)?;
            let c = verify_argmax_zk(s, t)?;
            router.argmaxed(pg, out, node.inputs[0], mp, c, inputs, true)?;
            continue;
        }
        if let Wiring::Norm(s) = w {
            norm::verify_node(layout, graph, inputs, &mut router, n, s, t)?;
            continue;
        }
        let claims = router.take(out)?;
        if let Wiring::Add = w {
            for c in claims {
                let [ca, cb] = verify_add_zk(tensor_vars(&layout.shapes[out.0]), &c, t)?;
                router.route(node.inputs[0], ca, inputs, true)?;
                router.route(node.inputs[1], cb, inputs, true)?;
            }
            continue;
        }
        let claims = distinct_points(claims)?;
        let claim = if claims.len() >= 2 {
            let mp = router.merge_mask(out)?;
            let vcs: Vec<VirtualClaim> = claims.into_iter().map(|c| VirtualClaim { point: c.point, value: c.value }).collect();
            let m = verify_merge_zk(tensor_vars(&layout.shapes[out.0]), &vcs, t).map_err(merge_err)?;
            router.merged(out, mp, m)?
        } else {
            claims.into_iter().next().ok_or_else(|| ProofError::check(WHO, "no claim"))?
        };
        let mp = node_mask(layout, n)?;
        match w {
            Wiring::MatMul(s) => {
                let c = verify_matmul_zk(s, &claim, t)?;
                router.route(node.inputs[0], c.x, inputs, true)?;
                router.route(node.inputs[1], c.w, inputs, true)?;
                match (node.inputs.get(2), c.b) {
                    (Some(&b), Some(cb)) => router.route(b, cb, inputs, true)?,
                    (None, None) => {}
                    _ => return Err(ProofError::check(WHO, "a bias claim without a bias")),
                }
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::BatchedMatMul(s) => {
                let c = verify_batched_matmul_zk(s, &claim, t)?;
                router.route(node.inputs[0], c.a, inputs, true)?;
                router.route(node.inputs[1], c.b, inputs, true)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::Mul => {
                let c = verify_mul_zk(tensor_vars(&layout.shapes[out.0]), &claim, t)?;
                router.route(node.inputs[0], c.a, inputs, true)?;
                router.route(node.inputs[1], c.b, inputs, true)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::Embedding(s) => {
                let c = verify_embedding_zk(s, &claim, t)?;
                router.route(node.inputs[1], c.table, inputs, true)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::IndexMap(map, k) => {
                let c = verify_index_map_zk(map, &claim, t)?;
                router.route(node.inputs[*k], c.x, inputs, true)?;
                router.r_claim(out, c.r)?;
                router.mask_claims(mp, c.mask_claims);
            }
            Wiring::Add | Wiring::Rescale(_) | Wiring::Clamp(_) | Wiring::Argmax(_) | Wiring::TableOp(_) | Wiring::Norm(_) | Wiring::Softmax(_) | Wiring::Rope(_) => {}
        }
    }
    if ranges {
        range::verify_ranges(layout, &mut router, t)?;
    }
    router.finish()
}

/// The hidden polynomials committed in the proof's own hiding batch, in layout order: all of
/// them, or (`keyed`) all but the weights, which a zk key's ticket commits
/// ([`KeyedWeights`]). Position `j` of the batch is layout polynomial `batch_polys(..)[j]`.
pub fn batch_polys(layout: &ZkLayout, keyed: bool) -> Vec<usize> {
    (0..layout.polys.len()).filter(|&i| !(keyed && matches!(layout.polys[i].kind, HiddenKind::Weight(_)))).collect()
}

/// [`commit_hidden`] of the batch polynomials only ([`batch_polys`]).
pub fn commit_hidden_batch<R: CryptoRng + ?Sized>(pcs: &HidingPcs, layout: &ZkLayout, secrets: &ZkSecrets, keyed: bool, rng: &mut R) -> Result<(HidingCommitment, HidingProverData), ProofError> {
    let ids = batch_polys(layout, keyed);
    let polys: Vec<&[F]> = ids.iter().map(|&i| secrets.tables[i].0.as_slice()).collect();
    let masks: Vec<&[F]> = ids.iter().map(|&i| secrets.tables[i].1.as_slice()).collect();
    let (vanishing, a) = commitment_shape(layout);
    let vanishing: Vec<Vanishing> = ids.iter().map(|&i| vanishing[i]).collect();
    let a: Vec<usize> = ids.iter().map(|&i| a[i]).collect();
    pcs.commit_with_masks(&polys, &vanishing, &masks, &a, rng).map_err(|e| ProofError::check(WHO, format!("hiding commitment: {e}")))
}

/// The commitment of the batch polynomials ([`batch_polys`]) under `root`, its shape (sizes,
/// vanishing kinds, mask degrees) the layout's: what a verifier that receives only the root
/// checks the opening against.
pub fn batch_commitment(layout: &ZkLayout, keyed: bool, root: MerkleRoot) -> HidingCommitment {
    let ids = batch_polys(layout, keyed);
    let (vanishing, a) = commitment_shape(layout);
    HidingCommitment {
        root,
        poly_num_vars: ids.iter().map(|&i| layout.polys[i].num_vars).collect(),
        vanishing: ids.iter().map(|&i| vanishing[i]).collect(),
        mask_degree_bits: ids.iter().map(|&i| a[i]).collect(),
    }
}

/// [`check_commitment`] of the batch polynomials only ([`batch_polys`]).
pub fn check_commitment_batch(layout: &ZkLayout, keyed: bool, com: &HidingCommitment) -> Result<(), ProofError> {
    let want = batch_commitment(layout, keyed, com.root.clone());
    if com.poly_num_vars != want.poly_num_vars || com.vanishing != want.vanishing || com.mask_degree_bits != want.mask_degree_bits {
        return Err(ProofError::check(WHO, "the commitment's shape is not the graph's layout"));
    }
    Ok(())
}

/// Splits the driver's final claims: those on the batch ([`batch_polys`], re-indexed to batch
/// positions) and (`keyed`) those on weights, each with its weight tensor.
pub fn split_claims(layout: &ZkLayout, keyed: bool, claims: &[FinalClaim]) -> Result<(Vec<OpeningClaim>, Vec<(TensorId, FinalClaim)>), ProofError> {
    let mut position = vec![None; layout.polys.len()];
    for (j, i) in batch_polys(layout, keyed).into_iter().enumerate() {
        position[i] = Some(j);
    }
    let (mut batch, mut weights) = (Vec::new(), Vec::new());
    for c in claims {
        let p = layout.polys.get(c.poly).ok_or_else(|| ProofError::check(WHO, format!("a claim on hidden polynomial {}, which is not in the layout", c.poly)))?;
        match (position[c.poly], p.kind) {
            (Some(j), _) => batch.push(OpeningClaim { poly: j, point: c.point.clone(), value: c.value }),
            (None, HiddenKind::Weight(t)) => weights.push((t, c.clone())),
            (None, _) => return Err(ProofError::check(WHO, "a claim on a polynomial outside the batch")),
        }
    }
    Ok((batch, weights))
}

/// The hiding batch of the hidden polynomials, in layout order (`Vanishing::All` for weights and
/// output columns, `Last` for `R` and mask tables; each with its sampled PCS mask and degree
/// bits): one commitment, absorbed by the caller before [`prove_zk_graph`].
pub fn commit_hidden<R: CryptoRng + ?Sized>(pcs: &HidingPcs, layout: &ZkLayout, secrets: &ZkSecrets, rng: &mut R) -> Result<(HidingCommitment, HidingProverData), ProofError> {
    let polys: Vec<&[F]> = secrets.tables.iter().map(|(t, _)| t.as_slice()).collect();
    let masks: Vec<&[F]> = secrets.tables.iter().map(|(_, m)| m.as_slice()).collect();
    let (vanishing, a) = commitment_shape(layout);
    pcs.commit_with_masks(&polys, &vanishing, &masks, &a, rng).map_err(|e| ProofError::check(WHO, format!("hiding commitment: {e}")))
}

fn commitment_shape(layout: &ZkLayout) -> (Vec<Vanishing>, Vec<usize>) {
    let vanishing = layout.polys.iter().map(HiddenPoly::vanishing).collect();
    (vanishing, layout.polys.iter().map(|p| p.mask_degree_bits).collect())
}

/// The verifier's check that a commitment has the layout's shape (polynomial sizes, vanishing
/// kinds, mask degrees): a commitment with other masks than the layout's would hide other
/// capacities, or tie nothing.
pub fn check_commitment(layout: &ZkLayout, com: &HidingCommitment) -> Result<(), ProofError> {
    let (vanishing, a) = commitment_shape(layout);
    let sizes: Vec<usize> = layout.polys.iter().map(|p| p.num_vars).collect();
    if com.poly_num_vars != sizes || com.vanishing != vanishing || com.mask_degree_bits != a {
        return Err(ProofError::check(WHO, "the commitment's shape is not the graph's layout"));
    }
    Ok(())
}

fn opening_claims(claims: &[FinalClaim]) -> Vec<OpeningClaim> {
    claims.iter().map(|c| OpeningClaim { poly: c.poly, point: c.point.clone(), value: c.value }).collect()
}

/// A zk graph proof with its hiding opening: the commitment and the transcript (walk, then the
/// opening of every final claim).
#[derive(Debug, Clone)]
pub struct ZkGraphProof {
    /// The hiding commitment of every hidden polynomial.
    pub commitment: HidingCommitment,
    /// The transcript bytes.
    pub transcript: Vec<u8>,
}

/// Proves `graph` on `trace` in zero knowledge: samples the secrets, commits them in one hiding
/// batch, walks, and opens every final claim with the hiding opening. `rng`: cryptographic,
/// unpredictably seeded. (The weights are committed in this batch: binding them to a zk key's
/// weight commitment is the proof level's, `zkinfer_proof::zk`.)
#[allow(clippy::too_many_arguments)] // the statement, the witness and the randomness
pub fn prove_zk_graph_hiding<R: CryptoRng + ?Sized>(
    pcs: &HidingPcs,
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    inputs: &[Vec<i64>],
    ds: &DomainSeparator,
    rng: &mut R,
) -> Result<ZkGraphProof, ProofError> {
    let layout = ZkLayout::new(graph, inputs)?;
    let secrets = ZkSecrets::sample(&layout, graph, weights, trace, rng)?;
    let (commitment, data) = commit_hidden(pcs, &layout, &secrets, rng)?;
    let mut t = ProverTranscript::new(ds);
    pcs.absorb_commitment(&commitment, &mut t);
    let claims = prove_zk_graph(&layout, &secrets, graph, weights, trace, inputs, &mut t)?;
    layout.check_final_claims(graph, &claims)?;
    pcs.open(data, &opening_claims(&claims), &mut t, rng).map_err(|e| ProofError::check(WHO, format!("hiding opening: {e}")))?;
    Ok(ZkGraphProof { commitment, transcript: t.into_proof() })
}

/// Verifier side of [`prove_zk_graph_hiding`].
pub fn verify_zk_graph_hiding(pcs: &HidingPcs, graph: &Graph, inputs: &[Vec<i64>], ds: &DomainSeparator, proof: &ZkGraphProof) -> Result<(), ProofError> {
    let layout = ZkLayout::new(graph, inputs)?;
    check_commitment(&layout, &proof.commitment)?;
    let mut t = VerifierTranscript::new(ds, &proof.transcript);
    pcs.absorb_commitment(&proof.commitment, &mut t);
    let claims = verify_zk_graph(&layout, graph, inputs, &mut t)?;
    pcs.verify(&proof.commitment, &opening_claims(&claims), &mut t).map_err(|e| ProofError::check(WHO, format!("hiding opening: {e}")))?;
    t.finish().map_err(|e| ProofError::check(WHO, e.to_string()))
}

#[cfg(test)]
#[path = "zk_graph_tests.rs"]
mod tests;
