//! Building encryption and decryption keys from the configuration.

use invguard_config::{Config, EncryptionMode, read_secret_file};
use invguard_crypto::{DecryptionKeys, EncryptionKeys, Passphrase, Recipient, SecretKey};

use crate::BackupError;

/// Loads the keys that encrypt new backups: the passphrase, or the recipients' public keys.
/// Returns `None` in mode `none`.
///
/// # Errors
///
/// [`BackupError::Config`] when the mode's key is not configured, [`BackupError::Crypto`]
/// when a recipient key file cannot be loaded or its key cannot be used.
pub fn encryption_keys(config: &Config) -> Result<Option<EncryptionKeys>, BackupError> {
    config.require_encryption_keys()?;
    let encryption = &config.encryption;

    match encryption.mode {
        EncryptionMode::None => Ok(None),
        EncryptionMode::Passphrase => {
            let secret = encryption.passphrase.as_ref().map(|secret| secret.expose().to_owned());
            Ok(Some(EncryptionKeys { passphrase: secret.map(Passphrase::new), recipients: vec![] }))
        }
        EncryptionMode::PublicKey => {
            let mut recipients = Vec::new();
            for path in &encryption.recipients {
                let loaded = Recipient::load(path)
                    .map_err(|source| BackupError::Crypto { path: path.clone(), source })?;
                recipients.extend(loaded);
            }
            Ok(Some(EncryptionKeys::recipients(recipients)))
        }
    }
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
