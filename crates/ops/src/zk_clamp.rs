//! Clamp in zero knowledge (issue 13, chokes 1–3 for one op; `docs/SECURITY.md`). **Wired into
//! the graph prover** (`crate::zk_graph`'s walk calls it): [`crate::ops::clamp`] is the public proof, unchanged (there its
//! zero-check runs in the graph's batched phase, [`crate::zerocheck`]; here it is the op's own
//! masked sumcheck — choke 3 for one op).
//!
//! **Relation.** The public Clamp's, in either of its forms (chosen from `(lo, hi)` alone by
//! [`ClampProof`]'s rule): committed `y` (output), `s = |x − y|` (`dist`), and in the symmetric
//! form `t = |y|` (`abs`); `x` the input (committed or virtual); `χ` the public extent indicator.
//! With `d = x − y`, a random `z` and `λ`,
//!
//! ```text
//! gaps:      Σ_x eq(z, x)·[u·v + λ·a·u + λ²·b·v] = 0,   u = s − d, v = s + d, a = y − lo·χ, b = hi·χ − y
//! symmetric: Σ_x eq(z, x)·[(s² − d²) + λ(t² − y²) + λ²(m·χ − t)·s + λ³(y·d − t·s) + λ⁴(1 − χ)·y] = 0
//! ```
//!
//! expanded here into products of the tables `[y, s, x, χ]` (`[y, t, s, x, χ]`): every composite
//! (`a`, `b`, `u`, `v`, `d`) is an affine combination of them, so the sumcheck's tables are the
//! committed columns themselves and the final values are theirs.
//!
//! **Protocol.** `z`, `λ` drawn from the transcript; one masked product sumcheck
//! (`zkinfer_sumcheck::zk_product`, with `eq(z, ·)`, claim 0, round degree 5) over the randomised
//! extensions `ŷ`, `ŝ`, `t̂`, `x̂` (`Vanishing::All` for committed columns, `x̂` the input's: its PCS
//! mask or `R` mask) and the public `χ`. Sent: the rounds, `ŷ(ρ)`, `ŝ(ρ)`, `x̂(ρ)` (`t̂(ρ)`) and
//! `χ(ρ)`, which the verifier recomputes ([`crate::witness::extent_indicator`]) and compares.
//! Claims out: `ŷ`, `ŝ`, `t̂` at `ρ` (openings), `x̂(ρ)` to the input's origin, the mask's claims.
//! Range checks (`s`, the gaps or `t`) are the public op's, proven by the zk lookups (choke 4).
//!
//! **Soundness; no wrap.** On the cube every `P̂ = P`, so the sumcheck proves the public relation
//! `Σ eq(z, x)·g(x) = 0` over the plain tables; `g = 0` entry-wise then follows except with
//! probability `n/|EF|` (`z`) and `4/|EF|` (`λ`), and the integer reading is the public Clamp's,
//! word for word: every value is below `2^62`, `check_relation` bounds both sides of
//! `s = ±(x − y)` ([`ClampProof`]'s widths, run here by both sides), so each field identity is the
//! integer one, and `s² = d²`, `a·(s − d) = 0`, `b·(s + d) = 0` (or the symmetric form's terms)
//! give exactly the clamp (`crate::ops::clamp`'s module docs). Error: the masked sumcheck's
//! `(1 + n·D')/|EF|` (`D = 5`, `D' = 7`) plus `(n + 4)/|EF|` plus the openings', the χ check
//! exact.
//!
//! **Zero knowledge; simulator.** The relation is quadratic in every committed table (`s²`, `d²`,
//! `y·d`), so the other ops' simulator — a random instance's rounds, then one final value solved
//! affinely from the final equation — does not apply (solving would need a square root, which
//! exists for half of the field only). It is not needed: the honest view is *independent of the
//! witness*. The sent finals `ŷ(ρ)`, `ŝ(ρ)`, `t̂(ρ)`, `x̂(ρ)` are uniform and independent for any
//! witness (each carries its own fresh mask value at a point with no boolean coordinate:
//! `Z(ρ)·M(ρ_{<μ})`, or `x`'s `R` mask), `χ(ρ)` is public, `f(ρ)` is their function, and the
//! masked rounds are uniform on the affine space fixed by `(0, f(ρ))` (`zkinfer_sumcheck::zk`).
//! So the simulator runs the honest prover on **any witness satisfying the relation** — the
//! all-zero tables (`g ≡ 0` on the cube: every term has a factor `y`, `s`, `t` or `d`) — with
//! fresh masks: the same distribution, and it uses nothing of the witness. Leaks: the shape,
//! `(lo, hi, in_bits)`.

