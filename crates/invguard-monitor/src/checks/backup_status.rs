//! `backup_status`: the newest backup must have passed verification, and the newest verified
//! backup must be younger than `backup_failure_hours`. Judged from manifests, not file times.
//!
//! A backup whose manifest cannot be read is left out of that judgement and named in the
//! summary. It makes an otherwise healthy result a WARNING, because the operator must repair
//! or remove it.

use chrono::{DateTime, Utc};
use invguard_config::Config;

use crate::catalog::{BackupCatalog, BackupSummary, Verification};
use crate::checks::{MIB, round};
use crate::{CheckName, CheckResult, Level, Metric};

pub(crate) fn run(catalog: &dyn BackupCatalog, config: &Config, now: DateTime<Utc>) -> CheckResult {
    let limit_hours = config.monitor.backup_failure_hours;
    let dir = &config.backup.dir;
    let base = |level, summary: String| {
        CheckResult::new(CheckName::BackupStatus, level, summary)
            .at(now)
            .threshold("backup_failure_hours", limit_hours)
    };

    if !dir.is_dir() {
        let summary = format!("backup directory {} does not exist", dir.display());
        return base(Level::Critical, summary).detail("latest_backup", None::<String>);
    }
    let database = &config.database.name;
    let backups = match catalog.list_backups(dir, database) {
        Ok(backups) => backups,
        Err(error) => {
            let summary = format!("cannot list backups in {}: {error}", dir.display());
            return base(Level::Unknown, summary);
        }
    };
    let (unreadable, readable): (Vec<&BackupSummary>, Vec<&BackupSummary>) = backups
        .iter()
        .partition(|backup| matches!(backup.verification, Verification::Unreadable(_)));
    let Some(newest) = readable.first().copied() else {
        let summary = format!("no backups of {database:?} in {}", dir.display());
        let summary = with_unreadable(summary, &unreadable);
        return base(Level::Critical, summary)
            .detail("latest_backup", None::<String>)
            .detail("unreadable_manifests", unreadable.len());
    };

    let verified =
        readable.iter().copied().find(|backup| backup.verification == Verification::Passed);
    let (mut level, summary) = judge(newest, verified, limit_hours, now);
    if !unreadable.is_empty() {
        level = level.max(Level::Warning);
    }
    let summary = with_unreadable(summary, &unreadable);
    let newest_age = age_hours(newest, now);
    let mut result = base(level, summary)
        .detail("latest_backup", newest.name.as_str())
        .detail("backup_age_hours", round(newest_age, 2))
        .detail("backup_size_mb", round(newest.size as f64 / MIB, 2))
        .detail("rows_total", newest.rows_total)
        .detail("verification", verification_name(&newest.verification))
        .detail("backup_count", backups.len())
        .detail("unreadable_manifests", unreadable.len());

    if let Some(verified) = verified {
        let verified_age = age_hours(verified, now);
        result = result
            .detail("latest_verified_backup", verified.name.as_str())
            .detail("verified_backup_age_hours", round(verified_age, 2))
            .metric(
                Metric::new("verified_backup_age", (verified_age * 3600.0).round(), "s")
                    .crit((limit_hours * 3600.0).round())
                    .range(Some(0.0), None),
            );
    }
    result.metric(Metric::new("backup_size", newest.size as f64, "B").range(Some(0.0), None))
}

fn judge(
    newest: &BackupSummary,
    verified: Option<&BackupSummary>,
    limit_hours: f64,
    now: DateTime<Utc>,
) -> (Level, String) {
    if let Verification::Failed(message) = &newest.verification {
        let reason = message.as_deref().map(|text| format!(": {text}")).unwrap_or_default();
        return (
            Level::Critical,
            format!("newest backup {} failed verification{reason}", newest.name),
        );
    }
    let Some(verified) = verified else {
        return (Level::Critical, format!("no verified backup; the newest is {}", newest.name));
    };

    // Compare the exact age; only the message shows it rounded.
    let exact_age = age_hours(verified, now);
    let age = round(exact_age, 1);
    if exact_age > limit_hours {
        let summary = format!(
            "newest verified backup {} is {age} hours old, above {limit_hours} hours",
            verified.name
        );
        return (Level::Critical, summary);
    }
    (Level::Ok, format!("newest verified backup {} is {age} hours old", verified.name))
}

/// Appends the backups whose manifest cannot be read to `summary`, the first by name.
fn with_unreadable(summary: String, unreadable: &[&BackupSummary]) -> String {
    let Some(first) = unreadable.first() else {
        return summary;
    };
    let reason = match &first.verification {
        Verification::Unreadable(reason) => reason.as_str(),
        _ => "",
    };
    let others = match unreadable.len() {
        1 => String::new(),
        count => format!(" and {} more", count - 1),
    };
    format!("{summary}; manifest of {} unreadable ({reason}){others}", first.name)
}

fn age_hours(backup: &BackupSummary, now: DateTime<Utc>) -> f64 {
    (now - backup.created_utc).num_milliseconds() as f64 / 3_600_000.0
}

fn verification_name(verification: &Verification) -> &'static str {
    match verification {
        Verification::Passed => "passed",
        Verification::Failed(_) => "failed",
        Verification::Missing => "none",
        Verification::Unreadable(_) => "unreadable",
    }
}
