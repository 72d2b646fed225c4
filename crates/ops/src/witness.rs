//! The witness: every committed column, the lookups into shared tables, and the range checks.
//!
//! Prover ([`WitnessBuilder`]) and verifier ([`WitnessLayout`]) build the same [`WitnessPlan`] —
//! the list of columns with their sizes, the lookups and the range checks — by walking the graph
//! in the same (topological) order and letting each op register the same things in the same
//! order; the prover additionally holds the values. Column ids are indices in that list, so both
//! sides agree on them by construction, and a column is found again in the proving phase by
//! `(node, name)`.
//!
//! **Lookups.** An op declares `(table, columns)`: every row of the columns (one column for a
//! range table, two for an `(x, f(x))` function table) must be a row of the table. Tables are
//! shared by name: all columns looking into one table share one multiplicity column, which the
//! framework appends to the witness after the last op (so it is committed together with the
//! rest, before any challenge). A table looked up by more than the plan's GKR budget
//! ([`crate::lookups::gkr_leaf_budget`] of all looked-up rows) in total is split into statements: its lookups, in
//! registration order, are cut into consecutive chunks of at most that many rows (a larger
//! lookup alone), and each chunk is its own logUp statement with its own multiplicity column
//! (`mult:TABLE`, then `mult:TABLE:1`, …), so no fraction-sum GKR exceeds the bound. Each
//! statement is sound on its own (every row of its columns is a table row), so the split costs
//! nothing but one more multiplicity column per chunk.
//!
//! **Range checks.** [`WitnessBuilder::range_check`] proves `v ∈ [0, 2^bits)` (or
//! `[−2^(bits−1), 2^(bits−1))` if signed) for every entry of a column, padding included. Values up
//! to 16 bits, unsigned, are looked up directly in `Range{bits}`. Otherwise `v + offset`
//! (`offset = 2^(bits−1)` if signed, else 0) is split into 16-bit limbs `l_j` (the top one
//! `bits − 16·j` wide), each limb is committed and looked up in its range table, and the framework
//! makes `v` a *virtual* column defined by `v = Σ_j 2^(16 j) · l_j − offset` (below): `v` itself is
//! not committed. Since `Σ_j 2^(16 j) l_j < 2^bits ≤ 2^63 < p`, the range follows over the
//! integers. A signed check of a zero-padded tensor whose limbs are committed as blocks of its
//! extent ([`WitnessPlan::sparse_layout`]) adds the offset on the box its blocks cover only
//! (`v + offset·χ = Σ_j 2^(16 j)·l_j`, `χ` the indicator of that box, [`RangeCheckDecl::extent`],
//! [`block_cover`]): outside the blocks the limbs are zero by the commitment itself, so `v` is zero
//! there — a stronger statement than the range —, inside them `v` is in the signed range, and the
//! limbs cost the extent's entries instead of the padded table's. The box is the blocks' cover,
//! not the logical extent: a dimension's last part is padded to a power of two (`3 → 4`,
//! `41 → 48`), so the blocks hold padding entries, where with `χ` the logical extent `v` would be
//! `Σ_j 2^(16 j)·l_j ∈ [0, 2^bits)` — outside the signed range every no-wrap argument assumes
//! (review 6: a rescale with `s + b = 63` then took `y = (p − 1)/2^s`, `r = 1` on such an entry).
//! The signed range is `[−2^(bits−1), 2^(bits−1))`: it admits `−2^(bits−1)`, one value
//! beyond the static bound `|v| < 2^(bits−1)` of the tensors it checks. Every no-wrap argument
//! takes the range as it is ([`crate::bounds::Interval::signed_range`]) and static bounds
//! inclusively, and since each relation then has exactly one solution in its range-checked box —
//! the honest value, which satisfies the strict bound — no proven value is ever `−2^(bits−1)`
//! unless the honest one is. Only if `v` is already virtual is the relation checked instead, at a random point
//! (see [`crate::claim_reduction::prove_range_relations`]; error `n/|EF|`).
//!
//! **Virtual columns.** A column may be declared an affine combination of other columns of the same
//! size, `v = Σ_j c_j·u_j + c_0` entry-wise over the whole padded table ([`AffineDef`]). Ops use
//! it like any column (the prover computes its values from its terms: held while the witness is
//! built, recomputed on demand once it is committed, [`WitnessBuilder::values`]), but it is not
//! committed: since the MLE
//! is linear, `ṽ(z) = Σ_j c_j·ũ_j(z) + c_0`, so at the end of the proof every claim on a virtual
//! column is rewritten into claims on its terms ([`crate::claim_reduction::prove_virtual_claims`]: the
//! prover sends `ũ_j(z)` for all terms but the last, whose value the verifier derives). The
//! rewriting is an equivalence, so it costs no soundness.

use std::borrow::Cow;
use std::collections::HashMap;

use p3_maybe_rayon::prelude::*;

use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked, to_i64};
use std::sync::Arc;

use zkinfer_lookup::Table;

use crate::error::ProofError;
use crate::layout::TensorLayout;

/// Index of a committed column in the witness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnId(pub usize);

/// Index of a table in the witness's table registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableId(pub usize);

/// Widest limb of a range decomposition.
pub const LIMB_BITS: u32 = 16;
/// Widest value a range check accepts (limbs must sum below `p`).
pub const MAX_RANGE_CHECK_BITS: u32 = 63;

/// Who registered a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The op of a graph node.
    Node(usize),
    /// The framework (multiplicities).
    Framework,
}

/// Size and name of one committed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Who registered it.
    pub owner: Owner,
    /// Its name within its owner.
    pub name: String,
    /// Number of variables (`2^num_vars` entries).
    pub num_vars: usize,
    /// `Some` for a virtual (uncommitted) column: its definition.
    pub definition: Option<AffineDef>,
    /// `Some(shape)` for a column laid out as a zero-padded tensor of that logical shape: only
    /// the blocks of its extent are committed ([`zkinfer_pcs::sparse`]), the rest of its table is
    /// zero by definition. `None`: the whole table is committed.
    pub dims: Option<Vec<usize>>,
}

/// A virtual column's definition `v = Σ_j c_j·u_j + c_0·χ` (entry-wise over the padded table),
/// `χ = 1` everywhere, or with [`AffineDef::extent`] the indicator of a tensor's logical extent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffineDef {
    /// `(u_j, c_j)`: columns of the same size as `v`, with their integer coefficients.
    pub terms: Vec<(ColumnId, i64)>,
    /// The constant `c_0`.
    pub constant: i64,
    /// `Some(shape)`: the constant is added on the logical extent of a zero-padded tensor of that
    /// shape only (`χ` = its indicator, whose multilinear extension [`extent_indicator`] the
    /// verifier evaluates), so that `v` is zero on the padding wherever its terms are.
    pub extent: Option<Vec<usize>>,
}

