//! Zero-knowledge logUp (issue 13): the lookup statement of [`crate::logup`] proven through the
//! masked fraction-sum GKR of [`crate::zk`], with the looked-up columns, the multiplicities and
//! every mask held in ONE hiding commitment (the caller's, e.g. `zkinfer_pcs::hiding`).
//!
//! # Statement
//!
//! As [`crate::logup`]: witness columns `c_1, …, c_K` (lengths `n_k ≥ 1`, rows of
//! [`Table::arity`] components) and a table `T`; every row of every column is a row of `T`. The
//! multiplicity column `m` is the prover's. Public: the table, the column lengths. Hidden: the
//! columns, `m`.
//!
//! # One tree, aligned blocks
//!
//! The leaves are laid out as aligned blocks, longest first (as [`crate::logup`] stacks its
//! columns), in **one** tree of depth `D = ⌈log2 Σ 2^{v_b}⌉`:
//!
//! * column `k`: a block of `2^{v_k}` leaves, `v_k = max(⌈log2 n_k⌉, 5)` ([`zk_column_vars`]):
//!   `1/(α − w_i)`, `w = Σ_c β^c·c_{k,c}`, rows `≥ n_k` padded with the table's first row `t_0`
//!   (counted in `m_0`, as in public mode; [`compute_multiplicities_zk`]);
//! * the table: a block of `2^{v_T}` leaves, `v_T = max(κ, 5)` ([`zk_multiplicity_vars`]):
//!   `−m_j/(α − t_j)`, with `t_j = t_0` beyond the padded table (those `m_j` are committed as 0;
//!   a non-zero one would only count more `t_0` lookups);
//! * the blinding block: `2^5` leaves `0/b_i`, `b_i = B(γ, i)` with `B` a random table of
//!   `4·2^5` base-field entries and `γ = (X, X²)` (`zkinfer_sumcheck::zk::gamma`), so every `b_i`
//!   is uniform in `EF` — the blinding must be uniform over the *extension* field: the leaves
//!   `α − w` are extension elements, so the root `q_0 = Π_i q_i` is one, and only a uniform `EF*`
//!   factor makes it uniform in `EF*`;
//! * the remaining (uncovered) leaves: `0/1`.
//!
//! Several statements (different tables, each with its own `β, α`, as [`crate::prove_lookups`]
//! batches them) share the one tree ([`prove_lookups_zk`]): their blocks are laid out together
//! and one blinding block serves all. The sum of every statement's fractions is 0; as rational
//! functions of independent `α_i` the statements' sums can only cancel if each is 0 (a non-zero
//! one is a non-constant function of its own `α_i`), so the error is the sum of the statements'
//! `α` terms (Schwartz–Zippel on the cleared numerator).
//!
//! The fractions sum to `S = 0` exactly when the logUp identity holds, and the zk GKR proves
//! `Σ p_i/q_i = 0` ([`zk::prove_ext`]). One tree, not the public mode's up to five: the zk GKR
//! reveals only the root denominator of the whole sum; several trees would reveal each tree's
//! partial sum (a function of the witness). The price is the rounding to a power of two (up to
//! 2× the public mode's leaves, see `docs/SECURITY.md`).
//!
//! Blocks have at least `2^5` leaves because the hiding PCS masks a polynomial of `m` variables
//! in its first `min(m, 4)` variables: with `≥ 5` variables the mask never involves the block's
//! (= the tree's) last variable, which the zk GKR's last-layer degree needs. **The caller commits
//! each component of column `k` padded with zeros to `2^{v_k}` rows** ([`zk_committed_column`]),
//! `m` of length `2^{v_T}` ([`compute_multiplicities_zk`]) and the mask tables
//! ([`ZkLookupMasks::tables`]), all in one hiding commitment absorbed before [`prove_lookup_zk`].
//!
//! # Leaf claims
//!
//! The GKR ends with claims on the leaves' randomised extensions `P̂(r)`, `Q̂(r)`. These are
//! *virtual*: with `r = (r_top, r_low)` per block and `Ĉ` the hiding commitment's randomised
//! extension of each committed polynomial,
//!
//! ```text
//! P̂(r) = Σ_{column blocks} eq(r_top, b) − eq(r_top, b_T)·M̂(r_low)
//! Q̂(r) = Σ_{column blocks} eq(r_top, b)·(α − Σ_c β^c·(Ĉ_{k,c}(r_low) + t_{0,c}·tail_{n_k}(r_low)))
//!        + eq(r_top, b_T)·(α − Σ_c β^c·T'_c(r_low)) + eq(r_top, b_B)·B̂(γ, r_low) + tail_used(r)
//! ```
//!
//! (`T'` the table padded with `t_0`, public; `tail` as in [`crate::logup`]). Because every
//! block's mask lives in its first four low variables, `P̂ − P` and `Q̂ − Q` are
//! `r_last(1 − r_last)·H(r)` with `H` independent of `r_last` — exactly the leaf shape the zk GKR
//! needs; the prover hands it `H` (built from the commitment's masks). After the GKR the prover
//! sends `Ĉ_{k,c}(r_low)` for every column and component, `M̂(r_low)` and `B̂(γ, r_low)`; the
//! verifier checks both equations and returns them (and the GKR's mask claims) as
//! [`ZkOpening`]s the caller opens against the commitment.
//!
//! # Soundness
//!
//! Columns, `m` and masks are bound before `β, α`. The logUp identity: `(N + 2^{v_T})/|EF|` for
//! `α` (`N` = total padded lookups) and `N·2^{v_T}/|EF|` for `β` (function tables), as in public
//! mode (the `0/b` and `0/1` leaves add exactly zero; the padding rows are counted in `m_0`).
//! The zk GKR: `Σ_{j<D}(7j + 3) + 10 ≤ 3.5D² + 7D` over `|EF|` ([`crate::zk`]), `D ≤ 40`:
//! `≤ 2^-179`. The leaf claims are identities of multilinear (randomised) extensions, checked
//! exactly; the openings carry the PCS's error. Multiplicities are counted mod `p`; the
//! characteristic exceeds the number of lookups (`N < 2^40`, enforced), so `m_j` mod `p` is the
//! count (no wrap).
//!
//! # Zero knowledge (honest verifier, made non-interactive)
//!
//! The view: the zk GKR's messages, then the column values `Ĉ_{k,c}(r_low)`, `M̂(r_low)`,
//! `B̂(γ, r_low)`. Every block has fewer than `D` variables, so `r_low` lies inside the last
//! sumcheck point `s` (the GKR's leaf point is `(ρ, s)`): the leaf children `P̂(b, s)`,
//! `Q̂(b, s)` are public functions of exactly those values, and each value is masked by its own
//! polynomial's PCS mask at `s` (uniform in `EF`, independent). [`simulate_lookup_zk`] samples the
//! values uniformly, computes the children from them, and runs [`zk::simulate_ext`] around them
//! (`q_0` uniform in `EF*` — the blinding block; every other layer as in [`crate::zk`]).
//! Statistical distance `O(D/|EF|)`; the hiding commitment is computational. Leaks: the table,
//! the column lengths (hence `D`), timing.
//!
//! # Cost
//!
//! Wire: the zk GKR (`q_0` and per layer `j ≥ 1` `6j + 7` extension elements) plus
//! `K·arity + 2` extension elements; masks: the GKR's ([`zk::num_mask_tables`]) plus the
//! 128-entry blinding table. Figures: `docs/SECURITY.md`,
//! `cargo run --release -p zkinfer-lookup --example zk_logup_cost`.

