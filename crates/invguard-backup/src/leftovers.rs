//! Removing what a killed run left behind: partial backups, manifest temporary files and
//! plaintext temporary files.

use std::io;
use std::path::{Path, PathBuf};

use crate::BackupError;
use crate::names::{BackupName, MANIFEST_EXTENSION, MANIFEST_TEMP_EXTENSION, PARTIAL_EXTENSION};
use crate::pipeline::DECODED_PREFIX;
use crate::snapshot::SNAPSHOT_PREFIX;

/// Removes the leftovers of killed runs of `database` and returns the removed paths.
///
/// In `dir`: `<backup name>.partial` and `<manifest name>.tmp` whose backup name belongs to
/// `database`; those of other databases sharing the directory stay. In `temp_dir`: snapshot and
/// verification copies (`invguard-snapshot-*`, `invguard-verify-*`, with any SQLite journal
/// beside them). Only names this product writes are touched; anything else stays. A missing
/// `temp_dir` is fine.
///
/// The caller must hold the exclusive lock ([`DirLock::exclusive`](crate::DirLock)), so no
/// running process owns these files.
///
/// # Errors
///
/// An I/O error reading a directory or removing a file.
pub fn clean_leftovers(
    dir: &Path,
    temp_dir: &Path,
    database: &str,
) -> Result<Vec<PathBuf>, BackupError> {
    let mut removed = Vec::new();
    for name in file_names(dir)? {
        if is_partial_backup(&name, database) || is_manifest_temp(&name, database) {
            removed.push(remove(&dir.join(name))?);
        }
    }
    for name in file_names(temp_dir)? {
        if name.starts_with(SNAPSHOT_PREFIX) || name.starts_with(DECODED_PREFIX) {
            removed.push(remove(&temp_dir.join(name))?);
        }
    }
    Ok(removed)
}

fn is_partial_backup(name: &str, database: &str) -> bool {
    name.strip_suffix(PARTIAL_EXTENSION)
        .and_then(BackupName::parse)
        .is_some_and(|backup| backup.database == database)
}

fn is_manifest_temp(name: &str, database: &str) -> bool {
    name.strip_suffix(MANIFEST_TEMP_EXTENSION)
        .and_then(|manifest| manifest.strip_suffix(MANIFEST_EXTENSION).map(|_| manifest))
        .and_then(BackupName::parse_manifest)
        .is_some_and(|backup| backup.database == database)
}

/// Names of the regular files in `dir`; none when `dir` does not exist.
fn file_names(dir: &Path) -> Result<Vec<String>, BackupError> {
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file()
            && let Ok(name) = entry.file_name().into_string()
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn remove(path: &Path) -> Result<PathBuf, BackupError> {
    fs_err::remove_file(path)?;
    tracing::debug!(path = %path.display(), "removed leftover of an earlier run");
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_leftovers_removes_only_product_names() {
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".invguard-tmp");
        fs_err::create_dir(&temp).unwrap();
        let leftovers = [
            dir.path().join("inventory-20261204T020000Z.db.zst.gpg.partial"),
            dir.path().join("inventory-20261204T020000Z-2.manifest.json.tmp"),
            temp.join("invguard-snapshot-abc.db"),
            temp.join("invguard-snapshot-abc.db-journal"),
            temp.join("invguard-verify-xyz.db"),
        ];
        let kept = [
            dir.path().join("inventory-20261204T020000Z.db.zst.gpg"),
            dir.path().join("other-20261204T000000Z.db.zst.gpg.partial"),
            dir.path().join("other-20261204T000000Z.manifest.json.tmp"),
            dir.path().join("notes.partial"),
            dir.path().join("old.db.gpg"),
            dir.path().join(".invguard.lock"),
            temp.join("user-file.db"),
        ];
        for path in leftovers.iter().chain(&kept) {
            fs_err::write(path, b"x").unwrap();
        }

        let mut removed = clean_leftovers(dir.path(), &temp, "inventory").unwrap();

        removed.sort();
        let mut expected = leftovers.to_vec();
        expected.sort();
        assert_eq!(removed, expected);
        for path in &kept {
            assert!(path.exists(), "{} was removed", path.display());
        }
    }

    #[test]
    fn clean_leftovers_accepts_missing_temp_dir() {
        let dir = tempfile::tempdir().unwrap();
        let removed = clean_leftovers(dir.path(), &dir.path().join("absent"), "inventory").unwrap();
        assert!(removed.is_empty());
    }
}
