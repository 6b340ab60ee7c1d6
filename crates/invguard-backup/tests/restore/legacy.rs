//! Legacy backups of the Python service (`gpg --symmetric`, plain SQLite, no manifest) made
//! by the real `gpg`, and the emergency restore with only `gpg` and `zstd`.

use invguard_backup::restore::{RestoreOptions, Selection, TargetMode, restore};
use invguard_backup::{BackupError, CancelToken};

use super::support::{
    Fixture, GnupgHome, PASSPHRASE, corrupt, integrity_check, row_counts, write_database,
    zstd_decompress,
};

fn legacy_backup(
    fixture: &Fixture,
    gnupg: &GnupgHome,
    name: &str,
    items: u32,
) -> std::path::PathBuf {
    let plain = fixture.path(&format!("{name}.plain"));
    write_database(&plain, items);
    Connection::open(&plain).unwrap().pragma_update(None, "journal_mode", "DELETE").unwrap();
    let backup = fixture.backups.join(name);
    gnupg.encrypt_symmetric(&plain, &backup, PASSPHRASE);
    backup
}

use rusqlite::Connection;

#[test]
fn restore_legacy_gpg_backup_by_name() {
    let fixture = Fixture::new(0);
    let gnupg = GnupgHome::new();
    let backup = legacy_backup(&fixture, &gnupg, "inventory_backup_20250101_020000.db.gpg", 64);
    let target = fixture.path("restored.db");
    let options = RestoreOptions {
        selection: Selection::Named(backup.file_name().unwrap().into()),
        target: target.clone(),
        mode: TargetMode::New,
        dry_run: false,
        full: false,
    };

    let report =
        restore(&fixture.config, &fixture.keys(), &options, &CancelToken::new(), None).unwrap();

    assert!(report.legacy);
    assert!(!report.has_manifest);
    assert_eq!(report.check, "integrity_check");
    assert_eq!(row_counts(&target)["items"], 64);
    assert_eq!(integrity_check(&target), "ok");
}

#[test]
fn restore_latest_falls_back_to_legacy_backup() {
    let fixture = Fixture::new(0);
    let gnupg = GnupgHome::new();
    let legacy = legacy_backup(&fixture, &gnupg, "inventory_backup_20250101_020000.db.gpg", 8);
    let newer = fixture.backup_with_items("2099-01-01T00:00:00Z", 99);
    corrupt(&newer);
    let target = fixture.path("restored.db");
    let options = RestoreOptions {
        selection: Selection::Latest,
        target: target.clone(),
        mode: TargetMode::New,
        dry_run: false,
        full: false,
    };

    let report =
        restore(&fixture.config, &fixture.keys(), &options, &CancelToken::new(), None).unwrap();

    assert_eq!(report.backup, legacy);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(row_counts(&target)["items"], 8);
}

#[test]
fn restore_corrupted_legacy_backup_fails() {
    let fixture = Fixture::new(0);
    let gnupg = GnupgHome::new();
    let backup = legacy_backup(&fixture, &gnupg, "old.db.gpg", 64);
    corrupt(&backup);
    let target = fixture.path("restored.db");
    let options = RestoreOptions {
        selection: Selection::Named(backup),
        target: target.clone(),
        mode: TargetMode::New,
        dry_run: false,
        full: false,
    };

    let error =
        restore(&fixture.config, &fixture.keys(), &options, &CancelToken::new(), None).unwrap_err();

    assert!(
        matches!(error, BackupError::Corrupt { .. } | BackupError::WrongPassphraseOrCorrupt { .. }),
        "{error:?}"
    );
    assert!(!target.exists());
}

#[test]
fn emergency_restore_with_gpg_and_zstd_only() {
    let fixture = Fixture::new(0);
    let gnupg = GnupgHome::new();
    let backup = fixture.backup_with_items("2026-12-01T02:00:00Z", 77);

    let compressed = gnupg.decrypt(&backup, PASSPHRASE);
    let database = fixture.path("emergency.db");
    fs_err::write(&database, zstd_decompress(&compressed)).unwrap();

    assert_eq!(integrity_check(&database), "ok");
    assert_eq!(row_counts(&database)["items"], 77);
}
