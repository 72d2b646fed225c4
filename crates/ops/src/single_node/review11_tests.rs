//! Adversarial review (review11) of the clamp's symmetric form (`crate::ops::clamp`, module doc
//! "Symmetric form", protocol 8): a clamp into `[−m, m]`, `m = 2^k − 1`, `k ≥ 16`, proven through
//! `t = |y|` (a `k`-bit range check), `s = |x − y|` and the batched zero-check
//! `(s² − d²) + λ(t² − y²) + λ²(mχ − t)s + λ³(yd − ts) + λ⁴(1 − χ)y`.
//!
//! Each attack is a malicious prover that forges the output `y` and recomputes everything
//! downstream the way the honest witness would (`t = |y|`, `s = |x − y|`, their range limbs), so
//! every range check and the two "magnitude" relations `t² = y²`, `s² = d²` hold. What is left
//! to catch it is the check named in each test. Each test was shown to fail (its forgery
//! accepted, the honest control still passing) with the check it relies on weakened in
//! `ops/clamp.rs` on both sides (a temporary, uncommitted build; review11's report):
//! `λ²` term dropped → `saturated_short_of_the_bound`; `λ³` dropped → `saturated_with_the_wrong_sign`,
//! `inputs_near_the_bound_limit`, the `m − 1 → m` case; `λ²` and `λ³` → `negated_output`;
//! `λ²`, `λ³`, `λ⁴` → `padding_outputs`; `t` range-checked to `k + 1` bits →
//! `unclamped_at_two_to_the_k`; no range check on `t` (with `λ²` dropped) → the `t = −m` case;
//! no range check on `s` → the `s = −d` case.
//!
//! Odd sizes (5 × 9 pads to 8 × 16; 3 × 41 pads to 4 × 64 with cover padding 41 → 48) so that
//! padding and cover padding are both present.

use zkinfer_field::{F, PrimeCharacteristicRing};

use crate::ops::clamp::ClampProof;
use crate::protocol::{OUTPUT_COLUMN, TensorRole};
use crate::single_node::testkit::{Attack, Case, Operand, assert_accepts, bump, padded_index, run, set_entry};
use crate::witness::WitnessBuilder;

/// Inputs spread over `±2^30` (a deterministic mix), with the boundary values of `k` first.
fn inputs(n: usize, k: u32, seed: i64) -> Vec<i64> {
    let m = (1i64 << k) - 1;
    let edges = [m, -m, m + 1, -m - 1, 1 << k, -(1 << k), 0, m - 1, -m + 1, 1, -1];
    (0..n as i64)
        .map(|i| {
            if (i as usize) < edges.len() {
                return edges[i as usize];
            }
            let v = (i * 7919 + seed * 104_729) % 1_000_003 * if i % 2 == 0 { 1 } else { -1 };
            // magnitudes up to ~2^30, alternating signs
            v << (i % 11)
        })
        .collect()
}

fn case(dims: &[usize], k: u32, seed: i64) -> (Case, ClampProof) {
    let m = (1i64 << k) - 1;
    let n: usize = dims.iter().product();
    let x = inputs(n, k, seed);
    assert!(x.iter().all(|v| v.abs() < 1 << 31));
    let y = x.iter().map(|&v| v.clamp(-m, m)).collect();
    let c = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x }], output_dims: dims.to_vec(), output: y, public_output: None };
    (c, ClampProof::new(-m, m, 31))
}

/// The cases every attack runs on: `k = 16` (the smallest symmetric form), `17`, `24` (the
/// models' matmul clamp).
fn cases() -> Vec<(Case, ClampProof, u32)> {
    [(vec![5usize, 9], 16u32, 1i64), (vec![3, 41], 24, 2), (vec![7, 3], 17, 3)].into_iter().map(|(d, k, s)| {
        let (c, op) = case(&d, k, s);
        (c, op, k)
    }).collect()
}

/// Runs the attack of a forged output (the prover's witness recomputes `t`, `s` and the limbs
/// from it); `Err` from the verifier or an opening, never from the prover.
fn forged_output(c: &Case, op: &ClampProof, y: Vec<i64>) -> Result<(), String> {
    let r = run(op, c, &Attack { output: Some(y), ..Default::default() });
    if let Err(e) = &r {
        assert!(!e.starts_with("prover"), "the malicious prover itself refused: {e}");
    }
    r
}

#[test]
fn honest_control_symmetric_and_gap_forms() {
    for (c, op, _) in cases() {
        assert_accepts(&op, &c);
    }
    // Neighbours that stay on the gap form: k = 15, lo = −hi with hi ≠ 2^k − 1, lo ≠ −hi.
    for (lo, hi) in [(-((1i64 << 15) - 1), (1 << 15) - 1), (-(1i64 << 20), 1 << 20), (-(1i64 << 24), (1 << 24) - 1), (-((1i64 << 20) - 2), (1 << 20) - 2)] {
        let (mut c, _) = case(&[5, 9], 20, 4);
        c.output = c.inputs[0].values.iter().map(|&v| v.clamp(lo, hi)).collect();
        assert_accepts(&ClampProof::new(lo, hi, 31), &c);
    }
}

