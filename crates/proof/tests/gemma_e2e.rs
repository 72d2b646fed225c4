//! Prove → verify on the tiny Gemma (`testdata/gemma/gemma-tiny.gguf`: `sqrt(D)` embedding scale
//! carried as a `1/sqrt(D)` stream, GeGLU, head size 32 with one KV head, NEOX RoPE rows permuted
//! at load, tied head) and Gemma 2 (`testdata/gemma2/gemma2-tiny.gguf`: post-norms, attention
//! soft-cap by the `SoftCap` table op), and the attacks specific to them: a lie at the GELU gate's
//! or the soft-cap's output with everything downstream recomputed, and a proof of the same file
//! without the embedding scale (or without the soft-cap) presented under the real key. Gemma 3
//! (`testdata/gemma3/gemma3-tiny.gguf`: per-head QK-norm as a grouped `RmsNorm`, local and global
//! RoPE bases): a lie at the first Q-norm's output is refused, and so is a proof of the same file
//! without QK-norm under the real key.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;
use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Gemma, GemmaConfig, GemmaQuant, Model, Op};
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{ProofFile, VerifyingKey, prove, setup, verify, vocabulary};
use zkinfer_tokenizer::EncodeOptions;

/// Proves `n` tokens after a prompt with `arch`'s fixture, verifies, checks the text, and
/// refuses a `+1` at the first node matching `at` (downstream recomputed) and a proof of the model
/// edited by `edit` under the real key.
fn proves_and_refuses(arch: &str, at: fn(&str, &Op) -> bool, edit: fn(&mut GemmaConfig)) -> (VerifyingKey, ProofFile) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../testdata/{arch}/{arch}-tiny.gguf"));
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = model.architecture().tokenizer(&gguf).unwrap();
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let pk = setup(&model, vocabulary(&tok, &model), sha).unwrap();
    assert_eq!(pk.vk.architecture, arch);
    // GeGLU: one GELU per block, no SiLU.
    let gelus = pk.vk.graph.nodes.iter().filter(|n| matches!(&n.op, Op::Gelu(_))).count();
    assert_eq!(gelus, model.config().n_layer);
    assert!(!pk.vk.graph.nodes.iter().any(|n| matches!(&n.op, Op::Silu(_))));
    let caps = pk.vk.graph.nodes.iter().filter(|n| matches!(&n.op, Op::SoftCap(_))).count();
    assert_eq!(caps, if arch == "gemma2" { 2 } else { 0 });

    let prompt = tok.encode_with("The llama is a domesticated camelid.", EncodeOptions { add_special: true, parse_special: false });
    assert_eq!(prompt[0], 2, "BOS first");
    let n = 4;
    let (proof, _) = prove(&model, &pk, &prompt, n, |_| {}).unwrap();
    let v = verify(&pk.vk, &proof).expect("honest proof verifies");
    assert_eq!(v.architecture, arch);
    assert_eq!(v.completion_ids, model.generate_int_until(&prompt, n, &model.architecture().stop_tokens(&tok), |_| {}).unwrap());
    assert_eq!(v.text, tok.decode(&v.completion_ids).unwrap());
    let vk = VerifyingKey::from_bytes(&pk.vk.to_bytes()).unwrap();
    verify(&vk, &ProofFile::from_bytes(&proof.to_bytes()).unwrap()).unwrap();

    // +1 on one entry of the first matching node's output, everything downstream recomputed: refused.
    let mut ok = false;
    let forged = prove_tampered(&model, &pk, &prompt, n, |graph, trace| {
        let start = graph.nodes.iter().position(|n| at(&graph.meta(n.output).name, &n.op)).unwrap();
        let out = graph.nodes[start].output.0;
        let Some(t) = trace.values[out].as_mut() else { return };
        let i = t.data.len() / 2;
        t.data[i] += 1;
        ok = common::propagate_after(graph, trace, model.weights(), start);
    })
    .unwrap();
    assert!(ok, "could not build the tampered trace");
    let e = verify(&pk.vk, &forged).expect_err("a lie was accepted");
    eprintln!("{arch} +1: refused: {e}");

    // The same file edited (another model): its own proof verifies under its own key and is
    // refused under this one, also when relabelled with this key's commitment.
    let mut cfg = GemmaConfig::from_source(&gguf).unwrap();
    edit(&mut cfg);
    let plain = Model::with_architecture(Box::new(Gemma::new(cfg, GemmaQuant::default()).unwrap()), &gguf).unwrap();
    let ppk = setup(&plain, vocabulary(&tok, &plain), sha).unwrap();
    assert_ne!(ppk.vk.digest(), pk.vk.digest());
    let (pproof, _) = prove(&plain, &ppk, &prompt, n, |_| {}).unwrap();
    verify(&ppk.vk, &pproof).unwrap();
    assert!(verify(&pk.vk, &pproof).is_err());
    let mut relabelled = pproof.clone();
    relabelled.model_commitment = pk.vk.digest();
    assert!(verify(&pk.vk, &relabelled).is_err(), "a proof of the edited model accepted under the real key");
    (pk.vk.clone(), proof)
}

