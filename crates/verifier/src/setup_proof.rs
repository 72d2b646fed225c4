//! The setup proof: every committed weight entry lies in its declared range, and every padding
//! entry of every weight block is zero.
//!
//! **Why.** The verifying key *declares* each weight's magnitude bound (`WeightMeta::bits`,
//! `|w| ≤ 2^bits − 1`) and the shape of each committed block, whose entries outside the logical
//! extent must be zero (the graph proof reads a weight through its zero-padded layout). Every
//! "field equation ⇒ integer equation" argument of the graph proof (rescale, LayerNorm, argmax,
//! softmax gaps) rests on those bounds. Without this proof, whoever makes a key could commit
//! out-of-range weights or non-zero padding. The proof is checked with the verifying key alone
//! (no GGUF), so keys whose weights cannot be recomputed can rely on it.
//!
//! **Statement.** For every committed slice `k` (block `b` of weight `w`, `2^{m_k}` entries, bound
//! `B = 2^bits − 1`): (R) `w_k(x) ∈ [−B, B]` as integers for every `x ∈ {0,1}^{m_k}`; (Z)
//! `w_k(x) = 0` wherever `x` lies outside the logical extent of the block. Keys with some
//! `bits > 61` are refused (honest keys have at most ~50).
//!
//! **Range, narrow slices (`bits ≤ 15`).** The column `a_k = w_k + B` (affine in the committed
//! slice, so nothing new is committed) is looked up (logUp-GKR, `zkinfer_lookup`) in the
//! function table `{(i, 0) : 0 ≤ i ≤ 2B}` (the zero output is a public all-zero column whose
//! claim must be 0). One table per distinct `bits`. The GKR leaves the claim `â_k(r) = v`; the
//! verifier turns it into the weight-commitment claim `ŵ_k(r) = v − B` (the MLE of a constant
//! over the full cube is the constant). `a_k ∈ [0, 2B]` ⟺ `|w_k| ≤ B`; no wrap: `2B < 2^16 < p`.
//!
//! **Range, wide slices (`16 ≤ bits ≤ 61`).** The prover commits (aux commitment) 16-bit limbs of
//! `a = w + B` and `a' = B − w`: `a = Σ_{j<J} 2^{16j}·L_j`, `J = ⌈(bits+1)/16⌉`, top limb of
//! `t = bits + 1 − 16(J−1)` bits, likewise `L'_j`. Looked up in `[0, 2^16)`: every limb, and
//! the scaled top limb `2^{16−t}·L_{J−1}` (a virtual column: its claim `s` at its GKR point
//! becomes the claim `L̂_{J−1} = s/2^{16−t}` there). Every limb claim goes to the aux commitment
//! at its own GKR point (columns may end in different trees). Linking, at a fresh point `ρ`: the
//! prover sends `L̂_j(ρ), L̂'_j(ρ)`; the verifier checks `Σ 2^{16j}(L̂_j + L̂'_j)(ρ) = 2B`, and
//! records those aux claims and the weight claim `ŵ_k(ρ) = Σ 2^{16j}L̂_j(ρ) − B`.
//! No-wrap argument: `L_j < 2^16` and `2^{16−t}·L_{J−1} < 2^16` (the product is below
//! `2^32 < p`, so the field bound is the integer bound) give `L_{J−1} < 2^t`, hence
//! `a, a' ∈ [0, 2^{bits+1})` as integers; `a + a' < 2^{bits+2} ≤ 2^63 < p`, so the field
//! identity `a + a' = 2B` (a multilinear identity checked at a random point after the limbs are
//! committed) holds over the integers; `a' ≥ 0` gives `a ≤ 2B`, so `w = a − B ∈ [−B, B]`.
//!
//! **Padding (Z).** Within a block, dimension `j`'s part (offset `o`, `2^v` indices) has
//! `c = min(d_j, o + 2^v) − o` logical indices; `[c, 2^v)` is split into aligned dyadic intervals,
//! each a sub-cube (top bits fixed, low bits free). The padding of the block is the union over
//! `j` of those sub-cubes (all other coordinates free). For each sub-cube the verifier draws a
//! random point for the free coordinates and records the claim `w_k(fixed, random) = 0`: the
//! restriction of `w_k` to the sub-cube is a multilinear polynomial that is zero iff all its
//! entries are, so a non-zero entry survives except with probability `≤ m_k/|EF|`. The tail of the
//! *packed* polynomial beyond the last slot is never read by any statement: the batched opening's
//! weight `W` vanishes off the claimed slots (`zkinfer_pcs::batching`), so its content is
//! irrelevant to soundness.
//!
//! **Grouping.** Instances hold at most `MAX_GKR_LEAVES` = 2^25 leaves (a bits class's slices
//! are cut into several instances of the same table, each with its own multiplicities) and are
//! proven by consecutive fraction-sum GKRs of at most that many leaves: the GKR's `EF` layers
//! (≈ 70 bytes per leaf) bound the prover's memory. The grouping is a function of the key.
//!
//! **Openings.** All weight claims (range and padding) are discharged by ONE batched opening of
//! the key's weight commitment; the multiplicities and limbs by one opening of the aux commitment.
//!
//! **Fiat–Shamir.** The transcript starts with this protocol's id and the model commitment (the
//! key's digest, which covers the weight commitment and every `bits`); then the aux commitment;
//! then the lookups' challenges. A setup proof of another key is rejected (digest differs).
//!
//! **Soundness error.** logUp: `(N + Σ|T|)/|EF|` for `α` and `N·|T|/|EF|` for `β` (function
//! tables), `N ≤ 2^{28}`-ish total lookups, plus the GKR's `≈ 1.5·D²/|EF|` (`D ≤ 30`); the
//! linking identities `m_k/|EF|` each; padding sub-cubes `m_k/|EF|` each; plus the two batched
//! openings (batching `J/|EF| + 2n/|EF|`, WHIR's own error, see `docs/SECURITY.md`). With
//! `|EF| ≈ 2^192` everything but WHIR is below `2^−130`.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_lookup::{LookupClaims, Table, verify_lookups};
use zkinfer_pcs::{OpeningAccumulator, Origin, PolyId};
use zkinfer_transcript::{DomainSeparator, Transcript, VerifierTranscript};

