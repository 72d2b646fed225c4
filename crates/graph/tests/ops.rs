//! Exact semantics of every integer op, their documented proof relations, and the rejections.

use proptest::prelude::*;
use std::sync::Arc;
use zkinfer_graph::ops::argmax::{Argmax, argmax_row};
use zkinfer_graph::ops::batched_matmul::BatchedMatMul;
use zkinfer_graph::ops::clamp::Clamp;
use zkinfer_graph::ops::concat::ConcatSeq;
use zkinfer_graph::ops::embedding::Embedding;
use zkinfer_graph::ops::gelu::{GELU_MIN, Gelu, gelu_f64};
use zkinfer_graph::ops::heads::{MergeHeads, SplitHeads};
use zkinfer_graph::ops::layernorm::{LayerNorm, inv_sqrt, max_input_bits};
use zkinfer_graph::ops::matmul::MatMul;
use zkinfer_graph::ops::rescale::{Rescale, rescale_value};
use zkinfer_graph::ops::slice::SliceCols;
use zkinfer_graph::ops::softmax::{CausalSoftmax, exp_table};
use zkinfer_graph::{IntOp, IntTensor, Operand, WeightTensor, WeightValues};

fn t(shape: &[usize], data: Vec<i64>) -> IntTensor {
    IntTensor::new(shape.to_vec(), data).expect("consistent tensor")
}

fn w16(shape: &[usize], data: Vec<i16>) -> WeightTensor {
    WeightTensor { shape: shape.to_vec(), frac_bits: 0, values: WeightValues::I16(data) }
}

fn w64(shape: &[usize], data: Vec<i64>) -> WeightTensor {
    WeightTensor { shape: shape.to_vec(), frac_bits: 0, values: WeightValues::I64(data) }
}

/// Deterministic pseudo-random integers in `[-m, m]`.
fn ints(n: usize, m: i64, seed: u64) -> Vec<i64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % (2 * m as u64 + 1)) as i64 - m
        })
        .collect()
}

proptest! {
    #[test]
    fn rescale_satisfies_its_division_relation(x in -(1i64 << 60)..(1i64 << 60), s in 1i32..40) {
        let y = rescale_value(x, s);
        let r = x + (1i64 << (s - 1)) - y * (1i64 << s);
        prop_assert!((0..1i64 << s).contains(&r));
    }

    #[test]
    fn inv_sqrt_is_the_unique_integer_of_its_definition(v in 1u64..(1u64 << 58), k in 0u32..=30) {
        let inv = inv_sqrt(v, k) as u128;
        let n = 1u128 << (2 * k);
        prop_assert!(inv * inv * v as u128 <= n);
        prop_assert!((inv + 1) * (inv + 1) * v as u128 > n);
    }
}

#[test]
fn rescale_rounds_half_up_and_shifts_left_exactly() {
    assert_eq!(rescale_value(5, 1), 3);
    assert_eq!(rescale_value(-5, 1), -2);
    assert_eq!(rescale_value(-6, 1), -3);
    assert_eq!(rescale_value(7, 0), 7);
    assert_eq!(rescale_value(-3, -4), -48);
    let op = Rescale { shift: 70 };
    assert!(op.eval_int(&[Operand::Act(&t(&[1], vec![1]))]).is_err());
    assert_eq!(Rescale { shift: 4 }.out_bits(&[&[2]], &[20]).expect("bits"), 17);
}

