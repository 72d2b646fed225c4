//! review15 (session 12): adversarial review of the verifier, the key maker and the prover being
//! the attacker.
//!
//! **The generation statement's tensors in a hostile key.** `verify` (and the stream verifier)
//! bind the statement to the key's graph by NAME: `tokens`, `positions`, `out_rows` get the
//! verifier's public values, and so does `next_token`, which the statement means to be the
//! model's prediction. Before this review nothing checked what kind of tensor those names are. A
//! key whose `next_token` is a graph INPUT (the Argmax node dropped, its output re-declared as an
//! input of shape `[N]`) decodes, its setup proof verifies, and then every completion the prover
//! likes verifies for the same prompt: the completion is just another public input the graph never
//! reads. Found here (`a_key_whose_next_token_is_an_input_binds_no_completion`): two different
//! completions of one prompt, both accepted under one key. Fix: `zkinfer_verifier::statement_public`
//! (both verifiers) requires `tokens`, `positions`, `out_rows` to be graph inputs and `next_token`
//! to be the output of an `Argmax` node; the forged proofs are now refused with an error naming
//! `next_token`. Controls: without any check (the previous loop) the test fails ("accepted"); with
//! the causal check below but without the kind check, it fails too (refused "for another reason":
//! the causal check refuses the key as well — defence in depth).
//!
//! **A non-causal key.** With `next_token` an Argmax output, a key can still make the statement
//! ambiguous: the graph proof shows `next_token = F(tokens)` where `tokens` holds the completion,
//! which is greedy generation only if prediction `j` reads no later token. A key built on the
//! committed `token_embd.weight` alone, whose attention lets every query row see every position
//! (`ConcatSeq(x, 0)` makes the softmax's offset `T`), decoded and let two completions of the
//! one-token prompt `[17]` verify (`[7979, 7979]` and `[9973, 9973]`:
//! `a_noncausal_key_lets_two_completions_of_one_prompt_verify`). Fix: `zkinfer_verifier::causal`
//! (both verifiers, through `statement_public`), a causality dataflow over the instantiated
//! graph; control: without it the test fails (both completions accepted).
//! `honest_graphs_are_causal_and_edited_ones_are_not` runs the check on every fixture
//! architecture's graph and step graph (accepted) and on two non-causal edits (refused).
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use std::sync::{Arc, OnceLock};
use zkinfer_field::F;
use zkinfer_model::template::TensorDecl;
use zkinfer_model::ops::eval_int;
use zkinfer_model::{Dim, Graph, IntTensor, IntTrace, Model, Op, Operand, TensorSource};
use zkinfer_pcs::WhirProverData;
use zkinfer_proof::keys::{pcs, prove_weight_opening};
use zkinfer_proof::weight_blocks::{WeightBlockPlan, prove_block_claims};
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, verify};
use zkinfer_transcript::ProverTranscript;

/// The tiny GPT-2, its proving key and an honest proof of a 3-token prompt with 2 new tokens.
struct Fixture {
    model: Model,
    pk: ProvingKey,
    prompt: Vec<u32>,
    honest: ProofFile,
}

fn fixture() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| {
        let (model, pk) = common::load("gpt2-tiny-random.gguf");
        let prompt = vec![17, 4, 42];
        let (honest, _) = prove(&model, &pk, &prompt, 2, |_| {}).unwrap();
        verify(&pk.vk, &honest).unwrap();
        Fixture { model, pk, prompt, honest }
    })
}

/// The witness commitment's prover data, read back by the graph prover (as the proof crate's
/// own prover shares it).
#[derive(Debug)]
struct Shared(WhirProverData);

impl zkinfer_ops::witness::CommittedColumns for Shared {
    fn column(&self, k: usize) -> Option<&[F]> {
        self.0.poly_evals(k)
    }
}

