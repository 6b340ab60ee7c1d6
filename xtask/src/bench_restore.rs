//! Benchmark rows for restore and cleanup: `backup_cron restore` against `gpg -d | zstd -d`
//! followed by `sqlite3 'PRAGMA quick_check'`, and `backup_cron cleanup` over 10,000 backups.
//!
//! The cleanup section generates its own backup directory: 10,000 hourly backups (small
//! placeholder files with real manifests), refilled before every run because each run deletes
//! most of them. Cleanup reads only names and manifests, so the file contents do not matter.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::bench::Setup;
use crate::bench::cases::{Case, Input, Section};
use crate::bench::measure::{self, Sample};
use crate::tools;

/// Backups in the cleanup benchmark's directory.
pub const CLEANUP_BACKUPS: u32 = 10_000;

/// Our restore: decrypt, decompress, hash checks, `quick_check`, row counts, fsync, rename.
pub const RESTORE: &str = "backup_cron restore (decrypt, check, fsync, rename)";
/// The same with the standard tools.
pub const SHELL_RESTORE: &str = "gpg -d | zstd -d > DB; sqlite3 DB 'PRAGMA quick_check'";
/// Our cleanup deleting all but a few dozen of 10,000 backups.
pub const CLEANUP: &str = "backup_cron cleanup, 10,000 backups";
/// Our cleanup planning only.
pub const CLEANUP_DRY_RUN: &str = "backup_cron cleanup --dry-run, 10,000 backups";

/// The restore and cleanup sections, in report order.
pub fn sections() -> Vec<Section> {
    vec![
        Section {
            title: "Restore",
            before: ensure_reference_backup,
            cases: vec![
                Case { name: RESTORE, ours: true, run: ours_restore },
                Case { name: SHELL_RESTORE, ours: false, run: shell_restore },
            ],
        },
        Section {
            title: "Cleanup",
            before: |_, _| Ok(()),
            cases: vec![
                Case { name: CLEANUP, ours: true, run: |s, i| ours_cleanup(s, i, false) },
                Case { name: CLEANUP_DRY_RUN, ours: true, run: |s, i| ours_cleanup(s, i, true) },
            ],
        },
    ]
}

/// Makes sure a backup exists for the restore cases, taking one if the directory has none.
fn ensure_reference_backup(setup: &Setup, input: &mut Input) -> anyhow::Result<()> {
    if input.reference_backup.is_some() {
        return Ok(());
    }
    if tools::newest_backup(&input.backups).is_err() {
        run_ours(setup, &input.config, &input.dir, &["backup"])?;
    }
    input.reference_backup = Some(tools::newest_backup(&input.backups)?);
    Ok(())
}

fn ours_restore(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let backup = input.reference_backup.as_deref().context("no reference backup")?;
    let target = scratch(input, "restored.db")?;
    let args = ["restore", &backup.to_string_lossy(), "--to", &target.to_string_lossy()];

    let sample = run_ours(setup, &input.config, &input.dir, &args)?.with_output(&target)?;
    tools::remove_file_if_exists(&target)?;
    Ok(sample)
}

fn shell_restore(setup: &Setup, input: &Input) -> anyhow::Result<Sample> {
    let backup = input.reference_backup.as_deref().context("no reference backup")?;
    let target = scratch(input, "shell-restored.db")?;
    let mut decrypt = gpg(setup);
    decrypt.arg("--decrypt").arg(backup);
    let mut decompress = Command::new("zstd");
    decompress.args(["-d", "-q", "-f", "-o"]).arg(&target);

    let restored = measure::piped(&mut decrypt, &mut decompress)?;
    let check =
        measure::timed(Command::new("sqlite3").arg(&target).arg("PRAGMA quick_check"), None)?;
    let sample = restored.then(check).with_output(&target)?;
    tools::remove_file_if_exists(&target)?;
    Ok(sample)
}

/// Refills the cleanup directory to [`CLEANUP_BACKUPS`] backups, then runs cleanup on it.
fn ours_cleanup(setup: &Setup, input: &Input, dry_run: bool) -> anyhow::Result<Sample> {
    let dir = setup.work.join("cleanup");
    let backups = dir.join("backups");
    tools::create_private_dir(&backups)?;
    fill_backups(&backups)?;
    let config = cleanup_config(setup, input, &dir, &backups)?;

    let args: &[&str] = if dry_run { &["cleanup", "--dry-run"] } else { &["cleanup"] };
    run_ours(setup, &config, &dir, args)
}

