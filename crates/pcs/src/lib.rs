//! Polynomial commitments for zkinfer: the [`Pcs`] trait, its WHIR implementation
//! ([`WhirPcs`]) and the [`OpeningAccumulator`] that batches every claim into one opening.
//!
//! # Protocol (one commitment, many claims)
//!
//! * **Commit.** A batch of multilinear polynomials `P_0..P_{K−1}` over Goldilocks (different
//!   sizes allowed) is packed into ONE polynomial `P` in `n` variables, each `P_k` in an aligned
//!   slot, so that `P_k(z) = P(s_k, z)` with `s_k` boolean selector bits ([`packing`]). `P` is
//!   committed with WHIR: Reed–Solomon codeword, Blake3 Merkle root ([`whir`]).
//! * **Open.** Claims `P_{k_j}(z_j) = v_j` (points in the cubic extension `EF`) are absorbed
//!   into the transcript, combined with a random `ρ` and reduced by one degree-2 sumcheck on
//!   `Σ_x W(x)·P(x)`, `W = Σ_j ρ^j eq((s_{k_j}, z_j), ·)`, to a single claim on `P(r)`
//!   ([`batching`]); `P(r)` is proven by ONE WHIR opening. The verifier computes `W(r)` itself.
//!
//! * **Groups.** A batch whose total size `S = Σ 2^{m_k}` is at least `2^24` and would waste more
//!   than a third of its packed polynomial (`2^⌈log2 S⌉ > 1.5·S`) is committed as several packed
//!   polynomials instead ([`commitment_groups`]): the largest polynomials filling exactly the
//!   largest power of two `≤ S`, then the rest by the same rule. Each group is its own WHIR commitment (the
//!   commitment's Merkle cap holds one root per group, in group order); an opening runs the
//!   batching sumcheck and one WHIR opening per group that has claims. The grouping is a function
//!   of the shapes alone, so both sides derive it. A batch of 134.5M entries (SmolLM2-135M's
//!   weights) commits 2^27 + 2^19 entries instead of 2^28: half the codeword, Merkle tree and
//!   packed copy. Every smaller or well-filled batch is one group, encoded and proven exactly as
//!   before.
//!
//! Binding: [`Pcs::open`]/[`Pcs::verify`] absorb the commitment (root and layout) before
//! drawing anything. The caller must also absorb the commitment *before* deriving the
//! challenges its claim points depend on ([`Pcs::absorb_commitment`]) — otherwise a prover could
//! commit after seeing the points.
//!
//! Zero knowledge: [`WhirPcs`] is not hiding (openings reveal codeword entries and linear
//! combinations of the committed values). [`hiding::HidingPcs`] is the hiding variant (p3-whir's
//! `HidingWhirPcs` for the codeword, randomised extensions for the claimed values, a masked
//! batching sumcheck, a blinding slot for the opened value); see its module docs and
//! `docs/SECURITY.md`.

pub mod accumulator;
pub mod batching;
mod compact;
pub mod hiding;
pub mod hiding_key;
pub mod packing;
pub mod sparse;
pub mod whir;
#[cfg(test)]
mod release_tests;

use std::fmt::Debug;

use p3_maybe_rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_transcript::{ProverTranscript, Transcript, TranscriptError, VerifierTranscript};

pub use accumulator::{Opening, OpeningAccumulator, Origin, PolyId};
/// Memory tracing lives in `zkinfer-procfs` (the one `/proc` reader); re-exported under its old path.
pub use zkinfer_procfs::mem_trace;
pub use packing::PackedLayout;
pub use sparse::{SparseLayout, SparsePoly};
pub use whir::{MerkleRoot, ProximityBound, WhirParams};

/// Why a commitment, opening or verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcsError {
    /// Parameters or batch shapes the PCS cannot handle (a caller/configuration error).
    #[error("invalid PCS configuration: {0}")]
    Config(String),
    /// A claim names a polynomial that is not in the batch or has a point of the wrong length.
    #[error("invalid opening claim: {0}")]
    BadClaim(String),
    /// The proof bytes are truncated or do not decode.
    #[error("malformed opening proof: {0}")]
    Malformed(&'static str),
    /// Reading the proof from the transcript failed.
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// The WHIR proximity/opening proof was rejected.
    #[error("WHIR verification failed: {0}")]
    Whir(String),
    /// The opened value is inconsistent with the claimed evaluations.
    #[error("opened value does not match the batched claims")]
    ClaimMismatch,
}

/// One claimed evaluation `P_poly(point) = value` of a committed polynomial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningClaim {
    /// Index of the polynomial within the committed batch.
    pub poly: usize,
    /// The evaluation point (`x_0` first, the workspace convention).
    pub point: Vec<EF>,
    /// The claimed value.
    pub value: EF,
}

/// A polynomial commitment scheme for batches of multilinear polynomials over `F`, opened at
/// points over `EF`.
pub trait Pcs {
    /// The public commitment (goes into verifying keys / proofs).
    type Commitment: Clone + Serialize + DeserializeOwned + PartialEq + Debug;
    /// What the prover keeps between commit and open.
    type ProverData;

    /// Commits to a batch of polynomials (sizes may differ). Fails on an empty batch or one too
    /// large for the scheme.
    fn commit(&self, polys: &[Mle<F>]) -> Result<(Self::Commitment, Self::ProverData), PcsError>;

    /// Absorbs the commitment into a transcript. Call it (on both sides) before drawing any
    /// challenge that claim points on the committed polynomials depend on.
    fn absorb_commitment<T: Transcript>(&self, com: &Self::Commitment, t: &mut T);

    /// Proves all `claims` (on polynomials of one commitment) at once.
    fn open(
        &self,
        data: &Self::ProverData,
        claims: &[OpeningClaim],
        t: &mut ProverTranscript,
    ) -> Result<(), PcsError>;

    /// Like [`Pcs::open`] but consumes the prover data, which lets a backend avoid a copy.
    fn open_consuming(
        &self,
        data: Self::ProverData,
        claims: &[OpeningClaim],
        t: &mut ProverTranscript,
    ) -> Result<(), PcsError> {
        self.open(&data, claims, t)
    }

    /// Verifies the opening of all `claims` against `com`.
    fn verify(
        &self,
        com: &Self::Commitment,
        claims: &[OpeningClaim],
        t: &mut VerifierTranscript<'_>,
    ) -> Result<(), PcsError>;
}

/// Commitment of [`WhirPcs`]: the WHIR Merkle root and the batch's shapes (which fix the
/// packed layout).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhirCommitment {
    /// Merkle root of the Reed–Solomon codeword of each group's packed polynomial (one root per
    /// group of [`commitment_groups`], in order; one for all but very large, badly filled batches).
    pub root: MerkleRoot,
    /// Number of variables of each committed polynomial, in batch order.
    pub poly_num_vars: Vec<usize>,
}

impl WhirCommitment {
    /// Canonical bytes (absorbed into transcripts).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + 4 * self.poly_num_vars.len());
        out.extend_from_slice(b"zkinfer-whir-commitment");
        for digest in self.root.roots() {
            out.extend_from_slice(digest);
        }
        out.extend_from_slice(&(self.poly_num_vars.len() as u64).to_le_bytes());
        for &m in &self.poly_num_vars {
            out.extend_from_slice(&(m as u64).to_le_bytes());
        }
        out
    }
}

