//! The zk graph driver's committed witness columns and their range checks (a child module of
//! `crate::zk_graph`): a rounded Rescale's output `y` and remainder `r`, a Clamp's `y`, `s` and
//! gaps or magnitude, as hidden polynomials with the right masks, their limbs, the affine
//! relations, and the **zk lookup phase** at the end of the walk.
//!
//! # Columns and masks
//!
//! A rounded Rescale (`s > 0`, `crate::zk_rescale`) commits `y` (its padded tensor, a
//! [`HiddenKind::Column`] with a uniform mask `M_y` of degree bits 1) and `r` (its padded
//! remainders `x + 2^(s−1)·V − 2^s·y`, zero on the padding, a [`HiddenKind::Remainder`] whose mask
//! is TIED: `M_r = Σ_w R_x(z_0, w) − 2^s·M_y`, degree bits `d_x` of the input's `R` mask,
//! `crate::zk_rescale::tied_remainder_mask`), so that `2^s·ŷ + r̂ − 2^(s−1)·V` is the producer's
//! `x̂` and the input claim the Rescale derives is discharged by the producer. Both columns are
//! committed dense (`Vanishing::All`), as the tie needs (`crate::zk_rescale`, "Wiring constraint").
//!
//! # Range checks (the public protocol's, `crate::ops::rescale`)
//!
//! `y` signed in `out_bits + 1` bits (`|y| < 2^out_bits`, the graph's bound on the output) and
//! `r ∈ [0, 2^s)`. A check of `b ≤ 16` unsigned bits looks the column itself up in
//! `Table::range(b)`; any other goes through limbs: `C + o = Σ_j 2^{16j}·L_j` (`o = 2^(b−1)` if
//! signed, else 0; limb `j` of width `min(16, b − 16j)` looked up in its range table), each limb a
//! [`HiddenKind::Limb`] of the column's mask degree; limbs `j ≥ 1` with uniform masks, limb 0's
//! tied (`M_0 = M_C − Σ_{j≥1} 2^{16j}·M_j`, `crate::zk_rescale::tie_first_limb`) so that
//! `Ĉ + o − Σ_j 2^{16j}·L̂_j` is the multilinear `C + o − Σ_j 2^{16j}·L_j` — whose vanishing is
//! checked at a random point `q` (no boolean coordinate: refused otherwise) from the sent
//! `Ĉ(q)`, `L̂_j(q)`. Every column is a whole padded tensor of `≥ 2^5` entries (refused
//! otherwise): its committed polynomial is exactly the zk logUp's committed column
//! (`zkinfer_lookup::zk_logup::zk_committed_column` pads nothing), and the padding entries
//! (`y = r = 0`, limbs of the offset) are in range.
//!
//! # Clamp's columns (`crate::zk_clamp`)
//!
//! A Clamp commits `y` (uniform mask), `s = |x − y|` (uniform, range-checked to the public op's
//! `over` bits) and either the gaps `a = y − lo·χ`, `b = hi·χ − y` (the gap form; range-checked to
//! `bits`) or the magnitude `t = |y|` (the symmetric form, `k ≥ 16`; uniform mask, `k` bits): the
//! public op's range checks (`crate::ops::clamp`), its no-wrap argument unchanged (`widths`, run
//! when the layout is built). The gaps are committed columns whose masks are `±M_y`, tied to `y`
//! by **affine relations** `col = Σ_k c_k·P_k + e·χ` ([`Affine`]; `χ` the public extent indicator,
//! its MLE `crate::witness::extent_indicator`): with the masks tied the same way the difference
//! `ĉol − Σ c_k·P̂_k − e·χ` is the multilinear `col − Σ c_k·P_k − e·χ`, checked to vanish at a
//! random point from the sent values (exact on the cube then, `n/|EF|`; the values are field
//! identities of integers below `2^62`, the public op's widths). Zero knowledge: `â(q) − ŷ(q)` is
//! the public `−lo·χ(q)`; each relation reads `M_y` at one fresh point, and each gap's range check
//! at one or two more — counted in `y`'s capacity (`claims + 1 + 2 + 2·points`, refused beyond 16).
//! The zk Clamp sends `χ(ρ)` itself (public; 1 for an unpadded tensor, the same in every run).
//!
//! # An Argmax's gaps (`crate::zk_argmax`)
//!
//! The gaps `g[t, j] = L[t, a_t] − L[t, j] − [j < a_t]` (the public ids `a_t`; 0 on padding) are a
//! committed column ([`HiddenKind::Aux`] index 0) whose mask is TIED,
//! `M_g = Σ_w R_g(z_0, w) − Σ_w R_L(z_0, w)` (`crate::zk_rescale::tied_mask` of the public
//! output's `R` table `R_g` and the logits' `R_L`), range-checked to `[0, 2^(b+1))` (`|L| < 2^b`)
//! through limbs (`b + 1 > 16`). **No wrap:** the public op's (`ArgmaxProof::gap_bits`, run when the
//! layout is built: `b + 1 ≤ 62`, `|L[a] − L[j] − [j < a]| < 2^(b+1)`), so the field relation the
//! zk sumcheck checks is the integer one, and `g ≥ 0` on every entry says `a_t` is row `t`'s first
//! maximum. The range check's points read `R_L` (counted in `zk_extra_r_load`) and `R_g` (sized
//! for them).
//!
//! # Table ops' lookups ([`TableLookup`])
//!
//! A table op (GELU, SiLU, soft-cap) commits its output `y` (uniform mask) and looks up the rows
//! `(x, y)` — `x` the input's own committed column, `y` the output's — in its public function
//! table, in the one zk logUp below (function tables grouped by content digest: both layers' GELUs
//! share one statement). No field relation is introduced: the lookup says each row is a table
//! row; the padding rows `(0, 0)` are table rows (the tables map 0 to 0). Zero knowledge: the
//! leaf reads `x̂` and `ŷ` once each, counted in their masks' capacities (`x`'s as one of its
//! claims, `y`'s with its consumers').
//!
//! # The lookup phase
//!
//! After the walk: the affine relations, the limb relations, then ONE zero-knowledge logUp
//! (`zkinfer_lookup::zk_logup::prove_lookups_zk`) over every statement (one per table width), the
//! looked-up columns, the multiplicities ([`HiddenKind::Multiplicities`]) and the logUp's masks
//! ([`HiddenKind::LookupMask`]) all in the driver's one hiding batch; its claims are final claims.
//! The logUp's leaf claims are on `P̂ = P + z_last(1 − z_last)·H`: for a dense column
//! (`Vanishing::All`) `H = Π_{i<last} z_i(1 − z_i)·M(z_{<μ})`, independent of `z_last` because the
//! column has `≥ 5 > μ` variables; for the multiplicities and masks (`Vanishing::Last`) `H = M`.
//!
//! # Soundness and no wrap
//!
//! The Rescale's relation and its no-wrap argument are the public ones (`crate::ops::rescale`;
//! `crate::bounds::check_rounding` with the input's static bound `|x| < 2^in_bits` and
//! `y ∈ [−2^out_bits, 2^out_bits)`, checked here when the layout is built). The limb relation is an
//! identity of multilinear polynomials checked at a random point (`n/|EF|`), hence entrywise in
//! the field; over the integers: each limb is in `[0, 2^16)` (its lookup), so
//! `Σ_j 2^{16j}·L_j ∈ [0, 2^b)` with `b ≤ 62 < log2 p`, and `C = Σ_j 2^{16j}·L_j − o` lies in
//! `[−o, 2^b − o)` as an integer: exactly the range claimed. The zk logUp's error is its module's
//! (`docs/SECURITY.md`, "Zero-knowledge logUp").
//!
//! # Zero knowledge
//!
//! Sent: `Ĉ(q)`, `L̂_j(q)` and the zk logUp's messages (its simulator). Capacities (checked by the
//! layout): `M_y` (16 evaluations at `μ = 4`) covers `y`'s consumers' claims, the Rescale's point
//! `z`, `y`'s limb points (`q` and the leaf) and `r`'s fresh points (`M_r` contains `M_y`); the
//! input's `R_x` is sized for its claims plus `r`'s fresh points (`VirtualMask::bits_for`); limbs
//! `j ≥ 1` are read at two points each; multiplicities and the logUp's masks at their leaf or
//! GKR points, as in `zkinfer_lookup::zk_logup`. Leaks: the shapes, the range widths (public in
//! the graph), the claim counts.

