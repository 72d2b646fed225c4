//! RMSNorm and LayerNorm in zero knowledge (issue 13, chokes 1–2; `docs/SECURITY.md`, "RmsNorm
//! and LayerNorm in zero knowledge"). **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): [`crate::ops::rmsnorm`]
//! and [`crate::ops::layernorm`] are the public proofs, unchanged; this is their zk counterpart as
//! tested library code.
//!
//! **Relation** (the public ops', module docs of [`crate::ops::rmsnorm`], [`crate::ops::layernorm`]):
//! per row `t` of `n` entries the statistics (`Σ_c x² = n·ms + r₂`; LayerNorm: `Σ_c x = n·mean + r₁`,
//! `Σ_c d² = n·var + r₂` with `d = x − mean`), the row identities of `inv`, and
//! `d·inv·γ + 2^(s−1) = 2^s·(y − β) + r₃` (RMSNorm: `d = x`, no `β`); the same committed columns,
//! the same range checks (choke 5 / the lookups, unchanged), the same parameter and no-wrap checks
//! (the public proofs' `widths`, run by [`ZkNormShape::check`]).
//!
//! **Protocol.** (1) `z = (z_t, z_c)`, `λ`; the prover sends the randomised values of the row
//! statistics at `z_t` (`ms`, `r₂`; LayerNorm: `mean`, `r₁`, `var`, `r₂`) and `ŷ(z)`, `r̂₃(z)`; both
//! sides form `H` — the public claimed sum with those values (LayerNorm's `β` term moved into the
//! sumcheck, below). (2) The cube sumcheck as a masked *broadcast* sumcheck
//! ([`crate::zk_broadcast`]): RMSNorm `Σ E_t·x² + λ·eq·x·inv·γ`; LayerNorm, with `d = x − mean·[c<n]`
//! expanded, `Σ E_t·x + λ·E_t·(x² − 2·x·mean·cm + mean²·cm) + λ²·eq·(x − mean·cm)·inv·γ +
//! λ²·2^s·eq·β·[t<T]` (the broadcast `β` summed inside: SECURITY, "Broadcast operands"), plus one
//! output mask per tie (below), `2^{−(N−1)}·C_i·R̂_i(z_0, x_0)`. Finals: the masked tables'
//! randomised values (`x̂(ρ)`, `în̂v(ρ_t)`, `γ̂(ρ_c)`; LayerNorm also `m̂ean(ρ_t)`, `β̂(ρ_c)`), the public
//! ones (checked), the `R` discharges. (3) The row zero-check as a masked product sumcheck
//! (`zkinfer_sumcheck::zk_product`, claim 0, the public row mask's value checked).
//!
//! **The ties (completeness).** `H`'s mask part is a sum over its derived pairs
//! `C_i·Z·(scale_i·M_{a_i} + M_{b_i})`: RMSNorm `(n·ms + r₂)` with `C = 1` over `z_t` and
//! `(2^s·y + r₃)` with `C = λ` over `z`; LayerNorm `(n·mean + r₁)`, `λ·(n·var + r₂)`, `λ²·(2^s·y + r₃)`.
//! Each is tied: `M_{b_i} = Σ_w R_i(z_0, w) − scale_i·M_{a_i}` ([`crate::zk_rescale::tied_mask`]),
//! and the sumcheck carries the output mask `2^{−(N−1)}·C_i·Z_i(z)·R̂_i(z_0, x_0)` (`Z_i` over the
//! pair's coordinates) whose sum is exactly that part. The tied columns are committed as one block
//! each (Rescale's constraint). Without the output masks the pairs would have to be unmasked and
//! would reveal the rows' statistics at `z_t`.
//!
//! **Soundness.** The cube check holds only if `L(z) + D(z) = 0` for the public multilinear identity
//! `L` and the masks' defect `D` (every part has a `Z` factor: zero on the cube), so `L ≡ 0` except with
//! probability `≤ 257·N/|EF|` ([`crate::zk_rescale`]'s argument), plus the masked sumchecks'
//! `(1 + N·D')/|EF|` (`D ≤ 10`, `D' = 15`) and the row zero-check's. From the identities on the cube
//! the integer argument is the public op's.
//!
//! **Zero knowledge.** Sent: the statistics' and `ŷ`, `r̂₃` values at `z` (fresh mask values; the
//! tied ones through the `R` tables), the masked rounds (uniform given their finals), the finals
//! (masked values at points with no boolean coordinate; public ones functions of the challenges;
//! the `R` discharges uniform), the row finals. Simulator: those uniform, one masked final solved
//! per final equation, the rounds by the masked sumcheck's simulator.
//! **Constraints:** `T ≥ 17` and `n ≥ 17` in zk mode (masked tables of ≥ 5 variables), or padding
//! to 32.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{eq_eval, eq_evals};
use zkinfer_sumcheck::Term;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{ZkProductSumcheck, base_instance, product_mask_shape, prove_product_zk, verify_product_zk};
use zkinfer_sumcheck::zk_virtual::vanish_all;
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::ops::layernorm::LayerNormProof;
use crate::ops::norm_rows::NormRows;
use crate::ops::public_mle::{less_than_mle, valid_mask_mle};
use crate::ops::rmsnorm::RmsNormProof;
use crate::zk_broadcast::{BroadcastTable, ZkBroadcastSumcheck, broadcast_mask_shape, prove_broadcast_zk, verify_broadcast_zk};

