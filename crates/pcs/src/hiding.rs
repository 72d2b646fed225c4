//! Hiding commitments and zero-knowledge openings (the `--zk` path; issue 13).
//!
//! # What is hidden, and how
//!
//! * **The codeword.** A batch is packed as in [`crate::packing`] and committed with p3-whir
//!   0.8's `HidingWhirPcs` (HVZK-WHIR, ePrint 2026/391): a zero-knowledge Reed–Solomon encoding
//!   (`t_i` random coefficients per limb, at least the queries ever opened against it), masked
//!   WHIR sumchecks, hidden out-of-domain answers and a masked base case. Opening it at a point
//!   reveals exactly the evaluation at that point, nothing else (p3-whir's claim; see
//!   `docs/SECURITY.md` for its parameters and the soundness its report certifies).
//! * **The claimed evaluations (randomised extension).** Next to each committed `P_k` (`m_k ≥ 1`
//!   variables) the commitment holds a random mask `M_k` in `μ_k = min(m_k, MASK_VARS)`
//!   variables, with uniform EXTENSION-field coefficients (four base-field tables combined by
//!   `eq(γ, ·)`, [`MASK_COMPONENT_VARS`]). Claims are on the *randomised extension*
//!   `P̂_k(z) = P_k(z) + z_{m−1}(1 − z_{m−1})·M_k(z_0, …, z_{μ−1})`, which equals `P_k` on the
//!   hypercube (so every sumcheck identity is unchanged) but whose value at a point with
//!   `z_{m−1} ∉ {0, 1}` is uniformly random: up to `2^{μ_k}` claims at points whose
//!   `eq(z_{<μ}, ·)` vectors are independent (random points, except with probability
//!   `≤ 2^{μ}/|EF|`) get independent uniform values, whatever `P_k` is. [`HidingPcs::open`]
//!   refuses more distinct claim points per polynomial than that.
//! * **Which coordinates vanish ([`Vanishing`]).** The factor `z_{m−1}(1 − z_{m−1})` above is
//!   [`Vanishing::Last`] (the default: mask tables, GKR leaves). A table that protocols read
//!   through *views* — some coordinates fixed at random points, the others summed, as an op's
//!   sumcheck reads `w̃(k, r_n)` — is committed with [`Vanishing::All`], Libra's
//!   `Z(z) = Π_i z_i(1 − z_i)`: `P̂_k = P_k + Z·M_k` then equals the plain partial evaluation on
//!   the summed cube whatever coordinates are fixed (any summed boolean coordinate kills `Z`),
//!   whereas with `Last` a view that fixes `z_{m−1}` adds `v(r)·M_k` to every summed entry and
//!   changes the sum. Claims on an `All` polynomial must have no coordinate in `{0, 1}`.
//! * **The batching sumcheck** reducing the claims to one point `r` of the packed polynomial is
//!   the masked sumcheck of `zkinfer_sumcheck::zk` (degree 2; its mask table is committed with a
//!   second, small hiding commitment before `Γ` and `ρ'`): given its final value
//!   `W(r)·P(r)`, its transcript is uniform on an affine space fixed by public data.
//! * **The opened value `P(r)`** is uniformly random: the packed batch also holds a random
//!   *blinding slot* `B`, never claimed (`W = 0` on it), whose contribution
//!   `eq(s_B, r)·B(r_low)` to `P(r)` is a fresh uniform value.
//!
//! # Relation and soundness
//!
//! `open` proves `∧_j P̂_{k_j}(z_j) = v_j` for the committed `P_k, M_k`. Errors: `ρ` combination
//! `≤ J/|EF|`; masked batching sumcheck `≤ (1 + 3n)/|EF|` (degree 2, a committed mask of degree
//! `≤ 3`, `Γ` before `ρ'`); the two hiding openings (p3-whir's error). As in the public PCS the
//! batching terms are charged over the commitments' candidate lists (`docs/SECURITY.md`).
//!
//! # Zero knowledge (honest verifier), simulator
//!
//! Given the public shapes, the simulator: commits random tables (hiding: the roots are
//! indistinguishable); samples the claimed values `v_j` uniformly (randomised extension);
//! samples `P(r)` uniformly (blinding slot); simulates the masked batching rounds from
//! `H = Σ ρ^j v_j` and `W(r)·P(r)` (`zkinfer_sumcheck::zk::simulate`); and runs p3-whir's
//! simulators for the two openings at their revealed values. Every sent value is therefore
//! fresh randomness; a test checks that two openings of the same polynomials at the same points
//! share no 16-byte window and that no unmasked evaluation appears in the proof.

