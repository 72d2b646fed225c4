//! Byte-level BPE tokenizer (llama.cpp's `gpt2` tokenizer model), built from a GGUF file's own
//! vocabulary and merge list, with llama.cpp's pre-tokenizers, special-token parsing and
//! (module [`chat`]) chat templates.
//!
//! Encoding text `s` works in four steps (llama.cpp's `llama_tokenize`):
//!
//! 0. **Special tokens** (see [`Tokenizer::encode_with`]): the text of user-defined tokens
//!    always, and of control tokens when parsing specials is asked for, is cut out of `s`, longest
//!    token text first; each occurrence becomes its token and the text between them goes on.
//! 1. **Pre-tokenize**: split each remaining piece into words with the pattern the GGUF's
//!    `tokenizer.ggml.pre` names (see [`PreTokenizer`]); merges never cross a word boundary.
//! 2. **Bytes**: each word is its UTF-8 bytes, each byte the single-byte token `φ(b)` of the
//!    vocabulary, where `φ` is GPT-2's byte ↔ printable-character map (`' '` is `Ġ`).
//! 3. **Merge**: apply the ranked merge rules `a b` (line `r` of `tokenizer.ggml.merges` has
//!    rank `r`): repeatedly merge the adjacent pair with the lowest rank, leftmost first, until
//!    no adjacent pair has a rule.
//!
//! Decoding is the inverse of step 2: concatenate `φ⁻¹` of each token's characters. Every token
//! therefore stands for a byte string, and `decode_bytes(encode(s)) == s` for every `s`.
//!
//! With the Llama 3 pre-tokenizers a word that is itself a vocabulary token skips step 3
//! (llama.cpp's `ignore_merges`).
//!
//! Conventions (the same as llama.cpp's test vectors and tiktoken's `encode_ordinary`):
//! - [`Tokenizer::encode`] adds no BOS/EOS token and treats control-token text such as
//!   `<|endoftext|>` as ordinary text (llama.cpp's `parse_special = false`; user-defined tokens
//!   are still matched, as in llama.cpp). [`Tokenizer::encode_with`] does both on request.
//! - [`Tokenizer::decode`] turns every token, special ones included, into its bytes
//!   (`<|endoftext|>` decodes to the text `<|endoftext|>`), then replaces invalid UTF-8 — e.g. a
//!   multi-byte character cut between two ids — by U+FFFD, as `String::from_utf8_lossy` does
//!   (llama.cpp and tiktoken behave the same way). [`Tokenizer::decode_bytes`] gives the exact
//!   bytes, and [`StreamDecoder`] decodes one id at a time for streaming output.
//! - A vocabulary string containing a character outside `φ`'s 256 characters (possible for added
//!   tokens of other GPT-2-style models) stands for its own UTF-8 bytes, and so does the string
//!   of every control, user-defined or unknown token (llama.cpp prints those verbatim).
//!
//! **SentencePiece vocabularies** (`tokenizer.ggml.model = "llama"`: Llama 1/2, Mistral 7B,
//! TinyLlama) replace steps 1–3 by llama.cpp's score-driven merge with byte fallback (module
//! `spm`, [`Tokenizer::is_sentencepiece`]); special tokens, BOS/EOS and the end-of-generation set
//! work as above, and a token decodes to its text with `▁` as a space (byte tokens `<0xNN>` to
//! their byte).

mod bpe;
mod byte_map;
pub mod chat;
mod pretokenize;
mod special;
mod spm;
mod stream;

use std::sync::Mutex;

use bpe::{Merge, MergeTable, MixMap, merge_word};
use byte_map::ByteMap;
pub use pretokenize::{PreTokenizer, PreTokenizerConfig, PreTokens, Words};
use special::Fragment;
pub use special::TokenType;
pub use stream::StreamDecoder;

