//! The manifest beside each backup: what was backed up, hashes, SQLite facts and the
//! verification result (JSON, `format_version` 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::BackupError;
use crate::files::write_atomically;
use crate::names::MANIFEST_TEMP_EXTENSION;

/// The manifest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_VERSION`]; readers reject versions they do not know.
    pub format_version: u32,
    /// When the snapshot was taken (the time in the file name).
    #[serde(with = "utc_seconds")]
    pub created_utc: DateTime<Utc>,
    /// The database that was backed up.
    pub database: DatabaseInfo,
    /// Version of the InvGuard tool that wrote the backup.
    pub tool_version: String,
    /// The backup file.
    pub file: FileInfo,
    /// The snapshot before compression and encryption.
    pub plaintext: Digest,
    /// The backup file as stored.
    pub ciphertext: Digest,
    /// Facts about the snapshot that a restore can check.
    pub sqlite: SqliteInfo,
    /// Row count of every user table in the snapshot.
    pub tables: BTreeMap<String, u64>,
    /// Sum of [`tables`](Self::tables).
    pub rows_total: u64,
    /// How the backup is encrypted.
    pub encryption: EncryptionInfo,
    /// How the snapshot is compressed.
    pub compression: CompressionInfo,
    /// The latest verification result.
    pub verification: Verification,
}

/// `database` in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// `[database] name`.
    pub name: String,
    /// The resolved path of the live database.
    pub source_path: PathBuf,
}

/// `file` in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The backup file name, without directory.
    pub name: String,
}

/// SHA-256 and size of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// `sqlite` in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqliteInfo {
    /// `PRAGMA page_size`.
    pub page_size: u64,
    /// `PRAGMA page_count`.
    pub page_count: u64,
    /// SHA-256 (hex) of the sorted `sql` column of `sqlite_schema`.
    pub schema_hash: String,
}

/// `encryption` in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionInfo {
    /// The encryption mode.
    pub mode: EncryptionKind,
    /// Primary key fingerprints (upper-case hex) of the recipients; empty without public keys.
    pub recipients: Vec<String>,
}

/// The encryption mode recorded in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionKind {
    /// OpenPGP with a passphrase.
    Passphrase,
    /// OpenPGP to public keys.
    PublicKey,
    /// No encryption.
    None,
}

impl From<invguard_config::EncryptionMode> for EncryptionKind {
    fn from(mode: invguard_config::EncryptionMode) -> Self {
        match mode {
            invguard_config::EncryptionMode::Passphrase => Self::Passphrase,
            invguard_config::EncryptionMode::PublicKey => Self::PublicKey,
            invguard_config::EncryptionMode::None => Self::None,
        }
    }
}

/// `compression` in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressionInfo {
    /// Always `zstd`.
    pub algorithm: String,
    /// The zstd level.
    pub level: i32,
}

/// `verification` in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Passed or failed.
    pub result: VerificationResult,
    /// How thoroughly the backup was checked.
    pub level: VerificationLevel,
    /// When the check finished.
    #[serde(with = "utc_seconds")]
    pub time: DateTime<Utc>,
    /// Why the check failed, or a note about a passed check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The result of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerificationResult {
    /// Every check passed.
    Passed,
    /// A check failed; see the message.
    Failed,
}

/// How thoroughly a backup was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerificationLevel {
    /// Hashes, authenticated decryption, decompression, `PRAGMA quick_check`, row counts.
    Quick,
    /// As `quick`, plus `PRAGMA integrity_check`.
    Full,
    /// Without a secret key: the ciphertext hash, the recipients of the message, and the
    /// checks done on the snapshot before encryption.
    Ciphertext,
}

impl From<invguard_config::VerifyLevel> for VerificationLevel {
    fn from(level: invguard_config::VerifyLevel) -> Self {
        match level {
            invguard_config::VerifyLevel::Quick => Self::Quick,
            invguard_config::VerifyLevel::Full => Self::Full,
        }
    }
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    ///
    /// # Errors
    ///
    /// [`BackupError::UnknownManifestVersion`] for a `format_version` other than
    /// [`FORMAT_VERSION`], [`BackupError::ManifestInvalid`] for invalid JSON or a missing
    /// field, or an I/O error.
    pub fn read(path: &Path) -> Result<Self, BackupError> {
        let text = fs_err::read_to_string(path)?;
        Self::from_json(path, &text)
    }

