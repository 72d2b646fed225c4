//! Hook-up of the declared lookups to logUp-GKR (crate `zkinfer-lookup`).
//!
//! After the witness commitment, every table with at least one lookup gets one logUp statement
//! over all the columns looking into it and its shared multiplicity column (committed with the
//! rest of the witness); all statements share ONE fraction-sum GKR
//! ([`zkinfer_lookup::prove_lookups`]). The resulting claims on those columns — one point per column,
//! one value per component — and on the multiplicity column go to the witness accumulator.

use zkinfer_field::F;
use zkinfer_lookup::{LookupColumn, LookupInstance, Table, compute_multiplicities};
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

/// Prover: one logUp-GKR over every used table (one statement per table, all trees in one
/// fraction-sum GKR); claims go to the witness accumulator.
pub fn prove_lookups(w: &WitnessBuilder, t: &mut ProverTranscript, acc: &mut Accumulators) -> Result<(), ProofError> {
    let plan = w.plan();
    let instances: Vec<LookupInstance<'_>> = plan
        .multiplicities()
        .iter()
        .map(|&(table_id, mult_col)| LookupInstance {
            table: plan.table(table_id),
            columns: decls_of(plan, table_id)
                .iter()
                .map(|d| LookupColumn { components: d.columns.iter().map(|c| w.values(*c)).collect() })
                .collect(),
            multiplicities: w.values(mult_col),
        })
        .collect();
    let claims = zkinfer_lookup::prove_lookups(&instances, t).map_err(|e| lookups_err(plan, e))?;
    for (&(table_id, mult_col), claims) in plan.multiplicities().iter().zip(claims) {
        record(&decls_of(plan, table_id), mult_col.0, claims, acc);
    }
    Ok(())
}

/// Verifier side of [`prove_lookups`].
pub fn verify_lookups(plan: &WitnessPlan, t: &mut VerifierTranscript<'_>, acc: &mut Accumulators) -> Result<(), ProofError> {
    let lens: Vec<Vec<usize>> = plan
        .multiplicities()
        .iter()
        .map(|&(table_id, _)| decls_of(plan, table_id).iter().map(|d| 1usize << plan.num_vars(d.columns[0])).collect())
        .collect();
    let statements: Vec<(&Table, &[usize])> =
        plan.multiplicities().iter().zip(&lens).map(|(&(table_id, _), l)| (plan.table(table_id), l.as_slice())).collect();
    let claims = zkinfer_lookup::verify_lookups(&statements, t).map_err(|e| lookups_err(plan, e))?;
    for (&(table_id, mult_col), claims) in plan.multiplicities().iter().zip(claims) {
        record(&decls_of(plan, table_id), mult_col.0, claims, acc);
    }
    Ok(())
}

/// A failure of the batched lookup over every table of `plan`.
fn lookups_err(plan: &WitnessPlan, e: impl std::fmt::Display) -> ProofError {
    let tables: Vec<String> = plan.multiplicities().iter().map(|&(id, _)| table_key(plan.table(id))).collect();
    ProofError::Lookup { table: tables.join(","), msg: e.to_string() }
}

fn record(decls: &[&LookupDecl], mult_col: usize, claims: zkinfer_lookup::LookupClaims, acc: &mut Accumulators) {
    for (d, c) in decls.iter().zip(claims.columns) {
        for (col, value) in d.columns.iter().zip(c.values) {
            acc.witness.push(col.0, c.point.clone(), value);
        }
    }
    acc.witness.push(mult_col, claims.multiplicities.point, claims.multiplicities.value);
}
