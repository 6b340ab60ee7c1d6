//! `backup_cron health`: the container health check. Prints `Health check passed` (exit 0)
//! or `Health check failed` (exit 1) and the reasons on stderr.
//!
//! It checks the backend API with the monitor's `api_health` check (same HTTP client, timeouts,
//! expected body and redirect rules as `monitor`), the daemon's heartbeat (when the state file
//! shows a daemon running), and the age of the newest verified backup.

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use invguard_backup::VerificationResult;
use invguard_config::Config;
use invguard_monitor::{CheckName, Level, Monitor};

use crate::commands::Context;
use crate::daemon::MAX_SLEEP;
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
    if let Err(problem) = check_heartbeat(config, state.as_ref(), now) {
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

/// A running daemon (per the state file) must have written its heartbeat recently.
fn check_heartbeat(
    config: &Config,
    state: Option<&DaemonState>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let Some(state) = state else { return Ok(()) };
    if state.daemon.pid.is_none() || state.daemon.stopped_utc.is_some() {
        return Ok(());
    }

    let dir = &config.state.dir;
    let heartbeat = state::load_heartbeat(dir).map_err(|error| format!("{error:#}"))?;
    let Some(heartbeat) = heartbeat else {
        return Err(format!("the daemon is running but wrote no heartbeat in {}", dir.display()));
    };
    let age = now - heartbeat.time_utc;
    let max_age = TimeDelta::from_std(HEARTBEAT_MAX_AGE).unwrap_or(TimeDelta::MAX);
    if age > max_age {
        return Err(format!(
            "the daemon's heartbeat is {}s old (pid {}, limit {}s): \
             the daemon is stuck or was killed",
            age.num_seconds(),
            heartbeat.pid,
            max_age.num_seconds()
        ));
    }
    Ok(())
}

/// The newest verified backup must be younger than `[monitor] backup_failure_hours`. Before
/// the first backup, the check passes until that long after the daemon first started.
fn check_backup_age(
    config: &Config,
    state: Option<&DaemonState>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let hours = config.monitor.backup_failure_hours;
    let limit = TimeDelta::milliseconds((hours * 3_600_000.0) as i64);
    let dir = &config.backup.dir;

    let backups = invguard_backup::list_backups(dir)
        .map_err(|error| format!("cannot list the backups in {}: {error}", dir.display()))?;
    // The list is newest first; incomplete and legacy backups have no passed verification.
    let newest = backups.iter().find(|backup| {
        !backup.incomplete
            && backup.verification.as_ref().is_some_and(|v| v.result == VerificationResult::Passed)
    });

    match newest {
        Some(backup) if now - backup.created_utc <= limit => Ok(()),
        Some(backup) => Err(format!(
            "the newest verified backup {} is {:.1} hours old, \
             more than backup_failure_hours = {hours}",
            backup.name,
            (now - backup.created_utc).num_seconds() as f64 / 3600.0
        )),
        None => {
            let first_start = state.and_then(|state| state.daemon.first_started_utc);
            match first_start {
                Some(start) if now - start <= limit => Ok(()),
                _ => Err(format!(
                    "no verified backup in {} and the daemon first started more than \
                     backup_failure_hours = {hours} ago (or never)",
                    dir.display()
                )),
            }
        }
    }
}
