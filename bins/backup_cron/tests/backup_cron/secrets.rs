//! Secrets never reach stdout, stderr, logs, or a child's environment or command line, and
//! the daemon's jobs get the secrets that only its environment holds.

use std::os::unix::fs::PermissionsExt as _;

use crate::fixture::{Fixture, GnupgHome, PASSPHRASE, count_rows};
use crate::support::{Reply, ScriptedServer, TestDir, field};

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

/// Secrets that only the daemon's environment contains reach its jobs through the
/// configuration handoff pipe. The children's environment and command line contain none.
#[test]
fn secrets_daemon_environment_reaches_jobs_not_child_environment() {
    const PASSWORD: &str = "login-password-e41b7a";
    const TOKEN: &str = "issued-token-0c55d2";
    const PING_PATH: &str = "/ping/ping-uuid-93af10";

    // /health responds after two seconds, which keeps the health job's child alive while the
    // test reads its /proc entries.
    let backend = ScriptedServer::start(|request| match request.path.as_str() {
        "/api/health" => {
            Reply::json(200, r#"{"status":"ok"}"#).delayed(std::time::Duration::from_secs(2))
        }
        "/api/auth/login" if request.body.contains(PASSWORD) => {
            Reply::json(200, &format!(r#"{{"access_token":"{TOKEN}"}}"#))
        }
        "/api/auth/login" => Reply::json(401, "{}"),
        "/api/items" | "/api/analytics/low-stock"
            if request.header("authorization") == Some(&format!("Bearer {TOKEN}")) =>
        {
            Reply::json(200, "[]")
        }
        _ => Reply::json(401, "{}"),
    });
    let dir = TestDir::new();
    dir.create_database(20, 100);
    let jobs = "[jobs.backup]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
                [jobs.health]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
                [jobs.maintenance]\nenabled = false\n[jobs.full-check]\nenabled = false\n";
    dir.write_config_with(
        "[encryption]\nmode = \"passphrase\"",
        &format!("{}/api", backend.base),
        jobs,
    );
    let password_file = dir.path().join("login-password");
    fs_err::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    fs_err::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ping_url = format!("{}{PING_PATH}", backend.base);
    let password_variable = password_file.display().to_string();
    let env = [
        ("GPG_PASSPHRASE", PASSPHRASE),
        ("INVGUARD_API__LOGIN__USERNAME", "monitor"),
        ("INVGUARD_API__LOGIN__PASSWORD_FILE", password_variable.as_str()),
        ("INVGUARD_JOBS__HEALTH__PING_URL", ping_url.as_str()),
    ];

    let mut daemon = dir.start_daemon_with_env("daemon.log", &env);
    let steps = daemon.wait_for_message("step started", &[("job", "health")], 1);
    let pid = field(&steps[0], "pid");
    let environ = fs_err::read(format!("/proc/{pid}/environ")).unwrap();
    let cmdline = fs_err::read(format!("/proc/{pid}/cmdline")).unwrap();
    let stdin = fs_err::read_link(format!("/proc/{pid}/fd/0")).unwrap();
    daemon.wait_for_message("job finished", &[("job", "health")], 1);
    daemon.wait_for_message("job finished", &[("job", "backup")], 1);
    daemon.signal(rustix::process::Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    // The child read its configuration from a pipe, and nothing secret is in its process entry.
    assert!(stdin.to_string_lossy().starts_with("pipe:"), "stdin is {stdin:?}");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("--config-stdin "), "{cmdline}");
    assert!(cmdline.ends_with(" job-step monitor "), "{cmdline}");
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    for secret in [PASSPHRASE, PASSWORD, TOKEN, PING_PATH, "PASSWORD_FILE", "GPG_PASSPHRASE"] {
        assert!(!environ.contains(secret), "{secret} in the child's environment:\n{environ}");
        assert!(!cmdline.contains(secret), "{secret} in the child's command line");
    }

    // The jobs had every secret: the health job logged in and sent its pings, the backup
    // encrypted with the passphrase.
    let low_stock: Vec<_> = daemon
        .messages("check result")
        .into_iter()
        .filter(|event| field(event, "check") == "low_stock")
        .collect();
    assert!(!low_stock.is_empty(), "log:\n{}", daemon.log_text());
    assert!(low_stock.iter().all(|event| field(event, "level") == "OK"), "{low_stock:?}");
    assert!(!backend.requests_to("/api/auth/login").is_empty(), "no login");
    assert!(!backend.requests_to(&format!("{PING_PATH}/start")).is_empty(), "no start ping");
    let backups = daemon.wait_for_message("job finished", &[("job", "backup")], 1);
    assert_eq!(field(&backups[0], "result"), "success", "log:\n{}", daemon.log_text());
    let backup = dir
        .backup_files()
        .into_iter()
        .find(|name| name.ends_with(".db.zst.gpg"))
        .expect("no backup file");
    let gnupg = GnupgHome::new();
    let passphrase_file = dir.path().join("test-passphrase");
    fs_err::write(&passphrase_file, PASSPHRASE).unwrap();
    let restored = dir.path().join("restored.db");
    gnupg.decrypt(&dir.backup_dir().join(backup), &passphrase_file, &restored);
    assert_eq!(count_rows(&restored, "items"), 20);

    // The handoff is never logged.
    let log = daemon.log_text();
    for secret in [PASSPHRASE, PASSWORD, TOKEN, PING_PATH] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
