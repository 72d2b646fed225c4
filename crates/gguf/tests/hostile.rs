//! Malformed and hostile GGUF files: each must give the specific error that names the problem —
//! never a panic, never a huge allocation.

use crate::common;

use common::*;
use zkinfer_gguf::{GgmlType, GgufError, GgufFile, MAX_ARRAY_NESTING, dequantize};

fn parse_err(bytes: &[u8]) -> GgufError {
    match GgufFile::parse(bytes) {
        Ok(file) => panic!("hostile file parsed: {file:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_valid_hand_made_file_parses() {
    let file = GgufFile::from_bytes(valid_file()).expect("valid file");
    assert_eq!(file.architecture().expect("arch"), "test");
    assert_eq!(file.get_u32("test.block_count").expect("u32"), 2);
    assert_eq!(
        file.dequantize("w").expect("w"),
        (0..8).map(|i| i as f32).collect::<Vec<_>>()
    );
    let expected_q: Vec<f32> = (0..32).map(|q| 0.5 * (q as f32 - 16.0)).collect();
    assert_eq!(file.dequantize("q").expect("q"), expected_q);
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = valid_file();
    for len in 0..bytes.len() {
        let err = parse_err(&bytes[..len]);
        let root = err.root_cause();
        assert!(
            matches!(
                root,
                GgufError::Truncated { .. }
                    | GgufError::CountTooLarge { .. }
                    | GgufError::TensorOutOfBounds { .. }
            ),
            "prefix of {len} bytes: unexpected error {err}"
        );
        if len < 4 {
            assert!(err.to_string().contains("truncated"), "{err}");
        }
    }
}

#[test]
fn truncated_real_files_are_errors() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gguf");
    for name in ["metadata.gguf", "q4_k.gguf", "q5_1.gguf"] {
        let bytes = std::fs::read(dir.join(name)).expect("fixture");
        let full = GgufFile::parse(&bytes).expect("fixture parses");
        // gguf-py pads after the last tensor; the file is complete once the last tensor's data is.
        let data_end = full
            .tensors()
            .iter()
            .map(|t| t.offset + t.n_bytes)
            .max()
            .unwrap_or(0) as usize;
        for len in 0..bytes.len() {
            let parsed = GgufFile::parse(&bytes[..len]);
            assert_eq!(
                parsed.is_ok(),
                len >= data_end,
                "{name} cut at {len}: {parsed:?}"
            );
        }
    }
}

#[test]
fn wrong_magic() {
    let mut bytes = valid_file();
    bytes[0..4].copy_from_slice(b"GGML");
    let err = parse_err(&bytes);
    assert!(matches!(err, GgufError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("magic"), "{err}");
    assert!(matches!(parse_err(b"PK\x03"), GgufError::BadMagic { .. }));
    assert!(matches!(parse_err(b"GGU"), GgufError::Truncated { .. }));
}

#[test]
fn unknown_and_big_endian_versions() {
    for version in [0u32, 1, 4, 0xDEAD_BEEF] {
        let mut bytes = valid_file();
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
        let err = parse_err(&bytes);
        assert!(
            matches!(err, GgufError::UnsupportedVersion { version: v } if v == version),
            "{err}"
        );
        assert!(err.to_string().contains(&version.to_string()), "{err}");
    }
    let mut bytes = valid_file();
    bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
    let err = parse_err(&bytes);
    assert!(matches!(err, GgufError::BigEndian { version: 3 }), "{err}");
}

#[test]
fn counts_beyond_the_file() {
    let kvs = [kv_str("general.architecture", "test")];
    for (n_tensors, n_kv) in [(u64::MAX, 1), (1 << 40, 1), (0, u64::MAX), (0, 1 << 50)] {
        let bytes = assemble(3, n_tensors, n_kv, &kvs, &[], 32, &[]);
        let err = parse_err(&bytes);
        assert!(matches!(err, GgufError::CountTooLarge { .. }), "{err}");
        assert!(err.to_string().contains("count"), "{err}");
    }
    // A count that is plausible for the header but exceeds the entries actually present.
    let bytes = assemble(3, 0, 3, &kvs, &[], 1, &[]);
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        GgufError::Truncated { .. }
    ));
}

