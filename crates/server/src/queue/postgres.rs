//! The shared queue: a Postgres table claimed with `SELECT … FOR UPDATE SKIP LOCKED` under a
//! lease, so any number of `zkinfer worker` processes, on any machines, drain one queue and never
//! take one job twice. Lease deadlines use the database's clock (`clock_timestamp()`), so workers
//! with skewed clocks agree on when a lease has expired.

use super::{Claimed, Counts, JobStatus, NewJob, Queue, QueueError, QueueResult, State};
use postgres::{Client, NoTls};
use std::sync::Mutex;
use std::time::Duration;

/// The database's clock in Unix milliseconds.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS zkinfer_jobs (
    seq BIGSERIAL NOT NULL,
    id TEXT PRIMARY KEY,
    model_commitment TEXT NOT NULL,
    prompt_ids TEXT NOT NULL,
    completion_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'proving', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until BIGINT,
    progress TEXT,
    error TEXT,
    proof BYTEA,
    created_ms BIGINT NOT NULL,
    started_ms BIGINT,
    finished_ms BIGINT
);
CREATE INDEX IF NOT EXISTS zkinfer_jobs_claim ON zkinfer_jobs (model_commitment, state, seq);
";

/// The Postgres queue (one connection per process, shared by its threads).
pub struct PgQueue {
    client: Mutex<Client>,
}

impl std::fmt::Debug for PgQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgQueue").finish_non_exhaustive()
    }
}

fn err(e: postgres::Error) -> QueueError {
    QueueError::new(format!("postgres: {e}"))
}

