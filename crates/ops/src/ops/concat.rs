//! `ConcatSeq`: cached keys/values `a: [H, P, d]` followed by new ones `b: [H, M, d]` along the
//! sequence axis, `y: [H, P + M, d]` (semantics: `zkinfer_graph::ops::concat`). A KV-cache chunk's
//! attention reads its keys and values through it.
//!
//! With every axis padded to a power of two and variables read most significant bit first, let
//! `r = (r_h, r_t, r_c)` be a point of `ỹ`, `m_y, m_a, m_b` the sequence variables of `y`, `a`, `b`.
//! Since every `t < P` has its top `m_y − m_a` bits zero, and — when `P` is a multiple of
//! `2^{m_b}` (required; the chunked prover's positions are aligned so) — `P + i` for `i < 2^{m_b}`
//! has top bits `k = P / 2^{m_b}` and low bits `i`,
//!
//! ```text
//! ỹ(r) = Π_{l < m_y − m_a} (1 − r_t[l]) · ã(r_h, r_t[m_y − m_a..], r_c)
//!      + eq(r_t[..m_y − m_b], k)        · b̃(r_h, r_t[m_y − m_b..], r_c)
//! ```
//!
//! exactly (padding is zero in all three). The prover sends both evaluations, the verifier checks
//! the sum; each becomes a claim on its operand. No sumcheck and no soundness loss: a false claim
//! on `y` leaves a false claim on `a` or on `b` (the verifier's factors are nonzero except with
//! probability `m_y/|EF|`, and then both claims are still checked). Nothing is committed.

use zkinfer_field::{EF, PrimeCharacteristicRing};

use super::linear::ensure;
use super::public_mle::point_indicator_mle;
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, WalkProver, WalkVerifier, TensorRole};
use crate::mle_eval::evaluate_slice;

const OP: &str = "ConcatSeq";

/// The proof of [`zkinfer_graph::ops::concat::ConcatSeq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcatSeqProof;

/// The split of a claim point on `y`: the point on `a` and its factor, the point on `b` and its.
struct Split {
    point_a: Vec<EF>,
    factor_a: EF,
    point_b: Vec<EF>,
    factor_b: EF,
}

fn check(node: &NodeShape<'_>) -> Result<(), ProofError> {
    node.expect_inputs(OP, 2)?;
    let (a, b, y) = (&node.inputs[0].dims, &node.inputs[1].dims, &node.output.dims);
    match (a.as_slice(), b.as_slice(), y.as_slice()) {
        (&[h, p, d], &[h2, m, d2], &[h3, n, d3]) if h == h2 && h == h3 && d == d2 && d == d3 && p > 0 && m > 0 && p.checked_add(m) == Some(n) => {
            ensure(OP, p % m.next_power_of_two() == 0, "")
                .map_err(|_| ProofError::shape(OP, format!("{p} cached positions are not a multiple of {} (the new positions padded)", m.next_power_of_two())))
        }
        _ => Err(ProofError::shape(OP, format!("{a:?} ++ {b:?} → {y:?}"))),
    }
}

fn split(node: &NodeShape<'_>, point: &[EF]) -> Result<Split, ProofError> {
    let y = node.output.layout();
    if point.len() != y.num_vars() {
        return Err(ProofError::shape(OP, "claim point dimension"));
    }
    let (la, lb) = (node.inputs[0].layout(), node.inputs[1].layout());
    let parts = y.split_point(point);
    let (r_h, r_t, r_c) = (parts[0], parts[1], parts[2]);
    let (ma, mb) = (la.dim_vars()[1], lb.dim_vars()[1]);
    let (hi_a, lo_a) = r_t.split_at(r_t.len() - ma);
    let (hi_b, lo_b) = r_t.split_at(r_t.len() - mb);
    let k = node.inputs[0].dims[1] >> mb;
    Ok(Split {
        point_a: [r_h, lo_a, r_c].concat(),
        factor_a: hi_a.iter().map(|&r| EF::ONE - r).product(),
        point_b: [r_h, lo_b, r_c].concat(),
        factor_b: point_indicator_mle(k, hi_b),
    })
}

impl OpVerifier for ConcatSeqProof {
    fn name(&self) -> &'static str {
        OP
    }

    fn output_role(&self) -> TensorRole {
        TensorRole::Virtual
    }

    fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
        check(node)
    }
}

