//! Llama 3.1/3.2 RoPE frequency factors (`rope_freqs.weight`) on the tiny random Llama-3-style
//! GGUF of `testdata/llama3/` (made by `scripts/make_llama3_rope.py` from a transformers
//! `LlamaForCausalLM` with `rope_scaling = llama3`): the factors are read, the float path matches
//! transformers float32, the integer path agrees on top-1, the same model WITHOUT the factors
//! does not match (the test can fail), bad factor tensors and contexts are clear errors.

use crate::common;
use common::{agreement, max_abs};
use std::path::PathBuf;
use zkinfer_model::llama::{Llama, LlamaQuant};
use zkinfer_model::source::ModelSource;
use zkinfer_model::{LlamaConfig, Model, ModelError, QuantConfig};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama3").join(name)
}

fn gguf() -> zkinfer_gguf::GgufFile {
    zkinfer_gguf::GgufFile::open(testdata("llama3-rope-tiny.gguf")).expect("open fixture")
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("llama3-rope-tiny.ref.json")).expect("read ref")).expect("ref json")
}

fn ids(v: &serde_json::Value, k: &str) -> Vec<u32> {
    v[k].as_array().expect(k).iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

#[test]
fn factors_are_read_from_the_gguf() {
    let f = gguf();
    let m = Model::load(&f).expect("load");
    let c: &LlamaConfig = m.hyperparameters().expect("a llama");
    assert!(c.rope_freq_factors);
    assert_eq!((c.n_rot, c.n_ctx, c.n_ctx_train, c.rope_base, c.tied_output), (16, 256, 256, 10000.0, true));
    let arch = m.architecture().as_any().downcast_ref::<Llama>().expect("llama");
    let want: Vec<f32> = reference()["rope_factors"].as_array().expect("factors").iter().map(|v| v.as_f64().expect("f") as f32).collect();
    assert_eq!(arch.freq_factors(), &want[..]);
    assert_eq!(want.len(), 8);
    assert!(want.contains(&1.0) && want.contains(&8.0) && want.iter().any(|&v| v > 1.0 && v < 8.0));
}

/// Float path against transformers float32 (≤ 1e-2; ≈ 1e-5 measured), greedy tokens equal; the
/// control: the same weights with plain RoPE (no factors) are far from the reference.
#[test]
fn float_path_matches_transformers_and_plain_rope_does_not() {
    let f = gguf();
    let r = reference();
    let eval = ids(&r, "eval_ids");
    let (shape, want) = common::read_npy(&testdata("llama3-rope-tiny.logits.npy"));
    let m = Model::load(&f).expect("load");
    assert_eq!(shape, vec![eval.len(), m.config().n_vocab]);
    let got = m.logits_f32(&eval).expect("float logits");
    let max = max_abs(&got, &want);
    eprintln!("llama3 rope: float vs transformers max |Δ| {max:.3e}");
    assert!(max < 1e-2, "float vs transformers max abs {max}");
    let greedy = ids(&r, "greedy_transformers_f32");
    assert_eq!(m.generate_f32_until(&ids(&r, "greedy_prompt_ids"), greedy.len(), &[], |_| ()).expect("gen"), greedy);

    let cfg = LlamaConfig::from_source(&f).expect("cfg");
    let plain = Llama::new(cfg, LlamaQuant { base: QuantConfig::default(), ..LlamaQuant::default() }).expect("plain");
    let plain = Model::with_architecture(Box::new(plain), &f).expect("plain model");
    let off = max_abs(&plain.logits_f32(&eval).expect("float"), &want);
    eprintln!("llama3 rope: plain RoPE vs transformers max |Δ| {off:.3e}");
    assert!(off > 0.1, "ignoring the factors must be visible: {off}");
}

/// Integer path (the proven one) against transformers float32: top-1 agreement and mean KL.
#[test]
fn integer_path_agrees_with_transformers() {
    let f = gguf();
    let r = reference();
    let eval = ids(&r, "eval_ids");
    let (_, want) = common::read_npy(&testdata("llama3-rope-tiny.logits.npy"));
    let m = Model::load(&f).expect("load");
    let got = m.logits_int(&eval).expect("int logits");
    let n_vocab = m.config().n_vocab;
    let want_rows: Vec<Vec<f32>> = want.chunks(n_vocab).take(got.len()).map(<[f32]>::to_vec).collect();
    let (kl, top1) = agreement(&want_rows, &got);
    let max = max_abs(&got, &want);
    eprintln!("llama3 rope: integer vs transformers top-1 {top1:.4} over {}, mean KL {kl:.3e}, max |Δ| {max:.3e}", eval.len());
    // Top-1 alone is weak on a random model (an integer path with the plain table still agrees
    // on most rows, 99.2 % here): the KL and the logit distance separate them (plain table: KL 1.4e-2,
    // |Δ| 3.8; with the factors: 3.2e-6 and 4.1e-2).
    assert!(top1 >= 0.97 && kl < 1e-3 && max < 0.1, "integer top-1 {top1}, KL {kl}, max |Δ| {max}");
    let greedy = ids(&r, "greedy_transformers_f32");
    assert_eq!(m.generate_int_until(&ids(&r, "greedy_prompt_ids"), greedy.len(), &[], |_| ()).expect("gen"), greedy);
}

/// The fixture's GGUF with `rope_freqs.weight` replaced (or a context length overridden).
struct Patched {
    inner: zkinfer_gguf::GgufFile,
    freqs: Option<(Vec<usize>, Vec<f32>)>,
    ctx: Option<u32>,
}

impl ModelSource for Patched {
    fn architecture(&self) -> Result<String, ModelError> {
        ModelSource::architecture(&self.inner)
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        match (key, self.ctx) {
            ("llama.context_length", Some(c)) => Ok(c),
            _ => ModelSource::meta_u32(&self.inner, key),
        }
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        ModelSource::meta_f32(&self.inner, key)
    }
    fn has_meta(&self, key: &str) -> bool {
        ModelSource::has_meta(&self.inner, key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        match (&self.freqs, name) {
            (Some((s, _)), "rope_freqs.weight") => Some(s.clone()),
            _ => ModelSource::tensor_shape(&self.inner, name),
        }
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        match (&self.freqs, name) {
            (Some((_, v)), "rope_freqs.weight") => Ok(v.clone()),
            _ => ModelSource::tensor_f32(&self.inner, name),
        }
    }
}

#[test]
fn bad_factor_tensors_are_clear_errors() {
    let good = vec![1.0f32, 1.3, 7.7, 8.0, 8.0, 8.0, 8.0, 8.0];
    let with = |i: usize, v: f32| {
        let mut g = good.clone();
        g[i] = v;
        (vec![8], g)
    };
    let cases = [
        ((vec![7], good[..7].to_vec()), "rope_freqs.weight"),
        ((vec![16], [good.clone(), good.clone()].concat()), "rope_freqs.weight"),
        ((vec![2, 4], good.clone()), "rope_freqs.weight"),
        (with(0, 0.5), "not in [1"),
        (with(3, f32::NAN), "not in [1"),
        (with(7, f32::INFINITY), "not in [1"),
        (with(2, -8.0), "not in [1"),
        (with(5, 1e9), "not in [1"),
    ];
    for (freqs, want) in cases {
        let src = Patched { inner: gguf(), freqs: Some(freqs.clone()), ctx: None };
        let e = Model::from_source(&src, QuantConfig::default()).map(|_| ()).expect_err("bad factors").to_string();
        assert!(e.contains(want), "{freqs:?}: {e}");
    }
    // Factors of 1 are accepted and give the plain model exactly.
    let ones = Patched { inner: gguf(), freqs: Some((vec![8], vec![1.0; 8])), ctx: None };
    let m = Model::from_source(&ones, QuantConfig::default()).expect("ones");
    let f = gguf();
    let plain = Llama::new(LlamaConfig::from_source(&f).expect("cfg"), LlamaQuant::default()).expect("plain");
    let plain = Model::with_architecture(Box::new(plain), &f).expect("plain model");
    assert_eq!(m.logits_int(&[1, 2, 3]).expect("int"), plain.logits_int(&[1, 2, 3]).expect("int"));
}

/// Llama 3.1/3.2 declare a 131072-position context: the proven context is capped (not refused),
/// and a prompt past the cap is a clear error.
#[test]
fn long_declared_contexts_are_capped() {
    for (declared, want) in [(131072u32, 8192usize), (32768, 8192), (8192, 8192), (300, 300), (u32::MAX, 8192)] {
        let src = Patched { inner: gguf(), freqs: None, ctx: Some(declared) };
        let c = LlamaConfig::from_source(&src).expect("cfg");
        assert_eq!((c.n_ctx, c.n_ctx_train), (want, declared as usize), "{declared}");
    }
    let src = Patched { inner: gguf(), freqs: None, ctx: Some(0) };
    assert!(LlamaConfig::from_source(&src).is_err());
    // A Llama 3.2 declaration loads: the model, its key template at the capped context (8192
    // positions), and a prompt past the cap is TooLong.
    let src = Patched { inner: gguf(), freqs: None, ctx: Some(131072) };
    let m = Model::from_source(&src, QuantConfig::default()).expect("loads");
    assert_eq!(m.config().n_ctx, 8192);
    let t = std::time::Instant::now();
    m.graph_template().expect("template at the capped context");
    eprintln!("template at n_ctx 8192: {:.2} s", t.elapsed().as_secs_f64());
    assert!(matches!(m.generate_int(&vec![1; 8193], 1, |_| ()), Err(ModelError::TooLong { .. })));
}
