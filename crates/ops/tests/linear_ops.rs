//! Honest and tampered runs of the linear ops through the single-op harness (real transcript,
//! sumchecks and lookups; ideal openings). Honest outputs come from the model's integer kernels.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_model::ops::{Op, Operand, eval_int};
use zkinfer_model::tensor::{IntTensor, WeightTensor, WeightValues};
use zkinfer_ops::ProtocolRef;
use zkinfer_ops::ops::add::AddProof;
use zkinfer_ops::ops::batched_matmul::BatchedMatMulProof;
use zkinfer_ops::ops::embedding::{EmbeddingProof, GatherRowsProof};
use zkinfer_ops::ops::matmul::MatMulProof;
use zkinfer_ops::ops::reshape::{MergeHeadsProof, SliceColsProof, SplitHeadsProof};
use zkinfer_ops::testing::{OpCase, OwnedValues, run_op};
use zkinfer_ops::{TensorShape, TensorRole};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn rand_i64(r: &mut ChaCha8Rng, n: usize, bound: i64) -> Vec<i64> {
    (0..n).map(|_| r.random_range(-bound..=bound)).collect()
}

fn rand_i16(r: &mut ChaCha8Rng, n: usize) -> Vec<i16> {
    (0..n).map(|_| r.random_range(-127i16..=127)).collect()
}

/// The operand as the model sees it.
enum ModelOperand {
    Act(IntTensor),
    Weight(WeightTensor),
}

fn eval(op: &Op, operands: &[ModelOperand]) -> Vec<i64> {
    let ops: Vec<Operand<'_>> = operands
        .iter()
        .map(|o| match o {
            ModelOperand::Act(t) => Operand::Act(t),
            ModelOperand::Weight(w) => Operand::Weight(w),
        })
        .collect();
    eval_int(op, &ops).expect("honest evaluation").data
}

fn act(shape: &[usize], data: Vec<i64>) -> ModelOperand {
    ModelOperand::Act(IntTensor::new(shape.to_vec(), data).expect("shape"))
}

fn weight16(shape: &[usize], data: Vec<i16>) -> ModelOperand {
    ModelOperand::Weight(WeightTensor { shape: shape.to_vec(), frac_bits: 0, values: WeightValues::I16(data) })
}

fn weight64(shape: &[usize], data: Vec<i64>) -> ModelOperand {
    ModelOperand::Weight(WeightTensor { shape: shape.to_vec(), frac_bits: 0, values: WeightValues::I64(data) })
}

fn case(op: &Op, operands: Vec<ModelOperand>, roles: &[TensorRole]) -> OpCase {
    let out = eval(op, &operands);
    let mut metas = Vec::new();
    let mut values = Vec::new();
    for (o, &role) in operands.iter().zip(roles) {
        match o {
            ModelOperand::Act(t) => {
                metas.push(TensorShape::new(&t.shape, role));
                values.push(OwnedValues::I64(t.data.clone()));
            }
            ModelOperand::Weight(w) => {
                metas.push(TensorShape::new(&w.shape, role));
                values.push(match &w.values {
                    WeightValues::I16(v) => OwnedValues::I16(v.clone()),
                    WeightValues::I64(v) => OwnedValues::I64(v.clone()),
                });
            }
        }
    }
    let shapes: Vec<&[usize]> = metas.iter().map(|m| m.dims.as_slice()).collect();
    let out_dims = op.as_int_op().output_shape(&shapes).expect("output shape");
    OpCase::new(metas, values, out_dims, out)
}

/// The model's output on the prover's (possibly tampered) operands.
fn recompute(op: &Op, c: &OpCase) -> Vec<i64> {
    let operands: Vec<ModelOperand> = c
        .inputs
        .iter()
        .zip(&c.trace_inputs)
        .map(|(m, v)| match (v, m.role) {
            (OwnedValues::I16(v), _) => weight16(&m.dims, v.clone()),
            (OwnedValues::I64(v), TensorRole::Weight) => weight64(&m.dims, v.clone()),
            (OwnedValues::I64(v), _) => act(&m.dims, v.clone()),
        })
        .collect();
    eval(op, &operands)
}

