//! Tests of the zk MatMul with an ideal hiding commitment (`crate::zk_testkit::Ideal`, the real
//! mask layout): `x`, `w`, `b` with `Vanishing::All` masks, the output's `R` table and the
//! sumcheck mask table with `Vanishing::Last` masks; every claim is checked against it by direct
//! evaluation. The shared checks are `crate::zk_testkit`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_sumcheck::SumcheckInstance;
use zkinfer_sumcheck::zk::SumcheckMask;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

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

/// `y = x·wᵀ + b`, padded `[T̂, N̂]`.
fn y_table(ops: &Operands, shape: &ZkMatMulShape) -> Vec<F> {
    let mut y = vec![0i64; shape.t * shape.n];
    for t in 0..shape.t {
        for n in 0..shape.n {
            let dot: i64 = (0..shape.k).map(|k| ops.x[t * shape.k + k] * ops.w[n * shape.k + k]).sum();
            y[t * shape.n + n] = dot + if shape.has_bias { ops.b[n] } else { 0 };
        }
    }
    padded(&y, &[shape.t, shape.n])
}

struct Commit {
    x: Ideal,
    w: Ideal,
    b: Ideal,
    r: Ideal,
    vm: VirtualMask,
    mask_table: Ideal,
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

fn run(shape: &ZkMatMulShape, ops: &Operands, seed: u64, how: Prover) -> Run<Commit, ZkMatMulClaims> {
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_matmul_mask_shape(shape);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let com = Commit {
        x: Ideal::new(padded(&ops.x, &[shape.t, shape.k]), true, &mut rng),
        w: Ideal::new(padded(&ops.w, &[shape.n, shape.k]), true, &mut rng),
        b: Ideal::new(padded(&ops.b, &[shape.n]), true, &mut rng),
        r: Ideal::new(vm.table().to_vec(), false, &mut rng),
        mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
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
    let (cx, cw, cb) = (|z: &[EF]| com.x.cofactor(z, z.len() - 1), |z: &[EF]| com.w.cofactor(z, z.len() - 1), |z: &[EF]| com.b.cofactor(z, z.len() - 1));
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
    let (c, t) = verify_rounds(shape, proof, &com.binding)?;
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

/// The zk MatMul of one shape under the shared checks.
struct Case {
    shape: ZkMatMulShape,
    ops: Operands,
}

/// Draws the claim point and reads the claim (both sides' prologue), then the verifier.
fn verify_rounds<'a>(shape: &ZkMatMulShape, proof: &'a [u8], binding: &[F]) -> Result<(ZkMatMulClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let point = t.challenge_exts(shape.tv() + shape.nv());
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_matmul_zk(shape, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkMatMulClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkMatMulClaims> {
        run(&self.shape, &self.ops, seed, Prover::Honest)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkMatMulClaims, String> {
        check(&self.shape, proof, com)
    }

    fn sent(&self, c: &ZkMatMulClaims) -> Vec<EF> {
        let mut v = vec![c.x.value, c.w.value, c.r.2];
        v.extend(c.b.iter().map(|b| b.value));
        v
    }

    /// The simulator (no operands, no masks): the claim uniform, then `simulate_matmul_zk`.
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(self.shape.tv() + self.shape.nv());
        let value: EF = rng.random();
        t.send_ext(value);
        simulate_matmul_zk(&self.shape, &Claim::new(point, value), &mut t, rng);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(&self.shape, proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_matmuls_verify_open_and_hide() {
    for shape in [SHAPE, NO_BIAS] {
        let case = Case { shape, ops: operands(1) };
        honest_runs_verify_and_hide(&case, [10, 11]);
        assert_eq!(case.honest(12).claims.b.is_some(), shape.has_bias);
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
    flipped_limbs_are_rejected(&Case { shape: SHAPE, ops: operands(2) }, &r);
    let mut bad = r.proof.clone();
    let mut vt = VerifierTranscript::new(&ds(), &r.proof);
    vt.absorb_public_fields("test/commitment", &r.com.binding);
    let _ = vt.challenge_exts(SHAPE.tv() + SHAPE.nv());
    let v = vt.receive_ext().expect("claim");
    bad[..24].copy_from_slice(&crate::zk_testkit::needle(v + EF::ONE));
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
    let claim = Claim::new(vec![EF::from_u64(3); 7], EF::ONE);
    let mut t = VerifierTranscript::new(&ds(), &[]);
    for (bad_shape, what) in [
        (ZkMatMulShape { t: 3, k: 16, n: 20, has_bias: false }, "shape: a zk MatMul needs ≥ 5 variables"), // 4 sumcheck variables
        (ZkMatMulShape { t: 3, k: 40, n: 8, has_bias: true }, "shape: a zk MatMul needs ≥ 5 variables"),   // a 3-variable bias
        (ZkMatMulShape { t: 0, k: 40, n: 20, has_bias: false }, "shape: empty dimension"),
    ] {
        assert_refused(verify_matmul_zk(&bad_shape, &claim, &mut t), what);
    }
    assert_refused(verify_matmul_zk(&SHAPE, &Claim::new(vec![EF::ONE; 6], EF::ONE), &mut t), "shape: claim point dimension");
}

/// Simulated proofs pass the verifier, and every sent limb matches the honest prover's low-bit
/// distribution over 300 runs; a prover reusing its randomness is detected.
#[test]
fn simulated_zk_matmuls_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(5);
    simulated_proofs_match(&Case { shape: SHAPE, ops: operands(3) }, 300, &mut rng, 1000, 4);
}
