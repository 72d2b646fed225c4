//! `StreamDecoder`: streamed chunks are whole characters and add up to `decode`.

use crate::common;

use common::gpt2;
use proptest::prelude::*;
use zkinfer_tokenizer::{StreamDecoder, TokenizerError};

fn stream(ids: &[u32]) -> (Vec<String>, String) {
    let mut decoder = StreamDecoder::new(gpt2());
    let chunks = ids
        .iter()
        .map(|&id| decoder.push(id).expect("id in range"))
        .collect();
    (chunks, decoder.finish())
}

#[test]
fn a_character_split_over_byte_tokens_is_held_back() {
    // "🦙" is F0 9F A6 99; GPT-2 encodes it as several tokens.
    let ids = gpt2().encode("a🦙b");
    assert!(ids.len() >= 3, "{ids:?}");
    let (chunks, tail) = stream(&ids);
    assert_eq!(chunks.first().map(String::as_str), Some("a"));
    assert!(
        chunks.iter().any(String::is_empty),
        "some token completes no character: {chunks:?}"
    );
    assert!(
        chunks
            .iter()
            .all(|c| !c.contains(char::REPLACEMENT_CHARACTER))
    );
    assert_eq!(chunks.concat() + &tail, "a🦙b");
    assert_eq!(tail, "");
}

#[test]
fn an_unfinished_character_at_the_end_becomes_a_replacement() {
    // The single-byte token of 0xF0, the lead byte of a four-byte character.
    let lead = (0..256)
        .find(|&id| gpt2().token_bytes(id) == Some(vec![0xF0]))
        .expect("byte token");
    let mut decoder = StreamDecoder::new(gpt2());
    assert_eq!(decoder.push(lead).expect("in range"), "");
    assert!(decoder.has_pending());
    assert_eq!(decoder.finish(), "\u{FFFD}");
}

#[test]
fn an_out_of_range_id_fails_without_losing_pending_bytes() {
    let lead = (0..256)
        .find(|&id| gpt2().token_bytes(id) == Some(vec![0xC3]))
        .expect("byte token");
    let tail = (0..256)
        .find(|&id| gpt2().token_bytes(id) == Some(vec![0xBC]))
        .expect("byte token");
    let mut decoder = StreamDecoder::new(gpt2());
    assert_eq!(decoder.push(lead).expect("in range"), "");
    assert!(matches!(
        decoder.push(50257),
        Err(TokenizerError::TokenIdOutOfRange { .. })
    ));
    assert_eq!(decoder.push(tail).expect("in range"), "ü");
    assert!(!decoder.has_pending());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn chunks_add_up_to_decode(ids in prop::collection::vec(0u32..50257, 0..32)) {
        let (chunks, tail) = stream(&ids);
        let streamed = chunks.concat() + &tail;
        prop_assert_eq!(streamed, gpt2().decode(&ids).expect("ids in range"));
    }

    #[test]
    fn chunks_of_valid_text_are_exact(text in "(?s).{0,40}") {
        let ids = gpt2().encode(&text);
        let (chunks, tail) = stream(&ids);
        prop_assert_eq!(tail, "");
        prop_assert_eq!(chunks.concat(), text);
    }
}
