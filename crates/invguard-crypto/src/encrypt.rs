//! Streaming encryption into an OpenPGP message that stock GnuPG 2.2 decrypts.

use std::io::{Read, Write};

use pgp::{
    composed::{Esk, MessageBuilder},
    crypto::{hash::HashAlgorithm, sym::SymmetricKeyAlgorithm},
    packet::{PublicKeyEncryptedSessionKey, SymKeyEncryptedSessionKey},
    ser::Serialize,
    types::StringToKey,
};
use rand::{CryptoRng, Rng};

use crate::{
    CryptoError, EncryptionKeys,
    recipient::EncryptionKey,
    stream::{IoErrorSlot, TrackedReader, TrackedWriter},
};

const SYMMETRIC_ALGORITHM: SymmetricKeyAlgorithm = SymmetricKeyAlgorithm::AES256;

/// The coded S2K iteration count 255: 65,011,712 bytes hashed, the maximum OpenPGP allows.
///
/// GnuPG calibrates its own count to about 100 ms of hashing, which on current hardware
/// also reaches this maximum.
const STRONG_S2K_COUNT: u8 = 255;

/// The coded S2K iteration count 0: 1,024 bytes hashed.
const WEAK_S2K_COUNT: u8 = 0;

/// How many symmetric-key encrypted session key packets carry the passphrase.
///
/// Two packets with different salts must both yield the same session key. A wrong passphrase
/// passes the plausibility check of one packet with a chance of about 3 in 256, of both with
/// about 1 in 7,000, and then still yields two different keys. So `decrypt` reports a wrong
/// passphrase as [`CryptoError::WrongPassphrase`] instead of the ambiguous
/// [`CryptoError::WrongPassphraseOrCorrupt`], and reports a damaged start of the encrypted data
/// as [`CryptoError::Corrupt`]. GnuPG stops at the first packet that opens the message.
pub(crate) const PASSPHRASE_PACKETS: usize = 2;

/// Options of [`encrypt_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptOptions {
    /// The iteration count of the passphrase stretching (S2K).
    pub s2k_strength: S2kStrength,
}

impl EncryptOptions {
    /// Options with a minimal passphrase stretching, for tests that encrypt many messages.
    ///
    /// A message written with these options falls to a passphrase search quickly: never use
    /// them for data worth protecting.
    pub fn insecure_for_tests() -> Self {
        Self { s2k_strength: S2kStrength::InsecureForTests }
    }
}

/// The iteration count of the iterated and salted SHA-256 S2K that stretches the passphrase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum S2kStrength {
    /// 65,011,712 bytes hashed per passphrase packet, the OpenPGP maximum (about 50 ms).
    #[default]
    Maximum,
    /// 1,024 bytes hashed: for tests only.
    InsecureForTests,
}

impl S2kStrength {
    fn string_to_key<R: Rng + CryptoRng>(self, rng: R) -> StringToKey {
        let count = match self {
            Self::Maximum => STRONG_S2K_COUNT,
            Self::InsecureForTests => WEAK_S2K_COUNT,
        };
        StringToKey::new_iterated(rng, HashAlgorithm::Sha256, count)
    }
}

/// Streams `reader` into an OpenPGP message on `writer`, readable with a passphrase and/or
/// the secret key of each recipient.
///
/// The message uses a SEIPDv1 packet with AES-256, iterated and salted SHA-256 S2K at the
/// maximum count, and no OpenPGP compression: compress before encrypting. Memory stays
/// bounded regardless of the input size. Returns the number of plaintext bytes read.
///
/// # Errors
///
/// [`CryptoError::NoEncryptionKeys`] without passphrase and recipients,
/// [`CryptoError::EmptyPassphrase`], [`CryptoError::Io`] when `reader` or `writer` fails,
/// [`CryptoError::Pgp`] when rPGP fails otherwise.
pub fn encrypt<R: Read, W: Write>(
    reader: R,
    writer: W,
    keys: &EncryptionKeys,
) -> Result<u64, CryptoError> {
    encrypt_with(reader, writer, keys, &EncryptOptions::default())
}

