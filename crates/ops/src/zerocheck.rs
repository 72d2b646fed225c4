//! zerocheck: the constraints of many ops proven by ONE batched sumcheck (Jolt-style).
//!
//! Some ops prove a relation that does not depend on the claims of their consumers — a
//! *zero-check* `Σ_x eq(z_n, x)·C_n(x) = 0` over tables the prover holds (e.g. the clamp's
//! `u·v + λ·a·u + λ²·b·v`), with `z_n` and the op's own challenges drawn from the transcript.
//! Instead of one sumcheck per node, every such instance of the graph is batched with random
//! coefficients `β_n` ([`zkinfer_sumcheck::prove_batched`]): instances of `n_k` variables are
//! bound at the suffix of the common point. Then, node by node, the op sends the evaluations its
//! verifier needs at its point ([`OpProtocol::finish_zero_check`]) and returns the claims on its
//! operands; the verifier recomputes each instance's value `eq(z_n, ρ_n)·C_n(ρ_n)` from them and
//! checks the batch's final claim once. Soundness: the batched sumcheck's `d·N/|EF|` plus
//! `(#instances)/|EF|` for the `β_n`, instead of one `d·n_k/|EF|` per node — and one set of round
//! messages instead of one per node.
//!
//! An op with a zero-check has a committed output and is not called again in the walk: the
//! claims returned here are the claims on its operands.

use std::collections::HashMap;

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim, SumcheckInstance, Term, product_value};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::{Accumulators, Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::protocol::{NodeShape, NodeTrace, OpProtocol, TensorRole};
use crate::witness::{WitnessBuilder, WitnessPlan};

/// Prover side of one op's zero-check: `Σ_x eq(z, x)·Σ_k c_k Π_{j∈S_k} mles[j](x) = 0`.
#[derive(Debug)]
pub struct ZeroCheck {
    /// The tables.
    pub mles: Vec<Mle<EF>>,
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

fn degree(terms: &[Term]) -> usize {
    terms.iter().map(|(_, idx)| idx.len()).max().unwrap_or(0) + 1
}

/// Prover: collects the zero-checks of `nodes` (in order), proves them in one batch and finishes
/// each; returns the claims on the operands of those nodes.
pub fn prove_zero_checks(
    nodes: &[(usize, &dyn OpProtocol, NodeTrace<'_>)],
    w: &WitnessBuilder,
    t: &mut ProverTranscript,
    acc: &mut Accumulators,
) -> Result<ZeroCheckClaims, ProofError> {
    let mut members = Vec::new();
    let mut instances = Vec::new();
    for (i, (n, p, nt)) in nodes.iter().enumerate() {
        let mut ctx = ProverCtx { transcript: t, witness: w, acc, node: *n };
        if let Some(zc) = p.zero_check(nt, &mut ctx)? {
            if p.output_role() != TensorRole::Committed {
                return Err(ProofError::shape(p.name(), "an op with a zero-check must commit its output"));
            }
            members.push((i, zc.z.len()));
            instances.push(ProductSumcheck::new(zc.mles, zc.terms, Some(zc.z)));
        }
    }
    let mut claims = ZeroCheckClaims::new();
    if instances.is_empty() {
        return Ok(claims);
    }
    let mut refs: Vec<&mut dyn SumcheckInstance> = instances.iter_mut().map(|i| i as &mut dyn SumcheckInstance).collect();
    let out = zkinfer_sumcheck::prove_batched(&mut refs, t);
    let total = out.point.len();
    for ((i, nv), finals) in members.into_iter().zip(out.final_evals) {
        let (n, p, nt) = &nodes[i];
        let rho = &out.point[total - nv..];
        let mut ctx = ProverCtx { transcript: t, witness: w, acc, node: *n };
        claims.insert(*n, p.finish_zero_check(nt, &mut ctx, rho, &finals)?);
    }
    Ok(claims)
}

/// Verifier side of [`prove_zero_checks`].
pub fn verify_zero_checks(
    nodes: &[(usize, &dyn OpProtocol, NodeShape<'_>)],
    plan: &WitnessPlan,
    t: &mut VerifierTranscript<'_>,
    acc: &mut Accumulators,
) -> Result<ZeroCheckClaims, ProofError> {
    let mut members = Vec::new();
    for (i, (n, p, shape)) in nodes.iter().enumerate() {
        let mut ctx = VerifierCtx { transcript: t, plan, acc, node: *n };
        if let Some(st) = p.zero_check_statement(shape, &mut ctx)? {
            if p.output_role() != TensorRole::Committed {
                return Err(ProofError::shape(p.name(), "an op with a zero-check must commit its output"));
            }
            members.push((i, st));
        }
    }
    let mut claims = ZeroCheckClaims::new();
    if members.is_empty() {
        return Ok(claims);
    }
    let statements: Vec<SumcheckClaim> =
        members.iter().map(|(_, st)| SumcheckClaim { num_vars: st.z.len(), degree: degree(&st.terms), claimed_sum: EF::ZERO }).collect();
    let verified = zkinfer_sumcheck::verify_batched(&statements, t).map_err(|e| ProofError::sumcheck("zerocheck", e.to_string()))?;
    let total = verified.point.len();
    let mut values = Vec::with_capacity(members.len());
    for (i, st) in &members {
        let (n, p, shape) = &nodes[*i];
        let rho = &verified.point[total - st.z.len()..];
        let mut ctx = VerifierCtx { transcript: t, plan, acc, node: *n };
        let (tables, operand_claims) = p.finish_zero_check_verify(shape, &mut ctx, rho)?;
        values.push(product_value(&st.terms, Some(&st.z), rho, &tables).map_err(|e| ProofError::sumcheck(p.name(), e.to_string()))?);
        claims.insert(*n, operand_claims);
    }
    verified.check_final(&values).map_err(|_| ProofError::check("zerocheck", "the batched constraints do not hold"))?;
    Ok(claims)
}
