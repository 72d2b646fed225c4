//! Small helpers shared by the non-linear op proofs: running one product sumcheck on either side,
//! sending evaluations the prover already holds, and broadcasting per-row / per-column vectors to
//! a matrix table (for constraints like `d[t, c] = x[t, c] − mean[t]`).

use zkinfer_field::{EF, F};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim, Term, product_value};

use crate::context::{ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::witness::ColumnId;

/// Degree in one variable of `[eq·] Σ_k c_k Π_{j∈S_k} P_j`.
pub(crate) fn product_degree(terms: &[Term], with_eq: bool) -> usize {
    terms.iter().map(|(_, idx)| idx.len()).max().unwrap_or(0) + usize::from(with_eq)
}

/// Prover: runs the sumcheck of `Σ_x [eq(w, x)·] Σ_k c_k Π_j P_j(x)` (the claimed sum is what the
/// tables give; the verifier supplies its own, so a wrong sum diverges the transcripts) and
/// returns the point and the final values of every table.
pub(crate) fn prove_products(
    ctx: &mut ProverCtx<'_>,
    mles: Vec<Mle<EF>>,
    terms: Vec<Term>,
    eq_point: Option<Vec<EF>>,
) -> (Vec<EF>, Vec<EF>) {
    let mut instance = ProductSumcheck::new(mles, terms, eq_point);
    let out = zkinfer_sumcheck::prove(&mut instance, ctx.transcript);
    let finals = out.final_evals.into_iter().next().unwrap_or_default();
    (out.point, finals)
}

/// [`prove_products`] over base-field tables (`ProductSumcheck::new_base`: packed base-field first
/// rounds): the same rounds, point and final values as on the tables lifted to `EF`.
pub(crate) fn prove_products_base(ctx: &mut ProverCtx<'_>, mles: Vec<Mle<F>>, terms: Vec<Term>, eq_point: Option<Vec<EF>>) -> (Vec<EF>, Vec<EF>) {
    let mut instance = ProductSumcheck::new_base(mles, terms, eq_point);
    let out = zkinfer_sumcheck::prove(&mut instance, ctx.transcript);
    let finals = out.final_evals.into_iter().next().unwrap_or_default();
    (out.point, finals)
}

/// [`prove_products`] over tables of either field (`ProductSumcheck::new_mixed`): the same
/// rounds, point and final values as on every table lifted to `EF`, no eq factor.
pub(crate) fn prove_products_mixed(ctx: &mut ProverCtx<'_>, mles: Vec<zkinfer_sumcheck::MixedMle>, terms: Vec<Term>) -> (Vec<EF>, Vec<EF>) {
    let mut instance = ProductSumcheck::new_mixed(mles, terms, None);
    let out = zkinfer_sumcheck::prove(&mut instance, ctx.transcript);
    let finals = out.final_evals.into_iter().next().unwrap_or_default();
    (out.point, finals)
}

/// Verifier: checks the rounds of a sumcheck of `num_vars` variables claimed to sum to
/// `claimed_sum`; returns the point and the value the summand must take there.
pub(crate) fn verify_products(
    op: &'static str,
    ctx: &mut VerifierCtx<'_, '_>,
    num_vars: usize,
    terms: &[Term],
    with_eq: bool,
    claimed_sum: EF,
) -> Result<(Vec<EF>, EF), ProofError> {
    let claim = SumcheckClaim { num_vars, degree: product_degree(terms, with_eq), claimed_sum };
    zkinfer_sumcheck::verify(&claim, ctx.transcript).map_err(|e| ProofError::sumcheck(op, e.to_string()))
}

/// Verifier: `expected == [eq(w, point)·] Σ_k c_k Π_j values[j]`, else a check failure.
pub(crate) fn check_final(
    op: &'static str,
    terms: &[Term],
    eq_point: Option<&[EF]>,
    point: &[EF],
    values: &[EF],
    expected: EF,
) -> Result<(), ProofError> {
    let got = product_value(terms, eq_point, point, values).map_err(|e| ProofError::sumcheck(op, e.to_string()))?;
    if got == expected { Ok(()) } else { Err(ProofError::check(op, "final sumcheck evaluation does not match the relation")) }
}

/// Prover: sends `value = col(point)` (already computed, e.g. a sumcheck final value) and records
/// the claim in the witness accumulator.
pub(crate) fn send_column_value(ctx: &mut ProverCtx<'_>, col: ColumnId, point: &[EF], value: EF) -> EF {
    ctx.transcript.send_ext(value);
    ctx.acc.witness.push(zkinfer_pcs::PolyId::Column(col.0), zkinfer_pcs::Origin::Node(ctx.node), point.to_vec(), value);
    value
}

/// The table `m[t, c] = rows[t]` of `2^(row_vars + col_vars)` entries (row variables first).
pub(crate) fn broadcast_rows<T: Copy>(rows: &[T], col_vars: usize) -> Vec<T> {
    let w = 1usize << col_vars;
    let mut out = Vec::with_capacity(rows.len() * w);
    for &r in rows {
        out.extend(std::iter::repeat_n(r, w));
    }
    out
}

/// The table `m[t, c] = cols[c]` of `2^row_vars · cols.len()` entries.
pub(crate) fn broadcast_cols<T: Copy>(cols: &[T], row_vars: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(cols.len() << row_vars);
    for _ in 0..1usize << row_vars {
        out.extend_from_slice(cols);
    }
    out
}

/// Lifts a base-field table to an extension-field MLE.
pub(crate) fn lift(values: &[F]) -> Mle<EF> {
    crate::context::lift_column(values)
}

/// `2^k` as a field element (`k < 64`).
pub(crate) fn pow2_f(k: u32) -> F {
    use zkinfer_field::PrimeCharacteristicRing;
    F::from_u64(1u64 << k)
}

/// `2^k` in the extension field (`k < 64`).
pub(crate) fn pow2(k: u32) -> EF {
    EF::from(pow2_f(k))
}

/// A signed integer in the extension field.
pub(crate) fn ef_i64(v: i64) -> EF {
    EF::from(zkinfer_field::from_i64_unchecked(v))
}

/// Prover: fails unless every value satisfies `|v| < 2^bits` (the bound the op's widths assume).
pub(crate) fn check_bound(op: &'static str, values: &[i64], bits: u32) -> Result<(), ProofError> {
    let limit = 1u64.checked_shl(bits).unwrap_or(u64::MAX);
    match values.iter().position(|v| v.unsigned_abs() >= limit) {
        None => Ok(()),
        Some(i) => Err(ProofError::witness(op, format!("input entry {i} = {} outside ±2^{bits}", values[i]))),
    }
}
