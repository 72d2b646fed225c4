//! Chunked (incremental) proofs: the proof stream and its verifier (issue 12). The argument is
//! `docs/PROTOCOLS.md` ("Incremental (chunked) proving"), the format `docs/PROOF_FORMAT.md`
//! ("Proof stream").
//!
//! The positions `[0, T)` of the proven pass (`T = P + len − 1`, as in the single pass) are proven
//! in chunks of `C = 2^c` positions (the last may be shorter). Chunk `k` covers `[s_k, s_k + C_k)`,
//! `s_k = k·C`; its graph is the key's graph at `T = C_k` for `k = 0` and the key's KV-cache step
//! graph at `T = C_k, P = s_k` after that, with predictions at its rows in `[P−1, T)` (or at its
//! last row if it has none: that prediction is proven but is not part of the statement). Per
//! chunk, on ONE Fiat–Shamir transcript: the chunk's size and predictions, the roots of the
//! witness commitment `W_k` and — in the first chunk of a keys/values epoch ([`Epochs`]: the two
//! halves of the header's largest chunk count) — of `KV_e`, the keys/values of all the epoch's chunks, the
//! link of `KV_e` (at this chunk's rows) to the chunk's walk at a random point drawn after both
//! commitments, the graph proof (cached keys/values are deferred inputs), the split of every
//! claim on the cache over the earlier epochs ([`epoch_split`]: one value per whole epoch, the
//! values of the current epoch folded at a random `ρ`), and the opening of `W_k`. Weight claims
//! and `KV_e` claims accumulate; the closing record opens each `KV_e` once and the weight
//! commitment once.
//!
//! The verifier reads the stream record by record: its memory is one record plus the
//! accumulators (per epoch a `KV_e` commitment and its claims, `O(K·L)` in all; the weight
//! claims) and the completion ids, never the whole stream.

use std::io::Read;

use zkinfer_graph::template::TensorDecl;
use zkinfer_graph::{Graph, GraphTemplate, TensorId};
use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_ops::{ChunkIo, Claim, TensorLayout};
use zkinfer_pcs::{OpeningAccumulator, Origin, PolyId, WhirCommitment};
use zkinfer_transcript::{DomainSeparator, Transcript, TranscriptState, VerifierTranscript};

use crate::codec::{DecodeError, Reader, Writer};
use crate::key::{self, VerifyingKey};
use crate::{PROTOCOL_ID, ProofSystemError, Verified, weight_blocks};

/// Magic bytes of a proof stream.
pub const STREAM_MAGIC: &[u8; 8] = b"ZKINFSTR";
/// Format version of proof streams this build reads and writes (2: keys/values committed per
/// epoch, roots-only records; 3: the chunks' witness commitments as proof format 6 has them; 4:
/// a chunk's lookup GKRs hold at most [`CHUNK_GKR_LEAVES`] leaves; 5: a chunk's witness is
/// committed in groups of at most 2^[`CHUNK_MAX_GROUP_VARS`] entries, [`chunk_witness_pcs`]).
/// 6: the chunks' symmetric clamps in the magnitude form ([`crate::PROTOCOL_VERSION`] 8).
/// 7: two keys/values epochs (the halves of the header's largest chunk count, [`Epochs`]) committed
/// at a lower starting rate ([`chunk_kv_pcs`]), and a chunk's witness groups below 2^25 entries at
/// a lower starting rate too ([`chunk_witness_pcs`]).
/// 8: every commitment of the stream (each group of a chunk's witness `W_k`, each keys/values
/// epoch `KV_e`) is followed by its out-of-domain samples and their values, before any challenge
/// the claims on it depend on, and every opening targets the composed bits [`StreamSecurity`]
/// derives from the header (`128 + ⌈log2 M⌉ + 1`, `M` the most openings the header allows).
/// 9: a chunk's lookup GKRs hold at most 2^25 leaves ([`CHUNK_GKR_LEAVES`]; 2^24 in versions 4–8).
/// 10: the close's weight opening proves the key's out-of-domain answers (key version 9,
/// `VerifyingKey::verify_weight_opening`), the stream version is bound into the transcript
/// ([`domain_separator`]), and both sides refuse a header whose composed bound
/// ([`StreamSecurity::composed_bits`]) is below 128 bits; a lookup GKR proves all its trees with one
/// set of layer proofs (the tree index as sumcheck variables, `zkinfer_lookup::fracaddcheck`).
pub const STREAM_VERSION: u32 = 10;
/// Version of the chunked protocol bound into its transcript (3: its chunks' witness as
/// [`crate::PROTOCOL_VERSION`] 6; 4: [`CHUNK_GKR_LEAVES`]; 5: [`CHUNK_MAX_GROUP_VARS`]; 6: the
/// symmetric clamps' magnitude form, [`crate::PROTOCOL_VERSION`] 8; 7: [`Epochs`], [`chunk_kv_pcs`]
/// and [`CHUNK_WITNESS_SMALL_CODEWORD_VARS`]; 8: out-of-domain samples right after each root and
/// [`StreamSecurity`]'s opening targets; 9: [`CHUNK_GKR_LEAVES`] = 2^25; 10: the key's
/// out-of-domain answers in the weight opening, the stream version in the transcript, one set of
/// layer proofs per lookup GKR).
pub const CHUNKED_PROTOCOL_VERSION: u32 = 10;
/// Largest record a reader accepts (checked before allocating).
pub const MAX_RECORD_BYTES: u64 = 64 << 20;
/// Largest chunk size.
pub const MAX_CHUNK: u32 = 1 << 16;
/// Most leaves of one lookup GKR in a chunk's graph proof ([`zkinfer_ops::ChunkIo::gkr_leaves`]),
/// whatever the one-pass rule (`zkinfer_ops::lookups::gkr_leaf_budget`) gives for the chunk's
/// plan: a chunk is proven to bound memory, and a GKR's extension-field layers are its largest
/// transient (GPT-2 small, `C = 64`: 2^26 leaves took the chunk from 4.5 GB to 8.5 GB resident in
/// stream version 3). Stream version 9 raised it from 2^24 to 2^25: fewer logUp statements and GKRs
/// per chunk (GPT-2 small `T = 512, C = 64`: 13 → 7 GKRs and 22 → 18 statements in chunks 4–7, the
/// lookups' bytes 2 129 568 → 1 614 768 in all), and the prover releases a chunk's witness groups
/// after the first until their opening (`zkinfer_pcs::WhirPcs::commit_owned_releasing_rest`), so
/// that the larger GKRs do not run beside those groups' codewords.
pub const CHUNK_GKR_LEAVES: usize = 1 << 25;
/// No group of a chunk's witness commitment is padded beyond 2^this entries
/// (`zkinfer_pcs::commitment_groups_capped`): the one-pass rule pads a batch of `(4/3)·2^27` to
/// ONE group of 2^28 (GPT-2 small, `C = 64` from 320 cached positions: 8.56 GB resident after the
/// commitment), where groups of exact powers of two take what the batch needs, at one WHIR
/// opening per group.
pub const CHUNK_MAX_GROUP_VARS: usize = 27;

/// A chunk's witness groups of fewer than 2^25 entries start at a lower rate, so that their
/// codeword has about 2^this entries (`zkinfer_pcs::WhirParams::small_codeword_vars`; at most
/// rate 1/16; the default PCS's is 23): a 2^24 group (GPT-2 small's rest beyond 2^27 at
/// `T = 512, C = 64` chunk 4, and at `T = 1024, C = 32` chunks 21–31) opens in ≈ 189 KB at rate 1/4
/// instead of ≈ 283 KB at rate 1/2, for a codeword of 2^26 entries (512 MiB) instead of 2^25. Groups
/// of 2^25 entries and more (every chunk's first group) keep rate 1/2.
pub const CHUNK_WITNESS_SMALL_CODEWORD_VARS: usize = 26;
/// The keys/values epochs' batches start at a lower rate so that their codeword has about 2^this
/// entries (at most rate 1/16): GPT-2 small's epoch of four chunks of 64 (2^23 packed entries)
/// opens in ≈ 168 KB at rate 1/4 instead of ≈ 259 KB, one of a single chunk (2^21) in ≈ 106 KB at
/// rate 1/16 instead of ≈ 153 KB at rate 1/4; an epoch of 2^24 entries and more keeps rate 1/2.
pub const KV_SMALL_CODEWORD_VARS: usize = 25;

/// Most groups a keys/values epoch's batch may have (one for every model we prove: GPT-2 small,
/// SmolLM2, the tiny fixtures); part of the opening count [`StreamSecurity`] bounds, so a batch
/// that needs more is refused by both sides.
pub const MAX_KV_GROUPS: usize = 2;

/// Most WHIR openings a stream's header may allow (`M` of [`StreamSecurity`]): their target is at
/// most 142 composed bits, which p3-whir reaches at every size with per-term targets of at most
/// 148 and 20 bits of grinding (above, terms bounded by the field's size keep the composed figure
/// near 142 whatever the per-term target). A header allowing more is refused: GPT-2's full context
/// of 1024 positions can be proven in chunks of 1 position or more, a Llama-family key's 8192 in
/// chunks of 8 or more.
pub const MAX_STREAM_OPENINGS: usize = 1 << 13;

/// Composed bits of every opening of a stream (`docs/PROTOCOLS.md`, chunked Soundness): a stream
/// whose header allows at most `M` WHIR openings (`K_max` chunks of at most
/// [`MAX_CHUNK_WITNESS_GROUPS`] witness groups each, two keys/values epochs of at most
/// [`MAX_KV_GROUPS`] groups, the weight commitment's groups) opens each at `128 + ⌈log2 M⌉ + 1`
/// composed bits, so that all its openings together err with probability at most `2^-129`, and
/// the rest of the stream (graph proofs, links, folds, out-of-domain samples: `< 2^-135`) keeps
/// the whole stream at 128 bits or more. Derived by the verifier from the header and the key
/// alone, never read from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamSecurity {
    /// `M`: the most WHIR openings a stream with this header can have.
    pub openings: usize,
    /// Composed bits every opening reaches: `128 + ⌈log2 M⌉ + 1`.
    pub opening_bits: usize,
}

