//! `backup_cron verify`: verify backups.

use crate::cli::VerifyArgs;
use crate::commands::{Context, not_available};
use crate::exit::Exit;

/// Runs the `verify` command.
pub fn run(_ctx: &Context, _args: &VerifyArgs) -> anyhow::Result<Exit> {
    Err(not_available("verify"))
}
