//! Argmax with public ids ([`crate::ops::argmax`]) in zero knowledge (issue 13, chokes 1–2). **Not
//! wired into the graph prover**: the public proof is unchanged; this is its zk counterpart as
//! tested library code.
//!
//! **Relation** (the public op's). The ids `a_t` are public (the completion); the committed gaps
//! `g[t, j] = L[t, a_t] − L[t, j] − [j < a_t]` on real entries (0 on padding) are range-checked to
//! `[0, 2^(b+1))` (the lookups, unchanged), which says `a_t` is the first maximum of row `t`. At a
//! random `z = (z_t, z_j)`: `g̃(z) + L̃(z) + P(z) = ṽ(z_j)·S`, `P(z) = Σ_{t<T} eq(z_t, t)·lt_{a_t}(z_j)`
//! (public), `S = Σ_{t,j} W(t, j)·L(t, j)`, `W(t, j) = eq(z_t, t)·[j = a_t]` (public).
//!
//! **Protocol.** The public proof sends `S` in clear — a combination of the logits at the chosen ids
//! — and sumchecks it. Here `S` is never sent: the prover sends `ĝ(z)`, `L̂(z)` (randomised values;
//! `L` is the LM head's virtual output or a committed column) and one masked product sumcheck
//! (`zkinfer_sumcheck::zk_product`) proves
//!
//! ```text
//! Σ_{t,j} ṽ(z_j)·W(t, j)·L̂(t, j) + c·R̂_g(z_0, x_0) = ĝ(z) + L̂(z) + P(z)     (c = 2^{−(n−1)}·Z(z))
//! ```
//!
//! (round degree 4); finals `W̃(ρ)` (checked by the verifier, `O(T·log V)`), `L̂(ρ)`, `R̂_g(z_0, ρ_0)`.
//! Claims out: `ĝ(z)` on the commitment, `L̂(z)` and `L̂(ρ)` to `L`'s origin, `R_g` and the mask's.
//!
//! **The tie (completeness).** The left side sums to `ṽ·S + Z(z)·Σ_w R_g(z_0, w)`, the right side's
//! masks are `Z(z)·(M_g + M_L)(z)`: `M_g = Σ_w R_g(z_0, w) − M_L` ([`crate::zk_rescale::tied_mask`]
//! with scale 1; for a virtual `L` with `R_L`: `Σ_w R_g − Σ_w R_L`, both in `z_0`). `g` committed as
//! one block (Rescale's constraint).
//!
//! **Soundness.** As Rescale's: acceptance needs `L_pub(z) + Z(z)·D(z) = 0` for the public identity
//! `L_pub` (multilinear in `z`: `g̃ + L̃ + P − ṽ·S`, where `S` is the value the sumcheck binds) and the
//! masks' defect `D`; `Z·D` vanishes on the cube, so the identity holds on the cube except with
//! probability `≤ 257·n/|EF|`, plus the masked sumcheck's `(1 + n·D')/|EF|` (`D = 4`, `D' = 7`); the
//! integer argument is the public op's (`ArgmaxProof::gap_bits`, run by [`ZkArgmaxShape::check`]).
//!
//! **Zero knowledge.** `ĝ(z)`, `L̂(z)` fresh mask values (their sum carries `Σ_w R_g(z_0, w)`), the
//! rounds uniform given `(H, f(ρ))`, `L̂(ρ)` a fresh value, `R̂_g(z_0, ρ_0)` uniform by `R_g`'s
//! capacity. Leaks: the ids (public by the statement). Simulator: `ĝ(z)`, `L̂(z)`, `R̂_g` uniform,
//! `W̃(ρ)` computed, `L̂(ρ)` solved. **Constraint:** `n ≥ 5`.