impl StreamSecurity {
    /// The target of a stream with this header under a key whose weight commitment has
    /// `weight_groups` groups.
    pub fn for_header(header: &StreamHeader, weight_groups: usize) -> Self {
        let k_max = k_max(header);
        let openings = k_max.saturating_mul(MAX_CHUNK_WITNESS_GROUPS).saturating_add(2 * MAX_KV_GROUPS + weight_groups);
        let opening_bits = 128 + openings.next_power_of_two().trailing_zeros() as usize + 1;
        #[cfg(feature = "test-hooks")]
        if let Some(bits) = TEST_STREAM_BITS.with(std::cell::Cell::get) {
            return Self { openings, opening_bits: bits };
        }
        Self { openings, opening_bits }
    }

    /// The target of a stream with this header under `vk`.
    pub fn for_key(vk: &VerifyingKey, header: &StreamHeader) -> Self {
        Self::for_header(header, key::pcs().num_groups(&vk.commitment.poly_num_vars))
    }

    /// p3-whir's per-term target for the stream's openings: the smallest that composes to
    /// `opening_bits` or more at every packed size `2^8 … 2^28` and every starting rate the stream
    /// uses (`every_opening_reaches_its_streams_target`; the union over an opening's terms loses
    /// 2.1–2.9 bits up to a target of 137, more above, where terms bounded by `|EF|` weigh in).
    pub fn term_bits(&self) -> usize {
        match self.opening_bits {
            ..=137 => self.opening_bits + 3,
            138 => 142,
            139 => 144,
            140 => 146,
            b => b + 6,
        }
    }

    /// Refuses a header that allows more than [`MAX_STREAM_OPENINGS`] openings.
    pub fn check(&self, header: &StreamHeader) -> Result<(), String> {
        if self.openings > MAX_STREAM_OPENINGS {
            return Err(format!(
                "chunks of {} positions allow up to {} WHIR openings, more than the {MAX_STREAM_OPENINGS} whose soundness the stream can reach: use a larger chunk size",
                header.chunk_size, self.openings
            ));
        }
        Ok(())
    }

    /// The composed soundness of a stream with this header under `vk` ([`StreamBound`]), computed
    /// from the header and the key alone (nothing the stream states); an error if it is below 128
    /// bits. Both sides call it before anything is proven or read (stream version 10): the
    /// prover refuses to start, the verifier rejects at the header.
    pub fn check_composed(&self, header: &StreamHeader, vk: &VerifyingKey) -> Result<f64, String> {
        self.bound(header, &vk.commitment, true)?.check(header.chunk_size)
    }

