//! `backup_cron config`: print the effective configuration.

use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `config` command.
pub fn run(_ctx: &Context) -> anyhow::Result<Exit> {
    Err(not_available("config"))
}
