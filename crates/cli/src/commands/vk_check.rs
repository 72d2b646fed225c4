//! `zkinfer vk-check --model MODEL.gguf --vk DIR_OR_VK [--json]`: recomputes the verifying key
//! from the GGUF and checks that the given key is byte-identical to it.
//!
//! A verifier who holds the model file runs it once per key to know that the key (hence every
//! proof verified with it) really commits to that model. `--proof-only` checks the key's setup
//! proof instead (no model file needed): the committed weights respect the bounds the key declares
//! and the block padding is zero — what a verifier without the weights can still know.
//!
//! A zero-knowledge key (`setup --zk`) is random (hiding), so it cannot be recomputed: with
//! `--model` it is refused (exit 3, the message says why and points to `--proof-only`);
//! `--proof-only` verifies the hiding setup proof inside its `vk.bin` (every weight zero on its
//! padding and within its declared bits, `zkinfer_verifier::zk_setup_proof`), no model needed.
//!
//! Exit codes (the CLI's, `crate::ui`): 0 the key matches (or its setup proof is valid), 1 it
//! does not (or the setup proof is invalid), 2 usage, 3 an input cannot be read or is malformed.
//! With `--json`, one object in every outcome with `ok`, `match` and, on failure,
//! `error: {kind, message}`.

use super::proving;
use anyhow::Context;
use std::path::PathBuf;
use zkinfer_proof::VerifyingKey;

/// Arguments of `zkinfer vk-check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file the key should commit to (not needed with --proof-only).
    #[arg(long, required_unless_present = "proof_only")]
    pub model: Option<PathBuf>,
    /// Verifying key file or keys directory.
    #[arg(long)]
    pub vk: PathBuf,
    /// Only check the key's setup proof (a public key's `setup-proof.bin` beside it; a
    /// zero-knowledge key's, inside its vk.bin); no model needed.
    #[arg(long)]
    pub proof_only: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Exit code when the key does not match (or its setup proof is invalid).
const EXIT_MISMATCH: i32 = 1;
/// Exit code when an input cannot be read or is malformed.
const EXIT_INPUT: i32 = 3;

fn fail(json: bool, code: i32, e: anyhow::Error) -> ! {
    let kind = if code == EXIT_MISMATCH { crate::ui::Kind::Rejected } else { crate::ui::kind_of(&e) };
    let message = crate::ui::describe(&e);
    if json {
        let mut obj = crate::ui::failure_json(kind, &message);
        obj["match"] = serde_json::Value::Bool(false);
        // A closed standard output must not turn a clean failure into a panic.
        let _ = crate::ui::outln(obj);
    }
    eprintln!("error: {message}");
    std::process::exit(kind.exit_code())
}

