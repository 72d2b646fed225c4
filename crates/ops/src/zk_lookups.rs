//! The graph's lookup phase in zero knowledge (issue 13; `docs/SECURITY.md`, "The graph proof in
//! zero knowledge: design", choke point 4). **Not called by the graph prover**, whose lookups run through one zk logUp in `crate::zk_graph`'s range phase.
//!
//! The public phase ([`crate::lookups`]) proves each group of tables ([`gkr_groups`], the same
//! memory-bounded grouping) by a logUp-GKR that sends its trees' roots, every layer's values and
//! the columns' evaluations in clear — 58 584 of the tiny GPT-2 graph proof's 84 696 bytes
//! (`tests/zk_inventory.rs`). Here each group is one zero-knowledge logUp
//! ([`zkinfer_lookup::zk_logup::prove_lookups_zk`]): one tree per group with its own blinding
//! block (a group's root is revealed blinded, never a function of the witness), masked layer
//! sumchecks, Libra-masked layer values, and claims on the *randomised extensions* of the
//! committed columns, the multiplicities, the blinding table and the GKR's mask tables.
//!
//! What the caller commits per group, in one hiding batch with the rest of the witness (the
//! polynomials named by [`ZkLookupPoly`], instance = the statement's index inside its group):
//! every looked-up column component zero-padded to `2^{max(v, 5)}` rows
//! ([`zkinfer_lookup::zk_logup::zk_committed_column`] — a column shorter than 32 rows is committed
//! longer than in public mode), the zk multiplicities ([`zk_multiplicities`]: the public count plus
//! the extra padding rows, which are zero), and [`ZkLookupMasks::tables`] of the group's masks
//! (sampled by the caller with [`ZkLookupMasks::sample_batch`] over [`zk_group_statements`]).
//!
//! **Soundness** is the zk logUp's (`docs/SECURITY.md`, "Zero-knowledge logUp") per group, plus the
//! openings; a column that is looked up in several tables is a column of each statement, as in
//! public mode. **Zero knowledge** per group as there (HVZK, statistical given the hiding
//! commitment); groups use independent masks. Leaks: the tables, the column lengths, the grouping.

use std::ops::Range;

use zkinfer_field::{EF, F};
use zkinfer_lookup::zk_logup::{ZkHidden, ZkLookupClaims, ZkLookupMasks, ZkLookupPoly, compute_multiplicities_zk, prove_lookups_zk as prove_group, verify_lookups_zk as verify_group};
use zkinfer_lookup::{LookupColumn, LookupInstance, Table};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::error::ProofError;
use crate::lookups::{column_lens, decls_of, gkr_groups};
use crate::witness::{ColumnId, WitnessBuilder, WitnessPlan, table_key};

/// Per GKR group ([`gkr_groups`]): its range of statements (indices into
/// [`WitnessPlan::multiplicities`]) and, per statement, its table and column lengths — what
/// [`ZkLookupMasks::sample_batch`] takes.
pub fn zk_group_statements(plan: &WitnessPlan) -> Vec<(Range<usize>, Vec<(&Table, Vec<usize>)>)> {
    let tables = plan.multiplicities();
    gkr_groups(plan)
        .into_iter()
        .map(|group| {
            let statements = group.clone().map(|i| (plan.table(tables[i].0), column_lens(plan, i))).collect();
            (group, statements)
        })
        .collect()
}

/// The witness columns of statement `i`, per column its components, in declaration order.
pub fn statement_columns(plan: &WitnessPlan, i: usize) -> Vec<Vec<ColumnId>> {
    decls_of(plan, i).iter().map(|d| d.columns.clone()).collect()
}

