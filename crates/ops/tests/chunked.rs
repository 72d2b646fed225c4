//! A chunked proof of the tiny GPT-2 (`testdata/gpt2-tiny-random.gguf`) with ideal commitments:
//! positions proven in chunks of `C`, one Fiat–Shamir transcript through all of them, each chunk's
//! cached keys/values deferred (`ChunkIo::deferred`), its new keys/values committed separately and
//! linked to its walk (`ops::chunk`), the cache claims split over the earlier chunks' commitments,
//! everything discharged at the end (here by direct evaluation — the real openings are the proof
//! crate's). Checks the argument of `docs/PROTOCOLS.md` ("Incremental (chunked) proving"): honest
//! runs verify for several chunk sizes, and every way of carrying a wrong cache, or of reordering,
//! dropping, duplicating or splicing chunks, is rejected.

use std::collections::HashMap;
use std::path::PathBuf;

use zkinfer_field::{F, PrimeCharacteristicRing};
use zkinfer_gguf::GgufFile;
use zkinfer_model::graph::{Graph, IntTrace, TensorId};
use zkinfer_model::{IntForward, Model};
use zkinfer_ops::chunk::{link_point, prove_cache_split, verify_cache_split};
use zkinfer_ops::context::evaluate_column;
use zkinfer_ops::{ChunkIo, Claim, ColumnId, ProofError, TensorLayout, TensorRole, protocol_for, prove_graph_chunk, verify_graph_chunk};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn model() -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
    Model::load(&GgufFile::open(path).expect("fixture opens")).expect("fixture loads")
}

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/chunked-test", 1)
}

/// The keys/values tensors of a chunk graph, per layer and kind (k, v): the new ones and, after
/// the first chunk, the cached ones.
fn kv_tensors(graph: &Graph, n_layer: usize, first: bool) -> (Vec<TensorId>, Vec<TensorId>) {
    let mut new = Vec::new();
    let mut past = Vec::new();
    for l in 0..n_layer {
        for kind in ["k", "v"] {
            let name = if first { format!("blk.{l}.attn_{kind}") } else { format!("blk.{l}.attn_{kind}_new") };
            new.push(graph.find(&name).expect("new keys/values"));
            if !first {
                past.push(graph.find(&format!("blk.{l}.attn_{kind}_past")).expect("cached keys/values"));
            }
        }
    }
    (new, past)
}

/// One chunk as the prover ran it.
struct Chunk {
    fwd: IntForward,
    /// The new keys/values it commits (`KV_k`), per (layer, kind); a cheating prover may change them.
    kv: Vec<Vec<i64>>,
}

/// Runs the model chunk by chunk over `ids` (predictions at every position).
fn run_chunks(m: &Model, ids: &[u32], c: usize) -> Vec<Chunk> {
    let mut cache = m.new_int_cache();
    let mut out = Vec::new();
    for (k, part) in ids.chunks(c).enumerate() {
        let fwd = m.step_forward_int(&mut cache, part, part.len()).expect("chunk");
        let (new, _) = kv_tensors(&fwd.graph, m.config().n_layer, k == 0);
        let kv = new.iter().map(|&t| fwd.trace.get(t).expect("kv").data.clone()).collect();
        out.push(Chunk { fwd, kv });
    }
    out
}

fn public_of<'a>(graph: &Graph, trace: &'a IntTrace, deferred: &[TensorId]) -> HashMap<TensorId, &'a [i64]> {
    let mut public: HashMap<TensorId, &[i64]> =
        graph.inputs.iter().filter(|i| !deferred.contains(i)).map(|&i| (i, trace.get(i).expect("input").data.as_slice())).collect();
    for (n, node) in graph.nodes.iter().enumerate() {
        if protocol_for(graph, n).expect("protocol").output_role() == TensorRole::Public {
            public.insert(node.output, trace.get(node.output).expect("output").data.as_slice());
        }
    }
    public
}

/// What the verifier holds after a chunk: the public values it checked and the ideal
/// commitments (column values) whose claims it checks at the end.
struct ProvenChunk {
    graph: Graph,
    public: HashMap<TensorId, Vec<i64>>,
    kv: Vec<Vec<i64>>,
    witness: Vec<Vec<F>>,
    start: usize,
}

