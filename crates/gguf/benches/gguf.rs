//! Header parsing of the tiny GPT-2 GGUF (50257-token vocabulary, 50000 merges) and
//! dequantization throughput per type.
//!
//! `cargo bench -p zkinfer-gguf --bench gguf`

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zkinfer_gguf::{GgmlType, GgufFile, dequantize};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn bench_open(c: &mut Criterion) {
    let path = testdata("gpt2-tiny-random-q8_0.gguf");
    c.bench_function(
        "open gpt2-tiny-random-q8_0.gguf (mmap + full header)",
        |b| b.iter(|| GgufFile::open(&path).expect("opens")),
    );
}

fn bench_dequantize(c: &mut Criterion) {
    let mut group = c.benchmark_group("dequantize 1M elements");
    const N: usize = 1 << 20;
    group.throughput(Throughput::Elements(N as u64));
    for ty in [
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q5_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        // Repeat the fixture's blocks (valid, finite scales) up to N elements.
        let fixture = testdata(&format!("gguf/{}.gguf", ty.name().to_lowercase()));
        let file = GgufFile::open(&fixture).expect("fixture");
        let blocks = file.tensor_bytes(file.tensor("random_blocks").expect("random_blocks"));
        let needed = N / ty.block_size() * ty.type_size();
        let bytes: Vec<u8> = blocks.iter().copied().cycle().take(needed).collect();
        group.bench_with_input(BenchmarkId::from_parameter(ty), &bytes, |b, bytes| {
            b.iter(|| dequantize(ty, bytes, N).expect("dequantizes"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_open, bench_dequantize);
criterion_main!(benches);
