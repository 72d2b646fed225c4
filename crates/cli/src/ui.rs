//! What every command shares with the user: failure kinds and exit codes, error messages, JSON
//! failure objects, standard output that survives a closed pipe, progress on standard error,
//! input/output path checks, and Ctrl-C.
//!
//! Exit codes (README, "Exit codes"):
//!
//! | code | kind | meaning |
//! | --- | --- | --- |
//! | 0 | — | success |
//! | 1 | `rejected` | the proof was rejected (`verify`, `demo`) |
//! | 2 | `usage` | bad arguments, or an action that needs `--force` |
//! | 3 | `io`, `format`, `internal` | a file is missing, unreadable, unwritable or malformed |
//! | 4 | `request` | a request the model cannot serve (context length, vocabulary) |
//! | 130 | `interrupted` | Ctrl-C |

use std::fmt;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Why a command failed; decides the exit code and the JSON `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The proof does not verify.
    Rejected,
    /// Bad command-line arguments (or a refused action that needs `--force`).
    Usage,
    /// A file could not be read or written.
    Io,
    /// A file is not what it should be (malformed model, key or proof).
    Format,
    /// The model cannot serve the request (context length, vocabulary).
    Request,
    /// Ctrl-C.
    Interrupted,
    /// Anything else (a bug): reported with exit code 3.
    Internal,
}

impl Kind {
    /// The process exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Rejected => 1,
            Kind::Usage => 2,
            Kind::Io | Kind::Format | Kind::Internal => 3,
            Kind::Request => 4,
            Kind::Interrupted => 130,
        }
    }

    /// The name in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rejected => "rejected",
            Kind::Usage => "usage",
            Kind::Io => "io",
            Kind::Format => "format",
            Kind::Request => "request",
            Kind::Interrupted => "interrupted",
            Kind::Internal => "internal",
        }
    }
}

/// A failure with its kind and a complete message (causes already included, each once).
#[derive(Debug)]
pub struct Failure {
    /// Its kind.
    pub kind: Kind,
    /// What to print.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A failure of `kind` with `message`.
pub fn fail(kind: Kind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure { kind, message: message.into() })
}

/// Tags a result's error with a kind and a leading context (`"{context}: {cause}"`).
pub trait Tag<T> {
    /// Fails with `kind`, the message being `context()` followed by the error's causes.
    fn tag(self, kind: Kind, context: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Tag<T> for Result<T, E> {
    fn tag(self, kind: Kind, context: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            fail(kind, format!("{}: {}", context(), describe(&e)))
        })
    }
}

/// The error's causes joined by ": ", each once: a cause whose text its parent already
/// contains (`"cannot read x: No such file (os error 2)"` over `"No such file (os error 2)"`) is
/// not repeated. Rust `Debug` text from dependencies (`MerkleProofInvalid { position: 0 }`) is
/// turned into words.
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = words(&cause.to_string());
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Replaces a Rust `Debug` rendering `SomeVariant { field: 1, … }` or `SomeVariant(…)` found
/// after a `": "` (how p3's errors reach us) by its words, `"some variant"`.
fn words(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in text.split(": ") {
        let ident: String = part.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let rest = &part[ident.len()..];
        let debug_like = ident.len() > 1
            && ident.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && ident.chars().skip(1).any(|c| c.is_ascii_uppercase())
            && ident.chars().any(|c| c.is_ascii_lowercase())
            && (rest.starts_with(" {") || rest.starts_with('(') || rest.is_empty());
        if debug_like {
            let mut w = String::new();
            for (i, c) in ident.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    w.push(' ');
                }
                w.push(if i == 0 { c } else { c.to_ascii_lowercase() });
            }
            parts.push(w);
            // The rest is the value's fields (which may hold ": " themselves).
            break;
        } else {
            parts.push(part.to_owned());
        }
    }
    parts.join(": ")
}

/// The kind of an error: its [`Failure`]'s, else guessed from the types in its chain.
pub fn kind_of(e: &anyhow::Error) -> Kind {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.kind;
        }
    }
    for cause in e.chain() {
        if let Some(m) = cause.downcast_ref::<zkinfer_model::ModelError>() {
            if matches!(m, zkinfer_model::ModelError::TooLong { .. }) {
                return Kind::Request;
            }
            return Kind::Format;
        }
        if let Some(p) = cause.downcast_ref::<zkinfer_proof::ProofSystemError>() {
            return match p {
                zkinfer_proof::ProofSystemError::Request(_) => Kind::Request,
                zkinfer_proof::ProofSystemError::Decode(_) => Kind::Format,
                _ => Kind::Internal,
            };
        }
        if cause.downcast_ref::<zkinfer_gguf::GgufError>().is_some()
            || cause.downcast_ref::<zkinfer_tokenizer::TokenizerError>().is_some()
        {
            return Kind::Format;
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return Kind::Io;
        }
    }
    Kind::Internal
}

/// True if the error is a write to a closed pipe (`zkinfer … | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The JSON object printed on failure.
pub fn failure_json(kind: Kind, message: &str) -> serde_json::Value {
    serde_json::json!({ "ok": false, "error": { "kind": kind.name(), "message": message } })
}