use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_sumcheck::zk_product::{MIN_ZK_PRODUCT_VARS, ZkProductSumcheck, product_mask_shape, prove_product_zk, verify_product_zk};
use zkinfer_sumcheck::{ProductSumcheck, Term};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::ops::clamp::{ClampProof, Form};
use crate::witness::extent_indicator;

const OP: &str = "Clamp (zk)";

fn vars(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

fn ef(v: i64) -> EF {
    EF::from(from_i64_unchecked(v))
}

/// An affine combination of tables: `Σ c·P_j`.
type Lin = Vec<(EF, usize)>;

/// `c·a·b`, expanded into terms.
fn product(out: &mut Vec<Term>, c: EF, a: &Lin, b: &Lin) {
    for &(ca, ia) in a {
        for &(cb, ib) in b {
            out.push((c * ca * cb, vec![ia, ib]));
        }
    }
}

/// The public statement: the tensor's logical shape and the clamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkClampShape {
    /// Logical dimensions of `x` and `y`.
    pub dims: Vec<usize>,
    /// The clamp (bounds, input width).
    pub clamp: ClampProof,
}

/// Table indices: the gap form has `[Y, S, X, C]`, the symmetric form `[Y, S, X, C, T]`.
const Y: usize = 0;
const S: usize = 1;
const X: usize = 2;
const C: usize = 3;
const T: usize = 4;

impl ZkClampShape {
    /// Variables of the padded tensor.
    pub fn num_vars(&self) -> usize {
        self.dims.iter().map(|&d| vars(d)).sum()
    }

    /// The form (the public op's rule) after its width checks.
    fn form(&self) -> Result<Form, ProofError> {
        if self.dims.is_empty() || self.dims.contains(&0) {
            return Err(ProofError::shape(OP, "an empty dimension"));
        }
        if self.num_vars() < MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, format!("a zk clamp needs ≥ {MIN_ZK_PRODUCT_VARS} variables, got {}", self.num_vars())));
        }
        Ok(self.clamp.widths()?.0)
    }

    /// Whether the symmetric form (a committed magnitude `t`) is used.
    pub fn symmetric(&self) -> Result<bool, ProofError> {
        Ok(matches!(self.form()?, Form::Symmetric { .. }))
    }

    fn num_tables(form: Form) -> usize {
        match form {
            Form::Gaps { .. } => 4,
            Form::Symmetric { .. } => 5,
        }
    }

    /// The relation's terms over the tables (module docs).
    fn terms(&self, form: Form, lambda: EF) -> Vec<Term> {
        let (lo, hi) = (self.clamp.lo, self.clamp.hi);
        let one = EF::ONE;
        let d: Lin = vec![(one, X), (-one, Y)];
        let mut out = Vec::new();
        match form {
            Form::Gaps { .. } => {
                let u: Lin = vec![(one, S), (-one, X), (one, Y)];
                let v: Lin = vec![(one, S), (one, X), (-one, Y)];
                let a: Lin = vec![(one, Y), (-ef(lo), C)];
                let b: Lin = vec![(ef(hi), C), (-one, Y)];
                product(&mut out, one, &u, &v);
                product(&mut out, lambda, &a, &u);
                product(&mut out, lambda * lambda, &b, &v);
            }
            Form::Symmetric { .. } => {
                let (l2, l3) = (lambda * lambda, lambda * lambda * lambda);
                let l4 = l3 * lambda;
                let (s, t, y): (Lin, Lin, Lin) = (vec![(one, S)], vec![(one, T)], vec![(one, Y)]);
                product(&mut out, one, &s, &s);
                product(&mut out, -one, &d, &d);
                product(&mut out, lambda, &t, &t);
                product(&mut out, -lambda, &y, &y);
                product(&mut out, l2, &vec![(ef(hi), C), (-one, T)], &s);
                product(&mut out, l3, &y, &d);
                product(&mut out, -l3, &t, &s);
                out.push((l4, vec![Y]));
                out.push((-l4, vec![C, Y]));
            }
        }
        out
    }
}

/// The sumcheck mask's shape (round degree 5).
pub fn zk_clamp_mask_shape(shape: &ZkClampShape) -> Result<MaskShape, ProofError> {
    let form = shape.form()?;
    Ok(product_mask_shape(shape.num_vars(), &shape.terms(form, EF::ONE), true))
}

/// What both sides end with: claims at the sumcheck point `ρ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkClampClaims {
    /// `ŷ(ρ)` (the output column).
    pub y: Claim,
    /// `ŝ(ρ)` (`dist`).
    pub s: Claim,
    /// `t̂(ρ)` (`abs`), symmetric form only.
    pub t: Option<Claim>,
    /// `x̂(ρ)`, to the input's origin.
    pub x: Claim,
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

