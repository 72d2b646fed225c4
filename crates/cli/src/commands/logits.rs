//! `zkinfer logits`: every position's logits for a list of token ids.
//!
//! Writes `[positions × vocab]` little-endian `f32`, row-major, to `--out` (atomically: a
//! temporary file in the same directory, then a rename) and prints each position's argmax.
//! Integer logits (the default) are dequantized: `v · 2^-f` with the logits' fractional bits.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `zkinfer logits`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Comma-separated token ids, e.g. `464,2068,7586`.
    #[arg(long)]
    pub ids: String,
    /// Use the f32 reference instead of the integer model.
    #[arg(long)]
    pub float: bool,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Parses `1,2,3` (spaces allowed) into ids.
pub fn parse_ids(s: &str) -> anyhow::Result<Vec<u32>> {
    let ids = s
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<u32>().with_context(|| format!("bad token id {t:?} in --ids (expected e.g. 464,2068,7586)")))
        .collect::<anyhow::Result<Vec<u32>>>()?;
    if ids.is_empty() {
        anyhow::bail!("--ids holds no token id");
    }
    Ok(ids)
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let ids = parse_ids(&args.ids)?;
    let (_gguf, model) = super::generate::open_model(&args.model)?;
    let vocab = model.config().n_vocab;
    if let Some(bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        anyhow::bail!("token id {bad} is out of range (vocabulary size {vocab})");
    }
    if ids.len() > model.config().n_ctx {
        anyhow::bail!("{} positions exceed the context length {}", ids.len(), model.config().n_ctx);
    }
    let rows = if args.float { model.logits_f32(&ids)? } else { model.logits_int(&ids)? };
    let mut bytes = Vec::with_capacity(rows.len() * vocab * 4);
    for row in &rows {
        for v in row {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    write_atomically(&args.out, &bytes)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (pos, (id, row)) in ids.iter().zip(&rows).enumerate() {
        let best = zkinfer_model::argmax_f32(row);
        writeln!(out, "position {pos}: input {id} -> argmax {best} (logit {:.6})", row[best as usize])?;
    }
    eprintln!(
        "wrote {} positions x {vocab} {} logits to {}",
        rows.len(),
        if args.float { "f32" } else { "integer (dequantized)" },
        args.out.display()
    );
    Ok(())
}
