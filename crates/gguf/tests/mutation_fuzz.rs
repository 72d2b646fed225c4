//! In-process mutation fuzzing of the reader, with an allocation bound.
//!
//! Seeds are the gguf-py fixtures and a hand-made file; each case applies a few random
//! mutations (bit flips, random bytes, "interesting" u32/u64 values written over fields,
//! truncation, splices) and then parses and exercises the result. A panic fails the test; a
//! counting global allocator checks that no single allocation exceeds a small multiple of the
//! input size, whatever counts and lengths the mutated header claims.
//!
//! `cargo test -p zkinfer-gguf --test all -- mutation_fuzz::` runs a short deterministic campaign;
//! `ZKINFER_FUZZ_SECS=600 cargo test -p zkinfer-gguf --test all -- mutation_fuzz:: --ignored` runs a
//! long randomized one (the cargo-fuzz target in `crates/gguf/fuzz` is the coverage-guided
//! counterpart).

use crate::common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_gguf::GgufFile;

/// Records the largest single allocation made by the current thread.
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with` fails only during thread teardown; nothing to record then.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// the only extra work is updating a thread-local integer, which does not allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// The largest allocation `f` makes on this thread.
fn largest_allocation_of(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(Cell::get)
}

/// The most bytes one allocation may take per input byte. The widest case is an array of
/// one-byte values, each held as a 32-byte `MetaValue`; dequantization yields at most ~12 bytes
/// of f32 per input byte (Q2_K: 256 values from 84 bytes).
const BYTES_PER_INPUT_BYTE: usize = 32;

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gguf");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .map(|p| std::fs::read(p).expect("fixture"))
        .collect();
    seeds.sort();
    seeds.push(common::valid_file());
    assert!(seeds.len() >= 14);
    seeds
}

const INTERESTING_U64: [u64; 12] = [
    0,
    1,
    2,
    3,
    4,
    31,
    32,
    255,
    1 << 31,
    1 << 32,
    i64::MAX as u64,
    u64::MAX,
];

fn mutate(rng: &mut ChaCha8Rng, input: &mut Vec<u8>, donor: &[u8]) {
    let n_mutations = rng.random_range(1..=6);
    for _ in 0..n_mutations {
        if input.is_empty() {
            input.extend_from_slice(&donor[..donor.len().min(32)]);
        }
        let len = input.len();
        match rng.random_range(0..8) {
            0 => {
                let i = rng.random_range(0..len);
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let i = rng.random_range(0..len);
                input[i] = rng.random();
            }
            2 | 3 => {
                // Overwrite a field with an interesting value: fields in the header are mostly
                // u32/u64 counts, lengths, types, dims and offsets.
                let value = INTERESTING_U64[rng.random_range(0..INTERESTING_U64.len())]
                    .wrapping_add(rng.random_range(0..3))
                    .wrapping_sub(1);
                let width = if rng.random() { 8 } else { 4 };
                if len >= width {
                    let i = rng.random_range(0..=len - width);
                    input[i..i + width].copy_from_slice(&value.to_le_bytes()[..width]);
                }
            }
            4 => input.truncate(rng.random_range(0..len)),
            5 => {
                // Splice a chunk of another seed in.
                let start = rng.random_range(0..donor.len());
                let end = (start + rng.random_range(1..64)).min(donor.len());
                let at = rng.random_range(0..=len);
                input.splice(at..at, donor[start..end].iter().copied());
            }
            6 => {
                let start = rng.random_range(0..len);
                let end = (start + rng.random_range(1..32)).min(len);
                input.drain(start..end);
            }
            _ => {
                let at = rng.random_range(0..=len);
                let count = rng.random_range(1..16);
                let byte: u8 = rng.random();
                input.splice(at..at, std::iter::repeat_n(byte, count));
            }
        }
    }
}

/// Parses `bytes` and, if it is accepted, exercises every accessor.
fn exercise(bytes: &[u8]) -> bool {
    let Ok(file) = GgufFile::parse(bytes) else {
        return false;
    };
    let _ = file.architecture();
    for (key, value) in file.metadata() {
        let _ = file.get_u32(key);
        let _ = file.get_f32(key);
        let _ = file.get_str_array(key);
        let _ = value.describe_type();
    }
    for info in file.tensors() {
        assert_eq!(file.tensor_bytes(info).len() as u64, info.n_bytes);
        if let Ok(values) = file.dequantize(&info.name) {
            assert_eq!(values.len() as u64, info.n_elements());
        }
    }
    true
}

struct Campaign {
    cases: u64,
    accepted: u64,
    largest_ratio: f64,
}

fn run_campaign(seed: u64, budget: Duration, max_cases: u64) -> Campaign {
    let seeds = seeds();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = Instant::now();
    let mut campaign = Campaign {
        cases: 0,
        accepted: 0,
        largest_ratio: 0.0,
    };
    while campaign.cases < max_cases && start.elapsed() < budget {
        let mut input = seeds[rng.random_range(0..seeds.len())].clone();
        let donor = &seeds[rng.random_range(0..seeds.len())];
        mutate(&mut rng, &mut input, donor);
        let mut accepted = false;
        let largest = largest_allocation_of(|| accepted = exercise(&input));
        // `parse` copies the input once; everything else must stay within the bound.
        let bound = BYTES_PER_INPUT_BYTE * input.len() + 4096;
        assert!(
            largest <= bound,
            "case {} ({} bytes): allocation of {largest} bytes exceeds {bound}",
            campaign.cases,
            input.len()
        );
        campaign.largest_ratio = campaign
            .largest_ratio
            .max(largest as f64 / (input.len().max(1) as f64));
        campaign.accepted += u64::from(accepted);
        campaign.cases += 1;
    }
    campaign
}

#[test]
fn short_mutation_campaign() {
    let campaign = run_campaign(0x6767_7566, Duration::from_secs(60), 20_000);
    assert_eq!(campaign.cases, 20_000, "the campaign ran to completion");
    // Some mutants must still parse, or the mutations would only test the first few checks.
    assert!(
        campaign.accepted > 500,
        "only {} of the mutants parsed",
        campaign.accepted
    );
}

/// Hostile headers claiming enormous counts allocate nothing of that size.
#[test]
fn huge_claims_allocate_little() {
    use common::*;
    let cases = [
        assemble(3, u64::MAX >> 8, 0, &[], &[], 1, &[0; 200]),
        assemble(3, 0, u64::MAX >> 8, &[], &[], 1, &[0; 200]),
        assemble(
            3,
            0,
            1,
            &[kv("a", 9, &array(9, 1 << 40, &[0; 200]))],
            &[],
            1,
            &[],
        ),
        assemble(
            3,
            0,
            1,
            &[kv("s", 8, &(1u64 << 40).to_le_bytes())],
            &[],
            1,
            &[0; 200],
        ),
        with_tensors(&[tensor_info("t", &[1 << 30, 1 << 30], 0, 0)], 64),
    ];
    for bytes in cases {
        let largest = largest_allocation_of(|| assert!(!exercise(&bytes)));
        assert!(
            largest <= 8 * bytes.len() + 1024,
            "{largest} bytes allocated for a {}-byte file",
            bytes.len()
        );
    }
}

/// The long randomized campaign (run with `--ignored`; duration from `ZKINFER_FUZZ_SECS`).
#[test]
#[ignore = "long-running fuzz campaign"]
fn long_mutation_campaign() {
    let secs = std::env::var("ZKINFER_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let seed = std::env::var("ZKINFER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let start = Instant::now();
    let campaign = run_campaign(seed, Duration::from_secs(secs), u64::MAX);
    println!(
        "mutation fuzz: seed {seed}, {} cases in {:.0} s, {} accepted, no panic, largest allocation {:.1}× input",
        campaign.cases,
        start.elapsed().as_secs_f64(),
        campaign.accepted,
        campaign.largest_ratio
    );
}
