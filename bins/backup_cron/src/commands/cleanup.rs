//! `backup_cron cleanup`: delete the backups the retention policy no longer keeps.

use std::fmt::Write as _;

use chrono_tz::Tz;
use invguard_backup::BackupError;
use invguard_backup::cleanup::{CleanupReport, cleanup};
use invguard_backup::retention::{Decision, Verdict, VerifyState};

use crate::cli::CleanupArgs;
use crate::commands::Context;
use crate::exit::{Exit, UsageError};

/// Runs the `cleanup` command.
pub fn run(ctx: &Context, args: &CleanupArgs) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let report = cleanup(config, args.dry_run).map_err(|error| match error {
        // A policy that keeps nothing is a configuration mistake (exit code 2).
        BackupError::RetentionKeepsNothing { .. } => UsageError(error.to_string()).into(),
        error => anyhow::Error::new(error),
    })?;

    for manifest in &report.plan.orphan_manifests {
        tracing::warn!(manifest = %manifest, "manifest without backup file; delete it by hand if the backup is gone for good");
    }
    if !report.dry_run {
        log_deletions(&report);
    }
    print(&render(&report, config.timezone));
    Ok(Exit::Success)
}

/// Logs each deleted backup with the reason, each removed leftover, and a summary with the
/// policy, so that the log of a scheduled job shows what retention deleted.
fn log_deletions(report: &CleanupReport) {
    let plan = &report.plan;
    let policy = plan.policy.describe_rules();
    for decision in plan.retention.deleted() {
        let name = &decision.candidate.name;
        if !report.deleted.contains(name) {
            continue;
        }
        let reason = match &decision.verdict {
            Verdict::Delete(reason) => reason.to_string(),
            Verdict::Keep(_) => continue,
        };
        tracing::info!(backup = %name, reason = %reason, "deleted backup");
    }
    for leftover in &report.leftovers_removed {
        tracing::info!(path = %leftover, "removed a leftover of an interrupted run");
    }
    tracing::info!(
        policy = %policy,
        kept = plan.retention.kept().count() + plan.unreadable.len(),
        deleted = report.deleted.len(),
        leftovers = report.leftovers_removed.len(),
        freed_bytes = report.freed_bytes,
        "cleanup finished"
    );
}

/// Renders one line per backup (action, local time, state, name, rules), the backups and files
/// left alone, the leftovers, and a summary with the bytes freed.
pub fn render(report: &CleanupReport, timezone: Tz) -> String {
    let mut out = String::new();
    let plan = &report.plan;
    let _ = writeln!(out, "policy: {}", plan.policy.describe_rules());
    if let Some(writer) = &report.beside_writer {
        let _ = writeln!(
            out,
            "note: {writer}, so this plan was made without the lock and may change when it \
             finishes; its partial files are not shown as leftovers"
        );
    }

    for decision in &plan.retention.decisions {
        let _ = writeln!(out, "{}", decision_line(decision, timezone));
    }
    for backup in &plan.unreadable {
        let reason = format!("manifest unreadable: {}", backup.reason);
        let _ = writeln!(
            out,
            "{:<6}  {:<20}  {:<10}  {}  ({reason})",
            "keep", "", "unreadable", backup.name
        );
    }
    for file in &plan.other_gpg_files {
        let reason = "not named like a backup of the Python service for this database";
        let _ = writeln!(out, "{:<6}  {:<20}  {:<10}  {file}  ({reason})", "keep", "", "other");
    }
    for leftover in &plan.leftovers {
        let _ = writeln!(out, "{:<6}  {:<20}  {:<10}  {leftover}", "delete", "", "leftover");
    }

    let kept = plan.retention.kept().count() + plan.unreadable.len();
    let deleted = plan.retention.deleted().count();
    let bytes = size(report.freed_bytes);
    if report.dry_run {
        let leftovers = count(plan.leftovers.len(), "leftover");
        let _ = writeln!(
            out,
            "dry run: would keep {kept}, delete {deleted}, remove {leftovers}, free {bytes}"
        );
    } else {
        let leftovers = count(report.leftovers_removed.len(), "leftover");
        let _ = writeln!(out, "kept {kept}, deleted {deleted}, removed {leftovers}, freed {bytes}");
    }
    if !plan.unreadable.is_empty() {
        let _ = writeln!(
            out,
            "{} never deleted and not counted as good: restore the manifest from another copy, \
             or check the backup with `backup_cron verify` and delete it by hand",
            count(plan.unreadable.len(), "backup with an unreadable manifest")
        );
    }
    out
}

