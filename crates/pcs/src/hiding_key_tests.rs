use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{BasedVectorSpace, EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use super::*;

fn ds() -> DomainSeparator {
    DomainSeparator::new("hiding-key-test", 1)
}

fn polys(shift: u64) -> Vec<Vec<F>> {
    vec![
        (0..1u64 << 10).map(|i| F::from_u64((i * 31 + 7 + shift) % 1000)).collect(),
        (0..1u64 << 6).map(|i| F::from_u64(i * i)).collect(),
        vec![F::from_u64(5), F::from_u64(9)],
    ]
}

fn refs(p: &[Vec<F>]) -> Vec<&[F]> {
    p.iter().map(Vec::as_slice).collect()
}

fn ext(a: u64, b: u64, c: u64) -> EF {
    EF::from_basis_coefficients_fn(|i| F::from_u64([a, b, c][i]))
}

/// The claim points of "proof" `j` (distinct per proof, as fresh challenges would be).
fn points(j: u64) -> Vec<(usize, Vec<EF>)> {
    vec![
        (0, (0..10).map(|i| ext(i + 2 + 100 * j, 3 * i + 1, 7)).collect()),
        (0, (0..10).map(|i| ext(5 * i + 3, i + 100 * j, 11)).collect()),
        (1, (0..6).map(|i| ext(i + 13, 2 + j, i + 5)).collect()),
        (2, vec![ext(17 + j, 1, 1)]),
    ]
}

fn budget() -> KeyBudget {
    KeyBudget { tickets: 3, points_per_ticket: 4 }
}

fn secret(b: u8) -> KeySecret {
    KeySecret([b; 32])
}

fn prove(key: &HidingKey, ps: &[Vec<F>], s: &KeySecret, ticket: usize, j: u64, seed: u64) -> Result<(Vec<OpeningClaim>, Vec<u8>), PcsError> {
    let pcs = HidingPcs::default();
    let data = key.ticket(&pcs, &refs(ps), s, ticket)?;
    let claims: Vec<OpeningClaim> =
        points(j).into_iter().map(|(poly, point)| OpeningClaim { value: data.evaluate(poly, &point).expect("evaluate"), poly, point }).collect();
    let mut t = ProverTranscript::new(&ds());
    key.open_ticket(&pcs, data, &claims, &mut t, &mut StdRng::seed_from_u64(seed))?;
    Ok((claims, t.into_proof()))
}

fn verify(key: &HidingKey, ticket: usize, claims: &[OpeningClaim], proof: &[u8]) -> Result<(), PcsError> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    key.verify_ticket(&HidingPcs::default(), ticket, claims, &mut t)?;
    t.finish().map_err(|_| PcsError::Malformed("trailing bytes"))
}

#[test]
fn every_ticket_opens_and_verifies_and_the_key_is_deterministic_in_its_secret() {
    let ps = polys(0);
    let pcs = HidingPcs::default();
    let key = HidingKey::setup(&pcs, &refs(&ps), budget(), &secret(1)).expect("setup");
    key.validate().expect("valid");
    assert_eq!(key.tickets.len(), 3);
    assert_eq!(HashSet::<_>::from_iter(key.tickets.iter().map(|r| r.roots().to_vec())).len(), 3, "tickets are independent encodings");
    assert_eq!(HidingKey::setup(&pcs, &refs(&ps), budget(), &secret(1)).expect("again"), key);
    assert_ne!(HidingKey::setup(&pcs, &refs(&ps), budget(), &secret(2)).expect("other").tickets, key.tickets);
    // a = 2 for a 4-variable mask would do 2^8 ≥ 13; μ = 4 needs a = 1 (16 ≥ 13); μ = 1 needs a = 4.
    assert_eq!(key.degree_bits().expect("bits"), vec![1, 1, 4]);
    for ticket in 0..3 {
        let (claims, proof) = prove(&key, &ps, &secret(1), ticket, ticket as u64, 7).expect("prove");
        verify(&key, ticket, &claims, &proof).expect("verify");
        // Against another ticket's commitment: rejected.
        assert!(verify(&key, (ticket + 1) % 3, &claims, &proof).is_err());
    }
    assert!(key.ticket(&pcs, &refs(&ps), &secret(1), 3).is_err(), "past the budget");
    assert!(key.ticket(&pcs, &refs(&ps), &secret(2), 0).is_err(), "another secret recommits another ticket");
    assert!(key.ticket(&pcs, &refs(&polys(1)), &secret(1), 0).is_err(), "other weights recommit another ticket");
}

