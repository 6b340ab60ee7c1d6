//! One backup run: lock, clean leftovers, snapshot, compress and encrypt, verify, publish.

use std::fmt;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use invguard_config::{Config, EncryptionMode, VerifyLevel};
use invguard_crypto::{DecryptionKeys, EncryptionKeys};

use crate::files::{self, create_new_private, create_private_dir, ensure_private_dir, fsync_dir};
use crate::pipeline::{self, Context, EncodeReport, Plaintext};
use crate::snapshot::{self, DatabaseFacts, PageStream};
use crate::source::SourceDatabase;
use crate::verify::{Checker, verification};
use crate::{
    BackupError, BackupName, CancelToken, CompressionInfo, DatabaseInfo, DirLock, EncryptionInfo,
    FORMAT_VERSION, FileInfo, Manifest, Progress, Verification, VerificationLevel,
    VerificationResult, clean_leftovers,
};

/// Default limit for the snapshot's read transaction. Generous, so only a stuck run reaches
/// it: the page copy of a generated 100 MiB database takes well under a second.
pub const DEFAULT_SNAPSHOT_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The highest zstd level at which the snapshot streams into compression. Level 9 already
/// compresses at a quarter of level 3's speed, and above it a streamed snapshot would keep its
/// read transaction open for minutes per GiB. So the snapshot is copied to a file first there,
/// and the transaction lasts only as long as the copy.
const STREAM_MAX_LEVEL: i32 = 9;

/// Receives the path of each leftover [`run_backup`] removes, for example to log it.
pub type LeftoverCallback = Arc<dyn Fn(&Path) + Send + Sync>;

/// Options of [`run_backup`].
#[derive(Clone)]
pub struct BackupOptions {
    /// Maximum time the snapshot may hold its read transaction before it is interrupted.
    pub snapshot_deadline: Duration,
    /// The verification level; `None` takes `[verify] level` from the configuration.
    pub verify_level: Option<VerifyLevel>,
    /// Set to stop the run; it then cleans up and returns [`BackupError::Interrupted`].
    pub cancel: CancelToken,
    /// Receives progress reports.
    pub progress: Option<Arc<dyn Progress>>,
    /// The time in the file name and manifest; `None` takes the current time.
    pub timestamp: Option<DateTime<Utc>>,
    /// Called with each leftover of a killed run as soon as it is removed, before the space
    /// check and the snapshot; [`BackupOutcome::leftovers_removed`] lists them afterwards too.
    pub on_leftover_removed: Option<LeftoverCallback>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        Self {
            snapshot_deadline: DEFAULT_SNAPSHOT_DEADLINE,
            verify_level: None,
            cancel: CancelToken::new(),
            progress: None,
            timestamp: None,
            on_leftover_removed: None,
        }
    }
}

impl fmt::Debug for BackupOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupOptions")
            .field("snapshot_deadline", &self.snapshot_deadline)
            .field("verify_level", &self.verify_level)
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.as_ref().map(|_| "<callback>"))
            .field("timestamp", &self.timestamp)
            .field("on_leftover_removed", &self.on_leftover_removed.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

/// The result of a successful backup.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    /// The backup file.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest_path: PathBuf,
    /// The manifest as written.
    pub manifest: Manifest,
    /// The snapshot method of this run.
    pub snapshot_method: SnapshotMethod,
    /// The time the snapshot kept its read transaction open on the live database. A streamed
    /// snapshot keeps it open until the last page entered compression.
    pub snapshot_duration: Duration,
    /// How long the whole run took.
    pub duration: Duration,
    /// How long each stage of the run took.
    pub stages: StageDurations,
    /// Leftovers of killed runs removed at the start.
    pub leftovers_removed: Vec<PathBuf>,
    /// Conditions the operator should know about (for example a network file system); the
    /// caller logs them.
    pub warnings: Vec<String>,
}

/// The method a backup used to take its snapshot of the live database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMethod {
    /// The pages were read inside one read transaction and streamed straight into
    /// compression (databases in WAL mode).
    Streamed,
    /// The pages were copied to a temporary file with SQLite's backup API first
    /// (rollback-journal databases, `compression_level` above 9, backups without a secret key
    /// to verify with, and builds of SQLite without `sqlite_dbpage`).
    File,
}

impl fmt::Display for SnapshotMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Streamed => "streamed",
            Self::File => "file",
        })
    }
}

