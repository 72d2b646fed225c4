//! `zkinfer prove --model MODEL [--keys DIR] --prompt TEXT -n N --out PROOF`: generates greedily
//! with the KV cache, then proves the whole transcript as one causal forward pass.

use super::zk;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `zkinfer prove`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Keys directory (or verifying-key file) from `zkinfer setup`; the model must match it.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Prompt text.
    #[arg(long)]
    pub prompt: String,
    /// Number of tokens to generate.
    #[arg(short = 'n', long = "n-tokens")]
    pub n: usize,
    /// Where to write the proof.
    #[arg(long)]
    pub out: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = zk::load_path(&args.model)?;
    let prompt = loaded.tokenizer.encode(&args.prompt);
    let expected = args.keys.as_deref().map(zk::read_vk).transpose()?;
    let start = Instant::now();
    let (vk, weights) = match expected {
        // Keys made from this very file, for a large model: no commitment now; the prover commits
        // the weights after the witness opening and checks the result against the key.
        Some(vk)
            if vk.model_sha256 == loaded.sha256
                && vk.quant == *loaded.model.quant()
                && zk::recommits_weights(&vk) =>
        {
            (vk, zkinfer_proof::WeightCommitment::Recommit)
        }
        expected => {
            let pk = zk::run_setup(&loaded, args.json)?;
            if let Some(vk) = expected
                && vk.digest() != pk.vk.digest()
            {
                anyhow::bail!(
                    "the keys are for model {}, but {} commits to {}",
                    vk.model_commitment_hex(),
                    args.model.display(),
                    pk.vk.model_commitment_hex()
                );
            }
            zk::weight_commitment(pk)
        }
    };
    let setup_s = start.elapsed().as_secs_f64();
    let bar = zk::spinner(args.json, "proving");
    let (proof, timings) = zkinfer_proof::prove_consuming(
        &loaded.model,
        &vk,
        weights,
        &prompt,
        args.n,
        |stage| bar.set_message(zk::stage_message(stage)),
        |_, _| {},
    )
    .context("proving failed")?;
    bar.finish_and_clear();
    let bytes = proof.to_bytes();
    zk::write_file(&args.out, &bytes)?;
    let text = loaded.tokenizer.decode(&proof.completion_ids).unwrap_or_default();
    if args.json {
        let v = serde_json::json!({
            "model_commitment": vk.model_commitment_hex(),
            "prompt_ids": proof.prompt_ids,
            "completion_ids": proof.completion_ids,
            "text": text,
            "proof": args.out.display().to_string(),
            "proof_bytes": bytes.len(),
            "setup_s": setup_s,
            "generate_s": timings.generate_s,
            "prove_s": timings.prove_s(),
        });
        println!("{v}");
    } else {
        println!("prompt:      {:?}", args.prompt);
        println!("completion:  {text:?}");
        println!("model:       {}", vk.model_commitment_hex());
        println!(
            "timings:     commit weights {setup_s:.2} s, generate {:.2} s, trace {:.2} s, prove graph {:.2} s, open {:.2} s, weight recommit {:.2} s",
            timings.generate_s, timings.trace_s, timings.prove_graph_s, timings.open_s, timings.weight_commit_s
        );
        println!("proof:       {} ({} bytes)", args.out.display(), bytes.len());
    }
    Ok(())
}
