//! The Llama-family tokenizer side on real data: SmolLM2's vocabulary, merges, token types and
//! chat template from `testdata/llama/llama-tiny-random-q8_0.gguf`.
//!
//! - `prompt_ids` of the fixture's `.ref.json` were tokenized by llama.cpp itself;
//! - `testdata/tokenizer/hf-vectors.json` (made by `scripts/make_tokenizer_vectors.py` with
//!   Hugging Face `tokenizers`) holds, for a few dozen tricky texts, the words of each
//!   pre-tokenizer (gpt-2, smollm, llama3, qwen2) and the ids of a BPE tokenizer built from the
//!   same vocabulary and merges with that pre-tokenizer (llama3 with `ignore_merges`), and the
//!   ids with control tokens parsed.
//!
//! With `ZKINFER_SMOLLM2=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf` (see
//! `scripts/fetch_smollm2.sh`) the real model's tokenizer is checked too.

use std::path::PathBuf;
use std::sync::LazyLock;

use serde_json::Value;
use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::chat::{ChatMessage, gguf_chat_template, render_for, user_prompt};
use zkinfer_tokenizer::{EncodeOptions, PreTokenizer, PreTokenizerConfig, TokenType, Tokenizer};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

static FIXTURE: LazyLock<GgufFile> = LazyLock::new(|| {
    GgufFile::open(repo("testdata/llama/llama-tiny-random-q8_0.gguf")).expect("open the fixture")
});

static SMOL: LazyLock<Tokenizer> =
    LazyLock::new(|| Tokenizer::from_gguf(&FIXTURE).expect("SmolLM2 tokenizer"));

fn json(path: &str) -> Value {
    let text = std::fs::read_to_string(repo(path)).expect("read JSON");
    serde_json::from_str(&text).expect("parse JSON")
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("an array of ids")
        .iter()
        .map(|v| u32::try_from(v.as_u64().expect("an id")).expect("fits u32"))
        .collect()
}

const SPECIAL: EncodeOptions = EncodeOptions {
    add_special: true,
    parse_special: true,
};

#[test]
fn metadata_is_read_like_llama_cpp() {
    let t = &*SMOL;
    assert_eq!(t.vocab_size(), 49152);
    assert_eq!(t.merge_count(), 48900);
    assert_eq!(t.pre_tokenizer().pre_tokenizer, PreTokenizer::SmolLm);
    assert!(!t.pre_tokenizer().ignore_merges);
    assert_eq!(t.bos_token_id(), Some(1));
    assert_eq!(t.eos_token_id(), Some(2));
    assert!(!t.adds_bos());
    assert!(!t.adds_eos());
    assert_eq!(t.eog_ids(), [0, 2]);
    assert!(t.is_eog(2) && t.is_eog(0) && !t.is_eog(1));
    assert_eq!(t.token_type(1), Some(TokenType::Control));
    assert_eq!(t.token_type(17), Some(TokenType::Normal));
    assert_eq!(t.token_text(1).as_deref(), Some("<|im_start|>"));
    assert_eq!(
        t.decode(&[1, 4093, 2]).expect("in range"),
        "<|im_start|>user<|im_end|>"
    );
}

#[test]
fn prompt_matches_llama_cpp() {
    let reference = json("testdata/llama/llama-tiny-random-q8_0.ref.json");
    let prompt = reference["prompt"].as_str().expect("prompt");
    let expected = ids(&reference["prompt_ids"]);
    assert_eq!(SMOL.encode(prompt), expected);
    // add_bos_token is false for SmolLM2: add_special adds nothing.
    assert_eq!(SMOL.encode_with(prompt, SPECIAL), expected);
}

