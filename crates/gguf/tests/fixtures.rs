//! Dequantization and metadata checked against files written by llama.cpp's gguf-py
//! (`scripts/gguf_fixtures.py`): for every supported type, the expected values are what
//! `gguf.quants.dequantize` returns for the same bytes.

use std::path::PathBuf;

use serde_json::Value;
use zkinfer_gguf::{GgmlType, GgufFile, MetaValue, dequantize};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gguf")
}

fn manifest() -> Value {
    let text =
        std::fs::read_to_string(fixture_dir().join("manifest.json")).expect("manifest readable");
    serde_json::from_str(&text).expect("manifest parses")
}

fn read_f32s(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture_dir().join(name)).expect("expected-values file readable");
    assert_eq!(bytes.len() % 4, 0);
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn dims_of(entry: &Value) -> Vec<u64> {
    entry["dims"]
        .as_array()
        .expect("dims")
        .iter()
        .map(|d| d.as_u64().expect("dim"))
        .collect()
}

/// Bit-exact comparison (the decoders perform the same f32 operations in the same order as
/// gguf-py), with a readable report of the first mismatch.
fn assert_bit_exact(label: &str, actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{label}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            a.to_bits() == e.to_bits(),
            "{label}: element {i} is {a}, gguf-py gives {e}"
        );
    }
}

#[test]
fn every_type_dequantizes_exactly_like_gguf_py() {
    let manifest = manifest();
    let files = manifest["dequantization"]
        .as_array()
        .expect("dequantization list");
    let mut seen_types = Vec::new();
    for file_entry in files {
        let file_name = file_entry["file"].as_str().expect("file");
        let file = GgufFile::open(fixture_dir().join(file_name)).expect("fixture opens");
        for tensor_entry in file_entry["tensors"].as_array().expect("tensors") {
            let name = tensor_entry["name"].as_str().expect("name");
            let label = format!("{file_name}:{name}");
            let info = file
                .tensor(name)
                .unwrap_or_else(|| panic!("{label} missing"));
            assert_eq!(
                info.ggml_type.name(),
                tensor_entry["type"].as_str().expect("type"),
                "{label}"
            );
            assert_eq!(info.dims, dims_of(tensor_entry), "{label}");
            let expected = read_f32s(tensor_entry["expected"].as_str().expect("expected"));
            assert_bit_exact(
                &label,
                &file.dequantize(name).expect("dequantizes"),
                &expected,
            );

            // The free function on the raw bytes agrees, and so does row-by-row decoding.
            let bytes = file.tensor_bytes(info);
            let n = info.n_elements() as usize;
            assert_bit_exact(
                &label,
                &dequantize(info.ggml_type, bytes, n).expect("free fn"),
                &expected,
            );
            let row_len = info.dims[0] as usize;
            let row_bytes = row_len / info.ggml_type.block_size() * info.ggml_type.type_size();
            let by_rows: Vec<f32> = bytes
                .chunks(row_bytes)
                .flat_map(|row| dequantize(info.ggml_type, row, row_len).expect("row"))
                .collect();
            assert_bit_exact(&label, &by_rows, &expected);
            seen_types.push(info.ggml_type);
        }
    }
    for ty in [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        assert!(seen_types.contains(&ty), "no fixture covers {ty}");
    }
}

