//! `backup_cron`: scheduled, encrypted and verified backups of the InvGuard inventory database.
//!
//! This file only parses the command line, loads the configuration, sets up logging,
//! dispatches to a command module and maps the outcome to an exit code. The work happens in
//! the library crates.

mod cli;
mod commands;
mod daemon;
mod exit;
mod logging;
mod progress;
mod signals;

use std::process::ExitCode;

use clap::Parser;
use invguard_config::{Config, LoadOptions, LogConfig, LogFormat, LogLevel};

use crate::cli::Cli;
use crate::commands::Context;
use crate::exit::Exit;
use crate::logging::LogSettings;

fn main() -> ExitCode {
    let cli = Cli::parse();

    let exit = match run(&cli) {
        Ok(exit) => exit,
        Err(error) => {
            let exit = exit::classify(&error);
            if cli.config_stdin {
                log_step_error(&cli, &error, exit);
            } else {
                report(&error);
            }
            exit
        }
    };
    exit.into()
}

/// Loads the configuration, sets up logging and runs the command.
fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let loaded = if cli.config_stdin {
        // A job step of the daemon: the daemon's configuration in force, not the file as it
        // is now, with the secrets that are kept out of this process's environment.
        invguard_config::decode_handoff(std::io::stdin().lock())?
    } else {
        Config::load(&LoadOptions { file: cli.config.clone(), env: None })?
    };

    logging::init(LogSettings::new(&loaded.config.log, cli.verbose, cli.quiet, cli.log_format));
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    let ctx = Context::new(loaded);
    commands::run(&ctx, cli.command.as_ref())
}

/// Logs the error that ends a job step of the daemon. The step writes to the daemon's log, so
/// its last line keeps the log's format and names the job. A locked backup directory is a
/// warning: the daemon retries or skips the busy run.
fn log_step_error(cli: &Cli, error: &anyhow::Error, exit: Exit) {
    if !tracing::dispatcher::has_been_set() {
        // The handed-over configuration was unreadable, so its log settings are unknown.
        let defaults = LogConfig { level: LogLevel::Info, format: LogFormat::Text };
        logging::init(LogSettings::new(&defaults, cli.verbose, cli.quiet, cli.log_format));
    }

    let job = std::env::var(daemon::JOB_ENV).ok();
    let job = job.as_deref().map(tracing::field::display);
    let error = format!("{error:#}");
    if exit == Exit::Locked {
        tracing::warn!(job, error = %error, "job step found the backup directory busy");
    } else {
        tracing::error!(job, error = %error, "job step failed");
    }
}

/// Prints an error with its whole chain of causes on stderr.
#[allow(clippy::print_stderr, reason = "the final error is command output, not a log line")]
fn report(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}