    /// The terms of the composed bound of a stream with this header under a key whose weight
    /// commitment is `weights`; `key_ood`: whether the weight opening proves the key's
    /// out-of-domain answers (key version 9 and later: always; `false` gives the bound of stream
    /// versions 8–9, whose graph errors are charged over the product of every weight group's
    /// list). An error if a weight group's WHIR configuration does not exist at the target.
    pub fn bound(&self, header: &StreamHeader, weights: &WhirCommitment, key_ood: bool) -> Result<StreamBound, String> {
        let weight_vars = key::pcs().group_num_vars(&weights.poly_num_vars).map_err(|e| e.to_string())?;
        let engine = zkinfer_pcs::whir::WhirEngine::new(*self.weight_pcs().params());
        let weight_groups = weight_vars
            .iter()
            .map(|&n| engine.composed_security(n).map(|(bits, list)| WeightGroupBound { vars: n, bits, list_bits: list }).map_err(|e| format!("weight group of 2^{n}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let (stream_opening_bits, stream_list_bits) = stream_opening_floor(self.term_bits())?;
        Ok(StreamBound {
            k_max: k_max(header),
            stream_openings: self.openings.saturating_sub(weight_groups.len()),
            stream_opening_bits,
            stream_list_bits,
            weight_groups,
            key_ood,
        })
    }

    /// The PCS that opens the weight commitment in the stream's closing record: [`key::pcs`] (the
    /// key's commitment; its codeword does not depend on the target) at [`StreamSecurity::term_bits`].
    pub fn weight_pcs(&self) -> zkinfer_pcs::WhirPcs {
        zkinfer_pcs::WhirPcs::new(zkinfer_pcs::WhirParams { security_bits: self.term_bits(), ..*key::pcs().params() })
    }
}

/// `K_max`: the most chunks a stream with this header can have.
pub fn k_max(header: &StreamHeader) -> usize {
    let positions = (header.prompt_ids.len() + header.max_new_tokens as usize).saturating_sub(1).max(1);
    positions.div_ceil((header.chunk_size as usize).max(1))
}

/// The largest packed group a stream's own commitments (chunk witness, keys/values epochs) may
/// have: above it p3-whir's composed figure falls below the header's target (at the per-term
/// target 136 it composes 133.84 bits at 2^28 but 133.58 at 2^31 and 132.26 at 2^32, below
/// the target 133), so both sides refuse such a group ([`check_chunk_witness_groups`],
/// [`check_kv_groups`]). A chunk's witness groups are at most 2^[`CHUNK_MAX_GROUP_VARS`] entries
/// unless one column is larger; a keys/values epoch of GPT-2 small at its full context is 2^23.6,
/// SmolLM2's at 8192 positions 2^25.5; a 2^29-entry group's codeword alone would take 8 GiB.
pub const MAX_STREAM_GROUP_VARS: usize = 28;

/// Packed sizes over which [`stream_opening_floor`] takes the stream's own openings' lowest
/// composed bits: `2^8 … 2^`[`MAX_STREAM_GROUP_VARS`] (no stream group is larger).
pub const STREAM_OPENING_VARS: std::ops::RangeInclusive<usize> = 8..=MAX_STREAM_GROUP_VARS;

/// The lowest composed bits of one opening of the stream's own commitments (chunk witness groups,
/// keys/values epochs) at the per-term target `term_bits`, over every packed size of
/// [`STREAM_OPENING_VARS`] and both PCSs ([`chunk_witness_pcs`], [`chunk_kv_pcs`]), and the largest
/// candidate list (`log2`) among them. Computed once per target (p3-whir's configurations, ≈ 40 of
/// them) and kept for the process.
pub fn stream_opening_floor(term_bits: usize) -> Result<(f64, f64), String> {
    // Keyed by the parameters themselves (the test hooks change the small-codeword targets).
    static FLOORS: std::sync::Mutex<Vec<(String, (f64, f64))>> = std::sync::Mutex::new(Vec::new());
    let all = [*chunk_witness_pcs(term_bits).params(), *chunk_kv_pcs(term_bits).params()];
    let id = format!("{all:?}");
    let cached = FLOORS.lock().ok().and_then(|f| f.iter().find(|(k, _)| *k == id).map(|(_, v)| *v));
    if let Some(v) = cached {
        return Ok(v);
    }
    let (mut bits, mut list) = (f64::INFINITY, 0f64);
    for params in all {
        let engine = zkinfer_pcs::whir::WhirEngine::new(params);
        for n in STREAM_OPENING_VARS {
            let (b, l) = engine.composed_security(n).map_err(|e| format!("stream opening of 2^{n} at {term_bits} bits: {e}"))?;
            bits = bits.min(b);
            list = list.max(l);
        }
    }
    if let Ok(mut f) = FLOORS.lock() {
        f.push((id, (bits, list)));
    }
    Ok((bits, list))
}

/// One weight group in a composed bound: its packed variables, its opening's composed bits and
/// its candidate list (`log2`), p3-whir's figures at the opening's target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightGroupBound {
    /// Packed variables `n` of the group.
    pub vars: usize,
    /// Composed bits of its opening.
    pub bits: f64,
    /// `log2` of its Johnson list.
    pub list_bits: f64,
}

/// The composed soundness of a stream (`docs/PROTOCOLS.md`, chunked Soundness; `docs/SECURITY.md`,
/// "The key's out-of-domain answers"): the union bound of
/// - the stream's own WHIR openings (at most `M − G_w`), each at `stream_opening_bits` or more;
/// - the weight opening, one term per weight group (its own composed bits);
/// - per chunk (`k_max`) and per opening (`M`), the algebraic errors charged once per candidate of
///   the weight commitment: `2^33/|EF|` (the chunk's graph proof `≤ 2^32/|EF|`, its link, folds and
///   batching sumchecks below another `2^32/|EF|`) times ONE candidate when the weight opening
///   proves the key's out-of-domain answers (`key_ood`), the product of every weight group's
///   list otherwise (stream versions 8–9); the stream's own commitments are never multiplied in
///   (each one's out-of-domain samples come before any challenge its claims depend on);
/// - per stream commitment (at most `M`) the out-of-domain collision
///   `C(L, 2)·n/|EF| ≤ 2^(2·list_bits − 1)·2^5/|EF|`;
/// - with `key_ood`, per weight group the chance that the key's points let two list members agree:
///   `C(L_g, 2)·n_g/|EF|` per key the key maker tries (grinding over keys multiplies it, as every
///   term here is multiplied by an adversary's hash evaluations, `docs/SECURITY.md` intro).
#[derive(Clone, Debug, PartialEq)]
pub struct StreamBound {
    /// `K_max`.
    pub k_max: usize,
    /// The stream's own openings (`M − G_w`).
    pub stream_openings: usize,
    /// Their lowest composed bits ([`stream_opening_floor`]).
    pub stream_opening_bits: f64,
    /// The largest list of a stream commitment (`log2`).
    pub stream_list_bits: f64,
    /// The weight commitment's groups.
    pub weight_groups: Vec<WeightGroupBound>,
    /// Whether the weight opening proves the key's out-of-domain answers.
    pub key_ood: bool,
}

impl StreamBound {
    /// [`StreamBound::bits`], or an error naming the figure if it is below 128 bits (`chunk_size`
    /// for the message).
    pub fn check(&self, chunk_size: u32) -> Result<f64, String> {
        let bits = self.bits();
        if bits < 128.0 {
            return Err(format!(
                "a stream of chunks of {chunk_size} positions under this key is {bits:.2}-bit sound ({} chunks at most, {} openings, {} weight groups{}): below the 128 bits required; use a larger chunk size",
                self.k_max,
                self.stream_openings + self.weight_groups.len(),
                self.weight_groups.len(),
                if self.key_ood { "" } else { ", no out-of-domain answers in the key" }
            ));
        }
        Ok(bits)
    }

    /// `−log2` of the union bound.
    pub fn bits(&self) -> f64 {
        let ef = log2_ef();
        let openings = (self.stream_openings + self.weight_groups.len()) as f64;
        let weight_list: f64 = if self.key_ood { 0.0 } else { self.weight_groups.iter().map(|g| g.list_bits).sum() };
        let mut err = self.stream_openings as f64 * (-self.stream_opening_bits).exp2()
            + self.weight_groups.iter().map(|g| (-g.bits).exp2()).sum::<f64>()
            + (self.k_max as f64 + openings) * (weight_list + 33.0 - ef).exp2()
            + openings * (2.0 * self.stream_list_bits - 1.0 + 5.0 - ef).exp2();
        if self.key_ood {
            err += self.weight_groups.iter().map(|g| (2.0 * g.list_bits - 1.0 + (g.vars.max(1) as f64).log2() - ef).exp2()).sum::<f64>();
        }
        -err.log2()
    }
}

/// `log2 |EF|` (`p^3`, `p` = Goldilocks).
pub fn log2_ef() -> f64 {
    3.0 * (18_446_744_069_414_584_321f64).log2()
}

/// The WHIR parameters of the stream's own commitments: [`key::pcs`]'s with the small-codeword
/// target `vars` and the per-term target `term_bits` ([`StreamSecurity::term_bits`]).
fn stream_params(vars: usize, term_bits: usize) -> zkinfer_pcs::WhirParams {
    let params = zkinfer_pcs::WhirParams { small_codeword_vars: vars, security_bits: term_bits, ..*key::pcs().params() };
    #[cfg(feature = "test-hooks")]
    if let Some(small) = TEST_SMALL_CODEWORDS.with(std::cell::Cell::get) {
        return zkinfer_pcs::WhirParams { small_codeword_vars: small, ..params };
    }
    params
}

/// The PCS of a chunk's witness `W_k` ([`key::pcs`]'s parameters with groups of fewer than 2^25
/// entries at a lower starting rate, [`CHUNK_WITNESS_SMALL_CODEWORD_VARS`]; groups of at most
/// 2^[`CHUNK_MAX_GROUP_VARS`] entries, the Merkle cap padded with empty roots) at the stream's
/// per-term target `term_bits` ([`StreamSecurity::term_bits`]; the grouping and the codewords do not
/// depend on it); the keys/values epochs use [`chunk_kv_pcs`], the weights
/// [`StreamSecurity::weight_pcs`].
pub fn chunk_witness_pcs(term_bits: usize) -> zkinfer_pcs::WhirPcs {
    let pcs = zkinfer_pcs::WhirPcs::new(stream_params(CHUNK_WITNESS_SMALL_CODEWORD_VARS, term_bits));
    #[cfg(feature = "test-hooks")]
    if let Some((max_group_vars, split_from_vars)) = TEST_CHUNK_GROUPS.with(std::cell::Cell::get) {
        return pcs.with_max_group_vars(max_group_vars).with_split_from_vars(split_from_vars);
    }
    pcs.with_max_group_vars(CHUNK_MAX_GROUP_VARS)
}

/// The PCS of the keys/values epochs `KV_e` ([`key::pcs`]'s parameters with the small-codeword
/// target [`KV_SMALL_CODEWORD_VARS`]; grouped as [`key::pcs`] groups) at the per-term target
/// `term_bits`.
pub fn chunk_kv_pcs(term_bits: usize) -> zkinfer_pcs::WhirPcs {
    zkinfer_pcs::WhirPcs::new(stream_params(KV_SMALL_CODEWORD_VARS, term_bits))
}

/// Refuses a keys/values batch that [`chunk_kv_pcs`] commits as more than [`MAX_KV_GROUPS`]
/// groups.
pub fn check_kv_groups(poly_num_vars: &[usize]) -> Result<usize, String> {
    let pcs = chunk_kv_pcs(key::pcs().params().security_bits);
    let groups = pcs.num_groups(poly_num_vars);
    if groups > MAX_KV_GROUPS {
        return Err(format!("the keys/values epoch needs {groups} commitment groups, more than the {MAX_KV_GROUPS} the stream's opening count allows"));
    }
    check_stream_group_sizes(&pcs, poly_num_vars, "keys/values epoch")?;
    Ok(groups)
}

/// Refuses a stream commitment with a group above 2^[`MAX_STREAM_GROUP_VARS`] packed entries
/// (its opening would not reach the header's target).
fn check_stream_group_sizes(pcs: &zkinfer_pcs::WhirPcs, poly_num_vars: &[usize], what: &str) -> Result<(), String> {
    let vars = pcs.group_num_vars(poly_num_vars).map_err(|e| e.to_string())?;
    if let Some(n) = vars.iter().find(|&&n| n > MAX_STREAM_GROUP_VARS) {
        return Err(format!(
            "the {what} needs a commitment group of 2^{n} entries, more than the 2^{MAX_STREAM_GROUP_VARS} whose opening reaches the stream's target: use a smaller chunk size"
        ));
    }
    Ok(())
}

#[cfg(feature = "test-hooks")]
thread_local! {
    static TEST_CHUNK_GROUPS: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
    static TEST_FIRST_EPOCH: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    static TEST_STREAM_BITS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    static TEST_SMALL_CODEWORDS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Tests only (feature `test-hooks`): on the calling thread, [`StreamSecurity::for_header`] gives
/// openings of `bits` composed bits (`None`: the header's rule), so that a test can make a stream
/// at another target than the header's and show the verifier, which derives its own, refuses it.
#[cfg(feature = "test-hooks")]
pub fn set_test_stream_bits(bits: Option<usize>) {
    TEST_STREAM_BITS.with(|c| c.set(bits));
}

/// Tests only (feature `test-hooks`): on the calling thread, the stream's commitments
/// ([`chunk_witness_pcs`], [`chunk_kv_pcs`]) take `vars` as their small-codeword target (`None`:
/// [`CHUNK_WITNESS_SMALL_CODEWORD_VARS`] and [`KV_SMALL_CODEWORD_VARS`]): the same rule at smaller
/// codewords, so that the tiny fixtures' multi-chunk tests do not commit 2^26-entry codewords
/// (their witnesses are ≈ 2^20 entries, at rate 1/16 under the production target). Prover and
/// verifier read it on the thread that calls them; a stream proven under it is refused by a
/// verifier without it (`review_chunked.rs`), so only a test can use it.
#[cfg(feature = "test-hooks")]
pub fn set_test_small_codewords(vars: Option<usize>) {
    TEST_SMALL_CODEWORDS.with(|c| c.set(vars));
}

/// Tests only (feature `test-hooks`): on the calling thread, [`Epochs::for_header`] gives a first
/// epoch of `2^first_log` chunks (`None`: the stream's rule), so that the reviews' attacks on
/// epochs of the doubling layout `{0}, {1}, {2,3}, {4…7}` (`Some(0)`, stream versions 2–6) run
/// on the same code as the production layout. Prover and verifier read it on the thread that
/// calls them.
#[cfg(feature = "test-hooks")]
pub fn set_test_first_epoch(first_log: Option<usize>) {
    TEST_FIRST_EPOCH.with(|c| c.set(first_log));
}

/// Tests only (feature `test-hooks`): on the calling thread, [`chunk_witness_pcs`] commits a
/// chunk's witness in groups of at most `2^max_group_vars` entries, split from
/// `2^split_from_vars` entries on (`None`: the stream's own [`CHUNK_MAX_GROUP_VARS`] and
/// `zkinfer_pcs::SPLIT_FROM_VARS`), so that a test can prove and verify chunks of several
/// witness groups with a tiny model. The prover and the verifier of a stream read it on the
/// thread that calls them ([`verify_stream`], `prove_chunked`).
#[cfg(feature = "test-hooks")]
pub fn set_test_chunk_groups(groups: Option<(usize, usize)>) {
    TEST_CHUNK_GROUPS.with(|c| c.set(groups));
}

/// Most groups a chunk's witness commitment may have. Each group is a WHIR opening, and
/// [`StreamSecurity`] counts `K_max·MAX_CHUNK_WITNESS_GROUPS` witness openings in the `M` that
/// sets every opening's target, so the verifier refuses a chunk whose witness shapes would need
/// more groups (the chunk size is the prover's choice; GPT-2 small needs at most three up to
/// `C = 128`), and so does the prover. (Stream versions up to 7 bounded it for the product of the
/// groups' candidate lists; since version 8 each group's out-of-domain sample pins one candidate.)
pub const MAX_CHUNK_WITNESS_GROUPS: usize = 4;

/// Refuses a chunk witness whose shapes [`chunk_witness_pcs`] commits as more than
/// [`MAX_CHUNK_WITNESS_GROUPS`] groups; returns the group count.
pub fn check_chunk_witness_groups(poly_num_vars: &[usize]) -> Result<usize, String> {
    let pcs = chunk_witness_pcs(key::pcs().params().security_bits);
    let groups = pcs.num_groups(poly_num_vars);
    if groups > MAX_CHUNK_WITNESS_GROUPS {
        return Err(format!(
            "the chunk's witness needs {groups} commitment groups, more than the {MAX_CHUNK_WITNESS_GROUPS} its soundness bound allows: use a smaller chunk size"
        ));
    }
    check_stream_group_sizes(&pcs, poly_num_vars, "chunk's witness")?;
    Ok(groups)
}
/// Record kinds.
const KIND_CHUNK: u8 = 1;
const KIND_CLOSE: u8 = 2;

/// The header record: the statement's fixed part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHeader {
    /// The model commitment (digest of the verifying key).
    pub model_commitment: [u8; 32],
    /// The requested maximum of new tokens.
    pub max_new_tokens: u32,
    /// Positions per chunk `C` (a power of two).
    pub chunk_size: u32,
    /// Prompt ids.
    pub prompt_ids: Vec<u32>,
}

impl StreamHeader {
    /// Encodes the header record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(STREAM_MAGIC);
        w.u32(STREAM_VERSION);
        w.raw(&self.model_commitment);
        w.u32(self.max_new_tokens);
        w.u32(self.chunk_size);
        w.u32s(&self.prompt_ids);
        w.into_bytes()
    }

    /// Reads the header record from a stream; at most `max_prompt` prompt ids are accepted
    /// (checked before allocating).
    pub fn read(r: &mut impl Read, max_prompt: usize) -> Result<Self, DecodeError> {
        Ok(Self::read_versioned(r, max_prompt)?.0)
    }

    /// [`StreamHeader::read`], also returning the version field as the bytes hold it (only
    /// [`STREAM_VERSION`] is accepted): the verifier binds THAT value into the transcript
    /// ([`domain_separator_for`]), so a stream is verified under the version it carries.
    pub fn read_versioned(r: &mut impl Read, max_prompt: usize) -> Result<(Self, u32), DecodeError> {
        let mut fixed = [0u8; 8 + 4 + 32 + 4 + 4 + 4];
        read_exact(r, &mut fixed, "stream header")?;
        let version = u32::from_le_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
        let mut rd = Reader::new(&fixed);
        rd.header(STREAM_MAGIC, STREAM_VERSION, "zkinfer proof stream")?;
        let model_commitment = rd.array::<32>("model commitment")?;
        let max_new_tokens = rd.u32("max new tokens")?;
        let chunk_size = rd.u32("chunk size")?;
        let n = rd.u32("prompt length")? as usize;
        if n > max_prompt {
            return Err(DecodeError::Invalid { what: "prompt length", why: format!("{n} ids, the key's context is {max_prompt}") });
        }
        let mut ids = vec![0u8; 4 * n];
        read_exact(r, &mut ids, "prompt ids")?;
        let prompt_ids = ids.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok((Self { model_commitment, max_new_tokens, chunk_size, prompt_ids }, version))
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<(), DecodeError> {
    r.read_exact(buf).map_err(|_| DecodeError::Truncated { what })
}

/// A chunk record's bytes (kind, index, length, the chunk's transcript segment).
pub fn chunk_record(index: u32, segment: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(KIND_CHUNK);
    w.u32(index);
    w.u64(segment.len() as u64);
    w.raw(segment);
    w.into_bytes()
}

/// The closing record's bytes (kind, length, the close's transcript segment).
pub fn close_record(segment: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(KIND_CLOSE);
    w.u64(segment.len() as u64);
    w.raw(segment);
    w.into_bytes()
}

/// One record read from a stream.
enum Record {
    Chunk { index: u32, segment: Vec<u8> },
    Close { segment: Vec<u8> },
}

fn read_record(r: &mut impl Read) -> Result<Record, DecodeError> {
    let mut kind = [0u8; 1];
    read_exact(r, &mut kind, "record kind (the stream ends without a closing record)")?;
    let index = match kind[0] {
        KIND_CHUNK => {
            let mut b = [0u8; 4];
            read_exact(r, &mut b, "chunk index")?;
            Some(u32::from_le_bytes(b))
        }
        KIND_CLOSE => None,
        k => return Err(DecodeError::Invalid { what: "record kind", why: format!("{k}") }),
    };
    let mut b = [0u8; 8];
    read_exact(r, &mut b, "record length")?;
    let len = u64::from_le_bytes(b);
    if len > MAX_RECORD_BYTES {
        return Err(DecodeError::Invalid { what: "record length", why: format!("{len} bytes exceeds the cap of {MAX_RECORD_BYTES}") });
    }
    let mut segment = vec![0u8; len as usize];
    read_exact(r, &mut segment, "record")?;
    Ok(match index {
        Some(index) => Record::Chunk { index, segment },
        None => Record::Close { segment },
    })
}

/// The transcript domain of a chunked proof as the prover writes it: [`domain_separator_for`] a
/// header of [`STREAM_VERSION`].
pub fn domain_separator(architecture: &str, header: &StreamHeader) -> DomainSeparator {
    domain_separator_for(architecture, header, STREAM_VERSION)
}

/// The transcript domain of a chunked proof: protocol id and version, then the header — every
/// field of it, the version field `stream_version` included (stream version 10: the verifier
/// passes the value its header record holds, [`StreamHeader::read_versioned`]; review13 found
/// versions up to 9 bound only the protocol version, so a build that accepted another stamp would
/// have verified the same bytes under it).
pub fn domain_separator_for(architecture: &str, header: &StreamHeader, stream_version: u32) -> DomainSeparator {
    let ids: Vec<u8> = header.prompt_ids.iter().flat_map(|x| x.to_le_bytes()).collect();
    DomainSeparator::new(PROTOCOL_ID, 1000 + CHUNKED_PROTOCOL_VERSION)
        .with_public("proof kind", b"chunked")
        .with_public("stream version", &stream_version.to_le_bytes())
        .with_public("architecture", architecture.as_bytes())
        .with_public("model commitment", &header.model_commitment)
        .with_public("max new tokens", &header.max_new_tokens.to_le_bytes())
        .with_public("chunk size", &header.chunk_size.to_le_bytes())
        .with_public("prompt ids", &ids)
}

/// The chunk layout: what chunk `k` covers and predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkShape {
    /// First position `s_k`.
    pub start: usize,
    /// New positions `C_k`.
    pub n_new: usize,
    /// Predicted rows (the last `n_out` of the chunk).
    pub n_out: usize,
    /// Whether those predictions are completion tokens (false: a chunk inside the prompt, whose
    /// one prediction at its last row is proven but not part of the statement).
    pub in_statement: bool,
}

impl ChunkShape {
    /// The shape of the chunk at `start` with `n_new` positions after a prompt of `prompt_len`.
    pub fn new(start: usize, n_new: usize, prompt_len: usize) -> Self {
        let end = start + n_new;
        let first_pred = prompt_len.saturating_sub(1).max(start);
        if first_pred < end {
            ChunkShape { start, n_new, n_out: end - first_pred, in_statement: true }
        } else {
            ChunkShape { start, n_new, n_out: 1, in_statement: false }
        }
    }
}

/// The cached tensors' names (`X` for each step-graph input `X_past`), in input order.
pub fn cache_names(step: &GraphTemplate) -> Vec<String> {
    step.inputs
        .iter()
        .filter_map(|id| match step.tensors.get(id.0) {
            Some(TensorDecl::Input { name, .. }) => name.strip_suffix("_past").map(str::to_owned),
            _ => None,
        })
        .collect()
}

/// A chunk graph's new keys/values (`X` in the first chunk, `X_new` after) and cached ones
/// (`X_past`, none in the first chunk), per cached name. After the first chunk the graph must
/// join them as `X = ConcatSeq(X_past, X_new)`, the tensor the attention reads.
pub fn kv_tensors(graph: &Graph, names: &[String], first: bool) -> Result<(Vec<TensorId>, Vec<TensorId>), ProofSystemError> {
    let find = |n: &str| graph.find(n).ok_or_else(|| ProofSystemError::Rejected(format!("the chunk graph has no tensor {n}")));
    let (mut new, mut past) = (Vec::new(), Vec::new());
    for name in names {
        if first {
            new.push(find(name)?);
            continue;
        }
        let (p, n, all) = (find(&format!("{name}_past"))?, find(&format!("{name}_new"))?, find(name)?);
        let joined = graph.nodes.iter().any(|node| node.output == all && node.inputs == [p, n] && node.op.as_int_op().name() == "ConcatSeq");
        if !joined {
            return Err(ProofSystemError::Rejected(format!("the chunk graph does not form {name} as ConcatSeq({name}_past, {name}_new)")));
        }
        new.push(n);
        past.push(p);
    }
    Ok((new, past))
}

/// The keys/values epochs of a stream: epoch 0 is chunks `[0, 2^a)`, epoch `e ≥ 1` is chunks
/// `[2^(a+e−1), 2^(a+e))` (aligned, doubling). One commitment `KV_e` holds the new keys/values of
/// every chunk of epoch `e`; it is made in the record of the epoch's first chunk. The stream's
/// rule ([`Epochs::for_header`], stream version 7) takes `2^a` = half the largest chunk count the
/// header allows (`K_max = ⌈(P + max_new − 1)/C⌉`, `a = max(⌈log2 K_max⌉ − 1, 0)`), so a stream
/// has at most TWO epochs (versions 2–6: `a = 0`, `1 + ⌈log2 K⌉` epochs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epochs {
    /// `a`: the first epoch has `2^a` chunks.
    pub first_log: usize,
}

impl Epochs {
    /// The epochs of a stream with this header: the two halves of `2^⌈log2 K_max⌉` chunks.
    pub fn for_header(header: &StreamHeader) -> Self {
        #[cfg(feature = "test-hooks")]
        if let Some(first_log) = TEST_FIRST_EPOCH.with(std::cell::Cell::get) {
            return Self { first_log };
        }
        let positions = (header.prompt_ids.len() + header.max_new_tokens as usize).saturating_sub(1).max(1);
        let chunk = (header.chunk_size as usize).max(1);
        let k_max = positions.div_ceil(chunk);
        Self { first_log: (k_max.next_power_of_two().trailing_zeros() as usize).saturating_sub(1) }
    }

