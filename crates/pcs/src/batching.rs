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
//! so that `Σ_{x∈{0,1}^n} W(x)·P(x) = Σ_j ρ^j v_j =: C`. A degree-2 sumcheck over `x` reduces
//! this to `W(r)·P(r) = C'` at a random `r ∈ EF^n`. Its rounds bind the LEAST significant
//! variable `x_{n−1}` first (the challenge of round `i` is `r_{n−1−i}`): every slot is an aligned
//! block, so for the first `m_k` rounds slot `k` only pairs with itself and the prover works on
//! each claimed slot alone, never materialising `W` (see [`prove`] and [`run_rounds`]: one packed
//! pass over a claimed slot per claim and one more per slot, whatever its size); `W` vanishes off the
//! claimed slots, so unclaimed data is read only once a fully bound slot meets it. The verifier
//! computes `W(r)` itself in `O(Σ_j n)` — each term is a product of
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

use p3_field::{ExtensionField, PackedFieldExtension, PackedValue};
use p3_maybe_rayon::prelude::*;
use zkinfer_poly::ParReduce;
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::packing::PackedLayout;
use crate::{OpeningClaim, PcsError};

/// Rayon work granularity (elements per task) for the linear passes.
const CHUNK: usize = 1 << 12;

/// Absorbs the claims (both sides know them).
pub(crate) fn absorb_claims<T: Transcript>(claims: &[OpeningClaim], t: &mut T) {
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

/// Slots of at least this many variables are contracted ([`contract`]); a smaller slot keeps its
/// evaluations whole (lifted to `EF`) in each claim's table.
const CONTRACT_MIN_VARS: usize = 6;
/// Tables below this many entries are folded and dotted on the calling thread (the rounds then
/// run in parallel over slots instead).
const SEQUENTIAL_BELOW: usize = 1 << 14;

/// SIMD packing of the base field (8 lanes with AVX-512, 4 with AVX2, 1 without SIMD).
type PackedF = <F as Field>::Packing;
/// The matching packing of the extension field (`LANES` extension elements, coefficient-major).
type PackedEF = <EF as ExtensionField<F>>::ExtensionPacking;
/// Lanes per packed element.
const LANES: usize = <PackedF as PackedValue>::WIDTH;

/// How a slot of `m` variables is split: `(h, k)`, its `h` high variables summed out by
/// [`contract`] before the rounds, its `k = m − h` low variables bound by the first `k` rounds on
/// each claim's contracted table.
fn split_vars(m: usize) -> (usize, usize) {
    if m < CONTRACT_MIN_VARS { (0, m) } else { (m / 2, m - m / 2) }
}
/// `Σ_{y∈{0,1}^k} eq(point, y)·(get(y).0, get(y).1)` (`point[0]` ↔ MSB of `y`), with the eq
/// table split in two halves of `2^{k/2}` entries so that nothing of size `2^k` is allocated.
fn eq_dot_pair(point: &[EF], get: impl Fn(usize) -> (EF, EF) + Sync) -> (EF, EF) {
    let low = point.len() / 2;
    let eq_hi = zkinfer_poly::eq_evals(&point[..point.len() - low]);
    let eq_lo = zkinfer_poly::eq_evals(&point[point.len() - low..]);
    eq_hi
        .par_iter()
        .enumerate()
        .map(|(a, &e)| {
            let base = a << low;
            let (mut acc0, mut acc1) = (EF::ZERO, EF::ZERO);
            for (b, &l) in eq_lo.iter().enumerate() {
                let (v0, v1) = get(base + b);
                acc0 += l * v0;
                acc1 += l * v1;
            }
            (e * acc0, e * acc1)
        })
        .par_reduce(|| (EF::ZERO, EF::ZERO), |x, y| (x.0 + y.0, x.1 + y.1))
}

/// `Σ_{y∈{0,1}^k} eq(point, y)·base[y]`: the multilinear extension of `base` (`2^k` entries,
/// `k = point.len()`) at `point` (`point[0]` ↔ MSB), with split eq tables.
pub(crate) fn eq_dot(point: &[EF], base: &[F]) -> EF {
    if point.is_empty() {
        return base.first().map_or(EF::ZERO, |&x| EF::from(x));
    }
    eq_dot_base(point, base, 1)[0]
}

/// `sums[c] = Σ_{y∈{0,1}^k} eq(point, y)·base[y·width + c]` for every `c < width`, with base-field
/// products only (split eq tables, as in [`eq_dot_pair`]).
fn eq_dot_base(point: &[EF], base: &[F], width: usize) -> Vec<EF> {
    let low = point.len() / 2;
    let eq_hi = zkinfer_poly::eq_evals(&point[..point.len() - low]);
    let eq_lo = zkinfer_poly::eq_evals(&point[point.len() - low..]);
    eq_hi
        .par_iter()
        .enumerate()
        .map(|(a, &e)| {
            let mut acc = vec![EF::ZERO; width];
            let rows = &base[(a << low) * width..((a + 1) << low) * width];
            for (row, &l) in rows.chunks_exact(width).zip(&eq_lo) {
                for (dst, &x) in acc.iter_mut().zip(row) {
                    *dst += l * x;
                }
            }
            acc.iter().map(|&v| e * v).collect::<Vec<EF>>()
        })
        .par_reduce(|| vec![EF::ZERO; width], |x, y| x.iter().zip(&y).map(|(&u, &v)| u + v).collect())
}

/// `eq(r, b)` for every `b ∈ {0,1}^k`, where bit `t` of `b` (LSB = bit 0) pairs with `r[t]`:
/// the weights that fold a block of `2^k` consecutive entries with the first `k` challenges of
/// the LSB-first sumcheck.
fn lsb_fold_weights(r: &[EF]) -> Vec<EF> {
    let mut reversed = r.to_vec();
    reversed.reverse();
    zkinfer_poly::eq_evals(&reversed)
}

/// The value of the packed polynomial, with its `k = log2(block.len())` lowest variables bound
/// to `r[..k]` (`r[0]` binds the LSB), over one block of `2^k` base-field entries.
fn fold_block(block: &[F], r: &[EF]) -> EF {
    if block.iter().all(|x| *x == F::ZERO) {
        return EF::ZERO;
    }
    let k = block.len().trailing_zeros() as usize;
    let mut point = r[..k].to_vec();
    point.reverse();
    if point.is_empty() {
        return EF::from(block[0]);
    }
    let last = point.pop().unwrap_or(EF::ZERO);
    let (v0, v1) = eq_dot_pair(&point, |y| (EF::from(block[2 * y]), EF::from(block[2 * y + 1])));
    v0 + last * (v1 - v0)
}

/// `new[v] = t[2v] + r·(t[2v+1] − t[2v])`: binds the lowest variable of an `EF` table.
fn fold_lsb(table: &[EF], r: EF) -> Vec<EF> {
    let mut out = vec![EF::ZERO; table.len() / 2];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, dst)| {
        for (i, d) in dst.iter_mut().enumerate() {
            let v = c * CHUNK + i;
            *d = table[2 * v] + r * (table[2 * v + 1] - table[2 * v]);
        }
    });
    out
}

