//! Hook-up of the declared lookups to logUp-GKR (crate `zkinfer-lookup`).
//!
//! After the witness commitment, every table with at least one lookup gets ONE logUp-GKR
//! instance over all the columns looking into it and its shared multiplicity column. The
//! resulting claims on those columns (at random points) go to the witness accumulator.

use rayon::prelude::*;
use zkinfer_field::{F, PrimeCharacteristicRing};
use zkinfer_lookup::Table;

use crate::error::ProofError;
use crate::witness::table_key;

/// Entries per parallel multiplicity task.
const MULT_CHUNK: usize = 1 << 14;

/// Multiplicity of every table row among the rows of `lookups` (each a list of `arity` equal-length
/// columns), as a column of the table's padded length. Fails if a row is not in the table.
pub fn multiplicities(table: &Table, lookups: &[Vec<&[F]>]) -> Result<Vec<F>, ProofError> {
    let padded = table.padded_len();
    let mut counts = vec![0u64; padded];
    for cols in lookups {
        let n = cols.first().map_or(0, |c| c.len());
        let partial: Result<Vec<u64>, ProofError> = (0..n)
            .into_par_iter()
            .step_by(MULT_CHUNK)
            .map(|start| {
                let mut local = vec![0u64; padded];
                let mut row = vec![F::ZERO; cols.len()];
                for i in start..(start + MULT_CHUNK).min(n) {
                    for (r, c) in row.iter_mut().zip(cols) {
                        *r = c[i];
                    }
                    let j = table.row_index(&row).ok_or_else(|| ProofError::Lookup {
                        table: table_key(table),
                        msg: format!("row {i} = {row:?} is not in the table"),
                    })?;
                    local[j] += 1;
                }
                Ok(local)
            })
            .try_reduce(
                || vec![0u64; padded],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    Ok(a)
                },
            );
        for (c, p) in counts.iter_mut().zip(partial?) {
            *c += p;
        }
    }
    Ok(counts.into_iter().map(F::from_u64).collect())
}
