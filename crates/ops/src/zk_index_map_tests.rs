//! Tests of the zk index maps with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): the input `x` (`Vanishing::All`), the output's `R` table and the
//! sumcheck mask table (`Vanishing::Last`). Five maps: a head split and merge with a head size
//! that is not a power of two (`[3, 36] ↔ [3, 3, 12]`), a row gather with a repeated row
//! (`[5, 40] → [3, 40]`), a KV-head repeat (`[2, 3, 8] → [6, 3, 8]`) and a column slice.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_sumcheck::zk::{prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-index-map-test", 1)
}

fn maps() -> Vec<ZkIndexMap> {
    vec![
        ZkIndexMap::split_heads(3, 3, 12).unwrap(),
        ZkIndexMap::merge_heads(3, 3, 12).unwrap(),
        ZkIndexMap::gather_rows(&[4, 0, 4], 5, 40).unwrap(),
        ZkIndexMap::repeat_kv(2, 3, 3, 8).unwrap(),
        ZkIndexMap::slice_cols(3, 40, 8, 20).unwrap(),
    ]
}

struct Commit {
    x: Ideal,
    r: Ideal,
    vm: VirtualMask,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    /// Runs on an `x` one entry off the committed one (an entry the map reads).
    OtherX,
    /// Zero masks: the plain values.
    Plain,
    /// Adds `ε` to the public selector at the input's first entry, the claim recomputed from the
    /// forged tables.
    ForgedSel,
    /// Proves the statement of another map (`other`) while the verifier checks `map`.
    OtherMap,
}

struct Case {
    map: ZkIndexMap,
    /// The map a [`Prover::OtherMap`] prover uses.
    other: ZkIndexMap,
    prover: Prover,
}

fn input(map: &ZkIndexMap) -> Vec<i64> {
    (0..map.in_dims.iter().product::<usize>()).map(|i| ((i as i64 * 7919) % 2001) - 1000).collect()
}

impl Case {
    fn new(map: ZkIndexMap) -> Self {
        // Another map of the same shapes: the moved map shifted by one (mod its range).
        let n_in: usize = map.moved_in.iter().map(|&a| map.in_dims[a]).product();
        let mut other = map.clone();
        other.map = map.map.iter().map(|&m| (m + 1) % n_in).collect();
        Self { map, other, prover: Prover::Honest }
    }

    fn with(&self, prover: Prover) -> Self {
        Self { map: self.map.clone(), other: self.other.clone(), prover }
    }