/// `Q(b) = Σ_{x∈{0,1}^h} eq(high, x)·base[x·2^k + b]` for every `b < 2^k`, `h = high.len()`,
/// `base.len() = 2^(h+k)` (`high[0]` ↔ the MSB of `x`): the slot's evaluations with one claim's
/// eq factor summed out over the high variables, one pass over the base-field entries (packed
/// `EF × F` products; in parallel for large slots). With `h = 0` it is `base` lifted to `EF`.
fn contract(base: &[F], high: &[EF], k: usize) -> Vec<EF> {
    let width = 1usize << k;
    debug_assert_eq!(base.len(), width << high.len());
    if high.is_empty() {
        return base.iter().map(|&x| EF::from(x)).collect();
    }
    let eq = zkinfer_poly::eq_evals(high);
    if width < LANES || !width.is_multiple_of(LANES) {
        let mut q = vec![EF::ZERO; width];
        for (e, block) in eq.iter().zip(base.chunks_exact(width)) {
            for (d, &x) in q.iter_mut().zip(block) {
                *d += *e * x;
            }
        }
        return q;
    }
    let packed_width = width / LANES;
    let accumulate = |mut acc: Vec<PackedEF>, (e, block): (&EF, &[F])| {
        let e = PackedEF::from(*e);
        for (d, &x) in acc.iter_mut().zip(PackedF::pack_slice(block)) {
            *d += e * x;
        }
        acc
    };
    let acc = if base.len() >= SEQUENTIAL_BELOW {
        // Tasks of at least 2^14 entries each.
        let per_task = (SEQUENTIAL_BELOW / width).max(1);
        eq.par_chunks(per_task)
            .zip(base.par_chunks(per_task * width))
            .map(|(es, blocks)| es.iter().zip(blocks.chunks_exact(width)).fold(vec![PackedEF::ZERO; packed_width], accumulate))
            .par_reduce(
                || vec![PackedEF::ZERO; packed_width],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += *y);
                    a
                },
            )
    } else {
        eq.iter().zip(base.chunks_exact(width)).fold(vec![PackedEF::ZERO; packed_width], accumulate)
    };
    <PackedEF as PackedFieldExtension<F, EF>>::to_ext_iter(acc).collect()
}

