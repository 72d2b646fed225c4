//! The zero-knowledge proof file (`prove --zk`, issue 13): its header and the checks a verifier
//! makes on it before any protocol message.
//!
//! ```text
//! magic "ZKINFZPF" | version u32 | model commitment [32] (digest of the zk verifying key) |
//! ticket u32 | max new tokens u32 | prompt ids (u32 count, u32 each) |
//! completion ids (u32 count, u32 each) | transcript (u64 length, bytes)
//! ```
//! All integers little-endian; nothing may follow the transcript. A public proof (`ZKINFPRF`)
//! does not decode as a zk proof and vice versa (magic), so the zk flag is the file's kind and the
//! public format is unchanged byte for byte.
//!
//! **The ticket.** A zk key (`ZKINFZK`) holds `K + 1` hiding commitments of the weights
//! ([`zkinfer_pcs::hiding_key::HidingKey`]), each opened by exactly one proof. Ticket
//! [`SETUP_TICKET`] (0) is reserved for the hiding setup proof (padding zero and weights in
//! their declared ranges, `crate::zk_setup_proof`; no graph proof may ever open it); graph proofs use tickets
//! `FIRST_PROOF_TICKET ..= K`. The ticket index is part of the public statement: the transcript
//! absorbs it with the model commitment ([`domain_separator`]), and the verifier checks the
//! weight opening against that ticket's root.
//!
//! **Verification.** [`verify_zk`] checks the header against the key (commitment, ticket range,
//! request), the completion and the stopping rule, instantiates the key's graph at the proof's
//! length with the statement's public tensors ([`statement_inputs`]), and runs the hiding graph
//! proof ([`verify_zk_graph_on_ticket`]): the root of the proof's own hiding batch (output
//! columns, `R` masks, sumcheck mask tables — every hidden polynomial but the weights), the zk
//! walk (`zkinfer_ops::zk_graph`), that batch's hiding opening, and the opening of every weight
//! claim on the proof's ticket of the key (`crate::zk_weights`). A graph the zk driver cannot walk
//! yet is refused naming the node (`zkinfer_ops::zk_graph::ZkLayout::new`). The completion is
//! bound through `next_token`, the graph's Argmax output, whose claims the zk walk checks against
//! the public completion (the driver's Argmax with public ids; a key whose `next_token` is not an
//! Argmax output is refused first, [`crate::statement_public`]).

use crate::codec::{DecodeError, Reader, Writer};
use crate::zk_key::ZkVerifyingKey;
use crate::{PROTOCOL_ID, PROTOCOL_VERSION, ProofSystemError, Verified, check_request};
use crate::key::WeightMeta;
use crate::zk_weights::{WeightClaim, verify_weight_claims_on};
use zkinfer_graph::{Graph, TensorId, TensorSource};
use zkinfer_ops::zk_graph::{ZkLayout, batch_commitment, split_claims, verify_zk_graph};
use zkinfer_pcs::MerkleRoot;
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::HidingKey;
use zkinfer_transcript::{DomainSeparator, VerifierTranscript};

/// Magic bytes of a zero-knowledge proof file.
pub const ZK_PROOF_MAGIC: &[u8; 8] = b"ZKINFZPF";
/// Format version of zk proof files.
/// (2: the transcript carries the hiding graph proof, [`verify_zk`]; version 1 files carried
/// none and are refused.)
pub const ZK_PROOF_VERSION: u32 = 2;
/// The ticket reserved for the hiding setup range proof; no graph proof opens it.
pub const SETUP_TICKET: u32 = 0;
/// The first ticket a graph proof may open.
pub const FIRST_PROOF_TICKET: u32 = 1;

/// Whether `bytes` start like a zk proof.
pub fn is_zk_proof(bytes: &[u8]) -> bool {
    bytes.starts_with(ZK_PROOF_MAGIC)
}