use crate::ProofSystemError;
use crate::codec::{DecodeError, Reader, Writer};
use crate::key::{VerifyingKey, decode_commitment, pcs};
use crate::weight_blocks::{DimPart, WeightBlockPlan};

/// Magic bytes of a setup-proof file.
pub const SETUP_PROOF_MAGIC: &[u8; 8] = b"ZKINFSPF";
/// Format version of setup-proof files (3: the weight opening proves the key's out-of-domain
/// answers, key version 9, `VerifyingKey::verify_weight_opening`; its lookup GKR proves all trees
/// with one set of layer proofs, `zkinfer_lookup::fracaddcheck`).
pub const SETUP_PROOF_VERSION: u32 = 3;
/// Protocol id bound into the setup proof's transcript.
pub const SETUP_PROTOCOL_ID: &str = "zkinfer/weight-range-setup";
/// Largest `bits` the setup proof supports (`a + a' < 2^{bits+2}` must stay below `p`).
pub const MAX_SETUP_BITS: u32 = 61;
/// Largest `bits` proven with one direct lookup of `w + B` (table of `2^{bits+1} − 1` rows).
pub const NARROW_MAX_BITS: u32 = 15;
/// Leaves of one lookup instance and of one fraction-sum GKR (bounds the GKR's memory: its leaf
/// layer is in `EF`, ≈ 70 bytes per leaf with the layers above).
pub const MAX_GKR_LEAVES: usize = 1 << 25;
/// Bits of a limb of a wide slice.
pub const LIMB_BITS: u32 = 16;

/// A setup proof, bound to one verifying key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupProof {
    /// Digest of the verifying key the proof is about.
    pub model_commitment: [u8; 32],
    /// The Fiat–Shamir transcript.
    pub transcript: Vec<u8>,
}

impl SetupProof {
    /// `magic | version u32 | model commitment [32] | transcript (u64 length, bytes)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(SETUP_PROOF_MAGIC);
        w.u32(SETUP_PROOF_VERSION);
        w.raw(&self.model_commitment);
        w.bytes(&self.transcript);
        w.into_bytes()
    }

    /// Decodes a setup proof, rejecting truncation, trailing bytes and bad headers.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.header(SETUP_PROOF_MAGIC, SETUP_PROOF_VERSION, "zkinfer setup proof")?;
        let model_commitment = r.array::<32>("model commitment")?;
        let transcript = r.bytes("transcript")?.to_vec();
        r.finish()?;
        Ok(Self { model_commitment, transcript })
    }
}