    fn run(&self, seed: u64) -> Run<Commit, ZkIndexMapClaims> {
        let map = &self.map;
        let x0 = input(map);
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = zk_index_map_mask_shape(map);
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let vm = VirtualMask::sample(&mut rng);
        let com = Commit {
            x: Ideal::new(padded(&x0, &map.in_dims), true, &mut rng),
            r: Ideal::new(vm.table().to_vec(), false, &mut rng),
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            vm,
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut x = x0.clone();
        if self.prover == Prover::OtherX {
            // An entry every map here reads: the input's last logical entry... or the one the
            // first output entry reads.
            let i = compose(&{
                let mut ii = vec![0; map.in_dims.len()];
                let in_sizes: Vec<usize> = map.moved_in.iter().map(|&a| map.in_dims[a]).collect();
                for (&a, k) in map.moved_in.iter().zip(decompose(map.map[0], &in_sizes)) {
                    ii[a] = k;
                }
                ii
            }, &map.in_dims);
            x[i] += 1;
        }
        let prover_map = if self.prover == Prover::OtherMap { &self.other } else { map };
        let y = prover_map.apply(&x).expect("apply");
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let point = t.challenge_exts(map.claim_vars());
        let y_plain = mle(&padded(&y, &map.out_dims), &point);
        let value = com.vm.hat(y_plain, &point);
        t.send_ext(value);
        let zero = |_: &[EF]| EF::ZERO;
        let cx = |z: &[EF]| com.x.cofactor(z, z.len() - 1);
        let r_hat = |w: EF| com.vm.value(point[0], w) + vanish(w) * com.r.m(&com.vm.point(point[0], w));
        let xc: &(dyn Fn(&[EF]) -> EF + Sync) = if self.prover == Prover::Plain { &zero } else { &cx };
        let c = if self.prover == Prover::ForgedSel {
            let a = map.padded_input(&x);
            let mut sel = map.selector(&point);
            sel[0] += EF::from_u64(17);
            let forged = a.iter().zip(&sel).map(|(&p, &q)| p * q).sum::<EF>() + (value - y_plain);
            let mut t2 = ProverTranscript::new(&ds());
            t2.absorb_public_fields("test/commitment", &com.binding);
            let _ = t2.challenge_exts(map.claim_vars());
            t2.send_ext(forged);
            let c = prove_with_tables(map, a, sel, &Claim::new(point.clone(), forged), xc, &r_hat, &mask, &mut t2).expect("forged");
            return Run { proof: t2.into_proof(), com, claims: c, plain: vec![y_plain] };
        } else {
            prove_index_map_zk(prover_map, &x, &Claim::new(point.clone(), value), xc, &r_hat, &mask, &mut t).expect("prove")
        };
        let plain = vec![y_plain, mle(&com.x.table, &c.x.point)];
        Run { proof: t.into_proof(), com, claims: c, plain }
    }

    fn verify_rounds<'a>(&self, proof: &'a [u8], binding: &[F]) -> Result<(ZkIndexMapClaims, VerifierTranscript<'a>), String> {
        let mut t = VerifierTranscript::new(&ds(), proof);
        t.absorb_public_fields("test/commitment", binding);
        let point = t.challenge_exts(self.map.claim_vars());
        let value = t.receive_ext().map_err(|e| e.to_string())?;
        let c = verify_index_map_zk(&self.map, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
        Ok((c, t))
    }
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkIndexMapClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkIndexMapClaims> {
        self.with(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkIndexMapClaims, String> {
        let (c, t) = self.verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.x.hat(&c.x.point) == c.x.value, "x")?;
        let (a, w, v) = c.r;
        open(com.r.hat(&com.vm.point(a, w)) == v, "R")?;
        for (p, v) in &c.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkIndexMapClaims) -> Vec<EF> {
        vec![c.x.value, c.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let map = &self.map;
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(map.claim_vars());
        let value: EF = rng.random();
        t.send_ext(value);
        let n = map.in_vars();
        let ms = zk_index_map_mask_shape(map);
        let mut inst = random_instance(n, ms.degree, value, rng);
        let mask = SumcheckMask::sample(ms, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let sel = map.selector_at(&point, &out.inner.point);
        let e: EF = rng.random();
        let a = (out.inner.final_evals[0][0] - output_coeff(&point, n) * e) * sel.inverse();
        t.send_exts(&[a, sel]);
        t.send_ext(e);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = self.verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

/// The maps' semantics are the graph ops' (`zkinfer_graph`'s `eval_int`), and the prover's
/// selector table is the verifier's `Sel̃` (at a random point).
#[test]
fn index_maps_are_the_graph_ops_and_selectors_agree() {
    use zkinfer_graph::ops::{IntOp, Operand};
    use zkinfer_graph::tensor::IntTensor;
    let eval = |op: &dyn IntOp, ins: &[Operand<'_>]| op.eval_int(ins).expect("eval").data;
    let x = |dims: &[usize]| IntTensor { shape: dims.to_vec(), data: input(&ZkIndexMap::new("t", dims.to_vec(), dims.to_vec(), (0..dims.len()).map(|k| (k, k)).collect(), vec![0]).expect("identity")) };
    let ms = maps();
    let a = x(&[3, 36]);
    assert_eq!(ms[0].apply(&a.data).unwrap(), eval(&zkinfer_graph::ops::heads::SplitHeads { heads: 3 }, &[Operand::Act(&a)]));
    let b = x(&[3, 3, 12]);
    assert_eq!(ms[1].apply(&b.data).unwrap(), eval(&zkinfer_graph::ops::heads::MergeHeads, &[Operand::Act(&b)]));
    let c = x(&[5, 40]);
    let rows = IntTensor { shape: vec![3], data: vec![4, 0, 4] };
    assert_eq!(ms[2].apply(&c.data).unwrap(), eval(&zkinfer_graph::ops::gather::GatherRows, &[Operand::Act(&rows), Operand::Act(&c)]));
    let d = x(&[2, 3, 8]);
    assert_eq!(ms[3].apply(&d.data).unwrap(), eval(&zkinfer_graph::ops::repeat_kv::RepeatKv { group: 3 }, &[Operand::Act(&d)]));
    let e = x(&[3, 40]);
    assert_eq!(ms[4].apply(&e.data).unwrap(), eval(&zkinfer_graph::ops::slice::SliceCols { start: 8, len: 20 }, &[Operand::Act(&e)]));
    let mut rng = StdRng::seed_from_u64(5);
    for m in &ms {
        let r: Vec<EF> = (0..m.claim_vars()).map(|_| rng.random()).collect();
        let rho: Vec<EF> = (0..m.in_vars()).map(|_| rng.random()).collect();
        assert_eq!(mle_ef(&m.selector(&r), &rho), m.selector_at(&r, &rho), "{}", m.op());
        // Σ_j x(j)·Sel(j) = y(r).
        let xs = input(m);
        let s: EF = m.padded_input(&xs).iter().zip(m.selector(&r)).map(|(&a, b)| a * b).sum();
        assert_eq!(s, mle(&padded(&m.apply(&xs).unwrap(), &m.out_dims), &r), "{}", m.op());
    }
}

fn mle_ef(table: &[EF], point: &[EF]) -> EF {
    zkinfer_poly::Mle::new(table.to_vec()).evaluate(point)
}

#[test]
fn zk_index_maps_verify_open_and_hide() {
    for (k, m) in maps().into_iter().enumerate() {
        honest_runs_verify_and_hide(&Case::new(m), [10 + 2 * k as u64, 11 + 2 * k as u64]);
    }
}

/// Per map: an `x` other than the committed one (caught at its opening), the plain values, a
/// forged public selector with the claim recomputed (caught by the selector check only), the
/// statement of another map (caught by the selector check), every flipped limb, a truncation.
/// Bad statements: refused with an error.
#[test]
fn tampered_zk_index_maps_are_rejected() {
    for (k, m) in maps().into_iter().enumerate() {
        let case = Case::new(m);
        let s = 20 + 10 * k as u64;
        flipped_limbs_are_rejected(&case, &case.run(s));
        let o = case.with(Prover::OtherX).run(s + 1);
        assert_eq!(case.check(&o.proof, &o.com).expect_err("other x"), "x does not open", "{}", case.map.op());
        let p = case.with(Prover::Plain).run(s + 2);
        assert!(case.check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
        // Only the selector check catches a forged selector: the sumcheck passes (the check runs
        // after it) and the openings would too.
        let f = case.with(Prover::ForgedSel).run(s + 3);
        assert!(case.check(&f.proof, &f.com).expect_err("forged selector").contains("selector"), "{}", case.map.op());
        let q = case.with(Prover::OtherMap).run(s + 4);
        assert!(case.check(&q.proof, &q.com).expect_err("another map").contains("selector"), "{}", case.map.op());
    }
    let op = "t";
    assert!(ZkIndexMap::gather_rows(&[5], 5, 40).is_err(), "a row outside the input");
    assert!(ZkIndexMap::gather_rows(&[0], 2, 4).is_err(), "3 variables");
    assert!(ZkIndexMap::split_heads(3, 0, 12).is_err(), "no heads");
    assert!(ZkIndexMap::repeat_kv(2, 0, 3, 8).is_err(), "empty group");
    assert!(ZkIndexMap::slice_cols(3, 40, 30, 20).is_err(), "outside the input");
    assert!(ZkIndexMap::split_heads(usize::MAX, 3, usize::MAX).is_err(), "overflow");
    assert!(ZkIndexMap::new(op, vec![4, 40], vec![4, 40], vec![(0, 0), (0, 1)], vec![]).is_err(), "a dimension kept twice");
    assert!(ZkIndexMap::new(op, vec![4, 40], vec![5, 40], vec![(0, 0)], (0..40).collect()).is_err(), "kept sizes differ");
    assert!(ZkIndexMap::new(op, vec![4, 40], vec![4, 40], vec![(0, 0)], (0..39).collect()).is_err(), "map length");
    let m = &maps()[0];
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert!(verify_index_map_zk(m, &Claim::new(vec![EF::TWO; 7], EF::ONE), &mut t).expect_err("claim dimension").to_string().contains("shape"));
    let mut p = vec![EF::TWO; m.claim_vars()];
    p[3] = EF::ONE;
    assert!(verify_index_map_zk(m, &Claim::new(p, EF::ONE), &mut t).expect_err("boolean").to_string().contains("boolean"));
    let mut t = ProverTranscript::new(&ds());
    let mask = SumcheckMask::sample(zk_index_map_mask_shape(m), &mut StdRng::seed_from_u64(1)).unwrap();
    let z = |_: &[EF]| EF::ZERO;
    let rz = |_: EF| EF::ZERO;
    assert!(prove_index_map_zk(m, &[1, 2, 3], &Claim::new(vec![EF::TWO; m.claim_vars()], EF::ONE), &z, &rz, &mask, &mut t).is_err(), "input length");
}

#[test]
fn simulated_zk_index_maps_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(41);
    for (k, m) in maps().into_iter().enumerate() {
        simulated_proofs_match(&Case::new(m), 300, &mut rng, 17_000 + 1000 * k as u64, 24 + k as u64);
    }
}
