//! The scheduler daemon: runs on time, overlap, cancellation, reload, catch-up, shutdown.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rustix::process::Signal;

use crate::support::{Behaviour, Reply, ScriptedServer, Server, TestDir, field};

/// Only the health job, every two seconds, against `url`.
fn health_only(url: &str, health: &str) -> String {
    let _ = url;
    format!(
        "[jobs.backup]\nenabled = false\n\
         [jobs.maintenance]\nenabled = false\n\
         [jobs.full-check]\nenabled = false\n\
         [jobs.health]\n{health}\n"
    )
}

fn time(event: &serde_json::Value, name: &str) -> DateTime<Utc> {
    let text = field(event, name);
    text.parse().unwrap_or_else(|e| panic!("field {name} = {text:?} is not a time: {e}"))
}

#[test]
fn run_health_job_on_time() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(
        &server.url,
        &health_only(&server.url, "schedule = \"*/2 * * * * *\"\nretries = 0"),
    );

    let mut daemon = dir.start_daemon("daemon.log");
    let finished = daemon.wait_for_message("job finished", &[("job", "health")], 3);
    let started = daemon.messages("job started");

    // Every run stands for an even second, each one a different slot.
    let mut slots: Vec<DateTime<Utc>> =
        started.iter().map(|event| time(event, "scheduled")).collect();
    for slot in &slots {
        assert_eq!(slot.timestamp() % 2, 0, "slot {slot} is not on the schedule");
    }
    let count = slots.len();
    slots.dedup();
    assert_eq!(slots.len(), count, "a slot ran twice");
    for event in &finished {
        assert!(!field(event, "duration_ms").is_empty(), "no duration in {event}");
        assert!(!field(event, "result").is_empty(), "no result in {event}");
    }
    assert!(server.paths().iter().any(|path| path == "/api/health"), "{:?}", server.paths());

    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    let state: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(dir.state_dir().join("jobs.json")).unwrap())
            .unwrap();
    assert_eq!(state["format_version"], 1);
    assert!(state["jobs"]["health"]["last_result"].is_string(), "{state}");
    assert!(state["daemon"]["stopped_utc"].is_string(), "{state}");
}

#[test]
fn run_overlapping_run_skipped_and_logged_once() {
    let server = Server::start(Behaviour::Slow(Duration::from_secs(6)));
    let dir = TestDir::new();
    let extra =
        health_only(&server.url, "schedule = \"* * * * * *\"\nretries = 0\nmax_runtime = \"60s\"");
    dir.write_config(&server.url, &format!("{extra}\n[api]\n"));
    // The read timeout must outlast the slow answer.
    let config = fs_err::read_to_string(dir.config_path()).unwrap().replace("[api]\n\n", "");
    let config = config.replacen("[api]\n", "[api]\nread_timeout = \"30s\"\n", 1);
    fs_err::write(dir.config_path(), config).unwrap();

    let mut daemon = dir.start_daemon("daemon.log");
    let finished = daemon.wait_for_message("job finished", &[("job", "health")], 1);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    let skip_warnings = daemon
        .messages("previous run still running, skipping this run (further skips are counted)");
    assert_eq!(skip_warnings.len(), 1, "log:\n{}", daemon.log_text());
    let summaries = daemon.messages("runs skipped while the previous run was still running");
    assert_eq!(summaries.len(), 1, "log:\n{}", daemon.log_text());
    let skipped: u32 = field(&summaries[0], "skipped").parse().unwrap();
    assert!(skipped >= 2, "only {skipped} runs skipped during a 6 s run");
    assert_eq!(finished.len(), 1);
}

#[test]
fn run_hung_job_cancelled_at_max_runtime() {
    let server = Server::start(Behaviour::Hang);
    let dir = TestDir::new();
    let extra =
        health_only(&server.url, "schedule = \"*/2 * * * * *\"\nretries = 0\nmax_runtime = \"3s\"");
    dir.write_config(&server.url, &extra);
    let config = fs_err::read_to_string(dir.config_path()).unwrap();
    let config = config.replacen("[api]\n", "[api]\nread_timeout = \"120s\"\n", 1);
    fs_err::write(dir.config_path(), config).unwrap();

    let mut daemon = dir.start_daemon("daemon.log");
    let finished = daemon.wait_for_message("job finished", &[("job", "health")], 1);
    assert_eq!(field(&finished[0], "result"), "timed-out");
    assert!(field(&finished[0], "error").contains("max_runtime"), "{}", finished[0]);

    // The child that hung is gone: its pid no longer exists.
    let steps = daemon.messages("step started");
    let pid: i32 = field(&steps[0], "pid").parse().unwrap();
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    assert!(rustix::process::test_kill_process(pid).is_err(), "child {pid:?} still exists");

    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);
    let state = fs_err::read_to_string(dir.state_dir().join("jobs.json")).unwrap();
    assert!(state.contains("timed-out"), "{state}");
}

