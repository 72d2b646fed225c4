//! The tokenizer of the tiny GPT-2 model files (which carry the real GPT-2 vocabulary) against
//! the prompt ids and completion text that Hugging Face transformers and llama.cpp recorded in
//! `testdata/*.ref.*.json`.

use crate::common;

use std::path::PathBuf;

use common::gpt2;
use serde_json::Value;
use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::Tokenizer;

fn repo_testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("an array of ids")
        .iter()
        .map(|id| {
            id.as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .expect("a u32 id")
        })
        .collect()
}

#[test]
fn tiny_models_tokenize_like_transformers_and_llama_cpp() {
    let mut checked = 0;
    for model in ["gpt2-tiny-random", "gpt2-tiny-random-q8_0"] {
        let file = GgufFile::open(repo_testdata(&format!("{model}.gguf"))).expect("open model");
        let tokenizer = Tokenizer::from_gguf(&file).expect("model tokenizer");
        assert_eq!(tokenizer.vocab_size(), gpt2().vocab_size());
        assert_eq!(tokenizer.eos_token_id(), Some(50256));
        for backend in ["transformers", "transformers-f64", "llamacpp"] {
            let path = repo_testdata(&format!("{model}.ref.{backend}.json"));
            let text = std::fs::read_to_string(&path).expect("read reference");
            let reference: Value = serde_json::from_str(&text).expect("reference JSON");
            let prompt = &reference["prompt"];
            let prompt_text = prompt["text"].as_str().expect("prompt text");
            let prompt_ids = ids(&prompt["ids"]);
            assert_eq!(
                tokenizer.encode(prompt_text),
                prompt_ids,
                "{model} {backend}"
            );
            assert_eq!(
                tokenizer.decode(&prompt_ids).expect("in range"),
                prompt_text
            );
            let pieces = prompt["tokens"].as_array().expect("token strings");
            for (&id, piece) in prompt_ids.iter().zip(pieces) {
                let piece = piece.as_str().expect("token string");
                assert_eq!(tokenizer.token_bytes(id), Some(piece.as_bytes().to_vec()));
            }
            let greedy = &reference["greedy"];
            let completion = tokenizer.decode(&ids(&greedy["ids"])).expect("in range");
            assert_eq!(
                completion,
                greedy["text"].as_str().expect("completion text")
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}