use p3_blake3::Blake3;
use p3_commit::MultilinearPcs;
use p3_dft::Radix2DFTSmallBatch;
use p3_multilinear_util::point::Point;
use p3_multilinear_util::poly::Poly;
use p3_symmetric::{CompressionFunctionFromHasher, SerializingHasher};
use p3_whir::parameters::{FoldingFactor, ProtocolParameters, SecurityAssumption};
use p3_whir::pcs::zk::{HidingWhirPcs, HidingWhirProverData, ZkParameters, ZkWhirConfig, ZkWhirProof};
use rand10::rngs::StdRng;
use rand10::{CryptoRng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::batching::{self, WeightTerm};
use crate::packing::PackedLayout;
use crate::whir::{Challenger, MerkleRoot, ValMmcs};
use crate::{OpeningClaim, PcsError};

/// Variables of each polynomial's mask `M_k` (at most): `2^MASK_VARS` claims per polynomial are
/// hidden.
pub const MASK_VARS: usize = 4;
/// Smallest packed size of a hiding commitment: the ZK encoding needs room for its random
/// coefficients (`t_0 ≈ 261` rows at 132 bits, rows of `2^5`, rate 1/2).
pub const MIN_HIDING_VARS: usize = 14;

type Dft = Radix2DFTSmallBatch<F>;
type Zk = HidingWhirPcs<EF, F, Dft, ValMmcs, Challenger, StdRng>;
type ZkData = HidingWhirProverData<F, EF, ValMmcs>;
type ZkProof = ZkWhirProof<F, EF, ValMmcs>;

/// Parameters of the hiding PCS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HidingParams {
    /// Per-term target bits p3-whir derives queries from.
    pub security_bits: usize,
    /// Maximum grinding bits per phase.
    pub max_pow_bits: usize,
    /// Mask code message length of p3-whir's masked sumcheck (`ell_zk`).
    pub ell_zk: usize,
    /// `log2(1/rate)` of p3-whir's mask codewords.
    pub mask_log_inv_rate: usize,
}

impl Default for HidingParams {
    /// 132 bits per term under the unique-decoding bound (the only regime in which p3-whir's own
    /// hiding report certifies the base case with a cubic extension: `docs/SECURITY.md`), ≤ 20
    /// grinding bits, p3-whir's recommended masks (`ell_zk = 16`, rate 1/32).
    fn default() -> Self {
        Self { security_bits: 132, max_pow_bits: 20, ell_zk: 16, mask_log_inv_rate: 5 }
    }
}

/// Which coordinates carry the vanishing factor of a polynomial's randomised extension
/// `P̂(z) = P(z) + Z(z)·M(z_{<μ})` (module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vanishing {
    /// `Z(z) = z_{m−1}(1 − z_{m−1})`: only claims whose last coordinate is summed last, or
    /// random, keep `P̂ = P` on the cubes a protocol sums over.
    #[default]
    Last,
    /// `Z(z) = Π_i z_i(1 − z_i)` (Libra): `P̂` equals `P`'s partial evaluation on the summed cube
    /// of any view (any subset of coordinates fixed), for tables read through views.
    All,
    /// [`Vanishing::Last`]'s factor, for a polynomial whose every claimed value is PUBLIC: sent in
    /// clear by the protocol that reads it, so the opening need not hide it. The case: a masked
    /// sumcheck's mask table `G` (`zkinfer_sumcheck::zk`), whose round evaluations
    /// `e_j = Ĝ(bits(j), γ, r_j^{2^{k−1}}, …, r_j)` are in the transcript and whose zero-knowledge
    /// argument (the round masks `m̂_j(t) = m_j(t) + t(1 − t)·M(prefix_j)` uniform and
    /// independent: the `m_j` are, whatever the PCS mask values `M(prefix_j)` are) already covers
    /// them. Such claims are exempt from the distinct-prefix rule and the `2^μ` point budget
    /// ([`check_hiding_claims`]): two rounds `j, j ⊕ 1` of a sumcheck of more than 16 rounds share
    /// their first 4 coordinates (round bits), and the linear functional
    /// `Z(z₂)·e₁ − Z(z₁)·e₂` of `G` the verifier can form is a function of the public `e_j`
    /// alone, which the sumcheck's simulator produces. Soundness is the PCS's, unchanged (the
    /// rules are zero-knowledge guards, not soundness checks).
    LastPublic,
}

impl Vanishing {
    /// `Z(point)`.
    pub fn at(self, point: &[EF]) -> EF {
        match self {
            Self::Last | Self::LastPublic => point.last().map_or(EF::ZERO, |&z| v(z)),
            Self::All => point.iter().map(|&z| v(z)).product(),
        }
    }

    /// `Z(point) / v(point_var)` as a polynomial: the factor multiplying `v(z_var)` in `Z`
    /// (`Last`: 1 for the last variable, and no other variable carries a factor).
    fn cofactor(self, point: &[EF], var: usize) -> Option<EF> {
        match self {
            Self::Last | Self::LastPublic => (var + 1 == point.len()).then_some(EF::ONE),
            Self::All => (var < point.len()).then(|| point.iter().enumerate().filter(|&(i, _)| i != var).map(|(_, &z)| v(z)).product()),
        }
    }
}

