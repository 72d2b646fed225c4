//! Tests of the zk MatMul with an ideal hiding commitment: `x`, `w`, `b` each with a random mask
//! in its first four variables (`Vanishing::All`: `P̂ = P + Π_i v(z_i)·M(z_{<4})`), the output's
//! `R` table and the sumcheck mask table with their own masks (`Vanishing::Last`); every claim is
//! checked against it by direct evaluation.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_eval};
use zkinfer_sumcheck::SumcheckInstance;
use zkinfer_sumcheck::zk::{SumcheckMask, prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, output_coeff, vanish, vanish_all};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use zkinfer_sumcheck::zk_testkit::same_distribution;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-matmul-test", 1)
}

const SHAPE: ZkMatMulShape = ZkMatMulShape { t: 3, k: 40, n: 20, has_bias: true };
const NO_BIAS: ZkMatMulShape = ZkMatMulShape { t: 3, k: 40, n: 20, has_bias: false };

struct Operands {
    x: Vec<i64>,
    w: Vec<i64>,
    b: Vec<i64>,
}

fn operands(seed: u64) -> Operands {
    let v = |i: usize, s: u64| ((i as i64 * 7919 + s as i64 * 104_729) % 2001) - 1000;
    Operands {
        x: (0..SHAPE.t * SHAPE.k).map(|i| v(i, seed)).collect(),
        w: (0..SHAPE.n * SHAPE.k).map(|i| v(i, seed + 1)).collect(),
        b: (0..SHAPE.n).map(|i| v(i, seed + 2)).collect(),
    }
}

/// The padded table of a row-major `rows × cols` matrix (`[rowŝ, colŝ]`).
fn padded(m: &[i64], rows: usize, cols: usize) -> Vec<F> {
    let (rp, cp) = (rows.next_power_of_two(), cols.next_power_of_two());
    let mut out = vec![F::ZERO; rp * cp];
    for r in 0..rows {
        for c in 0..cols {
            out[r * cp + c] = from_i64_unchecked(m[r * cols + c]);
        }
    }
    out
}

fn mle(values: &[F], point: &[EF]) -> EF {
    Mle::new(values.to_vec()).evaluate(point)
}

/// `y = x·wᵀ + b`, padded `[T̂, N̂]`.
fn y_table(ops: &Operands, shape: &ZkMatMulShape) -> Vec<F> {
    let mut y = vec![0i64; shape.t * shape.n];
    for t in 0..shape.t {
        for n in 0..shape.n {
            let dot: i64 = (0..shape.k).map(|k| ops.x[t * shape.k + k] * ops.w[n * shape.k + k]).sum();
            y[t * shape.n + n] = dot + if shape.has_bias { ops.b[n] } else { 0 };
        }
    }
    padded(&y, shape.t, shape.n)
}

/// An ideal `Vanishing::All` commitment of one table.
struct IdealAll {
    table: Vec<F>,
    mask: Vec<EF>,
}

impl IdealAll {
    fn new(table: Vec<F>, rng: &mut StdRng) -> Self {
        Self { table, mask: (0..16).map(|_| rng.random()).collect() }
    }
    fn m(&self, z: &[EF]) -> EF {
        let mu = z.len().min(4);
        Mle::new(self.mask[..1 << mu].to_vec()).evaluate(&z[..mu])
    }
    fn hat(&self, z: &[EF]) -> EF {
        mle(&self.table, z) + vanish_all(z) * self.m(z)
    }
    /// The factor of `v(z_last)`.
    fn cofactor(&self, z: &[EF]) -> EF {
        vanish_all(&z[..z.len() - 1]) * self.m(z)
    }
}

/// An ideal `Vanishing::Last` commitment (mask tables).
struct IdealLast {
    table: Vec<F>,
    mask: Vec<EF>,
}

