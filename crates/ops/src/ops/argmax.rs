//! Argmax over the vocabulary with PUBLIC results (semantics: `zkinfer_graph::ops::argmax`, the
//! smallest index among the maxima). The verifier knows the ids `a_t` (the completion), so the
//! op proves that they are the argmaxes of the logits `L: [T, V]`.
//!
//! **Committed**: the gaps `g[t, j] = L[t, a_t] − L[t, j] − [j < a_t]` on real entries, 0 on
//! padding (column `gap`), range-checked to `[0, 2^(b+1))` (`|L| < 2^b`, so `g ≤ 2^(b+1) − 2`). `g ≥ 0` says
//! `L[t, a_t] ≥ L[t, j]` for every `j` and `>` for `j < a_t`: exactly "a_t is the first maximum".
//! **Link to L** at a random `z = (z_t, z_j)`, with `V(t, j) = [t < T][j < V]`:
//!
//! ```text
//! g̃(z) = Σ_{t,j} eq(z, (t, j))·V·(L[t, a_t] − L[t, j] − [j < a_t])
//!      = ṽ_V(z_j)·S − L̃(z) − Σ_{t<T} eq(z_t, t)·lt_{a_t}(z_j),
//! S    = Σ_{t<T} eq(z_t, t)·L[t, a_t] = Σ_{t,j} W(t, j)·L(t, j),  W(t, j) = eq(z_t, t)·[j = a_t]
//! ```
//!
//! (`L` is zero on padding, `lt_a` is the MLE of `j ↦ [j < a]`). The prover sends `g̃(z)`,
//! `L̃(z)` and `S`; a sumcheck of degree 2 reduces `S` to `L̃(ρ)` at a random `ρ`, where the
//! verifier evaluates `W̃(ρ) = Σ_t eq(z_t, t)·eq(ρ_t, t)·eq(ρ_j, a_t)` itself. Verifier work
//! `O(T·log V)` beyond the polylog sumcheck; two claims on `L` go back to its producer.
//! Soundness: the field identities are integer identities because `|L| ≤ 2^b`, `g < 2^(b+1)`
//! and `b + 1 ≤ 62` (checked by [`crate::bounds::check_relation`] on both sides); error
//! `(2·n + 1)/|EF|` plus the range check's.
//!
//! **Public ids.** The ids are the node's public output (`NodeShape::public_output`).

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::{Mle, eq_evals};
use zkinfer_sumcheck::Term;

use super::product_sumcheck::{check_bound, check_final, ef_i64, prove_products, verify_products};
use super::public_mle::{less_than_mle, point_indicator_mle};
use crate::bounds::{Interval, check_relation};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::witness::{WitnessBuilder, WitnessLayout};

const OP: &str = "Argmax";
/// Column of the gaps.
pub const GAP_COLUMN: &str = "gap";

/// The proof of a row argmax with public results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgmaxProof {
    /// Input bound: `|L| < 2^in_bits` (`≤ 61`).
    pub in_bits: u32,
}

/// The validated public ids and the logits' layout.
struct Shape<'a> {
    rows: usize,
    vocab: usize,
    layout: TensorLayout,
    ids: &'a [i64],
}

impl ArgmaxProof {
    /// The proof for logits with `|L| < 2^in_bits`.
    pub fn new(in_bits: u32) -> Self {
        Self { in_bits }
    }

    pub(crate) fn gap_bits(&self) -> Result<u32, ProofError> {
        if self.in_bits > 61 {
            return Err(ProofError::shape(OP, format!("logit bound 2^{} above 2^61", self.in_bits)));
        }
        let l = Interval::magnitude(self.in_bits);
        check_relation(OP, "g = L[a] − L[j] − [j < a]", &[Interval::unsigned_range(self.in_bits + 1)], &[l, l.scale(-1), Interval::between(-1, 0)])?;
        Ok(self.in_bits + 1)
    }

    fn shape<'a>(node: &NodeShape<'a>) -> Result<Shape<'a>, ProofError> {
        node.expect_inputs(OP, 1)?;
        let (rows, vocab) = match node.inputs[0].dims.as_slice() {
            &[t, v] if v > 0 => (t, v),
            d => return Err(ProofError::shape(OP, format!("logits of shape {d:?}"))),
        };
        let ids: &'a [i64] = node.public_output.ok_or_else(|| ProofError::shape(OP, "the argmax ids must be public"))?;
        if ids.len() != rows || ids.iter().any(|&a| a < 0 || a as usize >= vocab) {
            return Err(ProofError::shape(OP, "public ids: wrong count or outside the vocabulary"));
        }
        Ok(Shape { rows, vocab, layout: TensorLayout::new(&[rows, vocab]), ids })
    }

    /// Terms of `W·L` over the tables `[W, L]`.
    fn terms() -> Vec<Term> {
        vec![(EF::ONE, vec![0, 1])]
    }
}

