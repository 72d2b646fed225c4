//! The zk Rescale composed with the zk MatMul that produces its input and the REAL hiding
//! commitment (issue 13): `x_in`, `w`, `b`, `y`, `r` (`Vanishing::All`, dense), the MatMul's `R`
//! table and sumcheck mask table (`Vanishing::Last`) in ONE `HidingPcs` batch committed with
//! `commit_with_masks`: `y`'s mask sampled, `r`'s tied to it and to `R` (`tied_remainder_mask`, mask
//! degree bits 2), every claim proven by the one hiding opening. Checks: it verifies; no plain
//! `y(z)`, `r(z)`, `x(z)` or operand value is in the proof; two runs share no 16-byte window
//! outside bincode's framing; an untied `r` mask is rejected (by the MatMul: the failing control of
//! the tie on the real layout), the plain `y(z)` with a compensating `r̂` is rejected at the
//! opening, and flipped bytes are rejected.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_ops::zk_matmul::{ZkMatMulMasks, ZkMatMulShape, prove_matmul_zk, verify_matmul_zk, zk_matmul_mask_shape};
use zkinfer_ops::zk_rescale::{ZkRescaleShape, mask_table_len, prove_rescale_zk, tied_remainder_mask, verify_rescale_zk};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, MASK_VARS, Vanishing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::zk::SumcheckMask;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, r_point, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

const MM: ZkMatMulShape = ZkMatMulShape { t: 3, k: 40, n: 20, has_bias: true };
const SHIFT: i32 = 20;
// Batch order.
const X_IN: usize = 0;
const W: usize = 1;
const B: usize = 2;
const Y: usize = 3;
const R: usize = 4;
const R_TABLE: usize = 5;
const MASK: usize = 6;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-rescale-hiding-test", 1)
}

fn rescale() -> ZkRescaleShape {
    ZkRescaleShape { dims: vec![MM.t, MM.n], shift: SHIFT }
}

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

/// `[x_in, w, b, x = x_in·wᵀ + b, y, r]`.
fn tensors() -> [Vec<i64>; 6] {
    let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 2001) - 1000;
    let x_in: Vec<i64> = (0..MM.t * MM.k).map(|i| v(i, 1)).collect();
    let w: Vec<i64> = (0..MM.n * MM.k).map(|i| v(i, 2)).collect();
    let b: Vec<i64> = (0..MM.n).map(|i| v(i, 3)).collect();
    let x: Vec<i64> = (0..MM.t * MM.n)
        .map(|i| {
            let (t, n) = (i / MM.n, i % MM.n);
            (0..MM.k).map(|k| x_in[t * MM.k + k] * w[n * MM.k + k]).sum::<i64>() + b[n]
        })
        .collect();
    let y: Vec<i64> = x.iter().map(|&v| zkinfer_graph::ops::rescale::rescale_value(v, SHIFT)).collect();
    let r = x.iter().zip(&y).map(|(&x, &y)| x + (1 << (SHIFT - 1)) - (y << SHIFT)).collect();
    [x_in, w, b, x, y, r]
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    Untied,
    PlainY,
}

struct Run {
    com: HidingCommitment,
    proof: Vec<u8>,
    plain: Vec<EF>,
}

