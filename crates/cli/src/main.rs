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
    /// Commit a model's weights: write its proving and verifying keys.
    Setup(commands::setup::Args),
    /// Generate a completion and prove it.
    Prove(commands::prove::Args),
    /// Verify a proof with a verifying key (no model file needed).
    Verify(commands::verify::Args),
    /// Check that a verifying key is the key of a GGUF model (or check its setup proof).
    VkCheck(commands::vk_check::Args),
    /// Measure inference, setup, proving and verification.
    Bench(commands::bench::Args),
    /// Generate, prove and verify on the tiny GPT-2 embedded in the binary.
    Demo(commands::demo::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Tokenize(a) => commands::tokenize::run_tokenize(a),
        Command::Detokenize(a) => commands::tokenize::run_detokenize(a),
        Command::Generate(a) => commands::generate::run(a),
        Command::Logits(a) => commands::logits::run(a),
        Command::Setup(a) => commands::setup::run(a),
        Command::Prove(a) => commands::prove::run(a),
        Command::Verify(a) => commands::verify::run(a),
        Command::VkCheck(a) => commands::vk_check::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Demo(a) => commands::demo::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
