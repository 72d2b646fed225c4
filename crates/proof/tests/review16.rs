//! review16 (session 13): adversarial review of the verifier, soundness first — Fiat–Shamir
//! binding and hostile bytes.
//!
//! **Fiat–Shamir binding, every byte.** Every transcript read (`VerifierTranscript::receive_*`)
//! absorbs what it reads; what a verifier takes from outside the transcript is the file header
//! (bound by the domain separator: architecture, model commitment, max new tokens, prompt and
//! completion ids; the stream's header with its version field and chunk size), the stream's
//! record framing (kind, index, length: checked, each segment read to its last byte), the key
//! (bound through its digest, the model commitment) and p3-whir's proof (run on a fork of the
//! transcript taken after the claims and the commitment are absorbed; p3 itself absorbs the
//! claimed evaluations and its out-of-domain answers before its first challenge, and our main
//! transcript absorbs the proof bytes after). The tests check this the attacker's way:
//! - `every_byte_of_a_one_pass_proof_is_bound`: one bit flipped at every byte of the header and
//!   at a stride of the transcript (every message kind is hit: roots, GKR, sumcheck rounds, the
//!   weight block values, both openings' batching sumchecks and WHIR bytes): each is refused.
//! - `every_byte_of_a_stream_is_bound`: the same over a three-chunk stream (header, each chunk
//!   record's framing and segment, the close).
//! - `every_key_byte_is_bound`: a key that still decodes after a change is a different key whose
//!   digest the honest proof, retargeted at it, cannot satisfy (the key's every field reaches
//!   the transcript through the model commitment) — unless it decodes to the identical key.
//!
//! **Hostile bytes, systematically** (`mutation_campaign_*`): a fixed-seed mutation harness (bit
//! flips, random bytes, "interesting" u32/u64 values written over 4 or 8 bytes — length and count
//! fields included —, truncation, insertion, deletion) over a valid one-pass proof, a valid
//! three-chunk stream, a verifying key, a zk verifying key, a zk proving key (`pk.bin`) and a zk
//! proof header: every result is an error (or an acceptance of bytes that decode to the identical
//! statement), never a panic (`catch_unwind`), and no single allocation while decoding above a
//! small multiple of the input (the binary's counting allocator, `review_decode`); a stream's
//! verification allocates no more than the record cap allows.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use zkinfer_field::PrimeCharacteristicRing as _;
use zkinfer_proof::chunked::{prove_chunked, verify_stream};
use zkinfer_proof::zk::{KeyBudget, ZkProvingKey, setup_zk};
use zkinfer_proof::zk_key::ZkVerifyingKey;
use zkinfer_proof::zk_proof::{ZkProofFile, verify_zk};
use zkinfer_proof::{ProofFile, ProvingKey, Verified, VerifyingKey, WeightCommitment, prove, verify};

use crate::common;
use crate::review_decode::largest_allocation_of;

/// The prompt of every proof of this file.
const PROMPT: [u32; 3] = [17, 4, 42];

struct Fixture {
    pk: ProvingKey,
    /// An honest one-pass proof (2 new tokens) and its statement.
    proof: Vec<u8>,
    verified: Verified,
    /// An honest three-chunk stream (`C = 2`, 4 new tokens: 6 positions) at the test codewords.
    stream: Vec<u8>,
    stream_verified: Verified,
    /// A zk key pair of the same model and a zk proof header for it.
    zk_vk: Vec<u8>,
    zk_pk: Vec<u8>,
    zk_proof: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let t = Instant::now();
        let (model, pk) = common::load("gpt2-tiny-random.gguf");
        let (proof, _) = prove(&model, &pk, &PROMPT, 2, |_| {}).unwrap();
        let verified = verify(&pk.vk, &proof).unwrap();
        let proof = proof.to_bytes();
        let stream = {
            let _small = common::TestCodewords::on();
            let mut out = Vec::new();
            let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
            prove_chunked(&model, &pk.vk, weights, &PROMPT, 4, 2, &mut out, |_| {}).unwrap();
            out
        };
        let stream_verified = verify_stream_small(&pk.vk, &stream).unwrap();
        let (zk, zk_pk) = setup_zk(&model, pk.vk.vocab.clone(), KeyBudget { tickets: 2, points_per_ticket: 4 }).unwrap();
        let zk_proof = ZkProofFile {
            model_commitment: zk.digest().unwrap(),
            ticket: 1,
            max_new_tokens: 2,
            prompt_ids: PROMPT.to_vec(),
            completion_ids: verified.completion_ids.clone(),
            transcript: vec![0x5a; 64],
        };
        eprintln!("review16 fixture: {:.1} s (proof {} B, stream {} B)", t.elapsed().as_secs_f64(), proof.len(), stream.len());
        Fixture { pk, proof, verified, stream, stream_verified, zk_vk: zk.to_bytes().unwrap(), zk_pk: zk_pk.to_bytes(), zk_proof: zk_proof.to_bytes() }
    })
}

