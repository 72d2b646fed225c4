//! `zkinfer serve` and `zkinfer worker` (the server itself is the `zkinfer-server` crate; this
//! module only turns flags into its configuration and its failures into exit codes).

use super::prompt::DEFAULT_N_PREDICT;
use crate::ui::{self, Kind};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `zkinfer serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Endpoints: POST /v1/completions, POST /v1/chat/completions (stream: true for server-sent events), \
GET /v1/models, GET /health, GET /v1/proofs/{id} (state: queued, proving, done, failed), GET /v1/proofs/{id}/proof \
(the bytes `zkinfer verify` reads), GET /v1/vk and GET /v1/vk/setup-proof (save both in one directory for `verify --vk DIR`).\n\
Greedy decoding only: temperature 0 or absent; other sampling parameters are refused (400).\n\
Every completion's proof job is stored in the queue before the answer is sent; jobs survive a crash or restart \
and are proven exactly once. Ctrl-C or SIGTERM: stop accepting, finish requests in flight, put proofs in progress \
back in the queue, exit.")]
pub struct ServeArgs {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Keys directory from `zkinfer setup` (vk.bin and setup-proof.bin), made from this model.
    #[arg(long)]
    pub keys: PathBuf,
    /// Address to listen on (loopback by default; give 0.0.0.0 to listen on every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Proof queue: sqlite:PATH (one file, default zkinfer-queue.db) or postgres://USER@HOST/DB.
    #[arg(long, default_value = "sqlite:zkinfer-queue.db", value_name = "QUEUE")]
    pub queue: String,
    /// Require `Authorization: Bearer KEY` on /v1/* (or set ZKINFER_API_KEY).
    #[arg(long, env = "ZKINFER_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Model id listed by /v1/models (default: the file name without .gguf).
    #[arg(long)]
    pub alias: Option<String>,
    /// Jinja chat template file for /v1/chat/completions instead of the GGUF's tokenizer.chat_template.
    #[arg(long, value_name = "FILE")]
    pub chat_template: Option<PathBuf>,
    #[command(flatten)]
    pub provers: ProverArgs,
    /// Default max_tokens when a request gives none.
    #[arg(short = 'n', long = "n-predict", default_value_t = DEFAULT_N_PREDICT)]
    pub n_predict: usize,
    /// Largest max_tokens a request may ask for (default: the context length).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Proof jobs waiting beyond which new completions are refused (503).
    #[arg(long, default_value_t = 10_000)]
    pub max_queued: u64,
    /// Generations at once (requests beyond wait their turn).
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
}

/// Prover flags shared by `serve` and `worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProverArgs {
    /// Proofs at once in this process (default: what 80 % of the available memory holds at the
    /// estimated peak of one proof, at most one per core; 0 with serve: prove nothing here,
    /// leave the jobs to `zkinfer worker`).
    #[arg(long, value_name = "N")]
    pub max_proofs: Option<usize>,
    /// Peak memory of one proof in MiB (default: estimated from the model's size, ~7 GiB for GPT-2 small).
    #[arg(long, value_name = "MIB")]
    pub proof_memory: Option<u64>,
    /// Seconds a prover's claim on a job lasts without renewal; a job whose prover died is
    /// retaken after this (live provers renew every third of it).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub lease: f64,
    /// Claims of one job before it is failed as abandoned (its prover died that many times).
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
}

impl ProverArgs {
    fn lease(&self) -> anyhow::Result<Duration> {
        if !(self.lease.is_finite() && self.lease >= 0.1 && self.lease <= 86_400.0) {
            return Err(ui::fail(Kind::Usage, "--lease must be between 0.1 and 86400 seconds"));
        }
        Ok(Duration::from_secs_f64(self.lease))
    }
}

/// Arguments of `zkinfer worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// The queue to drain: postgres://USER@HOST/DB (or sqlite:PATH on the server's machine).
    #[arg(long, value_name = "QUEUE")]
    pub queue: String,
    /// GGUF model file (the same the server serves).
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Keys directory from `zkinfer setup`.
    #[arg(long)]
    pub keys: PathBuf,
    #[command(flatten)]
    pub provers: ProverArgs,
}

fn failed(e: anyhow::Error) -> anyhow::Error {
    // Loading failures (model, keys, queue) are input errors; the message says which.
    ui::fail(Kind::Io, ui::describe(&e))
}

fn check_inputs(model: &std::path::Path, keys: &std::path::Path) -> anyhow::Result<()> {
    ui::input_file(model, "model")?;
    if !keys.exists() {
        return Err(ui::fail(Kind::Io, format!("cannot read keys {}: no such file or directory (run `zkinfer setup`)", keys.display())));
    }
    Ok(())
}

/// Runs `zkinfer serve`.
pub fn run_serve(a: ServeArgs) -> anyhow::Result<()> {
    check_inputs(&a.model, &a.keys)?;
    if a.parallel == 0 || a.n_predict == 0 || a.max_tokens == Some(0) || a.max_body == 0 {
        return Err(ui::fail(Kind::Usage, "--parallel, -n, --max-tokens and --max-body must be at least 1"));
    }
    let cfg = zkinfer_server::ServeConfig {
        model: a.model,
        keys: a.keys,
        host: a.host,
        port: a.port,
        queue: a.queue,
        api_key: a.api_key.filter(|k| !k.is_empty()),
        alias: a.alias,
        chat_template: a.chat_template,
        max_proofs: a.provers.max_proofs,
        proof_memory: a.provers.proof_memory.map(|m| m << 20),
        lease: a.provers.lease()?,
        max_attempts: a.provers.max_attempts.max(1),
        limits: zkinfer_server::api::Limits {
            max_body_bytes: a.max_body,
            default_tokens: a.n_predict,
            max_tokens: a.max_tokens.unwrap_or(usize::MAX),
            max_queued: a.max_queued,
            parallel: a.parallel,
        },
    };
    zkinfer_server::serve(cfg).map_err(failed)
}

/// Runs `zkinfer worker`.
pub fn run_worker(a: WorkerArgs) -> anyhow::Result<()> {
    check_inputs(&a.model, &a.keys)?;
    let cfg = zkinfer_server::WorkerConfig {
        model: a.model,
        keys: a.keys,
        queue: a.queue,
        max_proofs: a.provers.max_proofs,
        proof_memory: a.provers.proof_memory.map(|m| m << 20),
        lease: a.provers.lease()?,
        max_attempts: a.provers.max_attempts.max(1),
    };
    zkinfer_server::worker(cfg).map_err(failed)
}
