//! Reducing many evaluation claims on a packed polynomial to ONE point (batching sumcheck).
//!
//! Claims `P_{k_j}(z_j) = v_j`, `j = 0..J`, on polynomials of one packed batch (see
//! [`crate::packing`]) are claims `P(s_{k_j}, z_j) = v_j` on the packed polynomial `P` in `n`
//! variables. With a challenge `ρ` drawn after all claims are absorbed, define the weight
//!
//! ```text
//!   W(x) = Σ_j ρ^j · eq(s_{k_j}, x_{0..n−m_j}) · eq(z_j, x_{n−m_j..n})
//! ```
//!
//! so that `Σ_{x∈{0,1}^n} W(x)·P(x) = Σ_j ρ^j v_j =: C`. A degree-2 sumcheck over `x` (binding
//! `x_0` first, the workspace convention) reduces this to `W(r)·P(r) = C'` at a random
//! `r ∈ EF^n`. The verifier computes `W(r)` itself in `O(Σ_j n)` — each term is a product of
//! an eq over boolean selector bits and an eq over the claim point — and learns `P(r)` from one
//! WHIR opening.
//!
//! Soundness: if some `v_j` is wrong, `Σ ρ^j v_j ≠ Σ ρ^j P_{k_j}(z_j)` except with probability
//! `≤ J/|EF|` over `ρ`; the sumcheck then errs with probability `≤ 2n/|EF|` (degree 2 per round).
//!
//! A single claim needs no reduction: it is already one point, `(s_k, z)`, and WHIR opens it
//! directly (`W = eq((s_k, z), ·)`, `W(r)·P(r)` becomes just `P(s_k, z) = v`). The claim is
//! still absorbed; no `ρ` and no sumcheck round is sent.
//!
//! Wire format per round: `s(0), s(2)` (two `EF`); the verifier derives `s(1) = C − s(0)`, which
//! is exactly the check `s(0) + s(1) = C`.

use rayon::prelude::*;
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::packing::PackedLayout;
use crate::{OpeningClaim, PcsError};

/// Rayon work granularity (elements per task) for the linear passes.
const CHUNK: usize = 1 << 12;

/// Absorbs the claims (both sides know them).
fn absorb_claims<T: Transcript>(claims: &[OpeningClaim], t: &mut T) {
    t.absorb_public_fields("pcs/num-claims", &[F::from_u64(claims.len() as u64)]);
    for c in claims {
        t.absorb_public_fields(
            "pcs/claim-poly",
            &[F::from_u64(c.poly as u64), F::from_u64(c.point.len() as u64)],
        );
        t.absorb_public_exts("pcs/claim-point", &c.point);
        t.absorb_public_exts("pcs/claim-value", &[c.value]);
    }
}

