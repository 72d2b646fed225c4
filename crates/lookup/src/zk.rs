//! Zero-knowledge fraction-sum GKR: the [`crate::fracaddcheck`] protocol with every message
//! masked, over a leaf layer held in a hiding commitment (issue 13).
//!
//! # Statement
//!
//! One tree of `2^n` leaves `p_i/q_i` (`n ≥ 2`, base-field numerators and denominators
//! committed by the caller in a hiding commitment, see *Leaves* below) and a public value `S`:
//!
//! ```text
//!     Σ_i p_i/q_i = S      with   Π_i q_i ≠ 0.
//! ```
//!
//! [`prove_ext`] / [`verify_ext`] / [`simulate_ext`] run the same protocol on extension-field
//! leaves (`q_0` sent as one `EF` element, under its own label): [`crate::zk_logup`] stacks the
//! witness fractions `1/(α − w)`, the table's `−m/(α − t)` and an `EF`-uniform blinding block
//! into one tree of *virtual* leaves over its committed columns, so that `S = 0`. The verifier
//! ends with one claim on the leaves' *randomised extensions* `P̂, Q̂` at a random point, and
//! claims on the mask polynomials; the caller opens all of them with the hiding PCS.
//!
//! # What the public protocol reveals, and the masks that hide it
//!
//! The public protocol sends the root `(p_0, q_0)` (the sum of a secret subset of fractions, for
//! logUp a function of the multiplicities), per layer the sumcheck rounds (linear functions of
//! the layer), and the children `p_{j+1}(b, s), q_{j+1}(b, s)` (evaluations of the layer's MLE).
//!
//! * **Root.** Only `q_0` is sent (one base-field element: the leaves are base-field values);
//!   `p_0 := S·q_0`. The caller includes one *blinding leaf*
//!   `0/b` with `b` uniform in `F*` (committed like every leaf): adding `0/b` multiplies the
//!   root fraction by `b` (`(p·b + 0·q)/(q·b)`), so `q_0` is uniform in `F*`.
//! * **Layer values.** Layer `j ≥ 1` is replaced by its randomised extension (Libra, Xie et
//!   al. 2019, §4; with the layer-mask trick of Chiesa–Forbes–Spooner's zk sumcheck)
//!
//!   ```text
//!   p̂_j(z) = p_j(z) + v(z_last)·Σ_{w∈{0,1}} R^p_j(z_0, w),      v(t) = t(1 − t),
//!   ```
//!
//!   (same for `q` with `R^q_j`), where `R_j` is a random polynomial, multilinear in `(a, w)`
//!   with uniform `EF` coefficients, and `z_last` is the layer's last variable — except for
//!   layer 1, whose only variable `z_0` is the fold variable: there `z_last` is an extra dummy
//!   variable `y` on which `p_1` does not depend. `p̂_j = p_j` on the hypercube, `p̂_j` is
//!   linear in `z_0` (so folding children at `ρ` still works), and its value off the hypercube
//!   carries the uniform `Σ_w R_j(z_0, w)`. The leaves use the hiding PCS's own randomised
//!   extension `P̂(z) = P(z) + v(z_last)·M_P(z_{<μ})` (`zkinfer_pcs::hiding`, `μ < n` required).
//! * **Sumchecks.** Layer `j ≥ 1`, claim point `r ∈ EF^j` (last coordinate, or `y` for `j = 1`:
//!   `t_j`), proves with one masked sumcheck (`zkinfer_sumcheck::zk`, degree 5) over
//!   `x ∈ {0,1}^j`
//!
//!   ```text
//!   p̂_j(r) + γ·q̂_j(r) = Σ_x eq(r, x)·G_γ(x) + 2^{−(j−1)}·v(t_j)·(R̂^p_j(r_0, x_0) + γ·R̂^q_j(r_0, x_0)),
//!   G_γ(x) = p̂L·q̂R + p̂R·q̂L + γ·q̂L·q̂R,    p̂L(x) = p̂_{j+1}(0, x), …
//!   ```
//!
//!   The first term sums to `p_j(r) + γ·q_j(r)` (on the hypercube `p̂_{j+1} = p_{j+1}`), the
//!   second to the mask part `v(t_j)·Σ_w (R^p_j(r_0, w) + γ·R^q_j(r_0, w))`: the mask of the
//!   claim is paid *inside* the sumcheck, so it is never revealed on its own. Degree 5 in the
//!   last variable (`eq` · two quadratics), 3 in the others. At the sumcheck's point `s` the
//!   prover sends `p̂L, p̂R, q̂L, q̂R` at `s` and `R̂^p_j(r_0, s_0), R̂^q_j(r_0, s_0)` (claims on
//!   the mask commitment, `R̂` its randomised extension); the verifier checks the final value,
//!   draws `ρ` and continues at `(ρ, s)` with the folded children.
//! * **Top.** Layer 0 has no variables: with `γ`, one masked sumcheck of one round (degree 4)
//!   over the dummy `y` proves `p_0 + γ·q_0 = Σ_{y∈{0,1}} ½·G_γ(y)` with `p̂_1(b, y)`; the
//!   children are then `p̂_1(b, y*)`, masked by `R_1`.
//!
//! All masks — one sumcheck mask table per layer (`SumcheckMask`, padded so the hiding PCS's
//! randomised extension leaves its round masks polynomials in the challenge; committed in pieces
//! of 16 rounds beyond 16 rounds) and one `R` table
//! per layer `j ≥ 1` (32 base-field entries: `(pq, c, a, w)`, `c ∈ {0,1}^2` combined by the
//! public `γ = (X, X²)` of `zkinfer_sumcheck::zk` so the coefficients are uniform in `EF`) — are
//! sampled before the proof and committed with the leaves in **one** hiding commitment
//! ([`ZkGkrMasks::tables`]). Every claim on them is on the commitment's randomised extension
//! (the prover folds it in through the `hidden` callback: `M(point)` of the committed
//! polynomial).
//!
//! # Soundness
//!
//! The masks are committed (bound) before any challenge. Layer `j ≥ 1`: `γ` (`1/|EF|`), masked
//! sumcheck (`(1 + 7j)/|EF|`: `j` rounds against a committed mask table whose degree per
//! round is at most `2^3 − 1 = 7`, and `Γ` before `ρ`), the line through `ρ` (`1/|EF|`): a false
//! claim on `(p̂_j, q̂_j)(r)` leaves a false claim on `(p̂_{j+1}, q̂_{j+1})(ρ, s)` or on an `R̂_j`
//! value except with probability `(7j + 3)/|EF|`. Layer 0: if `Σ p_i/q_i ≠ S` then
//! `(S·q_0, q_0)` differs from the true root for every `q_0 ≠ 0` (checked), and `γ`, the
//! one-round sumcheck and `ρ` cost `10/|EF|`. Total `Σ_{j<n}(7j + 3) + 10 ≤ 3.5n² + 7n` over
//! `|EF| ≥ 2^191.9`: `≤ 2^-179` for `n ≤ 40`, plus the hiding PCS's opening error.
//!
//! # Zero knowledge (honest verifier), simulator
//!
//! Given the challenges, the verifier's view is: `q_0`; per layer a masked sumcheck transcript,
//! the four children and (for `j ≥ 1`) two `R̂` values; the leaf claims and openings.
//! * `q_0 = b·Π q_i` is uniform in `F*` (blinding leaf `0/b`, `b` uniform in `F*`; the leaves
//!   are base-field values, so the root is too).
//! * Children of layer `j` at `s`: `p̂_{j+1}(b, s) = p_{j+1}(b, s) + v(s_last)·Σ_w R_{j+1}(b, w)`
//!   for `b = 0, 1`, and later `R̂_{j+1}(ρ, s'_0)`: three linear functionals of `R_{j+1}`'s four
//!   uniform coefficients, independent unless `s'_0 = ½` (rows `[2,1,0,0]`, `[2,1,2,1]`,
//!   `[1, s', ρ, ρs']` in the basis `1, w, a, aw`). So children and `R̂` values are uniform
//!   and independent of the witness (given `v(s_last) ≠ 0`); at the leaves the same holds by
//!   the PCS's mask (`μ ≥ 2` variables including `z_0`: `M(0, ·)` and `M(1, ·)` independent).
//! * Each masked sumcheck is uniform on the affine space fixed by its claim `H` and its final
//!   value (`zkinfer_sumcheck::zk`), both functions of the values above.
//!
//! [`simulate`] produces the view without the witness, in Fiat–Shamir order: `q_0` uniform in `F*`;
//! per layer a masked sumcheck of a *random* instance with the right claim (its final value is
//! then uniform, as the real one is), uniform children and `R̂^q`, and `R̂^p` (or, at layer 0,
//! the last child) solved from the final equation. The openings are the hiding PCS's simulator's
//! business. Statistical distance: `O(n/|EF|)` (the events `v = 0`, `s = ½`, `ρ = 0`).
//! HVZK made non-interactive by Fiat–Shamir (the simulator programs the random oracle).
//!
//! # Cost
//!
//! Per layer `j ≥ 1`: mask tables `32·2^{max(2, ⌈log2 j⌉)}` + 32 base-field entries; wire
//! (besides `q_0`, 8 bytes) `1 + 5j + j + 6` extension elements (`Γ`, five values per round, one mask value per round,
//! four children, two `R̂`) against `2j + 3` in public mode. Layer 0: `1 + 4 + 1 + 4`.
//! The hiding PCS tolerates `2^4` claims per committed polynomial and a layer sumcheck mask gets
//! one claim per round, so a mask of more than 16 rounds is committed in pieces of 16 rounds
//! ([`sumcheck_mask_pieces`]); every mask table then carries at most 16 claims.

