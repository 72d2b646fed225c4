//! Index maps in zero knowledge: one prover for every op that only moves elements — `SplitHeads`,
//! `MergeHeads`, `GatherRows`, `RepeatKv` and `SliceCols` — (issue 13, chokes 1–2;
//! `docs/SECURITY.md`). **Wired into the graph prover** (`crate::zk_graph`'s walk calls it): the
//! public proofs ([`crate::ops::reshape`], `concat`, `repeat_kv`) are unchanged.
//!
//! **Relation.** `y[i] = x[π(i)]` for a public map `π` from the output's logical indices to the
//! input's (`y` virtual with an `R` mask, zero-padded per dimension to powers of two). Every such
//! op has the same shape: some dimensions are *kept* (an output dimension equal to an input
//! dimension, index for index: the sequence axis of a head split, the columns of a row gather),
//! the others *moved* by a map `μ` from the moved output multi-index to the moved input
//! multi-index, `π(i) = (i_kept, μ(i_moved))`. The public proofs relabel coordinates when the map
//! sends bits to bits (power-of-two head size, aligned slice, every row in order): in zk mode a
//! relabelling is possible only when no coordinate becomes a constant (a boolean coordinate is
//! hidden by no vanishing factor), and it would tie the consumer's cofactor to `x`'s through the
//! relabelling; this module always moves the claim, for one uniform rule.
//!
//! **Protocol.** A claim `ŷ(r) = v`. One masked product sumcheck (`zkinfer_sumcheck::zk_product`)
//! over **all** of `x`'s variables (`n_x ≥ 5`) of
//! `x̂(j)·Sel(j) + c·R̂_y(r_0, j_0)`, `c = 2^{−(n_x−1)}·Z(r)`, with the public selector
//!
//! ```text
//! Sel(j) = Σ_i eq(r, i)·[π(i) = j] = Π_{kept (a, b)} eq(r_b, j_a) · Σ_{i_m} eq(r_m, i_m)·[μ(i_m) = j_m]
//! ```
//!
//! (`r_b` the claim's block of output dimension `b`, `j_a` the input's block of dimension `a`, `r_m`
//! the moved output blocks, `j_m` the moved input blocks). On the cube `Σ_j x(j)·Sel(j) =
//! Σ_i eq(r, i)·x(π(i)) = y(r)` (both zero on their padding), so the sum is `ŷ(r)`. Summing over
//! every input variable (not only the moved ones, as the public proof does) keeps the sumcheck at
//! `n_x ≥ 5` variables whatever the moved dimensions' sizes, and its last round binds `x`'s last
//! coordinate, never a mask variable (`x`'s first `min(n_x, 4)`). Round degree 4. Sent: the
//! rounds, `x̂(ρ)`, `Sel(ρ)` (recomputed by the verifier: the kept factors in `O(n_x)`, the moved
//! sum in `O(|moved output| · dims)`), `R̂_y(r_0, ρ_0)`. Claims out: `x̂(ρ)` to `x`'s origin (a
//! committed column's opening, or its producer's `R` discharge), `R_y` and the mask's to the
//! opening.
//!
//! **Soundness.** The masked sumcheck's `(1 + n_x·D')/|EF|` (`D = 4`, `D' = 7`), plus the
//! openings and the selector check (exact). No arithmetic relation (elements are only moved), so
//! no integer argument is needed.
//!
//! **Zero knowledge.** As the zk Embedding's and SliceCols' (a public selector): `x̂(ρ)` is a fresh
//! value of `x`'s mask at a point with no boolean coordinate, `R̂_y(r_0, ρ_0)` uniform by `R_y`'s
//! capacity, the rounds uniform on the affine space fixed by `(ŷ(r), f(ρ))`. Simulator (tests):
//! `ŷ(r)` uniform, a random instance's masked rounds, `R̂_y` uniform, `Sel(ρ)` computed, `x̂(ρ)`
//! solved from the final equation (affine in it, slope `Sel(ρ)`, non-zero except with probability
//! `O(|moved|/|EF|)`). A claim at a point with a boolean coordinate (`Z(r) = 0`) is refused.
//!
//! **ConcatSeq** (two inputs, the KV cache's append: `y[h, t, c] = past[h, t, c]` for `t < P`, else
//! `new[h, t − P, c]`): two *partial* maps (an output entry read by the other input has no
//! preimage), one per input, each the protocol above. The output's `R` mask is the sum of one `R`
//! table per part, `ŷ = y + Z·Σ_w (R_1 + R_2)(z_0, w)` (a consumer's cofactor is the sum's); the
//! prover sends the first part's share `v_1 = y_1(r) + Z(r)·Σ_w R_1(r_0, w)` and the two parts
//! prove the claims `v_1` and `v − v_1`. Soundness: exact (the two sums add up to the claim).
//! Zero knowledge: `v_1` is uniform by `R_1` (one more read of `R_1` at `r_0`: with the discharge's,
//! two — `d = 2` holds them), `v − v_1` then by `R_2`. Each part needs an input of `≥ 5`
//! variables.

