//! Finds the backup a restore uses: a named file, the newest good one, or the newest good one
//! before a time.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::BackupError;
use crate::manifest::{Manifest, VerificationResult};
use crate::names::BackupName;
use crate::pipeline::BackupFormat;

/// A backup file that a restore may use, with its manifest when it has one.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) format: BackupFormat,
    pub(crate) created_utc: DateTime<Utc>,
    pub(crate) manifest: Option<Manifest>,
}

impl Source {
    pub(crate) fn is_legacy(&self) -> bool {
        self.format == BackupFormat::LegacyOpenPgp
    }
}

/// A backup that `--latest` or `--before` passed over, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedBackup {
    /// The backup file name.
    pub name: String,
    /// The reason it was skipped, in words.
    pub reason: String,
}

/// Opens the backup `requested`: a path, or a file name in `dir`.
///
/// A backup without manifest (an incomplete backup, or a legacy one) is returned without
/// manifest; the caller checks it as far as that allows.
///
/// # Errors
///
/// [`BackupError::BackupNotFound`], [`BackupError::NotABackup`], or an error reading the
/// manifest (including [`BackupError::UnknownManifestVersion`]).
pub(crate) fn named(dir: &Path, requested: &Path) -> Result<Source, BackupError> {
    let in_dir = dir.join(requested);
    let path = if requested.components().count() == 1 && in_dir.is_file() {
        in_dir
    } else {
        requested.to_owned()
    };
    let metadata = fs_err::metadata(&path)
        .map_err(|_| BackupError::BackupNotFound { path: requested.to_owned() })?;

    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
    let format = BackupFormat::from_file_name(&name)
        .ok_or_else(|| BackupError::NotABackup { path: path.clone() })?;
    let parsed = BackupName::parse(&name);
    let format = if parsed.is_none() && format.is_encrypted() {
        BackupFormat::LegacyOpenPgp
    } else {
        format
    };

    let manifest = match &parsed {
        Some(backup) => read_manifest_if_present(&path.with_file_name(backup.manifest_name()))?,
        None => None,
    };
    let created_utc = match (&manifest, &parsed) {
        (Some(manifest), _) => manifest.created_utc,
        (None, Some(backup)) => backup.created_utc,
        (None, None) => modified(&metadata),
    };
    Ok(Source { path, name, format, created_utc, manifest })
}

/// The backups `--latest` and `--before` choose from, each list newest first.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    /// Backups to try in order.
    pub(crate) usable: Vec<Source>,
    /// Backups passed over, with the reason.
    pub(crate) unusable: Vec<(Source, String)>,
}

/// Lists the backups of `database` in `dir` (and legacy backups) for `--latest` and
/// `--before`. Backups that cannot be restored safely are returned as unusable: incomplete
/// ones, those whose manifest records a failed verification, and unreadable manifests.
///
/// # Errors
///
/// [`BackupError::NoBackupBefore`] when backups exist but none was created before `before`,
/// or an error reading the directory.
pub(crate) fn candidates(
    dir: &Path,
    database: &str,
    before: Option<DateTime<Utc>>,
) -> Result<Candidates, BackupError> {
    let mut usable = Vec::new();
    let mut unusable = Vec::new();
    let mut oldest: Option<DateTime<Utc>> = None;

    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let Some(source) = source_from_entry(&entry, database) else {
            continue;
        };
        oldest = Some(oldest.map_or(source.created_utc, |time| time.min(source.created_utc)));
        if before.is_some_and(|before| source.created_utc >= before) {
            continue;
        }
        let mut source = source;
        match load_manifest(&mut source) {
            Ok(None) => usable.push(source),
            Ok(Some(reason)) => unusable.push((source, reason)),
            Err(error) => unusable.push((source, error.to_string())),
        }
    }

    if let (Some(before), Some(oldest)) = (before, oldest)
        && usable.is_empty()
        && unusable.is_empty()
    {
        return Err(BackupError::NoBackupBefore { dir: dir.to_owned(), before, oldest });
    }

    usable.sort_by(newest_first);
    unusable.sort_by(|a, b| newest_first(&a.0, &b.0));
    Ok(Candidates { usable, unusable })
}

