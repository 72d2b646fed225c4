//! Tests of the zk causal softmax with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): the ten committed tables (`Vanishing::All`; the row tables `m`,
//! `Z` over `[H, M]`) and the sumcheck mask table (`Vanishing::Last`); scores `[1, 17, 17]`
//! (padded `[1, 32, 32]`: 5 row variables, the fewest a masked row table takes), wide enough that
//! some differences overflow the exp table.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_graph::ops::softmax::{CausalSoftmax, exp_table};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-softmax-test", 1)
}

const DIMS: [usize; 3] = [1, 17, 17];

fn model() -> &'static CausalSoftmax {
    static MODEL: std::sync::OnceLock<CausalSoftmax> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| CausalSoftmax::new(0, 8, 20, 16, exp_table(8, 20)))
}

/// The statement, built once (the exp table and its lookup table take milliseconds).
fn shape() -> &'static ZkSoftmaxShape {
    static SHAPE: std::sync::OnceLock<ZkSoftmaxShape> = std::sync::OnceLock::new();
    SHAPE.get_or_init(|| ZkSoftmaxShape { dims: DIMS, op: SoftmaxProof::from_model(model(), 20).unwrap(), head_vars: 0 })
}

/// Scores in `±2^19` (differences up to `2^20`, past the table's `2^16`), and their softmax.
fn scores() -> (Vec<i64>, Vec<i64>) {
    let n = DIMS.iter().product::<usize>();
    let x: Vec<i64> = (0..n).map(|i| ((i as i64 * 7919 * 7919) % (1 << 20)) - (1 << 19)).collect();
    let m = model();
    let mut p = vec![0; n];
    for (r, (row, o)) in x.chunks(DIMS[2]).zip(p.chunks_mut(DIMS[2])).enumerate() {
        m.eval_row(row, r % DIMS[1] + 1, o);
    }
    (x, p)
}

struct Commit {
    tables: Vec<Ideal>,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// Commits and proves a row maximum one off (the relation false).
    FalseMax,
    /// Runs on scores one entry off the committed ones.
    OtherX,
    /// Zero masks: the plain values.
    Plain,
    /// The public `eq(z, ·)` table forged at one entry (the sum unchanged: every bracket is 0 on
    /// the cube), so only the public tables' check can catch it.
    ForgedEq,
}

struct Case(Prover);

/// The committed tables at their own sizes, from the public op's witness.
fn own_tables(x: &[i64], p: &[i64]) -> Vec<Vec<F>> {
    let s = shape();
    let d = s.dims().unwrap();
    let c = s.op.columns(&d, x, p).unwrap();
    let f = |v: &[i64]| v.iter().map(|&a| zkinfer_field::from_i64_unchecked(a)).collect::<Vec<F>>();
    let mut own: Vec<Vec<F>> = vec![Vec::new(); 10];
    own[X] = d.cube.pad_i64(x);
    own[MB] = f(&c.max);
    own[S] = f(&c.onehot);
    own[D] = f(&c.delta);
    own[O] = f(&c.overflow);
    own[E] = c.exp;
    own[P] = d.cube.pad_i64(p);
    own[ZB] = f(&c.sum);
    own[R] = f(&c.rem);
    own[C] = c.slack;
    own
}

/// Commits `own` with fresh masks and proves with them (`plain`: zero cofactors).
fn commit_and_prove(own: Vec<Vec<F>>, prover_own: Vec<Vec<F>>, plain: bool, forge: &dyn Fn(&mut [Vec<EF>]), binding_zero: bool, rng: &mut StdRng) -> (Vec<u8>, Commit, ZkSoftmaxClaims) {
    let s = shape();
    let d = s.dims().unwrap();
    let ms = zk_softmax_mask_shape(s).unwrap();
    let mut mask = SumcheckMask::sample(ms, rng).expect("mask");
    let tables: Vec<Ideal> = own.into_iter().map(|v| Ideal::new(v, true, rng)).collect();
    let mask_table = Ideal::new(mask.table().to_vec(), false, rng);
    let binding: Vec<F> = if binding_zero { vec![F::ZERO; 4] } else { (0..4).map(|_| rng.random()).collect() };
    for j in 0..ms.num_rounds {
        mask.add_vanishing_term(j, mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
    }
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &binding);
    let cof = |j: usize, p: &[EF]| if plain { EF::ZERO } else { tables[j].cofactor(p, p.len() - 1) };
    let c = prove_forged(s, &d, prover_own, &cof, &mask, &mut t, forge).expect("prove");
    (t.into_proof(), Commit { tables, mask_table, binding }, c)
}

