//! Backup listings for the checks: the facts used per backup, and their source.
//!
//! The `backup_status` and `disk_space` checks read a [`BackupCatalog`] so that the backup
//! crate's manifest reader plugs in and tests can supply their own listing.

use std::error::Error;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use invguard_backup::VerificationResult;

/// The verification result recorded for a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The backup was decrypted and checked successfully.
    Passed,
    /// Verification failed, with the manifest's message when it has one.
    Failed(Option<String>),
    /// No verification result, as for legacy backups without a manifest.
    Missing,
    /// The manifest exists but cannot be read (invalid JSON, an unknown `format_version`), with
    /// the reason. The backup never counts as verified.
    Unreadable(String),
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
    /// Lists the backups of the database named `database` (`[database] name`) in `dir`,
    /// newest first. Backups of other databases sharing the directory are left out.
    ///
    /// # Errors
    ///
    /// Returns an error when the directory or a manifest cannot be read.
    fn list_backups(
        &self,
        dir: &Path,
        database: &str,
    ) -> Result<Vec<BackupSummary>, Box<dyn Error + Send + Sync>>;
}

/// Lists a backup directory with [`invguard_backup::list_backups`]: the database's backups
/// with a manifest, its incomplete backups, and legacy backups (which carry no database
/// name), newest first.
///
/// The listing takes no directory lock, so a running backup does not make the checks wait or
/// fail. Manifests are replaced atomically, so a listing sees each one whole or not at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectoryCatalog;

impl BackupCatalog for DirectoryCatalog {
    fn list_backups(
        &self,
        dir: &Path,
        database: &str,
    ) -> Result<Vec<BackupSummary>, Box<dyn Error + Send + Sync>> {
        let entries = invguard_backup::list_backups(dir)?;
        let own = entries.iter().filter(|entry| entry.is_of_database(database));
        Ok(own.map(summarize).collect())
    }
}

fn summarize(entry: &invguard_backup::BackupEntry) -> BackupSummary {
    // Only a manifest records a verification; legacy and incomplete backups have none.
    let verification = match (&entry.manifest, &entry.manifest_error) {
        (Some(manifest), _) => match manifest.verification.result {
            VerificationResult::Passed => Verification::Passed,
            VerificationResult::Failed => {
                Verification::Failed(manifest.verification.message.clone())
            }
        },
        (None, Some(reason)) => Verification::Unreadable(reason.clone()),
        (None, None) => Verification::Missing,
    };
    BackupSummary {
        name: entry.name.clone(),
        created_utc: entry.created_utc,
        size: entry.size,
        rows_total: entry.rows_total,
        verification,
    }
}