use p3_field::ExtensionField;
use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_poly::{eq_eval, eq_evals, next_pow2_vars};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask, gamma as mask_gamma, prove_batched_zk, random_instance, verify_batched_zk};
use zkinfer_sumcheck::{SumcheckClaim, SumcheckInstance};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::fracaddcheck::{
    EqView, FracAddError, Layer, LeafClaim, TreeHalves, eq_line, quadratic_at, suffix_eq_tables,
};

/// Wire degree of the layer sumchecks (`eq` times two quadratics in the last variable).
pub const LAYER_DEGREE: usize = 5;
/// Wire degree of the top (layer 0) sumcheck over the dummy variable.
pub const TOP_DEGREE: usize = 4;
/// Largest depth (that of the public protocol).
pub const MAX_ZK_DEPTH: usize = crate::fracaddcheck::MAX_DEPTH;
/// Round variables of one committed piece of a sumcheck mask: a layer sumcheck mask gets one
/// claim per round and the hiding PCS hides `2^4` claims per committed polynomial, so a mask of
/// more than 16 rounds is committed as `2^{⌈log2 j⌉ − 4}` pieces of 16 rounds (its table's
/// top round bits select the piece).
const PIECE_ROUND_VARS: usize = 4;
/// Variables of a layer's `R` table: `(pq, c_0, c_1, a, w)`.
const R_VARS: usize = 5;

/// A committed polynomial the protocol makes claims on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The leaves' numerators `P`.
    LeafNumerators,
    /// The leaves' denominators `Q`.
    LeafDenominators,
    /// Table `k` of [`ZkGkrMasks::tables`].
    Mask(usize),
}

/// Number of committed pieces of layer `j`'s sumcheck mask.
pub fn sumcheck_mask_pieces(j: usize) -> usize {
    1usize << next_pow2_vars(sumcheck_shape(j).num_rounds).saturating_sub(PIECE_ROUND_VARS)
}

/// Index in [`ZkGkrMasks::tables`] of the first piece of layer `j`'s sumcheck mask (layer `i`
/// owns its pieces, then, for `i ≥ 1`, its `R` table).
pub fn sumcheck_mask_index(j: usize) -> usize {
    (0..j).map(|i| sumcheck_mask_pieces(i) + usize::from(i >= 1)).sum()
}

/// Index in [`ZkGkrMasks::tables`] of layer `j`'s `R` table (`j ≥ 1`).
pub fn layer_mask_index(j: usize) -> usize {
    sumcheck_mask_index(j) + sumcheck_mask_pieces(j)
}

/// Number of mask tables for a tree of depth `n`.
pub fn num_mask_tables(depth: usize) -> usize {
    sumcheck_mask_index(depth)
}

