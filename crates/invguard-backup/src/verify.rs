//! Verification of backups in layers: file size and hash, authenticated decryption and
//! decompression, plaintext hash, `PRAGMA quick_check` (or `integrity_check`), schema and
//! row counts against the manifest.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use invguard_config::{Config, EncryptionMode, VerifyLevel};
use invguard_crypto::{DecryptionKeys, Recipient};
use sha2::{Digest as _, Sha256};

use crate::Progress;
use crate::files::ensure_private_dir;
use crate::list::{BackupEntry, list_backups};
use crate::pipeline::{self, BackupFormat, Context, DecodeFailure, DecodedBackup};
use crate::snapshot::{self, DatabaseFacts};
use crate::{
    BackupError, CancelToken, DirLock, EncryptionKind, Manifest, Verification, VerificationLevel,
    VerificationResult,
};

/// The selection of backups [`verify`] checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyTarget {
    /// The given backup files (absolute, or relative to the backup directory).
    Files(Vec<PathBuf>),
    /// The newest backup of the configured database.
    Latest,
    /// Every backup of the configured database in the directory, including incomplete ones,
    /// and every legacy backup.
    All,
}

/// The result of verifying one backup.
#[derive(Debug)]
pub struct VerifyOutcome {
    /// The backup file.
    pub backup: PathBuf,
    /// The level the backup was checked at; `ciphertext` when a public-key backup was checked
    /// without a secret key.
    pub level: VerificationLevel,
    /// `Ok` when every check passed, else the first failed check.
    pub result: Result<(), BackupError>,
    /// Whether the result was written into the backup's manifest (legacy and incomplete
    /// backups have none).
    pub recorded: bool,
}

impl VerifyOutcome {
    /// Returns true when every check passed.
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }
}

/// Verifies existing backups and records each result in its manifest.
///
/// Takes the exclusive lock of the backup directory for the whole run, because it rewrites
/// manifests (atomically) and must not race a cleanup that deletes them. A public-key backup
/// is checked at level `ciphertext` when `keys` contains no secret key.
///
/// # Errors
///
/// [`BackupError::Locked`] when another writer runs, [`BackupError::NoBackups`] for `Latest`
/// or `All` without a backup of the configured database, [`BackupError::BackupNotFound`] for
/// a missing file, or an error listing the directory. A backup that fails verification is not an error here: its
/// [`VerifyOutcome::result`] holds the reason.
pub fn verify(
    config: &Config,
    target: &VerifyTarget,
    level: VerifyLevel,
    keys: &DecryptionKeys,
    cancel: &CancelToken,
) -> Result<Vec<VerifyOutcome>, BackupError> {
    verify_with_progress(config, target, level, keys, cancel, None)
}

