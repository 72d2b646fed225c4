//! Tests of the zk RoPE with an ideal hiding commitment in the real mask layout
//! (`crate::zk_testkit::Ideal`): `x`, `y`, `r` (`Vanishing::All`; `r`'s mask tied to `R_u` by
//! `tied_remainder_mask`), `u`'s `R` table and the sumcheck mask table (`Vanishing::Last`);
//! `x: [2, 5, 8]` with 6 rotated columns (two pass through), `F = 16`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_graph::ops::IntOp;
use zkinfer_graph::ops::rope::Rope;
use zkinfer_graph::{IntTensor, Operand as MOperand};
use zkinfer_sumcheck::zk::{prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_rescale::{mask_table_len, tied_remainder_mask};
use crate::zk_testkit::{Ideal, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-rope-test", 1)
}

const DIMS: [usize; 3] = [2, 5, 8];

fn model() -> &'static Rope {
    static MODEL: std::sync::OnceLock<Rope> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| Rope::new(6, 10000.0, 16, 40).expect("rope"))
}

fn positions() -> Vec<i64> {
    (0..DIMS[1]).map(|i| (3 + 5 * i as i64) % 40).collect()
}

fn shape() -> ZkRopeShape {
    let m = model();
    ZkRopeShape { dims: DIMS, op: RopeProof { n_rot: 6, frac: 16, n_ctx: 40, table: m.table.clone(), in_bits: 20, out_bits: 21 }, positions: positions() }
}

fn input() -> Vec<i64> {
    (0..DIMS.iter().product::<usize>()).map(|i| ((i as i64 * 7919 * 31) % (1 << 20)) - (1 << 19)).collect()
}

struct Commit {
    x: Ideal,
    y: Ideal,
    r: Ideal,
    u_table: Ideal,
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
    /// Runs the rotation on an `x` one entry off the committed one.
    OtherX,
    /// Sends the plain `y(z)` and `r̂(z) + 2^F·(ŷ(z) − y(z))`, so the derived claim is right.
    PlainY,
    /// The public table `P` forged at a padding row (where `x = 0`: the sum unchanged).
    ForgedP,
}

struct Case(Prover);

