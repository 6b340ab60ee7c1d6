//! Backups read by stock tools: `gpg -d FILE | zstd -d` restores the snapshot.

use std::path::Path;
use std::process::{Command, Stdio};

use invguard_backup::{
    BackupOptions, CancelToken, SnapshotMethod, VerificationLevel, VerifyTarget, list_backups,
    run_backup, verify,
};
use invguard_config::{EncryptionMode, VerifyLevel};
use invguard_crypto::DecryptionKeys;
use sha2::{Digest as _, Sha256};

use super::support::{GnupgHome, PASSPHRASE, Setup, check_database};

/// Runs `gpg ... --decrypt backup | zstd -d -o output` and returns the output bytes.
fn gpg_zstd_decrypt(gnupg: &GnupgHome, extra: &[&str], backup: &Path, output: &Path) -> Vec<u8> {
    let mut gpg = gnupg.gpg();
    gpg.args(extra).arg("--decrypt").arg(backup).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut gpg = gpg.spawn().expect("cannot run gpg; install GnuPG to run these tests");
    let gpg_stdout = gpg.stdout.take().unwrap();

    let zstd_status = Command::new("zstd")
        .args(["-d", "-q", "-o"])
        .arg(output)
        .stdin(gpg_stdout)
        .status()
        .expect("cannot run zstd; install zstd to run these tests");
    let gpg_output = gpg.wait_with_output().unwrap();

    assert!(
        gpg_output.status.success(),
        "gpg failed: {}",
        String::from_utf8_lossy(&gpg_output.stderr)
    );
    assert!(zstd_status.success(), "zstd -d failed");
    fs_err::read(output).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn backup_passphrase_decrypts_with_gpg_and_zstd() {
    let setup = Setup::new(2_000);
    let outcome = setup.backup(&setup.config());
    let gnupg = GnupgHome::new();
    let passphrase_file = setup.root.path().join("passphrase");
    fs_err::write(&passphrase_file, PASSPHRASE).unwrap();
    let restored = setup.root.path().join("restored.db");

    let passphrase_arg = passphrase_file.to_str().unwrap();
    let bytes =
        gpg_zstd_decrypt(&gnupg, &["--passphrase-file", passphrase_arg], &outcome.path, &restored);

    assert_eq!(bytes.len() as u64, outcome.manifest.plaintext.size);
    assert_eq!(sha256_hex(&bytes), outcome.manifest.plaintext.sha256);
    assert_eq!(check_database(&restored), 2_000);
}

#[test]
fn backup_public_key_decrypts_with_gpg() {
    let setup = Setup::new(1_000);
    let gnupg = GnupgHome::new();
    let uid = "InvGuard Test <backup@example.invalid>";
    gnupg.generate_key(uid, "never");
    let public_key = setup.root.path().join("public.asc");
    gnupg.export_public_key(uid, &public_key);
    let secret_key = setup.root.path().join("secret.asc");
    gnupg.export_secret_key(uid, &secret_key);

    let mut config = setup.config();
    config.encryption.mode = EncryptionMode::PublicKey;
    config.encryption.passphrase = None;
    config.encryption.recipients = vec![public_key];
    let outcome = run_backup(&config, &BackupOptions::default()).unwrap();

    assert_eq!(outcome.manifest.verification.level, VerificationLevel::Ciphertext);
    // Without a secret key the snapshot is checked before encryption, so it is a file.
    assert_eq!(outcome.snapshot_method, SnapshotMethod::File);
    assert_eq!(outcome.manifest.encryption.recipients.len(), 1);
    let restored = setup.root.path().join("restored.db");
    let bytes = gpg_zstd_decrypt(&gnupg, &[], &outcome.path, &restored);
    assert_eq!(sha256_hex(&bytes), outcome.manifest.plaintext.sha256);
    assert_eq!(check_database(&restored), 1_000);

    // With the secret key, verification decrypts and reaches the requested level.
    let secret_keys = invguard_crypto::SecretKey::load(&secret_key, None).unwrap();
    let keys = DecryptionKeys::secret_keys(secret_keys);
    let outcomes =
        verify(&config, &VerifyTarget::Latest, VerifyLevel::Full, &keys, &CancelToken::new())
            .unwrap();
    assert!(outcomes[0].passed(), "{:?}", outcomes[0].result);
    assert_eq!(outcomes[0].level, VerificationLevel::Full);
    let entry = &list_backups(&setup.backups).unwrap()[0];
    assert_eq!(entry.verification.as_ref().unwrap().level, VerificationLevel::Full);
}

#[test]
fn backup_passphrase_with_recipient_decrypts_both_ways() {
    let setup = Setup::new(500);
    let gnupg = GnupgHome::new();
    let uid = "InvGuard Expiring <expiring@example.invalid>";
    // The key expires in 10 days, inside the 30-day warning window.
    gnupg.generate_key(uid, "10d");
    let public_key = setup.root.path().join("public.asc");
    gnupg.export_public_key(uid, &public_key);

    let mut config = setup.config();
    config.encryption.recipients = vec![public_key];
    let outcome = run_backup(&config, &BackupOptions::default()).unwrap();

    assert_eq!(outcome.manifest.verification.level, VerificationLevel::Quick);
    assert_eq!(outcome.manifest.encryption.recipients.len(), 1);
    assert!(
        outcome.warnings.iter().any(|warning| warning.contains("expires")),
        "no expiry warning in {:?}",
        outcome.warnings
    );

    // The secret key in the keyring opens it without a passphrase ...
    let with_key = setup.root.path().join("with-key.db");
    let bytes = gpg_zstd_decrypt(&gnupg, &[], &outcome.path, &with_key);
    assert_eq!(sha256_hex(&bytes), outcome.manifest.plaintext.sha256);

    // ... and a keyring without it still opens it with the passphrase.
    let other = GnupgHome::new();
    let passphrase_file = setup.root.path().join("passphrase");
    fs_err::write(&passphrase_file, PASSPHRASE).unwrap();
    let with_passphrase = setup.root.path().join("with-passphrase.db");
    let passphrase_arg = passphrase_file.to_str().unwrap();
    let bytes = gpg_zstd_decrypt(
        &other,
        &["--passphrase-file", passphrase_arg],
        &outcome.path,
        &with_passphrase,
    );
    assert_eq!(sha256_hex(&bytes), outcome.manifest.plaintext.sha256);
    assert_eq!(check_database(&with_passphrase), 500);
}