use std::collections::BTreeMap;

use rand10::rngs::StdRng;
use rand10::{Rng, RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked, lift};
use zkinfer_graph::graph::{Graph, IntTrace, TensorId};
use zkinfer_lookup::zk_logup::{MIN_BLOCK_VARS, ZkLookupMasks, ZkLookupPoly, prove_lookups_zk, verify_lookups_zk, zk_multiplicity_vars};
use zkinfer_lookup::{LookupColumn, LookupInstance, Table};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use super::{FinalClaim, HiddenKind, HiddenPoly, Router, WHO, Wiring, ZkLayout, ZkSecrets, padded_i64, refused, tensor_vars};
use crate::bounds::{Interval, check_rounding};
use crate::error::ProofError;
use crate::witness::extent_indicator;
use crate::zk_rescale::{mask_table_len, tie_first_limb, tied_copy_mask, tied_mask, tied_remainder_mask};

const LIMB_BITS: u32 = 16;

/// A range check of a committed column (module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RangeCheck {
    /// The checked column's poly.
    pub col: usize,
    /// `2^(b−1)` for a signed check, else 0.
    pub offset: u64,
    /// `b`.
    pub bits: u32,
    /// The limbs' polys and widths (empty: the column is looked up itself).
    pub limbs: Vec<(usize, u32)>,
}

/// An affine relation `col = Σ_k c_k·P_k + e·χ` between committed columns (`χ` the public extent
/// indicator of `dims`), the masks tied the same way (`M_col = Σ_k c_k·M_k`): checked at a random
/// point like a limb relation (a Clamp's gaps `a = y − lo·χ`, `b = hi·χ − y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Affine {
    pub col: usize,
    pub terms: Vec<(usize, i64)>,
    pub chi: i64,
    pub dims: Vec<usize>,
}

/// The layout's tables `committed_columns` fills (and the other ops' column functions:
/// `zk_graph`'s child modules push their columns, range checks, affine relations and table
/// lookups here).
pub(super) struct Committed<'a> {
    pub column_poly: &'a mut [Option<usize>],
    pub remainder: Vec<Option<usize>>,
    pub aux: Vec<Vec<usize>>,
    pub ranges: Vec<RangeCheck>,
    pub affine: Vec<Affine>,
    /// Lookups of committed columns in public tables (function tables, or a range table for a
    /// column that is not a [`RangeCheck`]'s): proven in the same one zk logUp as the ranges.
    pub lookups: Vec<TableLookup>,
}

/// A lookup of committed columns in a public table: per looked-up column its components' polys
/// (a function table: input then output, e.g. a table op's `(x, y)` or softmax's `(δ, e)`; a range
/// table: one). Every component is a whole padded tensor of `≥ 2^5` entries committed with
/// `Vanishing::All` (the zk logUp's committed column, as for the range checks), the components of
/// one column of one size; registered with [`TableLookup::new`], which checks that. Lookups in
/// one table (by content digest) share one statement and one multiplicity column.
#[derive(Debug, Clone)]
pub(super) struct TableLookup {
    pub table: Table,
    pub columns: Vec<Vec<usize>>,
}

