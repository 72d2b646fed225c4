//! Times the graph walk (everything but the polynomial commitment) on a GGUF model:
//! `cargo run --release -p zkinfer-ops --example walk_timing -- MODEL.gguf [TOKENS] [--plan-only] [--outputs K]`
//! (`--plan-only`: print the committed witness size per op and column without proving;
//! `--outputs K`: LM head and argmax at the last `K` positions only, as a proof of `K − 1`
//! generated tokens has them; default every position).
//!
//! The witness "commitment" here only absorbs the column sizes — this measures the op proofs,
//! lookups and claim routing, not the WHIR commitment and openings (crate `zkinfer-proof`).

use std::collections::HashMap;
use std::time::Instant;

use zkinfer_field::F;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_model::graph::TensorId;
use zkinfer_ops::{ProofError, TensorRole, protocol_for, prove_graph, verify_graph};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: walk_timing MODEL.gguf [TOKENS]")?;
    let tokens: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(32);
    let gguf = GgufFile::open(&path)?;
    // Any registered architecture (GPT-2, Llama-family), by the file's `general.architecture`.
    let mut m = Model::load(&gguf)?;
    m.drop_float_reference();
    let weights = m.weights().clone();
    drop(gguf);
    let ids: Vec<u32> = (0..tokens as u32).map(|i| (i * 7919 + 13) % 40000).collect();
    let rest: Vec<String> = args.collect();
    let plan_only = rest.iter().any(|a| a == "--plan-only");
    let outputs = match rest.iter().position(|a| a == "--outputs") {
        Some(i) => rest.get(i + 1).ok_or("--outputs K")?.parse()?,
        None => tokens,
    };
    let fwd_fn = move |ids: &[u32]| m.forward_int_outputs(ids, outputs);
    let t0 = Instant::now();
    let fwd = fwd_fn(&ids)?;
    let trace_s = t0.elapsed().as_secs_f64();
    let graph = &fwd.graph;
    if plan_only {
        let public = public_values(&fwd)?;
        let plan = zkinfer_ops::witness_plan(graph, &public)?;
        let committed: usize = plan.committed().iter().map(|&c| 1usize << plan.num_vars(c)).sum();
        println!("{tokens} tokens: {} committed columns, {committed} entries (packs into 2^{})", plan.committed().len(), committed.next_power_of_two().trailing_zeros());
        let blocks: usize = plan.sparse_layout().committed_num_vars().iter().map(|&m| 1usize << m).sum();
        println!("  committed as blocks of the columns' extents: {blocks} entries (packs into 2^{})", blocks.next_power_of_two().trailing_zeros());
        print_committed(graph, &plan);
        // Range checks by width: entries checked and limb entries committed.
        let mut by_bits: std::collections::BTreeMap<(u32, bool), (usize, usize, usize)> = Default::default();
        for r in plan.range_checks() {
            let e = by_bits.entry((r.bits, r.signed)).or_default();
            e.0 += 1;
            e.1 += 1usize << plan.num_vars(r.column);
            e.2 += r.limbs.iter().map(|&l| 1usize << plan.num_vars(l)).sum::<usize>();
        }
        for ((bits, signed), (n, entries, limbs)) in by_bits {
            println!("  range {bits:2} bits {} {n:5} checks {entries:10} entries {limbs:10} limb entries", if signed { "signed  " } else { "unsigned" });
        }
        // Entries if every committed column held only its node output's logical extent.
        let mut logical = 0usize;
        for c in plan.columns().iter().filter(|c| c.definition.is_none()) {
            let n = 1usize << c.num_vars;
            logical += match c.owner {
                zkinfer_ops::witness::Owner::Node(k) => n.min(graph.tensors[graph.nodes[k].output.0].shape.iter().product()),
                zkinfer_ops::witness::Owner::Framework => n,
            };
        }
        println!("  logical (unpadded) entries of committed columns: {logical}");
        // What the prover holds besides the commitment: virtual columns, padded.
        let virt: usize = plan.columns().iter().filter(|c| c.definition.is_some()).map(|c| 1usize << c.num_vars).sum();
        println!("  virtual columns (held by the prover, padded): {virt} entries");
        // The lookups' GKRs: per group, statements, trees and an estimate of their proof bytes
        // (24 B per extension element: roots 2/tree, per layer j 2(j + ⌈log₂ m_j⌉) sumcheck values
        // for its m_j active trees + 3 joint children, 2 values per tree at its leaves, then arity
        // values per column and one m value per statement: `zkinfer_lookup::fracaddcheck`).
        let mut total_bytes = 0usize;
        for (g, group) in zkinfer_ops::lookups::gkr_statements(&plan).iter().enumerate() {
            let mut depths = Vec::new();
            let (mut cols, mut vals, mut leaves) = (0, 0, 0usize);
            for (table, lens) in group {
                depths.extend(zkinfer_lookup::logup::stacked_tree_depths(lens));
                depths.push(table.num_vars());
                cols += lens.len();
                vals += lens.len() * table.arity() + 1;
                leaves += lens.iter().sum::<usize>() + table.padded_len();
            }
            let d = depths.iter().copied().max().unwrap_or(0);
            let active = |j: usize| depths.iter().filter(|&&n| n > j).count();
            let rounds: usize = (0..d).map(|j| 2 * (j + active(j).next_power_of_two().trailing_zeros() as usize)).sum();
            let children: usize = 3 * d + 2 * depths.iter().filter(|&&n| n > 0).count();
            let bytes = 24 * (2 * depths.len() + rounds + children + vals);
            total_bytes += bytes;
            println!("  gkr group {g:3}: {} statements, {cols:4} columns, {leaves:10} leaves, {} trees, depth {d}, ≈{bytes} B (rounds {}, children {}, values {})", group.len(), depths.len(), 24 * rounds, 24 * children, 24 * vals);
        }
        println!("  lookups ≈{total_bytes} B");
        return Ok(());
    }
    let ds = DomainSeparator::new("walk-timing", 1);
    let t0 = Instant::now();
    let mut pt = ProverTranscript::new(&ds);
    let out = prove_graph(graph, &weights, &fwd.trace, &mut pt, |w, t| {
        let sizes: Vec<F> = w.plan().committed().iter().map(|&c| zkinfer_field::from_i64_unchecked(w.num_vars(c) as i64)).collect();
        t.absorb_public_fields("column sizes", &sizes);
        Ok::<_, ProofError>(())
    })?;
    let prove_s = t0.elapsed().as_secs_f64();
    let proof = pt.into_proof();
    let public = public_values(&fwd)?;
    let t0 = Instant::now();
    let mut vt = VerifierTranscript::new(&ds, &proof);
    let v = verify_graph(graph, &public, &mut vt, |plan, t| {
        let sizes: Vec<F> = plan.committed().iter().map(|&c| zkinfer_field::from_i64_unchecked(plan.num_vars(c) as i64)).collect();
        t.absorb_public_fields("column sizes", &sizes);
        Ok(())
    })?;
    vt.finish()?;
    let verify_s = t0.elapsed().as_secs_f64();
    let committed: usize = out.witness.plan().committed().iter().map(|&c| 1usize << out.witness.num_vars(c)).sum();
    println!(
        "{tokens} tokens, {} nodes: trace {trace_s:.2} s, prove walk {prove_s:.2} s, verify walk {verify_s:.3} s, \
         walk proof {} bytes, {} committed columns ({committed} entries), {} witness claims, {} weight claims",
        graph.nodes.len(),
        proof.len(),
        out.witness.plan().committed().len(),
        v.accumulators.witness.len(),
        v.accumulators.weights.len()
    );
    let plan = out.witness.plan();
    let mut per_table: Vec<(String, usize, usize)> = Vec::new();
    for l in plan.lookups() {
        let key = zkinfer_ops::witness::table_key(plan.table(l.table));
        let rows = 1usize << plan.num_vars(l.columns[0]);
        match per_table.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, n, c)) => {
                *n += rows;
                *c += 1;
            }
            None => per_table.push((key, rows, 1)),
        }
    }
    for (key, rows, cols) in &per_table {
        println!("  lookup {key:<16} {cols:5} columns {rows:10} rows");
    }
    print_committed(graph, plan);
    for (name, secs, bytes) in &out.timings {
        println!("  {name:<22} {secs:8.3} s {bytes:10} proof bytes");
    }
    Ok(())
}