impl IdealLast {
    fn new(table: Vec<F>, rng: &mut StdRng) -> Self {
        Self { table, mask: (0..16).map(|_| rng.random()).collect() }
    }
    fn m(&self, z: &[EF]) -> EF {
        Mle::new(self.mask.clone()).evaluate(&z[..4])
    }
    fn hat(&self, z: &[EF]) -> EF {
        mle(&self.table, z) + vanish(z[z.len() - 1]) * self.m(z)
    }
}

struct Commit {
    x: IdealAll,
    w: IdealAll,
    b: IdealAll,
    r: IdealLast,
    vm: VirtualMask,
    mask_table: IdealLast,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// Runs on an `x` differing in one entry from the committed one (all else consistent).
    OtherX,
    /// Sends the plain values (zero masks: the sumcheck runs on the plain tables).
    Plain,
    /// Adds `ε` to one entry of the public eq table (the claim recomputed from its own tables).
    ForgedEq,
}

struct Run {
    proof: Vec<u8>,
    com: Commit,
    claims: ZkMatMulClaims,
    plain: Vec<EF>,
}

fn run(shape: &ZkMatMulShape, ops: &Operands, seed: u64, how: Prover) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_matmul_mask_shape(shape);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let com = Commit {
        x: IdealAll::new(padded(&ops.x, shape.t, shape.k), &mut rng),
        w: IdealAll::new(padded(&ops.w, shape.n, shape.k), &mut rng),
        b: IdealAll::new(padded(&ops.b, 1, shape.n), &mut rng),
        r: IdealLast::new(vm.table().to_vec(), &mut rng),
        mask_table: IdealLast::new(mask.table().to_vec(), &mut rng),
        vm,
        binding: (0..4).map(|_| rng.random()).collect(),
    };
    for j in 0..ms.num_rounds {
        mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
    }
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &com.binding);
    let point = t.challenge_exts(shape.tv() + shape.nv());
    // The prover's own x (OtherX: one entry off the committed one); the claim is computed from it,
    // so everything but the x opening is consistent.
    let mut x = ops.x.clone();
    if how == Prover::OtherX {
        x[5] += 1;
    }
    let y = y_table(&Operands { x: x.clone(), w: ops.w.clone(), b: ops.b.clone() }, shape);
    let mut plain = vec![mle(&y, &point)];
    let value = com.vm.hat(plain[0], &point);
    t.send_ext(value);
    let claim = Claim::new(point.clone(), value);
    let zero = |_: &[EF]| EF::ZERO;
    let (cx, cw, cb) = (|z: &[EF]| com.x.cofactor(z), |z: &[EF]| com.w.cofactor(z), |z: &[EF]| com.b.cofactor(z));
    let r_hat = |w: EF| com.vm.value(point[0], w) + vanish(w) * com.r.m(&com.vm.point(point[0], w));
    let plain_mode = how == Prover::Plain;
    let masks = ZkMatMulMasks {
        x: if plain_mode { &zero } else { &cx },
        w: if plain_mode { &zero } else { &cw },
        b: shape.has_bias.then_some(if plain_mode { &zero as &(dyn Fn(&[EF]) -> EF + Sync) } else { &cb }),
        r_hat: &r_hat,
    };
    let b = shape.has_bias.then_some(ops.b.as_slice());
    let claims = if how == Prover::ForgedEq {
        let mut tables = build_tables(shape, &x, &ops.w, b, &point);
        tables[2].evals[0] += EF::from_u64(17);
        let mut t2 = ProverTranscript::new(&ds());
        t2.absorb_public_fields("test/commitment", &com.binding);
        let _ = t2.challenge_exts(point.len());
        // The claim the forged tables prove: their own sum plus the mask part.
        let forged: EF = {
            let terms = shape.terms(&point[..shape.tv()]);
            let inner = ProductSumcheck::new(tables.clone(), terms, None);
            inner.claimed_sum() + (value - plain[0])
        };
        t2.send_ext(forged);
        let c = prove_with_tables(shape, tables, &Claim::new(point.clone(), forged), &masks, &mask, &mut t2).expect("forged proof");
        return Run { proof: t2.into_proof(), com, claims: c, plain };
    } else {
        prove_matmul_zk(shape, &x, &ops.w, b, &claim, &masks, &mask, &mut t).expect("prove")
    };
    plain.push(mle(&com.x.table, &claims.x.point));
    plain.push(mle(&com.w.table, &claims.w.point));
    if let Some(c) = &claims.b {
        plain.push(mle(&com.b.table, &c.point));
    }
    Run { proof: t.into_proof(), com, claims, plain }
}