/// A zero-knowledge proof of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkProofFile {
    /// The digest of the zk verifying key the proof is for.
    pub model_commitment: [u8; 32],
    /// The key's ticket the proof opens (at least [`FIRST_PROOF_TICKET`]).
    pub ticket: u32,
    /// The requested maximum of new tokens.
    pub max_new_tokens: u32,
    /// Prompt token ids.
    pub prompt_ids: Vec<u32>,
    /// Generated token ids.
    pub completion_ids: Vec<u32>,
    /// The Fiat–Shamir transcript: every prover message.
    pub transcript: Vec<u8>,
}

impl ZkProofFile {
    /// Encodes the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(ZK_PROOF_MAGIC);
        w.u32(ZK_PROOF_VERSION);
        w.raw(&self.model_commitment);
        w.u32(self.ticket);
        w.u32(self.max_new_tokens);
        w.u32s(&self.prompt_ids);
        w.u32s(&self.completion_ids);
        w.bytes(&self.transcript);
        w.into_bytes()
    }

    /// Decodes a file, rejecting truncation, trailing bytes, bad headers and the setup ticket.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.header(ZK_PROOF_MAGIC, ZK_PROOF_VERSION, "zkinfer zero-knowledge proof")?;
        let model_commitment = r.array::<32>("model commitment")?;
        let ticket = r.u32("ticket")?;
        if ticket < FIRST_PROOF_TICKET {
            return Err(DecodeError::Invalid { what: "ticket", why: format!("ticket {ticket} is reserved for the setup proof") });
        }
        let max_new_tokens = r.u32("max new tokens")?;
        let prompt_ids = r.u32s("prompt ids")?;
        let completion_ids = r.u32s("completion ids")?;
        let transcript = r.bytes("transcript")?.to_vec();
        r.finish()?;
        Ok(Self { model_commitment, ticket, max_new_tokens, prompt_ids, completion_ids, transcript })
    }

    /// The header checks a verifier makes before reading any protocol message: the proof is
    /// for this key, its ticket is one the key holds and not the setup ticket, the request is one
    /// the model serves.
    pub fn check_header(&self, vk: &ZkVerifyingKey) -> Result<(), ProofSystemError> {
        let key = vk.digest()?;
        if self.model_commitment != key {
            return Err(ProofSystemError::WrongModel { proof: hex::encode(self.model_commitment), key: hex::encode(key) });
        }
        let tickets = vk.weights.tickets.len();
        if self.ticket < FIRST_PROOF_TICKET || self.ticket as usize >= tickets {
            return Err(ProofSystemError::Rejected(format!(
                "the proof opens ticket {}, but the key's proof tickets are {FIRST_PROOF_TICKET}..{}",
                self.ticket,
                tickets.saturating_sub(1)
            )));
        }
        check_request(&vk.public, &self.prompt_ids, self.completion_ids.len())
    }
}

/// The transcript domain of a zk generation proof: the public one's, with the mode and the
/// ticket bound before any message.
pub fn domain_separator(vk: &ZkVerifyingKey, proof: &ZkProofFile) -> Result<DomainSeparator, ProofSystemError> {
    let ids = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    Ok(DomainSeparator::new(PROTOCOL_ID, PROTOCOL_VERSION)
        .with_public("mode", b"zero knowledge")
        .with_public("architecture", vk.public.architecture.as_bytes())
        .with_public("model commitment", &vk.digest()?)
        .with_public("ticket", &proof.ticket.to_le_bytes())
        .with_public("max new tokens", &proof.max_new_tokens.to_le_bytes())
        .with_public("prompt ids", &ids(&proof.prompt_ids))
        .with_public("completion ids", &ids(&proof.completion_ids)))
}

