//! Causal softmax in zero knowledge (issue 13, chokes 1–2 for one op; `docs/SECURITY.md`). **Not
//! wired into the graph prover**: [`crate::ops::softmax`] is the public proof, unchanged.
//!
//! **Relation.** The public op's, word for word (its module docs): scores `x: [H, M, N]`, the
//! committed columns `m` (`max`, rows), `s` (`onehot`), `δ`, `o`, `e` (`exp`), `Z` (`sum`, rows),
//! `p` (the output), `r`, `c`; the public causal mask `M`, extent `χ`, `eq(z₁, ·)` broadcast
//! along the keys and `eq(z, ·)`; the lookups and range checks are the public op's (choke 4).
//!
//! **Protocol.** `z`, `z₁`, `λ` drawn as in public mode; one masked sumcheck over the cube's `n`
//! variables of the public op's terms over the same 14 tables, read through the randomised
//! extensions of the committed ones (the row tables `m`, `Z` broadcast along the keys:
//! [`crate::zk_broadcast`], each masked table's mask entering in the round that binds its own
//! last variable), with one change: the public proof sends `Z̃(z₁)` and claims
//! `λ⁸·Z̃(z₁) + λ⁹·R̃(z₁)`; a sent `Ẑ(z₁)` would carry `Z`'s own mask into the claim, which nothing
//! inside the sumcheck cancels (the "broadcast operands" rule), so the zk proof moves that part
//! into the sum as the term `−λ⁸·2^{−k}·E₁·Z` (`k` the key variables: `Σ_j` of a row table
//! broadcast along `2^k` keys is `2^k` times it): the claim is the public `λ⁹·R̃(z₁)` and
//! `Σ_cube E₁·(M·e − 2^{−k}·Z) = Z̃(z₁) − Z̃(z₁) = 0` holds exactly when the public identity does.
//! Round degree `2·3 = 6`. Sent: the rounds, the 14 final values (`x̂(ρ)`, `m̂(ρ_rows)`,
//! `Ẑ(ρ_rows)`, the cube columns' at `ρ`, and the four public tables', which the verifier
//! recomputes with the public op's `public_at` and compares). Claims out: `x̂(ρ)` to the input's
//! origin, the committed columns' to the opening, the mask's.
//!
//! **Soundness; no wrap.** On the cube every randomised table equals the plain one, so the
//! sumcheck proves the public op's identity (with `λ⁸`'s part in the sum rather than the claim:
//! the same polynomial identity in `λ`), and the integer reading is the public op's
//! (`check_relations`, run by both sides here: every relation's two sides differ by less than
//! `p`). Error: the masked sumcheck's `(1 + n·D')/|EF|` (`D = 6`, `D' = 7`), the public op's
//! `(n + n_rows + 10)/|EF|` for `z`, `z₁`, `λ`, the openings'; the public tables' check is exact.
//! **Constraints:** the row tables are masked, so `H·M` padded must have `≥ 5` variables
//! (`M ≥ 17` at one head). **Head padding** ([`ZkSoftmaxShape::padded`], the graph driver's
//! rule): with fewer, the cube is laid out over `H' = 2^{h'}` heads (`h'` head variables, the
//! fewest with `h' + ⌈log2 M⌉ ≥ 5`); the heads `≥ H` are padding like any other (`M = R = 0`
//! there: the identities force `δ = o = s = p = r = c = Z = 0`, `e`, `m` only appear times `M`).
//! The committed columns of the op are committed at that size; the input `x` and the output `p`
//! (tensors of the graph, committed at their own size `[H, M, N]`) are read **zero-extended**:
//! the `e = h' − ⌈log2 H⌉` extra head variables are the cube's first (the heads' high bits), so
//! `X'(z) = Π_{i<e}(1 − z_i)·x̂(z_{≥e})` — a randomised extension of the zero-extended table
//! (equal to it on the cube; its mask term `Π_{i<e}(1 − z_i)·Z(z_{≥e})·M` vanishes wherever a
//! coordinate of `z_{≥e}` is boolean, and its cofactor of `v(z_last)` is
//! `Π_{i<e}(1 − z_i)` times `x̂`'s: [`ZkSoftmaxShape::pad_factor`]). A final value `X'(ρ)` is the
//! claim `x̂(ρ_{≥e}) = X'(ρ)/Π_{i<e}(1 − ρ_i)` ([`ZkSoftmaxShape::unpadded`]; a factor 0, i.e. some
//! `ρ_i = 1`, probability `e/|EF|`, is refused). Soundness is unchanged: the sumcheck proves the
//! public identity over the padded cube, whose real part is the op's.
//!
//! **Zero knowledge; simulator.** The sent masked values are fresh mask values at points with no
//! boolean coordinate (uniform, independent, whatever the witness), the public values are
//! functions of the challenges, and the rounds are uniform on the affine space fixed by the
//! public claim and `f(ρ)`: the view is independent of the witness. The simulator (tests) runs
//! the prover on a *fake* witness that satisfies the sumcheck identity — every column zero but
//! the one-hot `s` (key 0 of each real row) and `c = −χ` — with fresh masks: no score, maximum,
//! exponential, sum or probability of the real witness enters. (The relation is quadratic in
//! `s`, `δ`, `o`, `p`, `Z`: the one-final-value simulator would need `x̂(ρ)`'s slope `eq·M(ρ)`,
//! which works too; the fake witness needs no solving.)

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_sumcheck::Term;
use zkinfer_sumcheck::zk::{MaskShape, SumcheckMask};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::ops::public_mle::less_than_mle;
use crate::ops::softmax::{C, D, Dims, E, E1, EQ, MASK, MB, NUM_TABLES, O, P, R, ROWS, S, SoftmaxProof, X, ZB, public_at, public_tables};
use crate::zk_broadcast::{BroadcastTable, ZkBroadcastSumcheck, broadcast_mask_shape, prove_broadcast_zk, verify_broadcast_zk};

