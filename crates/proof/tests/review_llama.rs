//! Adversarial review of the Llama surface: hostile key fields of the Llama ops (RMSNorm, RoPE,
//! RepeatKv, SiLU), the architecture name, the end-of-generation set and the range of `T`: every
//! one is an error (refused by the decoder or by `verify`), never a panic and never an acceptance
//! of the honest proof retargeted at the edited key.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, Op};
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, setup, verify, vocabulary};
use zkinfer_tokenizer::Tokenizer;

struct Fixture {
    pk: ProvingKey,
    proof: ProofFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama/llama-tiny-random.gguf");
        let gguf = GgufFile::open(path).unwrap();
        let model = Model::load(&gguf).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        let pk = setup(&model, vocabulary(&tok, &model), [5; 32]).unwrap();
        let prompt = tok.encode("The quick brown fox");
        let (proof, _) = prove(&model, &pk, &prompt, 2, |_| {}).unwrap();
        verify(&pk.vk, &proof).unwrap();
        Fixture { pk, proof }
    })
}

/// Decodes `bytes` as a key and, if it decodes, verifies the honest proof retargeted at it.
/// `Ok(true)`: accepted; `Ok(false)`: refused; `Err`: a panic.
fn verdict(bytes: &[u8]) -> Result<bool, String> {
    let f = fixture();
    catch_unwind(AssertUnwindSafe(|| {
        let Ok(vk) = VerifyingKey::from_bytes(bytes) else { return false };
        let mut proof = f.proof.clone();
        proof.model_commitment = vk.digest();
        verify(&vk, &proof).is_ok()
    }))
    .map_err(|e| e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default())
}

fn ops(vk: &mut VerifyingKey, f: impl Fn(&mut Op)) {
    vk.graph.nodes.iter_mut().for_each(|n| f(&mut n.op));
}

#[test]
fn hostile_llama_key_fields_are_errors_not_panics() {
    type Edit = Box<dyn Fn(&mut VerifyingKey)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("rmsnorm eps = 0", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.eps = 0 }))),
        ("rmsnorm eps = -1", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.eps = -1 }))),
        ("rmsnorm eps = 2^40", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.eps = 1 << 40 }))),
        ("rmsnorm eps = i64::MIN", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.eps = i64::MIN }))),
        ("rmsnorm K = 0", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.k = 0 }))),
        ("rmsnorm K = 31", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.k = 31 }))),
        ("rmsnorm K = u32::MAX", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.k = u32::MAX }))),
        ("rmsnorm shift = 0", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.shift = 0 }))),
        ("rmsnorm shift = 62", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.shift = 62 }))),
        ("rmsnorm shift = u32::MAX", Box::new(|vk| ops(vk, |op| if let Op::RmsNorm(r) = op { r.shift = u32::MAX }))),
        ("rope n_rot = 0", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_rot = 0 }))),
        ("rope n_rot odd", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_rot -= 1 }))),
        ("rope n_rot = 2", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_rot = 2 }))),
        ("rope n_rot > head", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_rot += 2 }))),
        ("rope n_rot = 2^30", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_rot = 1 << 30 }))),
        ("rope frac = 0", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.frac = 0 }))),
        ("rope frac = 31", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.frac = 31 }))),
        ("rope frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.frac = 62 }))),
        ("rope n_ctx = 0", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_ctx = 0 }))),
        ("rope n_ctx = 1", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_ctx = 1 }))),
        ("rope n_ctx = 2^30", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.n_ctx = 1 << 30 }))),
        ("rope base NaN", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.base = f32::NAN }))),
        ("rope base inf", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.base = f32::INFINITY }))),
        ("rope base 1", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.base = 1.0 }))),
        ("rope base tiny", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.base = 1.000_001 }))),
        ("rope base huge", Box::new(|vk| ops(vk, |op| if let Op::Rope(r) = op { r.base = f32::MAX }))),
        ("repeat_kv group = 0", Box::new(|vk| ops(vk, |op| if let Op::RepeatKv(r) = op { r.group = 0 }))),
        ("repeat_kv group = 1", Box::new(|vk| ops(vk, |op| if let Op::RepeatKv(r) = op { r.group = 1 }))),
        ("repeat_kv group + 1", Box::new(|vk| ops(vk, |op| if let Op::RepeatKv(r) = op { r.group += 1 }))),
        ("repeat_kv group = 2^16", Box::new(|vk| ops(vk, |op| if let Op::RepeatKv(r) = op { r.group = 1 << 16 }))),
        ("repeat_kv group = 2^30", Box::new(|vk| ops(vk, |op| if let Op::RepeatKv(r) = op { r.group = 1 << 30 }))),
        ("silu in_bits = 0", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.in_bits = 0 }))),
        ("silu in_bits = 1", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.in_bits = 1 }))),
        ("silu in_bits = 17", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.in_bits = 17 }))),
        ("silu in_bits = 62", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.in_bits = 62 }))),
        ("silu in_frac = 31", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.in_frac = 31 }))),
        ("silu out_frac = 0", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.out_frac = 0 }))),
        ("silu out_frac = 30", Box::new(|vk| ops(vk, |op| if let Op::Silu(s) = op { s.out_frac = 30 }))),
        ("clamp before silu widened", Box::new(|vk| ops(vk, |op| if let Op::Clamp(c) = op { c.hi *= 2; c.lo *= 2 }))),
        ("architecture empty", Box::new(|vk| vk.architecture.clear())),
        ("architecture gpt2", Box::new(|vk| vk.architecture = "gpt2".into())),
        ("architecture 65 bytes", Box::new(|vk| vk.architecture = "l".repeat(65))),
        ("eog = whole vocabulary", Box::new(|vk| vk.eog_ids = (0..vk.vocab.len() as u32).collect())),
        ("eog = empty", Box::new(|vk| vk.eog_ids.clear())),
        ("T max = 2^30", Box::new(|vk| vk.graph.symbols[0].max = 1 << 30)),
        ("T min = max", Box::new(|vk| vk.graph.symbols[0].min = vk.graph.symbols[0].max)),
    ];
    let mut failures = Vec::new();
    for (name, edit) in edits {
        let mut vk = fixture().pk.vk.clone();
        edit(&mut vk);
        match verdict(&vk.to_bytes()) {
            Ok(false) => {}
            Ok(true) => failures.push(format!("{name}: the honest proof verified against an edited key")),
            Err(e) => failures.push(format!("{name}: panicked: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The smallest pass, `T = 1` (a one-token prompt and one new token): every row sumcheck of the
/// Llama ops has zero variables. It verifies, and a changed completion token or budget is
/// rejected.
#[test]
fn a_single_position_pass_proves_and_binds_its_statement() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama/llama-tiny-random.gguf");
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let pk = &fixture().pk;
    let prompt = vec![fixture().proof.prompt_ids[0]];
    let (proof, _) = prove(&model, pk, &prompt, 1, |_| {}).unwrap();
    assert_eq!(proof.prompt_ids.len() + proof.completion_ids.len() - 1, 1);
    verify(&pk.vk, &proof).unwrap();
    let mut bad = proof.clone();
    bad.completion_ids[0] = (bad.completion_ids[0] + 1) % pk.vk.vocab.len() as u32;
    if pk.vk.eog_ids.binary_search(&bad.completion_ids[0]).is_err() {
        assert!(verify(&pk.vk, &bad).is_err(), "changed completion token accepted at T = 1");
    }
    let mut bad = proof.clone();
    bad.max_new_tokens = 2;
    assert!(verify(&pk.vk, &bad).is_err(), "budget 2 with one token and no end-of-generation accepted");
}
