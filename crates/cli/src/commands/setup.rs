//! `zkinfer setup --model MODEL --out DIR`: commits every weight and writes the verifying key.
//!
//! It also writes the setup proof (`setup-proof.bin`: every committed weight is within its
//! declared bound and every block padding entry is zero), which `verify` checks.
//!
//! Setup is deterministic: the same `.gguf` always gives the same model commitment. The prover
//! needs no stored proving key: `prove` recomputes the weight commitment from the model file and
//! checks it against the verifying key given with `--keys`.

use super::zk;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `zkinfer setup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Directory to write the keys into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let loaded = zk::load_path(&args.model)?;
    let bar = zk::spinner(args.json, "setup: committing the weights and proving their bounds");
    let (vk, setup_proof) = zkinfer_proof::setup_with_proof(&loaded.model, zkinfer_proof::vocab_bytes(&loaded.tokenizer), loaded.sha256)
        .map_err(|e| anyhow::anyhow!("setup failed: {e}"))?;
    bar.finish_and_clear();
    let vk_bytes = vk.to_bytes();
    let proof_bytes = setup_proof.to_bytes();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out.display()))?;
    let vk_path = args.out.join(zk::VK_FILE);
    // The setup proof first: a key directory never holds a key without its proof.
    let proof_path = args.out.join(zk::SETUP_PROOF_FILE);
    zk::write_file(&proof_path, &proof_bytes)?;
    zk::write_file(&vk_path, &vk_bytes)?;
    let secs = start.elapsed().as_secs_f64();
    let commitment = vk.model_commitment_hex();
    if args.json {
        let v = serde_json::json!({
            "model_commitment": commitment,
            "vk": vk_path.display().to_string(),
            "vk_bytes": vk_bytes.len(),
            "setup_proof": proof_path.display().to_string(),
            "setup_proof_bytes": proof_bytes.len(),
            "setup_s": secs,
        });
        println!("{v}");
    } else {
        println!("model commitment: {commitment}");
        println!("verifying key:    {} ({} bytes)", vk_path.display(), vk_bytes.len());
        println!("setup proof:      {} ({} bytes)", proof_path.display(), proof_bytes.len());
        println!("setup time:       {secs:.2} s");
    }
    Ok(())
}