/// Does what [`verify`] does and reports the bytes of each backup file read to `progress`
/// ([`Phase::Verify`](crate::Phase::Verify); the count starts again at zero for every backup).
///
/// # Errors
///
/// As [`verify`].
pub fn verify_with_progress(
    config: &Config,
    target: &VerifyTarget,
    level: VerifyLevel,
    keys: &DecryptionKeys,
    cancel: &CancelToken,
    progress: Option<&dyn Progress>,
) -> Result<Vec<VerifyOutcome>, BackupError> {
    let dir = &config.backup.dir;
    let _lock = DirLock::exclusive(dir, "verify")?;
    let entries = select(dir, &config.database.name, target)?;
    ensure_private_dir(&config.backup.temp_dir)?;
    let recipients = configured_recipients(config)?;

    let mut outcomes = Vec::with_capacity(entries.len());
    for entry in entries {
        let checker = Checker {
            level,
            keys,
            recipients: &recipients,
            temp_dir: &config.backup.temp_dir,
            context: Context { cancel, progress, operation: "verification" },
        };
        let outcome = verify_entry(&entry, &checker);
        if let Err(error) = &outcome.result
            && error.is_interrupted()
        {
            return Err(BackupError::Interrupted { operation: "verification" });
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

fn configured_recipients(config: &Config) -> Result<Vec<Recipient>, BackupError> {
    if config.encryption.mode != EncryptionMode::PublicKey {
        return Ok(Vec::new());
    }
    Ok(crate::encryption_keys(config)?.map(|keys| keys.recipients).unwrap_or_default())
}

/// Picks the backups to verify. `Latest` and `All` take only the configured database's
/// backups and legacy ones. Backups of another database sharing the directory are neither
/// checked with this configuration's keys nor counted for it. Named files are taken whatever
/// their name.
fn select(
    dir: &Path,
    database: &str,
    target: &VerifyTarget,
) -> Result<Vec<BackupEntry>, BackupError> {
    let entries = list_backups(dir)?;
    if let VerifyTarget::Files(files) = target {
        return files.iter().map(|file| find_entry(dir, &entries, file)).collect();
    }

    let mut own: Vec<BackupEntry> =
        entries.into_iter().filter(|entry| entry.is_of_database(database)).collect();
    if own.is_empty() {
        return Err(BackupError::NoBackups { dir: dir.to_owned(), database: database.to_owned() });
    }
    if matches!(target, VerifyTarget::Latest) {
        // The listing is newest first.
        own.truncate(1);
    }
    Ok(own)
}

fn find_entry(
    dir: &Path,
    entries: &[BackupEntry],
    file: &Path,
) -> Result<BackupEntry, BackupError> {
    let path = if file.is_absolute() { file.to_owned() } else { dir.join(file) };
    if !path.exists() {
        return Err(BackupError::BackupNotFound { path });
    }
    let canonical = fs_err::canonicalize(&path)?;
    let found = entries.iter().find(|entry| {
        fs_err::canonicalize(&entry.path).is_ok_and(|entry_path| entry_path == canonical)
    });
    found.cloned().ok_or(BackupError::NotABackup { path })
}

fn verify_entry(entry: &BackupEntry, checker: &Checker<'_>) -> VerifyOutcome {
    let backup = entry.path.clone();
    let Some(manifest) = &entry.manifest else {
        return verify_without_manifest(entry, checker);
    };

    let (level, result) = match checker.check(&backup, manifest) {
        Ok(level) => (level, Ok(())),
        Err(error) => (checker.planned_level(manifest), Err(error)),
    };
    let recorded = record(entry, manifest, level, &result);
    VerifyOutcome { backup, level, result, recorded }
}

/// Legacy backups are decrypted and checked with SQLite; incomplete ones and those whose
/// manifest cannot be read fail.
fn verify_without_manifest(entry: &BackupEntry, checker: &Checker<'_>) -> VerifyOutcome {
    let backup = entry.path.clone();
    let level = checker.level.into();
    if let (Some(reason), Some(path)) = (&entry.manifest_error, &entry.manifest_path) {
        let error = BackupError::ManifestUnreadable { path: path.clone(), reason: reason.clone() };
        return VerifyOutcome { backup, level, result: Err(error), recorded: false };
    }
    if entry.incomplete {
        let error = BackupError::Incomplete { path: backup.clone() };
        return VerifyOutcome { backup, level, result: Err(error), recorded: false };
    }

    let result = checker.check_legacy(&backup);
    VerifyOutcome { backup, level, result, recorded: false }
}

/// Writes the verification result into the manifest; returns whether it was written.
fn record(
    entry: &BackupEntry,
    manifest: &Manifest,
    level: VerificationLevel,
    result: &Result<(), BackupError>,
) -> bool {
    let Some(manifest_path) = &entry.manifest_path else { return false };
    // A wrong passphrase or a full temporary disk says nothing about the backup.
    if matches!(result, Err(error) if !error.is_backup_defect()) {
        return false;
    }

    let mut updated = manifest.clone();
    updated.verification = verification(level, result);
    match updated.write(manifest_path) {
        Ok(()) => true,
        Err(error) => {
            tracing::debug!(path = %manifest_path.display(), %error, "could not record verification");
            false
        }
    }
}

/// Builds the manifest's verification field for a result.
pub(crate) fn verification(
    level: VerificationLevel,
    result: &Result<(), BackupError>,
) -> Verification {
    let (result, message) = match result {
        Ok(()) => (VerificationResult::Passed, passed_message(level)),
        Err(error) => (VerificationResult::Failed, Some(error.to_string())),
    };
    Verification { result, level, time: whole_seconds(Utc::now()), message }
}

fn passed_message(level: VerificationLevel) -> Option<String> {
    (level == VerificationLevel::Ciphertext).then(|| {
        "checked without a secret key: backup file hash, recipients, and quick_check and \
         hashes of the snapshot before encryption"
            .to_owned()
    })
}

pub(crate) fn whole_seconds(time: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time)
}

/// Everything one verification needs besides the backup.
pub(crate) struct Checker<'a> {
    pub(crate) level: VerifyLevel,
    pub(crate) keys: &'a DecryptionKeys,
    pub(crate) recipients: &'a [Recipient],
    pub(crate) temp_dir: &'a Path,
    pub(crate) context: Context<'a>,
}

impl Checker<'_> {
    /// Returns the level a backup with this manifest is checked at.
    pub(crate) fn planned_level(&self, manifest: &Manifest) -> VerificationLevel {
        let public_key = manifest.encryption.mode == EncryptionKind::PublicKey;
        if public_key && self.keys.secret_keys.is_empty() {
            VerificationLevel::Ciphertext
        } else {
            self.level.into()
        }
    }

    /// Checks `backup` against `manifest`, layer by layer; returns the level reached.
    pub(crate) fn check(
        &self,
        backup: &Path,
        manifest: &Manifest,
    ) -> Result<VerificationLevel, BackupError> {
        check_size(backup, manifest)?;
        let level = self.planned_level(manifest);
        if level == VerificationLevel::Ciphertext {
            self.check_ciphertext(backup, manifest)?;
            return Ok(level);
        }

        let format = match manifest.encryption.mode {
            EncryptionKind::None => BackupFormat::Zstd,
            _ => BackupFormat::ZstdOpenPgp,
        };
        let started = Instant::now();
        let decoded =
            pipeline::decode(backup, format, Some(self.keys), self.temp_dir, self.context)
                .map_err(|failure| explain_failure(backup, manifest, *failure))?;
        tracing::debug!(
            path = %backup.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "decrypted and decompressed backup"
        );

        self.check_decoded(backup, manifest, &decoded)?;
        Ok(level)
    }

    /// Compares a decoded copy with the manifest and runs the SQLite checks on it.
    fn check_decoded(
        &self,
        backup: &Path,
        manifest: &Manifest,
        decoded: &DecodedBackup,
    ) -> Result<(), BackupError> {
        let ciphertext = &decoded.ciphertext.sha256;
        compare(backup, "backup file sha256", &manifest.ciphertext.sha256, ciphertext)?;
        compare(backup, "plaintext size", &manifest.plaintext.size, &decoded.plaintext.size)?;
        compare(backup, "plaintext sha256", &manifest.plaintext.sha256, &decoded.plaintext.sha256)?;

        let started = Instant::now();
        let facts = self.check_database(backup, decoded.file.path())?;
        compare_facts(backup, manifest, &facts)?;
        tracing::debug!(
            path = %backup.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "checked the decoded database"
        );
        Ok(())
    }

    /// Checks a backup of the Python service: decryption and SQLite checks only.
    fn check_legacy(&self, backup: &Path) -> Result<(), BackupError> {
        let decoded = pipeline::decode(
            backup,
            BackupFormat::LegacyOpenPgp,
            Some(self.keys),
            self.temp_dir,
            self.context,
        )
        .map_err(|failure| failure.error)?;
        self.check_database(backup, decoded.file.path()).map(|_| ())
    }

    /// Runs the SQLite checks on a decoded copy and returns its facts. The integrity check
    /// and the facts (row counts) each read the whole file, so they run on two connections
    /// in two threads.
    fn check_database(&self, backup: &Path, copy: &Path) -> Result<DatabaseFacts, BackupError> {
        self.context.cancel.check(self.context.operation)?;
        let checking = snapshot::open_copy(copy)?;
        let counting = snapshot::open_copy(copy)?;
        let check = match self.level {
            // integrity_check does everything quick_check does, and also checks indexes.
            VerifyLevel::Full => "integrity_check",
            VerifyLevel::Quick => "quick_check",
        };
        let (cancel, operation) = (self.context.cancel, self.context.operation);
        let interrupts = vec![checking.get_interrupt_handle(), counting.get_interrupt_handle()];
        snapshot::cancellable(interrupts, cancel, operation, || {
            let (checked, facts) = std::thread::scope(|scope| {
                let facts = scope.spawn(move || snapshot::facts(&counting, copy));
                let checked = snapshot::check_integrity(&checking, copy, check);
                (checked, facts.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            });
            checked.map_err(|error| match error {
                BackupError::IntegrityCheck { check, message, .. } => {
                    BackupError::IntegrityCheck { path: backup.to_owned(), check, message }
                }
                other => other,
            })?;
            facts
        })
    }

    /// Checks what can be checked without a secret key: the file hash and the message's
    /// recipients.
    fn check_ciphertext(&self, backup: &Path, manifest: &Manifest) -> Result<(), BackupError> {
        let digest = hash_file(backup, self.context)?;
        compare(backup, "backup file sha256", &manifest.ciphertext.sha256, &digest)?;

        let file = fs_err::File::open(backup)?;
        let info = invguard_crypto::inspect(std::io::BufReader::new(file))
            .map_err(|source| BackupError::crypto(backup, source))?;
        let missing: Vec<String> = self
            .recipients
            .iter()
            .filter(|recipient| !info.is_addressed_to(std::slice::from_ref(*recipient)))
            .map(Recipient::fingerprint)
            .collect();
        if !missing.is_empty() {
            return Err(BackupError::RecipientMismatch { path: backup.to_owned(), missing });
        }
        Ok(())
    }
}

fn check_size(backup: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let size = fs_err::metadata(backup)?.len();
    compare(backup, "backup file size", &manifest.ciphertext.size, &size)
}

/// Prefers a hash mismatch of the backup file over the symptom a later stage saw.
fn explain_failure(backup: &Path, manifest: &Manifest, failure: DecodeFailure) -> BackupError {
    if failure.error.is_interrupted() {
        return failure.error;
    }
    if let Some(digest) = &failure.ciphertext
        && let Err(mismatch) =
            compare(backup, "backup file sha256", &manifest.ciphertext.sha256, &digest.sha256)
    {
        tracing::debug!(path = %backup.display(), error = %failure.error, "decode failed on a changed file");
        return mismatch;
    }
    failure.error
}

fn compare_facts(
    backup: &Path,
    manifest: &Manifest,
    facts: &DatabaseFacts,
) -> Result<(), BackupError> {
    compare(backup, "schema hash", &manifest.sqlite.schema_hash, &facts.sqlite.schema_hash)?;
    compare(backup, "page size", &manifest.sqlite.page_size, &facts.sqlite.page_size)?;
    for (table, expected) in &manifest.tables {
        let actual = facts.tables.get(table).copied().unwrap_or(0);
        compare(backup, &format!("row count of table {table}"), expected, &actual)?;
    }
    for table in facts.tables.keys().filter(|table| !manifest.tables.contains_key(*table)) {
        compare(backup, &format!("tables ({table})"), &"absent", &"present")?;
    }
    compare(backup, "total row count", &manifest.rows_total, &facts.rows_total)
}

fn compare<T: PartialEq + ToString + ?Sized>(
    backup: &Path,
    what: &str,
    expected: &T,
    actual: &T,
) -> Result<(), BackupError> {
    if expected == actual {
        return Ok(());
    }
    Err(BackupError::Mismatch {
        path: backup.to_owned(),
        what: what.to_owned(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    })
}

/// SHA-256 (hex) of a whole file, checking for cancellation between chunks.
fn hash_file(path: &Path, context: Context<'_>) -> Result<String, BackupError> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        context.cancel.check(context.operation)?;
        let count = file.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
    }
    Ok(hex::encode(hasher.finalize()))
}
