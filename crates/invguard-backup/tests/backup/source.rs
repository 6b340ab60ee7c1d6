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
