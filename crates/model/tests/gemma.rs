//! Gemma (GGUF architectures `gemma` and `gemma2`) on the tiny random GGUFs of `testdata/gemma/`
//! and `testdata/gemma2/` (made by `scripts/make_gemma_tiny.py` from transformers
//! `GemmaForCausalLM` / `Gemma2ForCausalLM`, laid out as llama.cpp's converter writes Gemma: norm
//! gains stored as `w + 1`, Q/K rows NOT permuted, tied head, head size 32 ≠ width / heads, one KV
//! head; Gemma 2 with post-norms, attention soft-cap 8 and final soft-cap 6): float path against
//! transformers float32, integer top-1, KL and largest logit error, greedy tokens; the controls
//! (no `sqrt(D)` embedding scale, Q/K left in NEOX order, Gemma 2 without its soft-caps) do not
//! match; the tokenizer adds BOS and stops at `<end_of_turn>`; bad Gemma 2 metadata is refused.
//! Gemma 3 (`testdata/gemma3/`, `Gemma3ForCausalLM`: QK-norm, 5 local blocks with RoPE base 10000
//! and 1 global with base 1e6 and linear scaling 8, sliding window 32, GQA 4/2, head size 32):
//! float and integer paths against transformers inside the window, the controls (no QK-norm, one
//! RoPE base, no linear scaling, no window beyond it) do not match, the context is capped at the
//! window, and bad Gemma 3 metadata is refused.

use crate::common;
use common::{agreement, max_abs};
use std::path::PathBuf;
use zkinfer_model::source::ModelSource;
use zkinfer_model::gemma::Gemma3Params;
use zkinfer_model::{Gemma, GemmaConfig, GemmaQuant, LlamaConfig, Model, ModelError, QuantConfig};

fn testdata(arch: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(arch).join(name)
}

fn gguf(arch: &str) -> zkinfer_gguf::GgufFile {
    zkinfer_gguf::GgufFile::open(testdata(arch, &format!("{arch}-tiny.gguf"))).expect("open fixture")
}

fn reference(arch: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata(arch, &format!("{arch}-tiny.ref.json"))).expect("read ref")).expect("ref json")
}

fn logits(arch: &str) -> (Vec<usize>, Vec<f32>) {
    common::read_npy(&testdata(arch, &format!("{arch}-tiny.logits.npy")))
}

fn g3(c: &mut GemmaConfig) -> &mut Gemma3Params {
    c.gemma3.as_mut().expect("gemma 3 parameters")
}

