//! `database`: the live database file exists, is readable SQLite, and its write-ahead log
//! has not grown past `wal_warning_bytes`.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use invguard_config::Config;

use crate::checks::{MIB, round};
use crate::{CheckName, CheckResult, Level, Metric};

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

pub(crate) fn run(config: &Config, now: DateTime<Utc>) -> CheckResult {
    let path = &config.database.path;
    let wal_limit = config.monitor.wal_warning_bytes;
    let base = |level, summary: String| {
        CheckResult::new(CheckName::Database, level, summary)
            .at(now)
            .threshold("wal_warning_bytes", wal_limit)
            .detail("database_path", path.display().to_string())
    };

    let size = match check_readable(path) {
        Ok(size) => size,
        Err(summary) => return base(Level::Critical, summary),
    };
    let wal_path = wal_path(path);
    let wal_bytes = fs_err::metadata(&wal_path).map(|metadata| metadata.len()).unwrap_or(0);

    let (level, summary) = if wal_bytes > wal_limit {
        let summary = format!(
            "write-ahead log {} is {:.1} MiB, above {:.1} MiB: checkpoints are not keeping up",
            wal_path.display(),
            wal_bytes as f64 / MIB,
            wal_limit as f64 / MIB
        );
        (Level::Warning, summary)
    } else {
        (Level::Ok, format!("database {} is readable", path.display()))
    };
    base(level, summary)
        .detail("size_mb", round(size as f64 / MIB, 2))
        .detail("wal_bytes", wal_bytes)
        .metric(Metric::new("database_size", size as f64, "B").range(Some(0.0), None))
        .metric(
            Metric::new("wal_size", wal_bytes as f64, "B")
                .warn(wal_limit as f64)
                .range(Some(0.0), None),
        )
}

/// Opens the file and checks the SQLite header; returns its size.
fn check_readable(path: &Path) -> Result<u64, String> {
    let metadata = match fs_err::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("database {} not found", path.display()));
        }
        Err(error) => {
            return Err(format!("cannot inspect database {}: {}", path.display(), error.kind()));
        }
    };
    if !metadata.is_file() {
        return Err(format!("database {} is not a regular file", path.display()));
    }

    let mut header = [0u8; 16];
    let read = fs_err::File::open(path).and_then(|mut file| {
        let mut filled = 0;
        while filled < header.len() {
            match file.read(&mut header[filled..])? {
                0 => break,
                count => filled += count,
            }
        }
        Ok(filled)
    });
    match read {
        Err(error) => Err(format!("cannot read database {}: {}", path.display(), error.kind())),
        // An empty file is a valid, empty SQLite database.
        Ok(0) => Ok(0),
        Ok(_) if &header == SQLITE_HEADER => Ok(metadata.len()),
        Ok(_) => Err(format!("{} is not an SQLite database (wrong file header)", path.display())),
    }
}

fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}