use p3_field::PrimeCharacteristicRing;
use p3_maybe_rayon::prelude::*;
use rand10::{Rng, RngExt};
use zkinfer_field::{EF, F, lift};
use zkinfer_poly::{eq_evals, next_pow2_vars};
use zkinfer_sumcheck::zk::gamma as mask_gamma;
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::logup::{
    LookupColumn, LookupError, LookupInstance, check_columns, check_shapes, compress, compute_multiplicities, eq_at_index,
    zero_padded_eval,
};
use crate::table::{Table, tail_eq_sum};
use crate::zk::{self, Committed, MAX_ZK_DEPTH, ZkGkrMasks};

/// Label under which the statement (table descriptor and column lengths) is absorbed.
const STATEMENT_LABEL: &str = "zkinfer/logup-zk/v1";

/// Smallest block: `2^5` leaves, one more variable than the hiding PCS's mask
/// (`zkinfer_pcs::hiding::MASK_VARS = 4`), so no committed polynomial's mask involves its last
/// variable.
pub const MIN_BLOCK_VARS: usize = 5;

/// Variables of the blinding block (its leaves).
const BLIND_VARS: usize = MIN_BLOCK_VARS;

/// Variables of the committed blinding table `B(c_0, c_1, i)`: two for the four base-field
/// components combined by `γ`, then the block's leaves.
pub const BLINDING_TABLE_VARS: usize = 2 + BLIND_VARS;

