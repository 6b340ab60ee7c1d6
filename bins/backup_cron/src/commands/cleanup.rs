//! `backup_cron cleanup`: delete the backups the retention policy no longer keeps.

use crate::cli::CleanupArgs;
use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `cleanup` command.
pub fn run(_ctx: &Context, _args: &CleanupArgs) -> anyhow::Result<Exit> {
    Err(not_available("cleanup"))
}