#[test]
fn every_pre_tokenizer_matches_hugging_face() {
    let vectors = json("testdata/tokenizer/hf-vectors.json");
    let cases = vectors["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for name in ["gpt-2", "smollm", "llama3", "qwen2"] {
        let config = PreTokenizerConfig::from_name(name).expect("supported");
        let tokenizer = SMOL.clone().with_pre_tokenizer(config);
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let words: Vec<&str> = config.pre_tokenizer.split(text).collect();
            let expected_words: Vec<&str> = case["words"][name]
                .as_array()
                .expect("words")
                .iter()
                .map(|w| w.as_str().expect("word"))
                .collect();
            if words != expected_words {
                failures.push(format!(
                    "{name} words {text:?}\n  hf  {expected_words:?}\n  got {words:?}"
                ));
            }
            let expected = ids(&case["ids"][name]);
            let got = tokenizer.encode(text);
            if got != expected {
                failures.push(format!(
                    "{name} ids {text:?}\n  hf  {expected:?}\n  got {got:?}"
                ));
            }
            assert_eq!(tokenizer.decode(&got).expect("in range"), text);
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn control_tokens_are_parsed_only_on_request() {
    let vectors = json("testdata/tokenizer/hf-vectors.json");
    for case in vectors["special_cases"].as_array().expect("special cases") {
        let text = case["text"].as_str().expect("text");
        assert_eq!(
            SMOL.encode_with(text, SPECIAL),
            ids(&case["ids"]),
            "{text:?}"
        );
    }
    let text = "<|im_start|>user\nHi<|im_end|>";
    let parsed = SMOL.encode_with(text, SPECIAL);
    assert_eq!(parsed.first(), Some(&1));
    assert_eq!(parsed.last(), Some(&2));
    let plain = SMOL.encode(text);
    assert!(!plain.contains(&1) && !plain.contains(&2), "{plain:?}");
    assert_eq!(SMOL.decode(&plain).expect("in range"), text);
    assert_eq!(SMOL.decode(&parsed).expect("in range"), text);
}

#[test]
fn chat_template_renders_like_llama_cpp() {
    let template = gguf_chat_template(&FIXTURE).expect("the fixture has a template");
    let prompt = render_for(
        &SMOL,
        template,
        &[ChatMessage::user("What is the capital of France?")],
        true,
    )
    .expect("renders");
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = SMOL.encode_with(&prompt, SPECIAL);
    // <|im_start|> system \n ... <|im_end|> \n <|im_start|> user \n ... <|im_start|> assistant \n
    assert_eq!(ids[..3], [1, 9690, 198]);
    assert_eq!(ids[ids.len() - 4..], [198, 1, 520, 9531, 198][1..]);
    assert_eq!(ids.iter().filter(|&&id| id == 1).count(), 3);
    assert_eq!(ids.iter().filter(|&&id| id == 2).count(), 2);
    // The one-call form gives the same text and ids.
    let (text, one_call) =
        user_prompt(&FIXTURE, &SMOL, "What is the capital of France?").expect("renders");
    assert_eq!((text, one_call), (prompt, ids));
}

/// Opt-in: the real SmolLM2-135M-Instruct GGUF (`ZKINFER_SMOLLM2=path`, see
/// `scripts/fetch_smollm2.sh`). Its tokenizer must equal the fixture's, and a chat prompt must
/// tokenize as above.
#[test]
fn real_smollm2_tokenizer() {
    let Ok(path) = std::env::var("ZKINFER_SMOLLM2") else {
        eprintln!("ZKINFER_SMOLLM2 not set: skipping the real SmolLM2 tokenizer test");
        return;
    };
    let file = GgufFile::open(&path).expect("open ZKINFER_SMOLLM2");
    let real = Tokenizer::from_gguf(&file).expect("SmolLM2 tokenizer");
    assert_eq!(real.vocab_size(), 49152);
    assert_eq!(real.pre_tokenizer(), SMOL.pre_tokenizer());
    assert_eq!(real.bos_token_id(), Some(1));
    assert_eq!(real.eos_token_id(), Some(2));
    assert!(!real.adds_bos());
    let reference = json("testdata/llama/llama-tiny-random-q8_0.ref.json");
    let prompt = reference["prompt"].as_str().expect("prompt");
    assert_eq!(real.encode(prompt), ids(&reference["prompt_ids"]));
    let vectors = json("testdata/tokenizer/hf-vectors.json");
    for case in vectors["cases"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        assert_eq!(real.encode(text), ids(&case["ids"]["smollm"]), "{text:?}");
    }
    let template = gguf_chat_template(&file).expect("template");
    assert_eq!(template, gguf_chat_template(&FIXTURE).expect("template"));
    let prompt = render_for(&real, template, &[ChatMessage::user("Hi")], true).expect("renders");
    assert!(prompt.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"));
}
