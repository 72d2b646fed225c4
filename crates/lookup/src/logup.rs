//! logup: every row of the witness columns is a row of the table.
//!
//! **Statement.** Witness columns `c_1, …, c_K` (any lengths `n_k ≥ 1`, each row a tuple of
//! [`Table::arity`] field elements) and a table `T` of `2^κ` rows (padded, see [`crate::table`])
//! with a multiplicity column `m ∈ F^{2^κ}`. Column `k` is padded to `2^{v_k}` rows with the
//! table's first row `t_0` (those padding lookups are counted in `m_0`).
//!
//! **Check.** With challenges `β` (tuples only) then `α`, and `w = Σ_c β^c·row_c`:
//!
//! ```text
//!   Σ_k Σ_{i < 2^{v_k}} 1/(α − w_{k,i})  =  Σ_j m_j/(α − t_j)
//! ```
//!
//! **Stacking.** The columns are stacked into at most `STACK_KEEP_BITS` = 4 witness trees
//! (`stack_layout`, a deterministic function of the lengths): the blocks of `2^{v_k}` leaves are
//! laid end to end, longest first, the total `S` is rounded up to its top `STACK_KEEP_BITS`
//! bits, and the sequence is cut into one tree per set bit, largest first (every cut falls
//! between blocks). In a tree of `2^D` leaves column `k` occupies the aligned block `b_k` (leaves
//! `b_k·2^{v_k} + i`: the top `D − v_k` index bits select the block). The `u < S/8` leaves not
//! covered by any block (end of the last tree) hold `t_0` as well but are **not** counted in
//! `m`. So every witness leaf is `1/(α − w)` (numerators 1, base-field `w` for range tables:
//! the GKR's fast path), and the uncovered leaves add the known `U/(α − w_0)` (`U = Σ u`,
//! `w_0` = compressed `t_0`).
//!
//! [`crate::fracaddcheck`] proves the roots of all witness trees and the table tree (leaves
//! `m_j/(α − t_j)`). The verifier checks that the roots cancel —
//! `(Σ_trees p/q) − U/(α − w_0) = p_T/q_T`, by cross-multiplication with non-zero denominators —
//! and then the leaf claims. A witness tree of depth `D` ends at `r = (r_top, r_low)`; for each
//! column the prover sends `ĉ_{k,c}(r_low)` (the last `v_k` coordinates, one value per component;
//! the MLE of the component padded with **zeros**), and the verifier checks numerator `= 1` and
//!
//! ```text
//!   q̂(r) = α − Σ_c β^c·( Σ_{k in tree} eq(r_top, b_k)·(ĉ_{k,c}(r_low) + t_{0,c}·tail_{n_k}(r_low))
//!                        + t_{0,c}·tail_used(r) )
//! ```
//!
//! with `tail_n(x) = Σ_{i ≥ n} eq(x, i)` ([`tail_eq_sum`]), which turns zero padding into
//! `t_0`-padding. The table tree: numerator `= m̂(r)` (sent), denominator `= α − Σ_c β^c·T̂_c(r)`
//! (computed by the verifier, [`Table::evaluate_mle`]). Columns of equal length share a point.
//!
//! The `ĉ_{k,c}(r_low)` and `m̂(r)` are returned as [`LookupClaims`]: the caller must check them
//! against its commitments (opening accumulator). Soundness needs the columns and `m` fixed
//! before `β, α` are drawn, so **the caller must absorb their commitments into the transcript
//! before calling [`prove_lookup`] / [`verify_lookup`]**.
//!
//! **Soundness error.** `(N + 2^κ)/|EF|` for `α` (N = total padded lookups; the uncovered leaves
//! cancel exactly as rational functions of `α`), `N·2^κ/|EF|` for `β` (function tables), plus
//! the GKR's `≈ (1.5·D² + 3·D·⌈log₂ s⌉)/|EF|` (`D` the deepest tree, `s` the trees of all the
//! statements proven together, [`crate::fracaddcheck`]: one set of layer proofs for all of
//! them); the leaf claims are checked exactly (the stacking is an identity of multilinear
//! extensions, no extra error). `|EF| ≈ 2^192`.
//!
//! **Several statements, one GKR.** [`prove_lookups`] draws each statement's own `(β, α)` and
//! proves all their trees with one fraction-sum GKR, but every statement's roots are checked on
//! their own (witness roots against its table root): nothing is summed across statements, so
//! moving multiplicity between two statements, even of the same table, breaks both checks.
//!
//! **No wrap-around (the integers behind the field identity).** The check is an identity of
//! rational functions of `α` over `F_p` (`p = 2^64 − 2^32 + 1`). Comparing the residues at the
//! pole `α = v` for a value `v` that no table row takes gives `c_v ≡ 0 (mod p)`, where `c_v` is
//! the number of witness rows equal to `v` (each leaf has numerator 1, so the residue is that
//! count read in the field). `c_v` is an integer with `0 ≤ c_v ≤ N`, and `N < 2^40 < p`
//! ([`check_shapes`] refuses more: `Σ 2^{v_k} < 2^MAX_DEPTH = 2^40`), so `c_v ≡ 0` forces
//! `c_v = 0`: every witness row is a table row. The multiplicities `m_j` themselves may be any
//! field elements (a prover gains nothing by it: only the witness side's counts are read as
//! integers), and the fraction-sum GKR adds fractions as `(p, q)` pairs with no division, exact in
//! the field. The uncovered leaves' known count `U < S/8 < 2^37` is subtracted by the verifier.

use std::borrow::Cow;

use p3_field::{Field, PackedFieldExtension, PrimeCharacteristicRing};
use p3_maybe_rayon::prelude::*;
use zkinfer_field::{EF, F, lift};
use zkinfer_poly::next_pow2_vars;
use zkinfer_transcript::{ProverTranscript, Transcript, TranscriptError, VerifierTranscript};

use crate::fracaddcheck::{
    self, Denominators, FracAddError, FractionLeaves, MAX_DEPTH, Numerators, LeafClaim};
use crate::table::{Table, tail_eq_sum};

/// Label under which the statement (table descriptor and column lengths) is absorbed.
const STATEMENT_LABEL: &str = "zkinfer/logup/v2";

/// Errors of the lookup prover and verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The table's parameters are invalid.
    #[error("invalid table: {0}")]
    InvalidTable(String),
    /// The witness columns do not fit the table (arity, lengths, count).
    #[error("invalid columns: {0}")]
    InvalidColumns(String),
    /// A witness row is not in the table (the honest prover cannot prove this lookup).
    #[error("row {row} of column {column} is not in table")]
    NotInTable {
        /// Index of the column.
        column: usize,
        /// Index of the row within the column.
        row: usize,
    },
    /// The multiplicity column has the wrong length.
    #[error("multiplicity column has {got} entries, table needs {want}")]
    MultiplicityLength {
        /// Entries supplied.
        got: usize,
        /// The table's padded length.
        want: usize,
    },
    /// Reading the proof failed.
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// The fraction-sum GKR failed.
    #[error("fraction-sum GKR: {0}")]
    FracAdd(#[from] FracAddError),
    /// The witness fractions and the table fractions do not sum to the same value.
    #[error("witness and table fraction sums differ")]
    SumsDiffer,
    /// A root denominator is zero.
    #[error("zero denominator at a root")]
    ZeroDenominator,
    /// A leaf claim of the GKR contradicts the values sent for the columns or the table.
    #[error("leaf claim of {0} does not match")]
    LeafMismatch(String),
}