fn verify_stream_small(vk: &VerifyingKey, bytes: &[u8]) -> Result<Verified, zkinfer_proof::ProofSystemError> {
    let _small = common::TestCodewords::on();
    verify_stream(vk, &mut &bytes[..]).map(|(v, _)| v)
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string())).unwrap_or_default()
}

/// `bytes` with bit `bit` of byte `at` flipped.
fn flipped(bytes: &[u8], at: usize, bit: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 1 << (bit % 8);
    b
}

/// One-pass proof: `(start of the transcript's bytes, header length)`. The header is magic,
/// version, commitment, max new tokens, prompt ids, completion ids, the transcript's length.
fn one_pass_header_len(p: &ProofFile) -> usize {
    8 + 4 + 32 + 4 + 4 + 4 * p.prompt_ids.len() + 4 + 4 * p.completion_ids.len() + 8
}

// ---------------------------------------------------------------------------------------------
// Fiat–Shamir binding, every byte
// ---------------------------------------------------------------------------------------------

/// One bit flipped at every byte of a one-pass proof's header and at every `STRIDE`-th byte of
/// its transcript (≈ 50 positions over roots, lookups, zero-checks, the walk, the weight block
/// values and both openings): every one is refused. A byte of the header is either checked
/// (magic, version, lengths), or a statement field the domain separator binds; a transcript byte
/// is absorbed by the read that takes it, so every later challenge moves.
#[test]
fn every_byte_of_a_one_pass_proof_is_bound() {
    let f = fixture();
    let p = ProofFile::from_bytes(&f.proof).unwrap();
    let h = one_pass_header_len(&p);
    assert_eq!(f.proof.len(), h + p.transcript.len());
    const STRIDE: usize = 8191; // odd, so the flipped byte walks through the 8-byte limbs
    let positions: Vec<usize> = (0..h).chain((h..f.proof.len()).step_by(STRIDE)).chain([f.proof.len() - 1]).collect();
    let t = Instant::now();
    let mut accepted = Vec::new();
    for (i, &at) in positions.iter().enumerate() {
        let b = flipped(&f.proof, at, i);
        let verdict = catch_unwind(AssertUnwindSafe(|| ProofFile::from_bytes(&b).map_err(|e| e.to_string()).and_then(|p| verify(&f.pk.vk, &p).map_err(|e| e.to_string()))));
        match verdict {
            Ok(Err(_)) => {}
            Ok(Ok(v)) => accepted.push(format!("byte {at}: accepted ({:?})", v.completion_ids)),
            Err(e) => accepted.push(format!("byte {at}: panicked: {}", panic_text(&*e))),
        }
    }
    eprintln!("one-pass sweep: {} positions in {:.1} s", positions.len(), t.elapsed().as_secs_f64());
    assert!(accepted.is_empty(), "{accepted:#?}");
    // The control of the sweep itself: the honest bytes verify.
    assert_eq!(verify(&f.pk.vk, &p).unwrap(), f.verified);
}

/// A stream's records: `(start, segment start, end)` byte ranges after the header.
fn stream_records(bytes: &[u8], header_len: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut at = header_len;
    while at < bytes.len() {
        let start = at;
        at += 1 + if bytes[at] == 1 { 4 } else { 0 };
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        at += 8;
        out.push((start, at, at + len));
        at += len;
    }
    out
}

