//! Out-of-domain samples drawn right after a commitment (`zkinfer_pcs::GroupOod`, stream version 8
//! of `docs/PROTOCOLS.md`): each group's value at a point drawn after the roots is proven with the
//! group's claims by `open_sparse_ood`. Honest samples verify (one group, and blocks over two
//! groups); a false value carried consistently into the opening, a value moved between groups, a
//! missing sample and samples read at other points are all rejected, never a panic.

use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::{GroupOod, OpeningClaim, Pcs, SparseLayout, SparsePoly, WhirPcs};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-ood-test", 1)
}

/// A `[69, 36]` table committed as the blocks of its extent, and a dense `[32]` polynomial.
fn batch() -> (SparseLayout, Vec<Vec<F>>) {
    let p = SparsePoly::tensor(&[69, 36]);
    let mut table = vec![F::ZERO; 1 << p.num_vars()];
    for r in 0..69 {
        for c in 0..36 {
            table[r * 64 + c] = F::from_u64((r * 131 + c * 7 + 3) as u64);
        }
    }
    let dense: Vec<F> = (0..32u64).map(|i| F::from_u64(i * i + 1)).collect();
    let layout = SparseLayout::new(vec![p.clone(), SparsePoly::dense(5)]);
    (layout, vec![table, dense])
}

/// Proves a claim on each polynomial with the groups' out-of-domain samples, the `g`-th sent value
/// shifted by `shift[g]` (and carried into the opening); returns the commitment and the proof.
fn prove(pcs: &WhirPcs, shift: &[EF]) -> (zkinfer_pcs::WhirCommitment, SparseLayout, Vec<OpeningClaim>, Vec<u8>) {
    let (layout, tables) = batch();
    let p = &layout.polys()[0];
    let mut blocks: Vec<Vec<F>> = (0..p.blocks().len()).map(|b| p.extract(b, &tables[0])).collect();
    blocks.push(tables[1].clone());
    let (com, data) = pcs.commit_owned(blocks).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let points: Vec<Vec<EF>> = pcs.ood_num_vars(&com).expect("groups").iter().map(|&n| t.challenge_exts(n)).collect();
    let values = pcs.ood_values(&data, &points).expect("values");
    let mut ood = Vec::new();
    for (g, (point, value)) in points.into_iter().zip(values).enumerate() {
        let value = value + shift.get(g).copied().unwrap_or(EF::ZERO);
        t.send_ext(value);
        ood.push(GroupOod { point, value });
    }
    let z0 = t.challenge_exts(p.num_vars());
    let z1 = t.challenge_exts(5);
    let claims = vec![
        OpeningClaim { poly: 0, value: zkinfer_poly::Mle::new(tables[0].clone()).evaluate(&z0), point: z0 },
        OpeningClaim { poly: 1, value: zkinfer_poly::Mle::new(tables[1].clone()).evaluate(&z1), point: z1 },
    ];
    pcs.open_sparse_ood(data, &layout, &claims, &ood, &mut t).expect("open");
    (com, layout, claims, t.into_proof())
}

fn verify(pcs: &WhirPcs, com: &zkinfer_pcs::WhirCommitment, layout: &SparseLayout, claims: &[OpeningClaim], proof: &[u8], edit: impl Fn(&mut Vec<GroupOod>)) -> Result<(), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    let mut ood = pcs.verify_ood(com, &mut t).map_err(|e| e.to_string())?;
    let _ = t.challenge_exts(layout.polys()[0].num_vars());
    let _ = t.challenge_exts(5);
    edit(&mut ood);
    pcs.verify_sparse_ood(com, layout, claims, &ood, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

/// The honest value is the packed table's multilinear extension at the point (padding zero), and
/// verifies, with the batch in one group and split over two; a shifted value (the prover's lie,
/// carried into its opening) is rejected, in each group.
#[test]
fn out_of_domain_samples_are_bound_by_the_opening() {
    for pcs in [WhirPcs::default(), WhirPcs::default().with_split_from_vars(10)] {
        let groups = pcs.num_groups(&batch().0.committed_num_vars());
        let (com, layout, claims, proof) = prove(&pcs, &[]);
        verify(&pcs, &com, &layout, &claims, &proof, |_| {}).unwrap_or_else(|e| panic!("{groups} group(s): honest rejected: {e}"));
        for g in 0..groups {
            let mut shift = vec![EF::ZERO; groups];
            shift[g] = EF::ONE;
            let (com, layout, claims, proof) = prove(&pcs, &shift);
            let e = verify(&pcs, &com, &layout, &claims, &proof, |_| {}).expect_err("a false out-of-domain value accepted");
            eprintln!("{groups} group(s), group {g} shifted: {e}");
        }
    }
}

/// With two groups: the values moved between the groups (their sum kept), a sample dropped, a
/// sample at another point, or the honest samples swapped are rejected.
#[test]
fn out_of_domain_samples_cannot_be_moved_dropped_or_repointed() {
    let pcs = WhirPcs::default().with_split_from_vars(10);
    let (com, layout, claims, proof) = prove(&pcs, &[]);
    assert_eq!(com.root.num_roots(), 2, "two groups");
    let cases: [(&str, Box<dyn Fn(&mut Vec<GroupOod>)>); 4] = [
        ("moved", Box::new(|o: &mut Vec<GroupOod>| {
            o[0].value += EF::ONE;
            o[1].value -= EF::ONE;
        })),
        ("dropped", Box::new(|o: &mut Vec<GroupOod>| {
            o.pop();
        })),
        ("repointed", Box::new(|o: &mut Vec<GroupOod>| o[1].point[0] += EF::ONE)),
        ("swapped values", Box::new(|o: &mut Vec<GroupOod>| {
            let v = o[0].value;
            o[0].value = o[1].value;
            o[1].value = v;
        })),
    ];
    for (what, edit) in cases {
        let e = verify(&pcs, &com, &layout, &claims, &proof, edit).expect_err(what);
        eprintln!("{what}: {e}");
    }
    // The prover refuses points that do not fit the groups.
    let (com2, data) = pcs.commit_owned(vec![vec![F::ONE; 1 << 12]]).expect("commit");
    assert!(pcs.ood_values(&data, &[]).is_err());
    assert!(pcs.ood_values(&data, &[vec![EF::ONE; 3]]).is_err());
    assert_eq!(pcs.ood_num_vars(&com2).expect("groups"), vec![12]);
}
