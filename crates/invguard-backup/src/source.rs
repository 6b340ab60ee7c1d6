//! Resolving and opening the live database read-only, without ever creating it.

use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::BackupError;

/// How long a read waits for a lock held by a writer (WAL recovery, a rollback-journal commit).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The live database, its path resolved once.
#[derive(Debug)]
pub(crate) struct SourceDatabase {
    /// The canonical path (symbolic links resolved).
    pub(crate) path: PathBuf,
    /// Size of the main database file plus its WAL file, in bytes.
    pub(crate) size: u64,
}

impl SourceDatabase {
    /// Resolves `configured` and checks that it is an existing SQLite database file.
    pub(crate) fn resolve(configured: &Path) -> Result<Self, BackupError> {
        let path = canonical_path(configured)?;

        let metadata = fs_err::metadata(&path)?;
        if metadata.is_dir() {
            return Err(BackupError::DatabaseIsDirectory { path });
        }
        check_header(&path)?;

        let size = metadata.len() + wal_size(&path);
        Ok(Self { path, size })
    }

    /// Opens the database read-only. The flags leave out `SQLITE_OPEN_CREATE`, so a file that
    /// vanished since [`resolve`](Self::resolve) is an error, never a new empty database.
    pub(crate) fn open(&self) -> Result<Connection, BackupError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)
            .map_err(|source| BackupError::sqlite("open", &self.path, source))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|source| BackupError::sqlite("configure", &self.path, source))?;

        // Reading the schema makes SQLite parse the header and fail early on a damaged file.
        connection
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get::<_, i64>(0))
            .map_err(|source| match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => BackupError::NotSqlite {
                    path: self.path.clone(),
                    detail: "SQLite rejects its header".to_owned(),
                },
                _ => BackupError::sqlite("read the schema of", &self.path, source),
            })?;
        Ok(connection)
    }
}

fn canonical_path(configured: &Path) -> Result<PathBuf, BackupError> {
    match fs_err::canonicalize(configured) {
        Ok(path) => Ok(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            match std::fs::read_link(configured) {
                Ok(target) => Err(BackupError::DatabaseDanglingSymlink {
                    path: configured.to_owned(),
                    target,
                }),
                Err(_) => Err(BackupError::DatabaseMissing { path: configured.to_owned() }),
            }
        }
        Err(error) => Err(BackupError::Io(error)),
    }
}

fn check_header(path: &Path) -> Result<(), BackupError> {
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    fs_err::File::open(path)?.take(SQLITE_HEADER.len() as u64).read_to_end(&mut header)?;

    if header.as_slice() == SQLITE_HEADER {
        return Ok(());
    }
    let detail = if header.is_empty() {
        "the file is empty".to_owned()
    } else {
        "the file does not start with the SQLite header".to_owned()
    };
    Err(BackupError::NotSqlite { path: path.to_owned(), detail })
}

fn wal_size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    fs_err::metadata(PathBuf::from(wal)).map(|metadata| metadata.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_rejects_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        fs_err::write(&path, b"").unwrap();

        let error = SourceDatabase::resolve(&path).unwrap_err();

        assert!(matches!(error, BackupError::NotSqlite { .. }), "{error:?}");
    }

    #[test]
    fn resolve_follows_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        Connection::open(&real).unwrap().execute_batch("CREATE TABLE t(x)").unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let source = SourceDatabase::resolve(&link).unwrap();

        assert_eq!(source.path, fs_err::canonicalize(&real).unwrap());
        source.open().unwrap();
    }
}