/// The domain of the zk graph proof: the caller's (statement, key digest, ticket) extended with
/// every public graph input's values (`inputs[i]` of `graph.inputs[i]`, each as its tensor name,
/// count and little-endian `i64`s) and, when there are any, the public outputs' (the Argmax's ids:
/// the completion; the same encoding under "zk graph outputs"), so the graph proof binds the
/// values it is checked on before any message, whoever calls it.
pub fn graph_domain(ds: &DomainSeparator, graph: &Graph, inputs: &[Vec<i64>], public_outputs: &[(TensorId, Vec<i64>)]) -> Result<DomainSeparator, ProofSystemError> {
    if inputs.len() != graph.inputs.len() {
        return Err(ProofSystemError::Rejected(format!("{} public inputs for {} graph inputs", inputs.len(), graph.inputs.len())));
    }
    let mut bytes = Vec::new();
    for (&id, values) in graph.inputs.iter().zip(inputs) {
        let name = graph.meta(id).name.as_bytes();
        bytes.extend_from_slice(&(name.len() as u64).to_le_bytes());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&(values.len() as u64).to_le_bytes());
        bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    let ds = ds.clone().with_public("zk graph inputs", &bytes);
    if public_outputs.is_empty() {
        return Ok(ds);
    }
    let mut bytes = Vec::new();
    for (id, values) in public_outputs {
        let name = graph.tensors.get(id.0).ok_or_else(|| ProofSystemError::Rejected(format!("public output {} is not a graph tensor", id.0)))?.name.as_bytes();
        bytes.extend_from_slice(&(name.len() as u64).to_le_bytes());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&(values.len() as u64).to_le_bytes());
        bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    Ok(ds.with_public("zk graph outputs", &bytes))
}

/// The statement's public graph outputs: `next_token` (the graph's Argmax output, checked by
/// [`statement_inputs`]) with the completion's ids — what the zk driver proves its Argmax against
/// (`zkinfer_ops::zk_graph::ZkLayout::with_public_outputs`).
pub fn statement_outputs(graph: &Graph, next: &[i64]) -> Result<Vec<(TensorId, Vec<i64>)>, ProofSystemError> {
    let id = graph.find("next_token").ok_or_else(|| ProofSystemError::Rejected("the key's graph has no next_token output".into()))?;
    Ok(vec![(id, next.to_vec())])
}

/// The key weight (index into `key_weights`) each weight tensor of `graph` is, by name, with its
/// shape checked equal to the key's.
pub fn key_weight_index(graph: &Graph, key_weights: &[WeightMeta]) -> Result<Vec<Option<usize>>, ProofSystemError> {
    let mut out = vec![None; graph.tensors.len()];
    for (i, meta) in graph.tensors.iter().enumerate() {
        if meta.source != TensorSource::Weight {
            continue;
        }
        let k = key_weights
            .iter()
            .position(|w| w.name == meta.name)
            .ok_or_else(|| ProofSystemError::Rejected(format!("the graph's weight {} is not in the key", meta.name)))?;
        if key_weights[k].shape != meta.shape {
            return Err(ProofSystemError::Rejected(format!("the graph's weight {} has shape {:?}, the key's {:?}", meta.name, meta.shape, key_weights[k].shape)));
        }
        out[i] = Some(k);
    }
    Ok(out)
}

