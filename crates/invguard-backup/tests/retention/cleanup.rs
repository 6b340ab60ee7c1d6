//! Cleanup of real backup directories: what it deletes, what it leaves alone, and how an
//! interrupted run is finished by the next one.

use std::os::unix::fs::symlink;

use chrono::{DateTime, TimeDelta, Utc};
use invguard_backup::cleanup::{apply_retention, cleanup, plan_cleanup};
use invguard_backup::{BackupError, DirLock, VerificationResult};

use super::files::{BackupDir, manifest_name};
use super::history::utc;

const PASSED: Option<VerificationResult> = Some(VerificationResult::Passed);
const FAILED: Option<VerificationResult> = Some(VerificationResult::Failed);

fn day(n: i64) -> DateTime<Utc> {
    utc("2026-01-01T02:00:00Z") + TimeDelta::days(n)
}

/// Ten daily verified backups, policy keep_last = 3 with min_keep = 3.
fn ten_days() -> (BackupDir, Vec<String>) {
    let mut backups = BackupDir::new();
    backups.config.retention.keep_last = Some(3);
    backups.config.retention.min_keep = 3;
    let names = (0..10).map(|n| backups.add_backup(day(n), PASSED, 1000)).collect();
    (backups, names)
}

#[test]
fn cleanup_deletes_backups_with_manifests_and_counts_bytes() {
    let (backups, names) = ten_days();
    let manifest_bytes =
        fs_err::metadata(backups.dir.join(manifest_name(&names[0]))).unwrap().len();

    let report = cleanup(&backups.config, false).unwrap();

    assert_eq!(report.deleted.len(), 7);
    assert_eq!(report.freed_bytes, 7 * (1000 + manifest_bytes));
    for name in &names[..7] {
        assert!(!backups.dir.join(name).exists(), "{name}");
        assert!(!backups.dir.join(manifest_name(name)).exists(), "{name}");
    }
    for name in &names[7..] {
        assert!(backups.dir.join(name).exists(), "{name}");
        assert!(backups.dir.join(manifest_name(name)).exists(), "{name}");
    }
}

#[test]
fn cleanup_dry_run_deletes_nothing() {
    let (backups, _) = ten_days();
    let before = backups.names();

    let report = cleanup(&backups.config, true).unwrap();

    assert!(report.dry_run);
    assert!(report.deleted.is_empty());
    assert_eq!(report.plan.retention.deleted().count(), 7);
    assert!(report.freed_bytes > 7000);
    assert_eq!(backups.names(), before);
}

#[test]
fn cleanup_twice_deletes_nothing_the_second_time() {
    let (backups, _) = ten_days();

    cleanup(&backups.config, false).unwrap();
    let second = cleanup(&backups.config, false).unwrap();

    assert!(second.deleted.is_empty());
    assert_eq!(second.freed_bytes, 0);
}

#[test]
fn cleanup_leaves_foreign_files_links_and_directories_alone() {
    let (backups, names) = ten_days();
    let outside = backups.root.path().join("outside.db.zst.gpg");
    fs_err::write(&outside, b"not in the backup dir").unwrap();
    symlink(&outside, backups.dir.join("inventory-20200101T000000Z.db.zst.gpg")).unwrap();
    symlink(backups.dir.join(&names[0]), backups.dir.join("link-to-oldest.gpg")).unwrap();
    backups.add_file("notes.txt", b"operator notes");
    backups.add_file("other-20200101T000000Z.db.zst.gpg", b"another database's backup");
    backups.add_file(".hidden.gpg", b"hidden");
    fs_err::create_dir_all(backups.dir.join(".invguard-tmp")).unwrap();
    fs_err::create_dir_all(backups.dir.join("archive.gpg")).unwrap();

    cleanup(&backups.config, false).unwrap();

    let expected_left = [
        ".hidden.gpg",
        ".invguard-tmp/",
        "archive.gpg/",
        "inventory-20200101T000000Z.db.zst.gpg",
        "link-to-oldest.gpg",
        "notes.txt",
        "other-20200101T000000Z.db.zst.gpg",
    ];
    let names_left = backups.names();
    for name in expected_left {
        assert!(names_left.contains(&name.to_owned()), "{name} missing from {names_left:?}");
    }
    assert_eq!(fs_err::read(&outside).unwrap(), b"not in the backup dir");
}

