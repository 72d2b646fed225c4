//! `zkinfer inspect MODEL [--json]` (or `-m/--model MODEL`): what a GGUF file holds —
//! architecture, hyperparameters, tokenizer, tensors per type, parameter count, the file's
//! SHA-256, and every tensor (name, type, shape in ggml order, bytes, offset) like gguf-dump.
//!
//! The file is fully validated by the GGUF reader first, so a malformed file is reported as an
//! error (exit status 3) instead of half-printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::ui::{self, Kind};
use serde_json::{Value, json};
use zkinfer_gguf::{GgufFile, MetaValue};

/// Arguments of `zkinfer inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(required_unless_present = "model_flag", conflicts_with = "model_flag")]
    pub model: Option<PathBuf>,
    /// The GGUF model file (the same as the positional MODEL, as in llama.cpp).
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model_flag: Option<PathBuf>,
    /// Print one JSON object instead of a human-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Arrays longer than this are summarized (type and length) instead of listed.
const MAX_LISTED_ARRAY: usize = 16;

/// Everything `inspect` reports, gathered once and printed as text or JSON.
struct Summary {
    path: String,
    bytes: u64,
    sha256: String,
    version: u32,
    alignment: u64,
    metadata_count: usize,
    architecture: Option<String>,
    name: Option<String>,
    /// `(key, value as JSON, value as text)`.
    hyperparameters: Vec<(String, Value, String)>,
    tokenizer_model: Option<String>,
    vocab_size: Option<usize>,
    merges: Option<usize>,
    tensor_count: usize,
    tensor_types: BTreeMap<String, usize>,
    parameter_count: u64,
    tensor_bytes: u64,
    /// `(name, type, ggml dims, bytes, offset)` of every tensor, in file order.
    tensors: Vec<(String, String, Vec<u64>, u64, u64)>,
}

/// A metadata value as JSON; long arrays become `{"type": ..., "len": ...}`.
fn to_json(value: &MetaValue) -> Value {
    match value {
        MetaValue::U8(v) => json!(v),
        MetaValue::I8(v) => json!(v),
        MetaValue::U16(v) => json!(v),
        MetaValue::I16(v) => json!(v),
        MetaValue::U32(v) => json!(v),
        MetaValue::I32(v) => json!(v),
        MetaValue::U64(v) => json!(v),
        MetaValue::I64(v) => json!(v),
        MetaValue::F32(v) => json!(v),
        MetaValue::F64(v) => json!(v),
        MetaValue::Bool(v) => json!(v),
        MetaValue::Str(s) => json!(s),
        MetaValue::Array(items) if items.len() <= MAX_LISTED_ARRAY => {
            Value::Array(items.iter().map(to_json).collect())
        }
        MetaValue::Array(items) => json!({ "type": value.describe_type(), "len": items.len() }),
    }
}

fn summarize(path: &std::path::Path, file: &GgufFile) -> Summary {
    let architecture = file.architecture().ok().map(str::to_owned);
    let hyperparameters = match &architecture {
        Some(arch) => {
            let prefix = format!("{arch}.");
            file.metadata()
                .iter()
                .filter(|(key, _)| key.starts_with(&prefix))
                .map(|(key, value)| (key.clone(), to_json(value), value.to_string()))
                .collect()
        }
        None => Vec::new(),
    };
    let mut tensor_types = BTreeMap::new();
    for info in file.tensors() {
        *tensor_types
            .entry(info.ggml_type.name().to_owned())
            .or_insert(0) += 1;
    }
    Summary {
        path: path.display().to_string(),
        bytes: file.bytes().len() as u64,
        sha256: file.sha256_hex(),
        version: file.version(),
        alignment: file.alignment(),
        metadata_count: file.metadata().len(),
        architecture,
        name: file.get_str("general.name").ok().map(str::to_owned),
        hyperparameters,
        tokenizer_model: file.get_str("tokenizer.ggml.model").ok().map(str::to_owned),
        vocab_size: file
            .get_array("tokenizer.ggml.tokens")
            .ok()
            .map(<[MetaValue]>::len),
        merges: file
            .get_array("tokenizer.ggml.merges")
            .ok()
            .map(<[MetaValue]>::len),
        tensor_count: file.tensors().len(),
        tensor_types,
        // Each count was checked at parse time to fit in i64, and the sum of the tensors'
        // sizes is bounded by the file size, so these sums do not overflow.
        parameter_count: file.tensors().iter().map(|t| t.n_elements()).sum(),
        tensor_bytes: file.tensors().iter().map(|t| t.n_bytes).sum(),
        tensors: file
            .tensors()
            .iter()
            .map(|t| (t.name.clone(), t.ggml_type.name().to_owned(), t.dims.clone(), t.n_bytes, t.offset))
            .collect(),
    }
}