/// `y = −clamp(x)` everywhere: `|y| = |clamp(x)|`, so `t` is the honest `t`; caught by
/// `y·d = t·s` (the sign) on every saturated entry and by `(m − t)·s` on the inside ones.
#[test]
fn negated_output_is_refused() {
    for (c, op, k) in cases() {
        let y: Vec<i64> = c.output.iter().map(|&v| -v).collect();
        let e = forged_output(&c, &op, y).expect_err("y = −clamp(x) accepted");
        eprintln!("k {k} negated: {e}");
    }
}

/// Wrong sign only where saturated (`x > m` gives `y = −m`, `x < −m` gives `y = m`): `t = m`, so
/// `(m·χ − t)·s = 0` holds and `s² = d²`, `t² = y²` hold — only `λ³·(y·d − t·s)` is left.
#[test]
fn saturated_with_the_wrong_sign_is_refused() {
    for (c, op, k) in cases() {
        let m = (1i64 << k) - 1;
        let y: Vec<i64> = c.inputs[0].values.iter().map(|&x| if x > m { -m } else if x < -m { m } else { x }).collect();
        assert_ne!(y, c.output);
        let e = forged_output(&c, &op, y).expect_err("wrong-sign saturation accepted");
        eprintln!("k {k} wrong sign: {e}");
        // one entry only: x = m + 1 (index 2) mapped to −m
        let mut y = c.output.clone();
        y[2] = -m;
        forged_output(&c, &op, y).expect_err("x = m + 1 → −m accepted");
    }
}

/// Saturating short of the bound (`y = sign(x)·(m − 1)` where `|x| > m`), or to a value of the
/// right sign inside: `y·d = t·s` holds (same signs), `t < m`; only `λ²·(m·χ − t)·s` is left.
#[test]
fn saturated_short_of_the_bound_is_refused() {
    for (c, op, k) in cases() {
        let m = (1i64 << k) - 1;
        let y: Vec<i64> = c.inputs[0].values.iter().map(|&x| if x > m { m - 1 } else if x < -m { -m + 1 } else { x }).collect();
        let e = forged_output(&c, &op, y).expect_err("short saturation accepted");
        eprintln!("k {k} short: {e}");
        // inside entries pulled towards zero (same sign, |y| < |x| ≤ m): also only λ² left
        let y: Vec<i64> = c.output.iter().map(|&v| if v.abs() > 2 && v.abs() < m { v - v.signum() } else { v }).collect();
        assert_ne!(y, c.output);
        forged_output(&c, &op, y).expect_err("inside pulled to zero accepted");
        // x = m − 1 (index 7) lifted to m: d < 0 but y > 0: λ³ (and λ² does not apply: t = m)
        let mut y = c.output.clone();
        y[7] = m;
        forged_output(&c, &op, y).expect_err("x = m − 1 → m accepted");
        // y = 0 everywhere (t = 0, s = |x|): λ² on every nonzero x
        forged_output(&c, &op, vec![0; c.output.len()]).expect_err("y = 0 accepted");
    }
}

/// `y = x` unclamped at `|x| = m + 1 = 2^k` (indices 2..6): `s = 0`, so every product term
/// vanishes; only the `k`-bit range check of `t = |y| = 2^k` is left (the forging witness
/// decomposes it modulo `2^k`; the limb relation is false).
#[test]
fn unclamped_at_two_to_the_k_is_refused() {
    for (c, op, k) in cases() {
        for i in [2usize, 3, 4, 5] {
            let mut y = c.output.clone();
            y[i] = c.inputs[0].values[i];
            assert_eq!(y[i].abs(), 1 << k);
            let dims = c.output_dims.clone();
            let cols = dims[1];
            let at = padded_index(&dims, &[i / cols, i % cols]);
            // t = 2^k written with the limbs of 2^k mod 2^k = 0 (what set_entry leaves: the old limbs)
            let t = move |w: &mut WitnessBuilder| {
                let y = c_i(&dims, i, &y);
                set_entry(w, OUTPUT_COLUMN, at, y);
                set_entry(w, "abs", at, F::from_u64(1 << k));
                set_entry(w, "dist", at, F::ZERO);
            };
            let e = run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() }).expect_err("unclamped 2^k accepted");
            eprintln!("k {k} unclamped at {i}: {e}");
        }
    }
}

fn c_i(_dims: &[usize], i: usize, y: &[i64]) -> F {
    zkinfer_field::from_i64_unchecked(y[i])
}

