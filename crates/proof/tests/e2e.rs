//! End-to-end: setup, prove and verify greedy generation on the tiny GPT-2 shipped in testdata,
//! and the ways a malicious prover or a damaged file must fail.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::testing::prove_tampered;
use zkinfer_proof::{ProofFile, ProvingKey, Stage, VerifyingKey, WeightCommitment, prove, prove_consuming, setup, verify, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

use crate::common;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

struct Fixture {
    model: Model,
    pk: ProvingKey,
    prompt: Vec<u32>,
    proof: ProofFile,
    /// The progress events of the fixture's proof, in order.
    events: Vec<Stage>,
}

fn load(name: &str) -> (Model, ProvingKey, Tokenizer) {
    let gguf = GgufFile::open(testdata(name)).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let sha: [u8; 32] = hex::decode(gguf.sha256_hex()).expect("hex").try_into().expect("32 bytes");
    let pk = setup(&model, vocab_bytes(&tok), sha).expect("setup");
    (model, pk, tok)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (model, pk, tok) = load("gpt2-tiny-random.gguf");
        let prompt = tok.encode("The quick brown fox");
        let mut events = Vec::new();
        let (proof, _) = prove(&model, &pk, &prompt, 3, |s| events.push(s)).expect("prove");
        Fixture { model, pk, prompt, proof, events }
    })
}

#[test]
fn honest_proof_verifies() {
    let f = fixture();
    let v = verify(&f.pk.vk, &f.proof).expect("honest proof must verify");
    assert_eq!(v.prompt_ids, f.prompt);
    assert_eq!(v.completion_ids.len(), 3);
    assert_eq!(v.completion_ids, f.model.generate_int(&f.prompt, 3, |_| {}).unwrap());
    // Through the file format too.
    let decoded = ProofFile::from_bytes(&f.proof.to_bytes()).unwrap();
    verify(&f.pk.vk, &decoded).expect("decoded proof verifies");
    let vk = VerifyingKey::from_bytes(&f.pk.vk.to_bytes()).unwrap();
    assert_eq!(vk, f.pk.vk);
    // The decoded key (graph rebuilt from its bytes, tables from their descriptors) verifies.
    verify(&vk, &f.proof).expect("proof verifies against the decoded key");
    assert!(f.pk.vk.to_bytes().len() < 1 << 20, "verifying key must be under 1 MB");
}

#[test]
fn progress_reports_each_stage_and_every_generated_token() {
    let token = |generated| Stage::Token { generated, total: 3 };
    let expected = [Stage::Generate, token(1), token(2), token(3), Stage::Trace, Stage::ProveGraph, Stage::Open];
    assert_eq!(fixture().events, expected);
}

#[test]
fn changed_completion_or_prompt_id_is_rejected() {
    let f = fixture();
    for i in 0..f.proof.completion_ids.len() {
        let mut p = f.proof.clone();
        p.completion_ids[i] = (p.completion_ids[i] + 1) % 50257;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed completion id {i} accepted");
    }
    for i in 0..f.proof.prompt_ids.len() {
        let mut p = f.proof.clone();
        p.prompt_ids[i] = (p.prompt_ids[i] + 1) % 50257;
        assert!(verify(&f.pk.vk, &p).is_err(), "changed prompt id {i} accepted");
    }
    let mut p = f.proof.clone();
    p.completion_ids.pop();
    assert!(verify(&f.pk.vk, &p).is_err(), "dropped completion token accepted");
}

