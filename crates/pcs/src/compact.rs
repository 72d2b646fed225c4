//! A packed polynomial held compressed in memory while its codeword and Merkle tree are built
//! ([`crate::whir::WhirEngine::commit_root_spilling`]).
//!
//! A released witness group's packed polynomial must not be resident beside its codeword and tree
//! (that would be 8 B more per entry at the proof's tightest point): it used to go to a temporary
//! file, which cost SmolLM2's 2^28-entry witness ≈ 5.8 s single-threaded to write and ≈ 1.5 s to
//! read back (the kernel's page cache and writeback, not the copy). Witness entries are small
//! signed integers (16-bit limbs, zero padding, activations of a few dozen bits), so the same
//! values fit in a fraction of the bytes in memory, encoded and decoded on every core.
//!
//! **Encoding** (lossless for every canonical Goldilocks element): each value `v` is mapped to
//! `z = 2v` if `v ≤ (p − 1)/2` and `z = 2(p − v) − 1` otherwise (the signed integer nearest zero
//! that `v` represents, zigzagged: a bijection of `[0, p)` onto itself) in a block where that
//! gives narrower fields than `v` itself, else `z = v`; values go in blocks of [`BLOCK`], each
//! block one byte (the bit width `w` of its largest `z`, 0–64, and a flag for zigzag) then its
//! `z`s as `w`-bit fields, least significant first (`BLOCK · w` bits: a whole number of bytes). Blocks go
//! in chunks of [`CHUNK`] values, each chunk its own byte vector, so both directions run in
//! parallel. The encoder gives up (`None`) once the encoding would exceed a caller's byte bound:
//! then the caller keeps its file (incompressible values cost no more memory than before).

use p3_field::PrimeField64;
use p3_maybe_rayon::prelude::*;
use zkinfer_field::{F, PrimeCharacteristicRing};

/// Values per block (one width byte each).
pub(crate) const BLOCK: usize = 32;
/// Values per independently encoded chunk (a multiple of [`BLOCK`]).
pub(crate) const CHUNK: usize = 1 << 16;

/// The width byte's flag of a zigzagged block.
const SIGNED: u8 = 0x80;

/// Goldilocks' modulus.
const P: u64 = 0xFFFF_FFFF_0000_0001;

/// A compressed copy of a vector of field elements (see the module doc).
pub(crate) struct Compact {
    chunks: Vec<Vec<u8>>,
    len: usize,
}

fn zigzag(v: u64) -> u64 {
    if v <= (P - 1) / 2 { 2 * v } else { 2 * (P - v) - 1 }
}

fn unzigzag(z: u64) -> u64 {
    if z & 1 == 0 { z / 2 } else { P - z.div_ceil(2) }
}

