//! `api_health` against the test backend, with each fault the check must not call healthy.

use std::net::TcpListener;
use std::time::Duration;

use invguard_monitor::{CheckName, Level};
use serde_json::json;

use crate::backend::{Backend, Fault};
use crate::support::{Fixture, t0};

#[test]
fn api_health_healthy_backend() {
    let backend = Backend::start(0, 0);
    let result = Fixture::new(&backend).monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    assert_eq!(result.details["status"], "healthy");
    assert_eq!(result.details["status_code"], 200);
    assert!(result.details["response_time_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn api_health_http_500_is_critical() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Status(500, "oops".into()));
    let result = Fixture::new(&backend).monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(result.summary, "GET /health returned HTTP 500");
    assert_eq!(result.details["status"], "unhealthy");
}

#[test]
fn api_health_http_403_is_critical() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Status(403, "{}".into()));
    let result = Fixture::new(&backend).monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(result.summary, "GET /health returned HTTP 403");
}

#[test]
fn api_health_error_body_is_critical() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Body(json!({"status": "error"}).to_string()));
    let result = Fixture::new(&backend).monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(
        result.summary,
        "GET /health returned HTTP 200 but the body reports status \"error\""
    );
}

#[test]
fn api_health_expected_field_mismatch() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Body(json!({"db": {"state": "degraded"}}).to_string()));
    let mut fixture = Fixture::new(&backend);
    fixture.config.api.health_expect_field = Some("db.state".into());
    fixture.config.api.health_expect_value = Some("up".into());
    let result = fixture.monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert!(
        result.summary.ends_with("\"db.state\" is \"degraded\", expected \"up\""),
        "{}",
        result.summary
    );
}

#[test]
fn api_health_slow_response_warns() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Delay(Duration::from_millis(200)));
    let mut fixture = Fixture::new(&backend);
    fixture.config.monitor.api_response_time_ms = 20;
    let result = fixture.monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Warning, "{}", result.summary);
    assert_eq!(result.details["status"], "healthy");
    assert_eq!(result.thresholds["api_response_time_ms"], 20);
}

#[test]
fn api_health_connection_refused_is_critical() {
    let backend = Backend::start(0, 0);
    let mut fixture = Fixture::new(&backend);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    fixture.config.api.url = format!("http://{closed}/api");
    let result = fixture.monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(result.summary, "backend unreachable: GET /health: connection refused");
    assert_eq!(result.details["status"], "unhealthy");
}

#[test]
fn api_health_timeout_is_critical() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Delay(Duration::from_secs(5)));
    let mut fixture = Fixture::new(&backend);
    fixture.config.api.read_timeout = Duration::from_millis(200);
    let result = fixture.monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert_eq!(result.summary, "backend unreachable: GET /health: timed out");
}

#[test]
fn api_health_huge_body_is_capped() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Huge(50 * 1024 * 1024));
    let mut fixture = Fixture::new(&backend);
    fixture.config.api.max_body_bytes = 1024 * 1024;
    let result = fixture.monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    assert!(
        result.summary.ends_with("response body larger than the limit of 1048576 bytes"),
        "{}",
        result.summary
    );
    let written = wait_for(|| backend.state().huge_bytes_written);
    assert!(written < 50 * 1024 * 1024, "the client read the whole body: {written} bytes");
}

#[test]
fn api_health_follows_same_host_redirect() {
    let backend = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Redirect("/api/v2/health".into()));
    let result = Fixture::new(&backend).monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    let requests = backend.state().requests.clone();
    assert_eq!(requests, ["GET /api/health", "GET /api/v2/health"]);
}

#[test]
fn api_health_rejects_redirect_to_other_host() {
    let backend = Backend::start(0, 0);
    let other = Backend::start(0, 0);
    backend.fault("/api/health", Fault::Redirect(format!("{}/health", other.url())));
    let result = Fixture::new(&backend).monitor().check(CheckName::ApiHealth, t0());

    assert_eq!(result.level, Level::Critical);
    let expected =
        format!("redirect to another host (127.0.0.1:{}) not followed", other.addr.port());
    assert!(result.summary.ends_with(&expected), "{}", result.summary);
    assert!(other.state().requests.is_empty());
}

/// Waits until `read` returns a non-zero value: the server records it after the client
/// hung up.
fn wait_for(read: impl Fn() -> usize) -> usize {
    for _ in 0..500 {
        let value = read();
        if value != 0 {
            return value;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the server never finished writing");
}
