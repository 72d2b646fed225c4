//! The tiny GPT-2 end to end in zero knowledge (issue 13; `prove --zk`'s library path):
//! `setup_zk` → `prove_zk` → `verify_zk` on the real model (a 2-token prompt and 17 new tokens,
//! T = 18: every zk LayerNorm needs ≥ 17 rows, and the output norm has one row per new token). One fixture (`OnceLock`): a key of two proof
//! tickets, two proofs of one statement on tickets 1 and 2, a second key of the same model.
//!
//! Checked: both proofs verify; refused with an error each, beside the honest control: a flipped
//! byte in every header field and at positions spread over the transcript (the batch root at its
//! start, the walk, both openings at its end), another completion id, another prompt, the proof
//! under another zk key (with and without its header moved to that key); the two zk proof files
//! share no 16-byte window outside the header, while two public-mode proofs of the same
//! statement share most of theirs (the control: the check can fail).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::zk::{KeyBudget, prove_zk, setup_zk};
use zkinfer_verifier::zk_key::ZkVerifyingKey;
use zkinfer_verifier::zk_proof::{ZkProofFile, verify_zk};

const N: usize = 17;

fn prompt() -> Vec<u32> {
    vec![15496, 995]
}

struct Fixture {
    model: Model,
    vk: ZkVerifyingKey,
    vk2: ZkVerifyingKey,
    a: ZkProofFile,
    b: ZkProofFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
        let gguf = GgufFile::open(path).unwrap();
        let model = Model::load(&gguf).unwrap();
        let vocab = zkinfer_proof::vocab_bytes(&zkinfer_tokenizer::Tokenizer::from_gguf(&gguf).unwrap());
        let start = std::time::Instant::now();
        let (vk, pk) = setup_zk(&model, vocab.clone(), KeyBudget { tickets: 2, ..Default::default() }).expect("setup --zk");
        let (vk2, _) = setup_zk(&model, vocab, KeyBudget { tickets: 1, ..Default::default() }).expect("a second key");
        let dir = tempfile::tempdir().unwrap();
        let pk_path = dir.path().join("pk.bin");
        std::fs::write(&pk_path, pk.to_bytes()).unwrap();
        let (a, lease, _) = prove_zk(&model, &vk, &pk_path, &prompt(), N, |_| {}).expect("prove --zk on the tiny GPT-2");
        drop(lease);
        let (b, lease, _) = prove_zk(&model, &vk, &pk_path, &prompt(), N, |_| {}).expect("a second proof of the same statement");
        drop(lease);
        eprintln!("tiny GPT-2 zk: two keys and two proofs ({} and {} bytes) in {:.1} s", a.to_bytes().len(), b.to_bytes().len(), start.elapsed().as_secs_f64());
        Fixture { model, vk, vk2, a, b }
    })
}