/// The length of every table [`ZkGkrMasks::sample`] draws for a tree of depth `depth`, in
/// [`ZkGkrMasks::tables`] order: a function of the depth only, so a verifier sizes a hiding batch
/// that holds them without sampling.
pub fn mask_table_lens(depth: usize) -> Result<Vec<usize>, FracAddError> {
    check_depth(depth)?;
    let mut lens = vec![0usize; num_mask_tables(depth)];
    for j in 0..depth {
        let shape = sumcheck_shape(j);
        let pieces = sumcheck_mask_pieces(j);
        let len = 1usize << shape.num_vars();
        if pieces == 1 {
            lens[sumcheck_mask_index(j)] = len << sumcheck_pad(shape);
        } else {
            for h in 0..pieces {
                lens[sumcheck_mask_index(j) + h] = len / pieces;
            }
        }
        if j >= 1 {
            lens[layer_mask_index(j)] = 1usize << R_VARS;
        }
    }
    Ok(lens)
}

/// The shape of layer `j`'s sumcheck mask.
fn sumcheck_shape(j: usize) -> MaskShape {
    if j == 0 {
        MaskShape { num_rounds: 1, degree: TOP_DEGREE }
    } else {
        MaskShape { num_rounds: j, degree: LAYER_DEGREE }
    }
}

/// Leading zero variables of a padded sumcheck mask table: enough that the table's first four
/// variables are round bits or padding, so the hiding PCS's mask `M(z_{<4})` is a constant per
/// round (the power variables `r^{2^i}` stay out of it).
fn sumcheck_pad(shape: MaskShape) -> usize {
    2 - next_pow2_vars(shape.num_rounds).min(2)
}

/// Where the value `m_i(r)` of layer `j`'s sumcheck mask is claimed: the mask table (piece) and
/// the point in it. One piece (`≤ 16` rounds): the table padded in front. Several: the piece
/// selected by the round's top bits, at the point without them (its first four variables are
/// the round's low bits).
fn sumcheck_claim_location(j: usize, round: usize, r: EF) -> (usize, Vec<EF>) {
    let shape = sumcheck_shape(j);
    let full = shape.claim_point(round, r);
    let top = next_pow2_vars(shape.num_rounds).saturating_sub(PIECE_ROUND_VARS);
    if top == 0 {
        let mut p = vec![EF::ZERO; sumcheck_pad(shape)];
        p.extend(full);
        (sumcheck_mask_index(j), p)
    } else {
        (sumcheck_mask_index(j) + (round >> PIECE_ROUND_VARS), full[top..].to_vec())
    }
}

/// The point of layer `j`'s `R` table for `R̂^{pq}(a, w)`.
fn layer_mask_point(pq: usize, a: EF, w: EF) -> Vec<EF> {
    let g = mask_gamma();
    vec![if pq == 1 { EF::ONE } else { EF::ZERO }, g[0], g[1], a, w]
}

/// `v(t) = t(1 − t)`: vanishes on `{0, 1}`.
fn vanish(t: EF) -> EF {
    t * (EF::ONE - t)
}

/// `2^{−k}`.
fn inv_pow2(k: usize) -> EF {
    EF::TWO.inverse().exp_u64(k as u64)
}

/// The MLE of a base-field table at an extension point.
fn mle_f(table: &[F], point: &[EF]) -> EF {
    eq_evals(point).iter().zip(table).map(|(&e, &v)| e * v).sum()
}

/// `G_γ = pL·qR + pR·qL + γ·qL·qR`.
fn combine(c: &[EF; 4], gamma: EF) -> EF {
    let [pl, pr, ql, qr] = *c;
    pl * qr + pr * ql + gamma * ql * qr
}

fn fold(c: &[EF; 4], rho: EF) -> (EF, EF) {
    let [pl, pr, ql, qr] = *c;
    (pl + rho * (pr - pl), ql + rho * (qr - ql))
}

/// The random masks of one proof (prover secret): commit [`ZkGkrMasks::tables`] with the leaves,
/// in one hiding batch, and absorb the commitment before [`prove`].
#[derive(Clone)]
pub struct ZkGkrMasks {
    depth: usize,
    /// Per layer `j < n`, its sumcheck mask (before the PCS's randomised extension is folded in).
    sumcheck: Vec<SumcheckMask>,
    /// Per mask index, the table to commit.
    tables: Vec<Vec<F>>,
}

impl std::fmt::Debug for ZkGkrMasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret masks.
        f.debug_struct("ZkGkrMasks").field("depth", &self.depth).finish_non_exhaustive()
    }
}

impl ZkGkrMasks {
    /// Samples the masks for a tree of depth `n` (`2 ≤ n ≤ MAX_ZK_DEPTH`). `rng` must be a
    /// cryptographic generator seeded from unpredictable entropy for zero knowledge to hold.
    pub fn sample<R: Rng + ?Sized>(depth: usize, rng: &mut R) -> Result<Self, FracAddError> {
        check_depth(depth)?;
        let mut sumcheck = Vec::with_capacity(depth);
        let mut tables = vec![Vec::new(); num_mask_tables(depth)];
        for j in 0..depth {
            let shape = sumcheck_shape(j);
            let mask = SumcheckMask::sample(shape, rng).map_err(|e| FracAddError::InvalidStatement(e.to_string()))?;
            let pieces = sumcheck_mask_pieces(j);
            if pieces == 1 {
                let mut table = mask.table().to_vec();
                table.resize(table.len() << sumcheck_pad(shape), F::ZERO);
                tables[sumcheck_mask_index(j)] = table;
            } else {
                // The round index is the table's most significant part: piece h is the h-th
                // contiguous slice.
                let len = mask.table().len() / pieces;
                for (h, piece) in mask.table().chunks_exact(len).enumerate() {
                    tables[sumcheck_mask_index(j) + h] = piece.to_vec();
                }
            }
            sumcheck.push(mask);
            if j >= 1 {
                tables[layer_mask_index(j)] = (0..1usize << R_VARS).map(|_| rng.random::<F>()).collect();
            }
        }
        Ok(Self { depth, sumcheck, tables })
    }

    /// The depth the masks were sampled for.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The tables to commit (hiding), in mask-index order ([`sumcheck_mask_index`],
    /// [`layer_mask_index`]).
    pub fn tables(&self) -> &[Vec<F>] {
        &self.tables
    }

