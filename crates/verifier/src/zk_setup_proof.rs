//! The hiding setup proof of a zero-knowledge key (issue 13, `docs/SECURITY.md` "Hiding setup
//! proof"), opened on the key's reserved ticket [`crate::zk_proof::SETUP_TICKET`] (0): the
//! verifier side, and the plan both sides build from the key ([`RangePlan`]).
//!
//! # Statement
//!
//! For every weight `w` of the key, with shape `[d_0, …, d_{k−1}]` committed as the table `W` of
//! `m = Σ_j n_j` variables (`n_j = ⌈log2 d_j⌉`, zero-padded per dimension, row-major, MSB first:
//! [`crate::zk_key::weight_num_vars`]) and declared bound `bits` (`B = 2^bits − 1`):
//!
//! * **(Z) padding:** `W(x) = 0` at every index `x` whose coordinate `x_j ≥ d_j` in some
//!   dimension `j`. Every zk op's verifier reads only the padded sizes, so without it a key author
//!   could commit a wider model than the key's shapes say and prove its outputs (review 17).
//! * **(R) range:** `W(x) ∈ [−B, B]` as an integer at every index (padding included, where it is
//!   0). Every "field equation ⇒ integer equation" (no-wrap) argument of the zk graph proof takes
//!   `|w| ≤ 2^bits − 1` from the key, as the public proof does (`crate::setup_proof`).
//!
//! Public: the key (shapes, `bits`, graph, hiding key). Hidden: the weights.
//!
//! # Protocol (setup protocol version 2; transcript domain [`setup_domain`])
//!
//! 1. The prover commits the **setup batch** (a [`HidingPcs`] commitment, fresh randomness,
//!    opened once, by this proof; its shape is [`RangePlan::commitment`], a function of the key)
//!    and sends its root; it is absorbed before any challenge.
//! 2. **(Z)** [`padding_claims`]: per weight and per aligned padding block ([`padding_blocks`]) a
//!    point whose block bits are the block's booleans and whose other coordinates are challenges,
//!    and the *public zero claim* `Ŵ(z) = 0` on ticket 0.
//! 3. **(R), narrow weights (`bits ≤ 15`):** nothing is committed. The rows `(W[x], W[x])` of the
//!    weight's own ticket-0 polynomial (both components the same polynomial) are looked up in the
//!    public function table `T_bits = {(i, i) : −B ≤ i ≤ B}` (`2B + 1 ≤ 65 535` rows), so the
//!    zk logUp's leaf claims on that column are claims on ticket 0.
//! 4. **(R), wide weights (`16 ≤ bits ≤ 61`):** the batch holds 16-bit limbs of `a = w + B` and
//!    `a' = B − w` (`J = ⌈(bits + 1)/16⌉` limbs each, limb `j` of width `min(16, bits + 1 − 16j)`),
//!    each looked up in the range table of its width. At a fresh point `q` (no boolean coordinate)
//!    the prover sends `Ŵ(q)` and every `L̂_j(q)`, `L̂'_j(q)`; the verifier checks
//!    `Ŵ(q) + B = Σ_j 2^{16j}·L̂_j(q)` and `−Ŵ(q) + B = Σ_j 2^{16j}·L̂'_j(q)`, and records
//!    `Ŵ(q)` as a ticket-0 claim, the limbs' values as batch claims.
//! 5. The lookups: ONE zero-knowledge logUp (`zkinfer_lookup::zk_logup`) per *group* of weights
//!    (consecutive in key order, at most [`GROUP_LEAVES`] looked-up rows unless one weight alone is
//!    larger), with one statement per table; multiplicities and the logUp's masks in the batch.
//! 6. One hiding opening of the batch (every batch claim), then one of ticket 0 (the padding zero
//!    claims, the narrow columns' leaf claims, the `Ŵ(q)` claims and the key's link claims).
//!    Nothing may follow.
//!
//! # Soundness
//!
//! Ticket 0's root is in the key and the batch root is absorbed first, so every committed
//! polynomial is fixed before any challenge.
//! * (Z): with a boolean coordinate `Z(z) = 0`, so `Ŵ(z) = W̃(z)`; fixing the block bits leaves
//!   the multilinear extension of `W` on the block in `f ≤ 40` free variables, zero iff the block
//!   is: `≤ f/|EF| ≤ 2^{-186.6}` per claim (Schwartz–Zippel).
//! * (R) narrow: the logUp shows every row `(W[x], W[x])` is a row of `T_bits`, i.e. the field
//!   element `W[x]` is one of the integers `−B, …, B` — no integer relation, nothing can wrap.
//! * (R) wide: each relation is checked at `q` drawn after both commitments. If
//!   `W + B ≠ Σ_j 2^{16j}·L_j` on the cube, `Ŵ + B − Σ_j 2^{16j}·L̂_j` is a non-zero polynomial (it
//!   differs on the cube, where every vanishing factor is 0) of total degree
//!   `≤ 2m + μ(2^a − 1) ≤ 80 + 4·255`, so the check passes with probability `≤ 1100/|EF| <
//!   2^{-181}`; likewise for `a'`. **No wrap:** every limb is in `[0, 2^16)` and the top one in
//!   `[0, 2^t)` (its lookup), so `a = Σ_j 2^{16j}·L_j` and `a'` lie in `[0, 2^{bits+1})` as
//!   integers (`bits + 1 ≤ 62 < log2 p`). In the field `a + a' = 2B`; as integers
//!   `0 ≤ a + a' < 2^{bits+2} ≤ 2^{63} < p`, so `a + a' = 2B` over the integers, hence
//!   `a = 2B − a' ≤ 2B` and `w = a − B` (the field identity `w = a − B` with `a − B ∈ [−B, B]`) is
//!   the integer `a − B ∈ [−B, B]`.
//! * The logUps: their module's error (`(N + |T|)/|EF|` for `α`, `N·|T|/|EF|` for `β`, the zk
//!   GKR's `(3.5D² + 7D)/|EF|`, `N ≤ 2^{28}` rows, `|T| ≤ 2^{16}`, `D ≤ 30`): below `2^{-147}`
//!   each. The two hiding openings: their own (132 bits per term, "Hiding
//!   PCS"). The key's link claims tie every ticket's polynomials to ticket 0's (`≈ 2^{-181.8}` per
//!   query of the key author), so (Z) and (R) hold on the ticket every proof opens.
//!
//! Total: the openings' 132 bits set the level; the algebraic part (the logUps' `β` term
//! `N·|T|/|EF| ≤ 2^{28+16−191.9}` dominates, union over ≤ 2^7 groups) is below `2^{-140}`.
//!
//! # Zero knowledge (honest verifier, made non-interactive; what the setup proof reveals)
//!
//! The shapes and the declared `bits` (already public in the key), the group sizes (a function
//! of them), and the fact proven. The padding claims' values are 0 (the statement). Each narrow
//! weight's mask `M_W` is read at one fresh point (its logUp leaf); each wide weight's at two (`q`,
//! and through limb 0, whose mask is tied, `M_{L_0} = ±M_W − Σ_{j≥1} 2^{16j}·M_{L_j}`, the leaf; the
//! limbs `j ≥ 1` have uniform masks of the weight's degree). So ticket 0 reads each weight's
//! shared mask at `≤ 2` points, within the `points_per_ticket ≥ 2` every ticket is allotted
//! ([`MIN_SETUP_POINTS`]; the key's masks hide `1 + (K + 1)·points_per_ticket` points, ticket 0
//! included). The batch is a fresh hiding commitment opened once; the logUps are simulatable
//! from their leaf values (`zkinfer_lookup::zk_logup`, "Zero knowledge"), each a masked value;
//! `Ŵ(q)` is masked by `M_W` at `q`. The relations' sent values satisfy the public identities
//! and are otherwise uniform. Ticket 0 is opened once, by this proof (no graph proof may open it).
//!
//! # Cost
//!
//! Narrow weights (every matrix: `I16` values) commit nothing: their lookups run over the weight's
//! own padded table. Wide weights (vectors: biases, norms, position tables) commit `2J` limb
//! columns of their padded size. The prover's work is the zk logUp over every padded entry (one
//! lookup per narrow entry, `2J` per wide one) plus one hiding commitment and opening of the
//! small batch. Memory: the zk GKR of one group, `≈ 48` bytes per leaf of its tree (a group is
//! at most [`GROUP_LEAVES`] rows unless one weight is larger: GPT-2 small's token embedding,
//! `2^16 × 2^10` padded, is one tree of `2^27` leaves, `≈ 6.4 GB`).