/// `T(u) = Σ_{b<W} weights[b]·base[u·W + b]` for every `u`, `W = weights.len()`: the slot's
/// evaluations with its `log2 W` lowest variables bound ([`lsb_fold_weights`]).
fn fold_low(base: &[F], weights: &[EF]) -> Vec<EF> {
    let width = weights.len();
    let mut out = vec![EF::ZERO; base.len() / width];
    if width < LANES || !width.is_multiple_of(LANES) {
        for (d, block) in out.iter_mut().zip(base.chunks_exact(width)) {
            *d = weights.iter().zip(block).fold(EF::ZERO, |acc, (&w, &x)| acc + w * x);
        }
        return out;
    }
    let packed: Vec<PackedEF> = weights.chunks_exact(LANES).map(PackedEF::from_ext_slice).collect();
    let fold = |d: &mut EF, block: &[F]| {
        let acc = packed.iter().zip(PackedF::pack_slice(block)).fold(PackedEF::ZERO, |acc, (&w, &x)| acc + w * x);
        *d = (0..LANES).map(|lane| acc.extract(lane)).sum();
    };
    if base.len() >= SEQUENTIAL_BELOW {
        let per_task = (SEQUENTIAL_BELOW / width).max(1);
        out.par_chunks_mut(per_task).zip(base.par_chunks(per_task * width)).for_each(|(ds, blocks)| {
            ds.iter_mut().zip(blocks.chunks_exact(width)).for_each(|(d, b)| fold(d, b));
        });
    } else {
        out.iter_mut().zip(base.chunks_exact(width)).for_each(|(d, b)| fold(d, b));
    }
    out
}

/// `Σ_y eq(point, y)·(table[2y], table[2y+1])` (`table.len() = 2^(point.len()+1)`), on this thread
/// for small tables.
fn pair_dot(point: &[EF], table: &[EF]) -> (EF, EF) {
    if table.len() >= SEQUENTIAL_BELOW {
        return eq_dot_pair(point, |y| (table[2 * y], table[2 * y + 1]));
    }
    let eq = zkinfer_poly::eq_evals(point);
    eq.iter().zip(table.chunks_exact(2)).fold((EF::ZERO, EF::ZERO), |(a0, a1), (&e, pair)| (a0 + e * pair[0], a1 + e * pair[1]))
}

/// `new[v] = t[2v] + r·(t[2v+1] − t[2v])`, on this thread for small tables ([`fold_lsb`]).
fn fold_lsb_any(table: &[EF], r: EF) -> Vec<EF> {
    if table.len() >= SEQUENTIAL_BELOW {
        return fold_lsb(table, r);
    }
    table.chunks_exact(2).map(|p| p[0] + r * (p[1] - p[0])).collect()
}

/// `ρ^j · eq(z_j, ·)` restricted to the variables of `z_j` not bound yet: the coefficient
/// absorbs `eq(z_{j,t}, r)` as each variable is bound.
struct ClaimTerm {
    coeff: EF,
    remaining: Vec<EF>,
    /// While the slot's low variables are bound: the slot's evaluations with this claim's eq
    /// factor summed out over the slot's high variables ([`contract`]) and the low variables
    /// bound so far folded in (`2^(vars − high)` entries). Empty afterwards.
    contracted: Vec<EF>,
}

/// A claimed slot's evaluations at the current level.
enum SlotValues<'a> {
    /// The committed base-field slot, while its low variables are bound on each claim's
    /// contracted table.
    Contracted(&'a [F]),
    /// The slot's evaluations with every bound variable folded in.
    Ext(Vec<EF>),
}

/// A claimed polynomial whose own variables are not all bound yet.
struct LiveSlot<'a> {
    /// Index of the slot's first entry at the current level.
    index: usize,
    /// Local variables left.
    vars: usize,
    /// High variables summed out by [`contract`] (the slot is [`SlotValues::Contracted`] while
    /// `vars > high`).
    high: usize,
    values: SlotValues<'a>,
    terms: Vec<ClaimTerm>,
}