    /// `R^{pq}_j(a, w)` on the committed table (no randomised extension).
    fn r_value(&self, j: usize, pq: usize, a: EF, w: EF) -> EF {
        mle_f(&self.tables[layer_mask_index(j)], &layer_mask_point(pq, a, w))
    }

    /// `Σ_{w∈{0,1}} R^{pq}_j(b, w)`: the mask of `p̂_j` (`pq = 0`) or `q̂_j` at `z_0 = b`.
    fn r_sum(&self, j: usize, pq: usize, b: EF) -> EF {
        self.r_value(j, pq, b, EF::ZERO) + self.r_value(j, pq, b, EF::ONE)
    }
}

fn check_depth(depth: usize) -> Result<(), FracAddError> {
    if !(2..=MAX_ZK_DEPTH).contains(&depth) {
        return Err(FracAddError::InvalidStatement(format!("zk tree depth {depth} outside 2..={MAX_ZK_DEPTH}")));
    }
    Ok(())
}

/// The randomised-extension masks of the hiding commitment: `hidden(poly, z)` returns `M(z_{<μ})`
/// such that the commitment's claims are on `P̂(z) = P(z) + z_last(1 − z_last)·M(z_{<μ})`
/// (`zkinfer_pcs::hiding::HidingProverData::mask_value`).
pub type HiddenMasks<'a> = &'a (dyn Fn(Committed, &[EF]) -> EF + Sync);

/// A claim on a mask table (on the commitment's randomised extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskClaim {
    /// Index in [`ZkGkrMasks::tables`].
    pub mask: usize,
    /// The point (as many coordinates as the table has variables).
    pub point: Vec<EF>,
    /// The claimed value.
    pub value: EF,
}

/// What both sides end with: the claims the caller opens against the hiding commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkGkrClaims {
    /// Claim on the leaves' randomised extensions `P̂`, `Q̂` at one point.
    pub leaf: LeafClaim,
    /// Claims on the mask tables.
    pub masks: Vec<MaskClaim>,
}

/// The leaves of the tree (committed by the caller).
#[derive(Debug, Clone, Copy)]
pub struct ZkLeaves<'a> {
    /// Numerators `p_i`.
    pub numerators: &'a [F],
    /// Denominators `q_i` (same power-of-two length).
    pub denominators: &'a [F],
}

/// The field the leaves (hence the root denominator `q_0`) live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootField {
    /// Base-field leaves ([`prove`]): `q_0` is sent as one base-field element.
    Base,
    /// Extension-field leaves ([`prove_ext`], logUp's `α − w`): `q_0` is sent as one extension
    /// element; the blinding leaf must then be uniform in `EF*`.
    Ext,
}

fn absorb_statement<T: Transcript>(t: &mut T, depth: usize, claimed_sum: EF, root: RootField) {
    match root {
        RootField::Base => t.absorb_public_fields("fracadd-zk/depth", &[F::from_usize(depth)]),
        RootField::Ext => t.absorb_public_fields("fracadd-zk-ext/depth", &[F::from_usize(depth)]),
    }
    t.absorb_public_exts("fracadd-zk/claimed-sum", &[claimed_sum]);
}

/// A deviation of a malicious prover (tests only use it; the honest prover passes `None`s).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tamper {
    /// `(layer, child index, δ, compensate)`: add `δ` to a sent child (and, if `compensate`,
    /// change a second child so that the layer's final equation still holds) and carry on from
    /// the changed claim.
    pub child: Option<(usize, usize, EF, bool)>,
    /// `(layer, round, δ)`: add `δ·t(t − 1)` to a round polynomial (keeps `s(0) + s(1)`).
    pub round: Option<(usize, usize, EF)>,
}

/// The layer-0 instance: `Σ_{y∈{0,1}} ½·G_γ(p̂_1(0, y), p̂_1(1, y), q̂_1(0, y), q̂_1(1, y))`.
struct TopInstance {
    claim: EF,
    gamma: EF,
    /// `[p_1(0), p_1(1), q_1(0), q_1(1)]`.
    values: [EF; 4],
    /// Their masks `Σ_w R_1(b, w)`.
    masks: [EF; 4],
    y: Option<EF>,
    tamper_round: Option<(usize, EF)>,
}

impl TopInstance {
    fn children_at(&self, y: EF) -> [EF; 4] {
        std::array::from_fn(|k| self.values[k] + vanish(y) * self.masks[k])
    }
}

impl SumcheckInstance for TopInstance {
    fn num_vars(&self) -> usize {
        1
    }
    fn degree(&self) -> usize {
        TOP_DEGREE
    }
    fn claimed_sum(&self) -> EF {
        self.claim
    }
    fn round_evals(&self) -> Vec<EF> {
        let half = EF::TWO.inverse();
        (0..=TOP_DEGREE)
            .map(|t| {
                let y = EF::from_usize(t);
                let mut v = half * combine(&self.children_at(y), self.gamma);
                if let Some((0, d)) = self.tamper_round {
                    v += d * y * (y - EF::ONE);
                }
                v
            })
            .collect()
    }
    fn bind(&mut self, r: EF) {
        self.y = Some(r);
    }
    fn final_evals(&self) -> Vec<EF> {
        self.children_at(self.y.unwrap_or(EF::ZERO)).to_vec()
    }
}

/// The layer-`j` instance (`j ≥ 1`), see the module docs.
struct LayerInstance<'a> {
    j: usize,
    claim: EF,
    gamma: EF,
    eq_point: Vec<EF>,
    suffix_eq: Vec<Vec<EF>>,
    eq_prefix: EF,
    halves: TreeHalves,
    /// `v(t_j)`.
    vanish_t: EF,
    /// Mask values of the children in the last round, `[mLp, mRp, mLq, mRq]` (for layer `j + 1 < n`
    /// from `R_{j+1}`; at the leaves from the hiding commitment, filled in at the last round).
    child_masks: Option<[EF; 4]>,
    leaves_below: bool,
    masks: &'a ZkGkrMasks,
    hidden: HiddenMasks<'a>,
    challenges: Vec<EF>,
    tamper_round: Option<(usize, EF)>,
}

