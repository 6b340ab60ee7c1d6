//! Payloads of each notifier kind, Discord's 429 handling, the command notifier,
//! test-notify, and log lines free of secrets.

use std::io::Write;
use std::sync::{Arc, Mutex};

use invguard_config::{NotifierConfig, Secret};
use invguard_monitor::{AlertStore, CheckName, Level};
use tracing_subscriber::fmt::MakeWriter;

use crate::backend::{Backend, Fault};
use crate::receiver::Receiver;
use crate::support::{Fixture, minutes, t0};

fn fixture_with(notifiers: Vec<NotifierConfig>) -> Fixture {
    let mut fixture = Fixture::new(&Backend::start(0, 0));
    fixture.config.monitor.notifiers = notifiers;
    fixture
}

fn secret(url: String) -> Secret {
    Secret::new(url)
}

#[test]
fn test_notify_reaches_every_kind() {
    let receiver = Receiver::start();
    let fixture = fixture_with(vec![
        NotifierConfig::Webhook { url: secret(receiver.url("/generic")) },
        NotifierConfig::Slack { url: secret(receiver.url("/slack")) },
        NotifierConfig::Discord { url: secret(receiver.url("/discord")) },
        NotifierConfig::Teams { url: secret(receiver.url("/teams")) },
        NotifierConfig::Ntfy {
            url: secret(receiver.url("/ntfy-topic")),
            token: Some(Secret::new("tk_ntfy_secret".into())),
        },
    ]);

    let deliveries = fixture.monitor().test_notify(t0());

    let labels: Vec<&str> = deliveries.iter().map(|d| d.notifier.as_str()).collect();
    assert_eq!(labels, ["webhook[0]", "slack[1]", "discord[2]", "teams[3]", "ntfy[4]"]);
    assert!(deliveries.iter().all(|delivery| delivery.is_delivered()), "{deliveries:?}");

    let mut received = receiver.received();
    received.sort_by(|a, b| a.path.cmp(&b.path));
    let by_path = |path: &str| received.iter().find(|r| r.path == path).unwrap().clone();

    let generic = by_path("/generic").json();
    assert_eq!(generic["kind"], "test");
    assert_eq!(generic["source"], "invguard-cron");
    let slack = by_path("/slack").json();
    assert!(slack["text"].as_str().unwrap().starts_with("[TEST] test on "));
    let discord = by_path("/discord").json();
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
    let teams = by_path("/teams").json();
    assert_eq!(teams["type"], "message");
    assert_eq!(teams["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");

    let ntfy = by_path("/ntfy-topic");
    assert_eq!(ntfy.body, "test notice from monitor test-notify");
    assert!(ntfy.headers["title"].starts_with("[TEST] test on "));
    assert_eq!(ntfy.headers["priority"], "2");
    assert_eq!(ntfy.headers["tags"], "invguard,test_tube");
    assert_eq!(ntfy.headers["authorization"], "Bearer tk_ntfy_secret");
}

#[test]
fn test_notify_reports_each_failure() {
    let (gone, working) = (Receiver::start(), Receiver::start());
    gone.script(404, "{}", &[]);
    let fixture = fixture_with(vec![
        NotifierConfig::Slack { url: secret(gone.url("/gone")) },
        NotifierConfig::Webhook { url: secret(working.url("/ok")) },
    ]);

    let deliveries = fixture.monitor().test_notify(t0());

    assert_eq!(deliveries[0].error.as_deref(), Some("HTTP 404"));
    assert_eq!(deliveries[0].attempts, 1, "a 404 was retried");
    assert!(deliveries[1].is_delivered());
}

#[test]
fn discord_waits_retry_after_on_429() {
    let receiver = Receiver::start();
    receiver.script(429, r#"{"message": "You are being rate limited.", "retry_after": 0.05}"#, &[]);
    let fixture = fixture_with(vec![NotifierConfig::Discord { url: secret(receiver.url("/d")) }]);

    let deliveries = fixture.monitor().test_notify(t0());

    assert!(deliveries[0].is_delivered(), "{deliveries:?}");
    assert_eq!(deliveries[0].attempts, 2);
    assert_eq!(receiver.received().len(), 2);
}

#[test]
fn discord_gives_up_on_long_retry_after() {
    let receiver = Receiver::start();
    receiver.script(429, r#"{"retry_after": 3600}"#, &[]);
    let fixture = fixture_with(vec![NotifierConfig::Discord { url: secret(receiver.url("/d")) }]);

    let deliveries = fixture.monitor().test_notify(t0());

    let error = deliveries[0].error.as_deref().unwrap();
    assert!(error.starts_with("HTTP 429 (rate limited); retry_after 3600s exceeds"), "{error}");
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn webhook_redirect_to_other_host_not_followed() {
    let receiver = Receiver::start();
    let elsewhere = Receiver::start();
    receiver.script(307, "", &[("Location", &elsewhere.url("/steal"))]);
    receiver.script(307, "", &[("Location", &elsewhere.url("/steal"))]);
    let fixture = fixture_with(vec![NotifierConfig::Webhook { url: secret(receiver.url("/h")) }]);

    let deliveries = fixture.monitor().test_notify(t0());

    let error = deliveries[0].error.as_deref().unwrap();
    assert!(error.starts_with("redirect to another host"), "{error}");
    assert!(elsewhere.received().is_empty());
}

#[test]
fn command_notifier_gets_json_on_stdin() {
    let fixture = fixture_with(Vec::new());
    let output = fixture.dir.path().join("notice.json");
    let mut fixture = fixture;
    fixture.config.monitor.notifiers = vec![NotifierConfig::Command {
        program: "/usr/bin/tee".into(),
        args: vec![output.display().to_string()],
    }];

    let deliveries = fixture.monitor().test_notify(t0());

    assert!(deliveries[0].is_delivered(), "{deliveries:?}");
    let notice: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(notice["kind"], "test");
    assert_eq!(notice["time"], "2026-12-04T10:00:00Z");
}

#[test]
fn command_notifier_failure_is_reported() {
    let fixture = fixture_with(vec![NotifierConfig::Command {
        program: "/bin/false".into(),
        args: Vec::new(),
    }]);

    let deliveries = fixture.monitor().test_notify(t0());

    assert_eq!(deliveries[0].error.as_deref(), Some("/bin/false exited with exit status: 1"));
    assert_eq!(deliveries[0].attempts, 2);
}

/// Collects formatted log output in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[test]
fn logs_contain_no_secret() {
    let backend = Backend::start(20, 2);
    backend.state().require_auth = true;
    backend.fault("/api/health", Fault::Status(500, "{}".into()));
    let receiver = Receiver::start();
    for _ in 0..4 {
        receiver.script(500, "{}", &[]);
    }
    let mut fixture = Fixture::new(&backend).with_login("hunter2-password");
    fixture.config.monitor.notifiers = vec![
        NotifierConfig::Slack { url: secret(receiver.url("/services/T000/B000/XXXXSECRETHOOK")) },
        NotifierConfig::Ntfy {
            url: secret(receiver.url("/alerts-topic")),
            token: Some(Secret::new("tk_ntfysecrettoken".into())),
        },
    ];
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();

    tracing::subscriber::with_default(subscriber, || {
        let mut store = AlertStore::open(&fixture.config.state.dir).unwrap();
        let mut monitor = fixture.monitor();
        monitor.cycle(&mut store, minutes(0)).unwrap();
        let cycle = monitor.cycle(&mut store, minutes(5)).unwrap();
        assert_eq!(cycle.report.checks[1].name, CheckName::LowStock);
        assert_eq!(cycle.report.checks[1].level, Level::Warning);
        assert!(!cycle.notices.is_empty());
    });

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("notifier failed"), "the failure was not logged:\n{logs}");
    assert!(logs.contains("logged in to the backend API"), "the login was not logged:\n{logs}");
    let tokens: Vec<String> = backend.state().valid_tokens.iter().cloned().collect();
    assert!(!tokens.is_empty());
    let mut secrets =
        vec!["hunter2-password", "XXXXSECRETHOOK", "alerts-topic", "tk_ntfysecrettoken"];
    secrets.extend(tokens.iter().map(String::as_str));
    for secret in secrets {
        assert!(!logs.contains(secret), "log output contains {secret:?}:\n{logs}");
    }
}
