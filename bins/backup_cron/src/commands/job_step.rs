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

/// Runs one monitoring cycle with alerting and fails when a check is CRITICAL or UNKNOWN.
fn monitor(ctx: &Context) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let mut store = AlertStore::open(&config.state.dir).context("cannot open the alert state")?;
    let cycle = invguard_monitor::run_cycle(config, &mut store, Utc::now())
        .context("monitoring cycle failed")?;

    for check in &cycle.report.checks {
        tracing::info!(
            check = %check.name,
            level = %check.level,
            summary = %check.summary,
            "check result"
        );
    }
    for sent in &cycle.notices {
        let delivered = sent.deliveries.iter().filter(|delivery| delivery.is_delivered()).count();
        tracing::info!(
            check = %sent.notice.check,
            kind = sent.notice.kind.as_str(),
            notifiers = sent.deliveries.len(),
            delivered,
            "alert notice sent"
        );
    }

    match cycle.report.level() {
        Level::Ok | Level::Warning => Ok(Exit::Success),
        Level::Critical | Level::Unknown => Ok(Exit::Failure),
    }
}

/// Removes leftovers of killed runs, then checks the free disk space.
fn maintenance(ctx: &Context) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let lock = DirLock::exclusive(&config.backup.dir, "maintenance")?;
    let removed = invguard_backup::clean_leftovers(&config.backup.dir, &config.backup.temp_dir)?;
    drop(lock);
    for path in &removed {
        tracing::info!(path = %path.display(), "removed leftover of a killed run");
    }

    let disk = Monitor::new(config).check(CheckName::DiskSpace, Utc::now());
    if disk.level.is_failure() {
        tracing::warn!(level = %disk.level, summary = %disk.summary, "disk space check failed");
        return Ok(Exit::Failure);
    }
    tracing::info!(summary = %disk.summary, "disk space check passed");
    Ok(Exit::Success)
}
