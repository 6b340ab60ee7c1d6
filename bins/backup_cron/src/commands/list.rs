//! `backup_cron list`: the backups of the backup directory, newest first, as a table or JSON.
//!
//! The JSON form is an array of objects with the fields `name`, `created_utc`, `size`,
//! `ciphertext_sha256`, `compression_ratio`, `verification` (`result`, `level`, `time`),
//! `rows_total`, `encryption`, `recipients`, `legacy`, `incomplete` and `manifest_error`. A
//! value unknown for a backup is `null`. Scripts may rely on these names.
//!
//! The listing only reads, so it runs beside a backup or another writer: it takes the shared
//! lock when it can, and otherwise warns that the listing may change.

#![allow(clippy::print_stdout, reason = "the listing is the command's output")]

use chrono_tz::Tz;
use indicatif::HumanBytes;
use invguard_backup::{BackupEntry, DirLock, EncryptionKind, VerificationResult, list_backups};

use crate::cli::ListArgs;
use crate::commands::{Context, level_name};
use crate::exit::Exit;

const COLUMNS: usize = 9;

/// Lists the backups, under the shared lock unless a writer holds the lock.
pub fn run(ctx: &Context, args: &ListArgs) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let dir = &config.backup.dir;

    let entries = if dir.exists() {
        let access = DirLock::shared_or_writer(dir, "list")?;
        if let Some(writer) = access.writer() {
            tracing::warn!("{writer}: the listing may change when it finishes");
        }
        list_backups(dir)?
    } else {
        tracing::warn!(dir = %dir.display(), "the backup directory does not exist yet");
        Vec::new()
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        print!("{}", render_table(&entries, config.timezone));
    }
    Ok(Exit::Success)
}

/// Renders the table with aligned columns and a total line.
fn render_table(entries: &[BackupEntry], timezone: Tz) -> String {
    let local = format!("LOCAL ({timezone})");
    let header =
        ["CREATED (UTC)", &local, "SIZE", "RATIO", "VERIFIED", "LEVEL", "ROWS", "KEY", "NAME"];
    let mut rows = vec![header.map(String::from).to_vec()];
    rows.extend(entries.iter().map(|entry| row(entry, timezone)));

    let widths: Vec<usize> = (0..COLUMNS)
        .map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, width))| align(cell, *width, column))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }

    let total: u64 = entries.iter().map(|entry| entry.size).sum();
    let noun = if entries.len() == 1 { "backup" } else { "backups" };
    out.push_str(&format!("{} {noun}, {} in total\n", entries.len(), HumanBytes(total)));
    out
}

/// Formats the cells of one backup row.
fn row(entry: &BackupEntry, timezone: Tz) -> Vec<String> {
    let local = entry.created_utc.with_timezone(&timezone);
    let (verified, level) = match &entry.verification {
        Some(summary) => {
            let result = match summary.result {
                VerificationResult::Passed => "passed",
                VerificationResult::Failed => "FAILED",
            };
            (result.to_string(), level_name(summary.level).to_string())
        }
        None if entry.manifest_error.is_some() => ("UNREADABLE".to_string(), "-".to_string()),
        None if entry.legacy => ("legacy".to_string(), "-".to_string()),
        None if entry.incomplete => ("INCOMPLETE".to_string(), "-".to_string()),
        None => ("-".to_string(), "-".to_string()),
    };

    vec![
        entry.created_utc.format("%Y-%m-%d %H:%M:%S").to_string(),
        local.format("%Y-%m-%d %H:%M %Z").to_string(),
        HumanBytes(entry.size).to_string(),
        entry.compression_ratio.map_or_else(|| "-".to_string(), |ratio| format!("{ratio:.3}")),
        verified,
        level,
        entry.rows_total.map_or_else(|| "-".to_string(), |rows| rows.to_string()),
        keys_needed(entry),
        name_cell(entry),
    ]
}

/// Describes what decrypts a backup: `passphrase`, `key 0x0123ABCD…` (the start of the
/// recipient's fingerprint), `passphrase + 2 keys`, `none`, or `legacy (passphrase)`; `-` when
/// no readable manifest records it (an incomplete backup or an unreadable manifest).
fn keys_needed(entry: &BackupEntry) -> String {
    if entry.legacy {
        return "legacy (passphrase)".to_string();
    }
    if entry.incomplete || entry.manifest_error.is_some() {
        return "-".to_string();
    }
    let keys = match entry.recipients.as_slice() {
        [] => None,
        [fingerprint] => Some(format!("key {}", short_fingerprint(fingerprint))),
        recipients => Some(format!("{} keys", recipients.len())),
    };
    match (entry.encryption, keys) {
        (Some(EncryptionKind::None), _) => "none".to_string(),
        (Some(EncryptionKind::Passphrase), None) => "passphrase".to_string(),
        (Some(EncryptionKind::Passphrase), Some(keys)) => format!("passphrase + {keys}"),
        (Some(EncryptionKind::PublicKey), Some(keys)) => keys,
        (Some(EncryptionKind::PublicKey), None) => "public key".to_string(),
        (None, _) => "-".to_string(),
    }
}

/// Formats the first 8 hex digits of a fingerprint, marked as shortened: `0x0123ABCD…`.
fn short_fingerprint(fingerprint: &str) -> String {
    let start: String = fingerprint.chars().take(8).collect();
    if start.len() < fingerprint.len() { format!("0x{start}…") } else { format!("0x{start}") }
}

/// Formats the backup name, followed by the reason when its manifest cannot be read.
fn name_cell(entry: &BackupEntry) -> String {
    match &entry.manifest_error {
        Some(reason) => format!("{}  manifest unreadable: {reason}", entry.name),
        None => entry.name.clone(),
    }
}

/// Pads `cell` to `width`: size, ratio and rows right-aligned, the rest left-aligned.
fn align(cell: &str, width: usize, column: usize) -> String {
    if matches!(column, 2 | 3 | 6) { format!("{cell:>width$}") } else { format!("{cell:<width$}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_fingerprint_marks_shortened_fingerprints() {
        assert_eq!(short_fingerprint("0123456789ABCDEF0123456789ABCDEF01234567"), "0x01234567…");
        assert_eq!(short_fingerprint("ABCD"), "0xABCD");
    }
}