/// Length of one Merkle root in [`WhirCommitment::roots_bytes`].
pub const ROOT_BYTES: usize = 32;

impl WhirCommitment {
    /// The Merkle roots alone, concatenated in group order: what a prover sends for a batch whose
    /// shapes the verifier derives itself (it rebuilds the commitment with
    /// [`WhirPcs::commitment_from_roots`]; the shapes are then not part of the proof).
    pub fn roots_bytes(&self) -> Vec<u8> {
        self.root.roots().iter().flat_map(|d| d.iter().copied()).collect()
    }
}

/// Batches from this total size on may be split into several groups ([`commitment_groups`]).
pub const SPLIT_FROM_VARS: usize = 24;

/// How a batch with polynomials of `poly_num_vars` variables is committed: the batch indices of
/// each group, ascending within a group. One group (the whole batch) unless the total
/// `S = Σ 2^{m_k}` is at least `2^SPLIT_FROM_VARS` and its power-of-two padding would exceed
/// `1.5·S`; then the polynomials taken largest first (ties in batch order) until they fill
/// exactly `2^⌊log2 S⌋` — a prefix of non-increasing powers of two, each no larger than that,
/// reaches every multiple of its last element, so it hits the bound exactly — form the first
/// group, and the rest is grouped by the same rule (a batch of `2^28 + 2^26 + 2^24` entries is
/// three groups of those sizes, not `2^28` and a `2^27`-entry packing of the rest). The
/// commitment's Merkle cap holds a power-of-two number of roots, so while the count is not a
/// power of two the last two groups are merged (those three groups become `2^28` and
/// `2^26 + 2^24`; four stay four).
pub fn commitment_groups(poly_num_vars: &[usize]) -> Vec<Vec<usize>> {
    commitment_groups_from(poly_num_vars, SPLIT_FROM_VARS, None)
}

/// The groups of a batch when no group may pad beyond `2^max_group_vars` entries (a chunk's
/// witness, [`WhirPcs::with_max_group_vars`]): a batch whose power of two is at most that bound
/// is ONE group, however much it wastes (a split would cost one more opening to save memory
/// below the bound); a larger batch is cut as [`commitment_groups`] cuts a badly filled one —
/// its largest polynomials fill exactly `min(2^⌊log2 S⌋, max(2^max_group_vars, largest))`
/// first — and so is every rest whose padding wastes more than a third or exceeds the bound.
/// Groups are NOT merged: the Merkle cap is padded with [`EMPTY_ROOT`]s up to a power of two
/// instead. So at a bound of 2^27 a batch of `(4/3)·2^27` entries is `2^27 + 2^25 + …` rather
/// than one group of `2^28`, and one of `2^26 + 2^20` is one group of 2^27, not two.
pub fn commitment_groups_capped(poly_num_vars: &[usize], max_group_vars: usize) -> Vec<Vec<usize>> {
    commitment_groups_from(poly_num_vars, SPLIT_FROM_VARS, Some(max_group_vars))
}

/// The entries a batch of `entries` committed entries (in polynomials of at most
/// `2^max_group_vars` entries each, if given) takes once grouped by [`commitment_groups`] or
/// [`commitment_groups_capped`] — computed from the total alone, as if the batch were made of
/// polynomials small enough to fill every group exactly (the memory estimate's model).
pub fn grouped_entries(entries: u64, max_group_vars: Option<usize>) -> u64 {
    let max = max_group_vars.map_or(u64::MAX, |m| 1u64 << m);
    let mut rest = entries.max(1);
    let mut out = 0u64;
    loop {
        let p = rest.next_power_of_two();
        let whole_fits = out == 0 && p <= max && max_group_vars.is_some();
        if rest < 1 << SPLIT_FROM_VARS || whole_fits || (2 * p <= 3 * rest && p <= max) {
            return out + p;
        }
        let head = (1u64 << (63 - rest.leading_zeros())).min(max);
        out += head;
        rest -= head;
        if rest == 0 {
            return out;
        }
    }
}

/// The padding of a Merkle cap beyond the groups' roots ([`commitment_groups_capped`]): a fixed
/// value both sides use, never a hash of a codeword (a group's root equal to it would be a Blake3
/// preimage of zero); the verifier rejects a commitment whose padding differs.
pub const EMPTY_ROOT: [u8; 32] = [0u8; 32];

/// [`commitment_groups`] with the split threshold and the group bound as parameters (tests use
/// small batches).
fn commitment_groups_from(poly_num_vars: &[usize], split_from_vars: usize, max_group_vars: Option<usize>) -> Vec<Vec<usize>> {
    let mut groups = split_groups(poly_num_vars, split_from_vars, max_group_vars);
    if max_group_vars.is_some() {
        return groups;
    }
    // A cap of 3, 5, 6 or 7 roots does not exist (`MerkleRoot::new` would panic): merge the last
    // two groups until the count is a power of two (at least one group always remains).
    while groups.len() > 1 && !groups.len().is_power_of_two() {
        if let Some(last) = groups.pop()
            && let Some(prev) = groups.last_mut()
        {
            prev.extend(last);
            prev.sort_unstable();
        }
    }
    groups
}

/// The splitting rule of [`commitment_groups`] before the group count is made a power of two.
fn split_groups(poly_num_vars: &[usize], split_from_vars: usize, max_group_vars: Option<usize>) -> Vec<Vec<usize>> {
    let all: Vec<usize> = (0..poly_num_vars.len()).collect();
    if poly_num_vars.iter().any(|&m| m > whir::MAX_NUM_VARS) {
        return vec![all];
    }
    let max_size = max_group_vars.map_or(u128::MAX, |m| 1u128 << m.min(whir::MAX_NUM_VARS));
    let mut order = all;
    order.sort_by_key(|&k| std::cmp::Reverse(poly_num_vars[k]));
    let mut groups = Vec::new();
    let mut rest: &[usize] = &order;
    loop {
        let total: u128 = rest.iter().map(|&k| 1u128 << poly_num_vars[k]).sum();
        let padded = total.next_power_of_two();
        // Under a bound, a whole batch that pads to at most the bound is one group whatever it
        // wastes (splitting it would cost an opening and save memory below the bound only).
        let whole_fits = groups.is_empty() && padded <= max_size && max_group_vars.is_some();
        if total < 1u128 << split_from_vars || whole_fits || (2 * padded <= 3 * total && padded <= max_size) {
            let mut last = rest.to_vec();
            last.sort_unstable();
            groups.push(last);
            return groups;
        }
        // `rest` is sorted largest first; a polynomial larger than the bound is a group alone.
        let largest = rest.first().map_or(1u128, |&k| 1u128 << poly_num_vars[k]);
        let head_size = (1u128 << (127 - total.leading_zeros())).min(max_size.max(largest));
        let mut filled = 0u128;
        let mut cut = 0;
        while filled < head_size {
            filled += 1u128 << poly_num_vars[rest[cut]];
            cut += 1;
        }
        debug_assert_eq!(filled, head_size);
        let mut head = rest[..cut].to_vec();
        head.sort_unstable();
        groups.push(head);
        rest = &rest[cut..];
        if rest.is_empty() {
            return groups;
        }
    }
}

