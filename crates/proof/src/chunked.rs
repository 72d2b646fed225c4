//! The chunked (incremental) prover (issue 12): proves a greedy generation chunk by chunk on one
//! Fiat–Shamir transcript and writes the proof stream record by record (the protocol and the
//! format are `zkinfer_verifier::chunked`'s). Per chunk it holds one chunk's trace, witness and
//! commitment data; across chunks only the KV cache (the generator's own state), the current
//! keys/values epoch's rows (committed in the epoch's first chunk, taken from the generation
//! thread's KV cache as it feeds each position: no second run of the model over the epoch), the
//! weight claims and the `KV_e` claims and commitments.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use zkinfer_field::F;
use zkinfer_model::{IntCache, IntTensor, Model};
use zkinfer_ops::{ChunkIo, Claim, TensorLayout, WitnessBuilder};
use zkinfer_pcs::{OpeningAccumulator, Origin, PolyId, WhirCommitment, WhirProverData};
use zkinfer_transcript::{ProverTranscript, Transcript};
pub use zkinfer_verifier::chunked::*;
use zkinfer_verifier::check_request;

use crate::keys::{self, VerifyingKey};
use crate::{ProofSystemError, SharedWitness, WeightCommitment, model_err, weight_blocks};

/// A chunk's witness whose groups pack into 2^this entries or more (GPT-2 small at `C = 128`:
/// two groups of 2^27 from 128 cached positions, three from 256) is committed with EVERY group
/// released until its opening ([`zkinfer_pcs::WhirPcs::commit_owned_releasing`]), its first
/// group's codeword and Merkle tree (2.5× its packed polynomial at rate 1/2) included: they would
/// otherwise stay resident beside the other groups' packed polynomials through the graph proof,
/// the chunk's peak. Costs one more codeword and tree at the first group's opening; same
/// commitment and transcript, byte for byte. Smaller witnesses keep their first group's data
/// ([`zkinfer_pcs::WhirPcs::commit_owned_releasing_rest`]).
pub const RELEASE_ALL_FROM_VARS: usize = 28;

/// Whether a chunk witness of `packed` entries (its groups' padded sizes summed) releases every
/// group ([`RELEASE_ALL_FROM_VARS`]; tests: [`set_test_release_all_from`]).
pub fn releases_every_group(packed: u64) -> bool {
    #[cfg(feature = "test-hooks")]
    if let Some(vars) = TEST_RELEASE_ALL_FROM.with(std::cell::Cell::get) {
        return packed >= 1u64 << vars;
    }
    packed >= 1u64 << RELEASE_ALL_FROM_VARS
}

#[cfg(feature = "test-hooks")]
thread_local! {
    static TEST_RELEASE_ALL_FROM: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Tests only (feature `test-hooks`): on the calling thread, a chunk witness of 2^`vars` packed
/// entries or more releases every group ([`releases_every_group`]; `None`:
/// [`RELEASE_ALL_FROM_VARS`]), so that the tiny fixtures' chunks take that path.
#[cfg(feature = "test-hooks")]
pub fn set_test_release_all_from(vars: Option<usize>) {
    TEST_RELEASE_ALL_FROM.with(|c| c.set(vars));
}

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
    /// Per chunk: its record's bytes by phase (`statement`, `commitments` (the `W_k` and `KV_k`
    /// commitment messages and the link values), the graph pipeline's phases (`lookups`,
    /// `range relations`, `zero-checks`, `prove <op>`, `merge`, `virtual columns`), `cache split`,
    /// `witness opening`), in first-seen order.
    pub chunk_bytes: Vec<Vec<(String, usize)>>,
    /// Per chunk: its wall-clock seconds by phase, the phases of [`ChunkedTimings::chunk_bytes`]
    /// and those that write nothing (`keys/values ahead`, `trace`, `graph check`, `witness`,
    /// `keys/values commitment` (the epoch's `KV_e`, split out of the pipeline's `commit`),
    /// `claims`), in first-seen order; they sum to the chunk's entry of
    /// [`ChunkedTimings::chunks_s`] up to the record's writing.
    pub chunk_seconds: Vec<Vec<(String, f64)>>,
    /// Per chunk: the groups its witness commitment `W_k` is committed (and opened) in
    /// ([`chunk_witness_pcs`]; at most [`MAX_CHUNK_WITNESS_GROUPS`]).
    pub chunk_witness_groups: Vec<usize>,
    /// Per chunk: the entries of its witness batch as committed (blocks of the columns'
    /// extents, `zkinfer_pcs::sparse`), before the groups' power-of-two padding.
    pub chunk_witness_entries: Vec<u64>,
    /// Per chunk: whether its witness was committed with every group released until its opening
    /// ([`releases_every_group`]) rather than its first group held.
    pub chunk_released_all: Vec<bool>,
    /// The closing record's bytes by phase (`keys/values openings`, `weight blocks`,
    /// `weight opening`).
    pub close_bytes: Vec<(String, usize)>,
    /// The closing record's seconds by phase (`keys/values recommit`, `keys/values openings`,
    /// `weight blocks`, `weight recommit`, `weight opening`).
    pub close_seconds: Vec<(String, f64)>,
}

