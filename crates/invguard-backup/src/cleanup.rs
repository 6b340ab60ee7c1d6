//! Cleanup: applies the retention policy to a backup directory and deletes what it no longer
//! keeps.
//!
//! Only files this product wrote for the configured database are candidates: backups named
//! `<database name>-<UTC time>[-N].db.zst[.gpg]` with their manifests, and leftovers of
//! interrupted backups (`.partial` files, manifest temporary files). Legacy backups of the
//! Python service are candidates only with `include_legacy = true`. Even then only names that
//! start with the database name followed by `_`, `-` or `.` and contain a date written
//! `YYYYMMDD` or `YYYY-MM-DD` qualify.
//! Other `*.gpg` files are reported and left alone. Everything else is left alone too: other
//! files (logged at debug), symbolic links (never followed or deleted), directories such as
//! the temporary and state directories, the lock file, and backups of other databases. A
//! manifest without its backup is reported and kept.
//!
//! A backup whose manifest cannot be read (invalid JSON, an unknown `format_version`, an I/O
//! error) is reported, never deleted, and never counts as good: the plan is made over the
//! other backups, so the newest verified one among them and `min_keep` verified ones stay.
//!
//! # Atomicity
//!
//! A backup is deleted manifest first, then the backup file; the directory is synced at the
//! end. A crash between the two leaves a backup file without manifest. The next run finds an
//! incomplete backup, which never counts as good, older than the newest verified backup
//! (retention never deletes that one), and deletes it. The opposite order would leave a
//! manifest without backup, which cleanup only reports, so the job would never finish.
//!
//! # Idempotence
//!
//! Running cleanup again right after a complete run deletes nothing: the retention plan over
//! the kept backups keeps all of them.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read as _};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use invguard_config::Config;

use crate::files::fsync_dir;
use crate::lock::LOCK_FILE_NAME;
use crate::manifest::{Manifest, VerificationResult};
use crate::names::{BackupName, MANIFEST_EXTENSION, MANIFEST_TEMP_EXTENSION, PARTIAL_EXTENSION};
use crate::retention::{Candidate, RetentionPlan, RetentionPolicy, VerifyState};
use crate::{BackupError, DirLock, Writer};

/// Extension of the backups of the Python service.
const LEGACY_EXTENSION: &str = ".gpg";

/// The plan of a cleanup run in one backup directory.
#[derive(Debug, Clone)]
pub struct CleanupPlan {
    /// The backup directory.
    pub dir: PathBuf,
    /// The policy the plan was made with.
    pub policy: RetentionPolicy,
    /// Keep or delete for every backup, newest first.
    pub retention: RetentionPlan,
    /// Leftovers of interrupted backups, deleted by cleanup.
    pub leftovers: Vec<String>,
    leftover_bytes: HashMap<String, u64>,
    /// Manifests whose backup file is missing; reported, never deleted.
    pub orphan_manifests: Vec<String>,
    /// Backups whose manifest cannot be read; reported, never deleted, never counted as good.
    pub unreadable: Vec<UnreadableBackup>,
    /// `*.gpg` files not named like a backup of the Python service for this database;
    /// reported, never deleted.
    pub other_gpg_files: Vec<String>,
    files: HashMap<String, BackupFiles>,
}

/// A backup whose manifest cannot be read, which cleanup leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableBackup {
    /// The backup file name.
    pub name: String,
    /// Its manifest file name.
    pub manifest: String,
    /// The reason the manifest cannot be read, in words.
    pub reason: String,
}

/// The files of one backup and their sizes.
#[derive(Debug, Clone)]
struct BackupFiles {
    bytes: u64,
    manifest: Option<(String, u64)>,
}

/// The outcome of a cleanup run.
#[derive(Debug, Clone)]
pub struct CleanupReport {
    /// The plan that was carried out.
    pub plan: CleanupPlan,
    /// Backups deleted, newest first (empty for a dry run).
    pub deleted: Vec<String>,
    /// Leftovers of interrupted backups that were removed (empty for a dry run).
    pub leftovers_removed: Vec<String>,
    /// Bytes freed: backup files, their manifests and leftovers. For a dry run, the bytes a
    /// real run would free.
    pub freed_bytes: u64,
    /// Whether this was a dry run that deleted nothing.
    pub dry_run: bool,
    /// The writer that held the directory lock during a dry run, which then read the directory
    /// without the lock. The plan may change once the writer finishes.
    pub beside_writer: Option<Writer>,
}

