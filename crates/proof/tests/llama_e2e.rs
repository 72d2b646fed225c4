//! End-to-end on the tiny Llama fixtures (`testdata/llama`: F16 untied head, Q8_0 tied head):
//! setup, prove and verify greedy generation with real commitments, the stopping rule at an
//! end-of-generation token, and the Llama counterpart of every GPT-2 attack of `e2e.rs` and
//! `review_attacks.rs`.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{
    ProofFile, ProofSystemError, ProvingKey, VerifyingKey, Vocabulary, WeightCommitment, prove, prove_consuming, setup,
    verify, vocab_bytes, vocabulary,
};
use zkinfer_tokenizer::Tokenizer;

use crate::common;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama").join(name)
}

const F16: &str = "llama-tiny-random.gguf";
const Q8: &str = "llama-tiny-random-q8_0.gguf";
const N: usize = 4;

struct Fixture {
    model: Model,
    tok: Tokenizer,
    pk: ProvingKey,
    prompt: Vec<u32>,
    proof: ProofFile,
}

fn load(name: &str) -> (Model, Tokenizer, [u8; 32]) {
    let gguf = GgufFile::open(testdata(name)).expect("tiny llama");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).expect("hex").try_into().expect("32 bytes");
    (model, tok, sha)
}

fn load_with_key(name: &str) -> (Model, Tokenizer, ProvingKey) {
    let (model, tok, sha) = load(name);
    let pk = setup(&model, vocabulary(&tok, &model), sha).expect("setup");
    (model, tok, pk)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (model, tok, pk) = load_with_key(F16);
        let prompt = tok.encode("The quick brown fox");
        let (proof, _) = prove(&model, &pk, &prompt, N, |_| {}).expect("prove");
        Fixture { model, tok, pk, prompt, proof }
    })
}

#[test]
fn honest_proofs_verify_on_both_fixtures() {
    let f = fixture();
    let v = verify(&f.pk.vk, &f.proof).expect("honest proof must verify");
    assert_eq!(v.architecture, "llama");
    assert_eq!(f.pk.vk.architecture, "llama");
    assert_eq!(v.prompt_ids, f.prompt);
    assert_eq!(v.completion_ids, f.model.generate_int_until(&f.prompt, N, f.tok.eog_ids(), |_| {}).unwrap());
    assert_eq!(v.max_new_tokens as usize, N);
    assert!(!v.stopped_at_eog && v.completion_ids.len() == N);
    assert_eq!(v.text, f.tok.decode(&v.completion_ids).unwrap(), "the key's vocabulary detokenises like the tokenizer");
    // The key carries the tokenizer's end-of-generation set and every token's bytes.
    assert_eq!(f.pk.vk.eog_ids, f.tok.eog_ids());
    assert!(!f.pk.vk.eog_ids.is_empty());
    assert_eq!(f.pk.vk.vocab, vocab_bytes(&f.tok));
    // Through the file formats; the decoded key (graph and tables rebuilt) verifies too.
    let decoded = ProofFile::from_bytes(&f.proof.to_bytes()).unwrap();
    let vk = VerifyingKey::from_bytes(&f.pk.vk.to_bytes()).unwrap();
    assert_eq!(vk, f.pk.vk);
    verify(&vk, &decoded).expect("decoded proof verifies against the decoded key");

    // The tied Q8_0 fixture, through the low-memory path (weights recommitted after the witness
    // opening), with the key made by setup's other entry point.
    let (model, tok, sha) = load(Q8);
    assert!(model.config().tied_output);
    let (vk, setup_proof) = zkinfer_proof::setup_with_proof(&model, vocabulary(&tok, &model), sha).unwrap();
    zkinfer_proof::verify_setup(&vk, &setup_proof).expect("setup proof of the tied fixture");
    let prompt = tok.encode("Once upon a time");
    let (proof, t) = prove_consuming(&model, &vk, WeightCommitment::Recommit, &prompt, 3, |_| {}).unwrap();
    assert!(t.weight_commit_s > 0.0);
    let v = verify(&vk, &proof).expect("tied fixture verifies");
    assert_eq!(v.completion_ids, model.generate_int_until(&prompt, 3, tok.eog_ids(), |_| {}).unwrap());
}

/// A key whose end-of-generation set is `{stop}` (otherwise the fixture's key).
fn key_stopping_at(stop: u32) -> ProvingKey {
    let f = fixture();
    let (model, tok, sha) = load(F16);
    let _ = model;
    let pk = setup(&f.model, Vocabulary { tokens: vocab_bytes(&tok), eog: vec![stop] }, sha).unwrap();
    assert_eq!(pk.vk.eog_ids, vec![stop]);
    pk
}

