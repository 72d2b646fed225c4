//! `zkinfer`: prove and verify LLM inference from GGUF models.
//!
//! Each subcommand lives in its own module under `commands/`; this file only parses arguments and
//! maps errors to a non-zero exit code.

mod commands;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "zkinfer", version, about = "Prove and verify LLM inference from GGUF models")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a GGUF model's architecture, hyperparameters and tensors.
    Inspect(commands::inspect::Args),
    /// Turn text into token ids with the model's own tokenizer.
    Tokenize(commands::tokenize::TokenizeArgs),
    /// Turn token ids back into text.
    Detokenize(commands::tokenize::DetokenizeArgs),
    /// Generate a greedy completion (integer inference unless --float).
    Generate(commands::generate::Args),
    /// Write every position's logits for a list of token ids.
    Logits(commands::logits::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Tokenize(a) => commands::tokenize::run_tokenize(a),
        Command::Detokenize(a) => commands::tokenize::run_detokenize(a),
        Command::Generate(a) => commands::generate::run(a),
        Command::Logits(a) => commands::logits::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
