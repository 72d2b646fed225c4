//! logUp-GKR benchmark: 2^20 lookups into the range table [0, 2^16).
//!
//! `cargo bench -p zkinfer-lookup --bench logup`
//!
//! `prove` covers computing the multiplicities and the whole lookup proof (GKR over a 2^20-leaf
//! witness tree and a 2^16-leaf table tree, plus the final column/multiplicity evaluations).

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_field::F;
use zkinfer_lookup::{LookupColumn, Table, compute_multiplicities, prove_lookup, verify_lookup};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use p3_field::PrimeCharacteristicRing;

fn bench_logup(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let table = Table::range(16);
    let values: Vec<F> = (0..1 << 20)
        .map(|_| F::from_u32(rng.random_range(0..1u32 << 16)))
        .collect();
    let ds = DomainSeparator::new("bench/logup", 1);
    let columns = [LookupColumn::single(&values)];

    let prove = || {
        let m = compute_multiplicities(&table, &columns).expect("in range");
        let mut t = ProverTranscript::new(&ds);
        prove_lookup(&table, &columns, &m, &mut t).expect("honest");
        t.into_proof()
    };
    let proof = prove();
    let mut group = c.benchmark_group("logup");
    group.sample_size(10);
    group.bench_function("prove 2^20 lookups into range 2^16", |b| b.iter(prove));
    group.bench_function("verify 2^20 lookups into range 2^16", |b| {
        b.iter(|| {
            let mut t = VerifierTranscript::new(&ds, &proof);
            verify_lookup(&table, &[values.len()], &mut t).expect("verifies");
        })
    });
    group.finish();
    eprintln!("proof size: {} bytes", proof.len());
    // Wall-clock time on a shared machine mostly measures waiting for a core; report the
    // process CPU time (all threads) per proof as well.
    if let Some(before) = zkinfer_procfs::cpu_seconds() {
        const RUNS: u32 = 5;
        for _ in 0..RUNS {
            prove();
        }
        if let Some(after) = zkinfer_procfs::cpu_seconds() {
            eprintln!(
                "prove CPU time (all threads): {:.3} s per proof",
                (after - before) / f64::from(RUNS)
            );
        }
    }
}

criterion_group!(benches, bench_logup);
criterion_main!(benches);
