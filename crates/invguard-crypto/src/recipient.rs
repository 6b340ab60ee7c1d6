//! Public keys that backups are encrypted to ("write-only" hosts hold no secret key).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pgp::{
    composed::{Deserializable, SignedPublicKey},
    packet::{PublicKey, PublicSubkey},
    types::KeyDetails,
};

use crate::{
    CryptoError, KeyProblem,
    keys::{
        KeyLabel, PrimaryStatus, SubkeyStatus, fingerprint_hex, format_utc, key_file_parse,
        key_files, key_id_hex, open_key_file, validity_problem,
    },
};

/// How long before a recipient key expires [`Recipient::expiry_warning`] starts warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A public key that messages are encrypted to, with the subkey chosen for encryption.
#[derive(Debug, Clone)]
pub struct Recipient {
    label: KeyLabel,
    path: PathBuf,
    encryption_key: EncryptionKey,
    expires_at: Option<DateTime<Utc>>,
}

/// The key that encrypts the session key: an encryption subkey, or the primary key when it
/// carries the encryption flag and no subkey does.
#[derive(Debug, Clone)]
pub(crate) enum EncryptionKey {
    Primary(PublicKey),
    Subkey(PublicSubkey),
}

impl EncryptionKey {
    fn key_id(&self) -> String {
        match self {
            Self::Primary(key) => key_id_hex(key),
            Self::Subkey(key) => key_id_hex(key),
        }
    }

    fn fingerprint(&self) -> String {
        match self {
            Self::Primary(key) => fingerprint_hex(key),
            Self::Subkey(key) => fingerprint_hex(key),
        }
    }
}

impl Recipient {
    /// Loads every public key in `path`, a file written by `gpg --export` (binary or
    /// `--armor`) or a directory of such files, and checks each key is usable now.
    ///
    /// For each key, the newest valid subkey with an encryption key flag encrypts. The primary
    /// key encrypts only when it has the encryption flag and no subkey does.
    ///
    /// # Errors
    ///
    /// [`CryptoError::KeyFile`] when a file cannot be read or parsed, or contains no key;
    /// [`CryptoError::Key`] naming the key (fingerprint, user id, file) when a key is
    /// revoked, expired, or has no usable encryption subkey.
    pub fn load(path: &Path) -> Result<Vec<Recipient>, CryptoError> {
        Self::load_at(path, Utc::now())
    }

    /// Does what [`Recipient::load`] does, judging expiration at `now`.
    ///
    /// # Errors
    ///
    /// As [`Recipient::load`].
    pub fn load_at(path: &Path, now: DateTime<Utc>) -> Result<Vec<Recipient>, CryptoError> {
        let mut recipients = Vec::new();
        for file in key_files(path)? {
            let before = recipients.len();
            let (keys, _headers) = SignedPublicKey::from_reader_many(open_key_file(&file)?)
                .map_err(|error| key_file_parse(&file, error))?;
            for key in keys {
                let key = key.map_err(|error| key_file_parse(&file, error))?;
                recipients.push(Self::from_key(&key, &file, now)?);
            }
            if recipients.len() == before {
                return Err(CryptoError::KeyFile {
                    path: file,
                    detail: "the file contains no public key".to_owned(),
                    source: None,
                });
            }
        }
        Ok(recipients)
    }

    fn from_key(
        key: &SignedPublicKey,
        path: &Path,
        now: DateTime<Utc>,
    ) -> Result<Self, CryptoError> {
        let label = KeyLabel::new(&key.primary_key, &key.details);
        let primary = PrimaryStatus::new(&key.primary_key, &key.details);
        if let Some(problem) = validity_problem(primary.revoked, primary.expires_at, now) {
            return Err(label.error(path, problem));
        }

        let (encryption_key, subkey_expires_at) = choose_encryption_key(key, &primary, now)
            .map_err(|problem| label.error(path, problem))?;
        let expires_at = match (primary.expires_at, subkey_expires_at) {
            (Some(primary), Some(subkey)) => Some(primary.min(subkey)),
            (primary, subkey) => primary.or(subkey),
        };

        tracing::debug!(
            key = %label,
            path = %path.display(),
            encryption_key = %encryption_key.fingerprint(),
            "loaded recipient key"
        );
        Ok(Self { label, path: path.to_owned(), encryption_key, expires_at })
    }

