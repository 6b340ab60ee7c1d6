//! `backup_cron health`: check the database, the backup directory and the latest backup.

use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `health` command.
pub fn run(_ctx: &Context) -> anyhow::Result<Exit> {
    Err(not_available("health"))
}