use zkinfer_field::{EF, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_eval, eq_evals};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{MIN_ZK_PRODUCT_VARS, OutputMask, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk_with_output};
use zkinfer_sumcheck::zk_virtual::output_coeff;
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

/// Row-major multi-index of `flat` over `sizes`.
fn decompose(mut flat: usize, sizes: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; sizes.len()];
    for (k, &s) in sizes.iter().enumerate().rev() {
        idx[k] = flat % s;
        flat /= s;
    }
    idx
}

/// Row-major flat index of `idx` over `sizes`.
fn compose(idx: &[usize], sizes: &[usize]) -> usize {
    idx.iter().zip(sizes).fold(0, |acc, (&i, &s)| acc * s + i)
}

fn terms() -> Vec<Term> {
    vec![(EF::ONE, vec![0, 1])]
}

/// The public statement of an index map: shapes, kept dimension pairs, the moved map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkIndexMap {
    op: &'static str,
    in_dims: Vec<usize>,
    out_dims: Vec<usize>,
    /// `(input dimension, output dimension)`, equal logical sizes.
    kept: Vec<(usize, usize)>,
    /// Input dimensions not kept, in order.
    moved_in: Vec<usize>,
    /// Output dimensions not kept, in order.
    moved_out: Vec<usize>,
    /// `μ`: for each moved output multi-index (row-major over `moved_out`'s logical sizes) the
    /// moved input multi-index (row-major over `moved_in`'s logical sizes), or `None` where the
    /// output does not read this input (a part of a concatenation).
    map: Vec<Option<usize>>,
}

impl ZkIndexMap {
    /// A map from its parts, every part checked (a clear error, never a panic).
    pub fn new(op: &'static str, in_dims: Vec<usize>, out_dims: Vec<usize>, kept: Vec<(usize, usize)>, map: Vec<usize>) -> Result<Self, ProofError> {
        Self::new_partial(op, in_dims, out_dims, kept, map.into_iter().map(Some).collect())
    }

