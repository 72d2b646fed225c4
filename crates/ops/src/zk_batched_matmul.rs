//! BatchedMatMul in zero knowledge (issue 13, chokes 1–2; `docs/SECURITY.md`). **Wired into the
//! graph prover** (`crate::zk_graph`'s walk calls it): [`crate::ops::batched_matmul`] is the public proof, unchanged.
//!
//! **Relation.** `y[h, m, n] = Σ_k a[h, m, k]·b[h, n, k]` (`transpose_b`; else `b[h, k, n]`),
//! `a: [H, M, K]`, `y: [H, M, N]` virtual, zero-padded; a claim `ŷ(r_h, r_m, r_n) = v` on the
//! output's randomised extension (`zkinfer_sumcheck::zk_virtual`).
//!
//! **Protocol.** One masked product sumcheck (`zkinfer_sumcheck::zk_product`) over `(h, k)`
//! (`h_vars + k_vars` variables) of `Â(h, k)·B̂(h, k)·E(h, k) + c·R̂_y(r_0, x_0)`, with
//! `Â = â(h, r_m, k)` and `B̂ = b̂(h, r_n, k)` (resp. `b̂(h, k, r_n)`) *views* of the operands'
//! randomised extensions (equal to the plain folded tables on the boolean `(h, k)`: every view
//! sums a `k` coordinate), `E(h, k) = eq(r_h, h)` public, `c = 2^{−(n_s−1)}·Z(r)`: the sum is
//! `ŷ(r)`. The prover sends `Â(ρ)`, `B̂(ρ)`, the public `E(ρ) = eq(r_h, ρ_h)` (checked by the
//! verifier) and `R̂_y(r_0, ρ_0)`. Claims out: `â` at `(ρ_h, r_m, ρ_k)`, `b̂` at `(ρ_h, r_n, ρ_k)`
//! (resp. `(ρ_h, ρ_k, r_n)`), `R_y` at `(r_0, ρ_0)`, the mask's claims.
//!
//! **Constraints.** `h_vars + k_vars ≥ 5`; the last round binds `k`'s least significant bit,
//! which for the non-transposed `b` is not `b`'s last coordinate (the caller's cofactor takes the
//! coordinate: `Vanishing::All` columns and virtual operands both have one for every coordinate
//! but a virtual tensor's first); it must not be a mask variable of either operand.
//!
//! **Soundness.** The masked sumcheck's `(1 + n_s·D')/|EF|` (`D = 6`, `D' = 7`) plus the
//! openings; the final check is exact, the public value checked. The field identity is the
//! public op's. **Zero knowledge.** As for `zkinfer_ops::zk_matmul`: the sent randomised values
//! are uniform, `E(ρ)` is public, `R̂_y` uniform by `R_y`'s capacity, the rounds uniform on the
//! affine space fixed by `(ŷ(r), f(ρ))`; the simulator (tests) solves `Â(ρ)`.