/// Generation stops at an end-of-generation token; the proof shows it, the verifier reports it
/// and leaves the token out of the text. The random fixture never emits its real EOG tokens, so
/// the key declares the third generated token as the one to stop at.
#[test]
fn generation_stops_at_an_end_of_generation_token_and_the_proof_covers_it() {
    let f = fixture();
    let free = f.model.generate_int_until(&f.prompt, 6, &[], |_| {}).unwrap();
    let stop = free[2];
    assert!(!free[..2].contains(&stop), "pick a fixture prompt whose first tokens differ: {free:?}");
    let pk = key_stopping_at(stop);
    let (proof, _) = prove(&f.model, &pk, &f.prompt, 6, |_| {}).unwrap();
    assert_eq!(proof.completion_ids, free[..3]);
    assert_eq!(proof.max_new_tokens, 6);
    let v = verify(&pk.vk, &proof).expect("early stop verifies");
    assert!(v.stopped_at_eog);
    assert_eq!(v.text, f.tok.decode(&free[..2]).unwrap(), "the stop token is not part of the text");

    // Claiming a larger budget than the one that was proven: the rule sees a stop short of it
    // without an end-of-generation token (checked before any transcript work).
    let mut p = f.proof.clone();
    p.max_new_tokens += 1;
    let e = verify(&f.pk.vk, &p).unwrap_err().to_string();
    assert!(e.contains("without an end-of-generation token"), "{e}");
    // A completion longer than the budget.
    let mut p = f.proof.clone();
    p.max_new_tokens -= 1;
    let e = verify(&f.pk.vk, &p).unwrap_err().to_string();
    assert!(e.contains("at most"), "{e}");
    // A budget that does not fit the context.
    let mut p = f.proof.clone();
    p.max_new_tokens = u32::MAX;
    assert!(verify(&f.pk.vk, &p).is_err());
    // An end-of-generation token before the last completion token: a key stopping at the honest
    // completion's first token cannot accept the honest (longer) completion.
    let pk0 = key_stopping_at(f.proof.completion_ids[0]);
    let mut p = f.proof.clone();
    p.model_commitment = pk0.vk.digest();
    let e = verify(&pk0.vk, &p).unwrap_err().to_string();
    assert!(e.contains("ends generation, but the completion goes on"), "{e}");
    // The early-stop proof against a key without that stop token: the rule rejects it.
    let mut p = proof.clone();
    p.model_commitment = f.pk.vk.digest();
    let e = verify(&f.pk.vk, &p).unwrap_err().to_string();
    assert!(e.contains("without an end-of-generation token"), "{e}");
    // The statement binds the budget: with the rule satisfied (budget = length, the last token
    // then need not stop), the transcript no longer matches.
    let mut p = proof.clone();
    p.max_new_tokens = 3;
    assert!(verify(&pk.vk, &p).is_err(), "changed budget accepted");
}

#[test]
fn changed_completion_or_prompt_id_is_rejected() {
    let f = fixture();
    let v = f.pk.vk.vocab.len() as u32;
    for i in 0..f.proof.completion_ids.len() {
        let mut p = f.proof.clone();
        p.completion_ids[i] = (p.completion_ids[i] + 1) % v;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed completion id {i} accepted");
    }
    for i in 0..f.proof.prompt_ids.len() {
        let mut p = f.proof.clone();
        p.prompt_ids[i] = (p.prompt_ids[i] + 1) % v;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed prompt id {i} accepted");
    }
    let mut p = f.proof.clone();
    p.completion_ids.pop();
    assert!(verify(&f.pk.vk, &p).is_err(), "dropped completion token accepted");
    let mut p = f.proof.clone();
    p.completion_ids.push(f.proof.completion_ids[0]);
    assert!(verify(&f.pk.vk, &p).is_err(), "appended completion token accepted");
}

