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
//! proven by [`crate::fracaddcheck`] over `K + 1` trees: tree `k` has leaves
//! `1/(α − w_{k,i})`, the table tree has leaves `m_j/(α − t_j)`. The verifier checks that the
//! roots cancel — `P_W·q_T = p_T·Q_W` with `P_W/Q_W` the sum of the witness roots and
//! `Q_W ≠ 0 ≠ q_T` — and then the leaf claims at each tree's final point `r`:
//!
//! * witness tree `k`: numerator `= 1`, denominator `= α − Σ_c β^c·(ĉ_{k,c}(r) + t_{0,c}·tail(r))`
//!   where `ĉ_{k,c}(r)` is sent by the prover — the MLE of component `c` of column `k` padded
//!   with **zeros** — and `tail(r) = Σ_{i ≥ n_k} eq(r, i)` converts it to the `t_0`-padding;
//! * table tree: numerator `= m̂(r)` (sent), denominator `= α − Σ_c β^c·T̂_c(r)` (computed by the
//!   verifier, [`Table::evaluate_mle`]).
//!
//! The `ĉ_{k,c}(r)` and `m̂(r)` are returned as [`LookupClaims`]: the caller must check them
//! against its commitments (opening accumulator). Soundness needs the columns and `m` fixed
//! before `β, α` are drawn, so **the caller must absorb their commitments into the transcript
//! before calling [`prove_lookup`] / [`verify_lookup`]**.
//!
//! **Soundness error.** `(N + 2^κ)/|EF|` for `α` (N = total padded lookups),
//! `N·2^κ/|EF|` for `β` (function tables), plus the GKR's `≈ 1.5·v²/|EF|` (`v` the deepest
//! tree's depth, [`crate::fracaddcheck`]), with `|EF| ≈ 2^192`. The field characteristic must exceed the
//! number of lookups (multiplicities are counted mod p); `N < 2^40` is enforced.

use p3_field::{Field, PrimeCharacteristicRing};
use rayon::prelude::*;
use zkinfer_field::{EF, F, lift};
use zkinfer_poly::{eq_evals, next_pow2_vars};
use zkinfer_transcript::{ProverTranscript, Transcript, TranscriptError, VerifierTranscript};

use crate::fracaddcheck::{
    self, Denominators, FracAddError, FractionLeaves, MAX_DEPTH, Numerators,
};
use crate::table::{Table, tail_eq_sum};

/// Label under which the statement (table descriptor and column lengths) is absorbed.
const STATEMENT_LABEL: &str = "zkinfer/logup/v1";

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