const OP: &str = "Norm (zk)";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// Which norm, with the public op's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormKind {
    /// RMSNorm (`x: [T, n]`, `γ: [n]`).
    Rms(RmsNormProof),
    /// LayerNorm (`x: [T, n]`, `γ`, `β: [n]`).
    Layer(LayerNormProof),
}

/// The public shape and parameters of a zk norm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkNormShape {
    /// Rows `T`.
    pub rows: usize,
    /// Row length `n`.
    pub n: usize,
    /// The op.
    pub kind: NormKind,
}

/// Row columns (in [`NormRows::columns`] order) the cube reads, per kind.
struct Cols {
    /// The statistics sent at `z_t`, in pairs `(a, b)` with `n·a + b` in the claim.
    pairs: Vec<(usize, usize)>,
    /// `inv`.
    inv: usize,
    /// `mean` (LayerNorm).
    mean: Option<usize>,
}

// Tables of the cube sumcheck. RMSNorm: [x, E_t, eq, inv, γ]; LayerNorm: [x, E_t, eq, inv, γ,
// mean, cm, β, rm].
pub(crate) const CX: usize = 0;
const CER: usize = 1;
const CEQ: usize = 2;
const CINV: usize = 3;
pub(crate) const CG: usize = 4;
const CMEAN: usize = 5;
const CCM: usize = 6;
pub(crate) const CBETA: usize = 7;
const CRM: usize = 8;

