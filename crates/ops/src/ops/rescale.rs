//! Rescale (requantisation): `y = floor((x + 2^(s−1)) / 2^s)` for a shift `s > 0`; an exact
//! `y = x·2^(−s)` for `s ≤ 0` (semantics: `zkinfer_graph::ops::rescale`).
//!
//! **Committed** (`s > 0`): the output `y` (column `out`) and the remainder `r` (column `rem`).
//! **Relation**, on every entry of the padded tensor (`V` = the public validity mask, 1 on real
//! entries, 0 on padding):
//!
//! ```text
//! x + 2^(s−1)·V = 2^s·y + r,      0 ≤ r < 2^s (range check),   |y| < 2^b (signed range check)
//! ```
//!
//! The relation is linear, so at a random point `z` it reads
//! `x̃(z) = 2^s·ỹ(z) + r̃(z) − 2^(s−1)·Ṽ(z)`: the prover sends `ỹ(z)`, `r̃(z)` (claims on committed
//! columns) and the claim on the input `x` follows. **No wrap**: `y ∈ [−2^b, 2^b)` and
//! `r ∈ [0, 2^s)` are range-checked and `|x| ≤ 2^in_bits` (the input's static bound, at most
//! `2^62`); [`crate::bounds::check_rounding`] accepts the parameters only if the two sides then
//! differ by less than `p` (e.g. `s + b ≤ 63` with `|x| ≤ 2^62`), so the field identity is the
//! integer identity and `(y, r)` is the Euclidean division of `x + 2^(s−1)` by `2^s` — the only
//! solution in the range-checked box. Checked on both sides (`witness`, `layout`, `verify`).
//! Soundness error `n/|EF|` for the random point, plus the range checks'.
//!
//! For `s ≤ 0` the output is virtual: `x̃(z) = ỹ(z) / 2^(−s)`.
//!
//! **Bounded by its consumers.** When every consumer of `y` is a clamp, `y`'s own range check is
//! dropped ([`RescaleProof::bounded_downstream`]): each clamp proves `y = c ± s` with its output
//! `c` and distance `s` range-checked, so `|y| < 2^B` for the clamp's bound `B`
//! ([`crate::ops::clamp::ClampProof::input_bound_bits`]), and the same check with `|y| ≤ 2^B`
//! (`s + B ≤ 62` suffices) keeps the identity an integer one. `y` is then committed as a plain column instead of two limbs.

use zkinfer_field::{EF, Field};

use super::product_sumcheck::pow2;
use crate::bounds::{Interval, check_rounding};
use super::public_mle::valid_mask_mle;
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::layout::TensorLayout;
use crate::witness::{Owner, WitnessBuilder, WitnessLayout};

const OP: &str = "Rescale";
/// Column of the remainders.
pub const REMAINDER_COLUMN: &str = "rem";

/// The proof of a rescale (`zkinfer_graph::ops::rescale::Rescale`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescaleProof {
    /// Bits dropped (`> 0`: rounded right shift; `≤ 0`: exact left shift by `−shift`).
    pub shift: i32,
    /// Output bound: `|y| < 2^out_bits` (range-checked as a signed `out_bits + 1`-bit value).
    pub out_bits: u32,
    /// `Some(B)`: the output is not range-checked here; every consumer proves `|y| < 2^B`.
    pub downstream_bound: Option<u32>,
    /// Input bound `|x| < 2^in_bits` (the graph's static bound; 62, every tensor's limit, unless
    /// given with [`RescaleProof::with_input_bits`]).
    pub in_bits: u32,
}

impl RescaleProof {
    /// A rescale by `shift` whose outputs satisfy `|y| < 2^out_bits`.
    pub fn new(shift: i32, out_bits: u32) -> Self {
        Self { shift, out_bits, downstream_bound: None, in_bits: zkinfer_graph::ops::MAX_BITS }
    }

    /// The same rescale of inputs with `|x| < 2^in_bits`.
    pub fn with_input_bits(self, in_bits: u32) -> Self {
        Self { in_bits, ..self }
    }

    /// The same rescale whose output's range is proven by every consumer (`|y| < 2^bound_bits`),
    /// so that it is not range-checked here (see the module docs).
    pub fn bounded_downstream(self, bound_bits: u32) -> Self {
        Self { downstream_bound: Some(bound_bits), ..self }
    }

    fn check_params(&self) -> Result<(), ProofError> {
        if self.shift > 0 && (self.shift > 62 || self.out_bits + 1 > crate::witness::MAX_RANGE_CHECK_BITS || self.in_bits > 62) {
            return Err(ProofError::shape(OP, format!("unsupported shift {} with output bound 2^{}", self.shift, self.out_bits)));
        }
        if self.shift < -40 {
            return Err(ProofError::shape(OP, format!("shift {} below −40", self.shift)));
        }
        if self.shift > 0 {
            // y is range-checked (signed, out_bits + 1 bits), or bounded by its clamps.
            let y = match self.downstream_bound {
                Some(b) => Interval::magnitude(b),
                None => Interval::signed_range(self.out_bits + 1),
            };
            check_rounding(OP, "x + 2^(s−1) = 2^s·y + r", &[Interval::magnitude(self.in_bits)], self.shift as u32, y)?;
        }
        Ok(())
    }
}