/// A polynomial of the caller's hiding commitment that the zk logUp makes claims on.
/// `instance` is the statement's index in [`prove_lookups_zk`] (0 for [`prove_lookup_zk`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZkLookupPoly {
    /// Component `component` of column `column`, zero-padded to `2^{zk_column_vars(len)}` rows.
    Column {
        /// Index of the statement.
        instance: usize,
        /// Index of the column.
        column: usize,
        /// Index of the component (0 for ranges; 0 = input, 1 = output for function tables).
        component: usize,
    },
    /// The statement's multiplicity column, `2^{zk_multiplicity_vars}` entries.
    Multiplicities {
        /// Index of the statement.
        instance: usize,
    },
    /// The blinding table ([`ZkLookupMasks::tables`]).
    Blinding,
    /// GKR mask table `k` ([`zk::ZkGkrMasks::tables`]).
    GkrMask(usize),
}

/// `M(z_{<μ})` of the caller's hiding commitment for polynomial `poly` at `z` (as many coordinates
/// as the polynomial has variables): claims are on `P̂(z) = P(z) + z_last(1 − z_last)·M(z_{<μ})`
/// (`zkinfer_pcs::hiding::HidingProverData::mask_value`).
pub type ZkHidden<'a> = &'a (dyn Fn(ZkLookupPoly, &[EF]) -> EF + Sync);

/// One claim to open against the hiding commitment: `P̂_poly(point) = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkOpening {
    /// The polynomial.
    pub poly: ZkLookupPoly,
    /// The point (as many coordinates as the polynomial has variables).
    pub point: Vec<EF>,
    /// The claimed value of the randomised extension.
    pub value: EF,
}

/// What prover and verifier end with: every claim the caller must open (equal on both sides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkLookupClaims {
    /// Per statement its columns (column then component order) and `m`; then the blinding table;
    /// then the GKR masks.
    pub openings: Vec<ZkOpening>,
}

/// Variables of column `k`'s committed polynomials: `max(⌈log2 len⌉, 5)`.
pub fn zk_column_vars(len: usize) -> usize {
    next_pow2_vars(len).max(MIN_BLOCK_VARS)
}

/// Variables of the committed multiplicity column: `max(κ, 5)`.
pub fn zk_multiplicity_vars(table: &Table) -> usize {
    table.num_vars().max(MIN_BLOCK_VARS)
}

/// A column component as the caller commits it: zero-padded to `2^{zk_column_vars(len)}`.
pub fn zk_committed_column(values: &[F]) -> Vec<F> {
    let mut v = values.to_vec();
    v.resize(1usize << zk_column_vars(values.len()), F::ZERO);
    v
}

/// The multiplicity column of the zk layout: [`compute_multiplicities`] plus the extra padding
/// rows of short columns (`2^{zk_column_vars} − 2^{⌈log2 n⌉}`, all `t_0`, in `m_0`), padded with
/// zeros to `2^{zk_multiplicity_vars}`.
pub fn compute_multiplicities_zk(table: &Table, columns: &[LookupColumn<'_>]) -> Result<Vec<F>, LookupError> {
    let mut m = compute_multiplicities(table, columns)?;
    let extra: u64 = columns.iter().map(|c| (1u64 << zk_column_vars(c.len())) - (1u64 << next_pow2_vars(c.len()))).sum();
    m[0] += F::from_u64(extra);
    m.resize(1usize << zk_multiplicity_vars(table), F::ZERO);
    Ok(m)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `(statement, column)`.
    Column(usize, usize),
    /// A statement's table.
    Table(usize),
    Blinding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    kind: Kind,
    vars: usize,
    offset: usize,
}

/// The tree: aligned blocks from leaf 0 (longest first; ties in statement order, columns before
/// the table, the blinding block last), then `2^depth − used` uncovered `0/1` leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    depth: usize,
    used: usize,
    blocks: Vec<Block>,
}

/// One statement: the table and its column lengths.
type Statement<'s> = (&'s Table, &'s [usize]);

