//! `backup_cron job-step STEP` (hidden): the steps of scheduled jobs that no public
//! subcommand runs. The daemon starts them as child processes, like `backup` and `cleanup`.

use anyhow::Context as _;
use chrono::Utc;
use invguard_backup::DirLock;
use invguard_monitor::{AlertStore, CheckName, Level, Monitor};

use crate::cli::{JobStepArgs, JobStepName};
use crate::commands::Context;
use crate::exit::Exit;

/// Runs one job step.
pub fn run(ctx: &Context, args: &JobStepArgs) -> anyhow::Result<Exit> {
    match args.step {
        JobStepName::Monitor => monitor(ctx),
        JobStepName::Maintenance => maintenance(ctx),
    }
}

/// Runs one monitoring cycle through the monitor library: every check, the alert state update
/// and the notices due, as `monitor` without a subcommand does.
///
/// Each check result is logged at the level its status calls for: INFO for OK, WARN for
/// WARNING, ERROR for CRITICAL and UNKNOWN. The exit code reports the run's result to the daemon:
/// success when every check is OK, [`Exit::Warning`] when the worst is WARNING, failure when a
/// check is CRITICAL or UNKNOWN.
fn monitor(ctx: &Context) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let mut store = AlertStore::open(&config.state.dir).context("cannot open the alert state")?;
    let cycle = invguard_monitor::run_cycle(config, &mut store, Utc::now())
        .context("monitoring cycle failed")?;

    for check in &cycle.report.checks {
        let (name, level, summary) = (&check.name, &check.level, &check.summary);
        match check.level {
            Level::Ok => {
                tracing::info!(check = %name, level = %level, summary = %summary, "check result")
            }
            Level::Warning => {
                tracing::warn!(check = %name, level = %level, summary = %summary, "check result")
            }
            Level::Critical | Level::Unknown => {
                tracing::error!(check = %name, level = %level, summary = %summary, "check result")
            }
        }
    }
    for sent in &cycle.notices {
        if sent.has_no_notifier() {
            tracing::warn!(
                check = %sent.notice.check,
                kind = sent.notice.kind.as_str(),
                "alert has no notifier configured, nobody was told; add [[monitor.notifiers]] \
                 to the configuration"
            );
            continue;
        }
        let delivered = sent.deliveries.iter().filter(|delivery| delivery.is_delivered()).count();
        tracing::info!(
            check = %sent.notice.check,
            kind = sent.notice.kind.as_str(),
            notifiers = sent.deliveries.len(),
            delivered,
            "alert notice sent"
        );
        for failed in sent.deliveries.iter().filter(|delivery| !delivery.is_delivered()) {
            tracing::warn!(
                check = %sent.notice.check,
                notifier = %failed.notifier,
                error = failed.error.as_deref().unwrap_or_default(),
                "notifier failed"
            );
        }
    }

    Ok(match cycle.report.level() {
        Level::Ok => Exit::Success,
        Level::Warning => Exit::Warning,
        Level::Critical | Level::Unknown => Exit::Failure,
    })
}

/// Removes leftovers of killed runs, then checks the free disk space; a WARNING ends with
/// [`Exit::Warning`], a CRITICAL or UNKNOWN with a failure.
fn maintenance(ctx: &Context) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let lock = DirLock::exclusive(&config.backup.dir, "maintenance")?;
    let (dir, temp_dir) = (&config.backup.dir, &config.backup.temp_dir);
    let removed = invguard_backup::clean_leftovers(dir, temp_dir, &config.database.name)?;
    drop(lock);
    for path in &removed {
        tracing::info!(path = %path.display(), "removed leftover of a killed run");
    }

    let disk = Monitor::new(config).check(CheckName::DiskSpace, Utc::now());
    let (level, summary) = (&disk.level, &disk.summary);
    Ok(match disk.level {
        Level::Ok => {
            tracing::info!(level = %level, summary = %summary, "disk space check passed");
            Exit::Success
        }
        Level::Warning => {
            tracing::warn!(level = %level, summary = %summary, "disk space check warns");
            Exit::Warning
        }
        Level::Critical | Level::Unknown => {
            tracing::error!(level = %level, summary = %summary, "disk space check failed");
            Exit::Failure
        }
    })
}
