//! The verifying key: its contents, canonical encoding and strict decoding.
//!
//! Setup (in `zkinfer-proof`) quantizes the model's weights (deterministically, from the GGUF alone), cuts every weight
//! tensor into power-of-two blocks (`weight_blocks`: no per-dimension padding is committed), and
//! commits all blocks in ONE packed WHIR commitment, weights in the order of their names, each
//! weight's blocks in block order. The verifying key holds what the verifier needs and nothing it
//! must not see: the model's integer graph as data (a [`GraphTemplate`]: ops with their
//! parameters, wiring, fixed-point scales and table descriptors, the sequence length left as the
//! symbol `T`), every weight's name, shape, fixed-point position and magnitude bound, the weight
//! commitment, the vocabulary (to print text) and the end-of-generation set (the stopping rule
//! `verify` checks). The verifier instantiates the graph at the
//! proof's `T` (re-deriving every shape and bound by the ops' own rules) and never runs an
//! architecture's builder. The key's BLAKE3 digest is the *model commitment*: anyone holding the
//! same `.gguf` recomputes it bit for bit.

use crate::ProofSystemError;
use crate::codec::{DecodeError, Reader, Writer};
use crate::weight_blocks::{WeightBlockPlan, block_count};
use std::collections::HashMap;
pub use zkinfer_graph::WeightMeta;
use zkinfer_field::{BasedVectorSpace, EF, F, PrimeCharacteristicRing};
use zkinfer_graph::{Graph, GraphTemplate};
use zkinfer_pcs::{GroupOod, OpeningAccumulator, PolyId, SparseLayout, SparsePoly, WhirCommitment, WhirPcs};
use zkinfer_transcript::{DomainSeparator, Transcript, VerifierTranscript};

/// Magic bytes of a verifying-key file.
pub const VK_MAGIC: &[u8; 8] = b"ZKINFVK\0";
/// Format version of verifying-key files this build reads and writes (5: the graph predicts only
/// at the rows of its public input `out_rows: [N]`, op tag 19 `GatherRows`; 6: the KV-cache step
/// graph of chunked proofs; 8: RoPE ops carry their frequency factors, Llama 3.1/3.2's
/// `rope_freqs.weight`; 9: the weight commitment's out-of-domain answers, one per group,
/// [`VerifyingKey::weight_ood`]).
pub const VK_VERSION: u32 = 9;
/// Protocol id of the transcript that derives the key's out-of-domain points
/// ([`weight_ood_points`]) from its weight commitment.
pub const WEIGHT_OOD_PROTOCOL: &str = "zkinfer/weight-ood";
/// Its version.
pub const WEIGHT_OOD_VERSION: u32 = 1;
/// Upper bound on the vocabulary a key may carry (keeps keys small and decoding bounded).
const MAX_VOCAB: usize = 1 << 20;

/// What the verifier holds.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyingKey {
    /// SHA-256 of the GGUF file the key was made from (informational).
    pub model_sha256: [u8; 32],
    /// The architecture's name (bound into every proof's transcript and reported by `verify`;
    /// verification reads only the graph).
    pub architecture: String,
    /// The integer graph with the sequence length as symbol `T`.
    pub graph: GraphTemplate,
    /// The graph of a KV-cache step (a chunk after the first of a chunked proof): symbols `T`
    /// (new positions), `P` (cached positions), `N` (predicted positions); inputs `tokens`,
    /// `positions`, the cached tensors `X_past: [·, P, ·]`, `out_rows`.
    pub step_graph: GraphTemplate,
    /// Every committed weight, in commitment order (sorted by name).
    pub weights: Vec<WeightMeta>,
    /// The packed WHIR commitment to the blocks of all weights (one slice per block, see
    /// [`WeightBlockPlan`]).
    pub commitment: WhirCommitment,
    /// The commitment's out-of-domain answers (key version 9): for each group `g` of the
    /// commitment (group order), the value `y_g` of the group's packed polynomial at the point
    /// `ζ_g` that [`weight_ood_points`] derives from the commitment (its roots and shapes) by
    /// Fiat–Shamir. Every weight opening proves these claims with its own
    /// ([`VerifyingKey::weight_ood_samples`]), so an accepted opening is of the one candidate
    /// of each group's list that agrees with `y_g` (`docs/SECURITY.md`, "The key's out-of-domain
    /// answers"). Empty exactly when the commitment is a zk key's no-commitment marker
    /// (`crate::zk_key`: a zk key carries nothing derived from weight values).
    pub weight_ood: Vec<EF>,
    /// Each token's bytes, to print text.
    pub vocab: Vec<Vec<u8>>,
    /// The end-of-generation set (sorted, distinct, inside the vocabulary): generation stops
    /// after any of these tokens, which are not printed. Empty for GPT-2.
    pub eog_ids: Vec<u32>,
}