/// One witness column: `arity` component slices of equal length (`[values]` for a range table,
/// `[inputs, outputs]` for a function table).
#[derive(Debug, Clone)]
pub struct LookupColumn<'a> {
    /// The components, all of the same length.
    pub components: Vec<&'a [F]>,
}

impl<'a> LookupColumn<'a> {
    /// A single-component column (for range tables).
    pub fn single(values: &'a [F]) -> Self {
        Self {
            components: vec![values],
        }
    }

    /// An `(input, output)` column (for function tables).
    pub fn pair(inputs: &'a [F], outputs: &'a [F]) -> Self {
        Self {
            components: vec![inputs, outputs],
        }
    }

    /// Number of rows (of the first component).
    pub fn len(&self) -> usize {
        self.components.first().map_or(0, |c| c.len())
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A claim `ĉ_c(point) = values[c]` on every component of a witness column, each padded with
/// zeros to `2^{point.len()}` rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnClaim {
    /// The evaluation point (MSB-first), `next_pow2_vars(len)` coordinates.
    pub point: Vec<EF>,
    /// One value per component.
    pub values: Vec<EF>,
}

/// A claim `m̂(point) = value` on the multiplicity column (length [`Table::padded_len`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiplicityClaim {
    /// The evaluation point, [`Table::num_vars`] coordinates.
    pub point: Vec<EF>,
    /// The claimed value.
    pub value: EF,
}

/// The claims a lookup leaves on committed polynomials; prover and verifier get equal values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupClaims {
    /// One claim per witness column, in order.
    pub columns: Vec<ColumnClaim>,
    /// The claim on the multiplicity column.
    pub multiplicities: MultiplicityClaim,
}

pub(crate) fn check_shapes(table: &Table, lens: &[usize]) -> Result<(), LookupError> {
    table.validate()?;
    if lens.is_empty() {
        return Err(LookupError::InvalidColumns("no columns".into()));
    }
    let mut total: u128 = 0;
    for (k, &n) in lens.iter().enumerate() {
        if n == 0 {
            return Err(LookupError::InvalidColumns(format!("column {k} is empty")));
        }
        if next_pow2_vars(n) > MAX_DEPTH {
            return Err(LookupError::InvalidColumns(format!(
                "column {k} has {n} rows"
            )));
        }
        total += 1u128 << next_pow2_vars(n);
    }
    if total >= 1u128 << MAX_DEPTH {
        return Err(LookupError::InvalidColumns(format!(
            "{total} lookups in total"
        )));
    }
    Ok(())
}

pub(crate) fn check_columns(table: &Table, columns: &[LookupColumn<'_>]) -> Result<(), LookupError> {
    for (k, col) in columns.iter().enumerate() {
        if col.components.len() != table.arity() {
            return Err(LookupError::InvalidColumns(format!(
                "column {k} has {} components, table rows have {}",
                col.components.len(),
                table.arity()
            )));
        }
        if col.components.iter().any(|c| c.len() != col.len()) {
            return Err(LookupError::InvalidColumns(format!(
                "components of column {k} differ in length"
            )));
        }
    }
    let lens: Vec<usize> = columns.iter().map(LookupColumn::len).collect();
    check_shapes(table, &lens)
}

/// Largest table whose multiplicities [`compute_multiplicities`] counts with one count vector per
/// parallel task (`Range{16}`: 512 KiB each); larger tables are counted in one pass.
const PARALLEL_COUNT_ROWS: usize = 1 << 16;

/// The multiplicity column: `m_j` = number of rows (including each column's padding rows, which
/// repeat the table's first row) equal to table row `j`, counted at the first occurrence of a
/// repeated row. Fails with [`LookupError::NotInTable`] if some row is not in the table.
pub fn compute_multiplicities(
    table: &Table,
    columns: &[LookupColumn<'_>],
) -> Result<Vec<F>, LookupError> {
    check_columns(table, columns)?;
    let len = table.padded_len();
    let find = |col: &LookupColumn<'_>, i: usize| match col.components[..] {
        [x] => table.row_index(&[x[i]]),
        [x, y] => table.row_index(&[x[i], y[i]]),
        _ => None,
    };
    let mut counts = vec![0u64; len];
    for (k, col) in columns.iter().enumerate() {
        if len <= PARALLEL_COUNT_ROWS {
            // Counted in parallel, one count vector per task (`len` is small), summed: the same
            // counts as one pass in order. A row not in the table is reported by the pass below.
            // `par_fold_reduce` (p3-maybe-rayon) is rayon's fold + reduce with the `parallel`
            // feature and one sequential fold without it (the verifier's build): rayon's
            // `try_fold`/`try_reduce` have no serial counterpart there. `None` (a row not in the
            // table) stays `None` through both.
            let local = (0..col.len()).into_par_iter().with_min_len(1 << 14).par_fold_reduce(
                || Some(vec![0u64; len]),
                |acc, i| {
                    let mut acc = acc?;
                    acc[find(col, i)?] += 1;
                    Some(acc)
                },
                |a, b| {
                    let (mut a, b) = (a?, b?);
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    Some(a)
                },
            );
            if let Some(local) = local {
                counts.iter_mut().zip(&local).for_each(|(x, y)| *x += y);
                counts[0] += ((1usize << next_pow2_vars(col.len())) - col.len()) as u64;
                continue;
            }
        }
        let rows: Vec<u32> = (0..col.len())
            .into_par_iter()
            .with_min_len(1 << 12)
            .map(|i| find(col, i).map(|j| j as u32).ok_or(LookupError::NotInTable { column: k, row: i }))
            .collect::<Result<_, _>>()?;
        for j in rows {
            counts[j as usize] += 1;
        }
        counts[0] += ((1usize << next_pow2_vars(col.len())) - col.len()) as u64;
    }
    Ok(counts.into_iter().map(F::from_u64).collect())
}

/// Absorbs the statement and draws `(β, α)`.
fn statement_challenges<T: Transcript>(t: &mut T, table: &Table, lens: &[usize]) -> (EF, EF) {
    let mut statement = table.descriptor();
    statement.extend_from_slice(&(lens.len() as u64).to_le_bytes());
    for &n in lens {
        statement.extend_from_slice(&(n as u64).to_le_bytes());
    }
    t.absorb_public_bytes(STATEMENT_LABEL, &statement);
    let beta = if table.arity() > 1 {
        t.challenge_ext()
    } else {
        EF::ZERO
    };
    let alpha = t.challenge_ext();
    (beta, alpha)
}

/// `Σ_c β^c·x_c`.
pub(crate) fn compress(beta: EF, xs: impl DoubleEndedIterator<Item = EF>) -> EF {
    xs.rev().fold(EF::ZERO, |acc, x| acc * beta + x)
}

/// `Σ_{i < values.len()} eq[i]·values[i]`: the MLE of `values` padded with zeros.
pub(crate) fn zero_padded_eval(eq: &[EF], values: &[F]) -> EF {
    type PF = <F as Field>::Packing;
    type PackedEF = <EF as p3_field::ExtensionField<F>>::ExtensionPacking;
    const LANES: usize = <PF as p3_field::PackedValue>::WIDTH;
    let n = eq.len().min(values.len());
    let body = n - n % LANES;
    // LANES products per operation over the body, the rest one at a time (the same sum).
    let packed: PackedEF = (0..body / LANES)
        .into_par_iter()
        .with_min_len((1 << 14) / LANES)
        .map(|c| {
            let x = c * LANES;
            PackedEF::from_ext_slice(&eq[x..x + LANES]) * *<PF as p3_field::PackedValue>::from_slice(&values[x..x + LANES])
        })
        .sum();
    let head: EF = (0..LANES).map(|lane| packed.extract(lane)).sum();
    head + eq[body..n].iter().zip(&values[body..n]).map(|(&e, &v)| e * v).sum::<EF>()
}

/// `eq(point, ·)` as two tables, `eq(point, x) = hi[x_hi]·lo[x_lo]` with `x = x_hi·lo.len() +
/// x_lo` (the first `⌊n/2⌋` coordinates in `hi`): about `2·2^{n/2}` entries instead of `2^n`.
pub(crate) fn split_eq_tables(point: &[EF]) -> (Vec<EF>, Vec<EF>) {
    let (hi, lo) = point.split_at(point.len() / 2);
    (zkinfer_poly::eq_evals(hi), zkinfer_poly::eq_evals(lo))
}

/// [`zero_padded_eval`] with the eq table held split ([`split_eq_tables`]):
/// `Σ_{x_hi} hi[x_hi]·Σ_{x_lo} lo[x_lo]·values[x]` over `x < values.len()`, the same field
/// element as with the full table (field arithmetic is exact), without building it.
pub(crate) fn split_zero_padded_eval((hi, lo): &(Vec<EF>, Vec<EF>), values: &[F]) -> EF {
    let row = lo.len().max(1);
    let n = values.len().min(hi.len() * lo.len());
    let rows = n.div_ceil(row);
    let row_sum = |r: usize| -> EF {
        let (start, end) = (r * row, (r * row + row).min(n));
        hi[r] * zero_padded_eval_sequential(&lo[..end - start], &values[start..end])
    };
    if n >= 1 << 14 {
        (0..rows).into_par_iter().map(row_sum).sum()
    } else {
        (0..rows).map(row_sum).sum()
    }
}

/// [`zero_padded_eval`] on one thread (the rows of [`split_zero_padded_eval`]).
fn zero_padded_eval_sequential(eq: &[EF], values: &[F]) -> EF {
    type PF = <F as Field>::Packing;
    type PackedEF = <EF as p3_field::ExtensionField<F>>::ExtensionPacking;
    const LANES: usize = <PF as p3_field::PackedValue>::WIDTH;
    let n = eq.len().min(values.len());
    let body = n - n % LANES;
    let packed = (0..body).step_by(LANES).fold(PackedEF::ZERO, |acc, x| {
        acc + PackedEF::from_ext_slice(&eq[x..x + LANES]) * *<PF as p3_field::PackedValue>::from_slice(&values[x..x + LANES])
    });
    let head: EF = (0..LANES).map(|lane| packed.extract(lane)).sum();
    head + eq[body..n].iter().zip(&values[body..n]).map(|(&e, &v)| e * v).sum::<EF>()
}

/// Where one column sits in a stacked tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    /// Index of the column.
    column: usize,
    /// `log2` of the block size: the column's padded length is `2^vars`.
    vars: usize,
    /// First leaf of the block (a multiple of `2^vars`).
    offset: usize,
}