impl RescaleProof {
    /// `s ≤ 0`: the output is the input times `2^(−s)`, so `x̃(z) = ỹ(z) / 2^(−s)`.
    fn scaled_input_claims(&self, out_claims: Vec<Claim>) -> Vec<Vec<Claim>> {
        let scale_inv = pow2((-self.shift) as u32).inverse();
        vec![out_claims.into_iter().map(|c| Claim::new(c.point, c.value * scale_inv)).collect()]
    }

    /// `s > 0`: the claim on the input at `z` from `ỹ(z)`, `r̃(z)`: `x̃ = 2^s·ỹ + r̃ − 2^(s−1)·Ṽ`.
    fn input_claim(&self, layout: &TensorLayout, z: Vec<EF>, y: EF, r: EF) -> Claim {
        let valid = valid_mask_mle(layout.dims(), layout.dim_vars(), &z);
        let s = self.shift as u32;
        let value = pow2(s) * y + r - pow2(s - 1) * valid;
        Claim::new(z, value)
    }
}

/// `r = x + 2^(s−1) − 2^s·y` per real entry.
fn remainders(x: &[i64], y: &[i64], shift: u32) -> Result<Vec<i64>, ProofError> {
    if x.len() != y.len() {
        return Err(ProofError::shape(OP, "input and output lengths differ"));
    }
    let half = 1i128 << (shift - 1);
    x.iter()
        .zip(y)
        .map(|(&x, &y)| {
            let r = x as i128 + half - ((y as i128) << shift);
            i64::try_from(r).map_err(|_| ProofError::witness(OP, "remainder does not fit in 64 bits"))
        })
        .collect()
}

impl OpVerifier for RescaleProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        if self.shift > 0 { TensorRole::Committed } else { TensorRole::Virtual }
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        self.check_params()?;
        node.expect_inputs(OP, 1)?;
        if self.shift <= 0 {
            return Ok(());
        }
        let out = w.plan().find(Owner::Node(node.node), OUTPUT_COLUMN).ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let rem_col = w.commit_tensor(REMAINDER_COLUMN, &node.output.layout())?;
        w.range_check(rem_col, self.shift as u32, false)?;
        if self.downstream_bound.is_some() {
            return Ok(());
        }
        w.range_check(out, self.out_bits + 1, true)
    }
}

impl WalkVerifier for RescaleProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        self.check_params()?;
        let layout = node.output.layout();
        if self.shift <= 0 {
            return Ok(self.scaled_input_claims(out_claims));
        }
        let out = ctx.column(OUTPUT_COLUMN)?;
        let rem = ctx.column(REMAINDER_COLUMN)?;
        let z = ctx.challenges(layout.num_vars());
        let y = ctx.claim_column(out, &z)?;
        let r = ctx.claim_column(rem, &z)?;
        Ok(vec![vec![self.input_claim(&layout, z, y, r)]])
    }
}

impl OpProver for RescaleProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        self.check_params()?;
        node.shape.expect_inputs(OP, 1)?;
        if self.shift <= 0 {
            return Ok(());
        }
        let layout = node.shape.output.layout();
        let out = w
            .plan()
            .find(Owner::Node(node.shape.node), OUTPUT_COLUMN)
            .ok_or_else(|| ProofError::shape(OP, "output column not committed"))?;
        let rem = remainders(node.inputs[0], node.output, self.shift as u32)?;
        let rem_col = w.commit_tensor(REMAINDER_COLUMN, &layout, &rem)?;
        w.range_check(rem_col, self.shift as u32, false)?;
        if self.downstream_bound.is_some() {
            return Ok(());
        }
        w.range_check(out, self.out_bits + 1, true)
    }
}

