//! Tests of the zk RMSNorm and LayerNorm with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): `x`, `γ`, `β`, `y`, `r₃` and the row columns (`Vanishing::All`; each
//! tied column's mask tied to its `R` table and partner: `r₂` to `ms` (LayerNorm: `r₁` to `mean`,
//! `r₂` to `var`), `r₃` to `y`), the `R` tables and the two sumcheck mask tables
//! (`Vanishing::Last`). `T = n = 20` (5 + 5 variables).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_graph::ops::IntOp;
use zkinfer_graph::ops::layernorm::LayerNorm;
use zkinfer_graph::ops::rescale::rescale_value;
use zkinfer_graph::ops::rmsnorm::RmsNorm;
use zkinfer_poly::eq_eval;
use zkinfer_sumcheck::evaluate_terms;
use zkinfer_sumcheck::zk::{SumcheckMask, prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_rescale::{mask_table_len, tied_mask};
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-norm-test", 1)
}

const T: usize = 20;
const N: usize = 20;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Rms,
    Layer,
}

struct Witness {
    shape: ZkNormShape,
    x: Vec<i64>,
    gamma: Vec<i64>,
    beta: Option<Vec<i64>>,
    y: Vec<i64>,
    r3: Vec<i64>,
    rows: Vec<Vec<i64>>,
}

fn witness(kind: Kind) -> Witness {
    let (in_bits, k) = (15u32, 20u32);
    let v = |i: usize, s: i64| ((i as i64 * 7919 + s * 104_729) % 20_001) - 10_000;
    let x: Vec<i64> = (0..T * N).map(|i| v(i, 1)).collect();
    let gamma: Vec<i64> = (0..N).map(|i| v(i, 2) / 10).collect();
    let beta: Vec<i64> = (0..N).map(|i| v(i, 3) / 3).collect();
    let shift = k + 10 - 8;
    let (kind_p, norm, beta) = match kind {
        Kind::Rms => {
            let model = RmsNorm { eps: 37, k, shift };
            let out_bits = model.out_bits(&[&[T, N][..], &[N][..]], &[in_bits, 11]).expect("bounds");
            (NormKind::Rms(RmsNormProof::new(37, k, shift, in_bits, 11, out_bits)), NormRows { has_mean: false, eps: 37, k }, None)
        }
        Kind::Layer => {
            let _ = LayerNorm { eps: 37, k, shift };
            (NormKind::Layer(LayerNormProof::new(37, k, shift, in_bits, 11, 13, 40)), NormRows { has_mean: true, eps: 37, k }, Some(beta))
        }
    };
    let mut rows: Vec<Vec<i64>> = vec![Vec::new(); norm.columns().len()];
    let (mut y, mut r3) = (Vec::new(), Vec::new());
    let (mean_col, inv_col) = if kind == Kind::Layer { (Some(0), 6) } else { (None, 3) };
    for row in x.chunks(N) {
        let vals = norm.row_values("test", row).expect("row");
        for (col, &val) in rows.iter_mut().zip(&vals) {
            col.push(val);
        }
        let (mean, inv) = (mean_col.map_or(0, |m| vals[m]), vals[inv_col]);
        for c in 0..N {
            let acc = (row[c] - mean) * inv * gamma[c];
            let yv = rescale_value(acc, shift as i32);
            r3.push(acc + (1 << (shift - 1)) - (yv << shift));
            y.push(yv + beta.as_ref().map_or(0, |b| b[c]));
        }
    }
    let mut shape = ZkNormShape { rows: T, n: N, kind: kind_p };
    if let NormKind::Layer(p) = &mut shape.kind {
        p.out_bits = 64 - y.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0).leading_zeros();
    }
    Witness { shape, x, gamma, beta, y, r3, rows }
}

struct Commit {
    x: Ideal,
    gamma: Ideal,
    beta: Option<Ideal>,
    y: Ideal,
    r3: Ideal,
    rows: Vec<Ideal>,
    vms: Vec<VirtualMask>,
    r_tables: Vec<Ideal>,
    cube_mask: Ideal,
    row_mask: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// `r₃` committed with an independent mask.
    UntiedCube,
    /// The first row pair's `b` (`r₂` / `r₁`) committed with an independent mask.
    UntiedRows,
    /// `y` one entry off (its relation false).
    BumpY,
    /// `inv` one row off (the row identities false; `y`, `r₃` recomputed from it).
    BumpInv,
    /// Sends the plain `y(z)` and `r̂₃(z) + 2^s·(ŷ(z) − y(z))` (the claimed sum right).
    PlainY,
    /// (RMSNorm) A forged public `E_t` of the same sum: weight moved between rows 0 and 1 in
    /// proportion to their `Σ_c x²`, so every other check passes.
    ForgedE,
}

