//! Listing the backups of a directory: manifests, legacy backups, incomplete backups and
//! backups whose manifest cannot be read.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::manifest::utc_seconds;
use crate::names::{BackupName, ENCRYPTED_EXTENSION, MANIFEST_EXTENSION, PLAIN_EXTENSION};
use crate::pipeline::BackupFormat;
use crate::{
    BackupError, EncryptionKind, Manifest, Verification, VerificationLevel, VerificationResult,
};

/// One backup in a directory, as `backup_cron list --json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupEntry {
    /// The backup file name.
    pub name: String,
    /// Creation time: from the manifest, else the file name, else (legacy) the file's mtime.
    #[serde(with = "utc_seconds")]
    pub created_utc: DateTime<Utc>,
    /// Size of the backup file in bytes.
    pub size: u64,
    /// SHA-256 of the backup file recorded in the manifest.
    pub ciphertext_sha256: Option<String>,
    /// Backup file size divided by snapshot size.
    pub compression_ratio: Option<f64>,
    /// The latest recorded verification.
    pub verification: Option<VerificationSummary>,
    /// Total rows in the snapshot.
    pub rows_total: Option<u64>,
    /// The encryption mode (`null` when unknown, for an incomplete backup).
    pub encryption: Option<EncryptionKind>,
    /// Recipient fingerprints of a public-key backup.
    pub recipients: Vec<String>,
    /// A backup of the Python service: a `*.gpg` file without manifest.
    pub legacy: bool,
    /// A backup file in this product's naming without a manifest: its run did not finish, so
    /// it never counts as good.
    pub incomplete: bool,
    /// The reason the backup's manifest cannot be read (invalid JSON, an unknown
    /// `format_version`, an I/O error). Such a backup never counts as good. When its backup
    /// file is missing too, the entry is the manifest itself.
    pub manifest_error: Option<String>,
    /// The backup file.
    #[serde(skip)]
    pub path: PathBuf,
    /// The manifest file, if any.
    #[serde(skip)]
    pub manifest_path: Option<PathBuf>,
    /// The parsed manifest, if any.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
    /// The parsed file name (none for legacy backups).
    #[serde(skip)]
    pub parsed_name: Option<BackupName>,
}

/// `verification` of a [`BackupEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationSummary {
    /// Passed or failed.
    pub result: VerificationResult,
    /// The verification level.
    pub level: VerificationLevel,
    /// When.
    #[serde(with = "utc_seconds")]
    pub time: DateTime<Utc>,
}

impl From<&Verification> for VerificationSummary {
    fn from(verification: &Verification) -> Self {
        Self { result: verification.result, level: verification.level, time: verification.time }
    }
}

impl BackupEntry {
    /// Returns true when this backup counts as good: it has a manifest whose verification
    /// passed.
    pub fn is_verified(&self) -> bool {
        self.verification.as_ref().is_some_and(|v| v.result == VerificationResult::Passed)
    }

    /// Returns true when this is a backup of the database named `database` (`[database]
    /// name`, the prefix of its file name). Legacy backups of the Python service carry no
    /// such name and count for every database, as `restore --latest` treats them.
    pub fn is_of_database(&self, database: &str) -> bool {
        match &self.parsed_name {
            Some(name) => name.database == database,
            None => self.legacy,
        }
    }

    /// Returns the format of the backup file.
    pub fn format(&self) -> BackupFormat {
        if self.legacy {
            return BackupFormat::LegacyOpenPgp;
        }
        match self.encryption {
            Some(EncryptionKind::None) => BackupFormat::Zstd,
            Some(_) => BackupFormat::ZstdOpenPgp,
            None => BackupFormat::from_file_name(&self.name).unwrap_or(BackupFormat::ZstdOpenPgp),
        }
    }
}

