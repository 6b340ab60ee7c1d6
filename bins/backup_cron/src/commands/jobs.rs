//! `backup_cron jobs`: list the scheduled jobs with their last and next runs.

use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::commands::Context;
use crate::daemon::jobs::scheduled_jobs;
use crate::daemon::state;
use crate::exit::Exit;

/// Runs the `jobs` command: a table of every enabled job, from the daemon's state file.
pub fn run(ctx: &Context) -> anyhow::Result<Exit> {
    let config = ctx.config();
    let state = state::load(&config.state.dir)?.unwrap_or_default();
    let now = Utc::now();

    let mut rows = vec![[
        "JOB".to_owned(),
        "SCHEDULE".to_owned(),
        "LAST RUN".to_owned(),
        "RESULT".to_owned(),
        "DURATION".to_owned(),
        "NEXT RUN".to_owned(),
    ]];
    for job in scheduled_jobs(config)? {
        let timezone = job.schedule.timezone();
        let job_state = state.jobs.get(&job.name).cloned().unwrap_or_default();
        let next = job.schedule.next_after(now);
        rows.push([
            job.name.clone(),
            job.schedule.expression().to_owned(),
            time_cell(job_state.last_start_utc, timezone),
            job_state.last_result.clone().unwrap_or_else(|| "-".to_owned()),
            job_state
                .last_duration_ms
                .map_or("-".to_owned(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
            time_cell(next, timezone),
        ]);
    }

    let mut stdout = std::io::stdout().lock();
    write_table(&mut stdout, &rows).context("cannot write to stdout")?;
    for job in scheduled_jobs(config)? {
        if let Some(message) = state.jobs.get(&job.name).and_then(|s| s.last_message.as_ref()) {
            writeln!(stdout, "{}: {message}", job.name).context("cannot write to stdout")?;
        }
    }
    Ok(Exit::Success)
}

fn time_cell(time: Option<DateTime<Utc>>, timezone: Tz) -> String {
    time.map_or("-".to_owned(), |t| {
        t.with_timezone(&timezone).to_rfc3339_opts(SecondsFormat::Secs, false)
    })
}

fn write_table(out: &mut impl Write, rows: &[[String; 6]]) -> std::io::Result<()> {
    let mut widths = [0; 6];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let cells: Vec<String> =
            row.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
