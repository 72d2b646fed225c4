//! Fuzz target: the GGUF reader on arbitrary bytes must return `Ok` or `Err`, never panic,
//! hang or allocate beyond a small multiple of the input size; for files it accepts, every
//! accessor and every tensor's dequantization must be safe too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkinfer_gguf::GgufFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::parse(data) else {
        return;
    };
    let _ = file.architecture();
    for (key, value) in file.metadata() {
        let _ = file.get_u32(key);
        let _ = file.get_f32(key);
        let _ = file.get_str_array(key);
        let _ = value.describe_type();
    }
    for info in file.tensors() {
        let bytes = file.tensor_bytes(info);
        assert_eq!(bytes.len() as u64, info.n_bytes);
        if let Ok(values) = file.dequantize(&info.name) {
            assert_eq!(values.len() as u64, info.n_elements());
        }
    }
    let _ = file.sha256_hex();
});
