//! Reading key files and judging the validity of the keys in them: self-signatures, key flags,
//! expiration and revocation.
//!
//! rPGP 0.21 parses keys but has no helper that picks the encryption subkey or checks whether
//! a key is current, so this module does it from the signatures.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use pgp::{
    composed::{SignedKeyDetails, SignedPublicSubKey},
    packet::{PublicKey, Signature, SignatureType},
    types::{KeyDetails, Tag, Timestamp},
};

use crate::{CryptoError, KeyProblem};

/// Lists the key files at `path`: the file itself, or every regular file in the directory
/// whose name does not start with a dot, sorted by name.
pub(crate) fn key_files(path: &Path) -> Result<Vec<PathBuf>, CryptoError> {
    let metadata = fs_err::metadata(path).map_err(|error| key_file_io(path, error))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_owned()]);
    }

    let mut files = Vec::new();
    for entry in fs_err::read_dir(path).map_err(|error| key_file_io(path, error))? {
        let entry = entry.map_err(|error| key_file_io(path, error))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let file_type = entry.file_type().map_err(|error| key_file_io(path, error))?;
        if !hidden && file_type.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();

    if files.is_empty() {
        return Err(CryptoError::KeyFile {
            path: path.to_owned(),
            detail: "the directory contains no key files; put the keys exported with \
                     `gpg --export` there"
                .to_owned(),
            source: None,
        });
    }
    Ok(files)
}

/// Opens a key file for parsing.
pub(crate) fn open_key_file(path: &Path) -> Result<std::io::BufReader<fs_err::File>, CryptoError> {
    let file = fs_err::File::open(path).map_err(|error| key_file_io(path, error))?;
    Ok(std::io::BufReader::new(file))
}

pub(crate) fn key_file_io(path: &Path, error: std::io::Error) -> CryptoError {
    CryptoError::KeyFile {
        path: path.to_owned(),
        detail: "reading the file failed".to_owned(),
        source: Some(Box::new(error)),
    }
}

pub(crate) fn key_file_parse(path: &Path, error: pgp::errors::Error) -> CryptoError {
    CryptoError::KeyFile {
        path: path.to_owned(),
        detail: "the file is not an OpenPGP key as written by `gpg --export` or \
                 `gpg --export-secret-keys`"
            .to_owned(),
        source: Some(Box::new(error)),
    }
}

/// Formats a fingerprint as upper-case hex without spaces, as `gpg --with-colons` prints it.
pub(crate) fn fingerprint_hex(key: &impl KeyDetails) -> String {
    format!("{:X}", key.fingerprint())
}

/// Formats the 64-bit key id as upper-case hex, as PKESK packets carry it.
pub(crate) fn key_id_hex(key: &impl KeyDetails) -> String {
    hex_upper(key.legacy_key_id().as_ref())
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

pub(crate) fn timestamp_to_utc(timestamp: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(timestamp.as_secs()), 0).unwrap_or(DateTime::UNIX_EPOCH)
}

pub(crate) fn format_utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The identity of a primary key as error messages and logs name it.
#[derive(Debug, Clone)]
pub(crate) struct KeyLabel {
    pub(crate) fingerprint: String,
    pub(crate) user_id: String,
}

impl KeyLabel {
    pub(crate) fn new(primary: &PublicKey, details: &SignedKeyDetails) -> Self {
        let user = details.users.iter().find(|user| user.is_primary()).or(details.users.first());
        let user_id = user
            .map(|user| String::from_utf8_lossy(user.id.id()).into_owned())
            .unwrap_or_else(|| "(no user id)".to_owned());
        Self { fingerprint: fingerprint_hex(primary), user_id }
    }

    pub(crate) fn error(&self, path: &Path, problem: KeyProblem) -> CryptoError {
        CryptoError::Key { path: path.to_owned(), key: self.to_string(), problem }
    }
}

impl std::fmt::Display for KeyLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.fingerprint, self.user_id)
    }
}