/// Proves `chunks` on one transcript; returns the proof bytes, the byte offset where each chunk's
/// messages end, and what the verifier is given besides (ideal commitments, public values).
fn prove(m: &Model, chunks: &[Chunk], c_vars: usize) -> (Vec<u8>, Vec<usize>, Vec<ProvenChunk>) {
    let n_layer = m.config().n_layer;
    let mut t = ProverTranscript::new(&ds());
    let mut proven = Vec::new();
    let mut committed: Vec<Vec<Vec<i64>>> = Vec::new();
    let mut ends = Vec::new();
    for (k, ch) in chunks.iter().enumerate() {
        let graph = &ch.fwd.graph;
        let (new, past) = kv_tensors(graph, n_layer, k == 0);
        t.absorb_public_fields("chunk", &[F::from_u64(k as u64), F::from_u64((k << c_vars) as u64)]);
        let io = ChunkIo { deferred: past.clone(), ..Default::default() };
        let out = prove_graph_chunk(graph, m.weights(), &ch.fwd.trace, &io, &mut t, |w, t| {
            let cols: Vec<Vec<F>> = (0..w.plan().columns().len()).map(|i| w.values(ColumnId(i)).to_vec()).collect();
            for c in &cols {
                t.absorb_public_fields("column", c);
            }
            // KV_k absorbed (ideal commitment) after W_k, then the link points.
            for v in &ch.kv {
                let f: Vec<F> = v.iter().map(|&x| zkinfer_field::from_i64_unchecked(x)).collect();
                t.absorb_public_fields("kv", &f);
            }
            let mut injected = Vec::new();
            for (&id, kv) in new.iter().zip(&ch.kv) {
                let dims = graph.meta(id).shape.clone();
                let z = link_point(t, &dims);
                let v = TensorLayout::new(&dims).evaluate_i64(kv, &z);
                t.send_ext(v);
                injected.push((id, Claim::new(z, v)));
            }
            Ok::<_, ProofError>((cols, injected))
        })
        .expect("chunk proves");
        for claim in out.accumulators.deferred.claims() {
            let slot = past.iter().position(|&p| p.0 == claim.poly.index()).expect("a cached tensor");
            let cached: Vec<&[i64]> = committed.iter().map(|kv| kv[slot].as_slice()).collect();
            let dims = graph.meta(past[slot]).shape.clone();
            prove_cache_split(&Claim::new(claim.point.clone(), claim.value), &dims, c_vars, &cached, &mut t).expect("split");
        }
        committed.push(ch.kv.clone());
        let deferred = past;
        let public = public_of(graph, &ch.fwd.trace, &deferred).into_iter().map(|(k, v)| (k, v.to_vec())).collect();
        proven.push(ProvenChunk { graph: graph.clone(), public, kv: ch.kv.clone(), witness: out.commitment, start: k << c_vars });
        ends.push(t.proof_len());
    }
    (t.into_proof(), ends, proven)
}

