//! fracaddcheck: a GKR proof of the sums of several lists of fractions.
//!
//! Each *tree* has `2^n` leaves `p_i/q_i` (numerators and denominators in `EF`). Layer `n` is the
//! leaves; layer `j−1` adds the two halves of layer `j` pairwise:
//!
//! ```text
//!   p_{j−1}(x) = p_j(0,x)·q_j(1,x) + p_j(1,x)·q_j(0,x),     q_{j−1}(x) = q_j(0,x)·q_j(1,x)
//! ```
//!
//! so layer 0 is a single fraction `p_0/q_0 = Σ_i p_i/q_i` (never dividing). The first variable
//! (most significant index bit) splits the halves, matching `zkinfer_poly`'s convention.
//!
//! **Protocol (one set of layer proofs for all trees; protocol version 9 / stream version 10).**
//! The prover sends every tree's root `(p_0, q_0)`. The trees are put in *slots*, deepest first
//! (equal depths in input order), so the `m_j` trees active at layer `j` (depth `> j`) are slots
//! `0..m_j`; the slot index `a` has `c_j = ⌈log₂ m_j⌉` bits. View layer `j` of all active trees as
//! ONE multilinear function `V_j(x, a) = (p_{a,j}(x), q_{a,j}(x))` over `x ∈ {0,1}^j` and
//! `a ∈ {0,1}^{c_j}` (zero on slots past `m_j`); `V_j(x, a)` is the pairwise sum of
//! `V_{j+1}(0, x, a)` and `V_{j+1}(1, x, a)` for every active `a` (and `0 = 0·0 + 0·0` on empty
//! slots). The verifier draws `τ ∈ EF^{c_0}` after the roots: the first claim is
//! `(P, Q) = Σ_a eq(τ, a)·root_a`. Going down, a claim `(P, Q) = V_j(r, τ)` becomes a claim on
//! `V_{j+1}`: with a random `γ`, one sumcheck (degree 3, `LayerSumcheck`) over the `j + c_j`
//! variables `(x, a)` proves
//!
//! ```text
//!   P + γ·Q = Σ_{x, a} eq((r, τ), (x, a))·(pL·qR + pR·qL + γ·qL·qR)(x, a)
//! ```
//!
//! with `pL(x, a) = p_{j+1}(0, x, a)` etc. The prover binds `x` first (each tree on its own,
//! weighted by `eq(τ, a)`: the per-tree fast paths below are unchanged), then `a` (over the trees'
//! `2^{c_j}` bound children). Round `i` has the polynomial `s_i(t) = e_i·eq(r_i, t)·h_i(t)`
//! (`e_i = Π_{k<i} eq(r_k, s_k)`, `h_i` quadratic) and the prover sends only `h_i(0), h_i(2)`:
//! the verifier derives `h_i(1)` from the round equation `s_i(0) + s_i(1) = claim_i`; if
//! `r_i·e_i = 0` it cannot, and then `h_i(1)` is sent and the equation checked. At the
//! sumcheck's point `(s, σ)` the prover sends the joint children `pL, pR, qL` (`qR` follows from
//! the final equation `eq((r, τ), (s, σ))·(pL·qR + pR·qL + γ·qL·qR) = final value`, linear in it;
//! it is sent, and the equation checked, only if its coefficient `eq·(pL + γ·qL)` is zero). The
//! verifier draws `ρ`: `(P, Q) = V_{j+1}((ρ, s), σ)` is the line through the children at `ρ`.
//! For each tree whose leaves layer `j+1` is (depth `j + 1`, the slots `m_{j+1}..m_j`) the prover
//! sends its `(p, q)` at `(ρ, s)`: that is its leaf claim (the caller checks it), and the verifier
//! takes `eq(σ, a)·(p, q)` out of `(P, Q)`. When no tree continues, `(P, Q)` must then be `(0, 0)`
//! (checked: otherwise a false root could end in true leaf claims). Otherwise, when the continuing
//! slots need `c' < c_j` bits (they all have their first `c_j − c'` bits zero), both sides drop
//! those coordinates of `σ` and the verifier divides `(P, Q)` by `κ = Π (1 − σ_k)` over them
//! (`eq(σ, a) = κ·eq(σ_low, a)` on those slots; if `κ = 0` nothing is dropped); the next layer
//! starts at `r = (ρ, s)`, `τ = σ` (or `σ_low`). Per layer this sends `2(j + c_j) + 3` extension
//! elements instead of `2j + 4·m_j − 1` (each tree's four children), plus two per tree once.
//!
//! **Soundness.** Layer `j` costs `3(j + c_j)/|EF|` (sumcheck) + `1/|EF|` (`γ`) + `1/|EF|` (the
//! line through `ρ`); the first `τ` `c_0/|EF|` (a false root makes `Σ_a eq(τ, a)·(root_a −
//! true_a)` non-zero except on a hypersurface of degree `c_0`); dropping coordinates and taking
//! out the finished trees are exact identities. Summed over a depth-`D` GKR of `m` trees that is
//! about `(1.5·D² + 3·D·⌈log₂ m⌉)/|EF|` (`|EF| ≈ 2^192`; `D ≤ 40`, `m < 2^16`: below `2^-176`).
//! The sums themselves are exact field identities; what they mean over the integers is the
//! caller's concern (`logup`: the counts stay below the characteristic).
//!
//! **Prover cost.** Building the tree is 3 multiplications per node. The layer sumchecks use the
//! eq-splitting of Gruen ("Some improvements for the PIOP for ZeroCheck"): the round polynomial is
//! `eq(r_i, t)·h(t)` with `h` quadratic, `h(1)` follows from the running claim, so each round
//! evaluates (and sends) only `h(0)` and `h(2)`. The eq factor `eq(r_{>i}, x)` of the round
//! sums is held split, `eq(r_hi, x_hi)·eq(r_lo, x_lo)` (Dao–Thaler; `EqView`): two tables of
//! about `2^{j/2}` entries instead of one of `2^{j−1}`, each row's sum weighted once by its
//! `eq(r_hi, x_hi)`; no full eq table is built, folded or streamed. The two halves of a layer
//! stay in the layer's own vector and are bound in place (the right half into the slots the
//! left half vacates), so no half is copied out. The leaves' first bind is lazy
//! (`Column::BaseBound`): the next round interpolates the base-field leaves at `r0` on the fly
//! and the bind after it applies both challenges, writing a quarter of the leaves' count in
//! extension elements instead of a half. The layers above the leaves are built with
//! packed SIMD products.
//!
//! Base-field leaves `1/(a − w)` (range lookups, [`Denominators::Shifted`]) get three more
//! prover-only shortcuts, each an identity of field elements (so the proof bytes are those of
//! the plain computation; `tests/prover_golden.rs` pins them): the first round over the leaves
//! and its bind run on packed base-field values; the layer above the leaves (not kept, rebuilt
//! for its sumcheck) is held as base-field `s = x + y`, `m = x·y` per node, since
//! `1/(a − x) + 1/(a − y) = (2a − s)/(a² − a·s + m)`, so the first round of its sumcheck needs
//! only four extension-by-base products per term (`TreeHalves::ShiftedPairs`); and the layer two
//! above the leaves is built from those base-field sums and products with constant powers of `a`.
//! Set `ZKINFER_LOOKUP_TIMING` to print the prover's phase times.

use p3_field::{ExtensionField, Field, PackedFieldExtension, PackedValue, PrimeCharacteristicRing};
use p3_maybe_rayon::prelude::*;
use zkinfer_poly::ParReduce;
use zkinfer_field::{EF, F};
use zkinfer_poly::{eq_eval, eq_evals};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

/// Largest tree depth the verifier accepts (2^40 leaves is far beyond anything we prove).
pub const MAX_DEPTH: usize = 40;

/// Work below this many pairs runs sequentially (and unpacked).
const PAR_MIN: usize = 1 << 12;

/// SIMD packing of the extension field (AVX2/AVX-512 lanes of Goldilocks).
type PackedEF = <EF as ExtensionField<F>>::ExtensionPacking;
/// Extension elements per SIMD packing.
const LANES: usize = <<F as Field>::Packing as PackedValue>::WIDTH;

/// Errors of the fraction-sum GKR verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FracAddError {
    /// A transcript read failed (truncated or malformed proof).
    #[error("transcript: {0}")]
    Transcript(#[from] zkinfer_transcript::TranscriptError),
    /// A layer sumcheck failed.
    #[error("layer {layer} sumcheck: {msg}")]
    Sumcheck {
        /// Depth of the layer being reduced.
        layer: usize,
        /// The sumcheck verifier's error.
        msg: String,
    },
    /// The children sent for a layer do not add up to the claim on that layer.
    #[error("layer {layer}: children do not combine to the claimed parent")]
    LayerMismatch {
        /// Depth of the parent layer.
        layer: usize,
    },
    /// The statement itself is malformed (depth too large, no trees).
    #[error("invalid statement: {0}")]
    InvalidStatement(String),
}

/// The numerators of a tree's leaves.
#[derive(Debug, Clone)]
pub enum Numerators {
    /// Every numerator is 1 (the witness side of a lookup); nothing is stored.
    Ones,
    /// Explicit numerators, one per leaf.
    Values(Vec<EF>),
}

/// The denominators of a tree's leaves.
#[derive(Debug, Clone)]
pub enum Denominators {
    /// Explicit denominators, one per leaf.
    Values(Vec<EF>),
    /// `q_i = shift − values[i]` with base-field `values` (range lookups). With
    /// [`Numerators::Ones`], the bottom layer and the first round of its sumcheck run on
    /// base-field values.
    Shifted {
        /// The common shift (the lookup challenge `α`).
        shift: EF,
        /// The base-field values.
        values: Vec<F>,
    },
}

impl Denominators {
    /// Number of leaves.
    pub fn len(&self) -> usize {
        match self {
            Denominators::Values(v) => v.len(),
            Denominators::Shifted { values, .. } => values.len(),
        }
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The denominators as extension-field values.
    pub fn into_ext(self) -> Vec<EF> {
        match self {
            Denominators::Values(v) => v,
            Denominators::Shifted { shift, values } => values
                .par_iter()
                .with_min_len(PAR_MIN)
                .map(|&w| shift - w)
                .collect(),
        }
    }
}

/// The leaves of one tree: `2^n` fractions.
#[derive(Debug, Clone)]
pub struct FractionLeaves {
    /// Numerators `p_i`.
    pub numerators: Numerators,
    /// Denominators `q_i`; the length must be a power of two.
    pub denominators: Denominators,
}

/// A claim on a tree's leaf MLEs, `p(point) = numerator`, `q(point) = denominator`, that the
/// caller must check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafClaim {
    /// The point, `n` coordinates for a tree with `2^n` leaves (MSB first).
    pub point: Vec<EF>,
    /// The claimed value of the numerator MLE at `point`.
    pub numerator: EF,
    /// The claimed value of the denominator MLE at `point`.
    pub denominator: EF,
}

/// What both sides learn: every tree's root fraction and its leaf claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FracAddOutput {
    /// `(p_0, q_0)` per tree: the root fraction, i.e. the sum of the leaves.
    pub roots: Vec<(EF, EF)>,
    /// Per tree, the claim on its leaves.
    pub leaves: Vec<LeafClaim>,
}

/// One layer of a tree.
pub(crate) enum Layer {
    /// Numerators (`None` means all ones) and denominators.
    Ext { p: Option<Vec<EF>>, q: Vec<EF> },
    /// Leaves `1/(shift − w_i)` with base-field `w`.
    ShiftedOnes { shift: EF, w: Vec<F> },
}

impl Layer {
    pub(crate) fn from_leaves(tree: FractionLeaves) -> Layer {
        match (tree.numerators, tree.denominators) {
            (Numerators::Ones, Denominators::Shifted { shift, values }) => {
                Layer::ShiftedOnes { shift, w: values }
            }
            (Numerators::Ones, q) => Layer::Ext {
                p: None,
                q: q.into_ext(),
            },
            (Numerators::Values(p), q) => Layer::Ext {
                p: Some(p),
                q: q.into_ext(),
            },
        }
    }

    /// The layer above: pairwise sums of the two halves.
    pub(crate) fn parent(&self) -> Layer {
        let (p, q) = match self {
            Layer::Ext { p, q } => (p, q),
            Layer::ShiftedOnes { shift, w } => {
                // 1/(a − x) + 1/(a − y) = (2a − (x + y)) / (a² − a·(x + y) + x·y).
                let half = w.len() / 2;
                let (wl, wr) = w.split_at(half);
                let (a, a_sq, two_a) = (*shift, shift.square(), shift.double());
                let (p, q): (Vec<EF>, Vec<EF>) = wl
                    .par_iter()
                    .with_min_len(PAR_MIN)
                    .zip(wr)
                    .map(|(&x, &y)| {
                        let sum = x + y;
                        (two_a - sum, a_sq - a * sum + x * y)
                    })
                    .unzip();
                return Layer::Ext { p: Some(p), q };
            }
        };
        let half = q.len() / 2;
        let (ql, qr) = q.split_at(half);
        let pairs = p.as_ref().map(|p| p.split_at(half));
        if half >= PAR_MIN {
            // SIMD: LANES entries at a time (`half` is a power of two ≥ PAR_MIN ≥ LANES).
            let ld = |v: &[EF], x: usize| PackedEF::from_ext_slice(&v[x..x + LANES]);
            let mut p_out = EF::zero_vec(half);
            let mut q_out = EF::zero_vec(half);
            p_out
                .par_chunks_mut(LANES)
                .zip(q_out.par_chunks_mut(LANES))
                .enumerate()
                .with_min_len(PAR_MIN / LANES)
                .for_each(|(chunk, (p_dst, q_dst))| {
                    let x = chunk * LANES;
                    let (a, b) = (ld(ql, x), ld(qr, x));
                    (a * b).to_ext_slice(q_dst);
                    match pairs {
                        None => (a + b).to_ext_slice(p_dst),
                        Some((pl, pr)) => (ld(pl, x) * b + ld(pr, x) * a).to_ext_slice(p_dst),
                    }
                });
            return Layer::Ext {
                p: Some(p_out),
                q: q_out,
            };
        }
        let q: Vec<EF> = ql.iter().zip(qr).map(|(&a, &b)| a * b).collect();
        let p: Vec<EF> = match pairs {
            None => ql.iter().zip(qr).map(|(&a, &b)| a + b).collect(),
            Some((pl, pr)) => (0..half).map(|i| pl[i] * qr[i] + pr[i] * ql[i]).collect(),
        };
        Layer::Ext { p: Some(p), q }
    }