/// A one-pass proof of `completion` after `prompt` under `vk`, made exactly as the proof crate's
/// prover makes one, but for the graph `vk` declares (not the model's) and the given trace of it:
/// a malicious prover that also made the key.
fn prove_with_trace(vk: &VerifyingKey, prompt: &[u32], completion: &[u32], graph: &Graph, trace: &IntTrace) -> ProofFile {
    let f = fixture();
    let stub = ProofFile {
        model_commitment: vk.digest(),
        max_new_tokens: completion.len() as u32,
        prompt_ids: prompt.to_vec(),
        completion_ids: completion.to_vec(),
        transcript: Vec::new(),
    };
    let mut t = ProverTranscript::new(&zkinfer_verifier::domain_separator(&vk.architecture, &stub.model_commitment, &stub));
    let witness_pcs = zkinfer_verifier::one_pass_witness_pcs();
    let out = zkinfer_ops::prove_graph_with(graph, f.model.weights(), trace, &mut t, |w, t| {
        let cols = w.take_committed()?;
        let (com, data) = witness_pcs.commit_owned(cols).map_err(|e| zkinfer_ops::ProofError::witness("commit", e.to_string()))?;
        t.send_bytes(&com.roots_bytes());
        let data = Arc::new(Shared(data));
        w.share_committed(data.clone())?;
        Ok(data)
    })
    .unwrap();
    let mut accs = out.accumulators;
    let weight_claims = zkinfer_proof::weight_claims(&vk.graph, graph, &mut accs).unwrap();
    let witness_claims = accs.witness.opening_claims(&out.witness.plan().commitment_ids()).unwrap();
    let layout = out.witness.plan().sparse_layout();
    drop(out.witness);
    let weight_acc = prove_block_claims(&vk.weights, f.model.weights(), &weight_claims, &mut t).unwrap();
    let data = Arc::try_unwrap(out.commitment).unwrap().0;
    witness_pcs.open_sparse(data, &layout, &witness_claims, &mut t).unwrap();
    prove_weight_opening(&pcs(), vk, f.pk.weight_data.clone(), weight_acc, &WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t).unwrap();
    ProofFile { transcript: t.into_proof(), ..stub }
}

/// [`prove_with_trace`] for the model's own trace of the pass, with the values of every tensor
/// named in `overrides` replaced (the key's graph keeps the model's tensor ids).
fn prove_under_key(vk: &VerifyingKey, prompt: &[u32], completion: &[u32], overrides: &[(&str, Vec<i64>)]) -> ProofFile {
    let f = fixture();
    let ids = zkinfer_verifier::pass_ids(prompt, completion);
    let mut fwd = f.model.forward_int_outputs(&ids, completion.len()).unwrap();
    let graph = vk.graph(ids.len(), completion.len()).unwrap();
    assert_eq!(graph.tensors.len(), fwd.graph.tensors.len(), "the hostile graph keeps the model's tensor ids");
    for (name, values) in overrides {
        let id = graph.find(name).unwrap();
        fwd.trace.values[id.0] = Some(IntTensor { shape: graph.meta(id).shape.clone(), data: values.clone() });
    }
    prove_with_trace(vk, prompt, completion, &graph, &fwd.trace)
}

/// The integer trace of `graph` (every node by its op's own semantics) on the statement's inputs.
fn run_graph(graph: &Graph, tokens: &[u32], out_rows: &[i64]) -> IntTrace {
    let weights = fixture().model.weights();
    let mut values: Vec<Option<IntTensor>> = vec![None; graph.tensors.len()];
    let t = tokens.len();
    for (name, data) in [("tokens", tokens.iter().map(|&x| x as i64).collect()), ("positions", (0..t as i64).collect()), ("out_rows", out_rows.to_vec())] {
        let id = graph.find(name).unwrap();
        values[id.0] = Some(IntTensor { shape: vec![data.len()], data });
    }
    for node in &graph.nodes {
        let operands: Vec<Operand<'_>> = node
            .inputs
            .iter()
            .map(|id| match graph.meta(*id).source {
                TensorSource::Weight => Operand::Weight(weights.get(&graph.meta(*id).name).unwrap()),
                _ => Operand::Act(values[id.0].as_ref().unwrap()),
            })
            .collect();
        values[node.output.0] = Some(eval_int(&node.op, &operands).unwrap());
    }
    IntTrace { values }
}

