//! `zkinfer generate`: greedy completion with a KV cache, integer inference (the computation
//! that gets proven) unless `--float`.
//!
//! The completion streams to stdout token by token (raw token bytes, so multi-byte characters
//! split across tokens come out whole); the speed goes to stderr. `--json` prints one object
//! `{"prompt_ids":[…],"completion_ids":[…],"text":"…"}` instead.

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;
use zkinfer_tokenizer::Tokenizer;

/// Arguments of `zkinfer generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Prompt text.
    #[arg(long)]
    pub prompt: String,
    /// Number of tokens to generate.
    #[arg(short = 'n', long = "n-tokens", default_value_t = 16)]
    pub n: usize,
    /// Use the f32 reference instead of the integer model.
    #[arg(long)]
    pub float: bool,
    /// Print one JSON object instead of streaming text.
    #[arg(long)]
    pub json: bool,
}

/// Opens a model file and builds its tokenizer and model.
pub fn open_model(path: &std::path::Path) -> anyhow::Result<(GgufFile, Model)> {
    let gguf = GgufFile::open(path).with_context(|| format!("cannot load model {}", path.display()))?;
    let model = Model::load(&gguf).with_context(|| format!("cannot load model {}", path.display()))?;
    Ok((gguf, model))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (gguf, model) = open_model(&args.model)?;
    let tokenizer = Tokenizer::from_gguf(&gguf).context("cannot build the tokenizer")?;
    let prompt_ids = tokenizer.encode(&args.prompt);
    if prompt_ids.is_empty() {
        anyhow::bail!("the prompt encodes to no tokens; give a non-empty --prompt");
    }
    let ctx = model.config().n_ctx;
    if prompt_ids.len().saturating_add(args.n) > ctx {
        anyhow::bail!(
            "prompt ({} tokens) + {} new tokens exceeds the context length {ctx}",
            prompt_ids.len(),
            args.n
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_err: Option<std::io::Error> = None;
    let mut stream = |id: u32| {
        if args.json || write_err.is_some() {
            return;
        }
        let bytes = tokenizer.token_bytes(id).unwrap_or_default();
        if let Err(e) = out.write_all(&bytes).and_then(|_| out.flush()) {
            write_err = Some(e);
        }
    };
    let start = Instant::now();
    let completion = if args.float {
        model.generate_f32(&prompt_ids, args.n, &mut stream)?
    } else {
        model.generate_int(&prompt_ids, args.n, &mut stream)?
    };
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = write_err {
        return Err(e).context("cannot write to stdout");
    }
    if args.json {
        // A completion may stop inside a multi-byte character: decode lossily (U+FFFD).
        let bytes = tokenizer.decode_bytes(&completion).context("cannot decode the completion")?;
        let text = String::from_utf8_lossy(&bytes);
        let obj = serde_json::json!({ "prompt_ids": prompt_ids, "completion_ids": completion, "text": text });
        writeln!(out, "{obj}")?;
    } else {
        writeln!(out)?;
    }
    out.flush()?;
    eprintln!(
        "{} tokens in {secs:.3} s: {:.2} tokens/s ({} inference, prompt {} tokens)",
        completion.len(),
        completion.len() as f64 / secs.max(1e-9),
        if args.float { "f32" } else { "integer" },
        prompt_ids.len()
    );
    Ok(())
}