impl CleanupPlan {
    /// Bytes of a backup file and its manifest; 0 for an unknown name.
    pub fn bytes_of(&self, backup: &str) -> u64 {
        self.files
            .get(backup)
            .map_or(0, |files| files.bytes + files.manifest.as_ref().map_or(0, |(_, bytes)| *bytes))
    }

    /// Bytes that carrying out the plan frees.
    pub fn bytes_to_free(&self) -> u64 {
        let backups: u64 =
            self.retention.deleted().map(|decision| self.bytes_of(&decision.candidate.name)).sum();
        backups + self.leftover_bytes.values().sum::<u64>()
    }
}

/// Runs cleanup for `config`: plans, and unless `dry_run` deletes.
///
/// Takes the lock of the backup directory exclusively (operation `cleanup`) to delete. A dry
/// run only reads: it takes the lock shared, or, while a writer holds it, reads without it and
/// names the writer in [`CleanupReport::beside_writer`]. Its plan then leaves out the
/// leftovers, which may be the writer's files in progress.
///
/// # Errors
///
/// [`BackupError::Locked`] when another run holds the lock (not for a dry run),
/// [`BackupError::RetentionKeepsNothing`] for an invalid policy, or an I/O error. A deletion
/// that fails stops the run; what was deleted before stays deleted and the directory stays
/// consistent.
pub fn cleanup(config: &Config, dry_run: bool) -> Result<CleanupReport, BackupError> {
    let dir = &config.backup.dir;
    if dry_run {
        let access = DirLock::shared_or_writer(dir, "cleanup")?;
        let mut plan = plan_cleanup(config)?;
        let beside_writer = access.writer().cloned();
        if beside_writer.is_some() {
            plan.leftovers.clear();
            plan.leftover_bytes.clear();
        }
        let freed_bytes = plan.bytes_to_free();
        return Ok(CleanupReport {
            plan,
            deleted: Vec::new(),
            leftovers_removed: Vec::new(),
            freed_bytes,
            dry_run,
            beside_writer,
        });
    }

    let lock = DirLock::exclusive(dir, "cleanup")?;
    apply_retention(config, &lock)
}

/// Plans and carries out cleanup while the caller holds the exclusive lock `_lock` of
/// `config.backup.dir`, for example right after a verified backup in the same run. The lock
/// is taken as proof only; it must be the exclusive lock of that directory.
///
/// # Errors
///
/// As [`cleanup`], without the lock error.
pub fn apply_retention(config: &Config, _lock: &DirLock) -> Result<CleanupReport, BackupError> {
    let plan = plan_cleanup(config)?;
    let mut freed_bytes = 0;
    let mut deleted = Vec::new();
    let mut leftovers_removed = Vec::new();

    for name in &plan.leftovers {
        let bytes = plan.leftover_bytes.get(name).copied().unwrap_or_default();
        if remove(&plan.dir.join(name))? {
            freed_bytes += bytes;
            leftovers_removed.push(name.clone());
        }
    }
    for decision in plan.retention.deleted() {
        let name = &decision.candidate.name;
        freed_bytes += delete_backup(&plan, name)?;
        deleted.push(name.clone());
    }
    if !leftovers_removed.is_empty() || !deleted.is_empty() {
        fsync_dir(&plan.dir)?;
    }

    tracing::debug!(
        dir = %plan.dir.display(),
        deleted = deleted.len(),
        leftovers = leftovers_removed.len(),
        freed_bytes,
        "cleanup finished"
    );
    Ok(CleanupReport {
        plan,
        deleted,
        leftovers_removed,
        freed_bytes,
        dry_run: false,
        beside_writer: None,
    })
}