/// Writes the hourly backups that are missing, each a 64-byte file with its manifest.
fn fill_backups(dir: &Path) -> anyhow::Result<()> {
    let first = 1_767_225_600; // 2026-01-01T00:00:00Z
    for index in 0..i64::from(CLEANUP_BACKUPS) {
        let created = utc(first + index * 3600)?;
        let stem = format!("inventory-{}", created.format("%Y%m%dT%H%M%SZ"));
        let backup = dir.join(format!("{stem}.db.zst.gpg"));
        if backup.exists() {
            continue;
        }
        fs_err::write(&backup, [0u8; 64])?;
        let result = if index % 13 == 0 { "failed" } else { "passed" };
        let time = created.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let manifest = manifest_json(&stem, &time, result);
        fs_err::write(dir.join(format!("{stem}.manifest.json")), manifest)?;
    }
    Ok(())
}

/// A manifest as the backup pipeline writes it, with placeholder hashes.
fn manifest_json(stem: &str, time: &str, result: &str) -> String {
    let hash = "ab".repeat(32);
    format!(
        r#"{{"format_version": 1, "created_utc": "{time}",
  "database": {{"name": "inventory", "source_path": "/app/data/inventory.db"}},
  "tool_version": "0.1.0", "file": {{"name": "{stem}.db.zst.gpg"}},
  "plaintext": {{"sha256": "{hash}", "size": 4096}},
  "ciphertext": {{"sha256": "{hash}", "size": 64}},
  "sqlite": {{"page_size": 4096, "page_count": 1, "schema_hash": "{hash}"}},
  "tables": {{"items": 1}}, "rows_total": 1,
  "encryption": {{"mode": "passphrase", "recipients": []}},
  "compression": {{"algorithm": "zstd", "level": 3}},
  "verification": {{"result": "{result}", "level": "quick", "time": "{time}"}}}}
"#
    )
}

/// The cleanup benchmark's configuration: a classic daily/weekly/monthly policy.
fn cleanup_config(
    setup: &Setup,
    input: &Input,
    dir: &Path,
    backups: &Path,
) -> anyhow::Result<PathBuf> {
    let config = dir.join("invguard.toml");
    let text = format!(
        "timezone = \"Europe/Berlin\"\n\n[database]\npath = {:?}\nname = \"inventory\"\n\n\
         [backup]\ndir = {:?}\n\n[encryption]\nmode = \"passphrase\"\npassphrase_file = {:?}\n\n\
         [retention]\nkeep_daily = 7\nkeep_weekly = 4\nkeep_monthly = 12\nmin_keep = 3\n",
        input.database.display().to_string(),
        backups.display().to_string(),
        setup.passphrase.display().to_string(),
    );
    tools::write_private_file(&config, text.as_bytes())?;
    Ok(config)
}

/// Runs `backup_cron --config CONFIG -q ARGS` under GNU time with a clean environment.
fn run_ours(setup: &Setup, config: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<Sample> {
    let report = dir.join("time-report-restore.txt");
    tools::remove_file_if_exists(&report)?;
    let mut command = Command::new(&setup.time);
    command.arg("-v").arg("-o").arg(&report).arg(&setup.backup_cron);
    command.arg("--config").arg(config).arg("-q").args(args);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    measure::timed(&mut command, Some(&report))
}

/// `gpg` in batch mode with the benchmark's passphrase file and GnuPG home.
fn gpg(setup: &Setup) -> Command {
    let mut command = Command::new("gpg");
    command.env("GNUPGHOME", &setup.gnupg);
    command.args(["--batch", "--yes", "--quiet", "--pinentry-mode", "loopback"]);
    command.arg("--no-symkey-cache").arg("--passphrase-file").arg(&setup.passphrase);
    command
}

fn scratch(input: &Input, name: &str) -> anyhow::Result<PathBuf> {
    let path = input.dir.join(name);
    tools::remove_file_if_exists(&path)?;
    Ok(path)
}

fn utc(seconds: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0).context("time out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_json_is_valid_json() {
        let text = manifest_json("inventory-20260101T000000Z", "2026-01-01T00:00:00Z", "passed");

        let value: serde_json::Value = serde_json::from_str(&text).unwrap();

        assert_eq!(value["file"]["name"], "inventory-20260101T000000Z.db.zst.gpg");
    }
}
