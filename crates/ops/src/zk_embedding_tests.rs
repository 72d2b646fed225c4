//! Tests of the zk Embedding with an ideal hiding commitment (`crate::zk_testkit::Ideal`, as
//! `zk_matmul_tests.rs`); the shared checks are `crate::zk_testkit`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_sumcheck::SumcheckInstance;
use zkinfer_sumcheck::zk::{SumcheckMask, prove_batched_zk, random_instance};
use zkinfer_sumcheck::zk_virtual::{VirtualMask, output_coeff, vanish};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use super::*;
use crate::zk_testkit::{Ideal, assert_refused, Run, ZkOpCase, flipped_limbs_are_rejected, honest_runs_verify_and_hide, mle, padded, simulated_proofs_match};

fn ds() -> DomainSeparator {
    DomainSeparator::new("zk-embedding-test", 1)
}

fn shape() -> ZkEmbeddingShape {
    ZkEmbeddingShape { rows: 40, dim: 8, ids: vec![3, 17, 3, 39, 0] }
}

fn table() -> Vec<i64> {
    (0..40 * 8).map(|i| ((i as i64 * 7919) % 2001) - 1000).collect()
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

fn run(seed: u64, how: Prover) -> Run<Commit, ZkEmbeddingClaims> {
    let s = shape();
    let e0 = table();
    let mut rng = StdRng::seed_from_u64(seed);
    let ms = zk_embedding_mask_shape(&s);
    let mut mask = SumcheckMask::sample(ms, &mut rng).expect("mask");
    let vm = VirtualMask::sample(&mut rng);
    let com = Commit {
        e: Ideal::new(padded(&e0, &[s.rows, s.dim]), true, &mut rng),
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
    let mut plain = vec![mle(&padded(&y, &[s.ids.len(), s.dim]), &point)];
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

fn verify_rounds<'a>(proof: &'a [u8], binding: &[F]) -> Result<(ZkEmbeddingClaims, VerifierTranscript<'a>), String> {
    let s = shape();
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", binding);
    let point = t.challenge_exts(s.claim_vars());
    let value = t.receive_ext().map_err(|e| e.to_string())?;
    let c = verify_embedding_zk(&s, &Claim::new(point, value), &mut t).map_err(|e| e.to_string())?;
    Ok((c, t))
}

fn check(proof: &[u8], com: &Commit) -> Result<ZkEmbeddingClaims, String> {
    let (c, t) = verify_rounds(proof, &com.binding)?;
    t.finish().map_err(|e| e.to_string())?;
    let open = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("{what} does not open")) };
    open(com.e.hat(&c.table.point) == c.table.value, "table")?;
    open(com.r.hat(&com.vm.point(c.r.0, c.r.1)) == c.r.2, "R")?;
    for (p, v) in &c.mask_claims {
        open(com.mask_table.hat(p) == *v, "mask")?;
    }
    Ok(c)
}

/// The zk Embedding of [`shape`] under the shared checks.
struct Case;

impl ZkOpCase for Case {
    type Com = Commit;
    type Claims = ZkEmbeddingClaims;

    fn honest(&self, seed: u64) -> Run<Commit, ZkEmbeddingClaims> {
        run(seed, Prover::Honest)
    }

    fn check(&self, proof: &[u8], com: &Commit) -> Result<ZkEmbeddingClaims, String> {
        check(proof, com)
    }

    fn sent(&self, c: &ZkEmbeddingClaims) -> Vec<EF> {
        vec![c.table.value, c.r.2]
    }

    fn simulate(&self, rng: &mut StdRng) -> Vec<u8> {
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

    fn check_simulated(&self, proof: &[u8]) -> Result<(), String> {
        let (_, t) = verify_rounds(proof, &[F::ZERO; 4])?;
        t.finish().map_err(|e| e.to_string())
    }
}

#[test]
fn zk_embeddings_verify_open_and_hide() {
    honest_runs_verify_and_hide(&Case, [10, 11]);
}

/// Another table (caught at its opening), the plain values (zero masks), a forged public
/// selector with the claim recomputed (caught by the selector check), every flipped limb, a
/// truncation, ids outside the table and bad shapes.
#[test]
fn tampered_zk_embeddings_are_rejected() {
    flipped_limbs_are_rejected(&Case, &run(20, Prover::Honest));
    assert!(check(&run(21, Prover::OtherTable).proof, &run(21, Prover::Honest).com).expect_err("other table").contains("table does not open"));
    let p = run(22, Prover::Plain);
    assert!(check(&p.proof, &p.com).expect_err("plain").contains("does not open"));
    let f = run(23, Prover::ForgedSelector);
    assert!(check(&f.proof, &f.com).expect_err("forged selector").contains("selector"));
    let mut t = VerifierTranscript::new(&ds(), &[]);
    let c = Claim::new(vec![EF::ONE; 6], EF::ONE);
    assert_refused(verify_embedding_zk(&ZkEmbeddingShape { rows: 40, dim: 8, ids: vec![3, 40] }, &Claim::new(vec![EF::ONE; 4], EF::ONE), &mut t), "shape: an id outside the table");
    assert_refused(verify_embedding_zk(&ZkEmbeddingShape { rows: 16, dim: 8, ids: vec![3, 4, 5, 6, 7] }, &c, &mut t), "shape: a zk Embedding needs a table of ≥ 5 row variables");
    assert_refused(verify_embedding_zk(&shape(), &Claim::new(vec![EF::ONE; 5], EF::ONE), &mut t), "shape: claim point dimension");
}

/// Simulated proofs pass the verifier and match the honest low-bit distribution (300 runs); a
/// prover reusing its randomness is detected.
#[test]
fn simulated_zk_embeddings_pass_and_match_the_honest_distribution() {
    let mut rng = StdRng::seed_from_u64(13);
    simulated_proofs_match(&Case, 300, &mut rng, 3000, 8);
}