/// The multilinear extension at `z` of the indicator of the logical extent of a zero-padded
/// tensor of shape `dims` (dimension `j` has `⌈log2 d_j⌉` variables, row-major, MSB first):
/// `Π_j [i_j < d_j]`, each factor `Σ_{t: bit t of d_j is 1} Π_{s<t} eq(bit_s(d_j), z_s)·(1 − z_t)`
/// (the indices below `d_j` agree with it above some bit `t` where they have 0 and `d_j` has 1).
/// `z` must have `Σ_j ⌈log2 d_j⌉` coordinates.
pub fn extent_indicator(dims: &[usize], z: &[EF]) -> EF {
    let mut out = EF::ONE;
    let mut rest = z;
    for &d in dims {
        let k = zkinfer_poly::next_pow2_vars(d);
        let (zs, tail) = rest.split_at(k.min(rest.len()));
        rest = tail;
        if d >= 1usize << k {
            continue;
        }
        let mut prefix = EF::ONE;
        let mut lt = EF::ZERO;
        for (t, &zt) in zs.iter().enumerate() {
            let bit = (d >> (k - 1 - t)) & 1 == 1;
            if bit {
                lt += prefix * (EF::ONE - zt);
                prefix *= zt;
            } else {
                prefix *= EF::ONE - zt;
            }
        }
        out *= lt;
    }
    out
}

/// One declared lookup: every row of `columns` is a row of `table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupDecl {
    /// The table.
    pub table: TableId,
    /// The looked-up columns (`table.arity()` of them, equal sizes).
    pub columns: Vec<ColumnId>,
}

/// One range check: `column + offset = Σ_j 2^(16 j)·limbs[j]`, or a direct lookup if `limbs` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCheckDecl {
    /// The checked column.
    pub column: ColumnId,
    /// Width of the range.
    pub bits: u32,
    /// Whether the range is centred on zero.
    pub signed: bool,
    /// Limb columns, least significant first (empty: the column itself is looked up).
    pub limbs: Vec<ColumnId>,
    /// True if the limbs define the (then virtual) column; false if the relation between an
    /// already-virtual column and its limbs must be proven ([`crate::claim_reduction::prove_range_relations`]).
    pub defines_column: bool,
    /// `Some(box)` for a signed check of a zero-padded tensor whose limbs are committed as
    /// blocks of its extent: the box its blocks cover ([`block_cover`]), on which alone the offset
    /// is added (`column + offset·χ = Σ_j 2^(16 j)·limbs[j]`, `χ` the box's indicator,
    /// [`extent_indicator`]), so the limbs are zero outside the blocks like the column and the
    /// column is in the signed range on them. `None`: the offset is added everywhere.
    pub extent: Option<Vec<usize>>,
}

impl RangeCheckDecl {
    /// `2^(bits−1)` if signed, else 0.
    pub fn offset(&self) -> u64 {
        if self.signed { 1u64 << (self.bits - 1) } else { 0 }
    }

    /// The offset added at entry `index` of the padded table: [`RangeCheckDecl::offset`], or 0
    /// outside the box of a check with an [`RangeCheckDecl::extent`].
    pub fn offset_at(&self, index: usize) -> u64 {
        match &self.extent {
            Some(dims) if !TensorLayout::new(dims).in_extent(index) => 0,
            _ => self.offset(),
        }
    }
}

/// The shape-level content of the witness, identical on both sides.
#[derive(Debug, Clone, Default)]
pub struct WitnessPlan {
    columns: Vec<ColumnInfo>,
    by_name: HashMap<(Owner, String), ColumnId>,
    tables: Vec<Table>,
    table_ids: HashMap<String, TableId>,
    lookups: Vec<LookupDecl>,
    range_checks: Vec<RangeCheckDecl>,
    multiplicities: Vec<(TableId, ColumnId)>,
    /// For each entry of `multiplicities`, the indices (into `lookups`) of its statement's lookups.
    statement_lookups: Vec<Vec<usize>>,
    /// Most looked-up rows per statement (`None`: the plan's GKR budget, [`WitnessPlan::gkr_budget`];
    /// tests lower it).
    pub(crate) statement_rows: Option<usize>,
    /// At most this many leaves per lookup GKR whatever the plan's rule gives (a chunk of a
    /// chunked proof: [`crate::ChunkIo::gkr_leaves`]); set before sealing, on both sides.
    gkr_cap: Option<usize>,
    /// Most table rows per batched zero-check (`None`: [`crate::zerocheck::MAX_ZERO_CHECK_ROWS`];
    /// tests lower it).
    pub(crate) zero_check_rows: Option<usize>,
    owner: Option<Owner>,
    sealed: bool,
}

/// The blocks of a column of `num_vars` variables laid out as a zero-padded tensor of shape
/// `dims`, if it is committed as blocks ([`WitnessPlan::sparse_layout`]'s rule): they must hold at
/// most two thirds of its padded table.
fn tensor_blocks(dims: &[usize], num_vars: usize) -> Option<zkinfer_pcs::SparsePoly> {
    if dims.is_empty() {
        return None;
    }
    let p = zkinfer_pcs::SparsePoly::tensor(dims);
    let blocks: usize = p.block_num_vars().map(|m| 1usize << m).sum();
    (p.num_vars() == num_vars && 3 * blocks <= 2usize << num_vars).then_some(p)
}

/// The box the blocks of a zero-padded tensor of shape `dims` cover
/// ([`zkinfer_pcs::sparse::dim_parts`]): per dimension, the end of its last part — the extent
/// itself, except that the part of the last `d mod 16` indices is padded to a power of two
/// (`3 → 4`, `41 → 48`). Same variables per dimension as `dims`.
pub fn block_cover(dims: &[usize]) -> Vec<usize> {
    dims.iter().map(|&d| zkinfer_pcs::sparse::dim_parts(d).last().map_or(d, |p| p.offset + (1usize << p.vars))).collect()
}

/// The registry key of a table.
pub fn table_key(table: &Table) -> String {
    match table {
        Table::Range { bits } => format!("range{bits}"),
        Table::Function(f) => format!("fn:{}", f.name()),
    }
}

impl WitnessPlan {
    /// Most fraction-tree leaves in one lookup GKR (and looked-up rows in one logUp statement):
    /// [`crate::lookups::gkr_leaf_budget`] of the rows looked up by all declared lookups (padded
    /// column lengths), so a deterministic function of the shapes, equal on both sides.
    pub fn gkr_budget(&self) -> usize {
        let rows = self
            .lookups
            .iter()
            .map(|l| l.columns.first().map_or(0, |c| 1usize << self.columns[c.0].num_vars))
            .fold(0usize, usize::saturating_add);
        let budget = crate::lookups::gkr_leaf_budget(rows);
        self.gkr_cap.map_or(budget, |cap| budget.min(cap.max(1)))
    }