/// A padding sub-cube of a block: in dimension `dim`, local indices whose top bits equal
/// `prefix` (`vars − free` bits), the `free` low bits and all other dimensions free.
#[derive(Debug, Clone, Copy)]
pub struct PadCube {
    /// The dimension whose padding this is.
    pub dim: usize,
    /// The fixed top bits of the dimension's local index.
    pub prefix: usize,
    /// The number of free low bits.
    pub free: usize,
}

/// One committed slice.
#[derive(Debug, Clone)]
pub struct SliceInfo {
    /// Variables of the slice's MLE.
    pub num_vars: usize,
    /// The declared magnitude bound of its weight, `|w| ≤ 2^bits − 1`.
    pub bits: u32,
    /// `(logical extent, part)` per dimension.
    pub dims: Vec<(usize, DimPart)>,
    /// The padding sub-cubes.
    pub pads: Vec<PadCube>,
}

impl SliceInfo {
    /// `B = 2^bits − 1`.
    pub fn bound(&self) -> u64 {
        (1u64 << self.bits) - 1
    }

    /// Number of 16-bit limbs `J` of a wide slice.
    pub fn limbs(&self) -> usize {
        (self.bits + 1).div_ceil(LIMB_BITS) as usize
    }

    /// Bits of the top limb.
    pub fn top_bits(&self) -> u32 {
        self.bits + 1 - LIMB_BITS * (self.limbs() as u32 - 1)
    }

    /// True if entry `i` (row-major over the block's parts) lies in the logical extent.
    pub fn is_logical(&self, mut i: usize) -> bool {
        for &(d, p) in self.dims.iter().rev() {
            let local = i & ((1usize << p.vars) - 1);
            i >>= p.vars;
            if p.offset + local >= d {
                return false;
            }
        }
        true
    }
}

/// Aligned dyadic intervals covering `[c, 2^v)`, as `(start, log2 length)`.
fn dyadic_cover(c: usize, v: usize) -> Vec<(usize, usize)> {
    let end = 1usize << v;
    let mut out = Vec::new();
    let mut s = c;
    while s < end {
        let mut k = if s == 0 { v } else { s.trailing_zeros() as usize };
        while s + (1 << k) > end {
            k -= 1;
        }
        out.push((s, k));
        s += 1 << k;
    }
    out
}

/// The slices of a key and the setup proof's layout of lookups and aux commitment (a function of
/// the key alone; the prover in `zkinfer-proof` follows the same layout).
#[derive(Debug)]
pub struct Layout {
    /// Every committed slice, in commitment order.
    pub slices: Vec<SliceInfo>,
    /// Narrow lookup instances, in this order: `(bits, slices)`, ascending `bits`, each bits
    /// class's slices in commitment order, cut so that an instance holds at most
    /// [`MAX_GKR_LEAVES`] leaves.
    pub narrow: Vec<(u32, Vec<usize>)>,
    /// Instance ranges proven by one fraction-sum GKR each (at most [`MAX_GKR_LEAVES`] leaves,
    /// except a single larger instance), in order.
    pub groups: Vec<std::ops::Range<usize>>,
    /// Indices of the wide slices, in commitment order (one `[0, 2^16)` instance, after the narrow
    /// ones, if non-empty).
    pub wide: Vec<usize>,
}