/// Verifies the chunks in the order given (the verifier's view: the chunk graphs and public values
/// it derives, the ideal commitments it receives). Errors name the chunk.
fn verify(m: &Model, proof: &[u8], chunks: &[&ProvenChunk], c_vars: usize) -> Result<(), String> {
    let n_layer = m.config().n_layer;
    let mut t = VerifierTranscript::new(&ds(), proof);
    // Deferred claims on KV_j: (chunk j, slot, claim).
    let mut kv_claims: Vec<(usize, usize, Claim)> = Vec::new();
    let mut weight_claims: Vec<(String, Claim)> = Vec::new();
    for (k, ch) in chunks.iter().enumerate() {
        let fail = |e: String| format!("chunk {k} of {}: {e}", chunks.len());
        if ch.start != k << c_vars {
            return Err(fail(format!("starts at position {}, expected {}", ch.start, k << c_vars)));
        }
        let graph = &ch.graph;
        let (new, past) = kv_tensors(graph, n_layer, k == 0);
        t.absorb_public_fields("chunk", &[F::from_u64(k as u64), F::from_u64(ch.start as u64)]);
        if past.iter().any(|&p| graph.meta(p).shape[1] != ch.start) {
            return Err(fail("its cache does not hold exactly the earlier positions".into()));
        }
        let io = ChunkIo { deferred: past.clone(), ..Default::default() };
        let public: HashMap<TensorId, &[i64]> = ch.public.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let witness = &ch.witness;
        let mut links = Vec::new();
        let out = verify_graph_chunk(graph, &public, &io, &mut t, |plan, t| {
            if plan.columns().len() != witness.len() {
                return Err(ProofError::shape("test", "layout differs"));
            }
            for c in witness {
                t.absorb_public_fields("column", c);
            }
            for v in &ch.kv {
                let f: Vec<F> = v.iter().map(|&x| zkinfer_field::from_i64_unchecked(x)).collect();
                t.absorb_public_fields("kv", &f);
            }
            let mut injected = Vec::new();
            for (slot, &id) in new.iter().enumerate() {
                let z = link_point(t, &graph.meta(id).shape);
                let v = t.receive_ext().map_err(|e| ProofError::check("link", e.to_string()))?;
                links.push((k, slot, Claim::new(z.clone(), v)));
                injected.push((id, Claim::new(z, v)));
            }
            Ok(((), injected))
        })
        .map_err(|e| fail(e.to_string()))?;
        kv_claims.extend(links);
        for c in out.accumulators.witness.claims() {
            if evaluate_column(&witness[c.poly.index()], &c.point) != c.value {
                return Err(fail(format!("false claim on witness column {}", out.plan.columns()[c.poly.index()].name)));
            }
        }
        for c in out.accumulators.weights.claims() {
            weight_claims.push((graph.meta(TensorId(c.poly.index())).name.clone(), Claim::new(c.point.clone(), c.value)));
        }
        for c in out.accumulators.deferred.claims() {
            let slot = past.iter().position(|&p| p.0 == c.poly.index()).ok_or_else(|| fail("claim on an unknown cache".into()))?;
            let dims = graph.meta(past[slot]).shape.clone();
            for (j, claim) in verify_cache_split(&Claim::new(c.point.clone(), c.value), &dims, c_vars, &mut t).map_err(|e| fail(e.to_string()))? {
                kv_claims.push((j, slot, claim));
            }
        }
    }
    t.finish().map_err(|e| format!("close: leftover bytes: {e}"))?;
    // The close: the KV commitments' and the weights' claims, once each.
    for (j, slot, c) in &kv_claims {
        let ch = chunks[*j];
        let (new, _) = kv_tensors(&ch.graph, n_layer, *j == 0);
        let layout = TensorLayout::new(&ch.graph.meta(new[*slot]).shape);
        if c.point.len() != layout.num_vars() {
            return Err(format!("close: KV commitment of chunk {j}: claim of wrong dimension"));
        }
        if layout.evaluate_i64(&ch.kv[*slot], &c.point) != c.value {
            return Err(format!("close: KV commitment of chunk {j}: false claim"));
        }
    }
    for (name, c) in &weight_claims {
        let w = m.weights().get(name).ok_or_else(|| format!("close: no weight {name}"))?;
        if TensorLayout::new(&w.shape).evaluate_i64(&w.to_i64_vec(), &c.point) != c.value {
            return Err(format!("close: weight opening: false claim on {name}"));
        }
    }
    Ok(())
}

const IDS: [u32; 12] = [5, 17, 3, 99, 42, 7, 11, 64, 8, 1, 250, 33];

#[test]
fn chunked_proofs_verify_and_predict_like_the_full_pass() {
    let m = model();
    let full = m.forward_int(&IDS).expect("forward").next_tokens().expect("argmax");
    for c_vars in [1usize, 2, 3] {
        let chunks = run_chunks(&m, &IDS, 1 << c_vars);
        let predicted: Vec<u32> = chunks.iter().flat_map(|c| c.fwd.next_tokens().expect("argmax")).collect();
        assert_eq!(predicted, full, "C = {}", 1 << c_vars);
        let (proof, _, proven) = prove(&m, &chunks, c_vars);
        let refs: Vec<&ProvenChunk> = proven.iter().collect();
        verify(&m, &proof, &refs, c_vars).unwrap_or_else(|e| panic!("C = {}: {e}", 1 << c_vars));
    }
}