fn v(z: EF) -> EF {
    z * (EF::ONE - z)
}

/// A hiding commitment: the Merkle root of the ZK codeword and the committed polynomials'
/// shapes (masks and blinding slot are implied by the shapes) and vanishing kinds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HidingCommitment {
    /// Root of the ZK Reed–Solomon codeword of the packed batch.
    pub root: MerkleRoot,
    /// Number of variables of each committed polynomial, in batch order.
    pub poly_num_vars: Vec<usize>,
    /// The vanishing kind of each committed polynomial (same length as `poly_num_vars`).
    pub vanishing: Vec<Vanishing>,
    /// `a_k` per polynomial: mask `M_k` has degree `< 2^{a_k}` in each of its `μ_k` variables
    /// (committed as a multilinear table in `a_k·μ_k` power variables, [`mask_point`]), so
    /// `2^{a_k·μ_k}` claim points of polynomial `k` are hidden. Empty means every `a_k = 1`
    /// (multilinear masks), the default; larger only for a commitment that must survive many
    /// openings (the zk weight key, [`crate::hiding_key`]).
    #[serde(default)]
    pub mask_degree_bits: Vec<usize>,
}

impl HidingCommitment {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"zkinfer-hiding-whir-commitment".to_vec();
        for digest in self.root.roots() {
            out.extend_from_slice(digest);
        }
        out.extend_from_slice(&(self.poly_num_vars.len() as u64).to_le_bytes());
        for &m in &self.poly_num_vars {
            out.extend_from_slice(&(m as u64).to_le_bytes());
        }
        out.extend(self.vanishing.iter().map(|&k| match k {
            Vanishing::Last => 0u8,
            Vanishing::All => 1u8,
            Vanishing::LastPublic => 2u8,
        }));
        // Absent for multilinear masks: those commitments keep their bytes.
        if !self.mask_degree_bits.is_empty() {
            out.extend_from_slice(b"mask-degree-bits");
            out.extend_from_slice(&(self.mask_degree_bits.len() as u64).to_le_bytes());
            out.extend(self.mask_degree_bits.iter().map(|&a| a as u8));
        }
        out
    }

    /// `a_k` of polynomial `k` (see [`HidingCommitment::mask_degree_bits`]).
    pub fn degree_bits(&self, k: usize) -> usize {
        self.mask_degree_bits.get(k).copied().unwrap_or(1)
    }

    /// Distinct claim points of polynomial `k` the randomised extension hides:
    /// `2^{a_k·min(m_k, MASK_VARS)}`.
    pub fn hidden_points(&self, k: usize) -> usize {
        self.poly_num_vars.get(k).map_or(0, |&m| 1usize << (self.degree_bits(k) * mask_vars(m)))
    }

    /// The vanishing kind of polynomial `k` (`Last` for a commitment that lists fewer).
    pub fn vanishing_of(&self, k: usize) -> Vanishing {
        self.vanishing.get(k).copied().unwrap_or_default()
    }
}

fn shapes_of(polys: &[&[F]]) -> Result<Vec<usize>, PcsError> {
    let mut shapes = Vec::with_capacity(polys.len());
    for (k, p) in polys.iter().enumerate() {
        if !p.len().is_power_of_two() {
            return Err(PcsError::Config(format!("polynomial {k} length is not a power of two")));
        }
        shapes.push(p.len().trailing_zeros() as usize);
    }
    Ok(shapes)
}

/// Prover data: the packed evaluations (secret) and p3-whir's state.
pub struct HidingProverData {
    commitment: HidingCommitment,
    layout: PackedLayout,
    zk: ZkData,
}

impl std::fmt::Debug for HidingProverData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidingProverData").field("commitment", &self.commitment).finish_non_exhaustive()
    }
}

impl HidingProverData {
    /// The commitment.
    pub fn commitment(&self) -> &HidingCommitment {
        &self.commitment
    }

    /// The value of the randomised extension `P̂_k(point)` — what a zk protocol sends as the
    /// claim on polynomial `k` at `point` (never `P_k(point)` itself).
    pub fn evaluate(&self, poly: usize, point: &[EF]) -> Result<EF, PcsError> {
        let k = self.commitment.poly_num_vars.len();
        let m = self.layout.poly_num_vars(poly).filter(|_| poly < k).ok_or_else(|| PcsError::BadClaim(format!("no polynomial {poly}")))?;
        if point.len() != m {
            return Err(PcsError::BadClaim(format!("polynomial {poly} has {m} variables, point has {}", point.len())));
        }
        let packed = self.zk.message.as_slice();
        let slot = |j: usize| {
            let off = self.layout.offset(j);
            let len = 1usize << self.layout.poly_num_vars(j).unwrap_or(0);
            zkinfer_poly::Mle::new(packed[off..off + len].to_vec())
        };
        let mu = mask_vars(m);
        let mask = slot(k + poly).evaluate(&mask_table_point(&point[..mu], self.commitment.degree_bits(poly)));
        Ok(slot(poly).evaluate(point) + self.commitment.vanishing_of(poly).at(point) * mask)
    }

