//! Cost of the zero-knowledge fraction-sum GKR against the public one on the same tree.
//!
//! `cargo run --release -p zkinfer-lookup --example zk_gkr_cost [depth] [reps] [--pcs]`
//!
//! Prints prove and verify times (best of `reps`), proof bytes, and the mask tables' size. The
//! hiding commitment is modelled by random randomised-extension masks (what
//! `zkinfer_pcs::hiding` holds), so the first figures are the GKR's alone. With `--pcs` it also
//! runs the component end to end, once each: public = commit `P, Q` with `WhirPcs`, GKR, open the
//! leaf claims; zk = commit `P, Q` and the mask tables in one `HidingPcs` batch, zk GKR, open
//! every claim.

use std::time::Instant;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_lookup::fracaddcheck::{self, Denominators, FractionLeaves, Numerators};
use zkinfer_lookup::zk::{self, Committed, ZkGkrClaims, ZkGkrMasks, ZkLeaves};
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::{OpeningClaim, Pcs, WhirPcs};
use zkinfer_poly::{Mle, eq_evals};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let depth: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let reps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let ds = DomainSeparator::new("example/zk-gkr-cost", 1);
    let mut rng = StdRng::seed_from_u64(1);
    let len = 1usize << depth;
    let mut p: Vec<F> = (0..len).map(|_| rng.random()).collect();
    let mut q: Vec<F> = (0..len).map(|_| rng.random()).collect();
    p[len - 1] = F::ZERO;
    q[len - 1] = F::from_u64(12345);
    let sum: F = p.iter().zip(&q).map(|(&a, &b)| a * b.inverse()).sum();
    let sum = EF::from(sum);
    let lift = |v: &[F]| v.iter().map(|&x| EF::from(x)).collect::<Vec<EF>>();
    let (pe, qe) = (lift(&p), lift(&q));

    let mut public_prove = f64::MAX;
    let mut public_proof = Vec::new();
    for _ in 0..reps {
        let tree = FractionLeaves { numerators: Numerators::Values(pe.clone()), denominators: Denominators::Values(qe.clone()) };
        let start = Instant::now();
        let mut t = ProverTranscript::new(&ds);
        fracaddcheck::prove(vec![tree], &mut t);
        public_prove = public_prove.min(start.elapsed().as_secs_f64());
        public_proof = t.into_proof();
    }
    let mut public_verify = f64::MAX;
    for _ in 0..reps {
        let start = Instant::now();
        let mut t = VerifierTranscript::new(&ds, &public_proof);
        fracaddcheck::verify(&[depth], &mut t).expect("public proof verifies");
        public_verify = public_verify.min(start.elapsed().as_secs_f64());
    }

    // The hiding commitment's randomised-extension masks: 2^4 random entries per polynomial.
    let masks = ZkGkrMasks::sample(depth, &mut rng).expect("masks");
    let pcs_masks: Vec<Vec<F>> = (0..2 + masks.tables().len()).map(|_| (0..16).map(|_| rng.random()).collect()).collect();
    let hidden = |c: Committed, z: &[EF]| {
        let k = match c {
            Committed::LeafNumerators => 0,
            Committed::LeafDenominators => 1,
            Committed::Mask(k) => 2 + k,
        };
        let mu = z.len().min(4);
        eq_evals(&z[..mu]).iter().zip(&pcs_masks[k]).map(|(&e, &m)| e * m).sum()
    };
    let mut zk_prove = f64::MAX;
    let mut zk_proof = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        let mut t = ProverTranscript::new(&ds);
        zk::prove(ZkLeaves { numerators: &p, denominators: &q }, sum, &masks, &hidden, &mut t).expect("zk prove");
        zk_prove = zk_prove.min(start.elapsed().as_secs_f64());
        zk_proof = t.into_proof();
    }
    let mut zk_verify = f64::MAX;
    for _ in 0..reps {
        let start = Instant::now();
        let mut t = VerifierTranscript::new(&ds, &zk_proof);
        zk::verify(depth, sum, &mut t).expect("zk proof verifies");
        zk_verify = zk_verify.min(start.elapsed().as_secs_f64());
    }
    let mask_entries: usize = masks.tables().iter().map(Vec::len).sum();
    println!("depth {depth} ({len} leaves), best of {reps}");
    println!("public: prove {:.4} s, verify {:.5} s, proof {} bytes", public_prove, public_verify, public_proof.len());
    println!("zk:     prove {:.4} s, verify {:.5} s, proof {} bytes", zk_prove, zk_verify, zk_proof.len());
    println!(
        "ratio:  prove {:.2}x, proof {:.2}x; mask tables {} tables, {} base-field entries",
        zk_prove / public_prove,
        zk_proof.len() as f64 / public_proof.len() as f64,
        masks.tables().len(),
        mask_entries
    );
    if args.iter().any(|a| a == "--pcs") {
        end_to_end(&ds, depth, &p, &q, sum);
    }
}

