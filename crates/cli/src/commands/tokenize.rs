//! `zkinfer tokenize` and `zkinfer detokenize`: text ↔ token ids with the model's own GPT-2
//! tokenizer (read from the GGUF's `tokenizer.ggml.*` metadata).
//!
//! - `zkinfer tokenize --model MODEL [--text TEXT] [--json]` encodes `TEXT`, or all of standard
//!   input byte for byte (a trailing newline included) when `--text` is absent, without BOS/EOS.
//!   It prints the ids on one line separated by spaces, or `{"ok": true, "ids": […], "count": n}`
//!   with `--json`. `--special` parses control-token text such as `<|endoftext|>` or
//!   `<|im_start|>` into the token and adds BOS/EOS when the model asks for them (llama.cpp's
//!   `parse_special = add_special = true`, what a chat prompt gets); without it such text is
//!   ordinary text.
//! - `zkinfer detokenize --model MODEL ID...` prints the text of the ids. An argument may hold
//!   several ids separated by spaces or commas, optionally in brackets, so the output of
//!   `tokenize` (any form, its JSON object included) can be passed back as one argument. Bytes
//!   that are not valid UTF-8 (a character cut between ids) print as U+FFFD. The text is printed
//!   as is; a newline is added only when standard output is a terminal. `--json` prints
//!   `{"ok": true, "text": …, "ids": […]}`.
//!
//! A missing or malformed model (exit 3), invalid UTF-8 input (3), a malformed id (2) or an id
//! outside the vocabulary (4) is an error.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::ui::{self, Kind, Tag as _};
use zkinfer_tokenizer::Tokenizer;

/// Arguments of `zkinfer tokenize`.
#[derive(Debug, clap::Args)]
pub struct TokenizeArgs {
    /// The GGUF model file whose tokenizer is used.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// The text to encode (may start with a hyphen); standard input is read when absent.
    #[arg(short = 'p', long, visible_alias = "prompt", allow_hyphen_values = true)]
    pub text: Option<String>,
    /// Parse control tokens such as `<|endoftext|>` or `<|im_start|>` in the text and add
    /// BOS/EOS if the model does (llama.cpp's parse_special = add_special = true).
    #[arg(long)]
    pub special: bool,
    /// Print one JSON object `{"ok": true, "ids": [...], "count": n}`.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `zkinfer detokenize`.
#[derive(Debug, clap::Args)]
pub struct DetokenizeArgs {
    /// The GGUF model file whose tokenizer is used.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Token ids (each argument may hold several, separated by spaces or commas, optionally in
    /// brackets; `tokenize --json`'s object is read too).
    #[arg(required = true, num_args = 1.., allow_negative_numbers = true)]
    pub ids: Vec<String>,
    /// Print one JSON object `{"ok": true, "text": ..., "ids": [...]}`.
    #[arg(long)]
    pub json: bool,
}

/// Reads the tokenizer of the GGUF file at `path`.
fn load_tokenizer(path: &Path) -> anyhow::Result<Tokenizer> {
    let file = super::proving::open_gguf(path)?;
    Tokenizer::from_gguf(&file).tag(Kind::Format, || format!("cannot read the tokenizer of {}", path.display()))
}

/// Parses ids written as `1 2 3`, `1,2,3` or `[1, 2, 3]` (or `tokenize --json`'s object),
/// spread over any number of arguments.
pub fn parse_ids(args: &[String]) -> anyhow::Result<Vec<u32>> {
    let mut ids = Vec::new();
    for arg in args {
        let arg = match serde_json::from_str::<serde_json::Value>(arg) {
            Ok(v) if v.is_object() => v["ids"].to_string(),
            _ => arg.clone(),
        };
        let fields = arg
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']'))
            .filter(|field| !field.is_empty());
        for field in fields {
            let id = field.parse::<u32>().map_err(|_| {
                ui::fail(Kind::Usage, format!("invalid token id `{field}`: expected a non-negative integer"))
            })?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The line `tokenize` prints for `ids`.
fn format_ids(ids: &[u32], json: bool) -> anyhow::Result<String> {
    if json {
        return Ok(serde_json::json!({ "ok": true, "ids": ids, "count": ids.len() }).to_string());
    }
    let words: Vec<String> = ids.iter().map(u32::to_string).collect();
    Ok(words.join(" "))
}

/// Runs `tokenize`.
pub fn run_tokenize(args: TokenizeArgs) -> anyhow::Result<()> {
    let tokenizer = load_tokenizer(&args.model)?;
    let text = match args.text {
        Some(text) => text,
        None => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).tag(Kind::Io, || "cannot read standard input".into())?;
            String::from_utf8(bytes).map_err(|e| {
                ui::fail(
                    Kind::Format,
                    format!("standard input is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
                )
            })?
        }
    };
    // Raw ids unless --special (then BOS/EOS as the model asks, and control-token text parsed).
    let ids = tokenizer.encode_with(&text, zkinfer_tokenizer::EncodeOptions { add_special: args.special, parse_special: args.special });
    ui::outln(format_ids(&ids, args.json)?)
}

/// Runs `detokenize`.
pub fn run_detokenize(args: DetokenizeArgs) -> anyhow::Result<()> {
    let ids = parse_ids(&args.ids)?;
    let tokenizer = load_tokenizer(&args.model)?;
    let text = tokenizer.decode(&ids).tag(Kind::Request, || "cannot decode the ids".into())?;
    if args.json {
        return ui::out_json(serde_json::json!({ "text": text, "ids": ids }));
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if stdout.is_terminal() && !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_every_printed_form() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_ids(&args(&["15496", "995"])).expect("ids"),
            [15496, 995]
        );
        assert_eq!(parse_ids(&args(&["15496 995"])).expect("ids"), [15496, 995]);
        assert_eq!(
            parse_ids(&args(&["[15496,995]"])).expect("ids"),
            [15496, 995]
        );
        assert_eq!(parse_ids(&args(&["[]"])).expect("ids"), Vec::<u32>::new());
        for bad in ["-1", "abc", "1.5", "4294967296"] {
            let err = parse_ids(&args(&[bad])).expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn ids_print_as_words_or_json() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            format_ids(&[1, 22, 333], false).expect("format"),
            "1 22 333"
        );
        assert_eq!(
            format_ids(&[1, 22, 333], true).expect("format"),
            r#"{"count":3,"ids":[1,22,333],"ok":true}"#
        );
        assert_eq!(format_ids(&[], false).expect("format"), "");
        assert_eq!(format_ids(&[], true).expect("format"), r#"{"count":0,"ids":[],"ok":true}"#);
        assert_eq!(parse_ids(&args(&[r#"{"ok":true,"ids":[5,6]}"#])).expect("ids"), [5, 6]);
    }
}
