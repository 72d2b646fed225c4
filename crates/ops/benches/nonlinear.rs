//! Prove / verify time and proof size of the non-linear op proofs at GPT-2-small sizes for 32
//! tokens (one node each, no commitment: `zkinfer_ops::single_node`).
//!
//! `cargo bench -p zkinfer-ops --bench nonlinear`

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_model::ops::argmax::argmax_row;
use zkinfer_model::ops::gelu::Gelu;
use zkinfer_model::ops::layernorm::LayerNorm;
use zkinfer_model::ops::rescale::rescale_value;
use zkinfer_model::ops::softmax::{CausalSoftmax, exp_table};
use zkinfer_ops::ops::argmax::ArgmaxProof;
use zkinfer_ops::ops::table_op::TableOpProof;
use zkinfer_ops::ops::layernorm::LayerNormProof;
use zkinfer_ops::ops::rescale::RescaleProof;
use zkinfer_ops::single_node::{prove_node, verify_node};
use zkinfer_ops::ops::softmax::SoftmaxProof;
use zkinfer_ops::{NodeShape, NodeTrace, OpProtocol, TensorShape, TensorRole};

const TOKENS: usize = 32;

struct Node {
    name: &'static str,
    op: OpProtocol,
    inputs: Vec<(Vec<usize>, TensorRole, Vec<i64>)>,
    out_dims: Vec<usize>,
    output: Vec<i64>,
    public_output: bool,
}

impl Node {
    fn shape(&self) -> NodeShape<'_> {
        NodeShape {
            node: 0,
            inputs: self.inputs.iter().map(|(d, r, _)| TensorShape::new(d, *r)).collect(),
            output: TensorShape::new(&self.out_dims, if self.public_output { TensorRole::Public } else { self.op.output_role() }),
            public_inputs: self.inputs.iter().map(|(_, r, v)| (*r == TensorRole::Public).then_some(v.as_slice())).collect(),
            public_output: self.public_output.then_some(self.output.as_slice()),
        }
    }
    fn trace(&self) -> NodeTrace<'_> {
        NodeTrace {
            shape: self.shape(),
            inputs: self.inputs.iter().map(|(_, _, v)| v.as_slice()).collect(),
            i16_inputs: vec![None; self.inputs.len()],
            output: &self.output,
        }
    }
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}

fn nodes() -> Vec<Node> {
    let mut r = rng();
    let mut out = Vec::new();
    // Rescale of an FFN matmul output [32, 3072], shift 12.
    let x: Vec<i64> = (0..TOKENS * 3072).map(|_| r.random_range(-(1i64 << 40)..1i64 << 40)).collect();
    let y = x.iter().map(|&v| rescale_value(v, 12)).collect();
    out.push(Node {
        name: "rescale 32x3072",
        op: OpProtocol::walk(RescaleProof::new(12, 29)),
        inputs: vec![(vec![TOKENS, 3072], TensorRole::Virtual, x)],
        out_dims: vec![TOKENS, 3072],
        output: y,
        public_output: false,
    });
    // GELU [32, 3072].
    let g = Gelu::new(12, 12);
    let x: Vec<i64> = (0..TOKENS * 3072).map(|_| r.random_range(-(1i64 << 15)..1i64 << 15)).collect();
    let y = x.iter().map(|&v| g.table[(v + (1 << 15)) as usize]).collect();
    out.push(Node {
        name: "gelu 32x3072",
        op: OpProtocol::walk(TableOpProof::for_table_fn(&g).expect("gelu")),
        inputs: vec![(vec![TOKENS, 3072], TensorRole::Committed, x)],
        out_dims: vec![TOKENS, 3072],
        output: y,
        public_output: false,
    });
    // LayerNorm [32, 768], K = 30.
    let n = 768;
    let ln = LayerNorm { eps: 1 << 14, k: 30, shift: 30 + 12 - 12 };
    let x: Vec<i64> = (0..TOKENS * n).map(|_| r.random_range(-(1i64 << 20)..1i64 << 20)).collect();
    let gamma: Vec<i64> = (0..n).map(|_| r.random_range(-(1i64 << 12)..1i64 << 12)).collect();
    let beta: Vec<i64> = (0..n).map(|_| r.random_range(-(1i64 << 12)..1i64 << 12)).collect();
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(n) {
        let st = ln.row_stats(row);
        for c in 0..n {
            y.push(rescale_value((row[c] - st.mean) * st.inv * gamma[c], ln.shift as i32) + beta[c]);
        }
    }
    let out_bits = 64 - y.iter().map(|v: &i64| v.unsigned_abs()).max().unwrap_or(0).leading_zeros();
    out.push(Node {
        name: "layernorm 32x768",
        op: OpProtocol::walk(LayerNormProof::new(ln.eps, ln.k, ln.shift, 21, 13, 13, out_bits)),
        inputs: vec![
            (vec![TOKENS, n], TensorRole::Virtual, x),
            (vec![n], TensorRole::Weight, gamma),
            (vec![n], TensorRole::Weight, beta),
        ],
        out_dims: vec![TOKENS, n],
        output: y,
        public_output: false,
    });
    // Causal softmax [12, 32, 32].
    let sm = CausalSoftmax::new(0, 12, 20, 16, exp_table(12, 20));
    let dims = vec![12, TOKENS, TOKENS];
    let x: Vec<i64> = (0..12 * TOKENS * TOKENS).map(|_| r.random_range(-(1i64 << 16)..1i64 << 16)).collect();
    let mut p = vec![0; x.len()];
    for (row_index, (row, o)) in x.chunks(TOKENS).zip(p.chunks_mut(TOKENS)).enumerate() {
        sm.eval_row(row, row_index % TOKENS + 1, o);
    }
    out.push(Node {
        name: "softmax 12x32x32",
        op: OpProtocol::walk(SoftmaxProof::from_model(&sm, 17).expect("softmax")),
        inputs: vec![(dims.clone(), TensorRole::Committed, x)],
        out_dims: dims,
        output: p,
        public_output: false,
    });
    // Argmax [32, 50257] with public ids.
    let v = 50257;
    let logits: Vec<i64> = (0..TOKENS * v).map(|_| r.random_range(-(1i64 << 30)..1i64 << 30)).collect();
    let ids = logits.chunks(v).map(|row| argmax_row(row) as i64).collect();
    out.push(Node {
        name: "argmax 32x50257",
        op: OpProtocol::walk(ArgmaxProof::new(31)),
        inputs: vec![(vec![TOKENS, v], TensorRole::Virtual, logits)],
        out_dims: vec![TOKENS],
        output: ids,
        public_output: true,
    });
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("nonlinear");
    group.sample_size(10);
    for node in nodes() {
        let trace = node.trace();
        let proof = prove_node(node.op.as_ref(), &trace, None).expect("honest proof");
        verify_node(node.op.as_ref(), &node.shape(), &proof.proof).expect("honest proof verifies");
        eprintln!("{}: proof {} bytes, {} committed columns", node.name, proof.proof.len(), proof.witness.plan().columns().len());
        group.bench_function(format!("prove {}", node.name), |b| {
            b.iter(|| prove_node(node.op.as_ref(), &trace, None).expect("prove"))
        });
        group.bench_function(format!("verify {}", node.name), |b| {
            b.iter(|| verify_node(node.op.as_ref(), &node.shape(), &proof.proof).expect("verify"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
