//! The no-wrap argument: when a relation checked modulo `p` is an integer relation.
//!
//! Every op proves identities between integers — products of range-checked columns, weights,
//! public constants, and operands with static bounds — by checking them in the field
//! (`p = 2^64 − 2^32 + 1`), at a random point or in a zero-check. Write such an identity as
//! `Σ_i lhs_i = Σ_j rhs_j` and suppose every term is known to lie in an integer interval. Then the
//! integer `D = Σ lhs − Σ rhs` lies in `[Σ lo(lhs) − Σ hi(rhs), Σ hi(lhs) − Σ lo(rhs)]`; if that
//! interval is strictly inside `(−p, p)`, `D ≡ 0 (mod p)` forces `D = 0`: **the field identity is
//! the integer identity.** [`check_relation`] checks exactly this, in exact `i128` interval
//! arithmetic (saturating far above `p`). It is the one place this argument is made: every op
//! calls it for each of its relations from the parameter check that the prover (`witness`) and
//! the verifier (`layout` and `verify`) both run, so parameters under which a relation could wrap
//! are refused on both sides — by the verifier even if a key declares them.
//!
//! **Rounding and division.** For `a = D·q + r` with `0 ≤ r < D` proven (`D = 2^s` with `r`
//! range-checked to `s` bits, or a committed `Z ≥ 1` with `Z − 1 − r ≥ 0` range-checked), the
//! integer identity is Euclidean division: `q = floor(a / D)` and `r = a mod D` are the only
//! solution, whatever the prover commits. Without the interval check two points of the
//! range-checked box may satisfy the field identity: `D·(q − q') + (r − r') = k·p`, `k ≠ 0`. The
//! forgery of issue 9 is one: a LayerNorm with `s = 58` and `|y| ≤ 2^10` accepts `y + 64` with
//! `r − (2^32 − 1)`, since `2^58·64 = 2^64 ≡ 2^32 − 1`. The property test below checks, against
//! an exact solver of `2^s·Δq + Δr ≡ 0`, that no second solution exists whenever the check
//! passes.
//!
//! **Term bounds.** A `b`-bit unsigned range check proves `v ∈ [0, 2^b)`
//! ([`Interval::unsigned_range`]); a `b`-bit *signed* one proves `v ∈ [−2^(b−1), 2^(b−1))`, the
//! value `−2^(b−1)` included ([`Interval::signed_range`]). The graph's static bounds
//! (`|v| < 2^b`, from `zkinfer_graph`) are taken inclusively, `[−2^b, 2^b]`
//! ([`Interval::magnitude`]), so every argument also covers the one extra value a signed range
//! check admits. Why an operand's static bound may be assumed at all: by induction over the graph
//! in topological order, every committed value is the unique solution of its relations in its
//! range-checked box, i.e. the honest integer, and honest integers satisfy the static bounds as
//! long as the weights satisfy theirs (the key's declared weight bounds).

use crate::error::ProofError;

/// Values beyond this magnitude are all "too large": arithmetic saturates here, far above `p`.
const SATURATE: i128 = 1 << 120;

/// The field's modulus as an integer.
const P: i128 = zkinfer_field::P as i128;

/// An integer interval `[lo, hi]` holding one term of a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Smallest value.
    pub lo: i128,
    /// Largest value.
    pub hi: i128,
}

fn clamp(v: i128) -> i128 {
    v.clamp(-SATURATE, SATURATE)
}

/// `2^bits`, saturated.
fn pow2(bits: u32) -> i128 {
    if bits >= 120 { SATURATE } else { 1i128 << bits }
}

impl Interval {
    /// `[lo, hi]` (swapped if given in the wrong order).
    pub fn between(lo: i128, hi: i128) -> Self {
        Self { lo: clamp(lo.min(hi)), hi: clamp(lo.max(hi)) }
    }

    /// The constant `c`.
    pub fn constant(c: i128) -> Self {
        Self::between(c, c)
    }

    /// A `bits`-bit unsigned range check: `[0, 2^bits − 1]`.
    pub fn unsigned_range(bits: u32) -> Self {
        Self::between(0, pow2(bits) - 1)
    }

    /// A `bits`-bit signed range check: `[−2^(bits−1), 2^(bits−1) − 1]` (`bits ≥ 1`).
    pub fn signed_range(bits: u32) -> Self {
        let half = pow2(bits.saturating_sub(1));
        Self::between(-half, half - 1)
    }

    /// A static bound `|v| < 2^bits`, taken inclusively: `[−2^bits, 2^bits]`.
    pub fn magnitude(bits: u32) -> Self {
        Self::between(-pow2(bits), pow2(bits))
    }

