//! Masked (zero-knowledge) sumcheck: Libra-style masking with a committed random polynomial.
//!
//! # Relation
//!
//! The same as [`crate::prove_batched`]: instances `g_i` in `n_i` variables with claims `C_i`,
//! batched with random `β_i` into `Σ_{x∈{0,1}^N} f(x) = H`, `f = Σ_i β_i g_i(x_{N−n_i..})`,
//! `H = Σ_i β_i 2^{N−n_i} C_i`, `N = max n_i`. The caller ends with the claim `f(r) = v` on the
//! instances' polynomials, exactly as in the public protocol.
//!
//! # Protocol
//!
//! The prover holds a random *mask* `m(x) = Σ_{j<N} m_j(x_j)`, a sum of univariates of degree
//! `D` (the wire degree, at least the batch's), which it has committed (a [`SumcheckMask`]'s
//! table, see below) and the commitment absorbed **before** calling [`prove_batched_zk`].
//!
//! 1. Statement absorbed, `β_i` drawn (as in the public protocol); the mask shape `(N, D)`
//!    absorbed.
//! 2. The prover sends `Γ = Σ_{x∈{0,1}^N} m(x) = 2^{N−1} Σ_j (m_j(0) + m_j(1))`; the verifier
//!    draws `ρ` (rejecting nothing: `ρ = 0` happens with probability `1/|EF|`).
//! 3. A standard sumcheck of degree `D` on `h = f + ρ·m` with claim `H + ρ·Γ`: round `j` sends
//!    `s_j(0), s_j(2), …, s_j(D)` (wire format of [`crate::prove_batched`]), where the mask's
//!    part of `s_j` is `2^{N−1−j}(A_j + m_j(X)) + 2^{N−2−j} B_j` with `A_j = Σ_{l<j} m_l(r_l)`,
//!    `B_j = Σ_{l>j}(m_l(0) + m_l(1))`.
//! 4. The prover sends `e_j = m_j(r_j)` for every round. The verifier's reduced claim on `f` is
//!    `v = s_{N−1}(r_{N−1}) − ρ·Σ_j e_j`, and it must check each `e_j` against the mask
//!    commitment: [`MaskShape::claim_point`] gives the point of the mask table whose value is
//!    `e_j` ([`VerifiedZkSumcheck::mask_claims`]).
//!
//! # Mask table (what is committed)
//!
//! A multilinear polynomial `G` over `F` in `⌈log2 N⌉ + 2 + k` variables (`k = ⌈log2(D+1)⌉`),
//! index `(j, c, y)` with the round `j` most significant. For a round `j` and `c ∈ {0,1}^2`,
//! `G(j, c, ·)` is the multilinear polynomial in `y` whose **monomial** coefficients are
//! `a_{j,c,0..2^k}` (`a_{j,c,d} = 0` for `d > D`), so that `G(j, c, t^{2^{k−1}}, …, t^2, t) =
//! Σ_d a_{j,c,d} t^d`. With the public constant `γ = (X, X^2) ∈ EF^2` (`X` the generator of
//! `EF/F`), the round mask is `m_j(t) = G(j, γ, t^{2^{k−1}}, …, t)`: its coefficients
//! `Σ_c eq(γ, c)·a_{j,c,d}` range over all of `EF` (the four values `eq(γ, c)` span `EF` over
//! `F`, checked by a test), so uniform `a` gives uniform `EF` coefficients. `e_j` is therefore ONE
//! evaluation of `G`, at `(bits(j), γ, r_j^{2^{k−1}}, …, r_j)`.
//!
//! # Soundness
//!
//! `G` is bound before `Γ` and `ρ`. If `H ≠ Σ f`: when `Γ = Σ m` the claim `H + ρΓ ≠ Σ h` for
//! every `ρ` and the sumcheck on `h` errs with probability `≤ N·D'/|EF|`, `D' = max(D, 2^k − 1)`
//! (a malicious table may hold degree up to `2^k − 1`); when `Γ ≠ Σ m`, `H + ρΓ = Σ f + ρ Σ m`
//! for at most one `ρ`. Total `≤ (1 + N·D')/|EF|`, plus the opening of the `e_j` claims (the
//! PCS's error). Tests: tampered `Γ`, round values, `e_j`, claims are rejected.
//!
//! # Zero knowledge (honest verifier), simulator
//!
//! Fix the witness, the challenges `ρ ≠ 0, r_0..r_{N−1}`. The transcript is
//! `(Γ, s_0, …, s_{N−1}, e_0, …, e_{N−1})` (`N(D+1) + N + 1` values in `EF`, `s_j` counted by
//! its `D + 1` coefficients) subject to `N + 1` affine constraints that depend only on `H` and
//! `f(r)`: `s_0(0) + s_0(1) = H + ρΓ`, `s_j(0) + s_j(1) = s_{j−1}(r_{j−1})`,
//! `s_{N−1}(r_{N−1}) = f(r) + ρΣ_j e_j`; an affine space of dimension `N(D+1)`. The map from the
//! mask's `N(D+1)` uniform `EF` coefficients to the transcript is affine and injective: from the
//! transcript, `m_{N−1} = (s_{N−1} − f-part)/ρ − A_{N−1}` (with `A` from the `e_l`), then
//! `m_{N−2}` from `s_{N−2}` once `m_{N−1}(0) + m_{N−1}(1)` is known, and so on. An injective
//! affine map between spaces of equal dimension is onto, so the honest transcript is
//! **uniform on the affine space** fixed by `(H, f(r), ρ, r)`. [`simulate`] samples that space
//! uniformly without the witness: perfect HVZK of the rounds given `f(r)` (the values `f` is made
//! of are the caller's business: they must be hidden by the commitments / randomised
//! extensions they are claims on), conditioned on `ρ ≠ 0` (statistical distance `1/|EF|`), and
//! provided the mask commitment hides `G` beyond the revealed `e_j` (the hiding PCS's property).
//! Made non-interactive by Fiat–Shamir, the simulator programs the random oracle (standard).

