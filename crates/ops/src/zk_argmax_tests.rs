//! Tests of the zk Argmax with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): the logits `L` and the gaps `g` (`Vanishing::All`; `g`'s mask
//! tied to `R_g` and `L`'s), `R_g` and the sumcheck mask table (`Vanishing::Last`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_sumcheck::zk::{prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_rescale::{mask_table_len, tied_mask};
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-argmax-test", 1)
}

const T: usize = 3;
const V: usize = 40;

fn logits() -> Vec<i64> {
    (0..T * V).map(|i| ((i as i64 * 7919) % 2001) - 1000).collect()
}

fn shape() -> ZkArgmaxShape {
    let l = logits();
    let ids = l
        .chunks(V)
        .map(|row| {
            let best = *row.iter().max().expect("row");
            row.iter().position(|&v| v == best).expect("max") as i64
        })
        .collect();
    ZkArgmaxShape { rows: T, vocab: V, ids, in_bits: 11 }
}

fn gaps(l: &[i64], ids: &[i64]) -> Vec<i64> {
    let mut g = Vec::with_capacity(l.len());
    for (t, row) in l.chunks(V).enumerate() {
        let a = ids[t] as usize;
        g.extend(row.iter().enumerate().map(|(j, &x)| row[a] - x - i64::from(j < a)));
    }
    g
}

struct Commit {
    l: Ideal,
    g: Ideal,
    vm: VirtualMask,
    r: Ideal,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// `g` committed with an independent mask.
    Untied,
    /// `g` one entry off (the relation false).
    BumpG,
    /// Sends the plain `L(z)` and `ĝ(z) + (L̂ − L)(z)` (the claimed sum right).
    PlainL,
    /// A forged public selector `W' ≠ W` with `Σ W'·L = Σ W·L` (weight moved between two
    /// non-id entries of row 0 in proportion to their logits): every other check passes.
    ForgedW,
}

struct Case(Prover);

