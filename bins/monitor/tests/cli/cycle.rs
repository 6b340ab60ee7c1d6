//! The monitoring cycle of `monitor` without a command, and `monitor watch` until SIGTERM.

use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::backend::Fault;
use crate::receiver::Receiver;
use crate::support::{Setup, stderr};

#[test]
fn cycle_writes_alert_state() {
    let setup = Setup::healthy();
    setup.backend.fault("/api/health", Fault::Status(500, "{}".into()));

    for _ in 0..2 {
        let output = setup.run(&[]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    }

    let state: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(setup.state_dir().join("alerts.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["format_version"], 1);
    assert_eq!(state["checks"]["api_health"]["consecutive_failures"], 2);
    assert!(state["checks"]["api_health"]["incident"].is_object());
    assert_eq!(state["checks"]["database"]["consecutive_successes"], 2);
}

#[test]
fn watch_stops_on_sigterm() {
    let mut setup = Setup::healthy();
    setup.set("HEALTH_CHECK_INTERVAL", "3600");
    let mut child =
        setup.command(&["watch"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();

    let state = setup.state_dir().join("alerts.json");
    wait_until(|| state.exists());
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    wait_until(|| child.try_wait().unwrap().is_some());

    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let log = stderr(&output);
    assert!(log.contains("monitor watch stopping"), "{log}");
}

/// Polls `condition` for up to 30 s; a hang fails the test instead of blocking it.
fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if condition() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("condition not reached within 30 s");
}

#[test]
fn cycle_without_notifier_warns_and_fires_once_one_is_added() {
    let setup = Setup::healthy();
    setup.backend.fault("/api/health", Fault::Status(500, "{}".into()));

    // Two failing runs reach the threshold with no notifier configured.
    let mut last = String::new();
    for _ in 0..2 {
        let output = setup.run(&[]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        last = stderr(&output);
    }
    assert!(last.contains("alert has no notifier configured"), "{last}");
    assert!(last.contains("WARN"), "{last}");

    // A webhook is added: the next failing run notifies it, and the recovery resolves it.
    let receiver = Receiver::start();
    let config = setup.dir.path().join("invguard.toml");
    let hook = receiver.url("/hook/secret-path");
    fs_err::write(
        &config,
        format!("[[monitor.notifiers]]\ntype = \"webhook\"\nurl = \"{hook}\"\n"),
    )
    .unwrap();
    let config = config.display().to_string();
    let output = setup.run(&["--config", &config]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(receiver.kinds(), ["firing"]);

    setup.backend.state().faults.clear();
    let output = setup.run(&["--config", &config]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(receiver.kinds(), ["firing", "resolved"]);
    assert!(!stderr(&output).contains("secret-path"), "{}", stderr(&output));
}
