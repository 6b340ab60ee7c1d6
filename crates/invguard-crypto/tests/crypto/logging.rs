//! Logging: no key material and no passphrase in this crate's log lines.
//!
//! rPGP 0.21 logs through the `log` crate. At debug level its secret key parser (target
//! `pgp::packet::secret_key_parser`) prints the remaining bytes of every secret key packet as
//! hex, which for an unprotected key is the private key itself. The InvGuard binaries cap the
//! `pgp` target at `warn` for that reason. The test below asserts that rPGP's own debug lines
//! do contain the key bytes: this documents the hazard and proves the detector finds key
//! material when it is present, so the check on this crate's lines can fail.

use std::{
    io::Write,
    sync::{Arc, Mutex, PoisonError},
};

use invguard_crypto::{DecryptionKeys, EncryptionKeys, SecretKey, decrypt};
use pgp::{
    composed::{Deserializable, SignedSecretKey},
    ser::Serialize,
};

use crate::{
    gpg::GpgHome,
    passphrase::{PASSPHRASE, encrypt_fast, passphrase},
};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Returns 16 bytes of secret key material of each unprotected key in `key_file`, as hex.
///
/// A version 4 secret key packet without protection ends with the secret MPIs and a two-byte
/// checksum, so the 16 bytes before the checksum belong to the private key.
fn secret_fragments(key_file: &std::path::Path) -> Vec<String> {
    let (key, _) = SignedSecretKey::from_reader_single(fs_err::File::open(key_file).expect("open"))
        .expect("parse secret key");
    let mut packets = vec![key.primary_key.to_bytes().expect("serialize primary key")];
    for subkey in &key.secret_subkeys {
        packets.push(subkey.key.to_bytes().expect("serialize subkey"));
    }
    packets.iter().map(|packet| hex(&packet[packet.len() - 18..packet.len() - 2])).collect()
}

fn contains_secret(line: &str, fragments: &[String]) -> bool {
    let lower = line.to_ascii_lowercase();
    fragments.iter().any(|fragment| lower.contains(fragment.as_str()))
}

#[test]
fn logging_never_shows_key_material_or_passphrase() {
    let gpg = GpgHome::new();
    let fingerprint = gpg.generate_cv25519("Logged <logged@example.com>", None);
    let to_key = gpg.encrypt(b"backup", &["--encrypt", "--recipient", &fingerprint], None);
    let to_passphrase =
        encrypt_fast(b"backup", &EncryptionKeys::passphrase(passphrase(PASSPHRASE)));
    let key_file = gpg.export_secret(&fingerprint, false, None);
    let fragments = secret_fragments(&key_file);

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Forwards rPGP's `log` records to the subscriber of the current thread.
    let _ = tracing_log::LogTracer::init();

    tracing::subscriber::with_default(subscriber, || {
        let secret_keys = SecretKey::load(&key_file, None).expect("load secret key");
        let keys = DecryptionKeys {
            passphrases: vec![passphrase("a wrong one"), passphrase(PASSPHRASE)],
            secret_keys,
        };
        decrypt(&to_key[..], Vec::new(), &keys).expect("decrypt with the key");
        decrypt(&to_passphrase[..], Vec::new(), &keys).expect("decrypt with the passphrase");
    });

    let output =
        String::from_utf8(captured.0.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .expect("utf-8 log");
    let (ours, theirs): (Vec<&str>, Vec<&str>) =
        output.lines().partition(|line| line.contains(" invguard_crypto"));
    assert!(!ours.is_empty(), "this crate logged nothing at trace level:\n{output}");
    assert!(
        theirs.iter().any(|line| line.contains("pgp::") && contains_secret(line, &fragments)),
        "expected rPGP's debug output to show the secret key bytes; the detector is broken"
    );
    for line in &ours {
        assert!(!contains_secret(line, &fragments), "key material in: {line}");
        assert!(!line.contains(PASSPHRASE), "passphrase in: {line}");
        assert!(!line.contains("a wrong one"), "passphrase in: {line}");
    }
}
