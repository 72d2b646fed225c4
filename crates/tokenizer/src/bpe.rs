//! Byte-pair encoding of one pre-token word by merge rank.
//!
//! A word starts as its bytes, one token each. The merge list is ranked: line `r` of
//! `tokenizer.ggml.merges` says that the adjacent pair `(a, b)` may become the token `ab`, with
//! priority `r` (lower first). Repeatedly, among all adjacent pairs of the current sequence that
//! have a rank, the one with the lowest rank is merged — the leftmost one if it occurs several
//! times — until no adjacent pair has a rank. This is the GPT-2 / llama.cpp rule.
//!
//! Implementation: the symbols form a doubly linked list over the word's positions and the
//! candidate pairs sit in a min-heap keyed by `(rank, left position)`. A popped candidate is
//! stale when the pair now starting at its position has another rank (or none) — each rank names
//! exactly one pair — and is then skipped. Each
//! merge removes one symbol and pushes at most two pairs, so a word of `n` bytes costs
//! `O(n log n)`, even for pathological megabyte-long words.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, Hasher, RandomState};

/// A small multiplicative hasher for integer and short byte-string keys, started from a random
/// per-map seed ([`MixState`]) so that a crafted vocabulary or text cannot aim for colliding
/// buckets without knowing the seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MixHasher(u64);

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl MixHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            self.add(u64::from_le_bytes(word) ^ ((tail.len() as u64) << 59));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // Final avalanche (the MurmurHash3 finalizer) so that low bits depend on all input bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        h ^ (h >> 33)
    }
}

/// Builds [`MixHasher`]s from a seed drawn from the standard library's random hash keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MixState {
    seed: u64,
}

impl Default for MixState {
    fn default() -> Self {
        Self {
            seed: RandomState::new().hash_one(0x5eed_u64),
        }
    }
}

impl BuildHasher for MixState {
    type Hasher = MixHasher;

    fn build_hasher(&self) -> MixHasher {
        MixHasher(self.seed)
    }
}

pub(crate) type MixMap<K, V> = HashMap<K, V, MixState>;

/// One merge rule: the rank of the pair and the id of the merged token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Merge {
    pub(crate) rank: u32,
    pub(crate) merged: u32,
}

/// The merge rules keyed by the pair of token ids `(left, right)` packed as `left << 32 | right`.
#[derive(Debug, Clone, Default)]
pub(crate) struct MergeTable {
    rules: MixMap<u64, Merge>,
}

fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

impl MergeTable {
    /// Adds a rule unless the pair already has one (the first, lowest-ranked line wins).
    pub(crate) fn insert(&mut self, left: u32, right: u32, merge: Merge) {
        self.rules.entry(pair_key(left, right)).or_insert(merge);
    }

    pub(crate) fn get(&self, left: u32, right: u32) -> Option<Merge> {
        self.rules.get(&pair_key(left, right)).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }
}

/// Marks a removed symbol in the linked list.
const REMOVED: u32 = u32::MAX;
/// "No neighbour".
const NONE: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
struct Symbol {
    id: u32,
    prev: usize,
    next: usize,
}