#[test]
fn cleanup_keeps_legacy_backups_unless_included() {
    let (mut backups, _) = ten_days();
    let legacy = backups.add_file("inventory_backup_20240101.db.gpg", b"legacy");
    let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_074_400);
    fs_err::File::options().write(true).open(&legacy).unwrap().set_modified(modified).unwrap();

    cleanup(&backups.config, false).unwrap();
    assert!(backups.dir.join("inventory_backup_20240101.db.gpg").exists());

    backups.config.retention.include_legacy = true;
    let report = cleanup(&backups.config, false).unwrap();
    assert_eq!(report.deleted, ["inventory_backup_20240101.db.gpg"]);
}

#[test]
fn cleanup_keeps_everything_when_no_backup_verified() {
    let mut backups = BackupDir::new();
    backups.config.retention.keep_last = Some(1);
    for n in 0..5 {
        backups.add_backup(day(n), FAILED, 100);
    }
    backups.add_backup(day(5), None, 100);
    let before = backups.names();

    let report = cleanup(&backups.config, false).unwrap();

    assert!(report.deleted.is_empty());
    assert_eq!(backups.names(), before);
}

#[test]
fn cleanup_deletes_failed_backups_once_newer_verified_exists() {
    let mut backups = BackupDir::new();
    backups.config.retention.keep_last = Some(5);
    let failed = backups.add_backup(day(0), FAILED, 100);
    let incomplete = backups.add_backup(day(1), None, 100);
    backups.add_backup(day(2), PASSED, 100);
    let newer_failed = backups.add_backup(day(3), FAILED, 100);

    let report = cleanup(&backups.config, false).unwrap();

    assert_eq!(report.deleted, [incomplete, failed]);
    assert!(backups.dir.join(newer_failed).exists());
}

#[test]
fn cleanup_finishes_interrupted_deletion() {
    let (backups, names) = ten_days();
    // A crash after the manifest of the oldest backup was deleted, before its backup file.
    fs_err::remove_file(backups.dir.join(manifest_name(&names[0]))).unwrap();

    let report = cleanup(&backups.config, false).unwrap();

    assert!(report.deleted.contains(&names[0]));
    assert!(!backups.dir.join(&names[0]).exists());
}

#[test]
fn cleanup_removes_leftovers_and_reports_orphan_manifests() {
    let (backups, names) = ten_days();
    let partial = format!("{}.partial", names[9].replace("20260110", "20260111"));
    backups.add_file(&partial, b"half a backup");
    let manifest_temp = format!("{}.tmp", manifest_name(&names[9]));
    backups.add_file(&manifest_temp, b"{");
    // An orphan manifest: its backup file is gone.
    fs_err::remove_file(backups.dir.join(&names[8])).unwrap();

    let report = cleanup(&backups.config, false).unwrap();

    assert_eq!(report.plan.leftovers, [manifest_temp.clone(), partial.clone()]);
    assert_eq!(report.plan.orphan_manifests, [manifest_name(&names[8])]);
    assert!(!backups.dir.join(&partial).exists());
    assert!(!backups.dir.join(&manifest_temp).exists());
    assert!(backups.dir.join(manifest_name(&names[8])).exists());
}

#[test]
fn cleanup_keeps_backup_with_unknown_manifest_version() {
    let (backups, names) = ten_days();
    let manifest = backups.dir.join(manifest_name(&names[5]));
    let text = fs_err::read_to_string(&manifest).unwrap();
    fs_err::write(&manifest, text.replace("\"format_version\": 1", "\"format_version\": 2"))
        .unwrap();

    let report = cleanup(&backups.config, false).unwrap();

    assert_eq!(report.plan.unreadable.len(), 1);
    assert_eq!(report.plan.unreadable[0].name, names[5]);
    assert!(report.plan.unreadable[0].reason.contains("format_version 2"));
    assert_eq!(report.deleted.len(), 6, "{:?}", report.deleted);
    assert!(backups.dir.join(&names[5]).exists());
    assert_eq!(fs_err::read_to_string(&manifest).unwrap().len(), text.len());
    for name in &names[7..] {
        assert!(backups.dir.join(name).exists(), "{name}");
    }
}

