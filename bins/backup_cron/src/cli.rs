//! Command-line interface: global options and every subcommand with its arguments.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    the job failed (backup or verification failure)
  2    usage or configuration error
  75   another run holds the backup directory lock, or another daemon the state directory
  130  interrupted by SIGINT (temporary and partial files removed)
  143  interrupted by SIGTERM (temporary and partial files removed)";

/// Scheduled, encrypted and verified backups of the InvGuard inventory database.
///
/// Without a subcommand, runs the scheduler daemon (same as `backup_cron run`).
#[derive(Debug, Parser)]
#[command(name = "backup_cron", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Configuration file (TOML); values from the environment override it.
    #[arg(long, global = true, value_name = "PATH", env = "INVGUARD_CONFIG")]
    pub config: Option<PathBuf>,

    /// Read the configuration, secrets included, from standard input as the daemon hands it
    /// to its job steps, in place of the file and the environment.
    #[arg(long, global = true, hide = true)]
    pub config_stdin: bool,

    /// Log more: -v for debug, -vv for trace.
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Log less: -q for warnings and errors only, -qq for errors only.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub quiet: u8,

    /// Log line format on stderr; overrides `[log] format`.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// The operation to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands of `backup_cron`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up the database now, verify the backup and write its manifest.
    Backup,
    /// Verify backups: decrypt, decompress, check hashes and SQLite integrity.
    Verify(VerifyArgs),
    /// List the backups in the backup directory, newest first.
    List(ListArgs),
    /// Print the effective configuration as TOML, with the origin of each value.
    Config,
    /// Restore a backup to a database file.
    Restore(RestoreArgs),
    /// Delete the backups that the retention policy no longer keeps.
    Cleanup(CleanupArgs),
    /// Check the backend API, the daemon's heartbeat and the age of the newest verified backup
    ///
    /// For Docker HEALTHCHECK: prints `Health check passed` and exits 0, or prints `Health
    /// check failed`, the reasons on stderr, and exits 1. The checks:
    ///
    ///   backend API    GET {API_URL}/health, judged as the monitor's api_health check: a 2xx
    ///                  response within `[api] connect_timeout` and `read_timeout`, no
    ///                  unhealthy status in the body (`[api] health_expect_field` if set), no
    ///                  redirect to another host. A slow response only logs a warning.
    ///   daemon         the heartbeat in `[state] dir` is at most 3 minutes old; checked only
    ///                  while a daemon holds the lock `daemon.lock` there, so system cron
    ///                  setups and a killed daemon's leftover state pass.
    ///   backups        the newest verified backup is younger than `[monitor]
    ///                  backup_failure_hours` (25); with none yet, this passes until that long
    ///                  after the daemon's first start. Backups with an unreadable manifest
    ///                  never count and are logged.
    ///
    /// It does not check the database file or the disk space: `monitor` does.
    #[command(verbatim_doc_comment)]
    Health,
    /// Print the next run times of the scheduled jobs.
    Schedule(ScheduleArgs),
    /// List the scheduled jobs with their last and next runs.
    Jobs,
    /// Run the scheduler daemon in the foreground (the default without a subcommand).
    Run,
    /// Run one step of a scheduled job that has no public subcommand; the daemon starts it.
    #[command(hide = true)]
    JobStep(JobStepArgs),
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Backup files to verify (file names in the backup directory, or paths).
    #[arg(value_name = "FILE", conflicts_with_all = ["latest", "all"])]
    pub files: Vec<PathBuf>,

    /// Verify the newest backup of [database] name (the default without FILE or --all).
    #[arg(long, conflicts_with = "all")]
    pub latest: bool,

    /// Verify every backup of [database] name in the backup directory, legacy ones included.
    #[arg(long)]
    pub all: bool,

    /// Decrypt, decompress, compare hashes and run `PRAGMA quick_check`.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,

    /// As --quick, with `PRAGMA integrity_check`, which also checks every index.
    #[arg(long)]
    pub full: bool,

    /// Secret key file for backups encrypted to a public key; overrides
    /// `[encryption] secret_key_file`.
    #[arg(long, value_name = "FILE")]
    pub secret_key: Option<PathBuf>,

    /// File with the passphrase of the secret key; overrides
    /// `[encryption] secret_key_passphrase_file`.
    #[arg(long, value_name = "FILE")]
    pub secret_key_passphrase_file: Option<PathBuf>,
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table (fields documented in docs/).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup to restore (a file name in the backup directory, or a path).
    #[arg(value_name = "BACKUP", conflicts_with_all = ["latest", "before"])]
    pub backup: Option<PathBuf>,

    /// Restore the newest good backup.
    #[arg(long, conflicts_with = "before")]
    pub latest: bool,

    /// Restore the newest good backup made before TIME (RFC 3339 or `YYYY-MM-DD HH:MM`).
    #[arg(long, value_name = "TIME")]
    pub before: Option<String>,

    /// Where to write the restored database.
    #[arg(long, value_name = "PATH", required = true)]
    pub to: PathBuf,

    /// Overwrite PATH if it exists.
    #[arg(long, conflicts_with = "in_place")]
    pub force: bool,

    /// Replace the live database at PATH, keeping the current one aside.
    #[arg(long)]
    pub in_place: bool,

    /// Check the backup and print what would be done, without writing PATH.
    #[arg(long)]
    pub dry_run: bool,

    /// Run `PRAGMA integrity_check` on the restored database before using it.
    #[arg(long)]
    pub full: bool,

    /// Secret key file for backups encrypted to a public key.
    #[arg(long, value_name = "FILE")]
    pub secret_key: Option<PathBuf>,

    /// File with the passphrase of the secret key; overrides
    /// `[encryption] secret_key_passphrase_file`.
    #[arg(long, value_name = "FILE")]
    pub secret_key_passphrase_file: Option<PathBuf>,
}

/// Arguments of `cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Print which backups would be deleted and why, without deleting any.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Start time of the listing (RFC 3339; default now).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// Number of run times to print per job.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub count: usize,
}

/// Arguments of the hidden `job-step` subcommand.
#[derive(Debug, Args)]
pub struct JobStepArgs {
    /// The step to run.
    #[arg(value_enum)]
    pub step: JobStepName,
}

/// Steps of scheduled jobs that no public subcommand runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JobStepName {
    /// One monitoring cycle: every check, alert state update and notices (the `health` job).
    Monitor,
    /// Removal of leftovers of killed runs and the disk space check (the `maintenance` job).
    Maintenance,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
