//! The zk MatMul composed with the real hiding commitment (issue 13): `x`, `w`, `b` (dense, as
//! one-block sparse polynomials, `Vanishing::All`), the output's `R` table and the sumcheck's
//! mask table (`Vanishing::Last`) in ONE hiding batch (`zkinfer_pcs::hiding::sparse`), the
//! MatMul's masked sumcheck run against that batch's masks, and every claim — operands, `R`, mask
//! rounds — proven by the one hiding opening. Checks: it verifies; no plain value of `y`, `x`,
//! `w` or `b` at a claimed point is in the proof; two runs share no 16-byte window outside
//! bincode's framing; a flipped byte anywhere after the claim, a claim off by one, and an `x`
//! other than the committed one are rejected.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_ops::context::Claim;
use zkinfer_ops::zk_matmul::{ZkMatMulMasks, ZkMatMulShape, prove_matmul_zk, verify_matmul_zk, zk_matmul_mask_shape};
use zkinfer_pcs::hiding::sparse::{HidingSparseLayout, commit, open, verify};
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, Vanishing};
use zkinfer_pcs::{OpeningClaim, SparsePoly};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::zk::SumcheckMask;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, r_point, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

const SHAPE: ZkMatMulShape = ZkMatMulShape { t: 3, k: 40, n: 20, has_bias: true };
const EXTRA_VANISHING: [Vanishing; 2] = [Vanishing::Last, Vanishing::Last];

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-matmul-hiding-test", 1)
}

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
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

struct Operands {
    x: Vec<i64>,
    w: Vec<i64>,
    b: Vec<i64>,
}

fn operands() -> Operands {
    let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 2001) - 1000;
    Operands {
        x: (0..SHAPE.t * SHAPE.k).map(|i| v(i, 1)).collect(),
        w: (0..SHAPE.n * SHAPE.k).map(|i| v(i, 2)).collect(),
        b: (0..SHAPE.n).map(|i| v(i, 3)).collect(),
    }
}

fn y_table(o: &Operands) -> Vec<F> {
    let mut y = vec![0i64; SHAPE.t * SHAPE.n];
    for t in 0..SHAPE.t {
        for n in 0..SHAPE.n {
            y[t * SHAPE.n + n] = (0..SHAPE.k).map(|k| o.x[t * SHAPE.k + k] * o.w[n * SHAPE.k + k]).sum::<i64>() + o.b[n];
        }
    }
    padded(&y, SHAPE.t, SHAPE.n)
}

fn layout(mask_vars: usize) -> HidingSparseLayout {
    let (tv, kv, nv) = (vars(SHAPE.t), vars(SHAPE.k), vars(SHAPE.n));
    HidingSparseLayout::new(vec![SparsePoly::dense(tv + kv), SparsePoly::dense(nv + kv), SparsePoly::dense(nv)], vec![5, mask_vars]).expect("layout")
}

struct Run {
    com: HidingCommitment,
    proof: Vec<u8>,
    plain: Vec<EF>,
}

/// One proof: commit, claim on `ŷ`, zk MatMul, the one hiding opening. With `other_x` the prover
/// runs the MatMul (and computes the claim) on an `x` one entry off the committed one.
fn run(seed: u64, other_x: bool) -> Run {
    let o = operands();
    let pcs = HidingPcs::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_matmul_mask_shape(&SHAPE);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let lay = layout(ms.num_vars());
    let tables = [padded(&o.x, SHAPE.t, SHAPE.k), padded(&o.w, SHAPE.n, SHAPE.k), padded(&o.b, 1, SHAPE.n)];
    let (com, data) = commit(
        &pcs,
        &lay,
        &tables.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &[vm.table(), mask.table()],
        &EXTRA_VANISHING,
        &mut rng,
    )
    .expect("commit");
    let (r_idx, m_idx) = (lay.extra_index(0), lay.extra_index(1));
    for j in 0..ms.num_rounds {
        mask.add_vanishing_term(j, data.mask_value(m_idx, &ms.claim_point(j, EF::ZERO)).expect("mask value")).expect("fold");
    }
    let mut t = ProverTranscript::new(&ds());
    pcs.absorb_commitment(&com, &mut t);
    let point = t.challenge_exts(vars(SHAPE.t) + vars(SHAPE.n));
    let mut x = o.x.clone();
    if other_x {
        x[7] += 1;
    }
    let y = y_table(&Operands { x: x.clone(), w: o.w.clone(), b: o.b.clone() });
    let y_plain = Mle::new(y).evaluate(&point);
    let value = vm.hat(y_plain, &point);
    t.send_ext(value);
    let (dref, lref) = (&data, &lay);
    let cof = |k: usize| move |z: &[EF]| dref.mask_value(lref.block_index(k, 0), z).expect("cofactor");
    let (cx, cw, cb) = (cof(0), cof(1), cof(2));
    let r0 = point[0];
    let r_hat = |w: EF| vm.value(r0, w) + vanish(w) * data.mask_value(r_idx, &vm.point(r0, w)).expect("R mask");
    let masks = ZkMatMulMasks { x: &cx, w: &cw, b: Some(&cb), r_hat: &r_hat };
    let c = prove_matmul_zk(&SHAPE, &x, &o.w, Some(&o.b), &Claim::new(point.clone(), value), &masks, &mask, &mut t).expect("prove");
    let b_claim = c.b.clone().expect("bias claim");
    let plain = vec![
        y_plain,
        Mle::new(tables[0].clone()).evaluate(&c.x.point),
        Mle::new(tables[1].clone()).evaluate(&c.w.point),
        Mle::new(tables[2].clone()).evaluate(&b_claim.point),
    ];
    let sparse = vec![
        OpeningClaim { poly: 0, point: c.x.point.clone(), value: c.x.value },
        OpeningClaim { poly: 1, point: c.w.point.clone(), value: c.w.value },
        OpeningClaim { poly: 2, point: b_claim.point.clone(), value: b_claim.value },
    ];
    let mut extra = vec![OpeningClaim { poly: 0, point: vm.point(c.r.0, c.r.1), value: c.r.2 }];
    extra.extend(c.mask_claims.iter().map(|(p, v)| OpeningClaim { poly: 1, point: p.clone(), value: *v }));
    if other_x {
        // The honest opener refuses (its block values, from the commitment, do not recombine to
        // the claim on x); a malicious one sends the claims as the (single) block values and runs
        // the hiding opening on them.
        let mut all = Vec::new();
        for c in &sparse {
            t.send_exts(&[c.value]);
            all.push(OpeningClaim { poly: lay.block_index(c.poly, 0), point: c.point.clone(), value: c.value });
        }
        all.extend(extra.iter().map(|c| OpeningClaim { poly: lay.extra_index(c.poly), point: c.point.clone(), value: c.value }));
        let _ = pcs.open(data, &all, &mut t, &mut rng);
    } else {
        open(&pcs, &lay, &EXTRA_VANISHING, data, &sparse, &extra, &mut t, &mut rng).expect("open");
    }
    Run { com, proof: t.into_proof(), plain }
}

