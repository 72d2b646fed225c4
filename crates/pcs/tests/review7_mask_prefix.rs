//! review7 (adversarial review of the zk key, issue 13): the randomised extension
//! `P̂(z) = P(z) + Z(z)·M(z_{<μ})` hides a set of claims only if the claim points' μ-PREFIXES give
//! independent mask functionals, but `HidingPcs`/`HidingKey` count distinct FULL points. Two claims
//! whose points share `z_{<μ}` (μ = 4 here) and differ after it see the same mask value, so
//! `Z(z₂)·v₁ − Z(z₁)·v₂ = Z(z₂)·P(z₁) − Z(z₁)·P(z₂)`: a linear functional of the weights, in clear,
//! from values the proof sends. `open_ticket` accepts such claims (two points ≤ the budget of 2);
//! it should refuse them (count distinct prefixes, refuse two full points on one prefix).
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{BasedVectorSpace, EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::{HidingKey, KeyBudget, KeySecret};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript};

fn ext(a: u64, b: u64, c: u64) -> EF {
    EF::from_basis_coefficients_fn(|i| F::from_u64([a, b, c][i]))
}

#[test]
fn claims_sharing_the_mask_prefix_are_refused() {
    let w: Vec<F> = (0..1u64 << 10).map(|i| F::from_u64((i * 7919 + 13) % 65_521)).collect();
    let pcs = HidingPcs::default();
    let secret = KeySecret([7; 32]);
    let key = HidingKey::setup(&pcs, &[&w], KeyBudget { tickets: 1, points_per_ticket: 2 }, &secret).unwrap();
    let data = key.ticket(&pcs, &[&w], &secret, 0).unwrap();
    // Same first 4 coordinates, different tails.
    let z1: Vec<EF> = (0..10).map(|i| ext(i + 2, 3 * i + 1, 5)).collect();
    let mut z2 = z1.clone();
    for (i, z) in z2.iter_mut().enumerate().skip(4) {
        *z = ext(100 + i as u64, 9, 4);
    }
    let v1 = data.evaluate(0, &z1).unwrap();
    let v2 = data.evaluate(0, &z2).unwrap();
    let zv = |z: &[EF]| z.iter().map(|&x| x * (EF::ONE - x)).product::<EF>();
    let plain = Mle::new(w.clone());
    let leaked = zv(&z2) * v1 - zv(&z1) * v2;
    assert_ne!(leaked, EF::ZERO);
    assert_eq!(leaked, zv(&z2) * plain.evaluate(&z1) - zv(&z1) * plain.evaluate(&z2), "the masks cancel: a plain functional of the weights");
    let claims = vec![OpeningClaim { poly: 0, point: z1, value: v1 }, OpeningClaim { poly: 0, point: z2, value: v2 }];
    let mut t = ProverTranscript::new(&DomainSeparator::new("review7", 1));
    let opened = key.open_ticket(&pcs, data, &claims, &mut t, &mut StdRng::seed_from_u64(1));
    assert!(opened.is_err(), "a ticket opened at two points sharing the mask's prefix reveals a plain linear functional of the weights");
}
