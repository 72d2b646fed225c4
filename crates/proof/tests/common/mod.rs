//! Helpers shared by the proof crate's stream tests.
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProvingKey, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

/// A fixture of `testdata/` (path relative to it) and its proving key (setup seed zero).
pub fn load(file: &str) -> (Model, ProvingKey) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(file);
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    (model, pk)
}

/// Re-evaluates the nodes `graph.nodes[from..]` in order from the (tampered) trace, a node's op
/// replaced by `subst(op)` where that gives one: a malicious prover re-deriving everything
/// downstream of its edit (with `subst`, one computing some ops its own way). False when an
/// operand is missing or an op refuses the edited values (no consistent trace exists).
pub fn recompute_from(
    graph: &zkinfer_model::Graph,
    trace: &mut zkinfer_model::IntTrace,
    weights: &zkinfer_model::Weights,
    from: usize,
    subst: impl Fn(&zkinfer_model::Op) -> Option<zkinfer_model::Op>,
) -> bool {
    use zkinfer_model::{Operand, TensorSource};
    for node in &graph.nodes[from..] {
        let operands: Option<Vec<Operand<'_>>> = node
            .inputs
            .iter()
            .map(|id| match graph.meta(*id).source {
                TensorSource::Weight => weights.get(&graph.meta(*id).name).map(Operand::Weight),
                _ => trace.values[id.0].as_ref().map(Operand::Act),
            })
            .collect();
        let Some(operands) = operands else { return false };
        let out = match subst(&node.op) {
            Some(op) => zkinfer_model::ops::eval_int(&op, &operands),
            None => zkinfer_model::ops::eval_int(&node.op, &operands),
        };
        match out {
            Ok(o) => trace.values[node.output.0] = Some(o),
            Err(_) => return false,
        }
    }
    true
}

/// Recomputes every node after `start` from the (tampered) trace ([`recompute_from`] with the
/// graph's own ops). False when an op refuses the edited values (no consistent trace exists).
pub fn propagate_after(graph: &zkinfer_model::Graph, trace: &mut zkinfer_model::IntTrace, weights: &zkinfer_model::Weights, start: usize) -> bool {
    recompute_from(graph, trace, weights, start + 1, |_| None)
}

/// The malicious prover of the end-to-end tests: +1 on the middle element of `tensor`, then every
/// later node recomputed, so that the trace is consistent everywhere except at the op that
/// produced `tensor`. False if `tensor` is not in the trace, has no producer, or the perturbation
/// cannot be propagated.
pub fn perturb_and_propagate(graph: &zkinfer_model::Graph, trace: &mut zkinfer_model::IntTrace, weights: &zkinfer_model::Weights, tensor: usize) -> bool {
    let Some(t) = trace.values[tensor].as_mut() else { return false };
    let i = t.data.len() / 2;
    t.data[i] += 1;
    let Some(start) = graph.nodes.iter().position(|n| n.output.0 == tensor) else { return false };
    propagate_after(graph, trace, weights, start)
}

/// While alive (on its thread), a chunked stream's commitments take the test-only small-codeword
/// target 0 (`zkinfer_verifier::chunked::set_test_small_codewords`: every group at rate 1/2, the
/// tiny fixtures' chunk witnesses of ≈ 2^20 entries in codewords of 2^21 instead of 2^24–2^26).
/// Prover and verifier read the hook on the thread that calls them, so both sides of a stream
/// proven and verified under it derive the same parameters; a verifier without it refuses such a
/// stream (`review_chunked::a_stream_at_another_target_or_rate_is_refused`). For tests whose
/// property is decided by the shapes, the epochs or the checks under attack, not by the rates.
#[derive(Debug)]
pub struct TestCodewords;

impl TestCodewords {
    /// Turns the hook on until the guard is dropped.
    pub fn on() -> Self {
        zkinfer_verifier::chunked::set_test_small_codewords(Some(0));
        TestCodewords
    }
}

impl Drop for TestCodewords {
    fn drop(&mut self) {
        zkinfer_verifier::chunked::set_test_small_codewords(None);
    }
}

/// The hostile-bytes campaigns' generator (`review_decode`, `review16`): SplitMix64, fixed seed.
pub use zkinfer_field::SplitMix64 as Rng;

/// A mutation campaign's vocabulary: the values written over 4 or 8 bytes, and whether two 8-byte
/// words may swap places. Each campaign keeps its own, so its fixed seed gives the same mutants as
/// when each file had its own copy of [`mutate`].
#[derive(Debug)]
pub struct Mutations {
    pub interesting: &'static [u64],
    pub swap_words: bool,
}

