//! `backup_cron cleanup`: the printed plan, what it deletes and its exit codes.

use crate::fixture::Fixture;

const KEEP_ONE: &str = "[retention]\nkeep_last = 1\nmin_keep = 1\n";

#[test]
fn cleanup_dry_run_lists_every_backup() {
    let fixture = Fixture::new(KEEP_ONE);
    fixture.create_database(10);
    for _ in 0..3 {
        fixture.backup();
    }
    let before = fixture.all_files();

    let run = fixture.run(&["cleanup", "--dry-run"]);

    run.assert_code(0);
    let keep = run.stdout.lines().filter(|line| line.starts_with("keep ")).count();
    let delete = run.stdout.lines().filter(|line| line.starts_with("delete ")).count();
    assert_eq!((keep, delete), (1, 2), "{run:?}");
    assert!(run.stdout.contains("(last 1, newest verified)"), "{run:?}");
    assert!(
        run.stdout.contains("dry run: would keep 1, delete 2, remove 0 leftovers, free "),
        "{run:?}"
    );
    assert_eq!(fixture.all_files(), before);
}

#[test]
fn cleanup_deletes_and_reports_freed_bytes() {
    let fixture = Fixture::new(KEEP_ONE);
    fixture.create_database(10);
    for _ in 0..3 {
        fixture.backup();
    }
    let newest = fixture.backups().pop().unwrap();

    let run = fixture.run(&["cleanup"]);

    run.assert_code(0);
    assert!(run.stdout.contains("kept 1, deleted 2, removed 0 leftovers, freed "), "{run:?}");
    assert_eq!(fixture.backups(), [newest]);
    let manifests =
        fixture.all_files().iter().filter(|name| name.ends_with(".manifest.json")).count();
    assert_eq!(manifests, 1);
}

#[test]
fn cleanup_logs_each_deleted_backup_and_the_policy() {
    let fixture = Fixture::new(KEEP_ONE);
    fixture.create_database(10);
    let mut backups = Vec::new();
    for _ in 0..3 {
        backups.push(fixture.backup());
    }

    let run = fixture.run(&["cleanup"]);

    run.assert_code(0);
    let deleted: Vec<&str> =
        run.stderr.lines().filter(|line| line.contains("deleted backup")).collect();
    assert_eq!(deleted.len(), 2, "{run:?}");
    for backup in &backups[..2] {
        let name = backup.file_name().unwrap().to_str().unwrap();
        let line = deleted.iter().find(|line| line.contains(name));
        assert!(line.is_some_and(|line| line.contains("INFO")), "{name}: {run:?}");
    }
    let summary = run.stderr.lines().find(|line| line.contains("cleanup finished")).unwrap();
    assert!(summary.contains("keep_last = 1"), "{run:?}");
    assert!(summary.contains("deleted=2"), "{run:?}");
}

#[test]
fn cleanup_policy_keeping_nothing_exits_2() {
    let fixture = Fixture::new("[retention]\nkeep_last = 0\n");
    fixture.create_database(10);
    fixture.backup();

    let run = fixture.run(&["cleanup"]);

    run.assert_code(2);
    assert!(run.stderr.contains("keep nothing"), "{run:?}");
    assert_eq!(fixture.backups().len(), 1);
}

#[test]
fn cleanup_reports_removed_leftover_apart_from_deleted_backups() {
    let fixture = Fixture::new(KEEP_ONE);
    fixture.create_database(10);
    let backup = fixture.backup();
    let partial = fixture.backup_dir().join("inventory-20200101T000000Z.db.zst.gpg.partial");
    fs_err::write(&partial, b"left by a killed run").unwrap();

    let run = fixture.run(&["cleanup"]);

    run.assert_code(0);
    assert!(
        run.stdout.contains("kept 1, deleted 0, removed 1 leftover, freed 20 bytes"),
        "{run:?}"
    );
    assert!(!partial.exists());
    assert!(backup.exists());
}

#[test]
fn cleanup_dry_run_works_while_backup_holds_lock() {
    let fixture = Fixture::new(KEEP_ONE);
    fixture.create_database(10);
    for _ in 0..2 {
        fixture.backup();
    }
    let _held = invguard_backup::DirLock::exclusive(&fixture.backup_dir(), "backup").unwrap();
    let before = fixture.all_files();

    let dry_run = fixture.run(&["cleanup", "--dry-run"]);
    let real = fixture.run(&["cleanup"]);

    dry_run.assert_code(0);
    let note = format!("note: a backup is running (pid {})", std::process::id());
    assert!(dry_run.stdout.contains(&note), "{dry_run:?}");
    assert!(dry_run.stdout.contains("dry run: would keep 1, delete 1"), "{dry_run:?}");
    real.assert_code(75);
    assert!(real.stderr.contains("another backup is running"), "{real:?}");
    assert_eq!(fixture.all_files(), before);
}

#[test]
fn cleanup_keeps_backup_with_unreadable_manifest() {
    let fixture = Fixture::new(KEEP_ONE);
    fixture.create_database(10);
    let damaged = fixture.backup();
    fixture.backup();
    let newest = fixture.backup();
    let stem = damaged.file_name().unwrap().to_str().unwrap().trim_end_matches(".db.zst.gpg");
    let manifest = fixture.backup_dir().join(format!("{stem}.manifest.json"));
    fs_err::write(&manifest, b"not json").unwrap();

    let run = fixture.run(&["cleanup"]);

    run.assert_code(0);
    assert!(run.stdout.contains("manifest unreadable: invalid JSON"), "{run:?}");
    assert!(run.stdout.contains("kept 2, deleted 1, removed 0 leftovers"), "{run:?}");
    assert!(run.stdout.contains("1 backup with an unreadable manifest never deleted"), "{run:?}");
    assert!(damaged.exists());
    assert!(manifest.exists());
    assert!(newest.exists());
}
