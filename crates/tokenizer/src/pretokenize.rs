//! GPT-2's pre-tokenizer, written as a hand-made scanner.
//!
//! GPT-2 splits text into "words" with the regular expression
//!
//! ```text
//! 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//! ```
//!
//! applied left to right (leftmost match, alternatives tried in order, each quantifier greedy).
//! BPE then runs inside each word only. The `(?!\S)` lookahead is what the `regex` crate lacks;
//! it means: a whitespace run followed by a non-space character gives up its last character, so
//! that character can start the next word (`"  hello"` → `" "`, `" hello"`).
//!
//! The scanner decides every position by the class of one or two characters, which is exactly
//! what the expression does:
//!
//! 1. `'` followed by `s`, `t`, `m`, `d`, `re`, `ve` or `ll` (case-sensitive) is a contraction.
//! 2. Otherwise, let `x` be the first character, or the second if the first is a space `U+0020`.
//!    If `x` exists and is not whitespace, the word is the optional space plus the longest run
//!    of characters of `x`'s class: letters `\p{L}`, numbers `\p{N}`, or "other"
//!    (neither letter, number nor whitespace).
//! 3. Otherwise the word is whitespace: the maximal whitespace run, minus its last character
//!    when the run is longer than one character and is followed by a non-space.
//!
//! Character classes use the same Unicode tables as the `regex` crate (`regex-syntax`), so
//! `\s` is the `White_Space` property, `\p{L}` and `\p{N}` the general categories.

use std::sync::LazyLock;

/// The class of a character for the GPT-2 pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CharClass {
    /// `\p{L}`.
    Letter,
    /// `\p{N}`.
    Number,
    /// `\s`.
    Whitespace,
    /// `[^\s\p{L}\p{N}]`.
    Other,
}

/// Sorted, disjoint code-point ranges `(first, last, class)` for letters, numbers and whitespace;
/// everything else is [`CharClass::Other`].
struct ClassTable {
    ascii: [CharClass; 128],
    ranges: Vec<(u32, u32, CharClass)>,
}

/// The code-point ranges that `regex-syntax` gives for a Unicode class expression.
fn unicode_ranges(pattern: &str) -> Vec<(u32, u32)> {
    use regex_syntax::hir::{Class, HirKind};
    let parsed = regex_syntax::Parser::new().parse(pattern);
    // The three patterns are constants that `regex-syntax` always accepts and always turns into a
    // Unicode class; anything else would be a bug in this file, caught by the unit tests.
    match parsed.as_ref().map(|hir| hir.kind()) {
        Ok(HirKind::Class(Class::Unicode(class))) => class
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        _ => Vec::new(),
    }
}

static CLASS_TABLE: LazyLock<ClassTable> = LazyLock::new(|| {
    let mut ranges = Vec::new();
    for (pattern, class) in [
        (r"\p{L}", CharClass::Letter),
        (r"\p{N}", CharClass::Number),
        (r"\s", CharClass::Whitespace),
    ] {
        ranges.extend(
            unicode_ranges(pattern)
                .into_iter()
                .map(|(a, b)| (a, b, class)),
        );
    }
    // The three classes are disjoint (general categories L and N, and White_Space characters are
    // all of category Z or Cc), so sorting by start gives disjoint sorted ranges.
    ranges.sort_unstable_by_key(|&(start, _, _)| start);
    let mut ascii = [CharClass::Other; 128];
    for (b, slot) in ascii.iter_mut().enumerate() {
        *slot = lookup(&ranges, b as u32);
    }
    ClassTable { ascii, ranges }
});

fn lookup(ranges: &[(u32, u32, CharClass)], cp: u32) -> CharClass {
    let idx = ranges.partition_point(|&(start, _, _)| start <= cp);
    match idx.checked_sub(1).and_then(|i| ranges.get(i)) {
        Some(&(_, end, class)) if cp <= end => class,
        _ => CharClass::Other,
    }
}

/// The class of `c` in the GPT-2 pattern.
pub(crate) fn char_class(c: char) -> CharClass {
    let table = &*CLASS_TABLE;
    let cp = u32::from(c);
    match table.ascii.get(cp as usize) {
        Some(&class) => class,
        None => lookup(&table.ranges, cp),
    }
}

