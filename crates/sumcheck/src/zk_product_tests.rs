//! Tests of the masked product sumcheck. The hiding commitment is modelled by [`Fake`]: the
//! tables and the mask table, each with a random randomised-extension mask in its first four
//! variables (the shape `zkinfer_pcs::hiding` commits); every claim is checked against it.

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_poly::eq_evals;
use zkinfer_transcript::{DomainSeparator, Transcript};

use super::*;
use crate::zk::SumcheckMask;
use crate::zk_testkit::same_distribution;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-product-sumcheck-test", 1)
}

fn mle(values: &[F], point: &[EF]) -> EF {
    eq_evals(point).iter().zip(values).map(|(&e, &v)| e * v).sum()
}

/// A statement: tables, terms, eq point.
#[derive(Clone)]
struct Statement {
    tables: Vec<Vec<F>>,
    terms: Vec<Term>,
    w: Option<Vec<EF>>,
}

impl Statement {
    fn n(&self) -> usize {
        self.tables[0].len().trailing_zeros() as usize
    }

    fn claimed_sum(&self) -> EF {
        let n = self.n();
        let eq = self.w.as_ref().map(|w| eq_evals(w));
        (0..1usize << n)
            .map(|i| {
                let values: Vec<EF> = self.tables.iter().map(|t| EF::from(t[i])).collect();
                let p = evaluate_terms(&self.terms, &values).expect("terms");
                eq.as_ref().map_or(p, |e| e[i] * p)
            })
            .sum()
    }
}

/// `eq(w, x)·(A·B + 3·C)` over 6 variables (degree 5).
fn with_eq() -> Statement {
    let n = 6;
    let t = |s: u64| (0..1u64 << n).map(|i| F::from_u64((i * 7919 + s * 104_729) % 65_521)).collect();
    Statement {
        tables: vec![t(1), t(2), t(3)],
        terms: vec![(EF::ONE, vec![0, 1]), (EF::from_u64(3), vec![2])],
        w: Some((0..n as u64).map(|i| EF::from_u64(5 * i + 2)).collect()),
    }
}

/// `A·B·C·D − 2·B` over 5 variables without eq (degree 8).
fn without_eq() -> Statement {
    let n = 5;
    let t = |s: u64| (0..1u64 << n).map(|i| F::from_u64((i * i + s * 31) % 1009)).collect();
    Statement { tables: vec![t(1), t(2), t(3), t(4)], terms: vec![(EF::ONE, vec![0, 1, 2, 3]), (-EF::TWO, vec![1])], w: None }
}

/// The hiding commitment: tables `0..k`, the mask table at `k`, each with a 16-entry mask.
struct Fake {
    polys: Vec<Vec<F>>,
    masks: Vec<Vec<F>>,
}

impl Fake {
    fn new(tables: &[Vec<F>], mask_table: &[F], rng: &mut StdRng) -> Self {
        let mut polys = tables.to_vec();
        polys.push(mask_table.to_vec());
        let masks = polys.iter().map(|_| (0..16).map(|_| rng.random::<F>()).collect()).collect();
        Self { polys, masks }
    }

    fn mask_value(&self, k: usize, z: &[EF]) -> EF {
        mle(&self.masks[k], &z[..4])
    }

    fn eval(&self, k: usize, z: &[EF]) -> Option<EF> {
        let last = *z.last()?;
        (1usize << z.len() == self.polys[k].len()).then(|| mle(&self.polys[k], z) + vanish(last) * self.mask_value(k, z))
    }

    fn binding(&self) -> Vec<F> {
        self.masks.concat()
    }

    fn opens(&self, c: &ZkProductClaims) -> Result<(), String> {
        let k = self.polys.len() - 1;
        for (j, &v) in c.values.iter().enumerate() {
            if j >= k || self.eval(j, &c.point) != Some(v) {
                return Err(format!("table {j} does not open"));
            }
        }
        for (p, v) in &c.mask_claims {
            if self.eval(k, p) != Some(*v) {
                return Err("a mask claim does not open".into());
            }
        }
        Ok(())
    }
}

