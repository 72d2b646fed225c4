//! Weights committed as power-of-two blocks: the MLE identity against the per-dimension padded
//! tensor, a malicious prover that lies about block values, and keys whose commitment does not
//! match the blocks of their weight shapes.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, lift};
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, WeightValues};
use zkinfer_ops::TensorLayout;
use zkinfer_pcs::OpeningAccumulator;
use zkinfer_poly::Mle;
use zkinfer_proof::keys::VerifyingKey;
use zkinfer_proof::weight_blocks::{TensorBlocks, WeightBlockPlan};
use zkinfer_proof::{ProofSystemError, pcs, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use zkinfer_field::SplitMix64 as Rng;

/// Random weight values of `shape`: `i64` in ±10^6 if `wide`, else random `i16`.
fn random_weight(rng: &mut Rng, shape: &[usize], wide: bool) -> WeightValues {
    let n: usize = shape.iter().product();
    if wide {
        WeightValues::I64((0..n).map(|_| (rng.next_u64() % 2_000_001) as i64 - 1_000_000).collect())
    } else {
        WeightValues::I16((0..n).map(|_| (rng.next_u64() % 65535) as i16).collect())
    }
}

fn to_i64(v: &WeightValues) -> Vec<i64> {
    match v {
        WeightValues::I16(v) => v.iter().map(|&x| x as i64).collect(),
        WeightValues::I64(v) => v.clone(),
    }
}

const SHAPES: &[&[usize]] = &[
    &[1],
    &[5],
    &[16],
    &[17],
    &[37],
    &[100],
    &[5, 7],
    &[3, 16],
    &[37, 24],
    &[19, 33],
    &[2, 3, 5],
    &[37, 768],
];

#[test]
fn blocks_recombine_to_the_padded_tensor_mle() {
    let mut rng = Rng(7);
    for (i, &shape) in SHAPES.iter().enumerate() {
        let values = random_weight(&mut rng, shape, i % 2 == 0);
        let layout = TensorLayout::new(shape);
        let blocks = TensorBlocks::new(shape);
        // Blocks hold every logical value once, and commit less than the padded table (or the
        // same when every dimension is a power of two).
        let committed: usize = blocks.blocks().iter().map(|b| 1usize << b.num_vars()).sum();
        assert!(committed <= layout.padded_len(), "{shape:?}: {committed} > {}", layout.padded_len());
        assert!(committed >= layout.len());
        for _ in 0..3 {
            let point: Vec<EF> = (0..layout.num_vars()).map(|_| rng.ef()).collect();
            let expected = layout.evaluate_i64(&to_i64(&values), &point);
            let split = blocks.selectors_and_sub_points(&point).unwrap();
            let direct = blocks.block_evals(&values, &point).unwrap();
            let mut sum = EF::ZERO;
            for (k, ((sel, sub), &e)) in split.iter().zip(&direct).enumerate() {
                // The direct evaluation agrees with the MLE of the committed block values.
                let from_values = Mle::new(blocks.block_values(k, &values)).evaluate(sub);
                assert_eq!(from_values, e, "{shape:?}: block {k}");
                sum += *sel * e;
            }
            assert_eq!(sum, expected, "{shape:?}: blocks do not recombine to the padded MLE");
        }
        // On Boolean points the identity selects single elements.
        let idx: Vec<usize> = shape.iter().map(|&d| d - 1).collect();
        let flat = idx.iter().zip(shape).fold(0usize, |acc, (&i, &d)| acc * d + i);
        let padded_index = layout.padded_index(&idx);
        let point: Vec<EF> =
            (0..layout.num_vars()).map(|k| EF::from_bool((padded_index >> (layout.num_vars() - 1 - k)) & 1 == 1)).collect();
        let split = blocks.selectors_and_sub_points(&point).unwrap();
        let evals = blocks.block_evals(&values, &point).unwrap();
        let sum: EF = split.iter().zip(&evals).map(|((s, _), &e)| *s * e).sum();
        assert_eq!(sum, lift(zkinfer_field::from_i64_unchecked(to_i64(&values)[flat])));
    }
}

#[test]
fn vocabulary_sized_dimension_packs_into_half_the_padded_size() {
    let shape = [50257usize, 768];
    let blocks = TensorBlocks::new(&shape);
    let committed: usize = blocks.blocks().iter().map(|b| 1usize << b.num_vars()).sum();
    assert_eq!(blocks.blocks().len(), 12);
    assert_eq!(committed, 50257 * 768);
    assert_eq!(TensorLayout::new(&shape).padded_len(), 1 << 26);
}

/// The weight shapes of a GPT-2 with `n_layer` layers, width `e`, MLP width `f`, context `ctx`
/// and vocabulary `v` (as the model builder lays them out: matrices `[out, in]`, tied output).
fn gpt2_shapes(n_layer: usize, e: usize, f: usize, ctx: usize, v: usize) -> Vec<Vec<usize>> {
    let mut shapes = Vec::new();
    for _ in 0..n_layer {
        shapes.extend([vec![e], vec![e], vec![e], vec![e, e], vec![3 * e], vec![3 * e, e]]);
        shapes.extend([vec![e], vec![e, f], vec![e], vec![e], vec![f], vec![f, e]]);
    }
    shapes.extend([vec![e], vec![e], vec![ctx, e], vec![v, e]]);
    shapes
}

#[test]
fn gpt2_small_weights_pack_into_2_pow_27_instead_of_2_pow_28() {
    let shapes = gpt2_shapes(12, 768, 3072, 1024, 50257);
    let params: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    assert_eq!(params, 124_439_808);
    let plan = WeightBlockPlan::new(shapes.iter().map(Vec::as_slice));
    let blocks = zkinfer_pcs::PackedLayout::new(&plan.slice_num_vars()).unwrap();
    let padded_vars: Vec<usize> = shapes.iter().map(|s| TensorLayout::new(s).num_vars()).collect();
    let padded = zkinfer_pcs::PackedLayout::new(&padded_vars).unwrap();
    assert_eq!((padded.num_vars(), blocks.num_vars()), (28, 27));
}

/// Commits the blocks of `weights` and returns a claim `T_w(point) = value` on each weight.
struct Setting {
    plan: WeightBlockPlan,
    data: zkinfer_pcs::WhirProverData,
    com: zkinfer_pcs::WhirCommitment,
    claims: Vec<(usize, Vec<EF>, EF)>,
    values: Vec<WeightValues>,
}

fn setting() -> Setting {
    let shapes: Vec<Vec<usize>> = vec![vec![5], vec![37, 24], vec![100]];
    let mut rng = Rng(11);
    let values: Vec<WeightValues> = shapes.iter().map(|s| random_weight(&mut rng, s, false)).collect();
    let plan = WeightBlockPlan::new(shapes.iter().map(Vec::as_slice));
    let mut slices = Vec::new();
    for (w, v) in values.iter().enumerate() {
        let t = plan.tensor(w).unwrap();
        for b in 0..t.blocks().len() {
            slices.push(t.block_values(b, v));
        }
    }
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let (com, data) = pcs().commit_slices(&refs).unwrap();
    assert_eq!(com.poly_num_vars, plan.slice_num_vars());
    let claims = shapes
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(w, (s, v))| {
            let layout = TensorLayout::new(s);
            let point: Vec<EF> = (0..layout.num_vars()).map(|_| rng.ef()).collect();
            let value = layout.evaluate_i64(&to_i64(v), &point);
            (w, point, value)
        })
        .collect();
    Setting { plan, data, com, claims, values }
}

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer/test/weight-blocks", 1)
}