    /// Caps [`WitnessPlan::gkr_budget`] at `cap` leaves (`None`: the plan's rule alone). Only
    /// before sealing: the multiplicity columns are split by the budget then.
    pub fn set_gkr_cap(&mut self, cap: Option<usize>) -> Result<(), ProofError> {
        if self.sealed {
            return Err(ProofError::shape("witness", "the GKR budget is capped after sealing"));
        }
        self.gkr_cap = cap;
        Ok(())
    }

    /// Columns in commitment order.
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }
    /// Registered tables.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }
    /// The table with id `id`.
    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id.0]
    }
    /// Declared lookups, in registration order.
    pub fn lookups(&self) -> &[LookupDecl] {
        &self.lookups
    }
    /// Declared range checks, in registration order.
    pub fn range_checks(&self) -> &[RangeCheckDecl] {
        &self.range_checks
    }
    /// `(table, multiplicity column)` of every logUp statement (after sealing): one per table
    /// with at least one lookup, more for a table with very many looked-up rows (module docs).
    pub fn multiplicities(&self) -> &[(TableId, ColumnId)] {
        &self.multiplicities
    }
    /// The lookups of statement `i` of [`WitnessPlan::multiplicities`], in registration order.
    pub fn statement_lookups(&self, i: usize) -> Vec<&LookupDecl> {
        self.statement_lookups[i].iter().map(|&k| &self.lookups[k]).collect()
    }
    /// Number of variables of a column.
    pub fn num_vars(&self, col: ColumnId) -> usize {
        self.columns[col.0].num_vars
    }
    /// The definition of a virtual column (`None`: committed).
    pub fn definition(&self, col: ColumnId) -> Option<&AffineDef> {
        self.columns[col.0].definition.as_ref()
    }
    /// The committed (non-virtual) columns, in commitment order.
    pub fn committed(&self) -> Vec<ColumnId> {
        (0..self.columns.len()).map(ColumnId).filter(|&c| self.columns[c.0].definition.is_none()).collect()
    }
    /// The ids of the witness commitment's polynomials, in commitment order: the committed
    /// columns ([`zkinfer_pcs::PolyId::Column`]); a claim on any other id (a virtual column) is
    /// refused by the opening.
    pub fn commitment_ids(&self) -> Vec<zkinfer_pcs::PolyId> {
        self.committed().into_iter().map(|c| zkinfer_pcs::PolyId::Column(c.0)).collect()
    }
    /// The committed columns as sparse polynomials, in commitment order: a tensor column's blocks
    /// ([`ColumnInfo::dims`]), else the whole table. Their blocks, in order, are the committed batch.
    pub fn sparse_layout(&self) -> zkinfer_pcs::SparseLayout {
        zkinfer_pcs::SparseLayout::new(self.committed().into_iter().map(|c| self.sparse_poly(c)).collect())
    }

    /// A tensor column is committed as blocks when they hold at most two thirds of its padded
    /// table: the prover keeps the padded table for the op proofs and the commitment holds the
    /// blocks (8 B per padded entry plus ≈ 24 B per committed one: packed copy and rate-½
    /// codeword), against ≈ 24 B per padded entry for a column moved into the commitment whole.
    fn sparse_poly(&self, c: ColumnId) -> zkinfer_pcs::SparsePoly {
        let info = &self.columns[c.0];
        info.dims.as_deref().and_then(|dims| tensor_blocks(dims, info.num_vars)).unwrap_or_else(|| zkinfer_pcs::SparsePoly::dense(info.num_vars))
    }

    /// For each column, the index in the committed batch of its first block (of its whole table
    /// if it is committed whole); `None` for virtual columns.
    pub fn first_slots(&self) -> Vec<Option<usize>> {
        let mut next = 0;
        self.columns
            .iter()
            .enumerate()
            .map(|(c, info)| {
                info.definition.is_none().then(|| {
                    let slot = next;
                    next += self.sparse_poly(ColumnId(c)).blocks().len();
                    slot
                })
            })
            .collect()
    }

    /// For each column, its index in the committed batch if it is committed whole (one block);
    /// `None` for virtual columns and columns committed as several blocks.
    pub fn dense_slots(&self) -> Vec<Option<usize>> {
        let mut next = 0;
        self.columns
            .iter()
            .enumerate()
            .map(|(c, info)| {
                if info.definition.is_some() {
                    return None;
                }
                let p = self.sparse_poly(ColumnId(c));
                let slot = p.is_dense().then_some(next);
                next += p.blocks().len();
                slot
            })
            .collect()
    }

    /// The column registered by `owner` under `name`.
    pub fn find(&self, owner: Owner, name: &str) -> Option<ColumnId> {
        self.by_name.get(&(owner, name.to_string())).copied()
    }

    pub(crate) fn set_owner(&mut self, owner: Owner) {
        self.owner = Some(owner);
    }

    fn add_column(&mut self, name: &str, num_vars: usize) -> Result<ColumnId, ProofError> {
        if self.sealed {
            return Err(ProofError::shape("witness", format!("column {name} registered after sealing")));
        }
        let owner = self.owner.unwrap_or(Owner::Framework);
        let id = ColumnId(self.columns.len());
        if self.by_name.insert((owner, name.to_string()), id).is_some() {
            return Err(ProofError::shape("witness", format!("column {name} registered twice by {owner:?}")));
        }
        self.columns.push(ColumnInfo { owner, name: name.to_string(), num_vars, definition: None, dims: None });
        Ok(id)
    }

    /// Registers a column laid out as the zero-padded tensor `layout` (see [`ColumnInfo::dims`]).
    fn add_tensor_column(&mut self, name: &str, layout: &TensorLayout) -> Result<ColumnId, ProofError> {
        let id = self.add_column(name, layout.num_vars())?;
        self.columns[id.0].dims = Some(layout.dims().to_vec());
        Ok(id)
    }

    /// Registers a virtual column `Σ_j c_j·u_j + c_0` (terms of its size, at least one).
    fn add_virtual(&mut self, name: &str, terms: &[(ColumnId, i64)], constant: i64) -> Result<ColumnId, ProofError> {
        self.add_virtual_with(name, terms, constant, false)
    }

    /// [`WitnessPlan::add_virtual`]; with `on_extent` the constant is added on the logical extent
    /// of the terms' (common) tensor shape only, and the column is a tensor column of that shape.
    fn add_virtual_with(&mut self, name: &str, terms: &[(ColumnId, i64)], constant: i64, on_extent: bool) -> Result<ColumnId, ProofError> {
        let Some(&(first, _)) = terms.first() else {
            return Err(ProofError::shape("witness", format!("virtual column {name} without terms")));
        };
        let n = self.columns.get(first.0).map(|c| c.num_vars).ok_or_else(|| ProofError::shape("witness", format!("virtual column {name}: unknown term")))?;
        if terms.iter().any(|(c, k)| *k == 0 || self.columns.get(c.0).is_none_or(|info| info.num_vars != n)) {
            return Err(ProofError::shape("witness", format!("virtual column {name}: terms must be existing columns of one size, nonzero coefficients")));
        }
        let id = self.add_column(name, n)?;
        // Zero outside a tensor extent if every term is (same shape) and there is no constant.
        let dims = self.columns[first.0].dims.clone();
        let same = dims.is_some() && terms.iter().all(|(c, _)| self.columns[c.0].dims == dims);
        if on_extent && !same {
            return Err(ProofError::shape("witness", format!("virtual column {name}: a constant on the extent needs tensor terms of one shape")));
        }
        if same && (constant == 0 || on_extent) {
            self.columns[id.0].dims = dims.clone();
        }
        let extent = if on_extent { dims } else { None };
        self.columns[id.0].definition = Some(AffineDef { terms: terms.to_vec(), constant, extent });
        Ok(id)
    }

    /// Registers `table` (once per key) and returns its id. A second table under the same key
    /// must have the same contents ([`Table::content_digest`]): otherwise its lookups would be
    /// proven against the first one, so it is refused.
    pub fn register_table(&mut self, table: &Table) -> Result<TableId, ProofError> {
        let key = table_key(table);
        if let Some(&id) = self.table_ids.get(&key) {
            if self.tables[id.0].content_digest() != table.content_digest() {
                return Err(ProofError::shape("lookup", format!("two different tables are both called {key}")));
            }
            return Ok(id);
        }
        let id = TableId(self.tables.len());
        self.tables.push(table.clone());
        self.table_ids.insert(key, id);
        Ok(id)
    }

    fn lookup(&mut self, table: &Table, columns: &[ColumnId]) -> Result<(), ProofError> {
        let id = self.register_table(table)?;
        if columns.len() != table.arity() {
            return Err(ProofError::shape(
                "lookup",
                format!("table {} has arity {}, given {} columns", table_key(table), table.arity(), columns.len()),
            ));
        }
        let n = self.num_vars(columns[0]);
        if columns.iter().any(|c| self.num_vars(*c) != n) {
            return Err(ProofError::shape("lookup", "columns of one lookup must have equal sizes"));
        }
        self.lookups.push(LookupDecl { table: id, columns: columns.to_vec() });
        Ok(())
    }

    /// Registers the limbs of a range check (shape only).
    fn range_check_plan(&mut self, column: ColumnId, bits: u32, signed: bool) -> Result<RangeCheckDecl, ProofError> {
        if bits == 0 || bits > MAX_RANGE_CHECK_BITS {
            return Err(ProofError::shape("range_check", format!("{bits} bits not in 1..={MAX_RANGE_CHECK_BITS}")));
        }
        let n = self.num_vars(column);
        let extent = self.signed_extent(column, signed);
        let mut decl = RangeCheckDecl { column, bits, signed, limbs: Vec::new(), defines_column: false, extent };
        if !signed && bits <= LIMB_BITS {
            self.lookup(&Table::range(bits), &[column])?;
        } else {
            let name = &self.columns[column.0].name.clone();
            let count = bits.div_ceil(LIMB_BITS);
            // Limbs of an unsigned check of a zero-padded tensor are zero on its padding too, and
            // so are a signed check's when its offset is added on the extent only; otherwise they
            // hold the offset there and are committed whole.
            // (laid out like the column: its blocks, whose cover is the extent of the offset).
            let dims = if signed { decl.extent.as_ref().and(self.columns[column.0].dims.clone()) } else { self.columns[column.0].dims.clone() };
            for j in 0..count {
                let width = (bits - j * LIMB_BITS).min(LIMB_BITS);
                let limb = self.add_column(&format!("{name}#limb{j}"), n)?;
                self.columns[limb.0].dims = dims.clone();
                self.lookup(&Table::range(width), &[limb])?;
                decl.limbs.push(limb);
            }
            // A committed column becomes virtual, defined by its limbs (offset < 2^62).
            if self.columns[column.0].definition.is_none() {
                let terms = decl.limbs.iter().enumerate().map(|(j, &l)| (l, 1i64 << (LIMB_BITS as usize * j))).collect();
                self.columns[column.0].definition = Some(AffineDef { terms, constant: -(decl.offset() as i64), extent: decl.extent.clone() });
                decl.defines_column = true;
            }
        }
        self.range_checks.push(decl.clone());
        Ok(decl)
    }

    /// The box on which a range check of `column` adds its offset ([`RangeCheckDecl::extent`]):
    /// the cover of its tensor's blocks ([`block_cover`]) if the check is signed and its limbs,
    /// laid out like it, are committed as blocks — then they are zero outside the blocks by the
    /// commitment itself, which makes the column zero there; `None` otherwise (the offset
    /// everywhere, limbs committed whole).
    fn signed_extent(&self, column: ColumnId, signed: bool) -> Option<Vec<usize>> {
        let info = &self.columns[column.0];
        let dims = info.dims.as_ref().filter(|_| signed)?;
        tensor_blocks(dims, info.num_vars).map(|_| block_cover(dims))
    }

    /// Appends one multiplicity column per logUp statement (one per used table, more for a table
    /// with over [`WitnessPlan::gkr_budget`] looked-up rows); no column may be registered
    /// afterwards.
    pub(crate) fn seal(&mut self) -> Result<(), ProofError> {
        self.owner = Some(Owner::Framework);
        let mut used: Vec<TableId> = self.lookups.iter().map(|l| l.table).collect();
        used.sort_by_key(|t| t.0);
        used.dedup();
        for t in used {
            let nv = self.tables[t.0].num_vars();
            let key = table_key(&self.tables[t.0]);
            let rows: Vec<(usize, usize)> = self
                .lookups
                .iter()
                .enumerate()
                .filter(|(_, l)| l.table == t)
                .map(|(k, l)| (k, 1usize << self.columns[l.columns[0].0].num_vars))
                .collect();
            let budget = self.statement_rows.unwrap_or_else(|| self.gkr_budget());
            let mut chunks: Vec<Vec<usize>> = Vec::new();
            let mut filled = 0usize;
            for (k, n) in rows {
                match chunks.last_mut() {
                    Some(chunk) if filled.saturating_add(n) <= budget => chunk.push(k),
                    _ => {
                        chunks.push(vec![k]);
                        filled = 0;
                    }
                }
                filled = filled.saturating_add(n);
            }
            for (i, chunk) in chunks.into_iter().enumerate() {
                let name = if i == 0 { format!("mult:{key}") } else { format!("mult:{key}:{i}") };
                let col = self.add_column(&name, nv)?;
                self.multiplicities.push((t, col));
                self.statement_lookups.push(chunk);
            }
        }
        self.sealed = true;
        Ok(())
    }
}

