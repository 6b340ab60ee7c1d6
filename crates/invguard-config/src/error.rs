//! The error type of configuration loading and validation.

use std::path::PathBuf;

/// A configuration that could not be loaded or is invalid.
///
/// Each variant names the key or variable, the value, and the expected form, so the message
/// alone tells an operator what to fix. A secret value is never part of a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("failed to read the configuration file")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML.
    #[error("invalid TOML in configuration file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's description of the problem.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value has the wrong form.
    #[error("invalid value {value:?} for {key} (from {origin}): expected {expected}")]
    Invalid {
        /// The key, as `section.key`.
        key: String,
        /// The value as written, or `<redacted>` for a secret.
        value: String,
        /// Where the value came from: `default`, `file PATH` or the variable name.
        origin: String,
        /// The expected form.
        expected: String,
    },
    /// The configuration file contains a key that does not exist.
    #[error("unknown key {key:?} in {origin}: {}", suggestion_text(.suggestion, "remove it"))]
    UnknownKey {
        /// The key, as `section.key`.
        key: String,
        /// Where the key was found.
        origin: String,
        /// The closest known key, if any.
        suggestion: Option<String>,
    },
    /// An `INVGUARD_` environment variable that matches no key.
    #[error("unknown environment variable {name}: {}", suggestion_text(.suggestion, "unset it"))]
    UnknownVariable {
        /// The variable name.
        name: String,
        /// The closest known variable, if any.
        suggestion: Option<String>,
    },
    /// A `[jobs.<name>]` table or variable for a job that does not exist.
    #[error("unknown job {name:?} in {origin}: the known jobs are {known}")]
    UnknownJob {
        /// The job name as written.
        name: String,
        /// Where it was found: `file PATH` or the variable name.
        origin: String,
        /// The known job names, comma-separated.
        known: String,
    },
    /// A key that is accepted only from the environment appears in the configuration file.
    #[error("{key} cannot be set in configuration file {path}: {hint}")]
    NotInFile {
        /// The key.
        key: String,
        /// The configuration file.
        path: PathBuf,
        /// Where to set it instead.
        hint: String,
    },
    /// Two keys that exclude each other are both set.
    #[error("{first} and {second} are both set: set only one of them")]
    Conflict {
        /// The first key and where it was set, as `key (from origin)`.
        first: String,
        /// The second key and where it was set.
        second: String,
    },
    /// A notifier sets a key that its type does not take.
    #[error("{key} (from {origin}) does not apply to a {kind} notifier, which takes {allowed}")]
    NotApplicable {
        /// The key, such as `monitor.notifiers[0].program`.
        key: String,
        /// Where it was set.
        origin: String,
        /// The notifier type.
        kind: String,
        /// The keys the type takes.
        allowed: String,
    },
    /// A key is set without another key it needs.
    #[error("{set} requires {missing}")]
    Incomplete {
        /// The key that is set and where it was set, as `key (from origin)`.
        set: String,
        /// The key that is missing.
        missing: String,
    },
    /// A file that contains a secret could not be read.
    #[error("failed to read the file named by {key}")]
    ReadSecret {
        /// The key that names the file.
        key: String,
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file that contains a secret is empty.
    #[error(
        "{key} {path} is empty: write the secret into the file (one trailing newline is ignored)"
    )]
    EmptySecret {
        /// The key that names the file.
        key: String,
        /// The file.
        path: PathBuf,
    },
    /// A file that contains a secret has a line break inside the secret.
    #[error(
        "{key} {path} contains a line break after the first line: keep the secret on one line, \
         because `gpg --passphrase-fd` and HTTP headers read only one line"
    )]
    MultiLineSecret {
        /// The key that names the file.
        key: String,
        /// The file.
        path: PathBuf,
    },
    /// A passphrase file contains a carriage return. The loader would strip a trailing `\r\n`, but
    /// `gpg --passphrase-file` keeps the `\r`, so the emergency restore would use another
    /// passphrase than the one the backups were encrypted with.
    #[error(
        "{key} {path} contains a carriage return (a Windows line ending): gpg keeps it as part of \
         the passphrase, so the emergency restore with `gpg --passphrase-file` would not decrypt \
         the backups; remove it with `sed -i 's/\\r$//' {path}`"
    )]
    CarriageReturnInPassphraseFile {
        /// The key that names the file.
        key: String,
        /// The file.
        path: PathBuf,
    },
    /// A passphrase given as a value contains a carriage return, which gpg would keep as part of the
    /// passphrase.
    #[error(
        "{key} contains a carriage return: gpg keeps it as part of the passphrase, so the \
         emergency restore would not decrypt the backups; set the passphrase without it"
    )]
    CarriageReturnInPassphrase {
        /// The key and where it was set, as `key (from origin)`.
        key: String,
    },
    /// `backup` needs a key to encrypt with and none is configured.
    #[error("{0}")]
    MissingEncryptionKeys(String),
    /// A configuration handed over by another process could not be encoded or read. The
    /// reason names a position or a version, never a value.
    #[error("{reason}")]
    Handoff {
        /// What went wrong.
        reason: String,
    },
    /// The `config` crate failed to merge the layers; this indicates a defect in the registry.
    #[error("failed to merge the configuration layers")]
    Merge(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn suggestion_text(suggestion: &Option<String>, otherwise: &str) -> String {
    match suggestion {
        Some(known) => format!("did you mean {known}?"),
        None => format!("{otherwise} or correct its spelling"),
    }
}