/// The tokenizer side of a key: every token's bytes and the end-of-generation set
/// (`zkinfer_proof::vocabulary` builds it from a tokenizer). A bare byte list has no stop tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// Each token's bytes.
    pub tokens: Vec<Vec<u8>>,
    /// End-of-generation token ids.
    pub eog: Vec<u32>,
}

impl From<Vec<Vec<u8>>> for Vocabulary {
    fn from(tokens: Vec<Vec<u8>>) -> Self {
        Self { tokens, eog: Vec::new() }
    }
}

impl Vocabulary {
    /// The end-of-generation set as the key stores it: sorted, distinct, every id inside the
    /// vocabulary (an id outside it is an error).
    pub fn eog_set(&self) -> Result<Vec<u32>, ProofSystemError> {
        let mut eog = self.eog.clone();
        eog.sort_unstable();
        eog.dedup();
        if let Some(id) = eog.iter().find(|&&id| id as usize >= self.tokens.len()) {
            return Err(ProofSystemError::Request(format!("end-of-generation token {id} is outside the vocabulary")));
        }
        Ok(eog)
    }
}

/// A one-pass proof's witness below `2^this` committed entries is ONE commitment group however
/// badly it fills its power of two (`docs/SECURITY.md`, "Several groups, several lists"): a split
/// would save memory below 2^27 entries at the price of one more WHIR opening (≈ 280 KB). Larger
/// witnesses follow [`zkinfer_pcs::commitment_groups`].
pub const ONE_PASS_WITNESS_SPLIT_FROM_VARS: usize = 27;

/// The PCS of a one-pass proof's witness: [`pcs`] with the split threshold
/// [`ONE_PASS_WITNESS_SPLIT_FROM_VARS`] (both sides derive the groups from it).
pub fn one_pass_witness_pcs() -> WhirPcs {
    pcs().with_split_from_vars(ONE_PASS_WITNESS_SPLIT_FROM_VARS)
}

/// The PCS every zkinfer proof uses (parameters in `docs/SECURITY.md`).
pub fn pcs() -> WhirPcs {
    WhirPcs::default()
}