impl ZkNormShape {
    fn has_mean(&self) -> bool {
        matches!(self.kind, NormKind::Layer(_))
    }
    /// The row gadget (the public op's).
    pub(crate) fn norm(&self) -> NormRows {
        match &self.kind {
            NormKind::Rms(p) => NormRows { has_mean: false, eps: p.eps, k: p.k },
            NormKind::Layer(p) => NormRows { has_mean: true, eps: p.eps, k: p.k },
        }
    }
    /// The final rounding shift `s`.
    pub(crate) fn shift(&self) -> u32 {
        match &self.kind {
            NormKind::Rms(p) => p.shift,
            NormKind::Layer(p) => p.shift,
        }
    }
    fn cols(&self) -> Cols {
        if self.has_mean() { Cols { pairs: vec![(0, 1), (3, 4)], inv: 6, mean: Some(0) } } else { Cols { pairs: vec![(0, 1)], inv: 3, mean: None } }
    }
    /// The output bound `|y| < 2^out_bits` (the public op's).
    pub(crate) fn out_bits(&self) -> u32 {
        match &self.kind {
            NormKind::Rms(p) => p.out_bits,
            NormKind::Layer(p) => p.out_bits,
        }
    }
    /// The tied pairs `(a, b)` of row columns (`b`'s mask tied to `n·M_a`), in tie order; the last
    /// tie, `(y, r₃)`, is not listed.
    pub(crate) fn tie_pairs(&self) -> Vec<(usize, usize)> {
        self.cols().pairs
    }
    /// The row columns `inv` and (LayerNorm) `mean`: read by the cube sumcheck at `ρ_t`.
    pub(crate) fn cube_row_columns(&self) -> Vec<usize> {
        let c = self.cols();
        std::iter::once(c.inv).chain(c.mean).collect()
    }
    /// `(bits, signed)` of each row column's range check (the public op's widths, after its
    /// no-wrap checks).
    pub(crate) fn row_bits(&self) -> Result<Vec<(u32, bool)>, ProofError> {
        let w = match &self.kind {
            NormKind::Rms(p) => p.widths(self.n)?,
            NormKind::Layer(p) => p.widths(self.n)?,
        };
        Ok(self.norm().row_bits(&w))
    }
    /// Row columns: 10 (RMSNorm) or 13 (LayerNorm).
    pub fn row_columns(&self) -> usize {
        self.norm().columns().len()
    }
    /// Tables of the cube sumcheck: 5 or 9.
    pub fn cube_tables(&self) -> usize {
        if self.has_mean() { 9 } else { 5 }
    }
    /// The tied pairs `(a, b)` in claim order, `a`, `b` as row columns; the last pair is `(y, r₃)`
    /// (returned as `None`): `R` tables in this order.
    pub fn ties(&self) -> usize {
        self.cols().pairs.len() + 1
    }
    /// Row variables.
    pub fn tv(&self) -> usize {
        vars(self.rows)
    }
    /// Column variables.
    pub fn cv(&self) -> usize {
        vars(self.n)
    }
    /// The parameter and no-wrap checks of the public op, and the zk size constraints.
    pub fn check(&self) -> Result<(), ProofError> {
        if self.rows == 0 || self.n < 2 {
            return Err(ProofError::shape(OP, "need T ≥ 1 rows of n ≥ 2"));
        }
        match &self.kind {
            NormKind::Rms(p) => p.widths(self.n).map(|_| ())?,
            NormKind::Layer(p) => p.widths(self.n).map(|_| ())?,
        }
        if self.tv() < 5 || self.cv() < 5 {
            return Err(ProofError::shape(OP, "a zk norm needs ≥ 5 row and ≥ 5 column variables (pad to 32)"));
        }
        Ok(())
    }
    /// Terms of the cube sumcheck (module docs).
    pub fn cube_terms(&self, lambda: EF) -> Vec<Term> {
        if !self.has_mean() {
            return vec![(EF::ONE, vec![CER, CX, CX]), (lambda, vec![CEQ, CX, CINV, CG])];
        }
        let l2 = lambda * lambda;
        vec![
            (EF::ONE, vec![CER, CX]),
            (lambda, vec![CER, CX, CX]),
            (-EF::TWO * lambda, vec![CER, CX, CMEAN, CCM]),
            (lambda, vec![CER, CMEAN, CMEAN, CCM]),
            (l2, vec![CEQ, CX, CINV, CG]),
            (-l2, vec![CEQ, CMEAN, CCM, CINV, CG]),
            (l2 * EF::TWO.exp_u64(u64::from(self.shift())), vec![CEQ, CBETA, CRM]),
        ]
    }
    /// The cube sumcheck's mask shape.
    pub fn cube_mask_shape(&self) -> MaskShape {
        broadcast_mask_shape(self.tv() + self.cv(), &self.cube_terms(EF::ONE))
    }
    /// The row zero-check's mask shape.
    pub fn row_mask_shape(&self) -> MaskShape {
        product_mask_shape(self.tv(), &self.norm().row_terms(EF::ONE, self.n), true)
    }
    /// Powers of `λ` weighting the tied pairs, the last `(y, r₃)`.
    fn pair_weights(&self, lambda: EF) -> Vec<EF> {
        (0..self.ties()).map(|i| lambda.exp_u64(i as u64)).collect()
    }
    /// `H` from the sent values `[n-pairs…, y, r₃]`.
    fn claimed(&self, z: &[EF], lambda: EF, v: &[EF]) -> EF {
        let k = self.ties() - 1;
        let w = self.pair_weights(lambda);
        let n = EF::from_usize(self.n);
        let s = u64::from(self.shift());
        let valid = valid_mask_mle(&[self.rows, self.n], &[self.tv(), self.cv()], z);
        let stats: EF = (0..k).map(|i| w[i] * (n * v[2 * i] + v[2 * i + 1])).sum();
        stats + w[k] * (EF::TWO.exp_u64(s) * v[2 * k] + v[2 * k + 1] - EF::TWO.exp_u64(s - 1) * valid)
    }
    /// The output masks' coefficients, one per tie.
    fn output_coeffs(&self, z: &[EF], lambda: EF) -> Vec<EF> {
        let k = self.ties() - 1;
        let base = EF::TWO.inverse().exp_u64((self.tv() + self.cv() - 1) as u64);
        let zt = vanish_all(&z[..self.tv()]);
        self.pair_weights(lambda).into_iter().enumerate().map(|(i, w)| base * w * if i < k { zt } else { vanish_all(z) }).collect()
    }
}