/// Writes `text` and a newline to standard output; a closed pipe comes back as an error that
/// `main` turns into a quiet exit 0.
pub fn outln(text: impl fmt::Display) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Prints one JSON object (adding `"ok": true`) on standard output.
pub fn out_json(mut value: serde_json::Value) -> anyhow::Result<()> {
    if let Some(obj) = value.as_object_mut() {
        let mut with_ok = serde_json::Map::new();
        with_ok.insert("ok".into(), serde_json::Value::Bool(true));
        with_ok.extend(std::mem::take(obj));
        *obj = with_ok;
    }
    outln(value)
}

/// Checks that `path` is a readable file before anything is loaded from it.
pub fn input_file(path: &Path, what: &str) -> anyhow::Result<()> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(fail(Kind::Io, format!("cannot read {what} {}: no such file", path.display())))
        }
        Err(e) => Err(fail(Kind::Io, format!("cannot read {what} {}: {e}", path.display()))),
        Ok(m) if m.is_dir() => Err(fail(Kind::Io, format!("cannot read {what} {}: it is a directory", path.display()))),
        Ok(_) => Ok(()),
    }
}

/// Checks, before any heavy work, that a file can be written at `path`: it is not a directory,
/// its directory exists, and a file can be created there (a probe file is created and removed).
pub fn output_file(path: &Path, what: &str) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(fail(Kind::Io, format!("cannot write {what} {}: it is a directory", path.display())));
    }
    let name = path
        .file_name()
        .ok_or_else(|| fail(Kind::Usage, format!("{what} path {} has no file name", path.display())))?;
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(fail(
            Kind::Io,
            format!("cannot write {what} {}: directory {} does not exist", path.display(), dir.display()),
        ));
    }
    let probe = dir.join(format!(".{}.probe-{}", name.to_string_lossy(), std::process::id()));
    std::fs::File::create(&probe)
        .map_err(|e| fail(Kind::Io, format!("cannot write {what} {}: {e}", path.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Creates `dir` if missing and checks that files can be written in it.
pub fn output_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(fail(Kind::Io, format!("cannot write {what} into {}: it is not a directory", dir.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(Kind::Io, format!("cannot create {}: {e}", dir.display())))?;
    output_file(&dir.join(".zkinfer-write-check"), what)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Outputs being written right now: their temporary files are removed on Ctrl-C.
static WRITING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The temporary file `zkinfer_proof::fsio::write_atomic` writes `path` through.
fn temp_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    Some(parent_dir(path).join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id())))
}

/// Writes `bytes` to `path` atomically (temporary file, then rename); Ctrl-C during the write
/// removes the temporary file.
pub fn write_file(path: &Path, bytes: &[u8], what: &str) -> anyhow::Result<()> {
    if let Ok(mut w) = WRITING.lock() {
        w.push(path.to_path_buf());
    }
    let result = zkinfer_proof::fsio::write_atomic(path, bytes);
    if let Ok(mut w) = WRITING.lock() {
        w.retain(|p| p != path);
    }
    result.map_err(|e| fail(Kind::Io, format!("cannot write {what} {}: {e}", path.display())))
}

/// Writes `path` atomically as a stream: `write` fills a buffered temporary file beside it, which
/// is flushed, synced and renamed into place only if `write` succeeds; on any failure (or Ctrl-C)
/// the temporary file is removed, so no half-written output ever appears at `path`.
pub fn write_streaming<T>(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let tmp = temp_of(path).ok_or_else(|| fail(Kind::Usage, format!("{what} path {} has no file name", path.display())))?;
    if let Ok(mut w) = WRITING.lock() {
        w.push(path.to_path_buf());
    }
    let io = |e: std::io::Error| fail(Kind::Io, format!("cannot write {what} {}: {e}", path.display()));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        let value = write(&mut w)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    if let Ok(mut w) = WRITING.lock() {
        w.retain(|p| p != path);
    }
    result
}

/// Installs the Ctrl-C handler: remove the temporary files of outputs being written, print
/// "interrupted" (a JSON failure on standard output too with `--json`), exit 130.
pub fn on_interrupt(json: bool) {
    let _ = ctrlc::set_handler(move || {
        if let Ok(w) = WRITING.lock() {
            for p in w.iter().filter_map(|p| temp_of(p)) {
                let _ = std::fs::remove_file(p);
            }
        }
        eprintln!("\ninterrupted");
        if json {
            println!("{}", failure_json(Kind::Interrupted, "interrupted"));
        }
        std::process::exit(Kind::Interrupted.exit_code());
    });
}

/// Progress on standard error: a spinner with the stage, the elapsed time and, while tokens are
/// generated, their live count and an estimate of the time left, on a terminal; one plain line
/// per stage otherwise (plus one line with the generation's count and speed); nothing when quiet.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    start: Instant,
    stages: usize,
    done: usize,
    /// The current stage's message and start.
    msg: String,
    stage_start: Instant,
    /// Tokens generated and requested in the current stage, if it generates.
    tokens: Option<(usize, usize)>,
}

impl Progress {
    /// Progress over `stages` stages.
    pub fn new(quiet: bool, stages: usize) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = ProgressBar::new(stages as u64);
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} [{elapsed}]") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let now = Instant::now();
        Self { bar, plain: !quiet && !tty, start: now, stages, done: 0, msg: String::new(), stage_start: now, tokens: None }
    }

    /// Starts the next stage.
    pub fn stage(&mut self, msg: &str) {
        self.end_tokens();
        self.done += 1;
        self.msg = msg.to_owned();
        self.stage_start = Instant::now();
        if let Some(bar) = &self.bar {
            bar.set_position(self.done as u64);
            bar.set_message(msg.to_owned());
        } else if self.plain {
            eprintln!("[{:>7.2} s] {}/{} {msg}", self.start.elapsed().as_secs_f64(), self.done, self.stages);
        }
    }

    /// `generated` of `total` tokens are generated in the current stage: on a terminal, the
    /// stage's message shows the count, the speed and an estimate of the time left.
    pub fn tokens(&mut self, generated: usize, total: usize) {
        self.tokens = Some((generated, total));
        if let Some(bar) = &self.bar {
            let status = token_status(generated, total, self.stage_start.elapsed().as_secs_f64());
            bar.set_message(format!("{}: {status}", self.msg));
        }
    }

    /// A live status after the current stage's message (on a terminal only; no line is printed
    /// when the stage ends).
    pub fn status(&mut self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: {status}", self.msg));
        }
    }

    /// After a generating stage: one line with the count and the speed (on a terminal above the
    /// spinner, so that it stays).
    fn end_tokens(&mut self) {
        let Some((generated, total)) = self.tokens.take() else { return };
        let secs = self.stage_start.elapsed().as_secs_f64();
        let line = format!(
            "generated {generated}/{total} tokens in {secs:.2} s ({:.1} tokens/s)",
            generated as f64 / secs.max(1e-9)
        );
        if let Some(bar) = &self.bar {
            bar.println(line);
        } else if self.plain {
            eprintln!("[{:>7.2} s] {line}", self.start.elapsed().as_secs_f64());
        }
    }

    /// Removes the spinner.
    pub fn finish(&mut self) {
        self.end_tokens();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Seconds since the start.
    pub fn elapsed_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// The live status of a generation: `"5/16 tokens, 12.5 tokens/s, ETA 1 s"` (the estimate is the
/// tokens left at the speed so far; unknown before the first token).
pub fn token_status(generated: usize, total: usize, elapsed_s: f64) -> String {
    if generated == 0 || elapsed_s <= 0.0 {
        return format!("{generated}/{total} tokens, ETA unknown");
    }
    let rate = generated as f64 / elapsed_s;
    let left = total.saturating_sub(generated) as f64 / rate;
    format!("{generated}/{total} tokens, {rate:.1} tokens/s, ETA {}", duration_words(left))
}

/// Seconds as `"42 s"` or `"3 min 05 s"`.
fn duration_words(secs: f64) -> String {
    let s = secs.ceil().max(0.0) as u64;
    if s < 60 { format!("{s} s") } else { format!("{} min {:02} s", s / 60, s % 60) }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_text_becomes_words() {
        assert_eq!(
            words("WHIR verification failed: MerkleProofInvalid { position: 0, depth: 3 }"),
            "WHIR verification failed: Merkle proof invalid"
        );
        assert_eq!(words("cannot read x: no such file"), "cannot read x: no such file");
        assert_eq!(words("WHIR verification failed: InvalidPow"), "WHIR verification failed: Invalid pow");
    }

    #[test]
    fn token_status_counts_and_estimates() {
        assert_eq!(token_status(0, 16, 0.0), "0/16 tokens, ETA unknown");
        // 4 tokens in 2 s: 2 tokens/s, 12 left → 6 s.
        assert_eq!(token_status(4, 16, 2.0), "4/16 tokens, 2.0 tokens/s, ETA 6 s");
        assert_eq!(token_status(1, 200, 1.0), "1/200 tokens, 1.0 tokens/s, ETA 3 min 19 s");
        assert_eq!(token_status(16, 16, 2.0), "16/16 tokens, 8.0 tokens/s, ETA 0 s");
    }

    #[test]
    fn each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let e = anyhow::Error::new(io).context("cannot read model m: No such file or directory (os error 2)");
        assert_eq!(describe(&e), "cannot read model m: No such file or directory (os error 2)");
    }
}