impl Summary {
    fn to_json(&self) -> Value {
        json!({
            "file": self.path,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "gguf_version": self.version,
            "alignment": self.alignment,
            "metadata_count": self.metadata_count,
            "architecture": self.architecture,
            "name": self.name,
            "hyperparameters": self
                .hyperparameters
                .iter()
                .map(|(key, value, _)| (key.clone(), value.clone()))
                .collect::<serde_json::Map<_, _>>(),
            "tokenizer": {
                "model": self.tokenizer_model,
                "vocab_size": self.vocab_size,
                "merges": self.merges,
            },
            "tensor_count": self.tensor_count,
            "tensor_types": self.tensor_types,
            "parameter_count": self.parameter_count,
            "tensor_bytes": self.tensor_bytes,
            "tensors": self
                .tensors
                .iter()
                .map(|(name, ty, dims, bytes, offset)| json!({
                    "name": name, "type": ty, "shape": dims, "bytes": bytes, "offset": offset,
                }))
                .collect::<Vec<_>>(),
        })
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "file:             {} ({} bytes)",
            self.path, self.bytes
        );
        let _ = writeln!(out, "sha256:           {}", self.sha256);
        let _ = writeln!(
            out,
            "gguf:             version {}, {} metadata entries, alignment {}",
            self.version, self.metadata_count, self.alignment
        );
        let _ = writeln!(
            out,
            "architecture:     {}",
            self.architecture.as_deref().unwrap_or("(not set)")
        );
        if let Some(name) = &self.name {
            let _ = writeln!(out, "name:             {name}");
        }
        if !self.hyperparameters.is_empty() {
            let _ = writeln!(out, "hyperparameters:");
            let width = self
                .hyperparameters
                .iter()
                .map(|(k, _, _)| k.len())
                .max()
                .unwrap_or(0);
            for (key, _, text) in &self.hyperparameters {
                let _ = writeln!(out, "  {key:<width$}  {text}");
            }
        }
        if let Some(model) = &self.tokenizer_model {
            let mut line = format!("tokenizer:        {model}");
            if let Some(n) = self.vocab_size {
                let _ = write!(line, ", {n} tokens");
            }
            if let Some(n) = self.merges {
                let _ = write!(line, ", {n} merges");
            }
            let _ = writeln!(out, "{line}");
        }
        let types: Vec<String> = self
            .tensor_types
            .iter()
            .map(|(ty, n)| format!("{ty}: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "tensors:          {} ({})",
            self.tensor_count,
            types.join(", ")
        );
        let _ = writeln!(
            out,
            "parameters:       {} ({})",
            self.parameter_count,
            human_count(self.parameter_count)
        );
        let _ = writeln!(out, "tensor data:      {} bytes", self.tensor_bytes);
        let _ = writeln!(out, "tensors (shape in ggml order, innermost first):");
        let width = self.tensors.iter().map(|t| t.0.len()).max().unwrap_or(0);
        for (i, (name, ty, dims, bytes, offset)) in self.tensors.iter().enumerate() {
            let shape: Vec<String> = dims.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "  {i:>4}: {name:<width$}  {ty:<5}  [{:<16}]  {bytes:>10} bytes  @ {offset}",
                shape.join(", ")
            );
        }
        out
    }
}

/// `3_276_800` → `3.28M`.
fn human_count(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")];
    for (scale, unit) in UNITS {
        if n >= scale {
            return format!("{:.2}{unit}", n as f64 / scale as f64);
        }
    }
    n.to_string()
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args
        .model
        .clone()
        .or(args.model_flag.clone())
        .ok_or_else(|| ui::fail(Kind::Usage, "give the model file"))?;
    let file = super::proving::open_gguf(&path)?;
    let summary = summarize(&path, &file);
    if args.json {
        let mut v = summary.to_json();
        v["ok"] = Value::Bool(true);
        ui::outln(serde_json::to_string_pretty(&v).map_err(|e| ui::fail(Kind::Internal, e.to_string()))?)
    } else {
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, summary.to_text().as_bytes())?;
        std::io::Write::flush(&mut out)?;
        Ok(())
    }
}
