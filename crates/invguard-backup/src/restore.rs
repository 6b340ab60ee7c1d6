//! Restore: decrypts and checks a backup, then writes it to a new file or replaces an existing
//! database in place.
//!
//! The whole backup is decoded into a temporary file in the target's directory and checked
//! there: ciphertext hash, authenticated decryption, plaintext hash, `PRAGMA quick_check`
//! (`integrity_check` when requested, and always for backups without manifest), and the row
//! count of every table against the manifest. The file is synced and only then renamed into
//! place. A failure at any step deletes the temporary file and leaves the target untouched.
//!
//! A target that exists is always replaced the same way: the in-use checks, a safety
//! copy `NAME.pre-restore-<UTC time>`, the `-wal` and `-shm` files moved aside, and an atomic
//! rename that keeps the replaced file's mode and owner. The live database (same device and
//! inode as `[database] path`) is replaced only with [`TargetMode::InPlace`].
//!
//! A restore holds the backup directory lock exclusively (operation `restore`), so cleanup
//! never deletes the backup being read. A dry run writes nothing: it takes the lock shared,
//! or, while a writer such as a backup holds it, reads without the lock and names the writer
//! in [`RestoreReport::beside_writer`]. It also runs the read-only in-use checks on an
//! existing target and reports what they find in [`RestoreReport::in_use`].

mod check;
mod in_use;
mod replace;
mod select;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use invguard_config::Config;
use invguard_crypto::DecryptionKeys;

use crate::files::{fsync_dir, parent_of};
use crate::pipeline::{DecodedBackup, decode_backup};
use crate::{BackupError, CancelToken, Digest, DirLock, Progress, ReadAccess, Writer};

pub use in_use::InUse;
pub use replace::MovedAside;
pub use select::{SkippedBackup, parse_time};

/// The backup a restore uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A backup file: a name in the backup directory, or a path.
    Named(PathBuf),
    /// The newest backup that passes verification.
    Latest,
    /// The newest backup created before this time that passes verification.
    Before(DateTime<Utc>),
}

/// The changes a restore may make to an existing target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetMode {
    /// The target must not exist.
    New,
    /// An existing target that is not the live database is replaced.
    Force,
    /// The target is the live database (`[database] path`) and is replaced.
    InPlace,
}

/// A restore request.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup to restore.
    pub selection: Selection,
    /// Path of the restored database.
    pub target: PathBuf,
    /// Whether an existing target may be replaced.
    pub mode: TargetMode,
    /// Check everything and report the plan, but write nothing at the target.
    pub dry_run: bool,
    /// Run `PRAGMA integrity_check` instead of `quick_check`.
    pub full: bool,
}

/// The change at the target, planned (dry run) or done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAction {
    /// A new file is created.
    Create,
    /// An existing file is replaced.
    Replace {
        /// Whether it is the live database.
        live: bool,
        /// Safety copy and moved `-wal`/`-shm` files; `None` in a dry run.
        moved_aside: Option<MovedAside>,
    },
}

/// The restored backup and what the restore did, or would do in a dry run.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The backup file restored.
    pub backup: PathBuf,
    /// Its creation time (legacy backups: the file's mtime).
    pub created_utc: DateTime<Utc>,
    /// Whether it is a legacy backup of the Python service.
    pub legacy: bool,
    /// Whether it has a manifest; without one there are no hashes or row counts to compare.
    pub has_manifest: bool,
    /// Newer backups passed over by `--latest` or `--before`, newest first.
    pub skipped: Vec<SkippedBackup>,
    /// Row count of every table of the restored database.
    pub tables: BTreeMap<String, u64>,
    /// Size and SHA-256 of the restored database file.
    pub plaintext: Digest,
    /// `quick_check` or `integrity_check`.
    pub check: &'static str,
    /// The target, with symbolic links resolved when it existed.
    pub target: PathBuf,
    /// The change at the target.
    pub action: TargetAction,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Dry run of an existing target: the process that the read-only in-use checks found using
    /// it, which would make the real restore fail with [`BackupError::DatabaseInUse`]. `None`
    /// when they found none, or when the target is new.
    pub in_use: Option<InUse>,
    /// Dry run: the writer that held the backup directory lock, beside which the dry run read
    /// the backups without the lock.
    pub beside_writer: Option<Writer>,
}

