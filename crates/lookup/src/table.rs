//! Lookup tables and their multilinear extensions.
//!
//! A table is a public list of rows, each row a tuple of [`Table::arity`] field elements. It is
//! padded to a power of two, [`Table::padded_len`], by repeating its **first row**; the padding
//! rows always get multiplicity 0 (every lookup of a row is counted at its first occurrence), so
//! padding never changes the set of rows.
//!
//! The verifier evaluates the table's multilinear extension itself, component by component
//! ([`Table::evaluate_mle`]):
//!
//! * `Range { bits: k }` — rows `0, 1, …, 2^k − 1`; with the MSB-first index
//!   `j = Σ_i x_i·2^(k−1−i)` the MLE is `T(x) = Σ_i 2^(k−1−i)·x_i`: `O(k)` field operations.
//! * `Function` — explicit `(input, output)` columns of at most [`MAX_FUNCTION_TABLE_ROWS`] rows:
//!   `T_c(r) = Σ_j eq(r, j)·T_c[j]`, which costs one eq table (`2^k` extension multiplications)
//!   and two inner products: about 3 ms for `2^16` rows on one core.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use zkinfer_field::{EF, F, from_i64, to_i64};
use zkinfer_poly::eq_evals;

use crate::logup::LookupError;

/// Largest `k` accepted for a range table `[0, 2^k)` (the multiplicity column has `2^k` entries).
pub const MAX_RANGE_BITS: u32 = 28;
/// Largest number of rows of a function table (the verifier evaluates its MLE in `O(rows)`).
pub const MAX_FUNCTION_TABLE_ROWS: usize = 1 << 16;

/// A public lookup table.
#[derive(Debug, Clone)]
pub enum Table {
    /// The integers `0, 1, …, 2^bits − 1` (one component). `bits ≤ MAX_RANGE_BITS`.
    Range {
        /// Number of bits: the table has `2^bits` rows.
        bits: u32,
    },
    /// Rows `(inputs[j], outputs[j])` (two components), e.g. a quantised GELU or exp.
    Function(Arc<FunctionTable>),
}

/// An explicit table of `(input, output)` pairs. Build it with [`Table::function`].
#[derive(Debug)]
pub struct FunctionTable {
    name: String,
    inputs: Vec<F>,
    outputs: Vec<F>,
    /// [`FunctionTable::digest`], computed once at construction.
    digest: [u8; 32],
    /// `Some(s)` when `inputs[j] = s + j` for every row: rows are then found by subtraction.
    contiguous_start: Option<i64>,
    /// Row of the first occurrence of each `(input, output)`, built on first use by the prover.
    index: OnceLock<HashMap<(u64, u64), u32>>,
}

impl FunctionTable {
    /// The table's name (it is absorbed into the transcript).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// BLAKE3 of the table's name and every row (canonical field values, little-endian), under
    /// the domain `zkinfer/lookup-table/v1`. It is part of the table's descriptor, so
    /// the transcript binds the table's contents, not only its name and length: two tables that
    /// share a name but differ in one row have different identities.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// The input column (unpadded).
    pub fn inputs(&self) -> &[F] {
        &self.inputs
    }

    /// The output column (unpadded).
    pub fn outputs(&self) -> &[F] {
        &self.outputs
    }

    fn row_index(&self, x: F, y: F) -> Option<usize> {
        if let Some(start) = self.contiguous_start {
            let offset = (to_i64(x) as i128) - (start as i128);
            if offset < 0 || offset >= self.inputs.len() as i128 {
                return None;
            }
            let j = offset as usize;
            return (self.outputs[j] == y).then_some(j);
        }
        let index = self.index.get_or_init(|| {
            let mut map = HashMap::with_capacity(self.inputs.len());
            for (j, (a, b)) in self.inputs.iter().zip(&self.outputs).enumerate() {
                map.entry((a.as_canonical_u64(), b.as_canonical_u64()))
                    .or_insert(j as u32);
            }
            map
        });
        index
            .get(&(x.as_canonical_u64(), y.as_canonical_u64()))
            .map(|&j| j as usize)
    }
}