impl Layout {
    /// The layout of `vk`'s setup proof with GKRs of at most `max_leaves` leaves.
    pub fn new(vk: &VerifyingKey, max_leaves: usize) -> Result<Self, ProofSystemError> {
        let plan = WeightBlockPlan::for_weights(&vk.weights);
        let mut slices = Vec::new();
        for (w, meta) in vk.weights.iter().enumerate() {
            if meta.bits > MAX_SETUP_BITS {
                return Err(ProofSystemError::Rejected(format!(
                    "weight {} declares {} bits; the setup proof supports at most {MAX_SETUP_BITS}",
                    meta.name, meta.bits
                )));
            }
            let extents: Vec<usize> = if meta.shape.is_empty() { vec![1] } else { meta.shape.clone() };
            let tensor = plan
                .tensor(w)
                .ok_or_else(|| ProofSystemError::Rejected(format!("weight {w} has no block plan")))?;
            for block in tensor.blocks() {
                let dims: Vec<(usize, DimPart)> = extents.iter().copied().zip(block.parts.iter().copied()).collect();
                let mut pads = Vec::new();
                for (j, &(d, p)) in dims.iter().enumerate() {
                    let c = d.min(p.offset + (1 << p.vars)) - p.offset;
                    for (start, free) in dyadic_cover(c, p.vars) {
                        pads.push(PadCube { dim: j, prefix: start >> free, free });
                    }
                }
                slices.push(SliceInfo { num_vars: block.num_vars(), bits: meta.bits, dims, pads });
            }
        }
        if slices.iter().map(|s| s.num_vars).collect::<Vec<_>>() != vk.commitment.poly_num_vars {
            return Err(ProofSystemError::Rejected("the weight commitment's slices are not the key's blocks".into()));
        }
        let mut narrow_bits: Vec<u32> = slices.iter().map(|s| s.bits).filter(|&b| b <= NARROW_MAX_BITS).collect();
        narrow_bits.sort_unstable();
        narrow_bits.dedup();
        let mut narrow: Vec<(u32, Vec<usize>)> = Vec::new();
        for b in narrow_bits {
            let mut current: (Vec<usize>, usize) = (Vec::new(), 0);
            for k in (0..slices.len()).filter(|&k| slices[k].bits == b) {
                let n = 1usize << slices[k].num_vars;
                if !current.0.is_empty() && current.1 + n > max_leaves {
                    narrow.push((b, std::mem::take(&mut current.0)));
                    current.1 = 0;
                }
                current.0.push(k);
                current.1 += n;
            }
            if !current.0.is_empty() {
                narrow.push((b, current.0));
            }
        }
        let wide: Vec<usize> = (0..slices.len()).filter(|&k| slices[k].bits > NARROW_MAX_BITS).collect();
        // Leaves of every instance (narrow, then wide), grouped greedily into GKRs.
        let mut leaves: Vec<usize> =
            narrow.iter().map(|(_, ks)| ks.iter().map(|&k| 1usize << slices[k].num_vars).sum()).collect();
        if !wide.is_empty() {
            leaves.push(wide.iter().map(|&k| (2 * (slices[k].limbs() + 1)) << slices[k].num_vars).sum());
        }
        let mut groups = Vec::new();
        let (mut start, mut total) = (0usize, 0usize);
        for (i, &n) in leaves.iter().enumerate() {
            if i > start && total + n > max_leaves {
                groups.push(start..i);
                (start, total) = (i, 0);
            }
            total += n;
        }
        if start < leaves.len() {
            groups.push(start..leaves.len());
        }
        Ok(Self { slices, narrow, groups, wide })
    }


    /// The lookup tables, one per instance class: the narrow bits classes, then the limb range.
    pub fn tables(&self) -> Result<Vec<Table>, ProofSystemError> {
        let mut tables = Vec::new();
        for &(b, _) in &self.narrow {
            let n = (1i64 << (b + 1)) - 1;
            let inputs: Vec<i64> = (0..n).collect();
            let outputs = vec![0i64; inputs.len()];
            tables.push(
                Table::function(format!("weight |w| <= 2^{b} - 1, shifted"), &inputs, &outputs)
                    .map_err(|e| ProofSystemError::Request(e.to_string()))?,
            );
        }
        if !self.wide.is_empty() {
            tables.push(Table::range(LIMB_BITS));
        }
        Ok(tables)
    }

    /// Column lengths of every lookup instance (in instance order).
    pub fn column_lens(&self) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> =
            self.narrow.iter().map(|(_, ks)| ks.iter().map(|&k| 1usize << self.slices[k].num_vars).collect()).collect();
        if !self.wide.is_empty() {
            out.push(
                self.wide
                    .iter()
                    .flat_map(|&k| std::iter::repeat_n(1usize << self.slices[k].num_vars, 2 * (self.slices[k].limbs() + 1)))
                    .collect(),
            );
        }
        out
    }

    /// Number of variables of every aux slice: each instance's multiplicities, then per wide slice
    /// its limbs `L_0..L_{J−1}, L'_0..L'_{J−1}`.
    pub fn aux_num_vars(&self, tables: &[Table]) -> Vec<usize> {
        let mut out: Vec<usize> = tables.iter().map(Table::num_vars).collect();
        for &k in &self.wide {
            out.extend(std::iter::repeat_n(self.slices[k].num_vars, 2 * self.slices[k].limbs()));
        }
        out
    }
}

/// The setup proof's transcript domain: its protocol id and the key's digest.
pub fn domain_separator(digest: &[u8; 32]) -> DomainSeparator {
    DomainSeparator::new(SETUP_PROTOCOL_ID, SETUP_PROOF_VERSION).with_public("model commitment", digest)
}

pub(crate) fn reject(msg: impl Into<String>) -> ProofSystemError {
    ProofSystemError::Rejected(msg.into())
}

