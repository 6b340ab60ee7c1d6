//! Replaces an existing database file with a restored one: safety copy, WAL aside, atomic
//! rename.
//!
//! # Atomicity
//!
//! The steps run in this order, under the exclusive SQLite lock from [`super::in_use`]:
//!
//! 1. the restored file gets the mode and owner of the file it replaces;
//! 2. the current database is hard-linked (or, where links are unsupported, copied) to
//!    `NAME.pre-restore-<UTC time>`, the safety copy;
//! 3. `NAME-wal` and `NAME-shm` are renamed to `NAME.pre-restore-<UTC time>-wal` and `-shm`,
//!    so SQLite never replays the old WAL onto the restored file, and the safety copy opens
//!    with its WAL;
//! 4. the restored file is renamed over `NAME` and the directory is synced.
//!
//! Every reader sees either the old or the restored database at `NAME`. A crash between
//! steps 3 and 4 leaves the old database at `NAME` without its WAL; its complete state is the
//! safety copy together with the moved `-wal` file.

use std::fs::Permissions;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tempfile::NamedTempFile;

use super::in_use;
use crate::BackupError;
use crate::files::{fsync_dir, parent_of};

/// The files that replacing a database moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// The previous database, unchanged: `NAME.pre-restore-<UTC time>`.
    pub safety_copy: PathBuf,
    /// The previous `-wal` and `-shm` files, renamed beside the safety copy.
    pub sidecars: Vec<PathBuf>,
}

/// Replaces `target` (an existing regular file, symlinks already resolved) with `restored`.
///
/// # Errors
///
/// [`BackupError::DatabaseInUse`] when another process uses `target`; I/O errors. On error
/// before the final rename, `target` is unchanged and `restored` is deleted.
pub(crate) fn replace(
    restored: NamedTempFile,
    target: &Path,
    now: DateTime<Utc>,
) -> Result<MovedAside, BackupError> {
    let lock = in_use::lock_unused(target)?;

    match_mode_and_owner(&restored, target)?;
    let safety_copy = free_safety_copy_name(target, now);
    keep_safety_copy(target, &safety_copy)?;
    let sidecars = move_sidecars(target, &safety_copy)?;

    restored.persist(target).map_err(|error| BackupError::io_at(target, error.error))?;
    fsync_dir(parent_of(target))?;
    lock.release();

    tracing::debug!(path = %target.display(), safety_copy = %safety_copy.display(), "replaced database");
    Ok(MovedAside { safety_copy, sidecars })
}

/// Gives `restored` the permission bits, owner and group of `target`.
fn match_mode_and_owner(restored: &NamedTempFile, target: &Path) -> Result<(), BackupError> {
    let current = fs_err::metadata(target)?;
    let file = restored.as_file();

    file.set_permissions(Permissions::from_mode(current.mode() & 0o7777))
        .map_err(|error| BackupError::io_at(restored.path(), error))?;

    let own = file.metadata().map_err(|error| BackupError::io_at(restored.path(), error))?;
    if (own.uid(), own.gid()) != (current.uid(), current.gid()) {
        std::os::unix::fs::fchown(file, Some(current.uid()), Some(current.gid())).map_err(
            |source| BackupError::KeepOwner {
                path: target.to_owned(),
                uid: current.uid(),
                gid: current.gid(),
                source,
            },
        )?;
    }
    Ok(())
}

/// `NAME.pre-restore-<UTC time>`, with `-2`, `-3`, ... when that name is taken.
fn free_safety_copy_name(target: &Path, now: DateTime<Utc>) -> PathBuf {
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let base = format!("{}.pre-restore-{stamp}", file_name(target));

    let mut candidate = target.with_file_name(&base);
    let mut sequence = 2;
    while fs_err::symlink_metadata(&candidate).is_ok() {
        candidate = target.with_file_name(format!("{base}-{sequence}"));
        sequence += 1;
    }
    candidate
}

/// Hard-links `target` to `safety_copy`, or copies it when the file system has no links.
fn keep_safety_copy(target: &Path, safety_copy: &Path) -> Result<(), BackupError> {
    match fs_err::hard_link(target, safety_copy) {
        Ok(()) => Ok(()),
        Err(error) => {
            tracing::debug!(%error, "hard link failed, copying the database instead");
            fs_err::copy(target, safety_copy)?;
            fs_err::File::open(safety_copy)?.sync_all()?;
            Ok(())
        }
    }
}

/// Renames `target-wal` and `target-shm`, if present, beside the safety copy.
fn move_sidecars(target: &Path, safety_copy: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut moved = Vec::new();
    for suffix in ["-wal", "-shm"] {
        let from = with_suffix(target, suffix);
        if fs_err::symlink_metadata(&from).is_err() {
            continue;
        }
        let to = with_suffix(safety_copy, suffix);
        fs_err::rename(&from, &to)?;
        moved.push(to);
    }
    Ok(moved)
}

/// Appends `suffix` to the file name, the way SQLite names `-wal` and `-shm` files.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_safety_copy_name_adds_sequence_when_taken() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("inventory.db");
        let now: DateTime<Utc> = "2026-12-04T02:00:00Z".parse().unwrap();
        fs_err::write(dir.path().join("inventory.db.pre-restore-20261204T020000Z"), b"").unwrap();

        let name = free_safety_copy_name(&target, now);

        assert_eq!(name, dir.path().join("inventory.db.pre-restore-20261204T020000Z-2"));
    }

    #[test]
    fn with_suffix_appends_to_file_name() {
        let path = with_suffix(Path::new("/data/inventory.db"), "-wal");

        assert_eq!(path, Path::new("/data/inventory.db-wal"));
    }
}