/// Restores the backup that `options` selects.
///
/// `keys` decrypts the backup; `decryption_keys` builds them from the configuration.
///
/// # Errors
///
/// - [`BackupError::Locked`] when another run holds the backup directory lock;
/// - [`BackupError::RestoreTargetExists`], [`BackupError::RestoreTargetIsLive`],
///   [`BackupError::NotLiveDatabase`] when the target does not fit `options.mode`, and
///   [`BackupError::RestoreDirMissing`] when its directory does not exist;
/// - [`BackupError::NoGoodBackup`] when `--latest` or `--before` finds no backup that passes;
/// - the backup's own errors (corrupt, wrong passphrase, hash or row count mismatch, failed
///   SQLite check) for a named backup;
/// - [`BackupError::DatabaseInUse`] when another process uses the database to replace (a
///   dry run reports it in [`RestoreReport::in_use`] instead).
pub fn restore(
    config: &Config,
    keys: &DecryptionKeys,
    options: &RestoreOptions,
    cancel: &CancelToken,
    progress: Option<&dyn Progress>,
) -> Result<RestoreReport, BackupError> {
    let access = lock_backup_dir(&config.backup.dir, options.dry_run)?;

    let target = resolve_target(config, options)?;
    // The read-only checks run before the decoding, which can take minutes, so a restore that
    // would be refused fails at once. A real restore checks again when it replaces the file.
    let in_use = if target.exists { in_use::find_other_user(&target.path) } else { None };
    if let Some(check) = &in_use
        && !options.dry_run
    {
        return Err(BackupError::DatabaseInUse { path: target.path.clone(), check: check.clone() });
    }

    let run = Run { config, keys, options, cancel, progress, target: &target };
    let (mut report, decoded) = run.decode_selected()?;

    if options.dry_run {
        report.in_use = in_use;
        report.beside_writer = access.writer().cloned();
        return Ok(report);
    }
    report.action = run.write(decoded.file)?;
    Ok(report)
}

/// Takes the backup directory lock: exclusive for a restore; for a dry run shared, or none
/// beside a writer.
///
/// A restore only reads the backup directory, so where the exclusive lock cannot be taken for
/// a reason other than another run (a read-only mount, for example), the shared lock is
/// enough: it still keeps cleanup from deleting the backup being read.
fn lock_backup_dir(dir: &Path, dry_run: bool) -> Result<ReadAccess, BackupError> {
    if dry_run {
        return DirLock::shared_or_writer(dir, "restore");
    }
    match DirLock::exclusive(dir, "restore") {
        Ok(lock) => Ok(ReadAccess::Shared(lock)),
        Err(error @ BackupError::Locked { .. }) => Err(error),
        Err(error) => {
            tracing::debug!(%error, "exclusive lock unavailable, taking the shared lock");
            DirLock::shared(dir, "restore").map(ReadAccess::Shared).map_err(|_| error)
        }
    }
}

/// The target path and whether it exists and is the live database.
#[derive(Debug)]
struct Target {
    path: PathBuf,
    exists: bool,
    live: bool,
}

