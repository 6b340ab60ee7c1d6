//! The error type of configuration loading and validation.

use std::path::PathBuf;

/// A configuration that could not be loaded or is invalid.
///
/// Each variant names the key or variable, the value, and the expected form, so the message
/// alone tells an operator what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A value has the wrong form.
    #[error("invalid value {value:?} for {key} (from {origin}): expected {expected}")]
    Invalid {
        /// The key, as `section.key`.
        key: String,
        /// The value as written (never a secret).
        value: String,
        /// Where the value came from.
        origin: String,
        /// The expected form.
        expected: String,
    },
    /// Any other problem, with a message that names the value and what to do.
    #[error("{0}")]
    Other(String),
}
