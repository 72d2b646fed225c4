//! Chunked proofs with real commitments through the stream format (issue 12): the tiny GPT-2 and
//! the tiny Llama proven in chunks verify with the completion of KV-cache generation, and every
//! rearrangement or corruption of the stream is rejected with an error naming the record — never
//! a panic.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_proof::chunked::{StreamSummary, prove_chunked, verify_stream};
use zkinfer_proof::{ProofSystemError, ProvingKey, Verified, WeightCommitment, setup, vocab_bytes};
use zkinfer_tokenizer::Tokenizer;

use crate::common;
use common::load;

/// A stream's parts: header bytes, each record's bytes (chunks, then the close).
struct Stream {
    header: Vec<u8>,
    records: Vec<Vec<u8>>,
}

impl Stream {
    fn bytes(&self, order: &[usize]) -> Vec<u8> {
        let mut out = self.header.clone();
        for &i in order {
            out.extend_from_slice(&self.records[i]);
        }
        out
    }
    fn all(&self) -> Vec<usize> {
        (0..self.records.len()).collect()
    }
}

/// Splits a stream into its records (kind u8, [index u32], length u64, bytes).
fn split(bytes: &[u8], header_len: usize) -> Stream {
    let mut records = Vec::new();
    let mut at = header_len;
    while at < bytes.len() {
        let start = at;
        let kind = bytes[at];
        at += 1 + if kind == 1 { 4 } else { 0 };
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        at += 8 + len;
        records.push(bytes[start..at].to_vec());
    }
    Stream { header: bytes[..header_len].to_vec(), records }
}

/// The tiny GPT-2 and its key, set up once for the whole file.
fn gpt2() -> &'static (Model, ProvingKey) {
    static F: std::sync::OnceLock<(Model, ProvingKey)> = std::sync::OnceLock::new();
    F.get_or_init(|| load("gpt2-tiny-random.gguf"))
}

/// The 3-chunk stream of the tiny GPT-2 (prompt `[5, 17, 3]`, 9 new tokens, chunks of 4) at the
/// production parameters, proven once for the tests that verify and attack it.
fn three_chunks() -> &'static (Stream, Vec<u32>) {
    static S: std::sync::OnceLock<(Stream, Vec<u32>)> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let (model, pk) = gpt2();
        prove(model, pk, &[5, 17, 3], 9, 4)
    })
}

// The tamper tests' streams are at the test codewords (`common::TestCodewords`): their rejections
// do not depend on the rates.
use common::TestCodewords;

fn prove(model: &Model, pk: &ProvingKey, prompt: &[u32], n: usize, chunk: usize) -> (Stream, Vec<u32>) {
    let mut out = Vec::new();
    let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
    let (header, completion, timings) = prove_chunked(model, &pk.vk, weights, prompt, n, chunk, &mut out, |_| {}).unwrap();
    assert_eq!(timings.bytes, out.len() as u64);
    (split(&out, header.to_bytes().len()), completion)
}

fn verify(pk: &ProvingKey, bytes: &[u8]) -> Result<(Verified, StreamSummary), ProofSystemError> {
    verify_stream(&pk.vk, &mut &bytes[..])
}

fn rejected(pk: &ProvingKey, what: &str, bytes: &[u8]) -> String {
    let e = verify(pk, bytes).err().unwrap_or_else(|| panic!("{what} accepted")).to_string();
    eprintln!("{what}: {e}");
    e
}

/// Honest chunked proofs of the tiny GPT-2 verify for several chunk sizes (a prompt that fills
/// whole chunks, one that does not, one chunk only, a chunk whose witness columns commit as
/// blocks of their extents), with the completion of generation. The 3-chunk stream is the one at
/// the production parameters; the three other shapes are proven and verified at the test-only
/// small codewords (both sides on this thread): what they check — chunk boundaries, a short last
/// chunk, a prompt spanning chunks, block-committed columns — is decided by the shapes, and the
/// rates only size the codewords (a stream at the test rates is refused by the production
/// verifier: `review_chunked::a_stream_at_another_target_or_rate_is_refused`).
#[test]
fn gpt2_chunked_proofs_verify() {
    let (model, pk) = gpt2();
    // (3 prompt + 7 new: the last chunk's attention spans 9 positions, a [H, 1, 9] score tensor
    // committed as blocks 8 + 1 of its extent, pcs::sparse.)
    for (prompt, n, chunk, chunks) in [(&[5u32, 17, 3][..], 9usize, 4usize, 3usize), (&[5, 17, 3][..], 7, 4, 3), (&[5, 17, 3, 99, 42, 7, 11, 64, 8][..], 3, 4, 3), (&[1, 2][..], 2, 8, 1)] {
        let expected = model.generate_int(prompt, n, |_| {}).unwrap();
        let production = (prompt, n, chunk) == (&[5u32, 17, 3][..], 9, 4);
        let _small = (!production).then(TestCodewords::on);
        let fresh;
        let (stream, completion) = if production {
            three_chunks()
        } else {
            fresh = prove(model, pk, prompt, n, chunk);
            &fresh
        };
        assert_eq!(*completion, expected);
        let (v, summary) = verify(pk, &stream.bytes(&stream.all())).unwrap();
        assert_eq!(v.completion_ids, expected);
        assert_eq!(v.prompt_ids, prompt);
        assert_eq!(summary.chunks, chunks, "prompt {prompt:?}, n = {n}, C = {chunk}");
        assert_eq!(summary.positions, prompt.len() + n - 1);
    }
}

