//! End-to-end tests of the WHIR PCS and the opening accumulator: honest openings agree with
//! `Mle::evaluate`, and every kind of tampering is rejected with an error (never a panic).

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::{OpeningAccumulator, OpeningClaim, Origin, Pcs, PcsError, PolyId, WhirCommitment, WhirPcs};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-test", 1).with_public("case", b"pcs")
}

fn rand_mle(rng: &mut StdRng, num_vars: usize) -> Mle<F> {
    Mle::new((0..1usize << num_vars).map(|_| F::from_u64(rng.random::<u64>() % zkinfer_field::P)).collect())
}

/// Random claims (honest values from `Mle::evaluate`), points drawn from the transcript after
/// the commitment is absorbed, as a real protocol would.
fn honest_claims<T: Transcript>(polys: &[Mle<F>], per_poly: &[usize], t: &mut T) -> Vec<OpeningClaim> {
    let mut claims = Vec::new();
    for (k, &count) in per_poly.iter().enumerate() {
        for _ in 0..count {
            let point = t.challenge_exts(polys[k].num_vars);
            let value = polys[k].evaluate(&point);
            claims.push(OpeningClaim { poly: k, point, value });
        }
    }
    claims
}

struct Fixture {
    pcs: WhirPcs,
    polys: Vec<Mle<F>>,
    com: WhirCommitment,
    claims: Vec<OpeningClaim>,
    proof: Vec<u8>,
}

/// Commits `sizes`, opens `per_poly[k]` claims on poly k, returns everything for verification.
fn prove_fixture(seed: u64, sizes: &[usize], per_poly: &[usize]) -> Fixture {
    let mut rng = StdRng::seed_from_u64(seed);
    let pcs = WhirPcs::default();
    let polys: Vec<Mle<F>> = sizes.iter().map(|&m| rand_mle(&mut rng, m)).collect();
    let (com, data) = pcs.commit(&polys).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let claims = honest_claims(&polys, per_poly, &mut t);
    pcs.open(&data, &claims, &mut t).expect("open");
    Fixture { pcs, polys, com, claims, proof: t.into_proof() }
}

/// Verifies like a real verifier: absorb the commitment, re-derive the points, check.
fn verify_with(
    pcs: &WhirPcs,
    com: &WhirCommitment,
    claims: &[OpeningClaim],
    proof: &[u8],
) -> Result<(), PcsError> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    // Re-draw the claim points so the transcript state matches the prover's.
    for c in claims {
        let _ = t.challenge_exts(c.point.len());
    }
    pcs.verify(com, claims, &mut t)?;
    t.finish()?;
    Ok(())
}

/// Runs verification, failing the test if it panics.
fn verify_no_panic(pcs: &WhirPcs, com: &WhirCommitment, claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    catch_unwind(AssertUnwindSafe(|| verify_with(pcs, com, claims, proof))).expect("verifier panicked")
}

#[test]
fn openings_agree_with_mle_evaluate_across_sizes() {
    // Different sizes, including a constant (0 variables) and sizes below WHIR's minimum.
    let fx = prove_fixture(1, &[10, 3, 0, 7, 10, 5], &[2, 1, 1, 3, 1, 2]);
    verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &fx.proof).expect("honest proof verifies");
    // The claimed values really are the MLE evaluations (x_0 = MSB), checked independently.
    for c in &fx.claims {
        assert_eq!(fx.polys[c.poly].evaluate(&c.point), c.value);
    }
}

#[test]
fn single_claim_on_boolean_point_reads_the_table() {
    let mut rng = StdRng::seed_from_u64(2);
    let pcs = WhirPcs::default();
    let polys = vec![rand_mle(&mut rng, 4), rand_mle(&mut rng, 9)];
    let (com, data) = pcs.commit(&polys).expect("commit");
    // Point (1,0,1,1) = index 0b1011 = 11 with x_0 the MSB.
    let point: Vec<EF> = [1u64, 0, 1, 1].iter().map(|&b| EF::from_u64(b)).collect();
    let claims = vec![OpeningClaim { poly: 0, point, value: EF::from(polys[0].evals[11]) }];
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    // Keep the transcript in step with `verify_with`, which re-draws one point per claim.
    let _ = t.challenge_exts(4);
    pcs.open(&data, &claims, &mut t).expect("open");
    let proof = t.into_proof();
    verify_no_panic(&pcs, &com, &claims, &proof).expect("verifies");
    // The neighbouring entry is not accepted.
    let wrong = vec![OpeningClaim { value: EF::from(polys[0].evals[10]), ..claims[0].clone() }];
    assert!(verify_no_panic(&pcs, &com, &wrong, &proof).is_err());
}

#[test]
fn wrong_value_is_rejected() {
    let fx = prove_fixture(3, &[8, 6], &[2, 2]);
    for j in 0..fx.claims.len() {
        let mut claims = fx.claims.clone();
        claims[j].value += EF::ONE;
        assert!(verify_no_panic(&fx.pcs, &fx.com, &claims, &fx.proof).is_err(), "claim {j}");
    }
}

