//! `monitor`: health report and alerting for the InvGuard system.
//!
//! Parses the command line, loads the configuration, sets up logging and runs the
//! subcommand. Exit codes follow Nagios (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); usage and
//! configuration errors exit 3, never 2, so a monitoring system does not read them as
//! CRITICAL.

mod cli;
mod commands;
mod logging;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use invguard_config::{Config, LoadOptions};

use crate::cli::Cli;
use crate::commands::EXIT_UNKNOWN;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };

    let options = LoadOptions { file: cli.config.clone(), env: None };
    let loaded = match Config::load(&options) {
        Ok(loaded) => loaded,
        Err(error) => {
            report_error(&anyhow::Error::new(error).context("invalid configuration"));
            return ExitCode::from(EXIT_UNKNOWN);
        }
    };
    logging::init(&loaded.config.log, cli.verbose, cli.quiet, cli.log_format);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    match commands::run(cli.command, &loaded.config) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            report_error(&error);
            ExitCode::from(EXIT_UNKNOWN)
        }
    }
}

/// Prints clap's message; help and version exit 0, every usage error exits 3.
fn usage_error(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_UNKNOWN),
    }
}

/// Prints an error with its whole chain of causes to stderr.
fn report_error(error: &anyhow::Error) {
    let _ = writeln!(std::io::stderr(), "monitor: error: {error:#}");
}