impl WalkProver for RescaleProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let layout = node.shape.output.layout();
        if self.shift <= 0 {
            return Ok(self.scaled_input_claims(out_claims));
        }
        let out = ctx.column(OUTPUT_COLUMN)?;
        let rem = ctx.column(REMAINDER_COLUMN)?;
        let z = ctx.challenges(layout.num_vars());
        let y = ctx.claim_column(out, &z);
        let r = ctx.claim_column(rem, &z);
        Ok(vec![vec![self.input_claim(&layout, z, y, r)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::rescale::Rescale {
    fn protocol(&self, node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        let proof = RescaleProof::new(self.shift, node.out_bits()).with_input_bits(node.in_bits(0));
        Ok(crate::protocol::OpProtocol::walk(match clamp_consumers_bound(node.graph, node.node.output)? {
            Some(bound) if self.shift > 0 && self.shift as u32 + bound <= 62 => proof.bounded_downstream(bound),
            _ => proof,
        }))
    }
}

/// `Some(B)` if `tensor` is read only by clamps (at least one, and it is not a graph output):
/// every one proves `|x| < 2^B_i` of its input, and `B = max B_i`.
fn clamp_consumers_bound(graph: &zkinfer_graph::graph::Graph, tensor: zkinfer_graph::graph::TensorId) -> Result<Option<u32>, ProofError> {
    if graph.outputs.contains(&tensor) {
        return Ok(None);
    }
    let mut bound = None;
    for consumer in graph.nodes.iter().filter(|n| n.inputs.contains(&tensor)) {
        let zkinfer_graph::ops::Op::Clamp(c) = &consumer.op else { return Ok(None) };
        let in_bits = graph.meta(tensor).bits;
        let b = super::clamp::ClampProof::new(c.lo, c.hi, in_bits).input_bound_bits()?;
        bound = Some(bound.map_or(b, |x: u32| x.max(b)));
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::rescale::rescale_value;

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng, set_entry};
    use zkinfer_field::from_i64_unchecked;

    fn case(dims: &[usize], x: Vec<i64>, shift: i32) -> Case {
        let y = x.iter().map(|&v| rescale_value(v, shift)).collect();
        Case {
            inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x }],
            output_dims: dims.to_vec(),
            output: y,
            public_output: None,
        }
    }

    fn random_x(seed: u64, n: usize, bits: u32) -> Vec<i64> {
        let mut r = rng(seed);
        (0..n).map(|_| r.random_range(-(1i64 << bits) + 1..(1i64 << bits))).collect()
    }

    #[test]
    fn honest_rescales_verify_for_odd_shapes_and_shifts() {
        for (seed, dims, shift) in [(1u64, vec![5usize, 7], 8i32), (2, vec![3, 40], 1), (3, vec![1, 50], 20), (4, vec![6, 3], 33)] {
            let n = dims.iter().product();
            let op = RescaleProof::new(shift, 40 - shift as u32 + 1);
            assert_accepts(&op, &case(&dims, random_x(seed, n, 40), shift));
        }
    }

    #[test]
    fn exact_left_shift_verifies_and_rejects_a_wrong_input() {
        let dims = [4usize, 5];
        let c = case(&dims, random_x(9, 20, 20), -3);
        let op = RescaleProof::new(-3, 23);
        assert_accepts(&op, &c);
        let mut x = c.inputs[0].values.clone();
        x[7] += 1;
        let y: Vec<i64> = x.iter().map(|&v| rescale_value(v, -3)).collect();
        assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
    }

    #[test]
    fn perturbing_output_remainder_or_input_is_rejected() {
        // 5 × 7: the output's signed limbs committed whole (offset everywhere); 5 × 40: as blocks
        // of the extent (offset on the extent only).
        for dims in [[5usize, 7], [5, 40]] {
            perturbations_are_rejected(dims);
        }
    }

    fn perturbations_are_rejected(dims: [usize; 2]) {
        let shift = 12;
        let c = case(&dims, random_x(5, dims[0] * dims[1], 30), shift);
        let op = RescaleProof::new(shift, 30 - shift as u32 + 1);
        let at = padded_index(&dims, &[3, 4]);
        for (col, delta) in [(OUTPUT_COLUMN, 1i64), (OUTPUT_COLUMN, -1), (REMAINDER_COLUMN, 1), (REMAINDER_COLUMN, -1)] {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, delta);
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            assert!(!err.is_empty());
        }
        // The prover proves a different input consistently: the claim on x is then wrong.
        let mut x = c.inputs[0].values.clone();
        x[11] += 1 << shift;
        let y: Vec<i64> = x.iter().map(|&v| rescale_value(v, shift)).collect();
        assert_rejects(&op, &c, &Attack { inputs: Some(vec![x]), output: Some(y), tamper: None });
    }

    #[test]
    fn out_of_range_remainder_is_rejected() {
        // y − 1 with r + 2^s satisfies the linear relation; only the range check stops it.
        for shift in [6i32, 20] {
            let dims = [3usize, 5];
            let c = case(&dims, random_x(7, 15, 30), shift);
            let op = RescaleProof::new(shift, 30 - shift as u32 + 1);
            let i = 4;
            let at = padded_index(&dims, &[0, 4]);
            let x = c.inputs[0].values[i];
            let y = c.output[i];
            let r = x + (1 << (shift - 1)) - (y << shift);
            let t = move |w: &mut WitnessBuilder| {
                set_entry(w, OUTPUT_COLUMN, at, from_i64_unchecked(y - 1));
                set_entry(w, REMAINDER_COLUMN, at, from_i64_unchecked(r + (1 << shift)));
            };
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
            assert!(err.contains("range") || err.contains("lookup") || err.contains("opening") || err.contains("prover"), "{err}");
        }
    }
}
