//! The lock of a backup directory, shared by every InvGuard process that touches it.
//!
//! `<backup dir>/.invguard.lock` carries an OS file lock (`flock`). Writers (backup, cleanup,
//! restore, manifest updates by verify) take it exclusively and record `pid=N operation=OP`
//! in it; readers take it shared. Read-only commands that may run beside a writer (`list`,
//! dry runs) use [`DirLock::shared_or_writer`], which goes on without the lock and names the
//! writer. The file is never deleted: deleting a lock file while another process waits on it
//! would let two writers in.

use std::fmt;
use std::fs::TryLockError;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt;

use crate::BackupError;
use crate::files::FILE_MODE;

/// File name of the lock inside the backup directory.
pub const LOCK_FILE_NAME: &str = ".invguard.lock";

/// A held lock of a backup directory, released when dropped.
#[derive(Debug)]
pub struct DirLock {
    file: fs_err::File,
    exclusive: bool,
}

impl DirLock {
    /// Takes the lock of `dir` exclusively for `operation` (for example `backup`) without
    /// waiting, and records this process id and the operation in the lock file.
    ///
    /// # Errors
    ///
    /// [`BackupError::Locked`] naming the holder when another process holds the lock, or an
    /// I/O error when the lock file cannot be opened.
    pub fn exclusive(dir: &Path, operation: &str) -> Result<Self, BackupError> {
        let path = lock_path(dir);
        let mut file = open_lock_file(&path, true)?;

        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(holder_error(&mut file)),
            Err(TryLockError::Error(source)) => return Err(BackupError::io_at(&path, source)),
        }

        record_holder(&mut file, operation).map_err(|source| BackupError::io_at(&path, source))?;
        tracing::debug!(path = %path.display(), operation, "took exclusive lock");
        Ok(Self { file, exclusive: true })
    }

    /// Takes the lock of `dir` shared for the read-only `operation` without waiting. Several
    /// readers may hold it at once; a writer excludes them.
    ///
    /// Works in a read-only backup directory as long as the lock file exists.
    ///
    /// # Errors
    ///
    /// [`BackupError::Locked`] naming the writer when one holds the lock, or an I/O error.
    pub fn shared(dir: &Path, operation: &str) -> Result<Self, BackupError> {
        let path = lock_path(dir);
        let mut file = match open_lock_file(&path, true) {
            Ok(file) => file,
            Err(_) => open_lock_file(&path, false)?,
        };

        match file.try_lock_shared() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(holder_error(&mut file)),
            Err(TryLockError::Error(source)) => return Err(BackupError::io_at(&path, source)),
        }

        tracing::debug!(path = %path.display(), operation, "took shared lock");
        Ok(Self { file, exclusive: false })
    }

    /// Takes the lock of `dir` shared for the read-only `operation`, or, when a writer holds
    /// it, returns that writer and takes no lock.
    ///
    /// For readers that may run beside a writer: manifests are replaced atomically, so a
    /// reader sees each one whole, but the set of backups may change while it reads.
    ///
    /// # Errors
    ///
    /// An I/O error when the lock file cannot be opened or locked.
    pub fn shared_or_writer(dir: &Path, operation: &str) -> Result<ReadAccess, BackupError> {
        match Self::shared(dir, operation) {
            Ok(lock) => Ok(ReadAccess::Shared(lock)),
            Err(BackupError::Locked { operation, pid }) => {
                tracing::debug!(dir = %dir.display(), %operation, ?pid, "reading beside a writer");
                Ok(ReadAccess::BesideWriter(Writer { operation, pid }))
            }
            Err(error) => Err(error),
        }
    }

    /// Returns the path of the lock file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// The result of [`DirLock::shared_or_writer`]: the shared lock, or the writer holding the lock.
#[derive(Debug)]
pub enum ReadAccess {
    /// The shared lock, held until dropped; no writer starts meanwhile.
    Shared(DirLock),
    /// No lock: a writer holds it, so what the reader sees may change.
    BesideWriter(Writer),
}

impl ReadAccess {
    /// Returns the writer that runs beside this reader, if any.
    pub fn writer(&self) -> Option<&Writer> {
        match self {
            ReadAccess::Shared(_) => None,
            ReadAccess::BesideWriter(writer) => Some(writer),
        }
    }
}

