//! Polynomials committed as power-of-two blocks: only the part of a zero-padded table that can be
//! non-zero is committed, and claims on the whole table are opened through its blocks.
//!
//! A *block pattern* over `m` variables (`x_0` = MSB first) fixes some variables to bits and
//! leaves the others free; its block `B` is a multilinear polynomial in the free variables (in
//! order). A [`SparsePoly`] of `m` variables with blocks `B_1..B_K` of pairwise disjoint patterns
//! (no boolean point matches two of them) is, by definition,
//!
//! ```text
//!   P(x) = Σ_b eq(fixed_b, x_fixed(b)) · B_b(x_free(b)),
//! ```
//!
//! the table equal to `B_b` on the sub-cube of pattern `b` and ZERO everywhere else. The zero
//! outside the blocks is not a value the prover supplies: nothing else is committed, so no
//! prover can make it anything else. The multilinear extension of that table at any `z ∈ EF^m`
//! is the same sum with `x = z`, so a claim `P(z) = v` is the claim
//! `Σ_b sel_b(z) · B_b(z_free(b)) = v` with `sel_b(z) = Π_{i fixed} eq(bit_i, z_i)`, which the
//! verifier computes itself.
//!
//! **Opening** ([`crate::WhirPcs::open_sparse`] / [`crate::WhirPcs::verify_sparse`]). The
//! committed batch is every block of every sparse polynomial, in order (a dense polynomial is one
//! block with every variable free: exactly the polynomial). The commitment may split that batch
//! into groups ([`crate::commitment_groups`]). Claims `P_{k_j}(z_j) = v_j` are absorbed; for a
//! claim whose blocks lie in several groups the prover sends the part `v_{j,g}` of every group
//! but the last (the last is `v_j` minus the others, so the parts sum to `v_j` by construction).
//! Then each group `g` runs the batching sumcheck of [`crate::batching`] on
//!
//! ```text
//!   Σ_x W_g(x)·P_g(x) = Σ_j ρ_g^j · v_{j,g},   W_g = Σ_j ρ_g^j Σ_{b ∈ g, b of k_j} sel_b(z_j) · eq((s_b, z_{j,free(b)}), ·)
//! ```
//!
//! — the batching weight with one term per block (selector factor folded into its coefficient),
//! which the verifier evaluates at the sumcheck's point itself — and one WHIR opening of `P_g`.
//! Soundness: if the parts of some claim are wrong in some group, that group's batched claim is
//! false except with probability `J/|EF|` over `ρ_g`, and its sumcheck and opening reject as in
//! [`crate::batching`]; a prover cannot move value between the blocks of one claim, since each
//! block's weight carries its own selector.
//!
//! [`dim_parts`] and [`tensor_blocks`] cut a zero-padded tensor (row-major, every dimension padded
//! to a power of two) into the blocks of its logical extent; the weight commitment uses the same
//! parts (`zkinfer_verifier::weight_blocks`).

use p3_maybe_rayon::prelude::*;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::next_pow2_vars;

use crate::PcsError;

/// Parts smaller than `2^MIN_PART_VARS` are merged into one zero-padded part.
pub const MIN_PART_VARS: usize = 4;

/// One aligned power-of-two part of a dimension: indices `offset .. offset + 2^vars`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DimPart {
    /// First index (a multiple of `2^vars`).
    pub offset: usize,
    /// log2 of the part's length.
    pub vars: usize,
}

/// The parts of a dimension of extent `d`, largest first (none if `d = 0`): the binary digits of
/// `d` from the most significant down to `2^MIN_PART_VARS`, then one part for the remaining
/// `d mod 2^MIN_PART_VARS` indices padded to a power of two. Part `(o, 2^k)` has `o ≡ 0 mod 2^k`,
/// so it is exactly the set of indices whose top bits equal `o >> k`.
pub fn dim_parts(d: usize) -> Vec<DimPart> {
    let tail = d % (1 << MIN_PART_VARS);
    let head = d - tail;
    let mut parts = Vec::new();
    let mut offset = 0;
    for vars in (MIN_PART_VARS..usize::BITS as usize).rev() {
        if (head >> vars) & 1 == 1 {
            parts.push(DimPart { offset, vars });
            offset += 1 << vars;
        }
    }
    if tail > 0 {
        parts.push(DimPart { offset, vars: next_pow2_vars(tail) });
    }
    parts
}

/// Which variables of a polynomial a block fixes (`Some(bit)`) and which are its own (`None`),
/// `x_0` first.
pub type BlockPattern = Vec<Option<bool>>;

