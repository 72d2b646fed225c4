//! The zkinfer verifier: everything needed to check a proof, and nothing that proves.
//!
//! * [`key`] — the verifying key (the model's graph as data, weight shapes and bounds, the weight
//!   commitment, the vocabulary and end-of-generation set), its encoding and its strict decoding.
//! * [`file`] — the proof file format (`docs/PROOF_FORMAT.md`).
//! * [`weight_blocks`] — how weights are cut into committed blocks, and the block claims.
//! * [`setup_proof`] — the setup proof's statement and verifier (committed weights respect the
//!   key's declared bounds and zero block padding; checked with the key alone).
//! * [`verify`] — instantiate the key's graph at the proof's length, replay the graph proof
//!   (`zkinfer-ops`' verifier halves), then the batched openings (`zkinfer-pcs`).
//!   **Stopping rule** (the key's end-of-generation set `E`, empty for GPT-2; the statement's
//!   `max_new_tokens` N): `1 ≤ len ≤ N`, no completion token before the last is in `E`, and if
//!   `len < N` the last one is — exactly the completions greedy generation with `-n N` stops
//!   with, as llama.cpp stops at any end-of-generation token.
//! * [`codec`] — strict decoding (from `zkinfer-graph`).
//!
//! Its normal dependency tree holds no thread pool, no memory mapping, no GGUF reader, no
//! tokenizer and no model code (`cargo tree -p zkinfer-verifier -e normal`): the prover crates turn
//! on the shared crates' `parallel` features themselves.
//!
//! Fiat–Shamir binds, before any challenge: the protocol id and version, the architecture, the
//! model commitment (digest of the verifying key, which contains the weight commitment, the graph,
//! the vocabulary and the end-of-generation set), `max_new_tokens`, the prompt ids and the
//! completion ids; then the witness commitment. The statement is the completion: only the last
//! prompt position and the completion positions get the LM head and argmax (the graph's
//! `out_rows` gather).

pub mod causal;
pub mod chunked;
pub mod file;
pub mod key;
pub mod setup_proof;
pub mod weight_blocks;
pub mod zk_key;
pub mod zk_proof;
pub mod zk_setup_proof;
pub mod zk_weights;

/// The strict binary codec of key and proof files (it lives with the graph IR, which uses it too).
pub use zkinfer_graph::codec;

pub use file::ProofFile;
pub use key::{ONE_PASS_WITNESS_SPLIT_FROM_VARS, VerifyingKey, Vocabulary, one_pass_witness_pcs, pcs};
pub use setup_proof::{SetupProof, verify_setup};
use zkinfer_graph::Graph;
use zkinfer_ops::PublicValues;
use zkinfer_pcs::WhirCommitment;
use zkinfer_transcript::{DomainSeparator, VerifierTranscript};

/// Protocol identifier bound into every transcript.
pub const PROTOCOL_ID: &str = "zkinfer/greedy-generation";
/// Protocol version bound into every transcript (2: architecture-generic, stopping rule; 3: the
/// statement is the completion, no prompt predictions; 4: the witness is committed as the blocks
/// of its columns' extents, `zkinfer_pcs::sparse`; 5: the witness commitment message is its
/// Merkle roots alone; 6: signed range limbs and softmax's zero-padded columns committed as
/// blocks, the softmax slack zero off the cube's extent; 8: symmetric clamps to `k ≥ 16` bits
/// proven through `|y|`, `zkinfer_ops::ops::clamp`; 9: the weight opening proves the key's
/// out-of-domain answers with the graph's weight claims, `VerifyingKey::verify_weight_opening`,
/// and a lookup GKR proves all its trees with one set of layer proofs, `zkinfer_lookup::fracaddcheck`).
pub const PROTOCOL_VERSION: u32 = 9;