impl TableLookup {
    /// Refuses components of different sizes, not dense, below `2^5` entries, or of another
    /// count than the table's arity.
    pub fn new(table: Table, columns: Vec<Vec<usize>>, polys: &[HiddenPoly]) -> Result<Self, ProofError> {
        for col in &columns {
            let first = col.first().and_then(|&c| polys.get(c)).ok_or_else(|| ProofError::shape(WHO, "a looked-up column without components"))?;
            let ok = col.len() == table.arity()
                && col.iter().all(|&c| polys.get(c).is_some_and(|p| p.num_vars == first.num_vars && p.all && p.num_vars >= MIN_BLOCK_VARS));
            if !ok {
                return Err(ProofError::shape(WHO, format!("a lookup in a table of arity {} with components {col:?}: not one dense size of ≥ 2^{MIN_BLOCK_VARS} entries", table.arity())));
            }
        }
        Ok(Self { table, columns })
    }
}

/// One lookup statement: a table and the polys looked up in it (per column its components).
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub table: Table,
    pub columns: Vec<Vec<usize>>,
    /// The multiplicities' poly.
    pub mult: usize,
}

fn direct(bits: u32, signed: bool) -> bool {
    !signed && bits <= LIMB_BITS
}

/// Fresh points at which a range check of `bits` reads its column's mask: the leaf of a direct
/// lookup; or `q` and limb 0's leaf. 0 for no check (`bits = 0`).
pub(super) fn points_per_check(bits: u32, signed: bool) -> usize {
    match bits {
        0 => 0,
        _ if direct(bits, signed) => 1,
        _ => 2,
    }
}

/// The range check of committed column `col` to `bits` bits (signed: `[−2^(b−1), 2^(b−1))`,
/// else `[0, 2^b)`), with its limb polys pushed (module docs).
pub(super) fn range_check(polys: &mut Vec<HiddenPoly>, col: usize, bits: u32, signed: bool) -> RangeCheck {
    let offset = if signed { 1u64 << (bits - 1) } else { 0 };
    let mut limbs = Vec::new();
    if !direct(bits, signed) {
        let (num_vars, a) = (polys[col].num_vars, polys[col].mask_degree_bits);
        for j in 0..bits.div_ceil(LIMB_BITS) {
            limbs.push((polys.len(), (bits - j * LIMB_BITS).min(LIMB_BITS)));
            polys.push(HiddenPoly { kind: HiddenKind::Limb { of: col, j: j as usize }, num_vars, all: true, mask_degree_bits: a });
        }
    }
    RangeCheck { col, offset, bits, limbs }
}

/// The committed columns of every rounded Rescale the walk proves (`y`, `r`, their limbs) and
/// their range checks; refuses, naming the node, what the zk wiring cannot hide or check.
pub(super) fn committed_columns(
    graph: &Graph,
    wiring: &[Option<Wiring>],
    claims: &[usize],
    r_bits: &[usize],
    r_poly: &[Option<usize>],
    out: &mut Committed<'_>,
    polys: &mut Vec<HiddenPoly>,
) -> Result<(), ProofError> {
    for (n, w) in wiring.iter().enumerate() {
        if let Some(Wiring::Clamp(s)) = w {
            clamp_columns(graph, n, s, claims, out, polys)?;
            continue;
        }
        if let Some(Wiring::Argmax(s)) = w {
            argmax_columns(graph, n, s, r_bits, r_poly, out, polys)?;
            continue;
        }
        if let Some(Wiring::TableOp(table)) = w {
            table_op_columns(graph, n, table, claims, out, polys)?;
            continue;
        }
        let Some(Wiring::Rescale(s)) = w else { continue };
        if s.shift <= 0 {
            continue;
        }
        let node = &graph.nodes[n];
        let (x, y) = (node.inputs[0], node.output);
        if r_poly[x.0].is_none() {
            return Err(refused(graph, n, "a zk Rescale's input must carry an R mask (MatMul, BatchedMatMul, Embedding, Mul or an index map) to tie its remainder"));
        }
        let tv = tensor_vars(&graph.meta(y).shape);
        if tv < MIN_BLOCK_VARS {
            return Err(refused(graph, n, &format!("a zk Rescale's output needs ≥ {} padded entries (the zk lookups' smallest block), not 2^{tv}", 1usize << MIN_BLOCK_VARS)));
        }
        let (shift, out_bits, in_bits) = (s.shift as u32, graph.meta(y).bits, graph.meta(x).bits);
        if shift > 62 || out_bits + 1 > 62 || in_bits > 62 {
            return Err(refused(graph, n, &format!("shift {shift} with bounds 2^{in_bits} → 2^{out_bits}")));
        }
        // The public relation's no-wrap argument (`crate::ops::rescale`).
        check_rounding("Rescale (zk)", "x + 2^(s−1) = 2^s·y + r", &[Interval::magnitude(in_bits)], shift, Interval::signed_range(out_bits + 1))?;
        let load = claims[y.0] + 1 + points_per_check(out_bits + 1, true) + points_per_check(shift, false);
        let capacity = 1usize << tv.min(zkinfer_pcs::hiding::MASK_VARS);
        if load > capacity {
            return Err(refused(graph, n, &format!("the output's mask hides {capacity} evaluations, the proof reads {load}")));
        }
        let py = polys.len();
        out.column_poly[y.0] = Some(py);
        polys.push(HiddenPoly { kind: HiddenKind::Column(y), num_vars: tv, all: true, mask_degree_bits: 1 });
        let pr = polys.len();
        out.remainder[n] = Some(pr);
        polys.push(HiddenPoly { kind: HiddenKind::Remainder(n), num_vars: tv, all: true, mask_degree_bits: r_bits[x.0].max(1) });
        let cy = range_check(polys, py, out_bits + 1, true);
        out.ranges.push(cy);
        let cr = range_check(polys, pr, shift, false);
        out.ranges.push(cr);
    }
    Ok(())
}