#[test]
fn flipped_and_truncated_proof_bytes_are_rejected() {
    let f = fixture();
    let bytes = f.proof.to_bytes();
    let n = bytes.len();
    // A spread of positions over the whole file, header to the last byte.
    let positions: Vec<usize> = (0..64).map(|k| k * (n - 1) / 63).collect();
    for &i in &positions {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let ok = ProofFile::from_bytes(&b).ok().map(|p| verify(&f.pk.vk, &p).is_ok()).unwrap_or(false);
        assert!(!ok, "flipped byte {i} of {n} accepted");
    }
    for cut in [0, 1, 8, 12, 44, n / 2, n - 1] {
        assert!(ProofFile::from_bytes(&bytes[..cut]).is_err(), "truncation to {cut} accepted");
    }
    // A truncated transcript inside a well-formed file.
    let mut p = f.proof.clone();
    p.transcript.truncate(p.transcript.len() - 1);
    assert!(verify(&f.pk.vk, &p).is_err());
    let mut p = f.proof.clone();
    p.transcript.push(0);
    assert!(verify(&f.pk.vk, &p).is_err(), "trailing transcript byte accepted");
}

/// The witness commitment is the transcript's first message and carries its Merkle roots alone
/// (one 32-byte root per group; the verifier derives the batch's sizes from the graph). A changed
/// root, a message of any other length (an extra root, none, a half root, or version 4's encoding
/// with the sizes) is rejected, and the wrong lengths with an error naming the commitment.
#[test]
fn witness_commitment_roots_are_checked() {
    let f = fixture();
    let tr = &f.proof.transcript;
    let len = u32::from_le_bytes(tr[..4].try_into().unwrap()) as usize;
    assert_eq!(len, 32, "the tiny model's witness is one group: one root");
    let (root, rest) = (&tr[4..4 + len], &tr[4 + len..]);
    let with_message = |msg: &[u8]| {
        let mut p = f.proof.clone();
        p.transcript = [&(msg.len() as u32).to_le_bytes()[..], msg, rest].concat();
        p
    };
    for i in [0, 17, 31] {
        let mut r = root.to_vec();
        r[i] ^= 0x80;
        assert!(verify(&f.pk.vk, &with_message(&r)).is_err(), "changed root byte {i} accepted");
    }
    let mut old_v4 = root.to_vec();
    old_v4.extend_from_slice(&[0u8; 16]);
    for msg in [[root, root].concat(), Vec::new(), root[..16].to_vec(), old_v4] {
        let err = verify(&f.pk.vk, &with_message(&msg)).expect_err("a malformed commitment message accepted").to_string();
        assert!(err.contains("witness commitment"), "{} bytes: {err}", msg.len());
    }
    // The honest message, re-spliced, still verifies (the splice itself is sound).
    verify(&f.pk.vk, &with_message(root)).expect("honest roots verify");
}

#[test]
fn another_models_key_is_rejected() {
    let f = fixture();
    let (_, other, _) = load("gpt2-tiny-random-q8_0.gguf");
    assert_ne!(other.vk.digest(), f.pk.vk.digest());
    assert!(verify(&other.vk, &f.proof).is_err());
    // Even if the proof claims the other model's commitment.
    let mut p = f.proof.clone();
    p.model_commitment = other.vk.digest();
    assert!(verify(&other.vk, &p).is_err());
}

/// For each op kind of the graph, a malicious prover perturbs one element of that op's output and
/// recomputes everything downstream: the only false relation is at that op, and verification
/// must fail.
#[test]
fn tampering_with_any_op_output_is_caught() {
    let f = fixture();
    let graph = f.model.graph(f.prompt.len() + 2).unwrap();
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for node in &graph.nodes {
        let kind = node.op.as_int_op().name().to_string();
        if !kinds.iter().any(|(k, _)| *k == kind) {
            kinds.push((kind, node.output.0));
        }
    }
    assert!(kinds.len() >= 10, "expected every GPT-2 op kind, got {kinds:?}");
    for (kind, tensor) in kinds {
        let mut propagated = true;
        let proof = prove_tampered(&f.model, &f.pk, &f.prompt, 3, |graph, trace| {
            propagated = common::perturb_and_propagate(graph, trace, f.model.weights(), tensor);
        })
        .unwrap_or_else(|e| panic!("{kind}: the malicious prover must produce a proof: {e}"));
        assert!(propagated, "could not build the tampered trace for {kind}");
        let err = verify(&f.pk.vk, &proof).expect_err(&format!("tampered {kind} output accepted by the verifier"));
        eprintln!("{kind}: the verifier rejects: {err}");
    }
}