impl ZkClampClaims {
    fn from(point: Vec<EF>, values: &[EF], symmetric: bool, mask_claims: Vec<(Vec<EF>, EF)>) -> Self {
        let at = |j: usize| Claim::new(point.clone(), values[j]);
        Self { y: at(Y), s: at(S), t: symmetric.then(|| at(T)), x: at(X), mask_claims }
    }
}

/// The factors of `v(z_last)` in each committed table's randomised extension at a full point
/// (`t` ignored in the gap form).
#[allow(missing_debug_implementations)] // prover secrets behind closures
pub struct ZkClampMasks<'a> {
    /// `y`'s.
    pub y: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `s`'s.
    pub s: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `t`'s.
    pub t: &'a (dyn Fn(&[EF]) -> EF + Sync),
    /// `x`'s (its PCS mask or `R` mask).
    pub x: &'a (dyn Fn(&[EF]) -> EF + Sync),
}

/// Prover: `x` and `y` logical row-major (`y` the committed output, `s = |x − y|` and `t = |y|`
/// are derived); `masks` the commitment's cofactors; `mask` of shape [`zk_clamp_mask_shape`].
pub fn prove_clamp_zk(shape: &ZkClampShape, x: &[i64], y: &[i64], masks: &ZkClampMasks<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkClampClaims, ProofError> {
    let form = shape.form()?;
    let len: usize = shape.dims.iter().product();
    if x.len() != len || y.len() != len {
        return Err(ProofError::witness(OP, "input and output lengths"));
    }
    crate::ops::product_sumcheck::check_bound(OP, x, shape.clamp.in_bits)?;
    let s: Vec<i64> = x.iter().zip(y).map(|(&x, &y)| (x - y).abs()).collect();
    let layout = TensorLayout::new(&shape.dims);
    let mut tables = vec![layout.pad_i64(y), layout.pad_i64(&s), layout.pad_i64(x), layout.pad_i64(&vec![1; len])];
    if matches!(form, Form::Symmetric { .. }) {
        tables.push(layout.pad_i64(&y.iter().map(|v| v.abs()).collect::<Vec<_>>()));
    }
    prove_with_tables(shape, form, tables, masks, mask, t)
}

/// The sumcheck of [`prove_clamp_zk`] over the given tables (a test hook: a malicious prover
/// substitutes tables, e.g. a forged `χ`; the simulator passes the all-zero witness).
pub(crate) fn prove_with_tables(shape: &ZkClampShape, form: Form, tables: Vec<Vec<F>>, masks: &ZkClampMasks<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkClampClaims, ProofError> {
    let n = shape.num_vars();
    let z = t.challenge_exts(n);
    let lambda = t.challenge_ext();
    let terms = shape.terms(form, lambda);
    let k = ZkClampShape::num_tables(form);
    if tables.len() != k || tables.iter().any(|tb| tb.len() != 1 << n) {
        return Err(ProofError::witness(OP, "table shapes"));
    }
    let inner = ProductSumcheck::new_base(tables.into_iter().map(Mle::new).collect(), terms.clone(), Some(z.clone()));
    let hidden = |j: usize, p: &[EF]| match j {
        Y => (masks.y)(p),
        S => (masks.s)(p),
        X => (masks.x)(p),
        T => (masks.t)(p),
        _ => EF::ZERO,
    };
    let mut inst = ZkProductSumcheck::new(inner, terms, Some(z), k, &hidden).map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let out = prove_product_zk(&mut inst, mask, t);
    Ok(ZkClampClaims::from(out.point, &out.values, k == 5, out.mask_claims))
}

/// Verifier side of [`prove_clamp_zk`].
pub fn verify_clamp_zk(shape: &ZkClampShape, t: &mut VerifierTranscript<'_>) -> Result<ZkClampClaims, ProofError> {
    let form = shape.form()?;
    let n = shape.num_vars();
    let z = t.challenge_exts(n);
    let lambda = t.challenge_ext();
    let terms = shape.terms(form, lambda);
    let k = ZkClampShape::num_tables(form);
    let out = verify_product_zk(EF::ZERO, n, &terms, Some(&z), k, t).map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    if out.values[C] != extent_indicator(&shape.dims, &out.point) {
        return Err(ProofError::check(OP, "the public extent indicator's value is wrong"));
    }
    Ok(ZkClampClaims::from(out.point, &out.values, k == 5, out.mask_claims))
}

#[cfg(test)]
#[path = "zk_clamp_tests.rs"]
mod tests;
