//! Tests of the `R` masks of virtual tensors with the masked product sumcheck: a producer
//! discharging a claim on `ŷ` ([`OutputMask`]), a consumer reading `ŷ` through its cofactor, and
//! the two composed. The hiding commitment is modelled by [`Fake`] (each committed table with a
//! random 16-entry randomised-extension mask in its first four variables, `Vanishing::Last`, the
//! shape `zkinfer_pcs::hiding` commits); every claim is checked against it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_field::BasedVectorSpace;
use zkinfer_poly::{eq_eval, eq_evals};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk::SumcheckMask;
use crate::zk_product::{
    OutputMask, ZkProductClaims, ZkProductSumcheck, base_instance, product_mask_shape, prove_product_zk, simulate_product_zk_with_output,
    verify_product_zk_with_output,
};
use crate::Term;
use crate::zk_testkit::same_distribution;

const N: usize = 6;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-virtual-test", 1)
}

fn mle(values: &[F], point: &[EF]) -> EF {
    eq_evals(point).iter().zip(values).map(|(&e, &v)| e * v).sum()
}

fn table(seed: u64) -> Vec<F> {
    (0..1u64 << N).map(|i| F::from_u64((i * 7919 + seed * 104_729) % 65_521)).collect()
}

/// The virtual tensor `y = A∘B` (entrywise; its producer proves `y(r) = Σ_x eq(r, x)·A(x)·B(x)`).
fn y_table(a: &[F], b: &[F]) -> Vec<F> {
    a.iter().zip(b).map(|(&x, &y)| x * y).collect()
}

const PRODUCER_TERMS: fn() -> Vec<Term> = || vec![(EF::ONE, vec![0, 1])];

/// The hiding commitment: named tables, each with a random 16-entry mask.
struct Fake {
    polys: Vec<Vec<F>>,
    masks: Vec<Vec<F>>,
}

impl Fake {
    fn new(polys: Vec<Vec<F>>, rng: &mut StdRng) -> Self {
        let masks = polys.iter().map(|_| (0..16).map(|_| rng.random::<F>()).collect()).collect();
        Self { polys, masks }
    }
    fn mask_value(&self, k: usize, z: &[EF]) -> EF {
        mle(&self.masks[k], &z[..4])
    }
    fn eval(&self, k: usize, z: &[EF]) -> Option<EF> {
        let last = *z.last()?;
        (1usize << z.len() == self.polys[k].len()).then(|| mle(&self.polys[k], z) + vanish(last) * self.mask_value(k, z))
    }
    fn binding(&self) -> Vec<F> {
        self.masks.concat()
    }
}

/// Indices of the producer's commitment (`A` at 0, `B` at 1).
const MASK: usize = 2;
const R: usize = 3;

/// The randomised extension of the committed `R` table along `w` at `a`.
fn r_hat(vm: &VirtualMask, fake: &Fake, a: EF, w: EF) -> EF {
    vm.value(a, w) + vanish(w) * fake.mask_value(R, &vm.point(a, w))
}

/// How a test's producer misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Producer {
    Honest,
    /// Runs with an `R` table other than the committed one (claim and sumcheck consistent with it).
    OtherR,
    /// Runs without the output mask term (the claim is `ŷ(r)`, the sumcheck proves `y(r)` and the
    /// prover appends a made-up `R̂` value).
    NoTerm,
}

struct ProducerRun {
    proof: Vec<u8>,
    fake: Fake,
    vm: VirtualMask,
    claim_point: Vec<EF>,
    claims: ZkProductClaims,
}

