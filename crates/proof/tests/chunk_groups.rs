//! Chunks whose witness `W_k` is committed in several groups (stream version 5,
//! `zkinfer_verifier::chunked::chunk_witness_pcs`), at the stream level. The tiny models' chunk
//! witnesses are far below the stream's cap of 2^27 entries (and the split threshold of 2^24), so
//! the test lowers both on its thread with the test-only `set_test_chunk_groups` until every
//! chunk splits: the stream verifies with the completion of generation, and a verifier with the
//! production cap, a flipped byte in each group's part of a chunk's witness opening and groups'
//! roots swapped are rejected, naming the chunk.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report


use zkinfer_model::Model;
use zkinfer_proof::chunked::{ChunkedTimings, StreamSummary, prove_chunked, set_test_chunk_groups, set_test_release_all_from, verify_stream};
use zkinfer_proof::{ProofSystemError, ProvingKey, Verified, WeightCommitment};

use crate::common;
use common::load;

/// The stream's header length and its records (kind u8, [index u32], length u64, bytes).
fn split(bytes: &[u8], header_len: usize) -> Vec<(usize, usize)> {
    let mut records = Vec::new();
    let mut at = header_len;
    while at < bytes.len() {
        let start = at;
        at += 1 + if bytes[at] == 1 { 4 } else { 0 };
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        at += 8 + len;
        records.push((start, at));
    }
    records
}

fn prove(model: &Model, pk: &ProvingKey, prompt: &[u32], n: usize, chunk: usize) -> (Vec<u8>, usize, Vec<u32>, ChunkedTimings) {
    let mut out = Vec::new();
    let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
    let (header, completion, timings) = prove_chunked(model, &pk.vk, weights, prompt, n, chunk, &mut out, |_| {}).unwrap();
    (out, header.to_bytes().len(), completion, timings)
}

fn verify(pk: &ProvingKey, bytes: &[u8]) -> Result<(Verified, StreamSummary), ProofSystemError> {
    verify_stream(&pk.vk, &mut &bytes[..])
}

fn rejected(pk: &ProvingKey, what: &str, bytes: &[u8]) -> String {
    let e = verify(pk, bytes).err().unwrap_or_else(|| panic!("{what} accepted")).to_string();
    eprintln!("{what}: {e}");
    e
}

