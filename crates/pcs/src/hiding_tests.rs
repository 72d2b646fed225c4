use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{BasedVectorSpace, EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use super::*;

fn ds() -> DomainSeparator {
    DomainSeparator::new("hiding-pcs-test", 1)
}

fn polys() -> Vec<Vec<F>> {
    vec![
        (0..1u64 << 10).map(|i| F::from_u64((i * 31 + 7) % 1000)).collect(),
        (0..1u64 << 6).map(|i| F::from_u64(i * i)).collect(),
        vec![F::from_u64(5), F::from_u64(9)],
    ]
}

fn ext(a: u64, b: u64, c: u64) -> EF {
    EF::from_basis_coefficients_fn(|i| F::from_u64([a, b, c][i]))
}

fn points() -> Vec<(usize, Vec<EF>)> {
    vec![
        (0, (0..10).map(|i| ext(i + 2, 3 * i + 1, 7)).collect()),
        (0, (0..10).map(|i| ext(5 * i + 3, i, 11)).collect()),
        (1, (0..6).map(|i| ext(i + 13, 2, i)).collect()),
        (2, vec![ext(17, 1, 1)]),
    ]
}

struct Run {
    com: HidingCommitment,
    claims: Vec<OpeningClaim>,
    proof: Vec<u8>,
}

fn run(seed: u64) -> Run {
    let pcs = HidingPcs::default();
    let ps = polys();
    let slices: Vec<&[F]> = ps.iter().map(|p| p.as_slice()).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let (com, data) = pcs.commit(&slices, &mut rng).expect("commit");
    let claims: Vec<OpeningClaim> = points()
        .into_iter()
        .map(|(poly, point)| {
            let value = data.evaluate(poly, &point).expect("evaluate");
            OpeningClaim { poly, point, value }
        })
        .collect();
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    pcs.open(data, &claims, &mut t, &mut rng).expect("open");
    Run { com, claims, proof: t.into_proof() }
}

fn verify(com: &HidingCommitment, claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    pcs.verify(com, claims, &mut t)?;
    t.finish()?;
    Ok(())
}

fn unmasked(poly: usize, point: &[EF]) -> EF {
    Mle::new(polys()[poly].clone()).evaluate(point)
}

#[test]
fn honest_hiding_opening_verifies() {
    let r = run(1);
    verify(&r.com, &r.claims, &r.proof).expect("honest opening verifies");
}

/// The claimed values are the randomised extension's, not the polynomials' own: the unmasked
/// evaluations appear nowhere (claims, proof bytes), and a prover claiming them is rejected.
#[test]
fn claimed_evaluations_are_masked_and_unmasked_values_are_rejected() {
    let r = run(2);
    let bytes = |x: EF| -> Vec<u8> {
        let limbs: &[F] = x.as_basis_coefficients_slice();
        limbs.iter().flat_map(|l| p3_field::PrimeField64::as_canonical_u64(l).to_le_bytes()).collect()
    };
    for c in &r.claims {
        let clear = unmasked(c.poly, &c.point);
        assert_ne!(c.value, clear, "claim on polynomial {} is not masked", c.poly);
        let needle = bytes(clear);
        assert!(!r.proof.windows(16).any(|w| needle.windows(16).any(|n| n == w)), "unmasked value in the proof");
        // Claiming the honest, unmasked value is a lie about the committed randomised extension.
        let mut lie = r.claims.clone();
        let j = r.claims.iter().position(|x| x == c).expect("claim");
        lie[j].value = clear;
        assert!(verify(&r.com, &lie, &r.proof).is_err());
    }
}

/// Issue 13's bar for the opening: two commitments and openings of the same polynomials at the
/// same points share no claimed value and no 16-byte window.
#[test]
fn two_hiding_runs_share_nothing() {
    let (a, b) = (run(3), run(4));
    for (x, y) in a.claims.iter().zip(&b.claims) {
        assert_ne!(x.value, y.value);
    }
    assert_ne!(a.com.root, b.com.root);
    let windows = |p: &[u8]| p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16"))).collect::<HashSet<u128>>();
    let (wa, wb) = (windows(&a.proof), windows(&b.proof));
    // The only common windows are the serialisation's public framing: bincode's length prefixes
    // and counts (small little-endian integers, so at least 10 zero bytes in 16). A window with
    // any part of a sent field element in it would need those bytes to coincide.
    let common: Vec<_> = wa.intersection(&wb).collect();
    let framing = |w: &u128| w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10;
    let values: Vec<_> = common.iter().filter(|w| !framing(w)).collect();
    eprintln!("proof bytes: {} and {}; common framing windows: {}", a.proof.len(), b.proof.len(), common.len());
    assert!(values.is_empty(), "{} common 16-byte windows outside the framing, e.g. {:?}", values.len(), values.first());
    // The check can fail: a proof shares every window with itself.
    assert!(wa.iter().filter(|w| !framing(w)).count() > 1000);
}

#[test]
fn tampered_claims_and_proof_bytes_are_rejected() {
    let r = run(5);
    // Any claim value off by one.
    for j in 0..r.claims.len() {
        let mut bad = r.claims.clone();
        bad[j].value += EF::ONE;
        assert!(verify(&r.com, &bad, &r.proof).is_err(), "claim {j}");
    }
    // A claim moved to another point.
    let mut bad = r.claims.clone();
    bad[2].point[0] += EF::ONE;
    assert!(verify(&r.com, &bad, &r.proof).is_err());
    // Another commitment.
    let other = run(6);
    assert!(verify(&other.com, &r.claims, &r.proof).is_err());
    // Proof bytes: every byte of the head (mask root, Γ, rounds, mask values, first bytes of the
    // WHIR proof), then a spread over the rest and the last byte.
    let head = 700.min(r.proof.len());
    let step = (r.proof.len() / 150).max(1);
    let positions: Vec<usize> = (0..head).chain((head..r.proof.len()).step_by(step)).chain([r.proof.len() - 1]).collect();
    let mut accepted = Vec::new();
    for &pos in &positions {
        let mut bad = r.proof.clone();
        bad[pos] ^= 0x01;
        let outcome = std::panic::catch_unwind(|| verify(&r.com, &r.claims, &bad));
        match outcome {
            Err(_) => panic!("verifier panicked on a flipped byte at {pos}"),
            Ok(Ok(())) => accepted.push(pos),
            Ok(Err(_)) => {}
        }
    }
    assert!(accepted.is_empty(), "flipped bytes accepted at {accepted:?}");
    assert!(verify(&r.com, &r.claims, &r.proof[..r.proof.len() - 1]).is_err());
}

#[test]
fn claims_that_would_not_be_hidden_are_refused() {
    let pcs = HidingPcs::default();
    let ps = polys();
    let slices: Vec<&[F]> = ps.iter().map(|p| p.as_slice()).collect();
    let mut rng = StdRng::seed_from_u64(7);
    let (_, data) = pcs.commit(&slices, &mut rng).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    // More distinct points on polynomial 1 than its mask hides (μ = 4: 16).
    let many: Vec<OpeningClaim> = (0..17)
        .map(|i| {
            let point: Vec<EF> = (0..6).map(|k| ext(i + 2, k + 3, 5)).collect();
            OpeningClaim { poly: 1, value: data.evaluate(1, &point).expect("eval"), point }
        })
        .collect();
    assert!(matches!(check_hiding_claims(&data.layout, &data.commitment, &many), Err(PcsError::BadClaim(_))));
    assert!(check_hiding_claims(&data.layout, &data.commitment, &many[..16]).is_ok());
    // A boolean last coordinate: the extension equals the polynomial there (a non-zero value:
    // only a public zero claim may have one, `check_hiding_claims`).
    let boolean_last: Vec<EF> = (0..6).map(|k| if k == 5 { EF::ZERO } else { ext(k + 2, 1, 1) }).collect();
    let claim = OpeningClaim { poly: 1, value: EF::ONE, point: boolean_last };
    assert!(matches!(pcs.open(data, &[claim], &mut t, &mut rng), Err(PcsError::BadClaim(_))));
    // Claims on a mask slot are not claims on the batch.
    let (_, data) = pcs.commit(&slices, &mut rng).expect("commit");
    let mask_claim = OpeningClaim { poly: 3, value: EF::ZERO, point: vec![ext(1, 1, 1); 4] };
    assert!(pcs.open(data, &[mask_claim], &mut ProverTranscript::new(&ds()), &mut rng).is_err());
    // A constant polynomial cannot be hidden by a randomised extension.
    let constant = [F::ONE];
    assert!(pcs.commit(&[&constant[..]], &mut rng).is_err());
}

#[test]
fn hiding_configuration_exists_for_the_supported_sizes() {
    let pcs = HidingPcs::default();
    for n in [MIN_HIDING_VARS, 16, 20] {
        pcs.config(n).unwrap_or_else(|e| panic!("n = {n}: {e}"));
    }
    assert!(pcs.config(MIN_HIDING_VARS - 1).is_err());
}

/// p3-whir's own hiding report for our default parameters: under unique decoding the
/// shared-challenge (γ) round and the query round (credited with the shared grind, as every
/// WHIR figure in docs/SECURITY.md is) reach the per-term target's neighbourhood; under the
/// Johnson bound the γ round's candidate-list product exceeds |EF| (why we do not use it).
#[test]
fn p3_hiding_report_certifies_the_base_case_under_unique_decoding() {
    let pcs = HidingPcs::default();
    for n in [MIN_HIDING_VARS, 16, 20, 24] {
        let report = pcs.config(n).expect("config").hiding_base_case_security_report();
        let gamma = report.gamma_round.combined.bits.expect("gamma bits");
        let with_pow = report.query_round.with_pow.bits.expect("query bits");
        let before_pow = report.query_round.before_pow.bits.expect("query bits");
        eprintln!("n = {n}: gamma round {gamma:.1} bits, query round {before_pow:.1} bits before / {with_pow:.1} after the shared grind");
        assert!(!report.round_by_round.vacuous, "n = {n}");
        assert!(gamma >= 132.0, "n = {n}: gamma round {gamma}");
        assert!(with_pow >= 128.0, "n = {n}: query round {with_pow}");
    }
}

/// Rank over `F` of a matrix with entries in `F`.
fn rank_over_f(m: &[Vec<F>]) -> usize {
    use zkinfer_field::Field;
    let mut m = m.to_vec();
    let mut r = 0;
    for c in 0..m.first().map_or(0, Vec::len) {
        let Some(p) = (r..m.len()).find(|&i| m[i][c] != F::ZERO) else { continue };
        m.swap(r, p);
        let inv = m[r][c].inverse();
        let pivot = m[r].clone();
        for (i, row) in m.iter_mut().enumerate() {
            if i != r && row[c] != F::ZERO {
                let f = row[c] * inv;
                for (x, y) in row.iter_mut().zip(&pivot) {
                    *x -= f * *y;
                }
            }
        }
        r += 1;
    }
    r
}

/// Three `F`-rows per point: the components of the linear map from a table of `F` entries to
/// its multilinear extension's value at `point_of(z)`.
fn f_rows(points: &[Vec<EF>], entries: usize, point_of: &dyn Fn(&[EF]) -> Vec<EF>) -> Vec<Vec<F>> {
    points
        .iter()
        .flat_map(|z| {
            let p = point_of(z);
            let row: Vec<EF> = (0..entries).map(|e| Mle::new((0..entries).map(|i| if i == e { F::ONE } else { F::ZERO }).collect()).evaluate(&p)).collect();
            (0..3).map(move |l| row.iter().map(|v| v.as_basis_coefficients_slice()[l]).collect::<Vec<F>>())
        })
        .collect()
}

/// The leak the mask's component variables close (found in session 9). A mask table is over `F`;
/// before, its entries were the mask's monomial coefficients, so its value at an `EF` point was
/// three `F`-linear functionals of `2^{aμ}` base-field coefficients: values at `k` points are
/// uniform and independent only while `3k ≤ 2^{aμ}` (5 of the 16 points counted for `μ = 4`),
/// and a one-variable polynomial (2 coefficients) left the functional `λ ⊥` both coefficients'
/// images unmasked: `λ·P̂(z) = λ·P(z)` for every mask, which tells two witnesses apart. With the
/// two component variables (`M = Σ_c eq(γ, c)·M_c`) the map from the table's `4·2^{aμ}` entries
/// has rank `3k` over `F` on `k = 2^{aμ}` random points (the capacity counted), and the same `λ`
/// read off a real commitment's claimed value varies with the mask.
#[test]
fn base_field_mask_coefficients_leak_and_component_variables_hide() {
    let mut rng = StdRng::seed_from_u64(3);
    for (mu, a) in [(1usize, 1usize), (4, 1), (2, 2), (1, 3)] {
        let n = 1usize << (a * mu);
        let points: Vec<Vec<EF>> =
            (0..n).map(|_| (0..mu).map(|_| ext(rand10::RngExt::random::<u64>(&mut rng) >> 2, rand10::RngExt::random::<u64>(&mut rng) >> 2, 5)).collect()).collect();
        // Before: the table is the coefficients (mask_point): rank short of 3n, so the n values
        // satisfy F-linear relations (at most ⌊n/3⌋ points are hidden).
        let old = f_rows(&points, n, &|z| mask_point(z, a));
        assert!(rank_over_f(&old) < 3 * n, "μ = {mu}, a = {a}: base-field coefficients hid {n} points");
        assert_eq!(rank_over_f(&f_rows(&points[..n / 3], n, &|z| mask_point(z, a))), 3 * (n / 3));
        // Now: the table with its component variables (mask_table_point).
        let new = f_rows(&points, 4 * n, &|z| mask_table_point(z, a));
        assert_eq!(rank_over_f(&new), 3 * n, "μ = {mu}, a = {a}: {n} points are not hidden");
    }

    // The leak on a one-variable polynomial, and the real commitment's value masking it.
    let z = ext(12345, 678, 91011);
    let comps = |v: EF| -> [F; 3] { v.as_basis_coefficients_slice().try_into().expect("cubic") };
    let v = z * (EF::ONE - z); // Vanishing::Last
    let (u0, u1) = (comps(v * (EF::ONE - z)), comps(v * z));
    let lambda = [u0[1] * u1[2] - u0[2] * u1[1], u0[2] * u1[0] - u0[0] * u1[2], u0[0] * u1[1] - u0[1] * u1[0]];
    let read = |x: EF| -> F {
        let c = comps(x);
        (0..3).map(|i| lambda[i] * c[i]).sum()
    };
    let plain = |p: &[F]| -> EF { Mle::new(p.to_vec()).evaluate(&[z]) };
    let (p, q) = ([F::from_u64(5), F::from_u64(9)], [F::from_u64(5), F::from_u64(10)]);
    assert_ne!(read(plain(&p)), read(plain(&q)), "the functional separates the two witnesses");
    let pcs = HidingPcs::default();
    let (mut leaked, mut masked) = (0, 0);
    for seed in 0..8u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        for poly in [&p, &q] {
            // A base-field-coefficient mask, as committed before: λ reads the plain functional.
            let c: [F; 2] = [rand10::RngExt::random(&mut rng), rand10::RngExt::random(&mut rng)];
            let old_hat = plain(poly) + v * (EF::from(c[0]) * (EF::ONE - z) + EF::from(c[1]) * z);
            leaked += usize::from(read(old_hat) == read(plain(poly)));
            // The commitment's randomised extension now.
            let (_, data) = pcs.commit(&[&poly[..]], &mut rng).expect("commit");
            let hat = data.evaluate(0, &[z]).expect("evaluate");
            masked += usize::from(read(hat) != read(plain(poly)));
        }
    }
    assert_eq!(leaked, 16, "a base-field-coefficient mask gives the functional away every time");
    assert_eq!(masked, 16, "the component variables mask it");
}