    /// [`Self::new`] with a partial map (`None`: the output entry reads another input).
    pub fn new_partial(op: &'static str, in_dims: Vec<usize>, out_dims: Vec<usize>, kept: Vec<(usize, usize)>, map: Vec<Option<usize>>) -> Result<Self, ProofError> {
        if in_dims.contains(&0) || out_dims.contains(&0) || in_dims.is_empty() || out_dims.is_empty() {
            return Err(ProofError::shape(op, "an empty dimension"));
        }
        let mut in_used = vec![false; in_dims.len()];
        let mut out_used = vec![false; out_dims.len()];
        for &(a, b) in &kept {
            if a >= in_dims.len() || b >= out_dims.len() || in_used[a] || out_used[b] || in_dims[a] != out_dims[b] {
                return Err(ProofError::shape(op, "a kept dimension pair that does not match"));
            }
            in_used[a] = true;
            out_used[b] = true;
        }
        let moved_in: Vec<usize> = (0..in_dims.len()).filter(|&a| !in_used[a]).collect();
        let moved_out: Vec<usize> = (0..out_dims.len()).filter(|&b| !out_used[b]).collect();
        let n_out: usize = moved_out.iter().map(|&b| out_dims[b]).try_fold(1usize, |a, s| a.checked_mul(s)).ok_or_else(|| ProofError::shape(op, "output too large"))?;
        let n_in: usize = moved_in.iter().map(|&a| in_dims[a]).try_fold(1usize, |a, s| a.checked_mul(s)).ok_or_else(|| ProofError::shape(op, "input too large"))?;
        if map.len() != n_out {
            return Err(ProofError::shape(op, format!("the map has {} entries for {n_out} moved output positions", map.len())));
        }
        if map.iter().flatten().any(|&m| m >= n_in) {
            return Err(ProofError::shape(op, "the map points outside the input"));
        }
        let me = Self { op, in_dims, out_dims, kept, moved_in, moved_out, map };
        if me.in_vars() < MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(op, format!("a zk index map needs an input of ≥ {MIN_ZK_PRODUCT_VARS} variables")));
        }
        Ok(me)
    }

    /// `SplitHeads`: `x: [T, H·d] → y: [H, T, d]`, `y[h, t, c] = x[t, h·d + c]`.
    pub fn split_heads(rows: usize, heads: usize, head_dim: usize) -> Result<Self, ProofError> {
        let n = heads.checked_mul(head_dim).ok_or_else(|| ProofError::shape("SplitHeads (zk)", "too many columns"))?;
        Self::new("SplitHeads (zk)", vec![rows, n], vec![heads, rows, head_dim], vec![(0, 1)], (0..n).collect())
    }

    /// `MergeHeads`: `x: [H, T, d] → y: [T, H·d]`, `y[t, h·d + c] = x[h, t, c]`.
    pub fn merge_heads(heads: usize, rows: usize, head_dim: usize) -> Result<Self, ProofError> {
        let n = heads.checked_mul(head_dim).ok_or_else(|| ProofError::shape("MergeHeads (zk)", "too many columns"))?;
        Self::new("MergeHeads (zk)", vec![heads, rows, head_dim], vec![rows, n], vec![(1, 0)], (0..n).collect())
    }

    /// `GatherRows`: `x: [T, D] → y: [n, D]`, `y[i, c] = x[rows_i, c]` (public `rows`).
    pub fn gather_rows(rows: &[usize], seq: usize, dim: usize) -> Result<Self, ProofError> {
        Self::new("GatherRows (zk)", vec![seq, dim], vec![rows.len(), dim], vec![(1, 1)], rows.to_vec())
    }

    /// `RepeatKv`: `x: [H_kv, T, d] → y: [H_kv·g, T, d]`, `y[h, t, c] = x[h / g, t, c]`.
    pub fn repeat_kv(kv_heads: usize, group: usize, rows: usize, head_dim: usize) -> Result<Self, ProofError> {
        let h = kv_heads.checked_mul(group).ok_or_else(|| ProofError::shape("RepeatKv (zk)", "too many heads"))?;
        let map = if group == 0 { Vec::new() } else { (0..h).map(|i| i / group).collect() };
        Self::new("RepeatKv (zk)", vec![kv_heads, rows, head_dim], vec![h, rows, head_dim], vec![(1, 1), (2, 2)], map)
    }

    /// `SliceCols`: `x: [T, C] → y: [T, L]`, `y[t, c] = x[t, start + c]`.
    pub fn slice_cols(rows: usize, cols: usize, start: usize, len: usize) -> Result<Self, ProofError> {
        if start.checked_add(len).is_none_or(|e| e > cols) {
            return Err(ProofError::shape("SliceCols (zk)", "a slice outside the input"));
        }
        Self::new("SliceCols (zk)", vec![rows, cols], vec![rows, len], vec![(0, 0)], (start..start + len).collect())
    }

    /// `ConcatSeq`'s two parts: `past: [H, P, d]`, `new: [H, M, d]` → `y: [H, P + M, d]`,
    /// `y[h, t, c] = past[h, t, c]` for `t < P`, `new[h, t − P, c]` otherwise (partial maps; see
    /// [`prove_concat_zk`]).
    pub fn concat_seq(heads: usize, past: usize, new: usize, head_dim: usize) -> Result<[Self; 2], ProofError> {
        const CAT: &str = "ConcatSeq (zk)";
        let len = past.checked_add(new).ok_or_else(|| ProofError::shape(CAT, "too many rows"))?;
        let out = vec![heads, len, head_dim];
        let kept = vec![(0, 0), (2, 2)];
        Ok([
            Self::new_partial(CAT, vec![heads, past, head_dim], out.clone(), kept.clone(), (0..len).map(|t| (t < past).then_some(t)).collect())?,
            Self::new_partial(CAT, vec![heads, new, head_dim], out, kept, (0..len).map(|t| t.checked_sub(past)).collect())?,
        ])
    }

    /// The op's name in errors.
    pub fn op(&self) -> &'static str {
        self.op
    }

    fn in_vars(&self) -> usize {
        self.in_dims.iter().map(|&d| vars(d)).sum()
    }

    /// Variables of a claim on `y`.
    pub fn claim_vars(&self) -> usize {
        self.out_dims.iter().map(|&d| vars(d)).sum()
    }

    /// Offsets of each dimension's coordinate block in a point over `dims`.
    fn offsets(dims: &[usize]) -> Vec<usize> {
        let mut off = Vec::with_capacity(dims.len());
        let mut o = 0;
        for &d in dims {
            off.push(o);
            o += vars(d);
        }
        off
    }

    fn block<'p>(point: &'p [EF], dims: &[usize], k: usize) -> &'p [EF] {
        let o = Self::offsets(dims)[k];
        &point[o..o + vars(dims[k])]
    }

    fn check(&self, claim: &Claim) -> Result<(), ProofError> {
        if claim.point.len() != self.claim_vars() {
            return Err(ProofError::shape(self.op, "claim point dimension"));
        }
        if output_coeff(&claim.point, 1) == EF::ZERO {
            return Err(ProofError::check(self.op, "a claim at a point with a boolean coordinate"));
        }
        Ok(())
    }

    /// `Σ_{i_m} eq(r_m, i_m)·eq(ρ_m, μ(i_m))` over the moved blocks (`eq_in(m)` the eq weight of
    /// the moved input multi-index `m`).
    fn moved_weights(&self, r: &[EF]) -> Vec<EF> {
        let tables: Vec<Vec<EF>> = self.moved_out.iter().map(|&b| eq_evals(Self::block(r, &self.out_dims, b))).collect();
        let sizes: Vec<usize> = self.moved_out.iter().map(|&b| self.out_dims[b]).collect();
        (0..self.map.len())
            .map(|i| decompose(i, &sizes).iter().zip(&tables).map(|(&k, t)| t[k]).product())
            .collect()
    }

    /// The selector table over `x`'s padded cube.
    fn selector(&self, r: &[EF]) -> Vec<EF> {
        let in_pad: Vec<usize> = self.in_dims.iter().map(|d| d.next_power_of_two()).collect();
        let in_sizes: Vec<usize> = self.moved_in.iter().map(|&a| self.in_dims[a]).collect();
        let moved_pad: Vec<usize> = self.moved_in.iter().map(|&a| in_pad[a]).collect();
        let mut s_m = vec![EF::ZERO; moved_pad.iter().product()];
        for (w, m) in self.moved_weights(r).iter().zip(&self.map) {
            if let Some(m) = *m {
                s_m[compose(&decompose(m, &in_sizes), &moved_pad)] += *w;
            }
        }
        let kept_eq: Vec<(usize, Vec<EF>)> = self.kept.iter().map(|&(a, b)| (a, eq_evals(Self::block(r, &self.out_dims, b)))).collect();
        let total: usize = in_pad.iter().product();
        (0..total)
            .map(|j| {
                let idx = decompose(j, &in_pad);
                let moved: Vec<usize> = self.moved_in.iter().map(|&a| idx[a]).collect();
                kept_eq.iter().map(|(a, e)| e[idx[*a]]).product::<EF>() * s_m[compose(&moved, &moved_pad)]
            })
            .collect()
    }

    /// `Sel̃(ρ)` for the claim point `r` (module docs; the verifier's check).
    pub fn selector_at(&self, r: &[EF], rho: &[EF]) -> EF {
        let kept: EF = self.kept.iter().map(|&(a, b)| eq_eval(Self::block(r, &self.out_dims, b), Self::block(rho, &self.in_dims, a))).product();
        let in_tables: Vec<Vec<EF>> = self.moved_in.iter().map(|&a| eq_evals(Self::block(rho, &self.in_dims, a))).collect();
        let in_sizes: Vec<usize> = self.moved_in.iter().map(|&a| self.in_dims[a]).collect();
        let moved: EF = self
            .moved_weights(r)
            .iter()
            .zip(&self.map)
            .filter_map(|(&w, m)| m.map(|m| w * decompose(m, &in_sizes).iter().zip(&in_tables).map(|(&k, t)| t[k]).product::<EF>()))
            .sum();
        kept * moved
    }

    /// `y` from `x` (both logical, row-major): the op's semantics, for callers and tests.
    pub fn apply(&self, x: &[i64]) -> Result<Vec<i64>, ProofError> {
        if x.len() != self.in_dims.iter().product::<usize>() {
            return Err(ProofError::witness(self.op, "input length"));
        }
        let in_sizes: Vec<usize> = self.moved_in.iter().map(|&a| self.in_dims[a]).collect();
        let out_sizes: Vec<usize> = self.moved_out.iter().map(|&b| self.out_dims[b]).collect();
        let total: usize = self.out_dims.iter().product();
        Ok((0..total)
            .map(|i| {
                let oi = decompose(i, &self.out_dims);
                let mut ii = vec![0; self.in_dims.len()];
                for &(a, b) in &self.kept {
                    ii[a] = oi[b];
                }
                let mo: Vec<usize> = self.moved_out.iter().map(|&b| oi[b]).collect();
                let Some(m) = self.map[compose(&mo, &out_sizes)] else { return 0 };
                for (&a, k) in self.moved_in.iter().zip(decompose(m, &in_sizes)) {
                    ii[a] = k;
                }
                x[compose(&ii, &self.in_dims)]
            })
            .collect())
    }

    /// `x` zero-padded per dimension, as extension elements.
    fn padded_input(&self, x: &[i64]) -> Vec<EF> {
        let in_pad: Vec<usize> = self.in_dims.iter().map(|d| d.next_power_of_two()).collect();
        let mut out = vec![EF::ZERO; in_pad.iter().product()];
        for (i, &v) in x.iter().enumerate() {
            out[compose(&decompose(i, &self.in_dims), &in_pad)] = EF::from(from_i64_unchecked(v));
        }
        out
    }
}

