//! RoPE in the zk graph driver (a child module of `crate::zk_graph`, beside `range`, `norm` and
//! `softmax`): the library zk prover [`crate::zk_rope`] wired with its committed columns as
//! hidden polynomials, its tie, its range checks in the driver's one zk lookup phase, and its
//! claims routed. Every Llama-family graph has two RoPE nodes per block (queries and keys).
//!
//! # Statement
//!
//! A Rope node reads `x: [H, T, d]` (a SplitHeads output in the models: a virtual tensor with
//! its `R` mask) and the positions `[T]`, which must be a PUBLIC input of the graph (in the
//! models they follow from the statement's token count and the cache length): the verifier builds
//! the coefficient tables `A`, `B` from them and the op's public table, so a proof made with
//! other positions is refused (`the public rotation table's value is wrong`). The positions get
//! no claim (`crate::zk_plan::zk_claims_on_input`: 0); `x` gets one, `x̂(ρ)`.
//!
//! # Columns and masks (per RoPE node, all in the driver's one hiding batch)
//!
//! * `y` (the output, `[H, T, d]` padded): a [`HiddenKind::Column`] with a uniform mask `M_y`
//!   (degree bits 1) — the public op commits its output too; its consumers' claims (the scores'
//!   BatchedMatMul, a RepeatKv) are final claims on it;
//! * `r` (the rounding remainders `x·A + x_sw·B + 2^(F−1) − 2^F·y`, zero on the padding): a
//!   [`HiddenKind::RopeRemainder`] whose mask is TIED, `M_r = Σ_w R_u(z_0, w) − 2^F·M_y`
//!   ([`crate::zk_rescale::tied_remainder_mask`]), degree bits `d_u`;
//! * `R_u`, the `R` table of the rotation `u = x·A + x_sw·B` — a virtual tensor internal to the
//!   node, so a node-owned [`HiddenKind::RopeR`] (`Vanishing::Last`, `3 + d_u` variables), read by
//!   the rotation sumcheck's output mask at `(z_0, ρ_0)`;
//! * the rotation sumcheck's mask table ([`HiddenKind::NodeMask`], round degree 4).
//!
//! `y` and `r` are committed dense (`Vanishing::All`), one block each, as the tie needs
//! (`crate::zk_rescale`, "Wiring constraint").
//!
//! # Range checks (the public op's, `crate::ops::rope`)
//!
//! `r ∈ [0, 2^F)` (a direct lookup for `F ≤ 16`, else 16-bit limbs) and `y` signed in
//! `out_bits + 1` bits (limbs), through the driver's range module and its one zk logUp.
//!
//! # Soundness and no wrap
//!
//! The relation, its soundness error and its integer reading are [`crate::zk_rope`]'s and the
//! public op's: `check_params` (run when the layout is built, and by both sides in
//! `crate::zk_rope`) requires `b + F + 2 ≤ 62` and `|A|, |B| ≤ 2^F`, so `|x·A + x_sw·B| ≤ 2^(b+F+1)`
//! and with `y ∈ [−2^out, 2^out)`, `r ∈ [0, 2^F)` (the lookups) every term of
//! `x·A + x_sw·B + 2^(F−1) − 2^F·y − r` is below `2^62` in magnitude (`check_rounding`), so the
//! field identity the sumcheck proves is the integer one, and `y` is the rounded rotation. The
//! driver adds no field relation: each claim goes to its origin (`x̂(ρ)` to `x`'s producer, the
//! columns', `R_u`'s and the mask's to the opening).
//!
//! # Zero knowledge and capacities (checked when the layout is built)
//!
//! Sent: [`crate::zk_rope`]'s messages (its simulator) and the range phase's. `M_y` (`2^μ`
//! evaluations, `μ = min(n, 4)`) covers `y`'s consumers' claims, the RoPE's point `z`, `y`'s
//! range-check points and `r`'s (whose mask contains `M_y`); `R_u` (degree `< 2^{d_u}` in its
//! first coordinate, `d_u = VirtualMask::bits_for(1 + p_r)`) covers the read at `z_0` (the
//! output mask and `r̂(z)`) and `r`'s `p_r` range-check points at fresh first coordinates; `x`'s
//! one claim is counted with its others. Leaks: the shapes, the public positions and table, the
//! claim counts.
//!
//! # Constraints
//!
//! `x` of `≥ 2^5` padded entries (the masked sumcheck and the zk lookups' smallest block), the
//! public op's parameters, positions inside the table: otherwise refused naming the node.

