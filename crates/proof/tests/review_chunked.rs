//! Adversarial review of the chunked proof stream (issue 12): attacks a malicious prover or a
//! hostile stream can mount against `verify_stream`, each shown to be rejected by the check it
//! targets (error text asserted), never by a panic.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::chunked::{StreamSummary, prove_chunked, verify_stream};
use zkinfer_proof::{ProofSystemError, ProvingKey, Verified, WeightCommitment, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn load(file: &str) -> (Model, ProvingKey) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(file);
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    (model, pk)
}

fn prove(model: &Model, pk: &ProvingKey, prompt: &[u32], n: usize, chunk: usize) -> Result<Vec<u8>, ProofSystemError> {
    let mut out = Vec::new();
    let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
    prove_chunked(model, &pk.vk, weights, prompt, n, chunk, &mut out, |_| {})?;
    Ok(out)
}

fn verify(pk: &ProvingKey, bytes: &[u8]) -> Result<(Verified, StreamSummary), ProofSystemError> {
    verify_stream(&pk.vk, &mut &bytes[..])
}

/// A chunk of 17 positions (rows pad to 32: blocks of 16 + 1 rows) commits its witness columns
/// as blocks of their extents, as the single pass does: the honest stream must verify.
#[test]
fn a_chunk_whose_columns_commit_as_blocks_verifies() {
    let (model, pk) = load("gpt2-tiny-random.gguf");
    // First chunk of 17 positions (the key's graph).
    let prompt = [5u32, 17, 3];
    let bytes = prove(&model, &pk, &prompt, 15, 32).unwrap();
    let (v, s) = verify(&pk, &bytes).unwrap();
    assert_eq!((s.chunks, s.positions), (1, 17));
    assert_eq!(v.completion_ids, model.generate_int(&prompt, 15, |_| {}).unwrap());
    // A step chunk of 17 positions after a full one (the step graph at T = 17, P = 32).
    let bytes = prove(&model, &pk, &prompt, 47, 32).unwrap();
    let (v, s) = verify(&pk, &bytes).unwrap();
    assert_eq!((s.chunks, s.positions), (2, 49));
    assert_eq!(v.completion_ids, model.generate_int(&prompt, 47, |_| {}).unwrap());
}