/// Length in bytes of the contraction suffix after an apostrophe (`s`, `re`, …), if any.
fn contraction_suffix_len(after_apostrophe: &[u8]) -> Option<usize> {
    match after_apostrophe {
        [b'r', b'e', ..] | [b'v', b'e', ..] | [b'l', b'l', ..] => Some(2),
        [b's' | b't' | b'm' | b'd', ..] => Some(1),
        _ => None,
    }
}

/// Iterator over GPT-2 pre-tokens of a string (non-empty slices that concatenate to the input).
#[derive(Debug, Clone)]
pub struct PreTokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> PreTokens<'a> {
    /// Splits `text` with the GPT-2 pattern.
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// End (byte offset) of the next word starting at `start`, with `start < text.len()`.
    fn word_end(&self, start: usize) -> usize {
        let rest = &self.text[start..];
        let bytes = rest.as_bytes();
        let mut chars = rest.char_indices();
        let Some((_, first)) = chars.next() else {
            return start;
        };

        // 1. Contractions.
        if first == '\''
            && let Some(len) = contraction_suffix_len(&bytes[1..])
        {
            return start + 1 + len;
        }

        // 2. ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`.
        let head = if first == ' ' {
            chars.next()
        } else {
            Some((0, first))
        };
        if let Some((head_offset, head_char)) = head {
            let class = char_class(head_char);
            if class != CharClass::Whitespace {
                let mut end = head_offset + head_char.len_utf8();
                for (offset, c) in rest[end..].char_indices() {
                    if char_class(c) != class {
                        return start + end + offset;
                    }
                }
                end = rest.len();
                return start + end;
            }
        }

        // 3. `\s+(?!\S)` then `\s+`: `first` is whitespace here.
        let first_len = first.len_utf8();
        let mut run_end = first_len;
        let mut last_char_start = 0;
        for (offset, c) in rest[first_len..].char_indices() {
            if char_class(c) != CharClass::Whitespace {
                // Followed by a non-space: keep the last whitespace character for the next word,
                // unless the run is a single character.
                return start
                    + if last_char_start > 0 {
                        last_char_start
                    } else {
                        run_end
                    };
            }
            last_char_start = first_len + offset;
            run_end = last_char_start + c.len_utf8();
        }
        start + rest.len()
    }
}

impl<'a> Iterator for PreTokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let end = self.word_end(start);
        // Every branch consumes at least one character, so `end > start`; guard anyway.
        let end = if end > start { end } else { self.text.len() };
        self.pos = end;
        self.text.get(start..end)
    }
}

/// Whether `c` ends a line for the Llama 3 / Qwen2 patterns (`[\r\n]`).
fn is_newline(c: char) -> bool {
    c == '\r' || c == '\n'
}

