//! Cost of the zero-knowledge logUp against the public one on the same lookup.
//!
//! `cargo run --release -p zkinfer-lookup --example zk_logup_cost [log2 lookups] [table bits] [reps]`
//!
//! One column of `2^n` values, uniformly random in a range table `[0, 2^bits)`. Prints prove and
//! verify times (best of `reps`) and proof bytes of `logup::prove_lookup` and of
//! `zk_logup::prove_lookup_zk` (mask sampling included), plus the zk tree's depth and mask
//! entries. The hiding commitment is modelled by random randomised-extension masks (what
//! `zkinfer_pcs::hiding` holds), so the figures are the lookup argument's alone: commitments and
//! openings (the PCS) are not included, in either mode.

use std::collections::HashMap;
use std::time::Instant;

use rand10::rngs::StdRng;
use rand10::{RngExt, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_lookup::zk_logup::{
    ZkLookupMasks, ZkLookupPoly, compute_multiplicities_zk, prove_lookup_zk, verify_lookup_zk,
};
use zkinfer_lookup::{LookupColumn, Table, compute_multiplicities, prove_lookup, verify_lookup};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let bits: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let reps: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(3);
    let ds = DomainSeparator::new("example/zk-logup-cost", 1);
    let mut rng = StdRng::seed_from_u64(1);
    let table = Table::range(bits);
    let values: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u64>() % (1u64 << bits))).collect();
    let columns = [LookupColumn::single(&values)];
    let lens = [values.len()];

    let m = compute_multiplicities(&table, &columns).expect("in table");
    let (mut prove_t, mut verify_t, mut proof) = (f64::MAX, f64::MAX, Vec::new());
    for _ in 0..reps {
        let start = Instant::now();
        let mut t = ProverTranscript::new(&ds);
        prove_lookup(&table, &columns, &m, &mut t).expect("public proof");
        prove_t = prove_t.min(start.elapsed().as_secs_f64());
        proof = t.into_proof();
        let start = Instant::now();
        let mut vt = VerifierTranscript::new(&ds, &proof);
        verify_lookup(&table, &lens, &mut vt).expect("public proof verifies");
        verify_t = verify_t.min(start.elapsed().as_secs_f64());
    }
    println!("public: 2^{n} lookups into range(2^{bits}): prove {prove_t:.3} s, verify {:.2} ms, proof {} bytes", verify_t * 1e3, proof.len());

    let m_zk = compute_multiplicities_zk(&table, &columns).expect("in table");
    // The hiding commitment's randomised-extension masks: 2^4 random entries per polynomial.
    let pcs_masks: HashMap<ZkLookupPoly, Vec<F>> = HashMap::new();
    let pcs_masks = std::sync::Mutex::new(pcs_masks);
    let mask_seed = std::sync::atomic::AtomicU64::new(7);
    let hidden = |poly: ZkLookupPoly, z: &[EF]| {
        let mut masks = pcs_masks.lock().expect("lock");
        let mask = masks.entry(poly).or_insert_with(|| {
            let mut r = StdRng::seed_from_u64(mask_seed.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            (0..16).map(|_| r.random::<F>()).collect()
        });
        Mle::new(mask.clone()).evaluate(&z[..4])
    };
    let (mut prove_t, mut verify_t, mut proof) = (f64::MAX, f64::MAX, Vec::new());
    let mut entries = 0;
    let mut depth = 0;
    for _ in 0..reps {
        let start = Instant::now();
        let masks = ZkLookupMasks::sample(&table, &lens, &mut rng).expect("masks");
        let mut t = ProverTranscript::new(&ds);
        prove_lookup_zk(&table, &columns, &m_zk, &masks, &hidden, &mut t).expect("zk proof");
        prove_t = prove_t.min(start.elapsed().as_secs_f64());
        proof = t.into_proof();
        entries = masks.tables().iter().map(|(_, t)| t.len()).sum::<usize>();
        depth = masks.depth();
        let start = Instant::now();
        let mut vt = VerifierTranscript::new(&ds, &proof);
        verify_lookup_zk(&table, &lens, &mut vt).expect("zk proof verifies");
        verify_t = verify_t.min(start.elapsed().as_secs_f64());
    }
    println!(
        "zk:     2^{n} lookups into range(2^{bits}): prove {prove_t:.3} s, verify {:.2} ms, proof {} bytes (one tree of depth {depth}, {} mask tables, {entries} mask entries)",
        verify_t * 1e3,
        proof.len(),
        1 + zkinfer_lookup::zk::num_mask_tables(depth),
    );
}
