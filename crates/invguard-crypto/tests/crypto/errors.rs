//! Error classification: wrong passphrases, damaged and truncated messages, other input.

use invguard_crypto::{CryptoError, DecryptionKeys, EncryptionKeys, decrypt_to_file};

use crate::{
    gpg::GpgHome,
    passphrase::{PASSPHRASE, decrypt_vec, encrypt_fast, passphrase, sample_data},
};

fn own_message(len: usize) -> (Vec<u8>, Vec<u8>) {
    let plaintext = sample_data(len);
    let ciphertext = encrypt_fast(&plaintext, &EncryptionKeys::passphrase(passphrase(PASSPHRASE)));
    (plaintext, ciphertext)
}

fn right_keys() -> DecryptionKeys {
    DecryptionKeys::passphrase(passphrase(PASSPHRASE))
}

fn flipped(ciphertext: &[u8], offset: usize) -> Vec<u8> {
    let mut damaged = ciphertext.to_vec();
    damaged[offset] ^= 0x01;
    damaged
}

/// Returns the error of a decryption that must fail, without printing the plaintext.
fn failure(result: Result<Vec<u8>, CryptoError>, context: &str) -> CryptoError {
    match result {
        Ok(plaintext) => {
            panic!("{context}: decrypted {} bytes instead of failing", plaintext.len())
        }
        Err(error) => error,
    }
}

fn is_damage(error: &CryptoError) -> bool {
    matches!(error, CryptoError::Corrupt { .. } | CryptoError::Truncated { .. })
}

#[test]
fn decrypt_wrong_passphrase_on_own_message() {
    // A single passphrase packet lets about 3 in 256 wrong passphrases through its
    // plausibility check; twenty messages make a regression to one packet visible.
    for attempt in 0..20 {
        let (_, ciphertext) = own_message(1000);

        let error = failure(
            decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase("wrong"))),
            "a wrong passphrase must fail",
        );

        assert!(
            matches!(error, CryptoError::WrongPassphrase { tried: 1 }),
            "attempt {attempt}: {error:?}"
        );
        assert!(error.to_string().starts_with("wrong passphrase: "), "{error}");
        assert!(!format!("{error:?}").contains("wrong\""), "error must not echo the passphrase");
    }
}

#[test]
fn decrypt_wrong_passphrase_on_gpg_message() {
    let gpg = GpgHome::new();
    for args in [
        &["--symmetric"][..],
        &["--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none"],
    ] {
        let ciphertext = gpg.encrypt(&sample_data(5000), args, Some(PASSPHRASE));

        let error = failure(
            decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase("wrong"))),
            "a wrong passphrase must fail",
        );

        assert!(
            matches!(error, CryptoError::WrongPassphraseOrCorrupt { tried: 1 }),
            "{args:?}: {error:?}"
        );
        assert!(error.to_string().starts_with("wrong passphrase or corrupted data: "), "{error}");
    }
}

#[test]
fn decrypt_flipped_byte_in_headers_and_data_start() {
    let (_, ciphertext) = own_message(100_000);

    // The first 150 bytes cover both passphrase packets, the encrypted data packet header,
    // the quick-check prefix and the start of the literal data packet.
    for offset in 0..150 {
        let result = decrypt_vec(&flipped(&ciphertext, offset), &right_keys());

        let error = failure(result, &format!("flip at offset {offset} must fail"));
        assert!(is_damage(&error), "flip at offset {offset}: {error:?}");
    }
}

#[test]
fn decrypt_flipped_byte_in_middle_and_end() {
    let (_, ciphertext) = own_message(100_000);
    let len = ciphertext.len();

    for offset in [len / 2, len / 2 + 1, len - 30, len - 22, len - 10, len - 2, len - 1] {
        let result = decrypt_vec(&flipped(&ciphertext, offset), &right_keys());

        let error = failure(result, &format!("flip at offset {offset} of {len} must fail"));
        assert!(
            matches!(error, CryptoError::Corrupt { .. }),
            "flip at offset {offset} of {len}: {error:?}"
        );
    }
}

#[test]
fn decrypt_flipped_byte_in_gpg_message() {
    let gpg = GpgHome::new();
    let uncompressed = ["--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none"];

    for args in [&["--symmetric"][..], &uncompressed[..]] {
        let ciphertext = gpg.encrypt(&sample_data(100_000), args, Some(PASSPHRASE));
        let len = ciphertext.len();

        for offset in [40, 60, len / 2, len - 2, len - 1] {
            let result = decrypt_vec(&flipped(&ciphertext, offset), &right_keys());

            let error = failure(result, &format!("{args:?}: flip at offset {offset} of {len}"));
            assert!(
                is_damage(&error) || matches!(error, CryptoError::WrongPassphraseOrCorrupt { .. }),
                "{args:?}: flip at offset {offset} of {len}: {error:?}"
            );
        }
    }
}