/// Everything that can go wrong in setup, proving or verification.
#[derive(Debug, thiserror::Error)]
pub enum ProofSystemError {
    /// The model could not be built or run (prover side; the model crate's error, boxed so that
    /// this crate does not depend on it).
    #[error("model: {0}")]
    Model(Box<dyn std::error::Error + Send + Sync>),
    /// The key's graph cannot be instantiated for the request.
    #[error("graph: {0}")]
    GraphIr(#[from] zkinfer_graph::GraphError),
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

/// A verified statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key's architecture.
    pub architecture: String,
    /// Model commitment (hex).
    pub model_commitment: String,
    /// The requested maximum of new tokens.
    pub max_new_tokens: u32,
    /// True if generation stopped at an end-of-generation token (the last completion token).
    pub stopped_at_eog: bool,
    /// Prompt ids.
    pub prompt_ids: Vec<u32>,
    /// Completion ids.
    pub completion_ids: Vec<u32>,
    /// Completion text: the completion's bytes without a final end-of-generation token (what
    /// `generate` prints), lossy UTF-8.
    pub text: String,
}

/// The transcript domain of a generation proof: protocol id and version, then the statement.
pub fn domain_separator(architecture: &str, model_commitment: &[u8; 32], proof: &ProofFile) -> DomainSeparator {
    let ids = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    DomainSeparator::new(PROTOCOL_ID, PROTOCOL_VERSION)
        .with_public("architecture", architecture.as_bytes())
        .with_public("model commitment", model_commitment)
        .with_public("max new tokens", &proof.max_new_tokens.to_le_bytes())
        .with_public("prompt ids", &ids(&proof.prompt_ids))
        .with_public("completion ids", &ids(&proof.completion_ids))
}

/// The ids of the proven pass: prompt followed by all but the last completion token.
pub fn pass_ids(prompt: &[u32], completion: &[u32]) -> Vec<u32> {
    let mut ids = prompt.to_vec();
    ids.extend_from_slice(&completion[..completion.len().saturating_sub(1)]);
    ids
}

/// Checks that a request (prompt and completion length) is one the key's model can serve.
pub fn check_request(vk: &VerifyingKey, prompt: &[u32], n: usize) -> Result<(), ProofSystemError> {
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

/// The graph proof's claims on weights ([`weight_blocks::WeightClaims`]), after checking that no
/// claim on a deferred input is left (a one-pass proof has none).
pub fn weight_claims(template: &zkinfer_graph::GraphTemplate, graph: &Graph, claims: &mut zkinfer_ops::Accumulators) -> Result<weight_blocks::WeightClaims, ProofSystemError> {
    if !claims.deferred.is_empty() {
        return Err(ProofSystemError::Rejected("claims on deferred inputs left to the witness and weight openings".into()));
    }
    let mut out = weight_blocks::WeightClaims::new();
    out.add(template, graph, std::mem::take(&mut claims.weights));
    Ok(out)
}

/// The most commitment groups a one-pass proof may open, witness and weights together
/// (`docs/SECURITY.md`, "Several groups, several lists"): every group adds one WHIR opening term
/// (at most `2^-129.9` each) and one candidate list to the graph term, so `G_x + G_w ≤ 3` keeps the
/// proof at 128 bits or more (`3·2^-129.9 + 2^(3·4.32 + 32 − 191.9) ≈ 2^-128.3`) and four do not
/// (`4·2^-129.9 ≈ 2^-127.9`). The prover length `T` is the prover's choice, so the verifier derives
/// both counts from the shapes (the witness plan's and the key's) and refuses more.
pub const MAX_ONE_PASS_GROUPS: usize = 3;

/// Refuses a one-pass proof whose witness (shapes `witness_vars`) and weights (the key's
/// commitment) are committed in more than [`MAX_ONE_PASS_GROUPS`] groups together, or whose
/// composed bound ([`one_pass_soundness_bits`], from those shapes alone) is below 128 bits;
/// returns the witness's group count. Both sides call it: the prover before committing, the
/// verifier before reading the roots.
pub fn check_one_pass_groups(witness_vars: &[usize], weights: &WhirCommitment) -> Result<usize, String> {
    let (gx, gw) = (one_pass_witness_pcs().num_groups(witness_vars), pcs().num_groups(&weights.poly_num_vars));
    if gx + gw > MAX_ONE_PASS_GROUPS {
        return Err(format!(
            "the witness needs {gx} commitment groups and the weights {gw}: more than the {MAX_ONE_PASS_GROUPS} a one-pass proof's soundness bound allows; prove this transcript in chunks (a smaller --chunk)"
        ));
    }
    let bits = one_pass_soundness_bits(witness_vars, weights, true)?;
    if bits < 128.0 {
        return Err(format!(
            "a one-pass proof of {gx} witness group(s) under {gw} weight group(s) is {bits:.2}-bit sound: below the 128 bits required; prove this transcript in chunks (a smaller --chunk)"
        ));
    }
    Ok(gx)
}

/// The composed soundness of a one-pass proof (`docs/SECURITY.md`, "Composition" and "The key's
/// out-of-domain answers") whose witness has the committed shapes `witness_vars` under a key whose
/// weight commitment is `weights`, from those shapes alone: `−log2` of the union bound of
/// - one WHIR opening per witness group ([`one_pass_witness_pcs`]) and per weight group ([`pcs`]),
///   each at p3-whir's composed figure for its packed size;
/// - the graph proof's error `2^32/|EF|`, charged over every witness candidate (the product of
///   the witness groups' lists: a one-pass witness takes no out-of-domain sample before the graph
///   challenges) and ONE weight candidate when the weight opening proves the key's out-of-domain
///   answers (`key_ood`; always since key version 9), the product of the weight groups' lists
///   otherwise;
/// - each group's batching sumcheck over its list, `L·(J + 2n)/|EF|` with `J + 2n ≤ 2^21`;
/// - with `key_ood`, per weight group the chance `C(L, 2)·n/|EF|` that two list members agree at
///   the key's point (per key the key maker tries).
///
/// An error if a group's WHIR configuration does not exist.
pub fn one_pass_soundness_bits(witness_vars: &[usize], weights: &WhirCommitment, key_ood: bool) -> Result<f64, String> {
    let engine = zkinfer_pcs::whir::WhirEngine::new(*pcs().params());
    let figures = |vars: Vec<usize>| -> Result<Vec<(usize, f64, f64)>, String> {
        vars.into_iter().map(|n| engine.composed_security(n).map(|(b, l)| (n, b, l)).map_err(|e| format!("a group of 2^{n}: {e}"))).collect()
    };
    let wx = figures(one_pass_witness_pcs().group_num_vars(witness_vars).map_err(|e| e.to_string())?)?;
    let ww = figures(pcs().group_num_vars(&weights.poly_num_vars).map_err(|e| e.to_string())?)?;
    let ef = chunked::log2_ef();
    let lists = |gs: &[(usize, f64, f64)]| gs.iter().map(|g| g.2).sum::<f64>();
    let weight_list = if key_ood { 0.0 } else { lists(&ww) };
    let mut err = wx.iter().chain(&ww).map(|g| (-g.1).exp2()).sum::<f64>()
        + (lists(&wx) + weight_list + 32.0 - ef).exp2()
        + wx.iter().chain(&ww).map(|g| (g.2 + 21.0 - ef).exp2()).sum::<f64>();
    if key_ood {
        err += ww.iter().map(|g| (2.0 * g.2 - 1.0 + (g.0.max(1) as f64).log2() - ef).exp2()).sum::<f64>();
    }
    Ok(-err.log2())
}

/// The generation statement's public tensors in the key's `graph` (instantiated), with their
/// values: the graph inputs `tokens`, `positions` of shape `[T]` and `out_rows` of shape `[N]`
/// (each value within the input's declared bound), and `next_token` of shape `[N]`, which must be
/// the output of an `Argmax` node — the model's prediction, which the graph proof binds to the
/// other inputs. The key binds these tensors by name only, so both verifiers (one pass and stream)
/// check their kinds here: a key whose `next_token` is a graph input (review 15) made the
/// completion one more public input the graph need not read, and every completion verified.
/// Then the graph must be causal ([`causal::check_causal`]): prediction `j` reads no token after
/// its position (a non-causal key let several completions of one prompt verify, review 15).
pub fn statement_public<'a>(
    graph: &Graph,
    tokens: &'a [i64],
    positions: &'a [i64],
    out_rows: &'a [i64],
    next: &'a [i64],
) -> Result<PublicValues<'a>, ProofSystemError> {
    let mut public: PublicValues<'a> = PublicValues::new();
    let mut ids = Vec::with_capacity(4);
    for (name, values) in [("tokens", tokens), ("positions", positions), ("out_rows", out_rows), ("next_token", next)] {
        let id = graph.find(name).ok_or_else(|| ProofSystemError::Rejected(format!("graph has no tensor {name}")))?;
        let meta = graph.meta(id);
        if meta.shape != [values.len()] {
            return Err(ProofSystemError::Rejected(format!("the key's tensor {name} has shape {:?}, not [{}]", meta.shape, values.len())));
        }
        if name == "next_token" {
            if !graph.nodes.iter().any(|n| n.output == id && matches!(n.op, zkinfer_graph::Op::Argmax(_))) {
                return Err(ProofSystemError::Rejected(
                    "the key's tensor next_token is not the output of an Argmax node: its graph does not compute the completion".into(),
                ));
            }
        } else {
            if meta.source != zkinfer_graph::TensorSource::Input || !graph.inputs.contains(&id) {
                return Err(ProofSystemError::Rejected(format!("the key's tensor {name} is not a graph input")));
            }
            if values.iter().any(|v| v.unsigned_abs() >= 1u64 << meta.bits) {
                return Err(ProofSystemError::Rejected(format!("a value of {name} exceeds the key's bound 2^{}", meta.bits)));
            }
        }
        public.insert(id, values);
        ids.push(id);
    }
    causal::check_causal(graph, ids[0], ids[1], ids[2], ids[3])?;
    Ok(public)
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
    if let Some(id) = completion.iter().find(|&&id| id as usize >= vk.vocab.len()) {
        return Err(ProofSystemError::Rejected(format!("token id {id} is outside the vocabulary")));
    }
    let stopped_at_eog = check_stopping_rule(vk, proof)?;
    let ids = pass_ids(prompt, completion);
    let graph = vk.graph(ids.len(), completion.len())?;
    let tokens: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
    let positions: Vec<i64> = (0..ids.len() as i64).collect();
    // The predicted positions: the last prompt position and every input completion position.
    let out_rows: Vec<i64> = ((prompt.len() - 1) as i64..ids.len() as i64).collect();
    let next: Vec<i64> = completion.iter().map(|&x| x as i64).collect();
    let public = statement_public(&graph, &tokens, &positions, &out_rows, &next)?;