/// `1 leftover`, `2 leftovers`.
fn count(number: usize, noun: &str) -> String {
    match number {
        1 => format!("1 {noun}"),
        _ => match noun.split_once(' ') {
            Some((first, rest)) => format!("{number} {first}s {rest}"),
            None => format!("{number} {noun}s"),
        },
    }
}

fn decision_line(decision: &Decision, timezone: Tz) -> String {
    let candidate = &decision.candidate;
    let local = candidate.created_utc.with_timezone(&timezone).format("%Y-%m-%d %H:%M %Z");
    let state = match (candidate.legacy, candidate.verification) {
        (true, _) => "legacy",
        (false, VerifyState::Passed) => "verified",
        (false, VerifyState::Failed) => "failed",
        (false, VerifyState::Unverified) => "unverified",
    };
    let (action, reasons) = match &decision.verdict {
        Verdict::Keep(reasons) => {
            ("keep", reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        }
        Verdict::Delete(reason) => ("delete", reason.to_string()),
    };
    format!("{action:<6}  {local:<20}  {state:<10}  {}  ({reasons})", candidate.name)
}

/// Formats a byte count with a binary unit, e.g. `1536 bytes (1.5 KiB)`.
fn size(bytes: u64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = None;
    for candidate in units {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(candidate);
    }
    match unit {
        Some(unit) => format!("{bytes} bytes ({value:.1} {unit})"),
        None => format!("{bytes} bytes"),
    }
}

#[allow(clippy::print_stdout, reason = "the plan is the command's output")]
fn print(text: &str) {
    print!("{text}");
}

#[cfg(test)]
mod tests {
    use invguard_backup::cleanup::plan_cleanup;
    use invguard_backup::{BackupName, DirLock};
    use invguard_config::Config;

    use super::*;

    #[test]
    fn size_uses_binary_units() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(1536), "1536 bytes (1.5 KiB)");
        assert_eq!(size(3 * 1024 * 1024), "3145728 bytes (3.0 MiB)");
    }

    /// A manifest of `name` with the verification `result`, as the backup pipeline writes it.
    fn manifest_json(name: &BackupName, result: &str) -> String {
        let time = name.created_utc.format("%Y-%m-%dT%H:%M:%SZ");
        let hash = "ab".repeat(32);
        format!(
            r#"{{"format_version": 1, "created_utc": "{time}",
              "database": {{"name": "inventory", "source_path": "/app/data/inventory.db"}},
              "tool_version": "0.1.0", "file": {{"name": "{file}"}},
              "plaintext": {{"sha256": "{hash}", "size": 6144}},
              "ciphertext": {{"sha256": "{hash}", "size": 2048}},
              "sqlite": {{"page_size": 4096, "page_count": 2, "schema_hash": "{hash}"}},
              "tables": {{"items": 10}}, "rows_total": 10,
              "encryption": {{"mode": "passphrase", "recipients": []}},
              "compression": {{"algorithm": "zstd", "level": 3}},
              "verification": {{"result": "{result}", "level": "quick", "time": "{time}"}}}}"#,
            file = name.file_name(),
        )
    }

    #[test]
    fn render_cleanup_plan() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("backups");
        fs_err::create_dir_all(&dir).unwrap();
        let mut config = Config::for_tests(&root.path().join("inventory.db"), &dir);
        config.retention.keep_last = Some(2);
        config.retention.min_keep = 1;
        let results = ["passed", "passed", "failed", "passed", "failed"];
        for (day, result) in results.iter().enumerate() {
            let created = format!("2026-12-0{}T02:00:00Z", day + 1).parse().unwrap();
            let name = BackupName::new("inventory", created, true);
            fs_err::write(dir.join(name.file_name()), vec![0; 2048]).unwrap();
            fs_err::write(dir.join(name.manifest_name()), manifest_json(&name, result)).unwrap();
        }
        let legacy = dir.join("inventory_backup_20250101.db.gpg");
        fs_err::write(&legacy, b"legacy").unwrap();
        let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_735_696_800);
        fs_err::File::options().write(true).open(&legacy).unwrap().set_modified(modified).unwrap();
        fs_err::write(dir.join("inventory-20261206T020000Z.db.zst.gpg.partial"), b"half").unwrap();

        let _lock = DirLock::shared(&dir, "test").unwrap();
        let plan = plan_cleanup(&config).unwrap();
        let freed_bytes = plan.bytes_to_free();
        let report = CleanupReport {
            plan,
            deleted: Vec::new(),
            leftovers_removed: Vec::new(),
            freed_bytes,
            dry_run: true,
            beside_writer: None,
        };

        let text = render(&report, chrono_tz::Europe::Berlin);

        insta::assert_snapshot!(text);
    }
}