use std::collections::BTreeMap;

use zkinfer_field::{EF, F, PrimeCharacteristicRing, lift};
use zkinfer_lookup::Table;
use zkinfer_lookup::zk_logup::{MIN_BLOCK_VARS, ZkLookupClaims, ZkLookupMasks, ZkLookupPoly, verify_lookups_zk, zk_multiplicity_vars};
use zkinfer_pcs::hiding::{HidingCommitment, HidingPcs, MASK_COMPONENT_VARS, MASK_VARS, Vanishing};
use zkinfer_pcs::hiding_key::HidingKey;
use zkinfer_pcs::{MerkleRoot, OpeningClaim};
use zkinfer_transcript::{DomainSeparator, Transcript, VerifierTranscript};

use crate::ProofSystemError;
use crate::key::WeightMeta;
use crate::zk_key::{ZkVerifyingKey, weight_num_vars};
use crate::zk_proof::SETUP_TICKET;

/// The protocol name of the zk setup proof's transcript.
pub const ZK_SETUP_PROTOCOL: &str = "zkinfer-zk-setup-proof";
/// Its version (1: the padding claims; 2: and the weights' ranges, zk key version 6).
pub const ZK_SETUP_VERSION: u32 = 2;
/// Width of a wide weight's limbs.
pub const LIMB_BITS: u32 = 16;
/// Largest `bits` looked up directly in `T_bits` (`2B + 1 ≤ 65 535` rows).
pub const MAX_NARROW_BITS: u32 = 15;
/// Largest `bits` a zk key may declare (`bits + 2 ≤ 63`: the wide relation's no-wrap argument).
pub const MAX_ZK_WEIGHT_BITS: u32 = 61;
/// Looked-up rows per logUp group (one weight larger than this is a group alone): bounds the zk
/// GKR's memory (`≈ 48` bytes per leaf).
pub const GROUP_LEAVES: usize = 1 << 24;
/// Claim points per weight the setup proof reads on ticket 0 (module docs, "Zero knowledge"): a
/// key with fewer points per ticket is refused by the honest prover.
pub const MIN_SETUP_POINTS: usize = 2;