/// The verifier's view of the witness phase: sizes only.
#[derive(Debug, Clone, Default)]
pub struct WitnessLayout {
    pub(crate) plan: WitnessPlan,
}

impl WitnessLayout {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers a committed column of `num_vars` variables under `name`.
    pub fn commit(&mut self, name: &str, num_vars: usize) -> Result<ColumnId, ProofError> {
        self.plan.add_column(name, num_vars)
    }
    /// Registers a committed tensor (zero-padded layout) under `name`.
    pub fn commit_tensor(&mut self, name: &str, layout: &TensorLayout) -> Result<ColumnId, ProofError> {
        self.plan.add_tensor_column(name, layout)
    }
    /// Registers the virtual column `Σ_j c_j·u_j + c_0` under `name` (see the module docs).
    pub fn virtual_column(&mut self, name: &str, terms: &[(ColumnId, i64)], constant: i64) -> Result<ColumnId, ProofError> {
        self.plan.add_virtual(name, terms, constant)
    }
    /// Registers `Σ_j c_j·u_j + c_0·χ` under `name`, `χ` the indicator of the logical extent of
    /// the terms' common tensor shape ([`AffineDef::extent`]).
    pub fn virtual_column_on_extent(&mut self, name: &str, terms: &[(ColumnId, i64)], constant: i64) -> Result<ColumnId, ProofError> {
        self.plan.add_virtual_with(name, terms, constant, true)
    }
    /// Declares that every row of `columns` is a row of `table`.
    pub fn lookup(&mut self, table: &Table, columns: &[ColumnId]) -> Result<(), ProofError> {
        self.plan.lookup(table, columns)
    }
    /// Declares a range check (see the module docs).
    pub fn range_check(&mut self, column: ColumnId, bits: u32, signed: bool) -> Result<(), ProofError> {
        self.plan.range_check_plan(column, bits, signed).map(|_| ())
    }
    /// The plan built so far.
    pub fn plan(&self) -> &WitnessPlan {
        &self.plan
    }
    /// Number of variables of a column.
    pub fn num_vars(&self, col: ColumnId) -> usize {
        self.plan.num_vars(col)
    }
}

