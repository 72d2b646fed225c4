//! Prompt input shared by `generate`, `prove` and `demo`: `-p/--prompt TEXT` or `-f/--file PATH`
//! (as in llama.cpp, one trailing newline of the file is dropped), and how special tokens in the
//! text are treated.
//!
//! By default text such as `<|endoftext|>` is ordinary text: it is split into the ordinary tokens
//! that spell it (`<`, `|`, `end`, …), as `tiktoken`'s `encode_ordinary` does and as llama.cpp
//! does without special-token parsing. With `--special`, the tokenizer's special-token
//! partition applies (`docs/TOKENIZER.md`): text equal to a control token's text becomes that
//! one token and the text between is encoded as usual — llama.cpp's `parse_special = true`.
//! BOS/EOS are added whenever the model's metadata asks for them (`add_special = true`, as
//! llama.cpp's `llama-cli`, `llama-simple` and `llama-server` tokenize a prompt): SentencePiece
//! models (Llama 2, Mistral) and Llama 3 get their BOS; GPT-2 and SmolLM2 add none.

use crate::ui::{self, Kind, Tag as _};
use std::path::PathBuf;
use zkinfer_tokenizer::Tokenizer;

/// The default number of tokens to generate (`-n/--n-predict`) in every command.
pub const DEFAULT_N_PREDICT: usize = 16;

/// Where the prompt comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct PromptArgs {
    /// Prompt text (may start with a hyphen: `-p "-5 degrees"`).
    #[arg(short = 'p', long, allow_hyphen_values = true, conflicts_with = "file", value_name = "TEXT")]
    pub prompt: Option<String>,
    /// Read the prompt from a file (one trailing newline is dropped, as in llama.cpp).
    #[arg(short = 'f', long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Parse special tokens: text equal to a control token (e.g. `<|endoftext|>`) becomes that
    /// token, as llama.cpp does with parse_special=true. Without it, such text is ordinary text.
    /// (BOS/EOS are added whenever the model asks for them, with or without this flag.)
    #[arg(long)]
    pub special: bool,
}

impl PromptArgs {
    /// The prompt text, `default` if neither `-p` nor `-f` was given.
    pub fn text(&self, default: Option<&str>) -> anyhow::Result<String> {
        if let Some(p) = &self.prompt {
            return Ok(p.clone());
        }
        if let Some(path) = &self.file {
            ui::input_file(path, "prompt file")?;
            let bytes = std::fs::read(path).tag(Kind::Io, || format!("cannot read prompt file {}", path.display()))?;
            let mut text = String::from_utf8(bytes).map_err(|e| {
                ui::fail(
                    Kind::Format,
                    format!(
                        "prompt file {} is not valid UTF-8 (invalid byte at offset {})",
                        path.display(),
                        e.utf8_error().valid_up_to()
                    ),
                )
            })?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            return Ok(text);
        }
        default
            .map(str::to_owned)
            .ok_or_else(|| ui::fail(Kind::Usage, "give a prompt with -p/--prompt TEXT or -f/--file PATH"))
    }
}

/// Encodes `text` with the model's tokenizer: BOS/EOS when the model asks for them
/// (`add_special = true`); with `special`, control-token text becomes the token
/// (`parse_special = true`).
pub fn encode(tok: &Tokenizer, text: &str, special: bool) -> Vec<u32> {
    tok.encode_with(text, zkinfer_tokenizer::EncodeOptions { add_special: true, parse_special: special })
}