/// Scans the backup directory of `config` and plans cleanup without deleting anything.
///
/// The caller holds the directory lock; [`cleanup`] does that.
///
/// # Errors
///
/// [`BackupError::RetentionKeepsNothing`] for an invalid policy, or an I/O error reading the
/// directory. A manifest that cannot be read is no error: its backup is in
/// [`CleanupPlan::unreadable`].
pub fn plan_cleanup(config: &Config) -> Result<CleanupPlan, BackupError> {
    let policy = RetentionPolicy::from_config(&config.retention, config.timezone)?;
    let dir = config.backup.dir.clone();
    let scan = scan_dir(&dir, &config.database.name)?;

    let retention = policy.plan(&scan.candidates);
    Ok(CleanupPlan {
        dir,
        policy,
        retention,
        leftovers: scan.leftovers,
        leftover_bytes: scan.leftover_bytes,
        orphan_manifests: scan.orphan_manifests,
        unreadable: scan.unreadable,
        other_gpg_files: scan.other_gpg_files,
        files: scan.files,
    })
}

/// Deletes the manifest, then the backup file (see the module's `# Atomicity`).
fn delete_backup(plan: &CleanupPlan, name: &str) -> Result<u64, BackupError> {
    let Some(files) = plan.files.get(name) else {
        return Ok(0);
    };
    let mut freed = 0;
    if let Some((manifest, bytes)) = &files.manifest
        && remove(&plan.dir.join(manifest))?
    {
        freed += bytes;
    }
    if remove(&plan.dir.join(name))? {
        freed += files.bytes;
    }

    tracing::debug!(backup = name, "deleted backup");
    Ok(freed)
}

/// Removes a regular file; returns false when it was already gone.
fn remove(path: &Path) -> Result<bool, BackupError> {
    match fs_err::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(BackupError::io_at(path, error)),
    }
}

/// The backup directory, sorted into what cleanup decides about and what it reports.
#[derive(Debug, Default)]
struct Scan {
    candidates: Vec<Candidate>,
    leftovers: Vec<String>,
    leftover_bytes: HashMap<String, u64>,
    orphan_manifests: Vec<String>,
    unreadable: Vec<UnreadableBackup>,
    other_gpg_files: Vec<String>,
    files: HashMap<String, BackupFiles>,
}

/// A regular file in the backup directory, with what the scan needs of its metadata.
struct Entry {
    name: String,
    bytes: u64,
    modified: DateTime<Utc>,
}

fn scan_dir(dir: &Path, database: &str) -> Result<Scan, BackupError> {
    let entries = regular_files(dir)?;
    let sizes: HashMap<&str, u64> =
        entries.iter().map(|entry| (entry.name.as_str(), entry.bytes)).collect();
    let backups: Vec<Option<BackupName>> = entries
        .iter()
        .map(|entry| BackupName::parse(&entry.name).filter(|backup| backup.database == database))
        .collect();
    let stems_with_backup: HashSet<String> =
        backups.iter().flatten().map(BackupName::stem).collect();
    let mut scan = Scan::default();
    let mut buffer = String::new();

    for (entry, backup) in entries.iter().zip(&backups) {
        let name = entry.name.as_str();
        if let Some(backup) = backup {
            scan_backup(dir, entry, backup, &sizes, &mut buffer, &mut scan)?;
        } else if BackupName::parse(name).is_some() {
            tracing::debug!(file = name, "backup of another database, left alone");
        } else if is_leftover(name, database) {
            scan.leftovers.push(entry.name.clone());
            scan.leftover_bytes.insert(entry.name.clone(), entry.bytes);
        } else if let Some(stem) = manifest_stem(name, database) {
            if !stems_with_backup.contains(stem) {
                scan.orphan_manifests.push(entry.name.clone());
            }
        } else if is_legacy(name, database) {
            scan.candidates.push(Candidate {
                name: entry.name.clone(),
                created_utc: entry.modified,
                verification: VerifyState::Unverified,
                legacy: true,
            });
            scan.files
                .insert(entry.name.clone(), BackupFiles { bytes: entry.bytes, manifest: None });
        } else if is_visible_gpg(name) {
            tracing::debug!(
                file = name,
                "not named like a backup of the Python service, left alone"
            );
            scan.other_gpg_files.push(entry.name.clone());
        } else {
            tracing::debug!(file = name, "not a backup of this database, left alone");
        }
    }

    scan.orphan_manifests.sort();
    scan.leftovers.sort();
    scan.unreadable.sort_by(|a, b| a.name.cmp(&b.name));
    scan.other_gpg_files.sort();
    Ok(scan)
}