impl ChunkedTimings {
    /// Proving time proper (everything but generation and waiting for it).
    pub fn prove_s(&self) -> f64 {
        self.chunks_s.iter().sum::<f64>() + self.close_s
    }
}

/// Proof bytes written and wall-clock seconds per phase of a record (the transcript's length and
/// the clock between laps).
struct PhaseClock {
    written: usize,
    at: Instant,
    phases: Vec<(String, usize)>,
    seconds: Vec<(String, f64)>,
}

impl PhaseClock {
    fn new(t: &ProverTranscript) -> Self {
        Self { written: t.proof_len(), at: Instant::now(), phases: Vec::new(), seconds: Vec::new() }
    }
    /// Adds `bytes` to phase `name`.
    fn add(&mut self, name: &str, bytes: usize) {
        match self.phases.iter_mut().find(|(n, _)| n == name) {
            Some((_, b)) => *b += bytes,
            None => self.phases.push((name.to_string(), bytes)),
        }
    }
    /// Adds `seconds` to phase `name`.
    fn add_s(&mut self, name: &str, seconds: f64) {
        match self.seconds.iter_mut().find(|(n, _)| n == name) {
            Some((_, s)) => *s += seconds,
            None => self.seconds.push((name.to_string(), seconds)),
        }
    }
    /// Everything written and spent since the last lap is phase `name`.
    fn lap(&mut self, name: &str, t: &ProverTranscript) {
        self.add(name, t.proof_len() - self.written);
        self.written = t.proof_len();
        self.lap_s(name);
    }
    /// The time since the last lap is phase `name` (a phase that writes nothing).
    fn lap_s(&mut self, name: &str) {
        self.add_s(name, self.at.elapsed().as_secs_f64());
        self.at = Instant::now();
    }
    /// `attributed` bytes and `attributed_s` seconds since the last lap were attributed by
    /// [`PhaseClock::add`] and [`PhaseClock::add_s`]; the rest goes to phase `rest`.
    fn sync(&mut self, attributed: usize, attributed_s: f64, rest: &str, t: &ProverTranscript) {
        let rest_bytes = (t.proof_len() - self.written).saturating_sub(attributed);
        if rest_bytes > 0 {
            self.add(rest, rest_bytes);
        }
        self.written = t.proof_len();
        let rest_s = self.at.elapsed().as_secs_f64() - attributed_s;
        if rest_s > 0.0 {
            self.add_s(rest, rest_s);
        }
        self.at = Instant::now();
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

/// Which out-of-domain value a malicious prover shifts ([`set_test_ood_shift`]).
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OodShift {
    /// Group `group` of chunk `chunk`'s witness commitment `W_k`.
    Witness {
        /// The chunk.
        chunk: usize,
        /// The group.
        group: usize,
    },
    /// Cached tensor `slot` of the keys/values epoch committed in chunk `chunk`.
    KeysValues {
        /// The chunk (the epoch's first).
        chunk: usize,
        /// The cached tensor.
        slot: usize,
    },
}

#[cfg(feature = "test-hooks")]
thread_local! {
    static TEST_OOD_SHIFT: std::cell::Cell<Option<OodShift>> = const { std::cell::Cell::new(None) };
}

/// Tests only (feature `test-hooks`): on the calling thread, [`prove_chunked`] sends the chosen
/// out-of-domain value plus one, and carries the shifted value into its claims and openings as an
/// honest value (a malicious prover whose lie is consistent downstream; `None`: honest).
#[cfg(feature = "test-hooks")]
pub fn set_test_ood_shift(shift: Option<OodShift>) {
    TEST_OOD_SHIFT.with(|c| c.set(shift));
}

/// The shift the prover adds to an out-of-domain value: one for the value [`set_test_ood_shift`]
/// chose (tests only), zero otherwise.
#[allow(unused_variables)]
fn ood_shift(chunk: usize, witness_group: Option<usize>, kv_slot: Option<usize>) -> zkinfer_field::EF {
    #[cfg(feature = "test-hooks")]
    {
        let hit = match TEST_OOD_SHIFT.with(std::cell::Cell::get) {
            Some(OodShift::Witness { chunk: c, group }) => c == chunk && witness_group == Some(group),
            Some(OodShift::KeysValues { chunk: c, slot }) => c == chunk && kv_slot == Some(slot),
            None => false,
        };
        if hit {
            return <zkinfer_field::EF as zkinfer_field::PrimeCharacteristicRing>::ONE;
        }
    }
    <zkinfer_field::EF as zkinfer_field::PrimeCharacteristicRing>::ZERO
}

#[cfg(feature = "test-hooks")]
thread_local! {
    static TEST_ROWS_RECOMPUTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static TEST_GENERATED_ROW_SHIFT: std::cell::Cell<Option<(usize, i64)>> = const { std::cell::Cell::new(None) };
}

/// Tests only (feature `test-hooks`): on the calling thread, [`prove_chunked`] recomputes each
/// keys/values epoch by running the model over the epoch's chunks (the prover before session 12)
/// instead of taking the generator's rows.
#[cfg(feature = "test-hooks")]
pub fn set_test_rows_recomputed(on: bool) {
    TEST_ROWS_RECOMPUTED.with(|c| c.set(on));
}

/// Tests only (feature `test-hooks`): on the calling thread, the generator's keys/values as the
/// prover takes them for an epoch have `delta` added at position `pos` (first element, first
/// head, every cached tensor): a generator whose cache disagrees with the chunks' traces.
#[cfg(feature = "test-hooks")]
pub fn set_test_generated_row_shift(shift: Option<(usize, i64)>) {
    TEST_GENERATED_ROW_SHIFT.with(|c| c.set(shift));
}

/// Whether [`set_test_rows_recomputed`] asked for the recomputation (always false without the
/// feature).
fn test_rows_recomputed() -> bool {
    #[cfg(feature = "test-hooks")]
    {
        TEST_ROWS_RECOMPUTED.with(std::cell::Cell::get)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        false
    }
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
        let (tx, rx) = std::sync::mpsc::channel::<GeneratedStep>();
        let generator = scope.spawn(move || {
            let start = Instant::now();
            let mut generated = 0;
            let mut fed = 0;
            let result = model.generate_int_with_cache(prompt, n, &vk.eog_ids, |tok, cache| {
                generated += 1;
                progress(ChunkStage::Token { generated, total: n });
                // The keys/values of the positions this step fed (the prover commits them ahead of
                // its chunks, `GeneratedRows::epoch_rows`; ≈ 147 KB per position for GPT-2 small, held until
                // the epoch is taken).
                let rows = cache.tensors().iter().map(|t| fed_rows(t, fed)).collect();
                fed = cache.len();
                // A closed channel means the prover failed: stop generating.
                tx.send(GeneratedStep { token: tok, fed, rows }).is_ok()
            });
            (result, start.elapsed().as_secs_f64())
        });
        let tokens = Tokens { rx, generator: Some(generator), completion: Vec::new(), generate_s: 0.0, kv: GeneratedRows::default() };
        prove_stream(model, vk, weights, prompt, chunk, header, tokens, out, progress, tamper)
    })
}

