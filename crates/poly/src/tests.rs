#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use super::*;
use p3_multilinear_util::point::Point;
use p3_multilinear_util::poly::Poly;
use proptest::prelude::*;

use zkinfer_field::SplitMix64 as Rng;

/// `x` as a Boolean point, `x_0` = most significant bit.
fn bits(x: usize, n: usize) -> Vec<EF> {
    (0..n)
        .map(|k| {
            if (x >> (n - 1 - k)) & 1 == 1 {
                EF::ONE
            } else {
                EF::ZERO
            }
        })
        .collect()
}

/// Σ_x eq(point, x) f(x) with eq evaluated directly: the definition of the MLE.
fn naive_evaluate(table: &[F], point: &[EF]) -> EF {
    let n = point.len();
    table
        .iter()
        .enumerate()
        .map(|(x, &v)| eq_eval(point, &bits(x, n)) * v)
        .sum()
}

#[test]
fn boolean_points_read_the_table_with_x0_most_significant() {
    let mut rng = Rng(1);
    let table = rng.fs(8);
    let mle = Mle::new(table.clone());
    for x in 0..8 {
        assert_eq!(mle.evaluate(&bits(x, 3)), EF::from(table[x]));
    }
    // x_0 = 1, x_1 = 0, x_2 = 0 is index 4.
    let p = [EF::ONE, EF::ZERO, EF::ZERO];
    assert_eq!(mle.evaluate(&p), EF::from(table[4]));
}

#[test]
fn evaluate_matches_the_definition() {
    let mut rng = Rng(2);
    for n in 0..=7 {
        let table = rng.fs(1 << n);
        let point = rng.efs(n);
        let mle = Mle::new(table.clone());
        let expect = naive_evaluate(&table, &point);
        assert_eq!(mle.evaluate(&point), expect, "n = {n}");
        assert_eq!(mle.lift().evaluate(&point), expect, "n = {n} lifted");
    }
}

#[test]
fn fixing_variables_commutes_with_evaluation_including_parallel_sizes() {
    let mut rng = Rng(3);
    for n in [1, 2, 5, 15, 16] {
        let table = rng.fs(1 << n);
        let point = rng.efs(n);
        let mle = Mle::new(table);
        let full = mle.evaluate(&point);
        let mut folded = mle.fix_first(point[0]);
        assert_eq!(folded.num_vars(), n - 1);
        assert_eq!(folded, mle.lift().fix_first(point[0]));
        assert_eq!(folded.evaluate(&point[1..]), full, "n = {n}");
        for &r in &point[1..] {
            folded.fix_first_in_place(r);
        }
        assert_eq!(folded.num_vars(), 0);
        assert_eq!(folded.evals, vec![full]);
    }
}

#[test]
fn matches_p3_multilinear_util_which_uses_the_same_order() {
    let mut rng = Rng(4);
    // Sizes on both sides of p3's recursion threshold and of our parallel threshold.
    for n in [0, 1, 3, 8, 12, 15] {
        let table = rng.fs(1 << n);
        let point = rng.efs(n);
        let ours = Mle::new(table.clone()).evaluate(&point);
        let theirs: EF = Poly::new(table).eval_base(&Point::new(point.clone()));
        assert_eq!(ours, theirs, "n = {n}");
        let p3_eq: Vec<EF> = Point::new(point.clone()).equality_weights_msb();
        assert_eq!(eq_evals(&point), p3_eq, "eq table n = {n}");
    }
}

#[test]
fn eq_tables_match_eq_eval_and_sum_to_scale() {
    let mut rng = Rng(5);
    for n in [0, 1, 4, 13, 14, 15] {
        let point = rng.efs(n);
        let scale = rng.ef();
        let table = eq_evals_scaled(&point, scale);
        assert_eq!(table.len(), 1 << n);
        assert_eq!(table.iter().copied().sum::<EF>(), scale);
        for x in [0, (1 << n) - 1, (1 << n) / 3, (1 << n) / 2] {
            assert_eq!(
                table[x],
                scale * eq_eval(&point, &bits(x, n)),
                "n = {n}, x = {x}"
            );
        }
        assert_eq!(
            eq_evals(&point)
                .iter()
                .map(|&e| e * scale)
                .collect::<Vec<_>>(),
            table
        );
    }
}

#[test]
fn eq_eval_is_the_boolean_indicator_and_symmetric() {
    let mut rng = Rng(6);
    for x in 0..8 {
        for y in 0..8 {
            let e = eq_eval(&bits(x, 3), &bits(y, 3));
            assert_eq!(e, if x == y { EF::ONE } else { EF::ZERO });
        }
    }
    let (a, b) = (rng.efs(5), rng.efs(5));
    assert_eq!(eq_eval(&a, &b), eq_eval(&b, &a));
}

#[test]
fn next_pow2_vars_values() {
    let cases = [
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (1024, 10),
        (1025, 11),
    ];
    for (n, v) in cases {
        assert_eq!(next_pow2_vars(n), v, "n = {n}");
    }
}

#[test]
fn from_i64_padded_embeds_and_pads() {
    let m = Mle::from_i64_padded(&[-1, 2, -3], 2);
    assert_eq!(m.num_vars, 2);
    assert_eq!(m.evals, vec![F::NEG_ONE, F::TWO, -F::from_u64(3), F::ZERO]);
}

#[test]
#[should_panic(expected = "not a power of two")]
fn non_power_of_two_tables_are_a_programming_error() {
    let _ = Mle::new(vec![F::ONE; 3]);
}

#[test]
fn interpolation_recovers_polynomials() {
    let mut rng = Rng(7);
    for d in 0..6 {
        let coeffs = rng.efs(d + 1);
        let horner = |x: EF| coeffs.iter().rev().fold(EF::ZERO, |acc, &c| acc * x + c);
        let values: Vec<EF> = (0..=d).map(|t| horner(EF::from_usize(t))).collect();
        for x in [rng.ef(), EF::from_usize(d), EF::from_usize(d + 3)] {
            assert_eq!(interpolate_uni(&values, x), horner(x), "degree {d}");
        }
    }
}

#[test]
fn extrapolate_line_steps() {
    let mut out = [F::ZERO; 4];
    extrapolate_line(F::from_u64(3), F::from_u64(5), &mut out);
    assert_eq!(out, [3, 5, 7, 9].map(F::from_u64));
}

proptest! {
    #[test]
    fn random_tables_evaluate_like_the_definition(seed in any::<u64>(), n in 0usize..6) {
        let mut rng = Rng(seed);
        let table = rng.fs(1 << n);
        let point = rng.efs(n);
        prop_assert_eq!(Mle::new(table.clone()).evaluate(&point), naive_evaluate(&table, &point));
    }
}
