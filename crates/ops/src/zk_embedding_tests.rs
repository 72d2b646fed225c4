//! Tests of the zk Embedding with an ideal hiding commitment (as `zk_matmul_tests.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::collections::HashSet;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::SumcheckInstance;
use zkinfer_sumcheck::zk::{SumcheckMask, prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, output_coeff, vanish, vanish_all};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use zkinfer_sumcheck::zk_testkit::same_distribution;

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-embedding-test", 1)
}

fn shape() -> ZkEmbeddingShape {
    ZkEmbeddingShape { rows: 40, dim: 8, ids: vec![3, 17, 3, 39, 0] }
}

fn table() -> Vec<i64> {
    (0..40 * 8).map(|i| ((i as i64 * 7919) % 2001) - 1000).collect()
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

fn mle(values: &[F], point: &[EF]) -> EF {
    Mle::new(values.to_vec()).evaluate(point)
}

struct Ideal {
    table: Vec<F>,
    mask: Vec<EF>,
    all: bool,
}

impl Ideal {
    fn new(table: Vec<F>, all: bool, rng: &mut StdRng) -> Self {
        Self { table, mask: (0..16).map(|_| rng.random()).collect(), all }
    }
    fn m(&self, z: &[EF]) -> EF {
        Mle::new(self.mask.clone()).evaluate(&z[..4])
    }
    fn hat(&self, z: &[EF]) -> EF {
        let van = if self.all { vanish_all(z) } else { vanish(z[z.len() - 1]) };
        mle(&self.table, z) + van * self.m(z)
    }
    fn cofactor(&self, z: &[EF], var: usize) -> EF {
        assert!(var >= 4 && self.all);
        z.iter().enumerate().filter(|&(i, _)| i != var).map(|(_, &x)| vanish(x)).product::<EF>() * self.m(z)
    }
}

struct Commit {
    e: Ideal,
    r: Ideal,
    vm: VirtualMask,
    mask_table: Ideal,
    binding: Vec<F>,
}

#[derive(Clone, Copy, PartialEq)]
enum Prover {
    Honest,
    OtherTable,
    Plain,
    ForgedSelector,
}

struct Run {
    proof: Vec<u8>,
    com: Commit,
    claims: ZkEmbeddingClaims,
    plain: Vec<EF>,
}

fn run(seed: u64, how: Prover) -> Run {
    let s = shape();
    let e0 = table();
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_embedding_mask_shape(&s);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let com = Commit {
        e: Ideal::new(padded(&e0, s.rows, s.dim), true, &mut rng),
        r: Ideal::new(vm.table().to_vec(), false, &mut rng),
        mask_table: Ideal::new(mask.table().to_vec(), false, &mut rng),
        vm,
        binding: (0..4).map(|_| rng.random()).collect(),
    };
    for j in 0..ms.num_rounds {
        mask.add_vanishing_term(j, com.mask_table.m(&ms.claim_point(j, EF::ZERO))).expect("fold");
    }
    let mut e = e0.clone();
    if how == Prover::OtherTable {
        e[3 * 8 + 2] += 1; // a row the ids select
    }
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &com.binding);
    let point = t.challenge_exts(s.claim_vars());
    let y: Vec<i64> = s.ids.iter().flat_map(|&id| e[id * s.dim..(id + 1) * s.dim].to_vec()).collect();
    let mut plain = vec![mle(&padded(&y, s.ids.len(), s.dim), &point)];
    let value = com.vm.hat(plain[0], &point);
    let zero = |_: &[EF], _: usize| EF::ZERO;
    let ce = |z: &[EF], var: usize| com.e.cofactor(z, var);
    let r_hat = |w: EF| com.vm.value(point[0], w) + vanish(w) * com.r.m(&com.vm.point(point[0], w));
    let masks = ZkEmbeddingMasks { table: if how == Prover::Plain { &zero } else { &ce }, r_hat: &r_hat };
    let mut tables = build_tables(&s, &e, &point);
    let claim_value = if how == Prover::ForgedSelector {
        tables[0].evals[5] += EF::from_u64(17); // a row no id selects
        let inner = ProductSumcheck::new(tables.clone(), ZkEmbeddingShape::terms(), None);
        inner.claimed_sum() + (value - plain[0])
    } else {
        value
    };
    t.send_ext(claim_value);
    let claims = prove_with_tables(&s, tables, &Claim::new(point.clone(), claim_value), &masks, &mask, &mut t).expect("prove");
    plain.push(mle(&com.e.table, &claims.table.point));
    Run { proof: t.into_proof(), com, claims, plain }
}