    /// The factor of `v(point_{m−1})` in `P̂_k(point) − P_k(point)`, so that `P̂_k(point) =
    /// P_k(point) + point_{m−1}(1 − point_{m−1})·mask_value(k, point)`: `M_k(point_{<μ})` for
    /// [`Vanishing::Last`], `Π_{i<m−1} v(point_i)·M_k(point_{<μ})` for [`Vanishing::All`]. A
    /// prover whose sumcheck runs over `P̂_k` with the polynomial's last variable summed last
    /// needs it (e.g. a sumcheck mask table committed in this batch: its round mask becomes
    /// `m_j(X) + X(1 − X)·mask_value`); [`HidingProverData::mask_cofactor`] for other variables.
    pub fn mask_value(&self, poly: usize, point: &[EF]) -> Result<EF, PcsError> {
        let m = point.len();
        self.mask_cofactor(poly, point, m.saturating_sub(1))
    }

    /// The factor of `v(point_var)` in `P̂_k(point) − P_k(point)`, for a sumcheck over a view of
    /// `P_k` whose last round binds coordinate `var`: `Z(point)/v(point_var)·M_k(point_{<μ})`.
    /// Refused for `Last` when `var` is not the last coordinate (no factor there). The caller
    /// checks that `var` is not a mask variable (`var ≥ min(m, 4)`, as the masked product
    /// sumcheck does): `M_k` would then depend on it and the round have a higher degree.
    pub fn mask_cofactor(&self, poly: usize, point: &[EF], var: usize) -> Result<EF, PcsError> {
        let k = self.commitment.poly_num_vars.len();
        let m = self.layout.poly_num_vars(poly).filter(|_| poly < k).ok_or_else(|| PcsError::BadClaim(format!("no polynomial {poly}")))?;
        if point.len() != m {
            return Err(PcsError::BadClaim(format!("polynomial {poly} has {m} variables, point has {}", point.len())));
        }
        let off = self.layout.offset(k + poly);
        let mu = mask_vars(m);
        let cofactor = self
            .commitment
            .vanishing_of(poly)
            .cofactor(point, var)
            .ok_or_else(|| PcsError::BadClaim(format!("polynomial {poly}: variable {var} carries no vanishing factor")))?;
        let a = self.commitment.degree_bits(poly);
        let slot = zkinfer_poly::Mle::new(self.zk.message.as_slice()[off..off + (1usize << (MASK_COMPONENT_VARS + a * mu))].to_vec());
        Ok(cofactor * slot.evaluate(&mask_table_point(&point[..mu], a)))
    }
}

fn mask_vars(m: usize) -> usize {
    m.min(MASK_VARS)
}

/// Largest `a` of [`HidingCommitment::mask_degree_bits`] (masks of degree `< 2^8` per variable:
/// `2^32` hidden points per polynomial).
pub const MAX_MASK_DEGREE_BITS: usize = 8;

/// The point of a mask's power-variable table at which it is evaluated for `z_{<μ}`:
/// `(z_0, z_0^2, z_0^4, …, z_0^{2^{a−1}}, z_1, …)`. The multilinear table in these `a·μ` variables
/// is exactly a polynomial of degree `< 2^a` in each `z_i` (monomial `Π z_i^{e_i}` ↔ the bits of
/// the `e_i`), so `2^{a·μ}` points with independent monomial vectors get independent values.
pub fn mask_point(z: &[EF], a: usize) -> Vec<EF> {
    mask_point_into(Vec::with_capacity(a * z.len()), z, a)
}

/// Component variables of a mask table: `M_k = Σ_{c∈{0,1}²} eq(γ, c)·M_{k,c}` with `γ = (X, X²)`
/// (`zkinfer_sumcheck::zk::gamma`) and four base-field tables `M_{k,c}` (the table's first two
/// variables). The committed table is over `F`, but the `eq(γ, c)` span `EF` over `F`, so every
/// monomial coefficient of `M_k` is a uniform *extension* element: `n` monomials hide `n`
/// values at points with independent monomial vectors. Without them (before session 9) the
/// coefficients were base-field entries, three of which hide one `EF` value: a multilinear mask
/// of 16 coefficients hid 5 points, not 16, and one of 2 coefficients (a polynomial of one
/// variable) left an `F`-linear functional of every claimed value unmasked
/// (`hiding_tests::base_field_mask_coefficients_leak_and_component_variables_hide`).
pub const MASK_COMPONENT_VARS: usize = 2;

/// The point of polynomial `k`'s committed mask table at which its value is `M_k(z_{<μ})`:
/// `(γ, mask_point(z_{<μ}, a))` ([`MASK_COMPONENT_VARS`], [`mask_point`]).
pub fn mask_table_point(z: &[EF], a: usize) -> Vec<EF> {
    let g = zkinfer_sumcheck::zk::gamma();
    let mut out = Vec::with_capacity(MASK_COMPONENT_VARS + a * z.len());
    out.extend_from_slice(&g);
    mask_point_into(out, z, a)
}

