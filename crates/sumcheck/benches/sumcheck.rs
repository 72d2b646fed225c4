//! Sumcheck prover benchmarks: `Σ_x P(x)·Q(x)` over base-field tables, with and without an eq
//! factor. The timed region is instance construction (which computes the first round) plus all
//! rounds, Fiat–Shamir included.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{ProductSumcheck, prove};
use zkinfer_transcript::{DomainSeparator, ProverTranscript};

fn table(n: usize, seed: u64) -> Vec<F> {
    let mut s = seed;
    (0..1usize << n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            F::from_u64(s >> 1)
        })
        .collect()
}

fn bench_product(c: &mut Criterion) {
    let mut group = c.benchmark_group("sumcheck");
    group.sample_size(10);
    for n in [20usize, 24] {
        let p = table(n, 1);
        let q = table(n, 2);
        let ds = DomainSeparator::new("bench", 1);
        group.bench_function(format!("product_of_two_2^{n}"), |b| {
            b.iter_batched(
                || (Mle::new(p.clone()), Mle::new(q.clone())),
                |(p, q)| {
                    let mut inst =
                        ProductSumcheck::new_base(vec![p, q], vec![(EF::ONE, vec![0, 1])], None);
                    let mut t = ProverTranscript::new(&ds);
                    black_box(prove(&mut inst, &mut t))
                },
                BatchSize::LargeInput,
            );
        });
        let w: Vec<EF> = (0..n).map(|i| EF::from_u64(i as u64 + 7)).collect();
        group.bench_function(format!("eq_times_product_of_two_2^{n}"), |b| {
            b.iter_batched(
                || (Mle::new(p.clone()), Mle::new(q.clone())),
                |(p, q)| {
                    let mut inst = ProductSumcheck::new_base(
                        vec![p, q],
                        vec![(EF::ONE, vec![0, 1])],
                        Some(w.clone()),
                    );
                    let mut t = ProverTranscript::new(&ds);
                    black_box(prove(&mut inst, &mut t))
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_product);
criterion_main!(benches);