/// Where the committed columns are read from once shared with their commitment
/// ([`WitnessBuilder::share_committed`]): the commitment's prover data, which holds them packed.
pub trait CommittedColumns: Send + Sync + std::fmt::Debug {
    /// The values of committed polynomial `k` (commitment order), if it exists.
    fn column(&self, k: usize) -> Option<&[F]>;
}

/// The prover's witness: the plan plus every column's values. After
/// [`WitnessBuilder::take_committed`] / [`WitnessBuilder::share_committed`] the committed
/// columns are read from the commitment's prover data (one copy of the witness in memory, not two).
#[derive(Debug, Clone, Default)]
pub struct WitnessBuilder {
    pub(crate) plan: WitnessPlan,
    pub(crate) values: Vec<Vec<F>>,
    /// Columns held as the blocks of their extent instead of their padded table (column index →
    /// blocks, [`WitnessBuilder::compact_since`]).
    blocks: HashMap<usize, Vec<Vec<F>>>,
    /// The commitment's prover data and each column's slot in it, once shared.
    shared: Option<(Arc<dyn CommittedColumns>, Vec<Option<usize>>)>,
    /// A malicious prover's witness (tests only, feature `test-hooks`): never refuses a trace.
    forging: bool,
}

impl WitnessBuilder {
    /// An empty witness.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty witness that never refuses (feature `test-hooks`; a test's malicious prover): a
    /// range-checked entry outside its range is decomposed modulo `2^bits` (the limbs are in range,
    /// the relation `v = Σ 2^(16j)·l_j − offset` is false), and a looked-up row outside its table is
    /// left out of the multiplicities (the logUp sums differ). The proof is then produced and
    /// it is the VERIFIER that must reject it.
    #[cfg(feature = "test-hooks")]
    pub fn forging() -> Self {
        Self::with_forging(true)
    }

    /// An empty witness, forging if `forging` ([`WitnessBuilder::forging`]; only tests pass `true`).
    pub(crate) fn with_forging(forging: bool) -> Self {
        Self { forging, ..Self::default() }
    }

    /// Commits a column given by its full table (length must be a power of two).
    pub fn commit(&mut self, name: &str, values: Vec<F>) -> Result<ColumnId, ProofError> {
        if !values.len().is_power_of_two() {
            return Err(ProofError::shape("witness", format!("column {name} of length {}", values.len())));
        }
        let id = self.plan.add_column(name, values.len().trailing_zeros() as usize)?;
        self.values.push(values);
        Ok(id)
    }

    /// Commits a tensor in its zero-padded layout under `name`.
    pub fn commit_tensor(&mut self, name: &str, layout: &TensorLayout, values: &[i64]) -> Result<ColumnId, ProofError> {
        if values.len() != layout.len() {
            return Err(ProofError::shape("witness", format!("tensor {name}: {} values for {:?}", values.len(), layout.dims())));
        }
        let id = self.plan.add_tensor_column(name, layout)?;
        self.values.push(layout.pad_i64(values));
        Ok(id)
    }

    /// Commits a tensor given by its zero-padded table (`values.len()` must be the layout's
    /// padded length; its padding must be zero, which committing it as blocks checks).
    pub fn commit_padded_tensor(&mut self, name: &str, layout: &TensorLayout, values: Vec<F>) -> Result<ColumnId, ProofError> {
        if values.len() != layout.padded_len() {
            return Err(ProofError::shape("witness", format!("tensor {name}: {} padded values for {:?}", values.len(), layout.dims())));
        }
        let id = self.plan.add_tensor_column(name, layout)?;
        self.values.push(values);
        Ok(id)
    }

    /// Registers the virtual column `Σ_j c_j·u_j + c_0` under `name` and computes its values
    /// (see the module docs).
    pub fn virtual_column(&mut self, name: &str, terms: &[(ColumnId, i64)], constant: i64) -> Result<ColumnId, ProofError> {
        let id = self.plan.add_virtual(name, terms, constant)?;
        self.push_virtual_values(id);
        Ok(id)
    }

