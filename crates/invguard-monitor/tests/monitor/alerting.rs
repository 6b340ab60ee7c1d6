//! Alert sequences over scripted cycles, seen by a webhook receiver: thresholds, reminders,
//! recovery, restarts and failing notifiers.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use invguard_config::{NotifierConfig, Secret};
use invguard_monitor::{AlertStore, Level};

use crate::backend::{Backend, Fault};
use crate::receiver::Receiver;
use crate::support::{Fixture, minutes, t0};

/// A fixture whose checks are all OK until the backend's `/health` is broken.
fn healthy_fixture(backend: &Backend, receiver: &Receiver) -> Fixture {
    let mut fixture = Fixture::new(backend);
    fixture.write_backup(t0() - TimeDelta::hours(1), "passed", 100);
    fixture.config.monitor.disk_space_gb = 0.0;
    fixture.config.monitor.disk_usage_percentage = 100.0;
    fixture.config.monitor.notifiers =
        vec![NotifierConfig::Webhook { url: Secret::new(receiver.url("/hook/secret-path")) }];
    fixture
}

fn break_health(backend: &Backend) {
    backend.fault("/api/health", Fault::Status(500, "{}".into()));
}

fn heal(backend: &Backend) {
    backend.state().faults.clear();
}

#[test]
fn cycle_sends_firing_reminder_resolved() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let fixture = healthy_fixture(&backend, &receiver);
    let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
    let mut monitor = fixture.monitor();
    let mut cycle = |minute: i64| monitor.cycle(&mut store, minutes(minute)).unwrap();

    assert_eq!(cycle(0).report.level(), Level::Ok);
    break_health(&backend);
    cycle(5);
    heal(&backend);
    cycle(10);
    assert_eq!(receiver.kinds(), Vec::<String>::new(), "a single failure sent a notice");

    break_health(&backend);
    cycle(15);
    let firing = cycle(20);
    assert_eq!(firing.notices.len(), 1);
    assert_eq!(receiver.kinds(), ["firing"]);
    cycle(25);
    cycle(20 + 359);
    assert_eq!(receiver.kinds(), ["firing"], "a reminder came before 6 hours");
    cycle(20 + 360);
    cycle(20 + 365);
    assert_eq!(receiver.kinds(), ["firing", "reminder"]);

    heal(&backend);
    cycle(400);
    cycle(405);
    assert_eq!(receiver.kinds(), ["firing", "reminder", "resolved"]);

    let notices: Vec<_> = receiver.received().iter().map(|r| r.json()).collect();
    assert_eq!(notices[0]["check"], "api_health");
    assert_eq!(notices[0]["level"], "CRITICAL");
    assert_eq!(notices[0]["summary"], "GET /health returned HTTP 500");
    assert_eq!(notices[0]["incident_id"], notices[2]["incident_id"]);
    assert_eq!(notices[2]["level"], "OK");
    assert_eq!(notices[0]["format_version"], 1);
}

#[test]
fn cycle_resolves_after_restart() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let fixture = healthy_fixture(&backend, &receiver);
    break_health(&backend);
    {
        let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
        let mut monitor = fixture.monitor();
        monitor.cycle(&mut store, minutes(0)).unwrap();
        monitor.cycle(&mut store, minutes(5)).unwrap();
    }
    assert_eq!(receiver.kinds(), ["firing"]);

    heal(&backend);
    let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
    assert!(store.state().checks["api_health"].incident.is_some());
    fixture.monitor().cycle(&mut store, minutes(10)).unwrap();

    assert_eq!(receiver.kinds(), ["firing", "resolved"]);
    let mode = fs_err::metadata(store.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(store.path()).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
}

#[test]
fn cycle_retries_undelivered_firing() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let fixture = healthy_fixture(&backend, &receiver);
    let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
    let mut monitor = fixture.monitor();
    break_health(&backend);
    receiver.script(503, "{}", &[]);
    receiver.script(503, "{}", &[]);

    monitor.cycle(&mut store, minutes(0)).unwrap();
    let undelivered = monitor.cycle(&mut store, minutes(5)).unwrap();
    assert_eq!(undelivered.notices[0].deliveries[0].error.as_deref(), Some("HTTP 503"));
    let delivered = monitor.cycle(&mut store, minutes(10)).unwrap();
    assert!(delivered.notices[0].deliveries[0].is_delivered());

    assert_eq!(receiver.kinds(), ["firing", "firing", "firing"]);
    monitor.cycle(&mut store, minutes(15)).unwrap();
    assert_eq!(receiver.kinds().len(), 3, "a delivered FIRING was sent again");
}

