//! LayerNorm and RMSNorm in the zk graph driver (a child module of `crate::zk_graph`): the
//! library zk prover [`crate::zk_norm`] wired with its committed columns as hidden polynomials,
//! its ties, its range checks in the driver's one zk lookup phase, and its claims routed.
//!
//! # Columns and masks (per norm node, all in the driver's one hiding batch)
//!
//! * `y` (the output, `[T, n]` padded): a [`HiddenKind::Column`] with a uniform mask `M_y`
//!   (degree bits 1), like a rounded Rescale's output; its consumers' claims are final claims;
//! * the public op's **row columns** (`[T]` padded to `2^tv`; LayerNorm: `mean`, `r₁`, `n−1−r₁`,
//!   `var`, `r₂`, `n−1−r₂`, `inv`, `s₁`, `s₂`, `σ`, `t₁`, `t₂`, `g`; RMSNorm the same without the
//!   three mean columns and with `ms` for `var`), each a [`HiddenKind::NormColumn`]; the first of
//!   each statistic pair (`mean`, `var` / `ms`) with a uniform mask, the second (`r₁`, `r₂`) with its
//!   mask TIED: `M_b = Σ_w R_i(z_0, w) − n·M_a` ([`crate::zk_rescale::tied_mask`]);
//! * the rounding remainder `r₃` (`[T, n]` padded; `NormColumn` at index = the row column count),
//!   its mask tied to `y`'s: `M_{r₃} = Σ_w R_last(z_0, w) − 2^s·M_y`;
//! * one `R` table per tie ([`HiddenKind::NormR`], `Vanishing::Last`, `3 + d` variables, `d`
//!   from the tie's load, below), read by the cube sumcheck's output masks at `(z_0, ρ_0)`;
//! * the cube sumcheck's mask table ([`HiddenKind::NodeMask`]) and the row zero-check's
//!   ([`HiddenKind::RowMask`]).
//!
//! All columns are committed dense (`Vanishing::All`), one block each, as the ties need
//! (`crate::zk_rescale`, "Wiring constraint"). Padding entries are zero (the public op's padding;
//! `zk_norm`'s relation forces them on padding rows and columns).
//!
//! # Range checks (the public op's, `crate::ops::layernorm`, `crate::ops::rmsnorm`)
//!
//! Every row column at its [`crate::ops::norm_rows::NormRows::row_bits`] width (signed `mean`),
//! `r₃ ∈ [0, 2^s)`, `y` signed in `out_bits + 1` bits: the same statements as the public op,
//! after the same parameter and no-wrap checks ([`crate::zk_norm::ZkNormShape::check`] runs the
//! public op's `widths`), through the driver's range module (direct lookups or 16-bit limbs, the
//! limb relation at a random point, one zk logUp at the end of the walk).
//!
//! # Claims
//!
//! The walk reaches a norm after every consumer of `y` (reverse order); `y`'s claims are final
//! claims (a committed column), all of which must have arrived. [`crate::zk_norm`]'s prover then
//! ends with: `x̂(ρ)`, routed to `x`'s origin (a virtual tensor's producer, which discharges it
//! with its `R` mask, or an Add's operands); `γ̂(ρ_c)`, `β̂(ρ_c)` routed to their origins (weights:
//! opened; a zk key's ticket for keyed weights); `ŷ(z)`, `r̂₃(z)`, the row columns' values (at
//! `z_t`, `ρ_t`, `ρ₂`), the `R` tables' `e_i` and both mask tables' claims, all final. Counts: one
//! claim on each operand (the plan's rule, `crate::zk_plan::zk_claims_on_input`).
//!
//! # Soundness and no wrap
//!
//! The relation, its soundness error and its integer argument are [`crate::zk_norm`]'s and the
//! public op's: every identity holds on the cube (the cube sumcheck with its ties and output
//! masks, the row zero-check), every column lies in its public range (the lookups), and the public
//! op's `widths` — run here when the layout is built — bound every term below `2^62 < p`, so the
//! field identities are integer ones (`crate::ops::layernorm`'s module docs, "Why σ"). The driver
//! adds no field relation; `y`'s signed width `out_bits + 1 ≤ 62` is checked (the limb relation's
//! own no-wrap argument, `zk_graph_range.rs`).
//!
//! # Zero knowledge and capacities (checked when the layout is built)
//!
//! Sent: [`crate::zk_norm`]'s messages (its simulator) and the range phase's. Each mask hides a
//! bounded number of fresh evaluations, counted here: `M_y` (`2^μ`, `μ = min(tv + cv, 4)`) covers
//! `y`'s consumers' claims, the norm's point `z`, `y`'s range check points and `r₃`'s (its mask
//! contains `M_y`); a row column's `M_a` (`2^min(tv, 4)`) its reads at `z_t`, `ρ_t` (`inv`,
//! `mean`), `ρ₂`, its range check points and its tied partner's; the tie `R_i` of degree
//! `< 2^d` in `z_0` (`d = VirtualMask::bits_for(1 + k)`) its output-mask read and the tied
//! column's `k` reads at fresh first coordinates (`ρ₂` and its range check points for a row tie;
//! the range check points for `r₃`). Leaks: the shapes, the public widths, the claim counts.
//!
//! # Constraints
//!
//! `T ≥ 17` rows and a row length `n ≥ 17` (`crate::zk_norm`: masked tables of ≥ 5 variables,
//! and the zk lookups' smallest block): smaller norms are refused naming the node.

