//! Adversarial review: hostile verifying keys and statement fields.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, Op};
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, setup, verify, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

struct Fixture {
    pk: ProvingKey,
    proof: ProofFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
        let model = Model::load(&gguf).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        let pk = setup(&model, vocab_bytes(&tok), [3; 32]).unwrap();
        let prompt = tok.encode("The quick brown fox");
        let (proof, _) = prove(&model, &pk, &prompt, 2, |_| {}, |_, _| {}).unwrap();
        Fixture { pk, proof }
    })
}

/// A key edited by `edit`, through its bytes (what a verifier loading a damaged or hostile key
/// file sees), then the honest proof retargeted at it: verification must return an error, never
/// panic.
fn verify_with_edited_key(edit: impl FnOnce(&mut VerifyingKey)) -> Result<Result<(), String>, String> {
    let f = fixture();
    let mut vk = f.pk.vk.clone();
    edit(&mut vk);
    let Ok(vk) = VerifyingKey::from_bytes(&vk.to_bytes()) else { return Ok(Err("refused by the decoder".into())) };
    let mut proof = f.proof.clone();
    proof.model_commitment = vk.digest();
    catch_unwind(AssertUnwindSafe(|| verify(&vk, &proof).map(|_| ()).map_err(|e| e.to_string())))
        .map_err(|_| "verify panicked".to_string())
}

/// Applies `f` to every op of the key's graph.
fn ops(vk: &mut VerifyingKey, f: impl Fn(&mut Op)) {
    vk.graph.nodes.iter_mut().for_each(|n| f(&mut n.op));
}

#[test]
fn hostile_key_hyperparameters_are_errors_not_panics() {
    let edits: Vec<(&str, Box<dyn Fn(&mut VerifyingKey)>)> = vec![
        // Key version 3 carries the graph, not GPT-2 hyperparameters: the same attacks on its ops.
        ("heads = 0", Box::new(|vk| ops(vk, |op| if let Op::SplitHeads(h) = op { h.heads = 0 }))),
        ("heads = 3", Box::new(|vk| ops(vk, |op| if let Op::SplitHeads(h) = op { h.heads = 3 }))),
        ("no nodes", Box::new(|vk| vk.graph.nodes.clear())),
        ("T ≤ 1", Box::new(|vk| vk.graph.symbols[0].max = 1)),
        ("rescale shift = 64", Box::new(|vk| ops(vk, |op| if let Op::Rescale(r) = op { r.shift = 64 }))),
        ("softmax in_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Softmax(x) = op { x.in_frac = 62 }))),
        ("softmax exp_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Softmax(x) = op { x.exp_frac = 62 }))),
        ("softmax out_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Softmax(x) = op { x.out_frac = 62 }))),
        ("gelu in_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Gelu(g) = op { g.in_frac = 62 }))),
        ("layernorm K = 64", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.k = 64 }))),
        ("layernorm K = 0", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.k = 0 }))),
        ("clamp to 2^62", Box::new(|vk| ops(vk, |op| if let Op::Clamp(c) = op { c.hi = i64::MAX; c.lo = i64::MIN }))),
        ("layernorm eps = 0", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.eps = 0 }))),
        ("layernorm eps = -1", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.eps = -1 }))),
        ("frac_bits = -2^31", Box::new(|vk| vk.weights[0].frac_bits = i32::MIN)),
        ("all frac_bits = 2^31 - 1", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.frac_bits = i32::MAX))),
        ("all frac_bits = 62", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.frac_bits = 62))),
        ("all bits = 0", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.bits = 0))),
        ("all bits = 62", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.bits = 62))),
    ];
    let mut failures = Vec::new();
    for (name, edit) in edits {
        match verify_with_edited_key(edit) {
            Ok(Ok(())) => failures.push(format!("{name}: the honest proof verified against an edited key")),
            Ok(Err(_)) => {}
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The prompt predictions (argmax at prompt positions) are public outputs of the proven pass:
/// changing one must be rejected.
#[test]
fn changed_prompt_prediction_is_rejected() {
    let f = fixture();
    verify(&f.pk.vk, &f.proof).expect("honest proof");
    for i in 0..f.proof.prompt_predictions.len() {
        let mut p = f.proof.clone();
        p.prompt_predictions[i] = (p.prompt_predictions[i] + 1) % f.pk.vk.vocab.len() as u32;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed prompt prediction {i} accepted");
    }
}

/// Statement shapes a proof file may claim: an empty prompt or completion, a pass longer than
/// the context, ids outside the vocabulary, a wrong number of prompt predictions. Each is an
/// error (never a panic) before any graph is built.
#[test]
fn hostile_statement_shapes_are_errors_not_panics() {
    let f = fixture();
    let vk = &f.pk.vk;
    let n_ctx = vk.max_positions();
    let edits: Vec<(&str, Box<dyn Fn(&mut ProofFile)>)> = vec![
        ("empty prompt", Box::new(|p| {
            p.prompt_ids.clear();
            p.prompt_predictions.clear();
        })),
        ("empty completion", Box::new(|p| p.completion_ids.clear())),
        ("pass longer than the context", Box::new(move |p| {
            let extra = n_ctx;
            p.prompt_ids.extend(std::iter::repeat_n(0, extra));
            p.prompt_predictions.extend(std::iter::repeat_n(0, extra));
        })),
        ("prompt id outside the vocabulary", Box::new(|p| p.prompt_ids[0] = u32::MAX)),
        ("completion id outside the vocabulary", Box::new(|p| p.completion_ids[0] = u32::MAX)),
        ("prediction outside the vocabulary", Box::new(|p| p.prompt_predictions[0] = u32::MAX)),
        ("one prediction too many", Box::new(|p| p.prompt_predictions.push(0))),
        ("one prediction too few", Box::new(|p| {
            p.prompt_predictions.pop();
        })),
    ];
    for (name, edit) in edits {
        let mut p = f.proof.clone();
        edit(&mut p);
        let outcome = catch_unwind(AssertUnwindSafe(|| verify(vk, &p).is_ok()));
        assert_eq!(outcome.ok(), Some(false), "{name}: accepted or panicked");
    }
}
