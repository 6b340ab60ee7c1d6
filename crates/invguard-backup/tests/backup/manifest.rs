//! Manifests and names: the documented format, unknown versions, names that never collide.

use chrono::{TimeZone, Utc};
use invguard_backup::{
    BackupError, BackupOptions, CancelToken, Manifest, VerifyTarget, list_backups, run_backup,
    verify,
};
use invguard_config::VerifyLevel;
use invguard_crypto::DecryptionKeys;

use super::support::{Setup, redact};

#[test]
fn backup_manifest_matches_snapshot() {
    let setup = Setup::new(1_000);
    let timestamp = Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap();
    let options = BackupOptions { timestamp: Some(timestamp), ..BackupOptions::default() };

    let outcome = run_backup(&setup.config(), &options).unwrap();

    let json: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&outcome.manifest_path).unwrap()).unwrap();
    insta::assert_json_snapshot!(json, {
        ".database.source_path" => "[path]",
        ".plaintext.sha256" => "[sha256]",
        ".ciphertext.sha256" => "[sha256]",
        ".ciphertext.size" => "[size]",
        ".sqlite.schema_hash" => "[sha256]",
        ".verification.time" => "[time]",
    });
}

#[test]
fn backup_same_second_gets_sequence_suffix() {
    let setup = Setup::new(100);
    let timestamp = Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap();
    let options = BackupOptions { timestamp: Some(timestamp), ..BackupOptions::default() };
    let config = setup.config();

    let names: Vec<String> = (0..3)
        .map(|_| run_backup(&config, &options).unwrap())
        .map(|outcome| outcome.path.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();

    assert_eq!(
        names,
        [
            "inventory-20261204T020000Z.db.zst.gpg",
            "inventory-20261204T020000Z-2.db.zst.gpg",
            "inventory-20261204T020000Z-3.db.zst.gpg",
        ]
    );
    let listed: Vec<String> =
        list_backups(&setup.backups).unwrap().into_iter().map(|entry| entry.name).collect();
    assert_eq!(listed, names.iter().rev().cloned().collect::<Vec<_>>());
}

#[test]
fn list_flags_unknown_manifest_version() {
    let setup = Setup::new(10);
    let config = setup.plain_config();
    let old = setup.backup_at_fixed_time(&config);
    let newer = setup.backup(&config);
    let text = fs_err::read_to_string(&old.manifest_path).unwrap();
    fs_err::write(
        &old.manifest_path,
        text.replace("\"format_version\": 1", "\"format_version\": 7"),
    )
    .unwrap();

    let entries = list_backups(&setup.backups).unwrap();

    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].name, newer.manifest.file.name);
    assert!(entries[0].is_verified());
    let flagged = &entries[1];
    assert_eq!(flagged.name, "inventory-20261204T020000Z.db.zst");
    assert_eq!(flagged.created_utc, old.manifest.created_utc);
    assert!(flagged.manifest.is_none(), "an unknown version must never be parsed");
    assert!(!flagged.is_verified());
    let reason = flagged.manifest_error.as_deref().unwrap();
    assert!(reason.starts_with("format_version 7 is unknown"), "{reason}");
    let error = Manifest::read(&old.manifest_path).unwrap_err();
    assert!(matches!(error, BackupError::UnknownManifestVersion { version: 7, .. }), "{error:?}");
    insta::assert_snapshot!(redact(&error.to_string(), setup.root.path()));
}

#[test]
fn list_and_verify_all_go_on_past_corrupt_manifest() {
    let setup = Setup::new(10);
    let config = setup.plain_config();
    let corrupt = setup.backup_at_fixed_time(&config);
    let good = setup.backup(&config);
    fs_err::write(&corrupt.manifest_path, b"{\"format_version\": 1, \"created_utc\": ").unwrap();

    let entries = list_backups(&setup.backups).unwrap();
    let outcomes = verify(
        &config,
        &VerifyTarget::All,
        VerifyLevel::Quick,
        &DecryptionKeys::default(),
        &CancelToken::new(),
    )
    .unwrap();

    let flagged = entries.iter().find(|entry| entry.manifest_error.is_some()).unwrap();
    assert_eq!(flagged.path, corrupt.path);
    assert!(flagged.manifest_error.as_deref().unwrap().starts_with("invalid JSON"));
    assert_eq!(outcomes.len(), 2);
    let failed: Vec<_> = outcomes.iter().filter(|outcome| !outcome.passed()).collect();
    assert_eq!(failed.len(), 1, "{outcomes:?}");
    assert_eq!(failed[0].backup, corrupt.path);
    let message = failed[0].result.as_ref().unwrap_err().to_string();
    assert!(message.contains("cannot be read (invalid JSON"), "{message}");
    assert!(outcomes.iter().any(|outcome| outcome.backup == good.path && outcome.passed()));
    let text = fs_err::read_to_string(&corrupt.manifest_path).unwrap();
    assert_eq!(text, "{\"format_version\": 1, \"created_utc\": ", "verify must not rewrite it");
}

#[test]
fn list_shows_legacy_and_incomplete_backups() {
    let setup = Setup::new(10);
    let outcome = setup.backup(&setup.plain_config());
    fs_err::write(setup.backups.join("inventory_backup_20240101_020000.db.gpg"), b"legacy")
        .unwrap();
    fs_err::write(setup.backups.join("inventory-20200101T000000Z.db.zst.gpg"), b"no manifest")
        .unwrap();

    let entries = list_backups(&setup.backups).unwrap();

    let summary: Vec<(&str, bool, bool, bool)> = entries
        .iter()
        .map(|entry| (entry.name.as_str(), entry.legacy, entry.incomplete, entry.is_verified()))
        .collect();
    let name = outcome.manifest.file.name.as_str();
    // The legacy file is dated by its mtime (now), so it sorts before the 2020 backup.
    assert_eq!(summary[2], ("inventory-20200101T000000Z.db.zst.gpg", false, true, false));
    assert!(summary.contains(&(name, false, false, true)));
    assert!(summary.contains(&("inventory_backup_20240101_020000.db.gpg", true, false, false)));
    let json =
        serde_json::to_value(&entries[summary.iter().position(|s| s.0 == name).unwrap()]).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "name",
        "created_utc",
        "size",
        "ciphertext_sha256",
        "compression_ratio",
        "verification",
        "rows_total",
        "encryption",
        "legacy",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
}
