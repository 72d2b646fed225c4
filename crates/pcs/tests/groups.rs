//! Commitments split into two groups (`zkinfer_pcs::commitment_groups`): the rule, honest
//! openings with claims on either or both groups, and tampering (values, roots, root count,
//! proof bytes, a verifier that does not split) rejected without a panic. The split threshold is
//! lowered with the test hook `WhirPcs::with_split_from_vars` so that small batches split.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::{MerkleRoot, OpeningClaim, Pcs, PcsError, WhirCommitment, WhirPcs, commitment_groups};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-groups-test", 1)
}

fn split_pcs() -> WhirPcs {
    WhirPcs::default().with_split_from_vars(10)
}

fn rand_mle(rng: &mut StdRng, num_vars: usize) -> Mle<F> {
    Mle::new((0..1usize << num_vars).map(|_| F::from_u64(rng.random::<u64>() % zkinfer_field::P)).collect())
}

/// Commits `sizes` with `pcs`, opens `per_poly[k]` honest claims on poly `k`.
fn prove(pcs: &WhirPcs, sizes: &[usize], per_poly: &[usize]) -> (Vec<Mle<F>>, WhirCommitment, Vec<OpeningClaim>, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(7);
    let polys: Vec<Mle<F>> = sizes.iter().map(|&m| rand_mle(&mut rng, m)).collect();
    let (com, data) = pcs.commit(&polys).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let mut claims = Vec::new();
    for (k, &count) in per_poly.iter().enumerate() {
        for _ in 0..count {
            let point = t.challenge_exts(polys[k].num_vars);
            let value = polys[k].evaluate(&point);
            claims.push(OpeningClaim { poly: k, point, value });
        }
    }
    pcs.open_consuming(data, &claims, &mut t).expect("open");
    (polys, com, claims, t.into_proof())
}

fn verify(pcs: &WhirPcs, com: &WhirCommitment, claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    catch_unwind(AssertUnwindSafe(|| {
        let mut t = VerifierTranscript::new(&ds(), proof);
        pcs.absorb_commitment(com, &mut t);
        for c in claims {
            let _ = t.challenge_exts(c.point.len());
        }
        pcs.verify(com, claims, &mut t)?;
        t.finish()?;
        Ok(())
    }))
    .expect("verifier panicked")
}

/// A batch the splitting rule would cut into three groups commits (no panic on a cap of three
/// roots), opens and verifies, and a changed value is still rejected.
#[test]
fn a_batch_split_three_ways_commits_as_two_groups() {
    let pcs = split_pcs();
    // 2^12 + 2^10 + 2^8 entries at a split threshold of 2^10: three groups before the merge.
    let sizes = [12, 10, 8];
    let (_, com, claims, proof) = prove(&pcs, &sizes, &[1, 1, 1]);
    assert_eq!(com.root.num_roots(), 2, "three groups are merged into two");
    verify(&pcs, &com, &claims, &proof).expect("honest opening verifies");
    let mut bad = claims.clone();
    bad[2].value += zkinfer_field::EF::ONE;
    assert!(verify(&pcs, &com, &bad, &proof).is_err(), "a changed value is rejected");
}

#[test]
fn grouping_rule() {
    // Small or well-filled batches: one group, batch order.
    assert_eq!(commitment_groups(&[10, 9, 3]), vec![vec![0, 1, 2]]);
    assert_eq!(commitment_groups(&[24, 23]), vec![vec![0, 1]]);
    assert_eq!(commitment_groups(&[26, 25, 25]), vec![vec![0, 1, 2]]);
    // Just over a power of two: the largest polynomials fill 2^⌊log2 S⌋ exactly.
    assert_eq!(commitment_groups(&[20, 24]), vec![vec![1], vec![0]]);
    assert_eq!(commitment_groups(&[10, 24, 3, 24]), vec![vec![1, 3], vec![0, 2]]);
    assert_eq!(commitment_groups(&[23, 22, 24, 22, 5]), vec![vec![0, 1, 2, 3], vec![4]]);
    // The rest is grouped by the same rule: 2^28 + 2^26 + 2^24 + 8 is four groups.
    assert_eq!(commitment_groups(&[28, 26, 24, 3]), vec![vec![0], vec![1], vec![2], vec![3]]);
    assert_eq!(commitment_groups(&[24, 26, 3, 28, 0]), vec![vec![3], vec![1], vec![0], vec![2, 4]]);
    // Three groups would need a Merkle cap of three roots, which does not exist: the last two
    // merge (2^28 + 2^26 + 2^24 is 2^28 and 2^26 + 2^24).
    assert_eq!(commitment_groups(&[28, 26, 24]), vec![vec![0], vec![1, 2]]);
    assert_eq!(commitment_groups(&[24, 28, 26]), vec![vec![1], vec![0, 2]]);
    for sizes in [vec![28, 26, 24], vec![30, 28, 26, 24, 22], vec![29, 27, 25, 23, 21, 19, 3]] {
        assert!(commitment_groups(&sizes).len().is_power_of_two(), "{sizes:?}");
    }
    // SmolLM2-135M's weights shape: 2^27 + 297 280 entries.
    let mut sizes = vec![24; 8];
    sizes.extend([18, 16, 12, 6]);
    let groups = commitment_groups(&sizes);
    assert_eq!(groups, vec![(0..8).collect::<Vec<_>>(), vec![8, 9, 10, 11]]);
}

