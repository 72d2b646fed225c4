//! [`WhirPcs::commit_owned_releasing`]: the commitment, the committed columns read back and every
//! opening (dense and sparse, one or several groups) are byte for byte those of
//! [`WhirPcs::commit_owned`]; a released group whose packed polynomial no longer matches its root
//! is refused by the opening instead of being opened against the wrong codeword.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use crate::{GroupState, OpeningClaim, Pcs, PcsError, SparseLayout, SparsePoly, WhirCommitment, WhirPcs, WhirProverData};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-release-test", 1)
}

fn columns(sizes: &[usize], seed: u64) -> Vec<Vec<F>> {
    let mut rng = StdRng::seed_from_u64(seed);
    sizes.iter().map(|&m| (0..1usize << m).map(|_| F::from_u64(rng.random::<u64>() % zkinfer_field::P)).collect()).collect()
}

/// Commits `cols` (releasing or not), draws two claims per column, opens; returns the
/// commitment, the claims and the proof bytes.
fn prove(pcs: &WhirPcs, cols: &[Vec<F>], release: bool, tamper: impl FnOnce(&mut WhirProverData)) -> (WhirCommitment, Vec<OpeningClaim>, Result<Vec<u8>, PcsError>) {
    let (com, mut data) = if release { pcs.commit_owned_releasing(cols.to_vec()) } else { pcs.commit_owned(cols.to_vec()) }.expect("commit");
    for (k, c) in cols.iter().enumerate() {
        assert_eq!(data.poly_evals(k), Some(&c[..]), "column {k} read back");
    }
    let released = data.groups.iter().filter(|g| matches!(g.whir, GroupState::Released { .. })).count();
    assert_eq!(released, if release { data.groups.len() } else { 0 });
    tamper(&mut data);
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let mut claims = Vec::new();
    for (k, c) in cols.iter().enumerate() {
        for _ in 0..2 {
            let point = t.challenge_exts(c.len().trailing_zeros() as usize);
            let value = Mle::new(c.clone()).evaluate(&point);
            claims.push(OpeningClaim { poly: k, point, value });
        }
    }
    let out = pcs.open_consuming(data, &claims, &mut t).map(|()| t.into_proof());
    (com, claims, out)
}

fn verify(pcs: &WhirPcs, com: &WhirCommitment, claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    for c in claims {
        let _ = t.challenge_exts(c.point.len());
    }
    pcs.verify(com, claims, &mut t)?;
    t.finish()?;
    Ok(())
}

#[test]
fn released_codewords_give_the_same_commitment_and_proof_bytes() {
    // One group; then a batch split into two groups (lowered threshold).
    for (pcs, sizes) in [(WhirPcs::default(), vec![12, 10, 9]), (WhirPcs::default().with_split_from_vars(12), vec![12, 11, 9, 9])] {
        let cols = columns(&sizes, 3);
        let (com, claims, held) = prove(&pcs, &cols, false, |_| {});
        let (com_r, claims_r, released) = prove(&pcs, &cols, true, |_| {});
        let (held, released) = (held.expect("open held"), released.expect("open released"));
        assert_eq!(com, com_r, "sizes {sizes:?}");
        assert_eq!(claims, claims_r);
        assert_eq!(held, released, "sizes {sizes:?}: proof bytes differ");
        verify(&pcs, &com, &claims, &released).expect("verify");
        assert!(com.root.num_roots() >= 1);
    }
}

#[test]
fn released_sparse_openings_are_byte_identical() {
    let pcs = WhirPcs::default().with_split_from_vars(11);
    let layout = SparseLayout::new(vec![SparsePoly::tensor(&[3, 100]), SparsePoly::dense(11), SparsePoly::tensor(&[2, 50])]);
    let mut rng = StdRng::seed_from_u64(9);
    // Each table zero outside its logical extent (row-major, every dimension padded).
    let dims: [&[usize]; 3] = [&[3, 100], &[2048], &[2, 50]];
    let tables: Vec<Vec<F>> = dims
        .iter()
        .map(|d| {
            let vars: Vec<usize> = d.iter().map(|&x| zkinfer_poly::next_pow2_vars(x)).collect();
            (0..1usize << vars.iter().sum::<usize>())
                .map(|i| {
                    let (mut rest, mut inside) = (i, true);
                    for (j, &k) in vars.iter().enumerate().rev() {
                        inside &= (rest & ((1 << k) - 1)) < d[j];
                        rest >>= k;
                    }
                    if inside { F::from_u64(rng.random::<u64>() % 1000) } else { F::ZERO }
                })
                .collect()
        })
        .collect();
    let blocks: Vec<Vec<F>> = layout.polys().iter().zip(&tables).flat_map(|(p, t)| (0..p.blocks().len()).map(move |b| p.extract(b, t))).collect();
    let run = |release: bool| {
        let (com, data) = if release { pcs.commit_owned_releasing(blocks.clone()) } else { pcs.commit_owned(blocks.clone()) }.expect("commit");
        let mut t = ProverTranscript::new(&ds());
        pcs.absorb_commitment(&com, &mut t);
        let mut claims = Vec::new();
        for (k, table) in tables.iter().enumerate() {
            let point = t.challenge_exts(layout.polys()[k].num_vars());
            claims.push(OpeningClaim { poly: k, point: point.clone(), value: Mle::new(table.clone()).evaluate(&point) });
        }
        pcs.open_sparse(data, &layout, &claims, &mut t).expect("open");
        (com, claims, t.into_proof())
    };
    let (com, claims, held) = run(false);
    let before = crate::WAITING_COMPRESSED.with(std::cell::Cell::get);
    let (com_r, _, released) = run(true);
    // Every released group after the first waited compressed (and was decompressed for its turn).
    let waited = crate::WAITING_COMPRESSED.with(std::cell::Cell::get) - before;
    assert_eq!(waited, pcs.num_groups(&com.poly_num_vars) - 1, "groups that waited compressed");
    assert!(pcs.num_groups(&com.poly_num_vars) >= 2, "the fixture should split");
    assert_eq!(com, com_r);
    assert_eq!(held, released, "sparse proof bytes differ");
    let mut t = VerifierTranscript::new(&ds(), &released);
    pcs.absorb_commitment(&com, &mut t);
    for c in &claims {
        let _ = t.challenge_exts(c.point.len());
    }
    pcs.verify_sparse(&com, &layout, &claims, &mut t).expect("verify");
    t.finish().expect("finish");
}

