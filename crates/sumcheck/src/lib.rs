//! Generic sumcheck: prover and verifier for sums of products of multilinear polynomials, with an
//! optional eq factor, and batching of several instances.
//!
//! **Protocol.** To prove `Σ_{x∈{0,1}^n} g(x) = C` for a polynomial `g` of degree ≤ `d` in each
//! variable, in round `j = 0, …, n−1` the prover sends the univariate
//! `s_j(t) = Σ_{x' ∈ {0,1}^{n−j−1}} g(r_0, …, r_{j−1}, t, x')` as its `d` evaluations at
//! `t = 0, 2, 3, …, d` (`d` is fixed by the statement, so no count is sent). The verifier
//! sets `s_j(1) = C_j − s_j(0)` (with `C_0 = C`) — which is the round check `s_j(0) + s_j(1) =
//! C_j` — draws `r_j`, and sets `C_{j+1} = s_j(r_j)` (Lagrange interpolation over `0..=d`). For
//! `d = 0` the single value `s_j(0)` is sent and `2·s_j(0) = C_j` is checked. At the end it holds the claim `g(r) = C_n`, which the *caller*
//! checks against evaluations of the polynomials `g` is made of (committed, or computable).
//! A cheating prover survives with probability ≤ `n·d/|EF|` (Schwartz–Zippel per round).
//! Variables are bound in the order `x_0, x_1, …` (`x_0` = most significant index bit, the
//! convention of `zkinfer-poly`), so `r_0` is the first challenge and `point = (r_0, …, r_{n−1})`.
//!
//! **Products.** [`ProductSumcheck`] proves `g(x) = [eq(w, x)·] Σ_k c_k · Π_{j∈S_k} P_j(x)` with
//! `|S_k| ≤ 4`. Each `P_j` is linear in the current variable, so on each pair of table halves
//! `P_j(t, x') = lo + t·(hi − lo)`, evaluated at `t = 0..=d` by repeated addition of `hi − lo`.
//! The first round runs over the base field when the inputs are base-field tables; binding lifts
//! them to `EF`. The eq factor uses Gruen's trick: `eq(w, x) = eq(w_0, x_0)·eq(w_{>0}, x_{>0})`,
//! so `s_j(t) = α_j · eq(w_j, t) · q_j(t)` with `α_j = Π_{k<j} eq(w_k, r_k)` and
//! `q_j(t) = Σ_{x'} eq(w_{>j}, x')·Π P(…, t, x')`. The prover computes `q_j` (degree one less)
//! from the table `eq(w_{>j}, ·)`, which it keeps by summing out one variable per round
//! (`E'[i] = E[i] + E[i + half]`): no eq multiplications while folding.
//!
//! **Batching.** Instances `i` with `n_i` variables, claims `C_i` and degrees `d_i` are combined with
//! random coefficients `β_i` drawn after absorbing every `(n_i, d_i, C_i)`. With `N = max n_i`,
//! instance `i` is viewed as a polynomial in `N` variables that does not depend on the first
//! `N − n_i`, so its sum over `{0,1}^N` is `2^{N−n_i}·C_i`, and its round polynomials in those
//! leading rounds are the constant `C_i^{(j)}/2`. The batched claim is `Σ_i β_i 2^{N−n_i} C_i`
//! and the batched degree `D = max d_i`. At the end, instance `i` is bound at the **suffix**
//! `point[N−n_i..]` of the batch point, and the final claim must equal
//! `Σ_i β_i · g_i(point[N−n_i..])` ([`VerifiedSumcheck::check_final`]).
//!
//! **Usage.** Prove `Σ_x eq(w, x)·P(x)·Q(x) = C`; the caller sends the final evaluations (here in
//! the clear; in a real protocol they are PCS openings or claims handed to the next layer):
//!
//! ```
//! use zkinfer_field::{EF, F, PrimeCharacteristicRing};
//! use zkinfer_poly::Mle;
//! use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim, SumcheckInstance, product_value, prove, verify};
//! use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};
//!
//! let p = Mle::new((0..8).map(F::from_u64).collect());
//! let q = Mle::new((0..8).map(|i| F::from_u64(i * i + 1)).collect());
//! let w: Vec<EF> = [3, 5, 7].map(EF::from_u64).to_vec();
//! let terms = vec![(EF::ONE, vec![0, 1])];
//! let ds = DomainSeparator::new("example", 1);
//!
//! let mut instance = ProductSumcheck::new_base(vec![p, q], terms.clone(), Some(w.clone()));
//! let claim = SumcheckClaim { num_vars: 3, degree: 3, claimed_sum: instance.claimed_sum() };
//! let mut pt = ProverTranscript::new(&ds);
//! let out = prove(&mut instance, &mut pt);
//! pt.send_exts(&out.final_evals[0]); // P(r), Q(r)
//! let proof = pt.into_proof();
//!
//! let mut vt = VerifierTranscript::new(&ds, &proof);
//! let (point, expected) = verify(&claim, &mut vt)?;
//! let evals = vt.receive_exts(2)?;
//! if product_value(&terms, Some(&w), &point, &evals)? != expected {
//!     return Err("final evaluations do not match the sumcheck".into());
//! }
//! vt.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use p3_maybe_rayon::prelude::*;
use zkinfer_field::{EF, ExtensionField, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::{Mle, eq_eval, eq_evals, interpolate_uni};
use zkinfer_transcript::{ProverTranscript, Transcript, TranscriptError, VerifierTranscript};

/// Why a sumcheck proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumcheckError {
    /// Reading the proof failed (truncated, non-canonical, …).
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// The statement's degree is above [`MAX_DEGREE`].
    #[error("round polynomials of degree {degree} are not supported")]
    DegreeTooLarge {
        /// The largest degree of the batch.
        degree: usize,
    },
    /// `s(0) + s(1)` differs from the running claim.
    #[error("round {round}: s(0) + s(1) does not match the claim")]
    RoundSumMismatch {
        /// Round index.
        round: usize,
    },
    /// The final evaluations do not reproduce the reduced claim.
    #[error("final evaluations do not match the reduced sumcheck claim")]
    FinalMismatch,
    /// A batch with no instances.
    #[error("no sumcheck instances")]
    NoInstances,
    /// A masked sumcheck's mask shape does not fit the batch (rounds ≠ variables, or degree
    /// below an instance's).
    #[error("mask shape does not fit the sumcheck batch")]
    MaskShapeMismatch,
    /// An instance that does not fit a protocol's preconditions (the masked product sumcheck:
    /// too few variables, a mask on the last variable).
    #[error("invalid instance: {0}")]
    Config(String),
    /// Fewer values than instances, or an MLE index outside the evaluations given.
    #[error("expected {expected} values, got {got}")]
    WrongEvaluationCount {
        /// Values needed.
        expected: usize,
        /// Values given.
        got: usize,
    },
}