/// Marks a byte that has no single-byte token.
const NO_TOKEN: u32 = u32::MAX;

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
    /// A byte has no single-byte token. (No longer produced: such bytes are dropped when
    /// encoding, as llama.cpp does; kept for API compatibility.)
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
    /// The GGUF file declares a tokenizer other than GPT-2's byte-level BPE or SentencePiece.
    #[error("unsupported tokenizer model {0:?}: supported are \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece)")]
    UnsupportedModel(String),
    /// `tokenizer.ggml.scores` does not have one entry per token.
    #[error("tokenizer.ggml.scores has {len} entries for {vocab_size} tokens")]
    ScoreCount {
        /// Number of entries.
        len: usize,
        /// Number of tokens.
        vocab_size: usize,
    },
    /// A SentencePiece score is not a finite number.
    #[error("tokenizer.ggml.scores: the score of token {id} is not a finite number")]
    InvalidScore {
        /// The token.
        id: u32,
    },
    /// A token of type byte whose text is not `<0xNN>`.
    #[error("token {id} has type byte but its text {text:?} is not <0xNN>")]
    InvalidByteToken {
        /// The token.
        id: u32,
        /// Its text (first 80 characters).
        text: String,
    },
    /// `tokenizer.ggml.pre` names a pre-tokenizer this crate does not implement.
    #[error(
        "unsupported pre-tokenizer tokenizer.ggml.pre = {name:?}; supported: {}",
        PreTokenizerConfig::NAMES.join(", ")
    )]
    UnsupportedPreTokenizer {
        /// The value in the file (its first 80 characters).
        name: String,
    },
    /// `tokenizer.ggml.pre` is absent: llama.cpp would fall back to its "default" pattern set
    /// with a warning that generation quality is degraded; this crate refuses instead.
    #[error(
        "the GGUF has no tokenizer.ggml.pre: the file predates pre-tokenizer metadata (llama.cpp \
         would guess, warning that generation quality is degraded); regenerate it with a current \
         converter"
    )]
    MissingPreTokenizer,
    /// `tokenizer.ggml.token_type` does not have one entry per token.
    #[error("tokenizer.ggml.token_type has {len} entries for {vocab_size} tokens")]
    TokenTypeCount {
        /// Number of entries.
        len: usize,
        /// Number of tokens.
        vocab_size: usize,
    },
    /// `tokenizer.ggml.add_bos_token` (or `add_eos_token`) is true but the token id is absent.
    #[error("tokenizer.ggml.add_{which}_token is true, but the file has no {which} token id")]
    AddSpecialWithoutId {
        /// `"bos"` or `"eos"`.
        which: &'static str,
    },
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

/// Options of [`Tokenizer::encode_with`] (llama.cpp's `add_special` and `parse_special`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Add BOS (and EOS) when the model says so (`tokenizer.ggml.add_bos_token`, …).
    pub add_special: bool,
    /// Turn the text of control tokens (such as `<|im_start|>`) into those tokens.
    pub parse_special: bool,
}

/// A GPT-2 byte-level BPE tokenizer.
///
/// Cheap to share between threads (`Sync`); encoding memoizes the tokens of short words.
pub struct Tokenizer {
    /// The bytes each token stands for, indexed by id.
    token_bytes: Vec<Box<[u8]>>,
    /// The ids of the vocabulary strings made only of byte characters, sorted by their bytes
    /// (one id per byte string, the first); `ignore_merges` looks words up here.
    word_index: Vec<u32>,
    /// Pre-tokenizer and its flags.
    pre: PreTokenizerConfig,
    /// Token types (all [`TokenType::Normal`] unless the file says otherwise).
    token_types: Vec<TokenType>,
    /// Control, user-defined and unknown tokens with a non-empty text: `(id, text)`, longest
    /// text first (ties by id), the order llama.cpp matches them in.
    special_texts: Vec<(u32, Box<str>)>,
    /// Tokens that end generation (llama.cpp's EOG set).
    eog_ids: Vec<u32>,
    add_bos: bool,
    add_eos: bool,
    /// The id of the single-byte token of each byte ([`NO_TOKEN`] when it has none).
    byte_tokens: [u32; 256],
    merges: MergeTable,
    eos_token_id: Option<u32>,
    bos_token_id: Option<u32>,
    /// Memoized encodings of short words.
    word_cache: Mutex<MixMap<Box<[u8]>, Box<[u32]>>>,
    /// A SentencePiece vocabulary (`tokenizer.ggml.model = "llama"`): encoding uses it instead of
    /// the pre-tokenizer, byte map and merges.
    spm: Option<Box<spm::SpmVocab>>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.token_bytes.len())
            .field("merges", &self.merges.len())
            .field("eos_token_id", &self.eos_token_id)
            .field("bos_token_id", &self.bos_token_id)
            .field("pre", &self.pre)
            .field("add_bos", &self.add_bos)
            .finish_non_exhaustive()
    }
}

