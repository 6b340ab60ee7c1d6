//! File system helpers: private files and directories, fsync, free space, file system type.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use fs_err::os::unix::fs::OpenOptionsExt;

use crate::BackupError;

/// Mode of every file the product writes.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Mode of every directory the product creates.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with mode 0700. An existing directory is left as it is.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir).map_err(|source| {
        let message = format!("failed to create directory {}: {source}", dir.display());
        BackupError::io_at(dir, io::Error::new(source.kind(), message))
    })
}

/// Creates `dir` with mode 0700, or sets an existing one to 0700, for directories only this
/// product uses (the temporary directory).
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), BackupError> {
    create_private_dir(dir)?;
    let permissions = std::fs::Permissions::from_mode(DIR_MODE);
    fs_err::set_permissions(dir, permissions).map_err(|source| BackupError::io_at(dir, source))
}

/// Creates a new file with mode 0600 for writing; fails if `path` exists.
pub(crate) fn create_new_private(path: &Path) -> Result<fs_err::File, BackupError> {
    fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|source| BackupError::io_at(path, source))
}

/// Flushes the directory entry changes in `dir` (creations, renames) to disk.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), BackupError> {
    let handle = fs_err::File::open(dir)?;
    handle.sync_all().map_err(|source| BackupError::io_at(dir, source))
}

/// Writes `contents` to `path` atomically: a temporary name beside it, fsync, rename, fsync of
/// the directory. Readers see the old file or the whole new one, never a part.
///
/// The caller holds the exclusive directory lock, so a file already at `temp` is a leftover of
/// a killed run and is replaced.
pub(crate) fn write_atomically(
    path: &Path,
    temp: &Path,
    contents: &[u8],
) -> Result<(), BackupError> {
    use std::io::Write as _;

    remove_if_exists(temp);
    let result = (|| {
        let mut file = create_new_private(temp)?;
        file.write_all(contents).map_err(|source| BackupError::io_at(temp, source))?;
        file.sync_all().map_err(|source| BackupError::io_at(temp, source))?;
        fs_err::rename(temp, path).map_err(|source| BackupError::io_at(path, source))
    })();
    if result.is_err() {
        remove_if_exists(temp);
    }
    result?;

    fsync_dir(parent_of(path))
}

/// Removes `path`, ignoring a file that is already gone. Errors are logged, not returned,
/// because this runs on cleanup paths where the first error is the one to report.
pub(crate) fn remove_if_exists(path: &Path) {
    match fs_err::remove_file(path) {
        Ok(()) => tracing::trace!(path = %path.display(), "removed file"),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => tracing::debug!(path = %path.display(), %error, "could not remove file"),
    }
}

/// Returns the directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Bytes available to an unprivileged user on the file system holding `path`.
pub(crate) fn available_bytes(path: &Path) -> Result<u64, BackupError> {
    let stat = rustix::fs::statvfs(path).map_err(|errno| {
        let source = io::Error::from(errno);
        let message = format!("failed to read free space of {}: {source}", path.display());
        BackupError::Io(io::Error::new(source.kind(), message))
    })?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Names the network file system holding `path`, if it is one (NFS, CIFS, SMB).
///
/// File locks and fsync are unreliable on network file systems, so callers warn about them.
pub(crate) fn network_filesystem(path: &Path) -> Option<&'static str> {
    const NFS_SUPER_MAGIC: u64 = 0x6969;
    const SMB_SUPER_MAGIC: u64 = 0x517B;
    const CIFS_SUPER_MAGIC: u64 = 0xFF53_4D42;
    const SMB2_SUPER_MAGIC: u64 = 0xFE53_4D42;

    let stat = rustix::fs::statfs(path).ok()?;
    #[allow(clippy::unnecessary_cast, reason = "f_type is i64 or u32 depending on the target")]
    let magic = stat.f_type as u64 & 0xFFFF_FFFF;
    match magic {
        NFS_SUPER_MAGIC => Some("NFS"),
        SMB_SUPER_MAGIC => Some("SMB"),
        CIFS_SUPER_MAGIC => Some("CIFS"),
        SMB2_SUPER_MAGIC => Some("SMB2"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_private_dir_sets_mode_0700() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("a/b");
        create_private_dir(&dir).unwrap();
        let mode = fs_err::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn write_atomically_replaces_whole_file() {
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("m.json");
        let temp_path = temp.path().join("m.json.tmp");
        write_atomically(&path, &temp_path, b"one").unwrap();
        write_atomically(&path, &temp_path, b"two").unwrap();
        assert_eq!(fs_err::read(&path).unwrap(), b"two");
        assert!(!temp_path.exists());
        let mode = fs_err::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn network_filesystem_is_none_for_temp_dir() {
        let temp = tempfile::tempdir().unwrap();
        assert_eq!(network_filesystem(temp.path()), None);
    }
}