/// What a polynomial of the setup batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupPolyKind {
    /// Limb `j` of weight `weight`'s `a = w + B` (`negated = false`) or `a' = B − w` (`true`).
    Limb {
        /// The weight (key order).
        weight: usize,
        /// Which decomposition.
        negated: bool,
        /// The limb.
        j: usize,
    },
    /// The multiplicities of statement `statement` of logUp group `group`.
    Multiplicities {
        /// The group.
        group: usize,
        /// The statement within it.
        statement: usize,
    },
    /// Mask table `k` of group `group`'s zk logUp (`ZkLookupMasks::tables` order: the blinding
    /// table, then the GKR's).
    LookupMask {
        /// The group.
        group: usize,
        /// The table.
        k: usize,
    },
}

/// One polynomial of the setup batch and its commitment shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupPoly {
    /// What it is.
    pub kind: SetupPolyKind,
    /// Its variables.
    pub num_vars: usize,
    /// `All` for limbs (their masks are tied to the weight's), `Last` otherwise.
    pub vanishing: Vanishing,
    /// Its mask's degree bits (the weight's for limbs, 1 otherwise).
    pub degree_bits: usize,
}

/// One decomposition of a wide weight: `sign·w + B = Σ_j 2^{16j}·L_j`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decomposition {
    /// `−w` instead of `w`.
    pub negated: bool,
    /// The limbs' batch polys and widths, low first.
    pub limbs: Vec<(usize, u32)>,
}