impl VerifyingKey {
    /// Canonical bytes of the key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(VK_MAGIC);
        w.u32(VK_VERSION);
        w.raw(&self.model_sha256);
        w.str(&self.architecture);
        w.u32(self.weights.len() as u32);
        for m in &self.weights {
            w.str(&m.name);
            w.u32(m.shape.len() as u32);
            for &d in &m.shape {
                w.u64(d as u64);
            }
            w.u32(m.frac_bits as u32);
            w.u32(m.bits);
        }
        w.bytes(&encode_commitment(&self.commitment));
        // The canonical-`u64` trait (re-exported unnamed by `zkinfer_field`).
        use zkinfer_field::*;
        w.u32(self.weight_ood.len() as u32);
        for y in &self.weight_ood {
            let limbs: &[F] = y.as_basis_coefficients_slice();
            for c in limbs {
                w.u64(c.as_canonical_u64());
            }
        }
        self.graph.encode(&mut w);
        self.step_graph.encode(&mut w);
        w.u32(self.vocab.len() as u32);
        for t in &self.vocab {
            w.bytes(t);
        }
        w.u32s(&self.eog_ids);
        w.into_bytes()
    }

    /// Decodes a key, rejecting anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.header(VK_MAGIC, VK_VERSION, "zkinfer verifying key")?;
        let model_sha256 = r.array::<32>("model SHA-256")?;
        let architecture = r.str("architecture")?.to_owned();
        if architecture.len() > 64 {
            return Err(invalid("architecture", format!("a name of {} bytes", architecture.len())));
        }
        let n_weights = r.u32("weight count")? as usize;
        // Each weight takes at least 16 bytes, so this bound is checked before allocating.
        if n_weights > r.remaining() / 16 {
            return Err(invalid("weight count", format!("{n_weights} weights cannot fit")));
        }
        let mut weights = Vec::with_capacity(n_weights);
        for _ in 0..n_weights {
            let name = r.str("weight name")?.to_owned();
            let rank = r.u32("weight rank")? as usize;
            if rank > 4 {
                return Err(invalid("weight rank", format!("{rank}")));
            }
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(small(r.u64("weight dimension")?, 1 << 32, "weight dimension")?);
            }
            let frac_bits = r.u32("weight fractional bits")? as i32;
            let bits = r.u32("weight bits")?;
            if bits > 62 {
                return Err(invalid("weight bits", format!("{bits}")));
            }
            weights.push(WeightMeta { name, shape, frac_bits, bits });
        }
        // Setup commits weights sorted by name; a repeated or reordered name has no honest origin
        // (and a repeated one once let a graph weight be opened against another entry's values).
        if let Some(p) = weights.windows(2).find(|p| p[0].name >= p[1].name) {
            return Err(invalid("weight names", format!("{} then {}: names must be strictly ascending", p[0].name, p[1].name)));
        }
        let commitment = decode_commitment(r.bytes("weight commitment")?)?;
        let weight_ood = decode_weight_ood(&mut r, &commitment)?;
        let graph = GraphTemplate::decode(&mut r)?;
        let step_graph = GraphTemplate::decode(&mut r)?;
        let n_vocab = r.u32("vocabulary size")? as usize;
        if n_vocab > MAX_VOCAB || n_vocab > r.remaining() / 8 {
            return Err(invalid("vocabulary size", format!("{n_vocab}")));
        }
        let mut vocab = Vec::with_capacity(n_vocab);
        for _ in 0..n_vocab {
            vocab.push(r.bytes("token")?.to_vec());
        }
        // Bounded by the remaining bytes (the reader checks the count against them).
        let eog_ids = r.u32s("end-of-generation ids")?;
        if eog_ids.windows(2).any(|w| w[0] >= w[1]) || eog_ids.last().is_some_and(|&id| id as usize >= n_vocab) {
            return Err(invalid("end-of-generation ids", "not distinct, sorted ids inside the vocabulary".into()));
        }
        r.finish()?;
        // The commitment holds one slice per block; count the blocks (without planning them) before
        // planning, so that shapes with absurdly many blocks cannot make the decoder allocate.
        let mut n_blocks = 0usize;
        for m in &weights {
            n_blocks = n_blocks.saturating_add(block_count(&m.shape));
            if n_blocks > commitment.poly_num_vars.len() {
                return Err(invalid("weight commitment", "does not cover every block of every weight".into()));
            }
        }
        if WeightBlockPlan::for_weights(&weights).slice_num_vars() != commitment.poly_num_vars {
            return Err(invalid("weight commitment", "its slices are not the blocks of the weight shapes".into()));
        }
        // The graph, instantiated at both ends of every symbol's range: acyclic, shapes consistent
        // by the ops' rules, every bound within the field's headroom, every size capped.
        graph.check(&weights).map_err(|e| invalid("graph", e.to_string()))?;
        for (g, what, names) in [(&graph, "graph", &["T", "N"][..]), (&step_graph, "step graph", &["T", "P", "N"][..])] {
            if g.symbols.len() != names.len() || names.iter().any(|n| g.symbol(n).is_none()) {
                return Err(invalid(what, format!("its symbols are not {names:?}")));
            }
        }
        step_graph.check(&weights).map_err(|e| invalid("step graph", e.to_string()))?;
        check_cache_bounds(&graph, &step_graph, &weights)?;
        Ok(VerifyingKey { model_sha256, architecture, graph, step_graph, weights, commitment, weight_ood, vocab, eog_ids })
    }

    /// The weight commitment's out-of-domain samples as every weight opening proves them: each
    /// group's point ([`weight_ood_points`], re-derived from the commitment, never read from the
    /// key) with the key's answer ([`VerifyingKey::weight_ood`]). An error for a key without
    /// answers (a zk key's public part) or with another count than the commitment's groups.
    pub fn weight_ood_samples(&self) -> Result<Vec<GroupOod>, ProofSystemError> {
        let points = weight_ood_points(&self.commitment)?;
        if points.len() != self.weight_ood.len() {
            return Err(ProofSystemError::Rejected(format!(
                "the key holds {} out-of-domain answers for a weight commitment of {} groups",
                self.weight_ood.len(),
                points.len()
            )));
        }
        Ok(points.into_iter().zip(&self.weight_ood).map(|(point, &value)| GroupOod { point, value }).collect())
    }

    /// Verifier of a weight opening (one-pass proof, a stream's close, the setup proof): every
    /// claim of `acc` (on the commitment whose polynomials are `polys`, commitment order) and
    /// every group's out-of-domain claim of the key ([`VerifyingKey::weight_ood_samples`]) are
    /// checked by one batched opening per group (`zkinfer_pcs::WhirPcs::verify_sparse_ood`, each
    /// weight block a dense polynomial); `pcs` is the opening's PCS ([`pcs`], or the stream's
    /// target). The prover's half is `zkinfer_proof::keys::prove_weight_opening`.
    pub fn verify_weight_opening(&self, pcs: &WhirPcs, acc: OpeningAccumulator, polys: &[PolyId], t: &mut VerifierTranscript<'_>) -> Result<(), ProofSystemError> {
        let ood = self.weight_ood_samples()?;
        let claims = acc.opening_claims(polys)?;
        pcs.verify_sparse_ood(&self.commitment, &dense_layout(&self.commitment.poly_num_vars), &claims, &ood, t)
            .map_err(|e| ProofSystemError::Rejected(format!("weight opening: {e}")))
    }

    /// The model commitment: BLAKE3 of the key's canonical bytes.
    pub fn digest(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }

    /// The model commitment in hex.
    pub fn model_commitment_hex(&self) -> String {
        hex::encode(self.digest())
    }

    /// Number of variables of the packed weight polynomial the weight opening runs on, `None` if
    /// the commitment's slices cannot be packed.
    pub fn weight_packed_num_vars(&self) -> Option<usize> {
        zkinfer_pcs::PackedLayout::new(&self.commitment.poly_num_vars).ok().map(|l| l.num_vars())
    }

    /// Index of each weight in the key's weight list, by name (the weight's blocks are the
    /// commitment's slices listed by [`WeightBlockPlan`]). Names are unique in a decoded key; the
    /// proof routes weight claims by the graph template's index, not through this map.
    pub fn weight_index(&self) -> HashMap<&str, usize> {
        self.weights.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect()
    }

    /// The integer graph of the causal forward pass over `seq_len` positions with predictions at
    /// the `n_out` rows of its input `out_rows`: the key's graph instantiated at `T = seq_len`,
    /// `N = n_out` (shapes and bounds derived and validated, no weight values).
    pub fn graph(&self, seq_len: usize, n_out: usize) -> Result<Graph, ProofSystemError> {
        let symbol = |name: &str, what: &str| {
            self.graph.symbol(name).ok_or_else(|| ProofSystemError::Request(format!("the key's graph has no {what} {name}")))
        };
        let (t, n) = (symbol("T", "sequence length")?, symbol("N", "number of predicted positions")?);
        let mut values: Vec<usize> = self.graph.symbols.iter().map(|s| s.min).collect();
        values[t] = seq_len;
        values[n] = n_out;
        Ok(self.graph.instantiate(&values, &self.weights)?)
    }

    /// The graph of a KV-cache step: `n_new` positions after `n_past` cached ones, predictions at
    /// the `n_out` rows of `out_rows` — the key's step graph instantiated at `T = n_new`,
    /// `P = n_past`, `N = n_out` (refused past the context).
    pub fn step_graph(&self, n_new: usize, n_past: usize, n_out: usize) -> Result<Graph, ProofSystemError> {
        if n_new.saturating_add(n_past) > self.max_positions() {
            return Err(ProofSystemError::Request(format!("{n_past} cached + {n_new} new positions exceed the context {}", self.max_positions())));
        }
        let symbol = |name: &str| self.step_graph.symbol(name).ok_or_else(|| ProofSystemError::Request(format!("the key's step graph has no symbol {name}")));
        let mut values: Vec<usize> = self.step_graph.symbols.iter().map(|s| s.min).collect();
        values[symbol("T")?] = n_new;
        values[symbol("P")?] = n_past;
        values[symbol("N")?] = n_out;
        Ok(self.step_graph.instantiate(&values, &self.weights)?)
    }

    /// The longest sequence the key's graph can be instantiated for (the range of `T`).
    pub fn max_positions(&self) -> usize {
        self.graph.symbol("T").map_or(0, |t| self.graph.symbols[t].max)
    }

    /// Text of `ids` (lossy UTF-8), `None` if an id is outside the vocabulary.
    pub fn detokenize(&self, ids: &[u32]) -> Option<String> {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(self.vocab.get(id as usize)?);
        }
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The cached inputs of the step graph are as wide as the tensors they cache.
///
/// A chunked proof takes the step graph's cached input `X_past` as a *deferred* input: the
/// verifier never sees its values (unlike the public inputs, which it checks against their
/// declared bounds), it only links them to the keys/values earlier chunks proved — the graph's
/// `X` in chunk 0, the step graph's `X_new` after. Every no-wrap argument downstream of `X_past`
/// (`zkinfer_ops::bounds`) assumes its *declared* bound `|v| < 2^bits`, so that bound must hold
/// for the values it links to: it must be at least the derived bound of `X` and of `X_new`.
/// Otherwise a key could declare a cache narrower than what chunk 0 proved (say by a graph whose
/// `X` is rescaled less than the step graph's `X_new`), and the step graph's relations would be
/// checked for no wrap against bounds the cached values exceed. Honest keys declare exactly the
/// bound of `X`. Bounds are derived by the ops' rules, which never shrink as sizes grow, so both
/// ends of every symbol's range cover every instantiation (a declared bound is a constant).
fn check_cache_bounds(graph: &GraphTemplate, step: &GraphTemplate, weights: &[zkinfer_graph::WeightMeta]) -> Result<(), DecodeError> {
    let names = crate::chunked::cache_names(step);
    if names.is_empty() {
        return Ok(());
    }
    let ends = |g: &GraphTemplate, what: &'static str| -> Result<Vec<Graph>, DecodeError> {
        let lo: Vec<usize> = g.symbols.iter().map(|s| s.min).collect();
        let hi: Vec<usize> = g.symbols.iter().map(|s| s.max).collect();
        [lo, hi].iter().map(|v| g.instantiate(v, weights).map_err(|e| invalid(what, e.to_string()))).collect()
    };
    let (full, steps) = (ends(graph, "graph")?, ends(step, "step graph")?);
    let bits = |gs: &[Graph], name: &str| -> Vec<(u32, Vec<usize>)> {
        gs.iter().filter_map(|g| g.find(name).map(|id| (g.meta(id).bits, g.meta(id).shape.clone()))).collect()
    };
    for name in &names {
        let past = bits(&steps, &format!("{name}_past"));
        let produced: Vec<(u32, Vec<usize>)> = bits(&full, name).into_iter().chain(bits(&steps, &format!("{name}_new"))).collect();
        let declared = past.iter().map(|(b, _)| *b).min().unwrap_or(0);
        if let Some((b, _)) = produced.iter().find(|(b, _)| *b > declared) {
            return Err(invalid(
                "step graph",
                format!("the cached input {name}_past declares |v| < 2^{declared}, but the keys/values it caches are bounded by 2^{b}"),
            ));
        }
        // Heads and width: a cache holds the rows of the tensors it caches.
        let outer = |shape: &[usize]| (shape.first().copied(), shape.last().copied());
        if let Some((_, s)) = produced.iter().find(|(_, s)| past.iter().any(|(_, p)| outer(p) != outer(s) || p.len() != s.len())) {
            return Err(invalid("step graph", format!("the cached input {name}_past is not shaped like {name} ({s:?})")));
        }
    }
    Ok(())
}

