//! In-place restores of the live database: rejected while it is in use, and never replaying
//! a stale WAL onto the restored file.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use invguard_backup::restore::{
    InUse, RestoreOptions, RestoreReport, Selection, TargetAction, TargetMode, restore,
};
use invguard_backup::{BackupError, CancelToken};
use rusqlite::Connection;

use super::support::{Fixture, corrupt, integrity_check, row_counts, write_database};

fn in_place(fixture: &Fixture) -> RestoreOptions {
    RestoreOptions {
        selection: Selection::Latest,
        target: fixture.database.clone(),
        mode: TargetMode::InPlace,
        dry_run: false,
        full: true,
    }
}

fn run(fixture: &Fixture, options: &RestoreOptions) -> Result<RestoreReport, BackupError> {
    restore(&fixture.config, &fixture.keys(), options, &CancelToken::new(), None)
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[test]
fn restore_in_place_replaces_live_database() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 40);
    write_database(&fixture.database, 3);

    let report = run(&fixture, &in_place(&fixture)).unwrap();

    assert!(matches!(report.action, TargetAction::Replace { live: true, .. }), "{report:?}");
    assert_eq!(report.check, "integrity_check");
    assert_eq!(row_counts(&fixture.database)["items"], 40);
    assert_eq!(integrity_check(&fixture.database), "ok");
}

#[test]
fn restore_in_place_rejected_while_connection_holds_database() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 40);
    write_database(&fixture.database, 3);
    let holder = Connection::open(&fixture.database).unwrap();
    let _: i64 = holder.query_row("SELECT count(*) FROM items", [], |row| row.get(0)).unwrap();
    let before = fs_err::read(&fixture.database).unwrap();

    let error = run(&fixture, &in_place(&fixture)).unwrap_err();

    let BackupError::DatabaseInUse { check: InUse::SqliteLock { .. }, .. } = &error else {
        panic!("expected the SQLite lock check to fail, got {error:?}");
    };
    assert!(error.to_string().contains("stop the backend"), "{error}");
    assert_eq!(fs_err::read(&fixture.database).unwrap(), before);
    let count: i64 = holder.query_row("SELECT count(*) FROM items", [], |row| row.get(0)).unwrap();
    assert_eq!(count, 3);
}

#[test]
fn restore_in_place_rejected_while_sqlite3_process_holds_database() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 40);
    write_database(&fixture.database, 3);
    let mut sqlite3 = Command::new("sqlite3")
        .arg(&fixture.database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sqlite3 must be installed for the in-place restore tests");
    let mut stdin = sqlite3.stdin.take().unwrap();
    let mut stdout = BufReader::new(sqlite3.stdout.take().unwrap());
    writeln!(stdin, "SELECT count(*) FROM items;").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "3");

    let error = run(&fixture, &in_place(&fixture)).unwrap_err();

    let BackupError::DatabaseInUse { check, .. } = &error else {
        panic!("expected the database to be in use, got {error:?}");
    };
    assert!(
        matches!(check, InUse::OpenFile { pid, .. } if *pid == sqlite3.id()),
        "expected sqlite3 (pid {}) to be found, got {check:?}",
        sqlite3.id()
    );
    drop(stdin);
    sqlite3.wait().unwrap();
    assert_eq!(row_counts(&fixture.database)["items"], 3);
}

#[test]
fn restore_in_place_moves_stale_wal_aside() {
    let fixture = Fixture::new(0);
    fixture.backup_with_items("2026-12-01T02:00:00Z", 40);
    write_database(&fixture.database, 3);
    let wal = with_suffix(&fixture.database, "-wal");
    let stale_wal = stale_wal_with_items(&fixture.database, 500);
    fs_err::write(&wal, &stale_wal).unwrap();

    let report = run(&fixture, &in_place(&fixture)).unwrap();

    assert!(!wal.exists());
    assert_eq!(row_counts(&fixture.database)["items"], 40);
    assert_eq!(integrity_check(&fixture.database), "ok");
    let TargetAction::Replace { moved_aside: Some(moved), .. } = report.action else {
        panic!("expected a replacement, got {:?}", report.action);
    };
    assert_eq!(fs_err::read(with_suffix(&moved.safety_copy, "-wal")).unwrap(), stale_wal);
    // The safety copy opens with its own WAL, so nothing the old database held is lost.
    assert_eq!(row_counts(&moved.safety_copy)["items"], 500);
}

/// Returns a WAL file for `database` that adds rows up to `items`, leaving `database` as it
/// was: the WAL is copied while a connection has it open, then the connection is dropped
/// (which checkpoints) and the database file is restored.
fn stale_wal_with_items(database: &Path, items: u32) -> Vec<u8> {
    let original = fs_err::read(database).unwrap();
    let connection = Connection::open(database).unwrap();
    connection.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    let transaction = connection.unchecked_transaction().unwrap();
    let existing: i64 =
        transaction.query_row("SELECT count(*) FROM items", [], |row| row.get(0)).unwrap();
    for id in existing as u32..items {
        transaction
            .execute("INSERT INTO items (sku, quantity) VALUES (?1, 0)", [format!("WAL-{id}")])
            .unwrap();
    }
    transaction.commit().unwrap();

    let wal = fs_err::read(with_suffix(database, "-wal")).unwrap();
    drop(connection);
    fs_err::write(database, original).unwrap();
    let _ = fs_err::remove_file(with_suffix(database, "-shm"));
    wal
}

#[test]
fn restore_in_place_with_corrupted_backup_leaves_database_untouched() {
    let fixture = Fixture::new(0);
    let backup = fixture.backup_with_items("2026-12-01T02:00:00Z", 40);
    corrupt(&backup);
    write_database(&fixture.database, 3);
    let before = fs_err::read(&fixture.database).unwrap();
    let names_before = super::support::file_names(fixture.database.parent().unwrap());
    let request = RestoreOptions { selection: Selection::Named(backup), ..in_place(&fixture) };

    run(&fixture, &request).unwrap_err();

    assert_eq!(fs_err::read(&fixture.database).unwrap(), before);
    assert_eq!(super::support::file_names(fixture.database.parent().unwrap()), names_before);
}
