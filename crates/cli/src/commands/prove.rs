//! `zkinfer prove -m MODEL [--keys DIR] -p TEXT [-n N] -o PROOF`: generates greedily with the KV
//! cache, then proves the whole transcript as one causal forward pass over prompt + n − 1
//! positions (the last generated token is not an input), so `prompt + n − 1 ≤ n_ctx`.
//!
//! `--chat` wraps the prompt as one user message with the GGUF's chat template (as `generate
//! --chat`). Llama-family models stop at an end-of-generation token (then fewer than `-n` tokens
//! are proven, and the proof shows the stop); GPT-2 generates exactly `-n`.
//!
//! With more positions than the chunk size (`--chunk C`, default chosen by memory:
//! [`proving::default_chunk`]) the transcript is proven chunk by chunk as it is generated and the
//! proof is a stream (docs/PROOF_FORMAT.md), written to a temporary file and renamed into place
//! once complete; otherwise the one-pass proof as before.
//!
//! Before any heavy work it checks that the proof can be written and that the request fits the
//! model (non-empty prompt, n ≥ 1, context). Same statement, same key: same proof bytes.

use super::prompt::{DEFAULT_N_PREDICT, PromptArgs};
use super::proving;
use crate::ui::{self, Kind, Progress};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `zkinfer prove`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Keys directory (or verifying-key file) from `zkinfer setup`; the model must match it.
    /// Without it the weights are committed here (the same commitment setup makes).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Number of tokens to generate and prove.
    #[arg(short = 'n', long = "n-predict", visible_alias = "n-tokens", default_value_t = DEFAULT_N_PREDICT)]
    pub n: usize,
    /// Wrap the prompt as one user message with the model's chat template.
    #[arg(long, conflicts_with = "special")]
    pub chat: bool,
    /// Where to write the proof.
    #[arg(short = 'o', long)]
    pub out: PathBuf,
    /// Prove in chunks of C positions (a power of two) and write a proof stream
    /// (docs/PROOF_FORMAT.md, "Proof stream"): memory bounded by one chunk, chunk k proven as
    /// soon as its tokens exist. A transcript of at most C positions gets the ordinary one-pass
    /// proof. Default: the largest C whose estimated peak memory fits 8 GiB (or 3/4 of the
    /// available memory if less), so long transcripts are chunked automatically.
    #[arg(long, value_name = "C")]
    pub chunk: Option<usize>,
    /// Progress on standard error: tokens generated and chunks proven (the default; a live bar on
    /// a terminal, one line per stage otherwise).
    #[arg(long, conflicts_with = "quiet")]
    pub progress: bool,
    /// No progress on standard error.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Zero knowledge: prove with the keys of `setup --zk` (required with such keys; one ticket
    /// of pk.bin per proof). A model whose graph the zk prover cannot walk yet is refused, naming
    /// the node, before any ticket is taken (docs/SECURITY.md).
    #[arg(long)]
    pub zk: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let text = args.prompt.text(None)?;
    proving::check_n(args.n)?;
    ui::output_file(&args.out, "proof")?;
    if args.zk {
        return run_zk(&args, &text);
    }
    let expected = args.keys.as_deref().map(proving::read_vk).transpose()?;
    let gguf = proving::open_gguf(&args.model)?;
    let mut loaded = proving::load(&gguf, &args.model.display().to_string())?;
    let prompt = proving::prompt_ids(&gguf, &loaded.tokenizer, &text, args.chat, args.prompt.special)?;
    drop(gguf);
    proving::check_request(&prompt, args.n, loaded.model.config().n_ctx, loaded.model.config().n_vocab)?;

    // The key holds the model file's SHA-256 and its digest covers it: keys made from another
    // file can never match, so say so before committing anything.
    if let Some(vk) = &expected
        && vk.model_sha256 != loaded.sha256
    {
        return Err(ui::fail(
            Kind::Usage,
            format!(
                "the keys are for model {} (made from a file with SHA-256 {}), not for {}: give the keys made from this model",
                vk.model_commitment_hex(),
                hex::encode(vk.model_sha256),
                args.model.display()
            ),
        ));
    }
    if let Some(c) = args.chunk
        && (c == 0 || !c.is_power_of_two() || c > zkinfer_proof::chunked::MAX_CHUNK as usize)
    {
        return Err(ui::fail(Kind::Usage, format!("--chunk {c} is not a power of two in [1, {}]", zkinfer_proof::chunked::MAX_CHUNK)));
    }
    let positions = prompt.len() + args.n - 1;
    let recommit = matches!(&expected, Some(vk) if vk.model_sha256 == loaded.sha256
        && loaded.model.graph_template().is_ok_and(|g| g == vk.graph)
        && proving::recommits_weights(vk));
    // The chunk size is known before the commitment only with --chunk or a key; otherwise it
    // is decided after setup (the estimate reads the key's graphs).
    let planned = args.chunk.or_else(|| expected.as_ref().map(|vk| proving::default_chunk(vk, positions)));
    let stages = match planned {
        Some(c) if c < positions => positions.div_ceil(c) + 1,
        _ => 4,
    };
    let mut progress = Progress::new(args.quiet, stages + usize::from(!recommit));
    let start = Instant::now();
    let (vk, weights) = match expected {
        // Keys made from this very file, for a large model: no commitment now; the prover commits
        // the weights after the witness opening and checks the result against the key.
        Some(vk) if recommit => (vk, zkinfer_proof::WeightCommitment::Recommit),
        expected => {
            progress.stage("committing the weights");
            let pk = proving::run_setup(&loaded)?;
            if let Some(vk) = expected
                && vk.digest() != pk.vk.digest()
            {
                return Err(ui::fail(
                    Kind::Usage,
                    format!(
                        "the keys are for model {}, but {} commits to {}: give the keys made from this model",
                        vk.model_commitment_hex(),
                        args.model.display(),
                        pk.vk.model_commitment_hex()
                    ),
                ));
            }
            proving::weight_commitment(pk)
        }
    };
    let setup_s = start.elapsed().as_secs_f64();
    let chunk = planned.unwrap_or_else(|| proving::default_chunk(&vk, positions));
    if chunk < positions {
        let (completion, timings) = proving::prove_stream_file(&loaded, &vk, weights, &prompt, args.n, chunk, &args.out, progress)?;
        let text_out = proving::completion_text(&loaded.tokenizer, &vk, &completion);
        return if args.json {
            ui::out_json(serde_json::json!({
                "architecture": vk.architecture,
                "model_commitment": vk.model_commitment_hex(),
                "max_new_tokens": args.n,
                "prompt_ids": prompt,
                "completion_ids": completion,
                "text": text_out,
                "proof": args.out.display().to_string(),
                "proof_bytes": timings.bytes,
                "chunk": chunk,
                "chunks": timings.chunks_s.len(),
                "setup_s": setup_s,
                "generate_s": timings.generate_s,
                "prove_s": timings.prove_s(),
                "total_s": start.elapsed().as_secs_f64(),
            }))
        } else {
            ui::outln(format_args!("prompt:      {text:?} ({} tokens)", prompt.len()))?;
            ui::outln(format_args!("completion:  {text_out:?} ({} tokens)", completion.len()))?;
            ui::outln(format_args!("model:       {}", vk.model_commitment_hex()))?;
            ui::outln(format_args!(
                "timings:     commit weights {setup_s:.2} s, generate {:.2} s (overlapped), {} chunks of {chunk} positions {:.2} s, close {:.2} s; total {:.2} s",
                timings.generate_s,
                timings.chunks_s.len(),
                timings.chunks_s.iter().sum::<f64>(),
                timings.close_s,
                start.elapsed().as_secs_f64()
            ))?;
            ui::outln(format_args!("wrote proof stream: {} ({} bytes, {} chunks)", args.out.display(), timings.bytes, timings.chunks_s.len()))
        };
    }
    let (proof, timings) = zkinfer_proof::prove_spilling(
        &mut loaded.model,
        &vk,
        weights,
        &prompt,
        args.n,
        |stage| proving::show_stage(&mut progress, stage, prompt.len(), args.n),
    )
    .map_err(|e| proving::proof_error(e, "proving failed"))?;
    progress.finish();
    let bytes = proof.to_bytes();
    ui::write_file(&args.out, &bytes, "proof")?;
    let text_out = proving::completion_text(&loaded.tokenizer, &vk, &proof.completion_ids);
    let total_s = progress.elapsed_s();
    if args.json {
        ui::out_json(serde_json::json!({
            "architecture": vk.architecture,
            "model_commitment": vk.model_commitment_hex(),
            "max_new_tokens": proof.max_new_tokens,
            "prompt_ids": proof.prompt_ids,
            "completion_ids": proof.completion_ids,
            "text": text_out,
            "proof": args.out.display().to_string(),
            "proof_bytes": bytes.len(),
            "setup_s": setup_s,
            "generate_s": timings.generate_s,
            "prove_s": timings.prove_s(),
            "total_s": total_s,
        }))
    } else {
        ui::outln(format_args!("prompt:      {text:?} ({} tokens)", prompt.len()))?;
        ui::outln(format_args!("completion:  {text_out:?} ({} tokens)", proof.completion_ids.len()))?;
        ui::outln(format_args!("model:       {}", vk.model_commitment_hex()))?;
        ui::outln(format_args!(
            "timings:     commit weights {setup_s:.2} s, generate {:.2} s, trace {:.2} s, prove graph {:.2} s, open {:.2} s, weight recommit {:.2} s; total {total_s:.2} s",
            timings.generate_s, timings.trace_s, timings.prove_graph_s, timings.open_s, timings.weight_commit_s
        ))?;
        ui::outln(format_args!("wrote proof: {} ({} bytes)", args.out.display(), bytes.len()))
    }
}

