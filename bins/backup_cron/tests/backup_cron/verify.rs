//! `backup_cron verify`: passing and failing backups and the exit codes.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};

use crate::fixture::Fixture;

#[test]
fn verify_latest_by_default_passes() {
    let fixture = Fixture::new("");
    fixture.create_database(100);
    let backup = fixture.backup();

    let run = fixture.run(&["verify", "--full"]);

    run.assert_code(0);
    assert!(run.stdout.contains(&format!("ok      {}", backup.display())), "{run:?}");
    assert!(run.stdout.contains("(full)"), "{run:?}");
}

#[test]
fn verify_corrupted_backup_exits_1() {
    let fixture = Fixture::new("");
    fixture.create_database(500);
    let backup = fixture.backup();

    // Flip one byte in the middle of the ciphertext.
    let mut file = fs_err::OpenOptions::new().read(true).write(true).open(&backup).unwrap();
    let middle = file.metadata().unwrap().len() / 2;
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(middle)).unwrap();
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::Start(middle)).unwrap();
    file.write_all(&[byte[0] ^ 0x40]).unwrap();
    drop(file);

    let name = backup.file_name().unwrap().to_str().unwrap();
    let run = fixture.run(&["verify", name]);

    run.assert_code(1);
    assert!(run.stdout.contains(&format!("FAILED  {}", backup.display())), "{run:?}");
    assert!(run.stdout.contains("0 passed, 1 failed"), "{run:?}");

    let list = fixture.run(&["list", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(entries[0]["verification"]["result"], "failed", "{list:?}");
}

#[test]
fn verify_conflicting_levels_is_usage_error() {
    let fixture = Fixture::new("");

    let run = fixture.run(&["verify", "--quick", "--full"]);

    run.assert_code(2);
    assert!(run.stderr.contains("cannot be used with"), "{run:?}");
}

#[test]
fn verify_file_that_is_no_backup_is_usage_error() {
    let fixture = Fixture::new("");
    fixture.create_database(10);
    fixture.backup();

    let run = fixture.run(&["verify", fixture.database().to_str().unwrap()]);

    run.assert_code(2);
    assert!(run.stderr.contains("is not a backup file"), "{run:?}");
}

#[test]
fn verify_empty_directory_fails() {
    let fixture = Fixture::new("");
    fs_err::create_dir_all(fixture.backup_dir()).unwrap();

    let run = fixture.run(&["verify", "--all"]);

    run.assert_code(1);
    assert!(run.stderr.starts_with("error: "), "{run:?}");
}

#[test]
fn verify_public_key_without_secret_key_says_so() {
    let gnupg = crate::fixture::GnupgHome::new();
    let uid = "InvGuard Verify <verify@example.invalid>";
    let generated = gnupg
        .gpg()
        .args(["--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never"])
        .status()
        .expect("cannot run gpg; install GnuPG to run these tests");
    assert!(generated.success());
    let export = |args: &[&str]| gnupg.gpg().args(args).arg(uid).output().unwrap().stdout;
    let keys = tempfile::tempdir().unwrap();
    let public_key = keys.path().join("public.asc");
    let secret_key = keys.path().join("secret.asc");
    fs_err::write(&public_key, export(&["--armor", "--export"])).unwrap();
    fs_err::write(&secret_key, export(&["--passphrase", "", "--armor", "--export-secret-keys"]))
        .unwrap();

    let fixture = Fixture::with_encryption(&format!(
        "[encryption]\nmode = \"public-key\"\nrecipients = [\"{}\"]\n",
        public_key.display()
    ));
    fixture.create_database(200);
    fixture.run(&["backup"]).assert_code(0);

    // The backup host holds no secret key: the check passes at ciphertext level and says
    // that decryption was not checked.
    let host = fixture.run(&["verify", "--full"]);
    host.assert_code(0);
    assert!(host.stdout.contains("(ciphertext; decryption not checked"), "{host:?}");

    // On a trusted machine the secret key gives the full check.
    let trusted = fixture.run(&["verify", "--full", "--secret-key", secret_key.to_str().unwrap()]);
    trusted.assert_code(0);
    assert!(trusted.stdout.contains("(full)"), "{trusted:?}");
}

/// Writes a second configuration for `fixture` with another `[encryption]` section.
fn config_with_encryption(fixture: &Fixture, name: &str, encryption: &str) -> std::path::PathBuf {
    let path = fixture.path().join(name);
    let text = format!(
        "timezone = \"Europe/Berlin\"\n\n[database]\npath = \"{}\"\nname = \"inventory\"\n\n\
         [backup]\ndir = \"{}\"\n\n{encryption}\n",
        fixture.database().display(),
        fixture.backup_dir().display(),
    );
    fs_err::write(&path, text).unwrap();
    path
}

fn write_private(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::write(path, text).unwrap();
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn verify_and_restore_after_passphrase_rotation() {
    let fixture = Fixture::new("");
    fixture.create_database(40);
    let old_backup = fixture.backup();
    let new_passphrase = fixture.path().join("passphrase-new");
    write_private(&new_passphrase, "a-new-passphrase-after-rotation-91c2\n");
    let rotated = config_with_encryption(
        &fixture,
        "rotated.toml",
        &format!(
            "[encryption]\nmode = \"passphrase\"\npassphrase_file = \"{}\"\n\
             passphrase_files = [\"{}\"]\n",
            new_passphrase.display(),
            fixture.passphrase_file().display()
        ),
    );
    fixture.run_with_config(&rotated, &["backup"]).assert_code(0);
    let new_backup = fixture.backups().pop().unwrap();
    assert_ne!(new_backup, old_backup);

    let verify = fixture.run_with_config(&rotated, &["verify", "--all", "--full"]);

    verify.assert_code(0);
    assert!(verify.stdout.contains("2 passed, 0 failed"), "{verify:?}");
    for (backup, target) in [(&old_backup, "old.db"), (&new_backup, "new.db")] {
        let target = fixture.path().join(target);
        let name = backup.file_name().unwrap().to_str().unwrap();
        let restore =
            fixture.run_with_config(&rotated, &["restore", name, "--to", target.to_str().unwrap()]);
        restore.assert_code(0);
        assert_eq!(crate::fixture::count_rows(&target, "items"), 40);
    }

    // Without the old passphrase the old backup no longer opens: the list is what helps.
    let new_only = config_with_encryption(
        &fixture,
        "new-only.toml",
        &format!(
            "[encryption]\nmode = \"passphrase\"\npassphrase_file = \"{}\"\n",
            new_passphrase.display()
        ),
    );
    let old_name = old_backup.file_name().unwrap().to_str().unwrap();
    let refused = fixture.run_with_config(&new_only, &["verify", old_name]);
    refused.assert_code(1);
    assert!(refused.stdout.contains("wrong passphrase"), "{refused:?}");
}

/// Generates a key pair for `uid` in `gnupg` and exports it to `<dir>/<stem>.pub.asc` and
/// `<dir>/<stem>.sec.asc`.
fn generated_key(
    gnupg: &crate::fixture::GnupgHome,
    uid: &str,
    dir: &std::path::Path,
    stem: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let generated = gnupg
        .gpg()
        .args(["--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never"])
        .status()
        .expect("cannot run gpg; install GnuPG to run these tests");
    assert!(generated.success());
    let export = |args: &[&str]| gnupg.gpg().args(args).arg(uid).output().unwrap().stdout;
    let public_key = dir.join(format!("{stem}.pub.asc"));
    let secret_key = dir.join(format!("{stem}.sec.asc"));
    fs_err::write(&public_key, export(&["--armor", "--export"])).unwrap();
    fs_err::write(&secret_key, export(&["--passphrase", "", "--armor", "--export-secret-keys"]))
        .unwrap();
    (public_key, secret_key)
}

#[test]
fn verify_and_restore_after_secret_key_rotation() {
    let gnupg = crate::fixture::GnupgHome::new();
    let keys = tempfile::tempdir().unwrap();
    let (old_public, old_secret) =
        generated_key(&gnupg, "InvGuard Old <old@example.invalid>", keys.path(), "old");
    let (new_public, new_secret) =
        generated_key(&gnupg, "InvGuard New <new@example.invalid>", keys.path(), "new");
    let public_key_config = |public: &std::path::Path| {
        format!("[encryption]\nmode = \"public-key\"\nrecipients = [\"{}\"]\n", public.display())
    };
    let fixture = Fixture::with_encryption(&public_key_config(&old_public));
    fixture.create_database(30);
    let old_backup = fixture.backup();
    let rotated_host =
        config_with_encryption(&fixture, "host.toml", &public_key_config(&new_public));
    fixture.run_with_config(&rotated_host, &["backup"]).assert_code(0);
    let new_backup = fixture.backups().pop().unwrap();
    assert_ne!(new_backup, old_backup);

    let trusted = config_with_encryption(
        &fixture,
        "trusted.toml",
        &format!(
            "{}secret_key_file = \"{}\"\nsecret_key_files = [\"{}\"]\n",
            public_key_config(&new_public),
            new_secret.display(),
            old_secret.display()
        ),
    );
    let verify = fixture.run_with_config(&trusted, &["verify", "--all", "--full"]);

    verify.assert_code(0);
    assert!(verify.stdout.contains("2 passed, 0 failed"), "{verify:?}");
    assert_eq!(verify.stdout.matches("(full)").count(), 2, "{verify:?}");
    for (backup, target) in [(&old_backup, "old.db"), (&new_backup, "new.db")] {
        let target = fixture.path().join(target);
        let name = backup.file_name().unwrap().to_str().unwrap();
        let restore =
            fixture.run_with_config(&trusted, &["restore", name, "--to", target.to_str().unwrap()]);
        restore.assert_code(0);
        assert_eq!(crate::fixture::count_rows(&target, "items"), 30);
    }

    // With only the new secret key the old backup cannot be restored.
    let old_name = old_backup.file_name().unwrap().to_str().unwrap();
    let target = fixture.path().join("refused.db");
    let new_key_only = fixture.run(&[
        "restore",
        old_name,
        "--to",
        target.to_str().unwrap(),
        "--secret-key",
        new_secret.to_str().unwrap(),
    ]);
    new_key_only.assert_code(1);
    assert!(!target.exists());
}

#[test]
fn verify_all_reports_unreadable_manifest_and_checks_the_rest() {
    let fixture = Fixture::new("");
    fixture.create_database(20);
    let damaged = fixture.backup();
    let good = fixture.backup();
    let stem = damaged.file_name().unwrap().to_str().unwrap().trim_end_matches(".db.zst.gpg");
    let manifest = fixture.backup_dir().join(format!("{stem}.manifest.json"));
    fs_err::write(&manifest, b"{\"format_version\": 1, \"created_utc\"").unwrap();

    let run = fixture.run(&["verify", "--all"]);

    run.assert_code(1);
    assert!(run.stdout.contains(&format!("ok      {}", good.display())), "{run:?}");
    assert!(run.stdout.contains(&format!("FAILED  {}", damaged.display())), "{run:?}");
    assert!(run.stdout.contains("cannot be read (invalid JSON"), "{run:?}");
    assert!(run.stdout.contains("1 passed, 1 failed"), "{run:?}");
}