/// Verifies: the claim, the zk MatMul, every claim against the ideal commitment.
fn check(shape: &ZkMatMulShape, proof: &[u8], com: &Commit) -> Result<ZkMatMulClaims, String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &com.binding);
    let point = t.challenge_exts(shape.tv() + shape.nv());
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_matmul_zk(shape, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
    open(com.x.hat(&c.x.point) == c.x.value, "x")?;
    open(com.w.hat(&c.w.point) == c.w.value, "w")?;
    if let Some(b) = &c.b {
        open(com.b.hat(&b.point) == b.value, "b")?;
    }
    let (a, w, v) = c.r;
    open(com.r.hat(&com.vm.point(a, w)) == v, "R")?;
    for (p, v) in &c.mask_claims {
        open(com.mask_table.hat(p) == *v, "mask")?;
    }
    Ok(c)
}

fn needle(v: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(v);
    t.into_proof()
}

#[test]
fn zk_matmuls_verify_open_and_hide() {
    let ops = operands(1);
    for shape in [SHAPE, NO_BIAS] {
        let (a, b) = (run(&shape, &ops, 10, Prover::Honest), run(&shape, &ops, 11, Prover::Honest));
        for r in [&a, &b] {
            let c = check(&shape, &r.proof, &r.com).expect("honest zk matmul");
            assert_eq!(c, r.claims);
            assert_eq!(c.b.is_some(), shape.has_bias);
            for &v in &r.plain {
                assert!(!r.proof.windows(24).any(|w| w == needle(v).as_slice()), "a plain value is sent");
            }
            for v in [c.x.value, c.w.value, c.r.2] {
                assert!(r.proof.windows(24).any(|w| w == needle(v).as_slice()), "the search finds a sent value");
            }
        }
        let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<HashSet<_>>();
        assert!(windows(&a.proof).is_disjoint(&windows(&b.proof)), "two zk matmuls share a 16-byte window");
    }
}

/// A claim off by one; an `x` other than the committed one (the `x` opening fails); the plain
/// values sent (the openings fail); a forged public eq table (only the eq check catches it: the
/// sumcheck and the openings of `x`, `w`, `b`, `R` pass); every flipped limb; a truncation;
/// shapes refused.
#[test]
fn tampered_zk_matmuls_are_rejected() {
    let ops = operands(2);
    let r = run(&SHAPE, &ops, 20, Prover::Honest);
    check(&SHAPE, &r.proof, &r.com).expect("control");
    let mut bad = r.proof.clone();
    let v = {
        let mut vt = VerifierTranscript::new(&ds(), &bad);
        vt.absorb_public_fields("test/commitment", &r.com.binding);
        let _ = vt.challenge_exts(SHAPE.tv() + SHAPE.nv());
        vt.receive_ext().expect("claim")
    };
    bad[..24].copy_from_slice(&needle(v + EF::ONE));
    assert!(check(&SHAPE, &bad, &r.com).is_err(), "claim off by one");
    let o = run(&SHAPE, &ops, 21, Prover::OtherX);
    let err = check(&SHAPE, &o.proof, &o.com).expect_err("other x");
    assert!(err.contains("x does not open"), "{err}");
    let p = run(&SHAPE, &ops, 22, Prover::Plain);
    let err = check(&SHAPE, &p.proof, &p.com).expect_err("plain values");
    assert!(err.contains("does not open") || err.contains("final"), "{err}");
    let f = run(&SHAPE, &ops, 23, Prover::ForgedEq);
    let err = check(&SHAPE, &f.proof, &f.com).expect_err("forged eq table");
    assert!(err.contains("eq table"), "{err}");
    for k in 1..r.proof.len() / 24 {
        for limb in 0..3 {
            let mut bad = r.proof.clone();
            bad[24 * k + 8 * limb] ^= 1;
            assert!(check(&SHAPE, &bad, &r.com).is_err(), "value {k} limb {limb}");
        }
    }
    assert!(check(&SHAPE, &r.proof[..r.proof.len() - 24], &r.com).is_err(), "truncated");
    let claim = Claim::new(vec![EF::from_u64(3); 7], EF::ONE);
    let mut t = VerifierTranscript::new(&ds(), &[]);
    for bad_shape in [
        ZkMatMulShape { t: 3, k: 16, n: 20, has_bias: false }, // 4 sumcheck variables
        ZkMatMulShape { t: 3, k: 40, n: 8, has_bias: true },  // a 3-variable bias
        ZkMatMulShape { t: 0, k: 40, n: 20, has_bias: false },
    ] {
        assert!(verify_matmul_zk(&bad_shape, &claim, &mut t).is_err());
    }
    assert!(verify_matmul_zk(&SHAPE, &Claim::new(vec![EF::ONE; 6], EF::ONE), &mut t).is_err(), "claim dimension");
}

