//! The durable proof-job queue: one table of jobs, claimed under a lease.
//!
//! A job is written (state `queued`) before the completion that asked for it is answered, so
//! every answered request has its job on disk. A prover *claims* a job: in one transaction the
//! oldest `queued` job — or a `proving` job whose lease has expired, its prover having died — goes
//! to `proving` with the claimer's worker id, a lease deadline and one more attempt. A live prover
//! renews the leases of its jobs (every third of the lease). Completion stores the proof bytes
//! and sets `done` in one conditional update (`WHERE id = ? AND worker = ? AND state =
//! 'proving'`): a prover that lost its lease cannot complete, so a job is completed exactly once,
//! with exactly one proof. A job whose prover died `max_attempts` times is failed ("abandoned")
//! rather than retried forever (a request that kills its prover, e.g. out of memory).
//!
//! Engines: [`sqlite`] (one file in WAL mode; the default, one machine) and [`postgres`]
//! (`SELECT … FOR UPDATE SKIP LOCKED`, for a pool of `zkinfer worker` processes on many
//! machines). Proof bytes live in the job row (SQLite BLOB, Postgres BYTEA): the state change and
//! the bytes commit in one transaction (no proof file without its job or job without its file,
//! nothing half-written after a crash), and workers on other machines need no shared file system.
//! Proofs are ~0.5–1 MB, well within what both engines store comfortably.

pub mod postgres;
pub mod sqlite;

use std::time::Duration;

/// A queue failure (the database is unreachable, a statement failed, a row is malformed).
#[derive(Debug, thiserror::Error)]
#[error("proof queue: {0}")]
pub struct QueueError(pub String);

impl QueueError {
    /// A failure with a message.
    pub fn new(msg: impl std::fmt::Display) -> Self {
        QueueError(msg.to_string())
    }
}

/// Result of a queue operation.
pub type QueueResult<T> = Result<T, QueueError>;

/// A job to enqueue: prove that the committed model generates `completion_ids` after `prompt_ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its id (the `proof_id` the API returns).
    pub id: String,
    /// The model commitment (hex) the proof must be made against.
    pub model_commitment: String,
    /// Prompt token ids.
    pub prompt_ids: Vec<u32>,
    /// The completion the server answered; the proof must prove exactly these ids.
    pub completion_ids: Vec<u32>,
}

/// A job handed to a prover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Job id.
    pub id: String,
    /// Prompt token ids.
    pub prompt_ids: Vec<u32>,
    /// The completion to prove.
    pub completion_ids: Vec<u32>,
    /// Attempts including this one.
    pub attempts: u32,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a prover.
    Queued,
    /// Claimed by a prover under a lease.
    Proving,
    /// Proven; the proof bytes are stored.
    Done,
    /// Failed; the reason is stored.
    Failed,
}

impl State {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Proving => "proving",
            State::Done => "done",
            State::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> QueueResult<State> {
        match s {
            "queued" => Ok(State::Queued),
            "proving" => Ok(State::Proving),
            "done" => Ok(State::Done),
            "failed" => Ok(State::Failed),
            other => Err(QueueError::new(format!("unknown job state {other:?}"))),
        }
    }
}

/// Everything known about a job but its proof bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// Job id.
    pub id: String,
    /// State.
    pub state: State,
    /// Model commitment (hex).
    pub model_commitment: String,
    /// Prompt ids.
    pub prompt_ids: Vec<u32>,
    /// Completion ids.
    pub completion_ids: Vec<u32>,
    /// Claims so far.
    pub attempts: u32,
    /// The prover holding (or that last held) it.
    pub worker: Option<String>,
    /// The prover's progress (JSON text) while proving.
    pub progress: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Size of the stored proof.
    pub proof_bytes: Option<u64>,
    /// Unix milliseconds: enqueued, last claimed, finished.
    pub created_ms: i64,
    /// Last claim.
    pub started_ms: Option<i64>,
    /// Done or failed.
    pub finished_ms: Option<i64>,
}

/// Jobs per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Queued.
    pub queued: u64,
    /// Proving.
    pub proving: u64,
    /// Done.
    pub done: u64,
    /// Failed.
    pub failed: u64,
}

/// A durable job queue (see the module doc). Calls block; the HTTP server makes them from
/// blocking threads.
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Stores a new `queued` job; returns once it is durable.
    fn enqueue(&self, job: &NewJob) -> QueueResult<()>;
    /// Claims the oldest job for `model_commitment` that is queued or whose lease expired.
    /// Jobs whose lease expired after `max_attempts` claims are failed instead.
    fn claim(&self, model_commitment: &str, worker: &str, lease: Duration, max_attempts: u32) -> QueueResult<Option<Claimed>>;
    /// Extends the lease of every job `worker` is proving; returns how many.
    fn renew(&self, worker: &str, lease: Duration) -> QueueResult<u64>;
    /// Records a proving job's progress (JSON text); ignored if `worker` no longer holds it.
    fn set_progress(&self, id: &str, worker: &str, progress: &str) -> QueueResult<()>;
    /// Stores the proof and marks the job done, if `worker` still holds it; true if it did.
    fn complete(&self, id: &str, worker: &str, proof: &[u8]) -> QueueResult<bool>;
    /// Marks the job failed with `reason`, if `worker` still holds it; true if it did.
    fn fail(&self, id: &str, worker: &str, reason: &str) -> QueueResult<bool>;
    /// Puts every job `worker` is proving back to `queued` (graceful shutdown; the claim is not
    /// counted as an attempt); returns how many.
    fn release(&self, worker: &str) -> QueueResult<u64>;
    /// A job's status.
    fn status(&self, id: &str) -> QueueResult<Option<JobStatus>>;
    /// A done job's proof bytes.
    fn proof(&self, id: &str) -> QueueResult<Option<Vec<u8>>>;
    /// Jobs per state.
    fn counts(&self) -> QueueResult<Counts>;
}

