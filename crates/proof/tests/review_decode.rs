//! Adversarial review (review6): decoding robustness of the files a verifier reads — the
//! verifying key, the proof and the setup proof of the tiny GPT-2 and the tiny Llama.
//!
//! A fixed-seed mutation campaign (bit flips, random bytes, "interesting" u32/u64 values written
//! over any 4 or 8 bytes — length fields included —, truncation, insertion, deletion) must give a
//! decode error or a verification error, never a panic, never an acceptance of a changed proof,
//! and no single allocation during decoding above a small multiple of the input's size (a
//! counting global allocator, as in `crates/gguf/tests/mutation_fuzz.rs`). A few seconds in
//! release.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::setup_proof::{SetupProof, verify_setup};
use zkinfer_proof::{ProofFile, VerifyingKey, prove, setup, setup_with_proof, verify, vocabulary};
use zkinfer_tokenizer::Tokenizer;

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

/// The largest allocation `f` makes on this thread, and its result.
pub(crate) fn largest_allocation_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    let r = f();
    (r, LARGEST.with(Cell::get))
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

struct Files {
    vk: VerifyingKey,
    key: Vec<u8>,
    proof: Vec<u8>,
    setup: Vec<u8>,
}

fn files(name: &str, prompt: &str) -> Files {
    let gguf = GgufFile::open(testdata(name)).unwrap();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocabulary(&tok, &model), [5; 32]).unwrap();
    let (vk, setup) = setup_with_proof(&model, vocabulary(&tok, &model), [5; 32]).unwrap();
    assert_eq!(vk, pk.vk);
    let (proof, _) = prove(&model, &pk, &tok.encode(prompt), 2, |_| {}).unwrap();
    Files { key: pk.vk.to_bytes(), vk: pk.vk, proof: proof.to_bytes(), setup: setup.to_bytes() }
}

fn gpt2() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| files("gpt2-tiny-random.gguf", "The quick brown fox"))
}

fn llama() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| files("llama/llama-tiny-random.gguf", "Hello there"))
}

use crate::common::{DECODE_MUTATIONS, Rng, mutate};

/// No single allocation may exceed this many bytes per input byte (plus a fixed slack for the
/// decoder's own tables) while decoding a file.
const BYTES_PER_INPUT_BYTE: usize = 64;
const SLACK: usize = 1 << 20;

fn campaign(f: &Files, seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    let digest = f.vk.digest();
    let mut decoded = [0usize; 3];
    for case in 0..cases {
        let which = case % 3;
        let original = match which {
            0 => &f.proof,
            1 => &f.key,
            _ => &f.setup,
        };
        let mut bytes = original.clone();
        mutate(&mut rng, &mut bytes, &[], &DECODE_MUTATIONS);
        if bytes == *original {
            continue;
        }
        let limit = BYTES_PER_INPUT_BYTE * original.len() + SLACK;
        let outcome = catch_unwind(AssertUnwindSafe(|| match which {
            0 => {
                let (p, largest) = largest_allocation_of(|| ProofFile::from_bytes(&bytes));
                assert!(largest <= limit, "proof case {case}: decoding allocated {largest} bytes at once");
                let Ok(mut p) = p else { return };
                decoded[0] += 1;
                // Keep the statement bound to the right key so that verification runs deep.
                p.model_commitment = digest;
                assert!(verify(&f.vk, &p).is_err() || p.to_bytes() == f.proof, "proof case {case}: a changed proof verified");
            }
            1 => {
                let (vk, largest) = largest_allocation_of(|| VerifyingKey::from_bytes(&bytes));
                assert!(largest <= limit, "key case {case}: decoding allocated {largest} bytes at once");
                let Ok(vk) = vk else { return };
                decoded[1] += 1;
                // A key that still decodes: the honest proof retargeted at it is an error or the
                // key's change is one verification does not read (the vocabulary's bytes).
                let mut p = ProofFile::from_bytes(&f.proof).unwrap();
                p.model_commitment = vk.digest();
                let _ = verify(&vk, &p);
            }
            _ => {
                let (s, largest) = largest_allocation_of(|| SetupProof::from_bytes(&bytes));
                assert!(largest <= limit, "setup case {case}: decoding allocated {largest} bytes at once");
                let Ok(s) = s else { return };
                decoded[2] += 1;
                assert!(verify_setup(&f.vk, &s).is_err(), "setup case {case}: a changed setup proof verified");
            }
        }));
        if let Err(e) = outcome {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            panic!("case {case} ({}): {msg}", ["proof", "key", "setup proof"][which]);
        }
    }
    // The campaign reaches past the decoders (mutations in the transcript decode fine).
    assert!(decoded[0] > 0 && decoded[2] > 0, "{decoded:?}");
}

#[test]
fn mutated_gpt2_files_are_errors_not_panics_or_huge_allocations() {
    campaign(gpt2(), 0x5EED_0006, 90);
}

#[test]
fn mutated_llama_files_are_errors_not_panics_or_huge_allocations() {
    campaign(llama(), 0x5EED_0007, 90);
}

/// Every 4- and 8-byte window (every 8th for a key) of the first and last 200 bytes of the key,
/// the proof and the setup proof set to `0xFF…` (a length or count field blown up): a decode error or, for a proof that
/// still decodes (a window inside its transcript), a verification error on a sample of them; no
/// huge allocation while decoding.
#[test]
fn blown_up_length_fields_are_errors() {
    for f in [gpt2(), llama()] {
        for (what, original) in [("key", &f.key), ("proof", &f.proof), ("setup proof", &f.setup)] {
            let limit = BYTES_PER_INPUT_BYTE * original.len() + SLACK;
            let n = original.len();
            let mut verified = 0;
            for width in [4usize, 8] {
                // A key decode instantiates its graphs (≈ 0.1 s for the tiny models): every
                // 8th window of a key.
                let step = if what == "key" { 8 } else { 1 };
                for at in (0..200.min(n - width)).chain(n.saturating_sub(200)..n - width).step_by(step) {
                    let mut b = original.clone();
                    b[at..at + width].fill(0xFF);
                    if b == *original {
                        continue;
                    }
                    let (decoded, largest) = largest_allocation_of(|| match what {
                        "key" => VerifyingKey::from_bytes(&b).map(|_| None).map_err(|_| ()),
                        "proof" => ProofFile::from_bytes(&b).map(|p| Some(Ok(p))).map_err(|_| ()),
                        _ => SetupProof::from_bytes(&b).map(|s| Some(Err(s))).map_err(|_| ()),
                    });
                    assert!(largest <= limit, "{what}: {width} bytes of 0xFF at {at} allocated {largest} bytes at once");
                    // Verification of what still decodes, on every 16th window (verification
                    // dominates the time).
                    if at % 16 != 0 {
                        continue;
                    }
                    let accepted = match decoded {
                        Ok(Some(Ok(p))) => verify(&f.vk, &p).is_ok(),
                        Ok(Some(Err(s))) => verify_setup(&f.vk, &s).is_ok(),
                        _ => continue,
                    };
                    verified += 1;
                    assert!(!accepted, "{what}: {width} bytes of 0xFF at {at} accepted");
                }
            }
            if what == "proof" {
                assert!(verified > 0, "no blown-up proof window decoded");
            }
        }
    }
}
