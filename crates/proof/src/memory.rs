//! The prover's memory policy, one definition for the CLI (`prove`, `bench`, `demo`), the server
//! and the benches: whether the weight commitment's prover data is held through a proof or the
//! weights are recommitted after the witness opening ([`weight_commitment`]), and the estimated
//! peak of a proof that chooses the default chunk size ([`estimated_peak_bytes`],
//! [`default_chunk`]).

use crate::{ProofSystemError, ProvingKey, VerifyingKey, WeightCommitment};

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

/// Whether a one-pass proof of `graph` commits its witness releasing the codewords
/// (`zkinfer_pcs::WhirPcs::commit_owned_releasing`: each group keeps its packed polynomial and
/// Merkle root through the graph proof, and the opening recomputes the codeword and tree — about
/// 2.5× the packed witness's bytes not resident for most of the proof, one more DFT and Merkle
/// tree at the opening; [`crate::prove_spilling`] then also spills the model's weights during the
/// witness opening): only when the plain one pass is estimated ([`one_pass_bytes`]) over the
/// budget ([`policy_budget`]), so a proof that fits keeps its prove time (GPT-2 small at 32
/// positions: 5.7 GB estimated, held; SmolLM2 one pass: 21.0 GB estimated, released; its
/// released estimate, [`one_pass_released_bytes`], is what [`one_pass_peak_bytes`] gives then).
/// Same proof bytes either way.
pub fn one_pass_releases_codewords(vk: &VerifyingKey, graph: &zkinfer_model::Graph) -> bool {
    one_pass_bytes(weight_entries(vk), activation_entries(graph)) > policy_budget()
}

/// The budget of the default policy: [`DEFAULT_MEMORY_BUDGET`], or 3/4 of the available memory
/// if that is less.
pub fn policy_budget() -> u64 {
    let available = zkinfer_procfs::available_memory().map_or(u64::MAX, |a| a / 4 * 3);
    DEFAULT_MEMORY_BUDGET.min(available)
}

/// Memory budget of a default `prove`/`bench` (bytes): the chunk size is chosen so that the
/// estimated peak stays below this or 3/4 of the available memory, whichever is smaller. The
/// estimate is fitted to lie above the measured peaks (the unit test below), so the budget is the
/// issue's bar itself.
pub const DEFAULT_MEMORY_BUDGET: u64 = 8 << 30; // 8 GiB

/// Resident bytes per weight entry at the weight opening (the model, the recommitted weights'
/// packed polynomial, codeword and Merkle tree, the batching tables): the one-pass proof's and the
/// closing record's peak, which no chunk size changes. Fitted with mimalloc (docs/BENCHMARKS.md,
/// "Chunked proving, stream version 4"): GPT-2 small 5.65 GB one pass at `T = 32` (45 B), SmolLM2
/// 6.56 GB with chunks (49 B).
pub const OPENING_BYTES_PER_WEIGHT: u64 = 50;
/// Resident bytes per weight entry while chunks are proven (the integer model, the resident
/// baseline between chunks: GPT-2 small 0.7–1.2 GB).
pub const BYTES_PER_WEIGHT: u64 = 10;
/// Committed witness entries per activation entry of a chunk's graph, as a ratio
/// `(numerator, denominator)` (limbs, softmax and range columns; GPT-2 small: a 64-position chunk
/// commits a 2^28-padded batch from about 47.7M activation entries on, so at least 3.75, and not
/// at 44.8M, so below 4.0).
pub const COMMITTED_PER_ACTIVATION: (u64, u64) = (19, 5);
/// Resident bytes per entry of a chunk's committed witness batch as its groups pad it
/// ([`padded_commitment`]): the witness columns, their WHIR codewords at rate 1/2 and Merkle
/// trees, the trace and the lookup GKRs of at most `CHUNK_GKR_LEAVES` leaves that run beside them.
pub const BYTES_PER_COMMITTED_ENTRY: u64 = 35;
/// Resident bytes per activation entry of a one-pass proof's graph (its lookup GKRs are grouped by
/// the single pass's rule, up to 2^26 leaves, not capped as a chunk's: GPT-2 small 5.65 GB at
/// `T = 32`, 8.5 GB for a 64-position graph under that rule).
pub const ONE_PASS_BYTES_PER_ACTIVATION: u64 = 290;

/// Entries of the model's weights (every weight tensor of the key).
pub fn weight_entries(vk: &VerifyingKey) -> u64 {
    vk.weights.iter().map(|w| w.shape.iter().product::<usize>() as u64).sum()
}

/// Entries of a graph's activations (node outputs: not its weights, not its inputs, among which a
/// chunk's cached keys/values, which are deferred, not committed).
fn activation_entries(g: &zkinfer_model::Graph) -> u64 {
    g.tensors.iter().filter(|m| m.source == zkinfer_model::TensorSource::Activation).map(|m| m.shape.iter().product::<usize>() as u64).sum()
}

/// The weight opening's estimated peak (`OPENING_BYTES_PER_WEIGHT` per weight entry): the one-pass
/// proof's and the closing record's, the same for every chunk size.
pub fn weight_opening_bytes(weights: u64) -> u64 {
    weights * OPENING_BYTES_PER_WEIGHT
}