#[test]
fn matmul_is_exact_and_rejects_bad_operands() {
    let (tt, k, n) = (3, 37, 21);
    let x = ints(tt * k, (1 << 23) - 1, 1);
    let w: Vec<i16> = ints(n * k, 32767, 2).into_iter().map(|v| v as i16).collect();
    let b = ints(n, 1 << 40, 3);
    let y = MatMul { has_bias: true }
        .eval_int(&[Operand::Act(&t(&[tt, k], x.clone())), Operand::Weight(&w16(&[n, k], w.clone())), Operand::Weight(&w64(&[n], b.clone()))])
        .expect("matmul");
    for i in 0..tt {
        for j in 0..n {
            let want: i128 = (0..k).map(|c| x[i * k + c] as i128 * w[j * k + c] as i128).sum::<i128>() + b[j] as i128;
            assert_eq!(y.data[i * n + j] as i128, want);
        }
    }
    // Activation too wide for the kernel; weight stored wide; shape mismatch.
    let big = t(&[1, 2], vec![1 << 40, 0]);
    let wt = w16(&[1, 2], vec![1, 1]);
    assert!(MatMul { has_bias: false }.eval_int(&[Operand::Act(&big), Operand::Weight(&wt)]).is_err());
    let wide = w64(&[1, 2], vec![1, 1]);
    assert!(MatMul { has_bias: false }.eval_int(&[Operand::Act(&t(&[1, 2], vec![1, 1])), Operand::Weight(&wide)]).is_err());
    assert!(MatMul { has_bias: false }.output_shape(&[&[1, 3], &[4, 2]]).is_err());
    // Weights in an activation slot.
    assert!(MatMul { has_bias: false }.eval_int(&[Operand::Weight(&wt), Operand::Weight(&wt)]).is_err());
    // Static bound: 31-bit activations × 15-bit weights over 2^17 terms would pass 2^62.
    assert!(MatMul { has_bias: false }.out_bits(&[&[1, 1 << 17], &[1, 1 << 17]], &[31, 15]).is_err());
    assert_eq!(MatMul { has_bias: false }.out_bits(&[&[1, 768], &[5, 768]], &[24, 15]).expect("bits"), 24 + 15 + 10);
}

#[test]
fn batched_matmul_matches_the_naive_products() {
    let (h, m, k, n) = (2, 3, 5, 4);
    let a = ints(h * m * k, 1000, 4);
    let bt = ints(h * n * k, 1000, 5);
    let y = BatchedMatMul { transpose_b: true }.eval_int(&[Operand::Act(&t(&[h, m, k], a.clone())), Operand::Act(&t(&[h, n, k], bt.clone()))]).expect("nt");
    let b = ints(h * k * n, 1000, 6);
    let z = BatchedMatMul { transpose_b: false }.eval_int(&[Operand::Act(&t(&[h, m, k], a.clone())), Operand::Act(&t(&[h, k, n], b.clone()))]).expect("nn");
    for hh in 0..h {
        for i in 0..m {
            for j in 0..n {
                let nt: i64 = (0..k).map(|c| a[(hh * m + i) * k + c] * bt[(hh * n + j) * k + c]).sum();
                let nn: i64 = (0..k).map(|c| a[(hh * m + i) * k + c] * b[(hh * k + c) * n + j]).sum();
                assert_eq!(y.data[(hh * m + i) * n + j], nt);
                assert_eq!(z.data[(hh * m + i) * n + j], nn);
            }
        }
    }
    assert!(BatchedMatMul { transpose_b: true }.output_shape(&[&[2, 3, 5], &[2, 4, 6]]).is_err());
}

