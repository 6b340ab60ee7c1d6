//! `backup_cron list`: the backups of the backup directory, newest first, as a table or JSON.
//!
//! The JSON form is an array of objects with the fields `name`, `created_utc`, `size`,
//! `ciphertext_sha256`, `compression_ratio`, `verification` (`result`, `level`, `time`),
//! `rows_total`, `encryption`, `recipients`, `legacy` and `incomplete`. A value unknown for a
//! backup is `null`. Scripts may rely on these names.

#![allow(clippy::print_stdout, reason = "the listing is the command's output")]

use chrono_tz::Tz;
use indicatif::HumanBytes;
use invguard_backup::{BackupEntry, DirLock, VerificationResult, list_backups};

use crate::cli::ListArgs;
use crate::commands::{Context, level_name};
use crate::exit::Exit;

const COLUMNS: usize = 8;

/// Lists the backups under a shared lock, so no writer changes them meanwhile.
pub fn run(ctx: &Context, args: &ListArgs) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let dir = &config.backup.dir;

    let entries = if dir.exists() {
        let _lock = DirLock::shared(dir, "list")?;
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
    let header = ["CREATED (UTC)", &local, "SIZE", "RATIO", "VERIFIED", "LEVEL", "ROWS", "NAME"];
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
        entry.name.clone(),
    ]
}

/// Pads `cell` to `width`: size, ratio and rows right-aligned, the rest left-aligned.
fn align(cell: &str, width: usize, column: usize) -> String {
    if matches!(column, 2 | 3 | 6) { format!("{cell:>width$}") } else { format!("{cell:<width$}") }
}
