//! `backup_cron list`: list the backups, newest first.

use crate::cli::ListArgs;
use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `list` command.
pub fn run(_ctx: &Context, _args: &ListArgs) -> anyhow::Result<Exit> {
    Err(not_available("list"))
}