fn verify(s: &Setting, proof: &[u8]) -> Result<(), ProofSystemError> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    let mut acc = OpeningAccumulator::new();
    for (w, point, value) in &s.claims {
        s.plan.verify_claim(*w, point, *value, &mut t, &mut acc)?;
    }
    acc.verify(&pcs(), &s.com, &s.plan.poly_ids(), &mut t)?;
    t.finish()?;
    Ok(())
}

/// Proves the claims; `lie` may change the block values of weight 1 before they are sent (a
/// malicious prover) — the block claims recorded are the changed ones.
fn prove(s: &Setting, lie: impl Fn(&[(EF, Vec<EF>)], &mut Vec<EF>)) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    let mut acc = OpeningAccumulator::new();
    for (w, point, _) in &s.claims {
        let tensor = s.plan.tensor(*w).unwrap();
        let split = tensor.selectors_and_sub_points(point).unwrap();
        let mut evals = tensor.block_evals(&s.values[*w], point).unwrap();
        if *w == 1 {
            lie(&split, &mut evals);
        }
        t.send_exts(&evals);
        for (k, ((_, sub), e)) in split.into_iter().zip(evals).enumerate() {
            acc.push(zkinfer_pcs::PolyId::WeightBlock { weight: *w, block: k }, zkinfer_pcs::Origin::WeightBlocks, sub, e);
        }
    }
    acc.prove(&pcs(), &s.data, &s.plan.poly_ids(), &mut t).unwrap();
    t.into_proof()
}