    let mut t = VerifierTranscript::new(&domain_separator(&vk.architecture, &digest, proof), &proof.transcript);
    let out = zkinfer_ops::verify_graph(&graph, &public, &mut t, |plan, t| {
        // The committed batch is every block of every committed column's extent, which the plan
        // fixes; the proof carries only its Merkle roots (one per group of that batch).
        let witness_vars = plan.sparse_layout().committed_num_vars();
        check_one_pass_groups(&witness_vars, &vk.commitment).map_err(|e| zkinfer_ops::ProofError::check("commit", e))?;
        let roots = t.receive_bytes().map_err(|e| zkinfer_ops::ProofError::check("commit", e.to_string()))?;
        one_pass_witness_pcs()
            .commitment_from_roots(witness_vars, roots)
            .map_err(|e| zkinfer_ops::ProofError::check("commit", format!("witness commitment: {e}")))
    })?;
    let witness_com: WhirCommitment = out.commitment;
    let mut accs = out.accumulators;
    let weight_claims = weight_claims(&vk.graph, &graph, &mut accs)?;
    let weight_acc = weight_blocks::verify_block_claims(&vk.weights, &weight_claims, &mut t)?;
    let pcs = pcs();
    let witness_claims = accs.witness.opening_claims(&out.plan.commitment_ids())?;
    one_pass_witness_pcs().verify_sparse(&witness_com, &out.plan.sparse_layout(), &witness_claims, &mut t)?;
    vk.verify_weight_opening(&pcs, weight_acc, &weight_blocks::WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t)?;
    t.finish()?;
    let shown = &completion[..completion.len() - usize::from(stopped_at_eog)];
    Ok(Verified {
        architecture: vk.architecture.clone(),
        model_commitment: hex::encode(digest),
        max_new_tokens: proof.max_new_tokens,
        stopped_at_eog,
        prompt_ids: prompt.clone(),
        completion_ids: completion.clone(),
        text: vk.detokenize(shown).unwrap_or_default(),
    })
}