fn mask_point_into(mut out: Vec<EF>, z: &[EF], a: usize) -> Vec<EF> {
    for &zi in z {
        let mut p = zi;
        for _ in 0..a {
            out.push(p);
            p = p.square();
        }
    }
    out
}

/// Variables of the blinding slot `B`. Its contribution to the opened value is
/// `eq(s_B, r_high)·B(r_low)`; with one variable (two base-field entries, before session 9)
/// `B(r_low)` ranges over a 2-dimensional `F`-subspace of `EF` and one `F`-functional of the
/// opened value was left unblinded; with two variables the four `eq(r_low, c)` span `EF` (random
/// `r`, except with probability `O(1/|EF|)`), so the contribution is uniform
/// (`hiding_tests::the_blinding_slot_spans_the_extension_field`).
pub const BLINDING_VARS: usize = 2;

/// Shapes of the packed hiding batch: the polynomials, their masks, the blinding slot.
fn hiding_layout(poly_num_vars: &[usize], a: &[usize]) -> Result<PackedLayout, PcsError> {
    if !a.is_empty() && a.len() != poly_num_vars.len() {
        return Err(PcsError::Config(format!("{} mask degrees for {} polynomials", a.len(), poly_num_vars.len())));
    }
    if let Some(bad) = a.iter().find(|&&a| !(1..=MAX_MASK_DEGREE_BITS).contains(&a)) {
        return Err(PcsError::Config(format!("mask degree bits {bad} outside 1..={MAX_MASK_DEGREE_BITS}")));
    }
    let a_of = |k: usize| a.get(k).copied().unwrap_or(1);
    if poly_num_vars.is_empty() {
        return Err(PcsError::Config("cannot commit to an empty batch".into()));
    }
    if let Some(k) = poly_num_vars.iter().position(|&m| m == 0) {
        return Err(PcsError::Config(format!("polynomial {k} has no variable: a constant cannot be hidden by a randomised extension")));
    }
    let mut shapes = poly_num_vars.to_vec();
    shapes.extend(poly_num_vars.iter().enumerate().map(|(k, &m)| MASK_COMPONENT_VARS + a_of(k) * mask_vars(m)));
    shapes.push(BLINDING_VARS); // blinding slot
    PackedLayout::with_min_vars(&shapes, MIN_HIDING_VARS)
}

/// The hiding PCS.
#[derive(Clone, Debug, Default)]
pub struct HidingPcs {
    params: HidingParams,
}

fn mmcs() -> ValMmcs {
    ValMmcs::new(SerializingHasher::new(Blake3 {}), CompressionFunctionFromHasher::new(Blake3 {}), 0)
}

impl HidingPcs {
    pub fn new(params: HidingParams) -> Self {
        Self { params }
    }

    pub fn params(&self) -> &HidingParams {
        &self.params
    }

    /// p3-whir's hiding configuration for a packed polynomial in `num_vars` variables.
    pub fn config(&self, num_vars: usize) -> Result<ZkWhirConfig<EF, F, Challenger>, PcsError> {
        if !(MIN_HIDING_VARS..=crate::whir::MAX_NUM_VARS).contains(&num_vars) {
            return Err(PcsError::Config(format!("hiding commitment of 2^{num_vars} entries is outside the supported range")));
        }
        ZkWhirConfig::new(
            num_vars,
            ProtocolParameters {
                security_level: self.params.security_bits,
                pow_bits: self.params.max_pow_bits,
                folding_factor: FoldingFactor::ConstantFromSecondRound(5, 4),
                soundness_type: SecurityAssumption::UniqueDecoding,
                starting_log_inv_rate: 1,
                round_log_inv_rates: vec![],
            },
            ZkParameters { ell_zk: self.params.ell_zk, mask_log_inv_rate: self.params.mask_log_inv_rate },
        )
        .map_err(|e| PcsError::Config(e.to_string()))
    }

    fn engine<R: CryptoRng + ?Sized>(&self, num_vars: usize, rng: &mut R) -> Result<Zk, PcsError> {
        Ok(HidingWhirPcs::new(self.config(num_vars)?, Dft::default(), mmcs(), StdRng::from_rng(rng)))
    }

    /// Commits to a batch (every polynomial needs at least one variable). `rng` must be a
    /// cryptographic generator seeded from unpredictable entropy (e.g.
    /// `StdRng::from_rng(&mut rand::rngs::SysRng)`): it draws the masks, the blinding slot and
    /// the encoding randomness.
    pub fn commit<R: CryptoRng + ?Sized>(&self, polys: &[&[F]], rng: &mut R) -> Result<(HidingCommitment, HidingProverData), PcsError> {
        self.commit_with(polys, &vec![Vanishing::Last; polys.len()], rng)
    }

