//! Checks the reader against the two tiny GPT-2 GGUFs written by the PyPI `gguf` package and the
//! `.layout.json` descriptions produced alongside them (keys, value types, values, tensor names,
//! types, shapes, file size and SHA-256).

use std::path::PathBuf;

use serde_json::Value;
use zkinfer_gguf::{GgmlType, GgufError, GgufFile, MetaValue};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn layout(name: &str) -> Value {
    let text = std::fs::read_to_string(testdata(name)).expect("layout json readable");
    serde_json::from_str(&text).expect("layout json parses")
}

/// Whether `value` has the type named in the layout file (`UINT32`, `ARRAY.STRING`, ...).
fn has_layout_type(value: &MetaValue, ty: &str) -> bool {
    if let Some(elem) = ty.strip_prefix("ARRAY.") {
        return match value {
            MetaValue::Array(items) => items.iter().all(|v| has_layout_type(v, elem)),
            _ => false,
        };
    }
    let expected = match ty {
        "UINT8" => "u8",
        "INT8" => "i8",
        "UINT16" => "u16",
        "INT16" => "i16",
        "UINT32" => "u32",
        "INT32" => "i32",
        "UINT64" => "u64",
        "INT64" => "i64",
        "FLOAT32" => "f32",
        "FLOAT64" => "f64",
        "BOOL" => "bool",
        "STRING" => "string",
        other => panic!("layout names unknown type {other}"),
    };
    value.type_name() == expected
}

fn check_against_layout(gguf_name: &str, layout_name: &str) -> GgufFile {
    let file = GgufFile::open(testdata(gguf_name)).expect("tiny GGUF opens");
    let layout = layout(layout_name);

    assert_eq!(
        file.bytes().len() as u64,
        layout["bytes"].as_u64().expect("bytes")
    );
    assert_eq!(
        file.sha256_hex(),
        layout["sha256"].as_str().expect("sha256")
    );
    assert!(file.version() == 2 || file.version() == 3);

    let kv = layout["kv"].as_object().expect("kv object");
    assert_eq!(file.metadata().len(), kv.len(), "metadata entry count");
    for (key, expected) in kv {
        let value = file.get(key).unwrap_or_else(|| panic!("key {key} missing"));
        let ty = expected["type"].as_str().expect("type");
        assert!(has_layout_type(value, ty), "{key}: {value:?} is not {ty}");
        if let Some(len) = expected.get("len") {
            assert_eq!(
                value.as_array().expect("array").len() as u64,
                len.as_u64().expect("len"),
                "{key} length"
            );
        }
        if let Some(v) = expected.get("value") {
            match value {
                MetaValue::Str(s) => assert_eq!(s, v.as_str().expect("string value"), "{key}"),
                MetaValue::F32(f) => {
                    assert_eq!(f64::from(*f), v.as_f64().expect("float value"), "{key}")
                }
                MetaValue::Bool(b) => assert_eq!(*b, v.as_bool().expect("bool value"), "{key}"),
                other => {
                    let n = other
                        .as_i128()
                        .unwrap_or_else(|| panic!("{key}: unexpected {other:?}"));
                    assert_eq!(n, i128::from(v.as_i64().expect("integer value")), "{key}");
                }
            }
        }
    }
    // Metadata keeps file order: the layout lists keys in the order the writer wrote them.
    let order: Vec<&str> = file.metadata().iter().map(|(k, _)| k.as_str()).collect();
    let layout_order: Vec<&str> = kv.keys().map(String::as_str).collect();
    let mut sorted_a = order.clone();
    let mut sorted_b = layout_order.clone();
    sorted_a.sort_unstable();
    sorted_b.sort_unstable();
    assert_eq!(sorted_a, sorted_b);

    let tensors = layout["tensors"].as_array().expect("tensors array");
    assert_eq!(file.tensors().len(), tensors.len());
    for (info, expected) in file.tensors().iter().zip(tensors) {
        assert_eq!(info.name, expected["name"].as_str().expect("name"));
        assert_eq!(
            info.ggml_type.name(),
            expected["type"].as_str().expect("type"),
            "{}",
            info.name
        );
        let dims: Vec<u64> = expected["ggml_ne"]
            .as_array()
            .expect("ne")
            .iter()
            .map(|d| d.as_u64().expect("dim"))
            .collect();
        assert_eq!(info.dims, dims, "{}", info.name);
        assert_eq!(info.offset % file.alignment(), 0, "{} aligned", info.name);
        assert_eq!(file.tensor_bytes(info).len() as u64, info.n_bytes);
        assert_eq!(file.tensor(&info.name), Some(info));
    }
    file
}

