//! Tests of the zk Clamp with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): `y`, `s`, `t`, `x` (`Vanishing::All`) and the sumcheck mask table
//! (`Vanishing::Last`), both forms on `[3, 40]` (padded `[4, 64]`): the gap form `[−100, 127]` of
//! 10-bit inputs and the symmetric form `[−(2^16 − 1), 2^16 − 1]` of 20-bit inputs, each with
//! entries clamped at both ends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-clamp-test", 1)
}

const DIMS: [usize; 2] = [3, 40];
/// A padding entry of the `[4, 64]` cube (row 3).
const PAD: usize = 3 * 64;

fn gap_shape() -> ZkClampShape {
    ZkClampShape { dims: DIMS.to_vec(), clamp: ClampProof::new(-100, 127, 10) }
}

fn sym_shape() -> ZkClampShape {
    let m = (1 << 16) - 1;
    ZkClampShape { dims: DIMS.to_vec(), clamp: ClampProof::new(-m, m, 20) }
}

struct Commit {
    y: Ideal,
    s: Ideal,
    t: Ideal,
    x: Ideal,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// Commits and proves an output one entry off the clamp (the relation false).
    FalseY,
    /// Runs on an `x` one entry off the committed one.
    OtherX,
    /// Zero masks: the plain values.
    Plain,
    /// A padding entry of the committed `x`, `y`, `s`, `t` that satisfies the relation only
    /// where `χ = 1`, and a `χ` forged to 1 there.
    ForgedChi,
}

struct Case {
    shape: ZkClampShape,
    prover: Prover,
}

/// Inputs spread over `±2^(in_bits − 1)·1.5`, so both bounds clamp some entries (within the
/// input bound).
fn input(shape: &ZkClampShape) -> Vec<i64> {
    let span = 3i64 << (shape.clamp.in_bits - 2);
    (0..DIMS[0] * DIMS[1]).map(|i| ((i as i64 * 7919) % (2 * span + 1)) - span).collect()
}

fn clamp(shape: &ZkClampShape, x: &[i64]) -> Vec<i64> {
    x.iter().map(|&v| v.clamp(shape.clamp.lo, shape.clamp.hi)).collect()
}

impl Case {
    fn with(&self, prover: Prover) -> Self {
        Self { shape: self.shape.clone(), prover }
    }

    fn sym(&self) -> bool {
        self.shape.symmetric().unwrap()
    }

