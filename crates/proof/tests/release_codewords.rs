//! The one-pass prover with the witness codewords released through the graph proof
//! (`zkinfer_pcs::WhirPcs::commit_owned_releasing`, chosen by
//! `zkinfer_proof::memory::one_pass_releases_codewords` for a witness over the memory budget)
//! gives the same proof, byte for byte, as with them held; the proof verifies.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::testing::prove_releasing;
use zkinfer_proof::{setup, verify, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

#[test]
fn released_witness_codewords_give_the_same_proof_bytes() {
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let pk = setup(&model, vocab_bytes(&tok), sha).unwrap();
    let prompt = tok.encode("The quick brown fox");
    let held = prove_releasing(&model, &pk, &prompt, 3, false).unwrap();
    let released = prove_releasing(&model, &pk, &prompt, 3, true).unwrap();
    assert_eq!(held.to_bytes(), released.to_bytes(), "releasing the codewords changed the proof");
    let v = verify(&pk.vk, &released).unwrap();
    assert_eq!(v.completion_ids, model.generate_int(&prompt, 3, |_| {}).unwrap());
    // The tiny model is far below the budget: the policy holds the codewords there.
    let graph = pk.vk.graph(prompt.len() + 2, 3).unwrap();
    assert!(!zkinfer_proof::memory::one_pass_releases_codewords(&pk.vk, &graph));
}
