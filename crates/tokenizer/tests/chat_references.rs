//! Chat-template rendering against Hugging Face transformers' own renderer (Jinja2).
//!
//! `testdata/tokenizer/chat-vectors.json` (made by `scripts/make_chat_vectors.py`) holds six
//! templates in the style of the models people run (SmolLM2's own, Llama 3.2, a ChatML template
//! with a tools branch, DeepSeek-R1-Distill-Qwen, Mistral, Gemma), thirteen conversations (typed
//! control-token text, Jinja syntax inside a message, unicode and unusual whitespace, a system
//! message, several turns) and the text transformers renders, with and without the generation
//! prompt — or the fact that the template raised. Our MiniJinja rendering must be identical.

use std::path::PathBuf;

use serde_json::Value;
use zkinfer_tokenizer::chat::{ChatMessage, render_chat};

/// The Llama 3.2 template prints today's date unless `date_string` is defined; the vectors were
/// rendered with this date.
const PINNED_DATE: &str = "{%- set date_string = \"07 Dec 2026\" -%}";

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tokenizer/chat-vectors.json");
    let text = std::fs::read_to_string(&path).expect("read chat-vectors.json");
    serde_json::from_str(&text).expect("chat-vectors.json is JSON")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string"))
}

#[test]
fn renders_like_transformers() {
    let v = vectors();
    let cases = v["cases"].as_array().expect("cases");
    let mut mismatches = Vec::new();
    let mut errors = 0;
    for case in cases {
        let name = str_of(case, "template");
        let template = format!("{PINNED_DATE}{}", str_of(&v["templates"], name));
        let messages: Vec<ChatMessage> = case["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| ChatMessage::new(str_of(m, "role"), str_of(m, "content")))
            .collect();
        let add = case["add_generation_prompt"].as_bool().expect("bool");
        let ours = render_chat(
            &template,
            &messages,
            add,
            str_of(case, "bos_token"),
            str_of(case, "eos_token"),
        );
        match (&case["rendered"], ours) {
            (Value::String(expected), Ok(got)) if *expected == got => {}
            (Value::Null, Err(_)) => errors += 1,
            (expected, got) => mismatches.push(format!(
                "{name} add_generation_prompt={add} {messages:?}\n  transformers: {expected}\n  ours:         {got:?}"
            )),
        }
    }
    assert!(cases.len() >= 150, "{} cases", cases.len());
    assert!(
        errors >= 6,
        "the templates that raise were not all seen to raise: {errors}"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} renderings differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