impl LayerInstance<'_> {
    /// `R̂^{pq}_j(r_0, w)` (randomised extension of the committed table).
    fn r_hat(&self, pq: usize, w: EF) -> EF {
        let point = layer_mask_point(pq, self.eq_point[0], w);
        self.masks.r_value(self.j, pq, self.eq_point[0], w)
            + vanish(w) * (self.hidden)(Committed::Mask(layer_mask_index(self.j)), &point)
    }

    fn r_hat_batched(&self, w: EF) -> EF {
        self.r_hat(0, w) + self.gamma * self.r_hat(1, w)
    }

    /// The children's masks for the last round.
    fn last_masks(&self) -> [EF; 4] {
        if let Some(m) = self.child_masks {
            return m;
        }
        // Leaves: M((b, s_{<j−1}, t)_{<μ}), independent of t (checked by the prover).
        let at = |which: Committed, b: EF| {
            let mut z = vec![b];
            z.extend(&self.challenges);
            z.push(EF::ZERO);
            (self.hidden)(which, &z)
        };
        [
            at(Committed::LeafNumerators, EF::ZERO),
            at(Committed::LeafNumerators, EF::ONE),
            at(Committed::LeafDenominators, EF::ZERO),
            at(Committed::LeafDenominators, EF::ONE),
        ]
    }

    /// The mask term of round `i` at `t`.
    fn r_term(&self, round: usize, t: EF) -> EF {
        if round == 0 {
            self.vanish_t * self.r_hat_batched(t)
        } else {
            self.vanish_t * self.r_hat_batched(self.challenges[0]) * inv_pow2(round)
        }
    }
}

impl SumcheckInstance for LayerInstance<'_> {
    fn num_vars(&self) -> usize {
        self.j
    }
    fn degree(&self) -> usize {
        LAYER_DEGREE
    }
    fn claimed_sum(&self) -> EF {
        self.claim
    }
    fn round_evals(&self) -> Vec<EF> {
        let round = self.challenges.len();
        let r_i = self.eq_point[round];
        let mut evals: Vec<EF> = if round + 1 < self.j {
            // eq(r_i, t)·h(t) with h quadratic (all variables of this round multilinear).
            let h = self.halves.round_sums(EqView::full(&self.suffix_eq[round]), self.gamma, true);
            (0..=LAYER_DEGREE)
                .map(|t| {
                    let t = EF::from_usize(t);
                    self.eq_prefix * eq_line(r_i, t) * quadratic_at(h, t)
                })
                .collect()
        } else {
            let Some([pl, pr, ql, qr]) = self.halves.ext_slices() else {
                unreachable!("zk layers are explicit extension-field layers")
            };
            let m = self.last_masks();
            let lin = |v: &[EF], t: EF| v[0] + t * (v[1] - v[0]);
            (0..=LAYER_DEGREE)
                .map(|t| {
                    let t = EF::from_usize(t);
                    let vt = vanish(t);
                    let c = [lin(pl, t) + vt * m[0], lin(pr, t) + vt * m[1], lin(ql, t) + vt * m[2], lin(qr, t) + vt * m[3]];
                    self.eq_prefix * eq_line(r_i, t) * combine(&c, self.gamma)
                })
                .collect()
        };
        for (t, e) in evals.iter_mut().enumerate() {
            let t = EF::from_usize(t);
            *e += self.r_term(round, t);
            if let Some((r, d)) = self.tamper_round
                && r == round
            {
                *e += d * t * (t - EF::ONE);
            }
        }
        evals
    }
    fn bind(&mut self, r: EF) {
        let round = self.challenges.len();
        if round + 1 == self.j && self.child_masks.is_none() && self.leaves_below {
            self.child_masks = Some(self.last_masks());
        }
        self.eq_prefix *= eq_line(self.eq_point[round], r);
        self.halves.bind(r);
        self.challenges.push(r);
    }
    fn final_evals(&self) -> Vec<EF> {
        let s_last = *self.challenges.last().unwrap_or(&EF::ZERO);
        let m = self.child_masks.unwrap_or([EF::ZERO; 4]);
        let c = self.halves.first_children();
        let mut out: Vec<EF> = (0..4).map(|k| c[k] + vanish(s_last) * m[k]).collect();
        let s0 = self.challenges.first().copied().unwrap_or(EF::ZERO);
        out.push(self.r_hat(0, s0));
        out.push(self.r_hat(1, s0));
        out
    }
}

/// The sumcheck mask of layer `j` with the hiding commitment's randomised extension folded in
/// (its claims are on `Ĝ`, so each round mask gains `c·X(1 − X)`).
fn extended_sumcheck_mask(masks: &ZkGkrMasks, j: usize, hidden: HiddenMasks<'_>) -> Result<SumcheckMask, FracAddError> {
    let mut mask = masks.sumcheck[j].clone();
    for round in 0..mask.shape().num_rounds {
        let (idx, at_zero) = sumcheck_claim_location(j, round, EF::ZERO);
        let idx = Committed::Mask(idx);
        let c = hidden(idx, &at_zero);
        if hidden(idx, &sumcheck_claim_location(j, round, EF::from_u64(7)).1) != c {
            return Err(FracAddError::InvalidStatement(
                "the hiding commitment's masks involve a sumcheck mask's power variables".into(),
            ));
        }
        mask.add_vanishing_term(round, c).map_err(|e| FracAddError::InvalidStatement(e.to_string()))?;
    }
    Ok(mask)
}

/// Proves `Σ_i p_i/q_i = claimed_sum` in zero knowledge. The caller has committed the leaves and
/// `masks.tables()` in a hiding commitment (whose randomised-extension masks `hidden` returns)
/// and absorbed it into `t`; it opens the returned claims against that commitment.
pub fn prove(
    leaves: ZkLeaves<'_>,
    claimed_sum: EF,
    masks: &ZkGkrMasks,
    hidden: HiddenMasks<'_>,
    t: &mut ProverTranscript,
) -> Result<ZkGkrClaims, FracAddError> {
    prove_with(leaves, claimed_sum, masks, hidden, t, Tamper::default())
}

