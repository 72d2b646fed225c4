//! Prove → verify on the tiny Llama-3-style fixture with RoPE frequency factors
//! (`testdata/llama3/llama3-rope-tiny.gguf`, `rope_freqs.weight` of the `llama3` rope scaling), and
//! the attacks specific to the factors: a prover that rotates with the plain table (ignores the
//! factors) and recomputes everything downstream, a +1 on a rotated value, a key whose factors
//! were changed, a proof of the plain model presented under the factored key.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::ops::rope::Rope;
use zkinfer_model::{Llama, LlamaConfig, LlamaQuant, Model, Op};
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, setup, verify, vocabulary};
use zkinfer_tokenizer::Tokenizer;

use crate::common;

const N: usize = 4;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama3/llama3-rope-tiny.gguf")
}

struct Fixture {
    gguf: GgufFile,
    model: Model,
    tok: Tokenizer,
    pk: ProvingKey,
    sha: [u8; 32],
    prompt: Vec<u32>,
    proof: ProofFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = GgufFile::open(path()).expect("fixture");
        let model = Model::load(&gguf).expect("model");
        let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
        let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).expect("hex").try_into().expect("32 bytes");
        let pk = setup(&model, vocabulary(&tok, &model), sha).expect("setup");
        // Long enough that the low-frequency pairs (factor 8) turn visibly differently.
        let prompt = tok.encode("The llama is a domesticated South American camelid, widely used as a meat and pack animal by Andean cultures.");
        let (proof, _) = prove(&model, &pk, &prompt, N, |_| {}).expect("prove");
        Fixture { gguf, model, tok, pk, sha, prompt, proof }
    })
}

/// The same weights with plain RoPE (no frequency factors).
fn plain_model(f: &Fixture) -> Model {
    let cfg = LlamaConfig::from_source(&f.gguf).unwrap();
    let arch = Llama::new(cfg, LlamaQuant::default()).unwrap();
    Model::with_architecture(Box::new(arch), &f.gguf).unwrap()
}