/// The entries a chunk's witness batch of `entries` committed entries takes once grouped
/// (`zkinfer_pcs::commitment_groups_capped` at
/// [`crate::chunked::CHUNK_MAX_GROUP_VARS`], modelled by `zkinfer_pcs::grouped_entries`): below
/// `2^SPLIT_FROM_VARS`, or when the next power of two is at most 1.5 times the batch and at most
/// 2^27, one group of that power of two; otherwise groups of exact powers of two of at most 2^27
/// (stream version 5; before it a batch of `(4/3)·2^27` was ONE group of 2^28).
pub fn padded_commitment(entries: u64) -> u64 {
    zkinfer_pcs::grouped_entries(entries, Some(crate::chunked::CHUNK_MAX_GROUP_VARS))
}

/// A chunk's estimated peak from the model's weight entries and the activation entries of the
/// chunk's graph: the resident model plus its witness batch as committed ([`padded_commitment`]
/// of `COMMITTED_PER_ACTIVATION` entries per activation entry) at `BYTES_PER_COMMITTED_ENTRY`.
pub fn chunk_bytes(weights: u64, activations: u64) -> u64 {
    let (num, den) = COMMITTED_PER_ACTIVATION;
    weights * BYTES_PER_WEIGHT + padded_commitment(activations * num / den) * BYTES_PER_COMMITTED_ENTRY
}

/// Resident bytes per activation entry of a chunk's graph while its graph is proven beside a
/// witness whose groups are all released ([`crate::chunked::releases_every_group`]): the trace,
/// the virtual columns, the lookup GKRs' tables, beside the groups' packed polynomials. Measured
/// (GPT-2 small, `T = 256, C = 128`, chunk 1: 78 981 376 activation entries, two groups of 2^27):
/// 4 947 896–5 007 088 kB resident through the graph proof with the model (10 B per weight entry)
/// and the packed polynomials (8 B per entry): ≈ 21 B per activation entry.
pub const RELEASED_CHUNK_BYTES_PER_ACTIVATION: u64 = 21;

/// A chunk's estimated peak when every witness group is released until its opening
/// ([`crate::chunked::releases_every_group`]), from the model's weight entries, the chunk graph's
/// activation entries and its witness groups' packed sizes ([`chunk_witness_groups`]): the model
/// and every packed polynomial (8 B per entry) beside the larger of
/// - the graph proof's working set ([`RELEASED_CHUNK_BYTES_PER_ACTIVATION`] per activation entry)
///   and
/// - one group's codeword and tree, built at its commitment and rebuilt at its opening with p3's
///   first sumcheck tables ([`OPENING_BYTES_PER_GROUP_ENTRY`] per entry of the largest group; the
///   groups waiting for their opening are held compressed then, counted here at 8 B per entry).
///
/// GPT-2 small, `T = 256, C = 128`, chunk 1 (two groups of 2^27): estimated 6 478 889 472 B,
/// measured 5 742 020 kB (5 879 828 480 B: the first group's rebuilt codeword at its opening).
pub fn released_chunk_bytes(weights: u64, activations: u64, groups: &[u64]) -> u64 {
    let packed: u64 = groups.iter().sum();
    let largest = groups.iter().copied().max().unwrap_or(0);
    weights * BYTES_PER_WEIGHT + packed * PACKED_BYTES_PER_ENTRY + (activations * RELEASED_CHUNK_BYTES_PER_ACTIVATION).max(largest * OPENING_BYTES_PER_GROUP_ENTRY)
}

/// The witness groups (packed entries of each, commitment order) of a chunk of `n_new` positions
/// after `s` cached ones, every row predicted, as [`crate::chunked::chunk_witness_pcs`] commits
/// them: from the witness plan the stream verifier derives for that chunk's graph (shapes only;
/// public values of the right lengths), so exactly the prover's groups. `None` if the key's
/// graph or plan cannot be built for that chunk or the witness needs more groups than a chunk may
/// have (then no stream has such chunks).
pub fn chunk_witness_groups(vk: &VerifyingKey, n_new: usize, s: usize) -> Option<Vec<u64>> {
    witness_groups_of(&chunk_graph(vk, n_new, s).ok()?)
}

/// The graph of a chunk of `n_new` positions after `s` cached ones, every row predicted.
fn chunk_graph(vk: &VerifyingKey, n_new: usize, s: usize) -> Result<zkinfer_model::Graph, ProofSystemError> {
    if s == 0 { vk.graph(n_new, n_new) } else { vk.step_graph(n_new, s, n_new) }
}

/// [`chunk_witness_groups`] of a chunk's graph.
fn witness_groups_of(graph: &zkinfer_model::Graph) -> Option<Vec<u64>> {
    // Public tensors (the statement's inputs, public op outputs such as the argmax ids) hold
    // zeros of their lengths: the plan depends on shapes only. Every other input is deferred.
    let mut public_ids = Vec::new();
    let mut deferred = Vec::new();
    for &i in &graph.inputs {
        if ["tokens", "positions", "out_rows"].contains(&graph.meta(i).name.as_str()) {
            public_ids.push(i);
        } else {
            deferred.push(i);
        }
    }
    for (j, node) in graph.nodes.iter().enumerate() {
        if zkinfer_ops::protocol_for(graph, j).ok()?.output_role() == zkinfer_ops::TensorRole::Public {
            public_ids.push(node.output);
        }
    }
    let zeros: Vec<Vec<i64>> = public_ids.iter().map(|&i| vec![0i64; graph.meta(i).shape.iter().product::<usize>()]).collect();
    let mut public = zkinfer_ops::PublicValues::new();
    for (&i, z) in public_ids.iter().zip(&zeros) {
        public.insert(i, z.as_slice());
    }
    let io = zkinfer_ops::ChunkIo { deferred, gkr_leaves: Some(crate::chunked::CHUNK_GKR_LEAVES) };
    let ds = zkinfer_transcript::DomainSeparator::new("zkinfer-memory-plan", 1);
    let mut t = zkinfer_transcript::VerifierTranscript::new(&ds, &[]);
    let mut vars = None;
    // The plan is all that is needed: stop the verifier's walk at the witness commitment.
    let _ = zkinfer_ops::verify_graph_chunk(graph, &public, &io, &mut t, |plan, _| {
        vars = Some(plan.sparse_layout().committed_num_vars());
        Err::<((), zkinfer_ops::Injected), _>(zkinfer_ops::ProofError::check("plan", "stop".to_string()))
    });
    let vars = vars?;
    crate::chunked::check_chunk_witness_groups(&vars).ok()?;
    let groups = crate::chunked::chunk_witness_pcs(crate::keys::pcs().params().security_bits).group_num_vars(&vars).ok()?;
    Some(groups.into_iter().map(|v| 1u64 << v).collect())
}

