//! Helpers shared by the linear ops: a product sumcheck over extension-field tables and its
//! verifier, with errors mapped to [`ProofError`].

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::error::ProofError;

/// Proves `Σ_x Π_j tables[j](x) = claimed` (the sum the tables define) and returns the random
/// point and the bound value of every table. Nothing beyond the round polynomials is sent.
pub(crate) fn prove_product(tables: Vec<Vec<EF>>, t: &mut ProverTranscript) -> (Vec<EF>, Vec<EF>) {
    let k = tables.len();
    let mles = tables.into_iter().map(Mle::new).collect();
    let mut inst = ProductSumcheck::new(mles, vec![(EF::ONE, (0..k).collect())], None);
    let out = zkinfer_sumcheck::prove(&mut inst, t);
    let finals = out.final_evals.into_iter().next().unwrap_or_default();
    (out.point, finals)
}

/// Verifies the rounds of a product sumcheck of `degree` over `num_vars` variables claimed to sum
/// to `claimed_sum`; returns the point and the value the product must take there.
pub(crate) fn verify_product(
    op: &'static str,
    num_vars: usize,
    degree: usize,
    claimed_sum: EF,
    t: &mut VerifierTranscript<'_>,
) -> Result<(Vec<EF>, EF), ProofError> {
    zkinfer_sumcheck::verify(&SumcheckClaim { num_vars, degree, claimed_sum }, t).map_err(|e| ProofError::sumcheck(op, e.to_string()))
}

/// Returns `Ok` if `lhs == rhs`, else a check error of `op`.
pub(crate) fn ensure(op: &'static str, ok: bool, what: &str) -> Result<(), ProofError> {
    if ok { Ok(()) } else { Err(ProofError::check(op, what.to_string())) }
}

/// Concatenates point blocks.
pub(crate) fn concat(parts: &[&[EF]]) -> Vec<EF> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}
