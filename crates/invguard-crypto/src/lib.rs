//! Streaming OpenPGP encryption and decryption of backups, readable by stock GnuPG 2.2.
//!
//! [`encrypt`] turns a stream of (already compressed) data into an OpenPGP message for a
//! passphrase, for public keys ([`Recipient`]), or for both; [`decrypt`] reverses it with any
//! of several passphrases and secret keys ([`SecretKey`]), so keys can rotate. Both stream
//! with bounded memory regardless of the data size. [`inspect`] reads who a message is for
//! without any key.
//!
//! The messages use a SEIPDv1 packet, AES-256 and iterated and salted SHA-256 S2K at the
//! maximum count, without OpenPGP compression. GnuPG 2.2 reads them, so an emergency restore
//! needs no InvGuard code: `gpg -d FILE | zstd -d > restored.db`. The crate avoids Argon2 S2K
//! and SEIPDv2 because GnuPG 2.2 cannot read them. The passphrase is stored in two SKESK
//! packets, which lets [`decrypt`] tell a wrong passphrase from damaged data.
//!
//! # Authentication
//!
//! [`decrypt`] writes plaintext before it reaches the integrity check at the end of the
//! message. Output is trustworthy only once `decrypt` returned `Ok`: decrypt into a temporary
//! file and delete it on error, as [`decrypt_to_file`] does.
//!
//! # What this crate never does
//!
//! - It never logs a passphrase or key material and never puts one into an error or a `Debug`
//!   output: [`Passphrase`] prints `<redacted>` and [`SecretKey`] prints its fingerprint only.
//! - It starts no process and does no network I/O.
//! - It does not set up logging. rPGP itself logs through the `log` crate (targets `pgp::*`)
//!   and prints secret key packets, including private key bytes, at debug level while parsing
//!   them. An application that loads secret keys must cap the `pgp` target at `warn`, as the
//!   InvGuard binaries do.
//!
//! # Example
//!
//! ```
//! use invguard_crypto::{DecryptionKeys, EncryptionKeys, Passphrase, decrypt, encrypt};
//!
//! let passphrase = Passphrase::new("correct horse battery staple".to_owned());
//! let plaintext = b"compressed database bytes";
//!
//! let mut ciphertext = Vec::new();
//! let keys = EncryptionKeys::passphrase(passphrase.clone());
//! let read = encrypt(&plaintext[..], &mut ciphertext, &keys)?;
//! assert_eq!(read, plaintext.len() as u64);
//!
//! let mut restored = Vec::new();
//! let written = decrypt(&ciphertext[..], &mut restored, &DecryptionKeys::passphrase(passphrase))?;
//! assert_eq!(written, read);
//! assert_eq!(restored, plaintext);
//! # Ok::<(), invguard_crypto::CryptoError>(())
//! ```
#![deny(missing_docs)]

mod decrypt;
mod encrypt;
mod error;
mod inspect;
mod keys;
mod passphrase;
mod recipient;
mod secret_key;
mod session;
mod stream;

pub use crate::{
    decrypt::{decrypt, decrypt_to_file},
    encrypt::{EncryptOptions, S2kStrength, encrypt, encrypt_with},
    error::{CryptoError, KeyProblem},
    inspect::{MessageInfo, inspect},
    passphrase::Passphrase,
    recipient::{EXPIRY_WARNING_DAYS, Recipient},
    secret_key::SecretKey,
};

/// The keys a message is encrypted to: a passphrase, public keys, or both.
#[derive(Debug, Clone, Default)]
pub struct EncryptionKeys {
    /// Anyone with this passphrase can decrypt.
    pub passphrase: Option<Passphrase>,
    /// The holder of each recipient's secret key can decrypt.
    pub recipients: Vec<Recipient>,
}

impl EncryptionKeys {
    /// Keys for passphrase-only encryption.
    pub fn passphrase(passphrase: Passphrase) -> Self {
        Self { passphrase: Some(passphrase), recipients: Vec::new() }
    }

    /// Keys for public-key-only encryption.
    pub fn recipients(recipients: Vec<Recipient>) -> Self {
        Self { passphrase: None, recipients }
    }
}

/// Everything `decrypt` may try: several passphrases and secret keys allow key rotation.
#[derive(Debug, Clone, Default)]
pub struct DecryptionKeys {
    /// Passphrases, tried in order.
    pub passphrases: Vec<Passphrase>,
    /// Secret keys, tried in order after the passphrases.
    pub secret_keys: Vec<SecretKey>,
}

impl DecryptionKeys {
    /// Keys holding one passphrase.
    pub fn passphrase(passphrase: Passphrase) -> Self {
        Self { passphrases: vec![passphrase], secret_keys: Vec::new() }
    }

    /// Keys holding secret keys only.
    pub fn secret_keys(secret_keys: Vec<SecretKey>) -> Self {
        Self { passphrases: Vec::new(), secret_keys }
    }
}

/// Returns the result of a scoped thread, passing on its panic.
fn join_or_resume<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
