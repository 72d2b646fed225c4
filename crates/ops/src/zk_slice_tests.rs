//! Tests of the zk column slice with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): the input `x` (`Vanishing::All`), the output's `R` table and the
//! sumcheck mask table (`Vanishing::Last`); `x: [3, 40]`, `y = x[:, 8..28]`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_sumcheck::zk::{prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-slice-test", 1)
}

const SHAPE: ZkSliceShape = ZkSliceShape { rows: 3, cols: 40, start: 8, len: 20 };

struct Commit {
    x: Ideal,
    r: Ideal,
    vm: VirtualMask,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// Runs on an `x` one entry (inside the slice) off the committed one.
    OtherX,
    /// Zero masks: the plain values.
    Plain,
    /// Adds `ε` to the public selector at column 0 (outside the slice), the claim recomputed from
    /// the forged tables.
    ForgedSel,
}

struct Case(Prover);

fn input() -> Vec<i64> {
    (0..SHAPE.rows * SHAPE.cols).map(|i| ((i as i64 * 7919) % 2001) - 1000).collect()
}

impl Case {
    fn run(&self, seed: u64) -> Run<Commit, ZkSliceClaims> {
        let x0 = input();
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = zk_slice_mask_shape(&SHAPE);
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let vm = VirtualMask::sample(&mut rng);
        let com = Commit {
            x: Ideal::new(padded(&x0, &[SHAPE.rows, SHAPE.cols]), true, &mut rng),
            r: Ideal::new(vm.table().to_vec(), false, &mut rng),
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            vm,
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut x = x0.clone();
        if self.0 == Prover::OtherX {
            x[SHAPE.cols + 10] += 1;
        }
        let y: Vec<i64> = x.chunks(SHAPE.cols).flat_map(|row| row[SHAPE.start..SHAPE.start + SHAPE.len].to_vec()).collect();
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let point = t.challenge_exts(SHAPE.claim_vars());
        let y_plain = mle(&padded(&y, &[SHAPE.rows, SHAPE.len]), &point);
        let value = com.vm.hat(y_plain, &point);
        t.send_ext(value);
        let zero = |_: &[EF]| EF::ZERO;
        let cx = |z: &[EF]| com.x.cofactor(z, z.len() - 1);
        let r_hat = |w: EF| com.vm.value(point[0], w) + vanish(w) * com.r.m(&com.vm.point(point[0], w));
        let xc: &(dyn Fn(&[EF]) -> EF + Sync) = if self.0 == Prover::Plain { &zero } else { &cx };
        let c = if self.0 == Prover::ForgedSel {
            let e = zkinfer_poly::eq_evals(&point[..2]);
            let mut a = vec![EF::ZERO; 64];
            for (row, w) in x.chunks(SHAPE.cols).zip(&e) {
                for (o, &v) in a.iter_mut().zip(row) {
                    *o += *w * EF::from(zkinfer_field::from_i64_unchecked(v));
                }
            }
            let mut sel = SHAPE.selector(&point[2..]);
            sel[0] += EF::from_u64(17);
            let forged = a.iter().zip(&sel).map(|(&p, &q)| p * q).sum::<EF>() + (value - y_plain);
            let mut t2 = ProverTranscript::new(&ds());
            t2.absorb_public_fields("test/commitment", &com.binding);
            let _ = t2.challenge_exts(SHAPE.claim_vars());
            t2.send_ext(forged);
            let c = prove_with_tables(&SHAPE, a, sel, &Claim::new(point.clone(), forged), xc, &r_hat, &mask, &mut t2).expect("forged");
            return Run { proof: t2.into_proof(), com, claims: c, plain: vec![y_plain] };
        } else {
            prove_slice_zk(&SHAPE, &x, &Claim::new(point.clone(), value), xc, &r_hat, &mask, &mut t).expect("prove")
        };
        let plain = vec![y_plain, mle(&com.x.table, &c.x.point)];
        Run { proof: t.into_proof(), com, claims: c, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkSliceClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let point = t.challenge_exts(SHAPE.claim_vars());
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_slice_zk(&SHAPE, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkSliceClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkSliceClaims> {
        Case(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkSliceClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.x.hat(&c.x.point) == c.x.value, "x")?;
        let (a, w, v) = c.r;
        open(com.r.hat(&com.vm.point(a, w)) == v, "R")?;
        for (p, v) in &c.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkSliceClaims) -> Vec<EF> {
        vec![c.x.value, c.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(SHAPE.claim_vars());
        let value: EF = rng.random();
        t.send_ext(value);
        let cv = 6;
        let ms = zk_slice_mask_shape(&SHAPE);
        let mut inst = random_instance(cv, ms.degree, value, rng);
        let mask = SumcheckMask::sample(ms, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let sel = SHAPE.selector_at(&point[2..], &out.inner.point);
        let e: EF = rng.random();
        let a = (out.inner.final_evals[0][0] - output_coeff(&point, cv) * e) * sel.inverse();
        t.send_exts(&[a, sel]);
        t.send_ext(e);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_slices_verify_open_and_hide() {
    honest_runs_verify_and_hide(&Case(Prover::Honest), [10, 11]);
}

/// An `x` other than the committed one (caught at its opening), the plain values, a forged public
/// selector with the claim recomputed (caught by the selector check only), every flipped
/// limb, a truncation, a slice outside the input, too few column variables, a wrong claim
/// dimension.
#[test]
fn tampered_zk_slices_are_rejected() {
    let case = Case(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    let o = Case(Prover::OtherX).run(21);
    assert_eq!(case.check(&o.proof, &o.com).expect_err("other x"), "x does not open");
    let p = Case(Prover::Plain).run(22);
    assert!(case.check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
    // Only the selector check catches a forged selector: the sumcheck passes (the check runs after
    // it) and the openings would too.
    let f = Case(Prover::ForgedSel).run(23);
    assert!(case.check(&f.proof, &f.com).expect_err("forged selector").contains("selector"));
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let c = Claim::new(vec![EF::TWO; 7], EF::ONE);
    assert_refused(verify_slice_zk(&ZkSliceShape { start: 30, ..SHAPE }, &c, &mut t), "shape: a slice outside the input");
    assert_refused(verify_slice_zk(&ZkSliceShape { cols: 16, start: 0, len: 16, rows: 3 }, &Claim::new(vec![EF::TWO; 6], EF::ONE), &mut t), "shape: a zk slice needs ≥ 5 column variables");
    assert_refused(verify_slice_zk(&SHAPE, &Claim::new(vec![EF::TWO; 6], EF::ONE), &mut t), "shape: claim point dimension");
}

#[test]
fn simulated_zk_slices_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(41);
    simulated_proofs_match(&Case(Prover::Honest), 300, &mut rng, 17_000, 24);
}
