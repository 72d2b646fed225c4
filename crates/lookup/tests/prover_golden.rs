//! The prover's optimisations must not change a single proof byte: fixed instances (large enough
//! for every packed, parallel and base-field path of the GKR prover) are proven and the proof's
//! BLAKE3 hash compared with a recorded hash. Each proof also verifies.
//!
//! The hashes were recorded at main de63b64 (before the prover's optimisations) and kept through
//! them; they were **regenerated once, deliberately, in session 11 (branch incr11)** because the
//! protocol changed (protocol version 9 / stream version 10: a GKR proves all its trees with one
//! set of layer proofs, the tree index as sumcheck variables, `fracaddcheck`'s module doc), so
//! every proof byte after the roots differs. The per-tree prover paths the hashes pinned are
//! unchanged by that; what ties the new hashes to the plain computation is
//! `optimised_and_plain_leaves_give_the_same_proof` below: the same trees with every leaf as
//! explicit extension-field numerators and denominators (no base-field path at all) give the
//! same proof bytes.

use p3_field::PrimeCharacteristicRing;
use zkinfer_field::{EF, F};
use zkinfer_lookup::fracaddcheck::{self, Denominators, FractionLeaves, Numerators};
use zkinfer_lookup::{LookupColumn, LookupInstance, Table, compute_multiplicities, prove_lookups, verify_lookups};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

/// A deterministic xorshift stream.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn base(&mut self) -> F {
        F::from_u64(self.next() >> 1)
    }
    fn ext(&mut self) -> EF {
        let (a, b, c) = (self.base(), self.base(), self.base());
        EF::from(a) + EF::from(b) * EF::from(F::from_u64(7)).exp_u64(21) + EF::from(c).square()
    }
}

fn hash(proof: &[u8]) -> String {
    blake3::hash(proof).to_hex().to_string()
}

/// Trees of every kind: base-field leaves `1/(α − w)` (small and full-width `w`) at depths where
/// the layer above them is dropped and rebuilt and where it is not, explicit extension leaves
/// with and without numerators.
fn trees() -> (Vec<FractionLeaves>, Vec<usize>) {
    let mut s = Stream(0x0123_4567_89AB_CDEF);
    let shifted = |depth: usize, small: bool, s: &mut Stream| FractionLeaves {
        numerators: Numerators::Ones,
        denominators: Denominators::Shifted {
            shift: s.ext(),
            values: (0..1usize << depth).map(|_| if small { F::from_u64(s.next() & 0xFFFF) } else { s.base() }).collect(),
        },
    };
    let mut trees = vec![shifted(17, true, &mut s), shifted(16, false, &mut s)];
    for (d, small) in [(6, true), (5, false), (4, true), (3, true), (2, false), (1, true), (0, true)] {
        trees.push(shifted(d, small, &mut s));
    }
    trees.push(FractionLeaves {
        numerators: Numerators::Values((0..1 << 15).map(|_| s.ext()).collect()),
        denominators: Denominators::Values((0..1 << 15).map(|_| s.ext()).collect()),
    });
    trees.push(FractionLeaves { numerators: Numerators::Ones, denominators: Denominators::Values((0..1 << 14).map(|_| s.ext()).collect()) });
    let depths = vec![17, 16, 6, 5, 4, 3, 2, 1, 0, 15, 14];
    (trees, depths)
}

#[test]
fn gkr_proof_bytes_are_unchanged() {
    let ds = DomainSeparator::new("test/prover-golden-gkr", 1);
    let (trees, depths) = trees();
    let mut t = ProverTranscript::new(&ds);
    let out = fracaddcheck::prove(trees, &mut t);
    let proof = t.into_proof();
    let mut vt = VerifierTranscript::new(&ds, &proof);
    assert_eq!(fracaddcheck::verify(&depths, &mut vt).expect("verifies"), out);
    vt.finish().expect("consumed");
    assert_eq!(hash(&proof), "688acb330e460f7e0927a6b0e3a6a4cae468bd3d7a0410bf73b8a64a512452ed", "proof bytes changed");
}