/// Prover side of one sumcheck instance (Jolt-style); several can be batched by
/// [`prove_batched`]. Implement it for special-purpose instances (GKR layers, op provers).
pub trait SumcheckInstance: Send + Sync {
    /// Number of variables (rounds).
    fn num_vars(&self) -> usize;
    /// Maximum degree of the summand in one variable; round polynomials have `degree + 1`
    /// evaluations.
    fn degree(&self) -> usize;
    /// `Σ_x g(x)` over the (original) hypercube.
    fn claimed_sum(&self) -> EF;
    /// The current round polynomial at `t = 0..=degree`.
    fn round_evals(&self) -> Vec<EF>;
    /// Fixes the current (first unbound) variable to `r`.
    fn bind(&mut self, r: EF);
    /// After all rounds: the bound values of the instance's polynomials, in its own order.
    fn final_evals(&self) -> Vec<EF>;
}

mod product;
pub mod zk;
pub mod zk_product;
#[cfg(any(test, feature = "test-kit"))]
pub mod zk_testkit;
pub mod zk_virtual;
pub use product::{MAX_TERM_LEN, MixedMle, ProductSumcheck, Term, evaluate_terms, product_value};

/// What the prover ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumcheckOutput {
    /// `(r_0, …, r_{N−1})`, `r_0` bound first. Instance `i` is bound at `point[N − n_i..]`.
    pub point: Vec<EF>,
    /// Per instance, its [`SumcheckInstance::final_evals`]. The caller sends whichever the
    /// verifier cannot compute itself.
    pub final_evals: Vec<Vec<EF>>,
}