#[test]
fn f16_file_matches_layout() {
    let file = check_against_layout("gpt2-tiny-random.gguf", "gpt2-tiny-random.layout.json");
    assert_eq!(file.architecture().expect("arch"), "gpt2");
    assert_eq!(file.get_u32("gpt2.block_count").expect("block_count"), 2);
    assert_eq!(file.get_u32("gpt2.embedding_length").expect("n_embd"), 64);
    assert_eq!(
        file.get_f32("gpt2.attention.layer_norm_epsilon")
            .expect("eps"),
        1e-5
    );
    let tokens = file.get_str_array("tokenizer.ggml.tokens").expect("tokens");
    assert_eq!(tokens.len(), 50257);
    assert_eq!(tokens[0], "!");
    assert_eq!(tokens[50256], "<|endoftext|>");
    let types = file
        .get_i64_array("tokenizer.ggml.token_type")
        .expect("token types");
    assert_eq!(types.len(), 50257);
    assert_eq!(
        file.tensor("token_embd.weight").expect("wte").ggml_type,
        GgmlType::F16
    );
}

#[test]
fn q8_0_file_matches_layout() {
    let file = check_against_layout(
        "gpt2-tiny-random-q8_0.gguf",
        "gpt2-tiny-random-q8_0.layout.json",
    );
    assert_eq!(
        file.tensor("token_embd.weight").expect("wte").ggml_type,
        GgmlType::Q8_0
    );
}

/// The Q8_0 file holds the same weights as the F16 file, quantized per block of 32 with scale
/// `d = max|x| / 127`: each dequantized value lies within `d / 2`, plus `127·|d − f16(d)|` from the
/// rounding of the stored scale and the f16 rounding of the original, of the F16 original. This checks the F16 and Q8_0 decoders against each other on real data.
#[test]
fn q8_0_weights_approximate_f16_weights() {
    let f16_file = GgufFile::open(testdata("gpt2-tiny-random.gguf")).expect("f16 file");
    let q8_file = GgufFile::open(testdata("gpt2-tiny-random-q8_0.gguf")).expect("q8 file");
    let mut compared_q8 = 0;
    for info in q8_file.tensors() {
        let original = f16_file.dequantize(&info.name).expect("f16 dequantizes");
        let quantized = q8_file.dequantize(&info.name).expect("q8 dequantizes");
        assert_eq!(original.len() as u64, info.n_elements());
        assert_eq!(original.len(), quantized.len());
        if info.ggml_type != GgmlType::Q8_0 {
            assert_eq!(original, quantized, "{} is stored identically", info.name);
            continue;
        }
        compared_q8 += 1;
        for (block_original, block_quantized) in original.chunks(32).zip(quantized.chunks(32)) {
            let amax = block_original.iter().fold(0f32, |m, x| m.max(x.abs()));
            let tolerance = amax / 127.0 * (0.5 + 127.0 / 2048.0) + amax / 1024.0 + 1e-7;
            for (x, y) in block_original.iter().zip(block_quantized) {
                assert!(
                    (x - y).abs() <= tolerance,
                    "{}: {x} vs {y} (tol {tolerance})",
                    info.name
                );
            }
        }
    }
    assert!(compared_q8 >= 9, "the q8_0 file quantizes the matrices");
}

#[test]
fn from_bytes_agrees_with_open() {
    let path = testdata("gpt2-tiny-random-q8_0.gguf");
    let mapped = GgufFile::open(&path).expect("open");
    let owned = GgufFile::from_bytes(std::fs::read(&path).expect("read")).expect("from_bytes");
    assert_eq!(mapped.metadata(), owned.metadata());
    assert_eq!(mapped.tensors(), owned.tensors());
    assert_eq!(mapped.sha256_hex(), owned.sha256_hex());
    assert_eq!(
        mapped.dequantize("blk.1.ffn_down.weight").expect("mapped"),
        owned.dequantize("blk.1.ffn_down.weight").expect("owned")
    );
}

#[test]
fn lookups_name_the_key_or_tensor() {
    let file = GgufFile::open(testdata("gpt2-tiny-random.gguf")).expect("open");
    let missing = file.get_u32("gpt2.no_such_key").expect_err("missing key");
    assert!(matches!(missing, GgufError::MissingKey { .. }));
    assert!(missing.to_string().contains("gpt2.no_such_key"));
    let wrong = file
        .get_u32("general.architecture")
        .expect_err("string is not an integer");
    assert!(matches!(wrong, GgufError::WrongType { .. }));
    assert!(wrong.to_string().contains("general.architecture"));
    assert!(file.get_str("gpt2.block_count").is_err());
    assert!(file.get_f32("gpt2.block_count").is_err());
    assert!(file.get_str_array("tokenizer.ggml.token_type").is_err());
    let no_tensor = file
        .dequantize("output.weight")
        .expect_err("no output.weight in current style");
    assert!(no_tensor.to_string().contains("output.weight"));
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let err = GgufFile::open("/nonexistent/model.gguf").expect_err("no such file");
    assert!(matches!(err, GgufError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/model.gguf"));
}