/// The caller's hiding commitment, prover side.
pub struct ZkNormMasks<'a> {
    /// `P̂(z)` of the committed `y` at a cube point.
    pub y_hat: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// As `y_hat`, for `r₃`.
    pub r3_hat: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `P̂_i(z_t)` of row column `i`.
    pub row_hat: &'a (dyn Fn(usize, &[EF]) -> EF + Sync),
    /// Factor of `v(z_last)` in `P̂ − P` at a full point, per masked cube table (`CX`, `CG`, `CBETA`
    /// by index; row columns through `row_cof`).
    pub cube_cof: &'a (dyn Fn(usize, &[EF]) -> EF + Sync),
    /// As `cube_cof`, for row column `i` (row point).
    pub row_cof: &'a (dyn Fn(usize, &[EF]) -> EF + Sync),
    /// `(tie, a, w) ↦ R̂_tie(a, w)`: the `R` tables the ties use, in [`ZkNormShape::ties`] order.
    pub r_hat: &'a (dyn Fn(usize, EF, EF) -> EF + Sync),
}

impl std::fmt::Debug for ZkNormMasks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkNormMasks").finish_non_exhaustive()
    }
}

/// What both sides end with: claims to open (or route: `x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkNormClaims {
    /// `x̂(ρ)` (to the input's origin).
    pub x: Claim,
    /// `γ̂(ρ_c)`.
    pub gamma: Claim,
    /// `β̂(ρ_c)` (LayerNorm).
    pub beta: Option<Claim>,
    /// `ŷ(z)`.
    pub y: Claim,
    /// `r̂₃(z)`.
    pub r3: Claim,
    /// `(row column, claim)`: the statistics at `z_t`, `inv` (and `mean`) at `ρ_t`, every row
    /// column at `ρ₂`.
    pub rows: Vec<(usize, Claim)>,
    /// `(a, w, value)` per `R` table, in tie order.
    pub r: Vec<(EF, EF, EF)>,
    /// Claims on the cube sumcheck's mask table.
    pub cube_mask_claims: Vec<(Vec<EF>, EF)>,
    /// Claims on the row zero-check's mask table.
    pub row_mask_claims: Vec<(Vec<EF>, EF)>,
}

fn sc(e: impl std::fmt::Display) -> ProofError {
    ProofError::sumcheck(OP, e.to_string())
}

fn no_boolean(z: &[EF]) -> Result<(), ProofError> {
    if z.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofError::check(OP, "a boolean coordinate in a random point (probability 2N/|EF|)"));
    }
    Ok(())
}

fn lift(v: &[i64], len: usize) -> Vec<EF> {
    let mut out = vec![EF::ZERO; len];
    for (o, &x) in out.iter_mut().zip(v) {
        *o = EF::from(from_i64_unchecked(x));
    }
    out
}

/// The operands of a zk norm (row-major, unpadded).
#[derive(Debug, Clone, Copy)]
pub struct NormOperands<'a> {
    /// `x`, `T × n`.
    pub x: &'a [i64],
    /// `γ`, `n`.
    pub gamma: &'a [i64],
    /// `β`, `n` (LayerNorm).
    pub beta: Option<&'a [i64]>,
    /// Row column `i`, `T` values each.
    pub rows: &'a [Vec<i64>],
}

