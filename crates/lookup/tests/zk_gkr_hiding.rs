//! The zk fraction-sum GKR composed with the hiding PCS: the leaves `P`, `Q` and every GKR mask
//! table in ONE hiding commitment (`zkinfer_pcs::hiding`), the GKR's claims (on the randomised
//! extensions) opened at once.

use std::collections::HashSet;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_lookup::fracaddcheck::{self, Denominators, FractionLeaves, Numerators};
use zkinfer_lookup::zk::{self, Committed, ZkGkrClaims, ZkGkrMasks, ZkLeaves};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

const N: usize = 5;

fn ds() -> DomainSeparator {
    DomainSeparator::new("test/fracadd-zk-hiding", 1)
}

/// Leaves with a blinding leaf `0/b` last; `(p, q, Σ p/q)` (the sum does not depend on `b`).
fn leaves(b: F) -> (Vec<F>, Vec<F>, EF) {
    let len = 1usize << N;
    let mut p: Vec<F> = (0..len as u64).map(|i| F::from_u64((i * 13 + 2) % 31)).collect();
    let mut q: Vec<F> = (0..len as u64).map(|i| F::from_u64(3 * i + 7)).collect();
    p[len - 1] = F::ZERO;
    q[len - 1] = b;
    let sum: F = p.iter().zip(&q).map(|(&a, &d)| a * d.inverse()).sum();
    (p, q, EF::from(sum))
}

fn poly_index(c: Committed) -> usize {
    match c {
        Committed::LeafNumerators => 0,
        Committed::LeafDenominators => 1,
        Committed::Mask(k) => 2 + k,
    }
}

fn opening_claims(claims: &ZkGkrClaims) -> Vec<OpeningClaim> {
    let mut out = vec![
        OpeningClaim { poly: 0, point: claims.leaf.point.clone(), value: claims.leaf.numerator },
        OpeningClaim { poly: 1, point: claims.leaf.point.clone(), value: claims.leaf.denominator },
    ];
    out.extend(claims.masks.iter().map(|c| OpeningClaim { poly: 2 + c.mask, point: c.point.clone(), value: c.value }));
    out
}

struct Run {
    com: HidingCommitment,
    proof: Vec<u8>,
    /// The unmasked leaf MLE values at the leaf point (what a public proof would claim).
    clear: [EF; 2],
}

/// A zk proof; `lie` changes one opening claim's value before opening (a prover whose final
/// opening does not match the GKR).
fn prove(seed: u64, lie: Option<usize>) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let b = loop {
        let b: F = rng.random();
        if b != F::ZERO {
            break b;
        }
    };
    let (p, q, sum) = leaves(b);
    let masks = ZkGkrMasks::sample(N, &mut rng).expect("masks");
    let mut polys: Vec<&[F]> = vec![&p, &q];
    polys.extend(masks.tables().iter().map(|t| t.as_slice()));
    let pcs = HidingPcs::default();
    let (com, data) = pcs.commit(&polys, &mut rng).expect("commit");
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let hidden = |c: Committed, z: &[EF]| data.mask_value(poly_index(c), z).expect("mask value");
    let claims = zk::prove(ZkLeaves { numerators: &p, denominators: &q }, sum, &masks, &hidden, &mut t).expect("prove");
    let mut opening = opening_claims(&claims);
    if let Some(k) = lie {
        opening[k].value += EF::ONE;
    }
    let point = claims.leaf.point.clone();
    let clear = [Mle::new(p).evaluate(&point), Mle::new(q).evaluate(&point)];
    pcs.open(data, &opening, &mut t, &mut rng).expect("open");
    Run { com, proof: t.into_proof(), clear }
}

fn verify(com: &HidingCommitment, sum: EF, proof: &[u8]) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    let claims = zk::verify(N, sum, &mut t).map_err(|e| e.to_string())?;
    pcs.verify(com, &opening_claims(&claims), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

fn sum() -> EF {
    leaves(F::ONE).2
}

fn needle(x: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(x);
    t.into_proof()
}

#[test]
fn zk_gkr_with_hiding_openings_verifies_and_hides_the_leaf_values() {
    let run = prove(1, None);
    verify(&run.com, sum(), &run.proof).expect("honest proof verifies");
    for x in run.clear {
        assert!(!run.proof.windows(24).any(|w| w == needle(x).as_slice()), "an unmasked leaf value is in the proof");
    }
    assert!(verify(&run.com, sum() + EF::ONE, &run.proof).is_err(), "wrong claimed sum");
    // Another commitment.
    let other = prove(2, None);
    assert!(verify(&other.com, sum(), &run.proof).is_err());
    // A changed GKR value (the first values: q_0, then layer 0's sumcheck).
    for k in 0..12 {
        let mut bad = run.proof.clone();
        bad[24 * k] ^= 1;
        assert!(verify(&run.com, sum(), &bad).is_err(), "GKR value {k} changed and accepted");
    }
}

/// Wrong final openings: the prover opens a leaf value or a mask value other than the one the
/// GKR ends with; the hiding PCS rejects.
#[test]
fn wrong_final_openings_are_rejected() {
    // Claim 0: P̂ at the leaf point; claim 1: Q̂; claim 2: layer 0's sumcheck mask value;
    // claim 4: an R̂ value.
    for lie in [0, 1, 2, 4] {
        let run = prove(3, Some(lie));
        assert!(verify(&run.com, sum(), &run.proof).is_err(), "lying opening claim {lie} accepted");
    }
}

fn windows(p: &[u8]) -> HashSet<u128> {
    p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16 bytes"))).collect()
}

/// bincode's length prefixes and counts: small little-endian integers (≥ 10 zero bytes in 16).
fn framing(w: &u128) -> bool {
    w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10
}

/// Issue 13's bar on this component, both sides shown: two zk runs on the same statement share
/// no 16-byte window outside bincode's framing; two public-mode fraction-sum proofs of the same
/// tree are byte-identical.
#[test]
fn two_zk_runs_share_nothing_two_public_runs_share_everything() {
    let (x, y) = (prove(4, None), prove(5, None));
    verify(&x.com, sum(), &x.proof).expect("x verifies");
    verify(&y.com, sum(), &y.proof).expect("y verifies");
    let shared: Vec<_> = windows(&x.proof).intersection(&windows(&y.proof)).filter(|w| !framing(w)).copied().collect();
    assert!(shared.is_empty(), "zk runs share {} windows", shared.len());
    let public = || {
        let (p, q, _) = leaves(F::from_u64(9));
        let lift = |v: &[F]| v.iter().map(|&a| EF::from(a)).collect::<Vec<EF>>();
        let tree = FractionLeaves { numerators: Numerators::Values(lift(&p)), denominators: Denominators::Values(lift(&q)) };
        let mut t = ProverTranscript::new(&ds());
        fracaddcheck::prove(vec![tree], &mut t);
        t.into_proof()
    };
    let (a, b) = (public(), public());
    assert_eq!(a, b, "public mode is deterministic");
    let wa = windows(&a);
    assert!(wa.len() > 100 && wa.is_subset(&windows(&b)));
}