#[test]
fn decrypt_truncated_message() {
    let (_, ciphertext) = own_message(100_000);
    let len = ciphertext.len();

    for cut in [1, 22, 100, len / 2, len - 200] {
        let result = decrypt_vec(&ciphertext[..len - cut], &right_keys());

        let error = failure(result, &format!("cutting {cut} bytes must fail"));
        assert!(matches!(error, CryptoError::Truncated { .. }), "cut {cut} bytes: {error:?}");
    }
}

#[test]
fn decrypt_truncated_gpg_message() {
    let gpg = GpgHome::new();
    let ciphertext = gpg.encrypt(&sample_data(100_000), &["--symmetric"], Some(PASSPHRASE));
    let len = ciphertext.len();

    for cut in [1, 22, len / 2] {
        let result = decrypt_vec(&ciphertext[..len - cut], &right_keys());

        let error = failure(result, &format!("cutting {cut} bytes must fail"));
        assert!(is_damage(&error), "cut {cut} bytes: {error:?}");
    }
}

#[test]
fn decrypt_trailing_garbage_is_corrupt() {
    let (_, mut ciphertext) = own_message(1000);
    ciphertext.extend_from_slice(b"\xc3trailing");

    let error = failure(decrypt_vec(&ciphertext, &right_keys()), "trailing data must fail");

    assert!(is_damage(&error), "{error:?}");
}

#[test]
fn decrypt_not_openpgp_input() {
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("sqlite", b"SQLite format 3\0\x10\x00\x01\x01"),
        ("zstd", b"\x28\xb5\x2f\xfd\x00\x58\x61\x00\x00"),
        ("text", b"hello, this is not a backup\n"),
        ("key packet", b"\x99\x01\x0d\x04\x5f\x00"),
    ];

    for (name, input) in cases {
        let error = failure(decrypt_vec(input, &right_keys()), name);

        assert!(matches!(error, CryptoError::NotOpenPgp), "{name}: {error:?}");
    }
}

#[test]
fn decrypt_without_keys() {
    let (_, ciphertext) = own_message(10);

    let error = failure(decrypt_vec(&ciphertext, &DecryptionKeys::default()), "no keys");

    assert!(matches!(error, CryptoError::NoDecryptionKeys), "{error:?}");
}

#[test]
fn encrypt_rejects_missing_and_empty_passphrase() {
    let no_keys = invguard_crypto::encrypt(&b"x"[..], Vec::new(), &EncryptionKeys::default());
    let empty = invguard_crypto::encrypt(
        &b"x"[..],
        Vec::new(),
        &EncryptionKeys::passphrase(passphrase("")),
    );

    assert!(matches!(no_keys, Err(CryptoError::NoEncryptionKeys)), "{no_keys:?}");
    assert!(matches!(empty, Err(CryptoError::EmptyPassphrase)), "{empty:?}");
}

#[test]
fn decrypt_reports_reader_failure_as_io() {
    struct FailingReader;
    impl std::io::Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }

    let error = invguard_crypto::decrypt(FailingReader, Vec::new(), &right_keys())
        .expect_err("a failing reader must fail");

    let CryptoError::Io(source) = &error else { panic!("expected Io, got {error:?}") };
    assert_eq!(source.to_string(), "disk on fire");
}

#[test]
fn decrypt_to_file_keeps_nothing_on_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plaintext, ciphertext) = own_message(50_000);
    let damaged = flipped(&ciphertext, ciphertext.len() / 2);

    let error = decrypt_to_file(&damaged[..], dir.path(), &right_keys()).expect_err("damaged");
    let left_over = fs_err::read_dir(dir.path()).expect("read dir").count();
    let file = decrypt_to_file(&ciphertext[..], dir.path(), &right_keys()).expect("intact");

    assert!(is_damage(&error), "{error:?}");
    assert_eq!(left_over, 0, "a failed decryption must leave no file");
    assert_eq!(fs_err::read(file.path()).expect("read result"), plaintext);
    let mode = fs_err::metadata(file.path()).expect("metadata").permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
}

#[test]
fn decrypt_rejects_message_without_integrity_protection() {
    let gpg = GpgHome::new();
    let ciphertext = gpg.encrypt(
        b"legacy",
        &["--symmetric", "--rfc2440", "--cipher-algo", "CAST5"],
        Some(PASSPHRASE),
    );

    let error = failure(decrypt_vec(&ciphertext, &right_keys()), "a message without MDC");

    assert!(matches!(error, CryptoError::Unsupported { .. }), "{error:?}");
    assert!(error.to_string().contains("integrity protection"), "{error}");
}