    /// Registers `Σ_j c_j·u_j + c_0·χ` under `name`, `χ` the indicator of the logical extent of
    /// the terms' common tensor shape ([`AffineDef::extent`]), and computes its values.
    pub fn virtual_column_on_extent(&mut self, name: &str, terms: &[(ColumnId, i64)], constant: i64) -> Result<ColumnId, ProofError> {
        let id = self.plan.add_virtual_with(name, terms, constant, true)?;
        self.push_virtual_values(id);
        Ok(id)
    }

    fn push_virtual_values(&mut self, id: ColumnId) {
        let values = self.virtual_values(id);
        self.values.push(values);
    }

    /// The values of virtual column `id` computed from its definition (its terms' values); empty
    /// for a committed column.
    fn virtual_values(&self, id: ColumnId) -> Vec<F> {
        let Some(def) = &self.plan.columns[id.0].definition else { return Vec::new() };
        let n = 1usize << self.plan.num_vars(id);
        let mut values = match &def.extent {
            None => vec![from_i64_unchecked(def.constant); n],
            Some(dims) => TensorLayout::new(dims).pad_i64(&vec![def.constant; dims.iter().product()]),
        };
        debug_assert_eq!(values.len(), n);
        for &(col, k) in &def.terms {
            let k = from_i64_unchecked(k);
            let u = self.values(col);
            values.par_iter_mut().zip(u.par_iter()).for_each(|(v, &u)| *v += k * u);
        }
        values
    }

    /// Declares that every row of `columns` is a row of `table`.
    pub fn lookup(&mut self, table: &Table, columns: &[ColumnId]) -> Result<(), ProofError> {
        self.plan.lookup(table, columns)
    }

    /// Declares a range check on `column` and commits its limbs (see the module docs). Fails if
    /// some entry (padding included) is outside the range.
    pub fn range_check(&mut self, column: ColumnId, bits: u32, signed: bool) -> Result<(), ProofError> {
        // Validate the values first so that no half-registered check is left behind.
        if bits == 0 || bits > MAX_RANGE_CHECK_BITS {
            return Err(ProofError::shape("range_check", format!("{bits} bits not in 1..={MAX_RANGE_CHECK_BITS}")));
        }
        let offset: i128 = if signed { 1i128 << (bits - 1) } else { 0 };
        let limit: i128 = 1i128 << bits;
        // The offset is added on the extent only for a signed check of a tensor committed as blocks.
        let extent = self.plan.signed_extent(column, signed).map(|d| TensorLayout::new(&d));
        let forging = self.forging;
        // `Some(v + offset)` if the entry is in range (every entry, in parallel: same values as
        // one pass in order; the error names the first entry out of range).
        let shift = |(i, x): (usize, &F)| -> Option<u64> {
            // The centred representative decides membership: the range is far below p/2.
            let here = if extent.as_ref().is_none_or(|e| e.in_extent(i)) { offset } else { 0 };
            let mut v = to_i64(*x) as i128 + here;
            if forging {
                v = v.rem_euclid(limit);
            }
            (0..limit).contains(&v).then_some(v as u64)
        };
        let shifted: Vec<u64> = {
            let col = self.values(column);
            match col.par_iter().enumerate().map(shift).collect::<Option<Vec<u64>>>() {
                Some(shifted) => shifted,
                None => {
                    let i = col.iter().enumerate().position(|e| shift(e).is_none()).unwrap_or(0);
                    return Err(ProofError::witness(
                        "range_check",
                        format!(
                            "column {} entry {i} = {} outside the {}{bits}-bit range",
                            self.plan.columns[column.0].name,
                            col.get(i).map_or(0, |x| to_i64(*x)),
                            if signed { "signed " } else { "" }
                        ),
                    ));
                }
            }
        };
        let decl = self.plan.range_check_plan(column, bits, signed)?;
        for (j, _) in decl.limbs.iter().enumerate() {
            let shift = LIMB_BITS * j as u32;
            let mask = (1u64 << LIMB_BITS) - 1;
            self.values.push(shifted.par_iter().map(|v| F::from_u64((v >> shift) & mask)).collect());
        }
        Ok(())
    }

