//! The hiding *sparse* opening of a witness (issue 13, choke point 7 of the zero-knowledge graph
//! proof, `docs/SECURITY.md`): polynomials committed as the blocks of their extents
//! ([`SparsePoly`], as the public witness commitment does) AND every mask table of the proof, in
//! ONE hiding commitment ([`HidingPcs`]), opened once.
//!
//! **Randomised extension of a sparse polynomial.** A block `B_b` (its free variables) is committed
//! with [`Vanishing::All`]; the randomised extension of the sparse polynomial is *defined* through
//! its blocks, `P̂(z) = Σ_b sel_b(z)·B̂_b(z_free(b))` (`sel_b` the public selector of the block's
//! fixed bits, [`SparsePoly::split_point`]) — the definition the zk weight key uses for weights
//! (`zkinfer_verifier::zk_weights`). On the cube `P̂ = P`; a view that leaves one of a block's free
//! variables summed over `{0, 1}` sees the plain `P` (the block's `Z` vanishes); a fixed (selector)
//! bit enters linearly, so the variable an op's last sumcheck round binds must be free in every
//! block. The last dimension's least significant bit is free in a block exactly when that block's
//! part of the last dimension has ≥ 1 variable ([`crate::sparse::dim_parts`]): true for every
//! extent `d` with `d mod 2^MIN_PART_VARS ≠ 1`, false for `d ≡ 1 (mod 16)`, `d ≥ 17`, whose tail
//! part is one padded index of 0 variables (50 257 = 32 768 + 16 384 + 1 024 + 64 + 16 + **1**):
//! there the bit is a selector in the tail's blocks, so a wiring that binds it last is not hidden
//! by those blocks' masks and must bind another variable last (or pad the extent). A block with
//! no free variable at all is refused ([`HidingSparseLayout::new`]).
//! [`randomised_value`] is the value a zk prover sends.
//! Extra polynomials (sumcheck masks, `R` masks, GKR masks, blinding tables) are dense, with their
//! own [`Vanishing`] kind (`Last` for mask tables).
//!
//! **Protocol.** Per sparse claim `P̂_k(z) = v`, in order: the prover sends `ê_b = B̂_b(z_free(b))`
//! for every block of `P_k`; the verifier checks `Σ_b sel_b(z)·ê_b = v` and records the block
//! claims. Then one [`HidingPcs::open`] proves every block claim and every extra claim together.
//!
//! **Soundness.** The recombination is an exact identity in the sent values; the block claims and
//! the extra claims are bound by the hiding opening (its error, `docs/SECURITY.md`, "Hiding PCS").
//! A claim `v ≠ P̂_k(z)` forces some sent `ê_b ≠ B̂_b(z_free)`, which the opening rejects.
//!
//! **Zero knowledge.** Every sent `ê_b` is a value of a block's randomised extension at a point
//! with no boolean coordinate (refused otherwise by the opening), hidden by the block's mask up
//! to `2^{min(m_b, 4)}` distinct points with distinct mask prefixes (counted and refused by the
//! opening); `v` is their public combination; the opening is the hiding PCS's (simulatable from
//! the revealed values). Simulator: sample every `ê_b` uniformly, set `v = Σ sel_b·ê_b` (the
//! claims arrive from earlier protocol steps, which simulate them uniformly — a claim and its
//! blocks are consistent by construction), then the hiding PCS's simulator. Leaks: the blocks'
//! shapes (public: the extents), the number of claims per polynomial.

use rand10::CryptoRng;
use zkinfer_field::{EF, F};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use super::{HidingCommitment, HidingPcs, HidingProverData, Vanishing};
use crate::{OpeningClaim, PcsError, SparseLayout, SparsePoly};

/// The committed batch's shape: the sparse polynomials' blocks in [`SparseLayout`] order, then
/// the extra polynomials. Public (both sides derive it from the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidingSparseLayout {
    sparse: SparseLayout,
    num_blocks: usize,
    extra_num_vars: Vec<usize>,
}

impl HidingSparseLayout {
    /// The layout of `polys` (sparse) and extra dense polynomials of `extra_num_vars` variables.
    /// Refused if a block has no free variable (the hiding PCS commits no constants).
    pub fn new(polys: Vec<SparsePoly>, extra_num_vars: Vec<usize>) -> Result<Self, PcsError> {
        if polys.iter().any(|p| p.block_num_vars().any(|v| v == 0)) || extra_num_vars.contains(&0) {
            return Err(PcsError::Config("a hiding sparse batch with a constant block".into()));
        }
        let num_blocks = polys.iter().map(|p| p.blocks().len()).sum();
        Ok(Self { sparse: SparseLayout::new(polys), num_blocks, extra_num_vars })
    }

