//! `zkinfer bench --model MODEL --tokens T [--json]`: one full run, timed stage by stage.
//!
//! The proven pass covers `T` positions: a one-token prompt (`"The"`, falling back to id 0)
//! and `T` greedily generated tokens (the last generated token is not an input of the pass).
//! Reports integer inference (KV-cache generation) time, setup, prove and verify times, proof
//! bytes, peak resident memory and prove ÷ inference.

use super::zk;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `zkinfer bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Positions in the proven forward pass (= tokens generated after a one-token prompt).
    #[arg(long, default_value_t = 32)]
    pub tokens: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.tokens == 0 {
        anyhow::bail!("--tokens must be at least 1");
    }
    let loaded = zk::load_path(&args.model)?;
    let mut prompt = loaded.tokenizer.encode("The");
    prompt.truncate(1);
    if prompt.is_empty() {
        prompt.push(0);
    }
    let n = args.tokens;

    let start = Instant::now();
    loaded.model.generate_int(&prompt, n, |_| {}).context("inference failed")?;
    let inference_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let pk = zk::run_setup(&loaded, args.json)?;
    let setup_s = start.elapsed().as_secs_f64();

    let (vk, weights) = zk::weight_commitment(pk);
    let bar = zk::spinner(args.json, "proving");
    let (proof, timings) =
        zkinfer_proof::prove_consuming(&loaded.model, &vk, weights, &prompt, n, |s| bar.set_message(zk::stage_message(s)), |_, _| {})
            .context("proving failed")?;
    bar.finish_and_clear();
    let bytes = proof.to_bytes();

    let start = Instant::now();
    let decoded = zkinfer_proof::ProofFile::from_bytes(&bytes).context("proof does not decode")?;
    zkinfer_proof::verify(&vk, &decoded).context("proof does not verify")?;
    let verify_s = start.elapsed().as_secs_f64();

    let prove_s = timings.prove_s();
    let out = serde_json::json!({
        "model": args.model.display().to_string(),
        "tokens": n,
        "setup_s": setup_s,
        "inference_s": inference_s,
        "prove_s": prove_s,
        "prove_trace_s": timings.trace_s,
        "prove_graph_s": timings.prove_graph_s,
        "prove_open_s": timings.open_s,
        "prove_weight_recommit_s": timings.weight_commit_s,
        "verify_s": verify_s,
        "proof_bytes": bytes.len(),
        "vk_bytes": vk.to_bytes().len(),
        "peak_rss_bytes": zk::peak_rss_bytes(),
        "prove_over_inference": prove_s / inference_s.max(1e-9),
    });
    if args.json {
        println!("{out}");
    } else {
        println!("model:               {}", args.model.display());
        println!("tokens proven:       {n}");
        println!("inference (int, KV): {inference_s:.3} s");
        println!("setup:               {setup_s:.2} s");
        println!(
            "prove:               {prove_s:.2} s (trace {:.2}, graph {:.2}, open {:.2}, weight recommit {:.2})",
            timings.trace_s, timings.prove_graph_s, timings.open_s, timings.weight_commit_s
        );
        println!("verify:              {verify_s:.3} s");
        println!("proof:               {} bytes", bytes.len());
        println!("peak memory:         {:.2} GiB", zk::peak_rss_bytes() as f64 / (1u64 << 30) as f64);
        println!("prove / inference:   {:.0}×", prove_s / inference_s.max(1e-9));
    }
    Ok(())
}