/// An Argmax's gap column `g` (`crate::zk_argmax`): committed dense, its mask TIED,
/// `M_g = Σ_w R_g(z_0, w) − Σ_w R_L(z_0, w)` (`R_g` the public output's `R` table, `R_L` the
/// logits'), of degree bits `max(d_g, d_L)`, so that `ĝ + L̂` carries exactly the output mask the
/// zk sumcheck adds; range-checked to the public op's `gap_bits` (`[0, 2^(b+1))`, unsigned).
/// Capacities: `R_g` is sized for its coordinates (the sumcheck's `z_0`, the check's points) when
/// the layout is built; the check's points also read `R_L`, counted in its `extra_load`
/// (`crate::zk_plan::zk_extra_r_load`).
fn argmax_columns(graph: &Graph, n: usize, s: &crate::zk_argmax::ZkArgmaxShape, r_bits: &[usize], r_poly: &[Option<usize>], out: &mut Committed<'_>, polys: &mut Vec<HiddenPoly>) -> Result<(), ProofError> {
    let node = &graph.nodes[n];
    let (l, ids) = (node.inputs[0], node.output);
    if r_poly[l.0].is_none() || r_poly[ids.0].is_none() {
        return Err(refused(graph, n, "a zk Argmax's logits must carry an R mask (a MatMul's output) to tie its gaps"));
    }
    let tv = s.num_vars();
    if tv < MIN_BLOCK_VARS {
        return Err(refused(graph, n, &format!("a zk Argmax's logits need ≥ {} padded entries", 1usize << MIN_BLOCK_VARS)));
    }
    let bits = crate::ops::argmax::ArgmaxProof::new(s.in_bits).gap_bits()?;
    let pg = polys.len();
    polys.push(HiddenPoly { kind: HiddenKind::Aux { node: n, index: 0 }, num_vars: tv, all: true, mask_degree_bits: r_bits[l.0].max(r_bits[ids.0]) });
    out.ranges.push(range_check(polys, pg, bits, false));
    out.aux[n] = vec![pg];
    Ok(())
}

/// A table op's committed output `y` (uniform mask) and the lookup of the rows `(x, y)` in its
/// public function table, `x` the input's own committed column (a Clamp's or a rounded Rescale's
/// output: no copy, no link claim — the lookup reads `x̂` at its leaf, one of `x`'s counted claims).
/// `y`'s mask covers its consumers' claims and the leaf.
fn table_op_columns(graph: &Graph, n: usize, table: &Table, claims: &[usize], out: &mut Committed<'_>, polys: &mut Vec<HiddenPoly>) -> Result<(), ProofError> {
    let node = &graph.nodes[n];
    let (x, y) = (node.inputs[0], node.output);
    let px = out.column_poly[x.0].filter(|&p| matches!(polys[p].kind, HiddenKind::Column(_))).ok_or_else(|| {
        refused(graph, n, "a zk table op's input must be a committed column (a Clamp's or a rounded Rescale's output)")
    })?;
    let tv = tensor_vars(&graph.meta(y).shape);
    if tv < MIN_BLOCK_VARS || polys[px].num_vars != tv {
        return Err(refused(graph, n, &format!("a zk table op's columns need one shape of ≥ {} padded entries", 1usize << MIN_BLOCK_VARS)));
    }
    let load = claims[y.0] + 1;
    let capacity = 1usize << tv.min(zkinfer_pcs::hiding::MASK_VARS);
    if load > capacity {
        return Err(refused(graph, n, &format!("the output's mask hides {capacity} evaluations, the proof reads {load}")));
    }
    let py = polys.len();
    out.column_poly[y.0] = Some(py);
    polys.push(HiddenPoly { kind: HiddenKind::Column(y), num_vars: tv, all: true, mask_degree_bits: 1 });
    out.lookups.push(TableLookup::new(table.clone(), vec![vec![px, py]], polys)?);
    Ok(())
}

