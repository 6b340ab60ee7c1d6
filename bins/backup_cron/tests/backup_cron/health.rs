//! `backup_cron health`, the container health check.

use std::time::SystemTime;

use chrono::{TimeDelta, Utc};

use crate::support::{Behaviour, Reply, ScriptedServer, Server, TestDir};

/// Takes the daemon lock in the state directory as a running daemon does, dated `age` ago.
/// The lock lasts as long as the returned file is open.
fn hold_daemon_lock(dir: &TestDir, age: TimeDelta) -> fs_err::File {
    let state_dir = dir.state_dir();
    fs_err::create_dir_all(&state_dir).unwrap();
    let path = state_dir.join("daemon.lock");
    fs_err::write(&path, "pid=4242\n").unwrap();

    let file = fs_err::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    file.file().try_lock().unwrap();
    file.file().set_modified(SystemTime::now() - age.to_std().unwrap()).unwrap();
    file
}

fn write_state(
    dir: &TestDir,
    first_started: chrono::DateTime<Utc>,
    running: bool,
    heartbeat_age: TimeDelta,
) {
    let state_dir = dir.state_dir();
    fs_err::create_dir_all(&state_dir).unwrap();
    let stopped = if running { None } else { Some(Utc::now().to_rfc3339()) };
    let first = first_started.to_rfc3339();
    let state = serde_json::json!({
        "format_version": 1,
        "daemon": {
            "pid": 4242,
            "started_utc": first,
            "first_started_utc": first,
            "stopped_utc": stopped,
        },
        "jobs": {},
    });
    let state = state.to_string();
    fs_err::write(state_dir.join("jobs.json"), state).unwrap();
    let heartbeat =
        format!(r#"{{"pid": 4242, "time_utc": "{}"}}"#, (Utc::now() - heartbeat_age).to_rfc3339());
    fs_err::write(state_dir.join("heartbeat.json"), heartbeat).unwrap();
}

fn health(dir: &TestDir) -> (Option<i32>, String, String) {
    let output = dir.output(&["health"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (output.status.code(), stdout, stderr)
}

#[test]
fn health_passes_after_recent_daemon_start() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    write_state(&dir, Utc::now() - TimeDelta::hours(1), true, TimeDelta::seconds(5));
    let _lock = hold_daemon_lock(&dir, TimeDelta::hours(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
    assert_eq!(server.paths(), ["/api/health"]);
}

#[test]
fn health_fails_with_reasons() {
    let server = Server::start(Behaviour::Failing);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    write_state(&dir, Utc::now() - TimeDelta::hours(30), true, TimeDelta::minutes(10));
    let _lock = hold_daemon_lock(&dir, TimeDelta::hours(30));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    let reasons: Vec<_> = stderr.lines().collect();
    assert_eq!(reasons.len(), 3, "{stderr}");
    assert!(reasons[0].contains("GET /health returned HTTP 500 (CRITICAL)"), "{stderr}");
    assert!(reasons[1].contains("heartbeat is 600s old"), "{stderr}");
    assert!(reasons[2].starts_with("no verified backup in "), "{stderr}");
}

#[test]
fn health_ignores_heartbeat_of_stopped_daemon() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    write_state(&dir, Utc::now() - TimeDelta::hours(2), false, TimeDelta::days(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
}

#[test]
fn health_ignores_state_of_killed_daemon() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    // The state file still records a running daemon, but no process holds the daemon lock.
    write_state(&dir, Utc::now() - TimeDelta::hours(2), true, TimeDelta::days(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
    assert!(stderr.contains("no process holds the daemon lock"), "{stderr}");
    assert!(stderr.contains("4242"), "{stderr}");
}

#[test]
fn health_fails_on_stale_heartbeat_of_locked_daemon() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    // The state file records a stopped daemon, but a process holds the lock, so one runs.
    write_state(&dir, Utc::now() - TimeDelta::hours(2), false, TimeDelta::minutes(10));
    let _lock = hold_daemon_lock(&dir, TimeDelta::hours(2));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("heartbeat is 600s old (pid 4242"), "{stderr}");
}

#[test]
fn health_fails_on_locked_daemon_without_heartbeat() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    let _lock = hold_daemon_lock(&dir, TimeDelta::minutes(5));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("took its lock 300s ago and wrote no heartbeat"), "{stderr}");
}

#[test]
fn health_passes_daemon_that_just_took_its_lock() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");
    // A heartbeat left by an earlier daemon, and a new daemon that has not written one yet.
    write_state(&dir, Utc::now() - TimeDelta::hours(2), true, TimeDelta::hours(1));
    let _lock = hold_daemon_lock(&dir, TimeDelta::seconds(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
}

#[test]
fn health_fails_without_backup_or_daemon() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, "");

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no verified backup"), "{stderr}");
}

#[test]
fn health_passes_with_fresh_verified_backup() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.create_database(20, 100);
    dir.write_config(&server.url, "");
    let backup = dir.output(&["backup"]);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));

    // No daemon state at all: the verified backup alone satisfies the backup age check.
    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
}