/// Adds one backup of the configured database to the scan, with its manifest if present. A
/// backup whose manifest cannot be read is recorded as unreadable, not as a candidate.
fn scan_backup(
    dir: &Path,
    entry: &Entry,
    backup: &BackupName,
    sizes: &HashMap<&str, u64>,
    buffer: &mut String,
    scan: &mut Scan,
) -> Result<(), BackupError> {
    let manifest_name = backup.manifest_name();
    let manifest_bytes = sizes.get(manifest_name.as_str()).copied();
    let mut created_utc = backup.created_utc;
    let mut verification = VerifyState::Unverified;

    if manifest_bytes.is_some() {
        let manifest = match read_manifest(&dir.join(&manifest_name), buffer) {
            Ok(manifest) => manifest,
            Err(error) => {
                tracing::debug!(manifest = manifest_name, %error, "manifest cannot be read");
                let reason = crate::list::manifest_problem(&error);
                let name = entry.name.clone();
                scan.unreadable.push(UnreadableBackup { name, manifest: manifest_name, reason });
                return Ok(());
            }
        };
        created_utc = manifest.created_utc;
        verification = match manifest.verification.result {
            VerificationResult::Passed => VerifyState::Passed,
            VerificationResult::Failed => VerifyState::Failed,
        };
    }

    let manifest = manifest_bytes.map(|bytes| (manifest_name, bytes));
    scan.files.insert(entry.name.clone(), BackupFiles { bytes: entry.bytes, manifest });
    scan.candidates.push(Candidate {
        name: entry.name.clone(),
        created_utc,
        verification,
        legacy: false,
    });
    Ok(())
}

/// Regular files directly in `dir`. Symbolic links, directories and the lock file are skipped.
fn regular_files(dir: &Path) -> Result<Vec<Entry>, BackupError> {
    let mut entries = Vec::new();

    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            tracing::debug!(file = ?entry.file_name(), "file name is not UTF-8, left alone");
            continue;
        };
        // `DirEntry::metadata` does not follow symbolic links.
        let metadata =
            entry.metadata().map_err(|error| BackupError::io_at(&entry.path(), error))?;
        if metadata.file_type().is_symlink() {
            tracing::debug!(file = name, "symbolic link, left alone");
            continue;
        }
        if !metadata.is_file() || name == LOCK_FILE_NAME {
            continue;
        }
        let modified = DateTime::from_timestamp(metadata.mtime(), 0).unwrap_or_default();
        entries.push(Entry { name, bytes: metadata.len(), modified });
    }
    Ok(entries)
}

/// Reads the manifest at `path` through `buffer`, which is reused across manifests.
///
/// Reading through `take` skips the size query that `read_to_string` on a file makes, which
/// matters for directories with thousands of backups.
fn read_manifest(path: &Path, buffer: &mut String) -> Result<Manifest, BackupError> {
    buffer.clear();
    buffer.reserve(8192);
    let file = fs_err::File::open(path)?;
    file.take(u64::MAX).read_to_string(buffer).map_err(|error| BackupError::io_at(path, error))?;
    Manifest::from_json(path, buffer)
}

/// Returns the stem of a manifest of the configured database, e.g.
/// `inventory-20261204T020000Z`.
fn manifest_stem<'a>(name: &'a str, database: &str) -> Option<&'a str> {
    let backup = BackupName::parse_manifest(name)?;
    (backup.database == database).then(|| name.strip_suffix(MANIFEST_EXTENSION)).flatten()
}

/// Returns whether `name` is a visible `*.gpg` file not named like this product's backups.
fn is_visible_gpg(name: &str) -> bool {
    name.ends_with(LEGACY_EXTENSION) && !name.starts_with('.') && BackupName::parse(name).is_none()
}

