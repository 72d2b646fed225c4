//! Tests of the zk Rescale composed with the zk MatMul that produces its input, with an ideal
//! hiding commitment in the real mask layout (`crate::zk_testkit::Ideal`): `x_in`, `w`, `b`,
//! `y`, `r` (`Vanishing::All`; `r`'s mask tied by [`tied_remainder_mask`]), the MatMul's `R` table
//! and sumcheck mask table (`Vanishing::Last`). The chain: the rescale draws `z`, sends `ŷ(z)`,
//! `r̂(z)`; the derived claim `x̂(z)` is discharged by the zk MatMul; every claim is opened.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{BasedVectorSpace, EF, F, Field, PrimeCharacteristicRing};
use zkinfer_pcs::hiding::mask_table_point;
use zkinfer_sumcheck::zk::SumcheckMask;
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish, vanish_all};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_matmul::{ZkMatMulClaims, ZkMatMulMasks, ZkMatMulShape, prove_matmul_zk, simulate_matmul_zk, verify_matmul_zk, zk_matmul_mask_shape};
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, sends, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-rescale-test", 1)
}

const MM: ZkMatMulShape = ZkMatMulShape { t: 3, k: 40, n: 20, has_bias: true };

/// The MatMul's output (the rescale's input) and the rescale's tensors.
struct Tensors {
    x_in: Vec<i64>,
    w: Vec<i64>,
    b: Vec<i64>,
    /// `x = x_in·wᵀ + b`, `[3, 20]`.
    x: Vec<i64>,
    y: Vec<i64>,
    r: Vec<i64>,
}

fn tensors(shift: i32) -> Tensors {
    let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 2001) - 1000;
    let x_in: Vec<i64> = (0..MM.t * MM.k).map(|i| v(i, 1)).collect();
    let w: Vec<i64> = (0..MM.n * MM.k).map(|i| v(i, 2)).collect();
    let b: Vec<i64> = (0..MM.n).map(|i| v(i, 3)).collect();
    let mut x = vec![0i64; MM.t * MM.n];
    for t in 0..MM.t {
        for n in 0..MM.n {
            x[t * MM.n + n] = (0..MM.k).map(|k| x_in[t * MM.k + k] * w[n * MM.k + k]).sum::<i64>() + b[n];
        }
    }
    let y: Vec<i64> = x.iter().map(|&v| zkinfer_graph::ops::rescale::rescale_value(v, shift)).collect();
    let r = x.iter().zip(&y).map(|(&x, &y)| x + (1 << (shift - 1)) - (y << shift)).collect();
    Tensors { x_in, w, b, x, y, r }
}

fn rescale_shape(shift: i32) -> ZkRescaleShape {
    ZkRescaleShape { dims: vec![MM.t, MM.n], shift }
}

struct Commit {
    x_in: Ideal,
    w: Ideal,
    b: Ideal,
    y: Ideal,
    r: Ideal,
    r_table: Ideal,
    vm: VirtualMask,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// `r` committed with an independent uniform mask (no tie): everything else honest.
    Untied,
    /// `y` committed with one entry +1 (`r` unchanged: the relation is false there).
    BumpY,
    /// `r` committed with one entry +1.
    BumpR,
    /// Sends the plain `y(z)` and `r̂(z) + 2^s·(ŷ(z) − y(z))`, so the derived claim is right.
    PlainY,
}

type Claims = (ZkRescaleClaims, ZkMatMulClaims);

struct Chain {
    shift: i32,
    how: Prover,
}

