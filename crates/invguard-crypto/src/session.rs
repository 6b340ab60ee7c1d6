//! Finding the session key of a message, and naming the reason when no key fits.
//!
//! rPGP alone cannot tell a wrong passphrase from damage on many messages, so this module
//! checks each candidate session key itself before decryption starts:
//!
//! - A version 4 SKESK packet with an encrypted session key yields a session key only if the
//!   decrypted algorithm byte and key length are plausible (about 253 in 256 wrong passphrases
//!   fail here).
//! - The first 18 bytes of SEIPDv1 data are a random block plus a repeat of its last two bytes
//!   (the OpenPGP CFB "quick check"). A wrong session key fails the check with a chance of
//!   65,535 in 65,536, and so does any damage to those bytes.
//!
//! Messages from this crate carry two SKESK packets for the one passphrase (see
//! `encrypt::PASSPHRASE_PACKETS`). If both yield the same plausible key, the passphrase is
//! right, and a failed quick check means damage.

use std::io::BufRead;

use pgp::{
    composed::{Edata, Esk, PlainSessionKey, decrypt_session_key_with_password},
    packet::{
        ProtectedDataConfig, PublicKeyEncryptedSessionKey, SymEncryptedProtectedDataConfig,
        SymKeyEncryptedSessionKey,
    },
};

use crate::{CryptoError, DecryptionKeys, Passphrase, decrypt::parse_error};

/// The bytes of encrypted data kept for the quick check: a block of up to 16 bytes plus two.
const PREFIX_BYTES: usize = 18;

/// The outcome of trying one passphrase or secret key on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// The message has no packet this key could open.
    NotApplicable,
    /// The passphrase or key does not belong to the message.
    Wrong,
    /// Either the passphrase is wrong or the start of the data is damaged.
    WrongOrCorrupt,
    /// The passphrase or key is right, and the message is damaged.
    Corrupt,
}

/// The result of the quick check on a candidate session key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuickCheck {
    Pass,
    Fail,
    /// The data is not SEIPDv1, or too short to check.
    Unknown,
}

/// Returns the session key that opens the message, or the error that best explains why none
/// does.
pub(crate) fn find_session_key(
    esks: &[Esk],
    edata: &mut Edata<'_>,
    keys: &DecryptionKeys,
) -> Result<PlainSessionKey, CryptoError> {
    let prefix = encrypted_prefix(edata)?;
    let skesks: Vec<&SymKeyEncryptedSessionKey> = esks
        .iter()
        .filter_map(|esk| match esk {
            Esk::SymKeyEncryptedSessionKey(skesk) => Some(skesk),
            Esk::PublicKeyEncryptedSessionKey(_) => None,
        })
        .collect();
    let pkesks: Vec<&PublicKeyEncryptedSessionKey> = esks
        .iter()
        .filter_map(|esk| match esk {
            Esk::PublicKeyEncryptedSessionKey(pkesk) => Some(pkesk),
            Esk::SymKeyEncryptedSessionKey(_) => None,
        })
        .collect();

    let mut worst = Verdict::NotApplicable;
    for (index, passphrase) in keys.passphrases.iter().enumerate() {
        match try_passphrase(&skesks, passphrase, prefix.as_deref()) {
            Ok(session_key) => {
                tracing::debug!(passphrase_index = index, "passphrase opens the message");
                return Ok(session_key);
            }
            Err(verdict) => worst = worst.max(verdict),
        }
    }
    for secret_key in &keys.secret_keys {
        match try_secret_key(&pkesks, secret_key, prefix.as_deref()) {
            Ok(session_key) => {
                tracing::debug!(key = %secret_key.fingerprint(), "secret key opens the message");
                return Ok(session_key);
            }
            Err(verdict) => worst = worst.max(verdict),
        }
    }

    Err(no_key_error(worst, esks, keys))
}

fn no_key_error(worst: Verdict, esks: &[Esk], keys: &DecryptionKeys) -> CryptoError {
    let tried = keys.passphrases.len();
    match worst {
        Verdict::Corrupt => CryptoError::Corrupt {
            detail: "the session key packets or the start of the encrypted data are damaged"
                .to_owned(),
            source: None,
        },
        Verdict::WrongOrCorrupt => CryptoError::WrongPassphraseOrCorrupt { tried },
        Verdict::Wrong if tried > 0 && has_skesk(esks) => CryptoError::WrongPassphrase { tried },
        Verdict::Wrong | Verdict::NotApplicable => {
            CryptoError::NoMatchingKey { addressed_to: describe_recipients(esks) }
        }
    }
}

fn has_skesk(esks: &[Esk]) -> bool {
    esks.iter().any(|esk| matches!(esk, Esk::SymKeyEncryptedSessionKey(_)))
}

/// Describes the recipients of a message in words, for error messages.
fn describe_recipients(esks: &[Esk]) -> String {
    let key_ids: Vec<String> = esks
        .iter()
        .filter_map(|esk| match esk {
            Esk::PublicKeyEncryptedSessionKey(pkesk) => Some(crate::inspect::pkesk_key_id(pkesk)),
            Esk::SymKeyEncryptedSessionKey(_) => None,
        })
        .collect();
    let keys = match key_ids.len() {
        0 => None,
        1 => Some(format!("key id {}", key_ids[0])),
        _ => Some(format!("key ids {}", key_ids.join(", "))),
    };
    match (keys, has_skesk(esks)) {
        (Some(keys), true) => format!("{keys} and a passphrase"),
        (Some(keys), false) => keys,
        (None, true) => "a passphrase only".to_owned(),
        (None, false) => "no key at all".to_owned(),
    }
}

