//! Start-up check that this process can read the live database without harming the backend.
//!
//! InvGuard Cron usually runs beside the backend (another container or service) and reads the
//! backend's SQLite database in WAL mode. Whether SQLite can open that database read-only
//! depends on file ownership, in ways that only show up later, when the backend is stopped:
//!
//! - While the backend runs, the `-wal` and `-shm` files exist, and a process of another uid
//!   reads the database even when it cannot write the `-shm` file.
//! - When the backend is stopped, those files are gone. Opening the database then creates
//!   them, so the open fails ("attempt to write a readonly database") when the directory is
//!   not writable.
//! - When the directory is writable, the open creates `-wal` and `-shm` owned by this
//!   process's uid, and the backend, running as another uid, may no longer be able to write
//!   them.
//!
//! (Behaviour of SQLite 3.40.1 and of the SQLite bundled with rusqlite; the tests of this
//! module check it.) So InvGuard Cron must run as the uid and gid that own the database.
//! [`check_database_access`] finds the cases above before a backup tries to open the database
//! and says what to change.

use std::io::{self, Read as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// User and group ids of a process or of a file's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl std::fmt::Display for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

/// Why the database cannot be opened, or may not be opened without harming the backend.
///
/// Each message names the file, the ids involved and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseAccessError {
    /// The database file does not exist.
    #[error(
        "database {path} does not exist: set [database] path (DATABASE_PATH) to the live \
         InvGuard database file"
    )]
    NotFound {
        /// The configured database path.
        path: PathBuf,
    },

    /// This process cannot read the database or its `-wal` file.
    #[error(
        "cannot read {path} as {process}: it is owned by {owner} with mode {mode:o}; run \
         InvGuard Cron as {owner} (Compose `user: \"{owner}\"`)"
    )]
    Unreadable {
        /// The file that cannot be read.
        path: PathBuf,
        /// Ids of this process.
        process: Ids,
        /// Owner of the file.
        owner: Ids,
        /// Permission bits of the file.
        mode: u32,
    },

    /// The backend is stopped (no `-wal` file) and the directory is not writable, so SQLite
    /// cannot create the `-wal` and `-shm` files it needs to open a WAL database.
    #[error(
        "cannot open WAL database {path} while the backend is stopped: there is no -wal file \
         and {dir} is not writable by {process}; run InvGuard Cron as the database owner \
         {owner} (Compose `user: \"{owner}\"`) or start the backend"
    )]
    ReadOnlyDirectory {
        /// The database file.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// Ids of this process.
        process: Ids,
        /// Owner of the database file.
        owner: Ids,
    },

    /// The backend is stopped and opening the database would create `-wal` and `-shm` files
    /// owned by this process, which the backend may then be unable to write.
    #[error(
        "opening WAL database {path} as {process} while the backend is stopped would create \
         -wal and -shm files that the backend ({owner}) may be unable to write; run \
         InvGuard Cron as the database owner {owner} (Compose `user: \"{owner}\"`)"
    )]
    WouldCreateForeignFiles {
        /// The database file.
        path: PathBuf,
        /// Ids of this process.
        process: Ids,
        /// Owner of the database file.
        owner: Ids,
    },

    /// Inspecting a file failed for another reason; `fs-err` names the path in the message.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Offset of the "file format write version" byte in the SQLite header; 2 means WAL mode.
const HEADER_WRITE_VERSION: usize = 18;

