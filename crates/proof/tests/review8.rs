//! Adversarial review (review8) of the Llama surface of the verifier: the bounds a chunked proof
//! takes on faith for its cached keys/values, the RoPE positions, the grouped-query head map, the
//! stopping rule and the statement binding. Each attack is a complete proof (or key) that the
//! verifier must refuse, next to a control that the honest one is accepted.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::ops::eval_int;
use zkinfer_model::tensor::IntTensor;
use zkinfer_model::template::TensorDecl;
use zkinfer_model::{Graph, GraphTemplate, IntTrace, Model, Op, Operand, TensorSource};
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, setup, verify, vocabulary};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/llama").join(name)
}

const N: usize = 3;

struct Fixture {
    model: Model,
    pk: ProvingKey,
    prompt: Vec<u32>,
    proof: ProofFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = GgufFile::open(testdata("llama-tiny-random.gguf")).unwrap();
        let model = Model::load(&gguf).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        let pk = setup(&model, vocabulary(&tok, &model), [8; 32]).unwrap();
        let prompt = tok.encode("The quick brown fox");
        let (proof, _) = prove(&model, &pk, &prompt, N, |_| {}).unwrap();
        Fixture { model, pk, prompt, proof }
    })
}

/// Index of the template tensor called `name`.
fn tensor_index(t: &GraphTemplate, name: &str) -> usize {
    t.tensors
        .iter()
        .position(|d| match d {
            TensorDecl::Input { name: n, .. } | TensorDecl::Activation { name: n, .. } => n == name,
            TensorDecl::Weight(_) => false,
        })
        .unwrap_or_else(|| panic!("no tensor {name}"))
}

/// Sets the declared bound of every cached input `X_past` of the step graph to `bits(X)`.
fn declare_past_bits(t: &mut GraphTemplate, bits: impl Fn(&str) -> u32) {
    for d in &mut t.tensors {
        if let TensorDecl::Input { name, bits: b, .. } = d
            && let Some(x) = name.strip_suffix("_past")
        {
            *b = bits(x);
        }
    }
}

/// The step graph's cached inputs `X_past` are deferred: the chunked verifier never sees their
/// values, and every no-wrap argument downstream of them assumes their declared bound. A key
/// declaring them narrower than the keys/values they cache (those chunk 0 proved with the
/// graph's `X`) is refused when it is decoded: both the bare edit and the consistent one, where
/// the step graph's own `X_new` is narrowed too (its K projection rescaled by 3 more bits, so
/// the step graph is self-consistent and only the cache link is not). The honest key decodes.
#[test]
fn a_step_graph_cache_narrower_than_the_keys_it_caches_is_refused() {
    let vk = &fixture().pk.vk;
    assert_eq!(VerifyingKey::from_bytes(&vk.to_bytes()).unwrap(), *vk, "control: the honest key decodes");

    // 1. The cached inputs declared 1 bit wide.
    let mut bare = vk.clone();
    declare_past_bits(&mut bare.step_graph, |_| 1);
    let Err(err) = VerifyingKey::from_bytes(&bare.to_bytes()) else { panic!("a 1-bit cache accepted") };
    assert!(err.to_string().contains("_past"), "{err}");

    // 2. A self-consistent step graph whose layer-0 keys are 3 bits narrower than the graph's.
    let mut narrow = vk.clone();
    let step = &mut narrow.step_graph;
    let k_new = tensor_index(step, "blk.0.attn_k_new");
    // Walk back from the keys to the rescale of the K projection.
    let mut at = k_new;
    let rescale = loop {
        let n = step.nodes.iter().position(|n| n.output.0 == at).expect("producer");
        if matches!(step.nodes[n].op, Op::Rescale(_)) {
            break n;
        }
        at = step.nodes[n].inputs[0].0;
    };
    let Op::Rescale(r) = &mut step.nodes[rescale].op else { unreachable!() };
    r.shift += 3;
    let lo: Vec<usize> = step.symbols.iter().map(|s| s.min).collect();
    let g = step.instantiate(&lo, &vk.weights).unwrap();
    let new_bits = |x: &str| g.find(&format!("{x}_new")).map(|id| g.meta(id).bits).unwrap();
    let full = vk.graph.instantiate(&vk.graph.symbols.iter().map(|s| s.min).collect::<Vec<_>>(), &vk.weights).unwrap();
    let old = full.meta(full.find("blk.0.attn_k").unwrap()).bits;
    assert!(new_bits("blk.0.attn_k") < old, "the edit narrows the step graph's keys");
    declare_past_bits(step, new_bits);
    let Err(err) = VerifyingKey::from_bytes(&narrow.to_bytes()) else { panic!("a cache narrower than chunk 0's keys accepted") };
    assert!(err.to_string().contains("blk.0.attn_k_past"), "{err}");
}

