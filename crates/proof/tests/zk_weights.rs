//! Choke point 8 of the zero-knowledge graph proof (issue 13): weight claims reduced to the key's
//! blocks and opened on the proof's ticket (`zkinfer_proof::zk::prove_weight_claims_zk`,
//! `zkinfer_verifier::zk_weights`), on the tiny GPT-2 and tiny Llama.
//!
//! The claim points are drawn from a transcript that binds the ticket (as a graph proof's are), two
//! per weight (what the graph proof puts on a weight: `docs/SECURITY.md`, inventory). Checked:
//! honest proofs verify on their ticket and fail on another; a perturbed block value fails (alone:
//! at the recombination; with the claim recomputed from it: at the opening); a claim sent in the
//! clear (the plain `W(z)`) fails; two proofs share no 16-byte window outside bincode framing and
//! no plain value of a weight or block appears, while the sent randomised values are found by the
//! same search (so the check can fail).
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::collections::HashSet;
use std::path::PathBuf;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_poly::Mle;
use zkinfer_proof::keys::weight_slices;
use zkinfer_proof::vocab_bytes;
use zkinfer_proof::zk::{
    KeyBudget, WeightClaim, ZkProvingKey, honest_block_value, prove_weight_claims_zk, randomised_weight_value, setup_zk, ticket_data,
    verify_weight_claims_zk,
};
use zkinfer_proof::zk_key::ZkVerifyingKey;
use zkinfer_tokenizer::Tokenizer;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};
use zkinfer_verifier::zk_weights::plan_of;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn load(name: &str) -> (Model, Vec<Vec<u8>>) {
    let gguf = GgufFile::open(testdata(name)).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    (model, vocab_bytes(&tok))
}

fn ds(ticket: usize) -> DomainSeparator {
    DomainSeparator::new("zkinfer-test/zk-weights", 1).with_public("ticket", &(ticket as u32).to_le_bytes())
}

/// What a malicious prover does.
#[derive(Clone, Copy, PartialEq)]
enum Tamper {
    None,
    /// One block value of weight 0's first claim shifted; the claim left as it was.
    BlockOnly,
    /// The same shift, and the claim recomputed from the shifted block (recombination holds).
    BlockAndClaim,
    /// The plain value `W(z)` claimed for weight 0's first claim, blocks recomputed to match it.
    PlainClaim,
}

struct Fixture {
    model: Model,
    vk: ZkVerifyingKey,
    pk: ZkProvingKey,
    slices: Vec<Vec<F>>,
}

/// The plain value `W_w(z) = Σ_k sel_k(z)·B_k(s_k(z))` and the plain block values.
fn plain(f: &Fixture, w: usize, point: &[EF]) -> (EF, Vec<EF>) {
    let (plan, offsets) = plan_of(&f.vk.public.weights).unwrap();
    let split = plan.tensor(w).unwrap().selectors_and_sub_points(point).unwrap();
    let blocks: Vec<EF> = split.iter().enumerate().map(|(k, (_, sub))| Mle::new(f.slices[offsets[w] + k].clone()).evaluate(sub)).collect();
    (split.iter().zip(&blocks).map(|((sel, _), &b)| *sel * b).sum(), blocks)
}

/// A proof of two claims per weight on `ticket`; returns the proof bytes, the claims and the
/// plain block values of every claim.
fn prove(f: &Fixture, ticket: usize, tamper: Tamper) -> (Vec<u8>, Vec<WeightClaim>, Vec<EF>) {
    let data = ticket_data(&f.vk, &f.pk, &f.model, ticket).expect("ticket");
    let (plan, offsets) = plan_of(&f.vk.public.weights).unwrap();
    let mut t = ProverTranscript::new(&ds(ticket));
    let mut claims = Vec::new();
    let mut plains = Vec::new();
    let delta = EF::from(F::from_u64(12345));
    for w in 0..f.vk.public.weights.len() {
        let nv = plan.tensor(w).unwrap().num_vars();
        for j in 0..2 {
            let point = t.challenge_exts(nv);
            let mut value = randomised_weight_value(&f.vk, &data, w, &point).unwrap();
            let (plain_value, blocks) = plain(f, w, &point);
            plains.push(plain_value);
            plains.extend(blocks);
            if w == 0 && j == 0 {
                let sel0 = plan.tensor(0).unwrap().selectors_and_sub_points(&point).unwrap()[0].0;
                match tamper {
                    Tamper::BlockAndClaim => value += sel0 * delta,
                    Tamper::PlainClaim => value = plain_value,
                    _ => {}
                }
            }
            t.send_ext(value);
            claims.push(WeightClaim { weight: w, point, value });
        }
    }
    // The malicious provers shift block 0 of weight 0 at its first claim's sub-point.
    let first = claims[0].clone();
    let sel0 = plan.tensor(0).unwrap().selectors_and_sub_points(&first.point).unwrap()[0].clone();
    let honest_first = randomised_weight_value(&f.vk, &data, 0, &first.point).unwrap();
    let shift = match tamper {
        Tamper::None => EF::from(F::from_u64(0)),
        Tamper::BlockOnly | Tamper::BlockAndClaim => delta,
        // Blocks recomputed so that they add up to the plain claim.
        Tamper::PlainClaim => {
            use zkinfer_field::Field;
            (first.value - honest_first) * sel0.0.try_inverse().unwrap()
        }
    };
    let target = (offsets[0], sel0.1);
    let block_value = move |d: &zkinfer_pcs::hiding::HidingProverData, poly: usize, sub: &[EF]| {
        let v = honest_block_value(d, poly, sub)?;
        Ok(if poly == target.0 && sub == target.1.as_slice() { v + shift } else { v })
    };
    prove_weight_claims_zk(&f.vk, data, &claims, &block_value, &mut t, &mut StdRng::seed_from_u64(ticket as u64 * 7 + 1)).expect("prover");
    (t.into_proof(), claims, plains)
}

