//! Runs the `monitor` executable with an environment pointing at a test backend and a
//! temporary directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::json;
use tempfile::TempDir;

use crate::backend::Backend;

pub struct Setup {
    pub dir: TempDir,
    pub backend: Backend,
    pub env: BTreeMap<String, String>,
}

impl Setup {
    /// A setup whose checks are all OK: a healthy backend with 120 items (3 low), a verified
    /// backup two hours old, a readable database and disk thresholds that always pass.
    pub fn healthy() -> Setup {
        let backend = Backend::start(120, 40);
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let backups = dir.path().join("backups");
        fs_err::create_dir_all(&data).unwrap();
        fs_err::create_dir_all(&backups).unwrap();
        let mut header = b"SQLite format 3\0".to_vec();
        header.resize(8192, 0);
        fs_err::write(data.join("inventory.db"), header).unwrap();
        write_backup(&backups, Utc::now() - TimeDelta::hours(2));

        let env = BTreeMap::from([
            ("API_URL".to_owned(), backend.url()),
            ("DATABASE_PATH".to_owned(), data.join("inventory.db").display().to_string()),
            ("BACKUP_PATH".to_owned(), backups.display().to_string()),
            ("INVGUARD_TIMEZONE".to_owned(), "UTC".to_owned()),
            ("INVGUARD_MONITOR__DISK_SPACE_GB".to_owned(), "0".to_owned()),
            ("INVGUARD_MONITOR__DISK_USAGE_PERCENTAGE".to_owned(), "100".to_owned()),
        ]);
        Setup { dir, backend, env }
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Setup {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_monitor"));
        command.args(args).env_clear().envs(&self.env).current_dir(self.dir.path());
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("backups/.invguard-state")
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Writes a verified backup and its manifest in the documented format.
pub fn write_backup(dir: &std::path::Path, created: DateTime<Utc>) {
    let stamp = created.format("%Y%m%dT%H%M%SZ");
    let name = format!("inventory-{stamp}.db.zst.gpg");
    fs_err::write(dir.join(&name), vec![1u8; 4096]).unwrap();
    let time = created.to_rfc3339_opts(SecondsFormat::Secs, true);
    let manifest = json!({
        "format_version": 1,
        "created_utc": time,
        "database": {"name": "inventory", "source_path": "/app/data/inventory.db"},
        "tool_version": "0.1.0",
        "file": {"name": name},
        "plaintext": {"sha256": "00", "size": 16384},
        "ciphertext": {"sha256": "00", "size": 4096},
        "sqlite": {"page_size": 4096, "page_count": 4, "schema_hash": "00"},
        "tables": {"items": 120, "categories": 8},
        "rows_total": 128,
        "encryption": {"mode": "passphrase", "recipients": []},
        "compression": {"algorithm": "zstd", "level": 3},
        "verification": {"result": "passed", "level": "quick", "time": time},
    });
    fs_err::write(dir.join(format!("inventory-{stamp}.manifest.json")), manifest.to_string())
        .unwrap();
}
