//! Tests of the zk RMSNorm with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): `x`, `γ`, `y`, `r₃` and the ten row columns (`Vanishing::All`;
//! `r₂`'s mask tied to `R_rows` and `ms`'s, `r₃`'s to `R_cube` and `y`'s), the two `R` tables and
//! the two sumcheck mask tables (`Vanishing::Last`). `T = 20`, `n = 20` (5 + 5 variables).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_graph::ops::rescale::rescale_value;
use zkinfer_graph::ops::IntOp;
use zkinfer_graph::ops::rmsnorm::RmsNorm;
use zkinfer_poly::eq_eval;
use zkinfer_sumcheck::zk::{SumcheckMask, prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_sumcheck::evaluate_terms;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_rescale::{mask_table_len, tied_remainder_mask};
use crate::zk_testkit::{Ideal, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-rmsnorm-test", 1)
}

const T: usize = 20;
const N: usize = 20;

struct Witness {
    shape: ZkRmsNormShape,
    x: Vec<i64>,
    gamma: Vec<i64>,
    y: Vec<i64>,
    r3: Vec<i64>,
    rows: Vec<Vec<i64>>,
}

fn witness() -> Witness {
    let (in_bits, k) = (15u32, 20u32);
    let model = RmsNorm { eps: 37, k, shift: k + 10 - 8 };
    let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 20_001) - 10_000;
    let x: Vec<i64> = (0..T * N).map(|i| v(i, 1)).collect();
    let gamma: Vec<i64> = (0..N).map(|i| v(i, 2) / 10).collect();
    let out_bits = model.out_bits(&[&[T, N][..], &[N][..]], &[in_bits, 11]).expect("bounds");
    let params = RmsNormProof::new(model.eps, model.k, model.shift, in_bits, 11, out_bits);
    let shape = ZkRmsNormShape { rows: T, n: N, params };
    let norm = shape.norm();
    let mut rows: Vec<Vec<i64>> = vec![Vec::new(); ROW_COLUMNS];
    let (mut y, mut r3) = (Vec::new(), Vec::new());
    for row in x.chunks(N) {
        let vals = norm.row_values("test", row).expect("row");
        for (col, &val) in rows.iter_mut().zip(&vals) {
            col.push(val);
        }
        let inv = model.row_stats(row).inv;
        assert_eq!(inv, vals[INV]);
        for c in 0..N {
            let acc = row[c] * inv * gamma[c];
            let yv = rescale_value(acc, model.shift as i32);
            y.push(yv);
            r3.push(acc + (1 << (model.shift - 1)) - (yv << model.shift));
        }
    }
    Witness { shape, x, gamma, y, r3, rows }
}

struct Commit {
    x: Ideal,
    gamma: Ideal,
    y: Ideal,
    r3: Ideal,
    rows: Vec<Ideal>,
    vm_rows: VirtualMask,
    vm_cube: VirtualMask,
    r_rows: Ideal,
    r_cube: Ideal,
    cube_mask: Ideal,
    row_mask: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// `r₃` committed with an independent mask.
    UntiedCube,
    /// `r₂` committed with an independent mask.
    UntiedRows,
    /// `y` one entry off (its relation false).
    BumpY,
    /// `inv` one row off (the row identities false; `y`, `r₃` recomputed from it).
    BumpInv,
    /// Sends the plain `y(z)` and `r̂₃(z) + 2^s·(ŷ(z) − y(z))` (the claimed sum right).
    PlainY,
}

struct Case(Prover);

fn tied(vm: &VirtualMask, other: &Ideal, scale: F, table: Vec<F>, rng: &mut StdRng, untied: bool) -> Ideal {
    let mu = other.mu();
    if untied {
        let a = vm.degree_bits();
        return Ideal::with_mask(table, true, (0..mask_table_len(mu, a)).map(|_| rng.random()).collect(), a);
    }
    let m = crate::zk_rescale::tied_mask(vm, &other.mask, other.a, mu, scale).expect("tie");
    Ideal::with_mask(table, true, m.table, m.degree_bits)
}

