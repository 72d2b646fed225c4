//! The prover's memory policy, one definition for the CLI (`prove`, `bench`, `demo`), the server
//! and the benches: whether the weight commitment's prover data is held through a proof or the
//! weights are recommitted after the witness opening ([`weight_commitment`]), and the estimated
//! peak of a proof that chooses the default chunk size ([`estimated_peak_bytes`],
//! [`default_chunk`]).

use crate::{ProvingKey, VerifyingKey, WeightCommitment};

/// Packed weight polynomials from this many variables on are recommitted after the witness
/// opening instead of being held through the whole proof (GPT-2 small packs into 2^27).
pub const RECOMMIT_FROM_VARS: usize = 24;

/// True if the model behind `vk` is large enough for [`WeightCommitment::Recommit`].
pub fn recommits_weights(vk: &VerifyingKey) -> bool {
    vk.weight_packed_num_vars().is_some_and(|n| n >= RECOMMIT_FROM_VARS)
}

/// How the prover gets the weight commitment: held from setup for small models; recomputed after
/// the witness opening for large ones ([`recommits_weights`]), so that the two commitments' data
/// are never resident together (lower peak memory for one more weight commitment).
pub fn weight_commitment(pk: ProvingKey) -> (VerifyingKey, WeightCommitment) {
    let ProvingKey { vk, weight_data } = pk;
    if recommits_weights(&vk) {
        drop(weight_data);
        (vk, WeightCommitment::Recommit)
    } else {
        (vk, WeightCommitment::Ready(Box::new(weight_data)))
    }
}

/// Memory budget of a default `prove`/`bench` (bytes): the chunk size is chosen so that the
/// estimated peak stays below this or 3/4 of the available memory, whichever is smaller.
pub const DEFAULT_MEMORY_BUDGET: u64 = 15 << 29; // 7.5 GiB

/// Resident bytes per activation entry of a chunk's graph while it is proven (the trace's `i64`,
/// the witness columns, their WHIR codeword at rate 1/2 and Merkle tree, the provers' tables),
/// fitted on GPT-2 small (docs/BENCHMARKS.md, "Chunked proving").
pub const BYTES_PER_ACTIVATION: u64 = 225;
/// Resident bytes per weight entry while chunks are proven (the integer model).
pub const BYTES_PER_WEIGHT: u64 = 15;
/// Resident bytes per weight entry at the weight opening (the model, the recommitted weights'
/// packed polynomial, codeword and Merkle tree, the batching tables): the one-pass proof's and the
/// closing record's peak.
pub const OPENING_BYTES_PER_WEIGHT: u64 = 60;

/// Entries of the model's weights (every weight tensor of the key).
pub fn weight_entries(vk: &VerifyingKey) -> u64 {
    vk.weights.iter().map(|w| w.shape.iter().product::<usize>() as u64).sum()
}

/// Entries of a graph's activations and public inputs (everything but its weights).
fn activation_entries(g: &zkinfer_model::Graph) -> u64 {
    g.tensors.iter().filter(|m| m.source != zkinfer_model::TensorSource::Weight).map(|m| m.shape.iter().product::<usize>() as u64).sum()
}

/// Estimated peak resident bytes of proving `positions` positions in chunks of `chunk` (one pass
/// if `chunk ≥ positions`), every position predicted (the worst case): the larger of the weight
/// opening's (`OPENING_BYTES_PER_WEIGHT` per weight entry) and the largest chunk's (the model
/// plus `BYTES_PER_ACTIVATION` per activation entry of the last chunk's graph, whose attention
/// reads every earlier position, or of the full chunk before it).
pub fn estimated_peak_bytes(vk: &VerifyingKey, chunk: usize, positions: usize) -> u64 {
    let weights = weight_entries(vk);
    let activations = if chunk >= positions {
        vk.graph(positions, positions).as_ref().map_or(0, activation_entries)
    } else {
        let last = match positions % chunk {
            0 => chunk,
            r => r,
        };
        let before = positions - last - chunk;
        let full = if before == 0 { vk.graph(chunk, chunk) } else { vk.step_graph(chunk, before, chunk) };
        let tail = vk.step_graph(last, positions - last, last);
        [full, tail].iter().filter_map(|g| g.as_ref().ok()).map(activation_entries).max().unwrap_or(0)
    };
    (weights * BYTES_PER_WEIGHT + activations * BYTES_PER_ACTIVATION).max(weights * OPENING_BYTES_PER_WEIGHT)
}

/// The default chunk size for `positions` positions: the largest power of two whose estimated
/// peak ([`estimated_peak_bytes`]) fits the budget ([`DEFAULT_MEMORY_BUDGET`], or 3/4 of the
/// available memory if that is less); a transcript that fits one chunk is proven in one pass.
pub fn default_chunk(vk: &VerifyingKey, positions: usize) -> usize {
    let available = zkinfer_procfs::available_memory().map_or(u64::MAX, |a| a / 4 * 3);
    chunk_for_budget(vk, positions, DEFAULT_MEMORY_BUDGET.min(available))
}

/// The largest power of two `C` (at most the transcript, at most
/// [`crate::chunked::MAX_CHUNK`]) whose estimated peak fits `budget`. The weight opening's part of
/// the estimate does not depend on `C`: when it alone is over the budget, smaller chunks cannot
/// lower the peak and only multiply the proof (SmolLM2-135M: 8.07 GB, just over 7.5 GiB, used to
/// give `C = 1`, 69 chunks and an 83.5 MB proof), so the chunks are then allowed as much as the
/// weight opening takes.
pub fn chunk_for_budget(vk: &VerifyingKey, positions: usize, budget: u64) -> usize {
    let weights = weight_entries(vk);
    let budget = budget.max(weights * OPENING_BYTES_PER_WEIGHT);
    let mut c = positions.max(1).next_power_of_two().min(crate::chunked::MAX_CHUNK as usize);
    while c > 1 && estimated_peak_bytes(vk, c, positions) > budget {
        c /= 2;
    }
    c
}