/// The durations of the stages of one backup run, the parts of [`BackupOutcome::duration`]
/// that benchmarks and operators compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageDurations {
    /// The snapshot: the page copy inside the read transaction on the live database, or,
    /// for a [`SnapshotMethod::Streamed`] snapshot, opening that transaction (its pages are
    /// read during `encode`).
    pub snapshot: Duration,
    /// Reading the snapshot's facts (page count, schema hash, row counts).
    pub facts: Duration,
    /// Compressing, encrypting and writing `NAME.partial`.
    pub encode: Duration,
    /// The fsync of `NAME.partial`.
    pub sync: Duration,
    /// Verifying the synced partial file: decryption, decompression, hashes, SQLite checks.
    pub verify: Duration,
    /// The rename to the final name, the manifest and the directory fsync.
    pub publish: Duration,
}

/// Takes one backup of the configured database and verifies it.
///
/// The run holds the exclusive lock of the backup directory and removes leftovers of killed
/// runs. It reads the database inside one read transaction (streamed or copied first, see
/// [`SnapshotMethod`]), compresses and encrypts the snapshot into `NAME.partial` and syncs
/// it. It verifies the partial file (see [`verify`](crate::verify())), and only then renames
/// it to its final name and writes the manifest. It succeeds only when verification passed.
///
/// # Errors
///
/// Any [`BackupError`]: [`BackupError::Locked`] when another writer runs, the database
/// errors ([`BackupError::DatabaseMissing`], [`BackupError::NotSqlite`], ...),
/// [`BackupError::InsufficientSpace`] or [`BackupError::DiskFull`],
/// [`BackupError::Interrupted`] on cancellation, and verification failures such as
/// [`BackupError::Mismatch`]. On every error, no file is left under a final name and the
/// partial and temporary files are removed.
pub fn run_backup(config: &Config, options: &BackupOptions) -> Result<BackupOutcome, BackupError> {
    let started = Instant::now();
    let keys = Keys::from_config(config)?;
    let dir = &config.backup.dir;
    let temp_dir = &config.backup.temp_dir;

    create_private_dir(dir)?;
    let _lock = DirLock::exclusive(dir, "backup")?;
    let leftovers_removed = clean_leftovers(dir, temp_dir, &config.database.name)?;
    if let Some(report) = &options.on_leftover_removed {
        leftovers_removed.iter().for_each(|path| report(path));
    }
    ensure_private_dir(temp_dir)?;

    let source = SourceDatabase::resolve(&config.database.path)?;
    let mut warnings = network_warnings(&source.path, dir, temp_dir);
    if let Some(encryption) = &keys.encryption {
        warnings.extend(crate::recipient_expiry_warnings(encryption, Utc::now()));
    }
    check_space(source.size, dir, temp_dir)?;

    let run = Run { config, options, keys: &keys, source: &source };
    let Executed { published, stages, snapshot_method, read_transaction } = run.execute()?;

    let duration = started.elapsed();
    tracing::debug!(
        path = %published.path.display(),
        duration_ms = duration.as_millis() as u64,
        snapshot = %snapshot_method,
        read_transaction_ms = read_transaction.as_millis() as u64,
        encode_ms = stages.encode.as_millis() as u64,
        verify_ms = stages.verify.as_millis() as u64,
        "backup finished"
    );
    Ok(BackupOutcome {
        path: published.path,
        manifest_path: published.manifest_path,
        manifest: published.manifest,
        snapshot_method,
        snapshot_duration: read_transaction,
        duration,
        stages,
        leftovers_removed,
        warnings,
    })
}

/// Keys for writing and for verifying the new backup.
struct Keys {
    encryption: Option<EncryptionKeys>,
    decryption: DecryptionKeys,
}

impl Keys {
    fn from_config(config: &Config) -> Result<Self, BackupError> {
        let encryption = crate::encryption_keys(config)?;
        let decryption = match config.encryption.mode {
            EncryptionMode::None => DecryptionKeys::default(),
            // The passphrase that encrypts is the one that verifies.
            EncryptionMode::Passphrase => DecryptionKeys {
                passphrases: encryption.iter().filter_map(|keys| keys.passphrase.clone()).collect(),
                secret_keys: Vec::new(),
            },
            EncryptionMode::PublicKey => {
                DecryptionKeys::secret_keys(crate::decryption_keys(config)?.secret_keys)
            }
        };
        Ok(Self { encryption, decryption })
    }
}

