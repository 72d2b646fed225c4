//! Hook-up of the declared lookups to logUp-GKR (crate `zkinfer-lookup`).
//!
//! After the witness commitment, every table with at least one lookup gets one logUp statement
//! over all the columns looking into it and its shared multiplicity column (committed with the
//! rest of the witness); the statements share one fraction-sum GKR
//! ([`zkinfer_lookup::prove_lookups`]) per group of tables of at most [`gkr_leaf_budget`] leaves
//! (memory bound; one group for GPT-2 small at 32 tokens). The resulting claims on those columns — one point per column,
//! one value per component — and on the multiplicity column go to the witness accumulator.

use zkinfer_field::{F, PrimeCharacteristicRing};
use zkinfer_lookup::{LookupColumn, Table, compute_multiplicities};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::context::Accumulators;
use crate::error::ProofError;
use crate::witness::{LookupDecl, TableId, WitnessBuilder, WitnessPlan, table_key};

fn lookup_err(table: &Table, e: impl std::fmt::Display) -> ProofError {
    ProofError::Lookup { table: table_key(table), msg: e.to_string() }
}

/// The lookups of logUp statement `i` ([`WitnessPlan::multiplicities`]).
pub(crate) fn decls_of(plan: &WitnessPlan, i: usize) -> Vec<&LookupDecl> {
    plan.statement_lookups(i)
}

/// The (padded) lengths of the columns of statement `i`, in declaration order.
pub(crate) fn column_lens(plan: &WitnessPlan, i: usize) -> Vec<usize> {
    decls_of(plan, i).iter().map(|d| 1usize << plan.num_vars(d.columns[0])).collect()
}

/// The multiplicity column of `table` over the given columns (each `arity` equal-length
/// component slices). Fails if a row is not in the table.
pub fn multiplicities(table: &Table, lookups: &[Vec<&[F]>]) -> Result<Vec<F>, ProofError> {
    let columns: Vec<LookupColumn<'_>> = lookups.iter().map(|c| LookupColumn { components: c.clone() }).collect();
    compute_multiplicities(table, &columns).map_err(|e| lookup_err(table, e))
}

/// [`multiplicities`] counting only the looked-up rows that are in the table (a malicious
/// prover's: the others are left out, so the logUp sums differ and the verifier rejects).
pub(crate) fn multiplicities_of_rows_in_table(table: &Table, lookups: &[Vec<&[F]>]) -> Vec<F> {
    let mut counts = vec![0u64; table.padded_len()];
    for col in lookups {
        let len = col.first().map_or(0, |c| c.len());
        for i in 0..len {
            let row: Vec<F> = col.iter().map(|c| c[i]).collect();
            if let Some(j) = table.row_index(&row) {
                counts[j] += 1;
            }
        }
        counts[0] += (len.next_power_of_two() - len) as u64;
    }
    counts.into_iter().map(F::from_u64).collect()
}

/// Most fraction-tree leaves proven in one GKR for a large witness (more than
/// [`LARGE_LOOKUP_ROWS`] looked-up rows): tables are grouped, in plan order, until the next one
/// would pass the budget (a single larger statement is a group of its own); a table looked up by
/// more rows than the budget is split into several statements first ([`crate::witness`]). Bounds
/// the prover's memory (all trees of a group are resident together: ≈ 32 B per base-field leaf
/// at the GKR's largest step, the leaves and the layer above them, rebuilt as its two halves; the
/// group's columns are read back from the commitment to build the trees and again after the GKR,
/// not held through it: ≈ 1.1 GB at 2^25). SmolLM2 at 69 positions takes 18 GKRs (36 at
/// 2^24, whose layer sumchecks cost ≈ 13 KB of proof each).
pub const MAX_GKR_LEAVES: usize = 1 << 25;

/// The budget for a witness of at most [`LARGE_LOOKUP_ROWS`] looked-up rows: fewer GKRs, so fewer
/// statements and a smaller proof, for ≈ 3 GB transient at most (GPT-2 small at 32 tokens, 48.6M
/// looked-up rows, takes a few GKRs; the tiny fixtures one for every table).
pub const SMALL_WITNESS_GKR_LEAVES: usize = 1 << 26;

/// Witnesses with more looked-up rows than this use [`MAX_GKR_LEAVES`], smaller ones
/// [`SMALL_WITNESS_GKR_LEAVES`].
pub const LARGE_LOOKUP_ROWS: usize = 1 << 27;

/// The GKR leaf budget of a witness with `looked_up_rows` rows looked up in total (padded column
/// lengths): a deterministic function of the plan, so both sides agree.
pub fn gkr_leaf_budget(looked_up_rows: usize) -> usize {
    if looked_up_rows > LARGE_LOOKUP_ROWS { MAX_GKR_LEAVES } else { SMALL_WITNESS_GKR_LEAVES }
}