/// Proving with other weights than the committed ones fails verification.
#[test]
fn proving_with_uncommitted_weights_is_caught() {
    let f = fixture();
    let (other_model, _, _) = load("gpt2-tiny-random-q8_0.gguf");
    let (proof, _) = prove(&other_model, &f.pk, &f.prompt, 3, |_| {}).expect("the prover does not check weights");
    assert!(verify(&f.pk.vk, &proof).is_err(), "proof over uncommitted weights accepted");
}

/// The low-memory path: the weight commitment is recomputed after the witness opening. The
/// proof is the same statement (it verifies), and a model whose weights differ from the key's
/// commitment is refused by the prover itself.
#[test]
fn recommitting_the_weights_gives_a_valid_proof_and_checks_the_key() {
    let f = fixture();
    let (proof, timings) =
        prove_consuming(&f.model, &f.pk.vk, WeightCommitment::Recommit, &f.prompt, 2, |_| {}).expect("prove");
    assert!(timings.weight_commit_s > 0.0);
    verify(&f.pk.vk, &proof).expect("proof with recommitted weights verifies");
    let (other_model, _, _) = load("gpt2-tiny-random-q8_0.gguf");
    let err = prove_consuming(&other_model, &f.pk.vk, WeightCommitment::Recommit, &f.prompt, 2, |_| {})
        .expect_err("weights that do not match the key must be refused");
    assert!(err.to_string().contains("do not match"), "{err}");
}

