//! `zkinfer verify --vk VK PROOF [--json]`: checks a proof with the verifying key alone.
//!
//! The key's setup proof (`setup-proof.bin` beside it) is checked first: the committed weights
//! respect the bounds the key declares.
//!
//! Exit 0 and the verified prompt and completion on success; otherwise a non-zero exit and the
//! reason (with `--json`, `{"valid": false, "error": …}` on stdout as well).

use super::zk;
use std::path::PathBuf;
use std::time::Instant;
use zkinfer_proof::ProofFile;

/// Arguments of `zkinfer verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Verifying key file (or the keys directory from `zkinfer setup`); the setup proof
    /// `setup-proof.bin` must sit in the same directory.
    #[arg(long)]
    pub vk: PathBuf,
    /// The proof file.
    pub proof: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn check(args: &Args) -> anyhow::Result<(zkinfer_proof::Verified, String, f64)> {
    let vk = zk::read_vk(&args.vk)?;
    zk::check_setup_proof(&args.vk, &vk)?;
    let bytes = std::fs::read(&args.proof).map_err(|e| anyhow::anyhow!("cannot read proof {}: {e}", args.proof.display()))?;
    let start = Instant::now();
    let proof = ProofFile::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("malformed proof file: {e}"))?;
    let verified = zkinfer_proof::verify(&vk, &proof).map_err(|e| anyhow::anyhow!("invalid proof: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let prompt = vk.detokenize(&verified.prompt_ids).unwrap_or_default();
    Ok((verified, prompt, secs))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match check(&args) {
        Ok((v, prompt, secs)) => {
            if args.json {
                let out = serde_json::json!({
                    "valid": true,
                    "model_commitment": v.model_commitment,
                    "prompt_ids": v.prompt_ids,
                    "completion_ids": v.completion_ids,
                    "text": v.text,
                });
                println!("{out}");
            } else {
                println!("valid proof ({secs:.3} s)");
                println!("model:      {}", v.model_commitment);
                println!("prompt:     {prompt:?}");
                println!("completion: {:?}", v.text);
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({ "valid": false, "error": format!("{e:#}") }));
            }
            Err(e)
        }
    }
}