/// The groups of `plan.multiplicities()` (index ranges) proven by one GKR each; a deterministic
/// function of the plan, so both sides agree.
pub(crate) fn gkr_groups(plan: &WitnessPlan) -> Vec<std::ops::Range<usize>> {
    let leaves: Vec<usize> = plan
        .multiplicities()
        .iter()
        .enumerate()
        .map(|(i, &(table_id, _))| {
            let columns: usize = column_lens(plan, i).iter().sum();
            columns.saturating_add(plan.table(table_id).padded_len())
        })
        .collect();
    group_by_budget(&leaves, plan.gkr_budget())
}

/// The logUp statements per GKR group ([`gkr_groups`]): each statement's table and padded
/// column lengths (for cost estimates and examples).
pub fn gkr_statements(plan: &WitnessPlan) -> Vec<Vec<(&Table, Vec<usize>)>> {
    let tables = plan.multiplicities();
    gkr_groups(plan).into_iter().map(|g| g.map(|i| (plan.table(tables[i].0), column_lens(plan, i))).collect()).collect()
}

/// Consecutive groups of `sizes` whose sums stay within `budget` (an item above it alone).
pub(crate) fn group_by_budget(sizes: &[usize], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut total) = (0, 0usize);
    for (i, &n) in sizes.iter().enumerate() {
        if i > start && total.saturating_add(n) > budget {
            groups.push(start..i);
            (start, total) = (i, 0);
        }
        total = total.saturating_add(n);
    }
    if start < sizes.len() {
        groups.push(start..sizes.len());
    }
    groups
}


/// Prover: the logUp statements of every used table (one per table), their fraction-sum GKRs
/// batched per group ([`gkr_groups`]); claims go to the witness accumulator.
pub fn prove_lookups(w: &WitnessBuilder, t: &mut ProverTranscript, acc: &mut Accumulators) -> Result<(), ProofError> {
    let plan = w.plan();
    let tables = plan.multiplicities();
    for (g, group) in gkr_groups(plan).into_iter().enumerate() {
        // The group's columns, rebuilt from the commitment where it holds them, each time the
        // GKR needs them (to build its trees, then to evaluate them at their points): none is
        // resident during the GKR itself.
        let group_tables: Vec<&Table> = group.clone().map(|i| plan.table(tables[i].0)).collect();
        let load = |k: usize| {
            let i = group.start + k;
            zkinfer_lookup::LoadedLookup {
                columns: decls_of(plan, i).iter().map(|d| d.columns.iter().map(|c| w.values(*c)).collect()).collect(),
                multiplicities: w.values(tables[i].1),
            }
        };
        let claims = zkinfer_lookup::prove_lookups_reloading(&group_tables, load, t).map_err(|e| lookups_err(plan, &tables[group.clone()], e))?;
        for (i, claims) in group.zip(claims) {
            record(i, &decls_of(plan, i), tables[i].1.0, claims, acc);
        }
        zkinfer_pcs::mem_trace(&format!("lookups: GKR group {g} done"));
    }
    Ok(())
}

/// Verifier side of [`prove_lookups`].
pub fn verify_lookups(plan: &WitnessPlan, t: &mut VerifierTranscript<'_>, acc: &mut Accumulators) -> Result<(), ProofError> {
    let tables = plan.multiplicities();
    for group in gkr_groups(plan) {
        let lens: Vec<Vec<usize>> = group.clone().map(|i| column_lens(plan, i)).collect();
        let statements: Vec<(&Table, &[usize])> =
            tables[group.clone()].iter().zip(&lens).map(|(&(table_id, _), l)| (plan.table(table_id), l.as_slice())).collect();
        let claims = zkinfer_lookup::verify_lookups(&statements, t).map_err(|e| lookups_err(plan, &tables[group.clone()], e))?;
        for (i, claims) in group.zip(claims) {
            record(i, &decls_of(plan, i), tables[i].1.0, claims, acc);
        }
    }
    Ok(())
}

/// A failure of the batched lookup over the tables of one group.
fn lookups_err(plan: &WitnessPlan, group: &[(TableId, crate::witness::ColumnId)], e: impl std::fmt::Display) -> ProofError {
    let tables: Vec<String> = group.iter().map(|&(id, _)| table_key(plan.table(id))).collect();
    ProofError::Lookup { table: tables.join(","), msg: e.to_string() }
}

