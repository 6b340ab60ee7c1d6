//! A full disk part-way through, and leftovers of killed runs.
//!
//! The disk-full test runs a backup in a child process (this test binary again) with SIGXFSZ
//! ignored. Once the snapshot is written, the child lowers its file size limit
//! (`RLIMIT_FSIZE`) below the size of the backup file, so writing the backup fails with
//! `EFBIG` part-way, as on a full disk.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Once};

use invguard_backup::{BackupError, BackupOptions, Phase, Progress, run_backup};
use rusqlite::Connection;

use super::support::{Setup, names_in};

const CHILD_VARIABLE: &str = "INVGUARD_TEST_DISK_FULL_CHILD";
const TEST_NAME: &str = "backup::disk_full::backup_disk_full_leaves_no_file";

/// The file size limit set once the snapshot exists: far below the backup of 4 MiB of
/// random data.
const LIMIT_BYTES: u64 = 256 * 1024;

/// Adds 4 MiB of random, incompressible rows.
fn add_random_rows(database: &Path) {
    Connection::open(database)
        .unwrap()
        .execute_batch(
            "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1024)
             INSERT INTO photos (data) SELECT randomblob(4000) FROM n;",
        )
        .unwrap();
}

/// Lowers the file size limit at the first progress report, after the snapshot was written.
struct LimitFileSize(Once);

impl Progress for LimitFileSize {
    fn update(&self, phase: Phase, _done: u64, _total: u64) {
        assert_eq!(phase, Phase::Write);
        self.0.call_once(|| {
            let limit =
                rustix::process::Rlimit { current: Some(LIMIT_BYTES), maximum: Some(LIMIT_BYTES) };
            rustix::process::setrlimit(rustix::process::Resource::Fsize, limit).unwrap();
        });
    }
}

/// In the child: run the backup with the limit, print the error.
#[allow(clippy::print_stdout, reason = "the child reports its error to the parent test on stdout")]
fn run_child(spec: &str) {
    let (database, backups) = spec.split_once('\n').unwrap();
    let config = invguard_config::Config::for_tests(Path::new(database), Path::new(backups))
        .with_passphrase(invguard_config::Secret::new(super::support::PASSPHRASE.to_owned()));
    let options = BackupOptions {
        progress: Some(Arc::new(LimitFileSize(Once::new()))),
        ..BackupOptions::default()
    };

    let error = run_backup(&config, &options).unwrap_err();

    println!("child error: {error}");
    assert!(matches!(error, BackupError::DiskFull { .. }), "{error:?}");
}

#[test]
fn backup_disk_full_leaves_no_file() {
    if let Ok(spec) = std::env::var(CHILD_VARIABLE) {
        run_child(&spec);
        return;
    }
    let setup = Setup::new(1_000);
    add_random_rows(&setup.database);
    let spec = format!("{}\n{}", setup.database.display(), setup.backups.display());

    // `trap '' XFSZ` makes the shell ignore SIGXFSZ, and the ignored disposition survives exec.
    let output = Command::new("sh")
        .args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_VARIABLE, spec)
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("child error: disk full while writing"), "{stdout}");
    assert!(stdout.contains(".db.zst.gpg.partial"), "{stdout}");
    assert_eq!(setup.backup_files(), Vec::<String>::new());
    assert_eq!(names_in(&setup.temp_dir()), Vec::<String>::new());
}

#[test]
fn backup_after_killed_run_cleans_leftovers() {
    let setup = Setup::new(500);
    let temp_dir = setup.temp_dir();
    fs_err::create_dir_all(&temp_dir).unwrap();
    let leftovers = [
        setup.backups.join("inventory-20240101T000000Z.db.zst.gpg.partial"),
        setup.backups.join("inventory-20240101T000000Z.manifest.json.tmp"),
        temp_dir.join("invguard-snapshot-killed.db"),
        temp_dir.join("invguard-verify-killed.db"),
    ];
    let unrelated = setup.backups.join("notes.txt");
    for path in leftovers.iter().chain([&unrelated]) {
        fs_err::write(path, b"left behind").unwrap();
    }

    let outcome = setup.backup(&setup.config());

    let mut removed = outcome.leftovers_removed.clone();
    removed.sort();
    let mut expected = leftovers.to_vec();
    expected.sort();
    assert_eq!(removed, expected);
    assert!(leftovers.iter().all(|path| !path.exists()));
    assert!(unrelated.exists());
    let name = outcome.path.file_name().unwrap().to_str().unwrap().to_owned();
    let manifest = outcome.manifest_path.file_name().unwrap().to_str().unwrap().to_owned();
    let mut expected_files = vec![name, manifest, "notes.txt".to_owned()];
    expected_files.sort();
    assert_eq!(setup.backup_files(), expected_files);
}
