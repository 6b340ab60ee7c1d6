//! `backup_cron health`: the container health check. Prints `Health check passed` (exit 0)
//! or `Health check failed` (exit 1) and the reasons on stderr.
//!
//! It checks the backend API with the monitor's `api_health` check (same HTTP client, timeouts,
//! expected body and redirect rules as `monitor`), the daemon's heartbeat (when a daemon holds
//! the daemon lock), and the age of the newest verified backup.
//!
//! Whether a daemon runs is decided by the lock, not by the state file: a killed daemon
//! leaves a state file that still records it as running, but the OS has released its lock.

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use invguard_backup::BackupEntry;
use invguard_config::Config;
use invguard_monitor::{CheckName, Level, Monitor};

use crate::commands::Context;
use crate::daemon::MAX_SLEEP;
use crate::daemon::lock::{self, LockHolder};
use crate::daemon::state::{self, DaemonState};
use crate::exit::Exit;

/// The daemon writes its heartbeat at least once per [`MAX_SLEEP`]; three missed beats fail.
const HEARTBEAT_MAX_AGE: Duration = Duration::from_secs(3 * MAX_SLEEP.as_secs());

/// Runs the `health` command.
pub fn run(ctx: &Context) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let now = Utc::now();
    let mut problems = Vec::new();

    if let Err(problem) = check_api(config, now) {
        problems.push(problem);
    }
    let state = match state::load(&config.state.dir) {
        Ok(state) => state,
        Err(error) => {
            problems.push(format!("{error:#}"));
            None
        }
    };
    if let Err(problem) = check_daemon(config, state.as_ref(), now) {
        problems.push(problem);
    }
    if let Err(problem) = check_backup_age(config, state.as_ref(), now) {
        problems.push(problem);
    }

    report(&problems)
}

#[allow(clippy::print_stderr, reason = "the reasons of a failed health check are command output")]
fn report(problems: &[String]) -> anyhow::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    if problems.is_empty() {
        writeln!(stdout, "Health check passed").context("cannot write to stdout")?;
        return Ok(Exit::Success);
    }
    writeln!(stdout, "Health check failed").context("cannot write to stdout")?;
    for problem in problems {
        eprintln!("{problem}");
    }
    Ok(Exit::Failure)
}

/// Runs the monitor's `api_health` check: a CRITICAL or UNKNOWN result is a problem; a
/// WARNING (a slow response) is logged and passes, because the backend is up.
fn check_api(config: &Config, now: DateTime<Utc>) -> Result<(), String> {
    let result = Monitor::new(config).check(CheckName::ApiHealth, now);
    let url = format!("{}/health", config.api.url.trim_end_matches('/'));
    match result.level {
        Level::Ok => Ok(()),
        Level::Warning => {
            tracing::warn!(url = %url, summary = %result.summary, "backend API is slow");
            Ok(())
        }
        Level::Critical | Level::Unknown => {
            Err(format!("backend API {url}: {} ({})", result.summary, result.level))
        }
    }
}

/// A daemon that holds the daemon lock must have written its heartbeat, or taken the lock,
/// within [`HEARTBEAT_MAX_AGE`]. Without a holder no daemon runs (system cron users, or a
/// daemon that was killed), so the heartbeat is not checked.
fn check_daemon(
    config: &Config,
    state: Option<&DaemonState>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let dir = &config.state.dir;
    let holder = lock::probe(dir).map_err(|error| format!("{error:#}"))?;
    let Some(holder) = holder else {
        warn_if_killed(state);
        return Ok(());
    };

    let heartbeat = state::load_heartbeat(dir).map_err(|error| format!("{error:#}"))?;
    let max_age = TimeDelta::from_std(HEARTBEAT_MAX_AGE).unwrap_or(TimeDelta::MAX);
    let pid = holder.pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string());
    // A daemon that has just started may not have written its first heartbeat yet, and the
    // file may still hold an earlier daemon's.
    match heartbeat {
        Some(heartbeat) if heartbeat.time_utc >= holder.locked_utc => {
            let age = now - heartbeat.time_utc;
            if age > max_age {
                return Err(format!(
                    "the daemon's heartbeat is {}s old (pid {pid}, limit {}s): \
                     the daemon is stuck",
                    age.num_seconds(),
                    max_age.num_seconds()
                ));
            }
        }
        _ => check_lock_age(&holder, &pid, now, max_age)?,
    }
    Ok(())
}

