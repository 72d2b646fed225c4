//! Reshapes: `SliceCols`, `SplitHeads`, `MergeHeads` (moves of elements, no arithmetic).
//!
//! Each output element is one input element, `y[i] = x[π(i)]`. When `π` maps index bits to index
//! bits (power-of-two head size, aligned power-of-two slices) the padded MLEs satisfy
//! `ỹ(r) = x̃(σ(r))` for a permutation/substitution `σ` of the point's coordinates: the claim is
//! passed on at the relabelled point, with no message and no soundness loss.
//!
//! Otherwise padding breaks the bit correspondence and a degree-2 sumcheck moves the claim:
//! for the variables `j` of the input's moved dimensions,
//!
//! ```text
//! ỹ(r) = Σ_j A(j)·Sel(j),   A(j) = x̃(r_kept, j),   Sel(j) = Σ_{i : π(i) = j} eq(r_moved, i)
//! ```
//!
//! (the kept dimension — the sequence axis — stays at `r_t`). At the random `ρ` the prover sends
//! `x̃(r_kept, ρ)` and the verifier evaluates `Sel̃(ρ)` itself from two eq tables in `O(size of the
//! moved dimensions)` (`O(D)` for a `[T, D]` activation). Soundness error `2·log/|EF|`.
//!
//! * `SliceCols{start, len}`: `[T, C] → [T, L]`, `y[t, c] = x[t, start + c]`; relabelling iff
//!   `L` is a power of two and `L | start` (then `x̃(r_t, bits(start/L), r_c)`).
//! * `SplitHeads{H}`: `[T, H·d] → [H, T, d]`, `y[h, t, c] = x[t, h·d + c]`; relabelling iff `d`
//!   is a power of two (`x̃(r_t, r_h ‖ r_c)`).
//! * `MergeHeads`: `[H, T, d] → [T, H·d]`, the inverse; relabelling iff `d` is a power of two.

use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::eq_evals;

use super::linear::{concat, ensure, prove_product, verify_product};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::mle_eval::fold_rows;

/// `x̃(r_kept, ρ)` by the sumcheck `Σ_j A(j)·Sel(j)`; returns `(ρ, A(ρ))` (the value is sent).
fn prove_moved(a: Vec<EF>, sel: Vec<EF>, ctx: &mut ProverCtx<'_>) -> (Vec<EF>, EF) {
    let (rho, finals) = prove_product(vec![a, sel], ctx.transcript);
    let a_eval = ctx.send_eval(finals[0]);
    (rho, a_eval)
}

/// Verifier of [`prove_moved`]: `selector(ρ)` computes `Sel̃(ρ)`.
fn verify_moved(
    op: &'static str,
    num_vars: usize,
    claim_value: EF,
    ctx: &mut VerifierCtx<'_, '_>,
    selector: impl FnOnce(&[EF]) -> EF,
) -> Result<(Vec<EF>, EF), ProofError> {
    let (rho, expected) = verify_product(op, num_vars, 2, claim_value, ctx.transcript)?;
    let a_eval = ctx.receive_eval()?;
    ensure(op, selector(&rho) * a_eval == expected, "x(ρ)·Sel(ρ) differs from the reduced claim")?;
    Ok((rho, a_eval))
}

/// `Σ_{i < n} eq_out[i]·eq_in[map(i)]`: a selector MLE at a point from two eq tables.
fn selector_sum(n: usize, eq_out: impl Fn(usize) -> EF, eq_in: &[EF], map: impl Fn(usize) -> usize) -> EF {
    (0..n).map(|i| eq_out(i) * eq_in[map(i)]).sum()
}

fn to_f(v: i64) -> F {
    from_i64_unchecked(v)
}

/// Claim with no work for an unused output.
fn none(n: usize) -> Vec<Vec<Claim>> {
    vec![Vec::new(); n]
}