/// A consumer's claim on `ŷ` at a random point (sent first, as the consumer's final value would
/// be), then the producer's masked product sumcheck discharging it.
fn produce(a: &[F], b: &[F], seed: u64, how: Producer) -> ProducerRun {
    let mut rng = StdRng::seed_from_u64(seed);
    let terms = PRODUCER_TERMS();
    let shape = product_mask_shape(N, &terms, true);
    let mut mask = SumcheckMask::sample(shape, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let fake = Fake::new(vec![a.to_vec(), b.to_vec(), mask.table().to_vec(), vm.table().to_vec()], &mut rng);
    assert_eq!(vm.degree_bits(), MIN_VIRTUAL_MASK_DEGREE_BITS);
    for j in 0..N {
        mask.add_vanishing_term(j, fake.mask_value(MASK, &shape.claim_point(j, EF::ZERO))).expect("fold");
    }
    let run_vm = if how == Producer::OtherR { VirtualMask::sample(&mut rng) } else { vm.clone() };
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &fake.binding());
    let r = t.challenge_exts(N);
    let y = y_table(a, b);
    let claimed = run_vm.hat(mle(&y, &r), &r);
    t.send_ext(claimed);
    let hidden = |j: usize, z: &[EF]| fake.mask_value(j, z);
    let rh = |w: EF| r_hat(&run_vm, &fake, r[0], w);
    let inner = base_instance(vec![a.to_vec(), b.to_vec()], terms.clone(), Some(r.clone()));
    let mut inst = ZkProductSumcheck::new(inner, terms, Some(r.clone()), 2, &hidden).expect("instance");
    if how != Producer::NoTerm {
        inst = inst.with_output_mask(OutputMask { coeff: output_coeff(&r, N), r_hat: &rh }).expect("output mask");
    }
    let mut claims = prove_product_zk(&mut inst, &mask, &mut t);
    if how == Producer::NoTerm {
        let e = rh(claims.point[0]);
        t.send_ext(e);
        claims.output_mask_value = Some(e);
    }
    ProducerRun { proof: t.into_proof(), fake, vm, claim_point: r, claims }
}

/// Verifies a producer run: the claim on `ŷ` (with `delta` added), the masked sumcheck with its
/// output mask, and every claim against the commitment.
fn check_producer(proof: &[u8], fake: &Fake, delta: EF) -> Result<ZkProductClaims, String> {
    let terms = PRODUCER_TERMS();
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &fake.binding());
    let r = t.challenge_exts(N);
    let claimed = t.receive_ext().map_err(|e| e.to_string())? + delta;
    let c = verify_product_zk_with_output(claimed, N, &terms, Some(&r), 2, Some(output_coeff(&r, N)), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    for (j, &v) in c.values.iter().enumerate() {
        if fake.eval(j, &c.point) != Some(v) {
            return Err(format!("table {j} does not open"));
        }
    }
    for (p, v) in &c.mask_claims {
        if fake.eval(MASK, p) != Some(*v) {
            return Err("a mask claim does not open".into());
        }
    }
    let e = c.output_mask_value.ok_or("no output mask value")?;
    if fake.eval(R, &r_point(MIN_VIRTUAL_MASK_DEGREE_BITS, r[0], c.point[0])) != Some(e) {
        return Err("the R claim does not open".into());
    }
    Ok(c)
}

#[test]
fn a_producer_discharges_a_claim_on_the_randomised_extension() {
    let (a, b) = (table(1), table(2));
    for seed in 0..4 {
        let run = produce(&a, &b, seed, Producer::Honest);
        let c = check_producer(&run.proof, &run.fake, EF::ZERO).expect("honest producer");
        assert_eq!(c, run.claims);
        // The claim was on ŷ, not on y: the sent value is the randomised extension.
        let plain = mle(&y_table(&a, &b), &run.claim_point);
        assert_ne!(run.vm.hat(plain, &run.claim_point), plain);
    }
}

/// A wrong claim; the plain `y(r)` claimed (an unmasked value: the sumcheck's sum includes the
/// mask term); a prover running with another `R` than the committed one (everything downstream
/// consistent: the `R` opening fails); a prover without the mask term; every flipped limb and a
/// truncation.
#[test]
fn tampered_producers_are_rejected() {
    let (a, b) = (table(3), table(4));
    let run = produce(&a, &b, 11, Producer::Honest);
    check_producer(&run.proof, &run.fake, EF::ZERO).expect("control");
    assert!(check_producer(&run.proof, &run.fake, EF::ONE).is_err(), "claim off by one");
    let plain = mle(&y_table(&a, &b), &run.claim_point);
    let masked = run.vm.hat(plain, &run.claim_point);
    assert!(check_producer(&run.proof, &run.fake, plain - masked).is_err(), "the unmasked y(r) accepted");
    let other = produce(&a, &b, 12, Producer::OtherR);
    let err = check_producer(&other.proof, &other.fake, EF::ZERO).expect_err("another R");
    assert!(err.contains("R claim does not open"), "{err}");
    let no_term = produce(&a, &b, 13, Producer::NoTerm);
    assert!(check_producer(&no_term.proof, &no_term.fake, EF::ZERO).is_err(), "no mask term");
    for k in 0..run.proof.len() / 24 {
        for limb in 0..3 {
            let mut bad = run.proof.clone();
            bad[24 * k + 8 * limb] ^= 1;
            assert!(check_producer(&bad, &run.fake, EF::ZERO).is_err(), "value {k} limb {limb}");
        }
    }
    assert!(check_producer(&run.proof[..run.proof.len() - 24], &run.fake, EF::ZERO).is_err(), "truncated");
}