/// Resolves the target and checks it against the mode: a new file must not exist, the live
/// database needs [`TargetMode::InPlace`], and [`TargetMode::InPlace`] needs the live database.
fn resolve_target(config: &Config, options: &RestoreOptions) -> Result<Target, BackupError> {
    let requested = &options.target;
    let exists = fs_err::symlink_metadata(requested).is_ok();
    let path = if exists { fs_err::canonicalize(requested)? } else { requested.clone() };

    let dir = parent_of(&path).to_owned();
    let missing = |error: std::io::Error| {
        matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
    };
    if !exists && fs_err::metadata(&dir).is_err_and(missing) {
        return Err(BackupError::RestoreDirMissing { path, dir });
    }

    if exists && !fs_err::metadata(&path)?.is_file() {
        return Err(BackupError::RestoreTargetNotFile { path });
    }
    let live = is_live_database(&path, &config.database.path);

    match (options.mode, exists, live) {
        (TargetMode::New, true, _) => Err(BackupError::RestoreTargetExists { path }),
        (TargetMode::Force, true, true) => Err(BackupError::RestoreTargetIsLive { path }),
        (TargetMode::InPlace, _, false) => {
            Err(BackupError::NotLiveDatabase { path, database: config.database.path.clone() })
        }
        _ => Ok(Target { path, exists, live }),
    }
}

/// Whether `path` is the live database: the same device and inode when both exist (so a
/// symbolic link to it counts), otherwise the same canonical directory and file name.
fn is_live_database(path: &Path, database: &Path) -> bool {
    if let (Ok(target), Ok(live)) = (fs_err::metadata(path), fs_err::metadata(database)) {
        return target.dev() == live.dev() && target.ino() == live.ino();
    }
    let canonical = |path: &Path| {
        let dir = fs_err::canonicalize(parent_of(path)).ok()?;
        Some(dir.join(path.file_name()?))
    };
    canonical(path).is_some_and(|path| Some(path) == canonical(database))
}

/// One restore in progress.
struct Run<'a> {
    config: &'a Config,
    keys: &'a DecryptionKeys,
    options: &'a RestoreOptions,
    cancel: &'a CancelToken,
    progress: Option<&'a dyn Progress>,
    target: &'a Target,
}

impl Run<'_> {
    /// Selects the backup, decodes it beside the target and checks it.
    fn decode_selected(&self) -> Result<(RestoreReport, DecodedBackup), BackupError> {
        let dir = &self.config.backup.dir;
        let before = match &self.options.selection {
            Selection::Named(requested) => {
                let source = select::named(dir, requested)?;
                return self.decode_and_check(&source, Vec::new());
            }
            Selection::Latest => None,
            Selection::Before(time) => Some(*time),
        };

        let database = &self.config.database.name;
        let candidates = select::candidates(dir, database, before)?;
        if candidates.usable.is_empty() && candidates.unusable.is_empty() {
            return Err(BackupError::NoBackups { dir: dir.clone(), database: database.clone() });
        }
        let mut skipped: Vec<(DateTime<Utc>, SkippedBackup)> = candidates
            .unusable
            .into_iter()
            .map(|(source, reason)| {
                (source.created_utc, SkippedBackup { name: source.name, reason })
            })
            .collect();

        for source in &candidates.usable {
            let newer_skipped = skipped_newer_than(&skipped, source.created_utc);
            match self.decode_and_check(source, newer_skipped) {
                Ok(result) => return Ok(result),
                Err(error) if is_backup_fault(&error) => {
                    tracing::debug!(backup = %source.name, %error, "backup failed, trying an older one");
                    let reason = error.to_string();
                    skipped.push((
                        source.created_utc,
                        SkippedBackup { name: source.name.clone(), reason },
                    ));
                }
                Err(error) => return Err(error),
            }
        }

        skipped.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        Err(BackupError::NoGoodBackup {
            dir: dir.clone(),
            before,
            skipped: skipped.into_iter().map(|(_, skipped)| skipped).collect(),
        })
    }

    /// Decodes `source` into a temporary file beside the target and runs every check.
    fn decode_and_check(
        &self,
        source: &select::Source,
        skipped: Vec<SkippedBackup>,
    ) -> Result<(RestoreReport, DecodedBackup), BackupError> {
        let keys = source.format.is_encrypted().then_some(self.keys);
        let dest_dir = parent_of(&self.target.path);
        let decoded =
            decode_backup(&source.path, source.format, keys, dest_dir, self.cancel, self.progress)?;

        let manifest = source.manifest.as_ref();
        if let Some(manifest) = manifest {
            compare_digest(&source.path, "ciphertext", &manifest.ciphertext, &decoded.ciphertext)?;
            compare_digest(&source.path, "plaintext", &manifest.plaintext, &decoded.plaintext)?;
        }
        // Without a manifest, integrity_check is the only check of the contents.
        let full = self.options.full || manifest.is_none();
        // The fsync writes the file back while the checks read it from the page cache.
        let (tables, synced) = std::thread::scope(|scope| {
            let sync = scope.spawn(|| decoded.file.as_file().sync_all());
            let tables =
                check::check_database(decoded.file.path(), full, manifest.map(|m| &m.tables));
            (tables, sync.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let tables = tables?;
        synced.map_err(|e| BackupError::io_at(decoded.file.path(), e))?;

        let report = RestoreReport {
            backup: source.path.clone(),
            created_utc: source.created_utc,
            legacy: source.is_legacy(),
            has_manifest: manifest.is_some(),
            skipped,
            tables,
            plaintext: decoded.plaintext.clone(),
            check: if full { "integrity_check" } else { "quick_check" },
            target: self.target.path.clone(),
            action: self.planned_action(),
            dry_run: self.options.dry_run,
            in_use: None,
            beside_writer: None,
        };
        Ok((report, decoded))
    }

    fn planned_action(&self) -> TargetAction {
        if self.target.exists {
            TargetAction::Replace { live: self.target.live, moved_aside: None }
        } else {
            TargetAction::Create
        }
    }

    /// Moves the checked file to the target: a rename that never overwrites for a new file,
    /// the in-place replacement for an existing one.
    fn write(&self, restored: tempfile::NamedTempFile) -> Result<TargetAction, BackupError> {
        let target = &self.target.path;
        if !self.target.exists {
            restored.persist_noclobber(target).map_err(|error| match error.error.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    BackupError::RestoreTargetExists { path: target.clone() }
                }
                _ => BackupError::io_at(target, error.error),
            })?;
            fsync_dir(parent_of(target))?;
            return Ok(TargetAction::Create);
        }

        let moved = replace::replace(restored, target, Utc::now())?;
        Ok(TargetAction::Replace { live: self.target.live, moved_aside: Some(moved) })
    }
}

