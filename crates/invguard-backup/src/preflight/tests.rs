//! Tests of the start-up check, run as an unprivileged user.
//!
//! Root ignores file modes, so each test builds its fixture as root (files owned by a
//! simulated backend uid) and re-runs this test binary under
//! `setpriv --reuid=65534 --regid=65534 --clear-groups` to check the database as `nobody`. The
//! child also opens the database with SQLite, so each test shows that the check predicts what
//! SQLite really does. The tests need root (CI runs as root) and the `setpriv` tool.

use std::os::unix::fs::{PermissionsExt as _, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use super::*;

/// Uid and gid the child runs as.
const NOBODY: u32 = 65534;

/// Uid and gid of the simulated backend that owns the database.
const BACKEND: u32 = 1000;

/// Set in the child's environment to the path of the database to check.
const CHILD_DB_VAR: &str = "INVGUARD_PREFLIGHT_TEST_DB";

/// Set in the child's environment to the file the child writes its outcome to.
const CHILD_OUT_VAR: &str = "INVGUARD_PREFLIGHT_TEST_OUT";

/// Rows in the `items` table of every fixture database.
const ROWS: i64 = 25;

/// What the child saw: the check's result and SQLite's.
#[derive(Debug, Serialize, Deserialize)]
struct Outcome {
    /// The check's error message, if it failed.
    error: Option<String>,
    /// The check's warnings.
    warnings: Vec<String>,
    /// Rows SQLite read, or its error message.
    open: Result<i64, String>,
}

/// Runs the child part when this process is the child; returns whether it was.
fn run_child_part() -> bool {
    let (Some(db), Some(out)) = (std::env::var_os(CHILD_DB_VAR), std::env::var_os(CHILD_OUT_VAR))
    else {
        return false;
    };
    let db = PathBuf::from(db);

    let (error, warnings) = match check_database_access(&db) {
        Ok(warnings) => (None, warnings),
        Err(error) => (Some(error.to_string()), Vec::new()),
    };
    let outcome = Outcome { error, warnings, open: count_rows(&db) };
    fs_err::write(out, serde_json::to_vec(&outcome).unwrap()).unwrap();
    true
}

/// Opens the database read-only, like a backup does, and counts the rows of `items`.
fn count_rows(db: &Path) -> Result<i64, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(db, flags).map_err(|error| error.to_string())?;
    connection
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .map_err(|error| error.to_string())
}

/// A temporary directory with `data/inventory.db`, traversable by `nobody`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        assert!(
            rustix::process::geteuid().is_root(),
            "the preflight tests need root to create files owned by other users (CI runs as root)"
        );
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        fs_err::create_dir(dir.path().join("data")).unwrap();
        Fixture { dir }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn db(&self) -> PathBuf {
        self.data_dir().join("inventory.db")
    }

    /// Creates the database with `ROWS` rows; `wal` selects WAL or rollback-journal mode.
    /// Returns the open connection, which keeps the `-wal` and `-shm` files in place while it
    /// lives, as a running backend does.
    fn create_database(&self, wal: bool) -> Connection {
        let connection = Connection::open(self.db()).unwrap();
        let mode = if wal { "WAL" } else { "DELETE" };
        connection.pragma_update(None, "journal_mode", mode).unwrap();
        connection.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        connection.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)").unwrap();
        for index in 0..ROWS {
            connection
                .execute("INSERT INTO items (name) VALUES (?1)", [format!("item {index}")])
                .unwrap();
        }
        connection
    }

    /// Creates the database as a stopped backend leaves it: no `-wal` or `-shm` file.
    fn create_stopped_database(&self, wal: bool) {
        drop(self.create_database(wal));
        assert!(!side_file(&self.db(), "-wal").exists(), "closing left a -wal file");
    }

    /// Gives `path` to `uid` (same gid) with `mode`.
    fn own(&self, path: &Path, uid: u32, mode: u32) {
        chown(path, Some(uid), Some(uid)).unwrap();
        set_mode(path, mode);
    }

    /// Runs the check and the SQLite open as `nobody` in a child process.
    fn check_as_nobody(&self, test_name: &str) -> Outcome {
        let out = self.dir.path().join("outcome.json");
        fs_err::write(&out, b"").unwrap();
        self.own(&out, NOBODY, 0o600);

        // The child's output is captured so that its libtest summary does not mix with ours.
        let test_binary = std::env::current_exe().unwrap();
        let output = Command::new("setpriv")
            .args(["--reuid", &NOBODY.to_string(), "--regid", &NOBODY.to_string()])
            .arg("--clear-groups")
            .arg(&test_binary)
            .args(["--exact", test_name, "--test-threads=1", "--quiet"])
            .env(CHILD_DB_VAR, self.db())
            .env(CHILD_OUT_VAR, &out)
            .output()
            .expect("the setpriv tool (util-linux) is needed to run the check as another user");
        assert!(
            output.status.success(),
            "child {test_name} failed with {}\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );

        serde_json::from_slice(&fs_err::read(&out).unwrap()).unwrap()
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The libtest name of a test in this module, such as `preflight::tests::name`.
fn test_path(name: &str) -> String {
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    format!("{module}::{name}")
}

fn side_owner(db: &Path, suffix: &str) -> Option<u32> {
    fs_err::metadata(side_file(db, suffix)).ok().map(|metadata| metadata.uid())
}

#[test]
fn check_database_access_owner_matches() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    fixture.create_stopped_database(true);
    fixture.own(&fixture.data_dir(), NOBODY, 0o700);
    fixture.own(&fixture.db(), NOBODY, 0o600);

    let outcome = fixture.check_as_nobody(&test_path("check_database_access_owner_matches"));

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.warnings, Vec::<String>::new());
    assert_eq!(outcome.open, Ok(ROWS));
}

