//! Restores to a path that does not exist yet, and the choice of backup.

use std::os::unix::fs::PermissionsExt;

use invguard_backup::restore::{
    RestoreOptions, RestoreReport, Selection, TargetAction, TargetMode, parse_time, restore,
};
use invguard_backup::{
    BackupError, CancelToken, FORMAT_VERSION, VerificationResult, VerifyTarget, verify,
};
use invguard_config::VerifyLevel;

use super::support::{Fixture, corrupt, edit_manifest, file_names, integrity_check, row_counts};

fn options(selection: Selection, target: std::path::PathBuf) -> RestoreOptions {
    RestoreOptions { selection, target, mode: TargetMode::New, dry_run: false, full: false }
}

fn run(fixture: &Fixture, options: &RestoreOptions) -> Result<RestoreReport, BackupError> {
    restore(&fixture.config, &fixture.keys(), options, &CancelToken::new(), None)
}

#[test]
fn restore_named_backup_to_new_path() {
    let fixture = Fixture::new(0);
    let backup = fixture.backup_with_items("2026-12-04T02:00:00Z", 250);
    fixture.backup_with_items("2026-12-05T02:00:00Z", 10);
    let target = fixture.path("restored.db");
    let name = backup.file_name().unwrap().into();

    let report = run(&fixture, &options(Selection::Named(name), target.clone())).unwrap();

    assert_eq!(report.backup, backup);
    assert_eq!(report.action, TargetAction::Create);
    assert_eq!(report.check, "quick_check");
    assert_eq!(report.tables["items"], 250);
    assert_eq!(row_counts(&target)["items"], 250);
    assert_eq!(row_counts(&target)["categories"], 3);
    assert_eq!(integrity_check(&target), "ok");
    let mode = fs_err::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn restore_leaves_no_temporary_file_beside_target() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-04T02:00:00Z", 5);
    let target_dir = fixture.path("out");
    fs_err::create_dir_all(&target_dir).unwrap();

    run(&fixture, &options(Selection::Latest, target_dir.join("restored.db"))).unwrap();

    assert_eq!(file_names(&target_dir), ["restored.db"]);
}

#[test]
fn restore_latest_skips_failed_and_corrupt_newer_backups() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 11);
    let good = fixture.backup_with_items("2026-12-02T02:00:00Z", 22);
    let corrupted = fixture.backup_with_items("2026-12-03T02:00:00Z", 33);
    let failed = fixture.backup_with_items("2026-12-04T02:00:00Z", 44);
    corrupt(&corrupted);
    edit_manifest(&failed, |manifest| {
        manifest.verification.result = VerificationResult::Failed;
        manifest.verification.message = Some("quick_check reported errors".to_owned());
    });
    let target = fixture.path("restored.db");

    let report = run(&fixture, &options(Selection::Latest, target.clone())).unwrap();

    assert_eq!(report.backup, good);
    assert_eq!(row_counts(&target)["items"], 22);
    let skipped: Vec<&str> = report.skipped.iter().map(|skip| skip.name.as_str()).collect();
    assert_eq!(
        skipped,
        ["inventory-20261204T020000Z.db.zst.gpg", "inventory-20261203T020000Z.db.zst.gpg"]
    );
    assert!(
        report.skipped[0].reason.contains("quick_check reported errors"),
        "{:?}",
        report.skipped
    );
    assert!(report.skipped[1].reason.contains("corrupt"), "{:?}", report.skipped);
}

#[test]
fn restore_before_time_takes_newest_older_backup() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 1);
    let chosen = fixture.backup_with_items("2026-12-02T02:00:00Z", 2);
    fixture.backup_with_items("2026-12-03T02:00:00Z", 3);
    let before = parse_time("2026-12-03 02:00", chrono_tz::Europe::Berlin).unwrap();

    let report = run(&fixture, &options(Selection::Before(before), fixture.path("r.db"))).unwrap();

    assert_eq!(report.backup, chosen);
    assert_eq!(report.tables["items"], 2);
}

#[test]
fn restore_latest_fails_when_no_backup_passes() {
    let fixture = Fixture::new(0);
    let only = fixture.backup_with_items("2026-12-01T02:00:00Z", 1);
    corrupt(&only);
    let target = fixture.path("restored.db");

    let error = run(&fixture, &options(Selection::Latest, target.clone())).unwrap_err();

    assert!(matches!(error, BackupError::NoGoodBackup { .. }), "{error:?}");
    assert!(error.to_string().contains("inventory-20261201T020000Z.db.zst.gpg"), "{error}");
    assert!(!target.exists());
}

