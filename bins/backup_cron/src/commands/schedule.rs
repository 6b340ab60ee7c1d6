//! `backup_cron schedule`: print the next run times of the scheduled jobs.

use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::cli::ScheduleArgs;
use crate::commands::Context;
use crate::daemon::jobs::scheduled_jobs;
use crate::exit::{Exit, UsageError};

/// Runs the `schedule` command: one line per run, `job<TAB>local time<TAB>UTC time`, sorted
/// by time.
pub fn run(ctx: &Context, args: &ScheduleArgs) -> anyhow::Result<Exit> {
    let from = match &args.from {
        Some(text) => parse_time(text)?,
        None => Utc::now(),
    };

    let mut lines = Vec::new();
    for job in scheduled_jobs(ctx.config())? {
        for run in job.schedule.upcoming(from).take(args.count) {
            let local = run.with_timezone(&job.schedule.timezone());
            lines.push((run, job.name.clone(), local.to_rfc3339_opts(SecondsFormat::Secs, false)));
        }
    }
    lines.sort();

    let mut stdout = std::io::stdout().lock();
    for (run, job, local) in lines {
        let utc = run.to_rfc3339_opts(SecondsFormat::Secs, true);
        writeln!(stdout, "{job}\t{local}\t{utc}").context("cannot write to stdout")?;
    }
    Ok(Exit::Success)
}

fn parse_time(text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).map_err(|_| {
        UsageError(format!(
            "invalid --from {text:?}: expected an RFC 3339 time such as 2025-03-30T00:00:00Z"
        ))
        .into()
    })
}
