//! Zero-knowledge setup (`zkinfer_proof::zk::setup_zk`, issue 13) on the tiny GPT-2 and tiny
//! Llama fixtures: the zk key carries the public key's graph, shapes and vocabulary and nothing
//! derived from weight values except the hiding weight key; every ticket recommits from the
//! secret to the key's root and takes the key's link values; two setups share no root and no
//! link value; the budget is counted; keys decode strictly and kinds do not mix.
//!
//! Every test reads the binary's two shared setups of each fixture (`common::zk_keys`, budget
//! `common::ZK_BUDGET`: three proof tickets) and clones the proving key it advances: a setup
//! proves the hiding setup proof on ticket 0, so each setup made once, not once per test.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use zkinfer_proof::keys::VerifyingKey;
use zkinfer_proof::setup;
use zkinfer_proof::zk::{FIRST_PROOF_TICKET, ZkProvingKey, reserve_ticket, ticket_data};
use zkinfer_proof::zk_key::{ZkVerifyingKey, is_zk_key, no_commitment};

use crate::common::{ZK_BUDGET as BUDGET, zk_keys};

const GPT2: &str = "gpt2-tiny-random.gguf";

fn check_fixture(name: &str) {
    let f = zk_keys(name);
    let (model, vocab) = (&f.model, f.vocab.clone());
    let (vk, mut pk) = (f.keys[0].0.clone(), f.keys[0].1.clone());
    // A zk key carries no file hash (review 7), so the public key to compare with has none either.
    let public = setup(model, vocab, [0; 32]).expect("public setup").vk;

    // The public part is the public key with the commitment replaced by the marker.
    let mut expected = public.clone();
    expected.commitment = no_commitment(public.commitment.poly_num_vars.clone());
    expected.weight_ood = Vec::new();
    assert_eq!(vk.public, expected);
    // The hiding key commits one padded polynomial per weight (the zk graph driver's, key v4).
    let per_weight: Vec<usize> = public.weights.iter().map(|w| w.shape.iter().map(|&d| d.next_power_of_two().trailing_zeros() as usize).sum()).collect();
    assert_eq!(vk.weights.poly_num_vars, per_weight);
    assert_eq!(vk.weights.poly_num_vars.len(), public.weights.len());
    // The setup ticket 0 and three proof tickets.
    assert_eq!(BUDGET.tickets, 3);
    assert_eq!(vk.weights.tickets.len(), 4);
    assert_eq!(pk.next_ticket, FIRST_PROOF_TICKET);

    // Round trips; kinds do not mix.
    let bytes = vk.to_bytes().unwrap();
    assert!(is_zk_key(&bytes));
    assert_eq!(ZkVerifyingKey::from_bytes(&bytes).unwrap(), vk);
    assert!(VerifyingKey::from_bytes(&bytes).is_err(), "a zk key decodes as a public key");
    assert!(ZkVerifyingKey::from_bytes(&public.to_bytes()).is_err(), "a public key decodes as a zk key");
    assert!(!is_zk_key(&public.to_bytes()));
    assert_eq!(ZkProvingKey::from_bytes(&pk.to_bytes()).unwrap(), pk);
    assert_eq!(pk.vk_digest, vk.digest().unwrap());

    // Every ticket (the setup ticket too) recommits to the key's root and its randomised
    // extensions take the key's link values (the link a ticket's opening proves); proofs take
    // tickets 1..=3, never 0; past the budget, refused.
    let points = vk.weights.link_points().unwrap();
    for i in 0..4 {
        if i > 0 {
            assert_eq!(pk.take_ticket(&vk).unwrap(), i);
        }
        let data = ticket_data(&vk, &pk, model, i).expect("ticket");
        assert_eq!(data.commitment().root, vk.weights.tickets[i]);
        for (k, z) in points.iter().enumerate() {
            assert_eq!(data.evaluate(k, z).unwrap(), vk.weights.link_values[k], "ticket {i}, weight {k}");
        }
    }
    assert!(pk.take_ticket(&vk).is_err(), "the budget is spent");
    assert!(ticket_data(&vk, &pk, model, 4).is_err());

    // Another secret (another setup): different roots and link values, and its proving key does
    // not recommit this key's tickets.
    let (vk2, pk2) = (f.keys[1].0.clone(), f.keys[1].1.clone());
    assert_eq!(vk2.public, vk.public);
    assert!(vk2.weights.tickets.iter().all(|r| !vk.weights.tickets.contains(r)));
    assert!(vk2.weights.link_values.iter().all(|v| !vk.weights.link_values.contains(v)));
    assert!(ticket_data(&vk, &pk2, model, 0).is_err(), "another key's secret");
    let forged = ZkProvingKey { vk_digest: vk.digest().unwrap(), ..pk2 };
    assert!(ticket_data(&vk, &forged, model, 0).is_err(), "another secret under this key's digest");
}

