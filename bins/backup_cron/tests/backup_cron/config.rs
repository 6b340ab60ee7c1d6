//! `backup_cron config` and configuration errors.

use crate::fixture::Fixture;

#[test]
fn config_prints_origins_and_redacts_secrets() {
    let mut fixture = Fixture::new("[retention]\nkeep_daily = 7\n");
    fixture.env.push(("BACKUP_RETENTION_DAYS".into(), "30".into()));
    fixture.env.push(("INVGUARD_RETENTION__KEEP_LAST".into(), "5".into()));

    let run = fixture.run(&["config"]);

    run.assert_code(0);
    assert!(!run.stdout.contains(crate::fixture::PASSPHRASE), "{run:?}");
    let dir = fixture.path().display().to_string();
    insta::with_settings!({ filters => vec![(dir.as_str(), "[DIR]")] }, {
        insta::assert_snapshot!(run.stdout);
    });
}

#[test]
fn config_invalid_retention_days_exits_2() {
    let mut fixture = Fixture::new("");
    fixture.env.push(("BACKUP_RETENTION_DAYS".into(), "abc".into()));

    let run = fixture.run(&["backup"]);

    run.assert_code(2);
    assert!(run.stderr.contains("BACKUP_RETENTION_DAYS"), "{run:?}");
    assert!(run.stderr.contains("\"abc\""), "{run:?}");
}

#[test]
fn config_unreadable_file_exits_2() {
    let fixture = Fixture::new("");
    let missing = fixture.path().join("missing.toml");

    let run = Fixture::run_with_config(&fixture, &missing, &["list"]);

    run.assert_code(2);
    assert!(run.stderr.contains("missing.toml"), "{run:?}");
}

#[test]
fn usage_unknown_subcommand_exits_2() {
    let fixture = Fixture::new("");

    let run = fixture.run(&["frobnicate"]);

    run.assert_code(2);
    assert!(run.stderr.contains("unrecognized subcommand"), "{run:?}");
}

#[test]
fn help_documents_commands_and_exit_codes() {
    let fixture = Fixture::new("");

    let run = fixture.run(&["--help"]);

    run.assert_code(0);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn config_schedule_without_any_date_exits_2_like_schedule() {
    let mut fixture = Fixture::new("");
    fixture.env.push(("INVGUARD_JOBS__BACKUP__SCHEDULE".into(), "0 0 30 2 *".into()));

    let config = fixture.run(&["config"]);
    let schedule = fixture.run(&["schedule"]);

    config.assert_code(2);
    schedule.assert_code(2);
    assert!(config.stderr.contains("no date matches"), "{config:?}");
    assert_eq!(config.stderr, schedule.stderr);
    assert!(config.stdout.is_empty(), "{config:?}");
}

#[test]
fn config_passphrase_file_with_windows_line_ending_exits_2() {
    let fixture = Fixture::new("");
    fs_err::write(fixture.passphrase_file(), format!("{}\r\n", crate::fixture::PASSPHRASE))
        .unwrap();

    let run = fixture.run(&["config"]);

    run.assert_code(2);
    let expected = format!(
        "error: encryption.passphrase_file {path} contains a carriage return (a Windows line \
         ending): gpg keeps it as part of the passphrase, so the emergency restore with \
         `gpg --passphrase-file` would not decrypt the backups; remove it with \
         `sed -i 's/\\r$//' {path}`\n",
        path = fixture.passphrase_file().display()
    );
    assert_eq!(run.stderr, expected, "{run:?}");
}