use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_graph::graph::{Graph, IntTrace, TensorId, Weights};
use zkinfer_graph::ops::Op;
use zkinfer_sumcheck::zk::MaskShape;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, r_point};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use super::range::{Committed, points_per_check, range_check};
use super::{FinalClaim, HiddenKind, HiddenPoly, Router, Values, WHO, Wiring, ZkLayout, node_mask, padded_i64, refused, tensor_vars};
use crate::error::ProofError;
use crate::ops::layernorm::LayerNormProof;
use crate::ops::rmsnorm::RmsNormProof;
use crate::zk_norm::{CBETA, CG, CX, NormKind, NormOperands, ZkNormClaims, ZkNormMasks, ZkNormShape, prove_norm_zk, verify_norm_zk};
use crate::zk_rescale::{mask_table_len, tied_mask};

const OP: &str = "Norm (zk graph)";

#[cfg(test)]
thread_local! {
    /// Tests: a malicious prover's edit of a norm's row columns (node, columns) before its
    /// remainders are computed.
    pub(super) static TAMPER: std::cell::RefCell<Option<Box<dyn Fn(usize, &mut [Vec<i64>])>>> = const { std::cell::RefCell::new(None) };
}

/// The wiring of norm node `n` (LayerNorm or RMSNorm), or its refusal naming the node.
pub(super) fn wire(graph: &Graph, n: usize) -> Result<Wiring, ProofError> {
    let node = &graph.nodes[n];
    let bad = |why: &str| refused(graph, n, why);
    let want = if matches!(node.op, Op::LayerNorm(_)) { 3 } else { 2 };
    if node.inputs.len() != want {
        return Err(bad("a zk norm needs x, γ (and LayerNorm's β)"));
    }
    let shape = |k: usize| graph.meta(node.inputs[k]).shape.clone();
    let bits = |k: usize| graph.meta(node.inputs[k]).bits;
    let out_bits = graph.meta(node.output).bits;
    let (rows, n_) = match shape(0).as_slice() {
        &[t, c] => (t, c),
        _ => return Err(bad("a zk norm needs x: [T, n]")),
    };
    if (1..want).any(|k| shape(k) != [n_]) || graph.meta(node.output).shape != shape(0) {
        return Err(bad("a zk norm needs γ (and β): [n] and an output of x's shape"));
    }
    let kind = match &node.op {
        Op::LayerNorm(o) => NormKind::Layer(LayerNormProof::new(o.eps, o.k, o.shift, bits(0), bits(1), bits(2), out_bits)),
        Op::RmsNorm(o) => NormKind::Rms(RmsNormProof::new(o.eps, o.k, o.shift, bits(0), bits(1), out_bits)),
        _ => return Err(bad("not a norm")),
    };
    let s = ZkNormShape { rows, n: n_, kind };
    s.check().map_err(|e| bad(&format!("{e} (T = {rows} rows of n = {n_}; the zk norm needs T ≥ 17 and n ≥ 17)")))?;
    if out_bits + 1 > 62 {
        return Err(bad(&format!("an output bound of 2^{out_bits} (the signed range check needs ≤ 62 bits)")));
    }
    Ok(Wiring::Norm(s))
}

/// A norm node's hidden polynomials.
struct NormPolys {
    /// The output `y`.
    y: usize,
    /// The row columns, in the public op's order.
    rows: Vec<usize>,
    /// `r₃`.
    r3: usize,
    /// The `R` tables, in tie order.
    r: Vec<usize>,
    /// The row zero-check's mask table.
    row_mask: usize,
}

