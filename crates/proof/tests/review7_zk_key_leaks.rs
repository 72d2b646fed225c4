//! review7 (adversarial review of the zk key, issue 13): a zero-knowledge verifying key must hold
//! nothing derived from the weights but the hiding commitment (`docs/SECURITY.md`, "What the key
//! reveals"). `zkinfer setup --zk` used to pass the GGUF file's SHA-256 into the key's public
//! part, so anyone holding a candidate model file could confirm or refute that the hidden model is
//! exactly that file (not simulatable without the weights). `setup_zk` takes no hash now and the
//! key's decoder refuses a non-zero one.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::vocab_bytes;
use zkinfer_proof::zk::{KeyBudget, setup_zk};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

#[test]
fn a_zk_key_does_not_carry_the_model_files_hash() {
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    // What the CLI passes (`proving::load_path`: the GGUF's SHA-256).
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let (vk, _pk) = setup_zk(&model, vocab_bytes(&tok), KeyBudget { tickets: 1, points_per_ticket: 2 }).expect("zk setup");
    let bytes = vk.to_bytes().unwrap();
    // The check can fail: the public key of the same model does carry it.
    let public = zkinfer_proof::setup(&model, vocab_bytes(&tok), sha).expect("public setup").vk.to_bytes();
    assert!(public.windows(32).any(|w| w == sha), "the public key carries the file hash (control)");
    assert!(
        !bytes.windows(32).any(|w| w == sha),
        "the zk verifying key carries the model file's SHA-256 in clear: a dictionary test of the hidden weights"
    );
    // A key whose public part carries a hash is refused by the decoder and by the constructor.
    let mut tampered = vk.clone();
    tampered.public.model_sha256 = sha;
    assert!(zkinfer_verifier::zk_key::ZkVerifyingKey::from_bytes(&tampered.to_bytes().unwrap()).is_err(), "a zk key with a file hash decodes");
    assert!(zkinfer_verifier::zk_key::ZkVerifyingKey::new(tampered.public.clone(), tampered.weights.clone()).is_err());
}
