//! The committed witness of every chunk of a chunked proof, without proving:
//! `cargo run --release -p zkinfer-proof --example chunk_plan -- MODEL.gguf T C [--by-op]`
//! prints per chunk the committed entries (blocks of the columns' extents), the commitment groups
//! [`zkinfer_verifier::chunked::chunk_witness_pcs`] makes of them (`log2` sizes) and the
//! keys/values epoch batches (`--by-op`: and each chunk's committed entries by op kind and
//! column, printed before the chunk's line), so that a grouping or rate change can be costed from exact shapes.
//! Every position after the first is a completion position (the bench's `--prompt-tokens 1`; the
//! epochs' packed sizes printed are GPT-2 small's, 24 cached tensors of `[16, 2^b·C, 64]` at `C = 64`).

mod common;

use zkinfer_ops::ChunkIo;
use zkinfer_transcript::{DomainSeparator, VerifierTranscript};
use zkinfer_verifier::chunked::{CHUNK_GKR_LEAVES, Epochs, StreamHeader, chunk_kv_pcs, chunk_witness_pcs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: chunk_plan MODEL.gguf T C")?;
    let total: usize = args.next().ok_or("T")?.parse()?;
    let chunk: usize = args.next().ok_or("C")?.parse()?;
    let by_op = args.next().is_some_and(|a| a == "--by-op");
    let pcs = chunk_witness_pcs(132);
    let epochs = Epochs::for_header(&StreamHeader { model_commitment: [0; 32], max_new_tokens: total as u32, chunk_size: chunk as u32, prompt_ids: vec![0] });
    common::for_each_chunk(&path, total, chunk, |common::Chunk { k, s, n, graph, public, deferred }| {
        let io = ChunkIo { deferred, gkr_leaves: Some(CHUNK_GKR_LEAVES) };
        let mut vars = Vec::new();
        let ds = DomainSeparator::new("chunk-plan", 1);
        let mut t = VerifierTranscript::new(&ds, &[]);
        let _ = zkinfer_ops::verify_graph_chunk(graph, &public, &io, &mut t, |plan, _| {
            vars = plan.sparse_layout().committed_num_vars();
            if by_op {
                print_committed(graph, plan);
            }
            Err::<((), zkinfer_ops::Injected), _>(zkinfer_ops::ProofError::check("plan", "stop".to_string()))
        });
        let entries: u64 = vars.iter().map(|&m| 1u64 << m).sum();
        let groups = pcs.num_groups(&vars);
        let rate = |p: u32| pcs.params().starting_log_inv_rate(p as usize);
        let sizes: Vec<String> = group_sizes(&vars).iter().map(|&(e, p)| format!("{e} (2^{p}, rate 2^-{})", rate(p))).collect();
        let (e, (f, b)) = (epochs.of(k), epochs.range(epochs.of(k)));
        println!("chunk {k}: s = {s}, C_k = {n}, {} blocks, {entries} entries, {groups} group(s): {}{}", vars.len(), sizes.join(" + "), if k == f { format!("; starts keys/values epoch {e} (2^{b} chunks, rate 2^-{} if packed to 2^{})", chunk_kv_pcs(132).params().starting_log_inv_rate(21 + b), 21 + b) } else { String::new() });
        Ok(())
    })
}

/// A chunk's committed entries by op kind and column name (`--by-op`), largest first.
fn print_committed(graph: &zkinfer_model::Graph, plan: &zkinfer_ops::WitnessPlan) {
    let mut per_kind: Vec<(String, u64, usize)> = Vec::new();
    for (c, poly) in plan.columns().iter().filter(|c| c.definition.is_none()).zip(plan.sparse_layout().polys()) {
        let kind = match c.owner {
            zkinfer_ops::witness::Owner::Node(n) => format!("{:?}", graph.nodes[n].op).split(['(', ' ', '{']).next().unwrap_or("?").to_string(),
            zkinfer_ops::witness::Owner::Framework => "framework".to_string(),
        };
        let key = format!("{kind}/{}", c.name.split(|ch: char| ch.is_ascii_digit()).next().unwrap_or(""));
        let blocks: u64 = poly.block_num_vars().map(|m| 1u64 << m).sum();
        match per_kind.iter_mut().find(|(k, ..)| *k == key) {
            Some((_, b, n)) => {
                *b += blocks;
                *n += 1;
            }
            None => per_kind.push((key, blocks, 1)),
        }
    }
    per_kind.sort_by_key(|k| std::cmp::Reverse(k.1));
    for (key, blocks, cols) in per_kind {
        println!("    {key:<32} {cols:5} columns {blocks:11} entries as blocks");
    }
}

/// Entries and padded `log2` size of each group of `vars` (as `chunk_witness_pcs` groups them).
fn group_sizes(vars: &[usize]) -> Vec<(u64, u32)> {
    zkinfer_pcs::commitment_groups_capped(vars, zkinfer_verifier::chunked::CHUNK_MAX_GROUP_VARS)
        .iter()
        .map(|g| {
            let e: u64 = g.iter().map(|&i| 1u64 << vars[i]).sum();
            (e, e.next_power_of_two().trailing_zeros())
        })
        .collect()
}