#[test]
fn zk_setup_of_the_tiny_gpt2() {
    check_fixture(GPT2);
}

#[test]
fn zk_setup_of_the_tiny_llama() {
    check_fixture("llama/llama-tiny-random.gguf");
}

/// Malformed keys: truncations, flipped bytes in the hiding key, trailing bytes — errors, never a
/// panic; a public part whose commitment is not the marker is refused.
///
/// Truncations: 300 prefixes evenly spaced up to the setup proof (the last field: most of the tiny
/// key's bytes since key v6), then every prefix around its length field and 32 inside it. The setup proof
/// is opaque bytes behind a `u64` length, so every cut inside it fails at the same check (that
/// length against the bytes left), after the whole public part decoded (≈ 0.1 s): the cuts at the
/// same step through it took a minute and tested nothing more.
#[test]
fn zk_keys_decode_strictly() {
    let (vk, pk) = &zk_keys(GPT2).keys[0];
    let bytes = vk.to_bytes().unwrap();
    // The setup proof's field: its `u64` length, then its bytes, the key's last bytes.
    let proof_at = bytes.len() - vk.setup_proof.len();
    assert_eq!(bytes[proof_at - 8..proof_at], (vk.setup_proof.len() as u64).to_le_bytes(), "the setup proof is the key's last field");
    let step = ((proof_at - 8) / 300).max(1);
    assert!(vk.setup_proof.len() > 64);
    let inside = (1..32).map(|i| proof_at + i * vk.setup_proof.len() / 32);
    let cuts: Vec<usize> = (0..proof_at - 8).step_by(step).chain(proof_at - 8..=proof_at + 1).chain(inside).chain([bytes.len() - 1]).collect();
    assert!(cuts.len() > 300, "{} cuts", cuts.len());
    for n in cuts {
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
            assert_ne!(&k, vk, "byte {i} flipped decodes to the same key");
        }
    }
    let mut bad = vk.clone();
    bad.public.commitment.root = zkinfer_pcs::whir::MerkleRoot::new(vec![[1u8; 32]]);
    assert!(ZkVerifyingKey::from_bytes(&bad.to_bytes().unwrap()).is_err(), "a commitment in the public part");
    let pkb = pk.to_bytes();
    for n in 0..pkb.len() {
        assert!(ZkProvingKey::from_bytes(&pkb[..n]).is_err());
    }
    // A key whose hiding part does not encode within the decoder's limit: an error from
    // `to_bytes` and `digest` (never an empty encoding and the digest of nothing).
    let mut huge = vk.clone();
    huge.weights.link_values = vec![huge.weights.link_values[0]; (1 << 24) / 24 + 1];
    assert!(huge.to_bytes().is_err());
    assert!(huge.digest().is_err());
    // A proving key whose counter points at the setup ticket does not decode.
    let at_setup = ZkProvingKey { next_ticket: 0, ..pk.clone() }.to_bytes();
    assert!(ZkProvingKey::from_bytes(&at_setup).is_err(), "a proving key at the setup ticket");
    // A key with only the setup ticket (no proof ticket) is refused by the constructor and the
    // decoder.
    let mut lone = vk.clone();
    lone.weights.tickets.truncate(1);
    lone.weights.budget.tickets = 1;
    assert!(ZkVerifyingKey::new(lone.public.clone(), lone.weights.clone()).is_err());
}

