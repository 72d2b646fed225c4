//! Adversarial review: hostile verifying keys and statement fields.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, Op};
use zkinfer_proof::{ProofFile, ProvingKey, VerifyingKey, prove, setup, verify, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

struct Fixture {
    pk: ProvingKey,
    proof: ProofFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
        let model = Model::load(&gguf).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        let pk = setup(&model, vocab_bytes(&tok), [3; 32]).unwrap();
        let prompt = tok.encode("The quick brown fox");
        let (proof, _) = prove(&model, &pk, &prompt, 2, |_| {}).unwrap();
        Fixture { pk, proof }
    })
}

/// A key edited by `edit`, through its bytes (what a verifier loading a damaged or hostile key
/// file sees), then the honest proof retargeted at it: verification must return an error, never
/// panic.
fn verify_with_edited_key(edit: impl FnOnce(&mut VerifyingKey)) -> Result<Result<(), String>, String> {
    let f = fixture();
    let mut vk = f.pk.vk.clone();
    edit(&mut vk);
    let Ok(vk) = VerifyingKey::from_bytes(&vk.to_bytes()) else { return Ok(Err("refused by the decoder".into())) };
    let mut proof = f.proof.clone();
    proof.model_commitment = vk.digest();
    catch_unwind(AssertUnwindSafe(|| verify(&vk, &proof).map(|_| ()).map_err(|e| e.to_string())))
        .map_err(|_| "verify panicked".to_string())
}

/// Applies `f` to every op of the key's graph.
fn ops(vk: &mut VerifyingKey, f: impl Fn(&mut Op)) {
    vk.graph.nodes.iter_mut().for_each(|n| f(&mut n.op));
}