fn stream_header_len() -> usize {
    8 + 4 + 32 + 4 + 4 + 4 + 4 * PROMPT.len()
}

/// The same over the three-chunk stream: every byte of the header and of every record's framing
/// (kind, index, length) and of each segment's first 8 bytes (a chunk's size and first
/// prediction), then every `STRIDE`-th byte of each segment (the
/// out-of-domain answers, the link values, the lookups, the walk, the cache values, the witness
/// opening; in the close, the keys/values openings, the weight block values and the weight
/// opening): every one is refused.
#[test]
fn every_byte_of_a_stream_is_bound() {
    let f = fixture();
    let h = stream_header_len();
    let recs = stream_records(&f.stream, h);
    assert_eq!(recs.len(), 4, "three chunks and the close");
    assert_eq!(recs.last().unwrap().2, f.stream.len());
    const STRIDE: usize = 65537;
    let mut positions: Vec<usize> = (0..h).collect();
    for &(start, seg, end) in &recs {
        positions.extend(start..(seg + 8).min(end));
        positions.extend((seg + 16..end).step_by(STRIDE));
        positions.push(end - 1);
    }
    let t = Instant::now();
    let mut accepted = Vec::new();
    for (i, &at) in positions.iter().enumerate() {
        let b = flipped(&f.stream, at, i);
        match catch_unwind(AssertUnwindSafe(|| verify_stream_small(&f.pk.vk, &b))) {
            Ok(Err(_)) => {}
            Ok(Ok(v)) => accepted.push(format!("byte {at}: accepted ({:?})", v.completion_ids)),
            Err(e) => accepted.push(format!("byte {at}: panicked: {}", panic_text(&*e))),
        }
    }
    eprintln!("stream sweep: {} positions in {:.1} s", positions.len(), t.elapsed().as_secs_f64());
    assert!(accepted.is_empty(), "{accepted:#?}");
    assert_eq!(verify_stream_small(&f.pk.vk, &f.stream).unwrap(), f.stream_verified);
}

