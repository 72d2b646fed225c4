//! `zkinfer demo`: generate, prove and verify on the tiny GPT-2 embedded in the binary
//! (`testdata/gpt2-tiny-random.gguf`: random weights, the real GPT-2 tokenizer), then show that
//! a tampered proof and a changed completion are rejected. Writes no file.

use super::prompt::{DEFAULT_N_PREDICT, PromptArgs};
use super::proving;
use crate::ui::{self, Kind, Progress};
use std::time::Instant;
use zkinfer_gguf::GgufFile;
use zkinfer_proof::ProofFile;

/// The embedded default model.
static TINY_GPT2: &[u8] = include_bytes!("../../../../testdata/gpt2-tiny-random.gguf");

/// The prompt when none is given.
const DEFAULT_PROMPT: &str = "The quick brown fox";

/// Arguments of `zkinfer demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Number of tokens to generate and prove.
    #[arg(short = 'n', long = "n-predict", visible_alias = "n-tokens", default_value_t = DEFAULT_N_PREDICT)]
    pub n: usize,
    /// No progress on standard error.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let prompt_text = args.prompt.text(Some(DEFAULT_PROMPT))?;
    let gguf = GgufFile::from_bytes(TINY_GPT2.to_vec()).map_err(|e| ui::fail(Kind::Internal, format!("embedded model: {e}")))?;
    let loaded = proving::load(&gguf, "the embedded tiny GPT-2")?;
    let cfg = *loaded.model.config();
    let prompt = super::prompt::encode(&loaded.tokenizer, &prompt_text, args.prompt.special);
    proving::check_request(&prompt, args.n, cfg.n_ctx, cfg.n_vocab)?;
    let say = |line: String| if args.json { Ok(()) } else { ui::outln(line) };
    say(format!(
        "model: embedded tiny GPT-2 ({} layers, width {}, {} heads, vocabulary {}, context {}; random weights)",
        cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_vocab, cfg.n_ctx
    ))?;

    let mut progress = Progress::new(args.quiet, 6);
    progress.stage("setup: committing the weights");
    let start = Instant::now();
    let pk = proving::run_setup(&loaded)?;
    let setup_s = start.elapsed().as_secs_f64();
    let commitment = pk.vk.model_commitment_hex();
    let vk_bytes = pk.vk.to_bytes().len();
    say(format!("setup: committed every weight in {setup_s:.2} s; model commitment {commitment}"))?;
    say(format!("       verifying key: {vk_bytes} bytes"))?;

    let (vk, weights) = proving::weight_commitment(pk);
    let (proof, t) = zkinfer_proof::prove_consuming(
        &loaded.model,
        &vk,
        weights,
        &prompt,
        args.n,
        |s| proving::show_stage(&mut progress, s, prompt.len(), args.n),
    )
    .map_err(|e| proving::proof_error(e, "proving failed"))?;
    let text = loaded.tokenizer.decode(&proof.completion_ids).unwrap_or_default();
    say(format!("prompt: {prompt_text:?} → {} tokens {prompt:?}", prompt.len()))?;
    say(format!("generated (integer model, KV cache): {text:?} {:?}", proof.completion_ids))?;
    let bytes = proof.to_bytes();
    say(format!(
        "prove: {:.2} s (trace {:.2}, graph {:.2}, open {:.2}); proof {} bytes",
        t.prove_s(),
        t.trace_s,
        t.prove_graph_s,
        t.open_s,
        bytes.len()
    ))?;

    progress.stage("verifying, then checking that tampered proofs are rejected");
    let start = Instant::now();
    let decoded = ProofFile::from_bytes(&bytes).map_err(|e| ui::fail(Kind::Internal, format!("the proof does not decode: {e}")))?;
    let verified = zkinfer_proof::verify(&vk, &decoded).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let verify_s = start.elapsed().as_secs_f64();
    say(format!(
        "verify: VALID in {verify_s:.3} s, without the weights: the committed model produced {:?}",
        verified.text
    ))?;

    let mut forged = proof.clone();
    let last = forged.completion_ids.len() - 1;
    forged.completion_ids[last] = (forged.completion_ids[last] + 1) % cfg.n_vocab as u32;
    let forged_text = loaded.tokenizer.decode(&forged.completion_ids).unwrap_or_default();
    let forged_rejection = match zkinfer_proof::verify(&vk, &forged) {
        Err(e) => ui::describe(&anyhow::Error::new(e)),
        Ok(_) => return Err(ui::fail(Kind::Internal, "a forged completion was accepted")),
    };
    say(format!("forged completion ({forged_text:?}): REJECTED ({forged_rejection})"))?;
    let mut flipped = bytes.clone();
    let i = flipped.len() / 2;
    flipped[i] ^= 1;
    let flipped_rejection = match ProofFile::from_bytes(&flipped) {
        Err(e) => e.to_string(),
        Ok(p) => match zkinfer_proof::verify(&vk, &p) {
            Err(e) => ui::describe(&anyhow::Error::new(e)),
            Ok(_) => return Err(ui::fail(Kind::Internal, "a proof with a flipped byte was accepted")),
        },
    };
    progress.finish();
    say(format!("proof with one flipped bit: REJECTED ({flipped_rejection})"))?;
    if args.json {
        ui::out_json(serde_json::json!({
            "model_commitment": commitment,
            "vk_bytes": vk_bytes,
            "prompt": prompt_text,
            "prompt_ids": proof.prompt_ids,
            "completion_ids": proof.completion_ids,
            "text": text,
            "proof_bytes": bytes.len(),
            "setup_s": setup_s,
            "prove_s": t.prove_s(),
            "verify_s": verify_s,
            "valid": true,
            "forged_completion_rejected": forged_rejection,
            "flipped_bit_rejected": flipped_rejection,
        }))?;
    }
    Ok(())
}
