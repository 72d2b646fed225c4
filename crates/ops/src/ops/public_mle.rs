//! Multilinear extensions of public 0/1 tensors that the verifier evaluates itself in `O(bits)`:
//! validity masks of padded tensors, the causal mask of attention, `[j < a]` and `[j = a]`.
//!
//! All of them are predicates on integers read **most significant bit first** (the variable order
//! of `zkinfer-poly`). A predicate recognised by a finite automaton that reads the bits of its
//! arguments in lockstep has an MLE computable by dynamic programming over the automaton:
//!
//! `P̃(z) = Σ_{x ∈ {0,1}^n} eq(z, x)·P(x) = Σ_{accepting paths} Π_l Π_arg w_l(bit)`,
//! with `w_l(1) = z_l`, `w_l(0) = 1 − z_l`,
//!
//! because `eq(z, x)` factors into one weight per bit. Each step costs `states × 2^args`
//! operations, so the whole evaluation is `O(n)`.

use zkinfer_field::{EF, PrimeCharacteristicRing};

/// Evaluates the MLE of a predicate on `points.len()` numbers of `k = points[i].len()` bits each
/// (all the same length), given as an automaton with `states` states starting in `start`, reading
/// the numbers' bits MSB first (`step(state, level, bits) -> state`), accepting in `accept`.
fn automaton_mle(
    points: &[&[EF]],
    states: usize,
    start: usize,
    step: impl Fn(usize, usize, &[bool]) -> usize,
    accept: impl Fn(usize) -> bool,
) -> EF {
    let args = points.len();
    let k = points.first().map_or(0, |p| p.len());
    debug_assert!(points.iter().all(|p| p.len() == k), "automaton arguments of different lengths");
    let mut dp = vec![EF::ZERO; states];
    dp[start] = EF::ONE;
    let mut bits = vec![false; args];
    for level in 0..k {
        let mut next = vec![EF::ZERO; states];
        for combo in 0..(1usize << args) {
            let mut weight = EF::ONE;
            for (a, bit) in bits.iter_mut().enumerate() {
                *bit = (combo >> a) & 1 == 1;
                let z = points[a][level];
                weight *= if *bit { z } else { EF::ONE - z };
            }
            for (s, &v) in dp.iter().enumerate() {
                if v != EF::ZERO {
                    next[step(s, level, &bits)] += v * weight;
                }
            }
        }
        dp = next;
    }
    dp.iter().enumerate().filter(|(s, _)| accept(*s)).map(|(_, v)| *v).sum()
}

/// Bit `level` (MSB first, out of `k`) of `n`; `n` must be `< 2^k`.
#[inline]
fn bit_msb(n: usize, level: usize, k: usize) -> bool {
    (n >> (k - 1 - level)) & 1 == 1
}

// Comparison states of an automaton comparing x with y, MSB first.
const CMP_EQ: usize = 0;
const CMP_LT: usize = 1;
const CMP_GT: usize = 2;

#[inline]
fn cmp_step(state: usize, x: bool, y: bool) -> usize {
    match (state, x, y) {
        (CMP_EQ, false, true) => CMP_LT,
        (CMP_EQ, true, false) => CMP_GT,
        (s, _, _) => s,
    }
}

/// MLE at `z` of `i ↦ [i < n]` over `{0,1}^k` (`k = z.len()`); `n ≥ 2^k` gives the constant 1.
pub fn less_than_mle(n: usize, z: &[EF]) -> EF {
    let k = z.len();
    if k >= usize::BITS as usize || n >= 1usize << k {
        return EF::ONE;
    }
    automaton_mle(&[z], 3, CMP_EQ, |s, l, b| cmp_step(s, b[0], bit_msb(n, l, k)), |s| s == CMP_LT)
}

/// MLE at `z` of `i ↦ [i = a]`, i.e. `eq(z, bits(a))`; zero if `a ≥ 2^k`.
pub fn point_indicator_mle(a: usize, z: &[EF]) -> EF {
    let k = z.len();
    if k < usize::BITS as usize && a >> k != 0 {
        return EF::ZERO;
    }
    (0..k).map(|l| if bit_msb(a, l, k) { z[l] } else { EF::ONE - z[l] }).product()
}

