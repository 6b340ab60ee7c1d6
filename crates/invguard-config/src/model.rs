//! The resolved configuration: every default applied, every path absolute.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Serialize;

use crate::{
    ApiConfig, ConfigError, JobsConfig, LoadOptions, MonitorConfig, RetentionConfig, Secret,
    read_secret_file,
};

/// The whole configuration of InvGuard Cron, after defaults, file and environment are merged
/// and validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// IANA time zone for local times shown to people, retention buckets and schedules.
    pub timezone: Tz,
    /// The live database that is backed up.
    pub database: DatabaseConfig,
    /// Backup directory and pipeline settings.
    pub backup: BackupConfig,
    /// Encryption mode and the secrets that can decrypt backups.
    pub encryption: EncryptionConfig,
    /// Default verification level.
    pub verify: VerifyConfig,
    /// Retention policy that cleanup applies.
    pub retention: RetentionConfig,
    /// The InvGuard backend API.
    pub api: ApiConfig,
    /// Monitoring thresholds and notifiers.
    pub monitor: MonitorConfig,
    /// Scheduled jobs of the daemon.
    pub jobs: JobsConfig,
    /// Location of daemon state, heartbeat and alert state.
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
    /// Directory that contains the backups (`BACKUP_PATH`, default `/app/backups`).
    pub dir: PathBuf,
    /// Directory for temporary plaintext files, mode 0700 (default `<dir>/.invguard-tmp`).
    pub temp_dir: PathBuf,
    /// zstd compression level, 1 to 19 (default 3). `docs/benchmarks.md` has the measured
    /// ratio and speed at levels 1, 3, 6 and 9 ("Compression levels").
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

impl Config {
    /// Builds a configuration with every default, the time zone UTC, and the given database and
    /// backup directory, for tests and for programs that embed the library.
    ///
    /// No passphrase is set; add one with [`Config::with_passphrase`] or choose
    /// [`EncryptionMode::None`]. The process environment is not read.
    ///
    /// # Panics
    ///
    /// Panics when `database_path` or `backup_dir` is relative.
    pub fn for_tests(database_path: &Path, backup_dir: &Path) -> Config {
        assert!(
            database_path.is_absolute(),
            "database path {} is relative",
            database_path.display()
        );
        assert!(backup_dir.is_absolute(), "backup directory {} is relative", backup_dir.display());

        let env = HashMap::from([("INVGUARD_TIMEZONE".to_owned(), "UTC".to_owned())]);
        let loaded = Config::load(&LoadOptions { file: None, env: Some(env) });
        let mut config = match loaded {
            Ok(loaded) => loaded.config,
            Err(error) => panic!("the built-in defaults are invalid: {error}"),
        };

        config.database.path = database_path.to_owned();
        config.backup.dir = backup_dir.to_owned();
        config.backup.temp_dir = backup_dir.join(".invguard-tmp");
        config.state.dir = backup_dir.join(".invguard-state");
        config
    }

    /// Returns the configuration with `passphrase` as the passphrase that encrypts new backups.
    pub fn with_passphrase(mut self, passphrase: Secret) -> Config {
        self.encryption.passphrase = Some(passphrase);
        self
    }

    /// Checks that new backups can be encrypted: a passphrase in `passphrase` mode, at least one
    /// recipient in `public-key` mode; `none` needs nothing.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingEncryptionKeys`], saying how to configure the missing key.
    pub fn require_encryption_keys(&self) -> Result<(), ConfigError> {
        let encryption = &self.encryption;
        match encryption.mode {
            EncryptionMode::None => Ok(()),
            EncryptionMode::Passphrase if encryption.passphrase.is_some() => Ok(()),
            EncryptionMode::PublicKey if !encryption.recipients.is_empty() => Ok(()),
            EncryptionMode::Passphrase => Err(ConfigError::MissingEncryptionKeys(
                "no passphrase is configured for encrypting backups: set GPG_PASSPHRASE_FILE \
                 (or [encryption] passphrase_file) to a file with mode 0600 that contains the \
                 passphrase, or set [encryption] mode = \"public-key\" with recipients"
                    .to_owned(),
            )),
            EncryptionMode::PublicKey => Err(ConfigError::MissingEncryptionKeys(
                "encryption mode \"public-key\" needs at least one recipient: set [encryption] \
                 recipients = [\"/path/to/public-key.asc\"] (or INVGUARD_ENCRYPTION__RECIPIENTS)"
                    .to_owned(),
            )),
        }
    }
}

impl EncryptionConfig {
    /// Returns every passphrase that may decrypt a backup: the current one first, then the
    /// contents of each of `passphrase_files`.
    ///
    /// # Errors
    ///
    /// A passphrase file that cannot be read or is empty.
    pub fn decryption_passphrases(&self) -> Result<Vec<Secret>, ConfigError> {
        let mut passphrases: Vec<Secret> = self.passphrase.iter().cloned().collect();
        for path in &self.passphrase_files {
            passphrases.push(read_secret_file("encryption.passphrase_files", path)?);
        }
        Ok(passphrases)
    }
}