#[test]
fn split_batch_opens_on_either_group_and_both() {
    let pcs = split_pcs();
    let sizes = [10, 6, 10, 3, 0];
    for per_poly in [[2, 1, 1, 1, 1], [1, 0, 2, 0, 0], [0, 2, 0, 1, 1], [0, 0, 0, 0, 0]] {
        let (polys, com, claims, proof) = prove(&pcs, &sizes, &per_poly);
        assert_eq!(com.root.num_roots(), 2, "the batch is split");
        verify(&pcs, &com, &claims, &proof).expect("honest opening verifies");
        for c in &claims {
            assert_eq!(polys[c.poly].evaluate(&c.point), c.value);
        }
    }
}

#[test]
fn split_batch_rejects_tampering() {
    let pcs = split_pcs();
    let (_, com, claims, proof) = prove(&pcs, &[10, 6, 10, 3], &[1, 2, 1, 1]);
    verify(&pcs, &com, &claims, &proof).expect("honest");
    // A wrong value on a polynomial of either group.
    for i in 0..claims.len() {
        let mut bad = claims.clone();
        bad[i].value += EF::ONE;
        assert!(verify(&pcs, &com, &bad, &proof).is_err(), "wrong value of claim {i} accepted");
    }
    // The roots swapped, or one of them replaced.
    let roots = com.root.roots().to_vec();
    let swapped = WhirCommitment { root: MerkleRoot::new(vec![roots[1], roots[0]]), ..com.clone() };
    assert!(verify(&pcs, &swapped, &claims, &proof).is_err());
    let mut other = roots.clone();
    other[1][0] ^= 1;
    let replaced = WhirCommitment { root: MerkleRoot::new(other), ..com.clone() };
    assert!(verify(&pcs, &replaced, &claims, &proof).is_err());
    // One root where the shapes call for two, and a verifier that does not split.
    let one = WhirCommitment { root: MerkleRoot::new(vec![roots[0]]), ..com.clone() };
    assert!(matches!(verify(&pcs, &one, &claims, &proof), Err(PcsError::Config(_))));
    assert!(verify(&WhirPcs::default(), &com, &claims, &proof).is_err());
    // Flipped proof bytes (a sample across the whole proof) and a truncated proof.
    let step = (proof.len() / 40).max(1);
    for i in (0..proof.len()).step_by(step) {
        let mut bad = proof.clone();
        bad[i] ^= 0x10;
        assert!(verify(&pcs, &com, &claims, &bad).is_err(), "flipped byte {i} accepted");
    }
    assert!(verify(&pcs, &com, &claims, &proof[..proof.len() - 1]).is_err());
    // A claim on a polynomial outside the batch.
    let mut bad = claims.clone();
    bad[0].poly = 9;
    assert!(verify(&pcs, &com, &bad, &proof).is_err());
}

#[test]
fn unsplit_batches_keep_one_root_and_their_bytes() {
    // Below the threshold the hook changes nothing: same commitment, same proof.
    let sizes = [9, 6, 3];
    let (_, com_a, claims, proof_a) = prove(&split_pcs(), &sizes, &[1, 1, 1]);
    let (_, com_b, _, proof_b) = prove(&WhirPcs::default(), &sizes, &[1, 1, 1]);
    assert_eq!(com_a.root.num_roots(), 1);
    assert_eq!(com_a, com_b);
    assert_eq!(proof_a, proof_b);
    verify(&WhirPcs::default(), &com_a, &claims, &proof_a).expect("verifies");
}

fn capped_pcs() -> WhirPcs {
    WhirPcs::default().with_split_from_vars(10).with_max_group_vars(10)
}