struct Run<'a> {
    config: &'a Config,
    options: &'a BackupOptions,
    keys: &'a Keys,
    source: &'a SourceDatabase,
}

/// A synced partial backup file and what is known about it before verification.
struct Written {
    partial: Partial,
    name: BackupName,
    encoded: EncodeReport,
    facts: DatabaseFacts,
    method: SnapshotMethod,
    read_transaction: Duration,
}

/// A published backup and how the run went.
struct Executed {
    published: Published,
    stages: StageDurations,
    snapshot_method: SnapshotMethod,
    read_transaction: Duration,
}

struct Published {
    path: PathBuf,
    manifest_path: PathBuf,
    manifest: Manifest,
}

impl Run<'_> {
    fn context(&self) -> Context<'_> {
        Context {
            cancel: &self.options.cancel,
            progress: self.options.progress.as_deref(),
            operation: "backup",
        }
    }

    fn execute(&self) -> Result<Executed, BackupError> {
        let mut stages = StageDurations::default();
        let Written { partial, name, encoded, facts, method, read_transaction } =
            self.write_partial(&mut stages)?;

        let started = Instant::now();
        let manifest = self.manifest(&name, &encoded, facts);
        let verified_level = self.verify(&partial.path, &manifest)?;
        stages.verify = started.elapsed();
        tracing::debug!(
            path = %partial.path.display(),
            level = ?verified_level,
            elapsed_ms = stages.verify.as_millis() as u64,
            "verified partial backup"
        );
        self.options.cancel.check("backup")?;

        let started = Instant::now();
        let published = self.publish(partial, &name, manifest, verified_level)?;
        stages.publish = started.elapsed();
        Ok(Executed { published, stages, snapshot_method: method, read_transaction })
    }

    /// Takes the snapshot and writes it, compressed and encrypted, to `NAME.partial`, then
    /// syncs that file. Verification reads it back afterwards, so the time until here is the
    /// cost of a durable backup file.
    ///
    /// The snapshot streams into compression where [`PageStream`] allows it and is copied to
    /// a temporary file first otherwise (the `snapshot` module explains the choice).
    fn write_partial(&self, stages: &mut StageDurations) -> Result<Written, BackupError> {
        let temp_dir = &self.config.backup.temp_dir;
        let deadline = self.options.snapshot_deadline;
        let cancel = &self.options.cancel;
        let started = Instant::now();
        // Without a secret key, verification cannot decrypt, so the snapshot is checked as a
        // file before encryption.
        let slow_compression = self.config.backup.compression_level > STREAM_MAX_LEVEL;
        let stream = if self.ciphertext_only() || slow_compression {
            None
        } else {
            PageStream::open(self.source, deadline, cancel)?
        };
        let (snapshot, plaintext, facts) = match stream {
            Some(stream) => {
                stages.snapshot = started.elapsed();
                let started = Instant::now();
                let facts = stream.facts()?;
                stages.facts = started.elapsed();
                (None, Plaintext::Pages(stream), facts)
            }
            None => {
                let snapshot = snapshot::take(self.source, temp_dir, deadline, cancel)?;
                stages.snapshot = snapshot.read_transaction;
                let started = Instant::now();
                let facts = self.snapshot_facts(snapshot.file.path())?;
                stages.facts = started.elapsed();
                let path = snapshot.file.path().to_owned();
                (Some(snapshot), Plaintext::File(path), facts)
            }
        };

        let started = Instant::now();
        let name = self.name().first_free_in(&self.config.backup.dir);
        let partial = Partial::create(self.config.backup.dir.join(name.partial_name()))?;
        let mut file = partial.open_for_write()?;
        let encoded = pipeline::encode(
            plaintext,
            &mut file,
            self.keys.encryption.as_ref(),
            self.config.backup.compression_level,
            self.context(),
        )?;
        stages.encode = started.elapsed();
        // The plaintext snapshot is removed before verification, which halves the temporary
        // space a run needs.
        let method =
            if snapshot.is_some() { SnapshotMethod::File } else { SnapshotMethod::Streamed };
        drop(snapshot);
        let read_transaction = encoded.read_transaction.unwrap_or(stages.snapshot);

        let started = Instant::now();
        file.sync_all().map_err(|source| BackupError::io_at(&partial.path, source))?;
        stages.sync = started.elapsed();
        tracing::debug!(
            path = %partial.path.display(),
            snapshot = %method,
            plaintext_bytes = encoded.plaintext.size,
            backup_bytes = encoded.ciphertext.size,
            read_transaction_ms = read_transaction.as_millis() as u64,
            encode_ms = stages.encode.as_millis() as u64,
            sync_ms = stages.sync.as_millis() as u64,
            "wrote partial backup"
        );
        Ok(Written { partial, name, encoded, facts, method, read_transaction })
    }

    /// Renames the verified partial file to its final name and writes the manifest.
    fn publish(
        &self,
        partial: Partial,
        name: &BackupName,
        mut manifest: Manifest,
        level: VerificationLevel,
    ) -> Result<Published, BackupError> {
        let dir = &self.config.backup.dir;
        let path = dir.join(name.file_name());
        partial.publish(&path)?;

        manifest.verification = verification(level, &Ok(()));
        let manifest_path = dir.join(name.manifest_name());
        if let Err(error) = manifest.write(&manifest_path) {
            files::remove_if_exists(&path);
            return Err(error);
        }
        fsync_dir(dir)?;
        Ok(Published { path, manifest_path, manifest })
    }

    fn name(&self) -> BackupName {
        let timestamp = self.options.timestamp.unwrap_or_else(Utc::now);
        let encrypted = self.keys.encryption.is_some();
        BackupName::new(&self.config.database.name, timestamp, encrypted)
    }

    /// Reads the facts of the snapshot; checks it with `quick_check` first when the backup
    /// cannot be decrypted for verification (public key without secret key).
    fn snapshot_facts(&self, snapshot: &Path) -> Result<DatabaseFacts, BackupError> {
        let connection = snapshot::open_copy(snapshot)?;
        if self.ciphertext_only() {
            snapshot::check_integrity(&connection, snapshot, "quick_check")
                .map_err(|error| self.blame_source(error))?;
        }
        let started = Instant::now();
        let facts = snapshot::facts(&connection, snapshot)?;
        tracing::debug!(
            tables = facts.tables.len(),
            rows_total = facts.rows_total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read snapshot facts"
        );
        Ok(facts)
    }

    fn ciphertext_only(&self) -> bool {
        self.config.encryption.mode == EncryptionMode::PublicKey
            && self.keys.decryption.secret_keys.is_empty()
    }

    fn verify(
        &self,
        partial: &Path,
        manifest: &Manifest,
    ) -> Result<VerificationLevel, BackupError> {
        let recipients = self.keys.encryption.as_ref().map_or(&[][..], |keys| &keys.recipients[..]);
        let checker = Checker {
            level: self.options.verify_level.unwrap_or(self.config.verify.level),
            keys: &self.keys.decryption,
            recipients,
            temp_dir: &self.config.backup.temp_dir,
            context: self.context(),
        };
        // The integrity check runs after the decoded copy matched the snapshot's hash, so a
        // failing check means the live database itself is damaged.
        checker.check(partial, manifest).map_err(|error| self.blame_source(error))
    }

    /// Names the live database in an integrity-check failure of its snapshot.
    fn blame_source(&self, error: BackupError) -> BackupError {
        match error {
            BackupError::IntegrityCheck { check, message, .. } => {
                BackupError::IntegrityCheck { path: self.source.path.clone(), check, message }
            }
            other => other,
        }
    }

    fn manifest(
        &self,
        name: &BackupName,
        encoded: &EncodeReport,
        facts: DatabaseFacts,
    ) -> Manifest {
        let recipients = self.keys.encryption.as_ref().map_or_else(Vec::new, |keys| {
            keys.recipients.iter().map(|recipient| recipient.fingerprint()).collect()
        });
        Manifest {
            format_version: FORMAT_VERSION,
            created_utc: name.created_utc,
            database: DatabaseInfo {
                name: self.config.database.name.clone(),
                source_path: self.source.path.clone(),
            },
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            file: FileInfo { name: name.file_name() },
            plaintext: encoded.plaintext.clone(),
            ciphertext: encoded.ciphertext.clone(),
            sqlite: facts.sqlite,
            tables: facts.tables,
            rows_total: facts.rows_total,
            encryption: EncryptionInfo { mode: self.config.encryption.mode.into(), recipients },
            compression: CompressionInfo {
                algorithm: "zstd".to_owned(),
                level: self.config.backup.compression_level,
            },
            // Replaced by the real result before the manifest is written.
            verification: Verification {
                result: VerificationResult::Failed,
                level: VerificationLevel::Quick,
                time: name.created_utc,
                message: Some("not verified yet".to_owned()),
            },
        }
    }
}