/// Honest run verifies; every single-element perturbation is rejected: of the output alone, of
/// an operand alone (skipped for operands in `unread`, which the prover never reads — then the
/// proof does not depend on them and proves the honest statement), and of an operand with the
/// output recomputed from it (a consistent malicious trace). `public` operands are held by the
/// verifier and are not tampered.
fn assert_sound<'a>(proof: impl Into<ProtocolRef<'a>>, op: &Op, c: &OpCase, public: &[usize], unread: &[usize]) {
    let proof = proof.into();
    run_op(proof, c).unwrap_or_else(|e| panic!("{}: honest proof rejected: {e}", proof.name()));
    for i in 0..c.inputs.len() {
        if public.contains(&i) {
            continue;
        }
        let n = c.trace_inputs[i].len();
        for pos in [0, n / 2, n - 1] {
            let mut bad = c.clone();
            bad.trace_inputs[i].perturb(pos, 1);
            if !unread.contains(&i) {
                assert!(run_op(proof, &bad).is_err(), "{}: perturbed operand {i} at {pos} accepted", proof.name());
            }
            bad.trace_output = recompute(op, &bad);
            assert!(run_op(proof, &bad).is_err(), "{}: consistent cheat on operand {i} at {pos} accepted", proof.name());
        }
    }
    let n = c.trace_output.len();
    for pos in [0, n / 2, n - 1] {
        let mut bad = c.clone();
        bad.trace_output[pos] -= 3;
        assert!(run_op(proof, &bad).is_err(), "{}: perturbed output at {pos} accepted", proof.name());
    }
}

use zkinfer_model::ops::{add::Add, batched_matmul::BatchedMatMul, embedding::Embedding, gather::GatherRows, heads, matmul::MatMul, slice::SliceCols};

#[test]
fn matmul_with_bias_odd_shapes() {
    let mut r = rng(1);
    for &(t, k, n) in &[(5usize, 24usize, 40usize), (3, 7, 13), (1, 1, 1), (8, 16, 4)] {
        let op = Op::MatMul(MatMul { has_bias: true });
        let c = case(
            &op,
            vec![act(&[t, k], rand_i64(&mut r, t * k, 1 << 20)), weight16(&[n, k], rand_i16(&mut r, n * k)), weight64(&[n], rand_i64(&mut r, n, 1 << 30))],
            &[TensorRole::Virtual, TensorRole::Weight, TensorRole::Weight],
        );
        assert_sound(&MatMulProof { has_bias: true }, &op, &c, &[], &[]);
    }
}

#[test]
fn matmul_without_bias_on_committed_input() {
    let mut r = rng(2);
    let (t, k, n) = (6, 9, 11);
    let op = Op::MatMul(MatMul { has_bias: false });
    let c = case(
        &op,
        vec![act(&[t, k], rand_i64(&mut r, t * k, 1 << 15)), weight16(&[n, k], rand_i16(&mut r, n * k))],
        &[TensorRole::Committed, TensorRole::Weight],
    );
    assert_sound(&MatMulProof { has_bias: false }, &op, &c, &[], &[]);
}

#[test]
fn matmul_vocabulary_sized_output() {
    // An lm-head-like product: N = 50257 outputs, tiny T and K.
    let mut r = rng(3);
    let (t, k, n) = (2, 3, 50257);
    let op = Op::MatMul(MatMul { has_bias: false });
    let c = case(&op, vec![act(&[t, k], rand_i64(&mut r, t * k, 1000)), weight16(&[n, k], rand_i16(&mut r, n * k))], &[TensorRole::Virtual, TensorRole::Weight]);
    let proof = MatMulProof { has_bias: false };
    run_op(&proof, &c).expect("honest");
    let mut bad = c.clone();
    bad.trace_inputs[1].perturb(n * k - 2, 1);
    assert!(run_op(&proof, &bad).is_err());
    let mut bad = c.clone();
    bad.trace_output[t * n - 1] += 1;
    assert!(run_op(&proof, &bad).is_err());
}