/// The block patterns of a tensor of logical shape `dims` in its per-dimension zero-padded
/// layout (dimension `j` has `⌈log2 d_j⌉` variables, row-major, MSB first): one block per choice
/// of a [`dim_parts`] part of every dimension, in row-major order of the parts. Every index that
/// holds a logical element lies in exactly one block.
pub fn tensor_blocks(dims: &[usize]) -> Vec<BlockPattern> {
    let mut blocks: Vec<BlockPattern> = vec![Vec::new()];
    for &d in dims {
        let vars = next_pow2_vars(d);
        let parts = dim_parts(d);
        blocks = blocks
            .iter()
            .flat_map(|b| {
                parts.iter().map(move |p| {
                    let mut pattern = b.clone();
                    let index = p.offset >> p.vars;
                    let high = vars - p.vars;
                    pattern.extend((0..high).map(|i| Some((index >> (high - 1 - i)) & 1 == 1)));
                    pattern.extend(std::iter::repeat_n(None, p.vars));
                    pattern
                })
            })
            .collect();
    }
    blocks
}

/// A polynomial of `num_vars` variables that is zero outside its blocks (module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparsePoly {
    num_vars: usize,
    blocks: Vec<BlockPattern>,
}

impl SparsePoly {
    /// The dense polynomial: one block, every variable free.
    pub fn dense(num_vars: usize) -> Self {
        Self { num_vars, blocks: vec![vec![None; num_vars]] }
    }

    /// A polynomial made of the given blocks. Fails unless every pattern has `num_vars` entries
    /// and no two patterns overlap (some fixed variable differs between any two).
    pub fn new(num_vars: usize, blocks: Vec<BlockPattern>) -> Result<Self, PcsError> {
        if blocks.is_empty() {
            return Err(PcsError::Config("a sparse polynomial needs at least one block".into()));
        }
        if blocks.iter().any(|b| b.len() != num_vars) {
            return Err(PcsError::Config("block pattern of the wrong length".into()));
        }
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[..i] {
                let disjoint = a.iter().zip(b).any(|(x, y)| matches!((x, y), (Some(p), Some(q)) if p != q));
                if !disjoint {
                    return Err(PcsError::Config("two blocks of a sparse polynomial overlap".into()));
                }
            }
        }
        Ok(Self { num_vars, blocks })
    }

    /// The blocks of a zero-padded tensor of shape `dims` ([`tensor_blocks`]).
    pub fn tensor(dims: &[usize]) -> Self {
        let num_vars = dims.iter().map(|&d| next_pow2_vars(d)).sum();
        Self { num_vars, blocks: tensor_blocks(dims) }
    }

    /// Number of variables of the whole (padded) polynomial.
    pub fn num_vars(&self) -> usize {
        self.num_vars
    }

    /// The block patterns.
    pub fn blocks(&self) -> &[BlockPattern] {
        &self.blocks
    }

    /// Number of variables of each block.
    pub fn block_num_vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.blocks.iter().map(|b| b.iter().filter(|x| x.is_none()).count())
    }

    /// Whether this is one block with every variable free.
    pub fn is_dense(&self) -> bool {
        self.blocks.len() == 1 && self.blocks[0].iter().all(Option::is_none)
    }

    /// For each block, `(sel_b(z), z_free(b))`. The caller checked `z.len() == num_vars`.
    pub fn split_point(&self, z: &[EF]) -> Vec<(EF, Vec<EF>)> {
        self.blocks
            .iter()
            .map(|pattern| {
                let mut sel = EF::ONE;
                let mut free = Vec::new();
                for (p, &zi) in pattern.iter().zip(z) {
                    match p {
                        Some(true) => sel *= zi,
                        Some(false) => sel *= EF::ONE - zi,
                        None => free.push(zi),
                    }
                }
                (sel, free)
            })
            .collect()
    }

    /// Copies block `b` out of the full table `values` (`2^num_vars` entries).
    pub fn extract(&self, b: usize, values: &[F]) -> Vec<F> {
        let runs = self.runs(b);
        let mut out = vec![F::ZERO; runs.chunk << runs.others.len()];
        out.par_chunks_mut(runs.chunk).enumerate().for_each(|(c, dst)| {
            let start = runs.start(c);
            dst.copy_from_slice(&values[start..start + runs.chunk]);
        });
        out
    }

    /// Where block `b`'s entries stand in the full table: its lowest free run of variables is
    /// contiguous, so the block is `2^{others}` chunks of `chunk` consecutive entries
    /// ([`BlockRuns::start`]); shared by [`SparsePoly::extract`] and [`SparsePoly::scatter`].
    fn runs(&self, b: usize) -> BlockRuns {
        let pattern = &self.blocks[b];
        let m = self.num_vars;
        let run = pattern.iter().rev().take_while(|p| p.is_none()).count();
        let fixed_base: usize = pattern.iter().enumerate().filter(|(_, p)| **p == Some(true)).map(|(i, _)| 1usize << (m - 1 - i)).sum();
        // Bit positions (weights) of the other free variables, least significant first.
        let others: Vec<usize> = (0..m - run).rev().filter(|&i| pattern[i].is_none()).map(|i| 1usize << (m - 1 - i)).collect();
        BlockRuns { chunk: 1usize << run, fixed_base, others }
    }

    /// Writes block `b` (`block`, as [`SparsePoly::extract`] returns it) back into the full table
    /// `out` (`2^num_vars` entries): the inverse of [`SparsePoly::extract`] on the block's indices.
    pub fn scatter(&self, b: usize, block: &[F], out: &mut [F]) {
        let runs = self.runs(b);
        for (c, src) in block.chunks(runs.chunk).enumerate() {
            let start = runs.start(c);
            out[start..start + runs.chunk].copy_from_slice(src);
        }
    }

    /// Whether `values` is zero at every index outside the blocks (the honest table).
    pub fn zero_outside(&self, values: &[F]) -> bool {
        let inside: usize = (0..self.blocks.len()).map(|b| self.extract(b, values).par_iter().filter(|x| **x != F::ZERO).count()).sum();
        let all = values.par_iter().filter(|x| **x != F::ZERO).count();
        inside == all
    }
}

