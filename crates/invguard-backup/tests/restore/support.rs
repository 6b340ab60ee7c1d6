//! Fixtures of the restore tests: a live WAL-mode database, real backups of it, and the real
//! `gpg` binary for legacy backups.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use invguard_backup::{
    BackupName, CompressionInfo, DatabaseInfo, Digest, EncryptionInfo, EncryptionKind,
    FORMAT_VERSION, FileInfo, Manifest, SqliteInfo, Verification, VerificationLevel,
    VerificationResult,
};
use invguard_config::{Config, Secret};
use invguard_crypto::{DecryptionKeys, EncryptOptions, EncryptionKeys, Passphrase, encrypt_with};
use rusqlite::Connection;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

pub const PASSPHRASE: &str = "restore test passphrase";

/// A live database in `<root>/data` and a backup directory `<root>/backups`.
pub struct Fixture {
    pub root: TempDir,
    pub database: PathBuf,
    pub backups: PathBuf,
    pub config: Config,
}

impl Fixture {
    /// Creates the directories and a live database with `items` rows in `items`.
    pub fn new(items: u32) -> Self {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let backups = root.path().join("backups");
        fs_err::create_dir_all(&data).unwrap();
        fs_err::create_dir_all(&backups).unwrap();
        let database = data.join("inventory.db");
        write_database(&database, items);

        let config = Config::for_tests(&database, &backups)
            .with_passphrase(Secret::new(PASSPHRASE.to_owned()));
        Fixture { root, database, backups, config }
    }

    pub fn keys(&self) -> DecryptionKeys {
        DecryptionKeys::passphrase(Passphrase::new(PASSPHRASE.to_owned()))
    }

    /// Sets the live database to `items` rows and backs it up as of `created` (RFC 3339).
    pub fn backup_with_items(&self, created: &str, items: u32) -> PathBuf {
        write_database(&self.database, items);
        make_backup(&self.database, &self.backups, created.parse().unwrap())
    }

    /// A path in the fixture's root.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

/// Replaces the contents of the WAL-mode database at `path`: `items` rows in `items` and three
/// in `categories`.
pub fn write_database(path: &Path, items: u32) {
    let connection = Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS items (
                 id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, quantity INTEGER NOT NULL);
             DELETE FROM items; DELETE FROM categories;
             INSERT INTO categories (name) VALUES ('tools'), ('parts'), ('paint');",
        )
        .unwrap();
    let transaction = connection.unchecked_transaction().unwrap();
    for id in 0..items {
        transaction
            .execute(
                "INSERT INTO items (sku, quantity) VALUES (?1, ?2)",
                (format!("SKU-{id:06}"), id),
            )
            .unwrap();
    }
    transaction.commit().unwrap();
}

/// Row counts of every user table, as the manifest records them.
pub fn row_counts(path: &Path) -> BTreeMap<String, u64> {
    let connection = Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap();
    let tables: Vec<String> =
        statement.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    tables
        .into_iter()
        .map(|table| {
            let count: i64 = connection
                .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |row| row.get(0))
                .unwrap();
            (table, count as u64)
        })
        .collect()
}

/// Runs `PRAGMA integrity_check` and returns its first line.
pub fn integrity_check(path: &Path) -> String {
    let connection = Connection::open(path).unwrap();
    connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap()
}

/// Backs up `database` the way the backup pipeline does: an online snapshot, zstd, OpenPGP
/// with the test passphrase, and a manifest whose verification passed.
pub fn make_backup(database: &Path, dir: &Path, created: DateTime<Utc>) -> PathBuf {
    let snapshot_dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot_dir.path().join("snapshot.db");
    Connection::open(database).unwrap().backup(rusqlite::MAIN_DB, &snapshot, None).unwrap();
    let plaintext = fs_err::read(&snapshot).unwrap();

    let compressed = zstd::encode_all(&plaintext[..], 3).unwrap();
    let mut ciphertext = Vec::new();
    let keys = EncryptionKeys::passphrase(Passphrase::new(PASSPHRASE.to_owned()));
    encrypt_with(&compressed[..], &mut ciphertext, &keys, &EncryptOptions::insecure_for_tests())
        .unwrap();

    let name = BackupName::new("inventory", created, true).first_free_in(dir);
    let path = dir.join(name.file_name());
    fs_err::write(&path, &ciphertext).unwrap();

    let tables = row_counts(&snapshot);
    let manifest = manifest_for(&name, database, &plaintext, &ciphertext, tables);
    manifest.write(&dir.join(name.manifest_name())).unwrap();
    path
}