impl Chain {
    fn run(&self, seed: u64) -> Run<Commit, Claims> {
        let (shift, how) = (self.shift, self.how);
        let rs = rescale_shape(shift);
        let tn = tensors(shift);
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = zk_matmul_mask_shape(&MM);
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let vm = VirtualMask::sample(&mut rng);
        let dims = [MM.t, MM.n];
        let (mut y, mut r) = (tn.y.clone(), tn.r.clone());
        match how {
            Prover::BumpY => y[7] += 1,
            Prover::BumpR => r[7] += 1,
            _ => {}
        }
        let y_com = Ideal::new(padded(&y, &dims), true, &mut rng);
        let r_com = if how == Prover::Untied {
            let a = vm.degree_bits();
            let m: Vec<F> = (0..mask_table_len(4, a)).map(|_| rng.random()).collect();
            Ideal::with_mask(padded(&r, &dims), true, m, a)
        } else {
            let tied = tied_remainder_mask(&vm, &y_com.mask, y_com.a, y_com.mu(), shift as u32).expect("tie");
            Ideal::with_mask(padded(&r, &dims), true, tied.table, tied.degree_bits)
        };
        let com = Commit {
            x_in: Ideal::new(padded(&tn.x_in, &[MM.t, MM.k]), true, &mut rng),
            w: Ideal::new(padded(&tn.w, &[MM.n, MM.k]), true, &mut rng),
            b: Ideal::new(padded(&tn.b, &[MM.n]), true, &mut rng),
            y: y_com,
            r: r_com,
            r_table: Ideal::new(vm.table().to_vec(), false, &mut rng),
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            vm,
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let y_plain = |z: &[EF]| mle(&com.y.table, z);
        let y_hat = |z: &[EF]| com.y.hat(z);
        let r_hat = |z: &[EF]| com.r.hat(z);
        let pow_s = EF::TWO.exp_u64(shift as u64);
        let r_comp = |z: &[EF]| com.r.hat(z) + pow_s * (com.y.hat(z) - mle(&com.y.table, z));
        let rc = if how == Prover::PlainY {
            prove_rescale_zk(&rs, &y_plain, &r_comp, &mut t)
        } else {
            prove_rescale_zk(&rs, &y_hat, &r_hat, &mut t)
        }
        .expect("rescale");
        let z = rc.x.point.clone();
        let x_plain = mle(&padded(&tn.x, &dims), &z);
        let (cx, cw, cb) = (|p: &[EF]| com.x_in.cofactor(p, p.len() - 1), |p: &[EF]| com.w.cofactor(p, p.len() - 1), |p: &[EF]| com.b.cofactor(p, p.len() - 1));
        let rh = |w: EF| com.vm.value(z[0], w) + vanish(w) * com.r_table.m(&com.vm.point(z[0], w));
        let masks = ZkMatMulMasks { x: &cx, w: &cw, b: Some(&cb), r_hat: &rh };
        let mc = prove_matmul_zk(&MM, &tn.x_in, &tn.w, Some(&tn.b), &rc.x, &masks, &mask, &mut t).expect("matmul");
        let bc = mc.b.clone().expect("bias");
        let plain = vec![
            y_plain(&z),
            mle(&com.r.table, &z),
            x_plain,
            mle(&com.x_in.table, &mc.x.point),
            mle(&com.w.table, &mc.w.point),
            mle(&com.b.table, &bc.point),
        ];
        // The honest prover's plain values are not sent; the PlainY prover's y(z) is (by design).
        let plain = if how == Prover::PlainY { plain[1..].to_vec() } else { plain };
        Run { proof: t.into_proof(), com, claims: (rc, mc), plain }
    }
}

fn verify_chain<'a>(shift: i32, proof: &'a [u8], binding: &[F]) -> Result<(Claims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let rc = verify_rescale_zk(&rescale_shape(shift), &mut t).map_err(|e| e.to_string())?;
    let mc = verify_matmul_zk(&MM, &rc.x, &mut t).map_err(|e| e.to_string())?;
    Ok(((rc, mc), t))
}

impl ZkOpCase for Chain {
    type Com = Commit;
    type Claims = Claims;

