//! Command-line arguments of `monitor`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Health report and alerting for the InvGuard system.
///
/// Without a command, runs one monitoring cycle: every check, the alert state update and
/// the notices due, then prints the JSON report. Exit codes follow Nagios: 0 OK, 1 WARNING,
/// 2 CRITICAL, 3 UNKNOWN or a usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "monitor", version)]
pub struct Cli {
    /// Configuration file (TOML); default: the file named by INVGUARD_CONFIG, if any.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log more (repeat for more detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log less (repeat for less).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Log line format on stderr; default: `[log] format`.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// The command; none runs one monitoring cycle.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every check and print the report; no alert state is changed.
    ///
    /// The JSON keeps the keys of monitor.py (`api_health.status` is still healthy or
    /// unhealthy) and adds `level` (OK, WARNING, CRITICAL, UNKNOWN), `summary` and
    /// `thresholds` to each check.
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
        format: ReportFormat,
    },
    /// Run one check and print a Nagios plugin line with performance data.
    Check {
        /// api_health, low_stock, backup_status, disk_space or database.
        name: String,
    },
    /// Run a monitoring cycle every `[monitor] interval` seconds until SIGTERM or SIGINT.
    Watch,
    /// Send a test notice through every configured notifier; exit 0 when all delivered it,
    /// 2 when one failed, 3 when none is configured.
    TestNotify,
}

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The JSON report of the original monitor.py, extended.
    Json,
    /// A table for people; coloured on a terminal.
    Text,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}
