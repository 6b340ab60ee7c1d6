//! `backup_cron backup`: back up the database, verify the backup and write its manifest.

use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `backup` command.
pub fn run(_ctx: &Context) -> anyhow::Result<Exit> {
    Err(not_available("backup"))
}
