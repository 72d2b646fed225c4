//! Graph validation, the GPT-2 builder on in-memory models, and load-time rejections.

use zkinfer_model::ops::add::Add;
use zkinfer_model::ops::matmul::MatMul;
use zkinfer_model::{GraphBuilder, MemorySource, Model, ModelError, Op, QuantConfig, TensorSource, WeightTensor, WeightValues};

fn tiny(tied: bool) -> MemorySource {
    MemorySource::random_gpt2(2, 32, 2, 16, 97, 5, tied)
}

#[test]
fn builder_graph_is_a_validated_dag_with_bounded_tensors() {
    let m = Model::from_source(&tiny(true), QuantConfig::default()).expect("model");
    let g = m.graph(7).expect("graph");
    g.validate().expect("valid");
    assert!(g.tensors.iter().all(|t| t.bits <= 62));
    // Residual fan-out: the embedding feeds the first LayerNorm and the first residual Add.
    let embd = g.find("embd").expect("embd");
    assert!(g.nodes.iter().filter(|n| n.inputs.contains(&embd)).count() >= 2);
    // Every weight the graph names exists in the store with the declared shape.
    for t in g.tensors.iter().filter(|t| t.source == TensorSource::Weight) {
        assert_eq!(m.weights().get(&t.name).expect("weight").shape, t.shape);
    }
    assert_eq!(g.meta(g.outputs[0]).shape, vec![7, 97]);
}

#[test]
fn validation_rejects_tampered_graphs() {
    let m = Model::from_source(&tiny(true), QuantConfig::default()).expect("model");
    let g = m.graph(4).expect("graph");
    let mut bad = g.clone();
    let out = bad.find("blk.0.attn_qkv.acc").expect("qkv accumulator");
    bad.tensors[out.0].shape[0] += 1;
    assert!(bad.validate().is_err(), "wrong shape");
    let mut bad = g.clone();
    bad.tensors[out.0].bits -= 1;
    assert!(bad.validate().is_err(), "understated bound");
    let mut bad = g.clone();
    let (a, b) = (bad.nodes.iter().position(|n| n.output == out).expect("node"), bad.nodes.iter().position(|n| n.inputs.contains(&out)).expect("consumer"));
    bad.nodes.swap(a, b);
    assert!(bad.validate().is_err(), "not topological");
    let mut bad = g.clone();
    bad.tensors[out.0].name = bad.tensors[0].name.clone();
    assert!(bad.validate().is_err(), "duplicate name");
    let mut bad = g.clone();
    let k = bad.nodes.iter().position(|n| n.output == out).expect("node");
    bad.nodes[k].inputs.swap(0, 1);
    assert!(bad.validate().is_err(), "weight in an activation slot");
}

#[test]
fn static_bounds_refuse_overflowing_graphs() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", vec![1, 4], 0, 31);
    let w = WeightTensor { shape: vec![2, 4], frac_bits: 0, values: WeightValues::I16(vec![1; 8]) };
    let wid = b.weight("w", &w);
    let y = b.node(Op::MatMul(MatMul { has_bias: false }), &[x, wid], "y", 0).expect("31+1+2 bits");
    let mut z = y;
    for i in 0..40 {
        match b.node(Op::Add(Add), &[z, z], format!("z{i}"), 0) {
            Ok(id) => z = id,
            Err(e) => {
                assert!(e.to_string().contains("2^63"), "{e}");
                return;
            }
        }
    }
    panic!("an unbounded chain of additions was accepted");
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn tied_and_separate_heads_both_load_and_agree_with_the_float() {
    for tied in [true, false] {
        let m = Model::from_source(&tiny(tied), QuantConfig::default()).expect("model");
        assert_eq!(m.config().tied_output, tied);
        let ids = [3u32, 14, 15, 92, 65, 35];
        let f = m.logits_f32(&ids).expect("float");
        let i = m.logits_int(&ids).expect("int");
        for (a, b) in f.iter().zip(&i) {
            assert!(cosine(a, b) > 0.999, "tied={tied}: cosine {}", cosine(a, b));
        }
        let completion = m.generate_int(&ids, 5, |_| {}).expect("generate");
        let mut all = ids.to_vec();
        all.extend(&completion);
        let next = m.forward_int(&all).expect("forward").next_tokens().expect("argmax");
        assert_eq!(&next[ids.len() - 1..all.len() - 1], &completion[..]);
    }
}

#[test]
fn load_rejects_foreign_or_malformed_models() {
    let mut s = tiny(true);
    s.arch = "mamba".into();
    let e = Model::from_source(&s, QuantConfig::default()).expect_err("must fail");
    assert_eq!(e.to_string(), "unsupported architecture \"mamba\" (supported: gpt2, llama, qwen2, gemma, gemma2, gemma3)");

    let mut s = tiny(true);
    s.tensors.remove("blk.1.ffn_down.bias");
    assert!(matches!(Model::from_source(&s, QuantConfig::default()), Err(ModelError::MissingTensor(n)) if n == "blk.1.ffn_down.bias"));

    let mut s = tiny(true);
    if let Some(t) = s.tensors.get_mut("blk.0.attn_qkv.weight") {
        t.0 = vec![32, 96];
    }
    assert!(matches!(Model::from_source(&s, QuantConfig::default()), Err(ModelError::TensorShape { .. })));

    let mut s = tiny(true);
    s.u32s.insert("gpt2.attention.head_count".into(), 4); // head dim 8: not a power of 4
    assert!(matches!(Model::from_source(&s, QuantConfig::default()), Err(ModelError::Hyperparameters(_))));

    let mut s = tiny(true);
    s.u32s.remove("gpt2.block_count");
    assert!(matches!(Model::from_source(&s, QuantConfig::default()), Err(ModelError::Metadata { .. })));

    let mut s = tiny(true);
    if let Some(t) = s.tensors.get_mut("blk.0.ffn_up.weight") {
        t.1[3] = f32::NAN;
    }
    assert!(Model::from_source(&s, QuantConfig::default()).is_err());
}
