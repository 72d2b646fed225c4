//! The zk graph driver's causal Softmax (a child module of `crate::zk_graph`, beside `range`):
//! the op's committed columns as hidden polynomials, its masked sumcheck
//! ([`crate::zk_softmax`]) on both walks, and its exp lookups and range checks in the driver's
//! one zk lookup phase (`zk_graph_range.rs`).
//!
//! # Columns and masks
//!
//! A Softmax node with scores `x: [H, M, N]` (the graph's tensor: a rounded Rescale's committed
//! `y` in the models, or any tensor the driver reads through a randomised extension) and output
//! `p: [H, M, N]` commits, beside `p` itself ([`HiddenKind::Column`], uniform mask — the public
//! op's output is committed, never virtual), the public op's eight witness columns
//! ([`HiddenKind::NodeColumn`], index order): `m` (max, rows), `s` (one-hot), `δ`, `o`
//! (overflow), `e` (exp), `Z` (sum, rows), `r` (remainder), `c` (slack) — each a whole padded table
//! (`Vanishing::All`, a uniform mask of degree bits 1 over its first `min(n, 4)` variables) at the
//! zk softmax's own size: the cube `[H', M, N]` padded, the rows `[H', M]` padded, with
//! `H' = 2^{h'}` heads chosen by [`ZkSoftmaxShape::padded`] so that the row tables have `≥ 5`
//! variables (the masked broadcast sumcheck's constraint; at the tiny GPT-2's few positions the
//! heads are padded — `crate::zk_softmax`, "Head padding"; `x` and `p` are read zero-extended to
//! the padded heads through their own commitments, and the claims on them are unpadded before
//! they are routed). The zk softmax commits every column whole where the public op commits `s`,
//! `δ`, `o`, `r`, `c` as blocks of the extent: the identities force them to 0 on the padding
//! anyway (`crate::ops::softmax`, "Padding"), so nothing is lost.
//!
//! # Lookups and range checks (the public op's, word for word)
//!
//! `(δ, e)` is looked up in the public exp table (a function table: `δ ∈ [0, 2^16)`,
//! `e = EXP[δ]`), `o < 2^(b+1)`, `p < 2^(P+1)`, `r, c < 2^(E + log N + 1)` (the public op's
//! `sum_bits`) — range checks of committed columns as `zk_graph_range.rs` does them (a direct
//! lookup, or 16-bit limbs with limb 0's mask tied); all in the driver's ONE zk logUp at the end of
//! the walk, the exp lookups of every Softmax node sharing one statement.
//!
//! # Soundness and no wrap
//!
//! The relation, its integer reading and the no-wrap argument are the public op's
//! (`crate::ops::softmax`: `check_relations`, run by `crate::zk_softmax` on both sides — every
//! relation's two sides differ by less than `p`; `e·2^P = p·Z + r` with `0 ≤ r < Z` (the slack's
//! range) is Euclidean division, `s ∈ {0, 1}`, `Σ_j s = 1` picks one key, `δ + o = m − x` with
//! `δ = min(m − x, 2^16 − 1)` by `(δ − cap)·o = 0` and the ranges). The range checks make those
//! readings hold: without them `r, c` could be negative field elements (the test
//! `a_perturbed_softmax_is_refused` shows the control). The driver adds no field relation: each
//! claim the zk softmax ends with goes to its origin (`x̂` to the scores' producer or opening, the
//! columns' and `p`'s to the opening, the mask's to the opening); the unpadding divides by a
//! public non-zero factor. Error: the zk softmax's and the zk logUp's (`docs/SECURITY.md`).
//!
//! # Zero knowledge
//!
//! The zk softmax's simulator (its module) composed as the driver composes every op's. Mask
//! capacities (checked here when the layout is built, `2^min(n,4)` evaluations per uniform mask):
//! each witness column is read at the sumcheck point and at its lookup or range points (a leaf,
//! or `q` and limb 0's leaf: ≤ 3); `p` at its consumers' claims, the sumcheck point and its range
//! points; `x` at one point (counted as one claim on it by `crate::zk_plan`). Leaks: the shapes,
//! the padding, the public op's parameters and table.