/// The points of the weight commitment's out-of-domain samples, one per group of `com` (group
/// order), each as long as the group's packed polynomial has variables: challenges of a
/// transcript ([`WEIGHT_OOD_PROTOCOL`]) whose only input is the commitment's canonical bytes (its
/// Merkle roots and its shapes). They are fixed once the roots are, so whoever makes a key
/// commits to the weights before learning the points; binding nothing else (vocabulary, graph)
/// leaves a key maker no way to draw new points but to commit anew (`docs/SECURITY.md`, "The
/// key's out-of-domain answers", for the collision term over such grinding).
pub fn weight_ood_points(com: &WhirCommitment) -> Result<Vec<Vec<EF>>, ProofSystemError> {
    let vars = pcs().ood_num_vars(com)?;
    let ds = DomainSeparator::new(WEIGHT_OOD_PROTOCOL, WEIGHT_OOD_VERSION).with_public("weight commitment", &com.to_bytes());
    let mut t = VerifierTranscript::new(&ds, &[]);
    Ok(vars.iter().map(|&n| t.challenge_exts(n)).collect())
}

/// The weight commitment's polynomials as sparse polynomials of one block each (the layout of
/// [`VerifyingKey::verify_weight_opening`]: a claim on a weight block is a claim on its slice).
pub fn dense_layout(poly_num_vars: &[usize]) -> SparseLayout {
    SparseLayout::new(poly_num_vars.iter().map(|&m| SparsePoly::dense(m)).collect())
}

