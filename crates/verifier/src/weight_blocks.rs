//! Weights committed as power-of-two blocks, and the rewriting of claims on padded tensors into
//! claims on blocks.
//!
//! The ops see a weight of shape `(d_0, …, d_{r−1})` through its per-dimension padded layout
//! (`TensorLayout`): dimension `j` has `K_j = ⌈log2 d_j⌉` variables, row-major, MSB first, zeros
//! outside the logical extent. Committing that padded table wastes up to half of every dimension
//! (50257 → 65536). Instead, each dimension is cut into aligned power-of-two *parts*: the binary
//! digits of `d_j` from the most significant down to `2^MIN_PART_VARS`, then one part for the
//! remaining `d_j mod 2^MIN_PART_VARS` rows padded to a power of two (50257 is cut into 32768,
//! 16384, 1024, 64, 16 and a padded part of 1; 768 into 512 and 256). Parts lie largest first, so part
//! `(o, 2^k)` has `o ≡ 0 mod 2^k`: it is exactly the set of indices whose top `K_j − k` bits equal
//! `o >> k`. A *block* is one choice of a part per dimension, a dense sub-tensor `B_b` of shape
//! `(2^{k_0}, …)` committed as its own slice (its MLE in `Σ k_j` variables, row-major, MSB first).
//!
//! Every index of the padded table that can hold a non-zero lies in exactly one block, so for
//! `z = (z_0, …, z_{r−1})`, `z_j ∈ EF^{K_j}` split as `z_j = (h_j, l_j)` with `|l_j| = k_j`:
//!
//! ```text
//!   T(z) = Σ_b  Π_j eq(h_j, bits(o_j >> k_j)) · B_b(l_0, …, l_{r−1}).
//! ```
//!
//! A claim `T(z) = v` from the graph proof is rewritten thus: the prover sends `B_b(l)` for every
//! block (one `EF` each, in block order); the verifier checks `Σ_b sel_b(z) · B_b(l) = v` and
//! records the claims `B_b(l) = ·` for the batched opening of the weight commitment. If the sent
//! values are wrong, either the sum fails or (Schwartz–Zippel, over the batched opening) some
//! block claim is false and the opening rejects.
//!
//! Both halves live here (the prover's block values and claims are a few lines over the same
//! plan); the prover's loops run in parallel when `p3-maybe-rayon`'s `parallel` feature is on.

use crate::ProofSystemError;
use p3_maybe_rayon::prelude::*;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_graph::template::{GraphTemplate, TensorDecl};
use zkinfer_graph::{Graph, TensorSource, WeightMeta, WeightValues};
use zkinfer_pcs::{OpeningAccumulator, Origin, PolyId};
use zkinfer_poly::{eq_evals, next_pow2_vars};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

/// The parts of a dimension are the ones the sparse witness commitment uses (one definition).
pub use zkinfer_pcs::sparse::{DimPart, MIN_PART_VARS, dim_parts};

/// Rows of a block from which evaluation and extraction run in parallel.
const PARALLEL_ROWS: usize = 64;

/// One block: a part of every dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block's part of each dimension.
    pub parts: Vec<DimPart>,
}

impl Block {
    /// Number of variables of the block's MLE.
    pub fn num_vars(&self) -> usize {
        self.parts.iter().map(|p| p.vars).sum()
    }
}

/// The blocks of one weight tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorBlocks {
    /// Logical shape (a scalar is treated as shape `[1]`).
    dims: Vec<usize>,
    /// `⌈log2 d_j⌉` per dimension, as in `TensorLayout`.
    dim_vars: Vec<usize>,
    blocks: Vec<Block>,
}

/// Number of blocks of a tensor of shape `shape`, computed without allocating per block (a
/// decoder bounds it before planning).
pub fn block_count(shape: &[usize]) -> usize {
    shape.iter().map(|&d| dim_parts(d).len()).fold(1usize, |acc, n| acc.saturating_mul(n))
}

