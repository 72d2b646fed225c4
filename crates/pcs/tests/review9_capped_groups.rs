//! review9: adversarial checks of the capped grouping of a chunk's witness commitment
//! (`commitment_groups_capped`, `WhirPcs::with_max_group_vars`, stream version 5).
//!
//! A prover who commits under a grouping other than the one the verifier derives (another bound,
//! the uncapped rule) sends a cap the verifier refuses or an opening that fails, never one that
//! verifies; the cap's padding must be the empty root wherever the real groups end; a batch spread
//! over four and more groups opens honestly and any flipped proof byte (the sent parts included)
//! is rejected. Every refusal has a control: the same bytes verify under the prover's grouping.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::{EMPTY_ROOT, MerkleRoot, OpeningClaim, Pcs, PcsError, WhirCommitment, WhirPcs, commitment_groups_capped};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-review9-capped", 1)
}

fn capped(bound: usize) -> WhirPcs {
    WhirPcs::default().with_split_from_vars(6).with_max_group_vars(bound)
}

fn rand_mle(rng: &mut StdRng, num_vars: usize) -> Mle<F> {
    Mle::new((0..1usize << num_vars).map(|_| F::from_u64(rng.random::<u64>() % zkinfer_field::P)).collect())
}

/// Commits `sizes` with `pcs` and opens one honest claim per polynomial.
fn prove(pcs: &WhirPcs, sizes: &[usize]) -> (WhirCommitment, Vec<OpeningClaim>, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(9);
    let polys: Vec<Mle<F>> = sizes.iter().map(|&m| rand_mle(&mut rng, m)).collect();
    let (com, data) = pcs.commit(&polys).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let claims: Vec<OpeningClaim> = polys
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let point = t.challenge_exts(p.num_vars);
            OpeningClaim { poly: k, value: p.evaluate(&point), point }
        })
        .collect();
    pcs.open_consuming(data, &claims, &mut t).expect("open");
    (com, claims, t.into_proof())
}

/// The verifier as a chunk record drives it: the commitment rebuilt from the sent roots alone
/// (shapes derived), then the claims' points drawn and the opening checked. Never a panic.
fn verify(pcs: &WhirPcs, sizes: &[usize], roots: &[u8], claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    catch_unwind(AssertUnwindSafe(|| {
        let com = pcs.commitment_from_roots(sizes.to_vec(), roots)?;
        let mut t = VerifierTranscript::new(&ds(), proof);
        pcs.absorb_commitment(&com, &mut t);
        for c in claims {
            let _ = t.challenge_exts(c.point.len());
        }
        pcs.verify(&com, claims, &mut t)?;
        t.finish()?;
        Ok(())
    }))
    .expect("verifier panicked")
}

/// The rule is a function of the shapes alone and gives exact powers of two of at most the
/// bound (or one polynomial alone), covering every polynomial once, for random batches.
#[test]
fn capped_groups_partition_the_batch_into_exact_powers_of_two() {
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..2000 {
        let n = rng.random_range(1..12usize);
        let sizes: Vec<usize> = (0..n).map(|_| rng.random_range(0..30usize)).collect();
        let bound = rng.random_range(24..30usize);
        let groups = commitment_groups_capped(&sizes, bound);
        assert_eq!(groups, commitment_groups_capped(&sizes, bound), "deterministic");
        let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>(), "{sizes:?} at 2^{bound}: {groups:?} is not a partition");
        for g in &groups {
            assert!(g.windows(2).all(|w| w[0] < w[1]), "ascending within a group");
            let s: u128 = g.iter().map(|&k| 1u128 << sizes[k]).sum();
            // Every group pads to at most the bound, unless it is one polynomial above it.
            let padded = s.next_power_of_two();
            assert!(padded <= 1u128 << bound || g.len() == 1, "{sizes:?} at 2^{bound}: group {g:?} pads to {padded}");
            // A group that is not the last is cut exactly: an exact power of two.
            if !std::ptr::eq(g, groups.last().unwrap()) {
                assert!(s.is_power_of_two(), "{sizes:?} at 2^{bound}: cut group {g:?} holds {s}");
            }
        }
    }
}