/// Runs the command (exits with the codes above).
pub fn run(args: Args) -> anyhow::Result<()> {
    let path = proving::vk_path(&args.vk);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read verifying key {}", path.display()))
        .unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
    if zkinfer_proof::zk_key::is_zk_key(&bytes) {
        if args.proof_only {
            return check_zk_setup_proof(&args, &path, &bytes);
        }
        let e = anyhow::anyhow!(
            "{} is a zero-knowledge key (setup --zk): it is random (hiding), so it cannot be recomputed from the model; run vk-check --proof-only to verify its setup proof (weights zero on their padding and within their declared bits)",
            path.display()
        );
        fail(args.json, EXIT_INPUT, e);
    }
    let vk = VerifyingKey::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid verifying key", path.display()))
        .unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
    let key_commitment = vk.model_commitment_hex();

    if args.proof_only {
        let proof_path = proving::setup_proof_path(&args.vk);
        let proof_bytes = std::fs::read(&proof_path)
            .with_context(|| format!("cannot read the setup proof {}", proof_path.display()))
            .unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
        let proof = zkinfer_proof::SetupProof::from_bytes(&proof_bytes)
            .with_context(|| format!("{} is not a valid setup proof", proof_path.display()))
            .unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
        let start = std::time::Instant::now();
        let verdict = zkinfer_proof::verify_setup(&vk, &proof);
        let secs = start.elapsed().as_secs_f64();
        let invalid = format!("the setup proof {}", proof_path.display());
        let valid_line = format!("setup proof valid ({secs:.3} s): the weights committed by key {key_commitment} are within their declared bounds, padding zero");
        return report_setup_proof(&args, verdict, secs, &key_commitment, false, &valid_line, &invalid);
    }

    let model = args.model.as_ref().context("--model is required without --proof-only")?;
    let loaded = proving::load_path(model).unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
    let pk = proving::run_setup(&loaded).unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
    let expected = pk.vk.to_bytes();
    let matched = expected == bytes;
    let model_commitment = pk.vk.model_commitment_hex();
    if args.json {
        let written = crate::ui::outln(serde_json::json!({
                "ok": matched,
                "error": (!matched).then(|| serde_json::json!({
                    "kind": "rejected",
                    "message": format!("the verifying key is not the key of {}", model.display()),
                })),
                "match": matched,
                "model_commitment": model_commitment,
                "vk_model_commitment": key_commitment,
                "vk": path.display().to_string(),
        }));
        // Success output goes through the closed-pipe-safe writer (`| head` ends with exit 0);
        // on a mismatch the exit code below matters more.
        if matched {
            written?;
        }
    } else if matched {
        crate::ui::outln(format_args!(
            "the verifying key {} commits to {} (model commitment {model_commitment})",
            path.display(),
            model.display()
        ))?;
    }
    if !matched {
        eprintln!(
            "error: the verifying key {} (model commitment {key_commitment}) is NOT the key of {} (model commitment {model_commitment})",
            path.display(),
            model.display()
        );
        std::process::exit(EXIT_MISMATCH);
    }
    Ok(())
}

/// `--proof-only` on a zero-knowledge key: its hiding setup proof (inside `vk.bin`).
fn check_zk_setup_proof(args: &Args, path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let vk = zkinfer_proof::zk_key::ZkVerifyingKey::from_bytes(bytes)
        .with_context(|| format!("{} is not a valid zero-knowledge verifying key", path.display()))
        .unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
    let key_commitment = vk
        .digest()
        .map(hex::encode)
        .with_context(|| format!("{} does not encode", path.display()))
        .unwrap_or_else(|e| fail(args.json, EXIT_INPUT, e));
    let start = std::time::Instant::now();
    let verdict = zkinfer_proof::zk_setup_proof::verify_zk_setup(&vk);
    let secs = start.elapsed().as_secs_f64();
    let invalid = format!("the setup proof inside the zero-knowledge key {}", path.display());
    let valid_line = format!("zero-knowledge key's setup proof valid ({secs:.3} s): the hidden weights committed by key {key_commitment} are zero on their padding and within their declared bounds");
    report_setup_proof(args, verdict, secs, &key_commitment, true, &valid_line, &invalid)
}

/// A setup proof's verdict, for a public key's `setup-proof.bin` and a zk key's inner proof alike:
/// with `--json` one object (`ok`, `match`, `setup_proof_valid`, `model_commitment`, `verify_s`,
/// `zk: true` for a zk key, `error` on failure), else `valid_line` on stdout; an invalid proof
/// exits [`EXIT_MISMATCH`] naming `invalid` (what was checked).
fn report_setup_proof<E: std::fmt::Display>(args: &Args, verdict: Result<(), E>, secs: f64, key_commitment: &str, zk: bool, valid_line: &str, invalid: &str) -> anyhow::Result<()> {
    let valid = verdict.is_ok();
    if args.json {
        let mut v = serde_json::json!({
            "ok": valid,
            "match": valid,
            "setup_proof_valid": valid,
            "model_commitment": key_commitment,
            "verify_s": secs,
        });
        if zk {
            v["zk"] = serde_json::json!(true);
        }
        if let Err(e) = &verdict {
            v["error"] = serde_json::json!({ "kind": "rejected", "message": e.to_string() });
        }
        // On failure the exit code matters more than a closed pipe.
        let written = crate::ui::outln(v);
        if valid {
            written?;
        }
    }
    match verdict {
        Ok(()) => {
            if !args.json {
                crate::ui::outln(valid_line)?;
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("error: {invalid} is invalid: {e}");
            std::process::exit(EXIT_MISMATCH)
        }
    }
}