/// How the polynomials of a sparse commitment map to its committed batch: sparse polynomial `k`
/// is the committed polynomials `first[k] .. first[k] + blocks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseLayout {
    polys: Vec<SparsePoly>,
    first: Vec<usize>,
}

impl SparseLayout {
    /// The layout of `polys`, blocks committed in order.
    pub fn new(polys: Vec<SparsePoly>) -> Self {
        let mut first = Vec::with_capacity(polys.len());
        let mut next = 0;
        for p in &polys {
            first.push(next);
            next += p.blocks.len();
        }
        Self { polys, first }
    }

    /// The sparse polynomials.
    pub fn polys(&self) -> &[SparsePoly] {
        &self.polys
    }

    /// Index in the committed batch of block `b` of polynomial `k`.
    pub fn committed_index(&self, k: usize, b: usize) -> usize {
        self.first[k] + b
    }

    /// Number of variables of every committed polynomial (every block), in batch order.
    pub fn committed_num_vars(&self) -> Vec<usize> {
        self.polys.iter().flat_map(|p| p.block_num_vars()).collect()
    }
}

/// A block's placement in the full table ([`SparsePoly::runs`]).
struct BlockRuns {
    /// Entries per contiguous chunk: `2^{length of the lowest free run}`.
    chunk: usize,
    /// Table index of the block's first entry (its fixed variables set to one).
    fixed_base: usize,
    /// Weights of the other free variables, least significant first.
    others: Vec<usize>,
}

