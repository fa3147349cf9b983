//! The app's log: every line goes to stderr (as before) and to a file in the
//! platform's log directory, kept small by rotation.
//!
//! The file is opened in setup, once Tauri knows where the log directory is;
//! lines logged before that (the plugins' own setup, e.g. single-instance
//! saying there is no D-Bus session) wait in a small buffer and are written
//! first, so the file holds the whole run.
//!
//! Rotation is by size: when `latch.log` would grow past [`MAX_BYTES`] it
//! becomes `latch.log.1` (`.1` becomes `.2`, and so on) and the oldest past
//! [`KEEP`] is deleted. At most `(KEEP + 1) × MAX_BYTES` of logs, whatever
//! the app does. Lines are never split between files.
//!
//! Secrets never reach a log in the first place (see latch-client's link_intake.rs); the file
//! is created readable by its owner only all the same.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// The log file's name, in the log directory.
pub const LOG_FILE: &str = "latch.log";
/// Size at which the file is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// Rotated files kept: `latch.log.1` … `latch.log.KEEP`.
pub const KEEP: usize = 3;
/// What is held before the file is open; older lines beyond it are dropped.
const EARLY_BUFFER: usize = 64 * 1024;

/// A log file that rotates itself by size.
pub struct RotatingFile {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    len: u64,
}

impl RotatingFile {
    pub fn open(dir: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = open_append(&dir.join(LOG_FILE))?;
        let len = file.metadata()?.len();
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            keep,
            file,
            len,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    fn numbered(&self, n: usize) -> PathBuf {
        self.dir.join(format!("{LOG_FILE}.{n}"))
    }

    /// Writes one whole line (or block of lines), rotating first when it
    /// would take the file past its size.
    pub fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if self.len > 0 && self.len + record.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(record)?;
        self.len += record.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            // Nothing kept: start the file again.
            self.file = File::create(self.path())?;
        } else {
            let _ = std::fs::remove_file(self.numbered(self.keep));
            for n in (1..self.keep).rev() {
                let from = self.numbered(n);
                if from.exists() {
                    std::fs::rename(&from, self.numbered(n + 1))?;
                }
            }
            std::fs::rename(self.path(), self.numbered(1))?;
            self.file = open_append(&self.path())?;
        }
        self.len = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

enum Sink {
    /// The file isn't open yet: lines wait here.
    Early(Vec<u8>),
    File(RotatingFile),
    /// The file couldn't be opened: stderr only.
    Off,
}

/// Where the file half of the log goes; cloned into the tracing subscriber.
#[derive(Clone)]
pub struct LogFile(Arc<Mutex<Sink>>);

impl Default for LogFile {
    fn default() -> Self {
        Self::new()
    }
}

impl LogFile {
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(Sink::Early(Vec::new()))))
    }

    /// Opens `dir/latch.log`, writes what was logged so far, and from then on
    /// every line. Answers the file's path. On failure the log stays on
    /// stderr only, and the error says why.
    pub fn open(&self, dir: &Path) -> io::Result<PathBuf> {
        self.open_with(dir, MAX_BYTES, KEEP)
    }

    pub fn open_with(&self, dir: &Path, max_bytes: u64, keep: usize) -> io::Result<PathBuf> {
        let mut sink = self.lock();
        let early = match &mut *sink {
            Sink::Early(buffer) => std::mem::take(buffer),
            _ => Vec::new(),
        };
        match RotatingFile::open(dir, max_bytes, keep) {
            Ok(mut file) => {
                let path = file.path();
                if !early.is_empty() {
                    file.write_record(&early)?;
                }
                *sink = Sink::File(file);
                Ok(path)
            }
            Err(error) => {
                *sink = Sink::Off;
                Err(error)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sink> {
        // Every step leaves the sink whole, so a panic elsewhere while it was
        // held leaves nothing half-done.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, bytes: &[u8]) {
        match &mut *self.lock() {
            Sink::Early(buffer) => {
                if buffer.len() + bytes.len() <= EARLY_BUFFER {
                    buffer.extend_from_slice(bytes);
                }
            }
            Sink::File(file) => {
                // A full disk must not take the app down; stderr still has it.
                let _ = file.write_record(bytes);
            }
            Sink::Off => {}
        }
    }
}

/// One event's writer: tracing's fmt layer formats a whole event, then
/// writes it with one `write_all`, which lands here as one record.
pub struct LogFileWriter(LogFile);

impl Write for LogFileWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.record(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFileWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogFileWriter(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn lines_logged_before_the_file_opens_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogFile::new();
        log.make_writer().write_all(b"early line\n").unwrap();
        let path = log.open(dir.path()).unwrap();
        log.make_writer().write_all(b"later line\n").unwrap();
        assert_eq!(path, dir.path().join(LOG_FILE));
        assert_eq!(read(&path), "early line\nlater line\n");
    }

    #[test]
    fn the_file_rotates_by_size_and_keeps_only_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogFile::new();
        let path = log.open_with(dir.path(), 100, 2).unwrap();
        // 10 records of 40 bytes: two fit in 100 bytes, so five files' worth.
        for i in 0..10 {
            let line = format!("{i:02} {}\n", "x".repeat(36));
            assert_eq!(line.len(), 40);
            log.make_writer().write_all(line.as_bytes()).unwrap();
        }
        let numbered = |n: usize| dir.path().join(format!("{LOG_FILE}.{n}"));
        assert!(read(&path).starts_with("08 "), "{}", read(&path));
        assert!(read(&path).contains("\n09 "));
        assert!(read(&numbered(1)).starts_with("06 "));
        assert!(read(&numbered(2)).starts_with("04 "));
        assert!(!numbered(3).exists(), "only two rotated files are kept");
        for file in [path.clone(), numbered(1), numbered(2)] {
            let size = std::fs::metadata(&file).unwrap().len();
            assert!(size <= 100, "{} is {size} bytes", file.display());
            assert!(read(&file).ends_with('\n'), "a line was split");
        }
    }

    #[test]
    fn an_existing_file_is_appended_to_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOG_FILE), "x".repeat(90)).unwrap();
        let log = LogFile::new();
        let path = log.open_with(dir.path(), 100, 1).unwrap();
        log.make_writer().write_all(b"0123456789abcdef\n").unwrap();
        assert_eq!(read(&path), "0123456789abcdef\n");
        assert_eq!(read(&dir.path().join(format!("{LOG_FILE}.1"))).len(), 90);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_owner_can_read_the_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = LogFile::new().open(dir.path()).unwrap();
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn an_unusable_directory_leaves_stderr_only() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let log = LogFile::new();
        assert!(log.open(&blocker.join("logs")).is_err());
        // Still writable: lines go nowhere instead of failing the app.
        log.make_writer().write_all(b"after\n").unwrap();
    }
}