struct Run {
    proof: Vec<u8>,
    fake: Fake,
    claims: ZkProductClaims,
}

/// A zk proof; the commitment holds `committed` tables, the prover runs on `st.tables`.
fn prove_run(st: &Statement, committed: &[Vec<F>], seed: u64, plain_values: bool) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let shape = product_mask_shape(st.n(), &st.terms, st.w.is_some());
    let mut mask = SumcheckMask::sample(shape, &mut rng).expect("mask");
    let fake = Fake::new(committed, mask.table(), &mut rng);
    let k = st.tables.len();
    for j in 0..st.n() {
        mask.add_vanishing_term(j, fake.mask_value(k, &shape.claim_point(j, EF::ZERO))).expect("fold");
    }
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &fake.binding());
    let hidden = |j: usize, z: &[EF]| fake.mask_value(j, z);
    let inner = base_instance(st.tables.clone(), st.terms.clone(), st.w.clone());
    let mut inst = ZkProductSumcheck::new(inner, st.terms.clone(), st.w.clone(), k, &hidden).expect("instance");
    let claims = if plain_values {
        // A prover that sends the unmasked P_j(r).
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let values: Vec<EF> = st.tables.iter().map(|tab| mle(tab, &out.inner.point)).collect();
        t.send_exts(&values);
        ZkProductClaims { point: out.inner.point, values, mask_claims: out.mask_claims, output_mask_value: None }
    } else {
        prove_product_zk(&mut inst, &mask, &mut t)
    };
    Run { proof: t.into_proof(), fake, claims }
}

fn run(st: &Statement, seed: u64) -> Run {
    prove_run(st, &st.tables, seed, false)
}

fn check(st: &Statement, h: EF, proof: &[u8], fake: &Fake) -> Result<ZkProductClaims, String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &fake.binding());
    let c = verify_product_zk(h, st.n(), &st.terms, st.w.as_deref(), st.tables.len(), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    fake.opens(&c)?;
    Ok(c)
}

#[test]
fn honest_proofs_verify_and_open() {
    for st in [with_eq(), without_eq()] {
        for seed in 0..3 {
            let r = run(&st, seed);
            let c = check(&st, st.claimed_sum(), &r.proof, &r.fake).expect("honest proof");
            assert_eq!(c, r.claims);
            assert_eq!(c.mask_claims.len(), st.n());
        }
    }
}

#[test]
fn bad_instances_are_refused() {
    let st = with_eq();
    let zero = |_: usize, _: &[EF]| EF::ZERO;
    let small = base_instance(st.tables.iter().map(|t| t[..16].to_vec()).collect(), st.terms.clone(), None);
    assert!(ZkProductSumcheck::new(small, st.terms.clone(), None, 3, &zero).is_err(), "4 variables");
    let on_last = |_: usize, z: &[EF]| z[z.len() - 1];
    let inner = base_instance(st.tables.clone(), st.terms.clone(), st.w.clone());
    assert!(ZkProductSumcheck::new(inner, st.terms.clone(), st.w.clone(), 3, &on_last).is_err(), "mask on the last variable");
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert!(verify_product_zk(EF::ZERO, 4, &st.terms, None, 3, &mut t).is_err());
    assert!(verify_product_zk(EF::ZERO, 6, &st.terms, Some(&[EF::ONE; 5]), 3, &mut t).is_err());
}

