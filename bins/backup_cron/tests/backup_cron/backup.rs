//! `backup_cron backup`: the whole cycle with real SQLite, gpg and zstd, the refusals, lock
//! contention and interruption by a real signal.

use std::fs::File;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

use crate::fixture::{Fixture, GnupgHome, count_rows};

/// Upper bound of every wait in these tests; reaching it fails the test.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

#[test]
fn backup_verify_list_round_trip_with_gpg() {
    let fixture = Fixture::new("");
    fixture.create_database(2_000);

    // A writer keeps inserting while the backup runs, as the InvGuard backend would.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let conn = Connection::open(fixture.database()).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        std::thread::spawn(move || {
            let mut written = 0u32;
            while !stop.load(Ordering::Relaxed) {
                conn.execute(
                    "INSERT INTO items (sku, name, category_id, quantity) VALUES (?1, 'new', 1, 1)",
                    [format!("NEW-{written:06}")],
                )
                .unwrap();
                written += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            written
        })
    };
    let backup_run = fixture.run(&["backup"]);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();

    backup_run.assert_code(0);
    let backups = fixture.backups();
    assert_eq!(backups.len(), 1, "{:?}", fixture.all_files());
    let backup = &backups[0];
    assert!(backup_run.stdout.contains(&backup.display().to_string()), "{backup_run:?}");
    assert!(written > 0, "the writer thread never wrote");

    let verify_run = fixture.run(&["verify"]);
    verify_run.assert_code(0);
    assert!(verify_run.stdout.contains("1 passed, 0 failed"), "{verify_run:?}");

    let list_run = fixture.run(&["list", "--json"]);
    list_run.assert_code(0);
    let list: Value = serde_json::from_str(&list_run.stdout).unwrap();
    let entry = &list.as_array().unwrap()[0];
    assert_eq!(entry["name"], backup.file_name().unwrap().to_str().unwrap());
    assert_eq!(entry["verification"]["result"], "passed");
    assert_eq!(entry["legacy"], false);
    assert_eq!(entry["encryption"], "passphrase");
    assert_eq!(entry["size"], fs_err::metadata(backup).unwrap().len());

    // The backup is a plain OpenPGP message of a zstd frame of the snapshot.
    let gnupg = GnupgHome::new();
    let restored = fixture.path().join("restored.db");
    gnupg.decrypt(backup, &fixture.passphrase_file(), &restored);
    let restored_rows = count_rows(&restored, "items") + count_rows(&restored, "categories");
    assert_eq!(entry["rows_total"], restored_rows);
    assert!(count_rows(&restored, "items") >= 2_000);
    assert!(count_rows(&restored, "items") <= fixture.rows("items"));
    let check: String = Connection::open(&restored)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn backup_files_are_private() {
    let fixture = Fixture::new("");
    fixture.create_database(50);

    let backup = fixture.backup();

    use std::os::unix::fs::PermissionsExt as _;
    let mode =
        |path: &std::path::Path| fs_err::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(mode(&fixture.backup_dir()), 0o700);
    assert_eq!(mode(&fixture.temp_dir()), 0o700);
}

#[test]
fn backup_without_passphrase_is_rejected() {
    let fixture = Fixture::with_encryption("[encryption]\nmode = \"passphrase\"\n");
    fixture.create_database(10);

    let run = fixture.run(&["backup"]);

    run.assert_code(2);
    assert!(run.stderr.contains("no passphrase is configured"), "{run:?}");
    assert!(run.stderr.contains("GPG_PASSPHRASE_FILE"), "{run:?}");
    assert!(!fixture.backup_dir().exists() || fixture.backups().is_empty());
}

#[test]
fn backup_mode_none_warns_and_writes_plain_zstd() {
    let fixture = Fixture::with_encryption("[encryption]\nmode = \"none\"\n");
    fixture.create_database(10);

    let run = fixture.run(&["backup"]);

    run.assert_code(0);
    assert!(run.stderr.contains("unencrypted"), "{run:?}");
    let names = fixture.all_files();
    assert!(names.iter().any(|name| name.ends_with(".db.zst")), "{names:?}");
}

#[test]
fn backup_lock_held_exits_75_naming_holder() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    fs_err::create_dir_all(fixture.backup_dir()).unwrap();

    // Hold the lock the way another backup run does: an OS lock and the holder's record.
    let lock_path = fixture.backup_dir().join(".invguard.lock");
    let mut lock: File = fs_err::File::create(lock_path).unwrap().into_parts().0;
    lock.lock().unwrap();
    write!(lock, "pid=4242 operation=backup").unwrap();
    lock.flush().unwrap();

    let run = fixture.run(&["backup"]);

    run.assert_code(75);
    assert!(run.stderr.contains("another backup is running (pid 4242)"), "{run:?}");
    assert!(fixture.backups().is_empty());
    drop(lock);
}

#[test]
fn backup_sigterm_exits_143_without_leftovers() {
    let fixture = Fixture::new("");
    fixture.create_large_database(96);
    let mut child = fixture.spawn(&["backup"]);

    // Signal once the run has created its first file, the snapshot in the temporary directory.
    let started = Instant::now();
    while fixture.all_files().iter().all(|name| name == ".invguard.lock") {
        assert!(child.try_wait().unwrap().is_none(), "backup ended before it was signalled");
        assert!(started.elapsed() < WAIT_LIMIT, "backup created no file");
        std::thread::sleep(Duration::from_millis(5));
    }
    kill_process(Pid::from_child(&child), Signal::TERM).unwrap();
    let output = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    let left: Vec<String> =
        fixture.all_files().into_iter().filter(|name| name != ".invguard.lock").collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn backup_removes_own_leftovers_first_and_keeps_other_names() {
    let fixture = Fixture::new("");
    fixture.create_database(20);
    fs_err::create_dir_all(fixture.backup_dir()).unwrap();
    let own = fixture.backup_dir().join("inventory-20200101T000000Z.db.zst.gpg.partial");
    let other = fixture.backup_dir().join("other-20261204T000000Z.db.zst.gpg.partial");
    let other_manifest = fixture.backup_dir().join("other-20261204T000000Z.manifest.json.tmp");
    for path in [&own, &other, &other_manifest] {
        fs_err::write(path, b"left by a killed run").unwrap();
    }

    let run = fixture.run(&["-v", "backup"]);

    run.assert_code(0);
    assert!(!own.exists(), "{run:?}");
    assert!(other.exists(), "{run:?}");
    assert!(other_manifest.exists(), "{run:?}");
    let position = |message: &str| {
        let found = run.stderr.lines().position(|line| line.contains(message));
        found.unwrap_or_else(|| panic!("no line with {message:?}: {run:?}"))
    };
    let removed = position("removed a leftover of an interrupted run");
    assert!(run.stderr.lines().nth(removed).unwrap().contains(own.to_str().unwrap()), "{run:?}");
    assert_eq!(run.stderr.matches("removed a leftover").count(), 1, "{run:?}");
    assert!(removed < position("opened a read transaction for a streamed snapshot"), "{run:?}");
}
