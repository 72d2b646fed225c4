//! `zkinfer setup --zk` on the tiny GPT-2: a zero-knowledge key (vk.bin) and its secret proving
//! key (pk.bin, mode 0600); every command that needs a public key refuses it clearly (no panic);
//! it is not replaced without --force; a public setup over it (with --force) removes the secret and
//! writes the same public key as ever. `prove --zk` of a request under the zk LayerNorm's 17
//! rows in a norm is refused naming the minimum; 17 new tokens prove, verifies, and a flipped byte is
//! refused.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use common::{model, s, zkinfer};
use std::process::Output;

fn stderr(out: &Output) -> String {
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!e.contains("panicked"), "{e}");
    e
}

#[test]
fn setup_zk_writes_a_hiding_key_and_a_secret_that_public_commands_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = model("gpt2-tiny-random.gguf");
    let zk = dir.path().join("zk");
    let out = zkinfer(&["setup", "--zk", "--zk-budget", "2", "-m", &tiny, "-o", s(&zk), "--json"]);
    assert!(out.status.success(), "setup --zk failed: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["zk"], true);
    assert_eq!(v["zk_budget"], 2);
    let vk = std::fs::read(zk.join("vk.bin")).unwrap();
    assert!(vk.starts_with(b"ZKINFZK\0"));
    assert_eq!(v["model_commitment"].as_str().unwrap(), hex::encode(blake3::hash(&vk).as_bytes()));
    assert!(!zk.join("setup-proof.bin").exists());
    let pk = zk.join("pk.bin");
    assert!(std::fs::read(&pk).unwrap().starts_with(b"ZKINFZP\0"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&pk).unwrap().permissions().mode() & 0o777, 0o600, "the secret is readable by others");
    }

    // Public commands refuse it, with a clear message and their usage/input exit codes.
    let proof = dir.path().join("x.proof");
    std::fs::write(&proof, b"not a proof").unwrap();
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&proof)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("zero-knowledge key"), "{}", stderr(&out));
    // A public proof under a zk key: refused as not a zk proof.
    let public_keys = dir.path().join("pub");
    assert!(zkinfer(&["setup", "-m", &tiny, "-o", s(&public_keys), "-q"]).status.success());
    let public_proof = dir.path().join("public.proof");
    let out = zkinfer(&["prove", "-m", &tiny, "--keys", s(&public_keys), "-p", "Hello", "-n", "1", "-q", "-o", s(&public_proof)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&public_proof)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a zero-knowledge proof"), "{}", stderr(&out));
    // prove --zk with a public key: refused.
    let out = zkinfer(&["prove", "--zk", "-m", &tiny, "--keys", s(&public_keys), "-p", "Hello", "-n", "1", "-o", s(&dir.path().join("q.proof"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a public key"), "{}", stderr(&out));
    let out = zkinfer(&["prove", "-m", &tiny, "--keys", s(&zk), "-p", "Hello", "-n", "1", "-o", s(&dir.path().join("p.proof"))]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("zero-knowledge key"));
    assert!(!dir.path().join("p.proof").exists());

    // Two public proofs of one statement are the same bytes (public mode is deterministic: every
    // 16-byte window shared — the counterpart of the zk file test in the proof crate,
    // `zk_graph_proof::two_zk_proof_files_share_no_window_outside_the_header`).
    let public_again = dir.path().join("public2.proof");
    let out = zkinfer(&["prove", "-m", &tiny, "--keys", s(&public_keys), "-p", "Hello", "-n", "1", "-q", "-o", s(&public_again)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (a, b) = (std::fs::read(&public_proof).unwrap(), std::fs::read(&public_again).unwrap());
    let wa: std::collections::HashSet<&[u8]> = a.windows(16).collect();
    let shared = b.windows(16).filter(|w| wa.contains(w)).count();
    eprintln!("two public proofs: {shared} of {} windows shared", b.len() - 15);
    assert_eq!(shared, b.len() - 15, "two public proofs of one statement differ");

    // prove --zk: required with a zk key, refused without one or with a public key. A request
    // whose norms have fewer than 17 rows (GPT-2's output norm: one row per new token) is refused
    // naming the minimum, taking no ticket and writing no proof.
    let pk_before = std::fs::read(&pk).unwrap();
    let p_out = dir.path().join("z.proof");
    let out = zkinfer(&["prove", "--zk", "-m", &tiny, "--keys", s(&zk), "-p", "Hello", "-n", "1", "-o", s(&p_out)]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot be proven in zero knowledge") && stderr(&out).contains("at least 17 rows"), "{}", stderr(&out));
    assert!(!p_out.exists());
    assert_eq!(std::fs::read(&pk).unwrap(), pk_before, "a refused prove --zk changed pk.bin");
    let out = zkinfer(&["prove", "--zk", "-m", &tiny, "-p", "Hello", "-n", "1", "-o", s(&p_out)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("setup --zk"), "{}", stderr(&out));
    let out = zkinfer(&["bench", "--zk", "-m", &tiny, "-n", "1"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("at least 17 rows"), "{}", stderr(&out));
    // The round trip: prove --zk on the next ticket (17 new tokens: 17 rows in every norm) →
    // verify with the zk key; the same file with one flipped byte is refused.
    let out = zkinfer(&["prove", "--zk", "-m", &tiny, "--keys", s(&zk), "-p", "Hello", "-n", "17", "-q", "-o", s(&p_out)]);
    assert!(out.status.success(), "prove --zk failed: {}", stderr(&out));
    assert_ne!(std::fs::read(&pk).unwrap(), pk_before, "prove --zk took a ticket");
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&p_out)]);
    assert!(out.status.success(), "verify of a zk proof failed: {}", stderr(&out));
    let mut bytes = std::fs::read(&p_out).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let tampered = dir.path().join("z-tampered.proof");
    std::fs::write(&tampered, &bytes).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&tampered)]);
    assert_eq!(out.status.code(), Some(1), "a flipped byte: {}", stderr(&out));
    // verify with a zk key: a file that is not a zk proof is refused as such; a zk proof header
    // for another key is rejected; a proof of the tiny GPT-2 is refused at the node the zk
    // verifier cannot walk yet.
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&proof)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a zero-knowledge proof"), "{}", stderr(&out));
    let zp = zkinfer_proof::zk_proof::ZkProofFile {
        model_commitment: *blake3::hash(&vk).as_bytes(),
        ticket: 1,
        max_new_tokens: 1,
        prompt_ids: vec![1],
        completion_ids: vec![2],
        transcript: vec![0; 64],
    };
    std::fs::write(&proof, zp.to_bytes()).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&proof)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("zk graph") && stderr(&out).contains("node "), "{}", stderr(&out));
    let other = zkinfer_proof::zk_proof::ZkProofFile { model_commitment: [9; 32], ..zp.clone() };
    std::fs::write(&proof, other.to_bytes()).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&proof)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("was made for model"), "{}", stderr(&out));
    // Ticket 3 does not exist under a budget of 2 (tickets 0, 1, 2).
    let beyond = zkinfer_proof::zk_proof::ZkProofFile { ticket: 3, ..zp };
    std::fs::write(&proof, beyond.to_bytes()).unwrap();
    let out = zkinfer(&["verify", "--vk", s(&zk), s(&proof)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("ticket 3"), "{}", stderr(&out));

    let out = zkinfer(&["vk-check", "--model", &tiny, "--vk", s(&zk)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("cannot be recomputed"));

    // Not replaced without --force (its secret would be lost), by either kind of setup.
    for extra in [&["--zk"][..], &[][..]] {
        let mut args = vec!["setup", "-m", &tiny, "-o", s(&zk), "-q"];
        args.extend_from_slice(extra);
        let out = zkinfer(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(std::fs::read(zk.join("vk.bin")).unwrap(), vk);
    }

    // --force with a public setup: the secret goes, the public key is the usual one.
    let out = zkinfer(&["setup", "-m", &tiny, "-o", s(&zk), "-q", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!pk.exists());
    let public = dir.path().join("public");
    assert!(zkinfer(&["setup", "-m", &tiny, "-o", s(&public), "-q"]).status.success());
    assert_eq!(std::fs::read(zk.join("vk.bin")).unwrap(), std::fs::read(public.join("vk.bin")).unwrap());
    assert!(zkinfer(&["vk-check", "--model", &tiny, "--vk", s(&zk)]).status.success());

    // --zk-budget needs --zk, and 0 is refused.
    assert_eq!(zkinfer(&["setup", "--zk-budget", "2", "-m", &tiny, "-o", s(&dir.path().join("b"))]).status.code(), Some(2));
    assert_eq!(zkinfer(&["setup", "--zk", "--zk-budget", "0", "-m", &tiny, "-o", s(&dir.path().join("c"))]).status.code(), Some(2));
}
