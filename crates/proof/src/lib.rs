//! End-to-end proofs that a committed GPT-2 model produced a greedy completion.
//!
//! * [`keys`] — setup: commit every weight once; the verifying key and the model commitment.
//! * [`file`] — the proof file format (`docs/PROOF_FORMAT.md`).
//! * [`prove`] / [`verify`] — one causal forward pass over prompt + completion is proven with
//!   the graph prover of `zkinfer-ops`; the argmax at prompt position `P−1+i` must equal
//!   completion token `i`. The witness and the weights are each opened once (batched).
//! * [`setup_proof`] — the one-time proof that the committed weights respect the key's declared
//!   bounds and zero block padding (checked with the key alone).
//! * [`codec`], [`fsio`] — strict decoding, atomic file output.
//!
//! Fiat–Shamir binds, before any challenge: the protocol id and version, the model commitment
//! (digest of the verifying key, which contains the weight commitment), the prompt ids, the
//! completion ids and the prompt predictions; then the witness commitment.

pub mod file;
pub mod fsio;
pub mod keys;
pub mod setup_proof;
pub mod weight_blocks;

/// The strict binary codec of key and proof files (it lives with the graph IR, which uses it too).
pub use zkinfer_model::codec;

use std::time::Instant;

pub use file::ProofFile;
pub use keys::{ProvingKey, VerifyingKey, pcs, setup, setup_with_proof};
pub use setup_proof::{SetupProof, prove_setup, verify_setup};
use zkinfer_field::F;
use zkinfer_model::{IntTrace, Model};
use zkinfer_ops::{PublicValues, WitnessBuilder};
use zkinfer_pcs::{OpeningAccumulator, WhirCommitment, WhirProverData};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

/// Protocol identifier bound into every transcript.
pub const PROTOCOL_ID: &str = "zkinfer/gpt2-greedy-generation";
/// Protocol version bound into every transcript.
pub const PROTOCOL_VERSION: u32 = 1;