#[test]
fn run_sighup_reload_valid_and_invalid() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(
        &server.url,
        &health_only(&server.url, "schedule = \"*/2 * * * * *\"\nretries = 0"),
    );
    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("job finished", &[("job", "health")], 1);

    // Invalid: the old configuration stays and the job keeps running.
    dir.write_config(&server.url, &health_only(&server.url, "schedule = \"61 * * * * *\""));
    daemon.signal(Signal::HUP);
    daemon.wait_for_message(
        "configuration reload rejected, keeping the current configuration",
        &[],
        1,
    );
    let before = daemon.messages("job finished").len();
    daemon.wait_for_message("job finished", &[("job", "health")], before + 1);

    // Valid: the health job is disabled and the backup job enabled for a far date.
    let reloaded = "[jobs.backup]\nschedule = \"0 2 1 1 *\"\n\
                    [jobs.maintenance]\nenabled = false\n\
                    [jobs.full-check]\nenabled = false\n\
                    [jobs.health]\nenabled = false\n";
    dir.write_config(&server.url, reloaded);
    daemon.signal(Signal::HUP);
    let done = daemon.wait_for_message("configuration reloaded", &[], 1);
    assert_eq!(field(&done[0], "jobs"), "backup");

    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);
}

#[test]
fn run_restart_catches_up_missed_run_once() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    let health = "schedule = \"*/2 * * * * *\"\nretries = 0\ncatch_up = \"1h\"";
    dir.write_config(&server.url, &health_only(&server.url, health));

    // First start: no state, so nothing is caught up.
    let mut first = dir.start_daemon("first.log");
    let started = first.wait_for_message("daemon started", &[], 1);
    let first_start = time(&started[0], "timestamp");
    first.wait_for_message("job finished", &[("job", "health")], 1);
    first.signal(Signal::TERM);
    assert_eq!(first.wait_exit(), 0);
    for event in first.messages("job started") {
        assert!(
            time(&event, "scheduled")
                >= first_start.with_timezone(&Utc) - chrono::TimeDelta::seconds(1)
        );
    }

    // Several slots pass while the daemon is down.
    std::thread::sleep(Duration::from_secs(5));

    let mut second = dir.start_daemon("second.log");
    let started = second.wait_for_message("daemon started", &[], 1);
    let second_start = time(&started[0], "timestamp");
    second.wait_for_message("job finished", &[("job", "health")], 2);
    second.signal(Signal::TERM);
    assert_eq!(second.wait_exit(), 0);

    let caught_up: Vec<_> = second
        .messages("job started")
        .into_iter()
        .filter(|event| time(event, "scheduled") < second_start - chrono::TimeDelta::seconds(1))
        .collect();
    assert_eq!(caught_up.len(), 1, "log:\n{}", second.log_text());
}

#[test]
fn run_restart_without_catch_up_skips_missed_run() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    let health = "schedule = \"*/2 * * * * *\"\nretries = 0\ncatch_up = \"0s\"";
    dir.write_config(&server.url, &health_only(&server.url, health));

    let mut first = dir.start_daemon("first.log");
    first.wait_for_message("job finished", &[("job", "health")], 1);
    first.signal(Signal::TERM);
    assert_eq!(first.wait_exit(), 0);
    std::thread::sleep(Duration::from_secs(5));

    let mut second = dir.start_daemon("second.log");
    let started = second.wait_for_message("daemon started", &[], 1);
    let second_start = time(&started[0], "timestamp");
    second.wait_for_message(
        "missed run outside the catch_up window, skipped",
        &[("job", "health")],
        1,
    );
    second.wait_for_message("job finished", &[("job", "health")], 1);
    second.signal(Signal::TERM);
    assert_eq!(second.wait_exit(), 0);

    for event in second.messages("job started") {
        assert!(
            time(&event, "scheduled") >= second_start - chrono::TimeDelta::seconds(1),
            "{event}"
        );
    }
}

