//! `backup_cron jobs`: list the scheduled jobs.

use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `jobs` command.
pub fn run(_ctx: &Context) -> anyhow::Result<Exit> {
    Err(not_available("jobs"))
}