impl Clone for Tokenizer {
    fn clone(&self) -> Self {
        Self {
            token_bytes: self.token_bytes.clone(),
            word_index: self.word_index.clone(),
            pre: self.pre,
            token_types: self.token_types.clone(),
            special_texts: self.special_texts.clone(),
            eog_ids: self.eog_ids.clone(),
            add_bos: self.add_bos,
            add_eos: self.add_eos,
            byte_tokens: self.byte_tokens,
            merges: self.merges.clone(),
            eos_token_id: self.eos_token_id,
            bos_token_id: self.bos_token_id,
            word_cache: Mutex::new(MixMap::default()),
            spm: self.spm.clone(),
        }
    }
}

impl Tokenizer {
    /// Builds a tokenizer from GPT-2 vocabulary strings (id = index) and merge rules `"a b"`
    /// (rank = index), with GPT-2's pre-tokenizer, every token [`TokenType::Normal`] and no
    /// BOS/EOS added (see the `with_*` methods for the rest).
    ///
    /// Fails when the vocabulary is empty or a merge rule is not two vocabulary strings separated
    /// by one space whose concatenation is also in the vocabulary. A byte without a single-byte
    /// token is dropped when encoding (llama.cpp's behaviour). Repeated strings keep their first id; repeated rules their first rank.
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
        let mut word_index = Vec::with_capacity(vocab_size);
        for (id, token) in (0u32..).zip(&tokens) {
            id_of_string.entry(token.as_str()).or_insert(id);
            let bytes = match byte_map.decode_token(token) {
                Some(bytes) => {
                    word_index.push(id);
                    bytes
                }
                None => token.as_bytes().to_vec(),
            };
            token_bytes.push(bytes.into_boxed_slice());
        }
        // Sorted by bytes, then id; the first id of each byte string is kept.
        word_index.sort_unstable_by(|&a, &b| {
            token_bytes[a as usize]
                .cmp(&token_bytes[b as usize])
                .then(a.cmp(&b))
        });
        word_index
            .dedup_by(|later, first| token_bytes[*later as usize] == token_bytes[*first as usize]);

        // A byte without a token (SmolLM2 has none for a few control bytes and for bytes that
        // never occur in UTF-8) is dropped when encoding, as llama.cpp drops it.
        let mut byte_tokens = [NO_TOKEN; 256];
        let mut utf8_buf = [0u8; 4];
        for b in 0..=255u8 {
            let expected: &str = byte_map.char_of_byte(b).encode_utf8(&mut utf8_buf);
            if let Some(&id) = id_of_string.get(expected) {
                byte_tokens[usize::from(b)] = id;
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
            token_types: vec![TokenType::Normal; token_bytes.len()],
            token_bytes,
            word_index,
            pre: PreTokenizerConfig {
                pre_tokenizer: PreTokenizer::Gpt2,
                ignore_merges: false,
                add_bos_default: false,
            },
            special_texts: Vec::new(),
            eog_ids: Vec::new(),
            add_bos: false,
            add_eos: false,
            byte_tokens,
            merges: merge_table,
            eos_token_id: None,
            bos_token_id: None,
            word_cache: Mutex::new(MixMap::default()),
            spm: None,
        };
        tokenizer.with_special_tokens(eos_token_id, None)
    }

