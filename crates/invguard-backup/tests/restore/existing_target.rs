//! Restores over an existing file: rejected without `--force`, replaced with a safety copy
//! with it, and the live database protected from `--force`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use invguard_backup::restore::{
    RestoreOptions, RestoreReport, Selection, TargetAction, TargetMode, restore,
};
use invguard_backup::{BackupError, CancelToken};

use super::support::{Fixture, corrupt, file_names, integrity_check, row_counts, write_database};

fn options(target: PathBuf, mode: TargetMode) -> RestoreOptions {
    RestoreOptions { selection: Selection::Latest, target, mode, dry_run: false, full: false }
}

fn run(fixture: &Fixture, options: &RestoreOptions) -> Result<RestoreReport, BackupError> {
    restore(&fixture.config, &fixture.keys(), options, &CancelToken::new(), None)
}

/// A database file outside the live database's directory, with `items` rows.
fn other_database(fixture: &Fixture, items: u32) -> PathBuf {
    let dir = fixture.path("other");
    fs_err::create_dir_all(&dir).unwrap();
    let path = dir.join("copy.db");
    write_database(&path, items);
    path
}

#[test]
fn restore_existing_target_without_force_rejected() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 5);
    let target = other_database(&fixture, 3);
    let before = fs_err::read(&target).unwrap();

    let error = run(&fixture, &options(target.clone(), TargetMode::New)).unwrap_err();

    assert!(matches!(error, BackupError::RestoreTargetExists { .. }), "{error:?}");
    assert_eq!(fs_err::read(&target).unwrap(), before);
    assert_eq!(file_names(target.parent().unwrap()), ["copy.db"]);
}

#[test]
fn restore_force_replaces_and_keeps_safety_copy() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 5);
    let target = other_database(&fixture, 3);
    fs_err::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs_err::read(&target).unwrap();

    let report = run(&fixture, &options(target.clone(), TargetMode::Force)).unwrap();

    let TargetAction::Replace { live, moved_aside: Some(moved) } = report.action else {
        panic!("expected a replacement, got {:?}", report.action);
    };
    assert!(!live);
    assert_eq!(row_counts(&target)["items"], 5);
    assert_eq!(integrity_check(&target), "ok");
    assert_eq!(fs_err::read(&moved.safety_copy).unwrap(), before);
    let mode = fs_err::metadata(&target).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    let name = moved.safety_copy.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("copy.db.pre-restore-"), "{name}");
}

#[test]
fn restore_force_on_symlink_to_live_database_rejected() {
    let fixture = Fixture::new(4);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 5);
    write_database(&fixture.database, 4);
    let link = fixture.path("link.db");
    std::os::unix::fs::symlink(&fixture.database, &link).unwrap();
    let before = fs_err::read(&fixture.database).unwrap();

    let error = run(&fixture, &options(link, TargetMode::Force)).unwrap_err();

    assert!(matches!(error, BackupError::RestoreTargetIsLive { .. }), "{error:?}");
    assert_eq!(fs_err::read(&fixture.database).unwrap(), before);
}

#[test]
fn restore_in_place_on_other_file_rejected() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 5);
    let target = other_database(&fixture, 3);

    let error = run(&fixture, &options(target, TargetMode::InPlace)).unwrap_err();

    assert!(matches!(error, BackupError::NotLiveDatabase { .. }), "{error:?}");
}

#[test]
fn restore_force_with_corrupted_backup_leaves_target_untouched() {
    let fixture = Fixture::new(0);
    let backup = fixture.backup_with_items("2026-12-01T02:00:00Z", 5);
    corrupt(&backup);
    let target = other_database(&fixture, 3);
    let before = fs_err::read(&target).unwrap();
    let request = RestoreOptions {
        selection: Selection::Named(backup),
        ..options(target.clone(), TargetMode::Force)
    };

    run(&fixture, &request).unwrap_err();

    assert_eq!(fs_err::read(&target).unwrap(), before);
    assert_eq!(file_names(target.parent().unwrap()), ["copy.db"]);
}
