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
