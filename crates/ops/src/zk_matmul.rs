//! MatMul in zero knowledge (issue 13, chokes 1–2 for one op; `docs/SECURITY.md`, "The graph
//! proof in zero knowledge: design"). **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): [`crate::ops::matmul`]
//! is the public proof, unchanged; this is the zk counterpart as tested library code.
//!
//! **Relation.** `y[t, n] = Σ_k x[t, k]·w[n, k] + b[n]` (`x: [T, K]`, `w: [N, K]`, optional
//! `b: [N]`; `y` virtual), zero-padded, and a claim `ŷ(r_t, r_n) = v` on the randomised extension
//! of the virtual output (`zkinfer_sumcheck::zk_virtual`: `ŷ = y + Z·Σ_w R_y(z_0, w)`).
//!
//! **Protocol.** One masked product sumcheck (`zkinfer_sumcheck::zk_product`) over
//! `N_s = max(k_vars, n_vars)` variables (`k_vars` without bias) of
//!
//! ```text
//! g(x) = 2^{−(N_s−k_vars)}·Â(x_suf)·B̂(x_suf) + 2^{−(N_s−n_vars)}·I_T(r_t)·eq(r_n, x_suf')·b̂(x_suf')
//!        + c·R̂_y(r_0, x_0)                      (c = 2^{−(N_s−1)}·Z(r_t, r_n))
//! ```
//!
//! with `Â(k) = x̂(r_t, k)` and `B̂(k) = ŵ(r_n, k)` the *views* of the operands' randomised
//! extensions (`Vanishing::All`: equal to the plain folded tables on the boolean `k`), `b̂` the
//! bias's, every table broadcast over the leading variables (`x_suf` the last `k_vars`, `x_suf'` the
//! last `n_vars` coordinates). Its sum over the cube is `Σ_k A·B + I_T(r_t)·b(r_n) + Z(r)·Σ_w R_y =
//! ŷ(r)`: the claim as received, the bias summed *inside* (sending `b̂(r_n)` and peeling it off
//! the claim, as the public proof does, would leave `b`'s own mask value in the sum — SECURITY,
//! "Broadcast operands"). The prover sends `Â(ρ)`, `B̂(ρ)`, the public `eq(r_n, ρ_suf')` (the
//! verifier checks it), `b̂(ρ_suf')` and `R̂_y(r_0, ρ_0)`. Claims out: `x̂` at `(r_t, ρ_suf)`, `ŵ` at
//! `(r_n, ρ_suf)`, `b̂` at `ρ_suf'`, `R_y` at `(r_0, ρ_0)` and the sumcheck mask's claims.
//!
//! **Constraints.** `N_s ≥ 5` and, with a bias, `n_vars ≥ 5` (the bias's PCS mask lives in its
//! first four variables and must not involve the last round's variable); the last round binds
//! the last coordinate of `k` (of `x` and `w`: free in every block, not a mask variable when the
//! operand has ≥ 5 variables) and of `n` (of `b`).
//!
//! **Soundness.** The masked sumcheck's `(1 + N_s·D')/|EF|` (`D = 4`, `D' = 7`) plus the openings;
//! the final check is exact in the sent values, the public `eq` value is checked, every other
//! value is a claim the caller opens. No new integer relation: the field identity is the public
//! proof's (its no-wrap argument is [`crate::ops::matmul`]'s and the graph's bounds).
//!
//! **Zero knowledge.** That of the masked product sumcheck with an output mask: the sent
//! randomised values are uniform (each its own mask at a point with no boolean coordinate), the
//! public `eq` value is a function of the challenges, `R̂_y(r_0, ρ_0)` is uniform by `R_y`'s
//! capacity, and the rounds are uniform on the affine space fixed by `(ŷ(r), f(ρ))`. The
//! simulator (in the tests) samples them so, with `Â(ρ)` solved from the final equation.