impl Case {
    fn run(&self, seed: u64) -> Run<Commit, ZkArgmaxClaims> {
        let s = shape();
        let l = logits();
        let mut g = gaps(&l, &s.ids);
        if self.0 == Prover::BumpG {
            g[50] += 1;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = s.mask_shape();
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let vm = VirtualMask::sample(&mut rng);
        let lc = Ideal::new(padded(&l, &[T, V]), true, &mut rng);
        let gc = if self.0 == Prover::Untied {
            let a = vm.degree_bits();
            Ideal::with_mask(padded(&g, &[T, V]), true, (0..mask_table_len(lc.mu(), a)).map(|_| rng.random()).collect(), a)
        } else {
            let m = tied_mask(&vm, &lc.mask, lc.a, lc.mu(), F::ONE).expect("tie");
            Ideal::with_mask(padded(&g, &[T, V]), true, m.table, m.degree_bits)
        };
        let com = Commit {
            l: lc,
            g: gc,
            r: Ideal::new(vm.table().to_vec(), false, &mut rng),
            vm,
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let plain_l = self.0 == Prover::PlainL;
        let gap_hat = |z: &[EF]| if plain_l { com.g.hat(z) + com.l.hat(z) - mle(&com.l.table, z) } else { com.g.hat(z) };
        let logits_hat = |z: &[EF]| if plain_l { mle(&com.l.table, z) } else { com.l.hat(z) };
        let logits_cof = |p: &[EF]| com.l.cofactor(p, p.len() - 1);
        let r_hat = |a: EF, w: EF| com.vm.value(a, w) + vanish(w) * com.r.m(&com.vm.point(a, w));
        let masks = ZkArgmaxMasks { gap_hat: &gap_hat, logits_hat: &logits_hat, logits_cof: &logits_cof, r_hat: &r_hat };
        let c = if self.0 == Prover::ForgedW {
            let n = s.num_vars();
            let z = t.challenge_exts(n);
            let (gv, lv) = (gap_hat(&z), logits_hat(&z));
            t.send_exts(&[gv, lv]);
            let eq_t = zkinfer_poly::eq_evals(&z[..2]);
            let mut w_ef = vec![EF::ZERO; 1 << n];
            for (ti, &a) in s.ids.iter().enumerate() {
                w_ef[(ti << 6) | a as usize] = eq_t[ti];
            }
            let mut lp = vec![EF::ZERO; 1 << n];
            for (i, &v) in l.iter().enumerate() {
                lp[((i / V) << 6) | (i % V)] = EF::from(zkinfer_field::from_i64_unchecked(v));
            }
            let (p, q) = ((0..V).find(|&j| j as i64 != s.ids[0] && l[j] != 0).expect("p"), (0..V).rev().find(|&j| j as i64 != s.ids[0] && l[j] != 0).expect("q"));
            let delta = EF::from_u64(17);
            w_ef[p] += delta;
            w_ef[q] -= delta * lp[p] * lp[q].inverse();
            prove_with_tables(&s, &z, [gv, lv], w_ef, lp, &masks, &mask, &mut t).expect("forged")
        } else {
            prove_argmax_zk(&s, &l, &masks, &mask, &mut t).expect("prove")
        };
        let mut plain = vec![mle(&com.g.table, &c.gap.point), mle(&com.l.table, &c.logits[1].point)];
        if !plain_l {
            plain.push(mle(&com.l.table, &c.logits[0].point));
        }
        // S = Σ_t eq(z_t, t)·L[t, a_t], the value the public proof sends.
        let eq_t = zkinfer_poly::eq_evals(&c.gap.point[..2]);
        plain.push(s.ids.iter().enumerate().map(|(t, &a)| eq_t[t] * EF::from(zkinfer_field::from_i64_unchecked(l[t * V + a as usize]))).sum());
        Run { proof: t.into_proof(), com, claims: c, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkArgmaxClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let c = verify_argmax_zk(&shape(), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkArgmaxClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkArgmaxClaims> {
        Case(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkArgmaxClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.g.hat(&c.gap.point) == c.gap.value, "gap")?;
        for l in &c.logits {
            open(com.l.hat(&l.point) == l.value, "logits")?;
        }
        let (a, w, v) = c.r;
        open(com.r.hat(&com.vm.point(a, w)) == v, "R")?;
        for (p, v) in &c.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkArgmaxClaims) -> Vec<EF> {
        vec![c.gap.value, c.logits[0].value, c.logits[1].value, c.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let s = shape();
        let n = s.num_vars();
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let z = t.challenge_exts(n);
        let (g, l): (EF, EF) = (rng.random(), rng.random());
        t.send_exts(&[g, l]);
        let h = g + l + s.less_than_sum(&z[..2], &z[2..]);
        let ms = s.mask_shape();
        let mut inst = random_instance(n, ms.degree, h, rng);
        let mask = SumcheckMask::sample(ms, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho = &out.inner.point;
        let w = s.selector_at(&z[..2], rho);
        let e: EF = rng.random();
        let lr = (out.inner.final_evals[0][0] - output_coeff(&z, n) * e) * (less_than_mle(V, &z[2..]) * w).inverse();
        t.send_exts(&[w, lr]);
        t.send_ext(e);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_argmaxes_verify_open_and_hide() {
    honest_runs_verify_and_hide(&Case(Prover::Honest), [10, 11]);
}

/// An untied gap mask (the tie's failing control), a false gap entry (the sumcheck), the plain
/// `L(z)` with a compensating `ĝ(z)` (caught at the openings only), a forged public selector of
/// the same sum (caught by the selector check only), every flipped limb, a
/// truncation, ids of the wrong count or outside the vocabulary, too few variables.
#[test]
fn tampered_zk_argmaxes_are_rejected() {
    let case = Case(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    for how in [Prover::Untied, Prover::BumpG] {
        let r = Case(how).run(21);
        assert!(case.check(&r.proof, &r.com).expect_err("tampered").contains("Argmax"));
    }
    let p = Case(Prover::PlainL).run(22);
    verify_rounds(&p.proof, &p.com.binding).expect("the compensated claim passes the sumcheck");
    let err = case.check(&p.proof, &p.com).expect_err("plain L");
    assert!(err == "gap does not open" || err == "logits does not open", "{err}");
    // Only the selector check catches a forged selector with the same sum.
    let f = Case(Prover::ForgedW).run(23);
    assert!(case.check(&f.proof, &f.com).expect_err("forged selector").contains("selector"));
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let mut bad = shape();
    bad.ids.pop();
    assert_refused(verify_argmax_zk(&bad, &mut t), "shape: public ids"); // the id count
    let mut bad = shape();
    bad.ids[0] = V as i64;
    assert_refused(verify_argmax_zk(&bad, &mut t), "shape: public ids"); // an id outside the vocabulary
    let small = ZkArgmaxShape { rows: 1, vocab: 16, ids: vec![3], in_bits: 11 };
    assert_refused(verify_argmax_zk(&small, &mut t), "shape: a zk argmax needs ≥ 5 variables");
}

#[test]
fn simulated_zk_argmaxes_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(37);
    simulated_proofs_match(&Case(Prover::Honest), 300, &mut rng, 15_000, 22);
}