/// The key's every field reaches the transcript through the model commitment (its digest): a
/// key edited in a field that verification itself never reads — the GGUF hash, a token's bytes
/// (what `verify` prints), the end-of-generation set beyond this completion, a weight's
/// fixed-point position, the step graph (read by streams only), the architecture name — and in
/// fields it does read (a Rescale shift, an out-of-domain answer), decoded and re-encoded, and
/// the honest proof retargeted at the edited key (its commitment set to the new digest): every
/// one is refused. Failing control (review16's report): without the model commitment in the
/// domain separator (`zkinfer_verifier::domain_separator`), the edits of unread fields verify.
#[test]
fn every_key_field_is_bound_through_the_model_commitment() {
    let f = fixture();
    let honest = ProofFile::from_bytes(&f.proof).unwrap();
    type Edit = Box<dyn Fn(&mut VerifyingKey)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("model sha256", Box::new(|vk| vk.model_sha256[7] ^= 1)),
        ("a token's bytes", Box::new(|vk| vk.vocab[f.verified.completion_ids[0] as usize].push(b'!'))),
        ("an unused token's bytes", Box::new(|vk| vk.vocab[0] = b"forged".to_vec())),
        ("end-of-generation set", Box::new(|vk| vk.eog_ids = vec![(0..vk.vocab.len() as u32).find(|id| !f.verified.completion_ids.contains(id)).unwrap()])),
        ("a weight's fixed-point position", Box::new(|vk| vk.weights[0].frac_bits += 1)),
        ("the step graph's first rescale", Box::new(|vk| {
            let n = vk.step_graph.nodes.iter_mut().find(|n| matches!(n.op, zkinfer_model::Op::Rescale(_))).unwrap();
            if let zkinfer_model::Op::Rescale(r) = &mut n.op {
                r.shift += 1;
            }
        })),
        ("the graph's last rescale", Box::new(|vk| {
            let n = vk.graph.nodes.iter_mut().rev().find(|n| matches!(n.op, zkinfer_model::Op::Rescale(_))).unwrap();
            if let zkinfer_model::Op::Rescale(r) = &mut n.op {
                r.shift += 1;
            }
        })),
        ("an out-of-domain answer", Box::new(|vk| vk.weight_ood[0] += zkinfer_field::EF::ONE)),
        ("architecture", Box::new(|vk| vk.architecture = "gpt2 ".into())),
    ];
    let mut failures = Vec::new();
    for (name, edit) in edits {
        let mut vk = f.pk.vk.clone();
        edit(&mut vk);
        assert_ne!(vk, f.pk.vk, "{name}: no edit");
        let decoded = match VerifyingKey::from_bytes(&vk.to_bytes()) {
            Ok(k) => k,
            Err(e) => {
                // Refused by the decoder: not an attack on the binding; say which.
                eprintln!("{name}: the decoder refuses the edited key ({e})");
                continue;
            }
        };
        let mut p = honest.clone();
        p.model_commitment = decoded.digest();
        match catch_unwind(AssertUnwindSafe(|| verify(&decoded, &p))) {
            Ok(Err(_)) => {}
            Ok(Ok(v)) => failures.push(format!("{name}: the honest proof verified under the edited key (text {:?})", v.text)),
            Err(e) => failures.push(format!("{name}: panicked: {}", panic_text(&*e))),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---------------------------------------------------------------------------------------------
// Hostile bytes: the mutation campaign
// ---------------------------------------------------------------------------------------------

use common::{Rng, STREAM_MUTATIONS, mutate};

/// What a judge found for one mutated input.
enum Verdict {
    /// Refused (a decode or verification error).
    Refused,
    /// Accepted, and the bytes stand for the same statement as the original's.
    Same,
    /// A violation (accepted with another statement, or a too large allocation), described.
    Bad(String),
}

/// Runs `cases` mutations of `original` through `judge`; panics listing the violations (a panic
/// inside the judge is one). Returns the number of refusals and of same-statement acceptances.
fn campaign(what: &str, original: &[u8], seed: u64, cases: usize, hot: &[std::ops::Range<usize>], judge: impl Fn(&[u8]) -> Verdict) -> (usize, usize) {
    let mut rng = Rng(seed);
    let (mut refused, mut same) = (0, 0);
    let mut bad = Vec::new();
    let t = Instant::now();
    let mut slowest = 0f64;
    for case in 0..cases {
        let mut b = original.to_vec();
        mutate(&mut rng, &mut b, hot, &STREAM_MUTATIONS);
        if b == original {
            continue;
        }
        let t1 = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| judge(&b))) {
            Ok(Verdict::Refused) => refused += 1,
            Ok(Verdict::Same) => same += 1,
            Ok(Verdict::Bad(why)) => bad.push(format!("{what} case {case}: {why}")),
            Err(e) => bad.push(format!("{what} case {case}: panicked: {}", panic_text(&*e))),
        }
        slowest = slowest.max(t1.elapsed().as_secs_f64());
    }
    eprintln!("{what}: {cases} mutations in {:.1} s (slowest {slowest:.3} s): {refused} refused, {same} same statement", t.elapsed().as_secs_f64());
    assert!(bad.is_empty(), "{bad:#?}");
    (refused, same)
}

/// No single allocation may exceed this many bytes per input byte (plus a fixed slack) while a
/// file is decoded (as `review_decode`).
fn decode_limit(input: usize) -> usize {
    64 * input + (1 << 20)
}

/// The one-pass proof: 250 mutations, half of them in the header and the first bytes of the
/// transcript (the roots' length prefix, the first messages).
#[test]
fn mutation_campaign_one_pass_proof() {
    let f = fixture();
    let honest = ProofFile::from_bytes(&f.proof).unwrap();
    let h = one_pass_header_len(&honest);
    let (refused, _) = campaign("one-pass proof", &f.proof, 0x5EED_1601, 250, &[0..h, h..h + 256], |b| {
        let (p, largest) = largest_allocation_of(|| ProofFile::from_bytes(b));
        if largest > decode_limit(b.len()) {
            return Verdict::Bad(format!("decoding allocated {largest} bytes at once"));
        }
        let Ok(p) = p else { return Verdict::Refused };
        match verify(&f.pk.vk, &p) {
            Err(_) => Verdict::Refused,
            // The encoding is canonical: other bytes are another proof, even of the same
            // statement (a malleable transcript would show here).
            Ok(v) if v == f.verified && p.to_bytes() == f.proof => Verdict::Same,
            Ok(v) if v == f.verified => Verdict::Bad("a changed proof of the same statement verified".into()),
            Ok(v) => Verdict::Bad(format!("accepted another statement: {:?} → {:?}", v.prompt_ids, v.completion_ids)),
        }
    });
    assert!(refused > 200, "{refused}");
}