impl Case {
    fn run(&self, seed: u64) -> Run<Commit, ZkRopeClaims> {
        let how = self.0;
        let s = shape();
        let d = s.dims().unwrap();
        let x = input();
        // `OtherX`: the output and remainder of `x2` (an `x` one entry off), committed next to the
        // real `x`; the rotation then runs on `x2`, consistently with `y`, `r`.
        let mut x2 = x.clone();
        x2[12] += 1;
        let (mut y, r) = rope_outputs(&s, if how == Prover::OtherX { &x2 } else { &x }).unwrap();
        if how == Prover::BumpY {
            y[9] += 1;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let ms = zk_rope_mask_shape(&s).unwrap();
        let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
        let vm = VirtualMask::sample(&mut rng);
        let y_com = Ideal::new(padded(&y, &DIMS), true, &mut rng);
        let r_com = if how == Prover::Untied {
            let a = vm.degree_bits();
            let m: Vec<F> = (0..mask_table_len(4, a)).map(|_| rng.random()).collect();
            Ideal::with_mask(padded(&r, &DIMS), true, m, a)
        } else {
            let tied = tied_remainder_mask(&vm, &y_com.mask, y_com.a, y_com.mu(), 16).expect("tie");
            Ideal::with_mask(padded(&r, &DIMS), true, tied.table, tied.degree_bits)
        };
        let com = Commit {
            x: Ideal::new(padded(&x, &DIMS), true, &mut rng),
            y: y_com,
            r: r_com,
            u_table: Ideal::new(vm.table().to_vec(), false, &mut rng),
            mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
            vm,
            binding: (0..4).map(|_| rng.random()).collect(),
        };
        for j in 0..ms.num_rounds {
            mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
        }
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &com.binding);
        let y_hat = |z: &[EF]| com.y.hat(z);
        let y_plain = |z: &[EF]| mle(&com.y.table, z);
        let r_hat = |z: &[EF]| com.r.hat(z);
        let pow_f = EF::TWO.exp_u64(16);
        let r_comp = |z: &[EF]| com.r.hat(z) + pow_f * (com.y.hat(z) - mle(&com.y.table, z));
        let x_cof = |z: &[EF]| com.x.cofactor(z, z.len() - 1);
        let u_hat = |a: EF, w: EF| com.vm.value(a, w) + vanish(w) * com.u_table.m(&com.vm.point(a, w));
        let masks = if how == Prover::PlainY {
            ZkRopeMasks { y_hat: &y_plain, r_hat: &r_comp, x_cof: &x_cof, u_hat: &u_hat }
        } else {
            ZkRopeMasks { y_hat: &y_hat, r_hat: &r_hat, x_cof: &x_cof, u_hat: &u_hat }
        };
        let c = match how {
            Prover::OtherX => prove_rope_zk(&s, &x2, &masks, &mask, &mut t).expect("prove"),
            Prover::ForgedP => {
                let xt: Vec<EF> = d.cube.pad_i64(&x).into_iter().map(EF::from).collect();
                // Row 6 of head 0 (rows ≥ 5 are padding): x is 0 there.
                prove_with(&s, &d, xt, &masks, &mask, &mut t, &|p: &mut [EF]| p[6 * 8 + 1] += EF::from_u64(17)).expect("forged")
            }
            _ => prove_rope_zk(&s, &x, &masks, &mask, &mut t).expect("prove"),
        };
        let plain = vec![mle(&com.y.table, &c.y.point), mle(&com.r.table, &c.r.point), mle(&com.x.table, &c.x.point)];
        Run { proof: t.into_proof(), com, claims: c, plain }
    }
}

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkRopeClaims, VerifierTranscript<'a>), String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let c = verify_rope_zk(&shape(), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkRopeClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkRopeClaims> {
        Case(Prover::Honest).run(seed)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkRopeClaims, String> {
        let (c, t) = verify_rounds(proof, &com.binding)?;
        t.finish().map_err(|e| e.to_string())?;
        let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
        open(com.x.hat(&c.x.point) == c.x.value, "x")?;
        open(com.y.hat(&c.y.point) == c.y.value, "y")?;
        open(com.r.hat(&c.r.point) == c.r.value, "r")?;
        let (a, w, v) = c.u_r;
        open(com.u_table.hat(&com.vm.point(a, w)) == v, "R")?;
        for (p, v) in &c.mask_claims {
            open(com.mask_table.hat(p) == *v, "mask")?;
        }
        Ok(c)
    }

    fn sent(&self, c: &ZkRopeClaims) -> Vec<EF> {
        vec![c.y.value, c.r.value, c.x.value, c.u_r.2]
    }

    /// `ŷ(z)`, `r̂(z)` uniform, a random instance's masked rounds from `û(z)`, `R̂_u` uniform, the
    /// public `P(ρ)`, `x̂(ρ)` solved.
    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
        let s = shape();
        let d = s.dims().unwrap();
        let n = d.cube.num_vars();
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let (yv, rv): (EF, EF) = (rng.random(), rng.random());
        let rc = prove_rescale_zk(&s.rescale(), &|_: &[EF]| yv, &|_: &[EF]| rv, &mut t).unwrap();
        let z = rc.x.point.clone();
        let ms = zk_rope_mask_shape(&s).unwrap();
        let mut inst = random_instance(n, ms.degree, rc.x.value, rng);
        let mask = SumcheckMask::sample(ms, rng).expect("mask");
        let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
        let rho = out.inner.point;
        let pv = s.weight_at(&d, &z, &rho).unwrap();
        let e: EF = rng.random();
        let f = out.inner.final_evals[0][0] - output_coeff(&z, n) * e;
        t.send_exts(&[f * pv.inverse(), pv]);
        t.send_ext(e);
        t.into_proof()
    }

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

/// `rope_outputs` is the graph op's semantics.
#[test]
fn rope_outputs_are_the_graph_ops() {
    let x = input();
    let xt = IntTensor { shape: DIMS.to_vec(), data: x.clone() };
    let pt = IntTensor { shape: vec![DIMS[1]], data: positions() };
    let y = model().eval_int(&[MOperand::Act(&xt), MOperand::Act(&pt)]).expect("eval").data;
    let (ours, r) = rope_outputs(&shape(), &x).unwrap();
    assert_eq!(ours, y);
    assert!(r.iter().all(|&v| (0..1 << 16).contains(&v)));
}

#[test]
fn zk_ropes_verify_open_and_hide() {
    honest_runs_verify_and_hide(&Case(Prover::Honest), [10, 11]);
}