/// `W(t, j) = eq(z_t, t)·[j = a_t]` for `t < T` as a table.
fn selector_table(s: &Shape<'_>, z_t: &[EF]) -> Vec<EF> {
    let eq_t = eq_evals(z_t);
    let vv = s.layout.dim_vars()[1];
    let mut w = EF::zero_vec(s.layout.padded_len());
    for (t, &a) in s.ids.iter().enumerate() {
        w[(t << vv) | a as usize] = eq_t[t];
    }
    w
}

/// `Σ_{t<T} eq(z_t, t)·lt_{a_t}(z_j)`.
fn less_than_sum(s: &Shape<'_>, z_t: &[EF], z_j: &[EF]) -> EF {
    let eq_t = eq_evals(z_t);
    s.ids.iter().enumerate().map(|(t, &a)| eq_t[t] * less_than_mle(a as usize, z_j)).sum()
}

/// `W̃(ρ) = Σ_{t<T} eq(z_t, t)·eq(ρ_t, t)·eq(ρ_j, a_t)`.
fn selector_at(s: &Shape<'_>, z_t: &[EF], rho_t: &[EF], rho_j: &[EF]) -> EF {
    let (eq_z, eq_r) = (eq_evals(z_t), eq_evals(rho_t));
    s.ids.iter().enumerate().map(|(t, &a)| eq_z[t] * eq_r[t] * point_indicator_mle(a as usize, rho_j)).sum()
}

impl OpVerifier for ArgmaxProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Public
    }

    fn layout(&self, node: &NodeShape<'_>, w: &mut WitnessLayout) -> Result<(), ProofError> {
        let s = Self::shape(node)?;
        let gap = w.commit_tensor(GAP_COLUMN, &s.layout)?;
        w.range_check(gap, self.gap_bits()?, false)
    }
}

impl WalkVerifier for ArgmaxProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let s = Self::shape(node)?;
        let gap = ctx.column(GAP_COLUMN)?;
        let tv = s.layout.dim_vars()[0];
        let z = ctx.challenges(s.layout.num_vars());
        let g_z = ctx.claim_column(gap, &z)?;
        let l_z = ctx.receive_eval()?;
        let sum = ctx.receive_eval()?;
        let (z_t, z_j) = z.split_at(tv);
        let expected_gap = super::public_mle::less_than_mle(s.vocab, z_j) * sum - l_z - less_than_sum(&s, z_t, z_j);
        if g_z != expected_gap {
            return Err(ProofError::check(OP, "gap column does not match the logits and the public ids"));
        }
        let terms = Self::terms();
        let (rho, expected) = verify_products(OP, ctx, s.layout.num_vars(), &terms, false, sum)?;
        let l_rho = ctx.receive_eval()?;
        let (rho_t, rho_j) = rho.split_at(tv);
        let w_rho = selector_at(&s, z_t, rho_t, rho_j);
        check_final(OP, &terms, None, &rho, &[w_rho, l_rho], expected)?;
        Ok(vec![vec![Claim::new(z, l_z), Claim::new(rho, l_rho)]])
    }
}

impl OpProver for ArgmaxProof {
    fn witness(&self, node: &NodeTrace<'_>, w: &mut WitnessBuilder) -> Result<(), ProofError> {
        let s = Self::shape(&node.shape)?;
        let bits = self.gap_bits()?;
        let logits = node.inputs[0];
        if logits.len() != s.rows * s.vocab {
            return Err(ProofError::shape(OP, "logits length"));
        }
        check_bound(OP, logits, self.in_bits)?;
        let mut gaps = Vec::with_capacity(logits.len());
        for (t, row) in logits.chunks(s.vocab).enumerate() {
            let a = s.ids[t] as usize;
            let best = row[a];
            gaps.extend(row.iter().enumerate().map(|(j, &l)| best - l - i64::from(j < a)));
        }
        let gap = w.commit_tensor(GAP_COLUMN, &s.layout, &gaps)?;
        w.range_check(gap, bits, false)
    }
}