use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked, to_i64};
use zkinfer_graph::graph::{Graph, IntTrace};
use zkinfer_lookup::zk_logup::MIN_BLOCK_VARS;
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use super::range::{Committed, TableLookup, points_per_check, range_check};
use super::{FinalClaim, HiddenKind, HiddenPoly, Router, Values, WHO, Wiring, ZkLayout, ZkSecrets, node_mask, refused, tensor_vars};
use crate::error::ProofError;
use crate::ops::softmax::{C, D, E, MB, O, P, R, S, SoftmaxProof, X, ZB};
use crate::zk_rescale::mask_table_len;
use crate::zk_softmax::{ZkSoftmaxClaims, ZkSoftmaxShape, prove_with_tables, verify_softmax_zk, zk_softmax_mask_shape};

/// The zk softmax's tables of the committed witness columns, in [`HiddenKind::NodeColumn`] index
/// order: `m`, `s`, `δ`, `o`, `e`, `Z`, `r`, `c`.
const COLS: [usize; 8] = [MB, S, D, O, E, ZB, R, C];
// Indices into [`COLS`].
const IDX_DELTA: usize = 2;
const IDX_OVERFLOW: usize = 3;
const IDX_EXP: usize = 4;
const IDX_REM: usize = 6;
const IDX_SLACK: usize = 7;

/// A Softmax node's wiring: the zk softmax's statement with the heads padded.
#[derive(Debug, Clone)]
pub(super) struct SoftmaxWiring {
    pub shape: ZkSoftmaxShape,
}

impl PartialEq for SoftmaxWiring {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.shape, &other.shape);
        a.dims == b.dims
            && a.head_vars == b.head_vars
            && (a.op.in_bits, a.op.exp_frac, a.op.out_frac) == (b.op.in_bits, b.op.exp_frac, b.op.out_frac)
            && crate::witness::table_key(a.op.table()) == crate::witness::table_key(b.op.table())
    }
}

impl Eq for SoftmaxWiring {}

impl SoftmaxWiring {
    pub fn mask_shape(&self) -> Option<zkinfer_sumcheck::zk::MaskShape> {
        zk_softmax_mask_shape(&self.shape).ok()
    }
}

/// The wiring of Softmax node `n` (shapes and parameters checked; refused naming the node).
pub(super) fn wire(graph: &Graph, n: usize, op: &zkinfer_graph::ops::softmax::CausalSoftmax) -> Result<SoftmaxWiring, ProofError> {
    let node = &graph.nodes[n];
    let x = graph.meta(node.inputs[0]);
    let dims: [usize; 3] = x.shape.as_slice().try_into().map_err(|_| refused(graph, n, "a zk Softmax needs scores [H, M, N]"))?;
    if graph.meta(node.output).shape != x.shape {
        return Err(refused(graph, n, "the output's shape differs from the scores'"));
    }
    let proof = SoftmaxProof::from_model(op, x.bits).map_err(|e| refused(graph, n, &e.to_string()))?;
    let shape = ZkSoftmaxShape::padded(dims, proof);
    zk_softmax_mask_shape(&shape).map_err(|e| refused(graph, n, &e.to_string()))?;
    let tv = tensor_vars(&x.shape);
    if tv < MIN_BLOCK_VARS {
        return Err(refused(graph, n, &format!("a zk Softmax's scores and output need ≥ {} padded entries (their masks, the zk lookups' smallest block), not 2^{tv}", 1usize << MIN_BLOCK_VARS)));
    }
    Ok(SoftmaxWiring { shape })
}