#[test]
fn health_fails_on_unhealthy_status_in_body() {
    let server = ScriptedServer::start(|_| Reply::json(200, r#"{"status":"unhealthy"}"#));
    let dir = TestDir::new();
    dir.write_config(&format!("{}/api", server.base), "");
    write_state(&dir, Utc::now() - TimeDelta::hours(1), true, TimeDelta::seconds(5));
    let _lock = hold_daemon_lock(&dir, TimeDelta::hours(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("the body reports status \"unhealthy\""), "{stderr}");
}

#[test]
fn health_does_not_follow_redirect_to_other_host() {
    let elsewhere = ScriptedServer::start(|_| Reply::json(200, r#"{"status":"ok"}"#));
    let target = format!("{}/api/health", elsewhere.base);
    let server = ScriptedServer::start(move |_| Reply {
        location: Some(target.clone()),
        ..Reply::json(302, "")
    });
    let dir = TestDir::new();
    dir.write_config(&format!("{}/api", server.base), "");
    write_state(&dir, Utc::now() - TimeDelta::hours(1), true, TimeDelta::seconds(5));
    let _lock = hold_daemon_lock(&dir, TimeDelta::hours(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("redirect to another host"), "{stderr}");
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn health_fails_on_old_backup() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.create_database(20, 100);
    // 0.0002 hours is 0.72 s, so the backup is too old after a second.
    dir.write_config(&server.url, "[monitor]\nbackup_failure_hours = 0.0002\n");
    let backup = dir.output(&["backup"]);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    std::thread::sleep(std::time::Duration::from_secs(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("the newest verified backup inventory-"), "{stderr}");
    assert!(stderr.contains("more than backup_failure_hours = 0.0002"), "{stderr}");
}

#[test]
fn health_help_says_what_it_checks() {
    let dir = TestDir::new();
    dir.write_config("http://127.0.0.1:9/api", "");
    let output = dir.output(&["health", "--help"]);
    assert!(output.status.success());
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
}

#[test]
fn health_passes_slow_backend_with_warning() {
    let server = Server::start(Behaviour::Slow(std::time::Duration::from_millis(200)));
    let dir = TestDir::new();
    dir.write_config(&server.url, "[monitor]\napi_response_time_ms = 50\n");
    write_state(&dir, Utc::now() - TimeDelta::hours(1), true, TimeDelta::seconds(5));
    let _lock = hold_daemon_lock(&dir, TimeDelta::hours(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
    assert!(stderr.contains("backend API is slow"), "{stderr}");
}

/// Runs `backup` `count` times and returns the manifest names, newest first.
fn make_backups(dir: &TestDir, count: usize) -> Vec<String> {
    for _ in 0..count {
        let backup = dir.output(&["backup"]);
        assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    }
    let mut manifests: Vec<String> =
        dir.backup_files().into_iter().filter(|name| name.ends_with(".manifest.json")).collect();
    assert_eq!(manifests.len(), count, "{manifests:?}");
    // Names sort by time, and a second backup in the same second gets the suffix `-2`.
    manifests.sort_by_key(|name| (name.len(), name.clone()));
    manifests.reverse();
    manifests
}

#[test]
fn health_logs_corrupt_newest_manifest() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.create_database(20, 100);
    dir.write_config(&server.url, "");
    let manifests = make_backups(&dir, 2);
    fs_err::write(dir.backup_dir().join(&manifests[0]), "{ not json").unwrap();

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
    let warning = stderr.lines().find(|line| line.contains(&manifests[0]));
    let warning = warning.unwrap_or_else(|| panic!("the corrupt manifest is not named:\n{stderr}"));
    assert!(warning.contains("unreadable manifest"), "{stderr}");
    assert!(warning.contains("invalid JSON"), "{stderr}");
}

#[test]
fn health_fails_on_old_backup_behind_unreadable_manifest() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.create_database(20, 100);
    // 0.0002 hours is 0.72 s, so the good backup is too old after a second.
    dir.write_config(&server.url, "[monitor]\nbackup_failure_hours = 0.0002\n");
    let manifests = make_backups(&dir, 2);
    let newest = dir.backup_dir().join(&manifests[0]);
    let text = fs_err::read_to_string(&newest).unwrap();
    let future = text.replace("\"format_version\": 1", "\"format_version\": 99");
    assert_ne!(text, future, "no format_version in {text}");
    fs_err::write(&newest, future).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    let good_stem = manifests[1].trim_end_matches(".manifest.json");
    let reason = stderr.lines().find(|line| line.starts_with("the newest verified backup"));
    let reason = reason.unwrap_or_else(|| panic!("no backup age reason:\n{stderr}"));
    assert!(reason.contains(good_stem), "{stderr}");
    assert!(reason.contains("1 newer backup has an unreadable manifest"), "{stderr}");
    assert!(stderr.contains("format_version 99"), "{stderr}");
}

#[test]
fn health_fails_when_only_backup_has_unreadable_manifest() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.create_database(20, 100);
    dir.write_config(&server.url, "");
    let manifests = make_backups(&dir, 1);
    fs_err::write(dir.backup_dir().join(&manifests[0]), "").unwrap();

    let (code, stdout, stderr) = health(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no verified backup in "), "{stderr}");
    assert!(stderr.contains("1 backup has an unreadable manifest"), "{stderr}");
    assert!(stderr.contains(&manifests[0]), "{stderr}");
}
