//! Review 12 (session 9): adversarial checks of this session's verifier-reaching changes that the
//! feature tests do not make.
//!
//! - Stream v7's keys/values epochs are a function of the header on the verifier's side: a prover
//!   that lays its epochs out otherwise (the doubling layout of versions 2–6, or one epoch of
//!   every chunk) is refused, though its stream is honest in every other respect and verifies
//!   when the verifier is told that layout (the control, which is also what a verifier trusting
//!   the prover's layout would do).
//! - RoPE frequency factors: a key whose RoPE nodes carry *different* factor lists (a plain node
//!   and a factored one with equal `n_rot`, base, frac and context) gets each node's own table from
//!   the decoder's table cache (the cache is keyed by every factor); the honest proof is refused
//!   under such a key. Factor bytes patched in the key file itself (below 1, NaN, ∞, above the cap,
//!   a count that is not `n_rot/2`) are clear decode errors, never panics.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use std::path::PathBuf;
use std::sync::OnceLock;

use zkinfer_gguf::GgufFile;
use zkinfer_model::ops::rope::Rope;
use zkinfer_model::tables::rope_table_with_factors;
use zkinfer_model::{Model, Op};
use zkinfer_proof::chunked::{prove_chunked, verify_stream};
use zkinfer_proof::{
    ProofFile, ProvingKey, VerifyingKey, WeightCommitment, prove, setup, verify, vocab_bytes,
    vocabulary,
};
use zkinfer_tokenizer::Tokenizer;

fn testdata(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(file)
}

// ---------------------------------------------------------------------------------------------
// Stream v7: the epoch layout is the header's, not the prover's.
// ---------------------------------------------------------------------------------------------

fn gpt2() -> &'static (Model, ProvingKey) {
    static F: OnceLock<(Model, ProvingKey)> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = GgufFile::open(testdata("gpt2-tiny-random.gguf")).unwrap();
        let model = Model::load(&gguf).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        let pk = setup(&model, vocab_bytes(&tok), [0; 32]).unwrap();
        (model, pk)
    })
}

/// Sets the test layout hook for the rest of the scope (prover and verifier read it on this thread).
struct Layout;
impl Layout {
    fn set(first_log: Option<usize>) -> Self {
        zkinfer_verifier::chunked::set_test_first_epoch(first_log);
        Layout
    }
}
impl Drop for Layout {
    fn drop(&mut self) {
        zkinfer_verifier::chunked::set_test_first_epoch(None);
    }
}

fn prove_stream(model: &Model, pk: &ProvingKey, prompt: &[u32], n: usize, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let weights = WeightCommitment::Ready(Box::new(pk.weight_data.clone()));
    prove_chunked(model, &pk.vk, weights, prompt, n, chunk, &mut out, |_| {}).unwrap();
    out
}