#[test]
fn layernorm_follows_its_integer_definition_and_tracks_the_float() {
    let n = 64;
    let x = ints(2 * n, 1 << 20, 7);
    let gamma: Vec<i64> = ints(n, 1 << 14, 8).into_iter().map(|g| g + (1 << 15)).collect();
    let beta = ints(n, 1 << 12, 9);
    // gamma at 2^-15, output at 2^-12: shift = K + 15 − 12.
    let op = LayerNorm { eps: 1, k: 30, shift: 33 };
    let y = op
        .eval_int(&[Operand::Act(&t(&[2, n], x.clone())), Operand::Weight(&w64(&[n], gamma.clone())), Operand::Weight(&w64(&[n], beta.clone()))])
        .expect("layernorm");
    for r in 0..2 {
        let row = &x[r * n..(r + 1) * n];
        let st = op.row_stats(row);
        let sum: i64 = row.iter().sum();
        assert!((0..n as i64).contains(&(sum - n as i64 * st.mean)));
        let sq: i64 = row.iter().map(|v| (v - st.mean).pow(2)).sum();
        assert!((0..n as i64).contains(&(sq - n as i64 * st.var)));
        let mean_f = row.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let sd_f = (row.iter().map(|&v| (v as f64 - mean_f).powi(2)).sum::<f64>() / n as f64).sqrt();
        for c in 0..n {
            let want = (row[c] as f64 - mean_f) / sd_f * gamma[c] as f64 / 32768.0 * 4096.0 + beta[c] as f64;
            // inv = floor(2^K/σ) carries a relative error below 1/inv; the rest is rounding.
            let tol = 1.5 + (want - beta[c] as f64).abs() * 2.0 / st.inv as f64;
            assert!((y.data[r * n + c] as f64 - want).abs() <= tol, "{} vs {want}", y.data[r * n + c]);
        }
    }
    // Inputs beyond the bound that keeps Σd² below 2^62 are rejected, statically and at run time.
    let over = 1i64 << max_input_bits(n);
    assert!(op.out_bits(&[&[1, n], &[n], &[n]], &[max_input_bits(n) + 1, 16, 13]).is_err());
    let mut bad = x.clone();
    bad[0] = over;
    assert!(op.eval_int(&[Operand::Act(&t(&[2, n], bad)), Operand::Weight(&w64(&[n], gamma)), Operand::Weight(&w64(&[n], beta))]).is_err());
}

#[test]
fn gelu_table_tracks_gelu_and_rejects_unclamped_inputs() {
    let g = Gelu::new(10, 12);
    let xs: Vec<i64> = (-32768..32768).step_by(97).collect();
    let y = g.eval_int(&[Operand::Act(&t(&[xs.len()], xs.clone()))]).expect("gelu");
    for (x, y) in xs.iter().zip(&y.data) {
        let want = gelu_f64(*x as f64 / 1024.0) * 4096.0;
        assert!((*y as f64 - want).abs() <= 0.5 + 1e-9);
    }
    assert!(g.eval_int(&[Operand::Act(&t(&[1], vec![1 << 15]))]).is_err());
    assert!(g.eval_int(&[Operand::Act(&t(&[1], vec![GELU_MIN - 1]))]).is_err());
    assert!(g.out_bits(&[&[1]], &[16]).is_err());
    // max TABLE = round(gelu(32767/1024)·4096) = 131068 < 2^17.
    assert_eq!(g.out_bits(&[&[1]], &[15]).expect("bits"), 17);
}

#[test]
fn softmax_is_causal_exact_and_normalised() {
    let table: Arc<[i64]> = exp_table(12, 20);
    let (h, m) = (2, 5);
    let x = ints(h * m * m, 1 << 16, 10);
    let op = CausalSoftmax::new(0, 12, 20, 16, table.clone());
    let p = op.eval_int(&[Operand::Act(&t(&[h, m, m], x.clone()))]).expect("softmax");
    for r in 0..h * m {
        let i = r % m;
        let row = &x[r * m..(r + 1) * m];
        let out = &p.data[r * m..(r + 1) * m];
        let parts = op.row_parts(row, i + 1);
        assert!(row[..=i].iter().all(|&v| v <= parts.max) && row[..=i].contains(&parts.max));
        for j in 0..m {
            if j > i {
                assert_eq!(out[j], 0, "masked entry");
            } else {
                let rem = (parts.exps[j] << 16) - out[j] * parts.sum;
                assert!((0..parts.sum).contains(&rem));
            }
        }
        let total: i64 = out.iter().sum();
        assert!(total <= 1 << 16 && total > (1 << 16) - m as i64, "row sum {total}");
        // Against the float softmax.
        let mx = row[..=i].iter().copied().max().expect("nonempty") as f64;
        let z: f64 = row[..=i].iter().map(|&v| ((v as f64 - mx) / 4096.0).exp()).sum();
        for j in 0..=i {
            let want = ((row[j] as f64 - mx) / 4096.0).exp() / z;
            assert!((out[j] as f64 / 65536.0 - want).abs() < 1e-3);
        }
    }
    // A step graph row with offset 3 equals row 3 of the full pass.
    let full = CausalSoftmax::new(0, 12, 20, 16, table.clone());
    let step = CausalSoftmax::new(3, 12, 20, 16, table.clone());
    let pf = full.eval_int(&[Operand::Act(&t(&[1, m, m], x[..m * m].to_vec()))]).expect("full");
    let ps = step.eval_int(&[Operand::Act(&t(&[1, 2, m], x[3 * m..5 * m].to_vec()))]).expect("step");
    assert_eq!(ps.data[..], pf.data[3 * m..]);
    assert!(step.output_shape(&[&[1, 2, 4]]).is_err());
    assert!(op.eval_int(&[Operand::Act(&t(&[1, 1, 1], vec![1 << 62]))]).is_err());
}