/// The sumcheck mask's shape (round degree 4).
pub fn zk_index_map_mask_shape(map: &ZkIndexMap) -> MaskShape {
    product_mask_shape(map.in_vars(), &terms(), false)
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkIndexMapClaims {
    /// `x̂(ρ)`.
    pub x: Claim,
    /// `(a, w, value)` on `R_y`.
    pub r: (EF, EF, EF),
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

/// Prover: `x` logical row-major; `x_cof(z)` the factor of `v(z_last)` in `x̂ − x` at a full
/// point of `x`; `r_hat(t) = R̂_y(r_0, t)`; `mask` of shape [`zk_index_map_mask_shape`].
pub fn prove_index_map_zk(
    map: &ZkIndexMap,
    x: &[i64],
    claim: &Claim,
    x_cof: &(dyn Fn(&[EF]) -> EF + Sync),
    r_hat: &(dyn Fn(EF) -> EF + Sync),
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkIndexMapClaims, ProofError> {
    map.check(claim)?;
    if x.len() != map.in_dims.iter().product::<usize>() {
        return Err(ProofError::witness(map.op, "input length"));
    }
    prove_with_tables(map, map.padded_input(x), map.selector(&claim.point), claim, x_cof, r_hat, mask, t)
}

/// The sumcheck of [`prove_index_map_zk`] over the given tables `[x, Sel]` (a test hook: a
/// malicious prover substitutes the selector).
#[allow(clippy::too_many_arguments)] // the op's tables and the caller's commitment
fn prove_with_tables(
    map: &ZkIndexMap,
    x: Vec<EF>,
    sel: Vec<EF>,
    claim: &Claim,
    x_cof: &(dyn Fn(&[EF]) -> EF + Sync),
    r_hat: &(dyn Fn(EF) -> EF + Sync),
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
) -> Result<ZkIndexMapClaims, ProofError> {
    let n = map.in_vars();
    let inner = ProductSumcheck::new(vec![Mle::new(x), Mle::new(sel)], terms(), None);
    let hidden = |j: usize, z: &[EF]| if j == 0 { x_cof(z) } else { EF::ZERO };
    let mut inst = ZkProductSumcheck::new(inner, terms(), None, 2, &hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&claim.point, n), r_hat }))
        .map_err(|e| ProofError::sumcheck(map.op, e.to_string()))?;
    let out = prove_product_zk(&mut inst, mask, t);
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(map.op, "no output mask value"))?;
    Ok(ZkIndexMapClaims { x: Claim::new(out.point.clone(), out.values[0]), r: (claim.point[0], out.point[0], e), mask_claims: out.mask_claims })
}

