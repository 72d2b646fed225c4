//! `zkinfer logits`: every position's logits for a list of token ids.
//!
//! `--out` file format: raw little-endian `f32`, no header, `positions × vocab` values in
//! row-major order (row `p` holds position `p`'s logits for ids `0..vocab`), so the file has
//! `4 · positions · vocab` bytes; read it with `numpy.fromfile(path, "<f4").reshape(-1, vocab)`.
//! It is written atomically (a temporary file in the same directory, then a rename). Integer
//! logits (the default) are dequantized: `v · 2^-f` with the logits' fractional bits. Each
//! position's argmax is printed (or, with `--json`, one object).

use crate::ui::{self, Kind, Tag as _};
use std::path::PathBuf;

/// Arguments of `zkinfer logits`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Output file: raw little-endian f32, no header, positions x vocab values, \
row-major (row p = the logits of position p for token ids 0..vocab), 4 * positions * vocab bytes.")]
pub struct Args {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Token ids separated by commas or spaces, optionally in brackets (`464,2068,7586`,
    /// `"464 2068"`, `[464, 2068]`: the forms `tokenize` prints and `detokenize` reads).
    #[arg(long, allow_hyphen_values = true)]
    pub ids: String,
    /// Use the f32 reference instead of the integer model.
    #[arg(long)]
    pub float: bool,
    /// Output file (raw little-endian f32, positions × vocab).
    #[arg(short = 'o', long)]
    pub out: PathBuf,
    /// Print one JSON object instead of one line per position.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let ids = super::tokenize::parse_ids(std::slice::from_ref(&args.ids))?;
    if ids.is_empty() {
        return Err(ui::fail(Kind::Usage, "--ids holds no token id"));
    }
    ui::output_file(&args.out, "logits")?;
    let (_gguf, model) = super::arch::open_any(&args.model)?;
    let vocab = model.config().n_vocab;
    if let Some(bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        return Err(ui::fail(Kind::Request, format!("token id {bad} is outside the vocabulary ({vocab} tokens)")));
    }
    if ids.len() > model.config().n_ctx {
        return Err(ui::fail(Kind::Request, format!("{} positions exceed the context length {}", ids.len(), model.config().n_ctx)));
    }
    let rows = super::arch::logits(&model, &ids, args.float).tag(Kind::Internal, || "inference failed".into())?;
    let mut bytes = Vec::with_capacity(rows.len() * vocab * 4);
    for row in &rows {
        for v in row {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    ui::write_file(&args.out, &bytes, "logits")?;
    let argmax: Vec<u32> = rows.iter().map(|r| zkinfer_model::argmax_f32(r)).collect();
    if args.json {
        return ui::out_json(serde_json::json!({
            "out": args.out.display().to_string(),
            "format": "f32le",
            "positions": rows.len(),
            "vocab": vocab,
            "bytes": bytes.len(),
            "input_ids": ids,
            "argmax": argmax,
            "argmax_logit": rows.iter().zip(&argmax).map(|(r, &b)| r[b as usize]).collect::<Vec<f32>>(),
        }));
    }
    for (pos, ((id, row), best)) in ids.iter().zip(&rows).zip(&argmax).enumerate() {
        ui::outln(format_args!("position {pos}: input {id} -> argmax {best} (logit {:.6})", row[*best as usize]))?;
    }
    eprintln!(
        "wrote {} positions x {vocab} {} logits to {} ({} bytes, little-endian f32)",
        rows.len(),
        if args.float { "f32" } else { "integer (dequantized)" },
        args.out.display(),
        bytes.len()
    );
    Ok(())
}