fn polys_of(layout: &ZkLayout, n: usize, y: TensorId, s: &ZkNormShape) -> Result<NormPolys, ProofError> {
    let nr = s.row_columns();
    let missing = || ProofError::check(WHO, format!("node {n}: a norm without its committed columns"));
    let (mut rows, mut r3, mut r, mut row_mask) = (vec![None; nr], None, vec![None; s.ties()], None);
    for (i, p) in layout.polys.iter().enumerate() {
        match p.kind {
            HiddenKind::NormColumn { node, index } if node == n && index < nr => rows[index] = Some(i),
            HiddenKind::NormColumn { node, index } if node == n && index == nr => r3 = Some(i),
            HiddenKind::NormR { node, tie } if node == n && tie < r.len() => r[tie] = Some(i),
            HiddenKind::RowMask(node) if node == n => row_mask = Some(i),
            _ => {}
        }
    }
    Ok(NormPolys {
        y: layout.committed(y).ok_or_else(missing)?,
        rows: rows.into_iter().collect::<Option<_>>().ok_or_else(missing)?,
        r3: r3.ok_or_else(missing)?,
        r: r.into_iter().collect::<Option<_>>().ok_or_else(missing)?,
        row_mask: row_mask.ok_or_else(missing)?,
    })
}

/// The row zero-check's mask shape of node `n` (`None` if it is not a norm).
pub(super) fn row_mask_shape(layout: &ZkLayout, n: usize) -> Option<MaskShape> {
    match layout.wiring.get(n) {
        Some(Some(Wiring::Norm(s))) => Some(s.row_mask_shape()),
        _ => None,
    }
}

/// The committed columns, `R` tables, row mask and range checks of every norm the walk proves
/// (module docs), with the capacity checks; refuses, naming the node, a load a mask cannot hide.
pub(super) fn committed_columns(graph: &Graph, wiring: &[Option<Wiring>], claims: &[usize], out: &mut Committed<'_>, polys: &mut Vec<HiddenPoly>) -> Result<(), ProofError> {
    for (n, w) in wiring.iter().enumerate() {
        let Some(Wiring::Norm(s)) = w else { continue };
        let y = graph.nodes[n].output;
        let (tv, cube_vars) = (s.tv(), tensor_vars(&graph.meta(y).shape));
        let row_bits = s.row_bits()?;
        let (shift, out_bits) = (s.shift(), s.out_bits());
        let pairs = s.tie_pairs();
        let cap = |vars: usize| 1usize << vars.min(zkinfer_pcs::hiding::MASK_VARS);
        let pc = |(b, signed): (u32, bool)| points_per_check(b, signed);
        // The ties' R tables: the output mask's read plus the tied column's fresh reads.
        let mut r_bits = Vec::with_capacity(pairs.len() + 1);
        for &(_, b) in &pairs {
            r_bits.push(VirtualMask::bits_for(1 + 1 + pc(row_bits[b])).map_err(|e| refused(graph, n, &e.to_string()))?);
        }
        r_bits.push(VirtualMask::bits_for(1 + pc((shift, false))).map_err(|e| refused(graph, n, &e.to_string()))?);
        // y's mask: its consumers' claims, z, its range check and r₃'s (M_{r₃} contains M_y).
        let load_y = claims[y.0] + 1 + pc((out_bits + 1, true)) + pc((shift, false));
        if load_y > cap(cube_vars) {
            return Err(refused(graph, n, &format!("the output's mask hides {} evaluations, the proof reads {load_y}", cap(cube_vars))));
        }
        // A row column's mask: ρ₂, its range check, z_t (a pair's), ρ_t (inv, mean), its tied
        // partner's fresh reads (ρ₂ and z_t shared).
        let cube_rows = s.cube_row_columns();
        for (i, &bits) in row_bits.iter().enumerate() {
            let in_pair = pairs.iter().any(|&(a, b)| a == i || b == i);
            let partner = pairs.iter().find(|&&(a, _)| a == i).map_or(0, |&(_, b)| pc(row_bits[b]));
            let load = 1 + pc(bits) + usize::from(in_pair) + usize::from(cube_rows.contains(&i)) + partner;
            if load > cap(tv) {
                return Err(refused(graph, n, &format!("row column {i}'s mask hides {} evaluations, the proof reads {load}", cap(tv))));
            }
        }
        let py = polys.len();
        out.column_poly[y.0] = Some(py);
        polys.push(HiddenPoly { kind: HiddenKind::Column(y), num_vars: cube_vars, all: true, mask_degree_bits: 1 });
        let first = polys.len();
        for i in 0..row_bits.len() {
            let a = pairs.iter().position(|&(_, b)| b == i).map_or(1, |t| r_bits[t]);
            polys.push(HiddenPoly { kind: HiddenKind::NormColumn { node: n, index: i }, num_vars: tv, all: true, mask_degree_bits: a });
        }
        let pr3 = polys.len();
        polys.push(HiddenPoly { kind: HiddenKind::NormColumn { node: n, index: row_bits.len() }, num_vars: cube_vars, all: true, mask_degree_bits: r_bits[pairs.len()] });
        for (tie, &d) in r_bits.iter().enumerate() {
            polys.push(HiddenPoly { kind: HiddenKind::NormR { node: n, tie }, num_vars: 3 + d, all: false, mask_degree_bits: 1 });
        }
        polys.push(HiddenPoly { kind: HiddenKind::RowMask(n), num_vars: s.row_mask_shape().num_vars(), all: false, mask_degree_bits: 1 });
        for (i, &(bits, signed)) in row_bits.iter().enumerate() {
            let rc = range_check(polys, first + i, bits, signed);
            out.ranges.push(rc);
        }
        let rc = range_check(polys, pr3, shift, false);
        out.ranges.push(rc);
        let rc = range_check(polys, py, out_bits + 1, true);
        out.ranges.push(rc);
    }
    Ok(())
}

