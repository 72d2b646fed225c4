//! Zero-knowledge setup (`setup --zk`, issue 13): the hiding weight key and the secret proving key.
//!
//! [`setup_zk`] commits the weights — one polynomial per weight tensor, its values zero-padded per
//! dimension, row-major ([`zk_weight_tables`]: the zk graph driver's weight polynomial, so the
//! driver's weight claims open on the key) — in a [`HidingKey`] of `K` tickets and returns the
//! [`ZkVerifyingKey`] (public) and the [`ZkProvingKey`] (secret: the seed every mask and every
//! ticket's randomness derives from, and the next unused ticket). A budget of `K` proofs commits
//! `K + 1` tickets: ticket [`SETUP_TICKET`] (0) is opened by the hiding setup proof
//! (`crate::zk_setup_proof`: the weights zero on their padding and within their declared ranges),
//! stored in the key; graph proofs use tickets `1..=K`.
//!
//! A zk proof takes its ticket with [`reserve_ticket`] and recommits it from the seed
//! ([`ticket_data`]). A ticket used twice would open its codeword twice and leak weight rows, so:
//! * `pk.bin` is locked (`flock`, exclusive, non-blocking: a second prover on the same file is
//!   refused, not queued) from before it is read until the [`TicketLease`] is dropped, i.e. for
//!   the whole proof; the lock moves with the file (the new `pk.bin` is locked before it is
//!   renamed into place, and a prover that locked a file that was replaced meanwhile re-opens);
//! * the advanced counter is written and flushed to disk (temporary file created with
//!   `create_new`, `fsync`, rename, `fsync` of the directory: [`crate::fsio`]) BEFORE the ticket
//!   index is returned, so before any of its data is computed: a crash at any point wastes at most
//!   one ticket and never reuses one;
//! * past the budget, or for another key, the key is refused and left unchanged.
//!
//! A `pk.bin` copied and used by two provers on different files still reuses tickets: an operator
//! obligation (`setup --zk`'s help says so).
//!
//! ```text
//! pk.bin: magic "ZKINFZP\0" | version u32 | model commitment of the zk key [32] |
//!         secret [32] | next ticket u32 (≥ 1)
//! ```

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::codec::{DecodeError, Reader, Writer};
use zkinfer_model::graph::{Graph, IntTrace, TensorId, Weights};
use zkinfer_ops::ProofError;
use zkinfer_ops::zk_graph::{KeyedWeights, ZkLayout, ZkSecrets, batch_polys, commit_hidden_batch, padded_table, prove_zk_graph_keyed, split_claims};
use zkinfer_verifier::zk_proof::{graph_domain, key_weight_index};
use crate::{ProofSystemError, model_err};
use zkinfer_field::F;
use zkinfer_model::Model;
use zkinfer_field::EF;
use zkinfer_pcs::hiding::{HidingPcs, HidingProverData};
use zkinfer_transcript::ProverTranscript;
use zkinfer_pcs::hiding_key::{HidingKey, KeySecret};
pub use zkinfer_pcs::hiding_key::KeyBudget;
use zkinfer_verifier::key::{VerifyingKey, Vocabulary};
use zkinfer_verifier::zk_key::{ZkVerifyingKey, no_commitment};
pub use zkinfer_verifier::zk_proof::{FIRST_PROOF_TICKET, SETUP_TICKET};

/// Magic bytes of a zk proving-key file.
pub const ZK_PK_MAGIC: &[u8; 8] = b"ZKINFZP\0";
/// Format version of zk proving-key files (2: ticket 0 is reserved, the counter starts at 1).
pub const ZK_PK_VERSION: u32 = 2;

/// The secret proving key of a zk key.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkProvingKey {
    /// The model commitment of the zk verifying key it belongs to.
    pub vk_digest: [u8; 32],
    /// The seed of every mask and every ticket's randomness.
    pub secret: KeySecret,
    /// The next unused ticket.
    pub next_ticket: u32,
}