/// End (byte offset) of the next word of `text` at `start < text.len()` for the Llama 3 family
/// of patterns (see [`PreTokenizer::Llama3`]), with at most `max_digits` digits per number word.
fn llama3_word_end(text: &str, start: usize, max_digits: usize) -> usize {
    let rest = &text[start..];
    let mut chars = rest.chars();
    let Some(first) = chars.next() else {
        return start;
    };
    let second = chars.next();
    let first_class = char_class(first);

    // 1. Contractions, ASCII case-insensitive: `'s`, `'t`, `'m`, `'d`, `'re`, `'ve`, `'ll`.
    if first == '\''
        && let Some(next) = second
    {
        let next = next.to_ascii_lowercase();
        if matches!(next, 's' | 't' | 'm' | 'd') {
            return start + 2;
        }
        if let Some(third) = chars.next() {
            let third = third.to_ascii_lowercase();
            if matches!((next, third), ('r', 'e') | ('v', 'e') | ('l', 'l')) {
                return start + 3;
            }
        }
    }

    // 2. `[^\r\n\p{L}\p{N}]?\p{L}+`.
    if !is_newline(first)
        && first_class != CharClass::Number
        && (first_class == CharClass::Letter
            || second.is_some_and(|c| char_class(c) == CharClass::Letter))
    {
        let mut end = first.len_utf8();
        for (offset, c) in rest[end..].char_indices() {
            if char_class(c) != CharClass::Letter {
                return start + end + offset;
            }
        }
        end = rest.len();
        return start + end;
    }

    // 3. `\p{N}{1,max_digits}`.
    if first_class == CharClass::Number {
        let mut end = 0;
        for (count, (offset, c)) in rest.char_indices().enumerate() {
            if count == max_digits || char_class(c) != CharClass::Number {
                return start + offset;
            }
            end = offset + c.len_utf8();
        }
        return start + end;
    }

    // 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*`.
    let head = if first == ' ' { second } else { Some(first) };
    if head.is_some_and(|c| char_class(c) == CharClass::Other) {
        let mut end = if first == ' ' { 1 } else { 0 };
        let mut in_newlines = false;
        for c in rest[end..].chars() {
            let accept = if in_newlines {
                is_newline(c)
            } else if char_class(c) == CharClass::Other {
                true
            } else {
                in_newlines = true;
                is_newline(c)
            };
            if !accept {
                break;
            }
            end += c.len_utf8();
        }
        return start + end;
    }

    // 5. `\s*[\r\n]+`, then `\s+(?!\S)`, then `\s+`: `first` is whitespace here.
    let mut run_end = 0;
    let mut last_char_start = 0;
    let mut after_last_newline = None;
    let mut followed_by_non_space = false;
    for (offset, c) in rest.char_indices() {
        if char_class(c) != CharClass::Whitespace {
            followed_by_non_space = true;
            break;
        }
        last_char_start = offset;
        run_end = offset + c.len_utf8();
        if is_newline(c) {
            after_last_newline = Some(run_end);
        }
    }
    if let Some(end) = after_last_newline {
        return start + end;
    }
    if followed_by_non_space && last_char_start > 0 {
        return start + last_char_start;
    }
    start + run_end
}

/// A BPE pre-tokenizer of llama.cpp, selected by the GGUF key `tokenizer.ggml.pre`.
///
/// Each splits text into words; BPE merges never cross a word boundary. The patterns are
/// llama.cpp's (`llm_tokenizer_bpe` in `src/llama-vocab.cpp`), implemented here as hand-written
/// scanners (no backtracking regex engine) with the Unicode classes of [`char_class`]:
///
/// - [`Gpt2`](Self::Gpt2): `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// - [`SmolLm`](Self::SmolLm): first every `\p{N}` character becomes a word of its own, then the
///   GPT-2 pattern splits each stretch between them (so `" 123"` is `" "`, `"1"`, `"2"`, `"3"`).
///   The same set serves llama.cpp's `starcoder`, `refact`, `codeshell`, `command-r`, `exaone`.
/// - [`Llama3`](Self::Llama3):
///   `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
///   (case-insensitive for ASCII letters, as llama.cpp's adapted pattern `'[sS]|…`).
/// - [`Qwen2`](Self::Qwen2): the Llama 3 pattern with `\p{N}` (one digit per word) instead of
///   `\p{N}{1,3}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// GPT-2's pattern.
    Gpt2,
    /// Single digits, then GPT-2's pattern (SmolLM, StarCoder).
    SmolLm,
    /// Llama 3's pattern (numbers in groups of up to three digits).
    Llama3,
    /// Qwen2's pattern (the Llama 3 pattern with single digits).
    Qwen2,
}

/// What llama.cpp derives from `tokenizer.ggml.pre` besides the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreTokenizerConfig {
    /// The split pattern.
    pub pre_tokenizer: PreTokenizer,
    /// A word that is itself a vocabulary token becomes that token without running the merges
    /// (llama.cpp's `ignore_merges`, set for the Llama 3 names).
    pub ignore_merges: bool,
    /// Default of `tokenizer.ggml.add_bos_token` when the file does not say.
    pub add_bos_default: bool,
}

