//! The setup proof (`zkinfer_proof::setup_proof`): the honest proof of the tiny GPT-2 verifies,
//! and a malicious key maker who commits an out-of-range weight (narrow or wide, just past either
//! end of the bound) or a non-zero block padding entry — building the commitment and the key
//! consistently and proving with a prover that clamps what it cannot prove — is rejected; so are
//! flipped proof bytes and another model's setup proof.
//!
//! The key's out-of-domain answers (key version 9, `VerifyingKey::weight_ood`): a key whose answer
//! is off by one is refused at the weight opening of a one-pass proof, of a stream's close and of
//! the setup proof, each made by a prover that proves under that key (the false answer carried
//! into its opening); keys with another number of answers, a non-canonical answer or an older
//! version are refused by the decoder, naming what is wrong.
//! Failing control (temporary, not committed; see the session report): with the answers dropped
//! from the weight opening on both sides (`open_sparse`/`verify_sparse` instead of the `_ood`
//! calls in `prove_weight_opening`/`verify_weight_opening`), the off-by-one test fails: the
//! one-pass proof under the false answer is accepted.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use std::path::PathBuf;
use std::sync::OnceLock;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, WeightValues};
use zkinfer_proof::keys::{VerifyingKey, WeightMeta};
use zkinfer_proof::setup_proof::{SetupProof, prove_setup, prove_setup_unchecked, verify_setup};
use zkinfer_proof::weight_blocks::WeightBlockPlan;
use zkinfer_proof::{ProofSystemError, pcs, setup_with_proof, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn tiny(name: &str) -> (VerifyingKey, SetupProof) {
    let gguf = GgufFile::open(testdata(name)).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    setup_with_proof(&model, vocab_bytes(&tok), [0; 32]).expect("setup")
}

fn tiny_fixture() -> &'static (VerifyingKey, SetupProof) {
    static F: OnceLock<(VerifyingKey, SetupProof)> = OnceLock::new();
    F.get_or_init(|| tiny("gpt2-tiny-random.gguf"))
}

/// A synthetic key: narrow weights with padding in both dimensions, a wide vector with padding,
/// a scalar. `edit` may change the committed slices (after the honest blocks are built).
struct Synthetic {
    vk: VerifyingKey,
    slices: Vec<Vec<F>>,
}

fn metas() -> Vec<WeightMeta> {
    let m = |name: &str, shape: &[usize], bits: u32| WeightMeta { name: name.into(), shape: shape.to_vec(), frac_bits: 0, bits };
    vec![m("a", &[19, 37], 7), m("b", &[5, 3], 0), m("c", &[21], 20), m("d", &[], 15), m("e", &[35, 2], 33)]
}

/// Honest values: each weight uses its whole range, both ends included.
fn values(meta: &WeightMeta) -> Vec<i64> {
    let n: usize = meta.shape.iter().product();
    let b = (1i64 << meta.bits) - 1;
    (0..n as i64).map(|i| if b == 0 { 0 } else { (i * 7919 % (2 * b + 1)) - b }).chain([b, -b]).take(n.max(1)).collect()
}

fn synthetic(edit: impl FnOnce(&WeightBlockPlan, &mut Vec<Vec<F>>)) -> Synthetic {
    let weights = metas();
    let plan = WeightBlockPlan::for_weights(&weights);
    let mut slices = Vec::new();
    for (w, meta) in weights.iter().enumerate() {
        let mut v = values(meta);
        let n = meta.shape.iter().product::<usize>();
        v.truncate(n);
        // Both ends of the range appear.
        if n >= 2 && meta.bits > 0 {
            v[0] = (1i64 << meta.bits) - 1;
            v[n - 1] = -((1i64 << meta.bits) - 1);
        }
        let t = plan.tensor(w).unwrap();
        for b in 0..t.blocks().len() {
            slices.push(t.block_values(b, &WeightValues::I64(v.clone())));
        }
    }
    edit(&plan, &mut slices);
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let (commitment, data) = pcs().commit_slices(&refs).unwrap();
    let mut vk = tiny_fixture().0.clone();
    vk.weights = weights;
    vk.weight_ood = zkinfer_proof::keys::weight_ood_answers(&commitment, &data).unwrap();
    vk.commitment = commitment;
    Synthetic { vk, slices }
}

