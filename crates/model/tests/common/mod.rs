//! Helpers shared by the model crate's reference tests: transformers logits stored as `.npy`,
//! log-softmax rows, top-1/KL agreement and the largest absolute difference.
#![allow(dead_code)]

/// A little-endian float32 `.npy` of two dimensions.
pub fn read_npy(path: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).expect("read npy");
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).expect("header");
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), "{header}");
    let shape_txt = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).expect("shape");
    let shape: Vec<usize> = shape_txt.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().expect("dim")).collect();
    let data: Vec<f32> = bytes[10 + hlen..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

/// `ln softmax(row)` in `f64`.
pub fn log_softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let z = row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln() + m;
    row.iter().map(|&v| v as f64 - z).collect()
}

/// Largest `|got − want|` over all rows.
pub fn max_abs(got: &[Vec<f32>], want: &[f32]) -> f32 {
    got.iter().flatten().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max)
}

/// Mean KL(p‖q) over rows and the fraction of rows with the same argmax.
pub fn agreement(p: &[Vec<f32>], q: &[Vec<f32>]) -> (f64, f64) {
    let mut kl = 0.0;
    let mut same = 0;
    for (a, b) in p.iter().zip(q) {
        let (la, lb) = (log_softmax(a), log_softmax(b));
        kl += la.iter().zip(&lb).map(|(x, y)| x.exp() * (x - y)).sum::<f64>();
        same += usize::from(zkinfer_model::argmax_f32(a) == zkinfer_model::argmax_f32(b));
    }
    (kl / p.len() as f64, same as f64 / p.len() as f64)
}