    fn honest(&self, seed: u64) -> Run<Commit, Claims> {
        Chain { shift: self.shift, how: Prover::Honest }.run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<Claims, String> {
        let ((rc, mc), t) = verify_chain(self.shift, proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.y.hat(&rc.y.point) == rc.y.value, "y")?;
        open(com.r.hat(&rc.r.point) == rc.r.value, "r")?;
        open(com.x_in.hat(&mc.x.point) == mc.x.value, "x_in")?;
        open(com.w.hat(&mc.w.point) == mc.w.value, "w")?;
        let b = mc.b.as_ref().ok_or("no bias claim")?;
        open(com.b.hat(&b.point) == b.value, "b")?;
        let (a, w, v) = mc.r;
        open(com.r_table.hat(&com.vm.point(a, w)) == v, "R")?;
        for (p, v) in &mc.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok((rc, mc))
    }

    fn sent(&self, (rc, mc): &Claims) -> Vec<EF> {
        vec![rc.y.value, rc.r.value, mc.x.value, mc.w.value, mc.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let rs = rescale_shape(self.shift);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let (y, r): (EF, EF) = (rng.random(), rng.random());
        let rc = prove_rescale_zk(&rs, &|_| y, &|_| r, &mut t).expect("simulated rescale");
        simulate_matmul_zk(&MM, &rc.x, &mut t, rng);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_chain(self.shift, proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

const SHIFTS: [i32; 2] = [6, 20];

#[test]
fn zk_rescales_verify_open_and_hide() {
    for shift in SHIFTS {
        honest_runs_verify_and_hide(&Chain { shift, how: Prover::Honest }, [10, 11]);
    }
}

/// Untied masks (the failing control of the tie: the honest chain is then rejected by the
/// producer), a `y` or `r` entry off by one (the relation false), the plain `y(z)` with a
/// compensating `r̂` (caught at the openings only), every flipped limb, a truncation, bad shapes.
#[test]
fn tampered_zk_rescales_are_rejected() {
    for shift in SHIFTS {
        let chain = Chain { shift, how: Prover::Honest };
        let r = chain.run(20);
        flipped_limbs_are_rejected(&chain, &r);
        let u = Chain { shift, how: Prover::Untied }.run(21);
        let err = chain.check(&u.proof, &u.com).expect_err("untied masks");
        assert!(err.contains("MatMul"), "{err}");
        for how in [Prover::BumpY, Prover::BumpR] {
            let b = Chain { shift, how }.run(22);
            let err = chain.check(&b.proof, &b.com).expect_err("a false relation");
            assert!(err.contains("MatMul"), "{err}");
        }
        let p = Chain { shift, how: Prover::PlainY }.run(23);
        // The rescale and the MatMul accept (the derived claim is right) ...
        verify_chain(shift, &p.proof, &p.com.binding).expect("the compensated claim passes the sumchecks");
        // ... the openings do not.
        assert!(chain.check(&p.proof, &p.com).expect_err("plain y").contains("y does not open"));
        for &v in &p.plain {
            assert!(!sends(&p.proof, v));
        }
    }
    let mut t = VerifierTranscript::new(&ds(), &[]);
    for (dims, shift, what) in [
        (vec![3, 0], 6, "shape: empty dimension"),
        (vec![], 6, "shape: empty dimension"),
        (vec![1], 6, "shape: a zk rescale of a single entry"),
        (vec![4], 63, "shape: shift 63 outside"),
        (vec![4], -3, "shape: an exact shift sends nothing"),
    ] {
        assert_refused(verify_rescale_zk(&ZkRescaleShape { dims, shift }, &mut t), what);
    }
    assert_refused(scaled_input_claims_zk(&rescale_shape(6), vec![]), "shape: a rounded shift has committed columns");
}

#[test]
fn simulated_zk_rescales_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(17);
    simulated_proofs_match(&Chain { shift: 20, how: Prover::Honest }, 300, &mut rng, 5000, 12);
}

/// The tie as an identity: `2^s·M_y(z) + M_r(z) = Σ_w R_x(z_0, w)` at random points for
/// `d ∈ {2, 3}`, `a_y ∈ {1, 2}`, `μ ∈ {1, 4}`; the limbs' masks sum to the column's; bad layouts
/// are refused; an exact shift scales its claims.
#[test]
fn the_tie_is_an_identity_of_the_masks() {
    let mut rng = StdRng::seed_from_u64(3);
    for (claims, a_y, mu, shift) in [(1usize, 1usize, 4usize, 6u32), (5, 1, 4, 20), (1, 2, 4, 62), (5, 2, 1, 1)] {
        let vm = VirtualMask::for_claims(claims, &mut rng).expect("R");
        let y_mask: Vec<F> = (0..mask_table_len(mu, a_y)).map(|_| rng.random()).collect();
        let tied = tied_remainder_mask(&vm, &y_mask, a_y, mu, shift).expect("tie");
        assert_eq!(tied.degree_bits, vm.degree_bits().max(a_y));
        for _ in 0..4 {
            let z: Vec<EF> = (0..mu).map(|_| rng.random()).collect();
            let m_y = mle(&y_mask, &mask_table_point(&z, a_y));
            let m_r = mle(&tied.table, &mask_table_point(&z, tied.degree_bits));
            assert_eq!(EF::TWO.exp_u64(u64::from(shift)) * m_y + m_r, vm.sum_at(z[0]));
        }
        let others: Vec<Vec<F>> = (0..2).map(|_| (0..tied.table.len()).map(|_| rng.random()).collect()).collect();
        let limb0 = tie_first_limb(&tied.table, &others.iter().map(Vec::as_slice).collect::<Vec<_>>()).expect("limbs");
        let z: Vec<EF> = (0..mu).map(|_| rng.random()).collect();
        let at = |m: &[F]| mle(m, &mask_table_point(&z, tied.degree_bits));
        let sum = at(&limb0) + EF::from(F::from_u64(1 << 16)) * at(&others[0]) + EF::from(F::from_u64(1 << 32)) * at(&others[1]);
        assert_eq!(sum, at(&tied.table));
        assert!(tied_remainder_mask(&vm, &y_mask[1..], a_y, mu, shift).is_err(), "short y mask");
        assert!(tied_remainder_mask(&vm, &y_mask, a_y, mu, 0).is_err(), "shift 0");
        assert!(tied_remainder_mask(&vm, &y_mask, a_y, 5, shift).is_err(), "5 mask variables");
        assert!(tie_first_limb(&tied.table, &[&others[0][1..]]).is_err(), "a limb of another layout");
    }
    let s = ZkRescaleShape { dims: vec![3, 20], shift: -3 };
    let c = scaled_input_claims_zk(&s, vec![Claim::new(vec![EF::TWO; 7], EF::from_u64(40))]).expect("scaled");
    assert_eq!(c[0].value, EF::from_u64(5));
    assert_refused(scaled_input_claims_zk(&s, vec![Claim::new(vec![EF::TWO; 6], EF::ONE)]), "shape: claim point dimension");
}

fn rank(mut rows: Vec<Vec<F>>) -> usize {
    let cols = rows.first().map_or(0, Vec::len);
    let mut rank = 0;
    for c in 0..cols {
        let Some(p) = (rank..rows.len()).find(|&i| rows[i][c] != F::ZERO) else { continue };
        rows.swap(rank, p);
        let inv = rows[rank][c].inverse();
        let pivot: Vec<F> = rows[rank].iter().map(|&x| x * inv).collect();
        for (i, row) in rows.iter_mut().enumerate() {
            if i != rank && row[c] != F::ZERO {
                let f = row[c];
                for (x, &p) in row.iter_mut().zip(&pivot) {
                    *x -= f * p;
                }
            }
        }
        rows[rank] = pivot;
        rank += 1;
    }
    rank
}

/// What the tied masks reveal, as `F`-linear functions of the free randomness (`M_y`'s table,
/// `R_x`'s table and `R_x`'s PCS mask; the witness is zero): `ŷ(z)`, `r̂(z)` (so the producer's
/// claim `x̂(z)`), the producer's discharge `R̂_x(z_0, ρ_0)`, `m` further claims on `y` and `k` on
/// `r`, at random points. Every value is uniform and independent of the witness iff the rank over
/// `F` is `3·(3 + m + k)`. With `d = 2` (`R_x` of degree `< 4` in `z_0`) and a multilinear `M_y`
/// (16 points): full rank while `1 + m ≤ 16` and `(1 + m) + (1 + k) ≤ 16 + 4`; one claim more on
/// `r` or on `y` past either bound drops it (the check can fail).
#[test]
fn tied_masks_hide_up_to_their_capacity() {
    let mut rng = StdRng::seed_from_u64(8);
    let n = 7;
    let shift = 12;
    let point = |rng: &mut StdRng| -> Vec<EF> { (0..n).map(|_| rng.random()).collect() };
    let z = point(&mut rng);
    let rho0: EF = rng.random();
    let ps: Vec<Vec<EF>> = (0..16).map(|_| point(&mut rng)).collect();
    let qs: Vec<Vec<EF>> = (0..8).map(|_| point(&mut rng)).collect();
    let (y_len, r_len, rm_len) = (mask_table_len(4, 1), 32usize, mask_table_len(4, 1));
    let rank_of = |m: usize, k: usize| {
        let total = y_len + r_len + rm_len;
        let mut rows = vec![Vec::with_capacity(total); 3 * (3 + m + k)];
        for i in 0..total {
            let unit = |lo: usize, len: usize| (0..len).map(|j| if lo + j == i { F::ONE } else { F::ZERO }).collect::<Vec<F>>();
            let (y_mask, r_tab, rm) = (unit(0, y_len), unit(y_len, r_len), unit(y_len + r_len, rm_len));
            let vm = VirtualMask::from_table(r_tab).expect("R");
            let tied = tied_remainder_mask(&vm, &y_mask, 1, 4, shift).expect("tie");
            let y_at = |p: &[EF]| vanish_all(p) * mle(&y_mask, &mask_table_point(&p[..4], 1));
            let r_at = |p: &[EF]| vanish_all(p) * mle(&tied.table, &mask_table_point(&p[..4], tied.degree_bits));
            let rp = vm.point(z[0], rho0);
            let mut values = vec![y_at(&z), r_at(&z), vm.value(z[0], rho0) + vanish(rho0) * mle(&rm, &mask_table_point(&rp[..4], 1))];
            values.extend(ps[..m].iter().map(|p| y_at(p)));
            values.extend(qs[..k].iter().map(|q| r_at(q)));
            for (j, v) in values.iter().enumerate() {
                for (l, &c) in v.as_basis_coefficients_slice().iter().enumerate() {
                    rows[3 * j + l].push(c);
                }
            }
        }
        rank(rows)
    };
    for (m, k) in [(0, 3), (15, 3), (12, 6), (0, 8)] {
        assert_eq!(rank_of(m, k), 3 * (3 + m + k), "m = {m}, k = {k}: within capacity");
    }
    for (m, k) in [(15, 4), (14, 5)] {
        assert!(rank_of(m, k) < 3 * (3 + m + k), "m = {m}, k = {k}: past capacity");
    }
}