#[test]
fn gemma_proves_verifies_and_refuses_lies() {
    proves_and_refuses("gemma", |_, op| matches!(op, Op::Gelu(_)), |c| c.embd_scale = false);
}

/// Gemma 2, then hostile values of the soft-cap's key fields (and of the clamp before it): each
/// is refused by the key decoder or by `verify` of the honest proof retargeted at the edited key
/// (its commitment set to the edited key's digest), never a panic, never an acceptance.
#[test]
fn gemma2_proves_verifies_and_refuses_lies() {
    let (vk, proof) = proves_and_refuses("gemma2", |_, op| matches!(op, Op::SoftCap(_)), |c| c.gemma2.as_mut().unwrap().attn_softcap = None);
    type Edit = Box<dyn Fn(&mut zkinfer_model::ops::softcap::SoftCap)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("cap = 0", Box::new(|c| c.f.cap = 0)),
        ("cap + 1", Box::new(|c| c.f.cap += 1)),
        ("cap = 2^14 + 1", Box::new(|c| c.f.cap = (1 << 14) + 1)),
        ("cap = u32::MAX", Box::new(|c| c.f.cap = u32::MAX)),
        ("in_bits = 0", Box::new(|c| c.in_bits = 0)),
        ("in_bits − 1", Box::new(|c| c.in_bits -= 1)),
        ("in_bits = 17", Box::new(|c| c.in_bits = 17)),
        ("in_frac + 1", Box::new(|c| c.in_frac += 1)),
        ("in_frac = 31", Box::new(|c| c.in_frac = 31)),
        ("out_frac − 1", Box::new(|c| c.out_frac -= 1)),
        ("out_frac = 62", Box::new(|c| c.out_frac = 62)),
    ];
    let verdict = |vk: &VerifyingKey| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let Ok(vk) = VerifyingKey::from_bytes(&vk.to_bytes()) else { return false };
            let mut p = proof.clone();
            p.model_commitment = vk.digest();
            verify(&vk, &p).is_ok()
        }))
    };
    let mut failures = Vec::new();
    for (name, edit) in &edits {
        let mut bad = vk.clone();
        bad.graph.nodes.iter_mut().for_each(|n| if let Op::SoftCap(c) = &mut n.op { edit(c) });
        match verdict(&bad) {
            Ok(false) => {}
            Ok(true) => failures.push(format!("{name}: the honest proof verified against an edited key")),
            Err(_) => failures.push(format!("{name}: panicked")),
        }
    }
    // The clamp before the cap widened (inputs beyond the table).
    let mut bad = vk.clone();
    let at = bad.graph.nodes.iter().position(|n| matches!(n.op, Op::SoftCap(_))).unwrap();
    let clamp = bad.graph.nodes[..at].iter().rposition(|n| matches!(n.op, Op::Clamp(_))).unwrap();
    if let Op::Clamp(c) = &mut bad.graph.nodes[clamp].op {
        c.hi *= 2;
        c.lo *= 2;
    }
    if !matches!(verdict(&bad), Ok(false)) {
        failures.push("clamp before the cap widened: accepted or panicked".into());
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The unedited key still accepts the proof (the harness is not refusing everything).
    assert!(matches!(verdict(&vk), Ok(true)));
}

/// Gemma 3: a grouped RMSNorm (QK-norm) on Q and K of each of the 6 blocks, two RoPE descriptors
/// (local and global); a +1 at the first Q-norm output refused; the file proven without QK-norm
/// refused under the real key.
#[test]
fn gemma3_proves_verifies_and_refuses_lies() {
    let (vk, _) = proves_and_refuses("gemma3", |name, _| name.ends_with("attn_q_norm.out"), |c| c.gemma3.as_mut().unwrap().qk_norm = false);
    // Six norms per block (attention, Q, K, post-attention, FFN, post-FFN) and the output norm.
    let norms = vk.graph.nodes.iter().filter(|n| matches!(n.op, Op::RmsNorm(_))).count();
    assert_eq!(norms, 6 * 6 + 1);
    let mut bases: Vec<(u32, usize)> = vk.graph.nodes.iter().filter_map(|n| if let Op::Rope(r) = &n.op { Some((r.base.to_bits(), r.freq_factors.len())) } else { None }).collect();
    assert_eq!(bases.len(), 12);
    bases.dedup();
    bases.sort();
    bases.dedup();
    assert_eq!(bases, vec![(10000f32.to_bits(), 0), (1e6f32.to_bits(), 16)]);
}