/// `reserve_ticket`: the advanced counter is on disk before the ticket is returned; the file is
/// locked while the lease lives (a second prover is refused and the file is unchanged); the lock
/// follows the replaced file; dropping a lease without a proof (a crash) wastes the ticket and
/// never hands it out again; past the budget or with another key's proving key, refused with the
/// file unchanged; no temporary file is left behind.
#[test]
fn tickets_are_persisted_before_use_and_the_key_is_locked_while_proving() {
    let (vk, pk) = &zk_keys(GPT2).keys[0];
    let vk = vk.clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pk.bin");
    zkinfer_proof::fsio::write_atomic_private(&path, &pk.to_bytes()).unwrap();
    let on_disk = || ZkProvingKey::from_bytes(&std::fs::read(&path).unwrap()).unwrap();

    let lease = reserve_ticket(&path, &vk).expect("first ticket");
    assert_eq!(lease.ticket, 1, "ticket 0 is the setup proof's");
    assert_eq!(on_disk().next_ticket, 2, "the counter is not persisted before the ticket is used");
    assert_eq!(lease.pk, on_disk());
    let before = std::fs::read(&path).unwrap();
    let err = reserve_ticket(&path, &vk).expect_err("a second prover while the first holds the lock");
    assert!(err.to_string().contains("in use"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "a refused reservation changed the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The lease is dropped without a proof (a crash mid-proof): its ticket is spent.
    drop(lease);
    let lease = reserve_ticket(&path, &vk).expect("second ticket");
    assert_eq!(lease.ticket, 2);
    drop(lease);
    let lease = reserve_ticket(&path, &vk).expect("third ticket");
    assert_eq!(lease.ticket, 3, "the key's last proof ticket");
    drop(lease);
    let before = std::fs::read(&path).unwrap();
    let err = reserve_ticket(&path, &vk).expect_err("the budget is spent");
    assert!(err.to_string().contains("budget"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Another key's proving key under this key: refused, unchanged.
    let other = zk_keys(GPT2).keys[1].1.clone();
    let other_path = dir.path().join("other.bin");
    zkinfer_proof::fsio::write_atomic_private(&other_path, &other.to_bytes()).unwrap();
    assert!(reserve_ticket(&other_path, &vk).is_err());
    assert_eq!(ZkProvingKey::from_bytes(&std::fs::read(&other_path).unwrap()).unwrap(), other);
    // A file that is not a proving key: an error, never a panic.
    std::fs::write(dir.path().join("junk.bin"), vec![0xff; 1 << 16]).unwrap();
    assert!(reserve_ticket(&dir.path().join("junk.bin"), &vk).is_err());
    assert!(reserve_ticket(&dir.path().join("missing.bin"), &vk).is_err());

    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 3, "temporary files left behind: {names:?}");
}

/// Child mode of [`a_crashed_prover_never_gets_its_ticket_back`]: reserve a ticket on the key
/// named by the environment, print it, and die without unwinding (a crash mid-proof).
#[test]
fn crash_child() {
    let (Ok(vk), Ok(pk)) = (std::env::var("ZK7_CRASH_VK"), std::env::var("ZK7_CRASH_PK")) else { return };
    let vk = ZkVerifyingKey::from_bytes(&std::fs::read(vk).unwrap()).unwrap();
    let lease = reserve_ticket(std::path::Path::new(&pk), &vk).unwrap();
    println!("TICKET {}", lease.ticket);
    std::process::abort();
}

/// A prover process that dies (abort, no unwinding, no destructor) after reserving a ticket:
/// its lock goes with it, the counter it persisted stays, and the next prover gets the next
/// ticket, never the crashed one's.
#[test]
fn a_crashed_prover_never_gets_its_ticket_back() {
    let (vk, pk) = &zk_keys(GPT2).keys[0];
    let dir = tempfile::tempdir().unwrap();
    let pk_path = dir.path().join("pk.bin");
    let vk_path = dir.path().join("vk.bin");
    zkinfer_proof::fsio::write_atomic_private(&pk_path, &pk.to_bytes()).unwrap();
    std::fs::write(&vk_path, vk.to_bytes().unwrap()).unwrap();
    // The child test's name in this binary: its module path without the crate's name.
    let child = module_path!().split_once("::").map_or("crash_child".to_string(), |(_, module)| format!("{module}::crash_child"));
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &child, "--nocapture", "--test-threads", "1"])
        .env("ZK7_CRASH_VK", &vk_path)
        .env("ZK7_CRASH_PK", &pk_path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child was meant to crash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TICKET 1"), "child output: {stdout} / {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ZkProvingKey::from_bytes(&std::fs::read(&pk_path).unwrap()).unwrap().next_ticket, 2);
    let lease = reserve_ticket(&pk_path, vk).expect("after the crash");
    assert_eq!(lease.ticket, 2, "the crashed prover's ticket was handed out again");
}

/// Provers racing on one `pk.bin` (threads: `flock` locks are per open file, so they exclude
/// each other as processes do): every ticket is handed out exactly once, none twice, and the
/// budget is never exceeded.
#[test]
fn racing_provers_never_share_a_ticket() {
    // Four provers racing for the shared key's three proof tickets.
    const K: usize = BUDGET.tickets;
    let (vk, pk) = &zk_keys(GPT2).keys[0];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pk.bin");
    zkinfer_proof::fsio::write_atomic_private(&path, &pk.to_bytes()).unwrap();
    let got = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    match reserve_ticket(&path, vk) {
                        Ok(lease) => {
                            got.lock().unwrap().push(lease.ticket);
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                        Err(e) if e.to_string().contains("in use") || e.to_string().contains("keeps being replaced") => std::thread::yield_now(),
                        Err(e) if e.to_string().contains("budget") => break,
                        Err(e) => panic!("unexpected: {e}"),
                    }
                }
            });
        }
    });
    let mut got = got.into_inner().unwrap();
    got.sort_unstable();
    assert_eq!(got, (1..=K).collect::<Vec<_>>(), "tickets handed out: {got:?}");
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["pk.bin".to_string()], "temporary files left behind");
}