/// Turns the lookups' leaf claims into opening claims on the weight and aux commitments, checking
/// the linking identities (when `strict`; a cheating prover in tests skips them).
pub fn reduce_claims(
    layout: &Layout,
    n_tables: usize,
    claims: &[LookupClaims],
    strict: bool,
) -> Result<(OpeningAccumulator, OpeningAccumulator), ProofSystemError> {
    let mut weights = OpeningAccumulator::new();
    let mut aux = OpeningAccumulator::new();
    if claims.len() != n_tables {
        return Err(reject("wrong number of lookup claims"));
    }
    for (i, c) in claims.iter().enumerate() {
        aux.push(PolyId::Slot(i), Origin::Setup, c.multiplicities.point.clone(), c.multiplicities.value);
    }
    for (i, (b, slices)) in layout.narrow.iter().enumerate() {
        let b = *b;
        let cols = &claims[i].columns;
        if cols.len() != slices.len() {
            return Err(reject("wrong number of column claims"));
        }
        let shift = EF::from(F::from_u64((1u64 << b) - 1));
        for (&k, c) in slices.iter().zip(cols) {
            let [a, zero] = c.values[..] else { return Err(reject("column claim of the wrong arity")) };
            if strict && zero != EF::ZERO {
                return Err(reject(format!("weight slice {k}: the public zero column's claim is not zero")));
            }
            weights.push(PolyId::Slot(k), Origin::Setup, c.point.clone(), a - shift);
        }
    }
    if !layout.wide.is_empty() {
        // Each limb column's claim is an aux claim at its own point (columns of one slice may sit
        // in different GKR trees, hence at different points); the scaled top limb's claim is a
        // claim `2^{16−t}·L̂_{J−1}(r) = v` on the top limb.
        let cols = &claims[layout.narrow.len()].columns;
        let mut next_col = 0usize;
        let mut next_aux = n_tables;
        for &k in &layout.wide {
            let s = &layout.slices[k];
            let j = s.limbs();
            let these = cols.get(next_col..next_col + 2 * (j + 1)).ok_or_else(|| reject("too few column claims"))?;
            next_col += 2 * (j + 1);
            let inv_scale = EF::from(F::from_u64(1u64 << (LIMB_BITS - s.top_bits())).inverse());
            for half in 0..2 {
                let c = &these[half * (j + 1)..(half + 1) * (j + 1)];
                if c.iter().any(|c| c.values.len() != 1) {
                    return Err(reject("limb claim of the wrong arity"));
                }
                for (l, claim) in c[..j].iter().enumerate() {
                    aux.push(PolyId::Slot(next_aux + half * j + l), Origin::Setup, claim.point.clone(), claim.values[0]);
                }
                aux.push(PolyId::Slot(next_aux + half * j + j - 1), Origin::Setup, c[j].point.clone(), c[j].values[0] * inv_scale);
            }
            next_aux += 2 * j;
        }
        if next_col != cols.len() {
            return Err(reject("too many column claims"));
        }
    }
    Ok((weights, aux))
}

/// First aux slice of each wide slice's limbs.
pub fn limb_bases(layout: &Layout, n_tables: usize) -> Vec<usize> {
    let mut next = n_tables;
    layout
        .wide
        .iter()
        .map(|&k| {
            let base = next;
            next += 2 * layout.slices[k].limbs();
            base
        })
        .collect()
}

/// Linking of a wide slice at a fresh point `ρ`: given `L̂_j(ρ)` and `L̂'_j(ρ)` (`evals`, `2J`
/// values), checks `Σ 2^{16j}(L̂_j + L̂'_j)(ρ) = 2B` (when `strict`) and records the aux claims
/// and the weight claim `ŵ(ρ) = Σ 2^{16j}L̂_j(ρ) − B`.
#[allow(clippy::too_many_arguments)]
pub fn link_wide(
    layout: &Layout,
    k: usize,
    base: usize,
    rho: &[EF],
    evals: &[EF],
    strict: bool,
    weights: &mut OpeningAccumulator,
    aux: &mut OpeningAccumulator,
) -> Result<(), ProofSystemError> {
    let s = &layout.slices[k];
    let j = s.limbs();
    let radix = EF::from(F::from_u64(1u64 << LIMB_BITS));
    let recombine = |first: usize| (0..j).rev().fold(EF::ZERO, |acc, l| acc * radix + evals[first + l]);
    let (a, a2) = (recombine(0), recombine(j));
    let bound = EF::from(F::from_u64(s.bound()));
    if strict && a + a2 != bound.double() {
        return Err(reject(format!("weight slice {k}: (w + B) + (B − w) ≠ 2B: a weight is out of range")));
    }
    for (l, &e) in evals.iter().enumerate() {
        aux.push(PolyId::Slot(base + l), Origin::Setup, rho.to_vec(), e);
    }
    weights.push(PolyId::Slot(k), Origin::Setup, rho.to_vec(), a - bound);
    Ok(())
}