impl std::fmt::Debug for ZkProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkProvingKey").field("vk_digest", &hex::encode(self.vk_digest)).field("next_ticket", &self.next_ticket).finish_non_exhaustive()
    }
}

impl ZkProvingKey {
    /// Canonical bytes (secret).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(ZK_PK_MAGIC);
        w.u32(ZK_PK_VERSION);
        w.raw(&self.vk_digest);
        w.raw(&self.secret.0);
        w.u32(self.next_ticket);
        w.into_bytes()
    }

    /// Decodes a proving key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.header(ZK_PK_MAGIC, ZK_PK_VERSION, "zkinfer zero-knowledge proving key")?;
        let vk_digest = r.array::<32>("model commitment")?;
        let secret = KeySecret(r.array::<32>("secret")?);
        let next_ticket = r.u32("next ticket")?;
        if next_ticket < FIRST_PROOF_TICKET {
            return Err(DecodeError::Invalid { what: "next ticket", why: format!("ticket {next_ticket} is reserved for the setup proof") });
        }
        r.finish()?;
        Ok(Self { vk_digest, secret, next_ticket })
    }

    /// Advances the in-memory counter and returns the ticket for a proof under `vk`; refused
    /// past the budget or for another key. Provers use [`reserve_ticket`], which persists the
    /// counter before the ticket is used.
    pub fn take_ticket(&mut self, vk: &ZkVerifyingKey) -> Result<usize, ProofSystemError> {
        if vk.digest()? != self.vk_digest {
            return Err(ProofSystemError::Request("the proving key belongs to another zk verifying key".into()));
        }
        let i = self.next_ticket.max(FIRST_PROOF_TICKET) as usize;
        if i >= vk.weights.tickets.len() {
            return Err(ProofSystemError::Request(format!(
                "the zk key's proof budget is spent: all {} proof tickets are used (run setup --zk again)",
                vk.weights.tickets.len().saturating_sub(FIRST_PROOF_TICKET as usize)
            )));
        }
        self.next_ticket = i as u32 + 1;
        Ok(i)
    }
}