/// Encodes one word given the token ids of its bytes, appending the result to `out`.
///
/// Heap entries are `rank << 32 | left position` (smallest first). An entry is still valid when
/// the pair now starting at that position has the same rank: a rank names exactly one pair.
pub(crate) fn merge_word(initial: &[u32], merges: &MergeTable, out: &mut Vec<u32>) {
    let n = initial.len();
    // Positions must fit in the low 32 bits of a heap entry; a word of 4 GiB is split there
    // (never reached in practice: the input would not fit in memory twice).
    if n > u32::MAX as usize {
        let (head, tail) = initial.split_at(u32::MAX as usize);
        merge_word(head, merges, out);
        merge_word(tail, merges, out);
        return;
    }
    if n < 2 {
        out.extend_from_slice(initial);
        return;
    }
    let mut symbols: Vec<Symbol> = initial
        .iter()
        .enumerate()
        .map(|(i, &id)| Symbol {
            id,
            prev: if i == 0 { NONE } else { i - 1 },
            next: i + 1,
        })
        .collect();
    if let Some(last) = symbols.last_mut() {
        last.next = NONE;
    }

    // The merge rule of the pair starting at `left_pos`, if it has a right neighbour and a rule.
    let rule_at = |symbols: &[Symbol], left_pos: usize| -> Option<Merge> {
        let left = symbols.get(left_pos)?;
        let right = symbols.get(left.next)?;
        merges.get(left.id, right.id)
    };
    let entry = |rank: u32, pos: usize| Reverse((u64::from(rank) << 32) | pos as u64);

    let mut heap: BinaryHeap<Reverse<u64>> = (0..n - 1)
        .filter_map(|pos| rule_at(&symbols, pos).map(|m| entry(m.rank, pos)))
        .collect();

    while let Some(Reverse(key)) = heap.pop() {
        let rank = (key >> 32) as u32;
        let left_pos = (key & u64::from(u32::MAX)) as usize;
        let Some(merge) = rule_at(&symbols, left_pos) else {
            continue;
        };
        if merge.rank != rank {
            continue;
        }
        // Merge: the left symbol becomes the merged token and the right one leaves the list.
        let right_pos = symbols[left_pos].next;
        let after = symbols[right_pos].next;
        symbols[left_pos].id = merge.merged;
        symbols[left_pos].next = after;
        if let Some(after) = symbols.get_mut(after) {
            after.prev = left_pos;
        }
        symbols[right_pos].id = REMOVED;
        symbols[right_pos].next = NONE;

        let before = symbols[left_pos].prev;
        if let Some(m) = rule_at(&symbols, before) {
            heap.push(entry(m.rank, before));
        }
        if let Some(m) = rule_at(&symbols, left_pos) {
            heap.push(entry(m.rank, left_pos));
        }
    }

    let mut pos = 0;
    while let Some(symbol) = symbols.get(pos) {
        out.push(symbol.id);
        pos = symbol.next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens: 0 'a', 1 'b', 2 'c', 3 'ab', 4 'bc', 5 'abc', 6 'aa', 7 'aaaa'.
    fn table(rules: &[(u32, u32, u32)]) -> MergeTable {
        let mut t = MergeTable::default();
        for (rank, &(l, r, m)) in rules.iter().enumerate() {
            t.insert(
                l,
                r,
                Merge {
                    rank: rank as u32,
                    merged: m,
                },
            );
        }
        t
    }

    fn encode(word: &[u32], t: &MergeTable) -> Vec<u32> {
        let mut out = Vec::new();
        merge_word(word, t, &mut out);
        out
    }

    #[test]
    fn lowest_rank_first() {
        // "abc": (b,c) has rank 0, (a,b) rank 1, so bc forms first and ab never does.
        let t = table(&[(1, 2, 4), (0, 1, 3), (3, 2, 5)]);
        assert_eq!(encode(&[0, 1, 2], &t), [0, 4]);
        let t = table(&[(0, 1, 3), (1, 2, 4), (3, 2, 5)]);
        assert_eq!(encode(&[0, 1, 2], &t), [5]);
    }

    #[test]
    fn equal_pairs_merge_leftmost_first() {
        // "aaa" → "aa a" (not "a aa"); "aaaa" → "aa aa" → "aaaa".
        let t = table(&[(0, 0, 6), (6, 6, 7)]);
        assert_eq!(encode(&[0, 0, 0], &t), [6, 0]);
        assert_eq!(encode(&[0, 0, 0, 0], &t), [7]);
        assert_eq!(encode(&[0, 0, 0, 0, 0], &t), [7, 0]);
    }

    #[test]
    fn no_rules_keeps_bytes() {
        let t = MergeTable::default();
        assert_eq!(encode(&[2, 1, 0], &t), [2, 1, 0]);
        assert_eq!(encode(&[], &t), Vec::<u32>::new());
        assert_eq!(encode(&[1], &t), [1]);
    }

    #[test]
    fn first_duplicate_rule_wins() {
        let mut t = MergeTable::default();
        t.insert(0, 1, Merge { rank: 0, merged: 3 });
        t.insert(0, 1, Merge { rank: 1, merged: 5 });
        assert_eq!(t.get(0, 1), Some(Merge { rank: 0, merged: 3 }));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn long_word_is_fast_and_correct() {
        // 2^16 'a's with rules a+a → aa, aa+aa → aaaa merge down to 2^14 'aaaa' tokens.
        let t = table(&[(0, 0, 6), (6, 6, 7)]);
        let word = vec![0u32; 1 << 16];
        let out = encode(&word, &t);
        assert_eq!(out.len(), 1 << 14);
        assert!(out.iter().all(|&id| id == 7));
    }
}