impl LiveSlot<'_> {
    /// The slot's contribution `(s(0), s(2))` to the round polynomial.
    fn round_evals(&self) -> (EF, EF) {
        let mut s0 = EF::ZERO;
        let mut s2 = EF::ZERO;
        for term in &self.terms {
            let (rest, last) = term.remaining.split_at(self.vars - 1);
            let z = last[0];
            let (a0, a1) = match &self.values {
                // The high variables are already summed out with this claim's eq factor.
                SlotValues::Contracted(_) => pair_dot(&rest[self.high..], &term.contracted),
                SlotValues::Ext(t) => pair_dot(rest, t),
            };
            // eq(z, X) at X = 0 is 1 − z, at X = 2 it is 3z − 1; P(·, 2) = 2·P(·, 1) − P(·, 0).
            s0 += term.coeff * (EF::ONE - z) * a0;
            s2 += term.coeff * (EF::from_u64(3) * z - EF::ONE) * (a1.double() - a0);
        }
        (s0, s2)
    }

    /// Binds the slot's lowest variable to `r` (`challenges` holds every challenge so far, `r`
    /// last): `Some((W, P))` once the slot is fully bound.
    fn bind(&mut self, r: EF, challenges: &[EF]) -> Option<(EF, EF)> {
        for term in &mut self.terms {
            let z = term.remaining.pop().unwrap_or(EF::ZERO);
            term.coeff *= z * r + (EF::ONE - z) * (EF::ONE - r);
        }
        self.vars -= 1;
        self.index >>= 1;
        match &mut self.values {
            SlotValues::Ext(table) => *table = fold_lsb_any(table, r),
            SlotValues::Contracted(base) => {
                for term in &mut self.terms {
                    term.contracted = fold_lsb_any(&term.contracted, r);
                }
                if self.vars == self.high {
                    // Every low variable is bound (by the first `m − high` challenges).
                    let table = if self.high == 0 {
                        // Not contracted: each claim's table is the slot itself, now one value.
                        vec![self.terms.first().and_then(|t| t.contracted.first().copied()).unwrap_or(EF::ZERO)]
                    } else {
                        fold_low(base, &lsb_fold_weights(challenges))
                    };
                    for term in &mut self.terms {
                        term.contracted = Vec::new();
                    }
                    self.values = SlotValues::Ext(table);
                }
            }
        }
        if self.vars > 0 {
            return None;
        }
        let w = self.terms.iter().map(|t| t.coeff).fold(EF::ZERO, |a, b| a + b);
        let p = match &self.values {
            SlotValues::Ext(table) => table[0],
            SlotValues::Contracted(base) => EF::from(base[0]),
        };
        Some((w, p))
    }
}

/// Prover: runs the batching sumcheck on the packed evaluations and returns the point `r` (in
/// the packed polynomial's variable order, `x_0` = MSB) at which it must be opened.
///
/// The rounds bind the LEAST significant variable first, so every claimed slot keeps its own
/// aligned block: `W` is never materialised (each claim's eq factor over a slot's high variables
/// is summed out of the slot once, and the rounds over its low variables read only those small
/// tables: [`run_rounds`]), slots are processed in parallel, and unclaimed regions (`W = 0`) are
/// only read once their block meets a claimed one. Once a slot's variables are all bound it is
/// one pair `(W, P)` that merges with its neighbour each round.
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
    let mut terms = Vec::with_capacity(claims.len());
    let mut coeff = EF::ONE;
    for c in claims {
        terms.push(WeightTerm { poly: c.poly, point: c.point.clone(), coeff });
        coeff *= rho;
    }
    run_rounds(layout, packed, terms, t, None).0
}

/// One term `coeff · P_poly(point)` of the batching weight `W`.
#[derive(Clone, Debug)]
pub(crate) struct WeightTerm {
    pub poly: usize,
    pub point: Vec<EF>,
    pub coeff: EF,
}

