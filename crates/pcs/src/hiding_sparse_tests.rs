//! Tests of the hiding sparse opening: two tensors committed as the blocks of their extents and
//! two mask-like extra tables in one hiding batch.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{BasedVectorSpace, EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use super::*;

fn ds() -> DomainSeparator {
    DomainSeparator::new("hiding-sparse-test", 1)
}

/// Logical shapes of the two sparse tensors (padded: `[4, 64]` and `[8, 32]`).
const DIMS: [&[usize]; 2] = [&[3, 40], &[5, 20]];
const EXTRA_VARS: [usize; 2] = [5, 7];
const EXTRA_VANISHING: [Vanishing; 2] = [Vanishing::Last, Vanishing::Last];

fn padded(dims: &[usize], seed: u64) -> Vec<F> {
    let cols = dims[1].next_power_of_two();
    let rows = dims[0].next_power_of_two();
    let mut out = vec![F::ZERO; rows * cols];
    for r in 0..dims[0] {
        for c in 0..dims[1] {
            out[r * cols + c] = F::from_u64((r as u64 * 7919 + c as u64 * 31 + seed * 1_000_003) % 65_521 + 1);
        }
    }
    out
}

fn layout() -> HidingSparseLayout {
    HidingSparseLayout::new(DIMS.iter().map(|d| SparsePoly::tensor(d)).collect(), EXTRA_VARS.to_vec()).expect("layout")
}

fn ext(a: u64, b: u64, c: u64) -> EF {
    EF::from_basis_coefficients_fn(|i| F::from_u64([a, b, c][i]))
}

/// Claim points: two per tensor, one per extra table.
fn points() -> (Vec<(usize, Vec<EF>)>, Vec<(usize, Vec<EF>)>) {
    let sparse = vec![
        (0, (0..8).map(|i| ext(i + 2, 3 * i + 1, 7)).collect()),
        (0, (0..8).map(|i| ext(5 * i + 3, i, 11)).collect()),
        (1, (0..8).map(|i| ext(i + 13, 2, i)).collect()),
        (1, (0..8).map(|i| ext(2 * i + 1, 9, i + 4)).collect()),
    ];
    let extra = vec![(0, (0..5).map(|i| ext(i + 17, 1, 1)).collect()), (1, (0..7).map(|i| ext(3, i + 5, 2)).collect())];
    (sparse, extra)
}

struct Run {
    com: HidingCommitment,
    claims: Vec<OpeningClaim>,
    extra_claims: Vec<OpeningClaim>,
    proof: Vec<u8>,
    /// The plain values `P_k(z)` and every block's plain `B_b(z_free)`, what a public opening reveals.
    plain: Vec<EF>,
}

/// How a test's prover misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Tamper {
    None,
    /// Claims the plain `P(z)` and sends the plain block values (consistent recombination).
    Plain,
}

fn run(seed: u64, tamper: Tamper) -> Run {
    let pcs = HidingPcs::default();
    let lay = layout();
    let tables: Vec<Vec<F>> = DIMS.iter().enumerate().map(|(k, d)| padded(d, k as u64)).collect();
    let extras: Vec<Vec<F>> = EXTRA_VARS.iter().map(|&v| (0..1u64 << v).map(|i| F::from_u64(i * i + 3)).collect()).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let (com, data) = commit(
        &pcs,
        &lay,
        &tables.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &extras.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &EXTRA_VANISHING,
        &mut rng,
    )
    .expect("commit");
    let (sp, ep) = points();
    let mut plain = Vec::new();
    let claims: Vec<OpeningClaim> = sp
        .into_iter()
        .map(|(k, point)| {
            let clear = Mle::new(tables[k].clone()).evaluate(&point);
            plain.push(clear);
            for (b, (_, free)) in lay.polys()[k].split_point(&point).into_iter().enumerate() {
                plain.push(Mle::new(lay.polys()[k].extract(b, &tables[k])).evaluate(&free));
            }
            let value = if tamper == Tamper::Plain { clear } else { randomised_value(&lay, &data, k, &point).expect("value") };
            OpeningClaim { poly: k, point, value }
        })
        .collect();
    let extra_claims: Vec<OpeningClaim> =
        ep.into_iter().map(|(j, point)| OpeningClaim { poly: j, value: data.evaluate(lay.extra_index(j), &point).expect("extra value"), point }).collect();
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    if tamper == Tamper::Plain {
        // Sends the plain block values (they recombine to the plain claim), then opens honestly:
        // the opening proves the randomised values, so it must fail on these claims.
        let mut all = Vec::new();
        for c in &claims {
            let p = &lay.polys()[c.poly];
            let vals: Vec<EF> =
                p.split_point(&c.point).iter().enumerate().map(|(b, (_, free))| Mle::new(p.extract(b, &tables[c.poly])).evaluate(free)).collect();
            t.send_exts(&vals);
            all.extend(block_claims(&lay, c, &vals).expect("consistent"));
        }
        all.extend(extra_claims.iter().map(|c| OpeningClaim { poly: lay.extra_index(c.poly), point: c.point.clone(), value: c.value }));
        let _ = pcs.open(data, &all, &mut t, &mut rng);
    } else {
        open(&pcs, &lay, &EXTRA_VANISHING, data, &claims, &extra_claims, &mut t, &mut rng).expect("open");
    }
    Run { com, claims, extra_claims, proof: t.into_proof(), plain }
}

