//! The chunked (incremental) prover (issue 12): proves a greedy generation chunk by chunk on one
//! Fiat–Shamir transcript and writes the proof stream record by record (the protocol and the
//! format are `zkinfer_verifier::chunked`'s). Per chunk it holds one chunk's trace, witness and
//! commitment data; across chunks only the KV cache (the generator's own state), the weight
//! claims and the `KV_j` claims and commitments.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use zkinfer_field::F;
use zkinfer_model::{IntCache, IntTensor, Model};
use zkinfer_ops::chunk::prove_cache_split;
use zkinfer_ops::{ChunkIo, Claim, TensorLayout, WitnessBuilder};
use zkinfer_pcs::{OpeningAccumulator, Origin, PolyId, WhirCommitment, WhirProverData};
use zkinfer_transcript::{ProverTranscript, Transcript};
pub use zkinfer_verifier::chunked::*;
use zkinfer_verifier::check_request;

use crate::keys::{self, VerifyingKey, pcs};
use crate::{ProofSystemError, SharedWitness, WeightCommitment, model_err, weight_blocks};

/// Wall-clock seconds of a chunked proof.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkedTimings {
    /// Generation with the KV cache (on its own thread, overlapping the chunks' proofs).
    pub generate_s: f64,
    /// Per chunk: trace, commitments, graph proof and witness opening.
    pub chunks_s: Vec<f64>,
    /// Per chunk: waiting for its tokens to be generated.
    pub waits_s: Vec<f64>,
    /// The closing record: keys/values recommitted and opened, weight opening.
    pub close_s: f64,
    /// Bytes written, header and records.
    pub bytes: u64,
}

impl ChunkedTimings {
    /// Proving time proper (everything but generation and waiting for it).
    pub fn prove_s(&self) -> f64 {
        self.chunks_s.iter().sum::<f64>() + self.close_s
    }
}

/// Progress of a chunked proof. [`ChunkStage::Token`] is reported from the generation thread,
/// the others from the proving thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkStage {
    /// A token was generated: `generated` of at most `total` so far.
    Token {
        /// Tokens generated so far.
        generated: usize,
        /// Tokens requested.
        total: usize,
    },
    /// Chunk `index` (positions `[start, start + len)`) is being proven.
    Chunk {
        /// Its index.
        index: usize,
        /// Its first position.
        start: usize,
        /// Its positions.
        len: usize,
    },
    /// Chunk `index` is proven and its record written.
    Proven {
        /// Its index.
        index: usize,
    },
    /// The closing record is being proven.
    Close,
}

/// Chunk `j`'s rows of a cached tensor `[H, n, d]` (chunk-major: positions `[jC, jC + C)`).
fn chunk_rows(t: &IntTensor, start: usize, len: usize) -> Result<Vec<i64>, ProofSystemError> {
    let [h, n, d] = t.shape[..] else {
        return Err(ProofSystemError::Request(format!("cached tensor of shape {:?}", t.shape)));
    };
    if start + len > n {
        return Err(ProofSystemError::Request("cached tensor shorter than its chunks".into()));
    }
    let mut out = Vec::with_capacity(h * len * d);
    for hh in 0..h {
        out.extend_from_slice(&t.data[(hh * n + start) * d..(hh * n + start + len) * d]);
    }
    Ok(out)
}

/// The `KV_j` polynomials of chunk `j` (positions `[start, start + len)`), padded per layout.
fn kv_polys(cache: &IntCache, start: usize, len: usize) -> Result<Vec<Vec<F>>, ProofSystemError> {
    cache
        .tensors()
        .iter()
        .map(|t| {
            let dims = [t.shape[0], len, t.shape[2]];
            Ok(TensorLayout::new(&dims).pad_i64(&chunk_rows(t, start, len)?))
        })
        .collect()
}

