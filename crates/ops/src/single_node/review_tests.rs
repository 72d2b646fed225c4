//! Adversarial review (review6) of the block-committed signed range limbs.
//!
//! A signed range check of a zero-padded tensor whose limbs are committed as blocks adds its
//! offset only where `χ = 1`. The blocks cover more than the logical extent whenever a
//! dimension's tail (`d mod 16`) is not a power of two (`3 → 4`, `40 = 32 + 8` exact, `41 → 48`):
//! on that *cover padding* the limbs are committed, so with `χ` the logical extent the column is
//! `Σ_j 2^(16j)·l_j ∈ [0, 2^b)` there — not `0`, and not the signed range `[−2^(b−1), 2^(b−1))`
//! every op's no-wrap check assumes. A rescale with `s + b = 63` (accepted by
//! `bounds::check_rounding`: the signed range gives `|2^s·y| ≤ 2^63 < p`) then admits, on a cover
//! padding entry with `x = 0`, `y = (p − 1)/2^s` and `r = 1`: `2^s·y + r = p ≡ 0`.

use zkinfer_field::{F, PrimeCharacteristicRing};

use crate::ops::rescale::{REMAINDER_COLUMN, RescaleProof};
use crate::protocol::{OUTPUT_COLUMN, TensorRole};
use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, padded_index, run, set_entry};
use crate::witness::WitnessBuilder;

fn rescale_case(dims: &[usize], shift: i32) -> Case {
    let n: usize = dims.iter().product();
    let x: Vec<i64> = (0..n as i64).map(|i| (i * 7919 % 2001) - 1000).collect();
    let y = x.iter().map(|&v| zkinfer_graph::ops::rescale::rescale_value(v, shift)).collect();
    Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x }], output_dims: dims.to_vec(), output: y, public_output: None }
}

/// The wrap on the cover padding: `y = (p − 1)/2^16 = 2^48 − 2^16` (below `2^48`, so its limbs
/// exist with no offset there) and `r = 1` satisfy `x + 2^15·V = 2^16·y + r` modulo `p` at an entry
/// where `x = V = 0`. The verifier must reject (the column is in the signed range on the blocks).
#[test]
fn a_signed_column_cannot_wrap_on_the_padding_its_blocks_cover() {
    // [3, 40] pads to [4, 64]; its blocks cover [4, 40] (row 3 is padding inside the blocks).
    let dims = [3usize, 40];
    let (shift, out_bits) = (16i32, 47u32);
    let op = RescaleProof::new(shift, out_bits).with_input_bits(20);
    let c = rescale_case(&dims, shift);
    assert_accepts(&op, &c);
    let at = padded_index(&[4, 40], &[3, 5]);
    let y = (zkinfer_field::P - 1) >> 16;
    assert_eq!(y, (1u64 << 48) - (1 << 16));
    let t = move |w: &mut WitnessBuilder| {
        set_entry(w, OUTPUT_COLUMN, at, F::from_u64(y));
        set_entry(w, REMAINDER_COLUMN, at, F::ONE);
    };
    let r = run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
    assert!(r.is_err(), "a rescale output 2^48 − 2^16 on the padding was accepted");
    // (Outside the blocks — column 50 of this tensor — the limbs are not committed at all: the
    // sparse opening reads them as zero, so `y = 0` there. This harness's ideal opening evaluates
    // the prover's whole padded table instead, so that case is `zkinfer_pcs::sparse`'s to test.)
}

/// Softmax's `s, δ, o, r, c` are committed as the blocks of the cube's extent; with 21 keys and
/// 21 rows the blocks cover 24 of each (`21 = 16 + 5`, the last part padded to 8). A value
/// planted on that padding inside the blocks — a padded key of a real row, a padded row, both;
/// `(δ, e)` moved together along the exp table — is refused by the identities over the whole cube
/// (`χ` is the logical extent there, so `c + r = 0` off it, both range-checked).
#[test]
fn softmax_columns_are_zero_on_the_padding_their_blocks_cover() {
    use zkinfer_graph::ops::softmax::{CausalSoftmax, exp_table};

    use crate::ops::softmax::SoftmaxProof;
    use crate::single_node::testkit::{assert_rejects, bump};

    let n = 21usize;
    let dims = [2usize, n, n];
    let m = CausalSoftmax::new(0, 8, 20, 16, exp_table(8, 20));
    let x: Vec<i64> = (0..2 * n * n).map(|i| ((i as i64 * 7919) % 8001) - 4000).collect();
    let mut p = vec![0; x.len()];
    for (row, (xs, o)) in x.chunks(n).zip(p.chunks_mut(n)).enumerate() {
        m.eval_row(xs, row % n + 1, o);
    }
    let op = SoftmaxProof::from_model(&m, 13).expect("params");
    let c = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x }], output_dims: dims.to_vec(), output: p, public_output: None };
    assert_accepts(&op, &c);
    let cover = [2usize, 24, 24];
    for at in [padded_index(&cover, &[1, 5, 22]), padded_index(&cover, &[0, 22, 3]), padded_index(&cover, &[1, 23, 23])] {
        for col in ["onehot", "delta", "overflow", "rem", "slack", OUTPUT_COLUMN] {
            let t = move |w: &mut WitnessBuilder| bump(w, col, at, 1);
            assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
        }
        // (δ, e) moved together to the exp table's next row: the lookup holds, `δ + o = 0` fails.
        let table = m.table.clone();
        let t = move |w: &mut WitnessBuilder| {
            bump(w, "delta", at, 1);
            bump(w, "exp", at, table[1] - table[0]);
        };
        assert_rejects(&op, &c, &Attack { tamper: Some(&t), ..Default::default() });
    }
}