/// Copies the first bytes of SEIPDv1 encrypted data without consuming them.
fn encrypted_prefix(edata: &mut Edata<'_>) -> Result<Option<Vec<u8>>, CryptoError> {
    let Edata::SymEncryptedProtectedData { reader } = edata else {
        return Ok(None);
    };
    if reader.config() != &ProtectedDataConfig::Seipd(SymEncryptedProtectedDataConfig::V1) {
        return Ok(None);
    }

    let buffered = reader.get_mut().fill_buf().map_err(|error| parse_error(error.into()))?;
    Ok(Some(buffered[..buffered.len().min(PREFIX_BYTES)].to_vec()))
}

fn quick_check(session_key: &PlainSessionKey, prefix: Option<&[u8]>) -> QuickCheck {
    let (PlainSessionKey::V3_4 { key, sym_alg }, Some(prefix)) = (session_key, prefix) else {
        return QuickCheck::Unknown;
    };
    let block = sym_alg.block_size();
    if block < 2 || prefix.len() < block + 2 {
        return QuickCheck::Unknown;
    }

    let mut decrypted = prefix[..block + 2].to_vec();
    let zero_iv = vec![0; block];
    if sym_alg.decrypt_with_iv_regular(key.as_ref(), &zero_iv, &mut decrypted).is_err() {
        return QuickCheck::Fail;
    }
    if decrypted[block - 2..block] == decrypted[block..block + 2] {
        QuickCheck::Pass
    } else {
        QuickCheck::Fail
    }
}

fn try_passphrase(
    skesks: &[&SymKeyEncryptedSessionKey],
    passphrase: &Passphrase,
    prefix: Option<&[u8]>,
) -> Result<PlainSessionKey, Verdict> {
    if skesks.is_empty() {
        return Err(Verdict::NotApplicable);
    }

    let password = passphrase.to_password();
    // Each packet stretches the passphrase at the maximum S2K count (about 40 ms of SHA-256
    // with SHA-NI), so the packets are tried in parallel.
    let candidates: Vec<Option<PlainSessionKey>> = std::thread::scope(|scope| {
        let tries: Vec<_> = skesks
            .iter()
            .map(|skesk| scope.spawn(|| decrypt_session_key_with_password(skesk, &password).ok()))
            .collect();
        tries.into_iter().map(crate::join_or_resume).collect()
    });

    let opening =
        candidates.iter().flatten().find(|key| quick_check(key, prefix) != QuickCheck::Fail);
    match opening {
        Some(session_key) if packets_agree(&candidates, session_key) => Ok(session_key.clone()),
        Some(_) => Err(Verdict::Corrupt),
        None => Err(judge_passphrase(skesks, &candidates)),
    }
}

/// Returns true when every SKESK packet yields `session_key` for the passphrase that opened
/// the message.
///
/// Messages from this crate carry the passphrase twice, so a damaged copy shows up here even
/// though the other copy opens the message. Rejecting it keeps verification strict: a file
/// that decrypts here also decrypts with `gpg -d`, whichever copy gpg tries first.
// NOTE: a message with SKESK packets for two different passphrases (which neither this crate
// nor GnuPG 2.2 writes) is reported as damaged.
fn packets_agree(candidates: &[Option<PlainSessionKey>], session_key: &PlainSessionKey) -> bool {
    candidates.iter().all(|candidate| candidate.as_ref() == Some(session_key))
}

fn has_encrypted_key(skesk: &SymKeyEncryptedSessionKey) -> bool {
    skesk.encrypted_key().is_some_and(|key| !key.is_empty())
}

/// Judges a passphrase whose candidate keys all failed the quick check.
fn judge_passphrase(
    skesks: &[&SymKeyEncryptedSessionKey],
    candidates: &[Option<PlainSessionKey>],
) -> Verdict {
    let with_encrypted_key = skesks.iter().filter(|skesk| has_encrypted_key(skesk)).count();
    let all_plausible = candidates.iter().all(Option::is_some);

    // An SKESK whose session key is encrypted rejects most wrong passphrases by itself.
    if !all_plausible && with_encrypted_key == skesks.len() {
        return Verdict::Wrong;
    }
    if with_encrypted_key >= 2 && with_encrypted_key == skesks.len() {
        let first = candidates[0].as_ref();
        let agree = candidates.iter().all(|candidate| candidate.as_ref() == first);
        return if agree { Verdict::Corrupt } else { Verdict::Wrong };
    }
    Verdict::WrongOrCorrupt
}

fn try_secret_key(
    pkesks: &[&PublicKeyEncryptedSessionKey],
    secret_key: &crate::SecretKey,
    prefix: Option<&[u8]>,
) -> Result<PlainSessionKey, Verdict> {
    let mut verdict = Verdict::NotApplicable;
    for pkesk in pkesks {
        let Some(result) = secret_key.decrypt_session_key(pkesk) else {
            continue;
        };
        match result {
            Some(session_key) if quick_check(&session_key, prefix) != QuickCheck::Fail => {
                return Ok(session_key);
            }
            // The key is unlocked and matches the packet, so a failure means damage.
            _ => verdict = Verdict::Corrupt,
        }
    }
    Err(verdict)
}
