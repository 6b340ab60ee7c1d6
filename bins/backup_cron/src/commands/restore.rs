//! `backup_cron restore`: restore a backup to a database file.

use crate::cli::RestoreArgs;
use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `restore` command.
pub fn run(_ctx: &Context, _args: &RestoreArgs) -> anyhow::Result<Exit> {
    Err(not_available("restore"))
}
