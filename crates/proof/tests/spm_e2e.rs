//! Prove → verify on a tiny Llama with a real SentencePiece vocabulary (`testdata/spm/spm-tiny.gguf`:
//! Mistral 7B v0.1's `tokenizer.model`, `tokenizer.ggml.model = "llama"`): the prompt gets BOS and
//! the space prefix as llama.cpp gives them, the key's vocabulary detokenises SentencePiece pieces
//! (`▁` as a space, `<0xNN>` as the byte) exactly as the tokenizer does, and the verified text is
//! what `generate` prints.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProofFile, VerifyingKey, prove, setup, verify, vocab_bytes, vocabulary};
use zkinfer_tokenizer::{EncodeOptions, Tokenizer};

#[test]
fn sentencepiece_model_proves_verifies_and_detokenises() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/spm/spm-tiny.gguf");
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    assert!(tok.is_sentencepiece());
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let pk = setup(&model, vocabulary(&tok, &model), sha).unwrap();
    // The key's vocabulary is the tokenizer's bytes: byte tokens are their byte, ▁ a space.
    assert_eq!(pk.vk.vocab, vocab_bytes(&tok));
    assert_eq!(pk.vk.vocab[3 + 0x41], b"A");
    assert_eq!(pk.vk.eog_ids, vec![2]);
    let from_key = |ids: &[u32]| ids.iter().flat_map(|&i| pk.vk.vocab[i as usize].clone()).collect::<Vec<u8>>();
    for text in ["Hello world", "llama 🦙 über  two spaces", "日本語"] {
        let ids = tok.encode(text);
        assert_eq!(from_key(&ids), format!(" {text}").into_bytes(), "{text:?}");
    }

    let prompt = tok.encode_with("Once upon a time", EncodeOptions { add_special: true, parse_special: false });
    assert_eq!(prompt[0], 1, "BOS first");
    let n = 6;
    let (proof, _) = prove(&model, &pk, &prompt, n, |_| {}).unwrap();
    let v = verify(&pk.vk, &proof).expect("honest proof verifies");
    let generated = model.generate_int_until(&prompt, n, tok.eog_ids(), |_| {}).unwrap();
    assert_eq!(v.completion_ids, generated);
    assert_eq!(v.text, tok.decode(&generated).unwrap(), "the verifier prints what generate prints");
    assert_eq!(v.text.as_bytes(), from_key(&generated), "the key's bytes");
    // Through the files.
    let vk = VerifyingKey::from_bytes(&pk.vk.to_bytes()).unwrap();
    verify(&vk, &ProofFile::from_bytes(&proof.to_bytes()).unwrap()).unwrap();
    // A key whose vocabulary maps a generated token to other bytes is another model: refused.
    let mut bad = pk.vk.clone();
    bad.vocab[generated[0] as usize] = b"forged".to_vec();
    let mut p = proof.clone();
    p.model_commitment = bad.digest();
    assert!(verify(&bad, &p).is_err(), "a proof under a key with another vocabulary");
    assert!(verify(&bad, &proof).is_err());
}
