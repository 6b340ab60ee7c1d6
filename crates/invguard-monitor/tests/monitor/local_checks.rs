//! `backup_status`, `disk_space` and `database` on real files in a temporary directory.

use std::error::Error;
use std::path::Path;

use chrono::TimeDelta;
use invguard_monitor::{BackupCatalog, BackupSummary, CheckName, Level};

use crate::backend::Backend;
use crate::support::{Fixture, summary, t0};

fn fixture() -> Fixture {
    Fixture::new(&Backend::start(0, 0))
}

#[test]
fn backup_status_recent_verified_is_ok() {
    let fixture = fixture();
    fixture.write_backup(t0() - TimeDelta::hours(30), "passed", 100);
    fixture.write_backup(t0() - TimeDelta::hours(3), "passed", 2 * 1024 * 1024);
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    assert_eq!(result.details["latest_backup"], "inventory-20261204T070000Z.db.zst.gpg");
    assert_eq!(result.details["backup_age_hours"], 3.0);
    assert_eq!(result.details["backup_size_mb"], 2.0);
    assert_eq!(result.details["rows_total"], 128);
    assert_eq!(result.details["backup_count"], 2);
}

#[test]
fn backup_status_old_backup_is_critical() {
    let fixture = fixture();
    fixture.write_backup(t0() - TimeDelta::hours(26), "passed", 100);
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(
        result.summary,
        "newest verified backup inventory-20261203T080000Z.db.zst.gpg is 26 hours old, above 25 \
         hours"
    );
}

#[test]
fn backup_status_just_past_limit_is_critical() {
    let fixture = fixture();
    // 25 hours and 2 minutes rounds to 25.0 hours, which must not hide that it is too old.
    fixture.write_backup(t0() - TimeDelta::minutes(25 * 60 + 2), "passed", 100);
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical, "{}", result.summary);
}

#[test]
fn backup_status_failed_verification_is_critical() {
    let fixture = fixture();
    fixture.write_backup(t0() - TimeDelta::hours(5), "passed", 100);
    fixture.write_backup(t0() - TimeDelta::hours(1), "failed", 100);
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(
        result.summary,
        "newest backup inventory-20261204T090000Z.db.zst.gpg failed verification: quick_check \
         failed"
    );
    assert_eq!(result.details["latest_verified_backup"], "inventory-20261204T050000Z.db.zst.gpg");
}

#[test]
fn backup_status_no_backups_is_critical() {
    let fixture = fixture();
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical);
    let expected = format!("no backups of \"inventory\" in {}", fixture.backups().display());
    assert_eq!(result.summary, expected);
}

#[test]
fn backup_status_ignores_other_database() {
    let fixture = fixture();
    fixture.write_backup(t0() - TimeDelta::hours(1), "passed", 100);
    for name in
        ["inventory-20261204T090000Z.db.zst.gpg", "inventory-20261204T090000Z.manifest.json"]
    {
        let from = fixture.backups().join(name);
        let text = fs_err::read(&from).unwrap();
        let text = String::from_utf8_lossy(&text).replace("inventory-", "other-");
        fs_err::write(fixture.backups().join(name.replace("inventory-", "other-")), text).unwrap();
        fs_err::remove_file(from).unwrap();
    }

    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    // A verified backup of another database in the same directory does not count for this one.
    assert_eq!(result.level, Level::Critical, "{}", result.summary);
    assert!(result.summary.starts_with("no backups of \"inventory\""), "{}", result.summary);
}

#[test]
fn backup_status_missing_dir_is_critical() {
    let fixture = fixture();
    fs_err::remove_dir(fixture.backups()).unwrap();
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical);
    assert!(result.summary.ends_with("does not exist"), "{}", result.summary);
}

#[test]
fn disk_space_within_thresholds_is_ok() {
    let mut fixture = fixture();
    fixture.config.monitor.disk_space_gb = 0.0;
    fixture.config.monitor.disk_usage_percentage = 100.0;
    let result = fixture.monitor().check(CheckName::DiskSpace, t0());

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    let total = result.details["total_gb"].as_f64().unwrap();
    let free = result.details["free_gb"].as_f64().unwrap();
    assert!(total > 0.0, "total {total}");
    assert!(free <= total, "total {total} free {free}");
    assert_eq!(result.details["filesystems"].as_array().unwrap().len(), 1);
}

#[test]
fn disk_space_below_free_threshold_warns() {
    let mut fixture = fixture();
    fixture.config.monitor.disk_space_gb = 1e12;
    fixture.config.monitor.disk_usage_percentage = 100.0;
    let result = fixture.monitor().check(CheckName::DiskSpace, t0());

    assert_eq!(result.level, Level::Warning);
    assert!(result.summary.starts_with("backup file system has "), "{}", result.summary);
    assert!(result.summary.ends_with("GB free, below 1000000000000 GB"), "{}", result.summary);
}