/// Prover (module docs). `cube_mask`, `row_mask` have the shapes
/// [`ZkNormShape::cube_mask_shape`], [`ZkNormShape::row_mask_shape`] and were committed with
/// everything the masks refer to.
pub fn prove_norm_zk(
    shape: &ZkNormShape,
    ops: NormOperands<'_>,
    masks: &ZkNormMasks<'_>,
    cube_mask: &SumcheckMask,
    row_mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkNormClaims, ProofError> {
    prove_with_tamper(shape, ops, masks, cube_mask, row_mask, t, &|_| ())
}

/// [`prove_norm_zk`] with the cube sumcheck's tables edited before it runs (a test hook: a
/// malicious prover substitutes a public table).
fn prove_with_tamper(
    shape: &ZkNormShape,
    ops: NormOperands<'_>,
    masks: &ZkNormMasks<'_>,
    cube_mask: &SumcheckMask,
    row_mask: &SumcheckMask,
    t: &mut ProverTranscript,
    tamper: &dyn Fn(&mut Vec<BroadcastTable>),
) -> Result<ZkNormClaims, ProofError> {
    shape.check()?;
    let (tv, cv) = (shape.tv(), shape.cv());
    let nr = shape.row_columns();
    if ops.x.len() != shape.rows * shape.n
        || ops.gamma.len() != shape.n
        || ops.beta.map(<[i64]>::len) != shape.has_mean().then_some(shape.n)
        || ops.rows.len() != nr
        || ops.rows.iter().any(|r| r.len() != shape.rows)
    {
        return Err(ProofError::witness(OP, "operand lengths"));
    }
    let z = t.challenge_exts(tv + cv);
    let lambda = t.challenge_ext();
    no_boolean(&z)?;
    let z_t = &z[..tv];
    let cols = shape.cols();
    let mut sent: Vec<EF> = cols.pairs.iter().flat_map(|&(a, b)| [(masks.row_hat)(a, z_t), (masks.row_hat)(b, z_t)]).collect();
    sent.extend([(masks.y_hat)(&z), (masks.r3_hat)(&z)]);
    t.send_exts(&sent);
    let mut xp = vec![EF::ZERO; 1usize << (tv + cv)];
    for (r, row) in ops.x.chunks_exact(shape.n).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            xp[(r << cv) | c] = EF::from(from_i64_unchecked(v));
        }
    }
    let mut tables = vec![
        BroadcastTable { values: xp, vars: 0..tv + cv, masked: true },
        BroadcastTable { values: eq_evals(z_t), vars: 0..tv, masked: false },
        BroadcastTable { values: eq_evals(&z), vars: 0..tv + cv, masked: false },
        BroadcastTable { values: lift(&ops.rows[cols.inv], 1 << tv), vars: 0..tv, masked: true },
        BroadcastTable { values: lift(ops.gamma, 1 << cv), vars: tv..tv + cv, masked: true },
    ];
    if let (Some(mean), Some(beta)) = (cols.mean, ops.beta) {
        tables.push(BroadcastTable { values: lift(&ops.rows[mean], 1 << tv), vars: 0..tv, masked: true });
        tables.push(BroadcastTable { values: (0..1usize << cv).map(|c| EF::from_bool(c < shape.n)).collect(), vars: tv..tv + cv, masked: false });
        tables.push(BroadcastTable { values: lift(beta, 1 << cv), vars: tv..tv + cv, masked: true });
        tables.push(BroadcastTable { values: (0..1usize << tv).map(|r| EF::from_bool(r < shape.rows)).collect(), vars: 0..tv, masked: false });
    }
    tamper(&mut tables);
    let cof = |j: usize, p: &[EF]| match j {
        CINV => (masks.row_cof)(cols.inv, p),
        CMEAN => (masks.row_cof)(cols.mean.unwrap_or(0), p),
        _ => (masks.cube_cof)(j, p),
    };
    let z0 = z[0];
    let r_hats: Vec<Box<dyn Fn(EF) -> EF + Sync + '_>> = (0..shape.ties()).map(|i| Box::new(move |w: EF| (masks.r_hat)(i, z0, w)) as Box<dyn Fn(EF) -> EF + Sync + '_>).collect();
    let mut inst = ZkBroadcastSumcheck::new(tv + cv, tables, shape.cube_terms(lambda), &cof).map_err(sc)?;
    for (c, rh) in shape.output_coeffs(&z, lambda).into_iter().zip(&r_hats) {
        inst = inst.with_output_mask(c, rh.as_ref()).map_err(sc)?;
    }
    let cube = prove_broadcast_zk(&mut inst, cube_mask, t);
    let z2 = t.challenge_exts(tv);
    let mu = t.challenge_ext();
    no_boolean(&z2)?;
    let row_terms = shape.norm().row_terms(mu, shape.n);
    let mut row_tables: Vec<Vec<F>> = ops
        .rows
        .iter()
        .map(|r| {
            let mut v = vec![F::ZERO; 1 << tv];
            for (o, &x) in v.iter_mut().zip(r) {
                *o = from_i64_unchecked(x);
            }
            v
        })
        .collect();
    row_tables.push((0..1usize << tv).map(|i| if i < shape.rows { F::ONE } else { F::ZERO }).collect());
    let hidden = |j: usize, p: &[EF]| if j < nr { (masks.row_cof)(j, p) } else { EF::ZERO };
    let inner = base_instance(row_tables, row_terms.clone(), Some(z2.clone()));
    let mut rinst = ZkProductSumcheck::new(inner, row_terms, Some(z2), nr + 1, &hidden).map_err(sc)?;
    let row = prove_product_zk(&mut rinst, row_mask, t);
    Ok(claims(shape, &z, &sent, &cube.point, &cube.values, &cube.output_values, cube.mask_claims, &row.point, &row.values, row.mask_claims))
}