/// Lists the backups in `dir`, newest first.
///
/// Includes every backup with a manifest, legacy `*.gpg` backups without one (dated by
/// mtime), and backup files in this product's naming without a manifest (flagged
/// `incomplete`). Partial and temporary files are not backups and are left out.
///
/// A manifest that cannot be read (invalid JSON, an unknown `format_version`, an I/O error)
/// does not stop the listing: its backup is listed with the reason in
/// [`BackupEntry::manifest_error`], dated by the time in its name, and never counts as good.
/// A manifest of an unknown version is never parsed as the version this build reads.
///
/// Takes no lock: hold [`DirLock::shared`](crate::DirLock::shared) (readers) or
/// [`DirLock::exclusive`](crate::DirLock::exclusive) (writers) around it, or accept that a
/// writer may change the directory meanwhile. A file deleted during the listing is left out.
///
/// # Errors
///
/// An I/O error reading the directory or the metadata of a file in it.
pub fn list_backups(dir: &Path) -> Result<Vec<BackupEntry>, BackupError> {
    let mut file_names = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file()
            && let Ok(name) = entry.file_name().into_string()
        {
            file_names.push(name);
        }
    }
    file_names.sort();

    let mut entries = Vec::new();
    for name in &file_names {
        if let Some(manifest_stem) = name.strip_suffix(MANIFEST_EXTENSION) {
            if let Some(entry) = from_manifest(dir, name, manifest_stem, &file_names)? {
                entries.push(entry);
            }
        } else if let Some(entry) = without_manifest(dir, name, &file_names)? {
            entries.push(entry);
        }
    }

    entries.sort_by(newest_first);
    Ok(entries)
}

fn newest_first(a: &BackupEntry, b: &BackupEntry) -> std::cmp::Ordering {
    let sequence = |entry: &BackupEntry| entry.parsed_name.as_ref().map_or(0, |name| name.sequence);
    (b.created_utc, sequence(b), &b.name).cmp(&(a.created_utc, sequence(a), &a.name))
}

fn from_manifest(
    dir: &Path,
    manifest_name: &str,
    stem: &str,
    all_names: &[String],
) -> Result<Option<BackupEntry>, BackupError> {
    let manifest_path = dir.join(manifest_name);
    let manifest = match Manifest::read(&manifest_path) {
        Ok(manifest) => manifest,
        Err(BackupError::Io(error)) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            tracing::debug!(manifest = %manifest_path.display(), %error, "manifest cannot be read");
            let reason = manifest_problem(&error);
            return unreadable_manifest(dir, manifest_name, stem, all_names, reason);
        }
    };
    let path = dir.join(&manifest.file.name);

    let size = match fs_err::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(error) => {
            tracing::debug!(manifest = %manifest_path.display(), %error, "manifest without backup file");
            return Ok(None);
        }
    };
    let parsed_name = BackupName::parse(&manifest.file.name);
    if parsed_name.as_ref().is_none_or(|name| name.stem() != stem) {
        tracing::debug!(manifest = %manifest_path.display(), file = %manifest.file.name, "manifest names another stem");
    }

    Ok(Some(BackupEntry {
        name: manifest.file.name.clone(),
        created_utc: manifest.created_utc,
        size,
        ciphertext_sha256: Some(manifest.ciphertext.sha256.clone()),
        compression_ratio: Some(manifest.compression_ratio()),
        verification: Some(VerificationSummary::from(&manifest.verification)),
        rows_total: Some(manifest.rows_total),
        encryption: Some(manifest.encryption.mode),
        recipients: manifest.encryption.recipients.clone(),
        legacy: false,
        incomplete: false,
        manifest_error: None,
        path,
        manifest_path: Some(manifest_path),
        parsed_name,
        manifest: Some(manifest),
    }))
}