/// A Clamp's committed columns (`crate::zk_clamp`): `y` (uniform mask), `s = |x − y|` (uniform,
/// range-checked to the public op's `over` bits), then the gaps `a = y − lo·χ`, `b = hi·χ − y`
/// (masks `±M_y`, tied by an affine relation, range-checked to `bits`) or the magnitude `t = |y|`
/// (uniform, range-checked to `k` bits): the public op's range checks, word for word.
fn clamp_columns(graph: &Graph, n: usize, s: &crate::zk_clamp::ZkClampShape, claims: &[usize], out: &mut Committed<'_>, polys: &mut Vec<HiddenPoly>) -> Result<(), ProofError> {
    let y = graph.nodes[n].output;
    let tv = tensor_vars(&graph.meta(y).shape);
    if tv < MIN_BLOCK_VARS {
        return Err(refused(graph, n, &format!("a zk Clamp's output needs ≥ {} padded entries, not 2^{tv}", 1usize << MIN_BLOCK_VARS)));
    }
    let (form, over) = s.clamp.widths()?;
    let py = polys.len();
    out.column_poly[y.0] = Some(py);
    polys.push(HiddenPoly { kind: HiddenKind::Column(y), num_vars: tv, all: true, mask_degree_bits: 1 });
    let aux = |polys: &mut Vec<HiddenPoly>, index: usize| {
        polys.push(HiddenPoly { kind: HiddenKind::Aux { node: n, index }, num_vars: tv, all: true, mask_degree_bits: 1 });
        polys.len() - 1
    };
    let ps = aux(polys, 0);
    out.ranges.push(range_check(polys, ps, over, false));
    // y's mask: its claims, the sumcheck point, and (gap form) the two relations and gap checks.
    let mut load = claims[y.0] + 1;
    match form {
        crate::ops::clamp::Form::Gaps { bits } => {
            let (pa, pb) = (aux(polys, 1), aux(polys, 2));
            let dims = graph.meta(y).shape.clone();
            out.affine.push(Affine { col: pa, terms: vec![(py, 1)], chi: -s.clamp.lo, dims: dims.clone() });
            out.affine.push(Affine { col: pb, terms: vec![(py, -1)], chi: s.clamp.hi, dims });
            out.ranges.push(range_check(polys, pa, bits, false));
            out.ranges.push(range_check(polys, pb, bits, false));
            load += 2 + 2 * points_per_check(bits, false);
            out.aux[n] = vec![ps, pa, pb];
        }
        crate::ops::clamp::Form::Symmetric { k } => {
            let pt = aux(polys, 1);
            out.ranges.push(range_check(polys, pt, k, false));
            out.aux[n] = vec![ps, pt];
        }
    }
    let capacity = 1usize << tv.min(zkinfer_pcs::hiding::MASK_VARS);
    if load > capacity {
        return Err(refused(graph, n, &format!("the output's mask hides {capacity} evaluations, the proof reads {load}")));
    }
    Ok(())
}

/// The lookup statements (one per range width, then one per function table by content digest)
/// with their multiplicity polys, then the zk logUp's mask tables (their sizes are public
/// functions of the statements: read from a throwaway sample).
pub(super) fn lookup_polys(ranges: &[RangeCheck], lookups: &[TableLookup], polys: &mut Vec<HiddenPoly>) -> Result<(Vec<Statement>, Vec<usize>), ProofError> {
    let mut by_width: BTreeMap<u32, Vec<Vec<usize>>> = BTreeMap::new();
    for rc in ranges {
        if rc.limbs.is_empty() {
            by_width.entry(rc.bits).or_default().push(vec![rc.col]);
        }
        for &(l, w) in &rc.limbs {
            by_width.entry(w).or_default().push(vec![l]);
        }
    }
    let mut by_table: BTreeMap<[u8; 32], (Table, Vec<Vec<usize>>)> = BTreeMap::new();
    for lk in lookups {
        match lk.table {
            Table::Range { bits } => by_width.entry(bits).or_default().extend(lk.columns.iter().cloned()),
            Table::Function(_) => by_table.entry(lk.table.content_digest()).or_insert_with(|| (lk.table.clone(), Vec::new())).1.extend(lk.columns.iter().cloned()),
        }
    }
    let tables = by_width.into_iter().map(|(w, c)| (Table::range(w), c)).chain(by_table.into_values());
    let mut statements = Vec::new();
    for (table, columns) in tables {
        let mult = polys.len();
        polys.push(HiddenPoly { kind: HiddenKind::Multiplicities(statements.len()), num_vars: zk_multiplicity_vars(&table), all: false, mask_degree_bits: 1 });
        statements.push(Statement { table, columns, mult });
    }
    let mut lookup_masks = Vec::new();
    if !statements.is_empty() {
        let lens = column_lens(&statements, polys);
        let masks = ZkLookupMasks::sample_batch(&statement_refs(&statements, &lens), &mut StdRng::seed_from_u64(0)).map_err(lookup_err)?;
        for (k, (kind, table)) in masks.tables().into_iter().enumerate() {
            let expected = if k == 0 { ZkLookupPoly::Blinding } else { ZkLookupPoly::GkrMask(k - 1) };
            if kind != expected || !table.len().is_power_of_two() {
                return Err(ProofError::shape(WHO, "the zk logUp's mask tables are not in the expected order"));
            }
            lookup_masks.push(polys.len());
            polys.push(HiddenPoly { kind: HiddenKind::LookupMask(k), num_vars: table.len().trailing_zeros() as usize, all: false, mask_degree_bits: 1 });
        }
    }
    Ok((statements, lookup_masks))
}

fn column_lens(statements: &[Statement], polys: &[HiddenPoly]) -> Vec<Vec<usize>> {
    statements.iter().map(|s| s.columns.iter().map(|c| c.first().map_or(0, |&c| 1usize << polys[c].num_vars)).collect()).collect()
}

fn statement_refs<'a>(statements: &'a [Statement], lens: &'a [Vec<usize>]) -> Vec<(&'a Table, &'a [usize])> {
    statements.iter().zip(lens).map(|(s, l)| (&s.table, l.as_slice())).collect()
}

fn lookup_err(e: impl std::fmt::Display) -> ProofError {
    ProofError::Lookup { table: "zk range checks".into(), msg: e.to_string() }
}

fn to_f(v: &[i64]) -> Vec<F> {
    v.iter().map(|&x| from_i64_unchecked(x)).collect()
}