/// The three-chunk stream: 60 mutations, half of them in the header, the records' framing and
/// the first bytes of each segment. A stream is decoded as it is verified: no single allocation
/// above the record cap (64 MiB) plus a slack, or above three times the honest verification's.
#[test]
fn mutation_campaign_stream() {
    let f = fixture();
    let h = stream_header_len();
    let hot: Vec<std::ops::Range<usize>> = std::iter::once(0..h).chain(stream_records(&f.stream, h).into_iter().map(|(s, seg, end)| s..(seg + 128).min(end))).collect();
    let (_, honest_largest) = largest_allocation_of(|| verify_stream_small(&f.pk.vk, &f.stream).unwrap());
    let limit = (3 * honest_largest).max((64 << 20) + (1 << 20));
    let (refused, _) = campaign("stream", &f.stream, 0x5EED_1602, 60, &hot, |b| {
        let (r, largest) = largest_allocation_of(|| verify_stream_small(&f.pk.vk, b));
        if largest > limit {
            return Verdict::Bad(format!("verification allocated {largest} bytes at once (honest: {honest_largest})"));
        }
        match r {
            Err(_) => Verdict::Refused,
            // Other bytes of the same statement: a malleable stream (none expected).
            Ok(v) if v == f.stream_verified => Verdict::Bad("a changed stream of the same statement verified".into()),
            Ok(v) => Verdict::Bad(format!("accepted another statement: {:?} → {:?}", v.prompt_ids, v.completion_ids)),
        }
    });
    assert!(refused > 50, "{refused}");
}

/// The verifying key (decoding instantiates the graphs: ≈ 0.1 s a key, so 40 mutations, half of
/// them in the fields before the vocabulary): a key that still decodes is either the same key or
/// one under which the honest proof, retargeted at its digest, is refused.
#[test]
fn mutation_campaign_verifying_key() {
    let f = fixture();
    let key = f.pk.vk.to_bytes();
    let mut vocab_bytes = 4; // the count, then per token a u64 length and its bytes
    for t in &f.pk.vk.vocab {
        vocab_bytes += 8 + t.len();
    }
    let before_vocab = key.len() - vocab_bytes - 4 - 4 * f.pk.vk.eog_ids.len();
    let honest = ProofFile::from_bytes(&f.proof).unwrap();
    campaign("verifying key", &key, 0x5EED_1603, 40, std::slice::from_ref(&(0..before_vocab)), |b| {
        let (vk, largest) = largest_allocation_of(|| VerifyingKey::from_bytes(b));
        if largest > decode_limit(b.len()) {
            return Verdict::Bad(format!("decoding allocated {largest} bytes at once"));
        }
        let Ok(vk) = vk else { return Verdict::Refused };
        if vk == f.pk.vk {
            return Verdict::Same;
        }
        let mut p = honest.clone();
        p.model_commitment = vk.digest();
        match verify(&vk, &p) {
            Err(_) => Verdict::Refused,
            Ok(_) => Verdict::Bad("the honest proof verified under a changed key".into()),
        }
    });
}