/// How a weight's range is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightRange {
    /// `bits ≤ 15`: its own rows looked up in `T_bits`.
    Narrow {
        /// The declared bits.
        bits: u32,
    },
    /// `16 ≤ bits ≤ 61`: limbs of `w + B` and `B − w`.
    Wide {
        /// The declared bits.
        bits: u32,
        /// `w + B`, then `B − w`.
        decomps: [Decomposition; 2],
    },
}

impl WeightRange {
    /// The declared bits.
    pub fn bits(&self) -> u32 {
        match self {
            Self::Narrow { bits } | Self::Wide { bits, .. } => *bits,
        }
    }

    /// `B = 2^bits − 1`.
    pub fn bound(&self) -> u64 {
        (1u64 << self.bits()) - 1
    }
}

/// Where a looked-up column lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnPoly {
    /// Weight `k`'s polynomial on ticket 0.
    Weight(usize),
    /// A poly of the setup batch.
    Batch(usize),
}

/// One lookup statement of a group: a table, its columns (per column its components), and the
/// batch poly of its multiplicities.
#[derive(Debug, Clone)]
pub struct RangeStatement {
    /// The table.
    pub table: Table,
    /// The looked-up columns.
    pub columns: Vec<Vec<ColumnPoly>>,
    /// Each column's length (`2^{num_vars}`).
    pub lens: Vec<usize>,
    /// The multiplicities' batch poly.
    pub mult: usize,
}

/// One zk logUp of the setup proof.
#[derive(Debug, Clone)]
pub struct RangeGroup {
    /// Its statements (one per table).
    pub statements: Vec<RangeStatement>,
    /// The batch polys of its masks (`ZkLookupMasks::tables` order).
    pub masks: Vec<usize>,
}

impl RangeGroup {
    /// The statements as `zkinfer_lookup::zk_logup` takes them.
    pub fn refs(&self) -> Vec<(&Table, &[usize])> {
        self.statements.iter().map(|s| (&s.table, s.lens.as_slice())).collect()
    }

    /// The polynomial a zk logUp claim names.
    pub fn route(&self, poly: ZkLookupPoly) -> Option<ColumnPoly> {
        match poly {
            ZkLookupPoly::Column { instance, column, component } => self.statements.get(instance)?.columns.get(column)?.get(component).copied(),
            ZkLookupPoly::Multiplicities { instance } => self.statements.get(instance).map(|s| ColumnPoly::Batch(s.mult)),
            ZkLookupPoly::Blinding => self.masks.first().map(|&p| ColumnPoly::Batch(p)),
            ZkLookupPoly::GkrMask(k) => self.masks.get(k + 1).map(|&p| ColumnPoly::Batch(p)),
        }
    }
}

/// The setup proof's range part as a function of the key: the batch's polys, each weight's
/// method, the logUp groups (module docs). Both sides build it.
#[derive(Debug, Clone)]
pub struct RangePlan {
    /// The setup batch, commitment order.
    pub polys: Vec<SetupPoly>,
    /// Per weight (key order).
    pub weights: Vec<WeightRange>,
    /// The logUp groups, in order.
    pub groups: Vec<RangeGroup>,
}

/// `T_bits = {(i, i) : −B ≤ i ≤ B}`.
pub fn narrow_table(bits: u32) -> Result<Table, ProofSystemError> {
    if bits > MAX_NARROW_BITS {
        return Err(ProofSystemError::Request(format!("a narrow range table of {bits} bits")));
    }
    let b = (1i64 << bits) - 1;
    let rows: Vec<i64> = (-b..=b).collect();
    Table::function(format!("zk-weight-range-{bits}"), &rows, &rows).map_err(|e| ProofSystemError::Request(e.to_string()))
}

fn mask_table_len(num_vars: usize, degree_bits: usize) -> usize {
    1usize << (MASK_COMPONENT_VARS + degree_bits * num_vars.min(MASK_VARS))
}

