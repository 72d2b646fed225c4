//! Integer kernels and one KV-cache decoding step.
//!
//! `cargo bench -p zkinfer-model --bench inference`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use zkinfer_model::ops::matmul::matmul_kernel;
use zkinfer_model::{MemorySource, Model, QuantConfig};

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_i32_i16");
    for &(n, k) in &[(3072usize, 768usize), (768, 3072), (50257, 768)] {
        let x: Vec<i32> = (0..k).map(|i| (i as i32 * 7919) % (1 << 20) - (1 << 19)).collect();
        let w: Vec<i16> = (0..n * k).map(|i| ((i * 31) % 65535) as i16).collect();
        g.bench_function(format!("1x{k} by {n}x{k}"), |b| b.iter(|| matmul_kernel(black_box(&x), 1, k, black_box(&w), n, None)));
    }
    g.finish();
}

fn decode_step(c: &mut Criterion) {
    // A GPT-2-small-shaped block stack with a small vocabulary: the per-token cost of the layers.
    let src = MemorySource::random_gpt2(12, 768, 12, 128, 1024, 1, true);
    let model = Model::from_source(&src, QuantConfig::default()).expect("model");
    let prompt: Vec<u32> = (0..16).collect();
    c.bench_function("int decode step (12x768, 16 cached)", |b| {
        b.iter_batched(
            || {
                let mut cache = model.new_int_cache();
                model.step_int(&mut cache, &prompt).expect("prompt");
                cache
            },
            |mut cache| model.step_int(&mut cache, &[7]).expect("step"),
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = kernels, decode_step
}
criterion_main!(benches);