/// Resident bytes per activation entry of a chunk whose first witness group is held through the
/// graph proof ([`held_chunk_bytes`]): the trace, the virtual columns, the lookup GKRs' tables and
/// the resident baseline between chunks that grows with them. Fitted above the measured chunks
/// (`T = 512, C = 64` chunk 3: one group, 6 196 036 kB at 41.9 M activation entries, the
/// tightest).
pub const HELD_CHUNK_BYTES_PER_ACTIVATION: u64 = 36;
/// Resident bytes per entry of a held witness group beyond its packed polynomial: its codeword
/// at rate 1/2 (16 B) and its Merkle tree.
pub const HELD_CODEWORD_BYTES_PER_ENTRY: u64 = 20;

/// A chunk's estimated peak when its first witness group is held and the others are released
/// (a witness below 2^[`crate::chunked::RELEASE_ALL_FROM_VARS`] packed entries), from the model's
/// weight entries, the chunk graph's activation entries and its exact witness groups: the model,
/// every group's packed polynomial (8 B per entry), the first group's codeword and tree
/// ([`HELD_CODEWORD_BYTES_PER_ENTRY`]) and [`HELD_CHUNK_BYTES_PER_ACTIVATION`] per activation
/// entry. Measured (GPT-2 small): one group of 2^27 at 41.9 M activation entries 6 344 740 864 B
/// (estimated 6 509 093 888 B), 2^27 + 2^26 at 53.6 M 6 765 039 616 B, 2^27 + 2^26 + 2^24 at 67.2 M
/// 6 730 264 576 B (`T = 256, C = 128` chunk 0).
pub fn held_chunk_bytes(weights: u64, activations: u64, groups: &[u64]) -> u64 {
    let packed: u64 = groups.iter().sum();
    let first = groups.first().copied().unwrap_or(0);
    weights * BYTES_PER_WEIGHT + activations * HELD_CHUNK_BYTES_PER_ACTIVATION + packed * PACKED_BYTES_PER_ENTRY + first * HELD_CODEWORD_BYTES_PER_ENTRY
}

/// A chunk's estimated peak from its exact witness groups when known: [`released_chunk_bytes`] if
/// they release every group ([`crate::chunked::releases_every_group`]), else
/// [`held_chunk_bytes`]; without them (a chunk no stream can have, or a graph that cannot be
/// built) [`chunk_bytes`] of its activation entries.
pub fn chunk_estimate(weights: u64, activations: u64, groups: Option<&[u64]>) -> u64 {
    match groups {
        Some(g) if crate::chunked::releases_every_group(g.iter().sum()) => released_chunk_bytes(weights, activations, g),
        Some(g) => held_chunk_bytes(weights, activations, g),
        None => chunk_bytes(weights, activations),
    }
}

/// The largest chunk estimate ([`chunk_estimate`]) of `positions` positions in chunks of `chunk`
/// (`chunk < positions`), from `data(n, s)` = the activation entries and witness groups of the
/// chunk of `n` positions after `s`: chunks are read from the last one back, until a full chunk
/// that keeps its first group ([`held_chunk_bytes`]) has been read — the chunks before it have no
/// more activations and no larger witness (both grow with the context `s`), so no larger
/// estimate. The chunks that release every group (the last ones, the largest witnesses) are all
/// read: a held chunk before them can be the larger estimate (`T = 512, C = 128`: chunk 0, three
/// groups of 2^27 + 2^26 + 2^24 held first, 8.09 GB, against 7.55 GB for the last).
pub fn largest_chunk_estimate(weights: u64, positions: usize, chunk: usize, mut data: impl FnMut(usize, usize) -> (u64, Option<Vec<u64>>)) -> u64 {
    let chunk = chunk.max(1);
    let mut peak = 0;
    let mut s = (positions.max(1) - 1) / chunk * chunk;
    loop {
        let n = chunk.min(positions - s);
        let (activations, groups) = data(n, s);
        peak = peak.max(chunk_estimate(weights, activations, groups.as_deref()));
        let releases = groups.as_ref().is_some_and(|g| crate::chunked::releases_every_group(g.iter().sum()));
        if s == 0 || (n == chunk && !releases) {
            return peak;
        }
        s -= chunk;
    }
}

/// A one-pass proof's estimated peak before its weight opening with the witness codewords held
/// (the plain pass), from the model's weight entries and its graph's activation entries.
pub fn one_pass_bytes(weights: u64, activations: u64) -> u64 {
    weights * BYTES_PER_WEIGHT + activations * ONE_PASS_BYTES_PER_ACTIVATION
}