#[test]
fn hostile_key_hyperparameters_are_errors_not_panics() {
    let edits: Vec<(&str, Box<dyn Fn(&mut VerifyingKey)>)> = vec![
        // Key version 3 carries the graph, not GPT-2 hyperparameters: the same attacks on its ops.
        ("heads = 0", Box::new(|vk| ops(vk, |op| if let Op::SplitHeads(h) = op { h.heads = 0 }))),
        ("heads = 3", Box::new(|vk| ops(vk, |op| if let Op::SplitHeads(h) = op { h.heads = 3 }))),
        ("no nodes", Box::new(|vk| vk.graph.nodes.clear())),
        ("T ≤ 1", Box::new(|vk| vk.graph.symbols[0].max = 1)),
        ("rescale shift = 64", Box::new(|vk| ops(vk, |op| if let Op::Rescale(r) = op { r.shift = 64 }))),
        ("softmax in_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Softmax(x) = op { x.in_frac = 62 }))),
        ("softmax exp_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Softmax(x) = op { x.exp_frac = 62 }))),
        ("softmax out_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Softmax(x) = op { x.out_frac = 62 }))),
        ("gelu in_frac = 62", Box::new(|vk| ops(vk, |op| if let Op::Gelu(g) = op { g.in_frac = 62 }))),
        ("layernorm K = 64", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.k = 64 }))),
        ("layernorm K = 0", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.k = 0 }))),
        ("clamp to 2^62", Box::new(|vk| ops(vk, |op| if let Op::Clamp(c) = op { c.hi = i64::MAX; c.lo = i64::MIN }))),
        ("layernorm eps = 0", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.eps = 0 }))),
        ("layernorm eps = -1", Box::new(|vk| ops(vk, |op| if let Op::LayerNorm(l) = op { l.eps = -1 }))),
        ("frac_bits = -2^31", Box::new(|vk| vk.weights[0].frac_bits = i32::MIN)),
        ("all frac_bits = 2^31 - 1", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.frac_bits = i32::MAX))),
        ("all frac_bits = 62", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.frac_bits = 62))),
        ("all bits = 0", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.bits = 0))),
        ("all bits = 62", Box::new(|vk| vk.weights.iter_mut().for_each(|w| w.bits = 62))),
    ];
    let mut failures = Vec::new();
    for (name, edit) in edits {
        match verify_with_edited_key(edit) {
            Ok(Ok(())) => failures.push(format!("{name}: the honest proof verified against an edited key")),
            Ok(Err(_)) => {}
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Statement shapes a proof file may claim: an empty prompt or completion, a pass longer than
/// the context, ids outside the vocabulary. Each is an
/// error (never a panic) before any graph is built.
#[test]
fn hostile_statement_shapes_are_errors_not_panics() {
    let f = fixture();
    let vk = &f.pk.vk;
    let n_ctx = vk.max_positions();
    let edits: Vec<(&str, Box<dyn Fn(&mut ProofFile)>)> = vec![
        ("empty prompt", Box::new(|p| p.prompt_ids.clear())),
        ("empty completion", Box::new(|p| p.completion_ids.clear())),
        ("pass longer than the context", Box::new(move |p| {
            let extra = n_ctx;
            p.prompt_ids.extend(std::iter::repeat_n(0, extra));
        })),
        ("prompt id outside the vocabulary", Box::new(|p| p.prompt_ids[0] = u32::MAX)),
        ("completion id outside the vocabulary", Box::new(|p| p.completion_ids[0] = u32::MAX)),
        ("one completion token too many", Box::new(|p| p.completion_ids.push(0))),
        ("completion moved into the prompt", Box::new(|p| {
            let c = p.completion_ids.remove(0);
            p.prompt_ids.push(c);
        })),
    ];
    for (name, edit) in edits {
        let mut p = f.proof.clone();
        edit(&mut p);
        let outcome = catch_unwind(AssertUnwindSafe(|| verify(vk, &p).is_ok()));
        assert_eq!(outcome.ok(), Some(false), "{name}: accepted or panicked");
    }
}

/// Review (second round): the key's weight list named one weight twice. The graph takes a weight's
/// shape, scale and bound from the entry its template references (by index), but the graph
/// proof's weight claims were routed to the key's weight *of that name* — the last entry with the
/// name. A key maker could list `W` with its honest bound `2^b` (what the graph's no-wrap
/// arguments assume) and again with a wider bound holding other values: the setup proof checks
/// each entry against its own bound (both pass), and the graph proof was opened against the
/// wide copy — a weight outside the bound every field-equals-integer argument rests on.
/// Now the decoder refuses weight names that are not strictly ascending (setup commits weights
/// sorted by name), and claims are routed by the template's index, never by name.
#[test]
fn a_key_listing_a_weight_twice_cannot_open_the_graph_against_the_copy() {
    use zkinfer_field::F;
    use zkinfer_model::graph::{IntTrace, TensorSource};
    use zkinfer_model::ops::eval_int;
    use zkinfer_model::template::TensorDecl;
    use zkinfer_model::tensor::{IntTensor, WeightValues};
    use zkinfer_model::{Operand, WeightMeta};
    use zkinfer_proof::weight_blocks::{WeightBlockPlan, prove_block_claims};
    use zkinfer_proof::{PROTOCOL_ID, PROTOCOL_VERSION, pcs, prove_setup, verify_setup};
    use zkinfer_transcript::{DomainSeparator, ProverTranscript};

    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let name = "blk.0.ffn_down.weight";
    let honest_metas = model.weights().metas();
    let pos = honest_metas.iter().position(|m| m.name == name).unwrap();
    let b = honest_metas[pos].bits;
    // The copy: one entry at 2^(b+1), outside the honest |w| < 2^b.
    let mut copy = model.weights().get(name).unwrap().clone();
    match &mut copy.values {
        WeightValues::I16(v) => v[5] = 1 << (b + 1),
        WeightValues::I64(v) => v[5] = 1 << (b + 1),
    }
    // The hostile key: the honest graph (its template references entry `pos`, bound 2^b), the
    // weight listed twice (the second entry with a bound wide enough for the copy), indices after
    // it shifted.
    let mut metas = honest_metas.clone();
    metas.insert(pos + 1, WeightMeta { bits: b + 3, ..honest_metas[pos].clone() });
    let mut graph = model.graph_template().unwrap();
    let mut step_graph = model.step_graph_template().unwrap();
    for t in graph.tensors.iter_mut().chain(step_graph.tensors.iter_mut()) {
        if let TensorDecl::Weight(i) = t
            && *i > pos
        {
            *i += 1;
        }
    }
    let plan = WeightBlockPlan::for_weights(&metas);
    let mut slices: Vec<Vec<F>> = Vec::new();
    for (w, m) in metas.iter().enumerate() {
        let values = if w == pos + 1 { &copy } else { model.weights().get(&m.name).unwrap() };
        let blocks = plan.tensor(w).unwrap();
        for k in 0..blocks.blocks().len() {
            slices.push(blocks.block_values(k, &values.values));
        }
    }
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let (commitment, weight_data) = pcs().commit_slices(&refs).unwrap();
    drop(refs);
    let weight_ood = zkinfer_proof::keys::weight_ood_answers(&commitment, &weight_data).unwrap();
    let vk = VerifyingKey { model_sha256: [1; 32], architecture: "gpt2".into(), graph, step_graph, weights: metas, commitment, weight_ood, vocab: vocab_bytes(&tok), eog_ids: Vec::new() };
    // Each entry respects its own bound: the setup proof holds.
    let setup_proof = prove_setup(&vk, slices).unwrap();
    verify_setup(&vk, &setup_proof).expect("every entry is within its own bound");

    // The malicious prover runs the key's graph with the copy (no check of the graph's bound).
    let mut weights = model.weights().clone();
    weights.insert(name, copy);
    let prompt = tok.encode("The quick brown fox");
    let t_len = prompt.len();
    let g = vk.graph(t_len, 1).unwrap();
    assert_eq!(g.meta(g.find(name).unwrap()).bits, b, "the graph assumes the honest bound");
    let mut values: Vec<Option<IntTensor>> = vec![None; g.tensors.len()];
    values[g.find("tokens").unwrap().0] = Some(IntTensor { shape: vec![t_len], data: prompt.iter().map(|&x| x as i64).collect() });
    values[g.find("positions").unwrap().0] = Some(IntTensor { shape: vec![t_len], data: (0..t_len as i64).collect() });
    values[g.find("out_rows").unwrap().0] = Some(IntTensor { shape: vec![1], data: vec![t_len as i64 - 1] });
    for node in &g.nodes {
        let operands: Vec<Operand<'_>> = node
            .inputs
            .iter()
            .map(|id| match g.meta(*id).source {
                TensorSource::Weight => Operand::Weight(weights.get(&g.meta(*id).name).unwrap()),
                _ => Operand::Act(values[id.0].as_ref().unwrap()),
            })
            .collect();
        values[node.output.0] = Some(eval_int(&node.op, &operands).unwrap());
    }
    let next: Vec<u32> = values[g.find("next_token").unwrap().0].as_ref().unwrap().data.iter().map(|&v| v as u32).collect();
    let trace = IntTrace { values };
    let stub = ProofFile {
        model_commitment: vk.digest(),
        max_new_tokens: (next.len() - (t_len - 1)) as u32,
        prompt_ids: prompt.clone(),
        completion_ids: next,
        transcript: Vec::new(),
    };
    let ids = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let ds = DomainSeparator::new(PROTOCOL_ID, PROTOCOL_VERSION)
        .with_public("architecture", vk.architecture.as_bytes())
        .with_public("model commitment", &stub.model_commitment)
        .with_public("max new tokens", &stub.max_new_tokens.to_le_bytes())
        .with_public("prompt ids", &ids(&stub.prompt_ids))
        .with_public("completion ids", &ids(&stub.completion_ids));
    let mut t = ProverTranscript::new(&ds);
    let pcs = pcs();
    let out = zkinfer_ops::prove_graph(&g, &weights, &trace, &mut t, |w: &zkinfer_ops::WitnessBuilder, t| {
        let held: Vec<_> = w.plan().committed().into_iter().map(|c| w.values(c)).collect();
        let cols: Vec<&[F]> = held.iter().map(|v| &**v).collect();
        let (com, data) = pcs.commit_slices(&cols).unwrap();
        t.send_bytes(&com.roots_bytes());
        Ok(data)
    })
    .expect("the graph proof goes through with the copy");
    // Claims routed as the verifier used to: weight claims to the key's entry of that name.
    let ids = out.witness.plan().commitment_ids();
    let by_name: std::collections::HashMap<&str, usize> = vk.weights.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    // The weight claims named by key weight through the name (the entry `by_name` maps it to).
    let template = zkinfer_model::template::GraphTemplate {
        tensors: g
            .tensors
            .iter()
            .map(|m| match m.source {
                TensorSource::Weight => TensorDecl::Weight(by_name[m.name.as_str()]),
                _ => TensorDecl::Activation { name: m.name.clone(), frac_bits: m.frac_bits },
            })
            .collect(),
        ..Default::default()
    };
    let mut weight_claims = zkinfer_proof::weight_blocks::WeightClaims::new();
    weight_claims.add(&template, &g, out.accumulators.weights);
    drop(out.witness);
    let weight_acc = prove_block_claims(&vk.weights, &weights, &weight_claims, &mut t).unwrap();
    out.accumulators.witness.prove_consuming(&pcs, out.commitment, &ids, &mut t).unwrap();
    // The weight opening as the prover makes it (with the key's out-of-domain claims, protocol 9).
    zkinfer_proof::keys::prove_weight_opening(&pcs, &vk, weight_data, weight_acc, &WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t).unwrap();
    let proof = ProofFile { transcript: t.into_proof(), ..stub };

    assert!(verify(&vk, &proof).is_err(), "a proof opened against the out-of-bound copy was accepted");
    let err = VerifyingKey::from_bytes(&vk.to_bytes()).expect_err("a key naming a weight twice must not decode");
    assert!(err.to_string().contains("ascending"), "{err}");
}

/// Review (second round): hostile weight shapes whose commitment slice sizes are made to match
/// (the key maker controls both; the first round's shape edits were refused by the slice-size
/// check before reaching anything else). Zero, one, huge and swapped extents: the decoder, the
/// graph proof's verifier and the setup proof's verifier return errors, never panic.
#[test]
fn hostile_weight_shapes_with_a_matching_commitment_are_errors_not_panics() {
    use zkinfer_proof::weight_blocks::WeightBlockPlan;
    let f = fixture();
    let setup_proof = zkinfer_proof::SetupProof { model_commitment: [0; 32], transcript: vec![0; 64] };
    let shapes: Vec<(&str, Box<dyn Fn(&[usize]) -> Vec<usize>>)> = vec![
        ("zero first extent", Box::new(|s| [&[0][..], &s[1..]].concat())),
        ("zero last extent", Box::new(|s| [&s[..s.len() - 1], &[0][..]].concat())),
        ("extent 1", Box::new(|s| vec![1; s.len()])),
        ("rank 0", Box::new(|_| Vec::new())),
        ("rank 4", Box::new(|s| [s, &[1, 1][..]].concat())),
        ("swapped", Box::new(|s| s.iter().rev().copied().collect())),
        ("2^20 rows", Box::new(|s| [&[1 << 20][..], &s[1..]].concat())),
    ];
    let mut failures = Vec::new();
    for (what, shape) in &shapes {
        for target in ["token_embd.weight", "blk.0.attn_qkv.weight", "blk.0.attn_norm.weight", "output_norm.bias"] {
            let mut vk = f.pk.vk.clone();
            let w = vk.weights.iter_mut().find(|m| m.name == target).unwrap();
            let reshaped = shape(&w.shape);
            if reshaped == w.shape {
                continue;
            }
            w.shape = reshaped;
            vk.commitment.poly_num_vars = WeightBlockPlan::for_weights(&vk.weights).slice_num_vars();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let Ok(vk) = VerifyingKey::from_bytes(&vk.to_bytes()) else { return Ok(()) };
                let mut proof = f.proof.clone();
                proof.model_commitment = vk.digest();
                let sp = zkinfer_proof::SetupProof { model_commitment: vk.digest(), ..setup_proof.clone() };
                if zkinfer_proof::verify_setup(&vk, &sp).is_ok() {
                    return Err("a junk setup proof verified");
                }
                match verify(&vk, &proof) {
                    Ok(_) => Err("the honest proof verified against a reshaped key"),
                    Err(_) => Ok(()),
                }
            }));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(format!("{what} on {target}: {e}")),
                Err(_) => failures.push(format!("{what} on {target}: panicked")),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
