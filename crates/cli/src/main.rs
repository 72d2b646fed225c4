//! `zkinfer`: prove and verify LLM inference from GGUF models.
//!
//! Each subcommand lives in its own module under `commands/`; this file parses arguments, sets
//! the thread count and the Ctrl-C handler, and turns a failure into its message (or JSON object)
//! and exit code (see [`ui`] and the README's "Exit codes").

#[cfg(all(feature = "block-reuse", target_os = "linux"))]
mod alloc;
mod commands;
mod ui;

use clap::{Parser, Subcommand};

/// The process allocator: mimalloc instead of glibc's malloc. The prover allocates and frees
/// hundreds of thousands of 0.1–1 MiB tables; glibc kept them in its arenas (13.4 GB resident
/// after the SmolLM2 trace was dropped, see docs/BENCHMARKS.md), mimalloc returns freed pages to
/// the system. Built with the crate's `no_thp` feature (`Cargo.toml`): mimalloc then never
/// asks for transparent huge pages, whose purge-and-refault cycles zeroed whole 2 MiB pages and
/// took twice the system time (docs/BENCHMARKS.md, "Prove time: allocator pages"). With the
/// `block-reuse` feature (on by default, Linux) blocks of 1 MiB and more are mapped by
/// [`alloc::Allocator`] instead, which keeps a freed block's pages for the next large block
/// rather than returning them to the system and faulting fresh ones in again, without raising
/// the peak ([`alloc`]'s module doc).
#[cfg(all(feature = "block-reuse", target_os = "linux"))]
#[global_allocator]
static GLOBAL: alloc::Allocator = alloc::Allocator;
#[cfg(not(all(feature = "block-reuse", target_os = "linux")))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The exit codes, as `--help` shows them.
const EXIT_CODES: &str = "Exit codes: 0 success, 1 proof rejected, 2 usage error, \
3 input/output or format error (missing, unreadable or malformed model, key or proof), \
4 request the model cannot serve (context length, vocabulary), 130 interrupted (Ctrl-C).\n\
With --json, every outcome prints one JSON object on stdout; failures print \
{\"ok\": false, \"error\": {\"kind\": …, \"message\": …}}.";

#[derive(Debug, Parser)]
#[command(name = "zkinfer", version, about = "Prove and verify LLM inference from GGUF models", after_help = EXIT_CODES)]
struct Cli {
    /// Worker threads for inference and proving (default: one per core).
    #[arg(short = 't', long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a GGUF model's architecture, hyperparameters and every tensor.
    Inspect(commands::inspect::Args),
    /// Turn text into token ids with the model's own tokenizer.
    Tokenize(commands::tokenize::TokenizeArgs),
    /// Turn token ids back into text.
    Detokenize(commands::tokenize::DetokenizeArgs),
    /// Generate a greedy completion (integer inference unless --float).
    Generate(commands::generate::Args),
    /// Write every position's logits for a list of token ids.
    Logits(commands::logits::Args),
    /// Commit a model's weights: write its verifying key.
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
    /// Serve an OpenAI-compatible API whose every completion is proven (durable proof queue).
    Serve(commands::serve::ServeArgs),
    /// Prove the jobs of a shared queue (Postgres) for `zkinfer serve`.
    Worker(commands::serve::WorkerArgs),
}

/// True if the arguments ask for JSON output (looked at before parsing, so that usage errors
/// are reported as JSON too).
fn wants_json(args: &[String]) -> bool {
    args.iter().skip(1).take_while(|a| a.as_str() != "--").any(|a| a == "--json")
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    let json = wants_json(&raw);
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            if json {
                // clap's message without its usage block, on one line.
                let text = e.to_string();
                let body = text.split("\n\nUsage:").next().unwrap_or(&text);
                let body = body.split("\n\nFor more information").next().unwrap_or(body);
                let message = body.trim_start_matches("error: ").split_whitespace().collect::<Vec<_>>().join(" ");
                let _ = ui::outln(ui::failure_json(ui::Kind::Usage, &message));
            }
            let _ = e.print();
            std::process::exit(ui::Kind::Usage.exit_code());
        }
    };
    // serve and worker shut down gracefully on Ctrl-C themselves (queued jobs stay queued).
    if !matches!(cli.command, Command::Serve(_) | Command::Worker(_)) {
        ui::on_interrupt(json);
    }
    if let Some(n) = cli.threads {
        if n == 0 {
            finish(Err(ui::fail(ui::Kind::Usage, "--threads must be at least 1")), json);
        }
        // Fails only if a pool exists already, which cannot happen before the first parallel job.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
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
        Command::Serve(a) => commands::serve::run_serve(a),
        Command::Worker(a) => commands::serve::run_worker(a),
    };
    finish(result, json);
}

/// Exits with the result's code; a failure is printed on standard error (and as JSON on
/// standard output with `--json`), except a closed standard output, which ends quietly with 0.
fn finish(result: anyhow::Result<()>, json: bool) -> ! {
    #[cfg(all(feature = "block-reuse", target_os = "linux"))]
    if std::env::var_os("ZKINFER_ALLOC_STATS").is_some() {
        eprintln!("[alloc] {}", alloc::report());
    }
    let Err(e) = result else { std::process::exit(0) };
    if ui::is_broken_pipe(&e) {
        std::process::exit(0);
    }
    let kind = ui::kind_of(&e);
    let message = ui::describe(&e);
    if json {
        let _ = ui::outln(ui::failure_json(kind, &message));
    }
    eprintln!("error: {message}");
    std::process::exit(kind.exit_code());
}