    /// The epoch of chunk `k`.
    pub fn of(&self, k: usize) -> usize {
        if k >> self.first_log == 0 { 0 } else { (usize::BITS - k.leading_zeros()) as usize - self.first_log }
    }

    /// The first chunk of epoch `e` and `b = log2` of its number of chunks.
    pub fn range(&self, e: usize) -> (usize, usize) {
        if e == 0 { (0, self.first_log) } else { (1 << (self.first_log + e - 1), self.first_log + e - 1) }
    }

    /// How errors name epoch `e`: `chunk f` for a one-chunk epoch, `chunks f–l` otherwise.
    pub fn name(&self, e: usize) -> String {
        let (f, b) = self.range(e);
        if b == 0 { format!("chunk {f}") } else { format!("chunks {f}–{}", f + (1 << b) - 1) }
    }
}

/// The shape of one cached tensor of epoch `KV_e`'s batch: `[H, 2^b·C, d]` for a chunk's new
/// tensor of shape `[H, C_k, d]` (chunk-major: local chunk `i` holds positions `[iC, iC + C)`).
pub fn epoch_dims(new_dims: &[usize], b: usize, chunk: usize) -> Result<Vec<usize>, ProofSystemError> {
    match new_dims {
        [h, _, d] => Ok(vec![*h, chunk << b, *d]),
        _ => Err(ProofSystemError::Rejected(format!("a cached tensor of shape {new_dims:?}"))),
    }
}

/// The `KV_e` commitment's polynomial sizes: one per cached tensor, `[H, 2^b·C, d]` padded.
pub fn kv_num_vars(graph: &Graph, new: &[TensorId], b: usize, chunk: usize) -> Result<Vec<usize>, ProofSystemError> {
    new.iter().map(|&id| Ok(TensorLayout::new(&epoch_dims(&graph.meta(id).shape, b, chunk)?).num_vars())).collect()
}

/// `n` boolean coordinates of `i`, most significant first.
fn bits(i: usize, n: usize) -> impl Iterator<Item = EF> {
    (0..n).rev().map(move |l| if (i >> l) & 1 == 1 { EF::ONE } else { EF::ZERO })
}

/// The point on `KV_e`'s tensor of a link point `z` on chunk `k`'s new tensor `[H, C_k, d]`:
/// `(z_h, bits_b(k − f), 0^(c − a), z_t, z_d)` (local chunk `k − f` of the epoch, rows `[0, 2^a)`
/// of its `C = 2^c` rows, `a = ⌈log2 C_k⌉`: the padding rows of a short last chunk are rows of
/// the epoch's tensor that the link then pins to zero).
pub fn link_point_on_epoch(new_dims: &[usize], z: &[EF], local: usize, b: usize, c_vars: usize) -> Result<Vec<EF>, ProofSystemError> {
    let layout = TensorLayout::new(new_dims);
    if new_dims.len() != 3 || z.len() != layout.num_vars() {
        return Err(ProofSystemError::Rejected("a link point of the wrong dimension".into()));
    }
    let parts = layout.split_point(z);
    let (z_h, z_t, z_d) = (parts[0], parts[1], parts[2]);
    let pad = c_vars.checked_sub(z_t.len()).ok_or_else(|| ProofSystemError::Rejected("a chunk longer than the chunk size".into()))?;
    Ok(z_h.iter().copied().chain(bits(local, b)).chain(std::iter::repeat_n(EF::ZERO, pad)).chain(z_t.iter().copied()).chain(z_d.iter().copied()).collect())
}

/// How a claim on chunk `k`'s cache `X_past : [H, kC, d]` at `(r_h, r_t, r_d)` splits over the
/// epochs before `k` (`r_t = (r_hi, r_lo)`, `|r_lo| = c`; the cache is chunk-major, so
/// `X̃_past(r) = Σ_{j<k} eq(r_hi, j)·K̃_j(r_h, r_lo, r_d)`, exactly).
#[derive(Debug, Clone, PartialEq)]
pub enum EpochPart {
    /// Epoch `e` lies wholly before `k`: its chunks `j = f + i` (`f = 2^b` or `0`, aligned) have
    /// `eq(r_hi, j) = eq(r_hi_top, f >> b)·eq(r_hi_low, i)`, so their terms sum to
    /// `factor · KV_e(point)` with `point = (r_h, r_hi_low, r_lo, r_d)`: the prover sends one value.
    Full {
        /// The epoch.
        epoch: usize,
        /// `eq(r_hi_top, f >> b)`.
        factor: EF,
        /// The point on the epoch's tensor.
        point: Vec<EF>,
    },
    /// Epoch `e` holds chunk `k` (and `k − f ≥ 1` chunks before it): the prover sends
    /// `u_i = KV_e(r_h, bits(i), r_lo, r_d)` for EVERY local chunk `i < 2^b` (those at or after
    /// `k` too); the verifier sums `eq(r_hi, f + i)·u_i` over `i < k − f`, then draws `ρ ∈ EF^b`
    /// and defers `KV_e(r_h, ρ, r_lo, r_d) = Σ_i eq(ρ, i)·u_i` (the `u_i` are the restriction of
    /// `KV_e` to `(r_h, ·, r_lo, r_d)`, a multilinear polynomial in `b` variables, at the boolean
    /// points: false values make it differ from the true one, which agrees at `ρ` with probability
    /// at most `b/|EF|`).
    Partial {
        /// The epoch.
        epoch: usize,
        /// `eq(r_hi, f + i)` for `i < k − f`.
        factors: Vec<EF>,
        /// `b`: the epoch has `2^b` chunks.
        b: usize,
        /// `r_h`.
        head: Vec<EF>,
        /// `(r_lo, r_d)`.
        tail: Vec<EF>,
    },
}

impl EpochPart {
    /// The point on the epoch's tensor of a partial part's claim at `rho`.
    pub fn partial_point(head: &[EF], rho: &[EF], tail: &[EF]) -> Vec<EF> {
        [head, rho, tail].concat()
    }
}

/// The split of a claim on chunk `k`'s cache (`cache_dims = [H, kC, d]`, `C = 2^c_vars`) over the
/// epochs before `k`, in epoch order ([`EpochPart`]).
pub fn epoch_split(epochs: Epochs, cache_dims: &[usize], c_vars: usize, point: &[EF]) -> Result<Vec<EpochPart>, ProofSystemError> {
    let bad = |why: &str| ProofSystemError::Rejected(format!("cache claim: {why}"));
    let [_, s, _] = cache_dims else { return Err(bad("not a cache of rank 3")) };
    let c = 1usize << c_vars;
    if *s == 0 || s % c != 0 {
        return Err(bad("the cached positions are not whole chunks"));
    }
    let k = s / c;
    let layout = TensorLayout::new(cache_dims);
    if point.len() != layout.num_vars() {
        return Err(bad("a point of the wrong dimension"));
    }
    let parts = layout.split_point(point);
    let (r_h, r_t, r_d) = (parts[0], parts[1], parts[2]);
    let hi_len = r_t.len().checked_sub(c_vars).ok_or_else(|| bad("fewer positions than a chunk"))?;
    let (r_hi, r_lo) = r_t.split_at(hi_len);
    let tail: Vec<EF> = r_lo.iter().chain(r_d).copied().collect();
    let mut out = Vec::new();
    for e in 0..=epochs.of(k - 1) {
        let (f, b) = epochs.range(e);
        if f + (1 << b) <= k {
            let (top, low) = r_hi.split_at(hi_len - b);
            let factor = zkinfer_ops::ops::public_mle::point_indicator_mle(f >> b, top);
            out.push(EpochPart::Full { epoch: e, factor, point: [r_h, low, &tail].concat() });
        } else {
            let factors = (f..k).map(|j| zkinfer_ops::ops::public_mle::point_indicator_mle(j, r_hi)).collect();
            out.push(EpochPart::Partial { epoch: e, factors, b, head: r_h.to_vec(), tail: tail.clone() });
        }
    }
    Ok(out)
}

/// `eq(ρ, bits(i))` for every `i < 2^|ρ|`.
pub fn eq_weights(rho: &[EF]) -> Vec<EF> {
    (0..1usize << rho.len()).map(|i| zkinfer_ops::ops::public_mle::point_indicator_mle(i, rho)).collect()
}

/// The verifier's state between records.
struct ChunkVerifier<'k> {
    vk: &'k VerifyingKey,
    header: StreamHeader,
    names: Vec<String>,
    c_vars: usize,
    /// Chunk records read so far.
    chunks: usize,
    /// Positions proven so far.
    pos: usize,
    /// The last chunk was shorter than `C` (only the close may follow).
    short: bool,
    /// Per keys/values epoch ([`Epochs`]) its commitment and the claims on it.
    epochs: Epochs,
    /// The openings' target, from the header and the key ([`StreamSecurity`]).
    security: StreamSecurity,
    kv_coms: Vec<WhirCommitment>,
    kv_accs: Vec<OpeningAccumulator>,
    weights: weight_blocks::WeightClaims,
    /// Predictions at rows `P−1 …` so far (the completion).
    completion: Vec<u32>,
    state: Option<TranscriptState>,
}