    /// A SentencePiece tokenizer (llama.cpp's `llama` tokenizer model, module doc): `tokens`
    /// (id = index) with their `types` and `scores` (one per token; finite), BOS/EOS ids, whether
    /// BOS/EOS are added and whether a space is prefixed to text.
    #[allow(clippy::too_many_arguments)]
    pub fn new_sentencepiece(
        tokens: &[&str],
        types: &[TokenType],
        scores: Vec<f32>,
        bos: Option<u32>,
        eos: Option<u32>,
        add_bos: bool,
        add_eos: bool,
        add_space_prefix: bool,
    ) -> Result<Tokenizer, TokenizerError> {
        if tokens.is_empty() {
            return Err(TokenizerError::EmptyVocabulary);
        }
        if u32::try_from(tokens.len()).is_err() {
            return Err(TokenizerError::TooManyEntries { what: "vocabulary", len: tokens.len() });
        }
        if types.len() != tokens.len() {
            return Err(TokenizerError::TokenTypeCount { len: types.len(), vocab_size: tokens.len() });
        }
        let vocab = spm::SpmVocab::new(tokens, scores, add_space_prefix)?;
        let token_bytes = (0u32..)
            .zip(tokens.iter().zip(types))
            .map(|(id, (t, &k))| spm::token_bytes(t, k, id).map(Vec::into_boxed_slice))
            .collect::<Result<Vec<_>, _>>()?;
        let tokenizer = Tokenizer {
            token_types: vec![TokenType::Normal; token_bytes.len()],
            token_bytes,
            word_index: Vec::new(),
            pre: PreTokenizerConfig { pre_tokenizer: PreTokenizer::Gpt2, ignore_merges: false, add_bos_default: true },
            special_texts: Vec::new(),
            eog_ids: Vec::new(),
            add_bos: false,
            add_eos: false,
            byte_tokens: [NO_TOKEN; 256],
            merges: MergeTable::default(),
            eos_token_id: None,
            bos_token_id: None,
            word_cache: Mutex::new(MixMap::default()),
            spm: Some(Box::new(vocab)),
        };
        tokenizer
            .with_special_tokens(eos, bos)?
            .with_token_types(types, tokens)?
            .with_add_special(add_bos, add_eos)
    }

    /// Whether this is a SentencePiece tokenizer (`tokenizer.ggml.model = "llama"`).
    pub fn is_sentencepiece(&self) -> bool {
        self.spm.is_some()
    }

    /// The SentencePiece tokenizer a GGUF file with `tokenizer.ggml.model = "llama"` describes,
    /// with llama.cpp's defaults: BOS 1, EOS 2 unless the file names others, BOS added, EOS not,
    /// a space prefixed (`tokenizer.ggml.add_space_prefix`), scores 0 when the file has none.
    fn sentencepiece_from_gguf(file: &zkinfer_gguf::GgufFile) -> Result<Tokenizer, TokenizerError> {
        let strings = file.get_str_array("tokenizer.ggml.tokens")?;
        let n = strings.len();
        let scores = match file.get("tokenizer.ggml.scores") {
            None => vec![0.0; n],
            Some(_) => file
                .get_array("tokenizer.ggml.scores")?
                .iter()
                .map(|v| match v {
                    zkinfer_gguf::MetaValue::F32(x) => Ok(*x),
                    zkinfer_gguf::MetaValue::F64(x) => Ok(*x as f32),
                    other => Err(TokenizerError::Gguf(zkinfer_gguf::GgufError::WrongType {
                        key: "tokenizer.ggml.scores".into(),
                        expected: "an array of floats",
                        found: other.describe_type(),
                    })),
                })
                .collect::<Result<Vec<f32>, _>>()?,
        };
        let types = match file.get("tokenizer.ggml.token_type") {
            None => vec![TokenType::Normal; n],
            Some(_) => file.get_i64_array("tokenizer.ggml.token_type")?.into_iter().map(TokenType::from_gguf).collect(),
        };
        let id_or = |key: &str, default: u32| -> Result<Option<u32>, TokenizerError> {
            Ok(Some(match file.get(key) {
                None => default,
                Some(_) => file.get_u32(key)?,
            }))
        };
        let flag = |key: &str, default: bool| -> Result<bool, TokenizerError> {
            match file.get(key) {
                None => Ok(default),
                Some(_) => Ok(file.get_bool(key)?),
            }
        };
        let in_vocab = |id: Option<u32>| id.filter(|&i| (i as usize) < n);
        let (bos, eos) = (id_or("tokenizer.ggml.bos_token_id", 1)?, id_or("tokenizer.ggml.eos_token_id", 2)?);
        // A default id outside a tiny vocabulary is no id (an explicit one is checked below).
        let bos = if file.get("tokenizer.ggml.bos_token_id").is_none() { in_vocab(bos) } else { bos };
        let eos = if file.get("tokenizer.ggml.eos_token_id").is_none() { in_vocab(eos) } else { eos };
        let add_bos = flag("tokenizer.ggml.add_bos_token", true)?;
        let add_eos = flag("tokenizer.ggml.add_eos_token", false)?;
        let add_space_prefix = flag("tokenizer.ggml.add_space_prefix", true)?;
        Tokenizer::new_sentencepiece(&strings, &types, scores, bos, eos, add_bos, add_eos, add_space_prefix)
    }

