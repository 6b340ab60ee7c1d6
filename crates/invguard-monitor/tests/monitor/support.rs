//! Shared set-up: a configuration pointing at a test backend, and fixture files.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use invguard_config::{Config, LoginConfig, Secret};
use invguard_monitor::{BackupSummary, DeliveryPolicy, Monitor, Verification};
use serde_json::json;
use tempfile::TempDir;

use crate::backend::Backend;

/// A fixed "now" so that ages and reminders do not depend on the clock.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").unwrap().to_utc()
}

pub fn minutes(count: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(count)
}

/// A temporary directory with `data/inventory.db` (an SQLite header) and `backups/`.
pub struct Fixture {
    pub dir: TempDir,
    pub config: Config,
}

impl Fixture {
    pub fn new(backend: &Backend) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let backups = dir.path().join("backups");
        fs_err::create_dir_all(&data).unwrap();
        fs_err::create_dir_all(&backups).unwrap();
        let database = data.join("inventory.db");
        let mut header = b"SQLite format 3\0".to_vec();
        header.resize(4096, 0);
        fs_err::write(&database, header).unwrap();

        let mut config = Config::for_tests(&database, &backups);
        config.api.url = backend.url();
        config.api.connect_timeout = Duration::from_secs(2);
        config.api.read_timeout = Duration::from_secs(2);
        Fixture { dir, config }
    }

    pub fn with_login(mut self, password: &str) -> Fixture {
        self.config.api.login = Some(LoginConfig {
            endpoint: "/auth/login".into(),
            username: "monitor".into(),
            password: Secret::new(password.to_owned()),
            token_field: "access_token".into(),
        });
        self
    }

    pub fn monitor(&self) -> Monitor {
        Monitor::new(&self.config).with_delivery_policy(fast_delivery())
    }

    pub fn backups(&self) -> &Path {
        &self.config.backup.dir
    }

    /// Writes a backup file and its manifest as the backup crate does.
    pub fn write_backup(&self, created: DateTime<Utc>, verification: &str, size: usize) {
        let stamp = created.format("%Y%m%dT%H%M%SZ");
        let name = format!("inventory-{stamp}.db.zst.gpg");
        fs_err::write(self.backups().join(&name), vec![7u8; size]).unwrap();
        let manifest = json!({
            "format_version": 1,
            "created_utc": created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "database": {"name": "inventory", "source_path": "/app/data/inventory.db"},
            "tool_version": "0.1.0",
            "file": {"name": name},
            "plaintext": {"sha256": "00", "size": size * 3},
            "ciphertext": {"sha256": "00", "size": size},
            "sqlite": {"page_size": 4096, "page_count": 1, "schema_hash": "00"},
            "tables": {"items": 120},
            "rows_total": 128,
            "encryption": {"mode": "passphrase", "recipients": []},
            "compression": {"algorithm": "zstd", "level": 3},
            "verification": {"result": verification, "level": "quick",
                             "time": created.to_rfc3339(), "message": "quick_check failed"},
        });
        let manifest_path = self.backups().join(format!("inventory-{stamp}.manifest.json"));
        fs_err::write(manifest_path, manifest.to_string()).unwrap();
    }
}

/// Retries without waiting so that failure tests stay fast.
pub fn fast_delivery() -> DeliveryPolicy {
    DeliveryPolicy {
        attempts: 2,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(2),
    }
}

/// A backup summary for catalogs written in tests.
pub fn summary(name: &str, created: DateTime<Utc>, size: u64) -> BackupSummary {
    BackupSummary {
        name: name.to_owned(),
        created_utc: created,
        size,
        rows_total: Some(10),
        verification: Verification::Passed,
    }
}
