//! `backup_cron run`: the scheduler daemon (also the default without a subcommand).

use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `run` command.
pub fn run(_ctx: &Context) -> anyhow::Result<Exit> {
    Err(not_available("run"))
}