/// Every wired Softmax's committed columns, range checks and exp lookups (module docs); refuses,
/// naming the node, a mask read more often than it hides.
pub(super) fn committed_columns(graph: &Graph, wiring: &[Option<Wiring>], claims: &[usize], out: &mut Committed<'_>, polys: &mut Vec<HiddenPoly>) -> Result<(), ProofError> {
    for (n, w) in wiring.iter().enumerate() {
        let Some(Wiring::Softmax(s)) = w else { continue };
        let d = s.shape.dims().map_err(|e| refused(graph, n, &e.to_string()))?;
        let (nc, nr) = (d.cube.num_vars(), d.rows.num_vars());
        let p = graph.nodes[n].output;
        if out.column_poly[p.0].is_some() {
            return Err(refused(graph, n, "a zk Softmax's output is committed by its node, not as a graph output"));
        }
        let tv = tensor_vars(&graph.meta(p).shape);
        let pp = polys.len();
        out.column_poly[p.0] = Some(pp);
        polys.push(HiddenPoly { kind: HiddenKind::Column(p), num_vars: tv, all: true, mask_degree_bits: 1 });
        let mut cols = Vec::with_capacity(COLS.len());
        for (index, &j) in COLS.iter().enumerate() {
            cols.push(polys.len());
            let num_vars = if j == MB || j == ZB { nr } else { nc };
            polys.push(HiddenPoly { kind: HiddenKind::NodeColumn { node: n, index }, num_vars, all: true, mask_degree_bits: 1 });
        }
        let op = &s.shape.op;
        let sum_bits = op.sum_bits(d.len);
        let checks = [(cols[IDX_OVERFLOW], op.in_bits + 1), (pp, op.out_frac + 1), (cols[IDX_REM], sum_bits), (cols[IDX_SLACK], sum_bits)];
        for &(col, bits) in &checks {
            if bits > 62 {
                return Err(refused(graph, n, &format!("a {bits}-bit range check")));
            }
            let rc = range_check(polys, col, bits, false);
            out.ranges.push(rc);
        }
        out.lookups.push(TableLookup::new(op.table().clone(), vec![vec![cols[IDX_DELTA], cols[IDX_EXP]]], polys)?);
        // Mask capacities: each read point of a uniform mask (module docs).
        let capacity = |nv: usize| 1usize << nv.min(zkinfer_pcs::hiding::MASK_VARS);
        let range_points = |col: usize| checks.iter().filter(|c| c.0 == col).map(|c| points_per_check(c.1, false)).sum::<usize>();
        let p_load = claims[p.0] + 1 + range_points(pp);
        if p_load > capacity(tv) {
            return Err(refused(graph, n, &format!("the output's mask hides {} evaluations, the proof reads {p_load}", capacity(tv))));
        }
        for (k, &c) in cols.iter().enumerate() {
            let load = 1 + range_points(c) + usize::from(k == IDX_DELTA || k == IDX_EXP);
            if load > capacity(polys[c].num_vars) {
                return Err(refused(graph, n, &format!("witness column {k}'s mask hides {} evaluations, the proof reads {load}", capacity(polys[c].num_vars))));
            }
        }
        out.aux[n] = cols;
    }
    Ok(())
}

fn to_f(v: &[i64]) -> Vec<F> {
    v.iter().map(|&a| from_i64_unchecked(a)).collect()
}

#[cfg(test)]
thread_local! {
    /// Tests: a malicious prover's edit of a node's witness columns (`COLS` order) before they
    /// are committed; its limbs and multiplicities follow the edited values.
    pub(super) static TAMPER: std::cell::RefCell<Option<Box<dyn Fn(usize, &mut [Vec<i64>])>>> = const { std::cell::RefCell::new(None) };
}

/// The witness columns of every wired Softmax (the public op's, from the scores and the output),
/// each with a uniform mask; their integer values into `ints` (for the limbs and multiplicities).
pub(super) fn sample_columns<R: Rng + ?Sized>(layout: &ZkLayout, graph: &Graph, trace: &IntTrace, tables: &mut [(Vec<F>, Vec<F>)], ints: &mut [Option<Vec<i64>>], rng: &mut R) -> Result<(), ProofError> {
    for (n, w) in layout.wiring.iter().enumerate() {
        let Some(Wiring::Softmax(s)) = w else { continue };
        let node = &graph.nodes[n];
        let value = |t| trace.get(t).map(|v| v.data.clone()).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", graph.meta(t).name)));
        let (x, p) = (value(node.inputs[0])?, value(node.output)?);
        crate::ops::product_sumcheck::check_bound("CausalSoftmax (zk)", &x, s.shape.op.in_bits)?;
        let d = s.shape.dims()?;
        let c = s.shape.op.columns(&d, &x, &p)?;
        let ints_of = |v: &[F]| v.iter().map(|&a| to_i64(a)).collect::<Vec<i64>>();
        #[allow(unused_mut)] // edited by the tests' malicious prover
        let mut cols: Vec<Vec<i64>> = vec![c.max, c.onehot, c.delta, c.overflow, ints_of(&c.exp), c.sum, c.rem, ints_of(&c.slack)];
        #[cfg(test)]
        TAMPER.with(|t| t.borrow().as_ref().map(|f| f(n, &mut cols)));
        let polys = layout.aux.get(n).filter(|a| a.len() == COLS.len()).ok_or_else(|| ProofError::witness(WHO, "a softmax without its witness columns"))?;
        for (&poly, v) in polys.iter().zip(cols) {
            let mu = layout.polys[poly].mask_vars();
            tables[poly] = (to_f(&v), (0..mask_table_len(mu, 1)).map(|_| rng.random::<F>()).collect());
            ints[poly] = Some(v);
        }
    }
    Ok(())
}