fn layout(statements: &[Statement<'_>]) -> Result<Layout, LookupError> {
    if statements.is_empty() {
        return Err(LookupError::InvalidColumns("no lookup statement".into()));
    }
    let mut sized: Vec<(Kind, usize)> = Vec::new();
    for (i, &(table, lens)) in statements.iter().enumerate() {
        check_shapes(table, lens)?;
        sized.extend(lens.iter().enumerate().map(|(k, &n)| (Kind::Column(i, k), zk_column_vars(n))));
        sized.push((Kind::Table(i), zk_multiplicity_vars(table)));
    }
    sized.push((Kind::Blinding, BLIND_VARS));
    sized.sort_by_key(|&(_, vars)| std::cmp::Reverse(vars));
    let total: u128 = sized.iter().map(|&(_, v)| 1u128 << v).sum();
    if total > 1u128 << MAX_ZK_DEPTH {
        return Err(LookupError::InvalidColumns(format!("{total} leaves exceed the zk GKR's depth {MAX_ZK_DEPTH}")));
    }
    let mut offset = 0usize;
    let mut blocks = Vec::with_capacity(sized.len());
    for (kind, vars) in sized {
        blocks.push(Block { kind, vars, offset });
        offset += 1usize << vars;
    }
    Ok(Layout { depth: next_pow2_vars(offset), used: offset, blocks })
}

/// Absorbs one statement and draws its `(β, α)`.
fn statement_challenges<T: Transcript>(t: &mut T, table: &Table, lens: &[usize]) -> (EF, EF) {
    let mut statement = table.descriptor();
    statement.extend_from_slice(&(lens.len() as u64).to_le_bytes());
    for &n in lens {
        statement.extend_from_slice(&(n as u64).to_le_bytes());
    }
    t.absorb_public_bytes(STATEMENT_LABEL, &statement);
    let beta = if table.arity() > 1 { t.challenge_ext() } else { EF::ZERO };
    let alpha = t.challenge_ext();
    (beta, alpha)
}

/// `v(t) = t(1 − t)`.
fn vanish(t: EF) -> EF {
    t * (EF::ONE - t)
}

/// The blinding table's point for leaf point `low`: `(γ_0, γ_1, low)`.
fn blind_point(low: &[EF]) -> Vec<EF> {
    let g = mask_gamma();
    let mut p = vec![g[0], g[1]];
    p.extend_from_slice(low);
    p
}

/// One statement's public context.
struct StatementCtx<'a> {
    table: &'a Table,
    lens: &'a [usize],
    alpha: EF,
    beta: EF,
    first_row: Vec<EF>,
}

/// The public context both sides (and the simulator) evaluate the virtual leaves in.
struct Ctx<'a> {
    statements: Vec<StatementCtx<'a>>,
    layout: Layout,
}

impl<'a> Ctx<'a> {
    /// Checks the shapes, absorbs every statement and draws its challenges, in order.
    fn new<T: Transcript>(statements: &[Statement<'a>], t: &mut T) -> Result<Self, LookupError> {
        let layout = layout(statements)?;
        let statements = statements
            .iter()
            .map(|&(table, lens)| {
                let (beta, alpha) = statement_challenges(t, table, lens);
                StatementCtx { table, lens, alpha, beta, first_row: table.first_row().into_iter().map(lift).collect() }
            })
            .collect();
        Ok(Self { statements, layout })
    }
}

/// One statement's randomised-extension values sent after the GKR.
#[derive(Debug, Clone)]
struct StatementValues {
    columns: Vec<Vec<EF>>,
    m: EF,
}

/// Everything the prover sends after the GKR.
#[derive(Debug, Clone)]
struct BlockValues {
    statements: Vec<StatementValues>,
    blind: EF,
}

impl StatementCtx<'_> {
    /// `T'_c(low)`: the table padded with `t_0` to `2^{v_T}` rows.
    fn table_row(&self, low: &[EF]) -> Result<Vec<EF>, LookupError> {
        let (pre, rest) = low.split_at(low.len() - self.table.num_vars());
        let inside = eq_at_index(pre, 0);
        let t = self.table.evaluate_mle(rest)?;
        Ok(t.iter().zip(&self.first_row).map(|(&v, &t0)| inside * v + (EF::ONE - inside) * t0).collect())
    }
}