#[test]
fn cleanup_never_counts_corrupt_manifest_as_good() {
    let mut backups = BackupDir::new();
    backups.config.retention.keep_last = Some(1);
    backups.config.retention.min_keep = 2;
    let names: Vec<String> = (0..4).map(|n| backups.add_backup(day(n), PASSED, 100)).collect();
    // The newest backup's manifest is damaged: it must neither be deleted nor count as one of
    // the two verified backups min_keep requires.
    fs_err::write(backups.dir.join(manifest_name(&names[3])), b"{\"format_version\": 1,").unwrap();

    let report = cleanup(&backups.config, false).unwrap();

    assert_eq!(report.plan.unreadable.len(), 1);
    assert!(report.plan.unreadable[0].reason.starts_with("invalid JSON"));
    // Counted as good, the damaged backup would have let min_keep delete day 1 too.
    assert_eq!(report.deleted, [names[0].clone()]);
    assert!(backups.dir.join(&names[3]).exists());
    assert!(backups.dir.join(manifest_name(&names[3])).exists());
    assert!(backups.dir.join(&names[2]).exists());
    assert!(backups.dir.join(&names[1]).exists());
}

#[test]
fn cleanup_reports_removed_leftovers_separately() {
    let mut backups = BackupDir::new();
    backups.config.retention.keep_last = Some(3);
    let name = backups.add_backup(day(0), PASSED, 100);
    let partial = format!("{}.partial", name.replace("20260101", "20260102"));
    backups.add_file(&partial, b"");

    let report = cleanup(&backups.config, false).unwrap();

    assert!(report.deleted.is_empty());
    assert_eq!(report.leftovers_removed, [partial.as_str()]);
    assert!(!backups.dir.join(&partial).exists());
    let again = cleanup(&backups.config, false).unwrap();
    assert!(again.leftovers_removed.is_empty());
}

#[test]
fn cleanup_deletes_only_legacy_names_with_database_and_date() {
    let (mut backups, _) = ten_days();
    backups.config.retention.include_legacy = true;
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_074_400);
    let names = [
        "inventory_backup_20240101_020000.db.gpg",
        "inventory-notes.gpg",
        "keys-20240101.gpg",
        "customer-export.gpg",
    ];
    for name in names {
        let path = backups.add_file(name, b"gpg data");
        fs_err::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
    }

    let report = cleanup(&backups.config, false).unwrap();

    assert!(report.deleted.contains(&names[0].to_owned()), "{:?}", report.deleted);
    assert!(!backups.dir.join(names[0]).exists());
    for name in &names[1..] {
        assert!(backups.dir.join(name).exists(), "{name}");
        assert!(!report.deleted.contains(&(*name).to_owned()), "{name}");
    }
    let mut reported = report.plan.other_gpg_files.clone();
    reported.sort();
    assert_eq!(reported, ["customer-export.gpg", "inventory-notes.gpg", "keys-20240101.gpg"]);
}

#[test]
fn cleanup_dry_run_reads_beside_running_backup() {
    let (backups, names) = ten_days();
    let partial = format!("{}.partial", names[9].replace("20260110", "20260111"));
    backups.add_file(&partial, b"the running backup's file");
    let held = DirLock::exclusive(&backups.dir, "backup").unwrap();

    let report = cleanup(&backups.config, true).unwrap();

    let writer = report.beside_writer.as_ref().unwrap();
    assert_eq!(writer.operation, "backup");
    assert_eq!(writer.pid, Some(std::process::id()));
    assert_eq!(report.plan.retention.deleted().count(), 7);
    assert!(report.plan.leftovers.is_empty(), "{:?}", report.plan.leftovers);
    assert!(backups.dir.join(&partial).exists());
    let error = cleanup(&backups.config, false).unwrap_err();
    assert!(matches!(error, BackupError::Locked { .. }), "{error:?}");
    drop(held);
    assert!(cleanup(&backups.config, true).unwrap().beside_writer.is_none());
}

