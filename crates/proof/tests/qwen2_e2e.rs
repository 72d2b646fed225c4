//! Prove → verify on the tiny Qwen2 (`testdata/qwen2/qwen2-tiny.gguf`: Q/K/V biases, NEOX RoPE
//! rows permuted at load), and the attacks specific to it: a lie at a biased projection's output
//! with everything downstream recomputed, and a proof of the same weights without the biases
//! presented under the real key.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_model::ops::eval_int;
use zkinfer_model::{Model, Op, Operand, TensorSource};
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{ProofFile, VerifyingKey, prove, setup, verify, vocabulary};
use zkinfer_tokenizer::Tokenizer;

#[test]
fn qwen2_proves_verifies_and_refuses_bias_lies() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/qwen2/qwen2-tiny.gguf");
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).unwrap().try_into().unwrap();
    let pk = setup(&model, vocabulary(&tok, &model), sha).unwrap();
    assert_eq!(pk.vk.architecture, "qwen2");
    // The key's graph has biased Q/K/V matmuls: three per block.
    let biased = pk.vk.graph.nodes.iter().filter(|n| matches!(&n.op, Op::MatMul(m) if m.has_bias)).count();
    assert_eq!(biased, 6);
    assert!(pk.vk.weights.iter().any(|w| w.name == "blk.0.attn_q.bias"));

    let prompt = tok.encode("The llama is a domesticated South American camelid.");
    let n = 4;
    let (proof, _) = prove(&model, &pk, &prompt, n, |_| {}).unwrap();
    let v = verify(&pk.vk, &proof).expect("honest proof verifies");
    assert_eq!(v.architecture, "qwen2");
    assert_eq!(v.completion_ids, model.generate_int_until(&prompt, n, tok.eog_ids(), |_| {}).unwrap());
    assert_eq!(v.text, tok.decode(&v.completion_ids).unwrap());
    let vk = VerifyingKey::from_bytes(&pk.vk.to_bytes()).unwrap();
    verify(&vk, &ProofFile::from_bytes(&proof.to_bytes()).unwrap()).unwrap();

    // +1 on the first biased accumulator (attn_q's), everything downstream recomputed: refused.
    let mut ok = false;
    let forged = prove_tampered(&model, &pk, &prompt, n, |graph, trace| {
        let start = graph.nodes.iter().position(|n| matches!(&n.op, Op::MatMul(m) if m.has_bias)).unwrap();
        let out = graph.nodes[start].output.0;
        let Some(t) = trace.values[out].as_mut() else { return };
        let i = t.data.len() / 2;
        t.data[i] += 1;
        for node in &graph.nodes[start + 1..] {
            let operands: Option<Vec<Operand<'_>>> = node
                .inputs
                .iter()
                .map(|id| match graph.meta(*id).source {
                    TensorSource::Weight => model.weights().get(&graph.meta(*id).name).map(Operand::Weight),
                    _ => trace.values[id.0].as_ref().map(Operand::Act),
                })
                .collect();
            let Some(operands) = operands else { return };
            match eval_int(&node.op, &operands) {
                Ok(o) => trace.values[node.output.0] = Some(o),
                Err(_) => return,
            }
        }
        ok = true;
    })
    .unwrap();
    assert!(ok, "could not build the tampered trace");
    let e = verify(&pk.vk, &forged).expect_err("a lie at a biased projection was accepted");
    eprintln!("qwen2 biased matmul +1: refused: {e}");

    // The same weights with the biases zeroed (another model): its own proof verifies under its
    // own key and is refused under this one, also when relabelled with this key's commitment.
    let nob = Model::from_source(&ZeroBiases(&gguf), zkinfer_model::QuantConfig::default()).unwrap();
    let npk = setup(&nob, vocabulary(&tok, &nob), sha).unwrap();
    assert_ne!(npk.vk.digest(), pk.vk.digest());
    let (nproof, _) = prove(&nob, &npk, &prompt, n, |_| {}).unwrap();
    verify(&npk.vk, &nproof).unwrap();
    assert!(verify(&pk.vk, &nproof).is_err());
    let mut relabelled = nproof.clone();
    relabelled.model_commitment = pk.vk.digest();
    assert!(verify(&pk.vk, &relabelled).is_err(), "a bias-free proof accepted under the real key");
}

/// The fixture with every `*.bias` read as zeros.
struct ZeroBiases<'a>(&'a GgufFile);

impl zkinfer_model::ModelSource for ZeroBiases<'_> {
    fn architecture(&self) -> Result<String, zkinfer_model::ModelError> {
        zkinfer_model::ModelSource::architecture(self.0)
    }
    fn meta_u32(&self, key: &str) -> Result<u32, zkinfer_model::ModelError> {
        zkinfer_model::ModelSource::meta_u32(self.0, key)
    }
    fn meta_f32(&self, key: &str) -> Result<f32, zkinfer_model::ModelError> {
        zkinfer_model::ModelSource::meta_f32(self.0, key)
    }
    fn has_meta(&self, key: &str) -> bool {
        zkinfer_model::ModelSource::has_meta(self.0, key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        zkinfer_model::ModelSource::tensor_shape(self.0, name)
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, zkinfer_model::ModelError> {
        let v = zkinfer_model::ModelSource::tensor_f32(self.0, name)?;
        Ok(if name.ends_with(".bias") { vec![0.0; v.len()] } else { v })
    }
}
