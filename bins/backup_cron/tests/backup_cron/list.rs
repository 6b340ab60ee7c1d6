//! `backup_cron list`: the table (snapshot) and the JSON fields scripts rely on.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;

use crate::fixture::Fixture;

/// Adds a legacy backup (a `.gpg` file of the Python service, dated by its mtime) and an
/// incomplete one (our naming without a manifest) beside the real backups.
fn add_legacy_and_incomplete(fixture: &Fixture, real_backup: &std::path::Path) {
    let legacy = fixture.backup_dir().join("inventory_backup_20240301_020000.db.gpg");
    fs_err::write(&legacy, b"legacy OpenPGP message").unwrap();
    let march_first = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_258_400);
    fs_err::File::options().write(true).open(&legacy).unwrap().set_modified(march_first).unwrap();

    let incomplete = fixture.backup_dir().join("inventory-20240101T000000Z.db.zst.gpg");
    fs_err::copy(real_backup, incomplete).unwrap();
}

/// The UTC time in the name of `backup`, such as `inventory-20261204T020000Z.db.zst.gpg`.
fn name_time(backup: &std::path::Path) -> (String, DateTime<Utc>) {
    let name = backup.file_name().unwrap().to_str().unwrap();
    let stamp = &name["inventory-".len().."inventory-".len() + 16];
    let time = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").unwrap().and_utc();
    (stamp.to_owned(), time)
}

#[test]
fn list_table_marks_legacy_and_incomplete() {
    let fixture = Fixture::new("");
    fixture.create_database(300);
    let backup = fixture.backup();
    add_legacy_and_incomplete(&fixture, &backup);

    let run = fixture.run(&["list"]);

    run.assert_code(0);
    let (stamp, time) = name_time(&backup);
    let utc = time.format("%Y-%m-%d %H:%M:%S").to_string();
    let local = time.with_timezone(&Berlin).format("%Y-%m-%d %H:%M %Z").to_string();
    // Sizes and ratios follow the snapshot and compression code; the table layout is tested.
    insta::with_settings!({ filters => vec![
        (r"\d+\.\d\d KiB", "[n] KiB"),
        (r"0\.\d{3}", "[ratio]"),
        (stamp.as_str(), "[STAMP]"),
        (utc.as_str(), "[UTC TIME]         "),
        (local.as_str(), "[LOCAL TIME]        "),
    ]}, {
        insta::assert_snapshot!(run.stdout);
    });
}

#[test]
fn list_json_fields() {
    let fixture = Fixture::new("");
    fixture.create_database(300);
    let backup = fixture.backup();
    add_legacy_and_incomplete(&fixture, &backup);

    let run = fixture.run(&["list", "--json"]);

    run.assert_code(0);
    let entries: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{run:?}");

    // Newest first: the real backup, the legacy one of March 2024, the incomplete one.
    let real = &entries[0];
    for field in [
        "name",
        "created_utc",
        "size",
        "ciphertext_sha256",
        "compression_ratio",
        "verification",
        "rows_total",
        "encryption",
        "legacy",
    ] {
        assert!(real.get(field).is_some(), "field {field} missing in {real}");
    }
    assert_eq!(real["rows_total"], 303);
    assert_eq!(real["verification"]["level"], "quick");
    assert!(real["compression_ratio"].as_f64().unwrap() < 1.0, "{real}");
    assert_eq!(real["ciphertext_sha256"].as_str().unwrap().len(), 64);

    assert_eq!(entries[1]["legacy"], true);
    assert_eq!(entries[1]["created_utc"], "2024-03-01T02:00:00Z");
    assert_eq!(entries[1]["verification"], serde_json::Value::Null);
    assert_eq!(entries[2]["incomplete"], true);
    assert_eq!(entries[2]["legacy"], false);
    assert_eq!(entries[2]["created_utc"], "2024-01-01T00:00:00Z");
}

#[test]
fn list_missing_directory_is_empty() {
    let fixture = Fixture::new("");

    let run = fixture.run(&["list", "--json"]);

    run.assert_code(0);
    assert_eq!(run.stdout.trim(), "[]");
}

