//! Source databases that cannot be backed up: clear errors, and nothing created.

use std::path::Path;

use invguard_backup::{BackupError, BackupOptions, run_backup};
use invguard_config::Config;

use super::support::{PASSPHRASE, redact};

fn backup_error(database: &Path, root: &Path) -> BackupError {
    let config = Config::for_tests(database, &root.join("backups"))
        .with_passphrase(invguard_config::Secret::new(PASSPHRASE.to_owned()));
    run_backup(&config, &BackupOptions::default()).unwrap_err()
}

#[test]
fn backup_rejects_unusable_sources() {
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path();
    let directory = root_path.join("data-dir");
    fs_err::create_dir(&directory).unwrap();
    let dangling = root_path.join("dangling.db");
    std::os::unix::fs::symlink(root_path.join("gone.db"), &dangling).unwrap();
    let text_file = root_path.join("notes.db");
    fs_err::write(&text_file, "this is not a database\n").unwrap();
    let missing = root_path.join("missing.db");

    let mut messages = String::new();
    for (case, path) in [
        ("missing", &missing),
        ("directory", &directory),
        ("dangling symlink", &dangling),
        ("not sqlite", &text_file),
    ] {
        let error = backup_error(path, root_path);
        let expected = match case {
            "missing" => matches!(error, BackupError::DatabaseMissing { .. }),
            "directory" => matches!(error, BackupError::DatabaseIsDirectory { .. }),
            "dangling symlink" => matches!(error, BackupError::DatabaseDanglingSymlink { .. }),
            _ => matches!(error, BackupError::NotSqlite { .. }),
        };
        assert!(expected, "{case}: {error:?}");
        messages.push_str(&format!("{case}: {}\n", redact(&error.to_string(), root_path)));
    }

    assert!(!missing.exists());
    assert!(!root_path.join("gone.db").exists());
    assert_eq!(fs_err::read_to_string(&text_file).unwrap(), "this is not a database\n");
    assert_eq!(fs_err::read_dir(&directory).unwrap().count(), 0);
    let backups = super::support::names_in(&root_path.join("backups"));
    assert_eq!(backups, [".invguard.lock"]);
    insta::assert_snapshot!(messages);
}

/// Points the first freelist trunk page of the closed database at `path` to a page number far
/// beyond the file: `quick_check` reports it, while reading tables and counting rows do not
/// touch the freelist.
fn damage_freelist(path: &Path) {
    let mut bytes = fs_err::read(path).unwrap();
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        size => usize::from(size),
    };
    let trunk = u32::from_be_bytes(bytes[32..36].try_into().unwrap()) as usize;
    assert!(trunk > 0, "the database has no free pages");
    let offset = (trunk - 1) * page_size;
    bytes[offset..offset + 4].copy_from_slice(&0x7fff_ffff_u32.to_be_bytes());
    fs_err::write(path, bytes).unwrap();
}

#[test]
fn backup_of_damaged_database_names_it() {
    let setup = super::support::Setup::new(200);
    let connection = rusqlite::Connection::open(&setup.database).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE scratch (x);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO scratch SELECT randomblob(1000) FROM n;
             DROP TABLE scratch;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    drop(connection);
    damage_freelist(&setup.database);

    let error = run_backup(&setup.config(), &BackupOptions::default()).unwrap_err();

    // The decoded copy matched the snapshot's hash, so the damage is the live database's.
    let BackupError::IntegrityCheck { path, check, .. } = &error else {
        panic!("expected an integrity check failure, got {error:?}");
    };
    assert_eq!(*path, fs_err::canonicalize(&setup.database).unwrap());
    assert_eq!(*check, "quick_check");
    assert_eq!(setup.backup_files(), Vec::<String>::new());
    assert_eq!(super::support::names_in(&setup.temp_dir()), Vec::<String>::new());
}