impl Case {
    fn run(&self, seed: u64) -> Run<Commit, ZkRmsNormClaims> {
        let how = self.0;
        let mut w = witness();
        let s = w.shape.clone();
        let shift = s.params.shift;
        if how == Prover::BumpY {
            w.y[45] += 1;
        }
        if how == Prover::BumpInv {
            w.rows[INV][2] += 1;
            for c in 0..N {
                let acc = w.x[2 * N + c] * w.rows[INV][2] * w.gamma[c];
                w.y[2 * N + c] = rescale_value(acc, shift as i32);
                w.r3[2 * N + c] = acc + (1 << (shift - 1)) - (w.y[2 * N + c] << shift);
            }
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let (cs, rs) = (s.cube_mask_shape(), s.row_mask_shape());
        let mut cube_mask = SumcheckMask::sample(cs, &mut rng).expect("mask");
        let mut row_mask = SumcheckMask::sample(rs, &mut rng).expect("mask");
        let (vm_rows, vm_cube) = (VirtualMask::sample(&mut rng), VirtualMask::sample(&mut rng));
        let y = Ideal::new(padded(&w.y, &[T, N]), true, &mut rng);
        let r3 = if how == Prover::UntiedCube {
            tied(&vm_cube, &y, F::ZERO, padded(&w.r3, &[T, N]), &mut rng, true)
        } else {
            let m = tied_remainder_mask(&vm_cube, &y.mask, y.a, y.mu(), shift).expect("tie");
            Ideal::with_mask(padded(&w.r3, &[T, N]), true, m.table, m.degree_bits)
        };
        let mut rows: Vec<Ideal> = w.rows.iter().map(|c| Ideal::new(padded(c, &[T]), true, &mut rng)).collect();
        rows[RV] = tied(&vm_rows, &rows[MS], F::from_u64(N as u64), padded(&w.rows[RV], &[T]), &mut rng, how == Prover::UntiedRows);
        let com = Commit {
            x: Ideal::new(padded(&w.x, &[T, N]), true, &mut rng),
            gamma: Ideal::new(padded(&w.gamma, &[N]), true, &mut rng),
            y,
            r3,
            rows,
            r_rows: Ideal::new(vm_rows.table().to_vec(), false, &mut rng),
            r_cube: Ideal::new(vm_cube.table().to_vec(), false, &mut rng),
            vm_rows,
            vm_cube,
            cube_mask: Ideal::new(cube_mask.table().to_vec(), false, &mut rng),
            row_mask: Ideal::new(row_mask.table().to_vec(), false, &mut rng),
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..cs.num_rounds {
            cube_mask.add_vanishing_term(j, com.cube_mask.m(&cs.claim_point(j, EF::ZERO))).expect("fold");
        }
        for j in 0..rs.num_rounds {
            row_mask.add_vanishing_term(j, com.row_mask.m(&rs.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let pow_s = EF::TWO.exp_u64(u64::from(shift));
        let y_hat = |z: &[EF]| if how == Prover::PlainY { mle(&com.y.table, z) } else { com.y.hat(z) };
        let r3_hat = |z: &[EF]| if how == Prover::PlainY { com.r3.hat(z) + pow_s * (com.y.hat(z) - mle(&com.y.table, z)) } else { com.r3.hat(z) };
        let row_hat = |i: usize, z: &[EF]| com.rows[i].hat(z);
        let x_cof = |p: &[EF]| com.x.cofactor(p, p.len() - 1);
        let gamma_cof = |p: &[EF]| com.gamma.cofactor(p, p.len() - 1);
        let row_cof = |i: usize, p: &[EF]| com.rows[i].cofactor(p, p.len() - 1);
        let r_rows = |a: EF, wv: EF| com.vm_rows.value(a, wv) + vanish(wv) * com.r_rows.m(&com.vm_rows.point(a, wv));
        let r_cube = |a: EF, wv: EF| com.vm_cube.value(a, wv) + vanish(wv) * com.r_cube.m(&com.vm_cube.point(a, wv));
        let masks = ZkRmsNormMasks { y_hat: &y_hat, r3_hat: &r3_hat, row_hat: &row_hat, x_cof: &x_cof, gamma_cof: &gamma_cof, row_cof: &row_cof, r_rows: &r_rows, r_cube: &r_cube };
        let c = prove_rmsnorm_zk(&s, &w.x, &w.gamma, &w.rows, &masks, &cube_mask, &row_mask, &mut t).expect("prove");
        let tv = s.tv();
        let mut plain = vec![
            mle(&com.r3.table, &c.y.point),
            mle(&com.x.table, &c.x.point),
            mle(&com.gamma.table, &c.gamma.point),
            mle(&com.rows[MS].table, &c.y.point[..tv]),
            mle(&com.rows[RV].table, &c.y.point[..tv]),
            EF::from_usize(N) * mle(&com.rows[MS].table, &c.y.point[..tv]) + mle(&com.rows[RV].table, &c.y.point[..tv]),
        ];
        if how != Prover::PlainY {
            plain.push(mle(&com.y.table, &c.y.point));
        }
        plain.extend(c.rows.iter().map(|(i, cl)| mle(&com.rows[*i].table, &cl.point)));
        Run { proof: t.into_proof(), com, claims: c, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkRmsNormClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let c = verify_rmsnorm_zk(&witness().shape, &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkRmsNormClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkRmsNormClaims> {
        Case(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkRmsNormClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.x.hat(&c.x.point) == c.x.value, "x")?;
        open(com.gamma.hat(&c.gamma.point) == c.gamma.value, "gamma")?;
        open(com.y.hat(&c.y.point) == c.y.value, "y")?;
        open(com.r3.hat(&c.r3.point) == c.r3.value, "r3")?;
        for (i, cl) in &c.rows {
            open(com.rows[*i].hat(&cl.point) == cl.value, "a row column")?;
        }
        let (a, w, v) = c.r_rows;
        open(com.r_rows.hat(&com.vm_rows.point(a, w)) == v, "R_rows")?;
        let (a, w, v) = c.r_cube;
        open(com.r_cube.hat(&com.vm_cube.point(a, w)) == v, "R_cube")?;
        for (p, v) in &c.cube_mask_claims {
            open(com.cube_mask.hat(p) == *v, "cube mask")?;
        }
        for (p, v) in &c.row_mask_claims {
            open(com.row_mask.hat(p) == *v, "row mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkRmsNormClaims) -> Vec<EF> {
        let mut v = vec![c.y.value, c.r3.value, c.x.value, c.gamma.value, c.r_rows.2, c.r_cube.2];
        v.extend(c.rows.iter().map(|(_, cl)| cl.value));
        v
    }

    /// The four values uniform; the cube: a masked sumcheck of a random instance with the claim,
    /// public values computed, `x̂`, `în̂v`, the `R` values uniform, `γ̂` solved; the rows: a masked
    /// sumcheck of a random instance with claim 0, the public row mask's value computed, every row
    /// value but `ms`'s uniform, `ms`'s solved.
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let s = witness().shape;
        let (tv, cv) = (s.tv(), s.cv());
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let z = t.challenge_exts(tv + cv);
        let lambda = t.challenge_ext();
        let sent: Vec<EF> = (0..4).map(|_| rng.random()).collect();
        t.send_exts(&sent);
        let h = claimed(&s, &z, lambda, &sent);
        let cs = s.cube_mask_shape();
        let mut inst = random_instance(tv + cv, cs.degree, h, rng);
        let mask = SumcheckMask::sample(cs, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho = &out.inner.point;
        let [c_rows, c_cube] = output_coeffs(&s, &z, lambda);
        let (x, inv, er, ec): (EF, EF, EF, EF) = (rng.random(), rng.random(), rng.random(), rng.random());
        let (e_t, eq) = (eq_eval(&z[..tv], &rho[..tv]), eq_eval(&z, rho));
        let rest = out.inner.final_evals[0][0] - c_rows * er - c_cube * ec - e_t * x * x;
        let gamma = rest * (lambda * eq * x * inv).inverse();
        t.send_exts(&[x, e_t, eq, inv, gamma]);
        t.send_exts(&[er, ec]);
        let z2 = t.challenge_exts(tv);
        let mu = t.challenge_ext();
        let row_terms = s.norm().row_terms(mu, N);
        let rs = s.row_mask_shape();
        let mut inst = random_instance(tv, rs.degree, EF::ZERO, rng);
        let mask = SumcheckMask::sample(rs, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho2 = &out.inner.point;
        let mut values: Vec<EF> = (0..ROW_COLUMNS).map(|_| rng.random()).collect();
        values.push(less_than_mle(T, rho2));
        let scale = eq_eval(&z2, rho2);
        values[MS] = EF::ZERO;
        let at_zero = evaluate_terms(&row_terms, &values).expect("terms");
        values[MS] = EF::ONE;
        let slope = evaluate_terms(&row_terms, &values).expect("terms") - at_zero;
        values[MS] = (out.inner.final_evals[0][0] - scale * at_zero) * (scale * slope).inverse();
        t.send_exts(&values);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_rmsnorms_verify_open_and_hide() {
    honest_runs_verify_and_hide(&Case(Prover::Honest), [10, 11]);
}

/// Untied `r₃` or `r₂` masks (the failing controls of the two ties: the honest proof is then
/// rejected by the cube sumcheck), a false output entry, a false `inv` with `y`, `r₃` recomputed
/// (caught by the row zero-check), the plain `y(z)` with a compensating `r̂₃` (caught at `y`'s
/// opening only), every flipped limb, a truncation, shapes too small for zk mode.
#[test]
fn tampered_zk_rmsnorms_are_rejected() {
    let case = Case(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    for (how, what) in [(Prover::UntiedCube, "RmsNorm"), (Prover::UntiedRows, "RmsNorm"), (Prover::BumpY, "RmsNorm"), (Prover::BumpInv, "RmsNorm"), (Prover::PlainY, "y does not open")] {
        let r = Case(how).run(21);
        let err = case.check(&r.proof, &r.com).expect_err("tampered");
        assert!(err.contains(what), "{err}");
    }
    let p = Case(Prover::PlainY).run(22);
    verify_rounds(&p.proof, &p.com.binding).expect("the compensated claim passes both sumchecks");
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let mut small = witness().shape;
    small.rows = 16;
    assert!(verify_rmsnorm_zk(&small, &mut t).is_err(), "4 row variables");
    let mut small = witness().shape;
    small.n = 16;
    assert!(verify_rmsnorm_zk(&small, &mut t).is_err(), "4 column variables");
}

#[test]
fn simulated_zk_rmsnorms_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(29);
    simulated_proofs_match(&Case(Prover::Honest), 300, &mut rng, 11_000, 18);
}