/// One group of a commitment: its polynomials (batch indices), packed layout and WHIR data.
#[derive(Clone)]
struct GroupData {
    polys: Vec<usize>,
    layout: PackedLayout,
    whir: GroupState,
}

/// What a group keeps between commit and opening.
#[derive(Clone)]
enum GroupState {
    /// p3-whir's prover data: the packed polynomial, its codeword and the codeword's Merkle tree.
    Held(whir::WhirData),
    /// The packed polynomial and its root only ([`WhirPcs::commit_owned_releasing`]): the codeword
    /// and the tree (about 2.5× the packed polynomial at rate 1/2) were dropped once the root was
    /// computed and are rebuilt by the opening.
    Released { packed: Vec<F>, root: MerkleRoot },
}

impl GroupState {
    /// The packed polynomial's evaluations.
    fn packed(&self) -> &[F] {
        match self {
            Self::Held(data) => whir::WhirEngine::committed_evals(data),
            Self::Released { packed, .. } => packed,
        }
    }

    /// p3-whir's prover data for the opening: held, or rebuilt from the packed polynomial (the
    /// same DFT and Merkle tree as at commit time: deterministic, so the opening is the one the
    /// held data would give; a different root is an internal error, never a proof against it).
    /// The rebuild runs on a [`whir::WhirEngine::detached`] engine, so its DFT tables (256 MiB
    /// at 2^28 entries) are freed before the opening starts, where the packed polynomial, the
    /// codeword, its tree and p3's first sumcheck tables are resident together (the one-pass
    /// SmolLM2 proof's peak).
    fn into_whir(self, engine: &whir::WhirEngine) -> Result<whir::WhirData, PcsError> {
        match self {
            Self::Held(data) => Ok(data),
            Self::Released { packed, root } => {
                mem_trace("open: recomputing the codeword");
                let (again, data) = engine.detached().commit(packed)?;
                mem_trace("open: codeword recomputed");
                if again != root {
                    return Err(PcsError::Config("the recomputed codeword's Merkle root differs from the committed one".into()));
                }
                Ok(data)
            }
        }
    }
}

/// Prover data of [`WhirPcs`].
pub struct WhirProverData {
    commitment: WhirCommitment,
    groups: Vec<GroupData>,
    /// `(group, index in the group)` of each polynomial of the batch.
    place: Vec<(usize, usize)>,
}

impl Debug for WhirProverData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhirProverData")
            .field("commitment", &self.commitment)
            .field("layouts", &self.layouts())
            .finish_non_exhaustive()
    }
}

impl WhirProverData {
    /// The commitment this data belongs to.
    pub fn commitment(&self) -> &WhirCommitment {
        &self.commitment
    }

    /// The packed layout of each group ([`commitment_groups`]).
    pub fn layouts(&self) -> Vec<&PackedLayout> {
        self.groups.iter().map(|g| &g.layout).collect()
    }

    /// The evaluations of committed polynomial `k` (batch order), read from the packed
    /// polynomial the commitment holds: a caller that moved its columns into
    /// [`WhirPcs::commit_owned`] reads them back here instead of keeping a copy.
    pub fn poly_evals(&self, k: usize) -> Option<&[F]> {
        let &(g, i) = self.place.get(k)?;
        let group = &self.groups[g];
        let offset = group.layout.offset(i);
        let len = 1usize << group.layout.poly_num_vars(i)?;
        group.whir.packed().get(offset..offset + len)
    }
}

impl Clone for WhirProverData {
    fn clone(&self) -> Self {
        Self { commitment: self.commitment.clone(), groups: self.groups.clone(), place: self.place.clone() }
    }
}

/// The claims on the polynomials of `group`, renumbered within the group (claim order kept).
/// Fails on a claim naming no polynomial of the batch.
fn group_claims(num_polys: usize, groups: &[Vec<usize>], claims: &[OpeningClaim]) -> Result<Vec<Vec<OpeningClaim>>, PcsError> {
    let mut place = vec![(0usize, 0usize); num_polys];
    for (g, polys) in groups.iter().enumerate() {
        for (i, &k) in polys.iter().enumerate() {
            place[k] = (g, i);
        }
    }
    let mut out = vec![Vec::new(); groups.len()];
    for c in claims {
        let &(g, i) = place.get(c.poly).ok_or_else(|| PcsError::BadClaim(format!("polynomial {} is not in the batch", c.poly)))?;
        out[g].push(OpeningClaim { poly: i, point: c.point.clone(), value: c.value });
    }
    Ok(out)
}

/// The WHIR-backed [`Pcs`]: Goldilocks, challenges in the cubic extension, Blake3 Merkle trees.
#[derive(Clone, Debug)]
pub struct WhirPcs {
    engine: whir::WhirEngine,
    /// [`SPLIT_FROM_VARS`] except in tests ([`WhirPcs::with_split_from_vars`]).
    split_from_vars: usize,
    /// No group pads beyond `2^this` ([`WhirPcs::with_max_group_vars`]); `None`: [`commitment_groups`].
    max_group_vars: Option<usize>,
}

impl Default for WhirPcs {
    fn default() -> Self {
        Self::new(WhirParams::default())
    }
}

impl WhirPcs {
    pub fn new(params: WhirParams) -> Self {
        Self { engine: whir::WhirEngine::new(params), split_from_vars: SPLIT_FROM_VARS, max_group_vars: None }
    }

    /// Test hook: splits batches into groups from `2^vars` entries on instead of
    /// `2^SPLIT_FROM_VARS` (prover and verifier must use the same value).
    pub fn with_split_from_vars(mut self, vars: usize) -> Self {
        self.split_from_vars = vars;
        self
    }

    /// Groups batches by [`commitment_groups_capped`] (no group padded beyond `2^vars` entries,
    /// the Merkle cap padded with [`EMPTY_ROOT`]s) instead of [`commitment_groups`]: a different
    /// commitment of the same batch, so prover and verifier must agree on it (a chunk's witness,
    /// `zkinfer_verifier::chunked`).
    pub fn with_max_group_vars(mut self, vars: usize) -> Self {
        self.max_group_vars = Some(vars);
        self
    }

    fn groups(&self, poly_num_vars: &[usize]) -> Vec<Vec<usize>> {
        commitment_groups_from(poly_num_vars, self.split_from_vars, self.max_group_vars)
    }

    /// How many groups (WHIR commitments, each with its own candidate list and opening) a batch
    /// of these shapes is committed as: computed from the shapes alone, the same on both sides.
    pub fn num_groups(&self, poly_num_vars: &[usize]) -> usize {
        self.groups(poly_num_vars).len()
    }

    /// The packed polynomial's number of variables of each group a batch of these shapes is
    /// committed as (group order): what a commitment and an opening hold in memory (the memory
    /// estimate of `zkinfer_proof::memory`).
    pub fn group_num_vars(&self, poly_num_vars: &[usize]) -> Result<Vec<usize>, PcsError> {
        self.groups(poly_num_vars)
            .iter()
            .map(|g| PackedLayout::new(&g.iter().map(|&k| poly_num_vars[k]).collect::<Vec<_>>()).map(|l| l.num_vars()))
            .collect()
    }

