//! `backup_cron restore`: end to end with the real binary, and its exit codes.

use std::process::Command;

use invguard_backup::DirLock;

use crate::fixture::{Fixture, PASSPHRASE, count_rows};

/// Safety copies beside the live database, without their `-wal` and `-shm` files.
fn pre_restore_files(fixture: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(fixture.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("inventory.db.pre-restore-"))
        .filter(|name| !name.ends_with("-wal") && !name.ends_with("-shm"))
        .collect();
    names.sort();
    names
}

#[test]
fn restore_latest_to_new_path() {
    let fixture = Fixture::new("");
    fixture.create_database(200);
    fixture.backup();
    let target = fixture.path().join("restored.db");

    let run = fixture.run(&["restore", "--latest", "--to", target.to_str().unwrap()]);

    run.assert_code(0);
    assert!(run.stdout.contains("items 200"), "{run:?}");
    assert!(run.stdout.contains("(created)"), "{run:?}");
    assert_eq!(count_rows(&target, "items"), 200);
    assert!(!run.stdout.contains(PASSPHRASE) && !run.stderr.contains(PASSPHRASE), "{run:?}");
}

#[test]
fn restore_over_existing_file_without_force_exits_2() {
    let fixture = Fixture::new("");
    fixture.create_database(20);
    fixture.backup();
    let before = fs_err::read(fixture.database()).unwrap();

    let run = fixture.run(&["restore", "--latest", "--to", fixture.database().to_str().unwrap()]);

    run.assert_code(2);
    assert!(run.stderr.contains("already exists"), "{run:?}");
    assert_eq!(fs_err::read(fixture.database()).unwrap(), before);
}

#[test]
fn restore_in_place_replaces_live_database() {
    let fixture = Fixture::new("");
    fixture.create_database(200);
    fixture.backup();
    // The change goes through a separate process, not a connection of this test process: a
    // child that another test thread spawns at that moment holds a copy of every open
    // descriptor until its exec, so the restore's open-file check could find the database
    // open in that child.
    let deleted = Command::new("sqlite3")
        .arg(fixture.database())
        .arg("DELETE FROM items WHERE id > 5;")
        .status()
        .expect("sqlite3 must be installed for this test");
    assert!(deleted.success());
    let database = fixture.database();

    let run =
        fixture.run(&["restore", "--latest", "--to", database.to_str().unwrap(), "--in-place"]);

    run.assert_code(0);
    assert!(run.stdout.contains("live database, replaced"), "{run:?}");
    assert_eq!(fixture.rows("items"), 200);
    let safety_copies = pre_restore_files(&fixture);
    assert_eq!(safety_copies.len(), 1, "{safety_copies:?}");
    assert_eq!(count_rows(&fixture.path().join(&safety_copies[0]), "items"), 5);
}

#[test]
fn restore_in_place_while_sqlite3_reads_exits_1() {
    let fixture = Fixture::new("");
    fixture.create_database(50);
    fixture.backup();
    let mut sqlite3 = Command::new("sqlite3")
        .arg(fixture.database())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3 must be installed for this test");
    let mut stdin = sqlite3.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(sqlite3.stdout.take().unwrap());
    std::io::Write::write_all(&mut stdin, b"SELECT count(*) FROM items;\n").unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let database = fixture.database();

    let run =
        fixture.run(&["restore", "--latest", "--to", database.to_str().unwrap(), "--in-place"]);

    drop(stdin);
    sqlite3.wait().unwrap();
    run.assert_code(1);
    assert!(run.stderr.contains("is in use"), "{run:?}");
    assert!(run.stderr.contains("stop the backend"), "{run:?}");
    assert!(pre_restore_files(&fixture).is_empty());
}

#[test]
fn restore_dry_run_prints_plan_and_writes_nothing() {
    let fixture = Fixture::new("");
    fixture.create_database(30);
    fixture.backup();
    let target = fixture.path().join("restored.db");

    let run = fixture.run(&["restore", "--latest", "--to", target.to_str().unwrap(), "--dry-run"]);

    run.assert_code(0);
    assert!(run.stdout.contains("would be created"), "{run:?}");
    assert!(run.stdout.contains("dry run: nothing was written"), "{run:?}");
    assert!(!target.exists());
}

#[test]
fn restore_invalid_before_time_exits_2() {
    let fixture = Fixture::new("");

    let run = fixture.run(&["restore", "--before", "yesterday", "--to", "/tmp/never.db"]);

    run.assert_code(2);
    assert!(run.stderr.contains("invalid time \"yesterday\""), "{run:?}");
}

#[test]
fn restore_before_oldest_backup_says_none_was_created_before() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    let backup = fixture.backup();
    let name = backup.file_name().unwrap().to_str().unwrap();
    let stamp = &name["inventory-".len().."inventory-".len() + 16];
    let oldest = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").unwrap();
    let target = fixture.path().join("restored.db");

    let run = fixture.run(&[
        "restore",
        "--before",
        "2020-01-01T00:00:00Z",
        "--to",
        target.to_str().unwrap(),
    ]);

    run.assert_code(1);
    let expected = format!(
        "error: no backup in {} was created before 2020-01-01T00:00:00Z: the oldest backup was \
         created at {}; give a later --before time, or --latest\n",
        fixture.backup_dir().display(),
        oldest.format("%Y-%m-%dT%H:%M:%SZ")
    );
    assert_eq!(run.stderr, expected, "{run:?}");
    assert!(!target.exists());
}