/// What `R` hides (its PCS mask set to zero: the conservative case), on the default table
/// (`d = 2`, four powers of `a`): the map from the table to `(ŷ(r) − y(r), R_y(r_0, s_0))` has
/// rank 6 over `F` (both values uniform and independent in `EF`) for `s_0 ≠ 1/2` and rank 3 at
/// `s_0 = 1/2` (the check can fail); pairs at four distinct first coordinates have full rank 24
/// (a merge of three claims: three pairs and the merged claim's); a ninth value at a fifth first
/// coordinate exceeds the capacity (rank 24 < 27).
#[test]
fn claims_and_discharges_are_uniform_up_to_capacity() {
    let g = crate::zk::gamma();
    let pt = |k: u64| -> Vec<EF> { (0..N as u64).map(|i| EF::from_u64(3 * i + 7 + 11 * k) * g[0] + EF::from_u64(i + 2 + k * k)).collect() };
    let size = 1usize << (3 + MIN_VIRTUAL_MASK_DEGREE_BITS);
    let rank_of = |functionals: &[Box<dyn Fn(&VirtualMask) -> EF + '_>]| {
        let rows: Vec<Vec<F>> = (0..size)
            .map(|i| {
                let mut tab = vec![F::ZERO; size];
                tab[i] = F::ONE;
                let vm = VirtualMask::from_table(tab).expect("table");
                functionals.iter().flat_map(|f| f(&vm).as_basis_coefficients_slice().to_vec()).collect()
            })
            .collect();
        rank(rows)
    };
    type Fx<'a> = Box<dyn Fn(&VirtualMask) -> EF + 'a>;
    let claim = |r: Vec<EF>| -> Fx<'static> { Box::new(move |vm: &VirtualMask| vm.hat(EF::ZERO, &r)) };
    let discharge = |a: EF, s0: EF| -> Fx<'static> { Box::new(move |vm: &VirtualMask| vm.value(a, s0)) };
    let s0 = EF::from_u64(9) + g[1];
    let r = pt(0);
    assert_eq!(rank_of(&[claim(r.clone()), discharge(r[0], s0)]), 6);
    let half = EF::TWO.inverse();
    assert_eq!(rank_of(&[claim(r.clone()), discharge(r[0], half)]), 3, "s_0 = 1/2 is the degenerate case");
    let mut fs = Vec::new();
    for k in 0..4u64 {
        let p = pt(k);
        fs.push(claim(p.clone()));
        fs.push(discharge(p[0], s0 + EF::from_u64(k)));
    }
    assert_eq!(rank_of(&fs), 24, "four pairs fit");
    fs.push(claim(pt(4)));
    assert_eq!(rank_of(&fs), 24, "a ninth value exceeds R");
    assert_eq!(VirtualMask::bits_for(1).unwrap(), 2);
    assert_eq!(VirtualMask::bits_for(3).unwrap(), 2);
    assert_eq!(VirtualMask::bits_for(4).unwrap(), 3);
    assert!(VirtualMask::bits_for(300).is_err());
    assert!(VirtualMask::from_table(vec![F::ZERO; 16]).is_err() && VirtualMask::from_table(vec![F::ZERO; 48]).is_err());
    assert_eq!(VirtualMask::for_claims(4, &mut StdRng::seed_from_u64(0)).unwrap().table().len(), 64);
}

/// Rank over `F` of the rows (Gaussian elimination).
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
                for (x, &y) in row.iter_mut().zip(&pivot) {
                    *x -= f * y;
                }
            }
        }
        rows[rank] = pivot;
        rank += 1;
    }
    rank
}

/// A consumer reads `ŷ` through its cofactor (last round binds `y`'s last coordinate), proving
/// the public `Σ_x y(x)·C(x) = H`; its final value `ŷ(r')` is the producer's claim, discharged by
/// the producer with the output mask. Everything opens; the mask of `y` is refused on its own
/// variable.
struct Chain {
    proof: Vec<u8>,
    /// `y(r')`, `C(r')`, `A(r'')`, `B(r'')`: the plain values a public proof would send.
    plain: Vec<EF>,
    /// The randomised values sent at the ends of the two sumchecks.
    sent: Vec<EF>,
}

const CONSUMER_TERMS: fn() -> Vec<Term> = || vec![(EF::ONE, vec![0, 1])];

