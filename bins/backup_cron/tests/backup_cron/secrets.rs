//! The passphrase never reaches stdout or stderr, even at trace level.

use crate::fixture::{Fixture, PASSPHRASE};

fn assert_silent(fixture: &Fixture, args: &[&str]) {
    let run = fixture.run(args);
    assert!(run.code == Some(0), "{args:?} failed: {run:?}");
    assert!(!run.stdout.contains(PASSPHRASE), "passphrase on stdout of {args:?}");
    assert!(!run.stderr.contains(PASSPHRASE), "passphrase on stderr of {args:?}");
    // `config` and `list` log nothing; the others must log, or the test proves nothing.
    if args.contains(&"backup") || args.contains(&"verify") {
        assert!(run.stderr.contains("DEBUG"), "no debug output for {args:?}: {run:?}");
    }
}

#[test]
fn secrets_passphrase_file_not_logged_at_trace() {
    let mut fixture = Fixture::new("");
    fixture.env.push(("LOG_LEVEL".into(), "DEBUG".into()));
    fixture.create_database(100);

    for args in [
        &["-vv", "backup"][..],
        &["-vv", "verify", "--full"],
        &["-vv", "list"],
        &["-vv", "--log-format", "json", "list", "--json"],
        &["-vv", "config"],
    ] {
        assert_silent(&fixture, args);
    }
}

#[test]
fn secrets_passphrase_variable_not_logged_at_trace() {
    let mut fixture = Fixture::with_encryption("[encryption]\nmode = \"passphrase\"\n");
    fixture.env.push(("LOG_LEVEL".into(), "DEBUG".into()));
    fixture.env.push(("GPG_PASSPHRASE".into(), PASSPHRASE.into()));
    fixture.create_database(100);

    for args in [&["-vv", "backup"][..], &["-vv", "verify"], &["-vv", "config"]] {
        assert_silent(&fixture, args);
    }
}