#[test]
fn batched_matmul_both_layouts() {
    let mut r = rng(4);
    for transpose_b in [true, false] {
        for &(h, m, k, n) in &[(3usize, 5usize, 6usize, 7usize), (2, 4, 8, 4), (1, 3, 1, 2), (12, 3, 5, 3)] {
            let b_shape = if transpose_b { [h, n, k] } else { [h, k, n] };
            let op = Op::BatchedMatMul(BatchedMatMul { transpose_b });
            let c = case(
                &op,
                vec![act(&[h, m, k], rand_i64(&mut r, h * m * k, 1 << 12)), act(&b_shape, rand_i64(&mut r, h * n * k, 1 << 12))],
                &[TensorRole::Committed, TensorRole::Virtual],
            );
            assert_sound(&BatchedMatMulProof { transpose_b }, &op, &c, &[], &[]);
        }
    }
}

#[test]
fn add_residual() {
    let mut r = rng(5);
    for shape in [[5usize, 7usize], [4, 8], [1, 3]] {
        let len = shape[0] * shape[1];
        let op = Op::Add(Add);
        let c = case(&op, vec![act(&shape, rand_i64(&mut r, len, 1 << 20)), act(&shape, rand_i64(&mut r, len, 1 << 20))], &[TensorRole::Virtual, TensorRole::Committed]);
        assert_sound(&AddProof, &op, &c, &[], &[1]);
    }
}

#[test]
fn embedding_gather_by_public_ids() {
    let mut r = rng(6);
    for &(t, rows, d) in &[(6usize, 37usize, 10usize), (4, 16, 8), (1, 5, 3)] {
        let ids: Vec<i64> = (0..t).map(|_| r.random_range(0..rows as i64)).collect();
        let op = Op::Embedding(Embedding);
        let c = case(&op, vec![act(&[t], ids.clone()), weight16(&[rows, d], rand_i16(&mut r, rows * d))], &[TensorRole::Public, TensorRole::Weight]);
        // The ids are public. A table row that no id selects does not enter the statement, so
        // the operand-only perturbations target used rows.
        let mut bad = c.clone();
        bad.trace_inputs[1].perturb(ids[t - 1] as usize * d + d - 1, 1);
        assert!(run_op(&EmbeddingProof, &bad).is_err(), "tampered table row accepted");
        assert_sound(&EmbeddingProof, &op, &c, &[0], &[1]);
    }
}

/// `GatherRows` over an activation: a strict selection (`out_rows = [P−1, T)`, P > 1), a
/// permutation and a repeat run the row-selection sumcheck; every row in order (a one-token
/// prompt, `out_rows = [0, T)`) passes the claim through to `x` and writes nothing, and is as
/// sound: a tampered output, or a tampered `x` with the output recomputed, is rejected.
#[test]
fn gather_rows_selection_and_every_row() {
    let mut r = rng(16);
    let op = Op::GatherRows(GatherRows);
    let roles = [TensorRole::Public, TensorRole::Virtual];
    for &(t, d) in &[(7usize, 10usize), (8, 8), (1, 3), (5, 1)] {
        let x = rand_i64(&mut r, t * d, 1 << 20);
        let every: Vec<i64> = (0..t as i64).collect();
        let c = case(&op, vec![act(&[t], every), act(&[t, d], x.clone())], &roles);
        // The prover never reads `x` when every row is selected (operand 1 is "unread").
        assert_sound(&GatherRowsProof, &op, &c, &[0], &[1]);
        let pass_through = run_op(&GatherRowsProof, &c).expect("honest, every row");
        let mut selections: Vec<Vec<i64>> = Vec::new();
        if t > 1 {
            selections.push((t as i64 / 2..t as i64).collect());
            selections.push((0..t as i64).rev().collect());
            selections.push(vec![t as i64 - 1; t]);
        }
        for rows in selections {
            let c = case(&op, vec![act(&[rows.len()], rows.clone()), act(&[t, d], x.clone())], &roles);
            let mut sorted = rows.clone();
            sorted.sort_unstable();
            if sorted == (0..t as i64).collect::<Vec<_>>() {
                // A permutation reads every row of `x`.
                assert_sound(&GatherRowsProof, &op, &c, &[0], &[]);
            }
            // A row the selection does not read does not enter the statement: tamper a selected one.
            let row = rows[rows.len() - 1] as usize;
            let mut bad = c.clone();
            bad.trace_inputs[1].perturb(row * d + d - 1, 1);
            assert!(run_op(&GatherRowsProof, &bad).is_err(), "rows {rows:?}: tampered selected row accepted");
            bad.trace_output = recompute(&op, &bad);
            assert!(run_op(&GatherRowsProof, &bad).is_err(), "rows {rows:?}: consistent cheat accepted");
            let mut bad = c.clone();
            bad.trace_output[0] += 1;
            assert!(run_op(&GatherRowsProof, &bad).is_err(), "rows {rows:?}: tampered output accepted");
            let selected = run_op(&GatherRowsProof, &c).expect("honest selection");
            assert!(pass_through < selected, "rows {rows:?}: every-row proof ({pass_through} B) not smaller than a selection's ({selected} B)");
        }
    }
}

