//! GPT-2 byte-level BPE tokenizer, built from a GGUF file's own vocabulary and merge list.
//!
//! Encoding text `s` works in three steps:
//!
//! 1. **Pre-tokenize**: split `s` into words with GPT-2's pattern (see [`PreTokens`]); merges
//!    never cross a word boundary.
//! 2. **Bytes**: each word is its UTF-8 bytes, each byte the single-byte token `φ(b)` of the
//!    vocabulary, where `φ` is GPT-2's byte ↔ printable-character map (`' '` is `Ġ`).
//! 3. **Merge**: apply the ranked merge rules `a b` (line `r` of `tokenizer.ggml.merges` has
//!    rank `r`): repeatedly merge the adjacent pair with the lowest rank, leftmost first, until
//!    no adjacent pair has a rule.
//!
//! Decoding is the inverse of step 2: concatenate `φ⁻¹` of each token's characters. Every token
//! therefore stands for a byte string, and `decode_bytes(encode(s)) == s` for every `s`.
//!
//! Conventions (the same as llama.cpp's test vectors and tiktoken's `encode_ordinary`):
//! - [`Tokenizer::encode`] adds no BOS/EOS token and treats special-token text such as
//!   `<|endoftext|>` as ordinary text.
//! - [`Tokenizer::decode`] turns every token, special ones included, into its bytes
//!   (`<|endoftext|>` decodes to the text `<|endoftext|>`), then replaces invalid UTF-8 — e.g. a
//!   multi-byte character cut between two ids — by U+FFFD, as `String::from_utf8_lossy` does
//!   (llama.cpp and tiktoken behave the same way). [`Tokenizer::decode_bytes`] gives the exact
//!   bytes, and [`StreamDecoder`] decodes one id at a time for streaming output.
//! - A vocabulary string containing a character outside `φ`'s 256 characters (possible for added
//!   tokens of other GPT-2-style models) stands for its own UTF-8 bytes.

mod bpe;
mod byte_map;
mod pretokenize;
mod stream;

use std::sync::Mutex;

use bpe::{Merge, MergeTable, MixMap, merge_word};
use byte_map::ByteMap;
pub use pretokenize::PreTokens;
pub use stream::StreamDecoder;

/// Words longer than this many bytes are not memoized.
const MAX_CACHED_WORD_BYTES: usize = 64;
/// The word cache is emptied when it reaches this many entries.
const MAX_CACHED_WORDS: usize = 1 << 16;

/// Errors of tokenizer construction and decoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizerError {
    /// A token id is not in the vocabulary.
    #[error("token id {id} is out of range (the vocabulary has {vocab_size} tokens)")]
    TokenIdOutOfRange {
        /// The offending id.
        id: u32,
        /// Number of tokens in the vocabulary.
        vocab_size: usize,
    },
    /// The vocabulary has no tokens.
    #[error("the vocabulary is empty")]
    EmptyVocabulary,
    /// The vocabulary or merge list has more entries than fit in a `u32`.
    #[error("the {what} has {len} entries, more than fit in a 32-bit id")]
    TooManyEntries {
        /// `"vocabulary"` or `"merge list"`.
        what: &'static str,
        /// Number of entries.
        len: usize,
    },
    /// A byte has no single-byte token, so some texts could not be encoded.
    #[error("the vocabulary has no token for byte 0x{byte:02x} (the string {expected:?})")]
    MissingByteToken {
        /// The byte.
        byte: u8,
        /// The vocabulary string that should stand for it.
        expected: String,
    },
    /// A merge rule is malformed or refers to tokens that are not in the vocabulary.
    #[error("merge rule {index} ({rule:?}) is invalid: {reason}")]
    InvalidMerge {
        /// Rank (line number, from 0) of the rule.
        index: usize,
        /// The rule as written (its first 80 characters).
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The GGUF file declares a tokenizer other than GPT-2's byte-level BPE.
    #[error("unsupported tokenizer model {0:?}: only \"gpt2\" (byte-level BPE) is supported")]
    UnsupportedModel(String),
    /// A tokenizer key of the GGUF file is missing or has the wrong type. (The message includes
    /// the GGUF error's, so it is deliberately not exposed as `source()` too: error-chain
    /// printers would repeat it.)
    #[error("GGUF tokenizer metadata: {0}")]
    Gguf(zkinfer_gguf::GgufError),
    /// A special-token id (EOS, BOS) is not in the vocabulary.
    #[error("the {which} token id {id} is out of range (the vocabulary has {vocab_size} tokens)")]
    SpecialTokenOutOfRange {
        /// `"EOS"` or `"BOS"`.
        which: &'static str,
        /// The offending id.
        id: u32,
        /// Number of tokens in the vocabulary.
        vocab_size: usize,
    },
}