fn check(com: &HidingCommitment, claims: &[OpeningClaim], extra_claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    verify(&pcs, &layout(), &EXTRA_VANISHING, com, claims, extra_claims, &mut t)?;
    t.finish()?;
    Ok(())
}

fn needle(v: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(v);
    t.into_proof()
}

/// Honest openings verify; no plain value of a tensor or of a block at a claimed point appears
/// in the proof while every sent block value and claim does (the search's control); two runs
/// share no claimed value and no 16-byte window outside bincode's framing.
#[test]
fn honest_sparse_openings_verify_and_hide() {
    let (a, b) = (run(1, Tamper::None), run(2, Tamper::None));
    for r in [&a, &b] {
        check(&r.com, &r.claims, &r.extra_claims, &r.proof).expect("honest opening verifies");
        for &v in &r.plain {
            assert!(!r.proof.windows(24).any(|w| w == needle(v).as_slice()), "a plain value is in the proof");
            assert!(r.claims.iter().all(|c| c.value != v), "a plain value is claimed");
        }
    }
    // Control: every block value sent is found by the same search.
    let lay = layout();
    let mut t = VerifierTranscript::new(&ds(), &a.proof);
    HidingPcs::default().absorb_commitment(&a.com, &mut t);
    let mut found = 0;
    for c in &a.claims {
        for v in t.receive_exts(lay.polys()[c.poly].blocks().len()).expect("block values") {
            assert!(a.proof.windows(24).any(|w| w == needle(v).as_slice()), "a sent block value not found");
            found += 1;
        }
    }
    assert!(found >= 8, "the test tensors have several blocks");
    for (x, y) in a.claims.iter().zip(&b.claims) {
        assert_ne!(x.value, y.value);
    }
    let windows = |p: &[u8]| p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16"))).collect::<HashSet<u128>>();
    let (wa, wb) = (windows(&a.proof), windows(&b.proof));
    let framing = |w: &u128| w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10;
    let common: Vec<_> = wa.intersection(&wb).filter(|w| !framing(w)).collect();
    assert!(common.is_empty(), "{} common 16-byte windows outside the framing", common.len());
    assert!(wa.iter().filter(|w| !framing(w)).count() > 1000, "the check can fail");
}

/// A claim off by one (the recombination fails); a block value off by one with the claim
/// recomputed from it (the opening fails); the plain `P(z)` claimed with the plain block values
/// sent (consistent recombination, the opening fails); an extra claim off by one; a claim on a
/// missing extra polynomial; every flipped limb of the block values; a truncation.
#[test]
fn tampered_sparse_openings_are_rejected() {
    let r = run(3, Tamper::None);
    check(&r.com, &r.claims, &r.extra_claims, &r.proof).expect("control");
    for j in 0..r.claims.len() {
        let mut bad = r.claims.clone();
        bad[j].value += EF::ONE;
        let err = check(&r.com, &bad, &r.extra_claims, &r.proof).expect_err("claim off by one");
        assert!(err.to_string().contains("do not sum"), "{err}");
    }
    // The first block value of the first claim + 1, the claim recomputed: the recombination holds,
    // the opening must fail.
    let lay = layout();
    let (sel0, _) = lay.polys()[0].split_point(&r.claims[0].point)[0].clone();
    let mut bad_claims = r.claims.clone();
    bad_claims[0].value += sel0;
    let mut bad_proof = r.proof.clone();
    let start = first_block_value_offset(&r);
    let v = read_ext(&bad_proof[start..start + 24]) + EF::ONE;
    bad_proof[start..start + 24].copy_from_slice(&needle(v));
    let err = check(&r.com, &bad_claims, &r.extra_claims, &bad_proof).expect_err("perturbed block, claim recomputed");
    assert!(!err.to_string().contains("do not sum"), "caught at the opening: {err}");
    let p = run(4, Tamper::Plain);
    let err = check(&p.com, &p.claims, &p.extra_claims, &p.proof).expect_err("plain values");
    assert!(!err.to_string().contains("do not sum"), "caught at the opening: {err}");
    let mut bad = r.extra_claims.clone();
    bad[1].value += EF::ONE;
    assert!(check(&r.com, &r.claims, &bad, &r.proof).is_err(), "extra claim off by one");
    let mut bad = r.extra_claims.clone();
    bad[0].poly = 2;
    assert!(check(&r.com, &r.claims, &bad, &r.proof).is_err(), "missing extra polynomial");
    let n_values: usize = r.claims.iter().map(|c| lay.polys()[c.poly].blocks().len()).sum();
    for k in 0..n_values {
        for limb in 0..3 {
            let mut bad = r.proof.clone();
            bad[start + 24 * k + 8 * limb] ^= 1;
            assert!(check(&r.com, &r.claims, &r.extra_claims, &bad).is_err(), "block value {k} limb {limb}");
        }
    }
    assert!(check(&r.com, &r.claims, &r.extra_claims, &r.proof[..r.proof.len() - 1]).is_err(), "truncated");
    // Layout checks: a constant block or extra polynomial is refused; a commitment of another batch too.
    assert!(HidingSparseLayout::new(vec![SparsePoly::tensor(&[1, 1])], vec![]).is_err());
    assert!(HidingSparseLayout::new(vec![], vec![0]).is_err());
    let other = HidingSparseLayout::new(vec![SparsePoly::tensor(DIMS[0])], EXTRA_VARS.to_vec()).expect("layout");
    let mut t = VerifierTranscript::new(&ds(), &r.proof);
    HidingPcs::default().absorb_commitment(&r.com, &mut t);
    assert!(verify(&HidingPcs::default(), &other, &EXTRA_VANISHING, &r.com, &r.claims[..2], &r.extra_claims, &mut t).is_err(), "another layout");
}