    /// The interval of `c·v`.
    pub fn scale(self, c: i128) -> Self {
        Self::between(clamp(self.lo.saturating_mul(c)), clamp(self.hi.saturating_mul(c)))
    }

    /// The interval of `2^s·v`.
    pub fn times_pow2(self, s: u32) -> Self {
        self.scale(pow2(s))
    }

    /// The interval of `u·v`.
    pub fn times(self, o: Self) -> Self {
        let c = [self.lo.saturating_mul(o.lo), self.lo.saturating_mul(o.hi), self.hi.saturating_mul(o.lo), self.hi.saturating_mul(o.hi)];
        let lo = c.iter().copied().min().unwrap_or(0);
        let hi = c.iter().copied().max().unwrap_or(0);
        Self::between(clamp(lo), clamp(hi))
    }

    /// The interval of `u + v`.
    pub fn plus(self, o: Self) -> Self {
        Self::between(clamp(self.lo.saturating_add(o.lo)), clamp(self.hi.saturating_add(o.hi)))
    }

    /// The interval of a sum of `n` terms each in `self`.
    pub fn sum_of(self, n: usize) -> Self {
        self.scale(n as i128)
    }
}

/// The interval of `Σ lhs − Σ rhs`.
pub fn difference(lhs: &[Interval], rhs: &[Interval]) -> Interval {
    let l = lhs.iter().fold(Interval::constant(0), |a, &t| a.plus(t));
    let r = rhs.iter().fold(Interval::constant(0), |a, &t| a.plus(t));
    l.plus(r.scale(-1))
}

/// Checks that the identity `Σ lhs = Σ rhs`, with every term in its interval, holds over the
/// integers whenever it holds modulo `p` (see the module docs); otherwise a shape error naming
/// `op` and `relation` (the parameters are unsupported).
pub fn check_relation(op: &'static str, relation: &str, lhs: &[Interval], rhs: &[Interval]) -> Result<(), ProofError> {
    let d = difference(lhs, rhs);
    if -P < d.lo && d.hi < P {
        Ok(())
    } else {
        Err(ProofError::shape(
            op,
            format!("relation {relation} could wrap modulo p (its two sides differ by up to 2^{:.1}): unsupported parameters", log2(d.lo.abs().max(d.hi.abs()))),
        ))
    }
}

fn log2(v: i128) -> f64 {
    (v.max(1) as f64).log2()
}