#[test]
fn cleanup_fails_while_backup_holds_lock() {
    let (backups, _) = ten_days();
    let _held = DirLock::exclusive(&backups.dir, "backup").unwrap();

    let error = cleanup(&backups.config, false).unwrap_err();

    assert!(matches!(error, BackupError::Locked { .. }), "{error:?}");
}

#[test]
fn apply_retention_works_under_callers_lock() {
    let (backups, names) = ten_days();
    let lock = DirLock::exclusive(&backups.dir, "backup").unwrap();

    let report = apply_retention(&backups.config, &lock).unwrap();

    assert_eq!(report.deleted.len(), 7);
    assert!(backups.dir.join(&names[9]).exists());
}

#[test]
fn plan_cleanup_reports_rule_per_backup() {
    let (backups, _) = ten_days();

    let plan = plan_cleanup(&backups.config).unwrap();

    let verdicts: Vec<String> =
        plan.retention.decisions.iter().map(|decision| decision.verdict.to_string()).collect();
    assert_eq!(verdicts[0], "keep (last 1, newest verified)");
    assert_eq!(verdicts[2], "keep (last 3)");
    assert_eq!(verdicts[3], "delete (no rule keeps it)");
}

mod properties {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// File names cleanup must never touch: other files, near misses of the backup naming,
    /// and backups of another database.
    fn foreign_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,8}\\.(txt|db|json|zst|bak)",
            Just("inventory-20260101T020000Z.db.zst.gpg.bak".to_owned()),
            Just("inventory-20260101T020000Z.db".to_owned()),
            Just("inventory-2026.db.zst".to_owned()),
            Just("inventory.manifest.json".to_owned()),
            Just("other-20260101T020000Z.db.zst.gpg".to_owned()),
            Just("other-20260101T020000Z.manifest.json".to_owned()),
            Just("inventory-20260101T020000Z.partial".to_owned()),
        ]
    }

    fn state() -> impl Strategy<Value = Option<VerificationResult>> {
        prop_oneof![4 => Just(PASSED), 2 => Just(FAILED), 1 => Just(None)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn cleanup_never_touches_foreign_files(
            history in prop::collection::vec((0..400i64, state()), 0..20),
            foreign in prop::collection::btree_set(foreign_name(), 1..6),
            keep_last in 0..4u32,
            keep_daily in prop::option::of(0..5u32),
            min_keep in 0..4u32,
        ) {
            let mut backups = BackupDir::new();
            backups.config.retention.keep_last = Some(keep_last.max(1));
            backups.config.retention.keep_daily = keep_daily;
            backups.config.retention.min_keep = min_keep;
            let mut contents = BTreeMap::new();
            for (index, name) in foreign.iter().enumerate() {
                let content = format!("foreign file {index}").into_bytes();
                backups.add_file(name, &content);
                contents.insert(name.clone(), content);
            }
            let link = backups.dir.join("link.db.zst.gpg");
            symlink(backups.dir.join(foreign.iter().next().unwrap()), &link).unwrap();
            let mut created = BTreeMap::new();
            for (offset, state) in history {
                let name = backups.add_backup(day(offset), state, 10);
                created.insert(name, state);
            }

            cleanup(&backups.config, false).unwrap();

            for (name, content) in &contents {
                prop_assert_eq!(&fs_err::read(backups.dir.join(name)).unwrap(), content);
            }
            prop_assert!(link.symlink_metadata().is_ok());
            let verified: Vec<&String> =
                created.iter().filter(|(_, state)| **state == PASSED).map(|(name, _)| name).collect();
            let survivors = verified.iter().filter(|name| backups.dir.join(name).exists()).count();
            prop_assert!(survivors >= verified.len().min(min_keep as usize).max(usize::from(!verified.is_empty())));
            let newest = verified.iter().max_by_key(|name| {
                let parsed = invguard_backup::BackupName::parse(name).unwrap();
                (parsed.created_utc, parsed.sequence)
            });
            if let Some(newest) = newest {
                prop_assert!(backups.dir.join(newest).exists());
            }
        }
    }
}
