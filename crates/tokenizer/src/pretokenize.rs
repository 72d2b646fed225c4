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
}