/// Resident bytes per entry of a released witness group while it is opened, besides the packed
/// polynomials (8 B per entry of every group not opened yet, [`PACKED_BYTES_PER_ENTRY`]): its
/// codeword at rate 1/2 (16 B), the codeword's Merkle tree (4 B), p3's first sumcheck tables
/// (the packed polynomial folded 5 variables and the equality weights, in the cubic extension:
/// 2.4 B) and the slack of the first folded codeword. Measured on one polynomial of 2^26 entries
/// (p3's spans with the resident memory: 30.4 B per entry with its packed polynomial at the
/// peak, `into_sumcheck`), and SmolLM2's 2^28-entry witness (8 221 339 648 B in all).
pub const OPENING_BYTES_PER_GROUP_ENTRY: u64 = 23;
/// Bytes per entry of a packed polynomial (a Goldilocks element).
pub const PACKED_BYTES_PER_ENTRY: u64 = 8;
/// Resident bytes per committed entry while a released witness is committed (the group's
/// codeword and tree, its packed polynomial spilled; the other groups' packed polynomials) and
/// while the graph is proven beside the packed witness (lookup GKRs, virtual columns).
pub const RELEASED_GRAPH_BYTES_PER_ENTRY: u64 = 22;
/// Resident bytes per weight entry through a released one-pass proof's graph proof (the integer
/// model, 2 B per matrix entry, the key and the trace's share).
pub const RELEASED_BYTES_PER_WEIGHT: u64 = 8;

/// The committed witness of a one-pass proof over `positions` positions, every position
/// predicted (the worst case, as [`chunk_peak_bytes`]), as it is committed: the entries of each
/// group's packed polynomial (`zkinfer_verifier::one_pass_witness_pcs`, group order), from the
/// witness plan the verifier derives (shapes and public values of that shape). `None` if the
/// key's graph or plan cannot be built at that length or the witness needs more commitment
/// groups than a one-pass proof may open (`zkinfer_verifier::check_one_pass_groups`): then
/// there is no one-pass proof of that length.
pub fn one_pass_witness_groups(vk: &VerifyingKey, positions: usize) -> Option<Vec<u64>> {
    let graph = vk.graph(positions, positions).ok()?;
    let (t, n) = (positions as i64, positions as i64);
    let tokens = vec![0i64; positions];
    let steps: Vec<i64> = (0..t).collect();
    let out_rows: Vec<i64> = (t - n..t).collect();
    let next = vec![0i64; positions];
    let mut public = zkinfer_ops::PublicValues::new();
    for (name, values) in [("tokens", &tokens), ("positions", &steps), ("out_rows", &out_rows), ("next_token", &next)] {
        public.insert(graph.find(name)?, values.as_slice());
    }
    let plan = zkinfer_ops::witness_plan(&graph, &public).ok()?;
    let vars = plan.sparse_layout().committed_num_vars();
    zkinfer_verifier::check_one_pass_groups(&vars, &vk.commitment).ok()?;
    let groups = zkinfer_verifier::one_pass_witness_pcs().group_num_vars(&vars).ok()?;
    Some(groups.into_iter().map(|v| 1u64 << v).collect())
}

/// A one-pass proof's estimated peak before its weight opening with the witness codewords
/// released ([`one_pass_releases_codewords`]) and the model's weights spilled during the witness
/// opening ([`crate::prove_spilling`]), from the model's weight entries, the witness groups'
/// packed sizes ([`one_pass_witness_groups`]): the larger of the witness opening's (groups opened
/// one at a time, the later ones' packed polynomials resident: [`OPENING_BYTES_PER_GROUP_ENTRY`]
/// and [`PACKED_BYTES_PER_ENTRY`]) and the graph proof's ([`RELEASED_GRAPH_BYTES_PER_ENTRY`] of
/// the committed entries, [`RELEASED_BYTES_PER_WEIGHT`]).
pub fn one_pass_released_bytes(weights: u64, groups: &[u64]) -> u64 {
    let opening = (0..groups.len())
        .map(|g| groups[g] * OPENING_BYTES_PER_GROUP_ENTRY + groups[g..].iter().sum::<u64>() * PACKED_BYTES_PER_ENTRY)
        .max()
        .unwrap_or(0);
    let graph = weights * RELEASED_BYTES_PER_WEIGHT + groups.iter().sum::<u64>() * RELEASED_GRAPH_BYTES_PER_ENTRY;
    opening.max(graph)
}

/// A one-pass proof's estimated peak before its weight opening under `budget` (the policy's,
/// [`policy_budget`]): the plain pass's ([`one_pass_bytes`]) if it fits, otherwise the released
/// pass's ([`one_pass_released_bytes`]), which the prover then runs; `u64::MAX` if there is no
/// one-pass proof of that length ([`one_pass_witness_groups`]).
pub fn one_pass_peak_bytes(vk: &VerifyingKey, positions: usize, budget: u64) -> u64 {
    let Some(groups) = one_pass_witness_groups(vk, positions) else {
        return u64::MAX;
    };
    let weights = weight_entries(vk);
    let held = one_pass_bytes(weights, vk.graph(positions, positions).as_ref().map_or(0, activation_entries));
    if held <= budget { held } else { one_pass_released_bytes(weights, &groups) }
}

/// The largest chunk's estimated peak for `positions` positions in chunks of `chunk` (one pass if
/// `chunk ≥ positions`), every position predicted (the worst case): the last chunk's, whose
/// attention reads every earlier position, or an earlier chunk's ([`largest_chunk_estimate`]).
pub fn chunk_peak_bytes(vk: &VerifyingKey, chunk: usize, positions: usize) -> u64 {
    chunk_peak_bytes_within(vk, chunk, positions, policy_budget())
}

