//! Damaged backups fail verification, and the manifest records it.

use std::path::Path;

use invguard_backup::{
    BackupError, BackupFormat, CancelToken, Manifest, VerificationResult, VerifyTarget,
    decode_backup, verify,
};
use invguard_config::{Config, VerifyLevel};
use invguard_crypto::{DecryptionKeys, Passphrase};

use super::support::{PASSPHRASE, Setup, redact};

fn keys(passphrase: &str) -> DecryptionKeys {
    DecryptionKeys::passphrase(Passphrase::new(passphrase.to_owned()))
}

fn verify_file(config: &Config, backup: &Path, keys: &DecryptionKeys) -> Result<(), BackupError> {
    let target = VerifyTarget::Files(vec![backup.to_owned()]);
    let mut outcomes =
        verify(config, &target, VerifyLevel::Quick, keys, &CancelToken::new()).unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0).result
}

fn recorded_result(manifest: &Path) -> VerificationResult {
    Manifest::read(manifest).unwrap().verification.result
}

#[test]
fn verify_flipped_bytes_fail_and_are_recorded() {
    let setup = Setup::new(3_000);
    let config = setup.config();
    let outcome = setup.backup(&config);
    let original = fs_err::read(&outcome.path).unwrap();
    let length = original.len();

    for (place, offset) in [("start", 0), ("middle", length / 2), ("end", length - 1)] {
        let mut damaged = original.clone();
        damaged[offset] ^= 0x01;
        fs_err::write(&outcome.path, &damaged).unwrap();

        let error = verify_file(&config, &outcome.path, &keys(PASSPHRASE)).unwrap_err();
        assert!(
            matches!(&error, BackupError::Mismatch { what, .. } if what == "backup file sha256"),
            "{place}: {error:?}"
        );
        assert_eq!(recorded_result(&outcome.manifest_path), VerificationResult::Failed, "{place}");

        // Without the manifest hash, authenticated decryption or zstd still catches it.
        let decoded = decode_backup(
            &outcome.path,
            BackupFormat::ZstdOpenPgp,
            Some(&keys(PASSPHRASE)),
            setup.root.path(),
            &CancelToken::new(),
            None,
        );
        assert!(decoded.is_err(), "{place}: a damaged backup decoded");
    }

    fs_err::write(&outcome.path, &original).unwrap();
    verify_file(&config, &outcome.path, &keys(PASSPHRASE)).unwrap();
    assert_eq!(recorded_result(&outcome.manifest_path), VerificationResult::Passed);
    assert_eq!(super::support::names_in(&setup.temp_dir()), Vec::<String>::new());
}

#[test]
fn verify_truncated_backup_fails() {
    let setup = Setup::new(3_000);
    let config = setup.config();
    let outcome = setup.backup(&config);
    let original = fs_err::read(&outcome.path).unwrap();
    fs_err::write(&outcome.path, &original[..original.len() - 100]).unwrap();

    let error = verify_file(&config, &outcome.path, &keys(PASSPHRASE)).unwrap_err();

    assert!(
        matches!(&error, BackupError::Mismatch { what, .. } if what == "backup file size"),
        "{error:?}"
    );
    assert_eq!(recorded_result(&outcome.manifest_path), VerificationResult::Failed);
    let manifest = Manifest::read(&outcome.manifest_path).unwrap();
    let message = manifest.verification.message.unwrap();
    assert!(message.contains("backup file size"), "{message}");
    let decoded = decode_backup(
        &outcome.path,
        BackupFormat::ZstdOpenPgp,
        Some(&keys(PASSPHRASE)),
        setup.root.path(),
        &CancelToken::new(),
        None,
    );
    assert!(matches!(decoded, Err(BackupError::Corrupt { .. })), "{decoded:?}");
    let names = super::support::names_in(setup.root.path());
    assert!(
        names.iter().all(|name| !name.starts_with("invguard-")),
        "decoded file left: {names:?}"
    );
}

#[test]
fn verify_wrong_passphrase_has_own_message() {
    let setup = Setup::new(100);
    let config = setup.config();
    let outcome = setup.backup_at_fixed_time(&config);

    let error = verify_file(&config, &outcome.path, &keys("not the passphrase")).unwrap_err();

    assert!(matches!(error, BackupError::WrongPassphrase { .. }), "{error:?}");
    // A wrong key says nothing about the backup, so the recorded result stays passed.
    assert_eq!(recorded_result(&outcome.manifest_path), VerificationResult::Passed);
    insta::assert_snapshot!(redact(&error.to_string(), setup.root.path()));
}