impl TensorBlocks {
    /// Plans the blocks of a tensor of shape `shape`, in row-major order of their parts.
    pub fn new(shape: &[usize]) -> Self {
        let dims: Vec<usize> = if shape.is_empty() { vec![1] } else { shape.to_vec() };
        let dim_vars: Vec<usize> = dims.iter().map(|&d| next_pow2_vars(d)).collect();
        let mut blocks = vec![Block { parts: Vec::new() }];
        for &d in &dims {
            let parts = dim_parts(d);
            blocks = blocks
                .iter()
                .flat_map(|b| {
                    parts.iter().map(move |&p| {
                        let mut parts = b.parts.clone();
                        parts.push(p);
                        Block { parts }
                    })
                })
                .collect();
        }
        Self { dims, dim_vars, blocks }
    }

    /// The blocks, in commitment order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Number of variables of a point on the padded tensor.
    pub fn num_vars(&self) -> usize {
        self.dim_vars.iter().sum()
    }

    /// Splits a point on the padded tensor into, per block, its selector `Π_j eq(h_j, o_j >> k_j)`
    /// and its sub-point `(l_0, …, l_{r−1})`. Errors if the point has the wrong length.
    pub fn selectors_and_sub_points(&self, point: &[EF]) -> Result<Vec<(EF, Vec<EF>)>, ProofSystemError> {
        if point.len() != self.num_vars() {
            return Err(ProofSystemError::Rejected(format!(
                "weight claim with {} coordinates on a tensor of {} variables",
                point.len(),
                self.num_vars()
            )));
        }
        let mut coords = Vec::with_capacity(self.dims.len());
        let mut rest = point;
        for &v in &self.dim_vars {
            let (head, tail) = rest.split_at(v);
            coords.push(head);
            rest = tail;
        }
        Ok(self
            .blocks
            .iter()
            .map(|b| {
                let mut selector = EF::ONE;
                let mut sub_point = Vec::with_capacity(b.num_vars());
                for ((z, &vars), part) in coords.iter().zip(&self.dim_vars).zip(&b.parts) {
                    let (high, low) = z.split_at(vars - part.vars);
                    let index = part.offset >> part.vars;
                    for (i, &h) in high.iter().enumerate() {
                        let bit = (index >> (high.len() - 1 - i)) & 1;
                        selector *= if bit == 1 { h } else { EF::ONE - h };
                    }
                    sub_point.extend_from_slice(low);
                }
                (selector, sub_point)
            })
            .collect())
    }

    /// Number of rows of a block (all dimensions but the last) and the length of one row.
    fn block_rows(b: &Block) -> (usize, usize) {
        let (last, lead) = b.parts.split_last().unwrap_or((&DimPart { offset: 0, vars: 0 }, &[]));
        (1usize << lead.iter().map(|p| p.vars).sum::<usize>(), 1usize << last.vars)
    }

    /// For row `row` of block `b`: the logical range of values it reads (row-major), or `None`
    /// if the row lies in the padding of some leading dimension. The range may be shorter than
    /// the block's row (padding of the last dimension).
    fn row_range(&self, b: &Block, row: usize) -> Option<std::ops::Range<usize>> {
        let r = self.dims.len();
        let mut rest = row;
        let mut logical_row = 0usize;
        let mut radix = 1usize;
        for j in (0..r - 1).rev() {
            let p = b.parts[j];
            let i = p.offset + (rest & ((1 << p.vars) - 1));
            rest >>= p.vars;
            if i >= self.dims[j] {
                return None;
            }
            logical_row += i * radix;
            radix *= self.dims[j];
        }
        let last = b.parts[r - 1];
        let d_last = self.dims[r - 1];
        let start = logical_row * d_last + last.offset;
        let end = logical_row * d_last + d_last.min(last.offset + (1 << last.vars));
        Some(start..end)
    }