/// The zk verifying key (its hiding weight key's bincode, its public part), the zk proving key
/// (`pk.bin`) and a zk proof header: every mutation is a decode error, or decodes to a key or
/// header that the zk verifier refuses (no zk graph proof is accepted yet), never a panic or a
/// large allocation; `pk.bin` decodes only to a key with a valid ticket counter.
#[test]
fn mutation_campaign_zk_files() {
    let f = fixture();
    let zk = ZkVerifyingKey::from_bytes(&f.zk_vk).unwrap();
    // The hiding key's bincode is the first 8 + 4 + 8 + |hk| bytes.
    let hk_len = u64::from_le_bytes(f.zk_vk[12..20].try_into().unwrap()) as usize;
    let hot = [0..20 + 64, 20 + hk_len - 64..20 + hk_len + 8 + 256];
    campaign("zk verifying key", &f.zk_vk, 0x5EED_1604, 40, &hot, |b| {
        let (k, largest) = largest_allocation_of(|| ZkVerifyingKey::from_bytes(b));
        if largest > decode_limit(b.len()) {
            return Verdict::Bad(format!("decoding allocated {largest} bytes at once"));
        }
        let Ok(k) = k else { return Verdict::Refused };
        if k == zk {
            return Verdict::Same;
        }
        let Ok(digest) = k.digest() else { return Verdict::Refused };
        let mut p = ZkProofFile::from_bytes(&f.zk_proof).unwrap();
        p.model_commitment = digest;
        match verify_zk(&k, &p) {
            Err(_) => Verdict::Refused,
            Ok(_) => Verdict::Bad("a zk proof verified".into()),
        }
    });
    let pk = ZkProvingKey::from_bytes(&f.zk_pk).unwrap();
    campaign("zk proving key", &f.zk_pk, 0x5EED_1605, 1000, &[], |b| match ZkProvingKey::from_bytes(b) {
        Err(_) => Verdict::Refused,
        Ok(k) if k == pk => Verdict::Same,
        Ok(k) if k.next_ticket >= 1 && b.len() == f.zk_pk.len() => Verdict::Refused, // another key's bytes: decodes, as it should
        Ok(k) => Verdict::Bad(format!("decoded a key of {} bytes with ticket {}", b.len(), k.next_ticket)),
    });
    campaign("zk proof header", &f.zk_proof, 0x5EED_1606, 1000, &[], |b| {
        let (p, largest) = largest_allocation_of(|| ZkProofFile::from_bytes(b));
        if largest > decode_limit(b.len()) {
            return Verdict::Bad(format!("decoding allocated {largest} bytes at once"));
        }
        let Ok(p) = p else { return Verdict::Refused };
        match verify_zk(&zk, &p) {
            Err(_) => Verdict::Refused,
            Ok(_) => Verdict::Bad("a zk proof verified".into()),
        }
    });
}

/// Every 4-byte window over the stream's length and count fields set to `0xFF…`, every 8-byte
/// one to `2^31`: an error, within the stream's allocation
/// limit and in well under a second each.
#[test]
fn blown_up_stream_fields_are_errors() {
    let f = fixture();
    let h = stream_header_len();
    // The header's max new tokens, chunk size and prompt length (bytes 44..56); per record its
    // index and length, and a chunk's first field (its size) and the witness roots' length prefix
    // after its predictions; windows starting at every byte of these fields (misaligned too).
    let mut windows: Vec<usize> = (41..56).collect();
    let mut pos = 0;
    for (i, (s, seg, end)) in stream_records(&f.stream, h).into_iter().enumerate() {
        // Every field of the first record; the index and length of the later ones (the same
        // checks, each after verifying the records before it).
        windows.extend(if i == 0 { s..(seg + 4).min(end) } else { seg - 8..seg });
        if f.stream[s] == 1 {
            // After C_k (4 bytes) and the chunk's predictions (4 bytes each; one for a chunk
            // wholly inside the prompt): the roots' length prefix.
            let c_k = u32::from_le_bytes(f.stream[seg..seg + 4].try_into().unwrap()) as usize;
            let first_pred = (PROMPT.len() - 1).max(pos);
            let n_out = if first_pred < pos + c_k { pos + c_k - first_pred } else { 1 };
            let roots = seg + 4 + 4 * n_out;
            if i == 0 {
                windows.extend(roots - 3..roots + 4);
            }
            pos += c_k;
        }
    }
    let limit = (65 << 20) + (1 << 20);
    let mut bad = Vec::new();
    let t = Instant::now();
    for &at in &windows {
        for (width, fill) in [(4usize, u64::MAX), (8, 1 << 31)] {
            if at + width > f.stream.len() {
                continue;
            }
            let mut b = f.stream.clone();
            b[at..at + width].copy_from_slice(&fill.to_le_bytes()[..width]);
            if b == f.stream {
                continue;
            }
            let t1 = Instant::now();
            let r = catch_unwind(AssertUnwindSafe(|| largest_allocation_of(|| verify_stream_small(&f.pk.vk, &b))));
            let secs = t1.elapsed().as_secs_f64();
            match r {
                Ok((Err(_), largest)) if largest <= limit && secs < 2.0 => {}
                Ok((Err(_), largest)) => bad.push(format!("{width} bytes of {fill:#x} at {at}: {largest} bytes at once, {secs:.2} s")),
                Ok((Ok(_), _)) => bad.push(format!("{width} bytes of {fill:#x} at {at}: accepted")),
                Err(e) => bad.push(format!("{width} bytes of {fill:#x} at {at}: panicked: {}", panic_text(&*e))),
            }
        }
    }
    eprintln!("blown-up stream fields: {} windows in {:.1} s", windows.len(), t.elapsed().as_secs_f64());
    assert!(bad.is_empty(), "{bad:#?}");
}

