//! The error type of every fallible operation in this crate.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use invguard_crypto::CryptoError;

/// Everything that can go wrong while backing up, verifying, listing or locking.
///
/// Each message names the file or value involved and what to do; the underlying error is the
/// [`source`](std::error::Error::source), not part of the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database path does not exist.
    #[error(
        "database {path} does not exist: set [database] path (DATABASE_PATH) to the live \
         InvGuard database file"
    )]
    DatabaseMissing {
        /// The configured database path.
        path: PathBuf,
    },

    /// The database path is a symbolic link whose target does not exist.
    #[error(
        "database {path} is a symbolic link to {target}, which does not exist: fix the link \
         or set [database] path to the database file"
    )]
    DatabaseDanglingSymlink {
        /// The configured database path.
        path: PathBuf,
        /// The link target as stored in the link.
        target: PathBuf,
    },

    /// The database path is a directory.
    #[error("database {path} is a directory: set [database] path to the database file inside it")]
    DatabaseIsDirectory {
        /// The resolved database path.
        path: PathBuf,
    },

    /// The database file is not a SQLite database.
    #[error(
        "database {path} is not a SQLite database ({detail}): set [database] path to the live \
         InvGuard database file"
    )]
    NotSqlite {
        /// The resolved database path.
        path: PathBuf,
        /// The content found instead, in words.
        detail: String,
    },

    /// SQLite failed on a database file.
    #[error("SQLite failed to {operation} {path}")]
    Sqlite {
        /// The operation, for example `open` or `take a snapshot of`.
        operation: &'static str,
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },

    /// The snapshot did not finish before its deadline and was interrupted.
    #[error(
        "the snapshot of {path} did not finish within {}: raise the snapshot deadline or \
         take the backup when the database is less busy",
        humanize(*deadline)
    )]
    SnapshotTimeout {
        /// The database file.
        path: PathBuf,
        /// The deadline that passed.
        deadline: Duration,
    },

    /// A filesystem has too little free space for the backup.
    #[error(
        "not enough free space in {path}: {available} bytes available, about {needed} bytes \
         needed; free space there or point [backup] dir / temp_dir elsewhere"
    )]
    InsufficientSpace {
        /// A directory on the filesystem that is too full.
        path: PathBuf,
        /// Bytes available to this user.
        available: u64,
        /// Estimated bytes needed.
        needed: u64,
    },

    /// A write failed because the disk is full or a file size limit was reached.
    #[error("disk full while writing {path}: free space on that filesystem and run again")]
    DiskFull {
        /// The file being written.
        path: PathBuf,
        /// The `ENOSPC`, `EDQUOT` or `EFBIG` error.
        #[source]
        source: io::Error,
    },

    /// Another process holds the lock of the backup directory.
    #[error("another {operation} is running (pid {})", display_pid(*pid))]
    Locked {
        /// The operation the holder recorded, for example `backup`.
        operation: String,
        /// The process id the holder recorded, if it could be read.
        pid: Option<u32>,
    },

    /// The backup was cancelled, for example by SIGINT or SIGTERM.
    #[error("the {operation} was interrupted; temporary and partial files were removed")]
    Interrupted {
        /// The interrupted operation.
        operation: &'static str,
    },

    /// No passphrase or key configured for an operation that needs one.
    #[error("{0}")]
    MissingKeys(String),

    /// The configuration is unusable for this operation.
    #[error(transparent)]
    Config(#[from] invguard_config::ConfigError),

    /// A passphrase does not open a backup.
    ///
    /// The message is complete, so `crypto` is kept for inspection but is not the error's
    /// [`source`](std::error::Error::source): printing the chain would repeat it.
    #[error(
        "wrong passphrase for {path}: none of the {} configured passphrase(s) opens it; check \
         [encryption] passphrase_file and passphrase_files (GPG_PASSPHRASE_FILE)",
        passphrases_tried(crypto)
    )]
    WrongPassphrase {
        /// The backup file.
        path: PathBuf,
        /// The crypto error.
        crypto: CryptoError,
    },

    /// No passphrase opens a backup, and the format cannot tell this from damage (backups
    /// written by `gpg --symmetric`). Like [`BackupError::WrongPassphrase`], it has no source.
    #[error(
        "wrong passphrase or corrupt data in {path}: none of the {} configured passphrase(s) \
         decrypts it; check the passphrase files, and if they are right, use another copy of \
         the backup",
        passphrases_tried(crypto)
    )]
    WrongPassphraseOrCorrupt {
        /// The backup file.
        path: PathBuf,
        /// The crypto error.
        crypto: CryptoError,
    },

    /// A backup is not OpenPGP data at all. Like [`BackupError::WrongPassphrase`], it has no
    /// source.
    #[error("{path} is not an encrypted OpenPGP message: check that it is a backup file")]
    NotOpenPgp {
        /// The backup file.
        path: PathBuf,
        /// The crypto error.
        crypto: CryptoError,
    },

    /// A backup is damaged: a wrong integrity code, a truncated message or invalid data.
    #[error("backup {path} is corrupt: {detail}")]
    Corrupt {
        /// The backup file.
        path: PathBuf,
        /// The finding, in words.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },

    /// Encryption, decryption or key handling failed for another reason.
    #[error("OpenPGP processing of {path} failed")]
    Crypto {
        /// The file or key involved.
        path: PathBuf,
        /// The crypto error.
        #[source]
        source: CryptoError,
    },

    /// A recorded hash or size does not match the file or its contents.
    #[error(
        "{what} of {path} does not match: expected {expected}, found {actual}; the backup was \
         damaged or modified, use another copy"
    )]
    Mismatch {
        /// The backup file.
        path: PathBuf,
        /// The compared value, for example `backup file sha256`.
        what: String,
        /// The recorded value.
        expected: String,
        /// The value found.
        actual: String,
    },

    /// `PRAGMA quick_check` or `PRAGMA integrity_check` reported problems.
    #[error("PRAGMA {check} of the database in {path} failed: {message}")]
    IntegrityCheck {
        /// The backup file, or the live database when its snapshot is what fails the check.
        path: PathBuf,
        /// `quick_check` or `integrity_check`.
        check: &'static str,
        /// The first lines SQLite reported.
        message: String,
    },

    /// A public-key backup is not addressed to every configured recipient.
    #[error(
        "backup {path} is not encrypted to every configured recipient (missing: {}): \
         check [encryption] recipients",
        missing.join(", ")
    )]
    RecipientMismatch {
        /// The backup file.
        path: PathBuf,
        /// Fingerprints of the recipients without a matching key packet.
        missing: Vec<String>,
    },

    /// A manifest records a format version this build does not know.
    #[error(
        "manifest {path} has format_version {version}, which this version of invguard does \
         not read (it reads version {known}): upgrade invguard"
    )]
    UnknownManifestVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version found.
        version: u64,
        /// The version this build reads.
        known: u32,
    },

    /// A listed backup's manifest could not be read; the listing kept the reason.
    #[error("manifest {path} cannot be read ({reason}): restore it from another copy")]
    ManifestUnreadable {
        /// The manifest file.
        path: PathBuf,
        /// The reason it cannot be read, in words.
        reason: String,
    },

    /// A manifest is not valid JSON of the expected shape.
    #[error("manifest {path} is invalid: restore it from another copy or delete the backup")]
    ManifestInvalid {
        /// The manifest file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A backup named on the command line does not exist.
    #[error("backup {path} does not exist: run `backup_cron list` to see the backups")]
    BackupNotFound {
        /// The requested backup.
        path: PathBuf,
    },

    /// A backup file has no manifest: the run that wrote it did not finish.
    #[error(
        "backup {path} is incomplete: it has no manifest because the run that wrote it did \
         not finish; take a new backup"
    )]
    Incomplete {
        /// The backup file.
        path: PathBuf,
    },

    /// A file is not a backup this product can read.
    #[error("{path} is not a backup file: expected a name ending in .db.zst.gpg, .db.zst or .gpg")]
    NotABackup {
        /// The file.
        path: PathBuf,
    },

    /// The backup directory contains no backup of the configured database.
    #[error(
        "no backup of database {database:?} found in {dir}: take one with `backup_cron backup`, \
         or check [database] name if the backups carry another name"
    )]
    NoBackups {
        /// The backup directory.
        dir: PathBuf,
        /// The configured database name (`[database] name`), the prefix of its backup names.
        database: String,
    },

    /// Retention rules are configured but none of them keeps any backup.
    #[error(
        "the retention rules keep nothing ({rules}): set keep_last, a keep_* bucket count or \
         keep_within to a positive value"
    )]
    RetentionKeepsNothing {
        /// The configured rules, in words.
        rules: String,
    },

    /// The restore target exists and the request does not allow replacing it.
    #[error(
        "restore target {path} already exists: choose a new path, pass --force to replace it \
         (a safety copy is kept), or --in-place for the live database"
    )]
    RestoreTargetExists {
        /// The target path.
        path: PathBuf,
    },

    /// The directory of the restore target does not exist.
    #[error(
        "the directory {dir} of restore target {path} does not exist: create it first \
         (mkdir -p {dir}) or choose a target in an existing directory"
    )]
    RestoreDirMissing {
        /// The target path.
        path: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },

    /// The restore target exists but is not a regular file.
    #[error("restore target {path} is not a regular file: give the path of a database file")]
    RestoreTargetNotFile {
        /// The target path.
        path: PathBuf,
    },

    /// `--force` names the live database, which only `--in-place` may replace.
    #[error(
        "restore target {path} is the live database: pass --in-place instead of --force, after \
         stopping the backend"
    )]
    RestoreTargetIsLive {
        /// The target path, symbolic links resolved.
        path: PathBuf,
    },

    /// `--in-place` names a file that is not the live database.
    #[error(
        "--in-place replaces the live database {database}, but the target is {path}: pass \
         --to {database}, or --force to replace another file"
    )]
    NotLiveDatabase {
        /// The target path.
        path: PathBuf,
        /// The configured database path.
        database: PathBuf,
    },

    /// Another process uses the database that an in-place restore would replace.
    #[error(
        "database {path} is in use ({check}): stop the backend and every other process using \
         the database, then restore again"
    )]
    DatabaseInUse {
        /// The database file.
        path: PathBuf,
        /// The check that found the user.
        check: crate::restore::InUse,
    },

    /// The restored file cannot get the owner of the file it replaces.
    #[error(
        "cannot give the restored database the owner {uid}:{gid} of {path}: run the restore \
         as root or as that user"
    )]
    KeepOwner {
        /// The file being replaced.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// Its group.
        gid: u32,
        /// The `fchown` error.
        #[source]
        source: io::Error,
    },

    /// A time given on the command line cannot be read.
    #[error("invalid time {value:?}: {reason}")]
    InvalidTime {
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `--latest` or `--before` found no backup that passes verification.
    #[error(
        "no backup in {dir}{} passes verification{}: check the passphrase and keys, run \
         `backup_cron verify --all`, or restore a named backup",
        before.map(|time| format!(" created before {}", time.format("%Y-%m-%dT%H:%M:%SZ"))).unwrap_or_default(),
        describe_skipped(skipped)
    )]
    NoGoodBackup {
        /// The backup directory.
        dir: PathBuf,
        /// The `--before` time, if one was given.
        before: Option<chrono::DateTime<chrono::Utc>>,
        /// Every backup tried or passed over, newest first.
        skipped: Vec<crate::restore::SkippedBackup>,
    },

    /// `--before` names a time older than every backup.
    #[error(
        "no backup in {dir} was created before {}: the oldest backup was created at {}; give a \
         later --before time, or --latest",
        before.format("%Y-%m-%dT%H:%M:%SZ"),
        oldest.format("%Y-%m-%dT%H:%M:%SZ")
    )]
    NoBackupBefore {
        /// The backup directory.
        dir: PathBuf,
        /// The `--before` time.
        before: chrono::DateTime<chrono::Utc>,
        /// The creation time of the oldest backup.
        oldest: chrono::DateTime<chrono::Utc>,
    },

    /// A pipeline thread panicked.
    #[error("the {stage} stage of the backup pipeline panicked")]
    StagePanicked {
        /// The stage name.
        stage: &'static str,
    },

    /// Any other I/O error; `fs-err` puts the path and operation in its message.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl BackupError {
    /// Wraps an I/O error on `path`, reporting a full disk as [`BackupError::DiskFull`].
    pub(crate) fn io_at(path: &Path, source: io::Error) -> Self {
        if is_disk_full(&source) {
            Self::DiskFull { path: path.to_owned(), source }
        } else {
            Self::Io(source)
        }
    }

    /// Wraps a SQLite error on `path`, reporting a full disk as [`BackupError::DiskFull`].
    pub(crate) fn sqlite(operation: &'static str, path: &Path, source: rusqlite::Error) -> Self {
        if sqlite_code(&source) == Some(rusqlite::ErrorCode::DiskFull) {
            let io = io::Error::new(io::ErrorKind::StorageFull, source.to_string());
            return Self::DiskFull { path: path.to_owned(), source: io };
        }
        Self::Sqlite { operation, path: path.to_owned(), source }
    }

    /// Wraps a crypto error that happened while processing the backup `path`.
    pub(crate) fn crypto(path: &Path, source: CryptoError) -> Self {
        let path = path.to_owned();
        match source {
            CryptoError::WrongPassphrase { .. } => Self::WrongPassphrase { path, crypto: source },
            CryptoError::NotOpenPgp | CryptoError::NotEncrypted => {
                Self::NotOpenPgp { path, crypto: source }
            }
            CryptoError::WrongPassphraseOrCorrupt { .. } => {
                Self::WrongPassphraseOrCorrupt { path, crypto: source }
            }
            // The detail names what failed, so neither the crypto error, whose message repeats
            // it, nor rPGP's error, which repeats itself, joins the chain. rPGP's error goes to
            // the debug log.
            CryptoError::Corrupt { detail, source } => {
                log_pgp_error(&path, source.as_deref());
                let detail = format!("{detail}; the file was damaged or modified");
                Self::Corrupt { path, detail, source: None }
            }
            CryptoError::Truncated { source } => {
                log_pgp_error(&path, source.as_deref());
                let detail = "the OpenPGP message ends early; the file is truncated".to_owned();
                Self::Corrupt { path, detail, source: None }
            }
            CryptoError::Io(io) => Self::io_at(&path, io),
            source => Self::Crypto { path, source },
        }
    }

    /// Returns true when the error shows that a backup file itself is bad (changed, damaged,
    /// incomplete or failing SQLite's checks), as opposed to a problem of this run such as a
    /// wrong key, a full disk or cancellation. Only such errors are recorded as a failed
    /// verification in the manifest.
    pub fn is_backup_defect(&self) -> bool {
        matches!(
            self,
            Self::Mismatch { .. }
                | Self::Corrupt { .. }
                | Self::NotOpenPgp { .. }
                | Self::IntegrityCheck { .. }
                | Self::RecipientMismatch { .. }
                | Self::Incomplete { .. }
        )
    }

    /// Returns true for the error of a cancelled operation.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Interrupted { .. })
    }
}