/// Checks that this process can open the WAL database at `db_path` read-only for a backup
/// without leaving files the backend cannot write.
///
/// Returns warnings about conditions that let a backup run now but need the operator's
/// attention, such as a `-wal` file owned by another uid than the database. Returns an error
/// when opening the database would fail or would create files owned by the wrong uid.
///
/// Call it at start-up of the daemon and before a backup. Databases in rollback-journal
/// mode are only checked for readability, because reading them creates no files.
///
/// # Errors
///
/// See [`DatabaseAccessError`].
pub fn check_database_access(db_path: &Path) -> Result<Vec<String>, DatabaseAccessError> {
    let path = match fs_err::canonicalize(db_path) {
        Ok(path) => path,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(DatabaseAccessError::NotFound { path: db_path.to_owned() });
        }
        Err(error) => return Err(error.into()),
    };
    let metadata = fs_err::metadata(&path)?;
    let owner = Ids { uid: metadata.uid(), gid: metadata.gid() };
    let process = process_ids();

    let wal_mode = read_wal_flag(&path, process, owner, metadata.mode())?;
    if !wal_mode {
        return Ok(Vec::new());
    }

    let wal = side_file(&path, "-wal");
    let shm = side_file(&path, "-shm");
    let mut warnings = side_file_warnings(&path, owner, &[&wal, &shm])?;

    let Some(wal_metadata) = metadata_if_exists(&wal)? else {
        check_stopped_backend(&path, process, owner)?;
        return Ok(warnings);
    };

    // The backend is running: the open only reads, but the -wal file must be readable.
    if let Err(error) = fs_err::File::open(&wal) {
        if error.kind() == io::ErrorKind::PermissionDenied {
            let wal_owner = Ids { uid: wal_metadata.uid(), gid: wal_metadata.gid() };
            let mode = wal_metadata.mode() & 0o7777;
            return Err(DatabaseAccessError::Unreadable {
                path: wal,
                process,
                owner: wal_owner,
                mode,
            });
        }
        return Err(error.into());
    }
    if process.uid != owner.uid {
        warnings.push(format!(
            "running as {process}, but the database {} is owned by {owner}: reading works \
             while the backend runs, but fails or locks the backend out once it is stopped; \
             run InvGuard Cron as {owner} (Compose `user: \"{owner}\"`)",
            path.display()
        ));
    }
    Ok(warnings)
}

fn process_ids() -> Ids {
    Ids { uid: rustix::process::getuid().as_raw(), gid: rustix::process::getgid().as_raw() }
}

/// Returns whether the database header says WAL mode, or an error naming the fix when this
/// process cannot read the file.
fn read_wal_flag(
    path: &Path,
    process: Ids,
    owner: Ids,
    mode: u32,
) -> Result<bool, DatabaseAccessError> {
    let mut file = match fs_err::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            let path = path.to_owned();
            return Err(DatabaseAccessError::Unreadable {
                path,
                process,
                owner,
                mode: mode & 0o7777,
            });
        }
        Err(error) => return Err(error.into()),
    };

    let mut header = Vec::with_capacity(HEADER_WRITE_VERSION + 1);
    file.by_ref().take(HEADER_WRITE_VERSION as u64 + 1).read_to_end(&mut header)?;
    Ok(header.get(HEADER_WRITE_VERSION) == Some(&2))
}

/// Errors when the backend is stopped and opening the database would fail or create files
/// owned by this process.
fn check_stopped_backend(path: &Path, process: Ids, owner: Ids) -> Result<(), DatabaseAccessError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let writable =
        rustix::fs::access(dir, rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK);

    if writable.is_err() {
        let (path, dir) = (path.to_owned(), dir.to_owned());
        return Err(DatabaseAccessError::ReadOnlyDirectory { path, dir, process, owner });
    }
    if process.uid != owner.uid {
        let path = path.to_owned();
        return Err(DatabaseAccessError::WouldCreateForeignFiles { path, process, owner });
    }
    Ok(())
}

/// Warns about each existing `-wal` or `-shm` file whose owner differs from the database's.
fn side_file_warnings(
    path: &Path,
    owner: Ids,
    side_files: &[&Path],
) -> Result<Vec<String>, DatabaseAccessError> {
    let mut warnings = Vec::new();
    for side in side_files {
        let Some(metadata) = metadata_if_exists(side)? else { continue };
        if metadata.uid() == owner.uid {
            continue;
        }
        warnings.push(format!(
            "{} is owned by uid {}, but the database {} by {owner}: the backend may be unable \
             to write it; stop the backend, run `chown {owner} {}` and run InvGuard Cron as \
             {owner}",
            side.display(),
            metadata.uid(),
            path.display(),
            side.display(),
        ));
    }
    Ok(warnings)
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn metadata_if_exists(path: &Path) -> Result<Option<std::fs::Metadata>, DatabaseAccessError> {
    match fs_err::metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests;