use p3_field::BasedVectorSpace;
use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::{eq_evals, interpolate_uni, next_pow2_vars};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::{
    SumcheckClaim, SumcheckError, SumcheckInstance, SumcheckOutput, VerifiedSumcheck,
    absorb_claims_and_draw_coeffs, pow2, receive_round, send_round, MAX_DEGREE,
};

/// The public shape of a sumcheck mask: rounds and degree (both sides derive it from the
/// statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskShape {
    /// Number of rounds `N` (the batch's maximum number of variables).
    pub num_rounds: usize,
    /// Degree `D ≥ 1` of each round mask; also the wire degree of the masked rounds.
    pub degree: usize,
}

impl MaskShape {
    /// `k`: variables of the `y` (power) part.
    fn power_vars(&self) -> usize {
        next_pow2_vars(self.degree + 1)
    }

    /// Variables of the round-index part.
    fn round_vars(&self) -> usize {
        next_pow2_vars(self.num_rounds)
    }

    /// Number of variables of the committed mask table.
    pub fn num_vars(&self) -> usize {
        self.round_vars() + 2 + self.power_vars()
    }

    /// The point of the mask table at which its value is `m_j(r)`.
    pub fn claim_point(&self, round: usize, r: EF) -> Vec<EF> {
        let rv = self.round_vars();
        let mut point: Vec<EF> = (0..rv).map(|b| if (round >> (rv - 1 - b)) & 1 == 1 { EF::ONE } else { EF::ZERO }).collect();
        point.extend(gamma());
        let k = self.power_vars();
        // y_0 (most significant) = r^{2^{k−1}}, …, y_{k−1} = r.
        let mut powers = Vec::with_capacity(k);
        let mut p = r;
        for _ in 0..k {
            powers.push(p);
            p = p.square();
        }
        powers.reverse();
        point.extend(powers);
        point
    }

    fn check(&self) -> Result<(), SumcheckError> {
        if self.degree == 0 || self.degree > MAX_DEGREE {
            return Err(SumcheckError::DegreeTooLarge { degree: self.degree });
        }
        Ok(())
    }
}

/// The public constant `γ = (X, X^2)` that combines the four base-field components of a mask
/// coefficient into one `EF` value.
pub fn gamma() -> [EF; 2] {
    let x = EF::from_basis_coefficients_fn(|i| if i == 1 { F::ONE } else { F::ZERO });
    [x, x.square()]
}

