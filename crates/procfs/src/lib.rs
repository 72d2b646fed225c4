//! The one place that reads Linux `/proc`: this process's CPU time and resident memory (current
//! and peak), its real user id, the machine's available memory and host name. Every reader
//! returns `None` where `/proc` (or the field) is absent, so callers decide what "unknown" means.
//! Standard library only: the verifier's dependency tree may hold it (`zkinfer-pcs` traces its
//! memory through [`mem_trace`]).

use std::path::Path;

/// The value of the first line `key value …` of `/proc`-style `text` whose first word is `key`.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some(key)).then(|| words.next()).flatten()
    })
}

/// A `… kB` field of a `/proc` file, in bytes.
fn kib_field(path: impl AsRef<Path>, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    field(&text, key)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// User + system CPU seconds this process has used so far, all threads (`/proc/self/stat`,
/// fields 14 and 15, in clock ticks of 10 ms).
pub fn cpu_seconds() -> Option<f64> {
    parse_stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// [`cpu_seconds`] from the text of a `stat` file. The fields are counted after the
/// parenthesised command name, which may itself hold spaces and parentheses.
fn parse_stat_cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// This process's resident memory in bytes (`VmRSS`).
pub fn resident_bytes() -> Option<u64> {
    kib_field("/proc/self/status", "VmRSS:")
}

/// This process's peak resident memory in bytes (`VmHWM`).
pub fn peak_resident_bytes() -> Option<u64> {
    kib_field("/proc/self/status", "VmHWM:")
}

/// This process's real user id (`Uid:`).
pub fn real_uid() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    field(&text, "Uid:")?.parse().ok()
}

/// The machine's available memory in bytes (`MemAvailable` of `/proc/meminfo`).
pub fn available_memory() -> Option<u64> {
    kib_field("/proc/meminfo", "MemAvailable:")
}

/// The machine's host name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Diagnostics: when the environment variable `ZKINFER_MEMTRACE` is set, prints `label` with this
/// process's current and peak resident memory to stderr, and the wall seconds since the first
/// trace and the process's CPU seconds (so consecutive lines time the steps between them).
pub fn mem_trace(label: &str) {
    if std::env::var_os("ZKINFER_MEMTRACE").is_none() {
        return;
    }
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let wall = START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64();
    let kib = |b: Option<u64>| b.map_or_else(|| "?".to_string(), |b| (b / 1024).to_string());
    let cpu = cpu_seconds().map_or_else(|| "?".to_string(), |c| format!("{c:.2}"));
    eprintln!("[mem] {label}: rss {} kB, peak {} kB, t {wall:.2} s, cpu {cpu} s", kib(resident_bytes()), kib(peak_resident_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_after_the_command_name() {
        // pid (comm) state ppid … utime=250 stime=50 (fields 14, 15); a name with ") (" inside.
        let stat = "4242 (a) (b c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat_cpu_seconds(stat), Some(3.0));
        assert_eq!(parse_stat_cpu_seconds("4242 (x) S 1"), None);
        assert_eq!(parse_stat_cpu_seconds("no parenthesis"), None);
    }

    #[test]
    fn fields_are_matched_by_their_whole_key() {
        let status = "VmHWMx: 1 kB\nVmHWM:\t 2048 kB\nVmRSS: 1024 kB\nUid:\t0\t0\t0\t0\n";
        assert_eq!(field(status, "VmHWM:"), Some("2048"));
        assert_eq!(field(status, "Uid:"), Some("0"));
        assert_eq!(field(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_is_measured_on_linux() {
        if !Path::new("/proc/self/status").exists() {
            return;
        }
        let (rss, peak) = (resident_bytes().expect("VmRSS"), peak_resident_bytes().expect("VmHWM"));
        assert!(rss > 0 && peak >= rss, "rss {rss}, peak {peak}");
        assert!(cpu_seconds().expect("stat") >= 0.0);
        assert!(real_uid().is_some());
        assert!(available_memory().expect("MemAvailable") > 0);
    }
}
