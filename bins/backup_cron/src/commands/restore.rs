//! `backup_cron restore`: restore a backup to a database file.

use std::fmt::Write as _;

use chrono_tz::Tz;
use invguard_backup::restore::{
    RestoreOptions, RestoreReport, Selection, TargetAction, TargetMode, parse_time, restore,
};
use invguard_backup::{Progress, decryption_keys};

use crate::cli::RestoreArgs;
use crate::commands::Context;
use crate::exit::{Exit, UsageError};
use crate::progress::Bar;
use crate::signals::Interrupt;

/// Runs the `restore` command.
pub fn run(ctx: &Context, args: &RestoreArgs) -> anyhow::Result<Exit> {
    let mut config = ctx.config().clone();
    if let Some(key) = &args.secret_key {
        config.encryption.secret_key_file = Some(key.clone());
    }
    if let Some(file) = &args.secret_key_passphrase_file {
        config.encryption.secret_key_passphrase_file = Some(file.clone());
    }
    let options = RestoreOptions {
        selection: selection(args, config.timezone)?,
        target: args.to.clone(),
        mode: mode(args),
        dry_run: args.dry_run,
        full: args.full,
    };
    let keys = decryption_keys(&config)?;

    let interrupt = Interrupt::install()?;
    let bar = Bar::for_terminal(ctx.interactive);
    let progress = bar.as_ref().map(|bar| bar as &dyn Progress);
    let result = restore(&config, &keys, &options, interrupt.token(), progress);
    drop(bar);

    let report = result.map_err(|error| interrupt.attach(error))?;
    for skipped in &report.skipped {
        tracing::warn!(backup = %skipped.name, reason = %skipped.reason, "skipped a newer backup");
    }
    print(&render(&report, config.timezone));
    // A dry run that finds the target in use fails like the real run would.
    Ok(if report.in_use.is_some() { Exit::Failure } else { Exit::Success })
}

fn selection(args: &RestoreArgs, timezone: Tz) -> anyhow::Result<Selection> {
    if let Some(backup) = &args.backup {
        return Ok(Selection::Named(backup.clone()));
    }
    if let Some(text) = &args.before {
        return match parse_time(text, timezone) {
            Ok(time) => Ok(Selection::Before(time)),
            Err(error) => Err(UsageError(format!("--before: {error}")).into()),
        };
    }
    if args.latest {
        return Ok(Selection::Latest);
    }
    Err(UsageError("name the backup to restore, or pass --latest or --before TIME".to_owned())
        .into())
}

fn mode(args: &RestoreArgs) -> TargetMode {
    if args.in_place {
        TargetMode::InPlace
    } else if args.force {
        TargetMode::Force
    } else {
        TargetMode::New
    }
}

