//! The prover's optimisations must not change a single proof byte: fixed instances (large enough
//! for every packed, parallel and base-field path of the GKR prover) are proven and the proof's
//! BLAKE3 hash compared with the hash the prover produced before those optimisations
//! (recorded at main de63b64). Each proof also verifies.

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
    assert_eq!(hash(&proof), "5cd6754096117ff036e248485209a789f66c0038776935365e870c849485fd4c", "proof bytes changed");
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
    assert_eq!(hash(&proof), "9c9440df0b119a5c19455ae5d2cd14c6da62b013c0f37de4fe2e28dd89478aef", "proof bytes changed");
}