use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked, to_i64};
use zkinfer_graph::graph::{Graph, IntTrace};
use zkinfer_lookup::zk_logup::MIN_BLOCK_VARS;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, r_point};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use super::range::{Committed, points_per_check, range_check};
use super::{FinalClaim, HiddenKind, HiddenPoly, Router, Values, WHO, Wiring, ZkLayout, ZkSecrets, node_mask, padded_i64, refused, tensor_vars};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::ops::rope::RopeProof;
use crate::zk_rescale::{mask_table_len, tied_remainder_mask};
use crate::zk_rope::{ZkRopeClaims, ZkRopeMasks, ZkRopeShape, prove_rope_zk, verify_rope_zk, zk_rope_mask_shape};

#[cfg(test)]
thread_local! {
    /// Tests: a malicious prover's edit of a RoPE node's remainders (node, logical `r`) before
    /// they are committed (the range phase's values follow the edit).
    pub(super) static TAMPER: std::cell::RefCell<Option<Box<dyn Fn(usize, &mut [i64])>>> = const { std::cell::RefCell::new(None) };
    /// Tests: the positions a malicious prover rotates with (its remainders and its public table
    /// `P` follow them; the verifier keeps the statement's).
    pub(super) static FORGED_POSITIONS: std::cell::RefCell<Option<Vec<i64>>> = const { std::cell::RefCell::new(None) };
}

/// The wiring of Rope node `n`: the zk RoPE's statement, `positions` the public input's values
/// (`None`: the positions are not a public input — refused).
pub(super) fn wire(graph: &Graph, n: usize, op: &zkinfer_graph::ops::rope::Rope, positions: Option<&[i64]>) -> Result<ZkRopeShape, ProofError> {
    let node = &graph.nodes[n];
    if node.inputs.len() != 2 {
        return Err(refused(graph, n, "a zk RoPE needs x and the positions"));
    }
    let positions = positions.ok_or_else(|| refused(graph, n, "the positions must be a public input of the statement"))?;
    let x = graph.meta(node.inputs[0]);
    let dims: [usize; 3] = x.shape.as_slice().try_into().map_err(|_| refused(graph, n, "a zk RoPE needs x: [H, T, d]"))?;
    if graph.meta(node.output).shape != x.shape {
        return Err(refused(graph, n, "the output's shape differs from x's"));
    }
    let proof = RopeProof { n_rot: op.n_rot, frac: op.frac, n_ctx: op.n_ctx, table: op.table.clone(), in_bits: x.bits, out_bits: graph.meta(node.output).bits };
    let shape = ZkRopeShape { dims, op: proof, positions: positions.to_vec() };
    // The public op's parameter and no-wrap checks, the shapes, the positions, ≥ 5 variables.
    zk_rope_mask_shape(&shape).map_err(|e| refused(graph, n, &e.to_string()))?;
    Ok(shape)
}

/// Node `n`'s `r` and `R_u` polys (the layout's `aux` entry).
fn polys_of(layout: &ZkLayout, n: usize) -> Result<(usize, usize), ProofError> {
    match layout.aux.get(n).map(Vec::as_slice) {
        Some(&[pr, pu]) if matches!(layout.polys[pr].kind, HiddenKind::RopeRemainder(m) if m == n) && matches!(layout.polys[pu].kind, HiddenKind::RopeR(m) if m == n) => Ok((pr, pu)),
        _ => Err(ProofError::check(WHO, format!("node {n}: a RoPE without its remainder and R table"))),
    }
}

/// Every wired RoPE's committed columns, `R_u` table and range checks (module docs), with the
/// capacity checks; refuses, naming the node, a load a mask cannot hide.
pub(super) fn committed_columns(graph: &Graph, wiring: &[Option<Wiring>], claims: &[usize], out: &mut Committed<'_>, polys: &mut Vec<HiddenPoly>) -> Result<(), ProofError> {
    for (n, w) in wiring.iter().enumerate() {
        let Some(Wiring::Rope(s)) = w else { continue };
        let y = graph.nodes[n].output;
        let tv = tensor_vars(&graph.meta(y).shape);
        if tv < MIN_BLOCK_VARS {
            return Err(refused(graph, n, &format!("a zk RoPE's output needs ≥ {} padded entries (the zk lookups' smallest block), not 2^{tv}", 1usize << MIN_BLOCK_VARS)));
        }
        if out.column_poly[y.0].is_some() {
            return Err(refused(graph, n, "a zk RoPE's output is committed by its node, not as a graph output"));
        }
        let (frac, out_bits) = (s.op.frac, s.op.out_bits);
        if out_bits + 1 > 62 || frac > 62 {
            return Err(refused(graph, n, &format!("an output bound of 2^{out_bits} (the signed range check needs ≤ 62 bits)")));
        }
        let (pc_y, pc_r) = (points_per_check(out_bits + 1, true), points_per_check(frac, false));
        let load = claims[y.0] + 1 + pc_y + pc_r;
        let capacity = 1usize << tv.min(zkinfer_pcs::hiding::MASK_VARS);
        if load > capacity {
            return Err(refused(graph, n, &format!("the output's mask hides {capacity} evaluations, the proof reads {load}")));
        }
        let d_u = VirtualMask::bits_for(1 + pc_r).map_err(|e| refused(graph, n, &e.to_string()))?;
        let py = polys.len();
        out.column_poly[y.0] = Some(py);
        polys.push(HiddenPoly { kind: HiddenKind::Column(y), num_vars: tv, all: true, mask_degree_bits: 1 });
        let pr = polys.len();
        polys.push(HiddenPoly { kind: HiddenKind::RopeRemainder(n), num_vars: tv, all: true, mask_degree_bits: d_u });
        let pu = polys.len();
        polys.push(HiddenPoly { kind: HiddenKind::RopeR(n), num_vars: 3 + d_u, all: false, mask_degree_bits: 1 });
        let cy = range_check(polys, py, out_bits + 1, true);
        out.ranges.push(cy);
        let cr = range_check(polys, pr, frac, false);
        out.ranges.push(cr);
        out.aux[n] = vec![pr, pu];
    }
    Ok(())
}