fn check_point(op: &'static str, claim: &Claim, layout: &TensorLayout) -> Result<(), ProofError> {
    if claim.point.len() == layout.num_vars() { Ok(()) } else { Err(ProofError::shape(op, "claim point dimension")) }
}

// ------------------------------------------------------------------------------------------ slice

const SLICE: &str = "SliceCols";

/// The proof of [`zkinfer_graph::ops::slice::SliceCols`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceColsProof {
    /// First column taken.
    pub start: usize,
    /// Number of columns taken.
    pub len: usize,
}

impl SliceColsProof {
    /// `(T, C)` after checking shapes.
    fn dims(&self, node: &NodeShape<'_>) -> Result<(usize, usize), ProofError> {
        node.expect_inputs(SLICE, 1)?;
        let &[t, c] = node.inputs[0].dims.as_slice() else {
            return Err(ProofError::shape(SLICE, "input must be [T, C]"));
        };
        if self.start.checked_add(self.len).is_none_or(|e| e > c) || node.output.dims != [t, self.len] {
            return Err(ProofError::shape(SLICE, "slice outside the input"));
        }
        Ok((t, c))
    }

    /// Whether the slice is an aligned power-of-two block (a relabelling).
    fn aligned(&self) -> bool {
        self.len.is_power_of_two() && self.start.is_multiple_of(self.len)
    }

    /// Input point of the relabelling: `(r_t, bits(start/L), r_c)`.
    fn relabelled(&self, r_t: &[EF], r_c: &[EF], cv: usize) -> Vec<EF> {
        let block_vars = cv - r_c.len();
        let block = self.start / self.len;
        let bits: Vec<EF> = (0..block_vars).map(|k| if (block >> (block_vars - 1 - k)) & 1 == 1 { EF::ONE } else { EF::ZERO }).collect();
        concat(&[r_t, &bits, r_c])
    }
}

impl OpVerifier for SliceColsProof {
    fn name(&self) -> &'static str {
        SLICE
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Virtual
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        self.dims(node).map(|_| ())
    }
}

impl WalkVerifier for SliceColsProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (t, c) = self.dims(node)?;
        let Some(claim) = out_claims.into_iter().next() else { return Ok(none(1)) };
        let (x_layout, y_layout) = (TensorLayout::new(&[t, c]), node.output.layout());
        check_point(SLICE, &claim, &y_layout)?;
        let split = y_layout.split_point(&claim.point);
        let (r_t, r_c) = (split[0], split[1]);
        let cv = x_layout.dim_vars()[1];
        if self.aligned() {
            return Ok(vec![vec![Claim::new(self.relabelled(r_t, r_c, cv), claim.value)]]);
        }
        let (start, len) = (self.start, self.len);
        let (rho, a_eval) = verify_moved(SLICE, cv, claim.value, ctx, |rho| {
            let (eq_c, eq_rho) = (eq_evals(r_c), eq_evals(rho));
            selector_sum(len, |i| eq_c[i], &eq_rho, |i| start + i)
        })?;
        Ok(vec![vec![Claim::new(concat(&[r_t, &rho]), a_eval)]])
    }
}

impl OpProver for SliceColsProof {}

impl WalkProver for SliceColsProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (t, c) = self.dims(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else { return Ok(none(1)) };
        let (x_layout, y_layout) = (TensorLayout::new(&[t, c]), node.shape.output.layout());
        let split = y_layout.split_point(&claim.point);
        let (r_t, r_c) = (split[0], split[1]);
        let cv = x_layout.dim_vars()[1];
        if self.aligned() {
            return Ok(vec![vec![Claim::new(self.relabelled(r_t, r_c, cv), claim.value)]]);
        }
        let x = node.input_values(0);
        if x.len() != t * c {
            return Err(ProofError::witness(SLICE, "input length"));
        }
        let a = fold_rows(|i| to_f(x.get(i)), t, c, &eq_evals(r_t), cv);
        let eq_c = eq_evals(r_c);
        let mut sel = vec![EF::ZERO; 1 << cv];
        sel[self.start..self.start + self.len].copy_from_slice(&eq_c[..self.len]);
        let (rho, a_eval) = prove_moved(a, sel, ctx);
        Ok(vec![vec![Claim::new(concat(&[r_t, &rho]), a_eval)]])
    }
}

