//! Test helpers for the backup commands: a real WAL-mode SQLite database, a passphrase file,
//! a configuration, the binary with a clean environment, and `gpg | zstd -d` decryption.

#![allow(dead_code, reason = "each test module uses a different part of the helpers")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use rusqlite::Connection;

/// The passphrase every fixture encrypts with; tests check it never appears in any output.
pub const PASSPHRASE: &str = "correct-horse-battery-staple-7f3a9c";

/// A temporary directory with a database, a passphrase file and a configuration.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    /// Extra environment variables of every command.
    pub env: Vec<(String, String)>,
}

impl Fixture {
    /// A fixture whose configuration encrypts with [`PASSPHRASE`] and has `extra` TOML
    /// appended; the database is not created yet.
    pub fn new(extra: &str) -> Fixture {
        let fixture = Fixture { dir: tempfile::tempdir().unwrap(), env: Vec::new() };
        let passphrase = fixture.passphrase_file();
        fs_err::write(&passphrase, format!("{PASSPHRASE}\n")).unwrap();
        fs_err::set_permissions(&passphrase, std::fs::Permissions::from_mode(0o600)).unwrap();
        fixture.write_config(&format!(
            "[encryption]\nmode = \"passphrase\"\npassphrase_file = \"{}\"\n{extra}",
            passphrase.display()
        ));
        fixture
    }

    /// A fixture with the given `[encryption]` section (or none) and no passphrase file.
    pub fn with_encryption(encryption: &str) -> Fixture {
        let fixture = Fixture { dir: tempfile::tempdir().unwrap(), env: Vec::new() };
        fixture.write_config(encryption);
        fixture
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn database(&self) -> PathBuf {
        self.path().join("inventory.db")
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.path().join("backups")
    }

    pub fn temp_dir(&self) -> PathBuf {
        self.backup_dir().join(".invguard-tmp")
    }

    pub fn passphrase_file(&self) -> PathBuf {
        self.path().join("passphrase")
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    fn write_config(&self, extra: &str) {
        let text = format!(
            "timezone = \"Europe/Berlin\"\n\n[database]\npath = \"{}\"\nname = \"inventory\"\n\n\
             [backup]\ndir = \"{}\"\n\n{extra}\n",
            self.database().display(),
            self.backup_dir().display(),
        );
        fs_err::write(self.config_path(), text).unwrap();
    }

    /// Creates the database in WAL mode with `items` rows in `items` and a few categories.
    pub fn create_database(&self, items: u32) {
        let conn = Connection::open(self.database()).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(
            "CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE,
                 name TEXT NOT NULL, category_id INTEGER REFERENCES categories(id),
                 quantity INTEGER NOT NULL);
             INSERT INTO categories (name) VALUES ('Fasteners'), ('Tools'), ('Safety');",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for id in 0..items {
            tx.execute(
                "INSERT INTO items (sku, name, category_id, quantity) VALUES (?1, ?2, ?3, ?4)",
                (format!("SKU-{id:06}"), format!("steel bolt M{}", id % 40), id % 3 + 1, id % 500),
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    /// Creates a database of about `megabytes` MiB of random, incompressible blobs, so a
    /// backup of it takes a while.
    pub fn create_large_database(&self, megabytes: u32) {
        let conn = Connection::open(self.database()).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);")
            .unwrap();
        let rows = megabytes * 256;
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             INSERT INTO blobs (data) SELECT randomblob(4000) FROM n",
            [rows],
        )
        .unwrap();
    }

    /// Row count of `table` in the live database.
    pub fn rows(&self, table: &str) -> u64 {
        count_rows(&self.database(), table)
    }

    /// The binary with this configuration and only PATH, TZ and [`Fixture::env`] set.
    pub fn command(&self) -> Command {
        let mut command = self.command_without_config();
        command.arg("--config").arg(self.config_path());
        command
    }

    fn command_without_config(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_backup_cron"));
        command.env_clear();
        command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.env("TZ", "UTC");
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().unwrap())
    }

    /// Runs the binary with `config` in place of this fixture's configuration file.
    pub fn run_with_config(&self, config: &Path, args: &[&str]) -> Run {
        let mut command = self.command_without_config();
        command.arg("--config").arg(config).args(args);
        Run::from(command.output().unwrap())
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs `backup`, asserts it succeeded and returns the new backup file.
    pub fn backup(&self) -> PathBuf {
        let run = self.run(&["backup"]);
        run.assert_code(0);
        self.backups().pop().unwrap_or_else(|| panic!("no backup file; {run:?}"))
    }

    /// The finished encrypted backup files, oldest first.
    pub fn backups(&self) -> Vec<PathBuf> {
        self.files_ending(".db.zst.gpg")
    }

    /// Every file (not directory) in the backup directory and its temporary directory.
    pub fn all_files(&self) -> Vec<String> {
        let mut names = Vec::new();
        for dir in [self.backup_dir(), self.temp_dir()] {
            let Ok(entries) = fs_err::read_dir(&dir) else { continue };
            for entry in entries {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_file() {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        names.sort();
        names
    }

    fn files_ending(&self, suffix: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs_err::read_dir(self.backup_dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.to_string_lossy().ends_with(suffix))
            .collect();
        files.sort_by_key(|path| age_key(path, suffix));
        files
    }
}

/// The outcome of one run of the binary.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Run {
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "{self:?}");
    }
}

/// Orders backups of one second by sequence: `NAME-20261204T020000Z` comes before `...Z-2`,
/// although `-` sorts before `.` in a plain name comparison.
fn age_key(path: &Path, suffix: &str) -> (String, u32) {
    let name = path.file_name().unwrap().to_string_lossy();
    let stem = name.strip_suffix(suffix).unwrap_or(&name);
    match stem.rsplit_once("Z-") {
        Some((time, sequence)) => (format!("{time}Z"), sequence.parse().unwrap_or(0)),
        None => (stem.to_owned(), 1),
    }
}

pub fn count_rows(database: &Path, table: &str) -> u64 {
    let conn = Connection::open(database).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).unwrap()
}

/// A GnuPG home of its own, whose agent is stopped on drop.
pub struct GnupgHome {
    pub dir: tempfile::TempDir,
}

impl GnupgHome {
    pub fn new() -> GnupgHome {
        let dir = tempfile::tempdir().unwrap();
        fs_err::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        GnupgHome { dir }
    }

    /// `gpg` in batch mode with this home; fails the test when gpg is not installed.
    pub fn gpg(&self) -> Command {
        let mut command = Command::new("gpg");
        command.env("GNUPGHOME", self.dir.path());
        command.args(["--batch", "--quiet", "--pinentry-mode", "loopback", "--no-symkey-cache"]);
        command
    }

    /// Decrypts `backup` with `gpg --decrypt | zstd -d` into `output`.
    pub fn decrypt(&self, backup: &Path, passphrase_file: &Path, output: &Path) {
        let mut gpg = self
            .gpg()
            .arg("--passphrase-file")
            .arg(passphrase_file)
            .arg("--decrypt")
            .arg(backup)
            .stdout(Stdio::piped())
            .spawn()
            .expect("gpg must be installed (Debian: apt-get install gnupg)");
        let ciphertext = gpg.stdout.take().unwrap();
        let zstd = Command::new("zstd")
            .args(["-d", "-q", "-f", "-o"])
            .arg(output)
            .stdin(ciphertext)
            .status()
            .expect("zstd must be installed (Debian: apt-get install zstd)");
        assert!(gpg.wait().unwrap().success(), "gpg --decrypt failed");
        assert!(zstd.success(), "zstd -d failed");
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.dir.path())
            .status();
    }
}