    /// The sparse polynomials.
    pub fn polys(&self) -> &[SparsePoly] {
        self.sparse.polys()
    }

    /// Index in the committed batch of block `b` of sparse polynomial `k`.
    pub fn block_index(&self, k: usize, b: usize) -> usize {
        self.sparse.committed_index(k, b)
    }

    /// Index in the committed batch of extra polynomial `j`.
    pub fn extra_index(&self, j: usize) -> usize {
        self.num_blocks + j
    }

    /// The vanishing kind of every committed polynomial: `All` for blocks, `extra` for the extras.
    fn vanishing(&self, extra: &[Vanishing]) -> Vec<Vanishing> {
        let mut v = vec![Vanishing::All; self.num_blocks];
        v.extend_from_slice(extra);
        v
    }

    fn check_claim(&self, c: &OpeningClaim) -> Result<&SparsePoly, PcsError> {
        let p = self.polys().get(c.poly).ok_or_else(|| PcsError::BadClaim(format!("no sparse polynomial {}", c.poly)))?;
        if c.point.len() != p.num_vars() {
            return Err(PcsError::BadClaim(format!("sparse polynomial {} has {} variables, point has {}", c.poly, p.num_vars(), c.point.len())));
        }
        Ok(p)
    }

    /// The committed polynomial's kinds, checked against a commitment (both sides).
    fn check_commitment(&self, com: &HidingCommitment, extra: &[Vanishing]) -> Result<(), PcsError> {
        let mut shapes: Vec<usize> = self.polys().iter().flat_map(|p| p.block_num_vars().collect::<Vec<_>>()).collect();
        shapes.extend(&self.extra_num_vars);
        if com.poly_num_vars != shapes || com.vanishing != self.vanishing(extra) {
            return Err(PcsError::Config("the hiding commitment does not hold this sparse batch".into()));
        }
        Ok(())
    }
}

/// Commits the blocks of `values[k]` (the full zero-padded table of sparse polynomial `k`) and the
/// extra polynomials (`extra_vanishing[j]` each) in one hiding batch. Refused if a table is
/// non-zero outside its blocks.
pub fn commit<R: CryptoRng + ?Sized>(
    pcs: &HidingPcs,
    layout: &HidingSparseLayout,
    values: &[&[F]],
    extra: &[&[F]],
    extra_vanishing: &[Vanishing],
    rng: &mut R,
) -> Result<(HidingCommitment, HidingProverData), PcsError> {
    if values.len() != layout.polys().len() || extra.len() != layout.extra_num_vars.len() || extra_vanishing.len() != extra.len() {
        return Err(PcsError::Config("a hiding sparse batch of other sizes than its layout".into()));
    }
    let mut blocks: Vec<Vec<F>> = Vec::with_capacity(layout.num_blocks);
    for (p, v) in layout.polys().iter().zip(values) {
        if v.len() != 1usize << p.num_vars() || !p.zero_outside(v) {
            return Err(PcsError::Config("a sparse table of the wrong size or non-zero outside its blocks".into()));
        }
        blocks.extend((0..p.blocks().len()).map(|b| p.extract(b, v)));
    }
    for (j, e) in extra.iter().enumerate() {
        if e.len() != 1usize << layout.extra_num_vars[j] {
            return Err(PcsError::Config(format!("extra polynomial {j} of the wrong size")));
        }
    }
    let mut all: Vec<&[F]> = blocks.iter().map(Vec::as_slice).collect();
    all.extend_from_slice(extra);
    pcs.commit_with(&all, &layout.vanishing(extra_vanishing), rng)
}

/// `P̂_k(z) = Σ_b sel_b(z)·B̂_b(z_free(b))`: the value a zk prover sends for a claim on sparse
/// polynomial `k` at `z`.
pub fn randomised_value(layout: &HidingSparseLayout, data: &HidingProverData, k: usize, z: &[EF]) -> Result<EF, PcsError> {
    let p = layout.check_claim(&OpeningClaim { poly: k, point: z.to_vec(), value: EF::default() })?;
    let mut v = EF::default();
    for (b, (sel, free)) in p.split_point(z).into_iter().enumerate() {
        v += sel * data.evaluate(layout.block_index(k, b), &free)?;
    }
    Ok(v)
}

