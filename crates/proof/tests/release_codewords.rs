//! The one-pass prover with the witness codewords released through the graph proof
//! (`zkinfer_pcs::WhirPcs::commit_owned_releasing`, chosen by
//! `zkinfer_proof::memory::one_pass_releases_codewords` for a witness over the memory budget)
//! gives the same proof, byte for byte, as with them held; the proof verifies.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::testing::prove_releasing;
use zkinfer_proof::{setup, verify, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

#[test]
fn released_witness_codewords_give_the_same_proof_bytes() {
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let pk = setup(&model, vocab_bytes(&tok), sha).unwrap();
    let prompt = tok.encode("The quick brown fox");
    let held = prove_releasing(&model, &pk, &prompt, 3, false).unwrap();
    let released = prove_releasing(&model, &pk, &prompt, 3, true).unwrap();
    assert_eq!(held.to_bytes(), released.to_bytes(), "releasing the codewords changed the proof");
    let v = verify(&pk.vk, &released).unwrap();
    assert_eq!(v.completion_ids, model.generate_int(&prompt, 3, |_| {}).unwrap());
    // The tiny model is far below the budget: the policy holds the codewords there.
    let graph = pk.vk.graph(prompt.len() + 2, 3).unwrap();
    assert!(!zkinfer_proof::memory::one_pass_releases_codewords(&pk.vk, &graph));
}

/// `prove_spilling` with the codewords released also moves the model's weights to a file for
/// the witness opening: the proof is byte for byte the held one (with the weight commitment held
/// from setup and recommitted after the witness opening from the weights read back), it
/// verifies, and the model has its weights back, equal to before.
#[test]
fn spilled_model_weights_give_the_same_proof_bytes() {
    use zkinfer_proof::WeightCommitment;
    use zkinfer_proof::testing::prove_spilling_forced;
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let mut model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let pk = setup(&model, vocab_bytes(&tok), sha).unwrap();
    let before = model.weights().clone();
    let prompt = tok.encode("The quick brown fox");
    let held = prove_releasing(&model, &pk, &prompt, 3, false).unwrap();
    let ready = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
    let spilled = prove_spilling_forced(&mut model, &pk.vk, ready, &prompt, 3, true).unwrap();
    assert_eq!(held.to_bytes(), spilled.to_bytes(), "spilling the weights changed the proof");
    let recommitted = prove_spilling_forced(&mut model, &pk.vk, WeightCommitment::Recommit, &prompt, 3, true).unwrap();
    assert_eq!(held.to_bytes(), recommitted.to_bytes(), "recommitting the weights read back changed the proof");
    verify(&pk.vk, &recommitted).unwrap();
    let after = model.weights();
    assert_eq!(before.metas(), after.metas());
    assert!(before.iter().zip(after.iter()).all(|(a, b)| a == b), "the model's weights changed");
    // Not released: nothing is spilled, same bytes.
    let kept = prove_spilling_forced(&mut model, &pk.vk, WeightCommitment::Recommit, &prompt, 3, false).unwrap();
    assert_eq!(held.to_bytes(), kept.to_bytes());
}

/// The memory estimate reads the witness a proof commits: `memory::one_pass_witness_groups` (the
/// plan of the key's graph with placeholder public values of the right shapes) gives the groups
/// of the plan of a real forward pass with every position predicted (its traced public values),
/// at several lengths; and a length beyond the context has no one-pass estimate (`u64::MAX`).
#[test]
fn the_estimate_reads_the_witness_the_prover_commits() {
    use std::collections::HashMap;
    use zkinfer_ops::TensorRole;
    use zkinfer_proof::memory;
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    for t in [1usize, 5, 24, 33] {
        let ids: Vec<u32> = (0..t as u32).map(|i| (i * 7919 + 13) % 1000).collect();
        let fwd = model.forward_int_outputs(&ids, t).unwrap();
        let values = |id: zkinfer_model::TensorId| fwd.trace.get(id).map_or(&[][..], |v| v.data.as_slice());
        let mut public: HashMap<_, &[i64]> = fwd.graph.inputs.iter().map(|&i| (i, values(i))).collect();
        for (n, node) in fwd.graph.nodes.iter().enumerate() {
            if zkinfer_ops::protocol_for(&fwd.graph, n).unwrap().output_role() == TensorRole::Public {
                public.insert(node.output, values(node.output));
            }
        }
        let plan = zkinfer_ops::witness_plan(&fwd.graph, &public).unwrap();
        let vars = plan.sparse_layout().committed_num_vars();
        let groups: Vec<u64> = zkinfer_verifier::one_pass_witness_pcs().group_num_vars(&vars).unwrap().into_iter().map(|v| 1u64 << v).collect();
        assert_eq!(memory::one_pass_witness_groups(&pk.vk, t), Some(groups), "T = {t}");
    }
    let n_ctx = model.config().n_ctx;
    assert_eq!(memory::one_pass_witness_groups(&pk.vk, n_ctx + 1), None);
    assert_eq!(memory::one_pass_peak_bytes(&pk.vk, n_ctx + 1, u64::MAX), u64::MAX);
}