use zkinfer_field::{EF, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_eval, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{MIN_ZK_PRODUCT_VARS, OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;

const OP: &str = "BatchedMatMul (zk)";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// The public shape of a zk BatchedMatMul.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkBatchedShape {
    /// Heads.
    pub h: usize,
    /// Rows of `a`.
    pub m: usize,
    /// Inner dimension.
    pub k: usize,
    /// Columns of `y`.
    pub n: usize,
    /// `b` is `[H, N, K]` instead of `[H, K, N]`.
    pub transpose_b: bool,
}

impl ZkBatchedShape {
    fn hv(&self) -> usize {
        vars(self.h)
    }
    fn mv(&self) -> usize {
        vars(self.m)
    }
    fn kv(&self) -> usize {
        vars(self.k)
    }
    fn nv(&self) -> usize {
        vars(self.n)
    }
    /// Variables of the sumcheck (`h` then `k`).
    pub fn num_vars(&self) -> usize {
        self.hv() + self.kv()
    }
    /// Variables of a claim on `y`.
    pub fn claim_vars(&self) -> usize {
        self.hv() + self.mv() + self.nv()
    }
    /// The coordinate of `b`'s point the last round binds.
    pub fn b_bound_var(&self) -> usize {
        if self.transpose_b { self.hv() + self.nv() + self.kv() - 1 } else { self.hv() + self.kv() - 1 }
    }
    fn b_point(&self, rho_h: &[EF], rho_k: &[EF], r_n: &[EF]) -> Vec<EF> {
        if self.transpose_b { [rho_h, r_n, rho_k].concat() } else { [rho_h, rho_k, r_n].concat() }
    }
    fn terms() -> Vec<Term> {
        vec![(EF::ONE, vec![0, 1, 2])]
    }
    fn check(&self, claim: &Claim) -> Result<(), ProofError> {
        if [self.h, self.m, self.k, self.n].contains(&0) {
            return Err(ProofError::shape(OP, "empty dimension"));
        }
        if self.num_vars() < MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, "a zk BatchedMatMul needs ≥ 5 head and inner variables"));
        }
        if claim.point.len() != self.claim_vars() {
            return Err(ProofError::shape(OP, "claim point dimension"));
        }
        Ok(())
    }
}

/// The shape of the sumcheck mask the caller commits (round degree 6).
pub fn zk_batched_mask_shape(shape: &ZkBatchedShape) -> MaskShape {
    product_mask_shape(shape.num_vars(), &ZkBatchedShape::terms(), false)
}

/// The caller's hiding commitment, prover side (as `zkinfer_ops::zk_matmul::ZkMatMulMasks`).
pub struct ZkBatchedMasks<'a> {
    /// The factor of `v(z_last)` in `â(z) − a(z)` at `a`'s full point `z`.
    pub a: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// The factor of `v(z_var)` in `b̂(z) − b(z)` at `b`'s full point, `var` =
    /// [`ZkBatchedShape::b_bound_var`].
    pub b: &'a (dyn Fn(&[EF], usize) -> EF + Sync),
    /// `t ↦ R̂_y(r_0, t)`.
    pub r_hat: &'a (dyn Fn(EF) -> EF + Sync),
}

