//! Token types and llama.cpp's special-token partition of a prompt.
//!
//! Before BPE, llama.cpp cuts the text of special tokens out of the prompt
//! (`tokenizer_st_partition`): for each special token in order of decreasing text length, every
//! occurrence (leftmost first, not overlapping) in every piece of text not yet claimed becomes
//! that token, and the text around it stays text. User-defined tokens are always cut out; control
//! and unknown tokens only when the caller asks for special tokens to be parsed.
//! Longest-first means `<|im_start|>` wins over a shorter token that is a part of it, and a
//! token's text can never be split by a shorter token that occurs inside it.

/// A token's type, as `tokenizer.ggml.token_type` stores it (llama.cpp's `llama_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// 0 or any value outside 1..=6.
    Undefined,
    /// 1: an ordinary token.
    Normal,
    /// 2: the unknown token.
    Unknown,
    /// 3: a control token such as `<|im_start|>` (parsed only on request).
    Control,
    /// 4: a user-defined token (always parsed in text).
    UserDefined,
    /// 5: an unused token.
    Unused,
    /// 6: a byte token.
    Byte,
}

impl TokenType {
    /// The type stored as `value` in `tokenizer.ggml.token_type`.
    pub fn from_gguf(value: i64) -> TokenType {
        match value {
            1 => TokenType::Normal,
            2 => TokenType::Unknown,
            3 => TokenType::Control,
            4 => TokenType::UserDefined,
            5 => TokenType::Unused,
            6 => TokenType::Byte,
            _ => TokenType::Undefined,
        }
    }

    /// Control, user-defined or unknown: the token stands for its own text and is cut out of
    /// prompts by the special-token partition.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            TokenType::Control | TokenType::UserDefined | TokenType::Unknown
        )
    }
}

/// Vocabulary strings that llama.cpp treats as ending generation (and forces to control type).
pub(crate) const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "<|end_of_text|>",
    "<end_of_utterance>",
];

/// A piece of a partitioned prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'a> {
    /// Text still to be pre-tokenized (never empty).
    Text(&'a str),
    /// A special token.
    Token(u32),
}

/// Splits `text` at the occurrences of the special tokens `specials` (`(id, text)`, in matching
/// order: longest text first) for which `enabled(id)` holds.
pub(crate) fn partition<'a>(
    text: &'a str,
    specials: &[(u32, Box<str>)],
    enabled: impl Fn(u32) -> bool,
) -> Vec<Fragment<'a>> {
    let mut fragments = Vec::new();
    if !text.is_empty() {
        fragments.push(Fragment::Text(text));
    }
    for (id, special) in specials {
        if special.is_empty() || !enabled(*id) {
            continue;
        }
        let special: &str = special;
        if !fragments
            .iter()
            .any(|f| matches!(f, Fragment::Text(t) if t.contains(special)))
        {
            continue;
        }
        let mut next = Vec::with_capacity(fragments.len() + 2);
        for fragment in fragments {
            let Fragment::Text(piece) = fragment else {
                next.push(fragment);
                continue;
            };
            let mut rest_start = 0;
            for (at, _) in piece.match_indices(special) {
                if at > rest_start {
                    next.push(Fragment::Text(&piece[rest_start..at]));
                }
                next.push(Fragment::Token(*id));
                rest_start = at + special.len();
            }
            if rest_start < piece.len() {
                next.push(Fragment::Text(&piece[rest_start..]));
            }
        }
        fragments = next;
    }
    fragments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specials(list: &[(u32, &str)]) -> Vec<(u32, Box<str>)> {
        let mut v: Vec<(u32, Box<str>)> = list.iter().map(|&(i, t)| (i, t.into())).collect();
        v.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        v
    }

    #[test]
    fn cuts_every_occurrence_longest_first() {
        let s = specials(&[(1, "<a>"), (2, "<a><b>"), (3, "b")]);
        let all = |_| true;
        assert_eq!(
            partition("x<a><b>y<a>zb", &s, all),
            [
                Fragment::Text("x"),
                Fragment::Token(2),
                Fragment::Text("y"),
                Fragment::Token(1),
                Fragment::Text("z"),
                Fragment::Token(3),
            ]
        );
        assert_eq!(partition("", &s, all), []);
        assert_eq!(
            partition("<a><a>", &s, all),
            [Fragment::Token(1), Fragment::Token(1)]
        );
        // Longest first, not leftmost first: "XA" loses to the longer "ABC" it overlaps.
        let s = specials(&[(1, "XA"), (2, "ABC")]);
        assert_eq!(
            partition("XABC", &s, all),
            [Fragment::Text("X"), Fragment::Token(2)]
        );
    }

    #[test]
    fn disabled_tokens_stay_text() {
        let s = specials(&[(1, "<a>"), (2, "<b>")]);
        assert_eq!(
            partition("<a><b>", &s, |id| id == 2),
            [Fragment::Text("<a>"), Fragment::Token(2)]
        );
        assert_eq!(partition("<a>", &s, |_| false), [Fragment::Text("<a>")]);
    }
}
