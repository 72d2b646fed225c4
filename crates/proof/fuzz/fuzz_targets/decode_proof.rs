//! Fuzzes the proof, verifying-key and setup-proof decoders, and the verifiers on every proof
//! that decodes:
//! nothing may panic, whatever the bytes. Run from `crates/proof`:
//! `cargo +nightly fuzz run decode_proof -- -max_total_time=600`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use zkinfer_proof::{ProofFile, VerifyingKey};

/// The tiny model's verifying key, made once.
fn vk() -> &'static VerifyingKey {
    static VK: OnceLock<VerifyingKey> = OnceLock::new();
    VK.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../testdata/gpt2-tiny-random.gguf");
        let gguf = zkinfer_gguf::GgufFile::open(path).expect("tiny model");
        let model = zkinfer_model::Model::load(&gguf).expect("model");
        let tok = zkinfer_tokenizer::Tokenizer::from_gguf(&gguf).expect("tokenizer");
        zkinfer_proof::setup(&model, zkinfer_proof::vocab_bytes(&tok), [0; 32]).expect("setup").vk
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = VerifyingKey::from_bytes(data);
    if let Ok(mut proof) = ProofFile::from_bytes(data) {
        // Aim the proof at the real key so the verifier runs past the commitment check.
        proof.model_commitment = vk().digest();
        let _ = zkinfer_proof::verify(vk(), &proof);
    }
    if let Ok(mut setup_proof) = zkinfer_proof::SetupProof::from_bytes(data) {
        setup_proof.model_commitment = vk().digest();
        let _ = zkinfer_proof::verify_setup(vk(), &setup_proof);
    }
});