use zkinfer_field::{EF, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::eq_evals;
use zkinfer_sumcheck::Term;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::ops::argmax::ArgmaxProof;
use crate::ops::public_mle::{less_than_mle, point_indicator_mle};

const OP: &str = "Argmax (zk)";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public shape: logits `[rows, vocab]`, the public ids, the logits' bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkArgmaxShape {
    /// Rows `T`.
    pub rows: usize,
    /// Vocabulary `V`.
    pub vocab: usize,
    /// The public ids (one per row).
    pub ids: Vec<i64>,
    /// `|L| < 2^in_bits`.
    pub in_bits: u32,
}

impl ZkArgmaxShape {
    fn tv(&self) -> usize {
        vars(self.rows)
    }
    /// Variables of the padded logits.
    pub fn num_vars(&self) -> usize {
        self.tv() + vars(self.vocab)
    }
    /// The public op's checks (ids, bounds) and the zk size constraint.
    pub fn check(&self) -> Result<(), ProofError> {
        if self.rows == 0 || self.vocab == 0 || self.ids.len() != self.rows || self.ids.iter().any(|&a| a < 0 || a as usize >= self.vocab) {
            return Err(ProofError::shape(OP, "public ids: wrong count or outside the vocabulary"));
        }
        ArgmaxProof::new(self.in_bits).gap_bits()?;
        if self.num_vars() < zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, "a zk argmax needs ≥ 5 variables"));
        }
        Ok(())
    }
    fn terms(&self, z_j: &[EF]) -> Vec<Term> {
        vec![(less_than_mle(self.vocab, z_j), vec![0, 1])]
    }
    /// The sumcheck mask's shape (round degree 4).
    pub fn mask_shape(&self) -> MaskShape {
        product_mask_shape(self.num_vars(), &[(EF::ONE, vec![0, 1])], false)
    }
    /// `P(z)`.
    fn less_than_sum(&self, z_t: &[EF], z_j: &[EF]) -> EF {
        let eq_t = eq_evals(z_t);
        self.ids.iter().enumerate().map(|(t, &a)| eq_t[t] * less_than_mle(a as usize, z_j)).sum()
    }
    /// `W̃(ρ)`.
    pub fn selector_at(&self, z_t: &[EF], rho: &[EF]) -> EF {
        let (rho_t, rho_j) = rho.split_at(self.tv());
        let (eq_z, eq_r) = (eq_evals(z_t), eq_evals(rho_t));
        self.ids.iter().enumerate().map(|(t, &a)| eq_z[t] * eq_r[t] * point_indicator_mle(a as usize, rho_j)).sum()
    }
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkArgmaxClaims {
    /// `ĝ(z)`.
    pub gap: Claim,
    /// `L̂(z)` and `L̂(ρ)`.
    pub logits: [Claim; 2],
    /// `(a, w, value)` on `R_g`.
    pub r: (EF, EF, EF),
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// The caller's commitment, prover side.
pub struct ZkArgmaxMasks<'a> {
    /// `ĝ(z)`.
    pub gap_hat: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `L̂(z)`.
    pub logits_hat: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// The factor of `v(z_last)` in `L̂ − L` at a full point.
    pub logits_cof: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `(a, w) ↦ R̂_g(a, w)`.
    pub r_hat: &'a (dyn Fn(EF, EF) -> EF + Sync),
}

impl std::fmt::Debug for ZkArgmaxMasks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkArgmaxMasks").finish_non_exhaustive()
    }
}

fn point(z: Vec<EF>) -> Result<Vec<EF>, ProofError> {
    if z.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(OP, "a boolean coordinate in the random point (probability 2n/|EF|)"));
    }
    Ok(z)
}

fn sc(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck(OP, e.to_string())
}