fn check(com: &HidingCommitment, proof: &[u8]) -> Result<(), String> {
    let pcs = HidingPcs::default();
    let ms = zk_matmul_mask_shape(&SHAPE);
    let lay = layout(ms.num_vars());
    let mut t = VerifierTranscript::new(&ds(), proof);
    pcs.absorb_commitment(com, &mut t);
    let point = t.challenge_exts(vars(SHAPE.t) + vars(SHAPE.n));
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_matmul_zk(&SHAPE, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    let b = c.b.ok_or("no bias claim")?;
    let sparse = vec![
        OpeningClaim { poly: 0, point: c.x.point, value: c.x.value },
        OpeningClaim { poly: 1, point: c.w.point, value: c.w.value },
        OpeningClaim { poly: 2, point: b.point, value: b.value },
    ];
    let mut extra = vec![OpeningClaim { poly: 0, point: r_point(2, c.r.0, c.r.1), value: c.r.2 }];
    extra.extend(c.mask_claims.into_iter().map(|(p, v)| OpeningClaim { poly: 1, point: p, value: v }));
    verify(&pcs, &lay, &EXTRA_VANISHING, com, &sparse, &extra, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

fn needle(v: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(v);
    t.into_proof()
}

#[test]
fn zk_matmul_with_every_mask_in_one_hiding_commitment() {
    let (a, b) = (run(1, false), run(2, false));
    for r in [&a, &b] {
        check(&r.com, &r.proof).expect("the composed zk MatMul verifies");
        for &v in &r.plain {
            assert!(!r.proof.windows(24).any(|w| w == needle(v).as_slice()), "a plain value is in the proof");
        }
    }
    let windows = |p: &[u8]| p.windows(16).map(|w| u128::from_le_bytes(w.try_into().expect("16"))).collect::<HashSet<u128>>();
    let (wa, wb) = (windows(&a.proof), windows(&b.proof));
    let framing = |w: &u128| w.to_le_bytes().iter().filter(|&&b| b == 0).count() >= 10;
    let common = wa.intersection(&wb).filter(|w| !framing(w)).count();
    eprintln!("composed zk MatMul proof: {} bytes", a.proof.len());
    assert_eq!(common, 0, "two runs share 16-byte windows outside the framing");
    assert!(wa.iter().filter(|w| !framing(w)).count() > 1000, "the check can fail");

    // Tampering: the claim off by one; a byte flipped in the MatMul's part, in the block values,
    // and deep in the opening; an x other than the committed one.
    let mut bad = a.proof.clone();
    bad[0] ^= 1;
    assert!(check(&a.com, &bad).is_err(), "claim flipped");
    for pos in [30, 24 * 20 + 3, 24 * 60 + 9, a.proof.len() / 2, a.proof.len() - 40] {
        let mut bad = a.proof.clone();
        bad[pos] ^= 0x10;
        assert!(check(&a.com, &bad).is_err(), "byte {pos} flipped");
    }
    let o = run(3, true);
    let err = check(&o.com, &o.proof).expect_err("an x other than the committed one");
    eprintln!("other x: {err}");
}