/// A key maker who commits `edit`ed slices and proves with the cheating prover: must be rejected.
fn malicious(edit: impl FnOnce(&WeightBlockPlan, &mut Vec<Vec<F>>)) -> ProofSystemError {
    let s = synthetic(edit);
    assert!(prove_setup(&s.vk, s.slices.clone()).is_err(), "the honest prover must refuse");
    let proof = prove_setup_unchecked(&s.vk, s.slices).expect("the cheating prover produces a proof");
    verify_setup(&s.vk, &proof).expect_err("a key with out-of-range or padded weights must be rejected")
}

#[test]
fn honest_tiny_model_setup_proof_verifies() {
    let (vk, proof) = tiny_fixture();
    verify_setup(vk, proof).expect("honest setup proof");
    let decoded = SetupProof::from_bytes(&proof.to_bytes()).unwrap();
    verify_setup(vk, &decoded).expect("decoded setup proof");
    let b = proof.to_bytes();
    for n in [0, 8, 12, 44, b.len() - 1] {
        assert!(SetupProof::from_bytes(&b[..n]).is_err());
    }
}

#[test]
fn honest_synthetic_key_verifies() {
    let s = synthetic(|_, _| {});
    let proof = prove_setup(&s.vk, s.slices).expect("honest prove");
    verify_setup(&s.vk, &proof).expect("honest synthetic setup proof");
}

/// Index of entry `(row, col)` of 2-D weight `w` in its first block, and that block's slice.
fn first_block_entry(plan: &WeightBlockPlan, w: usize, i: usize) -> (usize, usize) {
    let first: usize = (0..w).map(|x| plan.tensor(x).unwrap().blocks().len()).sum();
    (first, i)
}

#[test]
fn out_of_range_narrow_weight_is_rejected() {
    // Weight "a" (7 bits): 2^7 (one past the top), then −2^7 (one past the bottom).
    for bad in [128i64, -128, 1 << 40] {
        let err = malicious(|plan, s| {
            let (k, i) = first_block_entry(plan, 0, 1);
            s[k][i] = from_i64_unchecked(bad);
        });
        assert!(matches!(err, ProofSystemError::Pcs(_) | ProofSystemError::Rejected(_)), "{bad}: {err}");
    }
    // Weight "b" declares 0 bits: any non-zero entry is out of range.
    malicious(|plan, s| {
        let (k, i) = first_block_entry(plan, 1, 0);
        s[k][i] = F::ONE;
    });
}

#[test]
fn out_of_range_wide_weight_is_rejected() {
    for (w, bits) in [(2usize, 20u32), (4, 33)] {
        for bad in [1i64 << bits, -(1i64 << bits), (1i64 << 50) + 3] {
            let err = malicious(|plan, s| {
                let (k, i) = first_block_entry(plan, w, 1);
                s[k][i] = from_i64_unchecked(bad);
            });
            assert!(matches!(err, ProofSystemError::Pcs(_) | ProofSystemError::Rejected(_)), "{w} {bad}: {err}");
        }
    }
}

#[test]
fn non_zero_block_padding_is_rejected() {
    // "a" is [19, 37]: its last block along dim 1 is the part of 37 mod 16 = 5 columns padded to 8;
    // its last blocks along dim 0 hold 19 mod 16 = 3 rows padded to 4. "c" is [21]: 5 of 8.
    for (w, from_end) in [(0usize, 1usize), (2, 1), (2, 3)] {
        malicious(|plan, s| {
            let first: usize = (0..w).map(|x| plan.tensor(x).unwrap().blocks().len()).sum();
            let k = first + plan.tensor(w).unwrap().blocks().len() - 1;
            let n = s[k].len();
            assert_eq!(s[k][n - from_end], F::ZERO, "the entry must be padding");
            s[k][n - from_end] = F::ONE;
        });
    }
}