fn zk_opening_claims(claims: &ZkGkrClaims) -> Vec<OpeningClaim> {
    let mut out = vec![
        OpeningClaim { poly: 0, point: claims.leaf.point.clone(), value: claims.leaf.numerator },
        OpeningClaim { poly: 1, point: claims.leaf.point.clone(), value: claims.leaf.denominator },
    ];
    out.extend(claims.masks.iter().map(|c| OpeningClaim { poly: 2 + c.mask, point: c.point.clone(), value: c.value }));
    out
}

/// Commit + GKR + openings, public against zk, one run each.
fn end_to_end(ds: &DomainSeparator, depth: usize, p: &[F], q: &[F], sum: EF) {
    let lift = |v: &[F]| v.iter().map(|&x| EF::from(x)).collect::<Vec<EF>>();
    // Public.
    let start = Instant::now();
    let pcs = WhirPcs::default();
    let (com, data) = pcs.commit(&[Mle::new(p.to_vec()), Mle::new(q.to_vec())]).expect("commit");
    let mut t = ProverTranscript::new(ds);
    pcs.absorb_commitment(&com, &mut t);
    let tree = FractionLeaves { numerators: Numerators::Values(lift(p)), denominators: Denominators::Values(lift(q)) };
    let out = fracaddcheck::prove(vec![tree], &mut t);
    let leaf = &out.leaves[0];
    let claims = vec![
        OpeningClaim { poly: 0, point: leaf.point.clone(), value: leaf.numerator },
        OpeningClaim { poly: 1, point: leaf.point.clone(), value: leaf.denominator },
    ];
    pcs.open(&data, &claims, &mut t).expect("open");
    let public_prove = start.elapsed().as_secs_f64();
    let public_proof = t.into_proof();
    let start = Instant::now();
    let mut vt = VerifierTranscript::new(ds, &public_proof);
    pcs.absorb_commitment(&com, &mut vt);
    let out = fracaddcheck::verify(&[depth], &mut vt).expect("verify");
    let leaf = &out.leaves[0];
    let claims = vec![
        OpeningClaim { poly: 0, point: leaf.point.clone(), value: leaf.numerator },
        OpeningClaim { poly: 1, point: leaf.point.clone(), value: leaf.denominator },
    ];
    pcs.verify(&com, &claims, &mut vt).expect("opening verifies");
    let public_verify = start.elapsed().as_secs_f64();

    // Zero knowledge.
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(2);
    let masks = ZkGkrMasks::sample(depth, &mut rng).expect("masks");
    let hpcs = HidingPcs::default();
    let mut polys: Vec<&[F]> = vec![p, q];
    polys.extend(masks.tables().iter().map(|t| t.as_slice()));
    let (hcom, hdata) = hpcs.commit(&polys, &mut rng).expect("hiding commit");
    let mut t = ProverTranscript::new(ds);
    hpcs.absorb_commitment(&hcom, &mut t);
    let index = |c: Committed| match c {
        Committed::LeafNumerators => 0,
        Committed::LeafDenominators => 1,
        Committed::Mask(k) => 2 + k,
    };
    let hidden = |c: Committed, z: &[EF]| hdata.mask_value(index(c), z).expect("mask value");
    let claims = zk::prove(ZkLeaves { numerators: p, denominators: q }, sum, &masks, &hidden, &mut t).expect("zk prove");
    hpcs.open(hdata, &zk_opening_claims(&claims), &mut t, &mut rng).expect("hiding open");
    let zk_prove = start.elapsed().as_secs_f64();
    let zk_proof = t.into_proof();
    let start = Instant::now();
    let mut vt = VerifierTranscript::new(ds, &zk_proof);
    hpcs.absorb_commitment(&hcom, &mut vt);
    let claims = zk::verify(depth, sum, &mut vt).expect("zk verify");
    hpcs.verify(&hcom, &zk_opening_claims(&claims), &mut vt).expect("hiding opening verifies");
    let zk_verify = start.elapsed().as_secs_f64();
    // The hiding PCS on the leaves alone, with the same two leaf claims (what the masks add to
    // the commitment is the difference to the zk line).
    let start = Instant::now();
    let (lcom, ldata) = hpcs.commit(&[p, q], &mut rng).expect("hiding commit");
    let mut t = ProverTranscript::new(ds);
    hpcs.absorb_commitment(&lcom, &mut t);
    let leaf_claims: Vec<OpeningClaim> = zk_opening_claims(&claims).into_iter().take(2).collect();
    let leaf_claims: Vec<OpeningClaim> = leaf_claims
        .into_iter()
        .map(|c| OpeningClaim { value: ldata.evaluate(c.poly, &c.point).expect("value"), ..c })
        .collect();
    hpcs.open(ldata, &leaf_claims, &mut t, &mut rng).expect("hiding open");
    let leaves_only = start.elapsed().as_secs_f64();
    let leaves_only_bytes = t.into_proof().len();
    println!("end to end (commit + GKR + openings), one run each:");
    println!("public: prove {public_prove:.3} s, verify {public_verify:.4} s, proof {} bytes", public_proof.len());
    println!("zk:     prove {zk_prove:.3} s, verify {zk_verify:.4} s, proof {} bytes ({} opening claims)", zk_proof.len(), zk_opening_claims(&claims).len());
    println!("hiding PCS of the leaves alone (2 claims, no GKR): {leaves_only:.3} s, {leaves_only_bytes} bytes");
}