/// Samples the remainders' tied masks and the limbs (module docs) and fills their tables; returns
/// per poly the integer values of every range-checked or looked-up column (`pre`: those other
/// modules filled, e.g. the norms' columns, per poly).
#[allow(clippy::too_many_arguments)] // the secrets' tables, filled in place
pub(super) fn sample_columns<R: Rng + ?Sized>(
    layout: &ZkLayout,
    graph: &Graph,
    trace: &IntTrace,
    vms: &[Option<VirtualMask>],
    tables: &mut [(Vec<F>, Vec<F>)],
    pre: Vec<Option<Vec<i64>>>,
    rng: &mut R,
    forging: bool,
) -> Result<Vec<Option<Vec<i64>>>, ProofError> {
    let mut ints = pre;
    if ints.len() != layout.polys.len() {
        return Err(ProofError::witness(WHO, "the pre-filled columns' count"));
    }
    let value = |t: TensorId| trace.get(t).map(|v| v.data.clone()).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", graph.meta(t).name)));
    for (i, p) in layout.polys.iter().enumerate() {
        match p.kind {
            HiddenKind::Column(t) => ints[i] = Some(padded_i64(&value(t)?, &graph.meta(t).shape)),
            HiddenKind::Remainder(n) => {
                let (x, y) = (graph.nodes[n].inputs[0], graph.nodes[n].output);
                let shift = match &layout.wiring[n] {
                    Some(Wiring::Rescale(s)) if s.shift > 0 => s.shift as u32,
                    _ => return Err(ProofError::witness(WHO, "a remainder without its rounded Rescale")),
                };
                let (xv, yv) = (value(x)?, value(y)?);
                let r: Vec<i64> = xv
                    .iter()
                    .zip(&yv)
                    .map(|(&x, &y)| i64::try_from(x as i128 + (1i128 << (shift - 1)) - ((y as i128) << shift)).map_err(|_| ProofError::witness(WHO, "a remainder beyond 64 bits")))
                    .collect::<Result<_, _>>()?;
                let r = padded_i64(&r, &graph.meta(y).shape);
                let vm = layout.r_poly[x.0].and_then(|q| vms[q].as_ref()).ok_or_else(|| ProofError::witness(WHO, "a rescale input without its R mask"))?;
                let py = layout.committed(y).ok_or_else(|| ProofError::witness(WHO, "a rescale output without its column"))?;
                let tied = tied_remainder_mask(vm, &tables[py].1, layout.polys[py].mask_degree_bits, p.mask_vars(), shift)?;
                if tied.degree_bits != p.mask_degree_bits {
                    return Err(ProofError::witness(WHO, "the remainder's tied mask degree"));
                }
                tables[i] = (to_f(&r), tied.table);
                ints[i] = Some(r);
            }
            HiddenKind::Aux { node, index: 0 } if matches!(layout.wiring[node], Some(Wiring::Argmax(_))) => {
                let Some(Wiring::Argmax(s)) = &layout.wiring[node] else { continue };
                let (l, ids) = (graph.nodes[node].inputs[0], graph.nodes[node].output);
                let lv = value(l)?;
                if lv.len() != s.rows * s.vocab {
                    return Err(ProofError::witness(WHO, "the logits' length"));
                }
                // g[t, j] = L[t, a_t] − L[t, j] − [j < a_t] (the public op's; `|L| < 2^61`).
                let mut g = Vec::with_capacity(lv.len());
                for (row, &a) in lv.chunks(s.vocab).zip(&s.ids) {
                    let a = usize::try_from(a).ok().filter(|&a| a < s.vocab).ok_or_else(|| ProofError::witness(WHO, "an id outside the vocabulary"))?;
                    g.extend(row.iter().enumerate().map(|(j, &x)| row[a] - x - i64::from(j < a)));
                }
                let col = padded_i64(&g, &[s.rows, s.vocab]);
                let vm = |t: TensorId| layout.r_poly[t.0].and_then(|q| vms[q].as_ref()).ok_or_else(|| ProofError::witness(WHO, "an argmax without its R masks"));
                let copy = tied_copy_mask(vm(l)?, p.mask_vars())?;
                let tied = tied_mask(vm(ids)?, &copy.table, copy.degree_bits, p.mask_vars(), F::ONE)?;
                if tied.degree_bits != p.mask_degree_bits {
                    return Err(ProofError::witness(WHO, "the gaps' tied mask degree"));
                }
                tables[i] = (to_f(&col), tied.table);
                ints[i] = Some(col);
            }
            HiddenKind::Aux { node, index } => {
                let (x, y) = (graph.nodes[node].inputs[0], graph.nodes[node].output);
                let Some(Wiring::Clamp(s)) = &layout.wiring[node] else { return Err(ProofError::witness(WHO, "a witness column without its Clamp")) };
                let (xv, yv) = (value(x)?, value(y)?);
                let gaps = layout.aux[node].len() == 3;
                let (lo, hi) = (s.clamp.lo, s.clamp.hi);
                let col: Vec<i64> = match (index, gaps) {
                    (0, _) => xv.iter().zip(&yv).map(|(&x, &y)| (x - y).abs()).collect(),
                    (1, true) => yv.iter().map(|&y| y - lo).collect(),
                    (2, true) => yv.iter().map(|&y| hi - y).collect(),
                    (1, false) => yv.iter().map(|&y| y.abs()).collect(),
                    _ => return Err(ProofError::witness(WHO, "a Clamp witness column index")),
                };
                let col = padded_i64(&col, &graph.meta(y).shape);
                let py = layout.committed(y).ok_or_else(|| ProofError::witness(WHO, "a clamp output without its column"))?;
                // The gaps' masks are ±M_y (their affine relations); s and t uniform.
                let mask: Vec<F> = match (index, gaps) {
                    (1, true) => tables[py].1.clone(),
                    (2, true) => tables[py].1.iter().map(|&m| -m).collect(),
                    _ => (0..tables[py].1.len()).map(|_| rng.random::<F>()).collect(),
                };
                tables[i] = (to_f(&col), mask);
                ints[i] = Some(col);
            }
            _ => {}
        }
    }
    for rc in &layout.ranges {
        if rc.limbs.is_empty() {
            // A malicious prover commits its out-of-range values reduced into the range (else
            // the zk logUp's own prover cannot run: the leaves would not sum to zero).
            if let (true, Some(v)) = (forging, ints[rc.col].as_mut()) {
                v.iter_mut().for_each(|x| *x = x.rem_euclid(1i64 << rc.bits));
                tables[rc.col].0 = to_f(v);
            }
            continue;
        }
        let parent = ints[rc.col].clone().ok_or_else(|| ProofError::witness(WHO, "a range check of a column without values"))?;
        let modulus = 1i128 << rc.bits;
        let shifted: Vec<i128> = parent
            .iter()
            .map(|&v| {
                let s = v as i128 + rc.offset as i128;
                match (0..modulus).contains(&s) {
                    true => Ok(s),
                    false if forging => Ok(s.rem_euclid(modulus)),
                    false => Err(ProofError::witness(WHO, format!("{:?}: value {v} outside its {}-bit range", layout.polys[rc.col].kind, rc.bits))),
                }
            })
            .collect::<Result<_, _>>()?;
        let parent_mask = tables[rc.col].1.clone();
        let others: Vec<Vec<F>> = rc.limbs[1..].iter().map(|_| (0..parent_mask.len()).map(|_| rng.random::<F>()).collect()).collect();
        let first = tie_first_limb(&parent_mask, &others.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
        for (j, &(l, w)) in rc.limbs.iter().enumerate() {
            let limb: Vec<i64> = shifted.iter().map(|&s| ((s >> (LIMB_BITS as usize * j)) & ((1i128 << w) - 1)) as i64).collect();
            let mask = if j == 0 { first.clone() } else { others[j - 1].clone() };
            tables[l] = (to_f(&limb), mask);
            ints[l] = Some(limb);
        }
    }
    Ok(ints)
}

/// The multiplicities (uniform masks) and the zk logUp's masks (`None`: no range check).
pub(super) fn sample_lookups<R: Rng + ?Sized>(
    layout: &ZkLayout,
    ints: &[Option<Vec<i64>>],
    tables: &mut [(Vec<F>, Vec<F>)],
    rng: &mut R,
    forging: bool,
) -> Result<Option<ZkLookupMasks>, ProofError> {
    if layout.statements.is_empty() {
        return Ok(None);
    }
    let uniform = |len: usize, rng: &mut R| (0..len).map(|_| rng.random::<F>()).collect::<Vec<F>>();
    for st in &layout.statements {
        let mut m = vec![0u64; 1usize << zk_multiplicity_vars(&st.table)];
        for col in &st.columns {
            let comps = col.iter().map(|&c| ints[c].as_deref().ok_or_else(|| ProofError::witness(WHO, "a looked-up column without values"))).collect::<Result<Vec<&[i64]>, _>>()?;
            let rows = comps.first().map_or(0, |c| c.len());
            if comps.iter().any(|c| c.len() != rows) {
                return Err(ProofError::witness(WHO, "a looked-up column's components differ in length"));
            }
            for i in 0..rows {
                let found = match comps[..] {
                    [x] => st.table.row_index(&[from_i64_unchecked(x[i])]),
                    [x, y] => st.table.row_index(&[from_i64_unchecked(x[i]), from_i64_unchecked(y[i])]),
                    _ => None,
                };
                match found {
                    Some(j) if j < m.len() => m[j] += 1,
                    // A malicious prover leaves it out: the logUp sums then differ.
                    _ if forging => {}
                    _ => {
                        let row: Vec<i64> = comps.iter().map(|c| c[i]).collect();
                        let what = match &st.table {
                            Table::Range { bits } => format!("value {} outside its {bits}-bit range", row[0]),
                            Table::Function(f) => format!("row {row:?} is not in its table {}", f.name()),
                        };
                        return Err(ProofError::witness(WHO, format!("{:?}: {what}", layout.polys[col[0]].kind)));
                    }
                }
            }
        }
        let p = &layout.polys[st.mult];
        tables[st.mult] = (m.into_iter().map(F::from_u64).collect(), uniform(mask_table_len(p.mask_vars(), 1), rng));
    }
    let lens = column_lens(&layout.statements, &layout.polys);
    let masks = ZkLookupMasks::sample_batch(&statement_refs(&layout.statements, &lens), rng).map_err(lookup_err)?;
    for (k, (_, table)) in masks.tables().into_iter().enumerate() {
        let q = layout.lookup_masks[k];
        let mu = layout.polys[q].mask_vars();
        tables[q] = (table.to_vec(), uniform(mask_table_len(mu, 1), rng));
    }
    Ok(Some(masks))
}

/// The layout's poly of a zk logUp polynomial.
fn lookup_poly(layout: &ZkLayout, poly: ZkLookupPoly) -> Result<usize, ProofError> {
    let bad = || ProofError::check(WHO, format!("the zk lookups claim an unknown polynomial {poly:?}"));
    match poly {
        ZkLookupPoly::Column { instance, column, component } => {
            layout.statements.get(instance).and_then(|s| s.columns.get(column)).and_then(|c| c.get(component)).copied().ok_or_else(bad)
        }
        ZkLookupPoly::Multiplicities { instance } => layout.statements.get(instance).map(|s| s.mult).ok_or_else(bad),
        ZkLookupPoly::Blinding => layout.lookup_masks.first().copied().ok_or_else(bad),
        ZkLookupPoly::GkrMask(k) => layout.lookup_masks.get(k + 1).copied().ok_or_else(bad),
    }
}

impl ZkSecrets {
    /// `H` with `P̂ = P + z_last(1 − z_last)·H` for poly `i` (module docs).
    fn lookup_factor(&self, layout: &ZkLayout, i: usize, z: &[EF]) -> EF {
        let Some(p) = layout.polys.get(i) else { return EF::ZERO };
        if z.len() != p.num_vars || z.is_empty() {
            return EF::ZERO;
        }
        let m = self.m(layout, i, z);
        if p.all { z[..z.len() - 1].iter().map(|&c| vanish(c)).product::<EF>() * m } else { m }
    }
}

fn fresh_point(nv: usize, z: Vec<EF>) -> Result<Vec<EF>, ProofError> {
    if z.len() != nv || z.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(WHO, "a boolean coordinate in a limb relation's point (probability n/|EF|)"));
    }
    Ok(z)
}

