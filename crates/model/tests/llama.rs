//! The Llama architecture on the tiny random Llama GGUFs of `testdata/llama/` (F16 untied with
//! GQA, Q8_0 tied): float reference vs transformers float32 logits and greedy tokens (and
//! llama.cpp's), integer vs float agreement, KV-cache consistency, bad input.

use crate::common;
use common::agreement;
use std::path::PathBuf;
use zkinfer_model::{LlamaConfig, Model, ModelError};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama").join(name)
}

fn load(name: &str) -> Model {
    let gguf = zkinfer_gguf::GgufFile::open(testdata(name)).expect("open fixture");
    let m = Model::load(&gguf).expect("load llama");
    assert_eq!(m.architecture().name(), "llama");
    m
}

struct Reference {
    prompt_ids: Vec<u32>,
    eval_ids: Vec<u32>,
    greedy_transformers: Vec<u32>,
    greedy_llamacpp: Vec<u32>,
}

fn reference(name: &str) -> Reference {
    let text = std::fs::read_to_string(testdata(name)).expect("read ref");
    let v: serde_json::Value = serde_json::from_str(&text).expect("ref json");
    let ids = |k: &str| v[k].as_array().expect(k).iter().map(|x| x.as_u64().expect("id") as u32).collect::<Vec<_>>();
    Reference {
        prompt_ids: ids("prompt_ids"),
        eval_ids: ids("eval_ids"),
        greedy_transformers: ids("greedy_transformers_f32"),
        greedy_llamacpp: ids("greedy_llamacpp"),
    }
}

#[test]
fn config_from_metadata() {
    let m = load("llama-tiny-random.gguf");
    let c: &LlamaConfig = m.hyperparameters().expect("a llama");
    assert_eq!((c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab, c.n_ctx), (2, 64, 4, 2, 16, 176, 49152, 256));
    assert_eq!((c.n_rot, c.rope_base, c.eps, c.tied_output), (16, 10000.0, 1e-5, false));
    assert!(load("llama-tiny-random-q8_0.gguf").config().tied_output);
    assert!(m.hyperparameters::<zkinfer_model::Gpt2Config>().is_none());
}

#[test]
fn float_reference_matches_transformers_logits_and_greedy() {
    let m = load("llama-tiny-random.gguf");
    let r = reference("llama-tiny-random.ref.json");
    let (shape, want) = common::read_npy(&testdata("llama-tiny-random.logits.npy"));
    assert_eq!(shape, vec![r.eval_ids.len(), m.config().n_vocab]);
    let got = m.logits_f32(&r.eval_ids).expect("float logits");
    let max = got.iter().flatten().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    eprintln!("float vs transformers: max abs {max:.3e}");
    assert!(max < 1e-2, "float vs transformers max abs {max}");
    let n = r.greedy_transformers.len();
    assert_eq!(m.generate_f32_until(&r.prompt_ids, n, &[], |_| ()).expect("generate"), r.greedy_transformers);
    assert_eq!(r.greedy_transformers, r.greedy_llamacpp);
}

#[test]
fn integer_path_agrees_with_float_and_greedy_references() {
    for (model, refname) in [("llama-tiny-random.gguf", "llama-tiny-random.ref.json"), ("llama-tiny-random-q8_0.gguf", "llama-tiny-random-q8_0.ref.json")] {
        let m = load(model);
        let r = reference(refname);
        let f = m.logits_f32(&r.eval_ids).expect("float");
        let i = m.logits_int(&r.eval_ids).expect("int");
        let (kl, top1) = agreement(&f, &i);
        eprintln!("{model}: integer vs float: top-1 {top1:.4}, mean KL {kl:.3e}");
        assert!(top1 >= 0.97 && kl < 1e-3, "{model}: top-1 {top1}, KL {kl}");
        let n = r.greedy_transformers.len();
        assert_eq!(m.generate_int_until(&r.prompt_ids, n, &[], |_| ()).expect("generate"), r.greedy_transformers, "{model}");
        if model.contains("q8_0") {
            assert_eq!(m.generate_f32_until(&r.prompt_ids, n, &[], |_| ()).expect("generate"), r.greedy_transformers);
        }
    }
}

#[test]
fn integer_kv_cache_steps_equal_the_full_pass() {
    let m = load("llama-tiny-random-q8_0.gguf");
    let ids = [1u32, 504, 303, 4130, 81, 365, 60, 9, 40000];
    let full = m.forward_int(&ids).expect("full");
    let full_logits = full.logits().expect("logits").clone();
    let mut cache = m.new_int_cache();
    let mut rows = m.step_int(&mut cache, &ids[..4]).expect("prefix").data;
    for &id in &ids[4..] {
        rows.extend(m.step_int(&mut cache, &[id]).expect("step").data);
    }
    assert_eq!(rows, full_logits.data);
    assert_eq!(cache.len(), ids.len());
    // Generation with a stop token stops right after it.
    let all = m.generate_int_until(&ids, 6, &[], |_| ()).expect("gen");
    let stopped = m.generate_int_until(&ids, 6, &[all[2]], |_| ()).expect("gen");
    let first = all.iter().position(|&t| t == all[2]).expect("present");
    assert_eq!(stopped, all[..=first].to_vec());
}

#[test]
fn bad_requests_are_errors() {
    let m = load("llama-tiny-random-q8_0.gguf");
    assert!(matches!(m.forward_int(&[]), Err(ModelError::Empty)));
    assert!(matches!(m.forward_int(&[49152]), Err(ModelError::TokenOutOfRange { .. })));
    assert!(matches!(m.generate_int(&[1; 250], 10, |_| ()), Err(ModelError::TooLong { .. })));
    // Each family's config reader refuses the other's file; the registry dispatches both.
    let gpt2 = zkinfer_gguf::GgufFile::open(testdata("../gpt2-tiny-random.gguf")).expect("gpt2");
    assert!(matches!(LlamaConfig::from_source(&gpt2), Err(ModelError::UnsupportedArchitecture { .. })));
    let llama = zkinfer_gguf::GgufFile::open(testdata("llama-tiny-random.gguf")).expect("llama");
    assert!(matches!(zkinfer_model::Gpt2Config::from_source(&llama), Err(ModelError::UnsupportedArchitecture { .. })));
    assert_eq!(Model::load(&gpt2).expect("gpt2").architecture().name(), "gpt2");
}