#[test]
fn a_ticket_holding_other_weights_fails_the_link() {
    // A malicious setup: ticket 1 commits other weights (same masks, same secret), the key lists
    // it with the honest link values. Its openings are honest openings of what it committed.
    let (ps, other) = (polys(0), polys(1));
    let pcs = HidingPcs::default();
    let s = secret(1);
    let mut key = HidingKey::setup(&pcs, &refs(&ps), budget(), &s).expect("setup");
    let forged = HidingKey { tickets: Vec::new(), ..key.clone() };
    let data = forged.commit_ticket(&pcs, &refs(&other), &s, 1, None).expect("commit");
    key.tickets[1] = data.commitment().root.clone();
    // The link points move with the roots: recompute the honest values at the new points from
    // ticket 0 (the key's author chooses them knowing every root).
    let zeta = key.link_points().expect("points");
    let honest = key.ticket(&pcs, &refs(&ps), &s, 0).expect("ticket 0");
    key.link_values = zeta.iter().enumerate().map(|(k, z)| honest.evaluate(k, z).expect("eval")).collect();
    // Ticket 0 still opens; ticket 1 cannot (its P̂ differs at ζ): the honest prover refuses
    // nothing, but the opening it produces claims e_k, which its polynomial does not take.
    let (claims, proof) = prove(&key, &ps, &s, 0, 0, 3).expect("ticket 0");
    verify(&key, 0, &claims, &proof).expect("ticket 0 verifies");
    let data = forged.commit_ticket(&pcs, &refs(&other), &s, 1, None).expect("recommit");
    assert_eq!(Some(&data.commitment().root), key.tickets.get(1));
    let claims: Vec<OpeningClaim> =
        points(1).into_iter().map(|(poly, point)| OpeningClaim { value: data.evaluate(poly, &point).expect("evaluate"), poly, point }).collect();
    let mut t = ProverTranscript::new(&ds());
    // The hiding PCS opens whatever claims it is given; the verifier's transcript of the link
    // claims carries the key's e_k.
    key.open_ticket(&pcs, data, &claims, &mut t, &mut StdRng::seed_from_u64(5)).expect("the PCS opens what it is given");
    let proof = t.into_proof();
    assert!(verify(&key, 1, &claims, &proof).is_err(), "a ticket of other weights passed the link");
}

#[test]
fn the_budget_is_enforced_per_ticket() {
    let ps = polys(0);
    let pcs = HidingPcs::default();
    let key = HidingKey::setup(&pcs, &refs(&ps), budget(), &secret(1)).expect("setup");
    let data = key.ticket(&pcs, &refs(&ps), &secret(1), 0).expect("ticket");
    let claims: Vec<OpeningClaim> = (0..5u64)
        .map(|j| {
            let point: Vec<EF> = (0..6).map(|i| ext(i + 13 + 10 * j, 2, i + 5)).collect();
            OpeningClaim { value: data.evaluate(1, &point).expect("eval"), poly: 1, point }
        })
        .collect();
    let mut t = ProverTranscript::new(&ds());
    assert!(key.open_ticket(&pcs, data, &claims, &mut t, &mut StdRng::seed_from_u64(1)).is_err(), "5 points on one polynomial with c = 4");
    let mut bad = key.clone();
    bad.tickets.pop();
    assert!(bad.validate().is_err());
    let mut bad = key.clone();
    bad.link_values.pop();
    assert!(bad.validate().is_err());
    assert!(KeyBudget { tickets: 0, points_per_ticket: 1 }.check().is_err());
    assert!(KeyBudget { tickets: 1 << 20, points_per_ticket: 1 << 16 }.degree_bits(1).is_err(), "needs masks beyond degree 2^8");
}

/// Flipping any limb of the claims or the link values is rejected.
#[test]
fn wrong_values_are_rejected() {
    let ps = polys(0);
    let pcs = HidingPcs::default();
    let key = HidingKey::setup(&pcs, &refs(&ps), budget(), &secret(1)).expect("setup");
    let (claims, proof) = prove(&key, &ps, &secret(1), 2, 2, 9).expect("prove");
    verify(&key, 2, &claims, &proof).expect("honest");
    for j in 0..claims.len() {
        let mut bad = claims.clone();
        bad[j].value += EF::ONE;
        assert!(verify(&key, 2, &bad, &proof).is_err(), "claim {j}");
    }
    for k in 0..key.link_values.len() {
        let mut bad = key.clone();
        bad.link_values[k] += EF::ONE;
        assert!(verify(&bad, 2, &claims, &proof).is_err(), "link value {k}");
    }
}