/// The honest key with `next_token` turned into a graph input of shape `[N]` (the Argmax node
/// that produced it dropped): a key that decodes.
fn next_token_as_input_key() -> VerifyingKey {
    let mut vk = fixture().pk.vk.clone();
    let g = &mut vk.graph;
    let id = g.tensors.iter().position(|t| matches!(t, TensorDecl::Activation { name, .. } if name == "next_token")).unwrap();
    let n = g.symbol("N").unwrap();
    let before = g.nodes.len();
    g.nodes.retain(|node| !(node.output.0 == id && matches!(node.op, Op::Argmax(_))));
    assert_eq!(g.nodes.len(), before - 1, "one Argmax node produced next_token");
    g.tensors[id] = TensorDecl::Input { name: "next_token".into(), shape: vec![Dim::Sym(n)], frac_bits: 0, bits: 20 };
    g.inputs.push(zkinfer_model::TensorId(id));
    VerifyingKey::from_bytes(&vk.to_bytes()).expect("the hostile key decodes")
}

/// FINDING (fixed): under a key whose `next_token` is a graph input, two different completions of
/// the same prompt were both accepted (and the key's setup proof verifies: its weights are the
/// honest ones). Now both are refused, naming `next_token`.
#[test]
fn a_key_whose_next_token_is_an_input_binds_no_completion() {
    let f = fixture();
    let vk = next_token_as_input_key();
    let slices = zkinfer_proof::keys::weight_slices(&f.model).unwrap().1;
    let setup = zkinfer_proof::prove_setup(&vk, slices).unwrap();
    zkinfer_proof::verify_setup(&vk, &setup).expect("the hostile key's setup proof holds");

    let honest = f.honest.completion_ids.clone();
    let vocab = vk.vocab.len() as u32;
    let other: Vec<u32> = honest.iter().map(|&c| (c + 1) % vocab).collect();
    let mut verdicts = Vec::new();
    for completion in [&honest, &other] {
        let proof = prove_under_key(&vk, &f.prompt, completion, &[("next_token", completion.iter().map(|&c| c as i64).collect())]);
        verdicts.push((completion.clone(), verify(&vk, &proof).map(|v| v.completion_ids)));
    }
    for (completion, verdict) in &verdicts {
        match verdict {
            Ok(_) => panic!("completion {completion:?} of prompt {:?} accepted under a key whose next_token is an input (all verdicts: {verdicts:?})", f.prompt),
            Err(e) => assert!(e.to_string().contains("next_token is not the output of an Argmax node"), "refused for another reason: {e}"),
        }
    }
}