    /// Checks that `com`'s Merkle cap holds one root per group of its batch, then
    /// [`EMPTY_ROOT`]s up to the next power of two, and returns the groups.
    fn checked_groups(&self, com: &WhirCommitment) -> Result<Vec<Vec<usize>>, PcsError> {
        let groups = self.groups(&com.poly_num_vars);
        let cap = groups.len().next_power_of_two();
        if com.root.num_roots() != cap {
            return Err(PcsError::Config(format!("commitment must hold {cap} Merkle root(s): one per group ({}), then empty roots", groups.len())));
        }
        if com.root.roots()[groups.len()..].iter().any(|r| *r != EMPTY_ROOT) {
            return Err(PcsError::Config("a Merkle cap's padding is not the empty root".into()));
        }
        Ok(groups)
    }

    /// The commitment to a batch of the given shapes from the roots a prover sent
    /// ([`WhirCommitment::roots_bytes`]): exactly one [`ROOT_BYTES`]-byte root per group of the
    /// batch ([`commitment_groups`]), then [`EMPTY_ROOT`]s up to a power of two (only with
    /// [`WhirPcs::with_max_group_vars`]); any other length or padding is an error, never a panic.
    pub fn commitment_from_roots(&self, poly_num_vars: Vec<usize>, bytes: &[u8]) -> Result<WhirCommitment, PcsError> {
        let groups = self.groups(&poly_num_vars).len();
        let cap = groups.next_power_of_two();
        if bytes.len() != cap * ROOT_BYTES {
            return Err(PcsError::Malformed("commitment roots: not one 32-byte root per group of the batch (and empty roots to a power of two)"));
        }
        if bytes[groups * ROOT_BYTES..].iter().any(|&b| b != 0) {
            return Err(PcsError::Config("a Merkle cap's padding is not the empty root".into()));
        }
        let roots = bytes
            .chunks_exact(ROOT_BYTES)
            .map(|c| {
                let mut d = [0u8; ROOT_BYTES];
                d.copy_from_slice(c);
                d
            })
            .collect();
        Ok(WhirCommitment { root: MerkleRoot::new(roots), poly_num_vars })
    }

    pub fn params(&self) -> &WhirParams {
        self.engine.params()
    }

    /// The derived WHIR schedule for a packed polynomial in `num_vars` variables (for docs and
    /// diagnostics): `(round, folding factor, queries, OOD samples, PoW bits)` per round.
    pub fn schedule(&self, num_vars: usize) -> Result<String, PcsError> {
        let config = self.engine.config(num_vars)?;
        let mut s = format!(
            "n={num_vars}: commitment OOD samples {}, starting folding PoW {} bits, folding schedule {:?}\n",
            config.commitment_ood_samples(),
            config.starting_folding_pow_bits(),
            config.folding_schedule()
        );
        for (i, r) in config.round_parameters().iter().enumerate() {
            s += &format!(
                "  round {i}: vars {} log_inv_rate {} queries {} ood {} pow {} folding-pow {}\n",
                r.num_variables, r.log_inv_rate, r.num_queries, r.ood_samples, r.pow_bits, r.folding_pow_bits
            );
        }
        let (bits, list) = self.engine.composed_security(num_vars)?;
        s += &format!("  composed WHIR soundness: {bits:.1} bits (list size 2^{list:.1})\n");
        let term = config.terminal();
        s += &format!(
            "  final: queries {} pow {} final sumcheck rounds {} final folding pow {}\n",
            term.num_queries,
            term.pow_bits,
            config.final_sumcheck_rounds(),
            config.final_folding_pow_bits()
        );
        Ok(s)
    }

    /// Commits to polynomials given as evaluation slices (avoids building `Mle`s).
    pub fn commit_slices(&self, polys: &[&[F]]) -> Result<(WhirCommitment, WhirProverData), PcsError> {
        let lens: Vec<usize> = polys.iter().map(|p| p.len()).collect();
        self.commit_with(&lens, PolySource::Slices(polys), |_| false)
    }

    /// Commits to polynomials given by value, freeing each one as soon as it is copied into its
    /// group's packed polynomial (the batch and the packed copy are never both whole in memory);
    /// [`WhirProverData::poly_evals`] reads them back.
    pub fn commit_owned(&self, polys: Vec<Vec<F>>) -> Result<(WhirCommitment, WhirProverData), PcsError> {
        let lens: Vec<usize> = polys.iter().map(Vec::len).collect();
        self.commit_with(&lens, PolySource::Owned(polys), |_| false)
    }

    /// [`WhirPcs::commit_owned`] that keeps only each group's packed polynomial and Merkle root
    /// between commit and opening: the codeword and Merkle tree (about 2.5× the packed
    /// polynomial's bytes at rate 1/2) are dropped once the root is computed, and the opening
    /// recomputes them (one more DFT and Merkle tree per opened group: prove time for memory).
    /// Same commitment, same transcript, byte for byte, as [`WhirPcs::commit_owned`].
    pub fn commit_owned_releasing(&self, polys: Vec<Vec<F>>) -> Result<(WhirCommitment, WhirProverData), PcsError> {
        let lens: Vec<usize> = polys.iter().map(Vec::len).collect();
        self.commit_with(&lens, PolySource::Owned(polys), |_| true)
    }

    /// [`WhirPcs::commit_owned`] that holds the FIRST group's codeword and Merkle tree and
    /// releases every later group's, as [`WhirPcs::commit_owned_releasing`] does: a batch of one
    /// group is committed exactly as by [`WhirPcs::commit_owned`]; a batch of several keeps the
    /// resident memory of its later groups (about 2.5× their packed polynomials at rate 1/2) out
    /// of the caller's work between commit and opening, for one more DFT and Merkle tree per
    /// later group at the opening, which runs after the first group's opening has freed its data
    /// (a chunk's witness, `zkinfer_verifier::chunked`: its lookup GKRs run in that window).
    /// Same commitment, same transcript, byte for byte, as [`WhirPcs::commit_owned`].
    pub fn commit_owned_releasing_rest(&self, polys: Vec<Vec<F>>) -> Result<(WhirCommitment, WhirProverData), PcsError> {
        let lens: Vec<usize> = polys.iter().map(Vec::len).collect();
        self.commit_with(&lens, PolySource::Owned(polys), |g| g > 0)
    }

