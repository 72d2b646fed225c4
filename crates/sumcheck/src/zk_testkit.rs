//! Statistical test kit for the zero-knowledge simulators (tests only: compiled for this crate's
//! tests and, through the `test-kit` feature, for the tests of the crates that enable it).
//!
//! A simulator test runs the honest prover and the simulator many times on one small statement and
//! compares the *low bit of every sent 8-byte limb* over the runs: each limb of a uniform value has
//! a low bit that is 1 with probability ½, so over `runs` proofs its count of ones is
//! `Binomial(runs, ½)` (σ = √runs / 2). [`same_distribution`] refuses a limb whose count is 5σ or
//! more from `runs / 2` in either sample, or whose two counts differ by `5·√2·σ` or more — a
//! prover that reuses its randomness (the same proof every run) fails the first test on every
//! limb, which the tests use as their failing control. Both samples must have the same wire
//! shape (every proof the same length).

/// Ones in the low bit of each 8-byte little-endian limb, summed over `proofs` (all of one length).
pub fn bit_counts(proofs: &[Vec<u8>]) -> Vec<usize> {
    let width = proofs.first().map_or(0, |p| p.len() / 8);
    let mut ones = vec![0usize; width];
    for proof in proofs {
        assert_eq!(proof.len() / 8, width, "same wire shape");
        for (i, limb) in proof.chunks_exact(8).enumerate() {
            ones[i] += (u64::from_le_bytes(limb.try_into().expect("8 bytes")) & 1) as usize;
        }
    }
    ones
}

/// The low-bit test over every limb (see the module doc).
pub fn same_distribution(a: &[Vec<u8>], b: &[Vec<u8>]) -> Result<(), String> {
    same_distribution_except(a, b, &[])
}

/// The low-bit test over every limb but the `public` ones (limb indices of values that are
/// constant by design, e.g. a public element every run sends).
pub fn same_distribution_except(
    a: &[Vec<u8>],
    b: &[Vec<u8>],
    public: &[usize],
) -> Result<(), String> {
    let (ca, cb) = (bit_counts(a), bit_counts(b));
    if ca.len() != cb.len() {
        return Err(format!(
            "wire shapes differ: {} vs {} limbs",
            ca.len(),
            cb.len()
        ));
    }
    let runs = a.len() as f64;
    let sigma = runs.sqrt() / 2.0;
    for (i, (&x, &y)) in ca
        .iter()
        .zip(&cb)
        .enumerate()
        .filter(|(i, _)| !public.contains(i))
    {
        let (x, y) = (x as f64, y as f64);
        if (x - runs / 2.0).abs() >= 5.0 * sigma || (y - runs / 2.0).abs() >= 5.0 * sigma {
            return Err(format!("limb {i}: {x} / {y} ones of {runs}"));
        }
        if (x - y).abs() >= 5.0 * std::f64::consts::SQRT_2 * sigma {
            return Err(format!("limb {i}: {x} vs {y}"));
        }
    }
    Ok(())
}