impl WalkVerifier for ConcatSeqProof {
    fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        check(node)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        let s = split(node, &claim.point)?;
        let a_eval = ctx.receive_eval()?;
        let b_eval = ctx.receive_eval()?;
        ensure(OP, s.factor_a * a_eval + s.factor_b * b_eval == claim.value, "the cached and new parts do not sum to the claim")?;
        Ok(vec![vec![Claim::new(s.point_a, a_eval)], vec![Claim::new(s.point_b, b_eval)]])
    }
}

impl OpProver for ConcatSeqProof {}

impl WalkProver for ConcatSeqProof {
    fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
        check(&node.shape)?;
        let Some(claim) = out_claims.into_iter().next() else {
            return Ok(vec![Vec::new(); 2]);
        };
        let s = split(&node.shape, &claim.point)?;
        let mut evals = Vec::with_capacity(2);
        for (i, point) in [(0, &s.point_a), (1, &s.point_b)] {
            let layout = node.shape.inputs[i].layout();
            let v = node.input_values(i);
            if v.len() != layout.len() {
                return Err(ProofError::witness(OP, "operand length"));
            }
            evals.push(ctx.send_eval(evaluate_slice(&v.pad(&layout), point)));
        }
        Ok(vec![vec![Claim::new(s.point_a, evals[0])], vec![Claim::new(s.point_b, evals[1])]])
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::concat::ConcatSeq {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(ConcatSeqProof))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use zkinfer_graph::ops::concat::ConcatSeq;
    use zkinfer_graph::ops::{IntOp, Operand as GOperand};
    use zkinfer_graph::tensor::IntTensor;

    use super::*;
    use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, assert_rejects, rng};

    fn case(seed: u64, h: usize, p: usize, m: usize, d: usize) -> Case {
        let mut r = rng(seed);
        let a: Vec<i64> = (0..h * p * d).map(|_| r.random_range(-1000..1000)).collect();
        let b: Vec<i64> = (0..h * m * d).map(|_| r.random_range(-1000..1000)).collect();
        let ta = IntTensor { shape: vec![h, p, d], data: a.clone() };
        let tb = IntTensor { shape: vec![h, m, d], data: b.clone() };
        let y = ConcatSeq.eval_int(&[GOperand::Act(&ta), GOperand::Act(&tb)]).expect("concat");
        Case {
            inputs: vec![
                Operand { dims: vec![h, p, d], role: TensorRole::Virtual, values: a },
                Operand { dims: vec![h, m, d], role: TensorRole::Virtual, values: b },
            ],
            output_dims: vec![h, p + m, d],
            output: y.data,
            public_output: None,
        }
    }

    /// Aligned shapes, odd head and column counts, a short last chunk (3 new after 4 cached).
    #[test]
    fn honest_concat_verifies() {
        for (seed, h, p, m, d) in [(1u64, 2usize, 4usize, 4usize, 3usize), (2, 3, 4, 3, 5), (3, 1, 8, 1, 2), (4, 2, 12, 4, 7), (5, 1, 2, 2, 1)] {
            assert_accepts(&ConcatSeqProof, &case(seed, h, p, m, d));
        }
    }

    /// A changed cached or new value (the output recomputed), or a changed output alone, is
    /// rejected; a misaligned cache length is refused.
    #[test]
    fn lies_are_rejected() {
        let c = case(7, 2, 4, 4, 3);
        for operand in 0..2 {
            let mut inputs: Vec<Vec<i64>> = c.inputs.iter().map(|o| o.values.clone()).collect();
            inputs[operand][5] += 1;
            let ta = IntTensor { shape: vec![2, 4, 3], data: inputs[0].clone() };
            let tb = IntTensor { shape: vec![2, 4, 3], data: inputs[1].clone() };
            let y = ConcatSeq.eval_int(&[GOperand::Act(&ta), GOperand::Act(&tb)]).expect("concat");
            assert_rejects(&ConcatSeqProof, &c, &Attack { inputs: Some(inputs), output: Some(y.data), tamper: None });
        }
        let mut y = c.output.clone();
        y[10] -= 1;
        assert_rejects(&ConcatSeqProof, &c, &Attack { output: Some(y), ..Default::default() });
        let err = assert_rejects(&ConcatSeqProof, &case(8, 1, 3, 2, 2), &Attack::default());
        assert!(err.contains("not a multiple"), "{err}");
    }
}