impl Ctx<'_> {
    /// `(P̂(z), Q̂(z))` of the virtual leaves from the block values at `z`'s block points.
    fn leaf_at(&self, z: &[EF], vals: &BlockValues) -> Result<(EF, EF), LookupError> {
        let depth = self.layout.depth;
        let (mut p, mut q) = (EF::ZERO, tail_eq_sum(z, self.layout.used));
        for b in &self.layout.blocks {
            let (top, low) = z.split_at(depth - b.vars);
            let sel = eq_at_index(top, b.offset >> b.vars);
            match b.kind {
                Kind::Column(i, k) => {
                    let st = &self.statements[i];
                    let tail = tail_eq_sum(low, st.lens[k]);
                    let w: Vec<EF> = vals.statements[i].columns[k].iter().zip(&st.first_row).map(|(&v, &t0)| v + t0 * tail).collect();
                    p += sel;
                    q += sel * (st.alpha - compress(st.beta, w.into_iter()));
                }
                Kind::Table(i) => {
                    let st = &self.statements[i];
                    p -= sel * vals.statements[i].m;
                    q += sel * (st.alpha - compress(st.beta, st.table_row(low)?.into_iter()));
                }
                Kind::Blinding => q += sel * vals.blind,
            }
        }
        Ok((p, q))
    }

    /// `(H_P(z), H_Q(z))`: the virtual leaves' randomised-extension masks, from the commitment's.
    fn leaf_masks(&self, z: &[EF], hidden: ZkHidden<'_>) -> (EF, EF) {
        let depth = self.layout.depth;
        let (mut p, mut q) = (EF::ZERO, EF::ZERO);
        for b in &self.layout.blocks {
            let (top, low) = z.split_at(depth - b.vars);
            let sel = eq_at_index(top, b.offset >> b.vars);
            match b.kind {
                Kind::Column(instance, column) => {
                    let st = &self.statements[instance];
                    let m: Vec<EF> =
                        (0..st.table.arity()).map(|component| hidden(ZkLookupPoly::Column { instance, column, component }, low)).collect();
                    q -= sel * compress(st.beta, m.into_iter());
                }
                Kind::Table(instance) => p -= sel * hidden(ZkLookupPoly::Multiplicities { instance }, low),
                Kind::Blinding => q += sel * hidden(ZkLookupPoly::Blinding, &blind_point(low)),
            }
        }
        (p, q)
    }

    /// The low coordinates of `point` for a block of `vars` variables.
    fn low<'p>(&self, point: &'p [EF], vars: usize) -> &'p [EF] {
        &point[point.len() - vars..]
    }

    fn openings(&self, point: &[EF], vals: &BlockValues, gkr: &zk::ZkGkrClaims) -> ZkLookupClaims {
        let mut openings = Vec::new();
        for (instance, (st, sv)) in self.statements.iter().zip(&vals.statements).enumerate() {
            for (column, (values, &n)) in sv.columns.iter().zip(st.lens).enumerate() {
                let low = self.low(point, zk_column_vars(n)).to_vec();
                for (component, &value) in values.iter().enumerate() {
                    openings.push(ZkOpening { poly: ZkLookupPoly::Column { instance, column, component }, point: low.clone(), value });
                }
            }
            let low = self.low(point, zk_multiplicity_vars(st.table)).to_vec();
            openings.push(ZkOpening { poly: ZkLookupPoly::Multiplicities { instance }, point: low, value: sv.m });
        }
        openings.push(ZkOpening { poly: ZkLookupPoly::Blinding, point: blind_point(self.low(point, BLIND_VARS)), value: vals.blind });
        openings.extend(gkr.masks.iter().map(|c| ZkOpening { poly: ZkLookupPoly::GkrMask(c.mask), point: c.point.clone(), value: c.value }));
        ZkLookupClaims { openings }
    }
}

fn send_values(vals: &BlockValues, t: &mut ProverTranscript) {
    for sv in &vals.statements {
        for v in &sv.columns {
            t.send_exts(v);
        }
        t.send_ext(sv.m);
    }
    t.send_ext(vals.blind);
}

/// The random masks of one zk lookup proof (prover secret): the GKR's mask tables and the
/// blinding table. Commit [`ZkLookupMasks::tables`] with the columns and `m` in one hiding
/// commitment.
#[derive(Clone)]
pub struct ZkLookupMasks {
    gkr: ZkGkrMasks,
    blinding: Vec<F>,
}

impl std::fmt::Debug for ZkLookupMasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret masks.
        f.debug_struct("ZkLookupMasks").field("depth", &self.gkr.depth()).finish_non_exhaustive()
    }
}

impl ZkLookupMasks {
    /// Samples the masks for a lookup of columns of lengths `lens` into `table`. `rng` must be a
    /// cryptographic generator seeded from unpredictable entropy for zero knowledge to hold.
    pub fn sample<R: Rng + ?Sized>(table: &Table, lens: &[usize], rng: &mut R) -> Result<Self, LookupError> {
        Self::sample_batch(&[(table, lens)], rng)
    }