    /// [`HidingPcs::commit`] with a [`Vanishing`] kind per polynomial.
    pub fn commit_with<R: CryptoRng + ?Sized>(
        &self,
        polys: &[&[F]],
        vanishing: &[Vanishing],
        rng: &mut R,
    ) -> Result<(HidingCommitment, HidingProverData), PcsError> {
        let shapes = shapes_of(polys)?;
        let layout = hiding_layout(&shapes, &[])?;
        let masks: Vec<Vec<F>> = (0..polys.len())
            .map(|j| {
                let len = 1usize << layout.poly_num_vars(polys.len() + j).unwrap_or(0);
                (0..len).map(|_| rng.random::<F>()).collect()
            })
            .collect();
        let mask_refs: Vec<&[F]> = masks.iter().map(Vec::as_slice).collect();
        self.commit_with_masks(polys, vanishing, &mask_refs, &[], rng)
    }

    /// [`HidingPcs::commit_with`] with the masks given (`masks[k]`: `2^{2 + a_k·min(m_k, MASK_VARS)}`
    /// uniformly random entries, the table of [`mask_table_point`]) of degree `< 2^{a_k}` per variable
    /// (`a` empty: every `a_k = 1`): several commitments of the same polynomials may share their masks (the zk weight
    /// key's tickets); `rng` draws the blinding slot and the encoding randomness.
    pub fn commit_with_masks<R: CryptoRng + ?Sized>(
        &self,
        polys: &[&[F]],
        vanishing: &[Vanishing],
        masks: &[&[F]],
        a: &[usize],
        rng: &mut R,
    ) -> Result<(HidingCommitment, HidingProverData), PcsError> {
        if vanishing.len() != polys.len() || masks.len() != polys.len() {
            return Err(PcsError::Config(format!(
                "{} vanishing kinds and {} masks for {} polynomials",
                vanishing.len(),
                masks.len(),
                polys.len()
            )));
        }
        let shapes = shapes_of(polys)?;
        let layout = hiding_layout(&shapes, a)?;
        for (k, m) in masks.iter().enumerate() {
            if Some(m.len()) != layout.poly_num_vars(polys.len() + k).map(|v| 1usize << v) {
                return Err(PcsError::Config(format!("mask {k} has {} entries, not 2^(2 + a·min(m, {MASK_VARS}))", m.len())));
            }
        }
        let blinding: Vec<F> = (0..1usize << BLINDING_VARS).map(|_| rng.random::<F>()).collect();
        let mut all: Vec<&[F]> = polys.to_vec();
        all.extend_from_slice(masks);
        all.push(&blinding);
        let packed = layout.pack(&all)?;
        let engine = self.engine(layout.num_vars(), rng)?;
        let mut scratch = crate::whir::fresh_challenger();
        let (root, zk) = engine.commit(Poly::new(packed), &mut scratch).map_err(|e| PcsError::Config(e.to_string()))?;
        let commitment = HidingCommitment { root, poly_num_vars: shapes, vanishing: vanishing.to_vec(), mask_degree_bits: a.to_vec() };
        Ok((commitment.clone(), HidingProverData { commitment, layout, zk }))
    }

    /// Absorbs a commitment (both sides, before any challenge the claim points depend on).
    pub fn absorb_commitment<T: Transcript>(&self, com: &HidingCommitment, t: &mut T) {
        t.absorb_public_bytes("pcs/hiding-whir-commitment", &com.to_bytes());
    }

    /// Proves claims `P̂_k(z) = v` on the randomised extensions (values from
    /// [`HidingProverData::evaluate`]), revealing nothing about the `P_k` beyond them.
    pub fn open<R: CryptoRng + ?Sized>(
        &self,
        data: HidingProverData,
        claims: &[OpeningClaim],
        t: &mut ProverTranscript,
        rng: &mut R,
    ) -> Result<(), PcsError> {
        check_hiding_claims(&data.layout, &data.commitment, claims)?;
        self.absorb_commitment(&data.commitment, t);
        let (terms, _) = begin(&data.commitment, claims, t);
        let n = data.layout.num_vars();

        // The batching mask: sampled, committed (hiding) and absorbed before Γ and ρ'.
        let shape = MaskShape { num_rounds: n, degree: 2 };
        let mask = SumcheckMask::sample(shape, rng).map_err(|e| PcsError::Config(e.to_string()))?;
        let mut table = mask.table().to_vec();
        table.resize(1usize << MIN_HIDING_VARS.max(shape.num_vars()), F::ZERO);
        let mask_vars_total = table.len().trailing_zeros() as usize;
        let mask_engine = self.engine(mask_vars_total, rng)?;
        let (mask_root, mask_data) = mask_engine
            .commit(Poly::new(table), &mut crate::whir::fresh_challenger())
            .map_err(|e| PcsError::Config(e.to_string()))?;
        t.send_bytes(&encode(&mask_root)?);
        t.send_ext(mask.total_sum());
        let rho_mask = t.challenge_ext();

        let (point, mask_values) = batching::run_rounds(&data.layout, data.zk.message.as_slice(), terms, t, Some((&mask, rho_mask)));
        t.send_exts(&mask_values);

        // Opening of the packed batch at r (reveals only P(r), blinded).
        let mut rounds = point.clone();
        rounds.reverse();
        let engine = self.engine(n, rng)?;
        let mut fork = t.challenger_mut().clone();
        engine.observe_commitment(&data.commitment.root, &mut fork);
        let proof = engine.open(data.zk, vec![Point::new(point)], &mut fork).map_err(|e| PcsError::Config(e.to_string()))?;
        t.send_bytes(&encode(&proof)?);

        // Opening of the mask table at its claim points (reveals only the m_j(r_j) sent above).
        let mask_points = mask_claim_points(shape, mask_vars_total, &rounds);
        let mut fork = t.challenger_mut().clone();
        mask_engine.observe_commitment(&mask_root, &mut fork);
        let proof = mask_engine.open(mask_data, mask_points, &mut fork).map_err(|e| PcsError::Config(e.to_string()))?;
        t.send_bytes(&encode(&proof)?);
        Ok(())
    }

