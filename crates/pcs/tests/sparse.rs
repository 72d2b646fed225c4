//! Sparse commitments (`zkinfer_pcs::sparse`): zero-padded tables committed as the blocks of
//! their logical extent, claims on the whole padded table opened through the blocks — honest
//! openings (one group and blocks split over two groups), and forgeries rejected (a claim's
//! value moved between groups: `sparse.rs`'s unit tests): a block value perturbed with every claim recomputed from the
//! perturbed table, a non-zero entry in the uncommitted padding, a claim on the wrong polynomial.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::{OpeningClaim, Pcs, PcsError, SparseLayout, SparsePoly, WhirCommitment, WhirPcs};
use zkinfer_poly::{Mle, next_pow2_vars};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-sparse-test", 1)
}

/// A zero-padded random tensor of shape `dims` (row-major, each dimension padded to a power of two).
fn padded(rng: &mut StdRng, dims: &[usize]) -> Vec<F> {
    let vars: Vec<usize> = dims.iter().map(|&d| next_pow2_vars(d)).collect();
    let n = 1usize << vars.iter().sum::<usize>();
    (0..n)
        .map(|i| {
            let mut rest = i;
            let mut inside = true;
            for (j, &k) in vars.iter().enumerate().rev() {
                inside &= (rest & ((1 << k) - 1)) < dims[j];
                rest >>= k;
            }
            if inside { F::from_u64(rng.random::<u64>() % zkinfer_field::P) } else { F::ZERO }
        })
        .collect()
}

struct Case {
    layout: SparseLayout,
    tables: Vec<Vec<F>>,
}

fn case(shapes: &[Option<Vec<usize>>], seed: u64) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut polys = Vec::new();
    let mut tables = Vec::new();
    for s in shapes {
        match s {
            Some(dims) => {
                polys.push(SparsePoly::tensor(dims));
                tables.push(padded(&mut rng, dims));
            }
            None => {
                polys.push(SparsePoly::dense(5));
                tables.push((0..32).map(|_| F::from_u64(rng.random::<u64>() % 1000)).collect());
            }
        }
    }
    Case { layout: SparseLayout::new(polys), tables }
}

/// The committed batch: every block of every table.
fn blocks(layout: &SparseLayout, tables: &[Vec<F>]) -> Vec<Vec<F>> {
    layout.polys().iter().zip(tables).flat_map(|(p, t)| (0..p.blocks().len()).map(move |b| p.extract(b, t))).collect()
}

/// Commits the blocks of `committed`, derives claims (two per table) from `claimed` tables, opens.
fn prove(pcs: &WhirPcs, c: &Case, committed: &[Vec<F>], claimed: &[Vec<F>]) -> (WhirCommitment, Vec<OpeningClaim>, Vec<u8>) {
    let (com, data) = pcs.commit_owned(blocks(&c.layout, committed)).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let mut claims = Vec::new();
    for (k, table) in claimed.iter().enumerate() {
        for _ in 0..2 {
            let point = t.challenge_exts(c.layout.polys()[k].num_vars());
            let value = Mle::new(table.clone()).evaluate(&point);
            claims.push(OpeningClaim { poly: k, point, value });
        }
    }
    pcs.open_sparse(data, &c.layout, &claims, &mut t).expect("open");
    (com, claims, t.into_proof())
}

fn verify(pcs: &WhirPcs, c: &Case, com: &WhirCommitment, claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    catch_unwind(AssertUnwindSafe(|| {
        let mut t = VerifierTranscript::new(&ds(), proof);
        pcs.absorb_commitment(com, &mut t);
        for cl in claims {
            let _ = t.challenge_exts(cl.point.len());
        }
        pcs.verify_sparse(com, &c.layout, claims, &mut t)?;
        t.finish()?;
        Ok(())
    }))
    .expect("verifier panicked")
}

fn shapes() -> Vec<Option<Vec<usize>>> {
    vec![Some(vec![69, 36]), None, Some(vec![9, 3, 20]), Some(vec![1]), Some(vec![17])]
}

#[test]
fn honest_sparse_openings_verify_in_one_group_and_split_over_two() {
    for pcs in [WhirPcs::default(), WhirPcs::default().with_split_from_vars(10)] {
        let c = case(&shapes(), 1);
        let (com, claims, proof) = prove(&pcs, &c, &c.tables, &c.tables);
        verify(&pcs, &c, &com, &claims, &proof).expect("honest sparse opening");
        // Only a fraction of the padded entries is committed.
        let committed: usize = com.poly_num_vars.iter().map(|&m| 1usize << m).sum();
        let padded: usize = c.tables.iter().map(Vec::len).sum();
        assert!(committed * 10 < padded * 7, "{committed} of {padded}");
    }
}

#[test]
fn a_perturbed_block_value_is_rejected() {
    for pcs in [WhirPcs::default(), WhirPcs::default().with_split_from_vars(10)] {
        let c = case(&shapes(), 3);
        // The prover commits the honest blocks but claims values of a table perturbed inside a
        // block (everything it derives recomputed from that table).
        let mut forged = c.tables.clone();
        forged[0][3 * 64 + 5] += F::ONE;
        let (com, claims, proof) = prove(&pcs, &c, &c.tables, &forged);
        assert!(verify(&pcs, &c, &com, &claims, &proof).is_err());
        // A non-zero entry in the padding cannot be committed: claims of such a table fail.
        let mut forged = c.tables.clone();
        forged[0][2 * 64 + 40] = F::from_u64(9);
        assert!(!c.layout.polys()[0].zero_outside(&forged[0]));
        let (com, claims, proof) = prove(&pcs, &c, &forged, &forged);
        assert!(verify(&pcs, &c, &com, &claims, &proof).is_err());
        // The honest proof checked against claims on another polynomial, or another layout.
        let (com, mut claims, proof) = prove(&pcs, &c, &c.tables, &c.tables);
        let other = SparseLayout::new(c.layout.polys().iter().rev().cloned().collect());
        assert!(verify(&pcs, &Case { layout: other, tables: Vec::new() }, &com, &claims, &proof).is_err());
        claims[0].value += EF::ONE;
        assert!(verify(&pcs, &c, &com, &claims, &proof).is_err());
    }
}

/// The fact `zkinfer_pcs::hiding_sparse`'s module doc relies on: the last dimension's least
/// significant bit is free in every block (each part has ≥ 1 variable) for every extent `d ≥ 2`
/// except `d ≡ 1 (mod 2^MIN_PART_VARS)`, whose tail part is one padded index (50 257's is).
#[test]
fn every_part_has_a_variable_unless_the_tail_is_one_index() {
    use zkinfer_pcs::sparse::{DimPart, MIN_PART_VARS, dim_parts};
    for d in 2..300usize {
        let zero_var_part = dim_parts(d).iter().any(|p| p.vars == 0);
        assert_eq!(zero_var_part, d % (1 << MIN_PART_VARS) == 1, "d = {d}");
    }
    assert_eq!(dim_parts(50257).last(), Some(&DimPart { offset: 50256, vars: 0 }));
    assert!(dim_parts(50256).iter().all(|p| p.vars >= MIN_PART_VARS));
}