/// A decoder that ignored some bits could still agree with gguf-py on lucky data. Every bit
/// position of these block layouts is significant, so flipping any one of them must change the
/// decoded values of at least one of the fixture's random blocks (a single block may hide a bit,
/// e.g. the quants of a sub-block whose scale is zero). This also shows the exact comparison
/// above detects a one-bit perturbation anywhere in a block.
#[test]
fn every_bit_position_of_a_block_matters() {
    for ty in [
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::IQ4_NL,
        GgmlType::IQ4_XS,
    ] {
        let file = GgufFile::open(fixture_dir().join(format!("{}.gguf", ty.name().to_lowercase())))
            .expect("fixture opens");
        let info = file.tensor("random_blocks").expect("random_blocks");
        let blocks: Vec<&[u8]> = file.tensor_bytes(info).chunks(ty.type_size()).collect();
        assert!(blocks.len() >= 6);
        let n = ty.block_size();
        let originals: Vec<Vec<f32>> = blocks
            .iter()
            .map(|b| dequantize(ty, b, n).expect("block decodes"))
            .collect();
        for byte in 0..ty.type_size() {
            for bit in 0..8 {
                let visible = blocks.iter().zip(&originals).any(|(block, original)| {
                    let mut flipped = block.to_vec();
                    flipped[byte] ^= 1 << bit;
                    let changed = dequantize(ty, &flipped, n).expect("flipped block decodes");
                    changed
                        .iter()
                        .zip(original)
                        .any(|(a, b)| a.to_bits() != b.to_bits())
                });
                assert!(
                    visible,
                    "{ty}: flipping bit {bit} of byte {byte} changed no block"
                );
            }
        }
    }
}

fn check_meta(key: &str, value: &MetaValue, expected: &Value) {
    match (value, expected) {
        (MetaValue::Array(items), Value::Array(exp)) => {
            assert_eq!(items.len(), exp.len(), "{key} length");
            for (item, e) in items.iter().zip(exp) {
                check_meta(key, item, e);
            }
        }
        (MetaValue::Str(s), Value::String(e)) => assert_eq!(s, e, "{key}"),
        (MetaValue::Bool(b), Value::Bool(e)) => assert_eq!(b, e, "{key}"),
        (MetaValue::F32(f), Value::Number(e)) => {
            assert_eq!(f64::from(*f), e.as_f64().expect("f64"), "{key}")
        }
        (MetaValue::F64(f), Value::Number(e)) => assert_eq!(*f, e.as_f64().expect("f64"), "{key}"),
        (other, Value::Number(e)) => {
            let n = other
                .as_i128()
                .unwrap_or_else(|| panic!("{key}: {other:?} is not an integer"));
            let e = e
                .as_i64()
                .map(i128::from)
                .or(e.as_u64().map(i128::from))
                .expect("integer");
            assert_eq!(n, e, "{key}");
        }
        (other, e) => panic!("{key}: {other:?} does not match {e}"),
    }
}