    /// Verifies claims on the randomised extensions against `com`.
    pub fn verify(&self, com: &HidingCommitment, claims: &[OpeningClaim], t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        if com.root.num_roots() != 1 {
            return Err(PcsError::Config("commitment must hold exactly one Merkle root".into()));
        }
        if com.vanishing.len() != com.poly_num_vars.len() {
            return Err(PcsError::Config("commitment lists a vanishing kind per polynomial".into()));
        }
        let layout = hiding_layout(&com.poly_num_vars, &com.mask_degree_bits)?;
        check_hiding_claims(&layout, com, claims)?;
        self.absorb_commitment(com, t);
        let (terms, claim) = begin(com, claims, t);
        let n = layout.num_vars();
        let shape = MaskShape { num_rounds: n, degree: 2 };
        let mask_vars_total = MIN_HIDING_VARS.max(shape.num_vars());

        let mask_root: MerkleRoot = decode(t.receive_bytes()?)?;
        if mask_root.num_roots() != 1 {
            return Err(PcsError::Malformed("mask commitment must hold one Merkle root"));
        }
        let mask_sum = t.receive_ext()?;
        let rho_mask = t.challenge_ext();
        let (point, reduced) = batching::verify_rounds(n, claim + rho_mask * mask_sum, t)?;
        let mask_values = t.receive_exts(n)?;

        let engine = self.engine(n, &mut StdRng::seed_from_u64(0))?;
        let mut fork = t.challenger_mut().clone();
        let proof: ZkProof = decode(t.receive_bytes()?)?;
        engine
            .verify(&com.root, &proof, &mut fork, vec![Point::new(point.clone())])
            .map_err(|e| PcsError::Whir(format!("{e:?}")))?;
        let opened = match proof.evals.as_slice() {
            [v] => *v,
            _ => return Err(PcsError::Malformed("hiding opening carries an unexpected evaluation count")),
        };
        let weight = batching::weight_at(&layout, &terms, &point);
        let mask_total: EF = mask_values.iter().copied().sum();
        if weight * opened + rho_mask * mask_total != reduced {
            return Err(PcsError::ClaimMismatch);
        }

        // The round challenges, in round order, are the batching point reversed.
        let mut rounds = point;
        rounds.reverse();
        let mask_points = mask_claim_points(shape, mask_vars_total, &rounds);
        let mask_engine = self.engine(mask_vars_total, &mut StdRng::seed_from_u64(0))?;
        let mut fork = t.challenger_mut().clone();
        let proof: ZkProof = decode(t.receive_bytes()?)?;
        mask_engine.verify(&mask_root, &proof, &mut fork, mask_points).map_err(|e| PcsError::Whir(format!("{e:?}")))?;
        if proof.evals != mask_values {
            return Err(PcsError::ClaimMismatch);
        }
        Ok(())
    }
}

/// Lifts the mask's claim points (round `j` at challenge `r_j`) into the padded mask table.
fn mask_claim_points(shape: MaskShape, total_vars: usize, round_challenges: &[EF]) -> Vec<Point<EF>> {
    round_challenges
        .iter()
        .enumerate()
        .map(|(j, &r)| {
            let mut p = vec![EF::ZERO; total_vars - shape.num_vars()];
            p.extend(shape.claim_point(j, r));
            Point::new(p)
        })
        .collect()
}

