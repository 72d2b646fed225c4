//! The zk logUp composed with the hiding PCS: the looked-up columns, the multiplicities and
//! every mask table in ONE hiding commitment (`zkinfer_pcs::hiding`), all claims opened at once.

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_lookup::zk_logup::{
    MIN_BLOCK_VARS, ZkLookupClaims, ZkLookupMasks, ZkLookupPoly, compute_multiplicities_zk, prove_lookup_zk,
    verify_lookup_zk, zk_committed_column,
};
use zkinfer_lookup::{LookupColumn, Table, compute_multiplicities, prove_lookup};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, MASK_VARS};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("test/logup-zk-hiding", 1)
}

fn statement() -> (Table, Vec<Vec<F>>) {
    let table = Table::range(8);
    let columns = vec![
        (0..3000u64).map(|i| F::from_u64(i * 37 % 256)).collect(),
        (0..10u64).map(|i| F::from_u64(255 - i)).collect(),
    ];
    (table, columns)
}

fn lens(columns: &[Vec<F>]) -> Vec<usize> {
    columns.iter().map(Vec::len).collect()
}

/// Index of each committed polynomial in the batch: columns, m, then the mask tables.
fn index(poly: ZkLookupPoly, columns: usize) -> usize {
    match poly {
        ZkLookupPoly::Column { column, .. } => column,
        ZkLookupPoly::Multiplicities { .. } => columns,
        ZkLookupPoly::Blinding => columns + 1,
        ZkLookupPoly::GkrMask(k) => columns + 2 + k,
    }
}

fn opening_claims(claims: &ZkLookupClaims, columns: usize) -> Vec<OpeningClaim> {
    claims.openings.iter().map(|c| OpeningClaim { poly: index(c.poly, columns), point: c.point.clone(), value: c.value }).collect()
}

struct Run {
    com: HidingCommitment,
    proof: Vec<u8>,
    /// The unmasked column evaluations at the claimed points (what public mode would send).
    clear: Vec<EF>,
}

fn prove(seed: u64) -> Run {
    let (table, columns) = statement();
    let mut rng = StdRng::seed_from_u64(seed);
    let cols: Vec<LookupColumn<'_>> = columns.iter().map(|c| LookupColumn::single(c)).collect();
    let m = compute_multiplicities_zk(&table, &cols).expect("in table");
    let masks = ZkLookupMasks::sample(&table, &lens(&columns), &mut rng).expect("masks");
    let padded: Vec<Vec<F>> = columns.iter().map(|c| zk_committed_column(c)).collect();
    let tables = masks.tables();
    for (k, (poly, _)) in tables.iter().enumerate() {
        assert_eq!(index(*poly, columns.len()), columns.len() + 1 + k);
    }
    let mut polys: Vec<&[F]> = padded.iter().map(Vec::as_slice).collect();
    polys.push(&m);
    polys.extend(tables.iter().map(|(_, t)| *t));
    let pcs = HidingPcs::default();
    let (com, data) = pcs.commit(&polys, &mut rng).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let hidden = |poly: ZkLookupPoly, z: &[EF]| data.mask_value(index(poly, columns.len()), z).expect("mask value");
    let claims = prove_lookup_zk(&table, &cols, &m, &masks, &hidden, &mut t).expect("prove");
    let clear = claims
        .openings
        .iter()
        .filter_map(|c| match c.poly {
            ZkLookupPoly::Column { column, .. } => Some(Mle::new(padded[column].clone()).evaluate(&c.point)),
            ZkLookupPoly::Multiplicities { .. } => Some(Mle::new(m.clone()).evaluate(&c.point)),
            _ => None,
        })
        .collect();
    pcs.open(data, &opening_claims(&claims, columns.len()), &mut t, &mut rng).expect("open");
    Run { com, proof: t.into_proof(), clear }
}

fn verify(com: &HidingCommitment, proof: &[u8]) -> Result<(), String> {
    let (table, columns) = statement();
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    let claims = verify_lookup_zk(&table, &lens(&columns), &mut t).map_err(|e| e.to_string())?;
    pcs.verify(com, &opening_claims(&claims, columns.len()), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

fn windows(p: &[u8]) -> HashSet<u128> {
    p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16 bytes"))).collect()
}

/// bincode's length prefixes and counts: small little-endian integers (≥ 10 zero bytes in 16).
fn framing(w: &u128) -> bool {
    w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10
}

#[test]
fn min_block_matches_the_hiding_pcs_masks() {
    assert_eq!(MIN_BLOCK_VARS, MASK_VARS + 1);
}

/// Honest proofs verify with the real openings; another commitment and changed lookup values
/// are rejected; two zk runs share no 16-byte window outside bincode's framing and contain no
/// unmasked column or `m` evaluation; two public-mode runs are byte-identical (same test).
#[test]
fn zk_logup_with_hiding_openings_verifies_and_hides() {
    let (x, y) = (prove(1), prove(2));
    verify(&x.com, &x.proof).expect("x verifies");
    verify(&y.com, &y.proof).expect("y verifies");
    assert!(verify(&y.com, &x.proof).is_err(), "another commitment");
    // The first sent values: q_0, then layer 0's masked sumcheck.
    for k in 0..8 {
        let mut bad = x.proof.clone();
        bad[24 * k] ^= 1;
        assert!(verify(&x.com, &bad).is_err(), "value {k} changed and accepted");
    }
    for run in [&x, &y] {
        for v in &run.clear {
            let mut t = ProverTranscript::new(&ds());
            t.send_ext(*v);
            let needle = t.into_proof();
            assert!(!run.proof.windows(24).any(|w| w == needle.as_slice()), "an unmasked value is in the proof");
        }
    }
    let shared: Vec<_> = windows(&x.proof).intersection(&windows(&y.proof)).filter(|w| !framing(w)).copied().collect();
    assert!(shared.is_empty(), "zk runs share {} windows", shared.len());

    let public = || {
        let (table, columns) = statement();
        let cols: Vec<LookupColumn<'_>> = columns.iter().map(|c| LookupColumn::single(c)).collect();
        let m = compute_multiplicities(&table, &cols).expect("m");
        let mut t = ProverTranscript::new(&ds());
        prove_lookup(&table, &cols, &m, &mut t).expect("public");
        t.into_proof()
    };
    let (a, b) = (public(), public());
    assert_eq!(a, b, "public mode is deterministic");
    assert!(windows(&a).len() > 100 && windows(&a).is_subset(&windows(&b)));
}
