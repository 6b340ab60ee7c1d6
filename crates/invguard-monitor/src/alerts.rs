//! Alert state per check: consecutive failures and successes, the open incident, and when
//! it was last notified. Persisted as `alerts.json` in the state directory.
//!
//! # Rules
//!
//! An incident opens and a FIRING notice goes out after `failure_threshold` consecutive
//! failures (any level but OK). While it stays open, a REMINDER goes out every
//! `reminder_interval`. After `success_threshold` consecutive successes it closes, with a
//! RESOLVED notice only when its FIRING notice was delivered. A notice that no notifier
//! delivered is sent again at the next run.
//!
//! # Atomicity
//!
//! Runs that may overlap (the daemon's health job, `monitor watch`, a cron-run `monitor`)
//! take an exclusive lock on `alerts.lock` from reading the state to writing it. The file is
//! replaced atomically: written to a temporary file, synced, renamed, and the directory
//! synced. A crash leaves either the old or the new state.
//!
//! NOTE: each run counts, so two schedulers that run the monitor at the same times (the
//! daemon's health job and a cron-run `monitor`) reach `failure_threshold` twice as fast.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use fs_err::os::unix::fs::OpenOptionsExt as _;
use invguard_config::MonitorConfig;
use serde::{Deserialize, Serialize};

use crate::notify::{Notice, NoticeKind};
use crate::{CheckResult, Level, MonitorError};

/// The newest `format_version` of `alerts.json` this build reads and writes.
pub const ALERT_STATE_FORMAT_VERSION: u32 = 1;

const STATE_FILE: &str = "alerts.json";
const LOCK_FILE: &str = "alerts.lock";

/// The persisted alert state of all checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// Version of this file's layout.
    pub format_version: u32,
    /// State per check name.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckState>,
}

impl Default for AlertState {
    fn default() -> Self {
        AlertState { format_version: ALERT_STATE_FORMAT_VERSION, checks: BTreeMap::new() }
    }
}

/// The alert state of one check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckState {
    /// Failures in a row, reset by a success.
    pub consecutive_failures: u32,
    /// Successes in a row, reset by a failure.
    pub consecutive_successes: u32,
    /// Level of the latest run.
    pub last_level: Option<Level>,
    /// When the check last ran.
    pub last_checked: Option<DateTime<Utc>>,
    /// The open incident, if the check is alerting.
    pub incident: Option<Incident>,
}

/// An alert that has fired and not resolved yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Identifier shared by the FIRING, REMINDER and RESOLVED notices, such as
    /// `api_health-20261204T100000Z`.
    pub id: String,
    /// When the threshold was reached.
    pub started: DateTime<Utc>,
    /// Latest failing level.
    pub level: Level,
    /// Latest failing summary.
    pub summary: String,
    /// Whether a notifier delivered the FIRING notice.
    pub firing_sent: bool,
    /// When a FIRING or REMINDER notice was last delivered.
    pub last_notified: Option<DateTime<Utc>>,
}

/// The thresholds of the alert rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRules {
    /// Consecutive failures before an alert fires.
    pub failure_threshold: u32,
    /// Consecutive successes before an alert resolves.
    pub success_threshold: u32,
    /// Interval of reminders while an alert keeps firing.
    pub reminder_interval: TimeDelta,
}

impl AlertRules {
    /// Takes the rules from `[monitor]`.
    pub fn from_config(monitor: &MonitorConfig) -> AlertRules {
        AlertRules {
            failure_threshold: monitor.failure_threshold.max(1),
            success_threshold: monitor.success_threshold.max(1),
            reminder_interval: TimeDelta::from_std(monitor.reminder_interval)
                .unwrap_or(TimeDelta::MAX),
        }
    }
}

/// The alert state in its directory, with the lock that serializes updates.
#[derive(Debug)]
pub struct AlertStore {
    dir: PathBuf,
    state: AlertState,
}

/// An exclusive lock on the alert state; released on drop.
#[derive(Debug)]
pub(crate) struct StateLock {
    _file: fs_err::File,
}

