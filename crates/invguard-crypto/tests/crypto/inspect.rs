//! Inspecting messages without keys: recipients, passphrase packets, framing.

use invguard_crypto::{CryptoError, EncryptionKeys, Recipient, inspect};

use crate::{
    gpg::GpgHome,
    passphrase::{PASSPHRASE, encrypt_fast, passphrase, sample_data},
};

#[test]
fn inspect_lists_recipients_and_passphrase() {
    let gpg = GpgHome::new();
    let first = gpg.generate_cv25519("First <first@example.com>", None);
    let second = gpg.generate_rsa("Second <second@example.com>", None);
    let stranger = gpg.generate_cv25519("Stranger <stranger@example.com>", None);
    let load = |fingerprint: &str| {
        Recipient::load(&gpg.export_public(fingerprint, true)).expect("load").remove(0)
    };
    let (first, second, stranger) = (load(&first), load(&second), load(&stranger));
    let keys = EncryptionKeys {
        passphrase: Some(passphrase(PASSPHRASE)),
        recipients: vec![first.clone(), second.clone()],
    };
    let ciphertext = encrypt_fast(&sample_data(5000), &keys);

    let info = inspect(&ciphertext[..]).expect("inspect");

    assert_eq!(info.recipient_key_ids, [first.encryption_key_id(), second.encryption_key_id()]);
    assert_eq!(info.skesk_count, 2);
    assert!(info.has_passphrase);
    assert!(info.encrypted_data_bytes > 5000);
    assert!(info.is_addressed_to(&[first.clone(), second.clone()]));
    assert!(info.is_addressed_to(&[second]));
    assert!(!info.is_addressed_to(&[first, stranger]));
}

#[test]
fn inspect_gpg_message_key_ids() {
    let gpg = GpgHome::new();
    let fingerprint = gpg.generate_rsa("Gpg <gpg@example.com>", None);
    let ciphertext = gpg.encrypt(b"data", &["--encrypt", "--recipient", &fingerprint], None);

    let info = inspect(&ciphertext[..]).expect("inspect");

    assert_eq!(info.recipient_key_ids, gpg.encryption_key_ids(&fingerprint));
    assert!(!info.has_passphrase);
}

#[test]
fn inspect_detects_truncation_and_non_openpgp() {
    let ciphertext =
        encrypt_fast(&sample_data(100_000), &EncryptionKeys::passphrase(passphrase(PASSPHRASE)));

    let truncated = inspect(&ciphertext[..ciphertext.len() - 1]).expect_err("truncated");
    let trailing = inspect(&[&ciphertext[..], b"\xc3\x01\x04"].concat()[..]).expect_err("trailing");
    let not_openpgp = inspect(&b"SQLite format 3\0"[..]).expect_err("sqlite");

    assert!(matches!(truncated, CryptoError::Truncated { .. }), "{truncated:?}");
    assert!(matches!(trailing, CryptoError::Corrupt { .. }), "{trailing:?}");
    assert!(matches!(not_openpgp, CryptoError::NotOpenPgp), "{not_openpgp:?}");
}