/// MLE of the validity mask of a tensor of `shape` padded to powers of two, at `z` (the
/// concatenation of each axis' coordinates, `vars[a]` of them for axis `a`): `Π_a [x_a < shape_a]`.
pub fn valid_mask_mle(shape: &[usize], vars: &[usize], z: &[EF]) -> EF {
    debug_assert_eq!(shape.len(), vars.len());
    let mut offset = 0;
    let mut acc = EF::ONE;
    for (&n, &k) in shape.iter().zip(vars) {
        acc *= less_than_mle(n, &z[offset..offset + k]);
        offset += k;
    }
    acc
}

/// MLE at `(zi, zj)` of the causal mask restricted to real rows: `(i, j) ↦ [j ≤ i][i < rows]`,
/// with `i` and `j` both on `k = zi.len() = zj.len()` bits.
pub fn causal_mask_mle(rows: usize, zi: &[EF], zj: &[EF]) -> EF {
    let k = zi.len();
    debug_assert_eq!(k, zj.len());
    let all_rows = k >= usize::BITS as usize || rows >= 1usize << k;
    // state = 3·(cmp of j vs i) + (cmp of i vs rows)
    let start = 3 * CMP_EQ + if all_rows { CMP_LT } else { CMP_EQ };
    automaton_mle(
        &[zi, zj],
        9,
        start,
        |s, l, b| {
            let (ji, ir) = (s / 3, s % 3);
            let (i_bit, j_bit) = (b[0], b[1]);
            let ji = cmp_step(ji, j_bit, i_bit);
            let ir = if all_rows { ir } else { cmp_step(ir, i_bit, bit_msb(rows, l, k)) };
            3 * ji + ir
        },
        |s| s / 3 != CMP_GT && s % 3 == CMP_LT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::F;
    use zkinfer_poly::Mle;

    fn random_point(k: usize, seed: u64) -> Vec<EF> {
        (0..k)
            .map(|i| {
                let a = F::from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64 * 7919) >> 3);
                EF::from(a) * EF::from(F::from_u64(i as u64 + 3))
            })
            .collect()
    }

    fn brute(table: Vec<F>, z: &[EF]) -> EF {
        Mle::new(table).evaluate(z)
    }

    #[test]
    fn less_than_matches_brute_force() {
        for k in 0..6 {
            for n in 0..=(1usize << k) + 1 {
                let z = random_point(k, (n * 31 + k) as u64);
                let table = (0..1usize << k).map(|i| F::from_bool(i < n)).collect();
                assert_eq!(less_than_mle(n, &z), brute(table, &z), "k={k} n={n}");
            }
        }
    }

    #[test]
    fn point_indicator_matches_brute_force() {
        for k in 0..5 {
            for a in 0..(1usize << k) + 2 {
                let z = random_point(k, (a * 17 + k) as u64 + 5);
                let table = (0..1usize << k).map(|i| F::from_bool(i == a)).collect();
                assert_eq!(point_indicator_mle(a, &z), brute(table, &z));
            }
        }
    }

    #[test]
    fn causal_mask_matches_brute_force() {
        for k in 0..5 {
            for rows in 0..=(1usize << k) {
                let zi = random_point(k, rows as u64 + 100);
                let zj = random_point(k, rows as u64 + 200);
                let n = 1usize << k;
                let table = (0..n * n).map(|x| F::from_bool(x % n <= x / n && x / n < rows)).collect();
                let z: Vec<EF> = zi.iter().chain(&zj).copied().collect();
                assert_eq!(causal_mask_mle(rows, &zi, &zj), brute(table, &z), "k={k} rows={rows}");
            }
        }
    }

    #[test]
    fn valid_mask_matches_brute_force() {
        let (shape, vars) = ([3usize, 5], [2usize, 3]);
        let z = random_point(5, 42);
        let table = (0..32).map(|x| F::from_bool(x / 8 < 3 && x % 8 < 5)).collect();
        assert_eq!(valid_mask_mle(&shape, &vars, &z), brute(table, &z));
    }
}