#[test]
fn flipped_bytes_and_another_models_proof_are_rejected() {
    let (vk, proof) = tiny_fixture();
    let n = proof.transcript.len();
    for pos in (0..n).step_by(n / 37 + 1).chain([n - 1]) {
        let mut bad = proof.clone();
        bad.transcript[pos] ^= 0x10;
        assert!(verify_setup(vk, &bad).is_err(), "flipped byte {pos} of {n} accepted");
    }
    let (other_vk, other_proof) = tiny("gpt2-tiny-random-q8_0.gguf");
    assert!(matches!(verify_setup(vk, &other_proof), Err(ProofSystemError::WrongModel { .. })));
    // Even with the header rewritten, the transcript is bound to the other key.
    let relabelled = SetupProof { model_commitment: vk.digest(), ..other_proof.clone() };
    assert!(verify_setup(vk, &relabelled).is_err());
    assert!(verify_setup(&other_vk, &other_proof).is_ok());
}

#[test]
fn keys_beyond_61_bits_are_refused() {
    let s = synthetic(|_, _| {});
    let mut vk = s.vk.clone();
    vk.weights[4].bits = 62;
    let proof = SetupProof { model_commitment: vk.digest(), transcript: Vec::new() };
    assert!(matches!(verify_setup(&vk, &proof), Err(ProofSystemError::Rejected(_))));
}

// ---------------------------------------------------------------------------------------------
// The key's out-of-domain answers (key version 9).
// ---------------------------------------------------------------------------------------------

/// The tiny GPT-2, its honest proving key, and the same key with its first out-of-domain answer
/// moved by one (a prover proving under that key carries the false answer into its opening).
fn ood_fixture() -> &'static (zkinfer_proof::ProvingKey, zkinfer_proof::ProvingKey, Model) {
    static F: OnceLock<(zkinfer_proof::ProvingKey, zkinfer_proof::ProvingKey, Model)> = OnceLock::new();
    F.get_or_init(|| {
        let (model, pk) = common::load("gpt2-tiny-random.gguf");
        let mut vk = pk.vk.clone();
        vk.weight_ood[0] += EF::ONE;
        let bad = zkinfer_proof::ProvingKey { vk, weight_data: pk.weight_data.clone() };
        (pk, bad, model)
    })
}

/// The honest key's answers are the committed packed polynomial's values at the points the
/// commitment alone determines, one per group; setup recomputes the same key byte for byte.
#[test]
fn the_keys_out_of_domain_answers_are_recomputed_byte_for_byte() {
    let (pk, _, model) = ood_fixture();
    let vk = &pk.vk;
    assert_eq!(vk.weight_ood.len(), pcs().num_groups(&vk.commitment.poly_num_vars));
    assert_eq!(vk.weight_ood, zkinfer_proof::keys::weight_ood_answers(&vk.commitment, &pk.weight_data).unwrap());
    let samples = vk.weight_ood_samples().unwrap();
    assert_eq!(samples[0].point, zkinfer_proof::keys::weight_ood_points(&vk.commitment).unwrap()[0]);
    assert_eq!(samples[0].point.len(), vk.weight_packed_num_vars().unwrap());
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let again = zkinfer_proof::setup(model, vocab_bytes(&tok), [0; 32]).unwrap();
    assert_eq!(again.vk.to_bytes(), vk.to_bytes());
    // The setup proof's key (setup_with_proof) is the same key.
    assert_eq!(tiny_fixture().0.to_bytes(), vk.to_bytes());
}

