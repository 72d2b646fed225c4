//! Causality of the key's graph: the prediction for a position reads only the tokens at or before
//! it.
//!
//! The statement of a generation proof is greedy generation: completion token `j` is the model's
//! prediction from the prompt and the completion tokens before `j`. The graph proof shows
//! `next_token = F(tokens)` for the whole pass, whose `tokens` hold the completion itself (all but
//! its last token). That is the generation statement only if `next_token[j]` reads no token after
//! its own position: otherwise the completion is a fixed point of `F`, and a key can make several
//! completions of one prompt verify (review 15: a graph whose every query row attends to every
//! position, `crates/proof/tests/review15.rs`). The key is data, so the verifier checks this on
//! the instantiated graph before any transcript work.
//!
//! **The analysis.** Every tensor gets a [`Seq`]: `Rows { axis, off }` says that index `i` of
//! `axis` is the position `off + i` (relative to the pass's first new token; cached rows
//! `X_past` of a step graph sit at `−P … −1`) and that the entries there read only tokens at
//! positions `≤ off + i`; `Scores`/`Probs` are the `[H, M, N]` attention matrices (query row `i`
//! at `q + i`, key column `j` at `k + j`), `Probs` after a causal softmax whose mask keeps only
//! `k + j ≤ q + i`; `Const` reads no token; `Mixed` is anything else. Each op maps its operands'
//! values by a rule that holds for its integer semantics (elementwise ops and ops over the last
//! axis keep the row axis; `SplitHeads`/`MergeHeads` move it; `ConcatSeq` joins adjacent rows;
//! `Q·Kᵀ` makes scores, the causal softmax makes them causal when its offset puts every allowed
//! key at or before its query, `P·V` makes rows again; `GatherRows` by the public `out_rows` — the
//! last `N` rows, as the verifier supplies them — keeps positions). The statement needs
//! `next_token` at `Rows { axis: 0, off: T − N }`: prediction `j` at position `T − N + j`, the
//! last prompt position and each completion position. Unknown combinations are `Mixed`, so a new
//! op or pattern is refused until a rule for it is written here (the `match` is exhaustive).

use std::collections::HashMap;

use crate::ProofSystemError;
use zkinfer_graph::{Graph, Op, TensorId, TensorSource};

/// What the entries of a tensor may read (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seq {
    /// No token.
    Const,
    /// Index `i` of `axis` is position `off + i` and reads tokens at positions `≤ off + i`.
    Rows { axis: usize, off: i64 },
    /// `[H, M, N]` scores: row `i` at `q + i`, column `j` at `k + j`, not causal.
    Scores { q: i64, k: i64 },
    /// `[H, M, N]` probabilities, zero where `k + j > q + i`.
    Probs { q: i64, k: i64 },
    /// Anything else.
    Mixed,
}