impl WalkProver for ArgmaxProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, _out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        let s = Self::shape(&node.shape)?;
        let gap = ctx.column(GAP_COLUMN)?;
        let tv = s.layout.dim_vars()[0];
        let z = ctx.challenges(s.layout.num_vars());
        let _ = ctx.claim_column(gap, &z);
        let logits = s.layout.pad_i64(node.inputs[0]);
        let l_z = ctx.send_eval(crate::mle_eval::evaluate_slice(&logits, &z));
        let eq_t = eq_evals(&z[..tv]);
        let sum: EF = s.ids.iter().enumerate().map(|(t, &a)| eq_t[t] * ef_i64(node.inputs[0][t * s.vocab + a as usize])).sum();
        let _ = ctx.send_eval(sum);
        let w_table = Mle::new(selector_table(&s, &z[..tv]));
        let l_table = Mle::new(logits.iter().map(|&v| EF::from(v)).collect::<Vec<EF>>());
        let (rho, finals) = prove_products(ctx, vec![w_table, l_table], Self::terms(), None);
        let l_rho = ctx.send_eval(finals[1]);
        Ok(vec![vec![Claim::new(z, l_z), Claim::new(rho, l_rho)]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::argmax::Argmax {
    fn protocol(&self, node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(ArgmaxProof::new(node.in_bits(0))))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::argmax::argmax_row;

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, bump, padded_index, rng};

    fn case(rows: usize, vocab: usize, logits: Vec<i64>) -> Case {
        let ids: Vec<i64> = logits.chunks(vocab).map(|r| argmax_row(r) as i64).collect();
        Case {
            inputs: vec![Operand { dims: vec![rows, vocab], role: TensorRole::Virtual, values: logits }],
            output_dims: vec![rows],
            output: ids.clone(),
            public_output: Some(ids),
        }
    }

    /// Logits with many ties at the maximum (small range), so the first-index rule matters.
    fn random_logits(seed: u64, rows: usize, vocab: usize, spread: i64) -> Vec<i64> {
        let mut r = rng(seed);
        (0..rows * vocab).map(|_| r.random_range(-spread..spread)).collect()
    }

    #[test]
    fn honest_argmax_verifies_with_ties() {
        for (seed, rows, vocab, spread) in [(1u64, 5usize, 50usize, 4i64), (2, 3, 257, 1 << 20), (3, 1, 7, 1)] {
            let c = case(rows, vocab, random_logits(seed, rows, vocab, spread));
            assert_accepts(&ArgmaxProof::new(21), &c);
        }
    }

    #[test]
    fn full_vocabulary_row_verifies() {
        let (rows, vocab) = (2, 50257);
        let c = case(rows, vocab, random_logits(4, rows, vocab, 1 << 24));
        assert_accepts(&ArgmaxProof::new(25), &c);
    }

    #[test]
    fn wrong_ids_and_perturbations_are_rejected() {
        let (rows, vocab) = (4, 50);
        let c = case(rows, vocab, random_logits(5, rows, vocab, 3));
        let op = ArgmaxProof::new(21);
        // A later tied maximum or any non-maximal id: some gap is negative, no range proof exists.
        for t in 0..rows {
            let row = &c.inputs[0].values[t * vocab..(t + 1) * vocab];
            let a = c.output[t] as usize;
            let other = (0..vocab).rev().find(|&j| j != a).expect("another index");
            let mut ids = c.output.clone();
            ids[t] = other as i64;
            let wrong = Case {
                inputs: vec![Operand { dims: vec![rows, vocab], role: TensorRole::Virtual, values: c.inputs[0].values.clone() }],
                output_dims: vec![rows],
                output: ids.clone(),
                public_output: Some(ids),
            };
            let _ = row;
            assert_rejects(&op, &wrong, &Attack::default());
        }
        // A prover that proves other logits in which a wrong id is the argmax: the claims on L fail.
        let mut logits = c.inputs[0].values.clone();
        let a = c.output[1] as usize;
        let j = (a + 1) % vocab;
        logits[vocab + j] = logits[vocab + a] + 1;
        let mut ids = c.output.clone();
        ids[1] = j as i64;
        let forged = Case {
            inputs: vec![Operand { dims: vec![rows, vocab], role: TensorRole::Virtual, values: c.inputs[0].values.clone() }],
            output_dims: vec![rows],
            output: ids.clone(),
            public_output: Some(ids),
        };
        let err = assert_rejects(&op, &forged, &Attack { inputs: Some(vec![logits]), ..Default::default() });
        assert!(err.starts_with("operand"), "{err}");
        // Editing one gap (limbs kept consistent) breaks the gap/logit link.
        for (t, j, delta) in [(0usize, 3usize, 1i64), (2, 49, -1), (3, 0, 2)] {
            let at = padded_index(&[rows, vocab], &[t, j]);
            let tamper = move |w: &mut WitnessBuilder| bump(w, GAP_COLUMN, at, delta);
            let err = assert_rejects(&op, &c, &Attack { tamper: Some(&tamper), ..Default::default() });
            assert!(err.starts_with("verify"), "{err}");
        }
    }
}