/// Concatenates the byte ranges of the given chunks of `proof` (`ends` from [`prove`]).
fn splice(parts: &[(&[u8], &[usize], usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (proof, ends, k) in parts {
        let start = if *k == 0 { 0 } else { ends[k - 1] };
        out.extend_from_slice(&proof[start..ends[*k]]);
    }
    out
}

/// Rejections of a 3-chunk proof (C = 4): a forged keys/values commitment, a forged cache carried
/// into the next chunk, chunks swapped, dropped, duplicated, spliced from another proof of the
/// same model, and a flipped byte in each chunk's messages.
#[test]
fn chunked_proof_attacks_are_rejected() {
    let m = model();
    let c_vars = 2;
    let honest = run_chunks(&m, &IDS, 1 << c_vars);
    let (proof, ends, proven) = prove(&m, &honest, c_vars);
    let all: Vec<&ProvenChunk> = proven.iter().collect();
    verify(&m, &proof, &all, c_vars).expect("honest");
    let expect_err = |what: &str, r: Result<(), String>| {
        let e = r.err().unwrap_or_else(|| panic!("{what} accepted"));
        eprintln!("{what}: {e}");
        e
    };

    // 1. KV_0 committed with one value changed (the chunk itself honest).
    let mut bad = run_chunks(&m, &IDS, 1 << c_vars);
    bad[0].kv[3][5] += 1;
    let (p, _, v) = prove(&m, &bad, c_vars);
    let e = expect_err("forged KV commitment", verify(&m, &p, &v.iter().collect::<Vec<_>>(), c_vars));
    assert!(e.starts_with("chunk 0"), "{e}");

    // 2. Chunk 1 computed over a forged cached value (consistently downstream, its own KV_1 from
    //    that trace); KV_0 honest.
    let mut bad = run_chunks(&m, &IDS, 1 << c_vars);
    {
        let ch = &mut bad[1];
        let graph = ch.fwd.graph.clone();
        let past = graph.find("blk.1.attn_v_past").expect("cached values");
        if let Some(Some(t)) = ch.fwd.trace.values.get_mut(past.0) {
            t.data[2] += 3;
        }
        let first_user = graph.nodes.iter().position(|n| n.inputs.contains(&past)).expect("a reader");
        for n in first_user..graph.nodes.len() {
            let node = &graph.nodes[n];
            let operands: Vec<zkinfer_model::ops::Operand<'_>> = node
                .inputs
                .iter()
                .map(|&t| {
                    let meta = graph.meta(t);
                    if meta.source == zkinfer_model::graph::TensorSource::Weight {
                        zkinfer_model::ops::Operand::Weight(m.weights().get(&meta.name).expect("weight"))
                    } else {
                        zkinfer_model::ops::Operand::Act(ch.fwd.trace.get(t).expect("value"))
                    }
                })
                .collect();
            let out = zkinfer_model::ops::eval_int(&node.op, &operands).expect("eval");
            ch.fwd.trace.values[node.output.0] = Some(out);
        }
        let (new, _) = kv_tensors(&graph, m.config().n_layer, false);
        ch.kv = new.iter().map(|&t| ch.fwd.trace.get(t).expect("kv").data.clone()).collect();
    }
    let (p, _, v) = prove(&m, &bad, c_vars);
    let e = expect_err("forged cache", verify(&m, &p, &v.iter().collect::<Vec<_>>(), c_vars));
    assert!(e.contains("chunk 1") || e.contains("KV commitment of chunk 0"), "{e}");

    // 3. Swapped, dropped, duplicated chunks (bytes and statement rearranged together).
    let swapped = splice(&[(&proof, &ends, 1), (&proof, &ends, 0), (&proof, &ends, 2)]);
    expect_err("swapped", verify(&m, &swapped, &[all[1], all[0], all[2]], c_vars));
    let dropped = splice(&[(&proof, &ends, 0), (&proof, &ends, 2)]);
    expect_err("dropped", verify(&m, &dropped, &[all[0], all[2]], c_vars));
    let dup = splice(&[(&proof, &ends, 0), (&proof, &ends, 1), (&proof, &ends, 1), (&proof, &ends, 2)]);
    expect_err("duplicated", verify(&m, &dup, &[all[0], all[1], all[1], all[2]], c_vars));
    expect_err("last chunk dropped, its bytes kept", verify(&m, &proof, &all[..2], c_vars));
    // The same rearrangements of the bytes alone, the statement in order: the transcript rejects.
    expect_err("swapped bytes", verify(&m, &swapped, &all, c_vars));
    let dup_bytes = splice(&[(&proof, &ends, 0), (&proof, &ends, 0), (&proof, &ends, 2)]);
    expect_err("duplicated bytes", verify(&m, &dup_bytes, &all, c_vars));

    // 4. Spliced: chunk 1 of a proof over other tokens in chunk 0 (same model, same positions).
    let mut other_ids = IDS;
    other_ids[1] = 200;
    let other = run_chunks(&m, &other_ids, 1 << c_vars);
    let (p2, ends2, proven2) = prove(&m, &other, c_vars);
    let spliced = splice(&[(&proof, &ends, 0), (&p2, &ends2, 1), (&proof, &ends, 2)]);
    let e = expect_err("spliced", verify(&m, &spliced, &[all[0], &proven2[1], all[2]], c_vars));
    assert!(e.starts_with("chunk 1") || e.starts_with("chunk 2") || e.starts_with("close"), "{e}");

    // 5. A flipped byte in each chunk's messages.
    for k in 0..3 {
        let at = if k == 0 { 0 } else { ends[k - 1] } + 40;
        let mut p = proof.clone();
        p[at] ^= 1;
        expect_err(&format!("flipped byte in chunk {k}"), verify(&m, &p, &all, c_vars));
    }
}

/// A chunk's GKR cap (`ChunkIo::gkr_leaves`) decides its lookups' multiplicity columns and GKR
/// groups, on both sides: a chunk proven under a cap verifies under the same cap (more
/// multiplicity columns than without it, every witness claim true), and a verifier that derives
/// the plan without the cap rejects it (and the reverse).
#[test]
fn a_chunks_gkr_cap_is_derived_alike_on_both_sides() {
    let m = model();
    let ids = [5u32, 17, 3, 99];
    let mut cache = m.new_int_cache();
    let fwd = m.step_forward_int(&mut cache, &ids, ids.len()).expect("chunk");
    let graph = &fwd.graph;
    let public = public_of(graph, &fwd.trace, &[]);
    let prove_with = |cap: Option<usize>| {
        let mut t = ProverTranscript::new(&ds());
        let io = ChunkIo { deferred: Vec::new(), gkr_leaves: cap };
        let out = prove_graph_chunk(graph, m.weights(), &fwd.trace, &io, &mut t, |w, t| {
            let cols: Vec<Vec<F>> = (0..w.plan().columns().len()).map(|i| w.values(ColumnId(i)).to_vec()).collect();
            for c in &cols {
                t.absorb_public_fields("column", c);
            }
            Ok::<_, ProofError>((cols, Vec::new()))
        })
        .expect("chunk proves");
        let mults = out.witness.plan().multiplicities().len();
        (t.into_proof(), out.commitment, mults)
    };
    let verify_with = |cap: Option<usize>, proof: &[u8], witness: &[Vec<F>]| -> Result<(), String> {
        let mut t = VerifierTranscript::new(&ds(), proof);
        let io = ChunkIo { deferred: Vec::new(), gkr_leaves: cap };
        let out = verify_graph_chunk(graph, &public, &io, &mut t, |plan, t| {
            if plan.columns().len() != witness.len() {
                return Err(ProofError::shape("test", format!("the plan has {} columns, the commitment {}", plan.columns().len(), witness.len())));
            }
            for c in witness {
                t.absorb_public_fields("column", c);
            }
            Ok(((), Vec::new()))
        })
        .map_err(|e| e.to_string())?;
        for c in out.accumulators.witness.claims() {
            if evaluate_column(&witness[c.poly.index()], &c.point) != c.value {
                return Err(format!("false claim on witness column {}", out.plan.columns()[c.poly.index()].name));
            }
        }
        t.finish().map_err(|e| e.to_string())
    };
    let (plain, plain_w, plain_m) = prove_with(None);
    verify_with(None, &plain, &plain_w).expect("uncapped");
    let cap = Some(1 << 12);
    let (capped, capped_w, capped_m) = prove_with(cap);
    assert!(capped_m > plain_m, "the cap splits statements: {capped_m} multiplicity columns against {plain_m}");
    verify_with(cap, &capped, &capped_w).expect("capped");
    let e = verify_with(None, &capped, &capped_w).expect_err("a capped proof without the cap");
    eprintln!("capped proof, uncapped verifier: {e}");
    let e = verify_with(cap, &plain, &plain_w).expect_err("an uncapped proof under a cap");
    eprintln!("uncapped proof, capped verifier: {e}");
}