/// Prompt 3 + 18 new − 1 = 20 positions at `C = 4`: `K_max = 5`, so version 7's rule gives a first
/// epoch of `2^2` chunks (`{0…3}, {4…7}`). A prover that commits its keys/values in the doubling
/// layout (`{0}, {1}, {2,3}, {4…7}`: more, smaller epochs, each at a lower starting rate) or in
/// one epoch of eight chunks is refused at chunk 0 or 1 (a root carries no size: chunk 0's
/// `KV` roots read as the header's epoch `{0…3}` whatever the prover committed, and the doubling
/// prover's extra root in chunk 1 puts the transcripts out of step there); each stream verifies when the verifier is given the prover's
/// layout, so the refusal is the layout's and nothing else's.
#[test]
fn a_stream_laid_out_in_other_epochs_than_the_headers_is_refused() {
    let (model, pk) = gpt2();
    // Every stream of this test, and every verifier, at the test codewords: the epoch layout under
    // test is a function of the header and the layout hook, the rates only size the codewords
    // (`Epochs::for_header`); the honest stream verifies there, so the refusals below are the
    // layout's.
    let _small = crate::common::TestCodewords::on();
    let prompt = [5u32, 17, 3];
    let (n, c) = (18, 4);
    let honest = prove_stream(model, pk, &prompt, n, c);
    let (_, s) = verify_stream(&pk.vk, &mut &honest[..]).expect("the honest stream verifies");
    assert_eq!(s.chunks, 5);
    for first_log in [0usize, 3] {
        let stream = {
            let _l = Layout::set(Some(first_log));
            let stream = prove_stream(model, pk, &prompt, n, c);
            // Control: the verifier told the prover's layout accepts it.
            verify_stream(&pk.vk, &mut &stream[..]).unwrap_or_else(|e| {
                panic!("layout 2^{first_log}: its own verifier refuses it: {e}")
            });
            stream
        };
        assert_ne!(stream, honest, "layout 2^{first_log} gives the same stream");
        let e = verify_stream(&pk.vk, &mut &stream[..])
            .expect_err("a stream in the prover's own epoch layout accepted")
            .to_string();
        assert!(
            e.contains("chunk 0") || e.contains("chunk 1"),
            "layout 2^{first_log}: refused elsewhere than at chunk 0 or 1: {e}"
        );
        eprintln!("layout 2^{first_log}: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// RoPE frequency factors in the key.
// ---------------------------------------------------------------------------------------------

struct Llama3 {
    pk: ProvingKey,
    proof: ProofFile,
}

fn llama3() -> &'static Llama3 {
    static F: OnceLock<Llama3> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = GgufFile::open(testdata("llama3/llama3-rope-tiny.gguf")).unwrap();
        let model = Model::load(&gguf).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        let pk = setup(&model, vocabulary(&tok, &model), [0; 32]).unwrap();
        let prompt = tok.encode("The llama is a domesticated South American camelid, widely used as a meat and pack animal.");
        let (proof, _) = prove(&model, &pk, &prompt, 2, |_| {}).unwrap();
        Llama3 { pk, proof }
    })
}

fn ropes(vk: &VerifyingKey) -> Vec<&Rope> {
    vk.graph
        .nodes
        .iter()
        .filter_map(|n| {
            if let Op::Rope(r) = &n.op {
                Some(r)
            } else {
                None
            }
        })
        .collect()
}

/// The key's RoPE nodes with `edit(index, node)` applied, through the key's bytes (the decoder
/// rebuilds every table through one table cache).
fn edited_key(vk: &VerifyingKey, edit: impl Fn(usize, &Rope) -> Rope) -> VerifyingKey {
    let mut bad = vk.clone();
    let mut i = 0;
    for node in &mut bad.graph.nodes {
        if let Op::Rope(r) = &mut node.op {
            *r = edit(i, r);
            i += 1;
        }
    }
    VerifyingKey::from_bytes(&bad.to_bytes()).expect("a well-formed key")
}

/// Two RoPE nodes of one key with the same `n_rot`, base, frac and context but different factor
/// lists (none, the fixture's, the fixture's with one factor changed), in either order: the
/// decoder gives every node the table of its own factors (a cache keyed by the four scalar
/// parameters only would hand the second list the first's table, so the key would state one
/// rotation and the verifier check another). Under such a key the honest proof is refused.  With
/// the cache keyed by the scalars only (`Rope::decode_params` weakened by hand, review 12), the
/// table check below fails on the first case (node 0 with the fixture's factors, the rest plain:
/// every node would get the factored table), while the honest proof is still refused there by a
/// lookup's leaf claim: the cache key is not the only thing between such a key and acceptance.
#[test]
fn rope_nodes_with_different_factors_in_one_key_get_their_own_tables() {
    let f = llama3();
    verify(&f.pk.vk, &f.proof).expect("the honest proof verifies");
    let real: Vec<f32> = ropes(&f.pk.vk)[0].freq_factors.to_vec();
    assert_eq!(real.len(), 8);
    assert!(
        real.iter().any(|&x| x != 1.0),
        "the fixture's factors are not all 1"
    );
    let mut other = real.clone();
    other[7] = if other[7] == 2.0 { 3.0 } else { 2.0 };
    let lists: [Vec<f32>; 3] = [Vec::new(), real.clone(), other];
    for (a, b) in [(1, 0), (0, 1), (1, 2), (2, 1), (0, 2)] {
        // Node 0 gets list a, the others list b; then node 3 (the last) alone gets list a.
        for (first, odd) in [(true, lists[a].clone()), (false, lists[a].clone())] {
            let key = edited_key(&f.pk.vk, |i, r| {
                let mine = if (first && i == 0) || (!first && i == 3) {
                    odd.clone()
                } else {
                    lists[b].clone()
                };
                Rope::with_freq_factors(r.n_rot, r.base, r.frac, r.n_ctx, mine.into()).unwrap()
            });
            let rs = ropes(&key);
            assert_eq!(rs.len(), 4);
            // The honest proof, relabelled with this key's digest, is refused (unless the key is
            // the real one, which these never are: some node has a list other than the fixture's).
            let mut p = f.proof.clone();
            p.model_commitment = key.digest();
            let e = verify(&key, &p).expect_err("proof accepted under a mixed key");
            eprintln!("lists ({a}, {b}), first = {first}: refused: {e}");
            for r in &rs {
                let want =
                    rope_table_with_factors(r.base, r.n_rot, r.frac, r.n_ctx, &r.freq_factors);
                assert!(
                    r.table[..] == want[..],
                    "lists ({a}, {b}), first = {first}: a RoPE node's table is not its own factors' table"
                );
            }
            let odd_node = if first { rs[0] } else { rs[3] };
            let even_node = if first { rs[3] } else { rs[0] };
            assert!(odd_node.table[..] != even_node.table[..], "lists ({a}, {b}) give one table");
        }
    }
}