/// Absorbs the claims, draws `ρ`, and returns the batching terms (claim `j` on `P̂_k`: `ρ^j` on
/// `P_k` at `z`, `ρ^j·Z_k(z)` on `M_k` at `z_{<μ}`) and `Σ ρ^j v_j`.
fn begin<T: Transcript>(com: &HidingCommitment, claims: &[OpeningClaim], t: &mut T) -> (Vec<WeightTerm>, EF) {
    let num_polys = com.poly_num_vars.len();
    batching::absorb_claims(claims, t);
    let rho = t.challenge_ext();
    let mut coeff = EF::ONE;
    let mut sum = EF::ZERO;
    let mut terms = Vec::with_capacity(2 * claims.len());
    for c in claims {
        sum += coeff * c.value;
        terms.push(WeightTerm { poly: c.poly, point: c.point.clone(), coeff });
        let mu = mask_vars(c.point.len());
        terms.push(WeightTerm {
            poly: num_polys + c.poly,
            point: mask_table_point(&c.point[..mu], com.degree_bits(c.poly)),
            coeff: coeff * com.vanishing_of(c.poly).at(&c.point),
        });
        coeff *= rho;
    }
    (terms, sum)
}

/// Claims must name committed polynomials (not masks), with points of the right length, at
/// most `2^{μ_k}` distinct points per polynomial, and `Z_k(z) ≠ 0` (a last coordinate, or for
/// [`Vanishing::All`] every coordinate, outside `{0, 1}`; else the randomised extension equals
/// `P_k` there and hides nothing) — except *public zero claims*: `Z_k(z) = 0` with the value 0,
/// whose value the verifier knows (the statement says it is zero), so it reveals nothing; their
/// opening is sound as any other (`P̂_k(z) = P_k(z)` there) and they read no mask.
fn check_hiding_claims(layout: &PackedLayout, com: &HidingCommitment, claims: &[OpeningClaim]) -> Result<(), PcsError> {
    let num_polys = com.poly_num_vars.len();
    if claims.is_empty() {
        return Err(PcsError::BadClaim("no claims".into()));
    }
    let mut points: std::collections::BTreeMap<usize, Vec<&[EF]>> = std::collections::BTreeMap::new();
    for (j, c) in claims.iter().enumerate() {
        if c.poly >= num_polys {
            return Err(PcsError::BadClaim(format!("claim {j} names polynomial {} of a batch of {num_polys}", c.poly)));
        }
        let m = layout.poly_num_vars(c.poly).unwrap_or(0);
        if c.point.len() != m {
            return Err(PcsError::BadClaim(format!("claim {j}: polynomial {} has {m} variables, point has {}", c.poly, c.point.len())));
        }
        if com.vanishing_of(c.poly).at(&c.point) == EF::ZERO {
            // A public zero claim (`P̂_k(z) = P_k(z) = 0`, e.g. the zk setup proof's padding
            // claims) reveals nothing the statement does not: allowed, and it reads no mask, so
            // it counts towards no hidden-point budget.
            if c.value == EF::ZERO {
                continue;
            }
            let which = match com.vanishing_of(c.poly) {
                Vanishing::Last | Vanishing::LastPublic => "last coordinate",
                Vanishing::All => "a coordinate",
            };
            return Err(PcsError::BadClaim(format!("claim {j}: {which} is 0 or 1, the value would not be hidden (only a public zero claim may be)")));
        }
        // The mask reads only the first `μ = min(m, MASK_VARS)` coordinates, so two different
        // points on one μ-prefix see the same mask value and `Z(z₂)·v₁ − Z(z₁)·v₂` would be a
        // plain linear functional of the polynomial (review 7): refused; distinct prefixes count.
        // A public-valued polynomial's claims hide nothing ([`Vanishing::LastPublic`]).
        if com.vanishing_of(c.poly) == Vanishing::LastPublic {
            continue;
        }
        let mu = mask_vars(m);
        let seen = points.entry(c.poly).or_default();
        if !seen.contains(&c.point.as_slice()) {
            if seen.iter().any(|p| p[..mu] == c.point[..mu]) {
                return Err(PcsError::BadClaim(format!(
                    "claim {j}: polynomial {} is claimed at two points with the same first {mu} coordinates, which the mask would not hide",
                    c.poly
                )));
            }
            seen.push(&c.point);
        }
        if seen.len() > com.hidden_points(c.poly) {
            return Err(PcsError::BadClaim(format!("polynomial {} has more than {} distinct claim points", c.poly, com.hidden_points(c.poly))));
        }
    }
    Ok(())
}

fn options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_fixint_encoding().with_little_endian().reject_trailing_bytes()
}

fn encode<T: Serialize>(x: &T) -> Result<Vec<u8>, PcsError> {
    use bincode::Options;
    options().serialize(x).map_err(|e| PcsError::Config(format!("cannot serialise: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, PcsError> {
    use bincode::Options;
    options().with_limit(bytes.len() as u64).deserialize(bytes).map_err(|_| PcsError::Malformed("hiding proof bytes do not decode"))
}

#[cfg(test)]
#[path = "hiding_tests.rs"]
mod tests;

#[path = "hiding_sparse.rs"]
pub mod sparse;
