//! `zkinfer setup -m MODEL --out DIR`: commits every weight and writes the verifying key.
//!
//! It also writes the setup proof (`setup-proof.bin`: every committed weight is within its
//! declared bound and every block padding entry is zero), which `verify` checks.
//!
//! Setup is deterministic: the same `.gguf` always gives the same model commitment. The prover
//! needs no stored proving key: `prove` recomputes the weight commitment from the model file and
//! checks it against the verifying key given with `--keys`.

use super::proving;
use crate::ui::{self, Kind, Progress};
use std::path::PathBuf;
use zkinfer_proof::VerifyingKey;

/// Arguments of `zkinfer setup`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Writes into DIR:\n  \
setup-proof.bin  the setup proof: every committed weight is within the bound the key declares and \
block padding is zero (checked by `verify` and `vk-check --proof-only`).\n  \
vk.bin     the verifying key: the architecture, the integer graph, every weight's name and shape, \
the weight commitment, the vocabulary and the end-of-generation tokens (its BLAKE3 digest is the model commitment). Give it, or DIR, \
to `prove --keys` and `verify --vk`.\n  \
keys.json  the model commitment, the key's size and the model file it was made from; a key whose \
bytes no longer match it is reported as damaged.\n\
No proving key is written: `prove` recomputes the weight commitment from the model file.\n\
An existing vk.bin made from another model is not replaced without --force.")]
pub struct Args {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Directory to write the keys into (created if missing).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace a key made from another model.
    #[arg(long)]
    pub force: bool,
    /// No progress on standard error.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    ui::output_dir(&args.out, "keys")?;
    let vk_path = args.out.join(proving::VK_FILE);
    let loaded = proving::load_path(&args.model)?;
    if vk_path.exists() && !args.force {
        let existing = std::fs::read(&vk_path).ok().and_then(|b| VerifyingKey::from_bytes(&b).ok());
        match existing {
            Some(vk) if vk.model_sha256 == loaded.sha256 => {}
            Some(vk) => {
                return Err(ui::fail(
                    Kind::Usage,
                    format!(
                        "{} holds the key of another model (model commitment {}); give --force to replace it",
                        vk_path.display(),
                        vk.model_commitment_hex()
                    ),
                ));
            }
            None => {
                return Err(ui::fail(
                    Kind::Usage,
                    format!("{} exists and is not a readable verifying key; give --force to replace it", vk_path.display()),
                ));
            }
        }
    }
    let mut progress = Progress::new(args.quiet, 1);
    progress.stage("committing the weights and proving their bounds");
    let (vk, setup_proof) = zkinfer_proof::setup_with_proof(&loaded.model, loaded.vocabulary(), loaded.sha256)
        .map_err(|e| proving::proof_error(e, "setup failed"))?;
    progress.finish();
    let vk_bytes = vk.to_bytes();
    let proof_bytes = setup_proof.to_bytes();
    // The setup proof first: a key directory never holds a key without its proof.
    let proof_path = args.out.join(proving::SETUP_PROOF_FILE);
    ui::write_file(&proof_path, &proof_bytes, "setup proof")?;
    ui::write_file(&vk_path, &vk_bytes, "verifying key")?;
    proving::write_manifest(&args.out, &vk, vk_bytes.len(), &args.model)?;
    let secs = progress.elapsed_s();
    let commitment = vk.model_commitment_hex();
    if args.json {
        ui::out_json(serde_json::json!({
            "model_commitment": commitment,
            "architecture": vk.architecture,
            "vk": vk_path.display().to_string(),
            "vk_bytes": vk_bytes.len(),
            "manifest": args.out.join(proving::MANIFEST_FILE).display().to_string(),
            "setup_proof": proof_path.display().to_string(),
            "setup_proof_bytes": proof_bytes.len(),
            "setup_s": secs,
        }))
    } else {
        ui::outln(format_args!("model commitment: {commitment}"))?;
        ui::outln(format_args!("wrote:            {} ({} bytes), {}", vk_path.display(), vk_bytes.len(), proving::MANIFEST_FILE))?;
        ui::outln(format_args!("setup proof:      {} ({} bytes)", proof_path.display(), proof_bytes.len()))?;
        ui::outln(format_args!("setup time:       {secs:.2} s"))
    }
}
