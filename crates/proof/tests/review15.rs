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
//! completions of one prompt, both accepted under one key. Fix: `zkinfer_verifier::statement_tensors`
//! (both verifiers) requires `tokens`, `positions`, `out_rows` to be graph inputs and `next_token`
//! to be the output of an `Argmax` node; the forged proofs are now refused with an error naming
//! `next_token`. Control: without the check (the previous loop) the test fails ("accepted").
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use std::sync::{Arc, OnceLock};
use zkinfer_field::F;
use zkinfer_model::template::TensorDecl;
use zkinfer_model::{Dim, Graph, IntTensor, IntTrace, Model, Op};
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
            Err(e) => assert!(e.to_string().contains("next_token"), "refused for another reason: {e}"),
        }
    }
}