#[test]
fn restore_without_backup_choice_exits_2() {
    let fixture = Fixture::new("");

    let run = fixture.run(&["restore", "--to", "/tmp/never.db"]);

    run.assert_code(2);
    assert!(run.stderr.contains("--latest"), "{run:?}");
}

#[test]
fn restore_while_cleanup_holds_lock_exits_75() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    fixture.backup();
    let _held = DirLock::exclusive(&fixture.backup_dir(), "cleanup").unwrap();
    let target = fixture.path().join("restored.db");

    let run = fixture.run(&["restore", "--latest", "--to", target.to_str().unwrap()]);

    run.assert_code(75);
    assert!(run.stderr.contains("another cleanup is running"), "{run:?}");
}

#[test]
fn restore_dry_run_in_place_reports_database_in_use() {
    let fixture = Fixture::new("");
    fixture.create_database(50);
    fixture.backup();
    let mut sqlite3 = Command::new("sqlite3")
        .arg(fixture.database())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3 must be installed for this test");
    let mut stdin = sqlite3.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(sqlite3.stdout.take().unwrap());
    std::io::Write::write_all(&mut stdin, b"SELECT count(*) FROM items;\n").unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let database = fixture.database();
    let args =
        ["restore", "--latest", "--to", database.to_str().unwrap(), "--in-place", "--dry-run"];

    let busy = fixture.run(&args);
    drop(stdin);
    sqlite3.wait().unwrap();
    let idle = fixture.run(&args);

    busy.assert_code(1);
    let refused = format!("in use:  process {} has", sqlite3.id());
    assert!(busy.stdout.contains(&refused), "{busy:?}");
    assert!(busy.stdout.contains("the restore would be refused"), "{busy:?}");
    assert!(busy.stdout.contains("dry run: nothing was written"), "{busy:?}");
    idle.assert_code(0);
    assert!(idle.stdout.contains("in use:  no other process has it open or locked"), "{idle:?}");
    assert!(pre_restore_files(&fixture).is_empty());
    assert_eq!(fixture.rows("items"), 50);
}

#[test]
fn restore_into_missing_directory_names_it() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    fixture.backup();
    let missing = fixture.path().join("no-such-dir");
    let target = missing.join("restored.db");

    let run = fixture.run(&["restore", "--latest", "--to", target.to_str().unwrap()]);

    run.assert_code(2);
    let expected = format!(
        "error: the directory {} of restore target {} does not exist: create it first \
         (mkdir -p {}) or choose a target in an existing directory\n",
        missing.display(),
        target.display(),
        missing.display()
    );
    assert_eq!(run.stderr, expected, "{run:?}");
    assert!(!missing.exists());
}

#[test]
fn restore_wrong_passphrase_error_prints_once() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    let backup = fixture.backup();
    let wrong = fixture.path().join("wrong-passphrase");
    fs_err::write(&wrong, "not-the-passphrase\n").unwrap();
    let config = fs_err::read_to_string(fixture.config_path()).unwrap();
    let wrong_config = fixture.path().join("wrong.toml");
    let passphrase = fixture.passphrase_file().display().to_string();
    fs_err::write(&wrong_config, config.replace(&passphrase, wrong.to_str().unwrap())).unwrap();
    let name = backup.file_name().unwrap().to_str().unwrap();
    let target = fixture.path().join("restored.db");

    let run = fixture
        .run_with_config(&wrong_config, &["restore", name, "--to", target.to_str().unwrap()]);

    run.assert_code(1);
    let error = run.stderr.lines().find(|line| line.starts_with("error: ")).unwrap();
    assert_eq!(error.matches("wrong passphrase").count(), 1, "{run:?}");
    assert_eq!(error.matches("configured passphrase").count(), 1, "{run:?}");
    assert_eq!(error.matches("check ").count(), 1, "{run:?}");
    assert!(error.contains(name), "{run:?}");
    assert!(!target.exists());
}

#[test]
fn restore_dry_run_works_while_backup_holds_lock() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    fixture.backup();
    let _held = DirLock::exclusive(&fixture.backup_dir(), "backup").unwrap();
    let target = fixture.path().join("restored.db");
    let args = ["restore", "--latest", "--to", target.to_str().unwrap()];

    let dry_run = fixture.run(&[&args[..], &["--dry-run"]].concat());
    let real = fixture.run(&args);

    dry_run.assert_code(0);
    let note = format!("note:    a backup is running (pid {})", std::process::id());
    assert!(dry_run.stdout.contains(&note), "{dry_run:?}");
    assert!(dry_run.stdout.contains("would be created"), "{dry_run:?}");
    real.assert_code(75);
    assert!(!target.exists());
}

#[test]
fn restore_modified_backup_error_prints_once() {
    let fixture = Fixture::new("");
    fixture.create_database(30);
    let backup = fixture.backup();
    // The last byte belongs to the encrypted integrity code, so the data decrypts and
    // decompresses and only the integrity check fails.
    let mut bytes = fs_err::read(&backup).unwrap();
    *bytes.last_mut().unwrap() ^= 0x01;
    fs_err::write(&backup, bytes).unwrap();
    let name = backup.file_name().unwrap().to_str().unwrap();
    let target = fixture.path().join("restored.db");

    let run = fixture.run(&["restore", name, "--to", target.to_str().unwrap()]);

    run.assert_code(1);
    let error = run.stderr.lines().find(|line| line.starts_with("error: ")).unwrap();
    let expected = format!(
        "error: backup {} is corrupt: the integrity check (modification detection code) \
         failed; the file was damaged or modified",
        backup.display()
    );
    assert_eq!(error, expected, "{run:?}");
    assert!(!target.exists());
}