/// The operands a norm reads (unpadded, row-major) and its row columns (`T` values each).
struct NormWitness {
    x: Vec<i64>,
    gamma: Vec<i64>,
    beta: Option<Vec<i64>>,
    rows: Vec<Vec<i64>>,
}

fn norm_witness(s: &ZkNormShape, n: usize, x: Vec<i64>, gamma: Vec<i64>, beta: Option<Vec<i64>>) -> Result<NormWitness, ProofError> {
    if x.len() != s.rows * s.n || gamma.len() != s.n || beta.as_ref().is_some_and(|b| b.len() != s.n) {
        return Err(ProofError::witness(OP, format!("node {n}: operand lengths")));
    }
    let gadget = s.norm();
    let nr = s.row_columns();
    let mut rows = vec![Vec::with_capacity(s.rows); nr];
    for row in x.chunks_exact(s.n) {
        let v = gadget.row_values(OP, row)?;
        for (col, &val) in rows.iter_mut().zip(&v[..nr]) {
            col.push(val);
        }
    }
    #[cfg(test)]
    TAMPER.with(|t| {
        if let Some(f) = t.borrow().as_ref() {
            f(n, &mut rows);
        }
    });
    Ok(NormWitness { x, gamma, beta, rows })
}

/// `r₃ = d·inv·γ + 2^(s−1) − 2^s·(y − β)` per entry (`d = x − mean`; RMSNorm `d = x`, no `β`).
fn remainders(s: &ZkNormShape, w: &NormWitness, y: &[i64]) -> Result<Vec<i64>, ProofError> {
    let cube_rows = s.cube_row_columns();
    let (inv, mean) = (&w.rows[cube_rows[0]], cube_rows.get(1).map(|&m| &w.rows[m]));
    let shift = s.shift();
    let mut out = Vec::with_capacity(w.x.len());
    for (i, (&x, &yv)) in w.x.iter().zip(y).enumerate() {
        let (t, c) = (i / s.n, i % s.n);
        let d = i128::from(x) - mean.map_or(0, |m| i128::from(m[t]));
        let beta = w.beta.as_ref().map_or(0, |b| i128::from(b[c]));
        let r = d * i128::from(inv[t]) * i128::from(w.gamma[c]) + (1i128 << (shift - 1)) - ((i128::from(yv) - beta) << shift);
        out.push(i64::try_from(r).map_err(|_| ProofError::witness(OP, "a remainder beyond 64 bits"))?);
    }
    Ok(out)
}

fn to_f(v: &[i64]) -> Vec<F> {
    v.iter().map(|&x| from_i64_unchecked(x)).collect()
}