impl Table {
    /// A function table from signed `(input, output)` columns of equal, non-zero length at most
    /// [`MAX_FUNCTION_TABLE_ROWS`]. Rows may repeat.
    pub fn function(
        name: impl Into<String>,
        inputs: &[i64],
        outputs: &[i64],
    ) -> Result<Self, LookupError> {
        let name = name.into();
        if inputs.len() != outputs.len() {
            return Err(LookupError::InvalidTable(format!(
                "table {name}: {} inputs but {} outputs",
                inputs.len(),
                outputs.len()
            )));
        }
        if inputs.is_empty() || inputs.len() > MAX_FUNCTION_TABLE_ROWS {
            return Err(LookupError::InvalidTable(format!(
                "table {name}: {} rows, expected 1..={MAX_FUNCTION_TABLE_ROWS}",
                inputs.len()
            )));
        }
        let to_field = |v: &[i64]| {
            v.iter()
                .map(|&x| {
                    from_i64(x).map_err(|e| LookupError::InvalidTable(format!("table {name}: {e}")))
                })
                .collect::<Result<Vec<F>, _>>()
        };
        let (in_f, out_f) = (to_field(inputs)?, to_field(outputs)?);
        let start = inputs[0];
        let contiguous = inputs
            .iter()
            .enumerate()
            .all(|(j, &x)| (x as i128) == (start as i128) + j as i128);
        let digest = function_digest(&name, &in_f, &out_f);
        Ok(Table::Function(Arc::new(FunctionTable {
            name,
            digest,
            inputs: in_f,
            outputs: out_f,
            contiguous_start: contiguous.then_some(start),
            index: OnceLock::new(),
        })))
    }

    /// A range table `[0, 2^bits)`.
    pub fn range(bits: u32) -> Self {
        Table::Range { bits }
    }

    /// Checks the parameters (a `Range` built by hand may have too many bits).
    pub fn validate(&self) -> Result<(), LookupError> {
        match self {
            Table::Range { bits } if *bits > MAX_RANGE_BITS => Err(LookupError::InvalidTable(
                format!("range table of {bits} bits, at most {MAX_RANGE_BITS} supported"),
            )),
            _ => Ok(()),
        }
    }

    /// Number of components of a row: 1 for ranges, 2 for function tables.
    pub fn arity(&self) -> usize {
        match self {
            Table::Range { .. } => 1,
            Table::Function(_) => 2,
        }
    }

    /// Number of rows before padding.
    pub fn len(&self) -> usize {
        match self {
            Table::Range { bits } => 1usize << bits,
            Table::Function(t) => t.inputs.len(),
        }
    }

    /// Always false: every table has at least one row.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of variables of the padded table (and of the multiplicity column).
    pub fn num_vars(&self) -> usize {
        zkinfer_poly::next_pow2_vars(self.len())
    }

    /// Length of the padded table, which is also the length of the multiplicity column.
    pub fn padded_len(&self) -> usize {
        1usize << self.num_vars()
    }

    /// The first row, used to pad tables and witness columns.
    pub fn first_row(&self) -> Vec<F> {
        match self {
            Table::Range { .. } => vec![F::ZERO],
            Table::Function(t) => vec![t.inputs[0], t.outputs[0]],
        }
    }

    /// Component `c` of every row, padded to [`Table::padded_len`] with the first row.
    pub fn padded_component(&self, c: usize) -> Vec<F> {
        let n = self.padded_len();
        match self {
            Table::Range { .. } => (0..n as u64).map(F::from_u64).collect(),
            Table::Function(t) => {
                let col = if c == 0 { &t.inputs } else { &t.outputs };
                let mut v = Vec::with_capacity(n);
                v.extend_from_slice(col);
                v.resize(n, col[0]);
                v
            }
        }
    }

    /// The row index of the first row equal to `row` (one value per component), if any.
    pub fn row_index(&self, row: &[F]) -> Option<usize> {
        match (self, row) {
            (Table::Range { bits }, [x]) => {
                let v = x.as_canonical_u64();
                (v < (1u64 << bits)).then_some(v as usize)
            }
            (Table::Function(t), [x, y]) => t.row_index(*x, *y),
            _ => None,
        }
    }

