//! SentencePiece vocabularies (`tokenizer.ggml.model = "llama"`: Llama 2, Mistral 7B, TinyLlama)
//! against SentencePiece itself: `testdata/spm/spm-tiny.gguf` carries Mistral 7B v0.1's
//! `tokenizer.model` (from the PyPI package mistral-common) written as llama.cpp's converter
//! writes it, and `spm-tiny.vectors.json` holds `sentencepiece.encode` of 104 texts (llama.cpp's test-tokenizer-0 cases, spaces, tabs,
//! newlines, accents, CJK, emoji through byte fallback, code, special-token text) and, for texts
//! holding special tokens, llama.cpp's `parse_special` result (`scripts/make_spm_fixture.py`).
//! Then bad inputs.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use crate::common;

use common::{Value, gguf_bytes};
use std::path::PathBuf;
use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::{EncodeOptions, TokenType, Tokenizer, TokenizerError};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/spm").join(name)
}

fn tokenizer() -> Tokenizer {
    let file = GgufFile::open(testdata("spm-tiny.gguf")).expect("fixture");
    Tokenizer::from_gguf(&file).expect("SentencePiece tokenizer")
}

fn vectors() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("spm-tiny.vectors.json")).expect("read")).expect("json")
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().expect("ids").iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

#[test]
fn loads_with_llama_cpp_defaults() {
    let t = tokenizer();
    assert!(t.is_sentencepiece());
    assert_eq!(t.vocab_size(), 32000);
    assert_eq!((t.bos_token_id(), t.eos_token_id()), (Some(1), Some(2)));
    assert!(t.adds_bos() && !t.adds_eos());
    assert_eq!(t.eog_ids(), &[2]);
    assert_eq!(t.token_type(0), Some(TokenType::Unknown));
    assert_eq!(t.token_type(1), Some(TokenType::Control));
    assert_eq!(t.token_type(3), Some(TokenType::Byte));
    // Byte tokens stand for their byte, `▁` for a space, control tokens for their text.
    assert_eq!(t.token_bytes(3 + 0x41), Some(b"A".to_vec()));
    assert_eq!(t.token_bytes(3 + 0xF0), Some(vec![0xF0]));
    assert_eq!(t.token_bytes(1), Some(b"<s>".to_vec()));
    assert_eq!(t.token_bytes(28705), Some(b" ".to_vec()));
}

/// Every text: the ids SentencePiece gives (no BOS), BOS first with `add_special`, and the bytes
/// back (`decode` keeps the prefixed space, as llama.cpp's per-token pieces do).
#[test]
fn matches_sentencepiece_on_every_vector() {
    let t = tokenizer();
    let v = vectors();
    let mut n = 0;
    let mut mismatches = Vec::new();
    for case in v["vectors"].as_array().expect("vectors") {
        let text = case["text"].as_str().expect("text");
        let want = ids(&case["ids"]);
        let got = t.encode(text);
        if got != want {
            mismatches.push(format!("{text:?}: got {got:?}, want {want:?}"));
            continue;
        }
        let with_bos = t.encode_with(text, EncodeOptions { add_special: true, parse_special: false });
        assert_eq!(with_bos[0], 1, "{text:?}");
        assert_eq!(&with_bos[1..], &want[..], "{text:?}");
        if !text.is_empty() {
            // (A literal `▁` in the text decodes as a space, as in llama.cpp.)
            assert_eq!(t.decode_bytes(&got).expect("decode"), format!(" {}", text.replace('▁', " ")).into_bytes(), "{text:?}");
        }
        assert_eq!(case["decoded"].as_str().expect("decoded"), text.replace('▁', " "), "SentencePiece round trip of {text:?}");
        n += 1;
    }
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), mismatches.len() + n, mismatches.join("\n"));
    assert!(n >= 100, "{n} vectors");
    assert_eq!(t.encode_with("", EncodeOptions { add_special: true, parse_special: false }), [1]);
    assert!(t.encode("").is_empty());
}

/// Special-token text parsed on request: each control/unknown token's text becomes the token and
/// the text after it gets the space prefix again (llama.cpp's `is_prev_special`).
#[test]
fn special_tokens_are_parsed_on_request() {
    let t = tokenizer();
    for case in vectors()["special_vectors"].as_array().expect("special") {
        let text = case["text"].as_str().expect("text");
        let got = t.encode_with(text, EncodeOptions { add_special: false, parse_special: true });
        assert_eq!(got, ids(&case["ids"]), "{text:?}");
        // Without parse_special the text is text: no control token appears.
        assert!(!t.encode(text).iter().any(|&id| id <= 2), "{text:?}");
    }
}

