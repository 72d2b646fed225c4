//! One-shot timing of commit / batching+WHIR open / verify, reporting wall time AND process CPU
//! time (user+system, from /proc/self/stat), so figures stay meaningful on a loaded machine:
//! on an idle 2-core box wall ≈ CPU/2 for the parallel phases.
//!
//! `cargo run --release -p zkinfer-pcs --example pcs_timing -- 24 [num_polys] [num_claims]`

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{F, PrimeCharacteristicRing};
use zkinfer_pcs::{OpeningClaim, Pcs, WhirPcs};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

/// CPU seconds of this process (0 where unknown).
fn cpu_seconds() -> f64 {
    zkinfer_procfs::cpu_seconds().unwrap_or(0.0)
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let (w, c) = (Instant::now(), cpu_seconds());
    let out = f();
    println!("{label:>8}: wall {:8.3} s   cpu {:8.3} s", w.elapsed().as_secs_f64(), cpu_seconds() - c);
    out
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let log = args.first().copied().unwrap_or(24);
    let num_polys = args.get(1).copied().unwrap_or(1).max(1);
    let num_claims = args.get(2).copied().unwrap_or(1);
    // Equal-size polynomials totalling ~2^log entries.
    let each = log.saturating_sub(num_polys.next_power_of_two().trailing_zeros() as usize);
    let mut rng = StdRng::seed_from_u64(1);
    let polys: Vec<Mle<F>> = (0..num_polys)
        .map(|_| Mle::new((0..1usize << each).map(|_| F::from_u64(rng.random::<u64>() >> 1)).collect()))
        .collect();
    let pcs = WhirPcs::default();
    println!("{num_polys} polys of 2^{each}, {num_claims} claims, {:?}", pcs.params());
    let ds = DomainSeparator::new("pcs-timing", 1);
    let (com, data) = timed("commit", || pcs.commit(&polys).expect("commit"));

    let mut pt = ProverTranscript::new(&ds);
    pcs.absorb_commitment(&com, &mut pt);
    let claims: Vec<OpeningClaim> = (0..num_claims)
        .map(|j| {
            let k = j % num_polys;
            let point = pt.challenge_exts(each);
            OpeningClaim { poly: k, value: polys[k].evaluate(&point), point }
        })
        .collect();
    timed("open", || pcs.open_consuming(data, &claims, &mut pt).expect("open"));
    let proof = pt.into_proof();
    println!("   proof: {} bytes ({:.1} KiB)", proof.len(), proof.len() as f64 / 1024.0);

    timed("verify", || {
        let mut vt = VerifierTranscript::new(&ds, &proof);
        pcs.absorb_commitment(&com, &mut vt);
        for _ in 0..num_claims {
            let _ = vt.challenge_exts(each);
        }
        pcs.verify(&com, &claims, &mut vt).expect("verifies");
        vt.finish().expect("consumed");
    });
}