/// The factor `H` of `v(z_var)` in `P̂_k(z) − P_k(z)` (`P̂_k = P_k + v(z_var)·H`, `H` free of
/// `z_var`): `Σ_b sel_b(z)·(Z_b/v(z_var))·M_b` — what an op's masked product sumcheck needs when
/// its last round binds coordinate `var` of sparse polynomial `k`'s view. Refused unless `var` is
/// free in every block and not one of a block's mask variables (`MASK_VARS`), so that `H` does not
/// depend on `z_var`.
pub fn mask_cofactor(layout: &HidingSparseLayout, data: &HidingProverData, k: usize, z: &[EF], var: usize) -> Result<EF, PcsError> {
    let p = layout.check_claim(&OpeningClaim { poly: k, point: z.to_vec(), value: EF::default() })?;
    let mut h = EF::default();
    for (b, ((sel, free), pattern)) in p.split_point(z).into_iter().zip(p.blocks()).enumerate() {
        if pattern.get(var) != Some(&None) {
            return Err(PcsError::BadClaim(format!("coordinate {var} is fixed in block {b} of sparse polynomial {k}")));
        }
        let inner = pattern[..var].iter().filter(|x| x.is_none()).count();
        if inner < super::MASK_VARS.min(free.len()) {
            return Err(PcsError::BadClaim(format!("coordinate {var} is a mask variable of block {b} of sparse polynomial {k}")));
        }
        h += sel * data.mask_cofactor(layout.block_index(k, b), &free, inner)?;
    }
    Ok(h)
}

/// Block claims of one sparse claim from the block values, checking the recombination.
fn block_claims(layout: &HidingSparseLayout, c: &OpeningClaim, values: &[EF]) -> Result<Vec<OpeningClaim>, PcsError> {
    let p = layout.check_claim(c)?;
    let split = p.split_point(&c.point);
    if values.len() != split.len() {
        return Err(PcsError::BadClaim("block values of a sparse claim".into()));
    }
    let sum: EF = split.iter().zip(values).map(|((sel, _), &e)| *sel * e).sum();
    if sum != c.value {
        return Err(PcsError::BadClaim(format!("the block values of a claim on sparse polynomial {} do not sum to it", c.poly)));
    }
    Ok(split.into_iter().zip(values).enumerate().map(|(b, ((_, free), &value))| OpeningClaim { poly: layout.block_index(c.poly, b), point: free, value }).collect())
}

/// Prover: opens claims `P̂_k(z) = v` on sparse polynomials (`claims[i].poly = k`, values from
/// [`randomised_value`]) and claims on the extra polynomials (`extra_claims[i].poly = j`, values
/// from `data.evaluate(layout.extra_index(j), ·)`), module docs. The commitment must have been
/// absorbed before the claims' points were drawn.
#[allow(clippy::too_many_arguments)] // the batch's parts, as the verifier takes them
pub fn open<R: CryptoRng + ?Sized>(
    pcs: &HidingPcs,
    layout: &HidingSparseLayout,
    extra_vanishing: &[Vanishing],
    data: HidingProverData,
    claims: &[OpeningClaim],
    extra_claims: &[OpeningClaim],
    t: &mut ProverTranscript,
    rng: &mut R,
) -> Result<(), PcsError> {
    layout.check_commitment(data.commitment(), extra_vanishing)?;
    let mut all = Vec::new();
    for c in claims {
        let p = layout.check_claim(c)?;
        let mut values = Vec::with_capacity(p.blocks().len());
        for (b, (_, free)) in p.split_point(&c.point).into_iter().enumerate() {
            values.push(data.evaluate(layout.block_index(c.poly, b), &free)?);
        }
        t.send_exts(&values);
        all.extend(block_claims(layout, c, &values)?);
    }
    all.extend(extra_claims.iter().map(|c| OpeningClaim { poly: layout.extra_index(c.poly), point: c.point.clone(), value: c.value }));
    pcs.open(data, &all, t, rng)
}

/// Verifier side of [`open`].
pub fn verify(
    pcs: &HidingPcs,
    layout: &HidingSparseLayout,
    extra_vanishing: &[Vanishing],
    com: &HidingCommitment,
    claims: &[OpeningClaim],
    extra_claims: &[OpeningClaim],
    t: &mut VerifierTranscript<'_>,
) -> Result<(), PcsError> {
    layout.check_commitment(com, extra_vanishing)?;
    if extra_claims.iter().any(|c| c.poly >= layout.extra_num_vars.len()) {
        return Err(PcsError::BadClaim("a claim on a missing extra polynomial".into()));
    }
    let mut all = Vec::new();
    for c in claims {
        let n = layout.check_claim(c)?.blocks().len();
        let values = t.receive_exts(n)?;
        all.extend(block_claims(layout, c, &values)?);
    }
    all.extend(extra_claims.iter().map(|c| OpeningClaim { poly: layout.extra_index(c.poly), point: c.point.clone(), value: c.value }));
    pcs.verify(com, &all, t)
}

#[cfg(test)]
#[path = "hiding_sparse_tests.rs"]
mod tests;