impl SetupPoly {
    /// Entries of its mask table.
    pub fn mask_len(&self) -> usize {
        mask_table_len(self.num_vars, self.degree_bits)
    }
}

/// A group being filled: statements keyed by (kind, width) so both sides order them alike.
#[derive(Default)]
struct Filling {
    statements: BTreeMap<(u8, u32), (Table, Vec<Vec<ColumnPoly>>, Vec<usize>)>,
    rows: usize,
}

impl RangePlan {
    /// The plan of the key's weights `weights` (hiding key `hk`): refused (naming the weight) for
    /// a weight of fewer than `2^5` padded entries (the zk logUp's smallest block) or more than
    /// [`MAX_ZK_WEIGHT_BITS`] bits.
    pub fn new(weights: &[WeightMeta], hk: &HidingKey) -> Result<Self, ProofSystemError> {
        let vars = weight_num_vars(weights);
        if vars != hk.poly_num_vars {
            return Err(ProofSystemError::Rejected("the hiding weight key does not commit these weights".into()));
        }
        let degree = hk.degree_bits()?;
        let mut plan = Self { polys: Vec::new(), weights: Vec::with_capacity(weights.len()), groups: Vec::new() };
        let mut narrow: BTreeMap<u32, Table> = BTreeMap::new();
        let mut filling = Filling::default();
        for (k, w) in weights.iter().enumerate() {
            let (m, a, bits) = (vars[k], degree[k], w.bits);
            if m < MIN_BLOCK_VARS {
                return Err(ProofSystemError::Request(format!(
                    "weight {} has {} padded entries: the zk setup range proof needs at least {}",
                    w.name,
                    1usize << m,
                    1usize << MIN_BLOCK_VARS
                )));
            }
            if bits > MAX_ZK_WEIGHT_BITS {
                return Err(ProofSystemError::Request(format!("weight {} declares {bits} bits: a zk key allows at most {MAX_ZK_WEIGHT_BITS}", w.name)));
            }
            let len = 1usize << m;
            let mut columns: Vec<((u8, u32), Table, Vec<ColumnPoly>)> = Vec::new();
            let range = if bits <= MAX_NARROW_BITS {
                let table = match narrow.get(&bits) {
                    Some(t) => t.clone(),
                    None => {
                        let t = narrow_table(bits)?;
                        narrow.insert(bits, t.clone());
                        t
                    }
                };
                columns.push(((1, bits), table, vec![ColumnPoly::Weight(k), ColumnPoly::Weight(k)]));
                WeightRange::Narrow { bits }
            } else {
                let total = bits + 1;
                let count = total.div_ceil(LIMB_BITS) as usize;
                let decomp = |negated: bool, plan: &mut Self, columns: &mut Vec<((u8, u32), Table, Vec<ColumnPoly>)>| {
                    let mut limbs = Vec::with_capacity(count);
                    for j in 0..count {
                        let width = (total - j as u32 * LIMB_BITS).min(LIMB_BITS);
                        let p = plan.polys.len();
                        plan.polys.push(SetupPoly { kind: SetupPolyKind::Limb { weight: k, negated, j }, num_vars: m, vanishing: Vanishing::All, degree_bits: a });
                        limbs.push((p, width));
                        columns.push(((0, width), Table::range(width), vec![ColumnPoly::Batch(p)]));
                    }
                    Decomposition { negated, limbs }
                };
                let plus = decomp(false, &mut plan, &mut columns);
                let minus = decomp(true, &mut plan, &mut columns);
                WeightRange::Wide { bits, decomps: [plus, minus] }
            };
            plan.weights.push(range);
            let rows = columns.len() * len;
            if filling.rows > 0 && filling.rows + rows > GROUP_LEAVES {
                plan.close(std::mem::take(&mut filling))?;
            }
            filling.rows += rows;
            for (key, table, col) in columns {
                let entry = filling.statements.entry(key).or_insert_with(|| (table, Vec::new(), Vec::new()));
                entry.1.push(col);
                entry.2.push(len);
            }
        }
        if filling.rows > 0 {
            plan.close(filling)?;
        }
        Ok(plan)
    }