/// A random sumcheck mask (prover side): the committed table and the round masks' coefficients.
#[derive(Clone)]
pub struct SumcheckMask {
    shape: MaskShape,
    /// Hypercube evaluations of `G` (commit these).
    table: Vec<F>,
    /// `coeffs[j][d]`: coefficient of `t^d` in `m_j` (in `EF`).
    coeffs: Vec<Vec<EF>>,
}

impl std::fmt::Debug for SumcheckMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret mask.
        f.debug_struct("SumcheckMask").field("shape", &self.shape).finish_non_exhaustive()
    }
}

impl SumcheckMask {
    /// Samples a uniformly random mask of the given shape. `rng` must be a cryptographic
    /// generator seeded from unpredictable entropy for zero knowledge to hold.
    pub fn sample<R: Rng + ?Sized>(shape: MaskShape, rng: &mut R) -> Result<Self, SumcheckError> {
        shape.check()?;
        let k = shape.power_vars();
        let width = 1usize << k;
        let rows = 1usize << shape.round_vars();
        let mut table = vec![F::ZERO; rows * 4 * width];
        let g = gamma();
        let eq_g = eq_evals(&g);
        let mut coeffs = Vec::with_capacity(shape.num_rounds);
        for j in 0..shape.num_rounds {
            let mut cj = vec![EF::ZERO; shape.degree + 1];
            for c in 0..4 {
                let mut a: Vec<F> = (0..width).map(|d| if d <= shape.degree { rng.random::<F>() } else { F::ZERO }).collect();
                for (d, &ad) in a.iter().enumerate().take(shape.degree + 1) {
                    cj[d] += eq_g[c] * ad;
                }
                // Monomial coefficients → hypercube evaluations (subset sums, y_0 = MSB).
                for bit in 0..k {
                    let step = 1usize << bit;
                    for idx in 0..width {
                        if idx & step != 0 {
                            a[idx] = a[idx] + a[idx ^ step];
                        }
                    }
                }
                let base = (j * 4 + c) * width;
                table[base..base + width].copy_from_slice(&a);
            }
            coeffs.push(cj);
        }
        Ok(Self { shape, table, coeffs })
    }

    /// The mask's shape.
    pub fn shape(&self) -> MaskShape {
        self.shape
    }

    /// The table to commit (hypercube evaluations of `G`, `2^num_vars` entries).
    pub fn table(&self) -> &[F] {
        &self.table
    }

    /// `m_j(t)`.
    pub fn eval_round(&self, j: usize, t: EF) -> EF {
        self.coeffs[j].iter().rev().fold(EF::ZERO, |acc, &c| acc * t + c)
    }

    /// Adds `c·X(1 − X)` to round mask `m_j`: the mask a verifier checks through a claim on the
    /// table's *randomised extension* `Ĝ = G + z_last(1 − z_last)·M` (`zkinfer_pcs::hiding`),
    /// whose last coordinate is the round's challenge, with `c` the extension's mask value at
    /// the claim point (a constant per round: the other coordinates are fixed). `Γ` is
    /// unchanged (the term vanishes at 0 and 1). Needs `D ≥ 2`.
    pub fn add_vanishing_term(&mut self, j: usize, c: EF) -> Result<(), SumcheckError> {
        if self.shape.degree < 2 || j >= self.shape.num_rounds {
            return Err(SumcheckError::MaskShapeMismatch);
        }
        self.coeffs[j][1] += c;
        self.coeffs[j][2] -= c;
        Ok(())
    }

    /// The mask's part of round `j`'s polynomial at `t = 0..=D`, given
    /// `A_j = Σ_{l<j} m_l(r_l)` (for callers running their own sumcheck rounds, e.g. the
    /// hiding PCS's batching sumcheck).
    pub fn round_evals(&self, j: usize, acc_before: EF) -> Vec<EF> {
        mask_round(self, j, acc_before)
    }