/// Routes the zk softmax's claims (both sides): `x̂` unpadded to the scores' origin, `p̂` unpadded
/// and the columns' to the opening, the mask's.
fn route_claims(layout: &ZkLayout, router: &mut Router<'_>, graph: &Graph, n: usize, s: &SoftmaxWiring, pp: usize, c: ZkSoftmaxClaims, inputs: &[Vec<i64>], check_public: bool) -> Result<(), ProofError> {
    let node = &graph.nodes[n];
    let nr = s.shape.dims()?.rows.num_vars();
    let cx = s.shape.unpadded(&c.claim(X, nr))?;
    let cp = s.shape.unpadded(&c.claim(P, nr))?;
    router.finals.push(FinalClaim { poly: pp, point: cp.point, value: cp.value });
    for (&poly, &j) in layout.aux[n].iter().zip(&COLS) {
        let cl = c.claim(j, nr);
        router.finals.push(FinalClaim { poly, point: cl.point, value: cl.value });
    }
    router.mask_claims(node_mask(layout, n)?, c.mask_claims);
    router.route(node.inputs[0], cx, inputs, check_public)
}

/// Prover: Softmax node `n` (all claims on its output arrived: they are final, on its column).
#[allow(clippy::too_many_arguments)] // the driver's state, the node, the statement
pub(super) fn prove(layout: &ZkLayout, secrets: &ZkSecrets, vals: &Values<'_>, router: &mut Router<'_>, graph: &Graph, n: usize, s: &SoftmaxWiring, inputs: &[Vec<i64>], t: &mut ProverTranscript) -> Result<(), ProofError> {
    let node = &graph.nodes[n];
    let (x, p) = (node.inputs[0], node.output);
    let pp = router.committed_output(p)?;
    let cols = layout.aux.get(n).filter(|a| a.len() == COLS.len()).ok_or_else(|| ProofError::check(WHO, "a softmax without its witness columns"))?;
    let mp = node_mask(layout, n)?;
    let mask = secrets.sumcheck_masks[mp].as_ref().ok_or_else(|| ProofError::check(WHO, "a node mask missing"))?;
    let d = s.shape.dims()?;
    let mut own: Vec<Vec<F>> = vec![Vec::new(); 10];
    own[X] = s.shape.pad_tensor(&d, &vals.values(x)?)?;
    own[P] = s.shape.pad_tensor(&d, &vals.values(p)?)?;
    for (&poly, &j) in cols.iter().zip(&COLS) {
        own[j] = secrets.tables[poly].0.clone();
    }
    let e = s.shape.pad_vars();
    // The cofactor of `v(z_last)` at a table's own point (module docs of `crate::zk_softmax`).
    let cof = |j: usize, z: &[EF]| -> EF {
        let real = &z[e.min(z.len())..];
        match j {
            X => s.shape.pad_factor(z) * vals.cofactor_at(x, real, real.len().saturating_sub(1)),
            P => s.shape.pad_factor(z) * secrets.column_cofactor(layout, pp, real, real.len().saturating_sub(1)),
            _ => COLS.iter().position(|&c| c == j).map_or(EF::ZERO, |k| secrets.column_cofactor(layout, cols[k], z, z.len().saturating_sub(1))),
        }
    };
    let c = prove_with_tables(&s.shape, &d, own, &cof, mask, t)?;
    route_claims(layout, router, graph, n, s, pp, c, inputs, false)
}

/// Verifier side of [`prove`].
pub(super) fn verify(layout: &ZkLayout, router: &mut Router<'_>, graph: &Graph, n: usize, s: &SoftmaxWiring, inputs: &[Vec<i64>], t: &mut VerifierTranscript<'_>) -> Result<(), ProofError> {
    let pp = router.committed_output(graph.nodes[n].output)?;
    if layout.aux.get(n).is_none_or(|a| a.len() != COLS.len()) {
        return Err(ProofError::check(WHO, "a softmax without its witness columns"));
    }
    let c = verify_softmax_zk(&s.shape, t)?;
    route_claims(layout, router, graph, n, s, pp, c, inputs, true)
}

#[cfg(test)]
#[path = "zk_graph_softmax_tests.rs"]
mod tests;