    /// Values of block `block` (zero-padded), row-major.
    ///
    /// # Panics
    /// If `values` does not hold the tensor's logical element count or `block` is out of range
    /// (programming errors: the caller built the plan from these very tensors).
    pub fn block_values(&self, block: usize, values: &WeightValues) -> Vec<F> {
        match values {
            WeightValues::I16(v) => self.block_values_of(block, v, |x| from_i64_unchecked(x as i64)),
            WeightValues::I64(v) => self.block_values_of(block, v, from_i64_unchecked),
        }
    }

    fn block_values_of<T: Copy + Sync>(&self, block: usize, values: &[T], conv: impl Fn(T) -> F + Sync) -> Vec<F> {
        assert_eq!(values.len(), self.dims.iter().product::<usize>(), "weight values do not match the shape");
        let b = &self.blocks[block];
        let (rows, row_len) = Self::block_rows(b);
        let mut out = vec![F::ZERO; rows * row_len];
        let fill = |(row, dst): (usize, &mut [F])| {
            if let Some(range) = self.row_range(b, row) {
                for (o, &x) in dst.iter_mut().zip(&values[range]) {
                    *o = conv(x);
                }
            }
        };
        if rows >= PARALLEL_ROWS {
            out.par_chunks_mut(row_len).enumerate().for_each(fill);
        } else {
            out.chunks_mut(row_len).enumerate().for_each(fill);
        }
        out
    }

    /// `B_b(sub_point)` for block `block`, computed from the logical values.
    fn block_eval_of<T: Copy + Sync>(&self, block: usize, sub_point: &[EF], values: &[T], conv: impl Fn(T) -> F + Sync) -> EF {
        let b = &self.blocks[block];
        let (rows, _) = Self::block_rows(b);
        let last_vars = b.parts.last().map_or(0, |p| p.vars);
        let (lead_point, last_point) = sub_point.split_at(sub_point.len() - last_vars);
        let row_weights = eq_evals(lead_point);
        let col_weights = eq_evals(last_point);
        let row_eval = |row: usize| -> EF {
            match self.row_range(b, row) {
                None => EF::ZERO,
                Some(range) => {
                    let mut acc = EF::ZERO;
                    for (&w, &x) in col_weights.iter().zip(&values[range]) {
                        acc += w * conv(x);
                    }
                    row_weights[row] * acc
                }
            }
        };
        if rows >= PARALLEL_ROWS {
            (0..rows).into_par_iter().map(row_eval).sum()
        } else {
            (0..rows).map(row_eval).sum()
        }
    }

    /// Every block's MLE at its sub-point of `point` (prover side), in block order.
    pub fn block_evals(&self, values: &WeightValues, point: &[EF]) -> Result<Vec<EF>, ProofSystemError> {
        let n = match values {
            WeightValues::I16(v) => v.len(),
            WeightValues::I64(v) => v.len(),
        };
        if n != self.dims.iter().product::<usize>() {
            return Err(ProofSystemError::Request(format!("weight of shape {:?} holds {n} values", self.dims)));
        }
        let split = self.selectors_and_sub_points(point)?;
        Ok(split
            .iter()
            .enumerate()
            .map(|(k, (_, sub))| match values {
                WeightValues::I16(v) => self.block_eval_of(k, sub, v, |x| from_i64_unchecked(x as i64)),
                WeightValues::I64(v) => self.block_eval_of(k, sub, v, from_i64_unchecked),
            })
            .collect())
    }
}

/// The blocks of every committed weight, and where they sit in the weight commitment: weight
/// `w`'s blocks are slices `first_slice[w] ..` in block order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightBlockPlan {
    tensors: Vec<TensorBlocks>,
    first_slice: Vec<usize>,
}