/// Returns whether `name` counts as a backup the Python service wrote for `database`, and so
/// may be deleted with `include_legacy = true`.
///
/// The Python service's exact naming is not recorded, so the rule is narrow. The file is a
/// visible `*.gpg` file not named like this product's backups, and its name starts with the
/// database name followed by `_`, `-` or `.`. The name also contains a valid date written
/// `YYYYMMDD` (a run of exactly 8 digits, or the first 8 of a 14-digit `YYYYMMDDHHMMSS` run)
/// or `YYYY-MM-DD`.
/// `inventory_backup_20250101_020000.db.gpg` qualifies; `inventory-notes.gpg` and
/// `keys-20250101.gpg` do not.
fn is_legacy(name: &str, database: &str) -> bool {
    let Some(rest) = name.strip_prefix(database) else {
        return false;
    };
    is_visible_gpg(name) && rest.starts_with(['_', '-', '.']) && contains_date(rest)
}

/// Returns whether `text` contains a valid calendar date as `YYYYMMDD` or `YYYY-MM-DD`.
fn contains_date(text: &str) -> bool {
    let compact = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|digits| digits.len() == 8 || digits.len() == 14)
        .any(|digits| NaiveDate::parse_from_str(&digits[..8], "%Y%m%d").is_ok());
    let dashed = text.char_indices().any(|(start, _)| {
        text.get(start..start + 10).is_some_and(|window| {
            window.bytes().enumerate().all(|(i, byte)| match i {
                4 | 7 => byte == b'-',
                _ => byte.is_ascii_digit(),
            }) && NaiveDate::parse_from_str(window, "%Y-%m-%d").is_ok()
        })
    });
    compact || dashed
}

/// Returns whether `name` is a `.partial` backup file or a manifest temporary file of the
/// configured database.
fn is_leftover(name: &str, database: &str) -> bool {
    let partial = name
        .strip_suffix(PARTIAL_EXTENSION)
        .and_then(BackupName::parse)
        .is_some_and(|backup| backup.database == database);
    let manifest_temp = name
        .strip_suffix(MANIFEST_TEMP_EXTENSION)
        .and_then(BackupName::parse_manifest)
        .is_some_and(|backup| backup.database == database);
    partial || manifest_temp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_legacy_needs_database_prefix_and_date() {
        for legacy in [
            "inventory_backup_20250101.db.gpg",
            "inventory_backup_20250101_020000.db.gpg",
            "inventory_20250101020000.db.gpg",
            "inventory-2025-01-01.gpg",
            "inventory.2025-01-01T02-00.db.gpg",
        ] {
            assert!(is_legacy(legacy, "inventory"), "{legacy}");
        }
        for other in [
            "inventory-20261204T020000Z.db.zst.gpg",
            ".inventory_backup_20250101.db.gpg",
            "inventory_backup_20250101.txt",
            "inventory-notes.gpg",
            "inventory_backup_20251399.db.gpg",
            "inventory_backup_2025010.db.gpg",
            "inventoryx_20250101.db.gpg",
            "keys-20250101.gpg",
            "secrets.gpg",
        ] {
            assert!(!is_legacy(other, "inventory"), "{other}");
        }
    }

    #[test]
    fn is_leftover_matches_partial_and_manifest_temp_of_database() {
        assert!(is_leftover("inventory-20261204T020000Z.db.zst.gpg.partial", "inventory"));
        assert!(is_leftover("inventory-20261204T020000Z-2.manifest.json.tmp", "inventory"));
        assert!(!is_leftover("other-20261204T020000Z.db.zst.gpg.partial", "inventory"));
        assert!(!is_leftover("inventory-20261204T020000Z.db.zst.gpg", "inventory"));
    }

    #[test]
    fn manifest_stem_only_for_configured_database() {
        let name = "inventory-20261204T020000Z-2.manifest.json";

        assert_eq!(manifest_stem(name, "inventory"), Some("inventory-20261204T020000Z-2"));
        assert_eq!(manifest_stem(name, "other"), None);
        assert_eq!(manifest_stem("inventory.manifest.json", "inventory"), None);
    }
}