/// One generation step as the generator thread sends it: the token, the positions fed so far
/// (`IntCache::len` after the step) and, per cached tensor, its `(H, d)` and the keys/values of
/// the positions this step fed, position-major (`[p][H][d]`, [`fed_rows`]).
struct GeneratedStep {
    token: u32,
    fed: usize,
    rows: Vec<(usize, usize, Vec<i64>)>,
}

/// Rows `[from, n)` of a cached tensor `[H, n, d]`: `(H, d, rows)` with the rows position-major
/// (`[n − from][H][d]`); `(0, 0, [])` if the shape is not `[H, n, d]` (then
/// [`GeneratedRows::epoch_rows`] finds the rows missing and the prover stops with an error).
fn fed_rows(t: &IntTensor, from: usize) -> (usize, usize, Vec<i64>) {
    let [h, n, d] = t.shape[..] else { return (0, 0, Vec::new()) };
    let mut out = Vec::with_capacity(n.saturating_sub(from) * h * d);
    for p in from..n {
        for hh in 0..h {
            out.extend_from_slice(&t.data[(hh * n + p) * d..(hh * n + p + 1) * d]);
        }
    }
    (h, d, out)
}

/// The tokens the generation thread produced so far, and the keys/values of the positions it fed.
struct Tokens<'scope> {
    rx: std::sync::mpsc::Receiver<GeneratedStep>,
    generator: Option<std::thread::ScopedJoinHandle<'scope, (Result<Vec<u32>, zkinfer_model::ModelError>, f64)>>,
    completion: Vec<u32>,
    generate_s: f64,
    /// The keys/values of the positions fed so far.
    kv: GeneratedRows,
}

/// The generator's keys/values: per cached tensor, its `(H, d)` and the rows of positions
/// `[rows_from, rows_to)`, position-major; positions before `rows_from` were taken by an epoch
/// ([`GeneratedRows::epoch_rows`]).
#[derive(Default)]
struct GeneratedRows {
    rows: Vec<(usize, usize, Vec<i64>)>,
    rows_from: usize,
    rows_to: usize,
}