    /// Commits polynomials of lengths `lens` read from `source` (an owned polynomial is freed once
    /// copied into its group's packed polynomial); `release(g)`: keep group `g`'s packed
    /// polynomial and root only ([`GroupState::Released`]).
    fn commit_with(&self, lens: &[usize], mut source: PolySource<'_>, release: impl Fn(usize) -> bool) -> Result<(WhirCommitment, WhirProverData), PcsError> {
        let mut shapes = Vec::with_capacity(lens.len());
        for (k, &n) in lens.iter().enumerate() {
            if !n.is_power_of_two() {
                return Err(PcsError::Config(format!("polynomial {k} length is not a power of two")));
            }
            shapes.push(n.trailing_zeros() as usize);
        }
        let mut roots = Vec::new();
        let mut groups = Vec::new();
        let mut place = vec![(0, 0); shapes.len()];
        for (g, polys_of_group) in self.groups(&shapes).into_iter().enumerate() {
            let layout = PackedLayout::new(&polys_of_group.iter().map(|&k| shapes[k]).collect::<Vec<_>>())?;
            let mut packed = vec![F::ZERO; 1usize << layout.num_vars()];
            let slots: Vec<(usize, usize)> = polys_of_group.iter().enumerate().map(|(i, &k)| (layout.offset(i), lens[k])).collect();
            source.pack_group(&polys_of_group, &slots, &mut packed);
            for (i, &k) in polys_of_group.iter().enumerate() {
                place[k] = (g, i);
            }
            mem_trace("commit: packed");
            let (root, whir) = if release(g) {
                // A detached engine: the twiddle tables of this codeword's DFT are not kept
                // through the rest of the proof (the opening rebuilds the codeword the same way).
                let (root, packed) = self.engine.detached().commit_root_spilling(packed)?;
                (root.clone(), GroupState::Released { packed, root })
            } else {
                let (root, data) = self.engine.commit(packed)?;
                (root, GroupState::Held(data))
            };
            mem_trace("commit: committed");
            roots.extend_from_slice(root.roots());
            groups.push(GroupData { polys: polys_of_group, layout, whir });
        }
        roots.resize(groups.len().next_power_of_two(), EMPTY_ROOT);
        let root = MerkleRoot::new(roots);
        let commitment = WhirCommitment { root, poly_num_vars: shapes };
        Ok((commitment.clone(), WhirProverData { commitment, groups, place }))
    }

    /// Opens with owned prover data: the batching sumcheck reads the packed evaluations held
    /// by the WHIR state, then the WHIR state is moved into the opening.
    fn open_owned(
        &self,
        data: WhirProverData,
        claims: &[OpeningClaim],
        t: &mut ProverTranscript,
    ) -> Result<(), PcsError> {
        let polys: Vec<Vec<usize>> = data.groups.iter().map(|g| g.polys.clone()).collect();
        let per_group = group_claims(data.commitment.poly_num_vars.len(), &polys, claims)?;
        for (g, c) in data.groups.iter().zip(&per_group) {
            batching::check_claims(&g.layout, c)?;
        }
        self.absorb_commitment(&data.commitment, t);
        let roots = data.commitment.root.roots().to_vec();
        for ((g, c), root) in data.groups.into_iter().zip(&per_group).zip(roots) {
            if c.is_empty() {
                continue;
            }
            let packed = g.whir.packed();
            mem_trace("open: before batching");
            let point = batching::prove(&g.layout, packed, c, t);
            mem_trace("open: after batching");
            // WHIR runs on a fork taken before the proof bytes are written (see `whir` docs).
            let mut fork = t.challenger_mut().clone();
            let whir = g.whir.into_whir(&self.engine)?;
            let proof = self.engine.open(&MerkleRoot::new(vec![root]), whir, &point, &mut fork)?;
            t.send_bytes(&whir::encode_proof(&proof)?);
            mem_trace("open: after WHIR opening");
        }
        Ok(())
    }
}

/// Before a sparse opening's groups are opened one by one: every released group but the first
/// ([`GroupState::Released`]) waits for its turn with its packed polynomial compressed in memory
/// ([`compact`], at most [`whir::COMPACT_MAX_BYTES_PER_ENTRY`] bytes per entry; a polynomial that
/// does not compress that well stays as it is), so that the groups opened before it — each with
/// its codeword, tree and sumcheck tables resident — do not run beside its 8 B per entry (GPT-2
/// small, a chunk of three 2^27-entry groups: ≈ 2 GB less at the first group's opening). Each is
/// decompressed when its turn comes (lossless: the opening is the same, byte for byte, and the
/// rebuilt codeword's root is still checked against the committed one). `None` for a group left
/// as it was.
fn compress_waiting(groups: &mut [GroupData]) -> Vec<Option<compact::Compact>> {
    let waiting: Vec<Option<compact::Compact>> = groups
        .iter_mut()
        .enumerate()
        .map(|(g, group)| match &mut group.whir {
            GroupState::Released { packed, .. } if g > 0 => {
                let compact = compact::Compact::encode(packed, packed.len() * whir::COMPACT_MAX_BYTES_PER_ENTRY)?;
                *packed = Vec::new();
                Some(compact)
            }
            _ => None,
        })
        .collect();
    if waiting.iter().any(Option::is_some) {
        let bytes: usize = waiting.iter().flatten().map(compact::Compact::bytes).sum();
        mem_trace(&format!("open: waiting groups compressed ({bytes} B)"));
        #[cfg(test)]
        WAITING_COMPRESSED.with(|c| c.set(c.get() + waiting.iter().flatten().count()));
    }
    waiting
}

#[cfg(test)]
thread_local! {
    /// Tests: groups [`compress_waiting`] compressed on this thread.
    pub(crate) static WAITING_COMPRESSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The polynomials a commitment packs: borrowed slices, or owned vectors (each freed once it is
/// copied into its group's packed polynomial).
enum PolySource<'a> {
    Slices(&'a [&'a [F]]),
    Owned(Vec<Vec<F>>),
}

/// Polynomials of at least this many entries are copied on every core, in blocks of this size.
const PARALLEL_COPY: usize = 1 << 15;

impl PolySource<'_> {
    /// Copies polynomials `polys[i]` into `packed[offset_i..offset_i + len_i]` (`slots[i]`; the
    /// slots are disjoint), on every core: the polynomials in parallel and each large one in
    /// parallel blocks. Same packed polynomial as copying them one by one.
    fn pack_group(&mut self, polys: &[usize], slots: &[(usize, usize)], packed: &mut [F]) {
        let dests = carve(packed, slots);
        let copy = |dst: &mut [F], src: &[F]| {
            if src.len() >= 2 * PARALLEL_COPY {
                dst.par_chunks_mut(PARALLEL_COPY).zip(src.par_chunks(PARALLEL_COPY)).for_each(|(d, s)| d.copy_from_slice(s));
            } else {
                dst.copy_from_slice(src);
            }
        };
        match self {
            PolySource::Slices(all) => {
                dests.into_par_iter().zip(polys.par_iter()).for_each(|(dst, &k)| copy(dst, all[k]));
            }
            PolySource::Owned(all) => {
                let owned: Vec<Vec<F>> = polys.iter().map(|&k| std::mem::take(&mut all[k])).collect();
                dests.into_par_iter().zip(owned.into_par_iter()).for_each(|(dst, src)| copy(dst, &src));
            }
        }
    }
}

/// The disjoint slots `packed[offset..offset + len]` of `slots` as mutable slices, in the order of
/// `slots`.
///
/// # Panics
/// If two slots overlap or one runs past `packed` (the packed layout's offsets never do).
fn carve<'a>(packed: &'a mut [F], slots: &[(usize, usize)]) -> Vec<&'a mut [F]> {
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&i| slots[i].0);
    let mut out: Vec<Option<&'a mut [F]>> = (0..slots.len()).map(|_| None).collect();
    let mut rest = packed;
    let mut at = 0;
    for i in order {
        let (offset, len) = slots[i];
        let tail = std::mem::take(&mut rest);
        let (_, tail) = tail.split_at_mut(offset - at);
        let (slot, tail) = tail.split_at_mut(len);
        out[i] = Some(slot);
        rest = tail;
        at = offset + len;
    }
    out.into_iter().map(|s| s.expect("every slot is carved")).collect()
}