#[test]
fn chunks_of_several_witness_groups_verify_and_every_group_is_bound() {
    // Both streams and every verifier at the test codewords (`common::TestCodewords`): the grouping
    // (`set_test_chunk_groups`: cap and split threshold) is applied on top of whatever rates the
    // parameters give (`zkinfer_verifier::chunked::chunk_witness_pcs`), so the groups, their roots
    // and their openings are the same objects as at the production rates, only shorter.
    let _small = common::TestCodewords::on();
    let (model, pk) = load("gpt2-tiny-random.gguf");
    let (prompt, n, chunk) = ([5u32, 17, 3], 9usize, 4usize);
    let expected = model.generate_int(&prompt, n, |_| {}).unwrap();

    // With the stream's own cap every chunk of the tiny model is one group.
    set_test_chunk_groups(None);
    let (_, _, _, one) = prove(&model, &pk, &prompt, n, chunk);
    assert_eq!(one.chunk_witness_groups, vec![1; 3]);
    // A cap of the largest power of two below the smallest chunk's batch, from which on batches
    // split: every chunk then splits, into two to four groups (the stream's bound).
    let smallest = *one.chunk_witness_entries.iter().min().unwrap();
    let cap = 63 - smallest.leading_zeros() as usize;
    assert!(smallest > 1 << cap, "every chunk's batch ({:?}) exceeds the cap 2^{cap}", one.chunk_witness_entries);
    set_test_chunk_groups(Some((cap, cap)));
    let (bytes, header_len, completion, timings) = prove(&model, &pk, &prompt, n, chunk);
    assert_eq!(completion, expected);
    assert!(timings.chunk_witness_groups.iter().all(|&g| (2..=4).contains(&g)), "groups {:?}", timings.chunk_witness_groups);
    assert_eq!(timings.chunk_witness_entries, one.chunk_witness_entries, "the batch itself does not depend on the grouping");
    let (v, summary) = verify(&pk, &bytes).unwrap();
    assert_eq!(v.completion_ids, expected);
    assert_eq!(summary.chunks, 3);
    let records = split(&bytes, header_len);
    assert_eq!(records.len(), 4);
    for (k, phases) in timings.chunk_bytes.iter().enumerate() {
        // One WHIR opening per group: the opening grows with the groups.
        let opening = phases.iter().find(|(name, _)| name == "witness opening").unwrap().1;
        let opening_one = one.chunk_bytes[k].iter().find(|(name, _)| name == "witness opening").unwrap().1;
        assert!(opening > opening_one, "chunk {k}: {opening} B in {} groups against {opening_one} B in one", timings.chunk_witness_groups[k]);
    }

    // Every group released until its opening (the large chunks' commitment, `releases_every_group`;
    // the later groups then wait for their turn compressed): the same stream, byte for byte.
    assert!(timings.chunk_released_all.iter().all(|&r| !r), "the tiny chunks keep their first group by default");
    set_test_release_all_from(Some(0));
    let (released, _, _, released_timings) = prove(&model, &pk, &prompt, n, chunk);
    set_test_release_all_from(None);
    assert_eq!(released_timings.chunk_released_all, vec![true; 3]);
    assert!(released == bytes, "releasing every group changed the stream");

    // The verifier derives the groups from the shapes and its own cap: the production cap
    // expects one root, not the prover's several.
    set_test_chunk_groups(None);
    let e = rejected(&pk, "several groups read with the stream's cap", &bytes);
    assert!(e.contains("chunk 0"), "{e}");
    set_test_chunk_groups(Some((cap, cap)));

    for (k, phases) in timings.chunk_bytes.iter().enumerate() {
        let (_, end) = records[k];
        let opening = phases.iter().find(|(name, _)| name == "witness opening").unwrap().1;
        let groups = timings.chunk_witness_groups[k];
        // The opening is the record's tail; its groups' WHIR openings follow its batching, in
        // group order: a flipped byte inside each group's share of the tail, and at its end.
        let start = end - opening;
        let mut offsets: Vec<usize> = (0..groups).map(|g| start + opening * (2 * g + 1) / (2 * groups)).collect();
        offsets.push(end - 1);
        for at in offsets {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            let e = rejected(&pk, &format!("chunk {k}: flipped byte {} of {opening} in its witness opening ({groups} groups)", at - start), &bad);
            assert!(e.contains(&format!("chunk {k}")), "{e}");
        }
    }

    // The first chunk's witness roots (after its statement, the record's first message: a
    // u32-length-prefixed run of 32-byte roots, one per group, the cap padded to a power of two
    // with the empty root) with the first two swapped.
    let (start, _) = records[0];
    let statement = timings.chunk_bytes[0].iter().find(|(name, _)| name == "statement").unwrap().1;
    let roots_at = start + 13 + statement;
    let groups = timings.chunk_witness_groups[0];
    let len = u32::from_le_bytes(bytes[roots_at..roots_at + 4].try_into().unwrap()) as usize;
    assert_eq!(len, groups.next_power_of_two() * 32, "the roots message of chunk 0 ({groups} groups)");
    let mut bad = bytes.clone();
    let (a, b) = (roots_at + 4, roots_at + 4 + 32);
    let first: Vec<u8> = bad[a..a + 32].to_vec();
    bad.copy_within(b..b + 32, a);
    bad[b..b + 32].copy_from_slice(&first);
    assert_ne!(bad, bytes);
    let e = rejected(&pk, "chunk 0: its first two witness roots swapped", &bad);
    assert!(e.contains("chunk 0"), "{e}");
    set_test_chunk_groups(None);
}
