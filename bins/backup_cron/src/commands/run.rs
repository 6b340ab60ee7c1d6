//! `backup_cron run`: the scheduler daemon (also the default without a subcommand).

use std::ffi::OsString;

use anyhow::Context as _;
use clap::Parser;

use crate::cli::{Cli, LogFormatArg};
use crate::commands::Context;
use crate::daemon::{self, Invocation};
use crate::exit::Exit;

/// Runs the `run` command: the daemon, until SIGTERM or SIGINT.
pub fn run(ctx: &Context) -> anyhow::Result<Exit> {
    // The command line was valid when main parsed it, so parsing it again succeeds.
    let cli = Cli::try_parse().context("cannot parse the command line again")?;
    let invocation = Invocation {
        program: std::env::current_exe().context("cannot find the path of this program")?,
        global_args: global_args(&cli),
    };

    // A wrong uid or gid fails every backup later, so say so at start-up; the daemon still
    // starts, because the backend may just not have created the database yet.
    match invguard_backup::check_database_access(&ctx.config().database.path) {
        Ok(warnings) => {
            for warning in warnings {
                tracing::warn!("{warning}");
            }
        }
        Err(error) => tracing::error!(error = %error, "database access check failed"),
    }

    daemon::run(ctx.loaded.clone(), cli.config.clone(), invocation)?;
    Ok(Exit::Success)
}

/// Returns the global options that children get, so they read the configuration that the
/// daemon hands them on standard input and log the same way as the daemon.
fn global_args(cli: &Cli) -> Vec<OsString> {
    let mut args = vec![OsString::from("--config-stdin")];
    for _ in 0..cli.verbose {
        args.push(OsString::from("-v"));
    }
    for _ in 0..cli.quiet {
        args.push(OsString::from("-q"));
    }
    if let Some(format) = cli.log_format {
        args.push(OsString::from("--log-format"));
        args.push(OsString::from(match format {
            LogFormatArg::Text => "text",
            LogFormatArg::Json => "json",
        }));
    }
    args
}