/// Verifier side of [`prove_index_map_zk`].
pub fn verify_index_map_zk(map: &ZkIndexMap, claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkIndexMapClaims, ProofError> {
    map.check(claim)?;
    let n = map.in_vars();
    let out = verify_product_zk_with_output(claim.value, n, &terms(), None, 2, Some(output_coeff(&claim.point, n)), t)
        .map_err(|e| ProofError::sumcheck(map.op, e.to_string()))?;
    if out.values[1] != map.selector_at(&claim.point, &out.point) {
        return Err(ProofError::check(map.op, "the public selector's value is wrong"));
    }
    let e = out.output_mask_value.ok_or_else(|| ProofError::check(map.op, "no output mask value"))?;
    Ok(ZkIndexMapClaims { x: Claim::new(out.point.clone(), out.values[0]), r: (claim.point[0], out.point[0], e), mask_claims: out.mask_claims })
}

/// What both sides of a concatenation end with: each part's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkConcatClaims {
    /// The past rows' part.
    pub past: ZkIndexMapClaims,
    /// The new rows' part.
    pub new: ZkIndexMapClaims,
}

/// The prover's side of one part of a concatenation: the input's cofactor, its `R` table's
/// `t ↦ R̂_k(r_0, t)`, the part's sumcheck mask.
#[allow(missing_debug_implementations)] // prover secrets behind closures
pub struct ZkConcatPart<'a> {
    /// The input's cofactor (as [`prove_index_map_zk`]'s `x_cof`).
    pub x_cof: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `t ↦ R̂_k(r_0, t)`.
    pub r_hat: &'a (dyn Fn(EF) -> EF + Sync),
    /// The part's sumcheck mask ([`zk_index_map_mask_shape`] of its map).
    pub mask: &'a SumcheckMask,
}