/// What the verifier knows about one instance before reading the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SumcheckClaim {
    /// Number of variables.
    pub num_vars: usize,
    /// Degree of the summand in each variable.
    pub degree: usize,
    /// The claimed sum.
    pub claimed_sum: EF,
}

/// A batch whose rounds verified. It is accepted only once the caller has checked the final
/// claim with [`VerifiedSumcheck::check_final`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the final claim still has to be checked"]
pub struct VerifiedSumcheck {
    /// `(r_0, …, r_{N−1})`.
    pub point: Vec<EF>,
    /// The batching coefficients `β_i` (`[1]` for a single instance).
    pub batching_coeffs: Vec<EF>,
    /// Per instance, its number of variables.
    pub num_vars: Vec<usize>,
    /// The reduced claim: must equal `Σ_i β_i · g_i(point[N − n_i..])`.
    pub final_claim: EF,
}

impl VerifiedSumcheck {
    /// The point at which instance `i` is bound: the last `n_i` coordinates of the batch point.
    ///
    /// # Panics
    /// If `i` is not an instance index.
    pub fn instance_point(&self, i: usize) -> &[EF] {
        &self.point[self.point.len() - self.num_vars[i]..]
    }

    /// Checks the final claim given `g_i(instance_point(i))` for every instance.
    pub fn check_final(&self, instance_values: &[EF]) -> Result<(), SumcheckError> {
        if instance_values.len() != self.batching_coeffs.len() {
            return Err(SumcheckError::WrongEvaluationCount {
                expected: self.batching_coeffs.len(),
                got: instance_values.len(),
            });
        }
        let combined: EF = self
            .batching_coeffs
            .iter()
            .zip(instance_values)
            .map(|(&b, &v)| b * v)
            .sum();
        if combined == self.final_claim {
            Ok(())
        } else {
            Err(SumcheckError::FinalMismatch)
        }
    }
}

/// Absorbs the statement of every instance and draws the batching coefficients.
fn absorb_claims_and_draw_coeffs<T: Transcript>(t: &mut T, claims: &[SumcheckClaim]) -> Vec<EF> {
    let shape: Vec<F> = claims
        .iter()
        .flat_map(|c| [F::from_u64(c.num_vars as u64), F::from_u64(c.degree as u64)])
        .collect();
    t.absorb_public_fields("sumcheck/shape", &shape);
    let sums: Vec<EF> = claims.iter().map(|c| c.claimed_sum).collect();
    t.absorb_public_exts("sumcheck/claims", &sums);
    if claims.len() == 1 {
        vec![EF::ONE]
    } else {
        t.challenge_exts(claims.len())
    }
}

/// `2^k` in the field.
fn pow2(k: usize) -> EF {
    EF::TWO.exp_u64(k as u64)
}

/// Proves a batch of instances (see the crate docs for how different `num_vars` combine).
/// Sends only the round polynomials; the caller sends the final evaluations it needs to.
///
/// # Panics
/// If `instances` is empty or an instance returns a round polynomial of the wrong length
/// (programming errors).
pub fn prove_batched(
    instances: &mut [&mut dyn SumcheckInstance],
    t: &mut ProverTranscript,
) -> SumcheckOutput {
    assert!(!instances.is_empty(), "no sumcheck instances");
    let claims: Vec<SumcheckClaim> = instances
        .iter()
        .map(|i| SumcheckClaim {
            num_vars: i.num_vars(),
            degree: i.degree(),
            claimed_sum: i.claimed_sum(),
        })
        .collect();
    let coeffs = absorb_claims_and_draw_coeffs(t, &claims);
    let total_vars = claims.iter().map(|c| c.num_vars).max().unwrap_or(0);
    let degree = claims.iter().map(|c| c.degree).max().unwrap_or(0);
    let half = EF::TWO.inverse();
    // Running claims of instances still in their leading (dummy) rounds.
    let mut dummy_claims: Vec<EF> = claims
        .iter()
        .map(|c| c.claimed_sum * pow2(total_vars - c.num_vars))
        .collect();
    let mut point = Vec::with_capacity(total_vars);
    for round in 0..total_vars {
        let mut combined = vec![EF::ZERO; degree + 1];
        for (i, inst) in instances.iter().enumerate() {
            let active = round >= total_vars - claims[i].num_vars;
            if active {
                let evals = inst.round_evals();
                assert_eq!(
                    evals.len(),
                    claims[i].degree + 1,
                    "instance {i} returned a round polynomial of the wrong degree"
                );
                for (t_idx, c) in combined.iter_mut().enumerate() {
                    let v = if t_idx < evals.len() {
                        evals[t_idx]
                    } else {
                        interpolate_uni(&evals, EF::from_usize(t_idx))
                    };
                    *c += coeffs[i] * v;
                }
            } else {
                let v = coeffs[i] * dummy_claims[i] * half;
                for c in combined.iter_mut() {
                    *c += v;
                }
            }
        }
        send_round(t, &combined);
        let r = t.challenge_ext();
        point.push(r);
        for (i, inst) in instances.iter_mut().enumerate() {
            if round >= total_vars - claims[i].num_vars {
                inst.bind(r);
            } else {
                dummy_claims[i] *= half;
            }
        }
    }
    let final_evals = instances.iter().map(|i| i.final_evals()).collect();
    SumcheckOutput { point, final_evals }
}

