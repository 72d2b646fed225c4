//! Qwen2 (GGUF architecture `qwen2`: Q/K/V biases, NEOX RoPE) on the tiny random Qwen2 GGUF of
//! `testdata/qwen2/` (made by `scripts/make_qwen2_tiny.py` from a transformers `Qwen2ForCausalLM`,
//! laid out as llama.cpp's converter writes Qwen2: Q/K rows NOT permuted): float path against
//! transformers float32, integer top-1 and KL; the controls (biases dropped, Q/K rows left in NEOX
//! order) do not match; bad tensors are clear errors.

use crate::common;
use common::{agreement, max_abs};
use std::path::PathBuf;
use zkinfer_model::llama::{Llama, LlamaQuant};
use zkinfer_model::source::ModelSource;
use zkinfer_model::{LlamaConfig, Model, ModelError, QuantConfig};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/qwen2").join(name)
}

fn gguf() -> zkinfer_gguf::GgufFile {
    zkinfer_gguf::GgufFile::open(testdata("qwen2-tiny.gguf")).expect("open fixture")
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("qwen2-tiny.ref.json")).expect("read ref")).expect("ref json")
}

fn ids(v: &serde_json::Value, k: &str) -> Vec<u32> {
    v[k].as_array().expect(k).iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

#[test]
fn config_and_name() {
    let f = gguf();
    let m = Model::load(&f).expect("load qwen2");
    assert_eq!(m.architecture().name(), "qwen2");
    let c: &LlamaConfig = m.hyperparameters().expect("a llama-family config");
    assert!(c.qkv_bias && c.neox && c.tied_output);
    assert_eq!((c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_rot, c.n_ff, c.n_ctx), (2, 64, 4, 2, 16, 16, 128, 256));
    assert_eq!((c.rope_base, c.eps), (1e6, 1e-6));
    // The Llama reader refuses a Qwen2 file (and the other way round).
    assert!(matches!(LlamaConfig::from_source(&f), Err(ModelError::UnsupportedArchitecture { .. })));
}

#[test]
fn float_path_matches_transformers_and_the_controls_do_not() {
    let f = gguf();
    let r = reference();
    let eval = ids(&r, "eval_ids");
    let (shape, want) = common::read_npy(&testdata("qwen2-tiny.logits.npy"));
    let m = Model::load(&f).expect("load");
    assert_eq!(shape, vec![eval.len(), m.config().n_vocab]);
    let max = max_abs(&m.logits_f32(&eval).expect("float"), &want);
    eprintln!("qwen2: float vs transformers max |Δ| {max:.3e}");
    assert!(max < 1e-2, "float vs transformers max abs {max}");
    let greedy = ids(&r, "greedy_transformers_f32");
    assert_eq!(m.generate_f32_until(&ids(&r, "greedy_prompt_ids"), greedy.len(), &[], |_| ()).expect("gen"), greedy);
    // Control 1: the Q/K rows left in NEOX order (no permutation) rotate the wrong pairs.
    let mut cfg = LlamaConfig::from_source_as(&f, "qwen2").expect("cfg");
    cfg.neox = false;
    let wrong = Model::with_architecture(Box::new(Llama::new(cfg, LlamaQuant::default()).expect("arch")), &f).expect("model");
    let off = max_abs(&wrong.logits_f32(&eval).expect("float"), &want);
    eprintln!("qwen2: unpermuted Q/K vs transformers max |Δ| {off:.3e}");
    assert!(off > 0.1, "{off}");
    // Control 2: the biases read as zeros.
    let nob = Model::from_source(&ZeroBiases(f), QuantConfig::default()).expect("model");
    let off = max_abs(&nob.logits_f32(&eval).expect("float"), &want);
    eprintln!("qwen2: zero biases vs transformers max |Δ| {off:.3e}");
    assert!(off > 0.1, "{off}");
}

#[test]
fn integer_path_agrees_with_transformers() {
    let f = gguf();
    let r = reference();
    let eval = ids(&r, "eval_ids");
    let (_, want) = common::read_npy(&testdata("qwen2-tiny.logits.npy"));
    let m = Model::load(&f).expect("load");
    let got = m.logits_int(&eval).expect("int logits");
    let n_vocab = m.config().n_vocab;
    let want_rows: Vec<Vec<f32>> = want.chunks(n_vocab).take(got.len()).map(<[f32]>::to_vec).collect();
    let (kl, top1) = agreement(&want_rows, &got);
    eprintln!("qwen2: integer vs transformers top-1 {top1:.4} over {}, mean KL {kl:.3e}", eval.len());
    assert!(top1 >= 0.97 && kl < 1e-3, "integer top-1 {top1}, KL {kl}");
    let greedy = ids(&r, "greedy_transformers_f32");
    assert_eq!(m.generate_int_until(&ids(&r, "greedy_prompt_ids"), greedy.len(), &[], |_| ()).expect("gen"), greedy);
}

/// The fixture with every `*.bias` tensor read as zeros (or one bias removed / misshaped).
struct ZeroBiases(zkinfer_gguf::GgufFile);

impl ModelSource for ZeroBiases {
    fn architecture(&self) -> Result<String, ModelError> {
        ModelSource::architecture(&self.0)
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        ModelSource::meta_u32(&self.0, key)
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        ModelSource::meta_f32(&self.0, key)
    }
    fn has_meta(&self, key: &str) -> bool {
        ModelSource::has_meta(&self.0, key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        ModelSource::tensor_shape(&self.0, name)
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let v = ModelSource::tensor_f32(&self.0, name)?;
        Ok(if name.ends_with(".bias") { vec![0.0; v.len()] } else { v })
    }
}

struct Edited {
    inner: zkinfer_gguf::GgufFile,
    drop: &'static str,
    reshape: Option<(&'static str, Vec<usize>)>,
}

impl ModelSource for Edited {
    fn architecture(&self) -> Result<String, ModelError> {
        ModelSource::architecture(&self.inner)
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        ModelSource::meta_u32(&self.inner, key)
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        ModelSource::meta_f32(&self.inner, key)
    }
    fn has_meta(&self, key: &str) -> bool {
        ModelSource::has_meta(&self.inner, key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        if name == self.drop {
            return None;
        }
        match &self.reshape {
            Some((n, s)) if *n == name => Some(s.clone()),
            _ => ModelSource::tensor_shape(&self.inner, name),
        }
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        ModelSource::tensor_f32(&self.inner, name)
    }
}

#[test]
fn missing_or_misshapen_biases_are_clear_errors() {
    let e = Model::from_source(&Edited { inner: gguf(), drop: "blk.1.attn_k.bias", reshape: None }, QuantConfig::default()).map(|_| ()).expect_err("missing bias");
    assert!(matches!(e, ModelError::MissingTensor(ref n) if n == "blk.1.attn_k.bias"), "{e}");
    let e = Model::from_source(&Edited { inner: gguf(), drop: "", reshape: Some(("blk.0.attn_q.bias", vec![32])) }, QuantConfig::default()).map(|_| ()).expect_err("bad shape");
    assert!(e.to_string().contains("blk.0.attn_q.bias"), "{e}");
}
