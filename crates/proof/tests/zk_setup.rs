//! Zero-knowledge setup (`zkinfer_proof::zk::setup_zk`, issue 13) on the tiny GPT-2 and tiny
//! Llama fixtures: the zk key carries the public key's graph, shapes and vocabulary and nothing
//! derived from weight values except the hiding weight key; every ticket recommits from the
//! secret to the key's root and takes the key's link values; two setups share no root and no
//! link value; the budget is counted; keys decode strictly and kinds do not mix.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::keys::VerifyingKey;
use zkinfer_proof::zk::{KeyBudget, ZkProvingKey, setup_zk, ticket_data};
use zkinfer_proof::zk_key::{ZkVerifyingKey, is_zk_key, no_commitment};
use zkinfer_proof::{setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn load(name: &str) -> (Model, Vec<Vec<u8>>) {
    let gguf = GgufFile::open(testdata(name)).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    (model, vocab_bytes(&tok))
}

const BUDGET: KeyBudget = KeyBudget { tickets: 3, points_per_ticket: 16 };

fn check_fixture(name: &str) {
    let (model, vocab) = load(name);
    let (vk, mut pk) = setup_zk(&model, vocab.clone(), BUDGET).expect("zk setup");
    // A zk key carries no file hash (review 7), so the public key to compare with has none either.
    let public = setup(&model, vocab.clone(), [0; 32]).expect("public setup").vk;

    // The public part is the public key with the commitment replaced by the marker.
    let mut expected = public.clone();
    expected.commitment = no_commitment(public.commitment.poly_num_vars.clone());
    assert_eq!(vk.public, expected);
    assert_eq!(vk.weights.poly_num_vars, public.commitment.poly_num_vars);
    assert_eq!(vk.weights.tickets.len(), 3);

    // Round trips; kinds do not mix.
    let bytes = vk.to_bytes();
    assert!(is_zk_key(&bytes));
    assert_eq!(ZkVerifyingKey::from_bytes(&bytes).unwrap(), vk);
    assert!(VerifyingKey::from_bytes(&bytes).is_err(), "a zk key decodes as a public key");
    assert!(ZkVerifyingKey::from_bytes(&public.to_bytes()).is_err(), "a public key decodes as a zk key");
    assert!(!is_zk_key(&public.to_bytes()));
    assert_eq!(ZkProvingKey::from_bytes(&pk.to_bytes()).unwrap(), pk);
    assert_eq!(pk.vk_digest, vk.digest());

    // Every ticket recommits to the key's root and its randomised extensions take the key's link
    // values (the link a ticket's opening proves); past the budget, refused.
    let points = vk.weights.link_points().unwrap();
    for i in 0..3 {
        assert_eq!(pk.take_ticket(&vk).unwrap(), i);
        let data = ticket_data(&vk, &pk, &model, i).expect("ticket");
        assert_eq!(data.commitment().root, vk.weights.tickets[i]);
        for (k, z) in points.iter().enumerate() {
            assert_eq!(data.evaluate(k, z).unwrap(), vk.weights.link_values[k], "ticket {i}, block {k}");
        }
    }
    assert!(pk.take_ticket(&vk).is_err(), "the budget is spent");
    assert!(ticket_data(&vk, &pk, &model, 3).is_err());

    // Another secret (another setup): different roots and link values, and its proving key does
    // not recommit this key's tickets.
    let (vk2, pk2) = setup_zk(&model, vocab, BUDGET).expect("second zk setup");
    assert_eq!(vk2.public, vk.public);
    assert!(vk2.weights.tickets.iter().all(|r| !vk.weights.tickets.contains(r)));
    assert!(vk2.weights.link_values.iter().all(|v| !vk.weights.link_values.contains(v)));
    assert!(ticket_data(&vk, &pk2, &model, 0).is_err(), "another key's secret");
    let forged = ZkProvingKey { vk_digest: vk.digest(), ..pk2 };
    assert!(ticket_data(&vk, &forged, &model, 0).is_err(), "another secret under this key's digest");
}

#[test]
fn zk_setup_of_the_tiny_gpt2() {
    check_fixture("gpt2-tiny-random.gguf");
}

#[test]
fn zk_setup_of_the_tiny_llama() {
    check_fixture("llama/llama-tiny-random.gguf");
}

/// Malformed keys: truncations, flipped bytes in the hiding key, trailing bytes — errors, never a
/// panic; a public part whose commitment is not the marker is refused.
#[test]
fn zk_keys_decode_strictly() {
    let (model, vocab) = load("gpt2-tiny-random.gguf");
    let (vk, pk) = setup_zk(&model, vocab, KeyBudget { tickets: 1, points_per_ticket: 2 }).expect("zk setup");
    let bytes = vk.to_bytes();
    let step = (bytes.len() / 997).max(1);
    for n in (0..bytes.len()).step_by(step) {
        assert!(ZkVerifyingKey::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(ZkVerifyingKey::from_bytes(&long).is_err());
    // The hiding key starts after magic, version and its length (20 bytes): flip each of its
    // bytes' low bit in turn; the result is an error or a different key, never a panic.
    let hk_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let flips: Vec<usize> = (20..20 + hk_len).step_by((hk_len / 40).max(1)).collect();
    assert!(flips.len() >= 30);
    for i in flips {
        let mut b = bytes.clone();
        b[i] ^= 1;
        if let Ok(k) = ZkVerifyingKey::from_bytes(&b) {
            assert_ne!(k, vk, "byte {i} flipped decodes to the same key");
        }
    }
    let mut bad = vk.clone();
    bad.public.commitment.root = zkinfer_pcs::whir::MerkleRoot::new(vec![[1u8; 32]]);
    assert!(ZkVerifyingKey::from_bytes(&bad.to_bytes()).is_err(), "a commitment in the public part");
    let pkb = pk.to_bytes();
    for n in 0..pkb.len() {
        assert!(ZkProvingKey::from_bytes(&pkb[..n]).is_err());
    }
}