/// The values of the graph's inputs and of every public op output (what the verifier is given).
fn public_values(fwd: &zkinfer_model::IntForward) -> Result<HashMap<TensorId, &[i64]>, ProofError> {
    let graph = &fwd.graph;
    let values = |t: TensorId| fwd.trace.get(t).map_or(&[][..], |v| v.data.as_slice());
    let mut public: HashMap<TensorId, &[i64]> = graph.inputs.iter().map(|&i| (i, values(i))).collect();
    for (n, node) in graph.nodes.iter().enumerate() {
        if protocol_for(graph, n)?.output_role() == TensorRole::Public {
            public.insert(node.output, values(node.output));
        }
    }
    Ok(public)
}

/// Committed entries per op kind and column name (where the witness size comes from).
fn print_committed(graph: &zkinfer_model::Graph, plan: &zkinfer_ops::WitnessPlan) {
    // (key, padded entries, entries committed as blocks, columns)
    let mut per_kind: Vec<(String, usize, usize, usize)> = Vec::new();
    let sparse = plan.sparse_layout();
    for (c, poly) in plan.columns().iter().filter(|c| c.definition.is_none()).zip(sparse.polys()) {
        let kind = match c.owner {
            zkinfer_ops::witness::Owner::Node(n) => format!("{:?}", graph.nodes[n].op).split(['(', ' ', '{']).next().unwrap_or("?").to_string(),
            zkinfer_ops::witness::Owner::Framework => "framework".to_string(),
        };
        let name = c.name.split(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']).next().unwrap_or("").to_string();
        let key = format!("{kind}/{name}");
        let blocks: usize = poly.block_num_vars().map(|m| 1usize << m).sum();
        match per_kind.iter_mut().find(|(k, ..)| *k == key) {
            Some((_, n, b, k)) => {
                *n += 1usize << c.num_vars;
                *b += blocks;
                *k += 1;
            }
            None => per_kind.push((key, 1usize << c.num_vars, blocks, 1)),
        }
    }
    per_kind.sort_by_key(|k| std::cmp::Reverse(k.2));
    for (key, entries, blocks, cols) in per_kind.iter().take(25) {
        println!("  committed {key:<36} {cols:5} columns {entries:10} padded entries {blocks:10} as blocks");
    }
}