    /// The values of a column (its whole zero-padded table). Held by the builder until the
    /// witness is committed; then a column committed whole is read from the commitment's prover
    /// data, a column committed as blocks is rebuilt from its blocks there, and a virtual column
    /// is computed from its definition — each time it is asked for, so that no padded copy of the
    /// witness stays resident next to the commitment ([`WitnessBuilder::take_committed`]).
    pub fn values(&self, col: ColumnId) -> Cow<'_, [F]> {
        let held = &self.values[col.0];
        if !held.is_empty() {
            return Cow::Borrowed(held);
        }
        if let Some(blocks) = self.blocks.get(&col.0) {
            let p = self.plan.sparse_poly(col);
            let mut out = vec![F::ZERO; 1usize << p.num_vars()];
            for (b, block) in blocks.iter().enumerate() {
                p.scatter(b, block, &mut out);
            }
            return Cow::Owned(out);
        }
        if let Some((data, slots)) = &self.shared
            && let Some(first) = slots[col.0]
        {
            let p = self.plan.sparse_poly(col);
            if p.is_dense() {
                // Sizes were checked when the data was shared.
                return Cow::Borrowed(data.column(first).unwrap_or(&[]));
            }
            let mut out = vec![F::ZERO; 1usize << p.num_vars()];
            for b in 0..p.blocks().len() {
                if let Some(block) = data.column(first + b) {
                    p.scatter(b, block, &mut out);
                }
            }
            return Cow::Owned(out);
        }
        if self.plan.definition(col).is_some() {
            return Cow::Owned(self.virtual_values(col));
        }
        Cow::Borrowed(held)
    }

    /// The committed batch ([`WitnessPlan::sparse_layout`]): every block of every committed
    /// column, in commitment order, for a commitment that takes them by value
    /// (`zkinfer_pcs::WhirPcs::commit_owned`). A column committed whole moves out; a column
    /// committed as blocks has its blocks copied out and its padded table freed; the values of
    /// virtual columns are freed too. None of them is readable until
    /// [`WitnessBuilder::share_committed`] hands the commitment's data back, after which
    /// [`WitnessBuilder::values`] rebuilds them from it on demand. Fails if a column committed as
    /// blocks is not zero outside them (its uncommitted padding is zero by definition), or if a
    /// virtual column's held values differ from its definition (they are recomputed from it).
    pub fn take_committed(&mut self) -> Result<Vec<Vec<F>>, ProofError> {
        if !self.plan.sealed || self.shared.is_some() {
            return Err(ProofError::shape("witness", "columns taken before sealing or twice"));
        }
        self.compact_since(0)?;
        let mut out = Vec::new();
        for c in self.plan.committed() {
            if self.plan.sparse_poly(c).is_dense() {
                out.push(std::mem::take(&mut self.values[c.0]));
            } else {
                out.extend(self.blocks.remove(&c.0).unwrap_or_default());
            }
        }
        // Virtual columns are recomputed from the commitment from now on (a column committed
        // when it was compacted and made virtual since by a range check's limbs leaves blocks).
        if !self.forging {
            self.blocks.clear();
        }
        Ok(out)
    }

    /// Frees the padded tables of columns `first..` that need not be held (the prover calls it
    /// after each node's witness, so that no more than one node's padded tables are resident at a
    /// time): a committed column whose blocks are committed ([`WitnessPlan::sparse_layout`]) is
    /// kept as those blocks, and a virtual column's values are dropped — [`WitnessBuilder::values`]
    /// rebuilds either on demand, identically. Fails if such a column is not zero outside its
    /// blocks (its uncommitted padding is zero by definition) or if a virtual column's values
    /// differ from its definition. A forging test witness keeps its virtual columns' own values
    /// (its limbs split an out-of-range value modulo the range: recomputing the column from them
    /// would hide the lie it is meant to carry to the verifier).
    pub fn compact_since(&mut self, first: usize) -> Result<(), ProofError> {
        for c in first..self.plan.columns.len() {
            if self.values[c].is_empty() {
                continue;
            }
            let name = || self.plan.columns[c].name.clone();
            if self.plan.columns[c].definition.is_some() {
                if self.forging {
                    continue;
                }
                let recomputed = self.virtual_values(ColumnId(c));
                let held = &self.values[c];
                if recomputed.len() != held.len() || recomputed.par_iter().zip(held.par_iter()).any(|(a, b)| a != b) {
                    return Err(ProofError::witness("witness", format!("virtual column {} differs from its definition", name())));
                }
                self.values[c] = Vec::new();
                continue;
            }
            let p = self.plan.sparse_poly(ColumnId(c));
            if p.is_dense() {
                continue;
            }
            if !p.zero_outside(&self.values[c]) {
                return Err(ProofError::witness("witness", format!("column {} is not zero on its padding", name())));
            }
            let blocks = (0..p.blocks().len()).map(|b| p.extract(b, &self.values[c])).collect();
            self.blocks.insert(c, blocks);
            self.values[c] = Vec::new();
        }
        Ok(())
    }

    /// From now on reads the committed columns from `data`, the prover data of their commitment
    /// (polynomial `k` = the `k`-th committed column), and frees any copy still held. Fails if a
    /// polynomial's size differs from its column's or a held copy differs from it.
    pub fn share_committed(&mut self, data: Arc<dyn CommittedColumns>) -> Result<(), ProofError> {
        let slots = self.plan.first_slots();
        for (c, slot) in slots.iter().enumerate() {
            let Some(first) = *slot else { continue };
            let p = self.plan.sparse_poly(ColumnId(c));
            for (b, m) in p.block_num_vars().enumerate() {
                let k = first + b;
                let Some(evals) = data.column(k).filter(|v| v.len() == 1usize << m) else {
                    return Err(ProofError::witness("witness", format!("commitment polynomial {k} does not match column {}", self.plan.columns[c].name)));
                };
                if !self.values[c].is_empty() && p.extract(b, &self.values[c]) != evals {
                    return Err(ProofError::witness("witness", format!("commitment polynomial {k} differs from column {}", self.plan.columns[c].name)));
                }
            }
            self.values[c] = Vec::new();
        }
        self.shared = Some((data, slots));
        Ok(())
    }

    /// The plan built so far.
    pub fn plan(&self) -> &WitnessPlan {
        &self.plan
    }

    /// Number of variables of a column.
    pub fn num_vars(&self, col: ColumnId) -> usize {
        self.plan.num_vars(col)
    }

    /// Computes and appends one multiplicity column per logUp statement; fails if some looked-up
    /// row is not in its table.
    pub(crate) fn seal(&mut self) -> Result<(), ProofError> {
        self.plan.seal()?;
        // Statements are counted in parallel (each also in parallel inside); the columns are
        // pushed in statement order, and the first failing statement's error is returned.
        let this = &*self;
        let counted: Vec<Result<Vec<F>, ProofError>> = (0..this.plan.multiplicities.len())
            .into_par_iter()
            .with_max_len(1)
            .map(|i| {
                let table = &this.plan.tables[this.plan.multiplicities[i].0.0];
                let held: Vec<Vec<Cow<'_, [F]>>> =
                    this.plan.statement_lookups(i).into_iter().map(|l| l.columns.iter().map(|c| this.values(*c)).collect()).collect();
                let columns: Vec<Vec<&[F]>> = held.iter().map(|l| l.iter().map(|v| &**v).collect()).collect();
                if this.forging {
                    Ok(crate::lookups::multiplicities_of_rows_in_table(table, &columns))
                } else {
                    crate::lookups::multiplicities(table, &columns)
                }
            })
            .collect();
        for m in counted {
            self.values.push(m?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Committed columns held elsewhere (what the commitment's prover data does).
    #[derive(Debug)]
    struct Held(Vec<Vec<F>>);

    impl CommittedColumns for Held {
        fn column(&self, k: usize) -> Option<&[F]> {
            self.0.get(k).map(Vec::as_slice)
        }
    }

    fn witness() -> (WitnessBuilder, ColumnId, ColumnId) {
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        let x = w.commit("x", (0..8).map(F::from_u64).collect()).expect("x");
        let v = w.virtual_column("x+1", &[(x, 1)], 1).expect("virtual");
        w.seal().expect("seal");
        (w, x, v)
    }

    #[test]
    fn extent_indicator_is_the_mle_of_the_extent() {
        for dims in [vec![5usize, 3], vec![1, 7], vec![4, 8], vec![9, 1, 17], vec![1]] {
            let layout = TensorLayout::new(&dims);
            let table = layout.pad_i64(&vec![1; layout.len()]);
            let z: Vec<EF> = (0..layout.num_vars()).map(|i| EF::from_u64(3 + 7 * i as u64)).collect();
            assert_eq!(extent_indicator(&dims, &z), zkinfer_poly::Mle::new(table).evaluate(&z), "{dims:?}");
        }
    }

    #[test]
    fn a_column_with_non_zero_padding_is_not_committed_as_blocks() {
        // 17 × 20 pads to 32 × 32; blocks 16×16, 16×4, 1×16, 1×4 (parts 16 + 1 and 16 + 4).
        let layout = TensorLayout::new(&[17, 20]);
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        let x = w.commit_tensor("x", &layout, &[1; 340]).expect("x");
        w.seal().expect("seal");
        let mut bad = w.clone();
        assert_eq!(w.take_committed().expect("take").iter().map(Vec::len).sum::<usize>(), 256 + 64 + 16 + 4);
        bad.values[x.0][20 * 32] = F::ONE;
        assert!(bad.take_committed().is_err());
    }

    #[test]
    fn compacted_columns_read_back_identically_and_bad_ones_are_refused() {
        // 17 × 20 pads to 32 × 32: committed as blocks; `x + 3` on the extent is virtual.
        let layout = TensorLayout::new(&[17, 20]);
        let data: Vec<i64> = (0..340).map(|i| i * 7 % 23 - 11).collect();
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        let x = w.commit_tensor("x", &layout, &data).expect("x");
        let v = w.virtual_column_on_extent("x+3", &[(x, 1)], 3).expect("virtual");
        w.seal().expect("seal");
        let (want_x, want_v) = (w.values(x).to_vec(), w.values(v).to_vec());
        let mut c = w.clone();
        c.compact_since(0).expect("compact");
        assert!(c.values[x.0].is_empty() && c.values[v.0].is_empty(), "padded tables freed");
        assert_eq!(c.values(x), want_x.as_slice());
        assert_eq!(c.values(v), want_v.as_slice());
        // Taken and shared back: rebuilt from the commitment's blocks.
        let taken = c.take_committed().expect("take");
        assert_eq!(taken.iter().map(Vec::len).sum::<usize>(), 256 + 64 + 16 + 4);
        c.share_committed(Arc::new(Held(taken))).expect("share");
        assert_eq!(c.values(x), want_x.as_slice());
        assert_eq!(c.values(v), want_v.as_slice());
        // A non-zero padding entry, or a virtual column that is not its definition: refused.
        let mut bad = w.clone();
        bad.values[x.0][20] = F::ONE;
        assert!(bad.compact_since(0).is_err());
        let mut bad = w.clone();
        bad.values[v.0][0] += F::ONE;
        assert!(bad.compact_since(0).is_err());
        // A forging witness keeps its virtual columns' own values.
        let mut forged = w.clone();
        forged.forging = true;
        forged.values[v.0][0] += F::ONE;
        forged.compact_since(0).expect("forging compacts");
        assert_eq!(forged.values(v)[0], want_v[0] + F::ONE);
    }

    /// A signed range check of a tensor whose limbs are committed as blocks adds its offset on
    /// the extent only: the limbs are zero on the padding (committed as blocks), the column is
    /// recomputed from them exactly, and a non-zero padding entry is refused before committing
    /// (the commitment could not hold it). Without blocks (a shape failing the ⅔ rule) the
    /// offset is added everywhere and the limbs are committed whole, as before.
    #[test]
    fn signed_limbs_of_a_tensor_are_blocks_with_the_offset_on_the_extent() {
        // 3 × 40 pads to 4 × 64; its blocks (4 × (32 + 8) = 160 entries) are under 2/3 of 256.
        let layout = TensorLayout::new(&[3, 40]);
        let data: Vec<i64> = (0..120).map(|i| (i * 37 % 101) - 50).collect();
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        let x = w.commit_tensor("x", &layout, &data).expect("x");
        w.range_check(x, 18, true).expect("range");
        w.seal().expect("seal");
        let decl = w.plan().range_checks()[0].clone();
        // The offset on the blocks' cover: row 3 is padding inside the blocks (3 → 4).
        assert_eq!(decl.extent.as_deref(), Some(&[4usize, 40][..]));
        assert_eq!(decl.offset_at(layout.padded_index(&[2, 39])), 1 << 17);
        assert_eq!(decl.offset_at(layout.padded_index(&[2, 40])), 0);
        assert_eq!(decl.offset_at(layout.padded_index(&[3, 0])), 1 << 17);
        assert_eq!(decl.offset_at(layout.padded_index(&[3, 40])), 0);
        for &l in &decl.limbs {
            assert!(!w.plan().sparse_poly(l).is_dense(), "limbs committed as blocks");
            assert!(w.plan().sparse_poly(l).zero_outside(&w.values(l)));
        }
        let want = layout.pad_i64(&data);
        let mut c = w.clone();
        c.compact_since(0).expect("compact");
        assert_eq!(c.values(x), want.as_slice(), "the column is its limbs minus the offset on the extent");
        // A padding entry of the column, limbs following, is refused.
        let mut bad = w.clone();
        let at = layout.padded_index(&[1, 50]);
        bad.values[x.0][at] = F::from_u64(3);
        bad.values[decl.limbs[0].0][at] = F::from_u64(3);
        assert!(bad.compact_since(0).is_err());
        // 5 × 9 pads to 8 × 16, which is its one block: committed whole, offset everywhere.
        let whole = TensorLayout::new(&[5, 9]);
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        let y = w.commit_tensor("y", &whole, &[-7; 45]).expect("y");
        w.range_check(y, 18, true).expect("range");
        let decl = w.plan().range_checks()[0].clone();
        assert_eq!(decl.extent, None);
        assert!(w.plan().sparse_poly(decl.limbs[0]).is_dense());
        assert_eq!(decl.offset_at(whole.padded_index(&[5, 0])), 1 << 17);
    }

    #[test]
    fn shared_columns_are_read_from_the_commitment_and_checked() {
        // Taken, committed elsewhere, shared back: the values read are the commitment's.
        let (mut w, x, v) = witness();
        let expected = w.values(x).to_vec();
        let taken = w.take_committed().expect("take");
        assert_eq!(taken, vec![expected.clone()]);
        assert!(w.take_committed().is_ok(), "a second take before sharing returns empty columns");
        w.share_committed(Arc::new(Held(taken))).expect("share");
        assert_eq!(w.values(x), expected.as_slice());
        assert_eq!(w.values(v)[3], F::from_u64(4), "virtual columns stay with the builder");
        assert!(w.take_committed().is_err(), "no take after sharing");
        // Shared without taking: a held copy must equal the commitment's polynomial.
        let (mut w, x, _) = witness();
        let mut other = w.values(x).to_vec();
        other[5] += F::ONE;
        assert!(w.share_committed(Arc::new(Held(vec![other]))).is_err());
        // A polynomial of the wrong size, or a missing one.
        let (mut w, _, _) = witness();
        assert!(w.share_committed(Arc::new(Held(vec![vec![F::ZERO; 4]]))).is_err());
        let (mut w, _, _) = witness();
        assert!(w.share_committed(Arc::new(Held(Vec::new()))).is_err());
        // Before sealing nothing can be taken.
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        w.commit("x", vec![F::ZERO; 4]).expect("x");
        assert!(w.take_committed().is_err());
    }
}
