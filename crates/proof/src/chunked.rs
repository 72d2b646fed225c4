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
use zkinfer_pcs::{OpeningAccumulator, WhirCommitment, WhirProverData};
use zkinfer_transcript::{ProverTranscript, Transcript};
pub use zkinfer_verifier::chunked::*;
use zkinfer_verifier::{check_request, opening_accumulators_in, pass_ids};

use crate::keys::{self, VerifyingKey, pcs};
use crate::{ProofSystemError, SharedWitness, WeightCommitment, model_err, weight_blocks};

/// Wall-clock seconds of a chunked proof.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkedTimings {
    /// Generation with the KV cache.
    pub generate_s: f64,
    /// Per chunk: trace, commitments, graph proof and witness opening.
    pub chunks_s: Vec<f64>,
    /// The closing record: keys/values recommitted and opened, weight opening.
    pub close_s: f64,
    /// Bytes written, header and records.
    pub bytes: u64,
}

impl ChunkedTimings {
    /// Proving time proper (everything but generation).
    pub fn prove_s(&self) -> f64 {
        self.chunks_s.iter().sum::<f64>() + self.close_s
    }
}

/// Progress of a chunked proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkStage {
    /// Generation done: `positions` to prove in `chunks` chunks.
    Generated {
        /// Positions of the proven pass.
        positions: usize,
        /// Chunks.
        chunks: usize,
    },
    /// Chunk `index` proven.
    Chunk {
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
/// two. Returns the header (the statement's fixed part), the completion and the timings.
#[allow(clippy::too_many_arguments)]
pub fn prove_chunked(
    model: &Model,
    vk: &VerifyingKey,
    weights: WeightCommitment,
    prompt: &[u32],
    n: usize,
    chunk: usize,
    out: &mut impl Write,
    mut progress: impl FnMut(ChunkStage),
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
    let mut timings = ChunkedTimings::default();
    let io_err = |e: std::io::Error| ProofSystemError::Request(format!("writing the proof: {e}"));

    let start = Instant::now();
    let completion = model.generate_int_until(prompt, n, &vk.eog_ids, |_| {}).map_err(model_err)?;
    timings.generate_s = start.elapsed().as_secs_f64();
    let ids = pass_ids(prompt, &completion);
    let total = ids.len();
    progress(ChunkStage::Generated { positions: total, chunks: total.div_ceil(chunk) });

    let header = StreamHeader { model_commitment: vk.digest(), max_new_tokens, chunk_size: chunk as u32, prompt_ids: prompt.to_vec() };
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
    let mut weight_claims = OpeningAccumulator::new();
    let mut predicted: Vec<u32> = Vec::new();

    for (k, s) in (0..total).step_by(chunk).enumerate() {
        let started = Instant::now();
        let n_new = chunk.min(total - s);
        let shape = ChunkShape::new(s, n_new, prompt.len());
        let fwd = model.step_forward_int(&mut cache, &ids[s..s + n_new], shape.n_out).map_err(model_err)?;
        let first = k == 0;
        let (key_graph, template) =
            if first { (vk.graph(n_new, shape.n_out)?, &vk.graph) } else { (vk.step_graph(n_new, s, shape.n_out)?, &vk.step_graph) };
        if key_graph != fwd.graph {
            return Err(ProofSystemError::Request(format!("chunk {k}: the model's graph differs from the verifying key's graph")));
        }
        let graph = &fwd.graph;
        let preds = fwd.next_tokens().map_err(model_err)?;
        if shape.in_statement {
            let from = s + n_new - shape.n_out + 1 - prompt.len();
            if preds[..] != completion[from..from + shape.n_out] {
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
        let kv_values: Vec<&[i64]> =
            new.iter().map(|&id| fwd.trace.get(id).map(|v| v.data.as_slice()).ok_or_else(|| ProofSystemError::Request("missing keys/values".into()))).collect::<Result<_, _>>()?;
        let proven = zkinfer_ops::prove_graph_chunk(graph, model.weights(), &fwd.trace, &io, &mut t, |w: &mut WitnessBuilder, t| {
            let witness_err = |e: zkinfer_pcs::PcsError| zkinfer_ops::ProofError::witness("commit", e.to_string());
            let cols = w.take_committed()?;
            let (com, data) = pcs.commit_owned(cols).map_err(witness_err)?;
            t.send_bytes(&keys::encode_commitment(&com));
            let data = Arc::new(SharedWitness(data));
            w.share_committed(data.clone())?;
            let polys: Vec<Vec<F>> = new.iter().zip(&kv_values).map(|(&id, v)| TensorLayout::new(&graph.meta(id).shape).pad_i64(v)).collect();
            let (kv_com, _) = pcs.commit_owned(polys).map_err(witness_err)?;
            t.send_bytes(&keys::encode_commitment(&kv_com));
            let mut injected = Vec::with_capacity(new.len());
            for (slot, (&id, v)) in new.iter().zip(&kv_values).enumerate() {
                let layout = TensorLayout::new(&graph.meta(id).shape);
                let z = t.challenge_exts(layout.num_vars());
                let value = layout.evaluate_i64(v, &z);
                t.send_ext(value);
                link.push(slot, z.clone(), value);
                injected.push((id, Claim::new(z, value)));
            }
            Ok(((data, kv_com), injected))
        })?;
        let (witness_data, kv_com) = proven.commitment;
        let mut accs = proven.accumulators;
        let deferred = std::mem::take(&mut accs.deferred);
        let (witness_acc, weight_acc) = opening_accumulators_in(template, graph, &proven.witness.plan().commitment_slots(), accs)?;
        for c in weight_acc.into_claims() {
            weight_claims.push_claim(c);
        }
        kv_coms.push(kv_com);
        kv_accs.push(link);
        for c in deferred.into_claims() {
            let slot = past.iter().position(|p| p.0 == c.poly).ok_or_else(|| ProofSystemError::Request("claim on an unknown cache".into()))?;
            let dims = graph.meta(past[slot]).shape.clone();
            let chunks: Vec<Vec<i64>> = (0..k).map(|j| chunk_rows(&cache.tensors()[slot], j * chunk, chunk)).collect::<Result<_, _>>()?;
            let refs: Vec<&[i64]> = chunks.iter().map(Vec::as_slice).collect();
            for (j, claim) in prove_cache_split(&Claim::new(c.point, c.value), &dims, c_vars, &refs, &mut t)? {
                kv_accs[j].push(slot, claim.point, claim.value);
            }
        }
        // The committed batch is the blocks of the witness columns' extents (zkinfer_pcs::sparse).
        let witness_layout = proven.witness.plan().sparse_layout();
        drop(proven.witness);
        drop(fwd);
        let witness_data = Arc::try_unwrap(witness_data)
            .map_err(|_| ProofSystemError::Rejected("the witness commitment is still shared after the graph proof".into()))?
            .0;
        pcs.open_sparse(witness_data, &witness_layout, witness_acc.claims(), &mut t)?;
        let record = chunk_record(k as u32, &t.take_segment());
        out.write_all(&record).map_err(io_err)?;
        timings.bytes += record.len() as u64;
        timings.chunks_s.push(started.elapsed().as_secs_f64());
        progress(ChunkStage::Chunk { index: k });
    }

    progress(ChunkStage::Close);
    let started = Instant::now();
    for (j, (acc, com)) in kv_accs.into_iter().zip(&kv_coms).enumerate() {
        let len = chunk.min(total - j * chunk);
        let (again, data): (WhirCommitment, WhirProverData) = pcs.commit_owned(kv_polys(&cache, j * chunk, len)?)?;
        if &again != com {
            return Err(ProofSystemError::Rejected(format!("chunk {j}: the keys/values recommitted differ from the committed ones")));
        }
        acc.prove_consuming(&pcs, data, &mut t)?;
    }
    drop(cache);
    let weight_acc = weight_blocks::prove_block_claims(&vk.weights, model.weights(), weight_claims, &mut t)?;
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
    weight_acc.prove_consuming(&pcs, weight_data, &mut t)?;
    let record = close_record(&t.take_segment());
    out.write_all(&record).map_err(io_err)?;
    out.flush().map_err(io_err)?;
    timings.bytes += record.len() as u64;
    timings.close_s = started.elapsed().as_secs_f64();
    debug_assert_eq!(predicted, completion);
    Ok((header, completion, timings))
}