impl WeightBlockPlan {
    /// Plans the blocks of weights of the given shapes, in commitment order.
    pub fn new<'a>(shapes: impl IntoIterator<Item = &'a [usize]>) -> Self {
        let mut tensors = Vec::new();
        let mut first_slice = Vec::new();
        let mut next = 0;
        for shape in shapes {
            let t = TensorBlocks::new(shape);
            first_slice.push(next);
            next += t.blocks.len();
            tensors.push(t);
        }
        Self { tensors, first_slice }
    }

    /// The plan of a verifying key's weights.
    pub fn for_weights(weights: &[WeightMeta]) -> Self {
        Self::new(weights.iter().map(|m| m.shape.as_slice()))
    }

    /// The blocks of weight `w`.
    pub fn tensor(&self, w: usize) -> Option<&TensorBlocks> {
        self.tensors.get(w)
    }

    /// Number of variables of every committed slice, in commitment order.
    pub fn slice_num_vars(&self) -> Vec<usize> {
        self.tensors.iter().flat_map(|t| t.blocks.iter().map(Block::num_vars)).collect()
    }

    /// The ids of the weight commitment's polynomials, in commitment order: every block of every
    /// weight ([`PolyId::WeightBlock`]).
    pub fn poly_ids(&self) -> Vec<PolyId> {
        self.tensors.iter().enumerate().flat_map(|(w, t)| (0..t.blocks.len()).map(move |block| PolyId::WeightBlock { weight: w, block })).collect()
    }

    fn tensor_or_reject(&self, w: usize) -> Result<&TensorBlocks, ProofSystemError> {
        self.tensor(w).ok_or_else(|| ProofSystemError::Rejected(format!("claim on weight {w}, which is not committed")))
    }

    /// Prover: rewrites the claim `T_w(point) = value` into block claims, sending each block's
    /// value.
    pub fn prove_claim(
        &self,
        w: usize,
        values: &WeightValues,
        point: &[EF],
        t: &mut ProverTranscript,
        acc: &mut OpeningAccumulator,
    ) -> Result<(), ProofSystemError> {
        let tensor = self.tensor_or_reject(w)?;
        let evals = tensor.block_evals(values, point)?;
        t.send_exts(&evals);
        let split = tensor.selectors_and_sub_points(point)?;
        for (k, ((_, sub), e)) in split.into_iter().zip(evals).enumerate() {
            acc.push(PolyId::WeightBlock { weight: w, block: k }, Origin::WeightBlocks, sub, e);
        }
        Ok(())
    }

    /// Verifier: receives the block values of the claim `T_w(point) = value`, checks that they
    /// recombine to `value`, and records the block claims.
    pub fn verify_claim(
        &self,
        w: usize,
        point: &[EF],
        value: EF,
        t: &mut VerifierTranscript<'_>,
        acc: &mut OpeningAccumulator,
    ) -> Result<(), ProofSystemError> {
        let tensor = self.tensor_or_reject(w)?;
        let split = tensor.selectors_and_sub_points(point)?;
        let evals = t.receive_exts(split.len())?;
        let sum: EF = split.iter().zip(&evals).map(|((sel, _), &e)| *sel * e).sum();
        if sum != value {
            return Err(ProofSystemError::Rejected(format!("the block values of weight {w} do not add up to its claim")));
        }
        for (k, ((_, sub), e)) in split.into_iter().zip(evals).enumerate() {
            acc.push(PolyId::WeightBlock { weight: w, block: k }, Origin::WeightBlocks, sub, e);
        }
        Ok(())
    }
}

/// The op proofs' claims on weights, keyed by graph tensor ([`PolyId::Tensor`]), with the key
/// weight each tensor of their graph is: the entry of the key's weight list the graph's template
/// references (the one whose shape, scale and bound the graph was instantiated with), never a
/// lookup by name, so a claim is opened against exactly the entry whose bound the graph's no-wrap
/// arguments assumed. A chunked proof adds one part per chunk (each chunk has its own graph).
#[derive(Debug, Clone, Default)]
pub struct WeightClaims {
    parts: Vec<(Vec<Option<usize>>, OpeningAccumulator)>,
}