fn verify(f: &Fixture, ticket: usize, proved_on: usize, proof: &[u8]) -> Result<(), String> {
    let (plan, _) = plan_of(&f.vk.public.weights).unwrap();
    let mut t = VerifierTranscript::new(&ds(proved_on), proof);
    let mut claims = Vec::new();
    for w in 0..f.vk.public.weights.len() {
        let nv = plan.tensor(w).unwrap().num_vars();
        for _ in 0..2 {
            let point = t.challenge_exts(nv);
            let value = t.receive_ext().map_err(|e| e.to_string())?;
            claims.push(WeightClaim { weight: w, point, value });
        }
    }
    verify_weight_claims_zk(&f.vk, ticket, &claims, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

fn bytes_of(v: EF) -> Vec<u8> {
    use zkinfer_field::BasedVectorSpace;
    v.as_basis_coefficients_slice().iter().flat_map(|x: &F| p3_field::PrimeField64::as_canonical_u64(x).to_le_bytes()).collect()
}

/// bincode's fixed-width length prefixes recur in every proof; a mostly-zero window carries no
/// field element.
fn framing(w: &[u8]) -> bool {
    w.iter().filter(|&&b| b == 0).count() >= 10
}

fn check(name: &str) {
    let (model, vocab) = load(name);
    let (vk, pk) = setup_zk(&model, vocab, KeyBudget { tickets: 2, points_per_ticket: 4 }).expect("zk setup");
    let (_, slices) = weight_slices(&model).unwrap();
    let f = Fixture { model, vk, pk, slices };

    let (p1, claims1, plains1) = prove(&f, 1, Tamper::None);
    verify(&f, 1, 1, &p1).expect("honest proof on ticket 1");
    assert!(verify(&f, 2, 1, &p1).is_err(), "a ticket-1 opening verified against ticket 2's root");
    assert!(verify(&f, 0, 1, &p1).is_err(), "a ticket-1 opening verified against the setup ticket");
    // An honest opening of the setup ticket itself is refused by the verifier's own check (not
    // only by the proof header's).
    let (p0, _, _) = prove(&f, 0, Tamper::None);
    let e = verify(&f, 0, 0, &p0).expect_err("an opening of the setup ticket");
    assert!(e.contains("reserved for the setup proof"), "{e}");
    let (p2, claims2, plains2) = prove(&f, 2, Tamper::None);
    verify(&f, 2, 2, &p2).expect("honest proof on ticket 2");

    // Malicious provers.
    let e = verify(&f, 1, 1, &prove(&f, 1, Tamper::BlockOnly).0).expect_err("a perturbed block value");
    assert!(e.contains("do not add up"), "{e}");
    let e = verify(&f, 1, 1, &prove(&f, 1, Tamper::BlockAndClaim).0).expect_err("a perturbed block value with the claim recomputed");
    assert!(!e.contains("do not add up"), "caught only by the recombination: {e}");
    assert!(verify(&f, 1, 1, &prove(&f, 1, Tamper::PlainClaim).0).is_err(), "the plain W(z) claimed");

    // Zero knowledge: no plain value of a weight or block in either proof; the randomised
    // values that ARE sent are found by the same search (the check can fail).
    for (proof, claims, plains) in [(&p1, &claims1, &plains1), (&p2, &claims2, &plains2)] {
        let windows: HashSet<&[u8]> = proof.windows(16).collect();
        for v in plains {
            assert!(!bytes_of(*v).windows(16).any(|w| windows.contains(w)), "a plain weight value is in the proof");
        }
        for c in claims {
            assert!(bytes_of(c.value).windows(16).any(|w| windows.contains(w)), "the search misses a sent value");
            let (plain_value, _) = plain(&f, c.weight, &c.point);
            assert_ne!(c.value, plain_value);
        }
    }
    // Two proofs (tickets 1 and 2) share no 16-byte window outside framing; a proof shares its
    // own windows (the check can fail).
    let w1: HashSet<&[u8]> = p1.windows(16).filter(|w| !framing(w)).collect();
    assert!(w1.len() > 1000);
    let shared = p2.windows(16).filter(|w| !framing(w) && w1.contains(w)).count();
    assert_eq!(shared, 0, "two zk weight openings share {shared} 16-byte windows");
}

#[test]
fn weight_claims_on_a_ticket_of_the_tiny_gpt2() {
    check("gpt2-tiny-random.gguf");
}

#[test]
fn weight_claims_on_a_ticket_of_the_tiny_llama() {
    check("llama/llama-tiny-random.gguf");
}