impl PreTokenizerConfig {
    /// The configuration llama.cpp uses for the `tokenizer.ggml.pre` value `name`, or `None` for
    /// a value this crate does not implement.
    pub fn from_name(name: &str) -> Option<PreTokenizerConfig> {
        let plain = |pre_tokenizer| PreTokenizerConfig {
            pre_tokenizer,
            ignore_merges: false,
            add_bos_default: false,
        };
        Some(match name {
            "gpt-2" | "phi-2" | "mpt" | "olmo" => plain(PreTokenizer::Gpt2),
            "smollm" | "starcoder" | "refact" | "codeshell" | "command-r" | "exaone" => {
                plain(PreTokenizer::SmolLm)
            }
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" => PreTokenizerConfig {
                pre_tokenizer: PreTokenizer::Llama3,
                ignore_merges: true,
                add_bos_default: true,
            },
            "dbrx" | "smaug-bpe" => plain(PreTokenizer::Llama3),
            "qwen2" | "deepseek-r1-qwen" | "stablelm2" | "megrez" => plain(PreTokenizer::Qwen2),
            _ => return None,
        })
    }

    /// The `tokenizer.ggml.pre` values [`from_name`](Self::from_name) accepts.
    pub const NAMES: &'static [&'static str] = &[
        "gpt-2",
        "phi-2",
        "mpt",
        "olmo",
        "smollm",
        "starcoder",
        "refact",
        "codeshell",
        "command-r",
        "exaone",
        "llama3",
        "llama-v3",
        "llama-bpe",
        "falcon3",
        "pixtral",
        "dbrx",
        "smaug-bpe",
        "qwen2",
        "deepseek-r1-qwen",
        "stablelm2",
        "megrez",
    ];
}

impl PreTokenizer {
    /// The words of `text` (non-empty slices that concatenate to `text`).
    pub fn split<'a>(self, text: &'a str) -> Words<'a> {
        Words {
            pre_tokenizer: self,
            text,
            pos: 0,
            inner: None,
        }
    }
}