/// A key whose graph is NOT causal: every query row attends to every position of the pass
/// (through `ConcatSeq(x, 0)` and a softmax whose query offset is then `T`), so the prediction at
/// the last prompt row reads the completion tokens the statement puts after it. The graph, built
/// on the committed `token_embd.weight` alone: `x = Embedding(tokens)`, `v = [x; 0]` (the zero
/// rows are `x` rescaled by `2^-40`), scores `0·vᵀ = 0`, so the softmax is uniform over the
/// allowed keys: every row of `x` and some zero rows; `h = Σ_r x_r / (T + i + 1)`, gathered at
/// `out_rows`, times `token_embdᵀ` (GPT-2's tied LM head), argmax. The next token of every row
/// is then `argmax_v (Σ_r E[t_r])·E[v]`, which for a one-token prompt `p` and two new tokens
/// `[c, c]` is `c` itself for many `c` (whenever `E[c]` outweighs `E[p]`): the statement
/// "greedy generation from `[p]`" has many solutions under one key.
fn noncausal_key() -> VerifyingKey {
    use zkinfer_model::ops::{
        argmax::Argmax, batched_matmul::BatchedMatMul, concat::ConcatSeq, embedding::Embedding, gather::GatherRows, heads::MergeHeads,
        heads::SplitHeads, matmul::MatMul, rescale::Rescale,
    };
    use zkinfer_model::{GraphTemplate, Node, TensorId};
    let mut vk = fixture().pk.vk.clone();
    let honest = &vk.graph;
    let softmax = honest.nodes.iter().find(|n| matches!(n.op, Op::Softmax(_))).unwrap().op.clone();
    let Op::Softmax(sm) = &softmax else { unreachable!() };
    let out_frac = sm.out_frac as i32;
    let emb = vk.weights.iter().position(|w| w.name == "token_embd.weight").unwrap();
    let input = |name: &str| honest.tensors.iter().find(|d| matches!(d, TensorDecl::Input { name: n, .. } if n == name)).unwrap().clone();
    let act = |name: &str| TensorDecl::Activation { name: name.into(), frac_bits: 0 };
    let tensors = vec![
        input("tokens"),
        input("positions"),
        input("out_rows"),
        TensorDecl::Weight(emb),
        act("x"),
        act("x3"),
        act("zeros"),
        act("v"),
        act("scores"),
        act("probs"),
        act("h3"),
        act("h"),
        act("h_rescaled"),
        act("rows"),
        act("logits"),
        act("next_token"),
    ];
    let node = |op: Op, inputs: &[usize], output: usize| Node { op, inputs: inputs.iter().map(|&i| TensorId(i)).collect(), output: TensorId(output) };
    let nodes = vec![
        node(Op::Embedding(Embedding), &[0, 3], 4),
        node(Op::SplitHeads(SplitHeads { heads: 1 }), &[4], 5),
        node(Op::Rescale(Rescale { shift: 40 }), &[5], 6),
        node(Op::ConcatSeq(ConcatSeq), &[5, 6], 7),
        node(Op::BatchedMatMul(BatchedMatMul { transpose_b: true }), &[6, 7], 8),
        node(softmax.clone(), &[8], 9),
        node(Op::BatchedMatMul(BatchedMatMul { transpose_b: false }), &[9, 7], 10),
        node(Op::MergeHeads(MergeHeads), &[10], 11),
        node(Op::Rescale(Rescale { shift: out_frac }), &[11], 12),
        node(Op::GatherRows(GatherRows), &[2, 12], 13),
        node(Op::MatMul(MatMul { has_bias: false }), &[13, 3], 14),
        node(Op::Argmax(Argmax), &[14], 15),
    ];
    vk.graph = GraphTemplate { symbols: honest.symbols.clone(), tensors, nodes, inputs: vec![TensorId(0), TensorId(1), TensorId(2)], outputs: vec![TensorId(15)] };
    VerifyingKey::from_bytes(&vk.to_bytes()).expect("the non-causal key decodes")
}