/// One witness tree: aligned column blocks from leaf 0 on, then `2^depth − used` uncovered
/// leaves (filled with the table's first row, not counted in `m`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StackedTree {
    depth: usize,
    used: usize,
    blocks: Vec<Block>,
}

impl StackedTree {
    fn uncovered(&self) -> usize {
        (1usize << self.depth) - self.used
    }
}

/// How many of the top bits of the total leaf count the layout keeps: at most this many witness
/// trees, and fewer than `total/2^{STACK_KEEP_BITS − 1}` uncovered leaves.
const STACK_KEEP_BITS: usize = 4;

/// The stacking layout, a deterministic function of the column lengths (so the verifier derives
/// the same one).
///
/// The blocks (`2^{v_k}` leaves per column) are laid end to end, longest first (equal lengths in
/// column order), so every block starts at a multiple of its size. Their total `S` is rounded up
/// to `S'`, a multiple of `2^m` with `m = ⌊log₂ S⌋ + 1 − STACK_KEEP_BITS`, and the sequence is cut
/// into one tree per set bit of `S'`, largest first. Every cut falls between two blocks: a block
/// of size `2^v` straddling the cut before a tree of `2^a` leaves would start at a multiple of
/// `2^v > 2^a`, yet at most `S' − cut < 2^{a+1}` leaves remain. The `S' − S < 2^m` uncovered
/// leaves are the end of the last tree.
fn stack_layout(lens: &[usize]) -> Vec<StackedTree> {
    let mut blocks: Vec<(usize, usize)> = lens
        .iter()
        .enumerate()
        .map(|(k, &n)| (next_pow2_vars(n), k))
        .collect();
    blocks.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let total: usize = blocks.iter().map(|&(v, _)| 1usize << v).sum();
    if total == 0 {
        return Vec::new();
    }
    let top_bit = total.ilog2() as usize;
    let granule = 1usize << (top_bit + 1).saturating_sub(STACK_KEEP_BITS);
    let rounded = total.div_ceil(granule) * granule;
    let mut trees: Vec<StackedTree> = (0..usize::BITS as usize)
        .rev()
        .filter(|&bit| (rounded >> bit) & 1 == 1)
        .map(|depth| StackedTree {
            depth,
            used: 0,
            blocks: Vec::new(),
        })
        .collect();
    let mut tree_index = 0;
    for (vars, column) in blocks {
        // Move to the next tree once this one is full (cuts fall between blocks, see above).
        while tree_index + 1 < trees.len() && trees[tree_index].uncovered() == 0 {
            tree_index += 1;
        }
        let tree = &mut trees[tree_index];
        tree.blocks.push(Block {
            column,
            vars,
            offset: tree.used,
        });
        tree.used += 1 << vars;
    }
    trees
}

/// The depths of the witness trees [`prove_lookup`] stacks columns of these lengths into.
pub fn stacked_tree_depths(lens: &[usize]) -> Vec<usize> {
    stack_layout(lens).iter().map(|t| t.depth).collect()
}

/// `eq(point, index)` for a boolean `index` of `point.len()` bits (MSB first).
pub(crate) fn eq_at_index(point: &[EF], index: usize) -> EF {
    let v = point.len();
    point
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            if (index >> (v - 1 - k)) & 1 == 1 {
                x
            } else {
                EF::ONE - x
            }
        })
        .product()
}

