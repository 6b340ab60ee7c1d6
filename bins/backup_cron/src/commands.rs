//! One module per subcommand; [`run`] dispatches the parsed command to it.
//!
//! Each module exposes `run(ctx, args) -> anyhow::Result<Exit>`. Output for the user goes to
//! stdout; logs and progress bars go to stderr.

mod backup;
mod cleanup;
mod config;
mod health;
mod jobs;
mod list;
mod restore;
mod run;
mod schedule;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::Command;
use crate::exit::{Exit, UsageError};

/// What every command gets besides its own arguments.
#[derive(Debug)]
pub struct Context {
    /// The `--config` file, if one was given.
    pub config_file: Option<PathBuf>,
    /// Whether stderr is a terminal, so progress bars are drawn.
    pub interactive: bool,
}

impl Context {
    /// Builds the context for this process.
    pub fn new(config_file: Option<PathBuf>) -> Self {
        Context { config_file, interactive: std::io::stderr().is_terminal() }
    }
}

/// Runs `command`; `None` is the daemon, as with `run`.
pub fn run(ctx: &Context, command: Option<&Command>) -> anyhow::Result<Exit> {
    let Some(command) = command else {
        return run::run(ctx);
    };

    match command {
        Command::Backup => backup::run(ctx),
        Command::Verify(args) => verify::run(ctx, args),
        Command::List(args) => list::run(ctx, args),
        Command::Config => config::run(ctx),
        Command::Restore(args) => restore::run(ctx, args),
        Command::Cleanup(args) => cleanup::run(ctx, args),
        Command::Health => health::run(ctx),
        Command::Schedule(args) => schedule::run(ctx, args),
        Command::Jobs => jobs::run(ctx),
        Command::Run => run::run(ctx),
    }
}

/// The error of a subcommand this build does not provide yet (exit code 2).
fn not_available(command: &str) -> anyhow::Error {
    UsageError(format!("the `{command}` command is not available yet in this build")).into()
}