/// The tiny Llama (GQA, RoPE, post-RoPE cache) in chunks of 4.
#[test]
fn llama_chunked_proof_verifies() {
    let (model, pk) = load("llama/llama-tiny-random-q8_0.gguf");
    let prompt = [1u32, 504, 303];
    let (stream, completion) = prove(&model, &pk, &prompt, 6, 4);
    let (v, summary) = verify(&pk, &stream.bytes(&stream.all())).unwrap();
    assert_eq!(v.completion_ids, completion);
    assert_eq!(summary.chunks, 2);
}

/// Every way of rearranging or corrupting a 3-chunk stream is rejected, naming the record.
#[test]
fn gpt2_chunked_stream_attacks_are_rejected() {
    let (model, pk) = gpt2();
    let (s, _) = three_chunks();
    assert_eq!(s.records.len(), 4, "three chunks and the close");
    verify(pk, &s.bytes(&s.all())).unwrap();

    // A flipped byte in each record's transcript (and in a record's header fields).
    for r in 0..4 {
        let rec_header = if r < 3 { 13 } else { 9 };
        for at in [rec_header + 2, rec_header + 100, s.records[r].len() / 2, s.records[r].len() - 1] {
            let mut bad = Stream { header: s.header.clone(), records: s.records.clone() };
            bad.records[r][at] ^= 1;
            let e = rejected(pk, &format!("flipped byte {at} of record {r}"), &bad.bytes(&bad.all()));
            let named = if r < 3 { format!("chunk {r}") } else { "close".into() };
            assert!(e.contains(&named) || e.contains("record after"), "record {r}: {e}");
        }
    }
    let mut bad = s.bytes(&s.all());
    bad[20] ^= 1;
    rejected(pk, "flipped byte in the header", &bad);

    // Swapped (record indices as written, and rewritten to look in order), dropped, duplicated.
    rejected(pk, "chunks 0 and 1 swapped", &s.bytes(&[1, 0, 2, 3]));
    let mut renumbered = Stream { header: s.header.clone(), records: s.records.clone() };
    renumbered.records.swap(0, 1);
    renumbered.records[0][1..5].copy_from_slice(&0u32.to_le_bytes());
    renumbered.records[1][1..5].copy_from_slice(&1u32.to_le_bytes());
    let e = rejected(pk, "chunks 0 and 1 swapped, indices rewritten", &renumbered.bytes(&renumbered.all()));
    assert!(e.contains("chunk 0"), "{e}");
    rejected(pk, "chunk 1 dropped", &s.bytes(&[0, 2, 3]));
    let mut renumbered = Stream { header: s.header.clone(), records: vec![s.records[0].clone(), s.records[2].clone(), s.records[3].clone()] };
    renumbered.records[1][1..5].copy_from_slice(&1u32.to_le_bytes());
    rejected(pk, "chunk 1 dropped, indices rewritten", &renumbered.bytes(&renumbered.all()));
    rejected(pk, "chunk 1 duplicated", &s.bytes(&[0, 1, 1, 2, 3]));
    rejected(pk, "last chunk dropped", &s.bytes(&[0, 1, 3]));
    rejected(pk, "close dropped", &s.bytes(&[0, 1, 2]));
    let e = rejected(pk, "bytes after the close", &[s.bytes(&s.all()), vec![0]].concat());
    assert!(e.contains("close"), "{e}");
    let full = s.bytes(&s.all());
    for cut in [s.header.len() - 1, s.header.len() + 7, full.len() - 1] {
        rejected(pk, &format!("truncated at {cut}"), &full[..cut]);
    }

    // Spliced: chunk 1 of a proof of the same model and positions over another prompt.
    let (other, _) = prove(model, pk, &[5, 200, 3], 9, 4);
    let spliced = Stream { header: s.header.clone(), records: vec![s.records[0].clone(), other.records[1].clone(), s.records[2].clone(), s.records[3].clone()] };
    let e = rejected(pk, "chunk 1 spliced from another proof", &spliced.bytes(&spliced.all()));
    assert!(e.contains("chunk 1"), "{e}");
    // The other proof's header with this proof's records (another statement), and the reverse.
    let mixed = Stream { header: other.header.clone(), records: s.records.clone() };
    rejected(pk, "another proof's header", &mixed.bytes(&mixed.all()));
    // Another proof's close.
    let closed = Stream { header: s.header.clone(), records: vec![s.records[0].clone(), s.records[1].clone(), s.records[2].clone(), other.records[3].clone()] };
    let e = rejected(pk, "another proof's close", &closed.bytes(&closed.all()));
    assert!(e.contains("close"), "{e}");
}