/// Indices of the chain's commitment: `A`, `B`, `C`, the two sumcheck masks, `R`.
/// With `drop_cofactor` the consumer reads the plain `y` (no `R` mask: it sends `y(r')`).
fn chain(a: &[F], b: &[F], c: &[F], seed: u64, drop_cofactor: bool) -> Result<Chain, String> {
    let (ia, ib, ic, m1, m2, ir) = (0, 1, 2, 3, 4, 5);
    let mut rng = StdRng::seed_from_u64(seed);
    let y = y_table(a, b);
    let h: EF = y.iter().zip(c).map(|(&u, &v)| EF::from(u * v)).sum();
    let cons_shape = product_mask_shape(N, &CONSUMER_TERMS(), false);
    let prod_shape = product_mask_shape(N, &PRODUCER_TERMS(), true);
    let mut cons_mask = SumcheckMask::sample(cons_shape, &mut rng).map_err(|e| e.to_string())?;
    let mut prod_mask = SumcheckMask::sample(prod_shape, &mut rng).map_err(|e| e.to_string())?;
    let vm = VirtualMask::sample(&mut rng);
    let fake = Fake::new(vec![a.to_vec(), b.to_vec(), c.to_vec(), cons_mask.table().to_vec(), prod_mask.table().to_vec(), vm.table().to_vec()], &mut rng);
    for j in 0..N {
        cons_mask.add_vanishing_term(j, fake.mask_value(m1, &cons_shape.claim_point(j, EF::ZERO))).map_err(|e| e.to_string())?;
        prod_mask.add_vanishing_term(j, fake.mask_value(m2, &prod_shape.claim_point(j, EF::ZERO))).map_err(|e| e.to_string())?;
    }
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &fake.binding());
    // Consumer: tables [ŷ, Ĉ].
    let cons_hidden = |j: usize, z: &[EF]| match j {
        0 if drop_cofactor => EF::ZERO,
        0 => vm.cofactor(z, N - 1).unwrap_or(EF::ZERO),
        _ => fake.mask_value(ic, z),
    };
    let inner = base_instance(vec![y.clone(), c.to_vec()], CONSUMER_TERMS(), None);
    let mut inst = ZkProductSumcheck::new(inner, CONSUMER_TERMS(), None, 2, &cons_hidden).map_err(|e| e.to_string())?;
    let cc = prove_product_zk(&mut inst, &cons_mask, &mut t);
    let r1 = cc.point.clone();
    // Producer of ŷ(r') = cc.values[0].
    let prod_hidden = |j: usize, z: &[EF]| fake.mask_value([ia, ib][j], z);
    let rh = |w: EF| vm.value(r1[0], w) + vanish(w) * fake.mask_value(ir, &vm.point(r1[0], w));
    let inner = base_instance(vec![a.to_vec(), b.to_vec()], PRODUCER_TERMS(), Some(r1.clone()));
    let mut inst = ZkProductSumcheck::new(inner, PRODUCER_TERMS(), Some(r1.clone()), 2, &prod_hidden)
        .and_then(|i| i.with_output_mask(OutputMask { coeff: output_coeff(&r1, N), r_hat: &rh }))
        .map_err(|e| e.to_string())?;
    if !drop_cofactor && inst_claim(&inst) != cc.values[0] {
        return Err("the producer's claimed sum is not the consumer's ŷ(r')".into());
    }
    let pc = prove_product_zk(&mut inst, &prod_mask, &mut t);
    let proof = t.into_proof();

    // Verifier.
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    vt.absorb_public_fields("test/commitment", &fake.binding());
    let vc = verify_product_zk_with_output(h, N, &CONSUMER_TERMS(), None, 2, None, &mut vt).map_err(|e| e.to_string())?;
    let vp = verify_product_zk_with_output(vc.values[0], N, &PRODUCER_TERMS(), Some(&vc.point), 2, Some(output_coeff(&vc.point, N)), &mut vt)
        .map_err(|e| e.to_string())?;
    vt.finish().map_err(|e| e.to_string())?;
    let open = |k: usize, p: &[EF], v: EF| if fake.eval(k, p) == Some(v) { Ok(()) } else { Err(format!("poly {k} does not open")) };
    open(ic, &vc.point, vc.values[1])?;
    for (p, v) in &vc.mask_claims {
        open(m1, p, *v)?;
    }
    open(ia, &vp.point, vp.values[0])?;
    open(ib, &vp.point, vp.values[1])?;
    for (p, v) in &vp.mask_claims {
        open(m2, p, *v)?;
    }
    open(ir, &vm.point(vc.point[0], vp.point[0]), vp.output_mask_value.ok_or("no R value")?)?;
    let plain = vec![mle(&y, &r1), mle(c, &r1), mle(a, &pc.point), mle(b, &pc.point)];
    let mut sent = cc.values.clone();
    sent.extend(&pc.values);
    sent.extend(pc.output_mask_value);
    Ok(Chain { proof, plain, sent })
}