struct Case(Kind, Prover);

fn tie(vm: &VirtualMask, partner: &Ideal, scale: F, table: Vec<F>, rng: &mut StdRng, untied: bool) -> Ideal {
    let (mu, a) = (partner.mu(), vm.degree_bits().max(partner.a));
    if untied {
        return Ideal::with_mask(table, true, (0..mask_table_len(mu, a)).map(|_| rng.random()).collect(), a);
    }
    let m = tied_mask(vm, &partner.mask, partner.a, mu, scale).expect("tie");
    Ideal::with_mask(table, true, m.table, m.degree_bits)
}

impl Case {
    fn run(&self, seed: u64) -> Run<Commit, ZkNormClaims> {
        let (kind, how) = (self.0, self.1);
        let mut w = witness(kind);
        let s = w.shape.clone();
        let shift = s.shift();
        let cols = s.cols();
        if how == Prover::BumpY {
            w.y[45] += 1;
        }
        if how == Prover::BumpInv {
            w.rows[cols.inv][2] += 1;
            let mean = cols.mean.map_or(0, |m| w.rows[m][2]);
            for c in 0..N {
                let acc = (w.x[2 * N + c] - mean) * w.rows[cols.inv][2] * w.gamma[c];
                let yv = rescale_value(acc, shift as i32);
                w.r3[2 * N + c] = acc + (1 << (shift - 1)) - (yv << shift);
                w.y[2 * N + c] = yv + w.beta.as_ref().map_or(0, |b| b[c]);
            }
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let (cs, rs) = (s.cube_mask_shape(), s.row_mask_shape());
        let mut cube_mask = SumcheckMask::sample(cs, &mut rng).expect("mask");
        let mut row_mask = SumcheckMask::sample(rs, &mut rng).expect("mask");
        let vms: Vec<VirtualMask> = (0..s.ties()).map(|_| VirtualMask::sample(&mut rng)).collect();
        let y = Ideal::new(padded(&w.y, &[T, N]), true, &mut rng);
        let pow_s = F::from_u64(1 << shift);
        let r3 = tie(&vms[s.ties() - 1], &y, pow_s, padded(&w.r3, &[T, N]), &mut rng, how == Prover::UntiedCube);
        let mut rows: Vec<Ideal> = w.rows.iter().map(|c| Ideal::new(padded(c, &[T]), true, &mut rng)).collect();
        for (i, &(a, b)) in cols.pairs.iter().enumerate() {
            rows[b] = tie(&vms[i], &rows[a], F::from_u64(N as u64), padded(&w.rows[b], &[T]), &mut rng, how == Prover::UntiedRows && i == 0);
        }
        let com = Commit {
            x: Ideal::new(padded(&w.x, &[T, N]), true, &mut rng),
            gamma: Ideal::new(padded(&w.gamma, &[N]), true, &mut rng),
            beta: w.beta.as_ref().map(|b| Ideal::new(padded(b, &[N]), true, &mut rng)),
            y,
            r3,
            rows,
            r_tables: vms.iter().map(|vm| Ideal::new(vm.table().to_vec(), false, &mut rng)).collect(),
            vms,
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
        let plain_y = how == Prover::PlainY;
        let y_hat = |z: &[EF]| if plain_y { mle(&com.y.table, z) } else { com.y.hat(z) };
        let r3_hat = |z: &[EF]| if plain_y { com.r3.hat(z) + pow_s * (com.y.hat(z) - mle(&com.y.table, z)) } else { com.r3.hat(z) };
        let row_hat = |i: usize, z: &[EF]| com.rows[i].hat(z);
        let cube_cof = |j: usize, p: &[EF]| match j {
            CX => com.x.cofactor(p, p.len() - 1),
            CG => com.gamma.cofactor(p, p.len() - 1),
            CBETA => com.beta.as_ref().expect("beta").cofactor(p, p.len() - 1),
            _ => EF::ZERO,
        };
        let row_cof = |i: usize, p: &[EF]| com.rows[i].cofactor(p, p.len() - 1);
        let r_hat = |i: usize, a: EF, wv: EF| com.vms[i].value(a, wv) + vanish(wv) * com.r_tables[i].m(&com.vms[i].point(a, wv));
        let masks = ZkNormMasks { y_hat: &y_hat, r3_hat: &r3_hat, row_hat: &row_hat, cube_cof: &cube_cof, row_cof: &row_cof, r_hat: &r_hat };
        let ops = NormOperands { x: &w.x, gamma: &w.gamma, beta: w.beta.as_deref(), rows: &w.rows };
        let c = if how == Prover::ForgedE {
            let sq = |r: usize| EF::from(zkinfer_field::from_i64_unchecked(w.x[r * N..(r + 1) * N].iter().map(|&v| v * v).sum::<i64>()));
            let (x0, x1) = (sq(0), sq(1));
            let tamper = move |tables: &mut Vec<crate::zk_broadcast::BroadcastTable>| {
                let delta = EF::from_u64(17);
                tables[CER].values[0] += delta;
                tables[CER].values[1] -= delta * x0 * x1.inverse();
            };
            prove_with_tamper(&s, ops, &masks, &cube_mask, &row_mask, &mut t, &tamper).expect("forged")
        } else {
            prove_norm_zk(&s, ops, &masks, &cube_mask, &row_mask, &mut t).expect("prove")
        };
        let tv = s.tv();
        let zt = &c.y.point[..tv];
        let mut plain = vec![mle(&com.r3.table, &c.y.point), mle(&com.x.table, &c.x.point), mle(&com.gamma.table, &c.gamma.point)];
        for &(a, b) in &cols.pairs {
            plain.push(EF::from_usize(N) * mle(&com.rows[a].table, zt) + mle(&com.rows[b].table, zt));
        }
        if let (Some(b), Some(bc)) = (&com.beta, &c.beta) {
            plain.push(mle(&b.table, &bc.point));
        }
        if !plain_y {
            plain.push(mle(&com.y.table, &c.y.point));
        }
        plain.extend(c.rows.iter().map(|(i, cl)| mle(&com.rows[*i].table, &cl.point)));
        Run { proof: t.into_proof(), com, claims: c, plain }
    }
}

fn verify_rounds<'a>(kind: Kind, proof: &'a [u8], binding: &[F]) -> Result<(ZkNormClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let c = verify_norm_zk(&witness(kind).shape, &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkNormClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkNormClaims> {
        Case(self.0, Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkNormClaims, String> {
        let (c, t) = verify_rounds(self.0, proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.x.hat(&c.x.point) == c.x.value, "x")?;
        open(com.gamma.hat(&c.gamma.point) == c.gamma.value, "gamma")?;
        if let (Some(b), Some(bc)) = (&com.beta, &c.beta) {
            open(b.hat(&bc.point) == bc.value, "beta")?;
        }
        open(com.y.hat(&c.y.point) == c.y.value, "y")?;
        open(com.r3.hat(&c.r3.point) == c.r3.value, "r3")?;
        for (i, cl) in &c.rows {
            open(com.rows[*i].hat(&cl.point) == cl.value, "a row column")?;
        }
        for (i, &(a, w, v)) in c.r.iter().enumerate() {
            open(com.r_tables[i].hat(&com.vms[i].point(a, w)) == v, "an R table")?;
        }
        for (p, v) in &c.cube_mask_claims {
            open(com.cube_mask.hat(p) == *v, "cube mask")?;
        }
        for (p, v) in &c.row_mask_claims {
            open(com.row_mask.hat(p) == *v, "row mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkNormClaims) -> Vec<EF> {
        let mut v = vec![c.y.value, c.r3.value, c.x.value, c.gamma.value];
        v.extend(c.beta.iter().map(|b| b.value));
        v.extend(c.r.iter().map(|r| r.2));
        v.extend(c.rows.iter().map(|(_, cl)| cl.value));
        v
    }

    /// The sent values uniform; the cube: a masked sumcheck of a random instance with the claim,
    /// the public values computed, every masked final but `γ̂` uniform, `γ̂` solved (affine: `γ`
    /// occurs once per term); the rows: a masked sumcheck of a random instance with claim 0, the
    /// public row mask's value computed, every row value but one uniform, that one solved.
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let s = witness(self.0).shape;
        let (tv, cv) = (s.tv(), s.cv());
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let z = t.challenge_exts(tv + cv);
        let lambda = t.challenge_ext();
        let sent: Vec<EF> = (0..2 * s.ties()).map(|_| rng.random()).collect();
        t.send_exts(&sent);
        let h = s.claimed(&z, lambda, &sent);
        let cs = s.cube_mask_shape();
        let mut inst = random_instance(tv + cv, cs.degree, h, rng);
        let mask = SumcheckMask::sample(cs, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho = &out.inner.point;
        let (rho_t, rho_c) = rho.split_at(tv);
        let terms = s.cube_terms(lambda);
        let mut values: Vec<EF> = (0..s.cube_tables()).map(|_| rng.random()).collect();
        values[CER] = eq_eval(&z[..tv], rho_t);
        values[CEQ] = eq_eval(&z, rho);
        if s.has_mean() {
            values[CCM] = less_than_mle(N, rho_c);
            values[CRM] = less_than_mle(T, rho_t);
        }
        let es: Vec<EF> = (0..s.ties()).map(|_| rng.random()).collect();
        let outputs: EF = s.output_coeffs(&z, lambda).iter().zip(&es).map(|(&c, &e)| c * e).sum();
        let target = out.inner.final_evals[0][0] - outputs;
        values[CG] = EF::ZERO;
        let at_zero = evaluate_terms(&terms, &values).expect("terms");
        values[CG] = EF::ONE;
        let slope = evaluate_terms(&terms, &values).expect("terms") - at_zero;
        values[CG] = (target - at_zero) * slope.inverse();
        t.send_exts(&values);
        t.send_exts(&es);
        let z2 = t.challenge_exts(tv);
        let mu = t.challenge_ext();
        let row_terms = s.norm().row_terms(mu, N);
        let rs = s.row_mask_shape();
        let mut inst = random_instance(tv, rs.degree, EF::ZERO, rng);
        let mask = SumcheckMask::sample(rs, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho2 = &out.inner.point;
        let nr = s.row_columns();
        let mut values: Vec<EF> = (0..nr).map(|_| rng.random()).collect();
        values.push(less_than_mle(T, rho2));
        let scale = eq_eval(&z2, rho2);
        // A row column the final value is affine in (RMSNorm: `ms`; LayerNorm: `r₁`).
        let j = (0..nr)
            .find(|&j| row_terms.iter().all(|(_, t)| t.iter().filter(|&&k| k == j).count() <= 1) && row_terms.iter().any(|(_, t)| t.contains(&j)))
            .expect("an affine row column");
        values[j] = EF::ZERO;
        let at_zero = evaluate_terms(&row_terms, &values).expect("terms");
        values[j] = EF::ONE;
        let slope = evaluate_terms(&row_terms, &values).expect("terms") - at_zero;
        values[j] = (out.inner.final_evals[0][0] - scale * at_zero) * (scale * slope).inverse();
        t.send_exts(&values);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(self.0, proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

const KINDS: [Kind; 2] = [Kind::Rms, Kind::Layer];

#[test]
fn zk_norms_verify_open_and_hide() {
    for kind in KINDS {
        honest_runs_verify_and_hide(&Case(kind, Prover::Honest), [10, 11]);
    }
}

/// Untied `r₃` or first-pair masks (the failing controls of the ties: the honest proof is then
/// rejected by the cube sumcheck), a false output entry, a false `inv` with `y`, `r₃` recomputed
/// (caught by the row zero-check), the plain `y(z)` with a compensating `r̂₃` (caught at `y`'s
/// opening only), a forged public `E_t` of the same sum (caught by the public-table check only),
/// every flipped limb, a truncation, shapes too small for zk mode.
#[test]
fn tampered_zk_norms_are_rejected() {
    for kind in KINDS {
        let case = Case(kind, Prover::Honest);
        flipped_limbs_are_rejected(&case, &case.run(20));
        for (how, what) in [(Prover::UntiedCube, "Norm (zk)"), (Prover::UntiedRows, "Norm (zk)"), (Prover::BumpY, "Norm (zk)"), (Prover::BumpInv, "Norm (zk)"), (Prover::PlainY, "y does not open")] {
            let r = Case(kind, how).run(21);
            let err = case.check(&r.proof, &r.com).expect_err("tampered");
            assert!(err.contains(what), "{kind:?}: {err}");
        }
        if kind == Kind::Rms {
            // Only the public-table check catches a forged E_t of the same sum.
            let f = Case(kind, Prover::ForgedE).run(23);
            assert!(case.check(&f.proof, &f.com).expect_err("forged E_t").contains("public table"));
        }
        let p = Case(kind, Prover::PlainY).run(22);
        verify_rounds(kind, &p.proof, &p.com.binding).expect("the compensated claim passes both sumchecks");
        let mut t = VerifierTranscript::new(&ds(), &[]);
        let mut small = witness(kind).shape;
        small.rows = 16;
        assert_refused(verify_norm_zk(&small, &mut t), "shape: a zk norm needs ≥ 5 row and ≥ 5 column variables"); // 4 row variables
        let mut small = witness(kind).shape;
        small.n = 16;
        assert_refused(verify_norm_zk(&small, &mut t), "shape: a zk norm needs ≥ 5 row and ≥ 5 column variables"); // 4 column variables
    }
}

#[test]
fn simulated_zk_norms_pass_and_match_the_honest_distribution() {
    for (i, kind) in KINDS.into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(29 + i as u64);
        simulated_proofs_match(&Case(kind, Prover::Honest), 300, &mut rng, 11_000, 18);
    }
}