/// Iterator over the words of a text under a [`PreTokenizer`].
#[derive(Debug, Clone)]
pub struct Words<'a> {
    pre_tokenizer: PreTokenizer,
    text: &'a str,
    pos: usize,
    /// SmolLM: the GPT-2 words of the current stretch without digits.
    inner: Option<PreTokens<'a>>,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if let Some(inner) = self.inner.as_mut() {
            if let Some(word) = inner.next() {
                return Some(word);
            }
            self.inner = None;
        }
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let end = match self.pre_tokenizer {
            PreTokenizer::Gpt2 => PreTokens::new(self.text).word_end(start),
            PreTokenizer::Llama3 => llama3_word_end(self.text, start, 3),
            PreTokenizer::Qwen2 => llama3_word_end(self.text, start, 1),
            PreTokenizer::SmolLm => {
                let first = rest.chars().next()?;
                if char_class(first) == CharClass::Number {
                    start + first.len_utf8()
                } else {
                    let stretch_len = rest
                        .char_indices()
                        .find(|&(_, c)| char_class(c) == CharClass::Number)
                        .map_or(rest.len(), |(offset, _)| offset);
                    let stretch = &rest[..stretch_len];
                    self.pos = start + stretch_len;
                    let mut inner = PreTokens::new(stretch);
                    let word = inner.next();
                    self.inner = Some(inner);
                    return word;
                }
            }
        };
        // Every branch consumes at least one character; guard anyway.
        let end = if end > start { end } else { self.text.len() };
        self.pos = end;
        self.text.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        PreTokens::new(text).collect()
    }

    #[test]
    fn classes_match_unicode_categories() {
        assert_eq!(char_class('a'), CharClass::Letter);
        assert_eq!(char_class('Z'), CharClass::Letter);
        assert_eq!(char_class('é'), CharClass::Letter);
        assert_eq!(char_class('中'), CharClass::Letter);
        assert_eq!(char_class('ʰ'), CharClass::Letter); // Lm
        assert_eq!(char_class('7'), CharClass::Number);
        assert_eq!(char_class('½'), CharClass::Number); // No
        assert_eq!(char_class('Ⅻ'), CharClass::Number); // Nl
        assert_eq!(char_class('٣'), CharClass::Number); // Arabic-Indic digit
        assert_eq!(char_class(' '), CharClass::Whitespace);
        assert_eq!(char_class('\n'), CharClass::Whitespace);
        assert_eq!(char_class('\u{85}'), CharClass::Whitespace);
        assert_eq!(char_class('\u{3000}'), CharClass::Whitespace);
        assert_eq!(char_class('\u{A0}'), CharClass::Whitespace);
        assert_eq!(char_class('!'), CharClass::Other);
        assert_eq!(char_class('\u{301}'), CharClass::Other); // combining acute: Mn
        assert_eq!(char_class('\u{93E}'), CharClass::Other); // Devanagari vowel sign: Mc
        assert_eq!(char_class('😀'), CharClass::Other);
        assert_eq!(char_class('\0'), CharClass::Other);
        assert_eq!(char_class('\u{200B}'), CharClass::Other); // zero width space is not \s
    }

    #[test]
    fn words_and_leading_spaces() {
        assert_eq!(split("Hello world"), ["Hello", " world"]);
        assert_eq!(split(" Hello, world!"), [" Hello", ",", " world", "!"]);
        assert_eq!(split("abc123def"), ["abc", "123", "def"]);
        assert_eq!(split("a 12 ++ b"), ["a", " 12", " ++", " b"]);
    }

    #[test]
    fn contractions_are_case_sensitive() {
        assert_eq!(
            split("I've he's 'RE"),
            ["I", "'ve", " he", "'s", " '", "RE"]
        );
        assert_eq!(split("we'll'd't'm"), ["we", "'ll", "'d", "'t", "'m"]);
        assert_eq!(split("'x"), ["'", "x"]);
        assert_eq!(split("''s"), ["''", "s"]);
        assert_eq!(split("'"), ["'"]);
    }

    #[test]
    fn whitespace_runs_leave_their_last_character() {
        assert_eq!(split("  hello"), [" ", " hello"]);
        assert_eq!(split("a   b"), ["a", "  ", " b"]);
        assert_eq!(split("a\n\nb"), ["a", "\n", "\n", "b"]);
        assert_eq!(split("a\n b"), ["a", "\n", " b"]);
        assert_eq!(split("a \nb"), ["a", " ", "\n", "b"]);
        assert_eq!(split("\tb"), ["\t", "b"]);
        assert_eq!(split("a  "), ["a", "  "]);
        assert_eq!(split(" "), [" "]);
        assert_eq!(split("   "), ["   "]);
        assert_eq!(split("x \u{3000}!"), ["x", " ", "\u{3000}", "!"]);
    }

    #[test]
    fn pieces_concatenate_to_the_input() {
        for text in [
            "",
            "a",
            "héllo wörld 123 ½!! \n\t 😀😀 'll'",
            "  \u{85}x\u{2028}",
        ] {
            assert_eq!(split(text).concat(), text);
            assert!(split(text).iter().all(|piece| !piece.is_empty()));
        }
    }

    #[test]
    fn llama3_and_qwen2_patterns() {
        let l3 = |t| PreTokenizer::Llama3.split(t).collect::<Vec<_>>();
        let q2 = |t| PreTokenizer::Qwen2.split(t).collect::<Vec<_>>();
        let smol = |t| PreTokenizer::SmolLm.split(t).collect::<Vec<_>>();
        assert_eq!(l3("I'VE 12345 x"), ["I", "'VE", " ", "123", "45", " x"]);
        assert_eq!(q2("a 123"), ["a", " ", "1", "2", "3"]);
        assert_eq!(l3("\tword !!\n\nx"), ["\tword", " !!\n\n", "x"]);
        assert_eq!(l3(" \n \n  x"), [" \n \n", " ", " x"]);
        assert_eq!(l3("a  "), ["a", "  "]);
        assert_eq!(smol("x 12ab"), ["x", " ", "1", "2", "ab"]);
        for text in [
            "",
            "héllo wörld 123 ½!! \n\t 😀 'll'",
            "  \u{85}x\u{2028}\r\n",
        ] {
            for pre in [
                PreTokenizer::Gpt2,
                PreTokenizer::SmolLm,
                PreTokenizer::Llama3,
                PreTokenizer::Qwen2,
            ] {
                let words: Vec<_> = pre.split(text).collect();
                assert_eq!(words.concat(), text);
                assert!(words.iter().all(|w| !w.is_empty()));
            }
        }
        assert!(PreTokenizerConfig::from_name("tekken").is_none());
        for name in PreTokenizerConfig::NAMES {
            assert!(PreTokenizerConfig::from_name(name).is_some(), "{name}");
        }
    }
}
