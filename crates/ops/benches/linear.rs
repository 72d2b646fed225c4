//! Prove / verify time and proof size of the linear op proofs at GPT-2-small sizes for 32 tokens
//! (one op each, through `zkinfer_ops::testing`; no polynomial commitment — the weight and
//! witness openings are batched for the whole graph elsewhere).
//!
//! `cargo bench -p zkinfer-ops --bench linear`

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_model::ops::{
    Op, Operand, add::Add, batched_matmul::BatchedMatMul, embedding::Embedding, eval_int, heads, matmul::MatMul, slice::SliceCols,
};
use zkinfer_model::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_ops::ops::add::AddProof;
use zkinfer_ops::ops::batched_matmul::BatchedMatMulProof;
use zkinfer_ops::ops::embedding::EmbeddingProof;
use zkinfer_ops::ops::matmul::MatMulProof;
use zkinfer_ops::ops::reshape::{MergeHeadsProof, SliceColsProof, SplitHeadsProof};
use zkinfer_ops::testing::{OpCase, OwnedValues, prove_case, verify_case};
use zkinfer_ops::{OpProtocol, TensorShape, TensorRole};

const T: usize = 32;
const D: usize = 768;
const H: usize = 12;
const VOCAB: usize = 50257;

enum Operand2 {
    Act(Vec<usize>, Vec<i64>, TensorRole),
    W16(Vec<usize>, Vec<i16>),
    W64(Vec<usize>, Vec<i64>),
}

fn build(op: &Op, operands: Vec<Operand2>) -> OpCase {
    let tensors: Vec<Result<IntTensor, WeightTensor>> = operands
        .iter()
        .map(|o| match o {
            Operand2::Act(s, v, _) => Ok(IntTensor { shape: s.clone(), data: v.clone() }),
            Operand2::W16(s, v) => Err(WeightTensor { shape: s.clone(), frac_bits: 0, values: WeightValues::I16(v.clone()) }),
            Operand2::W64(s, v) => Err(WeightTensor { shape: s.clone(), frac_bits: 0, values: WeightValues::I64(v.clone()) }),
        })
        .collect();
    let model_ops: Vec<Operand<'_>> = tensors
        .iter()
        .map(|t| match t {
            Ok(a) => Operand::Act(a),
            Err(w) => Operand::Weight(w),
        })
        .collect();
    let out = eval_int(op, &model_ops).expect("eval");
    let (metas, values) = operands
        .into_iter()
        .map(|o| match o {
            Operand2::Act(s, v, r) => (TensorShape::new(&s, r), OwnedValues::I64(v)),
            Operand2::W16(s, v) => (TensorShape::new(&s, TensorRole::Weight), OwnedValues::I16(v)),
            Operand2::W64(s, v) => (TensorShape::new(&s, TensorRole::Weight), OwnedValues::I64(v)),
        })
        .unzip();
    OpCase::new(metas, values, out.shape, out.data)
}

fn acts(r: &mut ChaCha8Rng, n: usize, bound: i64) -> Vec<i64> {
    (0..n).map(|_| r.random_range(-bound..=bound)).collect()
}

fn w16(r: &mut ChaCha8Rng, n: usize) -> Vec<i16> {
    (0..n).map(|_| r.random_range(-127i16..=127)).collect()
}