#[test]
fn list_table_shows_keys_each_backup_needs() {
    let gnupg = crate::fixture::GnupgHome::new();
    let uid = "InvGuard List <list@example.invalid>";
    let generated = gnupg
        .gpg()
        .args(["--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never"])
        .status()
        .expect("cannot run gpg; install GnuPG to run these tests");
    assert!(generated.success());
    let public_key = gnupg.dir.path().join("public.asc");
    let exported = gnupg.gpg().args(["--armor", "--export", uid]).output().unwrap().stdout;
    fs_err::write(&public_key, exported).unwrap();
    let fixture = Fixture::new(&format!("recipients = [\"{}\"]\n", public_key.display()));
    fixture.create_database(20);
    let both = fixture.backup();
    let public_only = fixture.path().join("public-only.toml");
    let config = fs_err::read_to_string(fixture.config_path()).unwrap();
    let config = config.replace("mode = \"passphrase\"", "mode = \"public-key\"");
    let passphrase_line =
        format!("passphrase_file = \"{}\"\n", fixture.passphrase_file().display());
    let config = config.replace(&passphrase_line, "");
    fs_err::write(&public_only, config).unwrap();
    fixture.run_with_config(&public_only, &["backup"]).assert_code(0);
    let key_only = fixture.backups().pop().unwrap();

    let run = fixture.run(&["list"]);
    let json = fixture.run(&["list", "--json"]);

    run.assert_code(0);
    let entries: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let fingerprint = entries[0]["recipients"][0].as_str().unwrap();
    let short = format!("key 0x{}…", &fingerprint[..8]);
    let row = |backup: &std::path::Path| {
        let name = backup.file_name().unwrap().to_str().unwrap();
        run.stdout.lines().find(|line| line.ends_with(name)).unwrap().to_owned()
    };
    assert!(row(&key_only).contains(&format!("  {short}  ")), "{run:?}");
    assert!(row(&both).contains(&format!("  passphrase + {short}  ")), "{run:?}");
    assert!(run.stdout.starts_with("CREATED (UTC)"), "{run:?}");
    assert!(run.stdout.lines().next().unwrap().contains("  KEY  "), "{run:?}");
}

#[test]
fn list_flags_unreadable_manifest_and_lists_the_rest() {
    let fixture = Fixture::new("");
    fixture.create_database(20);
    let damaged = fixture.backup();
    let good = fixture.backup();
    let stem = damaged.file_name().unwrap().to_str().unwrap().trim_end_matches(".db.zst.gpg");
    fs_err::write(fixture.backup_dir().join(format!("{stem}.manifest.json")), b"[1, 2").unwrap();

    let run = fixture.run(&["list"]);
    let json = fixture.run(&["list", "--json"]);

    run.assert_code(0);
    json.assert_code(0);
    let good_name = good.file_name().unwrap().to_str().unwrap();
    let damaged_name = damaged.file_name().unwrap().to_str().unwrap();
    assert!(run.stdout.contains("2 backups"), "{run:?}");
    let damaged_row = run.stdout.lines().find(|line| line.contains(damaged_name)).unwrap();
    assert!(damaged_row.contains("UNREADABLE"), "{run:?}");
    assert!(damaged_row.contains("manifest unreadable: invalid JSON"), "{run:?}");
    let good_row = run.stdout.lines().find(|line| line.contains(good_name)).unwrap();
    assert!(good_row.contains("passed"), "{run:?}");
    let entries: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let flagged = entries.as_array().unwrap().iter().find(|e| e["name"] == damaged_name).unwrap();
    assert!(flagged["manifest_error"].as_str().unwrap().starts_with("invalid JSON"), "{flagged}");
    assert_eq!(flagged["verification"], serde_json::Value::Null);
}

#[test]
fn list_works_while_backup_holds_lock() {
    let fixture = Fixture::new("");
    fixture.create_database(20);
    let backup = fixture.backup();
    let _held = invguard_backup::DirLock::exclusive(&fixture.backup_dir(), "backup").unwrap();

    let run = fixture.run(&["list"]);

    run.assert_code(0);
    assert!(run.stdout.contains(backup.file_name().unwrap().to_str().unwrap()), "{run:?}");
    let note = format!("a backup is running (pid {})", std::process::id());
    assert!(run.stderr.contains(&note), "{run:?}");
    assert!(run.stderr.contains("the listing may change"), "{run:?}");
}

#[test]
fn list_table_shows_unknown_key_for_incomplete_unencrypted_backup() {
    let fixture = Fixture::with_encryption("[encryption]\nmode = \"none\"\n");
    fixture.create_database(20);
    fixture.run(&["backup"]).assert_code(0);
    let backup = fixture
        .backup_dir()
        .join(fixture.all_files().into_iter().find(|name| name.ends_with(".db.zst")).unwrap());
    let incomplete = fixture.backup_dir().join("inventory-20240101T000000Z.db.zst");
    fs_err::copy(&backup, &incomplete).unwrap();

    let run = fixture.run(&["list"]);

    run.assert_code(0);
    let row = |name: &str| {
        let line = run.stdout.lines().find(|line| line.ends_with(name)).unwrap();
        line.split_whitespace().collect::<Vec<_>>()
    };
    let incomplete_row = row("inventory-20240101T000000Z.db.zst");
    assert_eq!(incomplete_row[incomplete_row.len() - 2], "-", "{run:?}");
    assert!(incomplete_row.contains(&"INCOMPLETE"), "{run:?}");
    let complete_row = row(backup.file_name().unwrap().to_str().unwrap());
    assert_eq!(complete_row[complete_row.len() - 2], "none", "{run:?}");
}