/// Whether `com` is a zk key's no-commitment marker (`crate::zk_key::no_commitment`): one
/// all-zero root.
fn is_no_commitment(com: &WhirCommitment) -> bool {
    com.root.roots().iter().all(|r| *r == [0u8; 32]) && com.root.num_roots() == 1
}

/// Reads the out-of-domain answers: a count, then three canonical `u64` limbs per answer (a limb
/// `≥ p` is refused). The count must be the commitment's group count ([`WhirPcs::num_groups`];
/// checked before anything is allocated), or zero for the no-commitment marker of a zk key's
/// public part, which carries no value derived from weights.
fn decode_weight_ood(r: &mut Reader<'_>, com: &WhirCommitment) -> Result<Vec<EF>, DecodeError> {
    let n = r.u32("out-of-domain answer count")? as usize;
    let expected = if is_no_commitment(com) { 0 } else { pcs().num_groups(&com.poly_num_vars) };
    if n != expected {
        return Err(invalid("out-of-domain answers", format!("{n} answers for a weight commitment of {expected} group(s)")));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut limbs = [F::ZERO; 3];
        for limb in &mut limbs {
            let v = r.u64("out-of-domain answer")?;
            if v >= zkinfer_field::P {
                return Err(invalid("out-of-domain answers", format!("a limb {v} is not a canonical field element")));
            }
            *limb = F::from_u64(v);
        }
        out.push(EF::from_basis_coefficients_fn(|i| limbs[i]));
    }
    Ok(out)
}

fn small(v: u64, max: u64, what: &'static str) -> Result<usize, DecodeError> {
    if v > max {
        return Err(invalid(what, format!("{v} is too large")));
    }
    Ok(v as usize)
}

fn invalid(what: &'static str, why: String) -> DecodeError {
    DecodeError::Invalid { what, why }
}

fn bincode_options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_limit(1 << 20).with_fixint_encoding().reject_trailing_bytes()
}

/// Serializes a WHIR commitment.
pub fn encode_commitment(c: &WhirCommitment) -> Vec<u8> {
    use bincode::Options;
    bincode_options().serialize(c).unwrap_or_default()
}

/// Deserializes a WHIR commitment (bounded, no trailing bytes).
pub fn decode_commitment(b: &[u8]) -> Result<WhirCommitment, DecodeError> {
    use bincode::Options;
    let c: WhirCommitment = bincode_options()
        .deserialize(b)
        .map_err(|e| invalid("commitment", e.to_string()))?;
    if c.poly_num_vars.iter().any(|&v| v > 40) {
        return Err(invalid("commitment", "polynomial size out of range".into()));
    }
    Ok(c)
}