    /// The layer two above a [`Layer::ShiftedOnes`] leaf layer of at least 4 leaves, computed
    /// without holding the layer in between (`None` for any other layer): the prover drops that
    /// layer (24 bytes per leaf, the largest of the tree) and recomputes it from the leaves when
    /// its sumcheck comes ([`prove`]). Same values as `self.parent().parent()`.
    pub(crate) fn grandparent_of_shifted(&self) -> Option<Layer> {
        let Layer::ShiftedOnes { shift, w } = self else {
            return None;
        };
        let quarter = w.len() / 4;
        if quarter < LANES || quarter % LANES != 0 {
            return None;
        }
        // Node k of this layer adds layer-above nodes k and k + quarter, i.e. leaves
        // (k, k + half) and (k + quarter, k + quarter + half). With the pair form of
        // `parent_halves_of_shifted` (sL, mL for the first pair, sR, mR for the second) and
        // S = sL + sR, M + P = mL + mR + sL·sR, X = sL·mR + mL·sR, Y = mL·mR (base field):
        //   p = pL·qR + pR·qL = 4a³ − 3a²·S + 2a·(M + P) − X,
        //   q = qL·qR        = a⁴ − a³·S + a²·(M + P) − a·X + Y,
        // the same field elements as the products of the extension-field pairs.
        type PF = <F as Field>::Packing;
        let a = *shift;
        let (a2, a3) = (a.square(), a.square() * a);
        let consts = [a2.square(), a3, a2, a, a3.double().double(), a2.double() + a2, a.double()].map(PackedEF::from);
        let [a4_p, a3_p, a2_p, a_p, four_a3_p, three_a2_p, two_a_p] = consts;
        let half = 2 * quarter;
        let ld = |x: usize| *<PF as PackedValue>::from_slice(&w[x..x + LANES]);
        let mut p_out = EF::zero_vec(quarter);
        let mut q_out = EF::zero_vec(quarter);
        p_out
            .par_chunks_mut(LANES)
            .zip(q_out.par_chunks_mut(LANES))
            .enumerate()
            .with_min_len((PAR_MIN / LANES).max(1))
            .for_each(|(chunk, (p_dst, q_dst))| {
                let k = chunk * LANES;
                let (x_l, y_l, x_r, y_r) = (ld(k), ld(k + half), ld(k + quarter), ld(k + quarter + half));
                let (sl, ml, sr, mr) = (x_l + y_l, x_l * y_l, x_r + y_r, x_r * y_r);
                let (big_s, mp, big_x, big_y) = (sl + sr, ml + mr + sl * sr, sl * mr + ml * sr, ml * mr);
                (four_a3_p - three_a2_p * big_s + two_a_p * mp - PackedEF::from(big_x)).to_ext_slice(p_dst);
                (a4_p - a3_p * big_s + a2_p * mp - a_p * big_x + PackedEF::from(big_y)).to_ext_slice(q_dst);
            });
        Some(Layer::Ext { p: Some(p_out), q: q_out })
    }

    /// The two halves of the layer above a [`Layer::ShiftedOnes`] leaf layer of at least 4
    /// leaves, computed from the leaves (`None` for any other layer), in the base-field form
    /// [`TreeHalves::ShiftedPairs`]: node `i` of that layer is
    /// `1/(a − x) + 1/(a − y) = (2a − s)/(a² − a·s + m)` with `s = x + y`, `m = x·y` in `F`, so the
    /// halves are held as four base-field columns (8 bytes per entry instead of 24) and the first
    /// round of their sumcheck runs on base-field products. The same MLEs as
    /// `TreeHalves::split(self.parent())` ([`TreeHalves::to_ext`] gives exactly those vectors);
    /// [`prove`] rebuilds the dropped layer this way when its sumcheck comes.
    pub(crate) fn parent_halves_of_shifted(&self) -> Option<TreeHalves> {
        let Layer::ShiftedOnes { shift, w } = self else {
            return None;
        };
        let half = w.len() / 2;
        let quarter = half / 2;
        if quarter == 0 {
            return None;
        }
        let (lo, hi) = w.split_at(half);
        // Node i of the layer above (i < half) pairs leaves i and i + half.
        let sums_products = |range: std::ops::Range<usize>| -> (Vec<F>, Vec<F>) {
            let (x, y) = (&lo[range.clone()], &hi[range]);
            let s = x.par_iter().with_min_len(PAR_MIN).zip(y).map(|(&x, &y)| x + y).collect();
            let m = x.par_iter().with_min_len(PAR_MIN).zip(y).map(|(&x, &y)| x * y).collect();
            (s, m)
        };
        let (sl, ml) = sums_products(0..quarter);
        let (sr, mr) = sums_products(quarter..half);
        Some(TreeHalves::ShiftedPairs { shift: *shift, sl, ml, sr, mr })
    }

    /// The fraction at index 0 (the root, for a one-entry layer).
    fn first(&self) -> (EF, EF) {
        match self {
            Layer::Ext { p, q } => (p.as_ref().map_or(EF::ONE, |p| p[0]), q[0]),
            Layer::ShiftedOnes { shift, w } => (EF::ONE, *shift - w[0]),
        }
    }
}

/// `Σ_a γ^{2a}·(p_a + γ·q_a)` (tests: a layer sumcheck's claim).
#[cfg(test)]
fn batch_claims(claims: &[(EF, EF)], gamma: EF) -> EF {
    let gamma_sq = gamma.square();
    let mut weight = EF::ONE;
    let mut acc = EF::ZERO;
    for &(p, q) in claims {
        acc += weight * (p + gamma * q);
        weight *= gamma_sq;
    }
    acc
}

/// `Σ_a γ^{2a}·(pL·qR + pR·qL + γ·qL·qR)` over the children `[pL, pR, qL, qR]` of each tree.
fn batch_children(children: &[[EF; 4]], gamma: EF) -> EF {
    let gamma_sq = gamma.square();
    let mut weight = EF::ONE;
    let mut acc = EF::ZERO;
    for &[pl, pr, ql, qr] in children {
        acc += weight * (pl * qr + pr * ql + gamma * ql * qr);
        weight *= gamma_sq;
    }
    acc
}

/// `γ^{2(n−1)}`: the batching weight of the last of `n` active trees.
fn last_weight(gamma: EF, active: usize) -> EF {
    gamma.square().exp_u64(active.saturating_sub(1) as u64)
}

/// The coefficient of the last tree's `qR` in `eq(r, s)·Σ_a w_a·(pL·qR + pR·qL + γ·qL·qR)_a`:
/// `eq(r, s)·w_last·(pL + γ·qL)`. When non-zero, that `qR` is not sent but solved for.
fn last_qr_slope(eq_rs: EF, gamma: EF, active: usize, children: &[EF; 4]) -> EF {
    let [pl, _, ql, _] = *children;
    eq_rs * last_weight(gamma, active) * (pl + gamma * ql)
}

/// The verifier's view of a tree's children at a point: `(p, q)` on the line at `ρ`.
fn fold_children(c: &[EF; 4], rho: EF) -> (EF, EF) {
    let [pl, pr, ql, qr] = *c;
    (pl + rho * (pr - pl), ql + rho * (qr - ql))
}

/// Proves the root of every tree. Tree `k` with `2^{n_k}` leaves ends with a claim on its leaf
/// MLEs at a point of `n_k` coordinates; the returned claims are exactly what the verifier gets.
///
/// # Panics
/// If a tree's length is not a power of two or its numerators have a different length
/// (programming errors of the caller, which builds the leaves itself).
pub fn prove(trees: Vec<FractionLeaves>, t: &mut ProverTranscript) -> FracAddOutput {
    prove_with_roots(trees, t, |_| {})
}

/// [`prove`], with `edit` applied to the roots before they are sent (the identity for the honest
/// prover; tests play a prover that claims false roots and proves everything else honestly).
pub(crate) fn prove_with_roots(trees: Vec<FractionLeaves>, t: &mut ProverTranscript, edit: impl FnOnce(&mut [(EF, EF)])) -> FracAddOutput {
    let depths: Vec<usize> = trees
        .iter()
        .map(|tree| {
            let n = tree.denominators.len();
            assert!(
                n.is_power_of_two(),
                "fracaddcheck: tree size {n} is not a power of two"
            );
            if let Numerators::Values(p) = &tree.numerators {
                assert_eq!(
                    p.len(),
                    n,
                    "fracaddcheck: numerators and denominators differ in length"
                );
            }
            n.trailing_zeros() as usize
        })
        .collect();
    let mut clock = crate::timing::Clock::start();
    // layers[k][j] is layer j of tree k (0 = root).
    let mut layers: Vec<Vec<Option<Layer>>> = trees
        .into_par_iter()
        .zip(depths.par_iter())
        .map(|(tree, &n)| {
            let leaves = Layer::from_leaves(tree);
            // Base-field leaves: the layer above them is not kept (see
            // `Layer::grandparent_of_shifted`), it is rebuilt from the leaves when needed.
            let mut stack: Vec<Option<Layer>> = match leaves.grandparent_of_shifted() {
                Some(grand) => vec![Some(leaves), None, Some(grand)],
                None => vec![Some(leaves)],
            };
            while stack.len() < n + 1 {
                let parent = stack.last().and_then(|l| l.as_ref()).map(Layer::parent);
                stack.push(parent);
            }
            stack.reverse();
            stack
        })
        .collect();

    clock.lap(|| format!("gkr: build layers ({} trees, depths {depths:?})", depths.len()));
    let mut roots: Vec<(EF, EF)> = layers
        .iter()
        .map(|tree| tree[0].as_ref().map_or((EF::ONE, EF::ONE), Layer::first))
        .collect();
    edit(&mut roots);
    for &(p, q) in &roots {
        t.send_ext(p);
        t.send_ext(q);
    }

    let mut claims = roots.clone();
    let mut point: Vec<EF> = Vec::new();
    let mut leaves: Vec<Option<LeafClaim>> = vec![None; depths.len()];
    for (k, &n) in depths.iter().enumerate() {
        if n == 0 {
            leaves[k] = Some(LeafClaim {
                point: vec![],
                numerator: claims[k].0,
                denominator: claims[k].1,
            });
        }
    }
    // Slot `a` of the tree index holds tree `order[a]`: deepest first, so the trees active at
    // layer `j` are the first `m_j` slots.
    let order = slot_order(&depths);
    let max_depth = depths.iter().copied().max().unwrap_or(0);
    let mut tau: Vec<EF> = (0..index_vars(active_count(&depths, 0))).map(|_| t.challenge_ext()).collect();
    for j in 0..max_depth {
        let active: Vec<usize> = order[..active_count(&depths, j)].to_vec();
        // Take layer j+1 of every active tree, split into its halves.
        let halves: Vec<TreeHalves> = active
            .iter()
            .map(|&k| match layers[k][j + 1].take() {
                Some(layer) => TreeHalves::split(layer),
                // The layer above base-field leaves, dropped after the build: rebuilt now, as
                // its two halves.
                None => {
                    let below = layers[k].get(j + 2).and_then(|l| l.as_ref());
                    below.and_then(Layer::parent_halves_of_shifted).unwrap_or_else(|| {
                        TreeHalves::split(below.map_or(Layer::Ext { p: None, q: vec![] }, Layer::parent))
                    })
                }
            })
            .collect();
        clock.lap(|| format!("gkr: layer {j} halves"));
        let gamma = t.challenge_ext();
        // Slot weights eq(τ, a) and the layer's claim Σ_a eq(τ, a)·(p_a(r) + γ·q_a(r)).
        let weights: Vec<EF> = (0..active.len()).map(|a| eq_at_slot(&tau, a)).collect();
        let claim: EF = active.iter().zip(&weights).map(|(&k, &w)| w * (claims[k].0 + gamma * claims[k].1)).sum();
        // Phase 1: the layer's own variables, every tree weighted by its slot's eq(τ, a).
        let mut inst = LayerSumcheck::new(point.clone(), gamma, claim, weights, halves, EF::ONE);
        let s_x = inst.prove(t);
        let per_tree = inst.children();
        // Phase 2: the tree-index variables, over the children of the slots (zero past the
        // active ones), continuing the same sumcheck.
        let width = 1usize << tau.len();
        let column = |i: usize| -> Vec<EF> {
            let mut v = EF::zero_vec(width);
            for (a, c) in per_tree.iter().enumerate() {
                v[a] = c[i];
            }
            v
        };
        let cat = |mut a: Vec<EF>, b: Vec<EF>| {
            a.extend(b);
            a
        };
        let slots = TreeHalves::Ext { p: Some(cat(column(0), column(1))), q: cat(column(2), column(3)) };
        let mut index = LayerSumcheck::new(tau.clone(), gamma, inst.claim, vec![EF::ONE], vec![slots], inst.eq_prefix);
        let s_a = index.prove(t);
        let joint = index.children()[0];
        let eq_rs = eq_eval(&point, &s_x) * eq_eval(&tau, &s_a);
        if last_qr_slope(eq_rs, gamma, 1, &joint).is_zero() {
            t.send_exts(&joint);
        } else {
            t.send_exts(&joint[..3]);
        }
        clock.lap(|| format!("gkr: layer {j} sumcheck"));
        let rho = t.challenge_ext();
        point = std::iter::once(rho).chain(s_x).collect();
        for (c, &k) in per_tree.iter().zip(&active) {
            claims[k] = fold_children(c, rho);
        }
        // Trees whose leaves this layer is: their values at the point are sent (the slots
        // after the next layer's active ones).
        let next = active_count(&depths, j + 1);
        for &k in &active[next..] {
            t.send_ext(claims[k].0);
            t.send_ext(claims[k].1);
            leaves[k] = Some(LeafClaim {
                point: point.clone(),
                numerator: claims[k].0,
                denominator: claims[k].1,
            });
        }
        tau = shrink_index_point(s_a, next);
    }
    let leaves = leaves
        .into_iter()
        .map(|l| {
            l.unwrap_or(LeafClaim {
                point: vec![],
                numerator: EF::ZERO,
                denominator: EF::ZERO,
            })
        })
        .collect();
    FracAddOutput { roots, leaves }
}

