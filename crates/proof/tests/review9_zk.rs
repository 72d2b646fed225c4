//! review9: adversarial checks of choke point 8 (weight claims on a hiding ticket,
//! `zkinfer_verifier::zk_weights`) and of the zk proof header (`zkinfer_verifier::zk_proof`) on
//! the tiny GPT-2.
//!
//! Checked, each against an honest control that verifies: a ticket index past the key (or
//! `usize::MAX`) is an error, never a panic; a claim on a weight the key does not hold, or with a
//! point of the wrong length, is an error; the claims presented in another order, or one claim's
//! point exchanged with another claim's of the same weight, fail; a proof opening the setup ticket is
//! refused by the header (its decoder and `check_header`), and the header's ticket range is exact.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::vocab_bytes;
use zkinfer_proof::zk::{KeyBudget, WeightClaim, ZkProvingKey, prove_weight_claims_zk, randomised_weight_value, setup_zk, ticket_data, verify_weight_claims_zk};
use zkinfer_proof::zk_key::ZkVerifyingKey;
use zkinfer_tokenizer::Tokenizer;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};
use zkinfer_verifier::zk_proof::{FIRST_PROOF_TICKET, SETUP_TICKET, ZkProofFile};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-test/review9-zk-weights", 1)
}

struct Fixture {
    model: Model,
    vk: ZkVerifyingKey,
    pk: ZkProvingKey,
}

fn fixture() -> Fixture {
    let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).expect("tiny model");
    let model = Model::load(&gguf).expect("model");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let (vk, pk) = setup_zk(&model, vocab_bytes(&tok), KeyBudget { tickets: 2, points_per_ticket: 4 }).expect("zk setup");
    Fixture { model, vk, pk }
}

/// Honest claims: two per weight on weights 0 and 1 (the first two of the key), drawn from the
/// transcript; then the opening on `ticket`.
fn prove(f: &Fixture, ticket: usize) -> (Vec<u8>, Vec<WeightClaim>) {
    let data = ticket_data(&f.vk, &f.pk, &f.model, ticket).expect("ticket");
    let mut t = ProverTranscript::new(&ds());
    let mut claims = Vec::new();
    for w in 0..2 {
        let nv = f.vk.weights.poly_num_vars[w];
        for _ in 0..2 {
            let point = t.challenge_exts(nv);
            let value = randomised_weight_value(&data, w, &point).unwrap();
            t.send_ext(value);
            claims.push(WeightClaim { weight: w, point, value });
        }
    }
    prove_weight_claims_zk(&f.vk, data, &claims, &mut t, &mut StdRng::seed_from_u64(ticket as u64 + 11)).expect("prover");
    (t.into_proof(), claims)
}

/// Replays the claims' transcript, then hands `edit` the claims before the zk weight verifier
/// runs on `ticket`. Never a panic.
fn verify(f: &Fixture, ticket: usize, proof: &[u8], edit: impl FnOnce(&mut Vec<WeightClaim>)) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| {
        let mut t = VerifierTranscript::new(&ds(), proof);
        let mut claims = Vec::new();
        for w in 0..2 {
            let nv = f.vk.weights.poly_num_vars[w];
            for _ in 0..2 {
                let point = t.challenge_exts(nv);
                let value = t.receive_ext().map_err(|e| e.to_string())?;
                claims.push(WeightClaim { weight: w, point, value });
            }
        }
        edit(&mut claims);
        verify_weight_claims_zk(&f.vk, ticket, &claims, &mut t).map_err(|e| e.to_string())?;
        t.finish().map_err(|e| e.to_string())
    }))
    .expect("verifier panicked")
}