/// The skipped backups created after `time`, newest first.
fn skipped_newer_than(
    skipped: &[(DateTime<Utc>, SkippedBackup)],
    time: DateTime<Utc>,
) -> Vec<SkippedBackup> {
    let mut newer: Vec<&(DateTime<Utc>, SkippedBackup)> =
        skipped.iter().filter(|(created, _)| *created >= time).collect();
    newer.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
    newer.into_iter().map(|(_, skipped)| skipped.clone()).collect()
}

/// Whether `error` is a fault of the backup itself, so `--latest` tries an older one.
fn is_backup_fault(error: &BackupError) -> bool {
    matches!(
        error,
        BackupError::Corrupt { .. }
            | BackupError::Mismatch { .. }
            | BackupError::IntegrityCheck { .. }
            | BackupError::WrongPassphrase { .. }
            | BackupError::WrongPassphraseOrCorrupt { .. }
            | BackupError::NotOpenPgp { .. }
            | BackupError::Crypto { .. }
            | BackupError::Sqlite { .. }
            | BackupError::UnknownManifestVersion { .. }
            | BackupError::ManifestInvalid { .. }
    )
}

fn compare_digest(
    path: &Path,
    stream: &str,
    recorded: &Digest,
    measured: &Digest,
) -> Result<(), BackupError> {
    let mismatch = |field: &str, expected: String, actual: String| BackupError::Mismatch {
        path: path.to_owned(),
        what: format!("{stream} {field}"),
        expected,
        actual,
    };
    if recorded.size != measured.size {
        return Err(mismatch("size", recorded.size.to_string(), measured.size.to_string()));
    }
    if !recorded.sha256.eq_ignore_ascii_case(&measured.sha256) {
        return Err(mismatch("sha256", recorded.sha256.clone(), measured.sha256.clone()));
    }
    Ok(())
}
