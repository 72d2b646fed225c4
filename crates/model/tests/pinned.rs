//! Pins the proven integer semantics of every shipped fixture (both GPT-2 fixtures, the tiny
//! Llama fixtures, the tiny Gemma, a tied in-memory GPT-2): a digest of the quantized weights, of the graphs (the
//! full pass and a KV-cache step: ops with their key encoding, wiring, shapes, scales, bounds), of
//! the integer logits of the full pass, and of every KV-cache step's logits, plus the greedy tokens.
//!
//! Refactors of the model crate (the architecture trait, the builders) must leave these
//! bit-identical: a proof made before still verifies with the same statement. Changing a digest
//! is a change of the proven computation and needs a key-format decision, not an update here.
//! Key version 8 (RoPE ops encode their frequency factors) changed the two Llama graph digests
//! only: weights, logits, steps and greedy tokens are those of version 7.
//! `PIN_PRINT=1 cargo test -p zkinfer-model --test all -- pinned:: --nocapture` prints the current values.

use std::path::PathBuf;
use zkinfer_model::codec::Writer;
use zkinfer_model::{Graph, MemorySource, Model, QuantConfig, TensorSource, WeightValues};

/// FNV-1a, 64 bits: stable across Rust versions (unlike `DefaultHasher`).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn i64s(&mut self, v: &[i64]) {
        self.u64(v.len() as u64);
        for &x in v {
            self.u64(x as u64);
        }
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }
}

fn graph_digest(g: &Graph) -> u64 {
    let mut h = Fnv::new();
    for t in &g.tensors {
        h.str(&t.name);
        h.i64s(&t.shape.iter().map(|&d| d as i64).collect::<Vec<_>>());
        h.u64(match t.source {
            TensorSource::Input => 0,
            TensorSource::Weight => 1,
            TensorSource::Activation => 2,
        });
        h.u64(t.frac_bits as i64 as u64);
        h.u64(t.bits as u64);
    }
    for n in &g.nodes {
        let mut w = Writer::new();
        n.op.encode(&mut w);
        h.bytes(&w.into_bytes());
        h.i64s(&n.inputs.iter().map(|i| i.0 as i64).collect::<Vec<_>>());
        h.u64(n.output.0 as u64);
    }
    h.i64s(&g.inputs.iter().map(|i| i.0 as i64).collect::<Vec<_>>());
    h.i64s(&g.outputs.iter().map(|i| i.0 as i64).collect::<Vec<_>>());
    h.0
}

struct Pins {
    weights: u64,
    graph: u64,
    step_graph: u64,
    logits: u64,
    steps: u64,
    greedy: Vec<u32>,
}

/// `pins!(model, ids, n_gen, generate)`: a macro so that it applies to every model type.
macro_rules! pins {
    ($m:expr, $ids:expr, $n_gen:expr, $generate:expr) => {{
        let (m, ids, n_gen) = ($m, $ids, $n_gen);
        let mut h = Fnv::new();
        for (name, t) in m.weights().iter() {
            h.str(name);
            h.i64s(&t.shape.iter().map(|&d| d as i64).collect::<Vec<_>>());
            h.u64(t.frac_bits as i64 as u64);
            h.u64(matches!(t.values, WeightValues::I16(_)) as u64);
            h.i64s(&t.to_i64_vec());
        }
        let weights = h.0;
        // The full pass (predictions at every position) and the proven pass (predictions at the
        // last half of the positions only: the `out_rows` gather).
        let fwd = m.forward_int(ids).expect("forward");
        let proven = m.forward_int_outputs(ids, ids.len() - ids.len() / 2).expect("forward with outputs");
        let mut h = Fnv::new();
        for f in [&fwd, &proven] {
            h.i64s(&f.logits().expect("logits").data);
            h.i64s(&f.next_tokens().expect("argmax").iter().map(|&t| t as i64).collect::<Vec<_>>());
            h.u64(f.logits_frac_bits() as i64 as u64);
        }
        let logits = h.0;
        let mut h = Fnv::new();
        h.u64(graph_digest(&fwd.graph));
        h.u64(graph_digest(&proven.graph));
        let graph = h.0;
        // KV-cache steps: the first half as one step, then one token at a time.
        let mut cache = m.new_int_cache();
        let mut h = Fnv::new();
        let (prompt, rest) = ids.split_at(ids.len() / 2);
        h.i64s(&m.step_int(&mut cache, prompt).expect("prompt step").data);
        for &t in rest {
            h.i64s(&m.step_int(&mut cache, &[t]).expect("step").data);
        }
        let steps = h.0;
        let generate: &dyn Fn(&[u32], usize) -> Vec<u32> = &$generate;
        let greedy = generate(prompt, n_gen);
        Pins {
            weights,
            graph,
            step_graph: graph_digest(&m.step_graph(1, prompt.len()).expect("step graph")),
            logits,
            steps,
            greedy,
        }
    }};
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn load(name: &str) -> Model {
    let gguf = zkinfer_gguf::GgufFile::open(testdata(name)).expect("fixture opens");
    Model::load(&gguf).expect("fixture loads")
}

fn check(what: &str, got: Pins, want: (u64, u64, u64, u64, u64, &[u32])) {
    if std::env::var_os("PIN_PRINT").is_some() {
        eprintln!(
            "{what}: ({:#018x}, {:#018x}, {:#018x}, {:#018x}, {:#018x}, &{:?}),",
            got.weights, got.graph, got.step_graph, got.logits, got.steps, got.greedy
        );
        return;
    }
    assert_eq!(got.weights, want.0, "{what}: quantized weights changed");
    assert_eq!(got.graph, want.1, "{what}: the graph of the proven pass changed");
    assert_eq!(got.step_graph, want.2, "{what}: the KV-cache step graph changed");
    assert_eq!(got.logits, want.3, "{what}: integer logits changed");
    assert_eq!(got.steps, want.4, "{what}: KV-cache step logits changed");
    assert_eq!(got.greedy, want.5, "{what}: greedy integer tokens changed");
}

const GPT2_IDS: [u32; 9] = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290];
const LLAMA_IDS: [u32; 9] = [1, 504, 303, 4130, 81, 365, 60, 9, 40000];
const LLAMA3_IDS: [u32; 9] = [296, 50, 3, 270, 81, 265, 60, 9, 200];

