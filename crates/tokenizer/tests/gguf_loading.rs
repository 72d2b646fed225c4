//! `Tokenizer::from_gguf` on hand-made GGUF files: the keys it needs, and every way they can be
//! wrong.

use crate::common;

use common::{Value, gguf_bytes};
use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::{Tokenizer, TokenizerError};

/// GPT-2's byte characters, in byte order, as vocabulary strings.
fn byte_tokens() -> Vec<String> {
    (0..=255u8)
        .map(|b| {
            let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
            let shifted_index = (0..b)
                .filter(|&x| !matches!(x, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF))
                .count() as u32;
            let cp = if printable {
                u32::from(b)
            } else {
                0x100 + shifted_index
            };
            char::from_u32(cp).expect("valid code point").to_string()
        })
        .collect()
}

fn toy_entries(model: &str) -> Vec<(&'static str, Value<'_>)> {
    let mut tokens = byte_tokens();
    tokens.extend(["Ġh", "Ġhi", "<|endoftext|>"].map(String::from));
    vec![
        ("tokenizer.ggml.model", Value::Str(model)),
        ("tokenizer.ggml.tokens", Value::StrArray(tokens)),
        (
            "tokenizer.ggml.merges",
            Value::StrArray(vec!["Ġ h".into(), "Ġh i".into()]),
        ),
        ("tokenizer.ggml.eos_token_id", Value::U32(258)),
        ("tokenizer.ggml.pre", Value::Str("gpt-2")),
    ]
}

fn load(entries: &[(&str, Value<'_>)]) -> Result<Tokenizer, TokenizerError> {
    let file = GgufFile::from_bytes(gguf_bytes(entries)).expect("well-formed GGUF");
    Tokenizer::from_gguf(&file)
}

#[test]
fn a_minimal_gpt2_tokenizer_loads_and_merges() {
    let tokenizer = load(&toy_entries("gpt2")).expect("valid tokenizer");
    assert_eq!(tokenizer.vocab_size(), 259);
    assert_eq!(tokenizer.eos_token_id(), Some(258));
    assert_eq!(tokenizer.bos_token_id(), None);
    assert_eq!(tokenizer.encode(" hi hi"), [257, 257]);
    assert_eq!(tokenizer.encode("hi"), [u32::from(b'h'), u32::from(b'i')]);
    assert_eq!(
        tokenizer.decode(&[257, 258]).expect("in range"),
        " hi<|endoftext|>"
    );
}

#[test]
fn other_tokenizer_models_are_rejected() {
    // "llama" (SentencePiece) is supported since `tests/spm.rs`; WordPiece, Unigram, RWKV are not.
    for name in ["bert", "t5", "rwkv", ""] {
        match load(&toy_entries(name)) {
            Err(TokenizerError::UnsupportedModel(model)) => assert_eq!(model, name),
            other => panic!("expected UnsupportedModel, got {other:?}"),
        }
    }
}

#[test]
fn missing_or_mistyped_keys_are_errors() {
    for key in [
        "tokenizer.ggml.model",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.merges",
    ] {
        let entries: Vec<_> = toy_entries("gpt2")
            .into_iter()
            .filter(|(k, _)| *k != key)
            .collect();
        let err = load(&entries).expect_err("missing key");
        assert!(matches!(err, TokenizerError::Gguf(_)), "{key}: {err:?}");
        assert!(err.to_string().contains(key), "{key}: message {err}");
    }
    let mut entries = toy_entries("gpt2");
    entries[3].1 = Value::Str("258");
    let err = load(&entries).expect_err("string EOS id");
    assert!(matches!(err, TokenizerError::Gguf(_)), "{err:?}");
    let mut entries = toy_entries("gpt2");
    entries[1].1 = Value::Str("not an array");
    assert!(matches!(load(&entries), Err(TokenizerError::Gguf(_))));
}

#[test]
fn out_of_range_special_tokens_and_bad_merges_are_errors() {
    let mut entries = toy_entries("gpt2");
    entries[3].1 = Value::U32(259);
    assert!(matches!(
        load(&entries),
        Err(TokenizerError::SpecialTokenOutOfRange {
            which: "EOS",
            id: 259,
            vocab_size: 259
        })
    ));
    let mut entries = toy_entries("gpt2");
    entries.push(("tokenizer.ggml.bos_token_id", Value::U32(100_000)));
    assert!(matches!(
        load(&entries),
        Err(TokenizerError::SpecialTokenOutOfRange { which: "BOS", .. })
    ));
    let mut entries = toy_entries("gpt2");
    entries[2].1 = Value::StrArray(vec!["Ġ h".into(), "h i".into()]);
    assert!(matches!(
        load(&entries),
        Err(TokenizerError::InvalidMerge { index: 1, .. })
    ));
}

#[test]
fn pre_tokenizer_names_are_checked() {
    // Unknown values are refused, naming the value and the supported ones.
    let mut entries = toy_entries("gpt2");
    entries[4].1 = Value::Str("tekken");
    let err = load(&entries).expect_err("unknown pre-tokenizer");
    assert!(
        matches!(&err, TokenizerError::UnsupportedPreTokenizer { name } if name == "tekken"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("tekken") && message.contains("smollm"),
        "{message}"
    );
    // A missing value is refused too (llama.cpp would guess).
    let entries: Vec<_> = toy_entries("gpt2")
        .into_iter()
        .filter(|(k, _)| *k != "tokenizer.ggml.pre")
        .collect();
    assert!(matches!(
        load(&entries),
        Err(TokenizerError::MissingPreTokenizer)
    ));
    // Each supported family loads with its flags.
    for (name, ignore_merges, adds_bos) in [
        ("gpt-2", false, false),
        ("smollm", false, false),
        ("llama-bpe", true, true),
        ("qwen2", false, false),
    ] {
        let mut entries = toy_entries("gpt2");
        entries[4].1 = Value::Str(name);
        entries.push(("tokenizer.ggml.bos_token_id", Value::U32(258)));
        let t = load(&entries).expect(name);
        assert_eq!(t.pre_tokenizer().ignore_merges, ignore_merges, "{name}");
        assert_eq!(t.adds_bos(), adds_bos, "{name}");
    }
}

#[test]
fn token_types_and_add_bos_are_read() {
    let mut entries = toy_entries("gpt2");
    let mut types = vec![1i32; 258];
    types.push(3);
    entries.push(("tokenizer.ggml.token_type", Value::I32Array(types.clone())));
    entries.push(("tokenizer.ggml.bos_token_id", Value::U32(258)));
    entries.push(("tokenizer.ggml.add_bos_token", Value::Bool(true)));
    let t = load(&entries).expect("valid");
    assert!(t.adds_bos());
    let special = zkinfer_tokenizer::EncodeOptions {
        add_special: true,
        parse_special: true,
    };
    assert_eq!(t.encode_with(" hi<|endoftext|>", special), [258, 257, 258]);
    assert_eq!(t.encode_with(" hi", Default::default()), [257]);
    // add_bos_token without a BOS id is an error, as in llama.cpp.
    let mut entries = toy_entries("gpt2");
    entries.push(("tokenizer.ggml.add_bos_token", Value::Bool(true)));
    assert!(matches!(
        load(&entries),
        Err(TokenizerError::AddSpecialWithoutId { which: "bos" })
    ));
    // Too few token types.
    let mut entries = toy_entries("gpt2");
    entries.push(("tokenizer.ggml.token_type", Value::I32Array(vec![1; 10])));
    assert!(matches!(
        load(&entries),
        Err(TokenizerError::TokenTypeCount {
            len: 10,
            vocab_size: 259
        })
    ));
}