    /// Closes a group: its multiplicities, then its logUp's mask tables (their sizes are public
    /// functions of the statements, `ZkLookupMasks::table_lens`).
    fn close(&mut self, filling: Filling) -> Result<(), ProofSystemError> {
        let group = self.groups.len();
        let mut statements = Vec::with_capacity(filling.statements.len());
        for (statement, (table, columns, lens)) in filling.statements.into_values().enumerate() {
            let mult = self.polys.len();
            self.polys.push(SetupPoly { kind: SetupPolyKind::Multiplicities { group, statement }, num_vars: zk_multiplicity_vars(&table), vanishing: Vanishing::Last, degree_bits: 1 });
            statements.push(RangeStatement { table, columns, lens, mult });
        }
        let mut g = RangeGroup { statements, masks: Vec::new() };
        let lens = ZkLookupMasks::table_lens(&g.refs()).map_err(|e| ProofSystemError::Request(format!("the setup proof's lookups: {e}")))?;
        for (k, len) in lens.into_iter().enumerate() {
            if !len.is_power_of_two() || len < 2 {
                return Err(ProofSystemError::Request("a zk logUp mask table is not a power of two".into()));
            }
            g.masks.push(self.polys.len());
            self.polys.push(SetupPoly { kind: SetupPolyKind::LookupMask { group, k }, num_vars: len.trailing_zeros() as usize, vanishing: Vanishing::Last, degree_bits: 1 });
        }
        self.groups.push(g);
        Ok(())
    }

    /// The setup batch's commitment with root `root`.
    pub fn commitment(&self, root: MerkleRoot) -> HidingCommitment {
        HidingCommitment {
            root,
            poly_num_vars: self.polys.iter().map(|p| p.num_vars).collect(),
            vanishing: self.polys.iter().map(|p| p.vanishing).collect(),
            mask_degree_bits: self.polys.iter().map(|p| p.degree_bits).collect(),
        }
    }
}

/// A fresh point for a wide weight's relations: refused with a boolean coordinate (probability
/// `m·2/|EF|`: the value would not be masked).
pub fn relation_point<T: Transcript>(num_vars: usize, t: &mut T) -> Result<Vec<EF>, ProofSystemError> {
    let q = t.challenge_exts(num_vars);
    if q.iter().any(|&c| c == EF::ZERO || c == EF::ONE) {
        return Err(ProofSystemError::Rejected("a boolean coordinate in a range relation's point".into()));
    }
    Ok(q)
}

/// `Σ_j 2^{16j}·v_j − (±v_W + B)`: zero iff the decomposition's relation holds at the point.
pub fn relation_defect(d: &Decomposition, bound: u64, weight_value: EF, limb_values: &[EF]) -> EF {
    let w = if d.negated { -weight_value } else { weight_value };
    let sum: EF = limb_values.iter().enumerate().map(|(j, &v)| lift(F::from_u64(1u64 << (LIMB_BITS as usize * j))) * v).sum();
    sum - w - lift(F::from_u64(bound))
}

/// Routes a group's logUp claims: to ticket 0 (a narrow weight's own column) or the batch.
pub fn route_lookup_claims(group: &RangeGroup, claims: ZkLookupClaims, ticket: &mut Vec<OpeningClaim>, batch: &mut Vec<OpeningClaim>) -> Result<(), ProofSystemError> {
    for o in claims.openings {
        match group.route(o.poly) {
            Some(ColumnPoly::Weight(poly)) => ticket.push(OpeningClaim { poly, point: o.point, value: o.value }),
            Some(ColumnPoly::Batch(poly)) => batch.push(OpeningClaim { poly, point: o.point, value: o.value }),
            None => return Err(ProofSystemError::Rejected(format!("the setup proof's lookups claim an unknown polynomial {:?}", o.poly))),
        }
    }
    Ok(())
}