impl From<zkinfer_gguf::GgufError> for TokenizerError {
    fn from(e: zkinfer_gguf::GgufError) -> Self {
        TokenizerError::Gguf(e)
    }
}

/// `text` cut to its first 80 characters (an error message should stay readable even when a
/// hostile file holds a megabyte-long merge rule).
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A GPT-2 byte-level BPE tokenizer.
///
/// Cheap to share between threads (`Sync`); encoding memoizes the tokens of short words.
pub struct Tokenizer {
    /// The bytes each token stands for, indexed by id.
    token_bytes: Vec<Box<[u8]>>,
    /// The id of the single-byte token of each byte.
    byte_tokens: [u32; 256],
    merges: MergeTable,
    eos_token_id: Option<u32>,
    bos_token_id: Option<u32>,
    /// Memoized encodings of short words.
    word_cache: Mutex<MixMap<Box<[u8]>, Box<[u32]>>>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.token_bytes.len())
            .field("merges", &self.merges.len())
            .field("eos_token_id", &self.eos_token_id)
            .field("bos_token_id", &self.bos_token_id)
            .finish_non_exhaustive()
    }
}

impl Clone for Tokenizer {
    fn clone(&self) -> Self {
        Self {
            token_bytes: self.token_bytes.clone(),
            byte_tokens: self.byte_tokens,
            merges: self.merges.clone(),
            eos_token_id: self.eos_token_id,
            bos_token_id: self.bos_token_id,
            word_cache: Mutex::new(MixMap::default()),
        }
    }
}

impl Tokenizer {
    /// Builds a tokenizer from GPT-2 vocabulary strings (id = index) and merge rules `"a b"`
    /// (rank = index).
    ///
    /// Fails when the vocabulary is empty, lacks a single-byte token for some byte, or a merge
    /// rule is not two vocabulary strings separated by one space whose concatenation is also in
    /// the vocabulary. Repeated strings keep their first id; repeated rules their first rank.
    pub fn new(
        tokens: Vec<String>,
        merges: &[&str],
        eos_token_id: Option<u32>,
    ) -> Result<Tokenizer, TokenizerError> {
        if tokens.is_empty() {
            return Err(TokenizerError::EmptyVocabulary);
        }
        let vocab_size = tokens.len();
        if u32::try_from(vocab_size).is_err() {
            return Err(TokenizerError::TooManyEntries {
                what: "vocabulary",
                len: vocab_size,
            });
        }
        if u32::try_from(merges.len()).is_err() {
            return Err(TokenizerError::TooManyEntries {
                what: "merge list",
                len: merges.len(),
            });
        }

        let byte_map = ByteMap::new();
        let mut id_of_string: MixMap<&str, u32> = MixMap::default();
        id_of_string.reserve(vocab_size);
        let mut token_bytes = Vec::with_capacity(vocab_size);
        for (id, token) in (0u32..).zip(&tokens) {
            id_of_string.entry(token.as_str()).or_insert(id);
            let bytes = byte_map
                .decode_token(token)
                .unwrap_or_else(|| token.as_bytes().to_vec());
            token_bytes.push(bytes.into_boxed_slice());
        }

        let mut byte_tokens = [0u32; 256];
        let mut utf8_buf = [0u8; 4];
        for b in 0..=255u8 {
            let expected: &str = byte_map.char_of_byte(b).encode_utf8(&mut utf8_buf);
            match id_of_string.get(expected) {
                Some(&id) => byte_tokens[usize::from(b)] = id,
                None => {
                    return Err(TokenizerError::MissingByteToken {
                        byte: b,
                        expected: expected.to_owned(),
                    });
                }
            }
        }

        let mut merge_table = MergeTable::default();
        let mut concatenated = String::new();
        for (rank, &rule) in (0u32..).zip(merges) {
            let invalid = |reason| TokenizerError::InvalidMerge {
                index: rank as usize,
                rule: shorten(rule),
                reason,
            };
            let (left, right) = rule
                .split_once(' ')
                .ok_or_else(|| invalid("not two tokens separated by a space"))?;
            if right.contains(' ') {
                return Err(invalid("more than two tokens"));
            }
            let left_id = *id_of_string
                .get(left)
                .ok_or_else(|| invalid("unknown left token"))?;
            let right_id = *id_of_string
                .get(right)
                .ok_or_else(|| invalid("unknown right token"))?;
            concatenated.clear();
            concatenated.push_str(left);
            concatenated.push_str(right);
            let merged = *id_of_string
                .get(concatenated.as_str())
                .ok_or_else(|| invalid("the merged token is not in the vocabulary"))?;
            merge_table.insert(left_id, right_id, Merge { rank, merged });
        }

        let tokenizer = Tokenizer {
            token_bytes,
            byte_tokens,
            merges: merge_table,
            eos_token_id: None,
            bos_token_id: None,
            word_cache: Mutex::new(MixMap::default()),
        };
        tokenizer.with_special_tokens(eos_token_id, None)
    }