fn rejected(at: &str, e: impl std::fmt::Display) -> ProofSystemError {
    ProofSystemError::Rejected(format!("{at}: {e}"))
}

impl<'k> ChunkVerifier<'k> {
    fn new(vk: &'k VerifyingKey, header: StreamHeader, stream_version: u32) -> Result<Self, ProofSystemError> {
        let digest = vk.digest();
        if header.model_commitment != digest {
            return Err(ProofSystemError::WrongModel { proof: hex::encode(header.model_commitment), key: hex::encode(digest) });
        }
        let c = header.chunk_size;
        if c == 0 || !c.is_power_of_two() || c > MAX_CHUNK {
            return Err(ProofSystemError::Rejected(format!("header: chunk size {c} is not a power of two in [1, {MAX_CHUNK}]")));
        }
        crate::check_request(vk, &header.prompt_ids, header.max_new_tokens as usize)?;
        let security = StreamSecurity::for_key(vk, &header);
        security.check(&header).map_err(|e| ProofSystemError::Rejected(format!("header: {e}")))?;
        security.check_composed(&header, vk).map_err(|e| ProofSystemError::Rejected(format!("header: {e}")))?;
        let names = cache_names(&vk.step_graph);
        let state = Some(VerifierTranscript::new(&domain_separator_for(&vk.architecture, &header, stream_version), &[]).suspend()?);
        Ok(Self {
            vk,
            names,
            epochs: Epochs::for_header(&header),
            security,
            c_vars: c.trailing_zeros() as usize,
            chunks: 0,
            header,
            pos: 0,
            short: false,
            kv_coms: Vec::new(),
            kv_accs: Vec::new(),
            weights: weight_blocks::WeightClaims::new(),
            completion: Vec::new(),
            state,
        })
    }

