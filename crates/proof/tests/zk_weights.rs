//! Choke point 8 of the zero-knowledge graph proof (issue 13): weight claims opened on the proof's
//! ticket (one polynomial per weight tensor, zk key v4) (`zkinfer_proof::zk::prove_weight_claims_zk`,
//! `zkinfer_verifier::zk_weights`), on the tiny GPT-2 and tiny Llama.
//!
//! The claim points are drawn from a transcript that binds the ticket (as a graph proof's are), two
//! per weight (what the graph proof puts on a weight: `docs/SECURITY.md`, inventory). Checked:
//! honest proofs verify on their ticket and fail on another; a shifted claim fails at the opening;
//! a claim sent in the clear (the plain `W(z)`) fails; two proofs share no 16-byte window outside
//! bincode framing and no plain value of a weight appears, while the sent randomised values are found by the
//! same search (so the check can fail).
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_model::Model;
use zkinfer_poly::Mle;
use zkinfer_proof::zk::{
    WeightClaim, ZkProvingKey, prove_weight_claims_zk, randomised_weight_value, ticket_data, verify_weight_claims_zk,
    zk_weight_tables,
};
use zkinfer_proof::zk_key::ZkVerifyingKey;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn ds(ticket: usize) -> DomainSeparator {
    DomainSeparator::new("zkinfer-test/zk-weights", 1).with_public("ticket", &(ticket as u32).to_le_bytes())
}

/// What a malicious prover does.
#[derive(Clone, Copy, PartialEq)]
enum Tamper {
    None,
    /// Weight 0's first claim shifted (a value the ticket's polynomial does not take).
    Shifted,
    /// The plain value `W(z)` claimed for weight 0's first claim.
    PlainClaim,
}

struct Fixture {
    model: &'static Model,
    vk: &'static ZkVerifyingKey,
    pk: &'static ZkProvingKey,
    tables: Vec<Vec<F>>,
}

/// The plain value `W_w(z)` of the padded weight.
fn plain(f: &Fixture, w: usize, point: &[EF]) -> EF {
    Mle::new(f.tables[w].clone()).evaluate(point)
}

fn num_vars(f: &Fixture, w: usize) -> usize {
    f.vk.weights.poly_num_vars[w]
}

/// A proof of two claims per weight on `ticket`; returns the proof bytes, the claims and the
/// plain values of every claim.
fn prove(f: &Fixture, ticket: usize, tamper: Tamper) -> (Vec<u8>, Vec<WeightClaim>, Vec<EF>) {
    let data = ticket_data(f.vk, f.pk, f.model, ticket).expect("ticket");
    let mut t = ProverTranscript::new(&ds(ticket));
    let mut claims = Vec::new();
    let mut plains = Vec::new();
    let delta = EF::from(F::from_u64(12345));
    for w in 0..f.vk.public.weights.len() {
        for j in 0..2 {
            let point = t.challenge_exts(num_vars(f, w));
            let mut value = randomised_weight_value(&data, w, &point).unwrap();
            let plain_value = plain(f, w, &point);
            plains.push(plain_value);
            if w == 0 && j == 0 {
                match tamper {
                    Tamper::Shifted => value += delta,
                    Tamper::PlainClaim => value = plain_value,
                    Tamper::None => {}
                }
            }
            t.send_ext(value);
            claims.push(WeightClaim { weight: w, point, value });
        }
    }
    prove_weight_claims_zk(f.vk, data, &claims, &mut t, &mut StdRng::seed_from_u64(ticket as u64 * 7 + 1)).expect("prover");
    (t.into_proof(), claims, plains)
}

fn verify(f: &Fixture, ticket: usize, proved_on: usize, proof: &[u8]) -> Result<(), String> {
    let mut t = VerifierTranscript::new(&ds(proved_on), proof);
    let mut claims = Vec::new();
    for w in 0..f.vk.public.weights.len() {
        for _ in 0..2 {
            let point = t.challenge_exts(num_vars(f, w));
            let value = t.receive_ext().map_err(|e| e.to_string())?;
            claims.push(WeightClaim { weight: w, point, value });
        }
    }
    verify_weight_claims_zk(f.vk, ticket, &claims, &mut t).map_err(|e| e.to_string())?;
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

/// On the test binary's shared first zk setup of the fixture (`common::zk_keys`: three proof
/// tickets; this file uses tickets 0, 1 and 2).
fn check(name: &str) {
    let keys = crate::common::zk_keys(name);
    let (vk, pk) = (&keys.keys[0].0, &keys.keys[0].1);
    let (_, tables) = zk_weight_tables(keys.model.weights()).unwrap();
    let f = Fixture { model: &keys.model, vk, pk, tables };

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
    assert!(verify(&f, 1, 1, &prove(&f, 1, Tamper::Shifted).0).is_err(), "a shifted weight claim");
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
            assert_ne!(c.value, plain(&f, c.weight, &c.point));
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