/// Prover: `logits` row-major `T × V` (unpadded); `mask` of shape [`ZkArgmaxShape::mask_shape`],
/// committed with everything the masks refer to (`g`'s mask tied, module docs).
pub fn prove_argmax_zk(shape: &ZkArgmaxShape, logits: &[i64], masks: &ZkArgmaxMasks<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkArgmaxClaims, ProofError> {
    shape.check()?;
    if logits.len() != shape.rows * shape.vocab {
        return Err(ProofError::witness(OP, "logits length"));
    }
    let (n, tv) = (shape.num_vars(), shape.tv());
    let vv = n - tv;
    let z = point(t.challenge_exts(n))?;
    let (g, l) = ((masks.gap_hat)(&z), (masks.logits_hat)(&z));
    t.send_exts(&[g, l]);
    let eq_t = eq_evals(&z[..tv]);
    let mut w_ef = vec![EF::ZERO; 1 << n];
    for (t_idx, &a) in shape.ids.iter().enumerate() {
        w_ef[(t_idx << vv) | a as usize] = eq_t[t_idx];
    }
    let mut lp = vec![EF::ZERO; 1 << n];
    for (i, &v) in logits.iter().enumerate() {
        lp[((i / shape.vocab) << vv) | (i % shape.vocab)] = EF::from(from_i64_unchecked(v));
    }
    prove_with_tables(shape, &z, [g, l], w_ef, lp, masks, mask, t)
}

/// The sumcheck of [`prove_argmax_zk`] over the given tables `[W, L]` after `ĝ(z)`, `L̂(z)` were
/// sent (a test hook: a malicious prover substitutes the selector).
#[allow(clippy::too_many_arguments)] // the op's tables and the caller's commitment
fn prove_with_tables(
    shape: &ZkArgmaxShape,
    z: &[EF],
    [g, l]: [EF; 2],
    w_ef: Vec<EF>,
    lp: Vec<EF>,
    masks: &ZkArgmaxMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkArgmaxClaims, ProofError> {
    let (n, tv) = (shape.num_vars(), shape.tv());
    let terms = shape.terms(&z[tv..]);
    let inner = zkinfer_sumcheck::ProductSumcheck::new(vec![zkinfer_poly::Mle::new(w_ef), zkinfer_poly::Mle::new(lp)], terms.clone(), None);
    let hidden = |j: usize, p: &[EF]| if j == 1 { (masks.logits_cof)(p) } else { EF::ZERO };
    let z0 = z[0];
    let rh = |x: EF| (masks.r_hat)(z0, x);
    let mut inst = ZkProductSumcheck::new(inner, terms, None, 2, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(z, n), r_hat: &rh }))
        .map_err(sc)?;
    let out = prove_product_zk(&mut inst, mask, t);
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkArgmaxClaims {
        gap: Claim::new(z.to_vec(), g),
        logits: [Claim::new(z.to_vec(), l), Claim::new(out.point.clone(), out.values[1])],
        r: (z0, out.point[0], e),
        mask_claims: out.mask_claims,
    })
}

/// Verifier side of [`prove_argmax_zk`]: checks the sumcheck and the public selector's value; the
/// caller opens `ĝ`, `R_g`, the mask's claims and routes the claims on `L̂`.
pub fn verify_argmax_zk(shape: &ZkArgmaxShape, t: &mut VerifierTranscript<'_>) -> Result<ZkArgmaxClaims, ProofError> {
    shape.check()?;
    let (n, tv) = (shape.num_vars(), shape.tv());
    let z = point(t.challenge_exts(n))?;
    let v = t.receive_exts(2).map_err(sc)?;
    let h = v[0] + v[1] + shape.less_than_sum(&z[..tv], &z[tv..]);
    let out = verify_product_zk_with_output(h, n, &shape.terms(&z[tv..]), None, 2, Some(output_coeff(&z, n)), t).map_err(sc)?;
    if out.values[0] != shape.selector_at(&z[..tv], &out.point) {
        return Err(ProofError::check(OP, "the public selector's value is wrong"));
    }
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkArgmaxClaims {
        gap: Claim::new(z.clone(), v[0]),
        logits: [Claim::new(z.clone(), v[1]), Claim::new(out.point.clone(), out.values[1])],
        r: (z[0], out.point[0], e),
        mask_claims: out.mask_claims,
    })
}

#[cfg(test)]
#[path = "zk_argmax_tests.rs"]
mod tests;