#[test]
fn argmax_takes_the_smallest_index_among_ties() {
    assert_eq!(argmax_row(&[1, 5, 3, 5]), 1);
    assert_eq!(argmax_row(&[-4, -4]), 0);
    let y = Argmax.eval_int(&[Operand::Act(&t(&[2, 3], vec![0, 9, 9, 7, 1, 7]))]).expect("argmax");
    assert_eq!(y.data, vec![1, 0]);
}

#[test]
fn reshapes_are_inverse_relabellings() {
    let x = t(&[3, 8], (0..24).collect());
    let s = SplitHeads { heads: 2 }.eval_int(&[Operand::Act(&x)]).expect("split");
    assert_eq!(s.shape, vec![2, 3, 4]);
    assert_eq!(s.data[4..8], [8, 9, 10, 11]);
    let m = MergeHeads.eval_int(&[Operand::Act(&s)]).expect("merge");
    assert_eq!(m, x);
    let c = SliceCols { start: 2, len: 3 }.eval_int(&[Operand::Act(&x)]).expect("slice");
    assert_eq!(c.data, vec![2, 3, 4, 10, 11, 12, 18, 19, 20]);
    assert!(SliceCols { start: 6, len: 3 }.output_shape(&[&[3, 8]]).is_err());
    assert!(SplitHeads { heads: 3 }.output_shape(&[&[3, 8]]).is_err());
    let a = t(&[2, 1, 2], vec![1, 2, 3, 4]);
    let b = t(&[2, 2, 2], vec![5, 6, 7, 8, 9, 10, 11, 12]);
    let cat = ConcatSeq.eval_int(&[Operand::Act(&a), Operand::Act(&b)]).expect("concat");
    assert_eq!(cat.data, vec![1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12]);
}

#[test]
fn embedding_gathers_rows_and_rejects_foreign_ids() {
    let table = w16(&[3, 2], vec![1, 2, 3, 4, 5, 6]);
    let y = Embedding.eval_int(&[Operand::Act(&t(&[2], vec![2, 0])), Operand::Weight(&table)]).expect("gather");
    assert_eq!(y.data, vec![5, 6, 1, 2]);
    assert!(Embedding.eval_int(&[Operand::Act(&t(&[1], vec![3])), Operand::Weight(&table)]).is_err());
    assert!(Embedding.eval_int(&[Operand::Act(&t(&[1], vec![-1])), Operand::Weight(&table)]).is_err());
}

#[test]
fn clamp_saturates_and_bounds() {
    let c = Clamp::symmetric(3);
    let y = c.eval_int(&[Operand::Act(&t(&[4], vec![-100, -7, 7, 100]))]).expect("clamp");
    assert_eq!(y.data, vec![-7, -7, 7, 7]);
    assert_eq!(c.out_bits(&[&[4]], &[40]).expect("bits"), 3);
    assert_eq!(c.out_bits(&[&[4]], &[2]).expect("bits"), 2);
    assert_eq!(Clamp { lo: 5, hi: 9 }.out_bits(&[&[1]], &[0]).expect("bits"), 4);
    assert!(Clamp { lo: 2, hi: 1 }.eval_int(&[Operand::Act(&t(&[1], vec![0]))]).is_err());
}