impl WeightClaims {
    /// No claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the claims on weights of a graph proof over `graph`, instantiated from `template`.
    pub fn add(&mut self, template: &GraphTemplate, graph: &Graph, claims: OpeningAccumulator) {
        let key_weight = graph
            .tensors
            .iter()
            .enumerate()
            .map(|(t, meta)| match template.tensors.get(t) {
                Some(TensorDecl::Weight(w)) if meta.source == TensorSource::Weight => Some(*w),
                _ => None,
            })
            .collect();
        self.parts.push((key_weight, claims));
    }

    /// Every claim with the key weight it is on, in order; a claim on anything but a key weight of
    /// its graph is refused.
    pub(crate) fn claims(&self) -> impl Iterator<Item = Result<(usize, &zkinfer_pcs::Opening), ProofSystemError>> {
        self.parts.iter().flat_map(|(key_weight, acc)| {
            acc.claims().iter().map(move |c| match c.poly {
                PolyId::Tensor(t) => {
                    key_weight.get(t).copied().flatten().map(|w| (w, c)).ok_or_else(|| ProofSystemError::Rejected(format!("claim on tensor {t} of the graph, which is not a key weight")))
                }
                other => Err(ProofSystemError::Rejected(format!("weight claim on {other:?}, which is not a graph tensor"))),
            })
        })
    }
}

/// Prover: rewrites every claim of `tensor_claims` (claims on padded weight tensors) into block
/// claims, sending the block values. The result is opened against the weight commitment, whose
/// polynomials are [`WeightBlockPlan::poly_ids`].
pub fn prove_block_claims(
    weights: &[WeightMeta],
    values: &zkinfer_graph::Weights,
    tensor_claims: &WeightClaims,
    t: &mut ProverTranscript,
) -> Result<OpeningAccumulator, ProofSystemError> {
    let plan = WeightBlockPlan::for_weights(weights);
    let mut acc = OpeningAccumulator::new();
    for claim in tensor_claims.claims() {
        let (w, c) = claim?;
        let meta = weights.get(w).ok_or_else(|| ProofSystemError::Rejected(format!("claim on weight {w}, which is not committed")))?;
        let values = values.get(&meta.name).ok_or_else(|| ProofSystemError::Request(format!("the model has no weight {}", meta.name)))?;
        plan.prove_claim(w, &values.values, &c.point, t, &mut acc)?;
    }
    Ok(acc)
}

/// Verifier: the counterpart of [`prove_block_claims`].
pub fn verify_block_claims(weights: &[WeightMeta], tensor_claims: &WeightClaims, t: &mut VerifierTranscript<'_>) -> Result<OpeningAccumulator, ProofSystemError> {
    let plan = WeightBlockPlan::for_weights(weights);
    let mut acc = OpeningAccumulator::new();
    for claim in tensor_claims.claims() {
        let (w, c) = claim?;
        plan.verify_claim(w, &c.point, c.value, t, &mut acc)?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_tile_each_dimension_aligned() {
        for d in [0usize, 1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 37, 768, 1000, 2304, 50257] {
            let parts = dim_parts(d);
            let mut next = 0;
            for p in &parts {
                assert_eq!(p.offset, next, "d = {d}");
                assert_eq!(p.offset % (1 << p.vars), 0, "unaligned part of d = {d}");
                next += 1 << p.vars;
            }
            assert!(next >= d && next <= 1 << next_pow2_vars(d), "d = {d}: parts cover {next}");
            assert!(next - d < 1 << MIN_PART_VARS, "d = {d}: padding {next} − {d} too large");
        }
        let sizes: Vec<usize> = dim_parts(50257).iter().map(|p| 1 << p.vars).collect();
        assert_eq!(sizes, vec![32768, 16384, 1024, 64, 16, 1]);
        let sizes: Vec<usize> = dim_parts(768).iter().map(|p| 1 << p.vars).collect();
        assert_eq!(sizes, vec![512, 256]);
    }
}