/// [`chunk_peak_bytes`] under `budget`: a one-pass proof's estimate is [`one_pass_peak_bytes`]
/// under it (the plain pass if it fits the budget, else the released pass).
pub fn chunk_peak_bytes_within(vk: &VerifyingKey, chunk: usize, positions: usize, budget: u64) -> u64 {
    let weights = weight_entries(vk);
    let act = |g: Result<zkinfer_model::Graph, ProofSystemError>| g.as_ref().map_or(0, activation_entries);
    if chunk >= positions {
        return one_pass_peak_bytes(vk, positions, budget);
    }
    largest_chunk_estimate(weights, positions, chunk, |n, s| {
        let graph = chunk_graph(vk, n, s);
        let groups = graph.as_ref().ok().and_then(witness_groups_of);
        (act(graph), groups)
    })
}

/// Estimated peak resident bytes of proving `positions` positions in chunks of `chunk` (one pass
/// if `chunk ≥ positions`): the larger of the weight opening's ([`weight_opening_bytes`]) and the
/// largest chunk's ([`chunk_peak_bytes`]).
pub fn estimated_peak_bytes(vk: &VerifyingKey, chunk: usize, positions: usize) -> u64 {
    weight_opening_bytes(weight_entries(vk)).max(chunk_peak_bytes(vk, chunk, positions))
}

/// The default chunk size for `positions` positions: the largest power of two whose estimated
/// peak ([`estimated_peak_bytes`]) fits the budget ([`DEFAULT_MEMORY_BUDGET`], or 3/4 of the
/// available memory if that is less); a transcript that fits one chunk is proven in one pass.
pub fn default_chunk(vk: &VerifyingKey, positions: usize) -> usize {
    chunk_for_budget(vk, positions, policy_budget())
}

/// The largest power of two `C` (at most the transcript, at most
/// [`crate::chunked::MAX_CHUNK`]) whose largest chunk ([`chunk_peak_bytes`]) fits `budget`, or
/// fits the weight opening's peak if that alone is over the budget: the weight opening does not
/// depend on `C`, so smaller chunks could not lower the peak and would only multiply the proof
/// (SmolLM2-135M used to get `C = 1`, 69 chunks and an 83.5 MB proof).
pub fn chunk_for_budget(vk: &VerifyingKey, positions: usize, budget: u64) -> usize {
    chunk_for(positions, budget.max(weight_opening_bytes(weight_entries(vk))), |c| chunk_peak_bytes_within(vk, c, positions, budget))
}