/// Where each block of a sparse commitment lies: for claim `j`, the `(group, index in the
/// group, selector, free point)` of each block of its polynomial. Fails on a claim naming no
/// polynomial or with a point of the wrong length.
type Expanded = Vec<Vec<(usize, usize, EF, Vec<EF>)>>;

fn expand_sparse(sparse: &SparseLayout, groups: &[Vec<usize>], claims: &[OpeningClaim]) -> Result<Expanded, PcsError> {
    let total: usize = sparse.polys().iter().map(|p| p.blocks().len()).sum();
    let mut place = vec![(0usize, 0usize); total];
    for (g, polys) in groups.iter().enumerate() {
        for (i, &k) in polys.iter().enumerate() {
            if k < total {
                place[k] = (g, i);
            }
        }
    }
    claims
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let p = sparse.polys().get(c.poly).ok_or_else(|| PcsError::BadClaim(format!("claim {j} names polynomial {} of {}", c.poly, sparse.polys().len())))?;
            if p.num_vars() != c.point.len() {
                return Err(PcsError::BadClaim(format!("claim {j}: polynomial {} has {} variables, point has {}", c.poly, p.num_vars(), c.point.len())));
            }
            Ok(p.split_point(&c.point)
                .into_iter()
                .enumerate()
                .map(|(b, (sel, free))| {
                    let (g, i) = place[sparse.committed_index(c.poly, b)];
                    (g, i, sel, free)
                })
                .collect())
        })
        .collect()
}

/// The groups the blocks of one claim lie in, ascending.
fn claim_groups(blocks: &[(usize, usize, EF, Vec<EF>)]) -> Vec<usize> {
    let mut gs: Vec<usize> = blocks.iter().map(|b| b.0).collect();
    gs.sort_unstable();
    gs.dedup();
    gs
}

/// Each claim's part per group it touches (groups ascending): `part_value(g, blocks)` gives the
/// part in every group but the last (the prover computes and sends it, the verifier receives it),
/// and the last group takes the claim's value minus the others, so the parts sum to the claim.
fn claim_parts(
    claims: &[OpeningClaim],
    expanded: &Expanded,
    mut part_value: impl FnMut(usize, &[(usize, usize, EF, Vec<EF>)]) -> Result<EF, PcsError>,
) -> Result<Vec<Vec<(usize, EF)>>, PcsError> {
    let mut parts = Vec::with_capacity(claims.len());
    for (c, blocks) in claims.iter().zip(expanded) {
        let gs = claim_groups(blocks);
        let mut part = Vec::with_capacity(gs.len());
        let mut rest = c.value;
        for (n, &g) in gs.iter().enumerate() {
            if n + 1 == gs.len() {
                part.push((g, rest));
                break;
            }
            let v = part_value(g, blocks)?;
            rest -= v;
            part.push((g, v));
        }
        parts.push(part);
    }
    Ok(parts)
}

/// The batching weight terms and claimed sum of group `g` (module docs of [`sparse`]): claim `j`
/// with part `parts[j][g]` contributes its blocks in `g`, each with `ρ^j'·sel_b(z_j)`, `j'` the
/// claim's index among the claims touching `g`.
///
/// With an out-of-domain sample of the group (`ood`, [`GroupOod`]) its claim comes last: one term
/// per slot `i` of the group, `ρ^J·eq(ζ_sel, s_i)·eq(ζ_local, ·)`, and `ρ^J·y` in the sum.
fn group_terms(expanded: &Expanded, parts: &[Vec<(usize, EF)>], g: usize, rho: EF, layout: &PackedLayout, ood: Option<&GroupOod>) -> (Vec<batching::WeightTerm>, EF) {
    let mut terms = Vec::new();
    let mut sum = EF::ZERO;
    let mut coeff = EF::ONE;
    for (blocks, part) in expanded.iter().zip(parts) {
        let Some(&(_, v)) = part.iter().find(|(h, _)| *h == g) else { continue };
        sum += coeff * v;
        for (_, i, sel, free) in blocks.iter().filter(|b| b.0 == g) {
            terms.push(batching::WeightTerm { poly: *i, point: free.clone(), coeff: coeff * *sel });
        }
        coeff *= rho;
    }
    if let Some(ood) = ood {
        sum += coeff * ood.value;
        terms.extend(ood_terms(layout, &ood.point).into_iter().map(|(poly, point, sel)| batching::WeightTerm { poly, point, coeff: coeff * sel }));
    }
    (terms, sum)
}

/// One out-of-domain sample of one commitment group, drawn right after the commitment is absorbed
/// and before any challenge that claims on it depend on: the point `ζ ∈ EF^n` (`n` = the group's
/// packed variables) and the value `y = Σ_i eq(ζ_sel(i), s_i)·P_i(ζ_local(i))` over the group's
/// slots — the multilinear extension at `ζ` of the group's packed table with its unused padding
/// taken as zero (the honest table's padding is zero, so `y` is the packed polynomial's value).
///
/// Why (`docs/SECURITY.md`, "Composition"; the WHIR/STIR out-of-domain argument): a Merkle root
/// fixes a word whose Johnson list has at most `L` polynomials. Two of them that differ on the
/// slots give different `y` except with probability `n/|EF|` over `ζ` (Schwartz–Zippel: their
/// difference restricted to the slots is a non-zero multilinear polynomial in `n` variables),
/// so after `y` is sent at most one list member agrees with it, except with probability
/// `C(L, 2)·n/|EF|`. The sample is proven with the group's other claims
/// ([`WhirPcs::open_sparse_ood`]), so an accepted opening means that member: the commitment binds
/// ONE polynomial from the moment `y` is sent, and no later error is charged over the list.
/// Members that agree on every slot differ only in the padding, which no claim reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOod {
    /// `ζ`, `x_0` first.
    pub point: Vec<EF>,
    /// `y`.
    pub value: EF,
}

/// The slots' terms of an out-of-domain claim at `point` on a group of `layout`:
/// `(slot, ζ_local, eq(ζ_sel, s_slot))` for every slot.
fn ood_terms(layout: &PackedLayout, point: &[EF]) -> Vec<(usize, Vec<EF>, EF)> {
    let n = layout.num_vars();
    layout
        .all_poly_num_vars()
        .iter()
        .enumerate()
        .map(|(i, &m)| (i, point[n - m..].to_vec(), layout.selector_eq(i, &point[..n - m])))
        .collect()
}

/// `Σ_i eq(ζ_sel(i), s_i)·P_i(ζ_local(i))` over the slots of a packed table ([`GroupOod`]).
fn ood_value(layout: &PackedLayout, packed: &[F], point: &[EF]) -> EF {
    ood_terms(layout, point)
        .into_iter()
        .map(|(i, local, sel)| {
            let offset = layout.offset(i);
            let slot = &packed[offset..offset + (1usize << local.len())];
            sel * batching::eq_dot(&local, slot)
        })
        .sum()
}