/// The rounding relation `a + 2^(s−1) = 2^s·q + r` (`r ∈ [0, 2^s)` range-checked, `s ≥ 1`) with
/// the dividend's other terms `a` and the quotient's interval `q`; see [`check_relation`].
pub fn check_rounding(op: &'static str, relation: &str, a: &[Interval], shift: u32, q: Interval) -> Result<(), ProofError> {
    if shift == 0 || shift > 62 {
        return Err(ProofError::shape(op, format!("rounding shift {shift} outside 1..=62")));
    }
    let mut lhs = a.to_vec();
    lhs.push(Interval::constant(pow2(shift - 1)));
    check_relation(op, relation, &lhs, &[q.times_pow2(shift), Interval::unsigned_range(shift)])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every `k ≠ 0` with `2^s·y + r + k·p = 2^s·y' + r'` for some `y' ∈ [y_lo, y_hi]`,
    /// `r' ∈ [0, 2^s)`: the other solutions of `2^s·y' + r' ≡ 2^s·y + r (mod p)` in the box, as
    /// the range of `k` (empty if `lo > hi`). Exact: for a given integer value the pair
    /// `(y', r')` is its Euclidean division by `2^s`, so a `k` works iff `y'` lands in the box.
    pub(crate) fn other_solutions(s: u32, y_lo: i128, y_hi: i128, y: i128, r: i128) -> Vec<i128> {
        let v = (y << s) + r;
        let (box_lo, box_hi) = (y_lo << s, (y_hi << s) + (1i128 << s) - 1);
        let k_lo = (box_lo - v).div_euclid(P) + i128::from((box_lo - v).rem_euclid(P) != 0);
        let k_hi = (box_hi - v).div_euclid(P);
        // Only the existence matters; report at most a few.
        (k_lo..=k_hi).filter(|&k| k != 0).take(4).collect()
    }

    #[test]
    fn the_issue_9_forgery_is_found_by_the_solver_and_refused_by_the_check() {
        // LayerNorm of the reproduction: s = 58, |y| ≤ 2^10 (signed 11-bit check), y − β small.
        let (s, ob) = (58u32, 10u32);
        let ks = other_solutions(s, -(1 << ob), (1 << ob) - 1, 3, 5);
        assert!(!ks.is_empty(), "the solver must find the known second solution");
        let y = Interval::signed_range(ob + 1);
        assert!(check_rounding("LayerNorm", "test", &[Interval::magnitude(20)], s, y).is_err());
        // 2^58·64 ≡ 2^32 − 1: the explicit second solution (Δy = 64, Δr = −(2^32 − 1)).
        assert_eq!(((1i128 << 58) * 64 - ((1i128 << 32) - 1)).rem_euclid(P), 0);
        // The same relation with a small shift is accepted and has no second solution.
        assert!(check_rounding("LayerNorm", "test", &[Interval::magnitude(40)], 40, y).is_ok());
        assert!(other_solutions(40, -(1 << ob), (1 << ob) - 1, 3, 5).is_empty());
    }

    #[test]
    fn intervals_are_exact_and_saturate() {
        assert_eq!(Interval::signed_range(11), Interval::between(-1024, 1023));
        assert_eq!(Interval::unsigned_range(3), Interval::between(0, 7));
        assert_eq!(Interval::magnitude(2).times(Interval::signed_range(3)), Interval::between(-16, 16));
        assert_eq!(Interval::magnitude(200).times(Interval::magnitude(200)).hi, SATURATE);
        assert!(check_relation("t", "huge", &[Interval::magnitude(130)], &[]).is_err());
        // 2^63 + 2^62 + 2^61 < p, 2^63 + 2^63 ≥ p.
        assert!(check_relation("t", "ok", &[Interval::between(0, 1 << 63)], &[Interval::between(-(1 << 62), 1 << 61)]).is_ok());
        assert!(check_relation("t", "wraps", &[Interval::between(0, 1 << 63)], &[Interval::between(-(1 << 63), 0)]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Whenever the check accepts a rounding relation `a + 2^(s−1) = 2^s·y + r` with
        /// `y` a signed `ob + 1`-bit value (LayerNorm's and Rescale's shape), no other point
        /// `(y', r')` of the range-checked box satisfies it modulo p, for random honest `(y, r)`.
        #[test]
        fn accepted_rounding_relations_have_one_solution(
            s in 1u32..=62,
            ob in 0u32..=62,
            a_bits in 0u32..=63,
            y_seed in any::<u64>(),
            r_seed in any::<u64>(),
        ) {
            let y_box = Interval::signed_range(ob + 1);
            let accepted = check_rounding("prop", "rounding", &[Interval::magnitude(a_bits)], s, y_box).is_ok();
            let y = y_box.lo + (y_seed as i128).rem_euclid(y_box.hi - y_box.lo + 1);
            let r = (r_seed as i128).rem_euclid(1i128 << s);
            let others = other_solutions(s, y_box.lo, y_box.hi, y, r);
            if accepted {
                prop_assert!(others.is_empty(), "s {s}, ob {ob}: second solutions at k = {others:?}");
            }
            // The quotient box alone decides uniqueness: a box of 2^(s+ob+1) values wider than
            // p always has a second solution for some (y, r), and then the check refuses.
            if s + ob + 1 >= 65 {
                prop_assert!(!accepted);
            }
        }

        /// Division by a committed divisor (softmax): `e·2^P = p·Z + r` with `0 ≤ r < Z`,
        /// `e ∈ [0, 2^E]`, `Z ∈ [1, 2^(E + t)]`, `p` a `P + 1`-bit value. When the check accepts,
        /// no other quotient of the box has a remainder in `[0, Z)` modulo p.
        #[test]
        fn accepted_divisions_are_euclidean(
            e_bits in 0u32..=40,
            p_bits in 0u32..=40,
            t_bits in 0u32..=20,
            e_seed in any::<u64>(),
            z_seed in any::<u64>(),
            dq in -8i128..=8,
        ) {
            let z_bits = e_bits + t_bits;
            let z_box = Interval::between(1, 1i128 << z_bits);
            let q_box = Interval::unsigned_range(p_bits + 1);
            let r_box = Interval::unsigned_range(z_bits + 1);
            let lhs = [Interval::between(0, 1i128 << e_bits).times_pow2(p_bits)];
            let accepted = check_relation("prop", "division", &lhs, &[q_box.times(z_box), r_box]).is_ok();
            if e_bits + p_bits <= 40 {
                prop_assert!(accepted, "softmax's parameters (E + P ≤ 40) must be accepted");
            }
            let e = (e_seed as i128).rem_euclid((1i128 << e_bits) + 1);
            let z = 1 + (z_seed as i128).rem_euclid(1i128 << z_bits);
            let a = e << p_bits;
            let q = a.div_euclid(z);
            let q2 = q + dq;
            if accepted && dq != 0 && q2 >= q_box.lo && q2 <= q_box.hi {
                let r2 = (a - q2 * z).rem_euclid(P);
                prop_assert!(r2 >= z, "second quotient {q2} for {a}/{z}");
            }
        }
    }
}
