//! `disk_space`: free space and inodes of the file systems holding the backups and the
//! database, and whether the next backup fits.
//!
//! Free space is `f_bavail` (what an unprivileged writer can use), not `f_bfree`, and the
//! used percentage is computed as `df` does: used / (used + available).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use invguard_config::Config;
use serde_json::{Value, json};

use crate::catalog::BackupCatalog;
use crate::checks::{GIB, MIB, round};
use crate::{CheckName, CheckResult, Level, Metric};

/// Measurements of one file system.
#[derive(Debug)]
struct Usage {
    role: &'static str,
    path: PathBuf,
    device: u64,
    total_bytes: u64,
    used_bytes: u64,
    free_bytes: u64,
    used_percentage: f64,
    inodes_total: u64,
    inodes_free: u64,
    inodes_used_percentage: f64,
}

pub(crate) fn run(catalog: &dyn BackupCatalog, config: &Config, now: DateTime<Utc>) -> CheckResult {
    let monitor = &config.monitor;
    let base = |level, summary: String| {
        CheckResult::new(CheckName::DiskSpace, level, summary)
            .at(now)
            .threshold("disk_space_gb", monitor.disk_space_gb)
            .threshold("disk_usage_percentage", monitor.disk_usage_percentage)
    };

    let database_dir = config.database.path.parent().unwrap_or(Path::new("/"));
    let mut usages = Vec::new();
    for (role, path) in [("backup", config.backup.dir.as_path()), ("database", database_dir)] {
        match measure(role, path) {
            Ok(usage) if usages.iter().any(|seen: &Usage| seen.device == usage.device) => {}
            Ok(usage) => usages.push(usage),
            Err(summary) => return base(Level::Unknown, summary),
        }
    }
    let next_backup = catalog
        .list_backups(&config.backup.dir, &config.database.name)
        .ok()
        .and_then(|backups| backups.first().map(|backup| backup.size));

    let findings: Vec<(Level, String)> =
        usages.iter().flat_map(|usage| judge(usage, next_backup, config)).collect();
    let level = findings.iter().map(|(level, _)| *level).max().unwrap_or(Level::Ok);
    let summary = if findings.is_empty() {
        let parts: Vec<String> = usages
            .iter()
            .map(|usage| {
                format!(
                    "{} {:.1} GB free ({:.1}% used)",
                    usage.role,
                    gb(usage.free_bytes),
                    usage.used_percentage
                )
            })
            .collect();
        parts.join(", ")
    } else {
        let worst: Vec<&str> = findings
            .iter()
            .filter(|(finding, _)| *finding == level)
            .map(|(_, text)| text.as_str())
            .collect();
        worst.join("; ")
    };

    report(base(level, summary), &usages, next_backup, config)
}

fn report(
    mut result: CheckResult,
    usages: &[Usage],
    next_backup: Option<u64>,
    config: &Config,
) -> CheckResult {
    let backup = &usages[0];
    result = result
        .detail("path", backup.path.display().to_string())
        .detail("total_gb", round(gb(backup.total_bytes), 2))
        .detail("used_gb", round(gb(backup.used_bytes), 2))
        .detail("free_gb", round(gb(backup.free_bytes), 2))
        .detail("used_percentage", round(backup.used_percentage, 1))
        .detail("next_backup_estimate_mb", next_backup.map(|size| round(size as f64 / MIB, 2)))
        .detail("filesystems", usages.iter().map(usage_json).collect::<Vec<Value>>());

    for usage in usages {
        result = result
            .metric(
                // Bytes, because the Nagios plugin guidelines list B, KB, MB and TB but no GB.
                Metric::new(&format!("{}_free", usage.role), usage.free_bytes as f64, "B")
                    .warn((config.monitor.disk_space_gb * GIB).round())
                    .alert_below()
                    .range(Some(0.0), Some(usage.total_bytes as f64)),
            )
            .metric(
                Metric::new(&format!("{}_used", usage.role), round(usage.used_percentage, 2), "%")
                    .warn(config.monitor.disk_usage_percentage)
                    .range(Some(0.0), Some(100.0)),
            );
    }
    result
}

fn usage_json(usage: &Usage) -> Value {
    json!({
        "role": usage.role,
        "path": usage.path.display().to_string(),
        "total_gb": round(gb(usage.total_bytes), 2),
        "used_gb": round(gb(usage.used_bytes), 2),
        "free_gb": round(gb(usage.free_bytes), 2),
        "used_percentage": round(usage.used_percentage, 1),
        "inodes_total": usage.inodes_total,
        "inodes_free": usage.inodes_free,
        "inodes_used_percentage": round(usage.inodes_used_percentage, 1),
    })
}

/// Lists what is wrong with one file system; empty when nothing is.
fn judge(usage: &Usage, next_backup: Option<u64>, config: &Config) -> Vec<(Level, String)> {
    let monitor = &config.monitor;
    let role = usage.role;
    let free_gb = gb(usage.free_bytes);
    let mut findings = Vec::new();

    let next_backup = next_backup.filter(|size| role == "backup" && *size > usage.free_bytes);
    if let Some(size) = next_backup {
        findings.push((
            Level::Critical,
            format!(
                "the next backup (about {:.1} MiB) does not fit in the {:.1} MiB free on {}",
                size as f64 / MIB,
                usage.free_bytes as f64 / MIB,
                usage.path.display()
            ),
        ));
    }
    if usage.inodes_total > 0 && usage.inodes_free == 0 {
        findings.push((Level::Critical, format!("{role} file system has no free inodes")));
    } else if usage.inodes_used_percentage > monitor.disk_usage_percentage {
        let used = round(usage.inodes_used_percentage, 1);
        findings.push((Level::Warning, format!("{role} file system has {used}% of inodes used")));
    }
    if free_gb < monitor.disk_space_gb {
        let limit = monitor.disk_space_gb;
        findings.push((
            Level::Warning,
            format!("{role} file system has {free_gb:.2} GB free, below {limit} GB"),
        ));
    }
    if usage.used_percentage > monitor.disk_usage_percentage {
        let used = round(usage.used_percentage, 1);
        let limit = monitor.disk_usage_percentage;
        findings
            .push((Level::Warning, format!("{role} file system is {used}% full, above {limit}%")));
    }
    findings
}

/// Runs statvfs on `path`, or on its nearest existing ancestor when it does not exist yet.
fn measure(role: &'static str, path: &Path) -> Result<Usage, String> {
    let existing = path.ancestors().find(|ancestor| ancestor.exists()).unwrap_or(Path::new("/"));
    let stats = rustix::fs::statvfs(existing).map_err(|error| {
        format!("cannot read file system usage of {}: {error}", existing.display())
    })?;
    let device = fs_err::metadata(existing).map(|metadata| metadata.dev()).unwrap_or_default();

    let block = stats.f_frsize;
    let total_bytes = stats.f_blocks * block;
    let used_bytes = stats.f_blocks.saturating_sub(stats.f_bfree) * block;
    let free_bytes = stats.f_bavail * block;
    let inodes_used = stats.f_files.saturating_sub(stats.f_ffree);
    Ok(Usage {
        role,
        path: existing.to_path_buf(),
        device,
        total_bytes,
        used_bytes,
        free_bytes,
        used_percentage: percentage(used_bytes, used_bytes + free_bytes),
        inodes_total: stats.f_files,
        inodes_free: stats.f_favail,
        inodes_used_percentage: percentage(inodes_used, inodes_used + stats.f_favail),
    })
}

fn percentage(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / GIB
}