// ---------------------------------------------------------------------------------------------
// Llama-family hostile keys: the ops' no-wrap preconditions are refused before the transcript
// ---------------------------------------------------------------------------------------------

/// Verifies a statement with an EMPTY transcript under `vk`: every key-level and parameter check
/// (decoding, instantiation, the statement's tensors, causality, each node's parameter check
/// while the witness plan is laid out) runs before the first transcript read, so the error tells
/// whether the key's parameters passed all of them (then it is the transcript's end).
fn empty_transcript_error(vk: &VerifyingKey) -> String {
    let p = ProofFile { model_commitment: vk.digest(), max_new_tokens: 1, prompt_ids: vec![1, 2, 3], completion_ids: vec![4], transcript: Vec::new() };
    match verify(vk, &p) {
        Ok(_) => "accepted".into(),
        Err(e) => e.to_string(),
    }
}

fn at_transcript_end(err: &str) -> bool {
    err.contains("proof truncated") && err.ends_with("0 remain")
}

/// Gemma 2 (soft-capping, GeGLU's `Mul`), Gemma 3 (grouped QK-norm) and Qwen2 (biases) keys
/// with a parameter pushed past what its op's no-wrap argument (module docs of
/// `zkinfer_ops::ops::{rmsnorm, rope, mul, table_op}` and the table builders) assumes: each is
/// refused by the decoder or by a parameter check BEFORE any transcript byte is read — not
/// merely by a proof that fails to replay (the honest proof retargeted at an edited key fails
/// anyway: its model commitment moved, `every_key_field_is_bound_through_the_model_commitment`).
/// Control in the test: the unedited keys get as far as the transcript's end.
///
/// Not in the list, checked and sound: a RoPE table shorter than the pass (`n_ctx` below `T`)
/// passes these checks but is refused in the walk ("position outside the table", the verifier's
/// coefficient tables index positions only inside the table); RMSNorm with `K = 0` (`N = 1`) is a
/// degenerate model, not a wrap: every relation keeps its no-wrap bound (`inv ≤ 1`).
#[test]
fn llama_family_parameters_past_their_no_wrap_bounds_are_refused_before_the_transcript() {
    use zkinfer_model::Op;
    type Edit = Box<dyn Fn(&mut VerifyingKey) -> bool>;
    fn each(vk: &mut VerifyingKey, f: impl Fn(&mut Op) -> bool) -> bool {
        let mut hit = false;
        for n in vk.graph.nodes.iter_mut().chain(vk.step_graph.nodes.iter_mut()) {
            hit |= f(&mut n.op);
        }
        hit
    }
    let gemma2: Vec<(&str, Edit)> = vec![
        ("softcap cap 0", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.f.cap = 0; true } else { false }))),
        ("softcap cap 2^14 + 1", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.f.cap = (1 << 14) + 1; true } else { false }))),
        ("softcap cap u32::MAX", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.f.cap = u32::MAX; true } else { false }))),
        ("softcap in_bits 0", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.in_bits = 0; true } else { false }))),
        ("softcap in_bits 40", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.in_bits = 40; true } else { false }))),
        ("softcap in_frac 31", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.in_frac = 31; true } else { false }))),
        ("softcap out_frac 40", Box::new(|vk| each(vk, |op| if let Op::SoftCap(s) = op { s.out_frac = 40; true } else { false }))),
        ("every clamp widened to 2^40", Box::new(|vk| each(vk, |op| if let Op::Clamp(c) = op { c.lo = -(1 << 40); c.hi = 1 << 40; true } else { false }))),
        ("rmsnorm eps −1", Box::new(|vk| each(vk, |op| if let Op::RmsNorm(r) = op { r.eps = -1; true } else { false }))),
        ("rmsnorm eps 2^62", Box::new(|vk| each(vk, |op| if let Op::RmsNorm(r) = op { r.eps = 1 << 62; true } else { false }))),
        ("rmsnorm K 40", Box::new(|vk| each(vk, |op| if let Op::RmsNorm(r) = op { r.k = 40; true } else { false }))),
        ("rmsnorm shift 63", Box::new(|vk| each(vk, |op| if let Op::RmsNorm(r) = op { r.shift = 63; true } else { false }))),
        ("rope frac 31", Box::new(|vk| each(vk, |op| if let Op::Rope(r) = op { r.frac = 31; true } else { false }))),
        ("repeat_kv group 3", Box::new(|vk| each(vk, |op| if let Op::RepeatKv(r) = op { r.group = 3; true } else { false }))),
        ("a weight's bound 2^62", Box::new(|vk| { vk.weights.iter_mut().for_each(|w| w.bits = 62); true })),
    ];
    let gemma3: Vec<(&str, Edit)> = vec![
        ("rmsnorm shift 0", Box::new(|vk| each(vk, |op| if let Op::RmsNorm(r) = op { r.shift = 0; true } else { false }))),
        ("rmsnorm eps i64::MIN", Box::new(|vk| each(vk, |op| if let Op::RmsNorm(r) = op { r.eps = i64::MIN; true } else { false }))),
        ("every clamp widened to 2^40", Box::new(|vk| each(vk, |op| if let Op::Clamp(c) = op { c.lo = -(1 << 40); c.hi = 1 << 40; true } else { false }))),
    ];
    let qwen2: Vec<(&str, Edit)> = vec![
        ("a biased matmul without its bias", Box::new(|vk| each(vk, |op| if let Op::MatMul(m) = op { let was = m.has_bias; m.has_bias = false; was } else { false }))),
        ("every matmul biased", Box::new(|vk| each(vk, |op| if let Op::MatMul(m) = op { let was = m.has_bias; m.has_bias = true; !was } else { false }))),
        ("the weights' bound 2^40", Box::new(|vk| { vk.weights.iter_mut().for_each(|w| w.bits = 40); true })),
    ];
    let mut failures = Vec::new();
    for (file, edits) in [("gemma2/gemma2-tiny.gguf", gemma2), ("gemma3/gemma3-tiny.gguf", gemma3), ("qwen2/qwen2-tiny.gguf", qwen2)] {
        let (_, pk) = common::load(file);
        let honest = empty_transcript_error(&pk.vk);
        assert!(at_transcript_end(&honest), "{file}: the unedited key stops before the transcript: {honest}");
        for (name, edit) in edits {
            let mut vk = pk.vk.clone();
            if !edit(&mut vk) {
                failures.push(format!("{file}: {name}: no node to edit"));
                continue;
            }
            let verdict = catch_unwind(AssertUnwindSafe(|| match VerifyingKey::from_bytes(&vk.to_bytes()) {
                Err(e) => format!("decoder: {e}"),
                Ok(k) => empty_transcript_error(&k),
            }));
            match verdict {
                Ok(err) if at_transcript_end(&err) || err == "accepted" => failures.push(format!("{file}: {name}: passed every check before the transcript ({err})")),
                Ok(err) => eprintln!("{file}: {name}: {err}"),
                Err(e) => failures.push(format!("{file}: {name}: panicked: {}", panic_text(&*e))),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