/// Issue 9's reproduction: `output_norm.weight` × 1e-9 gave the final LayerNorm the shift 58 with
/// 10 output bits, and a prover moving a row of its output by 64 (remainders adjusted modulo p,
/// since `2^58·64 ≡ 2^32 − 1`), re-deriving logits and argmax, got a false completion accepted.
/// Now setup gives that LayerNorm a shift with `shift + out_bits ≤ 62`: the honest model proves
/// and verifies, the forged trace (same edit, downstream re-derived, a different completion) has
/// no remainder in range so no proof of it exists, and a key with the old gain position is
/// refused by the verifier.
#[test]
fn issue_9_tiny_norm_gain_forgery_is_rejected() {
    use zkinfer_model::ops::Op;
    use zkinfer_model::{QuantConfig, ScaledTensor};
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let scaled = ScaledTensor { inner: &gguf, name: "output_norm.weight".into(), factor: 1e-9 };
    let model = Model::from_source(&scaled, QuantConfig::default()).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [7; 32]).unwrap();
    let prompt = tok.encode("The quick brown fox");
    let n = 2;
    let honest = model.generate_int(&prompt, n, |_| {}).unwrap();
    let (proof, _) = prove(&model, &pk, &prompt, n, |_| {}).unwrap();
    assert_eq!(proof.completion_ids, honest);
    verify(&pk.vk, &proof).expect("the honest model with tiny gains proves and verifies");

    // The key's final LayerNorm fits the rounding bound.
    let graph = pk.vk.graph(prompt.len() + n - 1, n).unwrap();
    let ln = graph.nodes.iter().position(|node| graph.meta(node.output).name == "output_norm.out").unwrap();
    let Op::LayerNorm(op) = &graph.nodes[ln].op else { panic!("output_norm.out is not a LayerNorm") };
    let out_bits = graph.meta(graph.nodes[ln].output).bits;
    assert!(op.shift + out_bits <= 62, "shift {} with {out_bits} output bits", op.shift);

    // A graph that skips the model's static-bound check (say, one stored in a key) with the old
    // shift is refused by the verifier's own no-wrap check.
    let mut bad = pk.vk.graph(prompt.len() + n - 1, n).unwrap();
    let Op::LayerNorm(bad_op) = &mut bad.nodes[ln].op else { unreachable!() };
    bad_op.shift = 58;
    let ids: Vec<u32> = prompt.iter().chain(&honest[..n - 1]).copied().collect();
    let tokens: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
    let positions: Vec<i64> = (0..ids.len() as i64).collect();
    let next: Vec<i64> = proof.completion_ids.iter().map(|&x| x as i64).collect();
    let out_rows: Vec<i64> = (prompt.len() as i64 - 1..ids.len() as i64).collect();
    let mut public = zkinfer_ops::PublicValues::new();
    public.insert(bad.find("tokens").unwrap(), &tokens);
    public.insert(bad.find("positions").unwrap(), &positions);
    public.insert(bad.find("out_rows").unwrap(), &out_rows);
    public.insert(bad.find("next_token").unwrap(), &next);
    zkinfer_ops::witness_plan(&graph, &public).expect("the key's own graph is accepted");
    let err = zkinfer_ops::witness_plan(&bad, &public).expect_err("shift 58 must be refused by the verifier");
    // The verifier validates the graph first (`Graph::validate`, the model's own static-bound
    // check), so that refusal may come before the op's no-wrap check (tested in zkinfer-ops).
    assert!(err.to_string().contains("wrap") || err.to_string().contains("shift + out_bits ≤ 62"), "{err}");

    // The forgery: the last row of the final LayerNorm's output moved by 64, everything after it
    // re-derived. Its argmax differs from the honest completion's, and no proof of it exists.
    let mut forged = None;
    let result = prove_tampered(&model, &pk, &prompt, n, |graph, trace| {
        let t = trace.values[graph.nodes[ln].output.0].as_mut().unwrap();
        let d = t.shape[1];
        let last = t.data.len() - d;
        for v in &mut t.data[last..] {
            *v += 64;
        }
        assert!(common::propagate_after(graph, trace, model.weights(), ln), "the forged trace propagates");
        let ids: Vec<u32> = trace.values[graph.outputs[1].0].as_ref().unwrap().data.iter().map(|&v| v as u32).collect();
        forged = Some(ids);
    });
    let forged = forged.unwrap();
    assert_ne!(forged[..], honest[..], "the edit must change the completion to be a forgery");
    let proof = result.expect("the malicious prover proves the forged trace");
    assert!(verify(&pk.vk, &proof).is_err(), "forged completion {forged:?} accepted by the verifier");

    // A key declaring the old gain position (40 fractional bits, shift 58) is refused.
    let mut vk = pk.vk.clone();
    let meta = vk.weights.iter_mut().find(|m| m.name == "output_norm.weight").unwrap();
    meta.bits += (40 - meta.frac_bits) as u32;
    meta.frac_bits = 40;
    // Since key version 3 the LayerNorm's shift is a parameter of the key's graph (version 2
    // derived it from the gain's position): the issue-9 key states shift 58.
    let Op::LayerNorm(op) = &mut vk.graph.nodes[ln].op else { unreachable!() };
    op.shift = 58;
    let err = vk.graph(prompt.len() + n - 1, n).expect_err("a key with the issue-9 parameters must be refused");
    assert!(err.to_string().contains("shift"), "{err}");
    let err = VerifyingKey::from_bytes(&vk.to_bytes()).expect_err("and it does not even decode");
    assert!(err.to_string().contains("shift"), "{err}");
}