/// A backup file being written; removed on drop unless published.
struct Partial {
    path: PathBuf,
    published: bool,
}

impl Partial {
    fn create(path: PathBuf) -> Result<Self, BackupError> {
        drop(create_new_private(&path)?);
        Ok(Self { path, published: false })
    }

    fn open_for_write(&self) -> Result<fs_err::File, BackupError> {
        fs_err::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|source| BackupError::io_at(&self.path, source))
    }

    /// Renames the partial file to `path`, never replacing an existing file.
    fn publish(mut self, path: &Path) -> Result<(), BackupError> {
        rename_no_replace(&self.path, path)?;
        self.published = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.published {
            files::remove_if_exists(&self.path);
        }
    }
}

/// Renames `from` to `to`, failing when `to` exists. On file systems without
/// `RENAME_NOREPLACE` it checks for `to` and then renames. That is safe because the directory
/// lock excludes other writers, so nothing can appear in between.
fn rename_no_replace(from: &Path, to: &Path) -> Result<(), BackupError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};

    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
        Err(errno) => {
            let source = std::io::Error::from(errno);
            let message =
                format!("failed to rename {} to {}: {source}", from.display(), to.display());
            return Err(BackupError::io_at(to, std::io::Error::new(source.kind(), message)));
        }
    }
    if to.symlink_metadata().is_ok() {
        let message = format!("{} already exists", to.display());
        return Err(BackupError::Io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            message,
        )));
    }
    fs_err::rename(from, to).map_err(|source| BackupError::io_at(to, source))
}