#[test]
fn honest_block_claims_verify_and_lies_are_caught() {
    let s = setting();
    let honest = prove(&s, |_, _| {});
    verify(&s, &honest).expect("honest block claims verify");
    // The library prover produces the same transcript.
    let mut t = ProverTranscript::new(&ds());
    let mut acc = OpeningAccumulator::new();
    for (w, point, _) in &s.claims {
        s.plan.prove_claim(*w, &s.values[*w], point, &mut t, &mut acc).unwrap();
    }
    acc.prove(&pcs(), &s.data, &s.plan.poly_ids(), &mut t).unwrap();
    assert_eq!(t.into_proof(), honest);

    // One block value changed: the recombination check rejects.
    let bad = prove(&s, |_, evals| evals[0] += EF::ONE);
    assert!(matches!(verify(&s, &bad), Err(ProofSystemError::Rejected(_))), "changed block value accepted");

    // Two block values changed so that they still recombine to the claim: the opening rejects.
    let bad = prove(&s, |split, evals| {
        let delta = EF::from_u64(3);
        evals[0] += delta;
        evals[1] -= delta * split[0].0 * split[1].0.inverse();
    });
    let err = verify(&s, &bad).expect_err("compensated block values accepted");
    assert!(matches!(err, ProofSystemError::Pcs(_)), "expected the opening to reject, got {err}");

    // A claimed value that is not the tensor's: the recombination check rejects.
    let mut wrong = setting();
    wrong.claims[1].2 += EF::ONE;
    assert!(verify(&wrong, &honest).is_err(), "wrong claim accepted");
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn tiny_vk() -> VerifyingKey {
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    setup(&model, vocab_bytes(&tok), [0; 32]).unwrap().vk
}

#[test]
fn key_whose_blocks_do_not_match_the_shapes_is_rejected() {
    let vk = tiny_vk();
    assert_eq!(VerifyingKey::from_bytes(&vk.to_bytes()).unwrap(), vk);
    let padded = vk.weight_packed_num_vars().unwrap();
    let tensor_vars: Vec<usize> = vk.weights.iter().map(|m| TensorLayout::new(&m.shape).num_vars()).collect();
    let tensor_total: usize = vk.weights.iter().map(|m| TensorLayout::new(&m.shape).padded_len()).sum();
    assert!(padded < zkinfer_poly::next_pow2_vars(tensor_total), "blocks must pack smaller than padded tensors");

    eprintln!(
        "tiny model: {} weights, {} block slices; packed weight polynomial 2^{padded} (per-dimension padded tensors: 2^{})",
        vk.weights.len(),
        vk.commitment.poly_num_vars.len(),
        zkinfer_poly::next_pow2_vars(tensor_total)
    );
    let rejects = |vk: &VerifyingKey, what: &str| {
        let err = VerifyingKey::from_bytes(&vk.to_bytes()).expect_err(what);
        assert!(err.to_string().contains("weight commitment"), "{what}: {err}");
    };
    // The version-1 layout: one slice per padded tensor.
    let mut old = vk.clone();
    old.commitment.poly_num_vars = tensor_vars;
    rejects(&old, "per-tensor commitment accepted");
    // One block one variable larger.
    let mut bigger = vk.clone();
    bigger.commitment.poly_num_vars[0] += 1;
    rejects(&bigger, "resized block accepted");
    // A block missing, or one too many.
    let mut fewer = vk.clone();
    fewer.commitment.poly_num_vars.pop();
    rejects(&fewer, "missing block accepted");
    let mut more = vk.clone();
    more.commitment.poly_num_vars.push(0);
    rejects(&more, "extra block accepted");
    // A weight shape changed under the same commitment.
    let mut reshaped = vk.clone();
    let w = reshaped.weights.iter().position(|m| m.shape.len() == 2).unwrap();
    reshaped.weights[w].shape[0] += 1;
    rejects(&reshaped, "changed shape accepted");
    // Shapes with astronomically many blocks are rejected before any planning.
    let mut huge = vk.clone();
    huge.weights[w].shape = vec![(1 << 32) - 1; 4];
    rejects(&huge, "absurd shape accepted");
}

/// The op proofs' weight claims are keyed by graph tensor; the block reduction finds the key
/// weight through the graph's template (`WeightClaims`) and the blocks are opened against the
/// weight commitment's ids. A claim named by any other polynomial — an input tensor, a witness
/// column — is refused by both sides, and a wrong value is rejected.
#[test]
fn weight_claims_are_named_through_the_template_and_other_names_are_refused() {
    use zkinfer_model::TensorSource;
    use zkinfer_pcs::{Origin, PolyId};
    use zkinfer_proof::weight_blocks::{WeightClaims, prove_block_claims, verify_block_claims};
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    let vk = &pk.vk;
    let graph = vk.graph(3, 1).unwrap();
    let w_id = graph.tensors.iter().position(|m| m.source == TensorSource::Weight && m.shape.len() == 2).unwrap();
    let meta = graph.tensors[w_id].clone();
    let layout = TensorLayout::new(&meta.shape);
    let point: Vec<EF> = (0..layout.num_vars()).map(|i| EF::from_u64(7 + 3 * i as u64)).collect();
    let ints: Vec<i64> = match &model.weights().get(&meta.name).unwrap().values {
        WeightValues::I16(v) => v.iter().map(|&x| i64::from(x)).collect(),
        WeightValues::I64(v) => v.clone(),
    };
    let value = layout.evaluate_i64(&ints, &point);
    let claims = |poly: PolyId, value: EF| {
        let mut acc = OpeningAccumulator::new();
        acc.push(poly, Origin::Node(0), point.clone(), value);
        let mut c = WeightClaims::new();
        c.add(&vk.graph, &graph, acc);
        c
    };
    let ids = WeightBlockPlan::for_weights(&vk.weights).poly_ids();
    let prove = |c: &WeightClaims| -> Result<Vec<u8>, ProofSystemError> {
        let mut t = ProverTranscript::new(&ds());
        let blocks = prove_block_claims(&vk.weights, model.weights(), c, &mut t)?;
        blocks.prove(&pcs(), &pk.weight_data, &ids, &mut t)?;
        Ok(t.into_proof())
    };
    let check = |c: &WeightClaims, proof: &[u8]| -> Result<(), ProofSystemError> {
        let mut t = VerifierTranscript::new(&ds(), proof);
        let blocks = verify_block_claims(&vk.weights, c, &mut t)?;
        blocks.verify(&pcs(), &vk.commitment, &ids, &mut t)?;
        t.finish()?;
        Ok(())
    };
    let honest = claims(PolyId::Tensor(w_id), value);
    let proof = prove(&honest).unwrap();
    check(&honest, &proof).expect("an honest weight claim verifies");
    // A wrong value: the block values no longer recombine to it.
    assert!(matches!(check(&claims(PolyId::Tensor(w_id), value + EF::ONE), &proof), Err(ProofSystemError::Rejected(_))));
    // The same claim named by an input tensor, or as a witness column: refused by both sides.
    let tokens = graph.find("tokens").unwrap().0;
    for other in [PolyId::Tensor(tokens), PolyId::Column(w_id), PolyId::WeightBlock { weight: 0, block: 0 }] {
        let err = check(&claims(other, value), &proof).expect_err("a weight claim under another name was accepted");
        assert!(matches!(err, ProofSystemError::Rejected(_)), "{other:?}: {err}");
        assert!(prove(&claims(other, value)).is_err(), "{other:?}: the prover reduced it");
    }
    // Block claims opened under ids the weight commitment does not list: refused by the opening.
    let mut t = VerifierTranscript::new(&ds(), &proof);
    let blocks = verify_block_claims(&vk.weights, &honest, &mut t).unwrap();
    assert!(blocks.verify(&pcs(), &vk.commitment, &PolyId::slots(ids.len()), &mut t).is_err());
}