    /// `Γ = Σ_{x∈{0,1}^N} m(x)`.
    pub fn total_sum(&self) -> EF {
        let n = self.shape.num_rounds;
        if n == 0 {
            return EF::ZERO;
        }
        let s: EF = (0..n).map(|j| self.eval_round(j, EF::ZERO) + self.eval_round(j, EF::ONE)).sum();
        s * pow2(n - 1)
    }
}

/// What the prover ends with (the mask evaluations are already sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSumcheckOutput {
    /// The public protocol's output for the instances.
    pub inner: SumcheckOutput,
    /// `(point, value)` claims on the mask table, to open against its commitment.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// A masked batch whose rounds verified; accepted only once the caller has checked the final
/// claim ([`VerifiedSumcheck::check_final`] on `inner`) AND opened every mask claim against the
/// mask commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the final claim and the mask claims still have to be checked"]
pub struct VerifiedZkSumcheck {
    /// Point, batching coefficients and the reduced claim on `f` (mask part removed).
    pub inner: VerifiedSumcheck,
    /// `(point, value)` claims on the mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

fn absorb_mask_shape<T: Transcript>(t: &mut T, shape: MaskShape) {
    t.absorb_public_fields(
        "sumcheck-zk/mask-shape",
        &[F::from_usize(shape.num_rounds), F::from_usize(shape.degree)],
    );
}

/// The mask's contribution to round `j`'s polynomial at `t = 0..=D`, given `A_j = Σ_{l<j} m_l(r_l)`.
fn mask_round(mask: &SumcheckMask, j: usize, acc_before: EF) -> Vec<EF> {
    let n = mask.shape.num_rounds;
    let b: EF = (j + 1..n).map(|l| mask.eval_round(l, EF::ZERO) + mask.eval_round(l, EF::ONE)).sum();
    let later = if j + 1 < n { pow2(n - 2 - j) * b } else { EF::ZERO };
    let scale = pow2(n - 1 - j);
    (0..=mask.shape.degree)
        .map(|t| scale * (acc_before + mask.eval_round(j, EF::from_usize(t))) + later)
        .collect()
}

/// Proves a batch with a masked sumcheck. The mask's table must have been committed and the
/// commitment absorbed into `t` before this call; `mask.shape()` must have
/// `num_rounds = max n_i` and `degree ≥` every instance's degree.
///
/// # Panics
/// On an empty batch or a mask of the wrong shape (programming errors).
pub fn prove_batched_zk(
    instances: &mut [&mut dyn SumcheckInstance],
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> ZkSumcheckOutput {
    assert!(!instances.is_empty(), "no sumcheck instances");
    let claims: Vec<SumcheckClaim> = instances
        .iter()
        .map(|i| SumcheckClaim { num_vars: i.num_vars(), degree: i.degree(), claimed_sum: i.claimed_sum() })
        .collect();
    let coeffs = absorb_claims_and_draw_coeffs(t, &claims);
    let total_vars = claims.iter().map(|c| c.num_vars).max().unwrap_or(0);
    let shape = mask.shape;
    assert_eq!(shape.num_rounds, total_vars, "mask rounds must equal the batch's variables");
    assert!(claims.iter().all(|c| c.degree <= shape.degree), "mask degree below an instance's degree");
    absorb_mask_shape(t, shape);
    t.send_ext(mask.total_sum());
    let rho = t.challenge_ext();
    let half = EF::TWO.inverse();
    let mut dummy_claims: Vec<EF> = claims.iter().map(|c| c.claimed_sum * pow2(total_vars - c.num_vars)).collect();
    let mut point = Vec::with_capacity(total_vars);
    let mut acc = EF::ZERO;
    let mut mask_values = Vec::with_capacity(total_vars);
    for round in 0..total_vars {
        let mut combined: Vec<EF> = mask_round(mask, round, acc).into_iter().map(|v| rho * v).collect();
        for (i, inst) in instances.iter().enumerate() {
            if round >= total_vars - claims[i].num_vars {
                let evals = inst.round_evals();
                assert_eq!(evals.len(), claims[i].degree + 1, "instance {i} returned a round polynomial of the wrong degree");
                for (t_idx, c) in combined.iter_mut().enumerate() {
                    let v = if t_idx < evals.len() { evals[t_idx] } else { interpolate_uni(&evals, EF::from_usize(t_idx)) };
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
        let e = mask.eval_round(round, r);
        acc += e;
        mask_values.push(e);
        for (i, inst) in instances.iter_mut().enumerate() {
            if round >= total_vars - claims[i].num_vars {
                inst.bind(r);
            } else {
                dummy_claims[i] *= half;
            }
        }
    }
    t.send_exts(&mask_values);
    let mask_claims = point.iter().zip(&mask_values).enumerate().map(|(j, (&r, &e))| (shape.claim_point(j, r), e)).collect();
    let final_evals = instances.iter().map(|i| i.final_evals()).collect();
    ZkSumcheckOutput { inner: SumcheckOutput { point, final_evals }, mask_claims }
}

/// Verifies the rounds of a masked batch (see the module docs for what the caller must then
/// check).
pub fn verify_batched_zk(
    claims: &[SumcheckClaim],
    shape: MaskShape,
    t: &mut VerifierTranscript<'_>,
) -> Result<VerifiedZkSumcheck, SumcheckError> {
    if claims.is_empty() {
        return Err(SumcheckError::NoInstances);
    }
    shape.check()?;
    let coeffs = absorb_claims_and_draw_coeffs(t, claims);
    let total_vars = claims.iter().map(|c| c.num_vars).max().unwrap_or(0);
    let max_degree = claims.iter().map(|c| c.degree).max().unwrap_or(0);
    if shape.num_rounds != total_vars || max_degree > shape.degree {
        return Err(SumcheckError::MaskShapeMismatch);
    }
    absorb_mask_shape(t, shape);
    let mask_sum = t.receive_ext()?;
    let rho = t.challenge_ext();
    let mut claim: EF = claims
        .iter()
        .zip(&coeffs)
        .map(|(c, &b)| b * c.claimed_sum * pow2(total_vars - c.num_vars))
        .sum::<EF>()
        + rho * mask_sum;
    let mut point = Vec::with_capacity(total_vars);
    for round in 0..total_vars {
        let evals = receive_round(t, shape.degree, claim, round)?;
        let r = t.challenge_ext();
        claim = interpolate_uni(&evals, r);
        point.push(r);
    }
    let mask_values = t.receive_exts(total_vars)?;
    let mask_total: EF = mask_values.iter().copied().sum();
    let mask_claims = point.iter().zip(&mask_values).enumerate().map(|(j, (&r, &e))| (shape.claim_point(j, r), e)).collect();
    Ok(VerifiedZkSumcheck {
        inner: VerifiedSumcheck {
            point,
            batching_coeffs: coeffs,
            num_vars: claims.iter().map(|c| c.num_vars).collect(),
            final_claim: claim - rho * mask_total,
        },
        mask_claims,
    })
}

/// One masked-sumcheck transcript with explicit challenges (the interactive protocol the
/// Fiat–Shamir version compiles): what the verifier sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRounds {
    /// `Γ`.
    pub mask_sum: EF,
    /// Per round, `s_j(0..=D)`.
    pub rounds: Vec<Vec<EF>>,
    /// `e_j = m_j(r_j)`.
    pub mask_values: Vec<EF>,
}

/// The honest prover's messages for a single instance with given challenges `rho`, `r` (the
/// interactive protocol; used by the simulator test).
pub fn prove_interactive(instance: &mut dyn SumcheckInstance, mask: &SumcheckMask, rho: EF, r: &[EF]) -> ZkRounds {
    let n = instance.num_vars();
    assert_eq!(mask.shape.num_rounds, n);
    let mut rounds = Vec::with_capacity(n);
    let mut acc = EF::ZERO;
    let mut mask_values = Vec::with_capacity(n);
    for (j, &rj) in r.iter().enumerate().take(n) {
        let evals = instance.round_evals();
        let m = mask_round(mask, j, acc);
        let s: Vec<EF> = (0..=mask.shape.degree)
            .map(|t| {
                let v = if t < evals.len() { evals[t] } else { interpolate_uni(&evals, EF::from_usize(t)) };
                v + rho * m[t]
            })
            .collect();
        rounds.push(s);
        instance.bind(rj);
        let e = mask.eval_round(j, rj);
        acc += e;
        mask_values.push(e);
    }
    ZkRounds { mask_sum: mask.total_sum(), rounds, mask_values }
}

/// The verifier's checks of [`ZkRounds`] with explicit challenges: returns the reduced claim on
/// the instance (`f(r)`), or an error.
pub fn check_interactive(claimed_sum: EF, transcript: &ZkRounds, rho: EF, r: &[EF]) -> Result<EF, SumcheckError> {
    if transcript.rounds.len() != r.len() || transcript.mask_values.len() != r.len() {
        return Err(SumcheckError::WrongEvaluationCount { expected: r.len(), got: transcript.rounds.len() });
    }
    let mut claim = claimed_sum + rho * transcript.mask_sum;
    for (j, (s, &rj)) in transcript.rounds.iter().zip(r).enumerate() {
        if s.len() < 2 || s[0] + s[1] != claim {
            return Err(SumcheckError::RoundSumMismatch { round: j });
        }
        claim = interpolate_uni(s, rj);
    }
    Ok(claim - rho * transcript.mask_values.iter().copied().sum::<EF>())
}

#[cfg(test)]
#[path = "zk_tests.rs"]
mod tests;

/// The HVZK simulator: a transcript sampled without the witness, uniform on the affine space
/// fixed by the claimed sum, the final value `f(r)` and the challenges (see the module docs).
/// Requires `ρ ≠ 0` and at least one round.
pub fn simulate<R: Rng + ?Sized>(
    claimed_sum: EF,
    final_value: EF,
    degree: usize,
    rho: EF,
    r: &[EF],
    rng: &mut R,
) -> ZkRounds {
    let n = r.len();
    let mask_sum: EF = rng.random();
    let mut claim = claimed_sum + rho * mask_sum;
    let mut rounds = Vec::with_capacity(n);
    for &rj in r {
        let mut s: Vec<EF> = (0..=degree).map(|_| rng.random()).collect();
        s[1] = claim - s[0];
        claim = interpolate_uni(&s, rj);
        rounds.push(s);
    }
    let mut mask_values: Vec<EF> = (0..n).map(|_| rng.random()).collect();
    // The last value closes `s_{N−1}(r_{N−1}) = f(r) + ρ Σ e_j`.
    let others: EF = mask_values[..n - 1].iter().copied().sum();
    mask_values[n - 1] = (claim - final_value) * rho.inverse() - others;
    ZkRounds { mask_sum, rounds, mask_values }
}

/// A uniformly random multilinear instance with a given sum: the HVZK simulators' stand-in for
/// a sumcheck they cannot run (a masked product sumcheck, a fraction-sum GKR layer). Its table is
/// uniform over `EF^{2^n}` subject to summing to `claim`, so its final value is uniform.
#[derive(Debug)]
pub struct RandomInstance {
    table: Vec<EF>,
    degree: usize,
    claim: EF,
}

/// [`RandomInstance`] over `num_vars` variables with round polynomials of degree `degree`.
pub fn random_instance<R: Rng + ?Sized>(num_vars: usize, degree: usize, claim: EF, rng: &mut R) -> RandomInstance {
    let mut table: Vec<EF> = (0..1usize << num_vars).map(|_| rng.random()).collect();
    let rest: EF = table[1..].iter().copied().sum();
    table[0] = claim - rest;
    RandomInstance { table, degree, claim }
}

impl SumcheckInstance for RandomInstance {
    fn num_vars(&self) -> usize {
        self.table.len().trailing_zeros() as usize
    }
    fn degree(&self) -> usize {
        self.degree
    }
    fn claimed_sum(&self) -> EF {
        self.claim
    }
    fn round_evals(&self) -> Vec<EF> {
        let half = self.table.len() / 2;
        (0..=self.degree)
            .map(|t| {
                let t = EF::from_usize(t);
                (0..half).map(|i| self.table[i] + t * (self.table[i + half] - self.table[i])).sum()
            })
            .collect()
    }
    fn bind(&mut self, r: EF) {
        let half = self.table.len() / 2;
        self.table = (0..half).map(|i| self.table[i] + r * (self.table[i + half] - self.table[i])).collect();
    }
    fn final_evals(&self) -> Vec<EF> {
        vec![self.table[0]]
    }
}