/// Field-level forgeries at one entry `x > m` (in `F_p` the only square roots of `t²` are `±t`,
/// so the magnitudes' field negations are the only other candidates): `t = −m` (the field
/// negation, outside `t`'s range) and `s = −d` (outside `s`'s range), with a control that
/// writes the honest values through the same path.
#[test]
fn field_negations_of_the_magnitudes_are_refused() {
    for (c, op, k) in cases() {
        let m = (1i64 << k) - 1;
        let dims = c.output_dims.clone();
        let cols = dims[1];
        let i = c.inputs[0].values.iter().position(|&x| x > m + 5).expect("an entry above");
        let at = padded_index(&dims, &[i / cols, i % cols]);
        let x = c.inputs[0].values[i];
        // y = −m with t = p − m = y (t² = y², y·d = t·s hold): refused by t's range check (and
        // (m − t)·s = 2m·s ≠ 0)
        let t = move |w: &mut WitnessBuilder| {
            set_entry(w, OUTPUT_COLUMN, at, -F::from_u64(m as u64));
            set_entry(w, "abs", at, -F::from_u64(m as u64));
            set_entry(w, "dist", at, F::from_u64((x + m) as u64));
        };
        let e = run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() }).expect_err("t = −m accepted");
        eprintln!("k {k} t = -m: {e}");
        // y = −m with t = m and s = p − (x + m) = −d: y·d = −m·d = t·s, (m − t)·s = 0, s² = d²,
        // t² = y² all hold. Only the range check of s is left.
        let t = move |w: &mut WitnessBuilder| {
            set_entry(w, OUTPUT_COLUMN, at, -F::from_u64(m as u64));
            set_entry(w, "abs", at, F::from_u64(m as u64));
            set_entry(w, "dist", at, -F::from_u64((x + m) as u64));
        };
        let e = run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() }).expect_err("s = −d accepted");
        eprintln!("k {k} s = -d: {e}");
        // the honest column values written through set_entry: accepted (control for the two above)
        let y0 = c.output[i];
        let t = move |w: &mut WitnessBuilder| {
            set_entry(w, OUTPUT_COLUMN, at, F::from_u64(y0 as u64));
            set_entry(w, "abs", at, F::from_u64(m as u64));
            set_entry(w, "dist", at, F::from_u64((x - m) as u64));
        };
        run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() }).expect("honest values through set_entry rejected");
    }
}

/// Off the extent (padding, and the cover padding of 41 → 48): `y = x = 0` there, so a
/// nonzero `y` with `t = |y|`, `s = |y|` is caught by `λ²` (`−t·s ≠ 0`) and `λ⁴`; `y = ±m` too.
#[test]
fn padding_outputs_are_refused() {
    for (c, op, k) in cases() {
        let m = (1i64 << k) - 1;
        let dims = c.output_dims.clone();
        let padded: Vec<usize> = dims.iter().map(|d| d.next_power_of_two()).collect();
        // a padding column inside a logical row, and a padding row
        let spots = [padded_index(&padded, &[0, dims[1]]), padded_index(&padded, &[padded[0] - 1, 0])];
        for at in spots {
            if dims[0] == padded[0] && at == padded_index(&padded, &[padded[0] - 1, 0]) {
                continue;
            }
            for y in [1i64, -1, m, -m] {
                let t = move |w: &mut WitnessBuilder| {
                    bump(w, OUTPUT_COLUMN, at, y);
                    bump(w, "abs", at, y.abs());
                    bump(w, "dist", at, y.abs());
                };
                let e = run(&op, &c, &Attack { tamper: Some(&t), ..Default::default() }).expect_err("padding output accepted");
                assert!(!e.starts_with("prover"), "{e}");
            }
        }
    }
}

/// Inputs near the largest bound the clamp accepts (`in_bits = 61`, `|x|` up to `2^60 + …`):
/// honest accepted; the wrong sign at the largest entries and the negation refused (the
/// field relation is still an integer one: `|x| < 2^62 + 2^k < p/2`).
#[test]
fn inputs_near_the_bound_limit() {
    let k = 24u32;
    let m = (1i64 << k) - 1;
    let dims = [3usize, 5];
    let x: Vec<i64> = (0..15i64).map(|i| match i % 5 {
        0 => (1i64 << 60) + i * 12_345,
        1 => -(1i64 << 60) - i * 54_321,
        2 => (1i64 << 61) - 1 - i,
        3 => -(1i64 << 61) + 1 + i,
        _ => i * 1000 - 7000,
    }).collect();
    let y: Vec<i64> = x.iter().map(|&v| v.clamp(-m, m)).collect();
    let c = Case { inputs: vec![Operand { dims: dims.to_vec(), role: TensorRole::Virtual, values: x.clone() }], output_dims: dims.to_vec(), output: y.clone(), public_output: None };
    let op = ClampProof::new(-m, m, 61);
    assert_accepts(&op, &c);
    let wrong: Vec<i64> = y.iter().zip(&x).map(|(&v, &x)| if x.abs() > m { -v } else { v }).collect();
    forged_output(&c, &op, wrong).expect_err("wrong sign near 2^61 accepted");
    forged_output(&c, &op, y.iter().map(|&v| -v).collect()).expect_err("negation near 2^61 accepted");
}