/// A prover committing `[2^10, 2^9, 2^9, 2^8, 2^8]` under a bound of 2^9 (four groups) and a
/// verifier deriving the bound 2^10 (three groups and the empty root): same cap length, but the
/// fourth root is not the empty root — refused; the converse (three real roots and the empty
/// root, read as four groups) fails the opening. Controls: each verifies under its own bound.
#[test]
fn a_cap_of_another_grouping_with_the_same_length_is_refused() {
    let sizes = [10, 9, 9, 8, 8];
    // (The public rule splits from 2^24 on; the test PCS from 2^6: four groups at 2^9, three at
    // 2^10 — the cap's roots below show it.)
    for (prover, verifier) in [(9, 10), (10, 9)] {
        let (com, claims, proof) = prove(&capped(prover), &sizes);
        let roots = com.roots_bytes();
        assert_eq!(roots.len(), 4 * 32);
        assert_eq!(com.root.roots()[3] == EMPTY_ROOT, prover == 10, "three groups at 2^10, four at 2^9");
        verify(&capped(prover), &sizes, &roots, &claims, &proof).expect("control: the prover's own grouping verifies");
        assert!(verify(&capped(verifier), &sizes, &roots, &claims, &proof).is_err(), "a 2^{prover} grouping verified as 2^{verifier}");
    }
    // The uncapped rule (two groups here) is refused by the capped verifier and vice versa.
    let uncapped = WhirPcs::default().with_split_from_vars(6);
    let (com, claims, proof) = prove(&uncapped, &sizes);
    verify(&uncapped, &sizes, &com.roots_bytes(), &claims, &proof).expect("control");
    assert!(verify(&capped(10), &sizes, &com.roots_bytes(), &claims, &proof).is_err());
}

/// A real root moved into the padding slot (and the empty root into its place), or the padding
/// replaced by any non-zero root, is refused before any opening is read.
#[test]
fn the_padding_slot_must_be_the_empty_root() {
    let sizes = [10, 9, 9, 8, 8];
    let pcs = capped(10);
    let (com, claims, proof) = prove(&pcs, &sizes);
    let roots = com.root.roots().to_vec();
    assert_eq!(roots[3], EMPTY_ROOT);
    let bytes = |r: &[[u8; 32]]| r.iter().flatten().copied().collect::<Vec<u8>>();
    verify(&pcs, &sizes, &bytes(&roots), &claims, &proof).expect("control");
    for g in 0..3 {
        let mut moved = roots.clone();
        moved.swap(g, 3);
        assert!(verify(&pcs, &sizes, &bytes(&moved), &claims, &proof).is_err(), "root {g} moved into the padding");
        // The same through a commitment built by hand (the verifier's other entry point).
        let com_moved = WhirCommitment { root: MerkleRoot::new(moved), ..com.clone() };
        let mut t = VerifierTranscript::new(&ds(), &proof);
        pcs.absorb_commitment(&com_moved, &mut t);
        for c in &claims {
            let _ = t.challenge_exts(c.point.len());
        }
        assert!(matches!(pcs.verify(&com_moved, &claims, &mut t), Err(PcsError::Config(_))));
    }
    for byte in [0usize, 17, 31] {
        let mut padded = bytes(&roots);
        padded[3 * 32 + byte] = 0x80;
        assert!(matches!(pcs.commitment_from_roots(sizes.to_vec(), &padded), Err(PcsError::Config(_))));
    }
}

/// Eight polynomials of 2^8 at a bound of 2^8: eight groups, each opened; a wrong value in any
/// group, and a flipped byte anywhere in the opening, is rejected.
#[test]
fn eight_groups_open_and_every_flipped_byte_is_rejected() {
    let sizes = [8usize; 8];
    let pcs = capped(8);
    let (com, claims, proof) = prove(&pcs, &sizes);
    assert_eq!(com.root.num_roots(), 8);
    assert!(com.root.roots().iter().all(|r| *r != EMPTY_ROOT));
    let roots = com.roots_bytes();
    verify(&pcs, &sizes, &roots, &claims, &proof).expect("honest eight-group opening verifies");
    for i in 0..claims.len() {
        let mut bad = claims.clone();
        bad[i].value += EF::ONE;
        assert!(verify(&pcs, &sizes, &roots, &bad, &proof).is_err(), "wrong value in group {i} accepted");
    }
    // Bytes of every group's opening (the proof is the groups' openings in order).
    let step = (proof.len() / 97).max(1);
    for pos in (0..proof.len()).step_by(step) {
        let mut bad = proof.clone();
        bad[pos] ^= 0x01;
        assert!(verify(&pcs, &sizes, &roots, &claims, &bad).is_err(), "flipped proof byte {pos} of {} accepted", proof.len());
    }
}
