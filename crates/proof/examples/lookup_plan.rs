//! The lookup GKRs of every chunk of a chunked proof, without proving:
//! `cargo run --release -p zkinfer-proof --example lookup_plan -- MODEL.gguf T C [CAP_VARS…]`
//! prints per chunk and per GKR leaf cap `2^CAP_VARS` (default 24, the stream's
//! [`CHUNK_GKR_LEAVES`], and 25) the logUp statements, the GKRs (their trees' depths and leaves),
//! the committed witness entries and the lookups' proof bytes as the protocol writes them
//! (`zkinfer_lookup::fracaddcheck` and `logup`, stream version 10: per GKR the roots (2 EF per
//! tree), at every layer `j` 2 EF per sumcheck round (`j + ⌈log₂ m_j⌉` rounds for the `m_j` trees
//! active there) and the joint children (3 EF, `qR` solved), 2 EF per tree at its leaves, then per
//! statement one EF per looked-up column component and the multiplicity's value; 24 B per EF),
//! and, for comparison, what stream version 9's GKR wrote (4 EF of children per active tree per
//! layer, the last tree's `qR` solved, none sent at layer 0's sumcheck-free step, `j` rounds at
//! layer `j`). The rare `h(1)` or `qR` sent when a coefficient vanishes (probability `≈ 2^-190`
//! per round) is not counted.
//! Positions as in `chunk_plan` (every position after the first is a completion position).

mod common;

use zkinfer_ops::ChunkIo;
use zkinfer_transcript::{DomainSeparator, VerifierTranscript};
use zkinfer_verifier::chunked::CHUNK_GKR_LEAVES;

/// Bytes of one extension-field element in the proof.
const EF_BYTES: u64 = 24;

/// Proof bytes of one fraction-sum GKR over trees of `depths` (see the module doc).
fn gkr_bytes(depths: &[usize]) -> u64 {
    let trees = depths.len() as u64;
    let max = depths.iter().copied().max().unwrap_or(0);
    let mut bytes = 2 * EF_BYTES * trees;
    for j in 0..max {
        let active = depths.iter().filter(|&&d| d > j).count();
        let index_vars = active.next_power_of_two().trailing_zeros() as u64;
        let finishing = depths.iter().filter(|&&d| d == j + 1).count() as u64;
        bytes += 2 * EF_BYTES * (j as u64 + index_vars) + 3 * EF_BYTES + 2 * EF_BYTES * finishing;
    }
    bytes
}

/// What stream version 9's GKR wrote for the same trees (each tree's children at every layer).
fn gkr_bytes_v9(depths: &[usize]) -> u64 {
    let trees = depths.len() as u64;
    let max = depths.iter().copied().max().unwrap_or(0);
    let mut bytes = 2 * EF_BYTES * trees;
    for j in 0..max {
        let active = depths.iter().filter(|&&d| d > j).count() as u64;
        if j == 0 {
            bytes += 4 * EF_BYTES * active;
        } else {
            bytes += 2 * EF_BYTES * j as u64 + 4 * EF_BYTES * active - EF_BYTES;
        }
    }
    bytes
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: lookup_plan MODEL.gguf T C [CAP_VARS…]")?;
    let total: usize = args.next().ok_or("T")?.parse()?;
    let chunk: usize = args.next().ok_or("C")?.parse()?;
    let mut caps: Vec<usize> = args.map(|a| a.parse().map(|v: u32| 1usize << v)).collect::<Result<_, _>>()?;
    if caps.is_empty() {
        caps = vec![CHUNK_GKR_LEAVES, 2 * CHUNK_GKR_LEAVES];
    }
    let mut totals = vec![0u64; caps.len()];
    let mut totals_v9 = vec![0u64; caps.len()];
    common::for_each_chunk(&path, total, chunk, |common::Chunk { k, s, n, graph, public, deferred }| {
        for (c, &cap) in caps.iter().enumerate() {
            let io = ChunkIo { deferred: deferred.clone(), gkr_leaves: Some(cap) };
            let ds = DomainSeparator::new("lookup-plan", 1);
            let mut t = VerifierTranscript::new(&ds, &[]);
            let mut report = String::new();
            let mut bytes = 0u64;
            let mut bytes_v9 = 0u64;
            let _ = zkinfer_ops::verify_graph_chunk(graph, &public, &io, &mut t, |plan, _| {
                let entries: u64 = plan.sparse_layout().committed_num_vars().iter().map(|&m| 1u64 << m).sum();
                let gkrs = zkinfer_ops::lookups::gkr_statements(plan);
                let statements: usize = gkrs.iter().map(Vec::len).sum();
                let mut gkr_parts = Vec::new();
                for group in &gkrs {
                    let mut depths = Vec::new();
                    let mut claims = 0u64;
                    for (table, lens) in group {
                        depths.extend(zkinfer_lookup::logup::stacked_tree_depths(lens));
                        depths.push(table.padded_len().trailing_zeros() as usize);
                        claims += EF_BYTES * (lens.len() * table.arity()) as u64 + EF_BYTES;
                    }
                    let leaves: u64 = depths.iter().map(|&d| 1u64 << d).sum();
                    let g = gkr_bytes(&depths);
                    bytes += g + claims;
                    bytes_v9 += gkr_bytes_v9(&depths) + claims;
                    gkr_parts.push(format!("{} trees / 2^{:.2} leaves / depth {}: {} B + claims {} B", depths.len(), (leaves as f64).log2(), depths.iter().max().unwrap_or(&0), g, claims));
                }
                report = format!("{statements} statements, {} GKRs, witness {entries} entries, lookups {bytes} B (stream v9: {bytes_v9} B)\n      {}", gkrs.len(), gkr_parts.join("\n      "));
                Err::<((), zkinfer_ops::Injected), _>(zkinfer_ops::ProofError::check("plan", "stop".to_string()))
            });
            totals[c] += bytes;
            totals_v9[c] += bytes_v9;
            println!("chunk {k} (s = {s}, C_k = {n}), cap 2^{}: {report}", cap.trailing_zeros());
        }
        Ok(())
    })?;
    for (c, &cap) in caps.iter().enumerate() {
        println!("all chunks, cap 2^{}: lookups {} B (stream v9: {} B)", cap.trailing_zeros(), totals[c], totals_v9[c]);
    }
    Ok(())
}