#[test]
fn weight_claims_on_a_ticket_resist_index_order_and_shape_attacks() {
    let f = fixture();
    let tickets = f.vk.weights.tickets.len();
    assert_eq!(tickets, 3, "the setup ticket and two proof tickets");
    let (proof, _) = prove(&f, 1);
    verify(&f, 1, &proof, |_| {}).expect("control: the honest proof verifies on its ticket");

    // Ticket indices past the key.
    for ticket in [tickets, tickets + 1, usize::MAX] {
        assert!(verify(&f, ticket, &proof, |_| {}).is_err(), "ticket {ticket} of {tickets} accepted");
    }
    // A claim on a weight the key does not hold, or with a point one coordinate short or long.
    let n = f.vk.public.weights.len();
    assert!(verify(&f, 1, &proof, |c| c[0].weight = n).is_err());
    assert!(verify(&f, 1, &proof, |c| c[0].weight = usize::MAX).is_err());
    assert!(verify(&f, 1, &proof, |c| {
        c[0].point.pop();
    })
    .is_err());
    assert!(verify(&f, 1, &proof, |c| c[0].point.push(EF::ONE)).is_err());
    // The claims in another order (weight 0's two claims exchanged; weights exchanged) — the
    // opening's batching then combines other claims than the prover's.
    assert!(verify(&f, 1, &proof, |c| c.swap(0, 1)).is_err());
    assert!(verify(&f, 1, &proof, |c| c.swap(0, 2)).is_err());
    // Weight 0's two claims with their points exchanged but values kept.
    assert!(verify(&f, 1, &proof, |c| {
        let p = c[0].point.clone();
        c[0].point = c[1].point.clone();
        c[1].point = p;
    })
    .is_err());
    // A claim's value shifted (the graph proof's claim is not the ticket's value).
    assert!(verify(&f, 1, &proof, |c| c[3].value += EF::from(F::from_u64(1))).is_err());
    // A claim dropped or duplicated.
    assert!(verify(&f, 1, &proof, |c| {
        c.pop();
    })
    .is_err());
    assert!(verify(&f, 1, &proof, |c| c.push(c[3].clone())).is_err());
}

#[test]
fn the_header_refuses_the_setup_ticket_and_tickets_past_the_key() {
    let f = fixture();
    let tickets = f.vk.weights.tickets.len() as u32;
    let ok = ZkProofFile {
        model_commitment: f.vk.digest().unwrap(),
        ticket: FIRST_PROOF_TICKET,
        max_new_tokens: 1,
        prompt_ids: vec![1, 2],
        completion_ids: vec![3],
        transcript: vec![],
    };
    ok.check_header(&f.vk).expect("control: ticket 1 of a key of two proof tickets");
    ZkProofFile { ticket: tickets - 1, ..ok.clone() }.check_header(&f.vk).expect("control: the last proof ticket");
    for ticket in [SETUP_TICKET, tickets, tickets + 1, u32::MAX] {
        let p = ZkProofFile { ticket, ..ok.clone() };
        assert!(p.check_header(&f.vk).is_err(), "ticket {ticket} passed the header check");
    }
    // The decoder refuses the setup ticket before any check.
    assert!(ZkProofFile::from_bytes(&ZkProofFile { ticket: SETUP_TICKET, ..ok.clone() }.to_bytes()).is_err());
    // Another key's digest.
    let mut other = ok.model_commitment;
    other[0] ^= 1;
    assert!(ZkProofFile { model_commitment: other, ..ok.clone() }.check_header(&f.vk).is_err());
    // The ticket is bound into the transcript's domain: two tickets, two domains.
    let d1 = zkinfer_verifier::zk_proof::domain_separator(&f.vk, &ok).unwrap();
    let d2 = zkinfer_verifier::zk_proof::domain_separator(&f.vk, &ZkProofFile { ticket: 2, ..ok.clone() }).unwrap();
    let c1 = ProverTranscript::new(&d1).challenge_ext();
    let c2 = ProverTranscript::new(&d2).challenge_ext();
    assert_ne!(c1, c2, "the ticket is not bound into the domain");
    assert_eq!(c1, ProverTranscript::new(&zkinfer_verifier::zk_proof::domain_separator(&f.vk, &ok).unwrap()).challenge_ext(), "control");
}