// ------------------------------------------------------------------------------------------ split

const SPLIT: &str = "SplitHeads";

/// The proof of [`zkinfer_graph::ops::heads::SplitHeads`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitHeadsProof {
    /// Number of heads.
    pub heads: usize,
}

impl SplitHeadsProof {
    /// `(T, d)` after checking shapes.
    fn dims(&self, node: &NodeShape<'_>) -> Result<(usize, usize), ProofError> {
        node.expect_inputs(SPLIT, 1)?;
        match node.inputs[0].dims.as_slice() {
            &[t, c] if self.heads > 0 && c % self.heads == 0 && node.output.dims == [self.heads, t, c / self.heads] => Ok((t, c / self.heads)),
            _ => Err(ProofError::shape(SPLIT, "input must be [T, H·d] and output [H, T, d]")),
        }
    }
}

impl OpVerifier for SplitHeadsProof {
    fn name(&self) -> &'static str {
        SPLIT
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Virtual
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        self.dims(node).map(|_| ())
    }
}

impl WalkVerifier for SplitHeadsProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (t, d) = self.dims(node)?;
        let Some(claim) = out_claims.into_iter().next() else { return Ok(none(1)) };
        let y_layout = node.output.layout();
        check_point(SPLIT, &claim, &y_layout)?;
        let split = y_layout.split_point(&claim.point);
        let (r_h, r_t, r_c) = (split[0], split[1], split[2]);
        if d.is_power_of_two() {
            return Ok(vec![vec![Claim::new(concat(&[r_t, r_h, r_c]), claim.value)]]);
        }
        let c = self.heads * d;
        let cv = TensorLayout::new(&[t, c]).dim_vars()[1];
        let (rho, a_eval) = verify_moved(SPLIT, cv, claim.value, ctx, |rho| {
            let (eq_h, eq_c, eq_rho) = (eq_evals(r_h), eq_evals(r_c), eq_evals(rho));
            selector_sum(c, |j| eq_h[j / d] * eq_c[j % d], &eq_rho, |j| j)
        })?;
        Ok(vec![vec![Claim::new(concat(&[r_t, &rho]), a_eval)]])
    }
}

impl OpProver for SplitHeadsProof {}

impl WalkProver for SplitHeadsProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (t, d) = self.dims(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else { return Ok(none(1)) };
        let y_layout = node.shape.output.layout();
        let split = y_layout.split_point(&claim.point);
        let (r_h, r_t, r_c) = (split[0], split[1], split[2]);
        if d.is_power_of_two() {
            return Ok(vec![vec![Claim::new(concat(&[r_t, r_h, r_c]), claim.value)]]);
        }
        let c = self.heads * d;
        let x = node.input_values(0);
        if x.len() != t * c {
            return Err(ProofError::witness(SPLIT, "input length"));
        }
        let cv = TensorLayout::new(&[t, c]).dim_vars()[1];
        let a = fold_rows(|i| to_f(x.get(i)), t, c, &eq_evals(r_t), cv);
        let (eq_h, eq_c) = (eq_evals(r_h), eq_evals(r_c));
        let mut sel = vec![EF::ZERO; 1 << cv];
        for (j, s) in sel.iter_mut().enumerate().take(c) {
            *s = eq_h[j / d] * eq_c[j % d];
        }
        let (rho, a_eval) = prove_moved(a, sel, ctx);
        Ok(vec![vec![Claim::new(concat(&[r_t, &rho]), a_eval)]])
    }
}

// ------------------------------------------------------------------------------------------ merge

const MERGE: &str = "MergeHeads";

/// The proof of [`zkinfer_graph::ops::heads::MergeHeads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeHeadsProof;