/// Records the claims of logUp statement `i` (on its looked-up columns and its multiplicities).
fn record(i: usize, decls: &[&LookupDecl], mult_col: usize, claims: zkinfer_lookup::LookupClaims, acc: &mut Accumulators) {
    use zkinfer_pcs::{Origin, PolyId};
    for (d, c) in decls.iter().zip(claims.columns) {
        for (col, value) in d.columns.iter().zip(c.values) {
            acc.witness.push(PolyId::Column(col.0), Origin::Lookup(i), c.point.clone(), value);
        }
    }
    acc.witness.push(PolyId::Column(mult_col), Origin::Lookup(i), claims.multiplicities.point, claims.multiplicities.value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::evaluate_column;
    use crate::witness::{ColumnId, Owner, WitnessLayout};
    use zkinfer_field::{PrimeCharacteristicRing, from_i64_unchecked};
    use zkinfer_transcript::DomainSeparator;

    /// Three columns of 2^6 rows into `Range{12}` with a statement budget of 2^7 rows: two
    /// statements (`mult:range12` over the first two columns, `mult:range12:1` over the third).
    /// Proves and verifies the lookups, then checks every resulting claim against the (possibly
    /// tampered) committed values; `tamper` edits the witness after sealing.
    fn split_round_trip(tamper: impl Fn(&mut WitnessBuilder)) -> Result<(), String> {
        let table = Table::Range { bits: 12 };
        let values = |seed: i64| -> Vec<F> { (0..64).map(|i| from_i64_unchecked((i * 977 + seed) % 4096)).collect() };
        let mut w = WitnessBuilder::new();
        w.plan.statement_rows = Some(1 << 7);
        w.plan.set_owner(Owner::Node(0));
        for (k, seed) in [1, 2, 3].into_iter().enumerate() {
            let c = w.commit(&format!("c{k}"), values(seed)).map_err(|e| e.to_string())?;
            w.lookup(&table, &[c]).map_err(|e| e.to_string())?;
        }
        w.seal().map_err(|e| e.to_string())?;
        let names: Vec<&str> = w.plan().multiplicities().iter().map(|&(_, c)| w.plan().columns()[c.0].name.as_str()).collect();
        assert_eq!(names, ["mult:range12", "mult:range12:1"]);
        tamper(&mut w);
        let ds = DomainSeparator::new("zkinfer-ops/lookup-split-test", 1);
        let mut pt = ProverTranscript::new(&ds);
        let mut acc = Accumulators::default();
        prove_lookups(&w, &mut pt, &mut acc).map_err(|e| e.to_string())?;
        let proof = pt.into_proof();

        let mut l = WitnessLayout::new();
        l.plan.statement_rows = Some(1 << 7);
        l.plan.set_owner(Owner::Node(0));
        for k in 0..3 {
            let c = l.commit(&format!("c{k}"), 6).map_err(|e| e.to_string())?;
            l.lookup(&table, &[c]).map_err(|e| e.to_string())?;
        }
        l.plan.seal().map_err(|e| e.to_string())?;
        let mut vt = VerifierTranscript::new(&ds, &proof);
        let mut vacc = Accumulators::default();
        verify_lookups(&l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        vt.finish().map_err(|e| e.to_string())?;
        for c in vacc.witness.claims() {
            if evaluate_column(&w.values(ColumnId(c.poly.index())), &c.point) != c.value {
                return Err(format!("false claim on column {:?}", c.poly));
            }
        }
        Ok(())
    }

    #[test]
    fn a_table_over_the_row_budget_is_split_into_statements() {
        split_round_trip(|_| ()).expect("honest split statements verify");
        // Multiplicities of one statement moved to the other (the sums over both still agree).
        assert!(
            split_round_trip(|w| {
                let (m0, m1) = (w.plan().multiplicities()[0].1, w.plan().multiplicities()[1].1);
                let i = zkinfer_field::to_i64(w.values[0][0]) as usize;
                w.values[m0.0][i] -= F::ONE;
                w.values[m1.0][i] += F::ONE;
            })
            .is_err()
        );
        // An out-of-table value in the second statement's column.
        assert!(split_round_trip(|w| w.values[2][5] = F::from_u64(4096)).is_err());
    }

    #[test]
    fn groups_are_consecutive_within_budget_and_cover_everything() {
        assert_eq!(group_by_budget(&[], 10), vec![]);
        assert_eq!(group_by_budget(&[3, 4, 3], 10), vec![0..3]);
        assert_eq!(group_by_budget(&[3, 4, 4, 2], 10), vec![0..2, 2..4]);
        // An item above the budget is a group of its own.
        assert_eq!(group_by_budget(&[2, 25, 1, 1], 10), vec![0..1, 1..2, 2..4]);
        assert_eq!(group_by_budget(&[usize::MAX, usize::MAX], 10), vec![0..1, 1..2]);
    }
}