/// Draws one random point per padding sub-cube and records `w_k(point) = 0`.
pub fn padding_claims<T: Transcript>(layout: &Layout, t: &mut T, acc: &mut OpeningAccumulator) {
    for (k, s) in layout.slices.iter().enumerate() {
        for cube in &s.pads {
            let mut point = Vec::with_capacity(s.num_vars);
            for (j, &(_, p)) in s.dims.iter().enumerate() {
                if j == cube.dim {
                    let fixed = p.vars - cube.free;
                    for i in 0..fixed {
                        point.push(if (cube.prefix >> (fixed - 1 - i)) & 1 == 1 { EF::ONE } else { EF::ZERO });
                    }
                    point.extend(t.challenge_exts(cube.free));
                } else {
                    point.extend(t.challenge_exts(p.vars));
                }
            }
            acc.push(PolyId::Slot(k), Origin::Setup, point, EF::ZERO);
        }
    }
}

/// Verifies a setup proof against `vk` alone: every committed weight entry is within its
/// declared bound and every block padding entry is zero.
pub fn verify_setup(vk: &VerifyingKey, proof: &SetupProof) -> Result<(), ProofSystemError> {
    verify_setup_inner(vk, proof, MAX_GKR_LEAVES)
}

/// [`verify_setup`] with GKR groups of at most `max_leaves` leaves (tests of the grouping).
#[doc(hidden)]
pub fn verify_setup_inner(vk: &VerifyingKey, proof: &SetupProof, max_leaves: usize) -> Result<(), ProofSystemError> {
    let digest = vk.digest();
    if proof.model_commitment != digest {
        return Err(ProofSystemError::WrongModel { proof: hex::encode(proof.model_commitment), key: hex::encode(digest) });
    }
    let layout = Layout::new(vk, max_leaves)?;
    let tables = layout.tables()?;
    let mut t = VerifierTranscript::new(&domain_separator(&digest), &proof.transcript);
    let aux_com = decode_commitment(t.receive_bytes()?)?;
    if aux_com.poly_num_vars != layout.aux_num_vars(&tables) {
        return Err(reject("the setup proof's aux commitment does not have the expected slices"));
    }
    let lens = layout.column_lens();
    let statements: Vec<(&Table, &[usize])> = tables.iter().zip(&lens).map(|(t, l)| (t, l.as_slice())).collect();
    let mut claims = Vec::with_capacity(statements.len());
    for g in &layout.groups {
        let group = statements.get(g.clone()).ok_or_else(|| reject("lookup groups out of range"))?;
        claims.extend(verify_lookups(group, &mut t).map_err(|e| reject(format!("weight range lookup: {e}")))?);
    }
    let (mut weight_acc, mut aux_acc) = reduce_claims(&layout, tables.len(), &claims, true)?;
    for (&k, base) in layout.wide.iter().zip(limb_bases(&layout, tables.len())) {
        let rho = t.challenge_exts(layout.slices[k].num_vars);
        let evals = t.receive_exts(2 * layout.slices[k].limbs())?;
        link_wide(&layout, k, base, &rho, &evals, true, &mut weight_acc, &mut aux_acc)?;
    }
    padding_claims(&layout, &mut t, &mut weight_acc);
    let pcs = pcs();
    vk.verify_weight_opening(&pcs, weight_acc, &PolyId::slots(vk.commitment.poly_num_vars.len()), &mut t)?;
    aux_acc.verify(&pcs, &aux_com, &PolyId::slots(aux_com.poly_num_vars.len()), &mut t)?;
    t.finish()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    #[test]
    fn dyadic_cover_tiles_the_tail() {
        for v in 0..7usize {
            for c in 0..=(1usize << v) {
                let cover = dyadic_cover(c, v);
                let mut next = c;
                for &(s, k) in &cover {
                    assert_eq!(s, next);
                    assert_eq!(s % (1 << k), 0);
                    next += 1 << k;
                }
                assert_eq!(next, 1 << v, "c = {c}, v = {v}");
            }
        }
    }
}
