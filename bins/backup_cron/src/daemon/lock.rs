//! The daemon lock: one daemon per state directory.
//!
//! The daemon holds an exclusive OS lock (`flock`) on `daemon.lock` in `[state] dir` for its
//! whole life, so a second daemon on the same state directory stops at start-up instead of
//! running every job twice and overwriting the state. The file records `pid=N` for the message
//! of the daemon that finds it locked. The OS releases the lock when the process ends, however
//! it ends, so a killed daemon leaves no stale lock; the file itself is never deleted. Job
//! children do not inherit it: the file is opened close-on-exec.

use std::fs::TryLockError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fs_err::os::unix::fs::OpenOptionsExt;

/// File name of the lock in the state directory.
pub const LOCK_FILE: &str = "daemon.lock";

/// Another daemon holds the lock; the process ends with exit code 75.
#[derive(Debug, thiserror::Error)]
#[error(
    "another daemon is running (pid {}): it holds {}; stop it, or give this daemon another \
     [state] dir",
    pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string()),
    path.display()
)]
pub struct DaemonLocked {
    /// The process id the holder recorded, if it could be read.
    pub pid: Option<u32>,
    /// The lock file.
    pub path: PathBuf,
}

/// The held lock, released when dropped or when the process ends.
#[derive(Debug)]
pub struct DaemonLock {
    _file: fs_err::File,
}

/// Takes the daemon lock of `state_dir` without waiting and records this process id in it.
///
/// # Errors
///
/// [`DaemonLocked`] naming the holder when another process holds the lock, or an I/O error
/// when the lock file cannot be opened or written.
pub fn acquire(state_dir: &Path) -> anyhow::Result<DaemonLock> {
    let path = state_dir.join(LOCK_FILE);
    let mut file = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)?;

    match file.file().try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text));
            return Err(DaemonLocked { pid: parse_pid(&text), path }.into());
        }
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {}", path.display()));
        }
    }

    file.set_len(0)?;
    writeln!(file, "pid={}", std::process::id())?;
    file.flush()?;
    tracing::debug!(path = %path.display(), "took the daemon lock");
    Ok(DaemonLock { _file: file })
}

/// Reads `pid=N` from the lock file's text.
fn parse_pid(text: &str) -> Option<u32> {
    text.split_whitespace().find_map(|field| field.strip_prefix("pid=")?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquire_twice_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = acquire(dir.path()).unwrap();

        let error = acquire(dir.path()).unwrap_err();
        let locked = error.downcast_ref::<DaemonLocked>().unwrap();
        assert_eq!(locked.pid, Some(std::process::id()));
        assert!(error.to_string().starts_with("another daemon is running (pid "), "{error}");

        drop(held);
        acquire(dir.path()).unwrap();
    }

    #[test]
    fn parse_pid_reads_the_record() {
        assert_eq!(parse_pid("pid=42\n"), Some(42));
        assert_eq!(parse_pid(""), None);
    }
}
