//! Reading the structure of an encrypted message without any key.

use std::io::{self, BufRead, BufReader, Read};

use pgp::{
    composed::{Esk, Message},
    packet::PublicKeyEncryptedSessionKey,
};

use crate::{
    CryptoError, Recipient,
    decrypt::{check_openpgp_start, parse_error},
    keys::hex_upper,
    stream::{IoErrorSlot, TrackedReader},
};

/// The recipients of an encrypted message and the size of its encrypted data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageInfo {
    /// The key ids of the PKESK packets, 16 upper-case hex digits each. An anonymous
    /// recipient shows as `0000000000000000`.
    pub recipient_key_ids: Vec<String>,
    /// The fingerprints of version 6 PKESK packets, upper-case hex; version 3 packets (the
    /// ones GnuPG 2.2 and this crate write) carry key ids only.
    pub recipient_fingerprints: Vec<String>,
    /// The number of SKESK packets (passphrase-encrypted session keys).
    pub skesk_count: usize,
    /// True when at least one SKESK packet is present.
    pub has_passphrase: bool,
    /// The length of the encrypted data packet body in bytes.
    pub encrypted_data_bytes: u64,
}

impl MessageInfo {
    /// Returns true when the message has a PKESK packet for every one of `recipients`.
    pub fn is_addressed_to(&self, recipients: &[Recipient]) -> bool {
        recipients.iter().all(|recipient| {
            self.recipient_key_ids.iter().any(|key_id| recipient.matches_key_id(key_id))
                || self.recipient_fingerprints.iter().any(|fpr| recipient.matches_key_id(fpr))
        })
    }
}

/// Parses the encrypted message on `reader` without decrypting it: the session key packets,
/// then the framing of the encrypted data packet to its end.
///
/// A host holding only public keys uses this to check that a written ciphertext is a complete
/// OpenPGP message addressed to the configured recipients. It cannot check the integrity of
/// the encrypted data itself: only [`decrypt`](crate::decrypt) can.
///
/// # Errors
///
/// [`CryptoError::NotOpenPgp`], [`CryptoError::NotEncrypted`], [`CryptoError::Corrupt`] when
/// the packet structure is invalid or data follows the message, [`CryptoError::Truncated`],
/// and [`CryptoError::Io`] when `reader` fails.
pub fn inspect<R: Read + Send>(reader: R) -> Result<MessageInfo, CryptoError> {
    let errors = IoErrorSlot::default();
    let input = BufReader::new(TrackedReader::new(reader, errors.clone()));

    let result = inspect_message(input);
    if let Some(io_error) = errors.take() {
        return Err(CryptoError::Io(io_error));
    }
    result
}

fn inspect_message<B: BufRead + std::fmt::Debug + Send>(
    mut input: B,
) -> Result<MessageInfo, CryptoError> {
    check_openpgp_start(&mut input)?;
    let (message, _headers) = Message::from_reader(input).map_err(parse_error)?;
    let Message::Encrypted { esk, mut edata, .. } = message else {
        return Err(CryptoError::NotEncrypted);
    };

    let mut info = MessageInfo::default();
    for packet in &esk {
        match packet {
            Esk::PublicKeyEncryptedSessionKey(pkesk) => {
                info.recipient_key_ids.push(pkesk_key_id(pkesk));
                if let Ok(Some(fingerprint)) = pkesk.fingerprint() {
                    info.recipient_fingerprints.push(format!("{fingerprint:X}"));
                }
            }
            Esk::SymKeyEncryptedSessionKey(_) => info.skesk_count += 1,
        }
    }
    info.has_passphrase = info.skesk_count > 0;

    let body = edata.get_mut();
    info.encrypted_data_bytes =
        io::copy(body, &mut io::sink()).map_err(|error| parse_error(error.into()))?;
    let trailing = body.get_mut().fill_buf().map_err(|error| parse_error(error.into()))?;
    if !trailing.is_empty() {
        return Err(CryptoError::Corrupt {
            detail: "data follows the end of the encrypted message".to_owned(),
            source: None,
        });
    }

    tracing::debug!(
        recipients = info.recipient_key_ids.len(),
        skesk_count = info.skesk_count,
        encrypted_data_bytes = info.encrypted_data_bytes,
        "inspected message"
    );
    Ok(info)
}

/// Returns the recipient key id of a PKESK packet as 16 upper-case hex digits; for a
/// version 6 packet, the fingerprint (or `anonymous` without one).
pub(crate) fn pkesk_key_id(pkesk: &PublicKeyEncryptedSessionKey) -> String {
    if let Ok(key_id) = pkesk.id() {
        return hex_upper(key_id.as_ref());
    }
    match pkesk.fingerprint() {
        Ok(Some(fingerprint)) => format!("{fingerprint:X}"),
        _ => "anonymous".to_owned(),
    }
}