fn inst_claim(inst: &ZkProductSumcheck<'_>) -> EF {
    use crate::SumcheckInstance;
    inst.claimed_sum()
}

#[test]
fn consumer_and_producer_compose_and_hide() {
    let (a, b, c) = (table(5), table(6), table(7));
    let (x, y) = (chain(&a, &b, &c, 40, false).expect("chain 40"), chain(&a, &b, &c, 41, false).expect("chain 41"));
    // No plain value of y, C, A, B at the claimed points is sent; the same search finds the
    // values that are sent (the control).
    let needle = |v: EF| {
        let mut t = ProverTranscript::new(&ds());
        t.send_ext(v);
        t.into_proof()
    };
    for run in [&x, &y] {
        for &v in &run.plain {
            assert!(!run.proof.windows(24).any(|w| w == needle(v).as_slice()), "an unmasked value is sent");
        }
        assert_eq!(run.sent.len(), 5);
        for &v in &run.sent {
            assert!(run.proof.windows(24).any(|w| w == needle(v).as_slice()), "the search finds every sent value");
        }
    }
    let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<HashSet<_>>();
    assert!(windows(&x.proof).is_disjoint(&windows(&y.proof)), "two zk chains share a 16-byte window");
    // A consumer whose view of y omits the R mask (plain y in its last round) makes the
    // producer's claim ŷ(r') ≠ the consumer's value: the composition check fails.
    let vm = VirtualMask::sample(&mut StdRng::seed_from_u64(1));
    let z: Vec<EF> = (0..N as u64).map(|i| EF::from_u64(i + 3)).collect();
    assert!(vm.cofactor(&z, 0).is_err() && vm.cofactor(&z, N).is_err(), "cofactor on the mask's own variable");
    let plain_y = mle(&y_table(&a, &b), &z);
    let cof = vm.cofactor(&z, N - 1).unwrap();
    assert_eq!(vm.hat(plain_y, &z), plain_y + vanish(z[N - 1]) * cof, "cofactor consistent with hat");
}

/// The claim a producer discharges is on `ŷ`: a consumer that reads the plain `y` (and so sends
/// the unmasked `y(r')`) is rejected at the producer's sumcheck (the control chain verifies).
#[test]
fn a_consumer_without_the_mask_is_caught() {
    let (a, b, c) = (table(8), table(9), table(10));
    chain(&a, &b, &c, 50, false).expect("control");
    let err = chain(&a, &b, &c, 50, true).err().expect("a consumer sending y(r') accepted");
    assert!(!err.contains("does not open"), "caught by the sumcheck, not only at an opening: {err}");
}

/// The simulator of a claim on `ŷ` and its discharge: `ŷ(r)` uniform, then
/// [`simulate_product_zk_with_output`] — without `A`, `B` or `R`. Simulated proofs pass the
/// verifier and every sent limb (the claim, the rounds, the mask values, the tables' values and
/// `R̂`) is distributed like the honest prover's (low bits, 300 runs each); the same check
/// rejects a prover that reuses its randomness.
#[test]
fn simulated_discharges_pass_and_match_the_honest_distribution() {
    let (a, b) = (table(11), table(12));
    let terms = PRODUCER_TERMS();
    let runs = 300;
    let mut rng = StdRng::seed_from_u64(77);
    let (mut real, mut sim, mut reused) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        real.push(produce(&a, &b, 1000 + i, Producer::Honest).proof);
        reused.push(produce(&a, &b, 3, Producer::Honest).proof);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[]);
        let r = t.challenge_exts(N);
        let claimed: EF = rng.random();
        t.send_ext(claimed);
        simulate_product_zk_with_output(claimed, N, &terms, Some(&r), 2, Some(output_coeff(&r, N)), &mut t, &mut rng).expect("simulate");
        let proof = t.into_proof();
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        vt.absorb_public_fields("test/commitment", &[]);
        let r = vt.challenge_exts(N);
        let claimed = vt.receive_ext().expect("claim");
        verify_product_zk_with_output(claimed, N, &terms, Some(&r), 2, Some(output_coeff(&r, N)), &mut vt).expect("a simulated proof verifies");
        vt.finish().expect("consumed");
        sim.push(proof);
    }
    same_distribution(&real, &sim).expect("honest and simulated proofs look alike");
    assert!(same_distribution(&real, &reused).is_err(), "reused randomness must be detected");
}

