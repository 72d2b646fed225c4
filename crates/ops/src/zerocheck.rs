//! zerocheck: the constraints of many ops proven by ONE batched sumcheck (Jolt-style).
//!
//! Some ops prove a relation that does not depend on the claims of their consumers — a
//! *zero-check* `Σ_x eq(z_n, x)·C_n(x) = 0` over tables the prover holds (e.g. the clamp's
//! `u·v + λ·a·u + λ²·b·v`), with `z_n` and the op's own challenges drawn from the transcript.
//! Instead of one sumcheck per node, every such instance of the graph is batched with random
//! coefficients `β_n` ([`zkinfer_sumcheck::prove_batched`]): instances of `n_k` variables are
//! bound at the suffix of the common point. Then, node by node, the op sends the evaluations its
//! verifier needs at its point ([`crate::ZeroCheckProver::send_finals`]) and returns the claims on its
//! operands; the verifier recomputes each instance's value `eq(z_n, ρ_n)·C_n(ρ_n)` from them and
//! checks the batch's final claim once. Soundness: the batched sumcheck's `d·N/|EF|` plus
//! `(#instances)/|EF|` for the `β_n`, instead of one `d·n_k/|EF|` per node — and one set of round
//! messages instead of one per node.
//!
//! An op with a zero-check has a committed output and is not called again in the walk: the
//! claims returned here are the claims on its operands.

use std::collections::HashMap;

