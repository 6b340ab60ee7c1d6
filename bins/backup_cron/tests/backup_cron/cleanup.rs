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
    assert!(run.stdout.contains("dry run: would keep 1, delete 2, free "), "{run:?}");
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
    assert!(run.stdout.contains("kept 1, deleted 2, freed "), "{run:?}");
    assert_eq!(fixture.backups(), [newest]);
    let manifests =
        fixture.all_files().iter().filter(|name| name.ends_with(".manifest.json")).count();
    assert_eq!(manifests, 1);
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