fn weight_or_trace(graph: &Graph, weights: &Weights, trace: &IntTrace, t: TensorId) -> Result<Vec<i64>, ProofError> {
    let meta = graph.meta(t);
    if let Some(v) = trace.get(t) {
        return Ok(v.data.clone());
    }
    weights.get(&meta.name).map(|w| w.to_i64_vec()).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", meta.name)))
}

/// Samples every norm's `R` tables and fills its row columns and `r₃` with their masks (uniform,
/// or tied: module docs); `y`'s table and mask are the driver's (a `Column`, sampled before).
/// Returns, per poly, the integer values of the columns filled (for the range checks).
pub(super) fn sample_columns<R: Rng + ?Sized>(
    layout: &ZkLayout,
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    tables: &mut [(Vec<F>, Vec<F>)],
    rng: &mut R,
) -> Result<Vec<Option<Vec<i64>>>, ProofError> {
    let mut ints: Vec<Option<Vec<i64>>> = vec![None; layout.polys.len()];
    let uniform = |len: usize, rng: &mut R| (0..len).map(|_| rng.random::<F>()).collect::<Vec<F>>();
    for (n, w) in layout.wiring.iter().enumerate() {
        let Some(Wiring::Norm(s)) = w else { continue };
        let node = &graph.nodes[n];
        let y = node.output;
        let p = polys_of(layout, n, y, s)?;
        let val = |t: TensorId| weight_or_trace(graph, weights, trace, t);
        let beta = node.inputs.get(2).map(|&b| val(b)).transpose()?;
        let wit = norm_witness(s, n, val(node.inputs[0])?, val(node.inputs[1])?, beta)?;
        let yv = trace.get(y).map(|v| v.data.clone()).ok_or_else(|| ProofError::witness(WHO, format!("no value for {}", graph.meta(y).name)))?;
        let r3 = remainders(s, &wit, &yv)?;
        // R tables (uniform), then the untied row columns' masks, then the tied ones.
        let mut vms = Vec::with_capacity(p.r.len());
        for &q in &p.r {
            let hp = &layout.polys[q];
            let vm = VirtualMask::from_table(uniform(1usize << hp.num_vars, rng)).map_err(|e| ProofError::shape(WHO, e.to_string()))?;
            tables[q] = (vm.table().to_vec(), uniform(mask_table_len(hp.mask_vars(), 1), rng));
            vms.push(vm);
        }
        let pairs = s.tie_pairs();
        let dims = [s.rows];
        for (i, &q) in p.rows.iter().enumerate() {
            let col = padded_i64(&wit.rows[i], &dims);
            let mask = match pairs.iter().position(|&(_, b)| b == i) {
                Some(_) => Vec::new(),
                None => uniform(mask_table_len(layout.polys[q].mask_vars(), 1), rng),
            };
            tables[q] = (to_f(&col), mask);
            ints[q] = Some(col);
        }
        let tie = |vm: &VirtualMask, partner: usize, q: usize, scale: F, tables: &[(Vec<F>, Vec<F>)]| -> Result<Vec<F>, ProofError> {
            let (pp, hp) = (&layout.polys[partner], &layout.polys[q]);
            let m = tied_mask(vm, &tables[partner].1, pp.mask_degree_bits, hp.mask_vars(), scale)?;
            if m.degree_bits != hp.mask_degree_bits {
                return Err(ProofError::witness(WHO, "a norm's tied mask degree"));
            }
            Ok(m.table)
        };
        for (k, &(a, b)) in pairs.iter().enumerate() {
            tables[p.rows[b]].1 = tie(&vms[k], p.rows[a], p.rows[b], F::from_u64(s.n as u64), tables)?;
        }
        let r3p = padded_i64(&r3, &[s.rows, s.n]);
        let m = tie(&vms[pairs.len()], p.y, p.r3, F::from_u64(1u64 << s.shift()), tables)?;
        tables[p.r3] = (to_f(&r3p), m);
        ints[p.r3] = Some(r3p);
    }
    Ok(ints)
}