/// Opens the queue a `--queue` value names: `sqlite:PATH` (or a plain path) or
/// `postgres://…` / `postgresql://…`.
pub fn open(spec: &str) -> QueueResult<Box<dyn Queue>> {
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Ok(Box::new(postgres::PgQueue::connect(spec)?))
    } else {
        let path = spec.strip_prefix("sqlite:").unwrap_or(spec);
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(QueueError::new("sqlite: give a file path (sqlite:PATH)"));
        }
        Ok(Box::new(sqlite::SqliteQueue::open(std::path::Path::new(path))?))
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Token ids as stored (a JSON array).
pub(crate) fn ids_text(ids: &[u32]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// Token ids from their stored text.
pub(crate) fn ids_parse(text: &str) -> QueueResult<Vec<u32>> {
    serde_json::from_str(text).map_err(|e| QueueError::new(format!("malformed stored token ids: {e}")))
}

/// The reason stored for a job abandoned after `attempts` claims.
pub(crate) fn abandoned(attempts: u32) -> String {
    format!("abandoned: its prover stopped (lease expired) {attempts} times")
}

/// Milliseconds of a lease.
pub(crate) fn lease_ms(lease: Duration) -> i64 {
    lease.as_millis().min(i64::MAX as u128) as i64
}

#[cfg(test)]
pub(crate) mod conformance {
    //! Behaviour every engine must have, run by each engine's tests.
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn job(id: &str) -> NewJob {
        NewJob { id: id.into(), model_commitment: "m".into(), prompt_ids: vec![1, 2], completion_ids: vec![3] }
    }

    /// Claims in order, leases, exactly-once completion, release, abandonment.
    pub fn run(q: &dyn Queue) {
        let lease = Duration::from_secs(60);
        assert_eq!(q.claim("m", "w1", lease, 3).unwrap(), None);
        q.enqueue(&job("a")).unwrap();
        q.enqueue(&job("b")).unwrap();
        q.enqueue(&NewJob { model_commitment: "other".into(), ..job("c") }).unwrap();
        assert!(q.enqueue(&job("a")).is_err(), "duplicate id");
        let s = q.status("a").unwrap().unwrap();
        assert_eq!((s.state, s.attempts, s.prompt_ids.as_slice()), (State::Queued, 0, &[1u32, 2][..]));

        let a = q.claim("m", "w1", lease, 3).unwrap().unwrap();
        assert_eq!((a.id.as_str(), a.attempts, a.completion_ids.as_slice()), ("a", 1, &[3u32][..]));
        let b = q.claim("m", "w2", lease, 3).unwrap().unwrap();
        assert_eq!(b.id, "b");
        assert_eq!(q.claim("m", "w3", lease, 3).unwrap(), None, "c is another model's job");
        assert_eq!(q.renew("w1", lease).unwrap(), 1);
        q.set_progress("a", "w1", r#"{"stage":"trace"}"#).unwrap();
        assert_eq!(q.status("a").unwrap().unwrap().progress.as_deref(), Some(r#"{"stage":"trace"}"#));

        // Only the holder completes, once.
        assert!(!q.complete("a", "w2", b"x").unwrap());
        assert!(q.complete("a", "w1", b"proof-a").unwrap());
        assert!(!q.complete("a", "w1", b"again").unwrap());
        assert!(!q.fail("a", "w1", "late").unwrap());
        assert_eq!(q.proof("a").unwrap().as_deref(), Some(&b"proof-a"[..]));
        let s = q.status("a").unwrap().unwrap();
        assert_eq!((s.state, s.proof_bytes), (State::Done, Some(7)));
        assert!(s.finished_ms.is_some());

        // Release puts b back without counting the attempt; another worker takes it.
        assert_eq!(q.release("w2").unwrap(), 1);
        assert_eq!(q.status("b").unwrap().unwrap().state, State::Queued);
        let b = q.claim("m", "w3", Duration::from_millis(1), 3).unwrap().unwrap();
        assert_eq!((b.id.as_str(), b.attempts), ("b", 1));
        // An expired lease: the job is taken again (w3 "died"), and w3 can no longer complete.
        std::thread::sleep(Duration::from_millis(20));
        let b2 = q.claim("m", "w4", Duration::from_millis(1), 3).unwrap().unwrap();
        assert_eq!((b2.id.as_str(), b2.attempts), ("b", 2));
        assert!(!q.complete("b", "w3", b"stale").unwrap());
        std::thread::sleep(Duration::from_millis(20));
        let b3 = q.claim("m", "w5", Duration::from_millis(1), 3).unwrap().unwrap();
        assert_eq!(b3.attempts, 3);
        std::thread::sleep(Duration::from_millis(20));
        // Third expiry with max_attempts 3: abandoned, not retaken.
        assert_eq!(q.claim("m", "w6", lease, 3).unwrap(), None);
        let s = q.status("b").unwrap().unwrap();
        assert_eq!(s.state, State::Failed);
        assert!(s.error.unwrap().contains("abandoned"));
        assert_eq!(q.proof("b").unwrap(), None);
        assert_eq!(q.status("nope").unwrap(), None);
        let c = q.counts().unwrap();
        assert_eq!((c.queued, c.proving, c.done, c.failed), (1, 0, 1, 1));

        // Failing.
        q.enqueue(&job("d")).unwrap();
        let d = q.claim("m", "w7", lease, 3).unwrap().unwrap();
        assert!(q.fail(&d.id, "w7", "the proof did not match").unwrap());
        assert_eq!(q.status("d").unwrap().unwrap().error.as_deref(), Some("the proof did not match"));
    }
}