/// Generates up to `n` tokens after `prompt` and writes a chunked proof of it to `out` (header,
/// one record per chunk of `chunk` positions, the closing record). `chunk` must be a power of
/// two. Generation runs on its own thread and feeds tokens to the prover through a channel:
/// chunk `k` is proven as soon as its positions' tokens (and the prediction after its last row)
/// exist, while generation continues. Returns the header (the statement's fixed part), the
/// completion and the timings.
#[allow(clippy::too_many_arguments)]
pub fn prove_chunked(
    model: &Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    chunk: usize,
    out: &mut impl Write,
    progress: impl Fn(ChunkStage) + Sync,
) -> Result<(StreamHeader, Vec<u32>, ChunkedTimings), ProofSystemError> {
    prove_chunked_impl(model, vk, weights, prompt, n, chunk, out, progress, None)
}

/// A malicious prover's edit of the KV cache carried from one chunk into the next (tests only).
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvTamper {
    /// The chunk whose new keys/values are perturbed after its proof (the next chunk reads them).
    pub chunk: usize,
    /// The cached tensor ([`zkinfer_model::IntCache::tensors`] index).
    pub slot: usize,
    /// The row inside the chunk (`0 ≤ row < C`) whose first element is perturbed, in every head.
    pub row: usize,
    /// Added to the value.
    pub delta: i64,
    /// `KV_chunk` commits (and its link claims) the perturbed values, so the close's openings
    /// are consistent but the chunk's walk receives a false claim on its new keys/values;
    /// otherwise `KV_chunk` holds the honest values and the perturbed cache only feeds the later
    /// chunks and their cache claims (then `KV_chunk`'s opening at the close must fail).
    pub commit_perturbed: bool,
}

/// [`prove_chunked`] as a malicious prover (tests only, feature `test-hooks`): after chunk
/// `tamper.chunk` is traced, a cached key or value of it is perturbed and everything downstream
/// (the later chunks' traces, predictions, cache-claim splits and openings) is computed from the
/// perturbed cache. The statement is what the perturbed chunks predict.
#[cfg(feature = "test-hooks")]
#[allow(clippy::too_many_arguments)]
pub fn prove_chunked_tampered(
    model: &Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    chunk: usize,
    out: &mut impl Write,
    tamper: KvTamper,
) -> Result<(StreamHeader, Vec<u32>, ChunkedTimings), ProofSystemError> {
    prove_chunked_impl(model, vk, weights, prompt, n, chunk, out, |_| {}, Some(Tamper { at: tamper.chunk, slot: tamper.slot, row: tamper.row, delta: tamper.delta, commit_perturbed: tamper.commit_perturbed }))
}

/// The tamper parameters inside the prover (the type exists without the feature so that the
/// prover has one body).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
struct Tamper {
    at: usize,
    slot: usize,
    row: usize,
    delta: i64,
    commit_perturbed: bool,
}

impl Tamper {
    /// Adds `delta` to the first element of row `start + row` of every head of cached tensor
    /// `slot` (`[H, n, d]`); an edit outside the cache is an error (a test must not pass vacuously).
    fn perturb(&self, cache: &mut zkinfer_model::IntCache, start: usize) -> Result<(), ProofSystemError> {
        let missing = || ProofSystemError::Request(format!("no cached row {} of tensor {}", start + self.row, self.slot));
        let t = cache.tensors_mut().get_mut(self.slot).ok_or_else(missing)?;
        let [h, n, d] = t.shape[..] else { return Err(missing()) };
        let p = start + self.row;
        if p >= n || d == 0 {
            return Err(missing());
        }
        for hh in 0..h {
            t.data[(hh * n + p) * d] += self.delta;
        }
        Ok(())
    }
}