/// Number of trees deeper than `j` (active at layer `j`).
fn active_count(depths: &[usize], j: usize) -> usize {
    depths.iter().filter(|&&d| d > j).count()
}

/// `⌈log₂ m⌉`: the tree-index variables for `m` active trees (0 for one tree or none).
fn index_vars(m: usize) -> usize {
    m.max(1).next_power_of_two().trailing_zeros() as usize
}

/// The trees in slot order: by depth, deepest first, equal depths in input order.
fn slot_order(depths: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..depths.len()).collect();
    order.sort_by(|&a, &b| depths[b].cmp(&depths[a]).then(a.cmp(&b)));
    order
}

/// `eq(τ, a)` for slot `a` (MSB first over `τ.len()` bits).
fn eq_at_slot(tau: &[EF], a: usize) -> EF {
    let c = tau.len();
    tau.iter()
        .enumerate()
        .map(|(k, &x)| if (a >> (c - 1 - k)) & 1 == 1 { x } else { EF::ONE - x })
        .product()
}

/// The dropped coordinates' factor when `next` active trees need fewer index variables than
/// `sigma` has: `κ = Π (1 − σ_k)` over the first `|σ| − index_vars(next)` coordinates (the slots
/// `a < 2^{c'}` have those bits zero, so `eq(σ, a) = κ·eq(σ_low, a)`). `None` when no shrink is
/// due or `κ = 0` (then both sides keep all of `σ`).
fn shrink_factor(sigma: &[EF], next: usize) -> Option<(usize, EF)> {
    let keep = index_vars(next);
    if keep >= sigma.len() {
        return None;
    }
    let drop = sigma.len() - keep;
    let kappa: EF = sigma[..drop].iter().map(|&x| EF::ONE - x).product();
    (!kappa.is_zero()).then_some((drop, kappa))
}

/// The next layer's tree-index point: `σ` without the coordinates [`shrink_factor`] drops.
fn shrink_index_point(sigma: Vec<EF>, next: usize) -> Vec<EF> {
    match shrink_factor(&sigma, next) {
        Some((drop, _)) => sigma[drop..].to_vec(),
        None => sigma,
    }
}

/// Verifies the GKR for trees of the given depths (`2^{depths[k]}` leaves each), reading the
/// proof from `t`. Returns the roots (to be checked by the caller, e.g. that they cancel) and the
/// leaf claims (to be checked by the caller against the leaves it can evaluate).
pub fn verify(
    depths: &[usize],
    t: &mut VerifierTranscript<'_>,
) -> Result<FracAddOutput, FracAddError> {
    if depths.is_empty() {
        return Err(FracAddError::InvalidStatement("no trees".into()));
    }
    if let Some(&d) = depths.iter().find(|&&d| d > MAX_DEPTH) {
        return Err(FracAddError::InvalidStatement(format!(
            "depth {d} > {MAX_DEPTH}"
        )));
    }
    let mut roots = Vec::with_capacity(depths.len());
    for _ in depths {
        let p = t.receive_ext()?;
        let q = t.receive_ext()?;
        roots.push((p, q));
    }
    let mut point: Vec<EF> = Vec::new();
    let mut leaves: Vec<Option<LeafClaim>> = depths
        .iter()
        .zip(&roots)
        .map(|(&n, &(p, q))| {
            (n == 0).then(|| LeafClaim {
                point: vec![],
                numerator: p,
                denominator: q,
            })
        })
        .collect();
    let order = slot_order(depths);
    let max_depth = depths.iter().copied().max().unwrap_or(0);
    let mut tau: Vec<EF> = (0..index_vars(active_count(depths, 0))).map(|_| t.challenge_ext()).collect();
    // The running claim (P, Q) = Σ_a eq(τ, a)·(p_a, q_a) over the active slots' layer MLEs at
    // `point`; at the top, over the roots.
    let (mut big_p, mut big_q) = order[..active_count(depths, 0)]
        .iter()
        .enumerate()
        .fold((EF::ZERO, EF::ZERO), |(p, q), (a, &k)| {
            let w = eq_at_slot(&tau, a);
            (p + w * roots[k].0, q + w * roots[k].1)
        });
    for j in 0..max_depth {
        let active = &order[..active_count(depths, j)];
        let gamma = t.challenge_ext();
        let full_point: Vec<EF> = point.iter().chain(&tau).copied().collect();
        let (s, expected) = verify_layer_rounds(&full_point, big_p + gamma * big_q, t)
            .map_err(|msg| FracAddError::Sumcheck { layer: j, msg })?;
        // The joint children [pL, pR, qL, qR] at (s_x, σ); qR follows from the final equation
        // eq((r, τ), (s_x, σ))·(pL·qR + pR·qL + γ·qL·qR) = expected, linear in it.
        let (pl, pr, ql) = (t.receive_ext()?, t.receive_ext()?, t.receive_ext()?);
        let eq_rs = eq_eval(&full_point, &s);
        let slope = last_qr_slope(eq_rs, gamma, 1, &[pl, pr, ql, EF::ZERO]);
        let joint = if slope.is_zero() {
            let c = [pl, pr, ql, t.receive_ext()?];
            if eq_rs * batch_children(&[c], gamma) != expected {
                return Err(FracAddError::LayerMismatch { layer: j });
            }
            c
        } else {
            [pl, pr, ql, (expected - eq_rs * pr * ql) * slope.inverse()]
        };
        let rho = t.challenge_ext();
        let (s_x, sigma) = s.split_at(j);
        point = std::iter::once(rho).chain(s_x.iter().copied()).collect();
        (big_p, big_q) = fold_children(&joint, rho);
        // Trees whose leaves this layer is: their values are sent and taken out of the claim.
        let next = active_count(depths, j + 1);
        for (a, &k) in active.iter().enumerate().skip(next) {
            let (p, q) = (t.receive_ext()?, t.receive_ext()?);
            let w = eq_at_slot(sigma, a);
            (big_p, big_q) = (big_p - w * p, big_q - w * q);
            leaves[k] = Some(LeafClaim {
                point: point.clone(),
                numerator: p,
                denominator: q,
            });
        }
        if next == 0 {
            // No tree continues: the leaf values sent must account for the whole claim.
            if !big_p.is_zero() || !big_q.is_zero() {
                return Err(FracAddError::LayerMismatch { layer: j });
            }
        } else if let Some((drop, kappa)) = shrink_factor(sigma, next) {
            // The continuing slots a < 2^{c'} have eq(σ, a) = κ·eq(σ_low, a).
            let inv = kappa.inverse();
            (big_p, big_q) = (big_p * inv, big_q * inv);
            tau = sigma[drop..].to_vec();
            continue;
        }
        tau = sigma.to_vec();
    }
    let leaves = leaves
        .into_iter()
        .map(|l| l.ok_or_else(|| FracAddError::InvalidStatement("tree without leaf claim".into())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FracAddOutput { roots, leaves })
}

/// Both halves of a column in one vector (left half first), starting in the base field and
/// moving to the extension field when first bound. Binding the first variable of each half
/// keeps that layout: the left half is bound in place, the right half into the slots the left
/// half vacated (`bind_halves`), so no half is ever copied out or allocated separately.
pub(crate) enum Column {
    Base(Vec<F>),
    /// Base-field halves whose first variable is bound to `r0` lazily: the values are
    /// `[L(r0, ·) | R(r0, ·)]` with `[L | R] = v`. The leaves' first bind would write
    /// `|v|/2` extension elements (three times the leaves' bytes, all fresh pages); instead the
    /// next round's sums interpolate at `r0` on the fly (`shifted_sums_lazy_packed`) and the
    /// next bind applies `r0` and `r1` together, writing half as much. Same field elements.
    BaseBound { v: Vec<F>, r0: EF },
    Ext(Vec<EF>),
}

impl Column {
    /// `[left[0], right[0]]` as extension elements.
    fn firsts(&self) -> [EF; 2] {
        match self {
            Column::Base(v) => [EF::from(v[0]), EF::from(v[v.len() / 2])],
            Column::BaseBound { v, r0 } => {
                let (h, q) = (v.len() / 2, v.len() / 4);
                let lerp = |a: F, b: F| *r0 * (b - a) + a;
                [lerp(v[0], v[q]), lerp(v[h], v[h + q])]
            }
            Column::Ext(v) => [v[0], v[v.len() / 2]],
        }
    }

    fn bind(&mut self, r: EF) {
        match self {
            Column::Ext(v) => bind_halves(v, r),
            // Large enough that the next round is a packed one: bind lazily.
            Column::Base(v) if v.len() / 8 >= PAR_MIN && (v.len() / 8).is_multiple_of(LANES) => {
                *self = Column::BaseBound { v: std::mem::take(v), r0: r };
            }
            Column::Base(v) => *self = Column::Ext(bind_base_halves(v, r)),
            Column::BaseBound { v, r0 } => *self = Column::Ext(bind_base_halves_twice(v, *r0, r)),
        }
    }
}

/// `[L(r0, r1, ·) | R(r0, r1, ·)]` of base-field halves `v = [L | R]`: both first variables
/// bound in one pass (`L(r0, r1, x) = lerp_{r1}(lerp_{r0}(L[x], L[x+2q]), lerp_{r0}(L[x+q], L[x+3q]))`,
/// `q = |v|/8`), the same field elements as two single binds.
fn bind_base_halves_twice(v: &[F], r0: EF, r1: EF) -> Vec<EF> {
    let h = v.len() / 2;
    let q = h / 4;
    let mut bound = EF::zero_vec(2 * q);
    for (side, dst) in bound.chunks_mut(q.max(1)).enumerate().take(2) {
        let src = &v[side * h..(side + 1) * h];
        if q >= PAR_MIN && q.is_multiple_of(LANES) {
            type PF = <F as Field>::Packing;
            let ld = |x: usize| *<PF as PackedValue>::from_slice(&src[x..x + LANES]);
            let pr0 = PackedEF::from(r0);
            dst.par_chunks_mut(LANES).enumerate().with_min_len(PAR_MIN / LANES).for_each(|(c, dst)| {
                let x = c * LANES;
                let (a, b, c2, d) = (ld(x), ld(x + 2 * q), ld(x + q), ld(x + 3 * q));
                let (l0, l1) = (pr0 * (b - a) + a, pr0 * (d - c2) + c2);
                (l0 + (l1 - l0) * r1).to_ext_slice(dst);
            });
        } else {
            let lerp = |a: F, b: F| r0 * (b - a) + a;
            for (x, d) in dst.iter_mut().enumerate() {
                let (l0, l1) = (lerp(src[x], src[x + 2 * q]), lerp(src[x + q], src[x + 3 * q]));
                *d = l0 + r1 * (l1 - l0);
            }
        }
    }
    bound
}

/// The concatenated halves `[L | R]` of base-field values (each half an MLE whose first
/// variable splits it), both bound at `r`: `[L(r, ·) | R(r, ·)]` in the extension field.
fn bind_base_halves(v: &[F], r: EF) -> Vec<EF> {
    let half = v.len() / 2;
    let quarter = half / 2;
    let mut bound = EF::zero_vec(half);
    for (side, dst) in bound.chunks_mut(quarter.max(1)).enumerate().take(2) {
        let src = &v[side * half..(side + 1) * half];
        let (lo, hi) = src.split_at(quarter);
        if quarter >= PAR_MIN {
            // SIMD: LANES entries at a time (`quarter` is a power of two ≥ PAR_MIN ≥ LANES).
            type PF = <F as Field>::Packing;
            let pr = PackedEF::from(r);
            dst.par_chunks_mut(LANES).enumerate().with_min_len(PAR_MIN / LANES).for_each(|(c, dst)| {
                let x = c * LANES;
                let (a, b) = (*<PF as PackedValue>::from_slice(&lo[x..x + LANES]), *<PF as PackedValue>::from_slice(&hi[x..x + LANES]));
                (pr * (b - a) + a).to_ext_slice(dst);
            });
        } else {
            for ((d, &a), &b) in dst.iter_mut().zip(lo).zip(hi) {
                *d = r * (b - a) + a;
            }
        }
    }
    bound
}

/// `[L | R] ← [L(r, ·) | R(r, ·)]` in place: `L` is bound into its own first half, then `R`
/// (read from the vector's second half) into the slots `L` vacated; the vector halves in length.
fn bind_halves(v: &mut Vec<EF>, r: EF) {
    let half = v.len() / 2;
    let quarter = half / 2;
    let (left, right) = v.split_at_mut(half);
    bind_into(left, r, None);
    let (_, dst) = left.split_at_mut(quarter);
    bind_into(right, r, Some(dst));
    v.truncate(half);
}

/// `dst[i] = lo[i] + r·(hi[i] − lo[i])` over the two halves `lo`, `hi` of `src`; `dst` is `lo`
/// itself when `None`.
fn bind_into(src: &mut [EF], r: EF, dst: Option<&mut [EF]>) {
    let half = src.len() / 2;
    let (lo, hi) = src.split_at_mut(half);
    let step = |a: &[EF], b: &[EF], out: &mut [EF]| {
        if a.len() == LANES {
            let (pa, pb) = (PackedEF::from_ext_slice(a), PackedEF::from_ext_slice(b));
            (pa + (pb - pa) * r).to_ext_slice(out);
        } else {
            for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                *o = a + r * (b - a);
            }
        }
    };
    let parallel = half >= PAR_MIN;
    match dst {
        None if parallel => {
            // SIMD: LANES entries at a time (`half` is a power of two ≥ PAR_MIN ≥ LANES).
            lo.par_chunks_mut(LANES).zip(hi.par_chunks(LANES)).with_min_len(PAR_MIN / LANES).for_each(|(a, b)| {
                let pa = PackedEF::from_ext_slice(a);
                (pa + (PackedEF::from_ext_slice(b) - pa) * r).to_ext_slice(a);
            });
        }
        None => {
            for (a, &b) in lo.iter_mut().zip(hi.iter()) {
                *a += r * (b - *a);
            }
        }
        Some(out) if parallel => {
            out.par_chunks_mut(LANES)
                .zip(lo.par_chunks(LANES).zip(hi.par_chunks(LANES)))
                .with_min_len(PAR_MIN / LANES)
                .for_each(|(o, (a, b))| step(a, b, o));
        }
        Some(out) => step(lo, hi, out),
    }
}