#[test]
fn prover_lying_about_a_value_is_rejected() {
    // The prover opens with a false value (the verifier sees the same false claim).
    let mut rng = StdRng::seed_from_u64(4);
    let pcs = WhirPcs::default();
    let polys = vec![rand_mle(&mut rng, 9), rand_mle(&mut rng, 5)];
    let (com, data) = pcs.commit(&polys).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let mut claims = honest_claims(&polys, &[1, 1], &mut t);
    claims[1].value += EF::from_u64(5);
    pcs.open(&data, &claims, &mut t).expect("open runs");
    let proof = t.into_proof();
    assert!(verify_no_panic(&pcs, &com, &claims, &proof).is_err());
}

#[test]
fn wrong_point_is_rejected() {
    let fx = prove_fixture(5, &[8, 6], &[1, 1]);
    let mut claims = fx.claims.clone();
    claims[0].point[3] += EF::ONE;
    assert!(verify_no_panic(&fx.pcs, &fx.com, &claims, &fx.proof).is_err());
    // Same values, claims attributed to the other polynomial of equal size.
    let fx = prove_fixture(6, &[6, 6], &[1, 0]);
    let mut claims = fx.claims.clone();
    claims[0].poly = 1;
    assert!(verify_no_panic(&fx.pcs, &fx.com, &claims, &fx.proof).is_err());
}

#[test]
fn another_polynomials_commitment_is_rejected() {
    let fx = prove_fixture(7, &[8, 6], &[1, 1]);
    // Same shapes, different polynomials.
    let mut rng = StdRng::seed_from_u64(70);
    let other: Vec<Mle<F>> = vec![rand_mle(&mut rng, 8), rand_mle(&mut rng, 6)];
    let (other_com, _) = fx.pcs.commit(&other).expect("commit");
    assert_ne!(other_com, fx.com);
    assert!(verify_no_panic(&fx.pcs, &other_com, &fx.claims, &fx.proof).is_err());
    // Same root, different declared shapes.
    let mut reshaped = fx.com.clone();
    reshaped.poly_num_vars = vec![6, 8];
    assert!(verify_no_panic(&fx.pcs, &reshaped, &fx.claims, &fx.proof).is_err());
}

#[test]
fn any_flipped_proof_byte_is_rejected_without_panic() {
    let fx = prove_fixture(8, &[9, 4], &[1, 2]);
    assert!(verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &fx.proof).is_ok());
    // Every byte of the first 4 KiB (sumcheck rounds, length prefix, WHIR proof header), then
    // a stride through the rest (Merkle paths, opened rows, PoW witnesses, final polynomial).
    let len = fx.proof.len();
    let positions: Vec<usize> = (0..len.min(4096)).chain((4096..len).step_by(13)).chain([len - 1]).collect();
    for &pos in &positions {
        for flip in [0x01u8, 0x80] {
            let mut bad = fx.proof.clone();
            bad[pos] ^= flip;
            assert!(
                verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &bad).is_err(),
                "flip {flip:#x} at byte {pos} of {len} accepted"
            );
        }
    }
}

#[test]
fn single_claim_path_rejects_flipped_bytes_and_wrong_values() {
    // One claim takes the direct path (no batching sumcheck): check it separately.
    let fx = prove_fixture(13, &[9, 5], &[0, 1]);
    assert_eq!(fx.claims.len(), 1);
    assert!(verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &fx.proof).is_ok());
    let mut wrong = fx.claims.clone();
    wrong[0].value += EF::ONE;
    assert!(verify_no_panic(&fx.pcs, &fx.com, &wrong, &fx.proof).is_err());
    let mut moved = fx.claims.clone();
    moved[0].point[0] += EF::ONE;
    assert!(verify_no_panic(&fx.pcs, &fx.com, &moved, &fx.proof).is_err());
    let len = fx.proof.len();
    for pos in (0..len.min(2048)).chain((2048..len).step_by(29)) {
        let mut bad = fx.proof.clone();
        bad[pos] ^= 0x04;
        assert!(verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &bad).is_err(), "flip at byte {pos} of {len} accepted");
    }
}

