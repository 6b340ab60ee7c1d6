//! Public-key encryption: recipients from `gpg --export`, secret keys from
//! `gpg --export-secret-keys`, key validity checks, and interoperability both ways.

use chrono::{Duration, Utc};
use invguard_crypto::{
    CryptoError, DecryptionKeys, EncryptionKeys, KeyProblem, Recipient, SecretKey,
};

use crate::{
    gpg::GpgHome,
    passphrase::{PASSPHRASE, decrypt_vec, encrypt_fast, passphrase, sample_data},
};

const KEY_PASSPHRASE: &str = "key passphrase";

fn load_one(path: &std::path::Path) -> Recipient {
    let mut recipients = Recipient::load(path).expect("load recipient");
    assert_eq!(recipients.len(), 1, "expected one key in {}", path.display());
    recipients.remove(0)
}

fn load_error(path: &std::path::Path) -> CryptoError {
    match Recipient::load(path) {
        Ok(recipients) => {
            panic!("{} loaded {} recipients instead of failing", path.display(), recipients.len())
        }
        Err(error) => error,
    }
}

fn assert_gpg_decrypts(
    gpg: &GpgHome,
    ciphertext: &[u8],
    passphrase: Option<&str>,
    expected: &[u8],
) {
    let output = gpg.decrypt(ciphertext, passphrase);
    assert!(output.status.success(), "gpg -d failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout == expected, "gpg -d output differs from the plaintext");
}

#[test]
fn encrypt_cv25519_recipient_decrypts_with_gpg() {
    let gpg = GpgHome::new();
    let fingerprint = gpg.generate_cv25519("Backup <backup@example.com>", None);
    let recipient = load_one(&gpg.export_public(&fingerprint, true));
    let plaintext = sample_data(150_000);

    let ciphertext = encrypt_fast(&plaintext, &EncryptionKeys::recipients(vec![recipient.clone()]));

    assert_eq!(recipient.fingerprint(), fingerprint);
    assert_eq!(vec![recipient.encryption_key_id()], gpg.encryption_key_ids(&fingerprint));
    assert_gpg_decrypts(&gpg, &ciphertext, None, &plaintext);
}

#[test]
fn encrypt_rsa_recipient_decrypts_with_gpg() {
    let gpg = GpgHome::new();
    let fingerprint = gpg.generate_rsa("Backup RSA <rsa@example.com>", None);
    let recipient = load_one(&gpg.export_public(&fingerprint, false));
    let plaintext = sample_data(150_000);

    let ciphertext = encrypt_fast(&plaintext, &EncryptionKeys::recipients(vec![recipient.clone()]));

    assert_eq!(vec![recipient.encryption_key_id()], gpg.encryption_key_ids(&fingerprint));
    assert_gpg_decrypts(&gpg, &ciphertext, None, &plaintext);
}

#[test]
fn encrypt_passphrase_and_recipient_both_decrypt() {
    let key_home = GpgHome::new();
    let passphrase_home = GpgHome::new();
    let fingerprint = key_home.generate_cv25519("Both <both@example.com>", None);
    let recipient = load_one(&key_home.export_public(&fingerprint, true));
    let secret_keys = SecretKey::load(&key_home.export_secret(&fingerprint, true, None), None)
        .expect("load secret key");
    let plaintext = sample_data(20_000);
    let keys =
        EncryptionKeys { passphrase: Some(passphrase(PASSPHRASE)), recipients: vec![recipient] };

    let ciphertext = encrypt_fast(&plaintext, &keys);

    assert_gpg_decrypts(&key_home, &ciphertext, None, &plaintext);
    assert_gpg_decrypts(&passphrase_home, &ciphertext, Some(PASSPHRASE), &plaintext);
    let by_key = decrypt_vec(&ciphertext, &DecryptionKeys::secret_keys(secret_keys));
    let by_passphrase =
        decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase(PASSPHRASE)));
    assert!(by_key.expect("decrypt with secret key") == plaintext);
    assert!(by_passphrase.expect("decrypt with passphrase") == plaintext);
}