/// The leaves of one stacked witness tree: `α − w` with `w` the compressed row; each column is
/// padded to its block with `pad_row` (the table's first row), and the uncovered leaves hold
/// `uncovered_row` (also the table's first row, except in tests of a cheating prover).
fn stacked_leaves(
    tree: &StackedTree,
    columns: &[LookupColumn<'_>],
    pad_row: &[F],
    uncovered_row: &[F],
    beta: EF,
    alpha: EF,
) -> FractionLeaves {
    let size = 1usize << tree.depth;
    let denominators = if let ([pad], [fill]) = (pad_row, uncovered_row) {
        // One component: denominators α − w with w in the base field (fast path).
        let mut values = vec![*pad; size];
        values[tree.used..].fill(*fill);
        for b in &tree.blocks {
            let col = columns[b.column].components[0];
            values[b.offset..b.offset + col.len()].copy_from_slice(col);
        }
        Denominators::Shifted {
            shift: alpha,
            values,
        }
    } else {
        let row_q = |row: &[F]| alpha - compress(beta, row.iter().map(|&x| lift(x)));
        let mut q = vec![row_q(pad_row); size];
        q[tree.used..].fill(row_q(uncovered_row));
        for b in &tree.blocks {
            let col = &columns[b.column];
            q[b.offset..b.offset + col.len()]
                .par_iter_mut()
                .with_min_len(1 << 12)
                .enumerate()
                .for_each(|(i, out)| {
                    *out = match col.components[..] {
                        // (input, output) rows: α − (x + β·y), one extension-by-base product (the
                        // same element as the general compression).
                        [x, y] => alpha - (beta * y[i] + x[i]),
                        _ => alpha - compress(beta, col.components.iter().map(|c| lift(c[i]))),
                    };
                });
        }
        Denominators::Values(q)
    };
    FractionLeaves {
        numerators: Numerators::Ones,
        denominators,
    }
}

/// `ŵ_c(r)` for every component `c` of a stacked tree's leaf MLE at its point `r`, from the
/// columns' zero-padded component values at their block points:
/// `Σ_blocks eq(r_top, b)·(ĉ_c(r_low) + t_{0,c}·tail_n(r_low)) + t_{0,c}·tail_used(r)`.
fn stacked_row_mle(
    tree: &StackedTree,
    point: &[EF],
    column_lens: &[usize],
    values: &[Vec<EF>],
    first_row: &[EF],
) -> Vec<EF> {
    let mut w: Vec<EF> = first_row
        .iter()
        .map(|&pad| pad * tail_eq_sum(point, tree.used))
        .collect();
    for b in &tree.blocks {
        let (top, low) = point.split_at(tree.depth - b.vars);
        let select = eq_at_index(top, b.offset >> b.vars);
        let tail = tail_eq_sum(low, column_lens[b.column]);
        for ((acc, &v), &pad) in w.iter_mut().zip(&values[b.column]).zip(first_row) {
            *acc += select * (v + pad * tail);
        }
    }
    w
}

/// The last `vars` coordinates of a tree's leaf point: the point of a block of `2^vars` leaves.
fn block_point(tree_point: &[EF], vars: usize) -> &[EF] {
    &tree_point[tree_point.len() - vars..]
}

/// One lookup statement for [`prove_lookups`]: every row of `columns` is a row of `table`, with
/// the multiplicity column `multiplicities`.
#[derive(Debug, Clone)]
pub struct LookupInstance<'a> {
    /// The table.
    pub table: &'a Table,
    /// The looked-up columns.
    pub columns: Vec<LookupColumn<'a>>,
    /// `m`, of length [`Table::padded_len`] (normally [`compute_multiplicities`]).
    pub multiplicities: &'a [F],
}

