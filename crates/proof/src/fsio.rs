//! Atomic file output: write to a fresh temporary file beside the target (created with
//! `create_new`, so an existing file — another writer's temporary, or a planted link — is never
//! opened or truncated), flush it to disk, rename it into place, then flush the directory so the
//! rename itself survives a crash. A reader never sees a half-written key or proof and a failed
//! write leaves no file behind.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, false, false).map(drop)
}

/// [`write_atomic`] for a secret (a zk proving key): the file is created readable and writable
/// by its owner only (mode 0600 on Unix) before any byte is written.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, true, false).map(drop)
}

/// [`write_atomic_private`], returning the new file exclusively locked (`flock`): the lock is
/// taken on the temporary file before it is renamed into place, so from the moment `path` names
/// the new file no other process can lock it until the returned handle is dropped.
pub fn write_atomic_private_locked(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    write_atomic_mode(path, bytes, true, true)?.ok_or_else(|| std::io::Error::other("no locked file"))
}

fn create_new(path: &Path, private: bool) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    o.open(path)
}

/// The directory `path` is in.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Flushes a directory's entries (a rename into it) to disk. On systems where a directory
/// cannot be opened as a file this is a no-op.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A fresh temporary file beside `path` (a name no other writer in this process or another
/// uses), created with `create_new`.
fn temp_file(dir: &Path, name: &str, private: bool) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}-{nanos}", std::process::id()));
        match create_new(&tmp, private) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary file name")))
}

fn write_atomic_mode(path: &Path, bytes: &[u8], private: bool, lock: bool) -> std::io::Result<Option<File>> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "output path has no file name"))?
        .to_string_lossy()
        .into_owned();
    let (tmp, mut f) = temp_file(&dir, &name, private)?;
    let result = (|| {
        if lock {
            f.try_lock().map_err(|e| std::io::Error::other(format!("cannot lock the new file: {e}")))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    match result {
        Ok(()) => Ok(lock.then_some(f)),
        Err(e) => {
            drop(f);
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "temporary file left behind");
    }

    #[test]
    fn failure_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("missing-dir").join("out.bin");
        assert!(write_atomic(&p, b"x").is_err());
        assert!(!p.exists());
    }

    #[test]
    fn a_planted_temporary_name_is_never_written_through() {
        // The temporary name is fresh per write; a file squatting on an old-style name is left
        // alone and the write still lands.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.bin");
        let squat = d.path().join(format!(".out.bin.tmp-{}", std::process::id()));
        std::fs::write(&squat, b"keep").unwrap();
        write_atomic_private(&p, b"secret").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        assert_eq!(std::fs::read(&squat).unwrap(), b"keep");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2, "temporary file left behind");
    }

    #[test]
    fn the_locked_write_holds_the_lock_on_the_new_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pk.bin");
        let held = write_atomic_private_locked(&p, b"one").unwrap();
        let other = std::fs::File::open(&p).unwrap();
        assert!(other.try_lock().is_err(), "the renamed file is not locked");
        drop(held);
        other.try_lock().unwrap();
    }
}