#[test]
fn decrypt_gpg_message_with_exported_secret_key() {
    let cases = [
        ("cv25519", Some(KEY_PASSPHRASE), true),
        ("cv25519", None, false),
        ("rsa", Some(KEY_PASSPHRASE), false),
        ("rsa", None, true),
    ];

    for (algorithm, key_passphrase, armor) in cases {
        let gpg = GpgHome::new();
        let user_id = format!("{algorithm} <{algorithm}@example.com>");
        let fingerprint = match algorithm {
            "cv25519" => gpg.generate_cv25519(&user_id, key_passphrase),
            _ => gpg.generate_rsa(&user_id, key_passphrase),
        };
        let plaintext = sample_data(70_000);
        let ciphertext = gpg.encrypt(&plaintext, &["--encrypt", "--recipient", &fingerprint], None);
        let key_file = gpg.export_secret(&fingerprint, armor, key_passphrase);
        let key_passphrase = key_passphrase.map(passphrase);

        let secret_keys = SecretKey::load(&key_file, key_passphrase.as_ref())
            .unwrap_or_else(|error| panic!("{algorithm} {armor}: load secret key: {error}"));
        let decrypted = decrypt_vec(&ciphertext, &DecryptionKeys::secret_keys(secret_keys));

        let decrypted = decrypted.unwrap_or_else(|error| panic!("{algorithm} {armor}: {error:?}"));
        assert!(decrypted == plaintext, "{algorithm} {armor}: decrypted data differs");
    }
}

#[test]
fn decrypt_secret_key_rotation() {
    let gpg = GpgHome::new();
    let old = gpg.generate_cv25519("Old <old@example.com>", None);
    let new = gpg.generate_rsa("New <new@example.com>", None);
    let old_message = gpg.encrypt(b"old backup", &["--encrypt", "--recipient", &old], None);
    let new_message = encrypt_fast(
        b"new backup",
        &EncryptionKeys::recipients(vec![load_one(&gpg.export_public(&new, false))]),
    );
    let mut secret_keys =
        SecretKey::load(&gpg.export_secret(&new, false, None), None).expect("new");
    secret_keys.extend(SecretKey::load(&gpg.export_secret(&old, true, None), None).expect("old"));
    let keys = DecryptionKeys::secret_keys(secret_keys);

    assert_eq!(decrypt_vec(&old_message, &keys).expect("old message"), b"old backup");
    assert_eq!(decrypt_vec(&new_message, &keys).expect("new message"), b"new backup");
}

#[test]
fn decrypt_message_for_other_key() {
    let gpg = GpgHome::new();
    let addressed = gpg.generate_cv25519("Addressed <a@example.com>", None);
    let other = gpg.generate_cv25519("Other <o@example.com>", None);
    let recipient = load_one(&gpg.export_public(&addressed, true));
    let ciphertext = encrypt_fast(b"secret", &EncryptionKeys::recipients(vec![recipient.clone()]));
    let other_keys = SecretKey::load(&gpg.export_secret(&other, true, None), None).expect("load");

    let result = decrypt_vec(&ciphertext, &DecryptionKeys::secret_keys(other_keys));
    let by_passphrase = decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase("x")));

    let error = result.expect_err("another key must not open the message");
    assert!(matches!(error, CryptoError::NoMatchingKey { .. }), "{error:?}");
    assert!(error.to_string().contains(&recipient.encryption_key_id()), "{error}");
    let error = by_passphrase.expect_err("a passphrase must not open a public-key message");
    assert!(matches!(error, CryptoError::NoMatchingKey { .. }), "{error:?}");
}

#[test]
fn recipient_load_directory_and_multi_key_file() {
    let gpg = GpgHome::new();
    let first = gpg.generate_cv25519("First <first@example.com>", None);
    let second = gpg.generate_rsa("Second <second@example.com>", None);
    let third = gpg.generate_cv25519("Third <third@example.com>", None);
    let dir = gpg.file("recipients");
    fs_err::create_dir(&dir).expect("create recipients dir");
    let both = gpg.run_ok(&["--export", &first, &second], None, None);
    fs_err::write(dir.join("team.gpg"), both).expect("write multi-key file");
    fs_err::copy(gpg.export_public(&third, true), dir.join("third.asc")).expect("copy key");
    fs_err::write(dir.join(".hidden"), b"not a key").expect("write hidden file");

    let recipients = Recipient::load(&dir).expect("load directory");

    let fingerprints: Vec<String> = recipients.iter().map(Recipient::fingerprint).collect();
    assert_eq!(fingerprints, [first, second, third]);
    assert_eq!(recipients[0].user_id(), "First <first@example.com>");
    assert_eq!(recipients[2].path(), dir.join("third.asc"));
}

