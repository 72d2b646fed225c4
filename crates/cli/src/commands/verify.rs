//! `zkinfer verify --vk VK PROOF [--json]`: checks a proof with the verifying key alone.
//!
//! The key's setup proof (`setup-proof.bin` beside it) is checked first: the committed weights
//! respect the bounds the key declares.
//!
//! Exit 0 and the verified prompt and completion on success; exit 1 if the proof is rejected;
//! exit 3 if the key or the proof file is missing, unreadable or malformed. With `--json`, one
//! object in every case: `{"ok": true, "valid": true, …, "verify_s": …}` or
//! `{"ok": false, "valid": false, "error": {"kind", "message"}}`.

use super::proving;
use crate::ui::{self, Kind, Tag as _};
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
    let vk = proving::read_vk(&args.vk)?;
    proving::check_setup_proof(&args.vk, &vk)?;
    ui::input_file(&args.proof, "proof")?;
    let bytes = std::fs::read(&args.proof).tag(Kind::Io, || format!("cannot read proof {}", args.proof.display()))?;
    let start = Instant::now();
    let proof = ProofFile::from_bytes(&bytes)
        .map_err(|e| ui::fail(Kind::Format, format!("malformed proof file {}: {e}", args.proof.display())))?;
    let verified = zkinfer_proof::verify(&vk, &proof).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let secs = start.elapsed().as_secs_f64();
    let prompt = vk.detokenize(&verified.prompt_ids).unwrap_or_default();
    Ok((verified, prompt, secs))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match check(&args) {
        Ok((v, prompt, secs)) => {
            if args.json {
                ui::out_json(serde_json::json!({
                    "valid": true,
                    "architecture": v.architecture,
                    "model_commitment": v.model_commitment,
                    "max_new_tokens": v.max_new_tokens,
                    "stopped_at_eog": v.stopped_at_eog,
                    "prompt_ids": v.prompt_ids,
                    "completion_ids": v.completion_ids,
                    "prompt": prompt,
                    "text": v.text,
                    "verify_s": secs,
                }))
            } else {
                ui::outln(format_args!("valid proof ({secs:.3} s)"))?;
                ui::outln(format_args!("model:      {} ({})", v.model_commitment, v.architecture))?;
                ui::outln(format_args!("prompt:     {prompt:?}"))?;
                let stop = if v.stopped_at_eog { "stopped at end of generation" } else { "stopped at -n" };
                ui::outln(format_args!("completion: {:?} ({} tokens of at most {}, {stop})", v.text, v.completion_ids.len(), v.max_new_tokens))
            }
        }
        Err(e) => {
            if args.json {
                let kind = ui::kind_of(&e);
                let mut obj = ui::failure_json(kind, &ui::describe(&e));
                obj["valid"] = serde_json::Value::Bool(false);
                // A closed standard output must not turn a rejection into exit 0.
                let _ = ui::outln(obj);
                eprintln!("error: {}", ui::describe(&e));
                std::process::exit(kind.exit_code());
            }
            Err(e)
        }
    }
}