/// Where the first block value sits: the proof starts with the block values (the transcript only
/// absorbed the commitment before them).
fn first_block_value_offset(r: &Run) -> usize {
    let lay = layout();
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), &r.proof);
    pcs.absorb_commitment(&r.com, &mut t);
    let n = lay.polys()[r.claims[0].poly].blocks().len();
    let first = t.receive_exts(n).expect("block values");
    let bytes = needle(first[0]);
    r.proof.windows(24).position(|w| w == bytes.as_slice()).expect("the first block value is in the proof")
}

fn read_ext(bytes: &[u8]) -> EF {
    let mut t = VerifierTranscript::new(&ds(), bytes);
    t.receive_ext().expect("24 bytes")
}

/// The cofactor of a sparse polynomial's view: `P̂(z) − P(z) = v(z_var)·H(z)` for the last
/// coordinate (free in every block of the test tensors) and `H` independent of `z_var`; refused
/// for a coordinate fixed in some block (a dimension's high bit) and for a mask variable.
#[test]
fn sparse_cofactors_split_off_the_bound_variable() {
    let pcs = HidingPcs::default();
    let lay = layout();
    let tables: Vec<Vec<F>> = DIMS.iter().enumerate().map(|(k, d)| padded(d, k as u64)).collect();
    let extras: Vec<Vec<F>> = EXTRA_VARS.iter().map(|&v| (0..1u64 << v).map(|i| F::from_u64(i + 1)).collect()).collect();
    let mut rng = StdRng::seed_from_u64(9);
    let (_, data) = commit(
        &pcs,
        &lay,
        &tables.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &extras.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &EXTRA_VANISHING,
        &mut rng,
    )
    .expect("commit");
    let (sp, _) = points();
    for (k, z) in sp {
        let var = z.len() - 1;
        let h = mask_cofactor(&lay, &data, k, &z, var).expect("cofactor");
        let plain = Mle::new(tables[k].clone()).evaluate(&z);
        let hat = randomised_value(&lay, &data, k, &z).expect("value");
        let t = z[var];
        assert_eq!(hat - plain, t * (EF::ONE - t) * h, "P̂ − P = v(z_var)·H");
        let mut z2 = z.clone();
        z2[var] += EF::from_u64(5);
        assert_eq!(mask_cofactor(&lay, &data, k, &z2, var).expect("cofactor"), h, "H is free of z_var");
        // Coordinate 0 (a row bit) is free but a mask variable of every block; the first column
        // coordinate (after 2 resp. 3 row bits) is a selector bit: 40 = 32 + 8 and 20 = 16 + 4
        // split the column dimension into blocks.
        let err = mask_cofactor(&lay, &data, k, &z, 0).expect_err("a mask variable").to_string();
        assert!(err.contains("mask variable"), "{err}");
        let err = mask_cofactor(&lay, &data, k, &z, [2, 3][k]).expect_err("a selector bit").to_string();
        assert!(err.contains("is fixed"), "{err}");
    }
}