impl MergeHeadsProof {
    /// `(H, T, d)` after checking shapes.
    fn dims(&self, node: &NodeShape<'_>) -> Result<(usize, usize, usize), ProofError> {
        node.expect_inputs(MERGE, 1)?;
        match node.inputs[0].dims.as_slice() {
            &[h, t, d] if node.output.dims == [t, h * d] => Ok((h, t, d)),
            _ => Err(ProofError::shape(MERGE, "input must be [H, T, d] and output [T, H·d]")),
        }
    }
}

impl OpVerifier for MergeHeadsProof {
    fn name(&self) -> &'static str {
        MERGE
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Virtual
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        self.dims(node).map(|_| ())
    }
}

impl WalkVerifier for MergeHeadsProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (h, t, d) = self.dims(node)?;
        let Some(claim) = out_claims.into_iter().next() else { return Ok(none(1)) };
        let y_layout = node.output.layout();
        check_point(MERGE, &claim, &y_layout)?;
        let split = y_layout.split_point(&claim.point);
        let (r_t, r_j) = (split[0], split[1]);
        let x_layout = TensorLayout::new(&[h, t, d]);
        let (hv, dv) = (x_layout.dim_vars()[0], x_layout.dim_vars()[2]);
        if d.is_power_of_two() {
            let (r_h, r_c) = r_j.split_at(hv);
            return Ok(vec![vec![Claim::new(concat(&[r_h, r_t, r_c]), claim.value)]]);
        }
        let (rho, a_eval) = verify_moved(MERGE, hv + dv, claim.value, ctx, |rho| {
            let (eq_rho, eq_j) = (eq_evals(rho), eq_evals(r_j));
            selector_sum(h * d, |i| eq_j[i], &eq_rho, |i| ((i / d) << dv) | (i % d))
        })?;
        let (rho_h, rho_c) = rho.split_at(hv);
        Ok(vec![vec![Claim::new(concat(&[rho_h, r_t, rho_c]), a_eval)]])
    }
}

impl OpProver for MergeHeadsProof {}

impl WalkProver for MergeHeadsProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let (h, t, d) = self.dims(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else { return Ok(none(1)) };
        let y_layout = node.shape.output.layout();
        let split = y_layout.split_point(&claim.point);
        let (r_t, r_j) = (split[0], split[1]);
        let x_layout = TensorLayout::new(&[h, t, d]);
        let (hv, dv) = (x_layout.dim_vars()[0], x_layout.dim_vars()[2]);
        if d.is_power_of_two() {
            let (r_h, r_c) = r_j.split_at(hv);
            return Ok(vec![vec![Claim::new(concat(&[r_h, r_t, r_c]), claim.value)]]);
        }
        let x = node.input_values(0);
        if x.len() != h * t * d {
            return Err(ProofError::witness(MERGE, "input length"));
        }
        let eq_t = eq_evals(r_t);
        let mut a = Vec::with_capacity(1 << (hv + dv));
        for hh in 0..(1usize << hv) {
            if hh < h {
                a.extend(fold_rows(|i| to_f(x.get(hh * t * d + i)), t, d, &eq_t, dv));
            } else {
                a.extend(std::iter::repeat_n(EF::ZERO, 1 << dv));
            }
        }
        let eq_j = eq_evals(r_j);
        let mut sel = vec![EF::ZERO; 1 << (hv + dv)];
        for hh in 0..h {
            for cc in 0..d {
                sel[(hh << dv) | cc] = eq_j[hh * d + cc];
            }
        }
        let (rho, a_eval) = prove_moved(a, sel, ctx);
        let (rho_h, rho_c) = rho.split_at(hv);
        Ok(vec![vec![Claim::new(concat(&[rho_h, r_t, rho_c]), a_eval)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::slice::SliceCols {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(SliceColsProof { start: self.start, len: self.len }))
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::heads::SplitHeads {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(SplitHeadsProof { heads: self.heads }))
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::heads::MergeHeads {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(MergeHeadsProof))
    }
}