#[test]
fn honest_proof_verifies_and_the_key_carries_the_factors() {
    let f = fixture();
    assert!(f.prompt.len() > 20, "prompt of {} tokens", f.prompt.len());
    let v = verify(&f.pk.vk, &f.proof).expect("honest proof verifies");
    assert_eq!(v.completion_ids, f.model.generate_int_until(&f.prompt, N, f.tok.eog_ids(), |_| {}).unwrap());
    assert_eq!(v.text, f.tok.decode(&v.completion_ids).unwrap());
    let ropes: Vec<&Rope> = f.pk.vk.graph.nodes.iter().filter_map(|n| if let Op::Rope(r) = &n.op { Some(r) } else { None }).collect();
    assert_eq!(ropes.len(), 4, "two RoPE nodes per block");
    let want = f.model.architecture().as_any().downcast_ref::<Llama>().unwrap().freq_factors().to_vec();
    assert_eq!(want.len(), 8);
    for r in &ropes {
        assert_eq!(&r.freq_factors[..], &want[..]);
    }
    // Through the key's bytes: the decoder rebuilds the factored table, and the proof verifies.
    let vk = VerifyingKey::from_bytes(&f.pk.vk.to_bytes()).unwrap();
    assert_eq!(vk, f.pk.vk);
    verify(&vk, &ProofFile::from_bytes(&f.proof.to_bytes()).unwrap()).expect("decoded");
    // A version-7 key (before the factors were encoded) is refused by its header.
    let mut old = f.pk.vk.to_bytes();
    old[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = VerifyingKey::from_bytes(&old).unwrap_err().to_string();
    assert!(e.contains("version"), "{e}");
    // The plain model's completion differs from the factored one's on this prompt (else the
    // attacks below would test nothing).
    let plain = plain_model(f).generate_int_until(&f.prompt, N, &[], |_| {}).unwrap();
    let real = f.model.generate_int_until(&f.prompt, N, &[], |_| {}).unwrap();
    eprintln!("factored {real:?}, plain {plain:?}");
}

/// A prover that ignores the factors (rotates every row with the plain table) and derives a
/// consistent trace from there: refused. Control: the same recomputation with the real op is the
/// honest trace and verifies, so the refusal comes from the table.
#[test]
fn rotating_without_the_factors_is_caught() {
    let f = fixture();
    for (label, plain) in [("control (real table)", false), ("plain table", true)] {
        let mut ok = true;
        let mut changed = false;
        let proof = prove_tampered(&f.model, &f.pk, &f.prompt, N, |graph, trace| {
            let start = graph.nodes.iter().position(|n| matches!(n.op, Op::Rope(_))).unwrap();
            let before = trace.values.clone();
            // Every node from the first RoPE on, the RoPE nodes with the plain table (or, for the
            // control, their own).
            ok = common::recompute_from(graph, trace, f.model.weights(), start, |op| match op {
                Op::Rope(r) if plain => Some(Op::Rope(Rope::new(r.n_rot, r.base, r.frac, r.n_ctx).unwrap())),
                _ => None,
            });
            changed = trace.values != before;
        })
        .unwrap();
        assert!(ok, "{label}: recomputation failed");
        if plain {
            assert!(changed, "the plain table must change the trace");
            let e = verify(&f.pk.vk, &proof).expect_err("a trace rotated without the factors was accepted");
            eprintln!("{label}: refused: {e}");
        } else {
            assert!(!changed, "the control recomputation must reproduce the honest trace");
            verify(&f.pk.vk, &proof).expect("control verifies");
        }
    }
}

/// +1 on one rotated value (first RoPE output), everything downstream recomputed: refused.
#[test]
fn a_perturbed_rotated_value_is_caught() {
    let f = fixture();
    let mut ok = false;
    let proof = prove_tampered(&f.model, &f.pk, &f.prompt, N, |graph, trace| {
        let start = graph.nodes.iter().position(|n| matches!(n.op, Op::Rope(_))).unwrap();
        let out = graph.nodes[start].output.0;
        if let Some(t) = trace.values[out].as_mut() {
            let i = t.data.len() / 3;
            t.data[i] += 1;
            ok = common::propagate_after(graph, trace, f.model.weights(), start);
        }
    })
    .unwrap();
    assert!(ok);
    let e = verify(&f.pk.vk, &proof).expect_err("a perturbed rotated value was accepted");
    eprintln!("perturbed rotation: refused: {e}");
}

/// A key with one factor changed (a valid key of another model): the honest proof fails under
/// it; a proof of the same weights with plain RoPE fails under the real key.
#[test]
fn a_changed_factor_in_the_key_or_the_plain_models_proof_is_refused() {
    let f = fixture();
    for (i, v) in [(0usize, 1.5f32), (3, 4.0), (7, 1.0)] {
        let mut bad = f.pk.vk.clone();
        for node in &mut bad.graph.nodes {
            if let Op::Rope(r) = &mut node.op {
                let mut fs = r.freq_factors.to_vec();
                fs[i] = v;
                *r = Rope::with_freq_factors(r.n_rot, r.base, r.frac, r.n_ctx, fs.into()).unwrap();
            }
        }
        let bad = VerifyingKey::from_bytes(&bad.to_bytes()).expect("a well-formed key");
        assert_ne!(bad.digest(), f.pk.vk.digest());
        let mut p = f.proof.clone();
        p.model_commitment = bad.digest();
        let e = verify(&bad, &p).expect_err("proof accepted under a key with another factor");
        eprintln!("factor {i} → {v}: refused: {e}");
        // The unchanged proof names the real key: refused under the changed one as well.
        assert!(verify(&bad, &f.proof).is_err());
    }
    let plain = plain_model(f);
    let ppk = setup(&plain, vocabulary(&f.tok, &plain), f.sha).unwrap();
    assert_ne!(ppk.vk.digest(), f.pk.vk.digest());
    let (pproof, _) = prove(&plain, &ppk, &f.prompt, N, |_| {}).unwrap();
    verify(&ppk.vk, &pproof).expect("the plain model's own proof verifies under its own key");
    assert!(verify(&f.pk.vk, &pproof).is_err(), "plain model's proof accepted under the factored key");
    let mut forged = pproof.clone();
    forged.model_commitment = f.pk.vk.digest();
    assert!(verify(&f.pk.vk, &forged).is_err(), "plain model's proof, relabelled, accepted under the factored key");
}