/// The simulator (no operands, no masks): the claim uniform, a masked sumcheck of a random
/// instance with it, then `B̂`, `b̂`, `R̂` uniform, the public eq value computed, `Â` solved from
/// the final equation. Its proofs pass the verifier, and every sent limb matches the honest
/// prover's low-bit distribution over 300 runs; a prover reusing its randomness is detected.
fn simulate(shape: &ZkMatMulShape, rng: &mut StdRng) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
    let point = t.challenge_exts(shape.tv() + shape.nv());
    let value: EF = rng.random();
    t.send_ext(value);
    let ns = shape.num_vars();
    let ms = zk_matmul_mask_shape(shape);
    let mut inst = random_instance(ns, ms.degree, value, rng);
    let mask = SumcheckMask::sample(ms, rng).expect("mask");
    let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
    let rho = &out.inner.point;
    let terms = shape.terms(&point[..shape.tv()]);
    let e: EF = rng.random();
    let c = output_coeff(&point, ns);
    let (bw, bb): (EF, EF) = (rng.random(), rng.random());
    let eqv = eq_eval(&point[shape.tv()..], &rho[ns - shape.nv()..]);
    let bias_part = if shape.has_bias { terms[1].0 * eqv * bb } else { EF::ZERO };
    let a = (out.inner.final_evals[0][0] - c * e - bias_part) * (terms[0].0 * bw).inverse();
    let mut values = vec![a, bw];
    if shape.has_bias {
        values.extend([eqv, bb]);
    }
    t.send_exts(&values);
    t.send_ext(e);
    t.into_proof()
}

#[test]
fn simulated_zk_matmuls_pass_and_match_the_honest_distribution() {
    let ops = operands(3);
    let runs = 300;
    let mut rng = StdRng::seed_from_u64(5);
    let (mut real, mut sim, mut reused) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        real.push(run(&SHAPE, &ops, 1000 + i, Prover::Honest).proof);
        reused.push(run(&SHAPE, &ops, 4, Prover::Honest).proof);
        let proof = simulate(&SHAPE, &mut rng);
        let mut t = VerifierTranscript::new(&ds(), &proof);
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(SHAPE.tv() + SHAPE.nv());
        let value = t.receive_ext().expect("claim");
        verify_matmul_zk(&SHAPE, &Claim::new(point, value), &mut t).expect("a simulated proof verifies");
        t.finish().expect("consumed");
        sim.push(proof);
    }
    same_distribution(&real, &sim).expect("honest and simulated proofs look alike");
    assert!(same_distribution(&real, &reused).is_err(), "reused randomness must be detected");
}
