//! Backup listings for the checks: the facts used per backup, and their source.
//!
//! The `backup_status` and `disk_space` checks read a [`BackupCatalog`] so that the backup
//! crate's manifest reader plugs in and tests can supply their own listing.

use std::error::Error;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

/// The verification result recorded for a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The backup was decrypted and checked successfully.
    Passed,
    /// Verification failed, with the manifest's message when it has one.
    Failed(Option<String>),
    /// No verification result, as for legacy backups without a manifest.
    Missing,
}

/// The facts about one backup that the checks use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// File name, such as `inventory-20261204T020000Z.db.zst.gpg`.
    pub name: String,
    /// When the backup was taken.
    pub created_utc: DateTime<Utc>,
    /// Size of the backup file in bytes.
    pub size: u64,
    /// Rows in all tables, when the manifest records it.
    pub rows_total: Option<u64>,
    /// The verification result.
    pub verification: Verification,
}

/// A source of backup listings.
pub trait BackupCatalog: fmt::Debug + Send + Sync {
    /// Lists the backups in `dir`, newest first.
    ///
    /// # Errors
    ///
    /// Returns an error when the directory or a manifest cannot be read.
    fn list_backups(&self, dir: &Path) -> Result<Vec<BackupSummary>, Box<dyn Error + Send + Sync>>;
}

/// Reads the manifests (`<stem>.manifest.json`) of a backup directory, following the
/// manifest format version 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManifestCatalog;

impl BackupCatalog for ManifestCatalog {
    fn list_backups(&self, dir: &Path) -> Result<Vec<BackupSummary>, Box<dyn Error + Send + Sync>> {
        let mut backups = Vec::new();
        for entry in fs_err::read_dir(dir)? {
            let path = entry?.path();
            let is_manifest = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(".manifest.json"));
            if is_manifest {
                backups.push(read_manifest(&path)?);
            }
        }
        backups.sort_by(|a, b| b.created_utc.cmp(&a.created_utc).then_with(|| b.name.cmp(&a.name)));
        Ok(backups)
    }
}

/// The manifest fields the monitor reads.
#[derive(Debug, serde::Deserialize)]
struct Manifest {
    format_version: u32,
    created_utc: DateTime<Utc>,
    file: ManifestFile,
    ciphertext: ManifestSize,
    rows_total: Option<u64>,
    verification: Option<ManifestVerification>,
}

#[derive(Debug, serde::Deserialize)]
struct ManifestFile {
    name: String,
}

#[derive(Debug, serde::Deserialize)]
struct ManifestSize {
    size: u64,
}

#[derive(Debug, serde::Deserialize)]
struct ManifestVerification {
    result: String,
    message: Option<String>,
}

fn read_manifest(path: &Path) -> Result<BackupSummary, Box<dyn Error + Send + Sync>> {
    let text = fs_err::read_to_string(path)?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|error| format!("invalid manifest {}: {error}", path.display()))?;
    if manifest.format_version != 1 {
        let version = manifest.format_version;
        return Err(
            format!("manifest {} has unknown format_version {version}", path.display()).into()
        );
    }

    let verification = match manifest.verification {
        Some(verification) if verification.result == "passed" => Verification::Passed,
        Some(verification) => Verification::Failed(verification.message),
        None => Verification::Missing,
    };
    Ok(BackupSummary {
        name: manifest.file.name,
        created_utc: manifest.created_utc,
        size: manifest.ciphertext.size,
        rows_total: manifest.rows_total,
        verification,
    })
}
