//! `backup_cron schedule`: print the next run times of the scheduled jobs.

use crate::cli::ScheduleArgs;
use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `schedule` command.
pub fn run(_ctx: &Context, _args: &ScheduleArgs) -> anyhow::Result<Exit> {
    Err(not_available("schedule"))
}
