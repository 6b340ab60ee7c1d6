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