/// Turns a directory entry into a backup of `database` or a legacy backup; `None` for
/// anything else, symbolic links included.
fn source_from_entry(entry: &fs_err::DirEntry, database: &str) -> Option<Source> {
    let metadata = entry.metadata().ok()?;
    if !metadata.is_file() {
        return None;
    }
    let name = entry.file_name().into_string().ok()?;
    let format = BackupFormat::from_file_name(&name)?;

    match BackupName::parse(&name) {
        Some(backup) if backup.database == database => {
            let source = Source {
                path: entry.path(),
                name,
                format,
                created_utc: backup.created_utc,
                manifest: None,
            };
            Some(source)
        }
        Some(_) => None,
        None if format == BackupFormat::LegacyOpenPgp && !name.starts_with('.') => Some(Source {
            path: entry.path(),
            name,
            format,
            created_utc: modified(&metadata),
            manifest: None,
        }),
        None => None,
    }
}

/// Reads the manifest of `source` into it and returns why the backup must be skipped, if it
/// must. Legacy backups have no manifest and are never skipped here.
fn load_manifest(source: &mut Source) -> Result<Option<String>, BackupError> {
    if source.is_legacy() {
        return Ok(None);
    }
    let Some(backup) = BackupName::parse(&source.name) else {
        return Ok(Some("not a backup file name".to_owned()));
    };
    let manifest_path = source.path.with_file_name(backup.manifest_name());
    let Some(manifest) = read_manifest_if_present(&manifest_path)? else {
        return Ok(Some("incomplete: it has no manifest".to_owned()));
    };

    let failed = manifest.verification.result == VerificationResult::Failed;
    let reason = failed.then(|| {
        let detail = manifest.verification.message.as_deref().unwrap_or("no details recorded");
        let time = manifest.verification.time.format("%Y-%m-%dT%H:%M:%SZ");
        format!("its verification failed at {time}: {detail}")
    });
    source.created_utc = manifest.created_utc;
    source.manifest = Some(manifest);
    Ok(reason)
}

/// Reads the manifest at `path`, or `None` when there is no such file.
fn read_manifest_if_present(path: &Path) -> Result<Option<Manifest>, BackupError> {
    if fs_err::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    Manifest::read(path).map(Some)
}

/// Newest first; within one second, the higher sequence suffix (longer name) first.
fn newest_first(a: &Source, b: &Source) -> std::cmp::Ordering {
    let key = |source: &Source| (source.created_utc, source.name.len(), source.name.clone());
    key(b).cmp(&key(a))
}

fn modified(metadata: &std::fs::Metadata) -> DateTime<Utc> {
    DateTime::from_timestamp(metadata.mtime(), 0).unwrap_or_default()
}

/// Parses the `--before` time: RFC 3339, or a local date and time in `timezone`
/// (`YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD` for midnight).
///
/// A local time that occurs twice (clocks going back) means the first occurrence.
///
/// # Errors
///
/// [`BackupError::InvalidTime`] for any other text, or a local time that does not exist in
/// `timezone` (clocks going forward).
pub fn parse_time(text: &str, timezone: Tz) -> Result<DateTime<Utc>, BackupError> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }

    let invalid = |reason: String| BackupError::InvalidTime { value: text.to_owned(), reason };
    let local = parse_local(text).ok_or_else(|| {
        invalid("expected RFC 3339 or YYYY-MM-DD [HH:MM[:SS]] in local time".to_owned())
    })?;

    match timezone.from_local_datetime(&local) {
        LocalResult::Single(time) => Ok(time.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(invalid(format!(
            "this local time does not exist in {timezone} (the clocks skip it); give an RFC 3339 \
             time with an offset"
        ))),
    }
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"];
    for format in formats {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|date| date.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn parse_time_accepts_rfc3339_with_offset() {
        let time = parse_time("2026-12-04T09:30:00+01:00", chrono_tz::UTC).unwrap();

        assert_eq!(time, utc("2026-12-04T08:30:00Z"));
    }

    #[test]
    fn parse_time_reads_local_time_in_timezone() {
        let berlin = chrono_tz::Europe::Berlin;

        assert_eq!(parse_time("2026-12-04 09:30", berlin).unwrap(), utc("2026-12-04T08:30:00Z"));
        assert_eq!(parse_time("2026-07-01", berlin).unwrap(), utc("2026-06-30T22:00:00Z"));
    }

    #[test]
    fn parse_time_takes_first_of_repeated_local_time() {
        let time = parse_time("2026-10-25 02:30", chrono_tz::Europe::Berlin).unwrap();

        assert_eq!(time, utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn parse_time_rejects_skipped_local_time() {
        let error = parse_time("2026-03-29 02:30", chrono_tz::Europe::Berlin).unwrap_err();

        assert!(error.to_string().contains("does not exist in Europe/Berlin"), "{error}");
    }

    #[test]
    fn parse_time_rejects_other_text() {
        let error = parse_time("yesterday", chrono_tz::UTC).unwrap_err();

        assert!(error.to_string().contains("yesterday"), "{error}");
    }
}