/// A malicious trace: from the first node `lie` answers for (`Some(output)`), every node is
/// re-evaluated in order, `lie`'s answer replacing the op's own. Returns how many nodes lied.
fn relie(graph: &Graph, trace: &mut IntTrace, model: &Model, lie: impl Fn(&Op, &[Operand<'_>]) -> Option<IntTensor>) -> usize {
    let mut lied = 0;
    for node in &graph.nodes {
        let operands: Vec<Operand<'_>> = node
            .inputs
            .iter()
            .map(|id| match graph.meta(*id).source {
                TensorSource::Weight => Operand::Weight(model.weights().get(&graph.meta(*id).name).unwrap()),
                _ => Operand::Act(trace.values[id.0].as_ref().unwrap()),
            })
            .collect();
        let out = match lie(&node.op, &operands) {
            Some(out) => {
                lied += 1;
                out
            }
            None if lied > 0 => eval_int(&node.op, &operands).unwrap(),
            None => continue,
        };
        trace.values[node.output.0] = Some(out);
    }
    lied
}

/// Proves the lie with the malicious prover (its witness never refuses a trace) and returns the
/// verifier's verdict, after checking that the lie changed the trace.
fn verdict(lie: impl Fn(&Op, &[Operand<'_>]) -> Option<IntTensor>) -> Result<(), String> {
    let f = fixture();
    let mut lied = 0;
    let proof = prove_tampered(&f.model, &f.pk, &f.prompt, N, |graph, trace| lied = relie(graph, trace, &f.model, &lie)).unwrap();
    assert!(lied > 0, "the lie must touch the trace");
    verify(&f.pk.vk, &proof).map(|_| ()).map_err(|e| e.to_string())
}

fn act<'a>(o: &'a Operand<'_>) -> &'a IntTensor {
    match o {
        Operand::Act(t) => t,
        Operand::Weight(_) => panic!("an activation operand"),
    }
}

/// RoPE at the wrong positions: every RoPE node (queries and keys of every layer) rotates by the
/// angles of position `p + 1` instead of the verifier's `p`, everything downstream is recomputed,
/// and the positions input itself is left honest. The verifier computes the rotation
/// coefficients from its own positions, so the remainder of the rounding identity there falls
/// outside its range check; refused. The honest proof is accepted.
#[test]
fn rope_rotated_at_shifted_positions_is_refused() {
    let f = fixture();
    verify(&f.pk.vk, &f.proof).expect("control: the honest proof verifies");
    let err = verdict(|op, ins| match op {
        Op::Rope(_) => {
            let pos = act(&ins[1]);
            let shifted = IntTensor { shape: pos.shape.clone(), data: pos.data.iter().map(|p| p + 1).collect() };
            Some(eval_int(op, &[Operand::Act(act(&ins[0])), Operand::Act(&shifted)]).unwrap())
        }
        _ => None,
    })
    .expect_err("RoPE at shifted positions accepted");
    // The remainder that makes the rounding hold at the verifier's positions leaves [0, 2^F):
    // the range lookup refuses (or the rounding identity itself).
    assert!(err.contains("Rope") || err.contains("lookup"), "{err}");
}

/// Grouped-query attention with the wrong head map: query head `h` reads KV head `h mod H_kv`
/// instead of `⌊h/g⌋` (4 query heads, 2 KV heads: heads 1 and 2 swap their keys and values),
/// everything downstream recomputed. The verifier's `RepeatKv` weights follow `⌊h/g⌋` and
/// refuse.
#[test]
fn a_query_head_reading_another_kv_head_is_refused() {
    let err = verdict(|op, ins| match op {
        Op::RepeatKv(r) => {
            let x = act(&ins[0]);
            let (hkv, block) = (x.shape[0], x.shape[1] * x.shape[2]);
            assert!(hkv > 1 && r.group > 1, "the fixture has grouped-query attention");
            let data = (0..hkv * r.group).flat_map(|h| x.data[(h % hkv) * block..(h % hkv + 1) * block].to_vec()).collect();
            Some(IntTensor { shape: vec![hkv * r.group, x.shape[1], x.shape[2]], data })
        }
        _ => None,
    })
    .expect_err("a query head reading another KV head accepted");
    assert!(err.contains("RepeatKv") || err.contains("operand") || err.contains("consumer"), "{err}");
}

/// Chunks inside the prompt: with `C = 4` and a prompt of 9 tokens, chunks 0 and 1 lie wholly in
/// the prompt, and each proves one prediction at its last row that is not part of the statement
/// (chunk 2 holds the last prompt position and the completion). The stream verifies with exactly
/// the completion of generation (the prompt-only predictions are not in it), and those
/// predictions are still bound: one changed to another token, or to an end-of-generation token
/// (which must not stop anything), is refused at its record.
#[test]
fn prompt_only_chunks_prove_a_prediction_outside_the_statement_that_cannot_be_changed() {
    use zkinfer_proof::WeightCommitment;
    use zkinfer_proof::chunked::{prove_chunked, verify_stream};
    let f = fixture();
    let prompt: Vec<u32> = f.prompt.iter().copied().cycle().take(9).collect();
    let n = 2;
    let want = f.model.generate_int_until(&prompt, n, &f.pk.vk.eog_ids, |_| {}).unwrap();
    let mut out = Vec::new();
    let weights = WeightCommitment::Ready(Box::new(f.pk.weight_data.clone()));
    let (header, completion, _) = prove_chunked(&f.model, &f.pk.vk, weights, &prompt, n, 4, &mut out, |_| {}).unwrap();
    assert_eq!(completion, want);
    let (v, summary) = verify_stream(&f.pk.vk, &mut &out[..]).expect("control: the honest stream verifies");
    assert_eq!((summary.chunks, summary.positions), (3, 9 + n - 1));
    assert_eq!(v.completion_ids, want, "the prompt-only predictions are not part of the completion");
    // Record 0 starts after the header: kind (1), index (4), length (8), then the segment, whose
    // first values are the chunk's size (u32) and its one prediction (u32).
    let at = header.to_bytes().len() + 1 + 4 + 8;
    assert_eq!(u32::from_le_bytes(out[at..at + 4].try_into().unwrap()), 4, "chunk 0 has 4 positions");
    let pred = u32::from_le_bytes(out[at + 4..at + 8].try_into().unwrap());
    for other in [(pred + 1) % f.pk.vk.vocab.len() as u32, f.pk.vk.eog_ids[0]] {
        if other == pred {
            continue;
        }
        let mut bad = out.clone();
        bad[at + 4..at + 8].copy_from_slice(&other.to_le_bytes());
        let err = verify_stream(&f.pk.vk, &mut &bad[..]).err().map(|e| e.to_string()).unwrap_or_else(|| panic!("prediction {other} accepted"));
        assert!(err.starts_with("rejected: chunk 0"), "{err}");
    }
}