    /// [`ZkLookupMasks::sample`] for several statements proven together ([`prove_lookups_zk`]).
    pub fn sample_batch<R: Rng + ?Sized>(statements: &[(&Table, &[usize])], rng: &mut R) -> Result<Self, LookupError> {
        let layout = layout(statements)?;
        let gkr = ZkGkrMasks::sample(layout.depth, rng)?;
        let blinding = (0..1usize << BLINDING_TABLE_VARS).map(|_| rng.random::<F>()).collect();
        Ok(Self { gkr, blinding })
    }

    /// Depth of the GKR tree.
    pub fn depth(&self) -> usize {
        self.gkr.depth()
    }

    /// The lengths of [`ZkLookupMasks::tables`] for these statements, without sampling (a
    /// verifier sizing the hiding batch that holds them): the blinding table, then the GKR's.
    pub fn table_lens(statements: &[(&Table, &[usize])]) -> Result<Vec<usize>, LookupError> {
        let layout = layout(statements)?;
        let mut lens = vec![1usize << BLINDING_TABLE_VARS];
        lens.extend(zk::mask_table_lens(layout.depth)?);
        Ok(lens)
    }

    /// The tables to commit: the blinding table, then every GKR mask table.
    pub fn tables(&self) -> Vec<(ZkLookupPoly, &[F])> {
        let mut out = vec![(ZkLookupPoly::Blinding, self.blinding.as_slice())];
        out.extend(self.gkr.tables().iter().enumerate().map(|(k, t)| (ZkLookupPoly::GkrMask(k), t.as_slice())));
        out
    }
}