/// Factor bytes patched in the key file (not through the builder): a factor below 1, zero,
/// negative, NaN, ±∞, above `ROPE_MAX_FACTOR`, a subnormal; a count that is neither 0 nor
/// `n_rot/2` (one of the four nodes only) — each a clear decode error naming the RoPE factors,
/// no panic. The key bytes with the factors untouched decode to the key (control: the patching
/// finds the factors where the codec writes them).
#[test]
fn hostile_rope_factor_bytes_in_a_key_file_are_decode_errors() {
    let f = llama3();
    let bytes = f.pk.vk.to_bytes();
    let real: Vec<f32> = ropes(&f.pk.vk)[0].freq_factors.to_vec();
    // The count and the factors as the codec writes them (u32 LE count, f32 bits LE each).
    let mut needle = (real.len() as u32).to_le_bytes().to_vec();
    for x in &real {
        needle.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    let at: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == &needle[..])
        .map(|(i, _)| i)
        .collect();
    // Four RoPE nodes in the one-pass graph, four in the chunked step graph.
    assert_eq!(at.len(), 8, "the RoPE nodes' factor lists in the key bytes");
    assert_eq!(VerifyingKey::from_bytes(&bytes).unwrap(), f.pk.vk);
    for last in [at[0], at[7]] {
        let patch = |offset: usize, word: u32| {
            let mut b = bytes.clone();
            b[offset..offset + 4].copy_from_slice(&word.to_le_bytes());
            b
        };
        for (i, v) in [
            (0usize, 0.5f32),
            (1, 0.0),
            (2, -8.0),
            (3, f32::NAN),
            (4, f32::INFINITY),
            (5, f32::NEG_INFINITY),
            (6, 65537.0),
            (7, f32::from_bits(1)),
            (7, 0.999_999_94),
        ] {
            let e = VerifyingKey::from_bytes(&patch(last + 4 + 4 * i, v.to_bits()))
                .expect_err("a hostile factor decoded")
                .to_string();
            assert!(
                e.contains("RoPE") || e.contains("frequency factor"),
                "factor {i} = {v}: {e}"
            );
        }
        for count in [1u32, 7, 9, 16, u32::MAX] {
            let e = VerifyingKey::from_bytes(&patch(last, count))
                .expect_err("a hostile count decoded")
                .to_string();
            assert!(e.contains("RoPE"), "count {count}: {e}");
        }
        // Factors exactly at the bounds are valid keys of another model: the proof is refused there.
        for v in [1.0f32, 65536.0] {
            let key = VerifyingKey::from_bytes(&patch(last + 4, v.to_bits()))
                .unwrap_or_else(|e| panic!("factor {v}: {e}"));
            let mut p = f.proof.clone();
            p.model_commitment = key.digest();
            if key != f.pk.vk {
                assert!(
                    verify(&key, &p).is_err(),
                    "factor 0 = {v} of the node at byte {last}: proof accepted"
                );
            }
        }
    }
}