/// The blinding slot's value at a random point ranges over all of `EF` as its base-field entries
/// vary (rank 3 over `F`), so the opened value is uniform; the control: one variable (two entries,
/// the slot before session 9) reaches only rank 2.
#[test]
fn the_blinding_slot_spans_the_extension_field() {
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..8 {
        let r: Vec<EF> = (0..BLINDING_VARS).map(|_| ext(rand10::RngExt::random::<u64>(&mut rng) >> 2, rand10::RngExt::random::<u64>(&mut rng) >> 2, 3)).collect();
        let rows = f_rows(std::slice::from_ref(&r), 1 << BLINDING_VARS, &|z| z.to_vec());
        assert_eq!(rank_over_f(&rows), 3);
        let old = f_rows(&[r[..1].to_vec()], 2, &|z| z.to_vec());
        assert_eq!(rank_over_f(&old), 2);
    }
}

/// A [`Vanishing::LastPublic`] polynomial (a masked sumcheck's mask table, whose claimed values
/// are sent in clear) may be claimed at points sharing their first `μ` coordinates and at more
/// than `2^μ` points: the batch opens and verifies, and a tampered value is still refused (the
/// opening's soundness is unchanged). Control: the same claims on the same polynomial committed
/// as [`Vanishing::Last`] are refused by the prover and by the verifier.
#[test]
fn public_valued_polynomials_may_share_prefixes_and_exceed_the_point_budget() {
    let pcs = HidingPcs::default();
    let ps = polys();
    let slices: Vec<&[F]> = ps.iter().map(|p| p.as_slice()).collect();
    // 20 points on polynomial 0 (10 variables), all with the same first 4 coordinates (as a
    // sumcheck of 20 rounds reads its mask table: round bits first), the last one random.
    let points: Vec<Vec<EF>> = (0..20u64)
        .map(|j| (0..10).map(|k| if k < 4 { ext(k + 2, 1, 1) } else if k < 9 { ext((j >> (k - 4)) & 1, 0, 0) } else { ext(j + 3, 7, 2) }).collect())
        .collect();
    let open = |van: Vanishing, seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        let (com, data) = pcs.commit_with(&slices, &[van, Vanishing::Last, Vanishing::Last], &mut rng).expect("commit");
        let claims: Vec<OpeningClaim> = points.iter().map(|p| OpeningClaim { poly: 0, point: p.clone(), value: data.evaluate(0, p).expect("eval") }).collect();
        let mut t = ProverTranscript::new(&ds());
        pcs.absorb_commitment(&com, &mut t);
        let opened = pcs.open(data, &claims, &mut t, &mut rng);
        (com, claims, opened.map(|()| t.into_proof()))
    };
    let (com, claims, proof) = open(Vanishing::LastPublic, 3);
    let proof = proof.expect("public-valued claims open");
    verify(&com, &claims, &proof).expect("and verify");
    let mut bad = claims.clone();
    bad[7].value += EF::ONE;
    assert!(verify(&com, &bad, &proof).is_err(), "a wrong public value is refused");
    // Control: the same claims on a hidden (`Last`) polynomial.
    let (com_last, claims_last, refused) = open(Vanishing::Last, 3);
    let e = refused.expect_err("a hidden polynomial's shared prefixes are refused");
    assert!(e.to_string().contains("same first 4 coordinates"), "{e}");
    let mut as_last = com_last;
    as_last.root = com.root.clone();
    assert!(verify(&as_last, &claims_last, &proof).is_err(), "the verifier refuses them on a Last polynomial too");
    // The vanishing kind is bound by the commitment's bytes: LastPublic ≠ Last.
    assert_ne!(as_last.to_bytes(), com.to_bytes());
}
