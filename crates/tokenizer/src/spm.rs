//! SentencePiece-style tokenization as llama.cpp implements it for `tokenizer.ggml.model =
//! "llama"` (Llama 1/2, Mistral 7B, TinyLlama, …): `llm_tokenizer_spm`.
//!
//! A piece of prompt text (between special tokens) is prefixed with a space when it is the first
//! piece or follows a special token and the model has `add_space_prefix` (default true); every
//! ASCII space becomes `▁` (U+2581, nothing else is normalised); the text is split into UTF-8
//! characters; then, repeatedly, the adjacent pair whose concatenation is a vocabulary token with
//! the highest score (`tokenizer.ggml.scores`; ties: the leftmost pair) is merged, as long as one
//! exists. Each final symbol that is a vocabulary token is emitted as that token; any other (a
//! character the vocabulary lacks) as the byte tokens `<0xNN>` of its UTF-8 bytes (llama.cpp's
//! `byte_to_token`: the `<0xNN>` token, else the token whose text is that single byte; a byte
//! with neither is dropped, where llama.cpp would throw).
//!
//! Any vocabulary string takes part in merges (llama.cpp looks every pair up in its whole
//! `token_to_id` map, whatever the token's type); a string listed twice stands for its LAST id
//! (`token_to_id[text] = id` in file order).
//!
//! Decoding (llama.cpp's `token_to_piece` for SPM): a normal token is its text with `▁` turned
//! back into a space, a byte token `<0xNN>` the byte, a control, user-defined or unknown token its
//! own text (the key's vocabulary carries these bytes), an unused or undefined token nothing.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::TokenizerError;
use crate::special::TokenType;

/// `▁`, SentencePiece's visible space.
pub(crate) const SPACE: &str = "\u{2581}";

/// The SPM vocabulary: text → id, scores, byte fallbacks.
#[derive(Debug, Clone)]
pub(crate) struct SpmVocab {
    ids: HashMap<Box<[u8]>, u32>,
    scores: Vec<f32>,
    byte_ids: [Option<u32>; 256],
    /// Prefix the first piece of text (and any after a special token) with a space.
    pub(crate) add_space_prefix: bool,
}

/// A merge candidate (llama.cpp's `llm_bigram_spm`): ordered by score, then by leftmost position.
#[derive(Debug, Clone, Copy)]
struct Bigram {
    left: usize,
    right: usize,
    score: f32,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// The max-heap's top is the highest score, then the smallest `left`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then(other.left.cmp(&self.left))
    }
}

/// A symbol of the linked list: `text[start..start + len]` (`len = 0`: merged away).
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// The value of `<0xNN>` (llama.cpp's byte-token text), `None` for any other text.
pub(crate) fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// The bytes a token stands for when decoding (see the module doc), or an error for a byte token
/// whose text is not `<0xNN>`.
pub(crate) fn token_bytes(text: &str, kind: TokenType, id: u32) -> Result<Vec<u8>, TokenizerError> {
    Ok(match kind {
        TokenType::Normal => text.replace(SPACE, " ").into_bytes(),
        TokenType::Byte => vec![parse_byte_token(text).ok_or_else(|| TokenizerError::InvalidByteToken { id, text: crate::shorten(text) })?],
        TokenType::Control | TokenType::UserDefined | TokenType::Unknown => text.as_bytes().to_vec(),
        TokenType::Unused | TokenType::Undefined => Vec::new(),
    })
}

impl SpmVocab {
    /// The vocabulary of `tokens` with `scores` (one per token, finite; all 0 when the file has
    /// none).
    pub(crate) fn new(tokens: &[&str], scores: Vec<f32>, add_space_prefix: bool) -> Result<Self, TokenizerError> {
        if scores.len() != tokens.len() {
            return Err(TokenizerError::ScoreCount { len: scores.len(), vocab_size: tokens.len() });
        }
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(TokenizerError::InvalidScore { id: i as u32 });
        }
        let mut ids: HashMap<Box<[u8]>, u32> = HashMap::with_capacity(tokens.len());
        for (id, t) in (0u32..).zip(tokens) {
            ids.insert(t.as_bytes().into(), id); // the last id of a repeated string, as llama.cpp
        }
        let mut byte_ids = [None; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            let hex = format!("<0x{b:02X}>");
            *slot = ids.get(hex.as_bytes()).copied().or_else(|| ids.get(&[b as u8][..]).copied());
        }
        Ok(Self { ids, scores, byte_ids, add_space_prefix })
    }

    /// Tokenizes `text` (spaces already escaped to `▁`), appending to `out`.
    pub(crate) fn tokenize(&self, text: &str, out: &mut Vec<u32>) {
        let bytes = text.as_bytes();
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, c)) in text.char_indices().enumerate() {
            let len = c.len_utf8();
            symbols.push(Symbol { start, len, prev: i.checked_sub(1), next: (start + len < text.len()).then_some(i + 1) });
        }
        let mut queue = BinaryHeap::new();
        for i in 1..symbols.len() {
            self.try_add_bigram(bytes, &symbols, i - 1, i, &mut queue);
        }
        while let Some(b) = queue.pop() {
            let (l, r) = (symbols[b.left], symbols[b.right]);
            // One of the two was merged since the pair was queued.
            if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
                continue;
            }
            symbols[b.left].len += r.len;
            symbols[b.right].len = 0;
            symbols[b.left].next = r.next;
            if let Some(n) = r.next {
                symbols[n].prev = Some(b.left);
            }
            if let Some(p) = l.prev {
                self.try_add_bigram(bytes, &symbols, p, b.left, &mut queue);
            }
            if let Some(n) = r.next {
                self.try_add_bigram(bytes, &symbols, b.left, n, &mut queue);
            }
        }
        let mut at = if symbols.is_empty() { None } else { Some(0) };
        while let Some(i) = at {
            let s = symbols[i];
            let piece = &bytes[s.start..s.start + s.len];
            // A merged symbol is always a vocabulary token (pairs are queued only if they are);
            // a single character may not be: its bytes then.
            match self.ids.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(piece.iter().filter_map(|&b| self.byte_ids[usize::from(b)])),
            }
            at = s.next;
        }
    }

    fn try_add_bigram(&self, bytes: &[u8], symbols: &[Symbol], left: usize, right: usize, queue: &mut BinaryHeap<Bigram>) {
        let (l, r) = (symbols[left], symbols[right]);
        let size = l.len + r.len;
        // Adjacent in the text: `right` starts where `left` ends.
        let piece = &bytes[l.start..l.start + size];
        if let Some(&id) = self.ids.get(piece) {
            queue.push(Bigram { left, right, score: self.scores[id as usize], size });
        }
    }
}