fn encode_chunk(values: &[F], out: &mut Vec<u8>) {
    for block in values.chunks(BLOCK) {
        let mut z = [0u64; BLOCK];
        let (mut plain, mut zig) = (0u64, 0u64);
        for (slot, v) in z.iter_mut().zip(block) {
            *slot = v.as_canonical_u64();
            plain |= *slot;
            zig |= zigzag(*slot);
        }
        // Non-negative blocks (limbs) are stored as they are: zigzag would cost them a bit.
        let signed = zig.leading_zeros() > plain.leading_zeros();
        if signed {
            z.iter_mut().for_each(|zi| *zi = zigzag(*zi));
        }
        let width = 64 - if signed { zig } else { plain }.leading_zeros();
        out.push(width as u8 | if signed { SIGNED } else { 0 });
        if width == 0 {
            continue;
        }
        // A block shorter than BLOCK (only the last of a vector whose length is not a multiple)
        // is padded with zeros: its bit count stays a whole number of bytes.
        let mut acc = 0u128;
        let mut bits = 0u32;
        for &zi in &z {
            acc |= u128::from(zi) << bits;
            bits += width;
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        debug_assert_eq!(bits, 0);
    }
}

/// Decodes one chunk into `out` (its values' count); `false` if the bytes do not describe exactly
/// that many values.
fn decode_chunk(bytes: &[u8], out: &mut [F]) -> bool {
    let mut pos = 0usize;
    for block in out.chunks_mut(BLOCK) {
        let Some(&head) = bytes.get(pos) else { return false };
        pos += 1;
        let signed = head & SIGNED != 0;
        let width = u32::from(head & !SIGNED);
        if width > 64 {
            return false;
        }
        if width == 0 {
            block.fill(F::ZERO);
            continue;
        }
        let need = BLOCK * width as usize / 8;
        let Some(data) = bytes.get(pos..pos + need) else { return false };
        pos += need;
        let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
        let mut acc = 0u128;
        let mut bits = 0u32;
        let mut next = data.iter();
        for slot in block.iter_mut() {
            while bits < width {
                let Some(&b) = next.next() else { return false };
                acc |= u128::from(b) << bits;
                bits += 8;
            }
            let z = (acc as u64) & mask;
            acc >>= width;
            bits -= width;
            if z >= P {
                return false;
            }
            *slot = F::from_u64(if signed { unzigzag(z) } else { z });
        }
    }
    pos == bytes.len()
}

impl Compact {
    /// The compressed copy of `values`, or `None` if it would take more than `max_bytes`.
    pub(crate) fn encode(values: &[F], max_bytes: usize) -> Option<Self> {
        let chunks: Vec<Vec<u8>> = values
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut out = Vec::with_capacity(chunk.len() / 4 + chunk.len() / BLOCK + 1);
                encode_chunk(chunk, &mut out);
                out.shrink_to_fit();
                out
            })
            .collect();
        let bytes: usize = chunks.iter().map(Vec::len).sum();
        (bytes <= max_bytes).then_some(Self { chunks, len: values.len() })
    }

    /// Values encoded.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The compressed bytes (chunk payloads).
    pub(crate) fn bytes(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// Writes the values back into `out` (of exactly their count).
    pub(crate) fn decode_into(&self, out: &mut [F]) -> Result<(), &'static str> {
        if out.len() != self.len {
            return Err("length mismatch");
        }
        // Every chunk decoded (`&`, not `&&`); `par_fold_reduce` (p3-maybe-rayon) also builds
        // without the `parallel` feature (the verifier's build), where rayon's two-closure
        // `reduce` does not exist.
        let ok = out
            .par_chunks_mut(CHUNK)
            .zip(self.chunks.par_iter())
            .par_fold_reduce(|| true, |ok, (values, bytes)| decode_chunk(bytes, values) & ok, |a, b| a & b);
        if ok { Ok(()) } else { Err("corrupt chunk") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn zigzag_is_a_bijection_at_the_edges() {
        for v in [0, 1, 2, P / 2 - 1, P / 2, P / 2 + 1, P / 2 + 2, P - 2, P - 1] {
            let z = zigzag(v);
            assert!(z < P, "{v}");
            assert_eq!(unzigzag(z), v, "{v}");
        }
        // Small signed integers map to small codes.
        assert_eq!(zigzag(P - 1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(P - 2), 3);
    }

    fn round_trip(values: &[F]) -> usize {
        let compact = Compact::encode(values, usize::MAX).expect("no bound");
        let mut back = vec![F::ONE; values.len()];
        compact.decode_into(&mut back).expect("decodes");
        assert_eq!(back, values);
        compact.bytes()
    }

    #[test]
    fn every_width_round_trips() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut values = Vec::new();
        // One block per width, mixed signs, then a few partial chunks' worth of mixed blocks.
        for width in 0..=64u32 {
            for _ in 0..BLOCK {
                let mag = if width == 0 { 0 } else { rng.random::<u64>() >> (64 - width) };
                let v = F::from_u64(mag % P);
                values.push(if rng.random::<bool>() { -v } else { v });
            }
        }
        for _ in 0..(3 * CHUNK + 5 * BLOCK + 7) {
            let w = rng.random_range(0..=20u32);
            let v = F::from_u64(rng.random::<u64>() >> (64 - w.max(1)));
            values.push(if rng.random::<bool>() { -v } else { v });
        }
        values.extend([F::ZERO, F::ONE, -F::ONE, F::from_u64(P / 2), F::from_u64(P / 2 + 1)]);
        round_trip(&values);
        round_trip(&[]);
        round_trip(&[-F::ONE]);
    }

    #[test]
    fn small_values_compress_and_large_ones_are_refused_by_the_bound() {
        let mut rng = StdRng::seed_from_u64(9);
        // 16-bit limbs and zero padding: ≈ 2 B per limb, ≈ 1/32 B per padding entry.
        let limbs: Vec<F> = (0..1usize << 18)
            .map(|i| if i < 1 << 17 { F::from_u64(rng.random::<u16>().into()) } else { F::ZERO })
            .collect();
        let bytes = round_trip(&limbs);
        assert_eq!(bytes, (1 << 17) * 2 + (1 << 18) / BLOCK, "limbs: 2 B each, one byte per block");
        // Uniform field elements do not compress: a bound of a quarter of their bytes refuses them.
        let uniform: Vec<F> = (0..1usize << 16).map(|_| F::from_u64(rng.random::<u64>() % P)).collect();
        assert!(Compact::encode(&uniform, uniform.len() * 2).is_none());
        assert!(Compact::encode(&limbs, limbs.len() * 2).is_some());
    }

    #[test]
    fn corrupt_or_mismatched_input_is_an_error() {
        let values: Vec<F> = (0..1000u64).map(F::from_u64).collect();
        let mut compact = Compact::encode(&values, usize::MAX).expect("encodes");
        assert!(compact.decode_into(&mut vec![F::ZERO; 999]).is_err());
        compact.chunks[0].pop();
        assert!(compact.decode_into(&mut vec![F::ZERO; 1000]).is_err());
        compact.chunks[0].push(0);
        compact.chunks[0].push(0);
        assert!(compact.decode_into(&mut vec![F::ZERO; 1000]).is_err());
        compact.chunks[0][0] = 65;
        assert!(compact.decode_into(&mut vec![F::ZERO; 1000]).is_err());
        compact.chunks[0][0] = SIGNED | 65;
        assert!(compact.decode_into(&mut vec![F::ZERO; 1000]).is_err());
    }
}