#[test]
fn run_sigterm_cancels_running_job_after_grace() {
    let server = Server::start(Behaviour::Hang);
    let dir = TestDir::new();
    let extra = health_only(
        &server.url,
        "schedule = \"*/2 * * * * *\"\nretries = 0\nmax_runtime = \"120s\"",
    );
    dir.write_config(&server.url, &extra);
    let config = fs_err::read_to_string(dir.config_path()).unwrap();
    fs_err::write(
        dir.config_path(),
        config.replacen("[api]\n", "[api]\nread_timeout = \"300s\"\n", 1),
    )
    .unwrap();

    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("step started", &[], 1);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    assert_eq!(daemon.messages("grace period over, cancelling running jobs").len(), 1);
    let finished = daemon.messages("job finished");
    assert_eq!(finished.len(), 1, "log:\n{}", daemon.log_text());
    assert_eq!(field(&finished[0], "result"), "cancelled");
}

const PASSPHRASE: &str = "daemon-test-passphrase-4d1e";

/// Only the backup job, with the passphrase from `GPG_PASSPHRASE`.
fn backup_only(dir: &TestDir, backup: &str) {
    let extra = format!(
        "[jobs.backup]\n{backup}\n\
         [jobs.maintenance]\nenabled = false\n\
         [jobs.full-check]\nenabled = false\n\
         [jobs.health]\nenabled = false\n"
    );
    dir.write_config_with("[encryption]\nmode = \"passphrase\"", "http://127.0.0.1:9/api", &extra);
}

#[test]
fn run_backup_job_gets_passphrase_through_pipe() {
    let dir = TestDir::new();
    dir.create_database(50, 100);
    backup_only(&dir, "schedule = \"*/2 * * * * *\"\nretries = 0");

    // The child's environment has no GPG_PASSPHRASE, so the backup can only encrypt with the
    // passphrase that the daemon writes to the child's standard input.
    let mut daemon = dir.start_daemon_with_env("daemon.log", &[("GPG_PASSPHRASE", PASSPHRASE)]);
    let finished = daemon.wait_for_message("job finished", &[("job", "backup")], 1);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    assert_eq!(field(&finished[0], "result"), "success", "log:\n{}", daemon.log_text());
    let files = dir.backup_files();
    assert!(files.iter().any(|name| name.ends_with(".db.zst.gpg")), "{files:?}");
    assert!(files.iter().any(|name| name.ends_with(".manifest.json")), "{files:?}");
    assert!(!daemon.log_text().contains(PASSPHRASE), "the passphrase reached the log");
}