    /// Returns the fingerprint of the primary key, upper-case hex without spaces.
    pub fn fingerprint(&self) -> String {
        self.label.fingerprint.clone()
    }

    /// Returns the primary user id, for example `Backup <backup@example.com>`.
    pub fn user_id(&self) -> &str {
        &self.label.user_id
    }

    /// Returns the key file this key was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the fingerprint of the key that encrypts the session key, upper-case hex.
    pub fn encryption_fingerprint(&self) -> String {
        self.encryption_key.fingerprint()
    }

    /// Returns the 64-bit key id of the key that encrypts the session key, as 16 upper-case
    /// hex digits. Messages name their recipients by this id.
    pub fn encryption_key_id(&self) -> String {
        self.encryption_key.key_id()
    }

    /// Returns when the key stops being usable: the earlier of the primary key's and the chosen
    /// subkey's expiration. `None` when neither expires.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Returns a warning when the key expires within [`EXPIRY_WARNING_DAYS`] days of `now`
    /// (or has expired by then). Callers show it at every run.
    pub fn expiry_warning(&self, now: DateTime<Utc>) -> Option<String> {
        let expires_at = self.expires_at?;
        let remaining = expires_at - now;
        if remaining > chrono::Duration::days(EXPIRY_WARNING_DAYS) {
            return None;
        }

        let when = if remaining <= chrono::Duration::zero() {
            format!("expired at {}", format_utc(expires_at))
        } else {
            format!("expires at {} (in {} days)", format_utc(expires_at), remaining.num_days())
        };
        Some(format!(
            "recipient key {} in {} {when}: extend it with `gpg --quick-set-expire {} 1y` \
             (and the subkey with `gpg --quick-set-expire {} 1y '*'`), then export it again",
            self.label,
            self.path.display(),
            self.label.fingerprint,
            self.label.fingerprint,
        ))
    }

    /// Returns true when `key_id` (hex, any case, 16 digits for a key id or 40 for a
    /// fingerprint) names the encryption key of this recipient.
    pub fn matches_key_id(&self, key_id: &str) -> bool {
        key_id.eq_ignore_ascii_case(&self.encryption_key_id())
            || key_id.eq_ignore_ascii_case(&self.encryption_fingerprint())
    }

    pub(crate) fn encryption_key(&self) -> &EncryptionKey {
        &self.encryption_key
    }
}

/// Chooses the newest usable encryption subkey, or the primary key when no subkey carries
/// the encryption flag. Returns the key and the subkey's own expiration.
fn choose_encryption_key(
    key: &SignedPublicKey,
    primary: &PrimaryStatus<'_>,
    now: DateTime<Utc>,
) -> Result<(EncryptionKey, Option<DateTime<Utc>>), KeyProblem> {
    let mut newest_problem: Option<KeyProblem> = None;
    let mut usable: Option<(&PublicSubkey, Option<DateTime<Utc>>)> = None;

    for subkey in &key.public_subkeys {
        let status = SubkeyStatus::new(&key.primary_key, subkey);
        if !status.can_encrypt {
            continue;
        }
        match validity_problem(status.revoked, status.expires_at, now) {
            Some(problem) => newest_problem = Some(problem),
            None => {
                let newer =
                    usable.is_none_or(|(best, _)| subkey.key.created_at() >= best.created_at());
                if newer {
                    usable = Some((&subkey.key, status.expires_at));
                }
            }
        }
    }

    match (usable, newest_problem) {
        (Some((subkey, expires_at)), _) => Ok((EncryptionKey::Subkey(subkey.clone()), expires_at)),
        (None, Some(problem)) => Err(problem),
        (None, None) if primary.can_encrypt() => {
            Ok((EncryptionKey::Primary(key.primary_key.clone()), None))
        }
        (None, None) => Err(KeyProblem::NoEncryptionSubkey),
    }
}