/// Prover: the limb relations, then the one zk logUp (module docs); every claim to the finals.
pub(super) fn prove_ranges(layout: &ZkLayout, secrets: &ZkSecrets, router: &mut Router<'_>, t: &mut ProverTranscript) -> Result<(), ProofError> {
    for a in &layout.affine {
        let q = fresh_point(layout.polys[a.col].num_vars, t.challenge_exts(layout.polys[a.col].num_vars))?;
        let polys: Vec<usize> = std::iter::once(a.col).chain(a.terms.iter().map(|&(p, _)| p)).collect();
        let values = polys.iter().map(|&p| secrets.hat(layout, p, &q)).collect::<Result<Vec<EF>, _>>()?;
        t.send_exts(&values);
        router.finals.extend(polys.into_iter().zip(values).map(|(poly, value)| FinalClaim { poly, point: q.clone(), value }));
    }
    for rc in layout.ranges.iter().filter(|rc| !rc.limbs.is_empty()) {
        let q = fresh_point(layout.polys[rc.col].num_vars, t.challenge_exts(layout.polys[rc.col].num_vars))?;
        let polys: Vec<usize> = std::iter::once(rc.col).chain(rc.limbs.iter().map(|&(l, _)| l)).collect();
        let values = polys.iter().map(|&p| secrets.hat(layout, p, &q)).collect::<Result<Vec<EF>, _>>()?;
        t.send_exts(&values);
        router.finals.extend(polys.into_iter().zip(values).map(|(poly, value)| FinalClaim { poly, point: q.clone(), value }));
    }
    let Some(masks) = secrets.lookup.as_ref() else { return Ok(()) };
    let instances: Vec<LookupInstance<'_>> = layout
        .statements
        .iter()
        .map(|st| LookupInstance {
            table: &st.table,
            columns: st.columns.iter().map(|c| LookupColumn { components: c.iter().map(|&p| secrets.tables[p].0.as_slice()).collect() }).collect(),
            multiplicities: &secrets.tables[st.mult].0,
        })
        .collect();
    let hidden = |poly: ZkLookupPoly, z: &[EF]| lookup_poly(layout, poly).map_or(EF::ZERO, |i| secrets.lookup_factor(layout, i, z));
    let claims = prove_lookups_zk(&instances, masks, &hidden, t).map_err(lookup_err)?;
    for o in claims.openings {
        router.finals.push(FinalClaim { poly: lookup_poly(layout, o.poly)?, point: o.point, value: o.value });
    }
    Ok(())
}