/// The prover; `tamper` (tests only) perturbs the cache carried out of one chunk.
#[allow(clippy::too_many_arguments)]
fn prove_chunked_impl(
    model: &Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    chunk: usize,
    out: &mut impl Write,
    progress: impl Fn(ChunkStage) + Sync,
    tamper: Option<Tamper>,
) -> Result<(StreamHeader, Vec<u32>, ChunkedTimings), ProofSystemError> {
    check_request(vk, prompt, n)?;
    if chunk == 0 || !chunk.is_power_of_two() || chunk > MAX_CHUNK as usize {
        return Err(ProofSystemError::Request(format!("chunk size {chunk} is not a power of two in [1, {MAX_CHUNK}]")));
    }
    let architecture = model.architecture().name();
    if architecture != vk.architecture {
        return Err(ProofSystemError::Request(format!("the model is a {architecture} model, the key is for {}", vk.architecture)));
    }
    let max_new_tokens = u32::try_from(n).map_err(|_| ProofSystemError::Request(format!("{n} new tokens is too many")))?;
    let header = StreamHeader { model_commitment: vk.digest(), max_new_tokens, chunk_size: chunk as u32, prompt_ids: prompt.to_vec() };
    let progress = &progress;
    // Generation on its own thread, token by token into the channel; the prover takes each
    // chunk as soon as its tokens exist.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let generator = scope.spawn(move || {
            let start = Instant::now();
            let mut generated = 0;
            let result = model.generate_int_until(prompt, n, &vk.eog_ids, |tok| {
                generated += 1;
                progress(ChunkStage::Token { generated, total: n });
                // A closed channel means the prover failed; the rest is not needed.
                let _ = tx.send(tok);
            });
            (result, start.elapsed().as_secs_f64())
        });
        let tokens = Tokens { rx, generator: Some(generator), completion: Vec::new(), generate_s: 0.0 };
        prove_stream(model, vk, weights, prompt, chunk, header, tokens, out, progress, tamper)
    })
}

/// The tokens the generation thread produced so far.
struct Tokens<'scope> {
    rx: std::sync::mpsc::Receiver<u32>,
    generator: Option<std::thread::ScopedJoinHandle<'scope, (Result<Vec<u32>, zkinfer_model::ModelError>, f64)>>,
    completion: Vec<u32>,
    generate_s: f64,
}