#[allow(clippy::too_many_arguments)] // the two sumchecks' outputs
fn claims(
    shape: &ZkNormShape,
    z: &[EF],
    sent: &[EF],
    rho: &[EF],
    values: &[EF],
    outputs: &[EF],
    cube_mask_claims: Vec<(Vec<EF>, EF)>,
    rho2: &[EF],
    row_values: &[EF],
    row_mask_claims: Vec<(Vec<EF>, EF)>,
) -> ZkNormClaims {
    let tv = shape.tv();
    let (z_t, rho_t, rho_c) = (&z[..tv], &rho[..tv], &rho[tv..]);
    let cols = shape.cols();
    let k = cols.pairs.len();
    let mut rows: Vec<(usize, Claim)> = cols.pairs.iter().enumerate().flat_map(|(i, &(a, b))| [(a, Claim::new(z_t.to_vec(), sent[2 * i])), (b, Claim::new(z_t.to_vec(), sent[2 * i + 1]))]).collect();
    rows.push((cols.inv, Claim::new(rho_t.to_vec(), values[CINV])));
    if let Some(mean) = cols.mean {
        rows.push((mean, Claim::new(rho_t.to_vec(), values[CMEAN])));
    }
    rows.extend((0..shape.row_columns()).map(|i| (i, Claim::new(rho2.to_vec(), row_values[i]))));
    ZkNormClaims {
        x: Claim::new(rho.to_vec(), values[CX]),
        gamma: Claim::new(rho_c.to_vec(), values[CG]),
        beta: shape.has_mean().then(|| Claim::new(rho_c.to_vec(), values[CBETA])),
        y: Claim::new(z.to_vec(), sent[2 * k]),
        r3: Claim::new(z.to_vec(), sent[2 * k + 1]),
        rows,
        r: outputs.iter().map(|&e| (z[0], rho[0], e)).collect(),
        cube_mask_claims,
        row_mask_claims,
    }
}

/// Verifier side of [`prove_norm_zk`]: checks both sumchecks and the public values; the caller
/// opens every claim (routes `x`).
pub fn verify_norm_zk(shape: &ZkNormShape, t: &mut VerifierTranscript<'_>) -> Result<ZkNormClaims, ProofError> {
    shape.check()?;
    let (tv, cv) = (shape.tv(), shape.cv());
    let z = t.challenge_exts(tv + cv);
    let lambda = t.challenge_ext();
    no_boolean(&z)?;
    let sent = t.receive_exts(2 * shape.ties()).map_err(sc)?;
    let h = shape.claimed(&z, lambda, &sent);
    let coeffs = shape.output_coeffs(&z, lambda);
    let cube = verify_broadcast_zk(h, tv + cv, &shape.cube_terms(lambda), shape.cube_tables(), &coeffs, t).map_err(sc)?;
    let rho = &cube.point;
    let (rho_t, rho_c) = rho.split_at(tv);
    let mut public_ok = cube.values[CER] == eq_eval(&z[..tv], rho_t) && cube.values[CEQ] == eq_eval(&z, rho);
    if shape.has_mean() {
        public_ok &= cube.values[CCM] == less_than_mle(shape.n, rho_c) && cube.values[CRM] == less_than_mle(shape.rows, rho_t);
    }
    if !public_ok {
        return Err(ProofError::check(OP, "a public table's value is wrong"));
    }
    let z2 = t.challenge_exts(tv);
    let mu = t.challenge_ext();
    no_boolean(&z2)?;
    let nr = shape.row_columns();
    let row_terms = shape.norm().row_terms(mu, shape.n);
    let row = verify_product_zk(EF::ZERO, tv, &row_terms, Some(&z2), nr + 1, t).map_err(sc)?;
    if row.values[nr] != less_than_mle(shape.rows, &row.point) {
        return Err(ProofError::check(OP, "the public row mask's value is wrong"));
    }
    Ok(claims(shape, &z, &sent, rho, &cube.values, &cube.output_values, cube.mask_claims, &row.point, &row.values, row.mask_claims))
}

#[cfg(test)]
#[path = "zk_norm_tests.rs"]
mod tests;
