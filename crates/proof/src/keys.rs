//! Setup: quantize and commit the model's weights, producing the proving key. The verifying key
//! itself (its contents, encoding and checks) lives in `zkinfer-verifier` and is re-exported here.

use crate::{ProofSystemError, model_err};
use zkinfer_model::Model;
use zkinfer_field::F;
use zkinfer_pcs::{OpeningAccumulator, PolyId, WhirCommitment, WhirPcs, WhirProverData};
use zkinfer_transcript::ProverTranscript;
pub use zkinfer_verifier::key::*;
use zkinfer_verifier::weight_blocks::WeightBlockPlan;

/// What the prover keeps: the key and the weight commitment's prover data.
#[derive(Debug)]
pub struct ProvingKey {
    /// The verifying key.
    pub vk: VerifyingKey,
    /// Merkle trees and codeword of the weight commitment.
    pub weight_data: WhirProverData,
}

/// Commits every weight of `model`, producing the proving key (with its verifying key).
pub fn setup(
    model: &Model,
    vocab: impl Into<Vocabulary>,
    model_sha256: [u8; 32],
) -> Result<ProvingKey, ProofSystemError> {
    let vocab = vocab.into();
    let eog_ids = vocab.eog_set()?;
    let graph = model.graph_template().map_err(model_err)?;
    let step_graph = model.step_graph_template().map_err(model_err)?;
    let (metas, commitment, weight_data) = commit_weights(model)?;
    let weight_ood = weight_ood_answers(&commitment, &weight_data)?;
    let vk = VerifyingKey {
        model_sha256,
        architecture: model.architecture().name().into(),
        graph,
        step_graph,
        weights: metas,
        commitment,
        weight_ood,
        vocab: vocab.tokens,
        eog_ids,
    };
    Ok(ProvingKey { vk, weight_data })
}

/// The key's out-of-domain answers ([`VerifyingKey::weight_ood`]): each group's packed
/// polynomial at its point [`weight_ood_points`], derived from the fixed commitment (so the key
/// stays a function of the GGUF: `vk-check` recomputes it byte for byte).
pub fn weight_ood_answers(commitment: &WhirCommitment, data: &WhirProverData) -> Result<Vec<zkinfer_field::EF>, ProofSystemError> {
    Ok(pcs().ood_values(data, &weight_ood_points(commitment)?)?)
}

/// Prover of a weight opening (the half of [`VerifyingKey::verify_weight_opening`]): every claim
/// of `acc` on the commitment whose polynomials are `polys`, with the key's out-of-domain claims,
/// one batched opening per group; consumes the prover data.
pub fn prove_weight_opening(
    pcs: &WhirPcs,
    vk: &VerifyingKey,
    data: WhirProverData,
    acc: OpeningAccumulator,
    polys: &[PolyId],
    t: &mut ProverTranscript,
) -> Result<(), ProofSystemError> {
    let ood = vk.weight_ood_samples()?;
    let claims = acc.opening_claims(polys)?;
    pcs.open_sparse_ood(data, &dense_layout(&vk.commitment.poly_num_vars), &claims, &ood, t)?;
    Ok(())
}

/// Commits every weight of `model` (deterministically: the same model gives the same
/// commitment), returning the weights' descriptions, the commitment and its prover data.
pub fn commit_weights(model: &Model) -> Result<(Vec<WeightMeta>, WhirCommitment, WhirProverData), ProofSystemError> {
    let (metas, slices) = weight_slices(model)?;
    let slice_refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let (commitment, weight_data) = pcs().commit_slices(&slice_refs)?;
    Ok((metas, commitment, weight_data))
}

/// The weights' descriptions and the committed slices (every block of every weight, zero-padded,
/// in commitment order).
pub fn weight_slices(model: &Model) -> Result<(Vec<WeightMeta>, Vec<Vec<F>>), ProofSystemError> {
    let metas = model.weights().metas();
    let tensors: Vec<_> = model.weights().iter().map(|(_, t)| t).collect();
    let plan = WeightBlockPlan::for_weights(&metas);
    let mut slices: Vec<Vec<F>> = Vec::new();
    for (w, t) in tensors.iter().enumerate() {
        let blocks = plan.tensor(w).ok_or_else(|| ProofSystemError::Request(format!("weight {w} has no block plan")))?;
        if t.len() != t.shape.iter().product::<usize>() {
            return Err(ProofSystemError::Request(format!("weight {} holds {} values for shape {:?}", metas[w].name, t.len(), t.shape)));
        }
        for b in 0..blocks.blocks().len() {
            slices.push(blocks.block_values(b, &t.values));
        }
    }
    Ok((metas, slices))
}

/// Setup with its setup proof ([`crate::setup_proof`]): the verifying key and the proof that its
/// committed weights respect the declared bounds and zero padding. The weight commitment's
/// prover data is not kept (the setup proof recomputes it for its opening; provers recommit or
/// rerun [`setup`]).
pub fn setup_with_proof(
    model: &Model,
    vocab: impl Into<Vocabulary>,
    model_sha256: [u8; 32],
) -> Result<(VerifyingKey, crate::setup_proof::SetupProof), ProofSystemError> {
    let vocab = vocab.into();
    let eog_ids = vocab.eog_set()?;
    let graph = model.graph_template().map_err(model_err)?;
    let step_graph = model.step_graph_template().map_err(model_err)?;
    let (metas, slices) = weight_slices(model)?;
    let slice_refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let (commitment, weight_data) = pcs().commit_slices(&slice_refs)?;
    drop(slice_refs);
    let weight_ood = weight_ood_answers(&commitment, &weight_data)?;
    drop(weight_data);
    let vk = VerifyingKey {
        model_sha256,
        architecture: model.architecture().name().into(),
        graph,
        step_graph,
        weights: metas,
        commitment,
        weight_ood,
        vocab: vocab.tokens,
        eog_ids,
    };
    let proof = crate::setup_proof::prove_setup(&vk, slices)?;
    Ok((vk, proof))
}