/// Routes a norm's claims (both sides): `x`, `γ`, `β` to their origins, the rest final.
fn route_claims(router: &mut Router<'_>, p: &NormPolys, node: &zkinfer_graph::graph::Node, mp: usize, c: ZkNormClaims, inputs: &[Vec<i64>], check: bool) -> Result<(), ProofError> {
    let layout = router.layout;
    router.route(node.inputs[0], c.x, inputs, check)?;
    router.route(node.inputs[1], c.gamma, inputs, check)?;
    match (node.inputs.get(2), c.beta) {
        (Some(&b), Some(cb)) => router.route(b, cb, inputs, check)?,
        (None, None) => {}
        _ => return Err(ProofError::check(WHO, "a β claim without a β")),
    }
    if c.r.len() != p.r.len() || c.rows.iter().any(|(i, _)| *i >= p.rows.len()) {
        return Err(ProofError::check(WHO, "a norm's claims do not match its layout"));
    }
    router.finals.push(FinalClaim { poly: p.y, point: c.y.point, value: c.y.value });
    router.finals.push(FinalClaim { poly: p.r3, point: c.r3.point, value: c.r3.value });
    router.finals.extend(c.rows.into_iter().map(|(i, cl)| FinalClaim { poly: p.rows[i], point: cl.point, value: cl.value }));
    for (&q, (a, w, value)) in p.r.iter().zip(c.r) {
        router.finals.push(FinalClaim { poly: q, point: r_point(layout.polys[q].num_vars - 3, a, w), value });
    }
    router.mask_claims(mp, c.cube_mask_claims);
    router.mask_claims(p.row_mask, c.row_mask_claims);
    Ok(())
}

/// Prover: node `n`'s zk norm (module docs).
pub(super) fn prove_node(vals: &Values<'_>, router: &mut Router<'_>, n: usize, s: &ZkNormShape, t: &mut ProverTranscript) -> Result<(), ProofError> {
    let (layout, secrets) = (vals.layout, vals.secrets);
    let node = &vals.graph.nodes[n];
    router.committed_output(node.output)?;
    let p = polys_of(layout, n, node.output, s)?;
    let mp = node_mask(layout, n)?;
    let mask = |q: usize| secrets.sumcheck_masks[q].as_ref().ok_or_else(|| ProofError::check(WHO, "a norm's mask missing"));
    let (cube_mask, row_mask) = (mask(mp)?, mask(p.row_mask)?);
    let beta = node.inputs.get(2).map(|&b| vals.values(b)).transpose()?;
    let wit = norm_witness(s, n, vals.values(node.inputs[0])?, vals.values(node.inputs[1])?, beta)?;
    let hat = |q: usize, z: &[EF]| secrets.hat(layout, q, z).unwrap_or(EF::ZERO);
    let y_hat = |z: &[EF]| hat(p.y, z);
    let r3_hat = |z: &[EF]| hat(p.r3, z);
    let row_hat = |i: usize, z: &[EF]| p.rows.get(i).map_or(EF::ZERO, |&q| hat(q, z));
    let ins = &node.inputs;
    let cube_cof = |j: usize, z: &[EF]| match j {
        CX => vals.cofactor(ins[0], z),
        CG => vals.cofactor(ins[1], z),
        CBETA => ins.get(2).map_or(EF::ZERO, |&b| vals.cofactor(b, z)),
        _ => EF::ZERO,
    };
    let row_cof = |i: usize, z: &[EF]| p.rows.get(i).map_or(EF::ZERO, |&q| secrets.column_cofactor(layout, q, z, z.len() - 1));
    let r_hat = |tie: usize, a: EF, w: EF| p.r.get(tie).map_or(EF::ZERO, |&q| hat(q, &r_point(layout.polys[q].num_vars - 3, a, w)));
    let masks = ZkNormMasks { y_hat: &y_hat, r3_hat: &r3_hat, row_hat: &row_hat, cube_cof: &cube_cof, row_cof: &row_cof, r_hat: &r_hat };
    let ops = NormOperands { x: &wit.x, gamma: &wit.gamma, beta: wit.beta.as_deref(), rows: &wit.rows };
    let c = prove_norm_zk(s, ops, &masks, cube_mask, row_mask, t)?;
    route_claims(router, &p, node, mp, c, vals.inputs, false)
}

/// Verifier side of [`prove_node`].
pub(super) fn verify_node(layout: &ZkLayout, graph: &Graph, inputs: &[Vec<i64>], router: &mut Router<'_>, n: usize, s: &ZkNormShape, t: &mut VerifierTranscript<'_>) -> Result<(), ProofError> {
    let node = &graph.nodes[n];
    router.committed_output(node.output)?;
    let p = polys_of(layout, n, node.output, s)?;
    let mp = node_mask(layout, n)?;
    let c = verify_norm_zk(s, t)?;
    route_claims(router, &p, node, mp, c, inputs, true)
}

#[cfg(test)]
#[path = "zk_graph_norm_tests.rs"]
mod tests;