/// Renders the report: the chosen backup, the checks, the tables and what happened at the
/// target.
fn render(report: &RestoreReport, timezone: Tz) -> String {
    let mut out = String::new();
    let local = report.created_utc.with_timezone(&timezone);
    let kind = if report.legacy { " (legacy)" } else { "" };
    let _ = writeln!(out, "backup:  {}{kind}", report.backup.display());
    let _ = writeln!(
        out,
        "created: {} ({})",
        local.format("%Y-%m-%d %H:%M:%S %Z"),
        report.created_utc.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let _ = writeln!(out, "checks:  {}", checks(report));

    let rows: u64 = report.tables.values().sum();
    let tables: Vec<String> =
        report.tables.iter().map(|(table, count)| format!("{table} {count}")).collect();
    let _ = writeln!(out, "tables:  {} ({rows} rows)", tables.join(", "));
    let _ = writeln!(out, "size:    {} bytes", report.plaintext.size);
    render_target(&mut out, report);
    out
}

fn checks(report: &RestoreReport) -> String {
    let mut checks = vec!["authenticated decryption"];
    if report.has_manifest {
        checks.insert(0, "ciphertext sha256");
        checks.push("plaintext sha256");
    }
    checks.push(report.check);
    if report.has_manifest {
        checks.push("row counts");
    }
    checks.join(", ") + " passed"
}

fn render_target(out: &mut String, report: &RestoreReport) {
    let target = report.target.display();
    let verb =
        |done: &'static str, planned: &'static str| if report.dry_run { planned } else { done };

    match &report.action {
        TargetAction::Create => {
            let _ = writeln!(out, "target:  {target} ({})", verb("created", "would be created"));
        }
        TargetAction::Replace { live, moved_aside } => {
            let what = if *live { "live database" } else { "existing file" };
            let _ = writeln!(
                out,
                "target:  {target} ({what}, {})",
                verb("replaced", "would be replaced")
            );
            match moved_aside {
                Some(moved) => {
                    let _ = writeln!(out, "kept:    {}", moved.safety_copy.display());
                    for sidecar in &moved.sidecars {
                        let _ = writeln!(out, "moved:   {}", sidecar.display());
                    }
                }
                None => {
                    let _ = writeln!(
                        out,
                        "kept:    {target}.pre-restore-<UTC time>, with its -wal and -shm files"
                    );
                }
            }
        }
    }
    if report.dry_run {
        render_dry_run_checks(out, report);
        let _ = writeln!(out, "dry run: nothing was written");
    }
}

/// Renders the dry run's findings that the real run could fail on: the in-use checks of an
/// existing target, and a writer holding the backup directory lock.
fn render_dry_run_checks(out: &mut String, report: &RestoreReport) {
    if matches!(report.action, TargetAction::Replace { .. }) {
        let _ = match &report.in_use {
            Some(check) => writeln!(
                out,
                "in use:  {check}; the restore would be refused: stop the backend and every \
                 other process using the database first"
            ),
            None => writeln!(
                out,
                "in use:  no other process has it open or locked (the SQLite lock check runs \
                 only in the real restore)"
            ),
        };
    }
    if let Some(writer) = &report.beside_writer {
        let _ = writeln!(
            out,
            "note:    {writer}; the real restore needs the directory lock, so run it after that"
        );
    }
}

#[allow(clippy::print_stdout, reason = "the report is the command's output")]
fn print(text: &str) {
    print!("{text}");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use invguard_backup::Digest;
    use invguard_backup::restore::{MovedAside, SkippedBackup};

    use super::*;

    fn report(action: TargetAction, dry_run: bool) -> RestoreReport {
        RestoreReport {
            backup: PathBuf::from("/app/backups/inventory-20261204T020000Z.db.zst.gpg"),
            created_utc: "2026-12-04T02:00:00Z".parse().unwrap(),
            legacy: false,
            has_manifest: true,
            skipped: vec![SkippedBackup {
                name: "inventory-20261205T020000Z.db.zst.gpg".to_owned(),
                reason: "incomplete: it has no manifest".to_owned(),
            }],
            tables: BTreeMap::from([("categories".to_owned(), 8), ("items".to_owned(), 120)]),
            plaintext: Digest { sha256: "ab".repeat(32), size: 122_880 },
            check: "quick_check",
            target: PathBuf::from("/app/data/inventory.db"),
            action,
            dry_run,
            in_use: None,
            beside_writer: None,
        }
    }

    #[test]
    fn render_in_place_restore() {
        let moved = MovedAside {
            safety_copy: PathBuf::from("/app/data/inventory.db.pre-restore-20261204T093000Z"),
            sidecars: vec![PathBuf::from(
                "/app/data/inventory.db.pre-restore-20261204T093000Z-wal",
            )],
        };
        let action = TargetAction::Replace { live: true, moved_aside: Some(moved) };

        let text = render(&report(action, false), chrono_tz::Europe::Berlin);

        insta::assert_snapshot!(text);
    }

    #[test]
    fn render_dry_run_replacement() {
        let action = TargetAction::Replace { live: true, moved_aside: None };

        let text = render(&report(action, true), chrono_tz::Europe::Berlin);

        insta::assert_snapshot!(text);
    }

    #[test]
    fn render_dry_run_finding_database_in_use() {
        let action = TargetAction::Replace { live: true, moved_aside: None };
        let mut report = report(action, true);
        report.in_use = Some(invguard_backup::restore::InUse::OpenFile {
            pid: 4242,
            path: PathBuf::from("/app/data/inventory.db-wal"),
        });
        report.beside_writer =
            Some(invguard_backup::Writer { operation: "backup".to_owned(), pid: Some(4711) });

        let text = render(&report, chrono_tz::Europe::Berlin);

        insta::assert_snapshot!(text);
    }

    #[test]
    fn render_legacy_restore_to_new_file() {
        let mut report = report(TargetAction::Create, false);
        report.legacy = true;
        report.has_manifest = false;
        report.check = "integrity_check";

        let text = render(&report, chrono_tz::UTC);

        insta::assert_snapshot!(text);
    }
}
