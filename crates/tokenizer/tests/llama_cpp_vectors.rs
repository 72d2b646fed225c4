//! llama.cpp's GPT-2 tokenizer test vectors (`test-tokenizer-0`), read the way llama.cpp reads
//! them: the `.inp` file is split on `"\n__ggml_vocab_test__\n"` (so a case's own trailing
//! newline belongs to the separator, and a case may be empty or consist only of newlines), and
//! line `i` of `.out` holds the expected ids of case `i`, encoded without special tokens.

use crate::common;

use common::{gpt2, testdata};
use zkinfer_tokenizer::TokenizerError;

const SEPARATOR: &str = "\n__ggml_vocab_test__\n";

fn cases() -> Vec<(String, Vec<u32>)> {
    let inp = std::fs::read_to_string(testdata("ggml-vocab-gpt-2.gguf.inp")).expect("read .inp");
    let out = std::fs::read_to_string(testdata("ggml-vocab-gpt-2.gguf.out")).expect("read .out");
    let mut inputs = Vec::new();
    let mut rest = inp.as_str();
    while let Some(at) = rest.find(SEPARATOR) {
        inputs.push(rest[..at].to_owned());
        rest = &rest[at + SEPARATOR.len()..];
    }
    assert!(rest.is_empty(), "text after the last separator: {rest:?}");
    let expected: Vec<Vec<u32>> = out
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(|id| id.parse().expect("an id"))
                .collect()
        })
        .collect();
    assert_eq!(inputs.len(), expected.len(), "one line of ids per case");
    inputs.into_iter().zip(expected).collect()
}

#[test]
fn matches_every_llama_cpp_vector() {
    let tokenizer = gpt2();
    let cases = cases();
    assert_eq!(cases.len(), 46);
    let mut failures = Vec::new();
    for (text, expected) in &cases {
        let ids = tokenizer.encode(text);
        if &ids != expected {
            failures.push(format!(
                "{text:?}\n  expected {expected:?}\n  got      {ids:?}"
            ));
        }
        assert_eq!(tokenizer.decode(&ids).expect("ids in range"), *text);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_vectors_include_the_tricky_cases() {
    // Guard against a reader that silently drops cases: the empty case, whitespace-only cases and
    // the long mixed case must all be present.
    let cases = cases();
    assert!(cases.iter().any(|(t, ids)| t.is_empty() && ids.is_empty()));
    assert!(cases.iter().any(|(t, _)| t == "\n\n\n"));
    assert!(
        cases
            .iter()
            .any(|(t, _)| t.contains("We'Ve a'lL") && t.len() > 300)
    );
}

#[test]
fn gguf_metadata_is_read() {
    let tokenizer = gpt2();
    assert_eq!(tokenizer.vocab_size(), 50257);
    assert_eq!(tokenizer.merge_count(), 50000);
    assert_eq!(tokenizer.eos_token_id(), Some(50256));
    assert_eq!(tokenizer.bos_token_id(), Some(50256));
    assert_eq!(
        tokenizer.decode(&[50256]).expect("in range"),
        "<|endoftext|>"
    );
    assert_eq!(tokenizer.token_bytes(220), Some(b" ".to_vec()));
    assert_eq!(tokenizer.token_bytes(198), Some(b"\n".to_vec()));
    assert_eq!(tokenizer.token_bytes(50257), None);
    assert!(matches!(
        tokenizer.decode(&[15496, 50257]),
        Err(TokenizerError::TokenIdOutOfRange {
            id: 50257,
            vocab_size: 50257
        })
    ));
}