/// The stopping rule (module docs): `1 ≤ len ≤ max_new_tokens` (the caller checked `len ≥ 1`),
/// no end-of-generation token before the last completion token, and the last one is one if
/// generation stopped before `max_new_tokens`. Returns whether it stopped at one.
pub(crate) fn check_stopping_rule(vk: &VerifyingKey, proof: &ProofFile) -> Result<bool, ProofSystemError> {
    let c = &proof.completion_ids;
    let n = proof.max_new_tokens as usize;
    if c.is_empty() || c.len() > n {
        return Err(ProofSystemError::Rejected(format!("{} completion tokens for at most {n} new tokens", c.len())));
    }
    if proof.prompt_ids.len().saturating_add(n - 1) > vk.max_positions() {
        return Err(ProofSystemError::Rejected(format!(
            "a request of {n} new tokens after {} prompt tokens exceeds the context length {}",
            proof.prompt_ids.len(),
            vk.max_positions()
        )));
    }
    let is_eog = |t: &u32| vk.eog_ids.binary_search(t).is_ok();
    if let Some(i) = c[..c.len() - 1].iter().position(is_eog) {
        return Err(ProofSystemError::Rejected(format!(
            "completion token {i} ({}) ends generation, but the completion goes on",
            c[i]
        )));
    }
    let last_is_eog = c.last().is_some_and(is_eog);
    if c.len() < n && !last_is_eog {
        return Err(ProofSystemError::Rejected(format!(
            "generation stopped after {} of {n} tokens without an end-of-generation token",
            c.len()
        )));
    }
    Ok(last_is_eog)
}