impl Tokens<'_> {
    /// Waits until the completion has at least `len` tokens or generation ended; returns whether
    /// generation ended (then the completion is the generator's whole output, checked).
    fn wait_for(&mut self, len: usize) -> Result<bool, ProofSystemError> {
        while self.generator.is_some() && self.completion.len() < len {
            match self.rx.recv() {
                Ok(tok) => self.completion.push(tok),
                Err(_) => self.join()?,
            }
        }
        Ok(self.generator.is_none())
    }

    /// The generator finished (its sender is dropped): join it and check what it returned.
    fn join(&mut self) -> Result<(), ProofSystemError> {
        let Some(handle) = self.generator.take() else { return Ok(()) };
        let (result, secs) = handle.join().map_err(|_| ProofSystemError::Request("the generation thread panicked".into()))?;
        self.generate_s = secs;
        let all = result.map_err(model_err)?;
        if all != self.completion {
            return Err(ProofSystemError::Rejected("the generation thread's tokens differ from its output".into()));
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn prove_stream(
    model: &Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    chunk: usize,
    header: StreamHeader,
    mut tokens: Tokens<'_>,
    out: &mut impl Write,
    progress: &(impl Fn(ChunkStage) + Sync),
    tamper: Option<Tamper>,
) -> Result<(StreamHeader, Vec<u32>, ChunkedTimings), ProofSystemError> {
    let mut timings = ChunkedTimings::default();
    let io_err = |e: std::io::Error| ProofSystemError::Request(format!("writing the proof: {e}"));
    let head = header.to_bytes();
    out.write_all(&head).map_err(io_err)?;
    timings.bytes = head.len() as u64;
    let mut t = ProverTranscript::new(&domain_separator(&vk.architecture, &header));
    let names = cache_names(&vk.step_graph);
    let pcs = pcs();
    let c_vars = chunk.trailing_zeros() as usize;
    let mut cache = model.new_int_cache();
    let mut kv_coms: Vec<WhirCommitment> = Vec::new();
    let mut kv_accs: Vec<OpeningAccumulator> = Vec::new();
    let mut weight_claims = weight_blocks::WeightClaims::new();
    let mut predicted: Vec<u32> = Vec::new();
    // The honest keys/values of a tampered chunk (what KV_k commits unless `commit_perturbed`).
    let mut honest_kv: Option<(usize, Vec<Vec<F>>)> = None;
    let p_len = prompt.len();

    let mut s = 0;
    for k in 0.. {
        // Chunk k covers [s, s + C) and needs the tokens at those positions plus the prediction
        // after its last row: a completion of s + C + 1 − P tokens, or the whole generation.
        let waited = Instant::now();
        let done = tokens.wait_for((s + chunk + 1).saturating_sub(p_len))?;
        timings.waits_s.push(waited.elapsed().as_secs_f64());
        let completion = &tokens.completion;
        let total = if done { p_len + completion.len().max(1) - 1 } else { s + chunk };
        if s >= total {
            timings.waits_s.pop();
            break;
        }
        let started = Instant::now();
        let n_new = chunk.min(total - s);
        progress(ChunkStage::Chunk { index: k, start: s, len: n_new });
        let ids: Vec<u32> = (s..s + n_new).map(|p| if p < p_len { prompt[p] } else { completion[p - p_len] }).collect();
        let shape = ChunkShape::new(s, n_new, p_len);
        let fwd = model.step_forward_int(&mut cache, &ids, shape.n_out).map_err(model_err)?;
        let first = k == 0;
        let (key_graph, template) =
            if first { (vk.graph(n_new, shape.n_out)?, &vk.graph) } else { (vk.step_graph(n_new, s, shape.n_out)?, &vk.step_graph) };
        if key_graph != fwd.graph {
            return Err(ProofSystemError::Request(format!("chunk {k}: the model's graph differs from the verifying key's graph")));
        }
        let graph = &fwd.graph;
        let preds = fwd.next_tokens().map_err(model_err)?;
        if shape.in_statement {
            let from = s + n_new - shape.n_out + 1 - p_len;
            if tamper.is_none() && preds[..] != completion[from..from + shape.n_out] {
                return Err(ProofSystemError::Rejected(format!("chunk {k} disagrees with KV-cache generation")));
            }
            predicted.extend_from_slice(&preds);
        }
        t.send_u32(n_new as u32);
        for &p in &preds {
            t.send_u32(p);
        }
        let (new, past) = kv_tensors(graph, &names, first)?;
        let mut link = OpeningAccumulator::new();
        let io = ChunkIo { deferred: past.clone() };
        let mut kv_values: Vec<&[i64]> =
            new.iter().map(|&id| fwd.trace.get(id).map(|v| v.data.as_slice()).ok_or_else(|| ProofSystemError::Request("missing keys/values".into()))).collect::<Result<_, _>>()?;
        let mut kv_polys_k: Vec<Vec<F>> = new.iter().zip(&kv_values).map(|(&id, v)| TensorLayout::new(&graph.meta(id).shape).pad_i64(v)).collect();
        // A tampered chunk: the cache carried out of it is perturbed now (the step appended this
        // chunk's rows), so the later chunks read the perturbed values.
        let perturbed_rows: Vec<Vec<i64>>;
        if let Some(tm) = tamper.filter(|tm| tm.at == k) {
            honest_kv = Some((k, kv_polys_k.clone()));
            tm.perturb(&mut cache, s)?;
            if tm.commit_perturbed {
                perturbed_rows = cache.tensors().iter().map(|c| chunk_rows(c, s, n_new)).collect::<Result<_, _>>()?;
                kv_values = perturbed_rows.iter().map(Vec::as_slice).collect();
                kv_polys_k = kv_polys(&cache, s, n_new)?;
            }
        }
        let proven = zkinfer_ops::prove_graph_chunk(graph, model.weights(), &fwd.trace, &io, &mut t, |w: &mut WitnessBuilder, t| {
            let witness_err = |e: zkinfer_pcs::PcsError| zkinfer_ops::ProofError::witness("commit", e.to_string());
            let cols = w.take_committed()?;
            let (com, data) = pcs.commit_owned(cols).map_err(witness_err)?;
            t.send_bytes(&keys::encode_commitment(&com));
            let data = Arc::new(SharedWitness(data));
            w.share_committed(data.clone())?;
            let (kv_com, _) = pcs.commit_owned(kv_polys_k).map_err(witness_err)?;
            t.send_bytes(&keys::encode_commitment(&kv_com));
            let mut injected = Vec::with_capacity(new.len());
            for (slot, (&id, v)) in new.iter().zip(&kv_values).enumerate() {
                let layout = TensorLayout::new(&graph.meta(id).shape);
                let z = t.challenge_exts(layout.num_vars());
                let value = layout.evaluate_i64(v, &z);
                t.send_ext(value);
                link.push(PolyId::Slot(slot), Origin::External, z.clone(), value);
                injected.push((id, Claim::new(z, value)));
            }
            Ok(((data, kv_com), injected))
        })?;
        let (witness_data, kv_com) = proven.commitment;
        let mut accs = proven.accumulators;
        let deferred = std::mem::take(&mut accs.deferred);
        weight_claims.add(template, graph, std::mem::take(&mut accs.weights));
        let witness_claims = accs.witness.opening_claims(&proven.witness.plan().commitment_ids())?;
        kv_coms.push(kv_com);
        kv_accs.push(link);
        for c in deferred.into_claims() {
            let slot = past.iter().position(|p| PolyId::Tensor(p.0) == c.poly).ok_or_else(|| ProofSystemError::Request("claim on an unknown cache".into()))?;
            let dims = graph.meta(past[slot]).shape.clone();
            let chunks: Vec<Vec<i64>> = (0..k).map(|j| chunk_rows(&cache.tensors()[slot], j * chunk, chunk)).collect::<Result<_, _>>()?;
            let refs: Vec<&[i64]> = chunks.iter().map(Vec::as_slice).collect();
            for (j, claim) in prove_cache_split(&Claim::new(c.point, c.value), &dims, c_vars, &refs, &mut t)? {
                kv_accs[j].push(PolyId::Slot(slot), Origin::External, claim.point, claim.value);
            }
        }
        // The committed batch is the blocks of the witness columns' extents (zkinfer_pcs::sparse).
        let witness_layout = proven.witness.plan().sparse_layout();
        drop(proven.witness);
        drop(fwd);
        let witness_data = Arc::try_unwrap(witness_data)
            .map_err(|_| ProofSystemError::Rejected("the witness commitment is still shared after the graph proof".into()))?
            .0;
        pcs.open_sparse(witness_data, &witness_layout, &witness_claims, &mut t)?;
        let record = chunk_record(k as u32, &t.take_segment());
        out.write_all(&record).map_err(io_err)?;
        timings.bytes += record.len() as u64;
        timings.chunks_s.push(started.elapsed().as_secs_f64());
        progress(ChunkStage::Proven { index: k });
        s += n_new;
    }
    tokens.join()?;
    timings.generate_s = tokens.generate_s;
    let completion = std::mem::take(&mut tokens.completion);

    progress(ChunkStage::Close);
    let started = Instant::now();
    for (j, (acc, com)) in kv_accs.into_iter().zip(&kv_coms).enumerate() {
        let len = chunk.min(s - j * chunk);
        let polys = match honest_kv.take_if(|(at, _)| *at == j) {
            // The tampered chunk's KV_j as committed (honest, or perturbed as the cache is).
            Some((_, honest)) if !tamper.is_some_and(|tm| tm.commit_perturbed) => honest,
            _ => kv_polys(&cache, j * chunk, len)?,
        };
        let (again, data): (WhirCommitment, WhirProverData) = pcs.commit_owned(polys)?;
        if &again != com {
            return Err(ProofSystemError::Rejected(format!("chunk {j}: the keys/values recommitted differ from the committed ones")));
        }
        acc.prove_consuming(&pcs, data, &PolyId::slots(com.poly_num_vars.len()), &mut t)?;
    }
    drop(cache);
    let weight_acc = weight_blocks::prove_block_claims(&vk.weights, model.weights(), &weight_claims, &mut t)?;
    let weight_data = match weights {
        WeightCommitment::Ready(data) => *data,
        WeightCommitment::Recommit => {
            let (_, commitment, data) = keys::commit_weights(model)?;
            if commitment != vk.commitment {
                return Err(ProofSystemError::Rejected("the model's weights do not match the verifying key's commitment".into()));
            }
            data
        }
    };
    weight_acc.prove_consuming(&pcs, weight_data, &weight_blocks::WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t)?;
    let record = close_record(&t.take_segment());
    out.write_all(&record).map_err(io_err)?;
    out.flush().map_err(io_err)?;
    timings.bytes += record.len() as u64;
    timings.close_s = started.elapsed().as_secs_f64();
    if tamper.is_none() && predicted != completion {
        return Err(ProofSystemError::Rejected("the chunks' predictions differ from the generation".into()));
    }
    Ok((header, if tamper.is_some() { predicted } else { completion }, timings))
}