#[test]
fn capped_grouping_rule() {
    use zkinfer_pcs::{commitment_groups_capped, grouped_entries};
    // A batch whose power of two is at most the bound: one group, however badly filled.
    assert_eq!(commitment_groups_capped(&[26, 25, 25], 27), vec![vec![0, 1, 2]]);
    assert_eq!(commitment_groups(&[10, 24, 3, 24]), vec![vec![1, 3], vec![0, 2]]);
    assert_eq!(commitment_groups_capped(&[10, 24, 3, 24], 27), vec![vec![0, 1, 2, 3]]);
    assert_eq!(commitment_groups_capped(&[20, 26], 27), vec![vec![0, 1]]);
    // (4/3)·2^27 (4 × 2^25 + 2^25 + 2^24 + 2^24): one group of 2^28 uncapped, 2^27 + the rest
    // capped — and the rest (2^26 = 2^25 + 2 × 2^24) is one well-filled group.
    let sizes = [25, 25, 25, 25, 25, 24, 24];
    assert_eq!(commitment_groups(&sizes), vec![vec![0, 1, 2, 3, 4, 5, 6]]);
    assert_eq!(commitment_groups_capped(&sizes, 27), vec![vec![0, 1, 2, 3], vec![4, 5, 6]]);
    // A well-filled rest is one group: 2^27 + (2^25 + 2^24 + 8).
    assert_eq!(commitment_groups_capped(&[27, 25, 24, 3], 27), vec![vec![0], vec![1, 2, 3]]);
    // Three groups are not merged (the cap is padded instead): 2^27 + 2^25 + (2^23 + 8).
    assert_eq!(commitment_groups_capped(&[27, 25, 23, 3], 27), vec![vec![0], vec![1], vec![2, 3]]);
    // A polynomial above the bound is a group alone; a batch of one such polynomial is one group.
    assert_eq!(commitment_groups_capped(&[28, 26, 26], 27), vec![vec![0], vec![1, 2]]);
    assert_eq!(commitment_groups_capped(&[29], 27), vec![vec![0]]);
    // Twice the bound, exactly: two full groups.
    assert_eq!(commitment_groups_capped(&[27, 27], 27), vec![vec![0], vec![1]]);
    // The estimate's model of the padded size.
    assert_eq!(grouped_entries((1 << 27) + (1 << 25) + (1 << 24), None), 1 << 28);
    assert_eq!(grouped_entries((1 << 27) + (1 << 25) + (1 << 24), Some(27)), (1 << 27) + (1 << 26));
    assert_eq!(grouped_entries((1 << 27) + 1000, None), (1 << 27) + (1 << 10));
    assert_eq!(grouped_entries(3 << 27, Some(27)), 3 << 27);
    assert_eq!(grouped_entries(1000, Some(27)), 1024);
    assert_eq!(grouped_entries((1 << 26) + (1 << 20), Some(27)), 1 << 27);
    assert_eq!(grouped_entries((1 << 26) + (1 << 20), None), (1 << 26) + (1 << 20));
}

/// Three groups under a cap of four roots (the fourth the empty root): commits, opens on every
/// group, verifies; the padding root changed, the cap cut to three roots or merged groups, and a
/// verifier that derives the uncapped groups are all rejected, never a panic.
#[test]
fn capped_groups_pad_the_cap_with_the_empty_root() {
    let pcs = capped_pcs();
    // 2^10 + 2^10 + 2^9 + 2^8 at a bound of 2^10: {0}, {1}, {2, 3} (the rest, 768 entries, is
    // below the split threshold); uncapped it would be one group of 2^12.
    let sizes = [10, 10, 9, 8];
    let (polys, com, claims, proof) = prove(&pcs, &sizes, &[1, 1, 1, 1]);
    assert_eq!(com.root.num_roots(), 4, "three groups and one empty root");
    assert_eq!(com.root.roots()[3], zkinfer_pcs::EMPTY_ROOT);
    verify(&pcs, &com, &claims, &proof).expect("honest opening verifies");
    for c in &claims {
        assert_eq!(polys[c.poly].evaluate(&c.point), c.value);
    }
    // The roots as a chunk record sends them rebuild the same commitment; a non-empty padding,
    // a missing root or a spare one is refused.
    let bytes = com.roots_bytes();
    assert_eq!(pcs.commitment_from_roots(sizes.to_vec(), &bytes).expect("roots"), com);
    let mut bad = bytes.clone();
    bad[3 * 32 + 5] = 1;
    assert!(pcs.commitment_from_roots(sizes.to_vec(), &bad).is_err());
    assert!(pcs.commitment_from_roots(sizes.to_vec(), &bytes[..3 * 32]).is_err());
    assert!(pcs.commitment_from_roots(sizes.to_vec(), &[bytes.clone(), vec![0; 32]].concat()).is_err());
    // The padding root replaced by a copy of a real one.
    let roots = com.root.roots().to_vec();
    let copied = WhirCommitment { root: MerkleRoot::new(vec![roots[0], roots[1], roots[2], roots[2]]), ..com.clone() };
    assert!(matches!(verify(&pcs, &copied, &claims, &proof), Err(PcsError::Config(_))));
    // Groups two and three swapped with the padding.
    let swapped = WhirCommitment { root: MerkleRoot::new(vec![roots[0], roots[1], roots[3], roots[2]]), ..com.clone() };
    assert!(verify(&pcs, &swapped, &claims, &proof).is_err());
    // A verifier that groups without the bound (one group: one root) rejects.
    assert!(verify(&WhirPcs::default().with_split_from_vars(10), &com, &claims, &proof).is_err());
    // And a capped verifier rejects the uncapped commitment and proof of the same batch.
    let (_, com_u, claims_u, proof_u) = prove(&WhirPcs::default().with_split_from_vars(10), &sizes, &[1, 1, 1, 1]);
    assert_eq!(com_u.root.num_roots(), 1);
    assert!(verify(&pcs, &com_u, &claims_u, &proof_u).is_err());
    // A wrong value in each group.
    for i in 0..claims.len() {
        let mut bad = claims.clone();
        bad[i].value += EF::ONE;
        assert!(verify(&pcs, &com, &bad, &proof).is_err(), "wrong value of claim {i} accepted");
    }
}