/// Proves one instance.
pub fn prove(instance: &mut dyn SumcheckInstance, t: &mut ProverTranscript) -> SumcheckOutput {
    prove_batched(&mut [instance], t)
}

/// Verifies the rounds of a batch. The caller must then call [`VerifiedSumcheck::check_final`]
/// with the instances' values at their points.
pub fn verify_batched(
    claims: &[SumcheckClaim],
    t: &mut VerifierTranscript<'_>,
) -> Result<VerifiedSumcheck, SumcheckError> {
    if claims.is_empty() {
        return Err(SumcheckError::NoInstances);
    }
    let coeffs = absorb_claims_and_draw_coeffs(t, claims);
    let total_vars = claims.iter().map(|c| c.num_vars).max().unwrap_or(0);
    let degree = claims.iter().map(|c| c.degree).max().unwrap_or(0);
    let mut claim: EF = claims
        .iter()
        .zip(&coeffs)
        .map(|(c, &b)| b * c.claimed_sum * pow2(total_vars - c.num_vars))
        .sum();
    if degree > MAX_DEGREE {
        return Err(SumcheckError::DegreeTooLarge { degree });
    }
    let mut point = Vec::new();
    for round in 0..total_vars {
        let evals = receive_round(t, degree, claim, round)?;
        let r = t.challenge_ext();
        claim = interpolate_uni(&evals, r);
        point.push(r);
    }
    Ok(VerifiedSumcheck {
        point,
        batching_coeffs: coeffs,
        num_vars: claims.iter().map(|c| c.num_vars).collect(),
        final_claim: claim,
    })
}

/// Largest round-polynomial degree a verifier accepts (products of at most 4 tables, eq, and
/// the fraction-tree layers stay far below).
pub const MAX_DEGREE: usize = 16;

/// Sends a round polynomial given by its evaluations at `0..=d`: all but `s(1)` (for `d ≥ 1`).
fn send_round(t: &mut ProverTranscript, evals: &[EF]) {
    match evals {
        [] => {}
        [only] => t.send_ext(*only),
        [at_zero, _, rest @ ..] => {
            t.send_ext(*at_zero);
            t.send_exts(rest);
        }
    }
}

/// Receives a round polynomial of degree `degree` whose values at 0 and 1 sum to `claim`;
/// returns its evaluations at `0..=degree`.
fn receive_round(
    t: &mut VerifierTranscript<'_>,
    degree: usize,
    claim: EF,
    round: usize,
) -> Result<Vec<EF>, SumcheckError> {
    let at_zero = t.receive_ext()?;
    if degree == 0 {
        if at_zero.double() != claim {
            return Err(SumcheckError::RoundSumMismatch { round });
        }
        return Ok(vec![at_zero]);
    }
    let mut evals = Vec::with_capacity(degree + 1);
    evals.push(at_zero);
    evals.push(claim - at_zero);
    evals.extend(t.receive_exts(degree - 1)?);
    Ok(evals)
}

/// Verifies one instance; returns the point and the value `g(point)` must have (the caller
/// checks it).
pub fn verify(
    claim: &SumcheckClaim,
    t: &mut VerifierTranscript<'_>,
) -> Result<(Vec<EF>, EF), SumcheckError> {
    let v = verify_batched(std::slice::from_ref(claim), t)?;
    Ok((v.point, v.final_claim))
}

#[cfg(test)]
mod tests;