/// The statement the prover rotates with: the layout's (tests: a malicious prover's positions).
fn prover_shape(s: &ZkRopeShape) -> ZkRopeShape {
    #[allow(unused_mut)] // replaced by the tests' malicious prover
    let mut shape = s.clone();
    #[cfg(test)]
    FORGED_POSITIONS.with(|f| {
        if let Some(p) = f.borrow().as_ref() {
            shape.positions = p.clone();
        }
    });
    shape
}

fn to_f(v: &[i64]) -> Vec<F> {
    v.iter().map(|&a| from_i64_unchecked(a)).collect()
}

/// The remainders `r = x·A + x_sw·B + 2^(F−1) − 2^F·y` of the trace's `x` and `y` (the public
/// op's witness, logical order).
fn remainders(s: &ZkRopeShape, x: &[i64], y: &[i64]) -> Result<Vec<i64>, ProofError> {
    let d = s.dims()?;
    if x.len() != d.cube.len() || y.len() != x.len() {
        return Err(ProofError::witness(WHO, "a RoPE's trace lengths"));
    }
    crate::ops::product_sumcheck::check_bound("Rope (zk)", x, s.op.in_bits)?;
    let (a, b) = s.op.coeff_tables(&d, &s.positions)?;
    let inner = TensorLayout::new(&[d.t, d.d]);
    let (f, half) = (s.op.frac, 1i128 << (s.op.frac - 1));
    let mut r = Vec::with_capacity(x.len());
    for (i, (&xv, &yv)) in x.iter().zip(y).enumerate() {
        let (row, c) = ((i / d.d) % d.t, i % d.d);
        let k = inner.padded_index(&[row, c]);
        let (ac, bc) = (i128::from(to_i64(a[k])), i128::from(to_i64(b[k])));
        let acc = i128::from(xv) * ac + i128::from(x[i ^ 1]) * bc + half - (i128::from(yv) << f);
        r.push(i64::try_from(acc).map_err(|_| ProofError::witness(WHO, "a RoPE remainder beyond 64 bits"))?);
    }
    Ok(r)
}

/// Every wired RoPE's `R_u` table (uniform), its PCS mask, and its remainder column with the
/// tied mask; the remainders' integer values into `ints` (for the range phase). After `y`'s
/// column (step 2 of `ZkSecrets::sample`), before the range module's limbs.
pub(super) fn sample_columns<R: Rng + ?Sized>(layout: &ZkLayout, graph: &Graph, trace: &IntTrace, tables: &mut [(Vec<F>, Vec<F>)], ints: &mut [Option<Vec<i64>>], rng: &mut R) -> Result<(), ProofError> {
    for (n, w) in layout.wiring.iter().enumerate() {
        let Some(Wiring::Rope(s)) = w else { continue };
        let node = &graph.nodes[n];
        let (pr, pu) = polys_of(layout, n).map_err(|e| ProofError::witness(WHO, e.to_string()))?;
        let py = layout.committed(node.output).ok_or_else(|| ProofError::witness(WHO, "a RoPE output without its column"))?;
        let value = |t| trace.get(t).map(|v| v.data.clone()).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", graph.meta(t).name)));
        #[allow(unused_mut)] // edited by the tests' malicious prover
        let mut r = remainders(&prover_shape(s), &value(node.inputs[0])?, &value(node.output)?)?;
        #[cfg(test)]
        TAMPER.with(|t| t.borrow().as_ref().map(|f| f(n, &mut r)));
        let pu_poly = &layout.polys[pu];
        let vm = VirtualMask::from_table((0..1usize << pu_poly.num_vars).map(|_| rng.random::<F>()).collect()).map_err(|e| ProofError::witness(WHO, e.to_string()))?;
        if vm.degree_bits() + 3 != pu_poly.num_vars {
            return Err(ProofError::witness(WHO, "a RoPE's R table size"));
        }
        tables[pu] = (vm.table().to_vec(), (0..mask_table_len(pu_poly.mask_vars(), 1)).map(|_| rng.random::<F>()).collect());
        let tied = tied_remainder_mask(&vm, &tables[py].1, layout.polys[py].mask_degree_bits, layout.polys[pr].mask_vars(), s.op.frac)?;
        if tied.degree_bits != layout.polys[pr].mask_degree_bits {
            return Err(ProofError::witness(WHO, "a RoPE remainder's tied mask degree"));
        }
        let rp = padded_i64(&r, &graph.meta(node.output).shape);
        tables[pr] = (to_f(&rp), tied.table);
        ints[pr] = Some(rp);
    }
    Ok(())
}