impl AlertStore {
    /// Opens the store in `dir`, creating the directory (mode 0700) if needed, and loads the
    /// current state.
    ///
    /// # Errors
    ///
    /// Returns an error when the directory cannot be created or the state file cannot be
    /// read or parsed.
    pub fn open(dir: &Path) -> Result<AlertStore, MonitorError> {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|source| {
            MonitorError::State { operation: "create the directory of", path: dir.into(), source }
        })?;
        let mut store = AlertStore { dir: dir.to_path_buf(), state: AlertState::default() };
        let _lock = store.lock()?;
        store.reload()?;
        Ok(store)
    }

    /// The state as last loaded or updated.
    pub fn state(&self) -> &AlertState {
        &self.state
    }

    /// Path of the state file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Takes the exclusive lock, waiting for another run to finish.
    pub(crate) fn lock(&self) -> Result<StateLock, MonitorError> {
        let path = self.dir.join(LOCK_FILE);
        let error = |source| MonitorError::State { operation: "lock", path: path.clone(), source };
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(error)?;
        file.lock().map_err(error)?;
        Ok(StateLock { _file: file })
    }

    /// Reads the state file again; a missing file is an empty state.
    pub(crate) fn reload(&mut self) -> Result<(), MonitorError> {
        let path = self.path();
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.state = AlertState::default();
                return Ok(());
            }
            Err(source) => return Err(MonitorError::State { operation: "read", path, source }),
        };

        let state: AlertState = serde_json::from_str(&text)
            .map_err(|source| MonitorError::StateParse { path: path.clone(), source })?;
        if state.format_version > ALERT_STATE_FORMAT_VERSION {
            return Err(MonitorError::StateVersion {
                path,
                found: state.format_version,
                supported: ALERT_STATE_FORMAT_VERSION,
            });
        }
        self.state = state;
        Ok(())
    }

    /// Writes the state atomically with mode 0600.
    pub(crate) fn save(&self) -> Result<(), MonitorError> {
        let path = self.path();
        let temporary = self.dir.join(format!(".{STATE_FILE}.tmp-{}", std::process::id()));
        let error =
            |operation, source| MonitorError::State { operation, path: path.clone(), source };

        let mut text = serde_json::to_vec_pretty(&self.state).unwrap_or_default();
        text.push(b'\n');
        let mut file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(|source| error("write", source))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(|source| error("write", source))?;
        drop(file);

        fs_err::rename(&temporary, &path).map_err(|source| error("replace", source))?;
        fs_err::File::open(&self.dir)
            .and_then(|directory| directory.sync_all())
            .map_err(|source| error("sync the directory of", source))?;
        tracing::trace!(path = %path.display(), "alert state written");
        Ok(())
    }

    /// Applies one run's results and returns the notices due. Call [`Self::record`] with the
    /// delivery result of each notice afterwards.
    pub(crate) fn evaluate(
        &mut self,
        results: &[CheckResult],
        rules: AlertRules,
        now: DateTime<Utc>,
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        for result in results {
            let state = self.state.checks.entry(result.name.to_string()).or_default();
            if let Some(notice) = evaluate_check(state, result, rules, now) {
                notices.push(notice);
            }
        }
        notices
    }

    /// Records whether a notice reached at least one notifier.
    pub(crate) fn record(&mut self, notice: &Notice, delivered: bool, now: DateTime<Utc>) {
        let Some(state) = self.state.checks.get_mut(&notice.check) else {
            return;
        };
        if !delivered {
            return;
        }
        match notice.kind {
            NoticeKind::Firing | NoticeKind::Reminder => {
                if let Some(incident) = &mut state.incident {
                    incident.firing_sent = true;
                    incident.last_notified = Some(now);
                }
            }
            NoticeKind::Resolved => state.incident = None,
            NoticeKind::Test => {}
        }
    }
}