fn check(proof: &[u8], com: &Commit) -> Result<ZkEmbeddingClaims, String> {
    let s = shape();
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &com.binding);
    let point = t.challenge_exts(s.claim_vars());
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_embedding_zk(&s, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
    open(com.e.hat(&c.table.point) == c.table.value, "table")?;
    open(com.r.hat(&com.vm.point(c.r.0, c.r.1)) == c.r.2, "R")?;
    for (p, v) in &c.mask_claims {
        open(com.mask_table.hat(p) == *v, "mask")?;
    }
    Ok(c)
}

fn needle(v: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(v);
    t.into_proof()
}

#[test]
fn zk_embeddings_verify_open_and_hide() {
    let (x, y) = (run(10, Prover::Honest), run(11, Prover::Honest));
    for r in [&x, &y] {
        let c = check(&r.proof, &r.com).expect("honest");
        assert_eq!(c, r.claims);
        for &v in &r.plain {
            assert!(!r.proof.windows(24).any(|w| w == needle(v).as_slice()), "a plain value is sent");
        }
        for v in [c.table.value, c.r.2] {
            assert!(r.proof.windows(24).any(|w| w == needle(v).as_slice()), "the search finds a sent value");
        }
    }
    let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<HashSet<_>>();
    assert!(windows(&x.proof).is_disjoint(&windows(&y.proof)), "two runs share a 16-byte window");
}

/// Another table (caught at its opening), the plain values (zero masks), a forged public
/// selector with the claim recomputed (caught by the selector check), every flipped limb, a
/// truncation, ids outside the table and bad shapes.
#[test]
fn tampered_zk_embeddings_are_rejected() {
    let r = run(20, Prover::Honest);
    check(&r.proof, &r.com).expect("control");
    assert!(check(&run(21, Prover::OtherTable).proof, &run(21, Prover::Honest).com).expect_err("other table").contains("table does not open"));
    let p = run(22, Prover::Plain);
    assert!(check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
    let f = run(23, Prover::ForgedSelector);
    assert!(check(&f.proof, &f.com).expect_err("forged selector").contains("selector"));
    for k in 0..r.proof.len() / 24 {
        for limb in 0..3 {
            let mut bad = r.proof.clone();
            bad[24 * k + 8 * limb] ^= 1;
            assert!(check(&bad, &r.com).is_err(), "value {k} limb {limb}");
        }
    }
    assert!(check(&r.proof[..r.proof.len() - 24], &r.com).is_err(), "truncated");
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let c = Claim::new(vec![EF::ONE; 6], EF::ONE);
    assert!(verify_embedding_zk(&ZkEmbeddingShape { rows: 40, dim: 8, ids: vec![3, 40] }, &Claim::new(vec![EF::ONE; 4], EF::ONE), &mut t).is_err(), "id out of range");
    assert!(verify_embedding_zk(&ZkEmbeddingShape { rows: 16, dim: 8, ids: vec![3, 4, 5, 6, 7] }, &c, &mut t).is_err(), "4 row variables");
    assert!(verify_embedding_zk(&shape(), &Claim::new(vec![EF::ONE; 5], EF::ONE), &mut t).is_err(), "claim dimension");
}

fn simulate(rng: &mut StdRng) -> Vec<u8> {
    let s = shape();
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
    let point = t.challenge_exts(s.claim_vars());
    let value: EF = rng.random();
    t.send_ext(value);
    let rv = s.rv();
    let ms = zk_embedding_mask_shape(&s);
    let mut inst = random_instance(rv, ms.degree, value, rng);
    let mask = SumcheckMask::sample(ms, rng).expect("mask");
    let out = prove_batched_zk(&mut [&mut inst], &mask, &mut t);
    let sel = s.selector_at(&point[..s.tv()], &out.inner.point);
    let e: EF = rng.random();
    let b = (out.inner.final_evals[0][0] - output_coeff(&point, rv) * e) * sel.inverse();
    t.send_exts(&[sel, b]);
    t.send_ext(e);
    t.into_proof()
}

/// Simulated proofs pass the verifier and match the honest low-bit distribution (300 runs); a
/// prover reusing its randomness is detected.
#[test]
fn simulated_zk_embeddings_pass_and_match_the_honest_distribution() {
    let s = shape();
    let mut rng = StdRng::seed_from_u64(13);
    let (mut real, mut sim, mut reused) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..300 {
        real.push(run(3000 + i, Prover::Honest).proof);
        reused.push(run(8, Prover::Honest).proof);
        let proof = simulate(&mut rng);
        let mut t = VerifierTranscript::new(&ds(), &proof);
        t.absorb_public_fields("test/commitment", &[F::ZERO; 4]);
        let point = t.challenge_exts(s.claim_vars());
        let value = t.receive_ext().expect("claim");
        verify_embedding_zk(&s, &Claim::new(point, value), &mut t).expect("a simulated proof verifies");
        t.finish().expect("consumed");
        sim.push(proof);
    }
    same_distribution(&real, &sim).expect("honest and simulated proofs look alike");
    assert!(same_distribution(&real, &reused).is_err(), "reused randomness must be detected");
}
