//! Long single words (256 KiB (one letter, digit, space or emoji repeated) are one pre-token
//! each; BPE over them must stay `O(n log n)` and still round-trip. Moderate lengths are checked
//! against tiktoken too.

use crate::common;

use std::time::Instant;

use common::gpt2;

#[test]
fn long_single_words_round_trip() {
    for unit in ["a", "7", " ", "\n", "🦙", "ab", "!?"] {
        let text = unit.repeat((1 << 18) / unit.len());
        let start = Instant::now();
        let ids = gpt2().encode(&text);
        let elapsed = start.elapsed();
        assert!(!ids.is_empty());
        // GPT-2 has merges for every unit except spaces and newlines (no multi-space tokens).
        if !unit.trim().is_empty() {
            assert!(ids.len() < text.len(), "{unit:?}: no merges");
        }
        assert_eq!(gpt2().decode(&ids).expect("ids in range"), text, "{unit:?}");
        eprintln!(
            "{unit:?} x {}: {} ids in {elapsed:?}",
            text.len() / unit.len(),
            ids.len()
        );
    }
}

#[test]
fn long_words_agree_with_tiktoken() {
    let r50k = tiktoken_rs::r50k_base().expect("tiktoken's bundled r50k_base");
    for unit in ["a", "7", " ", "\n", "🦙", "ab", "!?", "ab1 ", "x\u{301}"] {
        for count in [1, 2, 3, 5, 17, 100, 1000] {
            let text = unit.repeat(count);
            assert_eq!(
                gpt2().encode(&text),
                r50k.encode_ordinary(&text),
                "{unit:?} x {count}"
            );
        }
    }
}
