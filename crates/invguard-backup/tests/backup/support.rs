//! Shared set-up: live databases, configurations, and running external tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{TimeZone, Utc};
use invguard_backup::{BackupOptions, BackupOutcome, run_backup};
use invguard_config::{Config, EncryptionMode, Secret};
use rusqlite::Connection;
use tempfile::TempDir;

/// The passphrase of test backups.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A temporary directory with a live database and a backup directory.
pub struct Setup {
    pub root: TempDir,
    pub database: PathBuf,
    pub backups: PathBuf,
}

impl Setup {
    /// Creates a WAL database with `items` rows and a few categories.
    pub fn new(items: u32) -> Self {
        let root = tempfile::tempdir().unwrap();
        let database = root.path().join("inventory.db");
        let backups = root.path().join("backups");
        create_inventory(&database, items);
        Self { root, database, backups }
    }

    /// Returns a configuration with passphrase encryption.
    pub fn config(&self) -> Config {
        Config::for_tests(&self.database, &self.backups)
            .with_passphrase(Secret::new(PASSPHRASE.to_owned()))
    }

    /// Returns a configuration without encryption.
    pub fn plain_config(&self) -> Config {
        let mut config = Config::for_tests(&self.database, &self.backups);
        config.encryption.mode = EncryptionMode::None;
        config
    }

    /// Takes a backup with default options and returns its outcome.
    pub fn backup(&self, config: &Config) -> BackupOutcome {
        run_backup(config, &BackupOptions::default()).unwrap()
    }

    /// Takes a backup named for 2026-12-04 02:00:00 UTC, for snapshots of messages.
    pub fn backup_at_fixed_time(&self, config: &Config) -> BackupOutcome {
        let timestamp = Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap();
        run_backup(
            config,
            &BackupOptions { timestamp: Some(timestamp), ..BackupOptions::default() },
        )
        .unwrap()
    }

    /// File names in the backup directory, sorted, without the lock file.
    pub fn backup_files(&self) -> Vec<String> {
        names_in(&self.backups).into_iter().filter(|name| name != ".invguard.lock").collect()
    }

    /// Returns the temporary directory of the configuration.
    pub fn temp_dir(&self) -> PathBuf {
        self.backups.join(".invguard-tmp")
    }
}

/// Regular file names in `dir`, sorted; empty when it does not exist.
pub fn names_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| entry.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Creates an inventory database in WAL mode.
pub fn create_inventory(path: &Path, items: u32) {
    let connection = Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE items (
                 id INTEGER PRIMARY KEY,
                 sku TEXT NOT NULL UNIQUE,
                 category_id INTEGER REFERENCES categories(id),
                 quantity INTEGER NOT NULL,
                 note TEXT
             );
             CREATE INDEX items_category ON items(category_id);
             INSERT INTO categories (name) VALUES ('tools'), ('paint'), ('garden');",
        )
        .unwrap();
    connection
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO items (sku, category_id, quantity, note)
             SELECT printf('SKU-%06d', i), 1 + i % 3, i % 97, printf('item number %d on shelf %d', i, i % 40)
             FROM n",
            [items],
        )
        .unwrap();
}

/// Runs a command and panics with its stderr when it fails.
pub fn run(command: &mut Command) -> Vec<u8> {
    let output = command.stderr(Stdio::piped()).output().unwrap_or_else(|error| {
        panic!("cannot run {command:?}: {error}; install the program to run these tests")
    });
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A private GnuPG home that kills its agent when dropped.
pub struct GnupgHome {
    pub dir: TempDir,
}

impl GnupgHome {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self { dir }
    }

    /// `gpg` with this home, in batch mode with loopback pinentry and no passphrase cache.
    pub fn gpg(&self) -> Command {
        let mut command = Command::new("gpg");
        command.env("GNUPGHOME", self.dir.path()).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--no-symkey-cache",
            "--quiet",
        ]);
        command
    }

    /// Generates a key pair for `user_id` with GnuPG's default algorithms and no passphrase;
    /// `expire` is `never` or a period such as `10d`.
    pub fn generate_key(&self, user_id: &str, expire: &str) {
        let args = ["--quick-gen-key", user_id, "future-default", "default", expire];
        run(self.gpg().args(["--passphrase", ""]).args(args));
    }

    /// Writes the armored public key of `user_id` to `path`.
    pub fn export_public_key(&self, user_id: &str, path: &Path) {
        let exported = run(self.gpg().args(["--armor", "--export", user_id]));
        fs_err::write(path, exported).unwrap();
    }

    /// Writes the armored secret key of `user_id` to `path`.
    pub fn export_secret_key(&self, user_id: &str, path: &Path) {
        let args = ["--passphrase", "", "--armor", "--export-secret-keys", user_id];
        fs_err::write(path, run(self.gpg().args(args))).unwrap();
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir.path())
            .args(["--kill", "all"])
            .status();
    }
}

/// Checks a database file with `PRAGMA integrity_check` and returns its `items` row count.
pub fn check_database(path: &Path) -> u64 {
    let connection = Connection::open(path).unwrap();
    let result: String =
        connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(result, "ok");
    connection.query_row("SELECT count(*) FROM items", [], |row| row.get(0)).unwrap()
}

/// Replaces paths and hex digests in `text` with placeholders, for snapshots.
pub fn redact(text: &str, root: &Path) -> String {
    let canonical = fs_err::canonicalize(root).unwrap();
    text.replace(&canonical.display().to_string(), "[ROOT]")
        .replace(&root.display().to_string(), "[ROOT]")
}