use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim, SumcheckInstance, Term, product_value};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::{Accumulators, Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::ops::product_sumcheck::product_degree;
use crate::pipeline::{ProverNode, VerifierNode};
use crate::protocol::{ProtocolRef, TensorRole, VerifierRef};
use crate::witness::{WitnessBuilder, WitnessPlan};

/// Prover side of one op's zero-check: `Σ_x eq(z, x)·Σ_k c_k Π_{j∈S_k} mles[j](x) = 0`.
#[derive(Debug)]
pub struct ZeroCheck {
    /// The tables (base-field: the first round runs in `F`, and they take half the memory).
    pub mles: Vec<Mle<F>>,
    /// The terms over the tables.
    pub terms: Vec<Term>,
    /// The eq point `z` (its length is the number of variables).
    pub z: Vec<EF>,
}

/// Verifier side of one op's zero-check (the same terms and `z`).
#[derive(Debug, Clone)]
pub struct ZeroCheckStatement {
    /// The terms over the tables.
    pub terms: Vec<Term>,
    /// The eq point `z`.
    pub z: Vec<EF>,
}

/// Claims on the operands of every op proven here, by node index.
pub type ZeroCheckClaims = HashMap<usize, Vec<Vec<Claim>>>;

/// Most table rows (`Σ 2^{n_k}` over its instances) of one batched zero-check: the zero-check
/// ops are cut, in node order, into consecutive batches within this (a larger instance alone),
/// each proven by its own batched sumcheck. Bounds the prover's memory — every table of a batch
/// is resident together — while a small graph (the tiny fixtures) keeps one batch, proven exactly
/// as before batches existed. A deterministic function of the shapes, so both sides cut alike;
/// each batch is sound on its own (the soundness error adds up over the batches).
pub const MAX_ZERO_CHECK_ROWS: usize = 1 << 23;

/// The batches of zero-check instances of `num_vars` variables ([`MAX_ZERO_CHECK_ROWS`], or the
/// plan's test override).
fn zero_check_batches(plan: &WitnessPlan, num_vars: &[usize]) -> Vec<std::ops::Range<usize>> {
    let budget = plan.zero_check_rows.unwrap_or(MAX_ZERO_CHECK_ROWS);
    crate::lookups::group_by_budget(&num_vars.iter().map(|&n| 1usize << n).collect::<Vec<_>>(), budget)
}

/// Prover: collects the zero-checks of the [`ProtocolRef::ZeroCheck`] ops among `nodes` (in
/// order), proves them in batches ([`MAX_ZERO_CHECK_ROWS`]; each batch: every member's
/// challenges and tables, one batched sumcheck, then every member's finals) and returns the
/// claims on their operands.
pub fn prove_zero_checks(nodes: &[ProverNode<'_>], w: &WitnessBuilder, t: &mut ProverTranscript, acc: &mut Accumulators) -> Result<ZeroCheckClaims, ProofError> {
    let mut members = Vec::new();
    for node in nodes {
        let ProtocolRef::ZeroCheck(p) = node.op else { continue };
        if p.output_role() != TensorRole::Committed {
            return Err(ProofError::shape(p.name(), "an op with a zero-check must commit its output"));
        }
        members.push((p, node, node.trace.shape.output.num_vars()));
    }
    let mut claims = ZeroCheckClaims::new();
    let sizes: Vec<usize> = members.iter().map(|m| m.2).collect();
    for batch in zero_check_batches(w.plan(), &sizes) {
        let mut instances = Vec::with_capacity(batch.len());
        for &(p, node, nv) in &members[batch.clone()] {
            let mut ctx = ProverCtx { transcript: t, witness: w, acc, node: node.trace.shape.node };
            let zc = p.zero_check(&node.trace, &mut ctx)?;
            if zc.z.len() != nv {
                return Err(ProofError::shape(p.name(), "a zero-check over other than its output's variables"));
            }
            instances.push(ProductSumcheck::new_base(zc.mles, zc.terms, Some(zc.z)));
        }
        let mut refs: Vec<&mut dyn SumcheckInstance> = instances.iter_mut().map(|i| i as &mut dyn SumcheckInstance).collect();
        let out = zkinfer_sumcheck::prove_batched(&mut refs, t);
        drop(instances);
        let total = out.point.len();
        for (&(p, node, nv), finals) in members[batch].iter().zip(out.final_evals) {
            let n = node.trace.shape.node;
            let rho = &out.point[total - nv..];
            let mut ctx = ProverCtx { transcript: t, witness: w, acc, node: n };
            claims.insert(n, p.send_finals(&node.trace, &mut ctx, rho, &finals)?);
        }
    }
    Ok(claims)
}

/// Verifier side of [`prove_zero_checks`].
pub fn verify_zero_checks(nodes: &[VerifierNode<'_>], plan: &WitnessPlan, t: &mut VerifierTranscript<'_>, acc: &mut Accumulators) -> Result<ZeroCheckClaims, ProofError> {
    let mut members = Vec::new();
    for node in nodes {
        let VerifierRef::ZeroCheck(p) = node.op else { continue };
        if p.output_role() != TensorRole::Committed {
            return Err(ProofError::shape(p.name(), "an op with a zero-check must commit its output"));
        }
        members.push((p, node));
    }
    let mut claims = ZeroCheckClaims::new();
    let sizes: Vec<usize> = members.iter().map(|(_, node)| node.shape.output.num_vars()).collect();
    for batch in zero_check_batches(plan, &sizes) {
        let mut statements = Vec::with_capacity(batch.len());
        for &(p, node) in &members[batch.clone()] {
            let mut ctx = VerifierCtx { transcript: t, plan, acc, node: node.shape.node };
            let st = p.statement(&node.shape, &mut ctx)?;
            if st.z.len() != node.shape.output.num_vars() {
                return Err(ProofError::shape(p.name(), "a zero-check over other than its output's variables"));
            }
            statements.push(st);
        }
        let claimed: Vec<SumcheckClaim> =
            statements.iter().map(|st| SumcheckClaim { num_vars: st.z.len(), degree: product_degree(&st.terms, true), claimed_sum: EF::ZERO }).collect();
        let verified = zkinfer_sumcheck::verify_batched(&claimed, t).map_err(|e| ProofError::sumcheck("zerocheck", e.to_string()))?;
        let total = verified.point.len();
        let mut values = Vec::with_capacity(statements.len());
        for (&(p, node), st) in members[batch].iter().zip(&statements) {
            let n = node.shape.node;
            let rho = &verified.point[total - st.z.len()..];
            let mut ctx = VerifierCtx { transcript: t, plan, acc, node: n };
            let (tables, operand_claims) = p.read_finals(&node.shape, &mut ctx, rho)?;
            values.push(product_value(&st.terms, Some(&st.z), rho, &tables).map_err(|e| ProofError::sumcheck(p.name(), e.to_string()))?);
            claims.insert(n, operand_claims);
        }
        verified.check_final(&values).map_err(|_| ProofError::check("zerocheck", "the batched constraints do not hold"))?;
    }
    Ok(claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;
    use crate::context::evaluate_column;
    use crate::lookups::{prove_lookups, verify_lookups};
    use crate::ops::clamp::ClampProof;
    use crate::protocol::{NodeShape, NodeTrace, OUTPUT_COLUMN, OpProver, OpVerifier, TensorShape};
    use crate::witness::{ColumnId, Owner, WitnessLayout};
    use zkinfer_transcript::DomainSeparator;

    fn shape(node: usize, dims: &[usize]) -> NodeShape<'static> {
        NodeShape {
            node,
            inputs: vec![TensorShape::new(dims, TensorRole::Virtual)],
            output: TensorShape::new(dims, TensorRole::Committed),
            public_inputs: vec![None],
            public_output: None,
        }
    }

    /// Two clamps of different sizes batched in one zero-check; `tamper` edits the prover's
    /// witness (after it is built) before anything is proven. Returns the verifier's verdict,
    /// including the check of every claim against the committed columns and the true inputs.
    fn round_trip(tamper: impl Fn(&mut WitnessBuilder)) -> Result<(), String> {
        round_trip_in_batches(None, tamper)
    }

    /// [`round_trip`] with the zero-check batch budget `rows` on both sides (`Some(16)`: each
    /// clamp, of 16 and 64 padded rows, is a batch of its own).
    fn round_trip_in_batches(rows: Option<usize>, tamper: impl Fn(&mut WitnessBuilder)) -> Result<(), String> {
        let ops = [ClampProof::new(-100, 100, 12), ClampProof::new(-7, 7, 12)];
        let dims = [vec![3usize, 5], vec![2usize, 9, 2]];
        let xs: Vec<Vec<i64>> = dims
            .iter()
            .enumerate()
            .map(|(k, d)| (0..d.iter().product::<usize>() as i64).map(|i| (i * 577 + k as i64 * 31) % 401 - 200).collect())
            .collect();
        let ys: Vec<Vec<i64>> = xs.iter().zip(&ops).map(|(x, op)| x.iter().map(|&v| v.clamp(op.lo, op.hi)).collect()).collect();
        let shapes: Vec<NodeShape<'static>> = dims.iter().enumerate().map(|(n, d)| shape(n, d)).collect();
        let traces: Vec<NodeTrace<'_>> = (0..2)
            .map(|n| NodeTrace { shape: shapes[n].clone(), inputs: vec![&xs[n]], i16_inputs: vec![None], output: &ys[n] })
            .collect();

        let mut w = WitnessBuilder::new();
        for n in 0..2 {
            w.plan.set_owner(Owner::Node(n));
            w.commit_tensor(OUTPUT_COLUMN, &shapes[n].output.layout(), &ys[n]).map_err(|e| e.to_string())?;
            ops[n].witness(&traces[n], &mut w).map_err(|e| e.to_string())?;
        }
        tamper(&mut w);
        w.seal().map_err(|e| e.to_string())?;
        w.plan.zero_check_rows = rows;
        let ds = DomainSeparator::new("test/zerocheck", 1);
        let mut t = ProverTranscript::new(&ds);
        let mut acc = Accumulators::default();
        prove_lookups(&w, &mut t, &mut acc).map_err(|e| e.to_string())?;
        let nodes: Vec<ProverNode<'_>> = (0..2).map(|n| ProverNode { op: (&ops[n]).into(), trace: traces[n].clone() }).collect();
        let claims = prove_zero_checks(&nodes, &w, &mut t, &mut acc).map_err(|e| e.to_string())?;
        assert_eq!(claims.len(), 2);
        crate::claim_reduction::prove_virtual_claims(&w, &mut t, &mut acc).map_err(|e| e.to_string())?;
        let proof = t.into_proof();

        let mut l = WitnessLayout::new();
        for n in 0..2 {
            l.plan.set_owner(Owner::Node(n));
            l.commit_tensor(OUTPUT_COLUMN, &shapes[n].output.layout()).map_err(|e| e.to_string())?;
            ops[n].layout(&shapes[n], &mut l).map_err(|e| e.to_string())?;
        }
        l.plan.seal().map_err(|e| e.to_string())?;
        l.plan.zero_check_rows = rows;
        let mut vt = VerifierTranscript::new(&ds, &proof);
        let mut vacc = Accumulators::default();
        verify_lookups(&l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        let vnodes: Vec<VerifierNode<'_>> = (0..2).map(|n| VerifierNode { op: ProtocolRef::from(&ops[n]).verifier(), shape: shapes[n].clone() }).collect();
        let vclaims = verify_zero_checks(&vnodes, &l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        crate::claim_reduction::verify_virtual_claims(&l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        vt.finish().map_err(|e| e.to_string())?;
        // The openings, ideally: every witness claim against the committed columns...
        for c in vacc.witness.claims() {
            if evaluate_column(&w.values(ColumnId(c.poly.index())), &c.point) != c.value {
                return Err(format!("false claim on column {:?}", c.poly));
            }
        }
        // ... and the claims on the inputs against the true inputs (the producer's job).
        for n in 0..2 {
            let layout = shapes[n].inputs[0].layout();
            for c in &vclaims[&n][0] {
                if layout.evaluate_i64(&xs[n], &c.point) != c.value {
                    return Err(format!("false claim on the input of node {n}"));
                }
            }
        }
        Ok(())
    }

    /// A forged clamp output (see below) in the second of two batches, and in one batch.
    /// The second clamp's output raised by one at a logical entry strictly inside its range,
    /// consistently: its virtual gaps follow, every range check still holds, but the distance
    /// column still says 0, so `s² = d²` fails at that entry and only the batched zero-check can
    /// catch it.
    fn forge_second_clamp(w: &mut WitnessBuilder) {
        let one = zkinfer_field::F::ONE;
        let out = w.plan().find(Owner::Node(1), OUTPUT_COLUMN).unwrap();
        let lo_gap = w.plan().find(Owner::Node(1), "lo_gap").unwrap();
        let hi_gap = w.plan().find(Owner::Node(1), "hi_gap").unwrap();
        // A logical entry (the gaps are zero on the padding).
        let gap = |c: ColumnId, i: usize| zkinfer_field::to_i64(w.values(c)[i]);
        let at = (0..w.values(out).len()).position(|i| gap(lo_gap, i) > 0 && gap(hi_gap, i) > 0).unwrap();
        w.values[out.0][at] += one;
        w.values[lo_gap.0][at] += one;
        w.values[hi_gap.0][at] -= one;
    }

    #[test]
    fn clamps_in_separate_batches_verify_and_a_forged_one_is_rejected() {
        let mut small = WitnessPlan::default();
        small.zero_check_rows = Some(16);
        assert_eq!(zero_check_batches(&small, &[4, 6]), vec![0..1, 1..2]);
        assert_eq!(zero_check_batches(&WitnessPlan::default(), &[4, 6]), vec![0..2]);
        round_trip_in_batches(Some(16), |_| {}).expect("honest batches verify");
        let err = round_trip_in_batches(Some(16), forge_second_clamp).expect_err("a forged clamp output in the second batch was accepted");
        assert!(err.contains("zerocheck") || err.contains("sumcheck"), "rejected for another reason: {err}");
    }

    #[test]
    fn two_clamps_batched_verify_and_a_forged_one_is_rejected() {
        round_trip(|_| {}).expect("honest batch verifies");
        let err = round_trip(forge_second_clamp).expect_err("a forged clamp output in a batch was accepted");
        assert!(err.contains("zerocheck") || err.contains("sumcheck"), "rejected for another reason: {err}");
    }
}
