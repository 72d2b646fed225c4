//! `zkinfer serve` and `zkinfer worker`: verifiable inference as a service.
//!
//! `serve` answers OpenAI-compatible completion requests at inference speed with the integer
//! model (greedy decoding, the computation that is proven) and queues, before answering, a proof
//! job per completion; provers drain the queue and store each proof, which clients fetch by the
//! `proof_id` every response carries and check with `zkinfer verify` against `/v1/vk`.
//!
//! * [`api`] — the HTTP endpoints (axum on tokio; this is the only crate of the workspace that
//!   depends on an HTTP stack or an async runtime).
//! * [`queue`] — the durable job queue: SQLite (one WAL file, default) or Postgres
//!   (`FOR UPDATE SKIP LOCKED` + leases, for `zkinfer worker` pools).
//! * [`prover`] — prover threads and the lease keeper.
//! * [`engine`] — the model, its keys, generation and proving through `zkinfer_proof`.

pub mod api;
pub mod engine;
pub mod prover;
pub mod queue;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use engine::Engine;

/// Everything `zkinfer serve` is told.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// GGUF model.
    pub model: PathBuf,
    /// Keys directory from `zkinfer setup` (or its `vk.bin`).
    pub keys: PathBuf,
    /// Address to listen on.
    pub host: String,
    /// Port (0: any free port; the one chosen is printed).
    pub port: u16,
    /// `sqlite:PATH` or `postgres://…`.
    pub queue: String,
    /// Required bearer token for `/v1/*`.
    pub api_key: Option<String>,
    /// Model id to list instead of the file stem.
    pub alias: Option<String>,
    /// Chat template file instead of the GGUF's.
    pub chat_template: Option<PathBuf>,
    /// Provers in this process (`None`: as many as memory and cores allow; 0: none).
    pub max_proofs: Option<usize>,
    /// Peak memory of one proof (`None`: estimated from the model size).
    pub proof_memory: Option<u64>,
    /// Prover lease.
    pub lease: Duration,
    /// Claims of one job before it is failed as abandoned.
    pub max_attempts: u32,
    /// Request limits.
    pub limits: api::Limits,
}

/// Everything `zkinfer worker` is told.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// GGUF model.
    pub model: PathBuf,
    /// Keys directory.
    pub keys: PathBuf,
    /// The queue.
    pub queue: String,
    /// Provers (`None`: as many as memory and cores allow).
    pub max_proofs: Option<usize>,
    /// Peak memory of one proof (`None`: estimated).
    pub proof_memory: Option<u64>,
    /// Prover lease.
    pub lease: Duration,
    /// Claims of one job before it is failed as abandoned.
    pub max_attempts: u32,
}

fn log(msg: impl std::fmt::Display) {
    eprintln!("[zkinfer] {msg}");
}

/// Available memory (Linux `MemAvailable`), if known.
pub use zkinfer_procfs::available_memory;