/// Hand-made SentencePiece vocabularies: merges by score (ties leftmost), byte fallback, the
/// space prefix switch, a repeated string standing for its last id.
#[test]
fn merge_order_and_fallbacks_on_a_toy_vocabulary() {
    // `words` after <unk> <s> </s> and the 256 byte tokens, with their scores.
    let make = |words: &[(&str, f32)], prefix: bool| {
        let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
        tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
        tokens.extend(words.iter().map(|(w, _)| (*w).to_owned()));
        let mut types = vec![TokenType::Unknown, TokenType::Control, TokenType::Control];
        types.extend(std::iter::repeat_n(TokenType::Byte, 256));
        types.extend(std::iter::repeat_n(TokenType::Normal, words.len()));
        let mut scores = vec![0.0; 259];
        scores.extend(words.iter().map(|(_, s)| *s));
        let strs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        Tokenizer::new_sentencepiece(&strs, &types, scores, Some(1), Some(2), true, false, prefix).expect("toy")
    };
    let id = |words: &[(&str, f32)], w: &str| 259 + words.iter().position(|(t, _)| *t == w).expect("word") as u32;
    // Without "abc": the higher-scored pair wins, the other never forms.
    let w1 = [("▁", 0.0), ("a", 0.0), ("b", 0.0), ("c", 0.0), ("ab", -1.0), ("bc", -0.5)];
    assert_eq!(make(&w1, false).encode("abc"), [id(&w1, "a"), id(&w1, "bc")]);
    let w2 = [("▁", 0.0), ("a", 0.0), ("b", 0.0), ("c", 0.0), ("ab", -0.5), ("bc", -1.0)];
    assert_eq!(make(&w2, false).encode("abc"), [id(&w2, "ab"), id(&w2, "c")]);
    // Equal scores: the leftmost pair first.
    let w3 = [("▁", 0.0), ("a", 0.0), ("b", 0.0), ("c", 0.0), ("ab", -1.0), ("bc", -1.0)];
    assert_eq!(make(&w3, false).encode("abc"), [id(&w3, "ab"), id(&w3, "c")]);
    // Merges chain: ab then ab+c; with the space prefix ▁ joins last (its pairs score lower).
    let w4 = [("▁", 0.0), ("a", 0.0), ("b", 0.0), ("c", 0.0), ("ab", -0.5), ("abc", -2.0), ("▁a", -3.0), ("▁abc", -4.0)];
    assert_eq!(make(&w4, false).encode("abc"), [id(&w4, "abc")]);
    assert_eq!(make(&w4, true).encode("abc"), [id(&w4, "▁abc")]);
    assert_eq!(make(&w4, true).encode("abc abc"), [id(&w4, "▁abc"), id(&w4, "▁abc")]);
    // Byte fallback for characters the vocabulary lacks; spaces are ▁, and decode back.
    let t = make(&w4, false);
    assert_eq!(t.encode("é a"), [3 + 0xC3, 3 + 0xA9, id(&w4, "▁a")]);
    assert_eq!(t.decode_bytes(&t.encode("é a")).unwrap(), "é a".as_bytes());
    // A repeated string stands for its last id (llama.cpp's token_to_id).
    let w5 = [("▁", 0.0), ("a", 0.0), ("b", 0.0), ("ab", -0.5), ("ab", -0.5)];
    assert_eq!(make(&w5, false).encode("ab"), [259 + 4]);
}

fn spm_entries() -> Vec<(&'static str, Value<'static>)> {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    tokens.extend(["▁", "h", "i", "hi", "▁hi"].map(String::from));
    let mut types = vec![2, 3, 3];
    types.extend(std::iter::repeat_n(6, 256));
    types.extend([1, 1, 1, 1, 1]);
    let scores = vec![0.0; tokens.len()];
    vec![
        ("tokenizer.ggml.model", Value::Str("llama")),
        ("tokenizer.ggml.tokens", Value::StrArray(tokens)),
        ("tokenizer.ggml.token_type", Value::I32Array(types)),
        ("tokenizer.ggml.scores", Value::F32Array(scores)),
    ]
}

fn load(entries: &[(&str, Value<'_>)]) -> Result<Tokenizer, TokenizerError> {
    Tokenizer::from_gguf(&GgufFile::from_bytes(gguf_bytes(entries)).expect("well-formed GGUF"))
}

#[test]
fn bad_sentencepiece_metadata_is_a_clear_error() {
    let good = load(&spm_entries()).expect("minimal SentencePiece vocabulary");
    assert_eq!(good.encode("hi"), [263]);
    assert_eq!(good.encode_with("hi", EncodeOptions { add_special: true, parse_special: false }), [1, 263]);
    let with = |key: &'static str, value: Value<'static>| {
        let mut e = spm_entries();
        e.retain(|(k, _)| *k != key);
        e.push((key, value));
        load(&e).map(|_| ()).unwrap_err().to_string()
    };
    let e = with("tokenizer.ggml.scores", Value::F32Array(vec![0.0; 5]));
    assert!(e.contains("scores has 5 entries for 264"), "{e}");
    let mut nan = vec![0.0; 264];
    nan[263] = f32::NAN;
    let e = with("tokenizer.ggml.scores", Value::F32Array(nan));
    assert!(e.contains("not a finite number"), "{e}");
    let e = with("tokenizer.ggml.scores", Value::I32Array(vec![0; 264]));
    assert!(e.contains("tokenizer.ggml.scores"), "{e}");
    let e = with("tokenizer.ggml.token_type", Value::I32Array(vec![1; 7]));
    assert!(e.contains("token_type has 7 entries"), "{e}");
    let mut bad_byte = vec![2, 3, 3];
    bad_byte.extend(std::iter::repeat_n(6, 256));
    bad_byte.extend([1, 1, 1, 1, 6]); // "▁hi" typed as a byte token
    let e = with("tokenizer.ggml.token_type", Value::I32Array(bad_byte));
    assert!(e.contains("not <0xNN>"), "{e}");
    let e = with("tokenizer.ggml.bos_token_id", Value::U32(9999));
    assert!(e.contains("out of range"), "{e}");
    let e = with("tokenizer.ggml.add_space_prefix", Value::U32(1));
    assert!(e.contains("add_space_prefix"), "{e}");
    let e = with("tokenizer.ggml.tokens", Value::StrArray(Vec::new()));
    assert!(!e.is_empty());
    // Without scores: all 0 (llama.cpp's default), still a tokenizer.
    let mut e = spm_entries();
    e.retain(|(k, _)| *k != "tokenizer.ggml.scores");
    assert!(load(&e).is_ok());
}
