//! `backup_cron config`: print the effective configuration as TOML, secrets redacted.

#![allow(clippy::print_stdout, reason = "the configuration is the command's output")]

use crate::commands::Context;
use crate::daemon::jobs::scheduled_jobs;
use crate::exit::Exit;

/// Prints the merged configuration with the origin of each value as a trailing comment.
///
/// Checks the job schedules first, as `run` and `schedule` do, so that a schedule they would
/// refuse is refused here too (exit code 2).
pub fn run(ctx: &Context) -> anyhow::Result<Exit> {
    scheduled_jobs(ctx.config())?;
    print!("{}", ctx.loaded.render_toml());
    Ok(Exit::Success)
}