fn network_warnings(database: &Path, dir: &Path, temp_dir: &Path) -> Vec<String> {
    let places = [
        ("database", files::parent_of(database)),
        ("backup directory", dir),
        ("temporary directory", temp_dir),
    ];
    places
        .iter()
        .filter_map(|(what, path)| {
            let kind = files::network_filesystem(path)?;
            Some(format!(
                "the {what} {} is on a network file system ({kind}): file locks and fsync may \
                 not be reliable there; prefer a local disk",
                path.display()
            ))
        })
        .collect()
}

/// Checks free space before starting. Verification's decrypted copy needs about the database
/// size in `temp_dir`, as does a snapshot copied to a file, which is removed before it. The
/// backup needs an estimated half of it in `dir`: zstd level 3 compressed a generated 800 MB
/// inventory database to 28 % of its size.
fn check_space(database_size: u64, dir: &Path, temp_dir: &Path) -> Result<(), BackupError> {
    let for_temp = database_size;
    let for_backup = database_size / 2;
    let same_filesystem = device(dir)? == device(temp_dir)?;

    if same_filesystem {
        return require_space(dir, for_temp + for_backup);
    }
    require_space(temp_dir, for_temp)?;
    require_space(dir, for_backup)
}

fn require_space(path: &Path, needed: u64) -> Result<(), BackupError> {
    let available = files::available_bytes(path)?;
    if available < needed {
        return Err(BackupError::InsufficientSpace { path: path.to_owned(), available, needed });
    }
    Ok(())
}

fn device(path: &Path) -> Result<u64, BackupError> {
    Ok(fs_err::metadata(path)?.dev())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_space_reports_figures() {
        let dir = tempfile::tempdir().unwrap();

        let error = require_space(dir.path(), u64::MAX).unwrap_err();

        let BackupError::InsufficientSpace { path, available, needed } = error else {
            panic!("{error:?}");
        };
        assert_eq!(path, dir.path());
        assert!(available < needed);
        assert_eq!(needed, u64::MAX);
    }

    #[test]
    fn rename_no_replace_keeps_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("new");
        let to = dir.path().join("existing");
        fs_err::write(&from, b"new").unwrap();
        fs_err::write(&to, b"old").unwrap();

        rename_no_replace(&from, &to).unwrap_err();

        assert_eq!(fs_err::read(&to).unwrap(), b"old");
        assert!(from.exists());
    }
}
