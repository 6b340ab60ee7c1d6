//! The error type of every fallible operation in this crate.

use std::{io, path::PathBuf};

/// The source error of a failure inside rPGP, boxed so the public API does not expose it.
pub type PgpSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while encrypting, decrypting, inspecting or loading keys.
///
/// The variants hold no path of the message being processed: the caller knows which file it
/// reads and adds that context. Key-loading variants name their key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// `encrypt` received neither a passphrase nor a recipient.
    #[error(
        "no passphrase and no recipient configured for encryption: \
         set a passphrase or at least one recipient key"
    )]
    NoEncryptionKeys,

    /// `decrypt` received neither a passphrase nor a secret key.
    #[error(
        "no passphrase and no secret key configured for decryption: \
         set a passphrase or a secret key file"
    )]
    NoDecryptionKeys,

    /// A passphrase for encryption was empty.
    #[error("the encryption passphrase is empty: set a non-empty passphrase")]
    EmptyPassphrase,

    /// None of the passphrases opens the message, and the message format distinguishes this
    /// from corruption (messages written by this crate do).
    #[error(
        "wrong passphrase: none of the {tried} configured passphrase(s) opens this message; \
         check the passphrase file"
    )]
    WrongPassphrase {
        /// How many passphrases were tried.
        tried: usize,
    },

    /// No passphrase opens the message, and the format cannot tell a wrong passphrase from
    /// damaged data (typical for messages written by `gpg --symmetric`).
    #[error(
        "wrong passphrase or corrupted data: none of the {tried} configured passphrase(s) \
         decrypts this message; check the passphrase, and if it is right, use another copy \
         of the file"
    )]
    WrongPassphraseOrCorrupt {
        /// How many passphrases were tried.
        tried: usize,
    },

    /// The message is not addressed to any configured passphrase or secret key.
    #[error(
        "no configured key opens this message: it is encrypted to {addressed_to}; \
         configure the matching secret key or passphrase"
    )]
    NoMatchingKey {
        /// The recipients of the message in words, for example
        /// `key id 0123456789ABCDEF and a passphrase`.
        addressed_to: String,
    },

    /// The message is damaged or was modified after encryption.
    #[error("corrupted data: {detail}; the file was damaged or modified, use another copy")]
    Corrupt {
        /// The finding of the check, in words.
        detail: String,
        /// The rPGP error behind the finding, if any.
        #[source]
        source: Option<PgpSource>,
    },

    /// The message ends before its last packet.
    #[error(
        "truncated data: the message ends before its last packet; the file is incomplete, \
         use another copy"
    )]
    Truncated {
        /// The rPGP error behind the finding.
        #[source]
        source: Option<PgpSource>,
    },

    /// The input is neither binary OpenPGP packets nor ASCII armor.
    #[error(
        "not an OpenPGP message: the input starts with neither an OpenPGP packet nor \
         ASCII armor; check that the file is an encrypted backup"
    )]
    NotOpenPgp,

    /// The input is an OpenPGP message without encryption.
    #[error(
        "the OpenPGP message is not encrypted: it holds no encrypted data packet; \
         check that the file is an encrypted backup"
    )]
    NotEncrypted,

    /// The message uses a feature this crate does not decrypt.
    #[error("unsupported OpenPGP message: {detail}")]
    Unsupported {
        /// The feature, in words.
        detail: String,
    },

    /// A key file could not be read or parsed.
    #[error("cannot load the OpenPGP key file {path}: {detail}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// The failure, in words.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<PgpSource>,
    },

    /// A key was parsed but cannot be used.
    #[error("key {key} in {path} {problem}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// The key: primary fingerprint and primary user id.
        key: String,
        /// The reason the key cannot be used.
        problem: KeyProblem,
    },

    /// Reading the input or writing the output failed.
    #[error("reading the input or writing the output failed")]
    Io(#[source] io::Error),

    /// rPGP failed for a reason not covered by the variants above.
    #[error("OpenPGP {operation} failed")]
    Pgp {
        /// The operation, for example `encryption`.
        operation: &'static str,
        /// The rPGP error.
        #[source]
        source: PgpSource,
    },
}

/// The reason a key from a key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The primary key or the chosen subkey carries a revocation signature.
    Revoked,
    /// The key expired at the given time (RFC 3339, UTC).
    Expired {
        /// The expiration time.
        at: String,
    },
    /// No key or subkey carries the encryption key flags.
    NoEncryptionSubkey,
    /// The secret key is protected and no passphrase for it is configured.
    PassphraseRequired,
    /// The secret key is protected and the given passphrase does not unlock it.
    WrongKeyPassphrase,
    /// The file contains a public key where a secret key is needed.
    NotSecret,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Revoked => f.write_str("is revoked: configure a current key instead"),
            Self::Expired { at } => write!(
                f,
                "expired at {at}: extend it with `gpg --quick-set-expire` and export it again, \
                 or configure a current key"
            ),
            Self::NoEncryptionSubkey => f.write_str(
                "has no usable encryption subkey: add one with `gpg --quick-add-key FPR cv25519 \
                 encr` and export the key again",
            ),
            Self::PassphraseRequired => f.write_str(
                "is protected by a passphrase and none is configured: \
                 set the secret key passphrase file",
            ),
            Self::WrongKeyPassphrase => f.write_str(
                "is protected and the configured secret key passphrase does not unlock it: \
                 check the secret key passphrase file",
            ),
            Self::NotSecret => f.write_str(
                "is a public key without secret key material: export it with \
                 `gpg --export-secret-keys`",
            ),
        }
    }
}

impl CryptoError {
    /// Wraps an rPGP error that no finer classification covers.
    pub(crate) fn pgp(operation: &'static str, source: pgp::errors::Error) -> Self {
        Self::Pgp { operation, source: Box::new(source) }
    }
}