#[test]
fn gpt2_fixtures_are_pinned() {
    for (name, want) in [("gpt2-tiny-random.gguf", (0xa34680c0e46f94cf, 0xb17c6d2fe359249e, 0x0bdadbfde665e9cc, 0xd14cc5d9d05f191d, 0x6e24da58f237f4ba, &[49994; 10][..])), ("gpt2-tiny-random-q8_0.gguf", (0xb4e45b888b94b292, 0xb17c6d2fe359249e, 0x0bdadbfde665e9cc, 0x86fd8e637978d0f1, 0xe9022dde4ce27e72, &[49994; 10][..]))] {
        let m = load(name);
        check(name, pins!(&m, &GPT2_IDS, 10, |p, n| m.generate_int(p, n, |_| {}).expect("generate")), want);
    }
    let m = Model::from_source(&MemorySource::random_gpt2(2, 32, 2, 16, 97, 5, true), QuantConfig::default()).expect("model");
    check("random-gpt2-tied", pins!(&m, &[5, 17, 3, 96, 42, 7], 6, |p, n| m.generate_int(p, n, |_| {}).expect("generate")), (0xe0e08f731eda8000, 0x98b5630e02849819, 0x1843bd8fc5b78211, 0xbf555c450d08cd5c, 0x25e2fdb869a6b300, &[55, 55, 42, 43, 55, 55]));
}

#[test]
fn llama_fixtures_are_pinned() {
    for (name, want) in [(
            "llama/llama-tiny-random.gguf",
            (0xf42b59d89d28c8f3, 0xf998833808112dc7, 0x3444de032425a94e, 0x4a11329dffa1fb05, 0x6a701193e6370cea, &[29640, 16641, 46603, 46826, 28188, 46166, 12559, 39102, 35811, 22624][..]),
        ), (
            "llama/llama-tiny-random-q8_0.gguf",
            (0x3d4b039f05e508a4, 0x630db1c8d96fa437, 0x051790c8529155b6, 0x907e5579d7a13c60, 0xd1449a7190bd52b1, &[4130; 10][..]),
        ), (
            // Llama 3 RoPE frequency factors (rope_freqs.weight); its ids are below its 299 tokens.
            "llama3/llama3-rope-tiny.gguf",
            (0x7fb4056489901673, 0x3c9f853a3d3b544f, 0xf2480f0b20adbeb6, 0x3a0dde981abb4d00, 0xf7ec65b188179ca9, &[270; 10][..]),
        )] {
        let gguf = zkinfer_gguf::GgufFile::open(testdata(name)).expect("fixture opens");
        let m = zkinfer_model::LlamaModel::load(&gguf).expect("fixture loads");
        let ids = if name.starts_with("llama3") { LLAMA3_IDS } else { LLAMA_IDS };
        check(name, pins!(&m, &ids, 10, |p, n| m.generate_int_until(p, n, &[], |_| {}).expect("generate")), want);
    }
}

const GEMMA_IDS: [u32; 9] = [2, 300, 41, 270, 81, 265, 60, 9, 200];

#[test]
fn gemma_fixtures_are_pinned() {
    for (name, want) in [
        ("gemma/gemma-tiny.gguf", (0x460de97117143f0a, 0xbb296b0c3cb06cd8, 0x461eb544e44aa978, 0xb96bed2f9996efac, 0xa8dd33b7b0028c54, &[270; 10][..])),
        ("gemma2/gemma2-tiny.gguf", (0x6b5a69b46f69b463, 0x98cf8c27b89c7179, 0x772dad5080f43e8e, 0xca0a40d988cd252b, 0x48fb574c111102aa, &[270; 10][..])),
        ("gemma3/gemma3-tiny.gguf", (0xbc91d65d7cb33a5c, 0xdcddc0c3b763d920, 0x8207260bad60727c, 0x67896f386e8e69c0, 0x40ddf24ccb763644, &[270, 270, 270, 147, 147, 147, 147, 147, 147, 147][..])),
    ] {
        let m = load(name);
        check(name, pins!(&m, &GEMMA_IDS, 10, |p, n| m.generate_int_until(p, n, &[], |_| {}).expect("generate")), want);
    }
}