/// The two halves of one tree's layer `j+1`, as MLEs over `j` variables, each pair of halves
/// held as one vector `[left | right]` (the layer's own vector: splitting moves, never copies).
pub(crate) enum TreeHalves {
    /// `p = [pL | pR]` (`None` when all numerators are 1) and `q = [qL | qR]`.
    Ext { p: Option<Vec<EF>>, q: Vec<EF> },
    /// Numerators 1, denominators `shift − w` with `w = [wL | wR]`.
    ShiftedOnes { shift: EF, w: Column },
    /// The layer above base-field leaves ([`Layer::parent_halves_of_shifted`]): each half as
    /// `p = 2a − s`, `q = a² − a·s + m` (`a = shift`) with base-field `s`, `m`. Binding the
    /// first variable turns it into [`TreeHalves::Ext`] (`p`, `q` are affine in `s`, `m` with
    /// constant coefficients, so binding commutes with that map: the same values as binding
    /// the extension-field halves).
    ShiftedPairs { shift: EF, sl: Vec<F>, ml: Vec<F>, sr: Vec<F>, mr: Vec<F> },
}

/// The two halves of `v`.
fn halves_of<T>(v: &[T]) -> (&[T], &[T]) {
    v.split_at(v.len() / 2)
}

impl TreeHalves {
    pub(crate) fn split(layer: Layer) -> Self {
        match layer {
            Layer::Ext { p, q } => TreeHalves::Ext { p, q },
            Layer::ShiftedOnes { shift, w } => TreeHalves::ShiftedOnes { shift, w: Column::Base(w) },
        }
    }

    /// Explicit extension-field halves from separate vectors (tests).
    #[cfg(test)]
    pub(crate) fn from_ext_halves(p: Option<(Vec<EF>, Vec<EF>)>, ql: Vec<EF>, qr: Vec<EF>) -> Self {
        let cat = |mut a: Vec<EF>, b: Vec<EF>| {
            a.extend(b);
            a
        };
        TreeHalves::Ext { p: p.map(|(l, r)| cat(l, r)), q: cat(ql, qr) }
    }

    /// The extension-field halves `[pL, pR, qL, qR]` as slices (`None` for the other forms, or
    /// without explicit numerators).
    pub(crate) fn ext_slices(&self) -> Option<[&[EF]; 4]> {
        match self {
            TreeHalves::Ext { p: Some(p), q } => {
                let ((pl, pr), (ql, qr)) = (halves_of(p), halves_of(q));
                Some([pl, pr, ql, qr])
            }
            _ => None,
        }
    }

    /// `[pL, pR, qL, qR]` once every variable is bound (or for a 2-leaf layer).
    pub(crate) fn first_children(&self) -> [EF; 4] {
        match self {
            TreeHalves::Ext { p, q } => {
                let [pl, pr] = p.as_ref().map_or([EF::ONE, EF::ONE], |p| [p[0], p[p.len() / 2]]);
                [pl, pr, q[0], q[q.len() / 2]]
            }
            TreeHalves::ShiftedOnes { shift, w } => {
                let [wl, wr] = w.firsts();
                [EF::ONE, EF::ONE, *shift - wl, *shift - wr]
            }
            TreeHalves::ShiftedPairs { shift, sl, ml, sr, mr } => {
                let a = *shift;
                let (p, q) = (|s: F| a.double() - s, |s: F, m: F| a.square() - a * s + m);
                [p(sl[0]), p(sr[0]), q(sl[0], ml[0]), q(sr[0], mr[0])]
            }
        }
    }

    /// The halves as extension-field vectors `[pL, pR, qL, qR]` (tests compare the base-field
    /// forms with the extension-field halves through it).
    #[cfg(test)]
    pub(crate) fn to_ext(&self) -> [Vec<EF>; 4] {
        match self {
            TreeHalves::Ext { p, q } => {
                let (ql, qr) = halves_of(q);
                let (pl, pr) = p.as_ref().map_or_else(|| (vec![EF::ONE; ql.len()], vec![EF::ONE; qr.len()]), |p| {
                    let (l, r) = halves_of(p);
                    (l.to_vec(), r.to_vec())
                });
                [pl, pr, ql.to_vec(), qr.to_vec()]
            }
            TreeHalves::ShiftedOnes { shift, w } => {
                let q: Vec<EF> = match w {
                    Column::Base(v) => v.iter().map(|&w| *shift - w).collect(),
                    Column::BaseBound { v, r0 } => bind_base_halves(v, *r0).iter().map(|&w| *shift - w).collect(),
                    Column::Ext(v) => v.iter().map(|&w| *shift - w).collect(),
                };
                let (ql, qr) = halves_of(&q);
                [vec![EF::ONE; ql.len()], vec![EF::ONE; qr.len()], ql.to_vec(), qr.to_vec()]
            }
            TreeHalves::ShiftedPairs { shift, sl, ml, sr, mr } => {
                let a = *shift;
                let p = |s: &[F]| s.iter().map(|&s| a.double() - s).collect();
                let q = |s: &[F], m: &[F]| s.iter().zip(m).map(|(&s, &m)| a.square() - a * s + m).collect();
                [p(sl), p(sr), q(sl, ml), q(sr, mr)]
            }
        }
    }

    /// `Σ_x E[x]·g(t, x)` for `t = 0`, `t = 1` (only if `with_one`, else 0) and `t = 2`, where
    /// `g = pL·qR + qL·(pR + γ·qR)` and `x` runs over the first `half = eq.len()` indices.
    pub(crate) fn round_sums(&self, eq: EqView<'_>, gamma: EF, with_one: bool) -> [EF; 3] {
        match self {
            TreeHalves::Ext { p, q } => {
                let (ql, qr) = halves_of(q);
                ext_round_sums(p.as_deref().map(halves_of), ql, qr, eq, gamma, with_one)
            }
            TreeHalves::ShiftedOnes { shift, w } => {
                // g = qL + qR + γ·qL·qR with q = a − w:
                //   g = (2a + γa²) − (1 + γa)·(wL + wR) + γ·wL·wR,
                // and Σ_x E[x] = 1, so Σ E·g = A − B·Σ E·(wL + wR) + γ·Σ E·wL·wR.
                let sums = match w {
                    Column::Base(v) => {
                        let (l, r) = halves_of(v);
                        if eq.packed() { shifted_sums_base_packed(l, r, eq, with_one) } else { shifted_sums(l, r, eq, with_one) }
                    }
                    Column::Ext(v) => {
                        let (l, r) = halves_of(v);
                        if eq.packed() { shifted_sums_packed(l, r, eq, with_one) } else { shifted_sums(l, r, eq, with_one) }
                    }
                    Column::BaseBound { v, r0 } if eq.packed() && v.len() == 8 * eq.len() => shifted_sums_lazy_packed(v, *r0, eq, with_one),
                    Column::BaseBound { v, r0 } => {
                        // Not reached (lazy binds are made only for packed next rounds); correct anyway.
                        let bound = bind_base_halves(v, *r0);
                        let (l, r) = halves_of(&bound);
                        shifted_sums(l, r, eq, with_one)
                    }
                };
                shifted_h(sums, *shift, gamma, with_one)
            }
            TreeHalves::ShiftedPairs { shift, sl, ml, sr, mr } => {
                // With pX = 2a − sX, qX = a² − a·sX + mX and S = sL + sR, M = mL + mR,
                // P = sL·sR, X = sL·mR + mL·sR, Y = mL·mR:
                //   pL·qR + pR·qL = 4a³ − 3a²·S + 2a·(M + P) − X,
                //   qL·qR = a⁴ − a³·S + a²·(M + P) − a·X + Y,
                // so g = pL·qR + pR·qL + γ·qL·qR is a fixed combination of S, M + P, X, Y, and
                // (Σ_x E[x] = 1) Σ E·g needs only the four base-field-weighted sums.
                let sums = pair_sums([sl, ml, sr, mr], eq, with_one);
                let a = *shift;
                let (a2, a3) = (a.square(), a.square() * a);
                let c_one = a3.double().double() + gamma * a2.square();
                let c_s = a2.double() + a2 + gamma * a3;
                let c_mp = a.double() + gamma * a2;
                let c_x = EF::ONE + gamma * a;
                let mut h = sums.map(|[s, mp, x, y]| c_one - c_s * s + c_mp * mp - c_x * x + gamma * y);
                if !with_one {
                    h[1] = EF::ZERO;
                }
                h
            }
        }
    }

    pub(crate) fn bind(&mut self, r: EF) {
        match self {
            TreeHalves::Ext { p, q } => {
                bind_halves(q, r);
                if let Some(p) = p {
                    bind_halves(p, r);
                }
            }
            TreeHalves::ShiftedOnes { w, .. } => w.bind(r),
            TreeHalves::ShiftedPairs { shift, sl, ml, sr, mr } => {
                let (p, q) = bind_pairs(*shift, [sl, ml, sr, mr], r);
                *self = TreeHalves::Ext { p: Some(p), q };
            }
        }
    }

    /// [`TreeHalves::bind`], and where the bound halves are extension-field vectors large enough
    /// for the packed sums, the next round's [`TreeHalves::round_sums`] for `eq` (its table)
    /// computed in the same pass ([`bind_halves_with_sums`]); `None` when only bound (the
    /// caller then takes the sums from `round_sums`). The same field elements either way.
    pub(crate) fn bind_with_sums(&mut self, r: EF, eq: EqView<'_>, gamma: EF, with_one: bool) -> Option<[EF; 3]> {
        let n = 8 * eq.len();
        if !eq.packed() {
            self.bind(r);
            return None;
        }
        match self {
            TreeHalves::Ext { p, q } if q.len() == n && p.as_ref().is_none_or(|p| p.len() == n) => Some(match p {
                Some(p) => bind_halves_with_sums(&mut [p, q], r, eq, |v, e| ext_terms_packed(Some(v[0]), v[1], e, gamma, with_one)),
                None => bind_halves_with_sums(&mut [q], r, eq, |v, e| ext_terms_packed(None, v[0], e, gamma, with_one)),
            }),
            TreeHalves::ShiftedOnes { shift, w: Column::Ext(v) } if v.len() == n => {
                let sums = bind_halves_with_sums(&mut [v], r, eq, |v, e| {
                    let [l0, l1, r0, r1] = v[0];
                    shifted_terms_packed(l0, l1, r0, r1, e, with_one)
                });
                Some(shifted_h(pairs_of(sums), *shift, gamma, with_one))
            }
            _ => {
                self.bind(r);
                None
            }
        }
    }
}

/// [`TreeHalves::ShiftedOnes`]' round values from its weighted sums `(Σ E·(wL + wR), Σ E·wL·wR)`
/// at `t = 0, 1, 2` (see [`TreeHalves::round_sums`]).
fn shifted_h(sums: [(EF, EF); 3], shift: EF, gamma: EF, with_one: bool) -> [EF; 3] {
    let a = shift;
    let big_a = a.double() + gamma * a.square();
    let big_b = EF::ONE + gamma * a;
    let mut h = sums.map(|(sum, prod)| big_a - big_b * sum + gamma * prod);
    if !with_one {
        h[1] = EF::ZERO;
    }
    h
}

/// `([pL | pR], [qL | qR])` of [`TreeHalves::ShiftedPairs`] halves `[sL, mL, sR, mR]` with the
/// first variable bound to `r`: `s' = s(r, ·)`, `m' = m(r, ·)`, then `p = 2a − s'`,
/// `q = a² − a·s' + m'` per half.
fn bind_pairs(a: EF, cols: [&[F]; 4], r: EF) -> (Vec<EF>, Vec<EF>) {
    let half = cols[0].len() / 2;
    let (two_a, a_sq) = (a.double(), a.square());
    let mut p = EF::zero_vec(2 * half);
    let mut q = EF::zero_vec(2 * half);
    let (pl, pr) = p.split_at_mut(half);
    let (ql, qr) = q.split_at_mut(half);
    for ((s, m), (p, q)) in [((cols[0], cols[1]), (pl, ql)), ((cols[2], cols[3]), (pr, qr))] {
        if half >= PAR_MIN {
            let ld = |v: &[F], x: usize| *<<F as Field>::Packing as PackedValue>::from_slice(&v[x..x + LANES]);
            let (pr, two_a_p, a_sq_p) = (PackedEF::from(r), PackedEF::from(two_a), PackedEF::from(a_sq));
            p.par_chunks_mut(LANES).zip(q.par_chunks_mut(LANES)).enumerate().with_min_len(PAR_MIN / LANES).for_each(|(c, (p_dst, q_dst))| {
                let x = c * LANES;
                let (s0, s1, m0, m1) = (ld(s, x), ld(s, x + half), ld(m, x), ld(m, x + half));
                let sb = pr * (s1 - s0) + s0;
                let mb = pr * (m1 - m0) + m0;
                (two_a_p - sb).to_ext_slice(p_dst);
                (a_sq_p - sb * a + mb).to_ext_slice(q_dst);
            });
        } else {
            for x in 0..half {
                let sb = r * (s[x + half] - s[x]) + s[x];
                let mb = r * (m[x + half] - m[x]) + m[x];
                p[x] = two_a - sb;
                q[x] = a_sq - a * sb + mb;
            }
        }
    }
    (p, q)
}

/// The eq table `E[x] = eq(point, x)` of a round, `x < len()`, held as two tables:
/// `E[x] = hi[x_hi]·lo[x_lo]` with `x = x_hi·lo.len() + x_lo` (the first coordinates of the point
/// in `hi`, the last ones in `lo`; a full table is `hi = [1]`). Σ_x E[x]·g(x) is summed row by
/// row, `Σ_{x_hi} hi[x_hi]·Σ_{x_lo} lo[x_lo]·g(x)`: the same field element as with the full table
/// (field arithmetic is exact), without building or streaming a `len()`-entry table (the split
/// eq tables of Dao–Thaler; `LayerSumcheck` keeps `√len` entries instead of `len`).
#[derive(Clone, Copy)]
pub(crate) struct EqView<'a> {
    hi: &'a [EF],
    lo: &'a [EF],
}

/// The one-entry table `[1]` (the `hi` of a full table).
static ONE_TABLE: [EF; 1] = [EF::ONE];

/// Entries of `lo` summed by one task before the task's sum is weighted by its `hi` entry.
const EQ_BLOCK: usize = 1 << 11;

