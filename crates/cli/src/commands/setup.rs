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
With --zk (zero knowledge, hidden weights): vk.bin is a zero-knowledge key (the graph, shapes and \
vocabulary, and a hiding weight commitment good for --zk-budget proofs; random, so vk-check does not \
apply) and pk.bin is its SECRET proving key (mode 0600; it counts the proofs made: never copy it to \
a second prover, two copies would reuse tickets and leak weights). vk.bin carries a hiding setup \
proof that the weights are zero on their padding and within their declared ranges (vk-check --proof-only checks it). \
Zero-knowledge proving needs at least 17 new tokens for GPT-2-style graphs (docs/SECURITY.md).\n\
An existing vk.bin made from another model, or any zero-knowledge key, is not replaced without --force.")]
pub struct Args {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Directory to write the keys into (created if missing).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace a key made from another model (or a zero-knowledge key).
    #[arg(long)]
    pub force: bool,
    /// Zero knowledge: a hiding weight commitment and a secret proving key (pk.bin).
    #[arg(long)]
    pub zk: bool,
    /// With --zk: the number of proofs the key can hide (each proof uses one ticket; setup
    /// commits the weights once per ticket, plus ticket 0, reserved for the setup proof).
    #[arg(long, value_name = "K", default_value_t = 16, requires = "zk", value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub zk_budget: u32,
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
        let bytes = std::fs::read(&vk_path).unwrap_or_default();
        if zkinfer_proof::zk_key::is_zk_key(&bytes) {
            return Err(ui::fail(
                Kind::Usage,
                format!("{} holds a zero-knowledge key; replacing it discards its proving key: give --force to replace it", vk_path.display()),
            ));
        }
        if args.zk && args.out.join(ZK_PK_FILE).exists() {
            return Err(ui::fail(Kind::Usage, format!("{} exists; give --force to replace it", args.out.join(ZK_PK_FILE).display())));
        }
        let existing = VerifyingKey::from_bytes(&bytes).ok();
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
    if args.zk {
        return run_zk(&args, &loaded, &vk_path);
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
    // A zero-knowledge key replaced with --force: its secret proving key belongs to no key now.
    let old_pk = args.out.join(ZK_PK_FILE);
    if old_pk.exists() {
        std::fs::remove_file(&old_pk).map_err(|e| ui::fail(Kind::Io, format!("cannot remove the old proving key {}: {e}", old_pk.display())))?;
    }
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

/// The secret proving key of a zero-knowledge key directory.
pub const ZK_PK_FILE: &str = "pk.bin";

/// `setup --zk`: writes pk.bin (secret, first), vk.bin (zk) and keys.json; removes a setup proof
/// left by a public key in the same directory (it belongs to another key).
fn run_zk(args: &Args, loaded: &proving::Loaded, vk_path: &std::path::Path) -> anyhow::Result<()> {
    let budget = zkinfer_pcs_budget(args.zk_budget as usize);
    let mut progress = Progress::new(args.quiet, 1);
    progress.stage(&format!("committing the weights {} times (hiding, one ticket per proof)", budget.tickets));
    let (vk, pk) = zkinfer_proof::zk::setup_zk(&loaded.model, loaded.vocabulary(), budget)
        .map_err(|e| proving::proof_error(e, "setup failed"))?;
    progress.finish();
    let vk_bytes = vk.to_bytes().map_err(|e| proving::proof_error(e, "setup failed"))?;
    let pk_path = args.out.join(ZK_PK_FILE);
    let stale = args.out.join(proving::SETUP_PROOF_FILE);
    if stale.exists() {
        std::fs::remove_file(&stale).map_err(|e| ui::fail(Kind::Io, format!("cannot remove the old setup proof {}: {e}", stale.display())))?;
    }
    zkinfer_proof::fsio::write_atomic_private(&pk_path, &pk.to_bytes())
        .map_err(|e| ui::fail(Kind::Io, format!("cannot write proving key {}: {e}", pk_path.display())))?;
    ui::write_file(vk_path, &vk_bytes, "verifying key")?;
    let commitment = hex::encode(blake3::hash(&vk_bytes).as_bytes());
    let manifest = serde_json::json!({
        "model_commitment": commitment,
        "vk": proving::VK_FILE,
        "vk_bytes": vk_bytes.len(),
        "zk": true,
        "zk_budget": budget.tickets,
        "model": args.model.display().to_string(),
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| ui::fail(Kind::Internal, format!("manifest: {e}")))?;
    ui::write_file(&args.out.join(proving::MANIFEST_FILE), format!("{text}\n").as_bytes(), "key manifest")?;
    let secs = progress.elapsed_s();
    if args.json {
        ui::out_json(serde_json::json!({
            "model_commitment": commitment,
            "architecture": vk.public.architecture,
            "zk": true,
            "zk_budget": budget.tickets,
            "vk": vk_path.display().to_string(),
            "vk_bytes": vk_bytes.len(),
            "pk": pk_path.display().to_string(),
            "manifest": args.out.join(proving::MANIFEST_FILE).display().to_string(),
            "setup_s": secs,
        }))
    } else {
        ui::outln(format_args!("model commitment: {commitment} (zero knowledge, {} proofs)", budget.tickets))?;
        ui::outln(format_args!("wrote:            {} ({} bytes), {}", vk_path.display(), vk_bytes.len(), proving::MANIFEST_FILE))?;
        ui::outln(format_args!("proving key:      {} (SECRET: keep it private; it counts the proofs made)", pk_path.display()))?;
        ui::outln(format_args!("setup time:       {secs:.2} s"))
    }
}

fn zkinfer_pcs_budget(tickets: usize) -> zkinfer_proof::zk::KeyBudget {
    zkinfer_proof::zk::KeyBudget { tickets, ..Default::default() }
}
