//! Agreement with an independent implementation: tiktoken's `r50k_base` (GPT-2's encoding) as
//! shipped by `tiktoken-rs`, on the whole vocabulary and on random strings of every kind the
//! pre-tokenizer distinguishes (ASCII, Unicode letters/numbers/marks, whitespace runs,
//! contractions, digits, emoji).

use crate::common;

use std::sync::LazyLock;

use common::gpt2;
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;

fn r50k() -> &'static CoreBPE {
    static R50K: LazyLock<CoreBPE> =
        LazyLock::new(|| tiktoken_rs::r50k_base().expect("tiktoken's bundled r50k_base"));
    &R50K
}

#[test]
fn every_token_stands_for_the_same_bytes() {
    let tokenizer = gpt2();
    assert_eq!(tokenizer.vocab_size(), 50257);
    let ids: Vec<u32> = (0..50257).collect();
    let theirs: Vec<Vec<u8>> = r50k()._decode_native_and_split(ids.clone()).collect();
    for (id, expected) in ids.into_iter().zip(theirs) {
        assert_eq!(tokenizer.token_bytes(id), Some(expected), "token {id}");
    }
}

/// Checks one string against tiktoken and the round trip.
fn check(text: &str) -> Result<(), TestCaseError> {
    let ours = gpt2().encode(text);
    let theirs = r50k().encode_ordinary(text);
    prop_assert_eq!(&ours, &theirs, "text {:?}", text);
    prop_assert_eq!(gpt2().decode(&ours).expect("ids in range"), text);
    Ok(())
}

#[test]
fn fixed_corner_cases() {
    for text in [
        "",
        " ",
        "\n",
        "   \n\n  \t x",
        "<|endoftext|>",
        "I'm sure they'll say it's 'RE', he'd've",
        "1234567890 3.14159 1,000,000",
        "🦙🦙 👨‍👩‍👧 🏳️‍🌈",
        "e\u{301}le\u{300}ve naïve façade",
        "\u{3000}全角\u{3000}スペース\u{a0}nbsp",
        "\u{85}\u{2028}\u{2029}\u{b}\u{c}\r\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ÿÿÿÿ \u{0} \u{7f} \u{ad}",
    ] {
        if let Err(e) = check(text) {
            panic!("{e}");
        }
    }
}

/// Pieces that exercise every branch of the pre-tokenizer when concatenated at random.
const PIECES: &[&str] = &[
    "a",
    "Hello",
    " world",
    "the",
    "GPT",
    "é",
    "ü",
    "中文",
    "Ω",
    "ʰ",
    "\u{301}",
    "\u{93E}",
    "नमस्ते",
    "مرحبا",
    "1",
    "42",
    "½",
    "٣",
    "Ⅻ",
    "2024",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\u{a0}",
    "\u{3000}",
    "\u{2028}",
    "'",
    "'s",
    "'t",
    "'re",
    "'ve",
    "'m",
    "'ll",
    "'d",
    "'S",
    "'RE",
    "''",
    "!",
    "?",
    ".",
    ",",
    "...",
    "-",
    "--",
    "$",
    "#",
    "@",
    "`",
    "\"",
    "(",
    ")",
    "😀",
    "🦙",
    "👍🏽",
    "‍",
    "️",
    "\u{0}",
    "\u{1b}",
    "<|endoftext|>",
    "https://",
    "foo_bar",
];

fn piece_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn agrees_on_ascii(text in "[ -~\t\n\r]{0,80}") {
        check(&text)?;
    }

    #[test]
    fn agrees_on_arbitrary_unicode(text in "(?s).{0,48}") {
        check(&text)?;
    }

    #[test]
    fn agrees_on_piece_soup(text in piece_soup()) {
        check(&text)?;
    }

    #[test]
    fn agrees_on_whitespace_and_digits(text in "[ \t\n0-9a\u{a0}\u{3000}'sRE]{0,60}") {
        check(&text)?;
    }

    #[test]
    fn reencoding_decoded_ids_gives_the_same_bytes(ids in prop::collection::vec(0u32..50257, 0..24)) {
        let tokenizer = gpt2();
        let bytes = tokenizer.decode_bytes(&ids).expect("ids in range");
        let concatenated: Vec<u8> =
            ids.iter().flat_map(|&id| tokenizer.token_bytes(id).unwrap_or_default()).collect();
        prop_assert_eq!(&bytes, &concatenated);
        let text = tokenizer.decode(&ids).expect("ids in range");
        if let Ok(valid) = std::str::from_utf8(&bytes) {
            prop_assert_eq!(&text, valid);
            check(valid)?;
        } else {
            prop_assert!(text.contains(char::REPLACEMENT_CHARACTER), "lossy text {:?}", text);
            prop_assert_eq!(text, String::from_utf8_lossy(&bytes));
        }
    }
}
