//! Secret keys that open messages encrypted to their public keys.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use pgp::{
    composed::{Deserializable, PlainSessionKey, SignedSecretKey},
    packet::PublicKeyEncryptedSessionKey,
    types::{DecryptionKey, EskType, KeyDetails, Password, PkeskBytes, PkeskVersion},
};

use crate::{
    CryptoError, KeyProblem, Passphrase,
    keys::{
        KeyLabel, PrimaryStatus, SubkeyStatus, key_file_parse, key_files, key_id_hex, open_key_file,
    },
};

/// A secret key from `gpg --export-secret-keys`, unlocked for decryption.
///
/// Expired and revoked keys still load: they must open the backups written while they were
/// current. `Debug` prints the fingerprint, user id and file only.
#[derive(Clone)]
pub struct SecretKey {
    key: SignedSecretKey,
    passphrase: Option<Passphrase>,
    label: KeyLabel,
    path: PathBuf,
}

impl SecretKey {
    /// Loads every secret key in `path` (a file written by `gpg --export-secret-keys`, binary
    /// or `--armor`, or a directory of such files) and checks `passphrase` unlocks each
    /// protected key.
    ///
    /// # Errors
    ///
    /// [`CryptoError::KeyFile`] when a file cannot be read or parsed, or contains no secret key;
    /// [`CryptoError::Key`] naming the key when the passphrase is missing or wrong, or the
    /// key has no encryption-capable key.
    pub fn load(
        path: &Path,
        passphrase: Option<&Passphrase>,
    ) -> Result<Vec<SecretKey>, CryptoError> {
        let mut secret_keys = Vec::new();
        for file in key_files(path)? {
            let before = secret_keys.len();
            let (keys, _headers) = SignedSecretKey::from_reader_many(open_key_file(&file)?)
                .map_err(|error| key_file_parse(&file, error))?;
            for key in keys {
                let key = key.map_err(|error| key_file_parse(&file, error))?;
                secret_keys.push(Self::from_key(key, &file, passphrase)?);
            }
            if secret_keys.len() == before {
                return Err(CryptoError::KeyFile {
                    path: file,
                    detail: "the file contains no secret key; export it with \
                             `gpg --export-secret-keys`"
                        .to_owned(),
                    source: None,
                });
            }
        }
        Ok(secret_keys)
    }

    fn from_key(
        key: SignedSecretKey,
        path: &Path,
        passphrase: Option<&Passphrase>,
    ) -> Result<Self, CryptoError> {
        let primary_public = key.primary_key.public_key();
        let label = KeyLabel::new(primary_public, &key.details);

        let primary_can_encrypt = PrimaryStatus::new(primary_public, &key.details).can_encrypt();
        let subkey_can_encrypt = key.secret_subkeys.iter().any(|subkey| {
            SubkeyStatus::new(primary_public, &subkey.signed_public_key()).can_encrypt
        });
        if !primary_can_encrypt && !subkey_can_encrypt {
            return Err(label.error(path, KeyProblem::NoEncryptionSubkey));
        }

        let secret_key =
            Self { key, passphrase: passphrase.cloned(), label, path: path.to_owned() };
        secret_key.check_unlock()?;

        tracing::debug!(key = %secret_key.label, path = %path.display(), "loaded secret key");
        Ok(secret_key)
    }

    /// Checks the passphrase unlocks the primary key and every subkey that is protected.
    fn check_unlock(&self) -> Result<(), CryptoError> {
        let password = self.password();
        let mut protected = false;
        let mut unlocked = true;

        if self.key.primary_key.secret_params().is_encrypted() {
            protected = true;
            unlocked &= matches!(self.key.primary_key.unlock(&password, |_, _| Ok(())), Ok(Ok(())));
        }
        for subkey in &self.key.secret_subkeys {
            if subkey.key.secret_params().is_encrypted() {
                protected = true;
                unlocked &= matches!(subkey.key.unlock(&password, |_, _| Ok(())), Ok(Ok(())));
            }
        }

        match (protected, unlocked, &self.passphrase) {
            (false, _, _) | (true, true, Some(_)) => Ok(()),
            (true, _, None) => Err(self.label.error(&self.path, KeyProblem::PassphraseRequired)),
            (true, false, Some(_)) => {
                Err(self.label.error(&self.path, KeyProblem::WrongKeyPassphrase))
            }
        }
    }

    fn password(&self) -> Password {
        self.passphrase.as_ref().map(Passphrase::to_password).unwrap_or_else(Password::empty)
    }

    /// Returns the fingerprint of the primary key, upper-case hex without spaces.
    pub fn fingerprint(&self) -> String {
        self.label.fingerprint.clone()
    }

    /// Returns the primary user id.
    pub fn user_id(&self) -> &str {
        &self.label.user_id
    }

    /// Returns the key file this key was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the 64-bit key ids of the primary key and every subkey, as 16 upper-case hex digits.
    pub fn key_ids(&self) -> Vec<String> {
        let mut key_ids = vec![key_id_hex(&self.key.primary_key)];
        key_ids.extend(self.key.secret_subkeys.iter().map(|subkey| key_id_hex(&subkey.key)));
        key_ids
    }

    /// Decrypts the session key in `pkesk` with the matching key.
    ///
    /// Returns `None` when the packet is not addressed to this key (an anonymous packet that
    /// does not decrypt counts as not addressed), `Some(None)` when it is addressed to this
    /// key and does not decrypt.
    pub(crate) fn decrypt_session_key(
        &self,
        pkesk: &PublicKeyEncryptedSessionKey,
    ) -> Option<Option<PlainSessionKey>> {
        let typ = match pkesk.version() {
            PkeskVersion::V3 => EskType::V3_4,
            PkeskVersion::V6 => EskType::V6,
            PkeskVersion::Other(_) => return None,
        };
        let values = pkesk.values().ok()?;
        let anonymous = pkesk.id().is_ok_and(|id| id.is_wildcard());
        let password = self.password();

        let mut addressed = false;
        let mut attempt = |key: &dyn DecryptionKeyDetails| {
            if !key.matches(pkesk) {
                return None;
            }
            addressed = true;
            key.decrypt_with(&password, values, typ)
        };
        if let Some(session_key) = attempt(&self.key.primary_key) {
            return Some(Some(session_key));
        }
        for subkey in &self.key.secret_subkeys {
            if let Some(session_key) = attempt(&subkey.key) {
                return Some(Some(session_key));
            }
        }
        (addressed && !anonymous).then_some(None)
    }
}

/// Object-safe view of a secret key or subkey for trying it on a PKESK packet.
trait DecryptionKeyDetails {
    fn matches(&self, pkesk: &PublicKeyEncryptedSessionKey) -> bool;
    fn decrypt_with(
        &self,
        password: &Password,
        values: &PkeskBytes,
        typ: EskType,
    ) -> Option<PlainSessionKey>;
}

impl<K: DecryptionKey + KeyDetails> DecryptionKeyDetails for K {
    fn matches(&self, pkesk: &PublicKeyEncryptedSessionKey) -> bool {
        pkesk.match_identity(self)
    }

    fn decrypt_with(
        &self,
        password: &Password,
        values: &PkeskBytes,
        typ: EskType,
    ) -> Option<PlainSessionKey> {
        self.decrypt(password, values, typ).ok()?.ok()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key", &self.label.to_string())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
