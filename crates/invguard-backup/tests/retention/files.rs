//! Backup directories of real files for the cleanup tests: backup files with manifests, and
//! files cleanup must leave alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use invguard_backup::{
    BackupName, CompressionInfo, DatabaseInfo, Digest, EncryptionInfo, EncryptionKind,
    FORMAT_VERSION, FileInfo, Manifest, SqliteInfo, Verification, VerificationLevel,
    VerificationResult,
};
use invguard_config::Config;

/// A backup directory with the configuration that points at it.
pub struct BackupDir {
    pub root: tempfile::TempDir,
    pub dir: PathBuf,
    pub config: Config,
}

impl BackupDir {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("backups");
        fs_err::create_dir_all(&dir).unwrap();
        let config = Config::for_tests(&root.path().join("inventory.db"), &dir);
        BackupDir { root, dir, config }
    }

    /// Writes a backup file of `size` bytes and, unless `result` is `None`, its manifest.
    /// Returns the backup file name.
    pub fn add_backup(
        &self,
        created: DateTime<Utc>,
        result: Option<VerificationResult>,
        size: usize,
    ) -> String {
        let name = BackupName::new("inventory", created, true).first_free_in(&self.dir);
        fs_err::write(self.dir.join(name.file_name()), vec![0xA5; size]).unwrap();
        if let Some(result) = result {
            let manifest = manifest(&name, result, size as u64);
            manifest.write(&self.dir.join(name.manifest_name())).unwrap();
        }
        name.file_name()
    }

    /// Writes `contents` to `name` in the backup directory.
    pub fn add_file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        fs_err::write(&path, contents).unwrap();
        path
    }

    /// Every file name in the backup directory except the lock file, sorted; directories end
    /// with `/`.
    pub fn names(&self) -> Vec<String> {
        let mut names = names_in(&self.dir);
        names.retain(|name| name != invguard_backup::LOCK_FILE_NAME);
        names
    }
}

pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if entry.file_type().unwrap().is_dir() { format!("{name}/") } else { name }
        })
        .collect();
    names.sort();
    names
}

/// The manifest name of the backup `name`.
pub fn manifest_name(name: &str) -> String {
    BackupName::parse(name).unwrap().manifest_name()
}

fn manifest(name: &BackupName, result: VerificationResult, size: u64) -> Manifest {
    let digest = Digest { sha256: "ab".repeat(32), size };
    Manifest {
        format_version: FORMAT_VERSION,
        created_utc: name.created_utc,
        database: DatabaseInfo {
            name: name.database.clone(),
            source_path: PathBuf::from("/app/data/inventory.db"),
        },
        tool_version: "0.1.0".to_owned(),
        file: FileInfo { name: name.file_name() },
        plaintext: Digest { size: size * 3, ..digest.clone() },
        ciphertext: digest,
        sqlite: SqliteInfo { page_size: 4096, page_count: 3, schema_hash: "cd".repeat(32) },
        tables: BTreeMap::from([("items".to_owned(), 10)]),
        rows_total: 10,
        encryption: EncryptionInfo { mode: EncryptionKind::Passphrase, recipients: Vec::new() },
        compression: CompressionInfo { algorithm: "zstd".to_owned(), level: 3 },
        verification: Verification {
            result,
            level: VerificationLevel::Quick,
            time: name.created_utc,
            message: None,
        },
    }
}