/// The values revealed over all tickets (claims and link values) are values of the randomised
/// extensions, never of the plain polynomials; two tickets' openings share no 16-byte window
/// outside bincode's framing; the link value is not the plain evaluation.
#[test]
fn tickets_reveal_no_plain_value_and_share_nothing() {
    let ps = polys(0);
    let pcs = HidingPcs::default();
    let key = HidingKey::setup(&pcs, &refs(&ps), budget(), &secret(1)).expect("setup");
    let plain = |k: usize, z: &[EF]| Mle::new(ps[k].clone()).evaluate(z);
    for (k, z) in key.link_points().expect("points").iter().enumerate() {
        assert_ne!(key.link_values[k], plain(k, z), "link value {k} in clear");
    }
    let mut sent: Vec<Vec<u8>> = Vec::new();
    for ticket in 0..3 {
        // The SAME claim points in every ticket: the values still differ from the plain ones,
        // and the proofs share nothing (fresh encodings, fresh batching masks, fresh blinding).
        let (claims, proof) = prove(&key, &ps, &secret(1), ticket, 0, ticket as u64).expect("prove");
        for c in &claims {
            let v = plain(c.poly, &c.point);
            assert_ne!(c.value, v);
            let bytes: Vec<u8> = v.as_basis_coefficients_slice().iter().flat_map(|x: &F| p3_field::PrimeField64::as_canonical_u64(x).to_le_bytes()).collect();
            assert!(!proof.windows(16).any(|w| bytes.windows(16).any(|n| n == w)), "a plain value is in the proof");
        }
        sent.push(proof);
    }
    // The check can fail: a proof shares its own windows.
    assert!(sent[0].windows(16).filter(|w| !framing(w)).count() > 1000);
    for a in 0..3 {
        for b in a + 1..3 {
            let windows: HashSet<&[u8]> = sent[a].windows(16).collect();
            let shared = sent[b].windows(16).filter(|w| windows.contains(w) && !framing(w)).count();
            assert_eq!(shared, 0, "tickets {a} and {b} share {shared} 16-byte windows");
        }
    }
}

/// bincode's fixed-width length prefixes (small integers padded with zero bytes) recur in every
/// proof; a window that is mostly zero bytes carries no field element.
fn framing(w: &[u8]) -> bool {
    w.iter().filter(|&&b| b == 0).count() >= 10
}

/// The masks' capacity: the values a key reveals on one polynomial are `v_j = P(z_j) +
/// Z(z_j)·M(pow(z_j))`, affine in the mask table. With `a` power bits in `μ` variables the map from
/// the `2^{aμ}` mask entries to `n` revealed values has rank `n` for `n ≤ 2^{aμ}` random points
/// (so the values are uniform and independent whatever `P` is) and stops growing beyond: the
/// budget's refusal is needed. Checked on the link and claim points' shape (`Z ≠ 0`).
#[test]
fn the_masks_hide_exactly_their_capacity() {
    use zkinfer_field::Field;
    for (mu, a) in [(1usize, 4usize), (2, 2), (4, 1), (3, 2)] {
        let cap = 1usize << (a * mu);
        let mut rng = StdRng::seed_from_u64(mu as u64 * 10 + a as u64);
        let points: Vec<Vec<EF>> = (0..cap + 3)
            .map(|_| (0..mu).map(|_| ext(rand10::RngExt::random::<u64>(&mut rng) >> 2, rand10::RngExt::random::<u64>(&mut rng) >> 2, 5)).collect())
            .collect();
        // Row of the linear map M ↦ M(pow_a(z)) (the factor Z(z) ≠ 0 scales the row only).
        let rows_for = |a: usize| -> Vec<Vec<EF>> {
            let n = 1usize << (a * mu);
            points
                .iter()
                .map(|z| {
                    let p = crate::hiding::mask_point(z, a);
                    (0..n).map(|e| Mle::new((0..n).map(|i| if i == e { F::ONE } else { F::ZERO }).collect()).evaluate(&p)).collect()
                })
                .collect()
        };
        let rows = rows_for(a);
        let rank = |m: &[Vec<EF>]| {
            let mut m = m.to_vec();
            let mut r = 0;
            for c in 0..m[0].len() {
                let Some(p) = (r..m.len()).find(|&i| m[i][c] != EF::ZERO) else { continue };
                m.swap(r, p);
                let inv = m[r][c].inverse();
                let pivot = m[r].clone();
                for (i, row) in m.iter_mut().enumerate() {
                    if i != r && row[c] != EF::ZERO {
                        let f = row[c] * inv;
                        for (x, y) in row.iter_mut().zip(&pivot) {
                            *x -= f * *y;
                        }
                    }
                }
                r += 1;
            }
            r
        };
        assert_eq!(rank(&rows[..cap]), cap, "μ = {mu}, a = {a}: {cap} points are not independent");
        assert_eq!(rank(&rows), cap, "μ = {mu}, a = {a}: more than the capacity");
        // The check can fail: multilinear masks (a = 1) over the same μ hide only 2^μ points.
        if a > 1 {
            assert_eq!(rank(&rows_for(1)), 1 << mu);
        }
    }
}