fn cases() -> Vec<(&'static str, OpProtocol, OpCase)> {
    let mut r = ChaCha8Rng::seed_from_u64(1);
    let virt = TensorRole::Virtual;
    let com = TensorRole::Committed;
    let mut out: Vec<(&'static str, OpProtocol, OpCase)> = Vec::new();
    for (name, k, n) in [("matmul qkv 32x768x2304", D, 3 * D), ("matmul attn-out 32x768x768", D, D), ("matmul fc 32x768x3072", D, 4 * D), ("matmul proj 32x3072x768", 4 * D, D)] {
        let op = Op::MatMul(MatMul { has_bias: true });
        let c = build(&op, vec![Operand2::Act(vec![T, k], acts(&mut r, T * k, 1 << 12), com), Operand2::W16(vec![n, k], w16(&mut r, n * k)), Operand2::W64(vec![n], acts(&mut r, n, 1 << 20))]);
        out.push((name, OpProtocol::walk(MatMulProof { has_bias: true }), c));
    }
    let op = Op::MatMul(MatMul { has_bias: false });
    let c = build(&op, vec![Operand2::Act(vec![T, D], acts(&mut r, T * D, 1 << 12), com), Operand2::W16(vec![VOCAB, D], w16(&mut r, VOCAB * D))]);
    out.push(("matmul lm-head 32x768x50257", OpProtocol::walk(MatMulProof { has_bias: false }), c));
    let op = Op::BatchedMatMul(BatchedMatMul { transpose_b: true });
    let c = build(&op, vec![Operand2::Act(vec![H, T, 64], acts(&mut r, H * T * 64, 1 << 12), virt), Operand2::Act(vec![H, T, 64], acts(&mut r, H * T * 64, 1 << 12), virt)]);
    out.push(("batched QK^T 12x32x64x32", OpProtocol::walk(BatchedMatMulProof { transpose_b: true }), c));
    let op = Op::BatchedMatMul(BatchedMatMul { transpose_b: false });
    let c = build(&op, vec![Operand2::Act(vec![H, T, T], acts(&mut r, H * T * T, 1 << 12), com), Operand2::Act(vec![H, T, 64], acts(&mut r, H * T * 64, 1 << 12), virt)]);
    out.push(("batched PV 12x32x32x64", OpProtocol::walk(BatchedMatMulProof { transpose_b: false }), c));
    let op = Op::Add(Add);
    let c = build(&op, vec![Operand2::Act(vec![T, D], acts(&mut r, T * D, 1 << 20), virt), Operand2::Act(vec![T, D], acts(&mut r, T * D, 1 << 20), com)]);
    out.push(("add 32x768", OpProtocol::walk(AddProof), c));
    let ids: Vec<i64> = (0..T).map(|_| r.random_range(0..VOCAB as i64)).collect();
    let op = Op::Embedding(Embedding);
    let c = build(&op, vec![Operand2::Act(vec![T], ids, TensorRole::Public), Operand2::W16(vec![VOCAB, D], w16(&mut r, VOCAB * D))]);
    out.push(("embedding wte 50257x768", OpProtocol::walk(EmbeddingProof), c));
    let op = Op::Embedding(Embedding);
    let c = build(&op, vec![Operand2::Act(vec![T], (0..T as i64).collect(), TensorRole::Public), Operand2::W64(vec![1024, D], acts(&mut r, 1024 * D, 1 << 10))]);
    out.push(("embedding wpe 1024x768", OpProtocol::walk(EmbeddingProof), c));
    let op = Op::SliceCols(SliceCols { start: D, len: D });
    let c = build(&op, vec![Operand2::Act(vec![T, 3 * D], acts(&mut r, T * 3 * D, 1 << 20), virt)]);
    out.push(("slice qkv 32x2304 -> 32x768", OpProtocol::walk(SliceColsProof { start: D, len: D }), c));
    let op = Op::SplitHeads(heads::SplitHeads { heads: H });
    let c = build(&op, vec![Operand2::Act(vec![T, D], acts(&mut r, T * D, 1 << 20), virt)]);
    out.push(("split heads 32x768", OpProtocol::walk(SplitHeadsProof { heads: H }), c));
    let op = Op::MergeHeads(heads::MergeHeads);
    let c = build(&op, vec![Operand2::Act(vec![H, T, 64], acts(&mut r, T * D, 1 << 20), virt)]);
    out.push(("merge heads 12x32x64", OpProtocol::walk(MergeHeadsProof), c));
    out
}

/// Claim merge (the fan-out gadget) on the largest virtual tensor of GPT-2 at 32 tokens, the
/// logits `[32, 50257]` (2^21 padded entries), with the two claims argmax leaves on it.
fn bench_merge(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use zkinfer_field::{EF, F};
    use zkinfer_ops::Claim;
    use zkinfer_ops::claim_reduction::{prove_merge, verify_merge};
    use zkinfer_ops::mle_eval::evaluate_slice;
    use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};
    let mut r = ChaCha8Rng::seed_from_u64(2);
    let n = 21;
    let values: Vec<F> = (0..1usize << n).map(|_| zkinfer_field::from_i64_unchecked(r.random_range(-(1i64 << 30)..1 << 30))).collect();
    let claims: Vec<Claim> = (0..2)
        .map(|_| {
            let p: Vec<EF> = (0..n).map(|_| EF::from(zkinfer_field::from_i64_unchecked(r.random_range(0..1i64 << 40)))).collect();
            Claim::new(p.clone(), evaluate_slice(&values, &p))
        })
        .collect();
    let ds = DomainSeparator::new("bench/merge", 1);
    let prove = || {
        let mut t = ProverTranscript::new(&ds);
        let _ = prove_merge(&values, claims.clone(), &mut t);
        t.into_proof()
    };
    let proof = prove();
    eprintln!("merge 2 claims on 2^21: proof {} bytes", proof.len());
    g.bench_function("merge 2 claims on logits 32x50257/prove", |b| b.iter(prove));
    g.bench_function("merge 2 claims on logits 32x50257/verify", |b| {
        b.iter(|| {
            let mut t = VerifierTranscript::new(&ds, &proof);
            verify_merge(n, claims.clone(), &mut t).expect("verify")
        })
    });
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("linear");
    g.sample_size(10);
    bench_merge(&mut g);
    for (name, op, case) in cases() {
        let p = prove_case(op.as_ref(), &case).expect("prove");
        verify_case(op.as_ref(), &case, &p.proof, &p.columns).expect("verify");
        eprintln!("{name}: proof {} bytes", p.proof.len());
        g.bench_function(format!("{name}/prove"), |b| b.iter(|| prove_case(op.as_ref(), &case).expect("prove")));
        g.bench_function(format!("{name}/verify"), |b| b.iter(|| verify_case(op.as_ref(), &case, &p.proof, &p.columns).expect("verify")));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