/// The output mask's bookkeeping: refused on an instance already bound and by the verifier on
/// too few variables; the instance's claimed sum is `ŷ(r)`.
#[test]
fn output_masks_are_refused_where_they_do_not_fit() {
    use crate::SumcheckInstance;
    let zero = |_: usize, _: &[EF]| EF::ZERO;
    let (a, b) = (table(1), table(2));
    let r: Vec<EF> = (0..N as u64).map(|i| EF::from_u64(i + 11)).collect();
    let vm = VirtualMask::sample(&mut StdRng::seed_from_u64(2));
    let rh = |w: EF| vm.value(r[0], w);
    let om = OutputMask { coeff: output_coeff(&r, N), r_hat: &rh };
    let inner = base_instance(vec![a.clone(), b.clone()], PRODUCER_TERMS(), Some(r.clone()));
    let mut bound = ZkProductSumcheck::new(inner, PRODUCER_TERMS(), Some(r.clone()), 2, &zero).expect("instance");
    bound.bind(EF::from_u64(5));
    assert!(bound.with_output_mask(om).is_err(), "bound instance");
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert!(verify_product_zk_with_output(EF::ZERO, 4, &PRODUCER_TERMS(), None, 2, Some(EF::ONE), &mut t).is_err(), "4 variables");
    let inner = base_instance(vec![a.clone(), b.clone()], PRODUCER_TERMS(), Some(r.clone()));
    let inst = ZkProductSumcheck::new(inner, PRODUCER_TERMS(), Some(r.clone()), 2, &zero).and_then(|i| i.with_output_mask(om)).expect("instance");
    let y = mle(&y_table(&a, &b), &r);
    assert_eq!(inst_claim(&inst), vm.hat(y, &r), "the instance's sum is ŷ(r)");
    let plain: EF = (0..1usize << N).map(|i| eq_eval(&r, &bits(i)) * EF::from(a[i] * b[i])).sum();
    assert_eq!(plain, y);
}

fn bits(i: usize) -> Vec<EF> {
    (0..N).map(|k| if (i >> (N - 1 - k)) & 1 == 1 { EF::ONE } else { EF::ZERO }).collect()
}

// ---- The masked merge ----

/// Indices of the merge's commitment.
const M_MASK: usize = 0;
const M_R: usize = 1;

#[derive(Clone, Copy, PartialEq)]
enum Merger {
    Honest,
    /// Merges with an `R` other than the committed one (everything else consistent with it).
    OtherR,
    /// The `i`-th claim's value sent off by one (the rest honest).
    ClaimOff(usize),
}

struct MergeRun {
    proof: Vec<u8>,
    fake: Fake,
    vm: VirtualMask,
    /// The plain `y(p_i)` and `y(s)`: what a public proof would reveal.
    plain: Vec<EF>,
}

/// `k` claims on `ŷ` (sent first, as consumers' final values would be), then the masked merge.
fn merge_run(y: &[F], k: usize, seed: u64, how: Merger) -> Result<MergeRun, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let shape = merge_mask_shape(N);
    let mut mask = SumcheckMask::sample(shape, &mut rng).map_err(|e| e.to_string())?;
    let vm = VirtualMask::for_claims(k, &mut rng).map_err(|e| e.to_string())?;
    let fake = Fake::new(vec![mask.table().to_vec(), vm.table().to_vec()], &mut rng);
    for j in 0..N {
        mask.add_vanishing_term(j, fake.mask_value(M_MASK, &shape.claim_point(j, EF::ZERO))).map_err(|e| e.to_string())?;
    }
    let run_vm = if how == Merger::OtherR { VirtualMask::for_claims(k, &mut rng).map_err(|e| e.to_string())? } else { vm.clone() };
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &fake.binding());
    let mut claims = Vec::new();
    let mut plain = Vec::new();
    for i in 0..k {
        let p = t.challenge_exts(N);
        let py = mle(y, &p);
        plain.push(py);
        let v = run_vm.hat(py, &p) + if how == Merger::ClaimOff(i) { EF::ONE } else { EF::ZERO };
        t.send_ext(v);
        claims.push(VirtualClaim { point: p, value: v });
    }
    let r_hat = |a: EF, w: EF| run_vm.value(a, w) + vanish(w) * fake.mask_value(M_R, &run_vm.point(a, w));
    let hidden = |z: &[EF]| run_vm.cofactor(z, N - 1).unwrap_or(EF::ZERO);
    if let Merger::ClaimOff(_) = how {
        // The honest prover refuses a claim that is not ŷ at its point; the malicious one runs
        // the sumcheck on its tables anyway (the instance's own sum is absorbed).
        assert!(prove_merge_zk(y, &claims, &r_hat, &hidden, &mask, &mut t.clone()).is_err(), "the prover checks its claims");
        for c in &mut claims {
            c.value = run_vm.hat(mle(y, &c.point), &c.point);
        }
    }
    let out = prove_merge_zk(y, &claims, &r_hat, &hidden, &mask, &mut t).map_err(|e| e.to_string())?;
    plain.push(mle(y, &out.merged.point));
    Ok(MergeRun { proof: t.into_proof(), fake, vm, plain })
}