/// A key whose stored answer is off by one is refused at the weight opening — of a one-pass
/// proof, of a stream's close, of the setup proof — though the prover proves under that very key
/// (its digest is the proofs' model commitment); the honest key's proofs verify.
#[test]
fn a_key_whose_out_of_domain_answer_is_off_by_one_is_refused_at_the_weight_opening() {
    let (pk, bad, model) = ood_fixture();
    let prompt = [5u32, 17, 3];
    // One-pass.
    let (honest, _) = zkinfer_proof::prove(model, pk, &prompt, 2, |_| {}).unwrap();
    zkinfer_proof::verify(&pk.vk, &honest).expect("the honest proof verifies");
    assert_eq!(VerifyingKey::from_bytes(&bad.vk.to_bytes()).unwrap(), bad.vk, "any answer decodes");
    let (proof, _) = zkinfer_proof::prove(model, bad, &prompt, 2, |_| {}).expect("the prover runs under the false answer");
    let e = zkinfer_proof::verify(&bad.vk, &proof).expect_err("a false out-of-domain answer accepted (one-pass)").to_string();
    assert!(e.contains("weight opening"), "{e}");
    // A stream (test-only small codewords on this thread, both sides).
    zkinfer_verifier::chunked::set_test_small_codewords(Some(0));
    let stream = |pk: &zkinfer_proof::ProvingKey| {
        let mut out = Vec::new();
        let weights = zkinfer_proof::WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
        zkinfer_proof::chunked::prove_chunked(model, &pk.vk, weights, &prompt, 2, 4, &mut out, |_| {}).unwrap();
        zkinfer_proof::chunked::verify_stream(&pk.vk, &mut &out[..])
    };
    stream(pk).expect("the honest stream verifies");
    let e = stream(bad).expect_err("a false out-of-domain answer accepted (stream)").to_string();
    assert!(e.contains("close") && e.contains("weight opening"), "{e}");
    zkinfer_verifier::chunked::set_test_small_codewords(None);
    // The setup proof.
    let slices = zkinfer_proof::keys::weight_slices(model).unwrap().1;
    let proof = prove_setup(&bad.vk, slices).expect("the setup prover runs under the false answer");
    let e = verify_setup(&bad.vk, &proof).expect_err("a false out-of-domain answer accepted (setup proof)").to_string();
    assert!(e.contains("weight opening"), "{e}");
}

/// The decoder refuses a key with one answer too few or too many, an answer with a limb `≥ p`, or
/// a key of version 8 (no answers), naming what is wrong; every truncation inside the answers is
/// an error, never a panic.
#[test]
fn keys_with_wrong_out_of_domain_answers_or_version_8_are_refused() {
    let vk = &tiny_fixture().0;
    let bytes = vk.to_bytes();
    let com = zkinfer_proof::keys::encode_commitment(&vk.commitment);
    let at = bytes.windows(com.len()).position(|w| w == com.as_slice()).unwrap() + com.len();
    assert_eq!(bytes[at..at + 4], 1u32.to_le_bytes(), "one group, one answer");
    let answers = at + 4..at + 4 + 24;
    let refused = |b: &[u8], what: &str| {
        let e = VerifyingKey::from_bytes(b).expect_err(what).to_string();
        assert!(e.contains("out-of-domain answer"), "{what}: {e}");
    };
    // No answer.
    refused(&[&bytes[..at], &0u32.to_le_bytes()[..], &bytes[answers.end..]].concat(), "no answer");
    // Two answers.
    refused(&[&bytes[..at], &2u32.to_le_bytes()[..], &bytes[answers.clone()], &bytes[answers.clone()], &bytes[answers.end..]].concat(), "two answers");
    // A limb equal to p.
    let mut b = bytes.clone();
    b[answers.start + 8..answers.start + 16].copy_from_slice(&zkinfer_field::P.to_le_bytes());
    refused(&b, "a non-canonical limb");
    // Truncated inside the answers.
    for n in at..answers.end {
        assert!(VerifyingKey::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
    }
    // Version 8.
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&8u32.to_le_bytes());
    let e = VerifyingKey::from_bytes(&b).expect_err("a version-8 key read").to_string();
    assert!(e.contains('8') && e.contains(&zkinfer_proof::keys::VK_VERSION.to_string()), "{e}");
}