impl Case {
    fn run(&self, seed: u64) -> Run<Commit, ZkSoftmaxClaims> {
        let mut rng = StdRng::seed_from_u64(seed);
        let (x, p) = scores();
        let mut own = own_tables(&x, &p);
        if self.0 == Prover::FalseMax {
            own[MB][3] += F::ONE;
        }
        let prover_own = if self.0 == Prover::OtherX {
            let mut x2 = x.clone();
            x2[40] += 1;
            let mut p2 = vec![0; p.len()];
            for (r, (row, o)) in x2.chunks(DIMS[2]).zip(p2.chunks_mut(DIMS[2])).enumerate() {
                model().eval_row(row, r % DIMS[1] + 1, o);
            }
            let mut o2 = own_tables(&x2, &p2);
            // Only x differs from the commitment: the other columns are the committed ones.
            for j in (0..10).filter(|&j| j != X) {
                o2[j] = own[j].clone();
            }
            o2
        } else {
            own.clone()
        };
        let forge = |pubs: &mut [Vec<EF>]| {
            if self.0 == Prover::ForgedEq {
                pubs[3][5] += EF::from_u64(17);
            }
        };
        let (proof, com, c) = commit_and_prove(own, prover_own, self.0 == Prover::Plain, &forge, false, &mut rng);
        let nr = shape().dims().unwrap().rows.num_vars();
        let plain = (0..10).map(|j| mle(&com.tables[j].table, &c.claim(j, nr).point)).collect();
        Run { proof, com, claims: c, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkSoftmaxClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let c = verify_softmax_zk(shape(), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkSoftmaxClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkSoftmaxClaims> {
        Case(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkSoftmaxClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let nr = shape().dims().unwrap().rows.num_vars();
        for (j, name) in [(X, "x"), (MB, "max"), (S, "onehot"), (D, "delta"), (O, "overflow"), (E, "exp"), (P, "p"), (ZB, "sum"), (R, "rem"), (C, "slack")] {
            let cl = c.claim(j, nr);
            if com.tables[j].hat(&cl.point) != cl.value {
                return Err(format!("{name} does not open"));
            }
        }
        for (p, v) in &c.mask_claims {
            if com.mask_table.hat(p) != *v {
                return Err("mask does not open".into());
            }
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkSoftmaxClaims) -> Vec<EF> {
        (0..10).map(|j| c.values[j]).collect()
    }

    /// The honest prover on the fake witness of the module docs, with fresh masks.
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let d = shape().dims().unwrap();
        let (nc, nr, tv) = (d.cube.num_vars(), d.rows.num_vars(), d.len_vars());
        let mut own: Vec<Vec<F>> = (0..10).map(|j| vec![F::ZERO; 1 << if j == MB || j == ZB { nr } else { nc }]).collect();
        for i in 0..DIMS[1] {
            own[S][i << tv] = F::ONE;
            for j in 0..DIMS[2] {
                own[C][(i << tv) + j] = -F::ONE;
            }
        }
        commit_and_prove(own.clone(), own, false, &|_: &mut [Vec<EF>]| {}, true, rng).0
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_softmax_verifies_opens_and_hides() {
    honest_runs_verify_and_hide(&Case(Prover::Honest), [10, 11]);
}

/// A false row maximum (caught by the sumcheck), scores other than the committed ones (caught at
/// their opening), the plain values (caught at the openings), a forged public `eq` table with the
/// sum unchanged (caught by the public tables' check only), every flipped limb, a truncation;
/// bad statements refused.
#[test]
fn tampered_zk_softmaxes_are_rejected() {
    let case = Case(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    let f = Case(Prover::FalseMax).run(21);
    assert!(case.check(&f.proof, &f.com).expect_err("false max").contains("sumcheck"));
    let o = Case(Prover::OtherX).run(22);
    assert_eq!(case.check(&o.proof, &o.com).expect_err("other x"), "x does not open");
    let p = Case(Prover::Plain).run(23);
    assert!(case.check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
    let e = Case(Prover::ForgedEq).run(24);
    assert!(case.check(&e.proof, &e.com).expect_err("forged eq").contains("public table"));
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let op = SoftmaxProof::from_model(model(), 20).unwrap();
    for (dims, why) in [([1, 16, 16], "4 row variables"), ([1, 17, 18], "not square"), ([0, 17, 17], "no head")] {
        let e = verify_softmax_zk(&ZkSoftmaxShape { dims, op: op.clone(), head_vars: 0 }, &mut t).expect_err(why);
        assert!(e.to_string().contains("shape"), "{why}: {e}");
    }
    let s = shape();
    let mask = SumcheckMask::sample(zk_softmax_mask_shape(s).unwrap(), &mut StdRng::seed_from_u64(1)).unwrap();
    let z = |_: usize, _: &[EF]| EF::ZERO;
    let mut t = ProverTranscript::new(&ds());
    assert!(prove_softmax_zk(s, &[1, 2], &[1, 2], &z, &mask, &mut t).is_err(), "lengths");
    let big = vec![1i64 << 21; DIMS.iter().product()];
    assert!(prove_softmax_zk(s, &big, &big, &z, &mask, &mut t).is_err(), "scores above their bound");
}

#[test]
fn simulated_zk_softmaxes_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(41);
    simulated_proofs_match(&Case(Prover::Honest), 300, &mut rng, 17_000, 24);
}