    /// The MLE of each component of the padded table at `point` (`num_vars` coordinates).
    pub fn evaluate_mle(&self, point: &[EF]) -> Result<Vec<EF>, LookupError> {
        if point.len() != self.num_vars() {
            return Err(LookupError::InvalidTable(format!(
                "table MLE point has {} coordinates, table has {} variables",
                point.len(),
                self.num_vars()
            )));
        }
        match self {
            Table::Range { .. } => {
                // T(x) = Σ_i 2^(k−1−i)·x_i, Horner from the most significant variable.
                let mut acc = EF::ZERO;
                for &x in point {
                    acc = acc.double() + x;
                }
                Ok(vec![acc])
            }
            Table::Function(t) => {
                let eq = eq_evals(point);
                let tail = tail_eq_sum(point, t.inputs.len());
                let eval = |col: &[F]| {
                    let body: EF = eq.iter().zip(col).map(|(&e, &v)| e * v).sum();
                    body + tail * col[0]
                };
                Ok(vec![eval(&t.inputs), eval(&t.outputs)])
            }
        }
    }

    /// The identity of the table's contents: for a function table its [`FunctionTable::digest`],
    /// for a range table (whose rows follow from `bits`) BLAKE3 of its descriptor.
    pub fn content_digest(&self) -> [u8; 32] {
        match self {
            Table::Range { .. } => *blake3::hash(&self.descriptor()).as_bytes(),
            Table::Function(t) => t.digest,
        }
    }

    /// Bytes identifying the table, absorbed into the transcript: the kind, the range width or
    /// the function table's name, length and content digest.
    pub(crate) fn descriptor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Table::Range { bits } => {
                out.extend_from_slice(b"range");
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Table::Function(t) => {
                out.extend_from_slice(b"function");
                out.extend_from_slice(&(t.name.len() as u64).to_le_bytes());
                out.extend_from_slice(t.name.as_bytes());
                out.extend_from_slice(&(t.inputs.len() as u64).to_le_bytes());
                out.extend_from_slice(&t.digest);
            }
        }
        out
    }
}

/// See [`FunctionTable::digest`].
fn function_digest(name: &str, inputs: &[F], outputs: &[F]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"zkinfer/lookup-table/v1");
    h.update(&(name.len() as u64).to_le_bytes());
    h.update(name.as_bytes());
    h.update(&(inputs.len() as u64).to_le_bytes());
    for (x, y) in inputs.iter().zip(outputs) {
        h.update(&x.as_canonical_u64().to_le_bytes());
        h.update(&y.as_canonical_u64().to_le_bytes());
    }
    *h.finalize().as_bytes()
}

