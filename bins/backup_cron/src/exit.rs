//! Exit codes of `backup_cron` and the mapping from errors to them.

use std::process::ExitCode;

use invguard_backup::BackupError;
use invguard_config::ConfigError;

use crate::daemon::DaemonLocked;

/// How the process ends. The numbers are part of the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The command succeeded.
    Success = 0,
    /// The job failed: a backup or a verification did not pass.
    Failure = 1,
    /// Invalid command line or configuration.
    Usage = 2,
    /// A job step finished with warnings. Only the hidden `job-step` subcommand uses it, so
    /// that the daemon records the run as `warning` rather than as a failure.
    Warning = 4,
    /// Another run holds the backup directory lock, or another daemon the state directory
    /// lock (`EX_TEMPFAIL`).
    Locked = 75,
    /// Interrupted by SIGINT (128 + 2).
    Sigint = 130,
    /// Interrupted by SIGTERM (128 + 15).
    Sigterm = 143,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A request the command cannot act on as given; ends the process with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The command stopped because a signal arrived; ends the process with 130 or 143.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}", signal_name(*.signal))]
pub struct Interrupted {
    /// The signal number (SIGINT or SIGTERM).
    pub signal: i32,
}

/// Chooses the exit code for an error from the most specific cause in its chain.
pub fn classify(error: &anyhow::Error) -> Exit {
    // Commands attach `Interrupted` as context, which `chain()` does not expose as a type.
    if let Some(interrupted) = error.downcast_ref::<Interrupted>() {
        return interrupted_exit(interrupted.signal);
    }

    for cause in error.chain() {
        if cause.is::<ConfigError>() || cause.is::<UsageError>() {
            return Exit::Usage;
        }
        if cause.is::<DaemonLocked>() {
            return Exit::Locked;
        }
        if let Some(interrupted) = cause.downcast_ref::<Interrupted>() {
            return interrupted_exit(interrupted.signal);
        }
        if let Some(error) = cause.downcast_ref::<BackupError>() {
            match error {
                BackupError::Locked { .. } => return Exit::Locked,
                error if is_usage(error) => return Exit::Usage,
                BackupError::Interrupted { .. } => return Exit::Sigterm,
                _ => {}
            }
        }
    }
    Exit::Failure
}

/// Returns true for usage errors, where the command line requests something that cannot be
/// done: a file that is not a backup, a restore target that exists or whose directory is
/// missing, an invalid time.
fn is_usage(error: &BackupError) -> bool {
    matches!(
        error,
        BackupError::Config(_)
            | BackupError::MissingKeys(_)
            | BackupError::BackupNotFound { .. }
            | BackupError::NotABackup { .. }
            | BackupError::InvalidTime { .. }
            | BackupError::RestoreTargetExists { .. }
            | BackupError::RestoreDirMissing { .. }
            | BackupError::RestoreTargetNotFile { .. }
            | BackupError::RestoreTargetIsLive { .. }
            | BackupError::NotLiveDatabase { .. }
    )
}

/// Maps a signal number to its exit code; SIGTERM for anything but SIGINT.
pub fn interrupted_exit(signal: i32) -> Exit {
    if signal == signal_hook::consts::SIGINT { Exit::Sigint } else { Exit::Sigterm }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_usage_error_in_context_chain() {
        let error = anyhow::Error::new(UsageError("bad".into())).context("while parsing");
        assert_eq!(classify(&error), Exit::Usage);
    }

    #[test]
    fn classify_interrupted_by_sigterm() {
        let error = anyhow::Error::new(Interrupted { signal: signal_hook::consts::SIGTERM });
        assert_eq!(classify(&error), Exit::Sigterm);
    }

    #[test]
    fn classify_attached_interrupt_by_sigint() {
        let error =
            anyhow::anyhow!("stopped").context(Interrupted { signal: signal_hook::consts::SIGINT });
        assert_eq!(classify(&error), Exit::Sigint);
    }

    #[test]
    fn classify_bad_restore_target_is_usage() {
        let error = BackupError::RestoreTargetExists { path: "/srv/restored.db".into() };
        assert_eq!(classify(&anyhow::Error::new(error).context("restore")), Exit::Usage);
        let error = BackupError::NotABackup { path: "/app/data/inventory.db".into() };
        assert_eq!(classify(&anyhow::Error::new(error)), Exit::Usage);
    }

    #[test]
    fn classify_lock_held_by_other_run() {
        let error = BackupError::Locked { operation: "backup".into(), pid: Some(42) };
        assert_eq!(classify(&anyhow::Error::new(error)), Exit::Locked);
    }

    #[test]
    fn classify_second_daemon() {
        let error = DaemonLocked { pid: Some(42), path: "/state/daemon.lock".into() };
        assert_eq!(classify(&anyhow::Error::new(error)), Exit::Locked);
    }

    #[test]
    fn classify_other_error_is_failure() {
        assert_eq!(classify(&anyhow::anyhow!("disk full")), Exit::Failure);
    }
}