    /// Builds the tokenizer a GGUF file describes, the way llama.cpp reads it:
    /// `tokenizer.ggml.model` must be `"gpt2"`; `tokenizer.ggml.pre` must name a supported
    /// pre-tokenizer ([`PreTokenizerConfig::from_name`]); `tokenizer.ggml.tokens` and
    /// `tokenizer.ggml.merges` give the vocabulary and merge rules; `tokenizer.ggml.token_type`
    /// (optional) the token types; `tokenizer.ggml.eos_token_id`, `tokenizer.ggml.bos_token_id`,
    /// `tokenizer.ggml.add_bos_token` and `tokenizer.ggml.add_eos_token` are optional.
    pub fn from_gguf(file: &zkinfer_gguf::GgufFile) -> Result<Tokenizer, TokenizerError> {
        let model = file.get_str("tokenizer.ggml.model")?;
        if model == "llama" {
            return Self::sentencepiece_from_gguf(file);
        }
        if model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(shorten(model)));
        }
        let pre = match file.get("tokenizer.ggml.pre") {
            None => return Err(TokenizerError::MissingPreTokenizer),
            Some(_) => {
                let name = file.get_str("tokenizer.ggml.pre")?;
                PreTokenizerConfig::from_name(name).ok_or_else(|| {
                    TokenizerError::UnsupportedPreTokenizer {
                        name: shorten(name),
                    }
                })?
            }
        };
        let strings = file.get_str_array("tokenizer.ggml.tokens")?;
        let tokens: Vec<String> = strings.iter().map(|s| (*s).to_owned()).collect();
        let merges = file.get_str_array("tokenizer.ggml.merges")?;
        let optional_id = |key: &str| -> Result<Option<u32>, TokenizerError> {
            match file.get(key) {
                None => Ok(None),
                Some(_) => Ok(Some(file.get_u32(key)?)),
            }
        };
        let optional_bool = |key: &str, default: bool| -> Result<bool, TokenizerError> {
            match file.get(key) {
                None => Ok(default),
                Some(_) => Ok(file.get_bool(key)?),
            }
        };
        let eos = optional_id("tokenizer.ggml.eos_token_id")?;
        let bos = optional_id("tokenizer.ggml.bos_token_id")?;
        let add_bos = optional_bool("tokenizer.ggml.add_bos_token", pre.add_bos_default)?;
        let add_eos = optional_bool("tokenizer.ggml.add_eos_token", false)?;
        let types = match file.get("tokenizer.ggml.token_type") {
            None => vec![TokenType::Normal; tokens.len()],
            Some(_) => {
                let raw = file.get_i64_array("tokenizer.ggml.token_type")?;
                raw.into_iter().map(TokenType::from_gguf).collect()
            }
        };
        Tokenizer::new(tokens, &merges, None)?
            .with_special_tokens(eos, bos)?
            .with_pre_tokenizer(pre)
            .with_token_types(&types, &strings)?
            .with_add_special(add_bos, add_eos)
    }

    /// Uses the pre-tokenizer (and its `ignore_merges` flag) of `config`.
    pub fn with_pre_tokenizer(mut self, config: PreTokenizerConfig) -> Tokenizer {
        self.pre = config;
        self.clear_cache();
        self
    }

    /// Sets the token types (one per token, as `tokenizer.ggml.token_type`) given the vocabulary
    /// strings. As llama.cpp does, tokens whose text marks an end of turn (`<|im_end|>`,
    /// `<|endoftext|>`, `<|eot_id|>`, …) become control tokens and form, with EOS, the
    /// end-of-generation set ([`Tokenizer::is_eog`]); control, user-defined and unknown tokens
    /// stand for their own text.
    pub fn with_token_types(
        mut self,
        types: &[TokenType],
        strings: &[&str],
    ) -> Result<Tokenizer, TokenizerError> {
        let vocab_size = self.vocab_size();
        if types.len() < vocab_size || strings.len() != vocab_size {
            return Err(TokenizerError::TokenTypeCount {
                len: types.len(),
                vocab_size,
            });
        }
        let mut types = types[..vocab_size].to_vec();
        let mut eog = Vec::new();
        for (id, text) in (0u32..).zip(strings) {
            if special::EOG_TEXTS.contains(text) {
                types[id as usize] = TokenType::Control;
                eog.push(id);
            }
        }
        let byte_map = ByteMap::new();
        let mut specials = Vec::new();
        let mut reindex = false;
        for (id, (&kind, text)) in (0u32..).zip(types.iter().zip(strings)) {
            if kind.is_special() {
                // The bytes change from φ⁻¹(text) to the text itself; a token whose two readings
                // differ leaves the ignore_merges index (llama.cpp compares the φ-encoded word
                // with the vocabulary string).
                if byte_map
                    .decode_token(text)
                    .is_some_and(|decoded| decoded != text.as_bytes())
                {
                    reindex = true;
                }
                self.token_bytes[id as usize] = text.as_bytes().into();
                if !text.is_empty() {
                    specials.push((id, Box::<str>::from(*text)));
                }
            }
        }
        if reindex {
            self.word_index.retain(|&id| {
                let text = strings[id as usize];
                !types[id as usize].is_special()
                    || byte_map.decode_token(text).as_deref() == Some(text.as_bytes())
            });
        }
        specials.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        self.token_types = types;
        self.special_texts = specials;
        self.eog_ids = eog;
        self.set_eos_in_eog();
        self.clear_cache();
        Ok(self)
    }

    /// Whether [`EncodeOptions::add_special`] adds BOS and EOS. Fails when one is asked for but
    /// its id is not set.
    pub fn with_add_special(
        mut self,
        add_bos: bool,
        add_eos: bool,
    ) -> Result<Tokenizer, TokenizerError> {
        if add_bos && self.bos_token_id.is_none() {
            return Err(TokenizerError::AddSpecialWithoutId { which: "bos" });
        }
        if add_eos && self.eos_token_id.is_none() {
            return Err(TokenizerError::AddSpecialWithoutId { which: "eos" });
        }
        self.add_bos = add_bos;
        self.add_eos = add_eos;
        Ok(self)
    }

    fn set_eos_in_eog(&mut self) {
        if let Some(eos) = self.eos_token_id
            && !self.eog_ids.contains(&eos)
        {
            self.eog_ids.push(eos);
        }
        self.eog_ids.sort_unstable();
    }

    fn clear_cache(&mut self) {
        if let Ok(cache) = self.word_cache.get_mut() {
            cache.clear();
        }
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
        self.set_eos_in_eog();
        Ok(self)
    }

    /// Encodes `text` into token ids, without BOS/EOS and without parsing control tokens
    /// (llama.cpp's `add_special = false, parse_special = false`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_with(text, EncodeOptions::default())
    }

    /// Encodes `text` as llama.cpp's `llama_tokenize(text, add_special, parse_special)` does:
    /// BOS first when `add_special` and the model adds BOS; the text of user-defined tokens (and
    /// of control tokens when `parse_special`) cut out and replaced by those tokens, longest text
    /// first; the pieces between them pre-tokenized and merged; EOS last when `add_special` and
    /// the model adds EOS.
    pub fn encode_with(&self, text: &str, options: EncodeOptions) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if options.add_special
            && self.add_bos
            && let Some(bos) = self.bos_token_id
        {
            out.push(bos);
        }
        let fragments = special::partition(text, &self.special_texts, |id| {
            options.parse_special || self.token_types[id as usize] == TokenType::UserDefined
        });
        // SentencePiece: a space before the first piece of text and any after a special token.
        let mut prev_special = true;
        for fragment in fragments {
            match fragment {
                Fragment::Text(piece) => match &self.spm {
                    Some(spm) => {
                        let mut escaped = String::with_capacity(piece.len() + 3);
                        if spm.add_space_prefix && prev_special {
                            escaped.push_str(spm::SPACE);
                        }
                        escaped.push_str(&piece.replace(' ', spm::SPACE));
                        spm.tokenize(&escaped, &mut out);
                        prev_special = false;
                    }
                    None => self.encode_text(piece, &mut out),
                },
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
            }
        }
        if options.add_special
            && self.add_eos
            && let Some(eos) = self.eos_token_id
        {
            out.push(eos);
        }
        out
    }

    /// Pre-tokenizes and merges `text` (no special tokens), appending to `out`.
    fn encode_text(&self, text: &str, out: &mut Vec<u32>) {
        // Another thread encoding at the same time just means this call runs without the cache.
        let mut cache = self.word_cache.try_lock().ok();
        let mut initial = Vec::new();
        for word in self.pre.pre_tokenizer.split(text) {
            let bytes = word.as_bytes();
            if let [b] = bytes {
                let id = self.byte_tokens[usize::from(*b)];
                if id != NO_TOKEN {
                    out.push(id);
                }
                continue;
            }
            if self.pre.ignore_merges
                && let Ok(at) = self
                    .word_index
                    .binary_search_by(|&id| (*self.token_bytes[id as usize]).cmp(bytes))
            {
                out.push(self.word_index[at]);
                continue;
            }
            if let Some(ids) = cache.as_ref().and_then(|c| c.get(bytes)) {
                out.extend_from_slice(ids);
                continue;
            }
            initial.clear();
            initial.extend(bytes.iter().map(|&b| self.byte_tokens[usize::from(b)]));
            let start = out.len();
            merge_word(&initial, &self.merges, out);
            if initial.contains(&NO_TOKEN) {
                let mut kept = start;
                for i in start..out.len() {
                    if out[i] != NO_TOKEN {
                        out[kept] = out[i];
                        kept += 1;
                    }
                }
                out.truncate(kept);
            }
            if let Some(cache) = cache.as_mut()
                && bytes.len() <= MAX_CACHED_WORD_BYTES
            {
                if cache.len() >= MAX_CACHED_WORDS {
                    cache.clear();
                }
                cache.insert(bytes.into(), out[start..].into());
            }
        }
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

    /// The pre-tokenizer and its flags.
    pub fn pre_tokenizer(&self) -> PreTokenizerConfig {
        self.pre
    }

    /// The type of token `id`, or `None` outside the vocabulary.
    pub fn token_type(&self, id: u32) -> Option<TokenType> {
        self.token_types.get(id as usize).copied()
    }

    /// Whether [`EncodeOptions::add_special`] adds BOS (`tokenizer.ggml.add_bos_token`).
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether [`EncodeOptions::add_special`] adds EOS (`tokenizer.ggml.add_eos_token`).
    pub fn adds_eos(&self) -> bool {
        self.add_eos
    }

    /// Whether `id` ends generation: EOS or a token whose text marks an end of turn
    /// (llama.cpp's EOG set; for SmolLM2 `<|im_end|>` and `<|endoftext|>`).
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog_ids.binary_search(&id).is_ok()
    }

    /// The end-of-generation ids, sorted.
    pub fn eog_ids(&self) -> &[u32] {
        &self.eog_ids
    }

    /// The text of token `id` (its bytes, invalid UTF-8 replaced), e.g. `"<|im_start|>"`.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.token_bytes
            .get(id as usize)
            .map(|b| String::from_utf8_lossy(b).into_owned())
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
        // A byte without a token is dropped when encoding, as llama.cpp drops it.
        let missing = bytes[1..].to_vec();
        let t = Tokenizer::new(missing, &[], None).expect("a missing byte token is allowed");
        assert_eq!(
            t.encode("a\0b\0"),
            [u32::from(b'a') - 1, u32::from(b'b') - 1]
        );
        assert_eq!(t.encode("\0"), Vec::<u32>::new());
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

    #[test]
    fn ignore_merges_takes_whole_word_tokens() {
        // "the" is a token no merge rule reaches ("h e" is missing for it): only llama3's
        // ignore_merges produces it.
        let map = ByteMap::new();
        let mut tokens: Vec<String> = (0..=255u8)
            .map(|b| map.char_of_byte(b).to_string())
            .collect();
        tokens.extend(["th", "the"].map(String::from));
        let plain = Tokenizer::new(tokens, &["t h"], None).expect("valid");
        assert_eq!(plain.encode("the"), [256, u32::from(b'e')]);
        let llama3 = plain
            .clone()
            .with_pre_tokenizer(PreTokenizerConfig::from_name("llama3").expect("known"));
        assert_eq!(llama3.encode("the"), [257]);
        assert_eq!(
            llama3.encode("thethe"),
            [256, u32::from(b'e'), 256, u32::from(b'e')]
        );
        let qwen2 =
            plain.with_pre_tokenizer(PreTokenizerConfig::from_name("qwen2").expect("known"));
        assert_eq!(qwen2.encode("the"), [256, u32::from(b'e')]);
    }
}