/// `prove --zk`: the one-pass zero-knowledge proof on the next ticket of `pk.bin` (locked until
/// the proof is written). Refused, spending no ticket, without a zk key, with `--chunk` below the
/// transcript (zk proof streams are not built), or for a graph the zk prover cannot walk.
fn run_zk(args: &Args, text: &str) -> anyhow::Result<()> {
    let (vk, pk_path) = proving::zk_keys(args.keys.as_deref())?;
    let gguf = proving::open_gguf(&args.model)?;
    let loaded = proving::load(&gguf, &args.model.display().to_string())?;
    let prompt = proving::prompt_ids(&gguf, &loaded.tokenizer, text, args.chat, args.prompt.special)?;
    drop(gguf);
    proving::check_request(&prompt, args.n, loaded.model.config().n_ctx, loaded.model.config().n_vocab)?;
    let positions = prompt.len() + args.n - 1;
    if let Some(c) = args.chunk
        && c < positions
    {
        return Err(ui::fail(Kind::Usage, format!("--chunk {c}: zero-knowledge proofs are one pass ({positions} positions); proof streams are not built in zk mode")));
    }
    let mut progress = Progress::new(args.quiet, 3);
    let (proof, lease, timings) = zkinfer_proof::zk::prove_zk(&loaded.model, &vk, &pk_path, &prompt, args.n, |stage| {
        proving::show_stage(&mut progress, stage, prompt.len(), args.n)
    })
    .map_err(|e| proving::proof_error(e, "zero-knowledge proving failed"))?;
    progress.finish();
    let bytes = proof.to_bytes();
    ui::write_file(&args.out, &bytes, "proof")?;
    drop(lease);
    let text_out = proving::completion_text(&loaded.tokenizer, &vk.public, &proof.completion_ids);
    let commitment = vk.model_commitment_hex().map_err(|e| proving::proof_error(e, "zero-knowledge key"))?;
    let total_s = progress.elapsed_s();
    if args.json {
        ui::out_json(serde_json::json!({
            "architecture": vk.public.architecture,
            "model_commitment": commitment,
            "zk": true,
            "ticket": proof.ticket,
            "max_new_tokens": proof.max_new_tokens,
            "prompt_ids": proof.prompt_ids,
            "completion_ids": proof.completion_ids,
            "text": text_out,
            "proof": args.out.display().to_string(),
            "proof_bytes": bytes.len(),
            "setup_s": 0.0,
            "generate_s": timings.generate_s,
            "prove_s": timings.prove_s(),
            "total_s": total_s,
        }))
    } else {
        ui::outln(format_args!("prompt:      {text:?} ({} tokens)", prompt.len()))?;
        ui::outln(format_args!("completion:  {text_out:?} ({} tokens)", proof.completion_ids.len()))?;
        ui::outln(format_args!("model:       {commitment} (zero knowledge, ticket {})", proof.ticket))?;
        ui::outln(format_args!(
            "timings:     generate {:.2} s, trace {:.2} s, ticket recommit {:.2} s, hiding graph proof {:.2} s; total {total_s:.2} s",
            timings.generate_s, timings.trace_s, timings.ticket_s, timings.prove_graph_s
        ))?;
        ui::outln(format_args!("wrote zero-knowledge proof: {} ({} bytes)", args.out.display(), bytes.len()))
    }
}
