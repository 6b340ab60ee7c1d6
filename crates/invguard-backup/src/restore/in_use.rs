//! Checks that no other process uses a database before it is replaced in place.
//!
//! Three checks run in order, and the first that finds a user stops the restore:
//!
//! 1. open files: another process has the database, its `-wal` or its `-shm` open (read from
//!    `/proc/<pid>/fd`; processes this user may not inspect are skipped);
//! 2. file locks: another process holds a lock on one of those files (read from
//!    `/proc/locks`, which lists every process);
//! 3. SQLite: `PRAGMA locking_mode = EXCLUSIVE` and then `BEGIN EXCLUSIVE` must succeed at
//!    once. A plain `BEGIN EXCLUSIVE` is not enough, because in WAL mode it succeeds while
//!    other connections have the database open.
//!
//! The first two checks need Linux `/proc` and are skipped elsewhere. Only the third sees
//! connections of the calling process. The first two only read, so a dry run runs them
//! through [`find_other_user`]; the third takes a lock that can create the `-wal` file, so
//! only a real restore runs it.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::BackupError;

/// Which check found the database in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InUse {
    /// Another process has one of the database files open.
    OpenFile {
        /// The process id.
        pid: u32,
        /// The file it has open.
        path: PathBuf,
    },
    /// Another process holds a lock on one of the database files.
    FileLock {
        /// The process id, when the kernel reports one (not for open file description locks).
        pid: Option<u32>,
        /// The locked file.
        path: PathBuf,
    },
    /// SQLite could not take an exclusive lock at once.
    SqliteLock {
        /// SQLite's message.
        message: String,
    },
}

impl fmt::Display for InUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InUse::OpenFile { pid, path } => {
                write!(f, "process {pid} has {} open", path.display())
            }
            InUse::FileLock { pid: Some(pid), path } => {
                write!(f, "process {pid} holds a lock on {}", path.display())
            }
            InUse::FileLock { pid: None, path } => {
                write!(f, "another process holds a lock on {}", path.display())
            }
            InUse::SqliteLock { message } => {
                write!(f, "sqlite could not lock it exclusively: {message}")
            }
        }
    }
}

/// An exclusive SQLite lock on a database, held until dropped.
///
/// Closing does not checkpoint, so the database file and its WAL stay exactly as they were.
#[derive(Debug)]
pub(crate) struct ExclusiveLock {
    connection: Connection,
}

/// Runs the three checks on `database` and returns the exclusive SQLite lock on success.
///
/// # Errors
///
/// [`BackupError::DatabaseInUse`] naming the check that failed, or an SQLite or I/O error.
pub(crate) fn lock_unused(database: &Path) -> Result<ExclusiveLock, BackupError> {
    if let Some(in_use) = find_other_user(database) {
        return Err(BackupError::DatabaseInUse { path: database.to_owned(), check: in_use });
    }
    lock_exclusive(database)
}

/// Runs the two read-only checks (open files, file locks) and returns the first user found.
pub(crate) fn find_other_user(database: &Path) -> Option<InUse> {
    let files = database_files(database);
    find_open_file(&files).or_else(|| find_file_lock(&files))
}

/// The database file and its `-wal` and `-shm` files that exist, with device and inode.
fn database_files(database: &Path) -> Vec<(PathBuf, u64, u64)> {
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        let path = PathBuf::from(path);
        if let Ok(metadata) = fs_err::symlink_metadata(&path) {
            files.push((path, metadata.dev(), metadata.ino()));
        }
    }
    files
}

/// Scans `/proc/<pid>/fd` of every other process for one of `files`.
fn find_open_file(files: &[(PathBuf, u64, u64)]) -> Option<InUse> {
    let own_pid = std::process::id();
    let processes = fs_err::read_dir("/proc").ok()?;

    for process in processes.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own_pid {
            continue;
        }
        let Ok(descriptors) = fs_err::read_dir(process.path().join("fd")) else {
            continue;
        };
        for descriptor in descriptors.flatten() {
            // Following the descriptor's link gives the device and inode of the open file.
            let Ok(metadata) = fs_err::metadata(descriptor.path()) else {
                continue;
            };
            let open =
                files.iter().find(|(_, dev, ino)| metadata.dev() == *dev && metadata.ino() == *ino);
            if let Some((path, _, _)) = open {
                return Some(InUse::OpenFile { pid, path: path.clone() });
            }
        }
    }
    None
}