fn run(seed: u64, how: Prover) -> Run {
    let [x_in, w, b, x, y, r] = tensors();
    let pcs = HidingPcs::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_matmul_mask_shape(&MM);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let tables = [
        padded(&x_in, MM.t, MM.k),
        padded(&w, MM.n, MM.k),
        padded(&b, 1, MM.n),
        padded(&y, MM.t, MM.n),
        padded(&r, MM.t, MM.n),
        vm.table().to_vec(),
        mask.table().to_vec(),
    ];
    let mu = |k: usize| (tables[k].len().trailing_zeros() as usize).min(MASK_VARS);
    let mut masks: Vec<Vec<F>> = (0..tables.len()).map(|k| (0..mask_table_len(mu(k), 1)).map(|_| rng.random()).collect()).collect();
    let mut a = vec![1usize; tables.len()];
    if how == Prover::Untied {
        a[R] = vm.degree_bits();
        masks[R] = (0..mask_table_len(mu(R), a[R])).map(|_| rng.random()).collect();
    } else {
        let tied = tied_remainder_mask(&vm, &masks[Y], 1, mu(Y), SHIFT as u32).expect("tie");
        a[R] = tied.degree_bits;
        masks[R] = tied.table;
    }
    let vanishing = [Vanishing::All, Vanishing::All, Vanishing::All, Vanishing::All, Vanishing::All, Vanishing::Last, Vanishing::Last];
    let (com, data) = pcs
        .commit_with_masks(
            &tables.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            &vanishing,
            &masks.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            &a,
            &mut rng,
        )
        .expect("commit");
    for j in 0..ms.num_rounds {
        mask.add_vanishing_term(j, data.mask_value(MASK, &ms.claim_point(j, EF::ZERO)).expect("mask value")).expect("fold");
    }
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let dref = &data;
    let eval = |k: usize| move |z: &[EF]| dref.evaluate(k, z).expect("evaluate");
    let y_plain = |z: &[EF]| Mle::new(tables[Y].clone()).evaluate(z);
    let pow_s = EF::TWO.exp_u64(SHIFT as u64);
    let r_comp = |z: &[EF]| dref.evaluate(R, z).expect("r") + pow_s * (dref.evaluate(Y, z).expect("y") - y_plain(z));
    let (ey, er) = (eval(Y), eval(R));
    let rc = if how == Prover::PlainY { prove_rescale_zk(&rescale(), &y_plain, &r_comp, &mut t) } else { prove_rescale_zk(&rescale(), &ey, &er, &mut t) }
        .expect("rescale");
    let z = rc.x.point.clone();
    let cof = |k: usize| move |p: &[EF]| dref.mask_value(k, p).expect("cofactor");
    let (cx, cw, cb) = (cof(X_IN), cof(W), cof(B));
    let rh = |wv: EF| vm.value(z[0], wv) + vanish(wv) * dref.mask_value(R_TABLE, &vm.point(z[0], wv)).expect("R mask");
    let masks = ZkMatMulMasks { x: &cx, w: &cw, b: Some(&cb), r_hat: &rh };
    let mc = prove_matmul_zk(&MM, &x_in, &w, Some(&b), &rc.x, &masks, &mask, &mut t).expect("matmul");
    let bc = mc.b.clone().expect("bias");
    let plain = vec![
        Mle::new(tables[R].clone()).evaluate(&z),
        Mle::new(padded(&x, MM.t, MM.n)).evaluate(&z),
        Mle::new(tables[X_IN].clone()).evaluate(&mc.x.point),
        Mle::new(tables[W].clone()).evaluate(&mc.w.point),
        Mle::new(tables[B].clone()).evaluate(&bc.point),
    ];
    let mut claims = vec![
        OpeningClaim { poly: Y, point: rc.y.point.clone(), value: rc.y.value },
        OpeningClaim { poly: R, point: rc.r.point.clone(), value: rc.r.value },
        OpeningClaim { poly: X_IN, point: mc.x.point.clone(), value: mc.x.value },
        OpeningClaim { poly: W, point: mc.w.point.clone(), value: mc.w.value },
        OpeningClaim { poly: B, point: bc.point.clone(), value: bc.value },
        OpeningClaim { poly: R_TABLE, point: vm.point(mc.r.0, mc.r.1), value: mc.r.2 },
    ];
    claims.extend(mc.mask_claims.iter().map(|(p, v)| OpeningClaim { poly: MASK, point: p.clone(), value: *v }));
    // The honest opener would refuse the PlainY claim on y (not the committed ŷ); run p3's opening
    // on it anyway, as a malicious prover would.
    let opened = pcs.open(data, &claims, &mut t, &mut rng);
    if how == Prover::Honest {
        opened.expect("open");
    }
    let mut plain = plain;
    if how != Prover::PlainY {
        plain.push(y_plain(&z));
    }
    Run { com, proof: t.into_proof(), plain }
}

/// The verifier; `Err` names the step that failed.
fn check(com: &HidingCommitment, proof: &[u8]) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    let rc = verify_rescale_zk(&rescale(), &mut t).map_err(|e| e.to_string())?;
    let mc = verify_matmul_zk(&MM, &rc.x, &mut t).map_err(|e| e.to_string())?;
    let bc = mc.b.ok_or("no bias claim")?;
    let mut claims = vec![
        OpeningClaim { poly: Y, point: rc.y.point, value: rc.y.value },
        OpeningClaim { poly: R, point: rc.r.point, value: rc.r.value },
        OpeningClaim { poly: X_IN, point: mc.x.point, value: mc.x.value },
        OpeningClaim { poly: W, point: mc.w.point, value: mc.w.value },
        OpeningClaim { poly: B, point: bc.point, value: bc.value },
        OpeningClaim { poly: R_TABLE, point: r_point(2, mc.r.0, mc.r.1), value: mc.r.2 },
    ];
    claims.extend(mc.mask_claims.into_iter().map(|(p, v)| OpeningClaim { poly: MASK, point: p, value: v }));
    pcs.verify(com, &claims, &mut t).map_err(|e| format!("opening: {e}"))?;
    t.finish().map_err(|e| e.to_string())
}

fn needle(v: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(v);
    t.into_proof()
}

#[test]
fn zk_rescale_with_a_tied_mask_in_the_real_hiding_commitment() {
    let (a, b) = (run(1, Prover::Honest), run(2, Prover::Honest));
    for r in [&a, &b] {
        check(&r.com, &r.proof).expect("the composed zk Rescale verifies");
        assert_eq!(r.plain.len(), 6);
        for &v in &r.plain {
            assert!(!r.proof.windows(24).any(|w| w == needle(v).as_slice()), "a plain value is in the proof");
        }
    }
    let windows = |p: &[u8]| p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16"))).collect::<HashSet<u128>>();
    let (wa, wb) = (windows(&a.proof), windows(&b.proof));
    let framing = |w: &u128| w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10;
    let common = wa.intersection(&wb).filter(|w| !framing(w)).count();
    eprintln!("composed zk MatMul → Rescale proof: {} bytes", a.proof.len());
    assert_eq!(common, 0, "two runs share 16-byte windows outside the framing");
    assert!(wa.iter().filter(|w| !framing(w)).count() > 1000, "the check can fail");

    let u = run(3, Prover::Untied);
    let err = check(&u.com, &u.proof).expect_err("an untied r mask");
    assert!(err.contains("MatMul"), "{err}");
    let p = run(4, Prover::PlainY);
    let err = check(&p.com, &p.proof).expect_err("the plain y(z) with a compensating r̂");
    assert!(err.starts_with("opening"), "{err}");
    for pos in [3, 30, 24 * 20 + 3, a.proof.len() / 2, a.proof.len() - 40] {
        let mut bad = a.proof.clone();
        bad[pos] ^= 0x10;
        assert!(check(&a.com, &bad).is_err(), "byte {pos} flipped");
    }
}