    fn run(&self, seed: u64) -> Run<Commit, ZkClampClaims> {
        let shape = &self.shape;
        let x0 = input(shape);
        let mut y = clamp(shape, &x0);
        assert!(y.contains(&shape.clamp.lo) && y.contains(&shape.clamp.hi), "both ends clamp");
        if self.prover == Prover::FalseY {
            let i = x0.iter().position(|&v| v > shape.clamp.lo && v < shape.clamp.hi).unwrap();
            y[i] += 1;
        }
        let s: Vec<i64> = x0.iter().zip(&y).map(|(&x, &y)| (x - y).abs()).collect();
        let t: Vec<i64> = y.iter().map(|v| v.abs()).collect();
        let mut tabs = [padded(&y, &DIMS), padded(&s, &DIMS), padded(&x0, &DIMS), padded(&t, &DIMS), padded(&vec![1; y.len()], &DIMS)];
        if self.prover == Prover::ForgedChi {
            // Symmetric: y = x = 5 (the clamp of 5 on the extent; the form's `(1 − χ)·y` term
            // forces y = 0 off it). Gaps: x = −200, y = lo = −100 (the gap `a = y − lo·χ` is 0 only
            // where χ = 1).
            let (xv, yv) = if self.sym() { (5, 5) } else { (-200, -100) };
            let v = |i: i64| zkinfer_field::from_i64_unchecked(i);
            tabs[0][PAD] = v(yv);
            tabs[1][PAD] = v((xv - yv).abs());
            tabs[2][PAD] = v(xv);
            tabs[3][PAD] = v(yv.abs());
            tabs[4][PAD] = F::ONE;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = zk_clamp_mask_shape(shape).unwrap();
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let [ty, ts, tx, tt, chi] = tabs;
        let com = Commit {
            y: Ideal::new(ty, true, &mut rng),
            s: Ideal::new(ts, true, &mut rng),
            t: Ideal::new(tt, true, &mut rng),
            x: Ideal::new(tx, true, &mut rng),
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut x = x0.clone();
        if self.prover == Prover::OtherX {
            x[7] += 1;
        }
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let zero = |_: &[EF]| EF::ZERO;
        let (cy, cs, ct, cx) = (cof(&com.y), cof(&com.s), cof(&com.t), cof(&com.x));
        let masks = if self.prover == Prover::Plain {
            ZkClampMasks { y: &zero, s: &zero, t: &zero, x: &zero }
        } else {
            ZkClampMasks { y: &cy, s: &cs, t: &ct, x: &cx }
        };
        let c = if self.prover == Prover::ForgedChi {
            let form = shape.form().unwrap();
            let mut tables = vec![com.y.table.clone(), com.s.table.clone(), com.x.table.clone(), chi];
            if self.sym() {
                tables.push(com.t.table.clone());
            }
            prove_with_tables(shape, form, tables, &masks, &mask, &mut t).expect("forged")
        } else {
            prove_clamp_zk(shape, &x, &y, &masks, &mask, &mut t).expect("prove")
        };
        let _ = (cy, cs, ct, cx); // the cofactors borrow `com`, returned below
        let mut plain = vec![mle(&com.y.table, &c.y.point), mle(&com.s.table, &c.s.point), mle(&com.x.table, &c.x.point)];
        if self.sym() {
            plain.push(mle(&com.t.table, &c.y.point));
        }
        Run { proof: t.into_proof(), com, claims: c, plain }
    }

    fn verify_rounds<'a>(&self, proof: &'a [u8], binding: &[F]) -> Result<(ZkClampClaims, VerifierTranscript<'a>), String> {
        let mut t = VerifierTranscript::new(&ds(), proof);
        t.absorb_public_fields("test/commitment", binding);
        let c = verify_clamp_zk(&self.shape, &mut t).map_err(|e| e.to_string())?;
        Ok((c, t))
    }
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkClampClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkClampClaims> {
        self.with(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkClampClaims, String> {
        let (c, t) = self.verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.x.hat(&c.x.point) == c.x.value, "x")?;
        open(com.y.hat(&c.y.point) == c.y.value, "y")?;
        open(com.s.hat(&c.s.point) == c.s.value, "s")?;
        if let Some(tc) = &c.t {
            open(com.t.hat(&tc.point) == tc.value, "t")?;
        }
        for (p, v) in &c.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkClampClaims) -> Vec<EF> {
        let mut v = vec![c.y.value, c.s.value, c.x.value];
        v.extend(c.t.as_ref().map(|t| t.value));
        v
    }

    /// The honest prover on the all-zero witness with fresh masks (module docs).
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let shape = &self.shape;
        let n = 1 << shape.num_vars();
        let fresh = |rng: &mut StdRng| Ideal::new(vec![F::ZERO; n], true, rng);
        let (y, s, tt, x) = (fresh(rng), fresh(rng), fresh(rng), fresh(rng));
        let ms = zk_clamp_mask_shape(shape).unwrap();
        let mut mask = SumcheckMask::sample(ms, rng).expect("mask");
        let mask_table = Ideal::new(mask.table().to_vec(), false, rng);
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let (cy, cs, ct, cx) = (cof(&y), cof(&s), cof(&tt), cof(&x));
        let masks = ZkClampMasks { y: &cy, s: &cs, t: &ct, x: &cx };
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let form = shape.form().unwrap();
        let mut tables = vec![vec![F::ZERO; n], vec![F::ZERO; n], vec![F::ZERO; n], padded(&vec![1; DIMS[0] * DIMS[1]], &DIMS)];
        if self.sym() {
            tables.push(vec![F::ZERO; n]);
        }
        prove_with_tables(shape, form, tables, &masks, &mask, &mut t).expect("simulate");
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = self.verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

/// The factor of `v(z_last)` in `i`'s randomised extension.
fn cof(i: &Ideal) -> impl Fn(&[EF]) -> EF + Sync + '_ {
    move |z: &[EF]| i.cofactor(z, z.len() - 1)
}

fn cases() -> [Case; 2] {
    [Case { shape: gap_shape(), prover: Prover::Honest }, Case { shape: sym_shape(), prover: Prover::Honest }]
}

#[test]
fn both_forms_are_the_public_ops() {
    assert!(!gap_shape().symmetric().unwrap());
    assert!(sym_shape().symmetric().unwrap());
}

#[test]
fn zk_clamps_verify_open_and_hide() {
    for (k, c) in cases().iter().enumerate() {
        honest_runs_verify_and_hide(c, [10 + 2 * k as u64, 11 + 2 * k as u64]);
    }
}

/// Both forms: a false output (caught by the sumcheck: the zero-check's sum is not 0), an `x`
/// other than the committed one (caught at its opening), the plain values (caught at the
/// openings), a padding entry valid only under a forged `χ` (caught by the public `χ` check
/// only), every flipped limb, a truncation; bad statements refused.
#[test]
fn tampered_zk_clamps_are_rejected() {
    for (k, case) in cases().iter().enumerate() {
        let s = 20 + 10 * k as u64;
        flipped_limbs_are_rejected(case, &case.run(s));
        let f = case.with(Prover::FalseY).run(s + 1);
        assert!(case.check(&f.proof, &f.com).expect_err("false y").contains("sumcheck"), "k = {k}");
        let o = case.with(Prover::OtherX).run(s + 2);
        assert_eq!(case.check(&o.proof, &o.com).expect_err("other x"), "x does not open");
        let p = case.with(Prover::Plain).run(s + 3);
        assert!(case.check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
        let c = case.with(Prover::ForgedChi).run(s + 4);
        assert!(case.check(&c.proof, &c.com).expect_err("forged χ").contains("extent indicator"), "k = {k}");
    }
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let bad = |dims: Vec<usize>, lo: i64, hi: i64, bits: u32| ZkClampShape { dims, clamp: ClampProof::new(lo, hi, bits) };
    // Refused for its shape, before reading anything (the transcript is empty).
    let verify_clamp_zk = |s: &ZkClampShape, t: &mut VerifierTranscript<'_>| verify_clamp_zk(s, t).map_err(|e| assert!(e.to_string().contains("shape"), "{e}"));
    assert!(verify_clamp_zk(&bad(vec![4, 4], -1, 1, 4), &mut t).is_err(), "4 variables");
    assert!(verify_clamp_zk(&bad(vec![3, 0], -1, 1, 4), &mut t).is_err(), "an empty dimension");
    assert!(verify_clamp_zk(&bad(vec![3, 40], 1, 5, 4), &mut t).is_err(), "lo > 0");
    assert!(verify_clamp_zk(&bad(vec![3, 40], -1, 1, 62), &mut t).is_err(), "62-bit inputs");
    let shape = gap_shape();
    let mut t = ProverTranscript::new(&ds());
    let mask = SumcheckMask::sample(zk_clamp_mask_shape(&shape).unwrap(), &mut StdRng::seed_from_u64(1)).unwrap();
    let z = |_: &[EF]| EF::ZERO;
    let m = ZkClampMasks { y: &z, s: &z, t: &z, x: &z };
    assert!(prove_clamp_zk(&shape, &[1, 2], &[1, 2], &m, &mask, &mut t).is_err(), "lengths");
    let big = vec![1 << 12; 120];
    assert!(prove_clamp_zk(&shape, &big, &big, &m, &mask, &mut t).is_err(), "input above its bound");
}

#[test]
fn simulated_zk_clamps_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(41);
    for (k, c) in cases().iter().enumerate() {
        simulated_proofs_match(c, 300, &mut rng, 17_000 + 1000 * k as u64, 24 + k as u64);
    }
}