/// A ticket reserved for one proof: the proving key's advanced counter is on disk, and `pk.bin`
/// stays locked until this is dropped (after the proof is written).
#[derive(Debug)]
pub struct TicketLease {
    /// The ticket the proof opens.
    pub ticket: usize,
    /// The proving key (its counter already past `ticket`).
    pub pk: ZkProvingKey,
    _lock: File,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> ProofSystemError {
    ProofSystemError::Request(format!("cannot {what} the zero-knowledge proving key {}: {e}", path.display()))
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Reserves the next ticket of the proving key at `pk_path` for a proof under `vk`: locks the
/// file, reads it, advances its counter, writes and flushes the advanced key (locked) in its
/// place, and only then returns the ticket. Refused, leaving the file unchanged, if another
/// prover holds the lock, the budget is spent or the key belongs to another verifying key.
pub fn reserve_ticket(pk_path: &Path, vk: &ZkVerifyingKey) -> Result<TicketLease, ProofSystemError> {
    for _ in 0..8 {
        let mut f = File::open(pk_path).map_err(|e| io_err("open", pk_path, e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ProofSystemError::Request(format!(
                    "the zero-knowledge proving key {} is in use by another prover (locked); retry when it has finished",
                    pk_path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err("lock", pk_path, e)),
        }
        // The file may have been replaced between our open and our lock (by a prover that then
        // released it): lock the current one instead.
        let opened = f.metadata().map_err(|e| io_err("inspect", pk_path, e))?;
        let current = std::fs::metadata(pk_path).map_err(|e| io_err("inspect", pk_path, e))?;
        if !same_file(&opened, &current) {
            continue;
        }
        let mut bytes = Vec::new();
        // A proving key is 80 bytes: read at most a little more, so a huge file is no allocation.
        (&mut f).take(4096).read_to_end(&mut bytes).map_err(|e| io_err("read", pk_path, e))?;
        let mut pk = ZkProvingKey::from_bytes(&bytes)?;
        let ticket = pk.take_ticket(vk)?;
        let lock = crate::fsio::write_atomic_private_locked(pk_path, &pk.to_bytes()).map_err(|e| io_err("update", pk_path, e))?;
        drop(f);
        return Ok(TicketLease { ticket, pk, _lock: lock });
    }
    Err(ProofSystemError::Request(format!("the zero-knowledge proving key {} keeps being replaced; retry", pk_path.display())))
}

/// The weights as a zk key commits them: per weight (the order of `weights.metas()`, the key's
/// weight list), its values zero-padded per dimension to powers of two, row-major
/// ([`zkinfer_ops::zk_graph::padded_table`], the zk graph driver's weight polynomial).
pub fn zk_weight_tables(weights: &Weights) -> Result<(Vec<crate::keys::WeightMeta>, Vec<Vec<F>>), ProofSystemError> {
    let metas = weights.metas();
    let mut tables = Vec::with_capacity(metas.len());
    for (meta, (_, t)) in metas.iter().zip(weights.iter()) {
        if t.len() != t.shape.iter().product::<usize>() {
            return Err(ProofSystemError::Request(format!("weight {} holds {} values for shape {:?}", meta.name, t.len(), t.shape)));
        }
        tables.push(padded_table(&t.to_i64_vec(), &t.shape));
    }
    Ok((metas, tables))
}

fn slices(model: &Model) -> Result<(Vec<crate::keys::WeightMeta>, Vec<Vec<F>>), ProofSystemError> {
    zk_weight_tables(model.weights())
}

/// Zero-knowledge setup: the zk verifying key (graph, shapes, vocabulary, hiding weight key of
/// `budget.tickets + 1` tickets: [`SETUP_TICKET`] and one per proof) and its secret proving key
/// (counter at [`FIRST_PROOF_TICKET`]). The key carries its hiding setup proof on ticket 0
/// (`crate::zk_setup_proof`: padding and ranges, `docs/SECURITY.md`).
pub fn setup_zk(
    model: &Model,
    vocab: impl Into<Vocabulary>,
    budget: KeyBudget,
) -> Result<(ZkVerifyingKey, ZkProvingKey), ProofSystemError> {
    let vocab = vocab.into();
    let eog_ids = vocab.eog_set()?;
    let graph = model.graph_template().map_err(model_err)?;
    let step_graph = model.step_graph_template().map_err(model_err)?;
    let (metas, slices) = slices(model)?;
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let secret = KeySecret::generate()?;
    if budget.tickets == 0 || budget.tickets >= zkinfer_pcs::hiding_key::MAX_TICKETS {
        return Err(ProofSystemError::Request(format!(
            "a zero-knowledge key hides 1 to {} proofs, not {}",
            zkinfer_pcs::hiding_key::MAX_TICKETS - 1,
            budget.tickets
        )));
    }
    let tickets = KeyBudget { tickets: budget.tickets + FIRST_PROOF_TICKET as usize, ..budget };
    let weights = HidingKey::setup(&HidingPcs::default(), &refs, tickets, &secret)?;
    // No file hash: a hash of the GGUF would let anyone holding a candidate file test whether it
    // is the hidden model (review 7); the zk key's `model_sha256` is all zeros.
    let public = VerifyingKey {
        model_sha256: [0; 32],
        architecture: model.architecture().name().into(),
        graph,
        step_graph,
        commitment: no_commitment(weights.poly_num_vars.clone()),
        // Nothing derived from weight values: no out-of-domain answers.
        weight_ood: Vec::new(),
        weights: metas,
        vocab: vocab.tokens,
        eog_ids,
    };
    let mut vk = ZkVerifyingKey::new(public, weights)?;
    // The hiding setup proof on ticket 0 (`crate::zk_setup_proof`), stored in the key.
    let mut rng = <rand10::rngs::StdRng as rand10::SeedableRng>::try_from_rng(&mut rand10::rngs::SysRng).map_err(|e| ProofSystemError::Request(format!("no system randomness: {e}")))?;
    vk.setup_proof = crate::zk_setup_proof::prove_zk_setup(&vk, &refs, &secret, &mut rng)?;
    let pk = ZkProvingKey { vk_digest: vk.digest()?, secret, next_ticket: FIRST_PROOF_TICKET };
    Ok((vk, pk))
}

/// Ticket `ticket`'s prover data, recommitted from `model`'s weights and the secret and checked
/// against the key (a model or secret other than the key's is refused).
pub fn ticket_data(vk: &ZkVerifyingKey, pk: &ZkProvingKey, model: &Model, ticket: usize) -> Result<HidingProverData, ProofSystemError> {
    if vk.digest()? != pk.vk_digest {
        return Err(ProofSystemError::Request("the proving key belongs to another zk verifying key".into()));
    }
    let (_, slices) = slices(model)?;
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    Ok(vk.weights.ticket(&HidingPcs::default(), &refs, &pk.secret, ticket)?)
}

// ---------------------------------------------------------------------------------------------
// Choke point 8: the proof's weight claims on its ticket (`zkinfer_verifier::zk_weights`).

pub use zkinfer_verifier::zk_weights::{WeightClaim, verify_weight_claims_on, verify_weight_claims_zk};

/// The value of `Ŵ_w(point)` (`zkinfer_verifier::zk_weights`) from a ticket's prover data: what a
/// zk op sends as its claim on a weight.
pub fn randomised_weight_value(data: &HidingProverData, weight: usize, point: &[EF]) -> Result<EF, ProofSystemError> {
    Ok(data.evaluate(weight, point)?)
}

/// Prover (choke point 8): opens ticket `data` of `hk` at the weight claims (their values the
/// graph proof's, [`randomised_weight_value`]) and the key's link claims.
pub fn prove_weight_claims_on<R: rand10::CryptoRng + ?Sized>(
    hk: &HidingKey,
    key_weights: &[crate::keys::WeightMeta],
    data: HidingProverData,
    claims: &[WeightClaim],
    t: &mut ProverTranscript,
    rng: &mut R,
) -> Result<(), ProofSystemError> {
    let opening = zkinfer_verifier::zk_weights::opening_claims(key_weights, claims)?;
    hk.open_ticket(&HidingPcs::default(), data, &opening, t, rng)?;
    Ok(())
}

/// [`prove_weight_claims_on`] for a zk verifying key.
pub fn prove_weight_claims_zk<R: rand10::CryptoRng + ?Sized>(
    vk: &ZkVerifyingKey,
    data: HidingProverData,
    claims: &[WeightClaim],
    t: &mut ProverTranscript,
    rng: &mut R,
) -> Result<(), ProofSystemError> {
    prove_weight_claims_on(&vk.weights, &vk.public.weights, data, claims, t, rng)
}

// ---------------------------------------------------------------------------------------------
// The zk graph proof on a ticket.

/// The driver's view of the key's weights: ticket data and, per graph tensor, its key weight.
struct TicketWeights<'a> {
    data: &'a HidingProverData,
    index: &'a [Option<usize>],
}

impl TicketWeights<'_> {
    fn poly(&self, t: TensorId) -> Result<usize, ProofError> {
        self.index.get(t.0).copied().flatten().ok_or_else(|| ProofError::witness("zk key weights", format!("tensor {} is not a key weight", t.0)))
    }
}

impl KeyedWeights for TicketWeights<'_> {
    fn hat(&self, t: TensorId, z: &[EF]) -> Result<EF, ProofError> {
        self.data.evaluate(self.poly(t)?, z).map_err(|e| ProofError::witness("zk key weights", e.to_string()))
    }

    fn cofactor(&self, t: TensorId, z: &[EF], var: usize) -> Result<EF, ProofError> {
        if var < z.len().min(zkinfer_pcs::hiding::MASK_VARS) {
            return Err(ProofError::witness("zk key weights", format!("tensor {}: variable {var} is a mask variable", t.0)));
        }
        self.data.mask_cofactor(self.poly(t)?, z, var).map_err(|e| ProofError::witness("zk key weights", e.to_string()))
    }
}

/// Proves `graph` (weights `weights`, execution `trace`, public `inputs`) in zero knowledge with
/// its weights bound to ticket `ticket` of the hiding weight key `hk` over `key_weights` (`data`:
/// that ticket's prover data, [`ticket_data`] or `HidingKey::ticket`). Returns the transcript
/// (`zkinfer_verifier::zk_proof::verify_zk_graph_on_ticket` checks it under the same `ds`): the
/// root of the proof's own hiding batch (every hidden polynomial but the weights), the zk walk,
/// the batch's hiding opening, the ticket's. `rng`: cryptographic, unpredictably seeded.
#[allow(clippy::too_many_arguments)] // the key, the ticket, the statement, the witness, the randomness
pub fn prove_zk_graph_on_ticket<R: rand10::CryptoRng + ?Sized>(
    hk: &HidingKey,
    key_weights: &[crate::keys::WeightMeta],
    data: HidingProverData,
    graph: &Graph,
    weights: &Weights,
    trace: &IntTrace,
    inputs: &[Vec<i64>],
    public_outputs: &[(TensorId, Vec<i64>)],
    ds: &zkinfer_transcript::DomainSeparator,
    rng: &mut R,
) -> Result<Vec<u8>, ProofSystemError> {
    let index = key_weight_index(graph, key_weights)?;
    let layout = ZkLayout::with_public_outputs(graph, inputs, public_outputs)?;
    // The claims per weight the key's masks can hide (the ticket's opening refuses more, after
    // all the work: refuse first).
    for &p in &batch_polys(&layout, false) {
        if let zkinfer_ops::zk_graph::HiddenKind::Weight(t) = layout.polys[p].kind
            && layout.claims[t.0] > hk.budget.points_per_ticket
        {
            return Err(ProofSystemError::Request(format!(
                "weight {} receives {} claims in a zk proof, more than the key's {} points per ticket",
                graph.meta(t).name,
                layout.claims[t.0],
                hk.budget.points_per_ticket
            )));
        }
    }
    let ds = graph_domain(ds, graph, inputs, public_outputs)?;
    let secrets = ZkSecrets::sample_with(&layout, graph, weights, trace, true, rng)?;
    let pcs = HidingPcs::default();
    let (com, batch_data) = commit_hidden_batch(&pcs, &layout, &secrets, true, rng)?;
    let mut t = ProverTranscript::new(&ds);
    let root: Vec<u8> = com.root.roots().iter().flat_map(|d| d.iter().copied()).collect();
    t.send_bytes(&root);
    pcs.absorb_commitment(&com, &mut t);
    let keyed = TicketWeights { data: &data, index: &index };
    let claims = prove_zk_graph_keyed(&layout, &secrets, Some(&keyed), graph, weights, trace, inputs, &mut t)?;
    layout.check_final_claims(graph, &claims)?;
    let (batch, weight_finals) = split_claims(&layout, true, &claims)?;
    pcs.open(batch_data, &batch, &mut t, rng)?;
    let weight_claims = weight_finals
        .into_iter()
        .map(|(tensor, c)| Ok(WeightClaim { weight: index[tensor.0].ok_or_else(|| ProofSystemError::Request(format!("tensor {} is not a key weight", tensor.0)))?, point: c.point, value: c.value }))
        .collect::<Result<Vec<_>, ProofSystemError>>()?;
    prove_weight_claims_on(hk, key_weights, data, &weight_claims, &mut t, rng)?;
    Ok(t.into_proof())
}

// ---------------------------------------------------------------------------------------------
// `prove --zk`: one generation proven in zero knowledge on the next ticket of the proving key.

/// Times of a zk proof, in seconds.
#[derive(Debug, Clone, Default)]
pub struct ZkProveTimings {
    /// Greedy generation with the KV cache.
    pub generate_s: f64,
    /// The integer forward pass over prompt ‖ completion.
    pub trace_s: f64,
    /// Recommitting the proof's ticket from the secret (one hiding commitment of the weights).
    pub ticket_s: f64,
    /// The hiding graph proof: the batch commitment, the zk walk and both openings.
    pub prove_graph_s: f64,
}

impl ZkProveTimings {
    /// Everything after generation.
    pub fn prove_s(&self) -> f64 {
        self.trace_s + self.ticket_s + self.prove_graph_s
    }
}

/// The zk layout of the key's graph for a request of `n` tokens after `prompt` (the walk's shape
/// does not depend on the completion's values): refused, naming the first node the zk driver
/// cannot walk, BEFORE any generation or ticket.
pub fn check_walkable(vk: &ZkVerifyingKey, prompt: &[u32], n: usize) -> Result<(), ProofSystemError> {
    zkinfer_verifier::check_request(&vk.public, prompt, n)?;
    let t = prompt.len() + n - 1;
    let graph = vk.public.graph(t, n)?;
    // The zk norms' row minimum, said in the user's terms (the layout's own refusal names rows):
    // a per-position norm has prompt + new − 1 rows, GPT-2's output norm one per new token.
    let min = zkinfer_ops::zk_graph::MIN_ZK_NORM_ROWS;
    for node in &graph.nodes {
        if matches!(node.op, zkinfer_model::ops::Op::LayerNorm(_) | zkinfer_model::ops::Op::RmsNorm(_))
            && let Some(&rows) = node.inputs.first().and_then(|&x| graph.meta(x).shape.first())
            && rows < min
        {
            return Err(ProofSystemError::Request(format!(
                "this request cannot be proven in zero knowledge: the zk LayerNorm/RMSNorm needs at least {min} rows, and the norm of {} has {rows} ({} prompt tokens, {n} new, {t} positions; the output norm runs on the new tokens' rows): ask for at least {min} new tokens with prompt + new − 1 ≥ {min}",
                graph.meta(node.output).name,
                prompt.len()
            )));
        }
    }
    // Any ids within the vocabulary give the same layout (embedding and gather rows are public
    // index maps of the same shapes).
    let inputs: Vec<Vec<i64>> = graph
        .inputs
        .iter()
        .map(|&id| match graph.meta(id).name.as_str() {
            "positions" => (0..t as i64).collect(),
            "out_rows" => ((prompt.len() - 1) as i64..t as i64).collect(),
            _ => vec![0; graph.meta(id).shape.iter().product()],
        })
        .collect();
    // Any completion ids give the same layout too (the Argmax's ids are public values).
    let outputs = zkinfer_verifier::zk_proof::statement_outputs(&graph, &vec![0; n])?;
    ZkLayout::with_public_outputs(&graph, &inputs, &outputs).map_err(|e| ProofSystemError::Request(format!("this model cannot be proven in zero knowledge yet: {e}")))?;
    Ok(())
}

/// Proves one greedy generation of at most `n` tokens after `prompt` in zero knowledge under the
/// zk key `vk`, taking the next ticket of the proving key at `pk_path` ([`reserve_ticket`]: only
/// after the request and the graph are known to be provable and the generation is done, so a
/// refused request spends no ticket). Returns the proof file, the lease (keep it until the file
/// is written: `pk.bin` stays locked) and the timings. Fresh randomness from the operating system.
pub fn prove_zk(
    model: &Model,
    vk: &ZkVerifyingKey,
    pk_path: &Path,
    prompt: &[u32],
    n: usize,
    mut progress: impl FnMut(crate::Stage),
) -> Result<(zkinfer_verifier::zk_proof::ZkProofFile, TicketLease, ZkProveTimings), ProofSystemError> {
    use std::time::Instant;
    use zkinfer_verifier::zk_proof::{ZkProofFile, domain_separator, statement_inputs};
    check_walkable(vk, prompt, n)?;
    let max_new_tokens = u32::try_from(n).map_err(|_| ProofSystemError::Request(format!("{n} new tokens is too many")))?;
    let architecture = model.architecture().name();
    if architecture != vk.public.architecture {
        return Err(ProofSystemError::Request(format!("the model is a {architecture} model, the key is for {}", vk.public.architecture)));
    }
    if weight_num_vars_of(model)? != vk.weights.poly_num_vars {
        return Err(ProofSystemError::Request("the model's weights do not have the zk key's shapes: give the key made from this model".into()));
    }
    let mut timings = ZkProveTimings::default();
    progress(crate::Stage::Generate);
    let start = Instant::now();
    let mut generated = 0;
    let completion = model
        .generate_int_until(prompt, n, &vk.public.eog_ids, |_| {
            generated += 1;
            progress(crate::Stage::Token { generated, total: n });
        })
        .map_err(model_err)?;
    timings.generate_s = start.elapsed().as_secs_f64();

    progress(crate::Stage::Trace);
    let start = Instant::now();
    let ids = zkinfer_verifier::pass_ids(prompt, &completion);
    let fwd = model.forward_int_outputs(&ids, completion.len()).map_err(model_err)?;
    if fwd.next_tokens().map_err(model_err)?[..] != completion[..] {
        return Err(ProofSystemError::Rejected("the full forward pass disagrees with KV-cache generation".into()));
    }
    if vk.public.graph(ids.len(), completion.len())? != fwd.graph {
        return Err(ProofSystemError::Request("the model's graph differs from the zk verifying key's graph".into()));
    }
    let (inputs, next) = statement_inputs(&fwd.graph, prompt, &completion)?;
    let outputs = zkinfer_verifier::zk_proof::statement_outputs(&fwd.graph, &next)?;
    timings.trace_s = start.elapsed().as_secs_f64();

    progress(crate::Stage::ProveGraph);
    let start = Instant::now();
    // Recommit the ticket the proving key will give BEFORE taking it: a model or secret other
    // than the key's is refused here and spends no ticket. (Another prover may take it meanwhile:
    // then the reserved one is recommitted.)
    let peeked = peek_proving_key(pk_path)?;
    let mut data = ticket_data(vk, &peeked, model, peeked.next_ticket as usize)?;
    let lease = reserve_ticket(pk_path, vk)?;
    if lease.ticket != peeked.next_ticket as usize {
        data = ticket_data(vk, &lease.pk, model, lease.ticket)?;
    }
    timings.ticket_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let ticket = u32::try_from(lease.ticket).map_err(|_| ProofSystemError::Request("ticket index".into()))?;
    let mut file = ZkProofFile {
        model_commitment: vk.digest()?,
        ticket,
        max_new_tokens,
        prompt_ids: prompt.to_vec(),
        completion_ids: completion,
        transcript: Vec::new(),
    };
    let ds = domain_separator(vk, &file)?;
    let mut rng = <rand10::rngs::StdRng as rand10::SeedableRng>::try_from_rng(&mut rand10::rngs::SysRng).map_err(|e| ProofSystemError::Request(format!("no system randomness: {e}")))?;
    file.transcript = prove_zk_graph_on_ticket(&vk.weights, &vk.public.weights, data, &fwd.graph, model.weights(), &fwd.trace, &inputs, &outputs, &ds, &mut rng)?;
    timings.prove_graph_s = start.elapsed().as_secs_f64();
    Ok((file, lease, timings))
}

/// Reads the proving key at `pk_path` without locking or changing it.
fn peek_proving_key(pk_path: &Path) -> Result<ZkProvingKey, ProofSystemError> {
    let mut bytes = Vec::new();
    File::open(pk_path).and_then(|f| f.take(4096).read_to_end(&mut bytes)).map_err(|e| io_err("read", pk_path, e))?;
    Ok(ZkProvingKey::from_bytes(&bytes)?)
}

/// The padded sizes of a model's weights as a zk key commits them.
fn weight_num_vars_of(model: &Model) -> Result<Vec<usize>, ProofSystemError> {
    Ok(zkinfer_verifier::zk_key::weight_num_vars(&model.weights().metas()))
}
