//! One module per subcommand; [`run()`] dispatches the parsed command to it.
//!
//! Each module exposes `run(ctx, args) -> anyhow::Result<Exit>`. Output for the user goes to
//! stdout; logs and progress bars go to stderr.

mod backup;
mod cleanup;
mod config;
mod health;
mod job_step;
mod jobs;
mod list;
mod restore;
mod run;
mod schedule;
mod verify;

use std::io::IsTerminal;

use invguard_backup::VerificationLevel;
use invguard_config::{Config, Loaded};

use crate::cli::Command;
use crate::exit::Exit;

/// What every command gets besides its own arguments.
#[derive(Debug)]
pub struct Context {
    /// The loaded configuration with the origin of each value.
    pub loaded: Loaded,
    /// Whether stderr is a terminal, so progress bars are drawn.
    pub interactive: bool,
}

impl Context {
    /// Builds the context for this process.
    pub fn new(loaded: Loaded) -> Self {
        Context { loaded, interactive: std::io::stderr().is_terminal() }
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.loaded.config
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
        Command::JobStep(args) => job_step::run(ctx, args),
    }
}

/// Returns the name of a verification level as the manifest spells it.
fn level_name(level: VerificationLevel) -> &'static str {
    match level {
        VerificationLevel::Quick => "quick",
        VerificationLevel::Full => "full",
        VerificationLevel::Ciphertext => "ciphertext",
    }
}

/// Formats an error with its causes, outermost first, separated by `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
