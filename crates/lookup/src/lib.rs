//! logUp-GKR lookup arguments.
//!
//! A *lookup* proves that every row of one or more witness columns is a row of a public table:
//! a range table `[0, 2^k)` ([`Table::Range`]) or a function table of `(input, output)` pairs
//! ([`Table::function`]). Many columns of different lengths share one table and one multiplicity
//! column `m` (`m_j` = how often row `j` is used).
//!
//! # The check (logUp, Haböck 2022)
//!
//! With a random `α`, the multiset of witness rows `w_i` is contained in the table `{t_j}` iff
//!
//! ```text
//!     Σ_i 1/(α − w_i)  =  Σ_j m_j/(α − t_j)
//! ```
//!
//! (as rational functions of `α` the two sides agree iff every `w_i` is some `t_j`, used `m_j`
//! times; a random `α` catches a difference except with probability ≤ (N + |T|)/|EF|).
//! Tuples are compressed with a second random challenge `β`: `(x, y) ↦ x + β·y`.
//!
//! # Proving the fraction sums (GKR, Papini–Haböck 2023)
//!
//! Each side is the root of a binary tree of fractions `p/q` combined by
//! `p/q + p'/q' = (p·q' + p'·q)/(q·q')` — no inversions. The [`fracaddcheck`] module proves the
//! roots of several such trees at once, one sumcheck per layer, and ends with claims on the
//! leaves at random points. The [`logup`] module builds the trees (the witness columns stacked
//! as aligned blocks into at most 4 trees, one tree for the table with numerators `m`), checks
//! that the roots cancel, and turns the leaf claims into claims on the witness columns' and the
//! multiplicity column's multilinear extensions (one value per column component, so the proof
//! grows with the number of trees' layers, not with the number of columns).
//!
//! # Using it (op provers)
//!
//! ```text
//! prover:   m = compute_multiplicities(&table, &columns)?;
//!           commit columns and m, absorb the commitments          // BEFORE proving: α, β come after
//!           claims = prove_lookup(&table, &columns, &m, &mut transcript)?;
//!           push claims.columns[k] / claims.multiplicities into the opening accumulator
//! verifier: absorb the same commitments
//!           claims = verify_lookup(&table, &column_lens, &mut transcript)?;
//!           push the same claims into the accumulator (the PCS opening checks them)
//! ```
//!
//! Column claims are on the column padded with **zeros** to the next power of two (the usual
//! [`zkinfer_poly::Mle`] padding); multiplicity claims are on `m` of length
//! [`Table::padded_len`]. See [`logup`] for the full contract and `docs/PROTOCOLS.md` for the
//! soundness budget.

pub mod fracaddcheck;
pub(crate) mod timing;
pub mod logup;
pub mod table;
pub mod zk;
pub mod zk_logup;

pub use logup::{
    ColumnClaim, LoadedLookup, LookupClaims, LookupColumn, LookupError, LookupInstance, MultiplicityClaim,
    compute_multiplicities, prove_lookup, prove_lookups, prove_lookups_reloading, verify_lookup, verify_lookups,
};
pub use table::{FunctionTable, Table};