const OP: &str = "CausalSoftmax (zk)";

/// The tables read at the rows' sub-point (the rest at the cube's).
const ROW_TABLES: [usize; 3] = [MB, ZB, E1];
/// The public tables.
const PUBLIC: [usize; 4] = [MASK, ROWS, E1, EQ];

/// The public statement: the scores' shape and the public op (parameters, exp table, offset).
#[derive(Debug, Clone)]
pub struct ZkSoftmaxShape {
    /// `[H, M, N]`.
    pub dims: [usize; 3],
    /// The public op.
    pub op: SoftmaxProof,
    /// The cube's head variables `h' ≥ ⌈log2 H⌉` (module docs, "Head padding"; `0`: `⌈log2 H⌉`).
    pub head_vars: usize,
}

/// Most extra head variables of a padded zk softmax (5: a single row takes `2^5` heads).
const MAX_PAD_VARS: usize = zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS;

impl ZkSoftmaxShape {
    /// The graph driver's shape: the fewest head variables with `h' + ⌈log2 M⌉ ≥ 5` (module docs).
    pub fn padded(dims: [usize; 3], op: SoftmaxProof) -> Self {
        let (hv, rv) = (zkinfer_poly::next_pow2_vars(dims[0]), zkinfer_poly::next_pow2_vars(dims[1]));
        let head_vars = hv.max(zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS.saturating_sub(rv));
        Self { dims, op, head_vars }
    }

    /// Extra head variables `e` (module docs).
    pub fn pad_vars(&self) -> usize {
        self.head_vars.saturating_sub(zkinfer_poly::next_pow2_vars(self.dims[0]))
    }

    /// `Π_{i<e}(1 − z_i)`: the zero extension's factor at a cube point `z` (module docs).
    pub fn pad_factor(&self, z: &[EF]) -> EF {
        z.iter().take(self.pad_vars()).map(|&c| EF::ONE - c).product()
    }

    /// The claim on the unpadded tensor (`x` or `p`, `[H, M, N]`) from a final value of its
    /// zero extension at the cube point `c.point`: `(z_{≥e}, v/Π_{i<e}(1 − z_i))`. Refused when
    /// the factor is 0 (probability `e/|EF|`).
    pub fn unpadded(&self, c: &Claim) -> Result<Claim, ProofError> {
        let e = self.pad_vars();
        let f = self.pad_factor(&c.point);
        if f == EF::ZERO || c.point.len() < e {
            return Err(ProofError::check(OP, "a padding coordinate equal to 1 (probability e/|EF|)"));
        }
        Ok(Claim::new(c.point[e..].to_vec(), c.value * f.inverse()))
    }

    /// The unpadded tensor (`x` or `p`) zero-extended to the cube and padded (module docs).
    pub(crate) fn pad_tensor(&self, d: &Dims, v: &[i64]) -> Result<Vec<F>, ProofError> {
        let real: usize = self.dims.iter().product();
        if v.len() != real {
            return Err(ProofError::witness(OP, format!("{} values for scores {:?}", v.len(), self.dims)));
        }
        let mut ext = v.to_vec();
        ext.resize(d.cube.len(), 0);
        Ok(d.cube.pad_i64(&ext))
    }