/// A wrong claimed sum; a prover whose tables differ from the committed ones in one entry (it
/// proves the sum of its own tables, everything downstream recomputed: the openings fail); a
/// prover that sends the unmasked `P_j(r)` (the final check fails); every flipped limb.
#[test]
fn tampered_proofs_are_rejected() {
    for st in [with_eq(), without_eq()] {
        let h = st.claimed_sum();
        let r = run(&st, 7);
        assert!(check(&st, h + EF::ONE, &r.proof, &r.fake).is_err(), "wrong sum");
        let mut lying = st.clone();
        lying.tables[1][9] += F::ONE;
        let r2 = prove_run(&lying, &st.tables, 8, false);
        let err = check(&st, lying.claimed_sum(), &r2.proof, &r2.fake).expect_err("perturbed table");
        assert!(err.contains("does not open"), "{err}");
        let r3 = prove_run(&st, &st.tables, 9, true);
        let err = check(&st, h, &r3.proof, &r3.fake).expect_err("unmasked values");
        assert!(err.contains("final"), "{err}");
        for k in 0..r.proof.len() / 24 {
            for limb in 0..3 {
                let mut bad = r.proof.clone();
                bad[24 * k + 8 * limb] ^= 1;
                assert!(check(&st, h, &bad, &r.fake).is_err(), "value {k} limb {limb}");
            }
        }
        assert!(check(&st, h, &r.proof[..r.proof.len() - 24], &r.fake).is_err(), "truncated");
    }
}

fn values(proof: &[u8]) -> Vec<[u8; 24]> {
    proof.chunks_exact(24).map(|c| c.try_into().expect("24 bytes")).collect()
}

/// Two zk runs on the same statement share no sent value and no 16-byte window, and never send
/// the unmasked `P_j(r)`; two public runs (the ops' sumcheck) are byte-identical.
#[test]
fn two_zk_runs_share_nothing_two_public_runs_share_everything() {
    let st = with_eq();
    let (a, b) = (run(&st, 20), run(&st, 21));
    for r in [&a, &b] {
        check(&st, st.claimed_sum(), &r.proof, &r.fake).expect("verifies");
        for tab in &st.tables {
            let clear = mle(tab, &r.claims.point);
            let mut t = ProverTranscript::new(&ds());
            t.send_ext(clear);
            let needle = t.into_proof();
            assert!(!r.proof.windows(24).any(|w| w == needle.as_slice()), "an unmasked value is sent");
        }
    }
    let (va, vb) = (values(&a.proof), values(&b.proof));
    assert_eq!(va.iter().filter(|x| vb.contains(x)).count(), 0, "zk runs share a value");
    let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<HashSet<_>>();
    assert!(windows(&a.proof).is_disjoint(&windows(&b.proof)), "zk runs share a 16-byte window");
    let public = || {
        let mut inst = base_instance(st.tables.clone(), st.terms.clone(), st.w.clone());
        let mut t = ProverTranscript::new(&ds());
        let out = crate::prove(&mut inst, &mut t);
        t.send_exts(&out.final_evals[0]);
        t.into_proof()
    };
    let (p1, p2) = (public(), public());
    assert_eq!(p1, p2, "public mode is deterministic");
    assert!(windows(&p1).len() > 100);
}

/// The simulator: proofs made without the tables pass the verifier, and every sent limb is
/// distributed like the honest prover's (low bits, 300 runs each); the check rejects a prover
/// that reuses its randomness.
#[test]
fn simulated_proofs_pass_and_match_the_honest_distribution() {
    for st in [with_eq(), without_eq()] {
        let h = st.claimed_sum();
        let runs = 300;
        let mut rng = StdRng::seed_from_u64(5);
        let (mut real, mut sim, mut reused) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..runs {
            real.push(run(&st, 1000 + i).proof);
            reused.push(run(&st, 3).proof);
            let mut t = ProverTranscript::new(&ds());
            t.absorb_public_fields("test/commitment", &[]);
            simulate_product_zk(h, st.n(), &st.terms, st.w.as_deref(), st.tables.len(), &mut t, &mut rng).expect("simulate");
            let proof = t.into_proof();
            let mut vt = VerifierTranscript::new(&ds(), &proof);
            vt.absorb_public_fields("test/commitment", &[]);
            verify_product_zk(h, st.n(), &st.terms, st.w.as_deref(), st.tables.len(), &mut vt).expect("a simulated proof verifies");
            vt.finish().expect("consumed");
            sim.push(proof);
        }
        same_distribution(&real, &sim).expect("honest and simulated proofs look alike");
        assert!(same_distribution(&real, &reused).is_err(), "reused randomness must be detected");
    }
}