/// Refuses `graph` unless `next` (the statement's `next_token`) reads, at index `j`, only the
/// tokens up to position `T − N + j` of the pass (`T` = rows of `tokens`, `N` = rows of `next`).
/// `tokens`, `positions`, `out_rows` are the statement's inputs; inputs named `*_past` are cached
/// rows before the pass.
pub fn check_causal(graph: &Graph, tokens: TensorId, positions: TensorId, out_rows: TensorId, next: TensorId) -> Result<(), ProofSystemError> {
    let mut seq: HashMap<TensorId, Seq> = HashMap::new();
    let extent = |id: TensorId, axis: usize| graph.meta(id).shape.get(axis).copied().unwrap_or(0) as i64;
    for &id in &graph.inputs {
        let meta = graph.meta(id);
        let s = if id == tokens || id == positions {
            Seq::Rows { axis: 0, off: 0 }
        } else if id == out_rows {
            // Only meaningful as GatherRows' ids (handled there).
            Seq::Mixed
        } else if meta.name.ends_with("_past") {
            let axis = if meta.shape.len() == 3 { 1 } else { 0 };
            Seq::Rows { axis, off: -extent(id, axis) }
        } else {
            Seq::Mixed
        };
        seq.insert(id, s);
    }
    let of = |seq: &HashMap<TensorId, Seq>, id: TensorId| -> Seq {
        if graph.meta(id).source == TensorSource::Weight { Seq::Const } else { seq.get(&id).copied().unwrap_or(Seq::Mixed) }
    };
    for node in &graph.nodes {
        let a = node.inputs.first().map_or(Seq::Mixed, |&i| of(&seq, i));
        let b = node.inputs.get(1).map_or(Seq::Mixed, |&i| of(&seq, i));
        let rank = |i: usize| node.inputs.get(i).map_or(0, |&t| graph.meta(t).shape.len());
        // The row axis survives an op over the last axis only if it is not that axis.
        let keep_rows = |s: Seq, r: usize| match s {
            Seq::Rows { axis, .. } if axis + 1 < r => s,
            Seq::Const => Seq::Const,
            _ => Seq::Mixed,
        };
        let out = match &node.op {
            // Elementwise. Probabilities keep their zeros only through a rescale or a clamp (both
            // map 0 to 0: a clamp's protocol requires lo ≤ 0 ≤ hi); a table function need not.
            Op::Rescale(_) | Op::Clamp(_) => a,
            Op::Gelu(_) | Op::Silu(_) | Op::SoftCap(_) => match a {
                Seq::Probs { .. } => Seq::Mixed,
                _ => a,
            },
            Op::Add(_) | Op::Mul(_) => match (a, b) {
                (x, y) if x == y => x,
                (Seq::Const, y @ Seq::Rows { .. }) => y,
                (x @ Seq::Rows { .. }, Seq::Const) => x,
                _ => Seq::Mixed,
            },
            // Over the last axis (a row of a [T, C] matrix).
            Op::MatMul(_) | Op::LayerNorm(_) | Op::RmsNorm(_) | Op::SliceCols(_) => keep_rows(a, rank(0)),
            Op::Argmax(_) => keep_rows(a, rank(0)),
            // Rows of a table by the ids of each row.
            Op::Embedding(_) => match a {
                Seq::Rows { axis: 0, off } => Seq::Rows { axis: 0, off },
                Seq::Const => Seq::Const,
                _ => Seq::Mixed,
            },
            // Each row rotated by its own (public) position.
            Op::Rope(_) => match (a, b) {
                (Seq::Rows { axis: 1, .. }, Seq::Rows { axis: 0, .. } | Seq::Const) => a,
                _ => Seq::Mixed,
            },
            Op::SplitHeads(_) => match a {
                Seq::Rows { axis: 0, off } => Seq::Rows { axis: 1, off },
                Seq::Const => Seq::Const,
                _ => Seq::Mixed,
            },
            Op::MergeHeads(_) => match a {
                Seq::Rows { axis: 1, off } => Seq::Rows { axis: 0, off },
                Seq::Const => Seq::Const,
                _ => Seq::Mixed,
            },
            Op::RepeatKv(_) => match a {
                Seq::Rows { axis: 1, .. } | Seq::Const => a,
                _ => Seq::Mixed,
            },
            // Cached rows followed by the rows right after them.
            Op::ConcatSeq(_) => match (a, b) {
                (Seq::Rows { axis: 1, off: oa }, Seq::Rows { axis: 1, off: ob }) if oa + extent(node.inputs[0], 1) == ob => a,
                _ => Seq::Mixed,
            },
            Op::BatchedMatMul(m) => match (m.transpose_b, a, b) {
                (true, Seq::Rows { axis: 1, off: q }, Seq::Rows { axis: 1, off: k }) => Seq::Scores { q, k },
                (false, Seq::Probs { q, k }, Seq::Rows { axis: 1, off: kv }) if kv == k => Seq::Rows { axis: 1, off: q },
                _ => Seq::Mixed,
            },
            // Row i keeps the keys j ≤ offset + i: causal iff k + offset ≤ q.
            Op::Softmax(s) => match a {
                Seq::Scores { q, k } if k.saturating_add(s.offset as i64) <= q => Seq::Probs { q, k },
                _ => Seq::Mixed,
            },
            // The public out_rows are the rows T − N … T − 1 (the verifiers supply exactly those).
            Op::GatherRows(_) => match (node.inputs.first() == Some(&out_rows), b) {
                (true, Seq::Rows { axis: 0, off }) => Seq::Rows { axis: 0, off: off + extent(tokens, 0) - extent(node.output, 0) },
                (true, Seq::Const) => Seq::Const,
                _ => Seq::Mixed,
            },
        };
        seq.insert(node.output, out);
    }
    let want = Seq::Rows { axis: 0, off: extent(tokens, 0) - extent(next, 0) };
    let got = of(&seq, next);
    if got == want {
        Ok(())
    } else {
        Err(ProofSystemError::Rejected(format!(
            "the key's graph is not causal: its next_token ({got:?}) must read, at index j, only the tokens up to position T − N + j ({want:?})"
        )))
    }
}