    /// Builds the tokenizer a GGUF file describes: `tokenizer.ggml.model` must be `"gpt2"`;
    /// `tokenizer.ggml.tokens` and `tokenizer.ggml.merges` give the vocabulary and merge rules;
    /// `tokenizer.ggml.eos_token_id` and `tokenizer.ggml.bos_token_id` are optional.
    pub fn from_gguf(file: &zkinfer_gguf::GgufFile) -> Result<Tokenizer, TokenizerError> {
        let model = file.get_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(model.to_owned()));
        }
        let tokens = file
            .get_str_array("tokenizer.ggml.tokens")?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let merges = file.get_str_array("tokenizer.ggml.merges")?;
        let optional_id = |key: &str| -> Result<Option<u32>, TokenizerError> {
            match file.get(key) {
                None => Ok(None),
                Some(_) => Ok(Some(file.get_u32(key)?)),
            }
        };
        let eos = optional_id("tokenizer.ggml.eos_token_id")?;
        let bos = optional_id("tokenizer.ggml.bos_token_id")?;
        Tokenizer::new(tokens, &merges, None)?.with_special_tokens(eos, bos)
    }

    /// Sets the EOS and BOS token ids, checking that they are in the vocabulary.
    pub fn with_special_tokens(
        mut self,
        eos_token_id: Option<u32>,
        bos_token_id: Option<u32>,
    ) -> Result<Tokenizer, TokenizerError> {
        for (which, id) in [("EOS", eos_token_id), ("BOS", bos_token_id)] {
            if let Some(id) = id
                && id as usize >= self.vocab_size()
            {
                return Err(TokenizerError::SpecialTokenOutOfRange {
                    which,
                    id,
                    vocab_size: self.vocab_size(),
                });
            }
        }
        self.eos_token_id = eos_token_id;
        self.bos_token_id = bos_token_id;
        Ok(self)
    }

    /// Encodes `text` into token ids, without BOS/EOS and without parsing special tokens.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        // Another thread encoding at the same time just means this call runs without the cache.
        let mut cache = self.word_cache.try_lock().ok();
        let mut initial = Vec::new();
        for word in PreTokens::new(text) {
            let bytes = word.as_bytes();
            if let [b] = bytes {
                out.push(self.byte_tokens[usize::from(*b)]);
                continue;
            }
            if let Some(ids) = cache.as_ref().and_then(|c| c.get(bytes)) {
                out.extend_from_slice(ids);
                continue;
            }
            initial.clear();
            initial.extend(bytes.iter().map(|&b| self.byte_tokens[usize::from(b)]));
            let start = out.len();
            merge_word(&initial, &self.merges, &mut out);
            if let Some(cache) = cache.as_mut()
                && bytes.len() <= MAX_CACHED_WORD_BYTES
            {
                if cache.len() >= MAX_CACHED_WORDS {
                    cache.clear();
                }
                cache.insert(bytes.into(), out[start..].into());
            }
        }
        out
    }

    /// The bytes the ids stand for, concatenated. Fails on an id outside the vocabulary.
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>, TokenizerError> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            out.extend_from_slice(self.token_bytes_ref(id)?);
        }
        Ok(out)
    }

    /// The text the ids stand for; invalid UTF-8 (e.g. a character split between ids that are
    /// not all present) becomes U+FFFD. Fails on an id outside the vocabulary.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let bytes = self.decode_bytes(ids)?;
        Ok(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    /// The bytes token `id` stands for (not necessarily valid UTF-8 on their own), or `None`
    /// outside the vocabulary. For streaming output, [`StreamDecoder`] buffers them until they
    /// form whole characters.
    pub fn token_bytes(&self, id: u32) -> Option<Vec<u8>> {
        self.token_bytes.get(id as usize).map(|b| b.to_vec())
    }

    /// The end-of-sequence token id, if the model has one.
    pub fn eos_token_id(&self) -> Option<u32> {
        self.eos_token_id
    }

    /// The beginning-of-sequence token id, if the model has one.
    pub fn bos_token_id(&self) -> Option<u32> {
        self.bos_token_id
    }

    /// Number of merge rules (distinct pairs).
    pub fn merge_count(&self) -> usize {
        self.merges.len()
    }

    pub(crate) fn token_bytes_ref(&self, id: u32) -> Result<&[u8], TokenizerError> {
        self.token_bytes
            .get(id as usize)
            .map(|b| &**b)
            .ok_or(TokenizerError::TokenIdOutOfRange {
                id,
                vocab_size: self.vocab_size(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: the 256 byte tokens, then "Ġt", "he", "Ġthe", "<|endoftext|>".
    fn toy() -> Tokenizer {
        let map = ByteMap::new();
        let mut tokens: Vec<String> = (0..=255u8)
            .map(|b| map.char_of_byte(b).to_string())
            .collect();
        tokens.extend(["Ġt", "he", "Ġthe", "<|endoftext|>"].map(String::from));
        Tokenizer::new(tokens, &["Ġ t", "h e", "Ġt he"], Some(259)).expect("valid toy vocabulary")
    }

    #[test]
    fn encodes_with_merges() {
        let t = toy();
        let b = |c: char| u32::from(c as u8);
        // "the the": "the" has no leading space: t + he; " the" merges fully.
        let map = ByteMap::new();
        let id_of = |c: char| {
            (0..=255u8)
                .find(|&x| map.char_of_byte(x) == c)
                .map(u32::from)
                .expect("byte char")
        };
        assert_eq!(t.encode("the the"), [id_of('t'), 257, 258]);
        assert_eq!(t.encode("x"), [b('x')]);
        assert_eq!(t.encode(""), Vec::<u32>::new());
    }

    #[test]
    fn decode_round_trips_and_special_tokens_are_text() {
        let t = toy();
        for text in ["the the", "héllo  wörld\n\n\t😀", "<|endoftext|>", ""] {
            let ids = t.encode(text);
            assert_eq!(t.decode(&ids).expect("ids in range"), text);
            assert_eq!(t.decode_bytes(&ids).expect("ids in range"), text.as_bytes());
        }
        // The special token is not produced by encode, but decodes to its text.
        assert!(!t.encode("<|endoftext|>").contains(&259));
        assert_eq!(t.decode(&[259]).expect("in range"), "<|endoftext|>");
        assert_eq!(t.eos_token_id(), Some(259));
    }

    #[test]
    fn decode_errors_and_lossy_utf8() {
        let t = toy();
        let err = t.decode(&[260]).expect_err("out of range");
        assert!(matches!(
            err,
            TokenizerError::TokenIdOutOfRange {
                id: 260,
                vocab_size: 260
            }
        ));
        assert!(t.decode_bytes(&[0, u32::MAX]).is_err());
        assert_eq!(t.token_bytes(260), None);
        // "é" is 0xC3 0xA9: the first byte alone is invalid UTF-8.
        let first = t.byte_tokens[0xC3];
        assert_eq!(t.decode(&[first]).expect("in range"), "\u{FFFD}");
        assert_eq!(t.token_bytes(first), Some(vec![0xC3]));
        assert_eq!(
            t.decode(&[first, t.byte_tokens[0xA9]]).expect("in range"),
            "é"
        );
    }

    #[test]
    fn construction_errors() {
        let map = ByteMap::new();
        let bytes: Vec<String> = (0..=255u8)
            .map(|b| map.char_of_byte(b).to_string())
            .collect();
        assert!(matches!(
            Tokenizer::new(vec![], &[], None),
            Err(TokenizerError::EmptyVocabulary)
        ));
        let missing = bytes[1..].to_vec();
        assert!(matches!(
            Tokenizer::new(missing, &[], None),
            Err(TokenizerError::MissingByteToken { byte: 0, .. })
        ));
        for (rule, reason) in [
            ("ab", "not two tokens separated by a space"),
            ("a b c", "more than two tokens"),
            ("zz b", "unknown left token"),
            ("a zz", "unknown right token"),
            ("a b", "the merged token is not in the vocabulary"),
        ] {
            match Tokenizer::new(bytes.clone(), &[rule], None) {
                Err(TokenizerError::InvalidMerge {
                    index: 0,
                    reason: r,
                    ..
                }) => {
                    assert_eq!(r, reason, "{rule}")
                }
                other => panic!("{rule}: expected InvalidMerge, got {other:?}"),
            }
        }
        let long_rule = format!("a {}", "b".repeat(10_000));
        match Tokenizer::new(bytes.clone(), &[&long_rule], None) {
            Err(e @ TokenizerError::InvalidMerge { .. }) => assert!(e.to_string().len() < 200),
            other => panic!("expected InvalidMerge, got {other:?}"),
        }
        assert!(matches!(
            Tokenizer::new(bytes.clone(), &[], Some(256)),
            Err(TokenizerError::SpecialTokenOutOfRange {
                which: "EOS",
                id: 256,
                ..
            })
        ));
        let ok = Tokenizer::new(bytes, &[], Some(255)).expect("valid");
        assert!(matches!(
            ok.with_special_tokens(None, Some(1000)),
            Err(TokenizerError::SpecialTokenOutOfRange { which: "BOS", .. })
        ));
    }

    #[test]
    fn cache_does_not_change_results() {
        let t = toy();
        let text = "the the the thethe  the\nthe";
        let first = t.encode(text);
        let second = t.encode(text);
        assert_eq!(first, second);
        let fresh = t.clone();
        assert_eq!(fresh.encode(text), first);
    }
}