#[test]
fn metadata_of_every_type_and_nested_arrays() {
    let manifest = manifest();
    let entry = &manifest["metadata_file"];
    let file =
        GgufFile::open(fixture_dir().join(entry["file"].as_str().expect("file"))).expect("opens");
    assert_eq!(file.version(), 3);
    assert_eq!(
        file.alignment(),
        entry["alignment"].as_u64().expect("alignment")
    );
    assert_eq!(file.architecture().expect("arch"), "fixture");

    let expected = entry["metadata"].as_object().expect("metadata");
    assert_eq!(file.metadata().len(), expected.len());
    for (key, e) in expected {
        let value = file.get(key).unwrap_or_else(|| panic!("{key} missing"));
        let ty = e["type"].as_str().expect("type");
        let described = match value {
            MetaValue::Array(_) => {
                // `array<array<i32>>[3]` → `array<array<i32>>`: compare the type without lengths.
                let d = value.describe_type();
                strip_lengths(&d)
            }
            other => other.type_name().to_string(),
        };
        assert_eq!(described, ty, "{key}");
        check_meta(key, value, &e["value"]);
    }

    // Typed getters accept any integer type that fits and name the key when they refuse.
    assert_eq!(file.get_u32("t.u8").expect("u8 fits u32"), 200);
    assert_eq!(file.get_u32("t.u16").expect("u16 fits u32"), 60000);
    assert_eq!(file.get_u32("t.u32").expect("u32"), 4_000_000_000);
    let negative = file.get_u32("t.i8").expect_err("-100 does not fit u32");
    assert!(negative.to_string().contains("t.i8"), "{negative}");
    let too_big = file.get_u32("t.u64").expect_err("u64 value too big");
    assert!(too_big.to_string().contains("t.u64"), "{too_big}");
    assert_eq!(
        file.get_i64("t.i64").expect("i64"),
        -9_000_000_000_000_000_000
    );
    assert_eq!(file.get_f32("t.f64").expect("f64 as f32"), 0.1f32);
    assert!(file.get_bool("t.bool_true").expect("bool"));
    assert_eq!(file.get_str("t.string").expect("string"), "héllo, wörld ✓");
    assert_eq!(
        file.get_str_array("a.string").expect("strings"),
        vec!["a", "", "ĠHello", "<|endoftext|>"]
    );
    assert_eq!(
        file.get_i64_array("a.i32").expect("ints"),
        vec![-1, 2, -3, 4]
    );
    assert!(
        file.get_str_array("a.nested_string").is_err(),
        "nested arrays are not string arrays"
    );

    for tensor in entry["tensors"].as_array().expect("tensors") {
        let name = tensor["name"].as_str().expect("name");
        let info = file.tensor(name).expect("tensor");
        assert_eq!(info.dims, dims_of(tensor));
        assert_eq!(info.offset % 64, 0, "{name} aligned to general.alignment");
        let expected = read_f32s(tensor["expected"].as_str().expect("expected"));
        assert_bit_exact(
            name,
            &file.dequantize(name).expect("dequantizes"),
            &expected,
        );
    }
    // `first` is 40 bytes, so `second` starts after 24 bytes of padding.
    let first = file.tensor("first").expect("first");
    let second = file.tensor("second").expect("second");
    assert_eq!(second.offset - first.offset, 64);
}

fn strip_lengths(described: &str) -> String {
    let mut out = String::new();
    let mut in_brackets = false;
    for c in described.chars() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            c if !in_brackets => out.push(c),
            _ => {}
        }
    }
    out
}

/// Versions 2 and 3 share the little-endian layout: the same bytes with version 2 parse the same.
#[test]
fn version_2_files_parse() {
    let mut bytes = std::fs::read(fixture_dir().join("metadata.gguf")).expect("read");
    let v3 = GgufFile::parse(&bytes).expect("v3 parses");
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let v2 = GgufFile::from_bytes(bytes).expect("v2 parses");
    assert_eq!(v2.version(), 2);
    assert_eq!(v2.metadata(), v3.metadata());
    assert_eq!(v2.tensors(), v3.tensors());
}

/// Block sizes agree with gguf-py's `GGML_QUANT_SIZES` for every type both know.
#[test]
fn type_table_matches_gguf_py() {
    let manifest = manifest();
    let sizes = manifest["type_sizes"].as_object().expect("type_sizes");
    let mut checked = 0;
    for (name, entry) in sizes {
        let id = u32::try_from(entry["id"].as_u64().expect("id")).expect("small id");
        let ty = GgmlType::from_id(id)
            .unwrap_or_else(|| panic!("gguf-py type {name} (id {id}) unknown here"));
        assert_eq!(ty.name(), name);
        assert_eq!(
            ty.block_size() as u64,
            entry["block_size"].as_u64().expect("block"),
            "{name}"
        );
        if ty == GgmlType::Q8_1 {
            // gguf-py still lists the old 40-byte Q8_1 block (f32 d and s); ggml's `block_q8_1`
            // holds two f16 and 32 quants, 36 bytes. Q8_1 is an intermediate type that files do
            // not contain.
            assert_eq!(entry["type_size"].as_u64(), Some(40));
            continue;
        }
        assert_eq!(
            ty.type_size() as u64,
            entry["type_size"].as_u64().expect("size"),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 30);
    assert_eq!(
        sizes.len(),
        GgmlType::ALL.len(),
        "both tables list the same types"
    );
}