#[test]
fn recipient_load_rejects_expired_key() {
    let gpg = GpgHome::new();
    let user_id = "Expired <expired@example.com>";
    let fingerprint = gpg.generate_key(
        user_id,
        "future-default",
        "default",
        "10d",
        None,
        &["--faked-system-time", "20200101T000000"],
    );
    let path = gpg.export_public(&fingerprint, true);

    let error = load_error(&path);

    let CryptoError::Key { problem: KeyProblem::Expired { at }, .. } = &error else {
        panic!("expected an expired key error, got {error:?}");
    };
    assert_eq!(at, "2020-01-11T00:00:00Z");
    let message = error.to_string();
    assert!(message.contains(&fingerprint), "{message}");
    assert!(message.contains(user_id), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn recipient_load_rejects_revoked_key() {
    let gpg = GpgHome::new();
    let user_id = "Revoked <revoked@example.com>";
    let fingerprint = gpg.generate_cv25519(user_id, None);
    gpg.revoke(&fingerprint);
    let path = gpg.export_public(&fingerprint, false);

    let error = load_error(&path);

    assert!(matches!(error, CryptoError::Key { problem: KeyProblem::Revoked, .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&fingerprint), "{message}");
    assert!(message.contains(user_id), "{message}");
    assert!(message.contains("revoked"), "{message}");
}

#[test]
fn recipient_load_rejects_sign_only_key() {
    let gpg = GpgHome::new();
    let user_id = "Signer <signer@example.com>";
    let fingerprint = gpg.generate_key(user_id, "ed25519", "sign", "never", None, &[]);
    let path = gpg.export_public(&fingerprint, true);

    let error = load_error(&path);

    assert!(
        matches!(error, CryptoError::Key { problem: KeyProblem::NoEncryptionSubkey, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&fingerprint), "{message}");
    assert!(message.contains(user_id), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn recipient_load_rejects_non_key_file() {
    let gpg = GpgHome::new();
    let path = gpg.file("not-a-key.asc");
    fs_err::write(&path, "hello").expect("write file");

    let error = load_error(&path);

    assert!(matches!(error, CryptoError::KeyFile { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

#[test]
fn recipient_expiry_warning_within_30_days() {
    let gpg = GpgHome::new();
    let soon =
        gpg.generate_key("Soon <soon@example.com>", "future-default", "default", "10d", None, &[]);
    let later =
        gpg.generate_key("Later <later@example.com>", "future-default", "default", "1y", None, &[]);
    let never = gpg.generate_cv25519("Never <never@example.com>", None);
    let now = Utc::now();

    let soon = load_one(&gpg.export_public(&soon, true));
    let later = load_one(&gpg.export_public(&later, true));
    let never = load_one(&gpg.export_public(&never, true));

    let expires_at = soon.expires_at().expect("soon expires");
    assert!(expires_at > now + Duration::days(9), "{expires_at}");
    assert!(expires_at < now + Duration::days(11), "{expires_at}");
    let warning = soon.expiry_warning(now).expect("a key expiring in 10 days warns");
    assert!(warning.contains(&soon.fingerprint()), "{warning}");
    assert!(warning.contains("in 9 days") || warning.contains("in 10 days"), "{warning}");
    assert!(later.expiry_warning(now).is_none());
    assert!(later.expiry_warning(now + Duration::days(340)).is_some());
    assert!(never.expires_at().is_none());
    assert!(never.expiry_warning(now).is_none());
}

#[test]
fn recipient_primary_key_encrypts_without_subkey() {
    let gpg = GpgHome::new();
    let fingerprint = gpg.generate_key(
        "Primary <primary@example.com>",
        "rsa2048",
        "sign,encr",
        "never",
        None,
        &[],
    );
    let recipient = load_one(&gpg.export_public(&fingerprint, true));
    let plaintext = sample_data(1000);

    let ciphertext = encrypt_fast(&plaintext, &EncryptionKeys::recipients(vec![recipient.clone()]));

    assert_eq!(recipient.encryption_fingerprint(), fingerprint);
    assert_gpg_decrypts(&gpg, &ciphertext, None, &plaintext);
}

#[test]
fn secret_key_load_requires_right_passphrase() {
    let gpg = GpgHome::new();
    let fingerprint = gpg.generate_cv25519("Locked <locked@example.com>", Some(KEY_PASSPHRASE));
    let path = gpg.export_secret(&fingerprint, true, Some(KEY_PASSPHRASE));

    let missing = SecretKey::load(&path, None).expect_err("no passphrase");
    let wrong = SecretKey::load(&path, Some(&passphrase("wrong"))).expect_err("wrong passphrase");
    let public = SecretKey::load(&gpg.export_public(&fingerprint, true), None).expect_err("public");

    assert!(
        matches!(missing, CryptoError::Key { problem: KeyProblem::PassphraseRequired, .. }),
        "{missing:?}"
    );
    assert!(
        matches!(wrong, CryptoError::Key { problem: KeyProblem::WrongKeyPassphrase, .. }),
        "{wrong:?}"
    );
    assert!(wrong.to_string().contains(&fingerprint), "{wrong}");
    assert!(!format!("{wrong:?}").contains("wrong\""), "the error must not echo the passphrase");
    assert!(matches!(public, CryptoError::KeyFile { .. }), "{public:?}");
}