/// The rounds of the batching sumcheck on `Σ_x W(x)·P(x)` (plus `ρ'·m(x)` with a mask: the
/// masked sumcheck of `zkinfer_sumcheck::zk`, whose `Γ` and `ρ'` the caller has handled).
/// Returns the point (`x_0` first) and the mask values `m_j(r_j)` (empty without a mask).
///
/// Each claimed slot of `m ≥ CONTRACT_MIN_VARS` variables is split into `h = ⌊m/2⌋` high and
/// `k = m − h` low variables. Before the rounds, each of its claims sums its eq factor over the
/// high variables out of the slot ([`contract`]: `Q(b) = Σ_x eq(z_high, x)·P(x, b)`, one packed
/// pass over the base-field slot per claim); the first `k` rounds (which bind the low variables,
/// least significant first) then only read these `2^k`-entry tables, since
/// `Σ_{x,y} eq(z_high, x)·eq(z_mid, y)·P_bound(x, y, X) = Σ_y eq(z_mid, y)·Q_bound(y, X)`.
/// After round `k − 1` the slot's evaluations with its low variables bound are computed once
/// ([`fold_low`], `2^h` entries) and the remaining `h` rounds work on that table. Every value is
/// the same field element the direct computation gives (exact arithmetic), so the proof bytes do
/// not depend on this arrangement (the tests compare it with the direct one).
pub(crate) fn run_rounds(
    layout: &PackedLayout,
    packed: &[F],
    terms: Vec<WeightTerm>,
    t: &mut ProverTranscript,
    mask: Option<(&zkinfer_sumcheck::zk::SumcheckMask, EF)>,
) -> (Vec<EF>, Vec<EF>) {
    let n = layout.num_vars();
    // Group the terms by polynomial.
    let mut by_poly: std::collections::BTreeMap<usize, Vec<ClaimTerm>> = std::collections::BTreeMap::new();
    for term in terms {
        by_poly.entry(term.poly).or_default().push(ClaimTerm { coeff: term.coeff, remaining: term.point, contracted: Vec::new() });
    }
    let mut live: Vec<LiveSlot<'_>> = Vec::new();
    // Fully bound regions at the current level: index → (W, P).
    let mut nodes: std::collections::BTreeMap<usize, (EF, EF)> = std::collections::BTreeMap::new();
    for (poly, terms) in by_poly {
        let m = layout.poly_num_vars(poly).unwrap_or(0);
        let offset = layout.offset(poly);
        let base = &packed[offset..offset + (1usize << m)];
        if m == 0 {
            let w = terms.iter().map(|t| t.coeff).fold(EF::ZERO, |a, b| a + b);
            nodes.insert(offset, (w, EF::from(base[0])));
        } else {
            let (high, _) = split_vars(m);
            live.push(LiveSlot { index: offset, vars: m, high, values: SlotValues::Contracted(base), terms });
        }
    }
    // Every claim's contracted table, slots and claims in parallel.
    live.par_iter_mut().for_each(|slot| {
        let (high, k) = split_vars(slot.vars);
        if let SlotValues::Contracted(base) = slot.values {
            for term in &mut slot.terms {
                term.contracted = contract(base, &term.remaining[..high], k);
            }
        }
    });

    let mut challenges: Vec<EF> = Vec::with_capacity(n);
    let mut mask_acc = EF::ZERO;
    let mut mask_values = Vec::new();
    for level in 0..n {
        let (mut s0, mut s2) = live
            .par_iter()
            .map(LiveSlot::round_evals)
            .par_reduce(|| (EF::ZERO, EF::ZERO), |a, b| (a.0 + b.0, a.1 + b.1));
        // Pairs of fully bound entries (a missing partner is unclaimed: W = 0, P read from the
        // packed evaluations).
        let block = 1usize << level;
        let mut merged = std::collections::BTreeMap::new();
        let mut parents: Vec<usize> = nodes.keys().map(|&i| i >> 1).collect();
        parents.dedup();
        let mut pairs = Vec::with_capacity(parents.len());
        for u in parents {
            let side = |i: usize| {
                nodes.get(&i).copied().unwrap_or_else(|| {
                    (EF::ZERO, fold_block(&packed[i * block..(i + 1) * block], &challenges))
                })
            };
            let (a, b) = (side(2 * u), side(2 * u + 1));
            s0 += a.0 * a.1;
            s2 += (b.0.double() - a.0) * (b.1.double() - a.1);
            pairs.push((u, a, b));
        }
        if let Some((m, rho_m)) = mask {
            let part = m.round_evals(level, mask_acc);
            s0 += rho_m * part[0];
            s2 += rho_m * part[2];
        }
        t.send_exts(&[s0, s2]);
        let r = t.challenge_ext();
        challenges.push(r);
        if let Some((m, _)) = mask {
            let e = m.eval_round(level, r);
            mask_acc += e;
            mask_values.push(e);
        }
        for (u, a, b) in pairs {
            merged.insert(u, (a.0 + r * (b.0 - a.0), a.1 + r * (b.1 - a.1)));
        }
        nodes = merged;

        // Bind the lowest variable of every live slot.
        let bound: Vec<Option<(usize, (EF, EF))>> = live.par_iter_mut().map(|slot| slot.bind(r, &challenges).map(|wp| (slot.index, wp))).collect();
        for (index, wp) in bound.into_iter().flatten() {
            nodes.insert(index, wp);
        }
        live.retain(|slot| slot.vars > 0);
    }
    challenges.reverse();
    (challenges, mask_values)
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
    let mut terms = Vec::with_capacity(claims.len());
    let mut coeff = EF::ONE;
    for c in claims {
        claim += coeff * c.value;
        terms.push(WeightTerm { poly: c.poly, point: c.point.clone(), coeff });
        coeff *= rho;
    }
    let (point, reduced_claim) = verify_rounds(n, claim, t)?;
    let weight_at_point = weight_at(layout, &terms, &point);
    Ok(BatchingOutcome { point, reduced_claim, weight_at_point })
}

/// Verifier side of [`run_rounds`]: replays `n` degree-2 rounds from `claim`; returns the point
/// (`x_0` first) and the reduced claim.
pub(crate) fn verify_rounds(n: usize, mut claim: EF, t: &mut VerifierTranscript<'_>) -> Result<(Vec<EF>, EF), PcsError> {
    let mut point = Vec::with_capacity(n);
    for _ in 0..n {
        let s = t.receive_exts(2)?;
        let (s0, s2) = (s[0], s[1]);
        let s1 = claim - s0;
        let r = t.challenge_ext();
        claim = eval_quadratic(s0, s1, s2, r);
        point.push(r);
    }
    // The rounds bind the least significant variable first.
    point.reverse();
    Ok((point, claim))
}