/// Updates one check's counters and decides whether a notice is due.
fn evaluate_check(
    state: &mut CheckState,
    result: &CheckResult,
    rules: AlertRules,
    now: DateTime<Utc>,
) -> Option<Notice> {
    state.last_level = Some(result.level);
    state.last_checked = Some(now);

    if result.level.is_failure() {
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        state.consecutive_successes = 0;
        return on_failure(state, result, rules, now);
    }

    state.consecutive_successes = state.consecutive_successes.saturating_add(1);
    state.consecutive_failures = 0;
    let incident = state.incident.as_ref()?;
    if state.consecutive_successes < rules.success_threshold {
        return None;
    }
    if !incident.firing_sent {
        // Nobody was told about this incident, so nobody needs to hear that it ended.
        state.incident = None;
        return None;
    }
    Some(Notice::new(NoticeKind::Resolved, result, incident, state.consecutive_failures, now))
}

fn on_failure(
    state: &mut CheckState,
    result: &CheckResult,
    rules: AlertRules,
    now: DateTime<Utc>,
) -> Option<Notice> {
    let failures = state.consecutive_failures;
    let Some(incident) = &mut state.incident else {
        if failures < rules.failure_threshold {
            return None;
        }
        let incident = Incident {
            id: format!("{}-{}", result.name, now.format("%Y%m%dT%H%M%SZ")),
            started: now,
            level: result.level,
            summary: result.summary.clone(),
            firing_sent: false,
            last_notified: None,
        };
        let notice = Notice::new(NoticeKind::Firing, result, &incident, failures, now);
        state.incident = Some(incident);
        return Some(notice);
    };

    incident.level = result.level;
    incident.summary = result.summary.clone();
    if !incident.firing_sent {
        return Some(Notice::new(NoticeKind::Firing, result, incident, failures, now));
    }
    let last = incident.last_notified.unwrap_or(incident.started);
    if now - last >= rules.reminder_interval {
        return Some(Notice::new(NoticeKind::Reminder, result, incident, failures, now));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckName;

    fn rules() -> AlertRules {
        AlertRules {
            failure_threshold: 2,
            success_threshold: 1,
            reminder_interval: TimeDelta::hours(6),
        }
    }

    fn run(state: &mut CheckState, level: Level, minutes: i64) -> Option<NoticeKind> {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes);
        let result = CheckResult::new(CheckName::Database, level, "database check");
        let notice = evaluate_check(state, &result, rules(), now)?;
        // Every notice is delivered in this test.
        match notice.kind {
            NoticeKind::Resolved => state.incident = None,
            _ => {
                let incident = state.incident.as_mut().unwrap();
                incident.firing_sent = true;
                incident.last_notified = Some(now);
            }
        }
        Some(notice.kind)
    }

    #[test]
    fn evaluate_check_fires_at_threshold_only() {
        let mut state = CheckState::default();
        assert_eq!(run(&mut state, Level::Critical, 0), None);
        assert_eq!(run(&mut state, Level::Critical, 5), Some(NoticeKind::Firing));
        assert_eq!(run(&mut state, Level::Critical, 10), None);
    }

    #[test]
    fn evaluate_check_ignores_failure_below_threshold() {
        let mut state = CheckState::default();
        assert_eq!(run(&mut state, Level::Warning, 0), None);
        assert_eq!(run(&mut state, Level::Ok, 5), None);
        assert_eq!(state.incident, None);
    }

    #[test]
    fn evaluate_check_reminds_after_interval() {
        let mut state = CheckState::default();
        run(&mut state, Level::Critical, 0);
        assert_eq!(run(&mut state, Level::Critical, 5), Some(NoticeKind::Firing));
        assert_eq!(run(&mut state, Level::Critical, 5 + 359), None);
        assert_eq!(run(&mut state, Level::Critical, 5 + 360), Some(NoticeKind::Reminder));
        assert_eq!(run(&mut state, Level::Ok, 400), Some(NoticeKind::Resolved));
        assert_eq!(run(&mut state, Level::Ok, 405), None);
    }
}