    pub(crate) fn dims(&self) -> Result<Dims, ProofError> {
        let mut d = self.op.dims_of(&self.dims)?;
        let hv = zkinfer_poly::next_pow2_vars(self.dims[0]);
        if self.head_vars > hv + MAX_PAD_VARS {
            return Err(ProofError::shape(OP, format!("{} head variables for {} heads", self.head_vars, self.dims[0])));
        }
        if self.head_vars > hv {
            let heads = 1usize << self.head_vars;
            d.cube = crate::layout::TensorLayout::new(&[heads, d.rows_n, d.len]);
            d.rows = crate::layout::TensorLayout::new(&[heads, d.rows_n]);
        }
        self.op.check_relations(&d)?;
        if d.rows.num_vars() < zkinfer_sumcheck::zk_product::MIN_ZK_PRODUCT_VARS {
            return Err(ProofError::shape(OP, format!("a zk softmax needs ≥ 5 row variables (heads × rows padded), got {}", d.rows.num_vars())));
        }
        Ok(d)
    }

    /// Variables of the cube.
    pub fn num_vars(&self) -> Result<usize, ProofError> {
        Ok(self.dims()?.cube.num_vars())
    }

    /// The public op's terms plus `−λ⁸·2^{−k}·E₁·Z` (module docs).
    fn terms(&self, d: &Dims, lambda: EF) -> Vec<Term> {
        let mut t = self.op.terms_scaled(lambda);
        let inv = EF::TWO.inverse().exp_u64(d.len_vars() as u64);
        t.push((-lambda.exp_u64(8) * inv, vec![E1, ZB]));
        t
    }

    /// `λ⁹·R̃(z₁)`.
    fn claim(d: &Dims, z1: &[EF], lambda: EF) -> EF {
        let hv = d.head_vars();
        lambda.exp_u64(9) * less_than_mle(d.heads, &z1[..hv]) * less_than_mle(d.rows_n, &z1[hv..])
    }
}

/// The sumcheck mask's shape (round degree 6).
pub fn zk_softmax_mask_shape(shape: &ZkSoftmaxShape) -> Result<MaskShape, ProofError> {
    let d = shape.dims()?;
    Ok(broadcast_mask_shape(d.cube.num_vars(), &shape.terms(&d, EF::ONE)))
}

/// What both sides end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSoftmaxClaims {
    /// The sumcheck point `ρ` (the row tables' claims are at its first `n_rows` coordinates).
    pub point: Vec<EF>,
    /// Every table's final value, indexed as the public op's tables (`X`, `MB`, …).
    pub values: Vec<EF>,
    /// Claims on the sumcheck mask table.
    pub mask_claims: Vec<(Vec<EF>, EF)>,
}

impl ZkSoftmaxClaims {
    /// The claim on table `j` (masked or public) at its own point.
    pub fn claim(&self, j: usize, rows_vars: usize) -> Claim {
        let p = if ROW_TABLES.contains(&j) { self.point[..rows_vars].to_vec() } else { self.point.clone() };
        Claim::new(p, self.values[j])
    }
}

/// `H_j(own point)` of the committed tables (index as the public op's; public tables ignored):
/// the factor of `v(z_last)` in `P̂_j − P_j` at the table's own point.
pub type SoftmaxCofactors<'a> = &'a (dyn Fn(usize, &[EF]) -> EF + Sync);

