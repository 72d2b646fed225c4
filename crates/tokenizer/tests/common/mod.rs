//! Shared helpers of the integration tests: the real GPT-2 vocabulary from the repository's
//! `testdata/tokenizer/ggml-vocab-gpt-2.gguf`, and a minimal GGUF writer for hand-made files.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::LazyLock;

use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::Tokenizer;

/// `testdata/tokenizer/<name>` at the repository root.
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tokenizer")
        .join(name)
}

/// The GPT-2 tokenizer read from llama.cpp's vocabulary-only GGUF (loaded once per test binary).
pub fn gpt2() -> &'static Tokenizer {
    static TOKENIZER: LazyLock<Tokenizer> = LazyLock::new(|| {
        let file = GgufFile::open(testdata("ggml-vocab-gpt-2.gguf")).expect("open the vocab GGUF");
        Tokenizer::from_gguf(&file).expect("build the GPT-2 tokenizer")
    });
    &TOKENIZER
}

/// A GGUF metadata value for [`gguf_bytes`].
pub enum Value<'a> {
    U32(u32),
    Bool(bool),
    I32Array(Vec<i32>),
    F32Array(Vec<f32>),
    Str(&'a str),
    StrArray(Vec<String>),
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A GGUF v3 file with the given metadata and no tensors.
pub fn gguf_bytes(entries: &[(&str, Value<'_>)]) -> Vec<u8> {
    const TYPE_U32: u32 = 4;
    const TYPE_I32: u32 = 5;
    const TYPE_F32: u32 = 6;
    const TYPE_BOOL: u32 = 7;
    const TYPE_STRING: u32 = 8;
    const TYPE_ARRAY: u32 = 9;
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, value) in entries {
        put_string(&mut out, key);
        match value {
            Value::U32(v) => {
                out.extend_from_slice(&TYPE_U32.to_le_bytes());
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Str(s) => {
                out.extend_from_slice(&TYPE_STRING.to_le_bytes());
                put_string(&mut out, s);
            }
            Value::Bool(v) => {
                out.extend_from_slice(&TYPE_BOOL.to_le_bytes());
                out.push(u8::from(*v));
            }
            Value::I32Array(items) => {
                out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
                out.extend_from_slice(&TYPE_I32.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for v in items {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Value::F32Array(items) => {
                out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
                out.extend_from_slice(&TYPE_F32.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for v in items {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Value::StrArray(items) => {
                out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
                out.extend_from_slice(&TYPE_STRING.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for s in items {
                    put_string(&mut out, s);
                }
            }
        }
    }
    while !out.len().is_multiple_of(32) {
        out.push(0);
    }
    out
}
