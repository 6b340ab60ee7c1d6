//! `cargo xtask`: developer tasks of the InvGuard Cron workspace.
//!
//! Each task lives in its own module with its own arguments; this file only dispatches.

#![allow(clippy::print_stdout, reason = "xtask reports progress and results on stdout")]

mod bench;
mod bench_daemon;
mod bench_monitor;
mod bench_restore;
mod demo;
mod dist;
mod docs;
#[cfg(test)]
mod examples;
mod inventory;
mod tidy;
mod tools;

use clap::{Parser, Subcommand};

/// Developer tasks of the InvGuard Cron workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Generate an inventory database, back it up while it is written to, verify the backup
    /// and decrypt it with gpg and zstd.
    Demo(demo::Args),
    /// Measure backup_cron against the shell pipelines it replaces; writes docs/benchmarks.md.
    Bench(bench::Args),
    /// Build the binaries and pack the release tarball with its SHA-256 file.
    Dist(dist::Args),
    /// Generate docs/configuration.md from the configuration key registry.
    Docs(docs::Args),
    /// Check formatting, lints, generated docs and workspace hygiene.
    Tidy(tidy::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Demo(args) => demo::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Dist(args) => dist::run(&args),
        Task::Docs(args) => docs::run(&args),
        Task::Tidy(args) => tidy::run(&args),
    }
}