fn ids(v: &serde_json::Value, k: &str) -> Vec<u32> {
    v[k].as_array().expect(k).iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

/// The fixture's model built from `cfg` edited by `edit` (a control).
fn edited(f: &zkinfer_gguf::GgufFile, edit: impl FnOnce(&mut GemmaConfig)) -> Model {
    let mut cfg = GemmaConfig::from_source(f).expect("cfg");
    edit(&mut cfg);
    Model::with_architecture(Box::new(Gemma::new(cfg, GemmaQuant::default()).expect("arch")), f).expect("model")
}

#[test]
fn config_and_name() {
    let f = gguf("gemma");
    let m = Model::load(&f).expect("load gemma");
    assert_eq!(m.architecture().name(), "gemma");
    let c: &GemmaConfig = m.hyperparameters().expect("a gemma config");
    let b = &c.base;
    assert!(b.neox && b.tied_output && !b.qkv_bias && c.embd_scale && c.gemma2.is_none());
    assert_eq!((b.n_layer, b.n_embd, b.n_head, b.n_head_kv, b.head_dim, b.n_rot, b.n_ff, b.n_ctx), (2, 64, 4, 1, 32, 32, 128, 256));
    assert_eq!((b.rope_base, b.eps), (10000.0, 1e-6));
    // The Llama reader refuses a Gemma file.
    assert!(matches!(LlamaConfig::from_source(&f), Err(ModelError::UnsupportedArchitecture { .. })));

    let f = gguf("gemma2");
    let m = Model::load(&f).expect("load gemma2");
    assert_eq!(m.architecture().name(), "gemma2");
    let c: &GemmaConfig = m.hyperparameters().expect("a gemma config");
    let g = c.gemma2.expect("gemma 2 parameters");
    assert_eq!((g.attn_softcap, g.final_softcap, g.sliding_window), (Some(8), Some(6.0), 4096));
    assert_eq!(g.query_scale, 1.0 / 32f64.sqrt());
    assert_eq!(c.base.n_ctx, 256, "the context (256) is below the window");
    assert_eq!(m.architecture().final_logit_softcap(), Some(6.0));
}

fn float_matches(arch: &str) -> Model {
    let f = gguf(arch);
    let r = reference(arch);
    let eval = ids(&r, "eval_ids");
    let (shape, want) = logits(arch);
    let m = Model::load(&f).expect("load");
    assert_eq!(shape, vec![eval.len(), m.config().n_vocab]);
    let max = max_abs(&m.logits_f32(&eval).expect("float"), &want);
    eprintln!("{arch}: float vs transformers max |Δ| {max:.3e}");
    assert!(max < 1e-3, "float vs transformers max abs {max}");
    let greedy = ids(&r, "greedy_transformers_f32");
    assert_eq!(m.generate_f32_until(&ids(&r, "greedy_prompt_ids"), greedy.len(), &[], |_| ()).expect("gen"), greedy);
    m
}

/// The control `edit` of `arch`'s fixture is far (`> 0.1`) from transformers' logits.
fn control_is_off(arch: &str, what: &str, edit: impl FnOnce(&mut GemmaConfig)) {
    let f = gguf(arch);
    let eval = ids(&reference(arch), "eval_ids");
    let (_, want) = logits(arch);
    let off = max_abs(&edited(&f, edit).logits_f32(&eval).expect("float"), &want);
    eprintln!("{arch}: {what} vs transformers max |Δ| {off:.3e}");
    assert!(off > 0.1, "{arch} {what}: {off}");
}

#[test]
fn float_path_matches_transformers_and_the_controls_do_not() {
    float_matches("gemma");
    control_is_off("gemma", "no embedding scale", |c| c.embd_scale = false);
    control_is_off("gemma", "unpermuted Q/K", |c| c.base.neox = false);
}

#[test]
fn gemma2_float_path_matches_transformers_and_the_controls_do_not() {
    float_matches("gemma2");
    control_is_off("gemma2", "no embedding scale", |c| c.embd_scale = false);
    // The attention soft-cap alone (the final cap is applied to the reported logits either way).
    control_is_off("gemma2", "no attention soft-cap", |c| c.gemma2.as_mut().expect("g2").attn_softcap = None);
    control_is_off("gemma2", "no final soft-cap", |c| c.gemma2.as_mut().expect("g2").final_softcap = None);
}

fn integer_agrees(arch: &str) {
    let f = gguf(arch);
    let r = reference(arch);
    let eval = ids(&r, "eval_ids");
    let (_, want) = logits(arch);
    let m = Model::load(&f).expect("load");
    let got = m.logits_int(&eval).expect("int logits");
    let n_vocab = m.config().n_vocab;
    let want_rows: Vec<Vec<f32>> = want.chunks(n_vocab).take(got.len()).map(<[f32]>::to_vec).collect();
    let (kl, top1) = agreement(&want_rows, &got);
    // The fixtures' distributions are peaked (the tied head favours the input token), so the
    // largest logit error is the sharper measure here.
    let max = max_abs(&got, &want);
    eprintln!("{arch}: integer vs transformers top-1 {top1:.4} over {}, mean KL {kl:.3e}, max |Δ| {max:.3e}", eval.len());
    assert!(top1 >= 0.97 && kl < 1e-3 && max < 0.05, "integer top-1 {top1}, KL {kl}, max |Δ| {max}");
    let greedy = ids(&r, "greedy_transformers_f32");
    assert_eq!(m.generate_int_until(&ids(&r, "greedy_prompt_ids"), greedy.len(), &[], |_| ()).expect("gen"), greedy);
}

#[test]
fn integer_path_agrees_with_transformers() {
    integer_agrees("gemma");
}

#[test]
fn gemma2_integer_path_agrees_with_transformers() {
    integer_agrees("gemma2");
}

#[test]
fn tokenizer_adds_bos_and_stops_at_end_of_turn() {
    let f = gguf("gemma");
    let m = Model::load(&f).expect("load");
    let tok = m.architecture().tokenizer(&f).expect("tokenizer");
    let opts = zkinfer_tokenizer::EncodeOptions { add_special: true, parse_special: true };
    let ids = tok.encode_with("The llama is a camelid.<end_of_turn>", opts);
    assert_eq!(ids.first(), Some(&2), "BOS <bos> first: {ids:?}");
    assert_eq!(ids.last(), Some(&5), "<end_of_turn> parsed: {ids:?}");
    assert_eq!(tok.decode(&ids[1..ids.len() - 1]).expect("decode"), "The llama is a camelid.");
    let stops = m.architecture().stop_tokens(&tok);
    assert!(stops.contains(&1) && stops.contains(&5), "<eos> and <end_of_turn> stop: {stops:?}");
}

/// The Gemma 2 fixture with one metadata value replaced (or its architecture renamed).
struct Meta {
    inner: zkinfer_gguf::GgufFile,
    key: &'static str,
    f32: Option<f32>,
    u32: Option<u32>,
}

impl ModelSource for Meta {
    fn architecture(&self) -> Result<String, ModelError> {
        match self.key {
            "general.architecture" => Ok("gemma3n".into()),
            _ => ModelSource::architecture(&self.inner),
        }
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        match self.u32 {
            Some(v) if key == self.key => Ok(v),
            _ => ModelSource::meta_u32(&self.inner, key),
        }
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        match self.f32 {
            Some(v) if key == self.key => Ok(v),
            _ => ModelSource::meta_f32(&self.inner, key),
        }
    }
    fn has_meta(&self, key: &str) -> bool {
        (key == self.key && (self.f32.is_some() || self.u32.is_some() || key == "general.architecture")) || ModelSource::has_meta(&self.inner, key)
    }
    fn meta_str(&self, key: &str) -> Result<String, ModelError> {
        ModelSource::meta_str(&self.inner, key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        ModelSource::tensor_shape(&self.inner, name)
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        ModelSource::tensor_f32(&self.inner, name)
    }
}

#[test]
fn gemma2_context_is_capped_at_the_window_and_bad_caps_are_refused() {
    let load = |key, f32, u32| Model::from_source(&Meta { inner: gguf("gemma2"), key, f32, u32 }, QuantConfig::default());
    // A window shorter than the context caps it; a longer prompt is refused as too long.
    let m = load("gemma2.attention.sliding_window", None, Some(16)).expect("window 16");
    assert_eq!(m.config().n_ctx, 16);
    assert!(matches!(m.logits_int(&[2; 17]), Err(ModelError::TooLong { len: 17, ctx: 16 })));
    assert!(m.logits_int(&[2; 16]).is_ok());
    for (key, v) in [("gemma2.attn_logit_softcapping", 50.5), ("gemma2.attn_logit_softcapping", 0.0), ("gemma2.attn_logit_softcapping", f32::NAN), ("gemma2.attn_logit_softcapping", 1e9), ("gemma2.final_logit_softcapping", 0.0), ("gemma2.final_logit_softcapping", f32::INFINITY)] {
        let e = load(key, Some(v), None).map(|_| ()).expect_err("bad cap");
        assert!(e.to_string().contains(key.trim_start_matches("gemma2.")), "{key} = {v}: {e}");
    }
    let e = load("gemma2.attention.sliding_window", None, Some(0)).map(|_| ()).expect_err("window 0");
    assert!(e.to_string().contains("sliding_window"), "{e}");
    // Gemma 3n (per-layer embeddings, AltUp) is not supported: a clear error.
    let e = load("general.architecture", None, None).map(|_| ()).expect_err("gemma3n");
    assert!(matches!(e, ModelError::UnsupportedArchitecture { ref name, .. } if name == "gemma3n"), "{e}");
    assert!(GemmaConfig::from_source(&Meta { inner: gguf("gemma2"), key: "general.architecture", f32: None, u32: None }).is_err());
    // A post-norm missing is a clear error.
    let e = Model::from_source(&Missing(gguf("gemma2"), "blk.1.post_ffw_norm.weight"), QuantConfig::default()).map(|_| ()).expect_err("missing");
    assert!(matches!(e, ModelError::MissingTensor(ref n) if n == "blk.1.post_ffw_norm.weight"), "{e}");
}

/// A fixture without one tensor.
struct Missing(zkinfer_gguf::GgufFile, &'static str);

impl ModelSource for Missing {
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
    fn meta_str(&self, key: &str) -> Result<String, ModelError> {
        ModelSource::meta_str(&self.0, key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        if name == self.1 { None } else { ModelSource::tensor_shape(&self.0, name) }
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        ModelSource::tensor_f32(&self.0, name)
    }
}

#[test]
fn chat_prompt_has_gemma_turns_and_one_bos() {
    let f = gguf("gemma");
    let m = Model::load(&f).expect("load");
    let tok = m.architecture().tokenizer(&f).expect("tokenizer");
    let (text, ids) = zkinfer_tokenizer::chat::user_prompt(&f, &tok, "Llamas are social animals").expect("chat");
    assert_eq!(text, "<start_of_turn>user\nLlamas are social animals<end_of_turn>\n<start_of_turn>model\n");
    assert_eq!(ids.iter().filter(|&&i| i == 2).count(), 1, "one BOS: {ids:?}");
    assert_eq!((ids[0], ids[1]), (2, 4), "<bos><start_of_turn> first: {ids:?}");
    assert_eq!(ids.iter().filter(|&&i| i == 4).count(), 2, "two <start_of_turn>: {ids:?}");
    assert_eq!(ids.iter().filter(|&&i| i == 5).count(), 1, "one <end_of_turn>: {ids:?}");
    assert_eq!(tok.decode(&ids).expect("decode"), format!("<bos>{text}"));
}

#[test]
fn gemma3_config_blocks_and_ropes() {
    let f = gguf("gemma3");
    let m = Model::load(&f).expect("load gemma3");
    assert_eq!(m.architecture().name(), "gemma3");
    let c: &GemmaConfig = m.hyperparameters().expect("a gemma config");
    let b = &c.base;
    assert!(b.neox && b.tied_output && c.embd_scale);
    assert_eq!((b.n_layer, b.n_embd, b.n_head, b.n_head_kv, b.head_dim, b.n_ff, b.n_ctx_train), (6, 32, 4, 2, 32, 64, 128));
    assert_eq!(b.n_ctx, 32, "the context is capped at the window");
    let g2 = c.gemma2.expect("post-norms, query scale, window");
    assert_eq!((g2.attn_softcap, g2.final_softcap, g2.sliding_window, g2.query_scale), (None, None, 32, 1.0 / 32f64.sqrt()));
    assert_eq!(c.gemma3, Some(Gemma3Params { qk_norm: true, local_blocks: true, local_rope_base: 10000.0, rope_linear: 8.0 }));
    assert_eq!(b.rope_base, 1e6);
    assert_eq!((0..6).map(|l| c.is_local(l)).collect::<Vec<_>>(), [true, true, true, true, true, false]);
    assert_eq!(m.architecture().final_logit_softcap(), None);
    // The graph: a grouped RMSNorm on Q and K of every block, local blocks' RoPE at base 10000,
    // the global block's at 1e6 with factors 8.
    let g = m.graph(4).expect("graph");
    let norms: Vec<_> = g.nodes.iter().filter(|n| g.meta(n.output).name.ends_with("attn_q_norm.out") || g.meta(n.output).name.ends_with("attn_k_norm.out")).collect();
    assert_eq!(norms.len(), 12);
    let ropes: Vec<_> = g.nodes.iter().filter_map(|n| if let zkinfer_model::Op::Rope(r) = &n.op { Some((g.meta(n.output).name.clone(), r.base, r.freq_factors.to_vec())) } else { None }).collect();
    assert_eq!(ropes.len(), 12);
    for (name, base, factors) in ropes {
        if name.starts_with("blk.5.") {
            assert_eq!((base, factors), (1e6, vec![8.0; 16]), "{name}");
        } else {
            assert_eq!((base, factors), (10000.0, vec![]), "{name}");
        }
    }
}

#[test]
fn gemma3_float_path_matches_transformers_and_the_controls_do_not() {
    float_matches("gemma3");
    control_is_off("gemma3", "no QK-norm", |c| g3(c).qk_norm = false);
    control_is_off("gemma3", "one RoPE base (10000, unscaled) for every block", |c| {
        c.base.rope_base = 10000.0;
        g3(c).rope_linear = 1.0;
    });
    control_is_off("gemma3", "global blocks without linear scaling", |c| g3(c).rope_linear = 1.0);
    control_is_off("gemma3", "no embedding scale", |c| c.embd_scale = false);
}

/// Beyond the window the local blocks' mask matters: transformers' logits at 80 positions match
/// a model without the window (the cap lifted) only inside it. The real model refuses them.
#[test]
fn gemma3_window_matters_beyond_it_and_longer_contexts_are_refused() {
    let f = gguf("gemma3");
    let r = reference("gemma3");
    let long = ids(&r, "long_ids");
    let (shape, want) = common::read_npy(&testdata("gemma3", "gemma3-tiny.long.logits.npy"));
    assert_eq!(shape[0], long.len());
    let n_vocab = shape[1];
    let m = Model::load(&f).expect("load");
    assert!(matches!(m.logits_f32(&long), Err(ModelError::TooLong { len: 80, ctx: 32 })));
    assert!(matches!(m.logits_int(&long), Err(ModelError::TooLong { len: 80, ctx: 32 })));
    let unwindowed = edited(&f, |c| c.base.n_ctx = c.base.n_ctx_train);
    let got = unwindowed.logits_f32(&long).expect("float");
    let inside = max_abs(&got[..32], &want[..32 * n_vocab]);
    let beyond = max_abs(&got[32..], &want[32 * n_vocab..]);
    eprintln!("gemma3 without the window: max |Δ| {inside:.3e} inside it, {beyond:.3e} beyond it");
    assert!(inside < 1e-3, "inside the window: {inside}");
    assert!(beyond > 0.1, "beyond the window: {beyond}");
}

#[test]
fn gemma3_integer_path_agrees_with_transformers() {
    integer_agrees("gemma3");
}

#[test]
fn gemma3_bad_metadata_is_refused() {
    let load = |key, f32, u32| Model::from_source(&Meta { inner: gguf("gemma3"), key, f32, u32 }, QuantConfig::default());
    let m = load("gemma3.attention.sliding_window", None, Some(8)).expect("window 8");
    assert_eq!(m.config().n_ctx, 8);
    assert!(matches!(m.logits_int(&[2; 9]), Err(ModelError::TooLong { len: 9, ctx: 8 })));
    // Without a window every block is global and the context is the file's.
    let m = load("gemma3.attention.sliding_window", None, Some(0)).expect("no window");
    let c: &GemmaConfig = m.hyperparameters().expect("cfg");
    assert_eq!((c.base.n_ctx, c.gemma3.expect("g3").local_blocks), (128, false));
    for (key, f, u, what) in [
        ("gemma3.rope.scaling.factor", Some(0.5), None, "rope.scaling.factor"),
        ("gemma3.rope.scaling.factor", Some(f32::NAN), None, "rope.scaling.factor"),
        ("gemma3.rope.freq_base_swa", Some(1.0), None, "freq_base_swa"),
        ("gemma3.attn_logit_softcapping", Some(50.0), None, "attn_logit_softcapping"),
        ("gemma3.attention.sliding_window_pattern", None, Some(4), "sliding_window_pattern"),
        ("gemma3.attention.head_count", None, Some(3), "head_count"),
    ] {
        let e = load(key, f, u).map(|_| ()).expect_err(key);
        assert!(e.to_string().contains(what), "{key}: {e}");
    }
    // A QK-norm gain missing is a clear error.
    let e = Model::from_source(&Missing(gguf("gemma3"), "blk.2.attn_k_norm.weight"), QuantConfig::default()).map(|_| ()).expect_err("missing");
    assert!(matches!(e, ModelError::MissingTensor(ref n) if n == "blk.2.attn_k_norm.weight"), "{e}");
}