/// A process holding the exclusive lock, as its lock file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// The operation, for example `backup`.
    pub operation: String,
    /// The process id, if it could be read.
    pub pid: Option<u32>,
}

impl fmt::Display for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "a {} is running (pid {pid})", self.operation),
            None => write!(f, "a {} is running", self.operation),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // An empty file shows the next contender that no writer has the lock.
        if self.exclusive {
            let _ = self.file.set_len(0);
        }
        let _ = self.file.unlock();
        tracing::debug!(path = %self.file.path().display(), "released lock");
    }
}

/// Returns the lock file path of the backup directory `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE_NAME)
}

fn open_lock_file(path: &Path, writable: bool) -> Result<fs_err::File, BackupError> {
    let mut options = fs_err::OpenOptions::new();
    options.read(true);
    if writable {
        options.write(true).create(true).truncate(false).mode(FILE_MODE);
    }
    options.open(path).map_err(|source| BackupError::io_at(path, source))
}

fn record_holder(file: &mut fs_err::File, operation: &str) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "pid={} operation={operation}", std::process::id())?;
    file.flush()
}

fn holder_error(file: &mut fs_err::File) -> BackupError {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text));
    let (operation, pid) = parse_holder(&text);
    BackupError::Locked { operation, pid }
}

/// Parses `pid=N operation=OP`. A reader leaves no record, so an empty file names no pid.
fn parse_holder(text: &str) -> (String, Option<u32>) {
    let mut operation = None;
    let mut pid = None;
    for field in text.split_whitespace() {
        if let Some(value) = field.strip_prefix("pid=") {
            pid = value.parse().ok();
        } else if let Some(value) = field.strip_prefix("operation=") {
            operation = Some(value.to_owned());
        }
    }
    (operation.unwrap_or_else(|| "operation".to_owned()), pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_conflicts_with_exclusive_and_names_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _held = DirLock::exclusive(dir.path(), "backup").unwrap();

        let error = DirLock::exclusive(dir.path(), "cleanup").unwrap_err();

        let message = error.to_string();
        assert_eq!(message, format!("another backup is running (pid {})", std::process::id()));
    }

    #[test]
    fn shared_locks_coexist_and_block_writers() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::shared(dir.path(), "list").unwrap();
        let second = DirLock::shared(dir.path(), "monitor").unwrap();

        let error = DirLock::exclusive(dir.path(), "backup").unwrap_err();
        assert!(matches!(error, BackupError::Locked { pid: None, .. }), "{error:?}");

        drop((first, second));
        DirLock::exclusive(dir.path(), "backup").unwrap();
    }

    #[test]
    fn exclusive_blocks_shared_and_release_empties_file() {
        let dir = tempfile::tempdir().unwrap();
        let held = DirLock::exclusive(dir.path(), "restore").unwrap();
        let error = DirLock::shared(dir.path(), "list").unwrap_err();
        assert!(matches!(&error, BackupError::Locked { operation, .. } if operation == "restore"));

        drop(held);
        assert_eq!(fs_err::read_to_string(lock_path(dir.path())).unwrap(), "");
        assert!(lock_path(dir.path()).exists());
    }

    #[test]
    fn shared_or_writer_names_writer_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let held = DirLock::exclusive(dir.path(), "backup").unwrap();

        let access = DirLock::shared_or_writer(dir.path(), "list").unwrap();

        let writer = access.writer().unwrap();
        assert_eq!(writer.operation, "backup");
        assert_eq!(writer.pid, Some(std::process::id()));
        assert_eq!(writer.to_string(), format!("a backup is running (pid {})", std::process::id()));
        drop((access, held));
        let access = DirLock::shared_or_writer(dir.path(), "list").unwrap();
        assert!(matches!(access, ReadAccess::Shared(_)));
        assert!(DirLock::exclusive(dir.path(), "backup").is_err());
    }

    #[test]
    fn parse_holder_reads_both_fields() {
        assert_eq!(parse_holder("pid=42 operation=backup\n"), ("backup".to_owned(), Some(42)));
        assert_eq!(parse_holder(""), ("operation".to_owned(), None));
    }
}