/// Verifies a merge run: the claims, the masked merge, every `R` and mask claim against the
/// commitment, and the merged claim against `ŷ` (standing in for the producer's discharge, which
/// `tampered_producers_are_rejected` tests).
fn check_merge(y: &[F], k: usize, proof: &[u8], fake: &Fake, vm: &VirtualMask) -> Result<MergedClaims, String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &fake.binding());
    let mut claims = Vec::new();
    for _ in 0..k {
        let point = t.challenge_exts(N);
        let value = t.receive_ext().map_err(|e| e.to_string())?;
        claims.push(VirtualClaim { point, value });
    }
    let m = verify_merge_zk(N, &claims, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    let bits = VirtualMask::bits_for(k).map_err(|e| e.to_string())?;
    for &(a, w, v) in &m.r_claims {
        if fake.eval(M_R, &r_point(bits, a, w)) != Some(v) {
            return Err("an R claim does not open".into());
        }
    }
    for (p, v) in &m.mask_claims {
        if fake.eval(M_MASK, p) != Some(*v) {
            return Err("a mask claim does not open".into());
        }
    }
    if vm.hat(mle(y, &m.merged.point), &m.merged.point) != m.merged.value {
        return Err("the merged claim is false".into());
    }
    Ok(m)
}

#[test]
fn masked_merges_verify_and_hide() {
    let y = y_table(&table(21), &table(22));
    for k in [2, 3, 5] {
        let a = merge_run(&y, k, 60 + k as u64, Merger::Honest).expect("honest merge");
        let m = check_merge(&y, k, &a.proof, &a.fake, &a.vm).expect("verifies");
        assert_eq!((m.r_claims.len(), a.vm.degree_bits()), (k, if k == 5 { 3 } else { 2 }));
        let b = merge_run(&y, k, 80 + k as u64, Merger::Honest).expect("honest merge");
        check_merge(&y, k, &b.proof, &b.fake, &b.vm).expect("verifies");
        let needle = |v: EF| {
            let mut t = ProverTranscript::new(&ds());
            t.send_ext(v);
            t.into_proof()
        };
        for run in [&a, &b] {
            for &v in &run.plain {
                assert!(!run.proof.windows(24).any(|w| w == needle(v).as_slice()), "a plain value of y is sent");
            }
        }
        assert!(a.proof.windows(24).any(|w| w == needle(m.merged.value).as_slice()), "the search finds the merged value");
        let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<HashSet<_>>();
        assert!(windows(&a.proof).is_disjoint(&windows(&b.proof)), "two merges share a 16-byte window");
    }
    // Refused: one claim, claims at one point, a point of the wrong length, too few variables.
    let c = |p: Vec<EF>| VirtualClaim { point: p, value: EF::ONE };
    let p1: Vec<EF> = (0..N as u64).map(|i| EF::from_u64(i + 5)).collect();
    let mut t = VerifierTranscript::new(&ds(), &[]);
    assert!(verify_merge_zk(N, &[c(p1.clone())], &mut t).is_err());
    assert!(verify_merge_zk(N, &[c(p1.clone()), c(p1.clone())], &mut t).is_err());
    assert!(verify_merge_zk(N, &[c(p1.clone()), c(p1[1..].to_vec())], &mut t).is_err());
    assert!(verify_merge_zk(4, &[c(p1[2..].to_vec()), c(p1[..4].to_vec())], &mut t).is_err());
}