#[test]
fn latest_ignores_other_database_backups() {
    let mut fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 1);
    let manifest = fixture.backups.join("inventory-20261201T020000Z.manifest.json");
    let manifest_before = fs_err::read(&manifest).unwrap();
    // A second database configured with the same backup directory and no backup of its own.
    fixture.config.database.name = "other".to_owned();
    let target = fixture.path("restored.db");

    let restore_error = run(&fixture, &options(Selection::Latest, target.clone())).unwrap_err();
    let verify_error = verify(
        &fixture.config,
        &VerifyTarget::Latest,
        VerifyLevel::Quick,
        &fixture.keys(),
        &CancelToken::new(),
    )
    .unwrap_err();

    assert!(matches!(restore_error, BackupError::NoBackups { .. }), "{restore_error:?}");
    assert!(restore_error.to_string().contains("\"other\""), "{restore_error}");
    assert!(matches!(verify_error, BackupError::NoBackups { .. }), "{verify_error:?}");
    assert!(!target.exists());
    assert_eq!(fs_err::read(&manifest).unwrap(), manifest_before);
}

#[test]
fn restore_corrupted_backup_leaves_no_target() {
    let fixture = Fixture::new(0);
    let backup = fixture.backup_with_items("2026-12-01T02:00:00Z", 100);
    corrupt(&backup);
    let target_dir = fixture.path("out");
    fs_err::create_dir_all(&target_dir).unwrap();
    let name = backup.file_name().unwrap().into();

    let error =
        run(&fixture, &options(Selection::Named(name), target_dir.join("r.db"))).unwrap_err();

    assert!(
        matches!(error, BackupError::Corrupt { .. } | BackupError::Mismatch { .. }),
        "{error:?}"
    );
    assert!(file_names(&target_dir).is_empty(), "{:?}", file_names(&target_dir));
}

#[test]
fn restore_rejects_row_count_mismatch() {
    let fixture = Fixture::new(0);
    let backup = fixture.backup_with_items("2026-12-01T02:00:00Z", 7);
    edit_manifest(&backup, |manifest| {
        manifest.tables.insert("items".to_owned(), 8);
    });
    let target = fixture.path("r.db");

    let error =
        run(&fixture, &options(Selection::Named(backup.clone()), target.clone())).unwrap_err();

    assert!(error.to_string().contains("row count of table items"), "{error}");
    assert!(!target.exists());
}

#[test]
fn restore_rejects_unknown_manifest_version() {
    let fixture = Fixture::new(0);
    let backup = fixture.backup_with_items("2026-12-01T02:00:00Z", 7);
    let manifest = super::support::manifest_path(&backup);
    let text = fs_err::read_to_string(&manifest).unwrap();
    let newer =
        text.replace(&format!("\"format_version\": {FORMAT_VERSION}"), "\"format_version\": 99");
    fs_err::write(&manifest, newer).unwrap();

    let error =
        run(&fixture, &options(Selection::Named(backup), fixture.path("r.db"))).unwrap_err();

    assert!(matches!(error, BackupError::UnknownManifestVersion { version: 99, .. }), "{error:?}");
}

#[test]
fn restore_dry_run_writes_nothing() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 9);
    let target_dir = fixture.path("out");
    fs_err::create_dir_all(&target_dir).unwrap();
    let request = RestoreOptions {
        dry_run: true,
        ..options(Selection::Latest, target_dir.join("restored.db"))
    };

    let report = run(&fixture, &request).unwrap();

    assert!(report.dry_run);
    assert_eq!(report.tables["items"], 9);
    assert_eq!(report.action, TargetAction::Create);
    assert!(file_names(&target_dir).is_empty());
}

#[test]
fn restore_fails_while_cleanup_holds_lock() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 9);
    let _held = invguard_backup::DirLock::exclusive(&fixture.backups, "cleanup").unwrap();

    let error = run(&fixture, &options(Selection::Latest, fixture.path("r.db"))).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!("another cleanup is running (pid {})", std::process::id())
    );
}
