//! The embedded queue: one SQLite file in WAL mode (`synchronous = FULL`: a job is on disk when
//! `enqueue` returns, and survives SIGKILL and power loss). Claims run in `BEGIN IMMEDIATE`
//! transactions, so several threads — or several processes on one machine — never claim one job
//! twice. Lease times are this machine's clock.

use super::{Claimed, Counts, JobStatus, NewJob, Queue, QueueError, QueueResult, State};
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    model_commitment TEXT NOT NULL,
    prompt_ids TEXT NOT NULL,
    completion_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'proving', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until INTEGER,
    progress TEXT,
    error TEXT,
    proof BLOB,
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (model_commitment, state, seq);
";

/// The SQLite queue.
#[derive(Debug)]
pub struct SqliteQueue {
    conn: Mutex<Connection>,
}

fn err(e: rusqlite::Error) -> QueueError {
    QueueError::new(format!("sqlite: {e}"))
}

impl SqliteQueue {
    /// Opens (creating if needed) the queue file at `path`.
    pub fn open(path: &Path) -> QueueResult<Self> {
        let conn = Connection::open(path).map_err(|e| QueueError::new(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(QueueError::new(format!("{} cannot use WAL mode (journal mode {mode})", path.display())));
        }
        conn.execute_batch("PRAGMA synchronous = FULL;").map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(SqliteQueue { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic).
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn status_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(JobStatus, String)> {
    let state: String = r.get(1)?;
    let prompt: String = r.get(3)?;
    let completion: String = r.get(4)?;
    Ok((
        JobStatus {
            id: r.get(0)?,
            state: State::Queued,
            model_commitment: r.get(2)?,
            prompt_ids: serde_json::from_str(&prompt).unwrap_or_default(),
            completion_ids: serde_json::from_str(&completion).unwrap_or_default(),
            attempts: r.get(5)?,
            worker: r.get(6)?,
            progress: r.get(7)?,
            error: r.get(8)?,
            proof_bytes: r.get::<_, Option<i64>>(9)?.map(|n| n as u64),
            created_ms: r.get(10)?,
            started_ms: r.get(11)?,
            finished_ms: r.get(12)?,
        },
        state,
    ))
}

impl Queue for SqliteQueue {
    fn enqueue(&self, job: &NewJob) -> QueueResult<()> {
        self.conn()
            .execute(
                "INSERT INTO jobs (id, model_commitment, prompt_ids, completion_ids, state, created_ms) VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
                params![job.id, job.model_commitment, super::ids_text(&job.prompt_ids), super::ids_text(&job.completion_ids), super::now_ms()],
            )
            .map_err(err)?;
        Ok(())
    }

    fn claim(&self, model_commitment: &str, worker: &str, lease: Duration, max_attempts: u32) -> QueueResult<Option<Claimed>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let now = super::now_ms();
        // Jobs whose prover died too often: failed, not retried.
        let stale: Vec<(String, u32)> = {
            let mut st = tx
                .prepare("SELECT id, attempts FROM jobs WHERE model_commitment = ?1 AND state = 'proving' AND lease_until < ?2 AND attempts >= ?3")
                .map_err(err)?;
            st.query_map(params![model_commitment, now, max_attempts], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(err)?
                .collect::<Result<_, _>>()
                .map_err(err)?
        };
        for (id, attempts) in stale {
            tx.execute(
                "UPDATE jobs SET state = 'failed', error = ?2, finished_ms = ?3, progress = NULL WHERE id = ?1",
                params![id, super::abandoned(attempts), now],
            )
            .map_err(err)?;
        }
        let row = tx
            .query_row(
                "SELECT id, prompt_ids, completion_ids, attempts FROM jobs WHERE model_commitment = ?1 \
                 AND (state = 'queued' OR (state = 'proving' AND lease_until < ?2)) ORDER BY seq LIMIT 1",
                params![model_commitment, now],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, u32>(3)?)),
            )
            .optional()
            .map_err(err)?;
        let claimed = match row {
            None => None,
            Some((id, prompt, completion, attempts)) => {
                tx.execute(
                    "UPDATE jobs SET state = 'proving', worker = ?2, lease_until = ?3, attempts = attempts + 1, started_ms = ?4, progress = NULL WHERE id = ?1",
                    params![id, worker, now + super::lease_ms(lease), now],
                )
                .map_err(err)?;
                Some(Claimed {
                    id,
                    prompt_ids: super::ids_parse(&prompt)?,
                    completion_ids: super::ids_parse(&completion)?,
                    attempts: attempts + 1,
                })
            }
        };
        tx.commit().map_err(err)?;
        Ok(claimed)
    }

    fn renew(&self, worker: &str, lease: Duration) -> QueueResult<u64> {
        let n = self
            .conn()
            .execute(
                "UPDATE jobs SET lease_until = ?2 WHERE worker = ?1 AND state = 'proving'",
                params![worker, super::now_ms() + super::lease_ms(lease)],
            )
            .map_err(err)?;
        Ok(n as u64)
    }

    fn set_progress(&self, id: &str, worker: &str, progress: &str) -> QueueResult<()> {
        self.conn()
            .execute("UPDATE jobs SET progress = ?3 WHERE id = ?1 AND worker = ?2 AND state = 'proving'", params![id, worker, progress])
            .map_err(err)?;
        Ok(())
    }

    fn complete(&self, id: &str, worker: &str, proof: &[u8]) -> QueueResult<bool> {
        let n = self
            .conn()
            .execute(
                "UPDATE jobs SET state = 'done', proof = ?3, finished_ms = ?4, progress = NULL, lease_until = NULL \
                 WHERE id = ?1 AND worker = ?2 AND state = 'proving'",
                params![id, worker, proof, super::now_ms()],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    fn fail(&self, id: &str, worker: &str, reason: &str) -> QueueResult<bool> {
        let n = self
            .conn()
            .execute(
                "UPDATE jobs SET state = 'failed', error = ?3, finished_ms = ?4, progress = NULL, lease_until = NULL \
                 WHERE id = ?1 AND worker = ?2 AND state = 'proving'",
                params![id, worker, reason, super::now_ms()],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    fn release(&self, worker: &str) -> QueueResult<u64> {
        let n = self
            .conn()
            .execute(
                "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_until = NULL, progress = NULL WHERE worker = ?1 AND state = 'proving'",
                params![worker],
            )
            .map_err(err)?;
        Ok(n as u64)
    }

    fn status(&self, id: &str) -> QueueResult<Option<JobStatus>> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, state, model_commitment, prompt_ids, completion_ids, attempts, worker, progress, error, \
                 length(proof), created_ms, started_ms, finished_ms FROM jobs WHERE id = ?1",
                params![id],
                status_row,
            )
            .optional()
            .map_err(err)?;
        row.map(|(mut s, state)| {
            s.state = State::parse(&state)?;
            Ok(s)
        })
        .transpose()
    }

    fn proof(&self, id: &str) -> QueueResult<Option<Vec<u8>>> {
        self.conn()
            .query_row("SELECT proof FROM jobs WHERE id = ?1 AND state = 'done'", params![id], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()
            .map(Option::flatten)
            .map_err(err)
    }

    fn counts(&self) -> QueueResult<Counts> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT state, count(*) FROM jobs GROUP BY state").map_err(err)?;
        let mut c = Counts::default();
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(err)?;
        for row in rows {
            let (state, n) = row.map_err(err)?;
            let n = n as u64;
            match State::parse(&state)? {
                State::Queued => c.queued = n,
                State::Proving => c.proving = n,
                State::Done => c.done = n,
                State::Failed => c.failed = n,
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sqlite_queue_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let q = SqliteQueue::open(&dir.path().join("q.db")).unwrap();
        super::super::conformance::run(&q);
    }

    #[test]
    fn jobs_survive_reopening_and_two_connections_never_claim_one_job() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        {
            let q = SqliteQueue::open(&path).unwrap();
            for i in 0..40 {
                q.enqueue(&NewJob { id: format!("j{i}"), model_commitment: "m".into(), prompt_ids: vec![i], completion_ids: vec![1] })
                    .unwrap();
            }
        }
        // Two connections (as two processes would have), four threads each, claiming concurrently.
        let queues = [SqliteQueue::open(&path).unwrap(), SqliteQueue::open(&path).unwrap()];
        let claimed = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for (qi, q) in queues.iter().enumerate() {
                for t in 0..4 {
                    let claimed = &claimed;
                    s.spawn(move || {
                        let me = format!("w{qi}-{t}");
                        while let Some(c) = q.claim("m", &me, Duration::from_secs(60), 3).unwrap() {
                            assert!(q.complete(&c.id, &me, b"p").unwrap());
                            claimed.lock().unwrap().push(c.id);
                        }
                    });
                }
            }
        });
        let mut ids = claimed.into_inner().unwrap();
        assert_eq!(ids.len(), 40, "40 claims in all");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 40, "every job claimed exactly once");
        assert_eq!(queues[0].counts().unwrap().done, 40);
    }
}