#[test]
fn string_lengths_beyond_the_file() {
    // Key length u64::MAX.
    let mut entry = u64::MAX.to_le_bytes().to_vec();
    entry.extend_from_slice(b"abc");
    let bytes = assemble(3, 0, 1, &[entry], &[], 1, &[0; 64]);
    let err = parse_err(&bytes);
    assert!(
        matches!(
            err.root_cause(),
            GgufError::Truncated {
                what: "metadata key",
                ..
            }
        ),
        "{err}"
    );
    // String value length one past the end.
    let mut value = 100u64.to_le_bytes().to_vec();
    value.extend_from_slice(&[b'x'; 99]);
    let bytes = assemble(3, 0, 1, &[kv("k", 8, &value)], &[], 1, &[]);
    let err = parse_err(&bytes);
    assert!(
        matches!(
            err.root_cause(),
            GgufError::Truncated {
                what: "string value",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("\"k\""),
        "error names the key: {err}"
    );
    // Tensor name length huge.
    let mut info = (1u64 << 62).to_le_bytes().to_vec();
    info.extend_from_slice(&[0; 40]);
    let err = parse_err(&with_tensors(&[info], 0));
    assert!(
        matches!(
            err.root_cause(),
            GgufError::Truncated {
                what: "tensor name",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn array_counts_beyond_the_file() {
    for (elem_type, count) in [(0u32, u64::MAX), (8, 1 << 40), (9, 1 << 30), (4, 1000)] {
        let bytes = assemble(
            3,
            0,
            1,
            &[kv("arr", 9, &array(elem_type, count, &[0; 64]))],
            &[],
            1,
            &[],
        );
        let err = parse_err(&bytes);
        assert!(
            matches!(
                err.root_cause(),
                GgufError::CountTooLarge {
                    what: "array element",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("arr"), "{err}");
    }
}

#[test]
fn unknown_value_types() {
    let bytes = assemble(3, 0, 1, &[kv("k", 13, &[0; 8])], &[], 1, &[]);
    let err = parse_err(&bytes);
    assert!(
        matches!(
            err.root_cause(),
            GgufError::UnknownValueType { type_id: 13, .. }
        ),
        "{err}"
    );
    let bytes = assemble(3, 0, 1, &[kv("k", 9, &array(99, 1, &[0; 8]))], &[], 1, &[]);
    let err = parse_err(&bytes);
    assert!(
        matches!(
            err.root_cause(),
            GgufError::UnknownValueType { type_id: 99, .. }
        ),
        "{err}"
    );
}

#[test]
fn invalid_bool_utf8_and_duplicates() {
    let bytes = assemble(3, 0, 1, &[kv("flag", 7, &[2])], &[], 1, &[]);
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        GgufError::InvalidBool { value: 2, .. }
    ));

    let mut key = string(b"bad\xFF\xFEkey");
    key.extend_from_slice(&4u32.to_le_bytes());
    key.extend_from_slice(&1u32.to_le_bytes());
    let err = parse_err(&assemble(3, 0, 1, &[key], &[], 1, &[]));
    assert!(
        matches!(
            err.root_cause(),
            GgufError::InvalidUtf8 {
                what: "metadata key",
                ..
            }
        ),
        "{err}"
    );

    let bytes = assemble(3, 0, 2, &[kv_u32("dup", 1), kv_u32("dup", 2)], &[], 1, &[]);
    assert!(matches!(parse_err(&bytes), GgufError::DuplicateKey { key } if key == "dup"));

    let infos = [tensor_info("t", &[8], 0, 0), tensor_info("t", &[8], 0, 32)];
    assert!(
        matches!(parse_err(&with_tensors(&infos, 64)), GgufError::DuplicateTensor { name } if name == "t")
    );
}

#[test]
fn nesting_depth_is_limited_without_recursing_deeply() {
    // An array of arrays nested 100 000 deep (12 bytes per level): must not overflow the stack.
    let depth = 100_000;
    let mut value = Vec::with_capacity(depth * 12);
    for _ in 0..depth {
        value.extend_from_slice(&array(9, 1, &[]));
    }
    value.extend_from_slice(&array(4, 0, &[]));
    let err = parse_err(&assemble(3, 0, 1, &[kv("deep", 9, &value)], &[], 1, &[]));
    assert!(
        matches!(err.root_cause(), GgufError::NestingTooDeep { .. }),
        "{err}"
    );

    // Exactly at the limit is fine.
    let mut value = Vec::new();
    for _ in 0..MAX_ARRAY_NESTING - 1 {
        value.extend_from_slice(&array(9, 1, &[]));
    }
    value.extend_from_slice(&array(4, 1, &7u32.to_le_bytes()));
    let file = GgufFile::parse(&assemble(3, 0, 1, &[kv("deep", 9, &value)], &[], 1, &[]))
        .expect("at limit");
    assert!(file.get("deep").is_some());
}

#[test]
fn tensor_data_out_of_bounds() {
    // Offset past the end.
    let err = parse_err(&with_tensors(&[tensor_info("t", &[8], 0, 64)], 64));
    assert!(
        matches!(err.root_cause(), GgufError::TensorOutOfBounds { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("\"t\""), "{err}");
    // Size past the end.
    let err = parse_err(&with_tensors(&[tensor_info("t", &[17], 0, 0)], 64));
    assert!(
        matches!(
            err.root_cause(),
            GgufError::TensorOutOfBounds { n_bytes: 68, .. }
        ),
        "{err}"
    );
    // Offset + size overflows u64.
    let offset = u64::MAX - 31;
    let err = parse_err(&with_tensors(&[tensor_info("t", &[16], 0, offset)], 64));
    assert!(
        matches!(err.root_cause(), GgufError::TensorOutOfBounds { .. }),
        "{err}"
    );
    // Exactly fitting is fine.
    GgufFile::parse(&with_tensors(&[tensor_info("t", &[16], 0, 0)], 64)).expect("fits");
}

#[test]
fn overlapping_tensors() {
    let infos = [tensor_info("a", &[16], 0, 0), tensor_info("b", &[8], 0, 32)];
    let err = parse_err(&with_tensors(&infos, 64));
    assert!(
        matches!(&err, GgufError::OverlappingTensors { first, second } if first == "a" && second == "b"),
        "{err}"
    );
    let infos = [tensor_info("a", &[8], 0, 0), tensor_info("b", &[8], 0, 0)];
    assert!(matches!(
        parse_err(&with_tensors(&infos, 64)),
        GgufError::OverlappingTensors { .. }
    ));
    // Adjacent is fine, and zero-sized tensors own no bytes.
    let infos = [
        tensor_info("a", &[8], 0, 0),
        tensor_info("b", &[8], 0, 32),
        tensor_info("c", &[0], 0, 32),
    ];
    GgufFile::parse(&with_tensors(&infos, 64)).expect("adjacent tensors");
}

#[test]
fn unknown_tensor_types() {
    for type_id in [4u32, 5, 31, 36, 1000, u32::MAX] {
        let err = parse_err(&with_tensors(&[tensor_info("t", &[32], type_id, 0)], 64));
        assert!(
            matches!(err.root_cause(), GgufError::UnknownTensorType { type_id: t, .. } if *t == type_id),
            "{err}"
        );
        assert!(err.to_string().contains(&type_id.to_string()), "{err}");
    }
}

#[test]
fn shape_products_that_overflow() {
    for dims in [
        vec![1 << 32, 1 << 32],
        vec![u64::MAX],
        vec![1 << 63],
        vec![1 << 21, 1 << 21, 1 << 21],
        vec![3, 3, 1 << 62, 0],
    ] {
        let err = parse_err(&with_tensors(&[tensor_info("t", &dims, 0, 0)], 64));
        assert!(
            matches!(err.root_cause(), GgufError::ShapeOverflow { .. }),
            "{dims:?}: {err}"
        );
    }
    // Large but representable: the element count fits, the data does not.
    let err = parse_err(&with_tensors(
        &[tensor_info("t", &[1 << 30, 1 << 30], 0, 0)],
        64,
    ));
    assert!(
        matches!(err.root_cause(), GgufError::TensorOutOfBounds { .. }),
        "{err}"
    );
}

#[test]
fn misaligned_tensor_data() {
    let infos = [tensor_info("a", &[4], 0, 0), tensor_info("b", &[4], 0, 16)];
    let err = parse_err(&with_tensors(&infos, 64));
    assert!(
        matches!(
            err.root_cause(),
            GgufError::MisalignedTensor {
                offset: 16,
                alignment: 32,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("\"b\""), "{err}");

    // With general.alignment = 16 the same offsets are fine and the data starts on 16.
    let kvs = [kv_u32("general.alignment", 16)];
    let bytes = assemble(3, 2, 1, &kvs, &infos, 16, &[0; 32]);
    let file = GgufFile::parse(&bytes).expect("aligned to 16");
    assert_eq!(file.alignment(), 16);
    assert_eq!(file.data_offset() % 16, 0);
}

#[test]
fn invalid_alignment_values() {
    for value in [
        kv_u32("general.alignment", 0),
        kv_u32("general.alignment", 48),
        kv_str("general.alignment", "32"),
    ] {
        let err = parse_err(&assemble(3, 0, 1, &[value], &[], 1, &[]));
        assert!(matches!(err, GgufError::InvalidAlignment { .. }), "{err}");
        assert!(err.to_string().contains("general.alignment"), "{err}");
    }
}

#[test]
fn absurd_n_dims() {
    for n_dims in [5u32, 64, u32::MAX] {
        let mut info = string(b"t");
        info.extend_from_slice(&n_dims.to_le_bytes());
        info.extend_from_slice(&[1; 64]);
        let err = parse_err(&with_tensors(&[info], 64));
        assert!(
            matches!(err.root_cause(), GgufError::TooManyDims { n_dims: n, .. } if *n == n_dims),
            "{err}"
        );
        assert!(err.to_string().contains(&n_dims.to_string()), "{err}");
    }
}

#[test]
fn rows_must_be_whole_blocks() {
    let err = parse_err(&with_tensors(&[tensor_info("t", &[16, 2], 2, 0)], 64));
    assert!(
        matches!(
            err.root_cause(),
            GgufError::RowNotBlockMultiple {
                ggml_type: GgmlType::Q4_0,
                ne0: 16,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn dequantize_errors() {
    // A known type that is not dequantizable.
    let file =
        GgufFile::parse(&with_tensors(&[tensor_info("iq", &[256], 16, 0)], 96)).expect("parses");
    let err = file.dequantize("iq").expect_err("IQ2_XXS unsupported");
    assert!(
        matches!(err, GgufError::UnsupportedType(GgmlType::IQ2_XXS)),
        "{err}"
    );
    assert!(err.to_string().contains("IQ2_XXS"), "{err}");
    let err = file.dequantize("nope").expect_err("missing");
    assert!(matches!(err, GgufError::TensorNotFound { .. }));

    // The free function checks sizes instead of trusting them.
    assert!(matches!(
        dequantize(GgmlType::Q8_0, &[0; 34], 16),
        Err(GgufError::NotBlockMultiple { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q8_0, &[0; 33], 32),
        Err(GgufError::ByteLengthMismatch { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::F32, &[0; 8], usize::MAX),
        Err(GgufError::ByteLengthMismatch { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q6_K, &[0; 210], 256 * 2),
        Err(GgufError::ByteLengthMismatch { .. })
    ));
    assert_eq!(
        dequantize(GgmlType::Q4_K, &[], 0).expect("empty"),
        Vec::<f32>::new()
    );
}

#[test]
fn zero_element_tensors_and_empty_files() {
    let file =
        GgufFile::parse(&with_tensors(&[tensor_info("empty", &[0, 7], 8, 0)], 0)).expect("parses");
    assert_eq!(
        file.dequantize("empty").expect("empty tensor"),
        Vec::<f32>::new()
    );
    let file = GgufFile::parse(&assemble(3, 0, 0, &[], &[], 1, &[])).expect("header only");
    assert!(file.metadata().is_empty() && file.tensors().is_empty());
    assert!(matches!(
        file.architecture(),
        Err(GgufError::MissingKey { .. })
    ));
    let dir = tempdir_path("empty.gguf");
    std::fs::write(&dir, b"").expect("write");
    let err = GgufFile::open(&dir).expect_err("empty file");
    assert!(matches!(err, GgufError::Truncated { .. }), "{err}");
    let _ = std::fs::remove_file(&dir);
}

fn tempdir_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("zkinfer-gguf-test-{}-{name}", std::process::id()))
}
