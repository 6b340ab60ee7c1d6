//! Passphrase encryption: interoperability with `gpg --symmetric` and `gpg --decrypt`.

use invguard_crypto::{
    CryptoError, DecryptionKeys, EncryptOptions, EncryptionKeys, Passphrase, decrypt, encrypt,
    encrypt_with,
};

use crate::gpg::GpgHome;

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn sample_data(len: usize) -> Vec<u8> {
    (0..len).map(|index| (index * 31 % 251) as u8).collect()
}

pub fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(text.to_owned())
}

pub fn encrypt_fast(plaintext: &[u8], keys: &EncryptionKeys) -> Vec<u8> {
    let mut ciphertext = Vec::new();
    encrypt_with(plaintext, &mut ciphertext, keys, &EncryptOptions::insecure_for_tests())
        .expect("encrypt");
    ciphertext
}

pub fn decrypt_vec(ciphertext: &[u8], keys: &DecryptionKeys) -> Result<Vec<u8>, CryptoError> {
    let mut plaintext = Vec::new();
    decrypt(ciphertext, &mut plaintext, keys)?;
    Ok(plaintext)
}

#[test]
fn encrypt_passphrase_decrypts_with_gpg() {
    let gpg = GpgHome::new();
    let plaintext = sample_data(300_000);
    let mut ciphertext = Vec::new();

    let read = encrypt(
        &plaintext[..],
        &mut ciphertext,
        &EncryptionKeys::passphrase(passphrase(PASSPHRASE)),
    )
    .expect("encrypt");
    let output = gpg.decrypt(&ciphertext, Some(PASSPHRASE));

    assert_eq!(read, plaintext.len() as u64);
    assert!(output.status.success(), "gpg -d failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout == plaintext, "gpg -d output differs from the plaintext");
}

#[test]
fn encrypt_writes_gpg_22_compatible_packets() {
    let gpg = GpgHome::new();
    let ciphertext = {
        let mut out = Vec::new();
        encrypt(&b"data"[..], &mut out, &EncryptionKeys::passphrase(passphrase(PASSPHRASE)))
            .expect("encrypt");
        out
    };
    let input = gpg.file("message.gpg");
    fs_err::write(&input, &ciphertext).expect("write message");

    let packets = gpg.run_ok(
        &["--list-packets", input.to_str().expect("utf-8 path")],
        Some(PASSPHRASE),
        None,
    );
    let packets = String::from_utf8_lossy(&packets);

    // cipher 9 = AES-256, s2k 3 = iterated and salted, hash 8 = SHA-256, count 65011712.
    let skesks: Vec<&str> =
        packets.lines().filter(|line| line.contains("symkey enc packet")).collect();
    assert_eq!(skesks.len(), 2, "{packets}");
    for skesk in skesks {
        assert!(skesk.contains("cipher 9"), "{skesk}");
        assert!(skesk.contains("s2k 3"), "{skesk}");
        assert!(skesk.contains("hash 8"), "{skesk}");
    }
    assert!(packets.contains("count 65011712"), "{packets}");
    assert!(packets.contains("mdc_method: 2"), "{packets}");
    assert!(!packets.contains("compressed packet"), "{packets}");
}

#[test]
fn decrypt_gpg_symmetric_default_settings() {
    let gpg = GpgHome::new();
    let plaintext = sample_data(200_000);
    let ciphertext = gpg.encrypt(&plaintext, &["--symmetric"], Some(PASSPHRASE));

    let decrypted = decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase(PASSPHRASE)))
        .expect("decrypt gpg --symmetric");

    assert!(decrypted == plaintext, "decrypted data differs from the plaintext");
}

#[test]
fn decrypt_gpg_symmetric_aes256_uncompressed() {
    let gpg = GpgHome::new();
    let plaintext = sample_data(200_000);
    let ciphertext = gpg.encrypt(
        &plaintext,
        &["--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none"],
        Some(PASSPHRASE),
    );

    let decrypted = decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase(PASSPHRASE)))
        .expect("decrypt gpg --symmetric --cipher-algo AES256");

    assert!(decrypted == plaintext, "decrypted data differs from the plaintext");
}

#[test]
fn decrypt_gpg_symmetric_armored() {
    let gpg = GpgHome::new();
    let plaintext = sample_data(10_000);
    let ciphertext = gpg.encrypt(&plaintext, &["--symmetric", "--armor"], Some(PASSPHRASE));

    let decrypted = decrypt_vec(&ciphertext, &DecryptionKeys::passphrase(passphrase(PASSPHRASE)))
        .expect("decrypt armored gpg message");

    assert!(decrypted == plaintext, "decrypted data differs from the plaintext");
}

#[test]
fn decrypt_rotation_old_and_new_passphrase() {
    let gpg = GpgHome::new();
    let old_message = gpg.encrypt(b"old backup", &["--symmetric"], Some("old passphrase"));
    let new_message =
        encrypt_fast(b"new backup", &EncryptionKeys::passphrase(passphrase("new passphrase")));
    let keys = DecryptionKeys {
        passphrases: vec![passphrase("new passphrase"), passphrase("old passphrase")],
        secret_keys: Vec::new(),
    };

    assert_eq!(decrypt_vec(&old_message, &keys).expect("old message"), b"old backup");
    assert_eq!(decrypt_vec(&new_message, &keys).expect("new message"), b"new backup");
}

#[test]
fn emergency_restore_with_gpg_and_zstd() {
    let gpg = GpgHome::new();
    let plaintext = sample_data(100_000);
    let compressed = std::process::Command::new("zstd")
        .args(["-q", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(&plaintext)?;
            child.wait_with_output()
        })
        .expect("zstd must be installed to run this test");
    assert!(compressed.status.success(), "zstd failed");
    let ciphertext =
        encrypt_fast(&compressed.stdout, &EncryptionKeys::passphrase(passphrase(PASSPHRASE)));
    let message = gpg.file("backup.db.zst.gpg");
    fs_err::write(&message, &ciphertext).expect("write backup");
    let passphrase_file = gpg.passphrase_file(PASSPHRASE);

    // The pipeline an operator runs without InvGuard: gpg -d FILE | zstd -d.
    let script = "gpg --batch --pinentry-mode loopback --no-symkey-cache --passphrase-file \"$1\" \
                  -d \"$2\" | zstd -d -q -c";
    let restored = std::process::Command::new("sh")
        .args(["-c", script, "restore"])
        .arg(&passphrase_file)
        .arg(&message)
        .env("GNUPGHOME", gpg.path())
        .output()
        .expect("run sh");

    assert!(
        restored.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(restored.stdout == plaintext, "restored data differs from the plaintext");
}