/// A malicious prover carries a perturbed key or value of chunk 0 into chunk 1 (the later chunks
/// are traced, proven and opened from the perturbed cache, consistently): either `KV_0` (the first
/// half, chunks 0–1: `K_max = 3`) commits
/// the honest values (then the cache claims of chunk 1 and 2, split onto `KV_0`, disagree with it
/// and the close's `KV_0` opening fails), or `KV_0` commits (and links) the perturbed ones (then
/// chunk 0's walk receives a false claim on its own keys/values). Both are rejected.
#[test]
fn gpt2_forged_kv_carried_between_chunks_is_rejected() {
    use zkinfer_proof::chunked::{KvTamper, prove_chunked_tampered};
    let _small = TestCodewords::on();
    let (model, pk) = gpt2();
    let prompt = [5u32, 17, 3];
    let slots = zkinfer_proof::chunked::cache_names(&pk.vk.step_graph).len();
    assert_eq!(slots, 4, "two layers' keys and values");
    for (slot, commit_perturbed) in [(0, false), (1, false), (slots - 1, false), (0, true), (slots - 1, true)] {
        let tamper = KvTamper { chunk: 0, slot, row: 1, delta: 1, commit_perturbed };
        let mut out = Vec::new();
        let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
        let (header, _, _) = prove_chunked_tampered(model, &pk.vk, weights, &prompt, 9, 4, &mut out, tamper).unwrap();
        assert_eq!(split(&out, header.to_bytes().len()).records.len(), 4, "the malicious prover completes the stream");
        let e = rejected(pk, &format!("{tamper:?}"), &out);
        let at = if commit_perturbed { "chunk 0" } else { "close: keys/values opening of chunks 0–1" };
        assert!(e.contains(at), "{tamper:?}: rejected elsewhere than {at}: {e}");
    }
}

/// A writer that fails at once (a full disk, a closed pipe).
struct FailingWriter;

impl std::io::Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("no space left"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// When proving fails (here: the proof cannot be written), the generation thread stops at its
/// next token instead of generating the whole request for nobody.
#[test]
fn a_failed_proof_cancels_generation() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use zkinfer_proof::chunked::ChunkStage;
    let (model, pk) = gpt2();
    let n = 120;
    let generated = AtomicUsize::new(0);
    let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
    let e = prove_chunked(model, &pk.vk, weights, &[5, 17, 3], n, 4, &mut FailingWriter, |stage| {
        if let ChunkStage::Token { generated: g, .. } = stage {
            generated.store(g, Ordering::Relaxed);
        }
    })
    .unwrap_err();
    assert!(e.to_string().contains("no space left"), "{e}");
    let g = generated.load(Ordering::Relaxed);
    assert!(g < n / 2, "generation ran on after the prover failed: {g} of {n} tokens");
}

/// The default chunk size never shrinks below what the budget allows the chunks because the
/// weight opening (which no chunk size changes) is over the budget: a budget below the weight
/// opening's estimate picks the same `C` as a budget equal to it, not `C = 1`; and a larger
/// budget never picks a smaller `C`.
#[test]
fn the_chunk_size_is_not_driven_down_by_the_weight_opening() {
    use zkinfer_proof::memory::{OPENING_BYTES_PER_WEIGHT, chunk_for_budget, estimated_peak_bytes, weight_entries};
    let (_, pk) = gpt2();
    let vk = &pk.vk;
    let opening = weight_entries(vk) * OPENING_BYTES_PER_WEIGHT;
    let positions = 24;
    let at_opening = chunk_for_budget(vk, positions, opening);
    assert_eq!(chunk_for_budget(vk, positions, 1), at_opening);
    assert_eq!(chunk_for_budget(vk, positions, opening / 2), at_opening);
    // What the budget equal to the weight opening allows is a real constraint on the chunks: the
    // chosen C fits it, and the next power of two (if any) does not.
    assert!(estimated_peak_bytes(vk, at_opening, positions) <= opening);
    if at_opening < positions.next_power_of_two() {
        assert!(estimated_peak_bytes(vk, at_opening * 2, positions) > opening);
    }
    let mut last = 0;
    for budget in [opening, opening * 2, opening * 4, opening * 16, u64::MAX] {
        let c = chunk_for_budget(vk, positions, budget);
        assert!(c >= last, "budget {budget}: C = {c} after {last}");
        last = c;
    }
    assert_eq!(chunk_for_budget(vk, positions, u64::MAX), positions.next_power_of_two());
}

