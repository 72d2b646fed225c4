//! `zkinfer tokenize` and `zkinfer detokenize`: text ↔ token ids with the model's own GPT-2
//! tokenizer (read from the GGUF's `tokenizer.ggml.*` metadata).
//!
//! - `zkinfer tokenize --model MODEL [--text TEXT] [--json] [--special]` encodes `TEXT`, or all of
//!   standard input byte for byte (a trailing newline included) when `--text` is absent, without
//!   BOS/EOS and with control-token text (`<|im_start|>`) as plain text; `--special` parses
//!   control tokens and adds BOS/EOS when the model asks for them (llama.cpp's
//!   `parse_special = add_special = true`, what a chat prompt gets). It prints the ids on one
//!   line separated by spaces, or a JSON array with `--json`.
//! - `zkinfer detokenize --model MODEL ID...` prints the text of the ids. An argument may hold
//!   several ids separated by spaces or commas, optionally in brackets, so the output of
//!   `tokenize` (either form) can be passed back as one argument. Bytes that are not valid UTF-8
//!   (a character cut between ids) print as U+FFFD. The text is printed as is; a newline is
//!   added only when standard output is a terminal.
//!
//! A missing or malformed model, invalid UTF-8 input or an id outside the vocabulary is an error
//! (message on standard error, exit status 1).

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use zkinfer_gguf::GgufFile;
use zkinfer_tokenizer::Tokenizer;

/// Arguments of `zkinfer tokenize`.
#[derive(Debug, clap::Args)]
pub struct TokenizeArgs {
    /// The GGUF model file whose tokenizer is used.
    #[arg(long)]
    pub model: PathBuf,
    /// The text to encode; standard input is read when absent.
    #[arg(long, allow_hyphen_values = true)]
    pub text: Option<String>,
    /// Print a JSON array instead of space-separated ids.
    #[arg(long)]
    pub json: bool,
    /// Parse control tokens such as `<|im_start|>` in the text and add BOS/EOS if the model does.
    #[arg(long)]
    pub special: bool,
}

/// Arguments of `zkinfer detokenize`.
#[derive(Debug, clap::Args)]
pub struct DetokenizeArgs {
    /// The GGUF model file whose tokenizer is used.
    #[arg(long)]
    pub model: PathBuf,
    /// Token ids (each argument may hold several, separated by spaces or commas).
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    pub ids: Vec<String>,
}

/// Reads the tokenizer of the GGUF file at `path`.
fn load_tokenizer(path: &Path) -> anyhow::Result<Tokenizer> {
    // The GGUF error's message already includes its cause; formatting it (instead of chaining
    // it) keeps `main`'s `{:#}` from printing the cause twice.
    let file = GgufFile::open(path)
        .map_err(|e| anyhow::anyhow!("cannot load the model {}: {e}", path.display()))?;
    Tokenizer::from_gguf(&file)
        .with_context(|| format!("cannot read the tokenizer of {}", path.display()))
}

/// Parses ids written as `1 2 3`, `1,2,3` or `[1, 2, 3]`, spread over any number of arguments.
fn parse_ids(args: &[String]) -> anyhow::Result<Vec<u32>> {
    let mut ids = Vec::new();
    for arg in args {
        let fields = arg
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']'))
            .filter(|field| !field.is_empty());
        for field in fields {
            let id = field.parse::<u32>().map_err(|_| {
                anyhow::anyhow!("invalid token id `{field}`: expected a non-negative integer")
            })?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The line `tokenize` prints for `ids`.
fn format_ids(ids: &[u32], json: bool) -> anyhow::Result<String> {
    if json {
        return Ok(serde_json::to_string(ids)?);
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
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            String::from_utf8(bytes).map_err(|e| {
                anyhow::anyhow!(
                    "standard input is not valid UTF-8 (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                )
            })?
        }
    };
    let ids = tokenizer.encode_with(
        &text,
        zkinfer_tokenizer::EncodeOptions {
            add_special: args.special,
            parse_special: args.special,
        },
    );
    let line = format_ids(&ids, args.json)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}

/// Runs `detokenize`.
pub fn run_detokenize(args: DetokenizeArgs) -> anyhow::Result<()> {
    let ids = parse_ids(&args.ids)?;
    let tokenizer = load_tokenizer(&args.model)?;
    let text = tokenizer.decode(&ids)?;
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
        assert_eq!(
            format_ids(&[1, 22, 333], false).expect("format"),
            "1 22 333"
        );
        assert_eq!(
            format_ids(&[1, 22, 333], true).expect("format"),
            "[1,22,333]"
        );
        assert_eq!(format_ids(&[], false).expect("format"), "");
        assert_eq!(format_ids(&[], true).expect("format"), "[]");
    }
}
