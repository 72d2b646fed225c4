//! Deterministic proof-of-work grinding.
//!
//! p3-challenger's byte challengers search the nonce space in parallel and return *any* passing
//! nonce (`find_map_any`): with more than one thread, which nonce wins depends on scheduling, so
//! the same proof run twice could differ in its PoW witnesses (about one run in three did for the
//! tiny model). Every passing nonce is equally valid to the verifier, which only checks the one it
//! reads; determinism is a property of the prover alone.
//!
//! [`OrderedGrinding`] wraps a byte challenger and forwards everything to it, except the nonce
//! search: it scans the candidates in consecutive batches of [`BATCH`] (in order), searching each
//! batch in parallel with the inner challenger's own fast search, and, in the first batch that
//! holds a passing nonce, narrows the range until none smaller passes. The result is the smallest
//! passing nonce, whatever the number of threads: the same statement and key give the same
//! proof bytes. The cost over an unordered search is at most one extra batch (2^16 hashes, about
//! a millisecond) per grind.

use p3_challenger::{ByteGrindingChallenger, CanFinalizeDigest, CanObserve, CanSample};

/// Candidates searched per ordered batch.
pub const BATCH: u64 = 1 << 16;

/// A byte challenger whose proof-of-work search returns the smallest passing nonce.
#[derive(Debug, Clone)]
pub struct OrderedGrinding<C>(C);

impl<C> OrderedGrinding<C> {
    /// Wraps `inner`.
    pub const fn new(inner: C) -> Self {
        Self(inner)
    }
}

impl<C: CanObserve<u8>> CanObserve<u8> for OrderedGrinding<C> {
    fn observe(&mut self, value: u8) {
        self.0.observe(value);
    }

    fn observe_slice(&mut self, values: &[u8]) {
        self.0.observe_slice(values);
    }
}

impl<C: CanSample<u8>> CanSample<u8> for OrderedGrinding<C> {
    fn sample(&mut self) -> u8 {
        self.0.sample()
    }

    fn sample_into_slice(&mut self, values: &mut [u8]) {
        self.0.sample_into_slice(values);
    }

    fn sample_array<const N: usize>(&mut self) -> [u8; N] {
        self.0.sample_array()
    }

    fn sample_vec(&mut self, n: usize) -> Vec<u8> {
        self.0.sample_vec(n)
    }
}

impl<C: CanFinalizeDigest> CanFinalizeDigest for OrderedGrinding<C> {
    type Digest = C::Digest;

    fn finalize(self) -> Self::Digest {
        self.0.finalize()
    }
}

impl<C: ByteGrindingChallenger> ByteGrindingChallenger for OrderedGrinding<C> {
    fn find_witness<const W: usize, const S: usize>(
        &self,
        num_candidates: u64,
        encode: impl Fn(u64) -> [u8; W] + Sync,
        accepts: impl Fn([u8; S]) -> bool + Sync,
    ) -> Option<u64> {
        let mut first = 0u64;
        while first < num_candidates {
            let count = (num_candidates - first).min(BATCH);
            let search = |n: u64| self.0.find_witness(n, |i| encode(first + i), &accepts);
            if let Some(mut best) = search(count) {
                // Some nonce of this batch passes; every earlier batch had none. Shrink the
                // range to the nonces below the best found until none passes.
                while let Some(smaller) = search(best) {
                    best = smaller;
                }
                return Some(first + best);
            }
            first += count;
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use crate::new_challenger;
    use p3_challenger::GrindingChallenger;
    use p3_field::PrimeField64;
    use zkinfer_field::{F, PrimeCharacteristicRing};

    /// The nonce found is the smallest one that passes, checked by a serial scan.
    #[test]
    fn grinding_finds_the_smallest_nonce() {
        for seed in 0..8u8 {
            for bits in [1, 4, 9, 13] {
                let mut ch = new_challenger(vec![seed; 5]);
                let nonce = ch.clone().grind(bits);
                let nonce = nonce.as_canonical_u64();
                for smaller in 0..nonce {
                    let mut c = ch.clone();
                    assert!(
                        !c.check_witness(bits, F::from_u64(smaller)),
                        "nonce {smaller} < {nonce} passes ({bits} bits)"
                    );
                }
                assert!(ch.check_witness(bits, F::from_u64(nonce)));
            }
        }
    }

    /// Grinding the same state many times gives the same nonce (the unordered parallel search
    /// did not).
    #[test]
    fn grinding_is_repeatable() {
        let ch = new_challenger(b"repeatable".to_vec());
        let first = ch.clone().grind(16);
        for _ in 0..20 {
            assert_eq!(ch.clone().grind(16), first);
        }
    }
}