impl PgQueue {
    /// Connects and creates the table if missing (under an advisory lock, so that workers
    /// starting together do not race on `CREATE TABLE`).
    pub fn connect(url: &str) -> QueueResult<Self> {
        let mut client = Client::connect(url, NoTls).map_err(|e| QueueError::new(format!("cannot connect to the Postgres queue: {e}")))?;
        let mut tx = client.transaction().map_err(err)?;
        tx.execute("SELECT pg_advisory_xact_lock(727165)", &[]).map_err(err)?;
        tx.batch_execute(SCHEMA).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(PgQueue { client: Mutex::new(client) })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn as_u32(v: i32) -> u32 {
    v.max(0) as u32
}

impl Queue for PgQueue {
    fn enqueue(&self, job: &NewJob) -> QueueResult<()> {
        self.client()
            .execute(
                &format!(
                    "INSERT INTO zkinfer_jobs (id, model_commitment, prompt_ids, completion_ids, state, created_ms) VALUES ($1, $2, $3, $4, 'queued', {NOW_MS})"
                ),
                &[&job.id, &job.model_commitment, &super::ids_text(&job.prompt_ids), &super::ids_text(&job.completion_ids)],
            )
            .map_err(err)?;
        Ok(())
    }

    fn claim(&self, model_commitment: &str, worker: &str, lease: Duration, max_attempts: u32) -> QueueResult<Option<Claimed>> {
        let mut client = self.client();
        let mut tx = client.transaction().map_err(err)?;
        let max = max_attempts as i32;
        // Jobs whose prover died too often: failed (rows another transaction holds are skipped).
        let stale = tx
            .query(
                &format!(
                    "SELECT id, attempts FROM zkinfer_jobs WHERE model_commitment = $1 AND state = 'proving' \
                     AND lease_until < {NOW_MS} AND attempts >= $2 FOR UPDATE SKIP LOCKED"
                ),
                &[&model_commitment, &max],
            )
            .map_err(err)?;
        for row in stale {
            let id: String = row.get(0);
            let attempts: i32 = row.get(1);
            tx.execute(
                &format!("UPDATE zkinfer_jobs SET state = 'failed', error = $2, finished_ms = {NOW_MS}, progress = NULL WHERE id = $1"),
                &[&id, &super::abandoned(as_u32(attempts))],
            )
            .map_err(err)?;
        }
        let row = tx
            .query_opt(
                &format!(
                    "WITH next AS (SELECT id FROM zkinfer_jobs WHERE model_commitment = $1 \
                       AND (state = 'queued' OR (state = 'proving' AND lease_until < {NOW_MS})) \
                       ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     UPDATE zkinfer_jobs j SET state = 'proving', worker = $2, lease_until = {NOW_MS} + $3, \
                       attempts = j.attempts + 1, started_ms = {NOW_MS}, progress = NULL \
                     FROM next WHERE j.id = next.id \
                     RETURNING j.id, j.prompt_ids, j.completion_ids, j.attempts"
                ),
                &[&model_commitment, &worker, &super::lease_ms(lease)],
            )
            .map_err(err)?;
        let claimed = match row {
            None => None,
            Some(r) => Some(Claimed {
                id: r.get(0),
                prompt_ids: super::ids_parse(r.get(1))?,
                completion_ids: super::ids_parse(r.get(2))?,
                attempts: as_u32(r.get(3)),
            }),
        };
        tx.commit().map_err(err)?;
        Ok(claimed)
    }

    fn renew(&self, worker: &str, lease: Duration) -> QueueResult<u64> {
        self.client()
            .execute(
                &format!("UPDATE zkinfer_jobs SET lease_until = {NOW_MS} + $2 WHERE worker = $1 AND state = 'proving'"),
                &[&worker, &super::lease_ms(lease)],
            )
            .map_err(err)
    }

    fn set_progress(&self, id: &str, worker: &str, progress: &str) -> QueueResult<()> {
        self.client()
            .execute("UPDATE zkinfer_jobs SET progress = $3 WHERE id = $1 AND worker = $2 AND state = 'proving'", &[&id, &worker, &progress])
            .map_err(err)?;
        Ok(())
    }

    fn complete(&self, id: &str, worker: &str, proof: &[u8]) -> QueueResult<bool> {
        let n = self
            .client()
            .execute(
                &format!(
                    "UPDATE zkinfer_jobs SET state = 'done', proof = $3, finished_ms = {NOW_MS}, progress = NULL, lease_until = NULL \
                     WHERE id = $1 AND worker = $2 AND state = 'proving'"
                ),
                &[&id, &worker, &proof],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    fn fail(&self, id: &str, worker: &str, reason: &str) -> QueueResult<bool> {
        let n = self
            .client()
            .execute(
                &format!(
                    "UPDATE zkinfer_jobs SET state = 'failed', error = $3, finished_ms = {NOW_MS}, progress = NULL, lease_until = NULL \
                     WHERE id = $1 AND worker = $2 AND state = 'proving'"
                ),
                &[&id, &worker, &reason],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    fn release(&self, worker: &str) -> QueueResult<u64> {
        self.client()
            .execute(
                "UPDATE zkinfer_jobs SET state = 'queued', attempts = attempts - 1, lease_until = NULL, progress = NULL WHERE worker = $1 AND state = 'proving'",
                &[&worker],
            )
            .map_err(err)
    }

    fn status(&self, id: &str) -> QueueResult<Option<JobStatus>> {
        let row = self
            .client()
            .query_opt(
                "SELECT id, state, model_commitment, prompt_ids, completion_ids, attempts, worker, progress, error, \
                 length(proof)::BIGINT, created_ms, started_ms, finished_ms FROM zkinfer_jobs WHERE id = $1",
                &[&id],
            )
            .map_err(err)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(JobStatus {
            id: r.get(0),
            state: State::parse(r.get(1))?,
            model_commitment: r.get(2),
            prompt_ids: super::ids_parse(r.get(3))?,
            completion_ids: super::ids_parse(r.get(4))?,
            attempts: as_u32(r.get(5)),
            worker: r.get(6),
            progress: r.get(7),
            error: r.get(8),
            proof_bytes: r.get::<_, Option<i64>>(9).map(|n| n as u64),
            created_ms: r.get(10),
            started_ms: r.get(11),
            finished_ms: r.get(12),
        }))
    }

    fn proof(&self, id: &str) -> QueueResult<Option<Vec<u8>>> {
        let row = self
            .client()
            .query_opt("SELECT proof FROM zkinfer_jobs WHERE id = $1 AND state = 'done'", &[&id])
            .map_err(err)?;
        Ok(row.and_then(|r| r.get::<_, Option<Vec<u8>>>(0)))
    }

    fn counts(&self) -> QueueResult<Counts> {
        let rows = self.client().query("SELECT state, count(*) FROM zkinfer_jobs GROUP BY state", &[]).map_err(err)?;
        let mut c = Counts::default();
        for r in rows {
            let n = r.get::<_, i64>(1) as u64;
            match State::parse(r.get(0))? {
                State::Queued => c.queued = n,
                State::Proving => c.proving = n,
                State::Done => c.done = n,
                State::Failed => c.failed = n,
            }
        }
        Ok(c)
    }
}

/// A throwaway Postgres server for tests: `initdb` into a temporary directory and `pg_ctl start`
/// on a free loopback port (as the `postgres` user when running as root, which Postgres refuses).
/// `None` with the reason when no server can be started here (binaries missing, …).
#[doc(hidden)]
pub mod testing {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    /// A running test server; stopped (and its directory removed) on drop.
    #[derive(Debug)]
    pub struct TestPg {
        bin: PathBuf,
        dir: tempfile_dir::Dir,
        as_postgres: bool,
        /// Connection URL.
        pub url: String,
    }

    mod tempfile_dir {
        /// A directory removed on drop.
        #[derive(Debug)]
        pub struct Dir(pub std::path::PathBuf);
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn find_bin() -> Option<PathBuf> {
        if let Ok(p) = std::env::var("ZKINFER_PG_BIN") {
            return Some(PathBuf::from(p));
        }
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .find(|d| d.join("pg_ctl").is_file() && d.join("initdb").is_file());
        if on_path.is_some() {
            return on_path;
        }
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect();
        versions.sort();
        versions.into_iter().rev().find(|d| d.join("pg_ctl").is_file())
    }

    fn is_root() -> bool {
        zkinfer_procfs::real_uid() == Some(0)
    }

    fn run(bin: &Path, as_postgres: bool, tool: &str, args: &[&str]) -> Result<(), String> {
        let exe = bin.join(tool);
        let mut cmd = if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).stdin(Stdio::null()).output().map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{tool} failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    impl TestPg {
        /// Starts a server, or says why not.
        pub fn start() -> Result<TestPg, String> {
            if let Ok(url) = std::env::var("ZKINFER_TEST_POSTGRES") {
                return Err(format!("use the server in ZKINFER_TEST_POSTGRES ({url}) instead"));
            }
            let bin = find_bin().ok_or("no Postgres server binaries (pg_ctl, initdb) on PATH or in /usr/lib/postgresql")?;
            let as_postgres = is_root();
            let base = std::env::temp_dir().join(format!("zkinfer-pg-{}-{:x}", std::process::id(), rand::random::<u64>()));
            std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
            let dir = tempfile_dir::Dir(base.clone());
            if as_postgres {
                let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&base).status().map(|s| s.success()).unwrap_or(false);
                if !ok {
                    return Err("running as root and cannot hand the data directory to the `postgres` user".into());
                }
            }
            let data = base.join("data");
            let data_s = data.to_str().ok_or("non-UTF-8 temp path")?;
            run(&bin, as_postgres, "initdb", &["-D", data_s, "-A", "trust", "-U", "zkinfer", "--no-sync"])?;
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
            let opts = format!("-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off", base.display());
            let log = base.join("log");
            run(&bin, as_postgres, "pg_ctl", &["-D", data_s, "-o", &opts, "-l", log.to_str().unwrap_or("log"), "-w", "-t", "30", "start"])?;
            Ok(TestPg { bin, dir, as_postgres, url: format!("postgres://zkinfer@127.0.0.1:{port}/postgres") })
        }
    }

    impl Drop for TestPg {
        fn drop(&mut self) {
            let data = self.dir.0.join("data");
            let _ = run(&self.bin, self.as_postgres, "pg_ctl", &["-D", data.to_str().unwrap_or(""), "-m", "immediate", "-w", "stop"]);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn postgres_queue_conformance() {
        let (url, _server) = match std::env::var("ZKINFER_TEST_POSTGRES") {
            Ok(url) => (url, None),
            Err(_) => match testing::TestPg::start() {
                Ok(pg) => (pg.url.clone(), Some(pg)),
                Err(why) => {
                    eprintln!("skipped: no Postgres server: {why}");
                    return;
                }
            },
        };
        let q = PgQueue::connect(&url).unwrap();
        q.client().batch_execute("DELETE FROM zkinfer_jobs").unwrap();
        super::super::conformance::run(&q);
    }
}