/// `Σ_{i = len}^{2^v − 1} eq(point, i)` with `v = point.len()` and MSB-first indices: the weight
/// of the padding rows `len..2^v` in an MLE evaluation. `O(v)`.
///
/// Computed as `1 − Σ_{i < len} eq(point, i)`; the prefix sum walks the bits of `len` from the
/// top: whenever a bit of `len` is 1, every index that agrees with `len` above that bit and has a
/// 0 there is smaller, and those indices together contribute `Π_{above}(eq factors)·(1 − x_bit)`
/// (the eq factors below the bit sum to 1).
pub fn tail_eq_sum(point: &[EF], len: usize) -> EF {
    let v = point.len();
    if v >= usize::BITS as usize || len >= (1usize << v) {
        return EF::ZERO;
    }
    let mut prefix_sum = EF::ZERO;
    let mut agree = EF::ONE;
    for (k, &x) in point.iter().enumerate() {
        if (len >> (v - 1 - k)) & 1 == 1 {
            prefix_sum += agree * (EF::ONE - x);
            agree *= x;
        } else {
            agree *= EF::ONE - x;
        }
    }
    EF::ONE - prefix_sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::lift;

    fn point(n: usize, seed: u64) -> Vec<EF> {
        (0..n as u64)
            .map(|i| {
                EF::from(F::from_u64(seed * 1000 + i * 7 + 3))
                    * EF::from(F::from_u64(seed + 11)).exp_u64(3 + i)
                    + EF::from_basis_coefficients_slice(&[F::ONE, F::from_u64(i), F::TWO])
                        .unwrap_or(EF::ONE)
            })
            .collect()
    }

    use p3_field::BasedVectorSpace;

    fn brute_mle(values: &[F], point: &[EF]) -> EF {
        eq_evals(point)
            .iter()
            .zip(values)
            .map(|(&e, &v)| e * lift(v))
            .sum()
    }

    #[test]
    fn tail_sum_matches_brute_force() {
        for v in 0..6 {
            let p = point(v, 5);
            let eq = eq_evals(&p);
            for len in 0..=(1usize << v) {
                let brute: EF = eq[len..].iter().copied().sum();
                assert_eq!(tail_eq_sum(&p, len), brute, "v={v} len={len}");
            }
        }
    }

    #[test]
    fn range_mle_matches_brute_force() {
        for bits in [0u32, 1, 3, 8] {
            let t = Table::range(bits);
            let p = point(bits as usize, 9);
            let brute = brute_mle(&t.padded_component(0), &p);
            assert_eq!(t.evaluate_mle(&p).expect("point size"), vec![brute]);
        }
    }

    #[test]
    fn function_mle_includes_padding_rows() {
        // 5 rows padded to 8 with the first row.
        let t = Table::function("sq", &[-2, -1, 0, 1, 2], &[4, 1, 0, 1, 4]).expect("valid");
        assert_eq!(t.padded_len(), 8);
        let p = point(3, 2);
        let want: Vec<EF> = (0..2)
            .map(|c| brute_mle(&t.padded_component(c), &p))
            .collect();
        assert_eq!(t.evaluate_mle(&p).expect("point size"), want);
        assert!(t.evaluate_mle(&p[..2]).is_err());
    }

    #[test]
    fn row_lookup_contiguous_and_hashed() {
        let contiguous = Table::function("sq", &[-2, -1, 0, 1, 2], &[4, 1, 0, 1, 4]).expect("ok");
        let hashed = Table::function("perm", &[7, 3, 3, 9], &[1, 2, 2, 5]).expect("ok");
        let f = zkinfer_field::from_i64_unchecked;
        assert_eq!(contiguous.row_index(&[f(-1), f(1)]), Some(1));
        assert_eq!(contiguous.row_index(&[f(-1), f(4)]), None);
        assert_eq!(contiguous.row_index(&[f(3), f(9)]), None);
        assert_eq!(hashed.row_index(&[f(3), f(2)]), Some(1));
        assert_eq!(hashed.row_index(&[f(9), f(5)]), Some(3));
        assert_eq!(hashed.row_index(&[f(9), f(4)]), None);
        assert_eq!(Table::range(4).row_index(&[f(15)]), Some(15));
        assert_eq!(Table::range(4).row_index(&[f(16)]), None);
        assert_eq!(Table::range(4).row_index(&[f(-1)]), None);
    }

    #[test]
    fn tables_sharing_name_and_length_have_distinct_identities() {
        let a = Table::function("t", &[0, 1, 2], &[5, 6, 7]).expect("ok");
        let b = Table::function("t", &[0, 1, 2], &[5, 6, 8]).expect("ok");
        let b_again = Table::function("t", &[0, 1, 2], &[5, 6, 8]).expect("ok");
        let swapped = Table::function("t", &[0, 2, 1], &[5, 7, 6]).expect("ok");
        assert_ne!(a.content_digest(), b.content_digest());
        assert_ne!(a.descriptor(), b.descriptor());
        assert_ne!(a.descriptor(), swapped.descriptor(), "row order is part of the identity");
        assert_eq!(b.descriptor(), b_again.descriptor());
        assert_ne!(Table::range(3).content_digest(), Table::range(4).content_digest());
    }

    #[test]
    fn invalid_tables_are_rejected() {
        assert!(Table::function("a", &[1, 2], &[1]).is_err());
        assert!(Table::function("a", &[], &[]).is_err());
        assert!(Table::function("a", &[i64::MAX], &[0]).is_err());
        assert!(Table::range(MAX_RANGE_BITS + 1).validate().is_err());
        assert!(Table::range(MAX_RANGE_BITS).validate().is_ok());
    }
}