/// The same trees with every leaf explicit in the extension field (numerators 1 written out,
/// denominators `α − w` computed): none of the prover's base-field or implicit-numerator paths
/// runs, yet the proof is byte for byte the optimised one.
#[test]
fn optimised_and_plain_leaves_give_the_same_proof() {
    let ds = DomainSeparator::new("test/prover-golden-gkr", 1);
    let (trees, _) = trees();
    let plain: Vec<FractionLeaves> = trees
        .iter()
        .cloned()
        .map(|tree| {
            let q = tree.denominators.into_ext();
            let p = match tree.numerators {
                Numerators::Ones => vec![EF::ONE; q.len()],
                Numerators::Values(p) => p,
            };
            FractionLeaves { numerators: Numerators::Values(p), denominators: Denominators::Values(q) }
        })
        .collect();
    let prove = |trees: Vec<FractionLeaves>| {
        let mut t = ProverTranscript::new(&ds);
        let out = fracaddcheck::prove(trees, &mut t);
        (out, t.into_proof())
    };
    let (out, proof) = prove(trees);
    let (plain_out, plain_proof) = prove(plain);
    assert_eq!(out, plain_out);
    assert!(proof == plain_proof, "optimised and plain leaves give different proofs");
}

fn cols(c: &[Vec<Vec<F>>]) -> Vec<LookupColumn<'_>> {
    c.iter().map(|c| LookupColumn { components: c.iter().map(Vec::as_slice).collect() }).collect()
}

#[test]
fn batched_lookup_proof_bytes_are_unchanged() {
    let mut s = Stream(0xFEDC_BA98_7654_3210);
    let range16 = Table::range(16);
    let range8 = Table::range(8);
    let inputs: Vec<i64> = (-150..150).collect();
    let outputs: Vec<i64> = inputs.iter().map(|x| x * x).collect();
    let square = Table::function("square", &inputs, &outputs).expect("valid function table");
    let ranged = |n: usize, bits: u32, s: &mut Stream| -> Vec<Vec<F>> { vec![(0..n).map(|_| F::from_u64(s.next() % (1 << bits))).collect()] };
    let r16: Vec<Vec<Vec<F>>> = [70_000, 40_000, 3_000, 5].iter().map(|&n| ranged(n, 16, &mut s)).collect();
    let r8: Vec<Vec<Vec<F>>> = [1_000, 1 << 12].iter().map(|&n| ranged(n, 8, &mut s)).collect();
    let sq: Vec<Vec<Vec<F>>> = [5_000, 77]
        .iter()
        .map(|&n| {
            let xs: Vec<i64> = (0..n).map(|_| (s.next() % 300) as i64 - 150).collect();
            vec![xs.iter().map(|&x| zkinfer_field::from_i64_unchecked(x)).collect(), xs.iter().map(|&x| zkinfer_field::from_i64_unchecked(x * x)).collect()]
        })
        .collect();
    let statements = [(&range16, cols(&r16)), (&range8, cols(&r8)), (&square, cols(&sq))];
    let ms: Vec<Vec<F>> = statements.iter().map(|(t, c)| compute_multiplicities(t, c).expect("in table")).collect();
    let instances: Vec<LookupInstance<'_>> =
        statements.iter().zip(&ms).map(|((table, columns), m)| LookupInstance { table, columns: columns.clone(), multiplicities: m }).collect();
    let ds = DomainSeparator::new("test/prover-golden-logup", 1);
    let mut t = ProverTranscript::new(&ds);
    let claims = prove_lookups(&instances, &mut t).expect("honest");
    let proof = t.into_proof();
    let lens: Vec<Vec<usize>> = statements.iter().map(|(_, c)| c.iter().map(LookupColumn::len).collect()).collect();
    let shapes: Vec<(&Table, &[usize])> = statements.iter().zip(&lens).map(|((t, _), l)| (*t, l.as_slice())).collect();
    let mut vt = VerifierTranscript::new(&ds, &proof);
    assert_eq!(verify_lookups(&shapes, &mut vt).expect("verifies"), claims);
    vt.finish().expect("consumed");
    assert_eq!(hash(&proof), "e6ec9f1328f68cf5f0c6e937ee0b1f3474b9cdb1072dee1d368a5bbbb67f7d46", "proof bytes changed");
}