impl BlockRuns {
    /// Table index of the block's chunk `c`.
    fn start(&self, c: usize) -> usize {
        self.fixed_base + self.others.iter().enumerate().filter(|(t, _)| (c >> t) & 1 == 1).map(|(_, w)| w).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_blocks_cover_the_extent_once() {
        for dims in [vec![69, 576], vec![9, 5, 64], vec![1], vec![17], vec![3, 33]] {
            let p = SparsePoly::tensor(&dims);
            SparsePoly::new(p.num_vars(), p.blocks().to_vec()).expect("disjoint");
            let vars: Vec<usize> = dims.iter().map(|&d| next_pow2_vars(d)).collect();
            let n = 1usize << p.num_vars();
            // Mark each index by a distinct value, logical indices only.
            let mut table = vec![F::ZERO; n];
            let mut count = 0;
            for (i, v) in table.iter_mut().enumerate() {
                let mut rest = i;
                let mut inside = true;
                for (j, &k) in vars.iter().enumerate().rev() {
                    inside &= (rest & ((1 << k) - 1)) < dims[j];
                    rest >>= k;
                }
                if inside {
                    *v = F::from_u64(i as u64 + 1);
                    count += 1;
                }
            }
            assert!(p.zero_outside(&table));
            let copied: usize = (0..p.blocks().len()).map(|b| p.extract(b, &table).iter().filter(|x| **x != F::ZERO).count()).sum();
            assert_eq!(copied, count, "{dims:?}");
            // Scattering the blocks into a zero table gives the table back.
            let mut back = vec![F::ZERO; n];
            for b in 0..p.blocks().len() {
                p.scatter(b, &p.extract(b, &table), &mut back);
            }
            assert_eq!(back, table, "{dims:?}");
            // A value outside every block is detected.
            if let Some(i) = (0..n).find(|&i| table[i] == F::ZERO && (0..p.blocks().len()).all(|b| {
                let pat = &p.blocks()[b];
                pat.iter().enumerate().any(|(t, q)| matches!(q, Some(bit) if ((i >> (p.num_vars() - 1 - t)) & 1 == 1) != *bit))
            })) {
                table[i] = F::ONE;
                assert!(!p.zero_outside(&table));
            }
        }
    }

    #[test]
    fn block_sum_is_the_padded_mle() {
        let dims = [5usize, 19];
        let p = SparsePoly::tensor(&dims);
        let n = 1usize << p.num_vars();
        let mut table = vec![F::ZERO; n];
        for r in 0..5 {
            for c in 0..19 {
                table[r * 32 + c] = F::from_u64((7 * r + 3 * c + 1) as u64);
            }
        }
        let z: Vec<EF> = (0..p.num_vars()).map(|i| EF::from_u64(11 + 5 * i as u64)).collect();
        let want = zkinfer_poly::Mle::new(table.clone()).evaluate(&z);
        let got: EF = p
            .split_point(&z)
            .into_iter()
            .enumerate()
            .map(|(b, (sel, free))| sel * zkinfer_poly::Mle::new(p.extract(b, &table)).evaluate(&free))
            .sum();
        assert_eq!(got, want);
    }

    /// A claim whose blocks lie in two groups (more under a group bound): moving value from one group's part to another's (the parts still sum
    /// to the claim) is rejected; unshifted, the same claims verify.
    #[test]
    fn a_claim_value_moved_between_groups_is_rejected() {
        use crate::{OpeningClaim, Pcs, WhirPcs};
        use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};
        let dims = [69usize, 36];
        let p = SparsePoly::tensor(&dims);
        let mut table = vec![F::ZERO; 1 << p.num_vars()];
        for r in 0..69 {
            for c in 0..36 {
                table[r * 64 + c] = F::from_u64((r * 131 + c * 7 + 3) as u64);
            }
        }
        let layout = SparseLayout::new(vec![p.clone()]);
        let groups = crate::commitment_groups_from(&layout.committed_num_vars(), 10, None);
        assert_eq!(groups.len(), 2, "the blocks must span two groups");
        let capped = crate::commitment_groups_from(&layout.committed_num_vars(), 6, Some(8));
        assert!(capped.len() > 2, "under the bound the blocks span more groups");
        let ds = DomainSeparator::new("zkinfer-pcs-sparse-unit", 1);
        for (pcs, roots) in [(WhirPcs::default().with_split_from_vars(10), 2), (WhirPcs::default().with_split_from_vars(6).with_max_group_vars(8), capped.len().next_power_of_two())] {
            for shift in [EF::ZERO, EF::from_u64(5)] {
                let blocks: Vec<Vec<F>> = (0..p.blocks().len()).map(|b| p.extract(b, &table)).collect();
                let (com, data) = pcs.commit_owned(blocks).expect("commit");
                assert_eq!(com.root.num_roots(), roots);
                let mut t = ProverTranscript::new(&ds);
                pcs.absorb_commitment(&com, &mut t);
                let point = t.challenge_exts(p.num_vars());
                let value = zkinfer_poly::Mle::new(table.clone()).evaluate(&point);
                let claims = vec![OpeningClaim { poly: 0, point, value }];
                pcs.open_sparse_shifted(data, &layout, &claims, &[], &mut t, shift).expect("open");
                let proof = t.into_proof();
                let mut vt = VerifierTranscript::new(&ds, &proof);
                pcs.absorb_commitment(&com, &mut vt);
                let _ = vt.challenge_exts(p.num_vars());
                let ok = pcs.verify_sparse(&com, &layout, &claims, &mut vt).is_ok() && vt.finish().is_ok();
                assert_eq!(ok, shift == EF::ZERO);
            }
        }
    }
}