/// A claim off by one (the prover refuses it; a malicious one merging the true values is caught
/// by the verifier, which holds the sent claim); a merge with another `R` than the committed one
/// (caught at the `R` openings); every flipped limb of the merge; a truncation.
#[test]
fn tampered_merges_are_rejected() {
    let y = y_table(&table(23), &table(24));
    let k = 3;
    let honest = merge_run(&y, k, 90, Merger::Honest).expect("control");
    check_merge(&y, k, &honest.proof, &honest.fake, &honest.vm).expect("control verifies");
    for i in 0..k {
        let r = merge_run(&y, k, 91, Merger::ClaimOff(i)).expect("malicious run");
        assert!(check_merge(&y, k, &r.proof, &r.fake, &r.vm).is_err(), "claim {i} off by one accepted");
    }
    let r = merge_run(&y, k, 92, Merger::OtherR).expect("malicious run");
    let err = check_merge(&y, k, &r.proof, &r.fake, &r.vm).expect_err("another R");
    assert!(err.contains("R claim does not open"), "{err}");
    let start = 24 * k; // the claims themselves are the consumers' messages
    for w in start / 24..honest.proof.len() / 24 {
        for limb in 0..3 {
            let mut bad = honest.proof.clone();
            bad[24 * w + 8 * limb] ^= 1;
            assert!(check_merge(&y, k, &bad, &honest.fake, &honest.vm).is_err(), "value {w} limb {limb}");
        }
    }
    assert!(check_merge(&y, k, &honest.proof[..honest.proof.len() - 24], &honest.fake, &honest.vm).is_err(), "truncated");
}

/// The merge's simulator: claims uniform, then [`simulate_merge_zk`] without `y` or `R`. Its
/// proofs pass the verifier and every sent limb matches the honest distribution (low bits, 300
/// runs); the check detects a prover reusing its randomness.
#[test]
fn simulated_merges_pass_and_match_the_honest_distribution() {
    let y = y_table(&table(25), &table(26));
    let k = 3;
    let runs = 300;
    let mut rng = StdRng::seed_from_u64(99);
    let (mut real, mut sim, mut reused) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        real.push(merge_run(&y, k, 5000 + i, Merger::Honest).expect("honest").proof);
        reused.push(merge_run(&y, k, 7, Merger::Honest).expect("honest").proof);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[]);
        let mut claims = Vec::new();
        for _ in 0..k {
            let point = t.challenge_exts(N);
            let value: EF = rng.random();
            t.send_ext(value);
            claims.push(VirtualClaim { point, value });
        }
        simulate_merge_zk(N, &claims, &mut t, &mut rng).expect("simulate");
        let proof = t.into_proof();
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        vt.absorb_public_fields("test/commitment", &[]);
        let mut vclaims = Vec::new();
        for _ in 0..k {
            let point = vt.challenge_exts(N);
            let value = vt.receive_ext().expect("claim");
            vclaims.push(VirtualClaim { point, value });
        }
        verify_merge_zk(N, &vclaims, &mut vt).expect("a simulated merge verifies");
        vt.finish().expect("consumed");
        sim.push(proof);
    }
    same_distribution(&real, &sim).expect("honest and simulated merges look alike");
    assert!(same_distribution(&real, &reused).is_err(), "reused randomness must be detected");
}

/// A prover that shifts the merged value by `δ` and recomputes every `e_i` so that each
/// instance's final equation still holds (the rounds unchanged: nothing is drawn after these
/// values): the verifier's final check passes, the `R` openings fail (and the merged claim is
/// false).
#[test]
fn a_shifted_merged_value_with_compensating_mask_values_is_caught_at_the_openings() {
    let y = y_table(&table(27), &table(28));
    let k = 3;
    let run = merge_run(&y, k, 95, Merger::Honest).expect("control");
    let m = check_merge(&y, k, &run.proof, &run.fake, &run.vm).expect("control verifies");
    let mut t = VerifierTranscript::new(&ds(), &run.proof);
    t.absorb_public_fields("test/commitment", &run.fake.binding());
    let points: Vec<Vec<EF>> = (0..k)
        .map(|_| {
            let p = t.challenge_exts(N);
            let _ = t.receive_ext();
            p
        })
        .collect();
    let delta = EF::from_u64(12_345);
    let s = &m.merged.point;
    let mut tail = ProverTranscript::new(&ds());
    tail.send_ext(m.merged.value + delta);
    for (p, &(_, _, e)) in points.iter().zip(&m.r_claims) {
        tail.send_ext(e - eq_eval(p, s) * delta * output_coeff(p, N).inverse());
    }
    let tail = tail.into_proof();
    let mut bad = run.proof[..run.proof.len() - tail.len()].to_vec();
    bad.extend(&tail);
    assert_eq!(bad.len(), run.proof.len());
    let err = check_merge(&y, k, &bad, &run.fake, &run.vm).expect_err("shifted merge accepted");
    assert!(err.contains("R claim does not open"), "{err}");
}