/// The zk multiplicity column of statement `i` (the polynomial `Multiplicities` the caller
/// commits): [`compute_multiplicities_zk`] over the statement's committed columns.
pub fn zk_multiplicities(w: &WitnessBuilder, i: usize) -> Result<Vec<F>, ProofError> {
    let plan = w.plan();
    let table = plan.table(plan.multiplicities()[i].0);
    let values: Vec<Vec<std::borrow::Cow<'_, [F]>>> = statement_columns(plan, i).iter().map(|c| c.iter().map(|&k| w.values(k)).collect()).collect();
    let columns: Vec<LookupColumn<'_>> = values.iter().map(|c| LookupColumn { components: c.iter().map(|v| &**v).collect() }).collect();
    compute_multiplicities_zk(table, &columns).map_err(|e| ProofError::Lookup { table: table_key(table), msg: e.to_string() })
}

/// `M(z_{<μ})` of the caller's hiding commitment for polynomial `poly` of group `g` at `z`.
pub type ZkGroupHidden<'a> = &'a (dyn Fn(usize, ZkLookupPoly, &[EF]) -> EF + Sync);

/// Prover: one zero-knowledge logUp per group, with the caller's masks (`masks[g]`, sampled over
/// `zk_group_statements(plan)[g]`) and zk multiplicities (`multiplicities[i]` per statement, from
/// [`zk_multiplicities`]). Precondition: the hiding commitment of everything the module docs list
/// is absorbed into `t`. Returns per group the claims to open against it.
pub fn prove_lookups_zk(
    w: &WitnessBuilder,
    masks: &[ZkLookupMasks],
    multiplicities: &[Vec<F>],
    hidden: ZkGroupHidden<'_>,
    t: &mut ProverTranscript,
) -> Result<Vec<ZkLookupClaims>, ProofError> {
    let plan = w.plan();
    let tables = plan.multiplicities();
    let groups = gkr_groups(plan);
    if masks.len() != groups.len() || multiplicities.len() != tables.len() {
        return Err(ProofError::witness("zk lookups", format!("{} mask sets for {} groups, {} multiplicity columns for {} statements", masks.len(), groups.len(), multiplicities.len(), tables.len())));
    }
    let mut out = Vec::with_capacity(groups.len());
    for (g, group) in groups.into_iter().enumerate() {
        let values: Vec<Vec<Vec<std::borrow::Cow<'_, [F]>>>> =
            group.clone().map(|i| statement_columns(plan, i).iter().map(|c| c.iter().map(|&k| w.values(k)).collect()).collect()).collect();
        let instances: Vec<LookupInstance<'_>> = group
            .clone()
            .zip(&values)
            .map(|(i, columns)| LookupInstance {
                table: plan.table(tables[i].0),
                columns: columns.iter().map(|c| LookupColumn { components: c.iter().map(|v| &**v).collect() }).collect(),
                multiplicities: &multiplicities[i],
            })
            .collect();
        let hide = |poly: ZkLookupPoly, z: &[EF]| hidden(g, poly, z);
        let hide: ZkHidden<'_> = &hide;
        out.push(prove_group(&instances, &masks[g], hide, t).map_err(|e| group_err(plan, group.clone(), e))?);
    }
    Ok(out)
}

/// Verifier side of [`prove_lookups_zk`]: the claims per group, equal to the prover's; the caller
/// opens them against the hiding commitment.
pub fn verify_lookups_zk(plan: &WitnessPlan, t: &mut VerifierTranscript<'_>) -> Result<Vec<ZkLookupClaims>, ProofError> {
    zk_group_statements(plan)
        .into_iter()
        .map(|(group, statements)| {
            let refs: Vec<(&Table, &[usize])> = statements.iter().map(|(table, lens)| (*table, lens.as_slice())).collect();
            verify_group(&refs, t).map_err(|e| group_err(plan, group, e))
        })
        .collect()
}

fn group_err(plan: &WitnessPlan, group: Range<usize>, e: impl std::fmt::Display) -> ProofError {
    let tables: Vec<String> = plan.multiplicities()[group].iter().map(|&(id, _)| table_key(plan.table(id))).collect();
    ProofError::Lookup { table: tables.join(","), msg: format!("zk: {e}") }
}
