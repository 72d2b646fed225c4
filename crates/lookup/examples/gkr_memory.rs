//! Peak memory and time of one range-lookup GKR the size of SmolLM2's (one statement of
//! `2^LOG` leaves into `Range{16}`, as columns of `2^22` rows):
//! `cargo run --release -p zkinfer-lookup --example gkr_memory -- [LOG]` (default 25).
//! Prints the resident memory before and the peak during the proof (the GKR's transient);
//! with `ZKINFER_LOOKUP_TIMING=1` also the prover's phases (wall and CPU seconds).

use std::borrow::Cow;
use std::time::Instant;

use p3_field::PrimeCharacteristicRing;
use zkinfer_field::F;
use zkinfer_lookup::{LoadedLookup, LookupColumn, Table, compute_multiplicities, prove_lookups_reloading};
use zkinfer_transcript::{DomainSeparator, ProverTranscript};

fn main() {
    let log: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(25);
    let table = Table::range(16);
    let rows = 1usize << 22.min(log);
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let columns: Vec<Vec<F>> = (0..1usize << (log - 22.min(log)))
        .map(|_| {
            (0..rows)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    F::from_u64(s & 0xFFFF)
                })
                .collect()
        })
        .collect();
    let lookup: Vec<LookupColumn<'_>> = columns.iter().map(|c| LookupColumn::single(c)).collect();
    let m = compute_multiplicities(&table, &lookup).expect("in table");
    drop(lookup);
    let mb = |b: Option<u64>| b.map_or(0, |b| b / (1 << 20));
    let before = zkinfer_procfs::resident_bytes();
    println!("2^{log} leaves: resident before the GKR {} MiB (columns {} MiB)", mb(before), (columns.len() * rows * 8) >> 20);
    let tables = [&table];
    let load = |_| LoadedLookup { columns: columns.iter().map(|c| vec![Cow::Borrowed(c.as_slice())]).collect(), multiplicities: Cow::Borrowed(m.as_slice()) };
    let mut t = ProverTranscript::new(&DomainSeparator::new("gkr-memory", 1));
    let start = Instant::now();
    prove_lookups_reloading(&tables, load, &mut t).expect("honest");
    let peak = zkinfer_procfs::peak_resident_bytes();
    println!(
        "proof {} B in {:.2} s; peak {} MiB, transient {} MiB = {:.1} B per leaf",
        t.into_proof().len(),
        start.elapsed().as_secs_f64(),
        mb(peak),
        mb(peak) - mb(before),
        (peak.unwrap_or(0) as f64 - before.unwrap_or(0) as f64) / (1u64 << log) as f64
    );
}