#[test]
fn check_database_access_stopped_backend_read_only_dir() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    fixture.create_stopped_database(true);
    fixture.own(&fixture.data_dir(), BACKEND, 0o755);
    fixture.own(&fixture.db(), BACKEND, 0o644);

    let name = test_path("check_database_access_stopped_backend_read_only_dir");
    let outcome = fixture.check_as_nobody(&name);

    let error = outcome.error.expect("the check should fail");
    assert!(error.contains("cannot open WAL database"), "{error}");
    assert!(error.contains("run InvGuard Cron as the database owner 1000:1000"), "{error}");
    assert!(error.contains("or start the backend"), "{error}");
    let open_error = outcome.open.expect_err("SQLite should fail to open the database");
    assert!(open_error.contains("readonly"), "{open_error}");
}

#[test]
fn check_database_access_stopped_backend_writable_dir() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    fixture.create_stopped_database(true);
    fixture.own(&fixture.data_dir(), BACKEND, 0o777);
    fixture.own(&fixture.db(), BACKEND, 0o644);

    let name = test_path("check_database_access_stopped_backend_writable_dir");
    let outcome = fixture.check_as_nobody(&name);

    let error = outcome.error.expect("the check should fail");
    assert!(error.contains("would create -wal and -shm files"), "{error}");
    assert!(error.contains("1000:1000"), "{error}");
    // The hazard the check prevents: SQLite's read-only open created -shm owned by nobody.
    assert_eq!(outcome.open, Ok(ROWS));
    assert_eq!(side_owner(&fixture.db(), "-shm"), Some(NOBODY));
}

#[test]
fn check_database_access_live_backend_other_uid() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    let backend = fixture.create_database(true);
    fixture.own(&fixture.data_dir(), BACKEND, 0o755);
    fixture.own(&fixture.db(), BACKEND, 0o644);
    fixture.own(&side_file(&fixture.db(), "-wal"), BACKEND, 0o644);
    fixture.own(&side_file(&fixture.db(), "-shm"), BACKEND, 0o644);

    let outcome =
        fixture.check_as_nobody(&test_path("check_database_access_live_backend_other_uid"));
    drop(backend);

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].contains("running as 65534:65534"), "{}", outcome.warnings[0]);
    assert!(outcome.warnings[0].contains("owned by 1000:1000"), "{}", outcome.warnings[0]);
    assert_eq!(outcome.open, Ok(ROWS), "a reader of another uid sees the rows in the -wal");
}

#[test]
fn check_database_access_side_files_foreign_owner() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    let backend = fixture.create_database(true);
    fixture.own(&fixture.data_dir(), NOBODY, 0o755);
    fixture.own(&fixture.db(), NOBODY, 0o644);
    fixture.own(&side_file(&fixture.db(), "-wal"), BACKEND, 0o644);
    fixture.own(&side_file(&fixture.db(), "-shm"), BACKEND, 0o644);

    let outcome =
        fixture.check_as_nobody(&test_path("check_database_access_side_files_foreign_owner"));
    drop(backend);

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.warnings.len(), 2, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].contains("inventory.db-wal is owned by uid 1000"));
    assert!(outcome.warnings[0].contains("chown 65534:65534"), "{}", outcome.warnings[0]);
    assert!(outcome.warnings[1].contains("inventory.db-shm is owned by uid 1000"));
}

#[test]
fn check_database_access_unreadable_database() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    fixture.create_stopped_database(true);
    fixture.own(&fixture.data_dir(), BACKEND, 0o755);
    fixture.own(&fixture.db(), BACKEND, 0o600);

    let outcome = fixture.check_as_nobody(&test_path("check_database_access_unreadable_database"));

    let error = outcome.error.expect("the check should fail");
    assert!(error.contains("cannot read"), "{error}");
    assert!(error.contains("as 65534:65534"), "{error}");
    assert!(error.contains("owned by 1000:1000 with mode 600"), "{error}");
    assert!(outcome.open.is_err(), "SQLite opened an unreadable file");
}

#[test]
fn check_database_access_rollback_journal_read_only_dir() {
    if run_child_part() {
        return;
    }
    let fixture = Fixture::new();
    fixture.create_stopped_database(false);
    fixture.own(&fixture.data_dir(), BACKEND, 0o755);
    fixture.own(&fixture.db(), BACKEND, 0o644);

    let name = test_path("check_database_access_rollback_journal_read_only_dir");
    let outcome = fixture.check_as_nobody(&name);

    assert_eq!(outcome.error, None);
    assert_eq!(outcome.warnings, Vec::<String>::new());
    assert_eq!(outcome.open, Ok(ROWS));
}

#[test]
fn check_database_access_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("absent.db");

    let error = check_database_access(&db).unwrap_err();

    assert!(matches!(error, DatabaseAccessError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("absent.db does not exist"), "{error}");
}
