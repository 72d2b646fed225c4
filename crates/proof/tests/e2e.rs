//! End-to-end: setup, prove and verify greedy generation on the tiny GPT-2 shipped in testdata,
//! and the ways a malicious prover or a damaged file must fail.

use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, setup, verify, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

struct Fixture {
    model: Model,
    pk: ProvingKey,
    prompt: Vec<u32>,
    proof: ProofFile,
}

fn load(name: &str) -> (Model, ProvingKey, Tokenizer) {
    let gguf = GgufFile::open(testdata(name)).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).expect("hex").try_into().expect("32 bytes");
    let pk = setup(&model, vocab_bytes(&tok), sha).expect("setup");
    (model, pk, tok)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (model, pk, tok) = load("gpt2-tiny-random.gguf");
        let prompt = tok.encode("The quick brown fox");
        let (proof, _) = prove(&model, &pk, &prompt, 3, |_| {}, |_, _| {}).expect("prove");
        Fixture { model, pk, prompt, proof }
    })
}

#[test]
fn honest_proof_verifies() {
    let f = fixture();
    let v = verify(&f.pk.vk, &f.proof).expect("honest proof must verify");
    assert_eq!(v.prompt_ids, f.prompt);
    assert_eq!(v.completion_ids.len(), 3);
    assert_eq!(v.completion_ids, f.model.generate_int(&f.prompt, 3, |_| {}).unwrap());
    // Through the file format too.
    let decoded = ProofFile::from_bytes(&f.proof.to_bytes()).unwrap();
    verify(&f.pk.vk, &decoded).expect("decoded proof verifies");
    let vk = VerifyingKey::from_bytes(&f.pk.vk.to_bytes()).unwrap();
    assert_eq!(vk, f.pk.vk);
    assert!(f.pk.vk.to_bytes().len() < 1 << 20, "verifying key must be under 1 MB");
}

#[test]
fn changed_completion_or_prompt_id_is_rejected() {
    let f = fixture();
    for i in 0..f.proof.completion_ids.len() {
        let mut p = f.proof.clone();
        p.completion_ids[i] = (p.completion_ids[i] + 1) % 50257;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed completion id {i} accepted");
    }
    for i in 0..f.proof.prompt_ids.len() {
        let mut p = f.proof.clone();
        p.prompt_ids[i] = (p.prompt_ids[i] + 1) % 50257;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed prompt id {i} accepted");
    }
    let mut p = f.proof.clone();
    p.completion_ids.pop();
    assert!(verify(&f.pk.vk, &p).is_err(), "dropped completion token accepted");
}

#[test]
fn flipped_and_truncated_proof_bytes_are_rejected() {
    let f = fixture();
    let bytes = f.proof.to_bytes();
    let n = bytes.len();
    // A spread of positions over the whole file, header to the last byte.
    let positions: Vec<usize> = (0..64).map(|k| k * (n - 1) / 63).collect();
    for &i in &positions {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let ok = ProofFile::from_bytes(&b).ok().map(|p| verify(&f.pk.vk, &p).is_ok()).unwrap_or(false);
        assert!(!ok, "flipped byte {i} of {n} accepted");
    }
    for cut in [0, 1, 8, 12, 44, n / 2, n - 1] {
        assert!(ProofFile::from_bytes(&bytes[..cut]).is_err(), "truncation to {cut} accepted");
    }
    // A truncated transcript inside a well-formed file.
    let mut p = f.proof.clone();
    p.transcript.truncate(p.transcript.len() - 1);
    assert!(verify(&f.pk.vk, &p).is_err());
    let mut p = f.proof.clone();
    p.transcript.push(0);
    assert!(verify(&f.pk.vk, &p).is_err(), "trailing transcript byte accepted");
}

#[test]
fn another_models_key_is_rejected() {
    let f = fixture();
    let (_, other, _) = load("gpt2-tiny-random-q8_0.gguf");
    assert_ne!(other.vk.digest(), f.pk.vk.digest());
    assert!(verify(&other.vk, &f.proof).is_err());
    // Even if the proof claims the other model's commitment.
    let mut p = f.proof.clone();
    p.model_commitment = other.vk.digest();
    assert!(verify(&other.vk, &p).is_err());
}

/// For each op kind of the graph, perturb one element of one of its outputs in the trace before
/// proving: verification must fail.
#[test]
fn tampering_with_any_op_output_is_caught() {
    let f = fixture();
    let graph = f.model.graph(f.prompt.len() + 2).unwrap();
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for node in &graph.nodes {
        let kind = node.op.as_int_op().name().to_string();
        if !kinds.iter().any(|(k, _)| *k == kind) {
            kinds.push((kind, node.output.0));
        }
    }
    assert!(kinds.len() >= 10, "expected every GPT-2 op kind, got {kinds:?}");
    for (kind, tensor) in kinds {
        let result = prove(&f.model, &f.pk, &f.prompt, 3, |_| {}, |_, trace| {
            let t = trace.values[tensor].as_mut().expect("activation");
            let i = t.data.len() / 2;
            t.data[i] += 1;
        });
        match result {
            Err(_) => {} // the prover itself refused (e.g. a witness out of range): nothing to verify
            Ok((proof, _)) => assert!(verify(&f.pk.vk, &proof).is_err(), "tampered {kind} output accepted"),
        }
    }
}