/// Verifier side of [`prove_ranges`]: refuses a limb relation that does not hold.
pub(super) fn verify_ranges(layout: &ZkLayout, router: &mut Router<'_>, t: &mut VerifierTranscript<'_>) -> Result<(), ProofError> {
    for a in &layout.affine {
        let q = fresh_point(layout.polys[a.col].num_vars, t.challenge_exts(layout.polys[a.col].num_vars))?;
        let values = t.receive_exts(1 + a.terms.len()).map_err(|e| ProofError::check(WHO, e.to_string()))?;
        let rhs = a.terms.iter().zip(&values[1..]).map(|(&(_, c), &v)| lift(from_i64_unchecked(c)) * v).sum::<EF>() + lift(from_i64_unchecked(a.chi)) * extent_indicator(&a.dims, &q);
        if values[0] != rhs {
            return Err(ProofError::check(WHO, format!("{:?}: its affine relation does not hold", layout.polys[a.col].kind)));
        }
        let polys = std::iter::once(a.col).chain(a.terms.iter().map(|&(p, _)| p));
        router.finals.extend(polys.zip(values).map(|(poly, value)| FinalClaim { poly, point: q.clone(), value }));
    }
    for rc in layout.ranges.iter().filter(|rc| !rc.limbs.is_empty()) {
        let q = fresh_point(layout.polys[rc.col].num_vars, t.challenge_exts(layout.polys[rc.col].num_vars))?;
        let values = t.receive_exts(1 + rc.limbs.len()).map_err(|e| ProofError::check(WHO, e.to_string()))?;
        let sum = rc.limbs.iter().enumerate().map(|(j, _)| lift(F::from_u64(1u64 << (LIMB_BITS as usize * j))) * values[1 + j]).sum::<EF>();
        if values[0] + lift(F::from_u64(rc.offset)) != sum {
            return Err(ProofError::check(WHO, format!("{:?}: its limbs do not sum to it (a value outside its {}-bit range)", layout.polys[rc.col].kind, rc.bits)));
        }
        let polys = std::iter::once(rc.col).chain(rc.limbs.iter().map(|&(l, _)| l));
        router.finals.extend(polys.zip(values).map(|(poly, value)| FinalClaim { poly, point: q.clone(), value }));
    }
    if layout.statements.is_empty() {
        return Ok(());
    }
    let lens = column_lens(&layout.statements, &layout.polys);
    let claims = verify_lookups_zk(&statement_refs(&layout.statements, &lens), t).map_err(lookup_err)?;
    for o in claims.openings {
        router.finals.push(FinalClaim { poly: lookup_poly(layout, o.poly)?, point: o.point, value: o.value });
    }
    Ok(())
}
