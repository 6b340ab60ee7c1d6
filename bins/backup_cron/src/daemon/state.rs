//! Persistent daemon state (`jobs.json`) and the heartbeat file, both in `[state] dir`.
//!
//! Both files are written atomically: a temporary file in the same directory, fsync, rename,
//! fsync of the directory. Files are 0600, the directory 0700.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;

use fs_err::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// File name of the job state in the state directory.
pub const STATE_FILE: &str = "jobs.json";
/// File name of the heartbeat in the state directory.
pub const HEARTBEAT_FILE: &str = "heartbeat.json";
/// The `format_version` this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Contents of `jobs.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DaemonState {
    /// Version of this format; readers reject versions they do not know.
    pub format_version: u32,
    /// The daemon process that owns the file.
    pub daemon: DaemonInfo,
    /// State of each job, by name.
    pub jobs: BTreeMap<String, JobState>,
}

/// The daemon process.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DaemonInfo {
    /// Process id of the daemon that wrote the file last.
    pub pid: Option<u32>,
    /// When that daemon started.
    pub started_utc: Option<DateTime<Utc>>,
    /// When a daemon first started with this state directory.
    pub first_started_utc: Option<DateTime<Utc>>,
    /// When that daemon stopped cleanly; `None` while it runs (or after it was killed).
    pub stopped_utc: Option<DateTime<Utc>>,
}

/// State of one job.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobState {
    /// The latest scheduled time the daemon handled: ran, or skipped as missed or overlapping.
    pub last_scheduled_utc: Option<DateTime<Utc>>,
    /// Start of the last run.
    pub last_start_utc: Option<DateTime<Utc>>,
    /// End of the last run.
    pub last_end_utc: Option<DateTime<Utc>>,
    /// Result of the last run: `success`, `failed`, `timed-out` or `cancelled`.
    pub last_result: Option<String>,
    /// Duration of the last run in milliseconds, retries included.
    pub last_duration_ms: Option<u64>,
    /// Reason the last run failed.
    pub last_message: Option<String>,
}

/// Contents of the heartbeat file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Process id of the daemon.
    pub pid: u32,
    /// When the daemon's main loop last ran.
    pub time_utc: DateTime<Utc>,
}

/// Reads `jobs.json` from `dir`; `None` when it does not exist.
pub fn load(dir: &Path) -> anyhow::Result<Option<DaemonState>> {
    let path = dir.join(STATE_FILE);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };

    let state: DaemonState = serde_json::from_str(&text)
        .with_context(|| format!("invalid daemon state file {}", path.display()))?;
    if state.format_version != FORMAT_VERSION {
        bail!(
            "daemon state file {} has format_version {}, this build reads {FORMAT_VERSION}: \
             upgrade backup_cron or move the file aside",
            path.display(),
            state.format_version
        );
    }
    Ok(Some(state))
}

/// Writes `jobs.json` into `dir` atomically.
pub fn save(dir: &Path, state: &DaemonState) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(state).context("cannot encode the daemon state")?;
    write_atomically(dir, STATE_FILE, &json)
}

/// Reads the heartbeat file from `dir`; `None` when it does not exist.
pub fn load_heartbeat(dir: &Path) -> anyhow::Result<Option<Heartbeat>> {
    let path = dir.join(HEARTBEAT_FILE);
    match fs_err::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("invalid heartbeat file {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Writes the heartbeat file into `dir` atomically.
pub fn save_heartbeat(dir: &Path, heartbeat: &Heartbeat) -> anyhow::Result<()> {
    let json = serde_json::to_vec(heartbeat).context("cannot encode the heartbeat")?;
    write_atomically(dir, HEARTBEAT_FILE, &json)
}

/// Creates the state directory with mode 0700 if it is missing.
pub fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))
}

/// Writes `name` in `dir` through a temporary file, fsync and rename, then fsyncs `dir`.
fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> anyhow::Result<()> {
    create_dir(dir)?;
    let final_path = dir.join(name);
    let temp_path: PathBuf = dir.join(format!(".{name}.{}.tmp", std::process::id()));

    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp_path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);

    fs_err::rename(&temp_path, &final_path)?;
    fs_err::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn save_then_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let mut state = DaemonState { format_version: FORMAT_VERSION, ..DaemonState::default() };
        state.jobs.insert(
            "backup".to_owned(),
            JobState { last_result: Some("success".to_owned()), ..JobState::default() },
        );

        save(&state_dir, &state).unwrap();
        let loaded = load(&state_dir).unwrap().unwrap();

        assert_eq!(loaded.jobs, state.jobs);
        let file_mode = fs_err::metadata(state_dir.join(STATE_FILE)).unwrap().permissions().mode();
        assert_eq!(file_mode & 0o777, 0o600);
        let dir_mode = fs_err::metadata(&state_dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn load_rejects_unknown_format_version() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            dir.path().join(STATE_FILE),
            r#"{"format_version": 2, "daemon": {}, "jobs": {}}"#,
        )
        .unwrap();
        let error = load(dir.path()).unwrap_err();
        assert!(error.to_string().contains("format_version 2"), "{error}");
    }

    #[test]
    fn load_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        assert!(load_heartbeat(dir.path()).unwrap().is_none());
    }
}