/// `W(r) = Σ_t coeff_t · eq(s_{k_t}, r_sel) · eq(z_t, r_local)`.
pub(crate) fn weight_at(layout: &PackedLayout, terms: &[WeightTerm], point: &[EF]) -> EF {
    let n = layout.num_vars();
    terms
        .iter()
        .map(|term| {
            let m = term.point.len();
            term.coeff * layout.selector_eq(term.poly, &point[..n - m]) * zkinfer_poly::eq_eval(&term.point, &point[n - m..])
        })
        .sum()
}

/// The rounds as they were computed before the contraction (every claim's eq factor applied to
/// the whole slot each round, two rounds deferred on the base field): the reference the tests
/// compare [`run_rounds`] with, byte for byte.
#[cfg(test)]
pub(crate) mod reference {
    use super::*;

    /// Rounds whose challenges are applied lazily to a slot's base-field evaluations before its
    /// folded table is materialised in `EF` (at `2^{m−DEFERRED_ROUNDS}` entries instead of `2^{m−1}`).
    const DEFERRED_ROUNDS: usize = 2;

    /// `ρ^j · eq(z_j, ·)` restricted to the variables of `z_j` not bound yet: the coefficient
    /// absorbs `eq(z_{j,t}, r)` as each variable is bound.
    struct ClaimTerm {
        coeff: EF,
        remaining: Vec<EF>,
    }

    /// A claimed slot's evaluations at the current level.
    enum SlotValues<'a> {
        /// The committed base-field slot; the first `level` challenges are applied lazily.
        Base(&'a [F]),
        /// Materialised folded table.
        Ext(Vec<EF>),
    }