/// Returns true when `error` means the disk is full or a size limit was hit.
pub(crate) fn is_disk_full(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG))
        || matches!(error.kind(), io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge)
}

fn sqlite_code(error: &rusqlite::Error) -> Option<rusqlite::ErrorCode> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
        _ => None,
    }
}

fn describe_skipped(skipped: &[crate::restore::SkippedBackup]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let reasons: Vec<String> =
        skipped.iter().map(|backup| format!("{}: {}", backup.name, backup.reason)).collect();
    format!(" ({})", reasons.join("; "))
}

fn log_pgp_error(path: &Path, error: Option<&(dyn std::error::Error + Send + Sync + 'static)>) {
    if let Some(error) = error {
        tracing::debug!(path = %path.display(), %error, "rPGP error behind a corrupt backup");
    }
}

/// Returns the number of passphrases a decryption tried, from its crypto error.
fn passphrases_tried(crypto: &CryptoError) -> usize {
    match crypto {
        CryptoError::WrongPassphrase { tried }
        | CryptoError::WrongPassphraseOrCorrupt { tried } => *tried,
        _ => 0,
    }
}

fn display_pid(pid: Option<u32>) -> String {
    pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string())
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else if seconds > 0 {
        format!("{seconds} s")
    } else {
        format!("{} ms", duration.as_millis())
    }
}
