//! Unit tests of the broadcast instance (the norm ops' tests exercise it end to end with every
//! tamper and the simulator: `zk_norm_tests.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::ProductSumcheck;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use super::*;
use crate::zk_testkit::Ideal;

fn rand_table(vars: usize, rng: &mut StdRng) -> Vec<F> {
    (0..1usize << vars).map(|_| F::from_u64(rng.random_range(0..1000))).collect()
}

fn lift(v: &[F]) -> Vec<EF> {
    v.iter().map(|&x| EF::from(x)).collect()
}

/// `x(a, b)·u(a)·w(b) + u(a)²` over `a` (5 variables), `b` (5): without masks the rounds are
/// `ProductSumcheck`'s on the materialised tables; with masks the instance's final values are the
/// tables' randomised extensions at their own sub-points and the proof verifies; a mask on a table
/// of 4 variables and bad ranges are refused.
#[test]
fn broadcast_rounds_are_the_plain_ones_and_end_on_the_randomised_values() {
    let mut rng = StdRng::seed_from_u64(1);
    let (x, u, w) = (rand_table(10, &mut rng), rand_table(5, &mut rng), rand_table(5, &mut rng));
    let terms: Vec<Term> = vec![(EF::ONE, vec![0, 1, 2]), (EF::from_u64(3), vec![1, 1])];
    let tables = |masked: bool| {
        vec![
            BroadcastTable { values: lift(&x), vars: 0..10, masked },
            BroadcastTable { values: lift(&u), vars: 0..5, masked },
            BroadcastTable { values: lift(&w), vars: 5..10, masked },
        ]
    };
    let zero = |_: usize, _: &[EF]| EF::ZERO;
    let mut plain = ZkBroadcastSumcheck::new(10, tables(false), terms.clone(), &zero).expect("instance");
    let bu: Vec<EF> = (0..1024).map(|i| EF::from(u[i >> 5])).collect();
    let bw: Vec<EF> = (0..1024).map(|i| EF::from(w[i & 31])).collect();
    let mut reference = ProductSumcheck::new(vec![Mle::new(lift(&x)), Mle::new(bu), Mle::new(bw)], terms.clone(), None);
    assert_eq!(plain.claimed_sum(), reference.claimed_sum());
    for i in 0..10 {
        let ours = plain.round_evals();
        let theirs = reference.round_evals();
        for (t, &v) in theirs.iter().enumerate() {
            assert_eq!(ours[t], v, "round {i} at {t}");
        }
        let r: EF = rng.random();
        plain.bind(r);
        reference.bind(r);
    }
    assert_eq!(plain.final_evals(), reference.final_evals());

    let com = [Ideal::new(x.clone(), true, &mut rng), Ideal::new(u.clone(), true, &mut rng), Ideal::new(w.clone(), true, &mut rng)];
    let cof = |j: usize, z: &[EF]| com[j].cofactor(z, z.len() - 1);
    let mut inst = ZkBroadcastSumcheck::new(10, tables(true), terms.clone(), &cof).expect("instance");
    let claim = inst.claimed_sum();
    let shape = broadcast_mask_shape(10, &terms);
    let mask = SumcheckMask::sample(shape, &mut rng).expect("mask");
    let ds = DomainSeparator::new("zk-broadcast-test", 1);
    let mut t = ProverTranscript::new(&ds);
    let c = prove_broadcast_zk(&mut inst, &mask, &mut t);
    let proof = t.into_proof();
    let mut vt = VerifierTranscript::new(&ds, &proof);
    let v = verify_broadcast_zk(claim, 10, &terms, 3, &[], &mut vt).expect("verifies");
    assert_eq!(v, c);
    let rho = &c.point;
    assert_eq!(c.values, vec![com[0].hat(rho), com[1].hat(&rho[..5]), com[2].hat(&rho[5..])]);
    assert_ne!(c.values[1], Mle::new(u.clone()).evaluate(&rho[..5]), "the randomised value, not the plain one");
    let mut vt = VerifierTranscript::new(&ds, &proof);
    assert!(verify_broadcast_zk(claim + EF::ONE, 10, &terms, 3, &[], &mut vt).is_err(), "wrong sum");

    let small = vec![BroadcastTable { values: lift(&u[..16]), vars: 0..4, masked: true }];
    assert!(ZkBroadcastSumcheck::new(4, small, vec![(EF::ONE, vec![0, 0])], &cof).is_err(), "a masked table of 4 variables");
    let bad = vec![BroadcastTable { values: lift(&u), vars: 6..11, masked: false }];
    assert!(ZkBroadcastSumcheck::new(10, bad, vec![(EF::ONE, vec![0])], &zero).is_err(), "a range past the variables");
    let ok = vec![BroadcastTable { values: lift(&u), vars: 0..5, masked: false }];
    assert!(ZkBroadcastSumcheck::new(10, ok, vec![(EF::ONE, vec![1])], &zero).is_err(), "a term naming a missing table");
}