/// What the self-signatures say about a primary key.
#[derive(Debug)]
pub(crate) struct PrimaryStatus<'a> {
    /// The newest valid self-signature, preferring one on the primary user id.
    pub(crate) self_signature: Option<&'a Signature>,
    pub(crate) revoked: bool,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

impl<'a> PrimaryStatus<'a> {
    pub(crate) fn new(primary: &PublicKey, details: &'a SignedKeyDetails) -> Self {
        let self_signature = newest_self_signature(primary, details);
        let revoked = details.revocation_signatures.iter().any(|signature| {
            signature.typ() == Some(SignatureType::KeyRevocation)
                && signature.verify_key(primary).is_ok()
        });
        let expires_at = self_signature.and_then(|signature| expiration(primary, signature));
        Self { self_signature, revoked, expires_at }
    }

    /// Returns true when the self-signature gives the primary key an encryption flag.
    pub(crate) fn can_encrypt(&self) -> bool {
        self.self_signature.is_some_and(has_encryption_flag)
    }
}

fn newest_self_signature<'a>(
    primary: &PublicKey,
    details: &'a SignedKeyDetails,
) -> Option<&'a Signature> {
    let mut best: Option<(bool, Timestamp, &Signature)> = None;
    let mut consider = |is_primary: bool, signature: &'a Signature| {
        let created = signature.created().unwrap_or(Timestamp::from_secs(0));
        let rank = (is_primary, created);
        if best.is_none_or(|(primary_best, created_best, _)| rank > (primary_best, created_best)) {
            best = Some((is_primary, created, signature));
        }
    };

    for user in &details.users {
        let is_primary = user.is_primary();
        for signature in &user.signatures {
            let valid = signature.is_certification()
                && signature.verify_certification(primary, Tag::UserId, &user.id).is_ok();
            if valid {
                consider(is_primary, signature);
            }
        }
    }
    for signature in &details.direct_signatures {
        if signature.typ() == Some(SignatureType::Key) && signature.verify_key(primary).is_ok() {
            consider(false, signature);
        }
    }
    best.map(|(_, _, signature)| signature)
}

/// Returns the expiration time the `signature` sets for `key`, if any.
fn expiration(key: &impl KeyDetails, signature: &Signature) -> Option<DateTime<Utc>> {
    let lifetime = signature.key_expiration_time()?;
    if lifetime.as_secs() == 0 {
        return None;
    }
    let created = timestamp_to_utc(key.created_at());
    Some(created + chrono::Duration::seconds(i64::from(lifetime.as_secs())))
}

fn has_encryption_flag(signature: &Signature) -> bool {
    let flags = signature.key_flags();
    flags.encrypt_comms() || flags.encrypt_storage()
}

/// What the binding signatures say about a subkey.
#[derive(Debug)]
pub(crate) struct SubkeyStatus {
    pub(crate) can_encrypt: bool,
    pub(crate) revoked: bool,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

impl SubkeyStatus {
    /// Judges `subkey` by its newest binding signature that `primary` verifies. A subkey
    /// without a valid binding signature cannot encrypt.
    pub(crate) fn new(primary: &PublicKey, subkey: &SignedPublicSubKey) -> Self {
        let verified = |typ: SignatureType| {
            subkey.signatures.iter().filter(move |signature| {
                signature.typ() == Some(typ)
                    && signature.verify_subkey_binding(primary, &subkey.key).is_ok()
            })
        };
        let binding = verified(SignatureType::SubkeyBinding)
            .max_by_key(|signature| signature.created().unwrap_or(Timestamp::from_secs(0)));

        Self {
            can_encrypt: binding.is_some_and(has_encryption_flag),
            revoked: verified(SignatureType::SubkeyRevocation).next().is_some(),
            expires_at: binding.and_then(|signature| expiration(&subkey.key, signature)),
        }
    }
}

/// Returns the problem that makes a key with these statuses unusable at `now`, if any.
pub(crate) fn validity_problem(
    revoked: bool,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<KeyProblem> {
    if revoked {
        return Some(KeyProblem::Revoked);
    }
    match expires_at {
        Some(at) if at <= now => Some(KeyProblem::Expired { at: format_utc(at) }),
        _ => None,
    }
}
