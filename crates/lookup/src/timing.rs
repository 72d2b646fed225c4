//! Prover phase times on stderr when `ZKINFER_LOOKUP_TIMING` is set (diagnostics only; no
//! effect on proofs): wall seconds and the process's CPU seconds (user + system, all threads;
//! the CPU figure is the steadier one on a loaded machine).

use std::sync::OnceLock;
use std::time::Instant;

/// Whether phase times are printed.
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("ZKINFER_LOOKUP_TIMING").is_some())
}

/// The start of a phase: wall clock and process CPU seconds.
pub(crate) struct Clock {
    wall: Instant,
    cpu: f64,
}

impl Clock {
    /// Starts timing now.
    pub(crate) fn start() -> Self {
        Clock { wall: Instant::now(), cpu: if enabled() { zkinfer_procfs::cpu_seconds().unwrap_or(0.0) } else { 0.0 } }
    }

    /// Prints `label` with the wall and CPU seconds since the last lap (if enabled), and
    /// restarts.
    pub(crate) fn lap(&mut self, label: impl FnOnce() -> String) {
        if enabled() {
            let cpu = zkinfer_procfs::cpu_seconds().unwrap_or(0.0);
            eprintln!("[lookup timing] wall {:>7.3} s  cpu {:>7.2} s  {}", self.wall.elapsed().as_secs_f64(), cpu - self.cpu, label());
        }
        *self = Clock::start();
    }
}