/// [`prove`] for extension-field leaves (logUp's `α − w`, `crate::zk_logup`): the same
/// protocol, except that `q_0` is sent as an extension element (absorbed under its own label), so
/// the caller's blinding leaf `0/b` must have `b` uniform in `EF*`. The leaves' randomised
/// extensions are whatever `hidden(LeafNumerators | LeafDenominators, z)` describes (it must not
/// depend on `z`'s last coordinate).
pub fn prove_ext(
    numerators: Vec<EF>,
    denominators: Vec<EF>,
    claimed_sum: EF,
    masks: &ZkGkrMasks,
    hidden: HiddenMasks<'_>,
    t: &mut ProverTranscript,
) -> Result<ZkGkrClaims, FracAddError> {
    prove_inner(numerators, denominators, RootField::Ext, claimed_sum, masks, hidden, t, Tamper::default())
}

pub(crate) fn prove_with(
    leaves: ZkLeaves<'_>,
    claimed_sum: EF,
    masks: &ZkGkrMasks,
    hidden: HiddenMasks<'_>,
    t: &mut ProverTranscript,
    tamper: Tamper,
) -> Result<ZkGkrClaims, FracAddError> {
    let lift = |v: &[F]| v.iter().map(|&x| EF::from(x)).collect::<Vec<EF>>();
    prove_inner(lift(leaves.numerators), lift(leaves.denominators), RootField::Base, claimed_sum, masks, hidden, t, tamper)
}

#[allow(clippy::too_many_arguments)]
fn prove_inner(
    numerators: Vec<EF>,
    denominators: Vec<EF>,
    root: RootField,
    claimed_sum: EF,
    masks: &ZkGkrMasks,
    hidden: HiddenMasks<'_>,
    t: &mut ProverTranscript,
    tamper: Tamper,
) -> Result<ZkGkrClaims, FracAddError> {
    let len = denominators.len();
    if !len.is_power_of_two() || numerators.len() != len {
        return Err(FracAddError::InvalidStatement("leaf columns must have one power-of-two length".into()));
    }
    let n = len.trailing_zeros() as usize;
    check_depth(n)?;
    if masks.depth != n {
        return Err(FracAddError::InvalidStatement(format!("masks for depth {}, tree of depth {n}", masks.depth)));
    }
    // The leaf masks must not involve the last variable (else the last round's degree grows).
    let probe: Vec<EF> = (0..n).map(|i| EF::from_usize(i + 3)).collect();
    let mut probe2 = probe.clone();
    probe2[n - 1] = EF::from_u64(1000);
    for which in [Committed::LeafNumerators, Committed::LeafDenominators] {
        if hidden(which, &probe) != hidden(which, &probe2) {
            return Err(FracAddError::InvalidStatement("leaf masks depend on the last variable (tree too shallow for the hiding commitment)".into()));
        }
    }

    // Layers, leaves (n) to root (0).
    let mut layers: Vec<Option<Layer>> = Vec::with_capacity(n + 1);
    layers.push(Some(Layer::Ext { p: Some(numerators), q: denominators }));
    for _ in 0..n {
        let parent = layers.last().and_then(|l| l.as_ref()).map(Layer::parent);
        layers.push(parent);
    }
    layers.reverse();
    let (p0, q0) = match &layers[0] {
        Some(Layer::Ext { p: Some(p), q }) => (p[0], q[0]),
        _ => unreachable!("explicit layers"),
    };
    if q0.is_zero() || p0 != claimed_sum * q0 {
        return Err(FracAddError::InvalidStatement("the leaves do not sum to the claimed value (or a denominator is 0)".into()));
    }

    absorb_statement(t, n, claimed_sum, root);
    match root {
        RootField::Base => {
            // Base-field leaves have a base-field root: q_0 is sent as one base-field element.
            let q0_base = q0.as_base().ok_or_else(|| FracAddError::InvalidStatement("root denominator outside F".into()))?;
            t.send_field(q0_base);
        }
        RootField::Ext => t.send_ext(q0),
    }
    let mut mask_claims = Vec::new();
    let push_sumcheck_claims = |mask_claims: &mut Vec<MaskClaim>, j: usize, claims: &[(Vec<EF>, EF)], rounds: &[EF]| {
        for (round, ((_, value), &r)) in claims.iter().zip(rounds).enumerate() {
            let (mask, point) = sumcheck_claim_location(j, round, r);
            mask_claims.push(MaskClaim { mask, point, value: *value });
        }
    };
    let tamper_child = |j: usize, c: &mut [EF; 4], gamma: EF| {
        if let Some((layer, k, d, compensate)) = tamper.child
            && layer == j
        {
            let [pl, pr, ql, qr] = *c;
            c[k % 4] += d;
            if compensate {
                // Keep pL·qR + pR·qL + γ·qL·qR unchanged with a second child.
                let fix = match k % 4 {
                    0 => (1, -d * qr * ql.inverse()),
                    1 => (0, -d * ql * qr.inverse()),
                    2 => (0, -d * (pr + gamma * qr) * qr.inverse()),
                    _ => (1, -d * (pl + gamma * ql) * ql.inverse()),
                };
                c[fix.0] += fix.1;
            }
        }
    };
    let tamper_round = |j: usize| tamper.round.and_then(|(layer, round, d)| (layer == j).then_some((round, d)));

    // Layer 0: one round over the dummy variable.
    let gamma = t.challenge_ext();
    let Some(Layer::Ext { p: Some(p1), q: q1 }) = &layers[1] else { unreachable!("explicit layers") };
    let mut top = TopInstance {
        claim: (claimed_sum + gamma) * q0,
        gamma,
        values: [p1[0], p1[1], q1[0], q1[1]],
        masks: [masks.r_sum(1, 0, EF::ZERO), masks.r_sum(1, 0, EF::ONE), masks.r_sum(1, 1, EF::ZERO), masks.r_sum(1, 1, EF::ONE)],
        y: None,
        tamper_round: tamper_round(0),
    };
    let mask0 = extended_sumcheck_mask(masks, 0, hidden)?;
    let out = prove_batched_zk(&mut [&mut top], &mask0, t);
    push_sumcheck_claims(&mut mask_claims, 0, &out.mask_claims, &out.inner.point);
    let mut children: [EF; 4] = std::array::from_fn(|k| out.inner.final_evals[0][k]);
    tamper_child(0, &mut children, gamma);
    t.send_exts(&children);
    let rho = t.challenge_ext();
    let mut point = vec![rho];
    let mut vanish_t = vanish(out.inner.point[0]);
    let mut claim = fold(&children, rho);

    for j in 1..n {
        let gamma = t.challenge_ext();
        let layer = layers[j + 1].take().unwrap_or(Layer::Ext { p: None, q: vec![] });
        let leaves_below = j + 1 == n;
        let child_masks = (!leaves_below).then(|| {
            [masks.r_sum(j + 1, 0, EF::ZERO), masks.r_sum(j + 1, 0, EF::ONE), masks.r_sum(j + 1, 1, EF::ZERO), masks.r_sum(j + 1, 1, EF::ONE)]
        });
        let mut inst = LayerInstance {
            j,
            claim: claim.0 + gamma * claim.1,
            gamma,
            suffix_eq: suffix_eq_tables(&point),
            eq_point: point.clone(),
            eq_prefix: EF::ONE,
            halves: TreeHalves::split(layer),
            vanish_t,
            child_masks,
            leaves_below,
            masks,
            hidden,
            challenges: Vec::with_capacity(j),
            tamper_round: tamper_round(j),
        };
        let mask = extended_sumcheck_mask(masks, j, hidden)?;
        let out = prove_batched_zk(&mut [&mut inst], &mask, t);
        push_sumcheck_claims(&mut mask_claims, j, &out.mask_claims, &out.inner.point);
        let finals = &out.inner.final_evals[0];
        let mut children: [EF; 4] = std::array::from_fn(|k| finals[k]);
        tamper_child(j, &mut children, gamma);
        let (rp, rq) = (finals[4], finals[5]);
        t.send_exts(&children);
        t.send_exts(&[rp, rq]);
        let s = out.inner.point;
        for (pq, value) in [(0, rp), (1, rq)] {
            mask_claims.push(MaskClaim { mask: layer_mask_index(j), point: layer_mask_point(pq, point[0], s[0]), value });
        }
        let rho = t.challenge_ext();
        vanish_t = vanish(s[j - 1]);
        point = std::iter::once(rho).chain(s).collect();
        claim = fold(&children, rho);
    }
    Ok(ZkGkrClaims { leaf: LeafClaim { point, numerator: claim.0, denominator: claim.1 }, masks: mask_claims })
}