/// The aligned blocks `[a, a + 2^s)` covering the padding `[d, 2^n)` of a dimension of size `d`
/// padded to `2^n` (`n = ⌈log2 d⌉`), as `(a >> s, n − s)`: the block's fixed top bits and their
/// count (`≥ 1`: a block never covers the whole dimension, since `d ≥ 1`). Greedy from `d`: the
/// largest aligned block starting at the current index that stays below `2^n`, so at most `n`.
/// Refused for `d = 0` (an empty dimension has no weight to pad).
pub fn padding_blocks(d: usize) -> Result<Vec<(usize, usize)>, ProofSystemError> {
    if d == 0 {
        return Err(ProofSystemError::Request("a weight dimension of size 0".into()));
    }
    let n = d.next_power_of_two().trailing_zeros() as usize;
    let end = 1usize << n;
    let mut out = Vec::new();
    let mut x = d;
    while x < end {
        let mut s = x.trailing_zeros() as usize;
        while x + (1usize << s) > end {
            s -= 1;
        }
        out.push((x >> s, n - s));
        x += 1usize << s;
    }
    Ok(out)
}

/// One padding claim's point template: per coordinate, `Some(bit)` where the block fixes it,
/// `None` where the transcript draws a challenge.
fn templates(shape: &[usize]) -> Result<Vec<Vec<Option<bool>>>, ProofSystemError> {
    let ns: Vec<usize> = shape.iter().map(|&d| d.next_power_of_two().trailing_zeros() as usize).collect();
    let total: usize = ns.iter().sum();
    let mut out = Vec::new();
    let mut start = 0;
    for (&d, &n) in shape.iter().zip(&ns) {
        for (prefix, fixed) in padding_blocks(d)? {
            let mut tpl = vec![None; total];
            for b in 0..fixed {
                // MSB first within the dimension.
                tpl[start + b] = Some((prefix >> (fixed - 1 - b)) & 1 == 1);
            }
            out.push(tpl);
        }
        start += n;
    }
    Ok(out)
}

/// The padding claims on the key's weights, their free coordinates drawn from `t` (both sides):
/// per weight in key order, per dimension, per block ([`padding_blocks`]), `Ŵ(z) = 0`.
pub fn padding_claims<T: Transcript>(weights: &[WeightMeta], t: &mut T) -> Result<Vec<OpeningClaim>, ProofSystemError> {
    let vars = weight_num_vars(weights);
    let mut claims = Vec::new();
    for (poly, w) in weights.iter().enumerate() {
        for tpl in templates(&w.shape)? {
            debug_assert_eq!(tpl.len(), vars[poly]);
            let free = tpl.iter().filter(|b| b.is_none()).count();
            let mut r = t.challenge_exts(free).into_iter();
            let point = tpl
                .iter()
                .map(|b| match b {
                    Some(true) => Some(EF::ONE),
                    Some(false) => Some(EF::ZERO),
                    None => r.next(),
                })
                .collect::<Option<Vec<EF>>>()
                .ok_or_else(|| ProofSystemError::Request("padding claim point".into()))?;
            claims.push(OpeningClaim { poly, point, value: EF::ZERO });
        }
    }
    Ok(claims)
}

/// The setup proof's transcript domain: the protocol, and `key_binding` (for a zk key, BLAKE3 of
/// its bytes without the setup proof, [`ZkVerifyingKey::setup_binding`]) — so the proof is bound
/// to the hiding key, the shapes, the graph and the vocabulary before any challenge.
pub fn setup_domain(key_binding: &[u8; 32]) -> DomainSeparator {
    DomainSeparator::new(ZK_SETUP_PROTOCOL, ZK_SETUP_VERSION).with_public("zk key without its setup proof", key_binding)
}