/// A catalog whose newest backup is far larger than any disk.
#[derive(Debug)]
struct HugeBackupCatalog;

impl BackupCatalog for HugeBackupCatalog {
    fn list_backups(
        &self,
        _dir: &Path,
        _database: &str,
    ) -> Result<Vec<BackupSummary>, Box<dyn Error + Send + Sync>> {
        Ok(vec![summary("inventory-huge.db.zst.gpg", t0(), u64::MAX / 4)])
    }
}

#[test]
fn disk_space_next_backup_not_fitting_is_critical() {
    let mut fixture = fixture();
    fixture.config.monitor.disk_space_gb = 0.0;
    fixture.config.monitor.disk_usage_percentage = 100.0;
    let mut monitor = fixture.monitor().with_catalog(Box::new(HugeBackupCatalog));
    let result = monitor.check(CheckName::DiskSpace, t0());

    assert_eq!(result.level, Level::Critical);
    assert!(result.summary.starts_with("the next backup (about "), "{}", result.summary);
}

#[test]
fn database_readable_is_ok() {
    let fixture = fixture();
    let result = fixture.monitor().check(CheckName::Database, t0());

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    assert_eq!(result.details["wal_bytes"], 0);
}

#[test]
fn database_missing_is_critical() {
    let fixture = fixture();
    fs_err::remove_file(&fixture.config.database.path).unwrap();
    let result = fixture.monitor().check(CheckName::Database, t0());

    assert_eq!(result.level, Level::Critical);
    assert!(result.summary.ends_with("inventory.db not found"), "{}", result.summary);
}

#[test]
fn database_not_sqlite_is_critical() {
    let fixture = fixture();
    fs_err::write(&fixture.config.database.path, "plain text, not a database").unwrap();
    let result = fixture.monitor().check(CheckName::Database, t0());

    assert_eq!(result.level, Level::Critical);
    assert!(result.summary.ends_with("is not an SQLite database (wrong file header)"));
}

#[test]
fn database_large_wal_warns() {
    let mut fixture = fixture();
    fixture.config.monitor.wal_warning_bytes = 1024;
    let wal = fixture.config.database.path.with_file_name("inventory.db-wal");
    fs_err::write(&wal, vec![0u8; 4096]).unwrap();
    let result = fixture.monitor().check(CheckName::Database, t0());

    assert_eq!(result.level, Level::Warning);
    assert_eq!(result.details["wal_bytes"], 4096);
    assert!(result.summary.contains("checkpoints are not keeping up"), "{}", result.summary);
}

#[test]
fn backup_status_legacy_only_is_critical() {
    let fixture = fixture();
    fs_err::write(fixture.backups().join("inventory_20261201_020000.db.gpg"), b"legacy").unwrap();
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(
        result.summary,
        "no verified backup; the newest is inventory_20261201_020000.db.gpg"
    );
    assert_eq!(result.details["verification"], "none");
}

#[test]
fn backup_status_unreadable_manifest_warns_and_reports_verified() {
    let fixture = fixture();
    fixture.write_backup(t0() - TimeDelta::hours(2), "passed", 100);
    fixture.write_backup(t0() - TimeDelta::hours(1), "passed", 100);
    let manifest = fixture.backups().join("inventory-20261204T090000Z.manifest.json");
    fs_err::write(&manifest, b"{\"format_version\": 1, \"created_utc\": ").unwrap();
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Warning, "{}", result.summary);
    assert!(
        result.summary.starts_with(
            "newest verified backup inventory-20261204T080000Z.db.zst.gpg is 2 hours old; \
             manifest of inventory-20261204T090000Z.db.zst.gpg unreadable (invalid JSON:"
        ),
        "{}",
        result.summary
    );
    assert_eq!(result.details["latest_backup"], "inventory-20261204T080000Z.db.zst.gpg");
    assert_eq!(result.details["unreadable_manifests"], 1);
    assert_eq!(result.details["backup_count"], 2);
}

#[test]
fn backup_status_unknown_manifest_version_is_not_read_as_verified() {
    let fixture = fixture();
    fixture.write_backup(t0() - TimeDelta::hours(1), "passed", 100);
    let manifest = fixture.backups().join("inventory-20261204T090000Z.manifest.json");
    let text = fs_err::read_to_string(&manifest).unwrap();
    fs_err::write(&manifest, text.replace("\"format_version\":1", "\"format_version\":2")).unwrap();
    let result = fixture.monitor().check(CheckName::BackupStatus, t0());

    assert_eq!(result.level, Level::Critical, "{}", result.summary);
    assert!(result.summary.contains("format_version 2 is unknown"), "{}", result.summary);
    assert!(result.summary.starts_with("no backups of"), "{}", result.summary);
}