#[test]
fn run_sigterm_during_backup_leaves_no_partial_file() {
    let dir = TestDir::new();
    // 64 MiB of incompressible rows keep the backup busy for a while; with no grace period
    // the daemon cancels it as soon as SIGTERM arrives.
    dir.create_database(1024, 64 * 1024);
    backup_only(&dir, "schedule = \"*/2 * * * * *\"\nretries = 0\nmax_runtime = \"10m\"");
    let config = fs_err::read_to_string(dir.config_path()).unwrap();
    let config = config.replace("grace_period = \"2s\"", "grace_period = \"0s\"");
    fs_err::write(dir.config_path(), config).unwrap();

    let mut daemon = dir.start_daemon_with_env("daemon.log", &[("GPG_PASSPHRASE", PASSPHRASE)]);
    daemon.wait_for("a partial backup file", |_| {
        dir.backup_files().iter().any(|name| name.ends_with(".partial"))
    });
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0, "log:\n{}", daemon.log_text());

    let finished = daemon.messages("job finished");
    assert_eq!(finished.len(), 1, "log:\n{}", daemon.log_text());
    assert_eq!(field(&finished[0], "result"), "cancelled");
    let files = dir.backup_files();
    assert!(
        !files.iter().any(|name| name.ends_with(".partial")),
        "{files:?}\n{}",
        daemon.log_text()
    );
    assert!(!files.iter().any(|name| name.ends_with(".gpg")), "{files:?}");
    let temp_dir = dir.backup_dir().join(".invguard-tmp");
    if temp_dir.exists() {
        let leftovers: Vec<_> = fs_err::read_dir(&temp_dir).unwrap().collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

#[test]
fn run_failed_job_retried_with_backoff_then_reported() {
    let server = Server::start(Behaviour::Failing);
    let dir = TestDir::new();
    let health =
        "schedule = \"0 0 0 1 1 *\"\ncatch_up = \"1000d\"\nretries = 2\nretry_backoff = \"1s\"";
    dir.write_config(&server.url, &health_only(&server.url, health));
    // A handled time in the past makes the yearly job due at start-up (caught up).
    let state = serde_json::json!({
        "format_version": 1,
        "daemon": {},
        "jobs": {"health": {"last_scheduled_utc": "2020-01-01T00:00:00Z"}},
    });
    fs_err::create_dir_all(dir.state_dir()).unwrap();
    fs_err::write(dir.state_dir().join("jobs.json"), state.to_string()).unwrap();

    let mut daemon = dir.start_daemon("daemon.log");
    let finished = daemon.wait_for_message("job finished", &[("job", "health")], 1);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    let retries = daemon.messages("job attempt failed, retrying");
    let backoffs: Vec<String> = retries.iter().map(|event| field(event, "backoff_s")).collect();
    assert_eq!(backoffs, ["1", "2"], "log:\n{}", daemon.log_text());
    assert_eq!(field(&finished[0], "result"), "failed");
    assert_eq!(field(&finished[0], "attempts"), "3");
    assert_eq!(daemon.messages("job started").len(), 1, "one run, three attempts");
}

/// Only the backup job, every two seconds, without encryption, writing to `backup_dir`.
fn backup_every_two_seconds(dir: &TestDir, backup_dir: &str, extra: &str) {
    let jobs = format!(
        "[jobs.backup]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
         [jobs.maintenance]\nenabled = false\n\
         [jobs.full-check]\nenabled = false\n\
         [jobs.health]\nenabled = false\n{extra}"
    );
    dir.write_config("http://127.0.0.1:9/api", &jobs);
    let config = fs_err::read_to_string(dir.config_path()).unwrap();
    let root = dir.path().display().to_string();
    let config = config
        .replace(&format!("dir = \"{root}/backups\""), &format!("dir = \"{root}/{backup_dir}\""));
    fs_err::write(dir.config_path(), config).unwrap();
}

fn manifests_in(dir: &std::path::Path) -> usize {
    let Ok(entries) = fs_err::read_dir(dir) else { return 0 };
    entries
        .filter(|entry| {
            entry.as_ref().unwrap().file_name().to_string_lossy().ends_with(".manifest.json")
        })
        .count()
}

#[test]
fn run_jobs_ignore_unaccepted_config_edits() {
    let dir = TestDir::new();
    dir.create_database(20, 100);
    backup_every_two_seconds(&dir, "backups", "");
    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("job finished", &[("job", "backup"), ("result", "success")], 1);

    // An edit without SIGHUP: a valid file with another backup directory. Jobs keep using the
    // directory of the configuration the daemon loaded.
    backup_every_two_seconds(&dir, "elsewhere", "");
    let done = daemon.messages("job finished").len();
    daemon.wait_for_message("job finished", &[("job", "backup")], done + 2);

    // A rejected reload: the file now has an unknown key, and the jobs still run as before.
    backup_every_two_seconds(&dir, "elsewhere", "[backup]\nno_such_key = 1\n");
    daemon.signal(Signal::HUP);
    daemon.wait_for_message(
        "configuration reload rejected, keeping the current configuration",
        &[],
        1,
    );
    let done = daemon.messages("job finished").len();
    daemon.wait_for_message("job finished", &[("job", "backup")], done + 2);

    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);
    let results: Vec<String> =
        daemon.messages("job finished").iter().map(|event| field(event, "result")).collect();
    assert!(results.iter().all(|result| result == "success"), "log:\n{}", daemon.log_text());
    assert!(results.len() >= 5, "{results:?}");
    assert_eq!(manifests_in(&dir.path().join("elsewhere")), 0, "a job used the edited file");
    assert!(manifests_in(&dir.backup_dir()) > 0, "{:?}", dir.backup_files());
}

