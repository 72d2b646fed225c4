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
        other.map = map.map.iter().map(|m| m.map(|m| (m + 1) % n_in)).collect();
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
                for (&a, k) in map.moved_in.iter().zip(decompose(map.map[0].unwrap(), &in_sizes)) {
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
    // The column slice's refusals (ported from the removed `zk_slice` tests, same messages): a
    // slice outside the input; an input of fewer than 5 variables (this prover sums over all of
    // `x`'s variables, rows and columns, so `[3, 16]` (2 + 4) proves while `[1, 16]` and `[2, 8]`
    // (4 each) are refused); a claim of another dimension.
    for (rows, cols, start, len, what) in [(3, 40, 30, 20, "a slice outside the input"), (3, 40, 0, 41, "a slice outside the input"), (3, 40, usize::MAX, 2, "a slice outside the input"), (1, 16, 0, 16, "needs an input of ≥ 5 variables"), (2, 8, 0, 4, "needs an input of ≥ 5 variables")] {
        let e = ZkIndexMap::slice_cols(rows, cols, start, len).expect_err(what).to_string();
        assert!(e.contains("SliceCols (zk)") && e.contains(what), "[{rows}, {cols}] from {start}, {len}: {e}");
    }
    assert!(ZkIndexMap::slice_cols(3, 16, 0, 16).is_ok(), "2 + 4 variables");
    let s = &maps()[4];
    assert_eq!(s.op(), "SliceCols (zk)");
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert!(verify_index_map_zk(s, &Claim::new(vec![EF::TWO; s.claim_vars() - 1], EF::ONE), &mut t).expect_err("claim dimension").to_string().contains("claim point dimension"));
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

// ------------------------------------------------------------------------------ ConcatSeq

/// `past: [2, 3, 8]`, `new: [2, 2, 8]` → `[2, 5, 8]`.
const CAT: (usize, usize, usize, usize) = (2, 3, 2, 8);

struct CatCommit {
    x: [Ideal; 2],
    r: [Ideal; 2],
    vm: [VirtualMask; 2],
    mask_table: [Ideal; 2],
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum CatProver {
    Honest,
    /// Sends the first part's share off by one (each part then proves its own claim).
    BadShare,
    /// The past part with a zero cofactor (its plain values).
    PlainPast,
}

struct CatCase(CatProver);

fn cat_maps() -> [ZkIndexMap; 2] {
    ZkIndexMap::concat_seq(CAT.0, CAT.1, CAT.2, CAT.3).unwrap()
}

impl CatCase {
    fn run(&self, seed: u64) -> Run<CatCommit, ZkConcatClaims> {
        let maps = cat_maps();
        let ins: Vec<Vec<i64>> = maps.iter().map(input).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut masks: Vec<SumcheckMask> = maps.iter().map(|m| SumcheckMask::sample(zk_index_map_mask_shape(m), &mut rng).expect("mask")).collect();
        let vm = [VirtualMask::sample(&mut rng), VirtualMask::sample(&mut rng)];
        let com = CatCommit {
            x: [Ideal::new(padded(&ins[0], &maps[0].in_dims), true, &mut rng), Ideal::new(padded(&ins[1], &maps[1].in_dims), true, &mut rng)],
            r: [Ideal::new(vm[0].table().to_vec(), false, &mut rng), Ideal::new(vm[1].table().to_vec(), false, &mut rng)],
            mask_table: [Ideal::new(masks[0].table().to_vec(), false, &mut rng), Ideal::new(masks[1].table().to_vec(), false, &mut rng)],
            vm,
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for (k, mask) in masks.iter_mut().enumerate() {
            let ms = zk_index_map_mask_shape(&maps[k]);
            for j in 0..ms.num_rounds {
                mask.add_vanishing_term(j, com.mask_table[k].m(&ms.claim_point(j, EF::ZERO))).expect("fold");
            }
        }
        // y = concat(past, new) along the rows, per head.
        let (h, p, n, d) = CAT;
        let mut y = Vec::new();
        for hh in 0..h {
            y.extend_from_slice(&ins[0][hh * p * d..(hh + 1) * p * d]);
            y.extend_from_slice(&ins[1][hh * n * d..(hh + 1) * n * d]);
        }
        assert_eq!(y, (0..y.len()).map(|i| maps[0].apply(&ins[0]).unwrap()[i] + maps[1].apply(&ins[1]).unwrap()[i]).collect::<Vec<_>>());
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let point = t.challenge_exts(maps[0].claim_vars());
        let y_plain = mle(&padded(&y, &maps[0].out_dims), &point);
        let value = com.vm[1].hat(com.vm[0].hat(y_plain, &point), &point);
        t.send_ext(value);
        let zero = |_: &[EF]| EF::ZERO;
        let c0 = |z: &[EF]| com.x[0].cofactor(z, z.len() - 1);
        let c1 = |z: &[EF]| com.x[1].cofactor(z, z.len() - 1);
        let r0 = |w: EF| com.vm[0].value(point[0], w) + vanish(w) * com.r[0].m(&com.vm[0].point(point[0], w));
        let r1 = |w: EF| com.vm[1].value(point[0], w) + vanish(w) * com.r[1].m(&com.vm[1].point(point[0], w));
        let past_cof: &(dyn Fn(&[EF]) -> EF + Sync) = if self.0 == CatProver::PlainPast { &zero } else { &c0 };
        let parts = [ZkConcatPart { x_cof: past_cof, r_hat: &r0, mask: &masks[0] }, ZkConcatPart { x_cof: &c1, r_hat: &r1, mask: &masks[1] }];
        let claim = Claim::new(point.clone(), value);
        let c = if self.0 == CatProver::BadShare {
            // The honest share plus one, then each part proves its (now false) claim.
            let share = maps[0].padded_input(&ins[0]).iter().zip(maps[0].selector(&point)).map(|(&a, b)| a * b).sum::<EF>()
                + output_coeff(&point, 1) * (r0(EF::ZERO) + r0(EF::ONE))
                + EF::ONE;
            t.send_ext(share);
            let past = prove_index_map_zk(&maps[0], &ins[0], &Claim::new(point.clone(), share), parts[0].x_cof, parts[0].r_hat, parts[0].mask, &mut t).expect("past");
            let new = prove_index_map_zk(&maps[1], &ins[1], &Claim::new(point.clone(), value - share), parts[1].x_cof, parts[1].r_hat, parts[1].mask, &mut t).expect("new");
            ZkConcatClaims { past, new }
        } else {
            prove_concat_zk(&maps, [&ins[0], &ins[1]], &claim, [&parts[0], &parts[1]], &mut t).expect("prove")
        };
        // The parts' plain values at the claim point (y_1(r), y_2(r)) too: the share is masked.
        let part = |k: usize| mle(&padded(&maps[k].apply(&ins[k]).unwrap(), &maps[k].out_dims), &point);
        let plain = vec![y_plain, part(0), part(1), mle(&com.x[0].table, &c.past.x.point), mle(&com.x[1].table, &c.new.x.point)];
        Run { proof: t.into_proof(), com, claims: c, plain }
    }

    fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkConcatClaims, VerifierTranscript<'a>), String> {
        let maps = cat_maps();
        let mut t = VerifierTranscript::new(&ds(), proof);
        t.absorb_public_fields("test/commitment", binding);
        let point = t.challenge_exts(maps[0].claim_vars());
        let value = t.receive_ext().map_err(|e| e.to_string())?;
        let c = verify_concat_zk(&maps, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
        Ok((c, t))
    }
}

impl ZkOpCase for CatCase {
    type Com = CatCommit;
    type Claims = ZkConcatClaims;

    fn honest(&self, seed: u64) -> Run<CatCommit, ZkConcatClaims> {
        CatCase(CatProver::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &CatCommit) -> Result<ZkConcatClaims, String> {
        let (c, t) = Self::verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        for (k, part) in [&c.past, &c.new].into_iter().enumerate() {
            if com.x[k].hat(&part.x.point) != part.x.value {
                return Err(format!("input {k} does not open"));
            }
            let (a, w, v) = part.r;
            if com.r[k].hat(&com.vm[k].point(a, w)) != v {
                return Err(format!("R {k} does not open"));
            }
            if part.mask_claims.iter().any(|(p, v)| com.mask_table[k].hat(p) != *v) {
                return Err(format!("mask {k} does not open"));
            }
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkConcatClaims) -> Vec<EF> {
        vec![c.past.x.value, c.new.x.value, c.past.r.2, c.new.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let maps = cat_maps();
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(maps[0].claim_vars());
        let (value, share): (EF, EF) = (rng.random(), rng.random());
        t.send_ext(value);
        t.send_ext(share);
        for (m, claim) in maps.iter().zip([share, value - share]) {
            let n = m.in_vars();
            let ms = zk_index_map_mask_shape(m);
            let mut inst = random_instance(n, ms.degree, claim, rng);
            let mask = SumcheckMask::sample(ms, rng).expect("mask");
            let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
            let sel = m.selector_at(&point, &out.inner.point);
            let e: EF = rng.random();
            let a = (out.inner.final_evals[0][0] - output_coeff(&point, n) * e) * sel.inverse();
            t.send_exts(&[a, sel]);
            t.send_ext(e);
        }
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = Self::verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

/// ConcatSeq's two partial maps: the parts add up to the graph op's output; honest proofs verify,
/// open, hide and share no 16-byte window; a false share (the first part's sumcheck rejects), the
/// past part's plain values (caught at its opening), every flipped limb and a truncation are
/// rejected; an input of 4 variables is refused; simulated proofs match over 300 runs.
#[test]
fn zk_concat_proves_two_partial_maps() {
    use zkinfer_graph::ops::{IntOp, Operand};
    let maps = cat_maps();
    let (h, p, n, d) = CAT;
    let a = zkinfer_graph::tensor::IntTensor { shape: vec![h, p, d], data: input(&maps[0]) };
    let b = zkinfer_graph::tensor::IntTensor { shape: vec![h, n, d], data: input(&maps[1]) };
    let y = zkinfer_graph::ops::concat::ConcatSeq.eval_int(&[Operand::Act(&a), Operand::Act(&b)]).expect("eval").data;
    let sum: Vec<i64> = maps[0].apply(&a.data).unwrap().iter().zip(maps[1].apply(&b.data).unwrap()).map(|(x, y)| x + y).collect();
    assert_eq!(sum, y);
    let case = CatCase(CatProver::Honest);
    honest_runs_verify_and_hide(&case, [70, 71]);
    flipped_limbs_are_rejected(&case, &case.run(72));
    let s = CatCase(CatProver::BadShare).run(73);
    assert!(case.check(&s.proof, &s.com).expect_err("bad share").contains("sumcheck"));
    let q = CatCase(CatProver::PlainPast).run(74);
    assert_eq!(case.check(&q.proof, &q.com).expect_err("plain past"), "input 0 does not open");
    assert!(ZkIndexMap::concat_seq(1, 1, 1, 8).is_err(), "4 variables");
    let mut rng = StdRng::seed_from_u64(75);
    simulated_proofs_match(&case, 300, &mut rng, 27_000, 76);
}