/// Verifies a zk graph proof (`zkinfer_proof::zk::prove_zk_graph_on_ticket`) of `graph` on the
/// public `inputs`, its weights those of ticket `ticket` of the hiding weight key `hk` over
/// `key_weights`: the transcript (under [`graph_domain`] of `ds`) holds the root of the proof's
/// hiding batch (every hidden polynomial but the weights: output columns, `R` masks, sumcheck mask
/// tables; its shape is the layout's), the zk walk (`zkinfer_ops::zk_graph::verify_zk_graph`),
/// the batch's hiding opening, and the ticket's hiding opening of every weight claim with the
/// key's link claims. Nothing may follow.
#[allow(clippy::too_many_arguments)] // the key, the ticket, the statement and the proof
pub fn verify_zk_graph_on_ticket(
    hk: &HidingKey,
    key_weights: &[WeightMeta],
    ticket: usize,
    graph: &Graph,
    inputs: &[Vec<i64>],
    public_outputs: &[(TensorId, Vec<i64>)],
    ds: &DomainSeparator,
    transcript: &[u8],
) -> Result<(), ProofSystemError> {
    let index = key_weight_index(graph, key_weights)?;
    let layout = ZkLayout::with_public_outputs(graph, inputs, public_outputs)?;
    let ds = graph_domain(ds, graph, inputs, public_outputs)?;
    let mut t = VerifierTranscript::new(&ds, transcript);
    let root = t.receive_bytes()?;
    let root: [u8; 32] = root.try_into().map_err(|_| ProofSystemError::Rejected(format!("a hiding batch root of {} bytes, not 32", root.len())))?;
    let pcs = HidingPcs::default();
    let com = batch_commitment(&layout, true, MerkleRoot::new(vec![root]));
    pcs.absorb_commitment(&com, &mut t);
    let claims = verify_zk_graph(&layout, graph, inputs, &mut t)?;
    let (batch, weights) = split_claims(&layout, true, &claims)?;
    pcs.verify(&com, &batch, &mut t)?;
    let weight_claims = weights
        .into_iter()
        .map(|(tensor, c)| {
            let weight = index[tensor.0].ok_or_else(|| ProofSystemError::Rejected(format!("a weight claim on tensor {}, which is not a key weight", tensor.0)))?;
            Ok(WeightClaim { weight, point: c.point, value: c.value })
        })
        .collect::<Result<Vec<_>, ProofSystemError>>()?;
    verify_weight_claims_on(hk, key_weights, ticket, &weight_claims, &mut t)?;
    t.finish()?;
    Ok(())
}