/// Prover: `x`, `p` logical `[H, M, N]` row-major (`p` the committed output); `cof` the
/// commitment's cofactors; `mask` of shape [`zk_softmax_mask_shape`].
pub fn prove_softmax_zk(shape: &ZkSoftmaxShape, x: &[i64], p: &[i64], cof: SoftmaxCofactors<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkSoftmaxClaims, ProofError> {
    let d = shape.dims()?;
    crate::ops::product_sumcheck::check_bound(OP, x, shape.op.in_bits)?;
    let c = shape.op.columns(&d, x, p)?;
    let f = |v: &[i64]| v.iter().map(|&a| from_i64_unchecked(a)).collect::<Vec<F>>();
    let mut own: Vec<Vec<F>> = vec![Vec::new(); 10];
    own[X] = shape.pad_tensor(&d, x)?;
    own[MB] = f(&c.max);
    own[S] = f(&c.onehot);
    own[D] = f(&c.delta);
    own[O] = f(&c.overflow);
    own[E] = c.exp;
    own[P] = shape.pad_tensor(&d, p)?;
    own[ZB] = f(&c.sum);
    own[R] = f(&c.rem);
    own[C] = c.slack;
    prove_with_tables(shape, &d, own, cof, mask, t)
}

/// The sumcheck of [`prove_softmax_zk`] over the committed tables at their own sizes (indices
/// `X..=C`); `forge` edits the public tables (a test hook: a malicious prover substitutes them;
/// the simulator passes a fake witness).
pub(crate) fn prove_with_tables(shape: &ZkSoftmaxShape, d: &Dims, own: Vec<Vec<F>>, cof: SoftmaxCofactors<'_>, mask: &SumcheckMask, t: &mut ProverTranscript) -> Result<ZkSoftmaxClaims, ProofError> {
    prove_forged(shape, d, own, cof, mask, t, &|_: &mut [Vec<EF>]| {})
}

/// [`prove_with_tables`] with the public tables edited by `forge` (`[M, χ, E₁ rows, eq]`).
#[allow(clippy::too_many_arguments)] // the op's tables, the caller's commitment, the test hook
pub(crate) fn prove_forged(
    shape: &ZkSoftmaxShape,
    d: &Dims,
    own: Vec<Vec<F>>,
    cof: SoftmaxCofactors<'_>,
    mask: &SumcheckMask,
    t: &mut ProverTranscript,
    forge: &dyn Fn(&mut [Vec<EF>]),
) -> Result<ZkSoftmaxClaims, ProofError> {
    let (nc, nr) = (d.cube.num_vars(), d.rows.num_vars());
    if own.len() != 10 || own.iter().enumerate().any(|(j, v)| v.len() != 1usize << if j == MB || j == ZB { nr } else { nc }) {
        return Err(ProofError::witness(OP, "table shapes"));
    }
    let z = t.challenge_exts(nc);
    let z1 = t.challenge_exts(nr);
    let lambda = t.challenge_ext();
    let (mask_t, rows_t, _, eq_t) = public_tables(d, &z, &z1);
    let mut public = vec![mask_t, rows_t, zkinfer_poly::eq_evals(&z1), eq_t];
    forge(&mut public);
    let mut tables: Vec<BroadcastTable> = own
        .into_iter()
        .enumerate()
        .map(|(j, v)| BroadcastTable { values: v.into_iter().map(EF::from).collect(), vars: 0..if j == MB || j == ZB { nr } else { nc }, masked: true })
        .collect();
    for (k, v) in public.into_iter().enumerate() {
        tables.push(BroadcastTable { vars: 0..if PUBLIC[k] == E1 { nr } else { nc }, values: v, masked: false });
    }
    let cofs = |j: usize, p: &[EF]| if j < 10 { cof(j, p) } else { EF::ZERO };
    let mut inst = ZkBroadcastSumcheck::new(nc, tables, shape.terms(d, lambda), &cofs).map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let out = prove_broadcast_zk(&mut inst, mask, t);
    Ok(ZkSoftmaxClaims { point: out.point, values: out.values, mask_claims: out.mask_claims })
}

/// Verifier side of [`prove_softmax_zk`].
pub fn verify_softmax_zk(shape: &ZkSoftmaxShape, t: &mut VerifierTranscript<'_>) -> Result<ZkSoftmaxClaims, ProofError> {
    let d = shape.dims()?;
    let (nc, nr) = (d.cube.num_vars(), d.rows.num_vars());
    let z = t.challenge_exts(nc);
    let z1 = t.challenge_exts(nr);
    let lambda = t.challenge_ext();
    let terms = shape.terms(&d, lambda);
    let out = verify_broadcast_zk(ZkSoftmaxShape::claim(&d, &z1, lambda), nc, &terms, NUM_TABLES, &[], t).map_err(|e| ProofError::sumcheck(OP, e.to_string()))?;
    let (m, rows, e1, eq) = public_at(&d, &out.point, &z, &z1);
    if [out.values[MASK], out.values[ROWS], out.values[E1], out.values[EQ]] != [m, rows, e1, eq] {
        return Err(ProofError::check(OP, "a public table's value is wrong"));
    }
    Ok(ZkSoftmaxClaims { point: out.point, values: out.values, mask_claims: out.mask_claims })
}

#[cfg(test)]
#[path = "zk_softmax_tests.rs"]
mod tests;