fn digest(bytes: &[u8]) -> Digest {
    Digest { sha256: hex::encode(Sha256::digest(bytes)), size: bytes.len() as u64 }
}

fn manifest_for(
    name: &BackupName,
    database: &Path,
    plaintext: &[u8],
    ciphertext: &[u8],
    tables: BTreeMap<String, u64>,
) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        created_utc: name.created_utc,
        database: DatabaseInfo { name: name.database.clone(), source_path: database.to_owned() },
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        file: FileInfo { name: name.file_name() },
        plaintext: digest(plaintext),
        ciphertext: digest(ciphertext),
        sqlite: SqliteInfo {
            page_size: 4096,
            page_count: plaintext.len() as u64 / 4096,
            schema_hash: "0".repeat(64),
        },
        rows_total: tables.values().sum(),
        tables,
        encryption: EncryptionInfo { mode: EncryptionKind::Passphrase, recipients: Vec::new() },
        compression: CompressionInfo { algorithm: "zstd".to_owned(), level: 3 },
        verification: Verification {
            result: VerificationResult::Passed,
            level: VerificationLevel::Quick,
            time: name.created_utc,
            message: None,
        },
    }
}

/// The manifest path of the backup at `backup`.
pub fn manifest_path(backup: &Path) -> PathBuf {
    let name = BackupName::parse(backup.file_name().unwrap().to_str().unwrap()).unwrap();
    backup.with_file_name(name.manifest_name())
}

/// Rewrites the manifest of `backup` with `change` applied.
pub fn edit_manifest(backup: &Path, change: impl FnOnce(&mut Manifest)) {
    let path = manifest_path(backup);
    let mut manifest = Manifest::read(&path).unwrap();
    change(&mut manifest);
    fs_err::remove_file(&path).unwrap();
    manifest.write(&path).unwrap();
}

/// Flips one byte in the middle of `path`.
pub fn corrupt(path: &Path) {
    let mut bytes = fs_err::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs_err::write(path, bytes).unwrap();
}

/// Every file name in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A GnuPG home directory of its own, with the agent stopped when dropped.
pub struct GnupgHome {
    pub dir: TempDir,
}

impl GnupgHome {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("gnupg-").tempdir().unwrap();
        let mut permissions = fs_err::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o700);
        fs_err::set_permissions(dir.path(), permissions).unwrap();
        GnupgHome { dir }
    }

    /// Encrypts `input` to `output` with `gpg --symmetric`, as the Python service did. The
    /// passphrase goes through a file, never the command line.
    pub fn encrypt_symmetric(&self, input: &Path, output: &Path, passphrase: &str) {
        let passphrase_file = self.dir.path().join("passphrase");
        fs_err::write(&passphrase_file, passphrase).unwrap();
        let status = Command::new("gpg")
            .env("GNUPGHOME", self.dir.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--no-symkey-cache", "--yes"])
            .arg("--passphrase-file")
            .arg(&passphrase_file)
            .args(["--symmetric", "--cipher-algo", "AES256", "--output"])
            .arg(output)
            .arg(input)
            .status()
            .expect("gpg must be installed for the legacy backup tests");
        assert!(status.success(), "gpg --symmetric failed: {status}");
    }

    /// Decrypts `input` with `gpg --decrypt` and returns the plaintext.
    pub fn decrypt(&self, input: &Path, passphrase: &str) -> Vec<u8> {
        let passphrase_file = self.dir.path().join("passphrase");
        fs_err::write(&passphrase_file, passphrase).unwrap();
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.dir.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--no-symkey-cache", "--quiet"])
            .arg("--passphrase-file")
            .arg(&passphrase_file)
            .arg("--decrypt")
            .arg(input)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("gpg must be installed for the emergency restore test");
        let mut plaintext = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut plaintext).unwrap();
        assert!(child.wait().unwrap().success(), "gpg --decrypt failed");
        plaintext
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

/// Decompresses zstd data with the real `zstd` binary.
pub fn zstd_decompress(compressed: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-d", "-c", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("zstd must be installed for the emergency restore test");
    let mut stdin = child.stdin.take().unwrap();
    let input = compressed.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let mut output = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut output).unwrap();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success(), "zstd -d failed");
    output
}
