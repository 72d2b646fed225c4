//! End-to-end proofs that a committed model (any architecture of `zkinfer_model`'s registry:
//! a [`Model`]) produced a greedy completion, stopping at an end-of-generation token or
//! after the requested number of tokens (the stopping rule `verify` checks: see
//! `zkinfer-verifier`).
//!
//! * [`keys`] — setup: commit every weight once; the verifying key and the model commitment.
//! * [`prove`] — one causal forward pass over prompt + completion is proven with
//!   the graph prover of `zkinfer-ops`; the argmax at prompt position `P−1+i` must equal
//!   completion token `i`. The witness and the weights are each opened once (batched).
//! * [`setup_proof`] — the one-time proof that the committed weights respect the key's declared
//!   bounds and zero block padding (checked with the key alone).
//! * [`memory`] — the memory policy: hold the weight commitment or recommit it, the default
//!   chunk size and the peak estimate behind it (one definition for the CLI, server and benches).
//! * [`fsio`] — atomic file output.
//!
//! Everything the verifier needs — the verifying key, the proof file ([`file`]), weight blocks,
//! [`verify`], [`verify_setup`], [`codec`] — lives in `zkinfer-verifier` (no prover, model or
//! GGUF code) and is re-exported here under its old paths.
//!
//! Fiat–Shamir binds, before any challenge: the protocol id and version, the architecture, the
//! model commitment (digest of the verifying key, which contains the weight commitment, the graph,
//! the vocabulary and the end-of-generation set), `max_new_tokens`, the prompt ids and the
//! completion ids; then the witness commitment. Only the last prompt position and the completion
//! positions get the LM head and argmax (`forward_int_outputs`).

pub mod chunked;
pub mod fsio;
pub mod keys;
pub mod memory;
pub mod setup_proof;
pub mod spill;
pub mod zk;
pub mod zk_setup_proof;

// The verifying side lives in `zkinfer-verifier`; re-exported under the old paths.
pub use zkinfer_verifier::{
    PROTOCOL_ID, PROTOCOL_VERSION, ProofSystemError, Verified, codec, file, verify, weight_blocks, weight_claims, zk_key, zk_proof,
};

use std::sync::Arc;
use std::time::Instant;

pub use file::ProofFile;
pub use keys::{ProvingKey, VerifyingKey, Vocabulary, pcs, setup, setup_with_proof};
pub use setup_proof::{SetupProof, prove_setup, verify_setup};
use zkinfer_field::F;
use zkinfer_model::{IntTrace, Model};
use zkinfer_ops::WitnessBuilder;
use zkinfer_pcs::WhirProverData;
use zkinfer_transcript::ProverTranscript;
use zkinfer_verifier::{check_request, domain_separator, pass_ids};

/// The model crate's error as a [`ProofSystemError`].
pub fn model_err(e: zkinfer_model::ModelError) -> ProofSystemError {
    ProofSystemError::Model(Box::new(e))
}

/// Where proving is, for progress reporting: each stage once, in order, and within
/// [`Stage::Generate`] one [`Stage::Token`] per generated token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Greedy generation with the KV cache.
    Generate,
    /// A token was generated: `generated` of at most `total` so far (inside [`Stage::Generate`]).
    Token {
        /// Tokens generated so far (1 for the first call).
        generated: usize,
        /// Tokens requested.
        total: usize,
    },
    /// The integer forward pass over prompt + completion.
    Trace,
    /// Committing the witness and proving the graph.
    ProveGraph,
    /// Opening the witness and weight commitments.
    Open,
}

/// Wall-clock seconds of each proving stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProveTimings {
    /// Generation with the KV cache.
    pub generate_s: f64,
    /// Full forward pass producing the trace.
    pub trace_s: f64,
    /// Witness commitment and graph proof.
    pub prove_graph_s: f64,
    /// Batched openings.
    pub open_s: f64,
    /// Recomputing the weight commitment ([`WeightCommitment::Recommit`]; 0 otherwise).
    pub weight_commit_s: f64,
    /// Seconds and proof bytes per phase: the graph prover's (`commit`, `lookups`, `prove <op>`,
    /// ...), then `weight blocks`, `witness opening` and `weight opening`.
    pub phases: Vec<(String, f64, usize)>,
}

impl ProveTimings {
    /// Proving time proper (everything but generation).
    pub fn prove_s(&self) -> f64 {
        self.trace_s + self.prove_graph_s + self.open_s + self.weight_commit_s
    }
}

/// Generates `n` tokens after `prompt` and proves it. Keeps the proving key (copying its weight
/// commitment data); [`prove_consuming`] avoids the copy.
pub fn prove(model: &Model, pk: &ProvingKey, prompt: &[u32], n: usize, progress: impl FnMut(Stage)) -> Result<(ProofFile, ProveTimings), ProofSystemError> {
    prove_consuming(model, &pk.vk, WeightCommitment::Ready(Box::new(pk.weight_data.clone())), prompt, n, progress)
}

