//! `zkinfer verify --vk VK PROOF [--json]`: checks a proof with the verifying key alone.
//!
//! A proof stream (`zkinfer prove` with more positions than the chunk size; magic `ZKINFSTR`) is
//! verified as it is read, one record in memory at a time; a rejection names the record
//! (`chunk 3: …`, `close: …`). `--json` gives the same fields as for a one-pass proof, plus
//! `chunks` and `positions`.
//!
//! The key's setup proof (`setup-proof.bin` beside it) is checked first: the committed weights
//! respect the bounds the key declares.
//!
//! Exit 0 and the verified prompt and completion on success; exit 1 if the proof is rejected;
//! exit 3 if the key or the proof file is missing, unreadable or malformed (for a stream: a bad
//! header, a record cut short or badly framed, bytes after the close). With `--json`, one
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

/// The verified statement, the prompt's text, the verification time and, for a proof stream,
/// its chunks and positions.
type Checked = (zkinfer_proof::Verified, String, f64, Option<zkinfer_proof::chunked::StreamSummary>);

/// A zero-knowledge key: the proof must be a zero-knowledge proof for it; its header is checked
/// and the hiding setup proof, the hiding graph proof and the weight openings on its ticket are
/// verified ([`zkinfer_proof::zk_proof::verify_zk`]).
fn check_zk(args: &Args, vk: &zkinfer_proof::zk_key::ZkVerifyingKey) -> anyhow::Result<Checked> {
    use zkinfer_proof::zk_proof::{ZkProofFile, is_zk_proof, verify_zk};
    ui::input_file(&args.proof, "proof")?;
    let bytes = std::fs::read(&args.proof).tag(Kind::Io, || format!("cannot read proof {}", args.proof.display()))?;
    if !is_zk_proof(&bytes) {
        return Err(ui::fail(
            Kind::Usage,
            format!("{} is a zero-knowledge key, but {} is not a zero-knowledge proof", args.vk.display(), args.proof.display()),
        ));
    }
    let proof = ZkProofFile::from_bytes(&bytes)
        .map_err(|e| ui::fail(Kind::Format, format!("malformed zero-knowledge proof file {}: {e}", args.proof.display())))?;
    let start = Instant::now();
    let verified = verify_zk(vk, &proof).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let secs = start.elapsed().as_secs_f64();
    let prompt = vk.public.detokenize(&verified.prompt_ids).unwrap_or_default();
    Ok((verified, prompt, secs, None))
}

fn check(args: &Args) -> anyhow::Result<Checked> {
    let vk = match proving::read_any_vk(&args.vk)? {
        proving::AnyKey::Public(vk) => *vk,
        proving::AnyKey::Zk(vk) => return check_zk(args, &vk),
    };
    proving::check_setup_proof(&args.vk, &vk)?;
    ui::input_file(&args.proof, "proof")?;
    let open = || std::fs::File::open(&args.proof).tag(Kind::Io, || format!("cannot read proof {}", args.proof.display()));
    let mut magic = [0u8; 8];
    let is_stream = {
        use std::io::Read as _;
        open()?.read_exact(&mut magic).is_ok() && &magic == zkinfer_proof::chunked::STREAM_MAGIC
    };
    if is_stream {
        // A proof stream: read record by record, never whole.
        let mut reader = std::io::BufReader::new(open()?);
        let start = Instant::now();
        let (verified, summary) =
            zkinfer_proof::chunked::verify_stream(&vk, &mut reader).map_err(|e| proving::proof_error(e, "verification failed"))?;
        let secs = start.elapsed().as_secs_f64();
        let prompt = vk.detokenize(&verified.prompt_ids).unwrap_or_default();
        return Ok((verified, prompt, secs, Some(summary)));
    }
    let bytes = std::fs::read(&args.proof).tag(Kind::Io, || format!("cannot read proof {}", args.proof.display()))?;
    let start = Instant::now();
    let proof = ProofFile::from_bytes(&bytes)
        .map_err(|e| ui::fail(Kind::Format, format!("malformed proof file {}: {e}", args.proof.display())))?;
    let verified = zkinfer_proof::verify(&vk, &proof).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let secs = start.elapsed().as_secs_f64();
    let prompt = vk.detokenize(&verified.prompt_ids).unwrap_or_default();
    Ok((verified, prompt, secs, None))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match check(&args) {
        Ok((v, prompt, secs, stream)) => {
            if args.json {
                let mut obj = serde_json::json!({
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
                });
                if let Some(sum) = &stream {
                    obj["chunks"] = sum.chunks.into();
                    obj["positions"] = sum.positions.into();
                }
                ui::out_json(obj)
            } else {
                match &stream {
                    Some(sum) => ui::outln(format_args!("valid proof stream ({secs:.3} s, {} chunks, {} positions)", sum.chunks, sum.positions))?,
                    None => ui::outln(format_args!("valid proof ({secs:.3} s)"))?,
                }
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
