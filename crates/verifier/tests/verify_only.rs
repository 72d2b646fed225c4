//! A real proof of the tiny GPT-2, checked with this crate alone: the prover crates (dev-dependencies)
//! produce the verifying key, the setup proof and a generation proof, hand them over as bytes,
//! and everything after that uses only `zkinfer-verifier`'s API.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_verifier::{ProofFile, SetupProof, VerifyingKey, verify, verify_setup};

/// The bytes a verifier receives: key, setup proof, proof; and the honest prompt and completion.
struct Handover {
    key: Vec<u8>,
    setup_proof: Vec<u8>,
    proof: Vec<u8>,
    prompt: Vec<u32>,
    completion: Vec<u32>,
}

fn prove_tiny() -> Handover {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
    let gguf = zkinfer_gguf::GgufFile::open(path).unwrap();
    let model = zkinfer_model::Model::load(&gguf).unwrap();
    let tok = zkinfer_tokenizer::Tokenizer::from_gguf(&gguf).unwrap();
    let (vk, setup_proof) = zkinfer_proof::setup_with_proof(&model, zkinfer_proof::vocab_bytes(&tok), [7; 32]).unwrap();
    let prompt = tok.encode("The quick brown fox");
    let weights = zkinfer_proof::WeightCommitment::Recommit;
    let (proof, _) = zkinfer_proof::prove_consuming(&model, &vk, weights, &prompt, 2, |_| {}).unwrap();
    let completion = model.generate_int(&prompt, 2, |_| {}).unwrap();
    Handover { key: vk.to_bytes(), setup_proof: setup_proof.to_bytes(), proof: proof.to_bytes(), prompt, completion }
}

#[test]
fn a_real_proof_verifies_with_the_verifier_crate_alone() {
    let h = prove_tiny();
    let vk = VerifyingKey::from_bytes(&h.key).unwrap();
    verify_setup(&vk, &SetupProof::from_bytes(&h.setup_proof).unwrap()).unwrap();
    let proof = ProofFile::from_bytes(&h.proof).unwrap();
    let v = verify(&vk, &proof).unwrap();
    assert_eq!(v.prompt_ids, h.prompt);
    assert_eq!(v.completion_ids, h.completion, "the statement is the model's greedy completion");
    assert_eq!(v.model_commitment, vk.model_commitment_hex());

    // A changed completion token is refused.
    let mut bad = proof.clone();
    bad.completion_ids[1] = (bad.completion_ids[1] + 1) % vk.vocab.len() as u32;
    assert!(verify(&vk, &bad).is_err());
    // So is a flipped byte anywhere in the middle of the transcript.
    let mut bad = proof.clone();
    let mid = bad.transcript.len() / 2;
    bad.transcript[mid] ^= 1;
    assert!(verify(&vk, &bad).is_err());
    // And a setup proof with a flipped transcript byte.
    let mut setup = SetupProof::from_bytes(&h.setup_proof).unwrap();
    let mid = setup.transcript.len() / 2;
    setup.transcript[mid] ^= 1;
    assert!(verify_setup(&vk, &setup).is_err());
}