/// Verifies the zk GKR for a tree of depth `depth` whose leaves sum to `claimed_sum`. The caller
/// must have absorbed the hiding commitment (leaves and masks) before, and must open every
/// returned claim against it.
pub fn verify(depth: usize, claimed_sum: EF, t: &mut VerifierTranscript<'_>) -> Result<ZkGkrClaims, FracAddError> {
    verify_traced(depth, claimed_sum, t).map(|(claims, _)| claims)
}

/// Verifier side of [`prove_ext`] (extension-field leaves, `q_0` an extension element).
pub fn verify_ext(depth: usize, claimed_sum: EF, t: &mut VerifierTranscript<'_>) -> Result<ZkGkrClaims, FracAddError> {
    verify_inner(depth, claimed_sum, RootField::Ext, t).map(|(claims, _)| claims)
}

/// Per layer `j`, the sumcheck point `s` (empty for layer 0) and the children received at it.
pub(crate) type Trace = Vec<(Vec<EF>, [EF; 4])>;

/// [`verify`], also returning what the verifier saw per layer (tests: a distinguisher that knows
/// the witness compares the children with the true layer values).
pub(crate) fn verify_traced(depth: usize, claimed_sum: EF, t: &mut VerifierTranscript<'_>) -> Result<(ZkGkrClaims, Trace), FracAddError> {
    verify_inner(depth, claimed_sum, RootField::Base, t)
}

fn verify_inner(depth: usize, claimed_sum: EF, root: RootField, t: &mut VerifierTranscript<'_>) -> Result<(ZkGkrClaims, Trace), FracAddError> {
    check_depth(depth)?;
    let mut trace = Vec::with_capacity(depth);
    absorb_statement(t, depth, claimed_sum, root);
    let q0 = match root {
        RootField::Base => EF::from(t.receive_field()?),
        RootField::Ext => t.receive_ext()?,
    };
    if q0.is_zero() {
        return Err(FracAddError::LayerMismatch { layer: 0 });
    }
    let sumcheck_err = |layer: usize| move |e: zkinfer_sumcheck::SumcheckError| FracAddError::Sumcheck { layer, msg: e.to_string() };
    let mut mask_claims = Vec::new();
    let push_sumcheck_claims = |mask_claims: &mut Vec<MaskClaim>, j: usize, claims: &[(Vec<EF>, EF)], rounds: &[EF]| {
        for (round, ((_, value), &r)) in claims.iter().zip(rounds).enumerate() {
            let (mask, point) = sumcheck_claim_location(j, round, r);
            mask_claims.push(MaskClaim { mask, point, value: *value });
        }
    };

    let gamma = t.challenge_ext();
    let claim0 = SumcheckClaim { num_vars: 1, degree: TOP_DEGREE, claimed_sum: (claimed_sum + gamma) * q0 };
    let v = verify_batched_zk(&[claim0], sumcheck_shape(0), t).map_err(sumcheck_err(0))?;
    let children: [EF; 4] = t.receive_exts(4)?.try_into().map_err(|_| FracAddError::LayerMismatch { layer: 0 })?;
    v.inner.check_final(&[EF::TWO.inverse() * combine(&children, gamma)]).map_err(|_| FracAddError::LayerMismatch { layer: 0 })?;
    push_sumcheck_claims(&mut mask_claims, 0, &v.mask_claims, &v.inner.point);
    trace.push((vec![], children));
    let rho = t.challenge_ext();
    let mut point = vec![rho];
    let mut vanish_t = vanish(v.inner.point[0]);
    let mut claim = fold(&children, rho);

    for j in 1..depth {
        let gamma = t.challenge_ext();
        let c = SumcheckClaim { num_vars: j, degree: LAYER_DEGREE, claimed_sum: claim.0 + gamma * claim.1 };
        let v = verify_batched_zk(&[c], sumcheck_shape(j), t).map_err(sumcheck_err(j))?;
        let children: [EF; 4] = t.receive_exts(4)?.try_into().map_err(|_| FracAddError::LayerMismatch { layer: j })?;
        let (rp, rq) = (t.receive_ext()?, t.receive_ext()?);
        let s = v.inner.point.clone();
        let expected = eq_eval(&point, &s) * combine(&children, gamma) + inv_pow2(j - 1) * vanish_t * (rp + gamma * rq);
        v.inner.check_final(&[expected]).map_err(|_| FracAddError::LayerMismatch { layer: j })?;
        push_sumcheck_claims(&mut mask_claims, j, &v.mask_claims, &s);
        trace.push((s.clone(), children));
        for (pq, value) in [(0, rp), (1, rq)] {
            mask_claims.push(MaskClaim { mask: layer_mask_index(j), point: layer_mask_point(pq, point[0], s[0]), value });
        }
        let rho = t.challenge_ext();
        vanish_t = vanish(s[j - 1]);
        point = std::iter::once(rho).chain(s).collect();
        claim = fold(&children, rho);
    }
    Ok((ZkGkrClaims { leaf: LeafClaim { point, numerator: claim.0, denominator: claim.1 }, masks: mask_claims }, trace))
}

