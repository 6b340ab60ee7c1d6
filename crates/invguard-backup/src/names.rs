//! Backup file names: `<name>-<UTC YYYYMMDDTHHMMSSZ>[-N].db.zst[.gpg]` and the names derived
//! from them (manifest, partial file).

use std::fmt;
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Extension of an encrypted backup.
pub const ENCRYPTED_EXTENSION: &str = ".db.zst.gpg";
/// Extension of an unencrypted backup (`[encryption] mode = "none"`).
pub const PLAIN_EXTENSION: &str = ".db.zst";
/// Extension of a manifest, after the stem.
pub const MANIFEST_EXTENSION: &str = ".manifest.json";
/// Extension of a backup file while it is written, after the final name.
pub const PARTIAL_EXTENSION: &str = ".partial";
/// Extension of a manifest while it is written, after the manifest name.
pub const MANIFEST_TEMP_EXTENSION: &str = ".tmp";

const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const TIME_LEN: usize = "20261204T020000Z".len();

/// The name of one backup: database name, creation second, sequence number and format.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BackupName {
    /// The database name (`[database] name`), the file name prefix.
    pub database: String,
    /// The creation time, whole seconds, UTC.
    pub created_utc: DateTime<Utc>,
    /// 1 for the first backup in a second, then 2, 3, ... (written as `-2`, `-3`).
    pub sequence: u32,
    /// Whether the file is OpenPGP-encrypted (`.gpg`).
    pub encrypted: bool,
}

impl BackupName {
    /// Creates the name of the first backup of `database` at `created_utc` (truncated to
    /// whole seconds).
    pub fn new(database: &str, created_utc: DateTime<Utc>, encrypted: bool) -> Self {
        let seconds = created_utc.timestamp();
        let created_utc = DateTime::from_timestamp(seconds, 0).unwrap_or(created_utc);
        Self { database: database.to_owned(), created_utc, sequence: 1, encrypted }
    }

    /// Returns the stem shared by the backup and its manifest, for example
    /// `inventory-20261204T020000Z` or `inventory-20261204T020000Z-2`.
    pub fn stem(&self) -> String {
        let time = self.created_utc.format(TIME_FORMAT);
        match self.sequence {
            1 => format!("{}-{time}", self.database),
            sequence => format!("{}-{time}-{sequence}", self.database),
        }
    }

    /// Returns the backup file name.
    pub fn file_name(&self) -> String {
        let extension = if self.encrypted { ENCRYPTED_EXTENSION } else { PLAIN_EXTENSION };
        format!("{}{extension}", self.stem())
    }

    /// Returns the manifest file name.
    pub fn manifest_name(&self) -> String {
        format!("{}{MANIFEST_EXTENSION}", self.stem())
    }

    /// Returns the name of the backup file while it is written.
    pub fn partial_name(&self) -> String {
        format!("{}{PARTIAL_EXTENSION}", self.file_name())
    }

    /// Returns the name the manifest is written under before its atomic rename.
    pub fn manifest_temp_name(&self) -> String {
        format!("{}{MANIFEST_TEMP_EXTENSION}", self.manifest_name())
    }

    /// Parses a backup file name (`.db.zst.gpg` or `.db.zst`); `None` for any other name.
    pub fn parse(file_name: &str) -> Option<Self> {
        let (stem, encrypted) = match file_name.strip_suffix(ENCRYPTED_EXTENSION) {
            Some(stem) => (stem, true),
            None => (file_name.strip_suffix(PLAIN_EXTENSION)?, false),
        };
        Self::parse_stem(stem, encrypted)
    }

    /// Parses the stem of a manifest file name; `encrypted` comes from the manifest itself.
    pub fn parse_manifest(file_name: &str) -> Option<Self> {
        Self::parse_stem(file_name.strip_suffix(MANIFEST_EXTENSION)?, true)
    }

    fn parse_stem(stem: &str, encrypted: bool) -> Option<Self> {
        let (rest, sequence) = split_sequence(stem);
        let time_start = rest.len().checked_sub(TIME_LEN)?;
        let (prefix, time) = rest.split_at(time_start);
        let database = prefix.strip_suffix('-')?;
        if database.is_empty() {
            return None;
        }
        let created = NaiveDateTime::parse_from_str(time, TIME_FORMAT).ok()?.and_utc();
        Some(Self { database: database.to_owned(), created_utc: created, sequence, encrypted })
    }

    /// Returns the first name at or after this one's sequence whose backup, partial and
    /// manifest names are all free in `dir`, in either format. Never returns a taken name.
    pub fn first_free_in(mut self, dir: &Path) -> Self {
        while self.is_taken_in(dir) {
            self.sequence += 1;
        }
        self
    }

    fn is_taken_in(&self, dir: &Path) -> bool {
        let mut other_format = self.clone();
        other_format.encrypted = !self.encrypted;
        let names = [
            self.file_name(),
            self.partial_name(),
            self.manifest_name(),
            self.manifest_temp_name(),
            other_format.file_name(),
            other_format.partial_name(),
        ];
        names.iter().any(|name| dir.join(name).symlink_metadata().is_ok())
    }
}

impl fmt::Display for BackupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

/// Splits a trailing `-N` (N >= 2) off a stem.
fn split_sequence(stem: &str) -> (&str, u32) {
    if let Some((rest, digits)) = stem.rsplit_once('-')
        && !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && let Ok(sequence) = digits.parse::<u32>()
        && sequence >= 2
    {
        return (rest, sequence);
    }
    (stem, 1)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap()
    }

    #[test]
    fn file_name_follows_contract() {
        let name = BackupName::new("inventory", time(), true);
        assert_eq!(name.file_name(), "inventory-20261204T020000Z.db.zst.gpg");
        assert_eq!(name.manifest_name(), "inventory-20261204T020000Z.manifest.json");
        assert_eq!(name.partial_name(), "inventory-20261204T020000Z.db.zst.gpg.partial");
    }

    #[test]
    fn file_name_with_sequence_and_no_encryption() {
        let mut name = BackupName::new("inventory", time(), false);
        name.sequence = 3;
        assert_eq!(name.file_name(), "inventory-20261204T020000Z-3.db.zst");
    }

    #[test]
    fn parse_round_trips_names_with_dashes() {
        for sequence in [1, 2, 17] {
            let mut name = BackupName::new("shop-db-2", time(), true);
            name.sequence = sequence;
            assert_eq!(BackupName::parse(&name.file_name()), Some(name.clone()));
            let manifest = BackupName::parse_manifest(&name.manifest_name()).unwrap();
            assert_eq!(manifest.stem(), name.stem());
        }
    }

    #[test]
    fn parse_rejects_other_names() {
        for other in ["inventory.db.gpg", "x-2026.db.zst", "-20261204T020000Z.db.zst", "a.txt"] {
            assert_eq!(BackupName::parse(other), None, "{other}");
        }
    }

    #[test]
    fn first_free_in_skips_taken_names() {
        let dir = tempfile::tempdir().unwrap();
        let name = BackupName::new("inventory", time(), true);
        fs_err::write(dir.path().join(name.file_name()), b"").unwrap();
        let mut second = name.clone();
        second.sequence = 2;
        fs_err::write(dir.path().join(second.manifest_name()), b"").unwrap();

        let free = name.first_free_in(dir.path());

        assert_eq!(free.file_name(), "inventory-20261204T020000Z-3.db.zst.gpg");
    }
}