impl WhirPcs {
    /// Proves claims on the sparse polynomials of `sparse` (see [`sparse`]), whose blocks are the
    /// committed batch of `data`; consumes the prover data.
    pub fn open_sparse(&self, data: WhirProverData, sparse: &SparseLayout, claims: &[OpeningClaim], t: &mut ProverTranscript) -> Result<(), PcsError> {
        self.open_sparse_shifted(data, sparse, claims, &[], t, EF::ZERO)
    }

    /// The packed variables of each group of `com` (group order): the length of each group's
    /// out-of-domain point ([`GroupOod`]). Fails on a commitment whose cap does not fit its shapes.
    pub fn ood_num_vars(&self, com: &WhirCommitment) -> Result<Vec<usize>, PcsError> {
        self.checked_groups(com)?.iter().map(|polys| Ok(PackedLayout::new(&polys.iter().map(|&k| com.poly_num_vars[k]).collect::<Vec<_>>())?.num_vars())).collect()
    }

    /// Prover: the out-of-domain values `y_g` of the groups of `data` at `points` (one per group,
    /// [`WhirPcs::ood_num_vars`] long), computed from the packed tables ([`GroupOod`]).
    pub fn ood_values(&self, data: &WhirProverData, points: &[Vec<EF>]) -> Result<Vec<EF>, PcsError> {
        if points.len() != data.groups.len() || data.groups.iter().zip(points).any(|(g, p)| p.len() != g.layout.num_vars()) {
            return Err(PcsError::BadClaim("out-of-domain points do not fit the commitment's groups".into()));
        }
        Ok(data.groups.iter().zip(points).map(|(g, p)| ood_value(&g.layout, g.whir.packed(), p)).collect())
    }

    /// Prover: right after `data`'s commitment is absorbed, draws each group's out-of-domain point
    /// and sends its value ([`GroupOod`]); the samples go to [`WhirPcs::open_sparse_ood`].
    pub fn prove_ood(&self, data: &WhirProverData, t: &mut ProverTranscript) -> Result<Vec<GroupOod>, PcsError> {
        let points: Vec<Vec<EF>> = data.groups.iter().map(|g| t.challenge_exts(g.layout.num_vars())).collect();
        let values = self.ood_values(data, &points)?;
        t.send_exts(&values);
        Ok(points.into_iter().zip(values).map(|(point, value)| GroupOod { point, value }).collect())
    }

    /// Verifier: right after `com` is absorbed, draws each group's out-of-domain point and reads
    /// its value, as [`WhirPcs::prove_ood`] sends them.
    pub fn verify_ood(&self, com: &WhirCommitment, t: &mut VerifierTranscript<'_>) -> Result<Vec<GroupOod>, PcsError> {
        let vars = self.ood_num_vars(com)?;
        let points: Vec<Vec<EF>> = vars.iter().map(|&n| t.challenge_exts(n)).collect();
        let values = t.receive_exts(points.len())?;
        Ok(points.into_iter().zip(values).map(|(point, value)| GroupOod { point, value }).collect())
    }

    /// [`WhirPcs::open_sparse`] with every group's out-of-domain sample ([`GroupOod`], one per
    /// group, in group order) proven with its claims: every group is opened.
    pub fn open_sparse_ood(&self, data: WhirProverData, sparse: &SparseLayout, claims: &[OpeningClaim], ood: &[GroupOod], t: &mut ProverTranscript) -> Result<(), PcsError> {
        if ood.len() != data.groups.len() {
            return Err(PcsError::BadClaim(format!("{} out-of-domain samples for {} groups", ood.len(), data.groups.len())));
        }
        self.open_sparse_shifted(data, sparse, claims, ood, t, EF::ZERO)
    }

    /// [`WhirPcs::verify_sparse`] with every group's out-of-domain sample (as
    /// [`WhirPcs::open_sparse_ood`]).
    pub fn verify_sparse_ood(&self, com: &WhirCommitment, sparse: &SparseLayout, claims: &[OpeningClaim], ood: &[GroupOod], t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        let groups = self.checked_groups(com)?.len();
        if ood.len() != groups {
            return Err(PcsError::BadClaim(format!("{} out-of-domain samples for {groups} groups", ood.len())));
        }
        self.verify_sparse_impl(com, sparse, claims, ood, t)
    }

    /// [`WhirPcs::open_sparse`], adding `shift` to every part the prover sends (zero when honest;
    /// the unit tests move value between groups with it).
    pub(crate) fn open_sparse_shifted(
        &self,
        data: WhirProverData,
        sparse: &SparseLayout,
        claims: &[OpeningClaim],
        ood: &[GroupOod],
        t: &mut ProverTranscript,
        shift: EF,
    ) -> Result<(), PcsError> {
        if sparse.committed_num_vars() != data.commitment.poly_num_vars {
            return Err(PcsError::Config("the sparse layout does not match the commitment".into()));
        }
        let polys: Vec<Vec<usize>> = data.groups.iter().map(|g| g.polys.clone()).collect();
        let expanded = expand_sparse(sparse, &polys, claims)?;
        self.absorb_commitment(&data.commitment, t);
        batching::absorb_claims(claims, t);
        // Each claim's part per group; the parts of all groups but the last are sent.
        let parts = claim_parts(claims, &expanded, |g, blocks| {
            let v: EF = blocks
                .iter()
                .filter(|b| b.0 == g)
                .map(|(_, i, sel, free)| {
                    let group = &data.groups[g];
                    let offset = group.layout.offset(*i);
                    let len = 1usize << free.len();
                    let evals = &group.whir.packed()[offset..offset + len];
                    *sel * zkinfer_poly::Mle::new(evals.to_vec()).evaluate(free)
                })
                .sum::<EF>()
                + shift;
            t.send_exts(&[v]);
            Ok(v)
        })?;
        let roots = data.commitment.root.roots().to_vec();
        let mut groups = data.groups;
        let mut waiting = compress_waiting(&mut groups);
        for (g, (mut group, root)) in groups.into_iter().zip(roots).enumerate() {
            if ood.is_empty() && !parts.iter().any(|p| p.iter().any(|(h, _)| *h == g)) {
                continue;
            }
            if let (Some(compact), GroupState::Released { packed, .. }) = (waiting[g].take(), &mut group.whir) {
                *packed = vec![F::ZERO; compact.len()];
                compact.decode_into(packed).map_err(|e| PcsError::Config(format!("cannot decompress a waiting group's packed polynomial: {e}")))?;
                mem_trace("open: waiting group decompressed");
            }
            let rho = t.challenge_ext();
            let (terms, _) = group_terms(&expanded, &parts, g, rho, &group.layout, ood.get(g));
            let packed = group.whir.packed();
            mem_trace("open: before batching");
            let (point, _) = batching::run_rounds(&group.layout, packed, terms, t, None);
            mem_trace("open: after batching");
            let mut fork = t.challenger_mut().clone();
            let whir = group.whir.into_whir(&self.engine)?;
            let proof = self.engine.open(&MerkleRoot::new(vec![root]), whir, &point, &mut fork)?;
            t.send_bytes(&whir::encode_proof(&proof)?);
            mem_trace("open: after WHIR opening");
        }
        Ok(())
    }

