//! `backup_cron config`: print the effective configuration as TOML, secrets redacted.

#![allow(clippy::print_stdout, reason = "the configuration is the command's output")]

use crate::commands::Context;
use crate::exit::Exit;

/// Prints the merged configuration with the origin of each value as a trailing comment.
pub fn run(ctx: &Context) -> anyhow::Result<Exit> {
    print!("{}", ctx.loaded.render_toml());
    Ok(Exit::Success)
}