#[test]
fn malformed_graphs_in_a_key_are_refused() {
    use zkinfer_model::Op;
    use zkinfer_model::ops::rescale::Rescale;
    use zkinfer_model::template::TensorDecl;
    let f = fixture();
    let vk = &f.pk.vk;
    let node = |name: &str| {
        let id = vk.graph.tensors.iter().position(|d| matches!(d, TensorDecl::Activation { name: n, .. } if n == name)).unwrap();
        vk.graph.nodes.iter().position(|n| n.output.0 == id).unwrap()
    };
    let refused = |bad: VerifyingKey, what: &str| {
        let e = VerifyingKey::from_bytes(&bad.to_bytes()).expect_err(what).to_string();
        assert!(e.contains("graph") || e.contains("symbol"), "{what}: {e}");
    };
    // A cycle: the QKV accumulator's consumer placed before it.
    let mut bad = vk.clone();
    let p = node("blk.0.attn_qkv.acc");
    let c = bad.graph.nodes.iter().position(|n| n.inputs.contains(&bad.graph.nodes[p].output)).unwrap();
    bad.graph.nodes.swap(p, c);
    refused(bad, "cycle");
    // A shape mismatch: the QKV matmul reads the MLP's up-projection.
    let mut bad = vk.clone();
    let wid = bad.graph.nodes[p].inputs[1].0;
    bad.graph.tensors[wid] = TensorDecl::Weight(vk.weights.iter().position(|m| m.name == "blk.0.ffn_up.weight").unwrap());
    refused(bad, "shape mismatch");
    // A bound over the headroom.
    let mut bad = vk.clone();
    bad.graph.nodes[node("blk.0.attn_qkv.out")].op = Op::Rescale(Rescale { shift: -40 });
    refused(bad, "bound over 2^62");
    // A sequence-length range past the size caps.
    let mut bad = vk.clone();
    bad.graph.symbols[0].max = 1 << 30;
    refused(bad, "huge T");
    // A huge tensor count inside the graph section: decoding stops before allocating.
    let bytes = vk.to_bytes();
    let mut w = zkinfer_model::codec::Writer::new();
    vk.graph.encode(&mut w);
    let graph_bytes = w.into_bytes();
    let at = bytes.windows(graph_bytes.len()).position(|x| x == graph_bytes).unwrap();
    let tensors_at = at + 4 + vk.graph.symbols.iter().map(|s| 4 + s.name.len() + 16).sum::<usize>();
    let mut b = bytes.clone();
    b[tensors_at..tensors_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(VerifyingKey::from_bytes(&b).is_err());
    // A graph without the generation statement's output decodes, but no proof verifies with it.
    let mut bad = vk.clone();
    let next = node("next_token");
    let out = bad.graph.nodes[next].output.0;
    bad.graph.tensors[out] = TensorDecl::Activation { name: "renamed".into(), frac_bits: 0 };
    let bad = VerifyingKey::from_bytes(&bad.to_bytes()).unwrap();
    let mut proof = f.proof.clone();
    proof.model_commitment = bad.digest();
    let e = verify(&bad, &proof).unwrap_err().to_string();
    assert!(e.contains("next_token"), "{e}");
}


/// Only what is needed (issue 12): the proven graph computes the LM head and the argmax at the
/// last prompt position and the completion positions only, and the proof carries no prompt
/// predictions.
#[test]
fn prompt_positions_get_no_lm_head() {
    let f = fixture();
    let (p, n) = (f.prompt.len(), f.proof.completion_ids.len());
    let graph = f.pk.vk.graph(p + n - 1, n).unwrap();
    let logits = graph.find("logits").unwrap();
    assert_eq!(graph.meta(logits).shape, [n, f.pk.vk.vocab.len()], "LM head rows");
    assert_eq!(graph.meta(graph.find("next_token").unwrap()).shape, [n]);
    assert_eq!(graph.meta(graph.find("tokens").unwrap()).shape, [p + n - 1]);
}

/// A malicious prover's forged prediction at the last prompt position (completion token 0: the
/// argmax output changed, nothing else) and a forged completion token (the gathered hidden row
/// of a completion position moved, LM head and argmax re-derived, so only the gather is false)
/// are both rejected; so is a proof whose predictions are gathered at other rows than the last
/// prompt position and the completion's.
#[test]
fn forged_predictions_at_the_output_rows_are_rejected() {
    let f = fixture();
    let n = 3;
    let honest = f.model.generate_int(&f.prompt, n, |_| {}).unwrap();
    // The argmax at the last prompt position.
    let proof = prove_tampered(&f.model, &f.pk, &f.prompt, n, |graph, trace| {
        let next = trace.values[graph.find("next_token").unwrap().0].as_mut().unwrap();
        next.data[0] = (next.data[0] + 1) % 50257;
    })
    .expect("the malicious prover proves the forged argmax");
    assert_ne!(proof.completion_ids, honest);
    assert!(verify(&f.pk.vk, &proof).is_err(), "forged prediction at the last prompt position accepted by the verifier");
    // The same forgery in the statement of an honest proof.
    let mut p = f.proof.clone();
    p.completion_ids[0] = (p.completion_ids[0] + 1) % 50257;
    assert!(verify(&f.pk.vk, &p).is_err(), "forged prediction at the last prompt position accepted");
    // A completion position's hidden row, with the LM head and argmax re-derived.
    let mut forged = Vec::new();
    let result = prove_tampered(&f.model, &f.pk, &f.prompt, n, |graph, trace| {
        let gathered = graph.find("out_rows.hidden").unwrap();
        let node = graph.nodes.iter().position(|nd| nd.output == gathered).unwrap();
        let t = trace.values[gathered.0].as_mut().unwrap();
        let d = t.shape[1];
        for v in &mut t.data[d..2 * d] {
            *v = -*v;
        }
        assert!(common::propagate_after(graph, trace, f.model.weights(), node), "the forged hidden row propagates");
        forged = trace.values[graph.find("next_token").unwrap().0].as_ref().unwrap().data.clone();
    });
    let proof = result.expect("the malicious prover proves the forged hidden row");
    assert!(verify(&f.pk.vk, &proof).is_err(), "forged completion {forged:?} accepted by the verifier");
    // Predictions gathered at the first rows (prompt positions) instead of the statement's.
    let result = prove_tampered(&f.model, &f.pk, &f.prompt, n, |graph, trace| {
        let rows = graph.find("out_rows").unwrap();
        let r = trace.values[rows.0].as_mut().unwrap();
        for (i, v) in r.data.iter_mut().enumerate() {
            *v = i as i64;
        }
        let first = graph.nodes.iter().position(|nd| nd.inputs.contains(&rows)).unwrap();
        assert!(common::propagate_after(graph, trace, f.model.weights(), first - 1), "the other rows propagate");
    });
    let proof = result.expect("prove");
    assert!(verify(&f.pk.vk, &proof).is_err(), "predictions at other rows accepted");
}

/// At 17 positions (rows pad to 32: blocks of 16 + 1 rows) the witness columns are committed as
/// blocks of their extents (`zkinfer_pcs::sparse`): the honest proof verifies, and a clamp output
/// perturbed with everything downstream recomputed, proven by the malicious prover, is rejected.
#[test]
fn block_committed_witness_verifies_and_a_tampered_one_is_rejected() {
    let (model, pk, tok) = load("gpt2-tiny-random.gguf");
    let mut prompt = tok.encode("The quick brown fox jumps over the lazy dog, and then it runs far away into the dark green forest");
    prompt.truncate(15);
    assert_eq!(prompt.len(), 15);
    let (proof, _) = prove(&model, &pk, &prompt, 3, |_| {}).expect("prove");
    verify(&pk.vk, &proof).expect("honest block-committed proof verifies");
    let graph = model.graph(prompt.len() + 2).unwrap();
    let clamp = graph.nodes.iter().find(|n| n.op.as_int_op().name() == "Clamp").expect("a clamp").output.0;
    let mut propagated = true;
    let bad = prove_tampered(&model, &pk, &prompt, 3, |graph, trace| {
        propagated = common::perturb_and_propagate(graph, trace, model.weights(), clamp);
    })
    .expect("the malicious prover produces a proof");
    assert!(propagated, "could not build the tampered trace");
    assert!(verify(&pk.vk, &bad).is_err(), "tampered clamp output accepted");
}