/// Proves that every row of `columns` is in `table`, given the multiplicity column (normally
/// [`compute_multiplicities`]; any other `m` yields a proof that fails to verify).
///
/// **Precondition:** the columns and `m` are already bound into `t` (their commitments
/// absorbed); the challenges are drawn here. Returns the claims the caller must prove by opening
/// its commitments; they equal what [`verify_lookup`] returns.
pub fn prove_lookup(
    table: &Table,
    columns: &[LookupColumn<'_>],
    multiplicities: &[F],
    t: &mut ProverTranscript,
) -> Result<LookupClaims, LookupError> {
    prove_lookup_filled(table, columns, multiplicities, &table.first_row(), t)
}

/// Proves several lookups (into different tables) with ONE fraction-sum GKR: every table's
/// `(β, α)` is drawn first, then all their trees go through [`fracaddcheck`] together, so the
/// layer sumchecks are paid once per depth instead of once per table. Each table's roots are
/// still checked separately. Same precondition and claims as [`prove_lookup`], per instance.
pub fn prove_lookups(instances: &[LookupInstance<'_>], t: &mut ProverTranscript) -> Result<Vec<LookupClaims>, LookupError> {
    let rows: Vec<Vec<F>> = instances.iter().map(|i| i.table.first_row()).collect();
    let filled: Vec<(&LookupInstance<'_>, &[F])> = instances.iter().zip(&rows).map(|(i, r)| (i, r.as_slice())).collect();
    prove_filled(filled.as_slice(), t)
}

/// [`prove_lookup`] with the uncovered leaves of the stacked trees set to `uncovered_row`
/// (the table's first row for the honest prover; tests use others to play a cheating prover).
fn prove_lookup_filled(
    table: &Table,
    columns: &[LookupColumn<'_>],
    multiplicities: &[F],
    uncovered_row: &[F],
    t: &mut ProverTranscript,
) -> Result<LookupClaims, LookupError> {
    let instance = LookupInstance { table, columns: columns.to_vec(), multiplicities };
    let mut claims = prove_filled(&[(&instance, uncovered_row)][..], t)?;
    claims.pop().ok_or(LookupError::SumsDiffer)
}

/// The prover's view of one statement between its challenges and the GKR.
struct ProverStatement {
    lens: Vec<usize>,
    layout: Vec<StackedTree>,
    alpha: EF,
    beta: EF,
}

/// The statements of one batched proof, each handed to `f` on demand: held ones (a slice) or
/// ones loaded each time they are needed ([`prove_lookups_reloading`]).
trait Statements {
    fn count(&self) -> usize;
    /// Calls `f` with statement `i` and the row its uncovered leaves hold.
    fn with<R>(&self, i: usize, f: impl FnOnce(&LookupInstance<'_>, &[F]) -> R) -> R;
}

impl Statements for [(&LookupInstance<'_>, &[F])] {
    fn count(&self) -> usize {
        self.len()
    }

    fn with<R>(&self, i: usize, f: impl FnOnce(&LookupInstance<'_>, &[F]) -> R) -> R {
        f(self[i].0, self[i].1)
    }
}

/// One statement's columns and multiplicities, as [`prove_lookups_reloading`] loads them.
#[derive(Debug, Clone)]
pub struct LoadedLookup<'a> {
    /// The looked-up columns, each its components.
    pub columns: Vec<Vec<Cow<'a, [F]>>>,
    /// `m`, of length [`Table::padded_len`].
    pub multiplicities: Cow<'a, [F]>,
}

struct Reloading<'t, L> {
    tables: &'t [&'t Table],
    load: L,
}

impl<'a, L: Fn(usize) -> LoadedLookup<'a>> Statements for Reloading<'_, L> {
    fn count(&self) -> usize {
        self.tables.len()
    }

    fn with<R>(&self, i: usize, f: impl FnOnce(&LookupInstance<'_>, &[F]) -> R) -> R {
        let loaded = (self.load)(i);
        let table = self.tables[i];
        let instance = LookupInstance {
            table,
            columns: loaded.columns.iter().map(|c| LookupColumn { components: c.iter().map(|v| &**v).collect() }).collect(),
            multiplicities: &loaded.multiplicities,
        };
        f(&instance, &table.first_row())
    }
}

/// [`prove_lookups`] over statement `i` of `tables[i]`, whose columns and multiplicities
/// `load(i)` returns each time they are needed: once to build the fraction trees and once, after
/// the GKR, to evaluate the columns at their points. Nothing of them is resident during the GKR
/// (for columns the caller rebuilds, e.g. from a commitment). Same proof and claims as
/// [`prove_lookups`] over the loaded instances; `load` must return the same values both times.
pub fn prove_lookups_reloading<'a>(
    tables: &[&Table],
    load: impl Fn(usize) -> LoadedLookup<'a>,
    t: &mut ProverTranscript,
) -> Result<Vec<LookupClaims>, LookupError> {
    prove_filled(&Reloading { tables, load }, t)
}

fn prove_filled<S: Statements + ?Sized>(instances: &S, t: &mut ProverTranscript) -> Result<Vec<LookupClaims>, LookupError> {
    prove_filled_with_roots(instances, t, |_, _| {})
}

/// [`prove_filled`] with `edit` applied to the GKR's roots before they are sent, given each
/// statement's `(α, β)` (the identity for the honest prover; tests play a prover that claims
/// false roots and proves everything else honestly).
fn prove_filled_with_roots<S: Statements + ?Sized>(
    instances: &S,
    t: &mut ProverTranscript,
    edit: impl FnOnce(&[(EF, EF)], &mut [(EF, EF)]),
) -> Result<Vec<LookupClaims>, LookupError> {
    if instances.count() == 0 {
        return Ok(Vec::new());
    }
    let mut clock = crate::timing::Clock::start();
    let mut statements = Vec::with_capacity(instances.count());
    let mut trees: Vec<FractionLeaves> = Vec::new();
    for i in 0..instances.count() {
        let st = instances.with(i, |inst, uncovered_row| -> Result<ProverStatement, LookupError> {
            let (table, columns) = (inst.table, inst.columns.as_slice());
            check_columns(table, columns)?;
            if inst.multiplicities.len() != table.padded_len() {
                return Err(LookupError::MultiplicityLength {
                    got: inst.multiplicities.len(),
                    want: table.padded_len(),
                });
            }
            let lens: Vec<usize> = columns.iter().map(LookupColumn::len).collect();
            let (beta, alpha) = statement_challenges(t, table, &lens);
            let first_row = table.first_row();
            let layout = stack_layout(&lens);
            trees.extend(layout.iter().map(|tree| stacked_leaves(tree, columns, &first_row, uncovered_row, beta, alpha)));
            let table_components: Vec<Vec<F>> = (0..table.arity()).map(|c| table.padded_component(c)).collect();
            let table_q: Vec<EF> = (0..table.padded_len())
                .into_par_iter()
                .with_min_len(1 << 12)
                .map(|j| alpha - compress(beta, table_components.iter().map(|c| lift(c[j]))))
                .collect();
            trees.push(FractionLeaves {
                numerators: Numerators::Values(inst.multiplicities.iter().map(|&m| lift(m)).collect()),
                denominators: Denominators::Values(table_q),
            });
            Ok(ProverStatement { lens, layout, alpha, beta })
        })?;
        statements.push(st);
    }

    clock.lap(|| "logup: load columns, build leaves".into());
    let challenges: Vec<(EF, EF)> = statements.iter().map(|st| (st.alpha, st.beta)).collect();
    let out = fracaddcheck::prove_with_roots(trees, t, |roots| edit(&challenges, roots));
    clock.lap(|| "logup: GKR".into());

    let mut claims = Vec::with_capacity(statements.len());
    let mut leaves = out.leaves.as_slice();
    for (i, st) in statements.iter().enumerate() {
        let (own, rest) = leaves.split_at(st.layout.len() + 1);
        leaves = rest;
        let claim = instances.with(i, |inst, _| -> Result<LookupClaims, LookupError> {
            check_columns(inst.table, &inst.columns)?;
            if inst.columns.iter().map(LookupColumn::len).ne(st.lens.iter().copied()) {
                return Err(LookupError::InvalidColumns("a statement's columns changed between loads".into()));
            }
            Ok(finish_prover(inst, st, own, t))
        })?;
        claims.push(claim);
    }
    clock.lap(|| "logup: reload columns, claims".into());
    Ok(claims)
}

/// After the GKR: sends each column's components at its block point (component 0 of each tree's
/// largest column is derived from the leaf claim instead) and `m` at the table leaf's point.
fn finish_prover(inst: &LookupInstance<'_>, st: &ProverStatement, leaves: &[LeafClaim], t: &mut ProverTranscript) -> LookupClaims {
    let (columns, layout, lens) = (inst.columns.as_slice(), &st.layout, &st.lens);
    let (alpha, beta) = (st.alpha, st.beta);
    let first_row = inst.table.first_row();
    // Each column's components at its block's point (the low coordinates of its tree's point).
    // Trees of equal depth end at the same point, so one eq table per distinct block point.
    // Component 0 of each tree's first (largest) block follows from the leaf claim instead.
    let mut points: Vec<Vec<EF>> = vec![Vec::new(); columns.len()];
    let mut derived = vec![false; columns.len()];
    for (tree, leaf) in layout.iter().zip(leaves) {
        for b in &tree.blocks {
            points[b.column] = block_point(&leaf.point, b.vars).to_vec();
        }
        if let Some(first) = tree.blocks.first() {
            let top = &leaf.point[..tree.depth - first.vars];
            derived[first.column] = !eq_at_index(top, first.offset >> first.vars).is_zero();
        }
    }
    let mut clock = crate::timing::Clock::start();
    let mut eq_time = 0f64;
    let mut eq_tables: std::collections::HashMap<Vec<EF>, (Vec<EF>, Vec<EF>)> =
        std::collections::HashMap::new();
    let mut values: Vec<Vec<EF>> = Vec::with_capacity(columns.len());
    for ((col, point), &skip_first) in columns.iter().zip(&points).zip(&derived) {
        // Component 0 of a derived column is filled in below; nothing to evaluate here for it.
        let mut col_values = vec![EF::ZERO; col.components.len()];
        let first_needed = usize::from(skip_first);
        if col.components.len() > first_needed {
            let c0 = std::time::Instant::now();
            let eq = eq_tables
                .entry(point.clone())
                .or_insert_with(|| split_eq_tables(point));
            eq_time += c0.elapsed().as_secs_f64();
            for (value, comp) in col_values
                .iter_mut()
                .zip(&col.components)
                .skip(first_needed)
            {
                *value = split_zero_padded_eval(eq, comp);
            }
        }
        values.push(col_values);
    }
    drop(eq_tables);
    clock.lap(|| format!("logup: column evaluations (eq tables {eq_time:.3} s)"));
    let lifted_first: Vec<EF> = first_row.iter().map(|&x| lift(x)).collect();
    for (tree, leaf) in layout.iter().zip(leaves) {
        let Some(first) = tree.blocks.first() else {
            continue;
        };
        if !derived[first.column] {
            continue;
        }
        // ŵ_0 is linear in the missing value with slope eq(r_top, b_first); the leaf claim
        // gives ŵ_0 = α − q̂(r) − Σ_{c≥1} β^c·ŵ_c.
        let select = eq_at_index(
            &leaf.point[..tree.depth - first.vars],
            first.offset >> first.vars,
        );
        let w = stacked_row_mle(tree, &leaf.point, lens, &values, &lifted_first);
        let rest = compress(beta, w.iter().copied()) - w[0];
        let want_w0 = alpha - leaf.denominator - rest;
        if let Some(v0) = values[first.column].first_mut() {
            *v0 = (want_w0 - w[0]) * select.inverse();
        }
    }
    let mut column_claims = Vec::with_capacity(columns.len());
    for (point, values) in points.into_iter().zip(values) {
        t.send_exts(&values);
        column_claims.push(ColumnClaim { point, values });
    }
    let (table_leaf, m_value) = leaves
        .last()
        .map(|l| (l.point.clone(), l.numerator))
        .unwrap_or_default();
    t.send_ext(m_value);
    LookupClaims {
        columns: column_claims,
        multiplicities: MultiplicityClaim {
            point: table_leaf,
            value: m_value,
        },
    }
}

/// Verifies a lookup of columns of lengths `column_lens` into `table`.
///
/// **Precondition:** the same commitments the prover bound are absorbed into `t`. On success the
/// returned claims must still be checked against those commitments (e.g. pushed into the
/// opening accumulator); until then nothing is proven about the committed columns.
pub fn verify_lookup(
    table: &Table,
    column_lens: &[usize],
    t: &mut VerifierTranscript<'_>,
) -> Result<LookupClaims, LookupError> {
    let mut claims = verify_lookups(&[(table, column_lens)], t)?;
    claims.pop().ok_or(LookupError::SumsDiffer)
}

/// Verifier side of [`prove_lookups`]: `(table, column lengths)` per instance, in the prover's
/// order.
pub fn verify_lookups(statements: &[(&Table, &[usize])], t: &mut VerifierTranscript<'_>) -> Result<Vec<LookupClaims>, LookupError> {
    if statements.is_empty() {
        return Ok(Vec::new());
    }
    let mut prepared = Vec::with_capacity(statements.len());
    let mut depths: Vec<usize> = Vec::new();
    for &(table, column_lens) in statements {
        check_shapes(table, column_lens)?;
        let (beta, alpha) = statement_challenges(t, table, column_lens);
        let layout = stack_layout(column_lens);
        depths.extend(layout.iter().map(|tree| tree.depth));
        depths.push(table.num_vars());
        prepared.push((layout, alpha, beta));
    }
    let out = fracaddcheck::verify(&depths, t)?;
    let mut claims = Vec::with_capacity(statements.len());
    let (mut roots, mut leaves) = (out.roots.as_slice(), out.leaves.as_slice());
    for (&(table, column_lens), (layout, alpha, beta)) in statements.iter().zip(prepared) {
        let n = layout.len() + 1;
        if roots.len() < n || leaves.len() < n {
            return Err(LookupError::SumsDiffer);
        }
        let (own_roots, rest_roots) = roots.split_at(n);
        let (own_leaves, rest_leaves) = leaves.split_at(n);
        (roots, leaves) = (rest_roots, rest_leaves);
        claims.push(finish_verifier(table, column_lens, &layout, alpha, beta, own_roots, own_leaves, t)?);
    }
    Ok(claims)
}

/// One statement's checks after the GKR: roots, column values, leaves.
#[allow(clippy::too_many_arguments)]
fn finish_verifier(
    table: &Table,
    column_lens: &[usize],
    layout: &[StackedTree],
    alpha: EF,
    beta: EF,
    roots: &[(EF, EF)],
    leaves: &[LeafClaim],
    t: &mut VerifierTranscript<'_>,
) -> Result<LookupClaims, LookupError> {
    let (tree_leaves, table_leaf) = leaves.split_at(layout.len());
    let table_leaf = table_leaf.first().ok_or(LookupError::SumsDiffer)?;

    // The roots: Σ_trees p/q − uncovered/(α − w_0) (witness) must equal p_T/q_T (table).
    let first_row: Vec<EF> = table.first_row().into_iter().map(lift).collect();
    let pad_q = alpha - compress(beta, first_row.iter().copied());
    let (witness_roots, table_root) = roots.split_at(layout.len());
    let (mut p_w, mut q_w) = (EF::ZERO, EF::ONE);
    for &(p, q) in witness_roots {
        (p_w, q_w) = (p_w * q + p * q_w, q_w * q);
    }
    let uncovered: u64 = layout.iter().map(|tree| tree.uncovered() as u64).sum();
    if uncovered > 0 {
        if pad_q.is_zero() {
            return Err(LookupError::ZeroDenominator);
        }
        (p_w, q_w) = (p_w * pad_q - EF::from_u64(uncovered) * q_w, q_w * pad_q);
    }
    let &[(p_t, q_t)] = table_root else {
        return Err(LookupError::SumsDiffer);
    };
    if q_w.is_zero() || q_t.is_zero() {
        return Err(LookupError::ZeroDenominator);
    }
    if p_w * q_t != p_t * q_w {
        return Err(LookupError::SumsDiffer);
    }

    // The column values, in column order.
    let mut values: Vec<Vec<EF>> = Vec::with_capacity(column_lens.len());
    for _ in column_lens {
        values.push(t.receive_exts(table.arity())?);
    }

    // The witness leaves: numerator 1; denominator α − Σ_c β^c·ŵ_c(r) with
    // ŵ_c(r) = Σ_blocks eq(r_top, block)·(ĉ_c(r_low) + t_{0,c}·tail(r_low, n)) + t_{0,c}·tail(r, used).
    let mut points: Vec<Vec<EF>> = vec![Vec::new(); column_lens.len()];
    for (i, (tree, leaf)) in layout.iter().zip(tree_leaves).enumerate() {
        let w = stacked_row_mle(tree, &leaf.point, column_lens, &values, &first_row);
        if leaf.numerator != EF::ONE || leaf.denominator != alpha - compress(beta, w.into_iter()) {
            return Err(LookupError::LeafMismatch(format!("witness tree {i}")));
        }
        for b in &tree.blocks {
            points[b.column] = block_point(&leaf.point, b.vars).to_vec();
        }
    }
    let column_claims = points
        .into_iter()
        .zip(values)
        .map(|(point, values)| ColumnClaim { point, values })
        .collect();

    // The table leaves.
    let m_value = t.receive_ext()?;
    let t_values = table.evaluate_mle(&table_leaf.point)?;
    if table_leaf.numerator != m_value
        || table_leaf.denominator != alpha - compress(beta, t_values.into_iter())
    {
        return Err(LookupError::LeafMismatch("the table".into()));
    }
    Ok(LookupClaims {
        columns: column_claims,
        multiplicities: MultiplicityClaim {
            point: table_leaf.point.clone(),
            value: m_value,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_transcript::DomainSeparator;

    /// A deterministic pseudo-random sequence (xorshift).
    fn lengths(seed: u64, count: usize, max_vars: u32) -> Vec<usize> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..count)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let vars = (s % u64::from(max_vars + 1)) as u32;
                1 + (s >> 20) as usize % (1usize << vars)
            })
            .collect()
    }

    /// Every column sits in exactly one tree, in an aligned block of its padded size, blocks do
    /// not overlap, at most `STACK_KEEP_BITS` trees, and few uncovered leaves.
    /// The packed zero-padded evaluation equals the plain sum, for lengths around the SIMD width
    /// and eq tables longer than the values.
    #[test]
    fn packed_zero_padded_eval_is_the_plain_sum() {
        use p3_field::BasedVectorSpace;
        let eq: Vec<EF> = (0..(1u64 << 15) + 40).map(|i| EF::from_basis_coefficients_fn(|k| F::from_u64(i * 7919 + k as u64 * 104_729 + 1))).collect();
        let values: Vec<F> = (0..(1u64 << 15) + 40).map(|i| F::from_u64(i * i + 3)).collect();
        for n in [0, 1, 7, 8, 9, 100, 1 << 15, (1 << 15) + 3] {
            let plain: EF = eq.iter().zip(&values[..n]).map(|(&e, &v)| e * v).sum();
            assert_eq!(zero_padded_eval(&eq, &values[..n]), plain, "n = {n}");
            assert_eq!(zero_padded_eval(&eq[..n], &values), plain, "n = {n}");
        }
        // With the eq table held split: the same element as with the full table, for points
        // of every size and values shorter than, equal to and (ignored beyond) the table.
        for vars in [0usize, 1, 2, 5, 13, 14, 15] {
            let point: Vec<EF> = (0..vars as u64).map(|i| EF::from_basis_coefficients_fn(|k| F::from_u64(i * 31 + k as u64 * 17 + 5))).collect();
            let full = zkinfer_poly::eq_evals(&point);
            let split = split_eq_tables(&point);
            for n in [0, 1, 3, 8, 9, full.len() / 2 + 5, full.len(), full.len() + 7] {
                let n = n.min(values.len());
                assert_eq!(split_zero_padded_eval(&split, &values[..n]), zero_padded_eval(&full, &values[..n]), "vars {vars} n {n}");
            }
        }
    }

    #[test]
    fn layout_places_every_column_in_one_aligned_block() {
        for seed in 0..300 {
            let count = 1 + (seed as usize * 7) % 40;
            let lens = lengths(seed, count, 12);
            let layout = stack_layout(&lens);
            let total: usize = lens.iter().map(|&n| 1usize << next_pow2_vars(n)).sum();
            let leaves: usize = layout.iter().map(|t| 1usize << t.depth).sum();
            let uncovered: usize = layout.iter().map(StackedTree::uncovered).sum();
            assert_eq!(leaves - uncovered, total, "lens {lens:?}");
            assert!(uncovered * (1 << (STACK_KEEP_BITS - 1)) < total.max(1) || uncovered == 0);
            assert!(layout.len() <= STACK_KEEP_BITS.max(1), "lens {lens:?}");
            // Only the last tree has uncovered leaves.
            for tree in &layout[..layout.len() - 1] {
                assert_eq!(tree.uncovered(), 0, "lens {lens:?}");
            }
            let mut seen = vec![0usize; lens.len()];
            for tree in &layout {
                let mut next = 0;
                for b in &tree.blocks {
                    assert_eq!(b.vars, next_pow2_vars(lens[b.column]));
                    assert_eq!(b.offset, next, "blocks are contiguous");
                    assert_eq!(b.offset % (1 << b.vars), 0, "aligned");
                    next += 1 << b.vars;
                    seen[b.column] += 1;
                }
                assert_eq!(next, tree.used);
                assert!(tree.used <= 1 << tree.depth);
            }
            assert!(seen.iter().all(|&c| c == 1), "lens {lens:?}");
        }
        // A layout with uncovered leaves: blocks 64 + 16 + 4 + 2 + 1 = 87 → 88 leaves.
        let layout = stack_layout(&[64, 16, 4, 2, 1]);
        let depths: Vec<usize> = layout.iter().map(|t| t.depth).collect();
        assert_eq!(depths, vec![6, 4, 3]);
        assert_eq!(layout[2].uncovered(), 1);
    }

    fn range_setup() -> (Table, Vec<Vec<F>>) {
        let table = Table::range(4);
        let columns: Vec<Vec<F>> = [64usize, 16, 4, 2, 1]
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                (0..n)
                    .map(|i| F::from_u64(((i * 5 + k) % 16) as u64))
                    .collect()
            })
            .collect();
        (table, columns)
    }

    /// Proves and verifies, then checks the column and `m` claims against the columns (the job
    /// of the opening accumulator). Errors: `Err(Ok(lookup error))` or `Err(Err(claim name))`.
    fn prove_and_verify(
        table: &Table,
        columns: &[Vec<F>],
        m: &[F],
        uncovered_row: &[F],
    ) -> Result<(), Result<LookupError, &'static str>> {
        let ds = DomainSeparator::new("test/logup-stack", 1);
        let lookup: Vec<LookupColumn<'_>> =
            columns.iter().map(|c| LookupColumn::single(c)).collect();
        let lens: Vec<usize> = columns.iter().map(Vec::len).collect();
        let mut t = ProverTranscript::new(&ds);
        prove_lookup_filled(table, &lookup, m, uncovered_row, &mut t).map_err(Ok)?;
        let proof = t.into_proof();
        let mut vt = VerifierTranscript::new(&ds, &proof);
        let claims = verify_lookup(table, &lens, &mut vt).map_err(Ok)?;
        vt.finish().map_err(|e| Ok(e.into()))?;
        let mle = |values: &[F], point: &[EF]| -> EF { zero_padded_eval(&zkinfer_poly::eq_evals(point), values) };
        for (col, claim) in columns.iter().zip(&claims.columns) {
            if mle(col, &claim.point) != claim.values[0] {
                return Err(Err("column"));
            }
        }
        if mle(m, &claims.multiplicities.point) != claims.multiplicities.value {
            return Err(Err("multiplicities"));
        }
        Ok(())
    }

    /// Loading the columns on demand gives the same proof and claims as holding them; columns
    /// that change length between the two loads are refused.
    #[test]
    fn reloading_columns_gives_the_same_proof() {
        let (range, range_cols) = range_setup();
        let func = Table::function("sq", &(0..8).collect::<Vec<i64>>(), &(0..8).map(|x| x * x).collect::<Vec<i64>>()).expect("table");
        let xs: Vec<F> = (0..37u64).map(|i| F::from_u64(i % 8)).collect();
        let ys: Vec<F> = (0..37u64).map(|i| F::from_u64((i % 8) * (i % 8))).collect();
        let range_lookup: Vec<LookupColumn<'_>> = range_cols.iter().map(|c| LookupColumn::single(c)).collect();
        let func_lookup = vec![LookupColumn::pair(&xs, &ys)];
        let (rm, fm) = (compute_multiplicities(&range, &range_lookup).expect("in"), compute_multiplicities(&func, &func_lookup).expect("in"));
        let instances = [
            LookupInstance { table: &range, columns: range_lookup, multiplicities: &rm },
            LookupInstance { table: &func, columns: func_lookup, multiplicities: &fm },
        ];
        let ds = DomainSeparator::new("test/logup-reload", 1);
        let mut held = ProverTranscript::new(&ds);
        let held_claims = prove_lookups(&instances, &mut held).expect("honest");
        let tables = [&range, &func];
        let loads = std::cell::Cell::new(0);
        let load = |i: usize| {
            loads.set(loads.get() + 1);
            LoadedLookup {
                columns: instances[i].columns.iter().map(|c| c.components.iter().map(|v| Cow::Borrowed(*v)).collect()).collect(),
                multiplicities: Cow::Borrowed(instances[i].multiplicities),
            }
        };
        let mut reloaded = ProverTranscript::new(&ds);
        let reloaded_claims = prove_lookups_reloading(&tables, load, &mut reloaded).expect("honest");
        assert_eq!(loads.get(), 4, "each statement loaded twice");
        assert_eq!(reloaded_claims, held_claims);
        assert_eq!(reloaded.into_proof(), held.into_proof());

        // The second load of statement 0 drops a column: refused, not proven.
        let shrinking = |i: usize| {
            loads.set(loads.get() + 1);
            let mut columns: Vec<Vec<Cow<'_, [F]>>> =
                instances[i].columns.iter().map(|c| c.components.iter().map(|v| Cow::Borrowed(*v)).collect()).collect();
            if loads.get() > 2 && i == 0 {
                columns.pop();
            }
            LoadedLookup { columns, multiplicities: Cow::Borrowed(instances[i].multiplicities) }
        };
        loads.set(0);
        let mut t = ProverTranscript::new(&ds);
        assert!(matches!(prove_lookups_reloading(&tables, shrinking, &mut t), Err(LookupError::InvalidColumns(_))));
    }

    /// A row outside the table, and a prover that claims the table tree's root so that the
    /// statement's root equation holds (`p_T/q_T` := the witness side's sum), then proves the GKR
    /// honestly from its true trees and sends true column and `m` values: every check on the
    /// statement passes except the GKR's, which rejects because the leaf values sent do not
    /// account for the claimed roots. (Control, session 11: with `fracaddcheck::verify`'s final
    /// `(P, Q) = (0, 0)` check removed, this proof verified and every claim matched the columns.)
    #[test]
    fn a_row_outside_the_table_with_balanced_false_roots_is_rejected() {
        let table = Table::range(4);
        let mut columns: Vec<Vec<F>> = [64usize, 16, 5].iter().map(|&n| (0..n).map(|i| F::from_u64((i * 7 % 16) as u64)).collect()).collect();
        columns[1][3] = F::from_u64(16);
        let lookup: Vec<LookupColumn<'_>> = columns.iter().map(|c| LookupColumn::single(c)).collect();
        let m = in_table_counts(&table, &columns);
        let lens: Vec<usize> = columns.iter().map(Vec::len).collect();
        let layout = stack_layout(&lens);
        let ds = DomainSeparator::new("test/logup-false-roots", 1);
        let mut t = ProverTranscript::new(&ds);
        let instance = LookupInstance { table: &table, columns: lookup, multiplicities: &m };
        let first = table.first_row();
        let held = [(&instance, first.as_slice())];
        prove_filled_with_roots(&held[..], &mut t, |challenges, roots| {
            let (alpha, beta) = challenges[0];
            let pad_q = alpha - compress(beta, first.iter().map(|&x| lift(x)));
            let (mut p, mut q) = (EF::ZERO, EF::ONE);
            for &(pw, qw) in &roots[..layout.len()] {
                (p, q) = (p * qw + pw * q, q * qw);
            }
            let uncovered: u64 = layout.iter().map(|tree| tree.uncovered() as u64).sum();
            (p, q) = (p * pad_q - EF::from_u64(uncovered) * q, q * pad_q);
            roots[layout.len()] = (p, q);
        })
        .expect("the cheating prover runs");
        let proof = t.into_proof();
        let mut vt = VerifierTranscript::new(&ds, &proof);
        match verify_lookup(&table, &lens, &mut vt) {
            Err(LookupError::FracAdd(FracAddError::LayerMismatch { .. })) => {}
            Ok(claims) => {
                let mle = |values: &[F], point: &[EF]| zero_padded_eval(&zkinfer_poly::eq_evals(point), values);
                let true_claims = columns.iter().zip(&claims.columns).all(|(c, claim)| mle(c, &claim.point) == claim.values[0])
                    && mle(&m, &claims.multiplicities.point) == claims.multiplicities.value;
                panic!("a row outside the table accepted (every claim true: {true_claims})");
            }
            Err(e) => panic!("rejected, but not by the GKR: {e}"),
        }
    }

    /// `m` over the rows that are in the table (column padding counted at row 0).
    fn in_table_counts(table: &Table, columns: &[Vec<F>]) -> Vec<F> {
        let mut counts = vec![F::ZERO; table.padded_len()];
        for col in columns {
            for &x in col {
                if let Some(j) = table.row_index(&[x]) {
                    counts[j] += F::ONE;
                }
            }
            counts[0] += F::from_u64(((1usize << next_pow2_vars(col.len())) - col.len()) as u64);
        }
        counts
    }

    /// A cheating prover fills the uncovered leaf with another table row and shifts one count
    /// of `m` from row 0 to that row: the sums balance (the verifier subtracts `1/(α − t_0)`),
    /// but the verifier's own `t_0·tail_used(r)` term in the leaf check catches it: either the
    /// leaf check fails or (the prover derives one column value from the leaf claim) that
    /// column's claim contradicts the committed column. Counting
    /// honest `t_0` fillers in `m_0` instead breaks the sums (the verifier subtracts them).
    #[test]
    fn uncovered_leaves_must_hold_the_first_row_and_stay_uncounted() {
        let (table, columns) = range_setup();
        let lookup: Vec<LookupColumn<'_>> =
            columns.iter().map(|c| LookupColumn::single(c)).collect();
        let m = compute_multiplicities(&table, &lookup).expect("in table");
        let first = table.first_row();
        prove_and_verify(&table, &columns, &m, &first).expect("honest proof verifies");

        let mut counted = m.clone();
        assert_ne!(counted[0], F::ZERO);
        counted[5] += F::ONE;
        counted[0] -= F::ONE;
        assert!(matches!(
            prove_and_verify(&table, &columns, &counted, &[F::from_u64(5)]),
            Err(Ok(LookupError::LeafMismatch(_)) | Err("column"))
        ));
        let mut counted_first = m.clone();
        counted_first[0] += F::ONE;
        assert_eq!(
            prove_and_verify(&table, &columns, &counted_first, &first),
            Err(Ok(LookupError::SumsDiffer))
        );
    }
}