/// A released group's packed polynomial altered after its root was taken: the opening recomputes
/// the codeword, finds another root and refuses, rather than proving against a codeword the
/// commitment does not hold. The same edit on held data (whose codeword is the committed one)
/// gives a proof the verifier rejects: the check is the prover's own, soundness never rests on it.
#[test]
fn a_released_group_that_no_longer_matches_its_root_is_refused() {
    let pcs = WhirPcs::default();
    let cols = columns(&[12, 10], 5);
    let (_, _, out) = prove(&pcs, &cols, true, |data| {
        if let GroupState::Released { packed, .. } = &mut data.groups[0].whir {
            packed[3] += F::ONE;
        }
    });
    match out {
        Err(PcsError::Config(msg)) => assert!(msg.contains("recomputed codeword"), "{msg}"),
        other => panic!("expected the root check to refuse, got {:?}", other.map(|b| b.len())),
    }
    // Control: the same edit left in place but the root updated to the altered polynomial's
    // opens without complaint (so the refusal above is the root check, not the edit itself),
    // and its proof fails against the honest commitment.
    let (com, claims, out) = prove(&pcs, &cols, true, |data| {
        if let GroupState::Released { packed, root } = &mut data.groups[0].whir {
            packed[3] += F::ONE;
            *root = pcs.engine.commit_root(packed).expect("root");
        }
    });
    let proof = out.expect("a consistent released group opens");
    assert!(verify(&pcs, &com, &claims, &proof).is_err(), "a proof of another polynomial verified");
    let _ = EF::ONE;
}

/// [`WhirPcs::commit_owned_releasing_rest`]: the first group held, every later group released;
/// the commitment, the columns read back and the dense and sparse openings are byte for byte
/// those of [`WhirPcs::commit_owned`]; a batch of one group is held whole; a later group altered
/// after its root was taken is refused by the opening.
#[test]
fn releasing_all_groups_but_the_first_gives_the_same_bytes() {
    let pcs = WhirPcs::default().with_split_from_vars(12);
    // 4096 + 512 + 256 entries pad to 8192 > 1.5·4864: two groups (2^12, then 2^9 + 2^8).
    let cols = columns(&[12, 9, 8], 7);
    let open = |com: &WhirCommitment, data: WhirProverData| {
        let mut t = ProverTranscript::new(&ds());
        pcs.absorb_commitment(com, &mut t);
        let mut claims = Vec::new();
        for (k, c) in cols.iter().enumerate() {
            let point = t.challenge_exts(c.len().trailing_zeros() as usize);
            claims.push(OpeningClaim { poly: k, point: point.clone(), value: Mle::new(c.clone()).evaluate(&point) });
        }
        (claims.clone(), pcs.open_consuming(data, &claims, &mut t).map(|()| t.into_proof()))
    };
    let (com, held) = pcs.commit_owned(cols.clone()).expect("commit");
    let (com_r, rest) = pcs.commit_owned_releasing_rest(cols.clone()).expect("commit");
    assert_eq!(com, com_r);
    assert!(rest.groups.len() >= 2, "the fixture should split");
    let states: Vec<bool> = rest.groups.iter().map(|g| matches!(g.whir, GroupState::Released { .. })).collect();
    assert_eq!(states, (0..rest.groups.len()).map(|g| g > 0).collect::<Vec<_>>(), "only the later groups are released");
    for (k, c) in cols.iter().enumerate() {
        assert_eq!(rest.poly_evals(k), Some(&c[..]), "column {k} read back");
    }
    let (claims, held) = open(&com, held);
    let (claims_r, released) = open(&com, rest);
    let (held, released) = (held.expect("open held"), released.expect("open released"));
    assert_eq!(claims, claims_r);
    assert_eq!(held, released, "proof bytes differ");
    verify(&pcs, &com, &claims, &released).expect("verify");

    // One group: nothing is released.
    let (_, one) = WhirPcs::default().commit_owned_releasing_rest(columns(&[12, 10], 2)).expect("commit");
    assert_eq!(one.groups.len(), 1);
    assert!(matches!(one.groups[0].whir, GroupState::Held(_)));

    // A later group altered after its root: refused by the opening's root check.
    let (com, mut data) = pcs.commit_owned_releasing_rest(cols.clone()).expect("commit");
    let last = data.groups.len() - 1;
    if let GroupState::Released { packed, .. } = &mut data.groups[last].whir {
        packed[1] += F::ONE;
    }
    match open(&com, data).1 {
        Err(PcsError::Config(msg)) => assert!(msg.contains("recomputed codeword"), "{msg}"),
        other => panic!("expected the root check to refuse, got {:?}", other.map(|b| b.len())),
    }
}