    fn transcript<'a>(&mut self, segment: &'a [u8]) -> Result<VerifierTranscript<'a>, ProofSystemError> {
        let state = self.state.take().ok_or_else(|| ProofSystemError::Rejected("the transcript was abandoned after an error".into()))?;
        Ok(VerifierTranscript::resume(state, segment))
    }

    fn chunk(&mut self, index: u32, segment: &[u8]) -> Result<(), ProofSystemError> {
        let k = self.chunks;
        let at = format!("chunk {k}");
        if index as usize != k {
            return Err(rejected(&at, format!("the record says it is chunk {index}")));
        }
        if self.short {
            return Err(rejected(&at, "follows a short chunk (only the closing record may)"));
        }
        let mut t = self.transcript(segment)?;
        self.chunk_inner(k, &mut t).map_err(|e| rejected(&at, e))?;
        self.state = Some(t.suspend().map_err(|e| rejected(&at, e))?);
        Ok(())
    }

    fn chunk_inner(&mut self, k: usize, t: &mut VerifierTranscript<'_>) -> Result<(), ProofSystemError> {
        let vk = self.vk;
        let c = self.header.chunk_size as usize;
        let prompt = &self.header.prompt_ids;
        let n_new = t.receive_u32()? as usize;
        if n_new == 0 || n_new > c {
            return Err(ProofSystemError::Rejected(format!("{n_new} new positions in a chunk of {c}")));
        }
        let s = self.pos;
        let limit = prompt.len() + self.header.max_new_tokens as usize - 1;
        if s + n_new > limit {
            return Err(ProofSystemError::Rejected(format!("positions up to {} exceed the request's {limit}", s + n_new)));
        }
        let shape = ChunkShape::new(s, n_new, prompt.len());
        let preds: Vec<u32> = (0..shape.n_out).map(|_| t.receive_u32()).collect::<Result<_, _>>()?;
        if let Some(id) = preds.iter().find(|&&id| id as usize >= vk.vocab.len()) {
            return Err(ProofSystemError::Rejected(format!("predicted token {id} is outside the vocabulary")));
        }
        // Inputs: prompt ids, then the prediction of the row before (this chunk's or the last
        // completion token so far).
        let first_pred_row = s + n_new - shape.n_out;
        let mut tokens = Vec::with_capacity(n_new);
        for p in s..s + n_new {
            let id = if p < prompt.len() {
                prompt[p]
            } else if p > first_pred_row {
                preds[p - 1 - first_pred_row]
            } else {
                *self.completion.last().ok_or_else(|| ProofSystemError::Rejected("a completion position without a prediction".into()))?
            };
            tokens.push(id as i64);
        }
        let first = k == 0;
        let (graph, template) = if first {
            (vk.graph(n_new, shape.n_out)?, &vk.graph)
        } else {
            (vk.step_graph(n_new, s, shape.n_out)?, &vk.step_graph)
        };
        let positions: Vec<i64> = (s as i64..(s + n_new) as i64).collect();
        let out_rows: Vec<i64> = ((n_new - shape.n_out) as i64..n_new as i64).collect();
        let next: Vec<i64> = preds.iter().map(|&x| x as i64).collect();
        let public = crate::statement_public(&graph, &tokens, &positions, &out_rows, &next)?;
        let (new, past) = kv_tensors(&graph, &self.names, first)?;
        let epochs = self.epochs;
        let (epoch, (first_chunk, b)) = (epochs.of(k), epochs.range(epochs.of(k)));
        let starts_epoch = k == first_chunk;
        if self.kv_coms.len() != epoch + usize::from(!starts_epoch) {
            return Err(ProofSystemError::Rejected(format!("chunk {k}: keys/values epochs out of step")));
        }
        let kv_vars = kv_num_vars(&graph, &new, b, c)?;
        let new_dims: Vec<Vec<usize>> = new.iter().map(|&id| graph.meta(id).shape.clone()).collect();
        let c_vars = self.c_vars;
        let bits = self.security.term_bits();
        let kv_pcs = chunk_kv_pcs(bits);
        let witness_pcs = chunk_witness_pcs(bits);
        let mut link = Vec::with_capacity(new.len());
        let mut kv_ood = Vec::new();
        let io = ChunkIo { deferred: past.clone(), gkr_leaves: Some(CHUNK_GKR_LEAVES) };
        let out = zkinfer_ops::verify_graph_chunk(&graph, &public, &io, t, |plan, t| {
            let check = |e: String| zkinfer_ops::ProofError::check("commit", e);
            // The committed batch: every block of every committed column's extent, as in the
            // single pass (`zkinfer_pcs::sparse`: the padding of a block-committed column is not
            // committed, so it is zero by definition). Its shapes come from the plan; the record
            // carries the Merkle roots only (one per group of the batch).
            let roots = t.receive_bytes().map_err(|e| check(e.to_string()))?;
            let witness_vars = plan.sparse_layout().committed_num_vars();
            check_chunk_witness_groups(&witness_vars).map_err(check)?;
            let com = witness_pcs.commitment_from_roots(witness_vars, roots).map_err(|e| check(format!("witness commitment: {e}")))?;
            // Each group's out-of-domain sample, right after its root (stream version 8): from here
            // on the root binds one polynomial per group, before any challenge of the chunk.
            let ood = witness_pcs.verify_ood(&com, t).map_err(|e| check(format!("witness out-of-domain samples: {e}")))?;
            // The epoch's first chunk commits the keys/values of all its chunks, each polynomial
            // followed by its out-of-domain sample (a claim of the epoch's opening).
            let kv = if starts_epoch {
                let roots = t.receive_bytes().map_err(|e| check(e.to_string()))?;
                check_kv_groups(&kv_vars).map_err(check)?;
                let kv_com = kv_pcs.commitment_from_roots(kv_vars.clone(), roots).map_err(|e| check(format!("keys/values commitment: {e}")))?;
                for (slot, &m) in kv_vars.iter().enumerate() {
                    let zeta = t.challenge_exts(m);
                    let y = t.receive_ext().map_err(|e| check(format!("keys/values out-of-domain samples: {e}")))?;
                    kv_ood.push((slot, zeta, y));
                }
                Some(kv_com)
            } else {
                None
            };
            // The link, drawn after both commitments: KV_e at this chunk's rows and the walk's new
            // keys/values agree at z.
            let mut injected = Vec::with_capacity(new.len());
            for (slot, (&id, dims)) in new.iter().zip(&new_dims).enumerate() {
                let z = t.challenge_exts(TensorLayout::new(dims).num_vars());
                let v = t.receive_ext().map_err(|e| check(e.to_string()))?;
                let on_epoch = link_point_on_epoch(dims, &z, k - first_chunk, b, c_vars).map_err(|e| check(e.to_string()))?;
                link.push((slot, on_epoch, v));
                injected.push((id, Claim::new(z, v)));
            }
            Ok(((com, ood, kv), injected))
        })?;
        let (witness_com, witness_ood, kv_com) = out.commitment;
        let mut accs = out.accumulators;
        let deferred = std::mem::take(&mut accs.deferred);
                self.weights.add(template, &graph, std::mem::take(&mut accs.weights));
        if let Some(kv_com) = kv_com {
            self.kv_coms.push(kv_com);
            self.kv_accs.push(OpeningAccumulator::new());
        }
        let acc = self.kv_accs.get_mut(epoch).ok_or_else(|| ProofSystemError::Rejected("no keys/values epoch".into()))?;
        for (slot, point, v) in kv_ood.into_iter().chain(link) {
            acc.push(PolyId::Slot(slot), Origin::External, point, v);
        }
        for c in deferred.into_claims() {
            let slot = past.iter().position(|p| PolyId::Tensor(p.0) == c.poly).ok_or_else(|| ProofSystemError::Rejected("claim on an unknown cache".into()))?;
            let dims = graph.meta(past[slot]).shape.clone();
            let mut sum = EF::ZERO;
            let mut claims = Vec::new();
            for part in epoch_split(epochs, &dims, self.c_vars, &c.point)? {
                match part {
                    EpochPart::Full { epoch, factor, point } => {
                        let w = t.receive_ext()?;
                        sum += factor * w;
                        claims.push((epoch, point, w));
                    }
                    EpochPart::Partial { epoch, factors, b, head, tail } => {
                        let u: Vec<EF> = (0..1usize << b).map(|_| t.receive_ext()).collect::<Result<_, _>>()?;
                        sum += factors.iter().zip(&u).map(|(f, u)| *f * *u).sum::<EF>();
                        let rho = t.challenge_exts(b);
                        let value = eq_weights(&rho).iter().zip(&u).map(|(w, u)| *w * *u).sum();
                        claims.push((epoch, EpochPart::partial_point(&head, &rho, &tail), value));
                    }
                }
            }
            if sum != c.value {
                return Err(ProofSystemError::Rejected("cache: the earlier chunks' keys/values do not sum to the claim on the cache".into()));
            }
            for (epoch, point, value) in claims {
                self.kv_accs.get_mut(epoch).ok_or_else(|| ProofSystemError::Rejected(format!("cache claim on epoch {epoch}")))?.push(PolyId::Slot(slot), Origin::External, point, value);
            }
        }
        let witness_claims = accs.witness.opening_claims(&out.plan.commitment_ids())?;
        witness_pcs.verify_sparse_ood(&witness_com, &out.plan.sparse_layout(), &witness_claims, &witness_ood, t)?;
        if shape.in_statement {
            self.completion.extend_from_slice(&preds);
        }
        self.pos = s + n_new;
        self.short = n_new < c;
        self.chunks += 1;
        Ok(())
    }

    fn close(mut self, segment: &[u8]) -> Result<Verified, ProofSystemError> {
        let vk = self.vk;
        if self.chunks == 0 {
            return Err(ProofSystemError::Rejected("close: the stream has no chunk".into()));
        }
        let prompt = self.header.prompt_ids.clone();
        if self.pos < prompt.len() {
            return Err(ProofSystemError::Rejected(format!("close: {} positions proven, the prompt has {}", self.pos, prompt.len())));
        }
        let completion = std::mem::take(&mut self.completion);
        let proof_stub = crate::ProofFile {
            model_commitment: self.header.model_commitment,
            max_new_tokens: self.header.max_new_tokens,
            prompt_ids: prompt.clone(),
            completion_ids: completion.clone(),
            transcript: Vec::new(),
        };
        let stopped_at_eog = crate::check_stopping_rule(vk, &proof_stub).map_err(|e| rejected("close", e))?;
        let mut t = self.transcript(segment)?;
        let pcs = self.security.weight_pcs();
        let kv_pcs = chunk_kv_pcs(self.security.term_bits());
        let close = |e: ProofSystemError| rejected("close", e);
        for (e, (acc, com)) in std::mem::take(&mut self.kv_accs).into_iter().zip(&self.kv_coms).enumerate() {
            acc.verify(&kv_pcs, com, &PolyId::slots(com.poly_num_vars.len()), &mut t).map_err(|err| rejected("close", format!("keys/values opening of {}: {err}", self.epochs.name(e))))?;
        }
        let weights = weight_blocks::verify_block_claims(&vk.weights, &std::mem::take(&mut self.weights), &mut t).map_err(close)?;
        vk.verify_weight_opening(&pcs, weights, &weight_blocks::WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t).map_err(close)?;
        t.finish().map_err(|e| rejected("close", e))?;
        let shown = &completion[..completion.len() - usize::from(stopped_at_eog)];
        Ok(Verified {
            architecture: vk.architecture.clone(),
            model_commitment: hex::encode(self.header.model_commitment),
            max_new_tokens: self.header.max_new_tokens,
            stopped_at_eog,
            prompt_ids: prompt,
            text: vk.detokenize(shown).unwrap_or_default(),
            completion_ids: completion,
        })
    }
}

/// What a chunked proof's verification found, besides the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// Chunk records read.
    pub chunks: usize,
    /// Positions proven.
    pub positions: usize,
}