#[test]
fn flipped_and_truncated_proof_bytes_are_rejected() {
    let f = fixture();
    let bytes = f.proof.to_bytes();
    let n = bytes.len();
    for k in 0..48 {
        let i = k * (n - 1) / 47;
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let ok = ProofFile::from_bytes(&b).ok().map(|p| verify(&f.pk.vk, &p).is_ok()).unwrap_or(false);
        assert!(!ok, "flipped byte {i} of {n} accepted");
    }
    for cut in [0, 1, 8, 12, 44, 48, n / 2, n - 1] {
        assert!(ProofFile::from_bytes(&bytes[..cut]).is_err(), "truncation to {cut} accepted");
    }
    let mut p = f.proof.clone();
    p.transcript.truncate(p.transcript.len() - 1);
    assert!(verify(&f.pk.vk, &p).is_err());
    let mut p = f.proof.clone();
    p.transcript.push(0);
    assert!(verify(&f.pk.vk, &p).is_err(), "trailing transcript byte accepted");
}

#[test]
fn another_models_key_and_another_architectures_key_are_rejected() {
    let f = fixture();
    let (_, _, other) = load_with_key(Q8);
    assert_ne!(other.vk.digest(), f.pk.vk.digest());
    assert!(matches!(verify(&other.vk, &f.proof), Err(ProofSystemError::WrongModel { .. })));
    let mut p = f.proof.clone();
    p.model_commitment = other.vk.digest();
    assert!(verify(&other.vk, &p).is_err(), "proof relabelled for the other model accepted");
    // The same key under another architecture's name is another model (the name is in the
    // digest and in the transcript).
    let mut renamed = f.pk.vk.clone();
    renamed.architecture = "gpt2".into();
    let mut p = f.proof.clone();
    p.model_commitment = renamed.digest();
    assert!(verify(&renamed, &p).is_err(), "architecture renamed in the key accepted");
    // A GPT-2 key cannot prove with a Llama model.
    let gguf = GgufFile::open(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf")).unwrap();
    let gpt2 = zkinfer_model::Model::load(&gguf).unwrap();
    let gpk = setup(&gpt2, vocab_bytes(&Tokenizer::from_gguf(&gguf).unwrap()), [0; 32]).unwrap();
    assert_eq!(gpk.vk.architecture, "gpt2");
    let e = prove(&f.model, &gpk, &[1, 2], 2, |_| {}).unwrap_err();
    assert!(matches!(e, ProofSystemError::Request(_)), "{e}");
}

/// For each op kind of the Llama graph (RmsNorm, Rope, RepeatKv, Silu, Mul and the shared ops),
/// a consistent lie at that op's output with everything downstream re-derived: verification of
/// the real proof (real commitments and openings) must fail.
#[test]
fn tampering_with_any_op_output_is_caught() {
    let f = fixture();
    let graph = f.model.graph(f.prompt.len() + N - 1).unwrap();
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for node in &graph.nodes {
        let kind = node.op.as_int_op().name().to_string();
        if !kinds.iter().any(|(k, _)| *k == kind) {
            kinds.push((kind, node.output.0));
        }
    }
    let names: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
    for want in ["RmsNorm", "Rope", "RepeatKv", "Silu", "Mul"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for (kind, tensor) in kinds {
        let mut propagated = true;
        let proof = prove_tampered(&f.model, &f.pk, &f.prompt, N, |graph, trace| {
            propagated = common::perturb_and_propagate(graph, trace, f.model.weights(), tensor);
        })
        .unwrap_or_else(|e| panic!("{kind}: the malicious prover must produce a proof: {e}"));
        assert!(propagated, "could not build the tampered trace for {kind}");
        let err = verify(&f.pk.vk, &proof).expect_err(&format!("tampered {kind} output accepted by the verifier"));
        eprintln!("{kind}: the verifier rejects: {err}");
    }
}

/// Proving with other weights than the committed ones fails verification (the two fixtures
/// share a shape up to the head: quantise the Q8_0 fixture untied by loading it into the F16
/// key is not possible, so use a scaled copy of the F16 fixture's weights).
#[test]
fn proving_with_uncommitted_weights_is_caught() {
    let f = fixture();
    let gguf = GgufFile::open(testdata(F16)).unwrap();
    let scaled = zkinfer_model::ScaledTensor { inner: &gguf, name: "blk.0.ffn_up.weight".into(), factor: 1.5 };
    let other = Model::from_source(&scaled, zkinfer_model::QuantConfig::default()).unwrap();
    assert_eq!(other.graph_template().unwrap(), f.model.graph_template().unwrap(), "same graph, other weights");
    let (proof, _) = prove(&other, &f.pk, &f.prompt, N, |_| {}).expect("the prover does not check weights");
    assert!(verify(&f.pk.vk, &proof).is_err(), "proof over uncommitted weights accepted");
    let e = prove_consuming(&other, &f.pk.vk, WeightCommitment::Recommit, &f.prompt, N, |_| {}).unwrap_err();
    assert!(e.to_string().contains("do not match"), "{e}");
}

/// Hostile keys: the end-of-generation list unsorted, duplicated or outside the vocabulary, and
/// the graph's RoPE and SiLU descriptors changed, are refused or make every proof fail.
#[test]
fn hostile_key_fields_are_refused() {
    use zkinfer_model::Op;
    let f = fixture();
    let vk = &f.pk.vk;
    let n_vocab = vk.vocab.len() as u32;
    for eog in [vec![5, 3], vec![3, 3], vec![n_vocab], vec![u32::MAX]] {
        let mut bad = vk.clone();
        bad.eog_ids = eog.clone();
        let e = VerifyingKey::from_bytes(&bad.to_bytes()).unwrap_err().to_string();
        assert!(e.contains("end-of-generation"), "{eog:?}: {e}");
    }
    // A huge count in the end-of-generation list: refused before allocating.
    let mut b = vk.to_bytes();
    let at = b.len() - 4 * (vk.eog_ids.len() + 1);
    b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(VerifyingKey::from_bytes(&b).is_err());
    // Truncations anywhere in the key.
    let bytes = vk.to_bytes();
    for k in 0..64 {
        let cut = k * (bytes.len() - 1) / 63;
        assert!(VerifyingKey::from_bytes(&bytes[..cut]).is_err(), "key truncated to {cut} accepted");
    }
    // Another RoPE base or SiLU scale in the key's graph: a valid key of another model, under
    // which the honest proof fails.
    for which in ["rope", "silu"] {
        let mut bad = vk.clone();
        let mut changed = false;
        for node in &mut bad.graph.nodes {
            match (&mut node.op, which) {
                (Op::Rope(r), "rope") => {
                    *r = zkinfer_model::ops::rope::Rope::new(r.n_rot, r.base * 2.0, r.frac, r.n_ctx).unwrap();
                    changed = true;
                }
                (Op::Silu(s), "silu") => {
                    *s = zkinfer_model::ops::silu::Silu::new(s.in_frac, s.out_frac + 1, s.in_bits);
                    changed = true;
                }
                _ => {}
            }
        }
        assert!(changed);
        let Ok(bad) = VerifyingKey::from_bytes(&bad.to_bytes()) else { continue };
        let mut p = f.proof.clone();
        p.model_commitment = bad.digest();
        assert!(verify(&bad, &p).is_err(), "proof accepted under a key with another {which} table");
    }
}

/// Hostile statement shapes (`review_attacks.rs`'s): empty prompt or completion, ids outside the
/// vocabulary, wrong prediction count, over-long pass: errors, not panics.
#[test]
fn hostile_statement_shapes_are_errors() {
    let f = fixture();
    let vk = &f.pk.vk;
    let n_vocab = vk.vocab.len() as u32;
    let mut cases: Vec<ProofFile> = Vec::new();
    let mut p = f.proof.clone();
    p.prompt_ids.clear();
    cases.push(p);
    let mut p = f.proof.clone();
    p.completion_ids.clear();
    cases.push(p);
    let mut p = f.proof.clone();
    p.completion_ids[0] = n_vocab;
    cases.push(p);
    let mut p = f.proof.clone();
    p.prompt_ids[0] = u32::MAX;
    cases.push(p);
    let mut p = f.proof.clone();
    p.max_new_tokens = 0;
    cases.push(p);
    let mut p = f.proof.clone();
    p.prompt_ids = vec![1; vk.max_positions() + 1];
    cases.push(p);
    for (i, p) in cases.iter().enumerate() {
        assert!(verify(vk, p).is_err(), "hostile statement {i} accepted");
        let decoded = ProofFile::from_bytes(&p.to_bytes()).unwrap();
        assert!(verify(vk, &decoded).is_err());
    }
}

/// A generation that fills the whole context (prompt + n − 1 = n_ctx) proves and verifies.
#[test]
fn a_full_context_generation_proves() {
    let f = fixture();
    let n_ctx = f.model.config().n_ctx;
    assert_eq!(f.pk.vk.max_positions(), n_ctx);
    let prompt: Vec<u32> = (0..n_ctx as u32 - 1).map(|i| 3 + i % 50).collect();
    let (proof, _) = prove(&f.model, &f.pk, &prompt, 2, |_| {}).unwrap();
    verify(&f.pk.vk, &proof).expect("full-context proof verifies");
    assert!(prove(&f.model, &f.pk, &prompt, 3, |_| {}).is_err(), "one position past the context");
}