/// Routes the zk RoPE's claims (both sides): `ŷ(z)`, `r̂(z)`, `R̂_u` and the mask's to the
/// opening, `x̂(ρ)` to `x`'s origin.
#[allow(clippy::too_many_arguments)] // the node's polys and the routing's
fn route_claims(router: &mut Router<'_>, graph: &Graph, n: usize, (py, pr, pu, mp): (usize, usize, usize, usize), d_u: usize, c: ZkRopeClaims, inputs: &[Vec<i64>], check_public: bool) -> Result<(), ProofError> {
    router.finals.push(FinalClaim { poly: py, point: c.y.point, value: c.y.value });
    router.finals.push(FinalClaim { poly: pr, point: c.r.point, value: c.r.value });
    let (a, w, v) = c.u_r;
    router.finals.push(FinalClaim { poly: pu, point: r_point(d_u, a, w), value: v });
    router.mask_claims(mp, c.mask_claims);
    router.route(graph.nodes[n].inputs[0], c.x, inputs, check_public)
}

/// Prover: RoPE node `n` (all claims on its output arrived: they are final, on its column).
#[allow(clippy::too_many_arguments)] // the driver's state, the node, the statement
pub(super) fn prove(layout: &ZkLayout, secrets: &ZkSecrets, vals: &Values<'_>, router: &mut Router<'_>, graph: &Graph, n: usize, s: &ZkRopeShape, inputs: &[Vec<i64>], t: &mut ProverTranscript) -> Result<(), ProofError> {
    let node = &graph.nodes[n];
    let x = node.inputs[0];
    let py = router.committed_output(node.output)?;
    let (pr, pu) = polys_of(layout, n)?;
    let mp = node_mask(layout, n)?;
    let mask = secrets.sumcheck_masks[mp].as_ref().ok_or_else(|| ProofError::check(WHO, "a node mask missing"))?;
    let d_u = layout.polys[pu].num_vars - 3;
    let y_hat = |z: &[EF]| secrets.hat(layout, py, z).unwrap_or(EF::ZERO);
    let r_hat = |z: &[EF]| secrets.hat(layout, pr, z).unwrap_or(EF::ZERO);
    let x_cof = |z: &[EF]| vals.cofactor(x, z);
    let u_hat = |a: EF, w: EF| secrets.hat(layout, pu, &r_point(d_u, a, w)).unwrap_or(EF::ZERO);
    let masks = ZkRopeMasks { y_hat: &y_hat, r_hat: &r_hat, x_cof: &x_cof, u_hat: &u_hat };
    let c = prove_rope_zk(&prover_shape(s), &vals.values(x)?, &masks, mask, t)?;
    route_claims(router, graph, n, (py, pr, pu, mp), d_u, c, inputs, false)
}

/// Verifier side of [`prove`].
pub(super) fn verify(layout: &ZkLayout, router: &mut Router<'_>, graph: &Graph, n: usize, s: &ZkRopeShape, inputs: &[Vec<i64>], t: &mut VerifierTranscript<'_>) -> Result<(), ProofError> {
    let py = router.committed_output(graph.nodes[n].output)?;
    let (pr, pu) = polys_of(layout, n)?;
    let mp = node_mask(layout, n)?;
    let d_u = layout.polys[pu].num_vars.checked_sub(3).ok_or_else(|| ProofError::check(WHO, "a RoPE's R table size"))?;
    let c = verify_rope_zk(s, t)?;
    route_claims(router, graph, n, (py, pr, pu, mp), d_u, c, inputs, true)
}

#[cfg(test)]
#[path = "zk_graph_rope_tests.rs"]
mod tests;