impl Tokens<'_> {
    /// Waits until the completion has at least `len` tokens or generation ended; returns whether
    /// generation ended (then the completion is the generator's whole output, checked).
    fn wait_for(&mut self, len: usize) -> Result<bool, ProofSystemError> {
        while self.generator.is_some() && self.completion.len() < len {
            match self.rx.recv() {
                Ok(step) => {
                    self.completion.push(step.token);
                    self.kv.take(step)?;
                }
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

impl GeneratedRows {
    /// Appends one generation step's keys/values.
    fn take(&mut self, step: GeneratedStep) -> Result<(), ProofSystemError> {
        let bad = || ProofSystemError::Request("the generator's keys/values do not fit its cache".into());
        if self.rows.is_empty() {
            self.rows = step.rows.iter().map(|(h, d, _)| (*h, *d, Vec::new())).collect();
        }
        let new = step.fed.checked_sub(self.rows_to).ok_or_else(bad)?;
        if step.rows.len() != self.rows.len() {
            return Err(bad());
        }
        for ((h, d, all), (sh, sd, rows)) in self.rows.iter_mut().zip(step.rows) {
            if (sh, sd) != (*h, *d) || rows.len() != new * *h * *d {
                return Err(bad());
            }
            all.extend_from_slice(&rows);
        }
        self.rows_to = step.fed;
        Ok(())
    }

    /// The generator's keys/values of positions `[s, end)` as epoch tensors `[H, rows, d]` (zero
    /// rows after `end − s`), what [`rows_ahead`] computes by running the model again; the
    /// positions before `end` are then dropped (epochs are taken in order). An error if the
    /// generator has not fed them (the caller waited for the tokens after `end`, so it has).
    fn epoch_rows(&mut self, s: usize, end: usize, rows: usize) -> Result<Vec<Vec<i64>>, ProofSystemError> {
        if s < self.rows_from || end > self.rows_to || end < s || end - s > rows {
            return Err(ProofSystemError::Request(format!(
                "the generator's keys/values hold positions {}..{}, the epoch needs {s}..{end}",
                self.rows_from, self.rows_to
            )));
        }
        let mut out = Vec::with_capacity(self.rows.len());
        for (h, d, all) in &mut self.rows {
            let (h, d) = (*h, *d);
            let mut t = vec![0i64; h * rows * d];
            for p in s..end {
                let at = (p - self.rows_from) * h * d;
                for hh in 0..h {
                    t[(hh * rows + p - s) * d..(hh * rows + p - s + 1) * d].copy_from_slice(&all[at + hh * d..at + (hh + 1) * d]);
                }
            }
            #[cfg(feature = "test-hooks")]
            if let Some((pos, delta)) = TEST_GENERATED_ROW_SHIFT.with(std::cell::Cell::get)
                && (s..end).contains(&pos)
                && h * d > 0
            {
                // Tests: the first element of one position's row, in the first head.
                t[(pos - s) * d] += delta;
            }
            all.drain(..(end - self.rows_from) * h * d);
            out.push(t);
        }
        self.rows_from = end;
        Ok(out)
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
    // Every opening's target, derived from the header as the verifier derives it.
    let security = StreamSecurity::for_key(vk, &header);
    security.check(&header).map_err(ProofSystemError::Request)?;
    security.check_composed(&header, vk).map_err(ProofSystemError::Request)?;
    let weight_pcs = security.weight_pcs();
    let kv_pcs = chunk_kv_pcs(security.term_bits());
    let witness_pcs = chunk_witness_pcs(security.term_bits());
    let epochs = Epochs::for_header(&header);
    let c_vars = chunk.trailing_zeros() as usize;
    let mut cache = model.new_int_cache();
    // Per keys/values epoch (`Epochs`): its commitment and the claims on it.
    let mut kv_coms: Vec<WhirCommitment> = Vec::new();
    let mut kv_accs: Vec<OpeningAccumulator> = Vec::new();
    let mut weight_claims = weight_blocks::WeightClaims::new();
    let mut predicted: Vec<u32> = Vec::new();
    // The current epoch's committed keys/values: per cached tensor `[H, 2^b·C, d]` row-major.
    let mut epoch_rows: Vec<Vec<i64>> = Vec::new();
    // The honest keys/values of a tampered epoch (what KV_e commits unless `commit_perturbed`).
    let mut honest_kv: Option<(usize, Vec<Vec<F>>)> = None;
    let p_len = prompt.len();

    let mut s = 0;
    for k in 0.. {
        let (epoch, (first_chunk, b)) = (epochs.of(k), epochs.range(epochs.of(k)));
        let starts_epoch = k == first_chunk;
        // Chunk k covers [s, s + C) and needs the tokens at those positions plus the prediction
        // after its last row; the first chunk of an epoch commits the keys/values of the whole
        // epoch, so it needs the tokens of [s, s + 2^b·C) (or the whole generation).
        let horizon = s + if starts_epoch { chunk << b } else { chunk };
        let waited = Instant::now();
        // At least one token: the generator feeds the prompt in its first step, and the epoch's keys/values
        // are taken from its cache (`GeneratedRows::epoch_rows`).
        let done = tokens.wait_for((horizon + 1).saturating_sub(p_len).max(1))?;
        timings.waits_s.push(waited.elapsed().as_secs_f64());
        let completion = &tokens.completion;
        let total = if done { p_len + completion.len().max(1) - 1 } else { horizon };
        if s >= total {
            timings.waits_s.pop();
            break;
        }
        let started = Instant::now();
        let mut clock = PhaseClock::new(&t);
        let n_new = chunk.min(total - s);
        progress(ChunkStage::Chunk { index: k, start: s, len: n_new });
        let id_at = |p: usize| if p < p_len { prompt[p] } else { completion[p - p_len] };
        if starts_epoch {
            // The generator's own keys/values (it fed every position up to the horizon); recomputed
            // from this prover's cache where a test asks for it, and for a malicious prover's
            // tests (whose later chunks run on its perturbed cache, not the generator's).
            let end = total.min(s + (chunk << b));
            epoch_rows = if test_rows_recomputed() || tamper.is_some() { rows_ahead(model, &cache, s, end, chunk, b, &id_at)? } else { tokens.kv.epoch_rows(s, end, chunk << b)? };
            clock.lap_s("keys/values ahead");
        }
        let ids: Vec<u32> = (s..s + n_new).map(id_at).collect();
        let shape = ChunkShape::new(s, n_new, p_len);
        let fwd = model.step_forward_int(&mut cache, &ids, shape.n_out).map_err(model_err)?;
        zkinfer_procfs::mem_trace(&format!("chunk {k} (positions {s}..{}): traced", s + n_new));
        clock.lap_s("trace");
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
        clock.lap_s("graph check");
        t.send_u32(n_new as u32);
        for &p in &preds {
            t.send_u32(p);
        }
        clock.lap("statement", &t);
        let (new, past) = kv_tensors(graph, &names, first)?;
        let io = ChunkIo { deferred: past.clone(), gkr_leaves: Some(CHUNK_GKR_LEAVES) };
        let local = k - first_chunk;
        if tamper.is_none() && (0..new.len()).any(|slot| epoch_chunk_rows(&epoch_rows[slot], &cache.tensors()[slot], local, chunk, b, s, n_new) == Some(false)) {
            return Err(ProofSystemError::Rejected(format!("chunk {k}: the keys/values computed ahead differ from the chunk's")));
        }
        let mut kv_values: Vec<&[i64]> =
            new.iter().map(|&id| fwd.trace.get(id).map(|v| v.data.as_slice()).ok_or_else(|| ProofSystemError::Request("missing keys/values".into()))).collect::<Result<_, _>>()?;
        // A tampered chunk: the cache carried out of it is perturbed now (the step appended this
        // chunk's rows), so the later chunks read the perturbed values.
        let perturbed_rows: Vec<Vec<i64>>;
        if let Some(tm) = tamper.filter(|tm| tm.at == k) {
            let dims: Vec<Vec<usize>> = new.iter().map(|&id| graph.meta(id).shape.clone()).collect();
            honest_kv = Some((epoch, epoch_polys(&epoch_rows, &dims, chunk, b)?));
            tm.perturb(&mut cache, s)?;
            if tm.commit_perturbed {
                if !starts_epoch {
                    return Err(ProofSystemError::Request("a committed perturbation must be at the first chunk of an epoch".into()));
                }
                perturbed_rows = cache.tensors().iter().map(|c| chunk_rows(c, s, n_new)).collect::<Result<_, _>>()?;
                kv_values = perturbed_rows.iter().map(Vec::as_slice).collect();
                // The epoch commits the perturbed rows and what the later chunks compute from them.
                let mut ahead = cache.clone();
                let end = total.min(s + (chunk << b));
                let mut p = s + n_new;
                while p < end {
                    let q = (p + chunk).min(end);
                    model.advance_int_cache(&mut ahead, &(p..q).map(id_at).collect::<Vec<_>>()).map_err(model_err)?;
                    p = q;
                }
                epoch_rows = epoch_rows_of(&ahead, s, end, chunk << b)?;
            }
        }
        let new_dims: Vec<Vec<usize>> = new.iter().map(|&id| graph.meta(id).shape.clone()).collect();
        let kv_polys_e = if starts_epoch { Some(epoch_polys(&epoch_rows, &new_dims, chunk, b)?) } else { None };
        let mut link: Vec<(usize, Vec<zkinfer_field::EF>, zkinfer_field::EF)> = Vec::with_capacity(new.len());
        let mut kv_commit_s = 0.0;
        let mut kv_ood: Vec<(usize, Vec<zkinfer_field::EF>, zkinfer_field::EF)> = Vec::new();
        let (mut witness_groups, mut witness_entries, mut released_all) = (0, 0, false);
        let proven = zkinfer_ops::prove_graph_chunk(graph, model.weights(), &fwd.trace, &io, &mut t, |w: &mut WitnessBuilder, t| {
            let witness_err = |e: zkinfer_pcs::PcsError| zkinfer_ops::ProofError::witness("commit", e.to_string());
            // The verifier refuses a chunk whose witness needs more groups than the stream's
            // soundness bound allows; refuse it here first, from the same shapes it derives.
            let witness_vars = w.plan().sparse_layout().committed_num_vars();
            witness_entries = witness_vars.iter().map(|&m| 1u64 << m).sum();
            witness_groups = zkinfer_verifier::chunked::check_chunk_witness_groups(&witness_vars).map_err(|e| zkinfer_ops::ProofError::witness("commit", e))?;
            let cols = w.take_committed()?;
            // Groups after the first are released until the opening (rebuilt there, after the
            // first group's opening has freed its data): their codewords stay out of the lookup
            // GKRs' window, the chunk's peak (`CHUNK_GKR_LEAVES`). A witness of
            // 2^`RELEASE_ALL_FROM_VARS` packed entries or more releases its first group too.
            let packed = witness_pcs.group_num_vars(&witness_vars).map_err(witness_err)?.iter().map(|&v| 1u64 << v).sum::<u64>();
            released_all = releases_every_group(packed);
            let (com, data) = if released_all { witness_pcs.commit_owned_releasing(cols) } else { witness_pcs.commit_owned_releasing_rest(cols) }.map_err(witness_err)?;
            // Roots only: the verifier derives both batches' shapes from the chunk graph.
            t.send_bytes(&com.roots_bytes());
            // Each group's out-of-domain sample right after the roots (stream version 8).
            let points: Vec<Vec<zkinfer_field::EF>> = witness_pcs.ood_num_vars(&com).map_err(witness_err)?.iter().map(|&n| t.challenge_exts(n)).collect();
            let values = witness_pcs.ood_values(&data, &points).map_err(witness_err)?;
            let mut ood = Vec::with_capacity(points.len());
            for (g, (point, value)) in points.into_iter().zip(values).enumerate() {
                let value = value + ood_shift(k, Some(g), None);
                t.send_ext(value);
                ood.push(zkinfer_pcs::GroupOod { point, value });
            }
            let data = Arc::new(SharedWitness(data));
            w.share_committed(data.clone())?;
            let kv_started = Instant::now();
            let kv_com = match kv_polys_e {
                Some(polys) => {
                    let kv_vars: Vec<usize> = polys.iter().map(|p| p.len().trailing_zeros() as usize).collect();
                    check_kv_groups(&kv_vars).map_err(|e| zkinfer_ops::ProofError::witness("commit", e))?;
                    let (kv_com, kv_data) = kv_pcs.commit_owned(polys).map_err(witness_err)?;
                    t.send_bytes(&kv_com.roots_bytes());
                    // Each keys/values polynomial's out-of-domain sample right after the roots.
                    for (slot, &m) in kv_vars.iter().enumerate() {
                        let zeta = t.challenge_exts(m);
                        let evals = kv_data.poly_evals(slot).ok_or_else(|| zkinfer_ops::ProofError::witness("commit", "a keys/values polynomial is missing".to_string()))?;
                        let y = zkinfer_poly::Mle::new(evals.to_vec()).evaluate(&zeta) + ood_shift(k, None, Some(slot));
                        t.send_ext(y);
                        kv_ood.push((slot, zeta, y));
                    }
                    Some(kv_com)
                }
                None => None,
            };
            kv_commit_s = kv_started.elapsed().as_secs_f64();
            let mut injected = Vec::with_capacity(new.len());
            for (slot, ((&id, v), dims)) in new.iter().zip(&kv_values).zip(&new_dims).enumerate() {
                let layout = TensorLayout::new(dims);
                let z = t.challenge_exts(layout.num_vars());
                let value = layout.evaluate_i64(v, &z);
                t.send_ext(value);
                let on_epoch = link_point_on_epoch(dims, &z, local, b, c_vars).map_err(|e| zkinfer_ops::ProofError::witness("link", e.to_string()))?;
                link.push((slot, on_epoch, value));
                injected.push((id, Claim::new(z, value)));
            }
            Ok(((data, ood, kv_com), injected))
        })?;
        let (witness_data, witness_ood, kv_com) = proven.commitment;
        // The pipeline's phases (their bytes include the commit hook's messages as `commit`).
        let (mut attributed, mut attributed_s) = (0, 0.0);
        for (name, secs, b) in &proven.timings {
            let (name, secs) = if name == "commit" {
                // The hook's `KV_e` commitment is its own phase.
                clock.add_s("keys/values commitment", kv_commit_s);
                ("commitments", secs - kv_commit_s)
            } else {
                (name.as_str(), *secs)
            };
            clock.add(name, *b);
            clock.add_s(name, secs);
            attributed += b;
            attributed_s += secs;
        }
        clock.sync(attributed, attributed_s + kv_commit_s, "graph (other)", &t);
        let mut accs = proven.accumulators;
        let deferred = std::mem::take(&mut accs.deferred);
                weight_claims.add(template, graph, std::mem::take(&mut accs.weights));
        let witness_claims = accs.witness.opening_claims(&proven.witness.plan().commitment_ids())?;
        if let Some(kv_com) = kv_com {
            kv_coms.push(kv_com);
            kv_accs.push(OpeningAccumulator::new());
        }
        for (slot, point, value) in kv_ood.into_iter().chain(link) {
            kv_accs[epoch].push(PolyId::Slot(slot), Origin::External, point, value);
        }
        clock.lap_s("claims");
        for c in deferred.into_claims() {
            let slot = past.iter().position(|p| PolyId::Tensor(p.0) == c.poly).ok_or_else(|| ProofSystemError::Request("claim on an unknown cache".into()))?;
            let dims = graph.meta(past[slot]).shape.clone();
            let cached = &cache.tensors()[slot];
            for part in epoch_split(epochs, &dims, c_vars, &c.point)? {
                match part {
                    EpochPart::Full { epoch: e, point, .. } => {
                        let (f, be) = epochs.range(e);
                        let rows = epoch_rows_of_tensor(cached, f * chunk, (f + (1 << be)) * chunk, chunk << be)?;
                        let w = TensorLayout::new(&epoch_dims(&dims, be, chunk)?).evaluate_i64(&rows, &point);
                        t.send_ext(w);
                        kv_accs[e].push(PolyId::Slot(slot), Origin::External, point, w);
                    }
                    EpochPart::Partial { epoch: e, b: be, head, tail, .. } => {
                        let (f, _) = epochs.range(e);
                        let layout = TensorLayout::new(&[dims[0], chunk, dims[2]]);
                        let point: Vec<zkinfer_field::EF> = [&head[..], &tail[..]].concat();
                        let mut u = Vec::with_capacity(1 << be);
                        for i in 0..1usize << be {
                            // Chunks before this one from the cache it read; the rest as committed.
                            let rows = if f + i < k {
                                chunk_rows(cached, (f + i) * chunk, chunk)?
                            } else {
                                epoch_local_rows(&epoch_rows[slot], dims[0], dims[2], i, chunk, chunk << be)
                            };
                            let v = layout.evaluate_i64(&rows, &point);
                            t.send_ext(v);
                            u.push(v);
                        }
                        let rho = t.challenge_exts(be);
                        let value = eq_weights(&rho).iter().zip(&u).map(|(w, u)| *w * *u).sum();
                        kv_accs[e].push(PolyId::Slot(slot), Origin::External, EpochPart::partial_point(&head, &rho, &tail), value);
                    }
                }
            }
        }
        clock.lap("cache split", &t);
        // The committed batch is the blocks of the witness columns' extents (zkinfer_pcs::sparse).
        let witness_layout = proven.witness.plan().sparse_layout();
        drop(proven.witness);
        drop(fwd);
        let witness_data = Arc::try_unwrap(witness_data)
            .map_err(|_| ProofSystemError::Rejected("the witness commitment is still shared after the graph proof".into()))?
            .0;
        witness_pcs.open_sparse_ood(witness_data, &witness_layout, &witness_claims, &witness_ood, &mut t)?;
        clock.lap("witness opening", &t);
        zkinfer_procfs::mem_trace(&format!("chunk {k}: proven"));
        timings.chunk_bytes.push(clock.phases);
        timings.chunk_seconds.push(clock.seconds);
        timings.chunk_witness_groups.push(witness_groups);
        timings.chunk_witness_entries.push(witness_entries);
        timings.chunk_released_all.push(released_all);
        let record = chunk_record(k as u32, &t.take_segment());
        out.write_all(&record).map_err(io_err)?;
        timings.bytes += record.len() as u64;
        timings.chunks_s.push(started.elapsed().as_secs_f64());
        progress(ChunkStage::Proven { index: k });
        s += n_new;
    }
    drop(epoch_rows);
    tokens.join()?;
    timings.generate_s = tokens.generate_s;
    let completion = std::mem::take(&mut tokens.completion);

    progress(ChunkStage::Close);
    let started = Instant::now();
    let mut clock = PhaseClock::new(&t);
    for (e, (acc, com)) in kv_accs.into_iter().zip(&kv_coms).enumerate() {
        let (f, b) = epochs.range(e);
        let polys = match honest_kv.take_if(|(at, _)| *at == e) {
            // The tampered epoch as committed (honest, or perturbed as the cache is).
            Some((_, honest)) if !tamper.is_some_and(|tm| tm.commit_perturbed) => honest,
            _ => {
                let dims: Vec<Vec<usize>> = cache.tensors().iter().map(|c| c.shape.clone()).collect();
                let rows = epoch_rows_of(&cache, f * chunk, s.min((f + (1 << b)) * chunk), chunk << b)?;
                epoch_polys(&rows, &dims, chunk, b)?
            }
        };
        let (again, data): (WhirCommitment, WhirProverData) = kv_pcs.commit_owned(polys)?;
        clock.lap_s("keys/values recommit");
        if &again != com {
            return Err(ProofSystemError::Rejected(format!("{}: the keys/values recommitted differ from the committed ones", epochs.name(e))));
        }
        acc.prove_consuming(&kv_pcs, data, &PolyId::slots(com.poly_num_vars.len()), &mut t)?;
        clock.lap("keys/values openings", &t);
        zkinfer_procfs::mem_trace(&format!("close: {} opened", epochs.name(e)));
    }
    drop(cache);
    let weight_acc = weight_blocks::prove_block_claims(&vk.weights, model.weights(), &weight_claims, &mut t)?;
    clock.lap("weight blocks", &t);
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
    clock.lap_s("weight recommit");
    keys::prove_weight_opening(&weight_pcs, vk, weight_data, weight_acc, &weight_blocks::WeightBlockPlan::for_weights(&vk.weights).poly_ids(), &mut t)?;
    clock.lap("weight opening", &t);
    zkinfer_procfs::mem_trace("close: weights opened");
    timings.close_bytes = clock.phases;
    timings.close_seconds = clock.seconds;
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

/// Rows `[start, end)` of a cached tensor `[H, n, d]` as an epoch tensor `[H, rows, d]`
/// (row-major, zero rows after `end − start`).
fn epoch_rows_of_tensor(t: &IntTensor, start: usize, end: usize, rows: usize) -> Result<Vec<i64>, ProofSystemError> {
    let [h, n, d] = t.shape[..] else {
        return Err(ProofSystemError::Request(format!("cached tensor of shape {:?}", t.shape)));
    };
    if end > n || end < start || end - start > rows {
        return Err(ProofSystemError::Request("cached tensor shorter than its epoch".into()));
    }
    let mut out = vec![0i64; h * rows * d];
    for hh in 0..h {
        out[hh * rows * d..hh * rows * d + (end - start) * d].copy_from_slice(&t.data[(hh * n + start) * d..(hh * n + end) * d]);
    }
    Ok(out)
}

/// [`epoch_rows_of_tensor`] of every cached tensor.
fn epoch_rows_of(cache: &IntCache, start: usize, end: usize, rows: usize) -> Result<Vec<Vec<i64>>, ProofSystemError> {
    cache.tensors().iter().map(|t| epoch_rows_of_tensor(t, start, end, rows)).collect()
}

/// The keys/values of positions `[s, end)` (an epoch of `2^b` chunks from `s`), computed ahead of
/// the chunks' proofs by extending a copy of `cache` (which holds `[0, s)`) chunk by chunk, as
/// epoch tensors `[H, 2^b·C, d]`.
fn rows_ahead(model: &Model, cache: &IntCache, s: usize, end: usize, chunk: usize, b: usize, id_at: &impl Fn(usize) -> u32) -> Result<Vec<Vec<i64>>, ProofSystemError> {
    let mut ahead = cache.clone();
    let mut p = s;
    while p < end {
        let q = (p + chunk).min(end);
        model.advance_int_cache(&mut ahead, &(p..q).map(id_at).collect::<Vec<_>>()).map_err(model_err)?;
        p = q;
    }
    epoch_rows_of(&ahead, s, end, chunk << b)
}

/// Local chunk `i`'s rows `[H, C, d]` of an epoch tensor `[H, rows, d]`.
fn epoch_local_rows(epoch: &[i64], h: usize, d: usize, i: usize, chunk: usize, rows: usize) -> Vec<i64> {
    (0..h).flat_map(|hh| epoch[(hh * rows + i * chunk) * d..(hh * rows + (i + 1) * chunk) * d].iter().copied()).collect()
}

/// Whether local chunk `local`'s committed rows (`n_new` of them) equal the cache's rows
/// `[s, s + n_new)`; `None` if the shapes do not fit.
fn epoch_chunk_rows(epoch: &[i64], cached: &IntTensor, local: usize, chunk: usize, b: usize, s: usize, n_new: usize) -> Option<bool> {
    let [h, n, d] = cached.shape[..] else { return None };
    let rows = chunk << b;
    if s + n_new > n || epoch.len() != h * rows * d {
        return None;
    }
    Some((0..h).all(|hh| {
        epoch[(hh * rows + local * chunk) * d..(hh * rows + local * chunk + n_new) * d] == cached.data[(hh * n + s) * d..(hh * n + s + n_new) * d]
    }))
}

/// The `KV_e` polynomials: each epoch tensor padded per its layout (`[H, 2^b·C, d]`, the `H` and
/// `d` of `dims`).
fn epoch_polys(rows: &[Vec<i64>], dims: &[Vec<usize>], chunk: usize, b: usize) -> Result<Vec<Vec<F>>, ProofSystemError> {
    rows.iter().zip(dims).map(|(r, d)| Ok(TensorLayout::new(&epoch_dims(d, b, chunk)?).pad_i64(r))).collect()
}
