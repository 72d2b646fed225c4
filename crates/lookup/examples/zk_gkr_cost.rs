//! Cost of the zero-knowledge fraction-sum GKR against the public one on the same tree.
//!
//! `cargo run --release -p zkinfer-lookup --example zk_gkr_cost [depth] [reps]`
//!
//! Prints prove and verify times (best of `reps`), proof bytes, and the mask tables' size. The
//! hiding commitment is modelled by random randomised-extension masks (what
//! `zkinfer_pcs::hiding` holds), so the figures are the GKR's alone, without the PCS.

use std::time::Instant;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing};
use zkinfer_lookup::fracaddcheck::{self, Denominators, FractionLeaves, Numerators};
use zkinfer_lookup::zk::{self, Committed, ZkGkrMasks, ZkLeaves};
use zkinfer_poly::eq_evals;
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
}
