//! The memory policy's figures for a verifying key, without proving: per transcript length the
//! one-pass estimates (plain and released, the witness groups), the default chunk size and its
//! estimated peak (`zkinfer_proof::memory`). Compare with `ZKINFER_MEMTRACE=1 /usr/bin/time -v
//! zkinfer bench …` (docs/BENCHMARKS.md).
//!
//! `cargo run --release -p zkinfer-proof --example memory_estimate -- KEYS/vk.bin 32 64 128`

use zkinfer_proof::VerifyingKey;
use zkinfer_proof::memory;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: memory_estimate VK.bin T…")?;
    let vk = VerifyingKey::from_bytes(&std::fs::read(&path)?)?;
    let w = memory::weight_entries(&vk);
    let budget = memory::policy_budget();
    println!("{path}: {w} weight entries; policy budget {budget} B; weight opening {} B", memory::weight_opening_bytes(w));
    for t in args {
        let t: usize = t.parse()?;
        let graph = vk.graph(t, t)?;
        let activations: u64 = graph
            .tensors
            .iter()
            .filter(|m| m.source == zkinfer_model::TensorSource::Activation)
            .map(|m| m.shape.iter().product::<usize>() as u64)
            .sum();
        let held = memory::one_pass_bytes(w, activations);
        let groups = memory::one_pass_witness_groups(&vk, t);
        let released = groups.as_ref().map(|g| memory::one_pass_released_bytes(w, g));
        let chunk = memory::default_chunk(&vk, t);
        println!(
            "T = {t}: activations {activations}; one pass: plain {held} B, witness groups {groups:?}, released {released:?} B, \
             under the policy {} B; default chunk {chunk}, estimated peak {} B",
            memory::one_pass_peak_bytes(&vk, t, budget),
            memory::estimated_peak_bytes(&vk, chunk, t)
        );
        // The chunks the rule reads for the default chunk size (from the last one back).
        if chunk < t {
            memory::largest_chunk_estimate(w, t, chunk, |n, s| {
                let graph = if s == 0 { vk.graph(n, n) } else { vk.step_graph(n, s, n) };
                let a: u64 = graph
                    .as_ref()
                    .map_or(0, |g| g.tensors.iter().filter(|m| m.source == zkinfer_model::TensorSource::Activation).map(|m| m.shape.iter().product::<usize>() as u64).sum());
                let groups = memory::chunk_witness_groups(&vk, n, s);
                println!("  chunk at s = {s} ({n} positions): activations {a}, witness groups {groups:?}, estimate {} B", memory::chunk_estimate(w, a, groups.as_deref()));
                (a, groups)
            });
        }
    }
    Ok(())
}