    /// A claimed polynomial whose own variables are not all bound yet.
    struct LiveSlot<'a> {
        /// Index of the slot's first entry at the current level.
        index: usize,
        /// Local variables left.
        vars: usize,
        values: SlotValues<'a>,
        terms: Vec<ClaimTerm>,
    }

    impl LiveSlot<'_> {
        /// The slot's contribution `(s(0), s(2))` to the round polynomial.
        fn round_evals(&self, fold_weights: &[EF]) -> (EF, EF) {
            let mut s0 = EF::ZERO;
            let mut s2 = EF::ZERO;
            let block = fold_weights.len();
            for term in &self.terms {
                let (rest, last) = term.remaining.split_at(self.vars - 1);
                let z = last[0];
                let (a0, a1) = match &self.values {
                    SlotValues::Base(base) => {
                        // Entry u of the current level is Σ_b w_b·base[u·block + b]: sum the base
                        // entries per offset first (base-field products), then apply the weights.
                        let sums = eq_dot_base(rest, base, 2 * block);
                        let (even, odd) = sums.split_at(block);
                        let apply = |part: &[EF]| fold_weights.iter().zip(part).fold(EF::ZERO, |acc, (&w, &v)| acc + w * v);
                        (apply(even), apply(odd))
                    }
                    SlotValues::Ext(t) => eq_dot_pair(rest, |y| (t[2 * y], t[2 * y + 1])),
                };
                // eq(z, X) at X = 0 is 1 − z, at X = 2 it is 3z − 1; P(·, 2) = 2·P(·, 1) − P(·, 0).
                s0 += term.coeff * (EF::ONE - z) * a0;
                s2 += term.coeff * (EF::from_u64(3) * z - EF::ONE) * (a1.double() - a0);
            }
            (s0, s2)
        }
    }

    /// The rounds of the batching sumcheck on `Σ_x W(x)·P(x)` (plus `ρ'·m(x)` with a mask: the
    /// masked sumcheck of `zkinfer_sumcheck::zk`, whose `Γ` and `ρ'` the caller has handled).
    /// Returns the point (`x_0` first) and the mask values `m_j(r_j)` (empty without a mask).
    pub(crate) fn run_rounds(
        layout: &PackedLayout,
        packed: &[F],
        terms: Vec<WeightTerm>,
        t: &mut ProverTranscript,
        mask: Option<(&zkinfer_sumcheck::zk::SumcheckMask, EF)>,
    ) -> (Vec<EF>, Vec<EF>) {
        let n = layout.num_vars();
        // Group the terms by polynomial.
        let mut by_poly: std::collections::BTreeMap<usize, Vec<ClaimTerm>> = std::collections::BTreeMap::new();
        for term in terms {
            by_poly.entry(term.poly).or_default().push(ClaimTerm { coeff: term.coeff, remaining: term.point });
        }
        let mut live: Vec<LiveSlot<'_>> = Vec::new();
        // Fully bound regions at the current level: index → (W, P).
        let mut nodes: std::collections::BTreeMap<usize, (EF, EF)> = std::collections::BTreeMap::new();
        for (poly, terms) in by_poly {
            let m = layout.poly_num_vars(poly).unwrap_or(0);
            let offset = layout.offset(poly);
            let base = &packed[offset..offset + (1usize << m)];
            if m == 0 {
                let w = terms.iter().map(|t| t.coeff).fold(EF::ZERO, |a, b| a + b);
                nodes.insert(offset, (w, EF::from(base[0])));
            } else {
                live.push(LiveSlot { index: offset, vars: m, values: SlotValues::Base(base), terms });
            }
        }

        let mut challenges: Vec<EF> = Vec::with_capacity(n);
        let mut mask_acc = EF::ZERO;
        let mut mask_values = Vec::new();
        for level in 0..n {
            // Only slots still holding base-field values (the first DEFERRED_ROUNDS rounds) read the
            // weights of the bound variables; later rounds need none (a table of 2^level weights —
            // 3 GiB at level 27 — would otherwise be built every round).
            let base_slots = live.iter().any(|slot| matches!(slot.values, SlotValues::Base(_)));
            let fold_weights = if base_slots { lsb_fold_weights(&challenges) } else { Vec::new() };
            let (mut s0, mut s2) = live
                .iter()
                .map(|slot| slot.round_evals(&fold_weights))
                .fold((EF::ZERO, EF::ZERO), |a, b| (a.0 + b.0, a.1 + b.1));
            // Pairs of fully bound entries (a missing partner is unclaimed: W = 0, P read from the
            // packed evaluations).
            let block = 1usize << level;
            let mut merged = std::collections::BTreeMap::new();
            let mut parents: Vec<usize> = nodes.keys().map(|&i| i >> 1).collect();
            parents.dedup();
            let mut pairs = Vec::with_capacity(parents.len());
            for u in parents {
                let side = |i: usize| {
                    nodes.get(&i).copied().unwrap_or_else(|| {
                        (EF::ZERO, fold_block(&packed[i * block..(i + 1) * block], &challenges))
                    })
                };
                let (a, b) = (side(2 * u), side(2 * u + 1));
                s0 += a.0 * a.1;
                s2 += (b.0.double() - a.0) * (b.1.double() - a.1);
                pairs.push((u, a, b));
            }
            if let Some((m, rho_m)) = mask {
                let part = m.round_evals(level, mask_acc);
                s0 += rho_m * part[0];
                s2 += rho_m * part[2];
            }
            t.send_exts(&[s0, s2]);
            let r = t.challenge_ext();
            challenges.push(r);
            if let Some((m, _)) = mask {
                let e = m.eval_round(level, r);
                mask_acc += e;
                mask_values.push(e);
            }
            for (u, a, b) in pairs {
                merged.insert(u, (a.0 + r * (b.0 - a.0), a.1 + r * (b.1 - a.1)));
            }
            nodes = merged;

            // Bind the lowest variable of every live slot.
            let mut still_live = Vec::with_capacity(live.len());
            for mut slot in live {
                for term in &mut slot.terms {
                    let z = term.remaining.pop().unwrap_or(EF::ZERO);
                    term.coeff *= z * r + (EF::ONE - z) * (EF::ONE - r);
                }
                slot.vars -= 1;
                slot.index >>= 1;
                slot.values = match slot.values {
                    SlotValues::Ext(table) => SlotValues::Ext(fold_lsb(&table, r)),
                    SlotValues::Base(base) if level + 1 < DEFERRED_ROUNDS && slot.vars > 0 => SlotValues::Base(base),
                    SlotValues::Base(base) => {
                        let weights = lsb_fold_weights(&challenges);
                        let width = weights.len();
                        let mut table = vec![EF::ZERO; base.len() / width];
                        table.par_chunks_mut(CHUNK).enumerate().for_each(|(c, dst)| {
                            for (i, d) in dst.iter_mut().enumerate() {
                                let u = c * CHUNK + i;
                                let src = &base[u * width..(u + 1) * width];
                                *d = weights.iter().zip(src).fold(EF::ZERO, |acc, (&w, &x)| acc + w * x);
                            }
                        });
                        SlotValues::Ext(table)
                    }
                };
                if slot.vars == 0 {
                    let w = slot.terms.iter().map(|t| t.coeff).fold(EF::ZERO, |a, b| a + b);
                    let p = match &slot.values {
                        SlotValues::Ext(table) => table[0],
                        SlotValues::Base(base) => EF::from(base[0]),
                    };
                    nodes.insert(slot.index, (w, p));
                } else {
                    still_live.push(slot);
                }
            }
            live = still_live;
        }
        challenges.reverse();
        (challenges, mask_values)
    }
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

    /// Random claims (1–3 per claimed slot, some slots unclaimed, one claim on every slot as an
    /// out-of-domain sample has) on slots of 0 to 15 variables, below and above
    /// `CONTRACT_MIN_VARS`, odd and even, with and without zero padding: the contracted rounds
    /// send the same bytes and reach the same point as the direct ones.
    #[test]
    fn contracted_rounds_equal_the_direct_ones() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        use zkinfer_field::BasedVectorSpace;
        use zkinfer_transcript::DomainSeparator;
        let mut rng = StdRng::seed_from_u64(31);
        let ef = |rng: &mut StdRng| EF::from_basis_coefficients_fn(|_| F::from_u64(rng.random::<u64>()));
        let cases: Vec<Vec<usize>> = vec![
            vec![3, 0, 1, 2],
            vec![5, 6, 7, 0, 0, 4],
            vec![15, 9, 8, 6, 6, 5, 3, 1, 0],
            vec![14, 14, 11, 7, 2],
            vec![12],
        ];
        for (case, sizes) in cases.into_iter().enumerate() {
            let layout = PackedLayout::new(&sizes).expect("layout");
            let n = layout.num_vars();
            let packed: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u64>())).collect();
            let mut packed = packed;
            // The padding beyond the slots is zero, as committed.
            let used: usize = sizes.iter().map(|&m| 1usize << m).sum();
            for (i, v) in packed.iter_mut().enumerate() {
                if !(0..sizes.len()).any(|k| (layout.offset(k)..layout.offset(k) + (1 << sizes[k])).contains(&i)) {
                    *v = F::ZERO;
                }
            }
            assert!(used <= packed.len());
            let mut terms = Vec::new();
            for (k, &m) in sizes.iter().enumerate() {
                let claims = if k % 4 == 3 { 0 } else { 1 + rng.random_range(0..3usize) };
                for _ in 0..claims {
                    terms.push(WeightTerm { poly: k, point: (0..m).map(|_| ef(&mut rng)).collect(), coeff: ef(&mut rng) });
                }
            }
            if case % 2 == 1 {
                for (k, &m) in sizes.iter().enumerate() {
                    terms.push(WeightTerm { poly: k, point: (0..m).map(|_| ef(&mut rng)).collect(), coeff: ef(&mut rng) });
                }
            }
            let ds = DomainSeparator::new("batching-contracted", 1);
            let mut ours = ProverTranscript::new(&ds);
            let (point, _) = run_rounds(&layout, &packed, terms.clone(), &mut ours, None);
            let mut direct = ProverTranscript::new(&ds);
            let (expected, _) = reference::run_rounds(&layout, &packed, terms, &mut direct, None);
            assert_eq!(point, expected, "case {case}");
            assert_eq!(ours.into_proof(), direct.into_proof(), "case {case}");
        }
    }

    /// The helpers' parallel and single-thread paths agree (the rounds of a test-sized batch only
    /// reach the single-thread ones), and the packed contraction equals the scalar sum.
    #[test]
    fn parallel_and_packed_helpers_agree() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        use zkinfer_field::BasedVectorSpace;
        let mut rng = StdRng::seed_from_u64(32);
        let ef = |rng: &mut StdRng| EF::from_basis_coefficients_fn(|_| F::from_u64(rng.random::<u64>()));
        let table: Vec<EF> = (0..1 << 15).map(|_| ef(&mut rng)).collect();
        let point: Vec<EF> = (0..14).map(|_| ef(&mut rng)).collect();
        let eq = zkinfer_poly::eq_evals(&point);
        let direct = eq.iter().zip(table.chunks_exact(2)).fold((EF::ZERO, EF::ZERO), |(a, b), (&e, p)| (a + e * p[0], b + e * p[1]));
        assert_eq!(pair_dot(&point, &table), direct);
        let r = ef(&mut rng);
        let folded: Vec<EF> = table.chunks_exact(2).map(|p| p[0] + r * (p[1] - p[0])).collect();
        assert_eq!(fold_lsb_any(&table, r), folded);
        let base: Vec<F> = (0..1 << 15).map(|_| F::from_u64(rng.random::<u64>())).collect();
        for (h, k) in [(0, 15), (3, 12), (12, 3), (13, 2), (9, 6)] {
            let high: Vec<EF> = (0..h).map(|_| ef(&mut rng)).collect();
            let eq = zkinfer_poly::eq_evals(&high);
            let mut expected = vec![EF::ZERO; 1 << k];
            for (e, block) in eq.iter().zip(base.chunks_exact(1 << k)) {
                for (d, &x) in expected.iter_mut().zip(block) {
                    *d += *e * x;
                }
            }
            assert_eq!(contract(&base, &high, k), expected, "h = {h}, k = {k}");
            let weights: Vec<EF> = (0..1usize << k.min(10)).map(|_| ef(&mut rng)).collect();
            let expected: Vec<EF> = base.chunks_exact(weights.len()).map(|b| weights.iter().zip(b).fold(EF::ZERO, |acc, (&w, &x)| acc + w * x)).collect();
            assert_eq!(fold_low(&base, &weights), expected, "width {}", weights.len());
        }
    }
}