#[test]
fn truncated_or_extended_proof_is_rejected() {
    let fx = prove_fixture(9, &[8], &[2]);
    let len = fx.proof.len();
    for cut in [0, 1, 48, len / 3, len / 2, len - 33, len - 1] {
        assert!(verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &fx.proof[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = fx.proof.clone();
    longer.push(0);
    assert!(verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &longer).is_err());
}

#[test]
fn invalid_claims_are_errors_on_both_sides() {
    let fx = prove_fixture(10, &[8, 6], &[1, 1]);
    let data = fx.pcs.commit(&fx.polys).expect("commit").1;
    let bad_index = vec![OpeningClaim { poly: 2, point: vec![EF::ZERO; 6], value: EF::ZERO }];
    let bad_len = vec![OpeningClaim { poly: 1, point: vec![EF::ZERO; 7], value: EF::ZERO }];
    for claims in [&bad_index, &bad_len] {
        let mut t = ProverTranscript::new(&ds());
        assert!(matches!(fx.pcs.open(&data, claims, &mut t), Err(PcsError::BadClaim(_))));
        assert!(matches!(verify_no_panic(&fx.pcs, &fx.com, claims, &fx.proof), Err(PcsError::BadClaim(_))));
    }
}

#[test]
fn accumulator_batches_many_claims_on_two_commitments() {
    // Setup-time commitment (20 "weights") and prove-time commitment (5 "witness" columns).
    let mut rng = StdRng::seed_from_u64(11);
    let pcs = WhirPcs::default();
    let weight_sizes: Vec<usize> = (0..20).map(|i| 4 + (i % 7)).collect();
    let weights: Vec<Mle<F>> = weight_sizes.iter().map(|&m| rand_mle(&mut rng, m)).collect();
    let witness: Vec<Mle<F>> = (0..5).map(|i| rand_mle(&mut rng, 6 + i)).collect();
    let (w_com, w_data) = pcs.commit(&weights).expect("commit weights");
    let (x_com, x_data) = pcs.commit(&witness).expect("commit witness");

    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&w_com, &mut t);
    pcs.absorb_commitment(&x_com, &mut t);
    let mut w_acc = OpeningAccumulator::new();
    let mut x_acc = OpeningAccumulator::new();
    let mut script = Vec::new(); // (which, poly) in push order, replayed by the verifier
    for j in 0..100 {
        let (which, k) = if j % 4 == 3 { (1, j % 5) } else { (0, (j * 7) % 20) };
        let poly = if which == 0 { &weights[k] } else { &witness[k] };
        let point = t.challenge_exts(poly.num_vars);
        let value = poly.evaluate(&point);
        t.send_ext(value);
        if which == 0 { w_acc.push(PolyId::Slot(k), Origin::External, point, value) } else { x_acc.push(PolyId::Slot(k), Origin::External, point, value) }
        script.push((which, k));
    }
    assert_eq!(w_acc.len() + x_acc.len(), 100);
    w_acc.prove_consuming(&pcs, w_data, &PolyId::slots(weights.len()), &mut t).expect("open weights");
    x_acc.prove(&pcs, &x_data, &PolyId::slots(witness.len()), &mut t).expect("open witness");
    let proof = t.into_proof();

    let run_verifier = |proof: &[u8], tamper: Option<usize>| -> Result<(), PcsError> {
        let mut t = VerifierTranscript::new(&ds(), proof);
        pcs.absorb_commitment(&w_com, &mut t);
        pcs.absorb_commitment(&x_com, &mut t);
        let mut w_acc = OpeningAccumulator::new();
        let mut x_acc = OpeningAccumulator::new();
        for (j, &(which, k)) in script.iter().enumerate() {
            let m = if which == 0 { weights[k].num_vars } else { witness[k].num_vars };
            let point = t.challenge_exts(m);
            let mut value = t.receive_ext()?;
            if tamper == Some(j) {
                value += EF::ONE;
            }
            if which == 0 { w_acc.push(PolyId::Slot(k), Origin::External, point, value) } else { x_acc.push(PolyId::Slot(k), Origin::External, point, value) }
        }
        w_acc.verify(&pcs, &w_com, &PolyId::slots(weights.len()), &mut t)?;
        x_acc.verify(&pcs, &x_com, &PolyId::slots(witness.len()), &mut t)?;
        t.finish()?;
        Ok(())
    };
    run_verifier(&proof, None).expect("honest accumulator verifies");
    // A wrong value on either commitment is caught.
    assert!(run_verifier(&proof, Some(0)).is_err());
    assert!(run_verifier(&proof, Some(3)).is_err());
    assert!(run_verifier(&proof, Some(98)).is_err());
}

#[test]
fn empty_claim_set_round_trips() {
    let fx = prove_fixture(12, &[8], &[0]);
    verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &fx.proof).expect("verifies");
}

#[test]
fn claims_on_some_polynomials_of_a_padded_batch_verify_and_tampering_is_rejected() {
    // The batching prover binds the lowest variable first and reads unclaimed slots and the
    // zero padding only when a claimed block meets them: claim a middle-sized, a constant and
    // a small polynomial, leave the largest and two others unclaimed (sizes sum to 2^10 + 2^7
    // + …, so the packed polynomial has padding), and put two claims on one slot.
    let fx = prove_fixture(21, &[10, 7, 0, 3, 10, 1], &[0, 2, 1, 0, 0, 1]);
    assert_eq!(fx.claims.len(), 4);
    verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &fx.proof).expect("honest proof verifies");
    for j in 0..fx.claims.len() {
        let mut wrong = fx.claims.clone();
        wrong[j].value += EF::ONE;
        assert!(verify_no_panic(&fx.pcs, &fx.com, &wrong, &fx.proof).is_err(), "claim {j}");
    }
    // Every byte of the batching rounds (they come first in the proof).
    for pos in 0..fx.proof.len().min(1024) {
        let mut bad = fx.proof.clone();
        bad[pos] ^= 0x02;
        assert!(verify_no_panic(&fx.pcs, &fx.com, &fx.claims, &bad).is_err(), "byte {pos}");
    }
}