use zkinfer_field::{EF, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_eval, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::mle_eval::prefix_indicator;

const OP: &str = "MatMul (zk)";

/// `⌈log2 d⌉` (0 for `d ≤ 1`).
fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public shape of a zk MatMul.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkMatMulShape {
    /// Rows of `x` (tokens).
    pub t: usize,
    /// Inner dimension.
    pub k: usize,
    /// Rows of `w` (outputs).
    pub n: usize,
    /// Whether a bias is added.
    pub has_bias: bool,
}

impl ZkMatMulShape {
    fn tv(&self) -> usize {
        vars(self.t)
    }
    fn kv(&self) -> usize {
        vars(self.k)
    }
    fn nv(&self) -> usize {
        vars(self.n)
    }
    /// Variables of the sumcheck.
    pub fn num_vars(&self) -> usize {
        if self.has_bias { self.kv().max(self.nv()) } else { self.kv() }
    }
    fn num_tables(&self) -> usize {
        if self.has_bias { 4 } else { 2 }
    }
    /// The terms over `[Â', B̂', E', b̂']` (module docs); `r_t` for `I_T`.
    fn terms(&self, r_t: &[EF]) -> Vec<Term> {
        let ns = self.num_vars();
        let inv2 = EF::TWO.inverse();
        let mut terms = vec![(inv2.exp_u64((ns - self.kv()) as u64), vec![0, 1])];
        if self.has_bias {
            terms.push((inv2.exp_u64((ns - self.nv()) as u64) * prefix_indicator(r_t, self.t), vec![2, 3]));
        }
        terms
    }
    fn check(&self, claim: &Claim) -> Result<(), ProofError> {
        if self.t == 0 || self.k == 0 || self.n == 0 {
            return Err(ProofError::shape(OP, "empty dimension"));
        }
        if self.num_vars() < zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS || (self.has_bias && self.nv() < 5) {
            return Err(ProofError::shape(OP, "a zk MatMul needs ≥ 5 variables in its sumcheck and in the bias"));
        }
        if claim.point.len() != self.tv() + self.nv() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        Ok(())
    }
}

/// The shape of the sumcheck mask the caller commits (round degree 4).
pub fn zk_matmul_mask_shape(shape: &ZkMatMulShape) -> MaskShape {
    product_mask_shape(shape.num_vars(), &shape.terms(&vec![EF::ZERO; shape.tv()]), false)
}

/// The caller's hiding commitment, prover side: each function returns the factor `H` of
/// `v(z_last)` in the randomised extension at a full point `z` of the polynomial
/// (`P̂(z) = P(z) + v(z_last)·H(z)`, `H` free of `z_last`), as
/// `zkinfer_pcs::hiding::HidingProverData::mask_value` does for `Vanishing::All` tables and
/// `zkinfer_sumcheck::zk_virtual::VirtualMask::cofactor` for virtual operands.
pub struct ZkMatMulMasks<'a> {
    /// `x` at `(r_t ‖ k)`.
    pub x: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `w` at `(r_n ‖ k)`.
    pub w: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `b` at `j` (with a bias).
    pub b: Option<&'a (dyn Fn(&[EF]) -> EF + Sync)>,
    /// `t ↦ R̂_y(r_0, t)` for the output's `R` mask (`r_0` the claim point's first coordinate).
    pub r_hat: &'a (dyn Fn(EF) -> EF + Sync),
}

impl std::fmt::Debug for ZkMatMulMasks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkMatMulMasks").finish_non_exhaustive()
    }
}

/// What both sides end with: claims to route (`x̂`, `ŵ`, `b̂`) and to open (`R_y`, the mask).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkMatMulClaims {
    /// On `x̂` at `(r_t, ρ_suf)`.
    pub x: Claim,
    /// On `ŵ` at `(r_n, ρ_suf)`.
    pub w: Claim,
    /// On `b̂` at `ρ_suf'`.
    pub b: Option<Claim>,
    /// `(a, w, value)`: `R̂_y(a, w) = value`.
    pub r: (EF, EF, EF),
    /// `(point, value)` claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// A row-major `rows × cols` integer matrix folded over its rows with `eq(r, ·)`, padded to