/// FINDING (fixed): under the non-causal key above, two different completions of the same
/// one-token prompt verified. The completions are found by evaluating the key's graph (cheap: no
/// proof) on candidates `[c, c]` until two are fixed points; then both are proven. Now both are
/// refused by the causality check (`zkinfer_verifier::causal`), naming it.
#[test]
fn a_noncausal_key_lets_two_completions_of_one_prompt_verify() {
    let vk = noncausal_key();
    let prompt = vec![fixture().prompt[0]];
    let graph = vk.graph(2, 2).unwrap();
    let next = graph.find("next_token").unwrap();
    let mut found = Vec::new();
    for c in (1000..50_000u32).step_by(997) {
        let trace = run_graph(&graph, &[prompt[0], c], &[0, 1]);
        if trace.values[next.0].as_ref().unwrap().data == [c as i64, c as i64] {
            found.push((vec![c, c], trace));
            if found.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(found.len(), 2, "two fixed points of the non-causal key's prediction");
    let mut verdicts = Vec::new();
    for (completion, trace) in &found {
        let proof = prove_with_trace(&vk, &prompt, completion, &graph, trace);
        verdicts.push((completion.clone(), verify(&vk, &proof).map(|v| v.completion_ids).map_err(|e| e.to_string())));
    }
    for (completion, verdict) in &verdicts {
        match verdict {
            Ok(_) => panic!("completion {completion:?} of prompt {prompt:?} accepted under a non-causal key (all verdicts: {verdicts:?})"),
            Err(e) => assert!(e.contains("not causal"), "refused for another reason: {e}"),
        }
    }
}

/// The causality check on the honest graphs of every fixture architecture (no proof: the graph
/// and step-graph templates instantiated at several sizes) accepts them all; and two cheap
/// non-causal edits of honest graphs are refused: the attention's `P·V` reading the raw scores
/// (the softmax and its mask skipped), and a step graph's cache joined after the new rows
/// (`ConcatSeq(X_new, X_past)`).
#[test]
fn honest_graphs_are_causal_and_edited_ones_are_not() {
    use zkinfer_verifier::causal::check_causal;
    let check = |g: &Graph| {
        let id = |n: &str| g.find(n).unwrap();
        check_causal(g, id("tokens"), id("positions"), id("out_rows"), id("next_token"))
    };
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    for file in [
        "gpt2-tiny-random.gguf",
        "llama/llama-tiny-random.gguf",
        "llama3/llama3-rope-tiny.gguf",
        "gemma/gemma-tiny.gguf",
        "gemma2/gemma2-tiny.gguf",
        "gemma3/gemma3-tiny.gguf",
        "qwen2/qwen2-tiny.gguf",
        "spm/spm-tiny.gguf",
    ] {
        let gguf = zkinfer_gguf::GgufFile::open(dir.join(file)).unwrap();
        let model = Model::load(&gguf).unwrap();
        let metas = model.weights().metas();
        let (graph, step) = (model.graph_template().unwrap(), model.step_graph_template().unwrap());
        let at = |tpl: &zkinfer_model::GraphTemplate, vals: &[(&str, usize)]| {
            let mut v: Vec<usize> = tpl.symbols.iter().map(|s| s.min).collect();
            for (name, x) in vals {
                v[tpl.symbol(name).unwrap()] = *x;
            }
            tpl.instantiate(&v, &metas).unwrap()
        };
        for (t, n) in [(1, 1), (5, 1), (5, 3), (7, 7)] {
            let g = at(&graph, &[("T", t), ("N", n)]);
            check(&g).unwrap_or_else(|e| panic!("{file} graph T = {t}, N = {n}: {e}"));
        }
        for (t, p, n) in [(1, 1, 1), (3, 4, 2), (4, 3, 1)] {
            let g = at(&step, &[("T", t), ("P", p), ("N", n)]);
            check(&g).unwrap_or_else(|e| panic!("{file} step graph T = {t}, P = {p}, N = {n}: {e}"));
        }
        if file.starts_with("gpt2") {
            // P·V reading the scores: the softmax's output replaced by its input where it is read.
            let mut g = at(&graph, &[("T", 5), ("N", 2)]);
            let sm = g.nodes.iter().position(|n| matches!(n.op, Op::Softmax(_))).unwrap();
            let (scores, probs) = (g.nodes[sm].inputs[0], g.nodes[sm].output);
            let reader = g.nodes.iter().position(|n| n.inputs.contains(&probs)).unwrap();
            g.nodes[reader].inputs.iter_mut().filter(|i| **i == probs).for_each(|i| *i = scores);
            let e = check(&g).expect_err("attention without its causal softmax");
            assert!(e.to_string().contains("not causal"), "{e}");
        }
        if file.starts_with("llama/") {
            let mut g = at(&step, &[("T", 3), ("P", 3), ("N", 1)]);
            let c = g.nodes.iter().position(|n| matches!(n.op, Op::ConcatSeq(_))).unwrap();
            g.nodes[c].inputs.swap(0, 1);
            let e = check(&g).expect_err("the cache joined after the new rows");
            assert!(e.to_string().contains("not causal"), "{e}");
        }
    }
}