/// Returns the entry of a backup whose manifest cannot be read: its backup file with the
/// same stem, or the manifest itself when there is none.
fn unreadable_manifest(
    dir: &Path,
    manifest_name: &str,
    stem: &str,
    all_names: &[String],
    reason: String,
) -> Result<Option<BackupEntry>, BackupError> {
    let backup_name = [ENCRYPTED_EXTENSION, PLAIN_EXTENSION]
        .map(|extension| format!("{stem}{extension}"))
        .into_iter()
        .find(|name| all_names.binary_search(name).is_ok());
    let name = backup_name.unwrap_or_else(|| manifest_name.to_owned());
    let path = dir.join(&name);
    let Some(metadata) = metadata_if_present(&path)? else {
        return Ok(None);
    };

    let parsed_name = BackupName::parse(&name);
    let created_utc = match BackupName::parse_manifest(manifest_name) {
        Some(parsed) => parsed.created_utc,
        None => DateTime::<Utc>::from(metadata.modified()?),
    };
    Ok(Some(BackupEntry {
        size: if name == manifest_name { 0 } else { metadata.len() },
        name,
        created_utc: crate::verify::whole_seconds(created_utc),
        ciphertext_sha256: None,
        compression_ratio: None,
        verification: None,
        rows_total: None,
        encryption: None,
        recipients: Vec::new(),
        legacy: false,
        incomplete: false,
        manifest_error: Some(reason),
        path,
        manifest_path: Some(dir.join(manifest_name)),
        manifest: None,
        parsed_name,
    }))
}

/// Describes why a manifest cannot be read, without its path (the listing names it).
pub(crate) fn manifest_problem(error: &BackupError) -> String {
    match error {
        BackupError::UnknownManifestVersion { version, known, .. } => format!(
            "format_version {version} is unknown to this version of invguard, which reads \
             version {known}; upgrade invguard"
        ),
        BackupError::ManifestInvalid { source, .. } => format!("invalid JSON: {source}"),
        BackupError::Io(source) => format!("cannot read it: {}", source.kind()),
        other => other.to_string(),
    }
}

/// Returns the metadata of `path`, or `None` when the file no longer exists (a writer running
/// beside the listing deleted it).
fn metadata_if_present(path: &Path) -> Result<Option<std::fs::Metadata>, BackupError> {
    match fs_err::metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(BackupError::io_at(path, error)),
    }
}

/// Returns the entry of a legacy or incomplete backup, or `None` for a file that is not a
/// backup or has a manifest.
fn without_manifest(
    dir: &Path,
    name: &str,
    all_names: &[String],
) -> Result<Option<BackupEntry>, BackupError> {
    let parsed_name = BackupName::parse(name);
    let has_manifest =
        |stem: String| all_names.binary_search(&format!("{stem}{MANIFEST_EXTENSION}")).is_ok();
    let legacy = match &parsed_name {
        Some(parsed) if has_manifest(parsed.stem()) => return Ok(None),
        Some(_) => false,
        None if name.ends_with(".gpg") && !name.starts_with('.') => true,
        None => return Ok(None),
    };

    let path = dir.join(name);
    let Some(metadata) = metadata_if_present(&path)? else {
        return Ok(None);
    };
    let created_utc = match &parsed_name {
        Some(parsed) => parsed.created_utc,
        None => DateTime::<Utc>::from(metadata.modified()?),
    };
    let encryption = match (&parsed_name, legacy) {
        (_, true) => Some(EncryptionKind::Passphrase),
        (Some(parsed), false) if !parsed.encrypted => Some(EncryptionKind::None),
        _ => None,
    };

    Ok(Some(BackupEntry {
        name: name.to_owned(),
        created_utc: crate::verify::whole_seconds(created_utc),
        size: metadata.len(),
        ciphertext_sha256: None,
        compression_ratio: None,
        verification: None,
        rows_total: None,
        encryption,
        recipients: Vec::new(),
        legacy,
        incomplete: !legacy,
        manifest_error: None,
        path,
        manifest_path: None,
        manifest: None,
        parsed_name,
    }))
}