/// The largest power of two `C ≤ max(positions, 1)` (rounded up to a power of two, at most
/// [`crate::chunked::MAX_CHUNK`]) with `chunk_peak(C) ≤ budget`; 1 if none.
pub fn chunk_for(positions: usize, budget: u64, chunk_peak: impl Fn(usize) -> u64) -> usize {
    let mut c = positions.max(1).next_power_of_two().min(crate::chunked::MAX_CHUNK as usize);
    while c > 1 && chunk_peak(c) > budget {
        c /= 2;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GPT-2 small: weight entries, and per `(T, C)` the activation entries of the graphs the rule
    /// reads (`Model::graph` / `Model::step_graph`, every row predicted): `(T, C, base, full,
    /// tail)` — for `C ≥ T` the one-pass graph's in `base`; else the graph at `T = C`, the full
    /// chunk before the last (`s = T − 2C`) and the last (`s = T − C`).
    const GPT2_WEIGHTS: u64 = 124_439_808;
    #[rustfmt::skip]
    const GPT2_GRAPHS: &[(usize, usize, u64, u64, u64)] = &[
        (32, 32, 15469120, 0, 0), (32, 16, 7623968, 7623968, 8324384), (32, 8, 3784336, 4282000, 4457104),
        (64, 64, 31822976, 0, 0), (64, 32, 15469120, 15469120, 17091136), (64, 16, 7623968, 8729888, 9135392),
        (64, 8, 3784336, 4982416, 5157520), (128, 128, 67184896, 0, 0), (128, 64, 31822976, 31822976, 35951744),
        (128, 32, 15469120, 18123328, 19155520), (128, 16, 7623968, 10351904, 10757408), (128, 8, 3784336, 6383248, 6558352),
        (256, 256, 148525568, 0, 0), (256, 128, 67184896, 67184896, 78981376), (256, 64, 31822976, 38900864, 41849984),
        (256, 32, 15469120, 22252096, 23284288), (256, 16, 7623968, 13595936, 14001440), (256, 8, 3784336, 9184912, 9360016),
        (512, 512, 353674240, 0, 0), (512, 256, 148525568, 148525568, 186274304), (512, 128, 67184896, 88418560, 97855744),
        (512, 64, 31822976, 50697344, 53646464), (512, 32, 15469120, 30509632, 31541824), (512, 16, 7623968, 20084000, 20489504),
        (512, 8, 3784336, 14788240, 14963344), (1024, 1024, 933840896, 0, 0), (1024, 512, 353674240, 353674240, 485794816),
        (1024, 256, 148525568, 219304448, 252334592), (1024, 128, 67184896, 126167296, 135604480), (1024, 64, 31822976, 74290304, 77239424),
        (1024, 32, 15469120, 47024704, 48056896), (1024, 16, 7623968, 33060128, 33465632), (1024, 8, 3784336, 25994896, 26170000),
    ];

    fn gpt2_graphs(t: usize, c: usize) -> (u64, u64, u64) {
        let &(_, _, base, full, tail) = GPT2_GRAPHS.iter().find(|g| g.0 == t && g.1 == c).unwrap_or_else(|| panic!("no GPT-2 small graph for T = {t}, C = {c}"));
        (base, full, tail)
    }

    /// GPT-2 small's one-pass witness groups (entries of each packed polynomial) per `T`, every
    /// position predicted ([`one_pass_witness_groups`] of its key: `examples/memory_estimate`).
    const GPT2_ONE_PASS_GROUPS: &[(usize, &[u64])] = &[
        (32, &[1 << 26]),
        (64, &[1 << 27]),
        (128, &[1 << 28]),
        (256, &[1 << 29]),
        (512, &[1 << 31]),
        (1024, &[1 << 32, 1 << 28]),
    ];

    fn gpt2_groups(t: usize) -> &'static [u64] {
        GPT2_ONE_PASS_GROUPS.iter().find(|g| g.0 == t).map(|g| g.1).unwrap_or_else(|| panic!("no GPT-2 small groups for T = {t}"))
    }

    /// [`one_pass_peak_bytes`] of GPT-2 small from the tables under `budget`.
    fn gpt2_one_pass_peak(t: usize, budget: u64) -> u64 {
        let (base, ..) = gpt2_graphs(t, t);
        let held = one_pass_bytes(GPT2_WEIGHTS, base);
        if held <= budget { held } else { one_pass_released_bytes(GPT2_WEIGHTS, gpt2_groups(t)) }
    }

    /// [`chunk_peak_bytes_within`] of GPT-2 small from the tables.
    fn gpt2_chunk_peak(t: usize, c: usize) -> u64 {
        if c >= t {
            return gpt2_one_pass_peak(t, DEFAULT_MEMORY_BUDGET);
        }
        largest_chunk_estimate(GPT2_WEIGHTS, t, c, gpt2_chunk)
    }

    const G27: u64 = 1 << 27;
    /// GPT-2 small's chunks that the rule reads at the `(T, C)` of the tests (`examples/
    /// memory_estimate` on its key: [`chunk_witness_groups`] and the chunk graph's activation
    /// entries): `(n, s, activations, groups)`, `None` for a chunk whose witness needs more groups
    /// than a chunk may have.
    #[rustfmt::skip]
    const GPT2_CHUNKS: &[(usize, usize, u64, Option<&[u64]>)] = &[
        (128, 0, 67_184_896, Some(&[G27, 1 << 26, 1 << 24])),
        (128, 128, 78_981_376, Some(&[G27, G27])),
        (128, 256, 88_418_560, Some(&[G27, G27, G27])),
        (128, 384, 97_855_744, Some(&[G27, G27, G27])),
        (128, 896, 135_604_480, None),
        (256, 256, 186_274_304, None),
        (256, 768, 252_334_592, None),
        (512, 512, 485_794_816, None),
        (64, 576, 59_544_704, Some(&[G27, 1 << 26, 1 << 24])),
        (64, 640, 62_493_824, Some(&[G27, G27, 1 << 24])),
        (64, 704, 65_442_944, Some(&[G27, G27, 1 << 24])),
        (64, 768, 68_392_064, Some(&[G27, G27, 1 << 24])),
        (64, 832, 71_341_184, Some(&[G27, G27, 1 << 24])),
        (64, 896, 74_290_304, Some(&[G27, G27, 1 << 24])),
        (64, 960, 77_239_424, Some(&[G27, G27, 1 << 24])),
    ];

    /// The chunk of `n` positions after `s` ([`GPT2_CHUNKS`]).
    fn gpt2_chunk(n: usize, s: usize) -> (u64, Option<Vec<u64>>) {
        let &(.., a, g) = GPT2_CHUNKS.iter().find(|c| c.0 == n && c.1 == s).unwrap_or_else(|| panic!("no GPT-2 small chunk of {n} after {s}"));
        (a, g.map(<[u64]>::to_vec))
    }

    /// The one-pass chunk estimate as it was before the released estimate (the plain pass's
    /// alone): what chose `C = 32` at `T = 64` and `C = 64` at `T = 128`.
    fn gpt2_chunk_peak_plain(t: usize, c: usize) -> u64 {
        let (base, full, tail) = gpt2_graphs(t, c);
        if c >= t {
            return one_pass_bytes(GPT2_WEIGHTS, base);
        }
        chunk_bytes(GPT2_WEIGHTS, full.max(tail))
    }

    /// [`gpt2_chunk_peak`] with the witness grouped as before stream version 5 (one group of
    /// 2^28 from `(4/3)·2^27` entries on): what the stream-version-4 runs measured.
    fn gpt2_chunk_peak_v4(t: usize, c: usize) -> u64 {
        let (base, full, tail) = gpt2_graphs(t, c);
        if c >= t {
            return one_pass_bytes(GPT2_WEIGHTS, base);
        }
        let (num, den) = COMMITTED_PER_ACTIVATION;
        GPT2_WEIGHTS * BYTES_PER_WEIGHT + zkinfer_pcs::grouped_entries(full.max(tail) * num / den, None) * BYTES_PER_COMMITTED_ENTRY
    }

    /// The rule as it was before stream version 4 (glibc-era constants, one activation constant,
    /// the weights' 15 B in every chunk).
    fn old_gpt2_chunk_peak(t: usize, c: usize) -> u64 {
        if c < 8 {
            return 0; // below the table: the old rule stops at C ≤ 4
        }
        let (base, full, tail) = gpt2_graphs(t, c);
        let act = if c >= t { base } else { full.max(tail) };
        GPT2_WEIGHTS * 15 + act * 225
    }

    /// One-pass proofs measured with the released path (mem9, `ZKINFER_MEMTRACE=1 /usr/bin/time -v
    /// zkinfer bench …`, `peak_rss_bytes`; docs/BENCHMARKS.md "One-pass peak memory with default
    /// settings"): `(what, weight entries, witness groups, measured peak)`; the peak of the whole
    /// run (the weight opening included, which [`estimated_peak_bytes`] covers with
    /// [`weight_opening_bytes`]).
    const ONE_PASS_RELEASED_PEAKS: &[(&str, u64, &[u64], u64)] = &[
        ("SmolLM2-135M, 69 positions", 134_515_008, &[1 << 28], 8_221_339_648),
        ("GPT-2 small, T = 64", GPT2_WEIGHTS, &[1 << 27], 5_224_714_240),
        ("GPT-2 small, T = 128", GPT2_WEIGHTS, &[1 << 28], 8_182_120_448),
    ];

    /// The released one-pass estimate lies above every measured released one-pass peak, by at
    /// most a quarter, and SmolLM2's 69 positions are estimated within the 8 GiB budget (so the
    /// default proves them in one pass) while the plain estimate (21.0 GB) was far above it.
    #[test]
    fn released_one_pass_estimates_cover_the_measured_peaks() {
        for &(what, weights, groups, measured) in ONE_PASS_RELEASED_PEAKS {
            let estimate = one_pass_released_bytes(weights, groups).max(weight_opening_bytes(weights));
            assert!(estimate >= measured, "{what}: estimate {estimate} below the measured {measured}");
            assert!(estimate <= measured + measured / 4, "{what}: estimate {estimate} over 1.25 × the measured {measured}");
        }
        let (_, smol_weights, smol_groups, _) = ONE_PASS_RELEASED_PEAKS[0];
        assert!(one_pass_released_bytes(smol_weights, smol_groups) <= DEFAULT_MEMORY_BUDGET);
        assert!(one_pass_bytes(smol_weights, 67_817_823) > DEFAULT_MEMORY_BUDGET);
        // Two groups: the first opening holds both packed polynomials.
        assert_eq!(one_pass_released_bytes(0, &[1 << 20, 1 << 18]), (1 << 20) * OPENING_BYTES_PER_GROUP_ENTRY + ((1 << 20) + (1 << 18)) * PACKED_BYTES_PER_ENTRY);
    }

    /// Chunks that hold their first witness group ([`held_chunk_bytes`]), measured (`ZKINFER_MEMTRACE=1
    /// /usr/bin/time -v zkinfer bench …`, the `[mem]` lines' largest resident set during the
    /// chunk): `(what, activation entries, groups, measured)`.
    const HELD_CHUNK_PEAKS: &[(&str, u64, &[u64], u64)] = &[
        ("T = 512, C = 64, chunk 3 (quiet, fe03b3c)", 41_849_984, &[G27], 6_196_036 * 1024),
        ("T = 512, C = 64, chunk 7 (quiet, fe03b3c)", 53_646_464, &[G27, 1 << 26], 6_606_484 * 1024),
        ("T = 256, C = 128, chunk 0", 67_184_896, &[G27, 1 << 26, 1 << 24], 6_572_524 * 1024),
    ];

    /// The held-chunk estimate lies above every measured held chunk, by at most a quarter.
    #[test]
    fn held_chunk_estimates_cover_the_measured_peaks() {
        for &(what, activations, groups, measured) in HELD_CHUNK_PEAKS {
            let estimate = chunk_estimate(GPT2_WEIGHTS, activations, Some(groups));
            assert_eq!(estimate, held_chunk_bytes(GPT2_WEIGHTS, activations, groups), "{what}");
            assert!(estimate >= measured, "{what}: estimate {estimate} below the measured {measured}");
            assert!(estimate <= measured + measured / 4, "{what}: estimate {estimate} over 1.25 × the measured {measured}");
        }
        // The scan reads back to the first full chunk that holds its first group: at `T = 512,
        // C = 128` all four chunks (chunk 0, held, is the largest estimate).
        let mut read = Vec::new();
        let peak = largest_chunk_estimate(GPT2_WEIGHTS, 512, 128, |n, s| {
            read.push(s);
            gpt2_chunk(n, s)
        });
        assert_eq!(read, [384, 256, 128, 0]);
        assert_eq!(peak, held_chunk_bytes(GPT2_WEIGHTS, 67_184_896, &[G27, 1 << 26, 1 << 24]));
        // A partial last chunk: the full chunk before it is read too.
        let mut read = Vec::new();
        largest_chunk_estimate(GPT2_WEIGHTS, 100, 64, |n, s| {
            read.push((n, s));
            (1, Some(vec![1 << 20]))
        });
        assert_eq!(read, [(36, 64), (64, 0)]);
    }

    /// Chunks whose witness groups are all released ([`released_chunk_bytes`]), measured:
    /// `ZKINFER_MEMTRACE=1 /usr/bin/time -v zkinfer bench -m gpt2-small --tokens 256 --chunk 128
    /// --json -q` (docs/BENCHMARKS.md, "Chunked proof bytes, session 13"), chunk 1 (two groups of
    /// 2^27; its `[mem]` lines' largest resident set, at the first group's rebuilt codeword):
    /// `(what, activation entries, groups, measured)`.
    const RELEASED_CHUNK_PEAKS: &[(&str, u64, &[u64], u64)] = &[("T = 256, C = 128, chunk 1", 78_981_376, &[G27, G27], 5_742_020 * 1024)];

    /// The released-chunk estimate lies above every measured released chunk, by at most a
    /// quarter; it is the estimate the rule takes for those groups (and only for them: a witness
    /// below 2^28 packed entries keeps its first group, [`chunk_bytes`]); at `T = 512, C = 128`
    /// (three groups of 2^27 in the last two chunks) it is under the budget, where [`chunk_bytes`]
    /// gave 15.3 GB.
    #[test]
    fn released_chunk_estimates_cover_the_measured_peaks() {
        for &(what, activations, groups, measured) in RELEASED_CHUNK_PEAKS {
            let estimate = chunk_estimate(GPT2_WEIGHTS, activations, Some(groups));
            assert_eq!(estimate, released_chunk_bytes(GPT2_WEIGHTS, activations, groups), "{what}");
            assert!(estimate >= measured, "{what}: estimate {estimate} below the measured {measured}");
            assert!(estimate <= measured + measured / 4, "{what}: estimate {estimate} over 1.25 × the measured {measured}");
        }
        let (_, full, tail) = gpt2_graphs(512, 128);
        let three = [G27, G27, G27];
        assert!(released_chunk_bytes(GPT2_WEIGHTS, full.max(tail), &three) <= DEFAULT_MEMORY_BUDGET);
        assert!(chunk_bytes(GPT2_WEIGHTS, full.max(tail)) > DEFAULT_MEMORY_BUDGET);
        // Below 2^28 packed entries the first group is held: the held estimate.
        assert_eq!(chunk_estimate(GPT2_WEIGHTS, 67_184_896, Some(&[G27, 1 << 26, 1 << 24])), held_chunk_bytes(GPT2_WEIGHTS, 67_184_896, &[G27, 1 << 26, 1 << 24]));
        // Unknown groups: the activation rule.
        assert_eq!(chunk_estimate(GPT2_WEIGHTS, 67_184_896, None), chunk_bytes(GPT2_WEIGHTS, 67_184_896));
    }

    /// Measured with mimalloc and the capped chunk GKRs (docs/BENCHMARKS.md, "Chunked proving,
    /// stream version 4"), with the stream-version-4 grouping: `(T, C, peak_rss_bytes)`.
    const GPT2_PEAKS_V4: &[(usize, usize, u64)] = &[
        (32, 32, 5_654_011_904),
        // Chunks 0–3 (s ≤ 192) of the `T = 512, C = 64` run.
        (256, 64, 6_108_852_224),
        // Chunk 5 of that run (s = 320): the witness batch is padded to 2^28.
        (512, 64, 9_839_702_016),
    ];

    /// The rule gives GPT-2 small the largest chunk it estimates under the 8 GiB bar at every `T`
    /// up to its context — one pass at 32 positions (codewords held), and since the released
    /// one-pass estimate also at 64 and 128 (the plain one-pass estimate alone gave `C = 32` and
    /// `C = 64` there), `C = 128` at 256 and 512 since a chunk's estimate comes from its exact witness
    /// groups and the chunks whose witness packs into 2^28 entries or more release every group
    /// ([`held_chunk_bytes`], [`released_chunk_bytes`]; before them `C = 64`), and for the same
    /// reason `C = 64` at 1024 (before them `C = 32`) — where
    /// the rule before stream version 4 gave at most 16 at `T = 512` and version 4's `C = 32` (so
    /// this test fails on either); the estimate is above every measured peak, by at most a quarter.
    #[test]
    fn gpt2_small_gets_the_largest_chunk_that_fits() {
        let budget = DEFAULT_MEMORY_BUDGET.max(weight_opening_bytes(GPT2_WEIGHTS));
        let bar = 8u64 << 30;
        for (t, want, plain) in [(64, 64, 32), (128, 128, 64), (256, 128, 64), (512, 128, 64), (1024, 64, 32)] {
            assert_eq!(chunk_for(t, budget, |c| gpt2_chunk_peak_plain(t, c)), plain, "T = {t}, the plain one-pass estimate");
            assert_eq!(chunk_for(t, budget, |c| gpt2_chunk_peak(t, c)), want, "T = {t}");
        }
        for (t, want) in [(32, 32), (64, 64), (128, 128), (256, 128), (512, 128), (1024, 64)] {
            let c = chunk_for(t, budget, |c| gpt2_chunk_peak(t, c));
            assert_eq!(c, want, "T = {t}");
            assert!(gpt2_chunk_peak(t, c).max(weight_opening_bytes(GPT2_WEIGHTS)) <= bar, "T = {t}: the chosen C = {c} is estimated over the bar");
        }
        let old = chunk_for(512, (15u64 << 29).max(GPT2_WEIGHTS * 60), |c| old_gpt2_chunk_peak(512, c));
        assert!(old <= 16, "the old rule gave C = {old} at T = 512");
        let v4 = chunk_for(512, budget, |c| gpt2_chunk_peak_v4(512, c));
        assert_eq!(v4, 32, "stream version 4's grouping gave C = {v4} at T = 512");
        for &(t, c, measured) in GPT2_PEAKS_V4 {
            let estimate = gpt2_chunk_peak_v4(t, c).max(weight_opening_bytes(GPT2_WEIGHTS));
            assert!(estimate >= measured, "T = {t}, C = {c}: estimate {estimate} below the measured {measured}");
            assert!(estimate <= measured + measured / 4, "T = {t}, C = {c}: estimate {estimate} over 1.25 × the measured {measured}");
        }
    }
}