/// `2^{vars(cols)}`.
fn fold_rows(m: &[i64], rows: usize, cols: usize, r: &[EF]) -> Vec<EF> {
    let e = eq_evals(r);
    let mut out = vec![EF::ZERO; 1usize << vars(cols)];
    for (i, row) in m.chunks_exact(cols).take(rows).enumerate() {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += e[i] * EF::from(from_i64_unchecked(v));
        }
    }
    out
}

/// `table` (of `2^v` entries) broadcast over `ns − v` leading variables.
fn broadcast(table: &[EF], ns: usize) -> Vec<EF> {
    let mut out = Vec::with_capacity(1usize << ns);
    for _ in 0..1usize << (ns - table.len().trailing_zeros() as usize) {
        out.extend_from_slice(table);
    }
    out
}

fn concat(a: &[EF], b: &[EF]) -> Vec<EF> {
    a.iter().chain(b).copied().collect()
}

fn sumcheck_err(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck(OP, e.to_string())
}

/// Prover (module docs). `x` is `T × K`, `w` is `N × K`, `b` has `N` entries, row-major,
/// unpadded; `claim` is on `ŷ` (its value bound into the transcript); `mask` has shape
/// [`zk_matmul_mask_shape`] and was committed with everything the masks refer to.
#[allow(clippy::too_many_arguments)] // the op's operands and the caller's commitment
pub fn prove_matmul_zk(
    shape: &ZkMatMulShape,
    x: &[i64],
    w: &[i64],
    b: Option<&[i64]>,
    claim: &Claim,
    masks: &ZkMatMulMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkMatMulClaims, ProofError> {
    shape.check(claim)?;
    if x.len() != shape.t * shape.k || w.len() != shape.n * shape.k || b.map(<[i64]>::len) != shape.has_bias.then_some(shape.n) || masks.b.is_some() != shape.has_bias {
        return Err(ProofError::witness(OP, "operand lengths"));
    }
    let tables = build_tables(shape, x, w, b, &claim.point);
    prove_with_tables(shape, tables, claim, masks, mask, t)
}

/// The broadcast tables `[A', B', E', b']` of the sumcheck (plain: the masks enter through the
/// last round's cofactors).
fn build_tables(shape: &ZkMatMulShape, x: &[i64], w: &[i64], b: Option<&[i64]>, point: &[EF]) -> Vec<Mle<EF>> {
    let (nv, ns) = (shape.nv(), shape.num_vars());
    let (r_t, r_n) = point.split_at(shape.tv());
    let a = fold_rows(x, shape.t, shape.k, r_t);
    let bw = fold_rows(w, shape.n, shape.k, r_n);
    let mut tables = vec![Mle::new(broadcast(&a, ns)), Mle::new(broadcast(&bw, ns))];
    if let Some(bias) = b {
        let mut padded = vec![EF::ZERO; 1usize << nv];
        for (p, &v) in padded.iter_mut().zip(bias) {
            *p = EF::from(from_i64_unchecked(v));
        }
        tables.push(Mle::new(broadcast(&eq_evals(r_n), ns)));
        tables.push(Mle::new(broadcast(&padded, ns)));
    }
    tables
}

/// The sumcheck of [`prove_matmul_zk`] over the given broadcast tables `[Â', B̂', E', b̂']` (a test
/// hook: a malicious prover substitutes a table).
fn prove_with_tables(
    shape: &ZkMatMulShape,
    tables: Vec<Mle<EF>>,
    claim: &Claim,
    masks: &ZkMatMulMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkMatMulClaims, ProofError> {
    let (tv, kv, nv, ns) = (shape.tv(), shape.kv(), shape.nv(), shape.num_vars());
    let (r_t, r_n) = claim.point.split_at(tv);
    let terms = shape.terms(r_t);
    let hidden = |j: usize, z: &[EF]| match j {
        0 => (masks.x)(&concat(r_t, &z[ns - kv..])),
        1 => (masks.w)(&concat(r_n, &z[ns - kv..])),
        3 => masks.b.map_or(EF::ZERO, |f| f(&z[ns - nv..])),
        _ => EF::ZERO,
    };
    let inner = ProductSumcheck::new(tables, terms.clone(), None);
    let mut inst = ZkProductSumcheck::new(inner, terms, None, shape.num_tables(), &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&claim.point, ns), r_hat: masks.r_hat }))
        .map_err(sumcheck_err)?;
    let out = prove_product_zk(&mut inst, mask, t);
    let rho = &out.point;
    let r_value = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkMatMulClaims {
        x: Claim::new(concat(r_t, &rho[ns - kv..]), out.values[0]),
        w: Claim::new(concat(r_n, &rho[ns - kv..]), out.values[1]),
        b: shape.has_bias.then(|| Claim::new(rho[ns - nv..].to_vec(), out.values[3])),
        r: (claim.point[0], rho[0], r_value),
        mask_claims: out.mask_claims,
    })
}