/// How many proofs may run at once: what 80 % of the available memory holds at `per_proof`
/// bytes each, at most one per core, at least one; an explicit `requested` count is used as
/// given (with a warning when memory looks short).
pub fn proof_cap(requested: Option<usize>, per_proof: u64, available: Option<u64>, cores: usize) -> usize {
    let by_memory = available.map(|a| ((a / 10 * 8) / per_proof.max(1)) as usize);
    match requested {
        Some(n) => {
            if let Some(m) = by_memory
                && n > m.max(1)
            {
                log(format!("warning: {n} proofs at once need ~{} MiB, more than the memory available for {m}", (n as u64 * per_proof) >> 20));
            }
            n
        }
        None => by_memory.unwrap_or(1).clamp(1, cores.max(1)),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Waits for Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn load(model: &std::path::Path, keys: &std::path::Path, alias: Option<&str>, chat: Option<&std::path::Path>, queue: &str) -> anyhow::Result<(Arc<Engine>, Arc<dyn queue::Queue>)> {
    let engine = Engine::load(model, keys, alias, chat)?;
    let queue: Arc<dyn queue::Queue> = Arc::from(queue::open(queue)?);
    Ok((Arc::new(engine), queue))
}

/// Runs `zkinfer serve` until Ctrl-C or SIGTERM: stops accepting connections, lets requests in
/// flight finish, puts the jobs being proven back in the queue, and returns. Queued jobs stay in
/// the queue for the next start (or for workers).
pub fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    let (engine, queue) = load(&cfg.model, &cfg.keys, cfg.alias.as_deref(), cfg.chat_template.as_deref(), &cfg.queue)?;
    let per_proof = cfg.proof_memory.unwrap_or_else(|| engine.proof_memory_estimate());
    let max_proofs = proof_cap(cfg.max_proofs, per_proof, available_memory(), cores());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", cfg.host, cfg.port))?;
        let addr = listener.local_addr()?;
        let wake = Arc::new(prover::Wake::default());
        let provers = prover::Provers::start(
            engine.clone(),
            queue.clone(),
            prover::ProverConfig { max_proofs, lease: cfg.lease, max_attempts: cfg.max_attempts, poll: Duration::from_millis(500) },
            wake.clone(),
        );
        let state = Arc::new(api::AppState {
            engine: engine.clone(),
            queue: queue.clone(),
            wake,
            api_key: cfg.api_key.clone(),
            slots: Arc::new(tokio::sync::Semaphore::new(cfg.limits.parallel.max(1))),
            limits: cfg.limits.clone(),
            provers: max_proofs,
            busy: provers.busy.clone(),
        });
        log(format!(
            "model {} (commitment {}), queue {}, {max_proofs} prover(s) (~{} MiB per proof), worker id {}",
            engine.model_id,
            engine.commitment,
            redact(&cfg.queue),
            per_proof >> 20,
            provers.worker_id
        ));
        log(format!("zkinfer serve listening on http://{addr}"));
        axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
        let released = provers.shutdown();
        log(format!("shut down; {released} job(s) in progress went back to the queue"));
        Ok(())
    })
}

/// Runs `zkinfer worker` until Ctrl-C or SIGTERM (then puts its jobs in progress back).
pub fn worker(cfg: WorkerConfig) -> anyhow::Result<()> {
    let (engine, queue) = load(&cfg.model, &cfg.keys, None, None, &cfg.queue)?;
    let per_proof = cfg.proof_memory.unwrap_or_else(|| engine.proof_memory_estimate());
    let max_proofs = proof_cap(cfg.max_proofs, per_proof, available_memory(), cores()).max(1);
    let provers = prover::Provers::start(
        engine.clone(),
        queue,
        prover::ProverConfig { max_proofs, lease: cfg.lease, max_attempts: cfg.max_attempts, poll: Duration::from_millis(500) },
        Arc::new(prover::Wake::default()),
    );
    log(format!(
        "worker {} proving for model {} with {max_proofs} prover(s) on {}",
        provers.worker_id,
        engine.commitment,
        redact(&cfg.queue)
    ));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(shutdown_signal());
    let released = provers.shutdown();
    log(format!("worker stopped; {released} job(s) in progress went back to the queue"));
    Ok(())
}

/// A queue spec without its password, for logs.
fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &spec[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &spec[..s + 3], &creds[..c], &spec[at..]),
                None => spec.to_owned(),
            }
        }
        _ => spec.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_cap_follows_memory_and_cores() {
        let gib = 1u64 << 30;
        // GPT-2 small (~7.5 GiB a proof) on 24 GiB free: 2; on 8 GiB: 1 (never 0).
        assert_eq!(proof_cap(None, 15 * gib / 2, Some(24 * gib), 4), 2);
        assert_eq!(proof_cap(None, 15 * gib / 2, Some(8 * gib), 4), 1);
        // A tiny model: one per core.
        assert_eq!(proof_cap(None, 100 << 20, Some(24 * gib), 2), 2);
        assert_eq!(proof_cap(Some(0), 100 << 20, Some(24 * gib), 2), 0);
        assert_eq!(proof_cap(Some(5), 100 << 20, None, 2), 5);
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:q.db"), "sqlite:q.db");
    }
}
