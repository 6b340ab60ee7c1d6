//! The resolved configuration: every default applied, every path absolute.

use std::path::PathBuf;

use chrono_tz::Tz;
use serde::Serialize;

use crate::{ApiConfig, JobsConfig, MonitorConfig, RetentionConfig, Secret};

/// The whole configuration of InvGuard Cron, after defaults, file and environment are merged
/// and validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// IANA time zone for local times shown to people, retention buckets and schedules.
    pub timezone: Tz,
    /// The live database that is backed up.
    pub database: DatabaseConfig,
    /// Where and how backups are written.
    pub backup: BackupConfig,
    /// How backups are encrypted and which secrets can decrypt them.
    pub encryption: EncryptionConfig,
    /// How thoroughly a backup is checked by default.
    pub verify: VerifyConfig,
    /// Which backups cleanup keeps.
    pub retention: RetentionConfig,
    /// The InvGuard backend API.
    pub api: ApiConfig,
    /// Monitoring thresholds and notifiers.
    pub monitor: MonitorConfig,
    /// Scheduled jobs of the daemon.
    pub jobs: JobsConfig,
    /// Where daemon state, heartbeat and alert state live.
    pub state: StateConfig,
    /// Log level and format.
    pub log: LogConfig,
}

/// `[database]`: the live SQLite database.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Path of the live database (`DATABASE_PATH`, default `/app/data/inventory.db`).
    pub path: PathBuf,
    /// Name that prefixes backup file names (default `inventory`).
    pub name: String,
}

/// `[backup]`: the backup directory and pipeline settings.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// Directory that holds the backups (`BACKUP_PATH`, default `/app/backups`).
    pub dir: PathBuf,
    /// Directory for temporary plaintext files, mode 0700 (default `<dir>/.invguard-tmp`).
    pub temp_dir: PathBuf,
    /// zstd compression level, 1 to 19 (default 3).
    pub compression_level: i32,
}

/// `[encryption] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionMode {
    /// Symmetric OpenPGP encryption with a passphrase.
    Passphrase,
    /// OpenPGP encryption to one or more public keys.
    PublicKey,
    /// No encryption; every run logs a warning.
    None,
}

/// `[encryption]`: how backups are encrypted and which secrets can decrypt them.
#[derive(Debug, Clone)]
pub struct EncryptionConfig {
    /// The encryption mode.
    pub mode: EncryptionMode,
    /// The passphrase that encrypts new backups, read from `passphrase_file`
    /// (`GPG_PASSPHRASE_FILE`) or `GPG_PASSPHRASE`.
    pub passphrase: Option<Secret>,
    /// The file the passphrase was read from, if any.
    pub passphrase_file: Option<PathBuf>,
    /// Further passphrase files tried for decryption only, so backups made before a
    /// passphrase rotation stay restorable.
    pub passphrase_files: Vec<PathBuf>,
    /// Public key files (or directories of them) that every backup is encrypted to.
    pub recipients: Vec<PathBuf>,
    /// Secret key file used for full verification and restore of public-key backups.
    pub secret_key_file: Option<PathBuf>,
    /// Further secret key files tried for decryption only.
    pub secret_key_files: Vec<PathBuf>,
    /// File with the passphrase that protects the secret keys, if they are protected.
    pub secret_key_passphrase_file: Option<PathBuf>,
}

/// `[verify] level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyLevel {
    /// Decrypt, decompress, hash and `PRAGMA quick_check`.
    Quick,
    /// As `quick`, with `PRAGMA integrity_check`, which also checks every index.
    Full,
}

/// `[verify]`: the default verification level.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Level used by `backup` and by `verify` without `--quick` or `--full` (default `quick`).
    pub level: VerifyLevel,
}

/// `[state]`: persistent state of the daemon and the monitor.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// Directory for daemon state, heartbeat and alert state
    /// (default `<backup dir>/.invguard-state`).
    pub dir: PathBuf,
}

/// `[log] level`, with the names of the original service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// `DEBUG`.
    Debug,
    /// `INFO` (default).
    Info,
    /// `WARNING` or `WARN`.
    Warning,
    /// `ERROR`.
    Error,
    /// `CRITICAL`; logs errors, the most severe level tracing has.
    Critical,
}

/// `[log] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (default).
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`: logging settings; the binaries apply them.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Minimum level (`LOG_LEVEL`).
    pub level: LogLevel,
    /// Output format.
    pub format: LogFormat,
}