/// `verify_zk` of the file's bytes (a byte edit may already fail to decode).
fn verify_bytes(vk: &ZkVerifyingKey, bytes: &[u8]) -> Result<(), String> {
    let file = ZkProofFile::from_bytes(bytes).map_err(|e| e.to_string())?;
    verify_zk(vk, &file).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn the_tiny_gpt2_proves_and_verifies_in_zero_knowledge_and_tampers_are_refused() {
    let f = fixture();
    let v = verify_zk(&f.vk, &f.a).expect("an honest zk proof verifies");
    assert_eq!(v.completion_ids, f.a.completion_ids);
    assert_eq!(v.prompt_ids, prompt());
    verify_zk(&f.vk, &f.b).expect("the second proof verifies");
    assert_eq!(f.b.ticket, f.a.ticket + 1, "the second proof took the next ticket");
    assert_eq!(f.a.completion_ids, f.b.completion_ids);

    // A flipped byte in each header field (model commitment, ticket, max_new_tokens, a prompt
    // id, a completion id) and across the transcript.
    let bytes = f.a.to_bytes();
    let header = bytes.len() - f.a.transcript.len();
    verify_bytes(&f.vk, &bytes).expect("control: the unedited bytes verify");
    let tl = f.a.transcript.len();
    let mut positions: Vec<usize> = (0..header).step_by(5).collect();
    positions.extend([0, 17, tl / 10, tl / 4, tl / 2, 3 * tl / 4, tl - 200, tl - 1].iter().map(|&p| header + p));
    for &pos in &positions {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x10;
        let e = verify_bytes(&f.vk, &bad).expect_err(&format!("a flipped byte at {pos} (header {header})"));
        assert!(!e.is_empty());
    }
    // Another completion id, another prompt.
    let mut other = f.a.clone();
    other.completion_ids[0] = (other.completion_ids[0] + 1) % 1000;
    let e = verify_zk(&f.vk, &other).expect_err("another completion").to_string();
    eprintln!("another completion: {e}");
    let mut other = f.a.clone();
    other.prompt_ids[1] += 1;
    let e = verify_zk(&f.vk, &other).expect_err("another prompt").to_string();
    eprintln!("another prompt: {e}");
    // The proof under another zk key of the same model: its header names the first key; with the
    // header moved to the second key the transcript is still the first key's.
    let e = verify_zk(&f.vk2, &f.a).expect_err("another key").to_string();
    eprintln!("another key: {e}");
    let mut moved = f.a.clone();
    moved.model_commitment = f.vk2.digest().unwrap();
    let e = verify_zk(&f.vk2, &moved).expect_err("another key, header moved").to_string();
    eprintln!("another key, header moved: {e}");
    let _ = &f.model;
}

fn framing(w: &[u8]) -> bool {
    w.iter().filter(|&&x| x == 0).count() >= 10
}

fn body_windows(bytes: &[u8], header: usize) -> HashSet<&[u8]> {
    bytes.windows(16).enumerate().filter(|&(i, w)| i + 16 > header && !framing(w)).map(|(_, w)| w).collect()
}

/// The first bar at the file level: two zk proof files of one statement share no 16-byte
/// window outside the header (framing runs of zeros aside), while two public-mode proof files of
/// the same statement share most of theirs.
#[test]
fn two_zk_proof_files_share_no_window_and_two_public_ones_share_most() {
    let f = fixture();
    let (a, b) = (f.a.to_bytes(), f.b.to_bytes());
    let (ha, hb) = (a.len() - f.a.transcript.len(), b.len() - f.b.transcript.len());
    assert_eq!(ha, hb);
    let (wa, wb) = (body_windows(&a, ha), body_windows(&b, hb));
    assert!(wa.len() > 100_000, "{} windows", wa.len());
    let shared = wa.intersection(&wb).count();
    assert_eq!(shared, 0, "two zk proof files share {shared} 16-byte windows outside the header");
    // Control: two public-mode proofs of the same statement (deterministic prover).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
    let gguf = GgufFile::open(path).unwrap();
    let pk = zkinfer_proof::setup(&f.model, zkinfer_proof::vocab_bytes(&zkinfer_tokenizer::Tokenizer::from_gguf(&gguf).unwrap()), [0; 32]).unwrap();
    let (p1, _) = zkinfer_proof::prove(&f.model, &pk, &prompt(), N, |_| {}).unwrap();
    let (p2, _) = zkinfer_proof::prove(&f.model, &pk, &prompt(), N, |_| {}).unwrap();
    let (p1, p2) = (p1.to_bytes(), p2.to_bytes());
    let (w1, w2) = (body_windows(&p1, 0), body_windows(&p2, 0));
    let shared = w1.intersection(&w2).count();
    assert!(shared * 10 >= w1.len() * 9, "two public proofs share {shared} of {} windows", w1.len());
    eprintln!("zk: 0 of {} windows shared; public: {shared} of {} shared", wa.len(), w1.len());
}