#[test]
fn run_second_daemon_exits_locked() {
    let dir = TestDir::new();
    dir.write_config("http://127.0.0.1:9/api", &health_only("", "enabled = false"));
    let mut first = dir.start_daemon("first.log");
    first.wait_for_message("daemon started", &[], 1);

    let mut second = dir.start_daemon("second.log");
    assert_eq!(second.wait_exit(), 75, "log:\n{}", second.log_text());
    let expected = format!("another daemon is running (pid {})", first.child.id());
    assert!(second.log_text().contains(&expected), "log:\n{}", second.log_text());
    // The first daemon's state is still its own.
    let state = fs_err::read_to_string(dir.state_dir().join("jobs.json")).unwrap();
    assert!(state.contains(&format!("\"pid\": {}", first.child.id())), "{state}");

    // The lock goes with the process, so a daemon starts again once the first one stopped.
    first.signal(Signal::TERM);
    assert_eq!(first.wait_exit(), 0);
    let mut third = dir.start_daemon("third.log");
    third.wait_for_message("daemon started", &[], 1);
    third.signal(Signal::TERM);
    assert_eq!(third.wait_exit(), 0);
}

/// A backend that serves the monitor's endpoints: `/health` with the reply of `health`, and
/// empty item lists, so the low-stock check is OK.
fn backend(health: impl Fn() -> Reply + Send + Sync + 'static) -> ScriptedServer {
    ScriptedServer::start(move |request| match request.path.as_str() {
        "/api/health" => health(),
        "/api/items" | "/api/analytics/low-stock" => Reply::json(200, "[]"),
        _ => Reply::json(404, "{}"),
    })
}

/// A directory where every monitoring check but `api_health` is OK: a database, a fresh
/// verified backup and disk thresholds that always pass. The health job runs every 2 seconds.
fn monitored_dir(api_url: &str, monitor: &str) -> TestDir {
    let dir = TestDir::new();
    dir.create_database(20, 100);
    let health = "schedule = \"*/2 * * * * *\"\nretries = 0";
    let extra = format!(
        "{}[monitor]\ndisk_space_gb = 0\ndisk_usage_percentage = 100\n{monitor}\n",
        health_only(api_url, health)
    );
    dir.write_config(api_url, &extra);
    let backup = dir.output(&["backup"]);
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    dir
}

#[test]
fn run_health_job_alerts_through_monitor_cycle() {
    let backend = backend(|| Reply::json(500, r#"{"status":"error"}"#));
    let receiver = ScriptedServer::start(|_| Reply::json(200, "{}"));
    let api_url = format!("{}/api", backend.base);
    let notifier = format!(
        "failure_threshold = 2\n[[monitor.notifiers]]\ntype = \"webhook\"\nurl = \"{}/hook\"",
        receiver.base
    );
    let dir = monitored_dir(&api_url, &notifier);

    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("job finished", &[("job", "health")], 3);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);
    let finished = daemon.messages("job finished");

    // The second failing cycle fires the alert once; later ones send nothing new.
    let notices: Vec<serde_json::Value> = receiver
        .requests_to("/hook")
        .iter()
        .map(|request| serde_json::from_str(&request.body).unwrap())
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["kind"], "firing");
    assert_eq!(notices[0]["check"], "api_health");
    let alerts = fs_err::read_to_string(dir.state_dir().join("alerts.json")).unwrap_or_default();
    assert!(alerts.contains("api_health"), "no alert state written: {alerts}");

    // Log levels follow each check's status; the run is a failure, logged as an error.
    let checks = daemon.messages("check result");
    for event in &checks {
        let expected = if field(event, "check") == "api_health" { "ERROR" } else { "INFO" };
        assert_eq!(event["level"], expected, "{event}");
    }
    assert_eq!(checks.len(), 5 * finished.len(), "log:\n{}", daemon.log_text());
    for event in &finished {
        assert_eq!(field(event, "result"), "failed", "{event}");
        assert_eq!(event["level"], "ERROR", "{event}");
    }
    let state = fs_err::read_to_string(dir.state_dir().join("jobs.json")).unwrap();
    assert!(state.contains("\"last_result\": \"failed\""), "{state}");
}