/// Checks every claim addresses an existing polynomial with a point of the right length.
pub(crate) fn check_claims(layout: &PackedLayout, claims: &[OpeningClaim]) -> Result<(), PcsError> {
    for (j, c) in claims.iter().enumerate() {
        match layout.poly_num_vars(c.poly) {
            None => return Err(PcsError::BadClaim(format!("claim {j} names polynomial {} of a batch of {}", c.poly, layout.num_polys()))),
            Some(m) if m != c.point.len() => {
                return Err(PcsError::BadClaim(format!(
                    "claim {j}: polynomial {} has {m} variables, point has {}",
                    c.poly,
                    c.point.len()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `s(r)` for the quadratic through `(0, a), (1, b), (2, c)`.
fn eval_quadratic(a: EF, b: EF, c: EF, r: EF) -> EF {
    let two_inv = F::TWO.inverse();
    let r1 = r - EF::ONE;
    let r2 = r - EF::TWO;
    (a * r1 * r2 - (b * r * r2).double() + c * r * r1) * two_inv
}

/// The dense weight table `W` (length `2^n`).
fn weight_table(layout: &PackedLayout, claims: &[OpeningClaim], rho: EF) -> Vec<EF> {
    let mut weights = vec![EF::ZERO; 1usize << layout.num_vars()];
    let mut coeff = EF::ONE;
    for c in claims {
        let offset = layout.offset(c.poly);
        let eq = zkinfer_poly::eq_evals_scaled(&c.point, coeff);
        weights[offset..offset + eq.len()]
            .par_chunks_mut(CHUNK)
            .zip(eq.par_chunks(CHUNK))
            .for_each(|(dst, src)| dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s));
        coeff *= rho;
    }
    weights
}

/// Round polynomial `(s(0), s(2))` of `Σ W·P` for the current first variable.
fn round_evals<P>(weights: &[EF], poly: &[P]) -> (EF, EF)
where
    P: Copy + Send + Sync + PrimeCharacteristicRing,
    EF: core::ops::Mul<P, Output = EF>,
{
    let half = weights.len() / 2;
    let (w_lo, w_hi) = weights.split_at(half);
    let (p_lo, p_hi) = poly.split_at(half);
    w_lo.par_chunks(CHUNK)
        .zip(w_hi.par_chunks(CHUNK))
        .zip(p_lo.par_chunks(CHUNK).zip(p_hi.par_chunks(CHUNK)))
        .map(|((wl, wh), (pl, ph))| {
            let mut s0 = EF::ZERO;
            let mut s2 = EF::ZERO;
            for i in 0..wl.len() {
                s0 += wl[i] * pl[i];
                let w2 = wh[i].double() - wl[i];
                let p2 = ph[i].double() - pl[i];
                s2 += w2 * p2;
            }
            (s0, s2)
        })
        .reduce(|| (EF::ZERO, EF::ZERO), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// `new[i] = lo[i] + r·(hi[i] − lo[i])` for a table in `EF`, in place (halves the length).
fn fold_ext(table: &mut Vec<EF>, r: EF) {
    let half = table.len() / 2;
    let (lo, hi) = table.split_at_mut(half);
    lo.par_chunks_mut(CHUNK).zip(hi.par_chunks(CHUNK)).for_each(|(l, h)| {
        for i in 0..l.len() {
            l[i] += r * (h[i] - l[i]);
        }
    });
    table.truncate(half);
}

/// Folds a base-field table into a new extension-field table of half the length.
fn fold_base(table: &[F], r: EF) -> Vec<EF> {
    let half = table.len() / 2;
    let (lo, hi) = table.split_at(half);
    let mut out = vec![EF::ZERO; half];
    out.par_chunks_mut(CHUNK)
        .zip(lo.par_chunks(CHUNK).zip(hi.par_chunks(CHUNK)))
        .for_each(|(o, (l, h))| {
            for i in 0..o.len() {
                o[i] = r * (h[i] - l[i]) + l[i];
            }
        });
    out
}

/// Prover: runs the batching sumcheck on the packed evaluations and returns the point `r`
/// (`r_0` binds `x_0`) at which the packed polynomial must be opened.
pub(crate) fn prove(
    layout: &PackedLayout,
    packed: &[F],
    claims: &[OpeningClaim],
    t: &mut ProverTranscript,
) -> Vec<EF> {
    let n = layout.num_vars();
    debug_assert_eq!(packed.len(), 1usize << n);
    absorb_claims(claims, t);
    if let [single] = claims {
        return layout.lift_point(single.poly, &single.point);
    }
    let rho = t.challenge_ext();
    let mut weights = weight_table(layout, claims, rho);
    let mut point = Vec::with_capacity(n);

    // Round 0 reads the committed base-field evaluations directly.
    let (s0, s2) = round_evals(&weights, packed);
    t.send_exts(&[s0, s2]);
    let r = t.challenge_ext();
    point.push(r);
    let mut folded = fold_base(packed, r);
    fold_ext(&mut weights, r);

    for _ in 1..n {
        let (s0, s2) = round_evals(&weights, &folded);
        t.send_exts(&[s0, s2]);
        let r = t.challenge_ext();
        point.push(r);
        fold_ext(&mut folded, r);
        fold_ext(&mut weights, r);
    }
    point
}

/// What the verifier is left with after the batching sumcheck.
pub(crate) struct BatchingOutcome {
    /// The random point `r` of the packed polynomial.
    pub point: Vec<EF>,
    /// The reduced claim `C'`, which must equal `W(r)·P(r)`.
    pub reduced_claim: EF,
    /// `W(r)`, computed by the verifier.
    pub weight_at_point: EF,
}

/// Verifier: replays the batching sumcheck; the caller checks `reduced_claim == W(r)·P(r)`.
pub(crate) fn verify(
    layout: &PackedLayout,
    claims: &[OpeningClaim],
    t: &mut VerifierTranscript<'_>,
) -> Result<BatchingOutcome, PcsError> {
    let n = layout.num_vars();
    absorb_claims(claims, t);
    if let [single] = claims {
        return Ok(BatchingOutcome {
            point: layout.lift_point(single.poly, &single.point),
            reduced_claim: single.value,
            weight_at_point: EF::ONE,
        });
    }
    let rho = t.challenge_ext();
    let mut claim = EF::ZERO;
    let mut coeff = EF::ONE;
    for c in claims {
        claim += coeff * c.value;
        coeff *= rho;
    }
    let mut point = Vec::with_capacity(n);
    for _ in 0..n {
        let s = t.receive_exts(2)?;
        let (s0, s2) = (s[0], s[1]);
        let s1 = claim - s0;
        let r = t.challenge_ext();
        claim = eval_quadratic(s0, s1, s2, r);
        point.push(r);
    }
    // W(r) = Σ_j ρ^j · eq(s_{k_j}, r_sel) · eq(z_j, r_local).
    let mut weight_at_point = EF::ZERO;
    let mut coeff = EF::ONE;
    for c in claims {
        let m = c.point.len();
        let sel = layout.selector_eq(c.poly, &point[..n - m]);
        let local = zkinfer_poly::eq_eval(&c.point, &point[n - m..]);
        weight_at_point += coeff * sel * local;
        coeff *= rho;
    }
    Ok(BatchingOutcome { point, reduced_claim: claim, weight_at_point })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_interpolation_is_exact() {
        // s(x) = 3x^2 + 5x + 7.
        let s = |x: EF| EF::from_u64(3) * x * x + EF::from_u64(5) * x + EF::from_u64(7);
        let r = EF::from_u64(123_456_789);
        assert_eq!(eval_quadratic(s(EF::ZERO), s(EF::ONE), s(EF::TWO), r), s(r));
    }
}
