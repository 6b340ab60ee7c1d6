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
    insta::with_settings!({ filters => vec![
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
