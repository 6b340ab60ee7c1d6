//! `backup_cron`: scheduled, encrypted and verified backups of the InvGuard inventory database.
//!
//! This file only parses the command line, sets up logging, dispatches to a command module and
//! maps the outcome to an exit code. The work happens in the library crates.

mod cli;
mod commands;
mod exit;
mod logging;

use std::process::ExitCode;

use clap::Parser;
use invguard_config::{LogConfig, LogFormat, LogLevel};

use crate::cli::Cli;
use crate::commands::Context;
use crate::logging::LogSettings;

fn main() -> ExitCode {
    let cli = Cli::parse();

    // FIXME: logging uses the built-in defaults until the configuration loader is wired in.
    let defaults = LogConfig { level: LogLevel::Info, format: LogFormat::Text };
    logging::init(LogSettings::new(&defaults, cli.verbose, cli.quiet, cli.log_format));

    let ctx = Context::new(cli.config.clone());
    let exit = match commands::run(&ctx, cli.command.as_ref()) {
        Ok(exit) => exit,
        Err(error) => {
            report(&error);
            exit::classify(&error)
        }
    };
    exit.into()
}

/// Prints an error with its whole chain of causes on stderr.
#[allow(clippy::print_stderr, reason = "the final error is command output, not a log line")]
fn report(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}