#[test]
fn run_health_job_warning_is_logged_as_warning() {
    // Slower than api_response_time_ms, so api_health is WARNING and everything else OK.
    let backend =
        backend(|| Reply::json(200, r#"{"status":"ok"}"#).delayed(Duration::from_millis(300)));
    let api_url = format!("{}/api", backend.base);
    let dir = monitored_dir(&api_url, "api_response_time_ms = 100");

    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("job finished", &[("job", "health")], 2);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);
    let finished = daemon.messages("job finished");

    for event in &finished {
        assert_eq!(field(event, "result"), "warning", "{event}");
        assert_eq!(event["level"], "WARN", "{event}");
    }
    let api_checks: Vec<_> = daemon
        .messages("check result")
        .into_iter()
        .filter(|event| field(event, "check") == "api_health")
        .collect();
    assert!(!api_checks.is_empty(), "log:\n{}", daemon.log_text());
    assert!(api_checks.iter().all(|event| event["level"] == "WARN"), "{api_checks:?}");
    let errors: Vec<_> = daemon.events().into_iter().filter(|e| e["level"] == "ERROR").collect();
    assert!(errors.is_empty(), "{errors:?}");
    let state = fs_err::read_to_string(dir.state_dir().join("jobs.json")).unwrap();
    assert!(state.contains("\"last_result\": \"warning\""), "{state}");
}

/// Runs `backup_cron health` and returns its exit code, stdout and stderr.
fn health_check(dir: &TestDir) -> (Option<i32>, String, String) {
    let output = dir.output(&["health"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (output.status.code(), stdout, stderr)
}

/// Waits until the daemon wrote its first heartbeat.
fn wait_for_heartbeat(dir: &TestDir) {
    let path = dir.state_dir().join("heartbeat.json");
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < crate::support::WAIT_LIMIT, "no heartbeat in {path:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn health_judges_daemon_by_its_lock() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.write_config(&server.url, &health_only("", "enabled = false"));
    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("daemon started", &[], 1);
    wait_for_heartbeat(&dir);

    let (code, stdout, stderr) = health_check(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));

    // A stopped daemon writes no heartbeat but keeps its lock: ten minutes later it is stuck.
    daemon.signal(Signal::STOP);
    let pid = daemon.child.id();
    let ten_minutes_ago = Utc::now() - chrono::TimeDelta::minutes(10);
    let heartbeat = format!(r#"{{"pid": {pid}, "time_utc": "{}"}}"#, ten_minutes_ago.to_rfc3339());
    fs_err::write(dir.state_dir().join("heartbeat.json"), heartbeat).unwrap();
    let lock = fs_err::File::open(dir.state_dir().join("daemon.lock")).unwrap();
    lock.file().set_modified(ten_minutes_ago.into()).unwrap();
    let (code, stdout, stderr) = health_check(&dir);
    assert_eq!(stdout, "Health check failed\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains(&format!("heartbeat is 600s old (pid {pid}")), "{stderr}");

    // A killed daemon leaves its state file saying it runs, but no longer holds the lock.
    daemon.signal(Signal::KILL);
    daemon.wait_exit();
    let state = fs_err::read_to_string(dir.state_dir().join("jobs.json")).unwrap();
    assert!(state.contains("\"stopped_utc\": null"), "{state}");
    let (code, stdout, stderr) = health_check(&dir);
    assert_eq!(stdout, "Health check passed\n", "{stderr}");
    assert_eq!(code, Some(0));
    assert!(stderr.contains("no process holds the daemon lock"), "{stderr}");
}

#[test]
fn run_ping_redirect_to_other_host_not_followed() {
    const PING_PATH: &str = "/ping/7f3e-secret-check";
    let elsewhere = ScriptedServer::start(|_| Reply::json(200, "OK"));
    let elsewhere_base = elsewhere.base.clone();
    let backend = ScriptedServer::start(move |request| {
        if request.path.starts_with(PING_PATH) {
            // The same port under another host name, then another port: both are other hosts.
            let port = elsewhere_base.rsplit(':').next().unwrap().to_owned();
            let location = match request.path.ends_with("/start") {
                true => format!("http://localhost:{port}{}", request.path),
                false => format!("{elsewhere_base}{}", request.path),
            };
            return Reply { location: Some(location), ..Reply::json(302, "") };
        }
        Reply::json(200, r#"{"status":"ok"}"#)
    });
    let dir = TestDir::new();
    let api_url = format!("{}/api", backend.base);
    dir.write_config(&api_url, &health_only("", "schedule = \"*/2 * * * * *\"\nretries = 0"));
    let ping_url = format!("{}{PING_PATH}", backend.base);

    let env = [("INVGUARD_JOBS__HEALTH__PING_URL", ping_url.as_str())];
    let mut daemon = dir.start_daemon_with_env("daemon.log", &env);
    let failures = daemon.wait_for_message("ping failed", &[("job", "health")], 2);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    assert!(elsewhere.requests().is_empty(), "a redirect was followed");
    assert!(!backend.requests_to(&format!("{PING_PATH}/start")).is_empty(), "no start ping");
    for event in &failures {
        assert_eq!(field(event, "error"), "redirect to another host, not followed", "{event}");
    }
    let log = daemon.log_text();
    assert!(!log.contains(PING_PATH), "the ping URL is in the log");
    assert!(!log.contains("localhost"), "the redirect target is in the log");
}

/// Backup and maintenance every two seconds, both at the same instants, with the health job
/// against `api_url` at the same times; no retries, so a collision would be a failure.
fn backup_and_maintenance(dir: &TestDir, api_url: &str) {
    let jobs = "[jobs.backup]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
                [jobs.maintenance]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
                [jobs.full-check]\nenabled = false\n\
                [jobs.health]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
                [monitor]\ndisk_space_gb = 0\ndisk_usage_percentage = 100\n";
    dir.write_config(api_url, jobs);
}

#[test]
fn run_backup_directory_jobs_wait_for_each_other() {
    let server = Server::start(Behaviour::Healthy);
    let dir = TestDir::new();
    dir.create_database(200, 1024);
    backup_and_maintenance(&dir, &server.url);

    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("job finished", &[("job", "maintenance")], 3);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0, "log:\n{}", daemon.log_text());
    let log = daemon.log_text();

    // Neither job failed on the other's lock.
    let finished = daemon.messages("job finished");
    for event in finished.iter().filter(|event| field(event, "job") != "health") {
        assert_eq!(field(event, "result"), "success", "{event}\nlog:\n{log}");
    }
    assert!(daemon.messages("job step found the backup directory busy").is_empty(), "{log}");

    // Each waiting run is logged once, and it starts only after the run it waited for ended.
    let waits = daemon.messages("job waits for the running job that uses the backup directory");
    assert!(!waits.is_empty(), "no job waited; log:\n{log}");
    let mut slots: Vec<(String, String)> =
        waits.iter().map(|event| (field(event, "job"), field(event, "scheduled"))).collect();
    let count = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), count, "a wait was logged twice: {waits:?}");
    for event in &waits {
        assert_ne!(field(event, "job"), "health", "the health job waited: {event}");
        let (job, holder) = (field(event, "job"), field(event, "waiting_for"));
        let slot = field(event, "scheduled");
        let started = daemon.messages("job started");
        let Some(start) = started
            .iter()
            .find(|e| field(e, "job") == job && field(e, "scheduled") == slot)
            .map(|e| time(e, "timestamp"))
        else {
            continue; // Still waiting at shutdown.
        };
        let holder_end = finished
            .iter()
            .filter(|e| field(e, "job") == holder)
            .map(|e| time(e, "timestamp"))
            .filter(|end| *end <= start)
            .count();
        assert!(holder_end > 0, "{job} started before {holder} ended; log:\n{log}");
    }
    assert!(manifests_in(&dir.backup_dir()) > 0, "{:?}", dir.backup_files());
}

/// Holds the backup directory lock as an operator's manual backup would.
fn hold_backup_lock(dir: &TestDir) -> fs_err::File {
    let mut file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.backup_dir().join(".invguard.lock"))
        .unwrap();
    file.file().lock().unwrap();
    std::io::Write::write_all(
        &mut file,
        format!("pid={} operation=backup\n", std::process::id()).as_bytes(),
    )
    .unwrap();
    file
}

#[test]
fn run_backup_busy_outside_daemon_is_skipped_then_retried() {
    let dir = TestDir::new();
    dir.create_database(20, 100);
    let jobs = "[jobs.backup]\nschedule = \"*/2 * * * * *\"\nretries = 1\nretry_backoff = \"1s\"\n\
                [jobs.maintenance]\nenabled = false\n\
                [jobs.full-check]\nenabled = false\n\
                [jobs.health]\nenabled = false\n";
    dir.write_config("http://127.0.0.1:9/api", jobs);
    let lock = hold_backup_lock(&dir);

    let mut daemon = dir.start_daemon("daemon.log");
    let skipped = daemon.wait_for_message("job finished", &[("job", "backup")], 1);
    let log = daemon.log_text();
    assert_eq!(field(&skipped[0], "result"), "skipped", "log:\n{log}");
    assert_eq!(skipped[0]["level"], "WARN", "{}", skipped[0]);
    assert_eq!(field(&skipped[0], "attempts"), "2", "{}", skipped[0]);
    assert!(field(&skipped[0], "error").contains("exit 75"), "{}", skipped[0]);
    let retries = daemon.messages("backup directory busy, retrying");
    assert_eq!(field(&retries[0], "backoff_s"), "1", "{log}");
    let busy = daemon.messages("job step found the backup directory busy");
    assert!(!busy.is_empty(), "log:\n{log}");
    let expected = format!("another backup is running (pid {})", std::process::id());
    assert!(field(&busy[0], "error").contains(&expected), "{}", busy[0]);
    assert_eq!(field(&busy[0], "job"), "backup", "{}", busy[0]);

    // Once the other process lets go, the next run backs up.
    drop(lock);
    daemon.wait_for_message("job finished", &[("job", "backup"), ("result", "success")], 1);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);
    assert!(manifests_in(&dir.backup_dir()) > 0, "{:?}", dir.backup_files());
    let errors: Vec<_> = daemon.events().into_iter().filter(|e| e["level"] == "ERROR").collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Only the backup job, every two seconds, with no database to back up, so each run fails.
fn failing_backup(dir: &TestDir) {
    let jobs = "[jobs.backup]\nschedule = \"*/2 * * * * *\"\nretries = 0\n\
                [jobs.maintenance]\nenabled = false\n\
                [jobs.full-check]\nenabled = false\n\
                [jobs.health]\nenabled = false\n";
    dir.write_config("http://127.0.0.1:9/api", jobs);
}

#[test]
fn run_step_error_logged_as_json_with_job_name() {
    let dir = TestDir::new();
    failing_backup(&dir);

    let mut daemon = dir.start_daemon("daemon.log");
    daemon.wait_for_message("job finished", &[("job", "backup")], 1);
    daemon.signal(Signal::TERM);
    assert_eq!(daemon.wait_exit(), 0);

    let log = daemon.log_text();
    for line in log.lines() {
        assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "not JSON: {line}");
    }
    let failed = daemon.messages("job step failed");
    assert!(!failed.is_empty(), "log:\n{log}");
    assert_eq!(failed[0]["level"], "ERROR", "{}", failed[0]);
    assert_eq!(field(&failed[0], "job"), "backup", "{}", failed[0]);
    assert!(field(&failed[0], "error").contains("inventory.db"), "{}", failed[0]);
    assert!(failed[0]["timestamp"].is_string(), "{}", failed[0]);
}

#[test]
fn run_step_error_logged_as_text_with_job_name() {
    let dir = TestDir::new();
    failing_backup(&dir);
    let log_path = dir.path().join("daemon.log");
    let log = fs_err::File::create(&log_path).unwrap();
    let mut child = dir
        .command()
        .args(["--log-format", "text", "run"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(log.into_parts().0))
        .spawn()
        .unwrap();

    let start = std::time::Instant::now();
    let text = loop {
        let text = fs_err::read_to_string(&log_path).unwrap();
        if text.lines().any(|line| line.contains("job finished")) {
            break text;
        }
        if start.elapsed() > crate::support::WAIT_LIMIT {
            let _ = child.kill();
            panic!("no run finished; log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));

    // Every line starts with a timestamp and a level, the step's error included.
    for line in text.lines() {
        let time = line.split_whitespace().next().unwrap_or_default();
        assert!(time.parse::<DateTime<Utc>>().is_ok(), "no timestamp: {line}");
        assert!(!line.starts_with("error:"), "raw error line: {line}");
    }
    let failed = text.lines().find(|line| line.contains("job step failed"));
    let failed = failed.unwrap_or_else(|| panic!("no step error; log:\n{text}"));
    assert!(failed.contains(" ERROR "), "{failed}");
    assert!(failed.contains("job=backup"), "{failed}");
}
