//! Login, token renewal before expiry, re-login after a 401, and rejected credentials.

use chrono::TimeDelta;
use invguard_config::Secret;
use invguard_monitor::{CheckName, Level};

use crate::backend::Backend;
use crate::support::{Fixture, minutes, t0};

fn protected_backend() -> Backend {
    let backend = Backend::start(50, 10);
    let mut state = backend.state();
    state.require_auth = true;
    state.token_exp = (t0() + TimeDelta::hours(1)).timestamp();
    drop(state);
    backend
}

#[test]
fn login_renews_token_before_expiry() {
    let backend = protected_backend();
    let fixture = Fixture::new(&backend).with_login("hunter2-password");
    let mut monitor = fixture.monitor();

    let first = monitor.check(CheckName::LowStock, t0());
    assert_eq!(first.level, Level::Ok, "{}", first.summary);
    assert_eq!(monitor.logins(), 1);

    let later = monitor.check(CheckName::LowStock, minutes(30));
    assert_eq!(later.level, Level::Ok, "{}", later.summary);
    assert_eq!(monitor.logins(), 1, "a token valid for 30 more minutes was renewed");

    // Tokens issued from now on expire an hour later than the first.
    backend.state().token_exp = (t0() + TimeDelta::hours(2)).timestamp();

    let near_expiry = monitor.check(CheckName::LowStock, minutes(59) + TimeDelta::seconds(30));
    assert_eq!(near_expiry.level, Level::Ok, "{}", near_expiry.summary);
    assert_eq!(monitor.logins(), 2, "a token expiring in 30 s was not renewed");
    assert_eq!(backend.state().logins, 2);
}

#[test]
fn login_again_after_401() {
    let backend = protected_backend();
    let fixture = Fixture::new(&backend).with_login("hunter2-password");
    let mut monitor = fixture.monitor();
    assert_eq!(monitor.check(CheckName::LowStock, t0()).level, Level::Ok);

    backend.state().valid_tokens.clear();
    let result = monitor.check(CheckName::LowStock, minutes(5));

    assert_eq!(result.level, Level::Ok, "{}", result.summary);
    assert_eq!(monitor.logins(), 2);
    let requests = backend.state().requests.clone();
    let logins = requests.iter().filter(|request| *request == "POST /api/auth/login").count();
    assert_eq!(logins, 2);
}

#[test]
fn login_wrong_credentials_is_authentication_failure() {
    let backend = protected_backend();
    let fixture = Fixture::new(&backend).with_login("wrong-password");
    let mut monitor = fixture.monitor();

    let result = monitor.check(CheckName::LowStock, t0());
    assert_eq!(result.level, Level::Critical);
    assert_eq!(
        result.summary,
        "authentication failed: login as \"monitor\" rejected with HTTP 401: check the username \
         and password"
    );
    assert!(!result.summary.contains("wrong-password"));

    let health = monitor.check(CheckName::ApiHealth, t0());
    assert_eq!(health.level, Level::Ok, "the endpoint itself is healthy");
}

#[test]
fn static_token_is_sent() {
    let backend = protected_backend();
    backend.state().valid_tokens.insert("static-token-123".into());
    let mut fixture = Fixture::new(&backend);
    fixture.config.api.token = Some(Secret::new("static-token-123".into()));

    let result = fixture.monitor().check(CheckName::LowStock, t0());
    assert_eq!(result.level, Level::Ok, "{}", result.summary);
}

#[test]
fn static_token_rejected_is_authentication_failure() {
    let backend = protected_backend();
    let mut fixture = Fixture::new(&backend);
    fixture.config.api.token = Some(Secret::new("revoked-token".into()));

    let result = fixture.monitor().check(CheckName::LowStock, t0());
    assert_eq!(result.level, Level::Critical);
    assert!(
        result.summary.starts_with("authentication failed: GET /analytics/low-stock returned 401"),
        "{}",
        result.summary
    );
}