    /// Verifies claims on the sparse polynomials of `sparse` against `com`, whose batch must be
    /// their blocks ([`SparseLayout::committed_num_vars`]).
    pub fn verify_sparse(&self, com: &WhirCommitment, sparse: &SparseLayout, claims: &[OpeningClaim], t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        self.verify_sparse_impl(com, sparse, claims, &[], t)
    }

    fn verify_sparse_impl(&self, com: &WhirCommitment, sparse: &SparseLayout, claims: &[OpeningClaim], ood: &[GroupOod], t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        if sparse.committed_num_vars() != com.poly_num_vars {
            return Err(PcsError::Config("the sparse layout does not match the commitment".into()));
        }
        let groups = self.checked_groups(com)?;
        let mut layouts = Vec::with_capacity(groups.len());
        for polys in &groups {
            layouts.push(PackedLayout::new(&polys.iter().map(|&k| com.poly_num_vars[k]).collect::<Vec<_>>())?);
        }
        let expanded = expand_sparse(sparse, &groups, claims)?;
        self.absorb_commitment(com, t);
        batching::absorb_claims(claims, t);
        let parts = claim_parts(claims, &expanded, |_, _| Ok(t.receive_exts(1)?[0]))?;
        for (g, (layout, root)) in layouts.iter().zip(com.root.roots()).enumerate() {
            if ood.is_empty() && !parts.iter().any(|p| p.iter().any(|(h, _)| *h == g)) {
                continue;
            }
            let rho = t.challenge_ext();
            let (terms, sum) = group_terms(&expanded, &parts, g, rho, layout, ood.get(g));
            let (point, reduced) = batching::verify_rounds(layout.num_vars(), sum, t)?;
            let weight = batching::weight_at(layout, &terms, &point);
            let mut fork = t.challenger_mut().clone();
            let bytes = t.receive_bytes()?;
            let proof = whir::decode_proof(bytes)?;
            let opened = self.engine.verify(&MerkleRoot::new(vec![*root]), &point, &proof, &mut fork)?;
            if weight * opened != reduced {
                return Err(PcsError::ClaimMismatch);
            }
        }
        Ok(())
    }
}

impl Pcs for WhirPcs {
    type Commitment = WhirCommitment;
    type ProverData = WhirProverData;

    fn commit(&self, polys: &[Mle<F>]) -> Result<(WhirCommitment, WhirProverData), PcsError> {
        let slices: Vec<&[F]> = polys.iter().map(|p| p.evals.as_slice()).collect();
        self.commit_slices(&slices)
    }

    fn absorb_commitment<T: Transcript>(&self, com: &WhirCommitment, t: &mut T) {
        t.absorb_public_bytes("pcs/whir-commitment", &com.to_bytes());
    }

    /// Copies the prover data (codeword and Merkle tree included): use
    /// [`Pcs::open_consuming`] when the data is not needed afterwards.
    fn open(&self, data: &WhirProverData, claims: &[OpeningClaim], t: &mut ProverTranscript) -> Result<(), PcsError> {
        let polys: Vec<Vec<usize>> = data.groups.iter().map(|g| g.polys.clone()).collect();
        for (g, c) in data.groups.iter().zip(group_claims(data.commitment.poly_num_vars.len(), &polys, claims)?) {
            batching::check_claims(&g.layout, &c)?;
        }
        self.open_owned(data.clone(), claims, t)
    }

    fn open_consuming(
        &self,
        data: WhirProverData,
        claims: &[OpeningClaim],
        t: &mut ProverTranscript,
    ) -> Result<(), PcsError> {
        self.open_owned(data, claims, t)
    }

    fn verify(
        &self,
        com: &WhirCommitment,
        claims: &[OpeningClaim],
        t: &mut VerifierTranscript<'_>,
    ) -> Result<(), PcsError> {
        let groups = self.checked_groups(com)?;
        let per_group = group_claims(com.poly_num_vars.len(), &groups, claims)?;
        let mut layouts = Vec::with_capacity(groups.len());
        for (polys, c) in groups.iter().zip(&per_group) {
            let layout = PackedLayout::new(&polys.iter().map(|&k| com.poly_num_vars[k]).collect::<Vec<_>>())?;
            batching::check_claims(&layout, c)?;
            layouts.push(layout);
        }
        self.absorb_commitment(com, t);
        for ((layout, c), root) in layouts.iter().zip(&per_group).zip(com.root.roots()) {
            if c.is_empty() {
                continue;
            }
            let outcome = batching::verify(layout, c, t)?;
            let mut fork = t.challenger_mut().clone();
            let bytes = t.receive_bytes()?;
            let proof = whir::decode_proof(bytes)?;
            let opened = self.engine.verify(&MerkleRoot::new(vec![*root]), &outcome.point, &proof, &mut fork)?;
            if outcome.weight_at_point * opened != outcome.reduced_claim {
                return Err(PcsError::ClaimMismatch);
            }
        }
        Ok(())
    }
}

/// [`PolySource::pack_group`] (polynomials copied on every core) gives the packed polynomial of
/// the sequential [`PackedLayout::pack`], for borrowed and owned sources, with columns small and
/// large enough for the blocked parallel copy; the comparison can fail (control: two columns of
/// equal size swapped give another packed polynomial).
#[cfg(test)]
mod pack_tests {
    use super::*;

    #[test]
    fn parallel_packing_equals_the_sequential_packing() {
        // Sizes 2^17 (blocked copy), 2^16 (plain copy at the threshold), 2^0, 2^3, 2^15, 2^3.
        let sizes = [17usize, 16, 0, 3, 15, 3];
        let cols: Vec<Vec<F>> = sizes
            .iter()
            .enumerate()
            .map(|(k, &m)| (0..1u64 << m).map(|i| F::from_u64(i * 1_000_003 + k as u64 * 7 + 1)).collect())
            .collect();
        let layout = PackedLayout::new(&sizes).expect("layout");
        let refs: Vec<&[F]> = cols.iter().map(Vec::as_slice).collect();
        let expected = layout.pack(&refs).expect("pack");
        let polys: Vec<usize> = (0..sizes.len()).collect();
        let slots: Vec<(usize, usize)> = polys.iter().map(|&k| (layout.offset(k), cols[k].len())).collect();
        let mut borrowed = vec![F::ZERO; 1 << layout.num_vars()];
        PolySource::Slices(&refs).pack_group(&polys, &slots, &mut borrowed);
        assert_eq!(borrowed, expected, "borrowed source");
        let mut owned = vec![F::ZERO; 1 << layout.num_vars()];
        let mut source = PolySource::Owned(cols.clone());
        source.pack_group(&polys, &slots, &mut owned);
        assert_eq!(owned, expected, "owned source");
        let PolySource::Owned(left) = source else { unreachable!() };
        assert!(left.iter().all(Vec::is_empty), "owned columns are freed once packed");
        // Control: columns 3 and 5 (both 2^3 entries) in each other's slots.
        let mut swapped_slots = slots.clone();
        swapped_slots.swap(3, 5);
        let mut swapped = vec![F::ZERO; 1 << layout.num_vars()];
        PolySource::Slices(&refs).pack_group(&polys, &swapped_slots, &mut swapped);
        assert_ne!(swapped, expected, "the comparison can fail");
    }
}