/// Where the prover gets the weight commitment's prover data from.
#[derive(Debug)]
pub enum WeightCommitment {
    /// Held since setup (fastest; it stays resident for the whole proof).
    Ready(Box<WhirProverData>),
    /// Recomputed from the model after the witness opening, and checked against the key: one more
    /// weight commitment (a few seconds for GPT-2 small), but the weights' codeword and Merkle
    /// tree are never resident together with the witness'.
    Recommit,
}

/// [`prove`], consuming the weight commitment's prover data (the opening needs it by value, and
/// for large models a copy would double the prover's peak memory).
///
/// `progress` is called at the start of each [`Stage`] and after every generated token
/// ([`Stage::Token`]), on the calling thread, so a caller can show live counts and an estimate.
pub fn prove_consuming(
    model: &Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    progress: impl FnMut(Stage),
) -> Result<(ProofFile, ProveTimings), ProofSystemError> {
    prove_impl(ModelArg::Shared(model), vk, weights, prompt, n, progress, None::<fn(&zkinfer_model::Graph, &mut IntTrace)>, None)
}

/// [`prove_consuming`] with the model lent mutably, for a caller that owns it (the CLI): when the
/// witness is large enough for its codewords to be released
/// ([`memory::one_pass_releases_codewords`]), the model's integer weights are also moved to an
/// unlinked temporary file ([`spill::SpilledWeights`]) for the witness opening, the proof's
/// peak, and read back (checked against the hash of what was written) before the weight
/// opening. Same proof bytes. On success the model is as it was; if reading them back fails,
/// the proof fails and the model is left without weights.
pub fn prove_spilling(
    model: &mut Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    progress: impl FnMut(Stage),
) -> Result<(ProofFile, ProveTimings), ProofSystemError> {
    prove_impl(ModelArg::Lent(model), vk, weights, prompt, n, progress, None::<fn(&zkinfer_model::Graph, &mut IntTrace)>, None)
}

/// The model a proof reads: shared (its weights stay resident) or lent mutably (its weights may
/// be spilled during the witness opening: [`prove_spilling`]).
enum ModelArg<'a> {
    Shared(&'a Model),
    Lent(&'a mut Model),
}

impl ModelArg<'_> {
    fn get(&self) -> &Model {
        match self {
            Self::Shared(m) => m,
            Self::Lent(m) => m,
        }
    }
}

/// A malicious prover, for tests only (feature `test-hooks`; the crate's own tests turn it on):
/// not part of the proving API.
#[cfg(feature = "test-hooks")]
pub mod testing {
    use super::*;

    /// [`prove`] as a malicious prover: `tamper` edits the trace of the proven forward pass
    /// (after the honest one was checked against the key's graph), and the witness never
    /// refuses it (a range-checked value outside its range, a looked-up row outside its table:
    /// [`zkinfer_ops::WitnessBuilder::forging`]). The statement is what the tampered trace's argmax
    /// says. So every lie reaches [`verify`], which must reject it.
    pub fn prove_tampered(
        model: &Model,
        pk: &ProvingKey,
        prompt: &[u32],
        n: usize,
        tamper: impl FnOnce(&zkinfer_model::Graph, &mut IntTrace),
    ) -> Result<ProofFile, ProofSystemError> {
        let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
        prove_impl(ModelArg::Shared(model), &pk.vk, weights, prompt, n, |_| {}, Some(tamper), None).map(|(proof, _)| proof)
    }

    /// [`prove`] (honest) with the witness codewords released through the graph proof or held,
    /// whatever [`memory::one_pass_releases_codewords`] says: the proof must not depend on it.
    pub fn prove_releasing(model: &Model, pk: &ProvingKey, prompt: &[u32], n: usize, release: bool) -> Result<ProofFile, ProofSystemError> {
        let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
        prove_impl(ModelArg::Shared(model), &pk.vk, weights, prompt, n, |_| {}, None::<fn(&zkinfer_model::Graph, &mut IntTrace)>, Some(release)).map(|(proof, _)| proof)
    }

    /// [`prove_spilling`] with the release decision forced (`release = true` also spills the
    /// model's weights during the witness opening): the proof must not depend on it.
    pub fn prove_spilling_forced(
        model: &mut Model,
        vk: &VerifyingKey,
        weights: WeightCommitment,
        prompt: &[u32],
        n: usize,
        release: bool,
    ) -> Result<ProofFile, ProofSystemError> {
        prove_impl(ModelArg::Lent(model), vk, weights, prompt, n, |_| {}, None::<fn(&zkinfer_model::Graph, &mut IntTrace)>, Some(release)).map(|(proof, _)| proof)
    }
}