/// Proves in zero knowledge that every row of `columns` is in `table`, with the multiplicity
/// column `multiplicities` (normally [`compute_multiplicities_zk`]).
///
/// **Precondition:** the hiding commitment holding the columns ([`zk_committed_column`] of every
/// component), `m` and `masks.tables()` is absorbed into `t`; `hidden` returns its masks. Returns
/// the claims to open against it (equal to what [`verify_lookup_zk`] returns).
pub fn prove_lookup_zk(
    table: &Table,
    columns: &[LookupColumn<'_>],
    multiplicities: &[F],
    masks: &ZkLookupMasks,
    hidden: ZkHidden<'_>,
    t: &mut ProverTranscript,
) -> Result<ZkLookupClaims, LookupError> {
    let instance = LookupInstance { table, columns: columns.to_vec(), multiplicities };
    prove_inner(&[instance], masks, hidden, t, &Cheat::default())
}

/// Several lookup statements (different tables, each with its own `β, α`) in ONE zk tree and one
/// masked GKR — the zk counterpart of [`crate::prove_lookups`]. Each statement's
/// `multiplicities` is [`compute_multiplicities_zk`]'s. Same precondition and claims as
/// [`prove_lookup_zk`]; statement `i`'s polynomials carry `instance: i`.
pub fn prove_lookups_zk(
    instances: &[LookupInstance<'_>],
    masks: &ZkLookupMasks,
    hidden: ZkHidden<'_>,
    t: &mut ProverTranscript,
) -> Result<ZkLookupClaims, LookupError> {
    prove_inner(instances, masks, hidden, t, &Cheat::default())
}

/// Deviations of a malicious prover (tests): the leaves are built from the instances given to
/// the prover, while the values sent after the GKR for statement 0 come from these instead;
/// `leaves` edits the leaf vectors before the GKR.
#[derive(Default)]
pub(crate) struct Cheat<'a> {
    pub sent_columns: Option<&'a [Vec<F>]>,
    pub sent_m: Option<&'a [F]>,
    #[allow(clippy::type_complexity)]
    pub leaves: Option<&'a dyn Fn(&mut Vec<EF>, &mut Vec<EF>)>,
}

pub(crate) fn prove_inner(
    instances: &[LookupInstance<'_>],
    masks: &ZkLookupMasks,
    hidden: ZkHidden<'_>,
    t: &mut ProverTranscript,
    cheat: &Cheat<'_>,
) -> Result<ZkLookupClaims, LookupError> {
    let lens: Vec<Vec<usize>> = instances.iter().map(|inst| inst.columns.iter().map(LookupColumn::len).collect()).collect();
    for (inst, lens) in instances.iter().zip(&lens) {
        check_columns(inst.table, &inst.columns)?;
        let want = 1usize << zk_multiplicity_vars(inst.table);
        if inst.multiplicities.len() != want {
            return Err(LookupError::MultiplicityLength { got: inst.multiplicities.len(), want });
        }
        debug_assert_eq!(lens.len(), inst.columns.len());
    }
    let statements: Vec<Statement<'_>> = instances.iter().zip(&lens).map(|(inst, l)| (inst.table, l.as_slice())).collect();
    let expected_depth = layout(&statements)?.depth;
    if masks.depth() != expected_depth {
        return Err(LookupError::InvalidColumns(format!("masks for depth {}, tree of depth {expected_depth}", masks.depth())));
    }
    let ctx = Ctx::new(&statements, t)?;
    let depth = ctx.layout.depth;

    // The leaves.
    let size = 1usize << depth;
    let mut p = vec![EF::ZERO; size];
    let mut q = vec![EF::ONE; size];
    let gamma_eq = eq_evals(&mask_gamma());
    for b in &ctx.layout.blocks {
        let range = b.offset..b.offset + (1usize << b.vars);
        match b.kind {
            Kind::Column(i, k) => {
                let (st, col) = (&ctx.statements[i], &instances[i].columns[k]);
                let pad_q = st.alpha - compress(st.beta, st.first_row.iter().copied());
                p[range.clone()].fill(EF::ONE);
                q[range].par_iter_mut().with_min_len(1 << 12).enumerate().for_each(|(r, out)| {
                    *out = if r < col.len() { st.alpha - compress(st.beta, col.components.iter().map(|c| lift(c[r]))) } else { pad_q };
                });
            }
            Kind::Table(i) => {
                let (st, table) = (&ctx.statements[i], instances[i].table);
                let pad_q = st.alpha - compress(st.beta, st.first_row.iter().copied());
                let comps: Vec<Vec<F>> = (0..table.arity()).map(|c| table.padded_component(c)).collect();
                let t_len = table.padded_len();
                p[range.clone()].par_iter_mut().zip(instances[i].multiplicities).with_min_len(1 << 12).for_each(|(out, &m)| *out = -lift(m));
                q[range].par_iter_mut().with_min_len(1 << 12).enumerate().for_each(|(j, out)| {
                    *out = if j < t_len { st.alpha - compress(st.beta, comps.iter().map(|c| lift(c[j]))) } else { pad_q };
                });
            }
            Kind::Blinding => {
                let n = 1usize << BLIND_VARS;
                for (i, out) in q[range].iter_mut().enumerate() {
                    *out = (0..4).map(|c| gamma_eq[c] * masks.blinding[c * n + i]).sum();
                }
            }
        }
    }
    if q.contains(&EF::ZERO) {
        // α hit a looked-up value or a blinding value is 0: probability ≤ (N + 2^κ + 32)/|EF|.
        return Err(LookupError::ZeroDenominator);
    }
    if let Some(edit) = cheat.leaves {
        edit(&mut p, &mut q);
    }

    let gkr_hidden = |c: Committed, z: &[EF]| match c {
        Committed::LeafNumerators => ctx.leaf_masks(z, hidden).0,
        Committed::LeafDenominators => ctx.leaf_masks(z, hidden).1,
        Committed::Mask(k) => hidden(ZkLookupPoly::GkrMask(k), z),
    };
    let gkr = zk::prove_ext(p, q, EF::ZERO, &masks.gkr, &gkr_hidden, t)?;

    // The randomised-extension values at the block points.
    let r = &gkr.leaf.point;
    let v = vanish(*r.last().unwrap_or(&EF::ZERO));
    let mut eq_tables: std::collections::HashMap<usize, Vec<EF>> = std::collections::HashMap::new();
    let mut eval = |poly: ZkLookupPoly, values: &[F], point: &[EF]| -> EF {
        let eq = eq_tables.entry(point.len()).or_insert_with(|| eq_evals(point));
        zero_padded_eval(eq, values) + v * hidden(poly, point)
    };
    let mut vals = BlockValues { statements: Vec::with_capacity(instances.len()), blind: EF::ZERO };
    for (instance, (inst, lens)) in instances.iter().zip(&lens).enumerate() {
        let sent_columns: Vec<Vec<&[F]>> = match cheat.sent_columns {
            Some(cols) if instance == 0 => cols.chunks(inst.table.arity()).map(|c| c.iter().map(Vec::as_slice).collect()).collect(),
            _ => inst.columns.iter().map(|c| c.components.clone()).collect(),
        };
        let mut columns = Vec::with_capacity(lens.len());
        for (column, (comps, &n)) in sent_columns.iter().zip(lens).enumerate() {
            let low = ctx.low(r, zk_column_vars(n));
            columns.push(comps.iter().enumerate().map(|(component, c)| eval(ZkLookupPoly::Column { instance, column, component }, c, low)).collect());
        }
        let m_sent = if instance == 0 { cheat.sent_m.unwrap_or(inst.multiplicities) } else { inst.multiplicities };
        let m = eval(ZkLookupPoly::Multiplicities { instance }, m_sent, ctx.low(r, zk_multiplicity_vars(inst.table)));
        vals.statements.push(StatementValues { columns, m });
    }
    let bp = blind_point(ctx.low(r, BLIND_VARS));
    vals.blind = zero_padded_eval(&eq_evals(&bp), &masks.blinding) + v * hidden(ZkLookupPoly::Blinding, &bp);
    send_values(&vals, t);
    Ok(ctx.openings(r, &vals, &gkr))
}

/// Verifies a zk lookup of columns of lengths `column_lens` into `table`.
///
/// **Precondition:** the same hiding commitment the prover bound is absorbed into `t`. On success
/// every returned claim must still be opened against it; until then nothing is proven.
pub fn verify_lookup_zk(table: &Table, column_lens: &[usize], t: &mut VerifierTranscript<'_>) -> Result<ZkLookupClaims, LookupError> {
    verify_lookups_zk(&[(table, column_lens)], t)
}

/// Verifier side of [`prove_lookups_zk`]: `(table, column lengths)` per statement, in the
/// prover's order.
pub fn verify_lookups_zk(statements: &[(&Table, &[usize])], t: &mut VerifierTranscript<'_>) -> Result<ZkLookupClaims, LookupError> {
    let ctx = Ctx::new(statements, t)?;
    let gkr = zk::verify_ext(ctx.layout.depth, EF::ZERO, t)?;
    let mut vals = BlockValues { statements: Vec::with_capacity(statements.len()), blind: EF::ZERO };
    for st in &ctx.statements {
        let mut columns = Vec::with_capacity(st.lens.len());
        for _ in st.lens {
            columns.push(t.receive_exts(st.table.arity())?);
        }
        let m = t.receive_ext()?;
        vals.statements.push(StatementValues { columns, m });
    }
    vals.blind = t.receive_ext()?;
    let (p, q) = ctx.leaf_at(&gkr.leaf.point, &vals)?;
    if p != gkr.leaf.numerator {
        return Err(LookupError::LeafMismatch("the zk tree's numerators".into()));
    }
    if q != gkr.leaf.denominator {
        return Err(LookupError::LeafMismatch("the zk tree's denominators".into()));
    }
    Ok(ctx.openings(&gkr.leaf.point, &vals, &gkr))
}

/// The HVZK simulator: a proof for `(table, column_lens)` made without the columns or `m`, in
/// Fiat–Shamir order (module docs). [`verify_lookup_zk`] accepts it; its claims open nothing
/// (the hiding PCS's simulator is responsible for the openings).
pub fn simulate_lookup_zk<R: Rng + ?Sized>(table: &Table, column_lens: &[usize], t: &mut ProverTranscript, rng: &mut R) -> Result<(), LookupError> {
    simulate_lookups_zk(&[(table, column_lens)], t, rng)
}

/// [`simulate_lookup_zk`] for several statements ([`prove_lookups_zk`]).
pub fn simulate_lookups_zk<R: Rng + ?Sized>(statements: &[(&Table, &[usize])], t: &mut ProverTranscript, rng: &mut R) -> Result<(), LookupError> {
    let ctx = Ctx::new(statements, t)?;
    let mut sampled: Option<BlockValues> = None;
    {
        let mut leaf_children = |s: &[EF], rng: &mut R| -> [EF; 4] {
            let vals = BlockValues {
                statements: ctx
                    .statements
                    .iter()
                    .map(|st| StatementValues {
                        columns: st.lens.iter().map(|_| (0..st.table.arity()).map(|_| rng.random()).collect()).collect(),
                        m: rng.random(),
                    })
                    .collect(),
                blind: rng.random(),
            };
            let at = |b: EF| {
                let z: Vec<EF> = std::iter::once(b).chain(s.iter().copied()).collect();
                ctx.leaf_at(&z, &vals).unwrap_or((EF::ZERO, EF::ZERO))
            };
            let ((p0, q0), (p1, q1)) = (at(EF::ZERO), at(EF::ONE));
            sampled = Some(vals);
            [p0, p1, q0, q1]
        };
        zk::simulate_ext(ctx.layout.depth, EF::ZERO, t, rng, &mut leaf_children)?;
    }
    let vals = sampled.ok_or_else(|| LookupError::InvalidColumns("tree without a leaf layer".into()))?;
    send_values(&vals, t);
    Ok(())
}

#[cfg(test)]
#[path = "zk_logup_tests.rs"]
mod tests;