/// One GGUF metadata value's type id and bytes.
fn meta_bytes(v: &zkinfer_gguf::MetaValue, out: &mut Vec<u8>) -> u32 {
    use zkinfer_gguf::MetaValue as M;
    let (ty, bytes): (u32, Vec<u8>) = match v {
        M::U8(x) => (0, vec![*x]),
        M::I8(x) => (1, x.to_le_bytes().to_vec()),
        M::U16(x) => (2, x.to_le_bytes().to_vec()),
        M::I16(x) => (3, x.to_le_bytes().to_vec()),
        M::U32(x) => (4, x.to_le_bytes().to_vec()),
        M::I32(x) => (5, x.to_le_bytes().to_vec()),
        M::F32(x) => (6, x.to_le_bytes().to_vec()),
        M::Bool(x) => (7, vec![u8::from(*x)]),
        M::Str(s) => (8, [&(s.len() as u64).to_le_bytes()[..], s.as_bytes()].concat()),
        M::Array(items) => {
            let mut body = Vec::new();
            let mut elem = 4;
            for item in items {
                elem = meta_bytes(item, &mut body);
            }
            (9, [&elem.to_le_bytes()[..], &(items.len() as u64).to_le_bytes()[..], &body[..]].concat())
        }
        M::U64(x) => (10, x.to_le_bytes().to_vec()),
        M::I64(x) => (11, x.to_le_bytes().to_vec()),
        M::F64(x) => (12, x.to_le_bytes().to_vec()),
    };
    out.extend_from_slice(&bytes);
    ty
}

/// The tiny GPT-2 narrowed to width `3·16 = 48` with THREE heads (a head count that is not a
/// power of two, so the graphs pad the heads to 4): every dimension of 64 keeps its first 48
/// entries, the fused QKV dimension (192) keeps the first 48 of each of Q, K and V, the others
/// (FFN 256, context, vocabulary) stay. All tensors F32; the tokenizer and the rest of the
/// metadata are the original's.
fn three_head_gpt2() -> GgufFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
    let src = GgufFile::open(path).unwrap();
    let (width, heads) = (48usize, 3u32);
    let keep = |n: u64| -> Vec<usize> {
        match n {
            64 => (0..width).collect(),
            192 => (0..3).flat_map(|s| s * 64..s * 64 + width).collect(),
            n => (0..n as usize).collect(),
        }
    };
    let string = |s: &str| [&(s.len() as u64).to_le_bytes()[..], s.as_bytes()].concat();
    let mut kv = Vec::new();
    for (key, value) in src.metadata() {
        let value = match key.as_str() {
            "gpt2.embedding_length" => zkinfer_gguf::MetaValue::U32(width as u32),
            "gpt2.attention.head_count" => zkinfer_gguf::MetaValue::U32(heads),
            "general.file_type" => zkinfer_gguf::MetaValue::U32(0),
            _ => value.clone(),
        };
        kv.extend_from_slice(&string(key));
        let mut body = Vec::new();
        let ty = meta_bytes(&value, &mut body);
        kv.extend_from_slice(&ty.to_le_bytes());
        kv.extend_from_slice(&body);
    }
    let (mut infos, mut data) = (Vec::new(), Vec::new());
    for t in src.tensors() {
        let values = src.dequantize(&t.name).unwrap();
        let [inner, outer] = match t.dims[..] {
            [a] => [a, 1],
            [a, b] => [a, b],
            _ => panic!("tensor {} of rank {}", t.name, t.dims.len()),
        };
        let (cols, rows) = (keep(inner), keep(outer));
        let mut dims = vec![cols.len() as u64];
        if t.dims.len() == 2 {
            dims.push(rows.len() as u64);
        }
        infos.extend_from_slice(&string(&t.name));
        infos.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in &dims {
            infos.extend_from_slice(&d.to_le_bytes());
        }
        infos.extend_from_slice(&0u32.to_le_bytes()); // F32
        infos.extend_from_slice(&(data.len() as u64).to_le_bytes());
        for &r in &rows {
            for &c in &cols {
                data.extend_from_slice(&values[r * inner as usize + c].to_le_bytes());
            }
        }
        while !data.len().is_multiple_of(32) {
            data.push(0);
        }
    }
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(src.tensors().len() as u64).to_le_bytes());
    out.extend_from_slice(&(src.metadata().len() as u64).to_le_bytes());
    out.extend_from_slice(&kv);
    out.extend_from_slice(&infos);
    while !out.len().is_multiple_of(32) {
        out.push(0);
    }
    out.extend_from_slice(&data);
    GgufFile::from_bytes(out).unwrap()
}