/// Verifier side of [`prove_matmul_zk`]: the caller routes the operand claims and opens the `R`
/// and mask claims.
pub fn verify_matmul_zk(shape: &ZkMatMulShape, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkMatMulClaims, ProofError> {
    shape.check(claim)?;
    let (tv, kv, nv, ns) = (shape.tv(), shape.kv(), shape.nv(), shape.num_vars());
    let (r_t, r_n) = claim.point.split_at(tv);
    let terms = shape.terms(r_t);
    let out = verify_product_zk_with_output(claim.value, ns, &terms, None, shape.num_tables(), Some(output_coeff(&claim.point, ns)), t)
        .map_err(sumcheck_err)?;
    let rho = &out.point;
    if shape.has_bias && out.values[2] != eq_eval(r_n, &rho[ns - nv..]) {
        return Err(ProofError::check(OP, "the public eq table's value is wrong"));
    }
    let r_value = out.output_mask_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkMatMulClaims {
        x: Claim::new(concat(r_t, &rho[ns - kv..]), out.values[0]),
        w: Claim::new(concat(r_n, &rho[ns - kv..]), out.values[1]),
        b: shape.has_bias.then(|| Claim::new(rho[ns - nv..].to_vec(), out.values[3])),
        r: (claim.point[0], rho[0], r_value),
        mask_claims: out.mask_claims,
    })
}

/// The HVZK simulator of [`prove_matmul_zk`] for a claim already bound into `t` (tests: the
/// zk MatMul's own and the ops composed with it): a masked sumcheck of a random instance with the
/// claim, then `B̂`, `b̂`, `R̂_y` uniform, the public eq value computed, `Â` solved from the final
/// equation.
#[cfg(test)]
pub(crate) fn simulate_matmul_zk(shape: &ZkMatMulShape, claim: &Claim, t: &mut ProverTranscript, rng: &mut rand10::rngs::StdRng) {
    use rand10::RngExt;
    let ns = shape.num_vars();
    let ms = zk_matmul_mask_shape(shape);
    let mut inst = zkinfer_sumcheck::zk::random_instance(ns, ms.degree, claim.value, rng);
    let mask = SumcheckMask::sample(ms, rng).expect("mask");
    let out = zkinfer_sumcheck::zk::prove_batched_zk(&mut [&mut inst], &mask, t);
    let rho = &out.inner.point;
    let (tv, nv) = (shape.tv(), shape.nv());
    let terms = shape.terms(&claim.point[..tv]);
    let e: EF = rng.random();
    let (bw, bb): (EF, EF) = (rng.random(), rng.random());
    let eqv = eq_eval(&claim.point[tv..], &rho[ns - nv..]);
    let bias_part = if shape.has_bias { terms[1].0 * eqv * bb } else { EF::ZERO };
    let a = (out.inner.final_evals[0][0] - output_coeff(&claim.point, ns) * e - bias_part) * (terms[0].0 * bw).inverse();
    let mut values = vec![a, bw];
    if shape.has_bias {
        values.extend([eqv, bb]);
    }
    t.send_exts(&values);
    t.send_ext(e);
}

#[cfg(test)]
#[path = "zk_matmul_tests.rs"]
mod tests;