/// `review_decode`'s: lengths and counts blown up, zeroed, off by one.
pub const DECODE_MUTATIONS: Mutations =
    Mutations { interesting: &[0, 1, 2, 0x7F, 0xFF, 1 << 31, u32::MAX as u64, 1 << 32, i64::MAX as u64, u64::MAX], swap_words: false };

/// `review16`'s: also the field's modulus (a non-canonical limb), 0x80, 2^63, and word swaps.
pub const STREAM_MUTATIONS: Mutations = Mutations {
    interesting: &[0, 1, 2, 0x7F, 0x80, 1 << 31, u32::MAX as u64, 1 << 32, 0xFFFF_FFFF_0000_0001, i64::MAX as u64, 1 << 63, u64::MAX],
    swap_words: true,
};

/// One to three mutations of `b`: a bit flipped, a byte replaced, an interesting value written
/// over 4 or 8 bytes, truncation, 1–8 random bytes inserted, 1–8 bytes deleted, and (with
/// `swap_words`) two 8-byte words swapped. With `hot` ranges (headers, record framing, the first
/// bytes of a segment: where the lengths and counts are), half of them land in one.
pub fn mutate(rng: &mut Rng, b: &mut Vec<u8>, hot: &[std::ops::Range<usize>], kinds: &Mutations) {
    for _ in 0..1 + rng.below(3) {
        let len = b.len();
        if len < 16 {
            return;
        }
        let i = if !hot.is_empty() && rng.below(2) == 0 {
            let r = &hot[rng.below(hot.len())];
            (r.start + rng.below(r.len())).min(len - 1)
        } else {
            rng.below(len)
        };
        let interesting = kinds.interesting;
        match rng.below(if kinds.swap_words { 8 } else { 7 }) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = rng.next_u64() as u8,
            2 => {
                let v = interesting[rng.below(interesting.len())];
                let at = i.min(len - 4);
                b[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
            }
            3 => {
                let v = interesting[rng.below(interesting.len())];
                let at = i.min(len - 8);
                b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            4 => b.truncate(i),
            5 => {
                let n = 1 + rng.below(8);
                b.splice(i..i, (0..n).map(|_| rng.next_u64() as u8));
            }
            6 => {
                let end = (i + 1 + rng.below(8)).min(len);
                b.drain(i..end);
            }
            _ => {
                let (x, y) = (rng.below(len - 8), rng.below(len - 8));
                for k in 0..8 {
                    b.swap(x + k, y + k);
                }
            }
        }
    }
}

/// A tiny fixture's model and vocabulary with two zero-knowledge setups of it (two secrets: the
/// second is "another setup of the same model"), each with the budget [`ZK_BUDGET`]. Made once per
/// test binary (`zk_setup`, `zk_setup_proof`): every `setup_zk` also proves the hiding setup
/// proof on ticket 0, so the files share these keys; a test that advances a proving key clones it.
pub struct ZkKeys {
    pub model: Model,
    pub vocab: Vec<Vec<u8>>,
    pub keys: [(zkinfer_proof::zk_key::ZkVerifyingKey, zkinfer_proof::zk::ZkProvingKey); 2],
}

/// The shared zk keys' budget: the setup ticket 0 and three proof tickets of 16 points.
pub const ZK_BUDGET: zkinfer_proof::zk::KeyBudget = zkinfer_proof::zk::KeyBudget { tickets: 3, points_per_ticket: 16 };

/// [`ZkKeys`] of the tiny GPT-2 (`gpt2-tiny-random.gguf`) or the tiny Llama (`llama/llama-tiny-random.gguf`).
pub fn zk_keys(file: &str) -> &'static ZkKeys {
    static GPT2: std::sync::OnceLock<ZkKeys> = std::sync::OnceLock::new();
    static LLAMA: std::sync::OnceLock<ZkKeys> = std::sync::OnceLock::new();
    let cell = match file {
        "gpt2-tiny-random.gguf" => &GPT2,
        "llama/llama-tiny-random.gguf" => &LLAMA,
        _ => panic!("no shared zk keys of {file}"),
    };
    cell.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(file);
        let gguf = GgufFile::open(path).unwrap();
        let model = Model::load(&gguf).unwrap();
        let vocab = vocab_bytes(&Tokenizer::from_gguf(&gguf).unwrap());
        let one = || zkinfer_proof::zk::setup_zk(&model, vocab.clone(), ZK_BUDGET).unwrap();
        let keys = [one(), one()];
        ZkKeys { model, vocab, keys }
    })
}