/// Chunked proofs of a model whose head count (3) is not a power of two: the attention tensors,
/// the cached keys/values and their epoch commitments are padded to 4 heads. An honest 3-chunk
/// proof verifies with the completion of KV-cache generation; a perturbed key or value carried
/// out of chunk 0 (committed honestly, or committed and linked as perturbed) is rejected, as for
/// the power-of-two fixtures.
#[test]
fn chunked_proof_with_padded_heads() {
    use zkinfer_proof::chunked::{KvTamper, prove_chunked_tampered};
    let _small = TestCodewords::on();
    let gguf = three_head_gpt2();
    let model = Model::load(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
    // The cached keys/values are [3, T, 16]: three heads, padded to four in every layout.
    let names = zkinfer_proof::chunked::cache_names(&pk.vk.step_graph);
    let graph = pk.vk.graph(4, 4).unwrap();
    for name in &names {
        let shape = &graph.meta(graph.find(name).unwrap()).shape;
        assert_eq!((shape[0], shape[2]), (3, 16), "{name}: {shape:?}");
    }
    let prompt = [5u32, 17, 3];
    let expected = model.generate_int(&prompt, 9, |_| {}).unwrap();
    let (s, completion) = prove(&model, &pk, &prompt, 9, 4);
    assert_eq!(completion, expected);
    let (v, summary) = verify(&pk, &s.bytes(&s.all())).unwrap();
    assert_eq!(v.completion_ids, expected);
    assert_eq!(summary.chunks, 3);
    let slots = names.len();
    for (slot, commit_perturbed) in [(0, false), (slots - 1, true)] {
        let tamper = KvTamper { chunk: 0, slot, row: 2, delta: 1, commit_perturbed };
        let mut out = Vec::new();
        let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
        prove_chunked_tampered(&model, &pk.vk, weights, &prompt, 9, 4, &mut out, tamper).unwrap();
        let e = rejected(&pk, &format!("{tamper:?}"), &out);
        let at = if commit_perturbed { "chunk 0" } else { "close: keys/values opening of chunks 0–1" };
        assert!(e.contains(at), "{tamper:?}: rejected elsewhere than {at}: {e}");
    }
}

/// Each keys/values epoch the stream commits is taken from the generator's own cache (session 12,
/// incr12: the prover no longer runs the model again over the epoch's chunks): the stream is byte
/// for byte the one the recomputing prover writes (`set_test_rows_recomputed`), for both epochs of
/// the three-chunk stream; and a generator row that disagrees with a chunk's trace, in either
/// epoch, stops the prover with an error naming the chunk (the prover's own check, as for the
/// recomputed rows).
#[test]
fn keys_values_from_generation_give_the_same_stream() {
    use zkinfer_proof::chunked::{set_test_generated_row_shift, set_test_rows_recomputed};
    let (model, pk) = gpt2();
    let (s, _) = three_chunks();
    set_test_rows_recomputed(true);
    let (again, _) = prove(model, pk, &[5, 17, 3], 9, 4);
    set_test_rows_recomputed(false);
    assert_eq!(again.records.len(), 4);
    assert!(again.bytes(&again.all()) == s.bytes(&s.all()), "the recomputed epochs give another stream");
    // Position 1 is in epoch 0 (chunks 0–1, committed in chunk 0), position 9 in epoch 1 (chunk 2).
    for (pos, chunk) in [(1usize, 0usize), (9, 2)] {
        set_test_generated_row_shift(Some((pos, 1)));
        let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
        let result = prove_chunked(model, &pk.vk, weights, &[5, 17, 3], 9, 4, &mut Vec::new(), |_| {});
        set_test_generated_row_shift(None);
        let e = result.err().unwrap_or_else(|| panic!("a false generated row at {pos} proven")).to_string();
        assert!(e.contains(&format!("chunk {chunk}: the keys/values computed ahead differ")), "{e}");
    }
}