/// The statement's public graph inputs in `graph.inputs` order — `tokens` (prompt ‖ completion
/// without its last token), `positions` (`0..T`), `out_rows` (the predicted positions: the last
/// prompt position and every input completion position) — and `next_token` (the completion), as
/// the public verifier derives them; refused (naming it) if the graph has another input.
/// Both sides call it: the prover proves exactly what the verifier checks.
pub fn statement_inputs(graph: &Graph, prompt: &[u32], completion: &[u32]) -> Result<(Vec<Vec<i64>>, Vec<i64>), ProofSystemError> {
    if prompt.is_empty() || completion.is_empty() {
        return Err(ProofSystemError::Request("a statement needs a prompt and at least one completion token".into()));
    }
    let ids = crate::pass_ids(prompt, completion);
    let tokens: Vec<i64> = ids.iter().map(|&x| i64::from(x)).collect();
    let positions: Vec<i64> = (0..ids.len() as i64).collect();
    let out_rows: Vec<i64> = ((prompt.len() - 1) as i64..ids.len() as i64).collect();
    let next: Vec<i64> = completion.iter().map(|&x| i64::from(x)).collect();
    // The kinds, bounds and causality of the statement's tensors (review 15), as the public verifier.
    crate::statement_public(graph, &tokens, &positions, &out_rows, &next)?;
    let inputs = graph
        .inputs
        .iter()
        .map(|&id| match graph.meta(id).name.as_str() {
            "tokens" => Ok(tokens.clone()),
            "positions" => Ok(positions.clone()),
            "out_rows" => Ok(out_rows.clone()),
            other => Err(ProofSystemError::Rejected(format!("the key's graph has an input {other} that is not part of the statement"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((inputs, next))
}

/// Verifies a zk proof: the header against the key ([`ZkProofFile::check_header`]), the key's
/// hiding setup proof ([`crate::zk_setup_proof::verify_zk_setup`]: a key without a valid one is
/// refused), the
/// completion's ids and the stopping rule (as the public verifier), the key's graph instantiated
/// at the proof's length with the statement's public tensors ([`statement_inputs`]: kinds,
/// bounds, causality), then the hiding graph proof with its weights on the proof's ticket
/// ([`verify_zk_graph_on_ticket`], under [`domain_separator`]: mode, architecture, key digest,
/// ticket, request, prompt and completion ids, then the graph's public inputs).
pub fn verify_zk(vk: &ZkVerifyingKey, proof: &ZkProofFile) -> Result<Verified, ProofSystemError> {
    proof.check_header(vk)?;
    // The key's own setup proof first (its weights zero on their padding): a key without a valid
    // one is refused, whatever the proof.
    crate::zk_setup_proof::verify_zk_setup(vk)?;
    let public = &vk.public;
    let (prompt, completion) = (&proof.prompt_ids, &proof.completion_ids);
    if let Some(id) = completion.iter().find(|&&id| id as usize >= public.vocab.len()) {
        return Err(ProofSystemError::Rejected(format!("token id {id} is outside the vocabulary")));
    }
    let stub = crate::ProofFile {
        model_commitment: proof.model_commitment,
        max_new_tokens: proof.max_new_tokens,
        prompt_ids: prompt.clone(),
        completion_ids: completion.clone(),
        transcript: Vec::new(),
    };
    let stopped_at_eog = crate::check_stopping_rule(public, &stub)?;
    let ids = crate::pass_ids(prompt, completion);
    let graph = public.graph(ids.len(), completion.len())?;
    let (inputs, next) = statement_inputs(&graph, prompt, completion)?;
    let outputs = statement_outputs(&graph, &next)?;
    let ds = domain_separator(vk, proof)?;
    verify_zk_graph_on_ticket(&vk.weights, &public.weights, proof.ticket as usize, &graph, &inputs, &outputs, &ds, &proof.transcript)?;
    let shown = &completion[..completion.len() - usize::from(stopped_at_eog)];
    Ok(Verified {
        architecture: public.architecture.clone(),
        model_commitment: hex::encode(proof.model_commitment),
        max_new_tokens: proof.max_new_tokens,
        stopped_at_eog,
        prompt_ids: prompt.clone(),
        completion_ids: completion.clone(),
        text: public.detokenize(shown).unwrap_or_default(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    fn sample() -> ZkProofFile {
        ZkProofFile {
            model_commitment: [7; 32],
            ticket: 3,
            max_new_tokens: 2,
            prompt_ids: vec![1, 2, 3],
            completion_ids: vec![4, 5],
            transcript: vec![0xab; 100],
        }
    }

    #[test]
    fn round_trip_truncations_and_kinds() {
        let p = sample();
        let b = p.to_bytes();
        assert!(is_zk_proof(&b));
        assert_eq!(ZkProofFile::from_bytes(&b).unwrap(), p);
        for n in 0..b.len() {
            assert!(ZkProofFile::from_bytes(&b[..n]).is_err(), "prefix {n}");
        }
        let mut long = b.clone();
        long.push(0);
        assert!(ZkProofFile::from_bytes(&long).is_err());
        // The kinds do not mix: a zk proof is not a public proof and vice versa.
        assert!(crate::ProofFile::from_bytes(&b).is_err());
        let public = crate::ProofFile {
            model_commitment: p.model_commitment,
            max_new_tokens: p.max_new_tokens,
            prompt_ids: p.prompt_ids.clone(),
            completion_ids: p.completion_ids.clone(),
            transcript: p.transcript.clone(),
        }
        .to_bytes();
        assert!(!is_zk_proof(&public));
        assert!(ZkProofFile::from_bytes(&public).is_err());
    }

    #[test]
    fn the_setup_ticket_is_refused_by_the_decoder() {
        let p = ZkProofFile { ticket: SETUP_TICKET, ..sample() };
        assert!(matches!(ZkProofFile::from_bytes(&p.to_bytes()), Err(DecodeError::Invalid { what: "ticket", .. })));
        let p = ZkProofFile { ticket: FIRST_PROOF_TICKET, ..sample() };
        assert!(ZkProofFile::from_bytes(&p.to_bytes()).is_ok());
    }
}