/// `ConcatSeq` (module docs, "ConcatSeq"): the output's `R` mask is the sum of one `R` table per
/// part, `ŷ = y + Z·Σ_w (R_1 + R_2)(z_0, w)`; the prover sends the first part's share
/// `v_1 = y_1(r) + Z(r)·Σ_w R_1(r_0, w)` and proves `v_1` and `v − v_1` with the two partial maps.
pub fn prove_concat_zk(maps: &[ZkIndexMap; 2], inputs: [&[i64]; 2], claim: &Claim, parts: [&ZkConcatPart<'_>; 2], t: &mut ProverTranscript) -> Result<ZkConcatClaims, ProofError> {
    for m in maps {
        m.check(claim)?;
    }
    let x0 = maps[0].padded_input(inputs[0]);
    let share = x0.iter().zip(maps[0].selector(&claim.point)).map(|(&a, b)| a * b).sum::<EF>() + output_coeff(&claim.point, 1) * ((parts[0].r_hat)(EF::ZERO) + (parts[0].r_hat)(EF::ONE));
    t.send_ext(share);
    let past = prove_index_map_zk(&maps[0], inputs[0], &Claim::new(claim.point.clone(), share), parts[0].x_cof, parts[0].r_hat, parts[0].mask, t)?;
    let new = prove_index_map_zk(&maps[1], inputs[1], &Claim::new(claim.point.clone(), claim.value - share), parts[1].x_cof, parts[1].r_hat, parts[1].mask, t)?;
    Ok(ZkConcatClaims { past, new })
}

/// Verifier side of [`prove_concat_zk`].
pub fn verify_concat_zk(maps: &[ZkIndexMap; 2], claim: &Claim, t: &mut VerifierTranscript<'_>) -> Result<ZkConcatClaims, ProofError> {
    for m in maps {
        m.check(claim)?;
    }
    let share = t.receive_ext().map_err(|e| ProofError::check(maps[0].op, e.to_string()))?;
    let past = verify_index_map_zk(&maps[0], &Claim::new(claim.point.clone(), share), t)?;
    let new = verify_index_map_zk(&maps[1], &Claim::new(claim.point.clone(), claim.value - share), t)?;
    Ok(ZkConcatClaims { past, new })
}

#[cfg(test)]
#[path = "zk_index_map_tests.rs"]
mod tests;