/// Looks up `files` in `/proc/locks`, ignoring locks of this process.
///
/// Matches on the inode number alone, because the device number printed there is not always
/// the one `stat` reports (overlay file systems). A false match can only refuse a restore.
fn find_file_lock(files: &[(PathBuf, u64, u64)]) -> Option<InUse> {
    let table = fs_err::read_to_string("/proc/locks").ok()?;
    let own_pid = std::process::id();

    for lock in table.lines().filter_map(parse_lock_line) {
        if lock.pid == Some(own_pid) {
            continue;
        }
        if let Some((path, _, _)) = files.iter().find(|(_, _, ino)| *ino == lock.inode) {
            return Some(InUse::FileLock { pid: lock.pid, path: path.clone() });
        }
    }
    None
}

#[derive(Debug, PartialEq, Eq)]
struct LockLine {
    pid: Option<u32>,
    inode: u64,
}

/// Parses a line such as `1: POSIX  ADVISORY  READ 4711 fe:00:5308530 128 128`. Lines of
/// waiting (blocked) requests, marked `->`, hold no lock and are skipped.
fn parse_lock_line(line: &str) -> Option<LockLine> {
    let mut fields = line.split_whitespace().skip(1);
    let kind = fields.next()?;
    if kind == "->" {
        return None;
    }
    let pid = fields.nth(2)?;
    let device_inode = fields.next()?;
    let inode = device_inode.rsplit(':').next()?.parse().ok()?;

    Some(LockLine { pid: pid.parse().ok(), inode })
}

/// Opens `database` and takes SQLite's exclusive lock without waiting.
fn lock_exclusive(database: &Path) -> Result<ExclusiveLock, BackupError> {
    let sqlite = |source| BackupError::sqlite("lock", database, source);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(database, flags).map_err(sqlite)?;

    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).map_err(sqlite)?;
    connection.busy_timeout(std::time::Duration::ZERO).map_err(sqlite)?;

    let locked = connection
        .pragma_update_and_check(None, "locking_mode", "EXCLUSIVE", |row| row.get::<_, String>(0))
        .and_then(|_| connection.execute_batch("BEGIN EXCLUSIVE"));
    match locked {
        Ok(()) => Ok(ExclusiveLock { connection }),
        Err(error) if is_busy(&error) => Err(BackupError::DatabaseInUse {
            path: database.to_owned(),
            check: InUse::SqliteLock { message: error.to_string() },
        }),
        Err(error) => Err(sqlite(error)),
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl ExclusiveLock {
    /// Ends the transaction and closes the connection; the lock is released.
    pub(crate) fn release(self) {
        if let Err(error) = self.connection.execute_batch("ROLLBACK") {
            tracing::debug!(%error, "rolling back the exclusive lock transaction failed");
        }
        if let Err((_, error)) = self.connection.close() {
            tracing::debug!(%error, "closing the exclusive lock connection failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lock_line_reads_pid_and_inode() {
        let line = "3: POSIX  ADVISORY  READ 4711 fe:00:5308530 128 128";

        let lock = parse_lock_line(line).unwrap();

        assert_eq!(lock, LockLine { pid: Some(4711), inode: 5_308_530 });
    }

    #[test]
    fn parse_lock_line_skips_blocked_requests() {
        let line = "1: -> FLOCK  ADVISORY  WRITE 13022 fe:00:5308530 0 EOF";

        assert_eq!(parse_lock_line(line), None);
    }

    #[test]
    fn parse_lock_line_reads_open_file_description_lock_without_pid() {
        let line = "2: OFDLCK ADVISORY  WRITE -1 08:01:99 0 EOF";

        let lock = parse_lock_line(line).unwrap();

        assert_eq!(lock, LockLine { pid: None, inode: 99 });
    }
}
