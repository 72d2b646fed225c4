//! Encoding and decoding throughput of the GPT-2 tokenizer on the real vocabulary.
//!
//! Run: `cargo bench -p zkinfer-tokenizer --bench encode`. The text is ~1 MB built from
//! llama.cpp's tokenizer test inputs (mixed scripts, emoji, whitespace runs, code) and a
//! deterministic English-like word stream, so it needs no corpus.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::Tokenizer;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tokenizer")
        .join(name)
}

/// About `target` bytes of mixed text.
fn bench_text(target: usize) -> String {
    let vectors = std::fs::read_to_string(testdata("ggml-vocab-gpt-2.gguf.inp"))
        .unwrap_or_default()
        .replace("__ggml_vocab_test__", "");
    const WORDS: &[&str] = &[
        "the",
        "proof",
        "of",
        "inference",
        "is",
        "verified",
        "in",
        "milliseconds",
        "while",
        "prover",
        "commits",
        "to",
        "every",
        "tensor",
        "and",
        "lookup",
        "table",
        "GPT-2's",
        "tokenizer",
        "splits",
        "text",
        "into",
        "words",
        "1024",
        "3.14",
        "don't",
        "we'll",
    ];
    let mut text = String::with_capacity(target + 4096);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    while text.len() < target {
        for _ in 0..200 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(WORDS[(state % WORDS.len() as u64) as usize]);
            text.push(match state >> 60 {
                0 => '\n',
                1 => ',',
                _ => ' ',
            });
        }
        text.push_str(&vectors);
    }
    text
}

fn benches(c: &mut Criterion) {
    let file = match GgufFile::open(testdata("ggml-vocab-gpt-2.gguf")) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("skipping the tokenizer benches: {e}");
            return;
        }
    };
    let tokenizer = match Tokenizer::from_gguf(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("skipping the tokenizer benches: {e}");
            return;
        }
    };
    let text = bench_text(1 << 20);
    let ids = tokenizer.encode(&text);

    let mut group = c.benchmark_group("gpt2");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("encode_1MB_warm_cache", |b| {
        b.iter(|| tokenizer.encode(black_box(&text)))
    });
    group.bench_function("encode_1MB_cold_cache", |b| {
        b.iter_batched(
            || tokenizer.clone(),
            |fresh| fresh.encode(black_box(&text)),
            criterion::BatchSize::LargeInput,
        )
    });
    let long_word = "a".repeat(1 << 18);
    group.throughput(Throughput::Bytes(long_word.len() as u64));
    group.bench_function("encode_256KiB_single_word", |b| {
        b.iter(|| tokenizer.encode(black_box(&long_word)))
    });
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("decode_1MB", |b| {
        b.iter(|| tokenizer.decode(black_box(&ids)))
    });
    group.finish();

    c.bench_function("gpt2/from_gguf", |b| {
        b.iter(|| Tokenizer::from_gguf(black_box(&file)))
    });
}

criterion_group!(tokenizer_benches, benches);
criterion_main!(tokenizer_benches);