fn check_shapes(table: &Table, lens: &[usize]) -> Result<(), LookupError> {
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

fn check_columns(table: &Table, columns: &[LookupColumn<'_>]) -> Result<(), LookupError> {
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

/// The multiplicity column: `m_j` = number of rows (including each column's padding rows, which
/// repeat the table's first row) equal to table row `j`, counted at the first occurrence of a
/// repeated row. Fails with [`LookupError::NotInTable`] if some row is not in the table.
pub fn compute_multiplicities(
    table: &Table,
    columns: &[LookupColumn<'_>],
) -> Result<Vec<F>, LookupError> {
    check_columns(table, columns)?;
    let mut counts = vec![0u64; table.padded_len()];
    for (k, col) in columns.iter().enumerate() {
        let rows: Vec<u32> = (0..col.len())
            .into_par_iter()
            .with_min_len(1 << 12)
            .map(|i| {
                let found = match col.components[..] {
                    [x] => table.row_index(&[x[i]]),
                    [x, y] => table.row_index(&[x[i], y[i]]),
                    _ => None,
                };
                found
                    .map(|j| j as u32)
                    .ok_or(LookupError::NotInTable { column: k, row: i })
            })
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
fn compress(beta: EF, xs: impl DoubleEndedIterator<Item = EF>) -> EF {
    xs.rev().fold(EF::ZERO, |acc, x| acc * beta + x)
}

/// `Σ_{i < values.len()} eq[i]·values[i]`: the MLE of `values` padded with zeros.
fn zero_padded_eval(eq: &[EF], values: &[F]) -> EF {
    eq.par_iter()
        .with_min_len(1 << 14)
        .zip(values)
        .map(|(&e, &v)| e * v)
        .sum()
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
    check_columns(table, columns)?;
    if multiplicities.len() != table.padded_len() {
        return Err(LookupError::MultiplicityLength {
            got: multiplicities.len(),
            want: table.padded_len(),
        });
    }
    let lens: Vec<usize> = columns.iter().map(LookupColumn::len).collect();
    let (beta, alpha) = statement_challenges(t, table, &lens);
    let first_row = table.first_row();
    let pad_w = compress(beta, first_row.iter().map(|&x| lift(x)));

    let mut trees: Vec<FractionLeaves> = columns
        .iter()
        .map(|col| {
            let padded = 1usize << next_pow2_vars(col.len());
            let denominators = if let [values] = col.components[..] {
                // One component: denominators α − w with w in the base field (fast path).
                let mut values = values.to_vec();
                values.resize(padded, first_row[0]);
                Denominators::Shifted {
                    shift: alpha,
                    values,
                }
            } else {
                let mut q: Vec<EF> = (0..col.len())
                    .into_par_iter()
                    .with_min_len(1 << 12)
                    .map(|i| alpha - compress(beta, col.components.iter().map(|c| lift(c[i]))))
                    .collect();
                q.resize(padded, alpha - pad_w);
                Denominators::Values(q)
            };
            FractionLeaves {
                numerators: Numerators::Ones,
                denominators,
            }
        })
        .collect();
    let table_components: Vec<Vec<F>> = (0..table.arity())
        .map(|c| table.padded_component(c))
        .collect();
    let table_q: Vec<EF> = (0..table.padded_len())
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|j| alpha - compress(beta, table_components.iter().map(|c| lift(c[j]))))
        .collect();
    trees.push(FractionLeaves {
        numerators: Numerators::Values(multiplicities.iter().map(|&m| lift(m)).collect()),
        denominators: Denominators::Values(table_q),
    });

    let out = fracaddcheck::prove(trees, t);

    // The claimed column values. The GKR's leaf claim already gives the compressed padded row
    // `w(r) = α − q(r)`, so only components 1.. are evaluated (one eq table per depth; trees
    // of equal depth share their point) and component 0 follows from `w(r)`.
    let mut eq_by_depth: Vec<Option<Vec<EF>>> = vec![None; MAX_DEPTH + 1];
    let mut column_claims = Vec::with_capacity(columns.len());
    for (col, leaf) in columns.iter().zip(&out.leaves) {
        let tail = tail_eq_sum(&leaf.point, col.len());
        let mut values = vec![EF::ZERO; col.components.len()];
        let mut rest = EF::ZERO; // Σ_{c ≥ 1} β^c·(padded component c)(r)
        if col.components.len() > 1 {
            let eq = eq_by_depth[leaf.point.len()].get_or_insert_with(|| eq_evals(&leaf.point));
            let mut beta_pow = EF::ONE;
            for c in 1..col.components.len() {
                values[c] = zero_padded_eval(eq, col.components[c]);
                beta_pow *= beta;
                rest += beta_pow * (values[c] + tail * first_row[c]);
            }
        }
        values[0] = alpha - leaf.denominator - rest - tail * first_row[0];
        t.send_exts(&values);
        column_claims.push(ColumnClaim {
            point: leaf.point.clone(),
            values,
        });
    }
    let (table_leaf, m_value) = out
        .leaves
        .last()
        .map(|l| (l.point.clone(), l.numerator))
        .unwrap_or_default();
    t.send_ext(m_value);
    Ok(LookupClaims {
        columns: column_claims,
        multiplicities: MultiplicityClaim {
            point: table_leaf,
            value: m_value,
        },
    })
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
    check_shapes(table, column_lens)?;
    let (beta, alpha) = statement_challenges(t, table, column_lens);
    let mut depths: Vec<usize> = column_lens.iter().map(|&n| next_pow2_vars(n)).collect();
    depths.push(table.num_vars());
    let out = fracaddcheck::verify(&depths, t)?;

    // The roots: Σ_k p_k/q_k (witness) must equal p_T/q_T (table).
    let (witness_roots, table_root) = out.roots.split_at(column_lens.len());
    let (mut p_w, mut q_w) = (EF::ZERO, EF::ONE);
    for &(p, q) in witness_roots {
        (p_w, q_w) = (p_w * q + p * q_w, q_w * q);
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

    // The witness leaves.
    let first_row: Vec<EF> = table.first_row().into_iter().map(lift).collect();
    let mut column_claims = Vec::with_capacity(column_lens.len());
    for (k, (&n, leaf)) in column_lens.iter().zip(&out.leaves).enumerate() {
        let values = t.receive_exts(table.arity())?;
        let tail = tail_eq_sum(&leaf.point, n);
        let padded = values
            .iter()
            .zip(&first_row)
            .map(|(&v, &pad)| v + pad * tail);
        let w: Vec<EF> = padded.collect();
        if leaf.numerator != EF::ONE || leaf.denominator != alpha - compress(beta, w.into_iter()) {
            return Err(LookupError::LeafMismatch(format!("column {k}")));
        }
        column_claims.push(ColumnClaim {
            point: leaf.point.clone(),
            values,
        });
    }

    // The table leaves.
    let table_leaf = out.leaves.last().ok_or(LookupError::SumsDiffer)?;
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