#[cfg(test)]
mod one_pass_group_tests {
    use super::*;

    /// A weight commitment of the given shapes (the roots are placeholders: only the group count
    /// derived from the shapes matters to the bound).
    fn weights(vars: &[usize]) -> WhirCommitment {
        let groups = pcs().num_groups(vars);
        pcs().commitment_from_roots(vars.to_vec(), &vec![7u8; 32 * groups]).expect("weight commitment")
    }

    #[test]
    fn one_pass_proofs_open_at_most_three_groups_in_all() {
        // GPT-2 small at T = 32: one witness group, one weight group (2^27).
        let gpt2 = weights(&[26, 26]);
        assert_eq!(pcs().num_groups(&gpt2.poly_num_vars), 1);
        assert_eq!(check_one_pass_groups(&[27], &gpt2), Ok(1));
        // Two witness groups beside one weight group: three in all, allowed.
        let two = [28, 26, 24];
        assert_eq!(one_pass_witness_pcs().num_groups(&two), 2);
        // Below 2^27 entries the witness is one group however badly it fills its power of two
        // (40.9M entries here, like GPT-2 small at 32 positions, would split under the default rule).
        let gpt2_witness = [25, 22, 21, 20];
        assert_eq!(pcs().num_groups(&gpt2_witness), 2);
        assert_eq!(check_one_pass_groups(&gpt2_witness, &gpt2), Ok(1));
        assert_eq!(check_one_pass_groups(&two, &gpt2), Ok(2));
        // SmolLM2-like weights in two groups: one witness group is fine, two are refused.
        let smol = weights(&[20, 24]);
        assert_eq!(pcs().num_groups(&smol.poly_num_vars), 2);
        assert_eq!(check_one_pass_groups(&[27], &smol), Ok(1));
        let refused = check_one_pass_groups(&two, &smol);
        assert!(matches!(&refused, Err(e) if e.contains("2 commitment groups and the weights 2")), "{refused:?}");
        // Two witness groups are refused beside two weight groups whatever their sizes.
        assert!(check_one_pass_groups(&[29, 27, 25], &smol).is_err());
    }

    /// The run-time one-pass bound ([`one_pass_soundness_bits`], what [`check_one_pass_groups`]
    /// refuses below 128 bits) for the shapes of `docs/SECURITY.md`: GPT-2 small at `T = 32` (one
    /// witness group of 2^26, one weight group of 2^27), SmolLM2 (a 2^28 witness group, weight
    /// groups of 2^27 and 2^19), two witness groups beside GPT-2's weights; each at 128 bits or
    /// more with the key's out-of-domain answers, and never lower than without them. A key of
    /// four weight groups is refused by the group cap whatever the witness.
    #[test]
    fn one_pass_composed_bounds() {
        let gpt2 = weights(&[26, 26]);
        let smol = weights(&[26, 26, 19]);
        assert_eq!(pcs().num_groups(&smol.poly_num_vars), 2);
        for (what, witness, key) in [("GPT-2 small T = 32", vec![25, 22, 21, 20], &gpt2), ("SmolLM2", vec![27, 27], &smol), ("two witness groups", vec![28, 26, 24], &gpt2)] {
            let with = one_pass_soundness_bits(&witness, key, true).expect("bound");
            let without = one_pass_soundness_bits(&witness, key, false).expect("bound");
            eprintln!("{what}: {with:.3} bits with the key's answers, {without:.3} without");
            assert!(with >= 128.0 && with >= without, "{what}: {with} bits");
            assert!(check_one_pass_groups(&witness, key).is_ok(), "{what}");
        }
        // Billion-weight shapes: TinyLlama-like weights (2^30 and 2^25) and 1.5B-like (one group
        // of 2^31) beside a 2^28 witness.
        for (what, key) in [("TinyLlama-like", weights(&[29, 29, 24, 24])), ("1.5B-like", weights(&[30, 30]))] {
            let bits = one_pass_soundness_bits(&[27, 27], &key, true).expect("bound");
            eprintln!("{what}: {bits:.3} bits with the key's answers, {:.3} without", one_pass_soundness_bits(&[27, 27], &key, false).expect("bound"));
            assert!(bits >= 128.0, "{what}: {bits}");
        }
        let four = weights(&[28, 26, 24, 22]);
        assert_eq!(pcs().num_groups(&four.poly_num_vars), 4);
        assert!(check_one_pass_groups(&[20], &four).is_err());
    }
}