    /// Parses manifest JSON; `path` is only used in errors.
    ///
    /// # Errors
    ///
    /// As [`Manifest::read`], without the I/O error.
    pub fn from_json(path: &Path, text: &str) -> Result<Self, BackupError> {
        let invalid = |source| BackupError::ManifestInvalid { path: path.to_owned(), source };

        // The version is checked before the shape, so a newer manifest with other fields is
        // reported as a version problem rather than as invalid JSON.
        let value: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        let version = value.get("format_version").and_then(serde_json::Value::as_u64);
        match version {
            Some(version) if version == u64::from(FORMAT_VERSION) => {}
            Some(version) => {
                return Err(BackupError::UnknownManifestVersion {
                    path: path.to_owned(),
                    version,
                    known: FORMAT_VERSION,
                });
            }
            None => {
                use serde::de::Error as _;
                let source = serde_json::Error::custom("missing or invalid `format_version`");
                return Err(invalid(source));
            }
        }

        serde_json::from_value(value).map_err(invalid)
    }

    /// Returns the manifest as pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the manifest to `path` atomically (temporary name, fsync, rename, fsync of the
    /// directory), mode 0600.
    ///
    /// # Errors
    ///
    /// An I/O error, [`BackupError::DiskFull`] when the disk is full.
    pub fn write(&self, path: &Path) -> Result<(), BackupError> {
        let mut temp = path.as_os_str().to_owned();
        temp.push(MANIFEST_TEMP_EXTENSION);
        write_atomically(path, Path::new(&temp), self.to_json().as_bytes())?;
        tracing::debug!(path = %path.display(), "wrote manifest");
        Ok(())
    }

    /// Returns ciphertext size divided by plaintext size (0 for an empty plaintext).
    pub fn compression_ratio(&self) -> f64 {
        if self.plaintext.size == 0 {
            0.0
        } else {
            self.ciphertext.size as f64 / self.plaintext.size as f64
        }
    }
}

/// RFC 3339 UTC with whole seconds, as in `2026-12-04T02:00:00Z`.
pub(crate) mod utc_seconds {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    pub(crate) fn sample() -> Manifest {
        let time = Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap();
        Manifest {
            format_version: FORMAT_VERSION,
            created_utc: time,
            database: DatabaseInfo {
                name: "inventory".to_owned(),
                source_path: PathBuf::from("/app/data/inventory.db"),
            },
            tool_version: "0.1.0".to_owned(),
            file: FileInfo { name: "inventory-20261204T020000Z.db.zst.gpg".to_owned() },
            plaintext: Digest { sha256: "aa".repeat(32), size: 123 },
            ciphertext: Digest { sha256: "bb".repeat(32), size: 45 },
            sqlite: SqliteInfo { page_size: 4096, page_count: 30, schema_hash: "cc".repeat(32) },
            tables: BTreeMap::from([("items".to_owned(), 120), ("categories".to_owned(), 8)]),
            rows_total: 128,
            encryption: EncryptionInfo { mode: EncryptionKind::Passphrase, recipients: vec![] },
            compression: CompressionInfo { algorithm: "zstd".to_owned(), level: 3 },
            verification: Verification {
                result: VerificationResult::Passed,
                level: VerificationLevel::Quick,
                time: time + chrono::Duration::seconds(5),
                message: None,
            },
        }
    }

    #[test]
    fn json_round_trips() {
        let manifest = sample();
        let parsed = Manifest::from_json(Path::new("m.json"), &manifest.to_json()).unwrap();
        assert_eq!(parsed, manifest);
    }

    #[test]
    fn json_uses_contract_spelling() {
        let json = sample().to_json();
        assert!(json.contains(r#""created_utc": "2026-12-04T02:00:00Z""#), "{json}");
        assert!(json.contains(r#""mode": "passphrase""#), "{json}");
        assert!(json.contains(r#""result": "passed""#), "{json}");
        assert!(!json.contains("message"), "{json}");
    }

    #[test]
    fn from_json_rejects_unknown_version() {
        let json = sample().to_json().replace(r#""format_version": 1"#, r#""format_version": 2"#);
        let error = Manifest::from_json(Path::new("/b/x.manifest.json"), &json).unwrap_err();
        assert!(matches!(error, BackupError::UnknownManifestVersion { version: 2, .. }));
    }

    #[test]
    fn from_json_rejects_missing_version() {
        let error = Manifest::from_json(Path::new("x.manifest.json"), "{}").unwrap_err();
        assert!(matches!(error, BackupError::ManifestInvalid { .. }), "{error:?}");
    }
}