#[test]
fn cycle_without_delivered_firing_sends_no_resolved() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let fixture = healthy_fixture(&backend, &receiver);
    let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
    let mut monitor = fixture.monitor();
    break_health(&backend);
    for _ in 0..2 {
        receiver.script(400, "{}", &[]);
    }

    monitor.cycle(&mut store, minutes(0)).unwrap();
    monitor.cycle(&mut store, minutes(5)).unwrap();
    heal(&backend);
    let recovered = monitor.cycle(&mut store, minutes(10)).unwrap();

    assert!(recovered.notices.is_empty());
    assert_eq!(receiver.kinds(), ["firing"], "only the rejected FIRING attempt arrived");
    assert!(store.state().checks["api_health"].incident.is_none());
}

#[test]
fn cycle_failing_notifier_does_not_block_others() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let broken = Receiver::start();
    for _ in 0..2 {
        broken.script(500, "{}", &[]);
    }
    let mut fixture = healthy_fixture(&backend, &receiver);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    fixture.config.monitor.notifiers.insert(
        0,
        NotifierConfig::Slack { url: Secret::new(format!("http://{closed}/services/T0/B0/x")) },
    );
    fixture
        .config
        .monitor
        .notifiers
        .push(NotifierConfig::Discord { url: Secret::new(broken.url("/api/webhooks/1/token")) });
    let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
    let mut monitor = fixture.monitor();
    break_health(&backend);

    monitor.cycle(&mut store, minutes(0)).unwrap();
    let cycle = monitor.cycle(&mut store, minutes(5)).unwrap();

    let deliveries = &cycle.notices[0].deliveries;
    assert_eq!(deliveries[0].notifier, "slack[0]");
    assert_eq!(deliveries[0].error.as_deref(), Some("connection refused"));
    assert_eq!(deliveries[0].attempts, 2);
    assert!(deliveries[1].is_delivered());
    assert_eq!(deliveries[2].error.as_deref(), Some("HTTP 500"));
    assert_eq!(receiver.kinds(), ["firing"]);
    assert_eq!(broken.received().len(), 2);
}

#[test]
fn cycle_waits_for_state_lock() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let fixture = healthy_fixture(&backend, &receiver);
    let dir = fixture.config.state.dir.clone();
    let mut store = AlertStore::open(&dir).unwrap();

    // Another run holds the lock for a moment; the cycle must not write until it is released.
    let lock = fs_err::File::open(dir.join("alerts.lock")).unwrap();
    lock.lock().unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&released);
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        flag.store(true, Ordering::SeqCst);
        drop(lock);
    });
    let cycle = fixture.monitor().cycle(&mut store, t0()).unwrap();

    assert!(released.load(Ordering::SeqCst), "the cycle wrote the state under another's lock");
    holder.join().unwrap();
    assert_eq!(cycle.report.level(), Level::Ok);
    assert_eq!(store.state().checks.len(), 5);
}

#[test]
fn cycle_without_notifier_keeps_firing_due_for_later_notifier() {
    let (backend, receiver) = (Backend::start(10, 0), Receiver::start());
    let mut fixture = healthy_fixture(&backend, &receiver);
    let webhook = std::mem::take(&mut fixture.config.monitor.notifiers);
    break_health(&backend);

    // First run: the alert fires with no notifier configured, so no notice is delivered.
    {
        let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
        let mut monitor = fixture.monitor();
        monitor.cycle(&mut store, minutes(0)).unwrap();
        let cycle = monitor.cycle(&mut store, minutes(5)).unwrap();
        assert_eq!(cycle.notices.len(), 1);
        assert!(cycle.notices[0].has_no_notifier());
        assert!(!cycle.notices[0].is_delivered());
        let incident = store.state().checks["api_health"].incident.clone().unwrap();
        assert!(!incident.firing_sent, "an undelivered FIRING was recorded as sent");
    }

    // Second run on the same state directory, now with the webhook: FIRING, then RESOLVED.
    fixture.config.monitor.notifiers = webhook;
    let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
    let mut monitor = fixture.monitor();
    let cycle = monitor.cycle(&mut store, minutes(10)).unwrap();
    assert!(cycle.notices[0].is_delivered());
    heal(&backend);
    monitor.cycle(&mut store, minutes(15)).unwrap();

    assert_eq!(receiver.kinds(), ["firing", "resolved"]);
    let notices: Vec<_> = receiver.received().iter().map(|r| r.json()).collect();
    assert_eq!(notices[0]["incident_id"], notices[1]["incident_id"]);
}