impl<'a> EqView<'a> {
    /// A full table.
    pub(crate) fn full(table: &'a [EF]) -> Self {
        EqView { hi: &ONE_TABLE, lo: table }
    }

    /// `E[x_hi·lo.len() + x_lo] = hi[x_hi]·lo[x_lo]`.
    pub(crate) fn split(hi: &'a [EF], lo: &'a [EF]) -> Self {
        EqView { hi, lo }
    }

    /// Number of entries `x`.
    pub(crate) fn len(&self) -> usize {
        self.hi.len() * self.lo.len()
    }

    /// Whether the packed sums apply: large enough, rows a whole number of SIMD packings.
    fn packed(&self) -> bool {
        self.len() >= PAR_MIN && self.lo.len().is_multiple_of(LANES)
    }

    /// `(block, blocks per row)`: each row of `lo.len()` entries is cut into blocks of `block`.
    fn blocks(&self) -> (usize, usize) {
        let block = self.lo.len().clamp(1, EQ_BLOCK);
        (block, self.lo.len() / block)
    }
}

/// `Σ_x E[x]·g(x)` (componentwise, `K` sums) where `term(x, e)` returns `e·g(x)` for the weight
/// `e = lo[x_lo]`; in parallel blocks when there are at least `PAR_MIN` entries.
fn eq_sum<const K: usize>(eq: EqView<'_>, term: impl Fn(usize, EF) -> [EF; K] + Sync) -> [EF; K] {
    let (block, per_row) = eq.blocks();
    let lo_len = eq.lo.len();
    let block_sum = |b: usize| -> [EF; K] {
        let (row, start) = (b / per_row, (b % per_row) * block);
        let mut acc = [EF::ZERO; K];
        for c in start..start + block {
            let t = term(row * lo_len + c, eq.lo[c]);
            for k in 0..K {
                acc[k] += t[k];
            }
        }
        let w = eq.hi[row];
        acc.map(|v| v * w)
    };
    let add = |a: [EF; K], b: [EF; K]| std::array::from_fn(|k| a[k] + b[k]);
    let blocks = eq.hi.len() * per_row;
    if eq.len() >= PAR_MIN {
        (0..blocks).into_par_iter().map(block_sum).par_reduce(|| [EF::ZERO; K], add)
    } else {
        (0..blocks).map(block_sum).fold([EF::ZERO; K], add)
    }
}

/// [`eq_sum`] `LANES` entries at a time (requires [`EqView::packed`]): `term(x, e)` returns `e·g`
/// at entries `x..x + LANES` for the packed weights `e = lo[x_lo..x_lo + LANES]`.
fn packed_eq_sum<const K: usize>(eq: EqView<'_>, term: impl Fn(usize, PackedEF) -> [PackedEF; K] + Sync) -> [EF; K] {
    let (block, per_row) = eq.blocks();
    let lo_len = eq.lo.len();
    let block_sum = |b: usize| -> [PackedEF; K] {
        let (row, start) = (b / per_row, (b % per_row) * block);
        let mut acc = [PackedEF::ZERO; K];
        for c in (start..start + block).step_by(LANES) {
            let t = term(row * lo_len + c, PackedEF::from_ext_slice(&eq.lo[c..c + LANES]));
            for k in 0..K {
                acc[k] += t[k];
            }
        }
        let w = eq.hi[row];
        acc.map(|v| v * w)
    };
    let add = |a: [PackedEF; K], b: [PackedEF; K]| std::array::from_fn(|k| a[k] + b[k]);
    let acc = (0..eq.hi.len() * per_row).into_par_iter().map(block_sum).par_reduce(|| [PackedEF::ZERO; K], add);
    acc.map(|v| (0..LANES).map(|lane| v.extract(lane)).sum())
}

/// For [`TreeHalves::ShiftedPairs`] halves `[sL, mL, sR, mR]` (base field) and `t = 0, 1, 2`
/// (`t = 1` only if `with_one`): `[Σ E·S, Σ E·(M + P), Σ E·X, Σ E·Y]` over `x < eq.len()` at
/// `(t, x)`, with `S = sL + sR`, `M = mL + mR`, `P = sL·sR`, `X = sL·mR + mL·sR`, `Y = mL·mR`
/// (the products in `F`, each weighted sum one extension-by-base product per term).
fn pair_sums(cols: [&Vec<F>; 4], eq: EqView<'_>, with_one: bool) -> [[EF; 4]; 3] {
    let half = eq.len();
    let [sl, ml, sr, mr] = cols;
    let unflatten = |a: [EF; 12]| -> [[EF; 4]; 3] { std::array::from_fn(|t| std::array::from_fn(|k| a[4 * t + k])) };
    if eq.packed() {
        type PF = <F as Field>::Packing;
        let ld = |v: &[F], x: usize| *<PF as PackedValue>::from_slice(&v[x..x + LANES]);
        let at = |e: PackedEF, sl: PF, ml: PF, sr: PF, mr: PF| -> [PackedEF; 4] {
            [e * (sl + sr), e * (ml + mr + sl * sr), e * (sl * mr + ml * sr), e * (ml * mr)]
        };
        let term = |x: usize, e: PackedEF| -> [PackedEF; 12] {
            let v0 = [ld(sl, x), ld(ml, x), ld(sr, x), ld(mr, x)];
            let v1 = [ld(sl, x + half), ld(ml, x + half), ld(sr, x + half), ld(mr, x + half)];
            let v2: [PF; 4] = std::array::from_fn(|k| v1[k].double() - v0[k]);
            let t1 = if with_one { at(e, v1[0], v1[1], v1[2], v1[3]) } else { [PackedEF::ZERO; 4] };
            let (t0, t2) = (at(e, v0[0], v0[1], v0[2], v0[3]), at(e, v2[0], v2[1], v2[2], v2[3]));
            std::array::from_fn(|i| [t0, t1, t2][i / 4][i % 4])
        };
        unflatten(packed_eq_sum(eq, term))
    } else {
        let at = |e: EF, sl: F, ml: F, sr: F, mr: F| -> [EF; 4] { [e * (sl + sr), e * (ml + mr + sl * sr), e * (sl * mr + ml * sr), e * (ml * mr)] };
        let term = |x: usize, e: EF| -> [EF; 12] {
            let v0 = [sl[x], ml[x], sr[x], mr[x]];
            let v1 = [sl[x + half], ml[x + half], sr[x + half], mr[x + half]];
            let v2: [F; 4] = std::array::from_fn(|k| v1[k].double() - v0[k]);
            let t1 = if with_one { at(e, v1[0], v1[1], v1[2], v1[3]) } else { [EF::ZERO; 4] };
            let (t0, t2) = (at(e, v0[0], v0[1], v0[2], v0[3]), at(e, v2[0], v2[1], v2[2], v2[3]));
            std::array::from_fn(|i| [t0, t1, t2][i / 4][i % 4])
        };
        unflatten(eq_sum(eq, term))
    }
}

/// [`TreeHalves::round_sums`] for explicit extension-field halves.
fn ext_round_sums(
    p: Option<(&[EF], &[EF])>,
    ql: &[EF],
    qr: &[EF],
    eq: EqView<'_>,
    gamma: EF,
    with_one: bool,
) -> [EF; 3] {
    let half = eq.len();
    if eq.packed() {
        // LANES pairs at a time in SIMD registers.
        let ld = |v: &[EF], x: usize| PackedEF::from_ext_slice(&v[x..x + LANES]);
        let packed_term = |x: usize, e: PackedEF| -> [PackedEF; 3] {
            let q = [ld(ql, x), ld(ql, x + half), ld(qr, x), ld(qr, x + half)];
            let p = p.map(|(pl, pr)| [ld(pl, x), ld(pl, x + half), ld(pr, x), ld(pr, x + half)]);
            ext_terms_packed(p, q, e, gamma, with_one)
        };
        return packed_eq_sum(eq, packed_term);
    }
    let g = |pl: EF, pr: EF, ql: EF, qr: EF| pl * qr + ql * (pr + gamma * qr);
    let g_ones = |ql: EF, qr: EF| qr + ql * (EF::ONE + gamma * qr);
    let two = |a: EF, b: EF| b.double() - a;
    let term = |x: usize, e: EF| -> [EF; 3] {
        let (ql0, ql1) = (ql[x], ql[x + half]);
        let (qr0, qr1) = (qr[x], qr[x + half]);
        match p {
            Some((pl, pr)) => {
                let (pl0, pl1, pr0, pr1) = (pl[x], pl[x + half], pr[x], pr[x + half]);
                let at0 = g(pl0, pr0, ql0, qr0);
                let at2 = g(two(pl0, pl1), two(pr0, pr1), two(ql0, ql1), two(qr0, qr1));
                let at1 = if with_one {
                    g(pl1, pr1, ql1, qr1)
                } else {
                    EF::ZERO
                };
                [e * at0, e * at1, e * at2]
            }
            None => {
                let at0 = g_ones(ql0, qr0);
                let at2 = g_ones(two(ql0, ql1), two(qr0, qr1));
                let at1 = if with_one { g_ones(ql1, qr1) } else { EF::ZERO };
                [e * at0, e * at1, e * at2]
            }
        }
    };
    eq_sum(eq, term)
}

/// The weighted terms `[e·g(0), e·g(1), e·g(2)]` of [`ext_round_sums`] at one packed position,
/// from each column's `[L(0), L(1), R(0), R(1)]` (`p = None`: numerators 1; `g(1)` zero unless
/// `with_one`).
fn ext_terms_packed(p: Option<[PackedEF; 4]>, q: [PackedEF; 4], e: PackedEF, gamma: EF, with_one: bool) -> [PackedEF; 3] {
    let g = |pl: PackedEF, pr: PackedEF, ql: PackedEF, qr: PackedEF| pl * qr + ql * (pr + qr * gamma);
    let g_ones = |ql: PackedEF, qr: PackedEF| qr + ql * (qr * gamma + PackedEF::ONE);
    let two = |a: PackedEF, b: PackedEF| b.double() - a;
    let [ql0, ql1, qr0, qr1] = q;
    let zero = PackedEF::ZERO;
    match p {
        Some([pl0, pl1, pr0, pr1]) => {
            let at0 = g(pl0, pr0, ql0, qr0);
            let at2 = g(two(pl0, pl1), two(pr0, pr1), two(ql0, ql1), two(qr0, qr1));
            let at1 = if with_one { g(pl1, pr1, ql1, qr1) } else { zero };
            [e * at0, e * at1, e * at2]
        }
        None => {
            let at0 = g_ones(ql0, qr0);
            let at2 = g_ones(two(ql0, ql1), two(qr0, qr1));
            let at1 = if with_one { g_ones(ql1, qr1) } else { zero };
            [e * at0, e * at1, e * at2]
        }
    }
}

/// Binds the first variable of every column `v = [L | R]` to `r` in place, exactly as
/// [`bind_halves`] does, and in the same pass returns the NEXT round's sums
/// `Σ_x E[x]·term(x)` over the bound columns (`E` = `eq`, the next round's table): `term` gets,
/// per column, the bound `[L'(x), L'(x + q), R'(x), R'(x + q)]` (`q = eq.len()`, `LANES`
/// positions at a time) and the packed weights. One read of the columns per round instead of
/// two (the sums pass re-read everything the bind had just written); the same field elements.
/// Requires [`EqView::packed`] and `|v| = 8·eq.len()` for every column.
fn bind_halves_with_sums<const K: usize>(
    cols: &mut [&mut Vec<EF>],
    r: EF,
    eq: EqView<'_>,
    term: impl Fn(&[[PackedEF; 4]], PackedEF) -> [PackedEF; K] + Sync,
) -> [EF; K] {
    let q = eq.len();
    let (block, per_row) = eq.blocks();
    let blocks = eq.hi.len() * per_row;
    debug_assert!(eq.packed() && cols.iter().all(|v| v.len() == 8 * q));
    // Per block of `x`: each column's four quarters of `L` (read, then overwritten with the
    // bound `L'(x)`, `L'(x + q)`, `R'(x)`, `R'(x + q)`) and four quarters of `R` (read only).
    // Block `b` covers `x ∈ [b·block, (b + 1)·block)`, whose weights are `hi[b / per_row]`
    // times `lo[(b % per_row)·block ..]` (as in `packed_eq_sum`).
    type Task<'a> = ([&'a mut [EF]; 4], [&'a [EF]; 4]);
    let mut tasks: Vec<Vec<Task<'_>>> = (0..blocks).map(|_| Vec::with_capacity(cols.len())).collect();
    for v in cols.iter_mut() {
        let (left, right) = v.split_at_mut(4 * q);
        let (a01, a23) = left.split_at_mut(2 * q);
        let ((a0, a1), (a2, a3)) = (a01.split_at_mut(q), a23.split_at_mut(q));
        let (b01, b23) = right.split_at(2 * q);
        let ((b0, b1), (b2, b3)) = (b01.split_at(q), b23.split_at(q));
        let mut a = [a0.chunks_mut(block), a1.chunks_mut(block), a2.chunks_mut(block), a3.chunks_mut(block)];
        let mut b = [b0.chunks(block), b1.chunks(block), b2.chunks(block), b3.chunks(block)];
        for task in tasks.iter_mut() {
            if let ([Some(a0), Some(a1), Some(a2), Some(a3)], [Some(b0), Some(b1), Some(b2), Some(b3)]) =
                (a.each_mut().map(Iterator::next), b.each_mut().map(Iterator::next))
            {
                task.push(([a0, a1, a2, a3], [b0, b1, b2, b3]));
            }
        }
    }
    let lo = eq.lo;
    let hi = eq.hi;
    let block_sum = |(bi, mut cols): (usize, Vec<Task<'_>>)| -> [PackedEF; K] {
        let (row, start) = (bi / per_row, (bi % per_row) * block);
        let mut acc = [PackedEF::ZERO; K];
        let mut vals = vec![[PackedEF::ZERO; 4]; cols.len()];
        for c in (0..block).step_by(LANES) {
            for ((a, b), slot) in cols.iter_mut().zip(vals.iter_mut()) {
                let ld = |s: &[EF]| PackedEF::from_ext_slice(&s[c..c + LANES]);
                let (a0, a1, a2, a3) = (ld(a[0]), ld(a[1]), ld(a[2]), ld(a[3]));
                let (b0, b1, b2, b3) = (ld(b[0]), ld(b[1]), ld(b[2]), ld(b[3]));
                let bound = [a0 + (a2 - a0) * r, a1 + (a3 - a1) * r, b0 + (b2 - b0) * r, b1 + (b3 - b1) * r];
                for (dst, value) in a.iter_mut().zip(bound) {
                    value.to_ext_slice(&mut dst[c..c + LANES]);
                }
                *slot = bound;
            }
            let e = PackedEF::from_ext_slice(&lo[start + c..start + c + LANES]);
            let t = term(&vals, e);
            for k in 0..K {
                acc[k] += t[k];
            }
        }
        let w = hi[row];
        acc.map(|v| v * w)
    };
    let add = |a: [PackedEF; K], b: [PackedEF; K]| std::array::from_fn(|k| a[k] + b[k]);
    let acc = tasks.into_par_iter().enumerate().map(block_sum).par_reduce(|| [PackedEF::ZERO; K], add);
    for v in cols.iter_mut() {
        v.truncate(4 * q);
    }
    acc.map(|v| (0..LANES).map(|lane| v.extract(lane)).sum())
}

