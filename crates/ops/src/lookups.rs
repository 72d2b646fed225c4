//! Hook-up of the declared lookups to logUp-GKR (crate `zkinfer-lookup`).
//!
//! After the witness commitment, every table with at least one lookup gets ONE logUp-GKR
//! instance over all the columns looking into it and its shared multiplicity column (committed
//! with the rest of the witness). The resulting claims on those columns — one point per column,
//! one value per component — and on the multiplicity column go to the witness accumulator.

use zkinfer_field::F;
use zkinfer_lookup::{LookupColumn, Table, compute_multiplicities, prove_lookup, verify_lookup};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Accumulators;
use crate::error::ProofError;
use crate::witness::{LookupDecl, TableId, WitnessBuilder, WitnessPlan, table_key};

fn lookup_err(table: &Table, e: impl std::fmt::Display) -> ProofError {
    ProofError::Lookup { table: table_key(table), msg: e.to_string() }
}

fn decls_of(plan: &WitnessPlan, table: TableId) -> Vec<&LookupDecl> {
    plan.lookups().iter().filter(|l| l.table == table).collect()
}

/// The multiplicity column of `table` over the given columns (each `arity` equal-length
/// component slices). Fails if a row is not in the table.
pub fn multiplicities(table: &Table, lookups: &[Vec<&[F]>]) -> Result<Vec<F>, ProofError> {
    let columns: Vec<LookupColumn<'_>> = lookups.iter().map(|c| LookupColumn { components: c.clone() }).collect();
    compute_multiplicities(table, &columns).map_err(|e| lookup_err(table, e))
}

/// Prover: one logUp-GKR per used table; claims go to the witness accumulator.
pub fn prove_lookups(w: &WitnessBuilder, t: &mut ProverTranscript, acc: &mut Accumulators) -> Result<(), ProofError> {
    let plan = w.plan();
    for &(table_id, mult_col) in plan.multiplicities() {
        let table = plan.table(table_id);
        let decls = decls_of(plan, table_id);
        let columns: Vec<LookupColumn<'_>> = decls
            .iter()
            .map(|d| LookupColumn { components: d.columns.iter().map(|c| w.values(*c)).collect() })
            .collect();
        let claims = prove_lookup(table, &columns, w.values(mult_col), t).map_err(|e| lookup_err(table, e))?;
        record(&decls, mult_col.0, claims, acc);
    }
    Ok(())
}

/// Verifier side of [`prove_lookups`].
pub fn verify_lookups(plan: &WitnessPlan, t: &mut VerifierTranscript<'_>, acc: &mut Accumulators) -> Result<(), ProofError> {
    for &(table_id, mult_col) in plan.multiplicities() {
        let table = plan.table(table_id);
        let decls = decls_of(plan, table_id);
        let lens: Vec<usize> = decls.iter().map(|d| 1usize << plan.num_vars(d.columns[0])).collect();
        let claims = verify_lookup(table, &lens, t).map_err(|e| lookup_err(table, e))?;
        record(&decls, mult_col.0, claims, acc);
    }
    Ok(())
}

fn record(decls: &[&LookupDecl], mult_col: usize, claims: zkinfer_lookup::LookupClaims, acc: &mut Accumulators) {
    for (d, c) in decls.iter().zip(claims.columns) {
        for (col, value) in d.columns.iter().zip(c.values) {
            acc.witness.push(col.0, c.point.clone(), value);
        }
    }
    acc.witness.push(mult_col, claims.multiplicities.point, claims.multiplicities.value);
}