/// The prover; `tamper` (tests only, [`testing::prove_tampered`]) edits the trace and makes the
/// witness forging; `release` (tests only, [`testing::prove_releasing`]) overrides
/// [`memory::one_pass_releases_codewords`].
#[allow(clippy::too_many_arguments)]
fn prove_impl(
    mut lent: ModelArg<'_>,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    mut progress: impl FnMut(Stage),
    tamper: Option<impl FnOnce(&zkinfer_model::Graph, &mut IntTrace)>,
    release: Option<bool>,
) -> Result<(ProofFile, ProveTimings), ProofSystemError> {
    let model = lent.get();
    check_request(vk, prompt, n)?;
    let max_new_tokens = u32::try_from(n).map_err(|_| ProofSystemError::Request(format!("{n} new tokens is too many")))?;
    let architecture = model.architecture().name();
    if architecture != vk.architecture {
        return Err(ProofSystemError::Request(format!("the model is a {architecture} model, the key is for {}", vk.architecture)));
    }
    let mut timings = ProveTimings::default();

    progress(Stage::Generate);
    let start = Instant::now();
    let mut generated = 0;
    let completion = model
        .generate_int_until(prompt, n, &vk.eog_ids, |_| {
            generated += 1;
            progress(Stage::Token { generated, total: n });
        })
        .map_err(model_err)?;
    timings.generate_s = start.elapsed().as_secs_f64();

    progress(Stage::Trace);
    let start = Instant::now();
    let ids = pass_ids(prompt, &completion);
    // Predictions (LM head and argmax) only where the statement needs them: the last prompt
    // position and every completion position but the last.
    let mut fwd = model.forward_int_outputs(&ids, completion.len()).map_err(model_err)?;
    let predictions = fwd.next_tokens().map_err(model_err)?;
    if predictions[..] != completion[..] {
        return Err(ProofSystemError::Rejected("the full forward pass disagrees with KV-cache generation".into()));
    }
    // The key's graph is the statement: the model must have run exactly that graph.
    if vk.graph(ids.len(), completion.len())? != fwd.graph {
        return Err(ProofSystemError::Request("the model's graph differs from the verifying key's graph".into()));
    }
    let forging = tamper.is_some();
    if let Some(tamper) = tamper {
        tamper(&fwd.graph, &mut fwd.trace);
    }
    // The statement is what the proven trace's argmax says: the honest trace's ids (checked
    // above), or whatever a tampering test made them.
    let proven = fwd.next_tokens().map_err(model_err)?;
    timings.trace_s = start.elapsed().as_secs_f64();

    let proof_stub = ProofFile {
        model_commitment: vk.digest(),
        max_new_tokens,
        prompt_ids: prompt.to_vec(),
        completion_ids: proven,
        transcript: Vec::new(),
    };
    let mut t = ProverTranscript::new(&domain_separator(&vk.architecture, &proof_stub.model_commitment, &proof_stub));

    progress(Stage::ProveGraph);
    zkinfer_procfs::mem_trace("prove: traced");
    let start = Instant::now();
    let witness_pcs = zkinfer_verifier::one_pass_witness_pcs();
    // A witness too large for the budget keeps its packed polynomials only, not their codewords
    // and Merkle trees, until the opening (same proof bytes; memory::one_pass_releases_codewords).
    let release = release.unwrap_or_else(|| memory::one_pass_releases_codewords(vk, &fwd.graph));
    // The committed columns move into the commitment (freed as they are packed) and are read
    // back from it: the witness is resident once, not twice.
    let commit = |w: &mut WitnessBuilder, t: &mut ProverTranscript| {
        // The verifier's group bound, checked from the plan's shapes before the columns are taken.
        zkinfer_verifier::check_one_pass_groups(&w.plan().sparse_layout().committed_num_vars(), &vk.commitment)
            .map_err(|e| zkinfer_ops::ProofError::witness("commit", e))?;
        let cols = w.take_committed()?;
        let committed = if release { witness_pcs.commit_owned_releasing(cols) } else { witness_pcs.commit_owned(cols) };
        let (com, data) = committed.map_err(|e| zkinfer_ops::ProofError::witness("commit", e.to_string()))?;
        // The roots alone: the verifier derives the batch's shapes from the witness plan.
        t.send_bytes(&com.roots_bytes());
        let data = Arc::new(SharedWitness(data));
        w.share_committed(data.clone())?;
        Ok(data)
    };
    #[cfg(feature = "test-hooks")]
    let out = if forging {
        zkinfer_ops::prove_graph_forging(&fwd.graph, model.weights(), &fwd.trace, &mut t, commit)?
    } else {
        zkinfer_ops::prove_graph_with(&fwd.graph, model.weights(), &fwd.trace, &mut t, commit)?
    };
    #[cfg(not(feature = "test-hooks"))]
    let out = {
        debug_assert!(!forging, "a tampered trace without the test-hooks feature");
        zkinfer_ops::prove_graph_with(&fwd.graph, model.weights(), &fwd.trace, &mut t, commit)?
    };
    timings.prove_graph_s = start.elapsed().as_secs_f64();

    progress(Stage::Open);
    zkinfer_procfs::mem_trace("prove: graph proven");
    let start = Instant::now();
    timings.phases = out.timings.clone();
    let mut lap = (Instant::now(), t.proof_len());
    let mut phase = |name: &str, t: &ProverTranscript, phases: &mut Vec<(String, f64, usize)>| {
        phases.push((name.to_string(), lap.0.elapsed().as_secs_f64(), t.proof_len() - lap.1));
        lap = (Instant::now(), t.proof_len());
    };
    let mut accs = out.accumulators;
    let weight_claims = weight_claims(&vk.graph, &fwd.graph, &mut accs)?;
    let witness_claims = accs.witness.opening_claims(&out.witness.plan().commitment_ids())?;
    // The committed batch is the blocks of the witness columns' extents (zkinfer_pcs::sparse).
    let witness_layout = out.witness.plan().sparse_layout();
    // The trace and the witness values are not needed by the openings: free them first.
    drop(out.witness);
    drop(fwd);
    zkinfer_procfs::mem_trace("prove: trace dropped");
    let weight_acc = weight_blocks::prove_block_claims(&vk.weights, model.weights(), &weight_claims, &mut t)?;
    phase("weight blocks", &t, &mut timings.phases);
    // A lent model's weights are not needed again before the weight recommitment: with the
    // codewords released (the witness opening is the peak), they wait in a file.
    let spilled = match &mut lent {
        ModelArg::Lent(m) if release => spill::SpilledWeights::take_from(m),
        _ => None,
    };
    zkinfer_procfs::mem_trace("prove: weights spilled");
    let witness_data = Arc::try_unwrap(out.commitment)
        .map_err(|_| ProofSystemError::Rejected("the witness commitment is still shared after the graph proof".into()))?
        .0;
    witness_pcs.open_sparse(witness_data, &witness_layout, &witness_claims, &mut t)?;
    phase("witness opening", &t, &mut timings.phases);
    if let (ModelArg::Lent(m), Some(spilled)) = (&mut lent, spilled) {
        let weights = spilled.read().map_err(|e| ProofSystemError::Model(format!("cannot read the model's spilled weights back: {e}").into()))?;
        m.restore_weights(weights);
    }
    let model = lent.get();
    let weight_data = match weights {
        WeightCommitment::Ready(data) => *data,
        WeightCommitment::Recommit => {
            let recommit = Instant::now();
            let (_, commitment, data) = keys::commit_weights(model)?;
            timings.weight_commit_s = recommit.elapsed().as_secs_f64();
            if commitment != vk.commitment {
                return Err(ProofSystemError::Rejected("the model's weights do not match the verifying key's commitment".into()));
            }
            zkinfer_procfs::mem_trace("prove: weights recommitted");
            data
        }
    };
    keys::prove_weight_opening(&pcs(), vk, weight_data, weight_acc, &weight_blocks::WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t)?;
    phase("weight opening (incl. recommit)", &t, &mut timings.phases);
    timings.open_s = start.elapsed().as_secs_f64() - timings.weight_commit_s;

    let proof = ProofFile { transcript: t.into_proof(), ..proof_stub };
    Ok((proof, timings))
}

/// The witness commitment's prover data, from which the graph prover reads the committed columns
/// (they were moved into it).
#[derive(Debug)]
struct SharedWitness(WhirProverData);

impl zkinfer_ops::witness::CommittedColumns for SharedWitness {
    fn column(&self, k: usize) -> Option<&[F]> {
        self.0.poly_evals(k)
    }
}

/// Vocabulary bytes of a tokenizer, for the verifying key.
pub fn vocab_bytes(tok: &zkinfer_tokenizer::Tokenizer) -> Vec<Vec<u8>> {
    (0..tok.vocab_size() as u32).map(|id| tok.token_bytes(id).unwrap_or_default()).collect()
}

/// The key's vocabulary for `model`: every token's bytes and the set generation stops at (its
/// architecture's [`zkinfer_model::Architecture::stop_tokens`]: the tokenizer's end-of-generation
/// set for Llama-family models, as llama.cpp; none for GPT-2, which generates exactly `-n` tokens).
pub fn vocabulary(tok: &zkinfer_tokenizer::Tokenizer, model: &Model) -> Vocabulary {
    Vocabulary { tokens: vocab_bytes(tok), eog: model.architecture().stop_tokens(tok) }
}
