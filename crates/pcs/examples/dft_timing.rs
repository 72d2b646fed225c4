//! Timing of the commitment's parts at one size: the Reed–Solomon encoding by each p3 DFT and the
//! Merkle tree, wall and process CPU seconds (diagnostics for the commit/opening speed work).
//!
//! `cargo run --release -p zkinfer-pcs --example dft_timing -- LOG_ROWS [WIDTH_LOG] [RATE]`
//! (message rows `2^LOG_ROWS` of `2^WIDTH_LOG` values, default 5 = WHIR's first fold; rate 1/2^RATE).

use std::time::Instant;

use p3_commit::{Encoder, Mmcs};
use p3_dft::{Radix2Bowers, Radix2DFTSmallBatch, Radix2DitParallel};
use p3_matrix::dense::RowMajorMatrix;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{F, PrimeCharacteristicRing};

fn cpu_seconds() -> f64 {
    zkinfer_procfs::cpu_seconds().unwrap_or(0.0)
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let (w, c) = (Instant::now(), cpu_seconds());
    let out = f();
    println!("{label:>28}: wall {:8.3} s   cpu {:8.3} s", w.elapsed().as_secs_f64(), cpu_seconds() - c);
    out
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let log_rows = args.first().copied().unwrap_or(20);
    let width = 1usize << args.get(1).copied().unwrap_or(5);
    let rate = args.get(2).copied().unwrap_or(1);
    let mut rng = StdRng::seed_from_u64(3);
    let rows = 1usize << log_rows;
    let message: Vec<F> = (0..rows * width).map(|_| F::from_u64(rng.random::<u64>() >> 1)).collect();
    let padded = || {
        let mut v = F::zero_vec((rows * width) << rate);
        v[..rows * width].copy_from_slice(&message);
        RowMajorMatrix::new(v, width)
    };
    println!("2^{log_rows} rows of {width}, rate 1/{}", 1 << rate);
    let small = Radix2DFTSmallBatch::<F>::default();
    // Twiddles first (the prover's engine keeps them between commitments).
    let _ = small.encode_batch_padded(padded(), rate);
    let reference = timed("Radix2DFTSmallBatch", || small.encode_batch_padded(padded(), rate));
    let par = Radix2DitParallel::<F>::default();
    let _ = par.encode_batch_padded(padded(), rate);
    let other = timed("Radix2DitParallel", || par.encode_batch_padded(padded(), rate));
    println!("{:>28}  {}", "same codeword", other == reference);
    drop(other);
    let other = timed("Radix2Bowers", || Radix2Bowers.encode_batch_padded(padded(), rate));
    println!("{:>28}  {}", "same codeword", other == reference);
    drop(other);
    let mut m = reference.clone();
    timed("row bit reversal", || p3_matrix::util::reverse_matrix_index_bits(&mut m));
    drop(m);
    type Mmcs3 = p3_merkle_tree::MerkleTreeMmcs<F, u8, p3_symmetric::SerializingHasher<p3_blake3::Blake3>, p3_symmetric::CompressionFunctionFromHasher<p3_blake3::Blake3, 2, 32>, 2, 32>;
    let mmcs = Mmcs3::new(p3_symmetric::SerializingHasher::new(p3_blake3::Blake3 {}), p3_symmetric::CompressionFunctionFromHasher::new(p3_blake3::Blake3 {}), 0);
    let (_, tree) = timed("Merkle tree", || mmcs.commit_matrix(reference));
    drop(tree);
}