/// Adds two triples.
fn add3(a: [EF; 3], b: [EF; 3]) -> [EF; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// The six sums of [`shifted_sums`] as its three pairs.
fn pairs_of(acc: [EF; 6]) -> [(EF, EF); 3] {
    [(acc[0], acc[1]), (acc[2], acc[3]), (acc[4], acc[5])]
}

/// `(Σ_x E[x]·(wL + wR)(t, x), Σ_x E[x]·(wL·wR)(t, x))` for `t = 0, 1, 2` (`t = 1` only if
/// `with_one`), with `T = F` (first round, cheap mixed products) or `T = EF`.
fn shifted_sums<T>(wl: &[T], wr: &[T], eq: EqView<'_>, with_one: bool) -> [(EF, EF); 3]
where
    T: PrimeCharacteristicRing + Copy + Send + Sync,
    EF: std::ops::Mul<T, Output = EF>,
{
    let half = eq.len();
    let term = |x: usize, e: EF| -> [EF; 6] {
        let (l0, l1, r0, r1) = (wl[x], wl[x + half], wr[x], wr[x + half]);
        let (l2, r2) = (l1.double() - l0, r1.double() - r0);
        let (s1, p1) = if with_one {
            (e * (l1 + r1), e * (l1 * r1))
        } else {
            (EF::ZERO, EF::ZERO)
        };
        [
            e * (l0 + r0),
            e * (l0 * r0),
            s1,
            p1,
            e * (l2 + r2),
            e * (l2 * r2),
        ]
    };
    pairs_of(eq_sum(eq, term))
}

/// [`shifted_sums`] for extension-field halves, `LANES` pairs per operation (requires
/// [`EqView::packed`]).
fn shifted_sums_packed(wl: &[EF], wr: &[EF], eq: EqView<'_>, with_one: bool) -> [(EF, EF); 3] {
    let half = eq.len();
    let ld = |v: &[EF], x: usize| PackedEF::from_ext_slice(&v[x..x + LANES]);
    let term = |x: usize, e: PackedEF| -> [PackedEF; 6] {
        let (l0, l1, r0, r1) = (ld(wl, x), ld(wl, x + half), ld(wr, x), ld(wr, x + half));
        let (l2, r2) = (l1.double() - l0, r1.double() - r0);
        let (s1, p1) = if with_one { (e * (l1 + r1), e * (l1 * r1)) } else { (PackedEF::ZERO, PackedEF::ZERO) };
        [e * (l0 + r0), e * (l0 * r0), s1, p1, e * (l2 + r2), e * (l2 * r2)]
    };
    pairs_of(packed_eq_sum(eq, term))
}

/// The six weighted sums of [`shifted_sums`] at one packed position:
/// `[e·(l0 + r0), e·l0·r0, e·(l1 + r1), e·l1·r1, e·(l2 + r2), e·l2·r2]` (`t = 1` zero unless `with_one`).
fn shifted_terms_packed(l0: PackedEF, l1: PackedEF, r0: PackedEF, r1: PackedEF, e: PackedEF, with_one: bool) -> [PackedEF; 6] {
    let (l2, r2) = (l1.double() - l0, r1.double() - r0);
    let (s1, p1) = if with_one { (e * (l1 + r1), e * (l1 * r1)) } else { (PackedEF::ZERO, PackedEF::ZERO) };
    [e * (l0 + r0), e * (l0 * r0), s1, p1, e * (l2 + r2), e * (l2 * r2)]
}

/// [`shifted_sums`] for [`Column::BaseBound`] halves (requires [`EqView::packed`] and
/// `|v| = 8·eq.len()`): the bound values `L(r0, ·)`, `R(r0, ·)` are interpolated from the
/// base-field `v` on the fly (`L(r0, y) = L[y] + r0·(L[y + 2q] − L[y])`, `q = eq.len()`).
fn shifted_sums_lazy_packed(v: &[F], r0: EF, eq: EqView<'_>, with_one: bool) -> [(EF, EF); 3] {
    type PF = <F as Field>::Packing;
    let q = eq.len();
    let ld = |x: usize| *<PF as PackedValue>::from_slice(&v[x..x + LANES]);
    let pr0 = PackedEF::from(r0);
    let lerp = |a: PF, b: PF| pr0 * (b - a) + a;
    let term = |x: usize, e: PackedEF| {
        let (l0, l1) = (lerp(ld(x), ld(x + 2 * q)), lerp(ld(x + q), ld(x + 3 * q)));
        let y = 4 * q + x;
        let (r0, r1) = (lerp(ld(y), ld(y + 2 * q)), lerp(ld(y + q), ld(y + 3 * q)));
        shifted_terms_packed(l0, l1, r0, r1, e, with_one)
    };
    pairs_of(packed_eq_sum(eq, term))
}

/// [`shifted_sums`] for base-field halves (the first round over the leaves), `LANES` pairs per
/// operation (requires [`EqView::packed`]): the products `wL·wR` in `F`, each weighted sum one
/// extension-by-base product.
fn shifted_sums_base_packed(wl: &[F], wr: &[F], eq: EqView<'_>, with_one: bool) -> [(EF, EF); 3] {
    type PF = <F as Field>::Packing;
    let half = eq.len();
    let ld = |v: &[F], x: usize| *<PF as PackedValue>::from_slice(&v[x..x + LANES]);
    let term = |x: usize, e: PackedEF| -> [PackedEF; 6] {
        let (l0, l1, r0, r1) = (ld(wl, x), ld(wl, x + half), ld(wr, x), ld(wr, x + half));
        let (l2, r2) = (l1.double() - l0, r1.double() - r0);
        let (s1, p1) = if with_one { (e * (l1 + r1), e * (l1 * r1)) } else { (PackedEF::ZERO, PackedEF::ZERO) };
        [e * (l0 + r0), e * (l0 * r0), s1, p1, e * (l2 + r2), e * (l2 * r2)]
    };
    pairs_of(packed_eq_sum(eq, term))
}



/// The sumcheck of one GKR layer, batching every active tree:
/// `Σ_x eq(r, x)·Σ_a γ^{2a}·(pL·qR + pR·qL + γ·qL·qR)_a(x)` over `x ∈ {0,1}^j`.
///
/// Round `i` polynomial: `s_i(t) = eq_prefix·eq(r_i, t)·h_i(t)` with
/// `h_i(t) = Σ_{x>i} eq(r_{>i}, x_{>i})·g(s_{<i}, t, x_{>i})` (quadratic in `t`), where
/// `eq_prefix = Π_{k<i} eq(r_k, s_k)`. The prover sends `h_i(0)` and `h_i(2)` only: `h_i(1)`
/// follows from the running claim `claim_i = s_i(0) + s_i(1) = eq_prefix·((1−r_i)·h_i(0) +
/// r_i·h_i(1))` — unless `r_i·eq_prefix = 0` (probability ≤ 2j/|EF|), when `h_i(1)` is sent too
/// and that equation is checked. This is the degree-3 sumcheck with `s_i` given by 2 values
/// instead of 3; its error stays `3/|EF|` per round. The next claim is
/// `s_i(s_i') = eq_prefix·eq(r_i, s_i')·h_i(s_i')`.
struct LayerSumcheck {
    eq_point: Vec<EF>,
    /// The eq table of `eq_point[round+1..]` (the current round's) is `eq_hi ⊗ eq_lo`
    /// ([`EqView`]): `eq_hi` is the table of `eq_point[round+1..split]` (`[1]` once
    /// `round + 1 ≥ split`), `eq_lo` that of `eq_point[max(round+1, split)..]`. `split` puts
    /// about half of round 0's coordinates on each side, so the prover holds about
    /// `2·2^{j/2}` entries instead of `2^{j−1}` and never streams a full table.
    eq_hi: Vec<EF>,
    eq_lo: Vec<EF>,
    split: usize,
    round: usize,
    eq_prefix: EF,
    claim: EF,
    gamma: EF,
    weights: Vec<EF>,
    trees: Vec<TreeHalves>,
}

/// `eq(r, t) = (1 − r)(1 − t) + r·t`.
pub(crate) fn eq_line(r: EF, t: EF) -> EF {
    (EF::ONE - r) * (EF::ONE - t) + r * t
}

/// The quadratic through `(0, h0), (1, h1), (2, h2)` at `x`.
pub(crate) fn quadratic_at(h: [EF; 3], x: EF) -> EF {
    // Newton form: h0 + x·(h1 − h0) + x(x − 1)/2·(h2 − 2h1 + h0).
    let d1 = h[1] - h[0];
    let d2 = h[2] - h[1].double() + h[0];
    h[0] + x * d1 + x * (x - EF::ONE) * d2.halve()
}

/// Whether `h_i(1)` is derived from the claim (`r_i·eq_prefix ≠ 0`) rather than sent.
fn derives_one(r_i: EF, eq_prefix: EF) -> bool {
    !r_i.is_zero() && !eq_prefix.is_zero()
}

/// `h_i(1)` from the running claim (requires [`derives_one`]).
fn derive_one(claim: EF, eq_prefix: EF, r_i: EF, h0: EF) -> EF {
    (claim * eq_prefix.inverse() - (EF::ONE - r_i) * h0) * r_i.inverse()
}

/// `suffix_eq[i]` = the eq table of `eq_point[i+1..]` (`suffix_eq[j−1] = [1]`), for
/// `i < j = eq_point.len()`.
pub(crate) fn suffix_eq_tables(eq_point: &[EF]) -> Vec<Vec<EF>> {
    let j = eq_point.len();
    // suffix_eq[j-1] = [1]; suffix_eq[i] prepends variable i+1 to suffix_eq[i+1].
    let mut suffix_eq: Vec<Vec<EF>> = Vec::with_capacity(j);
    let mut current = vec![EF::ONE];
    for i in (0..j).rev() {
        if i + 1 < j {
            let r = eq_point[i + 1];
            let next: Vec<EF> = current
                .iter()
                .map(|&e| e - e * r)
                .chain(current.iter().map(|&e| e * r))
                .collect();
            suffix_eq.push(std::mem::replace(&mut current, next));
        }
    }
    suffix_eq.push(current);
    suffix_eq.reverse();
    suffix_eq
}

impl LayerSumcheck {
    /// The sumcheck of `Σ_x eq(eq_point, x)·Σ_a weights[a]·g_a(x)` for the running `claim`
    /// (`eq_prefix` times that sum: a sumcheck continuing another one over earlier variables
    /// passes its own `eq_prefix` and claim; a fresh one `1` and the sum).
    fn new(eq_point: Vec<EF>, gamma: EF, claim: EF, weights: Vec<EF>, trees: Vec<TreeHalves>, eq_prefix: EF) -> Self {
        // Round 0's table covers eq_point[1..]: ⌊(j − 1)/2⌋ coordinates in eq_hi, the rest in eq_lo.
        let split = if eq_point.is_empty() { 0 } else { 1 + (eq_point.len() - 1) / 2 };
        let (eq_hi, eq_lo) = if eq_point.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (eq_evals(&eq_point[1..split]), eq_evals(&eq_point[split..]))
        };
        debug_assert_eq!(weights.len(), trees.len());
        LayerSumcheck {
            eq_point,
            eq_hi,
            eq_lo,
            split,
            round: 0,
            eq_prefix,
            claim,
            gamma,
            weights,
            trees,
        }
    }

    /// The eq tables of the (new) current round: only the small side that loses its first
    /// coordinate is rebuilt (at most `2^{⌈(j−1)/2⌉}` entries).
    fn next_eq_tables(&mut self) {
        let next = self.round + 1;
        if next > self.eq_point.len() {
            return;
        }
        self.eq_hi = eq_evals(&self.eq_point[next.min(self.split)..self.split]);
        if next > self.split {
            self.eq_lo = eq_evals(&self.eq_point[next..]);
        }
    }

    /// `[pL, pR, qL, qR]` of every tree at the sumcheck's point (after all rounds).
    fn children(&self) -> Vec<[EF; 4]> {
        self.trees.iter().map(TreeHalves::first_children).collect()
    }

    /// `[h(0), h(1), h(2)]` of the current round; `h(1)` is derived from the claim if possible.
    /// `fused`: the round's weighted sums, already computed while the previous round bound.
    fn round_h(&self, fused: Option<[EF; 3]>) -> [EF; 3] {
        let r_i = self.eq_point[self.round];
        let eq = EqView::split(&self.eq_hi, &self.eq_lo);
        let derive = derives_one(r_i, self.eq_prefix);
        // Trees in parallel (many small columns), and each large tree in parallel inside.
        let per_tree = |(tree, &w): (&TreeHalves, &EF)| {
            tree.round_sums(eq, self.gamma, !derive).map(|s| w * s)
        };
        let mut h = fused.unwrap_or_else(|| self.trees.par_iter().zip(self.weights.par_iter()).map(per_tree).par_reduce(|| [EF::ZERO; 3], add3));
        if derive {
            h[1] = derive_one(self.claim, self.eq_prefix, r_i, h[0]);
        }
        h
    }

    /// Runs every round, sending `h(0), h(2)` (and `h(1)` when it cannot be derived); returns
    /// the point.
    fn prove(&mut self, t: &mut ProverTranscript) -> Vec<EF> {
        let mut point = Vec::with_capacity(self.eq_point.len());
        let timing = crate::timing::enabled();
        let cpu = || if timing { zkinfer_procfs::cpu_seconds().unwrap_or(0.0) } else { 0.0 };
        let (mut t_h, mut t_bind) = (0f64, 0f64);
        let mut fused = None;
        while self.round < self.eq_point.len() {
            let r_i = self.eq_point[self.round];
            let c0 = cpu();
            let h = self.round_h(fused.take());
            t_h += cpu() - c0;
            t.send_ext(h[0]);
            t.send_ext(h[2]);
            if !derives_one(r_i, self.eq_prefix) {
                t.send_ext(h[1]);
            }
            let r = t.challenge_ext();
            let eq_r = eq_line(r_i, r);
            self.claim = self.eq_prefix * eq_r * quadratic_at(h, r);
            self.eq_prefix *= eq_r;
            let c0 = cpu();
            self.round += 1;
            self.next_eq_tables();
            if self.round < self.eq_point.len() {
                // Bind, and take the next round's sums in the same pass where the trees allow
                // (`TreeHalves::bind_with_sums`); the others' sums after their bind.
                let with_one = !derives_one(self.eq_point[self.round], self.eq_prefix);
                let (eq, gamma) = (EqView::split(&self.eq_hi, &self.eq_lo), self.gamma);
                let sums: Vec<Option<[EF; 3]>> = self.trees.par_iter_mut().map(|tree| tree.bind_with_sums(r, eq, gamma, with_one)).collect();
                let weighted = |(tree, (&w, s)): (&TreeHalves, (&EF, &Option<[EF; 3]>))| s.unwrap_or_else(|| tree.round_sums(eq, gamma, with_one)).map(|v| w * v);
                fused = Some(self.trees.par_iter().zip(self.weights.par_iter().zip(sums.par_iter())).map(weighted).par_reduce(|| [EF::ZERO; 3], add3));
            } else {
                self.trees.par_iter_mut().for_each(|tree| tree.bind(r));
            }
            t_bind += cpu() - c0;
            point.push(r);
        }
        if timing && self.eq_point.len() > 16 {
            eprintln!("[lookup timing]                    of which round sums cpu {t_h:.2} s, bind and eq fold cpu {t_bind:.2} s");
        }
        point
    }
}

/// The verifier of [`LayerSumcheck`]'s rounds for the claim `claim` with eq point `eq_point`:
/// returns the point `s` and the value `eq(eq_point, s)·g(s)` must have.
fn verify_layer_rounds(
    eq_point: &[EF],
    mut claim: EF,
    t: &mut VerifierTranscript<'_>,
) -> Result<(Vec<EF>, EF), String> {
    let mut eq_prefix = EF::ONE;
    let mut point = Vec::with_capacity(eq_point.len());
    for (round, &r_i) in eq_point.iter().enumerate() {
        let h0 = t.receive_ext().map_err(|e| e.to_string())?;
        let h2 = t.receive_ext().map_err(|e| e.to_string())?;
        let h1 = if derives_one(r_i, eq_prefix) {
            derive_one(claim, eq_prefix, r_i, h0)
        } else {
            let h1 = t.receive_ext().map_err(|e| e.to_string())?;
            if eq_prefix * ((EF::ONE - r_i) * h0 + r_i * h1) != claim {
                return Err(format!("round {round}: s(0) + s(1) differs from the claim"));
            }
            h1
        };
        let r = t.challenge_ext();
        let eq_r = eq_line(r_i, r);
        claim = eq_prefix * eq_r * quadratic_at([h0, h1, h2], r);
        eq_prefix *= eq_r;
        point.push(r);
    }
    Ok((point, claim))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::PrimeCharacteristicRing;
    use zkinfer_field::F;
    use zkinfer_transcript::DomainSeparator;

    /// A deterministic pseudo-random extension element.
    fn ext(seed: u64) -> EF {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(12345);
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            EF::from(F::from_u64(s >> 1))
        };
        let (a, b, c) = (next(), next(), next());
        a + b * EF::from(F::from_u64(7)).exp_u64(21) + c.square()
    }

    fn tree(depth: usize, ones: bool, seed: u64) -> FractionLeaves {
        let n = 1usize << depth;
        FractionLeaves {
            numerators: if ones {
                Numerators::Ones
            } else {
                Numerators::Values((0..n as u64).map(|i| ext(seed * 7919 + i)).collect())
            },
            denominators: Denominators::Values(
                (0..n as u64)
                    .map(|i| ext(seed * 104729 + i + 1_000_000))
                    .collect(),
            ),
        }
    }

    /// Leaves `1/(shift − w_i)` with base-field `w` (the range-lookup fast path).
    fn shifted_tree(depth: usize, seed: u64) -> FractionLeaves {
        let n = 1usize << depth;
        FractionLeaves {
            numerators: Numerators::Ones,
            denominators: Denominators::Shifted {
                shift: ext(seed),
                values: (0..n as u64).map(|i| F::from_u64(i * i + seed)).collect(),
            },
        }
    }

    fn mle(values: &[EF], point: &[EF]) -> EF {
        eq_evals(point)
            .iter()
            .zip(values)
            .map(|(&e, &v)| e * v)
            .sum()
    }

    fn ds() -> DomainSeparator {
        DomainSeparator::new("test/fracaddcheck", 1)
    }

    fn prove_trees(trees: &[FractionLeaves]) -> (FracAddOutput, Vec<u8>) {
        let mut t = ProverTranscript::new(&ds());
        let out = prove(trees.to_vec(), &mut t);
        (out, t.into_proof())
    }

    fn sample_trees() -> Vec<FractionLeaves> {
        vec![
            tree(3, false, 1),
            tree(0, true, 2),
            tree(5, true, 3),
            tree(1, false, 4),
            tree(5, false, 5),
            shifted_tree(4, 6),
            shifted_tree(0, 7),
            shifted_tree(1, 8),
            shifted_tree(5, 9),
        ]
    }

    const DEPTHS: [usize; 9] = [3, 0, 5, 1, 5, 4, 0, 1, 5];

    #[test]
    fn roots_and_leaf_claims_are_correct_and_verify() {
        let trees = sample_trees();
        let (out, proof) = prove_trees(&trees);
        for (tree, (&(p, q), leaf)) in trees.iter().zip(out.roots.iter().zip(&out.leaves)) {
            let nums: Vec<EF> = match &tree.numerators {
                Numerators::Ones => vec![EF::ONE; tree.denominators.len()],
                Numerators::Values(v) => v.clone(),
            };
            let dens = tree.denominators.clone().into_ext();
            let sum: EF = nums.iter().zip(&dens).map(|(&a, &b)| a * b.inverse()).sum();
            assert_eq!(p * q.inverse(), sum);
            assert_eq!(
                leaf.point.len(),
                tree.denominators.len().trailing_zeros() as usize
            );
            assert_eq!(leaf.numerator, mle(&nums, &leaf.point));
            assert_eq!(leaf.denominator, mle(&dens, &leaf.point));
        }
        let depths = DEPTHS;
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        let verified = verify(&depths, &mut vt).expect("honest proof verifies");
        vt.finish().expect("proof consumed exactly");
        assert_eq!(verified, out);
        // Trees of equal depth end at the same point.
        assert_eq!(out.leaves[2].point, out.leaves[4].point);
    }

    /// Trees large enough for the parallel SIMD paths (half-layers of ≥ 2^12 entries), with and
    /// without explicit numerators: roots and leaf claims are the true sums and MLE values.
    #[test]
    fn the_dropped_layer_above_base_field_leaves_is_rebuilt_exactly() {
        fn ext_layer(l: &Layer) -> (Vec<EF>, Vec<EF>) {
            match l {
                Layer::Ext { p, q } => (p.clone().unwrap_or_else(|| vec![EF::ONE; q.len()]), q.clone()),
                Layer::ShiftedOnes { .. } => panic!("expected an extension layer"),
            }
        }
        for depth in [1, 2, 3, 6, 13, 15] {
            let leaves = Layer::from_leaves(shifted_tree(depth, 21));
            match leaves.grandparent_of_shifted() {
                Some(grand) => assert_eq!(ext_layer(&grand), ext_layer(&leaves.parent().parent()), "depth {depth}"),
                // Too small for the packed path: the tree keeps every layer.
                None => assert!(depth < 2 || (1usize << (depth - 2)) < LANES, "depth {depth}"),
            }
        }
        // Its halves, built straight from the leaves, are the split of the layer above.
        for depth in [2, 3, 6, 13, 15] {
            let leaves = Layer::from_leaves(shifted_tree(depth, 22));
            let direct = leaves.parent_halves_of_shifted().expect("at least 4 leaves");
            assert!(matches!(direct, TreeHalves::ShiftedPairs { .. }));
            let split = TreeHalves::split(leaves.parent());
            assert!(matches!(split, TreeHalves::Ext { p: Some(_), .. }));
            assert_eq!(direct.to_ext(), split.to_ext(), "depth {depth}");
        }
        assert!(Layer::from_leaves(shifted_tree(1, 22)).parent_halves_of_shifted().is_none());
        // Not base-field leaves: nothing to drop.
        assert!(Layer::from_leaves(tree(6, true, 3)).grandparent_of_shifted().is_none());
        // Proofs over such trees (every depth around the cut-off) still verify.
        let trees: Vec<FractionLeaves> = (1..=7).map(|d| shifted_tree(d, 30 + d as u64)).collect();
        let depths: Vec<usize> = (1..=7).collect();
        let (_, proof) = prove_trees(&trees);
        assert!(accepted(&trees, &depths, &proof));
    }

    /// The packed extension-field sums equal the scalar ones, and sums over split eq tables
    /// (`hi ⊗ lo`, every split) equal the sums over the full table, for every kind of halves on
    /// both sides of `PAR_MIN` (all prover-side only: the proof must not change).
    #[test]
    fn packed_shifted_sums_and_split_eq_tables_match_the_direct_ones() {
        let n = PAR_MIN * 2;
        let (l, r, eq): (Vec<EF>, Vec<EF>, Vec<EF>) =
            ((0..2 * n as u64).map(ext).collect(), (0..2 * n as u64).map(|i| ext(i + 99_999)).collect(), (0..n as u64).map(|i| ext(i + 7_777_777)).collect());
        for with_one in [false, true] {
            assert_eq!(shifted_sums_packed(&l, &r, EqView::full(&eq), with_one), shifted_sums(&l, &r, EqView::full(&eq), with_one));
        }
        let gamma = ext(4242);
        for vars in [0usize, 1, 3, 11, 12, 14] {
            let point: Vec<EF> = (0..vars as u64).map(|i| ext(i + 31)).collect();
            let full = eq_evals(&point);
            let len = full.len();
            let col = |seed: u64| -> Vec<EF> { (0..2 * len as u64).map(|i| ext(seed + i)).collect() };
            let base = |seed: u64| -> Vec<F> { (0..2 * len as u64).map(|i| F::from_u64((seed + i).wrapping_mul(0x9E37_79B9) >> 3)).collect() };
            let shift = ext(555);
            let halves = [
                TreeHalves::from_ext_halves(Some((col(1), col(2))), col(3), col(4)),
                TreeHalves::from_ext_halves(None, col(5), col(6)),
                TreeHalves::ShiftedOnes { shift, w: Column::Base([base(7), base(8)].concat()) },
                TreeHalves::ShiftedOnes { shift, w: Column::Ext([col(9), col(10)].concat()) },
                TreeHalves::ShiftedPairs { shift, sl: base(11), ml: base(12), sr: base(13), mr: base(14) },
            ];
            for (kind, h) in halves.iter().enumerate() {
                for with_one in [false, true] {
                    let want = h.round_sums(EqView::full(&full), gamma, with_one);
                    for cut in 0..=vars {
                        let (hi, lo) = (eq_evals(&point[..cut]), eq_evals(&point[cut..]));
                        assert_eq!(h.round_sums(EqView::split(&hi, &lo), gamma, with_one), want, "vars {vars} cut {cut} kind {kind}");
                    }
                }
            }
        }
    }

    /// The fused bind (`TreeHalves::bind_with_sums`) leaves the same halves as `bind` and returns
    /// the next round's `round_sums`, for every tree form, with full and split eq tables, below
    /// and above the packed size; forms or sizes it does not fuse return `None` and are bound.
    #[test]
    fn fused_bind_and_next_round_sums_equal_bind_then_round_sums() {
        let gamma = ext(4242);
        let r = ext(8_888);
        // `vars` = the next round's eq variables: 12 is the first packed size (2^12 = PAR_MIN).
        for vars in [3usize, 11, 12, 13] {
            let point: Vec<EF> = (0..vars as u64).map(|i| ext(i + 31)).collect();
            let len = 1usize << vars;
            let col = |seed: u64| -> Vec<EF> { (0..4 * len as u64).map(|i| ext(seed * 1_000_003 + i)).collect() };
            let base = |seed: u64| -> Vec<F> { (0..4 * len as u64).map(|i| F::from_u64((seed * 1_000_003 + i).wrapping_mul(0x9E37_79B9) >> 3)).collect() };
            let shift = ext(555);
            let make = || {
                [
                    TreeHalves::from_ext_halves(Some((col(1), col(2))), col(3), col(4)),
                    TreeHalves::from_ext_halves(None, col(5), col(6)),
                    TreeHalves::ShiftedOnes { shift, w: Column::Ext([col(9), col(10)].concat()) },
                    TreeHalves::ShiftedOnes { shift, w: Column::Base([base(7), base(8)].concat()) },
                    TreeHalves::ShiftedPairs { shift, sl: base(11), ml: base(12), sr: base(13), mr: base(14) },
                ]
            };
            for cut in [0, vars / 2, vars] {
                let (hi, lo) = (eq_evals(&point[..cut]), eq_evals(&point[cut..]));
                let eq = EqView::split(&hi, &lo);
                for with_one in [false, true] {
                    for (kind, (mut fused, mut plain)) in make().into_iter().zip(make()).enumerate() {
                        let sums = fused.bind_with_sums(r, eq, gamma, with_one);
                        plain.bind(r);
                        assert_eq!(fused.to_ext(), plain.to_ext(), "vars {vars} cut {cut} kind {kind}: bound halves");
                        let want = plain.round_sums(eq, gamma, with_one);
                        let fuses = eq.packed() && kind < 3;
                        assert_eq!(sums.is_some(), fuses, "vars {vars} cut {cut} kind {kind}: fused or not");
                        if let Some(sums) = sums {
                            assert_eq!(sums, want, "vars {vars} cut {cut} kind {kind} with_one {with_one}: sums");
                        }
                    }
                }
            }
        }
    }

    /// The base-field pair form of the layer above base-field leaves gives the same round sums
    /// and, once bound, the same halves as the extension-field halves it replaces; the packed
    /// base-field leaf sums and binds equal the scalar ones (sizes on both sides of `PAR_MIN`).
    #[test]
    fn base_field_pair_form_matches_the_extension_halves() {
        // Genuine extension elements (not in the base subfield) for the shift and challenges.
        let full = |seed: u64| -> EF {
            use p3_field::BasedVectorSpace;
            EF::from_basis_coefficients_fn(|k| F::from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7 * k as u32 + 3) >> 1))
        };
        let with_full_shift = |depth: usize, seed: u64| {
            let mut tree = shifted_tree(depth, seed);
            if let Denominators::Shifted { shift, .. } = &mut tree.denominators {
                *shift = full(seed);
            }
            tree
        };
        let gamma = full(77);
        for depth in [3, 6, 12, 15, 16] {
            let leaves = Layer::from_leaves(with_full_shift(depth, 40 + depth as u64));
            let pairs = leaves.parent_halves_of_shifted().expect("at least 4 leaves");
            let [pl, pr, ql, qr] = pairs.to_ext();
            let mut reference = TreeHalves::from_ext_halves(Some((pl, pr)), ql, qr);
            let mut pairs = pairs;
            let eq = eq_evals(&(0..depth as u64 - 3).map(|i| full(i + 500)).collect::<Vec<_>>());
            for with_one in [false, true] {
                assert_eq!(pairs.round_sums(EqView::full(&eq), gamma, with_one), reference.round_sums(EqView::full(&eq), gamma, with_one), "depth {depth}");
            }
            assert_eq!(pairs.first_children(), reference.first_children());
            let r = full(91);
            pairs.bind(r);
            reference.bind(r);
            assert!(matches!(pairs, TreeHalves::Ext { .. }));
            assert_eq!(pairs.to_ext(), reference.to_ext(), "depth {depth}");
        }
        // The leaves' own halves: packed base-field sums and binds against the scalar ones.
        for depth in [4, 14, 15] {
            let mut halves = TreeHalves::split(Layer::from_leaves(with_full_shift(depth, 60 + depth as u64)));
            let TreeHalves::ShiftedOnes { w: Column::Base(w), .. } = &halves else {
                panic!("base-field leaf halves");
            };
            let (l, r) = halves_of(w);
            let eq = eq_evals(&(0..depth as u64 - 2).map(|i| full(i + 700)).collect::<Vec<_>>());
            for with_one in [false, true] {
                let scalar = shifted_sums(l, r, EqView::full(&eq), with_one);
                assert_eq!(halves.round_sums(EqView::full(&eq), gamma, with_one), TreeHalves::from_ext_halves(None, halves.to_ext()[2].clone(), halves.to_ext()[3].clone()).round_sums(EqView::full(&eq), gamma, with_one));
                if eq.len() >= PAR_MIN {
                    assert_eq!(shifted_sums_base_packed(l, r, EqView::full(&eq), with_one), scalar);
                }
            }
            let [_, _, ql, qr] = halves.to_ext();
            let mut reference = TreeHalves::from_ext_halves(None, ql, qr);
            halves.bind(full(5));
            reference.bind(full(5));
            assert_eq!(halves.to_ext()[2..], reference.to_ext()[2..], "depth {depth}");
            // Depth 15 binds lazily (`Column::BaseBound`): the next round's sums (packed, split
            // and full eq tables), the children and the next bind equal the extension halves'.
            assert_eq!(matches!(halves, TreeHalves::ShiftedOnes { w: Column::BaseBound { .. }, .. }), depth >= 15, "depth {depth}");
            let point: Vec<EF> = (0..depth as u64 - 3).map(|i| full(i + 900)).collect();
            let eq = eq_evals(&point);
            let (hi, lo) = (eq_evals(&point[..point.len() / 2]), eq_evals(&point[point.len() / 2..]));
            for with_one in [false, true] {
                let want = reference.round_sums(EqView::full(&eq), gamma, with_one);
                assert_eq!(halves.round_sums(EqView::full(&eq), gamma, with_one), want, "depth {depth}");
                assert_eq!(halves.round_sums(EqView::split(&hi, &lo), gamma, with_one), want, "depth {depth}");
            }
            assert_eq!(halves.first_children(), reference.first_children(), "depth {depth}");
            halves.bind(full(6));
            reference.bind(full(6));
            assert!(matches!(halves, TreeHalves::ShiftedOnes { w: Column::Ext(_), .. }));
            assert_eq!(halves.to_ext()[2..], reference.to_ext()[2..], "depth {depth}");
            assert_eq!(halves.first_children(), reference.first_children(), "depth {depth}");
        }
    }


    #[test]
    fn large_trees_use_the_packed_paths_correctly() {
        let trees = vec![
            tree(14, true, 11),
            tree(13, false, 12),
            shifted_tree(14, 13),
        ];
        let (out, proof) = prove_trees(&trees);
        for (tree, (&(p, q), leaf)) in trees.iter().zip(out.roots.iter().zip(&out.leaves)) {
            let nums: Vec<EF> = match &tree.numerators {
                Numerators::Ones => vec![EF::ONE; tree.denominators.len()],
                Numerators::Values(v) => v.clone(),
            };
            let dens = tree.denominators.clone().into_ext();
            let sum: EF = nums.iter().zip(&dens).map(|(&a, &b)| a * b.inverse()).sum();
            assert_eq!(p * q.inverse(), sum);
            assert_eq!(leaf.numerator, mle(&nums, &leaf.point));
            assert_eq!(leaf.denominator, mle(&dens, &leaf.point));
        }
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        assert_eq!(
            verify(&[14, 13, 14], &mut vt).expect("honest proof verifies"),
            out
        );
    }

    /// What a caller accepts: the GKR verifies, the proof is consumed exactly, and every leaf
    /// claim (the only thing the verifier leaves unchecked) is the true leaf MLE at its point.
    fn accepted(trees: &[FractionLeaves], depths: &[usize], proof: &[u8]) -> bool {
        let mut vt = VerifierTranscript::new(&ds(), proof);
        let Ok(out) = verify(depths, &mut vt) else {
            return false;
        };
        if vt.finish().is_err() || out.leaves.len() != trees.len() {
            return false;
        }
        trees.iter().zip(&out.leaves).all(|(tree, leaf)| {
            let nums: Vec<EF> = match &tree.numerators {
                Numerators::Ones => vec![EF::ONE; tree.denominators.len()],
                Numerators::Values(v) => v.clone(),
            };
            let dens = tree.denominators.clone().into_ext();
            1usize << leaf.point.len() == dens.len()
                && leaf.numerator == mle(&nums, &leaf.point)
                && leaf.denominator == mle(&dens, &leaf.point)
        })
    }

    /// Changing any byte (roots, round values, children) makes the verifier fail or leaves a
    /// leaf claim that contradicts the true leaves (the last tree's `qR` is solved for, so a
    /// change may only surface at the leaves).
    #[test]
    fn every_changed_proof_element_is_rejected() {
        let trees = sample_trees();
        let (_, proof) = prove_trees(&trees);
        let depths = DEPTHS;
        assert!(accepted(&trees, &depths, &proof));
        for pos in 0..proof.len() {
            let mut bad = proof.clone();
            bad[pos] ^= 1;
            assert!(
                !accepted(&trees, &depths, &bad),
                "change at byte {pos} accepted"
            );
        }
    }

    #[test]
    fn truncated_or_padded_proofs_fail_cleanly() {
        let trees = sample_trees();
        let (_, proof) = prove_trees(&trees);
        let depths = DEPTHS;
        for cut in [0, 1, 8, proof.len() / 2, proof.len() - 1] {
            let mut vt = VerifierTranscript::new(&ds(), &proof[..cut]);
            assert!(verify(&depths, &mut vt).is_err());
        }
        let mut long = proof.clone();
        long.extend_from_slice(&[0; 8]);
        let mut vt = VerifierTranscript::new(&ds(), &long);
        verify(&depths, &mut vt).expect("prefix is the honest proof");
        assert!(vt.finish().is_err());
        // Wrong statement: other depths.
        assert!(!accepted(&trees, &[3, 0, 5, 1, 4, 4, 0, 1, 5], &proof));
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        assert!(verify(&[MAX_DEPTH + 1], &mut vt).is_err());
        assert!(verify(&[], &mut VerifierTranscript::new(&ds(), &proof)).is_err());
    }

    /// A prover that sends a false root (numerator or denominator, of any tree) and proves every
    /// layer honestly from its true trees: every leaf value it sends is true, so only the
    /// verifier's running claim carries the lie, and the final check that the leaf values account
    /// for all of it (`(P, Q) = (0, 0)` once no tree continues) rejects. (Control, session 11:
    /// with that check removed, `accepted` — which compares every leaf claim with the true
    /// leaves — returned true for these proofs.)
    #[test]
    fn a_false_root_proven_honestly_below_is_rejected_at_the_leaves() {
        let trees = sample_trees();
        for k in 0..trees.len() {
            for denominator in [false, true] {
                let mut t = ProverTranscript::new(&ds());
                let out = prove_with_roots(trees.clone(), &mut t, |roots| {
                    if denominator { roots[k].1 += EF::ONE } else { roots[k].0 += EF::ONE }
                });
                let proof = t.into_proof();
                let mut vt = VerifierTranscript::new(&ds(), &proof);
                let verdict = verify(&DEPTHS, &mut vt);
                if DEPTHS[k] == 0 {
                    // A one-leaf tree's root is its leaf claim: the caller's check rejects it.
                    assert_eq!(verdict.expect("the GKR itself passes").leaves[k], out.leaves[k]);
                    assert!(!accepted(&trees, &DEPTHS, &proof));
                    continue;
                }
                assert!(!accepted(&trees, &DEPTHS, &proof), "false root of tree {k} (denominator: {denominator}) accepted");
                assert!(
                    matches!(verdict, Err(FracAddError::LayerMismatch { layer }) if layer + 1 == 5),
                    "false root of tree {k} (denominator: {denominator}): {verdict:?}"
                );
            }
        }
    }

    /// When the joint `qR` has coefficient 0 (here one tree whose leaves' left half is `0/0`,
    /// so every layer is `0/0` and `pL = qL = 0` at every layer), it is sent and the final
    /// equation is checked instead; the proof is one element per layer longer and still sound.
    #[test]
    fn unsolvable_last_qr_is_sent_and_checked() {
        let mut zero_left = tree(3, false, 31);
        if let (Numerators::Values(p), Denominators::Values(q)) =
            (&mut zero_left.numerators, &mut zero_left.denominators)
        {
            p[..4].fill(EF::ZERO);
            q[..4].fill(EF::ZERO);
        }
        let normal = vec![tree(3, false, 30)];
        let special = vec![zero_left];
        let (_, normal_proof) = prove_trees(&normal);
        let (_, special_proof) = prove_trees(&special);
        // Layers j = 0, 1, 2 each send the extra qR.
        assert_eq!(special_proof.len(), normal_proof.len() + 3 * 24);
        assert!(accepted(&special, &[3], &special_proof));
        for pos in 0..special_proof.len() {
            let mut bad = special_proof.clone();
            bad[pos] ^= 1;
            assert!(
                !accepted(&special, &[3], &bad),
                "change at byte {pos} accepted"
            );
        }
    }

    /// The true children `[pL, pR, qL, qR]` of a tree's leaf layer at `point`.
    fn children_at(leaves: &FractionLeaves, point: &[EF]) -> [EF; 4] {
        let mut halves = TreeHalves::split(Layer::from_leaves(leaves.clone()));
        for &r in point {
            halves.bind(r);
        }
        halves.first_children()
    }

    /// The layer sumcheck sends 2 values per round, plus `h(1)` exactly when a coordinate of the
    /// eq point (or the eq prefix) is zero; then `s(0) + s(1) = claim` is checked explicitly.
    /// Honest rounds end at the true value; any changed value fails the round check or the
    /// final check against the true children.
    #[test]
    fn layer_sumcheck_rounds_with_and_without_derived_h1() {
        for (eq_point, zeros) in [
            (vec![EF::ZERO, ext(3)], 1),
            (vec![ext(4), EF::ZERO], 1),
            (vec![ext(5), ext(6)], 0),
            (vec![EF::ZERO, EF::ZERO], 2),
        ] {
            let leaves = tree(3, false, 21);
            let Layer::Ext { p: Some(pp), q: pq } = Layer::from_leaves(leaves.clone()).parent()
            else {
                panic!("explicit numerators give an explicit parent");
            };
            let claims = [(mle(&pp, &eq_point), mle(&pq, &eq_point))];
            let gamma = ext(7);
            let halves = vec![TreeHalves::split(Layer::from_leaves(leaves.clone()))];
            let mut inst = LayerSumcheck::new(eq_point.clone(), gamma, batch_claims(&claims, gamma), vec![EF::ONE], halves, EF::ONE);
            let mut t = ProverTranscript::new(&ds());
            let s = inst.prove(&mut t);
            assert_eq!(inst.children()[0], children_at(&leaves, &s));
            let proof = t.into_proof();
            assert_eq!(proof.len(), 24 * (2 * eq_point.len() + zeros));
            let final_ok = |proof: &[u8]| -> bool {
                let mut vt = VerifierTranscript::new(&ds(), proof);
                match verify_layer_rounds(&eq_point, batch_claims(&claims, gamma), &mut vt) {
                    Err(_) => false,
                    Ok((point, expected)) => {
                        let children = [children_at(&leaves, &point)];
                        eq_eval(&eq_point, &point) * batch_children(&children, gamma) == expected
                    }
                }
            };
            assert!(final_ok(&proof), "honest rounds");
            for pos in (0..proof.len()).step_by(8) {
                let mut bad = proof.clone();
                bad[pos] ^= 1;
                assert!(!final_ok(&bad), "changed byte {pos} accepted");
            }
            let mut vt = VerifierTranscript::new(&ds(), &proof[..proof.len() - 8]);
            assert!(verify_layer_rounds(&eq_point, batch_claims(&claims, gamma), &mut vt).is_err());
        }
    }
}