/// Everything that can go wrong in setup, proving or verification.
#[derive(Debug, thiserror::Error)]
pub enum ProofSystemError {
    /// The model could not be built or run.
    #[error("model: {0}")]
    Model(#[from] zkinfer_model::ModelError),
    /// The graph proof failed (prover) or was rejected (verifier).
    #[error("{0}")]
    Graph(#[from] zkinfer_ops::ProofError),
    /// A polynomial commitment or opening failed or was rejected.
    #[error("commitment opening: {0}")]
    Pcs(#[from] zkinfer_pcs::PcsError),
    /// The transcript is malformed.
    #[error("transcript: {0}")]
    Transcript(#[from] zkinfer_transcript::TranscriptError),
    /// A key or proof file does not decode.
    #[error("{0}")]
    Decode(#[from] codec::DecodeError),
    /// The request is not one the model can serve.
    #[error("invalid request: {0}")]
    Request(String),
    /// The proof is for another model.
    #[error("the proof was made for model {proof}, but the verifying key is for model {key}")]
    WrongModel {
        /// Commitment in the proof.
        proof: String,
        /// Commitment of the key.
        key: String,
    },
    /// The statement is inconsistent (e.g. a completion token is not the model's argmax).
    #[error("rejected: {0}")]
    Rejected(String),
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
#[derive(Debug, Clone, Copy, Default, PartialEq)]
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
}

impl ProveTimings {
    /// Proving time proper (everything but generation).
    pub fn prove_s(&self) -> f64 {
        self.trace_s + self.prove_graph_s + self.open_s + self.weight_commit_s
    }
}

/// A verified statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Model commitment (hex).
    pub model_commitment: String,
    /// Prompt ids.
    pub prompt_ids: Vec<u32>,
    /// Completion ids.
    pub completion_ids: Vec<u32>,
    /// Completion text.
    pub text: String,
}

fn domain_separator(model_commitment: &[u8; 32], proof: &ProofFile) -> DomainSeparator {
    let ids = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    DomainSeparator::new(PROTOCOL_ID, PROTOCOL_VERSION)
        .with_public("model commitment", model_commitment)
        .with_public("prompt ids", &ids(&proof.prompt_ids))
        .with_public("completion ids", &ids(&proof.completion_ids))
        .with_public("prompt predictions", &ids(&proof.prompt_predictions))
}

/// The ids of the proven pass: prompt followed by all but the last completion token.
fn pass_ids(prompt: &[u32], completion: &[u32]) -> Vec<u32> {
    let mut ids = prompt.to_vec();
    ids.extend_from_slice(&completion[..completion.len().saturating_sub(1)]);
    ids
}

fn check_request(vk: &VerifyingKey, prompt: &[u32], n: usize) -> Result<(), ProofSystemError> {
    if prompt.is_empty() {
        return Err(ProofSystemError::Request("the prompt is empty".into()));
    }
    if n == 0 {
        return Err(ProofSystemError::Request("nothing to prove: generate at least one token".into()));
    }
    if let Some(id) = prompt.iter().find(|&&id| id as usize >= vk.vocab.len()) {
        return Err(ProofSystemError::Request(format!("token id {id} is outside the vocabulary ({})", vk.vocab.len())));
    }
    if prompt.len() + n - 1 > vk.max_positions() {
        return Err(ProofSystemError::Request(format!(
            "prompt ({}) + completion ({n}) − 1 exceeds the context length {}",
            prompt.len(),
            vk.max_positions()
        )));
    }
    Ok(())
}

/// Generates `n` tokens after `prompt` and proves it. `tamper` may change the trace before it
/// is proven (tests use it to play a malicious prover; pass `|_, _| {}` otherwise). Keeps the
/// proving key (copying its weight commitment data); [`prove_consuming`] avoids the copy.
pub fn prove(
    model: &Model,
    pk: &ProvingKey,
    prompt: &[u32],
    n: usize,
    progress: impl FnMut(Stage),
    tamper: impl FnOnce(&zkinfer_model::Graph, &mut IntTrace),
) -> Result<(ProofFile, ProveTimings), ProofSystemError> {
    prove_consuming(model, &pk.vk, WeightCommitment::Ready(Box::new(pk.weight_data.clone())), prompt, n, progress, tamper)
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
    mut progress: impl FnMut(Stage),
    tamper: impl FnOnce(&zkinfer_model::Graph, &mut IntTrace),
) -> Result<(ProofFile, ProveTimings), ProofSystemError> {
    check_request(vk, prompt, n)?;
    let mut timings = ProveTimings::default();

    progress(Stage::Generate);
    let start = Instant::now();
    let mut generated = 0;
    let completion = model.generate_int(prompt, n, |_| {
        generated += 1;
        progress(Stage::Token { generated, total: n });
    })?;
    timings.generate_s = start.elapsed().as_secs_f64();

    progress(Stage::Trace);
    let start = Instant::now();
    let ids = pass_ids(prompt, &completion);
    let mut fwd = model.forward_int(&ids)?;
    let predictions = fwd.next_tokens()?;
    if predictions[prompt.len() - 1..] != completion[..] {
        return Err(ProofSystemError::Rejected("the full forward pass disagrees with KV-cache generation".into()));
    }
    // The key's graph is the statement: the model must have run exactly that graph.
    if vk.graph(ids.len())? != fwd.graph {
        return Err(ProofSystemError::Request("the model's graph differs from the verifying key's graph".into()));
    }
    tamper(&fwd.graph, &mut fwd.trace);
    // The statement is what the proven trace's argmax says: the honest trace's ids (checked
    // above), or whatever a tampering test made them.
    let proven = fwd.next_tokens()?;
    timings.trace_s = start.elapsed().as_secs_f64();

    let proof_stub = ProofFile {
        model_commitment: vk.digest(),
        prompt_ids: prompt.to_vec(),
        completion_ids: proven[prompt.len() - 1..].to_vec(),
        prompt_predictions: proven[..prompt.len() - 1].to_vec(),
        transcript: Vec::new(),
    };
    let mut t = ProverTranscript::new(&domain_separator(&proof_stub.model_commitment, &proof_stub));

    progress(Stage::ProveGraph);
    zkinfer_pcs::mem_trace("prove: traced");
    let start = Instant::now();
    let pcs = pcs();
    let out = zkinfer_ops::prove_graph(&fwd.graph, model.weights(), &fwd.trace, &mut t, |w: &WitnessBuilder, t| {
        let cols: Vec<&[F]> = w.plan().committed().into_iter().map(|c| w.values(c)).collect();
        let (com, data) = pcs.commit_slices(&cols).map_err(|e| zkinfer_ops::ProofError::witness("commit", e.to_string()))?;
        t.send_bytes(&keys::encode_commitment(&com));
        Ok(data)
    })?;
    timings.prove_graph_s = start.elapsed().as_secs_f64();

    progress(Stage::Open);
    zkinfer_pcs::mem_trace("prove: graph proven");
    let start = Instant::now();
    let (witness_acc, weight_acc) = opening_accumulators(vk, &fwd.graph, &out.witness.plan().commitment_slots(), out.accumulators)?;
    // The trace and the witness values are not needed by the openings: free them first.
    drop(out.witness);
    drop(fwd);
    zkinfer_pcs::mem_trace("prove: trace dropped");
    let weight_acc = weight_blocks::prove_block_claims(&vk.weights, model.weights(), weight_acc, &mut t)?;
    witness_acc.prove_consuming(&pcs, out.commitment, &mut t)?;
    let weight_data = match weights {
        WeightCommitment::Ready(data) => *data,
        WeightCommitment::Recommit => {
            let recommit = Instant::now();
            let (_, commitment, data) = keys::commit_weights(model)?;
            timings.weight_commit_s = recommit.elapsed().as_secs_f64();
            if commitment != vk.commitment {
                return Err(ProofSystemError::Rejected("the model's weights do not match the verifying key's commitment".into()));
            }
            zkinfer_pcs::mem_trace("prove: weights recommitted");
            data
        }
    };
    weight_acc.prove_consuming(&pcs, weight_data, &mut t)?;
    timings.open_s = start.elapsed().as_secs_f64() - timings.weight_commit_s;

    let proof = ProofFile { transcript: t.into_proof(), ..proof_stub };
    Ok((proof, timings))
}

/// Moves the graph proof's claims into one opening accumulator per commitment: witness claims
/// (keyed by column) get the column's slot in the witness commitment (`witness_slots`, `None` for
/// virtual columns, which carry no claims any more); weight claims (keyed by graph tensor) get the
/// index in the key's weight list that the key's graph template references for that tensor.
fn opening_accumulators(
    vk: &VerifyingKey,
    graph: &zkinfer_model::Graph,
    witness_slots: &[Option<usize>],
    claims: zkinfer_ops::Accumulators,
) -> Result<(OpeningAccumulator, OpeningAccumulator), ProofSystemError> {
    let mut witness = OpeningAccumulator::new();
    for c in claims.witness.into_claims() {
        let slot = witness_slots
            .get(c.poly)
            .copied()
            .flatten()
            .ok_or_else(|| ProofSystemError::Rejected(format!("claim on witness column {} outside the commitment", c.poly)))?;
        witness.push(slot, c.point, c.value);
    }
    let mut weights = OpeningAccumulator::new();
    for c in claims.weights.into_claims() {
        // The key's entry the template references (the one whose shape, scale and bound the graph
        // was instantiated with), never a lookup by name: a claim must be opened against exactly
        // the entry whose bound the graph's no-wrap arguments assumed.
        let idx = match vk.graph.tensors.get(c.poly) {
            Some(zkinfer_model::template::TensorDecl::Weight(w)) if graph.tensors.get(c.poly).is_some_and(|m| m.kind == zkinfer_model::TensorKind::Weight) => *w,
            _ => return Err(ProofSystemError::Rejected(format!("claim on tensor {} of the graph, which is not a key weight", c.poly))),
        };
        weights.push(idx, c.point, c.value);
    }
    Ok((witness, weights))
}

/// Verifies `proof` against `vk`: the verifier never sees or runs the weights.
pub fn verify(vk: &VerifyingKey, proof: &ProofFile) -> Result<Verified, ProofSystemError> {
    let digest = vk.digest();
    if proof.model_commitment != digest {
        return Err(ProofSystemError::WrongModel {
            proof: hex::encode(proof.model_commitment),
            key: hex::encode(digest),
        });
    }
    let (prompt, completion) = (&proof.prompt_ids, &proof.completion_ids);
    check_request(vk, prompt, completion.len())?;
    if let Some(id) = completion.iter().chain(&proof.prompt_predictions).find(|&&id| id as usize >= vk.vocab.len()) {
        return Err(ProofSystemError::Rejected(format!("token id {id} is outside the vocabulary")));
    }
    if proof.prompt_predictions.len() != prompt.len() - 1 {
        return Err(ProofSystemError::Rejected(format!(
            "{} prompt predictions for a prompt of {} tokens",
            proof.prompt_predictions.len(),
            prompt.len()
        )));
    }
    let ids = pass_ids(prompt, completion);
    let graph = vk.graph(ids.len())?;
    let tokens: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
    let positions: Vec<i64> = (0..ids.len() as i64).collect();
    let next: Vec<i64> = proof.prompt_predictions.iter().chain(completion).map(|&x| x as i64).collect();
    let find = |name: &str| {
        graph.find(name).ok_or_else(|| ProofSystemError::Rejected(format!("graph has no tensor {name}")))
    };
    // The generation statement's public tensors: inputs `tokens`, `positions` and the output
    // `next_token`, each of shape [T]; public inputs must lie within their declared bounds.
    let mut public: PublicValues<'_> = PublicValues::new();
    for (name, values) in [("tokens", &tokens), ("positions", &positions), ("next_token", &next)] {
        let id = find(name)?;
        let meta = graph.meta(id);
        if meta.shape != [ids.len()] {
            return Err(ProofSystemError::Rejected(format!("the key's tensor {name} has shape {:?}, not [{}]", meta.shape, ids.len())));
        }
        if meta.kind == zkinfer_model::TensorKind::Input && values.iter().any(|v| v.unsigned_abs() >= 1u64 << meta.bits) {
            return Err(ProofSystemError::Rejected(format!("a value of {name} exceeds the key's bound 2^{}", meta.bits)));
        }
        public.insert(id, values);
    }

    let mut t = VerifierTranscript::new(&domain_separator(&digest, proof), &proof.transcript);
    let out = zkinfer_ops::verify_graph(&graph, &public, &mut t, |plan, t| {
        let com = keys::decode_commitment(t.receive_bytes().map_err(|e| zkinfer_ops::ProofError::check("commit", e.to_string()))?)
            .map_err(|e| zkinfer_ops::ProofError::check("commit", e.to_string()))?;
        let expected: Vec<usize> = plan.committed().into_iter().map(|c| plan.num_vars(c)).collect();
        if com.poly_num_vars != expected {
            return Err(zkinfer_ops::ProofError::check("commit", "witness commitment does not match the witness layout"));
        }
        Ok(com)
    })?;
    let witness_com: WhirCommitment = out.commitment;
    let (witness_acc, weight_acc) = opening_accumulators(vk, &graph, &out.plan.commitment_slots(), out.accumulators)?;
    let weight_acc = weight_blocks::verify_block_claims(&vk.weights, weight_acc, &mut t)?;
    let pcs = pcs();
    witness_acc.verify(&pcs, &witness_com, &mut t)?;
    weight_acc.verify(&pcs, &vk.commitment, &mut t)?;
    t.finish()?;
    Ok(Verified {
        model_commitment: hex::encode(digest),
        prompt_ids: prompt.clone(),
        completion_ids: completion.clone(),
        text: vk.detokenize(completion).unwrap_or_default(),
    })
}

/// Vocabulary bytes of a tokenizer, for the verifying key.
pub fn vocab_bytes(tok: &zkinfer_tokenizer::Tokenizer) -> Vec<Vec<u8>> {
    (0..tok.vocab_size() as u32).map(|id| tok.token_bytes(id).unwrap_or_default()).collect()
}

