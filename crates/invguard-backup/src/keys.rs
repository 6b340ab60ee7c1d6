//! Building encryption and decryption keys from the configuration.

use chrono::{DateTime, Utc};
use invguard_config::{Config, EncryptionMode, read_secret_file};
use invguard_crypto::{DecryptionKeys, EncryptionKeys, Passphrase, Recipient, SecretKey};

use crate::BackupError;

/// Loads the keys that encrypt new backups: the passphrase and the recipients' public keys.
/// Mode `passphrase` may name recipients too, so that either can decrypt. Returns `None` in
/// mode `none`.
///
/// # Errors
///
/// [`BackupError::Config`] when the mode's key is not configured, [`BackupError::Crypto`]
/// when a recipient key file cannot be loaded or its key cannot be used (revoked, expired, or
/// without an encryption subkey).
pub fn encryption_keys(config: &Config) -> Result<Option<EncryptionKeys>, BackupError> {
    config.require_encryption_keys()?;
    let encryption = &config.encryption;
    if encryption.mode == EncryptionMode::None {
        return Ok(None);
    }

    let passphrase = match encryption.mode {
        EncryptionMode::Passphrase => encryption.passphrase.as_ref(),
        _ => None,
    };
    let passphrase = passphrase.map(|secret| Passphrase::new(secret.expose().to_owned()));

    let mut recipients = Vec::new();
    for path in &encryption.recipients {
        let loaded = Recipient::load(path)
            .map_err(|source| BackupError::Crypto { path: path.clone(), source })?;
        recipients.extend(loaded);
    }
    Ok(Some(EncryptionKeys { passphrase, recipients }))
}

/// Returns one warning for each recipient whose key expires within 30 days of `now`, so every
/// run reminds the operator before backups start failing.
pub fn recipient_expiry_warnings(keys: &EncryptionKeys, now: DateTime<Utc>) -> Vec<String> {
    keys.recipients.iter().filter_map(|recipient| recipient.expiry_warning(now)).collect()
}

/// Loads every passphrase and secret key the configuration offers for decryption: the current
/// passphrase, `passphrase_files`, `secret_key_file` and `secret_key_files`.
///
/// The result may be empty, for example on a host that holds only public keys; verification
/// then falls back to the `ciphertext` level for public-key backups.
///
/// # Errors
///
/// [`BackupError::Config`] when a passphrase file cannot be read, [`BackupError::Crypto`] when
/// a secret key file cannot be loaded or unlocked.
pub fn decryption_keys(config: &Config) -> Result<DecryptionKeys, BackupError> {
    let encryption = &config.encryption;
    let mut keys = DecryptionKeys::default();

    for secret in encryption.decryption_passphrases()? {
        keys.passphrases.push(Passphrase::new(secret.expose().to_owned()));
    }

    let key_passphrase = match &encryption.secret_key_passphrase_file {
        Some(path) => {
            let secret = read_secret_file("encryption.secret_key_passphrase_file", path)?;
            Some(Passphrase::new(secret.expose().to_owned()))
        }
        None => None,
    };
    let key_files = encryption.secret_key_file.iter().chain(&encryption.secret_key_files);
    for path in key_files {
        let loaded = SecretKey::load(path, key_passphrase.as_ref())
            .map_err(|source| BackupError::Crypto { path: path.clone(), source })?;
        keys.secret_keys.extend(loaded);
    }

    Ok(keys)
}