/// Verifies a proof stream read from `r` (header, chunk records, closing record, nothing after)
/// against `vk`, one record in memory at a time. A rejection names the record (`chunk 3: …`,
/// `close: …`); a malformed stream (a bad header, a truncated or badly framed record, bytes after
/// the close) is a [`ProofSystemError::Decode`], as a malformed one-pass proof file is.
pub fn verify_stream(vk: &VerifyingKey, r: &mut impl Read) -> Result<(Verified, StreamSummary), ProofSystemError> {
    let (header, stream_version) = StreamHeader::read_versioned(r, vk.max_positions())?;
    let mut v = ChunkVerifier::new(vk, header, stream_version)?;
    loop {
        let k = v.chunks;
        // A stream that is cut short or badly framed is a malformed file (as a truncated one-pass
        // proof or header is), not a rejected proof.
        let framing = |why: String| ProofSystemError::Decode(DecodeError::Invalid { what: "proof stream", why });
        match read_record(r).map_err(|e| framing(format!("record after {k} chunk(s): {e}")))? {
            Record::Chunk { index, segment } => v.chunk(index, &segment)?,
            Record::Close { segment } => {
                let summary = StreamSummary { chunks: v.chunks, positions: v.pos };
                let verified = v.close(&segment)?;
                let mut probe = [0u8; 1];
                match r.read(&mut probe) {
                    Ok(0) => return Ok((verified, summary)),
                    _ => return Err(framing("close: bytes follow the closing record".into())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(prompt: usize, max_new: u32, chunk: u32) -> StreamHeader {
        StreamHeader { model_commitment: [0; 32], max_new_tokens: max_new, chunk_size: chunk, prompt_ids: vec![0; prompt] }
    }

    /// The epochs are the two halves of `2^⌈log2 K_max⌉` chunks (stream version 7), so a stream has
    /// at most two keys/values commitments, whatever its length; `first_log = 0` is the doubling
    /// layout of versions 2–6.
    #[test]
    fn a_stream_has_at_most_two_keys_values_epochs() {
        // (prompt, max new, C) → a, and the epochs of chunks 0..K_max.
        for (p, n, c, a) in [(1, 512, 64, 2), (1, 128, 64, 0), (1, 64, 64, 0), (1, 1024, 32, 4), (3, 18, 4, 2), (1, 256, 64, 1), (1, 1, 1, 0), (5, 1, 4, 0)] {
            let e = Epochs::for_header(&header(p, n, c));
            assert_eq!(e.first_log, a, "P = {p}, N = {n}, C = {c}");
            let k_max = (p + n as usize - 1).max(1).div_ceil(c as usize);
            let epochs: Vec<usize> = (0..k_max).map(|k| e.of(k)).collect();
            assert!(epochs.iter().all(|&x| x <= 1), "P = {p}, N = {n}, C = {c}: epochs {epochs:?}");
            for k in 0..k_max {
                let (f, b) = e.range(e.of(k));
                assert!(f <= k && k < f + (1 << b) && f % (1 << b) == 0, "chunk {k} outside its aligned epoch ({f}, {b})");
            }
        }
        assert_eq!(Epochs::for_header(&header(1, 512, 64)).name(1), "chunks 4–7");
        // The doubling layout of versions 2–6.
        let old = Epochs { first_log: 0 };
        assert_eq!((0..9).map(|k| old.of(k)).collect::<Vec<_>>(), [0, 1, 2, 2, 3, 3, 3, 3, 4]);
        assert_eq!((old.range(0), old.range(1), old.range(3)), ((0, 0), (1, 0), (4, 2)));
        // Epochs past the header's chunks stay aligned doubling blocks.
        let e = Epochs { first_log: 2 };
        assert_eq!((0..17).map(|k| e.of(k)).collect::<Vec<_>>(), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
        assert_eq!((e.range(0), e.range(1), e.range(2)), ((0, 2), (4, 2), (8, 3)));
    }

    /// The smallest composed bits of one opening, over every packed size `2^8 … 2^28` and both of the
    /// stream's own PCSs and the weight opening's, at the per-term target of `opening_bits`; and
    /// the largest candidate list (`log2`) of a stream commitment at any of those sizes.
    fn min_opening_bits(opening_bits: usize) -> (f64, f64) {
        let sec = StreamSecurity { openings: 0, opening_bits };
        let (mut bits, mut list) = (f64::INFINITY, 0f64);
        for (i, params) in [*chunk_witness_pcs(sec.term_bits()).params(), *chunk_kv_pcs(sec.term_bits()).params(), *sec.weight_pcs().params()].into_iter().enumerate() {
            let engine = zkinfer_pcs::whir::WhirEngine::new(params);
            for n in 8..=28 {
                let (b, l) = engine.composed_security(n).unwrap_or_else(|e| panic!("n = {n}, {opening_bits} bits: {e}"));
                bits = bits.min(b);
                if i < 2 {
                    list = list.max(l);
                }
            }
        }
        (bits, list)
    }

    /// Every opening of every stream a header can express reaches its target: for each target the
    /// rule gives (`128 + ⌈log2 M⌉ + 1` for `M` from 9 openings up to [`MAX_STREAM_OPENINGS`]),
    /// every packed size from 2^8 to 2^28 under the witness, keys/values
    /// and weight PCSs composes to at least the target (p3-whir's configuration exists, its
    /// grinding within 20 bits), and the stream's lists stay ≤ 2^7.33 (rate 1/16).
    #[test]
    fn every_opening_reaches_its_streams_target() {
        let lo = StreamSecurity::for_header(&header(1, 1, 1), 1).opening_bits;
        let hi = StreamSecurity { openings: MAX_STREAM_OPENINGS, opening_bits: 0 }.openings.trailing_zeros() as usize + 129;
        assert_eq!((lo, hi), (133, 142));
        let ok = |n: u32, c: u32| StreamSecurity::for_header(&header(1, n, c), 2).check(&header(1, n, c));
        assert!(ok(1024, 1).is_ok() && ok(8192, 8).is_ok());
        let e = ok(8192, 4).expect_err("2048 chunks");
        assert!(e.contains("use a larger chunk size"), "{e}");
        for target in lo..=hi {
            let (bits, list) = min_opening_bits(target);
            assert!(bits >= target as f64, "target {target}: an opening composes to {bits}");
            assert!(list <= 7.33, "target {target}: list 2^{list}");
        }
        // The rates are the ones documented, whatever the target.
        let kv = *chunk_kv_pcs(140).params();
        assert_eq!([21, 22, 23, 24, 25].map(|n| kv.starting_log_inv_rate(n)), [4, 3, 2, 1, 1]);
        let w = *chunk_witness_pcs(140).params();
        assert_eq!([22, 23, 24, 25, 26, 27].map(|n| w.starting_log_inv_rate(n)), [4, 3, 2, 1, 1, 1]);
    }

    /// A weight commitment of these shapes (placeholder roots: only the groups derived from the
    /// shapes matter to the bound).
    fn weight_commitment(vars: &[usize]) -> WhirCommitment {
        let groups = key::pcs().num_groups(vars);
        key::pcs().commitment_from_roots(vars.to_vec(), &vec![7u8; 32 * groups]).expect("weight commitment")
    }

    /// Key shapes of the bound tests: `(name, n_ctx, weight slice shapes)`. GPT-2 small (one 2^27
    /// group at rate 1/2), a tiny model (one 2^16 group at rate 1/16: the largest list of one
    /// group), a Llama-family key at the context cap 8192 with SmolLM2's two groups (2^27, 2^19),
    /// and a key of FOUR weight groups (2^28, 2^26, 2^24, 2^22, every one at rate 1/2: the most
    /// groups `zkinfer_pcs::commitment_groups` gives any batch below 2^32 entries, a shape an
    /// adversarial key maker may declare).
    fn bound_keys() -> [(&'static str, usize, Vec<usize>); 4] {
        [("GPT-2 small", 1024, vec![26, 26]), ("tiny", 1024, vec![16]), ("Llama family", 8192, vec![26, 26, 19]), ("four weight groups", 8192, vec![28, 26, 24, 22])]
    }

    /// The composed soundness of EVERY stream a header can express is at least 128 bits
    /// ([`StreamBound`] with the key's out-of-domain answers, as [`StreamSecurity::check_composed`]
    /// computes it): for each key of [`bound_keys`], every number of positions `1 … n_ctx` and
    /// every chunk size `2^0 … 2^16` that the header check accepts (at most
    /// [`MAX_STREAM_OPENINGS`] openings).
    /// Controls (asserted): without the key's answers (stream versions 8–9: the graph errors
    /// charged over the product of the weight groups' lists) the four-group key has headers below
    /// 128 bits; and the version-7 stream is below 128 bits for GPT-2 small at `T = 512, C = 64`
    /// and in the tiny worst case.
    #[test]
    fn every_stream_a_header_allows_is_at_128_bits() {
        let mut floors = std::collections::HashMap::new();
        let mut worst = f64::INFINITY;
        let mut worst_without_answers = f64::INFINITY;
        for (name, n_ctx, vars) in bound_keys() {
            let com = weight_commitment(&vars);
            let groups = key::pcs().num_groups(&vars);
            let mut weight_figures = std::collections::HashMap::new();
            for positions in 1..=n_ctx {
                for c_log in 0..=16 {
                    let h = header(1, positions as u32, 1 << c_log);
                    let sec = StreamSecurity::for_header(&h, groups);
                    if sec.check(&h).is_err() {
                        // Refused at the header (more than MAX_STREAM_OPENINGS openings).
                        assert!(sec.openings > MAX_STREAM_OPENINGS);
                        continue;
                    }
                    let (floor, list) = *floors.entry(sec.term_bits()).or_insert_with(|| stream_opening_floor(sec.term_bits()).expect("floor"));
                    let weight_groups: &Vec<WeightGroupBound> = weight_figures.entry(sec.term_bits()).or_insert_with(|| sec.bound(&h, &com, true).expect("bound").weight_groups);
                    let mut bound = StreamBound {
                        k_max: k_max(&h),
                        stream_openings: sec.openings - groups,
                        stream_opening_bits: floor,
                        stream_list_bits: list,
                        weight_groups: weight_groups.clone(),
                        key_ood: true,
                    };
                    let bits = bound.bits();
                    assert!(bits >= 128.0, "{name}: T = {positions}, C = 2^{c_log}: {bits} bits");
                    worst = worst.min(bits);
                    if groups == 4 {
                        bound.key_ood = false;
                        worst_without_answers = worst_without_answers.min(bound.bits());
                    }
                }
            }
        }
        eprintln!("worst stream: {worst:.3} bits; four weight groups without the key's answers: {worst_without_answers:.3} bits");
        assert!(worst_without_answers < 128.0, "the four-group key reaches 128 bits without the key's answers: {worst_without_answers}");
        // Control: version 7's composition. Per chunk the graph error times every list still
        // unopened (its witness groups, two epochs, the weights), openings at 129.88 bits.
        let v7 = |openings: f64, chunks: f64, lists_bits: f64| -((openings * (-129.88f64).exp2()) + chunks * (lists_bits + 32.0 - log2_ef()).exp2()).log2();
        // GPT-2 small, T = 512, C = 64: 15 openings; the lists of PROTOCOLS.md (2^24.6 per chunk).
        assert!(v7(15.0, 8.0, 24.6) < 128.0);
        // The tiny worst case: seven lists at rate 1/16 per chunk, 2^10 chunks.
        assert!(v7(4.0 * 1024.0 + 3.0, 1024.0, 7.0 * 7.32) < 128.0);
    }

    /// The run-time check at its boundary: the four-group key of [`bound_keys`] with a header of
    /// 2046 chunks of one position (8 192 openings, the most a header may allow) is refused by
    /// the composed bound without the key's out-of-domain answers and accepted with them; with
    /// them every one of GPT-2 small's, SmolLM2's and the four-group key's default-sized
    /// streams passes [`StreamSecurity::check_composed`]'s bound.
    #[test]
    fn a_many_group_key_needs_its_out_of_domain_answers() {
        let vars = [28, 26, 24, 22];
        let com = weight_commitment(&vars);
        assert_eq!(key::pcs().num_groups(&vars), 4);
        let h = header(1, 2046, 1);
        let sec = StreamSecurity::for_header(&h, 4);
        assert_eq!(sec.openings, MAX_STREAM_OPENINGS);
        sec.check(&h).expect("the header's opening count is allowed");
        let without = sec.bound(&h, &com, false).expect("bound").check(1);
        assert!(matches!(&without, Err(e) if e.contains("below the 128 bits") && e.contains("no out-of-domain answers")), "{without:?}");
        let with = sec.bound(&h, &com, true).expect("bound").check(1).expect("accepted with the key's answers");
        eprintln!("four weight groups, 2046 chunks: {with:.3} bits with the key's answers, {without:?} without");
        // The figures of docs/SECURITY.md: GPT-2 small T = 128, C = 64 and T = 512, C = 64; SmolLM2
        // T = 128, C = 64 (two weight groups); the four-group key at K = 8 and K = 32.
        for (what, vars, p, n, c) in [
            ("GPT-2 small", vec![26, 26], 1, 128, 64),
            ("GPT-2 small", vec![26, 26], 1, 512, 64),
            ("SmolLM2", vec![26, 26, 19], 1, 128, 64),
            ("four groups", vec![28, 26, 24, 22], 1, 512, 64),
            ("four groups", vec![28, 26, 24, 22], 1, 2048, 64),
        ] {
            let h = header(p, n, c);
            let com = weight_commitment(&vars);
            let sec = StreamSecurity::for_header(&h, key::pcs().num_groups(&vars));
            let (a, b) = (sec.bound(&h, &com, true).expect("bound").bits(), sec.bound(&h, &com, false).expect("bound").bits());
            eprintln!("{what}: T = {n}, C = {c}: {a:.3} bits with the key's answers, {b:.3} without");
            assert!(a >= 128.0 && a >= b, "{what} T = {n}, C = {c}: {a} bits");
        }
        // Billion-weight shapes (docs/SECURITY.md): TinyLlama-1.1B-like weights commit as 2^30 and
        // 2^25 (two groups), Qwen2-1.5B-like as one group of 2^31; both streams at GPT-2's
        // default T = 128, C = 64 and a long T = 2048, C = 64.
        for (what, vars) in [("TinyLlama-like (2^30, 2^25)", vec![29, 29, 24, 24]), ("1.5B-like (2^31)", vec![30, 30])] {
            let com = weight_commitment(&vars);
            for (n, c) in [(128u32, 64u32), (2048, 64)] {
                let h = header(1, n, c);
                let sec = StreamSecurity::for_header(&h, key::pcs().num_groups(&vars));
                let (a, b) = (sec.bound(&h, &com, true).expect("bound").bits(), sec.bound(&h, &com, false).expect("bound").bits());
                eprintln!("{what}: T = {n}, C = {c}: {a:.3} bits with the key's answers, {b:.3} without");
                assert!(a >= 128.0, "{what} T = {n}, C = {c}: {a} bits");
            }
        }
    }

    /// Streams of version 7 (out-of-domain samples at the openings, the one-pass target), version 8
    /// (chunk GKRs of 2^24 leaves), version 9 (a tree's children at every layer of a lookup GKR)
    /// and every other version are refused at the header, with the version named.
    #[test]
    fn a_version_7_stream_is_refused_at_its_header() {
        let h = header(1, 512, 64);
        let bytes = h.to_bytes();
        assert_eq!(StreamHeader::read(&mut &bytes[..], 1024).expect("version 10 reads"), h);
        for old in [1u32, 5, 6, 7, 8, 9, 11] {
            let mut b = bytes.clone();
            b[8..12].copy_from_slice(&old.to_le_bytes());
            let e = StreamHeader::read(&mut &b[..], 1024).expect_err("an old version read").to_string();
            assert!(e.contains(&old.to_string()), "version {old}: {e}");
        }
    }

    /// The header fixes the target: GPT-2 small's defaults and the figures of `docs/PROTOCOLS.md`.
    #[test]
    fn the_target_grows_with_the_openings_the_header_allows() {
        let at = |p: usize, n: u32, c: u32| StreamSecurity::for_header(&header(p, n, c), 1);
        // T = 512, C = 64: 8 chunks · 4 + 2 · 2 + 1 = 37 openings at most.
        assert_eq!(at(1, 512, 64), StreamSecurity { openings: 37, opening_bits: 135 });
        // T = 1024, C = 32: 32 · 4 + 5 = 133.
        assert_eq!(at(1, 1024, 32), StreamSecurity { openings: 133, opening_bits: 137 });
        // T = 128, C = 64: 2 · 4 + 5 = 13.
        assert_eq!(at(1, 128, 64), StreamSecurity { openings: 13, opening_bits: 133 });
        assert_eq!(at(1, 128, 64).term_bits(), 136);
    }

    /// The stream's keys/values rate is part of the commitment: an epoch committed and opened at
    /// the one-pass PCS's rate (1/4 at 2^21 entries) does not verify as a `chunk_kv_pcs` epoch (1/16),
    /// nor the reverse, though the roots have the same length; each verifies under its own PCS.
    #[test]
    fn a_keys_values_epoch_at_another_rate_is_rejected() {
        use zkinfer_field::F;
        use zkinfer_pcs::{OpeningClaim, Pcs};
        use zkinfer_transcript::ProverTranscript;
        let ds = DomainSeparator::new("zkinfer-kv-rate-test", 1);
        let poly: Vec<F> = (0..1u64 << 21).map(|i| F::from_u64(i.wrapping_mul(0x9e37_79b9) % 1_000_003)).collect();
        let point: Vec<EF> = (0..21).map(|i| EF::from_u64(3 + i)).collect();
        let value = zkinfer_poly::Mle::new(poly.clone()).evaluate(&point);
        let claims = [OpeningClaim { poly: 0, point, value }];
        let prove = |pcs: &zkinfer_pcs::WhirPcs| {
            let (com, data) = pcs.commit_owned(vec![poly.clone()]).expect("commit");
            let mut t = ProverTranscript::new(&ds);
            pcs.absorb_commitment(&com, &mut t);
            pcs.open(&data, &claims, &mut t).expect("open");
            (com, t.into_proof())
        };
        let verify = |pcs: &zkinfer_pcs::WhirPcs, com: &WhirCommitment, bytes: &[u8]| {
            let mut t = VerifierTranscript::new(&ds, bytes);
            pcs.absorb_commitment(com, &mut t);
            pcs.verify(com, &claims, &mut t)
        };
        let (kv, old) = (chunk_kv_pcs(key::pcs().params().security_bits), key::pcs());
        let (kv_com, kv_bytes) = prove(&kv);
        let (old_com, old_bytes) = prove(&old);
        assert!(verify(&kv, &kv_com, &kv_bytes).is_ok(), "the stream's own rate verifies");
        assert!(verify(&old, &old_com, &old_bytes).is_ok(), "the one-pass rate verifies under its PCS");
        assert!(verify(&kv, &old_com, &old_bytes).is_err(), "a rate-1/4 epoch accepted as a chunk_kv_pcs epoch");
        assert!(verify(&old, &kv_com, &kv_bytes).is_err(), "a rate-1/16 epoch accepted at rate 1/4");
        assert!(kv_bytes.len() < old_bytes.len(), "the lower rate's opening is not smaller: {} vs {}", kv_bytes.len(), old_bytes.len());
    }

    #[test]
    fn a_chunk_witness_of_more_than_four_groups_is_refused() {
        // Exact powers of two of at most 2^27 each: four groups pass, a fifth is refused.
        assert_eq!(check_chunk_witness_groups(&[27, 27, 27, 27]), Ok(4));
        assert!(matches!(check_chunk_witness_groups(&[27, 27, 27, 27, 27]), Err(e) if e.contains("5 commitment groups")));
        // (4/3)·2^27 entries: two groups (2^27 and 2^25), accepted.
        assert_eq!(check_chunk_witness_groups(&[26, 26, 25]), Ok(2));
        // A large chunk's batch of many small columns: 2^29 + 2^20 entries split into five groups.
        let mut many = vec![20; 1 << 9];
        many.push(20);
        assert!(check_chunk_witness_groups(&many).is_err());
        // Below the cap one group, however many columns.
        assert_eq!(check_chunk_witness_groups(&vec![10; 1000]), Ok(1));
        // A column above 2^28 entries is a group above MAX_STREAM_GROUP_VARS (its opening would
        // compose below the header's target): refused, as is a keys/values epoch of such a group.
        assert_eq!(check_chunk_witness_groups(&[28]), Ok(1));
        assert!(matches!(check_chunk_witness_groups(&[29]), Err(e) if e.contains("2^29") && e.contains("2^28")));
        assert_eq!(check_kv_groups(&[27, 27]), Ok(1));
        assert!(matches!(check_kv_groups(&[28, 28]), Err(e) if e.contains("2^29")));
    }
}
