//! The error type of the monitor crate.

use std::path::PathBuf;

/// An error that stops the monitor from doing its job.
///
/// A failing check is not an error: it is a [`CheckResult`](crate::CheckResult) with a
/// `CRITICAL` or `UNKNOWN` level. These errors are about the monitor's own state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// A state file or directory could not be read or written.
    #[error("cannot {operation} alert state at {path}")]
    State {
        /// What was being done, such as "lock" or "write".
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The alert state file exists but cannot be parsed.
    #[error("cannot parse alert state {path}: move the file aside to start with a fresh state")]
    StateParse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The alert state file was written by a newer version of the monitor.
    #[error(
        "alert state {path} has format_version {found}, this monitor reads up to {supported}: \
         upgrade the monitor or move the file aside"
    )]
    StateVersion {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The check name is not one of the known checks.
    #[error("unknown check {name:?}: expected one of {expected}")]
    UnknownCheck {
        /// The name as given.
        name: String,
        /// The known names, comma-separated.
        expected: String,
    },
}