/// Verifies a setup proof `proof` of the hiding key `hk` over the weights `weights` under the
/// binding `key_binding` ([`setup_domain`]): the padding and range claims (module docs).
pub fn verify_zk_setup_on(hk: &HidingKey, weights: &[WeightMeta], key_binding: &[u8; 32], proof: &[u8]) -> Result<(), ProofSystemError> {
    if proof.is_empty() {
        return Err(ProofSystemError::Rejected(
            "the zk key carries no setup proof (its weights are not shown zero on their padding and within their declared ranges): run setup --zk again".into(),
        ));
    }
    let fail = |e: String| ProofSystemError::Rejected(format!("the zk key's setup proof fails (its weights are not shown zero on their padding and within their declared ranges): {e}"));
    let plan = RangePlan::new(weights, hk).map_err(|e| fail(e.to_string()))?;
    let ds = setup_domain(key_binding);
    let inner = |t: &mut VerifierTranscript<'_>| -> Result<(), ProofSystemError> {
        let root = t.receive_bytes()?;
        let root: [u8; 32] = root.try_into().map_err(|_| ProofSystemError::Rejected(format!("a setup batch root of {} bytes, not 32", root.len())))?;
        let pcs = HidingPcs::default();
        let com = plan.commitment(MerkleRoot::new(vec![root]));
        pcs.absorb_commitment(&com, t);
        let mut ticket = padding_claims(weights, t)?;
        let mut batch = Vec::new();
        let vars = weight_num_vars(weights);
        for (k, range) in plan.weights.iter().enumerate() {
            let WeightRange::Wide { decomps, .. } = range else { continue };
            let q = relation_point(vars[k], t)?;
            let w = t.receive_ext()?;
            ticket.push(OpeningClaim { poly: k, point: q.clone(), value: w });
            for d in decomps {
                let values = t.receive_exts(d.limbs.len())?;
                if relation_defect(d, range.bound(), w, &values) != EF::ZERO {
                    let what = if d.negated { "B − w" } else { "w + B" };
                    return Err(ProofSystemError::Rejected(format!(
                        "weight {}: the limbs of {what} do not sum to it (an entry outside its declared {} bits)",
                        weights[k].name,
                        range.bits()
                    )));
                }
                batch.extend(d.limbs.iter().zip(values).map(|(&(poly, _), value)| OpeningClaim { poly, point: q.clone(), value }));
            }
        }
        for g in &plan.groups {
            let claims = verify_lookups_zk(&g.refs(), t).map_err(|e| ProofSystemError::Rejected(format!("the weights' range lookups: {e}")))?;
            route_lookup_claims(g, claims, &mut ticket, &mut batch)?;
        }
        pcs.verify(&com, &batch, t)?;
        // Never empty: the key's link claims are added (a key without padding still opens ticket 0).
        hk.verify_ticket(&pcs, SETUP_TICKET as usize, &ticket, t)?;
        Ok(())
    };
    let mut t = VerifierTranscript::new(&ds, proof);
    inner(&mut t).map_err(|e| fail(e.to_string()))?;
    t.finish().map_err(|e| fail(e.to_string()))
}

/// Verifies a zk key's own setup proof ([`verify_zk_setup_on`] under the key's binding).
pub fn verify_zk_setup(vk: &ZkVerifyingKey) -> Result<(), ProofSystemError> {
    verify_zk_setup_on(&vk.weights, &vk.public.weights, &vk.setup_binding()?, &vk.setup_proof)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    #[test]
    fn padding_blocks_cover_exactly_the_padding() {
        for d in 1..=300usize {
            let n = d.next_power_of_two().trailing_zeros() as usize;
            let blocks = padding_blocks(d).unwrap();
            assert_eq!(blocks.len(), ((1usize << n) - d).count_ones() as usize, "d = {d}");
            let mut covered = vec![false; 1 << n];
            for (prefix, fixed) in blocks {
                assert!(fixed >= 1 && fixed <= n, "d = {d}");
                let s = n - fixed;
                for x in prefix << s..(prefix + 1) << s {
                    assert!(!covered[x], "d = {d}: {x} twice");
                    covered[x] = true;
                }
            }
            for (x, c) in covered.iter().enumerate() {
                assert_eq!(*c, x >= d, "d = {d}, x = {x}");
            }
        }
        assert!(padding_blocks(0).is_err());
        assert_eq!(padding_blocks(24).unwrap(), vec![(3, 2)]);
        assert_eq!(padding_blocks(32).unwrap(), vec![]);
    }
}