/// Fails when the daemon took its lock longer than `max_age` ago and wrote no heartbeat since.
fn check_lock_age(
    holder: &LockHolder,
    pid: &str,
    now: DateTime<Utc>,
    max_age: TimeDelta,
) -> Result<(), String> {
    let age = now - holder.locked_utc;
    if age > max_age {
        return Err(format!(
            "the daemon (pid {pid}) took its lock {}s ago and wrote no heartbeat since \
             (limit {}s): the daemon is stuck",
            age.num_seconds(),
            max_age.num_seconds()
        ));
    }
    Ok(())
}

/// Logs a state file that records a running daemon although no process holds the lock.
fn warn_if_killed(state: Option<&DaemonState>) {
    let Some(daemon) = state.map(|state| &state.daemon) else { return };
    if let (Some(pid), None) = (daemon.pid, daemon.stopped_utc) {
        tracing::warn!(
            pid,
            "the state file records a running daemon, but no process holds the daemon lock: \
             it was killed or crashed, so its heartbeat is not checked"
        );
    }
}

/// The newest verified backup must be younger than `[monitor] backup_failure_hours`. Before
/// the first backup, the check passes until that long after the daemon first started.
///
/// Backups whose manifest cannot be read never count as verified. Each one is logged, and a
/// failure message counts those newer than the backup it judged by.
fn check_backup_age(
    config: &Config,
    state: Option<&DaemonState>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let hours = config.monitor.backup_failure_hours;
    let limit = TimeDelta::milliseconds((hours * 3_600_000.0) as i64);
    let dir = &config.backup.dir;

    let mut backups = invguard_backup::list_backups(dir)
        .map_err(|error| format!("cannot list the backups in {}: {error}", dir.display()))?;
    // Backups of another database sharing the directory are not evidence for this one.
    backups.retain(|backup| backup.is_of_database(&config.database.name));
    warn_unreadable_manifests(&backups);
    // The list is newest first; incomplete, legacy and unreadable backups are not verified.
    let newest_index = backups.iter().position(BackupEntry::is_verified);
    let newer = newest_index.unwrap_or(backups.len());
    let unreadable = backups[..newer].iter().filter(|b| b.manifest_error.is_some()).count();

    match newest_index.map(|index| &backups[index]) {
        Some(backup) if now - backup.created_utc <= limit => Ok(()),
        Some(backup) => Err(format!(
            "the newest verified backup {} is {:.1} hours old, \
             more than backup_failure_hours = {hours}{}",
            backup.name,
            (now - backup.created_utc).num_seconds() as f64 / 3600.0,
            unreadable_note(unreadable, "newer ")
        )),
        None => {
            let first_start = state.and_then(|state| state.daemon.first_started_utc);
            match first_start {
                Some(start) if now - start <= limit => Ok(()),
                _ => Err(format!(
                    "no verified backup in {} and the daemon first started more than \
                     backup_failure_hours = {hours} ago (or never){}",
                    dir.display(),
                    unreadable_note(unreadable, "")
                )),
            }
        }
    }
}

/// Logs each backup whose manifest cannot be read, with the manifest and the reason.
fn warn_unreadable_manifests(backups: &[BackupEntry]) {
    for backup in backups {
        let (Some(reason), Some(manifest)) = (&backup.manifest_error, &backup.manifest_path) else {
            continue;
        };
        tracing::warn!(
            manifest = %manifest.display(),
            reason = %reason,
            "unreadable manifest: backup {} does not count as verified",
            backup.name
        );
    }
}

/// Returns `; N [newer ]backup(s) ...` for a failure message, or nothing when `count` is 0.
fn unreadable_note(count: usize, newer: &str) -> String {
    match count {
        0 => String::new(),
        1 => format!("; 1 {newer}backup has an unreadable manifest (see the log)"),
        _ => format!("; {count} {newer}backups have unreadable manifests (see the log)"),
    }
}
