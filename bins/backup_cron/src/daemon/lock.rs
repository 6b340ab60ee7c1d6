//! The daemon lock: one daemon per state directory.
//!
//! The daemon holds an exclusive OS lock (`flock`) on `daemon.lock` in `[state] dir` for its
//! whole life, so a second daemon on the same state directory stops at start-up instead of
//! running every job twice and overwriting the state. The file records `pid=N` for the message
//! of the daemon that finds it locked. The OS releases the lock when the process ends, however
//! it ends, so a killed daemon leaves no stale lock; the file itself is never deleted. Job
//! children do not inherit it: the file is opened close-on-exec.
//!
//! `backup_cron health` tells whether a daemon runs with [`probe`], which tries a shared lock
//! without waiting. Because a probe holds that lock for a moment, [`acquire`] retries for up to
//! [`ACQUIRE_RETRY`] before it reports another daemon.

use std::fs::TryLockError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use fs_err::os::unix::fs::OpenOptionsExt;

/// File name of the lock in the state directory.
pub const LOCK_FILE: &str = "daemon.lock";

/// How long [`acquire`] retries a lock held by someone else.
const ACQUIRE_RETRY: Duration = Duration::from_secs(2);

/// Pause between two attempts of [`acquire`].
const RETRY_PAUSE: Duration = Duration::from_millis(50);

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

/// The running daemon that [`probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The process id the daemon recorded, if it could be read.
    pub pid: Option<u32>,
    /// When the daemon took the lock: the lock file's modification time.
    pub locked_utc: DateTime<Utc>,
}

/// Takes the daemon lock of `state_dir` and records this process id in it. A lock held by
/// someone else is retried for [`ACQUIRE_RETRY`], so a health check's [`probe`] running at
/// the same moment does not stop the daemon.
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

    let deadline = Instant::now() + ACQUIRE_RETRY;
    loop {
        match file.file().try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(RETRY_PAUSE);
            }
            Err(TryLockError::WouldBlock) => {
                return Err(DaemonLocked { pid: read_pid(&mut file), path }.into());
            }
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }

    file.set_len(0)?;
    writeln!(file, "pid={}", std::process::id())?;
    file.flush()?;
    tracing::debug!(path = %path.display(), "took the daemon lock");
    Ok(DaemonLock { _file: file })
}

/// Finds out whether a daemon holds the lock of `state_dir`, by trying a shared lock without
/// waiting and releasing it at once. Returns `None` when the lock is free or the lock file
/// does not exist: no daemon runs, whatever the state file records. Creates nothing.
///
/// # Errors
///
/// An I/O error when the lock file exists but cannot be opened or locked, for example when
/// it belongs to another user.
pub fn probe(state_dir: &Path) -> anyhow::Result<Option<LockHolder>> {
    let path = state_dir.join(LOCK_FILE);
    let mut file = match fs_err::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };

    match file.file().try_lock_shared() {
        Ok(()) => return Ok(None),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot test the lock {}", path.display()));
        }
    }

    let modified = file.metadata()?.modified()?;
    Ok(Some(LockHolder { pid: read_pid(&mut file), locked_utc: modified.into() }))
}

/// Reads the holder's process id from the lock file; `None` when it cannot be read.
fn read_pid(file: &mut fs_err::File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text)).ok()?;
    parse_pid(&text)
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
    fn probe_finds_holder_only_while_held() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(probe(dir.path()).unwrap(), None);
        assert!(!dir.path().join(LOCK_FILE).exists(), "the probe created the lock file");

        let held = acquire(dir.path()).unwrap();
        let holder = probe(dir.path()).unwrap().expect("the held lock was not found");
        assert_eq!(holder.pid, Some(std::process::id()));

        drop(held);
        assert_eq!(probe(dir.path()).unwrap(), None);
    }

    #[test]
    fn acquire_waits_out_a_probe() {
        let dir = tempfile::tempdir().unwrap();
        drop(acquire(dir.path()).unwrap());
        // A shared lock like the one a probe holds, released after a moment.
        let probe_file = fs_err::File::open(dir.path().join(LOCK_FILE)).unwrap();
        probe_file.file().try_lock_shared().unwrap();

        let state_dir = dir.path().to_owned();
        let daemon = std::thread::spawn(move || acquire(&state_dir).map(drop));
        std::thread::sleep(RETRY_PAUSE * 2);
        drop(probe_file);

        daemon.join().unwrap().unwrap();
    }

    #[test]
    fn parse_pid_reads_the_record() {
        assert_eq!(parse_pid("pid=42\n"), Some(42));
        assert_eq!(parse_pid(""), None);
    }
}