/// The untied remainder mask (the tie's control: an honest proof then fails the rotation
/// sumcheck), a false output entry (sumcheck), an `x` other than the committed one with `y`, `r`
/// its outputs (caught at `x`'s opening), the plain `y(z)` with a compensating `r̂(z)` (passes both sumchecks, caught at `y`'s
/// opening), a forged public `P` at a padding row (caught by the public check only), every
/// flipped limb, a truncation; bad statements refused.
#[test]
fn tampered_zk_ropes_are_rejected() {
    let case = Case(Prover::Honest);
    flipped_limbs_are_rejected(&case, &case.run(20));
    let u = Case(Prover::Untied).run(21);
    assert!(case.check(&u.proof, &u.com).expect_err("untied").contains("sumcheck"));
    let b = Case(Prover::BumpY).run(22);
    assert!(case.check(&b.proof, &b.com).expect_err("false y").contains("sumcheck"));
    let o = Case(Prover::OtherX).run(23);
    assert_eq!(case.check(&o.proof, &o.com).expect_err("other x"), "x does not open");
    let p = Case(Prover::PlainY).run(24);
    assert_eq!(case.check(&p.proof, &p.com).expect_err("plain y"), "y does not open");
    let f = Case(Prover::ForgedP).run(25);
    assert!(case.check(&f.proof, &f.com).expect_err("forged P").contains("public rotation table"));
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let bad = |dims: [usize; 3], n_pos: usize| ZkRopeShape { dims, positions: vec![0; n_pos], ..shape() };
    let shape_err = |r: Result<ZkRopeClaims, ProofError>| r.expect_err("refused").to_string().contains("shape");
    assert!(shape_err(verify_rope_zk(&bad([1, 2, 6], 2), &mut t)), "4 variables");
    assert!(shape_err(verify_rope_zk(&bad([2, 5, 8], 4), &mut t)), "positions length");
    assert!(shape_err(verify_rope_zk(&bad([2, 5, 7], 5), &mut t)), "odd head size");
    assert!(shape_err(verify_rope_zk(&ZkRopeShape { positions: vec![40; 5], ..shape() }, &mut t)), "position outside the table");
    let s = shape();
    let mask = SumcheckMask::sample(zk_rope_mask_shape(&s).unwrap(), &mut StdRng::seed_from_u64(1)).unwrap();
    let z = |_: &[EF]| EF::ZERO;
    let zz = |_: EF, _: EF| EF::ZERO;
    let m = ZkRopeMasks { y_hat: &z, r_hat: &z, x_cof: &z, u_hat: &zz };
    let mut t = ProverTranscript::new(&ds());
    assert!(prove_rope_zk(&s, &[1, 2], &m, &mask, &mut t).is_err(), "input length");
    assert!(prove_rope_zk(&s, &vec![1 << 21; 80], &m, &mask, &mut t).is_err(), "input above its bound");
}

#[test]
fn simulated_zk_ropes_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(41);
    simulated_proofs_match(&Case(Prover::Honest), 300, &mut rng, 17_000, 24);
}

/// Why the zk RoPE makes ONE claim on `x` (module docs): two reads of a randomised extension at
/// points differing only in the last coordinate carry the same mask value, so their difference
/// is the plain `x(ρ) − x(flip ρ)` — for a committed `x` (PCS mask over the first four
/// variables, `Vanishing::All`) and for a virtual one (`R` mask read at the first coordinate).
/// Both reads are themselves masked (the control: each differs from the plain value).
#[test]
fn two_reads_differing_in_the_last_coordinate_leak() {
    let mut rng = StdRng::seed_from_u64(7);
    let xt = padded(&input(), &DIMS);
    let rho: Vec<EF> = (0..xt.len().trailing_zeros()).map(|_| rng.random()).collect();
    let mut flipped = rho.clone();
    let last = flipped.len() - 1;
    flipped[last] = EF::ONE - flipped[last];
    let plain = mle(&xt, &rho) - mle(&xt, &flipped);
    let committed = Ideal::new(xt.clone(), true, &mut rng);
    assert_ne!(committed.hat(&rho), mle(&xt, &rho), "control: one read is masked");
    assert_eq!(committed.hat(&rho) - committed.hat(&flipped), plain, "committed x: the difference is plain");
    let vm = VirtualMask::sample(&mut rng);
    let hat = |p: &[EF]| vm.hat(mle(&xt, p), p);
    assert_ne!(hat(&rho), mle(&xt, &rho), "control: one read is masked");
    assert_eq!(hat(&rho) - hat(&flipped), plain, "virtual x: the difference is plain");
    // The zk RoPE reads x once, at a point with no boolean coordinate.
    let run = Case(Prover::Honest).run(8);
    assert!(run.claims.x.point.iter().all(|&c| c != EF::ZERO && c != EF::ONE));
}