#[test]
fn embedding_vocabulary_sized_table_and_bad_ids() {
    let mut r = rng(7);
    let (t, rows, d) = (5, 50257, 3);
    let ids: Vec<i64> = vec![0, 50256, 17, 17, 31337];
    let op = Op::Embedding(Embedding);
    let table = rand_i16(&mut r, rows * d);
    let c = case(&op, vec![act(&[t], ids), weight16(&[rows, d], table)], &[TensorRole::Public, TensorRole::Weight]);
    run_op(&EmbeddingProof, &c).expect("honest");
    let mut bad = c.clone();
    bad.trace_inputs[1].perturb(50256 * d + 1, 1);
    assert!(run_op(&EmbeddingProof, &bad).is_err());
    // An id outside the table is rejected, never a panic.
    let mut bad = c.clone();
    bad.honest_inputs[0] = OwnedValues::I64(vec![0, 50257, 17, 17, 31337]);
    assert!(run_op(&EmbeddingProof, &bad).is_err());
}

#[test]
fn slice_columns_aligned_and_unaligned() {
    let mut r = rng(8);
    for &(t, cols, start, len) in &[(5usize, 24usize, 8usize, 8usize), (5, 20, 5, 7), (3, 36, 12, 12), (3, 36, 24, 12), (4, 16, 0, 4), (2, 9, 0, 9)] {
        let op = Op::SliceCols(SliceCols { start, len });
        let c = case(&op, vec![act(&[t, cols], rand_i64(&mut r, t * cols, 1 << 20))], &[TensorRole::Virtual]);
        let proof = SliceColsProof { start, len };
        run_op(&proof, &c).expect("honest");
        // Tampering an element inside the slice, or the output, is caught.
        let mut bad = c.clone();
        bad.trace_output[len - 1] += 1;
        assert!(run_op(&proof, &bad).is_err(), "slice {start}+{len}: tampered output accepted");
        let mut bad = c.clone();
        bad.trace_inputs[0].perturb(cols + start, 1);
        if !(len.is_power_of_two() && start % len == 0) {
            assert!(run_op(&proof, &bad).is_err(), "slice {start}+{len}: tampered input accepted");
        }
        bad.trace_output = recompute(&op, &bad);
        assert!(run_op(&proof, &bad).is_err(), "slice {start}+{len}: consistent cheat accepted");
    }
}

#[test]
fn split_and_merge_heads() {
    let mut r = rng(9);
    for &(h, t, d) in &[(3usize, 5usize, 4usize), (3, 5, 5), (12, 4, 6), (2, 3, 1)] {
        let split = Op::SplitHeads(heads::SplitHeads { heads: h });
        let c = case(&split, vec![act(&[t, h * d], rand_i64(&mut r, t * h * d, 1 << 20))], &[TensorRole::Virtual]);
        assert_sound(&SplitHeadsProof { heads: h }, &split, &c, &[], if d.is_power_of_two() { &[0] } else { &[] });
        let merge = Op::MergeHeads(heads::MergeHeads);
        let c = case(&merge, vec![act(&[h, t, d], rand_i64(&mut r, t * h * d, 1 << 20))], &[TensorRole::Committed]);
        assert_sound(&MergeHeadsProof, &merge, &c, &[], if d.is_power_of_two() { &[0] } else { &[] });
    }
}
