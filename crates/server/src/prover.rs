//! Provers: threads that claim jobs from the queue, prove them with the engine and store the
//! proof, plus one thread that renews this process's leases.
//!
//! Every thread of a process claims under one worker id (`host:pid:random`). The lease keeper
//! renews that id's leases every third of the lease, so a job is retaken by another prover only
//! when this process has stopped (killed, crashed, machine gone) for a whole lease. A proof that
//! fails (the prover returns an error or panics) fails its job with the reason: proving is
//! deterministic, so retrying would fail the same way.

use crate::engine::{Engine, ProofProgress};
use crate::queue::Queue;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How provers run.
#[derive(Debug, Clone)]
pub struct ProverConfig {
    /// Proofs at once (0: this process proves nothing).
    pub max_proofs: usize,
    /// Lease length.
    pub lease: Duration,
    /// Claims of one job before it is failed as abandoned.
    pub max_attempts: u32,
    /// How often an idle prover looks for work it was not woken for (jobs enqueued by another
    /// process, leases that expired).
    pub poll: Duration,
}

/// Wakes idle provers when a job is enqueued in this process.
#[derive(Debug, Default)]
pub struct Wake {
    pending: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    /// One more job to look at.
    pub fn notify(&self) {
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *p += 1;
        self.cv.notify_one();
    }

    /// Waits for a notification or `timeout`.
    fn wait(&self, timeout: Duration) {
        let p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut p, _) = self.cv.wait_timeout_while(p, timeout, |p| *p == 0).unwrap_or_else(std::sync::PoisonError::into_inner);
        *p = p.saturating_sub(1);
    }

    fn notify_all(&self) {
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *p += 1 << 20;
        self.cv.notify_all();
    }
}

/// The running provers of this process.
#[derive(Debug)]
pub struct Provers {
    /// The worker id every claim of this process uses.
    pub worker_id: String,
    stop: Arc<AtomicBool>,
    /// Jobs being proven right now.
    pub busy: Arc<AtomicUsize>,
    wake: Arc<Wake>,
    queue: Arc<dyn Queue>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// A fresh worker id: host name, process id and a random suffix.
pub fn worker_id() -> String {
    let host = zkinfer_procfs::hostname().unwrap_or_else(|| "host".into());
    format!("{host}:{}:{:08x}", std::process::id(), rand::random::<u32>())
}

fn log(msg: impl std::fmt::Display) {
    eprintln!("[zkinfer] {msg}");
}

impl Provers {
    /// Starts `cfg.max_proofs` prover threads and the lease keeper.
    pub fn start(engine: Arc<Engine>, queue: Arc<dyn Queue>, cfg: ProverConfig, wake: Arc<Wake>) -> Provers {
        let worker_id = worker_id();
        let stop = Arc::new(AtomicBool::new(false));
        let busy = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        if cfg.max_proofs > 0 {
            let (q, id, stop, lease) = (queue.clone(), worker_id.clone(), stop.clone(), cfg.lease);
            threads.push(std::thread::spawn(move || {
                let every = (lease / 3).max(Duration::from_millis(50));
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = q.renew(&id, lease) {
                        log(format!("cannot renew leases: {e}"));
                    }
                    let until = Instant::now() + every;
                    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(20).min(every));
                    }
                }
            }));
        }
        for _ in 0..cfg.max_proofs {
            let (engine, q, id, stop, busy, wake, cfg) =
                (engine.clone(), queue.clone(), worker_id.clone(), stop.clone(), busy.clone(), wake.clone(), cfg.clone());
            threads.push(std::thread::spawn(move || prover_loop(&engine, q.as_ref(), &id, &stop, &busy, &wake, &cfg)));
        }
        Provers { worker_id, stop, busy, wake, queue, threads }
    }

    /// Stops claiming and puts the jobs still being proven back in the queue (they are proven
    /// again from the start by the next prover). Returns how many went back. Prover threads busy
    /// in a proof are not waited for: they cannot complete any more (their jobs are no longer
    /// theirs) and end with the process.
    pub fn shutdown(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.wake.notify_all();
        let released = self.queue.release(&self.worker_id).unwrap_or_else(|e| {
            log(format!("cannot release the jobs in progress (they are retaken when their lease expires): {e}"));
            0
        });
        for t in self.threads {
            if t.is_finished() {
                let _ = t.join();
            }
        }
        released
    }
}

fn prover_loop(engine: &Engine, q: &dyn Queue, worker: &str, stop: &AtomicBool, busy: &AtomicUsize, wake: &Wake, cfg: &ProverConfig) {
    while !stop.load(Ordering::Relaxed) {
        let job = match q.claim(&engine.commitment, worker, cfg.lease, cfg.max_attempts) {
            Ok(Some(job)) => job,
            Ok(None) => {
                wake.wait(cfg.poll);
                continue;
            }
            Err(e) => {
                log(format!("cannot claim a job: {e}"));
                wake.wait(cfg.poll);
                continue;
            }
        };
        busy.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        log(format!("proving {} (attempt {}, {} + {} tokens)", job.id, job.attempts, job.prompt_ids.len(), job.completion_ids.len()));
        let mut last = Instant::now() - Duration::from_secs(10);
        let mut stage = ProofProgress::Stage { name: "claimed", index: 0, of: 4 };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.prove(&job.prompt_ids, &job.completion_ids, |p| {
                let is_stage = matches!(p, ProofProgress::Stage { .. });
                if is_stage {
                    stage = p;
                }
                // Stage changes always, token counts at most twice a second.
                if is_stage || last.elapsed() >= Duration::from_millis(500) {
                    last = Instant::now();
                    let _ = q.set_progress(&job.id, worker, &progress_json(stage, p, start.elapsed()).to_string());
                }
            })
        }))
        .unwrap_or_else(|panic| {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
            Err(format!("the prover panicked: {}", what.unwrap_or_default()))
        });
        busy.fetch_sub(1, Ordering::Relaxed);
        if stop.load(Ordering::Relaxed) {
            // Shutting down: the job was released and is no longer ours.
            return;
        }
        let secs = start.elapsed().as_secs_f64();
        match result {
            Ok(bytes) => match q.complete(&job.id, worker, &bytes) {
                Ok(true) => log(format!("proved {} in {secs:.2} s ({} bytes)", job.id, bytes.len())),
                Ok(false) => log(format!("proved {} but its lease was lost; another prover has it", job.id)),
                Err(e) => log(format!("cannot store the proof of {}: {e}", job.id)),
            },
            Err(reason) => {
                log(format!("job {} failed: {reason}", job.id));
                if let Err(e) = q.fail(&job.id, worker, &reason) {
                    log(format!("cannot record the failure of {}: {e}", job.id));
                }
            }
        }
    }
}

/// The progress object stored with a proving job (and shown by `GET /v1/proofs/{id}`).
fn progress_json(stage: ProofProgress, now: ProofProgress, elapsed: Duration) -> serde_json::Value {
    let mut v = match stage {
        ProofProgress::Stage { name, index, of } => serde_json::json!({ "stage": name, "stage_index": index, "stages": of }),
        ProofProgress::Tokens { .. } => serde_json::json!({}),
    };
    if let ProofProgress::Tokens { generated, total } = now {
        v["tokens_generated"] = generated.into();
        v["tokens_total"] = total.into();
    }
    v["elapsed_s"] = serde_json::json!((elapsed.as_secs_f64() * 100.0).round() / 100.0);
    v
}