impl std::fmt::Debug for ZkBatchedMasks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkBatchedMasks").finish_non_exhaustive()
    }
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkBatchedClaims {
    /// On `â`.
    pub a: Claim,
    /// On `b̂`.
    pub b: Claim,
    /// `(a, w, value)`: `R̂_y(a, w) = value`.
    pub r: (EF, EF, EF),
    /// `(point, value)` claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// Tables `[A, B, E]` over `(h, k)`. `a` is `H × M × K`, `b` `H × N × K` or `H × K × N`.
fn build_tables(s: &ZkBatchedShape, a: &[i64], b: &[i64], point: &[EF]) -> Vec<Mle<EF>> {
    let (hv, mv, kv) = (s.hv(), s.mv(), s.kv());
    let (r_h, rest) = point.split_at(hv);
    let (r_m, r_n) = rest.split_at(mv);
    let (eh, em, en) = (eq_evals(r_h), eq_evals(r_m), eq_evals(r_n));
    let size = 1usize << (hv + kv);
    let (mut ta, mut tb, mut te) = (vec![EF::default(); size], vec![EF::default(); size], vec![EF::default(); size]);
    for h in 0..1usize << hv {
        for k in 0..1usize << kv {
            let i = (h << kv) + k;
            te[i] = eh[h];
            if h >= s.h || k >= s.k {
                continue;
            }
            ta[i] = (0..s.m).map(|m| em[m] * EF::from(from_i64_unchecked(a[(h * s.m + m) * s.k + k]))).sum();
            tb[i] = (0..s.n)
                .map(|n| {
                    let v = if s.transpose_b { b[(h * s.n + n) * s.k + k] } else { b[(h * s.k + k) * s.n + n] };
                    en[n] * EF::from(from_i64_unchecked(v))
                })
                .sum();
        }
    }
    vec![Mle::new(ta), Mle::new(tb), Mle::new(te)]
}

fn sumcheck_err(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck(OP, e.to_string())
}

/// Prover (module docs); `mask` has shape [`zk_batched_mask_shape`], committed with everything the
/// masks refer to; `claim` is on `ŷ`, its value bound into the transcript.
pub fn prove_batched_matmul_zk(
    shape: &ZkBatchedShape,
    a: &[i64],
    b: &[i64],
    claim: &Claim,
    masks: &ZkBatchedMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkBatchedClaims, ProofError> {
    shape.check(claim)?;
    if a.len() != shape.h * shape.m * shape.k || b.len() != shape.h * shape.n * shape.k {
        return Err(ProofError::witness(OP, "operand lengths"));
    }
    let tables = build_tables(shape, a, b, &claim.point);
    prove_with_tables(shape, tables, claim, masks, mask, t)
}

/// The sumcheck over the given tables (a test hook: a malicious prover substitutes one).
fn prove_with_tables(
    shape: &ZkBatchedShape,
    tables: Vec<Mle<EF>>,
    claim: &Claim,
    masks: &ZkBatchedMasks<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkBatchedClaims, ProofError> {
    let (hv, mv, ns) = (shape.hv(), shape.mv(), shape.num_vars());
    let (_, rest) = claim.point.split_at(hv);
    let (r_m, r_n) = rest.split_at(mv);
    let bvar = shape.b_bound_var();
    let hidden = |j: usize, z: &[EF]| {
        let (zh, zk) = z.split_at(hv);
        match j {
            0 => (masks.a)(&[zh, r_m, zk].concat()),
            1 => (masks.b)(&shape.b_point(zh, zk, r_n), bvar),
            _ => EF::default(),
        }
    };
    let inner = ProductSumcheck::new(tables, ZkBatchedShape::terms(), None);
    let mut inst = ZkProductSumcheck::new(inner, ZkBatchedShape::terms(), None, 3, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&claim.point, ns), r_hat: masks.r_hat }))
        .map_err(sumcheck_err)?;
    let out = prove_product_zk(&mut inst, mask, t);
    claims_of(shape, claim, &out.point, &out.values, out.output_mask_value, out.mask_claims)
}

fn claims_of(
    shape: &ZkBatchedShape,
    claim: &Claim,
    rho: &[EF],
    values: &[EF],
    r_value: Option<EF>,
    mask_claims: Vec<(Vec<EF>, EF)>,
) -> Result<ZkBatchedClaims, ProofError> {
    let (hv, mv) = (shape.hv(), shape.mv());
    let (_, rest) = claim.point.split_at(hv);
    let (r_m, r_n) = rest.split_at(mv);
    let (rho_h, rho_k) = rho.split_at(hv);
    let r_value = r_value.ok_or_else(|| ProofError::check(OP, "no output mask value"))?;
    Ok(ZkBatchedClaims {
        a: Claim::new([rho_h, r_m, rho_k].concat(), values[0]),
        b: Claim::new(shape.b_point(rho_h, rho_k, r_n), values[1]),
        r: (claim.point[0], rho[0], r_value),
        mask_claims,
    })
}

/// Verifier side of [`prove_batched_matmul_zk`].
pub fn verify_batched_matmul_zk(shape: &ZkBatchedShape, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkBatchedClaims, ProofError> {
    shape.check(claim)?;
    let (hv, ns) = (shape.hv(), shape.num_vars());
    let out = verify_product_zk_with_output(claim.value, ns, &ZkBatchedShape::terms(), None, 3, Some(output_coeff(&claim.point, ns)), t)
        .map_err(sumcheck_err)?;
    if out.values[2] != eq_eval(&claim.point[..hv], &out.point[..hv]) {
        return Err(ProofError::check(OP, "the public eq table's value is wrong"));
    }
    claims_of(shape, claim, &out.point, &out.values, out.output_mask_value, out.mask_claims)
}

#[cfg(test)]
#[path = "zk_batched_matmul_tests.rs"]
mod tests;
