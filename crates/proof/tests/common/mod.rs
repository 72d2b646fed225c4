//! Helpers shared by the proof crate's stream tests.
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::{ProvingKey, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

/// A fixture of `testdata/` (path relative to it) and its proving key (setup seed zero).
pub fn load(file: &str) -> (Model, ProvingKey) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(file);
    let gguf = GgufFile::open(path).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    (model, pk)
}