/// Does what [`encrypt`] does, with explicit [`EncryptOptions`].
///
/// # Errors
///
/// As [`encrypt`].
pub fn encrypt_with<R: Read, W: Write>(
    reader: R,
    writer: W,
    keys: &EncryptionKeys,
    options: &EncryptOptions,
) -> Result<u64, CryptoError> {
    check_keys(keys)?;

    let errors = IoErrorSlot::default();
    let reader = TrackedReader::new(reader, errors.clone());
    let plaintext_bytes = reader.counter();
    let mut writer = TrackedWriter::new(writer, errors.clone());

    let result = write_message(reader, &mut writer, keys, options)
        .and_then(|()| writer.flush().map_err(CryptoError::Io));
    if let Some(io_error) = errors.take() {
        return Err(CryptoError::Io(io_error));
    }
    result?;

    let plaintext_bytes = plaintext_bytes.load(std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(
        plaintext_bytes,
        ciphertext_bytes = writer.bytes(),
        recipients = keys.recipients.len(),
        passphrase = keys.passphrase.is_some(),
        "encrypted message"
    );
    Ok(plaintext_bytes)
}

fn check_keys(keys: &EncryptionKeys) -> Result<(), CryptoError> {
    if keys.passphrase.is_none() && keys.recipients.is_empty() {
        return Err(CryptoError::NoEncryptionKeys);
    }
    if keys.passphrase.as_ref().is_some_and(|passphrase| passphrase.is_empty()) {
        return Err(CryptoError::EmptyPassphrase);
    }
    Ok(())
}

/// Writes the session key packets, PKESKs first and SKESKs after them as `gpg -c -e` does,
/// then lets rPGP write the encrypted data.
///
/// rPGP's builder writes SKESKs first. GnuPG 2.2 then requests the passphrase before it
/// looks at the PKESKs and fails in batch mode even when it holds the secret key, so this
/// function writes the packets itself and hands the builder none.
fn write_message<R: Read, W: Write>(
    reader: R,
    mut writer: W,
    keys: &EncryptionKeys,
    options: &EncryptOptions,
) -> Result<(), CryptoError> {
    let mut rng = rand::thread_rng();
    let builder = MessageBuilder::from_reader("", reader).seipd_v1(&mut rng, SYMMETRIC_ALGORITHM);
    let session_key = builder.session_key().clone();

    for recipient in &keys.recipients {
        let packet = match recipient.encryption_key() {
            EncryptionKey::Primary(key) => PublicKeyEncryptedSessionKey::from_session_key_v3(
                &mut rng,
                &session_key,
                SYMMETRIC_ALGORITHM,
                key,
            ),
            EncryptionKey::Subkey(key) => PublicKeyEncryptedSessionKey::from_session_key_v3(
                &mut rng,
                &session_key,
                SYMMETRIC_ALGORITHM,
                key,
            ),
        }
        .map_err(|error| CryptoError::pgp("public-key encryption", error))?;
        write_esk(Esk::PublicKeyEncryptedSessionKey(packet), &mut writer)?;
    }

    if let Some(passphrase) = &keys.passphrase {
        let password = passphrase.to_password();
        let specifiers: Vec<StringToKey> =
            (0..PASSPHRASE_PACKETS).map(|_| options.s2k_strength.string_to_key(&mut rng)).collect();
        // Each packet stretches the passphrase at the maximum S2K count (about 40 ms of
        // SHA-256 with SHA-NI), so the packets are made in parallel.
        let packets: Vec<_> = std::thread::scope(|scope| {
            let makers: Vec<_> = specifiers
                .into_iter()
                .map(|s2k| {
                    let (password, session_key) = (&password, &session_key);
                    scope.spawn(move || {
                        SymKeyEncryptedSessionKey::encrypt_v4(
                            password,
                            session_key,
                            s2k,
                            SYMMETRIC_ALGORITHM,
                        )
                    })
                })
                .collect();
            makers.into_iter().map(crate::join_or_resume).collect()
        });
        for packet in packets {
            let packet =
                packet.map_err(|error| CryptoError::pgp("passphrase encryption", error))?;
            write_esk(Esk::SymKeyEncryptedSessionKey(packet), &mut writer)?;
        }
    }

    builder.to_writer(&mut rng, writer).map_err(|error| CryptoError::pgp("encryption", error))
}

fn write_esk<W: Write>(esk: Esk, mut writer: W) -> Result<(), CryptoError> {
    esk.to_writer(&mut writer).map_err(|error| CryptoError::pgp("encryption", error))
}
