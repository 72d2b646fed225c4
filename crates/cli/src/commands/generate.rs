//! `zkinfer generate`: greedy completion with a KV cache, integer inference (the computation
//! that gets proven) unless `--float`.
//!
//! The completion streams to stdout token by token (raw token bytes, so multi-byte characters
//! split across tokens come out whole); the speed goes to stderr. `--json` prints one object
//! `{"prompt_ids":[…],"completion_ids":[…],"text":"…"}` instead. `--chat` wraps the prompt as one
//! user message with the GGUF's own `tokenizer.chat_template` (as llama.cpp's chat mode does);
//! Llama-family models stop after an end-of-generation token (`-n` is then the maximum).

use super::prompt::{DEFAULT_N_PREDICT, PromptArgs};
use crate::ui::{self, Kind, Tag as _};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `zkinfer generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Number of tokens to generate.
    #[arg(short = 'n', long = "n-predict", visible_alias = "n-tokens", default_value_t = DEFAULT_N_PREDICT)]
    pub n: usize,
    /// Use the f32 reference instead of the integer model.
    #[arg(long)]
    pub float: bool,
    /// Print one JSON object instead of streaming text.
    #[arg(long)]
    pub json: bool,
    /// Wrap the prompt as one user message with the model's chat template.
    #[arg(long, conflicts_with = "special")]
    pub chat: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let text = args.prompt.text(None)?;
    super::proving::check_n(args.n)?;
    let (gguf, model) = super::arch::open_any(&args.model)?;
    // The tokens generation stops at (and does not print): the architecture's stop set (the
    // end-of-generation set for Llama-family models, none for GPT-2) — the set `setup` puts in
    // the key, so `verify` reports the same text.
    let (tokenizer, stop) = super::arch::tokenizer(&gguf, &model)?;
    let prompt_ids = super::proving::prompt_ids(&gguf, &tokenizer, &text, args.chat, args.prompt.special)?;
    super::proving::check_request(&prompt_ids, args.n, model.config().n_ctx, model.config().n_vocab)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_err: Option<std::io::Error> = None;
    let mut stream = |id: u32| {
        if args.json || write_err.is_some() || stop.contains(&id) {
            return;
        }
        let bytes = tokenizer.token_bytes(id).unwrap_or_default();
        if let Err(e) = out.write_all(&bytes).and_then(|_| out.flush()) {
            write_err = Some(e);
        }
    };
    let start = Instant::now();
    let completion = super::arch::generate(&model, &prompt_ids, args.n, args.float, &stop, &mut stream)
        .tag(Kind::Internal, || "generation failed".into())?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = write_err {
        return Err(anyhow::Error::new(e).context("cannot write to stdout"));
    }
    if args.json {
        // A completion may stop inside a multi-byte character: decode lossily (U+FFFD).
        let shown = match completion.split_last() {
            Some((last, rest)) if stop.contains(last) => rest,
            _ => &completion[..],
        };
        let bytes = tokenizer.decode_bytes(shown).tag(Kind::Internal, || "cannot decode the completion".into())?;
        let text = String::from_utf8_lossy(&bytes);
        drop(out);
        ui::out_json(serde_json::json!({ "prompt_ids": prompt_ids, "completion_ids": completion, "text": text }))?;
        return report(&completion, secs, args.float, prompt_ids.len());
    }
    writeln!(out)?;
    out.flush()?;
    report(&completion, secs, args.float, prompt_ids.len())
}

/// The speed line on standard error.
fn report(completion: &[u32], secs: f64, float: bool, prompt_len: usize) -> anyhow::Result<()> {
    eprintln!(
        "{} tokens in {secs:.3} s: {:.2} tokens/s ({} inference, prompt {} tokens)",
        completion.len(),
        completion.len() as f64 / secs.max(1e-9),
        if float { "f32" } else { "integer" },
        prompt_len
    );
    Ok(())
}