/// The HVZK simulator: a proof for `(depth, claimed_sum)` made without the leaves, in
/// Fiat–Shamir order (module docs). [`verify`] accepts it; its claims are not openings of any
/// commitment (the hiding PCS's simulator produces those).
pub fn simulate<R: Rng + ?Sized>(depth: usize, claimed_sum: EF, t: &mut ProverTranscript, rng: &mut R) -> Result<(), FracAddError> {
    simulate_inner(depth, claimed_sum, RootField::Base, t, rng, None)
}

/// The children of the leaf layer at the last sumcheck point `s` (`depth − 1` coordinates):
/// `[P̂(0, s), P̂(1, s), Q̂(0, s), Q̂(1, s)]`, drawn by the caller's simulator.
pub type LeafChildren<'a, R> = &'a mut dyn FnMut(&[EF], &mut R) -> [EF; 4];

/// The simulator of [`prove_ext`]: as [`simulate`], with `q_0` uniform in `EF*` (the blinding
/// leaf is uniform in `EF*`) and the leaf layer's children supplied by `leaf_children` (a caller
/// whose leaves are virtual — logUp's `α − w` over committed columns — knows their distribution:
/// functions of independently masked column values at `s`); the rest as in [`simulate`].
pub fn simulate_ext<R: Rng + ?Sized>(
    depth: usize,
    claimed_sum: EF,
    t: &mut ProverTranscript,
    rng: &mut R,
    leaf_children: LeafChildren<'_, R>,
) -> Result<(), FracAddError> {
    simulate_inner(depth, claimed_sum, RootField::Ext, t, rng, Some(leaf_children))
}

fn simulate_inner<R: Rng + ?Sized>(
    depth: usize,
    claimed_sum: EF,
    root: RootField,
    t: &mut ProverTranscript,
    rng: &mut R,
    mut leaf_children: Option<LeafChildren<'_, R>>,
) -> Result<(), FracAddError> {
    check_depth(depth)?;
    absorb_statement(t, depth, claimed_sum, root);
    let nonzero = |rng: &mut R| loop {
        let x: EF = rng.random();
        if !x.is_zero() {
            break x;
        }
    };
    let q0 = match root {
        // Base-field leaves have a base-field root: q_0 = b·Π q_i is uniform in F* (blinding leaf).
        RootField::Base => {
            let q0 = loop {
                let x: F = rng.random();
                if !x.is_zero() {
                    break x;
                }
            };
            t.send_field(q0);
            EF::from(q0)
        }
        // Extension leaves: b uniform in EF*, so q_0 is uniform in EF*.
        RootField::Ext => {
            let q0 = nonzero(rng);
            t.send_ext(q0);
            q0
        }
    };
    let gamma = t.challenge_ext();
    let mut inst = random_instance(1, TOP_DEGREE, (claimed_sum + gamma) * q0, rng);
    let mask = SumcheckMask::sample(sumcheck_shape(0), rng).map_err(|e| FracAddError::InvalidStatement(e.to_string()))?;
    let out = prove_batched_zk(&mut [&mut inst], &mask, t);
    let f = out.inner.final_evals[0][0];
    // ½·(pL·qR + pR·qL + γ·qL·qR) = f, solved for qR.
    let (pl, pr, ql) = (rng.random::<EF>(), rng.random::<EF>(), nonzero(rng));
    let slope = pl + gamma * ql;
    let qr = (f.double() - pr * ql) * slope.try_inverse().ok_or(FracAddError::LayerMismatch { layer: 0 })?;
    let children = [pl, pr, ql, qr];
    t.send_exts(&children);
    let rho = t.challenge_ext();
    let mut point = vec![rho];
    let mut vanish_t = vanish(out.inner.point[0]);
    let mut claim = fold(&children, rho);
    for j in 1..depth {
        let gamma = t.challenge_ext();
        let mut inst = random_instance(j, LAYER_DEGREE, claim.0 + gamma * claim.1, rng);
        let mask = SumcheckMask::sample(sumcheck_shape(j), rng).map_err(|e| FracAddError::InvalidStatement(e.to_string()))?;
        let out = prove_batched_zk(&mut [&mut inst], &mask, t);
        let f = out.inner.final_evals[0][0];
        let s = out.inner.point;
        let children: [EF; 4] = match leaf_children.as_mut() {
            Some(leaf) if j + 1 == depth => leaf(&s, rng),
            _ => std::array::from_fn(|_| rng.random()),
        };
        let rq: EF = rng.random();
        let c = inv_pow2(j - 1) * vanish_t;
        let rp = (f - eq_eval(&point, &s) * combine(&children, gamma)) * c.try_inverse().ok_or(FracAddError::LayerMismatch { layer: j })? - gamma * rq;
        t.send_exts(&children);
        t.send_exts(&[rp, rq]);
        let rho = t.challenge_ext();
        vanish_t = vanish(s[j - 1]);
        point = std::iter::once(rho).chain(s).collect();
        claim = fold(&children, rho);
    }
    Ok(())
}

#[cfg(test)]
#[path = "zk_tests.rs"]
mod tests;
